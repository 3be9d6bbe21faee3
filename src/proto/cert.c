/* The server's DTLS certificate: generation or PEM loading, the shared SSL_CTX, fingerprints.
 *
 * Does not verify chains or names: WebRTC authenticates a DTLS peer only by the fingerprint
 * carried in the signalled SDP (RFC 8827 §6.5), so dtls.c compares digests with the helpers
 * here. Does not reload or rotate: a new cert means a new sb_cert_t.
 *
 * Thread: created and freed by the main thread; read concurrently by every media loop. */
#include "proto/cert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_CERT_CN "switchboard"
#define SB_CERT_DAYS_BACK 30L
#define SB_CERT_DAYS_AHEAD 365L
/* Handshake ciphers only (media keys come from the exporter): forward secrecy and AEAD only.
 * Every WebRTC stack has ECDHE-ECDSA-AES128-GCM-SHA256 (RFC 8827 §6.5 makes it mandatory);
 * CBC is left out because OpenSSL treats a forged CBC record (bad encrypt-then-MAC) as fatal,
 * and a spoofed datagram must never end a call (dtls.c). No CCM: short tags, rarely offered. */
#define SB_CERT_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!AESCCM"

struct sb_cert {
    X509 *x509;
    EVP_PKEY *key;
    SSL_CTX *ctx;
    char fingerprint[SB_CERT_FP_MAX_TEXT];
};

static const struct {
    const char *name;
    const char *md;
    size_t len;
} sb_cert_hashes[] = {
    [SB_CERT_SHA1] = {"sha-1", "SHA1", 20},       [SB_CERT_SHA224] = {"sha-224", "SHA224", 28},
    [SB_CERT_SHA256] = {"sha-256", "SHA256", 32}, [SB_CERT_SHA384] = {"sha-384", "SHA384", 48},
    [SB_CERT_SHA512] = {"sha-512", "SHA512", 64},
};

static void sb_cert_log_ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    SB_ERROR("cert", "%s: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

/* The one SSL_CTX: identity and protocol floor only; dtls.c sets verification, SRTP, MTU and
 * timers on each SSL so this object stays read-only once shared. */
static SSL_CTX *sb_cert_ctx_new(X509 *x509, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx)
        return NULL;
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, x509) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 || SSL_CTX_set_cipher_list(ctx, SB_CERT_CIPHERS) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

/* Takes ownership of x509 and key (freed on failure too). */
static int sb_cert_wrap(X509 *x509, EVP_PKEY *key, sb_cert_t **out)
{
    sb_cert_t *c = SB_NEW(sb_cert_t);
    c->x509 = x509;
    c->key = key;
    sb_cert_fp_t fp;
    c->ctx = sb_cert_ctx_new(x509, key);
    if (!c->ctx || sb_cert_fp_compute(x509, SB_CERT_SHA256, &fp) != 0 ||
        sb_cert_fp_format(&fp, c->fingerprint, sizeof(c->fingerprint)) != 0) {
        sb_cert_log_ssl_error("cannot set up the DTLS context");
        sb_cert_free(c);
        return SB_EIO;
    }
    *out = c;
    return 0;
}

static int sb_cert_set_serial(X509 *x509)
{
    uint8_t rnd[8];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x01); /* positive and non-zero (RFC 5280 §4.1.2.2) */
    BIGNUM *bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static X509 *sb_cert_self_sign(EVP_PKEY *key)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 || sb_cert_set_serial(x) != 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -SB_CERT_DAYS_BACK * 86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), SB_CERT_DAYS_AHEAD * 86400) ||
        X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)SB_CERT_CN, -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int sb_cert_generate(sb_cert_t **out)
{
    *out = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x509 = key ? sb_cert_self_sign(key) : NULL;
    if (!x509) {
        sb_cert_log_ssl_error("cannot generate the DTLS certificate");
        EVP_PKEY_free(key);
        return SB_EIO;
    }
    return sb_cert_wrap(x509, key, out);
}

/* Never prompts on a terminal: no passphrase configured means an encrypted key fails. */
static int sb_cert_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pass = u;
    if (!pass)
        return -1;
    size_t n = strlen(pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

static int sb_cert_read_pem(const char *path, const char *pass, X509 **x509, EVP_PKEY **key)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        SB_ERROR("cert", "cannot open %s: %s", path, strerror(errno));
        return SB_ENOENT;
    }
    if (x509)
        *x509 = PEM_read_X509(f, NULL, sb_cert_passphrase_cb, NULL);
    else
        *key = PEM_read_PrivateKey(f, NULL, sb_cert_passphrase_cb, (void *)pass);
    fclose(f);
    if (x509 ? !*x509 : !*key) {
        char what[300];
        snprintf(what, sizeof(what), "cannot read %s from %s", x509 ? "a certificate" : "a key",
                 path);
        sb_cert_log_ssl_error(what);
        return SB_EINVAL;
    }
    return 0;
}

