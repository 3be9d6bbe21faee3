/* Scenarios: who joins which room, in which order, and the per-handle state machines that
 * speak the VideoRoom and EchoTest protocols as janus.js applications do.
 *
 *  - publisher: attach videoroom, join {ptype: publisher}, on "joined" create the peer and send
 *    publish + offer, apply the answer of "configured", wait for webrtcup. In mesh rooms every
 *    feed announced by "joined" or a "publishers" event gets a subscriber handle on the same
 *    session, one handle per feed (as the janus.js VideoRoom demo does).
 *  - subscriber: attach videoroom, join {ptype: subscriber, streams: [{feed}]}, answer the offer
 *    of "attached" with start + answer, wait for webrtcup.
 *  - echo: attach echotest, send {audio, video} + offer, apply the answer, wait for webrtcup.
 *  - game (data only): publishers as above with an offer holding only m=application; once
 *    every other person of the room has published, one subscriber handle joins with
 *    streams [{feed, mid}] of all of their data m-lines (one m=application in the server's
 *    offer, as the multistream API gives it). echo-data: echo with a data-only offer.
 * Each participant (a "person") has its own session and long-poll, like a browser tab.
 * Rooms are created first from a control session, with room for every publisher.
 *
 * Control thread only. */
#include <string.h>

#include "switchboard/alloc.h"
#include "base/log.h"
#include "bench/loadgen/lg.h"

#define LG_MAX_REASONS 16

typedef enum lg_pc_kind { LG_PC_PUB, LG_PC_SUB, LG_PC_ECHO } lg_pc_kind_t;
typedef enum lg_pc_state {
    LG_PC_ATTACHING,
    LG_PC_JOINING,
    LG_PC_NEGOTIATING,
    LG_PC_UP,
    LG_PC_FAILED,
} lg_pc_state_t;

typedef struct lg_part lg_part_t;

/* One handle with a PeerConnection. Owned by its participant. */
typedef struct lg_pc {
    lg_part_t *part;
    lg_pc_kind_t kind;
    lg_pc_state_t state;
    lg_handle_t *h;
    lg_peer_t *peer;
    uint64_t feed; /* publisher: our id in the room; subscriber: the feed we receive */
    uint32_t tag;
    int64_t t_sdp_us;
} lg_pc_t;

typedef struct lg_room {
    uint64_t id;
    bool ready;
    uint64_t fanout_feed; /* fanout: the publisher's id once it is up */
} lg_room_t;

/* One person: a session, a publisher (or echo) handle, subscriber handles. */
struct lg_part {
    unsigned room, index;
    bool publishes;
    lg_session_t *s;
    lg_pc_t *main;     /* publisher or echo; NULL for a fanout subscriber */
    GPtrArray *subs;   /* lg_pc_t*, owned */
    GHashTable *feeds; /* feed ids we subscribe to (set of uint64 keys, owned) */
    json_t *game_streams; /* game: [{feed, mid}] of the others' data, until the subscriber */
};

static struct {
    lg_room_t *rooms;
    unsigned nrooms;
    lg_part_t *parts;
    unsigned nparts, next_part;
    int64_t next_join_us, last_change_us;
    unsigned planned, up, failed, next_tag, next_loop;
    lg_session_t *ctrl;
    lg_handle_t *ctrl_h;
    unsigned rooms_ready, rooms_failed;
    GArray *join_ms, *ice_ms, *dtls_ms;
    struct {
        char *text;
        unsigned count;
    } reasons[LG_MAX_REASONS];
    unsigned nreasons;
    unsigned teardown_pending;
    int teardown_phase;
} S;

static bool lg_videoroom(void)
{
    return lg_cfg.scenario != LG_SCEN_ECHO && lg_cfg.scenario != LG_SCEN_ECHO_DATA;
}

static bool lg_echo(void)
{
    return !lg_videoroom();
}

/* ---- bookkeeping ---- */

static void lg_reason(const char *text)
{
    for (unsigned i = 0; i < S.nreasons; i++) {
        if (!strcmp(S.reasons[i].text, text)) {
            S.reasons[i].count++;
            return;
        }
    }
    if (S.nreasons < LG_MAX_REASONS) {
        S.reasons[S.nreasons].text = sb_strdup(text);
        S.reasons[S.nreasons++].count = 1;
    }
}

