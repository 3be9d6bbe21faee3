/* The Janus HTTP API for the load generator, over libcurl's multi interface: one control
 * thread runs every request and every long-poll concurrently, without a thread per session.
 *
 * A session is created with `create`, then long-polled (GET <base>/<session>?maxev=N) until it
 * is destroyed; each event goes to the handle named by its "sender". Requests get their reply
 * through a callback; transport failures are counted and reported to the callback as NULL.
 *
 * Not here: what the plugins mean (scenario.c). Control thread only. */
#include <curl/curl.h>
#include <glib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/log.h"
#include "bench/loadgen/lg.h"

#define LG_POLL_MAXEV 16
#define LG_REQ_TIMEOUT_MS 30000
#define LG_POLL_TIMEOUT_MS 65000

struct lg_session {
    uint64_t id;
    bool destroyed;
    bool polling;
    unsigned poll_failures;
    GPtrArray *handles; /* lg_handle_t*, owned */
    lg_reply_fn on_created;
    void *ctx;
};

struct lg_handle {
    lg_session_t *s;
    uint64_t id;
    lg_event_fn on_event;
    void *ctx;
    lg_reply_fn on_attached;
};

typedef struct lg_xfer {
    CURL *easy;
    char *url;
    char *body;
    GString *resp;
    struct curl_slist *hdrs;
    void (*done)(struct lg_xfer *x, json_t *reply, const char *err);
    lg_reply_fn cb;
    void *ctx;
    lg_session_t *s; /* for polls and session requests */
    lg_handle_t *h;
} lg_xfer_t;

static CURLM *lg_multi;
static char *lg_base;
static unsigned lg_inflight;
static uint64_t lg_errors;
static uint64_t lg_txn;
static GHashTable *lg_handles; /* handle id -> lg_handle_t* (borrowed) */
static GPtrArray *lg_sessions; /* lg_session_t*, owned */
static GHashTable *lg_xfers;   /* lg_xfer_t* in flight (a set) */

static size_t lg_sig_write(char *data, size_t size, size_t n, void *arg)
{
    g_string_append_len(((lg_xfer_t *)arg)->resp, data, (gssize)(size * n));
    return size * n;
}

static void lg_sig_start(lg_xfer_t *x, const char *url, json_t *body, long timeout_ms)
{
    x->easy = curl_easy_init();
    x->url = sb_strdup(url);
    x->resp = g_string_new(NULL);
    curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, lg_sig_write);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_TCP_NODELAY, 1L);
    if (body) {
        char txn[32];
        snprintf(txn, sizeof(txn), "lg%llu", (unsigned long long)++lg_txn);
        json_object_set_new(body, "transaction", json_string(txn));
        x->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
    }
    curl_multi_add_handle(lg_multi, x->easy);
    g_hash_table_add(lg_xfers, x);
    lg_inflight++;
}

static void lg_xfer_free(lg_xfer_t *x)
{
    g_hash_table_remove(lg_xfers, x);
    curl_multi_remove_handle(lg_multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    g_string_free(x->resp, TRUE);
    free(x->body); /* from json_dumps */
    sb_free(x->url);
    sb_free(x);
}

static void lg_sig_complete(lg_xfer_t *x, CURLcode code)
{
    lg_inflight--;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *reply = NULL;
    char err[160] = "";
    if (code != CURLE_OK) {
        snprintf(err, sizeof(err), "%s", curl_easy_strerror(code));
    } else if (status != 200) {
        snprintf(err, sizeof(err), "HTTP %ld", status);
    } else {
        json_error_t je;
        reply = json_loadb(x->resp->str, x->resp->len, 0, &je);
        if (!reply)
            snprintf(err, sizeof(err), "bad JSON: %.100s", je.text);
    }
    if (!reply)
        lg_errors++;
    x->done(x, reply, reply ? NULL : err);
    json_decref(reply);
    lg_xfer_free(x);
}

int lg_sig_init(const char *base_url)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    lg_multi = curl_multi_init();
    curl_multi_setopt(lg_multi, CURLMOPT_MAXCONNECTS, 4096L);
    lg_base = sb_strdup(base_url);
    size_t n = strlen(lg_base);
    while (n && lg_base[n - 1] == '/')
        lg_base[--n] = '\0';
    lg_handles = g_hash_table_new(g_int64_hash, g_int64_equal);
    lg_sessions = g_ptr_array_new();
    lg_xfers = g_hash_table_new(g_direct_hash, g_direct_equal);
    return 0;
}

