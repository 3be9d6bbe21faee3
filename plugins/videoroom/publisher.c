/* VideoRoom publishers (ptype "publisher"): join, publish/configure (answering the client's
 * offer through the core), unpublish, leave, kick and moderation, and the room events they
 * cause (joined, joining, publishers, unpublished, leaving, kicked, talking).
 *
 * Does not forward media (forward.c) nor manage subscriptions (subscriber.c; a publisher
 * that goes tells it through sb_vr_subscribers_feed_gone).
 * Threads: requests on the message thread; leave/unpublish also from control threads
 * (kick, destroy, detach); every ctl field under the plugin lock, which is released around
 * the core's answer_offer. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "videoroom.h"

void sb_vr_publisher_ref(sb_vr_publisher_t *p)
{
    sb_refcount_inc(&p->ref);
}

void sb_vr_publisher_unref(sb_vr_publisher_t *p)
{
    if (!p || !sb_refcount_dec(&p->ref))
        return;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_free(p->streams[i].description);
        sb_free(p->streams[i].loop.fan.subs);
        sb_free(p->streams[i].loop.relays); /* empty: a relay references its publisher */
        sb_free(p->streams[i].loop.local);  /* empty: a flush list entry references it */
    }
    sb_vr_data_free(p);
    sb_free(p->display);
    sb_free(p->acodec_pref);
    sb_free(p->vcodec_pref);
    json_decref(p->descriptions);
    sb_vr_room_unref(p->room);
    sb_vr_session_unref(p->session);
    sb_free(p);
}

int sb_vr_publisher_stream_by_mid(const sb_vr_publisher_t *p, const char *mid)
{
    for (unsigned i = 0; sb_vr_pub_negotiated(p) && i < p->nstreams; i++) {
        if (!strcmp(p->streams[i].neg.mid, mid))
            return (int)i;
    }
    return -1;
}

static void sb_vr_lower(char *out, size_t len, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        out[i] = g_ascii_tolower(in[i]);
    out[i] = '\0';
}

static json_t *sb_vr_pub_stream_json(const sb_vr_publisher_t *p, unsigned i, bool levels)
{
    const sb_vr_pub_stream_t *ps = &p->streams[i];
    json_t *j = json_pack("{s:s, s:i, s:s}", "type", sb_vr_kind_name(ps->neg.kind), "mindex",
                          (int)ps->neg.index, "mid", ps->neg.mid);
    if (ps->neg.kind == SB_MEDIA_DATA) /* as the reference: no codec, no description */
        return j;
    if (ps->disabled) {
        json_object_set_new(j, "disabled", json_true());
        return j;
    }
    char codec[16];
    sb_vr_lower(codec, sizeof(codec), ps->neg.codec);
    json_object_set_new(j, "codec", json_string(codec));
    if (ps->description)
        json_object_set_new(j, "description", json_string(ps->description));
    if (ps->moderated)
        json_object_set_new(j, "moderated", json_true());
    /* Opus in-band FEC negotiated (the client offered it), as the reference says it. */
    if (ps->neg.kind == SB_MEDIA_AUDIO && p->room->o.opus_fec &&
        !g_ascii_strcasecmp(ps->neg.codec, "opus") && strstr(ps->neg.fmtp, "useinbandfec=1"))
        json_object_set_new(j, "fec", json_true());
    if (ps->neg.kind == SB_MEDIA_VIDEO && ps->neg.layers > 1)
        json_object_set_new(j, "simulcast", json_true());
    if (levels && ps->neg.kind == SB_MEDIA_AUDIO)
        json_object_set_new(j, "talking", json_boolean(p->talking));
    return j;
}

