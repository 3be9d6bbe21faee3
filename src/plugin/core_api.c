/* The callback table plugins get at init (see plugin.h): thin bridges onto handles. */
#include "base/error.h"
#include "peer/handle.h"
#include "plugin/loader.h"

static int sb_core_push_event(sb_plugin_handle_t *ph, const char *transaction, json_t *data,
                              json_t *jsep)
{
    if (!ph)
        return SB_EINVAL;
    return sb_handle_push_event(sb_handle_from_plugin(ph), transaction, data, jsep);
}

static void sb_core_handle_ref(sb_plugin_handle_t *ph)
{
    sb_handle_ref(sb_handle_from_plugin(ph));
}

static void sb_core_handle_unref(sb_plugin_handle_t *ph)
{
    sb_handle_unref(sb_handle_from_plugin(ph));
}

static void sb_core_close_pc(sb_plugin_handle_t *ph)
{
    (void)ph; /* no PeerConnection yet in this build: nothing to close */
}

static void sb_core_end_handle(sb_plugin_handle_t *ph)
{
    sb_handle_detach(sb_handle_from_plugin(ph), true);
}

static bool sb_core_handle_alive(sb_plugin_handle_t *ph)
{
    return !sb_handle_is_detached(sb_handle_from_plugin(ph));
}

static const sb_core_api_t sb_core_api_table = {
    .push_event = sb_core_push_event,
    .handle_ref = sb_core_handle_ref,
    .handle_unref = sb_core_handle_unref,
    .close_pc = sb_core_close_pc,
    .end_handle = sb_core_end_handle,
    .handle_alive = sb_core_handle_alive,
};

const sb_core_api_t *sb_core_api(void)
{
    return &sb_core_api_table;
}
