/* ICE for one peer over libnice (see ice.h): agent set-up, local addresses, candidates in and
 * out as SDP attribute values, credentials, state changes mapped to on_connected/on_failed,
 * the receive callback, sends, and the selected socket for a batched-send fast path.
 *
 * libnice skips loopback when it enumerates interfaces itself, so we always enumerate
 * (sb_ice_iface_collect, loopback allowed) and add each address with
 * nice_agent_add_local_address; when none passes the lists we do not let libnice enumerate
 * (it would ignore them): gathering ends at once with no candidate.
 *
 * Consent (RFC 7675): the agent is built with libnice's "consent-freshness" property when this
 * libnice has it (0.1.19+: Debian's 0.1.21 does), and the component fails when consent
 * expires: 30 s without an answered check, as the RFC says (libnice alone gives up after 10 s:
 * see sb_ice_consent_renew). Older libnice: keepalives become binding requests that
 * expect answers ("keepalive-conncheck"), and libnice fails the component when they go
 * unanswered (measured: 50 s); a watch timer also fails a peer left DISCONNECTED for 30 s.
 *
 * Does not: parse SDP beyond one candidate line, do DTLS, or know about peers and sessions.
 * Thread: the loop thread running ctx, for every call and callback. */
#include "peer/ice.h"
#include "peer/ice_internal.h"

#include <errno.h>
#include <nice/agent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "loop/subctx.h"
#include "peer/ice_iface.h"
#include "peer/ice_text.h"

#define SB_ICE_MAX_LOCAL_ADDRS 32
#define SB_ICE_DEFAULT_MAX_REMOTE 32
#define SB_ICE_DEFAULT_CONNECT_TIMEOUT_MS 30000
#define SB_ICE_CONSENT_TIMEOUT_US (30 * 1000000LL)
/* libnice 0.1.21's own consent timeout (NICE_AGENT_TIMER_CONSENT_TIMEOUT), and how long after
 * the pair was selected again a lapse can come at the earliest (a check within its 4 s
 * keepalive tick, then 10 s) and at the latest without an answer in between. */
#define SB_ICE_LIBNICE_CONSENT_US (10 * 1000000LL)
#define SB_ICE_RENEW_MIN_US (SB_ICE_LIBNICE_CONSENT_US - 500000LL)
#define SB_ICE_RENEW_STREAK_US (SB_ICE_LIBNICE_CONSENT_US + 7 * 1000000LL)
#define SB_ICE_TURN_CLOSE_US (5 * 1000000LL) /* releasing TURN allocations at most this long */


/* The context libnice runs the agent on: its own, or the loop's. */
static GMainContext *sb_ice_agent_ctx(const sb_ice_t *ice)
{
    return ice->sub ? sb_subctx_context(ice->sub) : ice->ctx;
}

/* After a call into libnice from outside its context's iteration (it may have added a timer
 * or a socket): the scheduler runs the agent's context at the loop's next iteration. */
static void sb_ice_touch(sb_ice_t *ice)
{
    if (ice->sub)
        sb_subctx_touch(ice->sub);
}

/* ---- calling out ---- */

void sb_ice_fail(sb_ice_t *ice, const char *reason)
{
    if (ice->failed)
        return;
    ice->failed = true;
    sb_ice_fast_stop(ice, true); /* libnice's callback drops what comes now */
    SB_INFO("ice", "agent %p failed: %s", (void *)ice, reason);
    ice->in_callback++;
    ice->ops->on_failed(ice->opctx, reason);
    ice->in_callback--;
}

static void sb_ice_set_connected(sb_ice_t *ice)
{
    if (ice->connected || ice->failed)
        return;
    ice->connected = true;
    ice->connect_deadline_us = 0;
    ice->in_callback++;
    ice->ops->on_connected(ice->opctx);
    ice->in_callback--;
}

static void sb_ice_gathering_done(sb_ice_t *ice)
{
    if (!ice->gathering)
        return;
    ice->gathering = false;
    ice->in_callback++;
    ice->ops->on_gathering_done(ice->opctx);
    ice->in_callback--;
}

/* ---- libnice signals ---- */

static void sb_ice_emit_candidate(sb_ice_t *ice, const char *value)
{
    ice->in_callback++;
    ice->ops->on_local_candidate(ice->opctx, value);
    ice->in_callback--;
}

