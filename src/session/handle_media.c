/* A handle's media binding (see handle_media.h): offer/answer through proto/negotiate,
 * the peer's creation on its loop, trickled candidates, hangup. The SDP work runs on the
 * caller's thread; everything that touches the peer runs on its loop. */
#include "session/handle_media.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "base/log.h"
#include "peer/events.h"
#include "peer/peer.h"
#include "proto/negotiate.h"
#include "proto/sdp.h"
#include "session/peer_streams.h"

#define SB_MEDIA_MAX_PENDING_CANDIDATES 64

struct sb_handle_media {
    /* The handle as its peer's owner (peer.h): set at creation, never changed. */
    sb_peer_owner_t owner;
    pthread_mutex_t lock; /* guards every field below */
    struct sb_peer *peer; /* set and cleared on the loop */
    sb_loop_t *loop;      /* fixed once a peer was created */
    GPtrArray *pending;   /* char* candidate lines, before the peer exists */
    bool pending_done;
    sb_media_stream_t *streams; /* nstreams, as negotiated last (allocated to size: a
                                 * stream description is ~0.5 KiB, most calls have two) */
    unsigned nstreams;
    sb_peer_mline_ssrc_t kept[SB_MEDIA_MAX_STREAMS]; /* our SSRCs per m-line, for the peer's life */
    unsigned nkept;
    sb_sdp_t *our_offer; /* waiting for the client's answer */
    bool restart_next_offer; /* sb_handle_media_request_ice_restart */
    uint64_t sdp_session_id, sdp_version;
};

/* ---- the handle as its peer's owner (peer.h): loop thread but ref and unref ---- */

static void sb_media_owner_ref(sb_peer_owner_t *o)
{
    sb_handle_ref(o->ctx);
}

static void sb_media_owner_unref(sb_peer_owner_t *o)
{
    sb_handle_unref(o->ctx);
}

static void sb_media_owner_core_event(sb_peer_owner_t *o, const char *type, json_t *fields)
{
    sb_handle_push_core_event(o->ctx, type, fields);
}

static void sb_media_owner_emit(sb_peer_owner_t *o, unsigned type, unsigned subtype, json_t *body)
{
    sb_handle_emit(o->ctx, type, subtype, body);
}

/* The peer is closing: forget it. */
static void sb_media_owner_on_close(sb_peer_owner_t *o, struct sb_peer *p)
{
    sb_handle_media_t *m = sb_handle_media(o->ctx);
    pthread_mutex_lock(&m->lock);
    if (m->peer == p)
        m->peer = NULL;
    pthread_mutex_unlock(&m->lock);
}

static struct sb_peer *sb_media_owner_peer(sb_peer_owner_t *o)
{
    return sb_handle_media_peer(o->ctx);
}

static const sb_peer_owner_ops_t sb_media_owner_ops = {
    .ref = sb_media_owner_ref,
    .unref = sb_media_owner_unref,
    .push_core_event = sb_media_owner_core_event,
    .emit = sb_media_owner_emit,
    .on_close = sb_media_owner_on_close,
    .peer = sb_media_owner_peer,
};

sb_handle_media_t *sb_handle_media_new(sb_handle_t *h)
{
    sb_handle_media_t *m = SB_NEW(sb_handle_media_t);
    m->owner = (sb_peer_owner_t){.ops = &sb_media_owner_ops,
                                 .ctx = h,
                                 .plugin = sb_handle_plugin(h),
                                 .ph = sb_handle_plugin_handle(h)};
    pthread_mutex_init(&m->lock, NULL);
    m->pending = g_ptr_array_new_with_free_func(sb_free);
    sb_random_bytes(&m->sdp_session_id, sizeof(m->sdp_session_id));
    m->sdp_session_id &= (UINT64_C(1) << 62) - 1;
    return m;
}

void sb_handle_media_free(sb_handle_media_t *m)
{
    if (!m)
        return;
    g_ptr_array_free(m->pending, TRUE);
    sb_free(m->streams);
    sb_sdp_free(m->our_offer);
    pthread_mutex_destroy(&m->lock);
    sb_free(m);
}

