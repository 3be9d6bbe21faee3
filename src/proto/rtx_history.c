/* Retransmission history (see rtx_history.h).
 *
 * Sequence numbers are extended to 64 bits against the newest stored one, so the wrap from
 * 65535 to 0 is invisible and a slot's occupant is identified exactly. Slots are overwritten
 * lazily: a stale occupant (from a previous lap of the ring, or before a jump) is released when
 * its slot is reused, on reset, on expire or on free; a lookup never matches it.
 *
 * Does not: parse RTP, build RTX packets (RFC 4588), or decide whom to answer. Sans-IO;
 * one owner thread. */
#include "proto/rtx_history.h"

#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"

#define SB_RTX_DEFAULT_CAPACITY 512u
#define SB_RTX_MAX_CAPACITY 32768u
#define SB_RTX_DEFAULT_AGE_US 1000000
#define SB_RTX_DEFAULT_RESEND_US 10000

typedef struct sb_rtx_slot {
    const uint8_t *data;
    size_t len;
    void *handle;
    int64_t ext_seq;
    int64_t arrival_us;
    int64_t last_resend_us;
    uint32_t ssrc;
    unsigned resends;
    bool used;
} sb_rtx_slot_t;

/* Owned by the publisher stream; its loop only. */
struct sb_rtx_history {
    sb_rtx_slot_t *slots;
    unsigned capacity; /* power of two */
    unsigned mask;
    int64_t max_age_us;
    int64_t min_resend_us;
    sb_rtx_release_fn release;
    void *release_ctx;
    bool started;
    int64_t newest; /* extended seq of the newest stored packet */
    sb_rtx_history_stats_t stats;
};

int sb_rtx_history_new(const sb_rtx_history_config_t *cfg, sb_rtx_history_t **out)
{
    sb_rtx_history_config_t c = {0};
    if (cfg)
        c = *cfg;
    unsigned want = c.capacity ? c.capacity : SB_RTX_DEFAULT_CAPACITY;
    if (want > SB_RTX_MAX_CAPACITY || c.max_age_us < 0 || c.min_resend_us < 0)
        return SB_EINVAL;
    unsigned cap = 1;
    while (cap < want)
        cap <<= 1;
    sb_rtx_history_t *h = SB_NEW(sb_rtx_history_t);
    h->slots = sb_calloc(cap, sizeof(*h->slots));
    h->capacity = cap;
    h->mask = cap - 1;
    h->max_age_us = c.max_age_us ? c.max_age_us : SB_RTX_DEFAULT_AGE_US;
    h->min_resend_us = c.min_resend_us ? c.min_resend_us : SB_RTX_DEFAULT_RESEND_US;
    h->release = c.release;
    h->release_ctx = c.release_ctx;
    *out = h;
    return 0;
}

static void sb_rtx_slot_clear(sb_rtx_history_t *h, sb_rtx_slot_t *s)
{
    if (!s->used)
        return;
    s->used = false;
    if (h->release)
        h->release(h->release_ctx, s->handle);
    s->handle = NULL;
    s->data = NULL;
}

void sb_rtx_history_reset(sb_rtx_history_t *h)
{
    for (unsigned i = 0; i < h->capacity; i++)
        sb_rtx_slot_clear(h, &h->slots[i]);
    h->started = false;
    h->newest = 0;
}

void sb_rtx_history_free(sb_rtx_history_t *h)
{
    if (!h)
        return;
    sb_rtx_history_reset(h);
    sb_free(h->slots);
    sb_free(h);
}

/* Extend seq against the newest: up to 32767 ahead is newer, else older (RFC 3550 A.1 idea). */
static int64_t sb_rtx_extend(const sb_rtx_history_t *h, uint16_t seq)
{
    int16_t diff = (int16_t)(uint16_t)(seq - (uint16_t)h->newest);
    return h->newest + diff;
}

int sb_rtx_history_put(sb_rtx_history_t *h, uint16_t seq, uint32_t ssrc, const uint8_t *data,
                       size_t len, void *handle, int64_t now_us)
{
    if (!h->started) {
        h->started = true;
        /* Start one lap up so extended numbers of late packets stay positive. */
        h->newest = 0x10000 + seq;
    }
    int64_t ext = sb_rtx_extend(h, seq);
    if (ext <= h->newest - (int64_t)h->capacity) {
        h->stats.rejected++;
        return SB_ERANGE;
    }
    sb_rtx_slot_t *s = &h->slots[ext & h->mask];
    if (s->used && s->ext_seq == ext) {
        h->stats.rejected++;
        return SB_EEXIST;
    }
    sb_rtx_slot_clear(h, s); /* stale occupant from an earlier lap */
    if (ext > h->newest)
        h->newest = ext;
    *s = (sb_rtx_slot_t){
        .data = data,
        .len = len,
        .handle = handle,
        .ext_seq = ext,
        .arrival_us = now_us,
        .ssrc = ssrc,
        .used = true,
    };
    h->stats.stored++;
    return 0;
}

int sb_rtx_history_lookup(sb_rtx_history_t *h, uint16_t seq, int64_t now_us, sb_rtx_entry_t *out)
{
    if (!h->started) {
        h->stats.misses++;
        return SB_ENOENT;
    }
    int64_t ext = sb_rtx_extend(h, seq);
    sb_rtx_slot_t *s = &h->slots[ext & h->mask];
    if (ext > h->newest || ext <= h->newest - (int64_t)h->capacity || !s->used ||
        s->ext_seq != ext || now_us - s->arrival_us > h->max_age_us) {
        h->stats.misses++;
        return SB_ENOENT;
    }
    if (s->resends > 0 && now_us - s->last_resend_us < h->min_resend_us) {
        h->stats.throttled++;
        return SB_EAGAIN;
    }
    s->resends++;
    s->last_resend_us = now_us;
    h->stats.hits++;
    *out = (sb_rtx_entry_t){
        .data = s->data,
        .len = s->len,
        .handle = s->handle,
        .seq = seq,
        .ssrc = s->ssrc,
        .arrival_us = s->arrival_us,
        .resends = s->resends,
    };
    return 0;
}

unsigned sb_rtx_history_expire(sb_rtx_history_t *h, int64_t now_us)
{
    unsigned n = 0;
    for (unsigned i = 0; i < h->capacity; i++) {
        sb_rtx_slot_t *s = &h->slots[i];
        if (s->used && now_us - s->arrival_us > h->max_age_us) {
            sb_rtx_slot_clear(h, s);
            n++;
        }
    }
    return n;
}

void sb_rtx_history_stats(const sb_rtx_history_t *h, sb_rtx_history_stats_t *out)
{
    *out = h->stats;
}
