/* Unit tests for src/sdk/params.c (switchboard/params.h): declared parameter checks and the
 * exact error texts clients see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "switchboard/params.h"

static const sb_param_t spec[] = {
    {"room", SB_PARAM_STRING_OR_UINT, true, 0},
    {"display", SB_PARAM_STRING, false, 8},
    {"audio", SB_PARAM_BOOL, false, 0},
    {"bitrate", SB_PARAM_UINT, false, 0},
    {"offset", SB_PARAM_INT, false, 0},
    {"streams", SB_PARAM_ARRAY, false, 0},
    {"meta", SB_PARAM_OBJECT, false, 0},
};
#define NSPEC (sizeof(spec) / sizeof(spec[0]))

static int check(const char *json, char *err, size_t len)
{
    json_t *o = json_loads(json, 0, NULL);
    assert_non_null(o);
    err[0] = '\0';
    int rc = sb_params_check(o, spec, NSPEC, err, len);
    json_decref(o);
    return rc;
}

static void accepts_what_the_spec_says(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(check("{\"room\":1234}", err, sizeof(err)), 0);
    assert_int_equal(check("{\"room\":\"abc\",\"display\":\"12345678\",\"audio\":false,"
                           "\"bitrate\":0,\"offset\":-5,\"streams\":[],\"meta\":{}}",
                           err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
}

static void missing_and_wrong_types(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(check("{}", err, sizeof(err)), SB_ENOENT);
    assert_string_equal(err, "Missing mandatory element (room)");
    assert_int_equal(check("{\"room\":-1}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (room should be a string or a positive integer)");
    assert_int_equal(check("{\"room\":1,\"audio\":1}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (audio should be a boolean)");
    assert_int_equal(check("{\"room\":1,\"bitrate\":-1}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (bitrate should be a positive integer)");
    assert_int_equal(check("{\"room\":1,\"offset\":1.5}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (offset should be an integer)");
    assert_int_equal(check("{\"room\":1,\"streams\":{}}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (streams should be an array)");
    assert_int_equal(check("{\"room\":1,\"meta\":[]}", err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element type (meta should be an object)");
}

static void string_lengths(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(check("{\"room\":1,\"display\":\"123456789\"}", err, sizeof(err)),
                     SB_EINVAL);
    assert_string_equal(err, "Invalid element (display longer than 8 bytes)");
    char big[1100 + 16];
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"room\":\"", 9);
    strcpy(big + 9 + 1025, "\"}");
    assert_int_equal(check(big, err, sizeof(err)), SB_EINVAL);
    assert_string_equal(err, "Invalid element (room longer than 1024 bytes)");
}

/* The first failure in the list's order is the one reported; a small buffer is cut, not
 * overrun. */
static void order_and_small_buffers(void **state)
{
    (void)state;
    char err[16];
    assert_int_equal(check("{\"audio\":1}", err, sizeof(err)), SB_ENOENT);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(strncmp(err, "Missing mandato", 15), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_what_the_spec_says),
        cmocka_unit_test(missing_and_wrong_types),
        cmocka_unit_test(string_lengths),
        cmocka_unit_test(order_and_small_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
