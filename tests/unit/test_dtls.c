/* Unit tests for proto/cert and proto/dtls: two in-memory endpoints wired through their send
 * ops. Covers both roles, every SRTP profile, exported keys (crosswise equal, and usable by
 * proto/srtp), fingerprint mismatch on either side, a ClientHello before start, lost flights
 * recovered through the timeout API, the handshake deadline (fake clock), close_notify, MTU,
 * garbage input, and certificate generation/loading/fingerprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "switchboard/error.h"
#include "switchboard/time.h"
#include "proto/cert.h"
#include "proto/dtls.h"
#include "proto/srtp.h"

#define QMAX 64
#define DGRAM_MAX 1500

typedef struct side {
    sb_dtls_t *d;
    struct {
        uint8_t data[DGRAM_MAX];
        size_t len;
    } q[QMAX];
    size_t nq;
    unsigned sent; /* datagrams handed to send (dropped ones included) */
    unsigned dropped;
    uint64_t drop_mask; /* bit i: drop the i-th datagram this side sends */
    bool drop_all;
    bool close_on_connect; /* call sb_dtls_close from inside on_connected */
    size_t max_len;
    int n_connected, n_failed, n_closed;
    char reason[160];
    sb_srtp_keys_t keys;
} side_t;

static sb_cert_t *cert_a, *cert_b, *cert_c;

static void op_send(void *ctx, const uint8_t *data, size_t len)
{
    side_t *s = ctx;
    unsigned i = s->sent++;
    if (len > s->max_len)
        s->max_len = len;
    if (s->drop_all || (i < 64 && (s->drop_mask >> i) & 1)) {
        s->dropped++;
        return;
    }
    assert_true(len <= DGRAM_MAX);
    assert_true(s->nq < QMAX);
    memcpy(s->q[s->nq].data, data, len);
    s->q[s->nq++].len = len;
}

static void op_connected(void *ctx, const sb_srtp_keys_t *keys)
{
    side_t *s = ctx;
    s->n_connected++;
    s->keys = *keys;
    if (s->close_on_connect)
        assert_int_equal(sb_dtls_close(s->d), 0);
}

static void op_failed(void *ctx, const char *reason)
{
    side_t *s = ctx;
    s->n_failed++;
    snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

static void op_closed(void *ctx)
{
    side_t *s = ctx;
    s->n_closed++;
}

static const sb_dtls_ops_t ops = {
    .send = op_send,
    .on_connected = op_connected,
    .on_failed = op_failed,
    .on_closed = op_closed,
};

/* Splits "sha-256 AB:CD..." into its two SDP tokens. */
static void split_fp(const char *fp, char *hash, char *hex)
{
    const char *sp = strchr(fp, ' ');
    assert_non_null(sp);
    memcpy(hash, fp, (size_t)(sp - fp));
    hash[sp - fp] = '\0';
    strcpy(hex, sp + 1);
}

/* Endpoint for `self` using `mine`, expecting the remote to present `theirs`. */
static void make(side_t *s, sb_cert_t *mine, sb_cert_t *theirs, sb_dtls_role_t role)
{
    char hash[16], hex[SB_CERT_FP_MAX_TEXT];
    split_fp(sb_cert_fingerprint(theirs), hash, hex);
    memset(s, 0, sizeof(*s));
    assert_int_equal(sb_dtls_new(mine, role, hash, hex, &ops, s, &s->d), 0);
    assert_int_equal(sb_dtls_get_state(s->d), SB_DTLS_NEW);
}

/* Delivers queued datagrams both ways until both queues are empty. */
static void pump(side_t *a, side_t *b)
{
    for (int round = 0; round < 50 && (a->nq || b->nq); round++) {
        side_t *from[2] = {a, b}, *to[2] = {b, a};
        for (int k = 0; k < 2; k++) {
            static side_t snap;
            snap.nq = from[k]->nq;
            memcpy(snap.q, from[k]->q, sizeof(snap.q[0]) * snap.nq);
            from[k]->nq = 0;
            for (size_t i = 0; i < snap.nq; i++) {
                int rc = sb_dtls_handle(to[k]->d, snap.q[i].data, snap.q[i].len);
                assert_true(rc == 0 || rc == SB_ESTATE);
            }
        }
    }
}

static void free_pair(side_t *a, side_t *b)
{
    sb_dtls_free(a->d);
    sb_dtls_free(b->d);
}

static void assert_keys_crosswise(const side_t *a, const side_t *b)
{
    assert_int_equal(a->keys.profile, b->keys.profile);
    assert_int_equal(a->keys.key_len, b->keys.key_len);
    assert_int_equal(a->keys.salt_len, b->keys.salt_len);
    assert_memory_equal(a->keys.local_key, b->keys.remote_key, a->keys.key_len);
    assert_memory_equal(a->keys.local_salt, b->keys.remote_salt, a->keys.salt_len);
    assert_memory_equal(a->keys.remote_key, b->keys.local_key, a->keys.key_len);
    assert_memory_equal(a->keys.remote_salt, b->keys.local_salt, a->keys.salt_len);
    assert_memory_not_equal(a->keys.local_key, a->keys.remote_key, a->keys.key_len);
}

/* The exported keys work with proto/srtp: a protects, b unprotects, and back. */
static void assert_srtp_works(const side_t *x, const side_t *y)
{
    const side_t *pair[2][2] = {{x, y}, {y, x}};
    for (int k = 0; k < 2; k++) {
        sb_srtp_session_t *out, *in;
        assert_int_equal(sb_srtp_session_new(&pair[k][0]->keys, SB_SRTP_OUTBOUND, &out), 0);
        assert_int_equal(sb_srtp_session_new(&pair[k][1]->keys, SB_SRTP_INBOUND, &in), 0);
        uint8_t pkt[256] = {0x80, 96, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef};
        memset(pkt + 12, 0x5a, 100);
        size_t len = 112;
        assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), 0);
        assert_int_equal(len, 112);
        assert_int_equal(pkt[50], 0x5a);
        sb_srtp_session_free(out);
        sb_srtp_session_free(in);
    }
}

