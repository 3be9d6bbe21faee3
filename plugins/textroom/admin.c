/* TextRoom room management, over a data channel and over the API alike: list, exists,
 * create, edit, destroy, allowed (the ACL of join tokens), kick, listparticipants and
 * announcement (a message from the room itself). Secrets gate edit, destroy, allowed, kick
 * and announcement; the plugin's admin_key, when configured, gates create and an edit's
 * new_post (and shows private rooms in list). What each request needs (the room, its
 * secret, the admin_key, its parameters) is declared in requests.c's table and checked
 * before the handler runs; a handler checks only what depends on the request's values. A
 * request may give a room an HTTP backend ("post", "new_post") only under a prefix the
 * operator allowed (general.post_allowed): else any client could make the server POST to
 * internal addresses.
 *
 * Replies keep the reference's shapes, quirks included: create, edit and destroy answer
 * "created", "edited", "destroyed" over the API but "success" over a data channel; kick
 * answers {"textbridge":"success"}; listparticipants has no "textroom" member; a destroy
 * over a data channel also sends its requester the "destroyed" event. "permanent" is
 * always answered false: rooms are never written back to the configuration.
 *
 * Does not handle participation (chat.c). Threads: under the plugin lock. */
#include <stddef.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "textroom.h"

/* ---- room options ----------------------------------------------------------------------- */

/* The settings "create" takes and "edit" changes (as new_<name>). */
static const struct {
    const char *name;
    int type;
    size_t off;
    bool editable;
} sb_tr_room_fields[] = {
    {"description", SB_TR_T_STRING, offsetof(sb_tr_room_opts_t, description), true},
    {"secret", SB_TR_T_STRING, offsetof(sb_tr_room_opts_t, secret), true},
    {"pin", SB_TR_T_STRING, offsetof(sb_tr_room_opts_t, pin), true},
    {"post", SB_TR_T_STRING, offsetof(sb_tr_room_opts_t, post), true},
    {"is_private", SB_TR_T_BOOL, offsetof(sb_tr_room_opts_t, is_private), true},
    {"history", SB_TR_T_UINT, offsetof(sb_tr_room_opts_t, history), false},
};

/* Set the fields body carries (checked already) onto o. An empty secret or pin is none. */
static void sb_tr_room_opts_set(sb_tr_room_opts_t *o, json_t *body, const char *prefix)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_tr_room_fields); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s%s", prefix, sb_tr_room_fields[i].name);
        json_t *v = json_object_get(body, key);
        if (!v || (*prefix && !sb_tr_room_fields[i].editable))
            continue;
        void *f = (char *)o + sb_tr_room_fields[i].off;
        switch (sb_tr_room_fields[i].type) {
        case SB_TR_T_BOOL:
            *(bool *)f = json_is_true(v);
            break;
        case SB_TR_T_UINT:
            *(unsigned *)f = (unsigned)json_integer_value(v);
            break;
        default: {
            char **s = f;
            sb_free(*s);
            bool none = !json_string_length(v) && strcmp(sb_tr_room_fields[i].name, "description");
            *s = none ? NULL : sb_strdup(json_string_value(v));
        }
        }
    }
}

/* "allowed": strings, deduplicated, at most SB_TR_MAX_ALLOWED. NULL and *out, or the error. */
static json_t *sb_tr_allowed_parse(json_t *arr, GPtrArray **out)
{
    if (json_array_size(arr) > SB_TR_MAX_ALLOWED)
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                           "Invalid element (allowed: at most %d tokens)", SB_TR_MAX_ALLOWED);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                               "Invalid element in the allowed array (not a string)");
        if (json_string_length(v) > SB_TR_MAX_STRING)
            return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                               "Invalid element in the allowed array (longer than %d bytes)",
                               SB_TR_MAX_STRING);
    }
    GPtrArray *a = g_ptr_array_new_with_free_func(sb_free);
    json_array_foreach(arr, i, v)
    {
        if (!g_ptr_array_find_with_equal_func(a, json_string_value(v), g_str_equal, NULL))
            g_ptr_array_add(a, sb_strdup(json_string_value(v)));
    }
    *out = a;
    return NULL;
}

