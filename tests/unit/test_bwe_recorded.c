/* The bandwidth estimator (proto/bwe.h) replayed on feedback recorded in real calls: Chromium
 * subscribers of a Chromium simulcast publisher in tests/integration/lib/cclab.py's shaped
 * lab, recorded with SB_CC_TRACE (src/peer/peer_cc_trace.h has the format, docs/congestion.md
 * how to record and cut), kept in tests/unit/data/. Each trace goes through a fresh estimator
 * as it was fed: every feedback message and REMB at its time, and the probes where they
 * were started (the replay's sb_bwe_probe_due asked at that moment with the wanted rate of
 * then; when it starts one, the recorded cluster's results and slices are its own, otherwise
 * they are plain padding to it).
 *
 * The feedback cannot react to what the replayed estimator says (what was sent is fixed), so
 * the checks are about what the network was, not about one run's figures: the bounds come
 * from the tbf rate, the loss rate and the clean link. Marks ("M" records: limit, lift, loss)
 * say when the lab changed the link. What the recording itself shows (the rate the receiver
 * acknowledged, the fraction lost) is checked too, so a fixture that is not what its name
 * says fails here rather than passing for the wrong reason. A trace cut from a longer call
 * starts the fresh estimator at the first estimate recorded in it.
 *
 * The last two tests hold the format to its writer (src/peer/peer_cc_trace.c): what it writes
 * reads back the same, and a file stops at its bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <unistd.h>

#include "peer/peer_cc_trace.h"
#include "proto/bwe.h"

#define MS 1000
#define SEC 1000000

/* ---- the trace ---- */

typedef struct ev {
    char kind;    /* F R P S E M */
    int64_t now;  /* our clock, µs */
    size_t first; /* F: its results in trace_t.res */
    size_t n;
    int64_t a[6];  /* R: bps; P: cluster target duration min_packets wanted; S: cluster
                    * packets last; E: reported estimate delay loss acked wanted */
    char what[16]; /* M */
} ev_t;

typedef struct trace {
    ev_t *ev;
    size_t nev, cap_ev;
    sb_bwe_result_t *res;
    size_t nres, cap_res;
} trace_t;

static char *data_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    return buf;
}

/* tests/unit/data/<name>, through $srcdir (automake exports it to tests) or next to this
 * file, as sdp_fixture.h finds its SDP. */
static char *data_load(const char *name)
{
    char path[4096];
    const char *srcdir = getenv("srcdir");
    char *text = NULL;
    if (srcdir) {
        snprintf(path, sizeof(path), "%s/tests/unit/data/%s", srcdir, name);
        text = data_read(path);
    }
    if (!text) {
        const char *here = __FILE__;
        const char *slash = strrchr(here, '/');
        snprintf(path, sizeof(path), "%.*s/data/%s", slash ? (int)(slash - here) : 1,
                 slash ? here : ".", name);
        text = data_read(path);
    }
    if (!text)
        fail_msg("trace %s not found (srcdir=%s)", name, srcdir ? srcdir : "unset");
    return text;
}

static ev_t *trace_push(trace_t *t)
{
    if (t->nev == t->cap_ev) {
        t->cap_ev = t->cap_ev ? 2 * t->cap_ev : 1024;
        t->ev = realloc(t->ev, t->cap_ev * sizeof(*t->ev));
        assert_non_null(t->ev);
    }
    ev_t *e = &t->ev[t->nev++];
    memset(e, 0, sizeof(*e));
    return e;
}

static sb_bwe_result_t *trace_push_result(trace_t *t)
{
    if (t->nres == t->cap_res) {
        t->cap_res = t->cap_res ? 2 * t->cap_res : 16384;
        t->res = realloc(t->res, t->cap_res * sizeof(*t->res));
        assert_non_null(t->res);
    }
    return &t->res[t->nres++];
}

/* Parse a whole trace (text, modified; name for messages); any line it cannot read fails
 * the test with its number. */
