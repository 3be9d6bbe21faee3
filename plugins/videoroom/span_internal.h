/* Inside rooms that span nodes (span.c, span_in.c): a room's other nodes, our own handles,
 * and the helpers both files use. Threads and locks as in span.c's top comment. */
#ifndef SB_VR_SPAN_INTERNAL_H
#define SB_VR_SPAN_INTERNAL_H

#include "videoroom.h"

#define SB_VR_SPAN_NODES 256

/* A room's other nodes. Under the lock. */
typedef struct sb_vr_span {
    bool active;                   /* this node has participants in the room */
    bool peer[SB_VR_SPAN_NODES];   /* nodes whose instance we know */
    GHashTable *remote;            /* feed id -> sb_vr_session_t* (ours, a reference) */
    GHashTable *links;             /* "feed:node" -> sb_vr_session_t* (ours, a reference) */
} sb_vr_span_t;

/* What one of our handles is (see sb_vr_session_t.link). */
typedef struct sb_vr_span_link {
    bool remote_pub; /* another node's publisher here; else a link subscriber to node */
    uint64_t room, feed;
    unsigned node;
    unsigned nmap;
    sb_vr_span_map_t map[SB_VR_SPAN_MAX_MLINES];
    char link_mids[SB_VR_SPAN_MAX_MLINES][64]; /* remote_pub: the link's own m-lines */
} sb_vr_span_link_t;

/* Message to node: type and room, with extra's fields (stolen; NULL: none). Queued. */
void sb_vr_span_send(unsigned node, const char *type, uint64_t room, json_t *extra);
/* This node's participants in r, as a hello lists them (owned). Under the lock. */
json_t *sb_vr_span_locals(sb_vr_room_t *r);
/* A request on one of our handles, as if a client had sent it; body and jsep stolen. */
void sb_vr_span_request(sb_vr_session_t *s, json_t *body, json_t *jsep);
char *sb_vr_span_link_key(uint64_t feed, unsigned node); /* g_free */
/* Another node's participant here: made (message thread, no lock; borrowed session or
 * NULL), found (under the lock), gone with a leave's events (under the lock). */
sb_vr_session_t *sb_vr_span_remote_add(uint64_t room, unsigned node, uint64_t id,
                                       const char *display);
sb_vr_session_t *sb_vr_span_remote_find(sb_vr_room_t *r, uint64_t id, unsigned node);
void sb_vr_span_remote_remove(sb_vr_room_t *r, uint64_t id, bool kicked, sb_vr_outbox_t *ob);
/* Links of a live publisher to the nodes that have none (posted); our links of feed (0:
 * every feed) to node (-1: every node) go (under the lock). */
void sb_vr_span_open(uint64_t room, uint64_t feed);
void sb_vr_span_close_links(sb_vr_room_t *r, uint64_t feed, int node);

#endif
