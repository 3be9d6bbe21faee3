/* What the worker thread does with each job: answer "record" (negotiate, open the files),
 * "stop" (close them, hang up), write packets, close at a hangup or a detach. Events:
 *   {"recorder":"event","result":"recording","name":N}           + the answer (jsep)
 *   {"recorder":"event","result":"stopped","name":N,"packets":P,"dropped":D}
 *   {"recorder":"event","error_code":C,"error":"..."}                                    */
#include "recorder.h"

#include <errno.h>
#include <string.h>

#include "switchboard/log.h"
#include "switchboard/time.h"

static void reply(recorder_session_t *s, const char *transaction, json_t *event, json_t *jsep)
{
    recorder_core->push_event(s->h, transaction, event, jsep);
    json_decref(event);
}

static json_t *error_event(int code, const char *text)
{
    return json_pack("{s:s, s:i, s:s}", "recorder", "event", "error_code", code, "error", text);
}

/* <name>.json: what a reader needs to decode <name>.rtpdump (payload type -> codec). */
static int write_streams(recorder_session_t *s, const char *path)
{
    sb_media_stream_t st[SB_MEDIA_MAX_STREAMS];
    unsigned n = recorder_core->streams(s->h, st, SB_MEDIA_MAX_STREAMS);
    json_t *list = json_array();
    for (unsigned i = 0; i < n; i++) {
        if (!st[i].active || !st[i].recv || st[i].kind == SB_MEDIA_DATA)
            continue;
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "mid",
                                              st[i].mid, "kind", st[i].kind == SB_MEDIA_AUDIO ?
                                              "audio" : "video", "codec", st[i].codec, "pt",
                                              st[i].pt, "rtx_pt", st[i].rtx_pt, "clock_rate",
                                              (int)st[i].clock_rate, "channels",
                                              st[i].channels));
    }
    json_t *doc = json_pack("{s:s, s:o}", "name", s->name, "streams", list);
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    return rc;
}

static json_t *start_recording(recorder_session_t *s, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.rtpdump", recorder_directory, name);
    /* rtpdump's offsets count from the start in the file header (rtptools: "milliseconds
     * since the start of recording"): both clocks are read here, together. */
    s->start_us = sb_now_us();
    s->file = recorder_rtpdump_open(path, sb_wall_us());
    if (!s->file) {
        SB_WARN("recorder", "%s: %s", path, strerror(errno));
        return error_event(errno == EEXIST ? 424 : 425, errno == EEXIST ?
                           "A recording of that name exists" : "Cannot create the file");
    }
    snprintf(s->name, sizeof(s->name), "%s", name); /* before the .json, which names it */
    snprintf(path, sizeof(path), "%s/%s.json", recorder_directory, name);
    if (write_streams(s, path) < 0)
        SB_WARN("recorder", "%s: cannot write the stream list", path);
    s->packets = 0;
    atomic_store(&s->dropped, 0);
    atomic_store(&s->recording, true);
    SB_INFO("recorder", "recording %s for handle %llu", s->name,
            (unsigned long long)s->h->handle_id);
    return json_pack("{s:s, s:s, s:s}", "recorder", "event", "result", "recording", "name", name);
}

static void do_record(recorder_session_t *s, const char *transaction, json_t *body,
                      json_t *jsep)
{
    if (s->file) {
        reply(s, transaction, error_event(423, "Already recording"), NULL);
        return;
    }
    char reason[256];
    json_t *answer = NULL;
    sb_answer_opts_t opts = {.audio_recv = true, .video_recv = true, .loop = -1};
    if (recorder_core->answer_offer(s->h, jsep, &opts, &answer, reason, sizeof(reason)) < 0) {
        reply(s, transaction, error_event(465, reason), NULL);
        return;
    }
    json_t *event = start_recording(s, json_string_value(json_object_get(body, "name")));
    reply(s, transaction, event, s->file ? answer : NULL);
    json_decref(answer);
    if (!s->file)
        recorder_core->close_pc(s->h);
}

void recorder_do_request(recorder_session_t *s, const char *transaction, json_t *body,
                         json_t *jsep)
{
    if (!recorder_core->handle_alive(s->h))
        return;
    const char *request = json_string_value(json_object_get(body, "request"));
    if (!strcmp(request, "record")) {
        do_record(s, transaction, body, jsep);
        return;
    }
    /* "stop": the answer says what was written; then the PeerConnection goes. */
    if (!s->file) {
        reply(s, transaction, error_event(426, "Not recording"), NULL);
        return;
    }
    json_t *event = json_pack("{s:s, s:s, s:s, s:I, s:I}", "recorder", "event", "result",
                              "stopped", "name", s->name, "packets", (json_int_t)s->packets,
                              "dropped", (json_int_t)atomic_load(&s->dropped));
    recorder_do_close(s, false);
    reply(s, transaction, event, NULL);
    recorder_core->close_pc(s->h);
}

void recorder_do_packet(recorder_session_t *s, const sb_rtp_packet_t *pkt)
{
    if (!s->file)
        return; /* queued before a close */
    int64_t since = pkt->arrival_us - s->start_us; /* < 0: came in as the file opened */
    uint32_t offset_ms = since > 0 ? (uint32_t)(since / 1000) : 0;
    if (recorder_rtpdump_write(s->file, pkt->data, pkt->len, offset_ms) < 0) {
        SB_WARN("recorder", "%s: write failed (%s): recording stopped", s->name,
                strerror(errno));
        recorder_do_close(s, true);
        return;
    }
    s->packets++;
}

/* notify: tell the client (a write error); a hangup or a detach has no one to tell. */
void recorder_do_close(recorder_session_t *s, bool notify)
{
    atomic_store(&s->recording, false);
    if (!s->file)
        return;
    fclose(s->file);
    s->file = NULL;
    SB_INFO("recorder", "%s: %llu packets written, %llu dropped", s->name,
            (unsigned long long)s->packets, (unsigned long long)atomic_load(&s->dropped));
    if (notify && recorder_core->handle_alive(s->h))
        reply(s, NULL, error_event(427, "Write failed: recording stopped"), NULL);
}
