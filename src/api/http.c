/* HTTP transport on libmicrohttpd: the Janus REST endpoints, long-polls parked with
 * suspend/resume (no thread per poll), CORS, bounded bodies, and the web app's static
 * files (http_static.c). MHD runs one internal epoll thread; the API calls made from it
 * never block. Does not know sessions beyond the waiter/event interface of session.h. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "api/http_static.h"
#include "api/http_util.h"
#include "api/ice_servers.h"
#include "api/listen_addr.h"
#include "api/request.h"
#include "api/tls.h"
#include "api/transport.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "session/session.h"

#define SB_HTTP_MAXEV_LIMIT 100
#define SB_HTTP_IDLE_TIMEOUT_S 120 /* a kept-alive connection that sends nothing */

typedef enum { SB_POLL_NONE, SB_POLL_PARKED, SB_POLL_WOKEN, SB_POLL_EXPIRED } sb_poll_state_t;

/* Per-request state (MHD's con_cls). Owned by MHD's connection; MHD thread, except the
 * poll fields, which the waking thread touches under sb_http.polls_lock. */
typedef struct sb_http_req {
    struct MHD_Connection *conn;
    sb_http_body_t body;
    bool rejected;  /* a response was already queued (body too large) */
    bool too_large; /* the body outgrew the limit mid-upload: 413 once it is read */
    /* long-poll */
    sb_session_waiter_t waiter;
    sb_session_t *session; /* reference while polling */
    unsigned maxev;
    bool maxev_given;
    sb_poll_state_t poll_state;
    int64_t deadline_us;
    struct sb_http_req *prev, *next; /* in sb_http.polls while parked */
} sb_http_req_t;

static struct {
    struct MHD_Daemon *daemon;     /* plain HTTP, or NULL */
    struct MHD_Daemon *tls_daemon; /* HTTPS, or NULL */
    const sb_config_t *cfg;
    size_t base_len;
    pthread_mutex_t polls_lock; /* guards polls list, every poll_state and stopping */
    bool stopping;              /* set once by sb_http_stop: no poll parks after it */
    /* Parked polls, earliest deadline first. */
    sb_http_req_t *polls, *polls_tail;
} sb_http = {.polls_lock = PTHREAD_MUTEX_INITIALIZER};

/* Queue a reply; extra_header ("Name: value" split at the colon) may be NULL. */
static enum MHD_Result sb_http_send_with(struct MHD_Connection *conn, unsigned status,
                                         const char *type, char *text, size_t len,
                                         const char *extra_name, const char *extra_value)
{
    return sb_http_reply(conn, status, type, text, len, extra_name, extra_value,
                         sb_http.cfg->cors_origin);
}

/* Send a JSON reply (reference stolen), with one extra header when extra_name is set. */
static enum MHD_Result sb_http_send_json_with(struct MHD_Connection *conn, unsigned status,
                                              json_t *j, const char *extra_name,
                                              const char *extra_value)
{
    return sb_http_reply_json(conn, status, j, extra_name, extra_value, sb_http.cfg->cors_origin);
}

static enum MHD_Result sb_http_send_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    return sb_http_send_json_with(conn, status, j, NULL, NULL);
}

static enum MHD_Result sb_http_api_post(struct MHD_Connection *conn, sb_http_req_t *r, uint64_t sid,
                                        uint64_t hid)
{
    json_error_t jerr;
    const sb_http_body_t *b = &r->body;
    json_t *msg = b->len ? json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!msg)
        return sb_http_send_json(conn, MHD_HTTP_OK,
                                 sb_api_reject_body(b->data, b->len, b->len ? jerr.text : NULL));
    sb_api_request_t req = {
        .message = msg, .ids_from_path = true, .session_id = sid, .handle_id = hid};
    json_t *reply = sb_api_handle(&req);
    json_decref(msg);
    return sb_http_send_json(conn, MHD_HTTP_OK, reply);
}

/* Whether the request carries the API secret (?apisecret=) or a token (?token=), if the
 * API asks for one. */
