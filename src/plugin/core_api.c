/* The callback table plugins get at init (see plugin.h): thin bridges onto handles. */
#include "cluster/cluster.h"
#include "cluster/messages.h"
#include "cluster/rooms.h"
#include "switchboard/error.h"
#include "base/log.h"
#include <stdatomic.h>

#include "switchboard/alloc.h"
#include "loop/loop.h"
#include "loop/pktbuf.h"
#include "peer/events.h"
#include "peer/peer.h"
#include "session/handle.h"
#include "session/handle_media.h"
#include "session/session.h"
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
    sb_handle_media_hangup(sb_handle_from_plugin(ph), "Close PC");
}

static void sb_core_end_handle(sb_plugin_handle_t *ph)
{
    sb_handle_detach(sb_handle_from_plugin(ph), true);
}

static bool sb_core_handle_alive(sb_plugin_handle_t *ph)
{
    return !sb_handle_is_detached(sb_handle_from_plugin(ph));
}

static int sb_core_answer_offer(sb_plugin_handle_t *ph, json_t *offer,
                                const sb_answer_opts_t *opts, json_t **answer, char *reason,
                                size_t reason_len)
{
    return sb_handle_media_answer(sb_handle_from_plugin(ph), offer, opts, answer, reason,
                                  reason_len);
}

static int sb_core_make_offer(sb_plugin_handle_t *ph, const sb_offer_stream_t *streams,
                              unsigned n, int loop, json_t **offer, char *reason,
                              size_t reason_len)
{
    return sb_handle_media_offer(sb_handle_from_plugin(ph), streams, n, loop, offer, reason,
                                 reason_len);
}

static void sb_core_request_ice_restart(sb_plugin_handle_t *ph)
{
    sb_handle_media_request_ice_restart(sb_handle_from_plugin(ph));
}

static int sb_core_process_answer(sb_plugin_handle_t *ph, json_t *answer, char *reason,
                                  size_t reason_len)
{
    return sb_handle_media_process_answer(sb_handle_from_plugin(ph), answer, reason,
                                          reason_len);
}

static unsigned sb_core_streams(sb_plugin_handle_t *ph, sb_media_stream_t *out, unsigned max)
{
    return sb_handle_media_streams(sb_handle_from_plugin(ph), out, max);
}

static int sb_core_loop_index(sb_plugin_handle_t *ph)
{
    return sb_handle_media_loop_index(sb_handle_from_plugin(ph));
}

static int sb_core_loop_post(int loop, sb_loop_fn_t fn, void *arg)
{
    unsigned count = sb_loops_count();
    if (loop < 0 || !count)
        return SB_EINVAL;
    return sb_loop_post(sb_loop_get((unsigned)loop % count), fn, arg);
}

static unsigned sb_core_loop_count(void)
{
    return sb_loops_count();
}

static int sb_core_loop_pick(void)
{
    return sb_loops_count() ? (int)sb_loop_index(sb_loop_pick()) : -1;
}

static unsigned sb_core_loop_load(int loop)
{
    if (loop < 0 || (unsigned)loop >= sb_loops_count())
        return 0;
    return sb_loop_bound_count(sb_loop_get((unsigned)loop));
}

static int sb_core_loop_call_sync(int loop, sb_loop_fn_t fn, void *arg)
{
    if (loop < 0 || (unsigned)loop >= sb_loops_count() || !fn)
        return SB_EINVAL;
    return sb_loop_call_sync(sb_loop_get((unsigned)loop), fn, arg);
}

static void sb_core_log_line(int level, const char *module, const char *line)
{
    if (level < SB_LOG_ERROR)
        level = SB_LOG_ERROR;
    sb_log_write((sb_log_level_t)level, module, "%s", line ? line : "");
}

/* Media callbacks run on the handle's loop, where its peer pointer is stable; a call from
 * any other thread is refused rather than racing the loop. */
static sb_peer_t *sb_core_loop_peer(sb_plugin_handle_t *ph)
{
    sb_peer_t *p = sb_handle_media_peer(sb_handle_from_plugin(ph));
    if (p && !sb_loop_is_current(sb_peer_loop(p))) {
        /* A plugin bug, possibly once per packet: say it once, not per call. */
        static atomic_bool warned;
        if (!atomic_exchange(&warned, true))
            SB_WARN("plugin", "media call for handle %llu off its media loop: ignored "
                              "(reported once)", (unsigned long long)ph->handle_id);
        return NULL;
    }
    return p;
}

static int sb_core_send_rtp(sb_plugin_handle_t *ph, unsigned stream, const uint8_t *data,
                            size_t len)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    return p ? sb_peer_send_rtp(p, stream, data, len) : SB_ESTATE;
}

static int sb_core_forward_rtp(sb_plugin_handle_t *ph, unsigned stream, uint8_t *buf,
                               size_t len, size_t cap, const sb_rtp_packet_t *src)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    return p ? sb_peer_forward_rtp(p, stream, buf, len, cap, src) : SB_ESTATE;
}

static sb_rtp_packet_t *sb_core_packet_retain(const sb_rtp_packet_t *pkt)
{
    if (!pkt || !pkt->core_buf)
        return NULL;
    sb_rtp_packet_t *copy = sb_malloc(sizeof(*copy));
    *copy = *pkt;
    copy->stream = NULL;
    sb_pktbuf_ref(pkt->core_buf);
    return copy;
}

