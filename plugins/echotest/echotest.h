/* janus.plugin.echotest: the handle's state, shared by echotest.c (requests, the call's
 * life) and simulcast.c (one simulcast layer echoed as one stream). */
#ifndef SB_ECHOTEST_H
#define SB_ECHOTEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "switchboard/plugin.h"
#include "switchboard/seq_rewrite.h"
#include "switchboard/simulcast.h"

#define SB_ECHOTEST_PACKAGE "janus.plugin.echotest"

/* One simulcast m-line echoed as one stream. Loop thread only; made at its first packet. */
typedef struct sb_echotest_layers {
    int64_t last_us[SB_MEDIA_MAX_LAYERS]; /* each layer's last arrival */
    int cur;                              /* the layer echoed, -1: none yet */
    int64_t last_kf_req_us;
    sb_seq_rewrite_t rw;
    sb_vp8_renumber_t vp8;
    uint8_t codec_pt; /* the payload type whose codec was looked up (0: none yet), */
    bool is_vp8;      /* ... and whether it is VP8: not a name comparison per packet */
    int8_t ev_substream, ev_temporal; /* what was announced, + 1 (0: nothing yet) */
} sb_echotest_layers_t;

/* One handle's state. Owned by the handle (plugin_data); the controls are written on the
 * message thread and read on the handle's media loop, hence atomics. */
typedef struct sb_echotest_session {
    atomic_bool audio;
    atomic_bool video;
    atomic_uint bitrate;  /* bps cap sent back as REMB; 0 = none */
    atomic_bool ended;    /* "done" was sent; an answered offer re-arms it */
    atomic_int substream; /* simulcast: the layer wanted back (0-2), and its temporal */
    atomic_int temporal;  /* ... layers (0-2); as the reference, the top ones by default */
    atomic_int echoed;    /* the layer echoed now, -1: none (for query_handle) */
    sb_echotest_layers_t *layers[SB_MEDIA_MAX_STREAMS];
} sb_echotest_session_t;

/* Loop thread: echo pkt of a simulcast m-line if it is of the layer chosen, rewritten as one
 * stream; switches at keyframes (asking for them) and announces each change of layer. */
void sb_echotest_simulcast_rtp(const sb_core_api_t *core, sb_plugin_handle_t *h,
                               sb_echotest_session_t *s, sb_rtp_packet_t *pkt);

/* Loop thread: the layer the caller's keyframe request on stream is for. */
unsigned sb_echotest_simulcast_layer(const sb_echotest_session_t *s, unsigned stream);

/* The call ended (loop thread) or the handle goes: forget the layers' state. */
void sb_echotest_simulcast_reset(sb_echotest_session_t *s);

#endif
