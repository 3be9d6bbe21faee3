/* sb-loadgen: options, the run's phases (join, warm-up, measured window, teardown), the
 * one-line progress report each second and the JSON summary. See bench/README.md.
 *
 * The control thread (this one) runs the HTTP client and every state machine; media runs on
 * Switchboard's loops (media.c). With --server-pid the server's CPU time (its threads' time on
 * a CPU from /proc/PID/task/{*}/schedstat, in ns; utime + stime from /proc/PID/stat, counted in
 * 10 ms clock ticks, where that is missing) and RSS are sampled at the edges of the measured
 * window, so CPU per forwarded packet is measured over exactly the packets the subscribers
 * received in that window. */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "base/log.h"
#include "bench/loadgen/lg.h"

int lg_peer_global_init(void);
void lg_peer_global_deinit(void);
json_t *lg_scenario_reasons(void);

lg_config_t lg_cfg = {
    .server = "http://127.0.0.1:8088/janus",
    .scenario = LG_SCEN_FANOUT,
    .subscribers = 10,
    .duration_s = 10,
    .warmup_s = 2,
    .join_rate = 20,
    .join_timeout_s = 30,
    .video_kbps = 500,
    .fps = 30,
    .audio_kbps = 48,
    .keyframe_s = 5,
    .loops = 1,
    .srtp = "gcm",
    .ice_allow = "127.0.0.1",
    .room_base = 4242,
    .twcc = true,
    .twcc_feedback = true,
    .twcc_send = true,
    .msg_rate = 30,
    .msg_size = 100,
    .data_window = 1 << 20,
};

#define LG_DRAIN_US 1000000 /* after a data window: messages stamped in it still arrive */

bool lg_cfg_data_only(void)
{
    return lg_cfg.scenario == LG_SCEN_GAME || lg_cfg.scenario == LG_SCEN_ECHO_DATA;
}

bool lg_cfg_has_data(void)
{
    return lg_cfg_data_only() || lg_cfg.data;
}

static volatile sig_atomic_t lg_interrupted;

static void lg_on_signal(int sig)
{
    (void)sig;
    lg_interrupted = 1;
}

/* ---- server process sampling ---- */

typedef struct lg_proc {
    bool ok;
    double cpu_s; /* utime + stime */
    long rss_kb;
    long threads;
} lg_proc_t;

/* The process's threads' time on a CPU, in seconds: the first field of each thread's
 * schedstat (ns). A thread that ended within the window takes its time with it: the servers
 * measured keep their threads. < 0 when the kernel has no schedstat. */
static double lg_proc_cpu_ns_s(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double total = 0;
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char stat[340];
        snprintf(stat, sizeof(stat), "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(stat, "r");
        unsigned long long ns = 0;
        if (f && fscanf(f, "%llu", &ns) == 1) {
            total += (double)ns / 1e9;
            any = true;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return any ? total : -1;
}

static lg_proc_t lg_proc_sample(int pid)
{
    lg_proc_t s = {0};
    if (pid <= 0)
        return s;
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return s;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    long threads = 0, rss_pages = 0;
    /* fields from 3 (state): utime is 14, stime 15, num_threads 20, rss 24 */
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld "
                     "%*d %*u %*u %ld",
                     &ut, &st, &threads, &rss_pages) != 4)
        return s;
    long hz = sysconf(_SC_CLK_TCK);
    s.ok = true;
    double precise = lg_proc_cpu_ns_s(pid);
    s.cpu_s = precise >= 0 ? precise : (double)(ut + st) / (double)hz;
    for (unsigned i = 0; pid == lg_cfg.server_pid && i < G_N_ELEMENTS(lg_cfg.more_pids); i++)
        if (lg_cfg.more_pids[i] > 0)
            s.cpu_s += MAX(lg_proc_cpu_ns_s(lg_cfg.more_pids[i]), 0.0);
    s.rss_kb = rss_pages * (sysconf(_SC_PAGESIZE) / 1024);
    s.threads = threads;
    return s;
}

/* ---- options ---- */