/* ---- the work done on the loop ---- */

typedef struct sb_media_job {
    sb_handle_t *h;
    sb_handle_media_t *m;
    bool controlling;
    /* in */
    const sb_sdp_t *remote;     /* offer or answer */
    const sb_answer_opts_t *answer_opts;
    const sb_offer_stream_t *offer_streams;
    unsigned n_offer_streams;
    /* out */
    int rc;
    char *sdp;                  /* owned text of our description */
    sb_sdp_t *offer_model;      /* make_offer: kept for the answer */
    char reason[256];
} sb_media_job_t;

/* Create the peer on this loop if the handle has none; returns it or NULL. */
static struct sb_peer *sb_media_ensure_peer(sb_media_job_t *j)
{
    pthread_mutex_lock(&j->m->lock);
    struct sb_peer *p = j->m->peer;
    pthread_mutex_unlock(&j->m->lock);
    if (p)
        return p;
    int rc = sb_peer_new(j->m->loop, &j->m->owner, j->controlling, &p);
    if (rc < 0) {
        j->rc = rc;
        snprintf(j->reason, sizeof(j->reason), "cannot create the ICE agent");
        return NULL;
    }
    /* A detach sets its flag before it looks for a peer to close (under this lock): either
     * it finds this one, or we see the flag here and close it ourselves. */
    pthread_mutex_lock(&j->m->lock);
    bool detached = sb_handle_is_detached(j->h);
    if (!detached)
        j->m->peer = p;
    pthread_mutex_unlock(&j->m->lock);
    if (detached) {
        sb_peer_close(p, NULL);
        j->rc = SB_ESTATE;
        snprintf(j->reason, sizeof(j->reason), "the handle was detached");
        return NULL;
    }
    return p;
}

/* Candidates that trickled in before the peer existed, and those of the remote SDP. */
static void sb_media_feed_candidates(sb_handle_media_t *m, struct sb_peer *p,
                                     const sb_sdp_t *remote, unsigned transport_index)
{
    if (remote && transport_index < remote->n_media) {
        const sb_sdp_media_t *md = &remote->media[transport_index];
        for (size_t i = 0; i < md->n_candidates; i++)
            sb_peer_add_remote_candidate(p, md->candidates[i]);
        if (md->end_of_candidates || remote->end_of_candidates)
            sb_peer_remote_candidates_done(p);
    }
    pthread_mutex_lock(&m->lock);
    GPtrArray *pending = m->pending;
    bool done = m->pending_done;
    m->pending = g_ptr_array_new_with_free_func(sb_free);
    m->pending_done = false;
    pthread_mutex_unlock(&m->lock);
    for (guint i = 0; i < pending->len; i++)
        sb_peer_add_remote_candidate(p, g_ptr_array_index(pending, i));
    if (done)
        sb_peer_remote_candidates_done(p);
    g_ptr_array_free(pending, TRUE);
}

