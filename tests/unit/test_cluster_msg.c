/* Unit tests for the envelope of messages between nodes (src/cluster/messages.c): what is
 * sealed opens with the same secret, and every alteration, another secret, another
 * addressee, a clock too far off or malformed text is refused with its own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cluster/messages.h"
#include "switchboard/error.h"

#define SECRET "s3cret"
#define NOW 1700000000000LL

static char *seal(const char *secret, unsigned from, unsigned to, int64_t ts)
{
    json_t *body = json_pack("{s:s, s:i}", "type", "joined", "id", 42);
    char *text = sb_cluster_msg_seal(secret, from, to, "boot1", 7, ts, "janus.plugin.x", body);
    json_decref(body);
    assert_non_null(text);
    return text;
}

static int open_as(const char *text, size_t len, unsigned me, json_t **body, unsigned *from)
{
    char boot[33], pkg[64];
    uint64_t seq = 0;
    int rc = sb_cluster_msg_open(SECRET, text, len, me, NOW, from, boot, sizeof(boot), &seq,
                                 pkg, sizeof(pkg), body);
    if (rc == 0) {
        assert_string_equal(boot, "boot1");
        assert_string_equal(pkg, "janus.plugin.x");
        assert_int_equal(seq, 7);
    }
    return rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *text = seal(SECRET, 3, 5, NOW);
    json_t *body = NULL;
    unsigned from = 0;
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), 0);
    assert_int_equal(from, 3);
    assert_int_equal(json_integer_value(json_object_get(body, "id")), 42);
    json_decref(body);
    free(text);
}

static void test_every_byte_flipped_is_refused(void **state)
{
    (void)state;
    char *text = seal(SECRET, 3, 5, NOW);
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i++) {
        char saved = text[i];
        text[i] ^= 0x01;
        json_t *body = NULL;
        unsigned from;
        int rc = open_as(text, len, 5, &body, &from);
        assert_true(rc == SB_EPERM || rc == SB_EPROTO);
        assert_null(body);
        text[i] = saved;
    }
    free(text);
}

static void test_other_secret_node_or_time(void **state)
{
    (void)state;
    json_t *body = NULL;
    unsigned from;
    char *text = seal("another secret", 3, 5, NOW);
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), SB_EPERM);
    free(text);
    text = seal(SECRET, 3, 6, NOW);
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), SB_EINVAL);
    free(text);
    text = seal(SECRET, 5, 5, NOW); /* from ourselves */
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), SB_EINVAL);
    free(text);
    text = seal(SECRET, 3, 5, NOW - SB_CLUSTER_MSG_SKEW_MS - 1);
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), SB_ERANGE);
    free(text);
    text = seal(SECRET, 3, 5, NOW + SB_CLUSTER_MSG_SKEW_MS + 1);
    assert_int_equal(open_as(text, strlen(text), 5, &body, &from), SB_ERANGE);
    free(text);
    assert_null(body);
}

static void test_malformed(void **state)
{
    (void)state;
    json_t *body = NULL;
    unsigned from;
    const char *bad[] = {"", "short", "0123456789012345678901234567890123456789012345678901234"
                                      "567890123\n{}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(open_as(bad[i], strlen(bad[i]), 5, &body, &from) < 0);
    /* Signed with the right secret, but not an envelope. */
    const char *unsigned_json[] = {
        "[1,2]",
        "{\"from\":3,\"to\":5,\"boot\":\"b\",\"seq\":1,\"ts\":1700000000000,"
        "\"pkg\":\"p\",\"body\":[]}",
        "{\"from\":300,\"to\":5,\"boot\":\"b\",\"seq\":1,\"ts\":1700000000000,"
        "\"pkg\":\"p\",\"body\":{}}",
        "{\"from\":3,\"to\":5,\"boot\":\"b\",\"ts\":1700000000000,\"pkg\":\"p\","
        "\"body\":{}}",
        "{\"from\":3,\"from\":4,\"to\":5,\"boot\":\"b\",\"seq\":1,"
        "\"ts\":1700000000000,\"pkg\":\"p\",\"body\":{}}",
    };
    for (size_t i = 0; i < sizeof(unsigned_json) / sizeof(unsigned_json[0]); i++) {
        const char *j = unsigned_json[i];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)j, strlen(j),
             mac, &mac_len);
        char text[512];
        size_t n = 0;
        for (unsigned k = 0; k < mac_len; k++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%02x", mac[k]);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\n%s", j);
        assert_int_equal(open_as(text, n, 5, &body, &from), SB_EPROTO);
    }
    assert_null(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_byte_flipped_is_refused),
        cmocka_unit_test(test_other_secret_node_or_time),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
