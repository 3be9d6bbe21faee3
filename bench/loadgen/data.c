/* Data channels of a load-generator peer: an SCTP association (proto/sctp.h, usrsctp) over
 * the peer's DTLS, our one channel announced with DCEP (proto/dcep.h), the server's channels
 * accepted (DCEP ACK), and the messages: what we send and the accounting of what we receive.
 *
 * Every message we send is binary and starts with a 32-byte header: magic, the sender's tag,
 * a sequence number, the send time (CLOCK_MONOTONIC, lg_now_us) and a flag set when it was
 * sent inside the measured window. Receivers count per sender: duplicates and out-of-order
 * arrivals from the sequence numbers, delivered in-window messages (each once) against what
 * the senders stamped in the window, and one-way latency from the send time to the moment
 * our SCTP hands the message up (sb_sctp_drain, on the receiving peer's loop).
 *
 * Senders (lg_data_mode_t): LG_DATA_RATE sends msg_rate messages a second on the media tick;
 * LG_DATA_BULK (echo-data) keeps data_window bytes sent and not yet echoed back, refilled on
 * every echo and every tick; LG_DATA_RECV opens its channel (as janus.js does, and as the
 * reference VideoRoom needs before it relays anything) and sends nothing.
 *
 * Our socket gets a 4 MiB receive buffer, so that the server's bursts are not lost at our end.
 *
 * Not here: SDP (peer.c), usrsctp's timers (media.c ticks them from loop 0), what the servers
 * do with the messages (scenario.c). Loop thread of the peer only. */
#include <string.h>
#include <sys/socket.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "bench/loadgen/peer_internal.h"
#include "proto/dcep.h"
#include "proto/sctp.h"

#define LG_DATA_MAGIC 0x53424443u /* "SBDC" */
#define LG_DATA_HDR 32
#define LG_DATA_IN_WINDOW 0x01
#define LG_DATA_SEEN_BITS (LG_SEEN_WORDS * 64)
#define LG_DATA_CATCHUP_US 200000 /* behind by more than this: skip ahead, do not burst */
#define LG_DATA_RCVBUF (4 << 20)  /* our UDP socket's receive buffer (net.core.rmem_max) */

/* What one sender's messages did on their way to us. */
typedef struct lg_data_src {
    uint32_t tag;
    bool any;
    uint64_t highest;
    uint64_t seen[LG_SEEN_WORDS];
} lg_data_src_t;

struct lg_data {
    lg_peer_t *p;
    sb_sctp_t *sctp;
    lg_data_mode_t mode;
    bool dtls_client;
    bool open;       /* our DATA_CHANNEL_OPEN went out */
    bool acked;      /* its ACK came back: unordered from then on (RFC 8832 section 6) */
    bool unreliable; /* our channel: unordered, maxRetransmits 0 */
    uint16_t stream; /* our channel's */
    uint64_t seq;    /* the next message's */
    double next_send_us;
    uint64_t echoed; /* LG_DATA_BULK: every message below this one came back (or never will) */
    lg_data_src_t *src;
    unsigned nsrc;
    uint8_t *msg;
    size_t msg_len;
};

static lg_counters_t *lg_data_ctr(lg_data_t *d)
{
    return lg_loopctx_counters(d->p->lc);
}

/* ---- sending ---- */

static void lg_data_put32(uint8_t *b, uint32_t v)
{
    memcpy(b, &v, 4);
}

static void lg_data_put64(uint8_t *b, uint64_t v)
{
    memcpy(b, &v, 8);
}

/* One message, stamped now (not at the tick: the peers before it took their time);
 * SB_EAGAIN when the association's send buffer is full: not sent, and counted as blocked when
 * it was due at a rate (in bulk that is the flow control itself). */
