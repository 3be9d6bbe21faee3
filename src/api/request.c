/* Request validation and dispatch for the Janus API (see request.h).
 * Does not parse HTTP or JSON text and does not queue events: transports and sessions do. */
#include "api/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/errors.h"
#include "api/jsep.h"
#include "api/metrics.h"
#include "api/tokens.h"
#include "switchboard/error.h"
#include "switchboard/alloc.h"
#include "base/log.h"
#include "base/secret.h"
#include "peer/events.h"
#include "session/handle.h"
#include "session/handle_media.h"
#include "plugin/loader.h"
#include "sb_build.h"

typedef enum { SB_LEVEL_ROOT, SB_LEVEL_SESSION, SB_LEVEL_HANDLE } sb_api_level_t;

/* The context one verb runs with: the request, its transaction, the objects it names. */
typedef struct sb_api_ctx {
    const sb_api_request_t *req;
    json_t *msg;
    const char *transaction;
    uint64_t session_id;
    sb_session_t *session; /* owned reference when level >= SESSION */
    sb_handle_t *handle;   /* owned reference when level == HANDLE */
} sb_api_ctx_t;

typedef json_t *(*sb_api_verb_fn)(sb_api_ctx_t *c);

static struct {
    char *api_secret;
    char *server_name;
    bool ipv6;
} sb_api;

void sb_api_init(const sb_api_config_t *cfg)
{
    sb_api.api_secret = cfg->api_secret && *cfg->api_secret ? sb_strdup(cfg->api_secret) : NULL;
    sb_api.server_name = sb_strdup(cfg->server_name ? cfg->server_name : "Switchboard");
    sb_api.ipv6 = cfg->ipv6;
}

void sb_api_deinit(void)
{
    sb_free(sb_api.api_secret);
    sb_free(sb_api.server_name);
    memset(&sb_api, 0, sizeof(sb_api));
}

bool sb_api_secret_ok(const char *apisecret, const char *token)
{
    bool tokens = sb_tokens_mode() != SB_TOKENS_OFF;
    if (!sb_api.api_secret && !tokens)
        return true;
    /* Either one configured credential is enough, as the reference takes them. */
    if (sb_api.api_secret && sb_secret_equal(sb_api.api_secret, apisecret))
        return true;
    if (tokens && sb_tokens_valid(token, time(NULL)))
        return true;
    sb_metrics_auth_failed(SB_AUTH_JANUS);
    return false;
}

bool sb_api_authorized(json_t *message)
{
    return sb_api_secret_ok(json_string_value(json_object_get(message, "apisecret")),
                            json_string_value(json_object_get(message, "token")));
}

/* attach with token auth: a token the request carries must grant the plugin, even when the
 * API secret let the request in (the reference checks any string token it is given); a
 * request without one got in with the API secret, which grants every plugin. A refusal
 * counts as an auth failure. */
static bool sb_api_plugin_allowed(json_t *message, const char *plugin)
{
    const char *token = json_string_value(json_object_get(message, "token"));
    if (sb_tokens_mode() == SB_TOKENS_OFF || !token)
        return true;
    if (sb_tokens_allow_plugin(token, plugin, time(NULL)))
        return true;
    sb_metrics_auth_failed(SB_AUTH_JANUS);
    return false;
}

static json_t *sb_api_reply(sb_api_ctx_t *c, const char *type)
{
    json_t *r = json_pack("{s:s}", "janus", type);
    if (c->session_id)
        json_object_set_new(r, "session_id", json_integer((json_int_t)c->session_id));
    if (c->transaction)
        json_object_set_new(r, "transaction", json_string(c->transaction));
    return r;
}

