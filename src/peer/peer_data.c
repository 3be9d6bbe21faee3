/* Data channels of one PeerConnection (see peer_data.h): SCTP packets travel as DTLS
 * application data; DCEP opens (theirs answered with an ACK, ours sent before the first
 * message on a new label); text and binary messages go to the plugin by channel label. */
#include "peer/peer_data.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "loop/loop.h"
#include "peer/peer_internal.h"
#include "proto/dcep.h"
#include "proto/dtls.h"
#include "proto/sctp.h"

#define SB_PEER_DATA_TICK_MS 10
/* Reliable messages held back while usrsctp's send buffer is full (a burst, or a client that
 * reads slowly), sent in order as acknowledgements free it; past this, dropped. */
#define SB_PEER_DATA_PENDING_MAX (1u << 20)

/* A reliable message waiting for room in the send buffer. */
typedef struct sb_peer_pending {
    uint16_t stream;
    uint32_t ppid;
    sb_sctp_send_opts_t opts;
    size_t len;
    uint8_t data[];
} sb_peer_pending_t;

typedef struct sb_peer_channel {
    uint16_t stream;
    bool ours;  /* opened by our DCEP OPEN */
    bool acked; /* theirs, or ours once the client's ACK came: until then we send ordered
                 * (RFC 8832 section 6), so no message overtakes the OPEN */
    char *label, *protocol;
    char *key;                /* label, protocol and properties: see sb_peer_data_key */
    sb_sctp_send_opts_t send; /* the channel's properties, for what we send on it */
} sb_peer_channel_t;

struct sb_peer_data {
    struct sb_peer *p;
    sb_peer_owner_t *owner; /* the peer's; for the tick thread's wake-ups */
    sb_loop_t *loop;
    sb_sctp_t *sctp;
    bool dtls_client;
    uint32_t remote_max_message; /* 0: any size */
    /* Open channels: by stream (owning), by key (label, protocol and properties) and by
     * label (the latest channel of each). At most SB_SCTP_MAX_STREAMS. */
    GHashTable *by_stream, *by_key, *by_label;
    bool was_up;
    GQueue pending; /* sb_peer_pending_t *, in order */
    size_t pending_bytes;
    sb_peer_data_stats_t stats;
};

static struct {
    pthread_t thread;
    bool running;
    bool stop;             /* under lock */
    unsigned associations; /* under lock: live sb_sctp objects */
    GMutex lock;
    GCond wake;            /* stop, or the first association */
} sb_peer_data_g;

/* ---- the timer thread: usrsctp's timers, which queue packets; owners drain on their loop.
 * Every 10 ms while an association lives; once none does, once a second (what usrsctp keeps
 * of closed ones still times out), so a server with no data channel does not wake 100 times
 * a second for nothing. */

static void *sb_peer_data_ticker(void *unused)
{
    (void)unused;
    int64_t last = sb_now_us();
    g_mutex_lock(&sb_peer_data_g.lock);
    while (!sb_peer_data_g.stop) {
        bool idle = !sb_peer_data_g.associations;
        gint64 until = g_get_monotonic_time() + (idle ? 1000000 : SB_PEER_DATA_TICK_MS * 1000);
        while (!sb_peer_data_g.stop && !(idle && sb_peer_data_g.associations) &&
               g_cond_wait_until(&sb_peer_data_g.wake, &sb_peer_data_g.lock, until))
            ;
        g_mutex_unlock(&sb_peer_data_g.lock);
        int64_t now = sb_now_us();
        sb_sctp_tick((uint32_t)((now - last) / 1000));
        last += ((now - last) / 1000) * 1000;
        g_mutex_lock(&sb_peer_data_g.lock);
    }
    g_mutex_unlock(&sb_peer_data_g.lock);
    return NULL;
}

