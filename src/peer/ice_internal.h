/* The inside of an ICE agent (ice.h), shared by ice.c (the agent's life, checks, sends)
 * and ice_info.c (what the Admin API and event handlers show of it). Nothing outside
 * src/peer/ice*.c includes this. */
#ifndef SB_PEER_ICE_INTERNAL_H
#define SB_PEER_ICE_INTERNAL_H

#include <glib.h>
#include <nice/agent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop/fdwatch.h"
#include "loop/subctx.h"
#include "peer/ice.h"
#include "proto/hmac_sha1.h"
#include "proto/stun_ice.h"

#define SB_ICE_COMPONENT 1
#define SB_ICE_FAST_TXIDS 4 /* our consent checks still awaiting an answer */

/* The selected UDP pair read by us (ice_fast.c): libnice's socket sources are parked, the
 * loop's epoll watches the socket, and we answer the peer's checks and send our consent
 * checks (RFC 7675) ourselves. */
typedef struct sb_ice_fast {
    sb_fdwatch_entry_t *entry;      /* non-NULL: we read fd */
    int fd;                         /* the socket and peer we read, while entry */
    struct sockaddr_storage peer;
    sb_hmac_sha1_t our_key, their_key; /* short-term credentials: our pwd, the peer's */
    char *username_in;              /* "<ours>:<theirs>", what the peer's checks carry */
    uint8_t txids[SB_ICE_FAST_TXIDS][SB_STUN_ICE_TXID_LEN];
    unsigned next_txid;
    uint64_t tiebreaker;
    int64_t answered_us;            /* our consent last answered (or reading began) */
    int64_t next_check_us;          /* our next consent check */
    int64_t silence_logged_us;      /* a silence of over 10 s was logged (0: none now) */
    sb_ice_fast_stats_t stats;
    struct sb_counter *dropped; /* the loop's count of what the direct read drops, or NULL */
} sb_ice_fast_t;

/* Owned by the peer; its loop thread only. */
struct sb_ice {
    NiceAgent *agent;
    GMainContext *ctx;
    guint stream;
    const sb_ice_ops_t *ops;
    void *opctx;
    gchar *ufrag, *pwd; /* local, from libnice */
    char *remote_ufrag, *remote_pwd;
    GSList *pending; /* NiceCandidate *, held until the remote credentials */
    unsigned remote_count, max_remote;
    unsigned n_local_addrs;
    unsigned connect_timeout_ms;
    bool ice_tcp;
    bool keep_private_host;
    char **nat_mapping; /* owned strv, NULL: none */
    bool has_turn;
    bool restarting;             /* sb_ice_restart called, no new pair selected yet */
    int64_t restart_deadline_us; /* while restarting: fail when no pair by then */
    bool native_consent;
    bool gather_started, gathering, connected, failed, remote_done;
    bool checks_failed;          /* libnice said FAILED before the peer's end-of-candidates */
    unsigned in_callback;        /* > 0 while an op runs: sb_ice_free must not */
    int64_t connect_deadline_us; /* 0: not armed */
    int64_t unusable_since_us;   /* fallback consent: pair lost at; 0: fine */
    int64_t consent_lapse_us;    /* libnice's consent first lapsed at (this streak); 0: never */
    int64_t consent_renewed_us;  /* the pair was last selected again at; 0: never */
    GSource *idle;               /* gathering-done when there is no address */
    GSource *watch;              /* 1 s: connect timeout, fallback consent */
    /* Direct-send fast path: the selected pair's UDP socket and the peer's address, so a
     * send is one sendto(2) instead of libnice's locked send path. -1 when the pair is
     * relayed or TCP (libnice sends then). Refreshed on every selected-pair change. */
    int fast_fd;
    struct sockaddr_storage fast_peer;
    socklen_t fast_peer_len;
    /* The agent's own context (sb_ice_new_in): its timers and sockets live there, run by the
     * loop's scheduler only when due or readable. NULL: everything sits on ctx. */
    sb_subctx_t *sub;
    sb_subctx_sched_t *sched; /* NULL: sb_ice_new (nothing reads the socket but libnice) */
    bool controlling;
    sb_ice_fast_t fast;
};

/* ice.c, for ice_fast.c */
void sb_ice_fail(sb_ice_t *ice, const char *reason);
/* Whether libnice reads the component's sockets (its receive callback on the agent's
 * context) or nobody does (their sources parked on a context nobody iterates). */
void sb_ice_libnice_reads(sb_ice_t *ice, bool on);
/* Selects the selected pair again: libnice's consent timer starts anew. False when the pair
 * is gone or changed. */
bool sb_ice_reselect(sb_ice_t *ice);
void sb_ice_deliver(sb_ice_t *ice, uint8_t *buf, size_t len);

/* ice_fast.c */
/* On a selected UDP pair that is not relayed (fast_fd >= 0): we read it from now on. Again
 * for the same socket and peer: nothing changes. */
void sb_ice_fast_start(sb_ice_t *ice);
/* libnice reads again (reattach), or nobody does (the agent fails or goes). */
void sb_ice_fast_stop(sb_ice_t *ice, bool reattach);
/* The closing line of what was read directly (none when nothing was). */
void sb_ice_fast_log(const sb_ice_t *ice);
/* Our consent was answered within RFC 7675's 30 s. */
bool sb_ice_fast_consent_fresh(const sb_ice_t *ice, int64_t now);

#endif
