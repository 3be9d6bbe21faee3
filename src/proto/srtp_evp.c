/* SRTP and SRTCP with OpenSSL EVP: the hot-path transforms of srtp.c, for AES-CM + HMAC-SHA1
 * (RFC 3711) and AEAD AES-GCM (RFC 7714), sending and receiving.
 *
 * Why it exists: Debian's libsrtp2 is built against NSS, whose AES-CTR and HMAC cost ~5 µs per
 * 1200-byte packet and whose GCM takes locks and allocates per packet; OpenSSL's AES-NI code
 * does the same work in well under 1 µs, and one protect per forwarded packet per subscriber
 * is the floor of the SFU's cost (DESIGN.md); receiving, NSS costs ~5 µs per packet in a
 * busy loop (locks, allocations, cold caches). SRTCP packets are small but frequent: each
 * subscriber's transport-cc feedback (~20 a second) is unprotected here, and what we send
 * (RR, SR, NACK, PLI, REMB) protected, at a few µs each through libsrtp2.
 * Each flow (RTP, RTCP) has its own session keys in cipher and HMAC contexts keyed once:
 * per packet only the IV changes, with no allocation (a new SSRC's state aside).
 * What it does not do: MKI, key derivation rate, encrypted header extensions, unencrypted
 * SRTCP on the way out (we always send E = 1).
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

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/byteorder.h"
#include "proto/hmac_sha1.h"
#include "proto/srtp.h"

#define SB_SRTP_EVP_AUTH_KEY_LEN 20 /* HMAC-SHA1 session key (RFC 3711 §4.2.1, n_a = 160) */
#define SB_SRTP_EVP_GCM_TAG_LEN 16  /* RFC 7714 §14.2: the DTLS-SRTP AEAD profiles use 16 */
#define SB_SRTP_EVP_GCM_SALT_LEN 12 /* RFC 7714 §11 */
#define SB_SRTP_EVP_SEQ_MEDIAN 32768u

#define SB_SRTP_EVP_WINDOW_WORDS (SB_SRTP_REPLAY_WINDOW / 64)
#define SB_SRTP_EVP_MAX_RX_STREAMS 64 /* remote SSRCs of one PeerConnection, at most */

/* SRTCP (RFC 3711 §3.4): the first 8 bytes stay clear; a 32-bit word holds the E flag and the
 * 31-bit SRTCP index. The HMAC-SHA1 tag is 80 bits with both AES-CM profiles (RFC 5764
 * §4.1.2: _32 shortens the SRTP tag only). The replay window is libsrtp2's, 128 indexes. */
#define SB_SRTP_EVP_RTCP_HDR_LEN 8
#define SB_SRTP_EVP_RTCP_WORD_LEN 4
#define SB_SRTP_EVP_RTCP_CM_TAG_LEN 10
#define SB_SRTP_EVP_RTCP_E 0x80000000u
#define SB_SRTP_EVP_RTCP_INDEX_MAX 0x7fffffffu
#define SB_SRTP_EVP_RTCP_WINDOW 128u

/* State of one SSRC, its RTP and its RTCP (libsrtp2 keeps both in one stream too).
 * RTP: the highest packet index sent or authenticated (48 bits, RFC 3711 §3.3.1); receiving,
 * which of the SB_SRTP_REPLAY_WINDOW indexes below it arrived (bit k: index - k).
 * RTCP: sending, the last SRTCP index sent; receiving, the lowest index of the 128-wide
 * window, and which arrived (bit k: rtcp_index + k). */
typedef struct sb_srtp_evp_stream {
    uint32_t ssrc;
    uint32_t rtcp_index;
    uint64_t index;
    uint64_t rtcp_seen[2]; /* SB_SRTP_EVP_RTCP_WINDOW bits */
    uint64_t seen[SB_SRTP_EVP_WINDOW_WORDS];
} sb_srtp_evp_stream_t;

/* The session keys of one flow, RTP or RTCP (RFC 3711 §4.3.2 derives each its own). */
typedef struct sb_srtp_evp_xform {
    EVP_CIPHER_CTX *aes; /* AES-CTR or AES-GCM keyed with the session key; IV set per packet */
    sb_hmac_sha1_t hmac; /* AES-CM only: HMAC-SHA1 keyed with the session auth key */
    uint8_t salt[14];    /* session salt: 14 bytes (AES-CM) or 12 (GCM) */
} sb_srtp_evp_xform_t;