static void sb_peer_data_count(int delta)
{
    g_mutex_lock(&sb_peer_data_g.lock);
    sb_peer_data_g.associations += (unsigned)delta;
    if (delta > 0 && sb_peer_data_g.associations == 1)
        g_cond_signal(&sb_peer_data_g.wake); /* back to 10 ms at once */
    g_mutex_unlock(&sb_peer_data_g.lock);
}

int sb_peer_data_global_start(void)
{
    if (sb_sctp_global_init() < 0)
        return SB_EIO;
    sb_peer_data_g.stop = false;
    if (pthread_create(&sb_peer_data_g.thread, NULL, sb_peer_data_ticker, NULL) != 0)
        return SB_EIO;
    sb_peer_data_g.running = true;
    return 0;
}

void sb_peer_data_global_stop(void)
{
    if (sb_peer_data_g.running) {
        g_mutex_lock(&sb_peer_data_g.lock);
        sb_peer_data_g.stop = true;
        g_cond_signal(&sb_peer_data_g.wake);
        g_mutex_unlock(&sb_peer_data_g.lock);
        pthread_join(sb_peer_data_g.thread, NULL);
        sb_peer_data_g.running = false;
    }
    sb_sctp_global_deinit();
}

/* ---- the association's edges ---- */

static void sb_peer_data_drain_job(void *arg)
{
    sb_peer_owner_t *o = arg;
    struct sb_peer *p = o->ops->peer(o);
    if (p && p->data)
        sb_sctp_drain(p->data->sctp);
    o->ops->unref(o);
}

/* Any thread (the ticker): something is queued; drain it on the peer's loop. d is alive
 * here (sctp.c calls this under its lock, and sb_peer_data_stop frees the association
 * first); the job finds the peer again through its owner. */
static void sb_peer_data_wake(void *ctx)
{
    sb_peer_data_t *d = ctx;
    d->owner->ops->ref(d->owner);
    if (sb_loop_post(d->loop, sb_peer_data_drain_job, d->owner) < 0)
        d->owner->ops->unref(d->owner);
}

static void sb_peer_data_out(void *ctx, const uint8_t *pkt, size_t len)
{
    sb_peer_data_t *d = ctx;
    if (d->p->dtls)
        sb_dtls_send_data(d->p->dtls, pkt, len);
}

/* The association's state. Closed after it was up (the client's ABORT, or ours to a
 * protocol violation in what it sent): the client is told with a "media" event for the data
 * m-line (janus.js: mediaState("data", false)); its media goes on. */
static void sb_peer_data_state(void *ctx, sb_sctp_state_t st)
{
    sb_peer_data_t *d = ctx;
    SB_DEBUG("data", "[%llu/%llu] SCTP %s", (unsigned long long)d->p->ph->session_id,
             (unsigned long long)d->p->ph->handle_id,
             st == SB_SCTP_UP ? "up" : st == SB_SCTP_CLOSED ? "closed" : "connecting");
    if (st == SB_SCTP_UP)
        d->was_up = true;
    if (st != SB_SCTP_CLOSED || !d->was_up)
        return;
    const char *mid = "";
    for (unsigned i = 0; i < d->p->nstreams; i++)
        if (d->p->streams[i].kind == SB_MEDIA_DATA)
            mid = d->p->streams[i].mid;
    SB_INFO("data", "[%llu/%llu] data channels closed (SCTP association ended)",
            (unsigned long long)d->p->ph->session_id, (unsigned long long)d->p->ph->handle_id);
    sb_peer_push_core_event(d->p, "media",
                            json_pack("{s:s, s:s, s:b, s:s}", "type", "data", "mid", mid,
                                      "receiving", false, "reason", "SCTP association closed"));
}

#define SB_PEER_STREAM_KEY(stream) GUINT_TO_POINTER((guint)(stream) + 1u)

static sb_peer_channel_t *sb_peer_data_by_stream(sb_peer_data_t *d, uint16_t stream)
{
    return g_hash_table_lookup(d->by_stream, SB_PEER_STREAM_KEY(stream));
}

