/* Transport-wide CC: the receiver's arrival record and feedback writer, the sender's
 * numbering and feedback reader (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
 *
 * Sequence numbers are unwrapped to 64 bits against the highest seen (receiver) or the next
 * to send (sender); both sides keep a ring indexed by the unwrapped number. */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/byteorder.h"
#include "switchboard/rtp.h"
#include "proto/twcc.h"

#define SB_TWCC_RECV_RING 1024u       /* arrivals kept: ~1 s at 1,000 packets/s */
/* Packets sent we can still match to feedback: the ring starts small (a browser-rate call
 * sends ~50-150 packets/s) and doubles whenever a feedback reaches back more than half of
 * it, up to the most. */
#define SB_TWCC_SEND_RING_MIN 256u
#define SB_TWCC_SEND_RING_MAX 2048u
#define SB_TWCC_MSG_MAX_PACKETS 512u  /* statuses in one feedback message we write */
#define SB_TWCC_READ_MAX 2048u        /* statuses in one feedback message we read */
#define SB_TWCC_DUE_PACKETS 100       /* this many waiting: feedback even before the interval */
#define SB_TWCC_REF_US 64000          /* reference time unit */
#define SB_TWCC_DELTA_US 250          /* receive delta unit */
#define SB_TWCC_FB_HEADER 20u         /* RTCP header, sender and media SSRC, base..fb count */
#define SB_TWCC_NOT_SEEN INT64_MIN

/* ---- receiver ----------------------------------------------------------------------------- */

struct sb_twcc_recv {
    int64_t arrival[SB_TWCC_RECV_RING]; /* by unwrapped seq; SB_TWCC_NOT_SEEN: not (yet) */
    bool started;
    int64_t base;    /* first unwrapped seq the next feedback reports */
    int64_t highest; /* highest unwrapped seq received */
    uint8_t fb_count;
    int64_t last_fb_us;
    sb_twcc_recv_stats_t stats;
};

sb_twcc_recv_t *sb_twcc_recv_new(void)
{
    sb_twcc_recv_t *r = sb_calloc(1, sizeof(*r));
    for (unsigned i = 0; i < SB_TWCC_RECV_RING; i++)
        r->arrival[i] = SB_TWCC_NOT_SEEN;
    return r;
}

void sb_twcc_recv_free(sb_twcc_recv_t *r)
{
    sb_free(r);
}

static int64_t *sb_twcc_recv_slot(sb_twcc_recv_t *r, int64_t seq)
{
    return &r->arrival[(uint64_t)seq & (SB_TWCC_RECV_RING - 1)];
}

void sb_twcc_recv_packet(sb_twcc_recv_t *r, uint16_t seq, int64_t arrival_us)
{
    int64_t u;
    if (!r->started) {
        u = 0x10000 + seq; /* room below for packets reordered before the first */
        r->started = true;
        r->base = r->highest = u;
        *sb_twcc_recv_slot(r, u) = arrival_us;
        r->stats.packets++;
        return;
    }
    u = r->highest + (int16_t)(uint16_t)(seq - (uint16_t)r->highest);
    if (u < r->base) {
        r->stats.late++; /* already reported as lost (or before our first feedback) */
        return;
    }
    if (u > r->highest) {
        /* Slots between still hold the previous lap: clear them (at most the ring). */
        int64_t from = u - r->highest > (int64_t)SB_TWCC_RECV_RING
                           ? u - (int64_t)SB_TWCC_RECV_RING
                           : r->highest;
        for (int64_t s = from + 1; s < u; s++)
            *sb_twcc_recv_slot(r, s) = SB_TWCC_NOT_SEEN;
        r->highest = u;
        /* Unreported packets older than the ring are given up (never reported). */
        if (u - r->base >= (int64_t)SB_TWCC_RECV_RING)
            r->base = u - (int64_t)SB_TWCC_RECV_RING + 1;
    } else if (*sb_twcc_recv_slot(r, u) != SB_TWCC_NOT_SEEN) {
        return; /* a repeat */
    }
    *sb_twcc_recv_slot(r, u) = arrival_us;
    r->stats.packets++;
}

bool sb_twcc_recv_due(const sb_twcc_recv_t *r, int64_t now_us, int64_t interval_us)
{
    if (!r->started || r->base > r->highest)
        return false;
    return now_us - r->last_fb_us >= interval_us ||
           r->highest - r->base + 1 >= SB_TWCC_DUE_PACKETS;
}

