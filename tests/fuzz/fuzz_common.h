/* Helpers shared by the datagram fuzz targets (fuzz_dtls, fuzz_stun): a checked abort that
 * says where, the input split into datagrams, a bounded datagram queue, and one in-memory
 * DTLS endpoint whose send op fills such a queue (two of them handshake by pumping).
 *
 * Input framing: after the targets' own mode byte, the rest of the input is a sequence of
 * datagrams, each a 2-byte big-endian length then that many bytes (the last one gets what
 * is left when the input is shorter than its length). A zero length is an "event" that each
 * target defines (a timer, a pump round, ICE connecting, ...).
 *
 * Does not: own threads or clocks; anything here runs on the caller's thread. */
#ifndef SB_TESTS_FUZZ_COMMON_H
#define SB_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cert.h"
#include "proto/dtls.h"

/* Invariant check for fuzz targets: prints the failed condition, then aborts (a finding). */
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond))                                                                          \
            fuzz_fail(__FILE__, __LINE__, #cond);                                             \
    } while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* The datagrams of one input (borrowed). */
typedef struct fuzz_reader {
    const uint8_t *p;
    size_t left;
} fuzz_reader_t;

/* Next datagram into *d and *len (borrowed from the input; *len may be 0: an event). False at
 * the end of the input. */
bool fuzz_next_datagram(fuzz_reader_t *r, const uint8_t **d, size_t *len);

#define FUZZ_DGRAM_MAX 2048
#define FUZZ_QUEUE_MAX 32

/* Datagrams sent by an endpoint and not yet delivered. Full: later ones are dropped and
 * counted, as a congested link would. */
typedef struct fuzz_queue {
    struct {
        uint16_t len;
        uint8_t data[FUZZ_DGRAM_MAX];
    } q[FUZZ_QUEUE_MAX];
    unsigned n;
    unsigned dropped;
    size_t max_len; /* largest datagram ever pushed, dropped or not */
} fuzz_queue_t;

void fuzz_queue_push(fuzz_queue_t *q, const uint8_t *d, size_t len);

/* One in-memory DTLS endpoint and what it did. Plain value; owner's thread. */
typedef struct fuzz_side {
    sb_dtls_t *d;
    fuzz_queue_t out; /* what it sent: out.max_len is its largest datagram */
    unsigned n_connected, n_failed, n_closed;
    sb_srtp_keys_t keys;
} fuzz_side_t;

/* Creates s->d with cert mine, expecting the remote to present theirs. Aborts on failure
 * (the harness, not the input, would be wrong). */
void fuzz_side_make(fuzz_side_t *s, const sb_cert_t *mine, const sb_cert_t *theirs,
                    sb_dtls_role_t role);
void fuzz_side_free(fuzz_side_t *s);

/* Splits "sha-256 AB:CD:..." into its hash name and hex (caller's buffers). */
void fuzz_split_fp(const char *fp, char *hash, size_t hash_cap, char *hex, size_t hex_cap);

/* Delivers what from->out holds to `to` (not what `to` answers). Returns how many. */
unsigned fuzz_deliver(fuzz_side_t *from, fuzz_side_t *to);

/* Delivers every queued datagram of each side to the other, for at most `rounds` rounds or
 * until both queues are empty. Returns the number of datagrams delivered. */
unsigned fuzz_pump(fuzz_side_t *a, fuzz_side_t *b, unsigned rounds);

#endif
