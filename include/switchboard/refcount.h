/* Reference counts with C11 atomics, for objects that truly have several holders
 * (packet buffers, core<->plugin bindings, cross-loop messages). Any thread. */
#ifndef SWITCHBOARD_REFCOUNT_H
#define SWITCHBOARD_REFCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct sb_refcount {
    atomic_uint count;
} sb_refcount_t;

static inline void sb_refcount_init(sb_refcount_t *rc)
{
    atomic_init(&rc->count, 1);
}

static inline void sb_refcount_inc(sb_refcount_t *rc)
{
    atomic_fetch_add_explicit(&rc->count, 1, memory_order_relaxed);
}

/* True when this was the last reference: the caller frees the object. */
static inline bool sb_refcount_dec(sb_refcount_t *rc)
{
    if (atomic_fetch_sub_explicit(&rc->count, 1, memory_order_acq_rel) == 1)
        return true;
    return false;
}

#endif
