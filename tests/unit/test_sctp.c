/* Unit tests for src/proto/sctp.c: two associations in one process, wired to each other
 * through in-memory queues (what DTLS would carry), establish by simultaneous open, then
 * exchange messages of every kind: small text, 64 KiB and max-size binary (reassembled from
 * usrsctp's partial delivery), unordered and partially reliable ones; oversized messages
 * and out-of-range streams are refused; closing one side reaches the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "proto/dcep.h"
#include "proto/sctp.h"

#define MAX_PKTS 4096
#define MAX_GOT 16

typedef struct end {
    sb_sctp_t *s;
    struct end *peer;
    uint8_t *pkts[MAX_PKTS]; /* packets waiting to be put into this end */
    size_t lens[MAX_PKTS];
    unsigned npkts;
    size_t max_pkt; /* largest packet this end sent */
    sb_sctp_state_t state;
    unsigned states;
    unsigned messages;
    uint16_t last_stream;
    uint32_t last_ppid;
    uint8_t *last;
    size_t last_len;
    unsigned writable;       /* on_writable calls */
    unsigned closed;         /* on_stream_closed calls */
    uint16_t closed_stream;
    unsigned sent;     /* packets this end sent */
    unsigned drop_nth; /* when set: the drop_nth packet this end sends is kept off the wire */
    uint8_t *kept;     /* (here, to be put into the peer later: a late packet), */
    size_t kept_len;
    bool hold;         /* and while hold, every retransmission of its DATA chunk is lost */
    uint32_t hold_tsn;
    unsigned held;
    /* Every message received, in order (the first MAX_GOT). */
    uint8_t *got[MAX_GOT];
    size_t got_len[MAX_GOT];
    uint16_t got_stream[MAX_GOT];
    unsigned ngot;
} end_t;

static void on_send(void *ctx, const uint8_t *pkt, size_t len)
{
    end_t *e = ctx;
    end_t *to = e->peer;
    if (len > e->max_pkt)
        e->max_pkt = len;
    /* The first chunk's TSN, when it is DATA (after the 12-byte common header). */
    bool data = len >= 20 && pkt[12] == 0;
    uint32_t tsn = data ? (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 |
                              (uint32_t)pkt[18] << 8 | pkt[19]
                        : 0;
    if (++e->sent == e->drop_nth) {
        e->hold_tsn = tsn;
        e->kept = malloc(len);
        memcpy(e->kept, pkt, len);
        e->kept_len = len;
        return;
    }
    if (e->hold && data && tsn == e->hold_tsn && e->drop_nth && e->sent > e->drop_nth) {
        e->held++;
        return;
    }
    if (!to || to->npkts == MAX_PKTS)
        return;
    to->pkts[to->npkts] = malloc(len);
    memcpy(to->pkts[to->npkts], pkt, len);
    to->lens[to->npkts++] = len;
}

static void on_message(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *data,
                       size_t len)
{
    end_t *e = ctx;
    e->messages++;
    e->last_stream = stream;
    e->last_ppid = ppid;
    free(e->last);
    e->last = malloc(len ? len : 1);
    memcpy(e->last, data, len);
    e->last_len = len;
    if (e->ngot < MAX_GOT) {
        e->got[e->ngot] = malloc(len ? len : 1);
        memcpy(e->got[e->ngot], data, len);
        e->got_len[e->ngot] = len;
        e->got_stream[e->ngot++] = stream;
    }
}

static void on_state(void *ctx, sb_sctp_state_t st)
{
    end_t *e = ctx;
    e->state = st;
    e->states++;
}

static void on_stream_closed(void *ctx, uint16_t stream)
{
    end_t *e = ctx;
    e->closed++;
    e->closed_stream = stream;
}

static void on_writable(void *ctx)
{
    ((end_t *)ctx)->writable++;
}

static const sb_sctp_ops_t ops = {.send = on_send, .on_message = on_message,
                                  .on_state = on_state, .on_stream_closed = on_stream_closed,
                                  .on_writable = on_writable};

/* Deliver what is queued for e (and what that makes), once. Returns packets delivered. */
static unsigned deliver(end_t *e)
{
    unsigned n = e->npkts;
    uint8_t *pkts[MAX_PKTS];
    size_t lens[MAX_PKTS];
    memcpy(pkts, e->pkts, n * sizeof(pkts[0]));
    memcpy(lens, e->lens, n * sizeof(lens[0]));
    e->npkts = 0;
    for (unsigned i = 0; i < n; i++) {
        sb_sctp_input(e->s, pkts[i], lens[i]);
        free(pkts[i]);
        sb_sctp_drain(e->s);
    }
    return n;
}

/* Run the wire until done() or about max_ms of simulated time. */
static bool pump(end_t *a, end_t *b, bool (*done)(end_t *, end_t *), unsigned max_ms)
{
    for (unsigned ms = 0; ms <= max_ms; ms += 10) {
        for (int round = 0; round < 50; round++) {
            sb_sctp_drain(a->s);
            sb_sctp_drain(b->s);
            if (!deliver(a) + !deliver(b) == 2)
                break;
        }
        if (done(a, b))
            return true;
        sb_sctp_tick(10);
    }
    return false;
}

static bool both_up(end_t *a, end_t *b)
{
    return a->state == SB_SCTP_UP && b->state == SB_SCTP_UP;
}

static unsigned want_messages;
static bool b_has_messages(end_t *a, end_t *b)
{
    (void)a;
    return b->messages >= want_messages;
}

static void pair(end_t *a, end_t *b)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    a->peer = b;
    b->peer = a;
    sb_sctp_config_t cfg = {.max_message = 256 << 10};
    assert_int_equal(sb_sctp_new(&cfg, &ops, a, &a->s), 0);
    assert_int_equal(sb_sctp_new(&cfg, &ops, b, &b->s), 0);
    assert_int_equal(sb_sctp_connect(a->s), 0);
    assert_int_equal(sb_sctp_connect(b->s), 0);
    assert_true(pump(a, b, both_up, 5000));
}

