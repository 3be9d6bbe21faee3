/* The Prometheus text exposition format, version 0.0.4: what /metrics answers. A growing
 * buffer that families and samples are appended to, in the order a scrape writes them:
 *
 *   # HELP switchboard_rtp_packets_total RTP packets, by direction.
 *   # TYPE switchboard_rtp_packets_total counter
 *   switchboard_rtp_packets_total{direction="in"} 1027
 *
 * Label values are escaped (backslash, double quote, newline), help texts too (backslash,
 * newline); metric and label names that are not valid Prometheus names are refused (counted
 * in sb_prom_t.refused, nothing written) since they come from code, not from clients. Counters
 * are written as exact integers, other values as the shortest round-trip double, NaN and
 * +Inf/-Inf as the format spells them. Does not: sort, merge families, or add timestamps.
 * Any thread; one writer per sb_prom_t. */
#ifndef SB_BASE_PROM_TEXT_H
#define SB_BASE_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_prom {
    char *buf;
    size_t len, cap;
    unsigned refused; /* invalid names skipped: a bug in the caller */
} sb_prom_t;

#define SB_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void sb_prom_init(sb_prom_t *p);
void sb_prom_deinit(sb_prom_t *p);

/* The family's # HELP and # TYPE lines; type: "counter", "gauge", "histogram", "untyped". */
void sb_prom_family(sb_prom_t *p, const char *name, const char *type, const char *help);

/* One sample. labels: NULL, or name/value pairs ending with NULL ({"loop", "0", NULL}). */
void sb_prom_u64(sb_prom_t *p, const char *name, const char *const *labels, uint64_t v);
void sb_prom_double(sb_prom_t *p, const char *name, const char *const *labels, double v);

/* A histogram's samples: name_bucket{labels,le="b"} for each bound and +Inf (cumulative:
 * nbounds + 1 counts, the last being the total), name_sum and name_count. Bounds and sum are in
 * the observer's integer unit, written divided by per_unit (1000000: µs observed, seconds
 * exposed, as Prometheus names want base units). */
void sb_prom_histogram(sb_prom_t *p, const char *name, const char *const *labels,
                       const uint64_t *bounds, size_t nbounds, const uint64_t *cumulative,
                       uint64_t sum, uint64_t per_unit);

/* The text so far (NUL-terminated, owned by p) and its length. */
const char *sb_prom_text(const sb_prom_t *p, size_t *len);

#endif
