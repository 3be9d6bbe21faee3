/* The server side of the WebSocket opening handshake (RFC 6455 §4.2), as a pure function of
 * the request's header values: whether to switch protocols, and what to answer with.
 * What it does not do: read HTTP (libmicrohttpd does), or frames (ws_frame.h).
 * Any thread; no state. */
#ifndef SB_API_WS_HANDSHAKE_H
#define SB_API_WS_HANDSHAKE_H

#include <stddef.h>

#define SB_WS_PROTOCOL "janus-protocol"
#define SB_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* The request's header values (NULL when absent). */
typedef struct sb_ws_request_hdrs {
    const char *method;
    const char *version; /* "HTTP/1.1" */
    const char *host;
    const char *upgrade;
    const char *connection;
    const char *key;
    const char *ws_version;
    const char *protocols; /* Sec-WebSocket-Protocol, comma separated */
} sb_ws_request_hdrs_t;

typedef struct sb_ws_handshake {
    unsigned status;    /* 101 to switch; else the HTTP status to refuse with */
    const char *reason; /* static text for a refusal */
    char accept[SB_WS_ACCEPT_LEN + 1];
    const char *protocol; /* static: SB_WS_PROTOCOL, or NULL when none was asked for */
} sb_ws_handshake_t;

/* Checks the request (§4.2.1): GET, HTTP/1.1, Host, Upgrade: websocket, Connection with the
 * upgrade token, a key of 16 base64 bytes, version 13 (else 426, RFC 6455 §4.4), and, if
 * any subprotocol is asked for, janus-protocol among them (else 400). Fills out. */
void sb_ws_handshake_check(const sb_ws_request_hdrs_t *req, sb_ws_handshake_t *out);

/* True when the comma-separated header value list holds token (case-insensitive). */
int sb_ws_header_has_token(const char *list, const char *token);

#endif
