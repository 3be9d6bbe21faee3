/* VideoRoom relays: a publisher stream's packets carried to another media loop that serves
 * subscribers of it (DESIGN.md, "the way a packet travels", step 5).
 *
 * A relay belongs to one (publisher stream, serving loop) pair. On the publisher's loop (the
 * home loop) on_rtp retains each packet once per relay (core->packet_retain: a descriptor
 * sharing the packet's buffer) into the relay's current batch, and once more for the home
 * loop's own subscribers, whose fan-out is deferred the same way. When the home loop's
 * current main loop iteration is over (from the prepare hook of a GSource of the home loop,
 * which GLib runs at the start of the next iteration, before it polls), or as soon as a batch
 * holds SB_VR_BATCH_MAX packets, each batch goes to its serving loop with one core->loop_post,
 * and then the home loop forwards its own share. So all loops start on a burst of packets (a
 * video frame) together, none waits for another's fan-out, and a relay costs one post per
 * burst. The serving loop runs the ordinary fan-out (forward.c) over its own subscriber
 * streams with the relay's copy of what the fan-out reads of the publisher stream, then
 * releases the packets. The loop mailbox wakes a loop only when it goes from empty to
 * non-empty, so a busy serving loop costs the home loop a mutex-protected append per batch.
 *
 * What the serving loop needs of the publisher stream: the negotiated stream and codec (a
 * copy made at creation, then updated by closures the control side posts at each
 * negotiation or (un)mute), and simulcast layer liveness (the home loop's values copied into
 * every batch). Keyframe requests of its subscribers go back to the home loop as closures,
 * coalesced per layer. A relay whose serving loop has no subscriber stream bound (a hint the
 * serving loop keeps in an atomic) gets no packets.
 *
 * Does not choose loops (room.c) nor bind subscribers (graph.c). No lock: each field belongs
 * to one thread (marked), the relay is refcounted (the control side's table, the home loop's
 * list, each binding, each batch in flight). */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "switchboard/time.h"
#include "videoroom.h"

/* Keyframe requests from one relay to its home loop, per layer, at most this often (each
 * subscriber stream also asks at most every 500 ms, and the core sends at most one PLI per
 * 300 ms per layer). */
#define SB_VR_RELAY_KF_US 100000

/* One batch of packets for a relay. Allocated on the home loop, run and recycled (one spare
 * per relay) or freed on the serving loop. */
typedef struct sb_vr_batch {
    sb_vr_relay_t *relay; /* a reference */
    unsigned n;
    int64_t layer_last_us[SB_MEDIA_MAX_LAYERS]; /* the home loop's, when posted */
    sb_rtp_packet_t *pkts[SB_VR_BATCH_MAX];     /* owned (core->packet_retain) */
} sb_vr_batch_t;

/* Owned by its references (see the top of the file). */
struct sb_vr_relay {
    sb_refcount_t ref;
    sb_vr_publisher_t *pub;         /* a reference */
    unsigned index;                 /* stream index in pub->streams */
    int home, loop;                 /* the publisher's loop, the serving loop */
    atomic_uint live;               /* serving loop writes its binding count; home loop reads */
    _Atomic(sb_vr_batch_t *) spare; /* a recycled batch: serving loop puts, home loop takes */
    /* home loop */
    sb_vr_batch_t *batch; /* being filled, or NULL */
    /* serving loop */
    sb_vr_fanout_t fan;
    bool muted;
    int64_t kf_req_us[SB_MEDIA_MAX_LAYERS];
};

/* ---- lifetime ----------------------------------------------------------------------------- */

void sb_vr_relay_ref(sb_vr_relay_t *r)
{
    sb_refcount_inc(&r->ref);
}

void sb_vr_relay_unref(sb_vr_relay_t *r)
{
    if (!r || !sb_refcount_dec(&r->ref))
        return;
    /* Every binding holds a reference: none is left. */
    sb_free(r->fan.subs);
    sb_free(atomic_load(&r->spare));
    sb_vr_publisher_unref(r->pub);
    sb_free(r);
}

