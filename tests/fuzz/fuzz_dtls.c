/* Fuzz target: DTLS datagrams as they arrive at sb_dtls_handle (src/proto/dtls.c), before,
 * during and after a handshake.
 *
 * Input: the first byte picks the mode, the rest is datagrams (fuzz_common.h framing: a
 * 2-byte length, then the bytes). A zero-length datagram is an event: the endpoint's timer
 * fires (its deadline on a fake clock), or in mode 5 one round of genuine traffic is pumped.
 *   0  a fresh server endpoint, not started (a server answers a ClientHello anyway)
 *   1  a fresh server endpoint, started
 *   2  a fresh client endpoint, started (its ClientHello went nowhere: the input plays the
 *      server)
 *   3  a connected server endpoint (in-memory handshake at init, kept across inputs)
 *   4  a connected client endpoint (likewise)
 *   5  a handshake under way between our endpoint (server, or client when bit 0 of
 *      byte/6 is set) and a genuine remote; the input's datagrams are injected into ours
 *      between the genuine rounds, then the rest is pumped.
 * Invariants (abort = finding): without the remote's private key no input connects an
 * endpoint (modes 0-2); a connected endpoint never reaches FAILED/CLOSED from these
 * unauthenticated datagrams, and whatever it answers never breaks the genuine remote
 * (modes 3-4: both stay connected); an injected handshake that connects ours connected the
 * genuine remote with the same keys (mode 5); every datagram sent fits the MTU; each
 * callback comes at most once; sb_dtls_handle refuses exactly what is not DTLS.
 *
 * Certificates are generated once at init (proto/cert.h). With SB_FUZZ_SEED_DIR set, init
 * also writes seeds from the genuine flights of its handshakes (tests/fuzz/corpus/dtls).
 * Does not: cover OpenSSL's timers against a real clock, or the peer layer's demux and
 * early buffering (fuzz_stun does).
 * Thread: libFuzzer's. Build (libFuzzer): scripts/fuzz.sh (configure --enable-fuzzers), or
 *   clang -fsanitize=fuzzer,address,undefined -I src -I <builddir> tests/fuzz/fuzz_dtls.c
 *   tests/fuzz/fuzz_common.c <builddir>/libsb.a $(pkg-config --libs ...) (tests/module.am) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "base/log.h"
#include "fuzz_common.h"
#include "proto/cert.h"
#include "proto/dtls.h"

enum {
    FUZZ_SERVER_NEW,
    FUZZ_SERVER_STARTED,
    FUZZ_CLIENT_STARTED,
    FUZZ_CONNECTED_SERVER,
    FUZZ_CONNECTED_CLIENT,
    FUZZ_INJECT,
    FUZZ_MODES,
};

#define FUZZ_T0 1000000000LL /* fake clock start, us */

static sb_cert_t *cert_ours, *cert_remote;

/* A connected pair kept across inputs: ours and the genuine remote, with a fake clock. */
typedef struct fuzz_pair {
    fuzz_side_t ours, remote;
    int64_t now;
} fuzz_pair_t;

static fuzz_pair_t conn_server, conn_client; /* ours is the server / the client */
static fuzz_side_t fresh, genuine;           /* per input */

/* ---- seeds ------------------------------------------------------------------------ */

/* Writes mode byte + framed datagrams to dir/name. */
static void fuzz_seed_write(const char *dir, const char *name, uint8_t mode,
                            const fuzz_queue_t *q, unsigned first, unsigned n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fputc(mode, f);
    for (unsigned i = first; i < first + n && i < q->n; i++) {
        fputc(q->q[i].len >> 8, f);
        fputc(q->q[i].len & 0xff, f);
        fwrite(q->q[i].data, 1, q->q[i].len, f);
    }
    fclose(f);
}

/* Handshakes a fresh pair step by step, keeping every flight each side sent, and writes
 * seeds: the client's flights (for a server of ours) and the server's (for a client). */
