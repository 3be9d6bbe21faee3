/* A real sb_peer without a network, for unit tests (see peer_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "../fuzz/fake_ice.h"
#include "base/log.h"
#include "loop/loop.h"
#include "loop/pktbuf.h"
#include "session/handle.h"
#include "session/handle_media.h"
#include "peer/peer_metrics.h"
#include "session/session.h"
#include "proto/demux.h"
#include "proto/srtp.h"
#include "peer_fixture.h"

/* The test's thread creates and tears down; everything else runs on the loop. */
static struct {
    sb_loop_t *loop;
    sb_ice_config_t ice_cfg;
    sb_session_t *session;
    sb_handle_t *handles[PF_PEERS];
    sb_peer_t *peers[PF_PEERS];
    sb_srtp_session_t *client_out[PF_PEERS]; /* protects what the client sends */
    pf_inbox_t inbox[PF_PEERS];
} pf;

/* ---- keys -------------------------------------------------------------------------------- */

/* The keys the handshake would have exported, as the peer holds them; the client holds the
 * mirror image (its local key is the peer's remote key). */
static void pf_keys(bool client, sb_srtp_keys_t *k)
{
    memset(k, 0, sizeof(*k));
    k->profile = SB_SRTP_AES128_CM_SHA1_80;
    k->key_len = 16;
    k->salt_len = 14;
    uint8_t *ours = client ? k->remote_key : k->local_key;
    uint8_t *theirs = client ? k->local_key : k->remote_key;
    uint8_t *our_salt = client ? k->remote_salt : k->local_salt;
    uint8_t *their_salt = client ? k->local_salt : k->remote_salt;
    for (unsigned i = 0; i < 16; i++) {
        ours[i] = (uint8_t)(0x10 + i);
        theirs[i] = (uint8_t)(0x80 + i);
    }
    for (unsigned i = 0; i < 14; i++) {
        our_salt[i] = (uint8_t)(0x40 + i);
        their_salt[i] = (uint8_t)(0xc0 + i);
    }
}

/* ---- what the peers send ---------------------------------------------------------------- */

/* Open one datagram with the client's keys. A fresh inbound session each time: a resent
 * packet (no RTX) repeats an index, which a long-lived session would refuse as a replay;
 * the tests send too few packets for the rollover counter to matter. */
static bool pf_open(uint8_t *buf, size_t *len, bool *rtcp)
{
    sb_srtp_keys_t k;
    pf_keys(true, &k);
    sb_srtp_session_t *in = NULL;
    if (sb_srtp_session_new(&k, SB_SRTP_INBOUND, &in) < 0)
        return false;
    sb_pkt_kind_t kind = sb_demux_classify(buf, *len);
    *rtcp = kind == SB_PKT_RTCP;
    int rc = kind == SB_PKT_RTCP  ? sb_srtp_unprotect_rtcp(in, buf, len)
             : kind == SB_PKT_RTP ? sb_srtp_unprotect_rtp(in, buf, len)
                                  : -1;
    sb_srtp_session_free(in);
    return rc == 0;
}

/* Loop thread: move what every peer sent into its client's inbox. */
static void pf_drain(void)
{
    for (unsigned s = 0; s < PF_PEERS; s++) {
        if (!pf.peers[s])
            continue;
        fuzz_queue_t *q = fake_ice_sent(pf.peers[s]->ice);
        pf_inbox_t *box = &pf.inbox[s];
        for (unsigned i = 0; i < q->n; i++) {
            pf_packet_t pkt = {.len = q->q[i].len};
            memcpy(pkt.data, q->q[i].data, pkt.len);
            if (!pf_open(pkt.data, &pkt.len, &pkt.rtcp)) {
                box->undecrypted++;
                continue;
            }
            if (box->n == PF_INBOX) {
                memmove(&box->pkts[0], &box->pkts[1], sizeof(box->pkts[0]) * (PF_INBOX - 1));
                box->n--;
            }
            box->pkts[box->n++] = pkt;
            box->total++;
        }
        box->dropped += q->dropped; /* drained after every datagram: stays 0 */
        q->dropped = 0;
        q->n = 0;
    }
}

/* ---- on the loop ------------------------------------------------------------------------ */

