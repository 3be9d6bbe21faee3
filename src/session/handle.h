/* Handles: one client's attachment to one plugin inside a session, and later its
 * PeerConnection. Refcounted: the session holds one reference, plugins may take more
 * (through the core API) for queued work; memory lives until the last one goes.
 * Any thread; the detach sequence runs once, on whichever thread asks first. */
#ifndef SB_SESSION_HANDLE_H
#define SB_SESSION_HANDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "session/session.h"
#include "switchboard/plugin.h"

/* Create a handle in session s for plugin (calls plugin->create_handle). Returns an owned
 * reference; the session holds its own. SB_ENOMEM past the per-session bound, SB_EIO when
 * the plugin refuses. */
int sb_handle_create(sb_session_t *s, const sb_plugin_t *plugin, const char *opaque_id,
                     sb_handle_t **out);
void sb_handle_ref(sb_handle_t *h);
void sb_handle_unref(sb_handle_t *h);

uint64_t sb_handle_id(const sb_handle_t *h);
/* Borrowed; valid while the handle is referenced. */
sb_session_t *sb_handle_session(const sb_handle_t *h);
const sb_plugin_t *sb_handle_plugin(const sb_handle_t *h);
sb_plugin_handle_t *sb_handle_plugin_handle(sb_handle_t *h);
sb_handle_t *sb_handle_from_plugin(sb_plugin_handle_t *ph);
const char *sb_handle_opaque_id(const sb_handle_t *h);
bool sb_handle_is_detached(sb_handle_t *h);

/* Detach: leave the session, tell the plugin (destroy_handle), and when notify is set
 * push a "detached" event. Idempotent: only the first call acts. */
void sb_handle_detach(sb_handle_t *h, bool notify);

/* Build and queue a plugin event on the handle's session (see plugin.h push_event). */
int sb_handle_push_event(sb_handle_t *h, const char *transaction, json_t *data, json_t *jsep);

/* Requests a plugin acked ("ack") and has not yet answered (push_event with the request's
 * transaction) are bounded per handle, so a client cannot make a plugin queue work (and the
 * bodies it holds) without end. begin: false when the handle is at the bound (the request
 * is refused); end: the request was answered or answered at once. Any thread. */
#define SB_HANDLE_MAX_PENDING 32
bool sb_handle_request_begin(sb_handle_t *h);
void sb_handle_request_end(sb_handle_t *h);
/* Queue a core event {"janus":type,"session_id","sender",...fields} (fields stolen). */
void sb_handle_push_core_event(sb_handle_t *h, const char *type, json_t *fields);
/* An event for event handlers about h (peer/events.h; body stolen), with its session, handle
 * and opaque ids. Any thread. */
void sb_handle_emit(sb_handle_t *h, unsigned type, unsigned subtype, json_t *body);

#endif