/* Channels with the same label may differ in protocol and properties (a VideoRoom subscriber
 * gets a publisher's "game" and "chat" channels both labelled with its id): a message goes
 * on the channel matching all three. The key is written into out (snprintf's return: a key
 * that does not fit belongs to no channel, whose label and protocol are within DCEP's
 * limits). A stack buffer serves each message: no allocation per message. */
#define SB_PEER_DATA_KEY_MAX (2 * SB_DCEP_LABEL_MAX + 64)
static int sb_peer_data_key(char out[SB_PEER_DATA_KEY_MAX], const char *label,
                            const char *protocol, const sb_sctp_send_opts_t *o)
{
    return snprintf(out, SB_PEER_DATA_KEY_MAX, "%zu:%s%zu:%s%d%d%d%u", strlen(label), label,
                    strlen(protocol), protocol, o->unordered, o->rexmit_limited,
                    o->time_limited,
                    o->rexmit_limited ? o->max_rexmit
                    : o->time_limited ? o->lifetime_ms
                                      : 0u);
}

static void sb_peer_channel_free(gpointer ptr)
{
    sb_peer_channel_t *c = ptr;
    g_free(c->key);
    g_free(c->label);
    g_free(c->protocol);
    sb_free(c);
}

/* No message finds c any more (it is closing); its stream stays taken until closed. */
static void sb_peer_data_unfind(sb_peer_data_t *d, sb_peer_channel_t *c)
{
    if (g_hash_table_lookup(d->by_label, c->label) == c)
        g_hash_table_remove(d->by_label, c->label);
    if (g_hash_table_lookup(d->by_key, c->key) == c)
        g_hash_table_remove(d->by_key, c->key);
}

/* Forget the channel on stream (closed both ways). */
static void sb_peer_data_forget(sb_peer_data_t *d, uint16_t stream)
{
    sb_peer_channel_t *c = sb_peer_data_by_stream(d, stream);
    if (!c)
        return;
    sb_peer_data_unfind(d, c);
    g_hash_table_remove(d->by_stream, SB_PEER_STREAM_KEY(stream));
}

static sb_peer_channel_t *sb_peer_data_add(sb_peer_data_t *d, uint16_t stream,
                                           const sb_dcep_channel_t *props)
{
    sb_peer_data_forget(d, stream); /* none in practice: the callers check */
    sb_peer_channel_t *c = SB_NEW(sb_peer_channel_t);
    c->stream = stream;
    c->label = g_strdup(props->label);
    c->protocol = g_strdup(props->protocol);
    c->send.unordered = !props->ordered;
    c->send.rexmit_limited = props->reliability == SB_DCEP_PARTIAL_REXMIT;
    c->send.time_limited = props->reliability == SB_DCEP_PARTIAL_TIMED;
    c->send.max_rexmit = c->send.lifetime_ms = props->reliability_param;
    c->acked = true;
    g_hash_table_insert(d->by_stream, SB_PEER_STREAM_KEY(stream), c);
    char key[SB_PEER_DATA_KEY_MAX];
    sb_peer_data_key(key, c->label, c->protocol, &c->send); /* fits: DCEP bounds both */
    c->key = g_strdup(key);
    g_hash_table_insert(d->by_label, c->label, c);
    g_hash_table_insert(d->by_key, c->key, c);
    return c;
}

static int sb_peer_data_put(sb_peer_data_t *d, uint16_t stream, uint32_t ppid,
                            const sb_sctp_send_opts_t *opts, const uint8_t *data, size_t len);

/* The client's DCEP on stream: an OPEN on a free stream is acknowledged. RFC 8832 gives the
 * DTLS client the even streams, but aiortc picks its parity from the ICE role: any free stream
 * is taken. An OPEN on a stream already open (ours or theirs) is a protocol error: ignored,
 * the channel there stays as it was (a stream is free again once reset, see
 * sb_peer_data_stream_closed). */
