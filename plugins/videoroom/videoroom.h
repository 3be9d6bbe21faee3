/* janus.plugin.videoroom: the plugin's internal model, shared by its files.
 *
 *   videoroom.c   plugin table, init/deinit, handles, the message thread, media ops
 *   requests.c    request table, parameter validation, VideoRoom error codes
 *   room.c        rooms table, room options (create/edit/config file), room JSON
 *   admin.c       synchronous room requests (create, edit, destroy, list, kick, ...)
 *   publisher.c   publishers: join, publish/configure, unpublish, leave, their events
 *   subscriber.c  subscribers: join, offers and renegotiation, feeds that go, leave
 *   subscription.c requests on a subscription: start, pause, configure, switch, update
 *   states.c      the two state machines (states.h): a publisher's lifecycle, a
 *                 subscriber's negotiation
 *   graph.c       the media loop side of the forwarding graph (bind/unbind closures)
 *   forward.c     the hot path: RTP fan-out, keyframes, simulcast, REMB, audio levels
 *   svc.c         SVC (VP9, AV1): the spatial/temporal layers each subscriber stream gets
 *   red.c         RED of Opus: passed on, or its primary encoding for who did not take RED
 *   relay.c       packets of a publisher stream relayed in batches to other media loops
 *   data.c        data channel messages of publishers relayed to their data subscribers
 *   events.c      outbox (events pushed after the lock is released) and broadcasts
 *
 * Threads and locks.
 * - control: handle_message (synchronous requests run there, under the plugin lock),
 *   create_handle, destroy_handle.
 * - message thread: every asynchronous request, and every negotiation (the core's
 *   answer_offer/make_offer/process_answer wait briefly for a loop, so they never run on a
 *   control thread nor under the lock).
 * - media loops: a room's publishers are put on the room's loop (room->loop); each
 *   subscriber is put on a loop chosen when it joins (its feed's loop for a room's first
 *   spread_after subscribers, then the least loaded one: sb_vr_room_pick_loop). A
 *   publisher's loop fields belong to the publisher's loop, a subscriber's to the
 *   subscriber's. Each publisher stream fans out to the subscriber streams of its own loop
 *   (pub_stream->loop.fan) and, for every other loop that has subscribers of it, to a relay
 *   (relay.c): packets go there in batches, and that loop runs the same fan-out over its
 *   own subscriber streams (relay->fan). The control side changes the graph by posting
 *   closures (graph.c) while holding the plugin lock, so posts are totally ordered per loop.
 * One plugin lock (sb_vr_lock) guards the rooms table, rooms, participants and every field
 * marked "ctl". It is never held while calling the core, except loop_post (a mailbox post
 * that never blocks). Fields marked "loop" belong to the loop of the object they are in
 * (the publisher's, or the subscriber's); "home" and "serving" name the two loops of a
 * relay. */
#ifndef SB_VIDEOROOM_H
#define SB_VIDEOROOM_H

#include <glib.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "switchboard/refcount.h"
#include "switchboard/plugin.h"
#include "switchboard/codec.h"
#include "switchboard/dd.h"
#include "switchboard/params.h"
#include "switchboard/seq_rewrite.h"
#include "switchboard/simulcast.h"
#include "switchboard/svc_select.h"

#include "states.h"

#define SB_VR_PACKAGE "janus.plugin.videoroom"
/* SVC spatial and temporal layers measured apart (higher ones count with the last). */
#define SB_VR_SVC_LAYERS 4

/* VideoRoom error codes (videoroom.html). */
enum {
    SB_VR_ERR_UNKNOWN = 499,
    SB_VR_ERR_NO_MESSAGE = 421,
    SB_VR_ERR_INVALID_JSON = 422,
    SB_VR_ERR_INVALID_REQUEST = 423,
    SB_VR_ERR_JOIN_FIRST = 424,
    SB_VR_ERR_ALREADY_JOINED = 425,
    SB_VR_ERR_NO_SUCH_ROOM = 426,
    SB_VR_ERR_ROOM_EXISTS = 427,
    SB_VR_ERR_NO_SUCH_FEED = 428,
    SB_VR_ERR_MISSING_ELEMENT = 429,
    SB_VR_ERR_INVALID_ELEMENT = 430,
    SB_VR_ERR_INVALID_SDP_TYPE = 431,
    SB_VR_ERR_PUBLISHERS_FULL = 432,
    SB_VR_ERR_UNAUTHORIZED = 433,
    SB_VR_ERR_ALREADY_PUBLISHED = 434,
    SB_VR_ERR_NOT_PUBLISHED = 435,
    SB_VR_ERR_ID_EXISTS = 436,
    SB_VR_ERR_INVALID_SDP = 437,
};

typedef struct sb_vr_room sb_vr_room_t;
typedef struct sb_vr_session sb_vr_session_t;
typedef struct sb_vr_publisher sb_vr_publisher_t;
typedef struct sb_vr_subscriber sb_vr_subscriber_t;
typedef struct sb_vr_sub_stream sb_vr_sub_stream_t;
typedef struct sb_vr_relay sb_vr_relay_t;

/* ---- globals (videoroom.c) ----------------------------------------------------------- */

extern const sb_core_api_t *sb_vr_core;
extern GMutex sb_vr_lock;

/* ---- rooms (room.c) ------------------------------------------------------------------ */

/* Settings of a room, as in videoroom.html. Owned by the room; ctl. */
typedef struct sb_vr_room_opts {
    uint64_t room;
    char *description;
    char *secret; /* NULL: none */
    char *pin;    /* NULL: none */
    bool is_private, require_pvtid, notify_joining, bitrate_cap;
    bool audiolevel_ext, audiolevel_event, videoorient_ext, playoutdelay_ext;
    bool transport_wide_cc_ext, opus_fec, opus_dtx, video_svc, require_e2ee;
    bool record, lock_record;
    char *rec_dir;
    unsigned publishers, bitrate, fir_freq;
    unsigned audio_active_packets, audio_level_average;
    char *audiocodec; /* normalized comma list, e.g. "opus,pcmu" */
    char *videocodec;
} sb_vr_room_opts_t;

