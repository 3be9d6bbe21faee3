/* ICE over libnice: two agents in one process on one GMainContext exchange credentials and
 * trickled candidates through their ops, connect over loopback and send both ways (also
 * through the selected socket); a wrong remote password fails; interface lists that remove
 * loopback leave no candidates; candidate and credential validation; the interface filter.
 * Needs no root and only a loopback interface (runs inside `unshare --net`).
 * SB_SLOW_TESTS=1 adds an RFC 7675 consent-loss test (about 30 s). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "switchboard/error.h"
#include "loop/subctx.h"
#include "loop/loop.h"
#include "peer/ice.h"
#include "peer/ice_iface.h"
#include "ice_peer_fixture.h"

static GMainContext *ctx;

static bool pump(bool *flag_a, bool *flag_b, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!(*flag_a && (!flag_b || *flag_b))) {
        if (g_get_monotonic_time() > end)
            return false;
        g_main_context_iteration(ctx, TRUE);
    }
    return true;
}

/* Iterate until p has received n datagrams in all, or timeout_ms passed. */
static bool pump_until_received(peer_t *p, unsigned n, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (p->received < n) {
        if (g_get_monotonic_time() > end)
            return false;
        if (!g_main_context_iteration(ctx, FALSE))
            g_usleep(1000);
    }
    return true;
}

static void pump_for(int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(ctx, FALSE))
            g_usleep(1000);
    }
}

static int setup(void **state)
{
    (void)state;
    ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pump_for(50);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return 0;
}

/* Make a connected pair A (controlling) / B (controlled) over loopback. */
static void make_pair(peer_t *a, peer_t *b, const sb_ice_config_t *cfg, const char *b_pwd_for_a)
{
    peer_reset(a, "A");
    peer_reset(b, "B");
    a->other = b;
    b->other = a;
    a->trickle = b->trickle = true;
    assert_int_equal(sb_ice_new(ctx, cfg, true, &peer_ops, a, &a->ice), 0);
    assert_int_equal(sb_ice_new(ctx, cfg, false, &peer_ops, b, &b->ice), 0);
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(a->ice, &ua, &pa);
    sb_ice_local_credentials(b->ice, &ub, &pb);
    assert_non_null(ua);
    assert_true(strlen(pa) >= 22);
    assert_string_not_equal(ua, ub);
    assert_int_equal(sb_ice_set_remote_credentials(a->ice, ub, b_pwd_for_a ? b_pwd_for_a : pb), 0);
    assert_int_equal(sb_ice_set_remote_credentials(b->ice, ua, pa), 0);
    assert_int_equal(sb_ice_gather(a->ice), 0);
    assert_int_equal(sb_ice_gather(b->ice), 0);
    assert_int_equal(sb_ice_gather(b->ice), SB_ESTATE);
}

static void test_connect_and_send(void **state)
{
    (void)state;
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo};
    make_pair(&a, &b, &cfg, NULL);
    assert_true(pump(&a.gathered, &b.gathered, 5000));
    assert_true(a.ncands >= 1);
    assert_int_equal(a.bad_candidates + b.bad_candidates, 0);
    assert_non_null(strstr(a.cands[0], "127.0.0.1"));
    assert_non_null(strstr(a.cands[0], "typ host"));
    assert_true(pump(&a.connected, &b.connected, 10000));
    assert_false(a.failed || b.failed);
    assert_true(sb_ice_is_connected(a.ice));

    assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"hello", 5), 0);
    bool got_b = false, got_a = false;
    while (!got_b) {
        g_main_context_iteration(ctx, TRUE);
        got_b = b.received > 0;
    }
    assert_string_equal(b.last, "Hello");
    assert_int_equal(sb_ice_send(b.ice, (const uint8_t *)"world", 5), 0);
    while (!got_a) {
        g_main_context_iteration(ctx, TRUE);
        got_a = a.received > 0;
    }
    assert_string_equal(a.last, "World");
    assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"x", 0), SB_EINVAL);

    /* The fast path: send straight on the selected socket; libnice on B still receives it. */
    struct sockaddr_storage peer;
    socklen_t plen = 0;
    int fd = sb_ice_selected_socket_fd(a.ice, &peer, &plen);
    assert_true(fd >= 0);
    assert_int_equal(peer.ss_family, AF_INET);
    assert_int_equal(plen, sizeof(struct sockaddr_in));
    assert_int_equal(ntohl(((struct sockaddr_in *)&peer)->sin_addr.s_addr), INADDR_LOOPBACK);
    unsigned before = b.received;
    assert_int_equal(sendto(fd, "direct", 6, 0, (struct sockaddr *)&peer, plen), 6);
    gint64 end = g_get_monotonic_time() + 5000000;
    while (b.received == before && g_get_monotonic_time() < end)
        g_main_context_iteration(ctx, TRUE);
    assert_string_equal(b.last, "Direct");

    peer_free(&a);
    peer_free(&b);
}

