/* The webhook event handler's thread (see webhook.h). */
#include "api/webhook.h"

#include <curl/curl.h>
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "peer/events.h"

#define SB_WEBHOOK_WAIT_US 200000 /* the thread looks at its stop flag this often */

static struct {
    GThread *thread;
    char *url;
    bool grouping;
    unsigned batch_max, retries, backoff_ms, timeout_ms;
    atomic_bool stopping;
    atomic_llong flush_deadline_us; /* while stopping: give up sending after it */
    atomic_ullong posts_ok, posts_failed;
} sb_webhook;

uint64_t sb_webhook_posts_ok(void)
{
    return atomic_load(&sb_webhook.posts_ok);
}

uint64_t sb_webhook_posts_failed(void)
{
    return atomic_load(&sb_webhook.posts_failed);
}

static size_t sb_webhook_discard(char *data, size_t size, size_t n, void *unused)
{
    (void)data;
    (void)unused;
    return size * n;
}

/* One POST; true when answered 2xx. */
static bool sb_webhook_post(CURL *curl, struct curl_slist *headers, const char *body, size_t len)
{
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, sb_webhook.url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)sb_webhook.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)sb_webhook.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sb_webhook_discard);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300)
        return true;
    SB_DEBUG("webhook", "POST failed: %s, HTTP %ld",
             rc == CURLE_OK ? "answered" : curl_easy_strerror(rc), status);
    return false;
}

/* Sleep ms unless the flush deadline comes first; false when it has passed. */
static bool sb_webhook_backoff(unsigned ms)
{
    int64_t until = sb_now_us() + (int64_t)ms * 1000;
    int64_t deadline = atomic_load(&sb_webhook.flush_deadline_us);
    if (deadline && until > deadline)
        return false;
    g_usleep((gulong)ms * 1000);
    return true;
}

/* POST one payload of n events with its retries; counts the outcome. */
static void sb_webhook_deliver(CURL *curl, struct curl_slist *headers, json_t *payload, size_t n)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text) {
        sb_events_dropped_add(n);
        return;
    }
    size_t len = strlen(text);
    bool ok = sb_webhook_post(curl, headers, text, len);
    unsigned wait = sb_webhook.backoff_ms;
    for (unsigned i = 0; !ok && i < sb_webhook.retries && sb_webhook_backoff(wait); i++) {
        ok = sb_webhook_post(curl, headers, text, len);
        wait *= 2;
    }
    free(text);
    if (ok) {
        atomic_fetch_add(&sb_webhook.posts_ok, 1);
        return;
    }
    uint64_t failed = atomic_fetch_add(&sb_webhook.posts_failed, 1) + 1;
    sb_events_dropped_add(n);
    /* Logged at the 1st, 2nd, 4th, 8th... failure: a receiver that is down must not flood
     * the log. */
    if ((failed & (failed - 1)) == 0)
        SB_WARN("webhook",
                "%s did not take %zu event(s) after %u retries: dropped (%llu "
                "POSTs failed so far)",
                sb_webhook.url, n, sb_webhook.retries, (unsigned long long)failed);
}

static gpointer sb_webhook_run(gpointer unused)
{
    (void)unused;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    for (;;) {
        json_t *batch =
            sb_events_take(sb_webhook.grouping ? sb_webhook.batch_max : 1, SB_WEBHOOK_WAIT_US);
        int64_t deadline = atomic_load(&sb_webhook.flush_deadline_us);
        bool stopping = atomic_load(&sb_webhook.stopping);
        if (!batch && stopping)
            break;
        if (!batch)
            continue;
        size_t n = json_array_size(batch);
        if (!curl || (stopping && sb_now_us() > deadline))
            sb_events_dropped_add(n); /* past the flush: what is left is dropped */
        else if (sb_webhook.grouping)
            sb_webhook_deliver(curl, headers, batch, n);
        else
            sb_webhook_deliver(curl, headers, json_array_get(batch, 0), 1);
        json_decref(batch);
    }
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    return NULL;
}

int sb_webhook_start(const sb_config_t *cfg)
{
    if (!cfg->events_webhook || !*cfg->events_webhook)
        return 0;
    if (strncmp(cfg->events_webhook, "http://", 7) != 0 &&
        strncmp(cfg->events_webhook, "https://", 8) != 0) {
        SB_ERROR("webhook", "events.webhook must be an http:// or https:// URL");
        return SB_EINVAL;
    }
    int mask = sb_events_parse_mask(cfg->events_types);
    if (mask < 0) {
        SB_ERROR("webhook",
                 "events.types: unknown type in '%s' (sessions, handles, jsep, "
                 "webrtc, media, plugins, transports, core, external, all, none)",
                 cfg->events_types);
        return SB_EINVAL;
    }
    sb_webhook.url = sb_strdup(cfg->events_webhook);
    sb_webhook.grouping = cfg->events_grouping;
    sb_webhook.batch_max = cfg->events_batch_max ? cfg->events_batch_max : 1;
    sb_webhook.retries = cfg->events_retries;
    sb_webhook.backoff_ms = cfg->events_backoff_ms ? cfg->events_backoff_ms : 1;
    sb_webhook.timeout_ms = cfg->events_timeout_ms ? cfg->events_timeout_ms : 1000;
    atomic_store(&sb_webhook.stopping, false);
    atomic_store(&sb_webhook.flush_deadline_us, 0);
    sb_events_start((unsigned)mask, cfg->events_queue_max, cfg->events_emitter,
                    cfg->events_media_period_s);
    sb_webhook.thread = g_thread_new("webhook", sb_webhook_run, NULL);
    SB_INFO("webhook", "events (mask %d) to %s, at most %u queued", mask, sb_webhook.url,
            cfg->events_queue_max);
    return 0;
}

void sb_webhook_stop(unsigned flush_ms)
{
    if (!sb_webhook.thread)
        return;
    atomic_store(&sb_webhook.flush_deadline_us, sb_now_us() + (int64_t)flush_ms * 1000);
    atomic_store(&sb_webhook.stopping, true);
    g_thread_join(sb_webhook.thread);
    sb_webhook.thread = NULL;
    sb_events_stop();
    sb_free(sb_webhook.url);
    sb_webhook.url = NULL;
}