/* RFC 3711 §4.3.2 labels of one flow (GCM uses no auth key, RFC 7714 §11). */
typedef struct sb_srtp_evp_labels {
    uint8_t enc, auth, salt;
} sb_srtp_evp_labels_t;

static const sb_srtp_evp_labels_t sb_srtp_evp_rtp_labels = {
    SB_SRTP_LABEL_RTP_ENC, SB_SRTP_LABEL_RTP_AUTH, SB_SRTP_LABEL_RTP_SALT};
static const sb_srtp_evp_labels_t sb_srtp_evp_rtcp_labels = {
    SB_SRTP_LABEL_RTCP_ENC, SB_SRTP_LABEL_RTCP_AUTH, SB_SRTP_LABEL_RTCP_SALT};

struct sb_srtp_evp {
    bool gcm;                      /* AEAD AES-GCM, else AES-CM + HMAC-SHA1 */
    bool inbound;                  /* unprotects (remote keys), else protects */
    sb_srtp_evp_xform_t rtp, rtcp; /* keys of each flow */
    size_t tag_len;                /* SRTP: 10, 4 or 16 */
    size_t rtcp_tag_len;           /* SRTCP: 10 or 16 */
    sb_srtp_evp_stream_t *streams;
    size_t n_streams, cap_streams;
    size_t last; /* index of the last stream used: consecutive packets share an SSRC */
};

/* Builds the AES-CM IV (RFC 3711 §4.1.1): (salt << 16) XOR (ssrc << 64) XOR (index << 16).
 * SRTCP uses it with its 31-bit index (§3.4, §4.1.1). */
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

/* AES-CM + HMAC-SHA1 session keys of one flow (RFC 3711 §4.3): cipher key, auth key, 14-byte
 * salt. */
static int sb_srtp_evp_keys_cm(sb_srtp_evp_xform_t *x, const uint8_t master_key[16],
                               const uint8_t master_salt[14], const sb_srtp_evp_labels_t *l)
{
    uint8_t enc[16], auth[SB_SRTP_EVP_AUTH_KEY_LEN];
    int rc = SB_EIO;
    if (sb_srtp_evp_kdf(master_key, 16, master_salt, l->enc, enc, sizeof(enc)) ||
        sb_srtp_evp_kdf(master_key, 16, master_salt, l->auth, auth, sizeof(auth)) ||
        sb_srtp_evp_kdf(master_key, 16, master_salt, l->salt, x->salt, 14))
        goto out;
    if (EVP_EncryptInit_ex(x->aes, EVP_aes_128_ctr(), NULL, enc, NULL) != 1)
        goto out;
    sb_hmac_sha1_init(&x->hmac, auth, sizeof(auth));
    rc = 0;
out:
    OPENSSL_cleanse(enc, sizeof(enc));
    OPENSSL_cleanse(auth, sizeof(auth));
    return rc;
}

/* AEAD AES-GCM session keys of one flow (RFC 7714 §11): the RFC 3711 KDF over the 12-byte
 * master salt (zero-padded to the KDF's 112 bits), giving the cipher key and a 12-byte salt. */
