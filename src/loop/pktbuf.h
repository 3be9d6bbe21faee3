/* Packet buffers: fixed-size, refcounted, from a per-loop pool.
 *
 * A pool belongs to one thread (its owner: the loop that created it). Only the owner allocates.
 * Any thread may hold references and release them: the last release on the owner thread puts
 * the buffer back on the pool's freelist; a last release on another thread pushes it onto the
 * pool's lock-free return stack, which the owner takes back in one go when its freelist runs
 * dry. Buffers come in slabs; after warm-up, allocation and release never call malloc.
 *
 * The struct is public because the hot path reads data/len inline; the fields marked private
 * are the pool's. */
#ifndef SB_LOOP_PKTBUF_H
#define SB_LOOP_PKTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/refcount.h"

/* Bytes per buffer: a 1500-byte datagram plus SRTP/SRTCP trailer room (auth tag, MKI, SRTCP
 * index) and some slack for header extensions added on the way out. */
#define SB_PKTBUF_SIZE 1600
/* Buffers allocated at once when the pool grows. */
#define SB_PKTBUF_SLAB 64

typedef struct sb_pktbuf_pool sb_pktbuf_pool_t;

typedef struct sb_pktbuf {
    uint8_t *data;      /* first byte of the packet, inside buf; starts at buf */
    uint32_t len;       /* bytes at data; data + len <= buf + SB_PKTBUF_SIZE */
    uint32_t flags;     /* free for the user; 0 on allocation */
    int64_t arrival_us; /* free for the user (sb_now_us() at reception); 0 on allocation */
    /* private */
    sb_refcount_t refs;
    sb_pktbuf_pool_t *pool;
    struct sb_pktbuf *next;
    uint8_t buf[SB_PKTBUF_SIZE] __attribute__((aligned(16)));
} sb_pktbuf_t;

typedef struct sb_pktbuf_stats {
    unsigned slabs;          /* slab allocations so far (each is one malloc) */
    unsigned total;          /* buffers owned by the pool */
    unsigned free_local;     /* on the owner's freelist now */
    unsigned alloc_failures; /* sb_pktbuf_alloc returned NULL (max reached) */
    uint64_t remote_returns; /* buffers released on another thread, taken back */
} sb_pktbuf_stats_t;

/* New pool owned by the calling thread; at most max_buffers buffers (0: 65536). Returns 0 or
 * SB_EINVAL. */
int sb_pktbuf_pool_new(unsigned max_buffers, sb_pktbuf_pool_t **out);

/* Free the pool, on the owner thread (or any thread once the owner is gone). Every buffer must have
 * been released; if some are still held, the pool's memory is leaked on purpose (with a warning)
 * rather than freed under them. */
void sb_pktbuf_pool_free(sb_pktbuf_pool_t *pool);

/* A buffer with one reference, len 0, data at buf. Owner thread only. NULL when the pool holds
 * max_buffers and all are in use (the caller drops the packet and counts it). */
sb_pktbuf_t *sb_pktbuf_alloc(sb_pktbuf_pool_t *pool);

/* Owner thread only. */
void sb_pktbuf_pool_stats(sb_pktbuf_pool_t *pool, sb_pktbuf_stats_t *out);

void sb_pktbuf_release_(sb_pktbuf_t *buf);

/* Any thread. */
static inline sb_pktbuf_t *sb_pktbuf_ref(sb_pktbuf_t *buf)
{
    sb_refcount_inc(&buf->refs);
    return buf;
}

/* Any thread; the buffer must not be touched after its last unref. */
static inline void sb_pktbuf_unref(sb_pktbuf_t *buf)
{
    if (sb_refcount_dec(&buf->refs))
        sb_pktbuf_release_(buf);
}

/* Bytes that fit after data (for a trailer or a rewrite). */
static inline size_t sb_pktbuf_room(const sb_pktbuf_t *buf)
{
    return (size_t)(buf->buf + SB_PKTBUF_SIZE - buf->data);
}

#endif
