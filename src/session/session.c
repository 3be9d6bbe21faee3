/* Sessions table, event queues and long-poll waiters (see session.h).
 * Does not know HTTP or WebSocket: transports plug in through waiters and sinks. */
#include "session/session.h"

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/fifo.h"
#include "switchboard/id.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "peer/events.h"
#include "session/handle.h"

/* Owned by the table (one reference) and by whoever looked it up. */
struct sb_session {
    uint64_t id;
    sb_refcount_t ref;
    atomic_llong last_activity_us;
    pthread_mutex_t lock; /* guards everything below */
    bool destroyed;
    bool timed_out; /* event handlers heard "timeout": no "destroyed" after it */
    bool internal;  /* the plugins' own (sb_session_create_internal): set at creation */
    sb_fifo_t events;     /* json_t* not yet polled */
    size_t event_bytes;   /* their serialized size */
    uint64_t events_dropped;
    sb_session_waiter_t *waiters; /* doubly linked, oldest first */
    sb_event_sink_t *sink;
    sb_handle_t **handles; /* references; bounded by max_handles_per_session */
    unsigned nhandles;
};

static struct {
    pthread_mutex_t lock; /* guards table */
    GHashTable *table;    /* uint64 id -> sb_session_t* */
    sb_sessions_config_t cfg;
    /* What the Admin API changes at run time, and what /metrics reads: any thread. */
    atomic_uint timeout_s;
    atomic_bool refusing; /* accept_new_sessions false, or draining */
    atomic_uint handles;  /* attached to a session, every session together */
    atomic_ullong events_dropped;
    sb_session_t *internal; /* the plugins' own, once made (the table's reference) */
} sb_sessions = {.lock = PTHREAD_MUTEX_INITIALIZER};

static guint sb_session_id_hash(gconstpointer key)
{
    uint64_t id = *(const uint64_t *)key;
    return (guint)(id ^ (id >> 32));
}

static gboolean sb_session_id_equal(gconstpointer a, gconstpointer b)
{
    return *(const uint64_t *)a == *(const uint64_t *)b;
}

void sb_sessions_init(const sb_sessions_config_t *cfg)
{
    pthread_mutex_lock(&sb_sessions.lock);
    sb_sessions.cfg = *cfg;
    atomic_store(&sb_sessions.timeout_s, cfg->timeout_s);
    atomic_store(&sb_sessions.refusing, false);
    if (!sb_sessions.table)
        sb_sessions.table = g_hash_table_new(sb_session_id_hash, sb_session_id_equal);
    pthread_mutex_unlock(&sb_sessions.lock);
}

unsigned sb_sessions_timeout_s(void)
{
    return atomic_load(&sb_sessions.timeout_s);
}

void sb_sessions_set_timeout_s(unsigned s)
{
    atomic_store(&sb_sessions.timeout_s, s);
}

void sb_sessions_set_accepting(bool accept)
{
    atomic_store(&sb_sessions.refusing, !accept);
}

bool sb_sessions_accepting(void)
{
    return !atomic_load(&sb_sessions.refusing);
}

unsigned sb_sessions_handles(void)
{
    return atomic_load(&sb_sessions.handles);
}

uint64_t sb_sessions_events_dropped(void)
{
    return atomic_load(&sb_sessions.events_dropped);
}

static void sb_session_free_event(void *ev)
{
    json_decref(ev);
}

static size_t sb_session_event_size(const json_t *ev)
{
    return json_dumpb(ev, NULL, 0, JSON_COMPACT);
}

/* Oldest queued event (owned), or NULL. Session lock held. */
static json_t *sb_session_queue_pop(sb_session_t *s)
{
    json_t *ev = sb_fifo_pop(&s->events);
    if (ev)
        s->event_bytes -= sb_session_event_size(ev);
    return ev;
}

/* Queues ev (reference stolen), dropping the oldest events while the queue is over its
 * bound in events or in bytes: a session nobody polls keeps only its latest state. The
 * newest event is always kept. Session lock held. */