static void fuzz_seeds_from_handshake(const char *dir)
{
    static fuzz_queue_t from_client, from_server;
    fuzz_side_t c, s;
    fuzz_side_make(&c, cert_remote, cert_ours, SB_DTLS_CLIENT);
    fuzz_side_make(&s, cert_ours, cert_remote, SB_DTLS_SERVER);
    sb_dtls_start(c.d);
    sb_dtls_start(s.d);
    for (int round = 0; round < 10 && (c.out.n || s.out.n); round++) {
        for (unsigned i = 0; i < c.out.n; i++)
            fuzz_queue_push(&from_client, c.out.q[i].data, c.out.q[i].len);
        fuzz_deliver(&c, &s);
        for (unsigned i = 0; i < s.out.n; i++)
            fuzz_queue_push(&from_server, s.out.q[i].data, s.out.q[i].len);
        fuzz_deliver(&s, &c);
    }
    /* Client flights: the ClientHello, then the whole handshake; likewise the server's. */
    fuzz_seed_write(dir, "server-new-clienthello", FUZZ_SERVER_NEW, &from_client, 0, 1);
    fuzz_seed_write(dir, "server-started-client-flights", FUZZ_SERVER_STARTED, &from_client, 0,
                    from_client.n);
    fuzz_seed_write(dir, "client-server-flights", FUZZ_CLIENT_STARTED, &from_server, 0,
                    from_server.n);
    fuzz_seed_write(dir, "connected-server-replay", FUZZ_CONNECTED_SERVER, &from_client, 0,
                    from_client.n);
    fuzz_seed_write(dir, "connected-client-replay", FUZZ_CONNECTED_CLIENT, &from_server, 0,
                    from_server.n);
    fuzz_seed_write(dir, "inject-server-clienthello", FUZZ_INJECT, &from_client, 0, 1);
    fuzz_seed_write(dir, "inject-client-server-flights", FUZZ_INJECT + FUZZ_MODES,
                    &from_server, 0, from_server.n);
    fuzz_side_free(&c);
    fuzz_side_free(&s);
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void fuzz_pair_connect(fuzz_pair_t *p, sb_dtls_role_t our_role)
{
    fuzz_side_make(&p->ours, cert_ours, cert_remote, our_role);
    fuzz_side_make(&p->remote, cert_remote, cert_ours,
                   our_role == SB_DTLS_SERVER ? SB_DTLS_CLIENT : SB_DTLS_SERVER);
    FUZZ_CHECK(sb_dtls_start(p->ours.d) == 0 && sb_dtls_start(p->remote.d) == 0);
    fuzz_pump(&p->ours, &p->remote, 20);
    FUZZ_CHECK(sb_dtls_get_state(p->ours.d) == SB_DTLS_CONNECTED);
    FUZZ_CHECK(sb_dtls_get_state(p->remote.d) == SB_DTLS_CONNECTED);
    p->now = FUZZ_T0;
}

static void fuzz_setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    sb_log_set_level(SB_LOG_ERROR);
    FUZZ_CHECK(sb_cert_generate(&cert_ours) == 0 && sb_cert_generate(&cert_remote) == 0);
    fuzz_pair_connect(&conn_server, SB_DTLS_SERVER);
    fuzz_pair_connect(&conn_client, SB_DTLS_CLIENT);
    const char *dir = getenv("SB_FUZZ_SEED_DIR");
    if (dir)
        fuzz_seeds_from_handshake(dir);
}

/* ---- per input ----------------------------------------------------------------------- */

/* What sb_dtls_handle must say about a datagram, given the state before the call. */
static void fuzz_handle_checked(fuzz_side_t *s, const uint8_t *d, size_t len)
{
    sb_dtls_state_t before = sb_dtls_get_state(s->d);
    int rc = sb_dtls_handle(s->d, d, len);
    bool terminal = before == SB_DTLS_FAILED || before == SB_DTLS_CLOSED;
    bool dtls_shaped = len >= 13 && d[0] >= 20 && d[0] <= 63;
    if (terminal)
        FUZZ_CHECK(rc == SB_ESTATE);
    else
        FUZZ_CHECK(rc == (dtls_shaped ? 0 : SB_EINVAL));
}

/* The timer event: jump the fake clock to the endpoint's deadline and let it fire. */
static void fuzz_fire_timer(fuzz_side_t *s, int64_t *now)
{
    int64_t due = sb_dtls_next_timeout_us(s->d, *now);
    if (due < 0)
        return;
    if (due > *now)
        *now = due;
    sb_dtls_handle_timeout(s->d, *now);
}

static void fuzz_check_side(const fuzz_side_t *s)
{
    FUZZ_CHECK(s->out.max_len <= SB_DTLS_DEFAULT_MTU);
    FUZZ_CHECK(s->n_connected <= 1 && s->n_failed <= 1 && s->n_closed <= 1);
    FUZZ_CHECK(s->n_failed + s->n_closed <= 1);
    sb_dtls_state_t st = sb_dtls_get_state(s->d);
    FUZZ_CHECK(st != SB_DTLS_FAILED || s->n_failed == 1);
    FUZZ_CHECK((st == SB_DTLS_CONNECTED) == (sb_dtls_get_profile(s->d) != SB_SRTP_PROFILE_NONE));
}

