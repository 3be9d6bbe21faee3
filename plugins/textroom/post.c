/* TextRoom HTTP backends: a room with "post" has each public message and announcement
 * POSTed there (the same JSON text the participants get, with the reference's headers),
 * by one sender thread with libcurl, in order, one at a time, 5 s at most each. The queue
 * is bounded (sb_tr_config.post_queue, all rooms together): past it, messages are dropped
 * and counted, so a slow backend never holds a media loop or grows memory.
 *
 * Does not retry, nor read the backend's answer beyond its status. Threads: queued from
 * any thread (under the plugin lock); sent on the "textroom-post" thread. */
#include <curl/curl.h>
#include <stdatomic.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"
#include "textroom.h"

#define SB_TR_POST_TIMEOUT_MS 5000

/* One message for one backend. Owned by the queue, then by the sender thread. */
typedef struct sb_tr_post {
    char *url;
    sb_tr_text_t *text;
} sb_tr_post_t;

static GAsyncQueue *sb_tr_post_q;
static GThread *sb_tr_post_thread;
static sb_tr_post_t sb_tr_post_stop_item; /* sentinel */
static atomic_uint sb_tr_post_pending;
static atomic_ullong sb_tr_post_dropped, sb_tr_post_failed;

static void sb_tr_post_free(sb_tr_post_t *p)
{
    sb_free(p->url);
    sb_tr_text_unref(p->text);
    sb_free(p);
}

static size_t sb_tr_post_discard(char *data, size_t size, size_t n, void *unused)
{
    (void)data;
    (void)unused;
    return size * n;
}

static void sb_tr_post_send(CURL *curl, struct curl_slist *headers, const sb_tr_post_t *p)
{
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, p->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SB_TR_POST_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)p->text->data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)p->text->len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sb_tr_post_discard);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300)
        return;
    unsigned long long n = atomic_fetch_add(&sb_tr_post_failed, 1) + 1;
    if (n == 1 || n % 100 == 0)
        SB_WARN("textroom", "POST to %s failed (%s, HTTP %ld); %llu failure(s) so far", p->url,
                rc == CURLE_OK ? "answered" : curl_easy_strerror(rc), status, n);
}

static gpointer sb_tr_post_run(gpointer unused)
{
    (void)unused;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "charsets: utf-8");
    for (;;) {
        sb_tr_post_t *p = g_async_queue_pop(sb_tr_post_q);
        if (p == &sb_tr_post_stop_item)
            break;
        atomic_fetch_sub(&sb_tr_post_pending, 1);
        if (curl)
            sb_tr_post_send(curl, headers, p);
        sb_tr_post_free(p);
    }
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    return NULL;
}

void sb_tr_post_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atomic_store(&sb_tr_post_pending, 0);
    sb_tr_post_q = g_async_queue_new();
    sb_tr_post_thread = g_thread_new("textroom-post", sb_tr_post_run, NULL);
}

void sb_tr_post_stop(void)
{
    if (!sb_tr_post_thread)
        return;
    g_async_queue_push_front(sb_tr_post_q, &sb_tr_post_stop_item);
    g_thread_join(sb_tr_post_thread);
    sb_tr_post_thread = NULL;
    sb_tr_post_t *p;
    while ((p = g_async_queue_try_pop(sb_tr_post_q)) != NULL)
        sb_tr_post_free(p);
    g_async_queue_unref(sb_tr_post_q);
    sb_tr_post_q = NULL;
    curl_global_cleanup();
    if (atomic_load(&sb_tr_post_dropped))
        SB_INFO("textroom", "%llu message(s) for HTTP backends dropped (queue full)",
                atomic_load(&sb_tr_post_dropped));
}

void sb_tr_post_queue(const char *url, sb_tr_text_t *text)
{
    if (!sb_tr_post_q)
        return;
    if (atomic_fetch_add(&sb_tr_post_pending, 1) >= sb_tr_config.post_queue) {
        atomic_fetch_sub(&sb_tr_post_pending, 1);
        unsigned long long n = atomic_fetch_add(&sb_tr_post_dropped, 1) + 1;
        if (n == 1 || n % 1000 == 0)
            SB_WARN("textroom", "HTTP backends do not keep up: %llu message(s) dropped", n);
        return;
    }
    sb_tr_post_t *p = SB_NEW(sb_tr_post_t);
    p->url = sb_strdup(url);
    p->text = sb_tr_text_ref(text);
    g_async_queue_push(sb_tr_post_q, p);
}
