/* Per-client request budget (see rate_limit.h). */
#include "base/rate_limit.h"

#include <string.h>

#define SB_RATE_LIMIT_PROBES 8

void sb_rate_limit_init(sb_rate_limit_t *rl, unsigned limit, int64_t window_us)
{
    memset(rl, 0, sizeof(*rl));
    pthread_mutex_init(&rl->lock, NULL);
    rl->limit = limit;
    rl->window_us = window_us > 0 ? window_us : 1;
}

void sb_rate_limit_deinit(sb_rate_limit_t *rl)
{
    pthread_mutex_destroy(&rl->lock);
}

/* FNV-1a: spreads neighbouring addresses over the table. */
static uint32_t sb_rate_limit_hash(const uint8_t *key)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < SB_RATE_LIMIT_KEY; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

static sb_rate_slot_t *sb_rate_limit_slot(sb_rate_limit_t *rl, const uint8_t *key)
{
    uint32_t h = sb_rate_limit_hash(key);
    sb_rate_slot_t *victim = NULL; /* a free slot, else the one whose window began first */
    for (unsigned i = 0; i < SB_RATE_LIMIT_PROBES; i++) {
        sb_rate_slot_t *s = &rl->slots[(h + i) % SB_RATE_LIMIT_SLOTS];
        if (s->window_start_us && !memcmp(s->key, key, SB_RATE_LIMIT_KEY))
            return s;
        if (!victim || s->window_start_us < victim->window_start_us)
            victim = s;
    }
    memcpy(victim->key, key, SB_RATE_LIMIT_KEY);
    victim->window_start_us = 0;
    victim->count = 0;
    return victim;
}

bool sb_rate_limit_take(sb_rate_limit_t *rl, const uint8_t key[SB_RATE_LIMIT_KEY], int64_t now_us,
                        unsigned *retry_after_s)
{
    if (!rl->limit)
        return true;
    pthread_mutex_lock(&rl->lock);
    sb_rate_slot_t *s = sb_rate_limit_slot(rl, key);
    if (!s->window_start_us || now_us - s->window_start_us >= rl->window_us) {
        s->window_start_us = now_us ? now_us : 1;
        s->count = 0;
    }
    bool ok = s->count < rl->limit;
    if (ok)
        s->count++;
    else if (retry_after_s)
        *retry_after_s =
            (unsigned)((s->window_start_us + rl->window_us - now_us + 999999) / 1000000);
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
