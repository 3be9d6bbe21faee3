/* SCTP for data channels over usrsctp (see sctp.h). Everything usrsctp hands us (packets,
 * message fragments, notifications) is copied into the association's queue under its lock
 * and delivered by sb_sctp_drain on the owner's thread. */
#include "proto/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_SCTP_SLOTS 4096 /* associations at once (id table) */

typedef enum {
    SB_SCTP_ITEM_PACKET,
    SB_SCTP_ITEM_MESSAGE,
    SB_SCTP_ITEM_STATE,
    SB_SCTP_ITEM_RESET,    /* the peer reset its outgoing stream (closed a channel) */
    SB_SCTP_ITEM_WRITABLE, /* room in the send buffer again */
} sb_sctp_kind_t;

/* A message arriving in pieces (usrsctp's partial delivery), until MSG_EOR. One per stream
 * (and ordering): usrsctp hands over pieces of messages on different streams interleaved (a
 * message stuck behind a lost packet while another stream's goes past it). Every piece of a
 * message carries the TSN of its first fragment: a piece with another TSN starts a new
 * message, and the one in pieces was abandoned (partial reliability) and never completes. */
typedef struct sb_sctp_partial {
    uint16_t stream;
    bool unordered;
    uint32_t tsn;
    bool dropped; /* over max_message or the reassembly budget: the rest is discarded */
    size_t len;
    uint8_t *data;
} sb_sctp_partial_t;

typedef struct sb_sctp_item {
    struct sb_sctp_item *next;
    sb_sctp_kind_t kind;
    uint16_t stream;
    uint32_t ppid;
    sb_sctp_state_t state;
    size_t len;
    uint8_t data[];
} sb_sctp_item_t;

struct sb_sctp {
    uintptr_t id; /* usrsctp's address for us: slot + generation, never a pointer */
    struct socket *sock;
    sb_sctp_config_t cfg;
    const sb_sctp_ops_t *ops;
    void *ctx;
    pthread_mutex_t lock; /* guards the queue, state and stats against sb_sctp_tick */
    sb_sctp_item_t *head, *tail;
    size_t queued_bytes;
    sb_sctp_state_t state;
    sb_sctp_stats_t stats;
    /* Messages in pieces (n_partials, at most one per stream) and their bytes, at most
     * SB_SCTP_REASSEMBLY_MESSAGES * max_message. */
    sb_sctp_partial_t *partials;
    size_t n_partials, cap_partials, partial_bytes;
    /* Streams whose outgoing side we reset first (owner's thread): the peer's answering
     * reset then needs none from us. */
    uint8_t closing[SB_SCTP_MAX_STREAMS / 8];
    bool want_writable; /* a send was refused: on_writable when room comes (under lock) */
    bool wake_due;      /* the queue went from empty: the owner needs a wake-up (lock) */
    bool draining;        /* owner's thread: inside sb_sctp_drain */
};

static struct {
    pthread_mutex_t lock; /* guards slots and gen; taken before an association's lock */
    sb_sctp_t *slots[SB_SCTP_SLOTS];
    uint32_t gen;
    bool ready;
} sb_sctp_g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The association whose owner is inside one of its calls on this thread: what usrsctp
 * produces then is drained by the owner right after, so it needs no wake-up. */
static __thread const sb_sctp_t *sb_sctp_owner_call;

/* Under sb_sctp_g.lock. */
static sb_sctp_t *sb_sctp_find(uintptr_t id)
{
    sb_sctp_t *s = sb_sctp_g.slots[id % SB_SCTP_SLOTS];
    return s && s->id == id ? s : NULL;
}

/* Queue an item (under s->lock); false when over the budget (dropped and counted). An item
 * into an empty queue is always taken (a message up to the configured limit, which may be
 * over the budget). Into an empty queue, the owner is due a wake-up (sb_sctp_wake_due). */
static bool sb_sctp_queue(sb_sctp_t *s, sb_sctp_item_t *it)
{
    if (it->len && s->head && s->queued_bytes + it->len > SB_SCTP_OUTBOX_MAX_BYTES) {
        s->stats.outbox_dropped++;
        sb_free(it);
        return false;
    }
    bool was_empty = !s->head;
    s->wake_due = s->wake_due || was_empty;
    s->queued_bytes += it->len;
    it->next = NULL;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    return was_empty;
}