sb_vr_fanout_t *sb_vr_relay_fanout(sb_vr_relay_t *r)
{
    return &r->fan;
}

void sb_vr_relay_live(sb_vr_relay_t *r, unsigned nsubs)
{
    atomic_store_explicit(&r->live, nsubs, memory_order_relaxed);
}

/* ---- control side --------------------------------------------------------------------------- */

/* A closure's arguments. Owned by the closure. */
typedef struct sb_vr_relay_op {
    sb_vr_relay_t *relay;   /* a reference */
    sb_vr_publisher_t *pub; /* a reference or NULL */
    unsigned idx;
    int layer;
    bool first; /* a keyframe request for a subscriber with no picture yet */
    sb_media_stream_t neg;
    bool muted;
} sb_vr_relay_op_t;

static sb_vr_relay_op_t *sb_vr_relay_op_new(sb_vr_relay_t *r)
{
    sb_vr_relay_op_t *op = SB_NEW(sb_vr_relay_op_t);
    if (r)
        sb_vr_relay_ref(r);
    op->relay = r;
    return op;
}

static void sb_vr_relay_op_free(sb_vr_relay_op_t *op)
{
    sb_vr_relay_unref(op->relay);
    sb_vr_publisher_unref(op->pub);
    sb_free(op);
}

/* Home loop: the stream starts feeding the relay. */
static void sb_vr_relay_attach_run(void *arg)
{
    sb_vr_relay_op_t *op = arg;
    sb_vr_pub_stream_t *ps = &op->relay->pub->streams[op->relay->index];
    if (ps->loop.nrelays == ps->loop.relays_cap) {
        ps->loop.relays_cap = ps->loop.relays_cap ? ps->loop.relays_cap * 2 : 4;
        ps->loop.relays =
            sb_realloc(ps->loop.relays, ps->loop.relays_cap * sizeof(*ps->loop.relays));
    }
    ps->loop.relays[ps->loop.nrelays++] = op->relay; /* the op's reference moves there */
    op->relay = NULL;
    sb_vr_relay_op_free(op);
}

sb_vr_relay_t *sb_vr_relay_get(sb_vr_publisher_t *p, unsigned k, int loop)
{
    sb_vr_pub_stream_t *ps = &p->streams[k];
    for (unsigned i = 0; i < ps->nrelays; i++)
        if (ps->relays[i]->loop == loop)
            return ps->relays[i];
    sb_vr_relay_t *r = SB_NEW(sb_vr_relay_t);
    sb_refcount_init(&r->ref); /* the stream's table */
    sb_vr_publisher_ref(p);
    r->pub = p;
    r->index = k;
    r->home = p->pc_loop;
    r->loop = loop;
    atomic_init(&r->live, 0);
    atomic_init(&r->spare, NULL);
    /* Written before any post that hands the relay to a loop: the mailbox orders them. */
    r->fan.neg = ps->neg;
    r->fan.codec = sb_codec_from_name(ps->neg.codec);
    r->fan.pub = p;
    r->fan.index = k;
    r->fan.relay = r;
    r->muted = ps->moderated || ps->paused;
    ps->relays = sb_realloc(ps->relays, (ps->nrelays + 1) * sizeof(*ps->relays));
    ps->relays[ps->nrelays++] = r;
    SB_DEBUG("videoroom", "publisher %llu stream %u: relay from loop %d to loop %d",
             (unsigned long long)p->id, k, r->home, loop);
    sb_vr_post_to(r->home, sb_vr_relay_attach_run, sb_vr_relay_op_new(r));
    return r;
}