static void lg_usage(FILE *f)
{
    fprintf(f,
            "Usage: sb-loadgen [options]\n"
            "Drives a Janus-API SFU (Switchboard or Janus) with many WebRTC peers.\n\n"
            "  --server URL          API base (default %s)\n"
            "  --scenario NAME       fanout | mesh | rooms | echo | game | echo-data\n"
            "                        (default fanout)\n"
            "  --subscribers N       fanout: subscribers per room; mesh/rooms/game: persons\n"
            "                        per room; echo: peers (default 10; rooms: 3; game: 8;\n"
            "                        echo-data: 1)\n"
            "  --rooms R             rooms (default 1; rooms scenario: 10)\n"
            "  --duration S          measured window, seconds (default 10)\n"
            "  --warmup S            wait after the last join before measuring (default 2)\n"
            "  --join-rate R         participants started per second (default 20)\n"
            "  --join-timeout S      stop waiting for joins after S s without progress (30)\n"
            "  --video-kbps K        video bitrate per publisher (default 500)\n"
            "  --fps F               video frames per second (default 30)\n"
            "  --audio-kbps K        Opus bitrate, 20 ms frames (default 48)\n"
            "  --keyframe-interval S periodic keyframes (default 5; 0: only on PLI/FIR)\n"
            "  --keyframe-at-once    a publisher answers PLI/FIR with a keyframe at once, its\n"
            "                        frame clock restarting there (default: with its next\n"
            "                        frame, as an encoder does): the first keyframe's time is\n"
            "                        then the servers' request and forwarding paths alone\n"
            "  --pacing F            video through a pacer at F x its bitrate in 5 ms steps,\n"
            "                        as libwebrtc's (2.5); 0: each frame in one burst (default)\n"
            "  --loops N             media loops in this process (default 1)\n"
            "  --srtp P              gcm | cm | any: SRTP profiles we accept (default gcm)\n"
            "  --ice-allow LIST      interfaces/addresses for our candidates (127.0.0.1)\n"
            "  --server-pid PID      sample the server's CPU and RSS over the window\n"
            "                        (PID,PID,...: a cluster's nodes, whose CPU adds up;\n"
            "                        RSS and UDP drops are the first's)\n"
            "  --room-base ID        first room id (default 4242)\n"
            "  --json FILE           also write the summary to FILE\n"
            "  --teardown MODE       together (close peers and destroy sessions at once, as\n"
            "                        closing tabs) | destroy-first (default together)\n"
            "  --quiet               no progress lines\n"
            "  --no-twcc-feedback    subscribers accept transport-wide CC but send no\n"
            "                        transport-cc feedback (default: every 50 ms, as Chromium)\n"
            "  --idle                publishers send no media (muted): the cost of a connected,\n"
            "                        idle PeerConnection (RTCP and ICE consent go on)\n"
            "  --no-twcc-publisher   publishers neither offer the transport-wide CC extension\n"
            "                        nor number their packets (default: both, as Chromium)\n"
            "  --no-twcc             no transport-wide CC at all, no RTX (a client without them)\n"
            "Data channels (game, echo-data; echo with --data):\n"
            "  --data                echo: a data m-line and channel besides audio and video\n"
            "  --data-reliable       our channels reliable and ordered (default)\n"
            "  --data-unreliable     unordered, maxRetransmits 0\n"
            "  --msg-rate R          messages per second per sender (default 30)\n"
            "  --msg-size B          bytes per message, >= 32 (default 100; echo-data 16384)\n"
            "  --data-window B       echo-data: bytes sent and not yet echoed (default 1 MiB)\n",
            lg_cfg.server);
}

static int lg_parse_scenario(const char *s)
{
    static const char *names[] = {"fanout", "mesh", "rooms", "echo", "game", "echo-data"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, names[i]))
            return i;
    }
    return -1;
}

static const char *lg_scenario_name(void)
{
    static const char *names[] = {"fanout", "mesh", "rooms", "echo", "game", "echo-data"};
    return names[lg_cfg.scenario];
}

