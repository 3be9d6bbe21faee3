/* switchboard.plugin.p2pcall: signaling for 1:1 calls whose media flows browser to browser.
 *
 * A handle registers a name; another handle calls that name with an SDP offer; the callee
 * accepts with an answer; both relay their ICE candidates through plugin messages; either
 * hangs up. The plugin only relays: it never negotiates a PeerConnection with the server
 * (no answer_offer/make_offer) and never sees media. Protocol: plugins/p2pcall/README.md.
 *
 * Threads. Requests arrive on transport threads (handle_message) and are queued, whole,
 * to the plugin's one message thread, which owns every piece of state below (the
 * registry, each user's call state): no locks. destroy_handle queues a "gone" message on
 * the same queue, so a detach mid-call is handled in order with the requests before it.
 * Each user holds a reference on its core handle for its whole life, so pushing an event
 * to a peer whose handle was just detached is safe (the core answers SB_ENOENT). */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "p2pcall.h"
#include "switchboard/plugin.h"

#define SB_P2PCALL_PACKAGE "switchboard.plugin.p2pcall"
#define SB_P2PCALL_NAME_MAX 64
#define SB_P2PCALL_MAX_USERS 10000
#define SB_P2PCALL_MAX_CANDIDATES 64 /* per "candidates" request */

/* Error codes, numbered like the reference plugins' (a plugin-specific range). */
enum {
    SB_P2PCALL_ERR_NO_MESSAGE = 440,
    SB_P2PCALL_ERR_INVALID_REQUEST = 441,
    SB_P2PCALL_ERR_MISSING_ELEMENT = 442,
    SB_P2PCALL_ERR_INVALID_ELEMENT = 443,
    SB_P2PCALL_ERR_NOT_REGISTERED = 444,
    SB_P2PCALL_ERR_ALREADY_REGISTERED = 445,
    SB_P2PCALL_ERR_USERNAME_TAKEN = 446,
    SB_P2PCALL_ERR_NO_SUCH_USER = 447,
    SB_P2PCALL_ERR_BUSY = 448,
    SB_P2PCALL_ERR_NO_CALL = 449,
    SB_P2PCALL_ERR_MISSING_SDP = 450,
    SB_P2PCALL_ERR_TOO_MANY = 451,
};

typedef enum sb_p2pcall_state {
    SB_P2PCALL_IDLE,
    SB_P2PCALL_CALLING, /* we sent an offer, waiting for the answer */
    SB_P2PCALL_RINGING, /* we got an offer, the user has not accepted yet */
    SB_P2PCALL_INCALL,
} sb_p2pcall_state_t;

/* One attached handle. Created on the control thread (create_handle), then owned by the
 * message thread: every field but refs is touched only there. Freed on the message thread
 * when its last reference goes (the handle binding's, and one per queued message). */
typedef struct sb_p2pcall_user {
    atomic_int refs;
    sb_plugin_handle_t *h;        /* a core reference held until the user is freed */
    char *username;               /* NULL until registered; the registry's key */
    struct sb_p2pcall_user *peer; /* borrowed: cleared on both sides when a call ends */
    sb_p2pcall_state_t state;
    bool gone; /* the handle was destroyed */
} sb_p2pcall_user_t;

typedef enum sb_p2pcall_msg_kind {
    SB_P2PCALL_MSG_REQUEST,
    SB_P2PCALL_MSG_GONE,
    SB_P2PCALL_MSG_STOP,
} sb_p2pcall_msg_kind_t;

/* A queued message. Owns a user reference and the JSON references. */
typedef struct sb_p2pcall_msg {
    sb_p2pcall_msg_kind_t kind;
    sb_p2pcall_user_t *user;
    char *transaction;
    json_t *body;
    json_t *jsep;
} sb_p2pcall_msg_t;

static const sb_core_api_t *sb_p2pcall_core;
static GAsyncQueue *sb_p2pcall_queue;
static GThread *sb_p2pcall_thread;
static GHashTable *sb_p2pcall_users;   /* username -> user; message thread only */
static json_t *sb_p2pcall_ice_servers; /* read-only after init */

/* ---- users and events ------------------------------------------------------------------ */

static sb_p2pcall_user_t *sb_p2pcall_user_ref(sb_p2pcall_user_t *u)
{
    atomic_fetch_add(&u->refs, 1);
    return u;
}