bool sb_tr_post_allowed(const char *url)
{
    const char *prefix = NULL;
    for (char **p = sb_tr_config.post_allowed; p && *p && !prefix; p++) {
        if (!strncmp(url, *p, strlen(*p)))
            prefix = *p;
    }
    if (!prefix)
        return false;
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '\\')
            return false;
    }
    /* The path (from the "/" after the authority, which the prefix holds, to "?" or "#"):
     * no segment libcurl (or the backend) would resolve out of the allowed prefix, no
     * encoded dot, slash or backslash a backend might decode into one. */
    const char *path = strchr(strstr(url, "://") + 3, '/');
    size_t len = strcspn(path, "?#");
    for (size_t i = 0; i + 2 < len; i++) {
        char hi = path[i + 1], lo = (char)g_ascii_tolower(path[i + 2]);
        if (path[i] == '%' && ((hi == '2' && (lo == 'e' || lo == 'f')) || (hi == '5' && lo == 'c')))
            return false;
    }
    for (size_t i = 0; i < len;) { /* path[i] is a "/" */
        size_t seg = strcspn(path + i + 1, "/?#");
        if ((seg == 1 && path[i + 1] == '.') ||
            (seg == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
            return false;
        i += seg + 1;
    }
    return true;
}

/* An HTTP backend is an http:// or https:// URL (nothing else is ever contacted): 414
 * otherwise. One a request gives (not from_conf) must also be allowed: 419 otherwise. An
 * empty one is none (always fine). */
static json_t *sb_tr_post_check(json_t *body, const char *name, bool from_conf)
{
    const char *url = json_string_value(json_object_get(body, name));
    if (!url || !*url)
        return NULL;
    if (g_ascii_strncasecmp(url, "http://", 7) && g_ascii_strncasecmp(url, "https://", 8))
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                           "Invalid element (%s should be an http:// or https:// URL)", name);
    if (from_conf || sb_tr_post_allowed(url))
        return NULL;
    if (!sb_tr_config.post_allowed || !sb_tr_config.post_allowed[0])
        return sb_tr_error(SB_TR_ERR_UNAUTHORIZED,
                           "Unauthorized (%s: HTTP backends may only be set in the configuration)",
                           name);
    return sb_tr_error(SB_TR_ERR_UNAUTHORIZED, "Unauthorized (%s: URL not allowed)", name);
}

json_t *sb_tr_room_create(json_t *body, bool from_conf, sb_tr_room_t **out)
{
    static const sb_tr_param_t params[] = {
        {"room", SB_TR_T_ROOM, false},
        {"description", SB_TR_T_STRING, false},
        {"secret", SB_TR_T_STRING, false},
        {"pin", SB_TR_T_STRING, false},
        {"post", SB_TR_T_STRING, false},
        {"is_private", SB_TR_T_BOOL, false},
        {"history", SB_TR_T_HISTORY, false},
        {"permanent", SB_TR_T_BOOL, false},
        {"allowed", SB_TR_T_ARRAY, false},
    };
    json_t *e = SB_TR_CHECK(body, params);
    if (!e)
        e = sb_tr_post_check(body, "post", from_conf);
    GPtrArray *allowed = NULL;
    json_t *jallowed = json_object_get(body, "allowed");
    if (!e && jallowed)
        e = sb_tr_allowed_parse(jallowed, &allowed);
    if (e)
        return e;
    char buf[32];
    const char *key = json_object_get(body, "room") ? sb_tr_room_key(body, buf, sizeof(buf)) : NULL;
    if (key && !strcmp(key, "0") && !sb_tr_config.string_ids)
        key = NULL; /* 0: pick one, as the reference does */
    sb_tr_room_opts_t o = {0};
    sb_tr_room_opts_set(&o, body, "");
    int rc = sb_tr_room_add(key, &o, allowed, out);
    if (rc == 0)
        return NULL;
    sb_tr_room_opts_deinit(&o);
    if (allowed)
        g_ptr_array_unref(allowed);
    if (rc == SB_EEXIST)
        return sb_tr_error(SB_TR_ERR_ROOM_EXISTS, "Room %s already exists", key);
    return sb_tr_error(SB_TR_ERR_UNKNOWN, "Too many rooms (at most %u)", sb_tr_config.max_rooms);
}

