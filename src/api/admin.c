/* The Admin API's requests (see admin.h). The order of the checks, the paths each request
 * is taken at and the error codes are the reference server's, as observed on Debian's janus
 * (docs/admin.md): transaction, then janus, then the secret (info and ping at the root need
 * none), then the session and handle the path names, then the request at that level. */
#include "api/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/errors.h"
#include "api/metrics.h"
#include "api/request.h"
#include "api/tokens.h"
#include "switchboard/alloc.h"
#include "base/log.h"
#include "base/secret.h"
#include "switchboard/time.h"
#include "loop/loop.h"
#include "session/handle.h"
#include "session/handle_media.h"
#include "session/session.h"
#include "plugin/loader.h"

typedef enum { SB_ADMIN_ROOT, SB_ADMIN_SESSION, SB_ADMIN_HANDLE } sb_admin_level_t;

typedef struct sb_admin_ctx {
    json_t *msg;
    const char *transaction;
    uint64_t session_id;   /* 0 at the root */
    sb_session_t *session; /* owned reference at session and handle level */
    sb_handle_t *handle;   /* owned reference at handle level */
} sb_admin_ctx_t;

typedef json_t *(*sb_admin_fn)(sb_admin_ctx_t *c);

static struct {
    char *secret;
    int janus_log_level; /* the reference's 0-7 scale, as last set (ours is coarser) */
} sb_admin;

/* Our level for the reference's 0 (none) .. 7 (debug), and back. */
static sb_log_level_t sb_admin_level_from_janus(int l)
{
    return l <= 2   ? SB_LOG_ERROR
           : l == 3 ? SB_LOG_WARN
           : l == 4 ? SB_LOG_INFO
           : l <= 6 ? SB_LOG_DEBUG
                    : SB_LOG_TRACE;
}

static int sb_admin_level_to_janus(int ours)
{
    static const int map[] = {2, 3, 4, 5, 7};
    return ours >= 0 && ours <= 4 ? map[ours] : 4;
}

/* The level as the reference's scale: the one set here, unless ours changed since (SIGHUP). */
static int sb_admin_janus_level(void)
{
    if ((int)sb_admin_level_from_janus(sb_admin.janus_log_level) != sb_log_max_level)
        sb_admin.janus_log_level = sb_admin_level_to_janus(sb_log_max_level);
    return sb_admin.janus_log_level;
}

void sb_admin_init(const sb_admin_config_t *cfg)
{
    sb_admin.secret = cfg->admin_secret && *cfg->admin_secret ? sb_strdup(cfg->admin_secret) : NULL;
    sb_admin.janus_log_level = sb_admin_level_to_janus(sb_log_max_level);
}

void sb_admin_deinit(void)
{
    sb_free(sb_admin.secret);
    memset(&sb_admin, 0, sizeof(sb_admin));
}

static json_t *sb_admin_reply(sb_admin_ctx_t *c, const char *type)
{
    json_t *r = json_pack("{s:s}", "janus", type);
    if (c->session_id)
        json_object_set_new(r, "session_id", json_integer((json_int_t)c->session_id));
    if (c->transaction)
        json_object_set_new(r, "transaction", json_string(c->transaction));
    return r;
}

