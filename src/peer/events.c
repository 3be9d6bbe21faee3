/* The event queue of event handlers (see events.h). */
#include "peer/events.h"

#include <glib.h>
#include <string.h>
#include <sys/time.h>

#include "switchboard/alloc.h"

atomic_uint sb_events_mask;
int64_t sb_events_media_period_us;

static struct {
    GAsyncQueue *queue; /* json_t* events */
    unsigned max;
    char *emitter;
    atomic_uint queued;
    atomic_ullong dropped;
} sb_events;

static int64_t sb_events_wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void sb_events_emit(unsigned type, unsigned subtype, uint64_t session_id, uint64_t handle_id,
                    const char *opaque_id, json_t *body)
{
    if (!sb_events_wanted(type) || !sb_events.queue) {
        json_decref(body);
        return;
    }
    /* Reserve a place first: the bound holds whatever the number of emitters. */
    if (atomic_fetch_add(&sb_events.queued, 1) >= sb_events.max) {
        atomic_fetch_sub(&sb_events.queued, 1);
        atomic_fetch_add(&sb_events.dropped, 1);
        json_decref(body);
        return;
    }
    json_t *ev =
        json_pack("{s:i, s:I}", "type", (int)type, "timestamp", (json_int_t)sb_events_wall_us());
    if (sb_events.emitter)
        json_object_set_new(ev, "emitter", json_string(sb_events.emitter));
    if (subtype)
        json_object_set_new(ev, "subtype", json_integer(subtype));
    if (session_id)
        json_object_set_new(ev, "session_id", json_integer((json_int_t)session_id));
    if (handle_id)
        json_object_set_new(ev, "handle_id", json_integer((json_int_t)handle_id));
    if (opaque_id)
        json_object_set_new(ev, "opaque_id", json_string(opaque_id));
    json_object_set_new(ev, "event", body ? body : json_object());
    g_async_queue_push(sb_events.queue, ev);
}

void sb_events_start(unsigned mask, unsigned queue_max, const char *emitter,
                     unsigned media_period_s)
{
    sb_events_media_period_us = (int64_t)media_period_s * 1000000;
    sb_events.queue = g_async_queue_new_full((GDestroyNotify)json_decref);
    sb_events.max = queue_max ? queue_max : 1;
    sb_events.emitter = emitter && *emitter ? sb_strdup(emitter) : NULL;
    atomic_store(&sb_events.queued, 0);
    atomic_store(&sb_events_mask, mask);
}

void sb_events_stop(void)
{
    atomic_store(&sb_events_mask, 0);
    if (sb_events.queue)
        g_async_queue_unref(sb_events.queue); /* frees what is left */
    sb_events.queue = NULL;
    sb_free(sb_events.emitter);
    sb_events.emitter = NULL;
}

json_t *sb_events_take(unsigned max, int64_t timeout_us)
{
    if (!sb_events.queue)
        return NULL;
    json_t *ev = g_async_queue_timeout_pop(sb_events.queue, (guint64)timeout_us);
    if (!ev)
        return NULL;
    json_t *batch = json_array();
    for (unsigned n = 0; ev; n++) {
        json_array_append_new(batch, ev);
        atomic_fetch_sub(&sb_events.queued, 1);
        ev = n + 1 < max ? g_async_queue_try_pop(sb_events.queue) : NULL;
    }
    return batch;
}

uint64_t sb_events_dropped(void)
{
    return atomic_load(&sb_events.dropped);
}

void sb_events_dropped_add(uint64_t n)
{
    atomic_fetch_add(&sb_events.dropped, n);
}

int sb_events_parse_mask(const char *list)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {{"sessions", SB_EV_SESSION},
                 {"handles", SB_EV_HANDLE},
                 {"external", SB_EV_EXTERNAL},
                 {"jsep", SB_EV_JSEP},
                 {"webrtc", SB_EV_WEBRTC},
                 {"media", SB_EV_MEDIA},
                 {"plugins", SB_EV_PLUGIN},
                 {"transports", SB_EV_TRANSPORT},
                 {"core", SB_EV_CORE},
                 {"all", SB_EV_ALL},
                 {"none", 0}};
    unsigned mask = 0;
    gchar **items = g_strsplit(list ? list : "", ",", -1);
    int rc = 0;
    for (gchar **it = items; *it && rc == 0; it++) {
        gchar *name = g_strstrip(*it);
        if (!*name)
            continue;
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(names[i].name, name) != 0)
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            rc = -1;
        else
            mask |= names[i].bits;
    }
    g_strfreev(items);
    return rc < 0 ? -1 : (int)mask;
}