/* Packet status chunks (§3.1.1–§3.1.4) for sym[0..n) into out; returns bytes written. */
static size_t sb_twcc_write_chunks(const uint8_t *sym, size_t n, uint8_t *out)
{
    size_t i = 0, w = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && sym[i + run] == sym[i] && run < 0x1fff)
            run++;
        uint16_t chunk;
        size_t take;
        bool one_bit = true;
        for (size_t k = i; k < n && k < i + 14; k++)
            one_bit &= sym[k] <= 1;
        if (run >= 14 || (run >= 7 && !one_bit)) {
            chunk = (uint16_t)((sym[i] & 0x3u) << 13 | run); /* run length */
            take = run;
        } else if (one_bit) {
            chunk = 0x8000; /* one-bit vector of 14; past n are zeros, which readers ignore */
            take = n - i < 14 ? n - i : 14;
            for (size_t k = 0; k < take; k++)
                chunk |= (uint16_t)(sym[i + k] << (13 - k));
        } else {
            chunk = 0xc000; /* two-bit vector of 7 */
            take = n - i < 7 ? n - i : 7;
            for (size_t k = 0; k < take; k++)
                chunk |= (uint16_t)(sym[i + k] << (2 * (6 - k)));
        }
        sb_put_be16(out + w, chunk);
        w += 2;
        i += take;
    }
    return w;
}

/* The transport-cc message's header (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * section 3.1), for a message of len bytes (padded) over count statuses from base_seq. */
static void sb_twcc_write_fb_header(uint8_t *out, size_t len, uint32_t sender_ssrc,
                                    uint32_t media_ssrc, uint16_t base_seq, uint16_t count,
                                    int64_t ref, uint8_t fb_count)
{
    out[0] = 0x80 | SB_RTCP_FMT_TWCC;
    out[1] = SB_RTCP_RTPFB;
    sb_put_be16(out + 2, (uint16_t)(len / 4 - 1));
    sb_put_be32(out + 4, sender_ssrc);
    sb_put_be32(out + 8, media_ssrc);
    sb_put_be16(out + 12, base_seq);
    sb_put_be16(out + 14, count);
    out[16] = (uint8_t)(ref >> 16);
    out[17] = (uint8_t)(ref >> 8);
    out[18] = (uint8_t)ref;
    out[19] = fb_count;
}

int sb_twcc_recv_write(sb_twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc,
                       int64_t now_us, uint8_t *out, size_t size)
{
    if (!r->started || r->base > r->highest)
        return 0;
    if (size < SB_TWCC_FB_HEADER + 8)
        return SB_ERANGE;
    uint8_t sym[SB_TWCC_MSG_MAX_PACKETS];
    uint8_t deltas[2 * SB_TWCC_MSG_MAX_PACKETS];
    size_t n = 0, dlen = 0;
    int64_t ref = -1, prev_ticks = 0;
    /* Worst case chunk bytes for n statuses: 2 per 7. */
    for (int64_t s = r->base; s <= r->highest && n < SB_TWCC_MSG_MAX_PACKETS; s++) {
        int64_t at = *sb_twcc_recv_slot(r, s);
        uint8_t sy = 0;
        size_t need = 0;
        int64_t ticks = 0, d = 0;
        if (at != SB_TWCC_NOT_SEEN) {
            if (ref < 0) {
                ref = (at < 0 ? 0 : at) / SB_TWCC_REF_US;
                prev_ticks = ref * (SB_TWCC_REF_US / SB_TWCC_DELTA_US);
            }
            ticks = (at < 0 ? 0 : at) / SB_TWCC_DELTA_US;
            d = ticks - prev_ticks;
            if (d >= 0 && d <= 255) {
                sy = 1;
                need = 1;
            } else if (d >= INT16_MIN && d <= INT16_MAX) {
                sy = 2;
                need = 2;
            } else {
                break; /* starts the next message, with its own reference time */
            }
        }
        size_t chunk_bytes = 2 * ((n + 1 + 6) / 7);
        if (SB_TWCC_FB_HEADER + chunk_bytes + dlen + need + 3 > size)
            break;
        sym[n++] = sy;
        if (sy == 1) {
            deltas[dlen++] = (uint8_t)d;
        } else if (sy == 2) {
            sb_put_be16(deltas + dlen, (uint16_t)(int16_t)d);
            dlen += 2;
        }
        if (sy)
            prev_ticks = ticks;
    }
    if (n == 0)
        return SB_ERANGE;
    if (ref < 0)
        ref = 0; /* only losses in this message (the rest follow in the next one) */
    size_t off = SB_TWCC_FB_HEADER;
    off += sb_twcc_write_chunks(sym, n, out + off);
    memcpy(out + off, deltas, dlen);
    off += dlen;
    while (off % 4)
        out[off++] = 0;
    sb_twcc_write_fb_header(out, off, sender_ssrc, media_ssrc, (uint16_t)r->base, (uint16_t)n,
                            ref, r->fb_count++);
    r->base += (int64_t)n;
    r->last_fb_us = now_us;
    r->stats.feedback_sent++;
    return (int)off;
}

