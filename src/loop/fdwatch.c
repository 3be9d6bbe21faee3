/* One epoll fd as one GSource (see fdwatch.h).
 *
 * Entries are owned by the watch. epoll's data points at the entry; an entry removed while a
 * dispatch may still hold it in its event array is only marked dead and freed when the
 * outermost dispatch ends. fd numbers are looked up in a small table (fd → owning entry) so
 * that a removal never deletes a registration that a newer entry made after the fd was closed
 * and its number reused.
 *
 * Thread: the thread iterating the context. */
#include "loop/fdwatch.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_FDWATCH_BATCH 64

struct sb_fdwatch_entry {
    int fd;
    sb_fdwatch_fn fn;
    void *arg;
    bool dead;
    sb_fdwatch_entry_t *prev, *next; /* live entries; next alone links the dead list */
};

typedef struct sb_fdwatch_source {
    GSource base;
    sb_fdwatch_t *watch;
} sb_fdwatch_source_t;

/* Owned by its creator; the context's thread only. */
struct sb_fdwatch {
    int epfd;
    GSource *source;
    sb_fdwatch_entry_t **by_fd; /* fd → the entry whose registration is live */
    size_t n_by_fd;
    sb_fdwatch_entry_t *live; /* every entry not removed */
    unsigned count;
    unsigned dispatching;     /* nesting depth of dispatch */
    int firing_fd;            /* the fd whose callback runs, -1 outside one */
    sb_fdwatch_entry_t *dead; /* removed during a dispatch, freed after it */
};

static void sb_fdwatch_reap(sb_fdwatch_t *w)
{
    while (w->dead) {
        sb_fdwatch_entry_t *e = w->dead;
        w->dead = e->next;
        sb_free(e);
    }
}

static gboolean sb_fdwatch_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    (void)cb;
    (void)data;
    sb_fdwatch_t *w = ((sb_fdwatch_source_t *)source)->watch;
    struct epoll_event ev[SB_FDWATCH_BATCH];
    int n = epoll_wait(w->epfd, ev, SB_FDWATCH_BATCH, 0);
    w->dispatching++;
    for (int i = 0; i < n; i++) {
        sb_fdwatch_entry_t *e = ev[i].data.ptr;
        if (e->dead)
            continue;
        int outer = w->firing_fd;
        w->firing_fd = e->fd;
        e->fn(e->arg);
        w->firing_fd = outer;
    }
    if (--w->dispatching == 0)
        sb_fdwatch_reap(w);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs sb_fdwatch_funcs = {
    .dispatch = sb_fdwatch_dispatch,
};

int sb_fdwatch_new(GMainContext *ctx, sb_fdwatch_t **out)
{
    *out = NULL;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        SB_ERROR("loop", "epoll_create1: %s", strerror(errno));
        return SB_EIO;
    }
    sb_fdwatch_t *w = SB_NEW(sb_fdwatch_t);
    w->epfd = epfd;
    w->firing_fd = -1;
    w->source = g_source_new(&sb_fdwatch_funcs, sizeof(sb_fdwatch_source_t));
    ((sb_fdwatch_source_t *)w->source)->watch = w;
    g_source_set_name(w->source, "sb-fdwatch");
    g_source_add_unix_fd(w->source, epfd, G_IO_IN);
    g_source_attach(w->source, ctx);
    *out = w;
    return 0;
}

void sb_fdwatch_free(sb_fdwatch_t *w)
{
    if (!w)
        return;
    g_source_destroy(w->source);
    g_source_unref(w->source);
    while (w->live) {
        sb_fdwatch_entry_t *e = w->live;
        w->live = e->next;
        sb_free(e);
    }
    sb_fdwatch_reap(w);
    sb_free(w->by_fd);
    close(w->epfd);
    sb_free(w);
}

static void sb_fdwatch_grow(sb_fdwatch_t *w, int fd)
{
    if ((size_t)fd < w->n_by_fd)
        return;
    size_t n = w->n_by_fd ? w->n_by_fd : 64;
    while (n <= (size_t)fd)
        n *= 2;
    w->by_fd = sb_realloc(w->by_fd, n * sizeof(*w->by_fd));
    memset(w->by_fd + w->n_by_fd, 0, (n - w->n_by_fd) * sizeof(*w->by_fd));
    w->n_by_fd = n;
}

sb_fdwatch_entry_t *sb_fdwatch_add(sb_fdwatch_t *w, int fd, sb_fdwatch_fn fn, void *arg)
{
    if (fd < 0 || !fn)
        return NULL;
    sb_fdwatch_entry_t *e = SB_NEW(sb_fdwatch_entry_t);
    *e = (sb_fdwatch_entry_t){.fd = fd, .fn = fn, .arg = arg};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
    int rc = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && errno == EEXIST) /* an older entry's registration: the new one takes it */
        rc = epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
    if (rc != 0) {
        SB_WARN("loop", "cannot watch fd %d: %s", fd, strerror(errno));
        sb_free(e);
        return NULL;
    }
    sb_fdwatch_grow(w, fd);
    w->by_fd[fd] = e;
    e->next = w->live;
    if (w->live)
        w->live->prev = e;
    w->live = e;
    w->count++;
    return e;
}

void sb_fdwatch_remove(sb_fdwatch_t *w, sb_fdwatch_entry_t *e)
{
    if (!e)
        return;
    if ((size_t)e->fd < w->n_by_fd && w->by_fd[e->fd] == e) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, e->fd, NULL); /* ENOENT/EBADF: closed already */
        w->by_fd[e->fd] = NULL;
    }
    if (e->prev)
        e->prev->next = e->next;
    else
        w->live = e->next;
    if (e->next)
        e->next->prev = e->prev;
    w->count--;
    if (w->dispatching) {
        e->dead = true;
        e->next = w->dead;
        w->dead = e;
    } else {
        sb_free(e);
    }
}

int sb_fdwatch_firing_fd(const sb_fdwatch_t *w)
{
    return w->firing_fd;
}

unsigned sb_fdwatch_count(const sb_fdwatch_t *w)
{
    return w->count;
}
