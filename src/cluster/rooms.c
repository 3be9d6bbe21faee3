/* The directory of rooms in Redis (see rooms.h). Keys, with <p> the cluster's prefix:
 *   <p>:rooms:<package>                  set of room ids
 *   <p>:room:<package>:<room>            hash: home, config (JSON), created (ms)
 *   <p>:members:<package>:<room>         hash: member -> info (JSON, with "node")
 *   <p>:nodemembers:<node>               set of "<package>\n<room>\n<member>": what to take
 *                                        out when the node is gone
 * Each change is one Lua script, so it is atomic. */
#include "cluster/rooms.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"

/* KEYS: room hash, rooms set. ARGV: room, home, config, now. {1, home} made, {0, home}
 * there already. */
static const char sb_rooms_create_lua[] =
    "local h = redis.call('HGET', KEYS[1], 'home')\n"
    "if h then return {0, tonumber(h)} end\n"
    "redis.call('HSET', KEYS[1], 'home', ARGV[2], 'config', ARGV[3], 'created', ARGV[4])\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return {1, tonumber(ARGV[2])}\n";

/* KEYS: room hash. ARGV: the home it must have, the new one. 1 moved, 0 not. */
static const char sb_rooms_adopt_lua[] =
    "if redis.call('HGET', KEYS[1], 'home') ~= ARGV[1] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'home', ARGV[2])\n"
    "return 1\n";

/* KEYS: room hash. ARGV: config. 1 updated, 0 no such room. */
static const char sb_rooms_update_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'config', ARGV[1])\n"
    "return 1\n";

/* KEYS: room hash, rooms set, members hash. ARGV: prefix, package, room. 1 removed, 0 none. */
static const char sb_rooms_remove_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local m = redis.call('HGETALL', KEYS[3])\n"
    "for i = 1, #m, 2 do\n"
    "  local ok, j = pcall(cjson.decode, m[i + 1])\n"
    "  if ok and type(j) == 'table' and j['node'] then\n"
    "    redis.call('SREM', ARGV[1] .. ':nodemembers:' .. tostring(j['node']),\n"
    "                ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. m[i])\n"
    "  end\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[3])\n"
    "redis.call('SREM', KEYS[2], ARGV[3])\n"
    "return 1\n";

/* KEYS: rooms set. ARGV: prefix, package. {room, home, config, members, ...}; ids whose hash is
 * gone leave the set. */
static const char sb_rooms_list_lua[] =
    "local out = {}\n"
    "for _, r in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local v = redis.call('HMGET', ARGV[1] .. ':room:' .. ARGV[2] .. ':' .. r, 'home', "
    "'config')\n"
    "  if v[1] then\n"
    "    local n = redis.call('HLEN', ARGV[1] .. ':members:' .. ARGV[2] .. ':' .. r)\n"
    "    table.insert(out, r); table.insert(out, v[1]); table.insert(out, v[2] or 'null')\n"
    "    table.insert(out, n)\n"
    "  else redis.call('SREM', KEYS[1], r) end\n"
    "end\n"
    "return out\n";

/* KEYS: members hash, node's members set. ARGV: member, info, "<package>\n<room>\n<member>".
 * Only while the room exists (KEYS[3]). */
static const char sb_rooms_member_set_lua[] =
    "if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('SADD', KEYS[2], ARGV[3])\n"
    "return 1\n";

/* KEYS: members hash, node's members set. ARGV: member, entry. */
static const char sb_rooms_member_remove_lua[] = "redis.call('HDEL', KEYS[1], ARGV[1])\n"
                                                 "redis.call('SREM', KEYS[2], ARGV[2])\n"
                                                 "return 1\n";

/* KEYS: the gone node's members set. ARGV: prefix. Takes each of its members out. */
static const char sb_rooms_reap_lua[] =
    "local n = 0\n"
    "for _, e in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local pkg, room, member = string.match(e, '^([^\\n]*)\\n([^\\n]*)\\n(.*)$')\n"
    "  if pkg then\n"
    "    n = n + redis.call('HDEL', ARGV[1] .. ':members:' .. pkg .. ':' .. room, member)\n"
    "  end\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return n\n";

/* What this node put in Redis, to say again after a reconnect: "<package>\n<room>" -> config
 * of the rooms it is home of, "<package>\n<room>\n<member>" -> info of its members (json_t,
 * owned). Any thread, under lock. */