static int sb_srtp_evp_keys_gcm(sb_srtp_evp_xform_t *x, bool inbound, const uint8_t *master_key,
                                size_t key_len, const uint8_t master_salt[12],
                                const sb_srtp_evp_labels_t *l)
{
    uint8_t salt14[14] = {0}, enc[32];
    memcpy(salt14, master_salt, SB_SRTP_EVP_GCM_SALT_LEN);
    const EVP_CIPHER *gcm = key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    int rc = SB_EIO;
    if (sb_srtp_evp_kdf(master_key, key_len, salt14, l->enc, enc, key_len) ||
        sb_srtp_evp_kdf(master_key, key_len, salt14, l->salt, x->salt, SB_SRTP_EVP_GCM_SALT_LEN))
        goto out;
    /* The IV length defaults to 12 bytes, the RFC 7714 IV. */
    if ((inbound ? EVP_DecryptInit_ex(x->aes, gcm, NULL, enc, NULL)
                 : EVP_EncryptInit_ex(x->aes, gcm, NULL, enc, NULL)) != 1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(salt14, sizeof(salt14));
    OPENSSL_cleanse(enc, sizeof(enc));
    return rc;
}

static int sb_srtp_evp_xform_init(sb_srtp_evp_t *e, sb_srtp_evp_xform_t *x,
                                  const uint8_t *master_key, size_t key_len,
                                  const uint8_t *master_salt, const sb_srtp_evp_labels_t *l)
{
    x->aes = EVP_CIPHER_CTX_new();
    if (!x->aes)
        return SB_EIO;
    return e->gcm ? sb_srtp_evp_keys_gcm(x, e->inbound, master_key, key_len, master_salt, l)
                  : sb_srtp_evp_keys_cm(x, master_key, master_salt, l);
}

static void sb_srtp_evp_xform_deinit(sb_srtp_evp_xform_t *x)
{
    EVP_CIPHER_CTX_free(x->aes);
    sb_hmac_sha1_clear(&x->hmac);
    OPENSSL_cleanse(x->salt, sizeof(x->salt));
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
    switch (profile) {
    case SB_SRTP_AES128_CM_SHA1_80:
    case SB_SRTP_AES128_CM_SHA1_32:
        e->tag_len = profile == SB_SRTP_AES128_CM_SHA1_80 ? 10 : 4;
        e->rtcp_tag_len = SB_SRTP_EVP_RTCP_CM_TAG_LEN;
        break;
    default: /* the AEAD profiles */
        e->gcm = true;
        e->tag_len = e->rtcp_tag_len = SB_SRTP_EVP_GCM_TAG_LEN;
        break;
    }
    int rc = sb_srtp_evp_xform_init(e, &e->rtp, master_key, key_len, master_salt,
                                    &sb_srtp_evp_rtp_labels);
    if (rc == 0)
        rc = sb_srtp_evp_xform_init(e, &e->rtcp, master_key, key_len, master_salt,
                                    &sb_srtp_evp_rtcp_labels);
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
    sb_srtp_evp_xform_deinit(&e->rtp);
    sb_srtp_evp_xform_deinit(&e->rtcp);
    sb_free(e->streams);
    sb_free(e);
}

size_t sb_srtp_evp_tag_len(const sb_srtp_evp_t *e)
{
    return e->tag_len;
}

size_t sb_srtp_evp_rtcp_overhead(const sb_srtp_evp_t *e)
{
    return SB_SRTP_EVP_RTCP_WORD_LEN + e->rtcp_tag_len;
}

/* ---- per-SSRC state ---- */

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

/* Sending: outbound SSRCs are ours (a handful per PeerConnection), so the table stays small. */
static sb_srtp_evp_stream_t *sb_srtp_evp_stream(sb_srtp_evp_t *e, uint32_t ssrc)
{
    sb_srtp_evp_stream_t *st = sb_srtp_evp_find(e, ssrc);
    return st ? st : sb_srtp_evp_add(e, &(sb_srtp_evp_stream_t){.ssrc = ssrc});
}

/* Receiving: the state of ssrc, or *fresh (zeroed) for an SSRC none of whose packets has
 * authenticated yet. A new SSRC's state is kept only once one does (as libsrtp2 clones its
 * template), so forged packets cannot fill the table. */
static sb_srtp_evp_stream_t *sb_srtp_evp_rx_stream(sb_srtp_evp_t *e, uint32_t ssrc,
                                                   sb_srtp_evp_stream_t *fresh)
{
    sb_srtp_evp_stream_t *st = sb_srtp_evp_find(e, ssrc);
    if (st)
        return st;
    *fresh = (sb_srtp_evp_stream_t){.ssrc = ssrc}; /* zeroed only for an unknown SSRC */
    return fresh;
}

/* Keeps st after its packet authenticated: itself when known, the table's copy of a fresh
 * one, NULL when the table is full. */
static sb_srtp_evp_stream_t *sb_srtp_evp_rx_keep(sb_srtp_evp_t *e, sb_srtp_evp_stream_t *st,
                                                 const sb_srtp_evp_stream_t *fresh)
{
    if (st != fresh)
        return st;
    return e->n_streams < SB_SRTP_EVP_MAX_RX_STREAMS ? sb_srtp_evp_add(e, fresh) : NULL;
}

/* ---- crypto of one flow ---- */

/* HMAC-SHA1 over buf[0..n) || tail[0..tail_len) from the precomputed key state (§4.2): SRTP
 * appends the ROC as tail; SRTCP has none, its E||index word being part of buf. */
static int sb_srtp_evp_mac(sb_srtp_evp_xform_t *x, const uint8_t *buf, size_t n,
                           const uint8_t *tail, size_t tail_len,
                           uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN])
{
    sb_hmac_sha1(&x->hmac, buf, n, tail, tail_len, mac);
    return 0;
}

