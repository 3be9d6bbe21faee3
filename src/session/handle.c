/* Handles (see handle.h): creation through the plugin, detach exactly once, and the
 * events a handle sends to its session. The PeerConnection hangs off here later. */
#include "session/handle.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "base/log.h"
#include "peer/events.h"
#include "session/handle_media.h"

/* Owned by its references: the session's, the creator's, plugins'. Any thread. */
struct sb_handle {
    sb_plugin_handle_t ph; /* first: what plugins see */
    sb_refcount_t ref;
    sb_session_t *session; /* strong reference, released at free */
    const sb_plugin_t *plugin;
    char *opaque_id;
    atomic_bool detached;
    atomic_uint pending; /* requests the plugin acked and has not answered yet */
    sb_handle_media_t *media; /* the PeerConnection binding */
    bool plugin_created; /* create_handle succeeded: destroy_handle is owed */
};

sb_handle_t *sb_handle_from_plugin(sb_plugin_handle_t *ph)
{
    return (sb_handle_t *)((char *)ph - offsetof(sb_handle_t, ph));
}

sb_plugin_handle_t *sb_handle_plugin_handle(sb_handle_t *h)
{
    return &h->ph;
}

uint64_t sb_handle_id(const sb_handle_t *h)
{
    return h->ph.handle_id;
}

sb_session_t *sb_handle_session(const sb_handle_t *h)
{
    return h->session;
}

const sb_plugin_t *sb_handle_plugin(const sb_handle_t *h)
{
    return h->plugin;
}

const char *sb_handle_opaque_id(const sb_handle_t *h)
{
    return h->opaque_id;
}

sb_handle_media_t *sb_handle_media(sb_handle_t *h)
{
    return h->media;
}

bool sb_handle_is_detached(sb_handle_t *h)
{
    return atomic_load(&h->detached);
}

void sb_handle_ref(sb_handle_t *h)
{
    sb_refcount_inc(&h->ref);
}

void sb_handle_unref(sb_handle_t *h)
{
    if (!h || !sb_refcount_dec(&h->ref))
        return;
    sb_session_unref(h->session);
    sb_handle_media_free(h->media);
    sb_free(h->opaque_id);
    sb_free(h);
}

int sb_handle_create(sb_session_t *s, const sb_plugin_t *plugin, const char *opaque_id,
                     sb_handle_t **out)
{
    sb_handle_t *h = SB_NEW(sb_handle_t);
    sb_refcount_init(&h->ref);
    sb_session_ref(s);
    h->session = s;
    h->plugin = plugin;
    h->opaque_id = sb_strdup(opaque_id);
    h->media = sb_handle_media_new(h);
    h->ph.session_id = sb_session_id(s);
    do {
        h->ph.handle_id = sb_id_new(sb_id_node(sb_session_id(s)));
        sb_handle_t *clash = sb_session_find_handle(s, h->ph.handle_id);
        if (!clash)
            break;
        sb_handle_unref(clash);
    } while (1);

    int rc = sb_session_add_handle(s, h);
    if (rc < 0) {
        atomic_store(&h->detached, true);
        sb_handle_unref(h);
        return rc;
    }
    if (plugin->create_handle(&h->ph) < 0) {
        atomic_store(&h->detached, true);
        sb_session_remove_handle(s, h);
        sb_handle_unref(h);
        return SB_EIO;
    }
    h->plugin_created = true;
    if (sb_events_wanted(SB_EV_HANDLE))
        sb_handle_emit(h, SB_EV_HANDLE, 0,
                       json_pack("{s:s, s:s}", "name", "attached", "plugin", plugin->package));
    *out = h;
    return 0;
}

void sb_handle_emit(sb_handle_t *h, unsigned type, unsigned subtype, json_t *body)
{
    sb_events_emit(type, subtype, h->ph.session_id, h->ph.handle_id, h->opaque_id, body);
}