static void test_wrong_password_fails(void **state)
{
    (void)state;
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo, .connect_timeout_ms = 20000};
    make_pair(&a, &b, &cfg, "wrongwrongwrongwrongwrong");
    assert_true(pump(&a.failed, NULL, 25000));
    assert_false(a.connected);
    assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"x", 1), SB_ESTATE);
    peer_free(&a);
    peer_free(&b);
}

static void test_deny_removes_loopback(void **state)
{
    (void)state;
    static const char *const allow_v4lo[] = {"127.0.0.0/8", NULL};
    static const char *const deny_v4lo[] = {"127.0.0.1", NULL};
    static const char *const deny_lo[] = {"lo", NULL};
    const sb_ice_config_t cfgs[] = {
        {.allow = allow_v4lo, .deny = deny_v4lo},
        {.allow = allow_lo, .deny = deny_lo, .ipv6 = true},
    };
    for (size_t i = 0; i < 2; i++) {
        peer_t a;
        peer_reset(&a, "A");
        assert_int_equal(sb_ice_new(ctx, &cfgs[i], true, &peer_ops, &a, &a.ice), 0);
        assert_int_equal(sb_ice_gather(a.ice), 0);
        assert_false(a.gathered); /* never from inside the call */
        assert_true(pump(&a.gathered, NULL, 5000));
        assert_int_equal(a.ncands, 0);
        peer_free(&a);
    }
}

static bool have_ipv6_loopback(void)
{
    struct ifaddrs *ifs, *i;
    bool found = false;
    if (getifaddrs(&ifs) != 0)
        return false;
    for (i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
            IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
            found = true;
    }
    freeifaddrs(ifs);
    return found;
}

static void test_ipv6_loopback_gathered(void **state)
{
    (void)state;
    peer_t a;
    peer_reset(&a, "A");
    sb_ice_config_t cfg = {.allow = allow_lo, .ipv6 = true, .port_min = 41000, .port_max = 41999};
    assert_int_equal(sb_ice_new(ctx, &cfg, true, &peer_ops, &a, &a.ice), 0);
    assert_int_equal(sb_ice_gather(a.ice), 0);
    assert_true(pump(&a.gathered, NULL, 5000));
    bool v4 = false, v6 = false;
    for (unsigned i = 0; i < a.ncands; i++) {
        v4 |= strstr(a.cands[i], " 127.0.0.1 ") != NULL;
        v6 |= strstr(a.cands[i], " ::1 ") != NULL;
        unsigned port = 0;
        const char *typ = strstr(a.cands[i], " typ ");
        const char *p = typ;
        while (p > a.cands[i] && p[-1] != ' ')
            p--;
        port = (unsigned)atoi(p);
        assert_true(port >= 41000 && port <= 41999);
    }
    assert_true(v4);
    assert_int_equal(v6, have_ipv6_loopback());
    peer_free(&a);
}