static void sb_ice_on_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    sb_ice_t *ice = data;
    if (cand->stream_id != ice->stream || cand->component_id != SB_ICE_COMPONENT)
        return;
    gchar *sdp = nice_agent_generate_local_candidate_sdp(agent, cand);
    if (!sdp)
        return;
    const char *value = g_str_has_prefix(sdp, "a=") ? sdp + 2 : sdp;
    bool announced = false;
    if (ice->nat_mapping && cand->type == NICE_CANDIDATE_TYPE_HOST) {
        /* The public addresses first, at the candidate's own priority and one lower for
         * each further one; with keep_private_host the private address comes last, below
         * them (clients outside, the usual case, then check the reachable one first). */
        bool host_v6 = nice_address_ip_version(&cand->addr) == 6;
        unsigned dec = 0;
        char line[SB_ICE_LINE_MAX];
        for (char **a = ice->nat_mapping; *a; a++) {
            if ((strchr(*a, ':') != NULL) != host_v6 ||
                !sb_ice_remap(value, *a, dec, line, sizeof(line)))
                continue;
            sb_ice_emit_candidate(ice, line);
            announced = true;
            dec++;
        }
        char own[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&cand->addr, own);
        if (announced && ice->keep_private_host &&
            sb_ice_remap(value, own, dec, line, sizeof(line)))
            sb_ice_emit_candidate(ice, line);
    }
    if (!announced) /* no mapping for this candidate's family: its own address */
        sb_ice_emit_candidate(ice, value);
    g_free(sdp);
}

static void sb_ice_on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
    sb_ice_t *ice = data;
    if (stream == ice->stream)
        sb_ice_gathering_done(ice);
}

/* libnice 0.1.21 declares consent lost 10 s after the last answered check; RFC 7675 (section
 * 5.1) says 30 s. Its checks go every 4-6 s and are never retransmitted, so one lost check or
 * answer could end a call: 5 % loss each way ended calls within seconds, and so did a 5 s
 * blackout (tests/integration/test_faults_aiortc.py). So while the pair has been silent for
 * less than 30 s, the same pair is selected again: libnice then has consent again, sends a
 * check at its next keepalive tick and counts its 10 s anew; an answer ends the streak. A
 * FAILED sooner than 10 s after that is no lapse of the timer (an explicit revocation, a
 * socket gone): it ends the peer, as does a pair that cannot be selected again as it was.
 * Returns true when renewed. */
static bool sb_ice_consent_renew(sb_ice_t *ice)
{
    int64_t now = sb_now_us();
    int64_t since = now - ice->consent_renewed_us;
    if (ice->consent_renewed_us && since < SB_ICE_RENEW_MIN_US)
        return false;
    if (!ice->consent_lapse_us || !ice->consent_renewed_us || since > SB_ICE_RENEW_STREAK_US)
        ice->consent_lapse_us = now; /* an answer came since the last renewal: a new streak */
    int64_t silent = now - ice->consent_lapse_us + SB_ICE_LIBNICE_CONSENT_US;
    if (silent >= SB_ICE_CONSENT_TIMEOUT_US)
        return false;
    ice->consent_renewed_us = now;
    if (!sb_ice_reselect(ice))
        return false;
    SB_INFO("ice", "agent %p: no consent answer for %lld s: checking again", (void *)ice,
            (long long)(silent / 1000000));
    return true;
}

bool sb_ice_reselect(sb_ice_t *ice)
{
    NiceCandidate *local = NULL, *remote = NULL;
    if (!nice_agent_get_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, &local, &remote))
        return false;
    NiceAddress addr = remote->addr;
    gchar lf[NICE_CANDIDATE_MAX_FOUNDATION], rf[NICE_CANDIDATE_MAX_FOUNDATION];
    g_strlcpy(lf, local->foundation, sizeof(lf));
    g_strlcpy(rf, remote->foundation, sizeof(rf));
    if (!nice_agent_set_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, lf, rf) ||
        !nice_agent_get_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, &local, &remote) ||
        !nice_address_equal(&remote->addr, &addr))
        return false;
    sb_ice_touch(ice);
    return true;
}

