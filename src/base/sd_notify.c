/* The sd_notify protocol (see sd_notify.h): systemd hands a service its notification socket
 * in $NOTIFY_SOCKET, an AF_UNIX datagram socket; each datagram is a newline-separated list
 * of assignments. systemd matches the sender by its credentials (pid), so this needs no
 * handshake: connectless sendto, one datagram per call.
 *
 * Deliberately not libsystemd: the protocol is one sendto, and the daemon must not need
 * systemd to build or run. Any thread; the socket is opened and closed per call. */
#include "base/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "switchboard/error.h"

int sb_sd_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    /* A path must be absolute; '@' marks the abstract namespace, whose name starts with a
     * NUL byte and is not NUL-terminated (its length is the address length). */
    if ((name[0] != '/' && name[0] != '@') || len < 2 || len >= sizeof(addr.sun_path))
        return SB_EINVAL;
    memcpy(addr.sun_path, name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        addr_len++; /* the path's terminating NUL */

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SB_EIO;
    ssize_t sent =
        sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
    int saved = errno;
    close(fd);
    errno = saved;
    return sent == (ssize_t)strlen(state) ? 1 : SB_EIO;
}

int sb_sd_notifyf(const char *fmt, ...)
{
    char state[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(state, sizeof(state), fmt, ap);
    va_end(ap);
    return sb_sd_notify(state);
}