static void test_remote_input_validation(void **state)
{
    (void)state;
    peer_t a;
    peer_reset(&a, "A");
    sb_ice_config_t cfg = {.allow = allow_lo, .max_remote_candidates = 4};
    assert_int_equal(sb_ice_new(ctx, &cfg, false, &peer_ops, &a, &a.ice), 0);
    sb_ice_t *ice = a.ice;
    /* before the credentials: held */
    assert_int_equal(sb_ice_add_remote_candidate(
                         ice, "a=candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host\r\n"),
                     0);
    assert_int_equal(sb_ice_add_remote_candidate(
                         ice, "candidate:2 1 UDP 2015363327 127.0.0.1 40002 typ host generation 0"),
                     0);
    assert_int_equal(sb_ice_add_remote_candidate(ice, "3 1 udp 1 127.0.0.1 40003 typ host"), 0);
    assert_int_equal(
        sb_ice_add_remote_candidate(ice, "candidate:4 2 udp 2015363326 127.0.0.1 40001 typ host"),
        SB_ENOTSUP);
    assert_int_equal(sb_ice_add_remote_candidate(
                         ice, "candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active"),
                     SB_ENOTSUP);
    assert_int_equal(sb_ice_add_remote_candidate(
                         ice, "candidate:6 1 udp 2113937151 0b1c5a7e-2f3d.local 51000 typ host"),
                     SB_ENOTSUP);
    assert_int_equal(sb_ice_add_remote_candidate(ice, "candidate:garbage"), SB_EINVAL);
    assert_int_equal(sb_ice_add_remote_candidate(ice, ""), SB_EINVAL);
    assert_int_equal(sb_ice_add_remote_candidate(ice, NULL), SB_EINVAL);
    assert_int_equal(
        sb_ice_add_remote_candidate(ice, "candidate:7 1 udp 1 127.0.0.1 1 typ host\r\nX"),
        SB_EINVAL);
    assert_int_equal(
        sb_ice_add_remote_candidate(ice, "candidate:8 1 udp 1 127.0.0.1 1 typ h\x01st"), SB_EINVAL);
    char big[1024];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(sb_ice_add_remote_candidate(ice, big), SB_EINVAL);

    assert_int_equal(sb_ice_set_remote_credentials(ice, "abc", "0123456789012345678901"),
                     SB_EINVAL);
    assert_int_equal(sb_ice_set_remote_credentials(ice, "abcd", "0123456789"), SB_EINVAL);
    assert_int_equal(sb_ice_set_remote_credentials(ice, "ab d", "0123456789012345678901"),
                     SB_EINVAL);
    assert_int_equal(sb_ice_set_remote_credentials(ice, "ab+/", "0123456789012345678901"), 0);
    assert_int_equal(sb_ice_set_remote_credentials(ice, "ab+/", "0123456789012345678901"), 0);
    assert_int_equal(sb_ice_set_remote_credentials(ice, "efgh", "0123456789012345678901"),
                     SB_ENOTSUP);
    /* after the credentials: straight in, up to the bound */
    assert_int_equal(
        sb_ice_add_remote_candidate(ice, "candidate:9 1 udp 2015363327 127.0.0.1 40009 typ host"),
        0);
    assert_int_equal(
        sb_ice_add_remote_candidate(ice, "candidate:10 1 udp 2015363327 127.0.0.1 40010 typ host"),
        SB_ENOMEM);
    assert_int_equal(sb_ice_remote_gathering_done(ice), 0);
    assert_int_equal(sb_ice_selected_socket_fd(ice, NULL, NULL), SB_ENOENT);
    peer_free(&a);
}

static void test_bad_config(void **state)
{
    (void)state;
    sb_ice_t *ice;
    peer_t a;
    peer_reset(&a, "A");
    static const char *const bad_list[] = {"10.0.0.0/40", NULL};
    const sb_ice_config_t bad[] = {
        {.stun_host = "stun.example.org"},    {.turn_host = "127.0.0.1"}, /* no credentials */
        {.port_min = 5000, .port_max = 4000}, {.port_max = 4000},         {.allow = bad_list},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sb_ice_new(ctx, &bad[i], true, &peer_ops, &a, &ice), SB_EINVAL);
    sb_ice_config_t ok = {.allow = allow_lo};
    sb_ice_ops_t no_recv = peer_ops;
    no_recv.on_recv = NULL;
    assert_int_equal(sb_ice_new(ctx, &ok, true, &no_recv, &a, &ice), SB_EINVAL);
}

