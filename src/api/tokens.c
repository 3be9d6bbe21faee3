/* Stored and signed tokens (see tokens.h). */
#include "api/tokens.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/secret.h"
#include "plugin/loader.h"

#define SB_TOKENS_REALM "janus"
#define SB_TOKENS_MAX 100000 /* stored tokens: the Admin API cannot grow memory past this */
#define SB_TOKEN_MAX_LEN 4096

/* A stored token and the package names it may attach to. */
typedef struct sb_token {
    char *token;
    GPtrArray *plugins; /* char*, owned */
} sb_token_t;

static struct {
    pthread_mutex_t lock; /* guards tokens */
    sb_tokens_mode_t mode;
    char *secret;
    GPtrArray *tokens; /* sb_token_t*, in the order added */
} sb_tokens = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void sb_token_free(gpointer p)
{
    sb_token_t *t = p;
    sb_free(t->token);
    g_ptr_array_free(t->plugins, TRUE);
    sb_free(t);
}

void sb_tokens_init(bool enabled, const char *secret)
{
    pthread_mutex_lock(&sb_tokens.lock);
    bool sign = secret && *secret;
    sb_tokens.mode = !enabled ? SB_TOKENS_OFF : sign ? SB_TOKENS_SIGNED : SB_TOKENS_STORED;
    sb_free(sb_tokens.secret);
    sb_tokens.secret = sign ? sb_strdup(secret) : NULL;
    if (!sb_tokens.tokens)
        sb_tokens.tokens = g_ptr_array_new_with_free_func(sb_token_free);
    pthread_mutex_unlock(&sb_tokens.lock);
}

void sb_tokens_deinit(void)
{
    pthread_mutex_lock(&sb_tokens.lock);
    if (sb_tokens.tokens)
        g_ptr_array_free(sb_tokens.tokens, TRUE);
    sb_tokens.tokens = NULL;
    sb_free(sb_tokens.secret);
    sb_tokens.secret = NULL;
    sb_tokens.mode = SB_TOKENS_OFF;
    pthread_mutex_unlock(&sb_tokens.lock);
}

sb_tokens_mode_t sb_tokens_mode(void)
{
    return sb_tokens.mode;
}

/* ---- signed ---- */

