/* The /metrics scrape (see metrics.h; names and meanings in docs/metrics.md). */
#include "api/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/http_util.h"
#include "api/webhook.h"
#include "switchboard/time.h"
#include "loop/loop.h"
#include "peer/events.h"
#include "peer/peer_metrics.h"
#include "session/session.h"
#include "cluster/cluster.h"
#include "cluster/messages.h"
#include "plugin/loader.h"
#include "sb_build.h"

#define SB_METRICS_BUSY_PERIOD_US 5000000
#define SB_METRICS_WATCHED_US 60000000 /* a scrape this recent: descriptors counted */
/* One label, as sb_prom_* take labels. */
#define SB_LABEL(name, value) ((const char *const[]){(name), (value), NULL})

/* Two samples of every loop's thread CPU time: a busy ratio is read over the older one,
 * so its window is 5 to 10 s. Written by the main loop, read by scrapes: lock (no media). */
typedef struct sb_metrics_sample {
    int64_t wall_us;
    int64_t cpu_ns[SB_PEER_METRICS_LOOPS];
} sb_metrics_sample_t;

static struct {
    pthread_mutex_t lock;
    sb_metrics_sample_t samples[2]; /* [0] older, [1] newer */
    unsigned nsamples;
    atomic_ullong auth_failed[2];
    /* Open descriptors, counted by the main loop with the busy samples: reading
     * /proc/self/fd costs ~1 µs per descriptor (3.7 ms of a scrape with 1,000 PeerConnections),
     * too much to do on every scrape. Only while someone scrapes (within the last minute):
     * otherwise it was an idle server's largest cost per PeerConnection after its sockets;
     * the first scrape after a quiet spell counts them itself. */
    atomic_uint open_fds;
    atomic_llong fds_counted_us, scraped_us;
} sb_metrics = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned sb_metrics_count_fds(void)
{
    unsigned fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        fds += e->d_name[0] != '.';
    closedir(d);
    return fds ? fds - 1 : 0; /* the directory's own descriptor */
}

static void sb_metrics_update_fds(int64_t now_us)
{
    atomic_store(&sb_metrics.open_fds, sb_metrics_count_fds());
    atomic_store(&sb_metrics.fds_counted_us, now_us);
}

void sb_metrics_auth_failed(sb_auth_api_t api)
{
    atomic_fetch_add(&sb_metrics.auth_failed[api == SB_AUTH_ADMIN], 1);
}

void sb_metrics_tick(int64_t now_us)
{
    pthread_mutex_lock(&sb_metrics.lock);
    if (sb_metrics.nsamples && now_us - sb_metrics.samples[1].wall_us < SB_METRICS_BUSY_PERIOD_US) {
        pthread_mutex_unlock(&sb_metrics.lock);
        return;
    }
    sb_metrics.samples[0] = sb_metrics.samples[1];
    sb_metrics_sample_t *s = &sb_metrics.samples[1];
    s->wall_us = now_us;
    unsigned n = sb_loops_count();
    for (unsigned i = 0; i < n && i < SB_PEER_METRICS_LOOPS; i++)
        s->cpu_ns[i] = sb_loop_cpu_ns(sb_loop_get(i));
    if (sb_metrics.nsamples < 2)
        sb_metrics.nsamples++;
    pthread_mutex_unlock(&sb_metrics.lock);
    if (now_us - atomic_load(&sb_metrics.scraped_us) < SB_METRICS_WATCHED_US)
        sb_metrics_update_fds(now_us);
}

double sb_metrics_loop_busy(unsigned i)
{
    if (i >= SB_PEER_METRICS_LOOPS || i >= sb_loops_count())
        return -1;
    int64_t now = sb_now_us(), cpu = sb_loop_cpu_ns(sb_loop_get(i));
    pthread_mutex_lock(&sb_metrics.lock);
    const sb_metrics_sample_t *s = &sb_metrics.samples[0];
    double r = -1;
    if (sb_metrics.nsamples == 2 && cpu >= 0 && s->cpu_ns[i] >= 0 && now > s->wall_us)
        r = (double)(cpu - s->cpu_ns[i]) / 1000.0 / (double)(now - s->wall_us);
    pthread_mutex_unlock(&sb_metrics.lock);
    return r < 0 ? -1 : r > 1 ? 1 : r;
}

/* ---- the media loops' counters, summed ---- */

typedef struct sb_metrics_media {
    uint64_t rtp_packets[2], rtp_bytes[2], rtcp_packets[2], nack[2], pli[2];
    uint64_t lost_in, srtp_failures, ice_dropped, peers_up;
    uint64_t join[SB_HISTOGRAM_MAX_BOUNDS + 1], join_sum;
} sb_metrics_media_t;