static void trace_parse(trace_t *t, char *text, const char *name)
{
    memset(t, 0, sizeof(*t));
    char *save = NULL;
    int line = 0;
    ev_t *fb = NULL; /* the F whose results follow */
    int64_t seq = 0, send = 0, recv = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        if (l[0] == '#' || l[0] == '\0')
            continue;
        long long v[7];
        char w[16] = "";
        int k;
        if (l[0] >= 'A' && l[0] <= 'Z') {
            if (fb && fb->n != (size_t)fb->a[0])
                fail_msg("%s:%d: %zu results, the F line said %lld", name, line, fb->n,
                         (long long)fb->a[0]);
            fb = NULL;
            ev_t *e = trace_push(t);
            e->kind = l[0];
            switch (l[0]) {
            case 'F':
                k = sscanf(l + 1, "%lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4]);
                if (k != 5)
                    break;
                e->now = v[0], seq = v[1], send = v[2], recv = v[3], e->a[0] = v[4];
                e->first = t->nres;
                fb = e;
                continue;
            case 'R':
            case 'P':
            case 'S':
            case 'E':
                k = sscanf(l + 1, "%lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3],
                           &v[4], &v[5], &v[6]);
                if (k != (l[0] == 'R' ? 2 : l[0] == 'S' ? 4 : l[0] == 'P' ? 6 : 7))
                    break;
                e->now = v[0];
                for (int i = 1; i < k; i++)
                    e->a[i - 1] = v[i];
                continue;
            case 'M':
                k = sscanf(l + 1, "%lld %15s %lld", &v[0], w, &v[1]);
                if (k < 2)
                    break;
                e->now = v[0];
                snprintf(e->what, sizeof(e->what), "%s", w);
                e->a[0] = k == 3 ? v[1] : 0;
                continue;
            }
            fail_msg("%s:%d: cannot read '%s'", name, line, l);
        }
        /* A result of the F above: differences from the one before. */
        char rv[24];
        long long probe = -1;
        k = sscanf(l, "%lld %lld %23s %lld %lld", &v[0], &v[1], rv, &v[2], &probe);
        if (!fb || k < 4)
            fail_msg("%s:%d: cannot read '%s'", name, line, l);
        sb_bwe_result_t *r = trace_push_result(t);
        seq += v[0];
        send += v[1];
        if (strcmp(rv, "-") != 0)
            recv += strtoll(rv, NULL, 10);
        *r = (sb_bwe_result_t){.seq = seq,
                               .send_us = send,
                               .recv_us = strcmp(rv, "-") ? recv : -1,
                               .size = (uint32_t)v[2],
                               .probe = (int)probe};
        fb->n++;
    }
    /* Records in time order (marks may be appended out of place: sort them in). */
    for (size_t i = 1; i < t->nev; i++) {
        ev_t e = t->ev[i];
        size_t j = i;
        for (; j > 0 && t->ev[j - 1].now > e.now; j--)
            t->ev[j] = t->ev[j - 1];
        t->ev[j] = e;
    }
}

static void trace_load(trace_t *t, const char *name)
{
    char *text = data_load(name);
    trace_parse(t, text, name);
    free(text);
}

static void trace_free(trace_t *t)
{
    free(t->ev);
    free(t->res);
}

/* The time of mark what (the n-th of that name, value val unless -1); fails when missing. */
static int64_t trace_mark(const trace_t *t, const char *what, int64_t val)
{
    for (size_t i = 0; i < t->nev; i++)
        if (t->ev[i].kind == 'M' && !strcmp(t->ev[i].what, what) &&
            (val < 0 || t->ev[i].a[0] == val))
            return t->ev[i].now;
    fail_msg("no mark %s %lld in the trace", what, (long long)val);
    return 0;
}

static int64_t trace_first(const trace_t *t, char kind)
{
    for (size_t i = 0; i < t->nev; i++)
        if (t->ev[i].kind == kind)
            return t->ev[i].now;
    fail_msg("no %c record in the trace", kind);
    return 0;
}

/* What the recording says happened on the link, whatever estimator listens: RTP bits/s
 * acknowledged by the feedback that arrived in [from, to), and the fraction reported lost. */
