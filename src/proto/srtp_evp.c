/* SRTP for RTP with OpenSSL EVP: the hot-path transforms of srtp.c, for AES-CM + HMAC-SHA1
 * (RFC 3711) and AEAD AES-GCM (RFC 7714), sending and receiving.
 *
 * Why it exists: Debian's libsrtp2 is built against NSS, whose AES-CTR and HMAC cost ~5 µs per
 * 1200-byte packet and whose GCM takes locks and allocates per packet; OpenSSL's AES-NI code
 * does the same work in well under 1 µs, and one protect per forwarded packet per subscriber
 * is the floor of the SFU's cost (DESIGN.md); receiving, NSS costs ~5 µs per packet in a
 * busy loop (locks, allocations, cold caches).
 * What it does not do: SRTCP, MKI, key derivation rate, encrypted header extensions.
 * libsrtp2 remains the reference: the unit tests compare this transform byte for byte.
 *
 * Thread: an sb_srtp_evp_t belongs to one session, media loop only. */
#include "proto/srtp_evp.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/alloc.h"
#include "base/error.h"
#include "proto/byteorder.h"
#include "proto/srtp.h"

#define SB_SRTP_EVP_AUTH_KEY_LEN 20 /* HMAC-SHA1 session key (RFC 3711 §4.2.1, n_a = 160) */
#define SB_SRTP_EVP_GCM_TAG_LEN 16  /* RFC 7714 §14.2: the DTLS-SRTP AEAD profiles use 16 */
#define SB_SRTP_EVP_GCM_SALT_LEN 12 /* RFC 7714 §11 */
#define SB_SRTP_EVP_SEQ_MEDIAN 32768u

#define SB_SRTP_EVP_WINDOW_WORDS (SB_SRTP_REPLAY_WINDOW / 64)
#define SB_SRTP_EVP_MAX_RX_STREAMS 64 /* remote SSRCs of one PeerConnection, at most */

/* State of one SSRC: the highest packet index sent or authenticated (48 bits, RFC 3711
 * §3.3.1); receiving, which of the SB_SRTP_REPLAY_WINDOW indexes below it arrived (bit k:
 * index - k). */
typedef struct sb_srtp_evp_stream {
    uint32_t ssrc;
    uint64_t index;
    uint64_t seen[SB_SRTP_EVP_WINDOW_WORDS];
} sb_srtp_evp_stream_t;

struct sb_srtp_evp {
    bool gcm;            /* AEAD AES-GCM, else AES-CM + HMAC-SHA1 */
    bool inbound;        /* unprotects (remote keys), else protects */
    EVP_CIPHER_CTX *aes; /* AES-CTR or AES-GCM keyed with the session key; IV set per packet */
    EVP_MAC_CTX *hmac;   /* AES-CM only: HMAC-SHA1 keyed with the session auth key */
    uint8_t salt[14];    /* session salt: 14 bytes (AES-CM) or 12 (GCM) */
    size_t tag_len;
    sb_srtp_evp_stream_t *streams;
    size_t n_streams, cap_streams;
    size_t last; /* index of the last stream used: consecutive packets share an SSRC */
};

