/* Unit tests for src/api/ice_servers.c (TURN REST credentials, the reply's shape) and
 * src/base/rate_limit.c (the per-client budget behind it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/ice_servers.h"
#include "switchboard/alloc.h"
#include "base/rate_limit.h"

/* Expected value computed independently (Python: base64(hmac.new(b"north",
 * b"1767000000:switchboard", sha1).digest())), as coturn's use-auth-secret checks it. */
static void credential_matches_turn_rest_format(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(sb_turn_rest_credential("north", "1767000000:switchboard", out,
                                             sizeof(out)), 0);
    assert_string_equal(out, "ArqYXg0tNbJXFLU0KsneshnrsLw=");
    assert_true(sb_turn_rest_credential("north", "x", out, 28) < 0); /* too small */
}

static void cfg_init(sb_config_t *cfg)
{
    sb_config_defaults(cfg);
}

static void no_turn_configured_gives_empty_list(void **state)
{
    (void)state;
    sb_config_t cfg;
    cfg_init(&cfg);
    json_t *j = sb_ice_servers_build(&cfg, 1000, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "iceServers")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "ttl")), 0);
    json_decref(j);
    cfg.turn_rest_uris = sb_strdup("turn:a:3478"); /* URIs without a secret: nothing */
    j = sb_ice_servers_build(&cfg, 1000, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "iceServers")), 0);
    json_decref(j);
    sb_config_deinit(&cfg);
}

static void turn_and_stun_entries(void **state)
{
    (void)state;
    sb_config_t cfg;
    cfg_init(&cfg);
    cfg.turn_rest_secret = sb_strdup("north");
    cfg.turn_rest_uris = sb_strdup(" turn:t:3478?transport=udp ,, turns:t:443?transport=tcp ");
    cfg.stun_uris = sb_strdup("stun:t:3478");
    cfg.turn_rest_ttl_s = 600;
    json_t *j = sb_ice_servers_build(&cfg, 1766999400, "alice");
    json_t *list = json_object_get(j, "iceServers");
    assert_int_equal(json_array_size(list), 2);
    json_t *stun = json_array_get(list, 0), *turn = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(stun, "urls"), 0)),
                        "stun:t:3478");
    assert_null(json_object_get(stun, "username"));
    json_t *urls = json_object_get(turn, "urls");
    assert_int_equal(json_array_size(urls), 2);
    assert_string_equal(json_string_value(json_array_get(urls, 1)), "turns:t:443?transport=tcp");
    assert_string_equal(json_string_value(json_object_get(turn, "username")), "1767000000:alice");
    char want[64];
    sb_turn_rest_credential("north", "1767000000:alice", want, sizeof(want));
    assert_string_equal(json_string_value(json_object_get(turn, "credential")), want);
    assert_int_equal(json_integer_value(json_object_get(j, "ttl")), 600);
    json_decref(j);
    /* A user name that is not a plain token is not put in the username. */
    j = sb_ice_servers_build(&cfg, 1766999400, "a:b\"c");
    turn = json_array_get(json_object_get(j, "iceServers"), 1);
    assert_string_equal(json_string_value(json_object_get(turn, "username")),
                        "1767000000:switchboard");
    json_decref(j);
    sb_config_deinit(&cfg);
}

static void rate_limit_per_key_and_window(void **state)
{
    (void)state;
    sb_rate_limit_t *rl = sb_calloc(1, sizeof(*rl));
    sb_rate_limit_init(rl, 3, 60000000);
    uint8_t a[SB_RATE_LIMIT_KEY] = {127, 0, 0, 1}, b[SB_RATE_LIMIT_KEY] = {127, 0, 0, 2};
    unsigned retry = 0;
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++)
        assert_true(sb_rate_limit_take(rl, a, t + i, &retry));
    assert_false(sb_rate_limit_take(rl, a, t + 10 * 1000000LL, &retry));
    assert_int_equal(retry, 50);
    assert_true(sb_rate_limit_take(rl, b, t, NULL)); /* another client has its own budget */
    assert_true(sb_rate_limit_take(rl, a, t + 60 * 1000000LL, NULL)); /* next window */
    /* Many clients: memory stays the table's, every new client gets its budget. */
    for (uint32_t i = 0; i < 100000; i++) {
        uint8_t k[SB_RATE_LIMIT_KEY] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        assert_true(sb_rate_limit_take(rl, k, t + 61 * 1000000LL, NULL));
    }
    sb_rate_limit_deinit(rl);
    sb_rate_limit_init(rl, 0, 60000000); /* 0 = unlimited */
    for (int i = 0; i < 1000; i++)
        assert_true(sb_rate_limit_take(rl, a, t, NULL));
    sb_rate_limit_deinit(rl);
    sb_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(credential_matches_turn_rest_format),
        cmocka_unit_test(no_turn_configured_gives_empty_list),
        cmocka_unit_test(turn_and_stun_entries),
        cmocka_unit_test(rate_limit_per_key_and_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