static double trace_acked_bps(const trace_t *t, int64_t from, int64_t to)
{
    double bytes = 0;
    for (size_t i = 0; i < t->nev; i++) {
        const ev_t *e = &t->ev[i];
        if (e->kind != 'F' || e->now < from || e->now >= to)
            continue;
        for (size_t k = 0; k < e->n; k++)
            if (t->res[e->first + k].recv_us >= 0)
                bytes += t->res[e->first + k].size;
    }
    return bytes * 8e6 / (double)(to - from);
}

static double trace_lost(const trace_t *t, int64_t from, int64_t to)
{
    double n = 0, lost = 0;
    for (size_t i = 0; i < t->nev; i++) {
        const ev_t *e = &t->ev[i];
        if (e->kind != 'F' || e->now < from || e->now >= to)
            continue;
        for (size_t k = 0; k < e->n; k++, n++)
            lost += t->res[e->first + k].recv_us < 0;
    }
    return n ? lost / n : 0;
}

/* ---- the replay ---- */

#define MAX_CLUSTERS 4096

typedef struct sample {
    int64_t t;
    uint32_t est;
} sample_t;

typedef struct replay {
    sample_t *s; /* the estimate after every record */
    size_t n;
    unsigned probes, probes_taken;
    double max_diff; /* largest |replayed - recorded| over the E records, relative */
} replay_t;

static void check_sane(const sb_bwe_t *b)
{
    sb_bwe_stats_t st;
    sb_bwe_get_stats(b, &st);
    assert_true(st.estimate_bps >= 30000 && st.estimate_bps <= 20000000);
    assert_true(isfinite(st.trend) && isfinite(st.threshold) && isfinite(st.loss));
    assert_true(st.loss >= 0 && st.loss <= 1);
}

static void replay_run(const trace_t *t, replay_t *rp)
{
    memset(rp, 0, sizeof(*rp));
    rp->s = calloc(t->nev, sizeof(*rp->s));
    assert_non_null(rp->s);
    /* Recorded cluster -> the replay's (-1: the replay did not start it). */
    static int map[MAX_CLUSTERS];
    for (int i = 0; i < MAX_CLUSTERS; i++)
        map[i] = -1;
    sb_bwe_result_t *buf = calloc(t->nres + 1, sizeof(*buf));
    assert_non_null(buf);
    /* A trace cut from a longer call starts where the recorded estimator was (its first
     * report), not at the start value: the first seconds would measure a start-up. */
    sb_bwe_config_t cfg = {0};
    for (size_t i = 0; i < t->nev && !cfg.start_bps; i++)
        if (t->ev[i].kind == 'E')
            cfg.start_bps = (uint32_t)t->ev[i].a[1];
    sb_bwe_t *b = sb_bwe_new(&cfg);
    for (size_t i = 0; i < t->nev; i++) {
        const ev_t *e = &t->ev[i];
        switch (e->kind) {
        case 'F':
            for (size_t k = 0; k < e->n; k++) {
                buf[k] = t->res[e->first + k];
                int c = buf[k].probe;
                buf[k].probe = c >= 0 && c < MAX_CLUSTERS ? map[c] : -1;
            }
            sb_bwe_on_feedback(b, buf, e->n, e->now);
            break;
        case 'R':
            sb_bwe_on_remb(b, (uint64_t)e->a[0], e->now);
            break;
        case 'P': {
            sb_bwe_probe_t p;
            rp->probes++;
            if (sb_bwe_probe_due(b, (uint32_t)e->a[4], e->now, &p) && e->a[0] >= 0 &&
                e->a[0] < MAX_CLUSTERS) {
                map[e->a[0]] = p.cluster;
                rp->probes_taken++;
            }
            break;
        }
        case 'S':
            if (e->a[0] >= 0 && e->a[0] < MAX_CLUSTERS && map[e->a[0]] >= 0)
                sb_bwe_probe_sent(b, map[e->a[0]], (uint32_t)e->a[1], e->a[2] != 0);
            break;
        case 'E': {
            double rec = (double)e->a[1], got = sb_bwe_estimate(b);
            double d = fabs(got - rec) / (rec > 0 ? rec : 1);
            rp->max_diff = d > rp->max_diff ? d : rp->max_diff;
            break;
        }
        }
        check_sane(b);
        rp->s[rp->n++] = (sample_t){e->now, sb_bwe_estimate(b)};
    }
    sb_bwe_free(b);
    free(buf);
}

