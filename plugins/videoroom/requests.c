/* VideoRoom requests: the request table (every request the plugin takes: which are answered
 * at once and which go to the message thread, and what each needs checked before its handler
 * runs), the checks themselves with the reference's error codes and texts (the room 426, its
 * secret and the plugin's admin_key 433, parameters 429 missing and 430 invalid), and the
 * routing of asynchronous requests by role.
 *
 * Does not implement any request itself (admin.c, publisher.c, subscriber.c do).
 * Threads: sb_vr_handle_message and sb_vr_handle_admin_message run on a control thread
 * (synchronous requests under the plugin lock); sb_vr_process on the message thread. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "videoroom.h"

/* ---- parameters ----------------------------------------------------------------------- */

int sb_vr_params_check(json_t *obj, const sb_vr_param_t *params, size_t n, char *err,
                       size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        const sb_param_t p = {.name = params[i].name,
                              .type = (sb_param_type_t)params[i].type,
                              .required = params[i].required,
                              .max_len = SB_VR_MAX_STRING};
        int rc = sb_param_check(obj, &p, err, err_len);
        if (rc)
            return rc == SB_ENOENT ? SB_VR_ERR_MISSING_ELEMENT : SB_VR_ERR_INVALID_ELEMENT;
    }
    return 0;
}

int sb_vr_items_check(json_t *arr, const sb_vr_param_t *params, size_t n, char *err,
                      size_t err_len)
{
    if (json_array_size(arr) > SB_MEDIA_MAX_STREAMS) {
        snprintf(err, err_len, "Invalid element (at most %u streams)", SB_MEDIA_MAX_STREAMS);
        return SB_VR_ERR_INVALID_ELEMENT;
    }
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        if (!json_is_object(it)) {
            snprintf(err, err_len, "Invalid element type (streams items should be objects)");
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        int code = sb_vr_params_check(it, params, n, err, err_len);
        if (code)
            return code;
    }
    return 0;
}

/* ---- the checks requests share -------------------------------------------------------- */

sb_vr_room_t *sb_vr_room_lookup(json_t *body, json_t **err)
{
    static const sb_vr_param_t params[] = {{"room", SB_VR_T_UINT, true}};
    char text[256];
    int code = SB_VR_CHECK(body, params, text);
    if (code) {
        *err = sb_vr_error_json(code, "%s", text);
        return NULL;
    }
    uint64_t id = (uint64_t)json_integer_value(json_object_get(body, "room"));
    sb_vr_room_t *r = sb_vr_room_find(id);
    if (!r)
        *err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room (%llu)",
                                (unsigned long long)id);
    return r;
}

/* body's key against the value it must have (a room's secret, the plugin's admin_key): NULL,
 * or the error (owned). */
static json_t *sb_vr_check_key(json_t *body, const char *key, const char *want)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (%s)", key);
    if (!json_is_string(v))
        return sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                                "Invalid element type (%s should be a string)", key);
    if (strcmp(json_string_value(v), want) != 0)
        return sb_vr_error_json(SB_VR_ERR_UNAUTHORIZED, "Unauthorized (wrong %s)", key);
    return NULL;
}

/* ---- the table ------------------------------------------------------------------------ */

/* What a request needs checked before its handler runs. The checks run in this order, the
 * reference's: the room (body's "room" names one: 429, 430, 426), its secret when it has one
 * (429, 430, 433), the declared parameters (429, 430), the plugin's admin_key when one is
 * configured (429, 430, 433). */
enum {
    SB_VR_NEED_ROOM = 1 << 0,
    SB_VR_NEED_SECRET = 1 << 1 | SB_VR_NEED_ROOM,
    SB_VR_NEED_ADMIN_KEY = 1 << 2,
};

