/* The plugin ABI: what a plugin and the daemon say to each other.
 *
 * A plugin is a shared object in the plugins folder. It defines one descriptor
 * (sb_plugin_t) and names it with SB_PLUGIN_DEFINE(descriptor), which exports the one
 * symbol the daemon looks for, sb_plugin_get. The daemon checks the descriptor's ABI
 * version, calls init() with the core's callback table (sb_core_api_t), then routes the
 * requests and media of every handle attached to the plugin's package name. Nothing else
 * crosses: the daemon exports no symbol, and everything a plugin asks of it goes through the
 * callback table; the helpers of the other switchboard/ headers are linked into the plugin
 * (libswitchboard-plugin.a, see docs/plugins.md).
 *
 * Versions. SB_PLUGIN_ABI_MAJOR changes when a change breaks plugins built before it; the
 * daemon refuses a plugin of another major, with a log line naming both. SB_PLUGIN_ABI_MINOR
 * grows with additions: ops appended at the end of sb_core_api_t or sb_plugin_t, never moved.
 * The daemon takes a plugin of any minor of its major: it reads a descriptor's ops only up to
 * the descriptor's size, and a plugin calls a core op added after the minor the daemon was
 * built for only when SB_CORE_HAS(core, op) says the table has it.
 *
 * Threads. "control" is the thread that runs API requests (a transport thread); it never
 * waits on a plugin, so a plugin that does slow work queues it to a thread of its own.
 * "loop" is the media loop the handle's PeerConnection is bound to. Ownership of every
 * argument is stated per op: "borrowed" means valid for the call only. */
#ifndef SWITCHBOARD_PLUGIN_H
#define SWITCHBOARD_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/rtp.h"

#define SB_PLUGIN_ABI_MAJOR 8
#define SB_PLUGIN_ABI_MINOR 3

/* The core's view of one handle, shared with the plugin that owns it. Created by the
 * core before create_handle(); its memory stays valid while the plugin holds a
 * reference (handle_ref) or until destroy_handle() returns. */
typedef struct sb_plugin_handle {
    uint64_t session_id; /* for logs only */
    uint64_t handle_id;
    void *plugin_data; /* the plugin's own state: set in create_handle, freed in destroy */
} sb_plugin_handle_t;

typedef enum sb_plugin_result_kind {
    SB_PLUGIN_OK,      /* answered now: content is the reply's plugindata.data */
    SB_PLUGIN_OK_WAIT, /* will answer with push_event(transaction): the API replies "ack" */
    SB_PLUGIN_ERROR,   /* a severe error, the API replies error 462 with this text */
} sb_plugin_result_kind_t;

typedef struct sb_plugin_result {
    sb_plugin_result_kind_t kind;
    json_t *content; /* OK: owned reference handed to the core */
    char *error;     /* ERROR: owned (malloc'd) text handed to the core, may be NULL */
} sb_plugin_result_t;

/* ---- media ---------------------------------------------------------------------------- */

typedef enum sb_media_kind {
    SB_MEDIA_AUDIO = 0,
    SB_MEDIA_VIDEO = 1,
    SB_MEDIA_DATA = 2, /* the data channel m-line (SCTP): no codec, no SSRCs */
} sb_media_kind_t;

#define SB_MEDIA_MAX_LAYERS 3 /* simulcast layers per stream */
#define SB_MEDIA_MAX_STREAMS 32 /* m-lines per PeerConnection */

/* One negotiated m-line of a PeerConnection. Filled by the core at each negotiation;
 * plugins read it (on any thread) through core->streams() and copy what they keep. */
