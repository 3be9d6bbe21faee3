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
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_FDWATCH_BATCH 64
#define SB_FDWATCH_FOREIGN_MAX 16 /* the context's own fds (GLib's wake-up, a mailbox...) */
#define SB_FDWATCH_POLLERS 4      /* watches owning their context's poll, per thread */

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
    /* Owning the context's poll (sb_fdwatch_own_poll): the context's other fds sit in the
     * same epoll, and what one epoll_wait found for the entries waits here for dispatch. */
    GMainContext *poll_ctx;
    struct epoll_event pending[SB_FDWATCH_BATCH];
    int n_pending; /* -1: nothing stashed (dispatch waits itself) */
    struct {
        int fd;
        gushort events;
        unsigned gen;
    } foreign[SB_FDWATCH_FOREIGN_MAX];
    unsigned n_foreign, gen;
    uint64_t waits; /* epoll_wait calls (tests) */
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
    struct epoll_event own[SB_FDWATCH_BATCH], *ev = own;
    int n;
    if (w->n_pending >= 0) { /* the context's poll waited for us */
        n = w->n_pending;
        memcpy(own, w->pending, (size_t)n * sizeof(*own));
        w->n_pending = -1;
    } else {
        n = epoll_wait(w->epfd, ev, SB_FDWATCH_BATCH, 0);
        w->waits++;
    }
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

/* ---- owning the context's poll ------------------------------------------------------------ */

/* A GPollFunc has no user data: the watches owning a context's poll on this thread, told apart
 * by their epoll fd among the fds GLib hands over. */
static _Thread_local sb_fdwatch_t *sb_fdwatch_pollers[SB_FDWATCH_POLLERS];

/* epoll data of a context fd: odd (entries are pointers, even). */
#define SB_FDWATCH_FOREIGN_TAG(fd) (((uint64_t)(uint32_t)(fd) << 1) | 1u)

static uint32_t sb_fdwatch_to_epoll(gushort events)
{
    return ((events & G_IO_IN) ? EPOLLIN : 0) | ((events & G_IO_OUT) ? EPOLLOUT : 0) |
           ((events & G_IO_PRI) ? EPOLLPRI : 0);
}

static gushort sb_fdwatch_to_glib(uint32_t events)
{
    return (gushort)(((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0) |
                     ((events & EPOLLPRI) ? G_IO_PRI : 0) | ((events & EPOLLERR) ? G_IO_ERR : 0) |
                     ((events & EPOLLHUP) ? G_IO_HUP : 0));
}

/* The context's fds into the epoll (added, changed), those it no longer polls out. False when
 * one cannot be watched there: the caller polls the plain way. */
static bool sb_fdwatch_sync_foreign(sb_fdwatch_t *w, const GPollFD *fds, guint nfds)
{
    w->gen++;
    for (guint i = 0; i < nfds; i++) {
        if (fds[i].fd == w->epfd || fds[i].fd < 0)
            continue;
        unsigned k = 0;
        while (k < w->n_foreign && w->foreign[k].fd != fds[i].fd)
            k++;
        struct epoll_event ev = {.events = sb_fdwatch_to_epoll(fds[i].events),
                                 .data.u64 = SB_FDWATCH_FOREIGN_TAG(fds[i].fd)};
        if (k == w->n_foreign) {
            if (k == SB_FDWATCH_FOREIGN_MAX || epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i].fd, &ev))
                return false;
            w->foreign[w->n_foreign++].fd = fds[i].fd;
        } else if (w->foreign[k].events != fds[i].events &&
                   epoll_ctl(w->epfd, EPOLL_CTL_MOD, fds[i].fd, &ev)) {
            return false;
        }
        w->foreign[k].events = fds[i].events;
        w->foreign[k].gen = w->gen;
    }
    for (unsigned k = 0; k < w->n_foreign;) {
        if (w->foreign[k].gen == w->gen) {
            k++;
            continue;
        }
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->foreign[k].fd, NULL);
        w->foreign[k] = w->foreign[--w->n_foreign];
    }
    return true;
}

/* One epoll_wait for the whole context: its own fds' readiness goes back to GLib, the
 * entries' waits for the watch's dispatch (the epoll fd's GPollFD reads ready then). */
