/* Fuzz target: SCTP packets into a live association (src/proto/sctp.c over usrsctp), and the
 * messages that come out of it into DCEP (src/proto/dcep.c), as a hostile peer would send
 * them through an established DTLS session.
 *
 * Two associations are connected in memory once. Each input is one packet for the second:
 * the first byte chooses whether it goes in as it is, or with the common header made valid
 * (our ports, the association's verification tag and a correct CRC32c) so that the chunks
 * reach usrsctp's chunk handling instead of being dropped at the header checks. Whatever
 * the association answers goes back to the first one. When an input ends the association
 * (an ABORT, a forged INIT...), the pair is made again for the next one.
 *
 * libFuzzer: see src/proto/datachannel.am (ENABLE_FUZZERS); replayed over
 * tests/fuzz/corpus/sctp by make check. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "proto/dcep.h"
#include "proto/sctp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PKT 65536
#define FUZZ_QUEUE 256

typedef struct fuzz_end {
    sb_sctp_t *s;
    struct fuzz_end *peer;
    uint8_t *pkts[FUZZ_QUEUE];
    size_t lens[FUZZ_QUEUE];
    unsigned n;
    sb_sctp_state_t state;
    uint8_t vtag[4]; /* the tag this end's packets carry: what its peer expects */
    bool have_vtag;
    uint8_t sample[1200]; /* a genuine packet it sent once up: checks fz_fix_header */
    size_t sample_len;
} fuzz_end_t;

static fuzz_end_t fz_a, fz_b;

static void fz_send(void *ctx, const uint8_t *pkt, size_t len)
{
    fuzz_end_t *e = ctx;
    if (len >= 12 && !e->have_vtag && e->state == SB_SCTP_UP) {
        memcpy(e->vtag, pkt + 4, 4);
        e->have_vtag = true;
        if (len <= sizeof(e->sample)) {
            memcpy(e->sample, pkt, len);
            e->sample_len = len;
        }
    }
    fuzz_end_t *to = e->peer;
    if (!to || to->n == FUZZ_QUEUE)
        return;
    to->pkts[to->n] = malloc(len);
    memcpy(to->pkts[to->n], pkt, len);
    to->lens[to->n++] = len;
}

static void fz_message(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)stream;
    static sb_dcep_channel_t ch;
    if (ppid == SB_PPID_DCEP)
        (void)sb_dcep_parse(msg, len, &ch);
}

static void fz_state(void *ctx, sb_sctp_state_t st)
{
    ((fuzz_end_t *)ctx)->state = st;
}

static void fz_closed(void *ctx, uint16_t stream)
{
    (void)ctx;
    (void)stream;
}

static const sb_sctp_ops_t fz_ops = {.send = fz_send, .on_message = fz_message,
                                     .on_state = fz_state, .on_stream_closed = fz_closed};

static void fz_flush(fuzz_end_t *e)
{
    unsigned n = e->n;
    e->n = 0;
    for (unsigned i = 0; i < n; i++) {
        if (e->s)
            sb_sctp_input(e->s, e->pkts[i], e->lens[i]);
        free(e->pkts[i]);
        if (e->s)
            sb_sctp_drain(e->s);
    }
}

static void fz_pump(unsigned rounds)
{
    for (unsigned r = 0; r < rounds; r++) {
        sb_sctp_drain(fz_a.s);
        sb_sctp_drain(fz_b.s);
        if (!fz_a.n && !fz_b.n)
            return;
        fz_flush(&fz_a);
        fz_flush(&fz_b);
    }
}

static void fz_free_pair(void)
{
    fz_a.peer = fz_b.peer = NULL;
    sb_sctp_free(fz_a.s);
    sb_sctp_free(fz_b.s);
    fz_flush(&fz_a); /* frees what is left (s is dropped below) */
    fz_flush(&fz_b);
    memset(&fz_a, 0, sizeof(fz_a));
    memset(&fz_b, 0, sizeof(fz_b));
}

static bool fz_make_pair(void)
{
    memset(&fz_a, 0, sizeof(fz_a));
    memset(&fz_b, 0, sizeof(fz_b));
    fz_a.peer = &fz_b;
    fz_b.peer = &fz_a;
    sb_sctp_config_t cfg = {.max_message = 64 << 10, .max_streams = 16};
    if (sb_sctp_new(&cfg, &fz_ops, &fz_a, &fz_a.s) || sb_sctp_new(&cfg, &fz_ops, &fz_b, &fz_b.s) ||
        sb_sctp_connect(fz_a.s) || sb_sctp_connect(fz_b.s))
        return false;
    for (int t = 0; t < 200 && !(fz_a.state == SB_SCTP_UP && fz_b.state == SB_SCTP_UP); t++) {
        fz_pump(50);
        sb_sctp_tick(10);
    }
    /* One message each way: the verification tags are learnt from these. */
    sb_sctp_send(fz_a.s, 0, SB_PPID_STRING, (const uint8_t *)"a", 1, NULL);
    sb_sctp_send(fz_b.s, 1, SB_PPID_STRING, (const uint8_t *)"b", 1, NULL);
    fz_pump(50);
    return fz_a.state == SB_SCTP_UP && fz_b.state == SB_SCTP_UP && fz_a.have_vtag;
}

/* Our ports, the tag b expects, and a valid CRC32c (stored as usrsctp stores it). */
static void fz_fix_header(uint8_t *pkt, size_t len)
{
    static const uint8_t ports[4] = {0x13, 0x88, 0x13, 0x88}; /* 5000 -> 5000 */
    memcpy(pkt, ports, 4);
    memcpy(pkt + 4, fz_a.vtag, 4);
    memset(pkt + 8, 0, 4);
    uint32_t crc = usrsctp_crc32c(pkt, len);
    memcpy(pkt + 8, &crc, 4);
}

/* The harness itself: a genuine packet made valid again must be unchanged, or the fixed
 * inputs would all die at the checksum. */
static void fz_check_harness(void)
{
    uint8_t copy[sizeof(fz_a.sample)];
    memcpy(copy, fz_a.sample, fz_a.sample_len);
    fz_fix_header(copy, fz_a.sample_len);
    if (fz_a.sample_len < 12 || memcmp(copy, fz_a.sample, fz_a.sample_len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        if (sb_sctp_global_init() != 0)
            abort();
        ready = true;
    }
    if (!fz_a.s) {
        if (!fz_make_pair())
            abort();
        fz_check_harness();
    }
    if (size < 1 || size - 1 > FUZZ_MAX_PKT)
        return 0;
    size_t len = size - 1;
    uint8_t *pkt = malloc(len ? len : 1);
    if (len)
        memcpy(pkt, data + 1, len);
    if ((data[0] & 1) && len >= 12)
        fz_fix_header(pkt, len);
    sb_sctp_input(fz_b.s, pkt, len);
    free(pkt);
    sb_sctp_drain(fz_b.s);
    fz_pump(20);
    sb_sctp_tick(10);
    fz_pump(20);
    /* Still up: it must still carry a message. Not up: start again next time. */
    if (fz_b.state == SB_SCTP_UP && fz_a.state == SB_SCTP_UP)
        sb_sctp_send(fz_a.s, 2, SB_PPID_STRING, (const uint8_t *)"x", 1, NULL);
    else
        fz_free_pair();
    return 0;
}
