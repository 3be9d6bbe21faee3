/* RTP view, RFC 8285 header extensions and RTX: truncation at every length, CSRC and
 * extension overflows, padding rules, one-byte and two-byte elements with padding, ID 15,
 * value decoders, in-place remapping and value replacement, header building and rebuilding,
 * RTX wrap/unwrap round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "switchboard/error.h"
#include "switchboard/rtp.h"

/* V=2, PT 96, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304. */
static const uint8_t base_hdr[12] = {0x80, 0x60, 0x12, 0x34, 0xde, 0xad,
                                     0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};

static size_t make_pkt(uint8_t *buf, const uint8_t *ext, size_t ext_len, uint16_t profile,
                       const uint8_t *payload, size_t payload_len)
{
    size_t off = 12;
    memcpy(buf, base_hdr, 12);
    if (ext != NULL) {
        buf[0] |= 0x10;
        buf[12] = (uint8_t)(profile >> 8);
        buf[13] = (uint8_t)profile;
        buf[14] = 0;
        buf[15] = (uint8_t)(ext_len / 4);
        memcpy(buf + 16, ext, ext_len);
        off = 16 + ext_len;
    }
    if (payload_len > 0)
        memcpy(buf + off, payload, payload_len);
    return off + payload_len;
}

static void test_parse_basic(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtp_view_t v;
    size_t len = make_pkt(buf, NULL, 0, 0, (const uint8_t *)"abc", 3);

    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(v.version, 2);
    assert_false(v.padding);
    assert_false(v.extension);
    assert_false(v.marker);
    assert_int_equal(v.pt, 96);
    assert_int_equal(v.seq, 0x1234);
    assert_int_equal(v.timestamp, 0xdeadbeef);
    assert_int_equal(v.ssrc, 0x01020304);
    assert_int_equal(v.header_len, 12);
    assert_int_equal(v.payload_len, 3);
    assert_memory_equal(v.payload, "abc", 3);
    assert_null(v.ext);

    buf[1] = 0x80 | 111;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_true(v.marker);
    assert_int_equal(v.pt, 111);

    /* Header only: a zero-length payload is valid. */
    assert_int_equal(sb_rtp_parse(buf, 12, &v), 0);
    assert_int_equal(v.payload_len, 0);
}

static void test_parse_truncated_and_version(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtp_view_t v;
    size_t len = make_pkt(buf, NULL, 0, 0, (const uint8_t *)"abc", 3);

    for (size_t i = 0; i < 12; i++)
        assert_int_equal(sb_rtp_parse(buf, i, &v), SB_EINVAL);
    assert_int_equal(sb_rtp_parse(NULL, 12, &v), SB_EINVAL);
    for (unsigned ver = 0; ver < 4; ver++) {
        buf[0] = (uint8_t)((ver << 6) | (buf[0] & 0x3f));
        assert_int_equal(sb_rtp_parse(buf, len, &v), ver == 2 ? 0 : SB_EINVAL);
    }
}

static void test_csrc(void **state)
{
    (void)state;
    uint8_t buf[128];
    sb_rtp_view_t v;

    memcpy(buf, base_hdr, 12);
    buf[0] = 0x80 | 15;
    for (unsigned i = 0; i < 15 * 4; i++)
        buf[12 + i] = (uint8_t)i;
    /* CC=15 needs 72 bytes of header. */
    for (size_t len = 12; len < 72; len++)
        assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    assert_int_equal(sb_rtp_parse(buf, 72, &v), 0);
    assert_int_equal(v.csrc_count, 15);
    assert_int_equal(v.header_len, 72);
    assert_int_equal(v.payload_len, 0);
    assert_int_equal(sb_rtp_csrc(&v, 0), 0x00010203);
    assert_int_equal(sb_rtp_csrc(&v, 14), 0x38393a3b);
    assert_int_equal(sb_rtp_csrc(&v, 15), 0);
}