static struct {
    GMutex lock;
    GHashTable *homed, *members;
    bool ready;
} sb_rooms;

/* ---- one request: its arguments and what it found (owned by its job) ---- */

typedef struct sb_rooms_req {
    char *package, *room, *member;
    char *text; /* config or info, serialized */
    unsigned home;
    bool adopt;
    json_t *out; /* found: config, list, members */
} sb_rooms_req_t;

static void sb_rooms_req_free(void *arg)
{
    sb_rooms_req_t *q = arg;
    sb_free(q->package);
    sb_free(q->room);
    sb_free(q->member);
    free(q->text); /* jansson's */
    json_decref(q->out);
    sb_free(q);
}

static bool sb_rooms_id_ok(const char *s)
{
    return s && *s && strlen(s) < SB_ROOMS_MAX_ID && !strchr(s, '\n');
}

static sb_rooms_req_t *sb_rooms_req(const char *package, const char *room, const char *member,
                                    json_t *value)
{
    if (!sb_rooms_id_ok(package) || (room && !sb_rooms_id_ok(room)) ||
        (member && !sb_rooms_id_ok(member)))
        return NULL;
    sb_rooms_req_t *q = SB_NEW(sb_rooms_req_t);
    q->package = sb_strdup(package);
    q->room = room ? sb_strdup(room) : NULL;
    q->member = member ? sb_strdup(member) : NULL;
    q->text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    return q;
}

/* Runs q's fn on the cluster thread and waits: fn's result, or SB_EAGAIN. *out takes the
 * result's JSON when out is not NULL. */
static int sb_rooms_call(sb_cluster_job_fn fn, sb_rooms_req_t *q, unsigned *home, json_t **out)
{
    if (!sb_cluster_enabled()) {
        sb_rooms_req_free(q);
        return SB_ENOTSUP;
    }
    sb_cluster_job_t *job = sb_cluster_job_new(fn, q, sb_rooms_req_free);
    int rc = sb_cluster_job_wait(job, SB_ROOMS_WAIT_MS);
    if (rc >= 0) {
        if (home)
            *home = q->home;
        if (out) {
            *out = q->out;
            q->out = NULL;
        }
    }
    sb_cluster_job_unref(job);
    return rc;
}

/* ---- keys ---- */

static void sb_rooms_key(char *buf, size_t len, const char *what, const char *package,
                         const char *room)
{
    if (room)
        snprintf(buf, len, "%s:%s:%s:%s", sb_cluster_prefix(), what, package, room);
    else
        snprintf(buf, len, "%s:%s:%s", sb_cluster_prefix(), what, package);
}

#define SB_ROOMS_KEY_LEN (3 * SB_ROOMS_MAX_ID + 64)

/* An EVAL of script with nkeys keys then args (NUL-terminated strings). The reply is owned,
 * NULL when the connection failed. */
static redisReply *sb_rooms_eval(sb_redis_t *r, const char *script, int nkeys,
                                 const char **keys_and_args, int n)
{
    const char *argv[12];
    char nk[8];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nk;
    for (int i = 0; i < n && i < 9; i++)
        argv[3 + i] = keys_and_args[i];
    return sb_redis_command(r, 3 + n, argv, NULL);
}

static bool sb_rooms_reply_ok(const redisReply *reply)
{
    if (!reply)
        return false;
    if (reply->type == REDIS_REPLY_ERROR)
        SB_WARN("cluster", "Redis: %s", reply->str);
    return reply->type != REDIS_REPLY_ERROR;
}

/* ---- the jobs (cluster thread) ---- */