typedef struct pf_job {
    unsigned slot;
    const sb_media_stream_t *streams;
    unsigned n;
    uint8_t *dgram;
    size_t len;
    unsigned in_use;
} pf_job_t;

static void pf_peer_new_run(void *arg)
{
    pf_job_t *j = arg;
    sb_peer_t *p = NULL;
    if (sb_peer_new(pf.loop, sb_handle_media_owner(pf.handles[j->slot]), false, &p) < 0)
        return;
    fake_ice_connect(p->ice);
    sb_srtp_keys_t k;
    pf_keys(false, &k);
    sb_srtp_session_new(&k, SB_SRTP_INBOUND, &p->srtp_in);
    sb_srtp_session_new(&k, SB_SRTP_OUTBOUND, &p->srtp_out);
    p->profile = k.profile;
    /* What sb_peer_dtls_connected does, short of the plugin's setup_media. */
    p->state = SB_PEER_UP;
    sb_gauge_inc(&p->metrics->peers_up);
    sb_peer_set_streams(p, j->streams, j->n);
    pf.peers[j->slot] = p;
}

static void pf_deliver_run(void *arg)
{
    pf_job_t *j = arg;
    fake_ice_recv(pf.peers[j->slot]->ice, j->dgram, j->len);
    pf_drain();
}

static void pf_close_run(void *arg)
{
    (void)arg;
    pf_drain();
    for (unsigned s = 0; s < PF_PEERS; s++) {
        if (pf.peers[s])
            sb_peer_close(pf.peers[s], NULL);
        pf.peers[s] = NULL;
    }
}

static void pf_pool_run(void *arg)
{
    pf_job_t *j = arg;
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(sb_loop_pool(pf.loop), &st);
    j->in_use = st.total - st.free_local;
}

/* ---- the test's thread -------------------------------------------------------------------- */

typedef struct pf_call {
    void (*fn)(void *arg);
    void *arg;
} pf_call_t;

static void pf_call_run(void *arg)
{
    pf_call_t *c = arg;
    c->fn(c->arg);
    pf_drain();
}

void pf_run(void (*fn)(void *arg), void *arg)
{
    pf_call_t c = {fn, arg};
    assert_int_equal(sb_loop_call_sync(pf.loop, pf_call_run, &c), 0);
}

sb_peer_t *pf_peer_new(unsigned slot, const sb_media_stream_t *streams, unsigned n)
{
    assert_true(slot < PF_PEERS && !pf.peers[slot]);
    /* A new client too: its sender state starts over with the peer's receiver state. */
    sb_srtp_keys_t k;
    pf_keys(true, &k);
    sb_srtp_session_free(pf.client_out[slot]);
    pf.client_out[slot] = NULL;
    assert_int_equal(sb_srtp_session_new(&k, SB_SRTP_OUTBOUND, &pf.client_out[slot]), 0);
    pf_job_t j = {.slot = slot, .streams = streams, .n = n};
    pf_run(pf_peer_new_run, &j);
    assert_non_null(pf.peers[slot]);
    assert_non_null(pf.peers[slot]->srtp_in);
    assert_non_null(pf.peers[slot]->srtp_out);
    pf_inbox_clear(slot);
    return pf.peers[slot];
}

sb_peer_t *pf_peer(unsigned slot)
{
    return slot < PF_PEERS ? pf.peers[slot] : NULL;
}

sb_plugin_handle_t *pf_handle(unsigned slot)
{
    return sb_handle_plugin_handle(pf.handles[slot]);
}

int pf_slot_of(const sb_plugin_handle_t *ph)
{
    for (unsigned s = 0; s < PF_PEERS; s++) {
        if (pf.handles[s] && sb_handle_plugin_handle(pf.handles[s]) == ph)
            return (int)s;
    }
    return -1;
}

void pf_close_all(void)
{
    pf_run(pf_close_run, NULL);
    /* A closed peer is freed once the loop's current dispatch is over (peer.h). */
    for (int i = 0; i < 20000 && sb_loop_bound_count(pf.loop) > 0; i++)
        g_usleep(100);
    assert_int_equal(sb_loop_bound_count(pf.loop), 0);
    json_t *ev;
    while ((ev = sb_session_take_events(pf.session, 64)) != NULL)
        json_decref(ev); /* media and webrtc events: not these tests' subject */
}

