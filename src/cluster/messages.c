/* Messages between nodes over Redis pub/sub, signed (see messages.h). The envelope is
 * "<HMAC-SHA256 of the JSON, 64 hex digits>\n<JSON>", the JSON being
 * {"from": n, "to": n, "boot": "<sender's run>", "seq": n, "ts": ms, "pkg": "...",
 *  "body": {...}}. */
#include "cluster/messages.h"

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/counter.h"
#include "cluster/cluster.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "switchboard/log.h"
#include "switchboard/time.h"

#define SB_MSG_MAC_HEX 64
#define SB_MSG_BOOT_LEN 33
#define SB_MSG_WAIT_MS 200 /* the reader looks at its stop flag this often */

/* The last message seen from each node's run: a replay is dropped. Reader thread. */
typedef struct sb_msg_seen {
    char boot[SB_MSG_BOOT_LEN];
    uint64_t seq;
} sb_msg_seen_t;

#define SB_MSG_SECRET_MAX 256

static struct {
    /* Kept for the process's life once set (no free): a sender racing the stop at
     * shutdown still reads valid bytes; its message is dropped with the cluster's queue. */
    char secret[SB_MSG_SECRET_MAX];
    atomic_bool ready;
    char boot[SB_MSG_BOOT_LEN];
    atomic_ullong seq;
    sb_cluster_msg_fn handler;
    GThread *reader;
    atomic_bool stopping;
    sb_msg_seen_t seen[SB_CLUSTER_MAX_NODES]; /* reader thread */
    atomic_ullong sent, received, rejected;
} sb_msgs;

uint64_t sb_cluster_messages_sent(void)
{
    return atomic_load(&sb_msgs.sent);
}

uint64_t sb_cluster_messages_received(void)
{
    return atomic_load(&sb_msgs.received);
}

uint64_t sb_cluster_messages_rejected(void)
{
    return atomic_load(&sb_msgs.rejected);
}

/* ---- the envelope ---- */

static void sb_msg_mac(const char *secret, const char *data, size_t len,
                       char hex[SB_MSG_MAC_HEX + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, len, mac,
         &mac_len);
    for (unsigned i = 0; i < 32 && i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    hex[SB_MSG_MAC_HEX] = '\0';
}

char *sb_cluster_msg_seal(const char *secret, unsigned from, unsigned to, const char *boot,
                          uint64_t seq, int64_t ts_ms, const char *package, json_t *body)
{
    json_t *env = json_pack("{s:i, s:i, s:s, s:I, s:I, s:s, s:O}", "from", (int)from, "to",
                            (int)to, "boot", boot, "seq", (json_int_t)seq, "ts",
                            (json_int_t)ts_ms, "pkg", package, "body", body);
    if (!env)
        return NULL;
    char *json = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!json)
        return NULL;
    size_t len = strlen(json);
    char *out = malloc(SB_MSG_MAC_HEX + 1 + len + 1);
    sb_msg_mac(secret, json, len, out);
    out[SB_MSG_MAC_HEX] = '\n';
    memcpy(out + SB_MSG_MAC_HEX + 1, json, len + 1);
    free(json);
    return out;
}