static void lg_pc_fail(lg_pc_t *pc, const char *why)
{
    if (pc->state == LG_PC_FAILED)
        return;
    if (pc->state == LG_PC_UP)
        S.up--;
    pc->state = LG_PC_FAILED;
    S.failed++;
    S.last_change_us = lg_now_us();
    char text[256];
    snprintf(text, sizeof(text), "%s: %s",
             pc->kind == LG_PC_PUB   ? "publisher"
             : pc->kind == LG_PC_SUB ? "subscriber"
                                     : "echo",
             why);
    lg_reason(text);
    SB_WARN("loadgen", "%s", text);
}

/* An error reply or error event: returns its text, or NULL when the reply is fine. */
static const char *lg_error_text(json_t *reply, const char *err, char *buf, size_t len)
{
    if (!reply)
        return err ? err : "no reply";
    const char *type = json_string_value(json_object_get(reply, "janus"));
    if (type && !strcmp(type, "error")) {
        json_t *e = json_object_get(reply, "error");
        snprintf(buf, len, "janus error %lld: %s",
                 (long long)json_integer_value(json_object_get(e, "code")),
                 json_string_value(json_object_get(e, "reason")) ?: "");
        return buf;
    }
    json_t *data = json_object_get(json_object_get(reply, "plugindata"), "data");
    if (json_object_get(data, "error_code")) {
        snprintf(buf, len, "plugin error %lld: %s",
                 (long long)json_integer_value(json_object_get(data, "error_code")),
                 json_string_value(json_object_get(data, "error")) ?: "");
        return buf;
    }
    return NULL;
}

static void lg_pc_reply(void *ctx, json_t *reply, const char *err)
{
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e)
        lg_pc_fail(ctx, e);
}

/* SDPs are longer than a log line: straight to stderr. */
static void lg_debug_sdp(const lg_pc_t *pc, const char *what, const char *sdp)
{
    if (sb_log_max_level >= SB_LOG_DEBUG)
        fprintf(stderr, "---- pc %u: %s ----\n%s\n", pc->tag, what, sdp ? sdp : "(none)");
}

static json_t *lg_jsep(const char *type, char *sdp)
{
    json_t *j = json_pack("{s:s, s:s}", "type", type, "sdp", sdp);
    sb_free(sdp);
    return j;
}

static bool lg_pc_make_peer(lg_pc_t *pc, lg_peer_role_t role)
{
    pc->peer = lg_peer_new(S.next_loop++, role, pc->tag);
    if (!pc->peer)
        lg_pc_fail(pc, "cannot create the ICE agent");
    return pc->peer != NULL;
}

/* ---- events common to every handle ---- */

static void lg_pc_subscribe(lg_part_t *part, uint64_t feed);

static void lg_pc_on_up(lg_pc_t *pc)
{
    if (pc->state != LG_PC_NEGOTIATING || !pc->peer)
        return;
    pc->state = LG_PC_UP;
    S.up++;
    S.last_change_us = lg_now_us();
    double ms = (double)(lg_now_us() - pc->t_sdp_us) / 1000.0;
    g_array_append_val(S.join_ms, ms);
    int64_t ice, dtls;
    lg_peer_times(pc->peer, &ice, &dtls);
    if (ice && dtls) {
        ms = (double)(ice - pc->t_sdp_us) / 1000.0;
        g_array_append_val(S.ice_ms, ms);
        ms = (double)(dtls - pc->t_sdp_us) / 1000.0;
        g_array_append_val(S.dtls_ms, ms);
    }
    if (pc->kind == LG_PC_PUB && lg_cfg.scenario == LG_SCEN_FANOUT && pc->part->index == 0)
        S.rooms[pc->part->room].fanout_feed = pc->feed;
}

static void lg_pc_on_trickle(lg_pc_t *pc, json_t *ev)
{
    json_t *c = json_object_get(ev, "candidate");
    SB_DEBUG("loadgen", "pc %u: trickle %s", pc->tag,
             json_string_value(json_object_get(c, "candidate")) ?: "(completed)");
    if (!pc->peer || !c)
        return;
    if (json_is_true(json_object_get(c, "completed")))
        lg_peer_add_candidate(pc->peer, NULL);
    else if (json_string_value(json_object_get(c, "candidate")))
        lg_peer_add_candidate(pc->peer, json_string_value(json_object_get(c, "candidate")));
}