static void lg_session_free(lg_session_t *s)
{
    for (guint i = 0; i < s->handles->len; i++)
        sb_free(g_ptr_array_index(s->handles, i));
    g_ptr_array_free(s->handles, TRUE);
    sb_free(s);
}

void lg_sig_deinit(void)
{
    /* Abort whatever is still in flight (parked long-polls). */
    GList *left = g_hash_table_get_keys(lg_xfers);
    for (GList *l = left; l; l = l->next)
        lg_xfer_free(l->data);
    g_list_free(left);
    g_hash_table_destroy(lg_xfers);
    curl_multi_cleanup(lg_multi);
    g_hash_table_destroy(lg_handles);
    for (guint i = 0; i < lg_sessions->len; i++)
        lg_session_free(g_ptr_array_index(lg_sessions, i));
    g_ptr_array_free(lg_sessions, TRUE);
    sb_free(lg_base);
    curl_global_cleanup();
}

void lg_sig_poll(int timeout_ms)
{
    int running = 0;
    curl_multi_poll(lg_multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(lg_multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(lg_multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        lg_xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        lg_sig_complete(x, m->data.result);
    }
}

unsigned lg_sig_inflight(void)
{
    return lg_inflight;
}

uint64_t lg_sig_errors(void)
{
    return lg_errors;
}

/* ---- plain requests ---- */

static void lg_sig_reply_done(lg_xfer_t *x, json_t *reply, const char *err)
{
    if (x->cb)
        x->cb(x->ctx, reply, err);
}

void lg_sig_post(uint64_t session, uint64_t handle, json_t *body, lg_reply_fn cb, void *ctx)
{
    char url[512];
    if (handle)
        snprintf(url, sizeof(url), "%s/%llu/%llu", lg_base, (unsigned long long)session,
                 (unsigned long long)handle);
    else if (session)
        snprintf(url, sizeof(url), "%s/%llu", lg_base, (unsigned long long)session);
    else
        snprintf(url, sizeof(url), "%s", lg_base);
    lg_xfer_t *x = SB_NEW(lg_xfer_t);
    x->done = lg_sig_reply_done;
    x->cb = cb;
    x->ctx = ctx;
    lg_sig_start(x, url, body, LG_REQ_TIMEOUT_MS);
}

/* ---- sessions and long-polls ---- */

static void lg_sig_poll_start(lg_session_t *s);

static void lg_sig_dispatch(lg_session_t *s, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "janus"));
    if (!type || !strcmp(type, "keepalive"))
        return;
    json_int_t sender = json_integer_value(json_object_get(ev, "sender"));
    lg_handle_t *h = sender ? g_hash_table_lookup(lg_handles, &(uint64_t){(uint64_t)sender}) : NULL;
    if (h && h->on_event)
        h->on_event(h->ctx, h, ev);
    else if (!strcmp(type, "timeout"))
        SB_WARN("loadgen", "session %llu timed out on the server", (unsigned long long)s->id);
}

static void lg_sig_poll_done(lg_xfer_t *x, json_t *reply, const char *err)
{
    lg_session_t *s = x->s;
    s->polling = false;
    if (s->destroyed)
        return;
    if (!reply) {
        if (++s->poll_failures > 20) {
            SB_WARN("loadgen", "session %llu: long-poll keeps failing (%s), giving up",
                    (unsigned long long)s->id, err);
            return;
        }
    } else if (json_is_array(reply)) {
        s->poll_failures = 0;
        size_t i;
        json_t *ev;
        json_array_foreach(reply, i, ev) lg_sig_dispatch(s, ev);
    } else {
        s->poll_failures = 0;
        lg_sig_dispatch(s, reply);
    }
    if (!s->destroyed)
        lg_sig_poll_start(s);
}