static struct sockaddr_storage sa_of(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        ss.ss_family = AF_INET6;
        inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr);
    } else {
        ss.ss_family = AF_INET;
        inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
    }
    return ss;
}

static void test_iface_lists(void **state)
{
    (void)state;
    struct sockaddr_storage lo4 = sa_of("127.0.0.1"), lo6 = sa_of("::1"),
                            lan = sa_of("192.168.1.20"), ula = sa_of("fd00::5");
    const struct sockaddr *l4 = (void *)&lo4, *l6 = (void *)&lo6, *ln = (void *)&lan,
                          *u6 = (void *)&ula;
    static const char *const by_name[] = {"lo", NULL};
    static const char *const by_glob[] = {"eth*", NULL};
    static const char *const by_cidr[] = {"192.168.0.0/16", "fc00::/7", NULL};
    static const char *const by_prefix[] = {"192.168.", NULL};
    static const char *const by_exact[] = {"::1", "192.168.1.2", NULL};
    assert_true(sb_ice_iface_listed(by_name, "lo", l4));
    assert_false(sb_ice_iface_listed(by_name, "eth0", ln));
    assert_true(sb_ice_iface_listed(by_glob, "eth1", ln));
    assert_false(sb_ice_iface_listed(by_glob, "lo", l4));
    assert_true(sb_ice_iface_listed(by_cidr, "x", ln));
    assert_true(sb_ice_iface_listed(by_cidr, "x", u6));
    assert_false(sb_ice_iface_listed(by_cidr, "x", l4));
    assert_false(sb_ice_iface_listed(by_cidr, "x", l6));
    assert_true(sb_ice_iface_listed(by_prefix, "x", ln));
    assert_false(sb_ice_iface_listed(by_prefix, "x", l4));
    assert_true(sb_ice_iface_listed(by_exact, "x", l6));
    assert_false(sb_ice_iface_listed(by_exact, "x", ln)); /* 192.168.1.20 is not .2 */
    assert_false(sb_ice_iface_listed(NULL, "lo", l4));
    static const char *const bad1[] = {"1.2.3.4/33", NULL};
    static const char *const bad2[] = {"/8", NULL};
    static const char *const bad3[] = {"has space", NULL};
    assert_int_equal(sb_ice_iface_validate(by_cidr), 0);
    assert_int_equal(sb_ice_iface_validate(NULL), 0);
    assert_int_equal(sb_ice_iface_validate(bad1), SB_EINVAL);
    assert_int_equal(sb_ice_iface_validate(bad2), SB_EINVAL);
    assert_int_equal(sb_ice_iface_validate(bad3), SB_EINVAL);
    /* loopback is collected like anything else */
    struct sockaddr_storage out[16];
    int n = sb_ice_iface_collect(by_name, NULL, false, out, 16);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].ss_family, AF_INET);
}

/* The real set-up: both agents created on a media loop's context, driven by its thread. */
static peer_t loop_a, loop_b;
static int loop_rc;
static bool loop_snapshot[3];
static bool loop_use_watch;
static unsigned loop_watched;

