/* TextRoom requests: the two ways in (a data channel message, the body of an API
 * "message"), the envelope each checks the way the reference does, the request table (every
 * request: its handler, where it may come from, the checks it needs and the parameters it
 * takes), and the checks themselves, run before the handler: the plugin's admin_key (419),
 * parameters (413 missing, 414 wrong type, too long or out of range), the room lookup (417),
 * the room's secret (419).
 *
 * Envelopes. Over a data channel: JSON text with "textroom" (the request) and
 * "transaction"; replies carry the transaction back, except when the envelope itself is
 * wrong (the reference answers those without one); "textroom":"error" on failure. Over the
 * API: a body with "request"; an unknown or malformed request is answered
 * "textroom":"event" with the error (the reference's shape), a failing request
 * "textroom":"error". setup, ack and restart are textroom.c's (answered later).
 *
 * Does not implement any request (chat.c, admin.c do) nor send anything. Threads: under
 * the plugin lock, on whichever thread brought the request. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "switchboard/params.h"
#include "textroom.h"

/* Longest request name quoted back in an error. */
#define SB_TR_QUOTE_MAX 256

static const char *const sb_tr_negotiations[] = {"setup", "ack", "restart"};

bool sb_tr_is_negotiation(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(sb_tr_negotiations); i++) {
        if (!strcmp(name, sb_tr_negotiations[i]))
            return true;
    }
    return false;
}

/* How many bytes of s (valid UTF-8) to quote so that at most max are, cut on a character
 * boundary (a cut inside a character would make the JSON string invalid). */
static int sb_tr_clip(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return (int)max;
}

/* ---- errors and checks ------------------------------------------------------------------ */

static json_t *sb_tr_error_v(const char *kind, int code, const char *fmt, va_list ap)
{
    char text[4096];
    vsnprintf(text, sizeof(text), fmt, ap);
    json_t *e = json_pack("{s:s, s:i, s:s}", "textroom", kind, "error_code", code, "error", text);
    if (!e) /* a text cut inside a character: every quoted string is bounded below this */
        e = json_pack("{s:s, s:i, s:s}", "textroom", kind, "error_code", code, "error", "Error");
    return e;
}

json_t *sb_tr_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *e = sb_tr_error_v("error", code, fmt, ap);
    va_end(ap);
    return e;
}

/* The API's envelope errors: {"textroom":"event", ...}, as the reference answers them. */
static json_t *sb_tr_event_error(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static json_t *sb_tr_event_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *e = sb_tr_error_v("event", code, fmt, ap);
    va_end(ap);
    return e;
}

/* A textroom parameter as the SDK checks it: the room id's type follows string_ids, the
 * longest string follows the kind of string. */
static sb_param_t sb_tr_sdk_param(const sb_tr_param_t *p)
{
    sb_param_t q = {.name = p->name, .required = p->required, .type = SB_PARAM_STRING,
                    .max_len = SB_TR_MAX_STRING};
    switch (p->type) {
    case SB_TR_T_UINT:
    case SB_TR_T_HISTORY:
        q.type = SB_PARAM_UINT;
        break;
    case SB_TR_T_BOOL:
        q.type = SB_PARAM_BOOL;
        break;
    case SB_TR_T_ARRAY:
        q.type = SB_PARAM_ARRAY;
        break;
    case SB_TR_T_ROOM:
        q.type = sb_tr_config.string_ids ? SB_PARAM_STRING : SB_PARAM_UINT;
        q.max_len = SB_TR_MAX_NAME;
        break;
    case SB_TR_T_NAME:
        q.max_len = SB_TR_MAX_NAME;
        break;
    case SB_TR_T_TEXT:
        q.max_len = sb_tr_config.max_text;
        break;
    }
    return q;
}

json_t *sb_tr_params_check(json_t *obj, const sb_tr_param_t *params, size_t n)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        sb_param_t q = sb_tr_sdk_param(&params[i]);
        int rc = sb_param_check(obj, &q, err, sizeof(err));
        if (rc)
            return sb_tr_error(rc == SB_ENOENT ? SB_TR_ERR_MISSING_ELEMENT
                                               : SB_TR_ERR_INVALID_ELEMENT,
                               "%s", err);
    }
    /* Ranges once every type is right (the reference's order for "history"). */
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, params[i].name);
        unsigned max = sb_tr_config.max_history;
        if (params[i].type != SB_TR_T_HISTORY || !v)
            continue;
        if ((unsigned long long)json_integer_value(v) > max)
            return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                               "Invalid element (%s should be at most %u)", params[i].name, max);
    }
    return NULL;
}