typedef struct span {
    double min, mean, max;              /* time-weighted mean */
    int64_t above_us, longest_above_us; /* time over the threshold given */
} span_t;

/* The replayed estimate over [from, to), each sample holding until the next. */
static span_t replay_span(const replay_t *rp, int64_t from, int64_t to, double over)
{
    span_t r = {INFINITY, 0, 0, 0, 0};
    double sum = 0;
    int64_t run = 0;
    for (size_t i = 0; i < rp->n; i++) {
        int64_t a = rp->s[i].t, b = i + 1 < rp->n ? rp->s[i + 1].t : to;
        a = a < from ? from : a;
        b = b > to ? to : b;
        if (b <= a)
            continue;
        double v = rp->s[i].est;
        sum += v * (double)(b - a);
        r.min = v < r.min ? v : r.min;
        r.max = v > r.max ? v : r.max;
        if (v > over) {
            r.above_us += b - a;
            run += b - a;
            r.longest_above_us = run > r.longest_above_us ? run : r.longest_above_us;
        } else {
            run = 0;
        }
    }
    r.mean = to > from ? sum / (double)(to - from) : 0;
    return r;
}

/* The first time in [from, ...) the replayed estimate is at least v; -1: never. */
static int64_t replay_reach(const replay_t *rp, int64_t from, double v)
{
    for (size_t i = 0; i < rp->n; i++)
        if (rp->s[i].t >= from && rp->s[i].est >= v)
            return rp->s[i].t;
    return -1;
}

/* Seconds from t0 to t for the messages, "never" when t is -1. */
static const char *secs(int64_t t, int64_t t0, char *buf, size_t len)
{
    if (t < 0)
        snprintf(buf, len, "never");
    else
        snprintf(buf, len, "%.1f s", (t - t0) / 1e6);
    return buf;
}

static void replay_print(const char *name, const trace_t *t, const replay_t *rp, int64_t t0)
{
    printf("# %s: %zu records, %zu results, %u probes recorded (%u started by the replay), "
           "replayed estimate within %.0f %% of the recorded one\n",
           name, t->nev, t->nres, rp->probes, rp->probes_taken, 100 * rp->max_diff);
    if (!getenv("SB_BWE_TRACE"))
        return;
    int64_t end = rp->n ? rp->s[rp->n - 1].t : t0;
    for (int64_t a = t0; a < end; a += 500 * MS) {
        span_t s = replay_span(rp, a, a + 500 * MS, INFINITY);
        printf("%+6.1f s estimate %4.0f..%4.0f kbit/s, acked %4.0f, lost %.3f\n", (a - t0) / 1e6,
               s.min / 1e3, s.max / 1e3, trace_acked_bps(t, a, a + 500 * MS) / 1e3,
               trace_lost(t, a, a + 500 * MS));
    }
}

/* ---- a subscriber behind tc tbf 400 kbit/s, then the limit lifted ---- */

#define LIMIT_BPS 400e3