static int sb_rooms_do_create(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char key[SB_ROOMS_KEY_LEN], set[SB_ROOMS_KEY_LEN], home[8], now[24];
    sb_rooms_key(key, sizeof(key), "room", q->package, q->room);
    sb_rooms_key(set, sizeof(set), "rooms", q->package, NULL);
    snprintf(home, sizeof(home), "%u", q->home);
    snprintf(now, sizeof(now), "%lld", (long long)(g_get_real_time() / 1000));
    const char *ka[] = {key, set, q->room, home, q->text ? q->text : "null", now};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_create_lua, 2, ka, 6);
    int rc = SB_EAGAIN;
    if (sb_rooms_reply_ok(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        q->home = (unsigned)reply->element[1]->integer;
        rc = reply->element[0]->integer ? 0 : SB_EEXIST;
    }
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* A live node to home a new room when this one is draining: the least loaded of the others
 * that are not. This node when there is none. */
static unsigned sb_rooms_pick_home(void)
{
    sb_cluster_node_t nodes[SB_CLUSTER_MAX_NODES];
    size_t n = sb_cluster_nodes(nodes, SB_CLUSTER_MAX_NODES);
    unsigned me = sb_cluster_node_id(), best = me;
    bool draining = false;
    double best_load = 0;
    for (size_t i = 0; i < n; i++)
        if (nodes[i].id == me)
            draining = nodes[i].load.draining;
    if (!draining)
        return me;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].load.draining)
            continue;
        double load = nodes[i].load.peers + nodes[i].load.busy * 1000.0;
        if (best == me || load < best_load) {
            best = nodes[i].id;
            best_load = load;
        }
    }
    return best;
}

static char *sb_rooms_room_key(const char *package, const char *room)
{
    return g_strdup_printf("%s\n%s", package, room);
}

static void sb_rooms_remember_home(const char *package, const char *room, const char *config)
{
    json_t *j = config ? json_loads(config, JSON_DECODE_ANY, NULL) : json_null();
    g_mutex_lock(&sb_rooms.lock);
    g_hash_table_replace(sb_rooms.homed, sb_rooms_room_key(package, room), j ? j : json_null());
    g_mutex_unlock(&sb_rooms.lock);
}

int sb_rooms_create(const char *package, const char *room, json_t *config, unsigned *home)
{
    sb_rooms_req_t *q = sb_rooms_req(package, room, NULL, config);
    if (!q)
        return SB_EINVAL;
    q->home = sb_rooms_pick_home();
    unsigned wanted = q->home;
    int rc = sb_rooms_call(sb_rooms_do_create, q, home, NULL);
    if (rc == 0 && wanted == sb_cluster_node_id()) {
        char *text = json_dumps(config, JSON_COMPACT | JSON_ENCODE_ANY);
        sb_rooms_remember_home(package, room, text);
        free(text);
    }
    return rc;
}

static int sb_rooms_do_get(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char key[SB_ROOMS_KEY_LEN];
    sb_rooms_key(key, sizeof(key), "room", q->package, q->room);
    redisReply *reply = sb_redis_commandf(r, "HMGET %s home config", key);
    if (!sb_rooms_reply_ok(reply)) {
        if (reply)
            freeReplyObject(reply);
        return SB_EAGAIN;
    }
    int rc = SB_ENOENT;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING) {
        rc = 0;
        q->home = (unsigned)strtoul(reply->element[0]->str, NULL, 10);
        if (reply->element[1]->type == REDIS_REPLY_STRING)
            q->out =
                json_loadb(reply->element[1]->str, reply->element[1]->len, JSON_DECODE_ANY, NULL);
    }
    freeReplyObject(reply);
    if (rc < 0 || !q->adopt || q->home == sb_cluster_node_id())
        return rc;
    sb_cluster_node_t nodes[SB_CLUSTER_MAX_NODES];
    size_t n = sb_cluster_nodes(nodes, SB_CLUSTER_MAX_NODES);
    for (size_t i = 0; i < n; i++)
        if (nodes[i].id == q->home && !nodes[i].load.draining)
            return 0; /* its home is there: keep it */
    char was[8], me[8];
    snprintf(was, sizeof(was), "%u", q->home);
    snprintf(me, sizeof(me), "%u", sb_cluster_node_id());
    const char *ka[] = {key, was, me};
    reply = sb_rooms_eval(r, sb_rooms_adopt_lua, 1, ka, 3);
    if (sb_rooms_reply_ok(reply) && reply->type == REDIS_REPLY_INTEGER && reply->integer) {
        SB_INFO("cluster", "%s room %s: its home, node %s, is gone or draining: now homed here",
                q->package, q->room, was);
        q->home = sb_cluster_node_id();
        char *text = q->out ? json_dumps(q->out, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        sb_rooms_remember_home(q->package, q->room, text);
        free(text);
    }
    if (reply)
        freeReplyObject(reply);
    return 0;
}

