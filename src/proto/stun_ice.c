/* ICE's STUN once a pair is selected (see stun_ice.h). */
#include "proto/stun_ice.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

#define SB_STUN_MAGIC 0x2112A442u
#define SB_STUN_FP_XOR 0x5354554eu

#define ATTR_USERNAME 0x0006
#define ATTR_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_XOR_MAPPED 0x0020
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define ATTR_CONTROLLED 0x8029
#define ATTR_CONTROLLING 0x802A

#define INTEGRITY_ATTR_LEN (4 + SB_HMAC_SHA1_LEN)
#define FINGERPRINT_ATTR_LEN 8

/* CRC-32 (ISO 3309, reflected 0xEDB88320), a byte at a time through a table: every STUN
 * message on the selected pair is checked or sealed with it, a few a second per peer, which
 * bit by bit was a tenth of an idle peer's cost (bench/idle.sh). */
static uint32_t sb_stun_crc_table[256];
static pthread_once_t sb_stun_crc_once = PTHREAD_ONCE_INIT;

static void sb_stun_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        sb_stun_crc_table[i] = c;
    }
}

static uint32_t sb_stun_crc32(const uint8_t *p, size_t len)
{
    pthread_once(&sb_stun_crc_once, sb_stun_crc_init);
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        crc = (crc >> 8) ^ sb_stun_crc_table[(crc ^ p[i]) & 0xFFu];
    return ~crc;
}

bool sb_stun_is_stun(const uint8_t *buf, size_t len)
{
    return len >= SB_STUN_HEADER_LEN && buf[0] < 4 && sb_be32(buf + 4) == SB_STUN_MAGIC;
}

/* One attribute into m; false when it breaks the ordering rules. */
static bool sb_stun_attr(sb_stun_msg_t *m, uint16_t type, const uint8_t *v, uint16_t len,
                         size_t at)
{
    if (m->fingerprint_at)
        return false; /* nothing after FINGERPRINT */
    if (m->integrity_at && type != ATTR_FINGERPRINT)
        return true; /* after MESSAGE-INTEGRITY: ignored (RFC 8489 §14.5) */
    switch (type) {
    case ATTR_USERNAME:
        m->username = v;
        m->username_len = len;
        break;
    case ATTR_INTEGRITY:
        if (len != SB_HMAC_SHA1_LEN)
            return false;
        m->integrity_at = at;
        break;
    case ATTR_FINGERPRINT:
        if (len != 4)
            return false;
        m->fingerprint_at = at;
        break;
    case ATTR_ERROR_CODE:
        if (len < 4)
            return false;
        m->error_code = (uint16_t)((v[2] & 7) * 100 + v[3]);
        break;
    case ATTR_USE_CANDIDATE:
        m->use_candidate = true;
        break;
    case ATTR_CONTROLLING:
        m->controlling = true;
        break;
    case ATTR_CONTROLLED:
        m->controlled = true;
        break;
    default:
        break;
    }
    return true;
}

int sb_stun_parse(const uint8_t *buf, size_t len, sb_stun_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    if (!sb_stun_is_stun(buf, len))
        return SB_EINVAL;
    size_t body = sb_be16(buf + 2);
    if ((body & 3) || SB_STUN_HEADER_LEN + body != len)
        return SB_EINVAL;
    m->type = sb_be16(buf);
    m->txid = buf + 8;
    for (size_t off = SB_STUN_HEADER_LEN; off < len;) {
        if (off + 4 > len)
            return SB_EINVAL;
        uint16_t type = sb_be16(buf + off), alen = sb_be16(buf + off + 2);
        size_t padded = ((size_t)alen + 3) & ~(size_t)3;
        if (off + 4 + padded > len || !sb_stun_attr(m, type, buf + off + 4, alen, off))
            return SB_EINVAL;
        off += 4 + padded;
    }
    return 0;
}

bool sb_stun_fingerprint_ok(const uint8_t *buf, size_t len, const sb_stun_msg_t *m)
{
    if (!m->fingerprint_at || m->fingerprint_at + FINGERPRINT_ATTR_LEN != len)
        return false;
    uint32_t want = sb_stun_crc32(buf, m->fingerprint_at) ^ SB_STUN_FP_XOR;
    return sb_be32(buf + m->fingerprint_at + 4) == want;
}

bool sb_stun_integrity_ok(const uint8_t *buf, const sb_stun_msg_t *m, const sb_hmac_sha1_t *key)
{
    if (!m->integrity_at)
        return false;
    /* The HMAC covers the message up to the attribute, with the header's length counting
     * up to the attribute's end (later attributes, i.e. FINGERPRINT, left out). */
    uint8_t header[SB_STUN_HEADER_LEN];
    memcpy(header, buf, sizeof(header));
    sb_put_be16(header + 2, (uint16_t)(m->integrity_at + INTEGRITY_ATTR_LEN - SB_STUN_HEADER_LEN));
    uint8_t mac[SB_HMAC_SHA1_LEN];
    sb_hmac_sha1(key, header, sizeof(header), buf + SB_STUN_HEADER_LEN,
                 m->integrity_at - SB_STUN_HEADER_LEN, mac);
    return CRYPTO_memcmp(mac, buf + m->integrity_at + 4, sizeof(mac)) == 0;
}

