/* The Janus API layer: validates one request (shape, types, auth), routes it to sessions,
 * handles or plugins, and returns the reply. Transports call it; it never knows which one
 * (HTTP or WebSocket) a request came from, only whether ids came from a URL path.
 * Any transport thread; never blocks on a plugin. */
#ifndef SB_API_REQUEST_H
#define SB_API_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "peer/session.h"

typedef struct sb_api_config {
    const char *api_secret; /* NULL: none required */
    const char *server_name;
    unsigned session_timeout_s;
    bool ipv6;
} sb_api_config_t;

typedef struct sb_api_request {
    json_t *message;          /* borrowed: the parsed body */
    bool ids_from_path;       /* HTTP: ids below came from the URL, the level is fixed */
    uint64_t session_id;      /* path ids (HTTP); ignored otherwise */
    uint64_t handle_id;
    sb_event_sink_t *sink;    /* WebSocket: the connection; NULL for HTTP */
} sb_api_request_t;

/* Copies what it needs of cfg. */
void sb_api_init(const sb_api_config_t *cfg);
void sb_api_deinit(void);

/* Handle one request; returns the reply (owned), never NULL. */
json_t *sb_api_handle(const sb_api_request_t *req);
/* The reply to a body that is not JSON (454) or not an object (455): owned. */
json_t *sb_api_reject_body(const char *body, size_t len, const char *parse_error);
/* {"janus":"server_info",...}: owned. */
json_t *sb_api_server_info(const char *transaction);

/* Returns the configured api_secret check: true when req carries it (or none is set). */
bool sb_api_authorized(json_t *message);
/* The same for a secret given another way (an HTTP query's ?apisecret=); NULL: none given. */
bool sb_api_secret_ok(const char *given);

#endif