static bool sb_http_secret_ok(struct MHD_Connection *conn)
{
    return sb_api_secret_ok(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "apisecret"),
                            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token"));
}

/* ---- long-poll ---- */

static void sb_http_poll_unlist(sb_http_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (sb_http.polls == r)
        sb_http.polls = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else if (sb_http.polls_tail == r)
        sb_http.polls_tail = r->prev;
    r->prev = r->next = NULL;
}

/* In deadline order: after the last one due no later (almost always the tail: a deadline is
 * the park time plus the configured timeout). */
static void sb_http_poll_insert(sb_http_req_t *r)
{
    sb_http_req_t *before = sb_http.polls_tail;
    while (before && before->deadline_us > r->deadline_us)
        before = before->prev;
    r->prev = before;
    r->next = before ? before->next : sb_http.polls;
    if (r->next)
        r->next->prev = r;
    else
        sb_http.polls_tail = r;
    if (before)
        before->next = r;
    else
        sb_http.polls = r;
}

/* Lock order: sb_http.polls_lock, then a session's lock. on_linked runs under the session
 * lock, so it only suspends; listing the poll for its deadline happens after. */
static void sb_http_poll_on_linked(sb_session_waiter_t *w)
{
    sb_http_req_t *r = (sb_http_req_t *)((char *)w - offsetof(sb_http_req_t, waiter));
    MHD_suspend_connection(r->conn);
}

/* A poll that parks after sb_http_stop answered the parked ones (a client's next poll on a
 * kept-alive connection) is answered at once: MHD cannot stop with a suspended connection. */
static void sb_http_poll_list(sb_http_req_t *r)
{
    pthread_mutex_lock(&sb_http.polls_lock);
    if (r->poll_state == SB_POLL_NONE && sb_http.stopping) {
        if (sb_session_unwait(r->session, &r->waiter)) {
            r->poll_state = SB_POLL_EXPIRED;
            MHD_resume_connection(r->conn);
        }
    } else if (r->poll_state == SB_POLL_NONE) { /* not woken in the meantime */
        r->poll_state = SB_POLL_PARKED;
        sb_http_poll_insert(r);
    }
    pthread_mutex_unlock(&sb_http.polls_lock);
}

/* An event arrived (or the session went): resume the parked connection. Any thread. */
static void sb_http_poll_wake(sb_session_waiter_t *w)
{
    sb_http_req_t *r = (sb_http_req_t *)((char *)w - offsetof(sb_http_req_t, waiter));
    pthread_mutex_lock(&sb_http.polls_lock);
    if (r->poll_state == SB_POLL_PARKED)
        sb_http_poll_unlist(r);
    r->poll_state = SB_POLL_WOKEN;
    pthread_mutex_unlock(&sb_http.polls_lock);
    MHD_resume_connection(r->conn);
}

/* A poll of a session that does not exist (or no longer does) is HTTP 404, as the
 * reference answers it: janus.js counts that as a failed poll and, after a few, reports
 * the server lost instead of polling a dead session for ever (a 200 with an error is an
 * event to it, and it polls again at once). The body says 458 for clients that read it
 * (the reference sends none). */
static enum MHD_Result sb_http_poll_gone(struct MHD_Connection *conn, uint64_t sid)
{
    return sb_http_send_json(conn, MHD_HTTP_NOT_FOUND,
                             sb_api_error(sid, NULL, SB_API_ERR_SESSION_NOT_FOUND,
                                          "No such session %llu", (unsigned long long)sid));
}

static enum MHD_Result sb_http_poll_reply(struct MHD_Connection *conn, sb_http_req_t *r)
{
    json_t *events = sb_session_take_events(r->session, r->maxev);
    if (!events) {
        if (sb_session_is_destroyed(r->session))
            return sb_http_poll_gone(conn, sb_session_id(r->session));
        return sb_http_send_json(conn, MHD_HTTP_OK, json_pack("{s:s}", "janus", "keepalive"));
    }
    if (!r->maxev_given || r->maxev == 1) {
        json_t *one = json_incref(json_array_get(events, 0));
        json_decref(events);
        return sb_http_send_json(conn, MHD_HTTP_OK, one);
    }
    return sb_http_send_json(conn, MHD_HTTP_OK, events);
}