static int sb_media_apply_remote(sb_media_job_t *j, struct sb_peer *p,
                                 const sb_negotiate_result_t *res)
{
    sb_peer_remote_t r = {0};
    snprintf(r.ufrag, sizeof(r.ufrag), "%s", res->remote.ice_ufrag);
    snprintf(r.pwd, sizeof(r.pwd), "%s", res->remote.ice_pwd);
    snprintf(r.fp_hash, sizeof(r.fp_hash), "%s", res->remote.fingerprint_hash);
    snprintf(r.fp_hex, sizeof(r.fp_hex), "%s", res->remote.fingerprint);
    r.our_role = res->local_setup == SB_SDP_SETUP_ACTIVE ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
    int rc = sb_peer_set_remote(p, &r);
    if (rc < 0) {
        snprintf(j->reason, sizeof(j->reason), "%s",
                 rc == SB_EINVAL ? "the answer to an ICE restart must carry a new ice-ufrag "
                                   "and ice-pwd"
                 : rc == SB_ENOTSUP ? "new ICE credentials in an answer to an offer that did "
                                      "not restart ICE"
                                    : "cannot apply the remote ICE/DTLS parameters");
        return rc;
    }
    sb_media_stream_t streams[SB_MEDIA_MAX_STREAMS];
    unsigned n = sb_peer_streams_from_result(res, streams, SB_MEDIA_MAX_STREAMS);
    sb_peer_set_streams(p, streams, n);
    pthread_mutex_lock(&j->m->lock);
    if (n > j->m->nstreams)
        j->m->streams = sb_realloc(j->m->streams, n * sizeof(*streams));
    if (n > 0)
        memcpy(j->m->streams, streams, n * sizeof(*streams));
    j->m->nstreams = n;
    j->m->nkept =
        sb_peer_streams_keep_ssrcs(streams, n, j->m->kept, j->m->nkept, SB_MEDIA_MAX_STREAMS);
    pthread_mutex_unlock(&j->m->lock);
    sb_media_feed_candidates(j->m, p, j->remote, res->remote.index);
    for (size_t i = 0; i < res->n_media; i++) {
        const sb_negotiate_media_t *md = &res->media[i];
        if (md->kind != SB_SDP_KIND_APPLICATION)
            continue;
        if (md->accepted)
            sb_peer_set_data(p, md->sctp_port, md->max_message_size);
        else
            sb_peer_unset_data(p);
    }
    return 0;
}

/* Our ICE/DTLS side for the negotiation unit; candidates is an owned strv. */
static void sb_media_local(sb_handle_media_t *m, struct sb_peer *p, sb_negotiate_local_t *local,
                           char **candidates)
{
    sb_peer_local_ice(p, &local->ice_ufrag, &local->ice_pwd);
    local->fingerprint = sb_peer_local_fingerprint();
    local->candidates = (const char *const *)candidates;
    local->n_candidates = candidates ? g_strv_length(candidates) : 0;
    local->end_of_candidates = sb_peer_gathering_done(p);
    local->session_id = m->sdp_session_id;
    local->session_version = ++m->sdp_version;
}

static void sb_media_answer_on_loop(void *arg)
{
    sb_media_job_t *j = arg;
    struct sb_peer *p = sb_media_ensure_peer(j);
    if (!p)
        return;
    sb_negotiate_opts_t opts;
    sb_negotiate_opts_init(&opts);
    char **cands = sb_peer_local_candidates(p);
    sb_media_local(j->m, p, &opts.local, cands);
    sb_negotiate_codec_pref_t audio[8], video[8];
    sb_peer_answer_ctx_t actx = {.want = j->answer_opts};
    sb_peer_mline_ssrc_t kept[SB_MEDIA_MAX_STREAMS];
    pthread_mutex_lock(&j->m->lock);
    actx.nkept = j->m->nkept;
    memcpy(kept, j->m->kept, j->m->nkept * sizeof(kept[0]));
    pthread_mutex_unlock(&j->m->lock);
    actx.kept = kept;
    opts.data = j->answer_opts->data;
    opts.max_message_size = sb_peer_data_max_message();
    if (sb_peer_streams_answer_opts(&actx, &opts, audio, video, 8) < 0) {
        j->rc = SB_EINVAL;
        snprintf(j->reason, sizeof(j->reason), "invalid codec preference list");
        g_strfreev(cands);
        return;
    }
    sb_negotiate_result_t *res = NULL;
    j->rc = sb_negotiate_answer(j->remote, &opts, &res, j->reason, sizeof(j->reason));
    g_strfreev(cands);
    if (j->rc < 0)
        return;
    int change = sb_peer_remote_ice_changed(p, res->remote.ice_ufrag, res->remote.ice_pwd);
    bool restarted = false;
    if (change != 0) { /* the client restarts ICE (janus.js iceRestart): answer as new */
        sb_negotiate_result_free(res);
        res = NULL;
        if (change < 0 || sb_peer_ice_restart(p) < 0) {
            j->rc = SB_EINVAL;
            snprintf(j->reason, sizeof(j->reason),
                     change < 0 ? "an ICE restart needs both a new ice-ufrag and ice-pwd"
                                : "cannot restart ICE");
            return;
        }
        restarted = true;
        cands = sb_peer_local_candidates(p);
        sb_media_local(j->m, p, &opts.local, cands); /* with our new credentials */
        j->rc = sb_negotiate_answer(j->remote, &opts, &res, j->reason, sizeof(j->reason));
        g_strfreev(cands);
    }
    if (j->rc == 0)
        j->rc = sb_media_apply_remote(j, p, res);
    if (j->rc == 0) {
        j->sdp = sb_sdp_write(res->answer, NULL);
        sb_peer_mark_sdp_sent(p);
    } else if (restarted) {
        /* Our ICE took new credentials the client will never learn: end the call now
         * rather than at the restart timeout. */
        sb_peer_close(p, "ICE restart failed");
    }
    sb_negotiate_result_free(res);
}