json_t *sb_vr_publisher_json(const sb_vr_publisher_t *p)
{
    bool levels = p->room->o.audiolevel_event;
    json_t *streams = json_array();
    json_t *j = json_pack("{s:I}", "id", (json_int_t)p->id);
    if (p->display)
        json_object_set_new(j, "display", json_string(p->display));
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_vr_pub_stream_t *ps = &p->streams[i];
        json_array_append_new(streams, sb_vr_pub_stream_json(p, i, levels));
        const char *key = ps->neg.kind == SB_MEDIA_AUDIO ? "audio_codec" : "video_codec";
        if (!ps->disabled && ps->neg.kind != SB_MEDIA_DATA && !json_object_get(j, key)) {
            char codec[16];
            sb_vr_lower(codec, sizeof(codec), ps->neg.codec);
            json_object_set_new(j, key, json_string(codec));
        }
    }
    json_object_set_new(j, "streams", streams);
    if (levels)
        json_object_set_new(j, "talking", json_boolean(p->talking));
    return j;
}

/* The "publishers" list a participant sees: the active ones but itself. Under the lock. */
static json_t *sb_vr_room_publishers_json(sb_vr_room_t *r, const sb_vr_publisher_t *skip)
{
    json_t *list = json_array();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_publisher_t *p = v;
        if (p != skip && sb_vr_pub_live(p))
            json_array_append_new(list, sb_vr_publisher_json(p));
    }
    return list;
}

json_t *sb_vr_participant_json(const sb_vr_publisher_t *p)
{
    json_t *j = json_pack("{s:I}", "id", (json_int_t)p->id);
    if (p->display)
        json_object_set_new(j, "display", json_string(p->display));
    return j;
}

static json_t *sb_vr_room_attendees_json(sb_vr_room_t *r, const sb_vr_publisher_t *skip)
{
    json_t *list = json_array();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_vr_publisher_t *p = v;
        if (p == skip || sb_vr_pub_live(p))
            continue;
        json_array_append_new(list, sb_vr_participant_json(p));
    }
    return list;
}

/* Tell the room about p's (new) streams. Under the lock. */
static void sb_vr_publisher_announce(sb_vr_publisher_t *p, sb_vr_outbox_t *ob)
{
    json_t *list = json_array();
    json_array_append_new(list, sb_vr_publisher_json(p));
    json_t *ev = json_pack("{s:s, s:I, s:o}", "videoroom", "event", "room",
                           (json_int_t)p->room->o.room, "publishers", list);
    sb_vr_broadcast(ob, p->room, ev, p);
    json_decref(ev);
    sb_vr_cluster_member_update(p);
    if (sb_vr_pub_live(p))
        sb_vr_span_live(p);
}

/* ---- unpublish and leave --------------------------------------------------------------- */

static void sb_vr_publisher_stop(sb_vr_publisher_t *p, sb_vr_outbox_t *ob, bool announce);

void sb_vr_publisher_unpublish(sb_vr_publisher_t *p, sb_vr_outbox_t *ob)
{
    sb_vr_publisher_stop(p, ob, true);
}

/* Stop publishing; announce: tell the room "unpublished" (a leave or kick says
 * "leaving"/"kicked" instead, as the reference does). */
static void sb_vr_publisher_stop(sb_vr_publisher_t *p, sb_vr_outbox_t *ob, bool announce)
{
    if (!sb_vr_pub_negotiated(p))
        return;
    bool was_live = sb_vr_pub_live(p) && announce;
    sb_vr_pub_transition(p, SB_VR_PUB_EV_UNPUBLISH);
    p->talking = false;
    if (was_live) {
        json_t *ev = json_pack("{s:s, s:I, s:I}", "videoroom", "event", "room",
                               (json_int_t)p->room->o.room, "unpublished", (json_int_t)p->id);
        sb_vr_broadcast(ob, p->room, ev, p);
        json_decref(ev);
        sb_vr_notify(NULL, "unpublished", p->room->o.room,
                     json_pack("{s:I}", "id", (json_int_t)p->id));
    }
    if (was_live) {
        sb_vr_cluster_member_update(p);
        sb_vr_span_unpublished(p);
    }
    sb_vr_subscribers_feed_gone(p->room, p);
    sb_vr_fwd_pub_detach(p);
    for (unsigned i = 0; i < p->nstreams; i++) {
        sb_free(p->streams[i].description);
        p->streams[i].description = NULL;
        p->streams[i].moderated = false;
    }
    p->nstreams = 0;
    if (!p->session->destroyed)
        sb_vr_outbox_close_pc(ob, p->h);
}

