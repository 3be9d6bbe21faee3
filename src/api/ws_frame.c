/* RFC 6455 server-side framing (see ws_frame.h). Pure byte handling: no sockets, no threads,
 * no allocation beyond the message being reassembled (bounded by max_message). */
#include "api/ws_frame.h"

#include <string.h>

#include "switchboard/alloc.h"

enum { SB_WS_HDR = 0, SB_WS_PAYLOAD, SB_WS_DEAD, SB_WS_DONE };

static uint16_t sb_ws_die(sb_ws_parser_t *p, uint16_t code)
{
    p->state = SB_WS_DEAD;
    p->dead_code = code;
    return code;
}

void sb_ws_parser_init(sb_ws_parser_t *p, size_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->max_message = max_message;
    p->hdr_need = 2;
}

void sb_ws_parser_deinit(sb_ws_parser_t *p)
{
    sb_free(p->msg);
    p->msg = NULL;
    p->msg_len = p->msg_cap = 0;
}

bool sb_ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte (RFC 3629 §4) */
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return false;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

size_t sb_ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

/* The header is complete in p->hdr: validate it and set up the payload. 0 or a close code. */
static uint16_t sb_ws_header_done(sb_ws_parser_t *p)
{
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
    p->fin = b0 & 0x80;
    p->opcode = b0 & 0x0F;
    uint64_t len = b1 & 0x7F;
    size_t off = 2;
    if (len == 126) {
        len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
        off = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p->hdr[2 + i];
        if (len >> 63)
            return SB_WS_CLOSE_PROTOCOL; /* §5.2: the most significant bit MUST be 0 */
        off = 10;
    }
    memcpy(p->mask, p->hdr + off, 4);
    p->remaining = len;
    p->mask_pos = 0;
    bool control = p->opcode & 0x08;
    if (control) {
        if (!p->fin || len > SB_WS_MAX_CONTROL)
            return SB_WS_CLOSE_PROTOCOL; /* §5.5 */
        if (p->opcode != SB_WS_OP_CLOSE && p->opcode != SB_WS_OP_PING &&
            p->opcode != SB_WS_OP_PONG)
            return SB_WS_CLOSE_PROTOCOL;
        p->ctl_len = 0;
    } else if (p->opcode == SB_WS_OP_CONT) {
        if (!p->msg_opcode)
            return SB_WS_CLOSE_PROTOCOL; /* §5.4: nothing to continue */
    } else if (p->opcode == SB_WS_OP_TEXT || p->opcode == SB_WS_OP_BINARY) {
        if (p->msg_opcode)
            return SB_WS_CLOSE_PROTOCOL; /* §5.4: a new message inside a fragmented one */
        p->msg_opcode = p->opcode;
        p->msg_len = 0;
        p->msg_too_large = false;
    } else {
        return SB_WS_CLOSE_PROTOCOL; /* reserved opcode */
    }
    if (!control && p->msg_len + len > p->max_message)
        p->msg_too_large = true;
    p->state = SB_WS_PAYLOAD;
    return 0;
}

/* Header bytes: the first two tell how many more there are. 0 or a close code. */
static uint16_t sb_ws_header_byte(sb_ws_parser_t *p, uint8_t c)
{
    p->hdr[p->hdr_have++] = c;
    if (p->hdr_have == 1) {
        if (c & 0x70)
            return SB_WS_CLOSE_PROTOCOL; /* RSV1-3 without an extension (§5.2) */
        return 0;
    }
    if (p->hdr_have == 2) {
        if (!(c & 0x80))
            return SB_WS_CLOSE_PROTOCOL; /* §5.1: a client MUST mask every frame */
        uint8_t l = c & 0x7F;
        p->hdr_need = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + 4;
    }
    return 0;
}

static void sb_ws_append(sb_ws_parser_t *p, const uint8_t *data, size_t n)
{
    if (p->msg_len + n > p->msg_cap) {
        size_t cap = p->msg_cap ? p->msg_cap : 256;
        while (cap < p->msg_len + n)
            cap *= 2;
        if (cap > p->max_message)
            cap = p->max_message;
        p->msg = sb_realloc(p->msg, cap + 1);
        p->msg_cap = cap;
    }
    memcpy(p->msg + p->msg_len, data, n);
    p->msg_len += n;
}