static void unpair(end_t *a, end_t *b)
{
    a->peer = b->peer = NULL;
    sb_sctp_free(a->s);
    sb_sctp_free(b->s);
    for (unsigned i = 0; i < a->npkts; i++)
        free(a->pkts[i]);
    for (unsigned i = 0; i < b->npkts; i++)
        free(b->pkts[i]);
    free(a->last);
    free(b->last);
    free(a->kept);
    free(b->kept);
    for (unsigned i = 0; i < a->ngot; i++)
        free(a->got[i]);
    for (unsigned i = 0; i < b->ngot; i++)
        free(b->got[i]);
}

static int setup(void **state)
{
    (void)state;
    return sb_sctp_global_init();
}

static int teardown(void **state)
{
    (void)state;
    sb_sctp_global_deinit();
    return 0;
}

static void establish_and_exchange(void **state)
{
    (void)state;
    end_t a, b;
    pair(&a, &b);
    /* A DCEP open, text, then binary of 64 KiB and of the maximum size. */
    sb_dcep_channel_t ch = {.ordered = true, .reliability = SB_DCEP_RELIABLE};
    strcpy(ch.label, "chat");
    uint8_t open[64];
    int n = sb_dcep_write_open(&ch, open, sizeof(open));
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_DCEP, open, (size_t)n, NULL), 0);
    want_messages = 1;
    assert_true(pump(&a, &b, b_has_messages, 2000));
    assert_int_equal(b.last_ppid, SB_PPID_DCEP);
    sb_dcep_channel_t got;
    assert_int_equal(sb_dcep_parse(b.last, b.last_len, &got), SB_DCEP_MSG_OPEN);
    assert_string_equal(got.label, "chat");

    const char *hello = "hello over sctp";
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_STRING, (const uint8_t *)hello,
                                  strlen(hello), NULL), 0);
    want_messages = 2;
    assert_true(pump(&a, &b, b_has_messages, 2000));
    assert_int_equal(b.last_len, strlen(hello));
    assert_memory_equal(b.last, hello, strlen(hello));
    assert_int_equal(b.last_stream, 0);

    size_t sizes[] = {64 << 10, 256 << 10};
    for (int i = 0; i < 2; i++) {
        uint8_t *big = malloc(sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            big[k] = (uint8_t)(k * 7 + i);
        assert_int_equal(sb_sctp_send(a.s, 2, SB_PPID_BINARY, big, sizes[i], NULL), 0);
        want_messages = 3 + (unsigned)i;
        assert_true(pump(&a, &b, b_has_messages, 5000));
        assert_int_equal(b.last_len, sizes[i]);
        assert_memory_equal(b.last, big, sizes[i]);
        assert_int_equal(b.last_ppid, SB_PPID_BINARY);
        assert_int_equal(b.last_stream, 2);
        free(big);
    }
    /* Every packet fits a DTLS record of the default MTU. */
    assert_true(a.max_pkt <= SB_SCTP_DEFAULT_MTU);
    assert_true(a.max_pkt > SB_SCTP_DEFAULT_MTU / 2);
    /* Unordered and partially reliable messages arrive too (no loss here). */
    sb_sctp_send_opts_t game = {.unordered = true, .rexmit_limited = true, .max_rexmit = 0};
    sb_sctp_send_opts_t timed = {.time_limited = true, .lifetime_ms = 100};
    assert_int_equal(sb_sctp_send(a.s, 4, SB_PPID_BINARY, (const uint8_t *)"xy", 2, &game), 0);
    assert_int_equal(sb_sctp_send(a.s, 4, SB_PPID_BINARY, (const uint8_t *)"zz", 2, &timed), 0);
    want_messages = 6;
    assert_true(pump(&a, &b, b_has_messages, 2000));
    /* Refused: over max_message, a stream past the limit, empty. */
    static uint8_t huge[(256 << 10) + 1];
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_BINARY, huge, sizeof(huge), NULL), SB_EINVAL);
    assert_int_equal(sb_sctp_send(a.s, SB_SCTP_MAX_STREAMS, SB_PPID_BINARY, huge, 1, NULL),
                     SB_EINVAL);
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_BINARY, huge, 0, NULL), SB_EINVAL);
    assert_true(sb_sctp_stats(a.s).oversize_refused >= 1);
    /* And back the other way. */
    assert_int_equal(sb_sctp_send(b.s, 1, SB_PPID_STRING, (const uint8_t *)"pong", 4, NULL), 0);
    end_t *pa = &a, *pb = &b;
    want_messages = 1;
    assert_true(pump(pb, pa, b_has_messages, 2000));
    assert_memory_equal(a.last, "pong", 4);
    /* A closes (ABORT): B learns it. */
    sb_sctp_free(a.s);
    a.s = NULL;
    sb_sctp_drain(b.s);
    deliver(&b);
    sb_sctp_drain(b.s);
    assert_int_equal(b.state, SB_SCTP_CLOSED);
    assert_int_equal(sb_sctp_send(b.s, 1, SB_PPID_STRING, (const uint8_t *)"x", 1, NULL),
                     SB_ESTATE);
    a.peer = NULL;
    unpair(&a, &b);
}