int sb_cluster_msg_open(const char *secret, const char *text, size_t len, unsigned me,
                        int64_t now_ms, unsigned *from, char *boot, size_t boot_len,
                        uint64_t *seq, char *package, size_t package_len, json_t **body)
{
    *body = NULL;
    if (len <= SB_MSG_MAC_HEX + 1 || len > SB_CLUSTER_MSG_MAX || text[SB_MSG_MAC_HEX] != '\n')
        return SB_EPROTO;
    const char *json = text + SB_MSG_MAC_HEX + 1;
    size_t json_len = len - SB_MSG_MAC_HEX - 1;
    char want[SB_MSG_MAC_HEX + 1];
    sb_msg_mac(secret, json, json_len, want);
    if (CRYPTO_memcmp(want, text, SB_MSG_MAC_HEX) != 0)
        return SB_EPERM;
    json_t *env = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, NULL);
    json_int_t f, t, s, ts;
    const char *b, *pkg;
    json_t *bd;
    if (!env || json_unpack(env, "{s:I, s:I, s:s, s:I, s:I, s:s, s:o}", "from", &f, "to", &t,
                            "boot", &b, "seq", &s, "ts", &ts, "pkg", &pkg, "body", &bd) != 0 ||
        f < 0 || f >= SB_CLUSTER_MAX_NODES || s < 0 || !json_is_object(bd) ||
        strlen(pkg) >= package_len || strlen(b) >= boot_len) {
        json_decref(env);
        return SB_EPROTO;
    }
    int rc = 0;
    if ((unsigned)t != me || (unsigned)f == me)
        rc = SB_EINVAL;
    else if (ts < now_ms - SB_CLUSTER_MSG_SKEW_MS || ts > now_ms + SB_CLUSTER_MSG_SKEW_MS)
        rc = SB_ERANGE;
    if (rc == 0) {
        *from = (unsigned)f;
        *seq = (uint64_t)s;
        snprintf(boot, boot_len, "%s", b);
        snprintf(package, package_len, "%s", pkg);
        *body = json_incref(bd);
    }
    json_decref(env);
    return rc;
}

/* ---- sending ---- */

typedef struct sb_msg_out {
    char channel[96];
    char *text; /* malloc'd */
} sb_msg_out_t;

static void sb_msg_out_free(void *arg)
{
    sb_msg_out_t *o = arg;
    free(o->text);
    sb_free(o);
}

static int sb_msg_publish(sb_redis_t *r, void *arg)
{
    sb_msg_out_t *o = arg;
    const char *argv[] = {"PUBLISH", o->channel, o->text};
    redisReply *reply = sb_redis_command(r, 3, argv, NULL);
    if (!reply)
        return SB_EAGAIN;
    freeReplyObject(reply);
    atomic_fetch_add(&sb_msgs.sent, 1);
    return 0;
}

int sb_cluster_send(unsigned node, const char *package, json_t *body)
{
    if (!sb_cluster_enabled() || !atomic_load(&sb_msgs.ready))
        return SB_ENOTSUP;
    if (node >= SB_CLUSTER_MAX_NODES || node == sb_cluster_node_id() || !package ||
        strlen(package) >= SB_CLUSTER_MSG_PACKAGE_MAX || !json_is_object(body))
        return SB_EINVAL;
    if (!sb_cluster_up())
        return SB_EAGAIN;
    sb_msg_out_t *o = SB_NEW(sb_msg_out_t);
    snprintf(o->channel, sizeof(o->channel), "%s:msg:%u", sb_cluster_prefix(), node);
    o->text = sb_cluster_msg_seal(sb_msgs.secret, sb_cluster_node_id(), node, sb_msgs.boot,
                                  atomic_fetch_add(&sb_msgs.seq, 1) + 1,
                                  g_get_real_time() / 1000, package, body);
    if (!o->text || strlen(o->text) > SB_CLUSTER_MSG_MAX) {
        sb_msg_out_free(o);
        return SB_EINVAL;
    }
    sb_cluster_job_post(sb_cluster_job_new(sb_msg_publish, o, sb_msg_out_free));
    return 0;
}

/* ---- receiving (the reader thread) ---- */

static void sb_msg_reject(const char *why, size_t len)
{
    uint64_t n = atomic_fetch_add(&sb_msgs.rejected, 1) + 1;
    if ((n & (n - 1)) == 0) /* 1, 2, 4, ...: a flood must not flood the log */
        SB_WARN("cluster", "message of %zu bytes dropped: %s (%llu dropped so far)", len, why,
                (unsigned long long)n);
}

