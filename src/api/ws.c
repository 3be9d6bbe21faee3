/* WebSocket transport: subprotocol "janus-protocol", the same JSON as HTTP with
 * session_id/handle_id in the body, events pushed as they happen (a session created on a
 * connection uses it as its event sink). Sessions outlive their connection (until the
 * session timeout) so a client can "claim" them from a new one.
 *
 * libmicrohttpd answers the opening handshake (ws_handshake.c decides) and hands over the
 * upgraded socket; from then on one service thread of ours owns every connection: an epoll
 * loop reads frames (ws_frame.c: RFC 6455 enforced, unmasked client frames closed with 1002),
 * runs each message through the API and writes replies and events. Other threads deliver
 * events into a connection's queue and wake the loop through an eventfd.
 *
 * Memory is bounded per connection and in total: a connection whose unsent bytes reach half
 * its budget is no longer read (no new requests, no new replies) until they drain to a
 * quarter; one that would go over its budget, or push every connection together over theirs,
 * while it still holds unsent bytes, is closed (1008) and its queue freed. A message into an
 * empty queue is always taken, so one large reply never closes a client that reads. One
 * whose unsent bytes do not move for websocket.stall_timeout is closed too, so stalled
 * clients cannot sit on the shared budget. The kernel's send buffer is capped as well.
 *
 * Threads: MHD's thread runs the handshake; the service thread runs everything else on a
 * connection; deliver() runs on any thread under the connection's lock. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/errors.h"
#include "api/http_util.h"
#include "api/listen_addr.h"
#include "api/request.h"
#include "api/tls.h"
#include "api/transport.h"
#include "api/ws_frame.h"
#include "api/ws_handshake.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "session/session.h"

#define SB_WS_HTTP_TIMEOUT_S 30 /* MHD's idle timeout, before the upgrade */
#define SB_WS_READ_CHUNK 16384
#define SB_WS_READS_PER_WAKE 4      /* then other connections get their turn */
#define SB_WS_SNDBUF (256 << 10)    /* the kernel's share of a connection that does not read */
#define SB_WS_CHECK_MS 1000         /* how often stalled connections are looked for */
#define SB_WS_FEED_SLICE 1024       /* parsed at a time: a pause takes effect within a slice */
#define SB_WS_DRAIN_MAX (256 << 10) /* unread input discarded at close, so it ends in FIN */

/* One frame ready to go, header included. */
typedef struct sb_ws_chunk {
    struct sb_ws_chunk *next;
    size_t len;
    uint8_t data[];
} sb_ws_chunk_t;

/* One upgraded connection. Owned by its references: the service thread's while open, every
 * session that uses it as sink, and the ready list's. lock guards the out queue and the
 * flags below it; the rest belongs to the service thread. */
typedef struct sb_ws_conn {
    sb_event_sink_t sink; /* first */
    pthread_mutex_t lock;
    sb_ws_chunk_t *out_head, *out_tail;
    size_t out_bytes;    /* queued, including the head's part already written */
    size_t out_sent;     /* bytes of out_head already written */
    bool open;           /* false once closed: deliver refuses */
    bool overflow;       /* over budget: the service thread closes it */
    bool scheduled;      /* in the ready list */
    int64_t progress_us; /* last time the queue went from empty, or bytes left */
    /* service thread */
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    sb_ws_parser_t parser;
    uint8_t *pending; /* input not parsed yet (read past the handshake by MHD, or left
                       * when the connection paused): parsed before the socket is read */
    size_t pending_len;
    bool registered;
    uint32_t events; /* epoll interest */
    bool paused;
    struct sb_ws_conn *ready_next;
    struct sb_ws_conn *prev, *next; /* every open connection */
} sb_ws_conn_t;

