/* Unit tests for src/proto/stun_ice.c: our consent check and Binding success responses are
 * byte for byte what another implementation writes (the vectors below come from aioice,
 * python3-aioice 0.9, with the same attributes); its messages pass our FINGERPRINT and
 * MESSAGE-INTEGRITY checks and every single flipped bit fails them; malformed messages are
 * refused; a username is matched by ufrag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "proto/stun_ice.h"

static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* A Binding request: USERNAME "theirs:ours", PRIORITY 0x6e0001ff, ICE-CONTROLLED
 * 0x932ff9b151263b36, MESSAGE-INTEGRITY (pwd), FINGERPRINT. */
static const char request_hex[] =
    "000100442112a4420102030405060708090a0b0c0006000b7468656972733a6f75727300002400046e0001ff"
    "80290008932ff9b151263b3600080014aae2686d41a26d8e041f05e45b9d17fa1e62a1ef80280004b20031fc";
/* Success responses: XOR-MAPPED-ADDRESS 192.0.2.1:32853, then [2001:db8:1234:5678:11:2233:
 * 4455:6677]:32853, MESSAGE-INTEGRITY (pwd), FINGERPRINT. */
static const char response4_hex[] =
    "0101002c2112a4420102030405060708090a0b0c002000080001a147e112a643000800140c1c805526bf5a0f"
    "bd5c0349c74777e4ac2f8625802800047a0cae8d";
static const char response6_hex[] =
    "010100382112a4420102030405060708090a0b0c002000140002a1470113a9fa1336557c0517253b4d5f6d7b"
    "00080014b9d8aed94583bffb3a966c3eccd704380874c75b80280004fb86d850";

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static sb_hmac_sha1_t key(const char *p)
{
    sb_hmac_sha1_t k;
    sb_hmac_sha1_init(&k, (const uint8_t *)p, strlen(p));
    return k;
}

static void consent_request_bytes(void **state)
{
    (void)state;
    uint8_t want[128], got[SB_STUN_ICE_MAX_LEN];
    size_t wl = unhex(request_hex, want);
    sb_hmac_sha1_t k = key(pwd);
    size_t gl = sb_stun_consent_request(got, sizeof(got), txid, "theirs", "ours", 0x6e0001ff,
                                        false, UINT64_C(0x932ff9b151263b36), &k);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);
    /* controlling: ICE-CONTROLLING instead, and it still checks */
    gl = sb_stun_consent_request(got, sizeof(got), txid, "theirs", "ours", 1, true, 7, &k);
    sb_stun_msg_t m;
    assert_int_equal(sb_stun_parse(got, gl, &m), 0);
    assert_true(m.controlling && !m.controlled);
    assert_true(sb_stun_fingerprint_ok(got, gl, &m) && sb_stun_integrity_ok(got, &m, &k));
    /* too small a buffer, at every length: 0, never a write past cap */
    for (size_t cap = 0; cap < wl; cap++) {
        uint8_t small[128];
        memset(small, 0xAA, sizeof(small));
        assert_int_equal(sb_stun_consent_request(small, cap, txid, "theirs", "ours", 1, false, 7, &k), 0);
        for (size_t i = cap; i < sizeof(small); i++)
            assert_int_equal(small[i], 0xAA);
    }
    char longer[258];
    memset(longer, 'u', 257);
    longer[257] = 0;
    assert_int_equal(sb_stun_consent_request(got, sizeof(got), txid, longer, "ours", 1, false, 7, &k), 0);
}

static void binding_success_bytes(void **state)
{
    (void)state;
    sb_hmac_sha1_t k = key(pwd);
    uint8_t want[128], got[128];
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(32853)};
    inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
    size_t wl = unhex(response4_hex, want);
    size_t gl = sb_stun_binding_success(got, sizeof(got), txid, (struct sockaddr *)&in, &k);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);

    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(32853)};
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &in6.sin6_addr);
    wl = unhex(response6_hex, want);
    gl = sb_stun_binding_success(got, sizeof(got), txid, (struct sockaddr *)&in6, &k);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);

    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(sb_stun_binding_success(got, sizeof(got), txid, &un, &k), 0);
    assert_int_equal(sb_stun_binding_success(got, 40, txid, (struct sockaddr *)&in, &k), 0);
}

