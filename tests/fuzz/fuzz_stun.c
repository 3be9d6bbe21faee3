/* Fuzz target: datagrams on an ICE socket as they reach OUR code, with a real sb_peer.
 *
 * What libnice does and what we do: libnice reads the socket, answers and consumes every
 * datagram that validates as STUN (connectivity checks, consent) and hands everything else,
 * including STUN-looking bytes that do not validate, to the receive callback of peer/ice.c,
 * which passes it unchanged to sb_peer_ice_recv (peer.c). From there it is ours: first-byte
 * demux (proto/demux.c, RFC 7983), STUN and unknown classes dropped and counted, DTLS kept
 * (at most SB_PEER_EARLY_DTLS) while ICE has no pair yet and replayed when it gets one, then
 * sb_dtls_handle, and once the peer is up SRTP/SRTCP unprotect, the SSRC map and rid/mid
 * learning, RTX unwrap, receiver stats, NACK generation, RTCP feedback (NACK → resend from
 * the send history, PLI/FIR, REMB) and the plugin's on_rtp. libnice's own STUN parser is
 * not ours and not fuzzed here.
 * Decision: sb_peer only exists with an ICE agent, so this target links tests/fuzz/fake_ice.c
 * in place of src/peer/ice.c (the only libnice user): the same sb_ice_* functions with no
 * agent or socket, through which the target delivers datagrams and ICE events exactly where
 * libnice would. Everything above ice.h is the production code, on a real media loop.
 *
 * Input: the first byte picks the mode; the rest is datagrams (fuzz_common.h framing). Each
 * datagram's first byte is a flag byte (bit 0: SRTP/SRTCP-protect the rest with the remote
 * client's keys, when the mode has them, as a genuine client would; so RTP and RTCP reach the
 * code behind authentication); a zero-length datagram is an event.
 *   0  a new peer, no remote description yet (no DTLS endpoint). Event: ICE connects, then
 *      ICE fails.
 *   1  a peer with its remote description, DTLS server, ICE not connected. Events as 0.
 *   2  the same as DTLS client (it sends its ClientHello when ICE connects).
 *   3  a peer that is up (handshake with an in-memory client at init, kept across inputs;
 *      streams, SRTP sessions and stats reset per input). Event: the 20 ms media tick, 100 ms
 *      later each time (NACKs, PLIs, reports).
 *   4  a fresh peer (server, or client when bit 0 of byte/5 is set) and a genuine remote:
 *      the handshake runs through the demux with the input's datagrams injected. First
 *      event: ICE connects; later ones: a round of genuine traffic each way.
 * Invariants (abort = finding): DTLS never reaches the endpoint before ICE connects and at
 * most SB_PEER_EARLY_DTLS datagrams wait; only a handshake with the remote's key brings a
 * peer up, and then the remote holds the same keys (its SRTP reaches the plugin); an up peer
 * never closes, never fails DTLS and never hangs up media from these datagrams, and what it
 * answers never breaks the genuine remote; every datagram it sends is DTLS within the MTU or
 * SRTP/SRTCP that opens with the remote's keys (unless a replay) into RTP that parses or RTCP
 * that validates; every packet handed to the plugin parses and names a negotiated stream.
 *
 * With SB_FUZZ_SEED_DIR set, init writes seeds (STUN binding requests, genuine DTLS flights,
 * RTP/RTCP of each stream) into that folder (tests/fuzz/corpus/stun).
 * Thread: libFuzzer's thread posts each input to one media loop and waits (sb_loop_call_sync);
 * everything touching the peer runs there. Build (libFuzzer): scripts/fuzz.sh, or clang
 * -fsanitize=fuzzer,address,undefined -I src -I <builddir> tests/fuzz/fuzz_stun.c
 * tests/fuzz/fake_ice.c tests/fuzz/fuzz_common.c <builddir>/libsb.a $(pkg-config --libs ...) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "fake_ice.h"
#include "fuzz_common.h"
#include "fuzz_stun.h"
#include "loop/loop.h"
#include "peer/peer_internal.h"
#include "proto/demux.h"
#include "proto/rtcp.h"
#include "switchboard/rtp.h"
#include "proto/srtp.h"
#include "session/handle.h"
#include "session/handle_media.h"
#include "session/session.h"

#define FUZZ_SENT_MAX (SB_PEER_PKT_MAX + SB_SRTP_MAX_TRAILER_LEN)

/* Process-wide harness state; the loop thread touches the peers, the fuzzer thread only
 * waits for it. */