static struct {
    struct MHD_Daemon *daemon;     /* ws://, or NULL */
    struct MHD_Daemon *tls_daemon; /* wss://, or NULL */
    const sb_config_t *cfg;
    pthread_t thread;
    int epfd, evfd;
    atomic_bool stopping;
    atomic_size_t total_bytes; /* unsent bytes of every connection */
    atomic_ullong overflows;   /* connections closed for going over budget */
    pthread_mutex_t ready_lock;
    sb_ws_conn_t *ready; /* connections with news for the service thread (refs) */
    sb_ws_conn_t *conns; /* service thread only */
    /* Closed during this epoll batch, whose events may still name them: their last service
     * thread reference goes once the batch is done (service thread only). */
    sb_ws_conn_t *closed;
} sb_ws = {.ready_lock = PTHREAD_MUTEX_INITIALIZER, .epfd = -1, .evfd = -1};

/* ---- queue (any thread) ---- */

static void sb_ws_wake(void)
{
    uint64_t one = 1;
    ssize_t n = write(sb_ws.evfd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already non-zero, the loop wakes anyway */
}

/* Hands c to the service thread (once until it looks). Caller holds c->lock. */
static void sb_ws_schedule(sb_ws_conn_t *c)
{
    if (c->scheduled)
        return;
    c->scheduled = true;
    sb_event_sink_ref(&c->sink);
    pthread_mutex_lock(&sb_ws.ready_lock);
    bool was_empty = !sb_ws.ready;
    c->ready_next = sb_ws.ready;
    sb_ws.ready = c;
    pthread_mutex_unlock(&sb_ws.ready_lock);
    if (was_empty)
        sb_ws_wake();
}

/* Frees the queue. Caller holds c->lock; the service thread, or the last reference. */
static void sb_ws_drop_queue(sb_ws_conn_t *c)
{
    sb_ws_chunk_t *ch = c->out_head;
    while (ch) {
        sb_ws_chunk_t *next = ch->next;
        sb_free(ch);
        ch = next;
    }
    atomic_fetch_sub(&sb_ws.total_bytes, c->out_bytes);
    c->out_head = c->out_tail = NULL;
    c->out_bytes = c->out_sent = 0;
}

/* Queues one frame. False when the connection is closed or was just found over budget. */
static bool sb_ws_enqueue(sb_ws_conn_t *c, uint8_t opcode, const void *payload, size_t len)
{
    sb_ws_chunk_t *ch = sb_malloc(sizeof(*ch) + SB_WS_MAX_HEADER + len);
    size_t h = sb_ws_frame_header(ch->data, opcode, len);
    memcpy(ch->data + h, payload, len);
    ch->len = h + len;
    ch->next = NULL;
    pthread_mutex_lock(&c->lock);
    if (!c->open || c->overflow) {
        pthread_mutex_unlock(&c->lock);
        sb_free(ch);
        return false;
    }
    size_t total = atomic_load(&sb_ws.total_bytes);
    if (c->out_bytes > 0 && (c->out_bytes + ch->len > sb_ws.cfg->ws_max_queued_bytes ||
                             total + ch->len > sb_ws.cfg->ws_max_total_queued_bytes)) {
        /* A client that does not read: nothing more is taken, the service thread closes it
         * and frees its queue (only that thread frees chunks: it may be sending one). */
        c->overflow = true;
        sb_ws_schedule(c);
        pthread_mutex_unlock(&c->lock);
        sb_free(ch);
        atomic_fetch_add(&sb_ws.overflows, 1);
        return false;
    }
    if (c->out_tail)
        c->out_tail->next = ch;
    else
        c->out_head = ch;
    if (!c->out_bytes)
        c->progress_us = sb_now_us();
    c->out_tail = ch;
    c->out_bytes += ch->len;
    atomic_fetch_add(&sb_ws.total_bytes, ch->len);
    sb_ws_schedule(c);
    pthread_mutex_unlock(&c->lock);
    return true;
}

static bool sb_ws_deliver(sb_event_sink_t *sink, json_t *event)
{
    sb_ws_conn_t *c = (sb_ws_conn_t *)sink;
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text)
        return false;
    bool taken = sb_ws_enqueue(c, SB_WS_OP_TEXT, text, strlen(text));
    free(text);
    return taken;
}

