/* switchboard.plugin.p2pcall: the ICE servers (STUN/TURN) handed to browsers.
 *
 * The media of a 1:1 call flows browser to browser, so the browsers need STUN (and TURN
 * behind strict NATs) themselves; the page asks the plugin for them ("config", or the
 * "register" reply) instead of hard-coding them. Where they come from, first match wins:
 *   1. <config_dir>/switchboard.plugin.p2pcall.conf, a libconfig list:
 *        ice_servers = ( { urls = "stun:stun.example.org:3478"; },
 *                        { urls = ["turn:t.example.org:3478?transport=udp"];
 *                          username = "user"; credential = "secret"; } );
 *   2. the "nat" group of <config_dir>/switchboard.conf (stun_server/stun_port,
 *      turn_server/turn_port/turn_type/turn_user/turn_pwd), the core's own settings;
 *   3. nothing: an empty list (host candidates only, enough on one LAN or loopback).
 * Main thread, at init only; the result is read-only afterwards. Does not validate that
 * the servers answer. */
#include "p2pcall.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "switchboard/log.h"

#define SB_P2PCALL_CONF "switchboard.plugin.p2pcall.conf"
#define SB_P2PCALL_CORE_CONF "switchboard.conf"
#define SB_P2PCALL_MAX_ICE_SERVERS 16

/* "urls" is a string or a list of strings: returns an owned JSON string or array, or NULL
 * when malformed. */
static json_t *sb_p2pcall_conf_urls(config_setting_t *urls)
{
    if (config_setting_type(urls) == CONFIG_TYPE_STRING)
        return json_string(config_setting_get_string(urls));
    if (!config_setting_is_aggregate(urls) || config_setting_length(urls) == 0)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < config_setting_length(urls); i++) {
        const char *u = config_setting_get_string_elem(urls, i);
        if (!u) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, json_string(u));
    }
    return list;
}

static int sb_p2pcall_conf_own(const char *path, json_t *out)
{
    config_t cfg;
    config_init(&cfg);
    int rc = 0;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        SB_ERROR("p2pcall", "%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
        rc = -1;
        goto done;
    }
    config_setting_t *list = config_lookup(&cfg, "ice_servers");
    if (!list)
        goto done;
    if (!config_setting_is_aggregate(list)) {
        SB_ERROR("p2pcall", "%s: ice_servers must be a list of groups", path);
        rc = -1;
        goto done;
    }
    for (int i = 0; i < config_setting_length(list); i++) {
        config_setting_t *srv = config_setting_get_elem(list, (unsigned)i);
        config_setting_t *urls = srv ? config_setting_get_member(srv, "urls") : NULL;
        json_t *u = urls ? sb_p2pcall_conf_urls(urls) : NULL;
        if (!u) {
            SB_ERROR("p2pcall", "%s: ice_servers[%d] needs urls (a string or a list)", path, i);
            rc = -1;
            goto done;
        }
        if (json_array_size(out) >= SB_P2PCALL_MAX_ICE_SERVERS) {
            json_decref(u);
            SB_WARN("p2pcall", "%s: more than %d ice_servers, the rest is ignored", path,
                    SB_P2PCALL_MAX_ICE_SERVERS);
            break;
        }
        json_t *entry = json_pack("{s:o}", "urls", u);
        const char *user = NULL, *cred = NULL;
        if (config_setting_lookup_string(srv, "username", &user) == CONFIG_TRUE)
            json_object_set_new(entry, "username", json_string(user));
        if (config_setting_lookup_string(srv, "credential", &cred) == CONFIG_TRUE)
            json_object_set_new(entry, "credential", json_string(cred));
        json_array_append_new(out, entry);
    }
done:
    config_destroy(&cfg);
    return rc;
}

/* The core's "nat" group, read leniently: only the keys this needs, nothing enforced. */
static void sb_p2pcall_conf_core(const char *path, json_t *out)
{
    config_t cfg;
    config_init(&cfg);
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        config_destroy(&cfg);
        return;
    }
    const char *stun = NULL, *turn = NULL, *type = "udp", *user = NULL, *pwd = NULL;
    int stun_port = 3478, turn_port = 3478;
    config_lookup_string(&cfg, "nat.stun_server", &stun);
    config_lookup_int(&cfg, "nat.stun_port", &stun_port);
    config_lookup_string(&cfg, "nat.turn_server", &turn);
    config_lookup_int(&cfg, "nat.turn_port", &turn_port);
    config_lookup_string(&cfg, "nat.turn_type", &type);
    config_lookup_string(&cfg, "nat.turn_user", &user);
    config_lookup_string(&cfg, "nat.turn_pwd", &pwd);
    char url[512];
    if (stun && *stun) {
        snprintf(url, sizeof(url), "stun:%s:%d", stun, stun_port);
        json_array_append_new(out, json_pack("{s:s}", "urls", url));
    }
    if (turn && *turn) {
        bool tls = !strcmp(type, "tls");
        snprintf(url, sizeof(url), "%s:%s:%d?transport=%s", tls ? "turns" : "turn", turn, turn_port,
                 tls ? "tcp" : type);
        json_t *entry = json_pack("{s:s}", "urls", url);
        if (user)
            json_object_set_new(entry, "username", json_string(user));
        if (pwd)
            json_object_set_new(entry, "credential", json_string(pwd));
        json_array_append_new(out, entry);
    }
    config_destroy(&cfg);
}

int sb_p2pcall_conf_load(const char *config_dir, json_t **ice_servers)
{
    json_t *out = json_array();
    *ice_servers = out;
    if (!config_dir || !*config_dir)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", config_dir, SB_P2PCALL_CONF);
    if (access(path, R_OK) == 0) {
        if (sb_p2pcall_conf_own(path, out) < 0)
            return -1;
        SB_INFO("p2pcall", "%zu ICE server(s) from %s", json_array_size(out), path);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/%s", config_dir, SB_P2PCALL_CORE_CONF);
    if (access(path, R_OK) == 0) {
        sb_p2pcall_conf_core(path, out);
        if (json_array_size(out))
            SB_INFO("p2pcall", "%zu ICE server(s) from the nat group of %s", json_array_size(out),
                    path);
    }
    return 0;
}