/* Serving loop: the publisher stream was renegotiated or (un)muted. */
static void sb_vr_relay_update_run(void *arg)
{
    sb_vr_relay_op_t *op = arg;
    sb_vr_relay_t *r = op->relay;
    bool unmuted = r->muted && !op->muted;
    r->muted = op->muted;
    r->fan.neg = op->neg;
    r->fan.codec = sb_codec_from_name(op->neg.codec);
    for (unsigned k = 0; k < r->fan.nsubs; k++) {
        sb_vr_sub_stream_t *ss = r->fan.subs[k];
        sb_vr_fwd_ext_map(ss);
        if (unmuted) { /* as after a switch: continuous numbering, from a keyframe */
            ss->loop.switched = true;
            ss->loop.waiting_kf = true;
            ss->loop.cur_layer = -1;
        }
    }
    sb_vr_relay_op_free(op);
}

void sb_vr_relays_update(sb_vr_publisher_t *p)
{
    for (unsigned i = 0; i < p->nstreams; i++) {
        sb_vr_pub_stream_t *ps = &p->streams[i];
        for (unsigned k = 0; k < ps->nrelays; k++) {
            sb_vr_relay_op_t *op = sb_vr_relay_op_new(ps->relays[k]);
            op->neg = ps->neg;
            op->muted = ps->moderated || ps->paused;
            sb_vr_post_to(ps->relays[k]->loop, sb_vr_relay_update_run, op);
        }
    }
}

void sb_vr_relays_drop(sb_vr_publisher_t *p)
{
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_vr_pub_stream_t *ps = &p->streams[i];
        for (unsigned k = 0; k < ps->nrelays; k++)
            sb_vr_relay_unref(ps->relays[k]);
        sb_free(ps->relays);
        ps->relays = NULL;
        ps->nrelays = 0;
    }
}

/* ---- batches: the home loop's side ----------------------------------------------------------- */

/* The home loop's publisher streams with batches waiting, and the source that flushes them.
 * Per thread: each media loop has its own. */
static _Thread_local struct {
    sb_vr_pub_stream_t **items; /* each holds a reference on its publisher */
    unsigned n, cap;
    GSource *source;
    bool stopped; /* deinit: relay nothing more from this loop */
} sb_vr_flush;

static void sb_vr_batch_free(sb_vr_batch_t *b)
{
    for (unsigned i = 0; i < b->n; i++)
        sb_vr_core->packet_release(b->pkts[i]);
    sb_vr_relay_unref(b->relay);
    sb_free(b);
}

/* Serving loop: forward the batch to the relay's subscribers, release it. */
static void sb_vr_batch_run(void *arg)
{
    sb_vr_batch_t *b = arg;
    sb_vr_relay_t *r = b->relay;
    memcpy(r->fan.layer_last_us, b->layer_last_us, sizeof(r->fan.layer_last_us));
    for (unsigned i = 0; i < b->n; i++) {
        if (r->fan.nsubs)
            sb_vr_fanout_run(&r->fan, b->pkts[i], b->pkts[i]->arrival_us);
        sb_vr_core->packet_release(b->pkts[i]);
    }
    b->n = 0;
    b->relay = NULL;
    sb_free(atomic_exchange(&r->spare, b)); /* keep one for the home loop */
    sb_vr_relay_unref(r);
}

/* Home loop: send the relay's batch on its way. */
static void sb_vr_relay_flush(sb_vr_relay_t *r)
{
    sb_vr_batch_t *b = r->batch;
    if (!b)
        return;
    r->batch = NULL;
    const sb_vr_fanout_t *home = &r->pub->streams[r->index].loop.fan;
    memcpy(b->layer_last_us, home->layer_last_us, sizeof(b->layer_last_us));
    if (sb_vr_core->loop_post(r->loop, sb_vr_batch_run, b) < 0)
        sb_vr_batch_free(b); /* the serving loop is gone (shutdown) */
}

/* Home loop: post the stream's batches, then forward its deferred packets locally. */
static void sb_vr_stream_flush(sb_vr_pub_stream_t *ps)
{
    for (unsigned i = 0; i < ps->loop.nrelays; i++)
        sb_vr_relay_flush(ps->loop.relays[i]);
    for (unsigned i = 0; i < ps->loop.nlocal; i++) {
        sb_rtp_packet_t *pkt = ps->loop.local[i];
        sb_vr_fanout_run(&ps->loop.fan, pkt, pkt->arrival_us);
        sb_vr_core->packet_release(pkt);
    }
    ps->loop.nlocal = 0;
}

