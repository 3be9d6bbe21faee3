/* switchboard.plugin.recorder (see recorder.h): the descriptor, the configuration, the
 * handle's life and the two entry points of the hot path (requests and packets).
 *
 * Requests:
 *   {"request":"record","name":"<1-64 of A-Z a-z 0-9 _ ->"} with a JSEP offer: answer it
 *       (audio and video from the client, nothing back) and record into
 *       <directory>/<name>.rtpdump and <name>.json; an existing name is refused.
 *   {"request":"stop"}: close the files, hang up.
 * Configuration, <configs folder>/switchboard.plugin.recorder.conf (libconfig, like every
 * Switchboard configuration):  general: { directory = "/var/lib/switchboard/recordings" }
 * Without it, "record" is refused: the plugin never writes where no one told it to. */
#include "recorder.h"

#include <ctype.h>
#include <libconfig.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"

const sb_core_api_t *recorder_core;
char *recorder_directory;

static void read_config(const char *config_dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.conf", config_dir ? config_dir : ".", RECORDER_PACKAGE);
    config_t cfg;
    config_init(&cfg);
    const char *dir = NULL;
    if (config_read_file(&cfg, path) == CONFIG_TRUE &&
        config_lookup_string(&cfg, "general.directory", &dir) == CONFIG_TRUE && dir[0])
        recorder_directory = sb_strdup(dir);
    config_destroy(&cfg);
    if (recorder_directory)
        SB_INFO("recorder", "recording into %s", recorder_directory);
    else
        SB_WARN("recorder", "no general.directory in %s: recording is refused", path);
}

static int recorder_init(const sb_core_api_t *core, const char *config_dir)
{
    recorder_core = core;
    read_config(config_dir);
    return recorder_worker_start() == 0 ? 0 : SB_EIO;
}

static void recorder_deinit(void)
{
    recorder_worker_stop();
    sb_free(recorder_directory);
    recorder_directory = NULL;
}

void recorder_session_unref(recorder_session_t *s)
{
    if (!sb_refcount_dec(&s->refs))
        return;
    if (s->file)
        fclose(s->file);
    recorder_core->handle_unref(s->h);
    sb_free(s);
}

static int recorder_create_handle(sb_plugin_handle_t *h)
{
    recorder_session_t *s = SB_NEW(recorder_session_t);
    sb_refcount_init(&s->refs);
    recorder_core->handle_ref(h); /* s->h stays valid for the worker until s goes */
    s->h = h;
    h->plugin_data = s;
    return 0;
}

static void recorder_destroy_handle(sb_plugin_handle_t *h)
{
    recorder_session_t *s = h->plugin_data;
    h->plugin_data = NULL;
    recorder_worker_close(s); /* after what was queued for it */
    recorder_session_unref(s);
}

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > RECORDER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

static json_t *error_content(int code, const char *text)
{
    return json_pack("{s:s, s:i, s:s}", "recorder", "event", "error_code", code, "error", text);
}

/* Control thread: what can be checked without waiting is answered at once; the rest is
 * queued to the worker, which answers with push_event. */
static sb_plugin_result_t recorder_handle_message(sb_plugin_handle_t *h, const char *transaction,
                                                  json_t *body, json_t *jsep)
{
    const char *request = json_string_value(json_object_get(body, "request"));
    const char *offer = json_string_value(json_object_get(jsep, "type"));
    if (!request)
        return sb_plugin_ok(error_content(421, "Missing element (request)"));
    if (strcmp(request, "record") && strcmp(request, "stop"))
        return sb_plugin_ok(error_content(422, "Unknown request (record or stop)"));
    if (!strcmp(request, "record")) {
        if (!name_ok(json_string_value(json_object_get(body, "name"))))
            return sb_plugin_ok(error_content(
                421, "Invalid element (name: 1-64 letters, digits, '_' or '-')"));
        if (!offer || strcmp(offer, "offer"))
            return sb_plugin_ok(error_content(421, "Missing element (an offer)"));
        if (!recorder_directory)
            return sb_plugin_ok(error_content(428, "Recording is not configured"));
    }
    recorder_worker_request(h->plugin_data, transaction, body, jsep);
    return sb_plugin_wait();
}

/* Media loop: keep the packet for the worker, never wait for the disk. A retransmission
 * (RTX, unwrapped by the core) is kept too: it fills the hole its loss left, late, where
 * readers put it by sequence number; without it the video breaks until the next keyframe. */
static void recorder_on_rtp(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt)
{
    recorder_session_t *s = h->plugin_data;
    if (!s || !atomic_load(&s->recording))
        return;
    if (!recorder_worker_packet(s, pkt))
        atomic_fetch_add(&s->dropped, 1);
}

/* Media loop: media is up; a keyframe first, so the recording decodes from its start. */
static void recorder_setup_media(sb_plugin_handle_t *h)
{
    sb_media_stream_t st[SB_MEDIA_MAX_STREAMS];
    unsigned n = recorder_core->streams(h, st, SB_MEDIA_MAX_STREAMS);
    for (unsigned i = 0; i < n; i++)
        if (st[i].recv && st[i].kind == SB_MEDIA_VIDEO)
            recorder_core->request_keyframe(h, st[i].index, 0);
}

/* Media loop: the PeerConnection went: the recording ends with it. */
static void recorder_hangup_media(sb_plugin_handle_t *h)
{
    recorder_session_t *s = h->plugin_data;
    if (s && atomic_exchange(&s->recording, false))
        recorder_worker_close(s);
}

static json_t *recorder_query_handle(sb_plugin_handle_t *h)
{
    recorder_session_t *s = h->plugin_data;
    return s ? json_pack("{s:b, s:I}", "recording", atomic_load(&s->recording), "dropped",
                         (json_int_t)atomic_load(&s->dropped))
             : NULL;
}

static const sb_plugin_t recorder_plugin = {
    SB_PLUGIN_HEADER,
    .package = RECORDER_PACKAGE,
    .name = "Switchboard Recorder (example)",
    .description = "Records what a client sends into rtpdump files.",
    .author = "Switchboard",
    .version_string = "1.0.0",
    .version = 1,
    .init = recorder_init,
    .deinit = recorder_deinit,
    .create_handle = recorder_create_handle,
    .handle_message = recorder_handle_message,
    .destroy_handle = recorder_destroy_handle,
    .query_handle = recorder_query_handle,
    .setup_media = recorder_setup_media,
    .hangup_media = recorder_hangup_media,
    .on_rtp = recorder_on_rtp,
};

SB_PLUGIN_DEFINE(recorder_plugin)