static void sb_peer_data_dcep(sb_peer_data_t *d, uint16_t stream, const uint8_t *msg, size_t len)
{
    sb_dcep_channel_t *ch = sb_malloc(sizeof(*ch));
    int type = sb_dcep_parse(msg, len, ch);
    sb_peer_channel_t *old = sb_peer_data_by_stream(d, stream);
    if (type == SB_DCEP_MSG_OPEN && !old) {
        sb_peer_data_add(d, stream, ch);
        uint8_t ack[SB_DCEP_ACK_LEN];
        sb_dcep_write_ack(ack);
        sb_peer_data_put(d, stream, SB_PPID_DCEP, &(sb_sctp_send_opts_t){0}, ack, sizeof(ack));
        SB_DEBUG("data", "channel '%s' opened by the client on stream %u", ch->label, stream);
    } else if (type == SB_DCEP_MSG_ACK && old && old->ours) {
        old->acked = true;
    } else {
        SB_DEBUG("data", "DCEP message refused on stream %u", stream);
    }
    sb_free(ch);
}

static void sb_peer_data_message(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *data,
                                 size_t len)
{
    sb_peer_data_t *d = ctx;
    if (ppid == SB_PPID_DCEP) {
        sb_peer_data_dcep(d, stream, data, len);
        return;
    }
    bool empty = ppid == SB_PPID_STRING_EMPTY || ppid == SB_PPID_BINARY_EMPTY;
    if (ppid != SB_PPID_STRING && ppid != SB_PPID_BINARY && !empty)
        return; /* deprecated partial PPIDs (52, 54) and unknown ones */
    sb_peer_channel_t *c = sb_peer_data_by_stream(d, stream);
    if (!c || !d->p->plugin->on_data || d->p->state != SB_PEER_UP)
        return; /* data on a stream no channel was opened on, or the call is ending */
    sb_data_message_t m = {.label = c->label,
                           .protocol = c->protocol,
                           .binary = ppid == SB_PPID_BINARY || ppid == SB_PPID_BINARY_EMPTY,
                           .data = empty ? (const uint8_t *)"" : data,
                           .len = empty ? 0 : len,
                           .unordered = c->send.unordered,
                           .reliability = c->send.rexmit_limited ? SB_DATA_MAX_RETRANSMITS
                                          : c->send.time_limited ? SB_DATA_MAX_LIFETIME
                                                                 : SB_DATA_RELIABLE,
                           .reliability_param = c->send.rexmit_limited ? c->send.max_rexmit
                                                                       : c->send.lifetime_ms};
    d->p->plugin->on_data(d->p->ph, &m);
}

/* Both sides of stream are closed: the channel is gone, its number free again; what was
 * held back for it is dropped (it must not reach a new channel on the same number). */
static void sb_peer_data_stream_closed(void *ctx, uint16_t stream)
{
    sb_peer_data_t *d = ctx;
    SB_DEBUG("data", "channel on stream %u closed", stream);
    sb_peer_data_forget(d, stream);
    for (GList *l = d->pending.head, *next; l; l = next) {
        next = l->next;
        sb_peer_pending_t *m = l->data;
        if (m->stream != stream)
            continue;
        d->pending_bytes -= m->len;
        d->stats.reliable_dropped++;
        g_queue_delete_link(&d->pending, l);
        sb_free(m);
    }
}

static void sb_peer_data_writable(void *ctx);

static const sb_sctp_ops_t sb_peer_data_sctp_ops = {
    .send = sb_peer_data_out,
    .on_message = sb_peer_data_message,
    .on_state = sb_peer_data_state,
    .on_stream_closed = sb_peer_data_stream_closed,
    .on_writable = sb_peer_data_writable,
    .wake = sb_peer_data_wake,
};

/* ---- the peer's side ---- */