int sb_rooms_get(const char *package, const char *room, bool adopt, unsigned *home, json_t **config)
{
    sb_rooms_req_t *q = sb_rooms_req(package, room, NULL, NULL);
    if (!q)
        return SB_ENOENT;
    q->adopt = adopt;
    json_t *found = NULL;
    int rc = sb_rooms_call(sb_rooms_do_get, q, home, &found);
    if (config)
        *config = found;
    else
        json_decref(found);
    return rc;
}

static int sb_rooms_do_update(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char key[SB_ROOMS_KEY_LEN];
    sb_rooms_key(key, sizeof(key), "room", q->package, q->room);
    const char *ka[] = {key, q->text ? q->text : "null"};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_update_lua, 1, ka, 2);
    int rc = SB_EAGAIN;
    if (sb_rooms_reply_ok(reply) && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer ? 0 : SB_ENOENT;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int sb_rooms_update(const char *package, const char *room, json_t *config)
{
    sb_rooms_req_t *q = sb_rooms_req(package, room, NULL, config);
    if (!q)
        return SB_ENOENT;
    int rc = sb_rooms_call(sb_rooms_do_update, q, NULL, NULL);
    if (rc == 0) {
        char *key = sb_rooms_room_key(package, room);
        g_mutex_lock(&sb_rooms.lock);
        if (g_hash_table_contains(sb_rooms.homed, key))
            g_hash_table_replace(sb_rooms.homed, g_strdup(key), json_incref(config));
        g_mutex_unlock(&sb_rooms.lock);
        g_free(key);
    }
    return rc;
}

static int sb_rooms_do_remove(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char key[SB_ROOMS_KEY_LEN], set[SB_ROOMS_KEY_LEN], members[SB_ROOMS_KEY_LEN];
    sb_rooms_key(key, sizeof(key), "room", q->package, q->room);
    sb_rooms_key(set, sizeof(set), "rooms", q->package, NULL);
    sb_rooms_key(members, sizeof(members), "members", q->package, q->room);
    const char *ka[] = {key, set, members, sb_cluster_prefix(), q->package, q->room};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_remove_lua, 3, ka, 6);
    int rc = SB_EAGAIN;
    if (sb_rooms_reply_ok(reply) && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer ? 0 : SB_ENOENT;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* Forgets what this node said of a room (it is gone). */
static void sb_rooms_forget_room(const char *package, const char *room)
{
    char *prefix = g_strdup_printf("%s\n%s\n", package, room);
    char *key = sb_rooms_room_key(package, room);
    g_mutex_lock(&sb_rooms.lock);
    g_hash_table_remove(sb_rooms.homed, key);
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, sb_rooms.members);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (g_str_has_prefix(k, prefix))
            g_hash_table_iter_remove(&it);
    g_mutex_unlock(&sb_rooms.lock);
    g_free(key);
    g_free(prefix);
}

int sb_rooms_remove(const char *package, const char *room)
{
    sb_rooms_req_t *q = sb_rooms_req(package, room, NULL, NULL);
    if (!q)
        return SB_ENOENT;
    int rc = sb_rooms_call(sb_rooms_do_remove, q, NULL, NULL);
    if (rc == 0 || rc == SB_ENOENT)
        sb_rooms_forget_room(package, room);
    return rc;
}

static int sb_rooms_do_list(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char set[SB_ROOMS_KEY_LEN];
    sb_rooms_key(set, sizeof(set), "rooms", q->package, NULL);
    const char *ka[] = {set, sb_cluster_prefix(), q->package};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_list_lua, 1, ka, 3);
    if (!sb_rooms_reply_ok(reply) || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return SB_EAGAIN;
    }
    q->out = json_object();
    for (size_t i = 0; i + 3 < reply->elements; i += 4) {
        const redisReply *id = reply->element[i], *home = reply->element[i + 1],
                         *config = reply->element[i + 2], *members = reply->element[i + 3];
        if (id->type != REDIS_REPLY_STRING || home->type != REDIS_REPLY_STRING)
            continue;
        json_t *c = config->type == REDIS_REPLY_STRING
                        ? json_loadb(config->str, config->len, JSON_DECODE_ANY, NULL)
                        : NULL;
        json_object_set_new(
            q->out, id->str,
            json_pack("{s:I, s:o, s:I}", "home", (json_int_t)strtoul(home->str, NULL, 10), "config",
                      c ? c : json_null(), "members",
                      (json_int_t)(members->type == REDIS_REPLY_INTEGER ? members->integer : 0)));
    }
    freeReplyObject(reply);
    return 0;
}

