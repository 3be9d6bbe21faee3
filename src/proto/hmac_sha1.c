/* HMAC-SHA1 with precomputed key states (hmac_sha1.h). OpenSSL's SHA-1 block functions (its
 * assembly, SHA-NI where the CPU has it) do the hashing; they are deprecated in OpenSSL 3 in
 * favour of EVP, whose per-call dispatch and context duplication are what this file avoids. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "proto/hmac_sha1.h"

#include <string.h>

#include <openssl/crypto.h>

#define SB_HMAC_BLOCK 64

void sb_hmac_sha1_init(sb_hmac_sha1_t *hm, const uint8_t *key, size_t key_len)
{
    uint8_t k[SB_HMAC_BLOCK] = {0}, pad[SB_HMAC_BLOCK];
    if (key_len > SB_HMAC_BLOCK)
        SHA1(key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < SB_HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    SHA1_Init(&hm->inner);
    SHA1_Update(&hm->inner, pad, sizeof(pad));
    for (size_t i = 0; i < SB_HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA1_Init(&hm->outer);
    SHA1_Update(&hm->outer, pad, sizeof(pad));
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
}

void sb_hmac_sha1(const sb_hmac_sha1_t *hm, const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen, uint8_t out[SB_HMAC_SHA1_LEN])
{
    uint8_t inner[SB_HMAC_SHA1_LEN];
    SHA_CTX c = hm->inner;
    SHA1_Update(&c, a, alen);
    if (blen)
        SHA1_Update(&c, b, blen);
    SHA1_Final(inner, &c);
    c = hm->outer;
    SHA1_Update(&c, inner, sizeof(inner));
    SHA1_Final(out, &c);
}

void sb_hmac_sha1_clear(sb_hmac_sha1_t *hm)
{
    OPENSSL_cleanse(hm, sizeof(*hm));
}