const char *sb_tr_room_key(json_t *body, char *buf, size_t len)
{
    json_t *room = json_object_get(body, "room");
    if (json_is_string(room))
        return json_string_value(room);
    snprintf(buf, len, "%lld", (long long)json_integer_value(room));
    return buf;
}

/* The room named by body's "room" (checked): the room, or NULL with the 417 error in *err. */
static sb_tr_room_t *sb_tr_room_lookup(json_t *body, json_t **err)
{
    char buf[32];
    const char *key = sb_tr_room_key(body, buf, sizeof(buf));
    sb_tr_room_t *r = sb_tr_room_find(key);
    if (!r)
        *err = sb_tr_error(SB_TR_ERR_NO_SUCH_ROOM, "No such room (%s)", key);
    return r;
}

/* Equal strings, in a time that depends on the lengths only (secrets, pins, keys). */
bool sb_tr_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* The room's secret against body's "secret": NULL (allowed), or the error (owned). */
static json_t *sb_tr_check_secret(const sb_tr_room_t *r, json_t *body)
{
    if (!r->o.secret)
        return NULL;
    static const sb_tr_param_t params[] = {{"secret", SB_TR_T_STRING, true}};
    json_t *e = SB_TR_CHECK(body, params);
    if (e)
        return e;
    if (!sb_tr_secret_equal(json_string_value(json_object_get(body, "secret")), r->o.secret))
        return sb_tr_error(SB_TR_ERR_UNAUTHORIZED, "Unauthorized (wrong secret)");
    return NULL;
}

json_t *sb_tr_check_admin_key(json_t *body, bool required, bool *admin)
{
    *admin = false;
    if (!sb_tr_config.admin_key)
        return NULL;
    json_t *key = json_object_get(body, "admin_key");
    if (!key && !required)
        return NULL;
    static const sb_tr_param_t params[] = {{"admin_key", SB_TR_T_STRING, true}};
    json_t *e = SB_TR_CHECK(body, params);
    if (e)
        return e;
    if (!sb_tr_secret_equal(json_string_value(key), sb_tr_config.admin_key))
        return sb_tr_error(SB_TR_ERR_UNAUTHORIZED, "Unauthorized (wrong admin_key)");
    *admin = true;
    return NULL;
}

void sb_tr_date(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    if (strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0 && len)
        buf[0] = '\0';
}

/* ---- the table ---------------------------------------------------------------------------- */

/* Where a request may come from and what it needs checked before its handler runs. The
 * checks run in this order, the reference's: the admin_key (required, or optional: list
 * shows private rooms with it, and a wrong one is refused), the declared parameters, the
 * request's own further checks of them, the room (417), its secret when it has one. */
enum {
    SB_TR_API = 1 << 0,           /* also over the API (participation needs a data channel) */
    SB_TR_ADMIN_KEY = 1 << 1,     /* the plugin's admin_key, when configured */
    SB_TR_ADMIN_KEY_OPT = 1 << 2, /* the admin_key may be given (req->admin) */
    SB_TR_ROOM = 1 << 3,          /* the room the body names must exist (req->room) */
    SB_TR_SECRET = 1 << 4 | SB_TR_ROOM, /* and its secret, when it has one */
};

typedef struct sb_tr_request {
    const char *name;
    json_t *(*run)(sb_tr_req_t *req);
    unsigned needs; /* SB_TR_* */
    const sb_tr_param_t *params;
    size_t nparams;
    json_t *(*check)(json_t *body); /* further checks of the parameters, or NULL */
} sb_tr_request_t;

#define SB_TR_PARAMS(a) a, G_N_ELEMENTS(a)