static void sb_session_queue_push(sb_session_t *s, json_t *ev)
{
    size_t bytes = sb_session_event_size(ev);
    size_t max_bytes = sb_sessions.cfg.event_queue_max_bytes;
    uint64_t dropped = 0;
    while (sb_fifo_len(&s->events) &&
           (sb_fifo_len(&s->events) >= s->events.cap ||
            (max_bytes && s->event_bytes + bytes > max_bytes))) {
        json_decref(sb_session_queue_pop(s));
        dropped++;
    }
    sb_fifo_push(&s->events, ev);
    s->event_bytes += bytes;
    if (!dropped)
        return;
    uint64_t before = s->events_dropped;
    s->events_dropped += dropped;
    atomic_fetch_add(&sb_sessions.events_dropped, dropped);
    /* Logged at 1, 2, 4, 8, ... drops: a stalled session must not flood the log. */
    if ((before ^ s->events_dropped) > before)
        SB_WARN("session", "session %llu: event queue full, %llu old events dropped",
                (unsigned long long)s->id, (unsigned long long)s->events_dropped);
}

static int sb_session_create_as(sb_event_sink_t *sink, bool internal, sb_session_t **out)
{
    if (atomic_load(&sb_sessions.refusing) && !internal)
        return SB_ESTATE;
    sb_session_t *s = SB_NEW(sb_session_t);
    s->internal = internal;
    sb_refcount_init(&s->ref);
    pthread_mutex_init(&s->lock, NULL);
    sb_fifo_init(&s->events, sb_sessions.cfg.event_queue_max, sb_session_free_event);
    atomic_store(&s->last_activity_us, sb_now_us());
    if (sink) {
        sb_event_sink_ref(sink);
        s->sink = sink;
    }
    pthread_mutex_lock(&sb_sessions.lock);
    if (g_hash_table_size(sb_sessions.table) >= sb_sessions.cfg.max_sessions) {
        pthread_mutex_unlock(&sb_sessions.lock);
        sb_event_sink_unref(s->sink);
        sb_fifo_deinit(&s->events);
        pthread_mutex_destroy(&s->lock);
        sb_free(s);
        return SB_ENOMEM;
    }
    do {
        s->id = sb_id_new(sb_sessions.cfg.node_id);
    } while (g_hash_table_contains(sb_sessions.table, &s->id));
    g_hash_table_insert(sb_sessions.table, &s->id, s);
    sb_refcount_inc(&s->ref); /* the caller's */
    pthread_mutex_unlock(&sb_sessions.lock);
    *out = s;
    return 0;
}

int sb_session_create(sb_event_sink_t *sink, sb_session_t **out)
{
    return sb_session_create_as(sink, false, out);
}

sb_session_t *sb_sessions_internal(void)
{
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&once);
    pthread_mutex_lock(&sb_sessions.lock);
    sb_session_t *s = sb_sessions.table ? sb_sessions.internal : NULL;
    bool make = sb_sessions.table && !s;
    if (s)
        sb_refcount_inc(&s->ref);
    pthread_mutex_unlock(&sb_sessions.lock);
    if (make && sb_session_create_as(NULL, true, &s) == 0) {
        pthread_mutex_lock(&sb_sessions.lock);
        sb_sessions.internal = s; /* borrowed: the table holds it */
        pthread_mutex_unlock(&sb_sessions.lock);
    }
    pthread_mutex_unlock(&once);
    return s;
}

sb_session_t *sb_session_find(uint64_t id)
{
    pthread_mutex_lock(&sb_sessions.lock);
    sb_session_t *s = sb_sessions.table ? g_hash_table_lookup(sb_sessions.table, &id) : NULL;
    if (s)
        sb_refcount_inc(&s->ref);
    pthread_mutex_unlock(&sb_sessions.lock);
    return s;
}

void sb_session_ref(sb_session_t *s)
{
    sb_refcount_inc(&s->ref);
}