static sb_sctp_item_t *sb_sctp_item(sb_sctp_kind_t kind, const void *data, size_t len)
{
    sb_sctp_item_t *it = sb_malloc(sizeof(*it) + len);
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->len = len;
    if (len)
        memcpy(it->data, data, len);
    return it;
}

/* After a usrsctp callback queued something (under sb_sctp_g.lock, not s->lock): wake the
 * owner if the queue was empty, unless the owner itself is in the call (it drains after). */
static void sb_sctp_wake_due(sb_sctp_t *s)
{
    pthread_mutex_lock(&s->lock);
    bool due = s->wake_due;
    s->wake_due = false;
    pthread_mutex_unlock(&s->lock);
    if (due && s->ops->wake && sb_sctp_owner_call != s)
        s->ops->wake(s->ctx);
}

/* usrsctp: a packet for the peer. Any thread that drives usrsctp. */
static int sb_sctp_on_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    pthread_mutex_lock(&sb_sctp_g.lock);
    sb_sctp_t *s = sb_sctp_find((uintptr_t)addr);
    if (s) {
        pthread_mutex_lock(&s->lock);
        sb_sctp_queue(s, sb_sctp_item(SB_SCTP_ITEM_PACKET, buffer, length));
        pthread_mutex_unlock(&s->lock);
        sb_sctp_wake_due(s);
    }
    pthread_mutex_unlock(&sb_sctp_g.lock);
    return 0;
}

/* Under s->lock. */
static void sb_sctp_set_state(sb_sctp_t *s, sb_sctp_state_t st)
{
    if (s->state == st || s->state == SB_SCTP_CLOSED)
        return;
    s->state = st;
    sb_sctp_item_t *it = sb_sctp_item(SB_SCTP_ITEM_STATE, NULL, 0);
    it->state = st;
    sb_sctp_queue(s, it);
}

/* Under s->lock: the message in pieces on stream, or NULL. */
static sb_sctp_partial_t *sb_sctp_partial_find(sb_sctp_t *s, uint16_t stream, bool unordered)
{
    for (size_t i = 0; i < s->n_partials; i++)
        if (s->partials[i].stream == stream && s->partials[i].unordered == unordered)
            return &s->partials[i];
    return NULL;
}

/* Under s->lock: forget a message in pieces (complete, abandoned, or its stream reset). */
static void sb_sctp_partial_forget(sb_sctp_t *s, sb_sctp_partial_t *p)
{
    if (!p)
        return;
    s->partial_bytes -= p->len;
    sb_free(p->data);
    *p = s->partials[--s->n_partials];
}

/* Under s->lock: streams the peer reset on its side (RFC 8831 section 6.7: a channel
 * closing), each handed to the owner, which resets its own side in turn. */
static void sb_sctp_on_stream_reset(sb_sctp_t *s, const struct sctp_stream_reset_event *ev,
                                    size_t len)
{
    if (len < sizeof(*ev) || !(ev->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) ||
        (ev->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)))
        return;
    size_t n = (len - sizeof(*ev)) / sizeof(ev->strreset_stream_list[0]);
    for (size_t i = 0; i < n; i++) {
        /* What was in pieces on it will never complete. */
        sb_sctp_partial_forget(s, sb_sctp_partial_find(s, ev->strreset_stream_list[i], false));
        sb_sctp_partial_forget(s, sb_sctp_partial_find(s, ev->strreset_stream_list[i], true));
        sb_sctp_item_t *it = sb_sctp_item(SB_SCTP_ITEM_RESET, NULL, 0);
        it->stream = ev->strreset_stream_list[i];
        sb_sctp_queue(s, it);
    }
}

/* Under s->lock. */
static void sb_sctp_on_notification(sb_sctp_t *s, const uint8_t *data, size_t len)
{
    const union sctp_notification *n = (const void *)data;
    if (len < sizeof(n->sn_header))
        return;
    if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT) {
        sb_sctp_on_stream_reset(s, &n->sn_strreset_event, len);
        return;
    }
    if (n->sn_header.sn_type != SCTP_ASSOC_CHANGE || len < sizeof(n->sn_assoc_change))
        return;
    switch (n->sn_assoc_change.sac_state) {
    case SCTP_COMM_UP:
        sb_sctp_set_state(s, SB_SCTP_UP);
        break;
    case SCTP_COMM_LOST:
    case SCTP_SHUTDOWN_COMP:
    case SCTP_CANT_STR_ASSOC:
        sb_sctp_set_state(s, SB_SCTP_CLOSED);
        break;
    default:
        break;
    }
}

