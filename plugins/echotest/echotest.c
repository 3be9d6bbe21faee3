/* janus.plugin.echotest: sends the caller's media back to them. The smallest end-to-end
 * proof of the media plane, and the first thing a new deployment is tested with.
 *
 * Requests ({"audio":bool,"video":bool,"bitrate":int,"substream":int,"temporal":int},
 * optional jsep) are validated on the control thread, answered "ack", and processed on the
 * plugin's own message thread, which pushes {"echotest":"event","result":"ok"} (or an
 * error) with the transaction, as the reference plugin does. When the PeerConnection goes (a
 * hangup request, the client's DTLS alert, ICE failure; not a detach) the caller gets one
 * {"echotest":"event","result":"done"} before the core's "hangup", and the controls go back
 * to their defaults for the next call, as with the reference (janus.js demos end the test on
 * "done"). A simulcast caller gets one of its layers back (simulcast.c), chosen with
 * {"substream":N,"temporal":N} (0-2). Does not record or mix anything. */
#include <glib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "echotest.h"

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

/* Cap what the caller sends (REMB): any thread, the core posts it to the loop. */
static void sb_echotest_apply_bitrate_on_loop(void *arg)
{
    sb_plugin_handle_t *h = arg;
    sb_echotest_session_t *s = h->plugin_data;
    if (s && sb_echotest_core->handle_alive(h))
        sb_echotest_core->send_remb(h, atomic_load(&s->bitrate));
    sb_echotest_core->handle_unref(h);
}

static void sb_echotest_apply_bitrate(sb_plugin_handle_t *h)
{
    int loop = sb_echotest_core->loop_index(h);
    if (loop < 0)
        return; /* applied when media comes up */
    sb_echotest_core->handle_ref(h);
    if (sb_echotest_core->loop_post(loop, sb_echotest_apply_bitrate_on_loop, h) < 0)
        sb_echotest_core->handle_unref(h);
}

static bool sb_echotest_layer_ok(const json_t *v)
{
    return !v || (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 2);
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
    json_t *substream = json_object_get(m->body, "substream");
    json_t *temporal = json_object_get(m->body, "temporal");
    json_t *reply, *answer = NULL;
    if ((audio && !json_is_boolean(audio)) || (video && !json_is_boolean(video)) ||
        (bitrate && (!json_is_integer(bitrate) || json_integer_value(bitrate) < 0)) ||
        !sb_echotest_layer_ok(substream) || !sb_echotest_layer_ok(temporal)) {
        reply = sb_echotest_error(413, "Invalid element (audio/video must be booleans, "
                                       "bitrate a non-negative integer, substream/temporal "
                                       "0, 1 or 2)");
    } else {
        if (substream)
            atomic_store(&s->substream, (int)json_integer_value(substream));
        if (temporal)
            atomic_store(&s->temporal, (int)json_integer_value(temporal));
        if (audio)
            atomic_store(&s->audio, json_is_true(audio));
        if (video)
            atomic_store(&s->video, json_is_true(video));
        if (bitrate) {
            atomic_store(&s->bitrate, (unsigned)json_integer_value(bitrate));
            sb_echotest_apply_bitrate(m->h);
        }
        reply = json_pack("{s:s, s:s}", "echotest", "event", "result", "ok");
    }
    const char *type = json_string_value(json_object_get(m->jsep, "type"));
    if (m->jsep && type && !strcmp(type, "offer")) {
        char reason[256];
        sb_answer_opts_t opts = {.audio_recv = true, .audio_send = true, .video_recv = true,
                                 .video_send = true, .loop = -1, .data = true};
        if (sb_echotest_core->answer_offer(m->h, m->jsep, &opts, &answer, reason,
                                           sizeof(reason)) < 0) {
            json_decref(reply);
            reply = sb_echotest_error(465, reason);
        } else {
            atomic_store(&s->ended, false);
        }
    } else if (m->jsep) {
        json_decref(reply);
        reply = sb_echotest_error(469, "The echo test only answers offers");
    }
    sb_echotest_core->push_event(m->h, m->transaction, reply, answer);
    json_decref(reply);
    json_decref(answer);
    /* Event handlers hear the settings after every request, as the reference's tell them. */
    if (sb_echotest_core->events_wanted()) {
        json_t *ev = json_pack("{s:b, s:b, s:i}", "audio_active", atomic_load(&s->audio),
                               "video_active", atomic_load(&s->video), "bitrate",
                               (int)atomic_load(&s->bitrate));
        sb_echotest_core->notify_event(SB_ECHOTEST_PACKAGE, m->h, ev);
        json_decref(ev);
    }
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
    atomic_init(&s->ended, false);
    atomic_init(&s->substream, 2);
    atomic_init(&s->temporal, 2);
    atomic_init(&s->echoed, -1);
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
    if (h->plugin_data)
        sb_echotest_simulcast_reset(h->plugin_data);
    sb_free(h->plugin_data);
    h->plugin_data = NULL;
}

