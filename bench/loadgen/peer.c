/* A lightweight WebRTC peer for the load generator, made of Switchboard's own units: ICE
 * (peer/ice.h, libnice), DTLS-SRTP (proto/dtls.h with a process-wide certificate), SRTP
 * (proto/srtp.h) and the SDP offer/answer unit (proto/negotiate.h), which builds our offers as
 * a browser would (setup:actpass, BUNDLE, rtcp-mux, a=ssrc lines, all candidates inline) and
 * answers the server's offers (setup:active, recvonly). Data channels: an m=application in
 * our offer (or accepted in the server's), SCTP over DTLS application data once DTLS is up.
 *
 * It does not do trickle for its own candidates (they are all in the SDP, aiortc-style),
 * simulcast, retransmissions or bandwidth estimation. Transport-wide CC as a browser (unless
 * --no-twcc*): a publisher numbers every packet it sends and announces RTX (never sent: the
 * server offers subscribers RTX only then, and probes on it); a subscriber takes the extension,
 * transport-cc and RTX in the server's offer and sends feedback every 50 ms, so the server's
 * estimator runs as with a browser. RTP/RTCP is in peer_rtp.c, data channels in data.c.
 *
 * Threads: see peer_internal.h. The control thread creates a peer with lg_peer_new
 * (sb_loop_call_sync), writes SDP on its own thread and posts the remote parameters; every
 * callback and the teardown run on the peer's loop. */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "bench/loadgen/peer_internal.h"
#include "loop/subctx.h"
#include "proto/cert.h"
#include "proto/demux.h"
#include "proto/negotiate.h"
#include "proto/sctp.h"

#define LG_PT_OPUS 111
#define LG_PT_VP8 96
#define LG_PT_RTX 97 /* announced with transport-wide CC, never sent: see lg_peer_offer */
#define LG_MAX_MESSAGE (256 << 10) /* our a=max-message-size (sctp.h's default) */

static sb_cert_t *lg_cert;
static sb_ice_config_t lg_ice_cfg;
static char *lg_allow_buf;
static const char *lg_allow[16];

int lg_peer_global_init(void);
void lg_peer_global_deinit(void);

int lg_peer_global_init(void)
{
    int rc = sb_srtp_init();
    if (rc == 0 && lg_cfg_has_data())
        rc = sb_sctp_global_init();
    if (rc == 0)
        rc = sb_cert_generate(&lg_cert);
    if (rc < 0)
        return rc;
    memset(&lg_ice_cfg, 0, sizeof(lg_ice_cfg));
    if (lg_cfg.ice_allow && *lg_cfg.ice_allow) {
        lg_allow_buf = sb_strdup(lg_cfg.ice_allow);
        unsigned n = 0;
        for (char *save = NULL, *t = strtok_r(lg_allow_buf, ", ", &save); t && n < 15;
             t = strtok_r(NULL, ", ", &save))
            lg_allow[n++] = t;
        lg_allow[n] = NULL;
        lg_ice_cfg.allow = lg_allow;
    }
    lg_ice_cfg.connect_timeout_ms = 30000;
    return 0;
}

void lg_peer_global_deinit(void)
{
    sb_cert_free(lg_cert);
    sb_dtls_global_deinit();
    sb_srtp_deinit();
    if (lg_cfg_has_data())
        sb_sctp_global_deinit();
    sb_free(lg_allow_buf);
}

int lg_peer_transport_send(lg_peer_t *p, const uint8_t *buf, size_t len)
{
    if (!p->ice || p->closing)
        return SB_ESTATE;
    return sb_ice_send(p->ice, buf, len);
}

/* ---- DTLS ---- */

static bool lg_peer_dtls_fire(void *arg);

static void lg_peer_dtls_rearm(lg_peer_t *p)
{
    if (p->dtls_timer)
        sb_loop_timer_remove(p->loop, p->dtls_timer);
    p->dtls_timer = 0;
    if (!p->dtls || p->closing || p->failed)
        return;
    int64_t now = sb_now_us();
    int64_t due = sb_dtls_next_timeout_us(p->dtls, now);
    if (due < 0)
        return;
    int64_t ms = (due - now + 999) / 1000;
    p->dtls_timer = sb_loop_timer_add(p->loop, ms < 1 ? 1 : (unsigned)ms, lg_peer_dtls_fire, p);
}