unsigned sb_twcc_recv_flush(sb_twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc,
                            int64_t now_us, uint8_t *buf, size_t mtu, sb_twcc_send_fn send,
                            void *arg)
{
    size_t off = 0;
    unsigned written = 0;
    for (;;) {
        int n = sb_twcc_recv_write(r, sender_ssrc, media_ssrc, now_us, buf + off, mtu - off);
        if (n > 0) {
            off += (size_t)n;
            written++;
            continue;
        }
        if (n == SB_ERANGE && off) { /* this compound is full: send it, go on in a new one */
            send(arg, buf, off);
            off = 0;
            continue;
        }
        break;
    }
    if (off)
        send(arg, buf, off);
    return written;
}

void sb_twcc_recv_get_stats(const sb_twcc_recv_t *r, sb_twcc_recv_stats_t *out)
{
    *out = r->stats;
}

/* ---- sender ------------------------------------------------------------------------------- */

typedef enum { SB_TWCC_SENT = 0, SB_TWCC_REPORTED_LOST, SB_TWCC_REPORTED_RECEIVED } sb_twcc_state_t;

/* 16 bytes: four to a cache line (the ring is written once per packet sent, cold at a
 * fan-out). */
typedef struct sb_twcc_sent {
    uint32_t send_lo; /* send time's low 32 bits (us): the ring spans seconds, not 71 min */
    uint32_t seq;     /* low 32 bits of the unwrapped number: tells a stale slot */
    uint16_t size;
    int16_t probe;
    uint8_t state; /* sb_twcc_state_t */
} sb_twcc_sent_t;

/* What sb_twcc_send_next touches per packet: next, last_send_us, stats.sent and the ring
 * pointer on one cache line, then the slot: at a fan-out the state of each subscriber is
 * cold by its next packet, so every line touched is a miss. */
struct sb_twcc_send {
    int64_t next; /* unwrapped number of the next packet */
    int64_t last_send_us; /* the newest send time: the others are read back against it */
    sb_twcc_sent_t *ring;
    uint32_t ring_size; /* a power of two */
    bool have_ref;
    uint32_t last_ref;    /* 24-bit reference time of the last feedback */
    int64_t ref_unwrapped;
    sb_twcc_send_stats_t stats;
};

/* Decoding scratch of a feedback message: the thread's (a decode runs to its end). */
static __thread sb_rtcp_twcc_pkt_t sb_twcc_statuses[SB_TWCC_READ_MAX];

sb_twcc_send_t *sb_twcc_send_new(void)
{
    sb_twcc_send_t *s = sb_calloc(1, sizeof(*s));
    s->next = 1;
    s->ring_size = SB_TWCC_SEND_RING_MIN;
    s->ring = sb_calloc(s->ring_size, sizeof(*s->ring));
    return s;
}

void sb_twcc_send_free(sb_twcc_send_t *s)
{
    if (!s)
        return;
    sb_free(s->ring);
    sb_free(s);
}

/* A feedback reached back span packets: the ring twice that, within its most. What the old
 * ring still holds moves over; what it had lost already stays lost (unknown to that
 * feedback only: the next ones fit). */