static json_t *sb_admin_fail(sb_admin_ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *sb_admin_fail(sb_admin_ctx_t *c, int code, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return sb_api_error(c->session_id, c->transaction, code, "%s", reason);
}

json_t *sb_admin_reject_body(size_t len, const char *parse_error)
{
    if (len == 0)
        return sb_api_error(0, NULL, SB_API_ERR_INVALID_JSON, "Request payload missing");
    return sb_api_error(0, NULL, SB_API_ERR_INVALID_JSON, "JSON error: %s",
                        parse_error ? parse_error : "invalid JSON");
}

/* A mandatory element of a type: NULL when present and right, else the error reply. */
typedef enum {
    SB_ADMIN_T_UINT,
    SB_ADMIN_T_BOOL,
    SB_ADMIN_T_STRING,
    SB_ADMIN_T_OBJECT,
    SB_ADMIN_T_ARRAY
} sb_admin_type_t;

static json_t *sb_admin_need(sb_admin_ctx_t *c, const char *name, sb_admin_type_t type,
                             json_t **out)
{
    static const char *const texts[] = {"a positive integer", "a boolean", "a string", "an object",
                                        "an array"};
    json_t *v = json_object_get(c->msg, name);
    *out = v;
    if (!v)
        return sb_admin_fail(c, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                             "Missing mandatory element (%s)", name);
    bool ok = type == SB_ADMIN_T_UINT     ? json_is_integer(v) && json_integer_value(v) >= 0
              : type == SB_ADMIN_T_BOOL   ? json_is_boolean(v)
              : type == SB_ADMIN_T_STRING ? json_is_string(v)
              : type == SB_ADMIN_T_OBJECT ? json_is_object(v)
                                          : json_is_array(v);
    if (!ok)
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (%s should be %s)", name, texts[type]);
    return NULL;
}

/* ---- root ---- */

static json_t *sb_admin_info(sb_admin_ctx_t *c)
{
    return sb_api_server_info(c->transaction);
}

static json_t *sb_admin_ping(sb_admin_ctx_t *c)
{
    return sb_admin_reply(c, "pong");
}

static json_t *sb_admin_get_status(sb_admin_ctx_t *c)
{
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(
        r, "status",
        json_pack("{s:b, s:i, s:i, s:i, s:b, s:b}", "token_auth", sb_tokens_mode() != SB_TOKENS_OFF,
                  "session_timeout", (int)sb_sessions_timeout_s(), "reclaim_session_timeout", 0,
                  "log_level", sb_admin_janus_level(), "accepting_new_sessions",
                  sb_sessions_accepting(), "signed_tokens", sb_tokens_mode() == SB_TOKENS_SIGNED));
    return r;
}

/* ids (owned, freed here) as a JSON array. */
static json_t *sb_admin_ids_json(uint64_t *ids, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_integer((json_int_t)ids[i]));
    sb_free(ids);
    return list;
}

static json_t *sb_admin_list_sessions(sb_admin_ctx_t *c)
{
    size_t n;
    uint64_t *ids = sb_sessions_list(&n);
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "sessions", sb_admin_ids_json(ids, n));
    return r;
}

/* A setter of one integer parameter, answered with the value under the same name. */
static json_t *sb_admin_set_uint(sb_admin_ctx_t *c, const char *name, json_int_t max,
                                 const char *range, void (*apply)(unsigned v))
{
    json_t *v, *err = sb_admin_need(c, name, SB_ADMIN_T_UINT, &v);
    if (err)
        return err;
    json_int_t value = json_integer_value(v);
    if (value > max)
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (%s should be %s)", name, range);
    apply((unsigned)value);
    SB_INFO("admin", "%s set to %d", name, (int)value);
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, name, json_integer(value));
    return r;
}

static void sb_admin_apply_log_level(unsigned level)
{
    sb_admin.janus_log_level = (int)level;
    sb_log_set_level(sb_admin_level_from_janus((int)level));
}

static json_t *sb_admin_set_log_level(sb_admin_ctx_t *c)
{
    return sb_admin_set_uint(c, "level", 7, "between 0 and 7", sb_admin_apply_log_level);
}

static json_t *sb_admin_set_session_timeout(sb_admin_ctx_t *c)
{
    return sb_admin_set_uint(c, "timeout", 86400, "at most 86400", sb_sessions_set_timeout_s);
}

static json_t *sb_admin_accept_new_sessions(sb_admin_ctx_t *c)
{
    json_t *v, *err = sb_admin_need(c, "accept", SB_ADMIN_T_BOOL, &v);
    if (err)
        return err;
    sb_sessions_set_accepting(json_is_true(v));
    SB_INFO("admin", "%s new sessions", json_is_true(v) ? "accepting" : "refusing");
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "accept", json_boolean(json_is_true(v)));
    return r;
}

static json_t *sb_admin_message_plugin(sb_admin_ctx_t *c)
{
    json_t *name, *err = sb_admin_need(c, "plugin", SB_ADMIN_T_STRING, &name);
    if (err)
        return err;
    json_t *req = json_object_get(c->msg, "request");
    if (req && !json_is_object(req))
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (request should be an object)");
    const sb_plugin_t *p = sb_plugins_find(json_string_value(name));
    if (!p)
        return sb_admin_fail(c, SB_API_ERR_PLUGIN_NOT_FOUND, "Invalid plugin");
    if (!p->handle_admin_message)
        return sb_admin_fail(c, SB_API_ERR_PLUGIN_NOT_FOUND,
                             "Plugin doesn't support admin messages");
    json_t *empty = req ? NULL : json_object();
    json_t *response = p->handle_admin_message(req ? req : empty);
    json_decref(empty);
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "response", response ? response : json_object());
    return r;
}

