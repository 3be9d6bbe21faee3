/* PeerConnection transport and lifecycle (see peer.h): ICE events, first-byte demux,
 * the DTLS handshake and its timer, SRTP sessions from the exported keys, and the
 * webrtcup/hangup events. RTP and RTCP themselves are peer_media.c's.
 * Media loop thread only. */
#include "peer/peer_data.h"
#include "peer/peer_internal.h"

#include <glib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "peer/events.h"
#include "proto/demux.h"

static sb_peer_globals_t sb_peer_globals;

void sb_peer_globals_set(const sb_peer_globals_t *g)
{
    sb_peer_globals = *g;
}

uint32_t sb_peer_data_max_message(void)
{
    return sb_peer_globals.data_max_message ? sb_peer_globals.data_max_message
                                            : SB_PEER_DATA_DEFAULT_MAX_MESSAGE;
}

int64_t sb_peer_nack_history_us(void)
{
    return (int64_t)sb_peer_globals.nack_history_ms * 1000;
}

#define SB_PEER_LOG(level, p, fmt, ...)                                                   \
    SB_LOG_PEER(level, "peer", (p)->ph->session_id, (p)->ph->handle_id, fmt, ##__VA_ARGS__)

void sb_peer_push_core_event(sb_peer_t *p, const char *type, json_t *fields)
{
    p->owner->ops->push_core_event(p->owner, type, fields);
}

int sb_peer_transport_send(sb_peer_t *p, const uint8_t *data, size_t len)
{
    if (!p->ice || p->state == SB_PEER_CLOSING)
        return SB_ESTATE;
    return sb_ice_send(p->ice, data, len);
}

/* ---- DTLS ---- */

static void sb_peer_dtls_send(void *ctx, const uint8_t *datagram, size_t len)
{
    sb_peer_transport_send(ctx, datagram, len);
}

static bool sb_peer_dtls_timer_fire(void *arg);

static void sb_peer_dtls_rearm(sb_peer_t *p)
{
    if (p->dtls_timer) {
        sb_loop_timer_remove(p->loop, p->dtls_timer);
        p->dtls_timer = 0;
    }
    if (!p->dtls || p->state == SB_PEER_CLOSING)
        return;
    int64_t now = sb_now_us();
    int64_t due = sb_dtls_next_timeout_us(p->dtls, now);
    if (due < 0)
        return;
    int64_t ms = (due - now + 999) / 1000;
    p->dtls_timer = sb_loop_timer_add(p->loop, ms < 1 ? 1 : (unsigned)ms,
                                      sb_peer_dtls_timer_fire, p);
}

static bool sb_peer_dtls_timer_fire(void *arg)
{
    sb_peer_t *p = arg;
    p->dtls_timer = 0;
    if (p->dtls && p->state != SB_PEER_CLOSING) {
        sb_dtls_handle_timeout(p->dtls, sb_now_us());
        sb_peer_dtls_rearm(p);
    }
    return false; /* one-shot: rearm created a new timer if needed */
}

/* A WebRTC state event for event handlers, the reference's shape: {key: value, "stream_id": 1,
 * "component_id": 1} (one bundled stream, rtcp-mux), plus extra (stolen) when given. */
static void sb_peer_emit_with(sb_peer_t *p, unsigned subtype, const char *key, const char *value,
                              json_t *extra)
{
    if (!sb_events_wanted(SB_EV_WEBRTC)) {
        json_decref(extra);
        return;
    }
    json_t *body = json_pack("{s:s, s:i, s:i}", key, value, "stream_id", 1, "component_id", 1);
    if (extra) {
        json_object_update(body, extra);
        json_decref(extra);
    }
    p->owner->ops->emit(p->owner, SB_EV_WEBRTC, subtype, body);
}

static void sb_peer_emit(sb_peer_t *p, unsigned subtype, const char *key, const char *value)
{
    sb_peer_emit_with(p, subtype, key, value, NULL);
}

/* A candidate as the reference's events carry it: the a=candidate value without a prefix. */
static const char *sb_peer_candidate_value(const char *line)
{
    if (!strncmp(line, "a=", 2))
        line += 2;
    if (!strncmp(line, "candidate:", 10))
        line += 10;
    return line;
}

static void sb_peer_dtls_connected(void *ctx, const sb_srtp_keys_t *keys)
{
    sb_peer_t *p = ctx;
    if (sb_srtp_session_new(keys, SB_SRTP_INBOUND, &p->srtp_in) < 0 ||
        sb_srtp_session_new(keys, SB_SRTP_OUTBOUND, &p->srtp_out) < 0) {
        sb_peer_close(p, "SRTP setup failed");
        return;
    }
    p->profile = keys->profile;
    sb_peer_emit_with(p, SB_EV_WEBRTC_DTLS, "dtls", "connected",
                      json_pack("{s:i}", "retransmissions", 0));
    if (p->state != SB_PEER_UP)
        sb_gauge_inc(&p->metrics->peers_up);
    p->state = SB_PEER_UP;
    if (!p->joined) {
        p->joined = true;
        sb_histogram_observe(&p->metrics->join_us, (uint64_t)(sb_now_us() - p->created_us));
    }
    SB_PEER_LOG(SB_LOG_INFO, p, "WebRTC up (%s)", sb_srtp_profile_name(keys->profile));
    sb_peer_push_core_event(p, "webrtcup", NULL);
    sb_peer_media_start(p);
    p->media_setup = true;
    if (p->plugin->setup_media)
        p->plugin->setup_media(p->ph);
    if (p->data_negotiated && !p->data && p->state == SB_PEER_UP)
        p->data = sb_peer_data_start(p, p->data_port, p->data_max_message,
                                     p->dtls_role == SB_DTLS_CLIENT);
}

/* DTLS application data: SCTP, when data channels were negotiated; else dropped. */
static void sb_peer_dtls_data(void *ctx, const uint8_t *data, size_t len)
{
    sb_peer_t *p = ctx;
    if (p->data)
        sb_peer_data_input(p->data, data, len);
    else
        p->stats.dropped_in++;
}

void sb_peer_set_data(sb_peer_t *p, uint16_t remote_port, uint32_t remote_max_message)
{
    p->data_negotiated = true;
    p->data_port = remote_port;
    p->data_max_message = remote_max_message;
    if (p->data && sb_peer_data_ended(p->data)) { /* the client starts a new association */
        sb_peer_data_stop(p->data);
        p->data = NULL;
    }
    if (p->data)
        sb_peer_data_set_remote_max(p->data, remote_max_message);
    else if (p->state == SB_PEER_UP) /* added by a renegotiation */
        p->data = sb_peer_data_start(p, remote_port, remote_max_message,
                                     p->dtls_role == SB_DTLS_CLIENT);
}

void sb_peer_unset_data(sb_peer_t *p)
{
    p->data_negotiated = false;
    sb_peer_data_stop(p->data); /* an ABORT, if the client still listens */
    p->data = NULL;
}

int sb_peer_close_data(sb_peer_t *p, const char *label)
{
    if (!p->data || p->state != SB_PEER_UP)
        return SB_ESTATE;
    return sb_peer_data_close(p->data, label ? label : "");
}

int sb_peer_send_data(sb_peer_t *p, const sb_data_message_t *msg)
{
    if (!p->data || p->state != SB_PEER_UP)
        return SB_ESTATE;
    return sb_peer_data_send(p->data, msg);
}

static void sb_peer_dtls_failed(void *ctx, const char *reason)
{
    sb_peer_t *p = ctx;
    SB_PEER_LOG(SB_LOG_WARN, p, "DTLS failed: %s", reason);
    sb_peer_emit(p, SB_EV_WEBRTC_DTLS, "dtls", "failed");
    sb_peer_close(p, "DTLS failed"); /* handshake error or timeout, or an authenticated alert */
}

static void sb_peer_dtls_closed(void *ctx)
{
    sb_peer_emit(ctx, SB_EV_WEBRTC_DTLS, "dtls", "closed");
    sb_peer_close(ctx, "DTLS alert"); /* the remote's close_notify */
}

static const sb_dtls_ops_t sb_peer_dtls_ops = {
    .send = sb_peer_dtls_send,
    .on_connected = sb_peer_dtls_connected,
    .on_failed = sb_peer_dtls_failed,
    .on_closed = sb_peer_dtls_closed,
    .on_data = sb_peer_dtls_data,
};

static void sb_peer_restart_forget(sb_peer_t *p);

/* ---- ICE ---- */

static void sb_peer_ice_candidate(void *ctx, const char *candidate)
{
    sb_peer_t *p = ctx;
    if (p->state == SB_PEER_CLOSING)
        return;
    /* Every candidate is kept: an SDP written after an ICE restart must carry them all,
     * since the peer forgets those of the old ICE session. */
    if (p->local_candidates->len < 64)
        g_ptr_array_add(p->local_candidates, g_strdup(candidate));
    sb_peer_emit(p, SB_EV_WEBRTC_LOCAL_CANDIDATE, "local-candidate",
                 sb_peer_candidate_value(candidate));
    if (!p->sdp_sent) /* still going into the SDP itself */
        return;
    sb_peer_push_core_event(
        p, "trickle",
        json_pack("{s:{s:s, s:i, s:s}}", "candidate", "sdpMid",
                  p->nstreams ? p->streams[0].mid : "0", "sdpMLineIndex", 0, "candidate",
                  candidate));
}

static void sb_peer_ice_gathering_done(void *ctx)
{
    sb_peer_t *p = ctx;
    p->gathering_done = true;
    if (p->sdp_sent && p->state != SB_PEER_CLOSING)
        sb_peer_push_core_event(p, "trickle", json_pack("{s:{s:b}}", "candidate", "completed", 1));
}

static void sb_peer_early_dtls_clear(sb_peer_t *p)
{
    for (unsigned i = 0; i < p->n_early_dtls; i++)
        g_bytes_unref(p->early_dtls[i]);
    p->n_early_dtls = 0;
}

static void sb_peer_ice_connected(void *ctx)
{
    sb_peer_t *p = ctx;
    SB_PEER_LOG(SB_LOG_DEBUG, p, "ICE connected, DTLS as %s%s",
                p->dtls_role == SB_DTLS_CLIENT ? "client" : "server",
                p->n_early_dtls ? ", replaying what came before" : "");
    if (sb_events_wanted(SB_EV_WEBRTC)) {
        char pair[200];
        if (sb_ice_selected_pair_text(p->ice, pair, sizeof(pair)))
            sb_peer_emit_with(p, SB_EV_WEBRTC_SELECTED_PAIR, "selected-pair", pair,
                              sb_ice_selected_candidates(p->ice));
        sb_peer_emit(p, SB_EV_WEBRTC_ICE, "ice", "connected");
        sb_peer_emit(p, SB_EV_WEBRTC_ICE, "ice", "ready");
    }
    if (p->dtls) {
        sb_peer_emit_with(p, SB_EV_WEBRTC_DTLS, "dtls", "trying",
                          json_pack("{s:i}", "retransmissions", 0));
        sb_dtls_start(p->dtls);
        for (unsigned i = 0; i < p->n_early_dtls && p->state != SB_PEER_CLOSING; i++) {
            gsize len;
            const uint8_t *d = g_bytes_get_data(p->early_dtls[i], &len);
            sb_dtls_handle(p->dtls, d, len);
        }
        if (p->state != SB_PEER_CLOSING)
            sb_peer_dtls_rearm(p);
    }
    sb_peer_early_dtls_clear(p);
}

static void sb_peer_ice_failed(void *ctx, const char *reason)
{
    sb_peer_t *p = ctx;
    SB_PEER_LOG(SB_LOG_INFO, p, "ICE failed: %s", reason);
    sb_peer_emit(p, SB_EV_WEBRTC_ICE, "ice", "failed");
    sb_peer_close(p, "ICE failed");
}

/* Every datagram of the selected pair: demultiplex by first byte (RFC 7983). */
static void sb_peer_ice_recv(void *ctx, uint8_t *buf, size_t len)
{
    sb_peer_t *p = ctx;
    if (p->state == SB_PEER_CLOSING)
        return;
    switch (sb_demux_classify(buf, len)) {
    case SB_PKT_DTLS:
        if (p->dtls && !sb_ice_is_connected(p->ice)) {
            /* Our answer could not leave yet: keep it for sb_peer_ice_connected. */
            if (p->n_early_dtls < SB_PEER_EARLY_DTLS)
                p->early_dtls[p->n_early_dtls++] = g_bytes_new(buf, len);
        } else if (p->dtls) {
            sb_dtls_handle(p->dtls, buf, len);
            sb_peer_dtls_rearm(p);
        }
        break;
    case SB_PKT_RTP:
        if (p->state == SB_PEER_UP)
            sb_peer_media_on_rtp(p, buf, len);
        break;
    case SB_PKT_RTCP:
        if (p->state == SB_PEER_UP)
            sb_peer_media_on_rtcp(p, buf, len);
        break;
    default:
        p->stats.dropped_in++;
        break;
    }
}

/* The new path is up after an ICE restart. A decoder resumes only at a keyframe, so ask
 * for one now rather than at the next periodic one (seconds away): from the client, for
 * the video it sends us, and, through the plugin as if the client had asked, for the video
 * we send it. */
static void sb_peer_ice_restarted(void *ctx)
{
    sb_peer_t *p = ctx;
    if (p->state != SB_PEER_UP)
        return;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_media_stream_t *st = &p->streams[i];
        if (!st->active || st->kind != SB_MEDIA_VIDEO)
            continue;
        p->rt[i].last_pli_us = 0; /* not held back by the rate limit */
        for (unsigned l = 0; st->recv && l < SB_MEDIA_MAX_LAYERS; l++)
            sb_peer_request_keyframe(p, i, l); /* the first goes now, the others when due */
        if (st->send && p->plugin->on_keyframe_request)
            p->plugin->on_keyframe_request(p->ph, i);
    }
}

