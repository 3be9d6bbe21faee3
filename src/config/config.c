/* Configuration loading: embedded defaults, a libconfig file, then flags (see config.h).
 * Runs on the main thread at start-up only; does not watch the file for changes. */
#include "config/config.h"

#include <errno.h>
#include <getopt.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

static void sb_config_set_str(char **field, const char *value)
{
    sb_free(*field);
    *field = sb_strdup(value);
}

void sb_config_defaults(sb_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = SB_LOG_INFO;
    cfg->plugins_folder = sb_strdup(SB_PLUGIN_DIR);
    cfg->configs_folder = sb_strdup(SB_CONF_DIR);
    cfg->html_folder = sb_strdup(SB_HTML_DIR);
    cfg->session_timeout_s = 60;
    cfg->node_id = 0;
    cfg->max_sessions = 100000;
    cfg->max_handles_per_session = 64;
    cfg->event_queue_max = 1024;
    cfg->event_queue_max_bytes = 1 << 20;
    cfg->http_enabled = true;
    cfg->http_bind = NULL;
    cfg->http_port = 8088;
    cfg->base_path = sb_strdup("/janus");
    cfg->cors_origin = sb_strdup("*");
    cfg->max_body_size = 1 << 20;
    cfg->longpoll_timeout_s = 30;
    cfg->max_polls_per_session = 4;
    cfg->http_max_connections = 20000;
    cfg->https_port = 8089;
    cfg->ws_enabled = true;
    cfg->ws_port = 8188;
    cfg->ws_max_connections = 20000;
    cfg->ws_max_queued_bytes = 512 << 10;
    cfg->ws_max_total_queued_bytes = 64 << 20;
    cfg->ws_stall_timeout_s = 30;
    cfg->wss_port = 8989;
    cfg->turn_rest_ttl_s = 86400;
    cfg->ice_servers_rate = 60;
    cfg->stun_port = 3478;
    cfg->turn_port = 3478;
    cfg->turn_type = sb_strdup("udp");
    cfg->rtp_port_min = 0;
    cfg->rtp_port_max = 0;
    cfg->ipv6 = false;
    cfg->loops = 0;
    cfg->nack_history_ms = 1000;
    cfg->data_max_message_size = 256 << 10;
    cfg->admin_enabled = true;
    cfg->admin_bind = sb_strdup("127.0.0.1");
    cfg->admin_port = 7088;
    cfg->admin_base_path = sb_strdup("/admin");
    cfg->drain_timeout_s = 600;
    cfg->events_types = sb_strdup("all");
    cfg->events_grouping = true;
    cfg->events_queue_max = 10000;
    cfg->events_batch_max = 100;
    cfg->events_retries = 3;
    cfg->events_backoff_ms = 500;
    cfg->events_timeout_ms = 5000;
    cfg->events_media_period_s = 5;
    cfg->events_emitter = sb_strdup("Switchboard");
    cfg->cluster_prefix = sb_strdup("sb");
    cfg->cluster_address = sb_strdup("127.0.0.1");
}

void sb_config_deinit(sb_config_t *cfg)
{
    char **strings[] = {&cfg->plugins_folder, &cfg->configs_folder, &cfg->html_folder,
                        &cfg->http_bind, &cfg->base_path, &cfg->cors_origin,
                        &cfg->api_secret, &cfg->ws_bind, &cfg->stun_server,
                        &cfg->turn_server, &cfg->turn_type, &cfg->turn_user,
                        &cfg->turn_pwd, &cfg->ice_enforce_list, &cfg->ice_ignore_list,
                        &cfg->dtls_cert, &cfg->dtls_key, &cfg->dtls_key_passphrase,
                        &cfg->https_bind, &cfg->wss_bind, &cfg->tls_cert, &cfg->tls_key,
                        &cfg->turn_rest_secret, &cfg->turn_rest_uris, &cfg->stun_uris,
                        &cfg->nat_1_1_mapping, &cfg->admin_bind, &cfg->admin_base_path,
                        &cfg->admin_secret, &cfg->token_auth_secret, &cfg->events_webhook,
                        &cfg->events_types, &cfg->events_emitter, &cfg->cluster_redis,
                        &cfg->cluster_prefix, &cfg->cluster_secret, &cfg->cluster_address,
                        &cfg->loaded_file};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        sb_free(*strings[i]);
        *strings[i] = NULL;
    }
}