static void test_limit_400k(void **state)
{
    (void)state;
    trace_t t;
    trace_load(&t, "cc_limit400.cctrace");
    replay_t rp;
    replay_run(&t, &rp);
    int64_t lim = trace_mark(&t, "limit", 400), lift = trace_mark(&t, "lift", -1);
    replay_print("400 kbit/s, then lifted", &t, &rp, lim);
    assert_true(lift - lim >= 15 * SEC);

    /* The recording is what it says: more than twice the link went through before the
     * limit, and no more than its rate once the bucket (4 KB) and the queue (300 ms) that
     * filled at the limit were through. */
    double before = trace_acked_bps(&t, lim - 5 * SEC, lim);
    double acked = trace_acked_bps(&t, lim + 2 * SEC, lift);
    printf("# acknowledged: %.0f kbit/s before the limit, %.0f while limited\n", before / 1e3,
           acked / 1e3);
    assert_true(before >= 2 * LIMIT_BPS);
    assert_true(acked <= LIMIT_BPS);
    char b1[32];

    /* Down to the link within 3 s of the limit (a 300 ms queue builds within a second at
     * the rates sent before; the integration test wants a layer that fits within 5 s). */
    int64_t down = -1;
    for (size_t i = 0; i < rp.n; i++)
        if (rp.s[i].t >= lim && rp.s[i].est <= 1.2 * LIMIT_BPS) {
            down = rp.s[i].t;
            break;
        }
    printf("# at most 1.2 x the link %s after the limit\n", secs(down, lim, b1, sizeof(b1)));
    assert_true(down >= 0 && down - lim <= 3 * SEC);

    /* Settled from 5 s on: on average between 60 % and 120 % of the link's rate (its RTP
     * share is ~94 % with IP/UDP/SRTP per packet), never under 40 %; over 1.5 x the link
     * only for moments (a probe's result, before the delay trend sees the queue it built):
     * at most 500 ms at a time, 1 s in all; and never over 2 x the link: a probe of 100 ms
     * that found the 4 KB bucket full reads at most 400 + 4096 x 8 / 0.1 = 728 kbit/s. */
    span_t s = replay_span(&rp, lim + 5 * SEC, lift, 1.5 * LIMIT_BPS);
    printf("# limited, from 5 s on: estimate min %.0f mean %.0f max %.0f kbit/s; over %.0f "
           "kbit/s %.1f s in all, %.1f s at most at a time\n",
           s.min / 1e3, s.mean / 1e3, s.max / 1e3, 1.5 * LIMIT_BPS / 1e3, s.above_us / 1e6,
           s.longest_above_us / 1e6);
    assert_true(s.mean >= 0.6 * LIMIT_BPS && s.mean <= 1.2 * LIMIT_BPS);
    assert_true(s.min >= 0.4 * LIMIT_BPS);
    assert_true(s.longest_above_us <= 500 * MS && s.above_us <= 1 * SEC);
    assert_true(s.max <= 2 * LIMIT_BPS);

    /* The limit lifted (a veth: no bottleneck): over 1 Mbit/s within 10 s (the top layer,
     * 1280x720, needs ~1.3 Mbit/s with the others' headroom). */
    int64_t up = replay_reach(&rp, lift, 1e6);
    printf("# over 1 Mbit/s %s after the lift\n", secs(up, lift, b1, sizeof(b1)));
    assert_true(up >= 0 && up - lift <= 10 * SEC);

    free(rp.s);
    trace_free(&t);
}

/* ---- 5 % random loss on an unshaped link ---- */

static void test_loss_5(void **state)
{
    (void)state;
    trace_t t;
    trace_load(&t, "cc_loss5.cctrace");
    replay_t rp;
    replay_run(&t, &rp);
    int64_t on = trace_mark(&t, "loss", 5), off = trace_mark(&t, "loss", 0);
    replay_print("5 % loss", &t, &rp, on);
    assert_true(off - on >= 10 * SEC && on - trace_first(&t, 'F') >= 5 * SEC);

    /* The recording: about 5 % of what was sent reported lost (nftables drops each datagram
     * with probability 0.05), and next to none before. */
    double lost = trace_lost(&t, on + SEC, off), before = trace_lost(&t, on - 5 * SEC, on);
    printf("# lost: %.3f before, %.3f under the loss\n", before, lost);
    assert_true(lost >= 0.03 && lost <= 0.08);
    assert_true(before < 0.01);

    /* Random loss is not congestion: the estimate holds (GCC's loss-based half only holds
     * between 2 and 10 %), at least 60 % of what it was over the 5 s before, all along. */
    span_t pre = replay_span(&rp, on - 5 * SEC, on, INFINITY);
    span_t s = replay_span(&rp, on, off, INFINITY);
    printf("# estimate before: mean %.0f kbit/s; under the loss: min %.0f mean %.0f\n",
           pre.mean / 1e3, s.min / 1e3, s.mean / 1e3);
    assert_true(s.min >= 0.6 * pre.mean);
    /* ... and it still covers what was sent through the loss. */
    double acked = trace_acked_bps(&t, on, off);
    assert_true(s.mean >= acked);

    free(rp.s);
    trace_free(&t);
}

