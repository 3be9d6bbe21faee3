/* Command-line flags: each one names the same setting as the file (see config.h), so the
 * help text, the file and the flags cannot drift apart. Main thread, start-up only. */
#include "config/config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "sb_build.h"

typedef struct sb_config_flag {
    const char *name;
    int short_name;
    const char *setting; /* "group.key" of config.c, or NULL for special flags */
    const char *arg;     /* argument name for the help, NULL for none */
    const char *help;
} sb_config_flag_t;

static const sb_config_flag_t sb_config_flags[] = {
    {"help", 'h', NULL, NULL, "print this help and exit"},
    {"version", 'V', NULL, NULL, "print the version and exit"},
    {"config", 'C', NULL, "file", "configuration file (default: none, embedded defaults)"},
    {"log-level", 'd', "general.log_level", "level", "error, warn, info, debug or trace"},
    {"plugins-folder", 'P', "general.plugins_folder", "dir", "where plugins are loaded from"},
    {"configs-folder", 'F', "general.configs_folder", "dir", "where plugin configs live"},
    {"html-folder", 'H', "general.html_folder", "dir", "web app served at / (\"\" = off)"},
    {"session-timeout", 's', "general.session_timeout", "seconds", "idle session timeout"},
    {"node-id", 'n', "general.node_id", "0-255", "node id carried in session/handle ids"},
    {"port", 'p', "http.port", "port", "HTTP port (default 8088)"},
    {"bind", 'i', "http.bind", "address", "HTTP bind address (default: all)"},
    {"base-path", 'b', "http.base_path", "path", "HTTP API base path (default /janus)"},
    {"cors-origin", 'o', "http.cors_origin", "origin", "Access-Control-Allow-Origin value"},
    {"max-body-size", 0, "http.max_body_size", "bytes", "largest accepted request body"},
    {"longpoll-timeout", 0, "http.longpoll_timeout", "seconds", "keepalive after this"},
    {"api-secret", 'a', "http.api_secret", "secret", "require this apisecret in requests"},
    {"http", 0, "http.enabled", "true|false", "enable plain HTTP (default true)"},
    {"https-port", 0, "http.secure_port", "port", "HTTPS port (default 8089; 0 = off)"},
    {"https-bind", 0, "http.secure_bind", "address", "HTTPS bind address (default: all)"},
    {"tls-cert", 0, "tls.cert", "file", "TLS certificate (PEM) for HTTPS and WSS"},
    {"tls-key", 0, "tls.key", "file", "TLS private key (PEM) for HTTPS and WSS"},
    {"ws", 0, "websocket.enabled", "true|false", "enable the WebSocket transport"},
    {"ws-port", 'w', "websocket.port", "port", "WebSocket port (default 8188)"},
    {"ws-bind", 0, "websocket.bind", "address", "WebSocket bind address"},
    {"ws-max-queued-bytes", 0, "websocket.max_queued_bytes", "bytes",
     "unsent bytes a WebSocket client may hold before it is closed"},
    {"wss-port", 0, "websocket.secure_port", "port", "WSS port (default 8989; 0 = off)"},
    {"wss-bind", 0, "websocket.secure_bind", "address", "WSS bind address (default: all)"},
    {"admin", 0, "admin.enabled", "true|false", "enable the admin listener (default true)"},
    {"admin-port", 0, "admin.port", "port", "Admin API, /metrics, /ready port (default 7088)"},
    {"admin-bind", 0, "admin.bind", "address", "admin bind address (default 127.0.0.1)"},
    {"admin-secret", 0, "admin.secret", "secret", "require this admin_secret in admin requests"},
    {"token-auth", 0, "general.token_auth", "true|false", "the API needs a token"},
    {"token-auth-secret", 0, "general.token_auth_secret", "secret", "key of signed tokens"},
    {"events-webhook", 0, "events.webhook", "url", "POST events to this URL (event handler)"},
    {"events-types", 0, "events.types", "list", "event types to post (default all)"},
    {"drain-timeout", 0, "general.drain_timeout", "seconds", "calls may last after SIGTERM"},
    {"cluster-redis", 0, "cluster.redis", "host:port", "the cluster's Redis (default: none)"},
    {"cluster-secret", 0, "cluster.secret", "secret", "shared by the cluster's nodes"},
    {"cluster-address", 0, "cluster.address", "address", "where other nodes reach this one"},
    {"cluster-prefix", 0, "cluster.prefix", "name", "of the cluster's Redis keys (default sb)"},
    {"stun-server", 'S', "nat.stun_server", "host", "STUN server"},
    {"stun-port", 0, "nat.stun_port", "port", "STUN server port"},
    {"rtp-port-range", 'r', "nat.rtp_port_range", "min-max", "ICE UDP port range"},
    {"ice-enforce-list", 'e', "nat.ice_enforce_list", "list", "interfaces/prefixes to use"},
    {"ice-ignore-list", 'X', "nat.ice_ignore_list", "list", "interfaces/prefixes to skip"},
    {"nat-1-1", 0, "nat.nat_1_1_mapping", "addrs", "public address(es) to announce"},
    {"ice-tcp", 0, "nat.ice_tcp", "true|false", "passive ICE-TCP candidates too"},
    {"ipv6", '6', "nat.ipv6", "true|false", "gather IPv6 candidates too"},
    {"loops", 'l', "media.loops", "n", "media loops (0 = one per core)"},
    {"cert-pem", 'c', "media.dtls_cert", "file", "DTLS certificate (default: generated)"},
    {"cert-key", 'k', "media.dtls_key", "file", "DTLS private key"},
};
#define SB_CONFIG_NFLAGS (sizeof(sb_config_flags) / sizeof(sb_config_flags[0]))

