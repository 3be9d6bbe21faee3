/* Data channels in the VideoRoom: what a publisher sends on its data channels goes to every
 * subscriber whose data m-line has it as a source.
 *
 * As the reference server, each subscriber gets a publisher's messages on a channel labelled
 * with the publisher's id (decimal), so it can tell senders apart on its one data m-line.
 * Beyond it, that channel keeps the publisher's channel properties (unordered, retransmission
 * or lifetime limits: a game's unreliable channel stays unreliable end to end), and carries
 * the publisher's own channel label as its protocol (the reference sends an empty one), so a
 * publisher with a "game" and a "chat" channel reaches its subscribers on two channels.
 *
 * Routing. Each publisher has the list of subscribers of its data (data_subs), guarded by
 * sb_vr_data_lock (only this list: the media path never takes the plugin lock). A message is
 * sent at once to the subscribers on the publisher's loop, and posted once per other loop
 * with the list of that loop's subscribers.
 *
 * A subscriber that does not keep up costs bounded memory: its association's send buffer is
 * bounded by the core, and a message that does not fit is dropped. On a partially reliable
 * channel that is what the channel allows (counted); on a reliable one the subscriber is told
 * with a "data_dropped" event (at most one a second), since what it gets is no longer whole. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "switchboard/time.h"
#include "videoroom.h"

#define SB_VR_DATA_EVENT_EVERY_US 1000000 /* "data_dropped" events: at most one a second */
/* Bytes of one publisher's messages posted to other loops and not yet handed to the core
 * there: a busy loop costs bounded memory; past it, messages to other loops are dropped. */
#define SB_VR_DATA_INFLIGHT_MAX (4u << 20)

static GMutex sb_vr_data_lock;

void sb_vr_data_link(sb_vr_publisher_t *p, sb_vr_subscriber_t *s)
{
    g_mutex_lock(&sb_vr_data_lock);
    if (!p->data_subs)
        p->data_subs = g_ptr_array_new();
    bool found = false;
    for (guint i = 0; i < p->data_subs->len && !found; i++)
        found = g_ptr_array_index(p->data_subs, i) == s;
    if (!found) {
        sb_vr_subscriber_ref(s);
        g_ptr_array_add(p->data_subs, s);
    }
    g_mutex_unlock(&sb_vr_data_lock);
}

/* A source's channels at a subscriber, closed on the subscriber's loop once the source is
 * gone (their streams can then carry new channels: an association has 512 of ours). */
typedef struct sb_vr_data_close {
    sb_vr_subscriber_t *s; /* a reference */
    char label[24];
} sb_vr_data_close_t;

static void sb_vr_data_close_run(void *arg)
{
    sb_vr_data_close_t *c = arg;
    if (sb_vr_core->close_data)
        sb_vr_core->close_data(c->s->h, c->label);
    sb_vr_subscriber_unref(c->s);
    sb_free(c);
}

void sb_vr_data_unlink(sb_vr_publisher_t *p, sb_vr_subscriber_t *s)
{
    g_mutex_lock(&sb_vr_data_lock);
    bool found = p->data_subs && g_ptr_array_remove_fast(p->data_subs, s);
    g_mutex_unlock(&sb_vr_data_lock);
    if (!found)
        return;
    sb_vr_data_close_t *c = SB_NEW(sb_vr_data_close_t);
    c->s = s; /* the list's reference moves here */
    snprintf(c->label, sizeof(c->label), "%llu", (unsigned long long)p->id);
    if (s->pc_loop < 0 || sb_vr_core->loop_post(s->pc_loop, sb_vr_data_close_run, c) < 0) {
        sb_vr_subscriber_unref(s);
        sb_free(c);
    }
}

void sb_vr_data_free(sb_vr_publisher_t *p)
{
    if (!p->data_subs)
        return;
    for (guint i = 0; i < p->data_subs->len; i++) /* empty unless the plugin stops */
        sb_vr_subscriber_unref(g_ptr_array_index(p->data_subs, i));
    g_ptr_array_free(p->data_subs, TRUE);
    p->data_subs = NULL;
}

/* One message on its way to the subscribers of one loop. Owns its copies and references. */
typedef struct sb_vr_data_post {
    sb_data_message_t msg;
    char label[24];
    char *protocol;
    uint8_t *data;
    uint64_t feed;
    int loop;
    GPtrArray *subs;        /* sb_vr_subscriber_t *, a reference each */
    sb_vr_publisher_t *pub; /* a reference while counted in its data_inflight, else NULL */
} sb_vr_data_post_t;

static void sb_vr_data_post_free(sb_vr_data_post_t *d)
{
    for (guint i = 0; i < d->subs->len; i++)
        sb_vr_subscriber_unref(g_ptr_array_index(d->subs, i));
    g_ptr_array_free(d->subs, TRUE);
    if (d->pub) {
        atomic_fetch_sub(&d->pub->data_inflight, d->msg.len);
        sb_vr_publisher_unref(d->pub);
    }
    sb_free(d->protocol);
    sb_free(d->data);
    sb_free(d);
}

static bool sb_vr_data_wanted(sb_vr_subscriber_t *s)
{
    int idx = __atomic_load_n(&s->data_index, __ATOMIC_ACQUIRE);
    if (idx < 0)
        return false;
    const sb_vr_sub_stream_t *ss = sb_vr_sub_stream_at(s, (unsigned)idx);
    return ss && ss->loop.send && !ss->loop.paused;
}

