/* A test peer for the ICE unit tests (test_ice, test_ice_direct): what its agent's callbacks
 * told it, and the ops that tell it. With trickle set, its candidates and end-of-candidates
 * go straight to `other`'s agent, as signalling would carry them. Thread: the agents'. */
#ifndef SB_TEST_ICE_PEER_FIXTURE_H
#define SB_TEST_ICE_PEER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "peer/ice.h"

#define MAX_CANDS 32

typedef struct peer {
    const char *name;
    sb_ice_t *ice;
    struct peer *other;
    bool trickle;  /* hand candidates to other as they come */
    bool tcp_only; /* ...only the TCP ones (a network that drops UDP) */
    char *cands[MAX_CANDS];
    unsigned ncands;
    bool gathered, connected, failed;
    char reason[64];
    unsigned restarted; /* on_restarted calls */
    unsigned received;
    char last[64];
    size_t last_len;
    unsigned bad_candidates;
} peer_t;

/* The callbacks; on_recv flips the case of the first byte in place (allowed), so "ping"
 * arrives as "Ping". */
extern const sb_ice_ops_t peer_ops;
/* {"lo", NULL}: an allow list of loopback only. */
extern const char *const allow_lo[];

void peer_reset(peer_t *p, const char *name);
/* Frees its agent and candidates, and resets it. */
void peer_free(peer_t *p);

#endif
