/* The plugin ABI: the one header a plugin includes.
 *
 * A plugin is a shared object in the plugins folder exporting
 *     const sb_plugin_t *sb_plugin_get(void);
 * The core checks abi_version, calls init() with the core's callback table, then routes
 * the requests and media of every handle attached to the plugin's package name.
 *
 * Threads. "control" is the thread that runs API requests (a transport thread); it never
 * waits on a plugin, so a plugin that does slow work queues it to a thread of its own.
 * "loop" is the media loop the handle's PeerConnection is bound to. Ownership of every
 * argument is stated per op: "borrowed" means valid for the call only. */
#ifndef SB_PLUGIN_PLUGIN_H
#define SB_PLUGIN_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SB_PLUGIN_ABI_VERSION 1

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

/* What the core offers plugins. Every callback is thread-safe. */
typedef struct sb_core_api {
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
} sb_core_api_t;

typedef struct sb_plugin {
    unsigned abi_version; /* SB_PLUGIN_ABI_VERSION */
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
     * are borrowed (json_incref to keep them). Must not block. */
    sb_plugin_result_t (*handle_message)(sb_plugin_handle_t *h, const char *transaction,
                                         json_t *body, json_t *jsep);
    /* Loop thread. The PeerConnection is up (DTLS done): media may flow. */
    void (*setup_media)(sb_plugin_handle_t *h);
    /* Loop thread. The PeerConnection went away (hangup, ICE/DTLS failure, detach). */
    void (*hangup_media)(sb_plugin_handle_t *h);
    /* Control thread. The handle is going: free h->plugin_data. After this returns the
     * core calls no other op for h. */
    void (*destroy_handle)(sb_plugin_handle_t *h);
    /* Control thread. Plugin state of one handle for the admin API; owned result or NULL. */
    json_t *(*query_handle)(sb_plugin_handle_t *h);
} sb_plugin_t;

typedef const sb_plugin_t *(*sb_plugin_get_fn)(void);
#define SB_PLUGIN_ENTRY "sb_plugin_get"

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