/* AES-CM keystream XORed over buf[0..n), in place: encrypts and decrypts (§4.1.1). */
static int sb_srtp_evp_ctr(sb_srtp_evp_xform_t *x, uint8_t *buf, size_t n, uint32_t ssrc,
                           uint64_t index)
{
    uint8_t iv[16];
    sb_srtp_evp_iv(iv, x->salt, ssrc, index);
    int outl = 0;
    if (EVP_EncryptInit_ex(x->aes, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(x->aes, buf, &outl, buf, (int)n) != 1)
        return SB_EIO;
    return 0;
}

/* RFC 7714 §8.1 (SRTP) and §9.1 (SRTCP): IV = (0x0000 || SSRC || index) XOR the 12-byte
 * session salt, the index being ROC || SEQ, or 0x0000 || 0 || the 31-bit SRTCP index. */
static void sb_srtp_evp_gcm_iv(uint8_t iv[SB_SRTP_EVP_GCM_SALT_LEN], const uint8_t *salt,
                               uint32_t ssrc, uint64_t index)
{
    memcpy(iv, salt, SB_SRTP_EVP_GCM_SALT_LEN);
    for (int i = 0; i < 4; i++)
        iv[2 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 6; i++)
        iv[6 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

/* One AEAD operation on a packet in place: aad and then tail (the SRTCP E||index word, or
 * nothing) authenticated, data encrypted or decrypted, tag written or checked. */
typedef struct sb_srtp_evp_aead {
    uint32_t ssrc;
    uint64_t index;
    const uint8_t *aad, *tail;
    size_t aad_len, tail_len;
    uint8_t *data, *tag;
    size_t data_len;
} sb_srtp_evp_aead_t;

/* The GCM tag at tag, read (after sealing) or set (before opening). Through the provider's
 * parameters directly: EVP_CIPHER_CTX_ctrl translates into the same call, slower. */
static bool sb_srtp_evp_gcm_tag(sb_srtp_evp_xform_t *x, uint8_t *tag, bool set)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                          SB_SRTP_EVP_GCM_TAG_LEN),
        OSSL_PARAM_construct_end(),
    };
    return (set ? EVP_CIPHER_CTX_set_params(x->aes, params)
                : EVP_CIPHER_CTX_get_params(x->aes, params)) == 1;
}

/* Both ways up to the tag: the IV, the associated data, the data. *outl: data bytes out. */
static bool sb_srtp_evp_gcm_run(sb_srtp_evp_xform_t *x, const sb_srtp_evp_aead_t *p, int enc,
                                int *outl)
{
    uint8_t iv[SB_SRTP_EVP_GCM_SALT_LEN];
    sb_srtp_evp_gcm_iv(iv, x->salt, p->ssrc, p->index);
    *outl = 0;
    return EVP_CipherInit_ex2(x->aes, NULL, NULL, iv, enc, NULL) == 1 &&
           EVP_CipherUpdate(x->aes, NULL, outl, p->aad, (int)p->aad_len) == 1 &&
           (p->tail_len == 0 ||
            EVP_CipherUpdate(x->aes, NULL, outl, p->tail, (int)p->tail_len) == 1) &&
           EVP_CipherUpdate(x->aes, p->data, outl, p->data, (int)p->data_len) == 1;
}

static int sb_srtp_evp_seal_gcm(sb_srtp_evp_xform_t *x, const sb_srtp_evp_aead_t *p)
{
    int outl = 0, finl = 0;
    if (!sb_srtp_evp_gcm_run(x, p, 1, &outl) ||
        EVP_EncryptFinal_ex(x->aes, p->data + outl, &finl) != 1 ||
        !sb_srtp_evp_gcm_tag(x, p->tag, false))
        return SB_EIO;
    return 0;
}

