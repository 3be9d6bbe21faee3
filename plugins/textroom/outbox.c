/* TextRoom outbox: the data channel messages one request produces, in order, each a
 * (session, text) pair. A text is serialised once, in the configured style, and shared by
 * all its recipients (a room-wide message to a thousand participants is one string).
 *
 * Does not send anything (deliver.c does, on the recipients' loops). Threads: an outbox
 * belongs to the thread that runs the request; texts are immutable and refcounted, so
 * they travel to other loops. */
#include <string.h>

#include "switchboard/alloc.h"
#include "textroom.h"

sb_tr_text_t *sb_tr_text_new(json_t *obj)
{
    size_t flags = JSON_PRESERVE_ORDER;
    switch (sb_tr_config.json) {
    case SB_TR_JSON_PLAIN:
        flags |= JSON_INDENT(0);
        break;
    case SB_TR_JSON_COMPACT:
        flags |= JSON_COMPACT;
        break;
    default:
        flags |= JSON_INDENT(3);
        break;
    }
    char *s = json_dumps(obj, flags);
    size_t len = s ? strlen(s) : 2;
    sb_tr_text_t *t = sb_malloc(sizeof(*t) + len + 1);
    sb_refcount_init(&t->ref);
    t->len = len;
    memcpy(t->data, s ? s : "{}", len + 1);
    free(s);
    return t;
}

sb_tr_text_t *sb_tr_text_ref(sb_tr_text_t *t)
{
    sb_refcount_inc(&t->ref);
    return t;
}

void sb_tr_text_unref(sb_tr_text_t *t)
{
    if (t && sb_refcount_dec(&t->ref))
        sb_free(t);
}

void sb_tr_outbox_init(sb_tr_outbox_t *ob)
{
    ob->items = g_array_new(FALSE, FALSE, sizeof(sb_tr_outbox_item_t));
}

void sb_tr_outbox_deinit(sb_tr_outbox_t *ob)
{
    if (!ob->items)
        return;
    for (guint i = 0; i < ob->items->len; i++) {
        sb_tr_outbox_item_t *it = &g_array_index(ob->items, sb_tr_outbox_item_t, i);
        sb_tr_session_unref(it->s);
        sb_tr_text_unref(it->text);
    }
    g_array_unref(ob->items);
    ob->items = NULL;
}

void sb_tr_outbox_add(sb_tr_outbox_t *ob, sb_tr_session_t *s, sb_tr_text_t *text)
{
    sb_tr_session_ref(s);
    sb_tr_outbox_item_t it = {.s = s, .text = sb_tr_text_ref(text)};
    g_array_append_val(ob->items, it);
}

void sb_tr_outbox_add_json(sb_tr_outbox_t *ob, sb_tr_session_t *s, json_t *obj)
{
    sb_tr_text_t *t = sb_tr_text_new(obj);
    sb_tr_outbox_add(ob, s, t);
    sb_tr_text_unref(t);
}

void sb_tr_outbox_room(sb_tr_outbox_t *ob, sb_tr_room_t *r, sb_tr_text_t *text,
                       const sb_tr_participant_t *skip)
{
    for (guint i = 0; i < r->participants->len; i++) {
        sb_tr_participant_t *p = g_ptr_array_index(r->participants, i);
        if (p != skip)
            sb_tr_outbox_add(ob, p->session, text);
    }
}
