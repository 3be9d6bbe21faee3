/* Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01),
 * both sides of one transport:
 * - the receiver (we receive a client's media): record when each transport sequence number
 *   arrived and write the feedback messages (RTPFB FMT 15) the client's estimator needs;
 * - the sender (we send a client media): number what we send, remember when and how big,
 *   and turn the client's feedback into per-packet results for the estimator (proto/bwe.h).
 *
 * Sans-IO, fixed memory per object (rings of a power-of-two size), no allocation after
 * creation. Owner: the peer, on its media loop; not thread-safe. */
#ifndef SB_PROTO_TWCC_H
#define SB_PROTO_TWCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/bwe.h"
#include "proto/rtcp.h"

/* ---- receiver: feedback we write ---------------------------------------------------------- */

typedef struct sb_twcc_recv sb_twcc_recv_t;

/* Owned result, NULL when out of memory. */
sb_twcc_recv_t *sb_twcc_recv_new(void);
void sb_twcc_recv_free(sb_twcc_recv_t *r);

/* A packet carrying transport sequence number seq arrived at arrival_us (monotonic). A
 * packet too old to report (before what the last feedback covered) or a repeat is ignored. */
void sb_twcc_recv_packet(sb_twcc_recv_t *r, uint16_t seq, int64_t arrival_us);

/* Whether feedback is worth sending at now_us: packets are waiting and interval_us has
 * passed since the last feedback (or many packets are waiting). */
bool sb_twcc_recv_due(const sb_twcc_recv_t *r, int64_t now_us, int64_t interval_us);

/* Write one feedback message (a whole RTPFB packet, RFC 4585 header included) for the
 * packets received since the last one, into out, at now_us. Returns its length, 0 when nothing is
 * waiting, SB_ERANGE when size cannot hold even a small message. Call again while it
 * returns a length: a long or sparse range is split over several messages. */
int sb_twcc_recv_write(sb_twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc,
                       int64_t now_us, uint8_t *out, size_t size);

/* Everything waiting, as RTCP compounds of at most mtu bytes written in buf (its size is the
 * caller's: mtu plus whatever the sender needs after the packet, e.g. the SRTCP trailer), each
 * handed to send(arg, buf, len) when full or at the end. Returns the messages written. */
typedef void (*sb_twcc_send_fn)(void *arg, uint8_t *buf, size_t len);
unsigned sb_twcc_recv_flush(sb_twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc,
                            int64_t now_us, uint8_t *buf, size_t mtu, sb_twcc_send_fn send,
                            void *arg);

typedef struct sb_twcc_recv_stats {
    uint64_t packets, late, feedback_sent;
} sb_twcc_recv_stats_t;
void sb_twcc_recv_get_stats(const sb_twcc_recv_t *r, sb_twcc_recv_stats_t *out);

/* ---- sender: sequence numbers we write, feedback we read --------------------------------- */

typedef struct sb_twcc_send sb_twcc_send_t;

sb_twcc_send_t *sb_twcc_send_new(void);
void sb_twcc_send_free(sb_twcc_send_t *s);

/* The transport sequence number for the next packet we send, recorded with its send time,
 * size (bytes of RTP) and probe cluster (-1: none). */
uint16_t sb_twcc_send_next(sb_twcc_send_t *s, int64_t send_us, uint32_t size, int probe);

/* Results for the packets a feedback message reports, in sequence order, into out (at most
 * max): packets we no longer remember, never sent, or already reported the same way are
 * left out. Returns how many, or SB_EPROTO for a malformed message. */
int sb_twcc_send_on_feedback(sb_twcc_send_t *s, const sb_rtcp_twcc_t *fb, sb_bwe_result_t *out,
                             size_t max);

typedef struct sb_twcc_send_stats {
    uint64_t sent, feedback, reported, unknown, malformed;
} sb_twcc_send_stats_t;
void sb_twcc_send_get_stats(const sb_twcc_send_t *s, sb_twcc_send_stats_t *out);

/* Put transport sequence number seq into an RTP packet (pkt, *len bytes, room for cap) in
 * place, as element id (RFC 8285, 2 bytes): its value is overwritten when the element is
 * there; otherwise the element is added to the extension block, which grows by a word when
 * its padding cannot hold it, or a one-byte block is made (what follows moves: *len grows by
 * 4 or 8). Reads only the header: no full parse, no copy of the packet elsewhere.
 * Returns 0; SB_ERANGE when cap has no room for the growth; SB_ENOTSUP when the block cannot
 * take it in place (another profile, an id over 14 for the one-byte form, the element with
 * another length, a malformed block) and SB_EINVAL for a packet shorter than its header:
 * the packet is then unchanged (rebuild it with sb_rtp_copy_with_ext). */
int sb_twcc_stamp(uint8_t *pkt, size_t *len, size_t cap, uint8_t id, uint16_t seq);

#endif
