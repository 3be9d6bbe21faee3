/* TextRoom sessions and participants: a session is one attached handle (its data channel
 * is where its replies and events go); a participant is a session in one room, under a
 * username. A session may be in several rooms at once (sb_tr_config.max_rooms_per_user).
 *
 * Does not decide who may join (chat.c) nor send anything (deliver.c). Threads: sessions
 * are referenced from any thread; their "lock" fields and every participant are touched
 * under the plugin lock only. */
#include "switchboard/alloc.h"
#include "textroom.h"

sb_tr_session_t *sb_tr_session_new(sb_plugin_handle_t *h)
{
    sb_tr_session_t *s = SB_NEW(sb_tr_session_t);
    sb_refcount_init(&s->ref);
    if (h && sb_tr_core)
        sb_tr_core->handle_ref(h);
    s->h = h;
    s->rooms = g_ptr_array_new();
    atomic_init(&s->setup, false);
    atomic_init(&s->loop, -1);
    atomic_init(&s->sent, 0);
    atomic_init(&s->dropped, 0);
    return s;
}

void sb_tr_session_ref(sb_tr_session_t *s)
{
    sb_refcount_inc(&s->ref);
}

void sb_tr_session_unref(sb_tr_session_t *s)
{
    if (!s || !sb_refcount_dec(&s->ref))
        return;
    /* Participants hold references: the last one is gone, so the session is in no room. */
    g_ptr_array_unref(s->rooms);
    if (s->h && sb_tr_core)
        sb_tr_core->handle_unref(s->h);
    sb_free(s);
}

sb_tr_participant_t *sb_tr_session_in(sb_tr_session_t *s, sb_tr_room_t *r)
{
    for (guint i = 0; i < s->rooms->len; i++) {
        sb_tr_participant_t *p = g_ptr_array_index(s->rooms, i);
        if (p->room == r)
            return p;
    }
    return NULL;
}

sb_tr_participant_t *sb_tr_room_join(sb_tr_room_t *r, sb_tr_session_t *s, const char *username,
                                     const char *display)
{
    sb_tr_participant_t *p = SB_NEW(sb_tr_participant_t);
    sb_tr_session_ref(s);
    p->session = s;
    p->room = r;
    p->username = sb_strdup(username);
    p->display = sb_strdup(display);
    g_ptr_array_add(r->participants, p);
    sb_tr_count_participants(1);
    g_hash_table_insert(r->by_name, p->username, p);
    g_ptr_array_add(s->rooms, p);
    return p;
}

void sb_tr_room_part(sb_tr_participant_t *p)
{
    sb_tr_room_t *r = p->room;
    g_hash_table_remove(r->by_name, p->username);
    g_ptr_array_remove(r->participants, p); /* keeps the join order of the others */
    sb_tr_count_participants(-1);
    g_ptr_array_remove_fast(p->session->rooms, p);
    sb_tr_session_t *s = p->session;
    sb_free(p->username);
    sb_free(p->display);
    sb_free(p);
    sb_tr_session_unref(s);
}
