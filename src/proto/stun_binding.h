/* A STUN Binding request and the address its success response reports (RFC 8489): how the
 * server learns its own public address from a STUN server at start-up. Sans-IO: bytes in,
 * bytes out. libnice does every other STUN exchange (ICE checks, srflx gathering). */
#ifndef SB_PROTO_STUN_BINDING_H
#define SB_PROTO_STUN_BINDING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SB_STUN_BINDING_REQUEST_LEN 20
#define SB_STUN_TXID_LEN 12

/* The 20-byte request (no attributes) with transaction id txid. */
void sb_stun_binding_request(uint8_t out[SB_STUN_BINDING_REQUEST_LEN],
                             const uint8_t txid[SB_STUN_TXID_LEN]);

/* The mapped address of a Binding success response to txid: XOR-MAPPED-ADDRESS, or
 * MAPPED-ADDRESS from an RFC 3489 server. 0; SB_EINVAL (not STUN, truncated, malformed);
 * SB_ENOENT (another transaction, an error response, or no address in it). */
int sb_stun_binding_parse(const uint8_t *buf, size_t len, const uint8_t txid[SB_STUN_TXID_LEN],
                          struct sockaddr_storage *mapped);

#endif