typedef struct sb_media_stream {
    unsigned index; /* m-line index in the SDP */
    char mid[40];
    sb_media_kind_t kind;
    bool active; /* false: rejected (port 0) or inactive */
    bool recv;   /* the client sends media to us on it (RTP: always false for DATA) */
    bool send;   /* we send media to the client on it (RTP: always false for DATA) */
    uint8_t pt;  /* negotiated payload type */
    uint8_t rtx_pt; /* 0: no RTX */
    uint8_t red_pt; /* audio: RED (RFC 2198) of pt, 0: none; such packets come as they are */
    char codec[16]; /* "opus", "VP8", "VP9", "H264", "AV1", "PCMU", ... */
    uint32_t clock_rate;
    uint8_t channels;
    char fmtp[256];
    /* What the client sends (recv): one layer, or 2-3 simulcast layers, lowest first. */
    unsigned layers;
    uint32_t remote_ssrc[SB_MEDIA_MAX_LAYERS]; /* 0: not announced, learnt from rid */
    uint32_t remote_rtx_ssrc[SB_MEDIA_MAX_LAYERS];
    char rid[SB_MEDIA_MAX_LAYERS][16]; /* "" without rid-based simulcast */
    /* What we send (send). */
    uint32_t local_ssrc;
    uint32_t local_rtx_ssrc;
    /* Header extension ids, 0 when not negotiated. */
    uint8_t ext_mid, ext_rid, ext_repaired_rid, ext_audio_level, ext_abs_send_time,
        ext_twcc, ext_video_orientation, ext_playout_delay;
    uint8_t ext_dependency_descriptor; /* AV1 m-lines only */
    /* rtcp-fb negotiated. */
    bool fb_nack, fb_pli, fb_fir, fb_remb, fb_twcc;
} sb_media_stream_t;

/* A received RTP packet, decrypted and parsed once by the core. Loop thread, valid for
 * the on_rtp call only. RTX is already unwrapped: the plugin sees the original packet,
 * flagged as a retransmission. data is writable: a plugin may rewrite it in place
 * (echotest does) and hand it to send_rtp. */
typedef struct sb_rtp_packet {
    const sb_media_stream_t *stream;
    unsigned layer;     /* simulcast layer (index into stream->rid/remote_ssrc) */
    bool retransmission;
    bool keyframe;      /* video: first packet of a keyframe (codec inspection) */
    int audio_level;    /* audio: -dBov 0..127 from RFC 6464, -1 when absent */
    bool voice;         /* audio: the V bit of RFC 6464 */
    int64_t arrival_us; /* monotonic */
    uint8_t *data;      /* plaintext RTP */
    size_t len;
    sb_rtp_view_t rtp;  /* parsed view of data */
    void *core_buf;     /* the core's buffer holding data: for forward_rtp, opaque */
} sb_rtp_packet_t;

/* What a plugin wants when the core answers a client's offer. */
typedef struct sb_answer_opts {
    /* Directions we accept per kind: recv (the client may send), send (we will send). */
    bool audio_recv, audio_send, video_recv, video_send;
    /* Codec preference ("opus", "vp8,h264", ...); NULL: the core's default order. */
    const char *audio_codecs;
    const char *video_codecs;
    /* Media loop index to bind the PeerConnection to; -1: the core picks. Rooms pin all
     * their peers to one loop so fan-out is a plain loop with no lock. */
    int loop;
    /* Accept a data channel m-line (SCTP): messages then come to on_data and go out with
     * send_data. false: the m-line is rejected. */
    bool data;
    /* Accept RED (RFC 2198) of Opus when the client offers it: it then sends RED, whose
     * packets reach on_rtp with stream->red_pt. */
    bool audio_red;
} sb_answer_opts_t;

/* How a data channel delivers (RFC 8831 section 6.1): reliable, or partially reliable by a
 * number of retransmissions or a lifetime. */
typedef enum sb_data_reliability {
    SB_DATA_RELIABLE = 0,
    SB_DATA_MAX_RETRANSMITS = 1, /* reliability_param retransmissions at most */
    SB_DATA_MAX_LIFETIME = 2,    /* retransmitted for reliability_param ms at most */
} sb_data_reliability_t;

