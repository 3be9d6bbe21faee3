/* VideoRoom subscribers (ptype "subscriber"): multistream subscriptions. join (with
 * "streams", or the legacy "feed"), the offers the plugin makes through the core (one m-line
 * per subscribed publisher stream), start (the client's answer), subscribe / unsubscribe /
 * update with renegotiation, configure, pause, switch and leave; and what happens when a
 * feed goes away (its m-lines become inactive, "updated" with a new offer).
 *
 * Does not forward media: it states which publisher stream feeds which m-line and
 * forward.c applies that on the room's loop.
 * Threads: requests and renegotiations on the message thread (make_offer/process_answer
 * run with the plugin lock released); feed_gone and leave also from control threads. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "videoroom.h"

void sb_vr_subscriber_ref(sb_vr_subscriber_t *s)
{
    sb_refcount_inc(&s->ref);
}

void sb_vr_subscriber_unref(sb_vr_subscriber_t *s)
{
    if (!s || !sb_refcount_dec(&s->ref))
        return;
    for (unsigned i = 0; i < s->nstreams; i++) {
        sb_vr_publisher_unref(s->streams[i]->feed);
        if (s->streams[i]->sources) /* emptied when it left */
            g_ptr_array_free(s->streams[i]->sources, TRUE);
        sb_free(s->streams[i]->crossrefid);
        sb_free(s->streams[i]);
    }
    sb_vr_room_unref(s->room);
    sb_vr_session_unref(s->session);
    sb_free(s);
}

void sb_vr_sub_reply(sb_vr_subscriber_t *s, const char *transaction, json_t *data)
{
    sb_vr_push_event(s->h, transaction, data, NULL);
    json_decref(data);
}

/* ---- description ------------------------------------------------------------------------ */

json_t *sb_vr_subscriber_streams_json(const sb_vr_subscriber_t *s)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < s->nstreams; i++) {
        const sb_vr_sub_stream_t *ss = s->streams[i];
        json_t *j = json_pack("{s:i, s:s, s:s, s:b, s:b, s:b}", "mindex", (int)ss->mindex,
                              "mid", ss->mid, "type", sb_vr_kind_name(ss->kind), "active",
                              sb_vr_sub_stream_live(ss), "ready", ss->ready, "send", ss->send);
        if (ss->kind == SB_MEDIA_DATA) { /* as the reference: its sources, no feed fields */
            json_t *ids = json_array();
            for (guint k = 0; ss->sources && k < ss->sources->len; k++) {
                const sb_vr_publisher_t *src = g_ptr_array_index(ss->sources, k);
                json_array_append_new(ids, json_integer((json_int_t)src->id));
            }
            json_object_set_new(j, "sources", json_integer((json_int_t)json_array_size(ids)));
            json_object_set_new(j, "source_ids", ids);
        }
        if (ss->feed) {
            char codec[16];
            size_t k = 0;
            for (; ss->src.codec[k] && k + 1 < sizeof(codec); k++)
                codec[k] = g_ascii_tolower(ss->src.codec[k]);
            codec[k] = '\0';
            json_object_set_new(j, "feed_id", json_integer((json_int_t)ss->feed->id));
            json_object_set_new(j, "feed_mid", json_string(ss->feed_mid));
            if (ss->feed->display)
                json_object_set_new(j, "feed_display", json_string(ss->feed->display));
            const char *fdesc = ss->feed_index < ss->feed->nstreams
                                    ? ss->feed->streams[ss->feed_index].description
                                    : NULL;
            if (fdesc)
                json_object_set_new(j, "feed_description", json_string(fdesc));
            json_object_set_new(j, "codec", json_string(codec));
            /* As the reference: what is forwarded (-1: nothing yet) and what is wanted. */
            if (ss->kind == SB_MEDIA_VIDEO && ss->src.layers > 1)
                json_object_set_new(
                    j, "simulcast",
                    json_pack("{s:i, s:i, s:i, s:i}", "substream", -1, "substream-target",
                              ss->substream >= 0 ? ss->substream : 2, "temporal-layer", -1,
                              "temporal-layer-target", ss->temporal >= 0 ? ss->temporal : 2));
        }
        if (ss->crossrefid)
            json_object_set_new(j, "crossrefid", json_string(ss->crossrefid));
        json_array_append_new(list, j);
    }
    return list;
}

