/* ICE candidate lines (RFC 8839 section 5.1): parse "a=candidate:...", "candidate:..." or the
 * bare value, as found in SDP and in trickle messages, into sb_sdp_candidate_t.
 *
 * Does not resolve host names (mDNS ".local" names stay names) and does not judge whether a
 * candidate is usable: the ICE layer does.
 *
 * Thread: any; pure function. */
#include <string.h>

#include "switchboard/error.h"
#include "proto/sdp.h"
#include "proto/sdp_internal.h"

/* IPv4, IPv6 (with an optional %zone) or a host name: conservative character set. */
static bool sb_sdp_cand_address_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == ':' || c == '-' || c == '_' || c == '%';
        if (!ok)
            return false;
    }
    return true;
}

static int sb_sdp_cand_fail(char *reason, size_t size, const char *what)
{
    sb_sdp_reason(reason, size, "%s", what);
    return SB_EINVAL;
}

static bool sb_sdp_cand_port(const char *s, uint16_t *out)
{
    uint32_t v;
    if (!s || !sb_sdp_lex_u32(s, 65535, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

static bool sb_sdp_cand_type(const char *s, sb_sdp_cand_type_t *out)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (sb_sdp_cand_type_t)i;
            return true;
        }
    }
    return false;
}

/* The optional raddr/rport and the extension name/value pairs after the type. */
static int sb_sdp_cand_extensions(char *s, sb_sdp_candidate_t *c, char *reason, size_t size)
{
    char *name;
    while ((name = sb_sdp_lex_field(&s)) != NULL) {
        char *value = sb_sdp_lex_field(&s);
        if (!value || !sb_sdp_lex_visible(value) || !sb_sdp_lex_token(name))
            return sb_sdp_cand_fail(reason, size, "extension without a value");
        if (strcmp(name, "raddr") == 0) {
            if (!sb_sdp_cand_address_ok(value))
                return sb_sdp_cand_fail(reason, size, "bad raddr");
            memcpy(c->raddr, value, strlen(value) + 1);
        } else if (strcmp(name, "rport") == 0) {
            if (!sb_sdp_cand_port(value, &c->rport))
                return sb_sdp_cand_fail(reason, size, "bad rport");
        } else if (strcmp(name, "tcptype") == 0) {
            if (strcmp(value, "active") != 0 && strcmp(value, "passive") != 0 &&
                strcmp(value, "so") != 0)
                return sb_sdp_cand_fail(reason, size, "bad tcptype");
            memcpy(c->tcptype, value, strlen(value) + 1);
        }
    }
    return 0;
}

int sb_sdp_candidate_parse(const char *line, sb_sdp_candidate_t *out, char *reason,
                           size_t reason_size)
{
    char buf[SB_SDP_MAX_LINE + 1];
    memset(out, 0, sizeof(*out));
    if (!line)
        return sb_sdp_cand_fail(reason, reason_size, "no candidate");
    if (strncmp(line, "a=", 2) == 0)
        line += 2;
    if (strncmp(line, "candidate:", 10) == 0)
        line += 10;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len > SB_SDP_MAX_LINE)
        return sb_sdp_cand_fail(reason, reason_size, "candidate too long");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            return sb_sdp_cand_fail(reason, reason_size, "control character in candidate");
    memcpy(buf, line, len);
    buf[len] = '\0';

    char *s = buf;
    char *found = sb_sdp_lex_field(&s), *comp = sb_sdp_lex_field(&s);
    char *transport = sb_sdp_lex_field(&s), *prio = sb_sdp_lex_field(&s);
    char *addr = sb_sdp_lex_field(&s), *port = sb_sdp_lex_field(&s);
    char *typ = sb_sdp_lex_field(&s), *type = sb_sdp_lex_field(&s);
    uint32_t v;
    if (!type || strcmp(typ, "typ") != 0)
        return sb_sdp_cand_fail(reason, reason_size,
                                "expected <foundation> <component> <transport> <priority> "
                                "<address> <port> typ <type>");
    if (!sb_sdp_lex_ice_chars(found) || strlen(found) > 32)
        return sb_sdp_cand_fail(reason, reason_size, "bad foundation");
    memcpy(out->foundation, found, strlen(found) + 1);
    if (!sb_sdp_lex_u32(comp, 256, &v) || v == 0)
        return sb_sdp_cand_fail(reason, reason_size, "component must be 1..256");
    out->component = (uint16_t)v;
    if (!sb_sdp_lex_token(transport) || strlen(transport) >= sizeof(out->transport))
        return sb_sdp_cand_fail(reason, reason_size, "bad transport");
    for (size_t i = 0; transport[i]; i++)
        out->transport[i] =
            (transport[i] >= 'A' && transport[i] <= 'Z') ? (char)(transport[i] + 32) : transport[i];
    if (!sb_sdp_lex_u32(prio, UINT32_MAX, &out->priority))
        return sb_sdp_cand_fail(reason, reason_size, "priority must be a 32-bit number");
    if (!sb_sdp_cand_address_ok(addr))
        return sb_sdp_cand_fail(reason, reason_size, "bad address");
    memcpy(out->address, addr, strlen(addr) + 1);
    if (!sb_sdp_cand_port(port, &out->port))
        return sb_sdp_cand_fail(reason, reason_size, "port must be 0..65535");
    if (!sb_sdp_cand_type(type, &out->type))
        return sb_sdp_cand_fail(reason, reason_size, "type must be host, srflx, prflx or relay");
    int rc = sb_sdp_cand_extensions(s, out, reason, reason_size);
    if (rc == 0 && strcmp(out->transport, "tcp") == 0 && !out->tcptype[0])
        return sb_sdp_cand_fail(reason, reason_size, "TCP candidate without tcptype (RFC 6544)");
    return rc;
}