/* One data channel message, text or binary, with the properties of its channel. Borrowed
 * for the call. Received (on_data): the channel's label, protocol and properties as the
 * client opened it. Sent (send_data): the message goes on the channel with this label; when
 * the client has none by that name the core opens one with these properties (so a relay
 * keeps an unordered, unreliable channel unordered and unreliable). */
typedef struct sb_data_message {
    const char *label;    /* the channel's label ("" when it has none; NULL = "") */
    const char *protocol; /* its subprotocol ("" when none; NULL = "") */
    bool binary;
    const uint8_t *data;
    size_t len;
    bool unordered;
    sb_data_reliability_t reliability;
    uint32_t reliability_param;
} sb_data_message_t;

/* One stream Switchboard offers to send (subscribers). Kind SB_MEDIA_DATA: a data channel
 * m-line (one per offer); only mid and active mean anything for it. */
typedef struct sb_offer_stream {
    sb_media_kind_t kind;
    const char *mid;      /* NULL: "0", "1", ... by position */
    const char *codec;    /* "opus", "VP8", ... */
    uint8_t pt;
    uint32_t clock_rate;
    uint8_t channels;     /* audio */
    const char *fmtp;     /* NULL: none */
    uint8_t rtx_pt;       /* 0: no RTX */
    uint8_t red_pt;       /* audio: offer RED of pt too (first), 0: none */
    const char *msid_stream; /* MediaStream id the client sees (e.g. the publisher's id) */
    const char *msid_track;
    bool active;          /* false: m-line kept but inactive (a feed that left) */
} sb_offer_stream_t;

typedef void (*sb_loop_fn_t)(void *arg);