static json_t *sb_admin_loops_info(sb_admin_ctx_t *c)
{
    json_t *loops = json_array();
    for (unsigned i = 0; i < sb_loops_count(); i++) {
        sb_loop_t *l = sb_loop_get(i);
        int64_t ns = sb_loop_cpu_ns(l);
        json_t *o =
            json_pack("{s:i, s:i, s:f}", "id", (int)i, "handles", (int)sb_loop_bound_count(l),
                      "cpu_seconds", ns >= 0 ? (double)ns / 1e9 : 0.0);
        double busy = sb_metrics_loop_busy(i);
        if (busy >= 0)
            json_object_set_new(o, "busy", json_real(busy));
        json_array_append_new(loops, o);
    }
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "loops", loops);
    return r;
}

/* ---- stored tokens ---- */

static json_t *sb_admin_stored_tokens_off(sb_admin_ctx_t *c)
{
    if (sb_tokens_mode() == SB_TOKENS_STORED)
        return NULL;
    return sb_admin_fail(c, SB_API_ERR_UNKNOWN, "Stored-Token based authentication disabled");
}

static json_t *sb_admin_plugins_reply(sb_admin_ctx_t *c, json_t *plugins)
{
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "data", json_pack("{s:o}", "plugins", plugins));
    return r;
}

static json_t *sb_admin_add_token(sb_admin_ctx_t *c)
{
    json_t *token, *err = sb_admin_stored_tokens_off(c);
    if (err || (err = sb_admin_need(c, "token", SB_ADMIN_T_STRING, &token)))
        return err;
    json_t *plugins = json_object_get(c->msg, "plugins");
    if (plugins && !json_is_array(plugins))
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (plugins should be an array)");
    json_t *now = sb_tokens_add(json_string_value(token), plugins);
    if (!now)
        return sb_admin_fail(c, SB_API_ERR_UNKNOWN, "Too many tokens");
    return sb_admin_plugins_reply(c, now);
}

static json_t *sb_admin_remove_token(sb_admin_ctx_t *c)
{
    json_t *token, *err = sb_admin_stored_tokens_off(c);
    if (err || (err = sb_admin_need(c, "token", SB_ADMIN_T_STRING, &token)))
        return err;
    if (!sb_tokens_remove(json_string_value(token)))
        return sb_admin_fail(c, SB_API_ERR_UNKNOWN, "Error removing token");
    return sb_admin_reply(c, "success");
}

static json_t *sb_admin_list_tokens(sb_admin_ctx_t *c)
{
    json_t *err = sb_admin_stored_tokens_off(c);
    if (err)
        return err;
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "data", json_pack("{s:o}", "tokens", sb_tokens_list()));
    return r;
}

/* allow_token and disallow_token: a known token and a non-empty list of loaded plugins. */
static json_t *sb_admin_change_token(sb_admin_ctx_t *c, bool allow)
{
    json_t *token, *err = sb_admin_stored_tokens_off(c);
    if (err || (err = sb_admin_need(c, "token", SB_ADMIN_T_STRING, &token)))
        return err;
    /* The reference's order: the list's shape, the token, then the names in the list. */
    const char *t = json_string_value(token);
    json_t *plugins = json_object_get(c->msg, "plugins");
    if (plugins && !json_is_array(plugins))
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (plugins should be an array)");
    if (!json_array_size(plugins))
        return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                             "Invalid element type (plugins should be a non-empty array)");
    if (!sb_tokens_valid(t, time(NULL))) /* the token named is the caller's own input */
        return sb_admin_fail(c, SB_API_ERR_TOKEN_NOT_FOUND, "Token %.64s not found", t);
    for (size_t i = 0; i < json_array_size(plugins); i++) {
        json_t *v = json_array_get(plugins, i);
        if (!json_is_string(v) || !sb_plugins_find(json_string_value(v)))
            return sb_admin_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                                 "Invalid element type (some of the provided plugins are "
                                 "invalid)");
    }
    json_t *now = allow ? sb_tokens_allow(t, plugins) : sb_tokens_disallow(t, plugins);
    if (!now) /* removed in the meantime */
        return sb_admin_fail(c, SB_API_ERR_TOKEN_NOT_FOUND, "Token %.64s not found", t);
    return sb_admin_plugins_reply(c, now);
}

