/* Unit tests for src/config: defaults, the file syntax, flags over the file, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "config/config.h"

static void test_defaults(void **state)
{
    (void)state;
    sb_config_t c;
    sb_config_defaults(&c);
    assert_int_equal(c.http_port, 8088);
    assert_int_equal(c.ws_port, 8188);
    assert_string_equal(c.base_path, "/janus");
    assert_int_equal(c.session_timeout_s, 60);
    assert_int_equal(c.longpoll_timeout_s, 30);
    assert_null(c.api_secret);
    sb_config_deinit(&c);
}

static void test_file_text(void **state)
{
    (void)state;
    sb_config_t c;
    char err[256] = "";
    sb_config_defaults(&c);
    int rc = sb_config_apply_text(&c,
                                  "general: { log_level = \"debug\"; session_timeout = 5;"
                                  " node_id = 42; };\n"
                                  "http: { port = 9000; base_path = \"/api\"; api_secret = \"s\";"
                                  " max_body_size = 4096; };\n"
                                  "nat: { rtp_port_range = \"20000-20100\"; ipv6 = true; };\n",
                                  err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(c.log_level, 3);
    assert_int_equal(c.session_timeout_s, 5);
    assert_int_equal(c.node_id, 42);
    assert_int_equal(c.http_port, 9000);
    assert_string_equal(c.base_path, "/api");
    assert_string_equal(c.api_secret, "s");
    assert_int_equal(c.max_body_size, 4096);
    assert_int_equal(c.rtp_port_min, 20000);
    assert_int_equal(c.rtp_port_max, 20100);
    assert_true(c.ipv6);
    sb_config_deinit(&c);
}

static void expect_text_error(const char *text, const char *needle)
{
    sb_config_t c;
    char err[256] = "";
    sb_config_defaults(&c);
    assert_int_equal(sb_config_apply_text(&c, text, err, sizeof(err)), SB_EINVAL);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    assert_int_equal(c.http_port, 8088); /* defaults untouched where the file failed */
    sb_config_deinit(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_text_error("http: { port = 70000; };", "http.port");
    expect_text_error("http: { prot = 80; };", "unknown setting 'http.prot'");
    expect_text_error("http: { port = \"80\"; };", "http.port");
    expect_text_error("http: { port = 80 ", "<text>:1");
    expect_text_error("general: { node_id = 256; };", "general.node_id");
    expect_text_error("nat: { rtp_port_range = \"40000-20000\"; };", "rtp_port_range");
    expect_text_error("general: { log_level = \"loud\"; };", "log_level");
    expect_text_error("port = 80;", "must be a group");
}

static void test_flags_override_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sb-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "http: { port = 9000; cors_origin = \"https://a.example\"; };\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"switchboard", "-p", "9100", "--config", path, "--session-timeout", "7",
                    NULL};
    sb_config_t c;
    char err[256] = "";
    int rc = sb_config_load(&c, 7, argv, err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, 0);
    assert_int_equal(c.http_port, 9100); /* flag beats file, whatever the order */
    assert_string_equal(c.cors_origin, "https://a.example");
    assert_int_equal(c.session_timeout_s, 7);
    assert_string_equal(c.loaded_file, path);
    sb_config_deinit(&c);
}

static void test_flag_errors(void **state)
{
    (void)state;
    sb_config_t c;
    char err[256];
    char *bad_value[] = {"switchboard", "--port", "abc", NULL};
    assert_int_equal(sb_config_load(&c, 3, bad_value, err, sizeof(err)), SB_EINVAL);
    assert_non_null(strstr(err, "abc"));
    sb_config_deinit(&c);
    char *unknown[] = {"switchboard", "--frobnicate", NULL};
    assert_int_equal(sb_config_load(&c, 2, unknown, err, sizeof(err)), SB_EINVAL);
    sb_config_deinit(&c);
    char *missing_file[] = {"switchboard", "-C", "/nonexistent/sb.conf", NULL};
    assert_int_equal(sb_config_load(&c, 3, missing_file, err, sizeof(err)), SB_EINVAL);
    assert_non_null(strstr(err, "cannot read"));
    sb_config_deinit(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_text),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_flag_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