static const sb_tr_param_t sb_tr_join_params[] = {
    {"username", SB_TR_T_NAME, true}, {"pin", SB_TR_T_STRING, false},
    {"display", SB_TR_T_NAME, false}, {"token", SB_TR_T_STRING, false},
    {"history", SB_TR_T_BOOL, false}, {"room", SB_TR_T_ROOM, true},
};
static const sb_tr_param_t sb_tr_room_params[] = {{"room", SB_TR_T_ROOM, true}};
static const sb_tr_param_t sb_tr_message_params[] = {
    {"room", SB_TR_T_ROOM, true},  {"text", SB_TR_T_TEXT, true}, {"to", SB_TR_T_NAME, false},
    {"tos", SB_TR_T_ARRAY, false}, {"ack", SB_TR_T_BOOL, false},
};
static const sb_tr_param_t sb_tr_edit_params[] = {
    {"room", SB_TR_T_ROOM, true},
    {"secret", SB_TR_T_STRING, false},
    {"new_description", SB_TR_T_STRING, false},
    {"new_secret", SB_TR_T_STRING, false},
    {"new_pin", SB_TR_T_STRING, false},
    {"new_post", SB_TR_T_STRING, false},
    {"new_is_private", SB_TR_T_BOOL, false},
    {"permanent", SB_TR_T_BOOL, false},
};
static const sb_tr_param_t sb_tr_destroy_params[] = {
    {"room", SB_TR_T_ROOM, true},
    {"secret", SB_TR_T_STRING, false},
    {"permanent", SB_TR_T_BOOL, false},
};
static const sb_tr_param_t sb_tr_allowed_params[] = {
    {"room", SB_TR_T_ROOM, true},
    {"secret", SB_TR_T_STRING, false},
    {"action", SB_TR_T_STRING, true},
    {"allowed", SB_TR_T_ARRAY, false},
};
static const sb_tr_param_t sb_tr_kick_params[] = {
    {"room", SB_TR_T_ROOM, true},
    {"secret", SB_TR_T_STRING, false},
    {"username", SB_TR_T_NAME, true},
};
static const sb_tr_param_t sb_tr_announcement_params[] = {
    {"room", SB_TR_T_ROOM, true},
    {"secret", SB_TR_T_STRING, false},
    {"text", SB_TR_T_TEXT, true},
};

static const sb_tr_request_t sb_tr_requests[] = {
    {"join", sb_tr_req_join, SB_TR_ROOM, SB_TR_PARAMS(sb_tr_join_params), NULL},
    {"leave", sb_tr_req_leave, SB_TR_ROOM, SB_TR_PARAMS(sb_tr_room_params), NULL},
    {"message", sb_tr_req_message, SB_TR_ROOM, SB_TR_PARAMS(sb_tr_message_params),
     sb_tr_message_check},
    {"list", sb_tr_req_list, SB_TR_API | SB_TR_ADMIN_KEY_OPT, NULL, 0, NULL},
    {"exists", sb_tr_req_exists, SB_TR_API, SB_TR_PARAMS(sb_tr_room_params), NULL},
    /* A room's fields: sb_tr_room_create checks them (for the configuration file too). */
    {"create", sb_tr_req_create, SB_TR_API | SB_TR_ADMIN_KEY, NULL, 0, NULL},
    {"edit", sb_tr_req_edit, SB_TR_API | SB_TR_SECRET, SB_TR_PARAMS(sb_tr_edit_params), NULL},
    {"destroy", sb_tr_req_destroy, SB_TR_API | SB_TR_SECRET, SB_TR_PARAMS(sb_tr_destroy_params),
     NULL},
    {"allowed", sb_tr_req_allowed, SB_TR_API | SB_TR_SECRET, SB_TR_PARAMS(sb_tr_allowed_params),
     NULL},
    {"kick", sb_tr_req_kick, SB_TR_API | SB_TR_SECRET, SB_TR_PARAMS(sb_tr_kick_params), NULL},
    {"listparticipants", sb_tr_req_listparticipants, SB_TR_API | SB_TR_ROOM,
     SB_TR_PARAMS(sb_tr_room_params), NULL},
    {"announcement", sb_tr_req_announcement, SB_TR_API | SB_TR_SECRET,
     SB_TR_PARAMS(sb_tr_announcement_params), NULL},
};

static const sb_tr_request_t *sb_tr_request_find(const char *name, bool api)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_tr_requests); i++) {
        const sb_tr_request_t *rq = &sb_tr_requests[i];
        if (!strcmp(name, rq->name) && (!api || (rq->needs & SB_TR_API)))
            return rq;
    }
    return NULL;
}

/* What rq needs, in the order the table's comment gives (req->admin and req->room set on the
 * way), then its handler: the reply (owned), or NULL for none. */