static void sb_ice_on_state(NiceAgent *agent, guint stream, guint component, guint state,
                            gpointer data)
{
    sb_ice_t *ice = data;
    if (stream != ice->stream || component != SB_ICE_COMPONENT)
        return;
    SB_DEBUG("ice", "agent %p: %s", (void *)ice, nice_component_state_to_string(state));
    switch (state) {
    case NICE_COMPONENT_STATE_CONNECTING:
        ice->checks_failed = false; /* new candidates: checks again */
        break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        ice->checks_failed = false;
        ice->unusable_since_us = 0;
        if (state == NICE_COMPONENT_STATE_READY)
            sb_ice_set_connected(ice);
        break;
    case NICE_COMPONENT_STATE_FAILED:
        if ((!ice->connected || ice->restarting) && !ice->remote_done) {
            /* Trickle ICE (RFC 8838 section 8): every check so far failed, but the peer has
             * not sent end-of-candidates; libnice 0.1.21 gives up regardless. Keep waiting
             * for more candidates (or peer-reflexive checks) until end-of-candidates or the
             * connect timeout; a new candidate takes libnice back to CONNECTING. */
            ice->checks_failed = true;
            break;
        }
        if (ice->restarting) {
            sb_ice_fail(ice, "ice restart failed");
            break;
        }
        if (ice->fast.entry) {
            /* We read the pair: libnice never sees an answer to its checks. Ours decide. */
            if (sb_ice_fast_consent_fresh(ice, sb_now_us()) && sb_ice_reselect(ice))
                break;
        } else if (ice->connected && ice->native_consent && sb_ice_consent_renew(ice)) {
            break;
        }
        sb_ice_fail(ice, ice->connected ? "consent lost" : "ice failed");
        break;
    case NICE_COMPONENT_STATE_DISCONNECTED:
        if (ice->connected && !ice->unusable_since_us)
            ice->unusable_since_us = sb_now_us();
        break;
    default:
        break;
    }
}

/* Sets or clears DF on the fast path's socket (IPv4 only: IPv6 routers never fragment).
 * With DF set (IP_PMTUDISC_DO) the kernel skips choosing an IP identification per datagram
 * (__ip_select_ident was 4 % of a fan-out's CPU). A datagram larger than the interface MTU or
 * than a path MTU learned from ICMP is then refused with EMSGSIZE: sb_ice_send clears DF on
 * that socket and sends it again, so the kernel fragments it as before (a router on a smaller
 * path cannot, with DF: hence DO, which learns, rather than PROBE, which would not). Returns
 * true when the option took. */
static bool sb_ice_fast_df(sb_ice_t *ice, bool on)
{
    int mode = on ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
    return ice->fast_fd >= 0 && ice->fast_peer.ss_family == AF_INET &&
           setsockopt(ice->fast_fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof(mode)) == 0;
}

static void sb_ice_on_selected_pair(NiceAgent *agent, guint stream, guint component,
                                    NiceCandidate *local, NiceCandidate *remote, gpointer data)
{
    sb_ice_t *ice = data;
    if (stream != ice->stream || component != SB_ICE_COMPONENT)
        return;
    SB_DEBUG("ice", "agent %p: selected pair %s -> %s", (void *)ice, local->foundation,
             remote->foundation);
    int was = ice->fast_fd;
    ice->fast_fd = -1; /* the lookup below runs with the pair libnice just selected */
    int fd = sb_ice_selected_socket_fd(ice, &ice->fast_peer, &ice->fast_peer_len);
    ice->fast_fd = fd >= 0 ? fd : -1;
    if (ice->fast_fd != was) /* the same pair selected again keeps what DF learnt */
        sb_ice_fast_df(ice, true);
    sb_ice_set_connected(ice);
    if (ice->restarting && ice->remote_ufrag) {
        ice->restarting = false;
        ice->unusable_since_us = ice->consent_lapse_us = ice->consent_renewed_us = 0;
        SB_INFO("ice", "agent %p: ICE restart done, new pair selected", (void *)ice);
        if (ice->ops->on_restarted) {
            ice->in_callback++;
            ice->ops->on_restarted(ice->opctx);
            ice->in_callback--;
        }
    }
    if (ice->fast_fd >= 0)
        sb_ice_fast_start(ice);
    else
        sb_ice_fast_stop(ice, true); /* relayed or TCP: libnice's to read */
}

