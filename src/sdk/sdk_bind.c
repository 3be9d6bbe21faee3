/* The callback table a plugin's SDK helpers use, kept when the daemon calls the plugin's
 * entry point (SB_PLUGIN_DEFINE). */
#include "sdk/sdk_internal.h"

#include "switchboard/log.h"

const sb_core_api_t *sb_sdk_core;

void sb_sdk_bind(const sb_core_api_t *core)
{
    if (!core || core->abi_major != SB_PLUGIN_ABI_MAJOR)
        return; /* the daemon refuses this plugin: its table's layout is not ours */
    sb_sdk_core = core;
    if (SB_CORE_HAS(core, log_level) && core->log_level)
        sb_log_level = core->log_level;
}