static int lg_data_send_one(lg_data_t *d)
{
    lg_counters_t *c = lg_data_ctr(d);
    int64_t now = lg_now_us();
    bool in_window = lg_media_measuring();
    lg_data_put32(d->msg, LG_DATA_MAGIC);
    lg_data_put32(d->msg + 4, d->p->tag);
    lg_data_put64(d->msg + 8, d->seq);
    lg_data_put64(d->msg + 16, (uint64_t)now);
    d->msg[24] = in_window ? LG_DATA_IN_WINDOW : 0;
    sb_sctp_send_opts_t o = {
        .unordered = d->unreliable && d->acked, .rexmit_limited = d->unreliable, .max_rexmit = 0};
    int rc = sb_sctp_send(d->sctp, d->stream, SB_PPID_BINARY, d->msg, d->msg_len, &o);
    if (rc == SB_EAGAIN) {
        if (d->mode != LG_DATA_BULK)
            LG_CTR_ADD(c->data_blocked, 1);
        return rc;
    }
    if (rc < 0) {
        LG_CTR_ADD(c->send_fail, 1);
        return rc;
    }
    d->seq++;
    LG_CTR_ADD(c->data_sent, 1);
    LG_CTR_ADD(c->data_sent_bytes, d->msg_len);
    if (in_window)
        LG_CTR_ADD(c->data_sent_win, 1);
    return 0;
}

/* LG_DATA_BULK: fill the window of bytes not yet echoed, as far as the association takes. */
static bool lg_data_pump(lg_data_t *d)
{
    bool sent = false;
    while ((d->seq - d->echoed + 1) * d->msg_len <= lg_cfg.data_window && lg_data_send_one(d) == 0)
        sent = true;
    return sent;
}

/* LG_DATA_RATE: what is due by now. */
static void lg_data_send_due(lg_data_t *d, int64_t now)
{
    double gap = 1e6 / lg_cfg.msg_rate;
    if ((double)now - d->next_send_us > LG_DATA_CATCHUP_US)
        d->next_send_us += gap * (double)(int64_t)(((double)now - d->next_send_us) / gap);
    while ((double)now >= d->next_send_us) {
        lg_data_send_one(d);
        d->next_send_us += gap;
    }
}

/* Announce our channel (DCEP OPEN) on the stream our DTLS role gives (RFC 8832 section 6). */
static void lg_data_open(lg_data_t *d)
{
    sb_dcep_channel_t *ch = SB_NEW(sb_dcep_channel_t);
    ch->ordered = !d->unreliable;
    ch->reliability = d->unreliable ? SB_DCEP_PARTIAL_REXMIT : SB_DCEP_RELIABLE;
    ch->reliability_param = 0;
    if (d->mode == LG_DATA_RECV)
        snprintf(ch->label, sizeof(ch->label), "JanusDataChannel");
    else
        snprintf(ch->label, sizeof(ch->label), "lg-%u", d->p->tag);
    uint8_t *open = sb_malloc(SB_DCEP_OPEN_MAX);
    int n = sb_dcep_write_open(ch, open, SB_DCEP_OPEN_MAX);
    d->stream = d->dtls_client ? 0 : 1;
    if (n > 0 && sb_sctp_send(d->sctp, d->stream, SB_PPID_DCEP, open, (size_t)n, NULL) == 0) {
        d->open = true;
        /* Senders of one room start at different moments within a period, as people do. */
        d->next_send_us = (double)lg_now_us() + g_random_double() * 1e6 / lg_cfg.msg_rate;
        SB_DEBUG("loadgen", "peer %u: channel '%s' opened on stream %u", d->p->tag, ch->label,
                 d->stream);
    } else {
        SB_WARN("loadgen", "peer %u: cannot open a data channel", d->p->tag);
    }
    sb_free(open);
    sb_free(ch);
}

/* ---- receiving ---- */

static lg_data_src_t *lg_data_src(lg_data_t *d, uint32_t tag)
{
    for (unsigned i = 0; i < d->nsrc; i++) {
        if (d->src[i].tag == tag)
            return &d->src[i];
    }
    d->src = sb_realloc(d->src, (d->nsrc + 1) * sizeof(*d->src));
    lg_data_src_t *s = &d->src[d->nsrc++];
    memset(s, 0, sizeof(*s));
    s->tag = tag;
    return s;
}