void sb_ice_deliver(sb_ice_t *ice, uint8_t *buf, size_t len)
{
    if (ice->failed)
        return;
    ice->in_callback++;
    ice->ops->on_recv(ice->opctx, buf, len);
    ice->in_callback--;
}

static void sb_ice_on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                           gpointer data)
{
    sb_ice_deliver(data, (uint8_t *)buf, len);
}

/* Where libnice's socket sources wait while we read the selected socket: a context nobody
 * iterates (libnice would take a NULL one as the default context, which a thread may run). */
static GMainContext *sb_ice_parking(void)
{
    static GMainContext *parked;
    if (g_once_init_enter(&parked))
        g_once_init_leave(&parked, g_main_context_new());
    return parked;
}

void sb_ice_libnice_reads(sb_ice_t *ice, bool on)
{
    if (on)
        nice_agent_attach_recv(ice->agent, ice->stream, SB_ICE_COMPONENT, sb_ice_agent_ctx(ice),
                               sb_ice_on_recv, ice);
    else
        nice_agent_attach_recv(ice->agent, ice->stream, SB_ICE_COMPONENT, sb_ice_parking(), NULL,
                               NULL);
    sb_ice_touch(ice); /* the agent's context has other fds now */
}

/* ---- timers ---- */

static gboolean sb_ice_on_watch(gpointer data)
{
    sb_ice_t *ice = data;
    int64_t now = sb_now_us();
    if (ice->failed)
        return G_SOURCE_CONTINUE;
    if (!ice->connected && ice->connect_deadline_us && now >= ice->connect_deadline_us)
        sb_ice_fail(ice, "ice timeout");
    else if (ice->restarting && now >= ice->restart_deadline_us)
        sb_ice_fail(ice, "ice restart timeout");
    else if (!ice->native_consent && ice->unusable_since_us &&
             now - ice->unusable_since_us >= SB_ICE_CONSENT_TIMEOUT_US)
        sb_ice_fail(ice, "consent lost");
    return G_SOURCE_CONTINUE; /* not while we read the pair: the agent's context is held */
}

static gboolean sb_ice_on_idle_done(gpointer data)
{
    sb_ice_t *ice = data;
    g_source_unref(ice->idle);
    ice->idle = NULL;
    sb_ice_gathering_done(ice);
    return G_SOURCE_REMOVE;
}

/* ---- creation ---- */

/* Construct-only properties go in at construction. consent-freshness only when this libnice
 * knows it (0.1.19+); the nomination mode's enum type is read from the class, since libnice's
 * headers do not export it. Returns the agent and whether consent freshness is on. */
static NiceAgent *sb_ice_agent_new(GMainContext *ctx, bool controlling, bool *consent)
{
    GObjectClass *klass = g_type_class_ref(NICE_TYPE_AGENT);
    GParamSpec *nomination = g_object_class_find_property(klass, "nomination-mode");
    *consent = g_object_class_find_property(klass, "consent-freshness") != NULL;
    const char *names[5];
    GValue values[5] = {G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT};
    guint n = 0;
    names[n] = "compatibility";
    g_value_init(&values[n], G_TYPE_UINT);
    g_value_set_uint(&values[n++], NICE_COMPATIBILITY_RFC5245);
    names[n] = "main-context";
    g_value_init(&values[n], G_TYPE_POINTER);
    g_value_set_pointer(&values[n++], ctx);
    names[n] = "full-mode";
    g_value_init(&values[n], G_TYPE_BOOLEAN);
    g_value_set_boolean(&values[n++], TRUE);
    if (nomination && G_TYPE_IS_ENUM(nomination->value_type)) {
        /* Controlling (our offers: subscriber legs), nominate with the first check: libnice's
         * regular nomination sends the USE-CANDIDATE check two Ta ticks (20 ms each) after
         * the first check succeeded, which is most of a loopback join. Browsers and aiortc
         * accept USE-CANDIDATE on any check (RFC 8445 section 7.3.1.5). Controlled, the
         * mode does not matter: the other side nominates. */
        names[n] = "nomination-mode";
        g_value_init(&values[n], nomination->value_type);
        g_value_set_enum(&values[n++], controlling ? NICE_NOMINATION_MODE_AGGRESSIVE
                                                   : NICE_NOMINATION_MODE_REGULAR);
    }
    if (*consent) {
        names[n] = "consent-freshness";
        g_value_init(&values[n], G_TYPE_BOOLEAN);
        g_value_set_boolean(&values[n++], TRUE);
    }
    NiceAgent *agent = (NiceAgent *)g_object_new_with_properties(NICE_TYPE_AGENT, n, names, values);
    for (guint i = 0; i < n; i++)
        g_value_unset(&values[i]);
    g_type_class_unref(klass);
    return agent;
}