/* Close frame payload (§5.5.1, §7.4): empty, or a valid code and a UTF-8 reason. */
static uint16_t sb_ws_close_frame(sb_ws_parser_t *p, const sb_ws_parser_ops_t *ops, void *ctx)
{
    uint16_t code = SB_WS_CLOSE_NO_STATUS;
    if (p->ctl_len == 1)
        return SB_WS_CLOSE_PROTOCOL;
    if (p->ctl_len >= 2) {
        code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
        bool known = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
        if (!known && (code < 3000 || code > 4999))
            return SB_WS_CLOSE_PROTOCOL;
        if (!sb_ws_utf8_valid(p->ctl + 2, p->ctl_len - 2))
            return SB_WS_CLOSE_INVALID_DATA;
    }
    p->state = SB_WS_DONE;
    ops->on_close(ctx, code);
    return 0;
}

/* The current frame's payload is complete. 0 or a close code. */
static uint16_t sb_ws_frame_done(sb_ws_parser_t *p, const sb_ws_parser_ops_t *ops, void *ctx)
{
    p->state = SB_WS_HDR;
    p->hdr_have = 0;
    p->hdr_need = 2;
    switch (p->opcode) {
    case SB_WS_OP_CLOSE:
        return sb_ws_close_frame(p, ops, ctx);
    case SB_WS_OP_PING:
        ops->on_ping(ctx, p->ctl, p->ctl_len);
        return 0;
    case SB_WS_OP_PONG:
        return 0;
    default:
        break;
    }
    if (!p->fin)
        return 0;
    bool binary = p->msg_opcode == SB_WS_OP_BINARY;
    p->msg_opcode = 0;
    if (p->msg_too_large) {
        ops->on_message(ctx, binary, NULL, 0, true);
        return 0;
    }
    if (!binary && !sb_ws_utf8_valid(p->msg, p->msg_len))
        return SB_WS_CLOSE_INVALID_DATA; /* §8.1 */
    if (p->msg)
        p->msg[p->msg_len] = '\0'; /* room reserved by sb_ws_append */
    ops->on_message(ctx, binary, p->msg ? p->msg : (const uint8_t *)"", p->msg_len, false);
    return 0;
}

/* Unmasks up to `avail` payload bytes into their destination. Returns the bytes used. */
static size_t sb_ws_payload(sb_ws_parser_t *p, const uint8_t *data, size_t avail)
{
    size_t n = avail < p->remaining ? avail : (size_t)p->remaining;
    uint8_t chunk[512];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
        for (size_t i = 0; i < k; i++)
            chunk[i] = data[done + i] ^ p->mask[(p->mask_pos + i) & 3];
        p->mask_pos += k;
        if (p->opcode & 0x08) {
            memcpy(p->ctl + p->ctl_len, chunk, k);
            p->ctl_len += k;
        } else if (!p->msg_too_large) {
            sb_ws_append(p, chunk, k);
        }
        done += k;
    }
    p->remaining -= n;
    return n;
}

uint16_t sb_ws_parse(sb_ws_parser_t *p, const uint8_t *data, size_t len,
                     const sb_ws_parser_ops_t *ops, void *ctx)
{
    size_t i = 0;
    while (i < len || (p->state == SB_WS_PAYLOAD && p->remaining == 0)) {
        if (p->state == SB_WS_DEAD)
            return p->dead_code;
        if (p->state == SB_WS_DONE)
            return 0;
        uint16_t rc = 0;
        if (p->state == SB_WS_HDR) {
            rc = sb_ws_header_byte(p, data[i++]);
            if (!rc && p->hdr_have == p->hdr_need)
                rc = sb_ws_header_done(p);
        } else if (p->remaining > 0) {
            i += sb_ws_payload(p, data + i, len - i);
        }
        if (!rc && p->state == SB_WS_PAYLOAD && p->remaining == 0)
            rc = sb_ws_frame_done(p, ops, ctx);
        if (rc)
            return sb_ws_die(p, rc);
    }
    return p->state == SB_WS_DEAD ? p->dead_code : 0;
}
