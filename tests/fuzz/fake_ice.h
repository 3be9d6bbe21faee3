/* A stand-in for src/peer/ice.c (the only libnice user) in fuzz targets: it implements every
 * sb_ice_* function of peer/ice.h, so a target that links it before libsb.a gets this file
 * instead of ice.o, and drives a real sb_peer through the same ops libnice would: datagrams
 * in (on_recv), ICE connected and failed; what the peer sends lands in a queue.
 *
 * Like the real one: a send before ICE connected fails with SB_ESTATE (no pair yet), and the
 * callbacks come on the thread that calls fake_ice_*. Does not: gather, check connectivity,
 * or know STUN (libnice consumes STUN that validates before our code sees a byte).
 * Thread: the peer's loop, as the real one. */
#ifndef SB_TESTS_FUZZ_FAKE_ICE_H
#define SB_TESTS_FUZZ_FAKE_ICE_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "peer/ice.h"

/* One datagram from the remote, as libnice hands it over (buf is writable: the peer may
 * decrypt in place). Ignored once the agent failed, as the real one. */
void fake_ice_recv(sb_ice_t *ice, uint8_t *buf, size_t len);
/* A pair was selected (first time only: on_connected). */
void fake_ice_connect(sb_ice_t *ice);
/* ICE failed or consent was lost (once: on_failed). */
void fake_ice_fail(sb_ice_t *ice);
/* What the peer sent and nobody took yet (borrowed: the caller empties it, n = 0). */
fuzz_queue_t *fake_ice_sent(sb_ice_t *ice);

#endif