static void parse_and_check(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = unhex(request_hex, b);
    sb_hmac_sha1_t k = key(pwd), wrong = key("VOkJxbRl1RmTxUk/WvJxBu");
    sb_stun_msg_t m;
    assert_true(sb_stun_is_stun(b, n));
    assert_int_equal(sb_stun_parse(b, n, &m), 0);
    assert_int_equal(m.type, SB_STUN_BINDING_REQUEST);
    assert_memory_equal(m.txid, txid, 12);
    assert_int_equal(m.username_len, 11);
    assert_memory_equal(m.username, "theirs:ours", 11);
    assert_true(m.controlled && !m.controlling && !m.use_candidate);
    assert_true(sb_stun_fingerprint_ok(b, n, &m));
    assert_true(sb_stun_integrity_ok(b, &m, &k));
    assert_false(sb_stun_integrity_ok(b, &m, &wrong));
    assert_true(sb_stun_username_is_for(&m, "theirs"));
    assert_false(sb_stun_username_is_for(&m, "their"));
    assert_false(sb_stun_username_is_for(&m, "ours"));
    assert_false(sb_stun_username_is_for(&m, "theirs:ours"));

    /* Every flipped bit fails the parse, the fingerprint or the integrity. */
    for (size_t i = 0; i < n * 8; i++) {
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        bool ok = sb_stun_parse(b, n, &m) == 0 && sb_stun_fingerprint_ok(b, n, &m) &&
                  sb_stun_integrity_ok(b, &m, &k);
        assert_false(ok);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

static void refused(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = unhex(request_hex, b);
    sb_stun_msg_t m;
    for (size_t len = 0; len < n; len++) /* every truncation */
        assert_int_equal(sb_stun_parse(b, len, &m), SB_EINVAL);
    uint8_t c[160];
    memcpy(c, b, n);
    memset(c + n, 0, 8);
    assert_int_equal(sb_stun_parse(c, n + 8, &m), SB_EINVAL); /* trailing bytes */
    c[3] = (uint8_t)(c[3] + 8);
    assert_int_equal(sb_stun_parse(c, n + 8, &m), SB_EINVAL); /* an attribute after FINGERPRINT */
    memcpy(c, b, n);
    c[23] = 0xF0; /* USERNAME's length past the end */
    assert_int_equal(sb_stun_parse(c, n, &m), SB_EINVAL);
    memcpy(c, b, n);
    c[0] = 0x40; /* RTP-like first byte */
    assert_false(sb_stun_is_stun(c, n));
    memcpy(c, b, n);
    c[4] = 0; /* no magic cookie */
    assert_int_equal(sb_stun_parse(c, n, &m), SB_EINVAL);

    /* An attribute after MESSAGE-INTEGRITY other than FINGERPRINT is ignored, not taken. */
    size_t r = unhex(response4_hex, c);
    assert_int_equal(sb_stun_parse(c, r, &m), 0);
    assert_null(m.username);
    /* No MESSAGE-INTEGRITY, no FINGERPRINT: both checks fail. */
    uint8_t bare[20];
    memcpy(bare, b, 20);
    bare[2] = bare[3] = 0;
    assert_int_equal(sb_stun_parse(bare, 20, &m), 0);
    sb_hmac_sha1_t k = key(pwd);
    assert_false(sb_stun_fingerprint_ok(bare, 20, &m));
    assert_false(sb_stun_integrity_ok(bare, &m, &k));
}

static void error_code(void **state)
{
    (void)state;
    /* A Binding error response with ERROR-CODE 487 (Role Conflict). */
    uint8_t b[32] = {0x01, 0x11, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42};
    memcpy(b + 8, txid, 12);
    const uint8_t attr[12] = {0x00, 0x09, 0x00, 0x08, 0, 0, 4, 87, 'R', 'o', 'l', 'e'};
    memcpy(b + 20, attr, sizeof(attr));
    sb_stun_msg_t m;
    assert_int_equal(sb_stun_parse(b, 32, &m), 0);
    assert_int_equal(m.type, SB_STUN_BINDING_ERROR);
    assert_int_equal(m.error_code, 487);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consent_request_bytes), cmocka_unit_test(binding_success_bytes),
        cmocka_unit_test(parse_and_check),       cmocka_unit_test(refused),
        cmocka_unit_test(error_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