/* Message thread (or deinit, after it stopped). */
static void sb_p2pcall_user_unref(sb_p2pcall_user_t *u)
{
    if (atomic_fetch_sub(&u->refs, 1) != 1)
        return;
    sb_p2pcall_core->handle_unref(u->h);
    sb_free(u->username);
    sb_free(u);
}

/* Push {"p2pcall":"event","result":result} to u; result is stolen. */
static void sb_p2pcall_push(sb_p2pcall_user_t *u, const char *transaction, json_t *result,
                            json_t *jsep)
{
    json_t *data = json_pack("{s:s, s:o}", "p2pcall", "event", "result", result);
    sb_p2pcall_core->push_event(u->h, transaction, data, jsep);
    json_decref(data);
}

static void sb_p2pcall_push_error(sb_p2pcall_user_t *u, const char *transaction, int code,
                                  const char *reason)
{
    json_t *data =
        json_pack("{s:s, s:i, s:s}", "p2pcall", "event", "error_code", code, "error", reason);
    sb_p2pcall_core->push_event(u->h, transaction, data, NULL);
    json_decref(data);
}

static json_t *sb_p2pcall_event(const char *event, const char *username)
{
    json_t *r = json_pack("{s:s}", "event", event);
    if (username)
        json_object_set_new(r, "username", json_string(username));
    return r;
}

/* End u's call, if any: both sides go idle; the peer is told why. u itself is told by the
 * caller of this function (or not at all when u is gone). */
static void sb_p2pcall_end_call(sb_p2pcall_user_t *u, const char *peer_reason)
{
    sb_p2pcall_user_t *p = u->peer;
    u->peer = NULL;
    u->state = SB_P2PCALL_IDLE;
    if (!p)
        return;
    p->peer = NULL;
    p->state = SB_P2PCALL_IDLE;
    if (!p->gone) {
        json_t *r = sb_p2pcall_event("hangup", u->username);
        json_object_set_new(r, "reason", json_string(peer_reason));
        sb_p2pcall_push(p, NULL, r, NULL);
    }
}

/* ---- requests (message thread) --------------------------------------------------------- */

/* 1..64 bytes of letters, digits, space, '_', '-', '.', '@'; no space at either end. */
static bool sb_p2pcall_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SB_P2PCALL_NAME_MAX || name[0] == ' ' || name[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!g_ascii_isalnum(c) && !strchr(" _-.@", c))
            return false;
    }
    return true;
}

/* Returns the username member, or NULL after pushing the error. */
static const char *sb_p2pcall_get_username(sb_p2pcall_msg_t *m)
{
    json_t *v = json_object_get(m->body, "username");
    if (!v) {
        sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_MISSING_ELEMENT,
                              "Missing element (username)");
        return NULL;
    }
    if (!json_is_string(v) || !sb_p2pcall_name_valid(json_string_value(v))) {
        sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_INVALID_ELEMENT,
                              "Invalid username (1-64 letters, digits, spaces, _ - . @)");
        return NULL;
    }
    return json_string_value(v);
}

static bool sb_p2pcall_need_jsep(sb_p2pcall_msg_t *m, const char *type)
{
    const char *t = json_string_value(json_object_get(m->jsep, "type"));
    if (t && !strcmp(t, type))
        return true;
    char reason[64];
    snprintf(reason, sizeof(reason), "Missing SDP %s (jsep)", type);
    sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_MISSING_SDP, reason);
    return false;
}

static bool sb_p2pcall_need_registered(sb_p2pcall_msg_t *m)
{
    if (m->user->username)
        return true;
    sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_NOT_REGISTERED,
                          "Register a username first");
    return false;
}

static void sb_p2pcall_req_register(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    const char *name = sb_p2pcall_get_username(m);
    if (!name)
        return;
    if (u->username) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_ALREADY_REGISTERED,
                              "Already registered (as another name on this handle)");
        return;
    }
    if (g_hash_table_contains(sb_p2pcall_users, name)) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_USERNAME_TAKEN, "Username taken");
        return;
    }
    if (g_hash_table_size(sb_p2pcall_users) >= SB_P2PCALL_MAX_USERS) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_TOO_MANY,
                              "Too many registered users");
        return;
    }
    u->username = sb_strdup(name);
    g_hash_table_insert(sb_p2pcall_users, u->username, u);
    SB_INFO("p2pcall", "registered '%s' (handle %llu)", name, (unsigned long long)u->h->handle_id);
    json_t *r = sb_p2pcall_event("registered", name);
    json_object_set(r, "ice_servers", sb_p2pcall_ice_servers);
    sb_p2pcall_push(u, m->transaction, r, NULL);
}

