/* Packet buffer pools (see pktbuf.h).
 *
 * Owner thread: a singly linked freelist, no atomics. Other threads: a Treiber stack of
 * returned buffers (CAS push); the owner takes the whole stack with one exchange, so there is
 * a single popper and no ABA problem. Slabs are never returned to malloc while the pool lives.
 *
 * Does not: shrink, zero buffers, or allocate for any thread but the owner. */
#include "loop/pktbuf.h"

#include <stdatomic.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_PKTBUF_DEFAULT_MAX 65536u

typedef struct sb_pktbuf_slab {
    struct sb_pktbuf_slab *next;
    sb_pktbuf_t bufs[SB_PKTBUF_SLAB];
} sb_pktbuf_slab_t;

/* Owned by its loop; owner thread only, except remote_head (any thread). */
struct sb_pktbuf_pool {
    sb_pktbuf_t *free_head; /* owner's freelist */
    unsigned free_count;
    unsigned total;
    unsigned max;
    unsigned slabs;
    unsigned alloc_failures;
    uint64_t remote_returns;
    sb_pktbuf_slab_t *slab_list;
    _Alignas(64) _Atomic(sb_pktbuf_t *) remote_head; /* own cache line: remote threads write it */
};

/* The pool owned by this thread, so a release here takes the cheap path. */
static _Thread_local sb_pktbuf_pool_t *sb_pktbuf_owned;

int sb_pktbuf_pool_new(unsigned max_buffers, sb_pktbuf_pool_t **out)
{
    if (!out)
        return SB_EINVAL;
    sb_pktbuf_pool_t *pool = SB_NEW(sb_pktbuf_pool_t);
    pool->max = max_buffers ? max_buffers : SB_PKTBUF_DEFAULT_MAX;
    atomic_init(&pool->remote_head, NULL);
    sb_pktbuf_owned = pool;
    *out = pool;
    return 0;
}

/* Take back everything other threads returned. */
static void sb_pktbuf_pool_collect(sb_pktbuf_pool_t *pool)
{
    sb_pktbuf_t *head = atomic_exchange_explicit(&pool->remote_head, NULL, memory_order_acquire);
    while (head) {
        sb_pktbuf_t *next = head->next;
        head->next = pool->free_head;
        pool->free_head = head;
        pool->free_count++;
        pool->remote_returns++;
        head = next;
    }
}

static bool sb_pktbuf_pool_grow(sb_pktbuf_pool_t *pool)
{
    if (pool->total + SB_PKTBUF_SLAB > pool->max)
        return false;
    sb_pktbuf_slab_t *slab = sb_malloc(sizeof(*slab));
    slab->next = pool->slab_list;
    pool->slab_list = slab;
    for (unsigned i = 0; i < SB_PKTBUF_SLAB; i++) {
        sb_pktbuf_t *b = &slab->bufs[i];
        b->pool = pool;
        b->next = pool->free_head;
        pool->free_head = b;
    }
    pool->free_count += SB_PKTBUF_SLAB;
    pool->total += SB_PKTBUF_SLAB;
    pool->slabs++;
    return true;
}

sb_pktbuf_t *sb_pktbuf_alloc(sb_pktbuf_pool_t *pool)
{
    if (!pool->free_head) {
        sb_pktbuf_pool_collect(pool);
        if (!pool->free_head && !sb_pktbuf_pool_grow(pool)) {
            pool->alloc_failures++;
            return NULL;
        }
    }
    sb_pktbuf_t *b = pool->free_head;
    pool->free_head = b->next;
    pool->free_count--;
    b->next = NULL;
    b->data = b->buf;
    b->len = 0;
    b->flags = 0;
    b->arrival_us = 0;
    sb_refcount_init(&b->refs);
    return b;
}

void sb_pktbuf_release_(sb_pktbuf_t *buf)
{
    sb_pktbuf_pool_t *pool = buf->pool;
    if (pool == sb_pktbuf_owned) {
        buf->next = pool->free_head;
        pool->free_head = buf;
        pool->free_count++;
        return;
    }
    /* Release ordering publishes our last writes to the buffer before the owner reuses it. */
    sb_pktbuf_t *head = atomic_load_explicit(&pool->remote_head, memory_order_relaxed);
    do {
        buf->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&pool->remote_head, &head, buf,
                                                    memory_order_release, memory_order_relaxed));
}

void sb_pktbuf_pool_stats(sb_pktbuf_pool_t *pool, sb_pktbuf_stats_t *out)
{
    sb_pktbuf_pool_collect(pool);
    out->slabs = pool->slabs;
    out->total = pool->total;
    out->free_local = pool->free_count;
    out->alloc_failures = pool->alloc_failures;
    out->remote_returns = pool->remote_returns;
}

void sb_pktbuf_pool_free(sb_pktbuf_pool_t *pool)
{
    if (!pool)
        return;
    sb_pktbuf_pool_collect(pool);
    if (sb_pktbuf_owned == pool)
        sb_pktbuf_owned = NULL;
    if (pool->free_count != pool->total) {
        SB_WARN("pktbuf", "pool freed with %u of %u buffers still held: leaking it",
                pool->total - pool->free_count, pool->total);
        return;
    }
    sb_pktbuf_slab_t *slab = pool->slab_list;
    while (slab) {
        sb_pktbuf_slab_t *next = slab->next;
        sb_free(slab);
        slab = next;
    }
    sb_free(pool);
}
