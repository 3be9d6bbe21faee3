/* ICE servers for browsers, with TURN REST credentials (see ice_servers.h). */
#include "api/ice_servers.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/error.h"
#include "base/rate_limit.h"
#include "base/secret.h"
#include "switchboard/time.h"

#define SB_ICE_SERVERS_USER_MAX 64
#define SB_ICE_SERVERS_WINDOW_US 60000000LL /* rate_limit counts per minute */

static sb_rate_limit_t sb_ice_servers_rl;

int sb_turn_rest_credential(const char *secret, const char *username, char *out, size_t out_len)
{
    return sb_hmac_sha1_base64(secret, username, out, out_len) < 0 ? SB_EINVAL : 0;
}

/* "a, b ,c" → ["a","b","c"]; empty items skipped. */
static json_t *sb_ice_servers_uris(const char *list)
{
    json_t *uris = json_array();
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *a = p, *b = p + n;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a)
            json_array_append_new(uris, json_stringn(a, (size_t)(b - a)));
        p = end ? end + 1 : NULL;
    }
    return uris;
}

static bool sb_ice_servers_user_ok(const char *user)
{
    size_t n = user ? strlen(user) : 0;
    if (n == 0 || n > SB_ICE_SERVERS_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = user[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

json_t *sb_ice_servers_build(const sb_config_t *cfg, time_t now, const char *user)
{
    json_t *servers = json_array();
    json_t *stun = sb_ice_servers_uris(cfg->stun_uris);
    if (json_array_size(stun))
        json_array_append_new(servers, json_pack("{s:o}", "urls", stun));
    else
        json_decref(stun);
    unsigned ttl = 0;
    json_t *turn = sb_ice_servers_uris(cfg->turn_rest_uris);
    char username[32 + SB_ICE_SERVERS_USER_MAX], credential[64] = "";
    if (json_array_size(turn) && cfg->turn_rest_secret && *cfg->turn_rest_secret) {
        ttl = cfg->turn_rest_ttl_s;
        snprintf(username, sizeof(username), "%lld:%s", (long long)now + ttl,
                 sb_ice_servers_user_ok(user) ? user : "switchboard");
    }
    if (ttl && sb_turn_rest_credential(cfg->turn_rest_secret, username, credential,
                                       sizeof(credential)) == 0) {
        json_array_append_new(servers, json_pack("{s:o,s:s,s:s}", "urls", turn, "username",
                                                 username, "credential", credential));
    } else {
        ttl = 0;
        json_decref(turn);
    }
    return json_pack("{s:o,s:I}", "iceServers", servers, "ttl", (json_int_t)ttl);
}

void sb_ice_servers_init(const sb_config_t *cfg)
{
    sb_rate_limit_init(&sb_ice_servers_rl, cfg->ice_servers_rate, SB_ICE_SERVERS_WINDOW_US);
}

void sb_ice_servers_deinit(void)
{
    sb_rate_limit_deinit(&sb_ice_servers_rl);
}

/* A client is an IPv4 address, or an IPv6 /64 (one subscriber's usual allocation: taking the
 * whole address would let a client rotate through its /64); the family is part of the key. */
bool sb_ice_servers_allow(const struct sockaddr *client, unsigned *retry_after_s)
{
    uint8_t key[SB_RATE_LIMIT_KEY] = {0};
    if (!client)
        return true;
    key[0] = (uint8_t)client->sa_family;
    if (client->sa_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)client)->sin_addr, 4);
    else if (client->sa_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)client)->sin6_addr, 8);
    return sb_rate_limit_take(&sb_ice_servers_rl, key, sb_now_us(), retry_after_s);
}
