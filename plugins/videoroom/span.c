/* Rooms that span nodes (docs/scaling.md). A room has an instance on every node where some
 * of its participants are. Instances find each other through the cluster's directory (the
 * nodes of the room's members) and greet each other ("hello" with their participants); from
 * then on each tells the others its own participants' comings and goings, with signed
 * cluster messages, and each shows the others' participants to its clients as participants
 * of its own: a publisher of our own (an internal handle) per participant of another node.
 *
 * Media crosses once per publisher and node: on the publisher's node a subscriber of our own
 * (a link) takes every stream and simulcast layer of the publisher, one m-line each, and
 * its PeerConnection (ICE, DTLS-SRTP: keys agreed between the nodes, never on the wire) goes
 * to the publisher of our own on the other node, where the layers are one simulcast stream
 * again (span_sdp.c). Keyframe requests, NACKs and receiver reports of that PeerConnection
 * are the core's, as for any client; the other node's subscribers choose their layers from
 * what arrives. The offer and answer travel as cluster messages.
 *
 * Messages (a JSON body with "type" and "room"): hello {participants, reply}, joined {id,
 * display}, left {id, kicked}, unpublished {id}, link_offer {feed, map, sdp}, link_answer
 * {feed, sdp}, bye, destroyed. Handlers run on the message thread, in arrival order.
 *
 * Threads: the hooks under the plugin lock post what calls out (a new handle, the end of
 * one) to the message thread; messages are sent from anywhere (queued, never waiting). */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "videoroom.h"

#include "span_internal.h"

bool sb_vr_pub_remote(const sb_vr_publisher_t *p)
{
    return p->session && p->session->link && p->session->link->remote_pub;
}

static bool sb_vr_span_on(void)
{
    return sb_vr_clustered() && SB_CORE_HAS(sb_vr_core, cluster_send);
}

static sb_vr_span_t *sb_vr_span_of(sb_vr_room_t *r)
{
    if (!r->span) {
        r->span = SB_NEW(sb_vr_span_t);
        r->span->remote = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                                (GDestroyNotify)sb_vr_session_unref);
        r->span->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify)sb_vr_session_unref);
    }
    return r->span;
}

void sb_vr_span_free(sb_vr_room_t *r)
{
    if (!r->span)
        return;
    g_hash_table_destroy(r->span->remote);
    g_hash_table_destroy(r->span->links);
    sb_free(r->span);
    r->span = NULL;
}

/* ---- sending ---- */

void sb_vr_span_send(unsigned node, const char *type, uint64_t room, json_t *extra)
{
    json_t *body = extra ? extra : json_object();
    json_object_set_new(body, "type", json_string(type));
    json_object_set_new(body, "room", json_integer((json_int_t)room));
    int rc = sb_vr_core->cluster_send(node, SB_VR_PACKAGE, body);
    if (rc < 0)
        SB_WARN("videoroom", "room %llu: %s to node %u not sent (%s)",
                (unsigned long long)room, type, node, sb_strerror(rc));
    json_decref(body);
}

/* To every node whose instance we know. extra stolen (NULL: none). Under the lock. */
static void sb_vr_span_broadcast(sb_vr_room_t *r, const char *type, json_t *extra)
{
    for (unsigned n = 0; r->span && n < SB_VR_SPAN_NODES; n++)
        if (r->span->peer[n])
            sb_vr_span_send(n, type, r->o.room, extra ? json_deep_copy(extra) : NULL);
    json_decref(extra);
}

/* ---- our handles ---- */

/* A request on one of our handles, as if a client had sent it (queued: in order with every
 * other). body and jsep stolen. */
void sb_vr_span_request(sb_vr_session_t *s, json_t *body, json_t *jsep)
{
    sb_vr_msg_t *m = SB_NEW(sb_vr_msg_t);
    sb_vr_session_ref(s);
    m->s = s;
    m->transaction = sb_strdup("cluster");
    m->body = body;
    m->jsep = jsep;
    sb_vr_queue_msg(m);
}

static void sb_vr_span_end_run(void *arg)
{
    sb_vr_session_t *s = arg;
    if (!s->destroyed)
        sb_vr_core->end_handle(s->h);
}