static void sb_msg_receive(const char *text, size_t len)
{
    unsigned from = 0;
    uint64_t seq = 0;
    char boot[SB_MSG_BOOT_LEN], package[SB_CLUSTER_MSG_PACKAGE_MAX];
    json_t *body = NULL;
    int rc = sb_cluster_msg_open(sb_msgs.secret, text, len, sb_cluster_node_id(),
                                 g_get_real_time() / 1000, &from, boot, sizeof(boot), &seq,
                                 package, sizeof(package), &body);
    if (rc < 0) {
        sb_msg_reject(rc == SB_EPERM    ? "bad signature"
                      : rc == SB_ERANGE ? "too old or from the future"
                      : rc == SB_EINVAL ? "not for this node"
                                        : "malformed",
                      len);
        return;
    }
    sb_msg_seen_t *seen = &sb_msgs.seen[from];
    if (!strcmp(seen->boot, boot) && seq <= seen->seq) {
        json_decref(body);
        sb_msg_reject("a replay", len);
        return;
    }
    snprintf(seen->boot, sizeof(seen->boot), "%s", boot);
    seen->seq = seq;
    atomic_fetch_add(&sb_msgs.received, 1);
    sb_msgs.handler(from, package, body);
    json_decref(body);
}

/* Connected and subscribed, or false (the connection is closed). */
static bool sb_msg_subscribe(sb_redis_t *r)
{
    if (sb_redis_connect(r, NULL, 0) < 0)
        return false;
    char channel[96];
    snprintf(channel, sizeof(channel), "%s:msg:%u", sb_cluster_prefix(), sb_cluster_node_id());
    redisReply *reply = sb_redis_commandf(r, "SUBSCRIBE %s", channel);
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY;
    if (reply)
        freeReplyObject(reply);
    if (!ok)
        sb_redis_close(r);
    return ok;
}

static gpointer sb_msg_reader(gpointer unused)
{
    (void)unused;
    /* The reader waits in poll(2) and looks at its stop flag between waits. */
    sb_redis_t *r = sb_cluster_redis_new();
    unsigned backoff_ms = 250;
    while (!atomic_load(&sb_msgs.stopping)) {
        if (!sb_redis_connected(r)) {
            if (!sb_msg_subscribe(r)) {
                g_usleep(backoff_ms * 1000);
                backoff_ms = MIN(backoff_ms * 2, 1000);
                continue;
            }
            backoff_ms = 250;
        }
        redisReply *reply = NULL;
        int rc = sb_redis_next_push(r, SB_MSG_WAIT_MS, &reply);
        if (rc < 0 || !reply)
            continue;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
            reply->element[0]->type == REDIS_REPLY_STRING &&
            !strcmp(reply->element[0]->str, "message") &&
            reply->element[2]->type == REDIS_REPLY_STRING)
            sb_msg_receive(reply->element[2]->str, reply->element[2]->len);
        freeReplyObject(reply);
    }
    sb_redis_free(r);
    return NULL;
}

int sb_cluster_messages_start(const char *secret, sb_cluster_msg_fn handler)
{
    if (!sb_cluster_enabled())
        return 0;
    if (!secret || !*secret || strlen(secret) >= SB_MSG_SECRET_MAX)
        return SB_EINVAL;
    snprintf(sb_msgs.secret, sizeof(sb_msgs.secret), "%s", secret);
    atomic_store(&sb_msgs.ready, true);
    sb_msgs.handler = handler;
    uint8_t raw[16];
    sb_random_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(sb_msgs.boot + 2 * i, 3, "%02x", raw[i]);
    atomic_store(&sb_msgs.stopping, false);
    sb_msgs.reader = g_thread_new("sb-cluster-msg", sb_msg_reader, NULL);
    return 0;
}

void sb_cluster_messages_stop(void)
{
    if (!sb_msgs.reader)
        return;
    atomic_store(&sb_msgs.stopping, true);
    g_thread_join(sb_msgs.reader);
    sb_msgs.reader = NULL;
    atomic_store(&sb_msgs.ready, false);
}