static void connect_pair(side_t *a, side_t *b)
{
    assert_int_equal(sb_dtls_start(a->d), 0);
    assert_int_equal(sb_dtls_start(b->d), 0);
    pump(a, b);
    assert_int_equal(a->n_connected, 1);
    assert_int_equal(b->n_connected, 1);
    assert_int_equal(a->n_failed + b->n_failed, 0);
}

static void test_handshake_both_roles(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        side_t a, b;
        sb_dtls_role_t ra = r ? SB_DTLS_SERVER : SB_DTLS_CLIENT;
        make(&a, cert_a, cert_b, ra);
        make(&b, cert_b, cert_a, ra == SB_DTLS_CLIENT ? SB_DTLS_SERVER : SB_DTLS_CLIENT);
        connect_pair(&a, &b);
        assert_int_equal(sb_dtls_get_state(a.d), SB_DTLS_CONNECTED);
        assert_int_equal(sb_dtls_get_state(b.d), SB_DTLS_CONNECTED);
        /* Preference order: GCM-128 first. */
        assert_int_equal(a.keys.profile, SB_SRTP_AEAD_AES_128_GCM);
        assert_int_equal(sb_dtls_get_profile(a.d), SB_SRTP_AEAD_AES_128_GCM);
        assert_keys_crosswise(&a, &b);
        assert_srtp_works(&a, &b);
        assert_true(a.max_len <= SB_DTLS_DEFAULT_MTU && b.max_len <= SB_DTLS_DEFAULT_MTU);
        assert_int_equal(sb_dtls_get_role(a.d), ra);
        free_pair(&a, &b);
    }
}

static void test_profiles_forced(void **state)
{
    (void)state;
    const sb_srtp_profile_t profiles[] = {SB_SRTP_AES128_CM_SHA1_80, SB_SRTP_AES128_CM_SHA1_32,
                                          SB_SRTP_AEAD_AES_128_GCM, SB_SRTP_AEAD_AES_256_GCM};
    const uint8_t key_len[] = {16, 16, 16, 32}, salt_len[] = {14, 14, 12, 12};
    for (size_t p = 0; p < 4; p++) {
        for (int forced_side = 0; forced_side < 2; forced_side++) {
            side_t a, b;
            make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
            make(&b, cert_b, cert_a, SB_DTLS_SERVER);
            /* Force on the client (the offer) or on the server (the selection). */
            sb_dtls_t *d = forced_side ? b.d : a.d;
            assert_int_equal(sb_dtls_set_profiles(d, sb_srtp_profile_name(profiles[p])), 0);
            connect_pair(&a, &b);
            assert_int_equal(a.keys.profile, profiles[p]);
            assert_int_equal(a.keys.key_len, key_len[p]);
            assert_int_equal(a.keys.salt_len, salt_len[p]);
            assert_keys_crosswise(&a, &b);
            assert_srtp_works(&a, &b);
            free_pair(&a, &b);
        }
    }
    /* As server our preference wins: GCM even when the client lists AES-CM first. */
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_set_profiles(
                         a.d, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM"),
                     0);
    connect_pair(&a, &b);
    assert_int_equal(a.keys.profile, SB_SRTP_AEAD_AES_128_GCM);
    free_pair(&a, &b);
    /* No profile in common: both fail, no keys. */
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_set_profiles(a.d, "SRTP_AES128_CM_SHA1_32"), 0);
    assert_int_equal(sb_dtls_set_profiles(b.d, "SRTP_AEAD_AES_256_GCM"), 0);
    assert_int_equal(sb_dtls_set_profiles(b.d, "SRTP_BOGUS"), SB_EINVAL);
    assert_int_equal(sb_dtls_start(a.d), 0);
    pump(&a, &b);
    assert_int_equal(a.n_connected + b.n_connected, 0);
    assert_int_equal(a.n_failed, 1);
    assert_int_equal(b.n_failed, 1);
    free_pair(&a, &b);
}