static bool lg_data_seen(lg_data_src_t *s, uint64_t seq, bool set)
{
    unsigned bit = (unsigned)(seq % LG_DATA_SEEN_BITS);
    uint64_t m = UINT64_C(1) << (bit % 64);
    bool was = s->seen[bit / 64] & m;
    if (set)
        s->seen[bit / 64] |= m;
    else
        s->seen[bit / 64] &= ~m;
    return was;
}

/* Sequence accounting of one sender; false for a duplicate. Gaps count until filled. */
static bool lg_data_seq(lg_counters_t *c, lg_data_src_t *s, uint64_t seq)
{
    if (!s->any || seq > s->highest) {
        if (s->any && seq - s->highest > 1) {
            LG_CTR_ADD(c->data_gaps, (int64_t)(seq - s->highest - 1));
            if (seq - s->highest > LG_DATA_SEEN_BITS)
                memset(s->seen, 0, sizeof(s->seen));
            else
                for (uint64_t e = s->highest + 1; e < seq; e++)
                    lg_data_seen(s, e, false);
        }
        s->any = true;
        s->highest = seq;
        lg_data_seen(s, seq, true);
        return true;
    }
    if (s->highest - seq >= LG_DATA_SEEN_BITS) {
        LG_CTR_ADD(c->data_reorder, 1); /* too old to tell a duplicate */
        return true;
    }
    if (lg_data_seen(s, seq, true)) {
        LG_CTR_ADD(c->data_dups, 1);
        return false;
    }
    LG_CTR_ADD(c->data_reorder, 1);
    LG_CTR_ADD(c->data_gaps, -1);
    return true;
}

static void lg_data_account(lg_data_t *d, const uint8_t *msg, size_t len)
{
    lg_counters_t *c = lg_data_ctr(d);
    int64_t now = lg_now_us();
    LG_CTR_ADD(c->data_recv, 1);
    LG_CTR_ADD(c->data_recv_bytes, len);
    uint32_t magic, tag;
    uint64_t seq, sent;
    if (len < LG_DATA_HDR) {
        LG_CTR_ADD(c->data_foreign, 1);
        return;
    }
    memcpy(&magic, msg, 4);
    memcpy(&tag, msg + 4, 4);
    memcpy(&seq, msg + 8, 8);
    memcpy(&sent, msg + 16, 8);
    if (magic != LG_DATA_MAGIC) {
        LG_CTR_ADD(c->data_foreign, 1);
        return;
    }
    if (!lg_data_seq(c, lg_data_src(d, tag), seq))
        return;
    if (msg[24] & LG_DATA_IN_WINDOW) {
        LG_CTR_ADD(c->data_delivered_win, 1);
        int64_t arrival = lg_peer_arrival_us(d->p, now);
        lg_loopctx_record_data_latency(d->p->lc, now - (int64_t)sent, arrival - (int64_t)sent);
    }
    if (d->mode == LG_DATA_BULK && tag == d->p->tag && seq + 1 > d->echoed)
        d->echoed = seq + 1; /* ordered and reliable: what is below came back or was dropped */
}

/* DCEP from the server: its channels are acknowledged; the ACK of ours allows unordered. */
static void lg_data_dcep(lg_data_t *d, uint16_t stream, const uint8_t *msg, size_t len)
{
    sb_dcep_channel_t *ch = sb_malloc(sizeof(*ch));
    int type = sb_dcep_parse(msg, len, ch);
    if (type == SB_DCEP_MSG_OPEN) {
        uint8_t ack[SB_DCEP_ACK_LEN];
        sb_dcep_write_ack(ack);
        sb_sctp_send(d->sctp, stream, SB_PPID_DCEP, ack, sizeof(ack), NULL);
        SB_DEBUG("loadgen", "peer %u: the server opened '%s' on stream %u (%s, reliability %d/%u)",
                 d->p->tag, ch->label, stream, ch->ordered ? "ordered" : "unordered",
                 (int)ch->reliability, ch->reliability_param);
    } else if (type == SB_DCEP_MSG_ACK && d->open && stream == d->stream) {
        d->acked = true;
    }
    sb_free(ch);
}