static json_t *sb_api_fail(sb_api_ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *sb_api_fail(sb_api_ctx_t *c, int code, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return sb_api_error(c->session_id, c->transaction, code, "%s", reason);
}

json_t *sb_api_server_info(const char *transaction)
{
    json_t *info = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:s}", "janus",
        "server_info", "name", "Switchboard WebRTC SFU", "version", 1, "version_string",
        PACKAGE_VERSION, "author", "Switchboard", "server-name", sb_api.server_name,
        "data_channels", 0, "ipv6", sb_api.ipv6, "ice-lite", 0, "ice-tcp", 0, "full-trickle", 1,
        "api_secret", sb_api.api_secret != NULL, "session-timeout",
        (int)sb_sessions_timeout_s(), "transports_note", "http, websocket");
    json_object_set_new(info, "auth_token", json_boolean(sb_tokens_mode() != SB_TOKENS_OFF));
    json_object_set_new(info, "accepting-new-sessions", json_boolean(sb_sessions_accepting()));
    json_object_set_new(info, "transports",
                        json_pack("{s:{s:s}, s:{s:s}}", "janus.transport.http", "name",
                                  "HTTP REST + long-poll", "janus.transport.websockets", "name",
                                  "WebSocket (janus-protocol)"));
    json_object_del(info, "transports_note");
    json_object_set_new(info, "plugins", sb_plugins_info());
    if (transaction)
        json_object_set_new(info, "transaction", json_string(transaction));
    return info;
}

/* ---- root level ---- */

static json_t *sb_api_create(sb_api_ctx_t *c)
{
    sb_session_t *s;
    int rc = sb_session_create(c->req->sink, &s);
    if (rc == SB_ESTATE) /* accept_new_sessions false, or draining: the reference's text */
        return sb_api_fail(c, SB_API_ERR_NOT_ACCEPTING_SESSIONS, "%s",
                           sb_api_error_text(SB_API_ERR_NOT_ACCEPTING_SESSIONS));
    if (rc < 0)
        return sb_api_fail(c, SB_API_ERR_NOT_ACCEPTING_SESSIONS,
                           "Too many sessions: not accepting new ones");
    json_t *r = sb_api_reply(c, "success");
    json_object_set_new(r, "data", json_pack("{s:I}", "id", (json_int_t)sb_session_id(s)));
    SB_DEBUG("api", "session %llu created", (unsigned long long)sb_session_id(s));
    if (sb_events_wanted(SB_EV_SESSION))
        sb_events_emit(SB_EV_SESSION, 0, sb_session_id(s), 0, NULL,
                       json_pack("{s:s, s:{s:s}}", "name", "created", "transport", "transport",
                                 c->req->sink ? "janus.transport.websockets"
                                              : "janus.transport.http"));
    sb_session_unref(s);
    return r;
}

static json_t *sb_api_info(sb_api_ctx_t *c)
{
    return sb_api_server_info(c->transaction);
}

static json_t *sb_api_ping(sb_api_ctx_t *c)
{
    return sb_api_reply(c, "pong");
}

/* ---- session level ---- */

static json_t *sb_api_attach(sb_api_ctx_t *c)
{
    json_t *plugin = json_object_get(c->msg, "plugin");
    if (!plugin)
        return sb_api_fail(c, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                           "Missing mandatory element (plugin)");
    if (!json_is_string(plugin))
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (plugin should be a string)");
    json_t *opaque = json_object_get(c->msg, "opaque_id");
    if (opaque && !json_is_string(opaque))
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (opaque_id should be a string)");
    const sb_plugin_t *p = sb_plugins_find(json_string_value(plugin));
    if (!p)
        return sb_api_fail(c, SB_API_ERR_PLUGIN_NOT_FOUND, "No such plugin '%s'",
                           json_string_value(plugin));
    if (!sb_api_plugin_allowed(c->msg, p->package))
        return sb_api_fail(c, SB_API_ERR_UNAUTHORIZED_PLUGIN,
                           "Provided token can't access plugin '%s'", p->package);
    sb_handle_t *h;
    int rc = sb_handle_create(c->session, p, json_string_value(opaque), &h);
    if (rc < 0)
        return sb_api_fail(c, SB_API_ERR_PLUGIN_ATTACH, "Couldn't attach to plugin: %s",
                           rc == SB_ENOMEM ? "too many handles in this session"
                                           : "the plugin refused");
    json_t *r = sb_api_reply(c, "success");
    json_object_set_new(r, "data", json_pack("{s:I}", "id", (json_int_t)sb_handle_id(h)));
    sb_handle_unref(h);
    return r;
}