void sb_vr_publisher_leave(sb_vr_publisher_t *p, sb_vr_outbox_t *ob, bool kicked,
                           bool notify_self)
{
    if (!sb_vr_pub_in_room(p))
        return;
    sb_vr_room_t *r = p->room;
    sb_vr_publisher_stop(p, ob, false);
    sb_vr_pub_transition(p, SB_VR_PUB_EV_LEAVE);
    json_t *ev = json_pack("{s:s, s:I, s:I}", "videoroom", "event", "room",
                           (json_int_t)r->o.room, kicked ? "kicked" : "leaving",
                           (json_int_t)p->id);
    if (!r->destroyed)
        sb_vr_broadcast(ob, r, ev, p);
    json_decref(ev);
    sb_vr_notify(NULL, kicked ? "kicked" : "leaving", r->o.room,
                 json_pack("{s:I}", "id", (json_int_t)p->id));
    if (kicked && notify_self)
        sb_vr_outbox_add(ob, p->h, NULL,
                         json_pack("{s:s, s:I, s:s, s:s}", "videoroom", "event", "room",
                                   (json_int_t)r->o.room, "leaving", "ok", "reason", "kicked"),
                         NULL);
    sb_vr_cluster_member_gone(p);
    sb_vr_span_left(p, kicked);
    sb_vr_room_ref(r);
    g_hash_table_remove(r->participants, &p->id); /* drops the room's reference */
    if (!sb_vr_pub_remote(p))
        sb_vr_span_idle_check(r, ob);
    sb_vr_room_unref(r);
}

/* ---- join ----------------------------------------------------------------------------- */

/* Checks common to every join: pin and token. Under the lock. NULL or an error (owned). */
json_t *sb_vr_join_auth(sb_vr_room_t *r, json_t *body)
{
    if (r->o.pin) {
        json_t *pin = json_object_get(body, "pin");
        if (!pin)
            return sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (pin)");
        if (!json_is_string(pin))
            return sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                                    "Invalid element type (pin should be a string)");
        if (strcmp(json_string_value(pin), r->o.pin) != 0)
            return sb_vr_error_json(SB_VR_ERR_UNAUTHORIZED, "Unauthorized (wrong pin)");
    }
    json_t *token = json_object_get(body, "token");
    if (!sb_vr_room_token_ok(r, json_is_string(token) ? json_string_value(token) : NULL))
        return sb_vr_error_json(SB_VR_ERR_UNAUTHORIZED, "Unauthorized (not in the allowed list)");
    return NULL;
}

static sb_vr_publisher_t *sb_vr_publisher_new(sb_vr_session_t *s, sb_vr_room_t *r, uint64_t id,
                                              const char *display)
{
    sb_vr_publisher_t *p = SB_NEW(sb_vr_publisher_t);
    sb_refcount_init(&p->ref); /* the session's */
    sb_vr_room_ref(r);
    p->room = r;
    sb_vr_session_ref(s);
    p->session = s;
    p->h = s->h;
    if (!id) {
        do
            id = sb_vr_random_id();
        while (g_hash_table_contains(r->participants, &id));
    }
    p->id = id;
    uint32_t pvt = 0;
    while (pvt == 0)
        pvt = (uint32_t)sb_vr_random_id();
    p->private_id = pvt;
    p->display = sb_strdup(display);
    p->pc_loop = -1;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        p->streams[i].loop.fan.pub = p;
        p->streams[i].loop.fan.index = i;
    }
    atomic_init(&p->loop.remb_bps, r->o.bitrate);
    sb_vr_publisher_ref(p); /* the room's */
    g_hash_table_insert(r->participants, &p->id, p);
    p->state = SB_VR_PUB_JOINED; /* where the lifecycle starts (sb_vr_pub_state_t) */
    s->role = SB_VR_ROLE_PUBLISHER;
    s->pub = p;
    return p;
}