static void test_extension_bounds(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtp_view_t v;
    const uint8_t ext[4] = {0x10, 0xaa, 0x00, 0x00};
    size_t len = make_pkt(buf, ext, 4, 0xBEDE, (const uint8_t *)"x", 1);

    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_true(v.extension);
    assert_int_equal(v.ext_profile, 0xBEDE);
    assert_int_equal(v.ext_len, 4);
    assert_int_equal(v.header_len, 20);
    assert_int_equal(v.payload_len, 1);
    /* Extension header cut, extension data cut. */
    for (size_t l = 12; l < 20; l++)
        assert_int_equal(sb_rtp_parse(buf, l, &v), SB_EINVAL);
    assert_int_equal(sb_rtp_parse(buf, 20, &v), 0);
    /* Length field past the end. */
    buf[15] = 0xff;
    assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    buf[14] = 0xff;
    assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    /* Zero-length extension block. */
    buf[14] = 0;
    buf[15] = 0;
    assert_int_equal(sb_rtp_parse(buf, 16, &v), 0);
    assert_int_equal(v.ext_len, 0);
    assert_int_equal(v.header_len, 16);
}

static void test_padding(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtp_view_t v;
    const uint8_t payload[8] = {1, 2, 3, 4, 5, 0, 0, 3};
    size_t len = make_pkt(buf, NULL, 0, 0, payload, 8);

    buf[0] |= 0x20;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_true(v.padding);
    assert_int_equal(v.padding_len, 3);
    assert_int_equal(v.payload_len, 5);
    /* The whole payload as padding: a padding-only probe. */
    buf[len - 1] = 8;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(v.payload_len, 0);
    /* Bigger than the payload, zero, or the header alone with P set. */
    buf[len - 1] = 9;
    assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    buf[len - 1] = 255;
    assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    buf[len - 1] = 0;
    assert_int_equal(sb_rtp_parse(buf, len, &v), SB_EINVAL);
    assert_int_equal(sb_rtp_parse(buf, 12, &v), SB_EINVAL);
}

static int collect(const sb_rtp_view_t *v, uint8_t *ids, size_t *lens, int max)
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l;
    uint8_t id;
    int n = 0, rc;

    sb_rtp_ext_iter_init(&it, v);
    while ((rc = sb_rtp_ext_next(&it, &id, &d, &l)) > 0 && n < max) {
        ids[n] = id;
        lens[n] = l;
        n++;
    }
    return rc < 0 ? rc : n;
}

static void test_one_byte_ext(void **state)
{
    (void)state;
    uint8_t buf[64], ids[8];
    size_t lens[8], l;
    const uint8_t *d;
    sb_rtp_view_t v;
    /* id 1 "a" | pad pad | id 2 "0123" (L=3) | pad | id 15: stop | ignored */
    const uint8_t ext[12] = {0x10, 'a', 0x00, 0x00, 0x23, '0', '1', '2', '3', 0x00, 0xf0, 0x55};
    size_t len = make_pkt(buf, ext, 12, 0xBEDE, (const uint8_t *)"P", 1);

    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(lens[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(lens[1], 4);
    assert_int_equal(sb_rtp_ext_find(&v, 2, &d, &l), 0);
    assert_int_equal(l, 4);
    assert_memory_equal(d, "0123", 4);
    assert_int_equal(sb_rtp_ext_find(&v, 3, &d, &l), SB_ENOENT);
    assert_int_equal(sb_rtp_ext_find(&v, 0, &d, &l), SB_ENOENT);
    assert_int_equal(sb_rtp_ext_find(&v, 15, &d, &l), SB_ENOENT);

    /* Id 0 with a non-zero length ends processing like id 15. */
    buf[16 + 2] = 0x03;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), 1);

    /* An element running past the block. */
    const uint8_t bad[4] = {0x10, 'a', 0x00, 0x35};
    len = make_pkt(buf, bad, 4, 0xBEDE, NULL, 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), SB_EPROTO);
    assert_int_equal(sb_rtp_ext_find(&v, 3, &d, &l), SB_EPROTO);
    assert_int_equal(sb_rtp_ext_find(&v, 1, &d, &l), 0); /* found before the damage */
}

