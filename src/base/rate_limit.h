/* A per-client request budget: at most `limit` requests per client key (an address) in
 * each fixed window. Memory is fixed (a table of slots, probed a few at a time); when
 * every probed slot holds another active client, the stalest one is forgotten, which can
 * only favour the forgotten client. Thread-safe (one lock). */
#ifndef SB_BASE_RATE_LIMIT_H
#define SB_BASE_RATE_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_RATE_LIMIT_SLOTS 4096
#define SB_RATE_LIMIT_KEY 16 /* an IPv6 address, or an IPv4 one zero-padded */

typedef struct sb_rate_slot {
    uint8_t key[SB_RATE_LIMIT_KEY];
    int64_t window_start_us; /* 0 = free */
    unsigned count;
} sb_rate_slot_t;

typedef struct sb_rate_limit {
    pthread_mutex_t lock;
    unsigned limit;     /* per window; 0 = unlimited */
    int64_t window_us;
    sb_rate_slot_t slots[SB_RATE_LIMIT_SLOTS];
} sb_rate_limit_t;

void sb_rate_limit_init(sb_rate_limit_t *rl, unsigned limit, int64_t window_us);
void sb_rate_limit_deinit(sb_rate_limit_t *rl);

/* Count one request of key at now_us: true if it is within the budget. When it is not,
 * *retry_after_s (if given) is the seconds until the window ends. */
bool sb_rate_limit_take(sb_rate_limit_t *rl, const uint8_t key[SB_RATE_LIMIT_KEY],
                        int64_t now_us, unsigned *retry_after_s);

#endif
