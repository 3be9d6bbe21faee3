/* Clocks: monotonic for timers and intervals, wall clock for NTP timestamps. Any thread. */
#ifndef SWITCHBOARD_TIME_H
#define SWITCHBOARD_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t sb_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t sb_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
