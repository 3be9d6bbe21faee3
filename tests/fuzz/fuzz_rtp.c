/* Fuzz target: RTP parsing, RFC 8285 extension iteration and every value decoder, in-place
 * extension rewriting and rebuilding, RTX wrap/unwrap, and codec payload inspection, with
 * invariants checked on every accepted packet.
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -I src -I <builddir>
 *   tests/fuzz/fuzz_rtp.c src/proto/{rtp,rtp_ext,codec,dd,svc_select}.c -o fuzz_rtp */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/codec.h"
#include "switchboard/dd.h"
#include "switchboard/rtp.h"
#include "switchboard/svc_select.h"

#define FUZZ_MAX 4096

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            abort();                                                                          \
    } while (0)

static uint8_t copy[FUZZ_MAX];
static uint8_t out[FUZZ_MAX + 600];
static uint8_t back[FUZZ_MAX + 600];

static void fuzz_decoders(const uint8_t *d, size_t l)
{
    char str[300];
    bool b1, b2;
    uint8_t u8;
    uint16_t u16a, u16b;
    uint32_t u32;
    int n = sb_rtp_ext_string(d, l, str, sizeof(str));

    CHECK(n < 0 || (size_t)n == strlen(str));
    sb_rtp_ext_audio_level(d, l, &b1, &u8);
    sb_rtp_ext_abs_send_time(d, l, &u32);
    sb_rtp_ext_transport_seq(d, l, &u16a);
    sb_rtp_ext_video_orientation(d, l, &u16a, &b1, &b2);
    sb_rtp_ext_playout_delay(d, l, &u16a, &u16b);
}

static void fuzz_extensions(const sb_rtp_view_t *v)
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l;
    uint8_t id;
    int rc;

    sb_rtp_ext_iter_init(&it, v);
    while ((rc = sb_rtp_ext_next(&it, &id, &d, &l)) > 0) {
        const uint8_t *fd;
        size_t fl;
        CHECK(id != 0 && d >= v->ext && d + l <= v->ext + v->ext_len);
        CHECK(sb_rtp_ext_find(v, id, &fd, &fl) == 0);
        fuzz_decoders(d, l);
    }
}

/* Rewrites on a private copy; the copy must still parse afterwards. */
static void fuzz_rewrite(const uint8_t *data, size_t size)
{
    uint8_t map[256];
    sb_rtp_view_t v, w;
    int n;

    memcpy(copy, data, size);
    if (sb_rtp_parse(copy, size, &v) != 0)
        return;
    for (unsigned i = 0; i < 256; i++)
        map[i] = (uint8_t)(i * 7 + size);
    sb_rtp_ext_remap(copy, &v, map);
    CHECK(sb_rtp_parse(copy, size, &w) == 0);
    sb_rtp_ext_set_inplace(copy, &w, 1, (const uint8_t *)"ab", 2);
    CHECK(sb_rtp_parse(copy, size, &w) == 0);
    n = sb_rtp_copy_with_ext(&w, 1, (const uint8_t *)"subscriber", 10, out, sizeof(out));
    if (n > 0) {
        const uint8_t *d;
        size_t l;
        CHECK(sb_rtp_parse(out, (size_t)n, &v) == 0);
        CHECK(sb_rtp_ext_find(&v, 1, &d, &l) == 0 && l == 10);
        CHECK(v.payload_len == w.payload_len && v.padding_len == w.padding_len);
    }
    n = sb_rtp_copy_with_ext(&w, 3, NULL, 0, out, sizeof(out));
    if (n > 0)
        CHECK(sb_rtp_parse(out, (size_t)n, &v) == 0);
}

static void fuzz_rtx(const sb_rtp_view_t *v)
{
    sb_rtp_view_t r, o;
    int n = sb_rtx_wrap(v, 0x1234, 97, 5, out, sizeof(out));

    if (n > 0) {
        CHECK(sb_rtp_parse(out, (size_t)n, &r) == 0);
        CHECK(r.seq == 5 && r.ssrc == 0x1234 && r.pt == 97);
        n = sb_rtx_restore(&r, v->ssrc, v->pt, back, sizeof(back));
        CHECK(n > 0);
        CHECK(sb_rtp_parse(back, (size_t)n, &o) == 0);
        CHECK(o.seq == v->seq && o.payload_len == v->payload_len);
        CHECK(memcmp(o.payload, v->payload, v->payload_len) == 0);
    }
    n = sb_rtx_restore(v, 1, 96, back, sizeof(back));
    if (n > 0)
        CHECK(sb_rtp_parse(back, (size_t)n, &o) == 0);
}

static void fuzz_codecs(const uint8_t *p, size_t len)
{
    sb_vp8_desc_t d8;
    sb_vp9_desc_t d9;
    sb_h264_info_t h;
    sb_av1_info_t a;

    if (sb_vp8_parse(p, len, &d8) == 0) {
        CHECK(d8.header_len < len);
        memcpy(copy, p, len);
        sb_vp8_set_picture_id(copy, &d8, 0x7abc);
        sb_vp8_set_tl0picidx(copy, &d8, 0x55);
        CHECK(sb_vp8_parse(copy, len, &d8) == 0);
    }
    if (sb_vp9_parse(p, len, &d9) == 0)
        CHECK(d9.header_len < len && d9.num_refs <= SB_VP9_MAX_REFS);
    sb_h264_parse(p, len, &h);
    sb_h265_is_keyframe(p, len);
    if (sb_av1_parse(p, len, &a) == 0)
        CHECK(a.elements >= 1);
    sb_dd_structure_t dds;
    sb_dd_frame_t ddf;
    memset(&dds, 0, sizeof(dds));
    if (sb_dd_parse(p, len, &dds, &ddf) == 0)
        CHECK(dds.valid && dds.count >= 1 && ddf.sid < 8 && ddf.tid < 8);
    uint8_t red_pt;
    size_t red_off;
    if (sb_red_primary(p, len, &red_pt, &red_off) == 0)
        CHECK(red_off <= len && red_pt < 128);
    if (sb_vp9_parse(p, len, &d9) == 0) {
        sb_svc_select_t sel;
        sb_svc_layer_t l;
        sb_svc_select_init(&sel, p[0] & 7, -1);
        sb_svc_layer_from_vp9(&d9, false, &l);
        sb_svc_select_packet(&sel, &l);
        CHECK(sel.spatial < SB_SVC_MAX_LAYERS && sel.temporal < SB_SVC_MAX_LAYERS);
    }
    for (int c = SB_CODEC_UNKNOWN; c < SB_CODEC_COUNT_; c++)
        sb_codec_is_keyframe((sb_codec_t)c, p, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_rtp_view_t v;

    if (size > FUZZ_MAX)
        return 0;
    /* The raw input doubles as a codec payload and an rtpmap name. */
    fuzz_codecs(data, size);
    CHECK(sb_codec_name(sb_codec_from_name_n((const char *)data, size)) != NULL);
    if (sb_rtp_parse(data, size, &v) != 0)
        return 0;
    CHECK(v.header_len + v.payload_len + v.padding_len == size);
    CHECK(v.payload == data + v.header_len);
    fuzz_extensions(&v);
    fuzz_rewrite(data, size);
    fuzz_rtx(&v);
    fuzz_codecs(v.payload, v.payload_len);
    return 0;
}
