/* janus.plugin.textroom: the plugin's internal model, shared by its files.
 *
 *   textroom.c   plugin table, init/deinit, handles, the negotiation thread (setup, ack,
 *                restart), the media ops (on_data, setup_media, hangup_media)
 *   requests.c   the two entry points (a data channel message, an API message body), their
 *                envelope checks, the request table, parameter checks and error objects
 *   chat.c       what participants do: join, leave, message (room-wide and whispers)
 *   admin.c      room management: list, exists, create, edit, destroy, allowed, kick,
 *                listparticipants, announcement
 *   room.c       the rooms table, room options, history, the configuration file
 *   session.c    sessions (one per handle) and participants (a session in a room)
 *   outbox.c     what requests produce: JSON texts for sessions, serialised once
 *   deliver.c    an outbox handed to the media loops of its recipients (core send_data)
 *   post.c       the rooms' HTTP backends ("post"): a bounded queue and one libcurl thread
 *
 * Threads and the lock. Requests come from a data channel (on_data: the sender's media
 * loop) and from the API (handle_message: a control thread); a handle's participants sit
 * in rooms with participants of handles on other loops. One plugin lock (sb_tr_lock)
 * guards the rooms table, every room, every participant, and the fields of a session
 * marked "lock". A request runs whole under it and fills an outbox; the outbox is posted
 * to the recipients' loops before the lock is released (loop_post never blocks), so every
 * recipient gets events in the order the rooms changed. On a loop, deliver.c hands each
 * text to send_data. Nothing else of the core is called under the lock.
 * The negotiation (make_offer, process_answer) waits for a loop, so it runs on the
 * plugin's own thread, never on a control thread and never under the lock.
 *
 * The request logic (requests.c, chat.c, admin.c, room.c, session.c, outbox.c) calls no
 * core function: tests/fuzz/fuzz_textroom.c drives it with sessions that have no handle. */
#ifndef SB_TEXTROOM_H
#define SB_TEXTROOM_H

#include <glib.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/refcount.h"
#include "switchboard/plugin.h"

#define SB_TR_PACKAGE "janus.plugin.textroom"

/* TextRoom error codes, as the reference numbers them (JANUS_TEXTROOM_ERROR_*). */
enum {
    SB_TR_ERR_NO_MESSAGE = 411,
    SB_TR_ERR_INVALID_JSON = 412,
    SB_TR_ERR_MISSING_ELEMENT = 413,
    SB_TR_ERR_INVALID_ELEMENT = 414,
    SB_TR_ERR_INVALID_REQUEST = 415,
    SB_TR_ERR_ALREADY_SETUP = 416,
    SB_TR_ERR_NO_SUCH_ROOM = 417,
    SB_TR_ERR_ROOM_EXISTS = 418,
    SB_TR_ERR_UNAUTHORIZED = 419,
    SB_TR_ERR_USERNAME_EXISTS = 420,
    SB_TR_ERR_ALREADY_IN_ROOM = 421,
    SB_TR_ERR_NOT_IN_ROOM = 422,
    SB_TR_ERR_NO_SUCH_USER = 423,
    SB_TR_ERR_UNKNOWN = 499,
};

/* Fixed bounds (the configurable ones are in sb_tr_config_t). */
#define SB_TR_MAX_NAME 256     /* username, display: bytes */
#define SB_TR_MAX_STRING 1024  /* description, secret, pin, token, post, transaction */
#define SB_TR_MAX_ALLOWED 1024 /* tokens of a room's allowed list */
/* A data channel message we send: the SCTP bound (256 KiB). An event larger than this
 * (a long text escaped) is refused before it is sent. */
#define SB_TR_MAX_EVENT (256 * 1024)

typedef enum sb_tr_json_style {
    SB_TR_JSON_INDENTED = 0, /* the reference's default: 3-space indentation */
    SB_TR_JSON_PLAIN,        /* one line, ", " and ": " separators */
    SB_TR_JSON_COMPACT,      /* one line, no spaces */
} sb_tr_json_style_t;

/* The plugin's settings (the general group of the configuration file). Owned by room.c;
 * written at init (main thread) only, read-only afterwards. */