/* A room. Owned by the rooms table (one reference) and by the participants, subscribers
 * and queued work that point to it; ctl except where marked. */
struct sb_vr_room {
    sb_refcount_t ref;
    sb_vr_room_opts_t o;
    bool check_allowed;
    GPtrArray *allowed;       /* char* tokens */
    GHashTable *participants; /* id -> sb_vr_publisher_t* (a reference each) */
    GPtrArray *subscribers;   /* sb_vr_subscriber_t* (a reference each) */
    bool destroyed;
    atomic_int loop; /* media loop of the room's publishers; -1 until the first one */
    struct sb_vr_span *span; /* in a cluster: the room's other nodes (span.c); owned */
};

/* Plugin configuration (general section). Owned by videoroom.c; read-only after init. */
typedef struct sb_vr_config {
    char *admin_key; /* NULL: anyone may create rooms */
    bool lock_rtp_forward;
    /* A room's first spread_after subscribers share its loop; later ones go to the least
     * loaded media loop (general.spread_subscribers_after). */
    unsigned spread_after;
} sb_vr_config_t;

#define SB_VR_SPREAD_AFTER_DEFAULT 100

extern sb_vr_config_t sb_vr_config;

void sb_vr_rooms_init(void);
void sb_vr_rooms_deinit(void); /* destroys every room (no participant may remain) */
/* Load rooms and the general section from <dir>/janus.plugin.videoroom.conf. A missing file
 * is fine (0); a bad one is SB_EINVAL, logged with file:line. */
/* SIGHUP: the configuration again; rooms new in it are created, existing ones kept. */
int sb_vr_rooms_reload(const char *config_dir);
int sb_vr_rooms_load_config(const char *config_dir);

void sb_vr_room_ref(sb_vr_room_t *r);
void sb_vr_room_unref(sb_vr_room_t *r);
/* events.c: an event for the operator's event handlers (the reference's VideoRoom plugin
 * events: {"event": name, "room": room, ...extra}), about h or no handle (NULL). extra is
 * stolen (NULL: none); nothing is built when no handler takes plugin events. */
void sb_vr_notify(sb_plugin_handle_t *h, const char *name, uint64_t room, json_t *extra);
/* Takes the lock: rooms, and participants in them (for /metrics). */
void sb_vr_counts(unsigned *rooms, unsigned *participants);
/* Under the lock. Borrowed; NULL when absent. */
sb_vr_room_t *sb_vr_room_find(uint64_t id);
/* Under the lock: insert a new room from validated options (taken). SB_EEXIST. */
int sb_vr_room_add(sb_vr_room_opts_t *o, GPtrArray *allowed, sb_vr_room_t **out);
/* Under the lock: remove from the table (the caller handles the participants). */
void sb_vr_room_remove(sb_vr_room_t *r);
/* Under the lock: every room (borrowed pointers), for list. Free with g_ptr_array_unref. */
GPtrArray *sb_vr_rooms_all(void);
/* A free room id. Under the lock. */
uint64_t sb_vr_room_new_id(void);

void sb_vr_room_opts_defaults(sb_vr_room_opts_t *o);
void sb_vr_room_opts_deinit(sb_vr_room_opts_t *o);
/* Apply the create-style fields of obj onto o (prefix "" for create, "new_" for edit).
 * strict: unknown keys are errors (config file). Returns 0, or an error code with text. */
int sb_vr_room_opts_apply(sb_vr_room_opts_t *o, json_t *obj, const char *prefix,
                          bool strict, char *err, size_t err_len);
/* An "allowed" array of strings into a new token array; error code with text. */
int sb_vr_allowed_parse(json_t *arr, GPtrArray **out, char *err, size_t err_len);
bool sb_vr_room_token_ok(const sb_vr_room_t *r, const char *token);
/* The room's entry in a "list" answer. Owned. */
json_t *sb_vr_room_json(const sb_vr_room_t *r);
/* The same from a room's options and its number of participants. Owned. */
json_t *sb_vr_room_opts_json(const sb_vr_room_opts_t *o, unsigned participants);
/* The media loop the room is pinned to, or -1. Any thread. */
int sb_vr_room_loop(sb_vr_room_t *r);
/* Pin the room to the loop of a handle's PeerConnection if not pinned yet. Any thread. */
void sb_vr_room_pin_loop(sb_vr_room_t *r, sb_plugin_handle_t *h);
/* The loop for a new subscriber of r whose feeds are on loop home (see sb_vr_config_t);
 * -1 when there are no media loops. Under the lock (before the subscriber is added). */
int sb_vr_room_pick_loop(sb_vr_room_t *r, int home);
/* A random id in 1..2^53-1 (JavaScript-safe). */
uint64_t sb_vr_random_id(void);

/* ---- sessions (videoroom.c) ------------------------------------------------------------ */

typedef enum sb_vr_role {
    SB_VR_ROLE_NONE = 0,
    SB_VR_ROLE_PUBLISHER,
    SB_VR_ROLE_SUBSCRIBER,
} sb_vr_role_t;

/* One attached handle. Referenced by the handle (plugin_data, dropped at destroy_handle),
 * queued messages and loop closures. Holds a core reference on the handle. */
struct sb_vr_session {
    sb_refcount_t ref;
    sb_plugin_handle_t *h;
    /* ctl */
    sb_vr_role_t role;       /* once set, for the handle's life (as the reference does) */
    sb_vr_publisher_t *pub;  /* role PUBLISHER: a reference, dropped at destroy_handle */
    sb_vr_subscriber_t *sub; /* role SUBSCRIBER: a reference, dropped at destroy_handle */
    bool destroyed;
    int loop; /* loop its PeerConnection was put on, -1 none (where to free it) */
    /* A handle of our own for media between nodes (span.c), NULL for a client's. Set
     * before the first request on it, then read-only; owned. */
    struct sb_vr_span_link *link;
    /* loop (the session's) */
    sb_vr_publisher_t *loop_pub;  /* what on_rtp forwards for; a reference */
    sb_vr_subscriber_t *loop_sub; /* what on_keyframe_request maps; a reference */
};