static void sb_twcc_send_fit(sb_twcc_send_t *s, int64_t span)
{
    uint32_t size = s->ring_size;
    while (size < SB_TWCC_SEND_RING_MAX && (int64_t)size < 2 * span)
        size *= 2;
    if (size == s->ring_size)
        return;
    sb_twcc_sent_t *ring = sb_calloc(size, sizeof(*ring));
    for (int64_t u = s->next - 1; u >= 1 && u > s->next - 1 - (int64_t)s->ring_size; u--) {
        const sb_twcc_sent_t *e = &s->ring[(uint64_t)u & (s->ring_size - 1)];
        if (e->seq == (uint32_t)u)
            ring[(uint64_t)u & (size - 1)] = *e;
    }
    sb_free(s->ring);
    s->ring = ring;
    s->ring_size = size;
}

uint16_t sb_twcc_send_next(sb_twcc_send_t *s, int64_t send_us, uint32_t size, int probe)
{
    int64_t u = s->next++;
    sb_twcc_sent_t *e = &s->ring[(uint64_t)u & (s->ring_size - 1)];
    e->send_lo = (uint32_t)send_us;
    s->last_send_us = send_us;
    e->seq = (uint32_t)u;
    e->size = (uint16_t)(size > UINT16_MAX ? UINT16_MAX : size);
    e->probe = (int16_t)(probe < 0 ? -1 : probe > INT16_MAX ? INT16_MAX : probe);
    e->state = SB_TWCC_SENT;
    s->stats.sent++;
    return (uint16_t)u;
}

/* The receiver's clock for this message's reference time: 24-bit, unwrapped, from an origin
 * far enough above 0 that times stay positive. */
static int64_t sb_twcc_send_ref_us(sb_twcc_send_t *s, uint32_t ref)
{
    if (!s->have_ref) {
        s->have_ref = true;
        s->ref_unwrapped = (int64_t)1 << 24;
    } else {
        int32_t d = (int32_t)((ref - s->last_ref) << 8) >> 8; /* sign-extend 24 bits */
        s->ref_unwrapped += d;
        if (s->ref_unwrapped < 0)
            s->ref_unwrapped = 0;
    }
    s->last_ref = ref;
    return s->ref_unwrapped * SB_TWCC_REF_US;
}

int sb_twcc_send_on_feedback(sb_twcc_send_t *s, const sb_rtcp_twcc_t *fb, sb_bwe_result_t *out,
                             size_t max)
{
    s->stats.feedback++;
    int n = sb_rtcp_twcc_decode(fb, sb_twcc_statuses, SB_TWCC_READ_MAX);
    if (n < 0) {
        s->stats.malformed++;
        return n == SB_ERANGE ? 0 : SB_EPROTO;
    }
    int64_t last = s->next - 1;
    int64_t base = last - (uint16_t)((uint16_t)last - fb->base_seq);
    if (2 * (last - base + 1) > (int64_t)s->ring_size)
        sb_twcc_send_fit(s, last - base + 1);
    int64_t t = sb_twcc_send_ref_us(s, fb->ref_time);
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        const sb_rtcp_twcc_pkt_t *st = &sb_twcc_statuses[i];
        bool received = st->status != SB_TWCC_NOT_RECEIVED;
        if (received)
            t += (int64_t)st->delta * SB_TWCC_DELTA_US;
        int64_t u = base + i;
        sb_twcc_sent_t *e = &s->ring[(uint64_t)u & (s->ring_size - 1)];
        if (u < 1 || u > last || u <= last - (int64_t)s->ring_size ||
            e->seq != (uint32_t)u) {
            s->stats.unknown++;
            continue;
        }
        if (e->state == SB_TWCC_REPORTED_RECEIVED || (!received && e->state != SB_TWCC_SENT))
            continue;
        e->state = received ? SB_TWCC_REPORTED_RECEIVED : SB_TWCC_REPORTED_LOST;
        if (w == max)
            continue;
        out[w++] = (sb_bwe_result_t){.seq = u,
                                     .send_us = s->last_send_us -
                                                (int64_t)(uint32_t)((uint32_t)s->last_send_us -
                                                                    e->send_lo),
                                     .recv_us = received ? (t < 0 ? 0 : t) : -1,
                                     .size = e->size,
                                     .probe = e->probe};
    }
    s->stats.reported += w;
    return (int)w;
}

void sb_twcc_send_get_stats(const sb_twcc_send_t *s, sb_twcc_send_stats_t *out)
{
    *out = s->stats;
}

/* ---- the number in a packet ------------------------------------------------------------- */