sb_peer_data_t *sb_peer_data_start(struct sb_peer *p, uint16_t remote_port,
                                   uint32_t remote_max_message, bool dtls_client)
{
    sb_peer_data_t *d = SB_NEW(sb_peer_data_t);
    d->p = p;
    d->owner = p->owner;
    d->loop = p->loop;
    d->dtls_client = dtls_client;
    d->remote_max_message = remote_max_message;
    d->by_stream = g_hash_table_new_full(NULL, NULL, NULL, sb_peer_channel_free);
    d->by_label = g_hash_table_new(g_str_hash, g_str_equal);
    d->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    sb_sctp_config_t cfg = {.remote_port = remote_port, .max_message = sb_peer_data_max_message()};
    int rc = sb_sctp_new(&cfg, &sb_peer_data_sctp_ops, d, &d->sctp);
    if (rc == 0)
        sb_peer_data_count(1);
    if (rc < 0 || sb_sctp_connect(d->sctp) < 0) {
        SB_WARN("data", "cannot start the SCTP association");
        sb_peer_data_stop(d);
        return NULL;
    }
    sb_sctp_drain(d->sctp);
    return d;
}

void sb_peer_data_input(sb_peer_data_t *d, const uint8_t *pkt, size_t len)
{
    sb_sctp_input(d->sctp, pkt, len);
    sb_sctp_drain(d->sctp);
}

static void sb_peer_data_msg_opts(const sb_data_message_t *msg, sb_sctp_send_opts_t *o)
{
    *o = (sb_sctp_send_opts_t){
        .unordered = msg->unordered,
        .rexmit_limited = msg->reliability == SB_DATA_MAX_RETRANSMITS,
        .time_limited = msg->reliability == SB_DATA_MAX_LIFETIME,
        .max_rexmit = msg->reliability_param,
        .lifetime_ms = msg->reliability_param,
    };
}

/* The channel for msg: the one with its label, protocol and properties; for a plain message
 * (reliable, ordered, no protocol: what most plugins send) the latest one with its label,
 * whatever its properties, as the reference finds channels. NULL: none. */
static sb_peer_channel_t *sb_peer_data_find(sb_peer_data_t *d, const sb_data_message_t *msg)
{
    const char *label = msg->label ? msg->label : "";
    const char *protocol = msg->protocol ? msg->protocol : "";
    sb_sctp_send_opts_t o;
    sb_peer_data_msg_opts(msg, &o);
    char key[SB_PEER_DATA_KEY_MAX];
    int n = sb_peer_data_key(key, label, protocol, &o);
    sb_peer_channel_t *c =
        n < SB_PEER_DATA_KEY_MAX ? g_hash_table_lookup(d->by_key, key) : NULL;
    if (c || msg->unordered || msg->reliability != SB_DATA_RELIABLE || *protocol)
        return c;
    c = g_hash_table_lookup(d->by_label, label); /* a plain message: as the reference finds */
    bool reliable = c && !c->send.unordered && !c->send.rexmit_limited && !c->send.time_limited;
    return reliable ? c : NULL;
}

/* Announce a channel of ours (DCEP OPEN) with msg's label and properties, on the lowest free
 * stream of the parity RFC 8832 gives our DTLS role (streams are reused once closed). */