/* Builds the AES-CM IV (RFC 3711 §4.1.1): (salt << 16) XOR (ssrc << 64) XOR (index << 16). */
static void sb_srtp_evp_iv(uint8_t iv[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index)
{
    memcpy(iv, salt, 14);
    iv[14] = iv[15] = 0;
    iv[4] ^= (uint8_t)(ssrc >> 24);
    iv[5] ^= (uint8_t)(ssrc >> 16);
    iv[6] ^= (uint8_t)(ssrc >> 8);
    iv[7] ^= (uint8_t)ssrc;
    for (int i = 0; i < 6; i++)
        iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

static int sb_srtp_evp_ctr_oneshot(const uint8_t *key, size_t key_len, const uint8_t iv[16],
                                   uint8_t *buf, size_t len)
{
    const EVP_CIPHER *aes = key_len == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, ok = c && len <= (size_t)INT32_MAX &&
                       EVP_EncryptInit_ex(c, aes, NULL, key, iv) == 1 &&
                       EVP_EncryptUpdate(c, buf, &outl, buf, (int)len) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : SB_EIO;
}

int sb_srtp_evp_kdf(const uint8_t *master_key, size_t key_len, const uint8_t master_salt[14],
                    uint8_t label, uint8_t *out, size_t out_len)
{
    /* key_id = label || r with r = 0 (kdr 0) is 56 bits, right-aligned against the 112-bit
     * salt: the label lands on byte 7. The PRF is AES-CM with IV = x * 2^16 (§4.3.3), keyed
     * with the master key (AES-256-CM for 32-byte keys, RFC 6188 §7). */
    if (key_len != 16 && key_len != 32)
        return SB_EINVAL;
    uint8_t iv[16];
    memcpy(iv, master_salt, 14);
    iv[7] ^= label;
    iv[14] = iv[15] = 0;
    memset(out, 0, out_len);
    int rc = sb_srtp_evp_ctr_oneshot(master_key, key_len, iv, out, out_len);
    OPENSSL_cleanse(iv, sizeof(iv));
    return rc;
}

int sb_srtp_evp_keystream_xor(const uint8_t session_key[16], const uint8_t session_salt[14],
                              uint32_t ssrc, uint64_t index, uint8_t *buf, size_t len)
{
    uint8_t iv[16];
    sb_srtp_evp_iv(iv, session_salt, ssrc, index);
    return sb_srtp_evp_ctr_oneshot(session_key, 16, iv, buf, len);
}

/* AES-CM + HMAC-SHA1 session keys (RFC 3711 §4.3): cipher key, auth key, 14-byte salt. */
static int sb_srtp_evp_keys_cm(sb_srtp_evp_t *e, const uint8_t master_key[16],
                               const uint8_t master_salt[14])
{
    uint8_t enc[16], auth[SB_SRTP_EVP_AUTH_KEY_LEN];
    int rc = SB_EIO;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    e->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!e->hmac ||
        sb_srtp_evp_kdf(master_key, 16, master_salt, SB_SRTP_LABEL_RTP_ENC, enc, sizeof(enc)) ||
        sb_srtp_evp_kdf(master_key, 16, master_salt, SB_SRTP_LABEL_RTP_AUTH, auth, sizeof(auth)) ||
        sb_srtp_evp_kdf(master_key, 16, master_salt, SB_SRTP_LABEL_RTP_SALT, e->salt, 14))
        goto out;
    if (EVP_EncryptInit_ex(e->aes, EVP_aes_128_ctr(), NULL, enc, NULL) != 1)
        goto out;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(e->hmac, auth, sizeof(auth), params) != 1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(enc, sizeof(enc));
    OPENSSL_cleanse(auth, sizeof(auth));
    return rc;
}

/* AEAD AES-GCM session keys (RFC 7714 §11): the RFC 3711 KDF over the 12-byte master salt
 * (zero-padded to the KDF's 112 bits), giving the cipher key and a 12-byte session salt. */
static int sb_srtp_evp_keys_gcm(sb_srtp_evp_t *e, const uint8_t *master_key, size_t key_len,
                                const uint8_t master_salt[12])
{
    uint8_t salt14[14] = {0}, enc[32];
    memcpy(salt14, master_salt, SB_SRTP_EVP_GCM_SALT_LEN);
    const EVP_CIPHER *gcm = key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    int rc = SB_EIO;
    if (sb_srtp_evp_kdf(master_key, key_len, salt14, SB_SRTP_LABEL_RTP_ENC, enc, key_len) ||
        sb_srtp_evp_kdf(master_key, key_len, salt14, SB_SRTP_LABEL_RTP_SALT, e->salt,
                        SB_SRTP_EVP_GCM_SALT_LEN))
        goto out;
    /* The IV length defaults to 12 bytes, the RFC 7714 IV. */
    if ((e->inbound ? EVP_DecryptInit_ex(e->aes, gcm, NULL, enc, NULL)
                    : EVP_EncryptInit_ex(e->aes, gcm, NULL, enc, NULL)) != 1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(salt14, sizeof(salt14));
    OPENSSL_cleanse(enc, sizeof(enc));
    return rc;
}

int sb_srtp_evp_new(sb_srtp_profile_t profile, const uint8_t *master_key,
                    const uint8_t *master_salt, bool inbound, sb_srtp_evp_t **out)
{
    *out = NULL;
    size_t key_len, salt_len;
    if (sb_srtp_profile_lengths(profile, &key_len, &salt_len) != 0)
        return SB_ENOTSUP;
    sb_srtp_evp_t *e = SB_NEW(sb_srtp_evp_t);
    e->inbound = inbound;
    e->aes = EVP_CIPHER_CTX_new();
    int rc = SB_EIO;
    switch (profile) {
    case SB_SRTP_AES128_CM_SHA1_80:
    case SB_SRTP_AES128_CM_SHA1_32:
        e->tag_len = profile == SB_SRTP_AES128_CM_SHA1_80 ? 10 : 4;
        rc = e->aes ? sb_srtp_evp_keys_cm(e, master_key, master_salt) : SB_EIO;
        break;
    case SB_SRTP_AEAD_AES_128_GCM:
    case SB_SRTP_AEAD_AES_256_GCM:
        e->gcm = true;
        e->tag_len = SB_SRTP_EVP_GCM_TAG_LEN;
        rc = e->aes ? sb_srtp_evp_keys_gcm(e, master_key, key_len, master_salt) : SB_EIO;
        break;
    default:
        rc = SB_ENOTSUP;
    }
    if (rc != 0) {
        sb_srtp_evp_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void sb_srtp_evp_free(sb_srtp_evp_t *e)
{
    if (!e)
        return;
    EVP_CIPHER_CTX_free(e->aes);
    EVP_MAC_CTX_free(e->hmac);
    OPENSSL_cleanse(e->salt, sizeof(e->salt));
    sb_free(e->streams);
    sb_free(e);
}

size_t sb_srtp_evp_tag_len(const sb_srtp_evp_t *e)
{
    return e->tag_len;
}

static sb_srtp_evp_stream_t *sb_srtp_evp_find(sb_srtp_evp_t *e, uint32_t ssrc)
{
    if (e->n_streams > 0 && e->streams[e->last].ssrc == ssrc)
        return &e->streams[e->last];
    for (size_t i = 0; i < e->n_streams; i++) {
        if (e->streams[i].ssrc == ssrc) {
            e->last = i;
            return &e->streams[i];
        }
    }
    return NULL;
}

static sb_srtp_evp_stream_t *sb_srtp_evp_add(sb_srtp_evp_t *e, const sb_srtp_evp_stream_t *st)
{
    if (e->n_streams == e->cap_streams) {
        e->cap_streams = e->cap_streams ? 2 * e->cap_streams : 4;
        e->streams = sb_realloc(e->streams, e->cap_streams * sizeof(*e->streams));
    }
    e->last = e->n_streams++;
    e->streams[e->last] = *st;
    return &e->streams[e->last];
}

/* Outbound SSRCs are ours (a handful per PeerConnection), so the table stays small. */
static sb_srtp_evp_stream_t *sb_srtp_evp_stream(sb_srtp_evp_t *e, uint32_t ssrc)
{
    sb_srtp_evp_stream_t *st = sb_srtp_evp_find(e, ssrc);
    return st ? st : sb_srtp_evp_add(e, &(sb_srtp_evp_stream_t){.ssrc = ssrc});
}

/* Index estimation of RFC 3711 §3.3.1 / Appendix A, relative to the highest index sent. Until
 * that index passes 2^15 the ROC is taken as 0, as libsrtp2 does, so a stream starting near
 * the top of the sequence space does not guess ROC = -1. Returns the signed distance. */
static int32_t sb_srtp_evp_estimate(uint64_t highest, uint16_t seq, uint64_t *index)
{
    if (highest <= SB_SRTP_EVP_SEQ_MEDIAN) {
        *index = seq;
        return (int32_t)((int64_t)seq - (int64_t)highest);
    }
    uint32_t roc = (uint32_t)(highest >> 16);
    uint16_t s_l = (uint16_t)highest;
    int32_t diff = (int32_t)seq - (int32_t)s_l;
    if (s_l < SB_SRTP_EVP_SEQ_MEDIAN) {
        if (diff > (int32_t)SB_SRTP_EVP_SEQ_MEDIAN) {
            roc--;
            diff -= 65536;
        }
    } else if ((uint32_t)s_l - SB_SRTP_EVP_SEQ_MEDIAN > seq) {
        roc++;
        diff += 65536;
    }
    *index = ((uint64_t)roc << 16) | seq;
    return diff;
}

/* Header length per RFC 3550 §5.1/§5.3.1: fixed part, CSRCs, extension. 0 when malformed. */
static size_t sb_srtp_evp_header_len(const uint8_t *buf, size_t len)
{
    if (len < 12)
        return 0;
    size_t hl = 12 + 4 * (size_t)(buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (len < hl + 4)
            return 0;
        hl += 4 + 4 * (size_t)((buf[hl + 2] << 8) | buf[hl + 3]);
    }
    return hl <= len ? hl : 0;
}

/* HMAC-SHA1 over the authenticated portion (header and payload as sent) || ROC (§4.2). */
static int sb_srtp_evp_mac(sb_srtp_evp_t *e, const uint8_t *buf, size_t n, uint64_t index,
                           uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN])
{
    uint8_t roc[4] = {(uint8_t)(index >> 40), (uint8_t)(index >> 32), (uint8_t)(index >> 24),
                      (uint8_t)(index >> 16)};
    size_t macl = 0;
    if (EVP_MAC_init(e->hmac, NULL, 0, NULL) != 1 || EVP_MAC_update(e->hmac, buf, n) != 1 ||
        EVP_MAC_update(e->hmac, roc, sizeof(roc)) != 1 ||
        EVP_MAC_final(e->hmac, mac, &macl, SB_SRTP_EVP_AUTH_KEY_LEN) != 1)
        return SB_EIO;
    return 0;
}

/* AES-CM keystream over the payload, in place: encrypts and decrypts (§4.1.1). */
static int sb_srtp_evp_ctr(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                           uint64_t index)
{
    uint8_t iv[16];
    sb_srtp_evp_iv(iv, e->salt, ssrc, index);
    int outl = 0;
    if (EVP_EncryptInit_ex(e->aes, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(e->aes, buf + hl, &outl, buf + hl, (int)(n - hl)) != 1)
        return SB_EIO;
    return 0;
}

/* AES-CM encryption of the payload, then HMAC-SHA1 over header || ciphertext || ROC, truncated
 * (RFC 3711 §3.1, §4.1.1, §4.2). */
static int sb_srtp_evp_seal_cm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                               uint64_t index)
{
    uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN];
    int rc = sb_srtp_evp_ctr(e, buf, hl, n, ssrc, index);
    if (rc == 0)
        rc = sb_srtp_evp_mac(e, buf, n, index, mac);
    if (rc == 0)
        memcpy(buf + n, mac, e->tag_len);
    return rc;
}

/* The reverse: the tag checked in constant time, then the payload decrypted. n excludes the
 * tag. SB_EPROTO when the tag does not match. */
static int sb_srtp_evp_open_cm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                               uint64_t index)
{
    uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN];
    int rc = sb_srtp_evp_mac(e, buf, n, index, mac);
    if (rc != 0)
        return rc;
    if (CRYPTO_memcmp(mac, buf + n, e->tag_len) != 0)
        return SB_EPROTO;
    return sb_srtp_evp_ctr(e, buf, hl, n, ssrc, index);
}