/* SB_EPROTO when the tag does not match; then the data, decrypted but not authentic, is wiped
 * so that no forged plaintext leaves this file. */
static int sb_srtp_evp_open_gcm(sb_srtp_evp_xform_t *x, const sb_srtp_evp_aead_t *p)
{
    int outl = 0, finl = 0;
    if (!sb_srtp_evp_gcm_run(x, p, 0, &outl) || !sb_srtp_evp_gcm_tag(x, p->tag, true))
        return SB_EIO;
    if (EVP_DecryptFinal_ex(x->aes, p->data + outl, &finl) == 1)
        return 0;
    OPENSSL_cleanse(p->data, p->data_len);
    return SB_EPROTO;
}

/* ---- RTP ---- */

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

/* AES-CM encryption of the payload, then HMAC-SHA1 over header || ciphertext || ROC, truncated
 * (RFC 3711 §3.1, §4.1.1, §4.2). */
static int sb_srtp_evp_seal_cm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                               uint64_t index)
{
    uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN], roc[4];
    sb_put_be32(roc, (uint32_t)(index >> 16));
    int rc = sb_srtp_evp_ctr(&e->rtp, buf + hl, n - hl, ssrc, index);
    if (rc == 0)
        rc = sb_srtp_evp_mac(&e->rtp, buf, n, roc, sizeof(roc), mac);
    if (rc == 0)
        memcpy(buf + n, mac, e->tag_len);
    return rc;
}

/* The reverse: the tag checked in constant time, then the payload decrypted. n excludes the
 * tag. SB_EPROTO when the tag does not match. */
static int sb_srtp_evp_open_cm(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                               uint64_t index)
{
    uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN], roc[4];
    sb_put_be32(roc, (uint32_t)(index >> 16));
    int rc = sb_srtp_evp_mac(&e->rtp, buf, n, roc, sizeof(roc), mac);
    if (rc != 0)
        return rc;
    if (CRYPTO_memcmp(mac, buf + n, e->tag_len) != 0)
        return SB_EPROTO;
    return sb_srtp_evp_ctr(&e->rtp, buf + hl, n - hl, ssrc, index);
}

/* AEAD (RFC 7714 §8): the whole header as associated data, the payload encrypted, the tag
 * after it. n excludes the tag. */
static int sb_srtp_evp_gcm_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t hl, size_t n, uint32_t ssrc,
                               uint64_t index, bool seal)
{
    const sb_srtp_evp_aead_t p = {.ssrc = ssrc,
                                  .index = index,
                                  .aad = buf,
                                  .aad_len = hl,
                                  .data = buf + hl,
                                  .data_len = n - hl,
                                  .tag = buf + n};
    return seal ? sb_srtp_evp_seal_gcm(&e->rtp, &p) : sb_srtp_evp_open_gcm(&e->rtp, &p);
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
        return SB_EEXIST;

    int rc = e->gcm ? sb_srtp_evp_gcm_rtp(e, buf, hl, n, ssrc, index, true)
                    : sb_srtp_evp_seal_cm(e, buf, hl, n, ssrc, index);
    if (rc != 0)
        return rc;
    *len = n + e->tag_len;
    if (delta > 0)
        st->index = index;
    return 0;
}

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
    sb_srtp_evp_stream_t fresh, *st = sb_srtp_evp_rx_stream(e, ssrc, &fresh);
    uint64_t index;
    int32_t delta = sb_srtp_evp_estimate(st->index, seq, &index);
    if (delta <= -(int32_t)SB_SRTP_REPLAY_WINDOW ||
        (delta <= 0 && sb_srtp_evp_seen(st, (uint32_t)-delta)))
        return SB_EEXIST; /* too old to tell, or a replay */
    int rc = e->gcm ? sb_srtp_evp_gcm_rtp(e, buf, hl, n, ssrc, index, false)
                    : sb_srtp_evp_open_cm(e, buf, hl, n, ssrc, index);
    if (rc != 0)
        return rc;
    if (!(st = sb_srtp_evp_rx_keep(e, st, &fresh)))
        return SB_ENOMEM;
    sb_srtp_evp_mark(st, delta, index);
    *len = n;
    return 0;
}

/* ---- RTCP ---- */