static int sb_p2pcall_cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sb_p2pcall_req_list(sb_p2pcall_msg_t *m)
{
    guint n = 0;
    gpointer *names = g_hash_table_get_keys_as_array(sb_p2pcall_users, &n);
    qsort(names, n, sizeof(*names), sb_p2pcall_cmp_names);
    json_t *list = json_array(), *users = json_array();
    for (guint i = 0; i < n; i++) {
        sb_p2pcall_user_t *other = g_hash_table_lookup(sb_p2pcall_users, names[i]);
        json_array_append_new(list, json_string(names[i]));
        json_array_append_new(users, json_pack("{s:s, s:b}", "username", (char *)names[i], "busy",
                                               other->state != SB_P2PCALL_IDLE));
    }
    g_free(names);
    json_t *r = json_pack("{s:s, s:o, s:o}", "event", "list", "list", list, "users", users);
    sb_p2pcall_push(m->user, m->transaction, r, NULL);
}

static void sb_p2pcall_req_config(sb_p2pcall_msg_t *m)
{
    json_t *r = sb_p2pcall_event("config", NULL);
    json_object_set(r, "ice_servers", sb_p2pcall_ice_servers);
    sb_p2pcall_push(m->user, m->transaction, r, NULL);
}

static void sb_p2pcall_req_call(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    if (!sb_p2pcall_need_registered(m))
        return;
    const char *name = sb_p2pcall_get_username(m);
    if (!name || !sb_p2pcall_need_jsep(m, "offer"))
        return;
    if (u->state != SB_P2PCALL_IDLE) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_BUSY, "Already in a call");
        return;
    }
    sb_p2pcall_user_t *callee = g_hash_table_lookup(sb_p2pcall_users, name);
    if (!callee) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_NO_SUCH_USER, "No such username");
        return;
    }
    if (callee == u) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_INVALID_ELEMENT,
                              "You can't call yourself");
        return;
    }
    if (callee->state != SB_P2PCALL_IDLE) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_BUSY,
                              "That user is in another call");
        return;
    }
    u->peer = callee;
    u->state = SB_P2PCALL_CALLING;
    callee->peer = u;
    callee->state = SB_P2PCALL_RINGING;
    SB_INFO("p2pcall", "'%s' calls '%s'", u->username, callee->username);
    sb_p2pcall_push(u, m->transaction, sb_p2pcall_event("calling", callee->username), NULL);
    sb_p2pcall_push(callee, NULL, sb_p2pcall_event("incomingcall", u->username), m->jsep);
}

static void sb_p2pcall_req_accept(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    if (u->state != SB_P2PCALL_RINGING || !u->peer) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_NO_CALL,
                              "No incoming call to accept");
        return;
    }
    if (!sb_p2pcall_need_jsep(m, "answer"))
        return;
    sb_p2pcall_user_t *caller = u->peer;
    u->state = SB_P2PCALL_INCALL;
    caller->state = SB_P2PCALL_INCALL;
    SB_INFO("p2pcall", "'%s' accepted the call of '%s'", u->username, caller->username);
    sb_p2pcall_push(u, m->transaction, sb_p2pcall_event("accepted", caller->username), NULL);
    sb_p2pcall_push(caller, NULL, sb_p2pcall_event("accepted", u->username), m->jsep);
}

/* Renegotiation during a call: an offer or an answer relayed as is. */
static void sb_p2pcall_req_update(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    if (u->state != SB_P2PCALL_INCALL || !u->peer) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_NO_CALL, "Not in a call");
        return;
    }
    if (!m->jsep) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_MISSING_SDP, "Missing SDP (jsep)");
        return;
    }
    sb_p2pcall_push(u, m->transaction, sb_p2pcall_event("updating", u->peer->username), NULL);
    sb_p2pcall_push(u->peer, NULL, sb_p2pcall_event("update", u->username), m->jsep);
}

/* Candidates: {"candidate":{...}} (or {"completed":true}) or {"candidates":[...]}. Relayed
 * without a reply on success: the "ack" is enough, as for the core's own trickle. */