static void sb_ws_release(sb_event_sink_t *sink)
{
    sb_ws_conn_t *c = (sb_ws_conn_t *)sink;
    pthread_mutex_lock(&c->lock);
    sb_ws_drop_queue(c);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
    sb_ws_parser_deinit(&c->parser);
    sb_free(c->pending);
    sb_free(c);
}

/* ---- the service thread ---- */

static void sb_ws_set_events(sb_ws_conn_t *c, uint32_t events)
{
    if (c->fd < 0 || (c->registered && events == c->events))
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(sb_ws.epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) {
        c->registered = true;
        c->events = events;
    }
}

/* Best effort, straight to the socket: the end of a frame already partly sent, then a close
 * frame (§5.5.1) if the stream is at a frame boundary. A client that does not read gets
 * neither, only the end of the connection. */
static void sb_ws_send_close_frame(sb_ws_conn_t *c, uint16_t code)
{
    pthread_mutex_lock(&c->lock);
    sb_ws_chunk_t *head = c->out_sent ? c->out_head : NULL;
    size_t off = c->out_sent;
    pthread_mutex_unlock(&c->lock);
    if (head) {
        ssize_t w = send(c->fd, head->data + off, head->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 || (size_t)w != head->len - off)
            return;
    }
    uint8_t f[4] = {0x80 | SB_WS_OP_CLOSE, 2, (uint8_t)(code >> 8), (uint8_t)code};
    ssize_t w = send(c->fd, f, sizeof(f), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
}

/* Unread input at close makes the kernel answer with a reset, which can destroy what the
 * client has not read yet (our close frame among it): read it away first, up to a bound. */
static void sb_ws_drain_input(int fd)
{
    uint8_t buf[SB_WS_READ_CHUNK];
    for (size_t total = 0; total < SB_WS_DRAIN_MAX;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return;
        total += (size_t)n;
    }
}

static void sb_ws_close(sb_ws_conn_t *c, uint16_t code)
{
    pthread_mutex_lock(&c->lock);
    bool was_open = c->open;
    c->open = false;
    pthread_mutex_unlock(&c->lock);
    if (!was_open)
        return;
    if (code)
        sb_ws_send_close_frame(c, code);
    sb_ws_drain_input(c->fd);
    if (c->registered)
        epoll_ctl(sb_ws.epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->registered = false;
    c->fd = -1;
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE); /* MHD closes the socket */
    c->urh = NULL;
    pthread_mutex_lock(&c->lock);
    sb_ws_drop_queue(c);
    pthread_mutex_unlock(&c->lock);
    if (c->prev)
        c->prev->next = c->next;
    else if (sb_ws.conns == c)
        sb_ws.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    sb_sessions_drop_sink(&c->sink);
    c->next = sb_ws.closed; /* the service thread's reference, dropped after the batch */
    sb_ws.closed = c;
}

static void sb_ws_release_closed(void)
{
    while (sb_ws.closed) {
        sb_ws_conn_t *c = sb_ws.closed;
        sb_ws.closed = c->next;
        c->next = NULL;
        sb_event_sink_unref(&c->sink);
    }
}

/* Writes what the socket takes; then sets the epoll interest (read unless paused, write
 * while something is left). */
static void sb_ws_flush(sb_ws_conn_t *c)
{
    for (;;) {
        pthread_mutex_lock(&c->lock);
        sb_ws_chunk_t *ch = c->out_head;
        size_t off = c->out_sent;
        pthread_mutex_unlock(&c->lock);
        if (!ch || c->fd < 0)
            break;
        /* Only this thread removes chunks, so ch stays valid without the lock. */
        ssize_t n = send(c->fd, ch->data + off, ch->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            sb_ws_close(c, 0);
            return;
        }
        pthread_mutex_lock(&c->lock);
        c->progress_us = sb_now_us();
        c->out_sent += (size_t)n;
        c->out_bytes -= (size_t)n;
        atomic_fetch_sub(&sb_ws.total_bytes, (size_t)n);
        if (c->out_sent == ch->len) {
            c->out_head = ch->next;
            if (!c->out_head)
                c->out_tail = NULL;
            c->out_sent = 0;
            sb_free(ch);
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&c->lock);
    size_t left = c->out_bytes;
    pthread_mutex_unlock(&c->lock);
    size_t max = sb_ws.cfg->ws_max_queued_bytes;
    if (!c->paused && left >= max / 2) {
        c->paused = true;
    } else if (c->paused && left <= max / 4) {
        c->paused = false;
        if (c->pending) { /* what was left unparsed will not raise an event of its own */
            pthread_mutex_lock(&c->lock);
            sb_ws_schedule(c);
            pthread_mutex_unlock(&c->lock);
        }
    }
    sb_ws_set_events(c, (c->paused ? 0 : EPOLLIN | EPOLLRDHUP) | (left ? EPOLLOUT : 0));
}

/* A whole message arrived: run it through the API, queue the reply, try to send it. */
static void sb_ws_on_message(void *ctx, bool binary, const uint8_t *data, size_t len,
                             bool too_large)
{
    (void)binary;
    sb_ws_conn_t *c = ctx;
    if (c->fd < 0)
        return; /* closed while the rest of what it sent was being parsed */
    json_t *reply;
    if (too_large) {
        reply = sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC,
                             "Message larger than %zu bytes", sb_ws.cfg->max_body_size);
    } else {
        json_error_t jerr;
        json_t *msg =
            len ? json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
        if (!msg) {
            reply = sb_api_reject_body((const char *)data, len, len ? jerr.text : NULL);
        } else {
            sb_api_request_t req = {.message = msg, .sink = &c->sink};
            reply = sb_api_handle(&req);
            json_decref(msg);
        }
    }
    sb_ws_deliver(&c->sink, reply);
    json_decref(reply);
    sb_ws_flush(c);
}

static void sb_ws_on_ping(void *ctx, const uint8_t *data, size_t len)
{
    sb_ws_enqueue(ctx, SB_WS_OP_PONG, data, len); /* §5.5.3 */
}

static void sb_ws_on_close(void *ctx, uint16_t code)
{
    sb_ws_conn_t *c = ctx;
    sb_ws_flush(c);
    sb_ws_close(c, code == SB_WS_CLOSE_NO_STATUS ? SB_WS_CLOSE_NORMAL : code); /* §5.5.1 */
}

static const sb_ws_parser_ops_t sb_ws_parser_ops = {
    .on_message = sb_ws_on_message,
    .on_ping = sb_ws_on_ping,
    .on_close = sb_ws_on_close,
};

/* Feeds received bytes; a protocol violation closes the connection with its code. */
static void sb_ws_parse_in(sb_ws_conn_t *c, const uint8_t *data, size_t len)
{
    uint16_t code = sb_ws_parse(&c->parser, data, len, &sb_ws_parser_ops, c);
    if (code) {
        SB_DEBUG("ws", "closing a connection: protocol violation (%u)", code);
        sb_ws_close(c, code);
    }
}

/* Parses in slices while the connection is read; what is left once it pauses (its unsent
 * replies reached half its budget) is kept for later. */
static void sb_ws_feed(sb_ws_conn_t *c, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && c->fd >= 0 && !c->paused) {
        size_t n = len - off < SB_WS_FEED_SLICE ? len - off : SB_WS_FEED_SLICE;
        sb_ws_parse_in(c, data + off, n);
        off += n;
    }
    if (off < len && c->fd >= 0) {
        c->pending = sb_malloc(len - off);
        memcpy(c->pending, data + off, len - off);
        c->pending_len = len - off;
    }
}

