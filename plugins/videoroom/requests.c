/* VideoRoom requests: the request table (which requests are answered at once and which go
 * to the message thread), parameter validation with the reference's error codes and texts
 * (429 missing, 430 invalid), and the routing of asynchronous requests by role.
 *
 * Does not implement any request itself (admin.c, publisher.c, subscriber.c do).
 * Threads: sb_vr_handle_message runs on a control thread (synchronous requests under the
 * plugin lock); sb_vr_process on the message thread. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "videoroom.h"

/* ---- validation ----------------------------------------------------------------------- */

static const char *sb_vr_type_text(int type)
{
    switch (type) {
    case SB_VR_T_STRING:
        return "a string";
    case SB_VR_T_UINT:
        return "a positive integer";
    case SB_VR_T_INT:
        return "an integer";
    case SB_VR_T_BOOL:
        return "a boolean";
    case SB_VR_T_ARRAY:
        return "an array";
    case SB_VR_T_OBJECT:
        return "an object";
    default:
        return "a string or a positive integer";
    }
}

static bool sb_vr_type_ok(json_t *v, int type)
{
    switch (type) {
    case SB_VR_T_STRING:
        return json_is_string(v);
    case SB_VR_T_UINT:
        return json_is_integer(v) && json_integer_value(v) >= 0;
    case SB_VR_T_INT:
        return json_is_integer(v);
    case SB_VR_T_BOOL:
        return json_is_boolean(v);
    case SB_VR_T_ARRAY:
        return json_is_array(v);
    case SB_VR_T_OBJECT:
        return json_is_object(v);
    default:
        return json_is_string(v) || (json_is_integer(v) && json_integer_value(v) >= 0);
    }
}

int sb_vr_params_check(json_t *obj, const sb_vr_param_t *params, size_t n, char *err,
                       size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, params[i].name);
        if (!v) {
            if (!params[i].required)
                continue;
            snprintf(err, err_len, "Missing mandatory element (%s)", params[i].name);
            return SB_VR_ERR_MISSING_ELEMENT;
        }
        if (!sb_vr_type_ok(v, params[i].type)) {
            snprintf(err, err_len, "Invalid element type (%s should be %s)", params[i].name,
                     sb_vr_type_text(params[i].type));
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        if (json_is_string(v) && json_string_length(v) > SB_VR_MAX_STRING) {
            snprintf(err, err_len, "Invalid element (%s longer than %d bytes)", params[i].name,
                     SB_VR_MAX_STRING);
            return SB_VR_ERR_INVALID_ELEMENT;
        }
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

/* ---- the table ------------------------------------------------------------------------ */

typedef json_t *(*sb_vr_sync_fn)(json_t *body, sb_vr_outbox_t *ob);

static json_t *sb_vr_sync_create(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_create(b);
}
static json_t *sb_vr_sync_edit(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_edit(b);
}
static json_t *sb_vr_sync_exists(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_exists(b);
}
static json_t *sb_vr_sync_list(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_list(b);
}
static json_t *sb_vr_sync_allowed(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_allowed(b);
}
static json_t *sb_vr_sync_listparticipants(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_req_listparticipants(b);
}
static json_t *sb_vr_sync_unsupported(json_t *b, sb_vr_outbox_t *ob)
{
    (void)ob;
    return sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unsupported request '%s'",
                            json_string_value(json_object_get(b, "request")));
}

static const struct {
    const char *name;
    sb_vr_sync_fn fn;
} sb_vr_sync_table[] = {
    {"create", sb_vr_sync_create},
    {"edit", sb_vr_sync_edit},
    {"destroy", sb_vr_req_destroy},
    {"exists", sb_vr_sync_exists},
    {"list", sb_vr_sync_list},
    {"allowed", sb_vr_sync_allowed},
    {"kick", sb_vr_req_kick},
    {"moderate", sb_vr_req_moderate},
    {"listparticipants", sb_vr_sync_listparticipants},
    /* Not implemented yet: answered at once with a clear error. */
    {"rtp_forward", sb_vr_sync_unsupported},
    {"stop_rtp_forward", sb_vr_sync_unsupported},
    {"listforwarders", sb_vr_sync_unsupported},
    {"enable_recording", sb_vr_sync_unsupported},
};

static const char *const sb_vr_async_table[] = {
    "join", "joinandconfigure", "configure", "publish", "unpublish", "start", "pause",
    "switch", "leave", "subscribe", "unsubscribe", "update",
};

#define SB_VR_COUNT(a) (sizeof(a) / sizeof(a[0]))

static sb_plugin_result_t sb_vr_sync_error(json_t *err)
{
    return sb_plugin_ok(err);
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

/* A synchronous request (create, list, ...) answered at once: its answer (owned), or NULL
 * when name is not one of them. */
static json_t *sb_vr_sync_request(json_t *body, const char *name)
{
    for (size_t i = 0; i < SB_VR_COUNT(sb_vr_sync_table); i++) {
        if (strcmp(name, sb_vr_sync_table[i].name) != 0)
            continue;
        sb_vr_outbox_t ob;
        sb_vr_outbox_init(&ob);
        g_mutex_lock(&sb_vr_lock);
        json_t *answer = sb_vr_sync_table[i].fn(body, &ob);
        g_mutex_unlock(&sb_vr_lock);
        sb_vr_outbox_flush(&ob);
        return answer;
    }
    return NULL;
}

json_t *sb_vr_handle_admin_message(json_t *body)
{
    json_t *err;
    const char *name = sb_vr_request_name(body, &err);
    if (!name)
        return err;
    json_t *answer = sb_vr_sync_request(body, name);
    return answer ? answer
                  : sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unknown request '%s'", name);
}

sb_plugin_result_t sb_vr_handle_message(sb_vr_session_t *s, const char *transaction,
                                        json_t *body, json_t *jsep)
{
    json_t *err;
    const char *name = sb_vr_request_name(body, &err);
    if (!name)
        return sb_vr_sync_error(err);
    json_t *answer = sb_vr_sync_request(body, name);
    if (answer)
        return sb_plugin_ok(answer);
    for (size_t i = 0; i < SB_VR_COUNT(sb_vr_async_table); i++) {
        if (strcmp(name, sb_vr_async_table[i]) != 0)
            continue;
        sb_vr_msg_t *m = SB_NEW(sb_vr_msg_t);
        sb_vr_session_ref(s);
        m->s = s;
        m->transaction = sb_strdup(transaction);
        m->body = json_incref(body);
        m->jsep = jsep ? json_incref(jsep) : NULL;
        sb_vr_queue_msg(m);
        return sb_plugin_wait();
    }
    return sb_vr_sync_error(
        sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unknown request '%s'", name));
}

/* ---- asynchronous routing (message thread) --------------------------------------------- */

static void sb_vr_reply(sb_vr_msg_t *m, json_t *data)
{
    sb_vr_core->push_event(m->s->h, m->transaction, data, NULL);
    json_decref(data);
}

static void sb_vr_process_join(sb_vr_msg_t *m, bool and_configure)
{
    static const sb_vr_param_t params[] = {
        {"room", SB_VR_T_UINT, true},
        {"ptype", SB_VR_T_STRING, true},
    };
    char err[256];
    int code = SB_VR_CHECK(m->body, params, err);
    if (code) {
        sb_vr_reply(m, sb_vr_error_json(code, "%s", err));
        return;
    }
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