static void sb_vr_span_end_done(void *arg)
{
    sb_vr_session_unref(arg);
}

/* One of our handles goes (on the message thread, without the lock). Any thread. */
static void sb_vr_span_end(sb_vr_session_t *s)
{
    sb_vr_session_ref(s);
    sb_vr_defer(sb_vr_span_end_run, s, sb_vr_span_end_done);
}

/* A handle of our own for link (taken). NULL when the core has none. Message thread. */
static sb_vr_session_t *sb_vr_span_handle(sb_vr_span_link_t *link)
{
    sb_plugin_handle_t *h = NULL;
    if (sb_vr_core->handle_new_internal(SB_VR_PACKAGE, &h) < 0 || !h || !h->plugin_data) {
        sb_free(link);
        return NULL;
    }
    sb_vr_session_t *s = h->plugin_data;
    s->link = link;
    sb_vr_session_ref(s);
    return s;
}

char *sb_vr_span_link_key(uint64_t feed, unsigned node)
{
    return g_strdup_printf("%llu:%u", (unsigned long long)feed, node);
}

/* ---- the other nodes' participants, here ---- */

/* Another node's participant in r: a publisher of our own joins for it. Under the lock;
 * the handle is made outside it. Returns its session (borrowed) or NULL. */
sb_vr_session_t *sb_vr_span_remote_add(uint64_t room, unsigned node, uint64_t id,
                                              const char *display)
{
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    sb_vr_session_t *have = r && r->span ? g_hash_table_lookup(r->span->remote, &id) : NULL;
    bool wanted = r && !r->destroyed && !have && !g_hash_table_contains(r->participants, &id);
    g_mutex_unlock(&sb_vr_lock);
    if (!wanted)
        return have;
    sb_vr_span_link_t *link = SB_NEW(sb_vr_span_link_t);
    link->remote_pub = true;
    link->room = room;
    link->feed = id;
    link->node = node;
    sb_vr_session_t *s = sb_vr_span_handle(link);
    if (!s)
        return NULL;
    g_mutex_lock(&sb_vr_lock);
    r = sb_vr_room_find(room);
    if (!r || r->destroyed) {
        g_mutex_unlock(&sb_vr_lock);
        sb_vr_span_end(s);
        sb_vr_session_unref(s);
        return NULL;
    }
    g_hash_table_insert(sb_vr_span_of(r)->remote, g_memdup2(&id, sizeof(id)), s);
    g_mutex_unlock(&sb_vr_lock);
    json_t *body = json_pack("{s:s, s:s, s:I, s:I}", "request", "join", "ptype", "publisher",
                             "room", (json_int_t)room, "id", (json_int_t)id);
    if (display)
        json_object_set_new(body, "display", json_string(display));
    sb_vr_span_request(s, body, NULL);
    return s;
}

/* Our publisher of another node's participant, or NULL. Under the lock. */
sb_vr_session_t *sb_vr_span_remote_find(sb_vr_room_t *r, uint64_t id, unsigned node)
{
    sb_vr_session_t *s = r && r->span ? g_hash_table_lookup(r->span->remote, &id) : NULL;
    return s && s->link->node == node ? s : NULL;
}

/* It left (or its node did): gone from here, with the events a leave makes. Under the
 * lock. */
void sb_vr_span_remote_remove(sb_vr_room_t *r, uint64_t id, bool kicked,
                                     sb_vr_outbox_t *ob)
{
    sb_vr_session_t *s = g_hash_table_lookup(r->span->remote, &id);
    if (!s)
        return;
    if (s->pub)
        sb_vr_publisher_leave(s->pub, ob, kicked, false);
    sb_vr_span_end(s);
    g_hash_table_remove(r->span->remote, &id);
}

/* ---- links: our publishers' media to another node ---- */