/* ---- stream selection ---------------------------------------------------------------------- */

static int sb_vr_json_int_or(json_t *obj, const char *key, int dflt)
{
    json_t *v = json_object_get(obj, key);
    return v ? (int)json_integer_value(v) : dflt;
}

/* Resolve a "streams" array ([{feed, mid?, crossrefid?, substream?, temporal?, spatial_layer?,
 * temporal_layer?, max_substream?, max_temporal?}]) into picks.
 * Under the lock. Returns the count, or -1 with an error (owned) in *err. */
int sb_vr_sub_resolve(sb_vr_room_t *r, json_t *items, sb_vr_pick_t *out, unsigned max,
                      json_t **err)
{
    static const sb_vr_param_t params[] = {
        {"feed", SB_VR_T_UINT, true},         {"mid", SB_VR_T_STRING, false},
        {"crossrefid", SB_VR_T_STRING, false}, {"substream", SB_VR_T_UINT, false},
        {"temporal", SB_VR_T_UINT, false},     {"spatial_layer", SB_VR_T_UINT, false},
        {"temporal_layer", SB_VR_T_UINT, false}, {"max_substream", SB_VR_T_UINT, false},
        {"max_temporal", SB_VR_T_UINT, false},
    };
    char text[256];
    unsigned n = 0;
    size_t i;
    json_t *it;
    int code = SB_VR_CHECK_ITEMS(items, params, text);
    if (code) {
        *err = sb_vr_error_json(code, "%s", text);
        return -1;
    }
    json_array_foreach(items, i, it) {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(it, "feed"));
        sb_vr_publisher_t *p = g_hash_table_lookup(r->participants, &id);
        if (!p || !sb_vr_pub_negotiated(p)) {
            *err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such feed (%llu)",
                                    (unsigned long long)id);
            return -1;
        }
        const char *mid = json_string_value(json_object_get(it, "mid"));
        int only = mid ? sb_vr_publisher_stream_by_mid(p, mid) : -1;
        if (mid && only < 0) {
            *err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such mid '%s' in feed (%llu)",
                                    mid, (unsigned long long)id);
            return -1;
        }
        json_t *sub = json_object_get(it, "substream"), *tmp = json_object_get(it, "temporal");
        json_t *sl = json_object_get(it, "spatial_layer");
        json_t *tl = json_object_get(it, "temporal_layer");
        for (unsigned k = 0; k < p->nstreams; k++) {
            if ((only >= 0 && k != (unsigned)only) || p->streams[k].disabled)
                continue; /* disabled streams are skipped silently, as the reference does */
            if (n == max) {
                *err = sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                                        "Too many streams (at most %u per subscription)", max);
                return -1;
            }
            out[n++] = (sb_vr_pick_t){p, k, json_string_value(json_object_get(it, "crossrefid")),
                                      sub ? (int)json_integer_value(sub) : -1,
                                      tmp ? (int)json_integer_value(tmp) : -1,
                                      sl ? (int)json_integer_value(sl) : -1,
                                      tl ? (int)json_integer_value(tl) : -1,
                                      sb_vr_json_int_or(it, "max_substream", -1),
                                      sb_vr_json_int_or(it, "max_temporal", -1)};
        }
    }
    return (int)n;
}

/* Point m-line ss at a publisher stream. Under the lock. */
void sb_vr_sub_set_feed(sb_vr_sub_stream_t *ss, sb_vr_publisher_t *p, unsigned k)
{
    sb_vr_publisher_ref(p);
    sb_vr_publisher_unref(ss->feed);
    ss->feed = p;
    ss->feed_index = k;
    g_strlcpy(ss->feed_mid, p->streams[k].neg.mid, sizeof(ss->feed_mid));
}