void sb_vr_session_ref(sb_vr_session_t *s);
void sb_vr_session_unref(sb_vr_session_t *s);

/* Queue internal work on the message thread: fn(arg) runs there, then done(arg) (also
 * when the plugin stops before it ran). Any thread. */
void sb_vr_defer(void (*fn)(void *arg), void *arg, void (*done)(void *arg));

/* ---- the outbox (events.c) ----------------------------------------------------------- */

/* Events gathered under the lock and pushed after it is released. Stack-owned. */
typedef struct sb_vr_outbox {
    GPtrArray *items;
    GPtrArray *close_pcs; /* handles whose PeerConnection to close (references) */
} sb_vr_outbox_t;

void sb_vr_outbox_init(sb_vr_outbox_t *ob);
/* Queue an event for h (a handle reference is taken); data is stolen, jsep borrowed. */
void sb_vr_outbox_add(sb_vr_outbox_t *ob, sb_plugin_handle_t *h, const char *transaction,
                      json_t *data, json_t *jsep);
void sb_vr_outbox_close_pc(sb_vr_outbox_t *ob, sb_plugin_handle_t *h);
/* Push everything (outside the lock) and release. */
void sb_vr_outbox_flush(sb_vr_outbox_t *ob);
/* Queue data (borrowed) for every participant of r (publisher handles) except skip. */
void sb_vr_broadcast(sb_vr_outbox_t *ob, sb_vr_room_t *r, json_t *data,
                     const sb_vr_publisher_t *skip);