/* Garbage and truncated packets change nothing: the association stays up and works. */
static void garbage_is_dropped(void **state)
{
    (void)state;
    end_t a, b;
    pair(&a, &b);
    srand(11);
    uint8_t junk[1500];
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)(rand() % (int)sizeof(junk));
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t)rand();
        if (i % 2 && len >= 12) { /* our ports, so it reaches the association's checks */
            junk[0] = 0x13, junk[1] = 0x88, junk[2] = 0x13, junk[3] = 0x88;
        }
        sb_sctp_input(b.s, junk, len);
        sb_sctp_drain(b.s);
    }
    assert_int_equal(b.state, SB_SCTP_UP);
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_STRING, (const uint8_t *)"still", 5, NULL), 0);
    want_messages = b.messages + 1;
    assert_true(pump(&a, &b, b_has_messages, 2000));
    assert_memory_equal(b.last, "still", 5);
    unpair(&a, &b);
}

static bool both_closed(end_t *a, end_t *b)
{
    return a->closed > 0 && b->closed > 0;
}

/* Closing a channel (RFC 8831 section 6.7): the side that closes resets its outgoing stream,
 * the other answers with its own, both learn the stream is closed once, and the stream can
 * carry a new channel afterwards. Whichever side starts. */
static void stream_reset_closes_both_ways(void **state)
{
    (void)state;
    end_t a, b;
    pair(&a, &b);
    for (int starter = 0; starter < 2; starter++) {
        end_t *x = starter ? &b : &a, *y = starter ? &a : &b;
        uint16_t stream = (uint16_t)(6 + starter);
        assert_int_equal(sb_sctp_send(x->s, stream, SB_PPID_STRING, (const uint8_t *)"hi", 2,
                                      NULL), 0);
        want_messages = y->messages + 1;
        end_t *first = x, *second = y;
        assert_true(pump(first, second, b_has_messages, 2000));
        x->closed = y->closed = 0;
        assert_int_equal(sb_sctp_close_stream(x->s, stream), 0);
        assert_true(pump(&a, &b, both_closed, 3000));
        assert_int_equal(x->closed_stream, stream);
        assert_int_equal(y->closed_stream, stream);
        /* No echo of resets back and forth: each side heard of it once. */
        pump(&a, &b, both_up, 200);
        assert_int_equal(x->closed, 1);
        assert_int_equal(y->closed, 1);
        /* The stream works again (a new channel on the same number). */
        assert_int_equal(sb_sctp_send(x->s, stream, SB_PPID_STRING, (const uint8_t *)"again", 5,
                                      NULL), 0);
        want_messages = y->messages + 1;
        assert_true(pump(first, second, b_has_messages, 2000));
        assert_memory_equal(y->last, "again", 5);
    }
    assert_int_equal(sb_sctp_close_stream(a.s, SB_SCTP_MAX_STREAMS), SB_EINVAL);
    unpair(&a, &b);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len);
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)(k * 13 + seed + (k >> 8));
    return p;
}