static void sb_p2pcall_req_candidate(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    json_t *one = json_object_get(m->body, "candidate");
    json_t *many = json_object_get(m->body, "candidates");
    if ((!one && !many) || (one && many)) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_MISSING_ELEMENT,
                              "Missing element (candidate or candidates)");
        return;
    }
    bool bad = one ? !json_is_object(one) : !json_is_array(many);
    if (!bad && many) {
        size_t i;
        json_t *c;
        json_array_foreach(many, i, c) bad |= !json_is_object(c);
        bad |= json_array_size(many) > SB_P2PCALL_MAX_CANDIDATES;
    }
    if (bad) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_INVALID_ELEMENT,
                              "Invalid element (candidate must be an object, candidates "
                              "an array of at most 64 objects)");
        return;
    }
    if (!u->peer) {
        sb_p2pcall_push_error(u, m->transaction, SB_P2PCALL_ERR_NO_CALL, "Not in a call");
        return;
    }
    json_t *r = sb_p2pcall_event("candidate", u->username);
    json_object_set_new(r, one ? "candidate" : "candidates", json_deep_copy(one ? one : many));
    sb_p2pcall_push(u->peer, NULL, r, NULL);
}

static void sb_p2pcall_req_hangup(sb_p2pcall_msg_t *m)
{
    sb_p2pcall_user_t *u = m->user;
    sb_p2pcall_user_t *p = u->peer;
    const char *peer_reason = u->state == SB_P2PCALL_RINGING ? "Declined" : "Hung up";
    json_t *r = sb_p2pcall_event("hangup", p ? p->username : NULL);
    json_object_set_new(r, "reason", json_string(p ? "You hung up" : "No call"));
    if (p)
        SB_INFO("p2pcall", "'%s' hung up on '%s'", u->username, p->username);
    sb_p2pcall_end_call(u, peer_reason);
    sb_p2pcall_push(u, m->transaction, r, NULL);
}

typedef struct sb_p2pcall_request {
    const char *name;
    void (*run)(sb_p2pcall_msg_t *m);
} sb_p2pcall_request_t;

static const sb_p2pcall_request_t sb_p2pcall_requests[] = {
    {"register", sb_p2pcall_req_register},   {"list", sb_p2pcall_req_list},
    {"config", sb_p2pcall_req_config},       {"call", sb_p2pcall_req_call},
    {"accept", sb_p2pcall_req_accept},       {"update", sb_p2pcall_req_update},
    {"candidate", sb_p2pcall_req_candidate}, {"hangup", sb_p2pcall_req_hangup},
};

static void sb_p2pcall_process(sb_p2pcall_msg_t *m)
{
    if (m->user->gone)
        return;
    json_t *req = json_object_get(m->body, "request");
    if (!req) {
        sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_MISSING_ELEMENT,
                              "Missing element (request)");
        return;
    }
    const char *name = json_string_value(req);
    for (size_t i = 0; name && i < G_N_ELEMENTS(sb_p2pcall_requests); i++) {
        if (!strcmp(name, sb_p2pcall_requests[i].name)) {
            sb_p2pcall_requests[i].run(m);
            return;
        }
    }
    sb_p2pcall_push_error(m->user, m->transaction, SB_P2PCALL_ERR_INVALID_REQUEST,
                          "Unknown request");
}

/* The handle is gone: end its call, free its name. */
static void sb_p2pcall_process_gone(sb_p2pcall_user_t *u)
{
    if (u->peer)
        SB_INFO("p2pcall", "'%s' left during a call", u->username ? u->username : "?");
    sb_p2pcall_end_call(u, "Peer left");
    u->gone = true;
    if (u->username)
        g_hash_table_remove(sb_p2pcall_users, u->username);
}

static void sb_p2pcall_msg_free(sb_p2pcall_msg_t *m)
{
    if (m->user)
        sb_p2pcall_user_unref(m->user);
    sb_free(m->transaction);
    json_decref(m->body);
    json_decref(m->jsep);
    sb_free(m);
}

static gpointer sb_p2pcall_run(gpointer unused)
{
    (void)unused;
    for (;;) {
        sb_p2pcall_msg_t *m = g_async_queue_pop(sb_p2pcall_queue);
        if (m->kind == SB_P2PCALL_MSG_STOP) {
            sb_p2pcall_msg_free(m);
            break;
        }
        if (m->kind == SB_P2PCALL_MSG_GONE) {
            sb_p2pcall_process_gone(m->user);
            sb_p2pcall_user_unref(m->user); /* the handle binding's reference */
        } else {
            sb_p2pcall_process(m);
        }
        sb_p2pcall_msg_free(m);
    }
    return NULL;
}

/* ---- plugin ops ------------------------------------------------------------------------ */