static void test_two_byte_ext(void **state)
{
    (void)state;
    uint8_t buf[64], ids[8];
    size_t lens[8], l;
    const uint8_t *d;
    sb_rtp_view_t v;
    /* id 1 len 0 | pad | id 200 len 3 "abc" | pad pad | id 20 len 2 "xy" */
    const uint8_t ext[16] = {1, 0, 0, 200, 3, 'a', 'b', 'c', 0, 0, 20, 2, 'x', 'y', 0, 0};
    size_t len = make_pkt(buf, ext, 16, 0x1005, NULL, 0);

    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(lens[0], 0);
    assert_int_equal(ids[1], 200);
    assert_int_equal(lens[1], 3);
    assert_int_equal(ids[2], 20);
    assert_int_equal(sb_rtp_ext_find(&v, 200, &d, &l), 0);
    assert_memory_equal(d, "abc", 3);

    /* A lone id byte at the end, and a length past the end. */
    const uint8_t bad1[4] = {0, 0, 0, 7};
    len = make_pkt(buf, bad1, 4, 0x1000, NULL, 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), SB_EPROTO);
    const uint8_t bad2[4] = {7, 3, 'a', 'b'};
    len = make_pkt(buf, bad2, 4, 0x1000, NULL, 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), SB_EPROTO);

    /* Unknown profile: no RFC 8285 elements. */
    len = make_pkt(buf, ext, 16, 0xABCD, NULL, 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), 0);
}

static void test_decoders(void **state)
{
    (void)state;
    char out[17];
    bool voice, flip, back;
    uint8_t level;
    uint32_t ast;
    uint16_t seq, rot, dmin, dmax;

    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"0", 1, out, sizeof(out)), 1);
    assert_string_equal(out, "0");
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"hi\0\0", 4, out, sizeof(out)), 2);
    assert_string_equal(out, "hi");
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"\0a", 2, out, sizeof(out)), SB_EINVAL);
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"a b", 3, out, sizeof(out)), SB_EINVAL);
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"\x7f", 1, out, sizeof(out)),
                     SB_EINVAL);
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"x", 0, out, sizeof(out)), SB_EINVAL);
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"abcd", 4, out, 4), SB_ERANGE);
    assert_int_equal(sb_rtp_ext_string((const uint8_t *)"abcd", 4, out, 5), 4);

    const uint8_t al[1] = {0x80 | 42};
    assert_int_equal(sb_rtp_ext_audio_level(al, 1, &voice, &level), 0);
    assert_true(voice);
    assert_int_equal(level, 42);
    const uint8_t al2[1] = {127};
    assert_int_equal(sb_rtp_ext_audio_level(al2, 1, &voice, &level), 0);
    assert_false(voice);
    assert_int_equal(level, 127);
    assert_int_equal(sb_rtp_ext_audio_level(al, 0, &voice, &level), SB_EINVAL);

    const uint8_t abs[3] = {0x12, 0x34, 0x56};
    assert_int_equal(sb_rtp_ext_abs_send_time(abs, 3, &ast), 0);
    assert_int_equal(ast, 0x123456);
    assert_int_equal(sb_rtp_ext_abs_send_time(abs, 2, &ast), SB_EINVAL);

    assert_int_equal(sb_rtp_ext_transport_seq(abs, 2, &seq), 0);
    assert_int_equal(seq, 0x1234);
    assert_int_equal(sb_rtp_ext_transport_seq(abs, 1, &seq), SB_EINVAL);

    const uint8_t cvo[1] = {0x0f};
    assert_int_equal(sb_rtp_ext_video_orientation(cvo, 1, &rot, &flip, &back), 0);
    assert_int_equal(rot, 270);
    assert_true(flip);
    assert_true(back);
    const uint8_t cvo2[1] = {0x01};
    assert_int_equal(sb_rtp_ext_video_orientation(cvo2, 1, &rot, &flip, &back), 0);
    assert_int_equal(rot, 90);
    assert_false(flip);
    assert_false(back);
    assert_int_equal(sb_rtp_ext_video_orientation(cvo, 0, &rot, &flip, &back), SB_EINVAL);

    const uint8_t pd[3] = {0x00, 0x10, 0x64}; /* min 1, max 100 */
    assert_int_equal(sb_rtp_ext_playout_delay(pd, 3, &dmin, &dmax), 0);
    assert_int_equal(dmin, 1);
    assert_int_equal(dmax, 100);
    assert_int_equal(sb_rtp_ext_playout_delay(pd, 4, &dmin, &dmax), SB_EINVAL);
}