/* One SRTCP packet as laid out on the wire: body = the 8 clear bytes and the encrypted
 * portion; word = the E||index word, right after the body with AES-CM (RFC 3711 §3.4), after
 * the ciphertext's tag with GCM (RFC 7714 §9); tag = where the tag goes. */
typedef struct sb_srtp_evp_rtcp {
    uint8_t *buf, *word, *tag;
    size_t body;
    uint32_t ssrc, index;
    bool encrypted;
} sb_srtp_evp_rtcp_t;

static sb_srtp_evp_rtcp_t sb_srtp_evp_rtcp_layout(const sb_srtp_evp_t *e, uint8_t *buf, size_t body)
{
    sb_srtp_evp_rtcp_t r = {.buf = buf, .body = body, .ssrc = sb_be32(buf + 4)};
    if (e->gcm) {
        r.tag = buf + body;
        r.word = r.tag + e->rtcp_tag_len;
    } else {
        r.word = buf + body;
        r.tag = r.word + SB_SRTP_EVP_RTCP_WORD_LEN;
    }
    return r;
}

/* AEAD SRTCP (RFC 7714 §9.2, §9.3): encrypted, the 8 clear bytes and E||index are the
 * associated data; unencrypted (received only), everything before the tag is. */
static int sb_srtp_evp_gcm_rtcp(sb_srtp_evp_t *e, const sb_srtp_evp_rtcp_t *r, bool seal)
{
    size_t clear = r->encrypted ? SB_SRTP_EVP_RTCP_HDR_LEN : r->body;
    const sb_srtp_evp_aead_t p = {.ssrc = r->ssrc,
                                  .index = r->index,
                                  .aad = r->buf,
                                  .aad_len = clear,
                                  .tail = r->word,
                                  .tail_len = SB_SRTP_EVP_RTCP_WORD_LEN,
                                  .data = r->buf + clear,
                                  .data_len = r->body - clear,
                                  .tag = r->tag};
    return seal ? sb_srtp_evp_seal_gcm(&e->rtcp, &p) : sb_srtp_evp_open_gcm(&e->rtcp, &p);
}

/* AES-CM SRTCP (RFC 3711 §3.4, §4.1.1, §4.2): everything after the 8 clear bytes encrypted
 * with the SRTCP index in the IV; the tag is HMAC-SHA1 over the body and E||index, truncated
 * to 80 bits. Opening checks the tag (constant time) before decrypting. Always E = 1: the
 * caller refuses E = 0 with AES-CM, as libsrtp2 does. */
static int sb_srtp_evp_cm_rtcp(sb_srtp_evp_t *e, const sb_srtp_evp_rtcp_t *r, bool seal)
{
    uint8_t mac[SB_SRTP_EVP_AUTH_KEY_LEN];
    uint8_t *enc = r->buf + SB_SRTP_EVP_RTCP_HDR_LEN;
    size_t enc_len = r->body - SB_SRTP_EVP_RTCP_HDR_LEN;
    size_t authed = r->body + SB_SRTP_EVP_RTCP_WORD_LEN;
    int rc;
    if (seal) {
        rc = sb_srtp_evp_ctr(&e->rtcp, enc, enc_len, r->ssrc, r->index);
        if (rc == 0)
            rc = sb_srtp_evp_mac(&e->rtcp, r->buf, authed, NULL, 0, mac);
        if (rc == 0)
            memcpy(r->tag, mac, e->rtcp_tag_len);
        return rc;
    }
    rc = sb_srtp_evp_mac(&e->rtcp, r->buf, authed, NULL, 0, mac);
    if (rc != 0)
        return rc;
    if (CRYPTO_memcmp(mac, r->tag, e->rtcp_tag_len) != 0)
        return SB_EPROTO;
    return sb_srtp_evp_ctr(&e->rtcp, enc, enc_len, r->ssrc, r->index);
}