static void sb_config_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* "20000-40000" → min/max; "0" or "" → any port. */
static int sb_config_parse_range(const char *text, unsigned *min, unsigned *max)
{
    if (!text || !*text || !strcmp(text, "0")) {
        *min = *max = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long a = strtoul(text, &end, 10);
    if (errno || end == text || *end != '-')
        return SB_EINVAL;
    const char *second = end + 1;
    unsigned long b = strtoul(second, &end, 10);
    if (errno || end == second || *end != '\0' || a == 0 || b > 65535 || a > b)
        return SB_EINVAL;
    *min = (unsigned)a;
    *max = (unsigned)b;
    return 0;
}

/* One setting of the file: its path, its kind, and where it lands. */
typedef enum { SB_CFG_STR, SB_CFG_UINT, SB_CFG_BOOL, SB_CFG_LOGLEVEL, SB_CFG_RANGE,
               SB_CFG_SIZE } sb_config_kind_t;

typedef struct sb_config_key {
    const char *path;
    sb_config_kind_t kind;
    size_t offset;
    unsigned max; /* for uints: largest accepted value */
} sb_config_key_t;

#define SB_KEY(p, k, field, m) {p, k, offsetof(sb_config_t, field), m}
static const sb_config_key_t sb_config_keys[] = {
    SB_KEY("general.log_level", SB_CFG_LOGLEVEL, log_level, 0),
    SB_KEY("general.plugins_folder", SB_CFG_STR, plugins_folder, 0),
    SB_KEY("general.configs_folder", SB_CFG_STR, configs_folder, 0),
    SB_KEY("general.html_folder", SB_CFG_STR, html_folder, 0),
    SB_KEY("general.session_timeout", SB_CFG_UINT, session_timeout_s, 86400),
    SB_KEY("general.node_id", SB_CFG_UINT, node_id, 255),
    SB_KEY("general.max_sessions", SB_CFG_UINT, max_sessions, 10000000),
    SB_KEY("general.max_handles_per_session", SB_CFG_UINT, max_handles_per_session, 4096),
    SB_KEY("general.event_queue_max", SB_CFG_UINT, event_queue_max, 1000000),
    SB_KEY("general.event_queue_max_bytes", SB_CFG_SIZE, event_queue_max_bytes, 0),
    SB_KEY("general.drain_timeout", SB_CFG_UINT, drain_timeout_s, 86400),
    SB_KEY("general.token_auth", SB_CFG_BOOL, token_auth, 0),
    SB_KEY("general.token_auth_secret", SB_CFG_STR, token_auth_secret, 0),
    SB_KEY("http.enabled", SB_CFG_BOOL, http_enabled, 0),
    SB_KEY("http.bind", SB_CFG_STR, http_bind, 0),
    SB_KEY("http.port", SB_CFG_UINT, http_port, 65535),
    SB_KEY("http.base_path", SB_CFG_STR, base_path, 0),
    SB_KEY("http.cors_origin", SB_CFG_STR, cors_origin, 0),
    SB_KEY("http.max_body_size", SB_CFG_SIZE, max_body_size, 0),
    SB_KEY("http.longpoll_timeout", SB_CFG_UINT, longpoll_timeout_s, 3600),
    SB_KEY("http.max_polls_per_session", SB_CFG_UINT, max_polls_per_session, 64),
    SB_KEY("http.api_secret", SB_CFG_STR, api_secret, 0),
    SB_KEY("http.max_connections", SB_CFG_UINT, http_max_connections, 1000000),
    SB_KEY("http.secure_port", SB_CFG_UINT, https_port, 65535),
    SB_KEY("http.secure_bind", SB_CFG_STR, https_bind, 0),
    SB_KEY("websocket.enabled", SB_CFG_BOOL, ws_enabled, 0),
    SB_KEY("websocket.bind", SB_CFG_STR, ws_bind, 0),
    SB_KEY("websocket.port", SB_CFG_UINT, ws_port, 65535),
    SB_KEY("websocket.max_connections", SB_CFG_UINT, ws_max_connections, 1000000),
    SB_KEY("websocket.max_queued_bytes", SB_CFG_SIZE, ws_max_queued_bytes, 0),
    SB_KEY("websocket.max_total_queued_bytes", SB_CFG_SIZE, ws_max_total_queued_bytes, 0),
    SB_KEY("websocket.stall_timeout", SB_CFG_UINT, ws_stall_timeout_s, 3600),
    SB_KEY("websocket.secure_port", SB_CFG_UINT, wss_port, 65535),
    SB_KEY("websocket.secure_bind", SB_CFG_STR, wss_bind, 0),
    SB_KEY("admin.enabled", SB_CFG_BOOL, admin_enabled, 0),
    SB_KEY("admin.bind", SB_CFG_STR, admin_bind, 0),
    SB_KEY("admin.port", SB_CFG_UINT, admin_port, 65535),
    SB_KEY("admin.base_path", SB_CFG_STR, admin_base_path, 0),
    SB_KEY("admin.secret", SB_CFG_STR, admin_secret, 0),
    SB_KEY("events.webhook", SB_CFG_STR, events_webhook, 0),
    SB_KEY("events.types", SB_CFG_STR, events_types, 0),
    SB_KEY("events.grouping", SB_CFG_BOOL, events_grouping, 0),
    SB_KEY("events.queue_max", SB_CFG_UINT, events_queue_max, 1000000),
    SB_KEY("events.batch_max", SB_CFG_UINT, events_batch_max, 10000),
    SB_KEY("events.retries", SB_CFG_UINT, events_retries, 100),
    SB_KEY("events.backoff_ms", SB_CFG_UINT, events_backoff_ms, 60000),
    SB_KEY("events.timeout_ms", SB_CFG_UINT, events_timeout_ms, 60000),
    SB_KEY("events.emitter", SB_CFG_STR, events_emitter, 0),
    SB_KEY("events.media_stats_period", SB_CFG_UINT, events_media_period_s, 3600),
    SB_KEY("cluster.redis", SB_CFG_STR, cluster_redis, 0),
    SB_KEY("cluster.prefix", SB_CFG_STR, cluster_prefix, 0),
    SB_KEY("cluster.secret", SB_CFG_STR, cluster_secret, 0),
    SB_KEY("cluster.address", SB_CFG_STR, cluster_address, 0),
    SB_KEY("tls.cert", SB_CFG_STR, tls_cert, 0),
    SB_KEY("tls.key", SB_CFG_STR, tls_key, 0),
    SB_KEY("ice_servers.turn_secret", SB_CFG_STR, turn_rest_secret, 0),
    SB_KEY("ice_servers.turn_uris", SB_CFG_STR, turn_rest_uris, 0),
    SB_KEY("ice_servers.stun_uris", SB_CFG_STR, stun_uris, 0),
    SB_KEY("ice_servers.ttl", SB_CFG_UINT, turn_rest_ttl_s, 604800),
    SB_KEY("ice_servers.rate_limit", SB_CFG_UINT, ice_servers_rate, 1000000),
    SB_KEY("nat.stun_server", SB_CFG_STR, stun_server, 0),
    SB_KEY("nat.stun_port", SB_CFG_UINT, stun_port, 65535),
    SB_KEY("nat.turn_server", SB_CFG_STR, turn_server, 0),
    SB_KEY("nat.turn_port", SB_CFG_UINT, turn_port, 65535),
    SB_KEY("nat.turn_type", SB_CFG_STR, turn_type, 0),
    SB_KEY("nat.turn_user", SB_CFG_STR, turn_user, 0),
    SB_KEY("nat.turn_pwd", SB_CFG_STR, turn_pwd, 0),
    SB_KEY("nat.rtp_port_range", SB_CFG_RANGE, rtp_port_min, 0),
    SB_KEY("nat.ice_enforce_list", SB_CFG_STR, ice_enforce_list, 0),
    SB_KEY("nat.ice_ignore_list", SB_CFG_STR, ice_ignore_list, 0),
    SB_KEY("nat.ipv6", SB_CFG_BOOL, ipv6, 0),
    SB_KEY("nat.nat_1_1_mapping", SB_CFG_STR, nat_1_1_mapping, 0),
    SB_KEY("nat.keep_private_host", SB_CFG_BOOL, keep_private_host, 0),
    SB_KEY("nat.ice_tcp", SB_CFG_BOOL, ice_tcp, 0),
    SB_KEY("media.loops", SB_CFG_UINT, loops, 256),
    SB_KEY("media.dtls_cert", SB_CFG_STR, dtls_cert, 0),
    SB_KEY("media.dtls_key", SB_CFG_STR, dtls_key, 0),
    SB_KEY("media.dtls_key_passphrase", SB_CFG_STR, dtls_key_passphrase, 0),
    SB_KEY("media.nack_history_ms", SB_CFG_UINT, nack_history_ms, 10000),
    SB_KEY("media.data_max_message_size", SB_CFG_UINT, data_max_message_size, 16 << 20),
};

/* Store one value given as text (from a flag or a string setting). */
static int sb_config_store_text(sb_config_t *cfg, const sb_config_key_t *key, const char *text)
{
    char *base = (char *)cfg + key->offset;
    char *end;
    switch (key->kind) {
    case SB_CFG_STR:
        sb_config_set_str((char **)base, text);
        return 0;
    case SB_CFG_LOGLEVEL: {
        int level = sb_log_level_parse(text);
        if (level < 0)
            return SB_EINVAL;
        *(int *)base = level;
        return 0;
    }
    case SB_CFG_RANGE:
        return sb_config_parse_range(text, &cfg->rtp_port_min, &cfg->rtp_port_max);
    case SB_CFG_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "1"))
            *(bool *)base = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "0"))
            *(bool *)base = false;
        else
            return SB_EINVAL;
        return 0;
    case SB_CFG_UINT:
    case SB_CFG_SIZE: {
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text || *end || text[0] == '-')
            return SB_EINVAL;
        if (key->kind == SB_CFG_SIZE) {
            if (v == 0 || v > (1ULL << 30))
                return SB_EINVAL;
            *(size_t *)base = (size_t)v;
        } else {
            if (v > key->max)
                return SB_EINVAL;
            *(unsigned *)base = (unsigned)v;
        }
        return 0;
    }
    }
    return SB_EINVAL;
}