static struct {
    sb_loop_t *loop;
    sb_cert_t *cert_server, *cert_client; /* ours (the peer layer's) and the browser's */
    sb_ice_config_t ice_cfg;
    sb_session_t *session;
    sb_handle_t *handle;
    sb_peer_t *up;          /* mode 3, kept across inputs */
    fuzz_side_t up_remote;  /* its genuine remote */
    sb_peer_t *cur;         /* the peer being fed: the plugin acts on it */
    unsigned setup_media, hangup_media;
} fz;

/* ---- the negotiated streams ------------------------------------------------------------ */

/* Audio (opus, announced SSRC), video with three rid-simulcast layers learnt from mid/rid
 * and RTX, and single-layer H.264 with announced SSRCs; all sendrecv except the last. */
static unsigned fuzz_streams(sb_media_stream_t *s)
{
    memset(s, 0, 3 * sizeof(*s));
    s[0] = (sb_media_stream_t){.index = 0, .mid = "0", .kind = SB_MEDIA_AUDIO, .active = true,
                               .recv = true, .send = true, .pt = 111, .codec = "opus",
                               .clock_rate = 48000, .channels = 2, .layers = 1,
                               .remote_ssrc = {FUZZ_AUDIO_SSRC}, .local_ssrc = 0x1000,
                               .ext_mid = FUZZ_EXT_MID, .ext_audio_level = FUZZ_EXT_AUDIO_LEVEL};
    s[1] = (sb_media_stream_t){.index = 1, .mid = "1", .kind = SB_MEDIA_VIDEO, .active = true,
                               .recv = true, .send = true, .pt = 96, .rtx_pt = 97,
                               .codec = "VP8", .clock_rate = 90000, .layers = 3,
                               .rid = {"q", "h", "f"}, .local_ssrc = 0x2000,
                               .local_rtx_ssrc = 0x2001, .ext_mid = FUZZ_EXT_MID,
                               .ext_rid = FUZZ_EXT_RID, .ext_repaired_rid = FUZZ_EXT_RRID,
                               .ext_abs_send_time = FUZZ_EXT_ABS_SEND_TIME,
                               .ext_twcc = FUZZ_EXT_TWCC, .fb_nack = true, .fb_pli = true,
                               .fb_fir = true, .fb_remb = true, .fb_twcc = true};
    s[2] = (sb_media_stream_t){.index = 2, .mid = "2", .kind = SB_MEDIA_VIDEO, .active = true,
                               .recv = true, .send = false, .pt = 102, .rtx_pt = 103,
                               .codec = "H264", .clock_rate = 90000, .layers = 1,
                               .remote_ssrc = {FUZZ_H264_SSRC},
                               .remote_rtx_ssrc = {FUZZ_H264_RTX_SSRC},
                               .ext_mid = FUZZ_EXT_MID, .fb_nack = true, .fb_pli = true};
    return 3;
}

/* ---- the plugin: an echo, so the send path, its history and NACKs are reached ---------- */

static int fuzz_plugin_init(const sb_core_api_t *core, const char *dir)
{
    (void)core;
    (void)dir;
    return 0;
}

static int fuzz_plugin_create(sb_plugin_handle_t *h)
{
    h->plugin_data = NULL;
    return 0;
}

static sb_plugin_result_t fuzz_plugin_message(sb_plugin_handle_t *h, const char *tr,
                                              json_t *body, json_t *jsep)
{
    (void)h;
    (void)tr;
    (void)body;
    (void)jsep;
    return sb_plugin_ok(NULL);
}