static void sb_p2pcall_enqueue(sb_p2pcall_msg_kind_t kind, sb_p2pcall_user_t *u,
                               const char *transaction, json_t *body, json_t *jsep)
{
    sb_p2pcall_msg_t *m = SB_NEW(sb_p2pcall_msg_t);
    m->kind = kind;
    m->user = u ? sb_p2pcall_user_ref(u) : NULL;
    m->transaction = transaction ? sb_strdup(transaction) : NULL;
    m->body = body ? json_incref(body) : NULL;
    m->jsep = jsep ? json_incref(jsep) : NULL;
    g_async_queue_push(sb_p2pcall_queue, m);
}

static int sb_p2pcall_init(const sb_core_api_t *core, const char *config_dir)
{
    sb_p2pcall_core = core;
    if (sb_p2pcall_conf_load(config_dir, &sb_p2pcall_ice_servers) < 0) {
        json_decref(sb_p2pcall_ice_servers);
        return -1;
    }
    sb_p2pcall_users = g_hash_table_new(g_str_hash, g_str_equal);
    sb_p2pcall_queue = g_async_queue_new();
    sb_p2pcall_thread = g_thread_new("p2pcall", sb_p2pcall_run, NULL);
    return 0;
}

static void sb_p2pcall_deinit(void)
{
    sb_p2pcall_enqueue(SB_P2PCALL_MSG_STOP, NULL, NULL, NULL, NULL);
    g_thread_join(sb_p2pcall_thread);
    sb_p2pcall_msg_t *m;
    while ((m = g_async_queue_try_pop(sb_p2pcall_queue)) != NULL) {
        if (m->kind == SB_P2PCALL_MSG_GONE)
            sb_p2pcall_user_unref(m->user);
        sb_p2pcall_msg_free(m);
    }
    g_async_queue_unref(sb_p2pcall_queue);
    g_hash_table_destroy(sb_p2pcall_users);
    json_decref(sb_p2pcall_ice_servers);
}

static int sb_p2pcall_create_handle(sb_plugin_handle_t *h)
{
    sb_p2pcall_user_t *u = SB_NEW(sb_p2pcall_user_t);
    atomic_init(&u->refs, 1);
    sb_p2pcall_core->handle_ref(h);
    u->h = h;
    u->state = SB_P2PCALL_IDLE;
    h->plugin_data = u;
    return 0;
}

static sb_plugin_result_t sb_p2pcall_handle_message(sb_plugin_handle_t *h, const char *transaction,
                                                    json_t *body, json_t *jsep)
{
    sb_p2pcall_user_t *u = h->plugin_data;
    if (!u)
        return (sb_plugin_result_t){.kind = SB_PLUGIN_ERROR, .error = sb_strdup("No session")};
    sb_p2pcall_enqueue(SB_P2PCALL_MSG_REQUEST, u, transaction, body, jsep);
    return sb_plugin_wait();
}

static void sb_p2pcall_destroy_handle(sb_plugin_handle_t *h)
{
    sb_p2pcall_user_t *u = h->plugin_data;
    h->plugin_data = NULL;
    if (u)
        sb_p2pcall_enqueue(SB_P2PCALL_MSG_GONE, u, NULL, NULL, NULL);
}

/* Never called in practice (no PeerConnection with the server), but the ops are required. */
static void sb_p2pcall_setup_media(sb_plugin_handle_t *h)
{
    (void)h;
}

static void sb_p2pcall_hangup_media(sb_plugin_handle_t *h)
{
    (void)h;
}

static json_t *sb_p2pcall_query_handle(sb_plugin_handle_t *h)
{
    /* State lives on the message thread; the admin view only says the handle is ours. */
    return h->plugin_data ? json_pack("{s:s}", "plugin", SB_P2PCALL_PACKAGE) : NULL;
}

static const sb_plugin_t sb_p2pcall_plugin = {
    SB_PLUGIN_HEADER,
    .package = SB_P2PCALL_PACKAGE,
    .name = "Switchboard P2P call",
    .description = "Signaling for 1:1 calls whose media flows browser to browser.",
    .author = "Switchboard",
    .version_string = "0.1.0",
    .version = 1,
    .init = sb_p2pcall_init,
    .deinit = sb_p2pcall_deinit,
    .create_handle = sb_p2pcall_create_handle,
    .handle_message = sb_p2pcall_handle_message,
    .destroy_handle = sb_p2pcall_destroy_handle,
    .query_handle = sb_p2pcall_query_handle,
    .setup_media = sb_p2pcall_setup_media,
    .hangup_media = sb_p2pcall_hangup_media,
};

SB_PLUGIN_DEFINE(sb_p2pcall_plugin)
