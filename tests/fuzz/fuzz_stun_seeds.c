/* Seeds of fuzz_stun (see fuzz_stun.h): STUN as ICE agents send it (with MESSAGE-INTEGRITY and
 * FINGERPRINT), genuine DTLS flights, handshakes through the demux, and RTP/RTCP a browser
 * sends on each stream the target negotiates, each framed as the target reads its input.
 * Written only when SB_FUZZ_SEED_DIR is set. Thread: the caller's. */
#include "fuzz_stun.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "peer/peer_internal.h"
#include "proto/rtcp.h"

/* A seed being written: mode byte, then framed datagrams (flag byte + bytes). */
typedef struct fuzz_seed {
    uint8_t buf[16384];
    size_t len;
} fuzz_seed_t;

static void fuzz_seed_start(fuzz_seed_t *s, uint8_t mode)
{
    s->buf[0] = mode;
    s->len = 1;
}

static void fuzz_seed_add(fuzz_seed_t *s, uint8_t flags, const uint8_t *d, size_t len)
{
    FUZZ_CHECK(s->len + 3 + len <= sizeof(s->buf));
    s->buf[s->len++] = (uint8_t)((len + 1) >> 8);
    s->buf[s->len++] = (uint8_t)(len + 1);
    s->buf[s->len++] = flags;
    memcpy(s->buf + s->len, d, len);
    s->len += len;
}

static void fuzz_seed_event(fuzz_seed_t *s)
{
    FUZZ_CHECK(s->len + 2 <= sizeof(s->buf));
    s->buf[s->len++] = 0;
    s->buf[s->len++] = 0;
}

static void fuzz_seed_save(const fuzz_seed_t *s, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(s->buf, 1, s->len, f);
    fclose(f);
}

static void fuzz_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void fuzz_put32(uint8_t *p, uint32_t v)
{
    fuzz_put16(p, (uint16_t)(v >> 16));
    fuzz_put16(p + 2, (uint16_t)v);
}

