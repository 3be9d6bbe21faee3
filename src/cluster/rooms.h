/* The cluster's directory of rooms and their members, for the plugins (through the core
 * API, plugin.h 8.2). A room, per plugin package, has a cluster-wide unique id, a home node
 * and its configuration (the plugin's JSON); its members are the participants on every node,
 * each with the node that holds it. Everything is in Redis (docs/scaling.md, "Redis keys");
 * this node also keeps what it put there itself (rooms it is home of, its own members) and
 * says it again whenever Redis comes back, so a Redis that restarted empty loses nothing.
 * When a node is gone, its members are taken out (by whichever node sees it first), and its
 * rooms keep their home until a join adopts them (sb_rooms_get with adopt).
 *
 * Any thread but a media loop: the calls that answer wait for Redis at most
 * SB_ROOMS_WAIT_MS, and answer SB_EAGAIN at once while Redis is away. */
#ifndef SB_CLUSTER_ROOMS_H
#define SB_CLUSTER_ROOMS_H

#include <jansson.h>
#include <stdbool.h>

#define SB_ROOMS_WAIT_MS 250
#define SB_ROOMS_MAX_ID 256 /* bytes of a package, room or member id */

/* Registers the reconnect hook and the node watcher; after sb_cluster_start. */
void sb_rooms_init(void);
void sb_rooms_deinit(void);

/* Creates room with config (borrowed) unless it exists: 0 and *home (this node, or the
 * least loaded live node that is not draining when this one is), SB_EEXIST and the existing
 * room's *home, SB_EAGAIN (Redis away or slow), SB_EINVAL (an id too long). */
int sb_rooms_create(const char *package, const char *room, json_t *config, unsigned *home);
/* The room's home and configuration (*config owned, may be NULL). With adopt, a room whose
 * home is gone (no heartbeat) or draining gets this node as its home first. 0, SB_ENOENT,
 * SB_EAGAIN. */
int sb_rooms_get(const char *package, const char *room, bool adopt, unsigned *home,
                 json_t **config);
/* A new configuration (borrowed) for an existing room. 0, SB_ENOENT, SB_EAGAIN. */
int sb_rooms_update(const char *package, const char *room, json_t *config);
/* The room and its members out of the directory. 0, SB_ENOENT, SB_EAGAIN. */
int sb_rooms_remove(const char *package, const char *room);
/* Every room of package: owned {"<room>": {"home": n, "config": {...}, "members": n}},
 * NULL when Redis is away. */
json_t *sb_rooms_list(const char *package);

/* A member of this node joined (or changed: info replaces what was there) or left. Queued,
 * never waits; kept to be said again after a reconnect. info is borrowed. */
void sb_rooms_member_set(const char *package, const char *room, const char *member, json_t *info);
void sb_rooms_member_remove(const char *package, const char *room, const char *member);
/* The room's members on every node: owned {"<member>": {"node": n, ...info}}, NULL when
 * Redis is away. */
json_t *sb_rooms_members(const char *package, const char *room);

#endif
