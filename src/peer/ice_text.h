/* Text of ICE for ice.c: candidate lines and credentials as SDP and trickle carry them.
 * Pure functions, any thread. */
#ifndef SB_PEER_ICE_TEXT_H
#define SB_PEER_ICE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define SB_ICE_LINE_MAX 512

/* A numeric IPv4 or IPv6 address. */
bool sb_ice_is_ip(const char *s);

/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 section 5.4), min..256 of them. */
bool sb_ice_chars_ok(const char *s, size_t min);

/* "a=candidate:...", "candidate:..." or the bare value -> "a=candidate:<value>" (what
 * libnice parses), refusing anything but printable ASCII. 0 or SB_EINVAL. */
int sb_ice_normalize(const char *line, char *out, size_t outlen);

/* A host candidate line with its address replaced by addr and its priority lowered by dec;
 * false when the line does not have that shape (or out is too small). */
bool sb_ice_remap(const char *value, const char *addr, unsigned dec, char *out, size_t outlen);

#endif