void sb_session_unref(sb_session_t *s)
{
    if (!s || !sb_refcount_dec(&s->ref))
        return;
    sb_fifo_deinit(&s->events);
    sb_event_sink_unref(s->sink);
    sb_free(s->handles);
    pthread_mutex_destroy(&s->lock);
    sb_free(s);
}

uint64_t sb_session_id(const sb_session_t *s)
{
    return s->id;
}

bool sb_session_is_destroyed(sb_session_t *s)
{
    pthread_mutex_lock(&s->lock);
    bool d = s->destroyed;
    pthread_mutex_unlock(&s->lock);
    return d;
}

void sb_session_touch(sb_session_t *s)
{
    atomic_store(&s->last_activity_us, sb_now_us());
}

/* Unlink and return the oldest waiter; session lock held. */
static sb_session_waiter_t *sb_session_pop_waiter(sb_session_t *s)
{
    sb_session_waiter_t *w = s->waiters;
    if (!w)
        return NULL;
    s->waiters = w->next;
    if (s->waiters)
        s->waiters->prev = NULL;
    w->prev = w->next = NULL;
    w->linked = false;
    return w;
}

void sb_session_destroy(sb_session_t *s)
{
    pthread_mutex_lock(&sb_sessions.lock);
    bool in_table = g_hash_table_lookup(sb_sessions.table, &s->id) == s;
    if (in_table)
        g_hash_table_remove(sb_sessions.table, &s->id);
    if (sb_sessions.internal == s)
        sb_sessions.internal = NULL;
    pthread_mutex_unlock(&sb_sessions.lock);

    pthread_mutex_lock(&s->lock);
    if (s->destroyed) {
        pthread_mutex_unlock(&s->lock);
        /* Another thread that found s outside the table got here first and tears it
         * down; the table's reference is still ours to drop. */
        if (in_table)
            sb_session_unref(s);
        return;
    }
    s->destroyed = true;
    bool timed_out = s->timed_out;
    sb_session_waiter_t *waiters = s->waiters;
    s->waiters = NULL;
    pthread_mutex_unlock(&s->lock);
    if (!timed_out && sb_events_wanted(SB_EV_SESSION))
        sb_events_emit(SB_EV_SESSION, 0, s->id, 0, NULL,
                       json_pack("{s:s}", "name", "destroyed"));

    /* Handles detach themselves from the session: take them one at a time. */
    for (;;) {
        pthread_mutex_lock(&s->lock);
        sb_handle_t *h = s->nhandles ? s->handles[0] : NULL;
        if (h)
            sb_handle_ref(h);
        pthread_mutex_unlock(&s->lock);
        if (!h)
            break;
        sb_handle_detach(h, false);
        sb_handle_unref(h);
    }
    while (waiters) {
        sb_session_waiter_t *w = waiters;
        waiters = w->next;
        w->prev = w->next = NULL;
        w->linked = false;
        w->wake(w);
    }
    if (in_table)
        sb_session_unref(s); /* the table's reference */
}

void sb_session_push(sb_session_t *s, json_t *event)
{
    if (s->internal) { /* no client reads it */
        json_decref(event);
        return;
    }
    pthread_mutex_lock(&s->lock);
    sb_event_sink_t *sink = s->sink;
    if (sink && !s->destroyed) {
        sb_event_sink_ref(sink);
        pthread_mutex_unlock(&s->lock);
        bool taken = sink->deliver(sink, event);
        sb_event_sink_unref(sink);
        if (taken) {
            json_decref(event);
            return;
        }
        pthread_mutex_lock(&s->lock);
    }
    sb_session_queue_push(s, event);
    sb_session_waiter_t *w = sb_session_pop_waiter(s);
    pthread_mutex_unlock(&s->lock);
    if (w)
        w->wake(w);
}