/* The drop_nth packet of a's next sends is kept off the wire: the first of a's packets past
 * about 110 KB of the next message, so usrsctp has handed part of that message over (its
 * partial delivery point is near 64 KB) before the hole. */
#define DROP_PAST_110K (110 * 1024 / 1000)

/* Large messages on two streams, one of them stuck behind a lost packet after usrsctp has
 * delivered its first pieces: usrsctp then hands over the other stream's message while the
 * first is still in pieces. Each must come whole, on its own stream (seen with Chromium: a
 * 200 KiB echo 66 KB short, another message dropped as oversize). */
static void pieces_of_two_streams_interleaved(void **state)
{
    (void)state;
    end_t a, b;
    pair(&a, &b);
    size_t len0 = 200 << 10, len2 = 150 << 10;
    uint8_t *m0 = pattern(len0, 1), *m2 = pattern(len2, 2);
    a.sent = 0;
    a.drop_nth = DROP_PAST_110K;
    a.hold = true; /* the hole stays until stream 2's message is through */
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_BINARY, m0, len0, NULL), 0);
    assert_int_equal(sb_sctp_send(a.s, 2, SB_PPID_BINARY, m2, len2, NULL), 0);
    want_messages = 1;
    assert_true(pump(&a, &b, b_has_messages, 10000));
    assert_non_null(a.kept);
    assert_int_equal(b.got_stream[0], 2); /* stream 2's message went past the hole */
    /* The kept packet arrives late and fills the hole. */
    a.hold = false;
    sb_sctp_input(b.s, a.kept, a.kept_len);
    sb_sctp_drain(b.s);
    want_messages = 2;
    assert_true(pump(&a, &b, b_has_messages, 2000));
    pump(&a, &b, both_up, 500); /* nothing more comes */
    assert_int_equal(b.ngot, 2);
    assert_int_equal(b.got_stream[0], 2);
    assert_int_equal(b.got_len[0], len2);
    assert_memory_equal(b.got[0], m2, len2);
    assert_int_equal(b.got_stream[1], 0);
    assert_int_equal(b.got_len[1], len0);
    assert_memory_equal(b.got[1], m0, len0);
    assert_int_equal(sb_sctp_stats(b.s).oversize_refused, 0);
    free(m0);
    free(m2);
    unpair(&a, &b);
}

