/* Session and handle ids: random integers below 2^53 (exact in JavaScript) whose top
 * 8 bits carry the node id, so a load balancer can route a session by its path alone.
 * Layout: bits 52..45 node id, bits 44..0 random, never 0. Any thread. */
#ifndef SWITCHBOARD_ID_H
#define SWITCHBOARD_ID_H

#include <stddef.h>
#include <stdint.h>

#define SB_ID_NODE_SHIFT 45
#define SB_ID_MAX ((UINT64_C(1) << 53) - 1)

/* A fresh random id for node_id (0..255). Uniqueness is the caller's table's job. */
uint64_t sb_id_new(unsigned node_id);
/* The node id an id carries. */
static inline unsigned sb_id_node(uint64_t id)
{
    return (unsigned)(id >> SB_ID_NODE_SHIFT);
}
/* Fill buf with len random bytes from the kernel's CSPRNG. */
void sb_random_bytes(void *buf, size_t len);

#endif