/* CRC-32 (ISO 3309), for the STUN FINGERPRINT attribute (RFC 8489 §14.7). */
static uint32_t fuzz_crc32(const uint8_t *d, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

/* Appends one STUN attribute (padded to 4 bytes) to m at *len. */
static void fuzz_stun_attr(uint8_t *m, size_t *len, uint16_t type, const void *v, size_t n)
{
    fuzz_put16(m + *len, type);
    fuzz_put16(m + *len + 2, (uint16_t)n);
    memcpy(m + *len + 4, v, n);
    memset(m + *len + 4 + n, 0, (4 - n % 4) % 4);
    *len += 4 + (n + 3) / 4 * 4;
}

/* A STUN message as an ICE agent sends it (RFC 8445 §7.1.1): USERNAME, PRIORITY,
 * ICE-CONTROLLING (requests), XOR-MAPPED-ADDRESS (responses), MESSAGE-INTEGRITY with the
 * password (RFC 8489 §14.5), FINGERPRINT. Returns the length. */
static size_t fuzz_stun_message(uint8_t *m, uint16_t type, const char *user, const char *pwd)
{
    size_t len = 20;
    fuzz_put16(m, type);
    fuzz_put32(m + 4, 0x2112A442u);
    for (int i = 0; i < 12; i++)
        m[8 + i] = (uint8_t)(0x41 + i);
    if (type == 0x0001) {
        uint8_t prio[4], tie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        fuzz_put32(prio, 0x6e7f1eff);
        fuzz_stun_attr(m, &len, 0x0006, user, strlen(user));
        fuzz_stun_attr(m, &len, 0x0024, prio, 4);
        fuzz_stun_attr(m, &len, 0x802A, tie, 8);
        fuzz_stun_attr(m, &len, 0x0025, "", 0);
    } else {
        uint8_t xma[8] = {0, 1};
        fuzz_put16(xma + 2, 40000 ^ 0x2112);
        fuzz_put32(xma + 4, 0x7f000001u ^ 0x2112A442u);
        fuzz_stun_attr(m, &len, 0x0020, xma, 8);
    }
    uint8_t mac[20];
    unsigned mac_len = 0;
    fuzz_put16(m + 2, (uint16_t)(len + 24 - 20));
    HMAC(EVP_sha1(), pwd, (int)strlen(pwd), m, len, mac, &mac_len);
    fuzz_stun_attr(m, &len, 0x0008, mac, 20);
    fuzz_put16(m + 2, (uint16_t)(len + 8 - 20));
    uint8_t fp[4];
    fuzz_put32(fp, fuzz_crc32(m, len) ^ 0x5354554eu);
    fuzz_stun_attr(m, &len, 0x8028, fp, 4);
    return len;
}

/* An RTP packet with one-byte header extensions (RFC 8285): mid, and rid when given (under
 * ext id rid_id), then payload_len bytes whose first look like a VP8 keyframe start. */
static size_t fuzz_rtp_packet(uint8_t *out, uint8_t pt, uint16_t seq, uint32_t ssrc,
                              const char *mid, const char *rid, uint8_t rid_id,
                              size_t payload_len)
{
    out[0] = 0x90; /* V=2, X=1 */
    out[1] = pt;
    fuzz_put16(out + 2, seq);
    fuzz_put32(out + 4, 90000u * seq);
    fuzz_put32(out + 8, ssrc);
    size_t e = 16;
    out[e++] = (uint8_t)(FUZZ_EXT_MID << 4 | (strlen(mid) - 1));
    memcpy(out + e, mid, strlen(mid));
    e += strlen(mid);
    if (rid) {
        out[e++] = (uint8_t)(rid_id << 4 | (strlen(rid) - 1));
        memcpy(out + e, rid, strlen(rid));
        e += strlen(rid);
    }
    while ((e - 16) % 4)
        out[e++] = 0;
    out[12] = 0xBE;
    out[13] = 0xDE;
    fuzz_put16(out + 14, (uint16_t)((e - 16) / 4));
    for (size_t i = 0; i < payload_len; i++)
        out[e + i] = (uint8_t)(i * 7);
    if (payload_len >= 3) {
        out[e] = 0x10; /* VP8 descriptor: S=1, PID 0 */
        out[e + 1] = 0x00; /* frame tag: P=0, a keyframe */
    }
    return e + payload_len;
}

static void fuzz_seeds_stun(const char *dir)
{
    fuzz_seed_t s;
    uint8_t m[256];
    size_t n;
    fuzz_seed_start(&s, FUZZ_NEW);
    n = fuzz_stun_message(m, 0x0001, "fzuf:remo", "fuzzfuzzfuzzfuzzfuzzfuzz");
    fuzz_seed_add(&s, 0, m, n);
    n = fuzz_stun_message(m, 0x0101, "", "remotepasswordremotepw");
    fuzz_seed_add(&s, 0, m, n);
    fuzz_seed_event(&s);
    n = fuzz_stun_message(m, 0x0001, "fzuf:remo", "fuzzfuzzfuzzfuzzfuzzfuzz");
    fuzz_seed_add(&s, 0, m, n);
    m[4] ^= 0xff; /* a wrong cookie: not STUN to the demux */
    fuzz_seed_add(&s, 0, m, n);
    fuzz_seed_save(&s, dir, "new-stun-binding");
}

/* Genuine flights of a handshake between two in-memory endpoints (ours is the server). */
static void fuzz_seeds_dtls(const char *dir, const sb_cert_t *server, const sb_cert_t *client)
{
    fuzz_side_t c, sv;
    fuzz_seed_t s, early, cl;
    fuzz_side_make(&c, client, server, SB_DTLS_CLIENT);
    fuzz_side_make(&sv, server, client, SB_DTLS_SERVER);
    sb_dtls_start(c.d);
    fuzz_seed_start(&s, FUZZ_CONNECTING_SERVER);
    fuzz_seed_start(&early, FUZZ_CONNECTING_SERVER);
    fuzz_seed_start(&cl, FUZZ_CONNECTING_CLIENT);
    fuzz_seed_event(&cl);
    for (unsigned i = 0; i < SB_PEER_EARLY_DTLS + 1; i++)
        fuzz_seed_add(&early, 0, c.out.q[0].data, c.out.q[0].len);
    fuzz_seed_event(&early);
    for (int round = 0; round < 10 && (c.out.n || sv.out.n); round++) {
        for (unsigned i = 0; i < c.out.n; i++)
            fuzz_seed_add(&s, 0, c.out.q[i].data, c.out.q[i].len);
        if (round == 0)
            fuzz_seed_event(&s);
        fuzz_deliver(&c, &sv);
        for (unsigned i = 0; i < sv.out.n; i++)
            fuzz_seed_add(&cl, 0, sv.out.q[i].data, sv.out.q[i].len);
        fuzz_deliver(&sv, &c);
    }
    fuzz_seed_save(&s, dir, "connecting-server-client-flights");
    fuzz_seed_save(&early, dir, "connecting-server-early-overflow");
    fuzz_seed_save(&cl, dir, "connecting-client-server-flights");
    fuzz_side_free(&c);
    fuzz_side_free(&sv);
}

/* Handshakes through the demux: pump rounds, ICE connecting at once or after the first. */
static void fuzz_seeds_inject(const char *dir)
{
    static const struct {
        uint8_t mode;
        const char *name;
    } v[] = {{FUZZ_INJECT, "inject-server"},
             {FUZZ_INJECT + FUZZ_MODES, "inject-client"},
             {FUZZ_INJECT + 2 * FUZZ_MODES, "inject-server-late-ice"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        fuzz_seed_t s;
        uint8_t m[256];
        fuzz_seed_start(&s, v[i].mode);
        fuzz_seed_event(&s);
        size_t n = fuzz_stun_message(m, 0x0001, "fzuf:remo", "fuzzfuzzfuzzfuzzfuzzfuzz");
        fuzz_seed_add(&s, 0, m, n);
        for (int k = 0; k < 4; k++)
            fuzz_seed_event(&s);
        fuzz_seed_save(&s, dir, v[i].name);
    }
}

/* Audio, then simulcast video learnt from mid/rid and an RTX of it, ticks. */
static void fuzz_seeds_media(const char *dir)
{
    fuzz_seed_t s;
    uint8_t p[1400];
    size_t n;
    fuzz_seed_start(&s, FUZZ_UP);
    for (uint16_t seq = 1; seq <= 3; seq++) {
        n = fuzz_rtp_packet(p, 111, seq, FUZZ_AUDIO_SSRC, "0", NULL, 0, 40);
        p[18] = FUZZ_EXT_AUDIO_LEVEL << 4; /* the padding after mid becomes an audio level: */
        p[19] = 0x85;                      /* voice, -5 dBov (RFC 6464) */
        fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    }
    static const char *const rids[] = {"q", "h", "f"};
    for (uint16_t seq = 100; seq < 106; seq++) {
        n = fuzz_rtp_packet(p, 96, seq, 0x5000u + seq % 3, "1", rids[seq % 3], FUZZ_EXT_RID, 300);
        fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    }
    n = fuzz_rtp_packet(p, 97, 7, 0x6000, "1", "h", FUZZ_EXT_RRID, 302);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    fuzz_seed_event(&s);
    fuzz_seed_event(&s);
    fuzz_seed_save(&s, dir, "up-audio-simulcast-rtx");
}

/* Echoed video, then the client's feedback on it: NACK (resend by RTX), PLI, FIR, REMB, and
 * an SR with SDES. */
static void fuzz_seeds_feedback(const char *dir)
{
    fuzz_seed_t s;
    uint8_t p[1400];
    size_t n;
    fuzz_seed_start(&s, FUZZ_UP);
    for (uint16_t seq = 200; seq < 204; seq++) {
        n = fuzz_rtp_packet(p, 96, seq, 0x5000, "1", "q", FUZZ_EXT_RID, 500);
        fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    }
    uint16_t lost[] = {200, 201, 203};
    int k = sb_rtcp_write_nack(p, sizeof(p), 0x77, 0x2000, lost, 3);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, (size_t)k);
    k = sb_rtcp_write_pli(p, sizeof(p), 0x77, 0x2000);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, (size_t)k);
    sb_rtcp_fir_entry_t fir = {.ssrc = 0x2000, .seq = 1};
    k = sb_rtcp_write_fir(p, sizeof(p), 0x77, &fir, 1);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, (size_t)k);
    uint32_t ssrcs[] = {0x2000};
    k = sb_rtcp_write_remb(p, sizeof(p), 0x77, 1500000, ssrcs, 1);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, (size_t)k);
    sb_rtcp_sr_t sr = {.ssrc = FUZZ_AUDIO_SSRC, .ntp = 0x1234567890abcdefULL, .rtp_ts = 4800,
                       .packet_count = 3, .octet_count = 120};
    k = sb_rtcp_write_sr(p, sizeof(p), &sr, NULL, 0);
    int k2 = sb_rtcp_write_sdes_cname(p + k, sizeof(p) - (size_t)k, FUZZ_AUDIO_SSRC, "fuzz");
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, (size_t)(k + k2));
    fuzz_seed_event(&s);
    fuzz_seed_save(&s, dir, "up-echo-feedback");
}