static int lg_parse_args(int argc, char **argv)
{
    enum {
        O_SERVER = 256,
        O_SCEN,
        O_SUBS,
        O_ROOMS,
        O_DUR,
        O_WARM,
        O_RATE,
        O_JTO,
        O_VKBPS,
        O_FPS,
        O_AKBPS,
        O_KEY,
        O_PACING,
        O_LOOPS,
        O_SRTP,
        O_ALLOW,
        O_PID,
        O_BASE,
        O_JSON,
        O_QUIET,
        O_TEARDOWN,
        O_DATA,
        O_DATA_REL,
        O_DATA_UNREL,
        O_MSG_RATE,
        O_MSG_SIZE,
        O_DATA_WIN,
        O_NO_TWCC_FB,
        O_NO_TWCC_PUB,
        O_NO_TWCC,
        O_IDLE,
        O_KEY_AT_ONCE,
        O_HELP
    };
    static const struct option opts[] = {
        {"server", 1, 0, O_SERVER},    {"scenario", 1, 0, O_SCEN},
        {"subscribers", 1, 0, O_SUBS}, {"rooms", 1, 0, O_ROOMS},
        {"duration", 1, 0, O_DUR},     {"warmup", 1, 0, O_WARM},
        {"join-rate", 1, 0, O_RATE},   {"join-timeout", 1, 0, O_JTO},
        {"video-kbps", 1, 0, O_VKBPS}, {"fps", 1, 0, O_FPS},
        {"audio-kbps", 1, 0, O_AKBPS}, {"keyframe-interval", 1, 0, O_KEY},
        {"pacing", 1, 0, O_PACING},
        {"loops", 1, 0, O_LOOPS},      {"srtp", 1, 0, O_SRTP},
        {"ice-allow", 1, 0, O_ALLOW},  {"server-pid", 1, 0, O_PID},
        {"room-base", 1, 0, O_BASE},   {"json", 1, 0, O_JSON},
        {"quiet", 0, 0, O_QUIET},      {"teardown", 1, 0, O_TEARDOWN},
        {"data", 0, 0, O_DATA},        {"data-reliable", 0, 0, O_DATA_REL},
        {"msg-rate", 1, 0, O_MSG_RATE}, {"data-unreliable", 0, 0, O_DATA_UNREL},
        {"msg-size", 1, 0, O_MSG_SIZE}, {"data-window", 1, 0, O_DATA_WIN},
        {"no-twcc-feedback", 0, 0, O_NO_TWCC_FB}, {"no-twcc", 0, 0, O_NO_TWCC},
        {"no-twcc-publisher", 0, 0, O_NO_TWCC_PUB}, {"idle", 0, 0, O_IDLE},
        {"keyframe-at-once", 0, 0, O_KEY_AT_ONCE}, {"help", 0, 0, O_HELP},        {0, 0, 0, 0}};
    bool subs_set = false, rooms_set = false, size_set = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_SERVER:
            lg_cfg.server = optarg;
            break;
        case O_SCEN:
            if (lg_parse_scenario(optarg) < 0) {
                fprintf(stderr, "unknown scenario %s\n", optarg);
                return -1;
            }
            lg_cfg.scenario = (lg_scenario_t)lg_parse_scenario(optarg);
            break;
        case O_SUBS:
            lg_cfg.subscribers = (unsigned)atoi(optarg);
            subs_set = true;
            break;
        case O_ROOMS:
            lg_cfg.rooms = (unsigned)atoi(optarg);
            rooms_set = true;
            break;
        case O_DUR:
            lg_cfg.duration_s = atof(optarg);
            break;
        case O_WARM:
            lg_cfg.warmup_s = atof(optarg);
            break;
        case O_RATE:
            lg_cfg.join_rate = atof(optarg);
            break;
        case O_JTO:
            lg_cfg.join_timeout_s = atof(optarg);
            break;
        case O_VKBPS:
            lg_cfg.video_kbps = (unsigned)atoi(optarg);
            break;
        case O_FPS:
            lg_cfg.fps = (unsigned)atoi(optarg);
            break;
        case O_AKBPS:
            lg_cfg.audio_kbps = (unsigned)atoi(optarg);
            break;
        case O_KEY:
            lg_cfg.keyframe_s = atof(optarg);
            break;
        case O_PACING:
            lg_cfg.pacing = atof(optarg);
            break;
        case O_LOOPS:
            lg_cfg.loops = (unsigned)atoi(optarg);
            break;
        case O_SRTP:
            lg_cfg.srtp = optarg;
            break;
        case O_ALLOW:
            lg_cfg.ice_allow = optarg;
            break;
        case O_PID: {
            char *next = optarg;
            lg_cfg.server_pid = (int)strtol(next, &next, 10);
            for (unsigned i = 0; *next == ',' && i < G_N_ELEMENTS(lg_cfg.more_pids); i++)
                lg_cfg.more_pids[i] = (int)strtol(next + 1, &next, 10);
            break;
        }
        case O_BASE:
            lg_cfg.room_base = (unsigned)atoi(optarg);
            break;
        case O_JSON:
            lg_cfg.json_path = optarg;
            break;
        case O_QUIET:
            lg_cfg.quiet = true;
            break;
        case O_TEARDOWN:
            if (strcmp(optarg, "together") && strcmp(optarg, "destroy-first")) {
                fprintf(stderr, "--teardown: together or destroy-first\n");
                return -1;
            }
            lg_cfg.close_after_destroy = !strcmp(optarg, "destroy-first");
            break;
        case O_DATA:
            lg_cfg.data = true;
            break;
        case O_DATA_REL:
            lg_cfg.data_unreliable = false;
            break;
        case O_DATA_UNREL:
            lg_cfg.data_unreliable = true;
            break;
        case O_MSG_RATE:
            lg_cfg.msg_rate = atof(optarg);
            break;
        case O_MSG_SIZE:
            lg_cfg.msg_size = (unsigned)atoi(optarg);
            size_set = true;
            break;
        case O_DATA_WIN:
            lg_cfg.data_window = (size_t)atol(optarg);
            break;
        case O_NO_TWCC_FB:
            lg_cfg.twcc_feedback = false;
            break;
        case O_NO_TWCC_PUB:
            lg_cfg.twcc_send = false;
            break;
        case O_NO_TWCC:
            lg_cfg.twcc = lg_cfg.twcc_feedback = lg_cfg.twcc_send = false;
            break;
        case O_IDLE:
            lg_cfg.idle = true;
            break;
        case O_KEY_AT_ONCE:
            lg_cfg.keyframe_at_once = true;
            break;
        case O_HELP:
            lg_usage(stdout);
            exit(0);
        default:
            lg_usage(stderr);
            return -1;
        }
    }
    if (lg_cfg.scenario == LG_SCEN_ROOMS) {
        if (!subs_set)
            lg_cfg.subscribers = 3;
        if (!rooms_set)
            lg_cfg.rooms = 10;
    }
    if (lg_cfg.scenario == LG_SCEN_GAME && !subs_set)
        lg_cfg.subscribers = 8;
    if (lg_cfg.scenario == LG_SCEN_ECHO_DATA && !size_set)
        lg_cfg.msg_size = 16384;
    if (lg_cfg.scenario == LG_SCEN_ECHO_DATA && !subs_set)
        lg_cfg.subscribers = 1;
    if (lg_cfg.scenario == LG_SCEN_GAME && lg_cfg.subscribers < 2) {
        fprintf(stderr, "--subscribers: a game room needs 2 persons or more\n");
        return -1;
    }
    if (lg_cfg.msg_size < 32 || lg_cfg.msg_size > (256u << 10) || lg_cfg.msg_rate < 0 ||
        lg_cfg.data_window < lg_cfg.msg_size) {
        fprintf(stderr, "--msg-size 32..262144, --msg-rate >= 0, --data-window >= msg-size\n");
        return -1;
    }
    if (!lg_cfg.rooms)
        lg_cfg.rooms = 1;
    if (strcmp(lg_cfg.srtp, "gcm") && strcmp(lg_cfg.srtp, "cm") && strcmp(lg_cfg.srtp, "any")) {
        fprintf(stderr, "--srtp: gcm, cm or any\n");
        return -1;
    }
    if (!lg_cfg.subscribers || !lg_cfg.fps || !lg_cfg.loops || lg_cfg.duration_s <= 0) {
        fprintf(stderr, "--subscribers, --fps, --loops and --duration must be positive\n");
        return -1;
    }
    return 0;
}

