/* Layer selection for one receiver of a scalable video stream (SVC: spatial and temporal
 * layers in one RTP stream, e.g. VP9 with its payload descriptor, RFC 9628). The forwarder
 * describes each packet's layers (sb_svc_layer_t, from the codec's descriptor) and this unit
 * says whether the receiver gets it, and whether its marker bit must be set because it now
 * ends the highest layer forwarded of a picture.
 *
 * Rules (the receiver's decoder must only ever see frames whose references it has):
 *  - nothing is forwarded before a keyframe; lower layers never depend on higher ones, so
 *    going down (spatial or temporal) takes effect at the next picture;
 *  - going up spatially needs a keyframe (with inter-layer prediction only at keyframes, as
 *    Chromium's L2T*_KEY/L3T*_KEY modes, a higher spatial layer is decodable from there
 *    only); the caller asks the sender for one when SB_SVC_WANT_KEYFRAME is returned;
 *  - going up temporally happens at a switching point (VP9's U bit: later frames of higher
 *    temporal layers reference nothing before it) or at a keyframe;
 *  - layer changes are applied at picture starts, so a picture is forwarded whole (every
 *    spatial layer of it up to the cap) or not at all.
 * The layers reported (for the client's events) are what is really forwarded: the cap,
 * bounded by the highest layer the sender was seen sending lately (about two seconds); they
 * are known, and reported, when a picture is over (at the start of the next one).
 *
 * Does not parse payloads (switchboard/codec.h does), keep sequence numbers
 * (switchboard/seq_rewrite.h) or time out layers: a cap above the layers sent simply
 * forwards them all.
 * Sans-IO, no allocation: embedded in its owner (a subscriber stream), used on its thread. */
#ifndef SWITCHBOARD_SVC_SELECT_H
#define SWITCHBOARD_SVC_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "switchboard/codec.h"

#define SB_SVC_MAX_LAYERS 8

/* One packet's place in the layer structure. */
typedef struct sb_svc_layer {
    uint8_t sid, tid;    /* spatial and temporal layer, 0..7 */
    bool picture_start;  /* first packet of a picture (its lowest spatial layer frame) */
    bool frame_end;      /* last packet of this layer frame */
    bool keyframe;       /* first packet of a picture decodable with no earlier one */
    bool switch_up;      /* temporal switching point (VP9 U) */
    bool retransmission; /* judged by the current caps only; changes nothing */
} sb_svc_layer_t;

/* Result flags of sb_svc_select_packet(). */
enum {
    SB_SVC_FORWARD = 1u << 0,          /* the receiver gets this packet */
    SB_SVC_MARKER = 1u << 1,           /* ...with its marker bit set */
    SB_SVC_WANT_KEYFRAME = 1u << 2,    /* ask the sender for a keyframe (rate-limit it) */
    SB_SVC_SPATIAL_CHANGED = 1u << 3,  /* the reported spatial layer changed */
    SB_SVC_TEMPORAL_CHANGED = 1u << 4, /* the reported temporal layer changed */
};

typedef struct sb_svc_select {
    /* What the receiver wants: 0..7, set with sb_svc_select_target(). */
    int target_spatial, target_temporal;
    /* Caps applied now; -1 before the first keyframe. */
    int spatial, temporal;
    /* Reported layers (-1: none yet), read them after a *_CHANGED flag. */
    int reported_spatial, reported_temporal;
    /* private */
    int top_sid[2], top_tid[2]; /* highest layers sent: this window, the previous one */
    unsigned pictures;          /* pictures in this window */
    bool started;               /* a picture was seen */
} sb_svc_select_t;

/* Start (or restart: e.g. a new sender) with targets; nothing is forwarded before a keyframe.
 * A negative target means the highest layer (7). */
void sb_svc_select_init(sb_svc_select_t *s, int spatial, int temporal);

/* New targets (negative: the highest). They apply from the next picture; a higher spatial
 * layer from the next keyframe. */
void sb_svc_select_target(sb_svc_select_t *s, int spatial, int temporal);

/* A VP9 packet's layers from its payload descriptor (RFC 9628 section 4.2): a picture starts
 * with the first packet of its base layer frame; without layer indices everything is layer
 * 0 (plain VP9 passes whole). */
void sb_svc_layer_from_vp9(const sb_vp9_desc_t *d, bool retransmission, sb_svc_layer_t *out);

/* Decide one packet. Returns SB_SVC_* flags. */
unsigned sb_svc_select_packet(sb_svc_select_t *s, const sb_svc_layer_t *l);

#endif
