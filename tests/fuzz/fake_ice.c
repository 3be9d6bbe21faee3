/* The libnice seam for fuzz targets (see fake_ice.h): every sb_ice_* of peer/ice.h, with no
 * agent, no socket and no timer. Loop thread of the peer that owns it. */
#include "fake_ice.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"

/* Owned by the peer (sb_ice_free); its loop only. */
struct sb_ice {
    const sb_ice_ops_t *ops;
    void *opctx;
    bool gathered, connected, failed;
    char *remote_ufrag, *remote_pwd;
    unsigned remote_candidates;
    fuzz_queue_t sent;
};

int sb_ice_new(GMainContext *ctx, const sb_ice_config_t *cfg, bool controlling,
               const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out)
{
    (void)controlling;
    if (!ctx || !cfg || !ops || !out || !ops->on_recv || !ops->on_connected || !ops->on_failed)
        return SB_EINVAL;
    sb_ice_t *ice = SB_NEW(sb_ice_t);
    ice->ops = ops;
    ice->opctx = opctx;
    *out = ice;
    return 0;
}

int sb_ice_new_in(struct sb_subctx_sched *sched, GMainContext *ctx, const sb_ice_config_t *cfg,
                  bool controlling, const sb_ice_ops_t *ops, void *opctx, sb_ice_t **out)
{
    if (!sched)
        return SB_EINVAL;
    return sb_ice_new(ctx, cfg, controlling, ops, opctx, out);
}

int sb_ice_gather(sb_ice_t *ice)
{
    if (ice->gathered)
        return SB_ESTATE;
    ice->gathered = true;
    return 0;
}

void sb_ice_local_credentials(sb_ice_t *ice, const char **ufrag, const char **pwd)
{
    (void)ice;
    if (ufrag)
        *ufrag = "fzuf";
    if (pwd)
        *pwd = "fuzzfuzzfuzzfuzzfuzzfuzz";
}

int sb_ice_set_remote_credentials(sb_ice_t *ice, const char *ufrag, const char *pwd)
{
    if (!ufrag || !pwd || strlen(ufrag) < 4 || strlen(pwd) < 22)
        return SB_EINVAL;
    if (ice->remote_ufrag)
        return strcmp(ice->remote_ufrag, ufrag) ? SB_ENOTSUP : 0;
    ice->remote_ufrag = sb_strdup(ufrag);
    ice->remote_pwd = sb_strdup(pwd);
    return 0;
}

int sb_ice_add_remote_candidate(sb_ice_t *ice, const char *line)
{
    if (!line)
        return SB_EINVAL;
    ice->remote_candidates++;
    return 0;
}

int sb_ice_remote_gathering_done(sb_ice_t *ice)
{
    (void)ice;
    return 0;
}

int sb_ice_send(sb_ice_t *ice, const uint8_t *buf, size_t len)
{
    if (len == 0 || len > 65535)
        return SB_EINVAL;
    if (ice->failed || !ice->connected)
        return SB_ESTATE;
    fuzz_queue_push(&ice->sent, buf, len);
    return 0;
}

int sb_ice_selected_socket_fd(sb_ice_t *ice, struct sockaddr_storage *peer, socklen_t *peer_len)
{
    (void)ice;
    (void)peer;
    (void)peer_len;
    return SB_ENOENT;
}

int sb_ice_restart(sb_ice_t *ice)
{
    (void)ice;
    return SB_ESTATE; /* the harness never restarts */
}

void sb_ice_remote_credentials(const sb_ice_t *ice, const char **ufrag, const char **pwd)
{
    *ufrag = ice->remote_ufrag;
    *pwd = ice->remote_pwd;
}

void sb_ice_set_drop_counter(sb_ice_t *ice, struct sb_counter *c)
{
    (void)ice;
    (void)c; /* nothing is read directly here: nothing to drop */
}

bool sb_ice_is_connected(const sb_ice_t *ice)
{
    return ice->connected && !ice->failed;
}

void sb_ice_free(sb_ice_t *ice)
{
    if (!ice)
        return;
    sb_free(ice->remote_ufrag);
    sb_free(ice->remote_pwd);
    sb_free(ice);
}

void fake_ice_recv(sb_ice_t *ice, uint8_t *buf, size_t len)
{
    if (!ice->failed)
        ice->ops->on_recv(ice->opctx, buf, len);
}

void fake_ice_connect(sb_ice_t *ice)
{
    if (ice->connected || ice->failed)
        return;
    ice->connected = true;
    ice->ops->on_connected(ice->opctx);
}

json_t *sb_ice_info(sb_ice_t *ice)
{
    return json_pack("{s:s}", "state", ice->failed      ? "failed"
                                       : ice->connected ? "connected"
                                                        : "connecting");
}

bool sb_ice_selected_pair_text(sb_ice_t *ice, char *out, size_t len)
{
    if (!ice->connected || len < 8)
        return false;
    snprintf(out, len, "fuzz <-> fuzz");
    return true;
}

json_t *sb_ice_selected_candidates(sb_ice_t *ice)
{
    (void)ice;
    return NULL;
}

void fake_ice_fail(sb_ice_t *ice)
{
    if (ice->failed)
        return;
    ice->failed = true;
    ice->ops->on_failed(ice->opctx, "fuzz: ice failed");
}

fuzz_queue_t *fake_ice_sent(sb_ice_t *ice)
{
    return &ice->sent;
}
