/* One blocking Redis connection (see redis.h). */
#include "cluster/redis.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"

#define SB_REDIS_DEFAULT_PORT 6379

/* Owned by its thread. */
struct sb_redis {
    char *host; /* or the unix socket path */
    int port;   /* 0: unix socket */
    struct timeval timeout;
    redisContext *c; /* NULL while disconnected */
    char error[128];
};

sb_redis_t *sb_redis_new(const char *where, unsigned timeout_ms)
{
    sb_redis_t *r = SB_NEW(sb_redis_t);
    r->timeout.tv_sec = timeout_ms / 1000;
    r->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    if (!strncmp(where, "unix:", 5) || where[0] == '/') {
        r->host = sb_strdup(where[0] == '/' ? where : where + 5);
        return r;
    }
    r->host = sb_strdup(where);
    r->port = SB_REDIS_DEFAULT_PORT;
    char *colon = strrchr(r->host, ':');
    if (colon && !strchr(colon + 1, ']') && strchr(r->host, ':') == colon) {
        *colon = '\0';
        r->port = atoi(colon + 1);
    }
    return r;
}

void sb_redis_close(sb_redis_t *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

void sb_redis_free(sb_redis_t *r)
{
    if (!r)
        return;
    sb_redis_close(r);
    sb_free(r->host);
    sb_free(r);
}

bool sb_redis_connected(const sb_redis_t *r)
{
    return r->c != NULL;
}

int sb_redis_fd(const sb_redis_t *r)
{
    return r->c ? r->c->fd : -1;
}

const char *sb_redis_error(const sb_redis_t *r)
{
    return r->error;
}

/* The connection failed: remember why, close it. */
static void sb_redis_fail(sb_redis_t *r)
{
    if (r->c)
        snprintf(r->error, sizeof(r->error), "%s", r->c->errstr[0] ? r->c->errstr : "I/O error");
    sb_redis_close(r);
}

int sb_redis_connect(sb_redis_t *r, char *err, size_t err_len)
{
    if (r->c)
        return 0;
    r->c = r->port ? redisConnectWithTimeout(r->host, r->port, r->timeout)
                   : redisConnectUnixWithTimeout(r->host, r->timeout);
    if (!r->c || r->c->err || redisSetTimeout(r->c, r->timeout) != REDIS_OK) {
        if (!r->c)
            snprintf(r->error, sizeof(r->error), "out of memory");
        else
            sb_redis_fail(r);
        sb_redis_close(r);
        if (err)
            snprintf(err, err_len, "%s%s%.0d: %s", r->host, r->port ? ":" : "", r->port, r->error);
        return SB_EIO;
    }
    if (r->port)
        redisEnableKeepAlive(r->c);
    return 0;
}

redisReply *sb_redis_command(sb_redis_t *r, int argc, const char **argv, const size_t *lens)
{
    if (!r->c)
        return NULL;
    redisReply *reply = redisCommandArgv(r->c, argc, argv, lens);
    if (!reply)
        sb_redis_fail(r);
    return reply;
}

redisReply *sb_redis_commandf(sb_redis_t *r, const char *fmt, ...)
{
    if (!r->c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(r->c, fmt, ap);
    va_end(ap);
    if (!reply)
        sb_redis_fail(r);
    return reply;
}

int sb_redis_next_push(sb_redis_t *r, unsigned wait_ms, redisReply **reply)
{
    *reply = NULL;
    if (!r->c)
        return SB_EIO;
    void *got = NULL;
    /* What an earlier read already buffered first, then the socket. */
    if (redisGetReplyFromReader(r->c, &got) != REDIS_OK) {
        sb_redis_fail(r);
        return SB_EIO;
    }
    if (!got) {
        struct pollfd p = {.fd = r->c->fd, .events = POLLIN};
        int n = poll(&p, 1, (int)wait_ms);
        if (n < 0 && errno == EINTR)
            return SB_EAGAIN;
        if (n == 0)
            return SB_EAGAIN;
        if (n < 0 || redisBufferRead(r->c) != REDIS_OK ||
            redisGetReplyFromReader(r->c, &got) != REDIS_OK) {
            sb_redis_fail(r);
            return SB_EIO;
        }
        if (!got)
            return SB_EAGAIN; /* part of a reply */
    }
    *reply = got;
    return 0;
}