static bool lg_peer_dtls_fire(void *arg)
{
    lg_peer_t *p = arg;
    p->dtls_timer = 0;
    if (p->dtls && !p->closing) {
        sb_dtls_handle_timeout(p->dtls, sb_now_us());
        lg_peer_dtls_rearm(p);
    }
    return false;
}

static void lg_peer_dtls_send(void *ctx, const uint8_t *d, size_t len)
{
    lg_peer_transport_send(ctx, d, len);
}

static void lg_peer_dtls_connected(void *ctx, const sb_srtp_keys_t *keys)
{
    lg_peer_t *p = ctx;
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    if (sb_srtp_session_new(keys, SB_SRTP_INBOUND, &p->srtp_in) < 0 ||
        sb_srtp_session_new(keys, SB_SRTP_OUTBOUND, &p->srtp_out) < 0) {
        LG_CTR_ADD(c->dtls_fail, 1);
        p->failed = true;
        return;
    }
    LG_CTR_ADD(c->dtls_up, 1);
    p->up = true;
    int64_t now = sb_now_us();
    SB_DEBUG("loadgen", "peer %u: DTLS up", p->tag);
    atomic_store(&p->up_us, now);
    lg_peer_rtp_start(p, now);
    /* Its first packets leave after sb_dtls_handle returns (lg_peer_ice_recv flushes). */
    if (p->want_data && !p->data)
        p->data = lg_data_start(p, sb_dtls_get_role(p->dtls) == SB_DTLS_CLIENT);
}

static void lg_peer_dtls_failed(void *ctx, const char *reason)
{
    lg_peer_t *p = ctx;
    if (!p->failed)
        LG_CTR_ADD(lg_loopctx_counters(p->lc)->dtls_fail, 1);
    p->failed = true;
    SB_WARN("loadgen", "peer %u: DTLS failed: %s", p->tag, reason);
}

static void lg_peer_dtls_closed(void *ctx)
{
    lg_peer_t *p = ctx;
    p->up = false;
}

/* DTLS application data: an SCTP packet. */
static void lg_peer_dtls_data(void *ctx, const uint8_t *data, size_t len)
{
    lg_peer_t *p = ctx;
    if (p->data)
        lg_data_input(p->data, data, len);
}

static const sb_dtls_ops_t lg_peer_dtls_ops = {
    .send = lg_peer_dtls_send,
    .on_connected = lg_peer_dtls_connected,
    .on_failed = lg_peer_dtls_failed,
    .on_closed = lg_peer_dtls_closed,
    .on_data = lg_peer_dtls_data,
};

/* ---- ICE ---- */

static void lg_peer_ice_candidate(void *ctx, const char *cand)
{
    lg_peer_t *p = ctx;
    if (p->creating && p->n_sdp_cands < LG_MAX_CANDS)
        p->sdp_cands[p->n_sdp_cands++] = sb_strdup(cand);
}

static void lg_peer_ice_gathered(void *ctx)
{
    lg_peer_t *p = ctx;
    if (p->creating)
        p->gathered_at_creation = true;
}

static void lg_peer_ice_connected(void *ctx)
{
    lg_peer_t *p = ctx;
    p->ice_up = true;
    atomic_store(&p->ice_up_us, sb_now_us());
    LG_CTR_ADD(lg_loopctx_counters(p->lc)->ice_up, 1);
    if (p->dtls) {
        sb_dtls_start(p->dtls);
        lg_peer_dtls_rearm(p);
    }
}

static void lg_peer_ice_failed(void *ctx, const char *reason)
{
    lg_peer_t *p = ctx;
    if (!p->failed)
        LG_CTR_ADD(lg_loopctx_counters(p->lc)->ice_fail, 1);
    p->failed = true;
    SB_WARN("loadgen", "peer %u: ICE failed: %s", p->tag, reason);
}

static void lg_peer_ice_recv(void *ctx, uint8_t *buf, size_t len)
{
    lg_peer_t *p = ctx;
    if (p->closing)
        return;
    switch (sb_demux_classify(buf, len)) {
    case SB_PKT_DTLS:
        if (p->dtls) {
            sb_dtls_handle(p->dtls, buf, len);
            lg_peer_dtls_rearm(p);
            if (p->data)
                lg_data_flush(p->data);
        }
        break;
    case SB_PKT_RTP:
        if (p->up)
            lg_peer_on_rtp(p, buf, len);
        break;
    case SB_PKT_RTCP:
        if (p->up)
            lg_peer_on_rtcp(p, buf, len);
        break;
    default:
        break;
    }
}

