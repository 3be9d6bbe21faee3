/* The DTLS identity: one certificate and key for the whole server, and the fingerprints that
 * bind it to SDP (RFC 8122 §5, RFC 8827 §6.5).
 *
 * An sb_cert_t is created at start-up (generated or loaded from PEM files), owned by the core,
 * and shared read-only by every DTLS endpoint on every media loop: all its accessors are
 * thread-safe once created. It also owns the one SSL_CTX (identity only: method, certificate,
 * key, no session cache) from which dtls.c creates one SSL per peer and configures the rest.
 * A DTLS endpoint borrows the cert only during sb_dtls_new(); OpenSSL's own reference counts
 * keep the context alive for endpoints that outlive sb_cert_free().
 *
 * Fingerprint helpers compare a received certificate with the a=fingerprint of the remote
 * SDP: hash names are matched case-insensitively, hex digits likewise. */
#ifndef SB_PROTO_CERT_H
#define SB_PROTO_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct x509_st;
struct ssl_ctx_st;

typedef struct sb_cert sb_cert_t;

/* Hash functions of RFC 8122 §5 that we accept (md5/md2 are not). */
typedef enum sb_cert_hash {
    SB_CERT_SHA1 = 0,
    SB_CERT_SHA224,
    SB_CERT_SHA256,
    SB_CERT_SHA384,
    SB_CERT_SHA512,
} sb_cert_hash_t;

#define SB_CERT_FP_MAX_DIGEST 64
/* "sha-512 " + 64 * "XX:" (last without ':') + NUL */
#define SB_CERT_FP_MAX_TEXT (8 + SB_CERT_FP_MAX_DIGEST * 3)

/* A parsed or computed fingerprint. Plain value. */
typedef struct sb_cert_fp {
    sb_cert_hash_t hash;
    size_t len;
    uint8_t digest[SB_CERT_FP_MAX_DIGEST];
} sb_cert_fp_t;

/* Self-signed ECDSA P-256 certificate, CN "switchboard", random 64-bit serial, valid from 30
 * days ago to 365 days ahead. Returns 0 and *out (owned), or SB_EIO. */
int sb_cert_generate(sb_cert_t **out);

/* Loads a PEM certificate and its PEM private key (optionally encrypted with passphrase; NULL
 * when not encrypted: never prompts). Returns 0 and *out (owned), SB_ENOENT when a file cannot
 * be opened, SB_EINVAL when a file does not parse, the passphrase is wrong, or the key does not
 * match the certificate, SB_EIO otherwise. */
int sb_cert_load(const char *cert_path, const char *key_path, const char *passphrase,
                 sb_cert_t **out);

void sb_cert_free(sb_cert_t *cert);

/* Our fingerprint in SDP form, "sha-256 AB:CD:..." (uppercase hex). Borrowed, lives as long as
 * the cert. */
const char *sb_cert_fingerprint(const sb_cert_t *cert);

/* Borrowed OpenSSL objects for dtls.c: the shared SSL_CTX and the certificate. */
struct ssl_ctx_st *sb_cert_ssl_ctx(const sb_cert_t *cert);
struct x509_st *sb_cert_x509(const sb_cert_t *cert);

/* Hash name from SDP ("sha-256", any case) to enum. 0, or SB_ENOTSUP for anything else. */
int sb_cert_hash_parse(const char *name, sb_cert_hash_t *out);
/* Lower-case SDP name of a hash ("sha-256"). */
const char *sb_cert_hash_name(sb_cert_hash_t hash);

/* Parses an SDP fingerprint value: hash name and "AB:CD:..." hex (any case). Returns 0,
 * SB_ENOTSUP (unknown hash), SB_EINVAL (malformed hex or wrong length for the hash). */
int sb_cert_fp_parse(const char *hash_name, const char *hex, sb_cert_fp_t *out);

/* Digest of the DER encoding of x with hash. Returns 0 or SB_EIO. */
int sb_cert_fp_compute(const struct x509_st *x, sb_cert_hash_t hash, sb_cert_fp_t *out);

/* True when x's digest under expected->hash equals expected (constant time). */
bool sb_cert_fp_matches(const struct x509_st *x, const sb_cert_fp_t *expected);

/* Formats fp in SDP form, "sha-256 AB:CD:..." into out. Returns 0 or SB_ERANGE. */
int sb_cert_fp_format(const sb_cert_fp_t *fp, char *out, size_t cap);

#endif