static json_t *sb_api_keepalive(sb_api_ctx_t *c)
{
    return sb_api_reply(c, "ack");
}

static json_t *sb_api_destroy(sb_api_ctx_t *c)
{
    sb_session_destroy(c->session);
    return sb_api_reply(c, "success");
}

static json_t *sb_api_claim(sb_api_ctx_t *c)
{
    sb_session_set_sink(c->session, c->req->sink);
    return sb_api_reply(c, "success");
}

/* ---- handle level ---- */

static json_t *sb_api_message(sb_api_ctx_t *c)
{
    json_t *body = json_object_get(c->msg, "body");
    if (!body)
        return sb_api_fail(c, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                           "Missing mandatory element (body)");
    if (!json_is_object(body))
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (body should be an object)");
    json_t *jsep = json_object_get(c->msg, "jsep");
    char reason[256];
    int code = sb_jsep_validate(jsep, reason, sizeof(reason));
    if (code)
        return sb_api_fail(c, code, "%s", reason);

    const sb_plugin_t *p = sb_handle_plugin(c->handle);
    if (!sb_handle_request_begin(c->handle))
        return sb_api_fail(c, SB_API_ERR_PLUGIN_MESSAGE,
                           "Too many requests pending on this handle (%d): wait for answers",
                           SB_HANDLE_MAX_PENDING);
    sb_plugin_result_t res =
        p->handle_message(sb_handle_plugin_handle(c->handle), c->transaction, body, jsep);
    if (res.kind != SB_PLUGIN_OK_WAIT)
        sb_handle_request_end(c->handle);
    json_t *r;
    switch (res.kind) {
    case SB_PLUGIN_OK:
        r = sb_api_reply(c, "success");
        json_object_set_new(r, "sender", json_integer((json_int_t)sb_handle_id(c->handle)));
        json_object_set_new(r, "plugindata",
                            json_pack("{s:s, s:o}", "plugin", p->package,
                                      "data", res.content ? res.content : json_object()));
        return r;
    case SB_PLUGIN_OK_WAIT:
        json_decref(res.content);
        return sb_api_reply(c, "ack");
    default:
        r = sb_api_fail(c, SB_API_ERR_PLUGIN_MESSAGE, "%s",
                        res.error ? res.error : "Plugin returned a severe (unknown) error");
        sb_free(res.error);
        json_decref(res.content);
        return r;
    }
}