json_t *sb_session_take_events(sb_session_t *s, unsigned max)
{
    json_t *out = NULL;
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < max; i++) {
        json_t *ev = sb_session_queue_pop(s);
        if (!ev)
            break;
        if (!out)
            out = json_array();
        json_array_append_new(out, ev);
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

bool sb_session_wait(sb_session_t *s, sb_session_waiter_t *w, unsigned max_waiters)
{
    pthread_mutex_lock(&s->lock);
    if (s->destroyed || sb_fifo_len(&s->events) > 0) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    unsigned n = 0;
    for (sb_session_waiter_t *x = s->waiters; x; x = x->next)
        n++;
    sb_session_waiter_t *evicted = NULL;
    if (max_waiters && n >= max_waiters)
        evicted = sb_session_pop_waiter(s);
    w->next = NULL;
    w->prev = NULL;
    if (!s->waiters) {
        s->waiters = w;
    } else {
        sb_session_waiter_t *last = s->waiters;
        while (last->next)
            last = last->next;
        last->next = w;
        w->prev = last;
    }
    w->linked = true;
    if (w->on_linked)
        w->on_linked(w);
    pthread_mutex_unlock(&s->lock);
    if (evicted)
        evicted->wake(evicted);
    return true;
}

bool sb_session_unwait(sb_session_t *s, sb_session_waiter_t *w)
{
    pthread_mutex_lock(&s->lock);
    bool was = w->linked;
    if (was) {
        if (w->prev)
            w->prev->next = w->next;
        else
            s->waiters = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->linked = false;
    }
    pthread_mutex_unlock(&s->lock);
    return was;
}

void sb_session_set_sink(sb_session_t *s, sb_event_sink_t *sink)
{
    if (sink)
        sb_event_sink_ref(sink);
    pthread_mutex_lock(&s->lock);
    sb_event_sink_t *old = s->sink;
    s->sink = sink;
    /* Events queued while nobody listened go to the new owner now. */
    json_t *pending = NULL;
    if (sink && sb_fifo_len(&s->events)) {
        pending = json_array();
        json_t *ev;
        while ((ev = sb_session_queue_pop(s)) != NULL)
            json_array_append_new(pending, ev);
    }
    pthread_mutex_unlock(&s->lock);
    if (pending) {
        size_t i;
        json_t *ev;
        json_array_foreach(pending, i, ev) sink->deliver(sink, ev);
        json_decref(pending);
    }
    sb_event_sink_unref(old);
}

void sb_sessions_drop_sink(sb_event_sink_t *sink)
{
    GPtrArray *owned = g_ptr_array_new();
    pthread_mutex_lock(&sb_sessions.lock);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, sb_sessions.table);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        sb_session_t *s = value;
        pthread_mutex_lock(&s->lock);
        if (s->sink == sink) {
            s->sink = NULL;
            g_ptr_array_add(owned, sink);
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&sb_sessions.lock);
    for (guint i = 0; i < owned->len; i++)
        sb_event_sink_unref(sink);
    g_ptr_array_free(owned, TRUE);
}

