/* Counters and histograms for /metrics that cost a media loop nothing but a plain add: each
 * has one writer (the thread that owns it: a media loop, the API thread), any thread may read
 * it. The add is a relaxed load and a relaxed store, no read-modify-write (no lock prefix, no
 * cache line bounced between cores); a reader sees some recent value, and the scraper sums
 * every owner's copy at scrape time (DESIGN.md: never a lock or a shared atomic per packet).
 * Two writers on one counter lose adds: give each thread its own. */
#ifndef SB_BASE_COUNTER_H
#define SB_BASE_COUNTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_counter {
    _Atomic uint64_t v;
} sb_counter_t;

/* Owner thread only. */
static inline void sb_counter_add(sb_counter_t *c, uint64_t n)
{
    atomic_store_explicit(&c->v, atomic_load_explicit(&c->v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Any thread. */
static inline uint64_t sb_counter_get(const sb_counter_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)&c->v, memory_order_relaxed);
}

/* A histogram of integer observations (µs, bytes) against fixed upper bounds, one owner as
 * above. bounds: SB_HISTOGRAM_MAX_BOUNDS at most, increasing; one more bucket counts what is
 * over the last bound (+Inf). The buckets are not cumulative here (the writer adds to one);
 * sb_histogram_read makes them so. */
#define SB_HISTOGRAM_MAX_BOUNDS 15

typedef struct sb_histogram {
    const uint64_t *bounds;
    size_t nbounds;
    sb_counter_t buckets[SB_HISTOGRAM_MAX_BOUNDS + 1];
    sb_counter_t sum;
} sb_histogram_t;

/* bounds must outlive h (a static table). Returns -1 when there are too many or they do
 * not increase. */
int sb_histogram_init(sb_histogram_t *h, const uint64_t *bounds, size_t nbounds);

/* Owner thread only. */
void sb_histogram_observe(sb_histogram_t *h, uint64_t v);

/* Any thread: adds h's cumulative bucket counts (nbounds + 1 of them, the last is the total
 * count) and its sum into out_cumulative and *sum, so several owners' copies add up. */
void sb_histogram_read(const sb_histogram_t *h, uint64_t *out_cumulative, uint64_t *sum);

#endif