/* A publisher's data joins the subscriber's one data m-line. Under the lock. */
static void sb_vr_sub_add_source(sb_vr_subscriber_t *s, sb_vr_sub_stream_t *ss,
                                 sb_vr_publisher_t *p)
{
    if (!ss->sources)
        ss->sources = g_ptr_array_new();
    for (guint k = 0; k < ss->sources->len; k++)
        if (g_ptr_array_index(ss->sources, k) == p)
            return;
    sb_vr_publisher_ref(p);
    g_ptr_array_add(ss->sources, p);
    sb_vr_data_link(p, s);
}

void sb_vr_sub_drop_source(sb_vr_subscriber_t *s, sb_vr_sub_stream_t *ss,
                                  sb_vr_publisher_t *p)
{
    for (guint k = ss->sources ? ss->sources->len : 0; k-- > 0;) {
        sb_vr_publisher_t *src = g_ptr_array_index(ss->sources, k);
        if (p && src != p)
            continue;
        sb_vr_data_unlink(src, s);
        g_ptr_array_remove_index(ss->sources, k);
        sb_vr_publisher_unref(src);
    }
    if (!sb_vr_sub_stream_live(ss))
        ss->ready = false;
}

/* The slot for a new m-line of this kind: an inactive one of the same kind (for data, the
 * data m-line whatever its state: a PeerConnection has one), else a fresh one. */
static unsigned sb_vr_sub_slot(const sb_vr_subscriber_t *s, sb_media_kind_t kind)
{
    if (kind == SB_MEDIA_DATA && s->data_index >= 0)
        return (unsigned)s->data_index;
    for (unsigned k = 0; k < s->nstreams; k++) {
        if (!sb_vr_sub_stream_live(s->streams[k]) && s->streams[k]->kind == kind)
            return k;
    }
    return s->nstreams;
}

/* Add the picks as m-lines, reusing inactive ones of the same kind. Under the lock. */
unsigned sb_vr_sub_add_streams(sb_vr_subscriber_t *s, const sb_vr_pick_t *picks, unsigned n)
{
    unsigned mlines = 0;
    for (unsigned i = 0; i < n; i++) {
        const sb_media_stream_t *src = &picks[i].feed->streams[picks[i].index].neg;
        unsigned slot = sb_vr_sub_slot(s, src->kind);
        if (slot == SB_MEDIA_MAX_STREAMS)
            break; /* checked by the callers; never past the array */
        if (slot == s->nstreams) {
            /* A fresh m-line; its loop fields are the loop's, so only the control fields and
             * the owner (before any closure is posted) are set here. */
            sb_vr_sub_stream_t *fresh = SB_NEW(sb_vr_sub_stream_t);
            fresh->loop.owner = s;
            fresh->max_substream = fresh->max_temporal = -1;
            fresh->loop.max_layer = fresh->loop.max_temporal = -1;
            __atomic_store_n(&s->streams[slot], fresh, __ATOMIC_RELEASE);
        }
        sb_vr_sub_stream_t *ss = s->streams[slot];
        if (slot == s->nstreams) {
            ss->mindex = slot;
            snprintf(ss->mid, sizeof(ss->mid), "%u", slot);
            ss->kind = src->kind;
            s->nstreams++;
            if (src->kind == SB_MEDIA_DATA)
                __atomic_store_n(&s->data_index, (int)slot, __ATOMIC_RELEASE);
        }
        if (src->kind == SB_MEDIA_DATA) {
            ss->used = true; /* configure/switch find it by mid */
            if (slot + 1 == s->nstreams && !ss->sources) { /* a new m-line */
                ss->src = *src;
                ss->send = true;
                ss->ready = false;
                mlines++;
            }
            sb_vr_sub_add_source(s, ss, picks[i].feed);
            continue;
        }
        mlines++;
        ss->used = true;
        ss->src = *src;
        ss->send = true;
        ss->ready = false;
        ss->substream = picks[i].substream;
        ss->temporal = picks[i].temporal;
        ss->spatial_layer = picks[i].spatial_layer;
        ss->temporal_layer = picks[i].temporal_layer;
        ss->max_substream = picks[i].max_substream;
        ss->max_temporal = picks[i].max_temporal;
        sb_free(ss->crossrefid);
        ss->crossrefid = sb_strdup(picks[i].crossrefid);
        sb_vr_sub_set_feed(ss, picks[i].feed, picks[i].index);
        sb_vr_fwd_bind(s, slot);
    }
    return mlines;
}

