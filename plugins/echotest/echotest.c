/* janus.plugin.echotest: sends the caller's media back to them. The smallest end-to-end
 * proof of the media plane, and the first thing a new deployment is tested with.
 *
 * Requests ({"audio":bool,"video":bool,"bitrate":int}, optional jsep) are validated on the
 * control thread, answered "ack", and processed on the plugin's own message thread,
 * which pushes {"echotest":"event","result":"ok"} (or an error) with the transaction,
 * as the reference plugin does. Does not record or mix anything. */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "plugin/plugin.h"

/* One handle's state. Owned by the handle (plugin_data); fields below are written on the
 * message thread and read on the handle's media loop, hence atomics. */
typedef struct sb_echotest_session {
    atomic_bool audio;
    atomic_bool video;
    atomic_uint bitrate; /* bps cap sent back as REMB; 0 = none */
} sb_echotest_session_t;

/* A queued request. Owns a handle reference and the JSON references. */
typedef struct sb_echotest_msg {
    sb_plugin_handle_t *h;
    char *transaction;
    json_t *body;
    json_t *jsep;
} sb_echotest_msg_t;

static const sb_core_api_t *sb_echotest_core;
static GAsyncQueue *sb_echotest_queue;
static GThread *sb_echotest_thread;
static sb_echotest_msg_t sb_echotest_stop_msg; /* sentinel */

static void sb_echotest_msg_free(sb_echotest_msg_t *m)
{
    sb_echotest_core->handle_unref(m->h);
    sb_free(m->transaction);
    json_decref(m->body);
    json_decref(m->jsep);
    sb_free(m);
}

static json_t *sb_echotest_error(int code, const char *reason)
{
    return json_pack("{s:s, s:i, s:s}", "echotest", "event", "error_code", code, "error",
                     reason);
}

/* Message thread: apply one request and answer it. */
static void sb_echotest_process(sb_echotest_msg_t *m)
{
    if (!sb_echotest_core->handle_alive(m->h))
        return;
    sb_echotest_session_t *s = m->h->plugin_data;
    json_t *audio = json_object_get(m->body, "audio");
    json_t *video = json_object_get(m->body, "video");
    json_t *bitrate = json_object_get(m->body, "bitrate");
    json_t *reply;
    if ((audio && !json_is_boolean(audio)) || (video && !json_is_boolean(video)) ||
        (bitrate && (!json_is_integer(bitrate) || json_integer_value(bitrate) < 0))) {
        reply = sb_echotest_error(413, "Invalid element (audio/video must be booleans, "
                                       "bitrate a non-negative integer)");
    } else {
        if (audio)
            atomic_store(&s->audio, json_is_true(audio));
        if (video)
            atomic_store(&s->video, json_is_true(video));
        if (bitrate)
            atomic_store(&s->bitrate, (unsigned)json_integer_value(bitrate));
        reply = json_pack("{s:s, s:s}", "echotest", "event", "result", "ok");
    }
    sb_echotest_core->push_event(m->h, m->transaction, reply, NULL);
    json_decref(reply);
}

static gpointer sb_echotest_run(gpointer unused)
{
    (void)unused;
    for (;;) {
        sb_echotest_msg_t *m = g_async_queue_pop(sb_echotest_queue);
        if (m == &sb_echotest_stop_msg)
            break;
        sb_echotest_process(m);
        sb_echotest_msg_free(m);
    }
    return NULL;
}

static int sb_echotest_init(const sb_core_api_t *core, const char *config_dir)
{
    (void)config_dir;
    sb_echotest_core = core;
    sb_echotest_queue = g_async_queue_new();
    sb_echotest_thread = g_thread_new("echotest", sb_echotest_run, NULL);
    return 0;
}

static void sb_echotest_deinit(void)
{
    g_async_queue_push(sb_echotest_queue, &sb_echotest_stop_msg);
    g_thread_join(sb_echotest_thread);
    sb_echotest_msg_t *m;
    while ((m = g_async_queue_try_pop(sb_echotest_queue)) != NULL)
        sb_echotest_msg_free(m);
    g_async_queue_unref(sb_echotest_queue);
}

static int sb_echotest_create_handle(sb_plugin_handle_t *h)
{
    sb_echotest_session_t *s = SB_NEW(sb_echotest_session_t);
    atomic_init(&s->audio, true);
    atomic_init(&s->video, true);
    atomic_init(&s->bitrate, 0);
    h->plugin_data = s;
    return 0;
}

static sb_plugin_result_t sb_echotest_handle_message(sb_plugin_handle_t *h,
                                                     const char *transaction, json_t *body,
                                                     json_t *jsep)
{
    sb_echotest_msg_t *m = SB_NEW(sb_echotest_msg_t);
    sb_echotest_core->handle_ref(h);
    m->h = h;
    m->transaction = sb_strdup(transaction);
    m->body = json_incref(body);
    m->jsep = jsep ? json_incref(jsep) : NULL;
    g_async_queue_push(sb_echotest_queue, m);
    return sb_plugin_wait();
}

static void sb_echotest_destroy_handle(sb_plugin_handle_t *h)
{
    sb_free(h->plugin_data);
    h->plugin_data = NULL;
}

static json_t *sb_echotest_query_handle(sb_plugin_handle_t *h)
{
    sb_echotest_session_t *s = h->plugin_data;
    if (!s)
        return NULL;
    return json_pack("{s:b, s:b, s:i}", "audio_active", atomic_load(&s->audio), "video_active",
                     atomic_load(&s->video), "bitrate", (int)atomic_load(&s->bitrate));
}

static const sb_plugin_t sb_echotest_plugin = {
    .abi_version = SB_PLUGIN_ABI_VERSION,
    .package = "janus.plugin.echotest",
    .name = "Switchboard EchoTest",
    .description = "Sends your own media back to you, to test the media path end to end.",
    .author = "Switchboard",
    .version_string = "0.1.0",
    .version = 1,
    .init = sb_echotest_init,
    .deinit = sb_echotest_deinit,
    .create_handle = sb_echotest_create_handle,
    .handle_message = sb_echotest_handle_message,
    .destroy_handle = sb_echotest_destroy_handle,
    .query_handle = sb_echotest_query_handle,
};

const sb_plugin_t *sb_plugin_get(void);
const sb_plugin_t *sb_plugin_get(void)
{
    return &sb_echotest_plugin;
}