static int sb_peer_data_open(sb_peer_data_t *d, const sb_data_message_t *msg,
                             sb_peer_channel_t **out)
{
    uint16_t stream = d->dtls_client ? 0 : 1;
    while (stream < SB_SCTP_MAX_STREAMS && sb_peer_data_by_stream(d, stream))
        stream += 2; /* taken, by us or by the client (see sb_peer_data_dcep) */
    if (stream >= SB_SCTP_MAX_STREAMS)
        return SB_ENOMEM;
    const char *label = msg->label ? msg->label : "";
    const char *protocol = msg->protocol ? msg->protocol : "";
    if (strlen(label) > SB_DCEP_LABEL_MAX || strlen(protocol) > SB_DCEP_LABEL_MAX)
        return SB_EINVAL;
    sb_dcep_channel_t *ch = SB_NEW(sb_dcep_channel_t);
    ch->ordered = !msg->unordered;
    ch->reliability = msg->reliability == SB_DATA_MAX_RETRANSMITS ? SB_DCEP_PARTIAL_REXMIT
                      : msg->reliability == SB_DATA_MAX_LIFETIME  ? SB_DCEP_PARTIAL_TIMED
                                                                  : SB_DCEP_RELIABLE;
    ch->reliability_param = ch->reliability == SB_DCEP_RELIABLE ? 0 : msg->reliability_param;
    g_strlcpy(ch->label, label, sizeof(ch->label));
    g_strlcpy(ch->protocol, protocol, sizeof(ch->protocol));
    uint8_t *open = sb_malloc(SB_DCEP_OPEN_MAX);
    int n = sb_dcep_write_open(ch, open, SB_DCEP_OPEN_MAX);
    int rc = n < 0 ? n
                   : sb_peer_data_put(d, stream, SB_PPID_DCEP, &(sb_sctp_send_opts_t){0}, open,
                                      (size_t)n);
    if (rc == 0) {
        *out = sb_peer_data_add(d, stream, ch);
        (*out)->ours = true;
        (*out)->acked = false;
    }
    sb_free(open);
    sb_free(ch);
    return rc;
}

/* Send what waits, in order, until usrsctp refuses again. */
static void sb_peer_data_flush(sb_peer_data_t *d)
{
    sb_peer_pending_t *m;
    while ((m = g_queue_peek_head(&d->pending))) {
        int rc = sb_sctp_send(d->sctp, m->stream, m->ppid, m->data, m->len, &m->opts);
        if (rc == SB_EAGAIN)
            break;
        if (rc < 0) /* its stream was closed meanwhile, or the association went */
            d->stats.reliable_dropped++;
        g_queue_pop_head(&d->pending);
        d->pending_bytes -= m->len;
        sb_free(m);
    }
}

static void sb_peer_data_writable(void *ctx)
{
    sb_peer_data_flush(ctx);
}

/* Hold a reliable message back (after SB_EAGAIN, or behind others held back). 0, or
 * SB_EAGAIN when the pending bound is reached (dropped: the caller counts it). */
static int sb_peer_data_hold(sb_peer_data_t *d, uint16_t stream, uint32_t ppid,
                             const sb_sctp_send_opts_t *opts, const uint8_t *data, size_t len)
{
    if (d->pending_bytes + len > SB_PEER_DATA_PENDING_MAX)
        return SB_EAGAIN;
    sb_peer_pending_t *m = sb_malloc(sizeof(*m) + len);
    m->stream = stream;
    m->ppid = ppid;
    m->opts = *opts;
    m->len = len;
    memcpy(m->data, data, len);
    g_queue_push_tail(&d->pending, m);
    d->pending_bytes += len;
    return 0;
}

/* One message on stream: a reliable one (DCEP included) goes behind those held back, or is
 * held when the send buffer is full; a partially reliable one is sent now or never (late is
 * as good as lost for it). 0, or what sb_sctp_send/sb_peer_data_hold say; SB_EAGAIN is
 * counted here. */
static int sb_peer_data_put(sb_peer_data_t *d, uint16_t stream, uint32_t ppid,
                            const sb_sctp_send_opts_t *opts, const uint8_t *data, size_t len)
{
    bool reliable = !(opts->rexmit_limited || opts->time_limited);
    int rc = reliable && d->pending.length ? SB_EAGAIN
                                           : sb_sctp_send(d->sctp, stream, ppid, data, len, opts);
    if (rc == SB_EAGAIN && reliable)
        rc = sb_peer_data_hold(d, stream, ppid, opts, data, len);
    if (rc == SB_EAGAIN) { /* the client does not keep up: bounded, dropped, counted */
        if (reliable)
            d->stats.reliable_dropped++;
        else
            d->stats.unreliable_dropped++;
    }
    return rc;
}