static void fuzz_plugin_destroy(sb_plugin_handle_t *h)
{
    (void)h;
}

static void fuzz_plugin_setup_media(sb_plugin_handle_t *h)
{
    (void)h;
    fz.setup_media++;
}

static void fuzz_plugin_hangup_media(sb_plugin_handle_t *h)
{
    (void)h;
    fz.hangup_media++;
}

static void fuzz_plugin_on_rtp(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt)
{
    (void)h;
    sb_peer_t *p = fz.cur;
    FUZZ_CHECK(p != NULL && p->state == SB_PEER_UP);
    FUZZ_CHECK(pkt->stream >= p->streams && pkt->stream < p->streams + p->nstreams);
    FUZZ_CHECK(pkt->layer < pkt->stream->layers && pkt->data && pkt->len >= 12);
    sb_rtp_view_t v;
    FUZZ_CHECK(sb_rtp_parse(pkt->data, pkt->len, &v) == 0 && v.ssrc == pkt->rtp.ssrc);
    /* Only the m-line's negotiated payload type reaches a plugin (RTX arrives unwrapped):
     * the core drops any other, even from the authenticated client. */
    FUZZ_CHECK(pkt->rtp.pt == pkt->stream->pt);
    unsigned stream = (unsigned)(pkt->stream - p->streams);
    if (!pkt->stream->send)
        return;
    sb_rtp_set_ssrc(pkt->data, pkt->stream->local_ssrc);
    if (pkt->stream->kind == SB_MEDIA_VIDEO)
        sb_peer_forward_rtp(p, stream, pkt->data, pkt->len, pkt->len, pkt);
    else
        sb_peer_send_rtp(p, stream, pkt->data, pkt->len);
}

static void fuzz_plugin_keyframe(sb_plugin_handle_t *h, unsigned stream)
{
    (void)h;
    FUZZ_CHECK(fz.cur && stream < fz.cur->nstreams && fz.cur->streams[stream].send);
    sb_peer_request_keyframe(fz.cur, stream, 0);
}

static void fuzz_plugin_bitrate(sb_plugin_handle_t *h, uint32_t bps)
{
    (void)h;
    if (fz.cur)
        sb_peer_send_remb(fz.cur, bps / 2);
}

static const sb_plugin_t fuzz_plugin = {
    SB_PLUGIN_HEADER,
    .package = "fuzz.stun",
    .init = fuzz_plugin_init,
    .create_handle = fuzz_plugin_create,
    .handle_message = fuzz_plugin_message,
    .destroy_handle = fuzz_plugin_destroy,
    .setup_media = fuzz_plugin_setup_media,
    .hangup_media = fuzz_plugin_hangup_media,
    .on_rtp = fuzz_plugin_on_rtp,
    .on_keyframe_request = fuzz_plugin_keyframe,
    .on_bitrate_estimate = fuzz_plugin_bitrate,
};

/* ---- peers ------------------------------------------------------------------------------ */

/* A peer for the harness's handle, on the loop (we are on it). */
static sb_peer_t *fuzz_peer_new(bool with_remote, sb_dtls_role_t role)
{
    sb_peer_t *p = NULL;
    FUZZ_CHECK(sb_peer_new(fz.loop, sb_handle_media_owner(fz.handle), false, &p) == 0);
    if (with_remote) {
        sb_peer_remote_t r = {.ufrag = "remo", .pwd = "remotepasswordremotepw", .our_role = role};
        fuzz_split_fp(sb_cert_fingerprint(fz.cert_client), r.fp_hash, sizeof(r.fp_hash),
                      r.fp_hex, sizeof(r.fp_hex));
        FUZZ_CHECK(sb_peer_set_remote(p, &r) == 0);
    }
    sb_media_stream_t streams[3];
    sb_peer_set_streams(p, streams, fuzz_streams(streams));
    return p;
}