static enum MHD_Result sb_http_poll(struct MHD_Connection *conn, sb_http_req_t *r, uint64_t sid)
{
    if (r->poll_state == SB_POLL_WOKEN || r->poll_state == SB_POLL_EXPIRED) {
        sb_session_touch(r->session);
        return sb_http_poll_reply(conn, r);
    }
    /* Credentials first, as the reference: a refusal is HTTP 403 with no body, whether the
     * session exists or not. */
    if (!sb_http_secret_ok(conn))
        return sb_http_send_with(conn, MHD_HTTP_FORBIDDEN, "text/plain", strdup(""), 0, NULL,
                                 NULL);
    r->session = sb_session_find(sid);
    if (!r->session)
        return sb_http_poll_gone(conn, sid);
    const char *maxev = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "maxev");
    r->maxev = 1;
    if (maxev) {
        long v = strtol(maxev, NULL, 10);
        r->maxev_given = true;
        r->maxev = v < 1 ? 1 : v > SB_HTTP_MAXEV_LIMIT ? SB_HTTP_MAXEV_LIMIT : (unsigned)v;
    }
    sb_session_touch(r->session);
    r->waiter.wake = sb_http_poll_wake;
    r->waiter.on_linked = sb_http_poll_on_linked;
    r->deadline_us = sb_now_us() + (int64_t)sb_http.cfg->longpoll_timeout_s * 1000000;
    if (sb_session_wait(r->session, &r->waiter, sb_http.cfg->max_polls_per_session)) {
        sb_http_poll_list(r);
        return MHD_YES; /* parked: the reply comes after resume */
    }
    return sb_http_poll_reply(conn, r);
}

/* Main thread: answer polls that waited longer than the long-poll timeout (the list's
 * first ones: the walk ends at the first not due). */
static void sb_http_tick(int64_t now_us)
{
    pthread_mutex_lock(&sb_http.polls_lock);
    sb_http_req_t *r = sb_http.polls;
    while (r && r->deadline_us <= now_us) {
        sb_http_req_t *next = r->next;
        if (r->poll_state == SB_POLL_PARKED && sb_session_unwait(r->session, &r->waiter)) {
            sb_http_poll_unlist(r);
            r->poll_state = SB_POLL_EXPIRED;
            MHD_resume_connection(r->conn);
        }
        r = next;
    }
    pthread_mutex_unlock(&sb_http.polls_lock);
}

/* ---- ICE servers for browsers (api/ice_servers.h) ---- */

static enum MHD_Result sb_http_ice_servers(struct MHD_Connection *conn)
{
    if (!sb_http_secret_ok(conn))
        return sb_http_send_json(conn, MHD_HTTP_FORBIDDEN,
                                 sb_api_error(0, NULL, SB_API_ERR_UNAUTHORIZED, NULL));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned retry_after = 0;
    if (!sb_ice_servers_allow(ci ? ci->client_addr : NULL, &retry_after)) {
        char value[16];
        snprintf(value, sizeof(value), "%u", retry_after);
        return sb_http_send_json_with(conn, MHD_HTTP_TOO_MANY_REQUESTS,
                                      sb_api_error(0, NULL, SB_API_ERR_TOO_MANY_REQUESTS,
                                                   "Too many requests: retry in %u s", retry_after),
                                      "Retry-After", value);
    }
    const char *user = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "user");
    return sb_http_send_json(conn, MHD_HTTP_OK,
                             sb_ice_servers_build(sb_http.cfg, time(NULL), user));
}

/* ---- dispatch ---- */

static enum MHD_Result sb_http_too_large(struct MHD_Connection *conn, sb_http_req_t *r)
{
    r->rejected = true;
    return sb_http_send_json(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                             sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC,
                                          "Request body larger than %zu bytes",
                                          sb_http.cfg->max_body_size));
}