static const sb_ice_ops_t sb_peer_ice_ops = {
    .on_restarted = sb_peer_ice_restarted,
    .on_local_candidate = sb_peer_ice_candidate,
    .on_gathering_done = sb_peer_ice_gathering_done,
    .on_connected = sb_peer_ice_connected,
    .on_failed = sb_peer_ice_failed,
    .on_recv = sb_peer_ice_recv,
};

/* ---- lifecycle ---- */

int sb_peer_new(sb_loop_t *loop, sb_peer_owner_t *owner, bool controlling, sb_peer_t **out)
{
    SB_ASSERT(sb_loop_is_current(loop));
    sb_peer_t *p = SB_NEW(sb_peer_t);
    p->loop = loop;
    owner->ops->ref(owner);
    p->owner = owner;
    p->ph = owner->ph;
    p->plugin = owner->plugin;
    p->controlling = controlling;
    p->local_candidates = g_ptr_array_new_with_free_func(g_free);
    p->ticker_slot = -1;
    p->metrics = sb_peer_metrics_of(sb_loop_index(loop));
    p->created_us = sb_now_us();
    sb_random_bytes(&p->rtcp_ssrc, sizeof(p->rtcp_ssrc));
    /* The agent in a context of its own, run by the loop's scheduler (loop/subctx.h). */
    int rc = sb_loop_sched(loop)
                 ? sb_ice_new_in(sb_loop_sched(loop), sb_loop_context(loop), sb_peer_globals.ice,
                                 controlling, &sb_peer_ice_ops, p, &p->ice)
                 : sb_ice_new(sb_loop_context(loop), sb_peer_globals.ice, controlling,
                              &sb_peer_ice_ops, p, &p->ice);
    if (rc == 0) {
        sb_ice_set_drop_counter(p->ice, &p->metrics->ice_dropped);
        sb_peer_emit(p, SB_EV_WEBRTC_ICE, "ice", "gathering"); /* before its candidates */
        rc = sb_ice_gather(p->ice);
    }
    if (rc < 0) {
        if (p->ice)
            sb_ice_free(p->ice);
        g_ptr_array_free(p->local_candidates, TRUE);
        owner->ops->unref(owner);
        sb_free(p);
        return rc;
    }
    sb_loop_bind(loop);
    sb_gauge_inc(&p->metrics->peers);
    *out = p;
    return 0;
}

