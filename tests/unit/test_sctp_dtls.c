/* SCTP over DTLS (RFC 8261), the way a PeerConnection will stack them: two DTLS endpoints
 * (src/proto/dtls.c) complete their handshake, then two SCTP associations
 * (src/proto/sctp.c) carry their packets as DTLS application data. DCEP opens a channel and
 * is acknowledged; text and a 200 KiB binary message cross; every SCTP packet fits one DTLS
 * record of the default 1,200-byte MTU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "proto/cert.h"
#include "proto/dcep.h"
#include "proto/dtls.h"
#include "proto/sctp.h"

#define QMAX 4096

typedef struct side {
    sb_dtls_t *dtls;
    sb_sctp_t *sctp;
    struct side *peer;
    uint8_t *q[QMAX]; /* DTLS datagrams on their way to the peer */
    size_t qlen[QMAX];
    unsigned nq;
    bool dtls_up;
    sb_sctp_state_t sctp_state;
    unsigned messages, dcep_acks, dcep_opens, send_errors;
    uint32_t last_ppid;
    uint8_t *last;
    size_t last_len;
} side_t;

/* DTLS: a datagram to the peer. */
static void dtls_send(void *ctx, const uint8_t *d, size_t len)
{
    side_t *s = ctx;
    assert_true(len <= SB_DTLS_DEFAULT_MTU);
    assert_true(s->nq < QMAX);
    s->q[s->nq] = malloc(len);
    memcpy(s->q[s->nq], d, len);
    s->qlen[s->nq++] = len;
}

static void dtls_connected(void *ctx, const sb_srtp_keys_t *keys)
{
    (void)keys;
    ((side_t *)ctx)->dtls_up = true;
}

static void dtls_failed(void *ctx, const char *reason)
{
    (void)ctx;
    fail_msg("DTLS failed: %s", reason);
}

/* DTLS application data: an SCTP packet. */
static void dtls_data(void *ctx, const uint8_t *d, size_t len)
{
    side_t *s = ctx;
    sb_sctp_input(s->sctp, d, len);
}

static const sb_dtls_ops_t dtls_ops = {.send = dtls_send, .on_connected = dtls_connected,
                                       .on_failed = dtls_failed, .on_data = dtls_data};

/* SCTP: a packet for the peer goes into DTLS. */
static void sctp_send(void *ctx, const uint8_t *pkt, size_t len)
{
    side_t *s = ctx;
    if (sb_dtls_send_data(s->dtls, pkt, len) != 0)
        s->send_errors++;
}

static void sctp_message(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *data,
                         size_t len)
{
    side_t *s = ctx;
    s->messages++;
    s->last_ppid = ppid;
    free(s->last);
    s->last = malloc(len);
    memcpy(s->last, data, len);
    s->last_len = len;
    sb_dcep_channel_t ch;
    if (ppid == SB_PPID_DCEP) {
        int t = sb_dcep_parse(data, len, &ch);
        if (t == SB_DCEP_MSG_OPEN) {
            s->dcep_opens++;
            uint8_t ack[SB_DCEP_ACK_LEN];
            sb_dcep_write_ack(ack);
            assert_int_equal(sb_sctp_send(s->sctp, stream, SB_PPID_DCEP, ack, sizeof(ack), NULL),
                             0);
        } else if (t == SB_DCEP_MSG_ACK) {
            s->dcep_acks++;
        }
    }
}

static void sctp_state(void *ctx, sb_sctp_state_t st)
{
    ((side_t *)ctx)->sctp_state = st;
}

static const sb_sctp_ops_t sctp_ops = {.send = sctp_send, .on_message = sctp_message,
                                       .on_state = sctp_state};

/* Deliver DTLS datagrams both ways (and whatever they make) until quiet; tick SCTP timers. */
static void pump(side_t *a, side_t *b, unsigned ms)
{
    for (unsigned t = 0; t <= ms; t += 10) {
        for (int round = 0; round < 200 && (a->nq || b->nq); round++) {
            side_t *from = a->nq ? a : b;
            unsigned n = from->nq;
            uint8_t **q = malloc(n * sizeof(*q));
            size_t *ql = malloc(n * sizeof(*ql));
            memcpy(q, from->q, n * sizeof(*q));
            memcpy(ql, from->qlen, n * sizeof(*ql));
            from->nq = 0;
            for (unsigned i = 0; i < n; i++) {
                sb_dtls_handle(from->peer->dtls, q[i], ql[i]);
                free(q[i]);
                if (from->peer->sctp)
                    sb_sctp_drain(from->peer->sctp);
            }
            free(q);
            free(ql);
        }
        if (a->sctp)
            sb_sctp_drain(a->sctp);
        if (b->sctp)
            sb_sctp_drain(b->sctp);
        if (!a->nq && !b->nq) {
            sb_sctp_tick(10);
            if (a->sctp)
                sb_sctp_drain(a->sctp);
            if (b->sctp)
                sb_sctp_drain(b->sctp);
        }
    }
}

