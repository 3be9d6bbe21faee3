/* Logging with levels and module tags. Callers format into a bounded ring; one writer
 * thread does the I/O, so no media loop ever blocks on a terminal or a file. When the ring
 * is full, lines are dropped and counted (the count is printed with the next line).
 * Any thread. Before sb_log_start() and after sb_log_stop(), lines are written directly. */
#ifndef SB_BASE_LOG_H
#define SB_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum sb_log_level {
    SB_LOG_ERROR = 0,
    SB_LOG_WARN = 1,
    SB_LOG_INFO = 2,
    SB_LOG_DEBUG = 3,
    SB_LOG_TRACE = 4,
} sb_log_level_t;

extern int sb_log_max_level;

/* Parse "error".."trace" or "0".."4"; returns -1 when unknown. */
int sb_log_level_parse(const char *name);
void sb_log_set_level(sb_log_level_t level);
/* Start/stop the writer thread. stop() flushes every queued line. */
void sb_log_start(void);
void sb_log_stop(void);

void sb_log_write(sb_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SB_LOG(level, module, ...)                   \
    do {                                             \
        if ((int)(level) <= sb_log_max_level)        \
            sb_log_write((level), (module), __VA_ARGS__); \
    } while (0)

#define SB_ERROR(mod, ...) SB_LOG(SB_LOG_ERROR, mod, __VA_ARGS__)
#define SB_WARN(mod, ...) SB_LOG(SB_LOG_WARN, mod, __VA_ARGS__)
#define SB_INFO(mod, ...) SB_LOG(SB_LOG_INFO, mod, __VA_ARGS__)
#define SB_DEBUG(mod, ...) SB_LOG(SB_LOG_DEBUG, mod, __VA_ARGS__)
#define SB_TRACE(mod, ...) SB_LOG(SB_LOG_TRACE, mod, __VA_ARGS__)

/* Peer-scoped variant: prefixes session and handle ids. */
#define SB_LOG_PEER(level, mod, session_id, handle_id, fmt, ...)                            \
    SB_LOG(level, mod, "[%llu/%llu] " fmt, (unsigned long long)(session_id),               \
           (unsigned long long)(handle_id), ##__VA_ARGS__)

#endif
