/* VideoRoom subscriptions once joined: start (the client's answer, or a resume), pause,
 * configure (send, substream, temporal per mid), switch (another feed on an m-line, without
 * renegotiation), subscribe / unsubscribe / update (with renegotiation, or "updating" while
 * an answer is pending), and leave.
 *
 * Does not make offers nor join (subscriber.c) nor forward (forward.c).
 * Threads: the message thread; state under the plugin lock, released around the core's
 * process_answer. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "videoroom.h"

/* ---- requests on a subscription ------------------------------------------------------------ */

static json_t *sb_vr_sub_event(const sb_vr_subscriber_t *s, const char *key, const char *val)
{
    return json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room",
                     (json_int_t)s->room->o.room, key, val);
}

/* A start's answer (jsep: an answer to our offer) given to the core; NULL, or the error to
 * reply (owned). Outside the lock: the core waits for the handle's loop. */
static json_t *sb_vr_sub_take_answer(sb_vr_subscriber_t *s, json_t *jsep)
{
    const char *type = json_string_value(json_object_get(jsep, "type"));
    char reason[256] = "";
    g_mutex_lock(&sb_vr_lock);
    bool offered = sb_vr_sub_offer_out(s);
    g_mutex_unlock(&sb_vr_lock);
    if (strcmp(type, "answer") != 0)
        return sb_vr_error_json(SB_VR_ERR_INVALID_SDP_TYPE, "Invalid SDP type (expected an "
                                                            "answer)");
    if (!offered)
        return sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "No offer is waiting for an answer");
    if (!sb_vr_core->process_answer)
        return sb_vr_error_json(SB_VR_ERR_UNKNOWN, "Media negotiation is not available in "
                                                   "this build of the core");
    if (sb_vr_core->process_answer(s->h, jsep, reason, sizeof(reason)) < 0)
        return sb_vr_error_json(SB_VR_ERR_INVALID_SDP, "Error processing the answer: %s",
                                reason);
    return NULL;
}

static void sb_vr_sub_start(sb_vr_msg_t *m, sb_vr_subscriber_t *s)
{
    json_t *err = m->jsep ? sb_vr_sub_take_answer(s, m->jsep) : NULL;
    if (err) {
        sb_vr_sub_reply(s, m->transaction, err);
        return;
    }
    sb_media_stream_t *neg = sb_calloc(SB_MEDIA_MAX_STREAMS, sizeof(*neg));
    unsigned n = m->jsep && sb_vr_core->streams
                     ? sb_vr_core->streams(s->h, neg, SB_MEDIA_MAX_STREAMS)
                     : 0;
    g_mutex_lock(&sb_vr_lock);
    if (sb_vr_sub_left(s)) { /* it left while the core took its answer: nothing to start */
        g_mutex_unlock(&sb_vr_lock);
        sb_free(neg);
        sb_vr_sub_reply(s, m->transaction, sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST,
                                                            "The subscription has ended"));
        return;
    }
    bool had_live = s->offered_live > 0 || !m->jsep;
    if (m->jsep) {
        sb_vr_sub_transition(s, SB_VR_SUB_EV_ANSWER);
        for (unsigned i = 0; i < s->nstreams; i++)
            s->streams[i]->ready = sb_vr_sub_stream_live(s->streams[i]);
        sb_vr_fwd_sub_attach(s, neg, n);
    }
    s->paused = false;
    unsigned live = 0;
    for (unsigned i = 0; i < s->nstreams; i++) {
        sb_vr_fwd_sub_config(s, i);
        live += sb_vr_sub_stream_live(s->streams[i]);
    }
    /* Every feed it was offered left before this answer (or before a resume): nothing
     * starts, and the client is told so rather than "ok" for a subscription with no media.
     * An answer to an offer that itself had nothing active (an update) is fine. */
    bool gone = had_live && !live;
    bool again = !gone && s->reneg_due && !sb_vr_sub_offer_out(s);
    json_t *reply = gone ? sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "The subscribed feeds are "
                                                                    "gone: nothing to start")
                         : sb_vr_sub_event(s, "started", "ok");
    g_mutex_unlock(&sb_vr_lock);
    sb_free(neg);
    sb_vr_sub_reply(s, m->transaction, reply);
    if (again)
        sb_vr_sub_renegotiate(s, NULL);
}

