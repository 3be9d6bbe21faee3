/* Histograms of counter.h. */
#include "base/counter.h"

int sb_histogram_init(sb_histogram_t *h, const uint64_t *bounds, size_t nbounds)
{
    if (nbounds > SB_HISTOGRAM_MAX_BOUNDS)
        return -1;
    for (size_t i = 1; i < nbounds; i++)
        if (bounds[i] <= bounds[i - 1])
            return -1;
    h->bounds = bounds;
    h->nbounds = nbounds;
    for (size_t i = 0; i <= SB_HISTOGRAM_MAX_BOUNDS; i++)
        atomic_init(&h->buckets[i].v, 0);
    atomic_init(&h->sum.v, 0);
    return 0;
}

void sb_histogram_observe(sb_histogram_t *h, uint64_t v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    sb_counter_add(&h->buckets[i], 1);
    sb_counter_add(&h->sum, v);
}

void sb_histogram_read(const sb_histogram_t *h, uint64_t *out_cumulative, uint64_t *sum)
{
    uint64_t run = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        run += sb_counter_get(&h->buckets[i]);
        out_cumulative[i] += run;
    }
    *sum += sb_counter_get(&h->sum);
}