/* The subscriber's loop: tell it how many reliable messages it lost so far. */
static void sb_vr_data_report(sb_vr_subscriber_t *s, uint64_t feed, int64_t now)
{
    uint64_t dropped = atomic_load(&s->data_dropped_reliable);
    s->data_last_event_us = now;
    s->data_reported = dropped;
    json_t *ev = json_pack("{s:s, s:I, s:I, s:I}", "videoroom", "event", "room",
                           (json_int_t)s->room->o.room, "data_dropped", (json_int_t)dropped,
                           "feed", (json_int_t)feed);
    sb_vr_push_event(s->h, NULL, ev, NULL);
    json_decref(ev);
    SB_DEBUG("videoroom", "subscriber %llu does not keep up with reliable data (%llu dropped)",
             (unsigned long long)s->h->handle_id, (unsigned long long)dropped);
}

/* The subscriber's loop: one message to one subscriber. Reliable losses are reported at most
 * once a second, with the running total; losses after the last report are reported with the
 * next message sent once that second is over, so the last count is not lost. */
static void sb_vr_data_send_one(sb_vr_subscriber_t *s, const sb_data_message_t *msg,
                                uint64_t feed)
{
    if (!sb_vr_data_wanted(s))
        return;
    int rc = sb_vr_core->send_data(s->h, msg);
    if (rc < 0 && rc != SB_ESTATE && msg->reliability != SB_DATA_RELIABLE) {
        atomic_fetch_add(&s->data_dropped_unreliable, 1);
        return;
    }
    if (rc < 0 && rc != SB_ESTATE) /* full, too large for this client, no stream left */
        atomic_fetch_add(&s->data_dropped_reliable, 1);
    int64_t now = sb_now_us();
    if (atomic_load(&s->data_dropped_reliable) != s->data_reported &&
        now - s->data_last_event_us >= SB_VR_DATA_EVENT_EVERY_US)
        sb_vr_data_report(s, feed, now);
}

static void sb_vr_data_post_run(void *arg)
{
    sb_vr_data_post_t *d = arg;
    for (guint i = 0; i < d->subs->len; i++)
        sb_vr_data_send_one(g_ptr_array_index(d->subs, i), &d->msg, d->feed);
    sb_vr_data_post_free(d);
}

static sb_vr_data_post_t *sb_vr_data_post_new(const sb_data_message_t *msg, uint64_t feed,
                                              int loop)
{
    sb_vr_data_post_t *d = SB_NEW(sb_vr_data_post_t);
    d->loop = loop;
    d->msg = *msg;
    snprintf(d->label, sizeof(d->label), "%llu", (unsigned long long)feed);
    d->protocol = sb_strdup(msg->label ? msg->label : "");
    d->data = sb_malloc(msg->len ? msg->len : 1);
    if (msg->len)
        memcpy(d->data, msg->data, msg->len);
    d->msg.label = d->label;
    d->msg.protocol = d->protocol;
    d->msg.data = d->data;
    d->feed = feed;
    d->subs = g_ptr_array_new();
    return d;
}

void sb_vr_data_on_message(sb_vr_session_t *ses, const sb_data_message_t *msg)
{
    sb_vr_publisher_t *p = ses->loop_pub;
    if (!p) /* a subscriber's own messages go nowhere, as with the reference */
        return;
    /* The subscribers (references) under the lock; the copies after it. */
    g_mutex_lock(&sb_vr_data_lock);
    guint n = p->data_subs ? p->data_subs->len : 0;
    sb_vr_subscriber_t **subs = n ? sb_malloc(n * sizeof(*subs)) : NULL;
    for (guint i = 0; i < n; i++) {
        subs[i] = g_ptr_array_index(p->data_subs, i);
        sb_vr_subscriber_ref(subs[i]);
    }
    g_mutex_unlock(&sb_vr_data_lock);
    /* One post per loop, each with the subscribers of that loop; the publisher's own loop's
     * runs right away. */
    GPtrArray *posts = g_ptr_array_new();
    for (guint i = 0; i < n; i++) {
        sb_vr_data_post_t *d = NULL;
        for (guint k = 0; k < posts->len && !d; k++) {
            sb_vr_data_post_t *c = g_ptr_array_index(posts, k);
            d = c->loop == subs[i]->pc_loop ? c : NULL;
        }
        if (!d) {
            d = sb_vr_data_post_new(msg, p->id, subs[i]->pc_loop);
            g_ptr_array_add(posts, d);
        }
        g_ptr_array_add(d->subs, subs[i]); /* the reference moves to the post */
    }
    sb_free(subs);
    for (guint k = 0; k < posts->len; k++) {
        sb_vr_data_post_t *d = g_ptr_array_index(posts, k);
        if (d->loop == p->pc_loop || d->loop < 0) {
            sb_vr_data_post_run(d);
            continue;
        }
        if (atomic_fetch_add(&p->data_inflight, msg->len) + msg->len > SB_VR_DATA_INFLIGHT_MAX) {
            atomic_fetch_sub(&p->data_inflight, msg->len); /* that loop is behind: drop */
            atomic_fetch_add(&p->data_relay_dropped, 1);
            sb_vr_data_post_free(d);
            continue;
        }
        sb_vr_publisher_ref(p);
        d->pub = p;
        if (sb_vr_core->loop_post(d->loop, sb_vr_data_post_run, d) < 0)
            sb_vr_data_post_free(d);
    }
    g_ptr_array_free(posts, TRUE);
}