/* RFC 7714 §8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR the 12-byte session salt. */
static void sb_srtp_evp_gcm_iv(uint8_t iv[SB_SRTP_EVP_GCM_SALT_LEN], const uint8_t *salt,
                               uint32_t ssrc, uint64_t index)
{
    memcpy(iv, salt, SB_SRTP_EVP_GCM_SALT_LEN);
    for (int i = 0; i < 4; i++)
        iv[2 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 6; i++)
        iv[6 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

/* The GCM tag at buf, read (after sealing) or set (before opening). Through the provider's
 * parameters directly: EVP_CIPHER_CTX_ctrl translates into the same call, slower. */
static bool sb_srtp_evp_gcm_tag(sb_srtp_evp_t *e, uint8_t *tag, bool set)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                          SB_SRTP_EVP_GCM_TAG_LEN),
        OSSL_PARAM_construct_end(),
    };
    return (set ? EVP_CIPHER_CTX_set_params(e->aes, params)
                : EVP_CIPHER_CTX_get_params(e->aes, params)) == 1;
}

/* AEAD (RFC 7714 §8), both ways up to the tag: the IV for this packet, the whole header as
 * associated data, the payload encrypted (enc) or decrypted in place. *outl: payload bytes out. */
static bool sb_srtp_evp_gcm_run(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n,
                                uint32_t ssrc, uint64_t index, int enc, int *outl)
{
    uint8_t iv[SB_SRTP_EVP_GCM_SALT_LEN];
    sb_srtp_evp_gcm_iv(iv, e->salt, ssrc, index);
    return EVP_CipherInit_ex2(e->aes, NULL, NULL, iv, enc, NULL) == 1 &&
           EVP_CipherUpdate(e->aes, NULL, outl, buf, (int)hl) == 1 &&
           EVP_CipherUpdate(e->aes, buf + hl, outl, buf + hl, (int)(n - hl)) == 1;
}

