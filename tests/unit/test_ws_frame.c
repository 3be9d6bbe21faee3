/* Unit tests for api/ws_frame: RFC 6455 client frames in, messages out, every violation
 * answered with its close code; fed whole and byte by byte; UTF-8 validation; the server
 * frame header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/ws_frame.h"

typedef struct seen {
    int messages, pings, closes, too_large;
    bool binary;
    char last[70000];
    size_t last_len;
    uint16_t close_code;
} seen_t;

static void on_message(void *ctx, bool binary, const uint8_t *data, size_t len, bool too_large)
{
    seen_t *s = ctx;
    s->messages++;
    s->binary = binary;
    s->too_large += too_large;
    s->last_len = len;
    if (data && len < sizeof(s->last))
        memcpy(s->last, data, len);
}

static void on_ping(void *ctx, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    ((seen_t *)ctx)->pings++;
}

static void on_close(void *ctx, uint16_t code)
{
    seen_t *s = ctx;
    s->closes++;
    s->close_code = code;
}

static const sb_ws_parser_ops_t ops = {on_message, on_ping, on_close};

/* A client frame: fin, opcode, payload, masked with a fixed key unless mask is false. */
static size_t frame(uint8_t *out, bool fin, uint8_t opcode, const void *payload, size_t len,
                    bool mask)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = sb_ws_frame_header(out, opcode, len);
    if (!fin)
        out[0] &= 0x7f;
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + h, key, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[h + i] = ((const uint8_t *)payload)[i] ^ (mask ? key[i & 3] : 0);
    return h + len;
}

/* Feeds buf whole (bytewise = false) or one byte at a time; returns the parser's result. */
static uint16_t feed(sb_ws_parser_t *p, seen_t *s, const uint8_t *buf, size_t len, bool bytewise)
{
    if (!bytewise)
        return sb_ws_parse(p, buf, len, &ops, s);
    uint16_t rc = 0;
    for (size_t i = 0; i < len && !rc; i++)
        rc = sb_ws_parse(p, buf + i, 1, &ops, s);
    return rc;
}

static uint8_t buf[200000];

static void test_messages(void **state)
{
    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        sb_ws_parser_t p;
        seen_t s = {0};
        sb_ws_parser_init(&p, 100000);
        size_t n = frame(buf, true, SB_WS_OP_TEXT, "hello", 5, true);
        assert_int_equal(feed(&p, &s, buf, n, bytewise), 0);
        assert_int_equal(s.messages, 1);
        assert_false(s.binary);
        assert_int_equal(s.last_len, 5);
        assert_memory_equal(s.last, "hello", 5);
        /* 16- and 64-bit lengths, binary, and an empty text message. */
        static char big[70000];
        memset(big, 'x', sizeof(big));
        size_t lens[] = {126, 65535, 65536, 70000, 0};
        for (size_t k = 0; k < 5; k++) {
            n = frame(buf, true, k == 2 ? SB_WS_OP_BINARY : SB_WS_OP_TEXT, big, lens[k], true);
            assert_int_equal(feed(&p, &s, buf, n, bytewise), 0);
            assert_int_equal(s.last_len, lens[k]);
            assert_int_equal(s.binary, k == 2);
        }
        assert_int_equal(s.messages, 6);
        /* Fragments with a ping and a pong in between (§5.4). */
        n = frame(buf, false, SB_WS_OP_TEXT, "{\"a\":", 5, true);
        n += frame(buf + n, true, SB_WS_OP_PING, "p", 1, true);
        n += frame(buf + n, false, SB_WS_OP_CONT, "1", 1, true);
        n += frame(buf + n, true, SB_WS_OP_PONG, "", 0, true);
        n += frame(buf + n, true, SB_WS_OP_CONT, "}", 1, true);
        assert_int_equal(feed(&p, &s, buf, n, bytewise), 0);
        assert_int_equal(s.messages, 7);
        assert_int_equal(s.pings, 1);
        assert_int_equal(s.last_len, 7);
        assert_memory_equal(s.last, "{\"a\":1}", 7);
        /* Close with a code ends parsing: what follows is ignored. */
        n = frame(buf, true, SB_WS_OP_CLOSE, "\x03\xe8" "bye", 5, true);
        n += frame(buf + n, true, SB_WS_OP_TEXT, "late", 4, true);
        assert_int_equal(feed(&p, &s, buf, n, bytewise), 0);
        assert_int_equal(s.closes, 1);
        assert_int_equal(s.close_code, 1000);
        assert_int_equal(s.messages, 7);
        sb_ws_parser_deinit(&p);
    }
}

static void test_too_large(void **state)
{
    (void)state;
    sb_ws_parser_t p;
    seen_t s = {0};
    sb_ws_parser_init(&p, 100);
    static char big[300];
    memset(big, 'y', sizeof(big));
    /* One frame over the limit, then a message whose fragments add up to more than it. */
    size_t n = frame(buf, true, SB_WS_OP_TEXT, big, 101, true);
    n += frame(buf + n, false, SB_WS_OP_TEXT, big, 60, true);
    n += frame(buf + n, true, SB_WS_OP_CONT, big, 60, true);
    n += frame(buf + n, true, SB_WS_OP_TEXT, big, 100, true);
    assert_int_equal(feed(&p, &s, buf, n, false), 0);
    assert_int_equal(s.messages, 3);
    assert_int_equal(s.too_large, 2);
    assert_int_equal(s.last_len, 100); /* the last one, at the limit, is whole */
    assert_true(p.msg_cap <= 100);
    sb_ws_parser_deinit(&p);
}