static void lg_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

/* ---- the run ---- */

typedef enum lg_phase { LG_JOIN, LG_WARMUP, LG_MEASURE, LG_DRAIN, LG_TEARDOWN } lg_phase_t;

typedef struct lg_run {
    lg_phase_t phase;
    int64_t t0, t_phase, t_last_progress;
    lg_totals_t w0, w1, last;
    lg_totals_t drained; /* after LG_DRAIN: in-window messages still in flight at w1 arrived */
    bool drained_ok;
    uint64_t srv_drops0, srv_drops1, own_drops0, own_drops1; /* UDP receive-buffer drops */
    lg_proc_t p_start, p0, p1, p_end;
    lg_proc_t self0, self1; /* this process: is the load generator itself saturated? */
    int64_t t_w0, t_w1;
} lg_run_t;

static const char *lg_phase_name(lg_phase_t p)
{
    static const char *n[] = {"join", "warmup", "measure", "drain", "teardown"};
    return n[p];
}

static void lg_progress(lg_run_t *r, int64_t now)
{
    lg_totals_t t;
    lg_media_totals(&t);
    lg_scen_stats_t ss;
    lg_scenario_stats(&ss);
    double dt = (double)(now - r->t_last_progress) / 1e6;
    if (dt <= 0)
        dt = 1;
    lg_proc_t p = lg_proc_sample(lg_cfg.server_pid);
    static double last_cpu = -1;
    char srv[96] = "";
    if (p.ok && last_cpu < 0)
        last_cpu = p.cpu_s;
    if (p.ok) {
        snprintf(srv, sizeof(srv), " | server cpu %.0f%% rss %ld MB",
                 100.0 * (p.cpu_s - last_cpu) / dt, p.rss_kb / 1024);
        last_cpu = p.cpu_s;
    }
    char data[160] = "";
    if (lg_cfg_has_data())
        snprintf(data, sizeof(data),
                 " | data sent %.0f/s recv %.0f/s %.1f Mbit/s, gaps %lld dup %llu reord %llu "
                 "blocked %llu",
                 (double)(t.data_sent - r->last.data_sent) / dt,
                 (double)(t.data_recv - r->last.data_recv) / dt,
                 (double)(t.data_recv_bytes - r->last.data_recv_bytes) * 8 / dt / 1e6,
                 (long long)t.data_gaps, (unsigned long long)t.data_dups,
                 (unsigned long long)t.data_reorder, (unsigned long long)t.data_blocked);
    if (!lg_cfg.quiet && lg_cfg_data_only())
        fprintf(stderr, "[%5.1fs] %-8s pcs %u/%u up, %u failed%s%s | http %u in flight\n",
                (double)(now - r->t0) / 1e6, lg_phase_name(r->phase), ss.up_pcs, ss.planned_pcs,
                ss.failed_pcs, data, srv, lg_sig_inflight());
    else if (!lg_cfg.quiet)
        fprintf(stderr,
                "[%5.1fs] %-8s pcs %u/%u up, %u failed | sent %.0f/s recv %.0f/s | lost %lld dup "
                "%llu reord %llu%s%s | http %u in flight\n",
                (double)(now - r->t0) / 1e6, lg_phase_name(r->phase), ss.up_pcs, ss.planned_pcs,
                ss.failed_pcs, (double)(t.rtp_sent - r->last.rtp_sent) / dt,
                (double)(t.rtp_recv - r->last.rtp_recv) / dt, (long long)t.lost,
                (unsigned long long)t.dups, (unsigned long long)t.reorders, data, srv,
                lg_sig_inflight());
    r->last = t;
    r->t_last_progress = now;
}