static json_t *sb_admin_allow_token(sb_admin_ctx_t *c)
{
    return sb_admin_change_token(c, true);
}

static json_t *sb_admin_disallow_token(sb_admin_ctx_t *c)
{
    return sb_admin_change_token(c, false);
}

/* ---- session ---- */

static json_t *sb_admin_list_handles(sb_admin_ctx_t *c)
{
    size_t n;
    uint64_t *ids = sb_session_handle_ids(c->session, &n);
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "handles", sb_admin_ids_json(ids, n));
    return r;
}

static json_t *sb_admin_destroy_session(sb_admin_ctx_t *c)
{
    SB_INFO("admin", "destroying session %llu", (unsigned long long)c->session_id);
    sb_session_destroy(c->session);
    return sb_admin_reply(c, "success");
}

/* ---- handle ---- */

static json_t *sb_admin_handle_info(sb_admin_ctx_t *c)
{
    const sb_plugin_t *p = sb_handle_plugin(c->handle);
    uint64_t hid = sb_handle_id(c->handle);
    json_t *info = json_pack(
        "{s:I, s:I, s:i, s:I, s:b, s:I, s:s}", "session_id", (json_int_t)c->session_id,
        "session_last_activity", (json_int_t)sb_session_last_activity_us(c->session),
        "session_timeout", (int)sb_sessions_timeout_s(), "handle_id", (json_int_t)hid,
        "loop-running", true, "current_time", (json_int_t)sb_now_us(), "plugin", p->package);
    const char *opaque = sb_handle_opaque_id(c->handle);
    if (opaque)
        json_object_set_new(info, "opaque_id", json_string(opaque));
    json_t *specific = p->query_handle ? p->query_handle(sb_handle_plugin_handle(c->handle)) : NULL;
    json_object_set_new(info, "plugin_specific", specific ? specific : json_object());
    if (!json_is_true(json_object_get(c->msg, "plugin_only"))) {
        int loop = sb_handle_media_loop_index(c->handle);
        if (loop >= 0)
            json_object_set_new(info, "loop", json_integer(loop));
        json_t *webrtc = sb_handle_media_info(c->handle); /* NULL: no PeerConnection */
        if (webrtc)
            json_object_set_new(info, "webrtc", webrtc);
    }
    json_t *r = sb_admin_reply(c, "success");
    json_object_set_new(r, "handle_id", json_integer((json_int_t)hid));
    json_object_set_new(r, "info", info);
    return r;
}

static json_t *sb_admin_detach_handle(sb_admin_ctx_t *c)
{
    sb_handle_detach(c->handle, true);
    return sb_admin_reply(c, "success");
}

static json_t *sb_admin_hangup_webrtc(sb_admin_ctx_t *c)
{
    sb_handle_media_hangup(c->handle, "Admin API");
    return sb_admin_reply(c, "success");
}

static const struct {
    const char *verb;
    sb_admin_level_t level;
    sb_admin_fn fn;
} sb_admin_verbs[] = {
    {"info", SB_ADMIN_ROOT, sb_admin_info},
    {"ping", SB_ADMIN_ROOT, sb_admin_ping},
    {"get_status", SB_ADMIN_ROOT, sb_admin_get_status},
    {"list_sessions", SB_ADMIN_ROOT, sb_admin_list_sessions},
    {"set_log_level", SB_ADMIN_ROOT, sb_admin_set_log_level},
    {"set_session_timeout", SB_ADMIN_ROOT, sb_admin_set_session_timeout},
    {"accept_new_sessions", SB_ADMIN_ROOT, sb_admin_accept_new_sessions},
    {"message_plugin", SB_ADMIN_ROOT, sb_admin_message_plugin},
    {"loops_info", SB_ADMIN_ROOT, sb_admin_loops_info},
    {"add_token", SB_ADMIN_ROOT, sb_admin_add_token},
    {"remove_token", SB_ADMIN_ROOT, sb_admin_remove_token},
    {"list_tokens", SB_ADMIN_ROOT, sb_admin_list_tokens},
    {"allow_token", SB_ADMIN_ROOT, sb_admin_allow_token},
    {"disallow_token", SB_ADMIN_ROOT, sb_admin_disallow_token},
    {"list_handles", SB_ADMIN_SESSION, sb_admin_list_handles},
    {"destroy_session", SB_ADMIN_SESSION, sb_admin_destroy_session},
    {"handle_info", SB_ADMIN_HANDLE, sb_admin_handle_info},
    {"detach_handle", SB_ADMIN_HANDLE, sb_admin_detach_handle},
    {"hangup_webrtc", SB_ADMIN_HANDLE, sb_admin_hangup_webrtc},
};

