/* Unit tests for src/proto/stun_binding.c: the request's bytes, XOR-MAPPED-ADDRESS (IPv4,
 * IPv6) and MAPPED-ADDRESS answers, and what is refused: other transactions, error
 * responses, truncation, lengths that lie, and random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "proto/stun_binding.h"

static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void request_bytes(void **state)
{
    (void)state;
    uint8_t req[SB_STUN_BINDING_REQUEST_LEN];
    sb_stun_binding_request(req, txid);
    static const uint8_t want[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42,
                                     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_memory_equal(req, want, 20);
}

/* A success response with one attribute (type, value). */
static size_t response(uint8_t *out, uint16_t msg, uint16_t type, const uint8_t *v,
                       uint16_t vlen)
{
    out[0] = (uint8_t)(msg >> 8);
    out[1] = (uint8_t)msg;
    uint16_t body = (uint16_t)(4 + ((vlen + 3) & ~3));
    out[2] = (uint8_t)(body >> 8);
    out[3] = (uint8_t)body;
    out[4] = 0x21, out[5] = 0x12, out[6] = 0xA4, out[7] = 0x42;
    memcpy(out + 8, txid, 12);
    out[20] = (uint8_t)(type >> 8);
    out[21] = (uint8_t)type;
    out[22] = (uint8_t)(vlen >> 8);
    out[23] = (uint8_t)vlen;
    memset(out + 24, 0, (size_t)body - 4);
    memcpy(out + 24, v, vlen);
    return 20 + body;
}

static void xor_mapped_ipv4(void **state)
{
    (void)state;
    /* 198.18.0.7:40000, XORed with the cookie as RFC 8489 section 14.2 says. */
    uint16_t port = 40000 ^ 0x2112;
    uint32_t a = ((198u << 24) | (18u << 16) | 7u) ^ 0x2112A442u;
    uint8_t v[8] = {0, 1, (uint8_t)(port >> 8), (uint8_t)port,
                    (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    uint8_t buf[64];
    size_t n = response(buf, 0x0101, 0x0020, v, 8);
    struct sockaddr_storage ss;
    assert_int_equal(sb_stun_binding_parse(buf, n, txid, &ss), 0);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    char text[64];
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    assert_string_equal(text, "198.18.0.7");
    assert_int_equal(ntohs(in->sin_port), 40000);
    /* Another transaction, an error response, truncation, a lying length. */
    uint8_t other[12] = {9};
    assert_int_equal(sb_stun_binding_parse(buf, n, other, &ss), SB_ENOENT);
    buf[1] = 0x11; /* 0x0111: Binding error response */
    assert_int_equal(sb_stun_binding_parse(buf, n, txid, &ss), SB_ENOENT);
    buf[1] = 0x01;
    for (size_t cut = 0; cut < n; cut++)
        assert_true(sb_stun_binding_parse(buf, cut, txid, &ss) < 0);
    buf[23] = 200; /* attribute longer than the message */
    assert_int_equal(sb_stun_binding_parse(buf, n, txid, &ss), SB_EINVAL);
}

static void xor_mapped_ipv6_and_plain_mapped(void **state)
{
    (void)state;
    uint8_t v[20] = {0, 2, 0, 0};
    struct in6_addr want;
    inet_pton(AF_INET6, "2001:db8::42", &want);
    uint8_t key[16] = {0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint16_t port = 3478 ^ 0x2112;
    v[2] = (uint8_t)(port >> 8);
    v[3] = (uint8_t)port;
    for (int i = 0; i < 16; i++)
        v[4 + i] = want.s6_addr[i] ^ key[i];
    uint8_t buf[64];
    size_t n = response(buf, 0x0101, 0x0020, v, 20);
    struct sockaddr_storage ss;
    assert_int_equal(sb_stun_binding_parse(buf, n, txid, &ss), 0);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_memory_equal(&in6->sin6_addr, &want, 16);
    assert_int_equal(ntohs(in6->sin6_port), 3478);
    /* MAPPED-ADDRESS (RFC 3489 servers): not XORed. */
    uint8_t m[8] = {0, 1, 0x13, 0x88, 203, 0, 113, 9};
    n = response(buf, 0x0101, 0x0001, m, 8);
    assert_int_equal(sb_stun_binding_parse(buf, n, txid, &ss), 0);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    assert_int_equal(ntohs(in->sin_port), 5000);
    assert_int_equal(ntohl(in->sin_addr.s_addr), (203u << 24) | (113u << 8) | 9u);
}

static void random_bytes_never_crash(void **state)
{
    (void)state;
    srand(7);
    uint8_t buf[128];
    struct sockaddr_storage ss;
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)(rand() % (int)sizeof(buf));
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rand();
        if (n >= 8 && (i & 1)) { /* often a valid header, so the attribute walk runs */
            buf[0] = 0x01, buf[1] = 0x01, buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xA4,
            buf[7] = 0x42;
            buf[2] = 0;
            buf[3] = (uint8_t)((n - 20) & ~3u);
            if (n >= 20)
                memcpy(buf + 8, txid, 12);
        }
        int rc = sb_stun_binding_parse(buf, n, txid, &ss);
        assert_true(rc == 0 || rc == SB_EINVAL || rc == SB_ENOENT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_bytes),
        cmocka_unit_test(xor_mapped_ipv4),
        cmocka_unit_test(xor_mapped_ipv6_and_plain_mapped),
        cmocka_unit_test(random_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