/* Under s->lock: one piece of a message on its stream; queued whole at MSG_EOR, dropped past
 * max_message or when the pieces of every stream would pass the reassembly budget. */
static void sb_sctp_on_data(sb_sctp_t *s, const uint8_t *data, size_t len,
                            const struct sctp_rcvinfo *rcv, int flags)
{
    bool eor = flags & MSG_EOR;
    bool unordered = rcv->rcv_flags & SCTP_UNORDERED;
    sb_sctp_partial_t *p = sb_sctp_partial_find(s, rcv->rcv_sid, unordered);
    if (p && p->tsn != rcv->rcv_tsn) { /* abandoned: a new message on the stream */
        sb_sctp_partial_forget(s, p);
        p = NULL;
    }
    if (!p && eor && len <= s->cfg.max_message) { /* whole at once: the common case */
        sb_sctp_item_t *it = sb_sctp_item(SB_SCTP_ITEM_MESSAGE, data, len);
        it->stream = rcv->rcv_sid;
        it->ppid = ntohl(rcv->rcv_ppid);
        s->stats.messages_in++;
        sb_sctp_queue(s, it);
        return;
    }
    if (!p) {
        if (s->n_partials == s->cap_partials) {
            s->cap_partials = s->cap_partials ? 2 * s->cap_partials : 4;
            s->partials = sb_realloc(s->partials, s->cap_partials * sizeof(*s->partials));
        }
        p = &s->partials[s->n_partials++];
        *p = (sb_sctp_partial_t){.stream = rcv->rcv_sid, .unordered = unordered,
                                 .tsn = rcv->rcv_tsn};
    }
    if (!p->dropped && p->len + len > s->cfg.max_message) {
        p->dropped = true;
        s->stats.oversize_refused++;
    } else if (!p->dropped &&
               s->partial_bytes + len > SB_SCTP_REASSEMBLY_MESSAGES * s->cfg.max_message) {
        p->dropped = true;
        s->stats.reassembly_dropped++;
    }
    if (p->dropped) {
        s->partial_bytes -= p->len;
        sb_free(p->data);
        p->data = NULL;
        p->len = 0;
    } else if (len) {
        p->data = sb_realloc(p->data, p->len + len);
        memcpy(p->data + p->len, data, len);
        p->len += len;
        s->partial_bytes += len;
    }
    if (!eor)
        return;
    if (!p->dropped) {
        sb_sctp_item_t *it = sb_sctp_item(SB_SCTP_ITEM_MESSAGE, p->data, p->len);
        it->stream = rcv->rcv_sid;
        it->ppid = ntohl(rcv->rcv_ppid);
        s->stats.messages_in++;
        sb_sctp_queue(s, it);
    }
    sb_sctp_partial_forget(s, p);
}

/* usrsctp: the send buffer has at least SB_SCTP_WRITABLE_THRESHOLD free again (a SACK freed
 * it). One item at a time, for owners that hold messages back (ops.on_writable). */
static int sb_sctp_on_writable(struct socket *sock, uint32_t free_space, void *ulp_info)
{
    (void)sock;
    (void)free_space;
    pthread_mutex_lock(&sb_sctp_g.lock);
    sb_sctp_t *s = sb_sctp_find((uintptr_t)ulp_info);
    if (s && s->ops->on_writable) {
        pthread_mutex_lock(&s->lock);
        if (s->want_writable) { /* only after a refused send: not on every SACK */
            s->want_writable = false;
            sb_sctp_queue(s, sb_sctp_item(SB_SCTP_ITEM_WRITABLE, NULL, 0));
        }
        pthread_mutex_unlock(&s->lock);
        sb_sctp_wake_due(s);
    }
    pthread_mutex_unlock(&sb_sctp_g.lock);
    return 1;
}

