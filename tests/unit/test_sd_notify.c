/* Unit tests for src/base/sd_notify: the datagram that reaches a socket bound where
 * $NOTIFY_SOCKET says (a path, an abstract name), the no-op without it, bad names refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "switchboard/error.h"
#include "base/sd_notify.h"

/* A datagram socket bound to name (a path, or "@abstract"), as systemd binds its own. */
static int bind_notify_socket(const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    assert_true(len < sizeof(addr.sun_path));
    memcpy(addr.sun_path, name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        addr_len++;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, addr_len), 0);
    return fd;
}

/* The next datagram, NUL-terminated; fails the test if none is waiting. */
static void recv_state(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);
    assert_true(n >= 0);
    buf[n] = '\0';
}

static void test_unset_is_a_noop(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sb_sd_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(sb_sd_notifyf("STATUS=%d", 1), 0);
    unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb_sd_notify_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = bind_notify_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);

    char buf[2048];
    assert_int_equal(sb_sd_notify("READY=1"), 1);
    recv_state(fd, buf, sizeof(buf));
    assert_string_equal(buf, "READY=1");
    assert_int_equal(sb_sd_notify("STOPPING=1\nSTATUS=draining"), 1);
    recv_state(fd, buf, sizeof(buf));
    assert_string_equal(buf, "STOPPING=1\nSTATUS=draining");
    assert_int_equal(sb_sd_notifyf("STATUS=%u sessions, %s", 3u, "draining"), 1);
    recv_state(fd, buf, sizeof(buf));
    assert_string_equal(buf, "STATUS=3 sessions, draining");
    /* One datagram per call: nothing else waits. */
    assert_true(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);

    /* Nobody bound any more: the send fails, and says so. */
    close(fd);
    unlink(path);
    assert_int_equal(sb_sd_notify("READY=1"), SB_EIO);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@sb-sd-notify-test-%ld", (long)getpid());
    int fd = bind_notify_socket(name);
    setenv("NOTIFY_SOCKET", name, 1);
    char buf[2048];
    assert_int_equal(sb_sd_notify("READY=1"), 1);
    recv_state(fd, buf, sizeof(buf));
    assert_string_equal(buf, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void test_bad_names_refused(void **state)
{
    (void)state;
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    assert_int_equal(sb_sd_notify("READY=1"), SB_EINVAL);
    setenv("NOTIFY_SOCKET", "@", 1);
    assert_int_equal(sb_sd_notify("READY=1"), SB_EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(sb_sd_notify("READY=1"), SB_EINVAL);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_is_a_noop),
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_bad_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
