/* Sessions: the signaling objects of the Janus API. A session owns its handles, a bounded
 * queue of events for long-polls, and optionally an event sink (a WebSocket connection)
 * that receives events pushed as they happen.
 *
 * Threads: any thread (transports, plugins, loops, the main loop's sweep). One lock for
 * the table of sessions, one per session; lock order: table, then session. No lock is
 * held while calling out (plugins, sinks, waiters). */
#ifndef SB_SESSION_SESSION_H
#define SB_SESSION_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "switchboard/refcount.h"

typedef struct sb_session sb_session_t;
typedef struct sb_handle sb_handle_t;

/* A transport connection that wants a session's events pushed to it (WebSocket).
 * Refcounted: the session holds a reference while the sink is attached. */
typedef struct sb_event_sink {
    sb_refcount_t ref;
    /* Any thread, no lock held. event is borrowed. Returns false when the sink cannot
     * take it (connection closing): the event then stays queued for a later claim. */
    bool (*deliver)(struct sb_event_sink *sink, json_t *event);
    /* Called when the last reference goes. */
    void (*release)(struct sb_event_sink *sink);
} sb_event_sink_t;

static inline void sb_event_sink_ref(sb_event_sink_t *s)
{
    sb_refcount_inc(&s->ref);
}

static inline void sb_event_sink_unref(sb_event_sink_t *s)
{
    if (s && sb_refcount_dec(&s->ref))
        s->release(s);
}

/* A long-poll waiting for events. wake() is called at most once per link, from any
 * thread, with no lock held, when an event arrives or the session goes. Owned by the
 * transport. */
typedef struct sb_session_waiter {
    void (*wake)(struct sb_session_waiter *w);
    /* Optional: called under the session lock right after linking, so a transport can
     * park its connection before any wake() can race ahead of it. Must not call out. */
    void (*on_linked)(struct sb_session_waiter *w);
    struct sb_session_waiter *prev, *next;
    bool linked;
} sb_session_waiter_t;

typedef struct sb_sessions_config {
    unsigned node_id;
    unsigned timeout_s; /* 0 = never time out */
    unsigned max_sessions;
    unsigned max_handles_per_session;
    unsigned event_queue_max;     /* events kept for long-polls; the oldest go first */
    size_t event_queue_max_bytes; /* the same, in serialized bytes (0 = no byte bound) */
} sb_sessions_config_t;

void sb_sessions_init(const sb_sessions_config_t *cfg);
/* Destroys every session (plugins see destroy_handle for each handle). */
void sb_sessions_deinit(void);

/* New session, registered in the table; returns an owned reference (the table holds its
 * own). SB_ENOMEM when max_sessions is reached, SB_ESTATE while new ones are refused
 * (sb_sessions_set_accepting). */
int sb_session_create(sb_event_sink_t *sink, sb_session_t **out);
/* The plugins' own session, with no client (made at first use): created even while new
 * sessions are refused, never timed out, any number of handles, its events dropped. An
 * owned reference; NULL once the sessions are gone (deinit). */
sb_session_t *sb_sessions_internal(void);
/* Owned reference or NULL. Does not count as activity. */
sb_session_t *sb_session_find(uint64_t id);
void sb_session_ref(sb_session_t *s);
void sb_session_unref(sb_session_t *s);
uint64_t sb_session_id(const sb_session_t *s);
bool sb_session_is_destroyed(sb_session_t *s);
/* Note activity: requests, polls and keepalives push the timeout back. */
void sb_session_touch(sb_session_t *s);

/* Remove from the table, detach every handle, wake every poll. Idempotent. */
void sb_session_destroy(sb_session_t *s);

/* Queue an event (reference stolen) or hand it to the sink. */
void sb_session_push(sb_session_t *s, json_t *event);
/* Up to max queued events into a new array (owned), oldest first; NULL when none. */
json_t *sb_session_take_events(sb_session_t *s, unsigned max);
/* Link a waiter unless events are already queued or the session is destroyed: returns
 * true when linked (the caller suspends), false when the caller should look again now.
 * With max_waiters > 0, linking one more than that many wakes the oldest waiter first
 * (newest polls win: a client that lost its connections gets its new poll served). */
bool sb_session_wait(sb_session_t *s, sb_session_waiter_t *w, unsigned max_waiters);
/* Unlink a waiter (timeout, connection gone). True when it was still linked, i.e. wake()
 * has not been and will not be called. */
bool sb_session_unwait(sb_session_t *s, sb_session_waiter_t *w);
/* Replace the event sink (claim). The new sink may be NULL (long-poll mode). */
void sb_session_set_sink(sb_session_t *s, sb_event_sink_t *sink);
/* Detach sink from every session that has it (its connection closed). */
void sb_sessions_drop_sink(sb_event_sink_t *sink);

/* Handles of a session. */
int sb_session_add_handle(sb_session_t *s, sb_handle_t *h);
/* Owned reference or NULL. */
sb_handle_t *sb_session_find_handle(sb_session_t *s, uint64_t handle_id);
/* Removes h from the session; returns true if it was there. */
bool sb_session_remove_handle(sb_session_t *s, sb_handle_t *h);

/* Time out idle sessions: each gets a "timeout" event, then is destroyed. Main loop. */
unsigned sb_sessions_sweep(void);
unsigned sb_sessions_count(void);
unsigned sb_sessions_timeout_s(void);

/* Run-time control (the Admin API, drain) and what /metrics reads. Any thread. */
void sb_sessions_set_timeout_s(unsigned s); /* 0: never */
void sb_sessions_set_accepting(bool accept);
bool sb_sessions_accepting(void);
unsigned sb_sessions_handles(void);           /* attached handles, every session */
uint64_t sb_sessions_events_dropped(void);    /* from long-poll queues, ever */
/* Ids of every session / of a session's handles, at the time of the call: an owned array
 * (sb_free) of *n ids. */
uint64_t *sb_sessions_list(size_t *n);
uint64_t *sb_session_handle_ids(sb_session_t *s, size_t *n);
int64_t sb_session_last_activity_us(sb_session_t *s);

#endif
