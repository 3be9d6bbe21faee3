/* Process-wide media set-up (see media.h). */
#include "peer/media.h"

#include <glib.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchboard/id.h"

#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "loop/loop.h"
#include "peer/ice.h"
#include "peer/ice_iface.h"
#include "peer/peer.h"
#include "peer/peer_cc_trace.h"
#include "peer/peer_data.h"
#include "peer/peer_metrics.h"
#include "proto/cert.h"
#include "proto/dtls.h"
#include "proto/stun_binding.h"
#include "proto/srtp.h"

static struct {
    sb_cert_t *cert;
    sb_ice_config_t ice;
    char stun_host[64], turn_host[64];
    char **allow, **deny;
    char **nat_mapping;
} sb_media;

/* Resolve a STUN/TURN host name to a numeric address at start-up. */
static int sb_media_resolve(const char *name, char *out, size_t out_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
        return SB_ENOENT;
    int rc = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)out_len, NULL, 0,
                         NI_NUMERICHOST);
    freeaddrinfo(res);
    return rc == 0 ? 0 : SB_ENOENT;
}

/* "eth0, 10.0." → NULL-terminated strv (NULL for an empty list). */
static char **sb_media_list(const char *text)
{
    if (!text || !*text)
        return NULL;
    char **parts = g_strsplit_set(text, ", ", -1);
    GPtrArray *out = g_ptr_array_new();
    for (char **p = parts; *p; p++) {
        if (**p)
            g_ptr_array_add(out, g_strdup(*p));
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

#define SB_MEDIA_STUN_TRIES 3
#define SB_MEDIA_STUN_WAIT_MS 500

/* At start-up, ask the STUN server which address it sees us from: the public address
 * clients will reach through the server-reflexive candidates libnice gathers per call (or
 * a warning now, rather than calls that fail later, when the server does not answer).
 * Blocks at most SB_MEDIA_STUN_TRIES * SB_MEDIA_STUN_WAIT_MS. */
static void sb_media_stun_discover(const char *host, unsigned port)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM}, *res;
    char service[12];
    snprintf(service, sizeof(service), "%u", port ? port : 3478);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    uint8_t txid[SB_STUN_TXID_LEN], req[SB_STUN_BINDING_REQUEST_LEN], buf[512];
    sb_random_bytes(txid, sizeof(txid));
    sb_stun_binding_request(req, txid);
    struct sockaddr_storage mapped;
    int found = SB_ENOENT;
    /* One absolute deadline per try: datagrams that are not the answer (spoofed or stray)
     * do not extend the wait. */
    for (int i = 0; ok && found != 0 && i < SB_MEDIA_STUN_TRIES; i++) {
        if (send(fd, req, sizeof(req), 0) < 0)
            break;
        int64_t deadline = sb_now_us() + SB_MEDIA_STUN_WAIT_MS * 1000LL;
        for (;;) {
            int64_t left_ms = (deadline - sb_now_us()) / 1000;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (found == 0 || left_ms <= 0 || poll(&pfd, 1, (int)left_ms) != 1)
                break;
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n < 0)
                break;
            found = sb_stun_binding_parse(buf, (size_t)n, txid, &mapped);
        }
    }
    if (fd >= 0)
        close(fd);
    if (found != 0) {
        SB_WARN("media", "no answer from STUN server %s:%s: clients outside this network may "
                         "not reach us (set nat.nat_1_1_mapping?)", host, service);
        return;
    }
    char addr[INET6_ADDRSTRLEN] = "?";
    const void *a = mapped.ss_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)&mapped)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)&mapped)->sin6_addr;
    inet_ntop(mapped.ss_family, a, addr, sizeof(addr));
    SB_INFO("media", "public address %s, as STUN server %s:%s sees us", addr, host, service);
}

