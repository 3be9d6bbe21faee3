/* VideoRoom events: an outbox that gathers events (and PeerConnections to close) while the
 * plugin lock is held, and pushes them once it is released, so the lock is never held
 * while calling the core; plus room broadcasts and the error object.
 *
 * Does not decide who gets what (the request handlers do). Any thread; an outbox lives on
 * the stack of the thread that fills and flushes it. */
#include <stdarg.h>
#include <stdio.h>

#include "switchboard/alloc.h"
#include "videoroom.h"

/* One queued event. Owned by its outbox; holds a core reference on the handle. */
typedef struct sb_vr_event {
    sb_plugin_handle_t *h;
    char *transaction;
    json_t *data;
    json_t *jsep;
} sb_vr_event_t;

void sb_vr_notify(sb_plugin_handle_t *h, const char *name, uint64_t room, json_t *extra)
{
    if (!sb_vr_core->events_wanted()) {
        json_decref(extra);
        return;
    }
    json_t *data = json_pack("{s:s, s:I}", "event", name, "room", (json_int_t)room);
    if (extra) {
        json_object_update(data, extra);
        json_decref(extra);
    }
    sb_vr_core->notify_event(SB_VR_PACKAGE, h, data);
    json_decref(data);
}

void sb_vr_outbox_init(sb_vr_outbox_t *ob)
{
    ob->items = g_ptr_array_new();
    ob->close_pcs = g_ptr_array_new();
}

void sb_vr_outbox_add(sb_vr_outbox_t *ob, sb_plugin_handle_t *h, const char *transaction,
                      json_t *data, json_t *jsep)
{
    if (!h) {
        json_decref(data);
        return;
    }
    sb_vr_event_t *e = SB_NEW(sb_vr_event_t);
    sb_vr_core->handle_ref(h);
    e->h = h;
    e->transaction = sb_strdup(transaction);
    e->data = data;
    e->jsep = jsep ? json_incref(jsep) : NULL;
    g_ptr_array_add(ob->items, e);
}

void sb_vr_outbox_close_pc(sb_vr_outbox_t *ob, sb_plugin_handle_t *h)
{
    sb_vr_core->handle_ref(h);
    g_ptr_array_add(ob->close_pcs, h);
}

void sb_vr_outbox_flush(sb_vr_outbox_t *ob)
{
    for (guint i = 0; i < ob->items->len; i++) {
        sb_vr_event_t *e = g_ptr_array_index(ob->items, i);
        sb_vr_push_event(e->h, e->transaction, e->data, e->jsep);
        sb_vr_core->handle_unref(e->h);
        sb_free(e->transaction);
        json_decref(e->data);
        json_decref(e->jsep);
        sb_free(e);
    }
    g_ptr_array_free(ob->items, TRUE);
    ob->items = NULL;
    /* After the events: a client learns why before its PeerConnection goes. */
    for (guint i = 0; i < ob->close_pcs->len; i++) {
        sb_plugin_handle_t *h = g_ptr_array_index(ob->close_pcs, i);
        if (sb_vr_core->close_pc)
            sb_vr_core->close_pc(h);
        sb_vr_core->handle_unref(h);
    }
    g_ptr_array_free(ob->close_pcs, TRUE);
    ob->close_pcs = NULL;
}

void sb_vr_broadcast(sb_vr_outbox_t *ob, sb_vr_room_t *r, json_t *data,
                     const sb_vr_publisher_t *skip)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->participants);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        sb_vr_publisher_t *p = value;
        if (p == skip || p->session->destroyed)
            continue;
        sb_vr_outbox_add(ob, p->h, NULL, json_deep_copy(data), NULL);
    }
}

json_t *sb_vr_error_json(int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return json_pack("{s:s, s:i, s:s}", "videoroom", "event", "error_code", code, "error",
                     text);
}
