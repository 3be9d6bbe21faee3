/* janus.plugin.textroom: text rooms over data channels. This file is the plugin's frame:
 * the plugin table, init/deinit, one session per handle, the negotiation thread, and the
 * media ops that bring data channel messages in and take PeerConnections away.
 *
 * The wire protocol is the reference TextRoom's: "setup" over the API makes an offer with
 * a single data channel m-line (pushed later with the request's transaction); the client
 * answers with "ack" and its SDP answer; then JSON requests travel on the data channel
 * ("textroom": join, message, leave, list, ...), answered there. Room management (list,
 * exists, create, edit, destroy, allowed, kick, listparticipants, announcement) also works
 * as API messages ("request": ...), answered at once. "restart" makes an ICE-restart offer.
 *
 * Does not implement requests (requests.c and the files it routes to) nor send (deliver.c).
 * Threads: init/deinit on the main thread; create_handle, handle_message, destroy_handle,
 * query_handle on control threads; negotiations on the plugin's "textroom" thread (make_offer
 * and process_answer wait for a media loop); on_data, setup_media and hangup_media on the
 * handle's loop. See textroom.h for the lock. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "textroom.h"

const sb_core_api_t *sb_tr_core;

typedef enum sb_tr_work_kind {
    SB_TR_WORK_SETUP,
    SB_TR_WORK_ACK,
    SB_TR_WORK_RESTART,
    SB_TR_WORK_STOP,
} sb_tr_work_kind_t;

/* A negotiation request, queued to the thread. Owns a session reference and its JSON. */
typedef struct sb_tr_work {
    sb_tr_work_kind_t kind;
    sb_tr_session_t *s;
    char *transaction;
    json_t *jsep;
} sb_tr_work_t;

static GAsyncQueue *sb_tr_queue;
static GThread *sb_tr_thread;

/* ---- the negotiation thread ---------------------------------------------------------------- */

static void sb_tr_work_free(sb_tr_work_t *w)
{
    sb_tr_session_unref(w->s);
    sb_free(w->transaction);
    json_decref(w->jsep);
    sb_free(w);
}

/* Answer w's request: data (owned) with jsep (borrowed, may be NULL). */
static void sb_tr_work_reply(sb_tr_work_t *w, json_t *data, json_t *jsep)
{
    sb_tr_core->push_event(w->s->h, w->transaction, data, jsep);
    json_decref(data);
}

