/* Logging with levels and module tags. Callers format into a bounded ring; one writer
 * thread does the I/O, so no media loop ever blocks on a terminal or a file. When the ring
 * is full, lines are dropped and counted (the count is printed with the next line).
 * Any thread. Before sb_log_start() and after sb_log_stop(), lines are written directly. */
#ifndef SB_BASE_LOG_H
#define SB_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "switchboard/log.h" /* levels, SB_LOG and sb_log_write: the part plugins share */

/* The level itself; sb_log_level points at it. */
extern int sb_log_max_level;

/* Parse "error".."trace" or "0".."4"; returns -1 when unknown. */
int sb_log_level_parse(const char *name);
void sb_log_set_level(sb_log_level_t level);
/* Start/stop the writer thread. stop() flushes every queued line. */
void sb_log_start(void);
void sb_log_stop(void);

#endif