/* Make m-line i inactive. Under the lock. */
void sb_vr_sub_stream_drop(sb_vr_subscriber_t *s, unsigned i)
{
    sb_vr_sub_stream_t *ss = s->streams[i];
    if (ss->kind == SB_MEDIA_DATA) {
        sb_vr_sub_drop_source(s, ss, NULL);
        return;
    }
    if (!ss->feed)
        return;
    sb_vr_fwd_unbind(s, i);
    sb_vr_publisher_unref(ss->feed);
    ss->feed = NULL;
    ss->ready = false;
}

unsigned sb_vr_sub_free_slots(const sb_vr_subscriber_t *s)
{
    unsigned n = SB_MEDIA_MAX_STREAMS - s->nstreams;
    for (unsigned k = 0; k < s->nstreams; k++)
        n += !sb_vr_sub_stream_live(s->streams[k]);
    return n;
}

/* ---- offers ------------------------------------------------------------------------------- */

/* The offer's stream list with the strings it points to, and what the core made of it.
 * Owned by the negotiating call. */
typedef struct sb_vr_offer {
    unsigned n;
    sb_offer_stream_t st[SB_MEDIA_MAX_STREAMS];
    sb_media_stream_t src[SB_MEDIA_MAX_STREAMS];
    char mid[SB_MEDIA_MAX_STREAMS][8];
    char msid_stream[SB_MEDIA_MAX_STREAMS][24];
    char msid_track[SB_MEDIA_MAX_STREAMS][64];
    int loop;      /* the subscriber's loop */
    unsigned live; /* m-lines made active */
    /* The core's answer (sb_vr_offer_make). */
    bool made;
    json_t *jsep; /* owned, NULL when none */
    char reason[256];
    sb_media_stream_t neg[SB_MEDIA_MAX_STREAMS];
    unsigned nneg;
} sb_vr_offer_t;

/* RTX for a subscriber's video m-lines that have none from their publisher (janus.js's
 * `codec` option offers that codec alone, without RTX): we retransmit from our own history
 * and probe on our own RTX SSRC, and without RTX there is no probe and the automatic layer
 * choice could not climb. The m-lines share one BUNDLE transport, where a payload type must
 * mean one thing (Chromium refuses a collision): a type no m-line uses, the same one for
 * every m-line of one codec (apt). */
static void sb_vr_offer_add_rtx(sb_vr_offer_t *o)
{
    bool used[128] = {false};
    for (unsigned i = 0; i < o->n; i++) {
        const sb_offer_stream_t *st = &o->st[i];
        used[st->pt & 127] = used[st->rtx_pt & 127] = used[st->red_pt & 127] = true;
    }
    uint8_t rtx_of[128] = {0}; /* apt -> the RTX type given to it here */
    for (unsigned i = 0; i < o->n; i++) {
        sb_offer_stream_t *st = &o->st[i];
        if (st->kind != SB_MEDIA_VIDEO || st->rtx_pt || !st->pt || st->pt > 127)
            continue;
        if (!rtx_of[st->pt]) {
            for (unsigned pt = 96; pt <= 127 && !rtx_of[st->pt]; pt++)
                if (!used[pt]) {
                    used[pt] = true;
                    rtx_of[st->pt] = (uint8_t)pt;
                }
        }
        st->rtx_pt = rtx_of[st->pt]; /* 0 when all 32 dynamic types are taken */
    }
}