/* A partially reliable message (maxRetransmits 0) loses a packet after usrsctp has delivered
 * its first pieces: it is abandoned (FORWARD-TSN) and never completes. What comes next on
 * that stream is a message of its own, not the tail of the abandoned one. Ordered and
 * unordered. */
static void abandoned_message_in_pieces_is_dropped(void **state)
{
    (void)state;
    for (int unordered = 0; unordered < 2; unordered++) {
        end_t a, b;
        pair(&a, &b);
        sb_sctp_send_opts_t game = {.unordered = unordered, .rexmit_limited = true,
                                    .max_rexmit = 0};
        size_t len = 200 << 10;
        uint8_t *m = pattern(len, 3);
        a.sent = 0;
        a.drop_nth = DROP_PAST_110K;
        assert_int_equal(sb_sctp_send(a.s, 4, SB_PPID_BINARY, m, len, &game), 0);
        pump(&a, &b, both_up, 3000); /* the hole is never filled: the message is abandoned */
        assert_int_equal(sb_sctp_send(a.s, 4, SB_PPID_STRING, (const uint8_t *)"next", 4,
                                      &game), 0);
        want_messages = 1;
        assert_true(pump(&a, &b, b_has_messages, 3000));
        pump(&a, &b, both_up, 200);
        assert_int_equal(b.ngot, 1);
        assert_int_equal(b.got_stream[0], 4);
        assert_int_equal(b.got_len[0], 4);
        assert_memory_equal(b.got[0], "next", 4);
        /* And an unordered stream goes on carrying large messages whole. (An ordered one
         * does not: usrsctp 0.9.5 never delivers a later message in several fragments on
         * it, with or without us.) */
        if (unordered) {
            assert_int_equal(sb_sctp_send(a.s, 4, SB_PPID_BINARY, m, len, &game), 0);
            want_messages = 2;
            assert_true(pump(&a, &b, b_has_messages, 3000));
            assert_int_equal(b.got_len[1], len);
            assert_memory_equal(b.got[1], m, len);
        }
        free(m);
        unpair(&a, &b);
    }
}

/* A sender that fills its send buffer gets SB_EAGAIN, nothing more is taken, and once the
 * peer's acknowledgements free room, on_writable says so: what was taken all arrives. */
static void full_buffer_then_writable(void **state)
{
    (void)state;
    end_t a, b;
    pair(&a, &b);
    static uint8_t block[64 << 10];
    unsigned taken = 0;
    int rc = 0;
    while (taken < 1000 && (rc = sb_sctp_send(a.s, 0, SB_PPID_BINARY, block, sizeof(block),
                                              NULL)) == 0)
        taken++;
    assert_int_equal(rc, SB_EAGAIN);
    assert_true(taken >= 4 && taken < 40); /* bounded by SO_SNDBUF, not by us */
    a.writable = 0;
    want_messages = b.messages + taken;
    assert_true(pump(&a, &b, b_has_messages, 10000));
    assert_true(a.writable > 0);
    assert_int_equal(sb_sctp_send(a.s, 0, SB_PPID_BINARY, block, sizeof(block), NULL), 0);
    unpair(&a, &b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(establish_and_exchange),
        cmocka_unit_test(garbage_is_dropped),
        cmocka_unit_test(stream_reset_closes_both_ways),
        cmocka_unit_test(full_buffer_then_writable),
        cmocka_unit_test(pieces_of_two_streams_interleaved),
        cmocka_unit_test(abandoned_message_in_pieces_is_dropped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
