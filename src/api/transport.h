/* The transport interface: something that turns a wire protocol into API requests
 * (api/request.h) and events back into the wire. The API layer knows none of them.
 * start/tick/stop run on the main thread; everything else on the transport's threads. */
#ifndef SB_API_TRANSPORT_H
#define SB_API_TRANSPORT_H

#include <stdint.h>

#include "config/config.h"

typedef struct sb_transport {
    const char *name;
    /* Whether cfg enables this transport. */
    int (*enabled)(const sb_config_t *cfg);
    /* Listen. 0 or SB_E* (then the daemon refuses to start, with the reason logged). */
    int (*start)(const sb_config_t *cfg);
    /* Periodic housekeeping (long-poll deadlines), about 4 times a second. */
    void (*tick)(int64_t now_us);
    /* Close every connection and stop listening. */
    void (*stop)(void);
} sb_transport_t;

extern const sb_transport_t sb_transport_http;
/* Test hook (tests/fuzz/fuzz_http.c): MHD takes fd, a connected stream socket, as a client
 * connection of the running HTTP transport (and closes it). 0, SB_ESTATE when the transport
 * is not started, SB_EIO. Any thread. */
int sb_http_add_connection(int fd);
extern const sb_transport_t sb_transport_ws;
/* The Admin API, /metrics, /health and /ready on their own port (admin_http.c). */
extern const sb_transport_t sb_transport_admin;

#endif