static json_t *sb_tr_request_run(const sb_tr_request_t *rq, sb_tr_req_t *req)
{
    json_t *e = NULL;
    if (rq->needs & (SB_TR_ADMIN_KEY | SB_TR_ADMIN_KEY_OPT))
        e = sb_tr_check_admin_key(req->body, rq->needs & SB_TR_ADMIN_KEY, &req->admin);
    if (!e)
        e = sb_tr_params_check(req->body, rq->params, rq->nparams);
    if (!e && rq->check)
        e = rq->check(req->body);
    if (!e && (rq->needs & SB_TR_ROOM))
        req->room = sb_tr_room_lookup(req->body, &e);
    if (!e && (rq->needs & SB_TR_SECRET) == SB_TR_SECRET)
        e = sb_tr_check_secret(req->room, req->body);
    return e ? e : rq->run(req);
}

/* ---- the data channel ------------------------------------------------------------------- */

/* The envelope: "textroom" (a string) then "transaction" (a string). NULL, or the error. */
static json_t *sb_tr_data_envelope(json_t *root)
{
    static const sb_tr_param_t params[] = {
        {"textroom", SB_TR_T_STRING, true},
        {"transaction", SB_TR_T_STRING, true},
    };
    return SB_TR_CHECK(root, params);
}

json_t *sb_tr_data_parse(const char *text, size_t len, bool binary, json_t **error)
{
    *error = NULL;
    if (binary) { /* the reference drops those without a word */
        *error = sb_tr_error(SB_TR_ERR_INVALID_JSON,
                             "Binary messages are not supported: send requests as JSON text");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) { /* likewise: a client deserves to know why nothing happens */
        *error =
            sb_tr_error(SB_TR_ERR_INVALID_JSON, "JSON error: on line %d: %s", jerr.line, jerr.text);
        return NULL;
    }
    if ((*error = sb_tr_data_envelope(root))) {
        json_decref(root);
        return NULL;
    }
    return root;
}

void sb_tr_data_run(sb_tr_session_t *s, json_t *root, json_t *error, sb_tr_outbox_t *ob)
{
    json_t *reply = error; /* an envelope error: answered without a transaction */
    if (root) {
        const char *name = json_string_value(json_object_get(root, "textroom"));
        const sb_tr_request_t *rq = sb_tr_request_find(name, false);
        if (rq) {
            sb_tr_req_t req = {.s = s, .body = root, .ob = ob};
            reply = sb_tr_request_run(rq, &req);
        } else {
            reply = sb_tr_error(SB_TR_ERR_INVALID_REQUEST, "Unsupported request %.*s",
                                sb_tr_clip(name, SB_TR_QUOTE_MAX), name);
        }
        if (reply) /* none: a message sent with "ack": false */
            json_object_set(reply, "transaction", json_object_get(root, "transaction"));
        json_decref(root);
    }
    if (reply) {
        sb_tr_outbox_add_json(ob, s, reply);
        json_decref(reply);
    }
}

void sb_tr_data_request(sb_tr_session_t *s, const char *text, size_t len, sb_tr_outbox_t *ob)
{
    json_t *error;
    json_t *root = sb_tr_data_parse(text, len, false, &error);
    sb_tr_data_run(s, root, error, ob);
}

/* ---- the API ------------------------------------------------------------------------------ */

json_t *sb_tr_api_request(json_t *body, sb_tr_outbox_t *ob)
{
    json_t *request = json_object_get(body, "request");
    if (!request)
        return sb_tr_event_error(SB_TR_ERR_MISSING_ELEMENT, "Missing mandatory element (request)");
    if (!json_is_string(request))
        return sb_tr_event_error(SB_TR_ERR_INVALID_ELEMENT,
                                 "Invalid element type (request should be a string)");
    const char *name = json_string_value(request);
    const sb_tr_request_t *rq = sb_tr_request_find(name, true);
    if (!rq)
        return sb_tr_event_error(SB_TR_ERR_INVALID_REQUEST, "Unknown request '%.*s'",
                                 sb_tr_clip(name, SB_TR_QUOTE_MAX), name);
    sb_tr_req_t req = {.s = NULL, .body = body, .ob = ob};
    json_t *reply = sb_tr_request_run(rq, &req);
    return reply ? reply : json_pack("{s:s}", "textroom", "success");
}
