/* ICE for one PeerConnection: the only user of libnice in Switchboard.
 *
 * One NiceAgent per peer, created on the peer's loop context: full ICE (RFC 8445 through
 * libnice's RFC 5245 mode, regular nomination), one stream with one component (rtcp-mux and
 * BUNDLE), trickle on, ICE-TCP off unless configured, RFC 7675 consent freshness. Host
 * candidates come from sb_ice_iface_collect (loopback allowed; allow/deny lists decide).
 *
 * Thread: everything, calls and callbacks, on the thread running ctx (the peer's loop).
 * Callbacks may come from inside an sb_ice_* call (e.g. local candidates during gather).
 * The owner must not call sb_ice_free from inside a callback: mark the peer closing and free
 * it later in the loop iteration (sb_ice_free asserts this). */
#ifndef SB_PEER_ICE_H
#define SB_PEER_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct sb_ice sb_ice_t;

typedef enum sb_ice_turn_transport {
    SB_ICE_TURN_UDP = 0,
    SB_ICE_TURN_TCP,
    SB_ICE_TURN_TLS,
} sb_ice_turn_transport_t;

/* Borrowed for the duration of sb_ice_new only. Hosts are numeric addresses (names are
 * resolved once at start-up by the config layer, never on a media loop). */
typedef struct sb_ice_config {
    const char *stun_host; /* NULL: no server-reflexive candidates */
    uint16_t stun_port;    /* 0: 3478 */
    const char *turn_host; /* NULL: no relay candidates */
    uint16_t turn_port;    /* 0: 3478 (5349 for TLS) */
    const char *turn_user;
    const char *turn_pass;
    sb_ice_turn_transport_t turn_transport;
    uint16_t port_min, port_max;    /* local UDP port range; 0/0: any */
    const char *const *allow;       /* interface allow list (ice_iface.h), NULL-terminated */
    const char *const *deny;        /* interface deny list */
    bool ipv6;                      /* also gather IPv6 (including ::1) */
    bool ice_tcp;                   /* also gather ICE-TCP candidates */
    /* 1:1 NAT: host candidates are announced with these numeric addresses (each to the
     * host candidates of its family) in place of their own, or beside them with
     * keep_private_host. NULL-terminated; NULL: none. */
    const char *const *nat_mapping;
    bool keep_private_host;
    unsigned max_remote_candidates; /* 0: 32 */
    unsigned connect_timeout_ms;    /* fail when not connected this long after the remote
                                       credentials are set; 0: 30000 */
} sb_ice_config_t;

/* Callbacks, on the loop thread; ctx is the opctx given to sb_ice_new. */
typedef struct sb_ice_ops {
    /* A local candidate as "candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host": the value
     * of an SDP a=candidate line with its "candidate:" name, as Janus trickle events carry it.
     * Borrowed for the call. */
    void (*on_local_candidate)(void *ctx, const char *candidate);
    void (*on_gathering_done)(void *ctx);
    /* A pair was selected, the first time only. */
    void (*on_connected)(void *ctx);
    /* ICE failed, timed out, or consent was lost (RFC 7675): final, called once. */
    void (*on_failed)(void *ctx, const char *reason);
    /* A datagram from the peer (DTLS, SRTP, SRTCP: STUN is handled inside). buf may be
     * modified in place; valid during the call only. */
    void (*on_recv)(void *ctx, uint8_t *buf, size_t len);
    /* Optional: after sb_ice_restart, a pair was selected with the new credentials (the new
     * path is up: time to ask for keyframes). */
    void (*on_restarted)(void *ctx);
} sb_ice_ops_t;

/* Create the agent on ctx (the peer's loop context, owned by the caller and outliving the
 * agent's teardown). ops and opctx are borrowed for the agent's life. Returns 0, SB_EINVAL
 * (bad config), SB_EIO (libnice refused). *out is owned: sb_ice_free. */
int sb_ice_new(GMainContext *ctx, const sb_ice_config_t *cfg, bool controlling,
               const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out);

/* The same, with the agent in a context of its own run by sched (the loop's scheduler, on
 * ctx: loop/subctx.h), so the loop's iterations do not walk the agent's sockets and timers:
 * what the media loops use. Callbacks still come on the loop thread. SB_EINVAL without sched. */
struct sb_subctx_sched;
int sb_ice_new_in(struct sb_subctx_sched *sched, GMainContext *ctx, const sb_ice_config_t *cfg,
                  bool controlling, const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out);

/* Start gathering; candidates trickle through on_local_candidate (some maybe before this
 * returns), then on_gathering_done. With no usable local address, on_gathering_done comes
 * with no candidate. Returns 0, SB_ESTATE (called twice), SB_EIO. */
int sb_ice_gather(sb_ice_t *ice);

/* Local ufrag and password, borrowed (valid for the agent's life). */
void sb_ice_local_credentials(sb_ice_t *ice, const char **ufrag, const char **pwd);

