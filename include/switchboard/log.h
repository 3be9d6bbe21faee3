/* Logging into the daemon's log, with a level and a module tag per line.
 *
 * Any thread. A line below the daemon's current level (--log-level, the Admin API's
 * set_log_level) costs one load and a compare: its arguments are not even evaluated.
 * Lines are formatted by the caller (at most 1,024 bytes each, longer ones cut) and queued
 * to the daemon's log writer; a media loop never waits on a terminal or a file, and when
 * the writer falls behind, lines are dropped and counted. */
#ifndef SWITCHBOARD_LOG_H
#define SWITCHBOARD_LOG_H

typedef enum sb_log_level {
    SB_LOG_ERROR = 0,
    SB_LOG_WARN = 1,
    SB_LOG_INFO = 2,
    SB_LOG_DEBUG = 3,
    SB_LOG_TRACE = 4,
} sb_log_level_t;

/* The daemon's level: lines of a higher level are skipped. Read-only for plugins. */
extern const int *sb_log_level;

void sb_log_write(sb_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SB_LOG(level, module, ...)                        \
    do {                                                  \
        if ((int)(level) <= *sb_log_level)                \
            sb_log_write((level), (module), __VA_ARGS__); \
    } while (0)

#define SB_ERROR(mod, ...) SB_LOG(SB_LOG_ERROR, mod, __VA_ARGS__)
#define SB_WARN(mod, ...) SB_LOG(SB_LOG_WARN, mod, __VA_ARGS__)
#define SB_INFO(mod, ...) SB_LOG(SB_LOG_INFO, mod, __VA_ARGS__)
#define SB_DEBUG(mod, ...) SB_LOG(SB_LOG_DEBUG, mod, __VA_ARGS__)
#define SB_TRACE(mod, ...) SB_LOG(SB_LOG_TRACE, mod, __VA_ARGS__)

/* Peer-scoped variant: prefixes session and handle ids. */
#define SB_LOG_PEER(level, mod, session_id, handle_id, fmt, ...)                  \
    SB_LOG(level, mod, "[%llu/%llu] " fmt, (unsigned long long)(session_id),     \
           (unsigned long long)(handle_id), ##__VA_ARGS__)

#endif