/* A GET of a handle's path is sent to its session's long-poll, as the reference does. */
static enum MHD_Result sb_http_to_session(struct MHD_Connection *conn, uint64_t sid)
{
    char *location = sb_malloc(sb_http.base_len + 24);
    snprintf(location, sb_http.base_len + 24, "%.*s/%llu", (int)sb_http.base_len,
             sb_http.cfg->base_path, (unsigned long long)sid);
    enum MHD_Result r = sb_http_send_with(conn, MHD_HTTP_FOUND, "text/plain", strdup(""), 0,
                                          "Location", location);
    sb_free(location);
    return r;
}

static enum MHD_Result sb_http_route(struct MHD_Connection *conn, sb_http_req_t *r, const char *url,
                                     const char *method)
{
    const char *base = sb_http.cfg->base_path;
    bool in_api = !strncmp(url, base, sb_http.base_len) &&
                  (url[sb_http.base_len] == '\0' || url[sb_http.base_len] == '/');
    if (!in_api) {
        if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD))
            return sb_http_static_serve(conn, sb_http.cfg->html_folder, url);
        return sb_http_send_json(
            conn, MHD_HTTP_NOT_FOUND,
            sb_api_error(0, NULL, SB_API_ERR_INVALID_REQUEST_PATH, "Invalid path %.100s", url));
    }
    const char *rest = url + sb_http.base_len;
    bool is_get = !strcmp(method, MHD_HTTP_METHOD_GET);
    if (is_get && !strcmp(rest, "/info"))
        return sb_http_send_json(conn, MHD_HTTP_OK, sb_api_server_info(NULL));
    if (is_get && !strcmp(rest, "/ice-servers"))
        return sb_http_ice_servers(conn);
    uint64_t sid, hid;
    if (!sb_http_parse_ids(rest, &sid, &hid))
        return sb_http_send_json(
            conn, MHD_HTTP_NOT_FOUND,
            sb_api_error(0, NULL, SB_API_ERR_INVALID_REQUEST_PATH, "Invalid path %.100s", url));
    if (!strcmp(method, MHD_HTTP_METHOD_POST))
        return sb_http_api_post(conn, r, sid, hid);
    if (is_get && sid && !hid)
        return sb_http_poll(conn, r, sid);
    if (is_get && hid)
        return sb_http_to_session(conn, sid);
    return sb_http_send_json(
        conn, MHD_HTTP_METHOD_NOT_ALLOWED,
        sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC, "Method %s not allowed here", method));
}

static enum MHD_Result sb_http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)cls;
    (void)version;
    sb_http_req_t *r = *con_cls;
    if (!r) {
        r = SB_NEW(sb_http_req_t);
        r->conn = conn;
        *con_cls = r;
        sb_tls_request_started(conn); /* past the TLS handshake */
        if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS))
            return sb_http_reply_preflight(conn, sb_http.cfg->cors_origin);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > sb_http.cfg->max_body_size)
            return sb_http_too_large(conn, r);
        return MHD_YES;
    }
    if (r->rejected) {
        *upload_data_size = 0; /* discard the rest of an oversized body */
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* MHD takes no response while a body is being received: past the limit, drop
         * what we have, discard the rest, and answer 413 once the request is complete. */
        if (!r->too_large && !sb_http_body_append(&r->body, upload_data, *upload_data_size,
                                                  sb_http.cfg->max_body_size)) {
            r->too_large = true;
            sb_http_body_free(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large)
        return sb_http_too_large(conn, r);
    return sb_http_route(conn, r, url, method);
}

static void sb_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    sb_http_req_t *r = *con_cls;
    if (!r)
        return;
    if (r->session) {
        pthread_mutex_lock(&sb_http.polls_lock);
        if (r->poll_state == SB_POLL_PARKED && sb_session_unwait(r->session, &r->waiter))
            sb_http_poll_unlist(r);
        pthread_mutex_unlock(&sb_http.polls_lock);
        sb_session_unref(r->session);
    }
    sb_http_body_free(&r->body);
    sb_free(r);
    *con_cls = NULL;
}

