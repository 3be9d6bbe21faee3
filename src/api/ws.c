/* WebSocket transport on libwebsockets: subprotocol "janus-protocol", the same JSON as
 * HTTP with session_id/handle_id in the body, events pushed as they happen (a session
 * created on a connection uses it as its event sink). One service thread runs lws; other
 * threads hand it outgoing text through each connection's queue and lws_cancel_service.
 * Sessions outlive their connection (until the session timeout) so a client can "claim"
 * them from a new one. */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "api/errors.h"
#include "api/request.h"
#include "api/transport.h"
#include "base/alloc.h"
#include "base/error.h"
#include "base/fifo.h"
#include "base/log.h"
#include "peer/session.h"

#define SB_WS_OUT_MAX 4096 /* queued messages per connection before old ones drop */

/* One connection. Owned by its sink references (lws's and every session's). The lock
 * guards out and wsi; rx belongs to the service thread. */
typedef struct sb_ws_conn {
    sb_event_sink_t sink; /* first */
    pthread_mutex_t lock;
    struct lws *wsi; /* NULL once closed */
    sb_fifo_t out;   /* char* JSON texts */
    char *rx;
    size_t rx_len;
    bool rx_too_large;
    struct sb_ws_conn *next; /* in sb_ws.conns (service thread only) */
} sb_ws_conn_t;

typedef struct sb_ws_pss {
    sb_ws_conn_t *conn;
} sb_ws_pss_t;

static struct {
    struct lws_context *ctx;
    pthread_t thread;
    atomic_bool stopping;
    const sb_config_t *cfg;
    sb_ws_conn_t *conns; /* service thread only */
} sb_ws;

static bool sb_ws_deliver(sb_event_sink_t *sink, json_t *event)
{
    sb_ws_conn_t *c = (sb_ws_conn_t *)sink;
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text)
        return false;
    pthread_mutex_lock(&c->lock);
    if (!c->wsi) {
        pthread_mutex_unlock(&c->lock);
        free(text);
        return false;
    }
    sb_fifo_push(&c->out, text);
    pthread_mutex_unlock(&c->lock);
    lws_cancel_service(sb_ws.ctx); /* wakes the service thread: it asks for writable */
    return true;
}

static void sb_ws_release(sb_event_sink_t *sink)
{
    sb_ws_conn_t *c = (sb_ws_conn_t *)sink;
    sb_fifo_deinit(&c->out);
    pthread_mutex_destroy(&c->lock);
    sb_free(c->rx);
    sb_free(c);
}

static void sb_ws_free_text(void *p)
{
    free(p);
}

static sb_ws_conn_t *sb_ws_conn_new(struct lws *wsi)
{
    sb_ws_conn_t *c = SB_NEW(sb_ws_conn_t);
    sb_refcount_init(&c->sink.ref);
    c->sink.deliver = sb_ws_deliver;
    c->sink.release = sb_ws_release;
    pthread_mutex_init(&c->lock, NULL);
    sb_fifo_init(&c->out, SB_WS_OUT_MAX, sb_ws_free_text);
    c->wsi = wsi;
    c->next = sb_ws.conns;
    sb_ws.conns = c;
    return c;
}

static void sb_ws_conn_closed(sb_ws_conn_t *c)
{
    for (sb_ws_conn_t **p = &sb_ws.conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_lock(&c->lock);
    c->wsi = NULL;
    pthread_mutex_unlock(&c->lock);
    sb_sessions_drop_sink(&c->sink);
    sb_event_sink_unref(&c->sink);
}

/* A complete text message arrived: run it through the API, queue the reply. */
static void sb_ws_handle_message(sb_ws_conn_t *c)
{
    json_t *reply;
    if (c->rx_too_large) {
        reply = sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC,
                             "Message larger than %zu bytes", sb_ws.cfg->max_body_size);
    } else {
        json_error_t jerr;
        json_t *msg = c->rx_len ? json_loadb(c->rx, c->rx_len, JSON_REJECT_DUPLICATES, &jerr)
                                : NULL;
        if (!msg) {
            reply = sb_api_reject_body(c->rx, c->rx_len, c->rx_len ? jerr.text : NULL);
        } else {
            sb_api_request_t req = {.message = msg, .sink = &c->sink};
            reply = sb_api_handle(&req);
            json_decref(msg);
        }
    }
    c->rx_len = 0;
    c->rx_too_large = false;
    sb_ws_deliver(&c->sink, reply);
    json_decref(reply);
}

