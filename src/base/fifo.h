/* A bounded FIFO of pointers (a ring), used for per-session event queues. Not thread-safe:
 * the owner locks around it. When full, push drops the OLDEST item (handing it to the
 * free callback) so a stalled reader sees the latest state, and counts the drop. */
#ifndef SB_BASE_FIFO_H
#define SB_BASE_FIFO_H

#include <stddef.h>
#include <stdint.h>

typedef void (*sb_fifo_free_fn)(void *item);

typedef struct sb_fifo {
    void **items;
    size_t cap;  /* the bound */
    size_t alloc; /* slots allocated so far (grows up to cap) */
    size_t head; /* index of the oldest */
    size_t len;
    uint64_t dropped;
    sb_fifo_free_fn free_item;
} sb_fifo_t;

void sb_fifo_init(sb_fifo_t *f, size_t cap, sb_fifo_free_fn free_item);
/* Frees every remaining item with the free callback. */
void sb_fifo_deinit(sb_fifo_t *f);
/* Takes ownership of item. Returns 1 when an old item was dropped to make room, else 0. */
int sb_fifo_push(sb_fifo_t *f, void *item);
/* Returns the oldest item (owned by the caller) or NULL when empty. */
void *sb_fifo_pop(sb_fifo_t *f);
static inline size_t sb_fifo_len(const sb_fifo_t *f)
{
    return f->len;
}

#endif