/* Under the lock: validate and enter the room. Returns the "joined" event or an error. */
static json_t *sb_vr_publisher_enter(sb_vr_msg_t *m, sb_vr_outbox_t *ob)
{
    json_t *e = NULL;
    if (m->s->role != SB_VR_ROLE_NONE)
        return sb_vr_error_json(SB_VR_ERR_ALREADY_JOINED, "Already in as a %s on this handle",
                                m->s->role == SB_VR_ROLE_PUBLISHER ? "publisher" : "subscriber");
    sb_vr_room_t *r = sb_vr_room_lookup(m->body, &e);
    if (!r)
        return e;
    if ((e = sb_vr_join_auth(r, m->body)))
        return e;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(m->body, "id"));
    if (id && g_hash_table_contains(r->participants, &id))
        return sb_vr_error_json(SB_VR_ERR_ID_EXISTS, "User ID %llu already exists",
                                (unsigned long long)id);
    const char *display = json_string_value(json_object_get(m->body, "display"));
    sb_vr_publisher_t *p = sb_vr_publisher_new(m->s, r, id, display);
    sb_vr_cluster_member_update(p);
    sb_vr_publisher_ref(p);
    m->pub = p; /* for joinandconfigure; released with the message */
    sb_vr_notify(m->s->h, "joined", r->o.room,
                 json_pack("{s:I, s:I, s:s?}", "id", (json_int_t)p->id, "private_id",
                           (json_int_t)p->private_id, "display", display));
    json_t *joined = json_pack("{s:s, s:I, s:s, s:I, s:I, s:o}", "videoroom", "joined", "room",
                               (json_int_t)r->o.room, "description", r->o.description, "id",
                               (json_int_t)p->id, "private_id", (json_int_t)p->private_id,
                               "publishers", sb_vr_room_publishers_json(r, p));
    if (r->o.notify_joining) {
        json_object_set_new(joined, "attendees", sb_vr_room_attendees_json(r, p));
        json_t *ev = json_pack("{s:s, s:I, s:o}", "videoroom", "event", "room",
                               (json_int_t)r->o.room, "joining", sb_vr_participant_json(p));
        sb_vr_broadcast(ob, r, ev, p);
        json_decref(ev);
    }
    return joined;
}

static void sb_vr_publisher_configure(sb_vr_msg_t *m, json_t *reply, bool publish);

void sb_vr_publisher_join(sb_vr_msg_t *m, bool and_configure)
{
    static const sb_vr_param_t params[] = {
        {"id", SB_VR_T_UINT, false},
        {"display", SB_VR_T_STRING, false},
        {"token", SB_VR_T_STRING, false},
    };
    char err[256];
    int code = SB_VR_CHECK(m->body, params, err);
    json_t *reply;
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    if (code) {
        reply = sb_vr_error_json(code, "%s", err);
    } else {
        sb_vr_span_ensure_room(m->body);
        g_mutex_lock(&sb_vr_lock);
        reply = sb_vr_publisher_enter(m, &ob);
        g_mutex_unlock(&sb_vr_lock);
    }
    sb_vr_outbox_flush(&ob);
    if (m->pub && json_object_get(reply, "id"))
        sb_vr_span_joined(m->pub);
    if (and_configure && json_object_get(reply, "id") && m->jsep) {
        sb_vr_publisher_configure(m, reply, false);
        return;
    }
    sb_vr_push_event(m->s->h, m->transaction, reply, NULL);
    json_decref(reply);
}

/* ---- publish / configure ---------------------------------------------------------------- */

static const sb_vr_param_t sb_vr_configure_params[] = {
    {"bitrate", SB_VR_T_UINT, false},
    {"display", SB_VR_T_STRING, false},
    {"audiocodec", SB_VR_T_STRING, false},
    {"videocodec", SB_VR_T_STRING, false},
    {"audio_active_packets", SB_VR_T_UINT, false},
    {"audio_level_average", SB_VR_T_UINT, false},
    {"descriptions", SB_VR_T_ARRAY, false},
    {"streams", SB_VR_T_ARRAY, false},
    {"keyframe", SB_VR_T_BOOL, false},
    {"record", SB_VR_T_BOOL, false},
    {"filename", SB_VR_T_STRING, false},
};