json_t *sb_rooms_list(const char *package)
{
    sb_rooms_req_t *q = sb_rooms_req(package, NULL, NULL, NULL);
    if (!q)
        return NULL;
    json_t *out = NULL;
    return sb_rooms_call(sb_rooms_do_list, q, NULL, &out) == 0 ? out : NULL;
}

/* ---- members ---- */

static char *sb_rooms_member_entry(const char *package, const char *room, const char *member)
{
    return g_strdup_printf("%s\n%s\n%s", package, room, member);
}

/* Says one member of this node (info: JSON text with "node") to Redis. */
static void sb_rooms_say_member(sb_redis_t *r, const char *package, const char *room,
                                const char *member, const char *info)
{
    char members[SB_ROOMS_KEY_LEN], mine[96], key[SB_ROOMS_KEY_LEN];
    sb_rooms_key(members, sizeof(members), "members", package, room);
    sb_rooms_key(key, sizeof(key), "room", package, room);
    snprintf(mine, sizeof(mine), "%s:nodemembers:%u", sb_cluster_prefix(), sb_cluster_node_id());
    char *entry = sb_rooms_member_entry(package, room, member);
    const char *ka[] = {members, mine, key, member, info, entry};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_member_set_lua, 3, ka, 6);
    sb_rooms_reply_ok(reply);
    if (reply)
        freeReplyObject(reply);
    g_free(entry);
}

static int sb_rooms_do_member_set(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    sb_rooms_say_member(r, q->package, q->room, q->member, q->text);
    return 0;
}

static int sb_rooms_do_member_remove(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char members[SB_ROOMS_KEY_LEN], mine[96];
    sb_rooms_key(members, sizeof(members), "members", q->package, q->room);
    snprintf(mine, sizeof(mine), "%s:nodemembers:%u", sb_cluster_prefix(), sb_cluster_node_id());
    char *entry = sb_rooms_member_entry(q->package, q->room, q->member);
    const char *ka[] = {members, mine, q->member, entry};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_member_remove_lua, 2, ka, 4);
    sb_rooms_reply_ok(reply);
    if (reply)
        freeReplyObject(reply);
    g_free(entry);
    return 0;
}

void sb_rooms_member_set(const char *package, const char *room, const char *member, json_t *info)
{
    if (!sb_cluster_enabled())
        return;
    json_t *full = json_is_object(info) ? json_deep_copy(info) : json_object();
    json_object_set_new(full, "node", json_integer(sb_cluster_node_id()));
    sb_rooms_req_t *q = sb_rooms_req(package, room, member, full);
    if (!q) {
        json_decref(full);
        return;
    }
    char *key = sb_rooms_member_entry(package, room, member);
    g_mutex_lock(&sb_rooms.lock);
    g_hash_table_replace(sb_rooms.members, key, full);
    g_mutex_unlock(&sb_rooms.lock);
    sb_cluster_job_post(sb_cluster_job_new(sb_rooms_do_member_set, q, sb_rooms_req_free));
}

void sb_rooms_member_remove(const char *package, const char *room, const char *member)
{
    if (!sb_cluster_enabled())
        return;
    sb_rooms_req_t *q = sb_rooms_req(package, room, member, NULL);
    if (!q)
        return;
    char *key = sb_rooms_member_entry(package, room, member);
    g_mutex_lock(&sb_rooms.lock);
    g_hash_table_remove(sb_rooms.members, key);
    g_mutex_unlock(&sb_rooms.lock);
    g_free(key);
    sb_cluster_job_post(sb_cluster_job_new(sb_rooms_do_member_remove, q, sb_rooms_req_free));
}

static int sb_rooms_do_members(sb_redis_t *r, void *arg)
{
    sb_rooms_req_t *q = arg;
    char members[SB_ROOMS_KEY_LEN];
    sb_rooms_key(members, sizeof(members), "members", q->package, q->room);
    redisReply *reply = sb_redis_commandf(r, "HGETALL %s", members);
    if (!sb_rooms_reply_ok(reply) || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return SB_EAGAIN;
    }
    q->out = json_object();
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *info = json_loadb(v->str, v->len, 0, NULL);
        if (info)
            json_object_set_new(q->out, k->str, info);
    }
    freeReplyObject(reply);
    return 0;
}

