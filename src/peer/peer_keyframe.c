/* Keyframe requests to a client (PLI, RFC 4585 §6.3.1) on a stream it sends us: ordinary
 * ones under a rate limit (SB_PEER_PLI_MIN_US), and a new receiver's first one, which the
 * limit does not hold back when the publisher can answer it. Loop thread. */
#include "peer/peer_internal.h"

#include "switchboard/time.h"
#include "peer/peer_metrics.h"
#include "proto/rtcp.h"

static sb_peer_rx_layer_t *sb_peer_kf_layer(sb_peer_t *p, unsigned stream, unsigned layer)
{
    if (p->state != SB_PEER_UP || stream >= p->nstreams || layer >= SB_MEDIA_MAX_LAYERS)
        return NULL;
    sb_peer_rx_layer_t *rx = &p->rt[stream].rx[layer];
    return rx->ssrc ? rx : NULL;
}

static void sb_peer_send_pli(sb_peer_t *p, sb_peer_rx_layer_t *rx, int64_t now)
{
    rx->kf_asked_us = now;
    rx->kf_answered = false;
    uint8_t buf[64];
    int n = sb_rtcp_write_pli(buf, sizeof(buf), p->rtcp_ssrc, rx->ssrc);
    if (n > 0 && sb_peer_send_rtcp(p, buf, (size_t)n) >= 0)
        sb_counter_add(&p->metrics->pli[SB_METRIC_OUT], 1);
}

void sb_peer_request_keyframe(sb_peer_t *p, unsigned stream, unsigned layer)
{
    sb_peer_rx_layer_t *rx = sb_peer_kf_layer(p, stream, layer);
    if (!rx)
        return;
    int64_t now = sb_now_us();
    int64_t *last = &p->rt[stream].last_pli_us;
    if (now - *last < SB_PEER_PLI_MIN_US) {
        rx->keyframe_pending = p->kf_pending_any = true;
        sb_peer_ticker_wake(p);
        return;
    }
    rx->keyframe_pending = false;
    *last = now;
    sb_peer_send_pli(p, rx, now);
}

/* A receiver with no picture yet. Outside the window it is an ordinary request. Inside it,
 * a request still on its way (asked, unanswered, younger than the window) will serve this
 * receiver too; otherwise one goes at once, and the ordinary one stays due at the window's
 * end: a publisher that answers every request (Firefox, aiortc, another server) sends its
 * keyframe now, and Chromium, which drops a request within 300 ms of the last it took,
 * takes the one at the window's end as before. The window's start stays where it was, so
 * an extra request never delays the due one. One extra request per layer is outstanding
 * at a time: new receivers cost the publisher at most one keyframe per round trip. */
void sb_peer_request_first_keyframe(sb_peer_t *p, unsigned stream, unsigned layer)
{
    sb_peer_rx_layer_t *rx = sb_peer_kf_layer(p, stream, layer);
    if (!rx)
        return;
    int64_t now = sb_now_us();
    if (now - p->rt[stream].last_pli_us >= SB_PEER_PLI_MIN_US) {
        sb_peer_request_keyframe(p, stream, layer);
        return;
    }
    rx->keyframe_pending = p->kf_pending_any = true;
    sb_peer_ticker_wake(p);
    if (!rx->kf_answered && now - rx->kf_asked_us < SB_PEER_PLI_MIN_US)
        return;
    sb_peer_send_pli(p, rx, now);
}

void sb_peer_keyframe_received(sb_peer_rx_layer_t *rx)
{
    rx->keyframe_pending = false;
    rx->kf_answered = true;
}
