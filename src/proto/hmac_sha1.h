/* HMAC-SHA1 (RFC 2104) for SRTP's per-packet tags (RFC 3711 §4.2.1): the key's inner and outer
 * hash states are computed once, so a packet costs its own bytes' compression and one more
 * block for the outer hash, no key set-up and no allocation (OpenSSL's EVP_MAC re-keys on
 * every init and duplicates its digest contexts: ~0.3 µs per packet before this).
 *
 * Thread: a key's state is read-only once initialised; any thread may use it. */
#ifndef SB_PROTO_HMAC_SHA1_H
#define SB_PROTO_HMAC_SHA1_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#define SB_HMAC_SHA1_LEN 20

typedef struct sb_hmac_sha1 {
    SHA_CTX inner, outer; /* SHA-1 after one block: (key XOR ipad), (key XOR opad) */
} sb_hmac_sha1_t;

/* Keys hm with key (any length: longer than 64 bytes is hashed first, per RFC 2104). */
void sb_hmac_sha1_init(sb_hmac_sha1_t *hm, const uint8_t *key, size_t key_len);
/* The tag of a[0..alen) || b[0..blen) (b may be NULL when blen is 0). */
void sb_hmac_sha1(const sb_hmac_sha1_t *hm, const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen, uint8_t out[SB_HMAC_SHA1_LEN]);
/* Wipes the key's states. */
void sb_hmac_sha1_clear(sb_hmac_sha1_t *hm);

#endif
