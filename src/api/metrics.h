/* /metrics: the Prometheus exposition of what the daemon counts (docs/metrics.md). A scrape
 * reads counters their owners keep (media loops, HTTP threads, sessions) and sums them; it
 * takes no lock a media loop takes. Also the loops' busy ratios, sampled by the main loop
 * and read by /metrics and the Admin API's loops_info. */
#ifndef SB_API_METRICS_H
#define SB_API_METRICS_H

#include <stdint.h>

#include "base/prom_text.h"

/* Write every family into p. Any thread. */
void sb_metrics_write(sb_prom_t *p);

/* Main loop, about every 250 ms: samples each loop's thread CPU time every 5 s. */
void sb_metrics_tick(int64_t now_us);
/* Loop i's busy ratio (its thread's CPU time over wall time, 0..1) over the last 5-10 s;
 * -1 before two samples exist. Any thread. */
double sb_metrics_loop_busy(unsigned i);

/* Failed authentications (wrong or missing secret or token), by API; any thread. */
typedef enum { SB_AUTH_JANUS, SB_AUTH_ADMIN } sb_auth_api_t;
void sb_metrics_auth_failed(sb_auth_api_t api);

#endif