void sb_peer_local_ice(sb_peer_t *p, const char **ufrag, const char **pwd)
{
    sb_ice_local_credentials(p->ice, ufrag, pwd);
}

char **sb_peer_local_candidates(sb_peer_t *p)
{
    char **out = g_new0(char *, p->local_candidates->len + 1);
    for (guint i = 0; i < p->local_candidates->len; i++)
        out[i] = g_strdup(g_ptr_array_index(p->local_candidates, i));
    return out;
}

bool sb_peer_gathering_done(const sb_peer_t *p)
{
    return p->gathering_done;
}

void sb_peer_mark_sdp_sent(sb_peer_t *p)
{
    p->sdp_sent = true;
}

const char *sb_peer_local_fingerprint(void)
{
    return sb_cert_fingerprint(sb_peer_globals.cert);
}

int sb_peer_set_remote(sb_peer_t *p, const sb_peer_remote_t *r)
{
    if (p->state == SB_PEER_CLOSING)
        return SB_ESTATE;
    if (p->remote_set && p->restart_old_ufrag) {
        /* The answer to our restart offer: the peer must have restarted too. */
        if (!strcmp(r->ufrag, p->restart_old_ufrag) || !strcmp(r->pwd, p->restart_old_pwd))
            return SB_EINVAL;
        int rc = sb_ice_set_remote_credentials(p->ice, r->ufrag, r->pwd);
        if (rc == 0)
            sb_peer_restart_forget(p);
        return rc;
    }
    if (p->remote_set) /* renegotiation on the same transport: nothing to change here */
        return sb_peer_remote_ice_changed(p, r->ufrag, r->pwd) == 0 ? 0 : SB_ENOTSUP;
    int rc = sb_ice_set_remote_credentials(p->ice, r->ufrag, r->pwd);
    if (rc < 0)
        return rc;
    p->dtls_role = r->our_role;
    rc = sb_dtls_new(sb_peer_globals.cert, r->our_role, r->fp_hash, r->fp_hex,
                     &sb_peer_dtls_ops, p, &p->dtls);
    if (rc < 0)
        return rc;
    p->remote_set = true;
    p->state = SB_PEER_CONNECTING;
    sb_peer_emit(p, SB_EV_WEBRTC_ICE, "ice", "connecting");
    return 0;
}