typedef struct sb_vr_request {
    const char *name;
    /* Synchronous: run under the lock, the answer returned at once (to the Admin API too).
     * NULL: asynchronous, queued to the message thread and run by the session's role
     * (sb_vr_process), where its parameters are checked. */
    json_t *(*run)(sb_vr_sync_req_t *req);
    unsigned needs; /* SB_VR_NEED_* (synchronous requests) */
    const sb_vr_param_t *params;
    size_t nparams;
    /* The cluster's part (cluster.c), without the lock: before the checks that need it
     * (after the parameters and the admin_key), and after the handler. */
    json_t *(*before)(sb_vr_sync_req_t *req);
    void (*after)(sb_vr_sync_req_t *req, json_t **answer);
} sb_vr_request_t;

#define SB_VR_PARAMS(a) a, G_N_ELEMENTS(a)
#define NO_HOOKS NULL, NULL

static const sb_vr_param_t sb_vr_create_params[] = {
    {"room", SB_VR_T_UINT, false},     {"permanent", SB_VR_T_BOOL, false},
    {"allowed", SB_VR_T_ARRAY, false}, {"admin_key", SB_VR_T_STRING, false},
};
static const sb_vr_param_t sb_vr_exists_params[] = {{"room", SB_VR_T_UINT, true}};
static const sb_vr_param_t sb_vr_allowed_params[] = {
    {"action", SB_VR_T_STRING, true},
    {"allowed", SB_VR_T_ARRAY, false},
};
static const sb_vr_param_t sb_vr_kick_params[] = {{"id", SB_VR_T_UINT, true}};
static const sb_vr_param_t sb_vr_moderate_params[] = {
    {"id", SB_VR_T_UINT, true},
    {"mid", SB_VR_T_STRING, true},
    {"mute", SB_VR_T_BOOL, true},
};
/* join and joinandconfigure, whatever the ptype (each role checks its own fields next). */
static const sb_vr_param_t sb_vr_join_params[] = {
    {"room", SB_VR_T_UINT, true},
    {"ptype", SB_VR_T_STRING, true},
};

static const sb_vr_request_t sb_vr_requests[] = {
    {"create", sb_vr_req_create, SB_VR_NEED_ADMIN_KEY, SB_VR_PARAMS(sb_vr_create_params),
     sb_vr_cluster_create_before, sb_vr_cluster_create_after},
    {"edit", sb_vr_req_edit, SB_VR_NEED_SECRET, NULL, 0, NO_HOOKS},
    {"destroy", sb_vr_req_destroy, SB_VR_NEED_SECRET, NULL, 0, NULL, sb_vr_cluster_destroy_after},
    {"exists", sb_vr_req_exists, 0, SB_VR_PARAMS(sb_vr_exists_params), NULL,
     sb_vr_cluster_exists_after},
    /* the admin_key only shows private rooms */
    {"list", sb_vr_req_list, 0, NULL, 0, NULL, sb_vr_cluster_list_after},
    {"allowed", sb_vr_req_allowed, SB_VR_NEED_SECRET, SB_VR_PARAMS(sb_vr_allowed_params), NO_HOOKS},
    {"kick", sb_vr_req_kick, SB_VR_NEED_SECRET, SB_VR_PARAMS(sb_vr_kick_params), NO_HOOKS},
    {"moderate", sb_vr_req_moderate, SB_VR_NEED_SECRET, SB_VR_PARAMS(sb_vr_moderate_params),
     NO_HOOKS},
    {"listparticipants", sb_vr_req_listparticipants, SB_VR_NEED_ROOM, NULL, 0, NULL,
     sb_vr_cluster_participants_after},
    /* Not implemented yet: answered at once with a clear error. */
    {"rtp_forward", sb_vr_req_unsupported, 0, NULL, 0, NO_HOOKS},
    {"stop_rtp_forward", sb_vr_req_unsupported, 0, NULL, 0, NO_HOOKS},
    {"listforwarders", sb_vr_req_unsupported, 0, NULL, 0, NO_HOOKS},
    {"enable_recording", sb_vr_req_unsupported, 0, NULL, 0, NO_HOOKS},
    /* Asynchronous. */
    {"join", NULL, 0, SB_VR_PARAMS(sb_vr_join_params), NO_HOOKS},
    {"joinandconfigure", NULL, 0, SB_VR_PARAMS(sb_vr_join_params), NO_HOOKS},
    {"configure", NULL, 0, NULL, 0, NO_HOOKS},
    {"publish", NULL, 0, NULL, 0, NO_HOOKS},
    {"unpublish", NULL, 0, NULL, 0, NO_HOOKS},
    {"start", NULL, 0, NULL, 0, NO_HOOKS},
    {"pause", NULL, 0, NULL, 0, NO_HOOKS},
    {"switch", NULL, 0, NULL, 0, NO_HOOKS},
    {"leave", NULL, 0, NULL, 0, NO_HOOKS},
    {"subscribe", NULL, 0, NULL, 0, NO_HOOKS},
    {"unsubscribe", NULL, 0, NULL, 0, NO_HOOKS},
    {"update", NULL, 0, NULL, 0, NO_HOOKS},
};

