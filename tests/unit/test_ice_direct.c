/* The selected pair read by us (src/peer/ice_fast.c): two agents on a media loop, as the
 * server runs them (each in a context of the loop's scheduler), over loopback. Once a pair is
 * selected both read it themselves: a burst comes out of a few recvmmsg calls, not one read
 * per datagram; each answers the other's checks and gets answers to its own consent checks;
 * datagrams from any other address (data or STUN), and STUN on the pair that fails its checks,
 * are dropped and counted; past libnice's own
 * 10 s consent timeout nothing fails; an ICE restart hands the socket back to libnice and the
 * new pair is read by us again. SB_SLOW_TESTS=1 adds consent expiry (about 30 s).
 * Needs no root and only a loopback interface. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchboard/error.h"
#include "base/counter.h"
#include "loop/loop.h"
#include "loop/subctx.h"
#include "peer/ice.h"
#include "proto/stun_ice.h"
#include "ice_peer_fixture.h"

#define BURST 200

static peer_t A, B;
static sb_loop_t *loop;
static int rc;

/* ---- on the loop ---- */

static sb_counter_t a_dropped; /* A's drops for /metrics */

static void make_pair(void *arg)
{
    (void)arg;
    static const sb_ice_config_t cfg = {.allow = allow_lo};
    peer_reset(&A, "A");
    peer_reset(&B, "B");
    A.other = &B;
    B.other = &A;
    A.trickle = B.trickle = true;
    sb_subctx_sched_t *sched = sb_loop_sched(loop);
    GMainContext *lctx = sb_loop_context(loop);
    rc = sb_ice_new_in(sched, lctx, &cfg, true, &peer_ops, &A, &A.ice);
    rc |= sb_ice_new_in(sched, lctx, &cfg, false, &peer_ops, &B, &B.ice);
    if (rc == 0)
        sb_ice_set_drop_counter(A.ice, &a_dropped);
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(A.ice, &ua, &pa);
    sb_ice_local_credentials(B.ice, &ub, &pb);
    rc |= sb_ice_set_remote_credentials(A.ice, ub, pb);
    rc |= sb_ice_set_remote_credentials(B.ice, ua, pa);
    rc |= sb_ice_gather(A.ice);
    rc |= sb_ice_gather(B.ice);
}

static void free_pair(void *arg)
{
    (void)arg;
    peer_free(&A);
    peer_free(&B);
}

static void send_burst(void *arg)
{
    (void)arg;
    rc = 0;
    for (int i = 0; i < BURST; i++)
        rc |= sb_ice_send(A.ice, (const uint8_t *)"burst", 5);
}

static void send_one(void *arg)
{
    rc = sb_ice_send(A.ice, (const uint8_t *)arg, strlen(arg));
}

static sb_ice_fast_stats_t fa, fb;
static peer_t snap_a, snap_b;

static void snapshot(void *arg)
{
    (void)arg;
    sb_ice_fast_stats(A.ice, &fa);
    if (B.ice) /* gone in the expiry test */
        sb_ice_fast_stats(B.ice, &fb);
    snap_a = A;
    snap_b = B;
}

static struct sockaddr_in a_local;

static void local_address(void *arg)
{
    (void)arg;
    json_t *j = sb_ice_selected_candidates(A.ice);
    json_t *l = json_object_get(json_object_get(j, "candidates"), "local");
    memset(&a_local, 0, sizeof(a_local));
    a_local.sin_family = AF_INET;
    a_local.sin_port = htons((uint16_t)json_integer_value(json_object_get(l, "port")));
    inet_pton(AF_INET, json_string_value(json_object_get(l, "address")), &a_local.sin_addr);
    json_decref(j);
}

static void restart_both(void *arg)
{
    (void)arg;
    rc = sb_ice_restart(A.ice) | sb_ice_restart(B.ice);
    snapshot(NULL); /* the socket is libnice's again at once */
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(A.ice, &ua, &pa);
    sb_ice_local_credentials(B.ice, &ub, &pb);
    rc |= sb_ice_set_remote_credentials(A.ice, ub, pb);
    rc |= sb_ice_set_remote_credentials(B.ice, ua, pa);
    for (unsigned i = 0; i < A.ncands; i++)
        rc |= sb_ice_add_remote_candidate(B.ice, A.cands[i]);
    for (unsigned i = 0; i < B.ncands; i++)
        rc |= sb_ice_add_remote_candidate(A.ice, B.cands[i]);
    sb_ice_remote_gathering_done(A.ice);
    sb_ice_remote_gathering_done(B.ice);
}

/* ---- from the test thread ---- */

typedef bool (*cond_fn)(void);

static bool wait_for(cond_fn cond, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        sb_loop_call_sync(loop, snapshot, NULL);
        if (cond())
            return true;
        if (waited >= timeout_ms)
            return false;
        g_usleep(20000);
    }
}