static int sb_ice_check_config(const sb_ice_config_t *cfg)
{
    if (cfg->stun_host && !sb_ice_is_ip(cfg->stun_host))
        return SB_EINVAL;
    if (cfg->turn_host && (!sb_ice_is_ip(cfg->turn_host) || !cfg->turn_user || !cfg->turn_pass))
        return SB_EINVAL;
    if (cfg->turn_transport > SB_ICE_TURN_TLS)
        return SB_EINVAL;
    if ((cfg->port_min || cfg->port_max) && (!cfg->port_min || cfg->port_min > cfg->port_max))
        return SB_EINVAL;
    if (sb_ice_iface_validate(cfg->allow) != 0 || sb_ice_iface_validate(cfg->deny) != 0)
        return SB_EINVAL;
    for (const char *const *a = cfg->nat_mapping; a && *a; a++) {
        if (!sb_ice_is_ip(*a))
            return SB_EINVAL;
    }
    return 0;
}

/* Host addresses: ours, with loopback, filtered; libnice gathers on exactly these. */
static void sb_ice_add_addresses(sb_ice_t *ice, const sb_ice_config_t *cfg)
{
    struct sockaddr_storage addrs[SB_ICE_MAX_LOCAL_ADDRS];
    int n = sb_ice_iface_collect(cfg->allow, cfg->deny, cfg->ipv6, addrs, SB_ICE_MAX_LOCAL_ADDRS);
    if (n < 0) {
        SB_WARN("ice", "cannot list interfaces: %s", sb_strerror(n));
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        NiceAddress na;
        nice_address_init(&na);
        nice_address_set_from_sockaddr(&na, (const struct sockaddr *)&addrs[i]);
        if (nice_agent_add_local_address(ice->agent, &na))
            ice->n_local_addrs++;
    }
    if (ice->n_local_addrs == 0)
        SB_WARN("ice", "no local address passes the interface lists: no host candidates");
}

static int sb_ice_configure(sb_ice_t *ice, const sb_ice_config_t *cfg, bool controlling)
{
    g_object_set(ice->agent, "controlling-mode", controlling, "ice-trickle", TRUE, "ice-udp", TRUE,
                 "ice-tcp", cfg->ice_tcp, "upnp", FALSE, "keepalive-conncheck",
                 !ice->native_consent, NULL);
    if (cfg->stun_host)
        g_object_set(ice->agent, "stun-server", cfg->stun_host, "stun-server-port",
                     (guint)(cfg->stun_port ? cfg->stun_port : 3478), NULL);
    sb_ice_add_addresses(ice, cfg);
    ice->stream = nice_agent_add_stream(ice->agent, 1);
    if (ice->stream == 0)
        return SB_EIO;
    nice_agent_set_stream_name(ice->agent, ice->stream, "application");
    if (cfg->port_min)
        nice_agent_set_port_range(ice->agent, ice->stream, SB_ICE_COMPONENT, cfg->port_min,
                                  cfg->port_max);
    if (cfg->turn_host) {
        static const NiceRelayType types[] = {NICE_RELAY_TYPE_TURN_UDP, NICE_RELAY_TYPE_TURN_TCP,
                                              NICE_RELAY_TYPE_TURN_TLS};
        guint port = cfg->turn_port ? cfg->turn_port
                                    : (cfg->turn_transport == SB_ICE_TURN_TLS ? 5349 : 3478);
        if (!nice_agent_set_relay_info(ice->agent, ice->stream, SB_ICE_COMPONENT, cfg->turn_host,
                                       port, cfg->turn_user, cfg->turn_pass,
                                       types[cfg->turn_transport]))
            return SB_EIO;
        ice->has_turn = true;
    }
    if (!nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd))
        return SB_EIO;
    return 0;
}

