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

#include "loop/subctx.h"
#include "peer/ice.h"

#define SB_ICE_COMPONENT 1

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
};

#endif