/* Input left from before, then the socket's, while the connection is not paused. */
static void sb_ws_read(sb_ws_conn_t *c)
{
    if (c->pending) {
        uint8_t *p = c->pending;
        size_t n = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        sb_ws_feed(c, p, n);
        sb_free(p);
    }
    uint8_t buf[SB_WS_READ_CHUNK];
    for (int i = 0; i < SB_WS_READS_PER_WAKE && c->fd >= 0 && !c->paused; i++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            sb_ws_feed(c, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        sb_ws_close(c, 0); /* end of stream or error */
        return;
    }
    if (c->fd >= 0)
        sb_ws_flush(c);
}

/* A connection with news from another thread: new, output queued, or over budget. */
static void sb_ws_ready(sb_ws_conn_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->scheduled = false;
    bool overflow = c->overflow, open = c->open;
    pthread_mutex_unlock(&c->lock);
    if (!open)
        return;
    if (overflow) {
        SB_WARN("ws", "closing a connection that does not read: over its queue budget");
        sb_ws_close(c, SB_WS_CLOSE_POLICY);
        return;
    }
    if (!c->registered) { /* just upgraded: list it */
        c->next = sb_ws.conns;
        if (c->next)
            c->next->prev = c;
        sb_ws.conns = c;
    }
    sb_ws_read(c); /* input left over (MHD's, or from a pause), replies queued meanwhile */
}

static void sb_ws_take_ready(void)
{
    uint64_t v;
    ssize_t n = read(sb_ws.evfd, &v, sizeof(v));
    (void)n;
    pthread_mutex_lock(&sb_ws.ready_lock);
    sb_ws_conn_t *list = sb_ws.ready;
    sb_ws.ready = NULL;
    pthread_mutex_unlock(&sb_ws.ready_lock);
    while (list) {
        sb_ws_conn_t *c = list;
        list = c->ready_next;
        sb_ws_ready(c);
        sb_event_sink_unref(&c->sink); /* the ready list's */
    }
}

/* Closes connections whose unsent bytes have not moved for the stall timeout: a client
 * that stopped reading would otherwise hold its budget forever. */
static void sb_ws_close_stalled(int64_t now)
{
    int64_t limit = (int64_t)sb_ws.cfg->ws_stall_timeout_s * 1000000;
    if (!limit)
        return; /* 0: off */
    for (sb_ws_conn_t *c = sb_ws.conns, *next; c; c = next) {
        next = c->next;
        pthread_mutex_lock(&c->lock);
        bool stalled = c->out_bytes > 0 && now - c->progress_us > limit;
        pthread_mutex_unlock(&c->lock);
        if (stalled) {
            atomic_fetch_add(&sb_ws.overflows, 1);
            SB_WARN("ws", "closing a connection that has not read for %u s",
                    sb_ws.cfg->ws_stall_timeout_s);
            sb_ws_close(c, SB_WS_CLOSE_POLICY);
        }
    }
}

static void *sb_ws_service(void *arg)
{
    (void)arg;
    struct epoll_event evs[64];
    int64_t next_check = sb_now_us();
    while (!atomic_load(&sb_ws.stopping)) {
        int n = epoll_wait(sb_ws.epfd, evs, 64, SB_WS_CHECK_MS);
        int64_t now = sb_now_us();
        if (now >= next_check) {
            next_check = now + SB_WS_CHECK_MS * 1000;
            sb_ws_close_stalled(now);
        }
        for (int i = 0; i < n; i++) {
            sb_ws_conn_t *c = evs[i].data.ptr;
            if (!c) {
                sb_ws_take_ready();
                continue;
            }
            if (c->fd < 0)
                continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                sb_ws_close(c, 0);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
                sb_ws_read(c);
            if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
                sb_ws_flush(c);
        }
        sb_ws_release_closed();
    }
    return NULL;
}

/* ---- the handshake (MHD's thread) ---- */

static void sb_ws_upgraded(void *cls, struct MHD_Connection *connection, void *con_cls,
                           const char *extra_in, size_t extra_in_size, MHD_socket sock,
                           struct MHD_UpgradeResponseHandle *urh)
{
    (void)cls;
    (void)connection;
    (void)con_cls;
    int fl = fcntl(sock, F_GETFL);
    if (fl >= 0)
        fcntl(sock, F_SETFL, fl | O_NONBLOCK);
    int sndbuf = SB_WS_SNDBUF;
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    sb_ws_conn_t *c = SB_NEW(sb_ws_conn_t);
    sb_refcount_init(&c->sink.ref); /* the service thread's */
    c->sink.deliver = sb_ws_deliver;
    c->sink.release = sb_ws_release;
    pthread_mutex_init(&c->lock, NULL);
    c->open = true;
    c->fd = sock;
    c->urh = urh;
    sb_ws_parser_init(&c->parser, sb_ws.cfg->max_body_size);
    if (extra_in_size) {
        c->pending = sb_malloc(extra_in_size);
        memcpy(c->pending, extra_in, extra_in_size);
        c->pending_len = extra_in_size;
    }
    pthread_mutex_lock(&c->lock);
    sb_ws_schedule(c);
    pthread_mutex_unlock(&c->lock);
}

static enum MHD_Result sb_ws_refuse(struct MHD_Connection *conn, unsigned status,
                                    const char *reason)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(reason), (void *)reason, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    if (status == MHD_HTTP_UPGRADE_REQUIRED) {
        MHD_add_response_header(resp, "Upgrade", "websocket");
        MHD_add_response_header(resp, "Sec-WebSocket-Version", "13");
    }
    enum MHD_Result r = sb_http_queue(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result sb_ws_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)cls;
    (void)url;
    (void)upload_data;
    if (!*con_cls) { /* headers only; answer once the (empty) body is in */
        *con_cls = (void *)1;
        sb_tls_request_started(conn); /* past the TLS handshake */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&sb_ws.stopping))
        return sb_ws_refuse(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "Shutting down");