/* One step of the phase machine; returns false when the run is over. */
static bool lg_step(lg_run_t *r, int64_t now)
{
    bool joined = lg_scenario_tick(now);
    if (lg_interrupted && r->phase < LG_TEARDOWN) {
        if (r->phase == LG_DRAIN) {
            lg_media_totals(&r->drained);
            r->drained_ok = true;
        }
        if (r->phase == LG_MEASURE) {
            lg_media_totals(&r->w1);
            r->p1 = lg_proc_sample(lg_cfg.server_pid);
            r->t_w1 = now;
        }
        r->phase = LG_TEARDOWN;
        r->t_phase = now;
        lg_media_set_measuring(false);
        lg_scenario_teardown();
    }
    switch (r->phase) {
    case LG_JOIN:
        if (joined) {
            r->phase = LG_WARMUP;
            r->t_phase = now;
        }
        break;
    case LG_WARMUP:
        if (now - r->t_phase >= (int64_t)(lg_cfg.warmup_s * 1e6)) {
            r->phase = LG_MEASURE;
            r->t_phase = r->t_w0 = now;
            lg_media_totals(&r->w0);
            r->p0 = lg_proc_sample(lg_cfg.server_pid);
            r->self0 = lg_proc_sample(getpid());
            if (lg_cfg_has_data()) {
                r->srv_drops0 = lg_udp_drops(lg_cfg.server_pid);
                r->own_drops0 = lg_udp_drops(getpid());
                lg_data_sctp_mark(0);
            }
            lg_media_set_measuring(true);
        }
        break;
    case LG_MEASURE:
        if (now - r->t_phase >= (int64_t)(lg_cfg.duration_s * 1e6)) {
            lg_media_set_measuring(false);
            lg_media_totals(&r->w1);
            r->p1 = lg_proc_sample(lg_cfg.server_pid);
            r->self1 = lg_proc_sample(getpid());
            if (lg_cfg_has_data()) {
                r->srv_drops1 = lg_udp_drops(lg_cfg.server_pid);
                r->own_drops1 = lg_udp_drops(getpid());
                lg_data_sctp_mark(1);
            }
            r->t_w1 = now;
            r->phase = lg_cfg_has_data() ? LG_DRAIN : LG_TEARDOWN;
            r->t_phase = now;
            if (r->phase == LG_TEARDOWN)
                lg_scenario_teardown();
        }
        break;
    case LG_DRAIN:
        if (now - r->t_phase >= LG_DRAIN_US) {
            lg_media_totals(&r->drained);
            r->drained_ok = true;
            r->phase = LG_TEARDOWN;
            r->t_phase = now;
            lg_scenario_teardown();
        }
        break;
    case LG_TEARDOWN:
        if (lg_scenario_teardown_done() || now - r->t_phase > 10000000)
            return false;
        break;
    }
    return true;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double lg_quantile(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static json_t *lg_counts_json(const lg_totals_t *a, const lg_totals_t *b, double secs)
{
    uint64_t recv = b->rtp_recv - a->rtp_recv;
    int64_t lost = b->lost - a->lost;
    double expected = (double)recv + (double)(lost > 0 ? lost : 0);
    return json_pack(
        "{s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I}",
        "sent", (json_int_t)(b->rtp_sent - a->rtp_sent), "received", (json_int_t)recv, "sent_per_s",
        (double)(b->rtp_sent - a->rtp_sent) / secs, "received_per_s", (double)recv / secs,
        "recv_mbps", (double)(b->bytes_recv - a->bytes_recv) * 8 / secs / 1e6, "sent_mbps",
        (double)(b->bytes_sent - a->bytes_sent) * 8 / secs / 1e6, "lost", (json_int_t)lost,
        "loss_pct", expected > 0 ? 100.0 * (double)lost / expected : 0.0, "dup",
        (json_int_t)(b->dups - a->dups), "reorder", (json_int_t)(b->reorders - a->reorders),
        "keyframes_sent", (json_int_t)(b->keyframes_sent - a->keyframes_sent), "keyframes_recv",
        (json_int_t)(b->keyframes_recv - a->keyframes_recv), "plis_in",
        (json_int_t)(b->plis_in - a->plis_in), "nacks_in", (json_int_t)(b->nacks_in - a->nacks_in),
        "plis_sent", (json_int_t)(b->plis_sent - a->plis_sent), "srtp_fail",
        (json_int_t)(b->srtp_fail - a->srtp_fail), "no_trailer",
        (json_int_t)(b->foreign - a->foreign));
}

/* Transport-wide CC of the subscribers between a and b: packets recorded, feedback sent. */
static void lg_counts_twcc(json_t *o, const lg_totals_t *a, const lg_totals_t *b)
{
    json_object_set_new(o, "twcc_recorded",
                        json_integer((json_int_t)(b->twcc_recorded - a->twcc_recorded)));
    json_object_set_new(o, "twcc_feedback_sent",
                        json_integer((json_int_t)(b->twcc_feedback - a->twcc_feedback)));
}

static json_t *lg_hist_json(const lg_hist_t *h)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:I}", "p50", lg_hist_quantile(h, 0.5) / 1000, "p99",
                     lg_hist_quantile(h, 0.99) / 1000, "max", (double)h->max_us / 1000, "mean",
                     h->count ? h->sum_us / (double)h->count / 1000 : 0.0, "samples",
                     (json_int_t)h->count);
}

