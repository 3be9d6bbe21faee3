/* The Janus API layer: validates one request (shape, types, auth), routes it to sessions,
 * handles or plugins, and returns the reply. Transports call it; it never knows which one
 * (HTTP or WebSocket) a request came from, only whether ids came from a URL path.
 * Any transport thread; never blocks on a plugin. */
#ifndef SB_API_REQUEST_H
#define SB_API_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "session/session.h"

typedef struct sb_api_config {
    const char *api_secret; /* NULL: none required */
    const char *server_name;
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

/* The envelope every request of the Janus and Admin APIs shares: an object with a string
 * "transaction" and a string "janus" (the verb), checked in the reference's order. NULL with
 * both set (borrowed from msg), or the error reply (owned). The reference's errors about
 * "janus" carry the transaction on the Janus API, not on the Admin API: tx_in_verb_errors. */
json_t *sb_api_envelope(json_t *msg, bool tx_in_verb_errors, const char **transaction,
                        const char **verb);
/* Handle one request; returns the reply (owned), never NULL. */
json_t *sb_api_handle(const sb_api_request_t *req);
/* The reply to a body that is not JSON (454) or not an object (455): owned. */
json_t *sb_api_reject_body(const char *body, size_t len, const char *parse_error);
/* {"janus":"server_info",...}: owned. */
json_t *sb_api_server_info(const char *transaction);

/* Whether message carries what the API asks for: its apisecret, or a valid token when token
 * auth is on (either is enough when both are configured); true when neither is. A refusal is
 * counted (switchboard_auth_failures_total). */
bool sb_api_authorized(json_t *message);
/* The same for credentials given another way (an HTTP query's ?apisecret= and ?token=);
 * NULL: not given. */
bool sb_api_secret_ok(const char *apisecret, const char *token);

#endif