/* The m-line with this mid, or NULL. */
static sb_vr_sub_stream_t *sb_vr_sub_by_mid(sb_vr_subscriber_t *s, const char *mid)
{
    for (unsigned k = 0; mid && k < s->nstreams; k++)
        if (s->streams[k]->used && !strcmp(s->streams[k]->mid, mid))
            return s->streams[k];
    return NULL;
}

/* One configure item on its m-line. Under the lock. */
static void sb_vr_sub_configure_one(sb_vr_subscriber_t *s, sb_vr_sub_stream_t *ss, json_t *it)
{
    json_t *v;
    if ((v = json_object_get(it, "send")))
        ss->send = json_is_true(v);
    if ((v = json_object_get(it, "substream")))
        ss->substream = (int)json_integer_value(v);
    if ((v = json_object_get(it, "temporal")))
        ss->temporal = (int)json_integer_value(v);
    /* VP9 SVC layers are the subscriber's choice apart from simulcast's (svc.c). */
    if ((v = json_object_get(it, "spatial_layer")))
        ss->spatial_layer = (int)json_integer_value(v);
    if ((v = json_object_get(it, "temporal_layer")))
        ss->temporal_layer = (int)json_integer_value(v);
    /* Caps on the automatic choice (not in the reference): substream or spatial layer, and
     * temporal layer, at most this. */
    if ((v = json_object_get(it, "max_substream")))
        ss->max_substream = (int)json_integer_value(v);
    if ((v = json_object_get(it, "max_temporal")))
        ss->max_temporal = (int)json_integer_value(v);
    sb_vr_fwd_sub_config(s, ss->mindex);
}

static void sb_vr_sub_configure(sb_vr_msg_t *m, sb_vr_subscriber_t *s)
{
    static const sb_vr_param_t params[] = {
        {"mid", SB_VR_T_STRING, true},        {"send", SB_VR_T_BOOL, false},
        {"substream", SB_VR_T_UINT, false},   {"temporal", SB_VR_T_UINT, false},
        {"spatial_layer", SB_VR_T_UINT, false}, {"temporal_layer", SB_VR_T_UINT, false},
        {"fallback", SB_VR_T_UINT, false},    {"max_substream", SB_VR_T_UINT, false},
        {"max_temporal", SB_VR_T_UINT, false},
    };
    static const sb_vr_param_t top[] = {
        {"streams", SB_VR_T_ARRAY, false},
        {"restart", SB_VR_T_BOOL, false},
    };
    char text[256];
    json_t *items = json_object_get(m->body, "streams"), *it, *err = NULL;
    int code = SB_VR_CHECK(m->body, top, text);
    if (!code && items)
        code = SB_VR_CHECK_ITEMS(items, params, text);
    g_mutex_lock(&sb_vr_lock);
    if (code)
        err = sb_vr_error_json(code, "%s", text);
    else if (json_is_true(json_object_get(m->body, "restart")) && !sb_vr_sub_answered(s))
        err = sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST, "No PeerConnection to restart");
    size_t i;
    json_array_foreach(items, i, it) {
        const char *mid = json_string_value(json_object_get(it, "mid"));
        if (!err && !sb_vr_sub_by_mid(s, mid))
            err = sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such mid '%s' in subscription",
                                   mid);
    }
    json_array_foreach(items, i, it) {
        if (!err)
            sb_vr_sub_configure_one(
                s, sb_vr_sub_by_mid(s, json_string_value(json_object_get(it, "mid"))), it);
    }
    json_t *reply = err ? err : sb_vr_sub_event(s, "configured", "ok");
    bool restart = !err && json_is_true(json_object_get(m->body, "restart"));
    g_mutex_unlock(&sb_vr_lock);
    if (restart) /* as the reference: "configured" comes with the new offer */
        sb_vr_sub_restart_ice(s, m->transaction, reply);
    else
        sb_vr_sub_reply(s, m->transaction, reply);
}