/* p50/p99/max of join samples (which: see lg_scenario_join_ms). */
static json_t *lg_join_json(int which)
{
    size_t nj;
    const double *j = lg_scenario_join_ms(which, &nj);
    double *js = sb_malloc((nj ? nj : 1) * sizeof(double));
    if (nj)
        memcpy(js, j, nj * sizeof(double));
    qsort(js, nj, sizeof(double), lg_cmp_double);
    json_t *o = json_pack("{s:f, s:f, s:f, s:I}", "p50", lg_quantile(js, nj, 0.5), "p99",
                          lg_quantile(js, nj, 0.99), "max", nj ? js[nj - 1] : 0.0, "samples",
                          (json_int_t)nj);
    sb_free(js);
    return o;
}

/* Data channels: window counts merged into "window", the settings, the latency (the
 * top-level latency_ms too when there is no media), server CPU per received message. */
static void lg_summary_data(json_t *o, lg_run_t *r, const lg_totals_t *end, double secs,
                            const lg_hist_t *dh, const lg_hist_t *da)
{
    json_object_set_new(o, "data", lg_data_summary_config());
    json_t *w = json_object_get(o, "window");
    if (json_is_object(w))
        json_object_update_new(
            w, lg_data_summary_window(&r->w0, &r->w1, r->drained_ok ? &r->drained : end, secs));
    json_object_set_new(o, "data_latency_ms", lg_hist_json(dh));
    json_object_set_new(o, "data_arrival_latency_ms", lg_hist_json(da));
    json_object_set_new(o, "loadgen_sctp", lg_data_sctp_window());
    if (json_is_object(w)) {
        json_object_set_new(w, "server_udp_drops",
                            json_integer((json_int_t)(r->srv_drops1 - r->srv_drops0)));
        json_object_set_new(w, "loadgen_udp_drops",
                            json_integer((json_int_t)(r->own_drops1 - r->own_drops0)));
    }
    if (lg_cfg_data_only())
        json_object_set_new(o, "latency_ms", lg_hist_json(dh));
    json_t *sp = json_object_get(o, "server_process");
    uint64_t msgs = r->w1.data_recv - r->w0.data_recv;
    if (sp && msgs) {
        double cpu = json_real_value(json_object_get(sp, "cpu_s"));
        json_object_set_new(sp, "cpu_us_per_msg", json_real(cpu * 1e6 / (double)msgs));
        uint64_t bytes = r->w1.data_recv_bytes - r->w0.data_recv_bytes;
        json_object_set_new(sp, "cpu_us_per_mb", json_real(cpu * 1e6 / ((double)bytes / 1e6)));
    }
}