static int sb_ice_create(sb_subctx_sched_t *sched, GMainContext *ctx, const sb_ice_config_t *cfg,
                         bool controlling, const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out)
{
    if (!ctx || !cfg || !ops || !out || !ops->on_local_candidate || !ops->on_gathering_done ||
        !ops->on_connected || !ops->on_failed || !ops->on_recv)
        return SB_EINVAL;
    int rc = sb_ice_check_config(cfg);
    if (rc != 0)
        return rc;
    sb_ice_t *ice = SB_NEW(sb_ice_t);
    ice->fast_fd = -1;
    ice->ctx = g_main_context_ref(ctx);
    ice->sub = sched ? sb_subctx_new(sched) : NULL;
    ice->sched = sched;
    ice->controlling = controlling;
    ice->ops = ops;
    ice->opctx = opctx;
    ice->ice_tcp = cfg->ice_tcp;
    ice->keep_private_host = cfg->keep_private_host;
    ice->nat_mapping =
        cfg->nat_mapping && cfg->nat_mapping[0] ? g_strdupv((gchar **)cfg->nat_mapping) : NULL;
    ice->max_remote =
        cfg->max_remote_candidates ? cfg->max_remote_candidates : SB_ICE_DEFAULT_MAX_REMOTE;
    ice->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : SB_ICE_DEFAULT_CONNECT_TIMEOUT_MS;
    ice->agent = sb_ice_agent_new(sb_ice_agent_ctx(ice), controlling, &ice->native_consent);
    if (!ice->agent) {
        rc = SB_EIO;
        goto fail;
    }
    rc = sb_ice_configure(ice, cfg, controlling);
    if (rc != 0)
        goto fail;
    g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(sb_ice_on_candidate), ice);
    g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(sb_ice_on_gathering_done),
                     ice);
    g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(sb_ice_on_state), ice);
    g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(sb_ice_on_selected_pair),
                     ice);
    nice_agent_attach_recv(ice->agent, ice->stream, SB_ICE_COMPONENT, sb_ice_agent_ctx(ice),
                           sb_ice_on_recv, ice);
    ice->watch = g_timeout_source_new_seconds(1);
    g_source_set_callback(ice->watch, sb_ice_on_watch, ice, NULL);
    g_source_attach(ice->watch, sb_ice_agent_ctx(ice));
    sb_ice_touch(ice);
    *out = ice;
    return 0;
fail:
    SB_ERROR("ice", "cannot set up the ICE agent: %s", sb_strerror(rc));
    sb_ice_free(ice);
    return rc;
}

int sb_ice_new(GMainContext *ctx, const sb_ice_config_t *cfg, bool controlling,
               const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out)
{
    return sb_ice_create(NULL, ctx, cfg, controlling, ops, opctx, out);
}

int sb_ice_new_in(sb_subctx_sched_t *sched, GMainContext *ctx, const sb_ice_config_t *cfg,
                  bool controlling, const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out)
{
    if (!sched)
        return SB_EINVAL;
    return sb_ice_create(sched, ctx, cfg, controlling, ops, opctx, out);
}

/* ---- gathering and credentials ---- */

int sb_ice_gather(sb_ice_t *ice)
{
    if (ice->gather_started)
        return SB_ESTATE;
    ice->gather_started = true;
    ice->gathering = true;
    if (ice->n_local_addrs == 0) {
        /* Later, not inline: the caller may not expect a callback from inside this call. */
        ice->idle = g_idle_source_new();
        g_source_set_callback(ice->idle, sb_ice_on_idle_done, ice, NULL);
        g_source_attach(ice->idle, ice->ctx);
        return 0;
    }
    if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
        ice->gathering = false;
        return SB_EIO;
    }
    /* The sockets and check timers exist now: the scheduler picks them up at the loop's next
     * iteration (not inline: gathering-done may come from them, after this returns). */
    sb_ice_touch(ice);
    return 0;
}

void sb_ice_local_credentials(sb_ice_t *ice, const char **ufrag, const char **pwd)
{
    if (ufrag)
        *ufrag = ice->ufrag;
    if (pwd)
        *pwd = ice->pwd;
}

static int sb_ice_push_remote(sb_ice_t *ice, NiceCandidate *cand)
{
    GSList one = {.data = cand, .next = NULL};
    int added = nice_agent_set_remote_candidates(ice->agent, ice->stream, SB_ICE_COMPONENT, &one);
    nice_candidate_free(cand);
    sb_ice_touch(ice);
    return added < 0 ? SB_EIO : 0;
}