/* unsubscribe items: {feed?, mid?, sub_mid?}. Under the lock. Returns how many m-lines
 * went inactive, or -1 with *err. */
/* unsubscribe {feed, mid?} on the data m-line: that publisher's data stops (when mid, if
 * any, names its data stream). Always 0: the data m-line stays (no new offer). Under the
 * lock. */
static int sb_vr_sub_remove_source(sb_vr_subscriber_t *s, sb_vr_sub_stream_t *ss, uint64_t feed,
                                   const char *mid)
{
    for (guint k = 0; ss->sources && k < ss->sources->len; k++) {
        sb_vr_publisher_t *p = g_ptr_array_index(ss->sources, k);
        int idx = mid ? sb_vr_publisher_stream_by_mid(p, mid) : -1;
        if (p->id == feed && (!mid || (idx >= 0 && p->streams[idx].neg.kind == SB_MEDIA_DATA))) {
            sb_vr_sub_drop_source(s, ss, p);
            return 0;
        }
    }
    return 0;
}

static int sb_vr_sub_remove(sb_vr_subscriber_t *s, json_t *items, json_t **err)
{
    static const sb_vr_param_t params[] = {
        {"feed", SB_VR_T_UINT, false},
        {"mid", SB_VR_T_STRING, false},
        {"sub_mid", SB_VR_T_STRING, false},
    };
    char text[256];
    size_t i;
    json_t *it;
    int code = SB_VR_CHECK_ITEMS(items, params, text);
    json_array_foreach(items, i, it) {
        if (!code && !json_object_get(it, "feed") && !json_object_get(it, "sub_mid")) {
            code = SB_VR_ERR_MISSING_ELEMENT;
            snprintf(text, sizeof(text), "Missing mandatory element (feed or sub_mid)");
        }
    }
    if (code) {
        *err = sb_vr_error_json(code, "%s", text);
        return -1;
    }
    int changed = 0;
    json_array_foreach(items, i, it) {
        json_t *feed = json_object_get(it, "feed");
        const char *mid = json_string_value(json_object_get(it, "mid"));
        const char *sub_mid = json_string_value(json_object_get(it, "sub_mid"));
        for (unsigned k = 0; k < s->nstreams; k++) {
            sb_vr_sub_stream_t *ss = s->streams[k];
            if (ss->kind == SB_MEDIA_DATA && !sub_mid) {
                changed += sb_vr_sub_remove_source(s, ss, (uint64_t)json_integer_value(feed),
                                                   mid);
                continue;
            }
            bool hit = sb_vr_sub_stream_live(ss) &&
                       (sub_mid ? !strcmp(ss->mid, sub_mid)
                                : ss->feed->id == (uint64_t)json_integer_value(feed) &&
                                      (!mid || !strcmp(ss->feed_mid, mid)));
            if (hit) {
                sb_vr_sub_stream_drop(s, k);
                changed++;
            }
        }
    }
    return changed;
}

