/* The webhook event handler: one thread POSTs the events of peer/events.h to an HTTP
 * endpoint, as the reference server's sample event handler does (a JSON array of events per
 * POST with grouping, one event per POST without), retrying a failed POST with a doubling
 * backoff, then dropping it and counting the events. The queue between the emitters and this
 * thread is bounded: while the receiver is down or slow, events past the bound are dropped
 * and counted; no media loop and no API thread ever waits for the receiver. */
#ifndef SB_API_WEBHOOK_H
#define SB_API_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* Starts the thread when cfg names a webhook (events.webhook). 0, or SB_EINVAL with the
 * reason logged (a bad URL or types list). Main thread. */
int sb_webhook_start(const sb_config_t *cfg);
/* Sends what is queued for up to flush_ms more, then stops the thread and drops the rest
 * (counted). Main thread, after every emitter is gone but the core's shutdown event. */
void sb_webhook_stop(unsigned flush_ms);

/* POSTs answered 2xx, POSTs given up after their retries. Any thread. */
uint64_t sb_webhook_posts_ok(void);
uint64_t sb_webhook_posts_failed(void);

#endif