bool sb_stun_username_is_for(const sb_stun_msg_t *m, const char *our_ufrag)
{
    size_t n = strlen(our_ufrag);
    return m->username && m->username_len > n && memcmp(m->username, our_ufrag, n) == 0 &&
           m->username[n] == ':';
}

/* A message being written: out[0..len) so far. */
typedef struct sb_stun_writer {
    uint8_t *out;
    size_t cap, len;
    bool overflow;
} sb_stun_writer_t;

static void sb_stun_begin(sb_stun_writer_t *w, uint16_t type, const uint8_t *txid)
{
    if (w->cap < SB_STUN_HEADER_LEN) {
        w->overflow = true;
        return;
    }
    sb_put_be16(w->out, type);
    sb_put_be16(w->out + 2, 0);
    sb_put_be32(w->out + 4, SB_STUN_MAGIC);
    memcpy(w->out + 8, txid, SB_STUN_ICE_TXID_LEN);
    w->len = SB_STUN_HEADER_LEN;
}

/* Appends an attribute's header and returns where its len bytes of value go (zero padding
 * after them written), or NULL on overflow. */
static uint8_t *sb_stun_put(sb_stun_writer_t *w, uint16_t type, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    if (w->overflow || len > 0xFFFF || w->len + 4 + padded > w->cap) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *a = w->out + w->len;
    sb_put_be16(a, type);
    sb_put_be16(a + 2, (uint16_t)len);
    memset(a + 4 + len, 0, padded - len);
    w->len += 4 + padded;
    sb_put_be16(w->out + 2, (uint16_t)(w->len - SB_STUN_HEADER_LEN));
    return a + 4;
}

/* MESSAGE-INTEGRITY then FINGERPRINT, each over what comes before it; the final length. */
static size_t sb_stun_seal(sb_stun_writer_t *w, const sb_hmac_sha1_t *key)
{
    size_t mi_at = w->len;
    uint8_t *mac = sb_stun_put(w, ATTR_INTEGRITY, SB_HMAC_SHA1_LEN);
    if (!mac)
        return 0;
    sb_hmac_sha1(key, w->out, mi_at, NULL, 0, mac);
    size_t fp_at = w->len;
    uint8_t *fp = sb_stun_put(w, ATTR_FINGERPRINT, 4);
    if (!fp)
        return 0;
    sb_put_be32(fp, sb_stun_crc32(w->out, fp_at) ^ SB_STUN_FP_XOR);
    return w->len;
}

size_t sb_stun_binding_success(uint8_t *out, size_t cap, const uint8_t *txid,
                               const struct sockaddr *from, const sb_hmac_sha1_t *key)
{
    sb_stun_writer_t w = {out, cap, 0, false};
    sb_stun_begin(&w, SB_STUN_BINDING_SUCCESS, txid);
    uint8_t *v;
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)from;
        if (!(v = sb_stun_put(&w, ATTR_XOR_MAPPED, 8)))
            return 0;
        v[0] = 0;
        v[1] = 0x01;
        sb_put_be16(v + 2, (uint16_t)(ntohs(in->sin_port) ^ (SB_STUN_MAGIC >> 16)));
        sb_put_be32(v + 4, ntohl(in->sin_addr.s_addr) ^ SB_STUN_MAGIC);
    } else if (from->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)from;
        if (!(v = sb_stun_put(&w, ATTR_XOR_MAPPED, 20)))
            return 0;
        v[0] = 0;
        v[1] = 0x02;
        sb_put_be16(v + 2, (uint16_t)(ntohs(in6->sin6_port) ^ (SB_STUN_MAGIC >> 16)));
        for (int i = 0; i < 16; i++) /* out + 4: the cookie, then the txid */
            v[4 + i] = (uint8_t)(in6->sin6_addr.s6_addr[i] ^ out[4 + i]);
    } else {
        return 0;
    }
    return sb_stun_seal(&w, key);
}

size_t sb_stun_consent_request(uint8_t *out, size_t cap, const uint8_t *txid,
                               const char *their_ufrag, const char *our_ufrag,
                               uint32_t priority, bool controlling, uint64_t tiebreaker,
                               const sb_hmac_sha1_t *their_key)
{
    size_t tl = strlen(their_ufrag), ol = strlen(our_ufrag);
    if (tl > 256 || ol > 256)
        return 0;
    sb_stun_writer_t w = {out, cap, 0, false};
    sb_stun_begin(&w, SB_STUN_BINDING_REQUEST, txid);
    uint8_t *v = sb_stun_put(&w, ATTR_USERNAME, tl + 1 + ol);
    if (!v)
        return 0;
    memcpy(v, their_ufrag, tl);
    v[tl] = ':';
    memcpy(v + tl + 1, our_ufrag, ol);
    if (!(v = sb_stun_put(&w, ATTR_PRIORITY, 4)))
        return 0;
    sb_put_be32(v, priority);
    if (!(v = sb_stun_put(&w, controlling ? ATTR_CONTROLLING : ATTR_CONTROLLED, 8)))
        return 0;
    sb_put_be64(v, tiebreaker);
    return sb_stun_seal(&w, their_key);
}