static void sb_media_offer_on_loop(void *arg)
{
    sb_media_job_t *j = arg;
    struct sb_peer *p = sb_media_ensure_peer(j);
    if (!p)
        return;
    pthread_mutex_lock(&j->m->lock);
    bool restart = j->m->restart_next_offer;
    j->m->restart_next_offer = false;
    pthread_mutex_unlock(&j->m->lock);
    sb_negotiate_local_t local = {0};
    char **cands = sb_peer_local_candidates(p);
    sb_media_local(j->m, p, &local, cands);
    sb_negotiate_stream_t ns[SB_MEDIA_MAX_STREAMS];
    char mids[SB_MEDIA_MAX_STREAMS][12];
    pthread_mutex_lock(&j->m->lock);
    unsigned n = sb_peer_streams_offer(j->offer_streams, j->n_offer_streams, j->m->kept,
                                       j->m->nkept, sb_peer_data_max_message(), ns, mids);
    pthread_mutex_unlock(&j->m->lock);
    j->rc = sb_negotiate_offer(&local, ns, n, &j->offer_model, j->reason, sizeof(j->reason));
    g_strfreev(cands);
    if (j->rc == 0 && restart) {
        /* The offer builds: only now restart (new local credentials) and build it again with
         * them. A PeerConnection that never connected has nothing to restart: its offer
         * stands as it is. */
        int rc = sb_peer_ice_restart(p);
        if (rc == 0) {
            sb_sdp_free(j->offer_model);
            j->offer_model = NULL;
            cands = sb_peer_local_candidates(p);
            sb_media_local(j->m, p, &local, cands);
            j->rc = sb_negotiate_offer(&local, ns, n, &j->offer_model, j->reason,
                                       sizeof(j->reason));
            g_strfreev(cands);
        } else if (rc != SB_ESTATE) {
            j->rc = rc;
            snprintf(j->reason, sizeof(j->reason), "cannot restart ICE");
        }
    }
    if (j->rc < 0)
        return;
    j->sdp = sb_sdp_write(j->offer_model, NULL);
    sb_peer_mark_sdp_sent(p);
}

static void sb_media_process_answer_on_loop(void *arg)
{
    sb_media_job_t *j = arg;
    pthread_mutex_lock(&j->m->lock);
    struct sb_peer *p = j->m->peer;
    sb_sdp_t *offer = j->m->our_offer;
    j->m->our_offer = NULL;
    pthread_mutex_unlock(&j->m->lock);
    if (!p || !offer) {
        j->rc = SB_ESTATE;
        snprintf(j->reason, sizeof(j->reason), "no offer of ours to answer");
        sb_sdp_free(offer);
        return;
    }
    sb_negotiate_result_t *res = NULL;
    j->rc = sb_negotiate_process_answer(offer, j->remote, &res, j->reason, sizeof(j->reason));
    if (j->rc == 0)
        j->rc = sb_media_apply_remote(j, p, res);
    sb_negotiate_result_free(res);
    /* A refused answer changed nothing: our offer still waits for a good one (unless a
     * newer offer replaced it meanwhile). */
    pthread_mutex_lock(&j->m->lock);
    if (j->rc < 0 && !j->m->our_offer) {
        j->m->our_offer = offer;
        offer = NULL;
    }
    pthread_mutex_unlock(&j->m->lock);
    sb_sdp_free(offer);
}