static void sb_metrics_sum_media(sb_metrics_media_t *m)
{
    memset(m, 0, sizeof(*m));
    unsigned n = sb_loops_count();
    for (unsigned i = 0; i < n && i < SB_PEER_METRICS_LOOPS; i++) {
        const sb_peer_metrics_t *l = sb_peer_metrics_of(i);
        for (int d = 0; d < 2; d++) {
            m->rtp_packets[d] += sb_counter_get(&l->rtp_packets[d]);
            m->rtp_bytes[d] += sb_counter_get(&l->rtp_bytes[d]);
            m->rtcp_packets[d] += sb_counter_get(&l->rtcp_packets[d]);
            m->nack[d] += sb_counter_get(&l->nack[d]);
            m->pli[d] += sb_counter_get(&l->pli[d]);
        }
        m->lost_in += sb_counter_get(&l->lost_in);
        m->srtp_failures += sb_counter_get(&l->srtp_failures);
        m->ice_dropped += sb_counter_get(&l->ice_dropped);
        m->peers_up += sb_counter_get(&l->peers_up); /* two's complement: wraps back */
        sb_histogram_read(&l->join_us, m->join, &m->join_sum);
    }
}

static void sb_metrics_by_direction(sb_prom_t *p, const char *name, const char *help,
                                    const uint64_t v[2])
{
    sb_prom_family(p, name, "counter", help);
    sb_prom_u64(p, name, SB_LABEL("direction", "in"), v[0]);
    sb_prom_u64(p, name, SB_LABEL("direction", "out"), v[1]);
}

static void sb_metrics_write_media(sb_prom_t *p)
{
    sb_metrics_media_t m;
    sb_metrics_sum_media(&m);
    sb_prom_family(p, "switchboard_peers", "gauge", "PeerConnections up (DTLS done, not closed).");
    sb_prom_u64(p, "switchboard_peers", NULL, (uint64_t)(int64_t)m.peers_up);
    sb_metrics_by_direction(p, "switchboard_rtp_packets_total",
                            "SRTP packets received from clients that decrypted (in), and sent "
                            "to clients (out).",
                            m.rtp_packets);
    sb_metrics_by_direction(p, "switchboard_rtp_bytes_total",
                            "Bytes of those SRTP packets, as on the wire.", m.rtp_bytes);
    sb_metrics_by_direction(p, "switchboard_rtcp_packets_total",
                            "SRTCP compound packets received (in) and sent (out).", m.rtcp_packets);
    sb_metrics_by_direction(p, "switchboard_rtcp_nack_total",
                            "NACK messages: from clients asking us to resend (in), ours asking "
                            "publishers to resend (out).",
                            m.nack);
    sb_metrics_by_direction(p, "switchboard_rtcp_pli_total",
                            "Keyframe requests (PLI or FIR): from clients (in), ours to "
                            "publishers (out).",
                            m.pli);
    sb_prom_family(p, "switchboard_packets_lost_total", "counter",
                   "RTP packets clients sent that never reached us (our receiver reports).");
    sb_prom_u64(p, "switchboard_packets_lost_total", NULL, m.lost_in);
    sb_prom_family(p, "switchboard_srtp_failures_total", "counter",
                   "SRTP and SRTCP packets dropped for failing authentication or replay "
                   "checks (forged, replayed or corrupt).");
    sb_prom_u64(p, "switchboard_srtp_failures_total", NULL, m.srtp_failures);
    sb_prom_family(p, "switchboard_ice_dropped_total", "counter",
                   "Datagrams dropped on a selected pair we read ourselves: from another address "
                   "than the peer's, STUN that failed its checks or was not for us, or too long.");
    sb_prom_u64(p, "switchboard_ice_dropped_total", NULL, m.ice_dropped);
    sb_prom_family(p, "switchboard_join_seconds", "histogram",
                   "Time from a PeerConnection's offer to its first webrtcup.");
    sb_prom_histogram(p, "switchboard_join_seconds", NULL, sb_peer_join_bounds,
                      sb_peer_join_nbounds, m.join, m.join_sum, 1000000);
}