/* Checks a signed token; when plugin is set, also that it lists plugin. */
static bool sb_tokens_signed_ok(const char *token, const char *plugin, int64_t now_unix)
{
    const char *colon = strchr(token, ':');
    size_t data_len = colon ? (size_t)(colon - token) : 0;
    if (!colon || data_len == 0 || data_len >= SB_TOKEN_MAX_LEN)
        return false;
    char data[SB_TOKEN_MAX_LEN];
    memcpy(data, token, data_len);
    data[data_len] = '\0';
    char mac[32];
    /* The signature first, always: the time taken does not tell which part was wrong. */
    bool sig_ok = sb_hmac_sha1_base64(sb_tokens.secret, data, mac, sizeof(mac)) == 0 &&
                  sb_secret_equal(mac, colon + 1);
    /* <expiry>,<realm>[,<plugin>...] */
    char *save = NULL;
    char *expiry = strtok_r(data, ",", &save), *realm = strtok_r(NULL, ",", &save);
    if (!sig_ok || !expiry || !realm || strcmp(realm, SB_TOKENS_REALM) != 0)
        return false;
    errno = 0;
    char *end;
    long long exp = strtoll(expiry, &end, 10);
    if (errno || *end || end == expiry || exp <= now_unix)
        return false;
    if (!plugin)
        return true;
    for (char *p = strtok_r(NULL, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (!strcmp(p, plugin))
            return true;
    return false;
}

char *sb_tokens_sign(const char *secret, int64_t expiry, const char *const *plugins)
{
    GString *data = g_string_new(NULL);
    g_string_printf(data, "%lld,%s", (long long)expiry, SB_TOKENS_REALM);
    for (size_t i = 0; plugins && plugins[i]; i++)
        g_string_append_printf(data, ",%s", plugins[i]);
    char mac[32];
    char *out = NULL;
    if (sb_hmac_sha1_base64(secret, data->str, mac, sizeof(mac)) == 0) {
        size_t n = data->len + 1 + strlen(mac) + 1;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s:%s", data->str, mac);
    }
    g_string_free(data, TRUE);
    return out;
}

/* ---- stored ---- */

/* The stored token equal to token, compared in constant time against each; lock held. */
static sb_token_t *sb_tokens_find(const char *token)
{
    sb_token_t *found = NULL;
    for (guint i = 0; i < sb_tokens.tokens->len; i++) {
        sb_token_t *t = g_ptr_array_index(sb_tokens.tokens, i);
        if (sb_secret_equal(t->token, token) && !found)
            found = t;
    }
    return found;
}

static bool sb_token_has(const sb_token_t *t, const char *plugin)
{
    for (guint i = 0; i < t->plugins->len; i++)
        if (!strcmp(g_ptr_array_index(t->plugins, i), plugin))
            return true;
    return false;
}

bool sb_tokens_valid(const char *token, int64_t now_unix)
{
    return sb_tokens_allow_plugin(token, NULL, now_unix);
}

bool sb_tokens_allow_plugin(const char *token, const char *plugin, int64_t now_unix)
{
    if (!token || strlen(token) >= SB_TOKEN_MAX_LEN)
        return false;
    pthread_mutex_lock(&sb_tokens.lock);
    bool ok = false;
    if (sb_tokens.mode == SB_TOKENS_SIGNED) {
        ok = sb_tokens_signed_ok(token, plugin, now_unix);
    } else if (sb_tokens.mode == SB_TOKENS_STORED) {
        sb_token_t *t = sb_tokens_find(token);
        ok = t && (!plugin || sb_token_has(t, plugin));
    }
    pthread_mutex_unlock(&sb_tokens.lock);
    return ok;
}

static json_t *sb_token_plugins_json(const sb_token_t *t)
{
    json_t *a = json_array();
    for (guint i = 0; i < t->plugins->len; i++)
        json_array_append_new(a, json_string(g_ptr_array_index(t->plugins, i)));
    return a;
}

static void sb_token_add_loaded(void *ctx, const sb_plugin_t *p)
{
    sb_token_t *t = ctx;
    if (!sb_token_has(t, p->package))
        g_ptr_array_add(t->plugins, sb_strdup(p->package));
}

/* Adds the loaded plugins of the array to t (the reference skips unknown names and
 * non-strings in add_token). */
static void sb_token_add_list(sb_token_t *t, json_t *plugins)
{
    for (size_t i = 0; i < json_array_size(plugins); i++) {
        json_t *v = json_array_get(plugins, i);
        const char *name = json_string_value(v);
        if (name && sb_plugins_find(name) && !sb_token_has(t, name))
            g_ptr_array_add(t->plugins, sb_strdup(name));
    }
}

json_t *sb_tokens_add(const char *token, json_t *plugins)
{
    pthread_mutex_lock(&sb_tokens.lock);
    sb_token_t *t = sb_tokens_find(token);
    if (!t && sb_tokens.tokens->len >= SB_TOKENS_MAX) {
        pthread_mutex_unlock(&sb_tokens.lock);
        return NULL;
    }
    if (!t) {
        t = SB_NEW(sb_token_t);
        t->token = sb_strdup(token);
        t->plugins = g_ptr_array_new_with_free_func(sb_free);
        g_ptr_array_add(sb_tokens.tokens, t);
    }
    /* No list, or an empty one: every plugin loaded (the reference's reading). */
    if (!plugins || !json_array_size(plugins))
        sb_plugins_each(sb_token_add_loaded, t);
    else
        sb_token_add_list(t, plugins);
    json_t *r = sb_token_plugins_json(t);
    pthread_mutex_unlock(&sb_tokens.lock);
    return r;
}

bool sb_tokens_remove(const char *token)
{
    pthread_mutex_lock(&sb_tokens.lock);
    sb_token_t *t = sb_tokens_find(token);
    if (t)
        g_ptr_array_remove(sb_tokens.tokens, t);
    pthread_mutex_unlock(&sb_tokens.lock);
    return t != NULL;
}

json_t *sb_tokens_allow(const char *token, json_t *plugins)
{
    pthread_mutex_lock(&sb_tokens.lock);
    sb_token_t *t = sb_tokens_find(token);
    json_t *r = NULL;
    if (t) {
        sb_token_add_list(t, plugins);
        r = sb_token_plugins_json(t);
    }
    pthread_mutex_unlock(&sb_tokens.lock);
    return r;
}

json_t *sb_tokens_disallow(const char *token, json_t *plugins)
{
    pthread_mutex_lock(&sb_tokens.lock);
    sb_token_t *t = sb_tokens_find(token);
    json_t *r = NULL;
    if (t) {
        for (size_t i = 0; i < json_array_size(plugins); i++) {
            json_t *v = json_array_get(plugins, i);
            for (guint k = 0; json_is_string(v) && k < t->plugins->len; k++) {
                if (!strcmp(g_ptr_array_index(t->plugins, k), json_string_value(v))) {
                    g_ptr_array_remove_index(t->plugins, k);
                    break;
                }
            }
        }
        r = sb_token_plugins_json(t);
    }
    pthread_mutex_unlock(&sb_tokens.lock);
    return r;
}

json_t *sb_tokens_list(void)
{
    json_t *list = json_array();
    pthread_mutex_lock(&sb_tokens.lock);
    for (guint i = 0; sb_tokens.tokens && i < sb_tokens.tokens->len; i++) {
        sb_token_t *t = g_ptr_array_index(sb_tokens.tokens, i);
        if (!t->plugins->len) /* valid, but unlisted: the reference lists what grants a plugin */
            continue;
        json_array_append_new(list, json_pack("{s:s, s:o}", "token", t->token, "allowed_plugins",
                                              sb_token_plugins_json(t)));
    }
    pthread_mutex_unlock(&sb_tokens.lock);
    return list;
}
