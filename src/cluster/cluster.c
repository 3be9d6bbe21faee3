/* The cluster thread: the node's claim and heartbeat in Redis, the table of live nodes, and
 * the jobs other threads give it (see cluster.h). */
#include "cluster/cluster.h"

#include <glib.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/counter.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "switchboard/log.h"
#include "switchboard/refcount.h"
#include "switchboard/time.h"

#define SB_CLUSTER_BACKOFF_MIN_MS 250
#define SB_CLUSTER_BACKOFF_MAX_MS 1000 /* a refused connect costs little: try each beat */
#define SB_CLUSTER_MAX_HOOKS 8

/* Claims the id (the token in the node's heartbeat is ours, or there is none) and refreshes
 * the heartbeat; then lists the live nodes, forgetting those whose heartbeat expired.
 * KEYS[1]: the set of node ids. ARGV: prefix, id, token, heartbeat JSON, TTL in ms.
 * Returns {0} when another node holds the id, else {1, heartbeat JSON of each live node}. */
static const char sb_cluster_heartbeat_lua[] =
    "local key = ARGV[1] .. ':node:' .. ARGV[2]\n"
    "local cur = redis.call('GET', key)\n"
    "if cur then\n"
    "  local ok, j = pcall(cjson.decode, cur)\n"
    "  if ok and type(j) == 'table' and j['token'] ~= ARGV[3] then return {0} end\n"
    "end\n"
    "redis.call('SET', key, ARGV[4], 'PX', ARGV[5])\n"
    "redis.call('SADD', KEYS[1], ARGV[2])\n"
    "local out = {1}\n"
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local v = redis.call('GET', ARGV[1] .. ':node:' .. id)\n"
    "  if v then table.insert(out, v) else redis.call('SREM', KEYS[1], id) end\n"
    "end\n"
    "return out\n";

/* Takes the heartbeat away if it is ours. KEYS[1]: the node's key; ARGV[1]: our token. */
static const char sb_cluster_leave_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local ok, j = pcall(cjson.decode, cur)\n"
    "  if ok and type(j) == 'table' and j['token'] == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "end\n"
    "return 1\n";

/* Owned by its queue, then by its waiter and the thread (two references). */
struct sb_cluster_job {
    sb_refcount_t ref;
    sb_cluster_job_fn fn;
    void *arg;
    void (*free_arg)(void *);
    GMutex lock;
    GCond cond;
    bool done; /* under lock */
    int rc;    /* fn's result, once done */
};

typedef struct sb_cluster_hook {
    sb_cluster_job_fn fn;
    void *arg;
} sb_cluster_hook_t;

static struct {
    bool enabled;
    char *prefix, *address, *version, *where;
    unsigned node_id;
    char token[33]; /* this run's, in the heartbeat: tells our own claim from another's */
    void (*load)(sb_cluster_load_t *out);
    sb_redis_t *redis; /* the thread's once started */
    GThread *thread;
    GAsyncQueue *jobs;
    atomic_bool stopping, up, conflict;
    unsigned backoff_ms;
    int64_t next_connect_us;
    /* After a (re)connect, nodes not listed yet are not gone until this: a Redis that
     * restarted empty lists each node only once it has beaten again. */
    int64_t grace_until_us;
    /* the node table: written by the thread, read by any under lock */
    GMutex nodes_lock;
    bool alive[SB_CLUSTER_MAX_NODES];
    sb_cluster_node_t nodes[SB_CLUSTER_MAX_NODES];
    atomic_uint live;
    /* set before start or on the main thread before any heartbeat matters */
    sb_cluster_node_fn watchers[SB_CLUSTER_MAX_WATCHERS];
    void *watcher_ctx[SB_CLUSTER_MAX_WATCHERS];
    atomic_uint nwatchers;
    sb_cluster_hook_t hooks[SB_CLUSTER_MAX_HOOKS];
    atomic_uint nhooks;
    sb_counter_t errors; /* the thread's */
} sb_cluster;

static sb_cluster_job_t sb_cluster_stop_job; /* sentinel */

bool sb_cluster_enabled(void)
{
    return sb_cluster.enabled;
}

bool sb_cluster_up(void)
{
    return atomic_load(&sb_cluster.up);
}

unsigned sb_cluster_node_id(void)
{
    return sb_cluster.node_id;
}

const char *sb_cluster_prefix(void)
{
    return sb_cluster.prefix ? sb_cluster.prefix : "sb";
}