static const sb_vr_request_t *sb_vr_request_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_vr_requests); i++) {
        if (!strcmp(name, sb_vr_requests[i].name))
            return &sb_vr_requests[i];
    }
    return NULL;
}

/* The declared parameters of rq in body: NULL, or the error (owned). */
static json_t *sb_vr_request_params(const sb_vr_request_t *rq, json_t *body)
{
    char text[256];
    int code = sb_vr_params_check(body, rq->params, rq->nparams, text, sizeof(text));
    return code ? sb_vr_error_json(code, "%s", text) : NULL;
}

/* What rq needs, in the order the table's comment gives; req->room set on the way. NULL, or
 * the error (owned). Under the lock. */
static json_t *sb_vr_request_check(const sb_vr_request_t *rq, sb_vr_sync_req_t *req)
{
    json_t *e = NULL;
    if ((rq->needs & SB_VR_NEED_ROOM) && !(req->room = sb_vr_room_lookup(req->body, &e)))
        return e;
    if ((rq->needs & SB_VR_NEED_SECRET) == SB_VR_NEED_SECRET && req->room->o.secret &&
        (e = sb_vr_check_key(req->body, "secret", req->room->o.secret)))
        return e;
    if ((e = sb_vr_request_params(rq, req->body)))
        return e;
    if ((rq->needs & SB_VR_NEED_ADMIN_KEY) && sb_vr_config.admin_key)
        return sb_vr_check_key(req->body, "admin_key", sb_vr_config.admin_key);
    return NULL;
}

/* The checks of rq that need no lock (a before-hook runs after them): NULL or the error. */
static json_t *sb_vr_request_check_unlocked(const sb_vr_request_t *rq, json_t *body)
{
    json_t *e = sb_vr_request_params(rq, body);
    if (!e && (rq->needs & SB_VR_NEED_ADMIN_KEY) && sb_vr_config.admin_key)
        e = sb_vr_check_key(body, "admin_key", sb_vr_config.admin_key);
    return e;
}

/* A synchronous request answered at once: its answer (owned). */
static json_t *sb_vr_sync_run(const sb_vr_request_t *rq, json_t *body)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    sb_vr_sync_req_t req = {.body = body, .room = NULL, .ob = &ob};
    json_t *answer = NULL;
    if (rq->before && !(answer = sb_vr_request_check_unlocked(rq, body)))
        answer = rq->before(&req);
    if (!answer) {
        g_mutex_lock(&sb_vr_lock);
        answer = sb_vr_request_check(rq, &req);
        if (!answer)
            answer = rq->run(&req);
        g_mutex_unlock(&sb_vr_lock);
    }
    sb_vr_outbox_flush(&ob);
    if (rq->after)
        rq->after(&req, &answer);
    json_decref(req.copy);
    return answer;
}

/* The request name of body, or NULL with *err set (owned). */
static const char *sb_vr_request_name(json_t *body, json_t **err)
{
    json_t *req = json_object_get(body, "request");
    *err = !req ? sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT,
                                   "Missing mandatory element (request)")
           : !json_is_string(req)
               ? sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                                  "Invalid element type (request should be a string)")
               : NULL;
    return *err ? NULL : json_string_value(req);
}

