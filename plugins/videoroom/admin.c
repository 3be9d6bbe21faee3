/* VideoRoom synchronous requests: create, edit, destroy, exists, list, allowed, kick,
 * moderate, listparticipants (and the ones known but not implemented). Each handler runs
 * once the checks its entry of the request table declares passed (requests.c: the room it
 * names, its secret, the declared parameters, the admin_key), acts on the rooms table and
 * answers at once; events for other participants go into the request's outbox.
 *
 * Does not negotiate media nor touch the forwarding graph directly (publisher.c,
 * subscriber.c and forward.c do). Threads: a control thread, under the plugin lock. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "videoroom.h"

json_t *sb_vr_req_create(sb_vr_sync_req_t *req)
{
    json_t *body = req->body;
    char err[256];
    sb_vr_room_opts_t o;
    sb_vr_room_opts_defaults(&o);
    GPtrArray *allowed = NULL;
    int code = sb_vr_room_opts_apply(&o, body, "", false, err, sizeof(err));
    json_t *jallowed = json_object_get(body, "allowed");
    if (!code && jallowed)
        code = sb_vr_allowed_parse(jallowed, &allowed, err, sizeof(err));
    if (code) {
        sb_vr_room_opts_deinit(&o);
        return sb_vr_error_json(code, "%s", err);
    }
    o.room = (uint64_t)json_integer_value(json_object_get(body, "room"));
    sb_vr_room_t *r;
    int rc = sb_vr_room_add(&o, allowed, &r);
    if (rc < 0) {
        json_t *ans = rc == SB_EEXIST ? sb_vr_error_json(SB_VR_ERR_ROOM_EXISTS,
                                                         "Room %llu already exists",
                                                         (unsigned long long)o.room)
                                      : sb_vr_error_json(SB_VR_ERR_UNKNOWN,
                                                         "Too many rooms");
        sb_vr_room_opts_deinit(&o);
        if (allowed)
            g_ptr_array_unref(allowed);
        return ans;
    }
    /* Rooms are never saved ("permanent" answers false, as the reference does when it
     * cannot write its configuration). */
    sb_vr_notify(NULL, "created", r->o.room, NULL);
    return json_pack("{s:s, s:I, s:b}", "videoroom", "created", "room", (json_int_t)r->o.room,
                     "permanent", false);
}

/* New REMB caps for the publishers that follow the room's bitrate. */
static void sb_vr_room_bitrate_changed(sb_vr_room_t *r)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_publisher_t *p = v;
        atomic_store(&p->loop.remb_bps, p->bitrate ? p->bitrate : r->o.bitrate);
    }
}

json_t *sb_vr_req_edit(sb_vr_sync_req_t *req)
{
    json_t *body = req->body;
    sb_vr_room_t *r = req->room;
    /* Validate on a scratch copy first, so a bad field changes nothing. */
    char err[256];
    sb_vr_room_opts_t scratch;
    sb_vr_room_opts_defaults(&scratch);
    int code = sb_vr_room_opts_apply(&scratch, body, "new_", false, err, sizeof(err));
    sb_vr_room_opts_deinit(&scratch);
    if (code)
        return sb_vr_error_json(code, "%s", err);
    sb_vr_room_opts_apply(&r->o, body, "new_", false, err, sizeof(err));
    sb_vr_room_bitrate_changed(r);
    return json_pack("{s:s, s:I, s:b}", "videoroom", "edited", "room", (json_int_t)r->o.room,
                     "permanent", false);
}

json_t *sb_vr_req_destroy(sb_vr_sync_req_t *req)
{
    sb_vr_room_t *r = req->room;
    sb_vr_outbox_t *ob = req->ob;
    uint64_t id = r->o.room;
    sb_vr_room_ref(r);
    sb_vr_span_destroyed(r);
    sb_vr_room_remove(r);
    json_t *ev = json_pack("{s:s, s:I}", "videoroom", "destroyed", "room", (json_int_t)id);
    /* Everyone learns it, then is taken out and has their PeerConnection closed. */
    GList *pubs = g_hash_table_get_values(r->participants);
    for (GList *l = pubs; l; l = l->next) {
        sb_vr_publisher_t *p = l->data;
        sb_vr_outbox_add(ob, p->h, NULL, json_deep_copy(ev), NULL);
        sb_vr_publisher_leave(p, ob, false, false);
    }
    g_list_free(pubs);
    while (r->subscribers->len > 0) {
        sb_vr_subscriber_t *s = g_ptr_array_index(r->subscribers, r->subscribers->len - 1);
        sb_vr_outbox_add(ob, s->h, NULL, json_deep_copy(ev), NULL);
        sb_vr_subscriber_leave(s, ob);
    }
    json_decref(ev);
    sb_vr_room_unref(r);
    sb_vr_notify(NULL, "destroyed", id, NULL);
    return json_pack("{s:s, s:I, s:b}", "videoroom", "destroyed", "room", (json_int_t)id,
                     "permanent", false);
}

json_t *sb_vr_req_exists(sb_vr_sync_req_t *req)
{
    json_int_t id = json_integer_value(json_object_get(req->body, "room"));
    return json_pack("{s:s, s:I, s:b}", "videoroom", "success", "room", id, "exists",
                     sb_vr_room_find((uint64_t)id) != NULL);
}