/* {"videoroom":"event","error_code":code,"error":text}: owned. */
json_t *sb_vr_error_json(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- requests (requests.c) ------------------------------------------------------------- */

/* Parameter checks: a request's parameters declared (name, SB_VR_T_* type, required; strings
 * at most SB_VR_MAX_STRING bytes) as the SDK's switchboard/params.h takes them. */
enum {
    SB_VR_T_STRING = SB_PARAM_STRING,
    SB_VR_T_UINT = SB_PARAM_UINT, /* JSON integer >= 0 ("positive integer") */
    SB_VR_T_INT = SB_PARAM_INT,
    SB_VR_T_BOOL = SB_PARAM_BOOL,
    SB_VR_T_ARRAY = SB_PARAM_ARRAY,
    SB_VR_T_OBJECT = SB_PARAM_OBJECT,
    SB_VR_T_STRING_OR_UINT = SB_PARAM_STRING_OR_UINT,
};
typedef struct sb_vr_param {
    const char *name;
    int type; /* SB_VR_T_* */
    bool required;
} sb_vr_param_t;

/* 0, or 429/430 with the reference's texts in err. The one check of every request's
 * parameters (the request table's, and those of the requests that depend on the role). */
int sb_vr_params_check(json_t *obj, const sb_vr_param_t *params, size_t n, char *err,
                       size_t err_len);
/* Longest string a request or a room option may carry (display names, descriptions, pins,
 * secrets...): they are copied into events every participant gets. */
#define SB_VR_MAX_STRING SB_PARAM_MAX_STRING_DEFAULT

#define SB_VR_CHECK(obj, params, err) \
    sb_vr_params_check(obj, params, sizeof(params) / sizeof(params[0]), err, sizeof(err))
/* Every item of an array (at most SB_MEDIA_MAX_STREAMS) is an object passing params. */
int sb_vr_items_check(json_t *arr, const sb_vr_param_t *params, size_t n, char *err,
                      size_t err_len);
#define SB_VR_CHECK_ITEMS(arr, params, err) \
    sb_vr_items_check(arr, params, sizeof(params) / sizeof(params[0]), err, sizeof(err))

/* A request from a client, queued to the message thread. Owns its references. */
typedef struct sb_vr_msg {
    sb_vr_session_t *s;
    sb_vr_publisher_t *pub;  /* the session's, a reference taken when it runs */
    sb_vr_subscriber_t *sub; /* idem */
    char *transaction;
    json_t *body;
    json_t *jsep; /* NULL or {"type","sdp"} */
    unsigned retries; /* span.c: ran again while another node's feeds came */
} sb_vr_msg_t;

/* Control thread: route one message (sync answer, or queue). */
/* The Admin API's message_plugin: the synchronous requests, answered at once (owned). */
json_t *sb_vr_handle_admin_message(json_t *body);
sb_plugin_result_t sb_vr_handle_message(sb_vr_session_t *s, const char *transaction,
                                        json_t *body, json_t *jsep);
/* Message thread: run one queued request and push its answer. */
void sb_vr_process(sb_vr_msg_t *m);
/* Queue a client message (taken) to the message thread (videoroom.c). */
void sb_vr_queue_msg(sb_vr_msg_t *m);
/* The same, run in ms milliseconds. Message thread only (dropped if the plugin stops). */
void sb_vr_queue_msg_later(sb_vr_msg_t *m, unsigned ms);

/* A synchronous request (create, edit, list, ...: answered at once, also over the Admin API)
 * run by its handler once the checks its entry of the request table declares passed
 * (requests.c). Stack-owned; under the lock. */
typedef struct sb_vr_sync_req {
    json_t *body;       /* borrowed (or copy) */
    sb_vr_room_t *room; /* the room the body names, when the entry needs one; borrowed */
    sb_vr_outbox_t *ob; /* events for others, pushed once the lock is released */
    json_t *copy;       /* owned: a body a before-hook rewrote (the room id it reserved) */
    uint64_t reserved;  /* a room id the cluster's directory took for this create */
} sb_vr_sync_req_t;

/* The handlers (admin.c): each returns the answer's data (owned). */
json_t *sb_vr_req_create(sb_vr_sync_req_t *req);
json_t *sb_vr_req_edit(sb_vr_sync_req_t *req);
json_t *sb_vr_req_destroy(sb_vr_sync_req_t *req);
json_t *sb_vr_req_exists(sb_vr_sync_req_t *req);
json_t *sb_vr_req_list(sb_vr_sync_req_t *req);
json_t *sb_vr_req_allowed(sb_vr_sync_req_t *req);
json_t *sb_vr_req_kick(sb_vr_sync_req_t *req);
json_t *sb_vr_req_moderate(sb_vr_sync_req_t *req);
json_t *sb_vr_req_listparticipants(sb_vr_sync_req_t *req);
json_t *sb_vr_req_unsupported(sb_vr_sync_req_t *req); /* known, not implemented */
/* ---- the cluster (cluster.c): rooms in the cluster's directory -------------------------
 * Hooks of synchronous requests, run without the lock (they wait for Redis): before the
 * handler (an answer ends the request there) and after it (they amend the answer). */
bool sb_vr_clustered(void);
json_t *sb_vr_cluster_create_before(sb_vr_sync_req_t *req);
void sb_vr_cluster_create_after(sb_vr_sync_req_t *req, json_t **answer);
void sb_vr_cluster_destroy_after(sb_vr_sync_req_t *req, json_t **answer);
void sb_vr_cluster_exists_after(sb_vr_sync_req_t *req, json_t **answer);
void sb_vr_cluster_list_after(sb_vr_sync_req_t *req, json_t **answer);
void sb_vr_cluster_participants_after(sb_vr_sync_req_t *req, json_t **answer);
/* A participant joined or changed (name, publishing), or left: the directory hears of it
 * (never waits: any thread, under the lock too). */
void sb_vr_cluster_member_update(const sb_vr_publisher_t *p);
void sb_vr_cluster_member_gone(const sb_vr_publisher_t *p);
/* A room of the configuration file (its create-style JSON, borrowed) into the directory. */
void sb_vr_cluster_static_room(json_t *config);

/* ---- rooms that span nodes (span.c, span_sdp.c) ----------------------------------------
 * Every node with participants in a room holds an instance of it; the instances tell each
 * other their participants (signed cluster messages), and each publisher's media goes once
 * to each other node over a PeerConnection between the nodes: on the publisher's node a
 * subscriber of our own (a link) with one m-line per stream and simulcast layer, on the
 * other a publisher of our own that its clients subscribe to like any other. */
#define SB_VR_SPAN_MAX_MLINES (SB_MEDIA_MAX_STREAMS * SB_MEDIA_MAX_LAYERS)
/* An m-line of a link on the publisher's node: the publisher's stream (mid) and layer. */
typedef struct sb_vr_span_map {
    char mid[64];
    unsigned layer;
} sb_vr_span_map_t;
/* The link's offer in the other node's shape (one m-line per stream, the layers an
 * ssrc-group:SIM, the publisher's mids), and its answer back in the link's shape (mids: the
 * link's own, one per map entry). Owned (g_free), NULL when the SDP does not fit. */
char *sb_vr_span_sdp_merge(const char *offer, const sb_vr_span_map_t *map, unsigned nmap);
char *sb_vr_span_sdp_split(const char *answer, const sb_vr_span_map_t *map, unsigned nmap,
                           const char *const *link_mids);
/* The mids of an SDP's m-lines, in order; how many. */
unsigned sb_vr_span_sdp_mids(const char *sdp, char mids[][64], unsigned max);

/* Hooks of the room's life (under the lock unless said). */
void sb_vr_span_live(sb_vr_publisher_t *p);                /* published (media up) */
void sb_vr_span_unpublished(sb_vr_publisher_t *p);         /* stopped publishing */
void sb_vr_span_left(sb_vr_publisher_t *p, bool kicked);   /* left the room */
void sb_vr_span_destroyed(sb_vr_room_t *r);                /* the room is destroyed here */
void sb_vr_span_free(sb_vr_room_t *r);                     /* the room's memory goes */
/* Message thread, no lock: a participant of this node joined (first in the room here: the
 * room's other nodes are found and greeted). */
void sb_vr_span_joined(sb_vr_publisher_t *p);
/* Message thread, no lock: the room a join names, made here from the cluster's directory
 * when another node has it. */
void sb_vr_span_ensure_room(json_t *body);
/* Message thread, no lock: a subscriber's join names feeds of other nodes not shown here
 * yet; true when it will run again (after greeting the room's other nodes). */
bool sb_vr_span_wait_feeds(sb_vr_msg_t *m, json_t *items);
/* Under the lock: nobody of this node is left in r (after a leave): the others hear "bye". */
void sb_vr_span_idle_check(sb_vr_room_t *r, sb_vr_outbox_t *ob);
/* Events of our own handles go to span.c instead of a client (any thread, no lock). */
bool sb_vr_span_on_event(sb_vr_session_t *s, json_t *data, json_t *jsep);
/* The plugin's cluster ops (the cluster's threads). */
void sb_vr_span_on_message(unsigned from, json_t *body);
void sb_vr_span_on_node(unsigned node, bool alive);
/* {"id", "display"?} of a participant, as attendees, joining events and hellos list it.
 * Owned. Under the lock. */
json_t *sb_vr_participant_json(const sb_vr_publisher_t *p);
/* A participant that is another node's (a publisher of our own: the only publishers with a
 * link). */
bool sb_vr_pub_remote(const sb_vr_publisher_t *p);
/* push_event, or span.c for a handle of our own. Any thread. */
void sb_vr_push_event(sb_plugin_handle_t *h, const char *transaction, json_t *data,
                      json_t *jsep);

/* Room lookup with the reference's 429/430/426 errors (requests.c; joins use it too). Under
 * the lock. */
sb_vr_room_t *sb_vr_room_lookup(json_t *body, json_t **err);

/* ---- publishers (publisher.c) ---------------------------------------------------------- */

/* What the forward path reads of one publisher stream on one loop, and the subscriber
 * streams of that loop it feeds. The publisher's loop has the original (in the publisher
 * stream); every other loop serving subscribers of it has a copy in a relay, updated by
 * closures (neg, codec) and by the batches (layer liveness). Owned by the publisher stream or
 * the relay; touched only on its loop. */
typedef struct sb_vr_fanout {
    sb_media_stream_t neg;
    sb_codec_t codec;
    int64_t layer_last_us[SB_MEDIA_MAX_LAYERS]; /* arrival of each layer's last packet */
    /* Each layer's bitrate, for the automatic layer choice of this loop's subscribers
     * (allocate.c): bytes since rate_since_us, and the smoothed bits/s. */
    uint64_t layer_bytes[SB_MEDIA_MAX_LAYERS];
    uint32_t layer_bps[SB_MEDIA_MAX_LAYERS];
    int64_t rate_since_us;
    bool has_temporal; /* VP8 with temporal layers seen */
    /* SVC (VP9, AV1 in one RTP stream): each packet's layers are read once here (svc.c), so
     * each spatial x temporal layer's bitrate is measured like the simulcast layers'. */
    uint64_t svc_bytes[SB_VR_SVC_LAYERS][SB_VR_SVC_LAYERS];
    uint32_t svc_bps[SB_VR_SVC_LAYERS][SB_VR_SVC_LAYERS];
    int64_t svc_last_us[SB_VR_SVC_LAYERS];    /* arrival of each spatial layer's last packet */
    int64_t svc_tl_last_us[SB_VR_SVC_LAYERS]; /* ... of each temporal layer's */
    sb_dd_structure_t dd[SB_MEDIA_MAX_LAYERS]; /* AV1: the last template structure per SSRC */
    sb_vr_sub_stream_t **subs; /* the bindings of this loop */
    unsigned nsubs, cap;
    sb_vr_publisher_t *pub; /* borrowed: the fan-out's owner holds it */
    unsigned index;         /* the stream's index in pub->streams */
    sb_vr_relay_t *relay;   /* NULL on the publisher's loop */
} sb_vr_fanout_t;

/* One published m-line. ctl fields describe it; loop fields are the forwarding state. */
typedef struct sb_vr_pub_stream {
    /* ctl */
    sb_media_stream_t neg; /* as negotiated (copy from core->streams) */
    char *description;
    bool moderated; /* muted by a moderator */
    bool paused;    /* the publisher asked not to relay it (configure "send": false) */
    bool disabled;  /* inactive m-line */
    sb_vr_relay_t **relays; /* one per other loop with subscribers: references */
    unsigned nrelays;
    /* loop */
    struct {
        sb_vr_fanout_t fan; /* neg, codec, liveness, and the subscribers of this loop */
        bool muted;         /* moderated or paused by its publisher */
        sb_vr_relay_t **relays; /* the other loops served: references */
        unsigned nrelays, relays_cap;
        sb_rtp_packet_t **local; /* deferred local fan-out (relay.c), SB_VR_BATCH_MAX */
        unsigned nlocal;
        bool pending; /* in the loop's flush list (relay.c) */
        int64_t last_fir_us;
        /* audio levels */
        unsigned level_packets;
        unsigned level_sum;
        bool talking;
    } loop;
} sb_vr_pub_stream_t;

/* A participant (ptype publisher). Referenced by its session, its room's participants
 * table, the subscriber streams fed from it, and loop bindings. ctl except where marked. */
struct sb_vr_publisher {
    sb_refcount_t ref;
    sb_vr_room_t *room; /* a reference */
    sb_vr_session_t *session; /* a reference */
    sb_plugin_handle_t *h;    /* borrowed from the session */
    uint64_t id;
    uint32_t private_id;
    char *display;
    int pc_loop;    /* media loop of its PeerConnection, -1 before the first answer */
    sb_vr_pub_state_t state; /* states.h; changed by sb_vr_pub_transition only */
    uint32_t bitrate; /* REMB cap override; 0: the room's */
    unsigned audio_active_packets, audio_level_average; /* 0: the room's */
    char *acodec_pref, *vcodec_pref;
    unsigned nstreams;
    sb_vr_pub_stream_t streams[SB_MEDIA_MAX_STREAMS];
    json_t *descriptions; /* [{mid, description}] from publish/configure */
    bool talking;         /* last talking state reported */
    /* Subscribers with this publisher as a data source (references); data.c's lock. */
    GPtrArray *data_subs;
    /* loop (data.c): bytes posted to other loops not yet sent there; messages dropped for
     * it (any thread reads) */
    atomic_size_t data_inflight;
    atomic_uint_fast64_t data_relay_dropped;
    /* loop */
    struct {
        unsigned nstreams; /* streams[] valid on the loop */
        atomic_uint remb_bps;
        int64_t last_remb_us;
        unsigned fir_freq_s;
        bool level_events;
        unsigned level_packets, level_average;
    } loop;
};

void sb_vr_publisher_ref(sb_vr_publisher_t *p);
void sb_vr_publisher_unref(sb_vr_publisher_t *p);
/* Message thread. */
void sb_vr_publisher_join(sb_vr_msg_t *m, bool and_configure);
void sb_vr_publisher_request(sb_vr_msg_t *m, const char *request);
/* Under the lock: description in "publishers" lists. Owned. */
json_t *sb_vr_publisher_json(const sb_vr_publisher_t *p);
/* Under the lock: stop publishing (PeerConnection already gone or closing). Notifies the
 * room and the subscribers; reason NULL for a plain unpublish. */
void sb_vr_publisher_unpublish(sb_vr_publisher_t *p, sb_vr_outbox_t *ob);
/* Under the lock: leave the room (unpublishes first). kicked: tell them so. */
void sb_vr_publisher_leave(sb_vr_publisher_t *p, sb_vr_outbox_t *ob, bool kicked,
                           bool notify_self);
/* Media callbacks for a publisher session (loop thread, deferred to the message thread). */
void sb_vr_publisher_setup_media(sb_vr_session_t *s);
void sb_vr_publisher_hangup_media(sb_vr_session_t *s);
/* From the loop: a talking state change (message thread). */
void sb_vr_publisher_talking(sb_vr_publisher_t *p, unsigned stream, bool talking,
                             unsigned avg);
/* Under the lock: a moderator mutes or unmutes stream idx. */
void sb_vr_publisher_moderate(sb_vr_publisher_t *p, unsigned idx, bool mute,
                              sb_vr_outbox_t *ob);
/* Pin and token checks of every join. Under the lock. NULL or an error (owned). */
json_t *sb_vr_join_auth(sb_vr_room_t *r, json_t *body);
/* Index of the stream with this mid, -1. */
int sb_vr_publisher_stream_by_mid(const sb_vr_publisher_t *p, const char *mid);

/* ---- subscribers (subscriber.c) --------------------------------------------------------- */

/* One m-line of a subscription. ctl fields describe it; loop fields forward into it. */
struct sb_vr_sub_stream {
    /* ctl */
    unsigned mindex;
    char mid[8];
    sb_media_kind_t kind;
    sb_vr_publisher_t *feed; /* a reference, NULL when inactive */
    unsigned feed_index;     /* index into feed->streams */
    char feed_mid[32];
    sb_media_stream_t src;   /* what this m-line offers (codec, pt, ...) */
    bool used;               /* the m-line exists (active or not) */
    bool send;
    int substream, temporal; /* -1: highest */
    int spatial_layer, temporal_layer; /* VP9 SVC (svc.c), -1: highest */
    int max_substream, max_temporal;   /* caps on the automatic choice, -1: none */
    bool ready;              /* negotiated and active */
    char *crossrefid;
    /* kind DATA: one m-line carries every data source (feed is NULL); references. */
    GPtrArray *sources;
    /* loop */
    struct {
        sb_vr_subscriber_t *owner;
        /* A binding: the fan-out of this loop that feeds us (the publisher stream's own, or
         * a relay's); holds a reference on src_pub, on owner and on the relay if any. */
        sb_vr_fanout_t *src;
        sb_vr_publisher_t *src_pub;
        sb_media_stream_t neg; /* this m-line as negotiated */
        bool have_neg;
        bool send, paused, switched;
        bool waiting_kf; /* video: forward nothing until a keyframe starts */
        int target_layer, cur_layer, target_temporal;
        /* Automatic layer choice (allocate.c): what the subscriber pinned is kept; the rest
         * follows its bandwidth estimate, and the m-line pauses when nothing fits. */
        bool pin_layer, pin_temporal;
        bool cc_paused, alloc_seen;
        bool drop_old; /* a step down from far over the estimate: old layer stopped */
        int8_t ev_substream, ev_temporal; /* last announced + 1, 0: none yet */
        int max_layer, max_temporal; /* the subscriber's caps (substream or spatial), -1 none */
        int64_t alloc_down_us, alloc_up_us; /* the last step down, up */
        int64_t alloc_hold_us; /* no step up this long after a step down */
        uint32_t alloc_down_bps; /* the estimate at the last step down */
        int64_t alloc_resume_us; /* paused video fits since then (0: it does not) */
        int64_t alloc_active_us; /* the subscriber resumed it at (0: never paused) */
        int64_t last_kf_req_us;
        bool rw_init;
        uint32_t rw_clock;
        sb_seq_rewrite_t rw;
        uint8_t ext_map[256];
        bool ext_remap;
        sb_vp8_renumber_t vp8; /* picture ids continuous across simulcast switches */
        sb_svc_select_t svc; /* SVC layers forwarded (svc.c) */
        bool svc_init;
        /* SVC layers the subscriber pinned (spatial_layer, temporal_layer): kept by the
         * automatic choice, which sets the other one (apart from pin_layer/pin_temporal). */
        bool svc_pin_spatial, svc_pin_temporal;
        int64_t svc_kf_due_us; /* a keyframe to ask for then, after a step down (allocate.c) */
        uint64_t sent, dropped;
    } loop;
};

/* A subscription (ptype subscriber). Referenced by its session, its room, and loop
 * bindings. ctl except where marked. */
struct sb_vr_subscriber {
    sb_refcount_t ref;
    sb_vr_room_t *room;       /* a reference */
    sb_vr_session_t *session; /* a reference */
    sb_plugin_handle_t *h;    /* borrowed from the session */
    int pc_loop;              /* media loop of its PeerConnection, chosen at join */
    bool use_msid, autoupdate;
    bool paused;
    sb_vr_sub_state_t state; /* states.h; changed by sb_vr_sub_transition only */
    unsigned offered_live;   /* m-lines the last offer made active */
    bool reneg_due;          /* a renegotiation is owed once the offer out is answered */
    bool reneg_queued;       /* a deferred renegotiation is queued */
    bool loop_up; /* loop: the PeerConnection is up (setup_media) */
    uint32_t loop_est_bps, loop_wanted_bps; /* loop: last estimate, last want_bitrate */
    unsigned nstreams;
    int data_index; /* the data m-line's slot, -1 none; set once, read on the loop */
    /* loop (data.c): what a client that does not keep up with data lost */
    atomic_uint_fast64_t data_dropped_unreliable, data_dropped_reliable;
    int64_t data_last_event_us;
    uint64_t data_reported; /* data_dropped_reliable in the last event */
    /* The first nstreams are allocated, each when its m-line is added, and kept until the
     * subscriber goes (loop closures hold their address): a stream is ~1.5 KiB, most
     * subscriptions have two. */
    sb_vr_sub_stream_t *streams[SB_MEDIA_MAX_STREAMS];
};

/* Stream i of s, or NULL past the last one, for a loop walking every slot while the control
 * side may be adding one (published with a release store in sb_vr_sub_add_streams). */
static inline sb_vr_sub_stream_t *sb_vr_sub_stream_at(sb_vr_subscriber_t *s, unsigned i)
{
    return __atomic_load_n(&s->streams[i], __ATOMIC_ACQUIRE);
}

/* One requested source of a subscription: a feed and one of its streams. */
typedef struct sb_vr_pick {
    sb_vr_publisher_t *feed; /* borrowed (under the lock) */
    unsigned index;
    const char *crossrefid;
    int substream, temporal;
    int spatial_layer, temporal_layer;
    int max_substream, max_temporal;
} sb_vr_pick_t;

void sb_vr_subscriber_ref(sb_vr_subscriber_t *s);
void sb_vr_subscriber_unref(sb_vr_subscriber_t *s);
void sb_vr_subscriber_join(sb_vr_msg_t *m);
void sb_vr_subscriber_request(sb_vr_msg_t *m, const char *request);
/* Under the lock: streams fed by p stop (p unpublished or left); renegotiate when asked. */
void sb_vr_subscribers_feed_gone(sb_vr_room_t *r, sb_vr_publisher_t *p);
/* Under the lock: the subscription ends (leave, room destroyed, handle gone). */
void sb_vr_subscriber_leave(sb_vr_subscriber_t *s, sb_vr_outbox_t *ob);
void sb_vr_subscriber_hangup_media(sb_vr_session_t *s);
/* Shared by subscriber.c and subscription.c. Under the lock unless said otherwise. */
/* Resolve [{feed, mid?, crossrefid?, substream?, temporal?}]: count, or -1 and *err. */
int sb_vr_sub_resolve(sb_vr_room_t *r, json_t *items, sb_vr_pick_t *out, unsigned max,
                      json_t **err);
/* New m-lines for picks (inactive ones of the same kind are reused), bound on the loop. */
/* Returns how many m-lines that changes (a source added to the live data m-line: none). */
unsigned sb_vr_sub_add_streams(sb_vr_subscriber_t *s, const sb_vr_pick_t *picks, unsigned n);
void sb_vr_sub_set_feed(sb_vr_sub_stream_t *ss, sb_vr_publisher_t *p, unsigned k);
void sb_vr_sub_stream_drop(sb_vr_subscriber_t *s, unsigned i); /* m-line i inactive */
/* Take p (NULL: every source) off the data m-line ss. */
void sb_vr_sub_drop_source(sb_vr_subscriber_t *s, sb_vr_sub_stream_t *ss, sb_vr_publisher_t *p);
unsigned sb_vr_sub_free_slots(const sb_vr_subscriber_t *s);
/* Message thread, lock not held: a new offer, pushed as "updated". */
void sb_vr_sub_renegotiate(sb_vr_subscriber_t *s, const char *transaction);
/* configure with restart: true: a new offer with new ICE credentials, pushed with reply
 * (owned). Message thread, lock not held. */
void sb_vr_sub_restart_ice(sb_vr_subscriber_t *s, const char *transaction, json_t *reply);
/* Message thread, lock not held: push data (taken) as the answer to transaction. */
void sb_vr_sub_reply(sb_vr_subscriber_t *s, const char *transaction, json_t *data);
/* "streams" array of a subscription. Under the lock. Owned. */
json_t *sb_vr_subscriber_streams_json(const sb_vr_subscriber_t *s);

/* ---- the forwarding graph (graph.c) and the hot path (forward.c) ----------------------- */

/* Post fn(arg) to media loop `loop`; when there is none (no media yet) or the post fails,
 * run it inline: then no loop can be touching what it changes. Call under the lock. */
void sb_vr_post_to(int loop, void (*fn)(void *arg), void *arg);

/* Each takes the references it needs; call under the lock. */
void sb_vr_fwd_pub_attach(sb_vr_publisher_t *p); /* streams (re)negotiated: loop copy */
void sb_vr_fwd_pub_detach(sb_vr_publisher_t *p); /* unpublished: unbind everything */
void sb_vr_fwd_bind(sb_vr_subscriber_t *s, unsigned idx); /* per s->streams[idx].feed */
void sb_vr_fwd_unbind(sb_vr_subscriber_t *s, unsigned idx);
void sb_vr_fwd_sub_config(sb_vr_subscriber_t *s, unsigned idx); /* send/layers/paused */
void sb_vr_fwd_sub_attach(sb_vr_subscriber_t *s, const sb_media_stream_t *neg, unsigned n);
void sb_vr_fwd_sub_detach(sb_vr_subscriber_t *s);
void sb_vr_fwd_session_release(sb_vr_session_t *s); /* drop loop_pub/loop_sub, then s */
void sb_vr_fwd_pub_keyframe(sb_vr_publisher_t *p, unsigned idx); /* ask for a keyframe */

/* The fan-out's loop: a keyframe request for its publisher stream, sent from the
 * publisher's loop (posted there from a relay's loop). No-op for audio or inline runs. */
void sb_vr_request_kf(sb_vr_fanout_t *fan, int layer);
/* The same for a subscriber stream that has no picture yet (bound, connected, resumed):
 * the core asks at once even inside its rate limit (request_first_keyframe). */
void sb_vr_request_first_kf(sb_vr_fanout_t *fan, int layer);

/* ---- automatic layer choice (allocate.c), loop threads ------------------------------------- */

/* Per packet of a fan-out: its layer's bitrate (svc: its SVC layers, NULL without). */
void sb_vr_alloc_measure(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt,
                         const sb_svc_layer_t *svc, int64_t now);
/* A subscriber's PeerConnection is up: the layers to start with (before its keyframe
 * requests). */
void sb_vr_alloc_start(sb_vr_subscriber_t *sub);
/* The core's estimate for a subscriber: choose layers, tell the core what more it wants. */
void sb_vr_alloc_on_estimate(sb_vr_subscriber_t *sub, uint32_t bps);
/* The reference's layer-change event for the m-line (substream, temporal: -1 left out). */
void sb_vr_layer_event(sb_vr_sub_stream_t *ss, int substream, int temporal);
/* Loop thread: recompute a subscriber stream's header extension id map. */
void sb_vr_fwd_ext_map(sb_vr_sub_stream_t *ss);
/* The fan-out's loop: add or remove a binding (the caller handles the references). */
void sb_vr_fanout_add(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss);
void sb_vr_fanout_remove(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss);
/* The fan-out's loop: forward one packet to every binding of fan (forward.c). */
void sb_vr_fanout_run(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt, int64_t now);

/* Loop thread (plugin ops). */
void sb_vr_fwd_media_up(sb_vr_session_t *s);
void sb_vr_fwd_media_down(sb_vr_session_t *s);
void sb_vr_fwd_on_rtp(sb_vr_session_t *s, sb_rtp_packet_t *pkt);
void sb_vr_fwd_on_keyframe_request(sb_vr_session_t *s, unsigned stream);

/* ---- SVC (svc.c), the subscriber stream's loop ---------------------------------------- */

/* The fan-out's loop, once per packet: its SVC layers in *l (VP9's payload descriptor, or
 * AV1's dependency descriptor read with the structure fan keeps per SSRC). False when it has
 * none (other codecs, plain VP9, no usable descriptor): it passes whole. */
bool sb_vr_svc_layer(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt, sb_svc_layer_t *l);
/* Whether a packet of fan whose layers are l goes to ss (the layers the subscriber gets, see
 * proto/svc_select.h); *mark: set the copy's marker bit (it now ends the highest layer
 * forwarded of its picture). Asks for keyframes and sends the reference's spatial_layer /
 * temporal_layer events. */
bool sb_vr_svc_filter(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss, const sb_rtp_packet_t *pkt,
                      const sb_svc_layer_t *l, int64_t now, bool *mark);
/* The subscriber's choice (configure/join spatial_layer, temporal_layer; -1: not pinned,
 * the automatic choice's, or the highest before it chose). */
void sb_vr_svc_config(sb_vr_sub_stream_t *ss, int spatial_layer, int temporal_layer);
/* The automatic choice (allocate.c): the layers to forward (-1: the highest). */
void sb_vr_svc_target(sb_vr_sub_stream_t *ss, int spatial_layer, int temporal_layer);

/* ---- RED of Opus (red.c), the subscriber stream's loop ---------------------------------- */

/* How ss gets pkt: *strip -1 as it is (not RED, or ss negotiated RED), else the offset of the
 * primary encoding in its payload (ss did not). False: drop it (unreadable RED). */
bool sb_vr_red_plan(const sb_vr_fanout_t *fan, const sb_vr_sub_stream_t *ss,
                    const sb_rtp_packet_t *pkt, int *strip);
/* Rewrite the copy of a RED packet in buf (len bytes) for ss: RED's payload type, or (strip
 * >= 0) the primary encoding alone under Opus's. Returns the new length. */
size_t sb_vr_red_rewrite(const sb_vr_sub_stream_t *ss, uint8_t *buf, size_t len,
                         const sb_rtp_packet_t *pkt, int strip);

/* ---- data channels (data.c) ---------------------------------------------------------- */

/* A subscriber starts or stops receiving p's data (any thread; takes data.c's lock). */
void sb_vr_data_link(sb_vr_publisher_t *p, sb_vr_subscriber_t *s);
void sb_vr_data_unlink(sb_vr_publisher_t *p, sb_vr_subscriber_t *s);
/* The publisher goes: drop what is left of its list. */
void sb_vr_data_free(sb_vr_publisher_t *p);
/* Loop thread: a message from the client of ses (relayed when it is a publisher). */
void sb_vr_data_on_message(sb_vr_session_t *ses, const sb_data_message_t *msg);
static inline const char *sb_vr_kind_name(sb_media_kind_t kind)
{
    return kind == SB_MEDIA_AUDIO ? "audio" : kind == SB_MEDIA_VIDEO ? "video" : "data";
}
/* True when the m-line carries media or data from some publisher. */
static inline bool sb_vr_sub_stream_live(const sb_vr_sub_stream_t *ss)
{
    return ss->feed || (ss->sources && ss->sources->len);
}

/* ---- relays to other loops (relay.c) ---------------------------------------------------- */

/* Batches of packets per relay: flushed when full, else once the home loop's current
 * iteration is over. */
#define SB_VR_BATCH_MAX 32

/* Under the lock: the relay of p's stream k to loop `loop`, created (and attached on p's
 * loop) when missing. Borrowed (the stream holds it until sb_vr_relays_drop). */
sb_vr_relay_t *sb_vr_relay_get(sb_vr_publisher_t *p, unsigned k, int loop);
/* Under the lock: p's streams were (re)negotiated or (un)muted: update every relay's copy. */
void sb_vr_relays_update(sb_vr_publisher_t *p);
/* Under the lock: forget the relays of every stream of p (unpublished). */
void sb_vr_relays_drop(sb_vr_publisher_t *p);
void sb_vr_relay_ref(sb_vr_relay_t *r);
void sb_vr_relay_unref(sb_vr_relay_t *r); /* NULL is fine; any thread */
sb_vr_fanout_t *sb_vr_relay_fanout(sb_vr_relay_t *r); /* borrowed */
/* Serving loop: its fan-out's binding count changed (a hint for the home loop). */
void sb_vr_relay_live(sb_vr_relay_t *r, unsigned nsubs);
/* Home loop: hand pkt to every relay of ps that serves subscribers. When one took it, the
 * local fan-out is deferred too and true returned: it runs once the batches are posted. */
bool sb_vr_relays_push(sb_vr_pub_stream_t *ps, const sb_rtp_packet_t *pkt);
/* Home loop: post what is batched for ps's relays, forward what waits locally, and drop the
 * relays (unpublished). */
void sb_vr_relays_detach(sb_vr_pub_stream_t *ps);
/* Serving loop: a keyframe request for the relay's stream, posted to the home loop. */
void sb_vr_relay_request_kf(sb_vr_relay_t *r, int layer, bool first);
/* deinit: on every loop (sb_loop_call_sync), drop the loop's pending batches and its flush
 * source, so no plugin code is left attached to a loop. */
void sb_vr_relays_loop_stop(void);

#endif