static sb_admin_fn sb_admin_find(const char *verb, sb_admin_level_t level)
{
    for (size_t i = 0; i < sizeof(sb_admin_verbs) / sizeof(sb_admin_verbs[0]); i++)
        if (sb_admin_verbs[i].level == level && !strcmp(sb_admin_verbs[i].verb, verb))
            return sb_admin_verbs[i].fn;
    return NULL;
}

/* A positive integer id of the body, 0 when absent or not one (the reference then treats
 * the request as if the id were not there). */
static uint64_t sb_admin_body_id(json_t *msg, const char *name)
{
    json_t *v = json_object_get(msg, name);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static bool sb_admin_authorized(json_t *msg)
{
    if (!sb_admin.secret)
        return true;
    return sb_secret_equal(sb_admin.secret,
                           json_string_value(json_object_get(msg, "admin_secret")));
}

/* The request at its level, the session and handle found (references in c). */
static json_t *sb_admin_dispatch(sb_admin_ctx_t *c, const char *verb, uint64_t hid)
{
    sb_admin_level_t level = !c->session_id ? SB_ADMIN_ROOT
                             : !hid         ? SB_ADMIN_SESSION
                                            : SB_ADMIN_HANDLE;
    if (level != SB_ADMIN_ROOT) {
        c->session = sb_session_find(c->session_id);
        if (!c->session)
            return sb_admin_fail(c, SB_API_ERR_SESSION_NOT_FOUND, "No such session %llu",
                                 (unsigned long long)c->session_id);
    }
    if (level == SB_ADMIN_HANDLE) {
        c->handle = sb_session_find_handle(c->session, hid);
        if (!c->handle)
            return sb_admin_fail(c, SB_API_ERR_HANDLE_NOT_FOUND,
                                 "No such handle %llu in session %llu", (unsigned long long)hid,
                                 (unsigned long long)c->session_id);
    }
    sb_admin_fn fn = sb_admin_find(verb, level);
    if (!fn)
        return sb_admin_fail(c, SB_API_ERR_INVALID_REQUEST_PATH,
                             "Unhandled request '%.64s' at this path", verb);
    return fn(c);
}

json_t *sb_admin_handle(json_t *msg, uint64_t path_session, uint64_t path_handle)
{
    sb_admin_ctx_t c = {.msg = msg};
    const char *transaction, *verb;
    json_t *bad = sb_api_envelope(msg, false, &transaction, &verb);
    if (bad)
        return bad;
    uint64_t sid = sb_admin_body_id(msg, "session_id"), hid = sb_admin_body_id(msg, "handle_id");
    if ((path_session && sid && sid != path_session) || (path_handle && hid && hid != path_handle))
        return sb_api_error(0, NULL, SB_API_ERR_INVALID_REQUEST_PATH,
                            "Conflicting %s ID (payload and path)",
                            path_session && sid && sid != path_session ? "session" : "handle");
    if (path_session) {
        sid = path_session;
        hid = path_handle; /* a handle in the body only counts with no session in the path */
    }
    c.transaction = transaction;
    c.session_id = sid;
    if (!sid && (!strcmp(verb, "info") || !strcmp(verb, "ping")))
        return sb_admin_find(verb, SB_ADMIN_ROOT)(&c);
    if (!sb_admin_authorized(msg)) {
        sb_metrics_auth_failed(SB_AUTH_ADMIN);
        return sb_admin_fail(&c, SB_API_ERR_UNAUTHORIZED, "%s",
                             sb_api_error_text(SB_API_ERR_UNAUTHORIZED));
    }
    json_t *reply = sb_admin_dispatch(&c, verb, sid ? hid : 0);
    if (c.handle)
        sb_handle_unref(c.handle);
    if (c.session)
        sb_session_unref(c.session);
    return reply;
}
