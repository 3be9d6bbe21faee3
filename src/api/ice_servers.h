/* What GET <base_path>/ice-servers hands a browser before each call: the configured STUN
 * URIs, and TURN URIs with short-lived credentials in the TURN REST format that coturn's
 * use-auth-secret mode checks: username "<expiry>:<user>", credential
 * base64(HMAC-SHA1(shared secret, username)). Rate-limited per client address.
 * Transport-neutral: the HTTP transport calls it. Any thread. */
#ifndef SB_API_ICE_SERVERS_H
#define SB_API_ICE_SERVERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "config/config.h"

/* base64(HMAC-SHA1(secret, username)) into out (at least 29 bytes). 0 or SB_EINVAL. */
int sb_turn_rest_credential(const char *secret, const char *username, char *out,
                            size_t out_len);

/* {"iceServers":[...],"ttl":N} for a request at now, credentials for user (NULL or "" =
 * "switchboard"; anything but [A-Za-z0-9_.-]{1,64} is replaced by it). ttl is 0 and no TURN
 * entry is given when no TURN secret and URIs are configured. */
json_t *sb_ice_servers_build(const sb_config_t *cfg, time_t now, const char *user);

void sb_ice_servers_init(const sb_config_t *cfg);
void sb_ice_servers_deinit(void);

/* Count a request from client (NULL: not counted): true if within the rate limit; when
 * not, *retry_after_s is when to come back. */
bool sb_ice_servers_allow(const struct sockaddr *client, unsigned *retry_after_s);

#endif
