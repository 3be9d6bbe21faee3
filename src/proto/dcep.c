/* DCEP (see dcep.h). */
#include "proto/dcep.h"

#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

static bool sb_dcep_type_ok(uint8_t t)
{
    uint8_t base = t & (uint8_t)~SB_DCEP_UNORDERED;
    return base == SB_DCEP_RELIABLE || base == SB_DCEP_PARTIAL_REXMIT ||
           base == SB_DCEP_PARTIAL_TIMED;
}

/* Copy a length-prefixed field that must hold no NUL (it becomes a C string). */
static bool sb_dcep_copy(char *dst, const uint8_t *src, size_t n)
{
    if (n > SB_DCEP_LABEL_MAX || memchr(src, 0, n))
        return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

int sb_dcep_parse(const uint8_t *msg, size_t len, sb_dcep_channel_t *ch)
{
    if (!msg || len == 0)
        return SB_EINVAL;
    if (msg[0] == SB_DCEP_MSG_ACK)
        return len == SB_DCEP_ACK_LEN ? SB_DCEP_MSG_ACK : SB_EINVAL;
    if (msg[0] != SB_DCEP_MSG_OPEN || len < SB_DCEP_OPEN_FIXED || !sb_dcep_type_ok(msg[1]))
        return SB_EINVAL;
    size_t label_len = sb_be16(msg + 8), proto_len = sb_be16(msg + 10);
    if (SB_DCEP_OPEN_FIXED + label_len + proto_len != len)
        return SB_EINVAL;
    memset(ch, 0, sizeof(*ch));
    ch->ordered = !(msg[1] & SB_DCEP_UNORDERED);
    ch->reliability = (sb_dcep_reliability_t)(msg[1] & (uint8_t)~SB_DCEP_UNORDERED);
    ch->priority = sb_be16(msg + 2);
    ch->reliability_param = ch->reliability == SB_DCEP_RELIABLE ? 0 : sb_be32(msg + 4);
    if (!sb_dcep_copy(ch->label, msg + SB_DCEP_OPEN_FIXED, label_len) ||
        !sb_dcep_copy(ch->protocol, msg + SB_DCEP_OPEN_FIXED + label_len, proto_len))
        return SB_EINVAL;
    return SB_DCEP_MSG_OPEN;
}

int sb_dcep_write_open(const sb_dcep_channel_t *ch, uint8_t *out, size_t out_len)
{
    size_t label_len = strnlen(ch->label, SB_DCEP_LABEL_MAX + 1);
    size_t proto_len = strnlen(ch->protocol, SB_DCEP_LABEL_MAX + 1);
    size_t len = SB_DCEP_OPEN_FIXED + label_len + proto_len;
    uint8_t type = (uint8_t)ch->reliability | (ch->ordered ? 0 : SB_DCEP_UNORDERED);
    if (label_len > SB_DCEP_LABEL_MAX || proto_len > SB_DCEP_LABEL_MAX || len > out_len ||
        !sb_dcep_type_ok(type))
        return SB_EINVAL;
    out[0] = SB_DCEP_MSG_OPEN;
    out[1] = type;
    sb_put_be16(out + 2, ch->priority);
    sb_put_be32(out + 4, ch->reliability == SB_DCEP_RELIABLE ? 0 : ch->reliability_param);
    sb_put_be16(out + 8, (uint16_t)label_len);
    sb_put_be16(out + 10, (uint16_t)proto_len);
    memcpy(out + SB_DCEP_OPEN_FIXED, ch->label, label_len);
    memcpy(out + SB_DCEP_OPEN_FIXED + label_len, ch->protocol, proto_len);
    return (int)len;
}

void sb_dcep_write_ack(uint8_t out[SB_DCEP_ACK_LEN])
{
    out[0] = SB_DCEP_MSG_ACK;
}