static void test_fingerprint_mismatch(void **state)
{
    (void)state;
    for (int wrong_on = 0; wrong_on < 2; wrong_on++) {
        side_t a, b;
        /* The side with the wrong expectation thinks the remote uses cert_c. */
        make(&a, cert_a, wrong_on == 0 ? cert_c : cert_b, SB_DTLS_CLIENT);
        make(&b, cert_b, wrong_on == 1 ? cert_c : cert_a, SB_DTLS_SERVER);
        assert_int_equal(sb_dtls_start(a.d), 0);
        assert_int_equal(sb_dtls_start(b.d), 0);
        pump(&a, &b);
        assert_int_equal(a.n_connected, 0);
        assert_int_equal(b.n_connected, 0);
        /* The side that found the mismatch failed at once; its unencrypted bad_certificate
         * alert gives the other side only the alert grace period, not the full timeout. */
        side_t *finder = wrong_on == 0 ? &a : &b, *told = wrong_on == 0 ? &b : &a;
        assert_int_equal(finder->n_failed, 1);
        assert_int_equal(told->n_failed, 0);
        int64_t due = sb_dtls_next_timeout_us(told->d, 0);
        assert_true(due > 0 && due <= SB_DTLS_ALERT_GRACE_US);
        sb_dtls_handle_timeout(told->d, SB_DTLS_ALERT_GRACE_US);
        assert_int_equal(told->n_failed, 1);
        assert_non_null(strstr(told->reason, "alert"));
        assert_int_equal(a.n_failed, 1);
        assert_int_equal(b.n_failed, 1);
        assert_int_equal(sb_dtls_get_state(a.d), SB_DTLS_FAILED);
        assert_int_equal(sb_dtls_get_state(b.d), SB_DTLS_FAILED);
        assert_int_equal(sb_dtls_get_profile(a.d), SB_SRTP_PROFILE_NONE);
        const char *reason = wrong_on == 0 ? a.reason : b.reason;
        assert_non_null(strstr(reason, "fingerprint"));
        /* Keys were never handed out. */
        sb_srtp_keys_t zero;
        memset(&zero, 0, sizeof(zero));
        assert_memory_equal(&a.keys, &zero, sizeof(zero));
        assert_memory_equal(&b.keys, &zero, sizeof(zero));
        assert_int_equal(
            sb_dtls_handle(a.d, (const uint8_t *)"\x16\xfe\xfd\0\0\0\0\0\0\0\0\0\0", 13),
            SB_ESTATE);
        assert_int_equal(sb_dtls_next_timeout_us(a.d, 0), -1);
        free_pair(&a, &b);
    }
    /* Lowercase hex and uppercase hash name are the same fingerprint; a fingerprint can also
     * be given after creation. */
    side_t a, b;
    char hash[16], hex[SB_CERT_FP_MAX_TEXT];
    split_fp(sb_cert_fingerprint(cert_b), hash, hex);
    for (char *p = hex; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    memset(&a, 0, sizeof(a));
    assert_int_equal(sb_dtls_new(cert_a, SB_DTLS_CLIENT, NULL, NULL, &ops, &a, &a.d), 0);
    assert_int_equal(sb_dtls_set_remote_fingerprint(a.d, "SHA-256", hex), 0);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    connect_pair(&a, &b);
    assert_int_equal(sb_dtls_set_remote_fingerprint(a.d, "sha-256", hex), SB_ESTATE);
    free_pair(&a, &b);
    /* No fingerprint at all: fails. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(sb_dtls_new(cert_a, SB_DTLS_CLIENT, NULL, NULL, &ops, &a, &a.d), 0);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_start(a.d), 0);
    pump(&a, &b);
    assert_int_equal(a.n_failed, 1);
    sb_dtls_next_timeout_us(b.d, 0);
    sb_dtls_handle_timeout(b.d, SB_DTLS_ALERT_GRACE_US);
    assert_int_equal(b.n_failed, 1);
    free_pair(&a, &b);
}

static void test_clienthello_before_start(void **state)
{
    (void)state;
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_start(a.d), 0);
    assert_int_equal(a.nq, 1);
    /* The server has not been started: it answers anyway. */
    pump(&a, &b);
    assert_int_equal(b.n_connected, 1);
    assert_int_equal(a.n_connected, 1);
    assert_int_equal(sb_dtls_start(b.d), 0); /* late start: a no-op */
    assert_int_equal(b.nq, 0);
    assert_keys_crosswise(&a, &b);
    free_pair(&a, &b);

    /* A client that has not started ignores input (nothing may precede its ClientHello). */
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    uint8_t junk[40] = {22, 0xfe, 0xfd};
    assert_int_equal(sb_dtls_handle(a.d, junk, sizeof(junk)), 0);
    assert_int_equal(a.sent, 0);
    assert_int_equal(sb_dtls_get_state(a.d), SB_DTLS_NEW);
    sb_dtls_free(a.d);
}

/* Waits (real time: OpenSSL 3.0 times retransmissions with its own clock) until the endpoint's
 * deadline, then fires its timer. */
static void fire_timer(side_t *s)
{
    int64_t now = sb_now_us(), due = sb_dtls_next_timeout_us(s->d, now);
    assert_true(due >= now);
    assert_true(due - now <= SB_DTLS_INITIAL_RTO_US * 2 + 20000);
    usleep((useconds_t)(due - now + 2000));
    sb_dtls_handle_timeout(s->d, sb_now_us());
}

/* How many datagrams the server's first flight takes (dry run). */
static unsigned server_first_flight(void)
{
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_start(a.d), 0);
    for (size_t i = 0; i < a.nq; i++)
        assert_int_equal(sb_dtls_handle(b.d, a.q[i].data, a.q[i].len), 0);
    unsigned n = b.sent;
    free_pair(&a, &b);
    assert_true(n >= 1 && n < 60);
    return n;
}

