/* The admin listener, on a port of its own (default 127.0.0.1:7088): the Admin API at
 * admin.base_path (POST, ids in the path as the Janus API's), and for load balancers and
 * Prometheus GET /metrics, /health (200 while the process runs) and /ready (200 while new
 * sessions are accepted, 503 while draining). One MHD thread; no request blocks it. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin.h"
#include "api/errors.h"
#include "api/http_util.h"
#include "api/listen_addr.h"
#include "api/metrics.h"
#include "api/request.h"
#include "api/transport.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "base/prom_text.h"
#include "session/session.h"

#define SB_ADMIN_MAX_BODY (64 << 10)
#define SB_ADMIN_MAX_CONNECTIONS 256
#define SB_ADMIN_IDLE_TIMEOUT_S 60

typedef struct sb_admin_req {
    sb_http_body_t body;
    bool too_large;
} sb_admin_req_t;

static struct {
    struct MHD_Daemon *daemon;
    const sb_config_t *cfg;
    size_t base_len;
} sb_admin_http;

static enum MHD_Result sb_admin_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    return sb_http_reply_json(conn, status, j, NULL, NULL, sb_admin_http.cfg->cors_origin);
}

static enum MHD_Result sb_admin_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                     char *text, size_t len)
{
    return sb_http_reply(conn, status, type, text, len, NULL, NULL, NULL);
}

static enum MHD_Result sb_admin_metrics(struct MHD_Connection *conn)
{
    sb_prom_t p;
    sb_prom_init(&p);
    sb_metrics_write(&p);
    size_t len;
    const char *text = sb_prom_text(&p, &len);
    char *copy = malloc(len + 1); /* MHD frees it with free() */
    if (copy)
        memcpy(copy, text, len + 1);
    sb_prom_deinit(&p);
    if (!copy)
        return MHD_NO;
    return sb_admin_text(conn, MHD_HTTP_OK, SB_PROM_CONTENT_TYPE, copy, len);
}

static enum MHD_Result sb_admin_probe(struct MHD_Connection *conn, bool ok, const char *what)
{
    char *text = strdup(what);
    return sb_admin_text(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", text,
                         strlen(text));
}

static enum MHD_Result sb_admin_post(struct MHD_Connection *conn, sb_admin_req_t *r, uint64_t sid,
                                     uint64_t hid)
{
    json_error_t jerr;
    const sb_http_body_t *b = &r->body;
    json_t *msg = b->len ? json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!msg)
        return sb_admin_json(conn, MHD_HTTP_OK,
                             sb_admin_reject_body(b->len, b->len ? jerr.text : NULL));
    json_t *reply = sb_admin_handle(msg, sid, hid);
    json_decref(msg);
    return sb_admin_json(conn, MHD_HTTP_OK, reply);
}

static enum MHD_Result sb_admin_route(struct MHD_Connection *conn, sb_admin_req_t *r,
                                      const char *url, const char *method)
{
    bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (get && !strcmp(url, "/metrics"))
        return sb_admin_metrics(conn);
    if (get && !strcmp(url, "/health"))
        return sb_admin_probe(conn, true, "ok\n");
    if (get && !strcmp(url, "/ready"))
        return sb_admin_probe(conn, sb_sessions_accepting(),
                              sb_sessions_accepting() ? "ready\n" : "draining\n");
    const char *base = sb_admin_http.cfg->admin_base_path;
    size_t bl = sb_admin_http.base_len;
    uint64_t sid = 0, hid = 0;
    bool in_base = !strncmp(url, base, bl) && (url[bl] == '\0' || url[bl] == '/');
    if (!in_base || (!get && !sb_http_parse_ids(url + bl, &sid, &hid)))
        return sb_admin_json(
            conn, MHD_HTTP_NOT_FOUND,
            sb_api_error(0, NULL, SB_API_ERR_INVALID_REQUEST_PATH, "Invalid path %.100s", url));
    /* The reference's answers: GET <base>/info is info; any other GET has no payload. */
    if (get && !strcmp(url + bl, "/info"))
        return sb_admin_json(conn, MHD_HTTP_OK, sb_api_server_info(NULL));
    if (get)
        return sb_admin_json(conn, MHD_HTTP_OK, sb_admin_reject_body(0, NULL));
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return sb_admin_json(conn, MHD_HTTP_OK,
                             sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC,
                                          "Unsupported method %.16s", method));
    return sb_admin_post(conn, r, sid, hid);
}