/* Keys as the other end holds them. */
static void fuzz_keys_mirror(const sb_srtp_keys_t *k, sb_srtp_keys_t *out)
{
    *out = *k;
    memcpy(out->local_key, k->remote_key, sizeof(out->local_key));
    memcpy(out->remote_key, k->local_key, sizeof(out->remote_key));
    memcpy(out->local_salt, k->remote_salt, sizeof(out->local_salt));
    memcpy(out->remote_salt, k->local_salt, sizeof(out->remote_salt));
}

/* One datagram from the remote, in an exact-size heap copy (so ASan sees any read or write
 * past it), protected first when asked and the remote has keys. */
static void fuzz_deliver_one(sb_peer_t *p, const uint8_t *d, size_t len, sb_srtp_session_t *out)
{
    uint8_t tmp[FUZZ_DGRAM_MAX + SB_SRTP_MAX_TRAILER_LEN];
    size_t n = len < FUZZ_DGRAM_MAX ? len : FUZZ_DGRAM_MAX;
    memcpy(tmp, d, n);
    if (out) {
        sb_pkt_kind_t kind = sb_demux_classify(tmp, n);
        size_t m = n;
        int rc = kind == SB_PKT_RTP    ? sb_srtp_protect_rtp(out, tmp, &m, sizeof(tmp))
                 : kind == SB_PKT_RTCP ? sb_srtp_protect_rtcp(out, tmp, &m, sizeof(tmp))
                                       : -1;
        if (rc == 0)
            n = m;
    }
    uint8_t *exact = malloc(n ? n : 1);
    FUZZ_CHECK(exact != NULL);
    memcpy(exact, tmp, n);
    fake_ice_recv(p->ice, exact, n);
    free(exact);
}

/* Before ICE has a pair, no DTLS reaches the endpoint: it waits, bounded. */
static void fuzz_check_early(const sb_peer_t *p)
{
    FUZZ_CHECK(p->n_early_dtls <= SB_PEER_EARLY_DTLS);
    if (!sb_ice_is_connected(p->ice) && p->dtls) {
        FUZZ_CHECK(sb_dtls_get_state(p->dtls) == SB_DTLS_NEW ||
                   p->state == SB_PEER_CLOSING);
    }
    if (sb_ice_is_connected(p->ice) || p->state == SB_PEER_CLOSING)
        FUZZ_CHECK(p->n_early_dtls == 0);
}

/* ---- what the peer sends ---------------------------------------------------------------- */

/* A copy of one SRTP/SRTCP datagram we sent, opened with the remote's inbound session:
 * when it opens (a replay does not), the plaintext must parse. */
static void fuzz_check_srtp_sent(const uint8_t *d, size_t len, sb_srtp_session_t *in)
{
    uint8_t buf[FUZZ_DGRAM_MAX];
    size_t n = len;
    memcpy(buf, d, len);
    if (sb_demux_classify(buf, n) == SB_PKT_RTCP) {
        if (in && sb_srtp_unprotect_rtcp(in, buf, &n) == 0)
            FUZZ_CHECK(sb_rtcp_validate(buf, n) == 0);
        return;
    }
    sb_rtp_view_t v;
    if (in && sb_srtp_unprotect_rtp(in, buf, &n) == 0)
        FUZZ_CHECK(sb_rtp_parse(buf, n, &v) == 0);
}

/* Everything the peer sent since the last call: DTLS within the MTU goes to the remote's
 * endpoint (when there is one), the rest must be SRTP/SRTCP. */
static void fuzz_drain_sent(sb_peer_t *p, fuzz_side_t *remote, sb_srtp_session_t *in)
{
    fuzz_queue_t *q = fake_ice_sent(p->ice);
    FUZZ_CHECK(q->max_len <= FUZZ_SENT_MAX);
    for (unsigned i = 0; i < q->n; i++) {
        const uint8_t *d = q->q[i].data;
        size_t len = q->q[i].len;
        sb_pkt_kind_t kind = sb_demux_classify(d, len);
        if (kind == SB_PKT_DTLS) {
            FUZZ_CHECK(len <= SB_DTLS_DEFAULT_MTU);
            if (remote && remote->d)
                FUZZ_CHECK(sb_dtls_handle(remote->d, d, len) != SB_EINVAL);
        } else {
            FUZZ_CHECK(kind == SB_PKT_RTP || kind == SB_PKT_RTCP);
            FUZZ_CHECK(p->state == SB_PEER_UP || p->state == SB_PEER_CLOSING);
            fuzz_check_srtp_sent(d, len, in);
        }
    }
    q->n = 0;
}