/* Case 0: the ClientHello is lost; the client's timer resends it.
 * Case 1: the server's first flight is lost; the server's timer resends it (a duplicate
 *         ClientHello is not an answer in OpenSSL: each side relies on its own timer).
 * Case 2: the server's final flight is lost after the server connected; the client's timer
 *         resends its flight and the connected server answers it with its final flight. */
static void test_loss_recovered(void **state)
{
    (void)state;
    unsigned first = server_first_flight();
    uint64_t first_mask = (1ull << first) - 1;
    for (int c = 0; c < 3; c++) {
        side_t a, b;
        make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
        make(&b, cert_b, cert_a, SB_DTLS_SERVER);
        if (c == 0)
            a.drop_mask = 1;
        else
            b.drop_mask = c == 1 ? first_mask : ~first_mask;
        assert_int_equal(sb_dtls_start(b.d), 0);
        assert_int_equal(sb_dtls_start(a.d), 0);
        pump(&a, &b);
        assert_int_equal(a.n_connected, 0);
        assert_int_equal(b.n_connected, c == 2 ? 1 : 0);
        assert_true(a.dropped + b.dropped >= 1);
        a.drop_mask = b.drop_mask = 0;
        fire_timer(c == 1 ? &b : &a);
        pump(&a, &b);
        assert_int_equal(a.n_connected, 1);
        assert_int_equal(b.n_connected, 1);
        assert_int_equal(a.n_failed + b.n_failed, 0);
        assert_keys_crosswise(&a, &b);
        free_pair(&a, &b);
    }
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    const int64_t t0 = 5000000; /* fake clock */
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_next_timeout_us(a.d, t0), -1); /* nothing started */
    a.drop_all = true;
    assert_int_equal(sb_dtls_start(a.d), 0);
    assert_int_equal(sb_dtls_start(b.d), 0);
    int64_t due_a = sb_dtls_next_timeout_us(a.d, t0), due_b = sb_dtls_next_timeout_us(b.d, t0);
    assert_true(due_a > t0 && due_a <= t0 + SB_DTLS_INITIAL_RTO_US + 1000);
    assert_int_equal(due_b, t0 + SB_DTLS_HANDSHAKE_TIMEOUT_US); /* waiting: deadline only */
    sb_dtls_handle_timeout(a.d, t0 + 1000);
    sb_dtls_handle_timeout(b.d, t0 + SB_DTLS_HANDSHAKE_TIMEOUT_US - 1);
    assert_int_equal(a.n_failed + b.n_failed, 0);
    sb_dtls_handle_timeout(a.d, t0 + SB_DTLS_HANDSHAKE_TIMEOUT_US);
    sb_dtls_handle_timeout(b.d, t0 + SB_DTLS_HANDSHAKE_TIMEOUT_US);
    assert_int_equal(a.n_failed, 1);
    assert_int_equal(b.n_failed, 1);
    assert_non_null(strstr(a.reason, "timed out"));
    assert_int_equal(sb_dtls_next_timeout_us(a.d, t0), -1);
    assert_int_equal(sb_dtls_start(a.d), SB_ESTATE);
    sb_dtls_handle_timeout(a.d, t0 + 2 * SB_DTLS_HANDSHAKE_TIMEOUT_US); /* no second report */
    assert_int_equal(a.n_failed, 1);
    free_pair(&a, &b);
}

