/* What the API's two HTTP listeners (the Janus API, http.c; the Admin API and metrics,
 * admin_http.c) share on libmicrohttpd: replies with CORS and no caching, request bodies
 * bounded while they upload, ids in a path, and a count of replies by status for /metrics.
 * MHD threads. */
#ifndef SB_API_HTTP_UTIL_H
#define SB_API_HTTP_UTIL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Queue a reply; text is owned (freed by MHD), extra_name/extra_value may be NULL.
 * cors_origin: "*" (echo the caller's Origin), an origin, or NULL/"" for no CORS header. */
enum MHD_Result sb_http_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                              char *text, size_t len, const char *extra_name,
                              const char *extra_value, const char *cors_origin);
/* The same with a JSON body (reference stolen). */
enum MHD_Result sb_http_reply_json(struct MHD_Connection *conn, unsigned status, json_t *j,
                                   const char *extra_name, const char *extra_value,
                                   const char *cors_origin);
/* The CORS preflight answer (204). */
enum MHD_Result sb_http_reply_preflight(struct MHD_Connection *conn, const char *cors_origin);

/* Parse "[/<session>[/<handle>]][/]" (what follows a base path); false for anything else. */
bool sb_http_parse_ids(const char *rest, uint64_t *sid, uint64_t *hid);

/* A request body being received, bounded by max bytes; always NUL-terminated once any byte
 * came. false when appending would pass max (nothing appended). */
typedef struct sb_http_body {
    char *data;
    size_t len, cap;
} sb_http_body_t;
bool sb_http_body_append(sb_http_body_t *b, const char *data, size_t size, size_t max);
void sb_http_body_free(sb_http_body_t *b);

/* MHD_queue_response, counting the reply by status (switchboard_http_requests_total{code}):
 * each thread that answers counts in a slot of its own (a relaxed add, base/counter.h). Every
 * reply of the API's listeners goes through here. */
enum MHD_Result sb_http_queue(struct MHD_Connection *conn, unsigned status,
                              struct MHD_Response *resp);
/* Calls fn for each status that was answered at least once, with the total over slots. */
void sb_http_reply_counts(void (*fn)(void *ctx, unsigned status, uint64_t n), void *ctx);

#endif