static void sb_vr_flush_all(void)
{
    /* Flushing never adds to the list (forwarding does not call on_rtp). */
    for (unsigned i = 0; i < sb_vr_flush.n; i++) {
        sb_vr_pub_stream_t *ps = sb_vr_flush.items[i];
        sb_vr_stream_flush(ps);
        ps->loop.pending = false;
        sb_vr_publisher_unref(ps->loop.fan.pub);
    }
    sb_vr_flush.n = 0;
}

/* The flush happens in the prepare hook, which GLib runs with the context unlocked at the
 * start of every iteration, before it polls: right after the dispatches that filled the
 * batches, without an iteration of its own (a ready source would cost one more pass over
 * every source of the loop: measured +0.15 us per forwarded packet). Never ready. */
static gboolean sb_vr_flush_prepare(GSource *src, gint *timeout)
{
    (void)src;
    *timeout = -1;
    if (sb_vr_flush.n)
        sb_vr_flush_all();
    return FALSE;
}

static gboolean sb_vr_flush_check(GSource *src)
{
    (void)src;
    return FALSE;
}

static gboolean sb_vr_flush_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    (void)src;
    (void)cb;
    (void)data;
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs sb_vr_flush_funcs = {
    .prepare = sb_vr_flush_prepare,
    .check = sb_vr_flush_check,
    .dispatch = sb_vr_flush_dispatch,
};

/* Home loop: the flush source of this loop, made on first use. NULL off a media loop. */
static GSource *sb_vr_flush_source(void)
{
    if (sb_vr_flush.source || sb_vr_flush.stopped)
        return sb_vr_flush.source;
    GMainContext *ctx = g_main_context_get_thread_default();
    if (!ctx)
        return NULL;
    GSource *src = g_source_new(&sb_vr_flush_funcs, sizeof(GSource));
    /* Prepared first: GLib stops preparing lower priorities once a source is ready. */
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_set_name(src, "videoroom relay flush");
    g_source_attach(src, ctx);
    sb_vr_flush.source = src;
    return src;
}

/* Home loop: a retained copy of pkt into the relay's batch; false when none could be made. */
static bool sb_vr_relay_add(sb_vr_relay_t *r, const sb_rtp_packet_t *pkt)
{
    sb_rtp_packet_t *copy = sb_vr_core->packet_retain(pkt);
    if (!copy)
        return false;
    sb_vr_batch_t *b = r->batch;
    if (!b) {
        b = atomic_exchange(&r->spare, NULL);
        if (!b)
            b = sb_malloc(sizeof(*b));
        sb_vr_relay_ref(r);
        b->relay = r;
        b->n = 0;
        r->batch = b;
    }
    b->pkts[b->n++] = copy;
    return true;
}

bool sb_vr_relays_push(sb_vr_pub_stream_t *ps, const sb_rtp_packet_t *pkt)
{
    if (sb_vr_flush.stopped || !sb_vr_core->packet_retain || !sb_vr_core->loop_post ||
        !sb_vr_flush_source())
        return false;
    bool any = false, full = false;
    for (unsigned i = 0; i < ps->loop.nrelays; i++) {
        sb_vr_relay_t *r = ps->loop.relays[i];
        if (atomic_load_explicit(&r->live, memory_order_relaxed) && sb_vr_relay_add(r, pkt)) {
            any = true;
            full = full || r->batch->n == SB_VR_BATCH_MAX;
        }
    }
    if (!any)
        return false;
    /* The local fan-out waits for the flush too, so that every loop starts on a burst of
     * packets at once instead of the others waiting for this one's share of it. */
    if (ps->loop.fan.nsubs) {
        sb_rtp_packet_t *copy = sb_vr_core->packet_retain(pkt);
        if (!copy) {
            sb_vr_fanout_run(&ps->loop.fan, pkt, pkt->arrival_us);
        } else {
            if (!ps->loop.local)
                ps->loop.local = sb_calloc(SB_VR_BATCH_MAX, sizeof(*ps->loop.local));
            ps->loop.local[ps->loop.nlocal++] = copy;
            full = full || ps->loop.nlocal == SB_VR_BATCH_MAX;
        }
    }
    if (!ps->loop.pending) {
        if (sb_vr_flush.n == sb_vr_flush.cap) {
            sb_vr_flush.cap = sb_vr_flush.cap ? sb_vr_flush.cap * 2 : 16;
            sb_vr_flush.items =
                sb_realloc(sb_vr_flush.items, sb_vr_flush.cap * sizeof(*sb_vr_flush.items));
        }
        sb_vr_publisher_ref(ps->loop.fan.pub);
        sb_vr_flush.items[sb_vr_flush.n++] = ps;
        ps->loop.pending = true;
    }
    if (full)
        sb_vr_stream_flush(ps);
    return true;
}