/* Stream descriptions by mid, from the last publish/configure. Under the lock. */
static void sb_vr_publisher_apply_descriptions(sb_vr_publisher_t *p)
{
    size_t i;
    json_t *d;
    json_array_foreach(p->descriptions, i, d) {
        const char *mid = json_string_value(json_object_get(d, "mid"));
        const char *text = json_string_value(json_object_get(d, "description"));
        int idx = mid && text ? sb_vr_publisher_stream_by_mid(p, mid) : -1;
        if (idx >= 0) {
            sb_free(p->streams[idx].description);
            p->streams[idx].description = sb_strdup(text);
        }
    }
}

/* Per-stream settings of a configure ("streams": [{mid, send, keyframe}]). Under the lock.
 * Returns an error (owned) when a mid is unknown. */
static json_t *sb_vr_publisher_apply_streams(sb_vr_publisher_t *p, json_t *streams)
{
    size_t i;
    json_t *st;
    json_array_foreach(streams, i, st) {
        json_t *mid = json_object_get(st, "mid");
        if (!json_is_string(mid))
            return sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (mid)");
        int idx = sb_vr_publisher_stream_by_mid(p, json_string_value(mid));
        if (idx < 0)
            return sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such mid '%s' published",
                                    json_string_value(mid));
    }
    bool changed = false;
    json_array_foreach(streams, i, st) {
        int idx = sb_vr_publisher_stream_by_mid(p, json_string_value(json_object_get(st, "mid")));
        json_t *send = json_object_get(st, "send");
        if (json_is_boolean(send)) {
            p->streams[idx].paused = !json_is_true(send);
            changed = true;
        }
        if (json_is_true(json_object_get(st, "keyframe")))
            sb_vr_fwd_pub_keyframe(p, (unsigned)idx);
    }
    if (changed)
        sb_vr_fwd_pub_attach(p);
    return NULL;
}

/* Settings of publish/configure/joinandconfigure, applied under the lock. Returns an
 * error (owned) or NULL; *display_changed when the room must hear of a new name. */
static json_t *sb_vr_publisher_apply(sb_vr_publisher_t *p, json_t *body, bool *display_changed)
{
    json_t *v, *e;
    if ((v = json_object_get(body, "streams")) && (e = sb_vr_publisher_apply_streams(p, v)))
        return e;
    if ((v = json_object_get(body, "bitrate"))) {
        p->bitrate = (uint32_t)json_integer_value(v);
        atomic_store(&p->loop.remb_bps, p->bitrate ? p->bitrate : p->room->o.bitrate);
    }
    if ((v = json_object_get(body, "display"))) {
        *display_changed = !p->display || strcmp(p->display, json_string_value(v)) != 0;
        sb_free(p->display);
        p->display = sb_strdup(json_string_value(v));
    }
    if ((v = json_object_get(body, "audiocodec"))) {
        sb_free(p->acodec_pref);
        p->acodec_pref = sb_strdup(json_string_value(v));
    }
    if ((v = json_object_get(body, "videocodec"))) {
        sb_free(p->vcodec_pref);
        p->vcodec_pref = sb_strdup(json_string_value(v));
    }
    if ((v = json_object_get(body, "audio_active_packets")))
        p->audio_active_packets = (unsigned)json_integer_value(v);
    if ((v = json_object_get(body, "audio_level_average")))
        p->audio_level_average = (unsigned)json_integer_value(v);
    if ((v = json_object_get(body, "descriptions"))) {
        json_decref(p->descriptions);
        p->descriptions = json_incref(v);
        sb_vr_publisher_apply_descriptions(p);
    }
    if (json_is_true(json_object_get(body, "keyframe"))) {
        for (unsigned i = 0; i < p->nstreams; i++)
            if (p->streams[i].neg.kind == SB_MEDIA_VIDEO)
                sb_vr_fwd_pub_keyframe(p, i);
    }
    return NULL;
}