json_t *sb_vr_req_list(sb_vr_sync_req_t *req)
{
    json_t *key = json_object_get(req->body, "admin_key");
    bool admin = sb_vr_config.admin_key && json_is_string(key) &&
                 !strcmp(json_string_value(key), sb_vr_config.admin_key);
    json_t *list = json_array();
    GPtrArray *rooms = sb_vr_rooms_all();
    for (guint i = 0; i < rooms->len; i++) {
        sb_vr_room_t *r = g_ptr_array_index(rooms, i);
        if (!r->o.is_private || admin)
            json_array_append_new(list, sb_vr_room_json(r));
    }
    g_ptr_array_unref(rooms);
    return json_pack("{s:s, s:o}", "videoroom", "success", "list", list);
}

static json_t *sb_vr_allowed_json(const sb_vr_room_t *r)
{
    json_t *a = json_array();
    for (guint i = 0; i < r->allowed->len; i++)
        json_array_append_new(a, json_string(g_ptr_array_index(r->allowed, i)));
    return a;
}

json_t *sb_vr_req_allowed(sb_vr_sync_req_t *req)
{
    json_t *body = req->body;
    sb_vr_room_t *r = req->room;
    char err[256];
    int code;
    const char *action = json_string_value(json_object_get(body, "action"));
    bool add = !strcmp(action, "add"), remove = !strcmp(action, "remove");
    if (!add && !remove && strcmp(action, "enable") && strcmp(action, "disable"))
        return sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT, "Unsupported action '%s' (allowed)",
                                action);
    GPtrArray *tokens = NULL;
    json_t *jallowed = json_object_get(body, "allowed");
    if ((add || remove) && jallowed &&
        (code = sb_vr_allowed_parse(jallowed, &tokens, err, sizeof(err))))
        return sb_vr_error_json(code, "%s", err);
    for (guint i = 0; tokens && i < tokens->len; i++) {
        const char *t = g_ptr_array_index(tokens, i);
        guint at;
        bool found = g_ptr_array_find_with_equal_func(r->allowed, t, g_str_equal, &at);
        if (add && !found)
            g_ptr_array_add(r->allowed, sb_strdup(t));
        else if (remove && found)
            g_ptr_array_remove_index(r->allowed, at);
    }
    if (tokens)
        g_ptr_array_unref(tokens);
    if (!strcmp(action, "enable"))
        r->check_allowed = true;
    if (!strcmp(action, "disable")) {
        r->check_allowed = false;
        return json_pack("{s:s, s:I}", "videoroom", "success", "room", (json_int_t)r->o.room);
    }
    return json_pack("{s:s, s:I, s:o}", "videoroom", "success", "room", (json_int_t)r->o.room,
                     "allowed", sb_vr_allowed_json(r));
}

/* The participant named by body's "id" (checked) in r, or NULL and the reference's error. */
static sb_vr_publisher_t *sb_vr_participant_lookup(sb_vr_room_t *r, json_t *body, json_t **err)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(body, "id"));
    sb_vr_publisher_t *p = g_hash_table_lookup(r->participants, &id);
    if (!p)
        *err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such user %llu in room %llu",
                                (unsigned long long)id, (unsigned long long)r->o.room);
    return p;
}

json_t *sb_vr_req_kick(sb_vr_sync_req_t *req)
{
    json_t *e = NULL;
    sb_vr_publisher_t *p = sb_vr_participant_lookup(req->room, req->body, &e);
    if (!p)
        return e;
    sb_vr_publisher_leave(p, req->ob, true, true);
    return json_pack("{s:s}", "videoroom", "success");
}

json_t *sb_vr_req_moderate(sb_vr_sync_req_t *req)
{
    json_t *e = NULL, *body = req->body;
    sb_vr_publisher_t *p = sb_vr_participant_lookup(req->room, body, &e);
    if (!p)
        return e;
    const char *mid = json_string_value(json_object_get(body, "mid"));
    int idx = sb_vr_publisher_stream_by_mid(p, mid);
    if (idx < 0)
        return sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such stream %s", mid);
    sb_vr_publisher_moderate(p, (unsigned)idx, json_is_true(json_object_get(body, "mute")),
                             req->ob);
    return json_pack("{s:s}", "videoroom", "success");
}

json_t *sb_vr_req_listparticipants(sb_vr_sync_req_t *req)
{
    sb_vr_room_t *r = req->room;
    json_t *list = json_array();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_publisher_t *p = v;
        json_t *j = json_pack("{s:I, s:b}", "id", (json_int_t)p->id, "publisher",
                              sb_vr_pub_live(p));
        if (p->display)
            json_object_set_new(j, "display", json_string(p->display));
        bool levels = false;
        for (unsigned i = 0; sb_vr_pub_live(p) && i < p->nstreams; i++)
            levels = levels || (p->streams[i].neg.kind == SB_MEDIA_AUDIO &&
                                p->streams[i].neg.ext_audio_level);
        if (levels)
            json_object_set_new(j, "talking", json_boolean(p->talking));
        json_array_append_new(list, j);
    }
    return json_pack("{s:s, s:I, s:o}", "videoroom", "participants", "room",
                     (json_int_t)r->o.room, "participants", list);
}

json_t *sb_vr_req_unsupported(sb_vr_sync_req_t *req)
{
    return sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unsupported request '%s'",
                            json_string_value(json_object_get(req->body, "request")));
}
