/* Messages between nodes: what a plugin on one node says to the same plugin on another (a
 * room's events, the set-up of media between them). They go through Redis pub/sub, each
 * node on its own channel (<prefix>:msg:<node>), so a node needs no listener of its own and
 * nodes find each other by id alone; Redis keeps one publisher's messages in order.
 *
 * Every message is signed with the cluster's secret (HMAC-SHA256 over the whole envelope)
 * and carries its sender, its addressee, the sender's run and a sequence number, and its
 * time: one that fails the signature, is not for this node, is more than 30 s off, or
 * replays a sequence number already seen from that run is dropped and counted, and nothing
 * else happens. While Redis is away nothing is sent (SB_EAGAIN) and what was published
 * meanwhile is lost: plugins say their state again when a node comes back (docs/scaling.md).
 *
 * Threads: start/stop on the main thread; send from any thread (queued to the cluster
 * thread); the handler runs on this module's reader thread, one message at a time. */
#ifndef SB_CLUSTER_MESSAGES_H
#define SB_CLUSTER_MESSAGES_H

#include <jansson.h>
#include <stdint.h>

#define SB_CLUSTER_MSG_MAX 262144 /* bytes of one envelope */
#define SB_CLUSTER_MSG_SKEW_MS 30000
#define SB_CLUSTER_MSG_PACKAGE_MAX 64

/* A verified message for package from node from; body borrowed. Must not block. */
typedef void (*sb_cluster_msg_fn)(unsigned from, const char *package, json_t *body);

/* After sb_cluster_start. secret: the cluster's (1 to 255 bytes; else SB_EINVAL). 0 or
 * SB_E*. */
int sb_cluster_messages_start(const char *secret, sb_cluster_msg_fn handler);
void sb_cluster_messages_stop(void);

/* Queue body (borrowed) for package on node. 0, SB_EAGAIN (Redis away), SB_EINVAL (too big,
 * a bad node or package), SB_ENOTSUP (no cluster). */
int sb_cluster_send(unsigned node, const char *package, json_t *body);

/* The envelope, for the unit tests: signed text (owned, free()) for the fields given. */
char *sb_cluster_msg_seal(const char *secret, unsigned from, unsigned to, const char *boot,
                          uint64_t seq, int64_t ts_ms, const char *package, json_t *body);
/* Checks and opens an envelope addressed to me at now_ms: 0 and the fields (body owned), or
 * SB_EPERM (signature), SB_EPROTO (malformed), SB_ERANGE (time), SB_EINVAL (not for me).
 * Replays are the caller's to check (sb_cluster_messages keeps the last seq per run). */
int sb_cluster_msg_open(const char *secret, const char *text, size_t len, unsigned me,
                        int64_t now_ms, unsigned *from, char *boot, size_t boot_len,
                        uint64_t *seq, char *package, size_t package_len, json_t **body);

/* For /metrics. */
uint64_t sb_cluster_messages_sent(void);
uint64_t sb_cluster_messages_received(void);
uint64_t sb_cluster_messages_rejected(void);

#endif