/* Loop thread: media is up. Ask for a keyframe so the echo starts at once. */
static void sb_echotest_setup_media(sb_plugin_handle_t *h)
{
    sb_echotest_session_t *s = h->plugin_data;
    sb_media_stream_t streams[SB_MEDIA_MAX_STREAMS];
    unsigned n = sb_echotest_core->streams(h, streams, SB_MEDIA_MAX_STREAMS);
    for (unsigned i = 0; i < n; i++) {
        if (streams[i].recv && streams[i].kind == SB_MEDIA_VIDEO)
            sb_echotest_core->request_keyframe(h, streams[i].index, 0);
    }
    if (s && atomic_load(&s->bitrate))
        sb_echotest_core->send_remb(h, atomic_load(&s->bitrate));
}

/* Loop thread: the PeerConnection went (the core queues its "hangup" after this). Once per
 * call: a second hangup without a new offer says nothing. On a detach the push fails (the
 * handle is already gone), so a detached caller hears only "detached", as with the
 * reference. */
static void sb_echotest_hangup_media(sb_plugin_handle_t *h)
{
    sb_echotest_session_t *s = h->plugin_data;
    if (!s || atomic_exchange(&s->ended, true))
        return;
    atomic_store(&s->audio, true);
    atomic_store(&s->video, true);
    atomic_store(&s->bitrate, 0);
    atomic_store(&s->substream, 2);
    atomic_store(&s->temporal, 2);
    sb_echotest_simulcast_reset(s);
    json_t *done = json_pack("{s:s, s:s}", "echotest", "event", "result", "done");
    sb_echotest_core->push_event(h, NULL, done, NULL);
    json_decref(done);
}

/* Loop thread: send the packet back on the same m-line, as our own stream (one SSRC per
 * echoed stream: a simulcast caller's layers go through simulcast.c). */
static void sb_echotest_on_rtp(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt)
{
    sb_echotest_session_t *s = h->plugin_data;
    const sb_media_stream_t *st = pkt->stream;
    if (!s || !st->send)
        return;
    bool on = st->kind == SB_MEDIA_AUDIO ? atomic_load(&s->audio) : atomic_load(&s->video);
    if (!on)
        return;
    if (st->layers > 1) {
        sb_echotest_simulcast_rtp(sb_echotest_core, h, s, pkt);
        return;
    }
    sb_rtp_set_ssrc(pkt->data, st->local_ssrc);
    sb_echotest_core->forward_rtp(h, st->index, pkt->data, pkt->len, pkt->len, pkt);
}

/* Loop thread: the caller's decoder wants a keyframe of what we echo: ask the caller. */
static void sb_echotest_on_keyframe_request(sb_plugin_handle_t *h, unsigned stream)
{
    sb_echotest_session_t *s = h->plugin_data;
    unsigned layer = s ? sb_echotest_simulcast_layer(s, stream) : 0;
    sb_echotest_core->request_keyframe(h, stream, layer);
}

/* Loop thread: data comes back on its channel as the reference plugin sends it: binary as it
 * is, text behind a prefix (janus.js demos print what comes back). */
#define SB_ECHOTEST_DATA_PREFIX "Janus EchoTest here! You wrote: "
static void sb_echotest_on_data(sb_plugin_handle_t *h, const sb_data_message_t *msg)
{
    if (msg->binary) {
        sb_echotest_core->send_data(h, msg);
        return;
    }
    size_t plen = sizeof(SB_ECHOTEST_DATA_PREFIX) - 1;
    uint8_t *reply = sb_malloc(plen + msg->len);
    memcpy(reply, SB_ECHOTEST_DATA_PREFIX, plen);
    memcpy(reply + plen, msg->data, msg->len);
    sb_data_message_t echo = *msg;
    echo.data = reply;
    echo.len = plen + msg->len;
    sb_echotest_core->send_data(h, &echo);
    sb_free(reply);
}

/* The Admin API's message_plugin: the EchoTest has no admin requests; it answers what it
 * was sent, as the reference's does. */
static json_t *sb_echotest_admin_echo(json_t *message)
{
    return json_deep_copy(message);
}

static json_t *sb_echotest_query_handle(sb_plugin_handle_t *h)
{
    sb_echotest_session_t *s = h->plugin_data;
    if (!s)
        return NULL;
    json_t *info = json_pack("{s:b, s:b, s:i}", "audio_active", atomic_load(&s->audio),
                             "video_active", atomic_load(&s->video), "bitrate",
                             (int)atomic_load(&s->bitrate));
    int echoed = atomic_load(&s->echoed);
    if (echoed >= 0) /* the reference's fields, for a simulcast caller */
        json_object_update_new(info, json_pack("{s:b, s:i, s:i, s:i}", "simulcast", 1,
                                               "substream", echoed, "substream-target",
                                               atomic_load(&s->substream),
                                               "temporal-layer-target",
                                               atomic_load(&s->temporal)));
    return info;
}

static const sb_plugin_t sb_echotest_plugin = {
    SB_PLUGIN_HEADER,
    .package = SB_ECHOTEST_PACKAGE,
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
    .handle_admin_message = sb_echotest_admin_echo,
    .setup_media = sb_echotest_setup_media,
    .hangup_media = sb_echotest_hangup_media,
    .on_rtp = sb_echotest_on_rtp,
    .on_keyframe_request = sb_echotest_on_keyframe_request,
    .on_data = sb_echotest_on_data,
};

SB_PLUGIN_DEFINE(sb_echotest_plugin)