/* usrsctp: data or a notification; we own data (free()). */
static int sb_sctp_on_receive(struct socket *sock, union sctp_sockstore addr, void *data,
                              size_t datalen, struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    (void)sock;
    (void)addr;
    if (!data)
        return 1;
    pthread_mutex_lock(&sb_sctp_g.lock);
    sb_sctp_t *s = sb_sctp_find((uintptr_t)ulp_info);
    if (s) {
        pthread_mutex_lock(&s->lock);
        if (flags & MSG_NOTIFICATION)
            sb_sctp_on_notification(s, data, datalen);
        else
            sb_sctp_on_data(s, data, datalen, &rcv, flags);
        pthread_mutex_unlock(&s->lock);
        sb_sctp_wake_due(s); /* a state change from a timer (COMM_LOST) needs one too */
    }
    pthread_mutex_unlock(&sb_sctp_g.lock);
    free(data);
    return 1;
}

int sb_sctp_global_init(void)
{
    pthread_mutex_lock(&sb_sctp_g.lock);
    if (!sb_sctp_g.ready) {
        usrsctp_init_nothreads(0, sb_sctp_on_output, NULL);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        sb_sctp_g.ready = true;
    }
    pthread_mutex_unlock(&sb_sctp_g.lock);
    return 0;
}

void sb_sctp_global_deinit(void)
{
    pthread_mutex_lock(&sb_sctp_g.lock);
    bool ready = sb_sctp_g.ready;
    sb_sctp_g.ready = false;
    pthread_mutex_unlock(&sb_sctp_g.lock);
    /* usrsctp_finish fails while associations linger: give their timers a few rounds. */
    for (int i = 0; ready && i < 100 && usrsctp_finish() != 0; i++)
        usrsctp_handle_timers(100);
}

static int sb_sctp_setopt(struct socket *sock, int level, int name, const void *v, socklen_t len)
{
    return usrsctp_setsockopt(sock, level, name, v, len) == 0 ? 0 : SB_EIO;
}

static int sb_sctp_configure(sb_sctp_t *s)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT, nothing lingers */
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    struct sctp_initmsg init = {.sinit_num_ostreams = s->cfg.max_streams,
                                .sinit_max_instreams = s->cfg.max_streams};
    struct sctp_event ev = {
        .se_assoc_id = SCTP_ALL_ASSOC, .se_type = SCTP_ASSOC_CHANGE, .se_on = 1};
    struct sctp_event reset_ev = {
        .se_assoc_id = SCTP_ALL_ASSOC, .se_type = SCTP_STREAM_RESET_EVENT, .se_on = 1};
    int one = 1;
    /* Room for one largest message whole in each direction (usrsctp counts its chunk
     * overhead against the buffer too): a message that fits max_message is never refused
     * for space when nothing else is queued. */
    int buf = (int)(2 * s->cfg.max_message + (64 << 10));
    struct sockaddr_conn local = {.sconn_family = AF_CONN,
                                  .sconn_port = htons(s->cfg.local_port),
                                  .sconn_addr = (void *)s->id};
    if (usrsctp_set_non_blocking(s->sock, 1) != 0 ||
        sb_sctp_setopt(s->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0 ||
        sb_sctp_setopt(s->sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) < 0 ||
        sb_sctp_setopt(s->sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) < 0 ||
        sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset)) <
            0 ||
        sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init)) < 0 ||
        sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one)) < 0 ||
        sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev)) < 0 ||
        sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_EVENT, &reset_ev, sizeof(reset_ev)) < 0 ||
        usrsctp_bind(s->sock, (struct sockaddr *)&local, sizeof(local)) != 0)
        return SB_EIO;
    return 0;
}