/* Snapshot the m-lines for make_offer. Under the lock. */
static sb_vr_offer_t *sb_vr_offer_build(const sb_vr_subscriber_t *s)
{
    sb_vr_offer_t *o = SB_NEW(sb_vr_offer_t);
    o->n = s->nstreams;
    for (unsigned i = 0; i < s->nstreams; i++) {
        const sb_vr_sub_stream_t *ss = s->streams[i];
        o->src[i] = ss->src;
        g_strlcpy(o->mid[i], ss->mid, sizeof(o->mid[i]));
        /* The MediaStream is the publisher, so a client groups a feed's tracks. */
        unsigned long long feed = ss->feed ? ss->feed->id : 0;
        snprintf(o->msid_stream[i], sizeof(o->msid_stream[i]), "%llu", feed);
        snprintf(o->msid_track[i], sizeof(o->msid_track[i]), "%llu-%s", feed,
                 ss->feed ? ss->feed_mid : ss->mid);
        sb_offer_stream_t *st = &o->st[i];
        st->kind = ss->kind;
        st->mid = o->mid[i];
        st->codec = o->src[i].codec;
        st->pt = o->src[i].pt;
        st->clock_rate = o->src[i].clock_rate;
        st->channels = o->src[i].channels;
        st->fmtp = o->src[i].fmtp[0] ? o->src[i].fmtp : NULL;
        st->rtx_pt = o->src[i].rtx_pt;
        st->red_pt = o->src[i].red_pt; /* RED of Opus as the publisher sends it (red.c) */
        st->msid_stream = o->msid_stream[i];
        st->msid_track = o->msid_track[i];
        /* The data m-line stays up once made, sources or not: taking it down and back would
         * end the client's SCTP association and need a new one. */
        st->active = ss->kind == SB_MEDIA_DATA || sb_vr_sub_stream_live(ss);
        o->live += st->active;
    }
    sb_vr_offer_add_rtx(o);
    o->loop = s->pc_loop;
    return o;
}

/* The core's offer for o, on the subscriber's loop: o->made, with the offer and the
 * negotiated streams, else the reason. Message thread, lock not held. */
static void sb_vr_offer_make(sb_vr_subscriber_t *s, sb_vr_offer_t *o)
{
    const sb_core_api_t *c = sb_vr_core;
    int rc = SB_VR_ERR_UNKNOWN;
    if (c->make_offer && c->streams)
        rc = c->make_offer(s->h, o->st, o->n, o->loop, &o->jsep, o->reason, sizeof(o->reason));
    else
        g_strlcpy(o->reason, "media negotiation is not available in this build of the core",
                  sizeof(o->reason));
    /* The graph of this subscriber lives on the loop chosen at join: its PeerConnection must
     * be there (the core binds a handle to the loop asked for at its first negotiation). */
    int got = c->loop_index ? c->loop_index(s->h) : -1;
    if (rc == 0 && o->jsep && o->loop >= 0 && got != o->loop) {
        SB_ERROR("videoroom", "subscriber PeerConnection on loop %d, not %d", got, o->loop);
        g_strlcpy(o->reason, "PeerConnection on an unexpected media loop", sizeof(o->reason));
        rc = SB_VR_ERR_UNKNOWN;
    }
    o->made = rc == 0 && o->jsep;
    if (o->made)
        o->nneg = c->streams(s->h, o->neg, SB_MEDIA_MAX_STREAMS);
}

/* Under the lock, once the core answered: the offer goes out with reply (taken) unless the
 * subscription went meanwhile; else the error does (and a PeerConnection made goes). */
