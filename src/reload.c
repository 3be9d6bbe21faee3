/* SIGHUP's reload (see reload.h). */
#include "reload.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "api/tls.h"
#include "api/tokens.h"
#include "switchboard/alloc.h"
#include "base/log.h"
#include "peer/events.h"
#include "session/session.h"
#include "plugin/loader.h"

/* The settings applied while running; any other that changed needs a restart. */
static const char *const sb_reload_live[] = {
    "general.log_level", "general.session_timeout", "general.drain_timeout",
    "general.token_auth", "general.token_auth_secret", "events.types", "tls.cert", "tls.key",
};

typedef struct sb_reload_ctx {
    GString *applied, *ignored;
} sb_reload_ctx_t;

static void sb_reload_note(void *arg, const char *setting)
{
    sb_reload_ctx_t *c = arg;
    bool live = false;
    for (size_t i = 0; i < sizeof(sb_reload_live) / sizeof(sb_reload_live[0]); i++)
        live |= !strcmp(sb_reload_live[i], setting);
    GString *to = live ? c->applied : c->ignored;
    g_string_append_printf(to, "%s%s", to->len ? ", " : "", setting);
}

static void sb_reload_plugin(void *ctx, const sb_plugin_t *p)
{
    const char *configs = ctx;
    if (p->reload && p->reload(configs) < 0)
        SB_WARN("main", "SIGHUP: %s could not reload its configuration (kept as it was)",
                p->package);
}

static void sb_reload_swap_str(char **running, char **fresh)
{
    char *t = *running;
    *running = *fresh;
    *fresh = t;
}

void sb_reload(sb_config_t *cfg, int argc, char **argv, unsigned *drain_timeout_s)
{
    sb_config_t fresh;
    char err[512] = "";
    if (sb_config_load(&fresh, argc, argv, err, sizeof(err)) != 0) {
        SB_WARN("main", "SIGHUP: the configuration does not load (%s): nothing changed", err);
        sb_config_deinit(&fresh);
        return;
    }
    sb_reload_ctx_t c = {g_string_new(NULL), g_string_new(NULL)};
    sb_config_diff(cfg, &fresh, sb_reload_note, &c);

    sb_log_set_level((sb_log_level_t)fresh.log_level);
    cfg->log_level = fresh.log_level;
    sb_sessions_set_timeout_s(fresh.session_timeout_s);
    cfg->session_timeout_s = fresh.session_timeout_s;
    *drain_timeout_s = cfg->drain_timeout_s = fresh.drain_timeout_s;
    cfg->token_auth = fresh.token_auth;
    sb_reload_swap_str(&cfg->token_auth_secret, &fresh.token_auth_secret);
    sb_tokens_init(cfg->token_auth, cfg->token_auth_secret); /* stored tokens are kept */
    int mask = sb_events_parse_mask(fresh.events_types);
    if (atomic_load(&sb_events_mask) && mask > 0) {
        atomic_store(&sb_events_mask, (unsigned)mask);
        sb_reload_swap_str(&cfg->events_types, &fresh.events_types);
    }
    sb_reload_swap_str(&cfg->tls_cert, &fresh.tls_cert);
    sb_reload_swap_str(&cfg->tls_key, &fresh.tls_key);
    sb_tls_reload();
    sb_plugins_each(sb_reload_plugin, cfg->configs_folder);

    SB_INFO("main", "SIGHUP: configuration reloaded; changed and applied: %s",
            c.applied->len ? c.applied->str : "none");
    if (c.ignored->len)
        SB_WARN("main", "SIGHUP: changed but not applied until a restart: %s", c.ignored->str);
    g_string_free(c.applied, TRUE);
    g_string_free(c.ignored, TRUE);
    sb_config_deinit(&fresh);
}