static int sb_media_ice_config(const sb_config_t *cfg)
{
    sb_ice_config_t *ice = &sb_media.ice;
    memset(ice, 0, sizeof(*ice));
    if (cfg->stun_server && *cfg->stun_server) {
        if (sb_media_resolve(cfg->stun_server, sb_media.stun_host, sizeof(sb_media.stun_host)) < 0)
            SB_WARN("media", "cannot resolve STUN server %s: no srflx candidates",
                    cfg->stun_server);
        else
            ice->stun_host = sb_media.stun_host;
        ice->stun_port = (uint16_t)cfg->stun_port;
        if (ice->stun_host)
            sb_media_stun_discover(ice->stun_host, cfg->stun_port);
    }
    if (cfg->turn_server && *cfg->turn_server) {
        if (sb_media_resolve(cfg->turn_server, sb_media.turn_host, sizeof(sb_media.turn_host)) < 0)
            SB_WARN("media", "cannot resolve TURN server %s", cfg->turn_server);
        else
            ice->turn_host = sb_media.turn_host;
        ice->turn_port = (uint16_t)cfg->turn_port;
        ice->turn_user = cfg->turn_user;
        ice->turn_pass = cfg->turn_pwd;
        ice->turn_transport = !strcmp(cfg->turn_type ? cfg->turn_type : "udp", "tcp")
                                  ? SB_ICE_TURN_TCP
                              : !strcmp(cfg->turn_type ? cfg->turn_type : "udp", "tls")
                                  ? SB_ICE_TURN_TLS
                                  : SB_ICE_TURN_UDP;
    }
    ice->port_min = (uint16_t)cfg->rtp_port_min;
    ice->port_max = (uint16_t)cfg->rtp_port_max;
    sb_media.allow = sb_media_list(cfg->ice_enforce_list);
    sb_media.deny = sb_media_list(cfg->ice_ignore_list);
    if ((sb_media.allow && sb_ice_iface_validate((const char *const *)sb_media.allow) < 0) ||
        (sb_media.deny && sb_ice_iface_validate((const char *const *)sb_media.deny) < 0)) {
        SB_ERROR("media", "invalid ice_enforce_list or ice_ignore_list");
        return SB_EINVAL;
    }
    ice->allow = (const char *const *)sb_media.allow;
    ice->deny = (const char *const *)sb_media.deny;
    ice->ipv6 = cfg->ipv6;
    ice->ice_tcp = cfg->ice_tcp;
    sb_media.nat_mapping = sb_media_list(cfg->nat_1_1_mapping);
    for (char **a = sb_media.nat_mapping; a && *a; a++) {
        if (!g_hostname_is_ip_address(*a)) {
            SB_ERROR("media", "nat_1_1_mapping: '%s' is not an IP address", *a);
            return SB_EINVAL;
        }
        SB_INFO("media", "announcing %s for host candidates%s", *a,
                cfg->keep_private_host ? " (and the private addresses too)" : "");
    }
    ice->nat_mapping = (const char *const *)sb_media.nat_mapping;
    ice->keep_private_host = cfg->keep_private_host;
    if (cfg->ice_tcp)
        SB_INFO("media", "ICE-TCP: passive TCP host candidates too");
    return 0;
}

int sb_media_start(const sb_config_t *cfg)
{
    if (sb_srtp_init() < 0) {
        SB_ERROR("media", "libsrtp initialisation failed");
        return SB_EIO;
    }
    int rc = cfg->dtls_cert && *cfg->dtls_cert
                 ? sb_cert_load(cfg->dtls_cert, cfg->dtls_key, cfg->dtls_key_passphrase,
                                &sb_media.cert)
                 : sb_cert_generate(&sb_media.cert);
    if (rc < 0) {
        SB_ERROR("media", "DTLS certificate: %s", sb_strerror(rc));
        return rc;
    }
    rc = sb_media_ice_config(cfg);
    if (rc < 0)
        return rc;
    if (cfg->data_max_message_size < 1024) {
        SB_ERROR("media", "data_max_message_size must be 1024..16777216 bytes");
        return SB_EINVAL;
    }
    sb_peer_globals_set(&(sb_peer_globals_t){
        .cert = sb_media.cert, .ice = &sb_media.ice, .nack_history_ms = cfg->nack_history_ms,
        .data_max_message = cfg->data_max_message_size});
    if (sb_peer_data_global_start() < 0) {
        SB_ERROR("media", "cannot start SCTP (data channels)");
        return SB_EIO;
    }
    sb_peer_cc_trace_start();
    sb_peer_metrics_init();
    rc = sb_loops_start(cfg->loops);
    if (rc < 0) {
        SB_ERROR("media", "cannot start the media loops");
        return rc;
    }
    SB_INFO("media", "%u media loops, DTLS fingerprint %s", sb_loops_count(),
            sb_cert_fingerprint(sb_media.cert));
    return 0;
}

void sb_media_stop(void)
{
    sb_loops_stop();
    sb_peer_data_global_stop();
    sb_cert_free(sb_media.cert);
    sb_media.cert = NULL;
    g_strfreev(sb_media.allow);
    g_strfreev(sb_media.deny);
    g_strfreev(sb_media.nat_mapping);
    sb_media.allow = sb_media.deny = NULL;
    sb_media.nat_mapping = NULL;
    sb_dtls_global_deinit();
    sb_srtp_deinit();
}
