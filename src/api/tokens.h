/* Token authorisation of the Janus API, as the reference server's: either stored tokens
 * (added and removed through the Admin API, each allowed a set of plugins) or, when a
 * token_auth_secret is configured, signed tokens that need no admin call:
 *
 *     <expiry>,janus[,<plugin>...]:<base64(HMAC-SHA1(secret, "<expiry>,janus[,<plugin>...]"))>
 *
 * valid until the Unix time <expiry>, for the plugins listed. Comparisons run in constant
 * time; tokens are never logged. Any thread (one lock around the stored table). */
#ifndef SB_API_TOKENS_H
#define SB_API_TOKENS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { SB_TOKENS_OFF, SB_TOKENS_STORED, SB_TOKENS_SIGNED } sb_tokens_mode_t;

/* enabled: token_auth; secret: token_auth_secret (NULL or "": stored tokens). */
void sb_tokens_init(bool enabled, const char *secret);
void sb_tokens_deinit(void);
sb_tokens_mode_t sb_tokens_mode(void);

/* Whether token (NULL: none given) is valid now; with plugin (a package name, or NULL for
 * no plugin), whether it also grants that plugin. */
bool sb_tokens_valid(const char *token, int64_t now_unix);
bool sb_tokens_allow_plugin(const char *token, const char *plugin, int64_t now_unix);

/* Stored tokens (SB_TOKENS_STORED only; the Admin API checks the mode). plugins: a JSON
 * array of package names, or NULL for every loaded plugin. Each returns the token's plugins
 * after the change (owned array), or NULL when the token is unknown (allow, disallow). */
json_t *sb_tokens_add(const char *token, json_t *plugins);
bool sb_tokens_remove(const char *token);
json_t *sb_tokens_allow(const char *token, json_t *plugins);
json_t *sb_tokens_disallow(const char *token, json_t *plugins);
/* [{"token": ..., "allowed_plugins": [...]}, ...] in the order added, leaving out the tokens
 * that grant no plugin (still valid for everything but attach), as the reference: owned. */
json_t *sb_tokens_list(void);

/* A signed token for plugins (NULL-terminated), valid until expiry: owned (free()). For
 * tests and tools; the core only verifies. */
char *sb_tokens_sign(const char *secret, int64_t expiry, const char *const *plugins);

#endif