void sb_config_print_help(FILE *out, const char *argv0)
{
    fprintf(out, "Usage: %s [options]\n\nSwitchboard, a WebRTC SFU speaking the Janus API.\n"
                 "Flags override the configuration file, which overrides the defaults.\n\n",
            argv0);
    for (size_t i = 0; i < SB_CONFIG_NFLAGS; i++) {
        const sb_config_flag_t *f = &sb_config_flags[i];
        char left[64];
        if (f->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", f->short_name, f->name,
                     f->arg ? " " : "", f->arg ? f->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", f->name, f->arg ? " " : "",
                     f->arg ? f->arg : "");
        fprintf(out, "  %-36s %s%s%s%s\n", left, f->help, f->setting ? " [" : "",
                f->setting ? f->setting : "", f->setting ? "]" : "");
    }
}

static int sb_config_set_flag(sb_config_t *cfg, const char *setting, const char *value,
                              char *err, size_t err_len)
{
    if (sb_config_set(cfg, setting, value) < 0) {
        snprintf(err, err_len, "invalid value '%s' for setting %s", value, setting);
        return SB_EINVAL;
    }
    return 0;
}

int sb_config_load(sb_config_t *cfg, int argc, char **argv, char *err, size_t err_len)
{
    struct option longopts[SB_CONFIG_NFLAGS + 1];
    char shortopts[2 * SB_CONFIG_NFLAGS + 2];
    size_t ns = 0;
    shortopts[ns++] = ':';
    for (size_t i = 0; i < SB_CONFIG_NFLAGS; i++) {
        const sb_config_flag_t *f = &sb_config_flags[i];
        longopts[i] = (struct option){f->name, f->arg ? required_argument : no_argument, NULL,
                                      f->short_name ? f->short_name : (int)(256 + i)};
        if (f->short_name) {
            shortopts[ns++] = (char)f->short_name;
            if (f->arg)
                shortopts[ns++] = ':';
        }
    }
    longopts[SB_CONFIG_NFLAGS] = (struct option){0};
    shortopts[ns] = '\0';

    sb_config_defaults(cfg);
    /* Pass 1: find the file, help and version. Pass 2: flags over the file. */
    for (int pass = 1; pass <= 2; pass++) {
        optind = 1;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
            if (c == '?' || c == ':') {
                snprintf(err, err_len, "%s option '%s' (try --help)",
                         c == ':' ? "missing argument for" : "unknown",
                         optind > 0 && optind <= argc ? argv[optind - 1] : "?");
                return SB_EINVAL;
            }
            const sb_config_flag_t *f = NULL;
            for (size_t i = 0; i < SB_CONFIG_NFLAGS; i++) {
                if (c == sb_config_flags[i].short_name || c == (int)(256 + i))
                    f = &sb_config_flags[i];
            }
            if (!f)
                continue;
            if (pass == 1 && c == 'h') {
                sb_config_print_help(stdout, argv[0]);
                return 1;
            }
            if (pass == 1 && c == 'V') {
                printf("switchboard %s\n", PACKAGE_VERSION);
                return 1;
            }
            if (pass == 1 && c == 'C') {
                if (sb_config_apply_file(cfg, optarg, err, err_len) < 0)
                    return SB_EINVAL;
            }
            if (pass == 2 && f->setting &&
                sb_config_set_flag(cfg, f->setting, optarg, err, err_len) < 0)
                return SB_EINVAL;
        }
        if (optind < argc) {
            snprintf(err, err_len, "unexpected argument '%s' (try --help)", argv[optind]);
            return SB_EINVAL;
        }
    }
    return 0;
}
