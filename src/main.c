/* Start-up and shutdown only: configuration, logging, sessions, plugins, transports, and
 * the main loop that handles signals and the periodic sweeps (session timeouts, long-poll
 * deadlines). Everything else lives in the modules. */
#include <glib-unix.h>
#include <glib.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/metrics.h"
#include "api/request.h"
#include "api/tls.h"
#include "api/tokens.h"
#include "api/transport.h"
#include "api/webhook.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "base/sd_notify.h"
#include "cluster/cluster.h"
#include "cluster/messages.h"
#include "cluster/rooms.h"
#include "switchboard/time.h"
#include "config/config.h"
#include "loop/loop.h"
#include "peer/events.h"
#include "peer/media.h"
#include "peer/peer_metrics.h"
#include "session/session.h"
#include "plugin/loader.h"
#include "reload.h"
#include "sb_build.h"

#define SB_MAIN_EVENTS_FLUSH_MS 2000 /* at shutdown, events still queued may take this long */

static const sb_transport_t *const sb_transports[] = {&sb_transport_http, &sb_transport_ws,
                                                       &sb_transport_admin};
#define SB_NTRANSPORTS (sizeof(sb_transports) / sizeof(sb_transports[0]))

/* Graceful drain (docs/deploy.md): after SIGTERM no new session is accepted, /ready says 503,
 * and the daemon exits once no PeerConnection is left or drain_timeout has passed. */
static struct {
    GMainLoop *loop;
    unsigned timeout_s;
    int64_t deadline_us; /* 0: not draining */
    int signum;          /* the signal that stops us, for the core's shutdown event */
} sb_drain;

static gboolean sb_main_on_interrupt(gpointer loop)
{
    SB_INFO("main", "SIGINT: shutting down");
    sb_drain.signum = SIGINT;
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE; /* removed with its twins after the loop */
}

static gboolean sb_main_on_terminate(gpointer loop)
{
    uint64_t calls = sb_peer_metrics_peers();
    sb_drain.signum = SIGTERM;
    if (sb_drain.deadline_us || !sb_drain.timeout_s || !calls) {
        SB_INFO("main", "SIGTERM: shutting down%s",
                sb_drain.deadline_us ? " (the second: not waiting for calls)" : "");
        g_main_loop_quit(loop);
        return G_SOURCE_CONTINUE;
    }
    sb_drain.deadline_us = sb_now_us() + (int64_t)sb_drain.timeout_s * 1000000;
    sb_sessions_set_accepting(false);
    SB_INFO("main", "SIGTERM: draining: no new sessions; %llu PeerConnections may go on for up "
                    "to %u s (SIGTERM again to stop now)",
            (unsigned long long)calls, sb_drain.timeout_s);
    sb_sd_notifyf("STATUS=draining: %llu PeerConnections left", (unsigned long long)calls);
    return G_SOURCE_CONTINUE;
}

static void sb_main_drain_tick(int64_t now)
{
    if (!sb_drain.deadline_us)
        return;
    uint64_t calls = sb_peer_metrics_peers();
    if (calls && now < sb_drain.deadline_us)
        return;
    if (calls)
        SB_INFO("main", "drain timeout: ending %llu PeerConnections", (unsigned long long)calls);
    else
        SB_INFO("main", "drained: no PeerConnection left");
    sb_drain.deadline_us = INT64_MAX; /* quit once */
    g_main_loop_quit(sb_drain.loop);
}

/* SIGHUP: the configuration again, what can change applied (reload.c). */
static struct {
    sb_config_t *cfg;
    int argc;
    char **argv;
} sb_main_hup;

static gboolean sb_main_on_hangup(gpointer unused)
{
    (void)unused;
    SB_INFO("main", "SIGHUP: reloading the configuration");
    sb_reload(sb_main_hup.cfg, sb_main_hup.argc, sb_main_hup.argv, &sb_drain.timeout_s);
    return G_SOURCE_CONTINUE;
}

/* The certificate of HTTPS and WSS, if configured: a bad one stops the start. */
static int sb_main_load_tls(const sb_config_t *cfg)
{
    bool cert = cfg->tls_cert && *cfg->tls_cert, key = cfg->tls_key && *cfg->tls_key;
    if (!cert && !key)
        return 0;
    if (!cert || !key) {
        SB_ERROR("main", "TLS needs both tls.cert and tls.key (--tls-cert, --tls-key)");
        return -1;
    }
    char err[256];
    if (sb_tls_load(cfg->tls_cert, cfg->tls_key, err, sizeof(err)) < 0) {
        SB_ERROR("main", "TLS certificate: %s", err);
        return -1;
    }
    return 0;
}

static gboolean sb_main_tick(gpointer unused)
{
    (void)unused;
    static int64_t last_sweep;
    int64_t now = sb_now_us();
    for (size_t i = 0; i < SB_NTRANSPORTS; i++)
        sb_transports[i]->tick(now);
    sb_tls_tick(now);
    if (now - last_sweep >= 1000000) {
        sb_sessions_sweep();
        last_sweep = now;
    }
    if (sb_drain.deadline_us != INT64_MAX)
        sb_main_drain_tick(now);
    return G_SOURCE_CONTINUE;
}