/* What the remote's endpoint sent goes to the peer (through the demux). */
static void fuzz_remote_to_peer(fuzz_side_t *remote, sb_peer_t *p)
{
    static fuzz_queue_t snap;
    snap.n = remote->out.n;
    memcpy(snap.q, remote->out.q, sizeof(snap.q[0]) * snap.n);
    remote->out.n = 0;
    for (unsigned i = 0; i < snap.n; i++)
        fuzz_deliver_one(p, snap.q[i].data, snap.q[i].len, NULL);
}

/* Genuine traffic both ways for at most `rounds` rounds, until the remote has no answer. */
static void fuzz_peer_pump(sb_peer_t *p, fuzz_side_t *remote, unsigned rounds)
{
    fuzz_drain_sent(p, remote, NULL);
    for (unsigned r = 0; r < rounds && remote->out.n; r++) {
        fuzz_remote_to_peer(remote, p);
        fuzz_drain_sent(p, remote, NULL);
    }
}

/* Session events (hangup, media, slowlink, webrtcup) are not this target's subject. */
static void fuzz_drop_events(void)
{
    json_t *ev;
    while ((ev = sb_session_take_events(fz.session, 64)) != NULL)
        json_decref(ev);
}

/* ---- modes 0-2: a fresh peer that can never come up ------------------------------------ */

static void fuzz_fresh(uint8_t mode, fuzz_reader_t *r)
{
    sb_peer_t *p = fuzz_peer_new(mode != FUZZ_NEW,
                                 mode == FUZZ_CONNECTING_CLIENT ? SB_DTLS_CLIENT : SB_DTLS_SERVER);
    fz.cur = p;
    unsigned events = 0;
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0 && events++ == 0)
            fake_ice_connect(p->ice);
        else if (len == 0)
            fake_ice_fail(p->ice);
        else
            fuzz_deliver_one(p, d + 1, len - 1, NULL);
        fuzz_check_early(p);
        fuzz_drain_sent(p, NULL, NULL);
        FUZZ_CHECK(p->state != SB_PEER_UP); /* nobody here holds the remote's key */
    }
    sb_peer_close(p, NULL);
    fz.cur = NULL;
}

/* ---- mode 3: the peer that is up ------------------------------------------------------- */

static struct {
    sb_srtp_session_t *out, *in; /* the remote's: protects what it sends, opens ours */
} fz_remote_srtp;

static void fuzz_srtp_new(const sb_srtp_keys_t *k, sb_srtp_direction_t dir,
                          sb_srtp_session_t **s)
{
    sb_srtp_session_free(*s);
    *s = NULL;
    FUZZ_CHECK(sb_srtp_session_new(k, dir, s) == 0);
}

/* Everything an input could have changed goes back to how the handshake left it. */
static void fuzz_up_reset(sb_peer_t *p)
{
    sb_srtp_keys_t mine;
    fuzz_keys_mirror(&fz.up_remote.keys, &mine);
    fuzz_srtp_new(&mine, SB_SRTP_INBOUND, &p->srtp_in);
    fuzz_srtp_new(&mine, SB_SRTP_OUTBOUND, &p->srtp_out);
    fuzz_srtp_new(&fz.up_remote.keys, SB_SRTP_OUTBOUND, &fz_remote_srtp.out);
    fuzz_srtp_new(&fz.up_remote.keys, SB_SRTP_INBOUND, &fz_remote_srtp.in);
    sb_media_stream_t streams[3];
    sb_peer_set_streams(p, streams, fuzz_streams(streams));
    memset(&p->stats, 0, sizeof(p->stats));
    p->remb_bps = 0;
    fake_ice_sent(p->ice)->n = 0;
}