static bool both_reading(void)
{
    return snap_a.connected && snap_b.connected && fa.reading && fb.reading;
}

static bool burst_in(void)
{
    return snap_b.received >= BURST;
}

static bool consent_both_ways(void)
{
    return fa.consent_answered >= 1 && fb.consent_answered >= 1 && fa.checks_answered >= 1 &&
           fb.checks_answered >= 1;
}

static bool spoofs_dropped(void)
{
    return fa.foreign_dropped >= 2;
}

static bool restarted_and_reading(void)
{
    return snap_a.restarted >= 1 && snap_b.restarted >= 1 && fa.reading && fb.reading;
}

static bool b_got_last(void)
{
    return !strcmp(snap_b.last, "After restart");
}

static bool a_failed(void)
{
    return snap_a.failed;
}

static int start_loop(void **state)
{
    (void)state;
    assert_int_equal(sb_loops_start(1), 0);
    loop = sb_loop_get(0);
    sb_loop_call_sync(loop, make_pair, NULL);
    assert_int_equal(rc, 0);
    return 0;
}

static int stop_loop(void **state)
{
    (void)state;
    sb_loop_call_sync(loop, free_pair, NULL);
    sb_loops_stop();
    return 0;
}

static void test_reads_in_batches(void **state)
{
    (void)state;
    assert_true(wait_for(both_reading, 10000));
    assert_false(snap_a.failed || snap_b.failed);
    sb_ice_fast_stats_t before = fb;
    sb_loop_call_sync(loop, send_burst, NULL);
    assert_int_equal(rc, 0);
    assert_true(wait_for(burst_in, 5000));
    assert_string_equal(snap_b.last, "Burst"); /* the fixture flips the first byte */
    uint64_t reads = fb.reads - before.reads, dgrams = fb.datagrams - before.datagrams;
    print_message("%d datagrams sent in one go: %llu read in %llu recvmmsg calls\n", BURST,
                  (unsigned long long)dgrams, (unsigned long long)reads);
    assert_true(dgrams >= BURST);
    assert_true(reads * 4 <= dgrams); /* batches (16 at most), not one read each */
}

static void test_consent_both_ways(void **state)
{
    (void)state;
    assert_true(wait_for(consent_both_ways, 4000));
    assert_int_equal(fa.stun_dropped, 0);
}