static void loop_create(void *arg)
{
    GMainContext *lctx = sb_loop_context(arg);
    static const sb_ice_config_t cfg = {.allow = allow_lo};
    peer_reset(&loop_a, "A");
    peer_reset(&loop_b, "B");
    loop_a.other = &loop_b;
    loop_b.other = &loop_a;
    loop_a.trickle = loop_b.trickle = true;
    sb_subctx_sched_t *sched = sb_loop_sched(arg);
    if (loop_use_watch) {
        loop_rc = sb_ice_new_in(sched, lctx, &cfg, true, &peer_ops, &loop_a, &loop_a.ice);
        loop_rc |= sb_ice_new_in(sched, lctx, &cfg, false, &peer_ops, &loop_b, &loop_b.ice);
        sb_ice_t *none = NULL;
        if (sb_ice_new_in(NULL, lctx, &cfg, false, &peer_ops, &loop_b, &none) != SB_EINVAL || none)
            loop_rc |= SB_EIO;
    } else {
        loop_rc = sb_ice_new(lctx, &cfg, true, &peer_ops, &loop_a, &loop_a.ice);
        loop_rc |= sb_ice_new(lctx, &cfg, false, &peer_ops, &loop_b, &loop_b.ice);
    }
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(loop_a.ice, &ua, &pa);
    sb_ice_local_credentials(loop_b.ice, &ub, &pb);
    loop_rc |= sb_ice_set_remote_credentials(loop_a.ice, ub, pb);
    loop_rc |= sb_ice_set_remote_credentials(loop_b.ice, ua, pa);
    loop_rc |= sb_ice_gather(loop_a.ice);
    loop_rc |= sb_ice_gather(loop_b.ice);
    loop_watched = sb_subctx_sched_count(sb_loop_sched(arg));
}

static void loop_snap(void *arg)
{
    (void)arg;
    loop_snapshot[0] = loop_a.connected && loop_b.connected;
    loop_snapshot[1] = loop_a.failed || loop_b.failed;
    loop_snapshot[2] = loop_b.received > 0 && !strcmp(loop_b.last, "Ping");
}

static void loop_send(void *arg)
{
    (void)arg;
    loop_rc = sb_ice_send(loop_a.ice, (const uint8_t *)"ping", 4);
}

/* A burst sent in one go: every datagram must come out of one readiness (or a few). */
#define LOOP_BURST 200
static void loop_send_burst(void *arg)
{
    (void)arg;
    loop_rc = 0;
    for (int i = 0; i < LOOP_BURST; i++)
        loop_rc |= sb_ice_send(loop_a.ice, (const uint8_t *)"burst", 5);
}

static void loop_free(void *arg)
{
    peer_free(&loop_a);
    peer_free(&loop_b);
    loop_watched = sb_subctx_sched_count(sb_loop_sched(arg));
}

static void run_on_media_loop(bool use_watch)
{
    loop_use_watch = use_watch;
    memset(loop_snapshot, 0, sizeof(loop_snapshot));
    assert_int_equal(sb_loops_start(1), 0);
    sb_loop_t *loop = sb_loop_get(0);
    sb_loop_call_sync(loop, loop_create, loop);
    assert_int_equal(loop_rc, 0);
    /* One context per agent in the loop's scheduler, or none on the plain path. */
    if (use_watch)
        assert_int_equal(loop_watched, 2);
    else
        assert_int_equal(loop_watched, 0);
    for (int i = 0; i < 1000; i++) {
        sb_loop_call_sync(loop, loop_snap, NULL);
        if (loop_snapshot[0] || loop_snapshot[1])
            break;
        g_usleep(10000);
    }
    assert_true(loop_snapshot[0]);
    assert_false(loop_snapshot[1]);
    sb_loop_call_sync(loop, loop_send, NULL);
    assert_int_equal(loop_rc, 0);
    for (int i = 0; i < 500 && !loop_snapshot[2]; i++) {
        g_usleep(10000);
        sb_loop_call_sync(loop, loop_snap, NULL);
    }
    assert_true(loop_snapshot[2]);
    unsigned before = loop_b.received;
    sb_loop_call_sync(loop, loop_send_burst, NULL);
    assert_int_equal(loop_rc, 0);
    for (int i = 0; i < 500 && loop_b.received < before + LOOP_BURST; i++)
        g_usleep(10000);
    sb_loop_call_sync(loop, loop_snap, NULL); /* a barrier: B's counter is settled */
    assert_int_equal(loop_b.received, before + LOOP_BURST);
    sb_loop_call_sync(loop, loop_free, loop);
    assert_int_equal(loop_watched, 0);
    sb_loops_stop();
}