/* Core events; returns true when ev was one. */
static bool lg_pc_core_event(lg_pc_t *pc, json_t *ev, const char *type)
{
    if (!strcmp(type, "webrtcup")) {
        lg_pc_on_up(pc);
    } else if (!strcmp(type, "trickle")) {
        lg_pc_on_trickle(pc, ev);
    } else if (!strcmp(type, "hangup")) {
        char why[160];
        snprintf(why, sizeof(why), "hangup (%s)",
                 json_string_value(json_object_get(ev, "reason")) ?: "?");
        lg_pc_fail(pc, why);
    } else if (!strcmp(type, "detached")) {
        lg_pc_fail(pc, "detached by the server");
    } else {
        return strcmp(type, "event") != 0; /* media, slowlink, ...: nothing to do */
    }
    return true;
}

static void lg_game_feeds(lg_part_t *part, json_t *list);

static void lg_feeds_from(lg_part_t *part, json_t *list)
{
    size_t i;
    json_t *p;
    if (lg_cfg.scenario == LG_SCEN_GAME) {
        lg_game_feeds(part, list);
        return;
    }
    json_array_foreach(list, i, p)
    {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(p, "id"));
        if (id && (!part->main || id != part->main->feed))
            lg_pc_subscribe(part, id);
    }
}

/* ---- publisher ---- */

static void lg_pub_joined(lg_pc_t *pc, json_t *data)
{
    pc->feed = (uint64_t)json_integer_value(json_object_get(data, "id"));
    if (!lg_pc_make_peer(pc, LG_PEER_PUBLISHER))
        return;
    char err[256] = "";
    char *sdp = lg_peer_offer(pc->peer, err, sizeof(err));
    if (!sdp) {
        lg_pc_fail(pc, err);
        return;
    }
    pc->state = LG_PC_NEGOTIATING;
    pc->t_sdp_us = lg_now_us();
    json_t *body = lg_cfg_data_only()
                       ? json_pack("{s:s}", "request", "publish")
                       : json_pack("{s:s, s:b, s:b}", "request", "publish", "audio", 1, "video", 1);
    lg_sig_message(pc->h, body, lg_jsep("offer", sdp), lg_pc_reply, pc);
    if (lg_cfg.scenario != LG_SCEN_FANOUT)
        lg_feeds_from(pc->part, json_object_get(data, "publishers"));
}

static void lg_pc_apply_answer(lg_pc_t *pc, json_t *jsep)
{
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    lg_debug_sdp(pc, "answer", sdp);
    char err[256] = "";
    if (!pc->peer || !sdp || lg_peer_set_answer(pc->peer, sdp, err, sizeof(err)) < 0)
        lg_pc_fail(pc, err[0] ? err : "no usable answer");
}