int sb_session_add_handle(sb_session_t *s, sb_handle_t *h)
{
    pthread_mutex_lock(&s->lock);
    if (s->destroyed) {
        pthread_mutex_unlock(&s->lock);
        return SB_ENOENT;
    }
    if (s->nhandles >= sb_sessions.cfg.max_handles_per_session && !s->internal) {
        pthread_mutex_unlock(&s->lock);
        return SB_ENOMEM;
    }
    s->handles = sb_realloc(s->handles, (s->nhandles + 1) * sizeof(*s->handles));
    s->handles[s->nhandles++] = h;
    sb_handle_ref(h);
    atomic_fetch_add(&sb_sessions.handles, 1);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

sb_handle_t *sb_session_find_handle(sb_session_t *s, uint64_t handle_id)
{
    sb_handle_t *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->nhandles; i++) {
        if (sb_handle_id(s->handles[i]) == handle_id) {
            found = s->handles[i];
            sb_handle_ref(found);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

bool sb_session_remove_handle(sb_session_t *s, sb_handle_t *h)
{
    bool removed = false;
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->nhandles; i++) {
        if (s->handles[i] == h) {
            s->handles[i] = s->handles[--s->nhandles];
            removed = true;
            atomic_fetch_sub(&sb_sessions.handles, 1);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (removed)
        sb_handle_unref(h);
    return removed;
}

unsigned sb_sessions_sweep(void)
{
    unsigned timeout_s = atomic_load(&sb_sessions.timeout_s);
    if (!timeout_s)
        return 0;
    int64_t deadline = sb_now_us() - (int64_t)timeout_s * 1000000;
    GPtrArray *expired = g_ptr_array_new();
    pthread_mutex_lock(&sb_sessions.lock);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, sb_sessions.table);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        sb_session_t *s = value;
        if (atomic_load(&s->last_activity_us) < deadline && !s->internal) {
            sb_refcount_inc(&s->ref);
            g_ptr_array_add(expired, s);
        }
    }
    pthread_mutex_unlock(&sb_sessions.lock);
    for (guint i = 0; i < expired->len; i++) {
        sb_session_t *s = g_ptr_array_index(expired, i);
        SB_INFO("session", "session %llu timed out", (unsigned long long)s->id);
        json_t *ev = json_pack("{s:s, s:I}", "janus", "timeout", "session_id", (json_int_t)s->id);
        sb_session_push(s, ev);
        pthread_mutex_lock(&s->lock);
        s->timed_out = true;
        pthread_mutex_unlock(&s->lock);
        if (sb_events_wanted(SB_EV_SESSION))
            sb_events_emit(SB_EV_SESSION, 0, s->id, 0, NULL, json_pack("{s:s}", "name", "timeout"));
        sb_session_destroy(s);
        sb_session_unref(s);
    }
    unsigned n = expired->len;
    g_ptr_array_free(expired, TRUE);
    return n;
}

uint64_t *sb_sessions_list(size_t *n)
{
    pthread_mutex_lock(&sb_sessions.lock);
    *n = sb_sessions.table ? g_hash_table_size(sb_sessions.table) : 0;
    uint64_t *ids = sb_malloc((*n ? *n : 1) * sizeof(*ids));
    size_t i = 0;
    if (*n) {
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, sb_sessions.table);
        while (g_hash_table_iter_next(&it, &key, &value))
            ids[i++] = ((sb_session_t *)value)->id;
    }
    pthread_mutex_unlock(&sb_sessions.lock);
    return ids;
}

uint64_t *sb_session_handle_ids(sb_session_t *s, size_t *n)
{
    pthread_mutex_lock(&s->lock);
    *n = s->nhandles;
    uint64_t *ids = sb_malloc((*n ? *n : 1) * sizeof(*ids));
    for (unsigned i = 0; i < s->nhandles; i++)
        ids[i] = sb_handle_id(s->handles[i]);
    pthread_mutex_unlock(&s->lock);
    return ids;
}

int64_t sb_session_last_activity_us(sb_session_t *s)
{
    return atomic_load(&s->last_activity_us);
}

unsigned sb_sessions_count(void)
{
    pthread_mutex_lock(&sb_sessions.lock);
    unsigned n = sb_sessions.table ? g_hash_table_size(sb_sessions.table) : 0;
    pthread_mutex_unlock(&sb_sessions.lock);
    return n;
}

void sb_sessions_deinit(void)
{
    for (;;) {
        sb_session_t *s = NULL;
        pthread_mutex_lock(&sb_sessions.lock);
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, sb_sessions.table);
        if (g_hash_table_iter_next(&it, &key, &value)) {
            s = value;
            sb_refcount_inc(&s->ref);
        }
        pthread_mutex_unlock(&sb_sessions.lock);
        if (!s)
            break;
        sb_session_destroy(s);
        sb_session_unref(s);
    }
    pthread_mutex_lock(&sb_sessions.lock);
    g_hash_table_destroy(sb_sessions.table);
    sb_sessions.table = NULL;
    sb_sessions.internal = NULL;
    pthread_mutex_unlock(&sb_sessions.lock);
}
