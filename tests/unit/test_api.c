/* Unit tests for src/api/request.c: validation, routing and error codes of the Janus API,
 * against a plugin linked into the test that answers synchronously or with "ack". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/errors.h"
#include "api/request.h"
#include "session/handle.h"
#include "session/session.h"
#include "plugin/loader.h"

static int destroyed_handles;

static int fake_create(sb_plugin_handle_t *h)
{
    h->plugin_data = NULL;
    return 0;
}

static sb_plugin_handle_t *last_handle;

static sb_plugin_result_t fake_message(sb_plugin_handle_t *h, const char *tr, json_t *body,
                                       json_t *jsep)
{
    last_handle = h;
    (void)tr;
    (void)jsep;
    if (json_object_get(body, "async"))
        return sb_plugin_wait();
    if (json_object_get(body, "fail"))
        return (sb_plugin_result_t){.kind = SB_PLUGIN_ERROR, .error = strdup("boom")};
    return sb_plugin_ok(json_pack("{s:s}", "echo", "sync"));
}

static void fake_destroy(sb_plugin_handle_t *h)
{
    (void)h;
    destroyed_handles++;
}

static int fake_init(const sb_core_api_t *core, const char *dir)
{
    (void)core;
    (void)dir;
    return 0;
}

static const sb_plugin_t fake_plugin = {
    SB_PLUGIN_HEADER,
    .package = "test.plugin.fake",
    .name = "fake",
    .init = fake_init,
    .create_handle = fake_create,
    .handle_message = fake_message,
    .destroy_handle = fake_destroy,
};

/* Run one request given as JSON text; ids as if from an HTTP path. Returns the reply. */
static json_t *call(const char *text, uint64_t sid, uint64_t hid, bool from_path)
{
    json_error_t e;
    json_t *msg = json_loads(text, 0, &e);
    assert_non_null(msg);
    sb_api_request_t req = {.message = msg, .ids_from_path = from_path, .session_id = sid,
                            .handle_id = hid};
    json_t *reply = sb_api_handle(&req);
    json_decref(msg);
    assert_non_null(reply);
    return reply;
}