static void fuzz_up_check(const sb_peer_t *p, unsigned hangups_before)
{
    FUZZ_CHECK(p->state == SB_PEER_UP && fz.hangup_media == hangups_before);
    FUZZ_CHECK(sb_dtls_get_state(p->dtls) == SB_DTLS_CONNECTED);
    FUZZ_CHECK(sb_dtls_get_state(fz.up_remote.d) == SB_DTLS_CONNECTED);
    FUZZ_CHECK(fz.up_remote.n_failed + fz.up_remote.n_closed == 0);
    FUZZ_CHECK(p->nssrcs <= SB_PEER_MAX_SSRCS && p->n_early_dtls == 0);
}

static void fuzz_up(fuzz_reader_t *r)
{
    sb_peer_t *p = fz.up;
    fz.cur = p;
    fuzz_up_reset(p);
    unsigned hangups = fz.hangup_media;
    int64_t now = sb_now_us();
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0) {
            now += 100000;
            sb_peer_media_tick(p, now);
        } else {
            fuzz_deliver_one(p, d + 1, len - 1,
                             d[0] & FUZZ_FLAG_PROTECT ? fz_remote_srtp.out : NULL);
        }
        fuzz_drain_sent(p, &fz.up_remote, fz_remote_srtp.in);
        fuzz_peer_pump(p, &fz.up_remote, 4); /* what the remote's DTLS answered, if anything */
        fuzz_up_check(p, hangups);
    }
    fz.cur = NULL;
}

/* ---- mode 4: a handshake through the demux, with the input injected --------------------- */

/* The remote's media reaches the plugin: its keys are the peer's. */
static void fuzz_check_remote_media(sb_peer_t *p, const fuzz_side_t *remote)
{
    sb_srtp_session_t *out = NULL;
    fuzz_srtp_new(&remote->keys, SB_SRTP_OUTBOUND, &out);
    uint8_t pkt[64 + SB_SRTP_MAX_TRAILER_LEN] = {0x80, 111, 0x12, 0x34, 0, 0, 0, 1};
    pkt[8] = FUZZ_AUDIO_SSRC >> 24;
    pkt[9] = (FUZZ_AUDIO_SSRC >> 16) & 0xff;
    pkt[10] = (FUZZ_AUDIO_SSRC >> 8) & 0xff;
    pkt[11] = FUZZ_AUDIO_SSRC & 0xff;
    size_t n = 64;
    FUZZ_CHECK(sb_srtp_protect_rtp(out, pkt, &n, sizeof(pkt)) == 0);
    uint64_t rtp_before = p->stats.rtp_in, fail_before = p->stats.srtp_fail;
    fuzz_deliver_one(p, pkt, n, NULL);
    FUZZ_CHECK(p->stats.rtp_in == rtp_before + 1 && p->stats.srtp_fail == fail_before);
    sb_srtp_session_free(out);
}

static void fuzz_inject(uint8_t first, fuzz_reader_t *r)
{
    static fuzz_side_t remote;
    sb_dtls_role_t role = (first / FUZZ_MODES) & 1 ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
    unsigned connect_at = 1 + ((first / FUZZ_MODES) >> 1 & 1);
    sb_peer_t *p = fuzz_peer_new(true, role);
    fuzz_side_make(&remote, fz.cert_client, fz.cert_server,
                   role == SB_DTLS_SERVER ? SB_DTLS_CLIENT : SB_DTLS_SERVER);
    FUZZ_CHECK(sb_dtls_start(remote.d) == 0);
    fz.cur = p;
    unsigned events = 0;
    const uint8_t *d;
    size_t len;
    while (fuzz_next_datagram(r, &d, &len)) {
        if (len == 0 && ++events == connect_at)
            fake_ice_connect(p->ice);
        if (len == 0)
            fuzz_peer_pump(p, &remote, 1);
        else
            fuzz_deliver_one(p, d + 1, len - 1, NULL);
        fuzz_check_early(p);
        fuzz_drain_sent(p, &remote, NULL);
    }
    fake_ice_connect(p->ice);
    fuzz_peer_pump(p, &remote, 20);
    fuzz_check_early(p);
    if (p->state == SB_PEER_UP) {
        FUZZ_CHECK(remote.n_connected == 1 && sb_dtls_get_state(remote.d) == SB_DTLS_CONNECTED);
        FUZZ_CHECK(remote.keys.profile == p->profile);
        fuzz_check_remote_media(p, &remote);
    }
    sb_peer_close(p, NULL);
    fuzz_side_free(&remote);
    fz.cur = NULL;
}