uint64_t sb_cluster_redis_errors(void)
{
    return sb_counter_get(&sb_cluster.errors);
}

unsigned sb_cluster_live_nodes(void)
{
    return atomic_load(&sb_cluster.live);
}

sb_redis_t *sb_cluster_redis_new(void)
{
    return sb_redis_new(sb_cluster.where, SB_CLUSTER_TIMEOUT_MS);
}

/* ---- the node table ---- */

size_t sb_cluster_nodes(sb_cluster_node_t *out, size_t max)
{
    size_t n = 0;
    g_mutex_lock(&sb_cluster.nodes_lock);
    for (unsigned i = 0; i < SB_CLUSTER_MAX_NODES; i++) {
        if (!sb_cluster.alive[i])
            continue;
        if (n < max)
            out[n] = sb_cluster.nodes[i];
        n++;
    }
    g_mutex_unlock(&sb_cluster.nodes_lock);
    return n;
}

bool sb_cluster_node_alive(unsigned id)
{
    if (id >= SB_CLUSTER_MAX_NODES)
        return false;
    g_mutex_lock(&sb_cluster.nodes_lock);
    bool alive = sb_cluster.alive[id];
    g_mutex_unlock(&sb_cluster.nodes_lock);
    return alive;
}

int sb_cluster_watch_nodes(sb_cluster_node_fn fn, void *ctx)
{
    unsigned i = atomic_load(&sb_cluster.nwatchers);
    if (i >= SB_CLUSTER_MAX_WATCHERS)
        return SB_ENOMEM;
    sb_cluster.watchers[i] = fn;
    sb_cluster.watcher_ctx[i] = ctx;
    atomic_store(&sb_cluster.nwatchers, i + 1);
    return 0;
}

int sb_cluster_on_reconnect(sb_cluster_job_fn fn, void *arg)
{
    unsigned i = atomic_load(&sb_cluster.nhooks);
    if (i >= SB_CLUSTER_MAX_HOOKS)
        return SB_ENOMEM;
    sb_cluster.hooks[i] = (sb_cluster_hook_t){fn, arg};
    atomic_store(&sb_cluster.nhooks, i + 1);
    return 0;
}

static void sb_cluster_parse_node(json_t *j, sb_cluster_node_t *n)
{
    memset(n, 0, sizeof(*n));
    n->id = (unsigned)json_integer_value(json_object_get(j, "id"));
    snprintf(n->address, sizeof(n->address), "%s",
             json_string_value(json_object_get(j, "address")) ?: "");
    n->load.sessions = (unsigned)json_integer_value(json_object_get(j, "sessions"));
    n->load.peers = (unsigned)json_integer_value(json_object_get(j, "peers"));
    n->load.busy = json_number_value(json_object_get(j, "busy"));
    n->load.draining = json_is_true(json_object_get(j, "draining"));
}

/* The heartbeat's list of live nodes becomes the table; watchers hear of each change.
 * reply: NULL when Redis is away (the table is kept: nodes are not gone because we cannot
 * see them). */
static void sb_cluster_update_nodes(const redisReply *reply)
{
    bool alive[SB_CLUSTER_MAX_NODES] = {false};
    sb_cluster_node_t *fresh = sb_malloc(sizeof(sb_cluster_node_t) * SB_CLUSTER_MAX_NODES);
    for (size_t i = 1; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        json_t *j = json_loadb(e->str, e->len, 0, NULL);
        json_int_t id = json_integer_value(json_object_get(j, "id"));
        if (j && id >= 0 && id < SB_CLUSTER_MAX_NODES) {
            sb_cluster_parse_node(j, &fresh[id]);
            alive[id] = true;
        }
        json_decref(j);
    }
    bool changed[SB_CLUSTER_MAX_NODES];
    unsigned live = 0;
    bool grace = sb_now_us() < sb_cluster.grace_until_us;
    g_mutex_lock(&sb_cluster.nodes_lock);
    for (unsigned i = 0; i < SB_CLUSTER_MAX_NODES; i++) {
        if (grace && !alive[i] && sb_cluster.alive[i]) {
            alive[i] = true;
            fresh[i] = sb_cluster.nodes[i];
        }
        changed[i] = alive[i] != sb_cluster.alive[i];
        sb_cluster.alive[i] = alive[i];
        if (alive[i]) {
            sb_cluster.nodes[i] = fresh[i];
            live++;
        }
    }
    g_mutex_unlock(&sb_cluster.nodes_lock);
    atomic_store(&sb_cluster.live, live);
    sb_free(fresh);
    unsigned nw = atomic_load(&sb_cluster.nwatchers);
    for (unsigned i = 0; i < SB_CLUSTER_MAX_NODES; i++) {
        if (!changed[i])
            continue;
        SB_INFO("cluster", "node %u %s", i, alive[i] ? "is up" : "is gone (no heartbeat)");
        for (unsigned w = 0; w < nw; w++)
            sb_cluster.watchers[w](sb_cluster.watcher_ctx[w], i, alive[i]);
    }
}

