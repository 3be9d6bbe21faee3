/* The SDK's side of switchboard/log.h, linked into plugins: lines go to the daemon's log
 * through the callback table it handed sb_plugin_get (see sdk_bind.c). Before that, and in
 * a plugin whose daemon is gone, nothing is written: the level reads -1. */
#include "switchboard/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "sdk/sdk_internal.h"

#define SB_SDK_LOG_LINE_MAX 1024

static const int sb_sdk_log_off = -1;
const int *sb_log_level = &sb_sdk_log_off;

void sb_log_write(sb_log_level_t level, const char *module, const char *fmt, ...)
{
    const sb_core_api_t *core = sb_sdk_core;
    if (!core || !core->log_line)
        return;
    char line[SB_SDK_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    core->log_line((int)level, module, line);
}