json_t *sb_rooms_members(const char *package, const char *room)
{
    sb_rooms_req_t *q = sb_rooms_req(package, room, NULL, NULL);
    if (!q)
        return NULL;
    json_t *out = NULL;
    return sb_rooms_call(sb_rooms_do_members, q, NULL, &out) == 0 ? out : NULL;
}

/* ---- what Redis lost, said again; what a gone node left, taken out ---- */

static int sb_rooms_reannounce(sb_redis_t *r, void *unused)
{
    (void)unused;
    /* A snapshot, serialized under the lock; Redis is called without it. */
    GPtrArray *rooms = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *members = g_ptr_array_new_with_free_func(g_free);
    g_mutex_lock(&sb_rooms.lock);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, sb_rooms.homed);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        g_ptr_array_add(rooms, g_strdup(k));
        g_ptr_array_add(rooms, g_strdup(text));
        free(text);
    }
    g_hash_table_iter_init(&it, sb_rooms.members);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        char *text = json_dumps(v, JSON_COMPACT);
        g_ptr_array_add(members, g_strdup(k));
        g_ptr_array_add(members, g_strdup(text));
        free(text);
    }
    g_mutex_unlock(&sb_rooms.lock);
    for (unsigned i = 0; i + 1 < rooms->len && sb_redis_connected(r); i += 2) {
        char **parts = g_strsplit(rooms->pdata[i], "\n", 2);
        sb_rooms_req_t q = {.package = parts[0],
                            .room = parts[1],
                            .text = rooms->pdata[i + 1],
                            .home = sb_cluster_node_id()};
        if (parts[0] && parts[1])
            sb_rooms_do_create(r, &q);
        g_strfreev(parts);
    }
    for (unsigned i = 0; i + 1 < members->len && sb_redis_connected(r); i += 2) {
        char **parts = g_strsplit(members->pdata[i], "\n", 3);
        if (parts[0] && parts[1] && parts[2])
            sb_rooms_say_member(r, parts[0], parts[1], parts[2], members->pdata[i + 1]);
        g_strfreev(parts);
    }
    if (rooms->len || members->len)
        SB_INFO("cluster", "said again to Redis: %u rooms homed here, %u members here",
                rooms->len / 2, members->len / 2);
    g_ptr_array_free(rooms, TRUE);
    g_ptr_array_free(members, TRUE);
    return 0;
}

static int sb_rooms_do_reap(sb_redis_t *r, void *arg)
{
    unsigned node = GPOINTER_TO_UINT(arg);
    char set[96];
    snprintf(set, sizeof(set), "%s:nodemembers:%u", sb_cluster_prefix(), node);
    const char *ka[] = {set, sb_cluster_prefix()};
    redisReply *reply = sb_rooms_eval(r, sb_rooms_reap_lua, 1, ka, 2);
    if (sb_rooms_reply_ok(reply) && reply->type == REDIS_REPLY_INTEGER && reply->integer)
        SB_INFO("cluster", "node %u is gone: %lld of its members taken out of the directory", node,
                reply->integer);
    if (reply)
        freeReplyObject(reply);
    return 0;
}

static void sb_rooms_on_node(void *unused, unsigned node, bool alive)
{
    (void)unused;
    if (!alive && node != sb_cluster_node_id())
        sb_cluster_job_post(sb_cluster_job_new(sb_rooms_do_reap, GUINT_TO_POINTER(node), NULL));
}

void sb_rooms_init(void)
{
    if (sb_rooms.ready)
        return;
    g_mutex_init(&sb_rooms.lock);
    sb_rooms.homed =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);
    sb_rooms.members =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);
    sb_rooms.ready = true;
    sb_cluster_on_reconnect(sb_rooms_reannounce, NULL);
    sb_cluster_watch_nodes(sb_rooms_on_node, NULL);
}

void sb_rooms_deinit(void)
{
    if (!sb_rooms.ready)
        return;
    g_hash_table_destroy(sb_rooms.homed);
    g_hash_table_destroy(sb_rooms.members);
    g_mutex_clear(&sb_rooms.lock);
    sb_rooms.ready = false;
}