/* Remote ufrag (4-256 ice-chars) and pwd (22-256 ice-chars), RFC 8839 section 5.4. Returns 0,
 * SB_EINVAL, or SB_ENOTSUP when different credentials were already set (ICE restart). */
int sb_ice_set_remote_credentials(sb_ice_t *ice, const char *ufrag, const char *pwd);

/* ICE restart (RFC 8445 section 9): new local credentials (sb_ice_local_credentials gives
 * them), the remote ones forgotten until sb_ice_set_remote_credentials gives the peer's new
 * ones, connectivity checks begun anew with the same local candidates. The selected pair
 * keeps carrying data until a new one is selected (then on_restarted). Fails the agent if no
 * pair is selected within the connect timeout. 0, SB_ESTATE (failed, or never had remote
 * credentials), SB_EIO. */
int sb_ice_restart(sb_ice_t *ice);

/* The remote credentials in use, borrowed until they change; NULLs when none are set. */
void sb_ice_remote_credentials(const sb_ice_t *ice, const char **ufrag, const char **pwd);

/* A remote candidate line, with or without "a=" and "candidate:", trailing CR/LF tolerated.
 * Candidates given before the credentials are held until then. Returns 0; SB_EINVAL
 * (malformed); SB_ENOTSUP (component other than 1, TCP without ice_tcp, mDNS .local name);
 * SB_ENOMEM (max_remote_candidates reached). */
int sb_ice_add_remote_candidate(sb_ice_t *ice, const char *line);

/* The peer signalled end-of-candidates: ICE may now fail when every check has. Returns 0. */
int sb_ice_remote_gathering_done(sb_ice_t *ice);

/* Send one datagram on the selected (or a valid) pair. Returns 0, SB_EINVAL (len 0 or over
 * 65535), SB_ESTATE (failed, or no pair yet), SB_EIO. */
int sb_ice_send(sb_ice_t *ice, const uint8_t *buf, size_t len);

/* The selected pair's UDP socket and the peer's address, for a batched-send fast path
 * (sendmmsg) while libnice keeps ICE, consent and keepalives. The fd stays owned by libnice
 * and valid while the pair stays selected. Returns the fd (>= 0), or SB_ENOENT when nothing
 * is selected or the pair is relayed or TCP. */
int sb_ice_selected_socket_fd(sb_ice_t *ice, struct sockaddr_storage *peer, socklen_t *peer_len);

bool sb_ice_is_connected(const sb_ice_t *ice);

/* Reading the selected pair ourselves (agents made with sb_ice_new_in): once a UDP pair that
 * is not relayed is selected, its socket is drained with recvmmsg from the loop's epoll, one
 * read per wake-up, and the peer's checks and our consent checks (RFC 7675) are handled here;
 * libnice keeps gathering, checks before selection, keepalives, TURN and TCP, and reads
 * again from an ICE restart on. Counts since the agent was made: */
typedef struct sb_ice_fast_stats {
    bool reading;              /* we read the selected socket now */
    uint64_t reads;            /* recvmmsg calls that returned datagrams */
    uint64_t datagrams;        /* datagrams they returned */
    uint64_t checks_answered;  /* the peer's Binding requests answered */
    uint64_t consent_sent;     /* our consent checks */
    uint64_t consent_answered; /* ... answered */
    uint64_t foreign_dropped;  /* from another address than the selected remote */
    uint64_t libnice_answers;  /* answers to libnice's consent checks (taken by us) */
    uint64_t stun_dropped;     /* other STUN: failed its checks, or not for us */
    uint64_t truncated;        /* larger than a read buffer (dropped) */
} sb_ice_fast_stats_t;
void sb_ice_fast_stats(const sb_ice_t *ice, sb_ice_fast_stats_t *out);
/* Also adds every datagram the direct read drops (foreign, stun_dropped, truncated) to *c, a
 * counter of the agent's loop (/metrics); NULL: none. */
struct sb_counter;
void sb_ice_set_drop_counter(sb_ice_t *ice, struct sb_counter *c);

/* Tear down (releasing TURN allocations asynchronously on ctx). Not from inside a callback of
 * this agent. NULL is a no-op. */
void sb_ice_free(sb_ice_t *ice);

/* What the Admin API's handle_info shows of ICE: {"state", "local-candidates",
 * "remote-candidates", "selected-pair"?, "remote-gathering-done"}. Owned. */
struct json_t;
struct json_t *sb_ice_info(sb_ice_t *ice);
/* The selected pair as "<ip>:<port> [<type>,<transport>] <-> ..." (the reference's text);
 * false when none is selected. */
bool sb_ice_selected_pair_text(sb_ice_t *ice, char *out, size_t len);
/* {"candidates": {"local": {address, port, type, transport, family}, "remote": {...}}} of
 * the selected pair (owned), or NULL when none is selected. */
struct json_t *sb_ice_selected_candidates(sb_ice_t *ice);

#endif