/* Count of publishers already negotiated in r. Under the lock. */
static unsigned sb_vr_room_publishing(sb_vr_room_t *r)
{
    unsigned n = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &k, &v))
        n += sb_vr_pub_negotiated(v);
    return n;
}

/* The codec preference passed to the core: the publisher's choice when the room allows
 * it, else the room's list. Owned. */
static char *sb_vr_codec_pref(const char *room_list, const char *pref)
{
    if (pref) {
        gchar **parts = g_strsplit(room_list, ",", 0);
        bool ok = g_strv_contains((const gchar *const *)parts, pref);
        g_strfreev(parts);
        if (ok)
            return g_strdup_printf("%s,%s", pref, room_list);
    }
    return g_strdup(room_list);
}

/* Answer the client's offer (message thread, lock not held). Returns the answer (owned) and
 * the PeerConnection's loop in *loop, or NULL with an error (owned) in *err. */
static json_t *sb_vr_publisher_negotiate(sb_vr_publisher_t *p, json_t *offer, int *loop,
                                         json_t **err)
{
    const sb_core_api_t *c = sb_vr_core;
    if (!c->answer_offer || !c->streams) {
        *err = sb_vr_error_json(SB_VR_ERR_UNKNOWN, "Media negotiation is not available in "
                                                   "this build of the core");
        return NULL;
    }
    g_mutex_lock(&sb_vr_lock);
    char *acodecs = sb_vr_codec_pref(p->room->o.audiocodec, p->acodec_pref);
    char *vcodecs = sb_vr_codec_pref(p->room->o.videocodec, p->vcodec_pref);
    g_mutex_unlock(&sb_vr_lock);
    sb_answer_opts_t opts = {
        .audio_recv = true,
        .video_recv = true,
        .audio_codecs = acodecs,
        .video_codecs = vcodecs,
        .loop = sb_vr_room_loop(p->room),
        .data = true,
        .audio_red = true, /* passed on to subscribers (red.c) */
    };
    json_t *answer = NULL;
    char reason[256] = "";
    int rc = c->answer_offer(p->h, offer, &opts, &answer, reason, sizeof(reason));
    g_free(acodecs);
    g_free(vcodecs);
    if (rc < 0 || !answer) {
        *err = sb_vr_error_json(SB_VR_ERR_INVALID_SDP, "Error negotiating the offer: %s",
                                reason[0] ? reason : "the core refused it");
        return NULL;
    }
    sb_vr_room_pin_loop(p->room, p->h);
    *loop = c->loop_index ? c->loop_index(p->h) : -1;
    return answer;
}

/* After a successful answer: record the negotiated streams. Under the lock. */
static void sb_vr_publisher_negotiated(sb_vr_publisher_t *p, const sb_media_stream_t *st,
                                       unsigned n, int loop, sb_vr_outbox_t *ob)
{
    /* Normally the room's loop; another one if two first publishers raced to pin it. */
    p->pc_loop = loop;
    p->session->loop = loop;
    for (unsigned i = 0; i < n; i++) {
        sb_vr_pub_stream_t *ps = &p->streams[i];
        ps->neg = st[i];
        ps->disabled = !st[i].active || (st[i].kind != SB_MEDIA_DATA && !st[i].recv);
    }
    p->nstreams = n;
    sb_vr_pub_transition(p, SB_VR_PUB_EV_ANSWERED);
    sb_vr_publisher_apply_descriptions(p);
    sb_vr_fwd_pub_attach(p);
    if (sb_vr_pub_live(p)) /* a renegotiation: the room sees the new streams */
        sb_vr_publisher_announce(p, ob);
}

/* publish, configure with a jsep, joinandconfigure: negotiate, then answer. reply is the
 * event to send with the answer (owned; "configured", or "joined"). */
