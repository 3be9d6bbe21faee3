/* The ICE unit tests' peer (see ice_peer_fixture.h). */
#define _GNU_SOURCE
#include "ice_peer_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__) && defined(SB_LSAN_SUPP)
/* GLib type registrations and libnice static state live until exit: see tests/lsan.supp. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "suppressions=" SB_LSAN_SUPP;
}
#endif

static void on_local_candidate(void *c, const char *cand)
{
    peer_t *p = c;
    if (strncmp(cand, "candidate:", 10) != 0 || !strstr(cand, " typ "))
        p->bad_candidates++;
    if (p->ncands < MAX_CANDS)
        p->cands[p->ncands++] = strdup(cand);
    if (p->trickle && p->other && p->other->ice && (!p->tcp_only || strcasestr(cand, " tcp ")))
        sb_ice_add_remote_candidate(p->other->ice, cand);
}

static void on_gathering_done(void *c)
{
    peer_t *p = c;
    p->gathered = true;
    if (p->trickle && p->other && p->other->ice)
        sb_ice_remote_gathering_done(p->other->ice);
}

static void on_connected(void *c)
{
    ((peer_t *)c)->connected = true;
}

static void on_failed(void *c, const char *reason)
{
    peer_t *p = c;
    p->failed = true;
    snprintf(p->reason, sizeof(p->reason), "%s", reason);
}

static void on_recv(void *c, uint8_t *buf, size_t len)
{
    peer_t *p = c;
    if (len > 0)
        buf[0] ^= 0x20; /* in place is allowed */
    snprintf(p->last, sizeof(p->last), "%.*s", (int)len, (const char *)buf);
    p->last_len = len;
    p->received++;
}

static void on_restarted(void *c)
{
    ((peer_t *)c)->restarted++;
}

const sb_ice_ops_t peer_ops = {
    .on_restarted = on_restarted,
    .on_local_candidate = on_local_candidate,
    .on_gathering_done = on_gathering_done,
    .on_connected = on_connected,
    .on_failed = on_failed,
    .on_recv = on_recv,
};

const char *const allow_lo[] = {"lo", NULL};

void peer_reset(peer_t *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
}

void peer_free(peer_t *p)
{
    sb_ice_free(p->ice);
    for (unsigned i = 0; i < p->ncands; i++)
        free(p->cands[i]);
    peer_reset(p, NULL);
}