#define SB_WS_HDR(name) MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name)
    sb_ws_request_hdrs_t req = {
        .method = method,
        .version = version,
        .host = SB_WS_HDR("Host"),
        .upgrade = SB_WS_HDR("Upgrade"),
        .connection = SB_WS_HDR("Connection"),
        .key = SB_WS_HDR("Sec-WebSocket-Key"),
        .ws_version = SB_WS_HDR("Sec-WebSocket-Version"),
        .protocols = SB_WS_HDR("Sec-WebSocket-Protocol"),
    };
#undef SB_WS_HDR
    sb_ws_handshake_t hs;
    sb_ws_handshake_check(&req, &hs);
    if (hs.status != MHD_HTTP_SWITCHING_PROTOCOLS)
        return sb_ws_refuse(conn, hs.status, hs.reason);
    struct MHD_Response *resp = MHD_create_response_for_upgrade(sb_ws_upgraded, NULL);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", hs.accept);
    if (hs.protocol)
        MHD_add_response_header(resp, "Sec-WebSocket-Protocol", hs.protocol);
    enum MHD_Result r = sb_http_queue(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    return r;
}

static void sb_ws_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    SB_DEBUG("ws", "microhttpd: %s", line);
}

/* ---- the transport ---- */

static bool sb_ws_tls_wanted(const sb_config_t *cfg)
{
    return cfg->wss_port && cfg->tls_cert && *cfg->tls_cert;
}

