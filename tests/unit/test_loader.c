/* Unit tests for src/plugin/loader.c: the plugin ABI's version rules. A descriptor of another
 * major (ABI 7's abi_version sits where abi_major is) or smaller than ABI 8.0's is refused; any
 * minor of the major is taken, a larger descriptor (a later minor) read only up to the
 * daemon's size; the table handed to init carries the daemon's version and size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "plugin/loader.h"
#include "switchboard/error.h"

static const sb_core_api_t *seen_core;

static int t_init(const sb_core_api_t *core, const char *dir)
{
    (void)dir;
    seen_core = core;
    return 0;
}

static int t_create(sb_plugin_handle_t *h)
{
    (void)h;
    return 0;
}

static sb_plugin_result_t t_message(sb_plugin_handle_t *h, const char *tr, json_t *body,
                                    json_t *jsep)
{
    (void)h, (void)tr, (void)body, (void)jsep;
    return sb_plugin_wait();
}

static void t_destroy(sb_plugin_handle_t *h)
{
    (void)h;
}

static sb_plugin_t descriptor(const char *package)
{
    return (sb_plugin_t){SB_PLUGIN_HEADER, .package = package, .init = t_init,
                         .create_handle = t_create, .handle_message = t_message,
                         .destroy_handle = t_destroy};
}

static void other_major_refused(void **state)
{
    (void)state;
    sb_plugin_t old = descriptor("test.old");
    old.abi_major = 7; /* an ABI 7 plugin: its abi_version field */
    assert_int_equal(sb_plugins_add(&old, NULL), SB_ENOTSUP);
    sb_plugin_t next = descriptor("test.next");
    next.abi_major = SB_PLUGIN_ABI_MAJOR + 1;
    assert_int_equal(sb_plugins_add(&next, NULL), SB_ENOTSUP);
    assert_null(sb_plugins_find("test.old"));
    assert_null(sb_plugins_find("test.next"));
}

static void truncated_descriptor_refused(void **state)
{
    (void)state;
    sb_plugin_t small = descriptor("test.small");
    small.size = offsetof(sb_plugin_t, reload); /* smaller than 8.0's */
    assert_int_equal(sb_plugins_add(&small, NULL), SB_ENOTSUP);
    assert_null(sb_plugins_find("test.small"));
}

/* A plugin of a later minor: its descriptor has ops this daemon does not know. */
typedef struct later_plugin {
    sb_plugin_t base;
    void (*op_of_a_later_minor)(void);
} later_plugin_t;

static void later_minor_taken(void **state)
{
    (void)state;
    later_plugin_t later = {.base = descriptor("test.later")};
    later.base.abi_minor = SB_PLUGIN_ABI_MINOR + 3;
    later.base.size = sizeof(later);
    later.op_of_a_later_minor = (void (*)(void))0x1;
    seen_core = NULL;
    assert_int_equal(sb_plugins_add(&later.base, NULL), 0);
    const sb_plugin_t *p = sb_plugins_find("test.later");
    assert_non_null(p);
    assert_ptr_equal(p->handle_message, t_message);
    assert_ptr_not_equal(p, &later.base); /* the daemon's own copy, at its own size */
    assert_non_null(seen_core);
    assert_int_equal(seen_core->abi_major, SB_PLUGIN_ABI_MAJOR);
    assert_int_equal(seen_core->abi_minor, SB_PLUGIN_ABI_MINOR);
    assert_int_equal(seen_core->size, sizeof(sb_core_api_t));
    assert_true(SB_CORE_HAS(seen_core, log_line));
    assert_true(SB_CORE_HAS(seen_core, loop_call_sync));
}

static void mandatory_ops_and_names(void **state)
{
    (void)state;
    sb_plugin_t no_create = descriptor("test.nocreate");
    no_create.create_handle = NULL;
    assert_int_equal(sb_plugins_add(&no_create, NULL), SB_EINVAL);
    sb_plugin_t first = descriptor("test.twice");
    sb_plugin_t second = descriptor("test.twice");
    assert_int_equal(sb_plugins_add(&first, NULL), 0);
    assert_int_equal(sb_plugins_add(&second, NULL), SB_EEXIST);
}

/* The table a plugin gets: an op past the table's size reads as absent. */
static void core_has_checks_size(void **state)
{
    (void)state;
    sb_core_api_t t = *sb_core_api();
    assert_true(SB_CORE_HAS(&t, loop_count));
    t.size = offsetof(sb_core_api_t, loop_count);
    assert_false(SB_CORE_HAS(&t, loop_count));
    assert_true(SB_CORE_HAS(&t, push_event));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_major_refused),
        cmocka_unit_test(truncated_descriptor_refused),
        cmocka_unit_test(later_minor_taken),
        cmocka_unit_test(mandatory_ops_and_names),
        cmocka_unit_test(core_has_checks_size),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sb_plugins_unload();
    return rc;
}
