/* TextRoom participation, over a data channel only: join (pin, ACL token, history for
 * newcomers), leave, and message (room-wide, or whispered to one "to" or a "tos" list),
 * plus the silent departure of a handle whose PeerConnection or handle went away.
 *
 * What each side sees, as the reference orders it: the joiner gets the room's history,
 * then the "join" event (everyone gets it, the joiner too), then the reply; a leaver gets
 * its own "leave" event before the reply; a room-wide message comes back to its sender
 * too; a whisper goes to its targets only, to each once however many times "tos" names it
 * (the reference sends one copy per mention: one request could send a victim
 * max_participants copies of max_text).
 *
 * Does not manage rooms (admin.c). Threads: under the plugin lock. */
#include <string.h>

#include "switchboard/alloc.h"
#include "textroom.h"

/* {"username", "display"?} of one participant. Owned. */
static json_t *sb_tr_participant_json(const sb_tr_participant_t *p)
{
    json_t *j = json_pack("{s:s}", "username", p->username);
    if (p->display)
        json_object_set_new(j, "display", json_string(p->display));
    return j;
}

/* An event about r: {"textroom":what,"room":id}. Owned. */
static json_t *sb_tr_room_event(const char *what, const sb_tr_room_t *r)
{
    return json_pack("{s:s, s:o}", "textroom", what, "room", sb_tr_room_id_json(r));
}

/* Pin, then the allowed list: NULL (may join), or the error. */
static json_t *sb_tr_join_auth(const sb_tr_room_t *r, json_t *body)
{
    if (r->o.pin) {
        json_t *pin = json_object_get(body, "pin");
        if (!pin)
            return sb_tr_error(SB_TR_ERR_MISSING_ELEMENT, "Missing mandatory element (pin)");
        if (!sb_tr_secret_equal(json_string_value(pin), r->o.pin))
            return sb_tr_error(SB_TR_ERR_UNAUTHORIZED, "Unauthorized (wrong pin)");
    }
    if (r->check_allowed) {
        const char *token = json_string_value(json_object_get(body, "token"));
        bool ok = false;
        for (guint i = 0; token && !ok && i < r->allowed->len; i++)
            ok = !strcmp(g_ptr_array_index(r->allowed, i), token);
        if (!ok)
            return sb_tr_error(SB_TR_ERR_UNAUTHORIZED, "Unauthorized (not in the allowed list)");
    }
    return NULL;
}

json_t *sb_tr_req_join(sb_tr_req_t *req)
{
    json_t *e;
    sb_tr_room_t *r = req->room;
    if ((e = sb_tr_join_auth(r, req->body)))
        return e;
    const char *username = json_string_value(json_object_get(req->body, "username"));
    const char *display = json_string_value(json_object_get(req->body, "display"));
    if (sb_tr_session_in(req->s, r))
        return sb_tr_error(SB_TR_ERR_ALREADY_IN_ROOM, "Already in room %s", r->key);
    if (g_hash_table_contains(r->by_name, username))
        return sb_tr_error(SB_TR_ERR_USERNAME_EXISTS, "Username already taken");
    if (r->participants->len >= sb_tr_config.max_participants)
        return sb_tr_error(SB_TR_ERR_UNKNOWN, "Room %s is full (%u participants)", r->key,
                           sb_tr_config.max_participants);
    if (req->s->rooms->len >= sb_tr_config.max_rooms_per_user)
        return sb_tr_error(SB_TR_ERR_UNKNOWN, "Too many rooms joined (at most %u at once)",
                           sb_tr_config.max_rooms_per_user);
    json_t *others = json_array();
    for (guint i = 0; i < r->participants->len; i++)
        json_array_append_new(others,
                              sb_tr_participant_json(g_ptr_array_index(r->participants, i)));
    sb_tr_participant_t *p = sb_tr_room_join(r, req->s, username, display);
    if (!json_is_false(json_object_get(req->body, "history"))) {
        for (GList *l = r->past.head; l; l = l->next)
            sb_tr_outbox_add(req->ob, req->s, l->data);
    }
    json_t *ev = sb_tr_room_event("join", r), *who = sb_tr_participant_json(p);
    json_object_update(ev, who);
    json_decref(who);
    sb_tr_text_t *t = sb_tr_text_new(ev);
    sb_tr_outbox_room(req->ob, r, t, NULL);
    sb_tr_text_unref(t);
    json_decref(ev);
    return json_pack("{s:s, s:o}", "textroom", "success", "participants", others);
}

