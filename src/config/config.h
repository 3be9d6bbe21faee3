/* The daemon's configuration: embedded defaults, then conf/switchboard.conf (libconfig
 * syntax), then command-line flags, each overriding the one before.
 * Owned by main; read-only once loaded, so any thread may read it afterwards. */
#ifndef SB_CONFIG_CONFIG_H
#define SB_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sb_config {
    /* general */
    int log_level;
    char *plugins_folder;
    char *configs_folder; /* where plugins read their own <package>.conf */
    char *html_folder;    /* web app served at "/"; empty string disables */
    unsigned session_timeout_s;
    unsigned node_id; /* 0..255, carried in every session and handle id */
    unsigned max_sessions;
    unsigned max_handles_per_session;
    unsigned event_queue_max;
    size_t event_queue_max_bytes; /* per session, serialized JSON */
    bool token_auth;         /* the Janus API needs a token (stored, or signed with the below) */
    char *token_auth_secret; /* signed tokens' key; NULL: stored tokens (Admin API) */
    /* http */
    bool http_enabled;
    char *http_bind; /* address; NULL or "" = any */
    unsigned http_port;
    char *base_path;
    char *cors_origin; /* "*" or an origin; NULL or "" = no CORS headers */
    size_t max_body_size;
    unsigned longpoll_timeout_s;
    unsigned max_polls_per_session;
    char *api_secret; /* NULL = none required */
    unsigned http_max_connections;
    unsigned https_port; /* 0 = off; on only with tls_cert and tls_key */
    char *https_bind;
    /* websocket */
    bool ws_enabled;
    char *ws_bind;
    unsigned ws_port;
    unsigned ws_max_connections;
    size_t ws_max_queued_bytes;       /* per connection, replies and events not yet sent */
    size_t ws_max_total_queued_bytes; /* every connection together */
    unsigned ws_stall_timeout_s;      /* unsent bytes that do not move for this long: closed */
    unsigned wss_port; /* 0 = off; on only with tls_cert and tls_key */
    char *wss_bind;
    /* tls (HTTPS and WSS; re-read on SIGHUP) */
    char *tls_cert; /* PEM: the certificate, then its chain */
    char *tls_key;  /* PEM: its private key, unencrypted */
    /* ice_servers: what GET <base_path>/ice-servers hands clients */
    char *turn_rest_secret; /* coturn's static-auth-secret (use-auth-secret mode) */
    char *turn_rest_uris;   /* comma separated turn:/turns: URIs */
    char *stun_uris;        /* comma separated stun: URIs, handed out as they are */
    unsigned turn_rest_ttl_s;
    unsigned ice_servers_rate; /* requests per minute per client address; 0 = no limit */
    /* nat / ice */
    char *stun_server;
    unsigned stun_port;
    char *turn_server;
    unsigned turn_port;
    char *turn_type; /* udp, tcp, tls */
    char *turn_user;
    char *turn_pwd;
    unsigned rtp_port_min, rtp_port_max;
    char *ice_enforce_list; /* comma separated interface names or address prefixes */
    char *ice_ignore_list;
    bool ipv6;
    char *nat_1_1_mapping; /* comma separated public addresses announced for the host ones */
    bool keep_private_host; /* with nat_1_1_mapping: announce the private host ones too */
    bool ice_tcp;           /* passive ICE-TCP host candidates too */
    /* media */
    unsigned loops; /* 0 = number of cores */
    char *dtls_cert;
    char *dtls_key;
    char *dtls_key_passphrase;
    unsigned nack_history_ms;
    unsigned data_max_message_size; /* a=max-message-size we announce and enforce */
    /* admin: the Admin API, /metrics, /health and /ready on a listener of their own */
    bool admin_enabled;
    char *admin_bind; /* address; default loopback */
    unsigned admin_port;
    char *admin_base_path;
    char *admin_secret; /* NULL = none required (the listener is on loopback by default) */
    /* events: the webhook event handler (api/webhook.c) */
    char *events_webhook; /* http(s) URL; NULL or "": no event handler */
    char *events_types;   /* "all", or a list of sessions, handles, jsep, webrtc, ... */
    bool events_grouping; /* a JSON array of events per POST (else one event per POST) */
    unsigned events_queue_max, events_batch_max;
    unsigned events_retries, events_backoff_ms, events_timeout_ms;
    unsigned events_media_period_s; /* media reports (type 32/3) per PeerConnection; 0: none */
    char *events_emitter; /* "emitter" of every event; NULL or "": none */
    /* cluster (docs/scaling.md): several nodes, a directory in Redis */
    char *cluster_redis;   /* "host:port" or a unix socket path; NULL or "": one node alone */
    char *cluster_prefix;  /* of every Redis key and channel */
    char *cluster_secret;  /* shared by the nodes: authenticates node-to-node messages */
    char *cluster_address; /* where other nodes reach this one (media between nodes) */
    /* drain: after SIGTERM (or accept_new_sessions false), calls may go on this long */
    unsigned drain_timeout_s;
    /* set by the loader */
    char *loaded_file; /* NULL when running on embedded defaults */
} sb_config_t;

/* Fill cfg with the embedded defaults. */
void sb_config_defaults(sb_config_t *cfg);
void sb_config_deinit(sb_config_t *cfg);

/* Apply a libconfig-syntax file (or text) on top of cfg. On error returns SB_EINVAL and
 * writes a one-line reason ("file:line: what") into err. */
int sb_config_apply_file(sb_config_t *cfg, const char *path, char *err, size_t err_len);
int sb_config_apply_text(sb_config_t *cfg, const char *text, char *err, size_t err_len);

/* Set one setting by its file name ("http.port") from text, with the file's type and
 * bound checks. SB_ENOENT for an unknown name, SB_EINVAL for a bad value. */
int sb_config_set(sb_config_t *cfg, const char *setting, const char *value);

/* The whole start-up sequence: defaults, the file named by -C/--config (or none), then the
 * other flags. Returns 0 to run, 1 when --help/--version printed and the caller should
 * exit 0, or SB_EINVAL with a reason in err. */
int sb_config_load(sb_config_t *cfg, int argc, char **argv, char *err, size_t err_len);

void sb_config_print_help(FILE *out, const char *argv0);

/* Calls fn with the name ("http.port") of every setting whose value differs between a and b
 * (SIGHUP: what a reload would change). */
void sb_config_diff(const sb_config_t *a, const sb_config_t *b,
                    void (*fn)(void *ctx, const char *setting), void *ctx);

#endif
