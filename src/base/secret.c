/* Constant-time secret comparison (see secret.h). */
#include "base/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

bool sb_secret_equal_bytes(const void *expected, size_t expected_len, const void *given,
                           size_t given_len)
{
    const volatile unsigned char *e = expected, *g = given;
    unsigned char diff = expected_len != given_len;
    /* Every byte of expected is compared, against a zero past given's end: no early exit. */
    for (size_t i = 0; i < expected_len; i++)
        diff |= e[i] ^ (i < given_len ? g[i] : 0);
    return diff == 0;
}

bool sb_secret_equal(const char *expected, const char *given)
{
    if (!expected || !given)
        return false;
    return sb_secret_equal_bytes(expected, strlen(expected), given, strlen(given));
}

int sb_hmac_sha1_base64(const char *key, const char *text, char *out, size_t out_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!key || !text || out_len < 29 ||
        !HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)text, strlen(text), mac,
              &mac_len))
        return -1;
    EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len); /* 20 bytes: 28 + NUL */
    return 0;
}