/* What this node tells the cluster in each heartbeat (cluster thread). */
static void sb_main_cluster_load(sb_cluster_load_t *out)
{
    out->sessions = sb_sessions_count();
    out->peers = (unsigned)sb_peer_metrics_peers();
    out->draining = !sb_sessions_accepting();
    unsigned n = sb_loops_count(), known = 0;
    double sum = 0;
    for (unsigned i = 0; i < n; i++) {
        double r = sb_metrics_loop_busy(i);
        if (r >= 0) {
            sum += r;
            known++;
        }
    }
    out->busy = known ? sum / known : 0;
}

/* The cluster's messages and node changes, for the plugin of their package (the cluster's
 * threads). Not once the plugins are going. */
static atomic_bool sb_main_plugins_live;

static void sb_main_cluster_message(unsigned from, const char *package, json_t *body)
{
    const sb_plugin_t *p = atomic_load(&sb_main_plugins_live) ? sb_plugins_find(package) : NULL;
    if (p && p->on_cluster_message)
        p->on_cluster_message(from, body);
}

static void sb_main_node_change_one(void *ctx, const sb_plugin_t *p)
{
    const unsigned *change = ctx;
    if (p->on_node_change)
        p->on_node_change(change[0], change[1]);
}

static void sb_main_node_change(void *unused, unsigned node, bool alive)
{
    (void)unused;
    unsigned change[2] = {node, alive};
    if (atomic_load(&sb_main_plugins_live))
        sb_plugins_each(sb_main_node_change_one, change);
}

/* The cluster, when configured: before the plugins, which use its directory from their
 * init on. A node id another live node holds stops the start. */
static int sb_main_start_cluster(const sb_config_t *cfg)
{
    char err[512] = "";
    if (cfg->cluster_redis && *cfg->cluster_redis &&
        (!cfg->cluster_secret || !*cfg->cluster_secret)) {
        SB_ERROR("main", "cluster: cluster.secret (--cluster-secret) is needed with "
                         "cluster.redis: nodes sign what they say to each other with it");
        return SB_EINVAL;
    }
    int rc = sb_cluster_start(&(sb_cluster_config_t){.redis = cfg->cluster_redis,
                                                     .prefix = cfg->cluster_prefix,
                                                     .address = cfg->cluster_address,
                                                     .node_id = cfg->node_id,
                                                     .version = PACKAGE_VERSION,
                                                     .load = sb_main_cluster_load},
                              err, sizeof(err));
    if (rc < 0) {
        SB_ERROR("main", "cluster: %s", err);
        return rc;
    }
    if (!sb_cluster_enabled())
        return 0;
    sb_rooms_init();
    sb_cluster_watch_nodes(sb_main_node_change, NULL);
    rc = sb_cluster_messages_start(cfg->cluster_secret, sb_main_cluster_message);
    if (rc < 0)
        SB_ERROR("main", "cluster: cluster.secret must be 1 to 255 bytes");
    return rc;
}

static bool sb_main_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Running from a build tree (the quick start): when the installed folders are absent,
 * use the plugins next to the binary, and the plugin configs and web app of the source
 * tree. */
static void sb_main_find_folders(sb_config_t *cfg)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char path[PATH_MAX + 32];
    if (!strcmp(cfg->plugins_folder, SB_PLUGIN_DIR) && !sb_main_is_dir(cfg->plugins_folder)) {
        snprintf(path, sizeof(path), "%s/plugins", exe);
        if (sb_main_is_dir(path)) {
            sb_free(cfg->plugins_folder);
            cfg->plugins_folder = sb_strdup(path);
        }
    }
    if (!strcmp(cfg->configs_folder, SB_CONF_DIR) && !sb_main_is_dir(cfg->configs_folder) &&
        sb_main_is_dir(SB_SRCDIR "/conf")) {
        sb_free(cfg->configs_folder);
        cfg->configs_folder = sb_strdup(SB_SRCDIR "/conf");
    }
    if (!strcmp(cfg->html_folder, SB_HTML_DIR) && !sb_main_is_dir(cfg->html_folder) &&
        sb_main_is_dir(SB_SRCDIR "/html/dist")) {
        sb_free(cfg->html_folder);
        cfg->html_folder = sb_strdup(SB_SRCDIR "/html/dist");
    }
}

static int sb_main_start_transports(const sb_config_t *cfg)
{
    for (size_t i = 0; i < SB_NTRANSPORTS; i++) {
        if (sb_transports[i]->enabled(cfg) && sb_transports[i]->start(cfg) < 0)
            return -1;
    }
    return 0;
}