/* Modes 0-2: a lone endpoint fed by the input; it can never connect. */
static void fuzz_lone(uint8_t mode, fuzz_reader_t *r)
{
    sb_dtls_role_t role = mode == FUZZ_CLIENT_STARTED ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
    fuzz_side_make(&fresh, cert_ours, cert_remote, role);
    if (mode != FUZZ_SERVER_NEW)
        FUZZ_CHECK(sb_dtls_start(fresh.d) == 0);
    int64_t now = FUZZ_T0;
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0)
            fuzz_fire_timer(&fresh, &now);
        else
            fuzz_handle_checked(&fresh, d, len);
        fresh.out.n = 0; /* what it answers goes nowhere */
        fuzz_check_side(&fresh);
        FUZZ_CHECK(fresh.n_connected == 0); /* nobody here holds the remote's key */
    }
    fuzz_side_free(&fresh);
}

/* Modes 3-4: the input goes to a connected endpoint; its answers reach the genuine remote. */
static void fuzz_connected(fuzz_pair_t *p, fuzz_reader_t *r)
{
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0)
            fuzz_fire_timer(&p->ours, &p->now);
        else
            fuzz_handle_checked(&p->ours, d, len);
        fuzz_pump(&p->ours, &p->remote, 4);
        fuzz_check_side(&p->ours);
        fuzz_check_side(&p->remote);
        FUZZ_CHECK(sb_dtls_get_state(p->ours.d) == SB_DTLS_CONNECTED);
        FUZZ_CHECK(sb_dtls_get_state(p->remote.d) == SB_DTLS_CONNECTED);
        FUZZ_CHECK(p->ours.n_failed + p->ours.n_closed + p->remote.n_failed +
                       p->remote.n_closed ==
                   0);
    }
    p->ours.out.n = p->remote.out.n = 0;
}

static void fuzz_check_keys_crosswise(const sb_srtp_keys_t *a, const sb_srtp_keys_t *b)
{
    FUZZ_CHECK(a->profile == b->profile && a->key_len == b->key_len &&
               a->salt_len == b->salt_len);
    FUZZ_CHECK(!memcmp(a->local_key, b->remote_key, a->key_len) &&
               !memcmp(a->remote_key, b->local_key, a->key_len));
    FUZZ_CHECK(!memcmp(a->local_salt, b->remote_salt, a->salt_len) &&
               !memcmp(a->remote_salt, b->local_salt, a->salt_len));
}

/* Mode 5: a genuine handshake with the input's datagrams injected into our endpoint. */
static void fuzz_inject(uint8_t first, fuzz_reader_t *r)
{
    sb_dtls_role_t role = (first / FUZZ_MODES) & 1 ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
    fuzz_side_make(&fresh, cert_ours, cert_remote, role);
    fuzz_side_make(&genuine, cert_remote, cert_ours,
                   role == SB_DTLS_SERVER ? SB_DTLS_CLIENT : SB_DTLS_SERVER);
    FUZZ_CHECK(sb_dtls_start(fresh.d) == 0 && sb_dtls_start(genuine.d) == 0);
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0)
            fuzz_pump(&fresh, &genuine, 1);
        else
            fuzz_handle_checked(&fresh, d, len);
    }
    fuzz_pump(&fresh, &genuine, 20);
    fuzz_check_side(&fresh);
    fuzz_check_side(&genuine);
    if (sb_dtls_get_state(fresh.d) == SB_DTLS_CONNECTED) {
        FUZZ_CHECK(sb_dtls_get_state(genuine.d) == SB_DTLS_CONNECTED);
        fuzz_check_keys_crosswise(&fresh.keys, &genuine.keys);
    }
    fuzz_side_free(&fresh);
    fuzz_side_free(&genuine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size < 1)
        return 0;
    fuzz_reader_t r = {.p = data + 1, .left = size - 1};
    uint8_t mode = data[0] % FUZZ_MODES;
    switch (mode) {
    case FUZZ_CONNECTED_SERVER:
        fuzz_connected(&conn_server, &r);
        break;
    case FUZZ_CONNECTED_CLIENT:
        fuzz_connected(&conn_client, &r);
        break;
    case FUZZ_INJECT:
        fuzz_inject(data[0], &r);
        break;
    default:
        fuzz_lone(mode, &r);
        break;
    }
    return 0;
}