/* {"textroom":what,"room":id,"permanent":false}: create, edit and destroy answer so. */
static json_t *sb_tr_room_reply(const char *what, const sb_tr_room_t *r)
{
    return json_pack("{s:s, s:o, s:b}", "textroom", what, "room", sb_tr_room_id_json(r),
                     "permanent", false);
}

/* ---- the requests ------------------------------------------------------------------------ */

json_t *sb_tr_req_list(sb_tr_req_t *req)
{
    json_t *list = json_array();
    GPtrArray *rooms = sb_tr_rooms_all();
    for (guint i = 0; i < rooms->len; i++) {
        sb_tr_room_t *r = g_ptr_array_index(rooms, i);
        if (r->o.is_private && !req->admin)
            continue;
        json_array_append_new(list,
                              json_pack("{s:o, s:s, s:b, s:i, s:i}", "room", sb_tr_room_id_json(r),
                                        "description", r->o.description, "pin_required",
                                        r->o.pin != NULL, "num_participants",
                                        (int)r->participants->len, "history", (int)r->o.history));
    }
    g_ptr_array_unref(rooms);
    return json_pack("{s:s, s:o}", "textroom", "success", "list", list);
}

json_t *sb_tr_req_exists(sb_tr_req_t *req)
{
    char buf[32];
    bool found = sb_tr_room_find(sb_tr_room_key(req->body, buf, sizeof(buf))) != NULL;
    return json_pack("{s:s, s:O, s:b}", "textroom", "success", "room",
                     json_object_get(req->body, "room"), "exists", found);
}

json_t *sb_tr_req_create(sb_tr_req_t *req)
{
    sb_tr_room_t *r = NULL;
    json_t *e = sb_tr_room_create(req->body, false, &r);
    if (e)
        return e;
    return sb_tr_room_reply(SB_TR_OVER_API(req) ? "created" : "success", r);
}

json_t *sb_tr_req_edit(sb_tr_req_t *req)
{
    json_t *e;
    sb_tr_room_t *r = req->room;
    /* A new backend (or none) needs the admin_key too, when there is one: the room's
     * secret is its creator's, the backend is the operator's business. */
    if (json_object_get(req->body, "new_post") &&
        (e = sb_tr_check_admin_key(req->body, true, &req->admin)))
        return e;
    if ((e = sb_tr_post_check(req->body, "new_post", false)))
        return e;
    sb_tr_room_opts_set(&r->o, req->body, "new_");
    return sb_tr_room_reply(SB_TR_OVER_API(req) ? "edited" : "success", r);
}

json_t *sb_tr_req_destroy(sb_tr_req_t *req)
{
    sb_tr_room_t *r = req->room;
    json_t *ev = json_pack("{s:s, s:o}", "textroom", "destroyed", "room", sb_tr_room_id_json(r));
    sb_tr_text_t *t = sb_tr_text_new(ev);
    json_decref(ev);
    if (!SB_TR_OVER_API(req))
        sb_tr_outbox_add(req->ob, req->s, t);
    sb_tr_outbox_room(req->ob, r, t, NULL);
    sb_tr_text_unref(t);
    json_t *reply = sb_tr_room_reply(SB_TR_OVER_API(req) ? "destroyed" : "success", r);
    sb_tr_room_destroy(r);
    return reply;
}

static json_t *sb_tr_allowed_json(const sb_tr_room_t *r)
{
    json_t *a = json_array();
    for (guint i = 0; i < r->allowed->len; i++)
        json_array_append_new(a, json_string(g_ptr_array_index(r->allowed, i)));
    return a;
}