/* The m-lines of a link for p: each audio and video stream, one per simulcast layer. */
static unsigned sb_vr_span_map_of(const sb_vr_publisher_t *p, sb_vr_span_map_t *map)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_media_stream_t *st = &p->streams[i].neg;
        if (!st->active || (st->kind != SB_MEDIA_AUDIO && st->kind != SB_MEDIA_VIDEO))
            continue;
        unsigned layers = 0;
        for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++)
            if (st->rid[l][0] || st->remote_ssrc[l])
                layers = l + 1;
        for (unsigned l = 0; l < MAX(layers, 1u) && n < SB_VR_SPAN_MAX_MLINES; l++) {
            snprintf(map[n].mid, sizeof(map[n].mid), "%s", st->mid);
            map[n].layer = l;
            n++;
        }
    }
    return n;
}

typedef struct sb_vr_span_open {
    uint64_t room, feed;
} sb_vr_span_open_t;

/* Message thread: links of a live publisher to every node that has none yet. */
static void sb_vr_span_open_run(void *arg)
{
    sb_vr_span_open_t *o = arg;
    bool need[SB_VR_SPAN_NODES] = {false};
    sb_vr_span_map_t map[SB_VR_SPAN_MAX_MLINES];
    unsigned nmap = 0;
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(o->room);
    sb_vr_publisher_t *p = r ? g_hash_table_lookup(r->participants, &o->feed) : NULL;
    if (p && r->span && sb_vr_pub_live(p) && !sb_vr_pub_remote(p)) {
        nmap = sb_vr_span_map_of(p, map);
        for (unsigned n = 0; n < SB_VR_SPAN_NODES; n++) {
            char *key = sb_vr_span_link_key(o->feed, n);
            need[n] = r->span->peer[n] && !g_hash_table_contains(r->span->links, key);
            g_free(key);
        }
    }
    g_mutex_unlock(&sb_vr_lock);
    for (unsigned n = 0; nmap && n < SB_VR_SPAN_NODES; n++) {
        if (!need[n])
            continue;
        sb_vr_span_link_t *link = SB_NEW(sb_vr_span_link_t);
        link->room = o->room;
        link->feed = o->feed;
        link->node = n;
        link->nmap = nmap;
        memcpy(link->map, map, sizeof(map[0]) * nmap);
        sb_vr_session_t *s = sb_vr_span_handle(link);
        if (!s)
            continue;
        g_mutex_lock(&sb_vr_lock);
        r = sb_vr_room_find(o->room);
        bool ok = r && r->span && !r->destroyed;
        if (ok)
            g_hash_table_insert(r->span->links, sb_vr_span_link_key(o->feed, n), s);
        g_mutex_unlock(&sb_vr_lock);
        if (!ok) {
            sb_vr_span_end(s);
            sb_vr_session_unref(s);
            continue;
        }
        json_t *items = json_array();
        for (unsigned k = 0; k < nmap; k++) {
            json_t *it = json_pack("{s:I, s:s}", "feed", (json_int_t)o->feed, "mid", map[k].mid);
            bool simulcast = false; /* then each m-line is pinned to its layer */
            for (unsigned j = 0; j < nmap; j++)
                simulcast = simulcast || (!strcmp(map[j].mid, map[k].mid) && map[j].layer > 0);
            if (simulcast)
                json_object_set_new(it, "substream", json_integer(map[k].layer));
            json_array_append_new(items, it);
        }
        sb_vr_span_request(s,
                           json_pack("{s:s, s:s, s:I, s:o, s:b}", "request", "join", "ptype",
                                     "subscriber", "room", (json_int_t)o->room, "streams",
                                     items, "autoupdate", false),
                           NULL);
        SB_INFO("videoroom", "room %llu: publisher %llu's media to node %u (%u m-lines)",
                (unsigned long long)o->room, (unsigned long long)o->feed, n, nmap);
    }
}

void sb_vr_span_open(uint64_t room, uint64_t feed)
{
    sb_vr_span_open_t *o = SB_NEW(sb_vr_span_open_t);
    o->room = room;
    o->feed = feed;
    sb_vr_defer(sb_vr_span_open_run, o, sb_free);
}

/* Our links of feed (to node, or to every node when node is -1) go. Under the lock. */
void sb_vr_span_close_links(sb_vr_room_t *r, uint64_t feed, int node)
{
    if (!r->span)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->span->links);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_session_t *s = v;
        if ((feed && s->link->feed != feed) || (node >= 0 && s->link->node != (unsigned)node))
            continue;
        sb_vr_span_end(s);
        g_hash_table_iter_remove(&it);
    }
}