static const sb_ice_ops_t lg_peer_ice_ops = {
    .on_local_candidate = lg_peer_ice_candidate,
    .on_gathering_done = lg_peer_ice_gathered,
    .on_connected = lg_peer_ice_connected,
    .on_failed = lg_peer_ice_failed,
    .on_recv = lg_peer_ice_recv,
};

/* ---- creation and teardown ---- */

static void lg_peer_create_on_loop(void *arg)
{
    lg_peer_t *p = arg;
    p->lc = lg_loopctx_current();
    p->creating = true;
    bool controlling = p->role != LG_PEER_SUBSCRIBER;
    sb_subctx_sched_t *sched = sb_loop_sched(p->loop);
    int rc = sched ? sb_ice_new_in(sched, sb_loop_context(p->loop), &lg_ice_cfg, controlling,
                                   &lg_peer_ice_ops, p, &p->ice)
                   : sb_ice_new(sb_loop_context(p->loop), &lg_ice_cfg, controlling,
                                &lg_peer_ice_ops, p, &p->ice);
    if (rc == 0)
        rc = sb_ice_gather(p->ice);
    p->creating = false;
    if (rc < 0) {
        if (p->ice)
            sb_ice_free(p->ice);
        p->ice = NULL;
        return;
    }
    const char *u, *w;
    sb_ice_local_credentials(p->ice, &u, &w);
    snprintf(p->ufrag, sizeof(p->ufrag), "%s", u);
    snprintf(p->pwd, sizeof(p->pwd), "%s", w);
    lg_loopctx_add_peer(p->lc, p);
}

static uint32_t lg_rand32(void)
{
    uint32_t v = 0;
    while (!v)
        v = g_random_int();
    return v;
}

lg_peer_t *lg_peer_new(unsigned loop, lg_peer_role_t role, uint32_t tag)
{
    lg_peer_t *p = SB_NEW(lg_peer_t);
    p->role = role;
    p->tag = tag;
    p->loop = sb_loop_get(loop % sb_loops_count());
    p->rtcp_ssrc = lg_rand32();
    p->rtx_ssrc = lg_rand32();
    p->rx_fd = -1;
    p->media = !lg_cfg_data_only();
    p->want_data = lg_cfg_has_data();
    if (role != LG_PEER_SUBSCRIBER && p->media) {
        p->send_audio = p->send_video = !lg_cfg.idle;
        p->audio = (lg_rtpgen_t){.ssrc = lg_rand32(),
                                 .pt = LG_PT_OPUS,
                                 .seq = (uint16_t)g_random_int(),
                                 .ts = g_random_int(),
                                 .tag = tag};
        p->video = (lg_rtpgen_t){.ssrc = lg_rand32(),
                                 .pt = LG_PT_VP8,
                                 .seq = (uint16_t)g_random_int(),
                                 .ts = g_random_int(),
                                 .picture_id = (uint16_t)(g_random_int() & 0x7fff),
                                 .tag = tag};
        p->vp8_pt[0] = LG_PT_VP8;
    }
    sb_loop_call_sync(p->loop, lg_peer_create_on_loop, p);
    if (!p->ice) {
        for (unsigned i = 0; i < p->n_sdp_cands; i++)
            sb_free(p->sdp_cands[i]);
        sb_free(p);
        return NULL;
    }
    return p;
}

static void lg_peer_close_on_loop(void *arg)
{
    lg_peer_t *p = arg;
    lg_data_free(p->data); /* its ABORT goes out through DTLS, before close_notify */
    p->data = NULL;
    p->closing = true;
    lg_loopctx_remove_peer(p->lc, p);
    if (p->dtls_timer)
        sb_loop_timer_remove(p->loop, p->dtls_timer);
    if (p->dtls) {
        if (p->up)
            sb_dtls_close(p->dtls);
        sb_dtls_free(p->dtls);
    }
    sb_srtp_session_free(p->srtp_in);
    sb_srtp_session_free(p->srtp_out);
    sb_twcc_recv_free(p->twcc);
    sb_ice_free(p->ice);
    for (unsigned i = 0; i < p->n_sdp_cands; i++)
        sb_free(p->sdp_cands[i]);
    sb_free(p->paced);
    sb_free(p);
}