/* What the core offers plugins. Every callback is thread-safe unless it says otherwise. */
typedef struct sb_core_api {
    /* The daemon's ABI (SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR) and sizeof its table. These
     * three come first in every major to come, so a plugin of any version can read them. */
    unsigned abi_major;
    unsigned abi_minor;
    size_t size;

    /* Queue an event for the handle's session: {"janus":"event","sender":handle_id,
     * "transaction":transaction (NULL = unsolicited),"plugindata":{"plugin":<package>,
     * "data":data},"jsep":jsep}. data and jsep are borrowed (the core takes its own
     * reference). Returns 0, or SB_ENOENT when the handle is gone. */
    int (*push_event)(sb_plugin_handle_t *h, const char *transaction, json_t *data,
                      json_t *jsep);
    /* Keep the handle's memory alive beyond destroy_handle (for queued work). */
    void (*handle_ref)(sb_plugin_handle_t *h);
    void (*handle_unref)(sb_plugin_handle_t *h);
    /* Tear down the PeerConnection of this handle (the handle stays). */
    void (*close_pc)(sb_plugin_handle_t *h);
    /* Detach this handle as if the client had sent "detach". */
    void (*end_handle)(sb_plugin_handle_t *h);
    /* True while the handle exists (not detached or destroyed). */
    bool (*handle_alive)(sb_plugin_handle_t *h);

    /* -- negotiation: any non-loop thread (they wait briefly for the handle's loop) -- */
    /* Answer the client's offer (a validated jsep, borrowed). Creates or updates the
     * PeerConnection. Returns 0 and *answer (owned {"type":"answer","sdp":...}), or an
     * SB_E* code with a reason for the client (the plugin reports it, e.g. as 465). */
    int (*answer_offer)(sb_plugin_handle_t *h, json_t *offer, const sb_answer_opts_t *opts,
                        json_t **answer, char *reason, size_t reason_len);
    /* Offer to send these streams (creates or renegotiates the PeerConnection); loop as
     * in sb_answer_opts_t. *offer is owned. */
    int (*make_offer)(sb_plugin_handle_t *h, const sb_offer_stream_t *streams, unsigned n,
                      int loop, json_t **offer, char *reason, size_t reason_len);
    /* The next make_offer restarts ICE: new ICE credentials on the same PeerConnection,
     * DTLS and SRTP kept (a client that changed networks). */
    void (*request_ice_restart)(sb_plugin_handle_t *h);
    /* The client's answer to our offer (validated jsep, borrowed). */
    int (*process_answer)(sb_plugin_handle_t *h, json_t *answer, char *reason,
                          size_t reason_len);
    /* Copy of the negotiated streams into out (up to max); returns how many. */
    unsigned (*streams)(sb_plugin_handle_t *h, sb_media_stream_t *out, unsigned max);
    /* The media loop index the handle's PeerConnection is bound to, -1 when none. */
    int (*loop_index)(sb_plugin_handle_t *h);
    /* Run fn(arg) on media loop index (a mailbox post; returns at once). */
    int (*loop_post)(int loop, sb_loop_fn_t fn, void *arg);

    /* -- media: the handle's loop thread only -- */
    /* Send one plaintext RTP packet on a stream we send on: the header is final (the
     * plugin rewrote ssrc/seq/timestamp/pt as needed); the core copies, protects and
     * sends it, and keeps it for NACK retransmission. 0, SB_ESTATE when not connected. */
    int (*send_rtp)(sb_plugin_handle_t *h, unsigned stream, const uint8_t *data, size_t len);
    /* The fan-out path: buf (cap bytes of writable scratch, consumed: the core may encrypt
     * in it) is src rewritten for this handle, with the same length as src and the same
     * bytes except in the RTP header and the first 8 payload bytes. The core keeps only
     * those rewritten bytes for NACKs and shares src's buffer for the rest, so a subscriber
     * costs no packet copy of its own. Anything else: use send_rtp. */
    int (*forward_rtp)(sb_plugin_handle_t *h, unsigned stream, uint8_t *buf, size_t len,
                       size_t cap, const sb_rtp_packet_t *src);
    /* Keep a received packet beyond on_rtp, e.g. to hand it to another media loop: an
     * owned copy of the descriptor whose data stays valid (shared, read-only: copy it
     * before rewriting) until packet_release; stream is NULL in the copy (it belongs to
     * the receiving loop). Any thread may release. NULL when pkt has no core buffer. */
    sb_rtp_packet_t *(*packet_retain)(const sb_rtp_packet_t *pkt);
    void (*packet_release)(sb_rtp_packet_t *pkt);
    /* Ask the client for a keyframe on a stream it sends (PLI, or FIR when only that was
     * negotiated); the core rate-limits. */
    void (*request_keyframe)(sb_plugin_handle_t *h, unsigned stream, unsigned layer);
    /* Cap the bitrate the client sends us (REMB), 0 = no cap. */
    void (*send_remb)(sb_plugin_handle_t *h, uint32_t bitrate_bps);
    /* Send a data channel message (see sb_data_message_t; borrowed). It goes on the
     * client's channel with the same label, protocol and properties; a plain message
     * (reliable, ordered, no protocol) on the latest reliable ordered channel with its
     * label; otherwise on a new channel of ours, announced first (DCEP). May be called from
     * on_data. Returns 0: sent, or (reliable) held in order until the client's window opens
     * (at most 1 MiB per client; a message held may still be lost if its channel closes or
     * the association ends); SB_ESTATE (no association up); SB_EINVAL (over the client's or
     * our max-message-size, or a label or protocol over 1,024 bytes); SB_ENOMEM (no stream
     * left for a new channel); SB_EAGAIN (unreliable: the send buffer is full; reliable: the
     * 1 MiB held back is full too — dropped and counted: a client that does not keep up
     * costs bounded memory); SB_EIO (refused by the SCTP stack). */
    int (*send_data)(sb_plugin_handle_t *h, const sb_data_message_t *msg);
    /* Close our channels with this label (an SCTP stream reset; the client sees them
     * close): for a source that is gone, so its streams can carry new channels. 0, or
     * SB_ESTATE. */
    int (*close_data)(sb_plugin_handle_t *h, const char *label);
    /* What the plugin would send this client if the bandwidth estimate allowed it (e.g.
     * its streams at the next layer up), in bits/s; 0: nothing more. When it is above the
     * estimate (on_bitrate_estimate) the core probes the path for it (padding). */
    void (*want_bitrate)(sb_plugin_handle_t *h, uint32_t bitrate_bps);

    /* Any thread. An event for the operator's event handlers (a plugin event of the
     * reference's format: {"plugin": <package>, "data": data}), about h, or about no handle
     * when h is NULL (a room an admin request destroyed). data is borrowed. Check
     * events_wanted first: with no handler taking plugin events, build nothing. */
    bool (*events_wanted)(void);
    void (*notify_event)(const char *package, sb_plugin_handle_t *h, json_t *data);

    /* -- media loops: placement and load. Any thread unless said otherwise -- */
    /* How many media loops the daemon runs (fixed for its life). */
    unsigned (*loop_count)(void);
    /* The loop the core would bind a new PeerConnection to (the least loaded). */
    int (*loop_pick)(void);
    /* PeerConnections bound to a loop now, every plugin's counted; 0 for a bad index. */
    unsigned (*loop_load)(int loop);
    /* Run fn(arg) on the loop and wait for it: a barrier (e.g. in deinit, so work posted
     * to the loops has run before the plugin is unloaded). Never from a loop thread.
     * 0, or SB_EINVAL for a bad index. */
    int (*loop_call_sync)(int loop, sb_loop_fn_t fn, void *arg);

    /* -- logging (switchboard/log.h calls these; plugins use SB_INFO and friends) -- */
    /* The daemon's current level (lines above it are not written). */
    const int *log_level;
    /* One formatted line (no trailing newline needed), borrowed. */
    void (*log_line)(int level, const char *module, const char *line);

    /* -- 8.1 -- */
    /* Loop thread. request_keyframe for a receiver that has no picture yet (a new
     * subscriber, one that resumed): asked at once even inside the rate limit, unless a
     * request still on its way will bring the keyframe; the limit holds for repeats. */
    void (*request_first_keyframe)(sb_plugin_handle_t *h, unsigned stream, unsigned layer);

    /* -- 8.2: the cluster (docs/scaling.md) --
     * The directory of rooms in Redis, per plugin package: cluster-wide unique room ids,
     * each room's home node and configuration (the plugin's JSON), and its members on every
     * node. Not from a loop thread: the calls that answer wait for Redis (at most 250 ms)
     * and answer SB_EAGAIN at once while Redis is away; without a cluster (cluster_node
     * returns -1) they answer SB_ENOTSUP or NULL. Ids are strings of 1-255 bytes without a
     * newline (SB_EINVAL otherwise). JSON arguments are borrowed, results owned. */
    /* This node's id in the cluster, -1 when it runs alone. */
    int (*cluster_node)(void);
    /* True while the node has a heartbeat (a node gone or never seen: false). */
    bool (*cluster_node_alive)(unsigned node);
    /* Create the room unless its id is taken: 0 and *home (this node; the least loaded
     * other node while this one is draining), SB_EEXIST and the existing room's *home. */
    int (*dir_room_create)(const char *package, const char *room, json_t *config,
                           unsigned *home);
    /* The room's *home and *config (either may be NULL). adopt: a room whose home is gone
     * or draining becomes this node's first (a join). 0 or SB_ENOENT. */
    int (*dir_room_get)(const char *package, const char *room, bool adopt, unsigned *home,
                        json_t **config);
    /* A new configuration for the room. 0 or SB_ENOENT. */
    int (*dir_room_update)(const char *package, const char *room, json_t *config);
    /* The room and its members out of the directory. 0 or SB_ENOENT. */
    int (*dir_room_remove)(const char *package, const char *room);
    /* {"<room>": {"home": n, "config": ..., "members": n}} for every room of the package;
     * NULL: away. */
    json_t *(*dir_rooms)(const char *package);
    /* A member on this node joined or changed (info: what the plugin wants others to read,
     * the core adds "node"), or left. Never waits; said again after Redis comes back. */
    void (*dir_member_set)(const char *package, const char *room, const char *member,
                           json_t *info);
    void (*dir_member_remove)(const char *package, const char *room, const char *member);
    /* {"<member>": {"node": n, ...info}} for the room on every node; NULL: away. */
    json_t *(*dir_members)(const char *package, const char *room);

    /* -- 8.3: rooms that span nodes (docs/scaling.md) -- */
    /* A handle of the plugin's own, with no client behind it (e.g. media from or to another
     * node over a PeerConnection between nodes): create_handle runs for it as for an attach,
     * events pushed to it are dropped, it never times out, and end_handle detaches it. Not
     * from a loop thread. 0 and *out (valid until destroy_handle), or SB_E*. */
    int (*handle_new_internal)(const char *package, sb_plugin_handle_t **out);
    /* A message to the same plugin on another node (on_cluster_message there): body is
     * borrowed, signed with the cluster's secret, queued (never waits); messages from one
     * node arrive in order. 0, SB_EAGAIN (Redis away: not sent), SB_EINVAL (over 256 KiB,
     * this node, or no such node), SB_ENOTSUP (no cluster). */
    int (*cluster_send)(unsigned node, const char *package, json_t *body);
} sb_core_api_t;

