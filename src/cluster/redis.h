/* One blocking connection to Redis (hiredis) with timeouts, for the one thread that owns it.
 * A command that fails on the connection (refused, reset, timed out) closes it: the owner
 * reconnects when it wants to (sb_redis_connect), so one Redis that went away never leaves
 * a half-read reply behind. Redis's own error replies (REDIS_REPLY_ERROR) are replies, not
 * connection failures. Owned by its thread; not thread-safe. */
#ifndef SB_CLUSTER_REDIS_H
#define SB_CLUSTER_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sb_redis sb_redis_t;

/* where: "host:port", "host" (port 6379), or a unix socket path ("/run/redis.sock" or
 * "unix:/run/redis.sock"). timeout_ms bounds connecting and each command. Owned. */
sb_redis_t *sb_redis_new(const char *where, unsigned timeout_ms);
void sb_redis_free(sb_redis_t *r);

/* Connects unless connected. 0, or SB_EIO with the reason in err. */
int sb_redis_connect(sb_redis_t *r, char *err, size_t err_len);
bool sb_redis_connected(const sb_redis_t *r);
void sb_redis_close(sb_redis_t *r);
/* The file descriptor while connected (pub/sub readers poll it), else -1. */
int sb_redis_fd(const sb_redis_t *r);
/* Why the last connection failed or was closed (static until the next failure). */
const char *sb_redis_error(const sb_redis_t *r);

/* One command: argv[0..argc) with lengths (NULL: NUL-terminated strings). The reply is owned
 * (freeReplyObject), NULL when the connection failed (now closed). */
redisReply *sb_redis_command(sb_redis_t *r, int argc, const char **argv, const size_t *lens);
/* printf-like, hiredis's format (%s, %b, %d...). */
redisReply *sb_redis_commandf(sb_redis_t *r, const char *fmt, ...);

/* Pub/sub: after SUBSCRIBE, the next message pushed to us, waiting at most wait_ms. 0 with
 * *reply set, SB_EAGAIN when nothing came, SB_EIO when the connection failed (closed). */
int sb_redis_next_push(sb_redis_t *r, unsigned wait_ms, redisReply **reply);

#endif
