/* Events for event handlers (the reference server's format, docs/events.md "Event
 * handlers"): what happens to sessions, handles, negotiations, PeerConnections, media and
 * plugins, as JSON objects
 *
 *   {"emitter", "type", "subtype"?, "timestamp", "session_id"?, "handle_id"?,
 *    "opaque_id"?, "event": {...}}
 *
 * queued for one consumer (the webhook sink, api/webhook.c). Emitting is cheap when no
 * consumer wants the type (one relaxed load of the mask) and never blocks: the queue is
 * bounded, and past its bound an event is dropped and counted. Any thread. */
#ifndef SB_PEER_EVENTS_H
#define SB_PEER_EVENTS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The reference's types: a bit each, so a consumer takes a mask of them. */
enum {
    SB_EV_SESSION = 1,
    SB_EV_HANDLE = 2,
    SB_EV_EXTERNAL = 4,
    SB_EV_JSEP = 8,
    SB_EV_WEBRTC = 16,
    SB_EV_MEDIA = 32,
    SB_EV_PLUGIN = 64,
    SB_EV_TRANSPORT = 128,
    SB_EV_CORE = 256,
    SB_EV_ALL = 511,
};

/* Subtypes of core, webrtc and media events. */
enum { SB_EV_CORE_STARTUP = 1, SB_EV_CORE_SHUTDOWN = 2 };
enum {
    SB_EV_WEBRTC_ICE = 1,
    SB_EV_WEBRTC_LOCAL_CANDIDATE = 2,
    SB_EV_WEBRTC_REMOTE_CANDIDATE = 3,
    SB_EV_WEBRTC_SELECTED_PAIR = 4,
    SB_EV_WEBRTC_DTLS = 5,
    SB_EV_WEBRTC_PC = 6,
};
enum { SB_EV_MEDIA_STATE = 1, SB_EV_MEDIA_SLOWLINK = 2, SB_EV_MEDIA_STATS = 3 };

extern atomic_uint sb_events_mask; /* the types a consumer takes; 0: none */
/* How often a PeerConnection reports its media (type 32, subtype 3), in µs; 0: never. */
extern int64_t sb_events_media_period_us;

/* Whether an event of type would be taken: test before building its body. */
static inline bool sb_events_wanted(unsigned type)
{
    return (atomic_load_explicit(&sb_events_mask, memory_order_relaxed) & type) != 0;
}

/* Queue an event (body stolen; ids 0 and opaque NULL are left out). An unwanted type is
 * freed at once; a full queue drops the event and counts it (sb_events_dropped). */
void sb_events_emit(unsigned type, unsigned subtype, uint64_t session_id, uint64_t handle_id,
                    const char *opaque_id, json_t *body);

/* The consumer's side. start: mask of types and the queue's bound; the emitter's name
 * ("emitter" of every event, as the reference always sends one; NULL: none). stop: the mask back to 0 and every queued event freed. */
void sb_events_start(unsigned mask, unsigned queue_max, const char *emitter,
                     unsigned media_period_s);
void sb_events_stop(void);
/* Up to max queued events, oldest first, waiting up to timeout_us for the first: a new
 * array (owned), or NULL when none came. */
json_t *sb_events_take(unsigned max, int64_t timeout_us);
/* Events dropped because the queue was full, and by the consumer (sb_events_dropped_add). */
uint64_t sb_events_dropped(void);
void sb_events_dropped_add(uint64_t n);

/* "sessions,handles,jsep,webrtc,media,plugins,transports,core,external", "all" or "none"
 * (spaces allowed) to a mask; -1 for an unknown name. */
int sb_events_parse_mask(const char *list);

#endif