/* ---- entry points (plugin threads) ---- */

static sb_loop_t *sb_media_bind_loop(sb_handle_media_t *m, int wanted)
{
    pthread_mutex_lock(&m->lock);
    if (!m->loop) {
        unsigned count = sb_loops_count();
        if (wanted >= 0 && count)
            m->loop = sb_loop_get((unsigned)wanted % count);
        else
            m->loop = sb_loop_pick();
    }
    sb_loop_t *loop = m->loop;
    pthread_mutex_unlock(&m->lock);
    return loop;
}

/* Parse the jsep's SDP; on failure the reason is filled. */
static sb_sdp_t *sb_media_parse(json_t *jsep, char *reason, size_t reason_len)
{
    const char *text = json_string_value(json_object_get(jsep, "sdp"));
    sb_sdp_t *sdp = NULL;
    char why[200] = "";
    if (!text || sb_sdp_parse(text, strlen(text), &sdp, why, sizeof(why)) < 0) {
        snprintf(reason, reason_len, "Invalid SDP: %s", why[0] ? why : "missing");
        return NULL;
    }
    return sdp;
}

/* A negotiation for event handlers: {"owner": "local"|"remote", "jsep": {type, sdp}}. */
static void sb_media_emit_jsep(sb_handle_t *h, const char *owner, json_t *jsep)
{
    if (sb_events_wanted(SB_EV_JSEP))
        sb_handle_emit(h, SB_EV_JSEP, 0,
                       json_pack("{s:s, s:O}", "owner", owner, "jsep", jsep));
}

static json_t *sb_media_jsep(const char *type, char *sdp)
{
    json_t *j = json_pack("{s:s, s:s}", "type", type, "sdp", sdp);
    sb_free(sdp);
    return j;
}

int sb_handle_media_answer(sb_handle_t *h, json_t *offer, const sb_answer_opts_t *opts,
                           json_t **answer, char *reason, size_t reason_len)
{
    sb_handle_media_t *m = sb_handle_media(h);
    if (sb_handle_is_detached(h)) {
        snprintf(reason, reason_len, "the handle was detached");
        return SB_ESTATE;
    }
    sb_sdp_t *sdp = sb_media_parse(offer, reason, reason_len);
    if (!sdp)
        return SB_EINVAL;
    sb_loop_t *loop = sb_media_bind_loop(m, opts ? opts->loop : -1);
    sb_answer_opts_t defaults = {true, true, true, true, NULL, NULL, -1, false, false};
    sb_media_job_t j = {.h = h, .m = m, .remote = sdp, .answer_opts = opts ? opts : &defaults};
    if (!loop || sb_loop_call_sync(loop, sb_media_answer_on_loop, &j) < 0)
        j.rc = SB_ESTATE;
    sb_sdp_free(sdp);
    if (j.rc < 0) {
        snprintf(reason, reason_len, "%s", j.reason[0] ? j.reason : sb_strerror(j.rc));
        sb_free(j.sdp);
        return j.rc;
    }
    *answer = sb_media_jsep("answer", j.sdp);
    sb_media_emit_jsep(h, "remote", offer);
    sb_media_emit_jsep(h, "local", *answer);
    return 0;
}