/* Under the lock: p's room learns it left (p itself too when tell_self), then p goes. */
static void sb_tr_leave(sb_tr_participant_t *p, sb_tr_outbox_t *ob, bool tell_self)
{
    json_t *ev = sb_tr_room_event("leave", p->room);
    json_object_set_new(ev, "username", json_string(p->username));
    sb_tr_text_t *t = sb_tr_text_new(ev);
    sb_tr_outbox_room(ob, p->room, t, tell_self ? NULL : p);
    sb_tr_text_unref(t);
    json_decref(ev);
    sb_tr_room_part(p);
}

json_t *sb_tr_req_leave(sb_tr_req_t *req)
{
    sb_tr_room_t *r = req->room;
    sb_tr_participant_t *p = sb_tr_session_in(req->s, r);
    if (!p)
        return sb_tr_error(SB_TR_ERR_NOT_IN_ROOM, "Not in room %s", r->key);
    sb_tr_leave(p, req->ob, true);
    return json_pack("{s:s}", "textroom", "success");
}

void sb_tr_session_leave_all(sb_tr_session_t *s, sb_tr_outbox_t *ob)
{
    while (s->rooms->len > 0)
        sb_tr_leave(g_ptr_array_index(s->rooms, s->rooms->len - 1), ob, false);
}

/* "tos": strings only, at most one per possible participant. NULL, or the error. */
static json_t *sb_tr_check_tos(json_t *tos)
{
    if (json_array_size(tos) > sb_tr_config.max_participants)
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT, "Invalid element (tos: at most %u usernames)",
                           sb_tr_config.max_participants);
    size_t i;
    json_t *v;
    json_array_foreach(tos, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > SB_TR_MAX_NAME)
            return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                               "Invalid element in the tos array (not a username)");
    }
    return NULL;
}

/* Whispered: to each of names (an array) present in r, once (a repeated name is skipped);
 * {"name": delivered, ...}, each name once, in first-mention order. Owned. */
static json_t *sb_tr_whisper(sb_tr_req_t *req, sb_tr_room_t *r, json_t *names, sb_tr_text_t *t)
{
    json_t *sent = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *name = json_string_value(v);
        if (json_object_get(sent, name))
            continue;
        sb_tr_participant_t *to = g_hash_table_lookup(r->by_name, name);
        if (to)
            sb_tr_outbox_add(req->ob, to->session, t);
        json_object_set_new(sent, name, json_boolean(to != NULL));
    }
    return sent;
}

json_t *sb_tr_message_check(json_t *body)
{
    json_t *to = json_object_get(body, "to"), *tos = json_object_get(body, "tos");
    if (to && tos)
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT, "Both to and tos array provided");
    return tos ? sb_tr_check_tos(tos) : NULL;
}

json_t *sb_tr_req_message(sb_tr_req_t *req)
{
    json_t *body = req->body;
    json_t *to = json_object_get(body, "to"), *tos = json_object_get(body, "tos");
    sb_tr_room_t *r = req->room;
    sb_tr_participant_t *p = sb_tr_session_in(req->s, r);
    if (!p)
        return sb_tr_error(SB_TR_ERR_NOT_IN_ROOM, "Not in room %s", r->key);
    char date[64];
    sb_tr_date(date, sizeof(date));
    json_t *ev = sb_tr_room_event("message", r);
    json_object_set_new(ev, "from", json_string(p->username));
    json_object_set_new(ev, "date", json_string(date));
    json_object_set(ev, "text", json_object_get(body, "text"));
    if (to || tos)
        json_object_set_new(ev, "whisper", json_true());
    sb_tr_text_t *t = sb_tr_text_new(ev);
    json_decref(ev);
    if (t->len > SB_TR_MAX_EVENT) {
        size_t len = t->len;
        sb_tr_text_unref(t);
        return sb_tr_error(SB_TR_ERR_INVALID_ELEMENT,
                           "Invalid element (text: the message would be %zu bytes, over %d)", len,
                           SB_TR_MAX_EVENT);
    }
    json_t *reply = json_pack("{s:s}", "textroom", "success");
    if (to || tos) {
        json_t *names = tos ? json_incref(tos) : json_pack("[O]", to);
        json_object_set_new(reply, "sent", sb_tr_whisper(req, r, names, t));
        json_decref(names);
    } else {
        sb_tr_outbox_room(req->ob, r, t, NULL);
        sb_tr_room_remember(r, t);
        if (r->o.post)
            sb_tr_post_queue(r->o.post, t);
    }
    sb_tr_text_unref(t);
    if (json_is_false(json_object_get(body, "ack"))) {
        json_decref(reply);
        return NULL;
    }
    return reply;
}