static void sb_metrics_write_loops(sb_prom_t *p)
{
    unsigned n = sb_loops_count();
    sb_prom_family(p, "switchboard_loop_busy_ratio", "gauge",
                   "Share of wall time a media loop's thread spent on a CPU, over the last "
                   "5 to 10 s.");
    for (unsigned i = 0; i < n; i++) {
        double r = sb_metrics_loop_busy(i);
        char idx[12];
        snprintf(idx, sizeof(idx), "%u", i);
        if (r >= 0)
            sb_prom_double(p, "switchboard_loop_busy_ratio", SB_LABEL("loop", idx), r);
    }
    sb_prom_family(p, "switchboard_loop_cpu_seconds_total", "counter",
                   "CPU time a media loop's thread has used.");
    for (unsigned i = 0; i < n; i++) {
        int64_t ns = sb_loop_cpu_ns(sb_loop_get(i));
        char idx[12];
        snprintf(idx, sizeof(idx), "%u", i);
        if (ns >= 0)
            sb_prom_double(p, "switchboard_loop_cpu_seconds_total", SB_LABEL("loop", idx),
                           (double)ns / 1e9);
    }
}

/* ---- plugins: rooms and participants ---- */

typedef struct sb_metrics_rooms_pass {
    sb_prom_t *p;
    bool participants; /* each family whole, whatever the number of plugins: two passes */
} sb_metrics_rooms_pass_t;

static void sb_metrics_plugin_counts(void *ctx, const sb_plugin_t *plugin)
{
    sb_metrics_rooms_pass_t *pass = ctx;
    if (!plugin->counts)
        return;
    unsigned rooms = 0, participants = 0;
    plugin->counts(&rooms, &participants);
    const char *const labels[] = {"plugin", plugin->package, NULL};
    if (pass->participants)
        sb_prom_u64(pass->p, "switchboard_room_participants", labels, participants);
    else
        sb_prom_u64(pass->p, "switchboard_rooms", labels, rooms);
}

static void sb_metrics_write_rooms(sb_prom_t *p)
{
    sb_prom_family(p, "switchboard_rooms", "gauge", "Rooms, by plugin.");
    sb_plugins_each(sb_metrics_plugin_counts, &(sb_metrics_rooms_pass_t){p, false});
    sb_prom_family(p, "switchboard_room_participants", "gauge",
                   "Participants in rooms, by plugin.");
    sb_plugins_each(sb_metrics_plugin_counts, &(sb_metrics_rooms_pass_t){p, true});
}

/* ---- HTTP replies by status ---- */

static void sb_metrics_http_status(void *ctx, unsigned status, uint64_t n)
{
    char code[12];
    if (status)
        snprintf(code, sizeof(code), "%u", status);
    else
        snprintf(code, sizeof(code), "other");
    sb_prom_u64(ctx, "switchboard_http_requests_total", SB_LABEL("code", code), n);
}

/* ---- the process (the names every Prometheus client library uses) ---- */

static void sb_metrics_write_process(sb_prom_t *p)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long start = 0;
    long rss = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        /* After the command name's closing parenthesis: field 3 onwards. */
        const char *rest = strrchr(buf, ')');
        if (rest && sscanf(rest + 2,
                           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                           "%*d %*d %llu %lu %ld",
                           &utime, &stime, &start, &vsize, &rss) != 5)
            utime = stime = vsize = 0, rss = 0, start = 0;
    }
    long long btime = 0;
    f = fopen("/proc/stat", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "btime %lld", &btime) == 1)
                break;
        fclose(f);
    }
    int64_t now = sb_now_us();
    atomic_store(&sb_metrics.scraped_us, now);
    if (now - atomic_load(&sb_metrics.fds_counted_us) > 2 * SB_METRICS_BUSY_PERIOD_US)
        sb_metrics_update_fds(now);
    unsigned fds = atomic_load(&sb_metrics.open_fds);
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    sb_prom_family(p, "process_cpu_seconds_total", "counter", "User and system CPU time.");
    sb_prom_double(p, "process_cpu_seconds_total", NULL, (double)(utime + stime) / (double)tick);
    sb_prom_family(p, "process_resident_memory_bytes", "gauge", "Resident memory size.");
    sb_prom_u64(p, "process_resident_memory_bytes", NULL, (uint64_t)rss * (uint64_t)page);
    sb_prom_family(p, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
    sb_prom_u64(p, "process_virtual_memory_bytes", NULL, vsize);
    sb_prom_family(p, "process_open_fds", "gauge", "Open file descriptors (counted every 5 s).");
    sb_prom_u64(p, "process_open_fds", NULL, fds);
    sb_prom_family(p, "process_max_fds", "gauge", "Limit of open file descriptors.");
    sb_prom_u64(p, "process_max_fds", NULL, (uint64_t)rl.rlim_cur);
    sb_prom_family(p, "process_start_time_seconds", "gauge", "Start time since the Unix epoch.");
    sb_prom_double(p, "process_start_time_seconds", NULL,
                   (double)btime + (double)start / (double)tick);
}