int sb_handle_media_offer(sb_handle_t *h, const sb_offer_stream_t *streams, unsigned n,
                          int loop_index, json_t **offer, char *reason, size_t reason_len)
{
    sb_handle_media_t *m = sb_handle_media(h);
    if (sb_handle_is_detached(h)) {
        snprintf(reason, reason_len, "the handle was detached");
        return SB_ESTATE;
    }
    if (n == 0 || n > SB_MEDIA_MAX_STREAMS) {
        snprintf(reason, reason_len, "between 1 and %d streams can be offered",
                 SB_MEDIA_MAX_STREAMS);
        return SB_EINVAL;
    }
    sb_loop_t *loop = sb_media_bind_loop(m, loop_index);
    sb_media_job_t j = {.h = h, .m = m, .controlling = true, .offer_streams = streams,
                        .n_offer_streams = n};
    if (!loop || sb_loop_call_sync(loop, sb_media_offer_on_loop, &j) < 0)
        j.rc = SB_ESTATE;
    if (j.rc < 0) {
        snprintf(reason, reason_len, "%s", j.reason[0] ? j.reason : sb_strerror(j.rc));
        sb_free(j.sdp);
        sb_sdp_free(j.offer_model);
        return j.rc;
    }
    pthread_mutex_lock(&m->lock);
    sb_sdp_free(m->our_offer);
    m->our_offer = j.offer_model;
    pthread_mutex_unlock(&m->lock);
    *offer = sb_media_jsep("offer", j.sdp);
    sb_media_emit_jsep(h, "local", *offer);
    return 0;
}

int sb_handle_media_process_answer(sb_handle_t *h, json_t *answer, char *reason,
                                   size_t reason_len)
{
    sb_handle_media_t *m = sb_handle_media(h);
    sb_sdp_t *sdp = sb_media_parse(answer, reason, reason_len);
    if (!sdp)
        return SB_EINVAL;
    pthread_mutex_lock(&m->lock);
    sb_loop_t *loop = m->loop;
    pthread_mutex_unlock(&m->lock);
    sb_media_job_t j = {.h = h, .m = m, .remote = sdp};
    if (!loop || sb_loop_call_sync(loop, sb_media_process_answer_on_loop, &j) < 0)
        j.rc = SB_ESTATE;
    sb_sdp_free(sdp);
    if (j.rc < 0)
        snprintf(reason, reason_len, "%s", j.reason[0] ? j.reason : "no offer to answer");
    else
        sb_media_emit_jsep(h, "remote", answer);
    return j.rc;
}

void sb_handle_media_request_ice_restart(sb_handle_t *h)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    m->restart_next_offer = true;
    pthread_mutex_unlock(&m->lock);
}

unsigned sb_handle_media_streams(sb_handle_t *h, sb_media_stream_t *out, unsigned max)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    unsigned n = m->nstreams < max ? m->nstreams : max;
    if (n > 0)
        memcpy(out, m->streams, n * sizeof(*out));
    pthread_mutex_unlock(&m->lock);
    return n;
}

int sb_handle_media_loop_index(sb_handle_t *h)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    int idx = m->loop ? (int)sb_loop_index(m->loop) : -1;
    pthread_mutex_unlock(&m->lock);
    return idx;
}

/* ---- trickle and hangup ---- */

typedef struct sb_media_cand_job {
    sb_handle_t *h;
    char *line; /* NULL: end of candidates */
} sb_media_cand_job_t;

static void sb_media_cand_on_loop(void *arg)
{
    sb_media_cand_job_t *j = arg;
    struct sb_peer *p = sb_handle_media_peer(j->h);
    if (p) {
        if (j->line)
            sb_peer_add_remote_candidate(p, j->line);
        else
            sb_peer_remote_candidates_done(p);
    }
    sb_handle_unref(j->h);
    sb_free(j->line);
    sb_free(j);
}

/* Hand one candidate (NULL: completed) to the peer, or keep it until the peer exists. */
static void sb_media_add_candidate(sb_handle_t *h, const char *line)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    sb_loop_t *loop = m->peer ? m->loop : NULL;
    if (!loop) {
        if (!line)
            m->pending_done = true;
        else if (m->pending->len < SB_MEDIA_MAX_PENDING_CANDIDATES)
            g_ptr_array_add(m->pending, sb_strdup(line));
        pthread_mutex_unlock(&m->lock);
        return;
    }
    pthread_mutex_unlock(&m->lock);
    sb_media_cand_job_t *j = SB_NEW(sb_media_cand_job_t);
    sb_handle_ref(h);
    j->h = h;
    j->line = sb_strdup(line);
    if (sb_loop_post(loop, sb_media_cand_on_loop, j) < 0) {
        sb_handle_unref(h);
        sb_free(j->line);
        sb_free(j);
    }
}