static void test_close_notify(void **state)
{
    (void)state;
    for (int closer = 0; closer < 2; closer++) {
        side_t a, b;
        make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
        make(&b, cert_b, cert_a, SB_DTLS_SERVER);
        connect_pair(&a, &b);
        side_t *x = closer ? &b : &a, *y = closer ? &a : &b;
        assert_int_equal(sb_dtls_close(x->d), 0);
        assert_int_equal(sb_dtls_get_state(x->d), SB_DTLS_CLOSED);
        assert_int_equal(x->nq, 1);
        assert_int_equal(sb_dtls_close(x->d), SB_ESTATE);
        pump(&a, &b);
        assert_int_equal(y->n_closed, 1);
        assert_int_equal(x->n_closed, 0); /* a local close reports nothing */
        assert_int_equal(sb_dtls_get_state(y->d), SB_DTLS_CLOSED);
        assert_int_equal(a.n_failed + b.n_failed, 0);
        free_pair(&a, &b);
    }
}

/* The peer layer may close from inside on_connected (e.g. SRTP set-up failed). */
static void test_close_inside_connected(void **state)
{
    (void)state;
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    b.close_on_connect = true;
    assert_int_equal(sb_dtls_start(a.d), 0);
    pump(&a, &b);
    assert_int_equal(b.n_connected, 1);
    assert_int_equal(sb_dtls_get_state(b.d), SB_DTLS_CLOSED);
    assert_int_equal(a.n_connected, 1);
    assert_int_equal(a.n_closed, 1);
    assert_int_equal(a.n_failed + b.n_failed, 0);
    free_pair(&a, &b);
}

static void test_mtu(void **state)
{
    (void)state;
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_set_mtu(a.d, 100), SB_EINVAL);
    assert_int_equal(sb_dtls_set_mtu(a.d, 300), 0);
    assert_int_equal(sb_dtls_set_mtu(b.d, 300), 0);
    connect_pair(&a, &b);
    assert_true(a.max_len <= 300);
    assert_true(b.max_len <= 300);
    assert_true(b.sent >= 3); /* the certificate flight really was split */
    assert_int_equal(sb_dtls_set_mtu(a.d, 1200), SB_ESTATE);
    free_pair(&a, &b);
}

static void test_garbage(void **state)
{
    (void)state;
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    uint8_t buf[600];
    assert_int_equal(sb_dtls_handle(b.d, buf, 5), SB_EINVAL);
    buf[0] = 0;
    assert_int_equal(sb_dtls_handle(b.d, buf, 100), SB_EINVAL);
    buf[0] = 128;
    assert_int_equal(sb_dtls_handle(b.d, buf, 100), SB_EINVAL);
    /* Random records on a fresh server: discarded or fatal, never a crash. */
    for (int i = 0; i < 300; i++) {
        assert_int_equal(RAND_bytes(buf, sizeof(buf)), 1);
        buf[0] = (uint8_t)(20 + buf[0] % 44);
        if (i % 2) { /* look more like DTLS 1.2 handshake records */
            buf[0] = 22, buf[1] = 0xfe, buf[2] = 0xfd;
        }
        int rc = sb_dtls_handle(b.d, buf, 13 + (size_t)buf[5] * 2);
        assert_true(rc == 0 || rc == SB_ESTATE);
    }
    free_pair(&a, &b);
    /* Garbage after the handshake is discarded (bad records are dropped, RFC 6347 §4.1.2.7). */
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    connect_pair(&a, &b);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(RAND_bytes(buf, sizeof(buf)), 1);
        buf[0] = 23, buf[1] = 0xfe, buf[2] = 0xfd, buf[3] = 0, buf[4] = 1;
        buf[11] = 0, buf[12] = 100;
        assert_int_equal(sb_dtls_handle(b.d, buf, 113), 0);
    }
    assert_int_equal(sb_dtls_get_state(b.d), SB_DTLS_CONNECTED);
    assert_int_equal(b.n_failed, 0);
    free_pair(&a, &b);
}