int sb_srtp_evp_protect_rtcp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap)
{
    if (e->inbound)
        return SB_ESTATE;
    size_t n = *len, over = sb_srtp_evp_rtcp_overhead(e);
    if (n < SB_SRTP_EVP_RTCP_HDR_LEN)
        return SB_EINVAL;
    if (cap < n + over || n > (size_t)INT32_MAX - 64)
        return SB_ERANGE;
    sb_srtp_evp_rtcp_t r = sb_srtp_evp_rtcp_layout(e, buf, n);
    sb_srtp_evp_stream_t *st = sb_srtp_evp_stream(e, r.ssrc);
    /* Each SSRC counts its SRTCP packets from 1, as libsrtp2 does (RFC 3711 §3.4 says 0, but
     * the receiver does not care), and the 31-bit index must not wrap under one key. */
    if (st->rtcp_index >= SB_SRTP_EVP_RTCP_INDEX_MAX)
        return SB_ERANGE;
    r.index = st->rtcp_index + 1;
    r.encrypted = true;
    sb_put_be32(r.word, SB_SRTP_EVP_RTCP_E | r.index);
    int rc = e->gcm ? sb_srtp_evp_gcm_rtcp(e, &r, true) : sb_srtp_evp_cm_rtcp(e, &r, true);
    if (rc != 0)
        return rc;
    st->rtcp_index = r.index;
    *len = n + over;
    return 0;
}

/* libsrtp2's SRTCP replay check: an index at or past the top of the 128-wide window is new,
 * one below its bottom too old, one inside it new unless its bit is set. */
static bool sb_srtp_evp_rtcp_fresh(const sb_srtp_evp_stream_t *st, uint32_t index)
{
    if (index >= st->rtcp_index + SB_SRTP_EVP_RTCP_WINDOW) /* no overflow: both < 2^31 */
        return true;
    if (index < st->rtcp_index)
        return false;
    uint32_t k = index - st->rtcp_index;
    return !((st->rtcp_seen[k / 64] >> (k % 64)) & 1);
}

/* Records an authenticated (fresh) index; one past the top moves the window up until it is
 * the top bit. */
static void sb_srtp_evp_rtcp_mark(sb_srtp_evp_stream_t *st, uint32_t index)
{
    uint32_t k = index - st->rtcp_index;
    if (k >= SB_SRTP_EVP_RTCP_WINDOW) {
        uint32_t shift = k - (SB_SRTP_EVP_RTCP_WINDOW - 1);
        uint64_t lo = st->rtcp_seen[0], hi = st->rtcp_seen[1];
        if (shift >= 128) {
            lo = hi = 0;
        } else if (shift >= 64) {
            lo = hi >> (shift - 64);
            hi = 0;
        } else {
            lo = (lo >> shift) | (hi << (64 - shift));
            hi >>= shift;
        }
        st->rtcp_seen[0] = lo;
        st->rtcp_seen[1] = hi;
        st->rtcp_index += shift;
        k = SB_SRTP_EVP_RTCP_WINDOW - 1;
    }
    st->rtcp_seen[k / 64] |= UINT64_C(1) << (k % 64);
}

int sb_srtp_evp_unprotect_rtcp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len)
{
    if (!e->inbound)
        return SB_ESTATE;
    size_t n = *len, over = sb_srtp_evp_rtcp_overhead(e);
    if (n < SB_SRTP_EVP_RTCP_HDR_LEN + over)
        return SB_EINVAL;
    if (n > (size_t)INT32_MAX - 64)
        return SB_ERANGE;
    sb_srtp_evp_rtcp_t r = sb_srtp_evp_rtcp_layout(e, buf, n - over);
    uint32_t word = sb_be32(r.word);
    r.encrypted = (word & SB_SRTP_EVP_RTCP_E) != 0;
    r.index = word & SB_SRTP_EVP_RTCP_INDEX_MAX;
    /* AES-CM profiles promise confidentiality: libsrtp2 refuses E = 0 before anything else
     * ("cannot check"); with GCM, E = 0 means the whole packet is authenticated, unencrypted. */
    if (!r.encrypted && !e->gcm)
        return SB_EINVAL;
    sb_srtp_evp_stream_t fresh, *st = sb_srtp_evp_rx_stream(e, r.ssrc, &fresh);
    if (!sb_srtp_evp_rtcp_fresh(st, r.index))
        return SB_EEXIST; /* too old to tell, or a replay */
    int rc = e->gcm ? sb_srtp_evp_gcm_rtcp(e, &r, false) : sb_srtp_evp_cm_rtcp(e, &r, false);
    if (rc != 0)
        return rc;
    if (!(st = sb_srtp_evp_rx_keep(e, st, &fresh)))
        return SB_ENOMEM;
    sb_srtp_evp_rtcp_mark(st, r.index);
    *len = r.body;
    return 0;
}
