/* Bounded pointer FIFO (see fifo.h). Storage grows geometrically up to the bound, so an
 * idle session costs a few slots, not the whole bound. */
#include "base/fifo.h"

#include <string.h>

#include "switchboard/alloc.h"

void sb_fifo_init(sb_fifo_t *f, size_t cap, sb_fifo_free_fn free_item)
{
    memset(f, 0, sizeof(*f));
    f->cap = cap ? cap : 1;
    f->free_item = free_item;
}

void sb_fifo_deinit(sb_fifo_t *f)
{
    void *item;
    while ((item = sb_fifo_pop(f)) != NULL) {
        if (f->free_item)
            f->free_item(item);
    }
    sb_free(f->items);
    f->items = NULL;
    f->alloc = 0;
}

/* Grow the ring, unrolling it so the oldest item lands at index 0. */
static void sb_fifo_grow(sb_fifo_t *f)
{
    size_t alloc = f->alloc ? f->alloc * 2 : 8;
    if (alloc > f->cap)
        alloc = f->cap;
    void **items = sb_malloc(alloc * sizeof(*items));
    for (size_t i = 0; i < f->len; i++)
        items[i] = f->items[(f->head + i) % f->alloc];
    sb_free(f->items);
    f->items = items;
    f->alloc = alloc;
    f->head = 0;
}

int sb_fifo_push(sb_fifo_t *f, void *item)
{
    int dropped = 0;
    if (f->len == f->cap) {
        void *old = sb_fifo_pop(f);
        if (f->free_item)
            f->free_item(old);
        f->dropped++;
        dropped = 1;
    }
    if (f->len == f->alloc)
        sb_fifo_grow(f);
    f->items[(f->head + f->len) % f->alloc] = item;
    f->len++;
    return dropped;
}

void *sb_fifo_pop(sb_fifo_t *f)
{
    if (f->len == 0)
        return NULL;
    void *item = f->items[f->head];
    f->head = (f->head + 1) % f->alloc;
    f->len--;
    return item;
}