/* ---- hooks of the room's life ---- */

void sb_vr_span_live(sb_vr_publisher_t *p)
{
    if (sb_vr_span_on() && !sb_vr_pub_remote(p) && p->room->span)
        sb_vr_span_open(p->room->o.room, p->id);
}

void sb_vr_span_unpublished(sb_vr_publisher_t *p)
{
    if (!sb_vr_span_on() || sb_vr_pub_remote(p))
        return;
    sb_vr_span_close_links(p->room, p->id, -1);
    sb_vr_span_broadcast(p->room, "unpublished", json_pack("{s:I}", "id", (json_int_t)p->id));
}

void sb_vr_span_left(sb_vr_publisher_t *p, bool kicked)
{
    if (!sb_vr_span_on() || sb_vr_pub_remote(p))
        return;
    sb_vr_room_t *r = p->room;
    sb_vr_span_close_links(r, p->id, -1);
    sb_vr_span_broadcast(r, "left",
                         json_pack("{s:I, s:b}", "id", (json_int_t)p->id, "kicked", kicked));
}

void sb_vr_span_destroyed(sb_vr_room_t *r)
{
    if (!sb_vr_span_on() || !r->span)
        return;
    sb_vr_span_broadcast(r, "destroyed", NULL);
    sb_vr_span_close_links(r, 0, -1);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->span->remote);
    while (g_hash_table_iter_next(&it, &k, &v))
        sb_vr_span_end(v);
    g_hash_table_remove_all(r->span->remote);
    memset(r->span->peer, 0, sizeof(r->span->peer));
    r->span->active = false;
}

/* This node's participants in r, as a hello lists them. Under the lock. */
json_t *sb_vr_span_locals(sb_vr_room_t *r)
{
    json_t *list = json_array();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_publisher_t *p = v;
        if (!sb_vr_pub_remote(p))
            json_array_append_new(list, sb_vr_participant_json(p));
    }
    return list;
}

/* This node's first participant (or subscriber) in the room: greet the nodes the directory
 * says have members in it (this node's member was queued before this read, so of two nodes
 * that join at the same time one sees the other). Message thread, no lock. */
static void sb_vr_span_activate(uint64_t room)
{
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    bool first = r && !r->destroyed && !sb_vr_span_of(r)->active;
    if (first)
        r->span->active = true;
    g_mutex_unlock(&sb_vr_lock);
    if (!first)
        return;
    char key[24];
    snprintf(key, sizeof(key), "%llu", (unsigned long long)room);
    json_t *members = sb_vr_core->dir_members(SB_VR_PACKAGE, key);
    int me = sb_vr_core->cluster_node();
    bool nodes[SB_VR_SPAN_NODES] = {false};
    const char *mid;
    json_t *info;
    json_object_foreach(members, mid, info) {
        json_int_t n = json_integer_value(json_object_get(info, "node"));
        if (n >= 0 && n < SB_VR_SPAN_NODES && n != me &&
            sb_vr_core->cluster_node_alive((unsigned)n))
            nodes[n] = true;
    }
    json_decref(members);
    g_mutex_lock(&sb_vr_lock);
    r = sb_vr_room_find(room);
    if (r && !r->destroyed && r->span) {
        json_t *extra = json_pack("{s:o, s:b}", "participants", sb_vr_span_locals(r), "reply",
                                  false);
        for (unsigned n = 0; n < SB_VR_SPAN_NODES; n++) {
            if (!nodes[n])
                continue;
            r->span->peer[n] = true;
            sb_vr_span_send(n, "hello", r->o.room, json_deep_copy(extra));
        }
        json_decref(extra);
    }
    g_mutex_unlock(&sb_vr_lock);
}

void sb_vr_span_joined(sb_vr_publisher_t *p)
{
    if (!sb_vr_span_on() || sb_vr_pub_remote(p))
        return;
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = p->room;
    uint64_t room = r->o.room;
    bool first = !r->destroyed && !sb_vr_span_of(r)->active;
    if (!first && !r->destroyed) {
        sb_vr_span_broadcast(r, "joined", sb_vr_participant_json(p));
    }
    g_mutex_unlock(&sb_vr_lock);
    if (first)
        sb_vr_span_activate(room);
}