/* From another socket on the same host: neither data nor a STUN request reaches anyone. */
static void test_foreign_dropped(void **state)
{
    (void)state;
    sb_loop_call_sync(loop, local_address, NULL);
    sb_loop_call_sync(loop, snapshot, NULL);
    unsigned received = snap_a.received;
    uint64_t answered = fa.checks_answered;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    assert_int_equal(sendto(s, "\x80spoof", 6, 0, (struct sockaddr *)&a_local, sizeof(a_local)), 6);
    uint8_t req[SB_STUN_ICE_MAX_LEN], txid[SB_STUN_ICE_TXID_LEN] = {1, 2, 3};
    sb_hmac_sha1_t k;
    sb_hmac_sha1_init(&k, (const uint8_t *)"whatever-password-1234", 22);
    size_t n = sb_stun_consent_request(req, sizeof(req), txid, "abcd", "efgh", 1, false, 1, &k);
    assert_int_equal(sendto(s, req, n, 0, (struct sockaddr *)&a_local, sizeof(a_local)), (ssize_t)n);
    assert_true(wait_for(spoofs_dropped, 2000));
    struct timeval tv = {.tv_usec = 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t buf[64];
    assert_true(recv(s, buf, sizeof(buf), 0) < 0); /* no answer */
    close(s);
    sb_loop_call_sync(loop, snapshot, NULL);
    assert_int_equal(snap_a.received, received);
    assert_int_equal(fa.checks_answered, answered);
}

/* Hostile STUN on the pair itself (sent through B's socket, so from the right address): a
 * check under a wrong password, one for someone else's ufrag, one without FINGERPRINT, an
 * indication, a bare header and a short datagram are dropped and counted, never answered; an
 * authentic answer to a transaction A did not make counts as libnice's, not as consent. */
static uint64_t hostile_dropped, hostile_libnice;

static void send_hostile(void *arg)
{
    (void)arg;
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(A.ice, &ua, &pa);
    sb_ice_local_credentials(B.ice, &ub, &pb);
    struct sockaddr_storage to;
    socklen_t tolen;
    int fd = sb_ice_selected_socket_fd(B.ice, &to, &tolen);
    sb_hmac_sha1_t wrong, a_key, b_key;
    sb_hmac_sha1_init(&wrong, (const uint8_t *)"not-the-password-at-all", 23);
    sb_hmac_sha1_init(&a_key, (const uint8_t *)pa, strlen(pa));
    sb_hmac_sha1_init(&b_key, (const uint8_t *)pb, strlen(pb));
    uint8_t m[7][SB_STUN_ICE_MAX_LEN], txid[SB_STUN_ICE_TXID_LEN] = {9, 9, 9};
    size_t n[7];
    n[0] = sb_stun_consent_request(m[0], sizeof(m[0]), txid, ua, ub, 1, false, 1, &wrong);
    n[1] = sb_stun_consent_request(m[1], sizeof(m[1]), txid, "zzzz", ub, 1, false, 1, &a_key);
    n[2] = sb_stun_consent_request(m[2], sizeof(m[2]), txid, ua, ub, 1, false, 1, &a_key) - 8;
    m[2][3] = (uint8_t)(m[2][3] - 8); /* FINGERPRINT cut off, the length made to agree */
    memcpy(m[3], m[2], n[2] + 8);
    n[3] = n[2] + 8;
    m[3][1] = 0x11; /* a Binding indication */
    memcpy(m[4], m[2], 20);
    m[4][2] = m[4][3] = 0; /* a bare header */
    n[4] = 20;
    memcpy(m[5], "\x01\x02\x03", 3);
    n[5] = 3;
    struct sockaddr_in somewhere = {.sin_family = AF_INET, .sin_port = htons(9)};
    n[6] = sb_stun_binding_success(m[6], sizeof(m[6]), txid, (struct sockaddr *)&somewhere, &b_key);
    sb_ice_fast_stats_t before;
    sb_ice_fast_stats(A.ice, &before);
    hostile_dropped = before.stun_dropped;
    hostile_libnice = before.libnice_answers;
    rc = fd < 0;
    for (int i = 0; i < 7; i++)
        rc |= sendto(fd, m[i], n[i], 0, (struct sockaddr *)&to, tolen) != (ssize_t)n[i];
}

static bool hostile_counted(void)
{
    return fa.stun_dropped >= hostile_dropped + 6 && fa.libnice_answers >= hostile_libnice + 1;
}

static void test_hostile_stun_on_the_pair(void **state)
{
    (void)state;
    sb_loop_call_sync(loop, send_hostile, NULL);
    assert_int_equal(rc, 0);
    assert_true(wait_for(hostile_counted, 2000));
    g_usleep(100000);
    sb_loop_call_sync(loop, snapshot, NULL);
    assert_int_equal(fa.stun_dropped, hostile_dropped + 6); /* no more: nothing else is */
    /* Every drop also went to the loop's counter behind /metrics. */
    assert_int_equal(sb_counter_get(&a_dropped),
                     fa.stun_dropped + fa.foreign_dropped + fa.truncated);
    assert_false(snap_a.failed || snap_b.failed);
}

/* libnice's own consent timer (10 s) never runs while we read (its context is held): the
 * agents outlive it. */
static void test_outlives_libnice_consent(void **state)
{
    (void)state;
    g_usleep(12 * 1000000);
    sb_loop_call_sync(loop, snapshot, NULL);
    assert_false(snap_a.failed || snap_b.failed);
    assert_true(fa.reading && fb.reading);
    assert_true(fa.consent_answered >= 2 && fb.consent_answered >= 2);
}

static void test_restart_hands_back(void **state)
{
    (void)state;
    sb_loop_call_sync(loop, restart_both, NULL);
    assert_int_equal(rc, 0);
    assert_false(fa.reading || fb.reading); /* snapshot taken right after the restarts */
    assert_true(wait_for(restarted_and_reading, 10000));
    sb_loop_call_sync(loop, send_one, "after restart");
    assert_int_equal(rc, 0);
    assert_true(wait_for(b_got_last, 5000));
    assert_false(snap_a.failed || snap_b.failed);
}

static void drop_b(void *arg)
{
    (void)arg;
    sb_ice_free(B.ice);
    B.ice = NULL;
}

static void test_consent_expires(void **state)
{
    (void)state;
    if (!getenv("SB_SLOW_TESTS")) {
        skip();
        return;
    }
    sb_loop_call_sync(loop, drop_b, NULL);
    gint64 t0 = g_get_monotonic_time();
    assert_true(wait_for(a_failed, 60000));
    gint64 took = (g_get_monotonic_time() - t0) / 1000;
    print_message("consent lost after %lld ms: %s\n", (long long)took, snap_a.reason);
    assert_string_equal(snap_a.reason, "consent lost");
    assert_true(took >= 25000 && took <= 36000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_batches),
        cmocka_unit_test(test_consent_both_ways),
        cmocka_unit_test(test_foreign_dropped),
        cmocka_unit_test(test_hostile_stun_on_the_pair),
        cmocka_unit_test(test_outlives_libnice_consent),
        cmocka_unit_test(test_restart_hands_back),
        cmocka_unit_test(test_consent_expires),
    };
    return cmocka_run_group_tests(tests, start_loop, stop_loop);
}