void sb_metrics_write(sb_prom_t *p)
{
    sb_prom_family(p, "switchboard_build_info", "gauge", "The version running; always 1.");
    sb_prom_u64(p, "switchboard_build_info", SB_LABEL("version", PACKAGE_VERSION), 1);
    sb_prom_family(p, "switchboard_sessions", "gauge", "Janus API sessions.");
    sb_prom_u64(p, "switchboard_sessions", NULL, sb_sessions_count());
    sb_prom_family(p, "switchboard_handles", "gauge", "Handles attached to sessions.");
    sb_prom_u64(p, "switchboard_handles", NULL, sb_sessions_handles());
    sb_prom_family(p, "switchboard_accepting_sessions", "gauge",
                   "1 while new sessions are accepted, 0 while draining or refused by the "
                   "Admin API.");
    sb_prom_u64(p, "switchboard_accepting_sessions", NULL, sb_sessions_accepting());
    sb_metrics_write_rooms(p);
    sb_metrics_write_media(p);
    sb_metrics_write_loops(p);
    sb_prom_family(p, "switchboard_events_dropped_total", "counter",
                   "Events dropped: from a session's queue nobody polled (session), or for "
                   "an event handler that could not take them (webhook).");
    sb_prom_u64(p, "switchboard_events_dropped_total", SB_LABEL("queue", "session"),
                sb_sessions_events_dropped());
    sb_prom_u64(p, "switchboard_events_dropped_total", SB_LABEL("queue", "webhook"),
                sb_events_dropped());
    sb_prom_family(p, "switchboard_webhook_posts_total", "counter",
                   "POSTs of events to the webhook: answered 2xx (ok), or given up after their "
                   "retries (failed; their events count as dropped).");
    sb_prom_u64(p, "switchboard_webhook_posts_total", SB_LABEL("result", "ok"),
                sb_webhook_posts_ok());
    sb_prom_u64(p, "switchboard_webhook_posts_total", SB_LABEL("result", "failed"),
                sb_webhook_posts_failed());
    if (sb_cluster_enabled()) {
        sb_prom_family(p, "switchboard_cluster_up", "gauge",
                       "1 while this node is in the cluster (Redis answers its heartbeat and its "
                       "id is its own), 0 while not.");
        sb_prom_u64(p, "switchboard_cluster_up", NULL, sb_cluster_up());
        sb_prom_family(p, "switchboard_cluster_nodes", "gauge",
                       "Nodes with a heartbeat in the cluster's directory, this one included.");
        sb_prom_u64(p, "switchboard_cluster_nodes", NULL, sb_cluster_live_nodes());
        sb_prom_family(p, "switchboard_cluster_redis_errors_total", "counter",
                       "Connections to Redis and commands that failed.");
        sb_prom_u64(p, "switchboard_cluster_redis_errors_total", NULL, sb_cluster_redis_errors());
        sb_prom_family(p, "switchboard_cluster_messages_total", "counter",
                       "Messages between nodes: sent, received, and rejected (a bad signature, "
                       "not for this node, too old, a replay, malformed: dropped).");
        sb_prom_u64(p, "switchboard_cluster_messages_total", SB_LABEL("result", "sent"),
                    sb_cluster_messages_sent());
        sb_prom_u64(p, "switchboard_cluster_messages_total", SB_LABEL("result", "received"),
                    sb_cluster_messages_received());
        sb_prom_u64(p, "switchboard_cluster_messages_total", SB_LABEL("result", "rejected"),
                    sb_cluster_messages_rejected());
    }
    sb_prom_family(p, "switchboard_http_requests_total", "counter",
                   "HTTP replies of the API listeners (Janus API, web app, WebSocket "
                   "handshakes, Admin API, metrics), by status.");
    sb_http_reply_counts(sb_metrics_http_status, p);
    sb_prom_family(p, "switchboard_auth_failures_total", "counter",
                   "Requests refused for a missing or wrong secret or token, by API.");
    sb_prom_u64(p, "switchboard_auth_failures_total", SB_LABEL("api", "janus"),
                atomic_load(&sb_metrics.auth_failed[0]));
    sb_prom_u64(p, "switchboard_auth_failures_total", SB_LABEL("api", "admin"),
                atomic_load(&sb_metrics.auth_failed[1]));
    sb_metrics_write_process(p);
}