/* Answer w's request with the error code and text. */
static void sb_tr_work_error(sb_tr_work_t *w, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void sb_tr_work_error(sb_tr_work_t *w, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    sb_tr_work_reply(w, sb_tr_error(code, "%s", text), NULL);
}

static json_t *sb_tr_ok(void)
{
    return json_pack("{s:s, s:s}", "textroom", "event", "result", "ok");
}

/* An offer with one data channel m-line (the PeerConnection is created on the first). */
static void sb_tr_work_offer(sb_tr_work_t *w, bool restart)
{
    static const sb_offer_stream_t data = {.kind = SB_MEDIA_DATA, .active = true};
    json_t *offer = NULL;
    char reason[256] = "";
    if (restart)
        sb_tr_core->request_ice_restart(w->s->h);
    if (sb_tr_core->make_offer(w->s->h, &data, 1, -1, &offer, reason, sizeof(reason)) < 0) {
        if (!restart)
            atomic_store(&w->s->setup, false);
        sb_tr_work_error(w, SB_TR_ERR_UNKNOWN, "Error creating the offer: %s", reason);
        return;
    }
    sb_tr_work_reply(w, sb_tr_ok(), offer);
    json_decref(offer);
}

static void sb_tr_work_ack(sb_tr_work_t *w)
{
    /* No jsep: a plain acknowledgement, answered "ok" as the reference does. */
    const char *type = json_string_value(json_object_get(w->jsep, "type"));
    if (w->jsep && (!type || strcmp(type, "answer") != 0)) {
        sb_tr_work_error(w, SB_TR_ERR_INVALID_ELEMENT,
                         "Invalid element (jsep: \"ack\" carries the answer to our offer, not "
                         "an %s)",
                         type ? type : "unknown type");
        return;
    }
    char reason[256] = "";
    if (w->jsep && sb_tr_core->process_answer(w->s->h, w->jsep, reason, sizeof(reason)) < 0) {
        sb_tr_work_error(w, SB_TR_ERR_UNKNOWN, "Error processing the answer: %s", reason);
        return;
    }
    int loop = sb_tr_core->loop_index(w->s->h);
    if (loop >= 0)
        atomic_store(&w->s->loop, loop);
    sb_tr_work_reply(w, sb_tr_ok(), NULL);
}

static void sb_tr_work_run(sb_tr_work_t *w)
{
    if (!sb_tr_core->handle_alive(w->s->h))
        return;
    switch (w->kind) {
    case SB_TR_WORK_SETUP:
        if (atomic_exchange(&w->s->setup, true))
            sb_tr_work_error(w, SB_TR_ERR_ALREADY_SETUP, "PeerConnection already setup");
        else
            sb_tr_work_offer(w, false);
        break;
    case SB_TR_WORK_RESTART:
        if (!atomic_load(&w->s->setup))
            sb_tr_work_error(w, SB_TR_ERR_ALREADY_SETUP, "PeerConnection not setup");
        else
            sb_tr_work_offer(w, true);
        break;
    case SB_TR_WORK_ACK:
        sb_tr_work_ack(w);
        break;
    default:
        break;
    }
}

static gpointer sb_tr_thread_run(gpointer unused)
{
    (void)unused;
    for (;;) {
        sb_tr_work_t *w = g_async_queue_pop(sb_tr_queue);
        bool stop = w->kind == SB_TR_WORK_STOP;
        if (!stop)
            sb_tr_work_run(w);
        sb_tr_work_free(w);
        if (stop)
            break;
    }
    return NULL;
}

static void sb_tr_queue_work(sb_tr_work_kind_t kind, sb_tr_session_t *s, const char *transaction,
                             json_t *jsep)
{
    sb_tr_work_t *w = SB_NEW(sb_tr_work_t);
    w->kind = kind;
    if (s) {
        sb_tr_session_ref(s);
        w->s = s;
    }
    w->transaction = sb_strdup(transaction);
    w->jsep = jsep ? json_incref(jsep) : NULL;
    g_async_queue_push(sb_tr_queue, w);
}

/* ---- plugin ops -------------------------------------------------------------------------- */

static int sb_tr_init(const sb_core_api_t *core, const char *config_dir)
{
    sb_tr_core = core;
    g_mutex_init(&sb_tr_lock);
    sb_tr_rooms_init();
    if (sb_tr_conf_load(config_dir) < 0) {
        sb_tr_rooms_deinit();
        sb_tr_conf_deinit();
        return -1;
    }
    sb_tr_post_start();
    sb_tr_queue = g_async_queue_new();
    sb_tr_thread = g_thread_new("textroom", sb_tr_thread_run, NULL);
    return 0;
}

static void sb_tr_noop(void *arg)
{
    (void)arg;
}

static void sb_tr_deinit(void)
{
    sb_tr_queue_work(SB_TR_WORK_STOP, NULL, NULL, NULL);
    g_thread_join(sb_tr_thread);
    sb_tr_work_t *w;
    while ((w = g_async_queue_try_pop(sb_tr_queue)) != NULL)
        sb_tr_work_free(w);
    g_async_queue_unref(sb_tr_queue);
    /* Batches posted to the loops (the last events of detached handles) must run before
     * this code is unloaded: a barrier on every loop. */
    for (unsigned i = 0; i < sb_tr_core->loop_count(); i++)
        sb_tr_core->loop_call_sync((int)i, sb_tr_noop, NULL);
    sb_tr_post_stop();
    sb_tr_rooms_deinit();
    sb_tr_conf_deinit();
}

static int sb_tr_create_handle(sb_plugin_handle_t *h)
{
    h->plugin_data = sb_tr_session_new(h);
    return 0;
}

/* The Admin API's message_plugin: a room request, as over the API (owned answer). */
static json_t *sb_tr_handle_admin_message(json_t *body)
{
    sb_tr_outbox_t ob;
    sb_tr_outbox_init(&ob);
    g_mutex_lock(&sb_tr_lock);
    json_t *reply = sb_tr_api_request(body, &ob);
    sb_tr_outbox_post(&ob);
    g_mutex_unlock(&sb_tr_lock);
    sb_tr_outbox_deinit(&ob);
    return reply;
}

static sb_plugin_result_t sb_tr_handle_message(sb_plugin_handle_t *h, const char *transaction,
                                               json_t *body, json_t *jsep)
{
    sb_tr_session_t *s = h->plugin_data;
    if (!s)
        return (sb_plugin_result_t){.kind = SB_PLUGIN_ERROR,
                                    .error = sb_strdup("No session associated with this handle")};
    const char *name = json_string_value(json_object_get(body, "request"));
    if (sb_tr_is_negotiation(name)) {
        sb_tr_queue_work(!strcmp(name, "setup") ? SB_TR_WORK_SETUP
                         : !strcmp(name, "ack") ? SB_TR_WORK_ACK
                                                : SB_TR_WORK_RESTART,
                         s, transaction, jsep);
        return sb_plugin_wait();
    }
    return sb_plugin_ok(sb_tr_handle_admin_message(body));
}

/* Not under the lock: s leaves its rooms (the others are told). */
static void sb_tr_session_gone(sb_tr_session_t *s)
{
    sb_tr_outbox_t ob;
    sb_tr_outbox_init(&ob);
    g_mutex_lock(&sb_tr_lock);
    sb_tr_session_leave_all(s, &ob);
    sb_tr_outbox_post(&ob);
    g_mutex_unlock(&sb_tr_lock);
    sb_tr_outbox_deinit(&ob);
}

static void sb_tr_destroy_handle(sb_plugin_handle_t *h)
{
    sb_tr_session_t *s = h->plugin_data;
    if (!s)
        return;
    sb_tr_session_gone(s);
    h->plugin_data = NULL;
    sb_tr_session_unref(s);
}

static json_t *sb_tr_query_handle(sb_plugin_handle_t *h)
{
    sb_tr_session_t *s = h->plugin_data;
    if (!s)
        return NULL;
    json_t *rooms = json_array();
    g_mutex_lock(&sb_tr_lock);
    for (guint i = 0; i < s->rooms->len; i++) {
        sb_tr_participant_t *p = g_ptr_array_index(s->rooms, i);
        json_t *j =
            json_pack("{s:o, s:s}", "room", sb_tr_room_id_json(p->room), "username", p->username);
        if (p->display)
            json_object_set_new(j, "display", json_string(p->display));
        json_array_append_new(rooms, j);
    }
    size_t history_bytes;
    unsigned long long history_evicted;
    sb_tr_history_stats(&history_bytes, &history_evicted);
    g_mutex_unlock(&sb_tr_lock);
    /* history_*: the plugin's, all rooms together (general.max_history_bytes). */
    return json_pack("{s:b, s:i, s:o, s:I, s:I, s:I, s:I}", "setup", atomic_load(&s->setup), "loop",
                     atomic_load(&s->loop), "rooms", rooms, "sent",
                     (json_int_t)atomic_load(&s->sent), "dropped",
                     (json_int_t)atomic_load(&s->dropped), "history_bytes",
                     (json_int_t)history_bytes, "history_evicted", (json_int_t)history_evicted);
}

/* Loop thread: the PeerConnection is up; events for this session go to this loop. */
static void sb_tr_setup_media(sb_plugin_handle_t *h)
{
    sb_tr_session_t *s = h->plugin_data;
    if (s)
        atomic_store(&s->loop, sb_tr_core->loop_index(h));
}

/* Loop thread: the PeerConnection went: its participants leave their rooms, as the
 * reference does, and a new "setup" may make another one. */
static void sb_tr_hangup_media(sb_plugin_handle_t *h)
{
    sb_tr_session_t *s = h->plugin_data;
    if (!s)
        return;
    sb_tr_session_gone(s);
    atomic_store(&s->loop, -1);
    atomic_store(&s->setup, false);
}

/* Loop thread: one data channel message, a request, on any of the client's channels. It is
 * parsed before the lock is taken; its reply and events go out through the loops (this one
 * included) once it has run. */
static void sb_tr_on_data(sb_plugin_handle_t *h, const sb_data_message_t *msg)
{
    sb_tr_session_t *s = h->plugin_data;
    if (!s)
        return;
    if (atomic_load(&s->loop) < 0)
        atomic_store(&s->loop, sb_tr_core->loop_index(h));
    json_t *error;
    json_t *root = sb_tr_data_parse((const char *)msg->data, msg->len, msg->binary, &error);
    sb_tr_outbox_t ob;
    sb_tr_outbox_init(&ob);
    g_mutex_lock(&sb_tr_lock);
    sb_tr_data_run(s, root, error, &ob);
    sb_tr_outbox_post(&ob);
    g_mutex_unlock(&sb_tr_lock);
    sb_tr_outbox_deinit(&ob);
}

static const sb_plugin_t sb_tr_plugin = {
    SB_PLUGIN_HEADER,
    .package = SB_TR_PACKAGE,
    .name = "Switchboard TextRoom",
    .description = "Text rooms over data channels: room-wide messages, whispers, announcements.",
    .author = "Switchboard",
    .version_string = "0.1.0",
    .version = 1,
    .init = sb_tr_init,
    .deinit = sb_tr_deinit,
    .create_handle = sb_tr_create_handle,
    .handle_message = sb_tr_handle_message,
    .handle_admin_message = sb_tr_handle_admin_message,
    .counts = sb_tr_counts,
    .destroy_handle = sb_tr_destroy_handle,
    .query_handle = sb_tr_query_handle,
    .setup_media = sb_tr_setup_media,
    .hangup_media = sb_tr_hangup_media,
    .on_data = sb_tr_on_data,
};

SB_PLUGIN_DEFINE(sb_tr_plugin)