int sb_peer_data_send(sb_peer_data_t *d, const sb_data_message_t *msg)
{
    if (sb_sctp_state(d->sctp) != SB_SCTP_UP)
        return SB_ESTATE;
    if (d->remote_max_message && msg->len > d->remote_max_message) {
        d->stats.oversize_refused++;
        return SB_EINVAL;
    }
    sb_peer_channel_t *c = sb_peer_data_find(d, msg);
    int rc = c ? 0 : sb_peer_data_open(d, msg, &c);
    if (rc == 0) {
        uint32_t ppid = msg->binary ? (msg->len ? SB_PPID_BINARY : SB_PPID_BINARY_EMPTY)
                                    : (msg->len ? SB_PPID_STRING : SB_PPID_STRING_EMPTY);
        sb_sctp_send_opts_t opts = c->send;
        opts.unordered = opts.unordered && c->acked;
        rc = sb_peer_data_put(d, c->stream, ppid, &opts,
                              msg->len ? msg->data : (const uint8_t *)"", msg->len ? msg->len : 1);
    }
    sb_sctp_drain(d->sctp);
    return rc;
}

int sb_peer_data_close(sb_peer_data_t *d, const char *label)
{
    if (sb_sctp_state(d->sctp) != SB_SCTP_UP)
        return SB_ESTATE;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, d->by_stream);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        sb_peer_channel_t *c = v;
        if (!c->ours || strcmp(c->label, label) != 0)
            continue;
        sb_peer_data_unfind(d, c); /* forgotten once the client closes its side too */
        sb_sctp_close_stream(d->sctp, c->stream);
    }
    sb_sctp_drain(d->sctp);
    return 0;
}

void sb_peer_data_set_remote_max(sb_peer_data_t *d, uint32_t remote_max_message)
{
    d->remote_max_message = remote_max_message;
}

bool sb_peer_data_ended(const sb_peer_data_t *d)
{
    return d->was_up && sb_sctp_state(d->sctp) == SB_SCTP_CLOSED;
}

sb_peer_data_stats_t sb_peer_data_stats(const sb_peer_data_t *d)
{
    sb_peer_data_stats_t st = d->stats;
    st.channels = g_hash_table_size(d->by_stream);
    st.pending_bytes = d->pending_bytes;
    return st;
}

void sb_peer_data_stop(sb_peer_data_t *d)
{
    if (!d)
        return;
    /* What this client's data channels lost, said once at the end (never per message). */
    sb_sctp_stats_t st = d->sctp ? sb_sctp_stats(d->sctp) : (sb_sctp_stats_t){0};
    if (d->stats.unreliable_dropped || d->stats.reliable_dropped || d->stats.oversize_refused ||
        st.outbox_dropped || st.oversize_refused || st.reassembly_dropped)
        SB_INFO("data", "[%llu/%llu] data channels dropped: %llu unreliable and %llu reliable "
                "messages the client did not keep up with, %llu oversize, %llu queue, %llu "
                "reassembly",
                (unsigned long long)d->p->ph->session_id, (unsigned long long)d->p->ph->handle_id,
                (unsigned long long)d->stats.unreliable_dropped,
                (unsigned long long)d->stats.reliable_dropped,
                (unsigned long long)(d->stats.oversize_refused + st.oversize_refused),
                (unsigned long long)st.outbox_dropped, (unsigned long long)st.reassembly_dropped);
    if (d->sctp)
        sb_peer_data_count(-1);
    sb_sctp_free(d->sctp); /* first: no wake-up can name d after this */
    g_hash_table_destroy(d->by_label);
    g_hash_table_destroy(d->by_key);
    g_queue_clear_full(&d->pending, sb_free);
    g_hash_table_destroy(d->by_stream);
    sb_free(d);
}