int sb_ice_set_remote_credentials(sb_ice_t *ice, const char *ufrag, const char *pwd)
{
    if (!sb_ice_chars_ok(ufrag, 4) || !sb_ice_chars_ok(pwd, 22))
        return SB_EINVAL;
    if (ice->remote_ufrag) {
        bool same = !strcmp(ice->remote_ufrag, ufrag) && !strcmp(ice->remote_pwd, pwd);
        return same ? 0 : SB_ENOTSUP;
    }
    if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd))
        return SB_EIO;
    ice->remote_ufrag = sb_strdup(ufrag);
    ice->remote_pwd = sb_strdup(pwd);
    ice->connect_deadline_us = sb_now_us() + (int64_t)ice->connect_timeout_ms * 1000;
    ice->pending = g_slist_reverse(ice->pending);
    for (GSList *l = ice->pending; l; l = l->next)
        sb_ice_push_remote(ice, l->data);
    g_slist_free(ice->pending);
    ice->pending = NULL;
    if (ice->remote_done)
        nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
    sb_ice_touch(ice);
    return 0;
}

int sb_ice_restart(sb_ice_t *ice)
{
    if (ice->failed || !ice->remote_ufrag)
        return SB_ESTATE;
    sb_ice_fast_stop(ice, true); /* libnice runs the new checks on that socket too */
    if (!nice_agent_restart_stream(ice->agent, ice->stream))
        return SB_EIO;
    g_free(ice->ufrag);
    g_free(ice->pwd);
    ice->ufrag = ice->pwd = NULL;
    if (!nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd))
        return SB_EIO;
    sb_free(ice->remote_ufrag);
    sb_free(ice->remote_pwd);
    ice->remote_ufrag = ice->remote_pwd = NULL;
    g_slist_free_full(ice->pending, (GDestroyNotify)nice_candidate_free);
    ice->pending = NULL;
    ice->remote_count = 0;
    ice->remote_done = ice->checks_failed = false;
    ice->restarting = true;
    ice->restart_deadline_us = sb_now_us() + (int64_t)ice->connect_timeout_ms * 1000;
    sb_ice_touch(ice);
    return 0;
}

void sb_ice_remote_credentials(const sb_ice_t *ice, const char **ufrag, const char **pwd)
{
    *ufrag = ice->remote_ufrag;
    *pwd = ice->remote_pwd;
}

int sb_ice_add_remote_candidate(sb_ice_t *ice, const char *line)
{
    char sdp[SB_ICE_LINE_MAX];
    if (!line || sb_ice_normalize(line, sdp, sizeof(sdp)) != 0)
        return SB_EINVAL;
    if (ice->remote_count >= ice->max_remote)
        return SB_ENOMEM;
    NiceCandidate *cand = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, sdp);
    if (!cand)
        return strstr(sdp, ".local ") ? SB_ENOTSUP : SB_EINVAL; /* mDNS: nothing to resolve */
    if (cand->component_id != SB_ICE_COMPONENT ||
        (cand->transport != NICE_CANDIDATE_TRANSPORT_UDP && !ice->ice_tcp)) {
        nice_candidate_free(cand);
        return SB_ENOTSUP;
    }
    ice->remote_count++;
    if (!ice->remote_ufrag) {
        ice->pending = g_slist_prepend(ice->pending, cand);
        return 0;
    }
    return sb_ice_push_remote(ice, cand);
}

int sb_ice_remote_gathering_done(sb_ice_t *ice)
{
    ice->remote_done = true;
    if (ice->remote_ufrag)
        nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
    sb_ice_touch(ice);
    /* Every check had already failed and no candidate came since: that was the last word. */
    if (ice->checks_failed && (!ice->connected || ice->restarting))
        sb_ice_fail(ice, ice->restarting ? "ice restart failed" : "ice failed");
    return 0;
}

/* ---- data ---- */