/* A subscriber that names feeds this node does not show yet: the room's instance here
 * greets the others, whose publishers then come (a link each); the request runs again in
 * SB_VR_SPAN_RETRY_MS, at most SB_VR_SPAN_RETRIES times, then answers as it can. */
#define SB_VR_SPAN_RETRY_MS 100
#define SB_VR_SPAN_RETRIES 60

bool sb_vr_span_wait_feeds(sb_vr_msg_t *m, json_t *items)
{
    if (!sb_vr_span_on() || m->s->link || m->retries >= SB_VR_SPAN_RETRIES)
        return false;
    uint64_t room = (uint64_t)json_integer_value(json_object_get(m->body, "room"));
    bool missing = false;
    g_mutex_lock(&sb_vr_lock);
    sb_vr_room_t *r = sb_vr_room_find(room);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        uint64_t feed = (uint64_t)json_integer_value(json_object_get(it, "feed"));
        sb_vr_publisher_t *p = r && feed ? g_hash_table_lookup(r->participants, &feed) : NULL;
        missing = missing || (r && feed && (!p || !sb_vr_pub_live(p)));
    }
    g_mutex_unlock(&sb_vr_lock);
    if (!missing)
        return false;
    sb_vr_span_activate(room);
    sb_vr_msg_t *again = SB_NEW(sb_vr_msg_t);
    sb_vr_session_ref(m->s);
    again->s = m->s;
    again->transaction = sb_strdup(m->transaction);
    again->body = json_incref(m->body);
    again->jsep = m->jsep ? json_incref(m->jsep) : NULL;
    again->retries = m->retries + 1;
    sb_vr_queue_msg_later(again, SB_VR_SPAN_RETRY_MS);
    return true;
}

void sb_vr_span_idle_check(sb_vr_room_t *r, sb_vr_outbox_t *ob)
{
    if (!sb_vr_span_on() || !r->span || !r->span->active)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (!sb_vr_pub_remote(v) && sb_vr_pub_in_room(v))
            return;
    for (guint i = 0; i < r->subscribers->len; i++)
        if (!((sb_vr_subscriber_t *)g_ptr_array_index(r->subscribers, i))->session->link)
            return;
    /* Nobody of this node is left: the room's other nodes no longer hear of it. */
    sb_vr_span_broadcast(r, "bye", NULL);
    r->span->active = false;
    memset(r->span->peer, 0, sizeof(r->span->peer));
    GList *ids = g_hash_table_get_keys(r->span->remote);
    for (GList *l = ids; l; l = l->next)
        sb_vr_span_remote_remove(r, *(uint64_t *)l->data, false, ob);
    g_list_free(ids);
}

void sb_vr_span_ensure_room(json_t *body)
{
    if (!sb_vr_span_on())
        return;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(body, "room"));
    if (!id)
        return;
    g_mutex_lock(&sb_vr_lock);
    bool here = sb_vr_room_find(id) != NULL;
    g_mutex_unlock(&sb_vr_lock);
    if (here)
        return;
    char key[24];
    snprintf(key, sizeof(key), "%llu", (unsigned long long)id);
    json_t *config = NULL;
    if (sb_vr_core->dir_room_get(SB_VR_PACKAGE, key, true, NULL, &config) < 0 ||
        !json_is_object(config)) {
        json_decref(config);
        return; /* the join answers 426 */
    }
    json_t *opts = json_deep_copy(config);
    json_t *allowed = json_incref(json_object_get(opts, "allowed"));
    json_object_del(opts, "room");
    json_object_del(opts, "allowed");
    sb_vr_room_opts_t o;
    sb_vr_room_opts_defaults(&o);
    GPtrArray *tokens = NULL;
    char err[256];
    int code = sb_vr_room_opts_apply(&o, opts, "", false, err, sizeof(err));
    if (!code && allowed)
        code = sb_vr_allowed_parse(allowed, &tokens, err, sizeof(err));
    if (!code) {
        o.room = id;
        sb_vr_room_t *r;
        g_mutex_lock(&sb_vr_lock);
        if (sb_vr_room_find(id) || sb_vr_room_add(&o, tokens, &r) < 0) {
            if (tokens)
                g_ptr_array_unref(tokens);
        }
        g_mutex_unlock(&sb_vr_lock);
        SB_INFO("videoroom", "room %llu: an instance here of a room of the cluster", 
                (unsigned long long)id);
    } else {
        SB_WARN("videoroom", "room %llu of the cluster's directory: %s", (unsigned long long)id,
                err);
    }
    sb_vr_room_opts_deinit(&o);
    json_decref(allowed);
    json_decref(opts);
    json_decref(config);
}