static void test_on_media_loop(void **state)
{
    (void)state;
    run_on_media_loop(false);
}

/* The same with each agent in a context of its own, run by the loop's scheduler, as the
 * server runs them. */
static void test_on_media_loop_scheduled(void **state)
{
    (void)state;
    run_on_media_loop(true);
}

/* Pump until both peers saw on_restarted at least n times. */
static bool pump_restarted(peer_t *a, peer_t *b, unsigned n, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (a->restarted < n || b->restarted < n) {
        if (g_get_monotonic_time() > end || a->failed || b->failed)
            return false;
        g_main_context_iteration(ctx, TRUE);
    }
    return true;
}

/* An ICE restart: both sides take new credentials, exchange them and their candidates
 * again (as a new offer and answer would), and a pair is selected anew: on_restarted on
 * both, data flows, nothing failed. Twice, to show it repeats. */
static void test_restart(void **state)
{
    (void)state;
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo};
    make_pair(&a, &b, &cfg, NULL);
    assert_true(pump(&a.connected, &b.connected, 10000));
    for (unsigned round = 1; round <= 2; round++) {
        const char *ua, *pa, *ub, *pb;
        sb_ice_local_credentials(a.ice, &ua, &pa);
        char old_ua[300], old_pa[300];
        snprintf(old_ua, sizeof(old_ua), "%s", ua);
        snprintf(old_pa, sizeof(old_pa), "%s", pa);
        assert_int_equal(sb_ice_restart(a.ice), 0);
        assert_int_equal(sb_ice_restart(b.ice), 0);
        sb_ice_local_credentials(a.ice, &ua, &pa);
        sb_ice_local_credentials(b.ice, &ub, &pb);
        assert_string_not_equal(ua, old_ua);
        assert_string_not_equal(pa, old_pa);
        const char *ru, *rp;
        sb_ice_remote_credentials(a.ice, &ru, &rp);
        assert_null(ru); /* forgotten until the peer's new ones come */
        assert_int_equal(sb_ice_set_remote_credentials(a.ice, ub, pb), 0);
        assert_int_equal(sb_ice_set_remote_credentials(b.ice, ua, pa), 0);
        for (unsigned i = 0; i < a.ncands; i++)
            assert_int_equal(sb_ice_add_remote_candidate(b.ice, a.cands[i]), 0);
        for (unsigned i = 0; i < b.ncands; i++)
            assert_int_equal(sb_ice_add_remote_candidate(a.ice, b.cands[i]), 0);
        sb_ice_remote_gathering_done(a.ice);
        sb_ice_remote_gathering_done(b.ice);
        assert_true(pump_restarted(&a, &b, round, 10000));
        unsigned before = b.received;
        assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"again", 5), 0);
        assert_true(pump_until_received(&b, before + 1, 5000));
        assert_string_equal(b.last, "Again");
    }
    assert_false(a.failed || b.failed);
    peer_free(&a);
    peer_free(&b);
}

/* ICE-TCP (RFC 6544): with only TCP candidates exchanged, the agents connect over TCP
 * (libnice frames each datagram, RFC 4571) and data flows; the selected pair has no UDP
 * socket for the fast path. */