/* ---- a clean link from the first packet ---- */

static void test_clean(void **state)
{
    (void)state;
    trace_t t;
    trace_load(&t, "cc_clean.cctrace");
    replay_t rp;
    replay_run(&t, &rp);
    int64_t t0 = trace_first(&t, 'F');
    int64_t end = t.ev[t.nev - 1].now;
    replay_print("clean link", &t, &rp, t0);
    /* The recording: a clean link loses nothing. */
    assert_true(trace_lost(&t, t0, end + 1) < 0.01);

    /* What the subscriber's layer choice wanted at most (the next layer up with its
     * headroom; 0 once at the top): the clean link carries it, so the estimate must get
     * there, within 5 s of the first feedback (the start estimate is 300 kbit/s; probes go
     * at once at 3 x, then double). */
    double wanted = 0;
    for (size_t i = 0; i < t.nev; i++)
        if (t.ev[i].kind == 'E' && t.ev[i].a[5] > wanted)
            wanted = (double)t.ev[i].a[5];
    int64_t at = replay_reach(&rp, t0, wanted);
    char b1[32];
    printf("# wanted at most %.0f kbit/s: reached %s after the first feedback\n", wanted / 1e3,
           secs(at, t0, b1, sizeof(b1)));
    assert_true(wanted > 2 * 300000); /* more than the start estimate's probes give */
    assert_true(at >= 0 && at - t0 <= 5 * SEC);

    /* Then it stays over what actually crossed the link, every second: nothing limits it
     * (a lower estimate would take layers away that the link carries). */
    for (int64_t a = at + SEC; a + SEC <= end; a += SEC) {
        double acked = trace_acked_bps(&t, a, a + SEC);
        span_t s = replay_span(&rp, a, a + SEC, INFINITY);
        if (s.min < acked)
            printf("# at %+.1f s: estimate %.0f kbit/s under the acknowledged %.0f\n",
                   (a - t0) / 1e6, s.min / 1e3, acked / 1e3);
        assert_true(s.min >= acked);
    }

    free(rp.s);
    trace_free(&t);
}

/* ---- the format: what the server writes is what this reader reads ---- */

/* The text of the one .cctrace file in dir (malloc'd); the file and dir are removed. */
static char *take_written(const char *dir, size_t *len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char path[4096] = "";
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        files++;
        assert_non_null(strstr(e->d_name, ".cctrace"));
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    }
    closedir(d);
    assert_int_equal(files, 1);
    char *text = data_read(path);
    assert_non_null(text);
    *len = strlen(text);
    unlink(path);
    rmdir(dir);
    return text;
}

static void trace_on(const char *dir)
{
    if (dir)
        setenv("SB_CC_TRACE", dir, 1);
    else
        unsetenv("SB_CC_TRACE");
    sb_peer_cc_trace_start();
    unsetenv("SB_CC_TRACE");
}