/* ---- the heartbeat ---- */

static char *sb_cluster_heartbeat_json(void)
{
    sb_cluster_load_t load = {0};
    if (sb_cluster.load)
        sb_cluster.load(&load);
    json_t *j = json_pack(
        "{s:i, s:s, s:s, s:s, s:i, s:i, s:f, s:b, s:I}", "id", (int)sb_cluster.node_id, "token",
        sb_cluster.token, "address", sb_cluster.address, "version", sb_cluster.version, "sessions",
        (int)load.sessions, "peers", (int)load.peers, "busy", load.busy, "draining", load.draining,
        "time", (json_int_t)(g_get_real_time() / 1000));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* One heartbeat on a connected Redis: 1 refreshed, 0 the id is another node's, SB_EIO the
 * connection failed (closed). */
static int sb_cluster_beat(sb_redis_t *r)
{
    char *hb = sb_cluster_heartbeat_json();
    char id[8], ttl[16], set[96];
    snprintf(id, sizeof(id), "%u", sb_cluster.node_id);
    snprintf(ttl, sizeof(ttl), "%u", SB_CLUSTER_NODE_TTL_MS);
    snprintf(set, sizeof(set), "%s:nodes", sb_cluster_prefix());
    const char *argv[] = {"EVAL", sb_cluster_heartbeat_lua, "1", set, sb_cluster_prefix(),
                          id,     sb_cluster.token,         hb,  ttl};
    redisReply *reply = sb_redis_command(r, 9, argv, NULL);
    free(hb); /* jansson's */
    if (!reply)
        return SB_EIO;
    int rc;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        SB_WARN("cluster", "heartbeat: unexpected reply from Redis (%s)",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not an array");
        sb_counter_add(&sb_cluster.errors, 1);
        rc = SB_EIO;
    } else if (reply->element[0]->integer == 0) {
        rc = 0;
    } else {
        sb_cluster_update_nodes(reply);
        rc = 1;
    }
    freeReplyObject(reply);
    return rc;
}

static void sb_cluster_run_hooks(void)
{
    unsigned n = atomic_load(&sb_cluster.nhooks);
    for (unsigned i = 0; i < n && sb_redis_connected(sb_cluster.redis); i++)
        sb_cluster.hooks[i].fn(sb_cluster.redis, sb_cluster.hooks[i].arg);
}

static void sb_cluster_set_up(bool up)
{
    bool was = atomic_exchange(&sb_cluster.up, up);
    if (was != up && !up)
        SB_WARN("cluster",
                "Redis unreachable (%s): calls go on; cluster-wide requests fail "
                "until it is back",
                sb_redis_error(sb_cluster.redis));
}

/* Once a second on the thread: connect if needed, claim, beat. */
static void sb_cluster_heartbeat(void)
{
    sb_redis_t *r = sb_cluster.redis;
    bool reconnected = false;
    if (!sb_redis_connected(r)) {
        int64_t now = sb_now_us();
        if (now < sb_cluster.next_connect_us)
            return;
        char err[256];
        if (sb_redis_connect(r, err, sizeof(err)) < 0) {
            sb_counter_add(&sb_cluster.errors, 1);
            sb_cluster.next_connect_us = now + (int64_t)sb_cluster.backoff_ms * 1000;
            sb_cluster.backoff_ms = MIN(sb_cluster.backoff_ms * 2, SB_CLUSTER_BACKOFF_MAX_MS);
            return;
        }
        sb_cluster.backoff_ms = SB_CLUSTER_BACKOFF_MIN_MS;
        sb_cluster.grace_until_us =
            now + (int64_t)(SB_CLUSTER_NODE_TTL_MS + SB_CLUSTER_HEARTBEAT_MS) * 1000;
        reconnected = true;
    }
    int rc = sb_cluster_beat(r);
    if (rc == SB_EIO) {
        sb_counter_add(&sb_cluster.errors, 1);
        sb_redis_close(r);
        sb_cluster_set_up(false);
        return;
    }
    if (rc == 0) {
        if (!atomic_exchange(&sb_cluster.conflict, true))
            SB_ERROR("cluster",
                     "node id %u is held by another live node: this node is out of "
                     "the cluster until it is free (node ids must be unique)",
                     sb_cluster.node_id);
        sb_cluster_set_up(false);
        return;
    }
    bool was_up = atomic_load(&sb_cluster.up);
    if (atomic_exchange(&sb_cluster.conflict, false) || reconnected || !was_up) {
        if (!was_up)
            SB_INFO("cluster", "in the cluster as node %u (Redis %s)", sb_cluster.node_id,
                    reconnected ? "connected" : "answering");
        sb_cluster_run_hooks(); /* what Redis may have lost, said again */
    }
    sb_cluster_set_up(sb_redis_connected(r));
}

/* ---- jobs ---- */

sb_cluster_job_t *sb_cluster_job_new(sb_cluster_job_fn fn, void *arg, void (*free_arg)(void *))
{
    sb_cluster_job_t *job = SB_NEW(sb_cluster_job_t);
    sb_refcount_init(&job->ref);
    job->fn = fn;
    job->arg = arg;
    job->free_arg = free_arg;
    g_mutex_init(&job->lock);
    g_cond_init(&job->cond);
    return job;
}

void *sb_cluster_job_arg(sb_cluster_job_t *job)
{
    return job->arg;
}

void sb_cluster_job_unref(sb_cluster_job_t *job)
{
    if (!job || !sb_refcount_dec(&job->ref))
        return;
    if (job->free_arg)
        job->free_arg(job->arg);
    g_mutex_clear(&job->lock);
    g_cond_clear(&job->cond);
    sb_free(job);
}

static void sb_cluster_job_finish(sb_cluster_job_t *job, int rc)
{
    g_mutex_lock(&job->lock);
    job->rc = rc;
    job->done = true;
    g_cond_signal(&job->cond);
    g_mutex_unlock(&job->lock);
    sb_cluster_job_unref(job); /* the thread's reference */
}

/* On the thread: run a job if Redis is there, else fail it. */
static void sb_cluster_job_run(sb_cluster_job_t *job)
{
    if (!atomic_load(&sb_cluster.up) || !sb_redis_connected(sb_cluster.redis)) {
        sb_cluster_job_finish(job, SB_EAGAIN);
        return;
    }
    int rc = job->fn(sb_cluster.redis, job->arg);
    if (!sb_redis_connected(sb_cluster.redis)) {
        sb_counter_add(&sb_cluster.errors, 1);
        sb_cluster_set_up(false);
    }
    sb_cluster_job_finish(job, rc);
}

static bool sb_cluster_job_queue(sb_cluster_job_t *job)
{
    if (!sb_cluster.enabled || !sb_cluster.jobs || !atomic_load(&sb_cluster.up))
        return false;
    sb_refcount_inc(&job->ref); /* the thread's */
    g_async_queue_push(sb_cluster.jobs, job);
    return true;
}

int sb_cluster_job_wait(sb_cluster_job_t *job, unsigned timeout_ms)
{
    if (!sb_cluster_job_queue(job))
        return SB_EAGAIN;
    int64_t until = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    g_mutex_lock(&job->lock);
    while (!job->done)
        if (!g_cond_wait_until(&job->cond, &job->lock, until))
            break;
    int rc = job->done ? job->rc : SB_EAGAIN;
    g_mutex_unlock(&job->lock);
    return rc;
}

void sb_cluster_job_post(sb_cluster_job_t *job)
{
    sb_cluster_job_queue(job);
    sb_cluster_job_unref(job);
}

/* ---- the thread ---- */

static gpointer sb_cluster_thread(gpointer unused)
{
    (void)unused;
    int64_t next_beat = 0;
    while (!atomic_load(&sb_cluster.stopping)) {
        int64_t now = sb_now_us();
        if (now >= next_beat) {
            sb_cluster_heartbeat();
            next_beat = now + SB_CLUSTER_HEARTBEAT_MS * 1000;
            continue;
        }
        sb_cluster_job_t *job = g_async_queue_timeout_pop(sb_cluster.jobs, next_beat - now);
        if (job == &sb_cluster_stop_job)
            break;
        if (job)
            sb_cluster_job_run(job);
    }
    return NULL;
}

/* The first claim, on the main thread: 1 ours, 0 another's, SB_EIO Redis away. A holder
 * that is this node's previous run stops beating: wait out its heartbeat's life. */
static int sb_cluster_first_claim(char *err, size_t err_len)
{
    if (sb_redis_connect(sb_cluster.redis, err, err_len) < 0)
        return SB_EIO;
    int64_t give_up = sb_now_us() + (SB_CLUSTER_NODE_TTL_MS + 500) * 1000;
    for (;;) {
        int rc = sb_cluster_beat(sb_cluster.redis);
        if (rc != 0 || sb_now_us() >= give_up)
            return rc;
        g_usleep(250000);
    }
}

int sb_cluster_start(const sb_cluster_config_t *cfg, char *err, size_t err_len)
{
    if (!cfg->redis || !*cfg->redis)
        return 0;
    sb_cluster.enabled = true;
    sb_cluster.prefix = sb_strdup(cfg->prefix && *cfg->prefix ? cfg->prefix : "sb");
    sb_cluster.address = sb_strdup(cfg->address ? cfg->address : "");
    sb_cluster.version = sb_strdup(cfg->version ? cfg->version : "");
    sb_cluster.node_id = cfg->node_id;
    sb_cluster.load = cfg->load;
    uint8_t raw[16];
    sb_random_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(sb_cluster.token + 2 * i, 3, "%02x", raw[i]);
    g_mutex_init(&sb_cluster.nodes_lock);
    sb_cluster.backoff_ms = SB_CLUSTER_BACKOFF_MIN_MS;
    sb_cluster.where = sb_strdup(cfg->redis);
    sb_cluster.redis = sb_redis_new(cfg->redis, SB_CLUSTER_TIMEOUT_MS);
    int rc = sb_cluster_first_claim(err, err_len);
    if (rc == 0) {
        snprintf(err, err_len,
                 "node id %u is in use by another live node (its heartbeat is "
                 "in Redis at %s): give each node its own general.node_id",
                 cfg->node_id, cfg->redis);
        sb_redis_free(sb_cluster.redis);
        sb_cluster.redis = NULL;
        sb_cluster.enabled = false;
        sb_free(sb_cluster.where);
        sb_cluster.where = NULL;
        return SB_EEXIST;
    }
    if (rc < 0) {
        SB_WARN("cluster",
                "Redis unreachable at start (%s): starting anyway, the node joins "
                "the cluster once Redis answers",
                err);
        sb_cluster.next_connect_us = sb_now_us();
    } else {
        atomic_store(&sb_cluster.up, true);
        SB_INFO("cluster", "in the cluster as node %u (Redis %s, %u nodes live)", cfg->node_id,
                cfg->redis, sb_cluster_live_nodes());
    }
    sb_cluster.jobs = g_async_queue_new();
    sb_cluster.thread = g_thread_new("sb-cluster", sb_cluster_thread, NULL);
    return 0;
}

void sb_cluster_stop(void)
{
    if (!sb_cluster.thread)
        return;
    atomic_store(&sb_cluster.stopping, true);
    g_async_queue_push_front(sb_cluster.jobs, &sb_cluster_stop_job);
    g_thread_join(sb_cluster.thread);
    sb_cluster.thread = NULL;
    atomic_store(&sb_cluster.up, false);
    sb_cluster_job_t *job;
    while ((job = g_async_queue_try_pop(sb_cluster.jobs)) != NULL)
        if (job != &sb_cluster_stop_job)
            sb_cluster_job_finish(job, SB_EAGAIN);
    g_async_queue_unref(sb_cluster.jobs);
    sb_cluster.jobs = NULL;
    /* Leave at once rather than after the heartbeat's life: the others see us gone now. */
    if (sb_redis_connected(sb_cluster.redis)) {
        char key[96];
        snprintf(key, sizeof(key), "%s:node:%u", sb_cluster_prefix(), sb_cluster.node_id);
        redisReply *reply = sb_redis_commandf(sb_cluster.redis, "EVAL %s 1 %s %s",
                                              sb_cluster_leave_lua, key, sb_cluster.token);
        if (reply)
            freeReplyObject(reply);
    }
    sb_redis_free(sb_cluster.redis);
    sb_cluster.redis = NULL;
    g_mutex_clear(&sb_cluster.nodes_lock);
    sb_free(sb_cluster.prefix);
    sb_free(sb_cluster.address);
    sb_free(sb_cluster.version);
    sb_free(sb_cluster.where);
    sb_cluster.prefix = sb_cluster.address = sb_cluster.version = sb_cluster.where = NULL;
    sb_cluster.enabled = false;
}