static void sb_vr_publisher_configure(sb_vr_msg_t *m, json_t *reply, bool publish)
{
    sb_vr_publisher_t *p = m->pub;
    json_t *err = NULL;
    g_mutex_lock(&sb_vr_lock);
    if (!sb_vr_pub_in_room(p))
        err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room");
    else if (publish && sb_vr_pub_negotiated(p))
        err = sb_vr_error_json(SB_VR_ERR_ALREADY_PUBLISHED, "Can't publish, already published");
    else if (!sb_vr_pub_negotiated(p) && sb_vr_room_publishing(p->room) >= p->room->o.publishers)
        err = sb_vr_error_json(SB_VR_ERR_PUBLISHERS_FULL, "Maximum number of publishers (%u) "
                               "already reached", p->room->o.publishers);
    g_mutex_unlock(&sb_vr_lock);
    int loop = -1;
    json_t *answer = err ? NULL : sb_vr_publisher_negotiate(p, m->jsep, &loop, &err);
    sb_media_stream_t *st = NULL;
    unsigned n = 0;
    if (answer) {
        st = sb_calloc(SB_MEDIA_MAX_STREAMS, sizeof(*st));
        n = sb_vr_core->streams(p->h, st, SB_MEDIA_MAX_STREAMS);
    }
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    if (answer && (!sb_vr_pub_in_room(p) || m->s->destroyed)) {
        /* Gone while we negotiated: the PeerConnection we just made goes too (even for a
         * detached handle, whose teardown may have run before it existed). */
        err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room");
        sb_vr_outbox_close_pc(&ob, p->h);
    } else if (answer) {
        sb_vr_publisher_negotiated(p, st, n, loop, &ob);
        /* As the reference: the answer's event lists what is now published. */
        json_t *desc = sb_vr_publisher_json(p);
        const char *keys[] = {"streams", "audio_codec", "video_codec"};
        for (size_t i = 0; i < 3; i++)
            if (json_object_get(desc, keys[i]))
                json_object_set(reply, keys[i], json_object_get(desc, keys[i]));
        json_decref(desc);
    }
    g_mutex_unlock(&sb_vr_lock);
    sb_free(st);
    if (err) {
        json_decref(reply);
        reply = err;
        json_decref(answer);
        answer = NULL;
    }
    sb_vr_outbox_add(&ob, p->h, m->transaction, reply, answer);
    sb_vr_outbox_flush(&ob);
    json_decref(answer);
}

static void sb_vr_publisher_do_configure(sb_vr_msg_t *m, const char *request)
{
    sb_vr_publisher_t *p = m->pub;
    bool publish = !strcmp(request, "publish");
    char err[256];
    int code = SB_VR_CHECK(m->body, sb_vr_configure_params, err);
    json_t *reply = NULL;
    if (code)
        reply = sb_vr_error_json(code, "%s", err);
    else if (m->jsep && strcmp(json_string_value(json_object_get(m->jsep, "type")), "offer"))
        reply = sb_vr_error_json(SB_VR_ERR_INVALID_SDP_TYPE, "Invalid SDP type (expected an "
                                                             "offer)");
    else if (publish && !m->jsep)
        reply = sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (jsep "
                                                            "offer)");
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    if (!reply && !sb_vr_pub_in_room(p))
        reply = sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room");
    if (!reply) {
        bool renamed = false;
        reply = sb_vr_publisher_apply(p, m->body, &renamed);
        if (!reply && renamed) {
            json_t *ev = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "id",
                                   (json_int_t)p->id, "display", p->display);
            sb_vr_broadcast(&ob, p->room, ev, p);
            json_decref(ev);
            sb_vr_cluster_member_update(p);
        }
    }
    json_int_t room = (json_int_t)p->room->o.room;
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
    if (!reply) {
        sb_vr_notify(m->s->h, "configured", (uint64_t)room,
                     json_pack("{s:I}", "id", (json_int_t)p->id));
        reply = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room", room, "configured",
                          "ok");
        if (m->jsep) {
            sb_vr_publisher_configure(m, reply, publish);
            return;
        }
    }
    sb_vr_push_event(m->s->h, m->transaction, reply, NULL);
    json_decref(reply);
}