/* True when the daemon's table has op: a plugin built for a later minor checks before it
 * calls an op the daemon it runs in may be too old to have. */
#define SB_CORE_HAS(core, op) \
    ((core)->size >= offsetof(sb_core_api_t, op) + sizeof((core)->op) && (core)->op != NULL)

typedef struct sb_plugin {
    /* SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR and sizeof(sb_plugin_t) the plugin was built
     * with: SB_PLUGIN_HEADER fills them. abi_major is where ABI 7's abi_version was, so a
     * plugin of any version is refused by name. */
    unsigned abi_major;
    unsigned abi_minor;
    size_t size;
    const char *package;  /* wire name, e.g. "janus.plugin.echotest" */
    const char *name;
    const char *description;
    const char *author;
    const char *version_string;
    int version;

    /* Main thread, once, before any other op. config_dir holds <package>.conf if the
     * operator wrote one. core is valid until deinit returns. 0 or SB_E*: a failing
     * plugin is not loaded. */
    int (*init)(const sb_core_api_t *core, const char *config_dir);
    /* Main thread, once, after every handle was destroyed. */
    void (*deinit)(void);

    /* Control thread. A client attached: set h->plugin_data. 0 or SB_E* (→ error 461). */
    int (*create_handle)(sb_plugin_handle_t *h);
    /* Control thread. A "message": body is a JSON object, jsep NULL or a validated
     * {"type":"offer"|"answer","sdp":"..."}; transaction is borrowed, body and jsep
     * are borrowed (json_incref to keep them). Must not block. A request answered later
     * (sb_plugin_wait) must be answered once with push_event and its transaction: the core
     * allows a handle SB_HANDLE_MAX_PENDING (32) such requests at a time and refuses more
     * (462) until answers come. */
    sb_plugin_result_t (*handle_message)(sb_plugin_handle_t *h, const char *transaction,
                                         json_t *body, json_t *jsep);
    /* Loop thread. The PeerConnection is up (DTLS done): media may flow. */
    void (*setup_media)(sb_plugin_handle_t *h);
    /* Loop thread. The PeerConnection went away (hangup, ICE/DTLS failure, detach), whether
     * or not it came up (setup_media): called for every one the plugin answered or offered,
     * before the core queues the client's "hangup" event (events pushed here come first). */
    void (*hangup_media)(sb_plugin_handle_t *h);
    /* Control thread. The handle is going: free h->plugin_data. After this returns the
     * core calls no other op for h. */
    void (*destroy_handle)(sb_plugin_handle_t *h);
    /* Control thread. Plugin state of one handle for the admin API; owned result or NULL. */
    json_t *(*query_handle)(sb_plugin_handle_t *h);

    /* Loop thread. One received RTP packet (see sb_rtp_packet_t). Optional. */
    void (*on_rtp)(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt);
    /* Loop thread. The client asks for a keyframe (PLI/FIR) on a stream we send. */
    void (*on_keyframe_request)(sb_plugin_handle_t *h, unsigned stream);
    /* Loop thread. What we can send this client, in bits/s: the core's estimate from the
     * client's transport-wide CC feedback when negotiated (capped by its REMB), at least
     * every 200 ms and on every change over 5 %; otherwise the client's REMB as it comes.
     * 0: no estimate (the client negotiated transport-wide CC but sends no feedback). */
    void (*on_bitrate_estimate)(sb_plugin_handle_t *h, uint32_t bitrate_bps);
    /* Loop thread. A data channel message from the client. Optional. */
    void (*on_data)(sb_plugin_handle_t *h, const sb_data_message_t *msg);

    /* Control thread (the Admin API's message_plugin). A request of the plugin's own admin
     * interface (the reference's handle_admin_message), answered at once: message is
     * borrowed; returns the owned response object. Optional (NULL: the core answers that
     * the plugin takes no admin requests). */
    json_t *(*handle_admin_message)(json_t *message);
    /* Any thread (a /metrics scrape). How many rooms the plugin hosts and how many
     * participants are in them. Optional. */
    void (*counts)(unsigned *rooms, unsigned *participants);
    /* Main thread (SIGHUP). Read <package>.conf in config_dir again and apply what can
     * change while running (rooms new in it); log what was not applied. 0, or SB_E* with
     * nothing changed. Optional. */
    int (*reload)(const char *config_dir);

    /* -- 8.3 -- */
    /* The cluster's thread of messages: a message of this plugin's from another node (body
     * borrowed), authenticated. Must not block (queue the work). Optional. */
    void (*on_cluster_message)(unsigned from, json_t *body);
    /* The cluster's thread: a node came or is gone (its heartbeat stopped: what it held is
     * gone with it). Must not block. Optional. */
    void (*on_node_change)(unsigned node, bool alive);
} sb_plugin_t;

