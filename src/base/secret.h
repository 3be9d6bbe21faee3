/* Comparing secrets (API secret, admin secret, tokens) in time that does not depend on
 * where they differ, so an attacker cannot find one byte at a time by timing replies. */
#ifndef SB_BASE_SECRET_H
#define SB_BASE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* True when given equals expected (both NUL-terminated; given may be NULL: false). The time
 * depends on expected's length only. */
bool sb_secret_equal(const char *expected, const char *given);
/* The same for byte strings of known lengths (the time depends on expected_len only). */
bool sb_secret_equal_bytes(const void *expected, size_t expected_len, const void *given,
                           size_t given_len);

/* base64(HMAC-SHA1(key, text)) into out (29 bytes at least: 28 characters and a NUL), the
 * form of TURN REST credentials and of signed tokens. 0, or -1 (a NULL, out too small). */
int sb_hmac_sha1_base64(const char *key, const char *text, char *out, size_t out_len);

#endif