/* Read one setting of the file with the type libconfig parsed. */
static int sb_config_store_setting(sb_config_t *cfg, const sb_config_key_t *key,
                                   config_setting_t *s)
{
    char num[32];
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        if (key->kind == SB_CFG_UINT || key->kind == SB_CFG_SIZE || key->kind == SB_CFG_BOOL)
            return SB_EINVAL; /* a quoted number or boolean is a type error: say so */
        return sb_config_store_text(cfg, key, config_setting_get_string(s));
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        if (key->kind == SB_CFG_STR || key->kind == SB_CFG_BOOL)
            return SB_EINVAL;
        snprintf(num, sizeof(num), "%lld", (long long)config_setting_get_int64(s));
        return sb_config_store_text(cfg, key, num);
    case CONFIG_TYPE_BOOL:
        if (key->kind != SB_CFG_BOOL)
            return SB_EINVAL;
        *(bool *)((char *)cfg + key->offset) = config_setting_get_bool(s);
        return 0;
    default:
        return SB_EINVAL;
    }
}

static const sb_config_key_t *sb_config_find_key(const char *path)
{
    for (size_t i = 0; i < sizeof(sb_config_keys) / sizeof(sb_config_keys[0]); i++) {
        if (!strcmp(sb_config_keys[i].path, path))
            return &sb_config_keys[i];
    }
    return NULL;
}