static void lg_pub_event(void *ctx, lg_handle_t *h, json_t *ev)
{
    lg_pc_t *pc = ctx;
    const char *type = json_string_value(json_object_get(ev, "janus"));
    if (!type || lg_pc_core_event(pc, ev, type))
        return;
    char buf[256];
    const char *e = lg_error_text(ev, NULL, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
    const char *vr = json_string_value(json_object_get(data, "videoroom"));
    if (vr && !strcmp(vr, "joined") && pc->state == LG_PC_JOINING)
        lg_pub_joined(pc, data);
    json_t *jsep = json_object_get(ev, "jsep");
    if (jsep && pc->state == LG_PC_NEGOTIATING)
        lg_pc_apply_answer(pc, jsep);
    if (vr && !strcmp(vr, "event") && lg_cfg.scenario != LG_SCEN_FANOUT)
        lg_feeds_from(pc->part, json_object_get(data, "publishers"));
}

static void lg_pub_attached(void *ctx, json_t *reply, const char *err)
{
    lg_pc_t *pc = ctx;
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    pc->state = LG_PC_JOINING;
    char display[32];
    snprintf(display, sizeof(display), "lg-%u", pc->tag);
    lg_sig_message(pc->h,
                   json_pack("{s:s, s:s, s:I, s:s}", "request", "join", "ptype", "publisher",
                             "room", (json_int_t)S.rooms[pc->part->room].id, "display", display),
                   NULL, lg_pc_reply, pc);
}

/* ---- subscriber ---- */

static void lg_sub_offer(lg_pc_t *pc, json_t *jsep)
{
    const char *offer = json_string_value(json_object_get(jsep, "sdp"));
    lg_debug_sdp(pc, "offer", offer);
    if (!offer || !lg_pc_make_peer(pc, LG_PEER_SUBSCRIBER)) {
        lg_pc_fail(pc, "no offer");
        return;
    }
    char err[256] = "";
    char *sdp = lg_peer_answer(pc->peer, offer, err, sizeof(err));
    if (!sdp) {
        lg_pc_fail(pc, err);
        return;
    }
    pc->state = LG_PC_NEGOTIATING;
    pc->t_sdp_us = lg_now_us();
    lg_sig_message(pc->h, json_pack("{s:s}", "request", "start"), lg_jsep("answer", sdp),
                   lg_pc_reply, pc);
}

static void lg_sub_event(void *ctx, lg_handle_t *h, json_t *ev)
{
    lg_pc_t *pc = ctx;
    const char *type = json_string_value(json_object_get(ev, "janus"));
    if (!type || lg_pc_core_event(pc, ev, type))
        return;
    char buf[256];
    const char *e = lg_error_text(ev, NULL, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    json_t *jsep = json_object_get(ev, "jsep");
    if (jsep && pc->state == LG_PC_JOINING)
        lg_sub_offer(pc, jsep);
}

static void lg_sub_attached(void *ctx, json_t *reply, const char *err)
{
    lg_pc_t *pc = ctx;
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    pc->state = LG_PC_JOINING;
    json_t *streams = pc->part->game_streams ? pc->part->game_streams
                                             : json_pack("[{s:I}]", "feed", (json_int_t)pc->feed);
    pc->part->game_streams = NULL; /* its one subscriber took it */
    lg_sig_message(pc->h,
                   json_pack("{s:s, s:s, s:I, s:o}", "request", "join", "ptype", "subscriber",
                             "room", (json_int_t)S.rooms[pc->part->room].id, "streams", streams),
                   NULL, lg_pc_reply, pc);
}

static lg_pc_t *lg_pc_new(lg_part_t *part, lg_pc_kind_t kind)
{
    lg_pc_t *pc = SB_NEW(lg_pc_t);
    pc->part = part;
    pc->kind = kind;
    pc->tag = ++S.next_tag;
    return pc;
}

static void lg_pc_subscribe(lg_part_t *part, uint64_t feed)
{
    if (g_hash_table_contains(part->feeds, &feed))
        return;
    uint64_t *key = sb_malloc(sizeof(*key));
    *key = feed;
    g_hash_table_add(part->feeds, key);
    lg_pc_t *pc = lg_pc_new(part, LG_PC_SUB);
    pc->feed = feed;
    g_ptr_array_add(part->subs, pc);
    pc->h = lg_sig_attach(part->s, "janus.plugin.videoroom", lg_sub_event, pc, lg_sub_attached);
}

/* game: the data m-line of each other person, from "joined" and "publishers" lists; the
 * one subscriber handle joins once all room-mates are there. */
static void lg_game_feeds(lg_part_t *part, json_t *list)
{
    size_t i, k;
    json_t *p, *st;
    json_array_foreach(list, i, p)
    {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(p, "id"));
        if (!id || (part->main && id == part->main->feed) ||
            g_hash_table_contains(part->feeds, &id))
            continue;
        json_array_foreach(json_object_get(p, "streams"), k, st)
        {
            const char *type = json_string_value(json_object_get(st, "type"));
            const char *mid = json_string_value(json_object_get(st, "mid"));
            if (!type || strcmp(type, "data") || !mid)
                continue;
            uint64_t *key = sb_malloc(sizeof(*key));
            *key = id;
            g_hash_table_add(part->feeds, key);
            if (!part->game_streams)
                part->game_streams = json_array();
            json_array_append_new(part->game_streams,
                                  json_pack("{s:I, s:s}", "feed", (json_int_t)id, "mid", mid));
            break;
        }
    }
    if (part->subs->len || g_hash_table_size(part->feeds) + 1 < lg_cfg.subscribers)
        return;
    lg_pc_t *pc = lg_pc_new(part, LG_PC_SUB);
    pc->feed = (uint64_t)json_integer_value(
        json_object_get(json_array_get(part->game_streams, 0), "feed")); /* for the logs */
    g_ptr_array_add(part->subs, pc);
    pc->h = lg_sig_attach(part->s, "janus.plugin.videoroom", lg_sub_event, pc, lg_sub_attached);
}

/* ---- echo ---- */

static void lg_echo_event(void *ctx, lg_handle_t *h, json_t *ev)
{
    lg_pc_t *pc = ctx;
    const char *type = json_string_value(json_object_get(ev, "janus"));
    if (!type || lg_pc_core_event(pc, ev, type))
        return;
    char buf[256];
    const char *e = lg_error_text(ev, NULL, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    json_t *jsep = json_object_get(ev, "jsep");
    if (jsep && pc->state == LG_PC_NEGOTIATING)
        lg_pc_apply_answer(pc, jsep);
}

static void lg_echo_attached(void *ctx, json_t *reply, const char *err)
{
    lg_pc_t *pc = ctx;
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        lg_pc_fail(pc, e);
        return;
    }
    if (!lg_pc_make_peer(pc, LG_PEER_ECHO))
        return;
    char *sdp = lg_peer_offer(pc->peer, buf, sizeof(buf));
    if (!sdp) {
        lg_pc_fail(pc, buf);
        return;
    }
    pc->state = LG_PC_NEGOTIATING;
    pc->t_sdp_us = lg_now_us();
    bool media = !lg_cfg_data_only();
    lg_sig_message(
        pc->h,
        json_pack("{s:b, s:b, s:b}", "audio", media, "video", media, "data", lg_cfg_has_data()),
        lg_jsep("offer", sdp), lg_pc_reply, pc);
}

/* ---- participants ---- */

static void lg_part_created(void *ctx, json_t *reply, const char *err)
{
    lg_part_t *part = ctx;
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        /* Every handle this person would have opened fails with it. */
        unsigned n = lg_echo() || lg_cfg.scenario == LG_SCEN_FANOUT ? 1
                     : lg_cfg.scenario == LG_SCEN_GAME              ? 2
                                                                    : lg_cfg.subscribers;
        for (unsigned i = 0; i < n; i++) {
            lg_pc_t *pc = lg_pc_new(part, part->publishes ? LG_PC_PUB : LG_PC_SUB);
            g_ptr_array_add(part->subs, pc);
            lg_pc_fail(pc, e);
        }
        return;
    }
    if (lg_echo()) {
        part->main = lg_pc_new(part, LG_PC_ECHO);
        part->main->h = lg_sig_attach(part->s, "janus.plugin.echotest", lg_echo_event, part->main,
                                      lg_echo_attached);
    } else if (part->publishes) {
        part->main = lg_pc_new(part, LG_PC_PUB);
        part->main->h = lg_sig_attach(part->s, "janus.plugin.videoroom", lg_pub_event, part->main,
                                      lg_pub_attached);
    } else {
        lg_pc_subscribe(part, S.rooms[part->room].fanout_feed);
    }
}

