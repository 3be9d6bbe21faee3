/* TextRoom delivery: an outbox filled under the plugin lock goes to the media loops of its
 * recipients, one post per loop (a batch of its items, in order), while the lock is still
 * held, so every loop receives the changes of the rooms in the order they happened. On the
 * loop, each text goes out with send_data on the recipient's "JanusDataChannel" channel.
 *
 * Does not decide who gets what (requests do). Threads: sb_tr_outbox_post runs under the
 * lock on the requester's thread; batches run on their loop, without the lock. */
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "textroom.h"

/* The items of one outbox bound for one media loop. Owned by the post, then by the loop. */
typedef struct sb_tr_batch {
    int loop;
    guint n;
    sb_tr_outbox_item_t items[];
} sb_tr_batch_t;

void sb_tr_deliver_now(sb_tr_session_t *s, const sb_tr_text_t *text)
{
    sb_data_message_t msg = {
        .label = SB_TR_LABEL, .data = (const uint8_t *)text->data, .len = text->len};
    int rc = sb_tr_core->send_data(s->h, &msg);
    if (rc == 0) {
        atomic_fetch_add(&s->sent, 1);
        return;
    }
    /* A client that does not keep up, or whose max-message-size is smaller than this
     * message: counted (query_handle shows it), logged at the first and every 1000th. */
    unsigned long long n = atomic_fetch_add(&s->dropped, 1) + 1;
    if (n == 1 || n % 1000 == 0)
        SB_LOG_PEER(SB_LOG_WARN, "textroom", s->h->session_id, s->h->handle_id,
                    "%llu message(s) not sent on its data channel (last: %s, %zu bytes)", n,
                    sb_strerror(rc), text->len);
}

static void sb_tr_batch_free(sb_tr_batch_t *b)
{
    for (guint i = 0; i < b->n; i++) {
        sb_tr_session_unref(b->items[i].s);
        sb_tr_text_unref(b->items[i].text);
    }
    sb_free(b);
}

/* The batch's loop. A session whose PeerConnection went (or moved) since is skipped. */
static void sb_tr_batch_run(void *arg)
{
    sb_tr_batch_t *b = arg;
    for (guint i = 0; i < b->n; i++) {
        sb_tr_session_t *s = b->items[i].s;
        if (atomic_load(&s->loop) == b->loop)
            sb_tr_deliver_now(s, b->items[i].text);
    }
    sb_tr_batch_free(b);
}

void sb_tr_outbox_post(sb_tr_outbox_t *ob)
{
    guint n = ob->items->len;
    if (n == 0)
        return;
    sb_tr_outbox_item_t *items = (sb_tr_outbox_item_t *)(void *)ob->items->data;
    int *loops = sb_malloc(n * sizeof(*loops));
    for (guint i = 0; i < n; i++)
        loops[i] = atomic_load(&items[i].s->loop); /* read once: the batches agree */
    for (guint i = 0; i < n; i++) {
        int loop = loops[i];
        if (loop == INT32_MIN)
            continue;   /* taken by an earlier batch */
        if (loop < 0) { /* no PeerConnection (any more): nowhere to send */
            atomic_fetch_add(&items[i].s->dropped, 1);
            loops[i] = INT32_MIN;
            continue;
        }
        guint count = 0;
        for (guint j = i; j < n; j++)
            count += loops[j] == loop;
        sb_tr_batch_t *b = sb_malloc(sizeof(*b) + count * sizeof(b->items[0]));
        b->loop = loop;
        b->n = 0;
        for (guint j = i; j < n; j++) {
            if (loops[j] != loop)
                continue;
            b->items[b->n] = items[j];
            sb_tr_session_ref(items[j].s);
            sb_tr_text_ref(items[j].text);
            b->n++;
            loops[j] = INT32_MIN;
        }
        if (sb_tr_core->loop_post(loop, sb_tr_batch_run, b) < 0)
            sb_tr_batch_free(b);
    }
    sb_free(loops);
    sb_tr_outbox_deinit(ob);
    sb_tr_outbox_init(ob);
}