/* subscribe / unsubscribe / update. */
static void sb_vr_sub_update(sb_vr_msg_t *m, sb_vr_subscriber_t *s, const char *request)
{
    bool upd = !strcmp(request, "update");
    json_t *add = upd ? json_object_get(m->body, "subscribe")
                      : !strcmp(request, "subscribe") ? json_object_get(m->body, "streams") : NULL;
    json_t *del = upd ? json_object_get(m->body, "unsubscribe")
                      : !strcmp(request, "unsubscribe") ? json_object_get(m->body, "streams")
                                                        : NULL;
    json_t *err = NULL;
    const char *what = upd ? (add ? "unsubscribe" : "subscribe") : "streams";
    if (upd && !add && !del)
        err = sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "At least one of either 'subscribe' "
                                                          "or 'unsubscribe' must be present");
    else if (!upd && !add && !del)
        err = sb_vr_error_json(SB_VR_ERR_MISSING_ELEMENT, "Missing mandatory element (streams)");
    else if ((add && !json_is_array(add)) || (del && !json_is_array(del)))
        err = sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                               "Invalid element type (%s should be an array)", what);
    sb_vr_pick_t picks[SB_MEDIA_MAX_STREAMS];
    int n = 0, removed = 0;
    g_mutex_lock(&sb_vr_lock);
    if (!err && add)
        n = sb_vr_sub_resolve(s->room, add, picks, SB_MEDIA_MAX_STREAMS, &err);
    /* Removals first, so their m-lines can be reused by the additions. */
    if (!err && del)
        removed = sb_vr_sub_remove(s, del, &err);
    if (!err && n > 0 && (unsigned)n > sb_vr_sub_free_slots(s))
        err = sb_vr_error_json(SB_VR_ERR_INVALID_ELEMENT,
                               "Too many streams (at most %u per subscription)",
                               SB_MEDIA_MAX_STREAMS);
    unsigned mlines = !err && n > 0 ? sb_vr_sub_add_streams(s, picks, (unsigned)n) : 0;
    /* Only sources added to the live data m-line: nothing to renegotiate (as the
     * reference, a bare "updated"). */
    bool changed = !err && (mlines > 0 || removed > 0);
    bool later = changed && (sb_vr_sub_offer_out(s) || sb_vr_sub_offering(s));
    if (later)
        s->reneg_due = true;
    json_int_t room = (json_int_t)s->room->o.room;
    g_mutex_unlock(&sb_vr_lock);
    if (err)
        sb_vr_sub_reply(s, m->transaction, err);
    else if (later)
        sb_vr_sub_reply(s, m->transaction,
                    json_pack("{s:s, s:I}", "videoroom", "updating", "room", room));
    else if (!changed)
        sb_vr_sub_reply(s, m->transaction,
                    json_pack("{s:s, s:I}", "videoroom", "updated", "room", room));
    else
        sb_vr_sub_renegotiate(s, m->transaction);
}

/* One switch item resolved: the new source and the m-line it goes to. */
typedef struct sb_vr_switch {
    sb_vr_publisher_t *p;
    int k;
    sb_vr_sub_stream_t *ss;
} sb_vr_switch_t;

/* Resolve a switch item {feed, mid, sub_mid}. Under the lock. NULL or an error (owned). */
static json_t *sb_vr_switch_resolve(sb_vr_subscriber_t *s, json_t *it, sb_vr_switch_t *out)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(it, "feed"));
    const char *mid = json_string_value(json_object_get(it, "mid"));
    const char *sub_mid = json_string_value(json_object_get(it, "sub_mid"));
    out->p = g_hash_table_lookup(s->room->participants, &id);
    if (!out->p || !sb_vr_pub_negotiated(out->p))
        return sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such feed (%llu)",
                                (unsigned long long)id);
    if ((out->k = sb_vr_publisher_stream_by_mid(out->p, mid)) < 0)
        return sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such mid '%s' in feed (%llu)", mid,
                                (unsigned long long)id);
    if (!(out->ss = sb_vr_sub_by_mid(s, sub_mid)))
        return sb_vr_error_json(SB_VR_ERR_NO_SUCH_FEED, "No such mid '%s' in subscription",
                                sub_mid);
    return NULL;
}

/* Apply one resolved switch; false when it changes nothing (same source, or another kind
 * or codec: the m-line is not renegotiated). *reactivated: an inactive m-line got a source
 * and needs a new offer. Under the lock. */
static bool sb_vr_switch_apply(sb_vr_subscriber_t *s, const sb_vr_switch_t *w,
                               bool *reactivated)
{
    const sb_vr_pub_stream_t *ps = &w->p->streams[w->k];
    sb_vr_sub_stream_t *ss = w->ss;
    if (ps->neg.kind != ss->kind || ss->kind == SB_MEDIA_DATA || /* data: subscribe instead */
        g_ascii_strcasecmp(ps->neg.codec, ss->src.codec) ||
        ps->disabled || (ss->feed == w->p && ss->feed_index == (unsigned)w->k))
        return false;
    *reactivated = *reactivated || !ss->feed;
    sb_vr_sub_set_feed(ss, w->p, (unsigned)w->k);
    sb_vr_fwd_bind(s, ss->mindex);
    return true;
}

/* switch: [{feed, mid, sub_mid}], all or nothing, without renegotiation unless an inactive
 * m-line comes back. */