static void lg_part_start(lg_part_t *part)
{
    part->subs = g_ptr_array_new();
    part->feeds = g_hash_table_new_full(g_int64_hash, g_int64_equal, sb_free, NULL);
    part->s = lg_sig_session_new(lg_part_created, part);
}

/* ---- rooms ---- */

static void lg_room_created(void *ctx, json_t *reply, const char *err)
{
    lg_room_t *r = ctx;
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    json_t *data = json_object_get(json_object_get(reply, "plugindata"), "data");
    /* 427: the room exists already (a previous run): use it. */
    if (e && json_integer_value(json_object_get(data, "error_code")) != 427) {
        S.rooms_failed++;
        lg_reason(e);
        SB_ERROR("loadgen", "cannot create room %llu: %s", (unsigned long long)r->id, e);
        return;
    }
    r->ready = true;
    S.rooms_ready++;
}

static void lg_ctrl_attached(void *ctx, json_t *reply, const char *err)
{
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        lg_reason(e);
        S.rooms_failed = S.nrooms;
        return;
    }
    unsigned per_room = lg_cfg.scenario == LG_SCEN_FANOUT ? 1 : lg_cfg.subscribers;
    for (unsigned i = 0; i < S.nrooms; i++) {
        json_t *body = json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:b, s:i}", "request", "create",
                                 "room", (json_int_t)S.rooms[i].id, "description", "sb-loadgen",
                                 "publishers", (int)per_room + 1, "audiocodec", "opus",
                                 "videocodec", "vp8", "notify_joining", 0, "fir_freq", 0);
        lg_sig_message(S.ctrl_h, body, NULL, lg_room_created, &S.rooms[i]);
    }
}

