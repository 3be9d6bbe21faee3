/* Congestion-control traces (see peer_cc_trace.h): what one transport's estimator is fed,
 * appended as text to its own file while SB_CC_TRACE names a folder. Does not: read traces
 * (the unit test does), rotate files, or write anything when off. The folder is read once at
 * start-up on the main thread; each trace is then touched by its peer's media loop only. */
#include "peer/peer_cc_trace.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "base/log.h"
#include "switchboard/time.h"

#define SB_PEER_CC_TRACE_MAX_BYTES (8u << 20) /* per file: then "# truncated" */
#define SB_PEER_CC_TRACE_BUFFER 65536

static char sb_peer_cc_trace_dir[PATH_MAX]; /* "": off; set before the media loops start */
static atomic_uint sb_peer_cc_trace_files;  /* files opened, for their names */
static atomic_bool sb_peer_cc_trace_warned;

/* Owned by the peer (p->cc.trace); its media loop only. */
struct sb_peer_cc_trace {
    FILE *f;
    uint64_t bytes;
    bool full;
    char buf[SB_PEER_CC_TRACE_BUFFER];
};

__attribute__((format(printf, 2, 3))) static void sb_peer_cc_trace_put(sb_peer_cc_trace_t *t,
                                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vfprintf(t->f, fmt, ap);
    va_end(ap);
    if (w > 0)
        t->bytes += (uint64_t)w;
}

void sb_peer_cc_trace_start(void)
{
    const char *dir = getenv("SB_CC_TRACE");
    struct stat st;
    sb_peer_cc_trace_dir[0] = '\0';
    if (!dir || !*dir)
        return;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        strlen(dir) >= sizeof(sb_peer_cc_trace_dir)) {
        SB_WARN("cc", "SB_CC_TRACE=%s is not a folder: no congestion-control traces", dir);
        return;
    }
    snprintf(sb_peer_cc_trace_dir, sizeof(sb_peer_cc_trace_dir), "%s", dir);
    SB_INFO("cc", "congestion-control traces in %s (SB_CC_TRACE)", dir);
}

sb_peer_cc_trace_t *sb_peer_cc_trace_open(uint64_t session_id, uint64_t handle_id)
{
    if (!sb_peer_cc_trace_dir[0])
        return NULL;
    char path[PATH_MAX + 64];
    unsigned n = atomic_fetch_add(&sb_peer_cc_trace_files, 1) + 1;
    snprintf(path, sizeof(path), "%s/%ld-%" PRIu64 "-%u.cctrace", sb_peer_cc_trace_dir,
             (long)getpid(), handle_id, n);
    FILE *f = fopen(path, "w");
    if (!f) {
        if (!atomic_exchange(&sb_peer_cc_trace_warned, true))
            SB_WARN("cc", "cannot write %s: no congestion-control trace", path);
        return NULL;
    }
    sb_peer_cc_trace_t *t = sb_calloc(1, sizeof(*t));
    t->f = f;
    setvbuf(f, t->buf, _IOFBF, sizeof(t->buf));
    sb_peer_cc_trace_put(t,
                         "# sb-cctrace 1 pid %ld session %" PRIu64 " handle %" PRIu64
                         " mono %" PRId64 " wall %" PRId64 "\n",
                         (long)getpid(), session_id, handle_id, sb_now_us(), sb_wall_us());
    return t;
}

void sb_peer_cc_trace_close(sb_peer_cc_trace_t *t)
{
    if (!t)
        return;
    fclose(t->f);
    sb_free(t);
}

/* Room for one more record? The first one past the limit is the truncation note. */
static bool sb_peer_cc_trace_room(sb_peer_cc_trace_t *t)
{
    if (t->full)
        return false;
    if (t->bytes < SB_PEER_CC_TRACE_MAX_BYTES)
        return true;
    fputs("# truncated\n", t->f);
    fflush(t->f);
    t->full = true;
    return false;
}

void sb_peer_cc_trace_feedback(sb_peer_cc_trace_t *t, const sb_bwe_result_t *r, size_t n,
                               int64_t now)
{
    if (!n || !sb_peer_cc_trace_room(t))
        return;
    /* The base of the differences: the first result, and the first received one's time. */
    int64_t recv = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].recv_us >= 0) {
            recv = r[i].recv_us;
            break;
        }
    }
    int64_t seq = r[0].seq, send = r[0].send_us;
    sb_peer_cc_trace_put(t, "F %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %zu\n", now, seq,
                         send, recv, n);
    for (size_t i = 0; i < n; i++) {
        char drecv[24] = "-", probe[16] = "";
        if (r[i].recv_us >= 0) {
            snprintf(drecv, sizeof(drecv), "%" PRId64, r[i].recv_us - recv);
            recv = r[i].recv_us;
        }
        if (r[i].probe >= 0)
            snprintf(probe, sizeof(probe), " %d", r[i].probe);
        sb_peer_cc_trace_put(t, "%" PRId64 " %" PRId64 " %s %" PRIu32 "%s\n", r[i].seq - seq,
                             r[i].send_us - send, drecv, r[i].size, probe);
        seq = r[i].seq;
        send = r[i].send_us;
    }
}

void sb_peer_cc_trace_remb(sb_peer_cc_trace_t *t, uint64_t bps, int64_t now)
{
    if (sb_peer_cc_trace_room(t))
        sb_peer_cc_trace_put(t, "R %" PRId64 " %" PRIu64 "\n", now, bps);
}

void sb_peer_cc_trace_probe(sb_peer_cc_trace_t *t, const sb_bwe_probe_t *pr, uint32_t wanted_bps,
                            int64_t now)
{
    if (sb_peer_cc_trace_room(t))
        sb_peer_cc_trace_put(
            t, "P %" PRId64 " %d %" PRIu32 " %" PRId64 " %" PRIu32 " %" PRIu32 "\n", now,
            pr->cluster, pr->target_bps, pr->duration_us, pr->min_packets, wanted_bps);
}

void sb_peer_cc_trace_probe_sent(sb_peer_cc_trace_t *t, int cluster, uint32_t packets, bool last,
                                 int64_t now)
{
    if (sb_peer_cc_trace_room(t))
        sb_peer_cc_trace_put(t, "S %" PRId64 " %d %" PRIu32 " %d\n", now, cluster, packets,
                             last ? 1 : 0);
}

void sb_peer_cc_trace_estimate(sb_peer_cc_trace_t *t, uint32_t reported, const sb_bwe_stats_t *st,
                               uint32_t wanted_bps, int64_t now)
{
    if (sb_peer_cc_trace_room(t))
        sb_peer_cc_trace_put(t,
                             "E %" PRId64 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32
                             " %" PRIu32 " %" PRIu32 "\n",
                             now, reported, st->estimate_bps, st->delay_bps, st->loss_bps,
                             st->acked_bps, wanted_bps);
}