/* Sealing: the tag appended after the payload. */
static int sb_srtp_evp_seal_gcm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n,
                                uint32_t ssrc, uint64_t index)
{
    int outl = 0, finl = 0;
    if (!sb_srtp_evp_gcm_run(e, buf, hl, n, ssrc, index, 1, &outl) ||
        EVP_EncryptFinal_ex(e->aes, buf + hl + outl, &finl) != 1 ||
        !sb_srtp_evp_gcm_tag(e, buf + n, false))
        return SB_EIO;
    return 0;
}

/* Opening; n excludes the tag. SB_EPROTO when the tag does not match. */
static int sb_srtp_evp_open_gcm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n,
                                uint32_t ssrc, uint64_t index)
{
    int outl = 0, finl = 0;
    if (!sb_srtp_evp_gcm_run(e, buf, hl, n, ssrc, index, 0, &outl) ||
        !sb_srtp_evp_gcm_tag(e, buf + n, true))
        return SB_EIO;
    return EVP_DecryptFinal_ex(e->aes, buf + hl + outl, &finl) == 1 ? 0 : SB_EPROTO;
}

int sb_srtp_evp_protect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap)
{
    if (e->inbound)
        return SB_ESTATE;
    size_t n = *len, hl = sb_srtp_evp_header_len(buf, n);
    if (hl == 0)
        return SB_EINVAL;
    if (cap < n + e->tag_len || n > (size_t)INT32_MAX - 64)
        return SB_ERANGE;
    uint16_t seq = sb_be16(buf + 2);
    uint32_t ssrc = sb_be32(buf + 8);
    sb_srtp_evp_stream_t *st = sb_srtp_evp_stream(e, ssrc);
    uint64_t index;
    int32_t delta = sb_srtp_evp_estimate(st->index, seq, &index);
    /* Re-sending an index inside the window is a retransmission (same payload, so the same
     * keystream use); anything older would need a ROC we no longer track (libsrtp: replay_old). */
    if (delta <= -(int32_t)SB_SRTP_REPLAY_WINDOW)
        return SB_EPROTO;

    int rc = e->gcm ? sb_srtp_evp_seal_gcm(e, buf, hl, n, ssrc, index)
                    : sb_srtp_evp_seal_cm(e, buf, hl, n, ssrc, index);
    if (rc != 0)
        return rc;
    *len = n + e->tag_len;
    if (delta > 0)
        st->index = index;
    return 0;
}