static void sb_peer_restart_forget(sb_peer_t *p)
{
    g_free(p->restart_old_ufrag);
    g_free(p->restart_old_pwd);
    p->restart_old_ufrag = p->restart_old_pwd = NULL;
}

int sb_peer_remote_ice_changed(const sb_peer_t *p, const char *ufrag, const char *pwd)
{
    const char *u, *w;
    sb_ice_remote_credentials(p->ice, &u, &w);
    if (!u || !p->remote_set)
        return 0;
    bool new_ufrag = strcmp(u, ufrag) != 0, new_pwd = strcmp(w, pwd) != 0;
    return new_ufrag && new_pwd ? 1 : new_ufrag || new_pwd ? -1 : 0;
}

int sb_peer_ice_restart(sb_peer_t *p)
{
    if (p->state == SB_PEER_CLOSING || !p->remote_set)
        return SB_ESTATE;
    const char *u, *w;
    sb_ice_remote_credentials(p->ice, &u, &w);
    char *old_ufrag = g_strdup(u), *old_pwd = g_strdup(w);
    int rc = sb_ice_restart(p->ice);
    if (rc < 0) {
        g_free(old_ufrag);
        g_free(old_pwd);
        return rc;
    }
    sb_peer_restart_forget(p);
    p->restart_old_ufrag = old_ufrag;
    p->restart_old_pwd = old_pwd;
    SB_PEER_LOG(SB_LOG_INFO, p, "ICE restart: new local credentials");
    return 0;
}