int sb_cert_load(const char *cert_path, const char *key_path, const char *passphrase,
                 sb_cert_t **out)
{
    *out = NULL;
    X509 *x509 = NULL;
    EVP_PKEY *key = NULL;
    int rc = sb_cert_read_pem(cert_path, NULL, &x509, NULL);
    if (rc == 0)
        rc = sb_cert_read_pem(key_path, passphrase, NULL, &key);
    if (rc == 0 && X509_check_private_key(x509, key) != 1) {
        sb_cert_log_ssl_error("the key does not match the certificate");
        rc = SB_EINVAL;
    }
    if (rc != 0) {
        X509_free(x509);
        EVP_PKEY_free(key);
        return rc;
    }
    return sb_cert_wrap(x509, key, out);
}

void sb_cert_free(sb_cert_t *cert)
{
    if (!cert)
        return;
    SSL_CTX_free(cert->ctx);
    X509_free(cert->x509);
    EVP_PKEY_free(cert->key);
    sb_free(cert);
}

const char *sb_cert_fingerprint(const sb_cert_t *cert)
{
    return cert->fingerprint;
}

struct ssl_ctx_st *sb_cert_ssl_ctx(const sb_cert_t *cert)
{
    return cert->ctx;
}

struct x509_st *sb_cert_x509(const sb_cert_t *cert)
{
    return cert->x509;
}

int sb_cert_hash_parse(const char *name, sb_cert_hash_t *out)
{
    for (size_t i = 0; name && i < sizeof(sb_cert_hashes) / sizeof(sb_cert_hashes[0]); i++) {
        if (strcasecmp(name, sb_cert_hashes[i].name) == 0) {
            *out = (sb_cert_hash_t)i;
            return 0;
        }
    }
    return SB_ENOTSUP;
}

const char *sb_cert_hash_name(sb_cert_hash_t hash)
{
    return (unsigned)hash <= SB_CERT_SHA512 ? sb_cert_hashes[hash].name : "unknown";
}

static int sb_cert_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sb_cert_fp_parse(const char *hash_name, const char *hex, sb_cert_fp_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sb_cert_hash_parse(hash_name, &out->hash) != 0)
        return SB_ENOTSUP;
    if (!hex)
        return SB_EINVAL;
    /* RFC 8122 §5: pairs of hex digits separated by colons. */
    size_t want = sb_cert_hashes[out->hash].len, n = 0;
    for (const char *p = hex;; p += 3) {
        int hi = sb_cert_hexval(p[0]), lo = hi < 0 ? -1 : sb_cert_hexval(p[1]);
        if (lo < 0 || n == want)
            return SB_EINVAL;
        out->digest[n++] = (uint8_t)(hi << 4 | lo);
        if (p[2] == '\0')
            break;
        if (p[2] != ':')
            return SB_EINVAL;
    }
    if (n != want)
        return SB_EINVAL;
    out->len = n;
    return 0;
}

int sb_cert_fp_compute(const struct x509_st *x, sb_cert_hash_t hash, sb_cert_fp_t *out)
{
    memset(out, 0, sizeof(*out));
    if ((unsigned)hash > SB_CERT_SHA512 || !x)
        return SB_EINVAL;
    EVP_MD *md = EVP_MD_fetch(NULL, sb_cert_hashes[hash].md, NULL);
    unsigned int len = 0;
    int ok = md && X509_digest(x, md, out->digest, &len) == 1 && len == sb_cert_hashes[hash].len;
    EVP_MD_free(md);
    if (!ok) {
        ERR_clear_error();
        return SB_EIO;
    }
    out->hash = hash;
    out->len = len;
    return 0;
}

bool sb_cert_fp_matches(const struct x509_st *x, const sb_cert_fp_t *expected)
{
    sb_cert_fp_t got;
    if (!expected || expected->len == 0 || sb_cert_fp_compute(x, expected->hash, &got) != 0)
        return false;
    return got.len == expected->len && CRYPTO_memcmp(got.digest, expected->digest, got.len) == 0;
}

int sb_cert_fp_format(const sb_cert_fp_t *fp, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    const char *name = sb_cert_hash_name(fp->hash);
    size_t nl = strlen(name);
    if (fp->len == 0 || fp->len > SB_CERT_FP_MAX_DIGEST || cap < nl + 1 + fp->len * 3)
        return SB_ERANGE;
    memcpy(out, name, nl);
    char *p = out + nl;
    *p++ = ' ';
    for (size_t i = 0; i < fp->len; i++) {
        if (i)
            *p++ = ':';
        *p++ = digits[fp->digest[i] >> 4];
        *p++ = digits[fp->digest[i] & 0x0f];
    }
    *p = '\0';
    return 0;
}
