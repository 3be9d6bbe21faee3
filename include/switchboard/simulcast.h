/* Forwarding one simulcast layer of several as one stream: which layer to forward when the
 * one wanted stops, and VP8 picture numbering that continues across layer switches. Shared by
 * every plugin that turns a simulcast sender into one stream (VideoRoom subscribers, the
 * EchoTest's echo). The switch itself (at a keyframe) and sequence/timestamp continuity are
 * the caller's (seq_rewrite.h). Sans-IO, no allocation; one owner thread. */
#ifndef SWITCHBOARD_SIMULCAST_H
#define SWITCHBOARD_SIMULCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A layer with no packet for this long is gone (encoders pause layers; browsers drop the top
 * ones when their uplink or CPU cannot carry them). */
#define SB_SIMULCAST_STALE_US 1000000

/* The layer to forward of layers (0 = lowest), given each one's last arrival (0: never) and
 * the target (-1 or out of range: the highest): the target if it flows, else the nearest one
 * below it that flows, else the nearest above; -1 when none flows. */
int sb_simulcast_pick(const int64_t *last_us, unsigned layers, int target, int64_t now_us);

/* VP8 picture ids and TL0PICIDX (RFC 7741 section 4.2): each simulcast layer numbers its own,
 * so after a switch the receiver would see a jump (and wait for pictures it never gets) unless
 * the new layer's numbers continue from the last ones it got. Zero-initialised = no picture
 * seen yet. */
typedef struct sb_vp8_renumber {
    uint16_t picid_off, last_picid;
    uint8_t tl0_off, last_tl0;
    bool have_last;
} sb_vp8_renumber_t;

/* Rewrite the descriptor of one VP8 payload in place; switched: the first packet forwarded
 * from a new layer. Payloads without a picture id are left alone. */
void sb_vp8_renumber(sb_vp8_renumber_t *r, uint8_t *payload, size_t len, bool switched);

#endif