/* ---- the association's edges ---- */

static void lg_data_out(void *ctx, const uint8_t *pkt, size_t len)
{
    lg_data_t *d = ctx;
    if (d->p->dtls && sb_dtls_send_data(d->p->dtls, pkt, len) < 0)
        LG_CTR_ADD(lg_data_ctr(d)->send_fail, 1);
}

static void lg_data_message(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *data,
                            size_t len)
{
    lg_data_t *d = ctx;
    if (ppid == SB_PPID_DCEP)
        lg_data_dcep(d, stream, data, len);
    else if (ppid == SB_PPID_BINARY || ppid == SB_PPID_STRING)
        lg_data_account(d, data, len);
}

static void lg_data_state(void *ctx, sb_sctp_state_t st)
{
    lg_data_t *d = ctx;
    if (st == SB_SCTP_UP) {
        LG_CTR_ADD(lg_data_ctr(d)->sctp_up, 1);
        lg_data_open(d);
    } else if (st == SB_SCTP_CLOSED && !d->p->closing) {
        SB_WARN("loadgen", "peer %u: SCTP association closed", d->p->tag);
    }
}

static const sb_sctp_ops_t lg_data_sctp_ops = {
    .send = lg_data_out,
    .on_message = lg_data_message,
    .on_state = lg_data_state,
};

/* ---- the peer's side ---- */

lg_data_t *lg_data_start(lg_peer_t *p, bool dtls_client)
{
    lg_data_t *d = SB_NEW(lg_data_t);
    d->p = p;
    d->dtls_client = dtls_client;
    d->mode = lg_cfg.scenario == LG_SCEN_ECHO_DATA ? LG_DATA_BULK
              : p->role == LG_PEER_SUBSCRIBER      ? LG_DATA_RECV
                                                   : LG_DATA_RATE;
    d->unreliable = lg_cfg.data_unreliable && d->mode == LG_DATA_RATE;
    d->msg_len = lg_cfg.msg_size;
    if (p->data_max_message && d->msg_len > p->data_max_message)
        d->msg_len = p->data_max_message; /* what the server takes */
    d->msg = sb_calloc(1, d->msg_len);
    for (size_t i = LG_DATA_HDR; i < d->msg_len; i++)
        d->msg[i] = (uint8_t)i;
    /* A burst of the server's SCTP output (a whole congestion window) must not overflow our
     * socket (212,992 bytes by default, ~90 datagrams): drops are then the server's own. */
    int fd = sb_ice_selected_socket_fd(p->ice, NULL, NULL), rcvbuf = LG_DATA_RCVBUF;
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
        SB_WARN("loadgen", "peer %u: SO_RCVBUF refused", p->tag);
    sb_sctp_config_t cfg = {.remote_port = p->data_port};
    if (sb_sctp_new(&cfg, &lg_data_sctp_ops, d, &d->sctp) < 0 || sb_sctp_connect(d->sctp) < 0) {
        SB_WARN("loadgen", "peer %u: cannot start the SCTP association", p->tag);
        lg_data_free(d);
        return NULL;
    }
    return d;
}

void lg_data_input(lg_data_t *d, const uint8_t *pkt, size_t len)
{
    sb_sctp_input(d->sctp, pkt, len);
}

void lg_data_flush(lg_data_t *d)
{
    sb_sctp_drain(d->sctp);
    if (d->mode == LG_DATA_BULK && d->open && lg_data_pump(d))
        sb_sctp_drain(d->sctp);
}

void lg_data_tick(lg_data_t *d, int64_t now)
{
    sb_sctp_drain(d->sctp);
    if (d->open && d->mode == LG_DATA_RATE && lg_cfg.msg_rate > 0)
        lg_data_send_due(d, now);
    else if (d->open && d->mode == LG_DATA_BULK)
        lg_data_pump(d);
    sb_sctp_drain(d->sctp);
}

void lg_data_free(lg_data_t *d)
{
    if (!d)
        return;
    sb_sctp_free(d->sctp);
    sb_free(d->src);
    sb_free(d->msg);
    sb_free(d);
}
