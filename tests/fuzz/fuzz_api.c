/* Fuzz target for the Janus API layer: arbitrary bytes as a request body, through the JSON
 * parser and sb_api_handle (validation, routing, sessions, handles, a linked-in plugin),
 * both as an HTTP request (ids from a path) and as a WebSocket one (ids in the body), and
 * through the Admin API (sb_admin_handle) at the same path.
 * Invariants: a reply is always a JSON object with a "janus" string; errors carry a
 * numeric code. Build (libFuzzer):
 *   clang -fsanitize=fuzzer,address,undefined -I src -I <builddir> tests/fuzz/fuzz_api.c \
 *     <builddir>/libsb.a $(pkg-config --libs ...)   (see tests/module.am for the libraries) */
#include <stdlib.h>
#include <string.h>

#include "api/admin.h"
#include "api/request.h"
#include "session/handle.h"
#include "session/session.h"
#include "plugin/loader.h"

static int fuzz_create(sb_plugin_handle_t *h)
{
    h->plugin_data = NULL;
    return 0;
}

static sb_plugin_result_t fuzz_message(sb_plugin_handle_t *h, const char *tr, json_t *body,
                                       json_t *jsep)
{
    (void)h;
    (void)tr;
    (void)jsep;
    return json_object_get(body, "wait") ? sb_plugin_wait()
                                          : sb_plugin_ok(json_pack("{s:s}", "fuzz", "ok"));
}

static void fuzz_destroy(sb_plugin_handle_t *h)
{
    (void)h;
}

static int fuzz_init(const sb_core_api_t *core, const char *dir)
{
    (void)core;
    (void)dir;
    return 0;
}

static const sb_plugin_t fuzz_plugin = {
    SB_PLUGIN_HEADER,
    .package = "fuzz.plugin",
    .init = fuzz_init,
    .create_handle = fuzz_create,
    .handle_message = fuzz_message,
    .destroy_handle = fuzz_destroy,
};

static uint64_t fuzz_sid, fuzz_hid;

/* One session with one handle that requests can name (the fuzzer finds "1" as a path). */
static void fuzz_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    sb_sessions_init(&(sb_sessions_config_t){.timeout_s = 0, .max_sessions = 64,
                                             .max_handles_per_session = 8,
                                             .event_queue_max = 16});
    sb_api_init(&(sb_api_config_t){.server_name = NULL});
    sb_admin_init(&(sb_admin_config_t){.admin_secret = NULL});
    sb_plugins_add(&fuzz_plugin, NULL);
    sb_session_t *s;
    sb_session_create(NULL, &s);
    fuzz_sid = sb_session_id(s);
    sb_handle_t *h;
    if (sb_handle_create(s, &fuzz_plugin, NULL, &h) == 0) {
        fuzz_hid = sb_handle_id(h);
        sb_handle_unref(h);
    }
    sb_session_unref(s);
}

static void fuzz_check(json_t *reply)
{
    if (!json_is_object(reply) || !json_is_string(json_object_get(reply, "janus")))
        abort();
    json_t *err = json_object_get(reply, "error");
    if (err && !json_is_integer(json_object_get(err, "code")))
        abort();
    json_decref(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    json_error_t jerr;
    json_t *msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg) {
        fuzz_check(sb_api_reject_body((const char *)data, size, jerr.text));
        return 0;
    }
    /* The first byte picks the path level, as the HTTP transport would. */
    unsigned level = size ? data[0] % 3 : 0;
    sb_api_request_t http = {.message = msg, .ids_from_path = true,
                             .session_id = level ? fuzz_sid : 0,
                             .handle_id = level == 2 ? fuzz_hid : 0};
    fuzz_check(sb_api_handle(&http));
    fuzz_check(sb_admin_handle(msg, http.session_id, http.handle_id));
    sb_sessions_set_accepting(true); /* an accept_new_sessions false must not stop the rest */
    /* Destroyed by a request? Recreate, so later inputs still reach a handle. */
    sb_session_t *s = sb_session_find(fuzz_sid);
    if (!s) {
        sb_session_create(NULL, &s);
        fuzz_sid = sb_session_id(s);
    }
    sb_handle_t *h = sb_session_find_handle(s, fuzz_hid);
    if (!h && sb_handle_create(s, &fuzz_plugin, NULL, &h) == 0)
        fuzz_hid = sb_handle_id(h);
    if (h)
        sb_handle_unref(h);
    json_t *ev;
    while ((ev = sb_session_take_events(s, 16)) != NULL)
        json_decref(ev);
    sb_session_unref(s);
    sb_api_request_t ws = {.message = msg};
    fuzz_check(sb_api_handle(&ws));
    json_decref(msg);
    return 0;
}