static bool sb_vr_offer_done(sb_vr_subscriber_t *s, const sb_vr_offer_t *o,
                             const char *transaction, json_t *reply, sb_vr_outbox_t *ob)
{
    bool left = sb_vr_sub_left(s);
    bool ok = o->made && !left && !s->session->destroyed;
    if (!left)
        sb_vr_sub_transition(s, ok ? SB_VR_SUB_EV_MADE : SB_VR_SUB_EV_FAILED);
    if (ok) {
        s->offered_live = o->live;
        sb_vr_fwd_sub_attach(s, o->neg, o->nneg);
        json_object_set_new(reply, "streams", sb_vr_subscriber_streams_json(s));
        sb_vr_outbox_add(ob, s->h, transaction, reply, o->jsep);
        return true;
    }
    json_decref(reply);
    if (o->jsep) /* dropped meanwhile (or misplaced): the new PeerConnection goes too */
        sb_vr_outbox_close_pc(ob, s->h);
    if (!left)
        sb_vr_outbox_add(ob, s->h, transaction,
                         sb_vr_error_json(SB_VR_ERR_UNKNOWN, "Error preparing the offer: %s",
                                          o->reason[0] ? o->reason : "the core refused"),
                         NULL);
    return false;
}

/* Make an offer for the current m-lines and push it with reply (owned, gets "streams").
 * Message thread, lock not held. Returns false (reply pushed as an error) on failure. */
static bool sb_vr_offer_send(sb_vr_subscriber_t *s, const char *transaction, json_t *reply)
{
    g_mutex_lock(&sb_vr_lock);
    bool gone = sb_vr_sub_left(s) || s->session->destroyed ||
                !sb_vr_sub_transition(s, SB_VR_SUB_EV_OFFER);
    sb_vr_offer_t *o = gone ? NULL : sb_vr_offer_build(s);
    g_mutex_unlock(&sb_vr_lock);
    if (gone) {
        json_decref(reply);
        return false;
    }
    sb_vr_offer_make(s, o);
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    bool ok = sb_vr_offer_done(s, o, transaction, reply, &ob);
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
    json_decref(o->jsep);
    sb_free(o);
    return ok;
}

/* A renegotiation: "updated" with the new offer. Message thread. */
void sb_vr_sub_renegotiate(sb_vr_subscriber_t *s, const char *transaction)
{
    g_mutex_lock(&sb_vr_lock);
    s->reneg_due = false;
    json_t *reply = json_pack("{s:s, s:I}", "videoroom", "updated", "room",
                              (json_int_t)s->room->o.room);
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_offer_send(s, transaction, reply);
}

void sb_vr_sub_restart_ice(sb_vr_subscriber_t *s, const char *transaction, json_t *reply)
{
    if (sb_vr_core->request_ice_restart)
        sb_vr_core->request_ice_restart(s->h);
    sb_vr_offer_send(s, transaction, reply);
}

static void sb_vr_renegotiate_deferred(void *arg)
{
    sb_vr_subscriber_t *s = arg;
    g_mutex_lock(&sb_vr_lock);
    s->reneg_queued = false;
    bool left = sb_vr_sub_left(s);
    bool now = !left && !sb_vr_sub_offer_out(s) && !sb_vr_sub_offering(s);
    if (!now && !left)
        s->reneg_due = true;
    g_mutex_unlock(&sb_vr_lock);
    if (now)
        sb_vr_sub_renegotiate(s, NULL);
}

static void sb_vr_subscriber_done(void *arg)
{
    sb_vr_subscriber_unref(arg);
}

/* The m-lines changed outside a request: renegotiate now or after the pending answer.
 * Under the lock, any thread. */
static void sb_vr_schedule_renegotiation(sb_vr_subscriber_t *s)
{
    if (sb_vr_sub_left(s) || !s->autoupdate || s->reneg_queued)
        return;
    s->reneg_queued = true;
    sb_vr_subscriber_ref(s);
    sb_vr_defer(sb_vr_renegotiate_deferred, s, sb_vr_subscriber_done);
}