/* Writes one DTLS 1.2 record header + body of `len` bytes (filled with `fill`) at out. */
static size_t forge_record(uint8_t *out, uint8_t type, uint16_t epoch, uint64_t seq,
                           size_t len, uint8_t fill)
{
    out[0] = type, out[1] = 0xfe, out[2] = 0xfd;
    out[3] = (uint8_t)(epoch >> 8), out[4] = (uint8_t)epoch;
    for (int i = 0; i < 6; i++)
        out[5 + i] = (uint8_t)(seq >> (40 - 8 * i));
    out[11] = (uint8_t)(len >> 8), out[12] = (uint8_t)len;
    memset(out + 13, fill, len);
    if (type == 21 && len >= 2) /* a fatal alert, if it were ever believed */
        out[13] = 2, out[14] = 40;
    if (type == 20 && len >= 1)
        out[13] = 1;
    return 13 + len;
}

/* Records that do not authenticate never end a session (RFC 6347 §4.1.2.7: invalid records
 * are silently discarded): short and long bodies of every content type, at every epoch, on
 * either role, even with sequence numbers ahead of the real ones. Only an authenticated
 * alert (close_notify here) ends it. */
static void test_forged_records(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 2, 7, 8, 15, 16, 17, 23, 24, 25, 40, 100, 1100};
    static const uint16_t epochs[] = {0, 1, 2, 0xffff};
    static uint8_t buf[20000];
    for (int victim_role = 0; victim_role < 2; victim_role++) {
        side_t a, b;
        make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
        make(&b, cert_b, cert_a, SB_DTLS_SERVER);
        connect_pair(&a, &b);
        side_t *v = victim_role ? &a : &b, *other = victim_role ? &b : &a;
        unsigned forged = 0;
        for (uint8_t type = 20; type <= 26; type++)
            for (size_t e = 0; e < sizeof(epochs) / sizeof(epochs[0]); e++)
                for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
                    for (uint64_t seq = 1; seq < 1ull << 40; seq <<= 13) {
                        size_t n = forge_record(buf, type, epochs[e], seq, lens[l],
                                                (uint8_t)(l * 7 + seq));
                        assert_int_equal(sb_dtls_handle(v->d, buf, n), 0);
                        forged++;
                        assert_int_equal(v->n_failed, 0);
                        assert_int_equal(v->n_closed, 0);
                        assert_int_equal(sb_dtls_get_state(v->d), SB_DTLS_CONNECTED);
                    }
        /* Two records in one datagram, the second forged; and one longer than any record. */
        size_t n = forge_record(buf, 23, 1, 7, 40, 0x11);
        n += forge_record(buf + n, 21, 1, 8, 2, 0);
        assert_int_equal(sb_dtls_handle(v->d, buf, n), 0);
        n = forge_record(buf, 23, 1, 9, 18500, 0x22);
        assert_int_equal(sb_dtls_handle(v->d, buf, n), 0);
        assert_int_equal(sb_dtls_get_state(v->d), SB_DTLS_CONNECTED);
        assert_true(sb_dtls_get_dropped(v->d) > 0);
        assert_true(sb_dtls_get_dropped(v->d) <= forged + 2);
        /* Answers to forged records, if any, must not be alerts that end the other side. */
        pump(&a, &b);
        assert_int_equal(other->n_failed + other->n_closed, 0);
        /* The real, authenticated close still works. */
        assert_int_equal(sb_dtls_close(other->d), 0);
        pump(&a, &b);
        assert_int_equal(v->n_closed, 1);
        assert_int_equal(v->n_failed, 0);
        free_pair(&a, &b);
    }
}