int sb_ice_send(sb_ice_t *ice, const uint8_t *buf, size_t len)
{
    if (len == 0 || len > 65535)
        return SB_EINVAL;
    if (ice->failed)
        return SB_ESTATE;
    if (ice->fast_fd >= 0) {
        ssize_t n = sendto(ice->fast_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ice->fast_peer,
                           ice->fast_peer_len);
        if (n < 0 && errno == EMSGSIZE && sb_ice_fast_df(ice, false))
            n = sendto(ice->fast_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ice->fast_peer,
                       ice->fast_peer_len);
        /* A full socket buffer drops the datagram, as a congested network would. */
        return n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : SB_EIO;
    }
    gint sent =
        nice_agent_send(ice->agent, ice->stream, SB_ICE_COMPONENT, (guint)len, (const gchar *)buf);
    sb_ice_touch(ice); /* a TURN permission or channel binding may have been started */
    if (sent < 0)
        return ice->connected ? SB_EIO : SB_ESTATE;
    return 0;
}

int sb_ice_selected_socket_fd(sb_ice_t *ice, struct sockaddr_storage *peer, socklen_t *peer_len)
{
    NiceCandidate *local = NULL, *remote = NULL;
    if (ice->failed ||
        !nice_agent_get_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, &local, &remote))
        return SB_ENOENT;
    if (local->type == NICE_CANDIDATE_TYPE_RELAYED ||
        local->transport != NICE_CANDIDATE_TRANSPORT_UDP)
        return SB_ENOENT;
    GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream, SB_ICE_COMPONENT);
    if (!sock)
        return SB_ENOENT;
    int fd = g_socket_get_fd(sock);
    g_object_unref(sock); /* libnice keeps its own reference */
    if (peer) {
        memset(peer, 0, sizeof(*peer));
        nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)peer);
        if (peer_len)
            *peer_len = peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                    : sizeof(struct sockaddr_in);
    }
    return fd;
}

bool sb_ice_is_connected(const sb_ice_t *ice)
{
    return ice->connected && !ice->failed;
}

/* ---- teardown ---- */

static void sb_ice_drop_source(GSource **src)
{
    if (!*src)
        return;
    g_source_destroy(*src);
    g_source_unref(*src);
    *src = NULL;
}

/* TURN allocations released (or given up): the lingering agent context can go. */
static void sb_ice_on_closed(GObject *agent, GAsyncResult *res, gpointer data)
{
    (void)agent;
    (void)res;
    sb_subctx_done(data);
}

void sb_ice_free(sb_ice_t *ice)
{
    if (!ice)
        return;
    SB_ASSERT(ice->in_callback == 0); /* never from inside our own callback chain */
    sb_ice_drop_source(&ice->idle);
    sb_ice_drop_source(&ice->watch);
    sb_ice_fast_stop(ice, false); /* before libnice closes the socket */
    sb_ice_fast_log(ice);
    bool linger = false;
    GMainContext *agent_ctx = sb_ice_agent_ctx(ice);
    if (ice->agent) {
        g_signal_handlers_disconnect_by_data(ice->agent, ice);
        if (ice->stream)
            nice_agent_attach_recv(ice->agent, ice->stream, SB_ICE_COMPONENT, agent_ctx, NULL,
                                   NULL);
        if (ice->has_turn) {
            /* Release TURN allocations. The task holds the agent and completes on the
             * thread-default context, so make that the agent's, which keeps running after us:
             * the loop's, or the agent's own, left to linger until the task is done. */
            g_main_context_push_thread_default(agent_ctx);
            nice_agent_close_async(ice->agent, ice->sub ? sb_ice_on_closed : NULL, ice->sub);
            g_main_context_pop_thread_default(agent_ctx);
            linger = ice->sub != NULL;
        }
        g_object_unref(ice->agent);
    }
    if (linger)
        sb_subctx_linger(ice->sub, SB_ICE_TURN_CLOSE_US);
    else
        sb_subctx_free(ice->sub);
    g_slist_free_full(ice->pending, (GDestroyNotify)nice_candidate_free);
    g_free(ice->ufrag);
    g_free(ice->pwd);
    sb_free(ice->remote_ufrag);
    sb_free(ice->remote_pwd);
    g_strfreev(ice->nat_mapping);
    sb_free(ice->fast.username_in);
    sb_hmac_sha1_clear(&ice->fast.our_key);
    sb_hmac_sha1_clear(&ice->fast.their_key);
    g_main_context_unref(ice->ctx);
    sb_free(ice);
}