void lg_peer_close(lg_peer_t *p)
{
    if (!p)
        return;
    sb_sdp_free(p->offer_model);
    p->offer_model = NULL;
    if (sb_loop_post(p->loop, lg_peer_close_on_loop, p) < 0)
        SB_WARN("loadgen", "peer %u: loop gone, leaking it", p->tag);
}

/* ---- remote parameters ---- */

typedef struct lg_remote_job {
    lg_peer_t *p;
    char ufrag[257], pwd[257], fp_hash[24], fp[200];
    sb_dtls_role_t role;
    char *cands[LG_MAX_CANDS * 2];
    unsigned ncands;
    bool eoc;
    uint8_t vp8_pt[4];
    uint8_t twcc_id; /* transport-wide CC extension id, with transport-cc feedback; 0: none */
    bool no_audio, no_video;
    bool data; /* a data m-line was accepted */
    uint16_t data_port;
    uint32_t data_max_message;
} lg_remote_job_t;

static const char *lg_profiles(void)
{
    if (!strcmp(lg_cfg.srtp, "gcm"))
        return "SRTP_AEAD_AES_128_GCM";
    if (!strcmp(lg_cfg.srtp, "cm"))
        return "SRTP_AES128_CM_SHA1_80";
    return SB_DTLS_DEFAULT_PROFILES;
}

static void lg_peer_remote_on_loop(void *arg)
{
    lg_remote_job_t *j = arg;
    lg_peer_t *p = j->p;
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    if (j->vp8_pt[0])
        memcpy(p->vp8_pt, j->vp8_pt, sizeof(p->vp8_pt));
    p->twcc_id = j->twcc_id;
    if (p->twcc_id && p->role != LG_PEER_PUBLISHER && lg_cfg.twcc_feedback && !p->twcc)
        p->twcc = sb_twcc_recv_new();
    if (j->no_audio)
        p->send_audio = false;
    if (j->no_video)
        p->send_video = false;
    p->want_data = p->want_data && j->data;
    p->data_port = j->data_port;
    p->data_max_message = j->data_max_message;
    if (sb_ice_set_remote_credentials(p->ice, j->ufrag, j->pwd) < 0 ||
        sb_dtls_new(lg_cert, j->role, j->fp_hash, j->fp, &lg_peer_dtls_ops, p, &p->dtls) < 0) {
        LG_CTR_ADD(c->dtls_fail, 1);
        p->failed = true;
    } else {
        sb_dtls_set_profiles(p->dtls, lg_profiles());
        for (unsigned i = 0; i < j->ncands; i++)
            sb_ice_add_remote_candidate(p->ice, j->cands[i]);
        if (j->eoc)
            sb_ice_remote_gathering_done(p->ice);
    }
    for (unsigned i = 0; i < j->ncands; i++)
        sb_free(j->cands[i]);
    sb_free(j);
}

/* Fill a job from a negotiation result and the remote description holding the transport. */
static lg_remote_job_t *lg_remote_job(lg_peer_t *p, const sb_negotiate_result_t *res,
                                      const sb_sdp_t *remote)
{
    lg_remote_job_t *j = SB_NEW(lg_remote_job_t);
    j->p = p;
    snprintf(j->ufrag, sizeof(j->ufrag), "%s", res->remote.ice_ufrag);
    snprintf(j->pwd, sizeof(j->pwd), "%s", res->remote.ice_pwd);
    snprintf(j->fp_hash, sizeof(j->fp_hash), "%s", res->remote.fingerprint_hash);
    snprintf(j->fp, sizeof(j->fp), "%s", res->remote.fingerprint);
    j->role = res->local_setup == SB_SDP_SETUP_ACTIVE ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
    if (res->remote.index < remote->n_media) {
        const sb_sdp_media_t *m = &remote->media[res->remote.index];
        for (size_t i = 0; i < m->n_candidates && j->ncands < LG_MAX_CANDS * 2; i++)
            j->cands[j->ncands++] = sb_strdup(m->candidates[i]);
        j->eoc = m->end_of_candidates || remote->end_of_candidates;
    }
    unsigned nv = 0;
    bool audio = false, video = false;
    for (size_t i = 0; i < res->n_media; i++) {
        const sb_negotiate_media_t *m = &res->media[i];
        if (!m->accepted)
            continue;
        if (m->kind == SB_SDP_KIND_AUDIO)
            audio = true;
        if (m->kind == SB_SDP_KIND_VIDEO)
            video = true;
        if (m->kind == SB_SDP_KIND_APPLICATION && !j->data) {
            j->data = true;
            j->data_port = m->sctp_port;
            j->data_max_message = m->max_message_size;
        }
        if (m->codec == SB_CODEC_VP8 && m->pt >= 0 && nv < 4)
            j->vp8_pt[nv++] = (uint8_t)m->pt;
        /* One id per BUNDLE transport: the first m-line with the extension and feedback. */
        if (!j->twcc_id && m->ext[SB_HDREXT_TWCC] && (m->fb & SB_NEGOTIATE_FB_TWCC))
            j->twcc_id = m->ext[SB_HDREXT_TWCC];
    }
    j->no_audio = !audio;
    j->no_video = !video;
    return j;
}