#define SB_PLUGIN_HEADER \
    .abi_major = SB_PLUGIN_ABI_MAJOR, .abi_minor = SB_PLUGIN_ABI_MINOR, .size = sizeof(sb_plugin_t)

/* The entry point: the daemon calls it once, right after dlopen, with its callback table
 * (which the SDK's own helpers, such as logging, keep), and reads the descriptor. */
typedef const sb_plugin_t *(*sb_plugin_get_fn)(const sb_core_api_t *core);
#define SB_PLUGIN_ENTRY "sb_plugin_get"

/* Where the SDK keeps the table for its helpers (SB_PLUGIN_DEFINE calls it). */
void sb_sdk_bind(const sb_core_api_t *core);

/* Define the entry point for a descriptor, the plugin's one exported symbol:
 *     static const sb_plugin_t my_plugin = {SB_PLUGIN_HEADER, .package = ..., ...};
 *     SB_PLUGIN_DEFINE(my_plugin)                                                      */
#define SB_PLUGIN_DEFINE(descriptor)                                              \
    __attribute__((visibility("default"))) const sb_plugin_t *sb_plugin_get(     \
        const sb_core_api_t *core);                                               \
    const sb_plugin_t *sb_plugin_get(const sb_core_api_t *core)                   \
    {                                                                             \
        sb_sdk_bind(core);                                                        \
        return &(descriptor);                                                     \
    }

/* Convenience constructors for results. */
static inline sb_plugin_result_t sb_plugin_ok(json_t *content)
{
    return (sb_plugin_result_t){.kind = SB_PLUGIN_OK, .content = content};
}

static inline sb_plugin_result_t sb_plugin_wait(void)
{
    return (sb_plugin_result_t){.kind = SB_PLUGIN_OK_WAIT};
}

#endif
