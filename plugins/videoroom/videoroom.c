/* janus.plugin.videoroom: the SFU plugin. This file is its frame: the plugin table,
 * init/deinit, per-handle sessions, the message thread that runs asynchronous requests and
 * deferred work, and the entry points of the media ops (forward.c does the work).
 *
 * Does not implement any request (requests.c routes them) nor forwarding (forward.c).
 * Threads: init/deinit on the main thread; create_handle, handle_message, destroy_handle
 * and query_handle on control threads; one message thread; media ops on the handle's
 * loop. See videoroom.h for the lock and the ownership model. */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "videoroom.h"

const sb_core_api_t *sb_vr_core;
GMutex sb_vr_lock;
sb_vr_config_t sb_vr_config;

/* One item of the message thread's queue. Owned by the queue, then by the thread. */
typedef struct sb_vr_work {
    void (*fn)(void *arg);
    void *arg;
    void (*done)(void *arg);
    int64_t due_us; /* sb_vr_later: when it runs */
} sb_vr_work_t;

static GAsyncQueue *sb_vr_queue;
static GThread *sb_vr_thread;
/* Work the message thread runs later (sb_vr_queue_msg_later), soonest first. Its own. */
static GQueue sb_vr_later = G_QUEUE_INIT;
static sb_vr_work_t sb_vr_stop_work; /* sentinel */

/* ---- sessions ------------------------------------------------------------------------- */

void sb_vr_session_ref(sb_vr_session_t *s)
{
    sb_refcount_inc(&s->ref);
}

void sb_vr_session_unref(sb_vr_session_t *s)
{
    if (!s || !sb_refcount_dec(&s->ref))
        return;
    sb_vr_core->handle_unref(s->h);
    sb_free(s->link);
    sb_free(s);
}

/* ---- the message thread --------------------------------------------------------------- */

void sb_vr_defer(void (*fn)(void *arg), void *arg, void (*done)(void *arg))
{
    sb_vr_work_t *w = SB_NEW(sb_vr_work_t);
    w->fn = fn;
    w->arg = arg;
    w->done = done;
    g_async_queue_push(sb_vr_queue, w);
}

static void sb_vr_msg_run(void *arg)
{
    sb_vr_process(arg);
}

static void sb_vr_msg_free(void *arg)
{
    sb_vr_msg_t *m = arg;
    sb_vr_publisher_unref(m->pub);
    sb_vr_subscriber_unref(m->sub);
    sb_vr_session_unref(m->s);
    sb_free(m->transaction);
    json_decref(m->body);
    json_decref(m->jsep);
    sb_free(m);
}

void sb_vr_queue_msg(sb_vr_msg_t *m)
{
    sb_vr_defer(sb_vr_msg_run, m, sb_vr_msg_free);
}

static gint sb_vr_later_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    int64_t x = ((const sb_vr_work_t *)a)->due_us, y = ((const sb_vr_work_t *)b)->due_us;
    return x < y ? -1 : x > y;
}

void sb_vr_queue_msg_later(sb_vr_msg_t *m, unsigned ms)
{
    sb_vr_work_t *w = SB_NEW(sb_vr_work_t);
    w->fn = sb_vr_msg_run;
    w->arg = m;
    w->done = sb_vr_msg_free;
    w->due_us = g_get_monotonic_time() + (int64_t)ms * 1000;
    g_queue_insert_sorted(&sb_vr_later, w, sb_vr_later_cmp, NULL);
}

static void sb_vr_work_run(sb_vr_work_t *w)
{
    w->fn(w->arg);
    if (w->done)
        w->done(w->arg);
    sb_free(w);
}

static gpointer sb_vr_thread_run(gpointer unused)
{
    (void)unused;
    for (;;) {
        sb_vr_work_t *next = g_queue_peek_head(&sb_vr_later);
        int64_t wait = next ? next->due_us - g_get_monotonic_time() : -1;
        sb_vr_work_t *w = !next      ? g_async_queue_pop(sb_vr_queue)
                          : wait > 0 ? g_async_queue_timeout_pop(sb_vr_queue, (guint64)wait)
                                     : g_async_queue_try_pop(sb_vr_queue);
        if (w == &sb_vr_stop_work)
            break;
        if (w)
            sb_vr_work_run(w);
        int64_t now = g_get_monotonic_time();
        while ((next = g_queue_peek_head(&sb_vr_later)) && next->due_us <= now)
            sb_vr_work_run(g_queue_pop_head(&sb_vr_later));
    }
    /* What was due later is dropped with the plugin. */
    sb_vr_work_t *w;
    while ((w = g_queue_pop_head(&sb_vr_later))) {
        if (w->done)
            w->done(w->arg);
        sb_free(w);
    }
    return NULL;
}