/* Our ICE/DTLS side for the negotiation unit (borrows p's strings). */
static void lg_peer_local(lg_peer_t *p, sb_negotiate_local_t *l)
{
    memset(l, 0, sizeof(*l));
    l->ice_ufrag = p->ufrag;
    l->ice_pwd = p->pwd;
    l->fingerprint = sb_cert_fingerprint(lg_cert);
    l->candidates = (const char *const *)p->sdp_cands;
    l->n_candidates = p->n_sdp_cands;
    l->end_of_candidates = p->gathered_at_creation;
    l->session_id = ((uint64_t)p->tag << 20) | (g_random_int() & 0xfffff);
    l->session_version = 2;
}

char *lg_peer_offer(lg_peer_t *p, char *err, size_t err_len)
{
    sb_negotiate_local_t local;
    lg_peer_local(p, &local);
    char msid[32], atrack[32], vtrack[32];
    snprintf(msid, sizeof(msid), "lg-%u", p->tag);
    snprintf(atrack, sizeof(atrack), "a-%u", p->tag);
    snprintf(vtrack, sizeof(vtrack), "v-%u", p->tag);
    sb_sdp_dir_t dir = p->role == LG_PEER_ECHO ? SB_SDP_DIR_SENDRECV : SB_SDP_DIR_SENDONLY;
    /* Chromium's id for the transport-wide sequence number, on every m-line. */
    uint8_t twcc_id = lg_cfg.twcc_send ? 3 : 0;
    unsigned twcc_fb = lg_cfg.twcc_send ? SB_NEGOTIATE_FB_TWCC : 0;
    sb_negotiate_stream_t s[3] = {
        {.kind = SB_SDP_KIND_AUDIO,
         .mid = "0",
         .dir = dir,
         .codec = SB_CODEC_OPUS,
         .pt = LG_PT_OPUS,
         .fmtp = "minptime=10;useinbandfec=1",
         .ssrc = p->audio.ssrc,
         .cname = "sb-loadgen",
         .msid_stream = msid,
         .msid_track = atrack,
         .ext[SB_HDREXT_TWCC] = twcc_id,
         .fb = twcc_fb},
        {.kind = SB_SDP_KIND_VIDEO,
         .mid = "1",
         .dir = dir,
         .codec = SB_CODEC_VP8,
         .pt = LG_PT_VP8,
         .ssrc = p->video.ssrc,
         /* With transport-wide CC, RTX as a browser announces it: the server probes for
          * bandwidth with padding on a subscriber's RTX SSRC, and offers subscribers RTX only
          * when the publisher has it. We never lose a packet on loopback, so never send it. */
         .rtx_pt = lg_cfg.twcc ? LG_PT_RTX : 0,
         .rtx_ssrc = lg_cfg.twcc ? p->rtx_ssrc : 0,
         .cname = "sb-loadgen",
         .msid_stream = msid,
         .msid_track = vtrack,
         .ext[SB_HDREXT_TWCC] = twcc_id,
         .fb = SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI | SB_NEGOTIATE_FB_FIR |
               SB_NEGOTIATE_FB_REMB | twcc_fb},
        {.kind = SB_SDP_KIND_APPLICATION, .mid = "2", .max_message_size = LG_MAX_MESSAGE},
    };
    /* Data only: the one m=application (mid 0), as a browser with only a data channel. */
    const sb_negotiate_stream_t *first = p->media ? s : &s[2];
    size_t n = p->media ? (p->want_data ? 3 : 2) : 1;
    if (!p->media)
        s[2].mid = "0";
    sb_sdp_free(p->offer_model);
    p->offer_model = NULL;
    if (sb_negotiate_offer(&local, first, n, &p->offer_model, err, err_len) < 0)
        return NULL;
    return sb_sdp_write(p->offer_model, NULL);
}