static int sb_ws_enabled(const sb_config_t *cfg)
{
    return cfg->ws_enabled || sb_ws_tls_wanted(cfg);
}

/* One listener, ws:// or wss://. With TLS, MHD keeps the encryption after the upgrade and
 * hands us the plain end of a socket pair: the service thread sees no difference. */
static struct MHD_Daemon *sb_ws_listen(const sb_config_t *cfg, const char *bind, unsigned port,
                                       bool tls)
{
    const char *what = tls ? "WSS" : "WebSocket";
    struct sockaddr_storage addr;
    if (sb_api_listen_addr(bind, port, &addr) < 0) {
        SB_ERROR("ws", "invalid %s bind address '%s'", what, bind);
        return NULL;
    }
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    static const struct MHD_OptionItem no_tls[] = {{MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, sb_ws_access, NULL, MHD_OPTION_EXTERNAL_LOGGER,
        sb_ws_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, cfg->ws_max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)SB_WS_HTTP_TIMEOUT_S, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_ARRAY, tls ? sb_tls_mhd_options(SB_TLS_WSS) : no_tls, MHD_OPTION_END);
    if (!d) {
        SB_ERROR("ws", "cannot listen for %s on port %u", what, port);
        return NULL;
    }
    SB_INFO("ws", "%s API on port %u (janus-protocol)", what, port);
    return d;
}