/* Room at the end of the extension block at off (RFC 8285 §4.2, §4.3) for a 2-byte element
 * id, or its value when there is one: *val at the value (existing), or *free at the first
 * byte after the last element and *end at the block's end (absent). 0, or SB_ENOTSUP for a
 * block this cannot take in place. */
static int sb_twcc_find(uint8_t *pkt, size_t off, size_t len, uint8_t id, uint8_t **val,
                        uint8_t **free, uint8_t **end)
{
    if (off + 4 > len)
        return SB_EINVAL;
    uint16_t profile = sb_be16(pkt + off);
    bool two = (profile & 0xfff0) == SB_RTP_EXT_PROFILE_TWO_BYTE;
    if (!two && (profile != SB_RTP_EXT_PROFILE_ONE_BYTE || id > 14))
        return SB_ENOTSUP;
    uint8_t *q = pkt + off + 4, *e = q + 4 * (size_t)sb_be16(pkt + off + 2);
    if (e > pkt + len)
        return SB_EINVAL;
    *val = NULL;
    *free = q;
    *end = e;
    while (q < e) {
        if (*q == 0) { /* padding between or after elements */
            q++;
            continue;
        }
        uint8_t eid = two ? q[0] : q[0] >> 4;
        if (!two && (eid == 15 || eid == 0))
            return SB_ENOTSUP; /* §4.2 "stop parsing" (ID 0 with a length, as rtp_ext.c) */
        if (two && q + 2 > e)
            return SB_ENOTSUP;
        size_t elen = two ? q[1] : (size_t)(q[0] & 0x0f) + 1;
        uint8_t *v = q + (two ? 2 : 1);
        if (v + elen > e)
            return SB_ENOTSUP;
        if (eid == id) {
            if (elen != 2)
                return SB_ENOTSUP;
            *val = v;
            return 0;
        }
        q = v + elen;
        *free = q;
    }
    return 0;
}

int sb_twcc_stamp(uint8_t *pkt, size_t *len, size_t cap, uint8_t id, uint16_t seq)
{
    size_t n = *len;
    if (n < SB_RTP_HEADER_MIN || pkt[0] >> 6 != 2 || id == 0)
        return SB_EINVAL;
    size_t off = SB_RTP_HEADER_MIN + 4 * (size_t)(pkt[0] & 0x0f); /* after the CSRCs */
    if (off > n)
        return SB_EINVAL;
    if (!(pkt[0] & 0x10)) {
        /* No block: a one-byte block of one word, the payload moves 8 bytes. */
        if (id > 14)
            return SB_ENOTSUP;
        if (n + 8 > cap)
            return SB_ERANGE;
        memmove(pkt + off + 8, pkt + off, n - off);
        pkt[0] |= 0x10;
        sb_put_be16(pkt + off, SB_RTP_EXT_PROFILE_ONE_BYTE);
        sb_put_be16(pkt + off + 2, 1);
        pkt[off + 4] = (uint8_t)(id << 4 | 1);
        sb_put_be16(pkt + off + 5, seq);
        pkt[off + 7] = 0;
        *len = n + 8;
        return 0;
    }
    uint8_t *val, *free, *end;
    int rc = sb_twcc_find(pkt, off, n, id, &val, &free, &end);
    if (rc < 0)
        return rc;
    if (val) {
        sb_put_be16(val, seq);
        return 0;
    }
    bool two = (sb_be16(pkt + off) & 0xfff0) == SB_RTP_EXT_PROFILE_TWO_BYTE;
    size_t need = two ? 4 : 3;
    if ((size_t)(end - free) < need) {
        /* The block grows by a word: what follows it moves 4 bytes. */
        if (n + 4 > cap)
            return SB_ERANGE;
        size_t at = (size_t)(end - pkt);
        memmove(end + 4, end, n - at);
        memset(end, 0, 4);
        sb_put_be16(pkt + off + 2, (uint16_t)(sb_be16(pkt + off + 2) + 1));
        end += 4;
        *len = n + 4;
    }
    if (two) {
        free[0] = id;
        free[1] = 2;
        sb_put_be16(free + 2, seq);
    } else {
        free[0] = (uint8_t)(id << 4 | 1);
        sb_put_be16(free + 1, seq);
    }
    memset(free + need, 0, (size_t)(end - free) - need); /* the rest is padding */
    return 0;
}