static json_t *lg_summary(lg_run_t *r, const lg_hist_t *h, const lg_hist_t *fk, const lg_hist_t *dh,
                          const lg_hist_t *da)
{
    double secs = r->t_w1 > r->t_w0 ? (double)(r->t_w1 - r->t_w0) / 1e6 : 0;
    lg_totals_t end, zero = {0};
    lg_media_totals(&end);
    lg_scen_stats_t ss;
    lg_scenario_stats(&ss);
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:{s:i, s:i, s:i, s:i}}", "server",
                  lg_cfg.server, "scenario", lg_scenario_name(), "subscribers",
                  (int)lg_cfg.subscribers, "rooms", (int)lg_cfg.rooms, "loops", (int)lg_cfg.loops,
                  "video_kbps", (int)lg_cfg.video_kbps, "fps", (int)lg_cfg.fps, "srtp", lg_cfg.srtp,
                  "window_s", secs, "peerconnections", "planned", (int)ss.planned_pcs, "up",
                  (int)ss.up_pcs, "failed", (int)ss.failed_pcs, "sessions", (int)ss.sessions);
    json_object_set_new(o, "pacing", json_real(lg_cfg.pacing));
    json_object_set_new(o, "twcc",
                        json_pack("{s:b, s:b, s:b}", "receivers", lg_cfg.twcc, "feedback",
                                  lg_cfg.twcc_feedback, "senders", lg_cfg.twcc_send));
    json_object_set_new(o, "window", secs > 0 ? lg_counts_json(&r->w0, &r->w1, secs) : json_null());
    if (secs > 0)
        lg_counts_twcc(json_object_get(o, "window"), &r->w0, &r->w1);
    json_t *whole = lg_counts_json(&zero, &end, (double)(lg_now_us() - r->t0) / 1e6);
    lg_counts_twcc(whole, &zero, &end);
    json_object_set_new(o, "whole_run", whole);
    json_object_set_new(o, "latency_ms", lg_hist_json(h));
    json_object_set_new(o, "first_keyframe_ms", lg_hist_json(fk));
    json_object_set_new(o, "join_to_webrtcup_ms", lg_join_json(0));
    json_object_set_new(o, "join_to_ice_connected_ms", lg_join_json(1));
    json_object_set_new(o, "join_to_dtls_done_ms", lg_join_json(2));
    json_object_set_new(
        o, "failures",
        json_pack("{s:i, s:I, s:I, s:I, s:o}", "count",
                  (int)ss.failed_pcs + (int)(ss.planned_pcs - ss.up_pcs - ss.failed_pcs), "ice",
                  (json_int_t)end.ice_fail, "dtls", (json_int_t)end.dtls_fail, "http_errors",
                  (json_int_t)lg_sig_errors(), "reasons", lg_scenario_reasons()));
    if (r->self0.ok && r->self1.ok && secs > 0)
        json_object_set_new(o, "loadgen_cpu_pct",
                            json_real(100 * (r->self1.cpu_s - r->self0.cpu_s) / secs));
    if (lg_cfg.server_pid > 0 && r->p0.ok && r->p1.ok && secs > 0) {
        double cpu = r->p1.cpu_s - r->p0.cpu_s;
        uint64_t recv = r->w1.rtp_recv - r->w0.rtp_recv;
        unsigned pcs = ss.up_pcs ? ss.up_pcs : 1;
        json_object_set_new(o, "server_process",
                            json_pack("{s:i, s:f, s:f, s:f, s:I, s:I, s:I, s:f, s:I}", "pid",
                                      lg_cfg.server_pid, "cpu_s", cpu, "cpu_pct", 100 * cpu / secs,
                                      "cpu_us_per_pkt", recv ? cpu * 1e6 / (double)recv : 0.0,
                                      "rss_kb_start", (json_int_t)r->p_start.rss_kb,
                                      "rss_kb_steady", (json_int_t)r->p1.rss_kb, "rss_kb_after",
                                      (json_int_t)r->p_end.rss_kb, "rss_kb_per_pc",
                                      (double)(r->p1.rss_kb - r->p_start.rss_kb) / pcs, "threads",
                                      (json_int_t)r->p1.threads));
    }
    if (lg_cfg_has_data())
        lg_summary_data(o, r, &end, secs, dh, da);
    return o;
}

