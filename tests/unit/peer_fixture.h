/* A real sb_peer for unit tests of the media path, with no network and no handshake: the peer
 * is made by sb_peer_new on a media loop, with tests/fuzz/fake_ice.c in place of
 * src/peer/ice.c (the only libnice user; linked before libsb.a, it replaces ice.o), then put
 * in the state the DTLS handshake would leave it in (ICE connected, SRTP sessions from fixed
 * keys, SB_PEER_UP) and given its negotiated streams. Everything above ice.h is the
 * production code: what a test sends goes in where libnice would deliver it (SRTP-protected
 * by the client's keys, through the first-byte demux) and what the peer sends is taken where
 * libnice would put it on the wire, then opened with the client's keys.
 *
 * Threads: the peers live on media loop 0. The pf_* functions are called from the test's
 * thread (cmocka's asserts must stay there) and run what touches a peer on the loop,
 * waiting for it (sb_loop_call_sync), so the test may read a peer's fields between calls.
 * Does not: negotiate SDP, handshake DTLS, tick the peer's timers (call sb_peer_media_tick
 * through pf_run if a test needs it). */
#ifndef SB_TESTS_UNIT_PEER_FIXTURE_H
#define SB_TESTS_UNIT_PEER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer/peer_internal.h"
#include "switchboard/plugin.h"

#define PF_PEERS 3      /* peers (one handle each) a test may have at once */
#define PF_INBOX 64     /* packets kept per client, the newest */
#define PF_PKT_MAX 1600 /* one datagram, SRTP trailer included */

/* One packet the peer sent to its client, opened with the client's keys. */
typedef struct pf_packet {
    bool rtcp;
    size_t len;
    uint8_t data[PF_PKT_MAX];
} pf_packet_t;

/* What client `slot` received: the newest PF_INBOX packets, oldest first from `first`. */
typedef struct pf_inbox {
    pf_packet_t pkts[PF_INBOX];
    unsigned n;           /* kept: min(total, PF_INBOX) */
    unsigned total;       /* received since the last pf_inbox_clear */
    unsigned undecrypted; /* what the client's keys did not open (must stay 0) */
    unsigned dropped;     /* lost in the fake ICE agent's queue (must stay 0) */
} pf_inbox_t;

/* Once per test program: media loop 0, a session and PF_PEERS handles of plugin. */
void pf_setup(const sb_plugin_t *plugin);
void pf_teardown(void);

/* Peer `slot` with these streams (copied), up and ready for media. Owned by the fixture:
 * pf_close_all closes it. The peer's handle is pf_handle(slot). */
sb_peer_t *pf_peer_new(unsigned slot, const sb_media_stream_t *streams, unsigned n);
sb_peer_t *pf_peer(unsigned slot);
sb_plugin_handle_t *pf_handle(unsigned slot);
/* Slot of the peer whose handle is ph, -1 when none (for the plugin's ops). */
int pf_slot_of(const sb_plugin_handle_t *ph);
/* Close every peer and wait until the loop has freed them (and their send histories). */
void pf_close_all(void);

/* Run fn(arg) on the peers' loop and wait; what the peers sent meanwhile goes to the
 * inboxes. */
void pf_run(void (*fn)(void *arg), void *arg);

/* The client of `slot` sends one plaintext RTP or RTCP packet: protected with its keys, then
 * handed to the peer as libnice would. What the peers send meanwhile goes to the inboxes. */
void pf_client_send(unsigned slot, const uint8_t *pkt, size_t len);

pf_inbox_t *pf_inbox(unsigned slot);
void pf_inbox_clear(unsigned slot);
/* The newest RTP packet in the inbox, NULL when none. */
const pf_packet_t *pf_inbox_last_rtp(unsigned slot);

/* Packet buffers of the loop's pool in use now (allocated and not released). */
unsigned pf_pool_in_use(void);

/* A plaintext RTP packet for tests: header, then the one-byte extensions given (mid, rid,
 * repaired rid; NULL: absent), then the payload. Returns its length. */
typedef struct pf_rtp {
    uint32_t ssrc;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    bool marker;
    const char *mid, *rid, *rrid;
    const uint8_t *payload;
    size_t payload_len;
} pf_rtp_t;
#define PF_EXT_MID 1
#define PF_EXT_RID 2
#define PF_EXT_RRID 3
size_t pf_rtp_build(const pf_rtp_t *d, uint8_t *out, size_t cap);

#endif
