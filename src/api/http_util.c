/* Shared HTTP helpers of the API listeners (see http_util.h). */
#include "api/http_util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/counter.h"

/* The statuses our listeners answer; anything else lands in the last slot's "other". */
static const unsigned sb_http_statuses[] = {101, 200, 204, 302, 304, 400, 401, 403,
                                            404, 405, 413, 416, 429, 500, 503};
#define SB_HTTP_NSTATUS (sizeof(sb_http_statuses) / sizeof(sb_http_statuses[0]))

/* One slot per answering thread (HTTP, HTTPS, WebSocket handshakes, admin: one MHD thread
 * each). Past the last slot threads share it, and could lose a count, never more. */
#define SB_HTTP_COUNTER_SLOTS 8
static struct {
    sb_counter_t by_status[SB_HTTP_NSTATUS + 1]; /* + other */
} __attribute__((aligned(64))) sb_http_counts[SB_HTTP_COUNTER_SLOTS];
static atomic_uint sb_http_next_slot;

enum MHD_Result sb_http_queue(struct MHD_Connection *conn, unsigned status,
                              struct MHD_Response *resp)
{
    static _Thread_local unsigned slot = UINT32_MAX;
    if (slot == UINT32_MAX) {
        slot = atomic_fetch_add(&sb_http_next_slot, 1);
        if (slot >= SB_HTTP_COUNTER_SLOTS)
            slot = SB_HTTP_COUNTER_SLOTS - 1;
    }
    size_t i = 0;
    while (i < SB_HTTP_NSTATUS && sb_http_statuses[i] != status)
        i++;
    sb_counter_add(&sb_http_counts[slot].by_status[i], 1);
    return MHD_queue_response(conn, status, resp);
}

void sb_http_reply_counts(void (*fn)(void *ctx, unsigned status, uint64_t n), void *ctx)
{
    for (size_t i = 0; i <= SB_HTTP_NSTATUS; i++) {
        uint64_t n = 0;
        for (unsigned s = 0; s < SB_HTTP_COUNTER_SLOTS; s++)
            n += sb_counter_get(&sb_http_counts[s].by_status[i]);
        if (n)
            fn(ctx, i < SB_HTTP_NSTATUS ? sb_http_statuses[i] : 0, n);
    }
}

static void sb_http_add_cors(struct MHD_Connection *conn, struct MHD_Response *resp,
                             const char *origin)
{
    if (!origin || !*origin)
        return;
    if (!strcmp(origin, "*")) {
        /* Echo the caller's origin so credentialed requests work too. */
        const char *o = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", o ? o : "*");
        if (o)
            MHD_add_response_header(resp, "Vary", "Origin");
    } else {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    }
}

enum MHD_Result sb_http_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                              char *text, size_t len, const char *extra_name,
                              const char *extra_value, const char *cors_origin)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", type);
    if (extra_name)
        MHD_add_response_header(resp, extra_name, extra_value);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    sb_http_add_cors(conn, resp, cors_origin);
    enum MHD_Result r = sb_http_queue(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result sb_http_reply_json(struct MHD_Connection *conn, unsigned status, json_t *j,
                                   const char *extra_name, const char *extra_value,
                                   const char *cors_origin)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        text =
            strdup("{\"janus\":\"error\",\"error\":{\"code\":490,\"reason\":\"Unknown error\"}}");
    return sb_http_reply(conn, status, "application/json", text, strlen(text), extra_name,
                         extra_value, cors_origin);
}

enum MHD_Result sb_http_reply_preflight(struct MHD_Connection *conn, const char *cors_origin)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    sb_http_add_cors(conn, resp, cors_origin);
    const char *hdrs =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", hdrs ? hdrs : "Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    enum MHD_Result r = sb_http_queue(conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return r;
}

bool sb_http_parse_ids(const char *rest, uint64_t *sid, uint64_t *hid)
{
    *sid = *hid = 0;
    if (*rest == '\0' || !strcmp(rest, "/"))
        return true;
    uint64_t *ids[2] = {sid, hid};
    for (int i = 0; i < 2 && *rest; i++) {
        if (*rest != '/' || rest[1] < '1' || rest[1] > '9')
            return false;
        char *end;
        unsigned long long v = strtoull(rest + 1, &end, 10);
        if (end - (rest + 1) > 16)
            return false;
        *ids[i] = v;
        rest = end;
    }
    return *rest == '\0' || !strcmp(rest, "/");
}

bool sb_http_body_append(sb_http_body_t *b, const char *data, size_t size, size_t max)
{
    if (b->len + size > max)
        return false;
    if (b->len + size + 1 > b->cap) {
        b->cap = (b->len + size + 1) * 2;
        if (b->cap > max + 1)
            b->cap = max + 1;
        b->data = sb_realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, data, size);
    b->len += size;
    b->data[b->len] = '\0';
    return true;
}

void sb_http_body_free(sb_http_body_t *b)
{
    sb_free(b->data);
    memset(b, 0, sizeof(*b));
}