/* Each violation, alone on a fresh parser, and the code it must be answered with. */
static void test_violations(void **state)
{
    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        uint8_t b[300];
        size_t n;
        uint8_t payload[200];
        memset(payload, 'z', sizeof(payload));
#define EXPECT(code_)                                                                          \
    do {                                                                                       \
        sb_ws_parser_t p;                                                                      \
        seen_t s = {0};                                                                        \
        sb_ws_parser_init(&p, 1000);                                                           \
        assert_int_equal(feed(&p, &s, b, n, bytewise), code_);                                 \
        assert_int_equal(s.messages, 0);                                                       \
        assert_int_equal(sb_ws_parse(&p, b, 1, &ops, &s), code_); /* stays dead */             \
        sb_ws_parser_deinit(&p);                                                               \
    } while (0)
        n = frame(b, true, SB_WS_OP_TEXT, "{}", 2, false); /* unmasked (§5.1) */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_TEXT, "{}", 2, true);
        b[0] |= 0x40; /* RSV1 without permessage-deflate */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, 0x3, "{}", 2, true); /* reserved data opcode */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, 0xB, "", 0, true); /* reserved control opcode */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, false, SB_WS_OP_PING, "x", 1, true); /* fragmented control */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_PING, payload, 126, true); /* control over 125 */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_CONT, "x", 1, true); /* continuation of nothing */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, false, SB_WS_OP_TEXT, "x", 1, true);
        n += frame(b + n, true, SB_WS_OP_BINARY, "y", 1, true); /* new message inside one */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_TEXT, "\xc0\x80", 2, true); /* overlong NUL */
        EXPECT(SB_WS_CLOSE_INVALID_DATA);
        n = frame(b, true, SB_WS_OP_CLOSE, "\x03", 1, true); /* 1-byte close payload */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_CLOSE, "\x03\xed", 2, true); /* code 1005 on the wire */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_CLOSE, "\x03\xe7", 2, true); /* code 999 */
        EXPECT(SB_WS_CLOSE_PROTOCOL);
        n = frame(b, true, SB_WS_OP_CLOSE, "\x03\xe8\xff", 3, true); /* reason not UTF-8 */
        EXPECT(SB_WS_CLOSE_INVALID_DATA);
        /* A 64-bit length with the top bit set. */
        b[0] = 0x82, b[1] = 0x80 | 127;
        memset(b + 2, 0xff, 8);
        memset(b + 10, 0, 4);
        n = 14;
        EXPECT(SB_WS_CLOSE_PROTOCOL);
#undef EXPECT
    }
    /* Binary frames are not UTF-8 checked; an empty close frame is code 1005; 3000-4999
     * are application codes. */
    sb_ws_parser_t p;
    seen_t s = {0};
    sb_ws_parser_init(&p, 1000);
    size_t n = frame(buf, true, SB_WS_OP_BINARY, "\xff\xfe", 2, true);
    n += frame(buf + n, true, SB_WS_OP_CLOSE, "", 0, true);
    assert_int_equal(sb_ws_parse(&p, buf, n, &ops, &s), 0);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.close_code, SB_WS_CLOSE_NO_STATUS);
    sb_ws_parser_deinit(&p);
    sb_ws_parser_init(&p, 1000);
    n = frame(buf, true, SB_WS_OP_CLOSE, "\x0f\xa0", 2, true);
    assert_int_equal(sb_ws_parse(&p, buf, n, &ops, &s), 0);
    assert_int_equal(s.close_code, 4000);
    sb_ws_parser_deinit(&p);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } v[] = {
        {"plain ascii", true},
        {"caf\xc3\xa9", true},
        {"\xe2\x82\xac", true},          /* U+20AC */
        {"\xf0\x9f\x98\x80", true},      /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", true},      /* U+10FFFF */
        {"\xef\xbf\xbf", true},          /* U+FFFF */
        {"\xc0\xaf", false},             /* overlong */
        {"\xc1\xbf", false},             /* overlong */
        {"\xe0\x9f\xbf", false},         /* overlong */
        {"\xf0\x8f\xbf\xbf", false},     /* overlong */
        {"\xed\xa0\x80", false},         /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", false},     /* U+110000 */
        {"\xf5\x80\x80\x80", false},
        {"\xc3", false},                 /* truncated */
        {"\xe2\x82", false},
        {"\x80", false},                 /* lone continuation */
        {"\xc3\x28", false},             /* bad continuation */
        {"\xe2\x28\xa1", false},
        {"\xf0\x9f\x98\x28", false},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(sb_ws_utf8_valid((const uint8_t *)v[i].s, strlen(v[i].s)), v[i].ok);
}

static void test_header(void **state)
{
    (void)state;
    uint8_t h[SB_WS_MAX_HEADER];
    assert_int_equal(sb_ws_frame_header(h, SB_WS_OP_TEXT, 0), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 0);
    assert_int_equal(sb_ws_frame_header(h, SB_WS_OP_CLOSE, 125), 2);
    assert_int_equal(h[0], 0x88);
    assert_int_equal(h[1], 125);
    assert_int_equal(sb_ws_frame_header(h, SB_WS_OP_TEXT, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(sb_ws_frame_header(h, SB_WS_OP_TEXT, 65535), 4);
    assert_int_equal(sb_ws_frame_header(h, SB_WS_OP_TEXT, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1);
    assert_int_equal(h[8], 0);
    assert_int_equal(h[9], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),   cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_violations), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