static void lg_ctrl_created(void *ctx, json_t *reply, const char *err)
{
    char buf[256];
    const char *e = lg_error_text(reply, err, buf, sizeof(buf));
    if (e) {
        lg_reason(e);
        S.rooms_failed = S.nrooms;
        return;
    }
    S.ctrl_h = lg_sig_attach(S.ctrl, "janus.plugin.videoroom", NULL, NULL, lg_ctrl_attached);
}

void lg_scenario_start(void)
{
    unsigned n = lg_cfg.subscribers, r = lg_cfg.rooms ? lg_cfg.rooms : 1;
    S.join_ms = g_array_new(FALSE, FALSE, sizeof(double));
    S.ice_ms = g_array_new(FALSE, FALSE, sizeof(double));
    S.dtls_ms = g_array_new(FALSE, FALSE, sizeof(double));
    switch (lg_cfg.scenario) {
    case LG_SCEN_FANOUT:
        S.nparts = r * (1 + n);
        S.planned = r * (1 + n);
        break;
    case LG_SCEN_MESH:
    case LG_SCEN_ROOMS:
        S.nparts = r * n;
        S.planned = r * n * n; /* one publisher and n - 1 subscriptions each */
        break;
    case LG_SCEN_GAME:
        S.nparts = r * n;
        S.planned = r * n * 2; /* one publisher and one subscriber handle each */
        break;
    case LG_SCEN_ECHO:
    case LG_SCEN_ECHO_DATA:
        r = 0;
        S.nparts = n;
        S.planned = n;
        break;
    }
    S.nrooms = r;
    S.rooms = sb_calloc(r ? r : 1, sizeof(lg_room_t));
    for (unsigned i = 0; i < r; i++)
        S.rooms[i].id = lg_cfg.room_base + i;
    S.parts = sb_calloc(S.nparts ? S.nparts : 1, sizeof(lg_part_t));
    /* Join order: room by room; in fanout the publisher first. */
    unsigned per_room = r ? S.nparts / r : S.nparts;
    for (unsigned i = 0; i < S.nparts; i++) {
        S.parts[i].room = r ? i / per_room : 0;
        S.parts[i].index = i % per_room;
        S.parts[i].publishes = lg_cfg.scenario != LG_SCEN_FANOUT || S.parts[i].index == 0;
    }
    S.last_change_us = S.next_join_us = lg_now_us();
    if (lg_videoroom())
        S.ctrl = lg_sig_session_new(lg_ctrl_created, NULL);
}

/* May participant i start now? Fanout subscribers wait for their publisher's feed. */
static bool lg_part_can_start(const lg_part_t *p)
{
    if (!lg_videoroom())
        return true;
    const lg_room_t *r = &S.rooms[p->room];
    if (!r->ready)
        return false;
    return p->publishes || r->fanout_feed != 0;
}

/* The time to the next join: 1/rate on average, drawn from 0.5 to 1.5 times that. Joins on a
 * fixed grid met the publishers' frame clock at two or three phases only (50 ms against
 * 33.3 ms at 20 joins/s and 30 fps), so the wait for the frame after a keyframe request, most
 * of a new subscriber's time to its first keyframe, depended on where the server's join
 * latency put it in that cycle, not on the server's keyframe path. */
