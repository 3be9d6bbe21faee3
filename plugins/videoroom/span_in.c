/* Rooms that span nodes: what the other nodes say (see span.c). Each message is handled on
 * the message thread, in the order the node sent them. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "span_internal.h"

/* ---- messages from the other nodes (message thread) ---- */

static void sb_vr_span_hello(unsigned from, uint64_t room, json_t *body)
{
    json_t *list = json_object_get(body, "participants");
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    bool active = r && !r->destroyed && r->span && r->span->active;
    json_t *locals = NULL;
    if (active) {
        r->span->peer[from] = true;
        if (!json_is_true(json_object_get(body, "reply")))
            locals = sb_vr_span_locals(r);
    }
    g_mutex_unlock(&sb_vr_lock);
    if (!active)
        return; /* no participant here any more: the sender hears "bye" from nobody */
    if (locals)
        sb_vr_span_send(from, "hello", room,
                        json_pack("{s:o, s:b}", "participants", locals, "reply", true));
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(it, "id"));
        if (id)
            sb_vr_span_remote_add(room, from, id,
                                  json_string_value(json_object_get(it, "display")));
    }
    /* Our live publishers' media to the new node. */
    g_mutex_lock(&sb_vr_lock);
    r = sb_vr_room_find(room);
    GHashTableIter hit;
    gpointer k, v;
    if (r)
        g_hash_table_iter_init(&hit, r->participants);
    while (r && g_hash_table_iter_next(&hit, &k, &v)) {
        sb_vr_publisher_t *p = v;
        if (!sb_vr_pub_remote(p) && sb_vr_pub_live(p))
            sb_vr_span_open(room, p->id);
    }
    g_mutex_unlock(&sb_vr_lock);
}

static void sb_vr_span_link_offer(unsigned from, uint64_t room, json_t *body)
{
    uint64_t feed = (uint64_t)json_integer_value(json_object_get(body, "feed"));
    json_t *map = json_object_get(body, "map"), *mids = json_object_get(body, "link_mids");
    const char *sdp = json_string_value(json_object_get(body, "sdp"));
    size_t n = json_array_size(map);
    if (!feed || !sdp || !n || n > SB_VR_SPAN_MAX_MLINES || json_array_size(mids) != n)
        return;
    g_mutex_lock(&sb_vr_lock);
    sb_vr_session_t *s = sb_vr_span_remote_find(sb_vr_room_find(room), feed, from);
    if (s) {
        sb_vr_span_link_t *l = s->link;
        l->nmap = (unsigned)n;
        for (size_t k = 0; k < n; k++) {
            json_t *e = json_array_get(map, k);
            snprintf(l->map[k].mid, sizeof(l->map[k].mid), "%s",
                     json_string_value(json_array_get(e, 0)) ?: "");
            l->map[k].layer = (unsigned)json_integer_value(json_array_get(e, 1));
            snprintf(l->link_mids[k], sizeof(l->link_mids[k]), "%s",
                     json_string_value(json_array_get(mids, k)) ?: "");
        }
        sb_vr_session_ref(s);
    }
    g_mutex_unlock(&sb_vr_lock);
    if (!s)
        return;
    sb_vr_span_request(s, json_pack("{s:s}", "request", "configure"),
                       json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp));
    sb_vr_session_unref(s);
}

static void sb_vr_span_link_answer(unsigned from, uint64_t room, json_t *body)
{
    uint64_t feed = (uint64_t)json_integer_value(json_object_get(body, "feed"));
    const char *sdp = json_string_value(json_object_get(body, "sdp"));
    if (!sdp)
        return;
    char *key = sb_vr_span_link_key(feed, from);
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    sb_vr_session_t *s = r && r->span ? g_hash_table_lookup(r->span->links, key) : NULL;
    if (s)
        sb_vr_session_ref(s);
    g_mutex_unlock(&sb_vr_lock);
    g_free(key);
    if (!s)
        return;
    sb_vr_span_request(s, json_pack("{s:s}", "request", "start"),
                       json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp));
    sb_vr_session_unref(s);
}

/* Another node's participant left, stopped publishing, or the node said bye (id 0: all of
 * that node's). Message thread. */