int lg_peer_set_answer(lg_peer_t *p, const char *text, char *err, size_t err_len)
{
    sb_sdp_t *answer = NULL;
    int rc = sb_sdp_parse(text, strlen(text), &answer, err, err_len);
    if (rc < 0)
        return rc;
    sb_negotiate_result_t *res = NULL;
    rc = p->offer_model ? sb_negotiate_process_answer(p->offer_model, answer, &res, err, err_len)
                        : SB_ESTATE;
    if (rc == 0)
        sb_loop_post(p->loop, lg_peer_remote_on_loop, lg_remote_job(p, res, answer));
    sb_negotiate_result_free(res);
    sb_sdp_free(answer);
    return rc;
}

char *lg_peer_answer(lg_peer_t *p, const char *text, char *err, size_t err_len)
{
    sb_sdp_t *offer = NULL;
    if (sb_sdp_parse(text, strlen(text), &offer, err, err_len) < 0)
        return NULL;
    sb_negotiate_opts_t o;
    sb_negotiate_opts_init(&o);
    lg_peer_local(p, &o.local);
    static const sb_negotiate_codec_pref_t audio[] = {{.codec = SB_CODEC_OPUS}};
    static const sb_negotiate_codec_pref_t video[] = {{.codec = SB_CODEC_VP8}};
    o.audio = audio;
    o.n_audio = 1;
    o.video = video;
    o.n_video = 1;
    o.ext_allow = SB_HDREXT_BIT(SB_HDREXT_MID);
    o.fb_allow = SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI | SB_NEGOTIATE_FB_FIR;
    /* As a browser: the transport-wide sequence numbers and transport-cc feedback, so the
     * server's estimator runs (--no-twcc: a client without them). */
    if (lg_cfg.twcc) {
        o.ext_allow |= SB_HDREXT_BIT(SB_HDREXT_TWCC);
        o.fb_allow |= SB_NEGOTIATE_FB_TWCC;
    }
    o.rtx = lg_cfg.twcc; /* the server's probes travel on RTX (see lg_peer_offer) */
    o.simulcast = false;
    o.actpass_answer = SB_SDP_SETUP_ACTIVE;
    o.dir = SB_SDP_DIR_RECVONLY;
    o.data = p->want_data;
    o.max_message_size = LG_MAX_MESSAGE;
    sb_negotiate_result_t *res = NULL;
    char *out = NULL;
    if (sb_negotiate_answer(offer, &o, &res, err, err_len) == 0) {
        out = sb_sdp_write(res->answer, NULL);
        sb_loop_post(p->loop, lg_peer_remote_on_loop, lg_remote_job(p, res, offer));
    }
    sb_negotiate_result_free(res);
    sb_sdp_free(offer);
    return out;
}

typedef struct lg_cand_job {
    lg_peer_t *p;
    char *cand; /* NULL: end of candidates */
} lg_cand_job_t;

static void lg_peer_cand_on_loop(void *arg)
{
    lg_cand_job_t *j = arg;
    if (!j->p->closing && j->p->ice) {
        if (j->cand)
            sb_ice_add_remote_candidate(j->p->ice, j->cand);
        else
            sb_ice_remote_gathering_done(j->p->ice);
    }
    sb_free(j->cand);
    sb_free(j);
}

void lg_peer_times(lg_peer_t *p, int64_t *ice_up_us, int64_t *dtls_up_us)
{
    *ice_up_us = atomic_load(&p->ice_up_us);
    *dtls_up_us = atomic_load(&p->up_us);
}

void lg_peer_add_candidate(lg_peer_t *p, const char *candidate)
{
    lg_cand_job_t *j = SB_NEW(lg_cand_job_t);
    j->p = p;
    j->cand = candidate ? sb_strdup(candidate) : NULL;
    if (sb_loop_post(p->loop, lg_peer_cand_on_loop, j) < 0) {
        sb_free(j->cand);
        sb_free(j);
    }
}