static void lg_sig_poll_start(lg_session_t *s)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/%llu?maxev=%d&rid=%lld", lg_base, (unsigned long long)s->id,
             LG_POLL_MAXEV, (long long)lg_now_us());
    lg_xfer_t *x = SB_NEW(lg_xfer_t);
    x->done = lg_sig_poll_done;
    x->s = s;
    s->polling = true;
    lg_sig_start(x, url, NULL, LG_POLL_TIMEOUT_MS);
}

static void lg_sig_created(lg_xfer_t *x, json_t *reply, const char *err)
{
    lg_session_t *s = x->s;
    const char *type = reply ? json_string_value(json_object_get(reply, "janus")) : NULL;
    if (type && !strcmp(type, "success")) {
        s->id = (uint64_t)json_integer_value(json_object_get(json_object_get(reply, "data"), "id"));
        lg_sig_poll_start(s);
    }
    if (s->on_created)
        s->on_created(s->ctx, reply, err);
}

lg_session_t *lg_sig_session_new(lg_reply_fn cb, void *ctx)
{
    lg_session_t *s = SB_NEW(lg_session_t);
    s->handles = g_ptr_array_new();
    s->on_created = cb;
    s->ctx = ctx;
    g_ptr_array_add(lg_sessions, s);
    lg_xfer_t *x = SB_NEW(lg_xfer_t);
    x->done = lg_sig_created;
    x->s = s;
    char url[512];
    snprintf(url, sizeof(url), "%s", lg_base);
    lg_sig_start(x, url, json_pack("{s:s}", "janus", "create"), LG_REQ_TIMEOUT_MS);
    return s;
}

uint64_t lg_sig_session_id(const lg_session_t *s)
{
    return s->id;
}

static void lg_sig_attached(lg_xfer_t *x, json_t *reply, const char *err)
{
    lg_handle_t *h = x->h;
    const char *type = reply ? json_string_value(json_object_get(reply, "janus")) : NULL;
    if (type && !strcmp(type, "success")) {
        h->id = (uint64_t)json_integer_value(json_object_get(json_object_get(reply, "data"), "id"));
        g_hash_table_insert(lg_handles, &h->id, h);
    }
    if (h->on_attached)
        h->on_attached(h->ctx, reply, err);
}

lg_handle_t *lg_sig_attach(lg_session_t *s, const char *plugin, lg_event_fn on_event, void *ctx,
                           lg_reply_fn cb)
{
    lg_handle_t *h = SB_NEW(lg_handle_t);
    h->s = s;
    h->on_event = on_event;
    h->ctx = ctx;
    h->on_attached = cb;
    g_ptr_array_add(s->handles, h);
    lg_xfer_t *x = SB_NEW(lg_xfer_t);
    x->done = lg_sig_attached;
    x->h = h;
    char url[512];
    snprintf(url, sizeof(url), "%s/%llu", lg_base, (unsigned long long)s->id);
    lg_sig_start(x, url, json_pack("{s:s, s:s}", "janus", "attach", "plugin", plugin),
                 LG_REQ_TIMEOUT_MS);
    return h;
}

uint64_t lg_sig_handle_id(const lg_handle_t *h)
{
    return h->id;
}

void *lg_sig_handle_ctx(const lg_handle_t *h)
{
    return h->ctx;
}

void lg_sig_message(lg_handle_t *h, json_t *body, json_t *jsep, lg_reply_fn cb, void *ctx)
{
    json_t *req = json_pack("{s:s, s:o}", "janus", "message", "body", body);
    if (jsep)
        json_object_set_new(req, "jsep", jsep);
    lg_sig_post(h->s->id, h->id, req, cb, ctx);
}

void lg_sig_session_destroy(lg_session_t *s, lg_reply_fn cb, void *ctx)
{
    if (s->destroyed || !s->id) {
        s->destroyed = true;
        if (cb)
            cb(ctx, NULL, "no session");
        return;
    }
    s->destroyed = true;
    for (guint i = 0; i < s->handles->len; i++) {
        lg_handle_t *h = g_ptr_array_index(s->handles, i);
        if (h->id)
            g_hash_table_remove(lg_handles, &h->id);
        h->on_event = NULL;
    }
    lg_sig_post(s->id, 0, json_pack("{s:s}", "janus", "destroy"), cb, ctx);
}
