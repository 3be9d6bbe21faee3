/* The VideoRoom's forwarding graph and hot path (plugins/videoroom: graph.c, forward.c, svc.c,
 * red.c, allocate.c, relay.c, compiled into the test as the plugin compiles them) driven
 * without a daemon: a fake sb_core_api_t, the only way a plugin reaches the core, records
 * what the plugin would send (forward_rtp, send_rtp, request_keyframe, push_event) and keeps
 * what it posts to media loops (loop_post) in one queue per loop, which the test runs when it
 * plays that loop; packet_retain copies a packet and counts the copies until released.
 *
 * One publisher (loop 0) with one stream, and up to VRF_SUBS subscribers of that stream,
 * each on the loop the test chooses: the graph is built with the plugin's own control-side
 * calls (sb_vr_fwd_pub_attach, sb_vr_fwd_sub_attach, sb_vr_fwd_bind, sb_vr_fwd_sub_config,
 * sb_vr_fwd_media_up), exactly the closures subscriber.c and publisher.c post. The
 * reference-counted objects of the rest of the plugin (rooms, sessions, publishers,
 * subscribers) are the test's, with counting stubs for their ref/unref.
 *
 * Single thread: every "loop" runs on the test's thread; the home loop's relay flush (a
 * GSource of the thread's default context) runs when the test ends an iteration
 * (vrf_loop_iteration). Does not: negotiate, run the message thread, or free the objects the
 * test owns. */
#ifndef SB_TESTS_UNIT_VR_FIXTURE_H
#define SB_TESTS_UNIT_VR_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../plugins/videoroom/videoroom.h"

#define VRF_SUBS 2
#define VRF_LOOPS 2
#define VRF_SENT_MAX 512
#define VRF_PUB_SSRC 0x1000u /* + layer */

/* One packet the plugin handed to forward_rtp (or send_rtp), as the client would get it. */
typedef struct vrf_sent {
    int sub;         /* which subscriber's handle, -1: another */
    unsigned stream; /* its m-line */
    uint16_t seq;    /* as rewritten */
    uint32_t ts, ssrc;
    uint8_t pt;
    bool marker;
    unsigned src_layer; /* the publisher packet it came from */
    uint16_t src_seq;
    int src_tid; /* VP8 temporal layer of that packet, -1: none */
    bool src_keyframe;
    bool contract_ok; /* same length, bytes equal past header + 8 (forward_rtp's contract) */
} vrf_sent_t;

typedef struct vrf_kf_req {
    unsigned stream, layer;
} vrf_kf_req_t;

/* What the fake core saw. */
typedef struct vrf_core_log {
    vrf_sent_t sent[VRF_SENT_MAX];
    unsigned nsent;
    vrf_kf_req_t kf[64];
    unsigned nkf;
    int last_substream, last_temporal; /* the last layer event's, -1: none yet */
    unsigned events;
    int retained; /* packet_retain copies not released yet */
} vrf_core_log_t;

extern vrf_core_log_t vrf_log;

/* Once per test program: the fake core, and the home loop's context (this thread's default,
 * where relay.c attaches its flush source for good). The teardown stops relay.c's flush as
 * deinit does. */
void vrf_global_setup(void);
void vrf_global_teardown(void);
/* The publisher's stream: VP8 with `layers` simulcast layers (1: none). */
void vrf_setup(unsigned layers);
/* Subscriber i on media loop `loop`, bound to the publisher's stream, with these choices
 * (-1: none), its PeerConnection up. The graph's closures run. */
void vrf_add_sub(unsigned i, int loop, int substream, int temporal);
/* The subscriber changes its choices (configure): the closure runs on its loop. */
void vrf_configure(unsigned i, int substream, int temporal);
/* Take everything down (unbind, detach, stop the relay flush) and check that every
 * reference and retained packet taken was given back. */
void vrf_teardown(void);

/* One packet from the publisher on layer `layer`: its own sequence numbering per layer, a
 * VP8 payload whose descriptor carries tid (-1: no temporal layer index), a keyframe or not.
 * Goes through sb_vr_fwd_on_rtp on the home loop. Returns the publisher sequence number. */
uint16_t vrf_publish(unsigned layer, int tid, bool keyframe);
/* Run loop i's queued closures (and what they post there) until none is left. */
void vrf_run_loop(unsigned i);
/* The home loop's current iteration ends: its relay batches go out (and its local share is
 * forwarded). */
void vrf_loop_iteration(void);

/* Sent packets of subscriber i, in order, into out (at most max). Returns how many. */
unsigned vrf_sent_to(unsigned i, const vrf_sent_t **out, unsigned max);
/* Packets that reached subscriber i's fan-out and that its sequence rewriter refused
 * (duplicates, stale ones): a fan-out that ran twice on one packet shows here. */
uint64_t vrf_refused(unsigned i);

#endif
