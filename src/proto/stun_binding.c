/* STUN Binding (see stun_binding.h). */
#include "proto/stun_binding.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

#define SB_STUN_MAGIC 0x2112A442u
#define SB_STUN_BINDING_REQ 0x0001
#define SB_STUN_BINDING_OK 0x0101
#define SB_STUN_ATTR_MAPPED 0x0001
#define SB_STUN_ATTR_XOR_MAPPED 0x0020

void sb_stun_binding_request(uint8_t out[SB_STUN_BINDING_REQUEST_LEN],
                             const uint8_t txid[SB_STUN_TXID_LEN])
{
    sb_put_be16(out, SB_STUN_BINDING_REQ);
    sb_put_be16(out + 2, 0);
    sb_put_be32(out + 4, SB_STUN_MAGIC);
    memcpy(out + 8, txid, SB_STUN_TXID_LEN);
}

/* One address attribute's value; xor with the magic cookie (and txid for IPv6). */
static int sb_stun_address(const uint8_t *v, size_t len, const uint8_t *header, bool xor,
                           struct sockaddr_storage *out)
{
    if (len < 4)
        return SB_EINVAL;
    uint8_t family = v[1];
    uint16_t port = sb_be16(v + 2);
    if (xor)
        port ^= (uint16_t)(SB_STUN_MAGIC >> 16);
    memset(out, 0, sizeof(*out));
    if (family == 0x01 && len >= 8) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        uint32_t a = sb_be32(v + 4);
        if (xor)
            a ^= SB_STUN_MAGIC;
        in->sin_addr.s_addr = htonl(a);
        return 0;
    }
    if (family == 0x02 && len >= 20) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        for (int i = 0; i < 16; i++) /* header + 4 is the cookie, then the txid */
            in6->sin6_addr.s6_addr[i] = (uint8_t)(v[4 + i] ^ (xor? header[4 + i] : 0));
        return 0;
    }
    return SB_EINVAL;
}

int sb_stun_binding_parse(const uint8_t *buf, size_t len, const uint8_t txid[SB_STUN_TXID_LEN],
                          struct sockaddr_storage *mapped)
{
    if (len < 20 || (buf[0] & 0xc0) || sb_be32(buf + 4) != SB_STUN_MAGIC)
        return SB_EINVAL;
    size_t body = sb_be16(buf + 2);
    if ((body & 3) || 20 + body > len)
        return SB_EINVAL;
    if (sb_be16(buf) != SB_STUN_BINDING_OK || memcmp(buf + 8, txid, SB_STUN_TXID_LEN))
        return SB_ENOENT;
    int found = SB_ENOENT;
    for (size_t off = 20; off + 4 <= 20 + body;) {
        uint16_t type = sb_be16(buf + off), alen = sb_be16(buf + off + 2);
        if (off + 4 + alen > 20 + body)
            return SB_EINVAL;
        const uint8_t *v = buf + off + 4;
        if (type == SB_STUN_ATTR_XOR_MAPPED)
            return sb_stun_address(v, alen, buf, true, mapped);
        if (type == SB_STUN_ATTR_MAPPED && found != 0)
            found = sb_stun_address(v, alen, buf, false, mapped);
        off += 4 + (((size_t)alen + 3) & ~(size_t)3);
    }
    return found;
}
