/* The Admin API: the reference server's admin requests (info, ping, get_status,
 * list_sessions, list_handles, handle_info, set_log_level, set_session_timeout,
 * accept_new_sessions, destroy_session, detach_handle, hangup_webrtc, message_plugin,
 * loops_info, and the stored tokens), with its shapes, paths and error codes (docs/admin.md).
 * Guarded by admin_secret. The transport (admin_http.c) parses HTTP and JSON only.
 * Any thread; a request may wait for a media loop to describe a PeerConnection. */
#ifndef SB_API_ADMIN_H
#define SB_API_ADMIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_admin_config {
    const char *admin_secret; /* NULL or "": none required */
} sb_admin_config_t;

/* Copies what it needs of cfg. */
void sb_admin_init(const sb_admin_config_t *cfg);
void sb_admin_deinit(void);

/* One request (borrowed) at the path's ids (0: absent); returns the reply (owned). */
json_t *sb_admin_handle(json_t *message, uint64_t path_session, uint64_t path_handle);
/* The reply to a body that is empty or not JSON: owned. */
json_t *sb_admin_reject_body(size_t len, const char *parse_error);

#endif
