/* Local addresses for ICE host candidates: enumerate the machine's interface addresses and
 * apply the operator's allow and deny lists. Loopback is allowed like any other interface (a
 * test namespace has nothing else), so the lists alone decide.
 *
 * List entries (NULL-terminated arrays of strings, borrowed for the call):
 *   "lo", "eth0"        an interface name; "eth*" any name starting with "eth"
 *   "10.1.2.3", "::1"   one address (exact)
 *   "192.168.0.0/16"    a CIDR prefix (IPv4 or IPv6)
 *   "192.168.", "fd00:" a textual prefix of the address
 * An address is used when the allow list is empty or matches it, and then the deny list does
 * not match it (allow is applied first; deny removes from what it let through).
 *
 * Plain C, no libnice. Any thread. */
#ifndef SB_PEER_ICE_IFACE_H
#define SB_PEER_ICE_IFACE_H

#include <stdbool.h>
#include <sys/socket.h>

/* Returns 0 when every entry has one of the forms above, SB_EINVAL otherwise. */
int sb_ice_iface_validate(const char *const *list);

/* Does any entry of list (NULL or empty: none) match this address of interface ifname? */
bool sb_ice_iface_listed(const char *const *list, const char *ifname, const struct sockaddr *sa);

/* Usable addresses (up, IPv4, IPv6 when ipv6 is set; IPv6 link-local never) passing the
 * lists, written to out (ports 0). Returns how many (at most max), or SB_EIO when the
 * interfaces cannot be listed. */
int sb_ice_iface_collect(const char *const *allow, const char *const *deny, bool ipv6,
                         struct sockaddr_storage *out, unsigned max);

#endif