static void test_remap(void **state)
{
    (void)state;
    uint8_t buf[64], ids[8], map[256];
    size_t lens[8], l;
    const uint8_t *d;
    sb_rtp_view_t v;
    const uint8_t ext[8] = {0x10, 'a', 0x21, 'b', 'c', 0x30, 'z', 0};
    size_t len = make_pkt(buf, ext, 8, 0xBEDE, (const uint8_t *)"P", 1);

    memset(map, 0, sizeof(map));
    map[1] = 4;
    map[3] = 9; /* id 2 erased */
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_remap(buf, &v, map), 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(collect(&v, ids, lens, 8), 2);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 9);
    assert_int_equal(sb_rtp_ext_find(&v, 9, &d, &l), 0);
    assert_int_equal(l, 1);
    assert_int_equal(d[0], 'z');
    assert_int_equal(buf[18], 0); /* the erased element is padding now */
    assert_int_equal(buf[20], 0);
    assert_int_equal(v.payload[0], 'P');

    /* One-byte form cannot carry id 15 or above. */
    map[4] = 15;
    assert_int_equal(sb_rtp_ext_remap(buf, &v, map), SB_ERANGE);

    /* Two-byte form can. */
    const uint8_t ext2[8] = {1, 1, 'q', 2, 2, 'r', 's', 0};
    len = make_pkt(buf, ext2, 8, 0x1000, NULL, 0);
    memset(map, 0, sizeof(map));
    map[1] = 250;
    map[2] = 2;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_remap(buf, &v, map), 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_find(&v, 250, &d, &l), 0);
    assert_int_equal(d[0], 'q');
    assert_int_equal(sb_rtp_ext_find(&v, 2, &d, &l), 0);
    assert_int_equal(l, 2);
}

static void test_set_inplace(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t l;
    const uint8_t *d;
    sb_rtp_view_t v;
    const uint8_t ext[8] = {0x12, 'a', 'b', 'c', 0x20, '7', 0, 0}; /* mid id 1 "abc", id 2 */
    size_t len = make_pkt(buf, ext, 8, 0xBEDE, (const uint8_t *)"P", 1);

    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 1, (const uint8_t *)"xyz", 3), 0);
    assert_int_equal(sb_rtp_ext_find(&v, 1, &d, &l), 0);
    assert_int_equal(l, 3);
    assert_memory_equal(d, "xyz", 3);
    /* Shorter: the tail becomes padding and the next element is still found. */
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 1, (const uint8_t *)"5", 1), 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_find(&v, 1, &d, &l), 0);
    assert_int_equal(l, 1);
    assert_int_equal(d[0], '5');
    assert_int_equal(sb_rtp_ext_find(&v, 2, &d, &l), 0);
    assert_int_equal(d[0], '7');
    /* Longer, empty in the one-byte form, absent. */
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 1, (const uint8_t *)"55", 2), SB_ERANGE);
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 1, (const uint8_t *)"", 0), SB_ERANGE);
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 3, (const uint8_t *)"5", 1), SB_ENOENT);

    /* Two-byte form allows an empty value. */
    const uint8_t ext2[4] = {5, 2, 'a', 'b'};
    len = make_pkt(buf, ext2, 4, 0x1000, NULL, 0);
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_int_equal(sb_rtp_ext_set_inplace(buf, &v, 5, NULL, 0), 0);
    assert_int_equal(sb_rtp_ext_find(&v, 5, &d, &l), 0);
    assert_int_equal(l, 0);
}