/* H.264 with a gap (the tick NACKs it), then its RTX; forged things last. */
static void fuzz_seeds_rtx(const char *dir)
{
    fuzz_seed_t s;
    uint8_t p[1400];
    size_t n;
    fuzz_seed_start(&s, FUZZ_UP);
    n = fuzz_rtp_packet(p, 102, 5, FUZZ_H264_SSRC, "2", NULL, 0, 100);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    n = fuzz_rtp_packet(p, 102, 8, FUZZ_H264_SSRC, "2", NULL, 0, 100);
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    fuzz_seed_event(&s);
    n = fuzz_rtp_packet(p, 103, 1, FUZZ_H264_RTX_SSRC, "2", NULL, 0, 102);
    p[n - 102] = 0;
    p[n - 101] = 6; /* OSN: the missing packet 6 */
    fuzz_seed_add(&s, FUZZ_FLAG_PROTECT, p, n);
    fuzz_seed_add(&s, 0, p, n); /* unprotected: SRTP refuses it */
    static const uint8_t alert[] = {21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 26,
                                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
    fuzz_seed_add(&s, 0, alert, sizeof(alert));
    fuzz_seed_save(&s, dir, "up-h264-rtx-forged");
}

void fuzz_stun_write_seeds(const char *dir, const sb_cert_t *server, const sb_cert_t *client)
{
    fuzz_seeds_stun(dir);
    fuzz_seeds_dtls(dir, server, client);
    fuzz_seeds_inject(dir);
    fuzz_seeds_media(dir);
    fuzz_seeds_feedback(dir);
    fuzz_seeds_rtx(dir);
}