static enum MHD_Result sb_admin_access(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    (void)cls;
    (void)version;
    sb_admin_req_t *r = *con_cls;
    if (!r) {
        r = SB_NEW(sb_admin_req_t);
        *con_cls = r;
        if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS))
            return sb_http_reply_preflight(conn, sb_admin_http.cfg->cors_origin);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_large &&
            !sb_http_body_append(&r->body, upload_data, *upload_data_size, SB_ADMIN_MAX_BODY)) {
            r->too_large = true;
            sb_http_body_free(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large)
        return sb_admin_json(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                             sb_api_error(0, NULL, SB_API_ERR_TRANSPORT_SPECIFIC,
                                          "Request body larger than %d bytes", SB_ADMIN_MAX_BODY));
    return sb_admin_route(conn, r, url, method);
}

static void sb_admin_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    sb_admin_req_t *r = *con_cls;
    if (!r)
        return;
    sb_http_body_free(&r->body);
    sb_free(r);
    *con_cls = NULL;
}

static void sb_admin_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    SB_DEBUG("admin", "microhttpd: %s", line);
}

static int sb_admin_enabled(const sb_config_t *cfg)
{
    return cfg->admin_enabled;
}

static int sb_admin_start(const sb_config_t *cfg)
{
    sb_admin_http.cfg = cfg;
    sb_admin_http.base_len = strlen(cfg->admin_base_path);
    while (sb_admin_http.base_len > 1 && cfg->admin_base_path[sb_admin_http.base_len - 1] == '/')
        sb_admin_http.base_len--;
    sb_admin_init(&(sb_admin_config_t){.admin_secret = cfg->admin_secret});
    struct sockaddr_storage addr;
    if (sb_api_listen_addr(cfg->admin_bind, cfg->admin_port, &addr) < 0) {
        SB_ERROR("admin", "invalid admin bind address '%s'", cfg->admin_bind);
        return SB_EINVAL;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    sb_admin_http.daemon =
        MHD_start_daemon(flags, (uint16_t)cfg->admin_port, NULL, NULL, sb_admin_access, NULL,
                         MHD_OPTION_EXTERNAL_LOGGER, sb_admin_log, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, sb_admin_completed,
                         NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SB_ADMIN_MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SB_ADMIN_IDLE_TIMEOUT_S,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!sb_admin_http.daemon) {
        SB_ERROR("admin", "cannot listen on port %u (in use, or no permission?)", cfg->admin_port);
        return SB_EIO;
    }
    SB_INFO("admin", "Admin API on %s port %u at %s; /metrics, /health, /ready",
            cfg->admin_bind && *cfg->admin_bind ? cfg->admin_bind : "every address",
            cfg->admin_port, cfg->admin_base_path);
    /* On loopback (the default) only this machine reaches it; anywhere else, say it. */
    bool loopback = addr.ss_family == AF_INET
                        ? (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127
                        : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
    if ((!cfg->admin_secret || !*cfg->admin_secret) && !loopback)
        SB_WARN("admin", "no admin.secret and not on loopback: anyone who reaches port %u may "
                         "use the Admin API",
                cfg->admin_port);
    return 0;
}

static void sb_admin_tick(int64_t now_us)
{
    sb_metrics_tick(now_us);
}

static void sb_admin_stop(void)
{
    if (sb_admin_http.daemon)
        MHD_stop_daemon(sb_admin_http.daemon);
    sb_admin_http.daemon = NULL;
    sb_admin_deinit();
}

const sb_transport_t sb_transport_admin = {
    .name = "admin",
    .enabled = sb_admin_enabled,
    .start = sb_admin_start,
    .tick = sb_admin_tick,
    .stop = sb_admin_stop,
};