static void test_write_header(void **state)
{
    (void)state;
    uint8_t buf[128], ids[8];
    size_t lens[8], l;
    const uint8_t *d;
    sb_rtp_view_t v;
    const uint32_t csrcs[2] = {0xaabbccdd, 0x11223344};
    sb_rtp_ext_elem_t exts[2] = {{1, 1, (const uint8_t *)"0"}, {3, 3, (const uint8_t *)"abc"}};
    sb_rtp_header_t h = {.marker = true, .pt = 100, .seq = 65535, .timestamp = 90000,
                         .ssrc = 42, .csrcs = csrcs, .csrc_count = 2, .exts = exts,
                         .ext_count = 2};
    int n = sb_rtp_write_header(buf, sizeof(buf), &h);

    /* 12 + 8 CSRC + 4 ext header + (2 + 4 -> 8) */
    assert_int_equal(n, 32);
    assert_int_equal(sb_rtp_parse(buf, (size_t)n, &v), 0);
    assert_true(v.marker);
    assert_int_equal(v.pt, 100);
    assert_int_equal(v.seq, 65535);
    assert_int_equal(v.timestamp, 90000);
    assert_int_equal(v.ssrc, 42);
    assert_int_equal(sb_rtp_csrc(&v, 1), 0x11223344);
    assert_int_equal(v.ext_profile, SB_RTP_EXT_PROFILE_ONE_BYTE);
    assert_int_equal(collect(&v, ids, lens, 8), 2);
    assert_int_equal(sb_rtp_ext_find(&v, 3, &d, &l), 0);
    assert_memory_equal(d, "abc", 3);
    assert_int_equal(v.payload_len, 0);

    /* An empty value, id above 14 or value above 16 bytes need the two-byte form. */
    uint8_t big[20];
    memset(big, 'b', sizeof(big));
    sb_rtp_ext_elem_t e2[3] = {{1, 0, NULL}, {15, 1, (const uint8_t *)"f"}, {2, 20, big}};
    h.exts = e2;
    h.ext_count = 3;
    h.csrc_count = 0;
    n = sb_rtp_write_header(buf, sizeof(buf), &h);
    assert_int_equal(n, 12 + 4 + 28);
    assert_int_equal(sb_rtp_parse(buf, (size_t)n, &v), 0);
    assert_int_equal(v.ext_profile, SB_RTP_EXT_PROFILE_TWO_BYTE);
    assert_int_equal(collect(&v, ids, lens, 8), 3);
    assert_int_equal(ids[1], 15);
    assert_int_equal(lens[2], 20);

    /* Errors. */
    assert_int_equal(sb_rtp_write_header(buf, 43, &h), SB_ERANGE);
    h.ext_count = 0;
    assert_int_equal(sb_rtp_write_header(buf, 11, &h), SB_ERANGE);
    assert_int_equal(sb_rtp_write_header(buf, 12, &h), 12);
    h.pt = 128;
    assert_int_equal(sb_rtp_write_header(buf, sizeof(buf), &h), SB_EINVAL);
    h.pt = 1;
    h.csrc_count = 16;
    assert_int_equal(sb_rtp_write_header(buf, sizeof(buf), &h), SB_EINVAL);
    h.csrc_count = 0;
    sb_rtp_ext_elem_t zero[1] = {{0, 1, (const uint8_t *)"x"}};
    h.exts = zero;
    h.ext_count = 1;
    assert_int_equal(sb_rtp_write_header(buf, sizeof(buf), &h), SB_EINVAL);
}

