/* The cluster: this node's place among the others (docs/scaling.md). Redis is the directory:
 * each node claims its id and refreshes a heartbeat with its load every second; a node whose
 * heartbeat stops for SB_CLUSTER_NODE_TTL_MS is gone. Everything that talks to Redis runs on
 * one thread of this module (never a media loop), with timeouts; while Redis is away, calls
 * fail at once with SB_EAGAIN, existing calls go on, and the thread reconnects by itself and
 * re-announces what this node had put there (rooms.h's entries), so a Redis that restarted
 * empty loses nothing the nodes cannot say again.
 *
 * Threads: start and stop on the main thread; every other function from any thread. */
#ifndef SB_CLUSTER_CLUSTER_H
#define SB_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/redis.h"

#define SB_CLUSTER_HEARTBEAT_MS 1000
#define SB_CLUSTER_NODE_TTL_MS 3000 /* a heartbeat lives this long: gone within TTL + 1 s */
#define SB_CLUSTER_TIMEOUT_MS 500   /* connecting, and each command */
#define SB_CLUSTER_MAX_NODES 256    /* node ids are 0..255 */

/* What a node says about its load in each heartbeat. */
typedef struct sb_cluster_load {
    unsigned sessions;
    unsigned peers; /* PeerConnections up */
    double busy;    /* the media loops' mean busy ratio, 0..1 */
    bool draining;  /* not accepting new sessions: it takes no new rooms either */
} sb_cluster_load_t;

typedef struct sb_cluster_config {
    const char *redis;   /* "host:port" or a unix socket path; NULL or "": no cluster */
    const char *prefix;  /* of every key and channel, so clusters may share one Redis */
    const char *address; /* where other nodes reach this one (media links) */
    unsigned node_id;
    const char *version;
    /* The load to announce; called on the cluster thread once per heartbeat. */
    void (*load)(sb_cluster_load_t *out);
} sb_cluster_config_t;

/* Another node, as its last heartbeat said. */
typedef struct sb_cluster_node {
    unsigned id;
    char address[64];
    sb_cluster_load_t load;
} sb_cluster_node_t;

/* Claims the node id and starts the thread. With Redis reachable, an id another live node
 * holds is refused (SB_EEXIST, after waiting out one heartbeat's life in case the holder is
 * this node's own previous run); with Redis unreachable the node starts anyway (calls do
 * not need Redis) and claims the id once it connects. 0 with no cluster configured. The
 * reason of a failure is in err. */
int sb_cluster_start(const sb_cluster_config_t *cfg, char *err, size_t err_len);
void sb_cluster_stop(void);

bool sb_cluster_enabled(void);
/* Redis answered the last heartbeat and the id is ours. */
bool sb_cluster_up(void);
unsigned sb_cluster_node_id(void);
const char *sb_cluster_prefix(void);

/* The live nodes (this one included) into out; returns how many there are. */
size_t sb_cluster_nodes(sb_cluster_node_t *out, size_t max);
bool sb_cluster_node_alive(unsigned id);

/* Called on the cluster thread when a node appears or is gone (its heartbeat expired).
 * At most SB_CLUSTER_MAX_WATCHERS; fn must not block (post the work elsewhere). */
#define SB_CLUSTER_MAX_WATCHERS 8
typedef void (*sb_cluster_node_fn)(void *ctx, unsigned node, bool alive);
int sb_cluster_watch_nodes(sb_cluster_node_fn fn, void *ctx);

/* Work for the cluster thread and its Redis connection (rooms.c, messages.c). fn runs there
 * with the connection (connected) and arg; its return value is the job's result. arg is the
 * job's and free_arg frees it with the job, so a caller that stopped waiting leaves nothing
 * dangling. */
typedef struct sb_cluster_job sb_cluster_job_t;
typedef int (*sb_cluster_job_fn)(sb_redis_t *redis, void *arg);
sb_cluster_job_t *sb_cluster_job_new(sb_cluster_job_fn fn, void *arg, void (*free_arg)(void *));
/* Queues the job and waits at most timeout_ms: fn's result, or SB_EAGAIN when Redis is away
 * (at once) or the job did not finish in time. The job stays the caller's (read its arg,
 * then unref). */
int sb_cluster_job_wait(sb_cluster_job_t *job, unsigned timeout_ms);
/* Queues the job without waiting, in order with the others; dropped while Redis is away
 * (what it would have said must then be said again by a reconnect hook). Takes the
 * caller's reference. */
void sb_cluster_job_post(sb_cluster_job_t *job);
void *sb_cluster_job_arg(sb_cluster_job_t *job);
void sb_cluster_job_unref(sb_cluster_job_t *job);

/* What to say again after a reconnect: fn runs on the cluster thread with the connection
 * each time Redis comes back (and the id is claimed), before any queued job. */
int sb_cluster_on_reconnect(sb_cluster_job_fn fn, void *arg);

/* Another connection to the cluster's Redis (a pub/sub reader's), not connected yet. */
sb_redis_t *sb_cluster_redis_new(void);

/* For /metrics. */
uint64_t sb_cluster_redis_errors(void); /* commands or connections that failed */
unsigned sb_cluster_live_nodes(void);

#endif