/* ---- set-up and dispatch ---------------------------------------------------------------- */

typedef struct fuzz_job {
    const uint8_t *data;
    size_t size;
} fuzz_job_t;

static void fuzz_run_on_loop(void *arg)
{
    const fuzz_job_t *j = arg;
    fuzz_reader_t r = {.p = j->data + 1, .left = j->size - 1};
    uint8_t mode = j->data[0] % FUZZ_MODES;
    if (mode == FUZZ_UP)
        fuzz_up(&r);
    else if (mode == FUZZ_INJECT)
        fuzz_inject(j->data[0], &r);
    else
        fuzz_fresh(mode, &r);
    fuzz_drop_events();
}

/* The peer of mode 3: a real handshake with an in-memory client, through the demux. */
static void fuzz_setup_on_loop(void *arg)
{
    (void)arg;
    fz.up = fuzz_peer_new(true, SB_DTLS_SERVER);
    fuzz_side_make(&fz.up_remote, fz.cert_client, fz.cert_server, SB_DTLS_CLIENT);
    fz.cur = fz.up;
    fake_ice_connect(fz.up->ice);
    FUZZ_CHECK(sb_dtls_start(fz.up_remote.d) == 0);
    fuzz_peer_pump(fz.up, &fz.up_remote, 20);
    FUZZ_CHECK(fz.up->state == SB_PEER_UP && fz.up_remote.n_connected == 1);
    FUZZ_CHECK(fz.setup_media == 1);
    fz.cur = NULL;
    fuzz_drop_events();
}

/* A closed peer is freed by its loop once the closing call has unwound (peer.h): wait for
 * that (only the kept peer stays bound to the loop), so every input frees what it took and
 * the next one starts from the same state. */
static void fuzz_wait_freed(void)
{
    for (int i = 0; i < 20000 && sb_loop_bound_count(fz.loop) > 1; i++)
        g_usleep(50);
    FUZZ_CHECK(sb_loop_bound_count(fz.loop) == 1);
}

static void fuzz_setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    sb_log_set_level(SB_LOG_ERROR);
    FUZZ_CHECK(sb_srtp_init() == 0);
    FUZZ_CHECK(sb_cert_generate(&fz.cert_server) == 0 && sb_cert_generate(&fz.cert_client) == 0);
    sb_peer_globals_set(&(sb_peer_globals_t){.cert = fz.cert_server, .ice = &fz.ice_cfg});
    FUZZ_CHECK(sb_loops_start(1) == 0);
    fz.loop = sb_loop_get(0);
    sb_sessions_init(&(sb_sessions_config_t){.max_sessions = 4, .max_handles_per_session = 4,
                                             .event_queue_max = 64});
    FUZZ_CHECK(sb_session_create(NULL, &fz.session) == 0);
    FUZZ_CHECK(sb_handle_create(fz.session, &fuzz_plugin, NULL, &fz.handle) == 0);
    FUZZ_CHECK(sb_loop_call_sync(fz.loop, fuzz_setup_on_loop, NULL) == 0);
    const char *dir = getenv("SB_FUZZ_SEED_DIR");
    if (dir)
        fuzz_stun_write_seeds(dir, fz.cert_server, fz.cert_client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size < 1)
        return 0;
    fuzz_job_t j = {.data = data, .size = size};
    FUZZ_CHECK(sb_loop_call_sync(fz.loop, fuzz_run_on_loop, &j) == 0);
    fuzz_wait_freed();
    return 0;
}