int sb_peer_add_remote_candidate(sb_peer_t *p, const char *line)
{
    if (p->state == SB_PEER_CLOSING)
        return SB_ESTATE;
    int rc = sb_ice_add_remote_candidate(p->ice, line);
    if (rc == 0)
        sb_peer_emit(p, SB_EV_WEBRTC_REMOTE_CANDIDATE, "remote-candidate",
                     sb_peer_candidate_value(line));
    return rc;
}

void sb_peer_remote_candidates_done(sb_peer_t *p)
{
    if (p->state != SB_PEER_CLOSING)
        sb_ice_remote_gathering_done(p->ice);
}

static gboolean sb_peer_free_idle(gpointer arg)
{
    sb_peer_t *p = arg;
    sb_peer_media_stop(p);
    sb_peer_early_dtls_clear(p);
    sb_peer_data_stop(p->data); /* its ABORT goes out through DTLS: before it is freed */
    p->data = NULL;
    if (p->dtls)
        sb_dtls_free(p->dtls);
    sb_srtp_session_free(p->srtp_in);
    sb_srtp_session_free(p->srtp_out);
    sb_ice_free(p->ice);
    sb_peer_restart_forget(p);
    g_ptr_array_free(p->local_candidates, TRUE);
    sb_loop_unbind(p->loop);
    p->owner->ops->unref(p->owner);
    sb_free(p);
    return G_SOURCE_REMOVE;
}