static json_t *sb_api_trickle(sb_api_ctx_t *c)
{
    json_t *candidate = json_object_get(c->msg, "candidate");
    json_t *candidates = json_object_get(c->msg, "candidates");
    if (!candidate && !candidates)
        return sb_api_fail(c, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                           "Missing mandatory element (candidate|candidates)");
    if (candidate && candidates)
        return sb_api_fail(c, SB_API_ERR_INVALID_JSON,
                           "Can't have both candidate and candidates");
    if (candidates && !json_is_array(candidates))
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (candidates should be an array)");
    if (candidate && !json_is_object(candidate) && !json_is_null(candidate))
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (candidate should be an object)");
    /* Candidates that race ahead of the offer are kept until the PeerConnection exists. */
    int rc = sb_handle_media_trickle(c->handle, candidate, candidates);
    if (rc < 0)
        return sb_api_fail(c,
                           rc == SB_ENOENT ? SB_API_ERR_MISSING_MANDATORY_ELEMENT
                                           : SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid trickle candidate");
    return sb_api_reply(c, "ack");
}

static json_t *sb_api_detach(sb_api_ctx_t *c)
{
    sb_handle_detach(c->handle, true);
    return sb_api_reply(c, "success");
}

static json_t *sb_api_hangup(sb_api_ctx_t *c)
{
    sb_handle_media_hangup(c->handle, "Janus API");
    return sb_api_reply(c, "success");
}

static const struct {
    const char *verb;
    sb_api_level_t level;
    sb_api_verb_fn fn;
} sb_api_verbs[] = {
    {"create", SB_LEVEL_ROOT, sb_api_create},
    {"info", SB_LEVEL_ROOT, sb_api_info},
    {"ping", SB_LEVEL_ROOT, sb_api_ping},
    {"attach", SB_LEVEL_SESSION, sb_api_attach},
    {"keepalive", SB_LEVEL_SESSION, sb_api_keepalive},
    {"destroy", SB_LEVEL_SESSION, sb_api_destroy},
    {"claim", SB_LEVEL_SESSION, sb_api_claim},
    {"message", SB_LEVEL_HANDLE, sb_api_message},
    {"trickle", SB_LEVEL_HANDLE, sb_api_trickle},
    {"detach", SB_LEVEL_HANDLE, sb_api_detach},
    {"hangup", SB_LEVEL_HANDLE, sb_api_hangup},
};
#define SB_API_NVERBS (sizeof(sb_api_verbs) / sizeof(sb_api_verbs[0]))

/* Read an id field of a WebSocket request: absent → 0 with ok, wrong type → error. */
static int sb_api_body_id(json_t *msg, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(msg, name);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* The ids a request names: the path's (HTTP), or the body's (WebSocket). NULL, or the error
 * reply for a body id of the wrong type. */
static json_t *sb_api_target(sb_api_ctx_t *c, uint64_t *sid, uint64_t *hid)
{
    *sid = c->req->session_id;
    *hid = c->req->handle_id;
    if (c->req->ids_from_path)
        return NULL;
    if (sb_api_body_id(c->msg, "session_id", sid) < 0)
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (session_id should be a positive integer)");
    if (sb_api_body_id(c->msg, "handle_id", hid) < 0)
        return sb_api_fail(c, SB_API_ERR_INVALID_ELEMENT_TYPE,
                           "Invalid element type (handle_id should be a positive integer)");
    if (!*sid)
        *hid = 0; /* a handle counts within its session only */
    return NULL;
}

/* The session and handle named (references in c); NULL, or the 458/459 reply. */
static json_t *sb_api_find(sb_api_ctx_t *c, uint64_t sid, uint64_t hid)
{
    c->session = sb_session_find(sid);
    if (!c->session) /* with the id asked for, as the reference answers */
        return sb_api_error(sid, c->transaction, SB_API_ERR_SESSION_NOT_FOUND,
                            "No such session %llu", (unsigned long long)sid);
    sb_session_touch(c->session);
    if (hid) {
        c->handle = sb_session_find_handle(c->session, hid);
        if (!c->handle)
            return sb_api_error(sid, c->transaction, SB_API_ERR_HANDLE_NOT_FOUND,
                                "No such handle %llu in session %llu", (unsigned long long)hid,
                                (unsigned long long)sid);
    }
    return NULL;
}

/* A verb found at the level the request addresses; NULL, or the 453/457 reply. A WebSocket
 * request names its level in its body: a missing id is a missing element there. */
static json_t *sb_api_check_level(sb_api_ctx_t *c, size_t verb, sb_api_level_t at,
                                  const char *name)
{
    if (verb == SB_API_NVERBS)
        return sb_api_fail(c, SB_API_ERR_UNKNOWN_REQUEST, "Unknown request '%s'", name);
    sb_api_level_t want = sb_api_verbs[verb].level;
    if (want == at)
        return NULL;
    if (c->req->ids_from_path || want < at)
        return sb_api_fail(c, SB_API_ERR_INVALID_REQUEST_PATH,
                           "Unhandled request '%s' at this path", name);
    return sb_api_fail(c, SB_API_ERR_MISSING_MANDATORY_ELEMENT, "Missing mandatory element (%s)",
                       want == SB_LEVEL_HANDLE && at == SB_LEVEL_SESSION ? "handle_id"
                                                                        : "session_id");
}

json_t *sb_api_envelope(json_t *msg, bool tx_in_verb_errors, const char **transaction,
                        const char **verb)
{
    if (!json_is_object(msg))
        return sb_api_error(0, NULL, SB_API_ERR_INVALID_JSON_OBJECT,
                            "JSON error: not an object");
    json_t *tr = json_object_get(msg, "transaction");
    if (!tr)
        return sb_api_error(0, NULL, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                            "Missing mandatory element (transaction)");
    if (!json_is_string(tr))
        return sb_api_error(0, NULL, SB_API_ERR_INVALID_ELEMENT_TYPE,
                            "Invalid element type (transaction should be a string)");
    *transaction = json_string_value(tr);
    const char *tx = tx_in_verb_errors ? *transaction : NULL;
    json_t *verb_json = json_object_get(msg, "janus");
    if (!verb_json)
        return sb_api_error(0, tx, SB_API_ERR_MISSING_MANDATORY_ELEMENT,
                            "Missing mandatory element (janus)");
    if (!json_is_string(verb_json))
        return sb_api_error(0, tx, SB_API_ERR_INVALID_ELEMENT_TYPE,
                            "Invalid element type (janus should be a string)");
    *verb = json_string_value(verb_json);
    return NULL;
}

/* The order of the checks is the reference's: at the root, the request (453, 457), then
 * whether sessions are accepted (create: 472), then the credentials (403); at a session or
 * handle, the credentials first, then the session (458), the handle (459), the request. */
json_t *sb_api_handle(const sb_api_request_t *req)
{
    sb_api_ctx_t c = {.req = req, .msg = req->message};
    const char *verb;
    uint64_t sid, hid;
    json_t *reply = sb_api_envelope(c.msg, true, &c.transaction, &verb);
    if (!reply)
        reply = sb_api_target(&c, &sid, &hid);
    if (reply)
        return reply;
    size_t i = 0;
    while (i < SB_API_NVERBS && strcmp(sb_api_verbs[i].verb, verb) != 0)
        i++;
    sb_api_level_t at = hid ? SB_LEVEL_HANDLE : sid ? SB_LEVEL_SESSION : SB_LEVEL_ROOT;
    c.session_id = sid;
    bool open = i < SB_API_NVERBS &&
                (sb_api_verbs[i].fn == sb_api_info || sb_api_verbs[i].fn == sb_api_ping);
    if (at == SB_LEVEL_ROOT) {
        reply = sb_api_check_level(&c, i, at, verb);
        if (!reply && sb_api_verbs[i].fn == sb_api_create && !sb_sessions_accepting())
            reply = sb_api_fail(&c, SB_API_ERR_NOT_ACCEPTING_SESSIONS, "%s",
                                sb_api_error_text(SB_API_ERR_NOT_ACCEPTING_SESSIONS));
    }
    if (!reply && !(open && at == SB_LEVEL_ROOT) && !sb_api_authorized(c.msg))
        reply = sb_api_fail(&c, SB_API_ERR_UNAUTHORIZED, "%s",
                            sb_api_error_text(SB_API_ERR_UNAUTHORIZED));
    if (!reply && at != SB_LEVEL_ROOT && !(reply = sb_api_find(&c, sid, hid)))
        reply = sb_api_check_level(&c, i, at, verb);
    if (!reply)
        reply = sb_api_verbs[i].fn(&c);
    if (c.handle)
        sb_handle_unref(c.handle);
    if (c.session)
        sb_session_unref(c.session);
    return reply;
}

json_t *sb_api_reject_body(const char *body, size_t len, const char *parse_error)
{
    (void)body;
    if (len == 0)
        return sb_api_error(0, NULL, SB_API_ERR_MISSING_REQUEST, "Empty request body");
    return sb_api_error(0, NULL, SB_API_ERR_INVALID_JSON, "JSON error: %s",
                        parse_error ? parse_error : "invalid JSON");
}