void sb_vr_relays_detach(sb_vr_pub_stream_t *ps)
{
    sb_vr_stream_flush(ps); /* its flush list entry may stay: harmless */
    for (unsigned i = 0; i < ps->loop.nrelays; i++)
        sb_vr_relay_unref(ps->loop.relays[i]);
    sb_free(ps->loop.relays);
    ps->loop.relays = NULL;
    ps->loop.nrelays = ps->loop.relays_cap = 0;
}

void sb_vr_relays_loop_stop(void)
{
    for (unsigned i = 0; i < sb_vr_flush.n; i++) {
        sb_vr_pub_stream_t *ps = sb_vr_flush.items[i];
        for (unsigned k = 0; k < ps->loop.nrelays; k++) {
            sb_vr_relay_t *r = ps->loop.relays[k];
            if (r->batch)
                sb_vr_batch_free(r->batch);
            r->batch = NULL;
        }
        for (unsigned k = 0; k < ps->loop.nlocal; k++)
            sb_vr_core->packet_release(ps->loop.local[k]);
        ps->loop.nlocal = 0;
        ps->loop.pending = false;
        sb_vr_publisher_unref(ps->loop.fan.pub);
    }
    sb_free(sb_vr_flush.items);
    sb_vr_flush.items = NULL;
    sb_vr_flush.n = sb_vr_flush.cap = 0;
    if (sb_vr_flush.source) {
        g_source_destroy(sb_vr_flush.source);
        g_source_unref(sb_vr_flush.source);
        sb_vr_flush.source = NULL;
    }
    sb_vr_flush.stopped = true;
}

/* ---- keyframe requests: serving loop to home loop ------------------------------------------- */

static void sb_vr_relay_kf_run(void *arg)
{
    sb_vr_relay_op_t *op = arg;
    sb_vr_publisher_t *p = op->pub;
    if (op->idx < p->loop.nstreams) {
        if (op->first)
            sb_vr_request_first_kf(&p->streams[op->idx].loop.fan, op->layer);
        else
            sb_vr_request_kf(&p->streams[op->idx].loop.fan, op->layer);
    }
    sb_vr_relay_op_free(op);
}

void sb_vr_relay_request_kf(sb_vr_relay_t *r, int layer, bool first)
{
    int64_t now = sb_now_us();
    /* The home loop's core applies the rate limit to first requests its own way. */
    if (layer < 0 || layer >= SB_MEDIA_MAX_LAYERS ||
        (!first && now - r->kf_req_us[layer] < SB_VR_RELAY_KF_US))
        return;
    r->kf_req_us[layer] = now;
    sb_vr_relay_op_t *op = sb_vr_relay_op_new(NULL);
    sb_vr_publisher_ref(r->pub);
    op->pub = r->pub;
    op->idx = r->index;
    op->layer = layer;
    op->first = first;
    if (sb_vr_core->loop_post(r->home, sb_vr_relay_kf_run, op) < 0)
        sb_vr_relay_op_free(op);
}