typedef struct sb_tr_config {
    char *admin_key;         /* NULL: anyone may create rooms */
    bool string_ids;         /* room ids are strings, not integers */
    sb_tr_json_style_t json; /* how data channel messages are written */
    unsigned max_rooms;
    unsigned max_participants;   /* per room */
    unsigned max_rooms_per_user; /* rooms one handle may be in at once */
    unsigned max_text;           /* bytes of a message's or an announcement's text */
    unsigned max_history;        /* largest "history" a room may keep */
    unsigned max_history_bytes;  /* all rooms' history together (SB_TR_PAST_COST each) */
    unsigned post_queue;         /* messages waiting for HTTP backends, all rooms */
    /* URL prefixes ("http[s]://authority/...", checked at load) a room created or edited
     * by a request may have as "post"; none: only rooms of the configuration file may
     * have an HTTP backend. */
    char **post_allowed; /* NULL-terminated, owned; NULL: none */
} sb_tr_config_t;

extern sb_tr_config_t sb_tr_config;
extern GMutex sb_tr_lock;
/* The core's callbacks: set by textroom.c at init (NULL in the fuzz target). */
extern const sb_core_api_t *sb_tr_core;

typedef struct sb_tr_room sb_tr_room_t;
typedef struct sb_tr_session sb_tr_session_t;
typedef struct sb_tr_participant sb_tr_participant_t;

/* ---- texts (outbox.c) ----------------------------------------------------------------- */

/* One serialised message, shared by all its recipients (and a room's history). Immutable
 * once made; any thread. */
typedef struct sb_tr_text {
    sb_refcount_t ref;
    size_t len;
    char data[]; /* NUL-terminated */
} sb_tr_text_t;

/* obj (borrowed) written in the configured style. Owned; never NULL. */
sb_tr_text_t *sb_tr_text_new(json_t *obj);
sb_tr_text_t *sb_tr_text_ref(sb_tr_text_t *t);
void sb_tr_text_unref(sb_tr_text_t *t); /* NULL is fine */

/* ---- sessions and participants (session.c) ------------------------------------------- */

/* One attached handle. Referenced by the handle (plugin_data, dropped at destroy_handle),
 * its participants, queued negotiation work and outbox items. Holds a core reference on the
 * handle (none in the fuzz target: h is NULL). */
struct sb_tr_session {
    sb_refcount_t ref;
    sb_plugin_handle_t *h;
    /* lock */
    GPtrArray *rooms; /* sb_tr_participant_t*: where this handle is (borrowed: rooms own) */
    /* any thread */
    atomic_bool setup; /* an offer was made ("setup"); cleared when the PeerConnection goes */
    atomic_int loop;   /* the PeerConnection's media loop, -1 while there is none */
    atomic_ullong sent, dropped; /* data channel messages sent / refused by the core */
};

/* The channel every reply and event goes on, whatever channel the request came on: the
 * reference's (janus.js opens it; when the client has none, the core opens it). */
#define SB_TR_LABEL "JanusDataChannel"

/* A session in a room. Owned by the room (its participants array); lock. */
struct sb_tr_participant {
    sb_tr_session_t *session; /* a reference */
    sb_tr_room_t *room;       /* borrowed: the room owns us */
    char *username;
    char *display; /* NULL: none */
};

/* Any thread: a new session (one reference, the caller's). h: a core handle the session
 * keeps a reference on, or NULL. */
sb_tr_session_t *sb_tr_session_new(sb_plugin_handle_t *h);
void sb_tr_session_ref(sb_tr_session_t *s);
void sb_tr_session_unref(sb_tr_session_t *s); /* NULL is fine */
/* Under the lock: s's participant in r, or NULL. Borrowed. */
sb_tr_participant_t *sb_tr_session_in(sb_tr_session_t *s, sb_tr_room_t *r);

/* ---- the outbox (outbox.c) ------------------------------------------------------------ */

/* What one request produced for data channels, in order: (session, text) pairs. Stack-
 * owned by whoever runs the request; each item holds a session and a text reference. */
typedef struct sb_tr_outbox_item {
    sb_tr_session_t *s;
    sb_tr_text_t *text;
} sb_tr_outbox_item_t;