static void split_fp(const char *fp, char *hash, char *hex)
{
    const char *sp = strchr(fp, ' ');
    memcpy(hash, fp, (size_t)(sp - fp));
    hash[sp - fp] = '\0';
    strcpy(hex, sp + 1);
}

static void sctp_over_dtls(void **state)
{
    (void)state;
    assert_int_equal(sb_sctp_global_init(), 0);
    sb_cert_t *ca, *cb;
    assert_int_equal(sb_cert_generate(&ca), 0);
    assert_int_equal(sb_cert_generate(&cb), 0);
    static side_t a, b;
    a.peer = &b;
    b.peer = &a;
    char hash[16], hex[256];
    split_fp(sb_cert_fingerprint(cb), hash, hex);
    assert_int_equal(sb_dtls_new(ca, SB_DTLS_CLIENT, hash, hex, &dtls_ops, &a, &a.dtls), 0);
    split_fp(sb_cert_fingerprint(ca), hash, hex);
    assert_int_equal(sb_dtls_new(cb, SB_DTLS_SERVER, hash, hex, &dtls_ops, &b, &b.dtls), 0);
    assert_int_equal(sb_dtls_start(a.dtls), 0);
    assert_int_equal(sb_dtls_start(b.dtls), 0);
    pump(&a, &b, 0);
    assert_true(a.dtls_up && b.dtls_up);

    sb_sctp_config_t cfg = {0};
    assert_int_equal(sb_sctp_new(&cfg, &sctp_ops, &a, &a.sctp), 0);
    assert_int_equal(sb_sctp_new(&cfg, &sctp_ops, &b, &b.sctp), 0);
    assert_int_equal(sb_sctp_connect(a.sctp), 0);
    assert_int_equal(sb_sctp_connect(b.sctp), 0);
    pump(&a, &b, 3000);
    assert_int_equal(a.sctp_state, SB_SCTP_UP);
    assert_int_equal(b.sctp_state, SB_SCTP_UP);

    /* The DTLS client opens channels on even streams (RFC 8832 section 6). */
    sb_dcep_channel_t ch = {.ordered = false, .reliability = SB_DCEP_PARTIAL_REXMIT,
                            .reliability_param = 0};
    strcpy(ch.label, "game");
    uint8_t open[64];
    int n = sb_dcep_write_open(&ch, open, sizeof(open));
    assert_true(sb_dcep_stream_is_ours(0, true));
    assert_int_equal(sb_sctp_send(a.sctp, 0, SB_PPID_DCEP, open, (size_t)n, NULL), 0);
    pump(&a, &b, 1000);
    assert_int_equal(b.dcep_opens, 1);
    assert_int_equal(a.dcep_acks, 1);

    assert_int_equal(sb_sctp_send(a.sctp, 0, SB_PPID_STRING, (const uint8_t *)"ping", 4, NULL),
                     0);
    pump(&a, &b, 1000);
    assert_int_equal(b.last_ppid, SB_PPID_STRING);
    assert_memory_equal(b.last, "ping", 4);

    size_t big_len = 200 << 10;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 31);
    assert_int_equal(sb_sctp_send(b.sctp, 1, SB_PPID_BINARY, big, big_len, NULL), 0);
    pump(&a, &b, 3000);
    assert_int_equal(a.last_len, big_len);
    assert_memory_equal(a.last, big, big_len);
    assert_int_equal(a.send_errors + b.send_errors, 0);
    free(big);

    sb_sctp_free(a.sctp);
    sb_sctp_free(b.sctp);
    sb_dtls_free(a.dtls);
    sb_dtls_free(b.dtls);
    for (unsigned i = 0; i < a.nq; i++)
        free(a.q[i]);
    for (unsigned i = 0; i < b.nq; i++)
        free(b.q[i]);
    free(a.last);
    free(b.last);
    sb_cert_free(ca);
    sb_cert_free(cb);
    sb_sctp_global_deinit();
    sb_dtls_global_deinit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sctp_over_dtls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