static int error_code(json_t *reply)
{
    return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static void expect_error(const char *text, uint64_t sid, uint64_t hid, bool path, int code)
{
    json_t *r = call(text, sid, hid, path);
    if (error_code(r) != code)
        fail_msg("%s: expected error %d, got %s", text, code, json_dumps(r, 0));
    json_decref(r);
}

static uint64_t create_session(void)
{
    json_t *r = call("{\"janus\":\"create\",\"transaction\":\"t\"}", 0, 0, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    assert_string_equal(json_string_value(json_object_get(r, "transaction")), "t");
    uint64_t id = (uint64_t)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    assert_true(id > 0);
    return id;
}

static uint64_t attach(uint64_t sid)
{
    json_t *r = call("{\"janus\":\"attach\",\"plugin\":\"test.plugin.fake\",\"transaction\":\"a\"}",
                     sid, 0, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    uint64_t id = (uint64_t)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    return id;
}

static int setup(void **state)
{
    (void)state;
    sb_sessions_init(&(sb_sessions_config_t){.timeout_s = 60, .max_sessions = 3,
                                             .max_handles_per_session = 2,
                                             .event_queue_max = 16});
    sb_api_init(&(sb_api_config_t){.server_name = NULL});
    sb_plugins_add(&fake_plugin, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_sessions_deinit();
    sb_plugins_unload();
    sb_api_deinit();
    return 0;
}

static void test_envelope_errors(void **state)
{
    (void)state;
    expect_error("[1,2]", 0, 0, true, 455);
    expect_error("{\"janus\":\"create\"}", 0, 0, true, 456);
    expect_error("{\"janus\":\"create\",\"transaction\":5}", 0, 0, true, 467);
    expect_error("{\"transaction\":\"x\"}", 0, 0, true, 456);
    expect_error("{\"janus\":7,\"transaction\":\"x\"}", 0, 0, true, 467);
    expect_error("{\"janus\":\"frobnicate\",\"transaction\":\"x\"}", 0, 0, true, 453);
    json_t *r = sb_api_reject_body("{x", 2, "bad");
    assert_int_equal(error_code(r), 454);
    json_decref(r);
}

static void test_lifecycle_and_paths(void **state)
{
    (void)state;
    uint64_t sid = create_session();
    /* create at a session path, attach at the root: wrong path */
    expect_error("{\"janus\":\"create\",\"transaction\":\"x\"}", sid, 0, true, 457);
    expect_error("{\"janus\":\"attach\",\"plugin\":\"test.plugin.fake\",\"transaction\":\"x\"}",
                 0, 0, true, 457);
    expect_error("{\"janus\":\"attach\",\"transaction\":\"x\"}", sid, 0, true, 456);
    expect_error("{\"janus\":\"attach\",\"plugin\":1,\"transaction\":\"x\"}", sid, 0, true, 467);
    expect_error("{\"janus\":\"attach\",\"plugin\":\"nope\",\"transaction\":\"x\"}", sid, 0, true,
                 460);
    expect_error("{\"janus\":\"keepalive\",\"transaction\":\"x\"}", 12345, 0, true, 458);
    uint64_t hid = attach(sid);
    expect_error("{\"janus\":\"message\",\"body\":{},\"transaction\":\"x\"}", sid, hid + 1, true,
                 459);
    expect_error("{\"janus\":\"message\",\"transaction\":\"x\"}", sid, hid, true, 456);
    expect_error("{\"janus\":\"message\",\"body\":[],\"transaction\":\"x\"}", sid, hid, true, 467);
    expect_error("{\"janus\":\"message\",\"body\":{},\"jsep\":{\"type\":\"pranswer\",\"sdp\":\"v=0\"},"
                 "\"transaction\":\"x\"}", sid, hid, true, 464);
    expect_error("{\"janus\":\"message\",\"body\":{},\"jsep\":{\"type\":\"offer\"},"
                 "\"transaction\":\"x\"}", sid, hid, true, 456);
    expect_error("{\"janus\":\"message\",\"body\":{},\"jsep\":{\"type\":\"offer\",\"sdp\":\"garbage\"},"
                 "\"transaction\":\"x\"}", sid, hid, true, 465);
    expect_error("{\"janus\":\"message\",\"body\":{\"fail\":1},\"transaction\":\"x\"}", sid, hid,
                 true, 462);
    expect_error("{\"janus\":\"trickle\",\"transaction\":\"x\"}", sid, hid, true, 456);

    json_t *r = call("{\"janus\":\"message\",\"body\":{},\"transaction\":\"m\"}", sid, hid, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r, "plugindata"), "data"), "echo")),
                        "sync");
    assert_int_equal(json_integer_value(json_object_get(r, "sender")), (json_int_t)hid);
    json_decref(r);
    r = call("{\"janus\":\"message\",\"body\":{\"async\":1},\"transaction\":\"m\"}", sid, hid, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
    json_decref(r);

    /* detach: the handle is gone, and the session got a "detached" event */
    int before = destroyed_handles;
    r = call("{\"janus\":\"detach\",\"transaction\":\"d\"}", sid, hid, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    json_decref(r);
    assert_int_equal(destroyed_handles, before + 1);
    expect_error("{\"janus\":\"detach\",\"transaction\":\"d\"}", sid, hid, true, 459);
    sb_session_t *s = sb_session_find(sid);
    json_t *events = sb_session_take_events(s, 10);
    assert_non_null(events);
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "janus")),
                        "detached");
    json_decref(events);
    sb_session_unref(s);

    r = call("{\"janus\":\"destroy\",\"transaction\":\"x\"}", sid, 0, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    json_decref(r);
    expect_error("{\"janus\":\"keepalive\",\"transaction\":\"x\"}", sid, 0, true, 458);
}

static void test_body_ids_and_bounds(void **state)
{
    (void)state;
    uint64_t sid = create_session();
    char text[256];
    /* WebSocket style: ids in the body */
    expect_error("{\"janus\":\"keepalive\",\"transaction\":\"x\"}", 0, 0, false, 456);
    expect_error("{\"janus\":\"keepalive\",\"session_id\":\"1\",\"transaction\":\"x\"}", 0, 0,
                 false, 467);
    snprintf(text, sizeof(text), "{\"janus\":\"keepalive\",\"session_id\":%llu,\"transaction\":\"x\"}",
             (unsigned long long)sid);
    json_t *r = call(text, 0, 0, false);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
    json_decref(r);
    /* handles per session are bounded (2 here) */
    attach(sid);
    attach(sid);
    expect_error("{\"janus\":\"attach\",\"plugin\":\"test.plugin.fake\",\"transaction\":\"x\"}",
                 sid, 0, true, 461);
    /* sessions are bounded (3 here) */
    create_session();
    create_session();
    expect_error("{\"janus\":\"create\",\"transaction\":\"x\"}", 0, 0, true, 472);
}

