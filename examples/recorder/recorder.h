/* switchboard.plugin.recorder, an example plugin: records what a client sends into an
 * rtpdump file (the rtptools format Wireshark and rtpplay read), with a JSON file beside it
 * naming each stream's codec. Built out of the daemon's tree against the installed SDK with
 * pkg-config only (docs/plugins.md walks through it).
 *
 * Three threads meet here, each with one job:
 *  - the control thread runs handle_message: it validates a request and queues it;
 *  - the plugin's worker thread (worker.c) answers requests (answer_offer waits for the media
 *    loop, which the control thread must never do) and does every file write, in queue order;
 *  - the handle's media loop runs on_rtp: it retains the packet (no copy) and queues it.
 * The queue is bounded: when the disk falls behind, packets are dropped and counted, and the
 * media loop never waits. */
#ifndef RECORDER_H
#define RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "switchboard/plugin.h"
#include "switchboard/refcount.h"

#define RECORDER_PACKAGE "switchboard.plugin.recorder"
#define RECORDER_NAME_MAX 64

/* One handle's recording. Shared by the handle (plugin_data) and the jobs queued for it, so
 * refcounted. file, name and the counts are the worker's alone. */
typedef struct recorder_session {
    sb_refcount_t refs;
    sb_plugin_handle_t *h;   /* a handle reference of the session's own */
    atomic_bool recording;   /* on_rtp queues packets only while true */
    FILE *file;              /* the open .rtpdump, NULL when not recording */
    char name[RECORDER_NAME_MAX + 1];
    int64_t start_us;        /* monotonic time of the file header's start: offsets count from it */
    uint64_t packets;        /* written to the file */
    atomic_uint_fast64_t dropped; /* lost to a full queue (counted on the media loop) */
} recorder_session_t;

extern const sb_core_api_t *recorder_core;
extern char *recorder_directory; /* from the config; NULL: recording refused */

void recorder_session_unref(recorder_session_t *s);

/* worker.c: the plugin's one thread and its bounded queue. */
int recorder_worker_start(void);
void recorder_worker_stop(void);
/* Queue a request (body and jsep are borrowed; the job keeps its own references). Control
 * thread. */
void recorder_worker_request(recorder_session_t *s, const char *transaction, json_t *body,
                             json_t *jsep);
/* Queue a received packet (retained until written). false: the queue is full. Media loop. */
bool recorder_worker_packet(recorder_session_t *s, const sb_rtp_packet_t *pkt);
/* Queue the end of a recording (a hangup, a detach). Any thread. */
void recorder_worker_close(recorder_session_t *s);

/* requests.c: what the worker does with each job, on the worker thread. */
void recorder_do_request(recorder_session_t *s, const char *transaction, json_t *body,
                         json_t *jsep);
void recorder_do_packet(recorder_session_t *s, const sb_rtp_packet_t *pkt);
void recorder_do_close(recorder_session_t *s, bool notify);

/* rtpdump.c: the file format (rtptools' RD_hdr_t and RD_packet_t, big-endian). */
FILE *recorder_rtpdump_open(const char *path, int64_t wall_us);
int recorder_rtpdump_write(FILE *f, const uint8_t *rtp, size_t len, uint32_t offset_ms);

#endif