/* Walk every group.setting of the parsed file; unknown names are an error, so a typo in
 * an operator's file never silently runs on a default. */
static int sb_config_apply_parsed(sb_config_t *cfg, config_t *lc, const char *origin,
                                  char *err, size_t err_len)
{
    config_setting_t *root = config_root_setting(lc);
    for (int g = 0; g < config_setting_length(root); g++) {
        config_setting_t *group = config_setting_get_elem(root, (unsigned)g);
        if (!config_setting_is_group(group)) {
            sb_config_err(err, err_len, "%s:%d: '%s' must be a group { ... }", origin,
                          config_setting_source_line(group), config_setting_name(group));
            return SB_EINVAL;
        }
        for (int i = 0; i < config_setting_length(group); i++) {
            config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
            char path[128];
            snprintf(path, sizeof(path), "%s.%s", config_setting_name(group),
                     config_setting_name(s));
            const sb_config_key_t *key = sb_config_find_key(path);
            if (!key) {
                sb_config_err(err, err_len, "%s:%d: unknown setting '%s'", origin,
                              config_setting_source_line(s), path);
                return SB_EINVAL;
            }
            if (sb_config_store_setting(cfg, key, s) < 0) {
                sb_config_err(err, err_len, "%s:%d: invalid value for '%s'", origin,
                              config_setting_source_line(s), path);
                return SB_EINVAL;
            }
        }
    }
    return 0;
}