static void test_writer_roundtrip(void **state)
{
    (void)state;
    trace_on(NULL);
    assert_null(sb_peer_cc_trace_open(1, 2)); /* off: no file */

    char dir[] = "/tmp/sb-cctrace-XXXXXX";
    assert_non_null(mkdtemp(dir));
    trace_on(dir);
    sb_peer_cc_trace_t *w = sb_peer_cc_trace_open(7, 8);
    assert_non_null(w);
    /* The first lost (the receive base is the next one's), a gap, sent and received out of
     * order, probe clusters. */
    const sb_bwe_result_t r[] = {
        {1000, 5000000, -1, 1200, -1},      {1001, 5000400, 123456789, 1100, -1},
        {1003, 5000300, 123456500, 300, 4}, {1004, 5000900, -1, 255, 4},
        {1005, 5001000, 123458000, 90, -1},
    };
    sb_peer_cc_trace_feedback(w, r, 5, 10000000);
    sb_peer_cc_trace_feedback(w, r, 0, 10000001); /* nothing to say */
    sb_peer_cc_trace_remb(w, 750000, 10000100);
    sb_bwe_probe_t pr = {
        .cluster = 4, .target_bps = 900000, .duration_us = 100000, .min_packets = 5};
    sb_peer_cc_trace_probe(w, &pr, 1300000, 10000200);
    sb_peer_cc_trace_probe_sent(w, 4, 12, false, 10000300);
    sb_peer_cc_trace_probe_sent(w, 4, 3, true, 10000320);
    sb_bwe_stats_t st = {
        .estimate_bps = 500000, .delay_bps = 510000, .loss_bps = 520000, .acked_bps = 300000};
    sb_peer_cc_trace_estimate(w, 0, &st, 1300000, 10000400);
    sb_peer_cc_trace_close(w);
    trace_on(NULL);

    size_t len;
    char *text = take_written(dir, &len);
    assert_true(strncmp(text, "# sb-cctrace 1 ", 15) == 0);
    trace_t t;
    trace_parse(&t, text, "written");
    free(text);
    static const char kinds[] = "FRPSSE";
    assert_int_equal(t.nev, strlen(kinds));
    for (size_t i = 0; i < t.nev; i++)
        assert_int_equal(t.ev[i].kind, kinds[i]);
    assert_int_equal(t.ev[0].now, 10000000);
    assert_int_equal(t.ev[0].n, 5);
    assert_int_equal(t.nres, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(t.res[i].seq, r[i].seq);
        assert_int_equal(t.res[i].send_us, r[i].send_us);
        assert_int_equal(t.res[i].recv_us, r[i].recv_us);
        assert_int_equal(t.res[i].size, r[i].size);
        assert_int_equal(t.res[i].probe, r[i].probe);
    }
    assert_int_equal(t.ev[1].a[0], 750000);
    assert_int_equal(t.ev[2].a[0], 4);
    assert_int_equal(t.ev[2].a[1], 900000);
    assert_int_equal(t.ev[2].a[2], 100000);
    assert_int_equal(t.ev[2].a[3], 5);
    assert_int_equal(t.ev[2].a[4], 1300000);
    assert_int_equal(t.ev[3].a[1], 12);
    assert_int_equal(t.ev[3].a[2], 0);
    assert_int_equal(t.ev[4].a[2], 1);
    assert_int_equal(t.ev[5].now, 10000400);
    const int64_t e[] = {0, 500000, 510000, 520000, 300000, 1300000};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(t.ev[5].a[i], e[i]);
    trace_free(&t);
}

/* A file stops at 8 MiB, with a note, and what it holds still reads. */
static void test_writer_bounded(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb-cctrace-XXXXXX";
    assert_non_null(mkdtemp(dir));
    trace_on(dir);
    sb_peer_cc_trace_t *w = sb_peer_cc_trace_open(1, 2);
    trace_on(NULL);
    assert_non_null(w);
    static sb_bwe_result_t r[256];
    int64_t seq = 0, t0 = 1000000;
    for (int k = 0; k < 2000; k++) { /* ~13 MB if it did not stop */
        for (int i = 0; i < 256; i++, seq++)
            r[i] = (sb_bwe_result_t){seq, t0 + seq * 1000, 123456789 + seq * 1000, 1200, -1};
        sb_peer_cc_trace_feedback(w, r, 256, t0 + seq * 1000);
    }
    sb_peer_cc_trace_close(w);
    size_t len;
    char *text = take_written(dir, &len);
    printf("# %zu bytes written\n", len);
    assert_true(len >= (8u << 20) && len <= (8u << 20) + 256 * 64);
    assert_true(len > 12 && strcmp(text + len - 12, "# truncated\n") == 0);
    trace_t t;
    trace_parse(&t, text, "bounded");
    free(text);
    assert_true(t.nres >= 256 && t.nres % 256 == 0);
    assert_int_equal(t.res[t.nres - 1].seq, (int64_t)t.nres - 1);
    trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_400k),     cmocka_unit_test(test_loss_5),
        cmocka_unit_test(test_clean),          cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_writer_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
