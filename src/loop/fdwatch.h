/* Readiness of many file descriptors through one epoll fd, seen by GLib as a single source.
 *
 * Why: GLib walks every source of a context (prepare, query, check) and polls every fd at each
 * iteration, so a media loop with one socket source per PeerConnection pays O(peers) for every
 * packet that wakes it. Behind a watch, the sockets cost one fd in GLib's poll set and
 * epoll_wait hands back only the ready ones.
 *
 * Level-triggered, readable only. A callback may add or remove any entry, its own included;
 * an entry removed during a dispatch is never called again, even if it was already ready.
 *
 * Thread: the thread iterating ctx, for every call and callback (new and free included). */
#ifndef SB_LOOP_FDWATCH_H
#define SB_LOOP_FDWATCH_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sb_fdwatch sb_fdwatch_t;
typedef struct sb_fdwatch_entry sb_fdwatch_entry_t;
typedef void (*sb_fdwatch_fn)(void *arg);

/* A watch attached to ctx. Returns 0 and *out (owned), or SB_EIO (epoll_create1 failed). */
int sb_fdwatch_new(GMainContext *ctx, sb_fdwatch_t **out);
/* Detaches and frees the watch and any entry still in it (their fds stay open). */
void sb_fdwatch_free(sb_fdwatch_t *w);

/* Calls fn(arg) on ctx's thread while fd is readable (or in error). The fd stays the caller's.
 * Returns the entry (owned by the watch until sb_fdwatch_remove), NULL when epoll refuses the
 * fd. If fd's number was closed and reused since an older entry took it, the new entry wins
 * and the old one stays silent until removed. */
sb_fdwatch_entry_t *sb_fdwatch_add(sb_fdwatch_t *w, int fd, sb_fdwatch_fn fn, void *arg);
/* Stops watching; call before closing the fd when possible (a closed fd leaves epoll by
 * itself). NULL is a no-op. */
void sb_fdwatch_remove(sb_fdwatch_t *w, sb_fdwatch_entry_t *e);

/* Whether e still has its fd: false once a newer entry took the same fd number. */
bool sb_fdwatch_entry_active(const sb_fdwatch_t *w, const sb_fdwatch_entry_t *e);
/* Inside a callback: the fd found readable (a callback shared by several fds tells them
 * apart); -1 outside one. */
int sb_fdwatch_firing_fd(const sb_fdwatch_t *w);
/* Makes the watch poll its whole context, on the calling thread, which must be the one
 * iterating it: GLib's other fds go into the same epoll, and a wake-up is one epoll_wait
 * (GLib's poll(2) and the watch's own epoll_wait were two). False when this thread already
 * has SB_FDWATCH_POLLERS such watches (then it stays as it was). Undone by free. */
bool sb_fdwatch_own_poll(sb_fdwatch_t *w);
void sb_fdwatch_release_poll(sb_fdwatch_t *w);
/* epoll_wait calls so far (tests). */
uint64_t sb_fdwatch_waits(const sb_fdwatch_t *w);
/* Entries being watched (tests and stats). */
unsigned sb_fdwatch_count(const sb_fdwatch_t *w);

#endif