void sb_peer_close(sb_peer_t *p, const char *reason)
{
    if (p->state == SB_PEER_CLOSING)
        return;
    bool was_up = p->state == SB_PEER_UP;
    if (was_up)
        sb_peer_emit_reports(p); /* the last, as the reference sends one at hangup */
    p->state = SB_PEER_CLOSING;
    sb_gauge_dec(&p->metrics->peers);
    if (was_up)
        sb_gauge_dec(&p->metrics->peers_up);
    if (p->dtls_timer)
        sb_loop_timer_remove(p->loop, p->dtls_timer);
    p->dtls_timer = 0;
    if (p->dtls && was_up)
        sb_dtls_close(p->dtls);
    p->owner->ops->on_close(p->owner, p);
    /* The plugin hears of every PeerConnection it answered or offered, up or not (ICE can
     * fail first), and before the client's "hangup": the reference's order, which the
     * EchoTest's "done" event relies on. */
    if ((p->media_setup || p->sdp_sent) && p->plugin->hangup_media)
        p->plugin->hangup_media(p->ph);
    if (reason)
        sb_peer_push_core_event(p, "hangup", json_pack("{s:s}", "reason", reason));
    SB_PEER_LOG(SB_LOG_INFO, p,
                "closed (%s): rtp in %llu out %llu, rtcp in %llu out %llu, nacks in %llu, "
                "retransmitted %llu, rtx in %llu, srtp failures %llu, unknown ssrc %llu, "
                "bad payload type %llu, forged dtls %llu, dropped in %llu, malformed %llu, "
                "rtx unusable %llu",
                reason ? reason : "detached", (unsigned long long)p->stats.rtp_in,
                (unsigned long long)p->stats.rtp_out, (unsigned long long)p->stats.rtcp_in,
                (unsigned long long)p->stats.rtcp_out, (unsigned long long)p->stats.nacks_in,
                (unsigned long long)p->stats.retransmitted, (unsigned long long)p->stats.rtx_in,
                (unsigned long long)p->stats.srtp_fail, (unsigned long long)p->stats.unknown_ssrc,
                (unsigned long long)p->stats.bad_pt,
                (unsigned long long)(p->dtls ? sb_dtls_get_dropped(p->dtls) : 0),
                (unsigned long long)p->stats.dropped_in,
                (unsigned long long)p->stats.malformed_in,
                (unsigned long long)p->stats.rtx_unusable);
    /* Freed once the current dispatch (possibly a libnice callback) has unwound. */
    GSource *idle = g_idle_source_new();
    g_source_set_callback(idle, sb_peer_free_idle, p, NULL);
    g_source_attach(idle, sb_loop_context(p->loop));
    g_source_unref(idle);
}

bool sb_peer_is_closing(const sb_peer_t *p)
{
    return p->state == SB_PEER_CLOSING;
}

sb_loop_t *sb_peer_loop(const sb_peer_t *p)
{
    return p->loop;
}

void sb_peer_set_streams(sb_peer_t *p, const sb_media_stream_t *streams, unsigned n)
{
    if (n > SB_MEDIA_MAX_STREAMS)
        n = SB_MEDIA_MAX_STREAMS;
    sb_peer_media_free_streams(p);
    p->streams = sb_calloc(n ? n : 1, sizeof(*p->streams));
    p->rt = sb_calloc(n ? n : 1, sizeof(*p->rt));
    memcpy(p->streams, streams, n * sizeof(*streams));
    p->nstreams = n;
    sb_peer_media_map_streams(p);
}

unsigned sb_peer_get_streams(sb_peer_t *p, sb_media_stream_t *out, unsigned max)
{
    unsigned n = p->nstreams < max ? p->nstreams : max;
    memcpy(out, p->streams, n * sizeof(*out));
    return n;
}
