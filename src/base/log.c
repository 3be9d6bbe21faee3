/* Logging: a bounded ring of formatted lines drained by one writer thread (see log.h).
 * Does not rotate files or talk to syslog: stderr only, a supervisor collects it. */
#include "base/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>

#define SB_LOG_RING_LINES 4096
#define SB_LOG_LINE_MAX 512

int sb_log_max_level = SB_LOG_INFO;
const int *sb_log_level = &sb_log_max_level;

static const char *const sb_log_level_names[] = {"error", "warn", "info", "debug", "trace"};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running;
    bool stopping;
    unsigned head, tail; /* head: next to write out; tail: next free slot */
    unsigned long dropped;
    char lines[SB_LOG_RING_LINES][SB_LOG_LINE_MAX];
} sb_log = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

int sb_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (!strcasecmp(name, sb_log_level_names[i]))
            return i;
    }
    if (name[0] >= '0' && name[0] <= '4' && name[1] == '\0')
        return name[0] - '0';
    return -1;
}

void sb_log_set_level(sb_log_level_t level)
{
    sb_log_max_level = (int)level;
}

static void *sb_log_writer(void *arg)
{
    (void)arg;
    char line[SB_LOG_LINE_MAX];
    pthread_mutex_lock(&sb_log.lock);
    for (;;) {
        while (sb_log.head == sb_log.tail && !sb_log.stopping)
            pthread_cond_wait(&sb_log.wake, &sb_log.lock);
        if (sb_log.head == sb_log.tail && sb_log.stopping)
            break;
        memcpy(line, sb_log.lines[sb_log.head % SB_LOG_RING_LINES], SB_LOG_LINE_MAX);
        sb_log.head++;
        pthread_mutex_unlock(&sb_log.lock);
        fputs(line, stderr);
        pthread_mutex_lock(&sb_log.lock);
    }
    pthread_mutex_unlock(&sb_log.lock);
    fflush(stderr);
    return NULL;
}

void sb_log_start(void)
{
    pthread_mutex_lock(&sb_log.lock);
    if (!sb_log.running) {
        sb_log.stopping = false;
        if (pthread_create(&sb_log.thread, NULL, sb_log_writer, NULL) == 0)
            sb_log.running = true;
    }
    pthread_mutex_unlock(&sb_log.lock);
}

void sb_log_stop(void)
{
    pthread_mutex_lock(&sb_log.lock);
    if (!sb_log.running) {
        pthread_mutex_unlock(&sb_log.lock);
        return;
    }
    sb_log.stopping = true;
    pthread_cond_signal(&sb_log.wake);
    pthread_mutex_unlock(&sb_log.lock);
    pthread_join(sb_log.thread, NULL);
    pthread_mutex_lock(&sb_log.lock);
    sb_log.running = false;
    pthread_mutex_unlock(&sb_log.lock);
}

void sb_log_write(sb_log_level_t level, const char *module, const char *fmt, ...)
{
    char line[SB_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-5s [%s] ", tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     sb_log_level_names[level <= SB_LOG_TRACE ? level : SB_LOG_TRACE],
                     module ? module : "-");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (len == sizeof(line) - 1)
        len--;
    if (len == 0 || line[len - 1] != '\n') {
        line[len] = '\n';
        line[len + 1] = '\0';
    }

    pthread_mutex_lock(&sb_log.lock);
    if (!sb_log.running) {
        pthread_mutex_unlock(&sb_log.lock);
        fputs(line, stderr);
        return;
    }
    if (sb_log.tail - sb_log.head >= SB_LOG_RING_LINES) {
        sb_log.dropped++;
        pthread_mutex_unlock(&sb_log.lock);
        return;
    }
    if (sb_log.dropped) {
        snprintf(sb_log.lines[sb_log.tail % SB_LOG_RING_LINES], SB_LOG_LINE_MAX,
                 "(%lu log lines dropped: ring full)\n", sb_log.dropped);
        sb_log.dropped = 0;
        sb_log.tail++;
        if (sb_log.tail - sb_log.head >= SB_LOG_RING_LINES) {
            pthread_mutex_unlock(&sb_log.lock);
            return;
        }
    }
    memcpy(sb_log.lines[sb_log.tail % SB_LOG_RING_LINES], line, len + 2 <= SB_LOG_LINE_MAX ? len + 2 : SB_LOG_LINE_MAX);
    sb_log.tail++;
    pthread_cond_signal(&sb_log.wake);
    pthread_mutex_unlock(&sb_log.lock);
}
