/* Interface address enumeration and allow/deny filtering for ICE (see ice_iface.h).
 *
 * Does not: gather candidates, resolve names, or watch interfaces come and go (addresses are
 * read once per agent). Any thread. */
#include "peer/ice_iface.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"

#define SB_ICE_ENTRY_MAX 64

typedef struct sb_ice_ip {
    int family;
    uint8_t bytes[16];
} sb_ice_ip_t;

static bool sb_ice_ip_parse(const char *text, sb_ice_ip_t *ip)
{
    if (inet_pton(AF_INET, text, ip->bytes) == 1) {
        ip->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, ip->bytes) == 1) {
        ip->family = AF_INET6;
        return true;
    }
    return false;
}

static bool sb_ice_ip_from_sockaddr(const struct sockaddr *sa, sb_ice_ip_t *ip)
{
    if (sa->sa_family == AF_INET) {
        ip->family = AF_INET;
        memcpy(ip->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        ip->family = AF_INET6;
        memcpy(ip->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

/* Parse "addr/bits"; false when malformed. */
static bool sb_ice_cidr_parse(const char *entry, sb_ice_ip_t *net, unsigned *bits)
{
    const char *slash = strchr(entry, '/');
    size_t alen = (size_t)(slash - entry);
    if (alen == 0 || alen >= 64 || !slash[1])
        return false;
    char addr[64];
    memcpy(addr, entry, alen);
    addr[alen] = '\0';
    char *end;
    unsigned long b = strtoul(slash + 1, &end, 10);
    if (*end || !sb_ice_ip_parse(addr, net))
        return false;
    if (b > (net->family == AF_INET ? 32u : 128u))
        return false;
    *bits = (unsigned)b;
    return true;
}

static bool sb_ice_cidr_match(const sb_ice_ip_t *net, unsigned bits, const sb_ice_ip_t *ip)
{
    if (net->family != ip->family)
        return false;
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(net->bytes, ip->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (net->bytes[full] & mask) == (ip->bytes[full] & mask);
}

static bool sb_ice_entry_ok(const char *e)
{
    size_t n = strlen(e);
    if (n == 0 || n > SB_ICE_ENTRY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (e[i] <= ' ' || e[i] > '~')
            return false;
    }
    if (strchr(e, '/')) {
        sb_ice_ip_t net;
        unsigned bits;
        return sb_ice_cidr_parse(e, &net, &bits);
    }
    return true;
}

int sb_ice_iface_validate(const char *const *list)
{
    for (; list && *list; list++) {
        if (!sb_ice_entry_ok(*list))
            return SB_EINVAL;
    }
    return 0;
}

static bool sb_ice_entry_match(const char *e, const char *ifname, const sb_ice_ip_t *ip,
                               const char *text)
{
    size_t n = strlen(e);
    if (strchr(e, '/')) {
        sb_ice_ip_t net;
        unsigned bits;
        return sb_ice_cidr_parse(e, &net, &bits) && sb_ice_cidr_match(&net, bits, ip);
    }
    sb_ice_ip_t exact;
    if (sb_ice_ip_parse(e, &exact))
        return exact.family == ip->family &&
               memcmp(exact.bytes, ip->bytes, ip->family == AF_INET ? 4 : 16) == 0;
    if (ifname && n > 1 && e[n - 1] == '*' && strncmp(ifname, e, n - 1) == 0)
        return true;
    if (ifname && strcmp(ifname, e) == 0)
        return true;
    return strncmp(text, e, n) == 0;
}

bool sb_ice_iface_listed(const char *const *list, const char *ifname, const struct sockaddr *sa)
{
    sb_ice_ip_t ip;
    char text[INET6_ADDRSTRLEN];
    if (!list || !sa || !sb_ice_ip_from_sockaddr(sa, &ip))
        return false;
    if (!inet_ntop(ip.family, ip.bytes, text, sizeof(text)))
        return false;
    for (; *list; list++) {
        if (sb_ice_entry_match(*list, ifname, &ip, text))
            return true;
    }
    return false;
}

static bool sb_ice_iface_usable(const struct ifaddrs *ifa, bool ipv6)
{
    if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP))
        return false;
    if (ifa->ifa_addr->sa_family == AF_INET)
        return true;
    if (ifa->ifa_addr->sa_family != AF_INET6 || !ipv6)
        return false;
    /* Link-local IPv6 needs a scope id that candidates cannot carry. */
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
    return !IN6_IS_ADDR_LINKLOCAL(a);
}

int sb_ice_iface_collect(const char *const *allow, const char *const *deny, bool ipv6,
                         struct sockaddr_storage *out, unsigned max)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0)
        return SB_EIO;
    unsigned n = 0;
    for (struct ifaddrs *ifa = ifs; ifa && n < max; ifa = ifa->ifa_next) {
        if (!sb_ice_iface_usable(ifa, ipv6))
            continue;
        bool allowed =
            !allow || !*allow || sb_ice_iface_listed(allow, ifa->ifa_name, ifa->ifa_addr);
        if (!allowed || sb_ice_iface_listed(deny, ifa->ifa_name, ifa->ifa_addr))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        if (ifa->ifa_addr->sa_family == AF_INET) {
            memcpy(&out[n], ifa->ifa_addr, sizeof(struct sockaddr_in));
            ((struct sockaddr_in *)&out[n])->sin_port = 0;
        } else {
            memcpy(&out[n], ifa->ifa_addr, sizeof(struct sockaddr_in6));
            ((struct sockaddr_in6 *)&out[n])->sin6_port = 0;
        }
        n++;
    }
    freeifaddrs(ifs);
    return (int)n;
}