/* ---- plugin ops ----------------------------------------------------------------------- */

static int sb_vr_init(const sb_core_api_t *core, const char *config_dir)
{
    sb_vr_core = core;
    g_mutex_init(&sb_vr_lock);
    memset(&sb_vr_config, 0, sizeof(sb_vr_config));
    sb_vr_config.spread_after = SB_VR_SPREAD_AFTER_DEFAULT;
    sb_vr_rooms_init();
    if (sb_vr_rooms_load_config(config_dir) < 0) {
        sb_vr_rooms_deinit();
        sb_free(sb_vr_config.admin_key);
        return -1;
    }
    sb_vr_queue = g_async_queue_new();
    sb_vr_thread = g_thread_new("videoroom", sb_vr_thread_run, NULL);
    if (!core->answer_offer || !core->make_offer || !core->process_answer || !core->streams)
        SB_WARN("videoroom", "the core has no media negotiation yet: publishing and "
                             "subscribing will fail with an error");
    return 0;
}

static void sb_vr_noop(void *arg)
{
    (void)arg;
}

static void sb_vr_loop_stop(void *arg)
{
    (void)arg;
    sb_vr_relays_loop_stop();
}

static void sb_vr_deinit(void)
{
    g_async_queue_push(sb_vr_queue, &sb_vr_stop_work);
    g_thread_join(sb_vr_thread);
    sb_vr_work_t *w;
    while ((w = g_async_queue_try_pop(sb_vr_queue)) != NULL) {
        if (w->done)
            w->done(w->arg);
        sb_free(w);
    }
    g_async_queue_unref(sb_vr_queue);
    /* Closures we posted (the last references of detached sessions, relayed batches and
     * the keyframe requests they cause) must have run before this code is unloaded. First
     * every loop drops its relay flush source and what it still had to relay, so no loop
     * posts batches any more; then a barrier on every loop runs the batches in flight; a
     * second one the keyframe requests those posted to other loops. */
    unsigned loops = sb_vr_core->loop_count();
    for (unsigned i = 0; i < loops; i++)
        sb_vr_core->loop_call_sync((int)i, sb_vr_loop_stop, NULL);
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < loops; i++)
            sb_vr_core->loop_call_sync((int)i, sb_vr_noop, NULL);
    sb_vr_rooms_deinit();
    sb_free(sb_vr_config.admin_key);
    sb_vr_config.admin_key = NULL;
}

static int sb_vr_create_handle(sb_plugin_handle_t *h)
{
    sb_vr_session_t *s = SB_NEW(sb_vr_session_t);
    sb_refcount_init(&s->ref);
    sb_vr_core->handle_ref(h);
    s->h = h;
    s->loop = -1;
    h->plugin_data = s;
    return 0;
}

static sb_plugin_result_t sb_vr_handle_message_op(sb_plugin_handle_t *h,
                                                  const char *transaction, json_t *body,
                                                  json_t *jsep)
{
    sb_vr_session_t *s = h->plugin_data;
    if (!s)
        return (sb_plugin_result_t){.kind = SB_PLUGIN_ERROR,
                                    .error = sb_strdup("No session associated with this "
                                                       "handle")};
    return sb_vr_handle_message(s, transaction, body, jsep);
}

static void sb_vr_destroy_handle(sb_plugin_handle_t *h)
{
    sb_vr_session_t *s = h->plugin_data;
    if (!s)
        return;
    sb_vr_outbox_t ob;
    sb_vr_outbox_init(&ob);
    g_mutex_lock(&sb_vr_lock);
    s->destroyed = true;
    /* The participant objects hold the session: dropping the session's references here
     * breaks the cycle. Queued work holds its own references. */
    if (s->pub) {
        sb_vr_publisher_leave(s->pub, &ob, false, false);
        sb_vr_publisher_unref(s->pub);
        s->pub = NULL;
    }
    if (s->sub) {
        sb_vr_subscriber_leave(s->sub, &ob);
        sb_vr_subscriber_unref(s->sub);
        s->sub = NULL;
    }
    /* The handle's reference goes on the loop its PeerConnection was on, after whatever
     * that loop still has queued for it. */
    sb_vr_fwd_session_release(s);
    g_mutex_unlock(&sb_vr_lock);
    sb_vr_outbox_flush(&ob);
}