/* A forged plaintext alert in the middle of the handshake does not abort it. */
static void test_forged_alert_in_handshake(void **state)
{
    (void)state;
    side_t a, b;
    make(&a, cert_a, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, cert_a, SB_DTLS_SERVER);
    assert_int_equal(sb_dtls_start(b.d), 0);
    assert_int_equal(sb_dtls_start(a.d), 0); /* ClientHello queued on a */
    uint8_t buf[64];
    for (int round = 0; round < 6; round++) {
        for (uint64_t seq = 0; seq < 4; seq++) { /* to both sides, before each flight */
            size_t n = forge_record(buf, 21, 0, seq + (uint64_t)round * 4, 2, 0);
            assert_int_equal(sb_dtls_handle(a.d, buf, n), 0);
            assert_int_equal(sb_dtls_handle(b.d, buf, n), 0);
            n = forge_record(buf, 20, 0, seq, 3, 0); /* a CCS that is not one byte */
            assert_int_equal(sb_dtls_handle(b.d, buf, n), 0);
        }
        side_t *from = round % 2 ? &b : &a, *to = round % 2 ? &a : &b;
        size_t nq = from->nq;
        from->nq = 0;
        for (size_t i = 0; i < nq; i++)
            sb_dtls_handle(to->d, from->q[i].data, from->q[i].len);
    }
    pump(&a, &b);
    assert_int_equal(a.n_failed + b.n_failed, 0);
    assert_int_equal(a.n_connected, 1);
    assert_int_equal(b.n_connected, 1);
    free_pair(&a, &b);
}

/* --- certificates --------------------------------------------------------------------------- */

static void test_cert_generate(void **state)
{
    (void)state;
    const char *fp = sb_cert_fingerprint(cert_a);
    assert_int_equal(strlen(fp), strlen("sha-256 ") + 32 * 3 - 1);
    assert_memory_equal(fp, "sha-256 ", 8);
    for (size_t i = 8; fp[i]; i++) {
        char c = fp[i];
        if ((i - 8) % 3 == 2)
            assert_int_equal(c, ':');
        else
            assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    }
    assert_string_not_equal(fp, sb_cert_fingerprint(cert_b));
    X509 *x = sb_cert_x509(cert_a);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    char cn[64];
    assert_true(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
    assert_string_equal(cn, "switchboard");
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
    assert_int_not_equal(
        ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(sb_cert_x509(cert_b))),
        0);
}

static void test_fingerprints(void **state)
{
    (void)state;
    X509 *x = sb_cert_x509(cert_a);
    const char *names[] = {"sha-1", "SHA-224", "sha-256", "Sha-384", "sha-512"};
    const size_t lens[] = {20, 28, 32, 48, 64};
    for (size_t i = 0; i < 5; i++) {
        sb_cert_hash_t h;
        assert_int_equal(sb_cert_hash_parse(names[i], &h), 0);
        sb_cert_fp_t fp, back;
        assert_int_equal(sb_cert_fp_compute(x, h, &fp), 0);
        assert_int_equal(fp.len, lens[i]);
        char text[SB_CERT_FP_MAX_TEXT];
        assert_int_equal(sb_cert_fp_format(&fp, text, sizeof(text)), 0);
        char hash[16], hex[SB_CERT_FP_MAX_TEXT];
        split_fp(text, hash, hex);
        assert_int_equal(sb_cert_fp_parse(names[i], hex, &back), 0);
        assert_true(sb_cert_fp_matches(x, &back));
        assert_false(sb_cert_fp_matches(sb_cert_x509(cert_b), &back));
        /* Any case. */
        for (char *p = hex; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
        assert_int_equal(sb_cert_fp_parse(hash, hex, &back), 0);
        assert_true(sb_cert_fp_matches(x, &back));
        assert_int_equal(sb_cert_fp_format(&fp, text, 10), SB_ERANGE);
    }
    char hash[16], hex[SB_CERT_FP_MAX_TEXT];
    split_fp(sb_cert_fingerprint(cert_a), hash, hex);
    sb_cert_fp_t fp;
    assert_int_equal(sb_cert_fp_parse("md5", hex, &fp), SB_ENOTSUP);
    assert_int_equal(sb_cert_fp_parse(NULL, hex, &fp), SB_ENOTSUP);
    assert_int_equal(sb_cert_fp_parse("sha-1", hex, &fp), SB_EINVAL);   /* too long */
    assert_int_equal(sb_cert_fp_parse("sha-512", hex, &fp), SB_EINVAL); /* too short */
    assert_int_equal(sb_cert_fp_parse("sha-256", NULL, &fp), SB_EINVAL);
    assert_int_equal(sb_cert_fp_parse("sha-256", "", &fp), SB_EINVAL);
    char bad[SB_CERT_FP_MAX_TEXT + 2];
    snprintf(bad, sizeof(bad), "%s:", hex);
    assert_int_equal(sb_cert_fp_parse("sha-256", bad, &fp), SB_EINVAL);
    strcpy(bad, hex);
    bad[4] = 'G';
    assert_int_equal(sb_cert_fp_parse("sha-256", bad, &fp), SB_EINVAL);
    strcpy(bad, hex);
    bad[2] = '-';
    assert_int_equal(sb_cert_fp_parse("sha-256", bad, &fp), SB_EINVAL);
    assert_int_equal(sb_cert_fp_parse("sha-256", "AB", &fp), SB_EINVAL);
    assert_false(sb_cert_fp_matches(x, NULL));
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k, const char *pass)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (x)
        assert_int_equal(PEM_write_X509(f, x), 1);
    if (k)
        assert_int_equal(PEM_write_PrivateKey(f, k, pass ? EVP_aes_256_cbc() : NULL, NULL, 0, NULL,
                                              (void *)pass),
                         1);
    fclose(f);
}

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"rsa-test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