/* One trickle candidate object: {"candidate":"...","sdpMid":..} or {"completed":true}. */
static int sb_media_trickle_one(sb_handle_t *h, json_t *c)
{
    if (json_is_null(c) || json_is_true(json_object_get(c, "completed"))) {
        sb_media_add_candidate(h, NULL);
        return 0;
    }
    if (!json_is_object(c))
        return SB_EINVAL;
    json_t *line = json_object_get(c, "candidate");
    if (!json_is_string(line))
        return SB_ENOENT;
    if (json_string_length(line) == 0) { /* an empty candidate also means "done" */
        sb_media_add_candidate(h, NULL);
        return 0;
    }
    if (json_string_length(line) > 512)
        return SB_EINVAL;
    sb_sdp_candidate_t parsed;
    char why[128];
    if (sb_sdp_candidate_parse(json_string_value(line), &parsed, why, sizeof(why)) != 0)
        return SB_EINVAL; /* refused here, never handed to libnice */
    sb_media_add_candidate(h, json_string_value(line));
    return 0;
}

int sb_handle_media_trickle(sb_handle_t *h, json_t *candidate, json_t *candidates)
{
    if (candidates) {
        size_t i;
        json_t *c;
        if (json_array_size(candidates) > SB_MEDIA_MAX_PENDING_CANDIDATES)
            return SB_EINVAL;
        json_array_foreach(candidates, i, c)
        {
            int rc = sb_media_trickle_one(h, c);
            if (rc)
                return rc;
        }
        return 0;
    }
    return sb_media_trickle_one(h, candidate);
}

typedef struct sb_media_hangup_job {
    sb_handle_t *h;
    const char *reason;
} sb_media_hangup_job_t;

static void sb_media_hangup_on_loop(void *arg)
{
    sb_media_hangup_job_t *j = arg;
    struct sb_peer *p = sb_handle_media_peer(j->h);
    if (p)
        sb_peer_close(p, j->reason);
}

void sb_handle_media_hangup(sb_handle_t *h, const char *reason)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    sb_loop_t *loop = m->peer ? m->loop : NULL;
    g_ptr_array_set_size(m->pending, 0);
    m->pending_done = false;
    m->nstreams = 0;
    m->nkept = 0; /* a new PeerConnection starts afresh */
    m->restart_next_offer = false;
    pthread_mutex_unlock(&m->lock);
    if (!loop)
        return;
    sb_media_hangup_job_t j = {h, reason};
    sb_loop_call_sync(loop, sb_media_hangup_on_loop, &j);
}

sb_peer_owner_t *sb_handle_media_owner(sb_handle_t *h)
{
    return &sb_handle_media(h)->owner;
}

struct sb_peer *sb_handle_media_peer(sb_handle_t *h)
{
    /* Only the loop writes m->peer, so the loop reads it without the lock: this sits on
     * the forwarding path, once per packet per subscriber. */
    return sb_handle_media(h)->peer;
}

typedef struct sb_media_info_job {
    sb_handle_t *h;
    json_t *info;
} sb_media_info_job_t;

static void sb_media_info_on_loop(void *arg)
{
    sb_media_info_job_t *j = arg;
    struct sb_peer *p = sb_handle_media_peer(j->h);
    if (p && !sb_peer_is_closing(p))
        j->info = sb_peer_info(p);
}

json_t *sb_handle_media_info(sb_handle_t *h)
{
    sb_handle_media_t *m = sb_handle_media(h);
    pthread_mutex_lock(&m->lock);
    sb_loop_t *loop = m->peer ? m->loop : NULL;
    pthread_mutex_unlock(&m->lock);
    sb_media_info_job_t j = {h, NULL};
    if (loop)
        sb_loop_call_sync(loop, sb_media_info_on_loop, &j);
    return j.info;
}