typedef struct sb_tr_outbox {
    GArray *items; /* sb_tr_outbox_item_t */
} sb_tr_outbox_t;

void sb_tr_outbox_init(sb_tr_outbox_t *ob);
void sb_tr_outbox_deinit(sb_tr_outbox_t *ob); /* drops what was not taken */
/* Queue text (a reference is taken) for s. */
void sb_tr_outbox_add(sb_tr_outbox_t *ob, sb_tr_session_t *s, sb_tr_text_t *text);
/* Queue obj (borrowed), serialised, for s. */
void sb_tr_outbox_add_json(sb_tr_outbox_t *ob, sb_tr_session_t *s, json_t *obj);
/* Under the lock: text for every participant of r (skip: one to leave out, or NULL). */
void sb_tr_outbox_room(sb_tr_outbox_t *ob, sb_tr_room_t *r, sb_tr_text_t *text,
                       const sb_tr_participant_t *skip);

/* ---- delivery (deliver.c) ------------------------------------------------------------- */

/* Under the lock: hand every item to its session's media loop (one post per loop, items in
 * order), and empty the outbox. Items of sessions without a PeerConnection are dropped. */
void sb_tr_outbox_post(sb_tr_outbox_t *ob);
/* The session's loop: send text on its SB_TR_LABEL channel. Counted in s->sent / s->dropped. */
void sb_tr_deliver_now(sb_tr_session_t *s, const sb_tr_text_t *text);

/* ---- rooms (room.c) ------------------------------------------------------------------- */

/* Room settings, as in a "create" request or a room group of the configuration. */
typedef struct sb_tr_room_opts {
    char *description; /* NULL: "Room <id>" */
    char *secret;      /* NULL: none */
    char *pin;         /* NULL: none */
    char *post;        /* HTTP backend, NULL: none */
    bool is_private;
    unsigned history; /* messages kept for newcomers */
} sb_tr_room_opts_t;

/* A room. Owned by the rooms table; lock. */
struct sb_tr_room {
    uint64_t id; /* integer ids; 0 with string ids */
    char *key;   /* the id as text: the table's key ("1234", or the string id) */
    sb_tr_room_opts_t o;
    bool check_allowed;
    GPtrArray *allowed;      /* char* tokens, owned */
    GPtrArray *participants; /* sb_tr_participant_t*, owned, in join order */
    GHashTable *by_name;     /* username -> participant (borrowed) */
    GQueue past;             /* sb_tr_text_t* (references): the last o.history messages */
    size_t past_bytes;       /* SB_TR_PAST_COST of each text in past */
    guint past_heap;         /* room.c: its place in the history heap; G_MAXUINT: not there */
};

/* What one kept message counts against general.max_history_bytes: its text, plus its
 * header and its queue link. */
#define SB_TR_PAST_COST(t) ((t)->len + 64)

void sb_tr_rooms_init(void);
void sb_tr_rooms_deinit(void); /* every room goes (their participants with them) */
/* Main thread, at init: settings and predefined rooms from <dir>/janus.plugin.textroom.conf
 * (dir NULL: the default folder, then the source tree's conf/). A missing file is fine; a
 * bad one is SB_EINVAL, logged with file:line. Also resets sb_tr_config to its defaults. */
int sb_tr_conf_load(const char *config_dir);
/* sb_tr_config back to its defaults (no admin_key, indented JSON, the default bounds). */
void sb_tr_conf_defaults(void);
void sb_tr_conf_deinit(void);

/* Under the lock. Borrowed; NULL when absent. */
sb_tr_room_t *sb_tr_room_find(const char *key);
/* Under the lock: a new room from o (its strings taken). key NULL or "": a random free id.
 * allowed: tokens (taken) that enable the ACL, or NULL. SB_EEXIST, SB_ENOMEM (too many). */