static void test_ice_tcp(void **state)
{
    (void)state;
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo, .ice_tcp = true};
    peer_reset(&a, "A");
    peer_reset(&b, "B");
    a.other = &b;
    b.other = &a;
    a.trickle = b.trickle = a.tcp_only = b.tcp_only = true;
    assert_int_equal(sb_ice_new(ctx, &cfg, true, &peer_ops, &a, &a.ice), 0);
    assert_int_equal(sb_ice_new(ctx, &cfg, false, &peer_ops, &b, &b.ice), 0);
    const char *ua, *pa, *ub, *pb;
    sb_ice_local_credentials(a.ice, &ua, &pa);
    sb_ice_local_credentials(b.ice, &ub, &pb);
    assert_int_equal(sb_ice_set_remote_credentials(a.ice, ub, pb), 0);
    assert_int_equal(sb_ice_set_remote_credentials(b.ice, ua, pa), 0);
    assert_int_equal(sb_ice_gather(a.ice), 0);
    assert_int_equal(sb_ice_gather(b.ice), 0);
    assert_true(pump(&a.gathered, &b.gathered, 5000));
    unsigned passive = 0;
    for (unsigned i = 0; i < b.ncands; i++)
        passive += strcasestr(b.cands[i], " tcp ") && strstr(b.cands[i], "tcptype passive");
    assert_true(passive >= 1);
    assert_true(pump(&a.connected, &b.connected, 10000));
    struct sockaddr_storage peer;
    socklen_t plen;
    assert_int_equal(sb_ice_selected_socket_fd(a.ice, &peer, &plen), SB_ENOENT);
    assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"over tcp", 8), 0);
    assert_true(pump_until_received(&b, 1, 5000));
    assert_string_equal(b.last, "Over tcp");
    assert_int_equal(sb_ice_send(b.ice, (const uint8_t *)"back", 4), 0);
    assert_true(pump_until_received(&a, 1, 5000));
    assert_string_equal(a.last, "Back");
    peer_free(&a);
    peer_free(&b);
}

/* No restart before remote credentials were ever set. */
static void test_restart_needs_remote(void **state)
{
    (void)state;
    peer_t a;
    peer_reset(&a, "A");
    sb_ice_config_t cfg = {.allow = allow_lo};
    assert_int_equal(sb_ice_new(ctx, &cfg, true, &peer_ops, &a, &a.ice), 0);
    assert_int_equal(sb_ice_restart(a.ice), SB_ESTATE);
    peer_free(&a);
}

/* nat_1_1_mapping: host candidates announced with the public address in place of their
 * own, or beside it with keep_private_host (priorities kept distinct); an IPv6 mapping
 * does not apply to IPv4 candidates. Connecting still works with the private one kept. */
static void test_nat_mapping(void **state)
{
    (void)state;
    static const char *const map[] = {"198.18.7.7", "2001:db8::7", NULL};
    for (int keep = 0; keep <= 1; keep++) {
        peer_t a, b;
        sb_ice_config_t cfg = {.allow = allow_lo, .nat_mapping = map, .keep_private_host = keep};
        make_pair(&a, &b, &cfg, NULL);
        assert_true(pump(&a.gathered, &b.gathered, 5000));
        unsigned mapped = 0, priv = 0;
        char prio_mapped[64] = "", prio_priv[64] = "";
        for (unsigned i = 0; i < a.ncands; i++) {
            char f[6][64];
            assert_int_equal(sscanf(a.cands[i], "%63s %63s %63s %63s %63s %63s", f[0], f[1],
                                    f[2], f[3], f[4], f[5]), 6);
            assert_null(strstr(a.cands[i], "2001:db8::7"));
            if (!strcmp(f[4], "198.18.7.7")) {
                mapped++;
                snprintf(prio_mapped, sizeof(prio_mapped), "%s", f[3]);
            } else if (!strcmp(f[4], "127.0.0.1")) {
                priv++;
                snprintf(prio_priv, sizeof(prio_priv), "%s", f[3]);
            }
        }
        assert_true(mapped >= 1);
        assert_int_equal(priv > 0, keep);
        if (keep) { /* the public address ranks first: outside clients check it first */
            assert_true(strtoul(prio_mapped, NULL, 10) > strtoul(prio_priv, NULL, 10));
            assert_true(pump(&a.connected, &b.connected, 10000));
        }
        peer_free(&a);
        peer_free(&b);
    }
    /* Not an address: refused. */
    static const char *const bad[] = {"example.org", NULL};
    sb_ice_config_t cfg = {.allow = allow_lo, .nat_mapping = bad};
    sb_ice_t *ice = NULL;
    assert_int_equal(sb_ice_new(ctx, &cfg, true, &peer_ops, NULL, &ice), SB_EINVAL);
}