static void sb_vr_sub_switch(sb_vr_msg_t *m, sb_vr_subscriber_t *s)
{
    static const sb_vr_param_t params[] = {
        {"feed", SB_VR_T_UINT, true},
        {"mid", SB_VR_T_STRING, true},
        {"sub_mid", SB_VR_T_STRING, true},
    };
    static const sb_vr_param_t top[] = {{"streams", SB_VR_T_ARRAY, true}};
    char text[256];
    json_t *err = NULL, *items = json_object_get(m->body, "streams"), *it;
    int code = SB_VR_CHECK(m->body, top, text);
    if (!code)
        code = SB_VR_CHECK_ITEMS(items, params, text);
    if (code)
        err = sb_vr_error_json(code, "%s", text);
    sb_vr_switch_t w[SB_MEDIA_MAX_STREAMS];
    unsigned changes = 0;
    bool reactivated = false;
    size_t i;
    g_mutex_lock(&sb_vr_lock);
    json_array_foreach(items, i, it) {
        if (!err)
            err = sb_vr_switch_resolve(s, it, &w[i]);
    }
    for (i = 0; !err && i < json_array_size(items); i++)
        changes += sb_vr_switch_apply(s, &w[i], &reactivated);
    json_t *reply = err;
    if (!err)
        reply = json_pack("{s:s, s:I, s:s, s:i, s:o}", "videoroom", "event", "room",
                          (json_int_t)s->room->o.room, "switched", "ok", "changes",
                          (int)changes, "streams", sb_vr_subscriber_streams_json(s));
    bool later = reactivated && (sb_vr_sub_offer_out(s) || sb_vr_sub_offering(s));
    if (later)
        s->reneg_due = true;
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_sub_reply(s, m->transaction, reply);
    if (reactivated && !later)
        sb_vr_sub_renegotiate(s, NULL);
}

void sb_vr_subscriber_request(sb_vr_msg_t *m, const char *request)
{
    sb_vr_subscriber_t *s = m->sub;
    g_mutex_lock(&sb_vr_lock);
    bool left = sb_vr_sub_left(s);
    g_mutex_unlock(&sb_vr_lock);
    if (!strcmp(request, "join")) {
        sb_vr_sub_reply(s, m->transaction,
                    sb_vr_error_json(SB_VR_ERR_ALREADY_JOINED,
                                     "Already in as a subscriber on this handle"));
    } else if (left) {
        sb_vr_sub_reply(s, m->transaction, sb_vr_error_json(SB_VR_ERR_NO_SUCH_ROOM, "No such room"));
    } else if (!strcmp(request, "start")) {
        sb_vr_sub_start(m, s);
    } else if (!strcmp(request, "pause")) {
        g_mutex_lock(&sb_vr_lock);
        s->paused = true;
        for (unsigned i = 0; i < s->nstreams; i++)
            sb_vr_fwd_sub_config(s, i);
        json_t *reply = sb_vr_sub_event(s, "paused", "ok");
        g_mutex_unlock(&sb_vr_lock);
        sb_vr_sub_reply(s, m->transaction, reply);
    } else if (!strcmp(request, "configure")) {
        sb_vr_sub_configure(m, s);
    } else if (!strcmp(request, "switch")) {
        sb_vr_sub_switch(m, s);
    } else if (!strcmp(request, "subscribe") || !strcmp(request, "unsubscribe") ||
               !strcmp(request, "update")) {
        sb_vr_sub_update(m, s, request);
    } else if (!strcmp(request, "leave")) {
        sb_vr_outbox_t ob;
        sb_vr_outbox_init(&ob);
        g_mutex_lock(&sb_vr_lock);
        json_t *reply = sb_vr_sub_event(s, "left", "ok");
        sb_vr_subscriber_leave(s, &ob);
        g_mutex_unlock(&sb_vr_lock);
        sb_vr_sub_reply(s, m->transaction, reply);
        sb_vr_outbox_flush(&ob);
    } else {
        sb_vr_sub_reply(s, m->transaction, sb_vr_error_json(SB_VR_ERR_INVALID_REQUEST,
                                                        "Unknown request '%s'", request));
    }
}