static int sb_config_apply(sb_config_t *cfg, const char *path, const char *text, char *err,
                           size_t err_len)
{
    config_t lc;
    config_init(&lc);
    int ok = path ? config_read_file(&lc, path) : config_read_string(&lc, text);
    int rc = 0;
    if (ok != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            sb_config_err(err, err_len, "%s: cannot read file", path);
        else
            sb_config_err(err, err_len, "%s:%d: %s", path ? path : "<text>",
                          config_error_line(&lc), config_error_text(&lc));
        rc = SB_EINVAL;
    } else {
        rc = sb_config_apply_parsed(cfg, &lc, path ? path : "<text>", err, err_len);
    }
    config_destroy(&lc);
    return rc;
}

int sb_config_set(sb_config_t *cfg, const char *setting, const char *value)
{
    const sb_config_key_t *key = sb_config_find_key(setting);
    if (!key || !value)
        return SB_ENOENT;
    return sb_config_store_text(cfg, key, value);
}

/* Whether one setting differs between a and b. */
static bool sb_config_key_differs(const sb_config_key_t *k, const sb_config_t *a,
                                  const sb_config_t *b)
{
    const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
    switch (k->kind) {
    case SB_CFG_STR: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        return strcmp(sa ? sa : "", sb ? sb : "") != 0;
    }
    case SB_CFG_UINT:
        return *(const unsigned *)pa != *(const unsigned *)pb;
    case SB_CFG_BOOL:
        return *(const bool *)pa != *(const bool *)pb;
    case SB_CFG_LOGLEVEL:
        return *(const int *)pa != *(const int *)pb;
    case SB_CFG_SIZE:
        return *(const size_t *)pa != *(const size_t *)pb;
    case SB_CFG_RANGE:
        return a->rtp_port_min != b->rtp_port_min || a->rtp_port_max != b->rtp_port_max;
    }
    return false;
}

void sb_config_diff(const sb_config_t *a, const sb_config_t *b,
                    void (*fn)(void *ctx, const char *setting), void *ctx)
{
    for (size_t i = 0; i < sizeof(sb_config_keys) / sizeof(sb_config_keys[0]); i++)
        if (sb_config_key_differs(&sb_config_keys[i], a, b))
            fn(ctx, sb_config_keys[i].path);
}

int sb_config_apply_file(sb_config_t *cfg, const char *path, char *err, size_t err_len)
{
    int rc = sb_config_apply(cfg, path, NULL, err, err_len);
    if (rc == 0)
        sb_config_set_str(&cfg->loaded_file, path);
    return rc;
}

int sb_config_apply_text(sb_config_t *cfg, const char *text, char *err, size_t err_len)
{
    return sb_config_apply(cfg, NULL, text, err, err_len);
}
