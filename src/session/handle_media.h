/* A handle's media binding: the PeerConnection (peer.h) it may have, the media loop it is
 * bound to, remote candidates that trickled in before the offer was processed, and a copy
 * of the negotiated streams readable from any thread. Negotiation runs on the calling
 * (plugin or control) thread for the SDP work and on the loop for the peer, through
 * sb_loop_call_sync. One lock per binding, never held while calling out. */
#ifndef SB_SESSION_HANDLE_MEDIA_H
#define SB_SESSION_HANDLE_MEDIA_H

#include <jansson.h>
#include <stddef.h>

#include "peer/peer.h"
#include "session/handle.h"
#include "switchboard/plugin.h"

typedef struct sb_handle_media sb_handle_media_t;

/* The binding of h, which h owns (handle.c): created with the handle, freed with it. */
sb_handle_media_t *sb_handle_media_new(sb_handle_t *h);
void sb_handle_media_free(sb_handle_media_t *m);

/* The binding of a handle (handle.c owns it). */
sb_handle_media_t *sb_handle_media(sb_handle_t *h);
/* h as its peer's owner (peer.h), what sb_peer_new takes: borrowed, as long as h is. */
sb_peer_owner_t *sb_handle_media_owner(sb_handle_t *h);

int sb_handle_media_answer(sb_handle_t *h, json_t *offer, const sb_answer_opts_t *opts,
                           json_t **answer, char *reason, size_t reason_len);
int sb_handle_media_offer(sb_handle_t *h, const sb_offer_stream_t *streams, unsigned n,
                          int loop, json_t **offer, char *reason, size_t reason_len);
int sb_handle_media_process_answer(sb_handle_t *h, json_t *answer, char *reason,
                                   size_t reason_len);
/* The next sb_handle_media_offer restarts ICE (new local credentials). Any thread. */
void sb_handle_media_request_ice_restart(sb_handle_t *h);
unsigned sb_handle_media_streams(sb_handle_t *h, sb_media_stream_t *out, unsigned max);
int sb_handle_media_loop_index(sb_handle_t *h);

/* A "trickle" request's candidate (object, or null) or candidates (array), handed on in
 * order until one is refused. Returns 0; SB_ENOENT when a candidate object has no
 * "candidate" string (the API answers 456); SB_EINVAL when a candidate is malformed, too
 * long, not an object, or there are too many (467). */
int sb_handle_media_trickle(sb_handle_t *h, json_t *candidate, json_t *candidates);
/* Close the PeerConnection, synchronously with its loop: when this returns, the plugin
 * got hangup_media (if media was up) and no media callback runs any more. reason NULL:
 * no hangup event. */
void sb_handle_media_hangup(sb_handle_t *h, const char *reason);

/* Loop thread: the live peer of h, or NULL. Borrowed: valid during this loop iteration. */
struct sb_peer *sb_handle_media_peer(sb_handle_t *h);
/* The Admin API's description of the handle's PeerConnection (sb_peer_info, made on its
 * loop while the caller waits), or NULL when there is none. Any thread but a media loop. */
json_t *sb_handle_media_info(sb_handle_t *h);

#endif