static gint sb_fdwatch_poll_with(sb_fdwatch_t *w, GPollFD *fds, guint nfds, gint timeout)
{
    struct epoll_event ev[SB_FDWATCH_BATCH];
    int n = epoll_wait(w->epfd, ev, SB_FDWATCH_BATCH, timeout);
    w->waits++;
    if (n < 0)
        return -1; /* errno: EINTR, which GLib expects of poll */
    for (guint i = 0; i < nfds; i++)
        fds[i].revents = 0;
    /* A stash GLib did not dispatch is dropped: level-triggered, its fds are in ev again. */
    int own = 0;
    for (int j = 0; j < n; j++) {
        if (!(ev[j].data.u64 & 1u)) {
            if (own < SB_FDWATCH_BATCH)
                w->pending[own++] = ev[j];
            continue;
        }
        int fd = (int)(uint32_t)(ev[j].data.u64 >> 1);
        for (guint i = 0; i < nfds; i++) {
            if (fds[i].fd == fd)
                fds[i].revents = sb_fdwatch_to_glib(ev[j].events) & (fds[i].events | G_IO_ERR |
                                                                     G_IO_HUP | G_IO_NVAL);
        }
    }
    w->n_pending = own ? own : -1;
    gint ready = 0;
    for (guint i = 0; i < nfds; i++) {
        if (fds[i].fd == w->epfd && own)
            fds[i].revents = G_IO_IN;
        ready += fds[i].revents != 0;
    }
    return ready;
}

static gint sb_fdwatch_poll(GPollFD *fds, guint nfds, gint timeout)
{
    for (unsigned p = 0; p < SB_FDWATCH_POLLERS; p++) {
        sb_fdwatch_t *w = sb_fdwatch_pollers[p];
        if (!w)
            continue;
        for (guint i = 0; i < nfds; i++) {
            if (fds[i].fd == w->epfd)
                return sb_fdwatch_sync_foreign(w, fds, nfds) ? sb_fdwatch_poll_with(w, fds, nfds,
                                                                                  timeout)
                                                            : g_poll(fds, nfds, timeout);
        }
    }
    return g_poll(fds, nfds, timeout);
}

bool sb_fdwatch_own_poll(sb_fdwatch_t *w)
{
    for (unsigned p = 0; p < SB_FDWATCH_POLLERS; p++) {
        if (!sb_fdwatch_pollers[p]) {
            sb_fdwatch_pollers[p] = w;
            w->poll_ctx = g_source_get_context(w->source);
            g_main_context_set_poll_func(w->poll_ctx, sb_fdwatch_poll);
            return true;
        }
    }
    return false;
}

void sb_fdwatch_release_poll(sb_fdwatch_t *w)
{
    if (!w->poll_ctx)
        return;
    g_main_context_set_poll_func(w->poll_ctx, NULL);
    w->poll_ctx = NULL;
    for (unsigned p = 0; p < SB_FDWATCH_POLLERS; p++) {
        if (sb_fdwatch_pollers[p] == w)
            sb_fdwatch_pollers[p] = NULL;
    }
    for (unsigned k = 0; k < w->n_foreign; k++)
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->foreign[k].fd, NULL);
    w->n_foreign = 0;
}

uint64_t sb_fdwatch_waits(const sb_fdwatch_t *w)
{
    return w->waits;
}

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
    w->n_pending = -1;
    w->source = g_source_new(&sb_fdwatch_funcs, sizeof(sb_fdwatch_source_t));
    ((sb_fdwatch_source_t *)w->source)->watch = w;
    g_source_set_name(w->source, "sb-fdwatch");
    /* GLib takes a source's fds out of its poll set around each dispatch unless it may
     * recurse, and each removal and re-addition writes the context's wake-up eventfd: two
     * write(2)s per wake-up, and a read(2) and a spurious wake-up after. Our dispatch never
     * iterates the context again, so recursion costs nothing. */
    g_source_set_can_recurse(w->source, TRUE);
    g_source_add_unix_fd(w->source, epfd, G_IO_IN);
    g_source_attach(w->source, ctx);
    *out = w;
    return 0;
}

void sb_fdwatch_free(sb_fdwatch_t *w)
{
    if (!w)
        return;
    sb_fdwatch_release_poll(w);
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

bool sb_fdwatch_entry_active(const sb_fdwatch_t *w, const sb_fdwatch_entry_t *e)
{
    return (size_t)e->fd < w->n_by_fd && w->by_fd[e->fd] == e;
}

int sb_fdwatch_firing_fd(const sb_fdwatch_t *w)
{
    return w->firing_fd;
}

unsigned sb_fdwatch_count(const sb_fdwatch_t *w)
{
    return w->count;
}