static int64_t lg_join_gap(void)
{
    if (lg_cfg.join_rate <= 0)
        return 0;
    double mean = 1e6 / lg_cfg.join_rate;
    return (int64_t)(mean * g_random_double_range(0.5, 1.5));
}

bool lg_scenario_tick(int64_t now)
{
    while (S.next_part < S.nparts && now >= S.next_join_us &&
           lg_part_can_start(&S.parts[S.next_part])) {
        lg_part_start(&S.parts[S.next_part++]);
        S.last_change_us = now;
        int64_t gap = lg_join_gap();
        S.next_join_us = (S.next_join_us + gap > now - gap) ? S.next_join_us + gap : now;
    }
    if (lg_videoroom() && S.rooms_failed)
        return true;
    if (now - S.last_change_us > (int64_t)(lg_cfg.join_timeout_s * 1e6))
        return true; /* stuck: measure what is up */
    return S.next_part == S.nparts && S.up + S.failed >= S.planned;
}

/* ---- teardown ---- */

static void lg_teardown_reply(void *ctx, json_t *reply, const char *err)
{
    if (S.teardown_pending)
        S.teardown_pending--;
}

static void lg_part_close_peers(lg_part_t *part)
{
    if (part->main) {
        lg_peer_close(part->main->peer);
        part->main->peer = NULL;
    }
    for (guint i = 0; part->subs && i < part->subs->len; i++) {
        lg_pc_t *pc = g_ptr_array_index(part->subs, i);
        lg_peer_close(pc->peer);
        pc->peer = NULL;
    }
}

/* Like closing every tab at once: our DTLS close_notify and the session destroy race on the
 * server (or, with --teardown destroy-first, the peers close only once every destroy was
 * answered). */
void lg_scenario_teardown(void)
{
    S.teardown_phase = 1;
    for (unsigned i = 0; i < S.next_part; i++) {
        if (!lg_cfg.close_after_destroy)
            lg_part_close_peers(&S.parts[i]);
        if (S.parts[i].s) {
            S.teardown_pending++;
            lg_sig_session_destroy(S.parts[i].s, lg_teardown_reply, NULL);
        }
    }
}

bool lg_scenario_teardown_done(void)
{
    if (S.teardown_pending)
        return false;
    if (S.teardown_phase == 1 && lg_cfg.close_after_destroy) {
        for (unsigned i = 0; i < S.next_part; i++)
            lg_part_close_peers(&S.parts[i]);
    }
    if (S.teardown_phase == 1 && S.ctrl_h && lg_sig_handle_id(S.ctrl_h)) {
        S.teardown_phase = 2;
        for (unsigned i = 0; i < S.nrooms; i++) {
            if (!S.rooms[i].ready)
                continue;
            S.teardown_pending++;
            lg_sig_message(
                S.ctrl_h,
                json_pack("{s:s, s:I}", "request", "destroy", "room", (json_int_t)S.rooms[i].id),
                NULL, lg_teardown_reply, NULL);
        }
        return false;
    }
    if (S.teardown_phase <= 2 && S.ctrl) {
        S.teardown_phase = 3;
        S.teardown_pending++;
        lg_sig_session_destroy(S.ctrl, lg_teardown_reply, NULL);
        return false;
    }
    return true;
}

/* ---- reporting ---- */

void lg_scenario_stats(lg_scen_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->planned_pcs = S.planned;
    out->up_pcs = S.up;
    out->failed_pcs = S.failed;
    out->sessions = S.next_part;
    out->first_failure = S.nreasons ? S.reasons[0].text : NULL;
}

const double *lg_scenario_join_ms(int which, size_t *n)
{
    GArray *a = which == 1 ? S.ice_ms : which == 2 ? S.dtls_ms : S.join_ms;
    *n = a ? a->len : 0;
    return a ? (const double *)(void *)a->data : NULL;
}

json_t *lg_scenario_reasons(void);
json_t *lg_scenario_reasons(void)
{
    json_t *o = json_object();
    for (unsigned i = 0; i < S.nreasons; i++)
        json_object_set_new(o, S.reasons[i].text, json_integer(S.reasons[i].count));
    return o;
}