/* Rooms and participants in them, for /metrics: any thread, no lock. */
void sb_tr_counts(unsigned *rooms, unsigned *participants);
/* session.c, under the lock: participants joined (+1) or left (-1). */
void sb_tr_count_participants(int delta);
int sb_tr_room_add(const char *key, sb_tr_room_opts_t *o, GPtrArray *allowed, sb_tr_room_t **out);
/* Under the lock: remove and free r; its participants go without any event. */
void sb_tr_room_destroy(sb_tr_room_t *r);
/* Under the lock: every room, sorted by id (borrowed pointers). g_ptr_array_unref. */
GPtrArray *sb_tr_rooms_all(void);
/* The room's id as the API shows it (integer, or string with string_ids). Owned. */
json_t *sb_tr_room_id_json(const sb_tr_room_t *r);
void sb_tr_room_opts_deinit(sb_tr_room_opts_t *o);
/* Under the lock: keep text in r's history (the oldest goes past o.history). Past the
 * budget of all rooms together (max_history_bytes), the oldest messages of the room that
 * keeps the most bytes go first (r's own when it is that room), counted as evicted. */
void sb_tr_room_remember(sb_tr_room_t *r, sb_tr_text_t *text);
/* Under the lock: trim the history to o.history (after an edit; to 0 as the room goes). */
void sb_tr_room_trim(sb_tr_room_t *r);
/* Under the lock: the bytes all rooms' history holds, and how many messages the budget
 * evicted since sb_tr_rooms_init. */
void sb_tr_history_stats(size_t *bytes, unsigned long long *evicted);
/* Under the lock: a room keeping the most history bytes, or NULL when none keeps any. */
sb_tr_room_t *sb_tr_history_largest(void);
/* Under the lock: add s as username in r (the caller checked everything). Borrowed. */
sb_tr_participant_t *sb_tr_room_join(sb_tr_room_t *r, sb_tr_session_t *s, const char *username,
                                     const char *display);
/* Under the lock: take p out of its room and free it. */
void sb_tr_room_part(sb_tr_participant_t *p);

/* ---- requests (requests.c) ------------------------------------------------------------- */

/* One request being run by its handler, once the checks its entry of the request table
 * declares passed (requests.c). Stack-owned; under the lock. */
typedef struct sb_tr_req {
    sb_tr_session_t *s; /* the data channel's session; NULL for an API request */
    json_t *body;       /* borrowed */
    sb_tr_outbox_t *ob; /* what the request sends (events; the reply is added after) */
    sb_tr_room_t *room; /* the room the body names, when the entry needs one; borrowed */
    bool admin;         /* the plugin's admin_key was given (and is right) */
} sb_tr_req_t;

#define SB_TR_OVER_API(req) ((req)->s == NULL)

/* Any thread, no lock needed: one data channel message (text, len bytes, not necessarily
 * NUL-terminated nor valid UTF-8; binary: sent as binary) read as a request whose envelope
 * ("textroom", "transaction") is checked. The request (owned), or NULL and the reply to
 * send instead in *error (owned). */
json_t *sb_tr_data_parse(const char *text, size_t len, bool binary, json_t **error);
/* Under the lock: run a request of s (or send its error), both from sb_tr_data_parse and
 * consumed; its reply (if any) and events go into ob. */
void sb_tr_data_run(sb_tr_session_t *s, json_t *root, json_t *error, sb_tr_outbox_t *ob);
/* Under the lock: both of the above, for a text message. */
void sb_tr_data_request(sb_tr_session_t *s, const char *text, size_t len, sb_tr_outbox_t *ob);
/* Under the lock: run one API request (body: an object, borrowed) that is not a
 * negotiation; events into ob. Returns the reply's plugindata.data (owned). */
json_t *sb_tr_api_request(json_t *body, sb_tr_outbox_t *ob);
/* True when name is answered later by textroom.c (setup, ack, restart). */
bool sb_tr_is_negotiation(const char *name);

/* Parameter checks: the reference's 413 (missing) and 414 (type, length, range) errors. A
 * type says the JSON type and, by its kind, the longest string or the largest integer. */
enum {
    SB_TR_T_STRING = 1, /* string of at most SB_TR_MAX_STRING bytes */
    SB_TR_T_NAME,       /* string of at most SB_TR_MAX_NAME bytes */
    SB_TR_T_TEXT,       /* string of at most sb_tr_config.max_text bytes */
    SB_TR_T_UINT,       /* JSON integer >= 0 ("a positive integer") */
    SB_TR_T_BOOL,
    SB_TR_T_ARRAY,
    SB_TR_T_ROOM, /* a room id: a positive integer, or a string with string_ids */
    SB_TR_T_HISTORY, /* a positive integer of at most sb_tr_config.max_history */
};
typedef struct sb_tr_param {
    const char *name;
    int type;
    bool required;
} sb_tr_param_t;