static int sb_ws_start(const sb_config_t *cfg)
{
    sb_ws.cfg = cfg;
    atomic_store(&sb_ws.stopping, false);
    sb_ws.epfd = epoll_create1(EPOLL_CLOEXEC);
    sb_ws.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (sb_ws.epfd < 0 || sb_ws.evfd < 0 ||
        epoll_ctl(sb_ws.epfd, EPOLL_CTL_ADD, sb_ws.evfd, &ev) != 0 ||
        pthread_create(&sb_ws.thread, NULL, sb_ws_service, NULL) != 0) {
        SB_ERROR("ws", "cannot start the WebSocket service thread: %s", strerror(errno));
        return SB_EIO;
    }
    if (cfg->ws_enabled && !(sb_ws.daemon = sb_ws_listen(cfg, cfg->ws_bind, cfg->ws_port, false)))
        return SB_EIO;
    if (sb_ws_tls_wanted(cfg) &&
        !(sb_ws.tls_daemon = sb_ws_listen(cfg, cfg->wss_bind, cfg->wss_port, true)))
        return SB_EIO;
    return 0;
}
static void sb_ws_tick(int64_t now_us)
{
    (void)now_us;
}

static void sb_ws_stop(void)
{
    if (sb_ws.daemon) /* no new connections */
        MHD_quiesce_daemon(sb_ws.daemon);
    if (sb_ws.tls_daemon)
        MHD_quiesce_daemon(sb_ws.tls_daemon);
    if (sb_ws.epfd >= 0 && sb_ws.evfd >= 0) {
        atomic_store(&sb_ws.stopping, true); /* handshakes still in flight are refused */
        sb_ws_wake();
        pthread_join(sb_ws.thread, NULL);
        /* Now on this thread: take what is pending, then close every connection. */
        sb_ws_take_ready();
        while (sb_ws.conns)
            sb_ws_close(sb_ws.conns, SB_WS_CLOSE_GOING_AWAY);
        sb_ws_take_ready(); /* what was delivered meanwhile: closed now, only references */
        sb_ws_release_closed();
    }
    if (sb_ws.daemon) /* after every upgraded connection is closed */
        MHD_stop_daemon(sb_ws.daemon);
    if (sb_ws.tls_daemon)
        MHD_stop_daemon(sb_ws.tls_daemon);
    sb_ws.daemon = sb_ws.tls_daemon = NULL;
    if (sb_ws.evfd >= 0)
        close(sb_ws.evfd);
    if (sb_ws.epfd >= 0)
        close(sb_ws.epfd);
    sb_ws.evfd = sb_ws.epfd = -1;
    unsigned long long over = atomic_load(&sb_ws.overflows);
    if (over)
        SB_INFO("ws", "%llu connections were closed for not reading", over);
}

const sb_transport_t sb_transport_ws = {
    .name = "websocket",
    .enabled = sb_ws_enabled,
    .start = sb_ws_start,
    .tick = sb_ws_tick,
    .stop = sb_ws_stop,
};