static void sb_main_init_api(const sb_config_t *cfg)
{
    sb_sessions_init(&(sb_sessions_config_t){
        .node_id = cfg->node_id,
        .timeout_s = cfg->session_timeout_s,
        .max_sessions = cfg->max_sessions,
        .max_handles_per_session = cfg->max_handles_per_session,
        .event_queue_max = cfg->event_queue_max,
        .event_queue_max_bytes = cfg->event_queue_max_bytes,
    });
    sb_api_init(&(sb_api_config_t){.api_secret = cfg->api_secret, .ipv6 = cfg->ipv6});
    sb_tokens_init(cfg->token_auth, cfg->token_auth_secret);
}

/* Everything is up: say so (log, systemd, event handlers) and run until a signal ends it. */
static void sb_main_serve(const sb_config_t *cfg, GMainLoop *loop)
{
    g_timeout_add(250, sb_main_tick, NULL);
    if (cfg->http_enabled)
        SB_INFO("main", "ready: http://localhost:%u/ (API at %s)", cfg->http_port,
                cfg->base_path);
    if (sb_tls_ready() && cfg->https_port)
        SB_INFO("main", "ready: https://<this machine>:%u/ (API at %s)", cfg->https_port,
                cfg->base_path);
    sb_sd_notify("READY=1\nSTATUS=serving");
    if (sb_events_wanted(SB_EV_CORE))
        sb_events_emit(SB_EV_CORE, SB_EV_CORE_STARTUP, 0, 0, NULL,
                       json_pack("{s:s, s:o}", "status", "started", "info",
                                 sb_api_server_info(NULL)));
    g_main_loop_run(loop);
    sb_sd_notify("STOPPING=1");
    if (sb_events_wanted(SB_EV_CORE))
        sb_events_emit(SB_EV_CORE, SB_EV_CORE_SHUTDOWN, 0, 0, NULL,
                       json_pack("{s:s, s:i}", "status", "shutdown", "signum",
                                 sb_drain.signum));
}

/* In the reverse order of the start: nothing new comes in, then what exists goes. */
static void sb_main_teardown(bool media_up)
{
    for (size_t i = SB_NTRANSPORTS; i-- > 0;)
        sb_transports[i]->stop();
    sb_tls_deinit();
    sb_cluster_messages_stop();
    sb_sessions_deinit();
    atomic_store(&sb_main_plugins_live, false);
    sb_plugins_unload();
    sb_cluster_stop();
    sb_rooms_deinit();
    if (media_up)
        sb_media_stop();
    sb_webhook_stop(SB_MAIN_EVENTS_FLUSH_MS); /* sends what the shutdown left queued */
    sb_tokens_deinit();
    sb_api_deinit();
}

int main(int argc, char **argv)
{
    sb_config_t cfg;
    char err[512] = "";
    int rc = sb_config_load(&cfg, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "switchboard: %s\n", err);
        sb_config_deinit(&cfg);
        return rc < 0 ? 2 : 0;
    }
    sb_log_set_level(cfg.log_level);
    sb_log_start();
    signal(SIGPIPE, SIG_IGN);
    sb_main_find_folders(&cfg);
    SB_INFO("main", "Switchboard %s starting (%s)", PACKAGE_VERSION,
            cfg.loaded_file ? cfg.loaded_file : "embedded defaults");

    sb_main_init_api(&cfg);
    int exit_code = 0;
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    /* Before anything listens: a SIGTERM that comes as soon as a port answers (a supervisor,
     * a test) must stop us cleanly once the loop runs, not kill us with the default action
     * while a transport is still starting its threads. */
    sb_drain.loop = loop;
    sb_drain.timeout_s = cfg.drain_timeout_s;
    guint on_int = g_unix_signal_add(SIGINT, sb_main_on_interrupt, loop);
    guint on_term = g_unix_signal_add(SIGTERM, sb_main_on_terminate, loop);
    sb_main_hup.cfg = &cfg;
    sb_main_hup.argc = argc;
    sb_main_hup.argv = argv;
    guint on_hup = g_unix_signal_add(SIGHUP, sb_main_on_hangup, NULL);
    /* Before anything can emit: sessions, PeerConnections and plugins all may. */
    bool events_up = sb_webhook_start(&cfg) == 0;
    bool media_up = events_up && sb_media_start(&cfg) == 0;
    bool cluster_up = media_up && sb_main_start_cluster(&cfg) == 0;
    if (cluster_up) {
        sb_plugins_load(cfg.plugins_folder, cfg.configs_folder);
        atomic_store(&sb_main_plugins_live, true);
    }
    if (!cluster_up || sb_main_load_tls(&cfg) < 0 || sb_main_start_transports(&cfg) < 0) {
        exit_code = 1;
    } else {
        sb_main_serve(&cfg, loop);
    }
    g_source_remove(on_int);
    g_source_remove(on_term);
    g_source_remove(on_hup);
    sb_main_teardown(media_up);
    g_main_loop_unref(loop);
    SB_INFO("main", "stopped");
    sb_log_stop();
    sb_config_deinit(&cfg);
    return exit_code;
}