void pf_client_send(unsigned slot, const uint8_t *pkt, size_t len)
{
    assert_true(slot < PF_PEERS && pf.peers[slot]);
    assert_true(len + SB_SRTP_MAX_TRAILER_LEN <= PF_PKT_MAX);
    /* An exact-size heap copy, as libnice hands over, so ASan sees any access past it. */
    uint8_t tmp[PF_PKT_MAX];
    memcpy(tmp, pkt, len);
    size_t n = len;
    sb_pkt_kind_t kind = sb_demux_classify(tmp, n);
    assert_true(kind == SB_PKT_RTP || kind == SB_PKT_RTCP);
    int rc = kind == SB_PKT_RTP ? sb_srtp_protect_rtp(pf.client_out[slot], tmp, &n, sizeof(tmp))
                                : sb_srtp_protect_rtcp(pf.client_out[slot], tmp, &n, sizeof(tmp));
    assert_int_equal(rc, 0);
    pf_job_t j = {.slot = slot, .dgram = g_malloc(n), .len = n};
    memcpy(j.dgram, tmp, n);
    pf_run(pf_deliver_run, &j);
    g_free(j.dgram);
}

pf_inbox_t *pf_inbox(unsigned slot)
{
    return &pf.inbox[slot];
}

void pf_inbox_clear(unsigned slot)
{
    memset(&pf.inbox[slot], 0, sizeof(pf.inbox[slot]));
}

const pf_packet_t *pf_inbox_last_rtp(unsigned slot)
{
    const pf_inbox_t *box = &pf.inbox[slot];
    for (unsigned i = box->n; i-- > 0;) {
        if (!box->pkts[i].rtcp)
            return &box->pkts[i];
    }
    return NULL;
}

unsigned pf_pool_in_use(void)
{
    pf_job_t j = {0};
    pf_run(pf_pool_run, &j);
    return j.in_use;
}

size_t pf_rtp_build(const pf_rtp_t *d, uint8_t *out, size_t cap)
{
    sb_rtp_ext_elem_t exts[3];
    size_t n = 0;
    const char *vals[3] = {d->mid, d->rid, d->rrid};
    const uint8_t ids[3] = {PF_EXT_MID, PF_EXT_RID, PF_EXT_RRID};
    for (unsigned i = 0; i < 3; i++) {
        if (vals[i])
            exts[n++] =
                (sb_rtp_ext_elem_t){ids[i], (uint8_t)strlen(vals[i]), (const uint8_t *)vals[i]};
    }
    sb_rtp_header_t h = {.marker = d->marker,
                         .pt = d->pt,
                         .seq = d->seq,
                         .timestamp = d->ts,
                         .ssrc = d->ssrc,
                         .exts = exts,
                         .ext_count = n};
    int hl = sb_rtp_write_header(out, cap, &h);
    assert_true(hl > 0 && (size_t)hl + d->payload_len <= cap);
    if (d->payload_len)
        memcpy(out + hl, d->payload, d->payload_len);
    return (size_t)hl + d->payload_len;
}

/* ---- set-up --------------------------------------------------------------------------------- */

void pf_setup(const sb_plugin_t *plugin)
{
    sb_log_set_level(SB_LOG_ERROR);
    assert_int_equal(sb_srtp_init(), 0);
    sb_peer_metrics_init();
    sb_peer_globals_set(&(sb_peer_globals_t){.ice = &pf.ice_cfg});
    assert_int_equal(sb_loops_start(1), 0);
    pf.loop = sb_loop_get(0);
    sb_sessions_init(&(sb_sessions_config_t){
        .max_sessions = 4, .max_handles_per_session = PF_PEERS, .event_queue_max = 64});
    assert_int_equal(sb_session_create(NULL, &pf.session), 0);
    for (unsigned s = 0; s < PF_PEERS; s++)
        assert_int_equal(sb_handle_create(pf.session, plugin, NULL, &pf.handles[s]), 0);
}

void pf_teardown(void)
{
    pf_close_all();
    for (unsigned s = 0; s < PF_PEERS; s++) {
        sb_srtp_session_free(pf.client_out[s]);
        sb_handle_unref(pf.handles[s]);
    }
    sb_session_destroy(pf.session);
    sb_session_unref(pf.session);
    sb_sessions_deinit();
    sb_loops_stop();
    sb_srtp_deinit();
}