static void sb_http_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    SB_DEBUG("http", "microhttpd: %s", line);
}

static bool sb_http_tls_wanted(const sb_config_t *cfg)
{
    return cfg->https_port && cfg->tls_cert && *cfg->tls_cert;
}

static int sb_http_enabled(const sb_config_t *cfg)
{
    return cfg->http_enabled || sb_http_tls_wanted(cfg);
}

/* One listener: plain HTTP, or HTTPS with the certificate of tls.c. Both share every
 * handler; a long-poll parked on either is resumed the same way. */
static struct MHD_Daemon *sb_http_listen(const sb_config_t *cfg, const char *bind, unsigned port,
                                         bool tls)
{
    const char *what = tls ? "HTTPS" : "HTTP";
    struct sockaddr_storage addr;
    if (sb_api_listen_addr(bind, port, &addr) < 0) {
        SB_ERROR("http", "invalid %s bind address '%s'", what, bind);
        return NULL;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    static const struct MHD_OptionItem no_tls[] = {{MHD_OPTION_END, 0, NULL}};
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, sb_http_access, NULL, MHD_OPTION_EXTERNAL_LOGGER,
        sb_http_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, sb_http_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        cfg->http_max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SB_HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_ARRAY,
        tls ? sb_tls_mhd_options(SB_TLS_HTTPS) : no_tls, MHD_OPTION_END);
    if (!d) {
        SB_ERROR("http", "cannot listen for %s on port %u (in use, or no permission?)", what, port);
        return NULL;
    }
    SB_INFO("http", "%s API on port %u at %s", what, port, cfg->base_path);
    return d;
}

static int sb_http_start(const sb_config_t *cfg)
{
    sb_http.cfg = cfg;
    sb_http.stopping = false;
    sb_ice_servers_init(cfg);
    sb_http.base_len = strlen(cfg->base_path);
    while (sb_http.base_len > 1 && cfg->base_path[sb_http.base_len - 1] == '/')
        sb_http.base_len--;
    if (cfg->http_enabled &&
        !(sb_http.daemon = sb_http_listen(cfg, cfg->http_bind, cfg->http_port, false)))
        return SB_EIO;
    if (sb_http_tls_wanted(cfg) &&
        !(sb_http.tls_daemon = sb_http_listen(cfg, cfg->https_bind, cfg->https_port, true)))
        return SB_EIO;
    return 0;
}

static void sb_http_stop(void)
{
    if (!sb_http.daemon && !sb_http.tls_daemon)
        return;
    /* MHD cannot stop with suspended connections: answer every parked poll first, and every
     * poll that parks from now on (sb_http_poll_list). */
    pthread_mutex_lock(&sb_http.polls_lock);
    sb_http.stopping = true;
    pthread_mutex_unlock(&sb_http.polls_lock);
    sb_http_tick(INT64_MAX);
    if (sb_http.daemon)
        MHD_stop_daemon(sb_http.daemon);
    if (sb_http.tls_daemon)
        MHD_stop_daemon(sb_http.tls_daemon);
    sb_http.daemon = sb_http.tls_daemon = NULL;
    sb_ice_servers_deinit();
}

/* Test hook, for tests/fuzz/fuzz_http.c only: the fuzzer hands MHD one end of a socketpair as
 * if accepted from 127.0.0.1, so its bytes take the real request path (MHD's parser, then
 * sb_http_access) without a TCP port or a connection per input left in TIME_WAIT. */
int sb_http_add_connection(int fd)
{
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (!sb_http.daemon)
        return SB_ESTATE;
    return MHD_add_connection(sb_http.daemon, fd, (const struct sockaddr *)&from, sizeof(from)) ==
                   MHD_YES
               ? 0
               : SB_EIO;
}

const sb_transport_t sb_transport_http = {
    .name = "http",
    .enabled = sb_http_enabled,
    .start = sb_http_start,
    .tick = sb_http_tick,
    .stop = sb_http_stop,
};