/* NULL when obj passes, else the error object (owned): the first parameter missing or of the
 * wrong type (or too long), then the first out of its range. The one check of every
 * request's parameters (the request table's, a room of the configuration file's). */
json_t *sb_tr_params_check(json_t *obj, const sb_tr_param_t *params, size_t n);
#define SB_TR_CHECK(obj, params) sb_tr_params_check(obj, params, sizeof(params) / sizeof(params[0]))
/* {"textroom":"error","error_code":code,"error":text}. Owned. */
json_t *sb_tr_error(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* body's "room" as a table key (decimal text for integer ids). buf: 32 bytes at least. */
const char *sb_tr_room_key(json_t *body, char *buf, size_t len);
/* The plugin's admin_key against body's "admin_key" (required: creation; optional: list).
 * NULL (allowed, or not configured), or the error (owned). *admin: a right key was given. */
json_t *sb_tr_check_admin_key(json_t *body, bool required, bool *admin);
/* a and b equal, compared in a time that depends on their lengths only (secrets, pins). */
bool sb_tr_secret_equal(const char *a, const char *b);
/* The local time as the reference writes it ("2024-01-31T12:00:00+0000"). */
void sb_tr_date(char *buf, size_t len);

/* chat.c: data channel only. Each returns the reply (owned), or NULL for none. */
json_t *sb_tr_req_join(sb_tr_req_t *req);
json_t *sb_tr_req_leave(sb_tr_req_t *req);
json_t *sb_tr_req_message(sb_tr_req_t *req);
/* A message's recipients ("to", "tos"), checked before its room: NULL or the error. */
json_t *sb_tr_message_check(json_t *body);
/* Under the lock: s leaves every room it is in; the others get "leave" (hangup, detach). */
void sb_tr_session_leave_all(sb_tr_session_t *s, sb_tr_outbox_t *ob);

/* admin.c: data channel and API. The checks each needs are the request table's. */
json_t *sb_tr_req_list(sb_tr_req_t *req);
json_t *sb_tr_req_exists(sb_tr_req_t *req);
json_t *sb_tr_req_create(sb_tr_req_t *req);
json_t *sb_tr_req_edit(sb_tr_req_t *req);
json_t *sb_tr_req_destroy(sb_tr_req_t *req);
json_t *sb_tr_req_allowed(sb_tr_req_t *req);
json_t *sb_tr_req_kick(sb_tr_req_t *req);
json_t *sb_tr_req_listparticipants(sb_tr_req_t *req);
json_t *sb_tr_req_announcement(sb_tr_req_t *req);
/* Under the lock: a room from the fields of a "create" body (or a room group of the
 * configuration: from_conf): checks them all (the reference's errors), then adds the
 * room. A "post" of a request must pass sb_tr_post_allowed (419 otherwise); one of the
 * configuration may be any http(s) URL. NULL and *out, or the error (owned). The
 * admin_key is the caller's business. */
json_t *sb_tr_room_create(json_t *body, bool from_conf, sb_tr_room_t **out);
/* Whether a request (not the configuration file) may give a room url as its HTTP backend:
 * it starts with one of general.post_allowed and its path has no "." or ".." segment nor
 * encoded dot, slash or backslash, and it has no backslash, space or control character. */
bool sb_tr_post_allowed(const char *url);

/* ---- HTTP backends (post.c) ------------------------------------------------------------- */

/* Main thread: start / stop the sender thread (stop drops what is still queued). */
void sb_tr_post_start(void);
void sb_tr_post_stop(void);
/* Any thread: POST text (a reference is taken) to url, later, on the sender thread. When
 * the queue is full (sb_tr_config.post_queue) the message is dropped and counted. A no-op
 * when the thread is not running (the fuzz target). */
void sb_tr_post_queue(const char *url, sb_tr_text_t *text);

#endif