int main(int argc, char **argv)
{
    if (lg_parse_args(argc, argv) < 0)
        return 2;
    signal(SIGINT, lg_on_signal);
    signal(SIGTERM, lg_on_signal);
    signal(SIGPIPE, SIG_IGN);
    lg_raise_nofile();
    /* SB_LOADGEN_LOG=debug shows the SDPs and the ICE/DTLS progress of every peer. */
    const char *lvl = getenv("SB_LOADGEN_LOG");
    sb_log_set_level(lvl && sb_log_level_parse(lvl) >= 0 ? (sb_log_level_t)sb_log_level_parse(lvl)
                                                         : SB_LOG_WARN);
    sb_log_start();
    if (lg_peer_global_init() < 0 || lg_media_start(lg_cfg.loops) < 0 ||
        lg_sig_init(lg_cfg.server) < 0) {
        fprintf(stderr, "sb-loadgen: start-up failed\n");
        return 1;
    }
    lg_run_t r = {.phase = LG_JOIN};
    r.t0 = r.t_phase = r.t_last_progress = lg_now_us();
    r.p_start = lg_proc_sample(lg_cfg.server_pid);
    lg_scenario_start();
    while (true) {
        /* Fine-grained while joining (pacing), coarse once everyone is in. */
        lg_sig_poll(r.phase == LG_JOIN ? 5 : 50);
        int64_t now = lg_now_us();
        if (!lg_step(&r, now))
            break;
        if (now - r.t_last_progress >= 1000000)
            lg_progress(&r, now);
    }
    /* Let the server release what the teardown freed, then look at its memory. */
    for (int64_t until = lg_now_us() + 1000000; lg_now_us() < until;)
        lg_sig_poll(50);
    r.p_end = lg_proc_sample(lg_cfg.server_pid);
    lg_hist_t *h = lg_media_hist(), *fk = lg_media_first_key_hist();
    lg_hist_t *dh = lg_media_data_hist(false), *da = lg_media_data_hist(true);
    json_t *sum = lg_summary(&r, h, fk, dh, da);
    sb_free(h);
    sb_free(fk);
    sb_free(dh);
    sb_free(da);
    lg_sig_deinit();
    lg_media_stop();
    lg_peer_global_deinit();
    /* A run where some PeerConnection never came up (no server, refused joins) fails. */
    json_t *pcs = json_object_get(sum, "peerconnections");
    bool all_up = json_integer_value(json_object_get(pcs, "planned")) > 0 &&
                  json_integer_value(json_object_get(pcs, "up")) ==
                      json_integer_value(json_object_get(pcs, "planned"));
    char *text = json_dumps(sum, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", text);
    fflush(stdout);
    if (lg_cfg.json_path) {
        FILE *f = fopen(lg_cfg.json_path, "w");
        if (f) {
            fprintf(f, "%s\n", text);
            fclose(f);
        }
    }
    free(text);
    json_decref(sum);
    sb_log_stop();
    if (!all_up)
        fprintf(stderr, "sb-loadgen: not every PeerConnection came up (see failures)\n");
    return all_up ? 0 : 3;
}