int sb_sctp_new(const sb_sctp_config_t *cfg, const sb_sctp_ops_t *ops, void *ctx, sb_sctp_t **out)
{
    if (!cfg || !ops || !ops->send || !ops->on_message || !ops->on_state || !out ||
        cfg->max_streams > SB_SCTP_MAX_STREAMS || (cfg->mtu && cfg->mtu < 512))
        return SB_EINVAL;
    sb_sctp_t *s = SB_NEW(sb_sctp_t);
    s->cfg = *cfg;
    if (!s->cfg.local_port)
        s->cfg.local_port = SB_SCTP_DEFAULT_PORT;
    if (!s->cfg.remote_port)
        s->cfg.remote_port = SB_SCTP_DEFAULT_PORT;
    if (!s->cfg.max_streams)
        s->cfg.max_streams = SB_SCTP_MAX_STREAMS;
    if (!s->cfg.max_message)
        s->cfg.max_message = SB_SCTP_DEFAULT_MAX_MESSAGE;
    if (!s->cfg.mtu)
        s->cfg.mtu = SB_SCTP_DEFAULT_MTU;
    s->ops = ops;
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&sb_sctp_g.lock);
    for (unsigned i = 0; i < SB_SCTP_SLOTS && !s->id; i++) {
        uint32_t slot = (sb_sctp_g.gen + i) % SB_SCTP_SLOTS;
        if (!sb_sctp_g.slots[slot]) {
            sb_sctp_g.gen += i + 1;
            /* slot in the low bits; the generation above, so an old id never matches. */
            s->id = (uintptr_t)slot + SB_SCTP_SLOTS * (uintptr_t)(sb_sctp_g.gen | 1u);
            sb_sctp_g.slots[slot] = s;
        }
    }
    pthread_mutex_unlock(&sb_sctp_g.lock);
    if (!s->id) {
        pthread_mutex_destroy(&s->lock);
        sb_free(s);
        return SB_ENOMEM;
    }
    usrsctp_register_address((void *)s->id);
    s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, sb_sctp_on_receive,
                             sb_sctp_on_writable, SB_SCTP_WRITABLE_THRESHOLD, (void *)s->id);
    if (!s->sock || sb_sctp_configure(s) < 0) {
        sb_sctp_free(s);
        return SB_EIO;
    }
    *out = s;
    return 0;
}

int sb_sctp_connect(sb_sctp_t *s)
{
    struct sockaddr_conn remote = {.sconn_family = AF_CONN,
                                   .sconn_port = htons(s->cfg.remote_port),
                                   .sconn_addr = (void *)s->id};
    sb_sctp_owner_call = s;
    int rc = usrsctp_connect(s->sock, (struct sockaddr *)&remote, sizeof(remote));
    sb_sctp_owner_call = NULL;
    if (rc != 0 && errno != EINPROGRESS)
        return SB_EIO;
    /* A fixed path MTU, no discovery: every packet must fit one DTLS record. usrsctp's
     * AF_CONN packets come out 12 bytes (the SCTP common header) over the MTU it is given. */
    struct sctp_paddrparams pp = {.spp_assoc_id = SCTP_FUTURE_ASSOC,
                                  .spp_pathmtu = s->cfg.mtu - 12,
                                  .spp_flags = SPP_PMTUD_DISABLE};
    memcpy(&pp.spp_address, &remote, sizeof(remote));
    return sb_sctp_setopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
}

void sb_sctp_input(sb_sctp_t *s, const uint8_t *pkt, size_t len)
{
    pthread_mutex_lock(&s->lock);
    s->stats.packets_in++;
    pthread_mutex_unlock(&s->lock);
    sb_sctp_owner_call = s;
    usrsctp_conninput((void *)s->id, pkt, len, 0);
    sb_sctp_owner_call = NULL;
}

int sb_sctp_send(sb_sctp_t *s, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len,
                 const sb_sctp_send_opts_t *opts)
{
    pthread_mutex_lock(&s->lock);
    sb_sctp_state_t st = s->state;
    bool oversize = len > s->cfg.max_message;
    if (oversize)
        s->stats.oversize_refused++;
    pthread_mutex_unlock(&s->lock);
    if (stream >= s->cfg.max_streams || len == 0 || oversize)
        return SB_EINVAL;
    if (st != SB_SCTP_UP)
        return SB_ESTATE;
    struct sctp_sendv_spa spa = {.sendv_flags = SCTP_SEND_SNDINFO_VALID};
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (opts && opts->unordered ? SCTP_UNORDERED : 0);
    if (opts && (opts->rexmit_limited || opts->time_limited)) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = opts->rexmit_limited ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = opts->rexmit_limited ? opts->max_rexmit : opts->lifetime_ms;
    }
    sb_sctp_owner_call = s;
    ssize_t n = usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
    sb_sctp_owner_call = NULL;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pthread_mutex_lock(&s->lock);
        s->want_writable = true;
        pthread_mutex_unlock(&s->lock);
        return SB_EAGAIN;
    }
    if (n < 0)
        return SB_EIO;
    pthread_mutex_lock(&s->lock);
    s->stats.messages_out++;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Reset our outgoing side of stream (RFC 6525). */
