/* Bandwidth estimator micro-benchmark: nanoseconds per feedback message (and per result) of
 * sb_bwe_on_feedback, for messages of 10 to 500 results of a ~3 Mbit/s stream whose queue
 * fills and drains (so the trendline, the detector and the rate controller all work), with 2 %
 * losses and a probe cluster now and then. Not a test: it prints figures for the docs.
 * Single thread; run it on an idle machine.
 * Usage: bench/bwe_bench [messages]   (default 2000 per size) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "proto/bwe.h"

static int64_t sb_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Packets every 3.2 ms (1200 B: 3 Mbit/s); the one-way delay rises 1 ms per 10 packets over
 * 200 packets, then falls back: the detector sees overuse, normal and underuse in turn. */
static void sb_bench_fill(sb_bwe_result_t *r, size_t total)
{
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < total; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int64_t send = (int64_t)i * 3200;
        size_t ph = i % 400;
        int64_t queue = (int64_t)(ph < 200 ? ph : 400 - ph) * 100;
        r[i] = (sb_bwe_result_t){.seq = (int64_t)i,
                                 .send_us = send,
                                 .recv_us = rng % 50 == 0 ? -1 : 5000000 + send + queue,
                                 .size = 1200,
                                 .probe = (i / 1000) % 5 == 0 && i % 1000 < 8 ? 1 : -1};
    }
}

int main(int argc, char **argv)
{
    size_t messages = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    static const size_t sizes[] = {10, 50, 100, 200, 500};
    printf("results/message  ns/message  ns/result\n");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k], total = n * messages;
        sb_bwe_result_t *r = malloc(total * sizeof(*r));
        if (!r)
            return 1;
        sb_bench_fill(r, total);
        sb_bwe_t *b = sb_bwe_new(NULL);
        int64_t t0 = sb_bench_now_ns();
        for (size_t m = 0; m < messages; m++) {
            int64_t now = r[m * n + n - 1].send_us + 60000;
            sb_bwe_on_feedback(b, r + m * n, n, now);
            sb_bwe_probe_t p;
            sb_bwe_probe_due(b, 10000000, now, &p);
        }
        int64_t ns = sb_bench_now_ns() - t0;
        printf("%15zu  %10.0f  %9.1f   (estimate %u bit/s)\n", n, (double)ns / (double)messages,
               (double)ns / (double)total, sb_bwe_estimate(b));
        sb_bwe_free(b);
        free(r);
    }
    return 0;
}