/* Loading PEM files: an RSA-2048 identity, encrypted and plain keys, every failure path, and
 * a handshake with the loaded cert (bigger flights, split at the MTU). */
static void test_cert_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb_test_dtls_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char crt[128], key[128], plain[128], other[128];
    snprintf(crt, sizeof(crt), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(plain, sizeof(plain), "%s/plain.pem", dir);
    snprintf(other, sizeof(other), "%s/other.pem", dir);
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    X509 *x = self_signed(k);
    write_pem(crt, x, NULL, NULL);
    write_pem(key, NULL, k, "s3cret");
    write_pem(plain, NULL, k, NULL);
    fclose(fopen(other, "w")); /* an empty file */

    sb_cert_t *c = NULL;
    assert_int_equal(sb_cert_load(crt, key, "s3cret", &c), 0);
    sb_cert_fp_t fp;
    assert_int_equal(sb_cert_fp_compute(x, SB_CERT_SHA256, &fp), 0);
    char text[SB_CERT_FP_MAX_TEXT];
    assert_int_equal(sb_cert_fp_format(&fp, text, sizeof(text)), 0);
    assert_string_equal(sb_cert_fingerprint(c), text);

    sb_cert_t *d = NULL;
    assert_int_equal(sb_cert_load(crt, plain, NULL, &d), 0);
    sb_cert_free(d);
    assert_int_equal(sb_cert_load(crt, key, "wrong", &d), SB_EINVAL);
    assert_int_equal(sb_cert_load(crt, key, NULL, &d), SB_EINVAL); /* never prompts */
    assert_null(d);
    assert_int_equal(sb_cert_load("/nonexistent/cert.pem", key, "s3cret", &d), SB_ENOENT);
    assert_int_equal(sb_cert_load(crt, "/nonexistent/key.pem", "s3cret", &d), SB_ENOENT);
    assert_int_equal(sb_cert_load(key, key, "s3cret", &d), SB_EINVAL); /* not a cert */
    assert_int_equal(sb_cert_load(crt, other, NULL, &d), SB_EINVAL);   /* empty file */
    /* A key that is not the certificate's. */
    EVP_PKEY *k2 = EVP_EC_gen("P-256");
    write_pem(other, NULL, k2, NULL);
    assert_int_equal(sb_cert_load(crt, other, NULL, &d), SB_EINVAL);

    side_t a, b;
    make(&a, c, cert_b, SB_DTLS_CLIENT);
    make(&b, cert_b, c, SB_DTLS_SERVER);
    connect_pair(&a, &b);
    assert_true(a.max_len <= SB_DTLS_DEFAULT_MTU);
    assert_keys_crosswise(&a, &b);
    free_pair(&a, &b);
    /* The RSA identity as server: its certificate flight exceeds one datagram. */
    make(&a, cert_b, c, SB_DTLS_CLIENT);
    make(&b, c, cert_b, SB_DTLS_SERVER);
    sb_cert_free(c); /* endpoints outlive the cert: OpenSSL keeps the context alive */
    connect_pair(&a, &b);
    assert_true(b.max_len <= SB_DTLS_DEFAULT_MTU);
    free_pair(&a, &b);

    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
    X509_free(x);
    unlink(crt);
    unlink(key);
    unlink(plain);
    unlink(other);
    rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    if (sb_srtp_init() != 0)
        return -1;
    if (sb_cert_generate(&cert_a) || sb_cert_generate(&cert_b) || sb_cert_generate(&cert_c))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_cert_free(cert_a);
    sb_cert_free(cert_b);
    sb_cert_free(cert_c);
    sb_dtls_global_deinit();
    sb_srtp_deinit();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_generate),
        cmocka_unit_test(test_fingerprints),
        cmocka_unit_test(test_handshake_both_roles),
        cmocka_unit_test(test_profiles_forced),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_clienthello_before_start),
        cmocka_unit_test(test_loss_recovered),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_close_notify),
        cmocka_unit_test(test_close_inside_connected),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_forged_records),
        cmocka_unit_test(test_forged_alert_in_handshake),
        cmocka_unit_test(test_cert_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