void sb_vr_publisher_request(sb_vr_msg_t *m, const char *request)
{
    sb_vr_publisher_t *p = m->pub;
    json_t *reply = NULL;
    if (!strcmp(request, "configure") || !strcmp(request, "publish")) {
        sb_vr_publisher_do_configure(m, request);
        return;
    }
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    json_int_t room = (json_int_t)p->room->o.room;
    if (!strcmp(request, "join")) {
        reply = sb_vr_error_json(SB_VR_ERR_ALREADY_JOINED, sb_vr_pub_in_room(p)
                                     ? "Already in as a publisher on this handle"
                                     : "Not in a room (create a new handle)");
    } else if (!strcmp(request, "unpublish") || !strcmp(request, "leave")) {
        bool leave = !strcmp(request, "leave");
        if (!sb_vr_pub_in_room(p))
            reply = sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room");
        else if (!leave && !sb_vr_pub_negotiated(p))
            reply = sb_vr_error_json(SB_VR_ERR_NOT_PUBLISHED, "Can't unpublish, not published");
        else if (leave)
            sb_vr_publisher_leave(p, &ob, false, true);
        else
            sb_vr_publisher_unpublish(p, &ob);
        if (!reply)
            reply = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room", room,
                              leave ? "leaving" : "unpublished", "ok");
    } else {
        reply = sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "Unknown request '%s'", request);
    }
    g_mutex_unlock(&sb_vr_lock);
    /* The answer goes before the events, and before the PeerConnection closes. */
    sb_vr_push_event(m->s->h, m->transaction, reply, NULL);
    json_decref(reply);
    sb_vr_outbox_flush(&ob);
}

/* ---- moderation, media state, talking ---------------------------------------------------- */

void sb_vr_publisher_moderate(sb_vr_publisher_t *p, unsigned idx, bool mute,
                              sb_vr_outbox_t *ob)
{
    p->streams[idx].moderated = mute;
    sb_vr_fwd_pub_attach(p);
    json_t *ev = json_pack("{s:s, s:I, s:I, s:s, s:s}", "videoroom", "event", "room",
                           (json_int_t)p->room->o.room, "id", (json_int_t)p->id, "mid",
                           p->streams[idx].neg.mid, "moderation", mute ? "muted" : "unmuted");
    sb_vr_broadcast(ob, p->room, ev, NULL);
    json_decref(ev);
}

void sb_vr_publisher_setup_media(sb_vr_session_t *s)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    sb_vr_publisher_t *p = s->pub;
    if (p && p->state == SB_VR_PUB_NEGOTIATED && !s->destroyed) {
        sb_vr_pub_transition(p, SB_VR_PUB_EV_MEDIA_UP);
        sb_vr_publisher_announce(p, &ob);
        if (sb_vr_core->events_wanted())
            sb_vr_notify(s->h, "published", p->room->o.room, sb_vr_publisher_json(p));
    }
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}

void sb_vr_publisher_hangup_media(sb_vr_session_t *s)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    sb_vr_publisher_t *p = s->pub;
    if (p && sb_vr_pub_negotiated(p))
        sb_vr_publisher_unpublish(p, &ob);
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}

void sb_vr_publisher_talking(sb_vr_publisher_t *p, unsigned stream, bool talking, unsigned avg)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    if (sb_vr_pub_live(p) && stream < p->nstreams)
        p->talking = talking;
    if (sb_vr_pub_live(p) && p->room->o.audiolevel_event && stream < p->nstreams) {
        json_t *ev = json_pack("{s:s, s:I, s:I, s:i, s:s, s:f}", "videoroom",
                               talking ? "talking" : "stopped-talking", "room",
                               (json_int_t)p->room->o.room, "id", (json_int_t)p->id, "mindex",
                               (int)p->streams[stream].neg.index, "mid",
                               p->streams[stream].neg.mid, "audio-level-dBov-avg", (double)avg);
        sb_vr_broadcast(&ob, p->room, ev, NULL);
        json_decref(ev);
    }
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}