/* Acked requests a plugin has not answered are bounded per handle; answers make room. */
static void test_pending_bound(void **state)
{
    (void)state;
    uint64_t sid = create_session();
    uint64_t hid = attach(sid), other = attach(sid);
    const char *async = "{\"janus\":\"message\",\"body\":{\"async\":1},\"transaction\":\"m\"}";
    for (int i = 0; i < SB_HANDLE_MAX_PENDING; i++) {
        json_t *r = call(async, sid, hid, true);
        assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
        json_decref(r);
    }
    expect_error(async, sid, hid, true, SB_API_ERR_PLUGIN_MESSAGE);
    /* The plugin answers one: room for one more. */
    assert_int_equal(sb_handle_push_event(sb_handle_from_plugin(last_handle), "m", NULL, NULL),
                     0);
    json_t *r = call(async, sid, hid, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
    json_decref(r);
    expect_error(async, sid, hid, true, SB_API_ERR_PLUGIN_MESSAGE);
    /* Another handle is not affected. */
    r = call(async, sid, other, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
    json_decref(r);
}

/* Trickle's own refusals come from the session layer as SB_E* codes: the API answers them
 * with the same codes and text as ever (456 for a candidate object without "candidate",
 * 467 for the rest). */
static void expect_trickle(uint64_t sid, uint64_t hid, const char *what, int code)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"janus\":\"trickle\",%s,\"transaction\":\"x\"}", what);
    json_t *r = call(text, sid, hid, true);
    if (code == 0) {
        assert_string_equal(json_string_value(json_object_get(r, "janus")), "ack");
    } else {
        if (error_code(r) != code)
            fail_msg("%s: expected error %d, got %s", text, code, json_dumps(r, 0));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "error"), "reason")),
            "Invalid trickle candidate");
    }
    json_decref(r);
}

static void test_trickle_errors(void **state)
{
    (void)state;
    uint64_t sid = create_session();
    uint64_t hid = attach(sid);
    const char *good = "{\"candidate\":\"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\","
                       "\"sdpMid\":\"0\"}";
    char what[3900];
    snprintf(what, sizeof(what), "\"candidate\":%s", good);
    expect_trickle(sid, hid, what, 0);
    expect_trickle(sid, hid, "\"candidate\":{\"completed\":true}", 0);
    expect_trickle(sid, hid, "\"candidate\":null", 0);
    expect_trickle(sid, hid, "\"candidate\":{\"candidate\":\"\"}", 0);
    expect_trickle(sid, hid, "\"candidate\":{\"sdpMid\":\"0\"}", 456);
    expect_trickle(sid, hid, "\"candidate\":{\"candidate\":5}", 456);
    expect_trickle(sid, hid, "\"candidate\":{\"candidate\":\"candidate:garbage\"}", 467);
    snprintf(what, sizeof(what), "\"candidates\":[%s,{\"sdpMid\":\"0\"}]", good);
    expect_trickle(sid, hid, what, 456);
    snprintf(what, sizeof(what), "\"candidates\":[%s,7]", good);
    expect_trickle(sid, hid, what, 467);
    /* A line past 512 bytes. */
    int n = snprintf(what, sizeof(what), "\"candidate\":{\"candidate\":\"candidate:");
    for (int i = 0; i < 520; i++)
        what[n++] = 'a';
    snprintf(what + n, sizeof(what) - (size_t)n, "\"}");
    expect_trickle(sid, hid, what, 467);
    /* More candidates in one request than a handle keeps. */
    n = snprintf(what, sizeof(what), "\"candidates\":[");
    for (int i = 0; i < 65; i++)
        n += snprintf(what + n, sizeof(what) - (size_t)n, "%snull", i ? "," : "");
    snprintf(what + n, sizeof(what) - (size_t)n, "]");
    expect_trickle(sid, hid, what, 467);
}

static void test_api_secret(void **state)
{
    (void)state;
    sb_api_deinit();
    sb_api_init(&(sb_api_config_t){.api_secret = "s3cret"});
    expect_error("{\"janus\":\"create\",\"transaction\":\"x\"}", 0, 0, true, 403);
    expect_error("{\"janus\":\"create\",\"apisecret\":\"nope\",\"transaction\":\"x\"}", 0, 0, true,
                 403);
    json_t *r = call("{\"janus\":\"create\",\"apisecret\":\"s3cret\",\"transaction\":\"x\"}", 0, 0,
                     true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "success");
    json_decref(r);
    r = call("{\"janus\":\"info\",\"transaction\":\"x\"}", 0, 0, true);
    assert_string_equal(json_string_value(json_object_get(r, "janus")), "server_info");
    assert_true(json_is_true(json_object_get(r, "api_secret")));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_envelope_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_ids_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trickle_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
