/* Service readiness for systemd's Type=notify (sd_notify(3)), without libsystemd: one
 * datagram of "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET. The daemon
 * sends "READY=1" once every transport listens, "STOPPING=1" when it starts to shut down, and
 * "STATUS=..." lines that `systemctl status` shows.
 *
 * No state: each call opens, sends on and closes its own socket, so any thread may call it;
 * it is meant for the few state changes of a process's life, not for anything frequent.
 * Not done: the watchdog (WATCHDOG=1), file descriptor store, and unsetting the variable. */
#ifndef SB_BASE_SD_NOTIFY_H
#define SB_BASE_SD_NOTIFY_H

/* Sends state (e.g. "READY=1", or several lines "READY=1\nSTATUS=serving") to the socket
 * named by $NOTIFY_SOCKET: a path, or an abstract name when it starts with '@'.
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset or empty (not run by systemd: nothing
 * to do), SB_EINVAL for a name that is neither absolute nor abstract or does not fit a
 * socket address, SB_EIO when the send fails (errno tells why). */
int sb_sd_notify(const char *state);

/* The same with a printf format, for "STATUS=%u sessions"-style lines. The state is cut at
 * 1 KiB. */
int sb_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