/* ---- receiving ---- */

static bool sb_srtp_evp_seen(const sb_srtp_evp_stream_t *st, uint32_t back)
{
    return (st->seen[back / 64] >> (back % 64)) & 1;
}

/* The index `delta` after the highest was authenticated: the window moves up (bit k becomes
 * bit k + delta) when it is newer, and its bit is set. */
static void sb_srtp_evp_mark(sb_srtp_evp_stream_t *st, int32_t delta, uint64_t index)
{
    if (delta > 0) {
        uint32_t d = (uint32_t)delta;
        if (d >= SB_SRTP_REPLAY_WINDOW) {
            memset(st->seen, 0, sizeof(st->seen));
        } else {
            unsigned ws = d / 64, bs = d % 64;
            for (int i = SB_SRTP_EVP_WINDOW_WORDS - 1; i >= 0; i--) {
                int from = i - (int)ws;
                uint64_t v = from >= 0 ? st->seen[from] << bs : 0;
                if (bs && from >= 1)
                    v |= st->seen[from - 1] >> (64 - bs);
                st->seen[i] = v;
            }
        }
        st->index = index;
        delta = 0;
    }
    uint32_t back = (uint32_t)-delta;
    st->seen[back / 64] |= UINT64_C(1) << (back % 64);
}