static void sb_ws_receive(sb_ws_conn_t *c, struct lws *wsi, const void *in, size_t len)
{
    if (!c->rx_too_large) {
        if (c->rx_len + len > sb_ws.cfg->max_body_size) {
            c->rx_too_large = true;
        } else {
            c->rx = sb_realloc(c->rx, c->rx_len + len + 1);
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
        sb_ws_handle_message(c);
}

static int sb_ws_write_one(sb_ws_conn_t *c, struct lws *wsi)
{
    pthread_mutex_lock(&c->lock);
    char *text = sb_fifo_pop(&c->out);
    bool more = sb_fifo_len(&c->out) > 0;
    pthread_mutex_unlock(&c->lock);
    if (!text)
        return 0;
    size_t len = strlen(text);
    unsigned char *buf = sb_malloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, text, len);
    free(text);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    sb_free(buf);
    if (n < (int)len)
        return -1; /* lws closes the connection */
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

static int sb_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    sb_ws_pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        pss->conn = sb_ws_conn_new(wsi);
        break;
    case LWS_CALLBACK_RECEIVE:
        if (pss && pss->conn)
            sb_ws_receive(pss->conn, wsi, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (pss && pss->conn)
            return sb_ws_write_one(pss->conn, wsi);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Some thread queued text: ask for writable on every connection with output. */
        for (sb_ws_conn_t *c = sb_ws.conns; c; c = c->next) {
            pthread_mutex_lock(&c->lock);
            bool pending = sb_fifo_len(&c->out) > 0;
            pthread_mutex_unlock(&c->lock);
            if (pending)
                lws_callback_on_writable(c->wsi);
        }
        break;
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->conn) {
            sb_ws_conn_closed(pss->conn);
            pss->conn = NULL;
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols sb_ws_protocols[] = {
    {"janus-protocol", sb_ws_callback, sizeof(sb_ws_pss_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *sb_ws_service(void *arg)
{
    (void)arg;
    while (!atomic_load(&sb_ws.stopping)) {
        if (lws_service(sb_ws.ctx, 0) < 0)
            break;
    }
    return NULL;
}

static void sb_ws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    if (level & LLL_ERR)
        SB_WARN("ws", "lws: %.*s", (int)n, line);
    else
        SB_DEBUG("ws", "lws: %.*s", (int)n, line);
}

static int sb_ws_enabled(const sb_config_t *cfg)
{
    return cfg->ws_enabled;
}

static int sb_ws_start(const sb_config_t *cfg)
{
    sb_ws.cfg = cfg;
    lws_set_log_level(LLL_ERR | LLL_WARN, sb_ws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = (int)cfg->ws_port;
    info.iface = cfg->ws_bind && *cfg->ws_bind ? cfg->ws_bind : NULL;
    info.protocols = sb_ws_protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    sb_ws.ctx = lws_create_context(&info);
    if (!sb_ws.ctx) {
        SB_ERROR("ws", "cannot listen on WebSocket port %u", cfg->ws_port);
        return SB_EIO;
    }
    atomic_store(&sb_ws.stopping, false);
    if (pthread_create(&sb_ws.thread, NULL, sb_ws_service, NULL) != 0) {
        lws_context_destroy(sb_ws.ctx);
        sb_ws.ctx = NULL;
        return SB_EIO;
    }
    SB_INFO("ws", "WebSocket API on port %u (janus-protocol)", cfg->ws_port);
    return 0;
}

static void sb_ws_tick(int64_t now_us)
{
    (void)now_us;
}

static void sb_ws_stop(void)
{
    if (!sb_ws.ctx)
        return;
    atomic_store(&sb_ws.stopping, true);
    lws_cancel_service(sb_ws.ctx);
    pthread_join(sb_ws.thread, NULL);
    lws_context_destroy(sb_ws.ctx); /* closes every connection: CLOSED callbacks run */
    sb_ws.ctx = NULL;
}

const sb_transport_t sb_transport_ws = {
    .name = "websocket",
    .enabled = sb_ws_enabled,
    .start = sb_ws_start,
    .tick = sb_ws_tick,
    .stop = sb_ws_stop,
};