json_t *sb_tr_req_allowed(sb_tr_req_t *req)
{
    json_t *e;
    sb_tr_room_t *r = req->room;
    const char *action = json_string_value(json_object_get(req->body, "action"));
    bool add = !strcmp(action, "add"), remove = !strcmp(action, "remove");
    bool enable = !strcmp(action, "enable"), disable = !strcmp(action, "disable");
    if (!add && !remove && !enable && !disable)
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT, "Unsupported action '%s' (allowed)", action);
    json_t *jallowed = json_object_get(req->body, "allowed");
    GPtrArray *tokens = NULL;
    if ((add || remove) && jallowed && (e = sb_tr_allowed_parse(jallowed, &tokens)))
        return e;
    for (guint i = 0; tokens && i < tokens->len; i++) {
        const char *t = g_ptr_array_index(tokens, i);
        guint at;
        bool found = g_ptr_array_find_with_equal_func(r->allowed, t, g_str_equal, &at);
        if (add && !found && r->allowed->len < SB_TR_MAX_ALLOWED)
            g_ptr_array_add(r->allowed, sb_strdup(t));
        else if (remove && found)
            g_ptr_array_remove_index(r->allowed, at);
    }
    if (tokens)
        g_ptr_array_unref(tokens);
    if (enable || disable)
        r->check_allowed = enable;
    json_t *reply = json_pack("{s:s, s:o}", "textroom", "success", "room", sb_tr_room_id_json(r));
    if (!disable)
        json_object_set_new(reply, "allowed", sb_tr_allowed_json(r));
    return reply;
}

json_t *sb_tr_req_kick(sb_tr_req_t *req)
{
    sb_tr_room_t *r = req->room;
    const char *username = json_string_value(json_object_get(req->body, "username"));
    sb_tr_participant_t *p = g_hash_table_lookup(r->by_name, username);
    if (!p)
        return sb_tr_error(SB_TR_ERR_NO_SUCH_USER, "No such user %s in room %s", username, r->key);
    json_t *ev = json_pack("{s:s, s:o, s:s}", "textroom", "kicked", "room", sb_tr_room_id_json(r),
                           "username", username);
    sb_tr_text_t *t = sb_tr_text_new(ev);
    json_decref(ev);
    sb_tr_outbox_room(req->ob, r, t, NULL); /* the kicked one too */
    sb_tr_text_unref(t);
    sb_tr_room_part(p);
    return json_pack("{s:s}", "textbridge", "success"); /* sic: the reference's reply */
}

json_t *sb_tr_req_listparticipants(sb_tr_req_t *req)
{
    sb_tr_room_t *r = req->room;
    json_t *list = json_array();
    for (guint i = 0; i < r->participants->len; i++) {
        sb_tr_participant_t *p = g_ptr_array_index(r->participants, i);
        json_t *j = json_pack("{s:s}", "username", p->username);
        if (p->display)
            json_object_set_new(j, "display", json_string(p->display));
        json_array_append_new(list, j);
    }
    return json_pack("{s:o, s:o}", "room", sb_tr_room_id_json(r), "participants", list);
}

json_t *sb_tr_req_announcement(sb_tr_req_t *req)
{
    sb_tr_room_t *r = req->room;
    char date[64];
    sb_tr_date(date, sizeof(date));
    json_t *ev =
        json_pack("{s:s, s:o, s:s, s:O}", "textroom", "announcement", "room", sb_tr_room_id_json(r),
                  "date", date, "text", json_object_get(req->body, "text"));
    sb_tr_text_t *t = sb_tr_text_new(ev);
    json_decref(ev);
    if (t->len > SB_TR_MAX_EVENT) {
        size_t len = t->len;
        sb_tr_text_unref(t);
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                           "Invalid element (text: the announcement would be %zu bytes, over %d)",
                           len, SB_TR_MAX_EVENT);
    }
    sb_tr_outbox_room(req->ob, r, t, NULL);
    sb_tr_room_remember(r, t);
    if (r->o.post)
        sb_tr_post_queue(r->o.post, t);
    sb_tr_text_unref(t);
    return json_pack("{s:s}", "textroom", "success");
}