static void sb_vr_span_gone(unsigned from, uint64_t room, uint64_t id, const char *what)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    if (r && r->span) {
        if (!strcmp(what, "unpublished")) {
            sb_vr_session_t *s = sb_vr_span_remote_find(r, id, from);
            if (s && s->pub)
                sb_vr_publisher_unpublish(s->pub, &ob);
        } else if (!strcmp(what, "bye") || !strcmp(what, "node")) {
            r->span->peer[from] = false;
            sb_vr_span_close_links(r, 0, (int)from);
            GList *ids = g_hash_table_get_keys(r->span->remote);
            for (GList *l = ids; l; l = l->next)
                if (sb_vr_span_remote_find(r, *(uint64_t *)l->data, from))
                    sb_vr_span_remote_remove(r, *(uint64_t *)l->data, false, &ob);
            g_list_free(ids);
        } else if (sb_vr_span_remote_find(r, id, from)) {
            sb_vr_span_remote_remove(r, id, !strcmp(what, "kicked"), &ob);
        }
    }
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}

static void sb_vr_span_destroy_here(uint64_t room)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    json_t *answer = NULL;
    if (r) {
        if (r->span) /* the others know already */
            memset(r->span->peer, 0, sizeof(r->span->peer));
        sb_vr_sync_req_t req = {.body = NULL, .room = r, .ob = &ob};
        answer = sb_vr_req_destroy(&req);
    }
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
    json_decref(answer);
}

typedef struct sb_vr_span_in {
    unsigned from;
    json_t *body;
} sb_vr_span_in_t;

static void sb_vr_span_in_free(void *arg)
{
    sb_vr_span_in_t *in = arg;
    json_decref(in->body);
    sb_free(in);
}

static void sb_vr_span_in_run(void *arg)
{
    sb_vr_span_in_t *in = arg;
    const char *type = json_string_value(json_object_get(in->body, "type"));
    uint64_t room = (uint64_t)json_integer_value(json_object_get(in->body, "room"));
    uint64_t id = (uint64_t)json_integer_value(json_object_get(in->body, "id"));
    if (!type || !room)
        return;
    if (!strcmp(type, "hello"))
        sb_vr_span_hello(in->from, room, in->body);
    else if (!strcmp(type, "joined") && id)
        sb_vr_span_remote_add(room, in->from, id,
                              json_string_value(json_object_get(in->body, "display")));
    else if (!strcmp(type, "link_offer"))
        sb_vr_span_link_offer(in->from, room, in->body);
    else if (!strcmp(type, "link_answer"))
        sb_vr_span_link_answer(in->from, room, in->body);
    else if (!strcmp(type, "left"))
        sb_vr_span_gone(in->from, room, id,
                        json_is_true(json_object_get(in->body, "kicked")) ? "kicked" : "left");
    else if (!strcmp(type, "unpublished") || !strcmp(type, "bye"))
        sb_vr_span_gone(in->from, room, id, type);
    else if (!strcmp(type, "destroyed"))
        sb_vr_span_destroy_here(room);
}

void sb_vr_span_on_message(unsigned from, json_t *body)
{
    if (from >= SB_VR_SPAN_NODES)
        return;
    sb_vr_span_in_t *in = SB_NEW(sb_vr_span_in_t);
    in->from = from;
    in->body = json_incref(body);
    sb_vr_defer(sb_vr_span_in_run, in, sb_vr_span_in_free);
}

typedef struct sb_vr_span_node {
    unsigned node;
} sb_vr_span_node_t;

static void sb_vr_span_node_run(void *arg)
{
    unsigned node = ((sb_vr_span_node_t *)arg)->node;
    g_mutex_lock(&sb_vr_lock);
    GPtrArray *rooms = sb_vr_rooms_all();
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = 0; i < rooms->len; i++) {
        sb_vr_room_t *r = g_ptr_array_index(rooms, i);
        if (r->span)
            g_array_append_val(ids, r->o.room);
    }
    g_ptr_array_unref(rooms);
    g_mutex_unlock(&sb_vr_lock);
    for (guint i = 0; i < ids->len; i++)
        sb_vr_span_gone(node, g_array_index(ids, uint64_t, i), 0, "node");
    g_array_free(ids, TRUE);
}

void sb_vr_span_on_node(unsigned node, bool alive)
{
    if (alive || node >= SB_VR_SPAN_NODES)
        return;
    sb_vr_span_node_t *n = SB_NEW(sb_vr_span_node_t);
    n->node = node;
    sb_vr_defer(sb_vr_span_node_run, n, sb_free);
}