void sb_vr_subscribers_feed_gone(sb_vr_room_t *r, sb_vr_publisher_t *p)
{
    for (guint i = 0; i < r->subscribers->len; i++) {
        sb_vr_subscriber_t *s = g_ptr_array_index(r->subscribers, i);
        bool changed = false;
        for (unsigned k = 0; k < s->nstreams; k++) {
            sb_vr_sub_stream_t *ss = s->streams[k];
            if (ss->feed == p) {
                sb_vr_sub_stream_drop(s, k);
                changed = true;
            } else if (ss->kind == SB_MEDIA_DATA && sb_vr_sub_stream_live(ss)) {
                sb_vr_sub_drop_source(s, ss, p); /* the data m-line stays as it is */
            }
        }
        if (changed)
            sb_vr_schedule_renegotiation(s);
    }
}

/* ---- join ------------------------------------------------------------------------------- */

static const sb_vr_param_t sb_vr_sub_join_params[] = {
    {"feed", SB_VR_T_UINT, false},       {"streams", SB_VR_T_ARRAY, false},
    {"private_id", SB_VR_T_UINT, false}, {"use_msid", SB_VR_T_BOOL, false},
    {"autoupdate", SB_VR_T_BOOL, false},
};

static bool sb_vr_private_id_ok(sb_vr_room_t *r, json_t *body)
{
    json_t *pvt = json_object_get(body, "private_id");
    if (!r->o.require_pvtid)
        return true;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->participants);
    while (pvt && g_hash_table_iter_next(&it, &k, &v)) {
        if (((sb_vr_publisher_t *)v)->private_id == (uint64_t)json_integer_value(pvt))
            return true;
    }
    return false;
}

/* Under the lock: validate, create the subscription. Returns it, or NULL and *err. */
static sb_vr_subscriber_t *sb_vr_subscriber_enter(sb_vr_msg_t *m, json_t *items, json_t **err)
{
    if (m->s->role != SB_VR_ROLE_NONE) {
        *err = sb_vr_error_json(SB_VR_ERR_ALREADY_JOINED, "Already in as a %s on this handle",
                                m->s->role == SB_VR_ROLE_PUBLISHER ? "publisher" : "subscriber");
        return NULL;
    }
    sb_vr_room_t *r = sb_vr_room_lookup(m->body, err);
    if (!r || (*err = sb_vr_join_auth(r, m->body)))
        return NULL;
    if (!sb_vr_private_id_ok(r, m->body)) {
        *err = sb_vr_error_json(SB_VR_ERR_UNAUTHORIZED,
                                "Unauthorized (this room requires a valid private_id)");
        return NULL;
    }
    sb_vr_pick_t picks[SB_MEDIA_MAX_STREAMS];
    int n = sb_vr_sub_resolve(r, items, picks, SB_MEDIA_MAX_STREAMS, err);
    if (n < 0)
        return NULL;
    if (n == 0) {
        *err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No stream to subscribe to");
        return NULL;
    }
    sb_vr_subscriber_t *s = SB_NEW(sb_vr_subscriber_t);
    sb_refcount_init(&s->ref); /* the session's */
    s->data_index = -1;
    sb_vr_room_ref(r);
    s->room = r;
    sb_vr_session_ref(m->s);
    s->session = m->s;
    s->h = m->s->h;
    json_t *v = json_object_get(m->body, "autoupdate");
    s->autoupdate = v ? json_is_true(v) : true;
    s->use_msid = json_is_true(json_object_get(m->body, "use_msid"));
    /* The loop is chosen now, before the first binding: every closure about this
     * subscriber goes there, and its PeerConnection is made there. Its home is where the
     * (first) feed's packets arrive: normally the room's loop. */
    int home = picks[0].feed->pc_loop >= 0 ? picks[0].feed->pc_loop : sb_vr_room_loop(r);
    s->pc_loop = sb_vr_room_pick_loop(r, home);
    m->s->loop = s->pc_loop;
    SB_DEBUG("videoroom", "room %llu: subscriber %llu on loop %d (feed's loop %d, %u before it)",
             (unsigned long long)r->o.room, (unsigned long long)s->h->handle_id, s->pc_loop,
             home, r->subscribers->len);
    m->s->role = SB_VR_ROLE_SUBSCRIBER;
    m->s->sub = s;
    sb_vr_subscriber_ref(s);
    m->sub = s; /* kept by the message while the offer is made */
    sb_vr_subscriber_ref(s);
    g_ptr_array_add(r->subscribers, s);
    sb_vr_sub_add_streams(s, picks, (unsigned)n);
    return s;
}