/* ---- events of our handles: offers and answers go to the other node ---- */

static void sb_vr_span_offer_out(sb_vr_session_t *s, json_t *jsep)
{
    sb_vr_span_link_t *l = s->link;
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    char *merged = sdp ? sb_vr_span_sdp_merge(sdp, l->map, l->nmap) : NULL;
    if (!merged) {
        SB_WARN("videoroom", "room %llu: the link of %llu to node %u: offer not rewritten",
                (unsigned long long)l->room, (unsigned long long)l->feed, l->node);
        return;
    }
    char mids[SB_VR_SPAN_MAX_MLINES][64];
    unsigned n = sb_vr_span_sdp_mids(sdp, mids, SB_VR_SPAN_MAX_MLINES);
    json_t *map = json_array(), *link_mids = json_array();
    for (unsigned k = 0; k < l->nmap; k++)
        json_array_append_new(map, json_pack("[s, i]", l->map[k].mid, (int)l->map[k].layer));
    for (unsigned k = 0; k < n; k++)
        json_array_append_new(link_mids, json_string(mids[k]));
    sb_vr_span_send(l->node, "link_offer", l->room,
                    json_pack("{s:I, s:o, s:o, s:s}", "feed", (json_int_t)l->feed, "map", map,
                              "link_mids", link_mids, "sdp", merged));
    g_free(merged);
}

static void sb_vr_span_answer_out(sb_vr_session_t *s, json_t *jsep)
{
    sb_vr_span_link_t *l = s->link;
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    const char *mids[SB_VR_SPAN_MAX_MLINES];
    for (unsigned k = 0; k < l->nmap; k++)
        mids[k] = l->link_mids[k];
    char *split = sdp ? sb_vr_span_sdp_split(sdp, l->map, l->nmap, mids) : NULL;
    if (!split) {
        SB_WARN("videoroom", "room %llu: the link of %llu from node %u: answer not rewritten",
                (unsigned long long)l->room, (unsigned long long)l->feed, l->node);
        return;
    }
    sb_vr_span_send(l->node, "link_answer", l->room,
                    json_pack("{s:I, s:s}", "feed", (json_int_t)l->feed, "sdp", split));
    g_free(split);
}

bool sb_vr_span_on_event(sb_vr_session_t *s, json_t *data, json_t *jsep)
{
    if (!s || !s->link)
        return false;
    const char *type = json_string_value(json_object_get(jsep, "type"));
    if (type && !strcmp(type, "offer") && !s->link->remote_pub)
        sb_vr_span_offer_out(s, jsep);
    else if (type && !strcmp(type, "answer") && s->link->remote_pub)
        sb_vr_span_answer_out(s, jsep);
    else if (json_object_get(data, "error_code"))
        SB_WARN("videoroom", "room %llu: the link of %llu (node %u): %s",
                (unsigned long long)s->link->room, (unsigned long long)s->link->feed,
                s->link->node, json_string_value(json_object_get(data, "error")));
    return true;
}

void sb_vr_push_event(sb_plugin_handle_t *h, const char *transaction, json_t *data,
                      json_t *jsep)
{
    sb_vr_session_t *s = h ? h->plugin_data : NULL;
    if (s && s->link) {
        sb_vr_span_on_event(s, data, jsep);
        return;
    }
    sb_vr_core->push_event(h, transaction, data, jsep);
}