/* The event handlers' view of a core event the client gets (docs/events.md). */
static void sb_handle_emit_core_event(sb_handle_t *h, const char *type, json_t *fields)
{
    if (!strcmp(type, "webrtcup") || !strcmp(type, "hangup")) {
        if (!sb_events_wanted(SB_EV_WEBRTC))
            return;
        json_t *body = json_pack("{s:s}", "connection", type);
        if (fields && json_object_get(fields, "reason"))
            json_object_set(body, "reason", json_object_get(fields, "reason"));
        sb_handle_emit(h, SB_EV_WEBRTC, SB_EV_WEBRTC_PC, body);
    } else if (!strcmp(type, "media") || !strcmp(type, "slowlink")) {
        if (!sb_events_wanted(SB_EV_MEDIA))
            return;
        bool state = !strcmp(type, "media");
        json_t *f = fields, *body;
        if (state) /* {"media", "mid", "receiving"}: the API names the medium "type" */
            body = json_pack("{s:O?, s:O?, s:O?}", "media", json_object_get(f, "type"), "mid",
                             json_object_get(f, "mid"), "receiving",
                             json_object_get(f, "receiving"));
        else /* {"mid", "media", "slow_link": "uplink"|"downlink", "lost_lastsec"} */
            body = json_pack("{s:O?, s:O?, s:s, s:O?}", "mid", json_object_get(f, "mid"), "media",
                             json_object_get(f, "media"), "slow_link",
                             json_is_true(json_object_get(f, "uplink")) ? "uplink" : "downlink",
                             "lost_lastsec", json_object_get(f, "lost"));
        sb_handle_emit(h, SB_EV_MEDIA, state ? SB_EV_MEDIA_STATE : SB_EV_MEDIA_SLOWLINK, body);
    }
}

void sb_handle_detach(sb_handle_t *h, bool notify)
{
    if (atomic_exchange(&h->detached, true))
        return;
    sb_handle_ref(h);
    sb_session_remove_handle(h->session, h);
    /* The PeerConnection goes first: once this returns no media callback runs for h. */
    sb_handle_media_hangup(h, NULL);
    if (h->plugin_created)
        h->plugin->destroy_handle(&h->ph);
    if (notify)
        sb_handle_push_core_event(h, "detached", NULL);
    if (sb_events_wanted(SB_EV_HANDLE))
        sb_handle_emit(h, SB_EV_HANDLE, 0,
                       json_pack("{s:s, s:s}", "name", "detached", "plugin", h->plugin->package));
    SB_DEBUG("handle", "handle %llu detached", (unsigned long long)h->ph.handle_id);
    sb_handle_unref(h);
}

void sb_handle_push_core_event(sb_handle_t *h, const char *type, json_t *fields)
{
    json_t *ev = json_pack("{s:s, s:I, s:I}", "janus", type, "session_id",
                           (json_int_t)h->ph.session_id, "sender", (json_int_t)h->ph.handle_id);
    if (atomic_load_explicit(&sb_events_mask, memory_order_relaxed))
        sb_handle_emit_core_event(h, type, fields);
    if (fields) {
        json_object_update(ev, fields);
        json_decref(fields);
    }
    sb_session_push(h->session, ev);
}

bool sb_handle_request_begin(sb_handle_t *h)
{
    if (atomic_fetch_add(&h->pending, 1) < SB_HANDLE_MAX_PENDING)
        return true;
    atomic_fetch_sub(&h->pending, 1);
    return false;
}

void sb_handle_request_end(sb_handle_t *h)
{
    unsigned n = atomic_load(&h->pending);
    while (n > 0 && !atomic_compare_exchange_weak(&h->pending, &n, n - 1))
        ;
}

int sb_handle_push_event(sb_handle_t *h, const char *transaction, json_t *data, json_t *jsep)
{
    if (transaction) /* the answer to an acked request (or an extra event of it) */
        sb_handle_request_end(h);
    if (atomic_load(&h->detached))
        return SB_ENOENT;
    json_t *ev = json_pack("{s:s, s:I, s:I, s:{s:s, s:o}}", "janus", "event", "session_id",
                           (json_int_t)h->ph.session_id, "sender", (json_int_t)h->ph.handle_id,
                           "plugindata", "plugin", h->plugin->package, "data",
                           data ? json_incref(data) : json_object());
    if (!ev)
        return SB_EINVAL;
    if (transaction)
        json_object_set_new(ev, "transaction", json_string(transaction));
    if (jsep)
        json_object_set(ev, "jsep", jsep);
    sb_session_push(h->session, ev);
    return 0;
}