void sb_vr_subscriber_join(sb_vr_msg_t *m)
{
    char text[256];
    int code = SB_VR_CHECK(m->body, sb_vr_sub_join_params, text);
    json_t *items = json_object_get(m->body, "streams"), *feed = json_object_get(m->body, "feed");
    json_t *err = NULL;
    if (code)
        err = sb_vr_error_json(code, "%s", text);
    else if ((!items || json_array_size(items) == 0) && !feed)
        err = sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (feed)");
    if (err) {
        sb_vr_push_event(m->s->h, m->transaction, err, NULL);
        json_decref(err);
        return;
    }
    /* The legacy form subscribes to every stream of one feed, with its layer choices. */
    json_t *legacy = NULL;
    if (!items || json_array_size(items) == 0) {
        items = legacy = json_pack("[{s:O}]", "feed", feed);
        static const char *const keys[] = {"substream", "temporal", "spatial_layer",
                                           "temporal_layer"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            json_t *v = json_object_get(m->body, keys[k]);
            if (v)
                json_object_set(json_array_get(legacy, 0), keys[k], v);
        }
    }
    sb_vr_span_ensure_room(m->body);
    if (sb_vr_span_wait_feeds(m, items)) {
        json_decref(legacy);
        return;
    }
    g_mutex_lock(&sb_vr_lock);
    sb_vr_subscriber_t *s = sb_vr_subscriber_enter(m, items, &err);
    json_t *reply = s ? json_pack("{s:s, s:I}", "videoroom", "attached", "room",
                                  (json_int_t)s->room->o.room)
                      : NULL;
    g_mutex_unlock(&sb_vr_lock);
    if (reply && legacy) {
        /* As the reference: a legacy single-feed subscription names its feed (janode reads
         * the handle's feed from this) and is flagged as the deprecated form. */
        json_object_set(reply, "id", feed);
        json_object_set_new(reply, "warning", json_string("deprecated_api"));
    }
    json_decref(legacy);
    if (!s) {
        sb_vr_push_event(m->s->h, m->transaction, err, NULL);
        json_decref(err);
        return;
    }
    if (!sb_vr_offer_send(s, m->transaction, reply)) {
        sb_vr_outbox_t ob;
        sb_vr_outbox_init(&ob);
        g_mutex_lock(&sb_vr_lock);
        sb_vr_subscriber_leave(s, &ob);
        g_mutex_unlock(&sb_vr_lock);
        sb_vr_outbox_flush(&ob);
    }
}

/* ---- leave and hangup ------------------------------------------------------------------ */

void sb_vr_subscriber_leave(sb_vr_subscriber_t *s, sb_vr_outbox_t *ob)
{
    if (sb_vr_sub_left(s))
        return;
    sb_vr_sub_transition(s, SB_VR_SUB_EV_LEAVE);
    for (unsigned i = 0; i < s->nstreams; i++)
        sb_vr_sub_stream_drop(s, i);
    sb_vr_fwd_sub_detach(s);
    if (!s->session->destroyed)
        sb_vr_outbox_close_pc(ob, s->h);
    sb_vr_room_t *r = s->room;
    bool ours = s->session->link != NULL;
    sb_vr_room_ref(r);
    g_ptr_array_remove(r->subscribers, s); /* drops the room's reference */
    if (!ours)
        sb_vr_span_idle_check(r, ob);
    sb_vr_room_unref(r);
}

void sb_vr_subscriber_hangup_media(sb_vr_session_t *ses)
{
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    /* The client closed its PeerConnection: nothing left to send to. */
    if (ses->sub && !sb_vr_sub_left(ses->sub) && !sb_vr_sub_offering(ses->sub))
        sb_vr_subscriber_leave(ses->sub, &ob);
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}