static void test_copy_with_ext(void **state)
{
    (void)state;
    uint8_t in[64], out[128];
    size_t l;
    const uint8_t *d;
    sb_rtp_view_t v, w;
    const uint8_t ext[8] = {0x10, 'a', 0x21, 'x', 'y', 0, 0, 0};
    const uint8_t payload[6] = {'D', 'A', 'T', 'A', 0, 2};
    size_t len = make_pkt(in, ext, 8, 0xBEDE, payload, 6);
    int n;

    in[0] |= 0x20;
    assert_int_equal(sb_rtp_parse(in, len, &v), 0);
    assert_int_equal(v.payload_len, 4);

    /* Longer mid. */
    n = sb_rtp_copy_with_ext(&v, 1, (const uint8_t *)"subscriber-mid", 14, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(sb_rtp_parse(out, (size_t)n, &w), 0);
    assert_int_equal(sb_rtp_ext_find(&w, 1, &d, &l), 0);
    assert_int_equal(l, 14);
    assert_memory_equal(d, "subscriber-mid", 14);
    assert_int_equal(sb_rtp_ext_find(&w, 2, &d, &l), 0);
    assert_memory_equal(d, "xy", 2);
    assert_true(w.padding);
    assert_int_equal(w.padding_len, 2);
    assert_int_equal(w.payload_len, 4);
    assert_memory_equal(w.payload, "DATA", 4);
    assert_int_equal(w.seq, v.seq);
    assert_int_equal(w.ssrc, v.ssrc);

    /* Remove, then add to a packet without the element. */
    n = sb_rtp_copy_with_ext(&v, 1, NULL, 0, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(sb_rtp_parse(out, (size_t)n, &w), 0);
    assert_int_equal(sb_rtp_ext_find(&w, 1, &d, &l), SB_ENOENT);
    assert_int_equal(sb_rtp_ext_find(&w, 2, &d, &l), 0);
    n = sb_rtp_copy_with_ext(&v, 7, (const uint8_t *)"m", 1, out, sizeof(out));
    assert_int_equal(sb_rtp_parse(out, (size_t)n, &w), 0);
    assert_int_equal(sb_rtp_ext_find(&w, 7, &d, &l), 0);
    assert_int_equal(sb_rtp_ext_find(&w, 1, &d, &l), 0);

    /* Removing the only element drops the block. */
    const uint8_t only[4] = {0x10, 'a', 0, 0};
    len = make_pkt(in, only, 4, 0xBEDE, payload, 4);
    assert_int_equal(sb_rtp_parse(in, len, &v), 0);
    n = sb_rtp_copy_with_ext(&v, 1, NULL, 0, out, sizeof(out));
    assert_int_equal(n, 16);
    assert_int_equal(sb_rtp_parse(out, (size_t)n, &w), 0);
    assert_false(w.extension);

    /* No extension at all: adding creates one. */
    len = make_pkt(in, NULL, 0, 0, payload, 4);
    assert_int_equal(sb_rtp_parse(in, len, &v), 0);
    n = sb_rtp_copy_with_ext(&v, 1, (const uint8_t *)"0", 1, out, sizeof(out));
    assert_int_equal(n, 12 + 8 + 4);
    assert_int_equal(sb_rtp_parse(out, (size_t)n, &w), 0);
    assert_int_equal(sb_rtp_ext_find(&w, 1, &d, &l), 0);

    /* Errors: small buffer, unknown profile, bad id. */
    assert_int_equal(sb_rtp_copy_with_ext(&v, 1, (const uint8_t *)"0", 1, out, 23), SB_ERANGE);
    assert_int_equal(sb_rtp_copy_with_ext(&v, 0, (const uint8_t *)"0", 1, out, 64), SB_EINVAL);
    len = make_pkt(in, ext, 8, 0x1234, payload, 4);
    assert_int_equal(sb_rtp_parse(in, len, &v), 0);
    assert_int_equal(sb_rtp_copy_with_ext(&v, 1, (const uint8_t *)"0", 1, out, 64),
                     SB_ENOTSUP);
}

static void test_setters(void **state)
{
    (void)state;
    uint8_t buf[16];
    sb_rtp_view_t v;
    make_pkt(buf, NULL, 0, 0, NULL, 0);
    buf[1] |= 0x80;
    sb_rtp_set_ssrc(buf, 0xcafebabe);
    sb_rtp_set_seq(buf, 0xfffe);
    sb_rtp_set_timestamp(buf, 0x01020304);
    sb_rtp_set_pt(buf, 0xff); /* masked to 127, marker kept */
    assert_int_equal(sb_rtp_parse(buf, 12, &v), 0);
    assert_int_equal(v.ssrc, 0xcafebabe);
    assert_int_equal(v.seq, 0xfffe);
    assert_int_equal(v.timestamp, 0x01020304);
    assert_int_equal(v.pt, 127);
    assert_true(v.marker);
    sb_rtp_set_pt(buf, 96);
    sb_rtp_set_marker(buf, false);
    assert_int_equal(sb_rtp_parse(buf, 12, &v), 0);
    assert_int_equal(v.pt, 96);
    assert_false(v.marker);
}

static void test_rtx(void **state)
{
    (void)state;
    uint8_t orig[64], rtx[64], back[64];
    const uint8_t ext[4] = {0x10, 'a', 0, 0};
    const uint8_t payload[7] = {'m', 'e', 'd', 'i', 'a', 0, 2};
    size_t len = make_pkt(orig, ext, 4, 0xBEDE, payload, 7);
    sb_rtp_view_t o, r, b;
    uint16_t osn;
    const uint8_t *p;
    size_t pl;
    int n;

    orig[0] |= 0x20;
    orig[1] |= 0x80;
    assert_int_equal(sb_rtp_parse(orig, len, &o), 0);
    n = sb_rtx_wrap(&o, 0x99, 97, 7, rtx, sizeof(rtx));
    assert_int_equal(n, 20 + 2 + 5);
    assert_int_equal(sb_rtp_parse(rtx, (size_t)n, &r), 0);
    assert_int_equal(r.ssrc, 0x99);
    assert_int_equal(r.pt, 97);
    assert_int_equal(r.seq, 7);
    assert_true(r.marker);
    assert_false(r.padding);
    assert_int_equal(r.timestamp, o.timestamp);
    assert_int_equal(sb_rtx_unwrap(&r, &osn, &p, &pl), 0);
    assert_int_equal(osn, 0x1234);
    assert_int_equal(pl, 5);
    assert_memory_equal(p, "media", 5);

    n = sb_rtx_restore(&r, 0x01020304, 96, back, sizeof(back));
    assert_int_equal(n, 25);
    assert_int_equal(sb_rtp_parse(back, (size_t)n, &b), 0);
    assert_int_equal(b.seq, 0x1234);
    assert_int_equal(b.pt, 96);
    assert_int_equal(b.ssrc, 0x01020304);
    assert_true(b.marker);
    assert_int_equal(b.ext_len, 4);
    assert_memory_equal(b.payload, "media", 5);
    /* The header is the original's with the padding bit cleared. */
    assert_int_equal(back[0], orig[0] & ~0x20);
    assert_memory_equal(back + 1, orig + 1, 19);

    assert_int_equal(sb_rtx_wrap(&o, 1, 97, 1, rtx, 26), SB_ERANGE);
    assert_int_equal(sb_rtx_wrap(&o, 1, 200, 1, rtx, 64), SB_EINVAL);
    assert_int_equal(sb_rtx_restore(&r, 1, 96, back, 24), SB_ERANGE);

    /* Padding-only RTX probe and a one-byte payload. */
    assert_int_equal(sb_rtp_parse(rtx, 20, &r), 0);
    assert_int_equal(sb_rtx_unwrap(&r, &osn, &p, &pl), SB_ENOENT);
    assert_int_equal(sb_rtx_restore(&r, 1, 96, back, 64), SB_ENOENT);
    assert_int_equal(sb_rtp_parse(rtx, 21, &r), 0);
    assert_int_equal(sb_rtx_unwrap(&r, &osn, &p, &pl), SB_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_truncated_and_version),
        cmocka_unit_test(test_csrc),
        cmocka_unit_test(test_extension_bounds),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_one_byte_ext),
        cmocka_unit_test(test_two_byte_ext),
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_remap),
        cmocka_unit_test(test_set_inplace),
        cmocka_unit_test(test_write_header),
        cmocka_unit_test(test_copy_with_ext),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_rtx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
