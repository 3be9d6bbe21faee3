/* Retransmission history of one publisher stream (one SSRC): the packets recently received, so
 * that a subscriber's NACK (RFC 4585 section 6.2.1) is answered without asking the publisher.
 *
 * A ring indexed by sequence number (capacity a power of two) holds references to packets
 * that the caller owns elsewhere (e.g. refcounted packet buffers): a pointer, a length, an
 * opaque handle and a release callback that the history calls when it drops an entry. So one
 * plaintext copy of a packet serves both the forwarding path and retransmissions, and the
 * history allocates nothing per packet.
 *
 * Sans-IO, no threads: one owner (the publisher's stream), on its loop only. */
#ifndef SB_PROTO_RTX_HISTORY_H
#define SB_PROTO_RTX_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_rtx_history sb_rtx_history_t;

/* Called when the history drops a stored packet (evicted, replaced, reset, freed). */
typedef void (*sb_rtx_release_fn)(void *release_ctx, void *handle);

typedef struct sb_rtx_history_config {
    unsigned capacity;         /* entries, rounded up to a power of two; 0: 512; max 32768 */
    int64_t max_age_us;        /* packets older than this are not resent; 0: 1 s */
    int64_t min_resend_us;     /* one packet is resent at most once per this; 0: 10 ms */
    sb_rtx_release_fn release; /* may be NULL when handles need no release */
    void *release_ctx;
} sb_rtx_history_config_t;

/* A stored packet, borrowed: valid until the next put/reset/free on the history. */
typedef struct sb_rtx_entry {
    const uint8_t *data;
    size_t len;
    void *handle;
    uint16_t seq;
    uint32_t ssrc;
    int64_t arrival_us;
    unsigned resends;
} sb_rtx_entry_t;

typedef struct sb_rtx_history_stats {
    uint64_t stored;    /* accepted puts */
    uint64_t rejected;  /* puts too old for the window, or duplicates */
    uint64_t hits;      /* lookups answered */
    uint64_t misses;    /* never stored, evicted, or too old */
    uint64_t throttled; /* asked again within min_resend_us */
} sb_rtx_history_stats_t;

/* Returns 0 or SB_EINVAL (capacity too large). *out is owned: sb_rtx_history_free. */
int sb_rtx_history_new(const sb_rtx_history_config_t *cfg, sb_rtx_history_t **out);

/* Releases every stored packet, then frees. NULL is a no-op. */
void sb_rtx_history_free(sb_rtx_history_t *h);

/* Store a packet (data/len stay valid until release(handle) is called). Sequence numbers wrap:
 * one up to 32767 ahead of the newest stored is newer, any other is older. Ownership of handle
 * passes to the history only when this returns 0. Returns 0; SB_EEXIST when that sequence
 * number is already stored; SB_ERANGE when it is older than the window (capacity behind the
 * newest). */
int sb_rtx_history_put(sb_rtx_history_t *h, uint16_t seq, uint32_t ssrc, const uint8_t *data,
                       size_t len, void *handle, int64_t now_us);

/* Look a packet up to answer a NACK at now_us. Returns 0 and fills *out (borrowed data);
 * SB_ENOENT when never stored, evicted or older than max_age_us; SB_EAGAIN when it was
 * already resent less than min_resend_us ago. A successful lookup counts as a resend. */
int sb_rtx_history_lookup(sb_rtx_history_t *h, uint16_t seq, int64_t now_us, sb_rtx_entry_t *out);

/* Drop every stored packet (e.g. the publisher's SSRC changed). */
void sb_rtx_history_reset(sb_rtx_history_t *h);

/* Release packets older than max_age_us at now_us (call from a periodic timer so an idle
 * stream does not pin buffers). Returns how many were released. */
unsigned sb_rtx_history_expire(sb_rtx_history_t *h, int64_t now_us);

void sb_rtx_history_stats(const sb_rtx_history_t *h, sb_rtx_history_stats_t *out);

#endif