int sb_srtp_evp_unprotect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len)
{
    if (!e->inbound)
        return SB_ESTATE;
    size_t n = *len;
    if (n < 12 + e->tag_len)
        return SB_EINVAL;
    n -= e->tag_len;
    size_t hl = sb_srtp_evp_header_len(buf, n);
    if (hl == 0)
        return SB_EINVAL;
    if (n > (size_t)INT32_MAX - 64)
        return SB_ERANGE;
    uint16_t seq = sb_be16(buf + 2);
    uint32_t ssrc = sb_be32(buf + 8);
    /* A new SSRC's state is kept only once a packet of it authenticates (as libsrtp2 clones
     * its template), so forged packets cannot fill the table. */
    sb_srtp_evp_stream_t fresh; /* zeroed only for an unknown SSRC: not per packet */
    sb_srtp_evp_stream_t *st = sb_srtp_evp_find(e, ssrc);
    bool known = st != NULL;
    if (!known) {
        fresh = (sb_srtp_evp_stream_t){.ssrc = ssrc};
        st = &fresh;
    }
    uint64_t index;
    int32_t delta = sb_srtp_evp_estimate(st->index, seq, &index);
    if (delta <= -(int32_t)SB_SRTP_REPLAY_WINDOW ||
        (delta <= 0 && sb_srtp_evp_seen(st, (uint32_t)-delta)))
        return SB_EEXIST; /* too old to tell, or a replay */
    int rc = e->gcm ? sb_srtp_evp_open_gcm(e, buf, hl, n, ssrc, index)
                    : sb_srtp_evp_open_cm(e, buf, hl, n, ssrc, index);
    if (rc != 0)
        return rc;
    if (!known) {
        if (e->n_streams >= SB_SRTP_EVP_MAX_RX_STREAMS)
            return SB_ENOMEM;
        st = sb_srtp_evp_add(e, &fresh);
    }
    sb_srtp_evp_mark(st, delta, index);
    *len = n;
    return 0;
}