/* RFC 7675: once B is gone, A loses consent within about 30 s. */
static void test_consent_lost(void **state)
{
    (void)state;
    if (!getenv("SB_SLOW_TESTS")) {
        skip();
        return;
    }
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo};
    make_pair(&a, &b, &cfg, NULL);
    assert_true(pump(&a.connected, &b.connected, 10000));
    peer_free(&b);
    a.other = NULL;
    gint64 t0 = g_get_monotonic_time();
    assert_true(pump(&a.failed, NULL, 60000));
    gint64 took = (g_get_monotonic_time() - t0) / 1000;
    print_message("consent lost after %lld ms: %s\n", (long long)took, a.reason);
    assert_string_equal(a.reason, "consent lost");
    peer_free(&a);
}

/* The fast path sends with DF set (IPv4): the kernel then picks no IP identification per
 * datagram. */
static void test_fast_path_sets_df(void **state)
{
    (void)state;
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo};
    make_pair(&a, &b, &cfg, NULL);
    assert_true(pump(&a.connected, &b.connected, 10000));
    assert_int_equal(sb_ice_send(a.ice, (const uint8_t *)"df", 2), 0);
    assert_true(pump_until_received(&b, 1, 5000));
    int fd = sb_ice_selected_socket_fd(a.ice, NULL, NULL);
    assert_true(fd >= 0);
    int mode = -1;
    socklen_t len = sizeof(mode);
    assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, &len), 0);
    assert_int_equal(mode, IP_PMTUDISC_DO);
    peer_free(&a);
    peer_free(&b);
}

/* In a network namespace of its own whose loopback has a 1500-byte MTU: a 3000-byte datagram
 * on the fast path is refused with DF set, sent again without it, and arrives whole. Runs as
 * `test_ice --oversize-child` (a fresh process: GLib and libnice are not fork-safe). Exit 0:
 * passed, 77: no namespace here (skip), anything else: failed. */
static int oversize_child(void)
{
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return 77;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ifr.ifr_mtu = 1500;
    if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) != 0)
        return 77;
    ifr.ifr_flags = IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        return 77;
    close(s);
    ctx = g_main_context_new();
    peer_t a, b;
    sb_ice_config_t cfg = {.allow = allow_lo};
    make_pair(&a, &b, &cfg, NULL);
    if (!pump(&a.connected, &b.connected, 10000))
        return 2;
    static uint8_t big[3000];
    memset(big, 'x', sizeof(big));
    if (sb_ice_send(a.ice, big, sizeof(big)) != 0 || !pump_until_received(&b, 1, 5000))
        return 3;
    if (b.last_len != sizeof(big))
        return 4;
    peer_free(&a);
    peer_free(&b);
    g_main_context_unref(ctx);
    return 0;
}

static void test_fast_path_oversize_clears_df(void **state)
{
    (void)state;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = 0;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(exe, exe, "--oversize-child", (char *)NULL);
        _exit(5);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("no network namespace here: skipped\n");
        skip();
        return;
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--oversize-child"))
        return oversize_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iface_lists),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_remote_input_validation),
        cmocka_unit_test(test_deny_removes_loopback),
        cmocka_unit_test(test_ipv6_loopback_gathered),
        cmocka_unit_test(test_connect_and_send),
        cmocka_unit_test(test_fast_path_sets_df),
        cmocka_unit_test(test_fast_path_oversize_clears_df),
        cmocka_unit_test(test_wrong_password_fails),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_ice_tcp),
        cmocka_unit_test(test_restart_needs_remote),
        cmocka_unit_test(test_nat_mapping),
        cmocka_unit_test(test_on_media_loop),
        cmocka_unit_test(test_on_media_loop_scheduled),
        cmocka_unit_test(test_consent_lost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