static json_t *sb_vr_query_handle(sb_plugin_handle_t *h)
{
    sb_vr_session_t *s = h->plugin_data;
    if (!s)
        return NULL;
    json_t *j = json_object();
    g_mutex_lock(&sb_vr_lock);
    if (s->pub) {
        json_object_set_new(j, "type", json_string("publisher"));
        json_object_set_new(j, "room", json_integer((json_int_t)s->pub->room->o.room));
        json_object_set_new(j, "id", json_integer((json_int_t)s->pub->id));
        json_object_set_new(j, "active", json_boolean(sb_vr_pub_live(s->pub)));
        json_object_set_new(j, "loop", json_integer(s->pub->pc_loop));
    } else if (s->sub) {
        json_object_set_new(j, "type", json_string("subscriber"));
        json_object_set_new(j, "room", json_integer((json_int_t)s->sub->room->o.room));
        json_object_set_new(j, "streams", sb_vr_subscriber_streams_json(s->sub));
        json_object_set_new(j, "loop", json_integer(s->sub->pc_loop));
    } else {
        json_object_set_new(j, "type", json_string("none"));
    }
    g_mutex_unlock(&sb_vr_lock);
    return j;
}

/* ---- media ops (loop thread) ---------------------------------------------------------- */

static void sb_vr_media_up(void *arg)
{
    sb_vr_session_t *s = arg;
    g_mutex_lock(&sb_vr_lock);
    bool pub = s->pub != NULL;
    g_mutex_unlock(&sb_vr_lock);
    if (pub)
        sb_vr_publisher_setup_media(s);
}

static void sb_vr_media_down(void *arg)
{
    sb_vr_session_t *s = arg;
    g_mutex_lock(&sb_vr_lock);
    bool pub = s->pub != NULL, sub = s->sub != NULL;
    g_mutex_unlock(&sb_vr_lock);
    if (pub)
        sb_vr_publisher_hangup_media(s);
    else if (sub)
        sb_vr_subscriber_hangup_media(s);
}

static void sb_vr_session_done(void *arg)
{
    sb_vr_session_unref(arg);
}

static void sb_vr_setup_media(sb_plugin_handle_t *h)
{
    sb_vr_session_t *s = h->plugin_data;
    if (!s)
        return;
    sb_vr_fwd_media_up(s); /* subscribers: keyframes for what they will receive */
    sb_vr_session_ref(s);
    sb_vr_defer(sb_vr_media_up, s, sb_vr_session_done);
}

static void sb_vr_hangup_media(sb_plugin_handle_t *h)
{
    sb_vr_session_t *s = h->plugin_data;
    if (!s)
        return;
    sb_vr_fwd_media_down(s);
    sb_vr_session_ref(s);
    sb_vr_defer(sb_vr_media_down, s, sb_vr_session_done);
}

static void sb_vr_on_rtp(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt)
{
    sb_vr_session_t *s = h->plugin_data;
    if (s)
        sb_vr_fwd_on_rtp(s, pkt);
}

static void sb_vr_on_keyframe_request(sb_plugin_handle_t *h, unsigned stream)
{
    sb_vr_session_t *s = h->plugin_data;
    if (s)
        sb_vr_fwd_on_keyframe_request(s, stream);
}

static void sb_vr_on_bitrate_estimate(sb_plugin_handle_t *h, uint32_t bitrate_bps)
{
    sb_vr_session_t *s = h->plugin_data;
    if (s && s->loop_sub)
        sb_vr_alloc_on_estimate(s->loop_sub, bitrate_bps);
}

static void sb_vr_on_data(sb_plugin_handle_t *h, const sb_data_message_t *msg)
{
    sb_vr_session_t *s = h->plugin_data;
    if (s)
        sb_vr_data_on_message(s, msg);
}

static const sb_plugin_t sb_vr_plugin = {
    SB_PLUGIN_HEADER,
    .package = SB_VR_PACKAGE,
    .name = "Switchboard VideoRoom",
    .description = "A video conference SFU: publishers and multistream subscribers in rooms.",
    .author = "Switchboard",
    .version_string = "0.1.0",
    .version = 1,
    .init = sb_vr_init,
    .deinit = sb_vr_deinit,
    .create_handle = sb_vr_create_handle,
    .handle_message = sb_vr_handle_message_op,
    .setup_media = sb_vr_setup_media,
    .hangup_media = sb_vr_hangup_media,
    .destroy_handle = sb_vr_destroy_handle,
    .query_handle = sb_vr_query_handle,
    .on_rtp = sb_vr_on_rtp,
    .on_keyframe_request = sb_vr_on_keyframe_request,
    .on_bitrate_estimate = sb_vr_on_bitrate_estimate,
    .on_data = sb_vr_on_data,
    .handle_admin_message = sb_vr_handle_admin_message,
    .counts = sb_vr_counts,
    .reload = sb_vr_rooms_reload,
    .on_cluster_message = sb_vr_span_on_message,
    .on_node_change = sb_vr_span_on_node,
};

SB_PLUGIN_DEFINE(sb_vr_plugin)