json_t *sb_vr_handle_admin_message(json_t *body)
{
    json_t *err;
    const char *name = sb_vr_request_name(body, &err);
    if (!name)
        return err;
    const sb_vr_request_t *rq = sb_vr_request_find(name);
    if (!rq || !rq->run)
        return sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unknown request '%s'", name);
    return sb_vr_sync_run(rq, body);
}

sb_plugin_result_t sb_vr_handle_message(sb_vr_session_t *s, const char *transaction,
                                        json_t *body, json_t *jsep)
{
    json_t *err;
    const char *name = sb_vr_request_name(body, &err);
    if (!name)
        return sb_plugin_ok(err);
    const sb_vr_request_t *rq = sb_vr_request_find(name);
    if (!rq)
        return sb_plugin_ok(
            sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unknown request '%s'", name));
    if (rq->run)
        return sb_plugin_ok(sb_vr_sync_run(rq, body));
    sb_vr_msg_t *m = SB_NEW(sb_vr_msg_t);
    sb_vr_session_ref(s);
    m->s = s;
    m->transaction = sb_strdup(transaction);
    m->body = json_incref(body);
    m->jsep = jsep ? json_incref(jsep) : NULL;
    sb_vr_queue_msg(m);
    return sb_plugin_wait();
}

/* ---- asynchronous routing (message thread) --------------------------------------------- */

static void sb_vr_reply(sb_vr_msg_t *m, json_t *data)
{
    sb_vr_push_event(m->s->h, m->transaction, data, NULL);
    json_decref(data);
}

/* join and joinandconfigure, their parameters checked: by the ptype. */
static void sb_vr_process_join(sb_vr_msg_t *m, bool and_configure)
{
    const char *ptype = json_string_value(json_object_get(m->body, "ptype"));
    g_mutex_lock(&sb_vr_lock);
    sb_vr_role_t role = m->s->role;
    g_mutex_unlock(&sb_vr_lock);
    bool pub = !strcmp(ptype, "publisher");
    bool sub = !strcmp(ptype, "subscriber") || !strcmp(ptype, "listener");
    if (!pub && !sub)
        sb_vr_reply(m, sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT, "Invalid element (ptype)"));
    else if (role != SB_VR_ROLE_NONE)
        sb_vr_reply(m, sb_vr_error_json(SB_VR_ERR_ALREADY_JOINED,
                                        "Already in as a %s on this handle",
                                        role == SB_VR_ROLE_PUBLISHER ? "publisher"
                                                                     : "subscriber"));
    else if (sub && and_configure)
        sb_vr_reply(m, sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                                        "Invalid element (ptype: joinandconfigure is for "
                                        "publishers only)"));
    else if (pub)
        sb_vr_publisher_join(m, and_configure);
    else
        sb_vr_subscriber_join(m);
}

void sb_vr_process(sb_vr_msg_t *m)
{
    g_mutex_lock(&sb_vr_lock);
    bool gone = m->s->destroyed;
    sb_vr_role_t role = m->s->role;
    if (m->s->pub) {
        sb_vr_publisher_ref(m->s->pub);
        m->pub = m->s->pub;
    }
    if (m->s->sub) {
        sb_vr_subscriber_ref(m->s->sub);
        m->sub = m->s->sub;
    }
    g_mutex_unlock(&sb_vr_lock);
    if (gone)
        return;
    const char *request = json_string_value(json_object_get(m->body, "request"));
    json_t *err = sb_vr_request_params(sb_vr_request_find(request), m->body);
    if (err) {
        sb_vr_reply(m, err);
        return;
    }
    if (!strcmp(request, "join") || !strcmp(request, "joinandconfigure")) {
        sb_vr_process_join(m, !strcmp(request, "joinandconfigure"));
        return;
    }
    switch (role) {
    case SB_VR_ROLE_PUBLISHER:
        sb_vr_publisher_request(m, request);
        break;
    case SB_VR_ROLE_SUBSCRIBER:
        sb_vr_subscriber_request(m, request);
        break;
    default:
        sb_vr_reply(m, sb_vr_error_json(SB_VR_ERR_JOIN_FIRST,
                                        "Invalid request on unconfigured participant"));
    }
}