static int sb_sctp_reset_outgoing(sb_sctp_t *s, uint16_t stream)
{
    size_t len = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
    struct sctp_reset_streams *srs = sb_malloc(len);
    memset(srs, 0, len);
    srs->srs_assoc_id = SCTP_ALL_ASSOC;
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    srs->srs_stream_list[0] = stream;
    sb_sctp_owner_call = s;
    int rc = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)len);
    sb_sctp_owner_call = NULL;
    sb_free(srs);
    return rc == 0 ? 0 : SB_EIO;
}

int sb_sctp_close_stream(sb_sctp_t *s, uint16_t stream)
{
    if (stream >= s->cfg.max_streams)
        return SB_EINVAL;
    if (sb_sctp_state(s) != SB_SCTP_UP)
        return SB_ESTATE;
    int rc = sb_sctp_reset_outgoing(s, stream);
    if (rc == 0)
        s->closing[stream / 8] |= (uint8_t)(1u << (stream % 8));
    return rc;
}

/* The peer closed its side of stream: close ours too (unless we began), then tell the owner. */
static void sb_sctp_on_peer_reset(sb_sctp_t *s, uint16_t stream)
{
    if (stream >= s->cfg.max_streams)
        return;
    uint8_t bit = (uint8_t)(1u << (stream % 8));
    if (s->closing[stream / 8] & bit)
        s->closing[stream / 8] &= (uint8_t)~bit;
    else if (sb_sctp_state(s) == SB_SCTP_UP)
        sb_sctp_reset_outgoing(s, stream);
    if (s->ops->on_stream_closed)
        s->ops->on_stream_closed(s->ctx, stream);
}

static void sb_sctp_on_writable_item(sb_sctp_t *s)
{
    s->ops->on_writable(s->ctx);
}

/* Not re-entered: what an op queues from inside the drain (a plugin answering on_message with
 * a send) is delivered by this same loop, in order, after the item being handled. */
void sb_sctp_drain(sb_sctp_t *s)
{
    if (s->draining)
        return;
    s->draining = true;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        sb_sctp_item_t *it = s->head;
        if (it) {
            s->head = it->next;
            if (!s->head)
                s->tail = NULL;
            s->queued_bytes -= it->len;
            if (it->kind == SB_SCTP_ITEM_PACKET)
                s->stats.packets_out++;
        }
        pthread_mutex_unlock(&s->lock);
        if (!it)
            break;
        if (it->kind == SB_SCTP_ITEM_PACKET)
            s->ops->send(s->ctx, it->data, it->len);
        else if (it->kind == SB_SCTP_ITEM_MESSAGE)
            s->ops->on_message(s->ctx, it->stream, it->ppid, it->data, it->len);
        else if (it->kind == SB_SCTP_ITEM_RESET)
            sb_sctp_on_peer_reset(s, it->stream);
        else if (it->kind == SB_SCTP_ITEM_WRITABLE)
            sb_sctp_on_writable_item(s);
        else
            s->ops->on_state(s->ctx, it->state);
        sb_free(it);
    }
    s->draining = false;
}

void sb_sctp_tick(uint32_t elapsed_ms)
{
    usrsctp_handle_timers(elapsed_ms);
}

sb_sctp_state_t sb_sctp_state(const sb_sctp_t *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    sb_sctp_state_t st = s->state;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
    return st;
}

sb_sctp_stats_t sb_sctp_stats(const sb_sctp_t *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    sb_sctp_stats_t st = s->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
    return st;
}

void sb_sctp_free(sb_sctp_t *s)
{
    if (!s)
        return;
    if (s->sock)
        usrsctp_close(s->sock); /* SO_LINGER 0: an ABORT, queued below */
    pthread_mutex_lock(&sb_sctp_g.lock);
    if (sb_sctp_find(s->id) == s)
        sb_sctp_g.slots[s->id % SB_SCTP_SLOTS] = NULL;
    pthread_mutex_unlock(&sb_sctp_g.lock);
    usrsctp_deregister_address((void *)s->id);
    /* The ABORT goes out; nothing else is delivered any more. */
    for (sb_sctp_item_t *it = s->head, *next; it; it = next) {
        next = it->next;
        if (it->kind == SB_SCTP_ITEM_PACKET)
            s->ops->send(s->ctx, it->data, it->len);
        sb_free(it);
    }
    for (size_t i = 0; i < s->n_partials; i++)
        sb_free(s->partials[i].data);
    sb_free(s->partials);
    pthread_mutex_destroy(&s->lock);
    sb_free(s);
}