static void sb_core_packet_release(sb_rtp_packet_t *pkt)
{
    if (!pkt)
        return;
    sb_pktbuf_unref(pkt->core_buf);
    sb_free(pkt);
}

static void sb_core_request_keyframe(sb_plugin_handle_t *ph, unsigned stream, unsigned layer)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    if (p)
        sb_peer_request_keyframe(p, stream, layer);
}

static void sb_core_request_first_keyframe(sb_plugin_handle_t *ph, unsigned stream,
                                           unsigned layer)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    if (p)
        sb_peer_request_first_keyframe(p, stream, layer);
}

static void sb_core_send_remb(sb_plugin_handle_t *ph, uint32_t bitrate_bps)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    if (p)
        sb_peer_send_remb(p, bitrate_bps);
}

static int sb_core_send_data(sb_plugin_handle_t *ph, const sb_data_message_t *msg)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    return p ? sb_peer_send_data(p, msg) : SB_ESTATE;
}

static int sb_core_close_data(sb_plugin_handle_t *ph, const char *label)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    return p ? sb_peer_close_data(p, label) : SB_ESTATE;
}

static void sb_core_want_bitrate(sb_plugin_handle_t *ph, uint32_t bitrate_bps)
{
    sb_peer_t *p = sb_core_loop_peer(ph);
    if (p)
        sb_peer_want_bitrate(p, bitrate_bps);
}

static bool sb_core_events_wanted(void)
{
    return sb_events_wanted(SB_EV_PLUGIN);
}

static void sb_core_notify_event(const char *package, sb_plugin_handle_t *ph, json_t *data)
{
    if (!sb_events_wanted(SB_EV_PLUGIN) || !package || !data)
        return;
    json_t *body = json_pack("{s:s, s:O}", "plugin", package, "data", data);
    if (ph)
        sb_handle_emit(sb_handle_from_plugin(ph), SB_EV_PLUGIN, 0, body);
    else
        sb_events_emit(SB_EV_PLUGIN, 0, 0, 0, NULL, body);
}

static int sb_core_cluster_node(void)
{
    return sb_cluster_enabled() ? (int)sb_cluster_node_id() : -1;
}

static int sb_core_handle_new_internal(const char *package, sb_plugin_handle_t **out)
{
    const sb_plugin_t *p = package ? sb_plugins_find(package) : NULL;
    if (!p)
        return SB_ENOENT;
    sb_session_t *s = sb_sessions_internal();
    if (!s)
        return SB_ESTATE;
    sb_handle_t *h;
    int rc = sb_handle_create(s, p, "internal", &h);
    sb_session_unref(s);
    if (rc < 0)
        return rc;
    *out = sb_handle_plugin_handle(h);
    sb_handle_unref(h); /* the session holds it until it is detached */
    return 0;
}

static const sb_core_api_t sb_core_api_table = {
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .size = sizeof(sb_core_api_t),
    .push_event = sb_core_push_event,
    .handle_ref = sb_core_handle_ref,
    .handle_unref = sb_core_handle_unref,
    .close_pc = sb_core_close_pc,
    .end_handle = sb_core_end_handle,
    .handle_alive = sb_core_handle_alive,
    .answer_offer = sb_core_answer_offer,
    .make_offer = sb_core_make_offer,
    .request_ice_restart = sb_core_request_ice_restart,
    .process_answer = sb_core_process_answer,
    .streams = sb_core_streams,
    .loop_index = sb_core_loop_index,
    .loop_post = sb_core_loop_post,
    .send_rtp = sb_core_send_rtp,
    .forward_rtp = sb_core_forward_rtp,
    .packet_retain = sb_core_packet_retain,
    .packet_release = sb_core_packet_release,
    .request_keyframe = sb_core_request_keyframe,
    .send_remb = sb_core_send_remb,
    .send_data = sb_core_send_data,
    .close_data = sb_core_close_data,
    .want_bitrate = sb_core_want_bitrate,
    .events_wanted = sb_core_events_wanted,
    .notify_event = sb_core_notify_event,
    .loop_count = sb_core_loop_count,
    .loop_pick = sb_core_loop_pick,
    .loop_load = sb_core_loop_load,
    .loop_call_sync = sb_core_loop_call_sync,
    .log_level = &sb_log_max_level,
    .log_line = sb_core_log_line,
    .request_first_keyframe = sb_core_request_first_keyframe,
    .cluster_node = sb_core_cluster_node,
    .cluster_node_alive = sb_cluster_node_alive,
    .dir_room_create = sb_rooms_create,
    .dir_room_get = sb_rooms_get,
    .dir_room_update = sb_rooms_update,
    .dir_room_remove = sb_rooms_remove,
    .dir_rooms = sb_rooms_list,
    .dir_member_set = sb_rooms_member_set,
    .dir_member_remove = sb_rooms_member_remove,
    .dir_members = sb_rooms_members,
    .handle_new_internal = sb_core_handle_new_internal,
    .cluster_send = sb_cluster_send,
};

/* A plugin linked into the daemon (the fuzz targets' echotest) already shares the core's
 * log and needs nothing kept: the SDK's own sb_sdk_bind (src/sdk) is for shared objects. */
void sb_sdk_bind(const sb_core_api_t *core)
{
    (void)core;
}

const sb_core_api_t *sb_core_api(void)
{
    return &sb_core_api_table;
}
