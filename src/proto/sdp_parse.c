/* SDP parser, line level (RFC 8866 section 5): splits the text into lines, enforces the size,
 * line and character bounds, handles v= o= s= c= b= t= m= and the ordering rules, hands a=
 * lines to sdp_attr.c, and runs the whole-description checks at the end (unique mids, groups
 * referring to existing mids, simulcast referring to declared rids).
 *
 * Does not interpret the description (negotiate.c does) and never asserts on input: every
 * problem becomes SB_EINVAL with a reason.
 *
 * Thread: any; it touches only its arguments. */
#include <stdio.h>
#include <string.h>

#include "switchboard/error.h"
#include "base/log.h"
#include "proto/sdp.h"
#include "proto/sdp_internal.h"

int sb_sdp_fail(sb_sdp_parser_t *p, const char *fmt, ...)
{
    char detail[192];
    va_list ap;
    va_start(ap, fmt);
    sb_sdp_vreason(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (p->line)
        sb_sdp_reason(p->reason, p->reason_size, "line %u: %s", p->line, detail);
    else
        sb_sdp_reason(p->reason, p->reason_size, "%s", detail);
    return SB_EINVAL;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int sb_sdp_parse_origin(sb_sdp_parser_t *p, char *v)
{
    sb_sdp_t *sdp = p->sdp;
    char *user = sb_sdp_lex_field(&v), *id = sb_sdp_lex_field(&v);
    char *ver = sb_sdp_lex_field(&v), *rest = sb_sdp_lex_rest(v);
    if (!user || !id || !ver || !rest)
        return sb_sdp_fail(p, "o=: expected 6 fields");
    if (!sb_sdp_lex_visible(user))
        return sb_sdp_fail(p, "o=: bad username");
    if (!sb_sdp_lex_u64(id, UINT64_MAX, &sdp->session_id))
        return sb_sdp_fail(p, "o=: session id is not a 64-bit number");
    if (!sb_sdp_lex_u64(ver, UINT64_MAX, &sdp->session_version))
        return sb_sdp_fail(p, "o=: session version is not a 64-bit number");
    char *nettype = sb_sdp_lex_field(&rest), *addrtype = sb_sdp_lex_field(&rest);
    char *addr = sb_sdp_lex_field(&rest);
    if (!nettype || !addrtype || !addr || sb_sdp_lex_rest(rest))
        return sb_sdp_fail(p, "o=: expected 6 fields");
    sdp->origin_user = sb_sdp_strdup(sdp, user);
    size_t n = strlen(nettype) + strlen(addrtype) + strlen(addr) + 3;
    char *o = sb_sdp_alloc(sdp, n);
    snprintf(o, n, "%s %s %s", nettype, addrtype, addr);
    sdp->origin_addr = o;
    return 0;
}

/* c=<nettype> <addrtype> <connection-address> */
static int sb_sdp_parse_connection(sb_sdp_parser_t *p, char *v, const char **out)
{
    char *copy = sb_sdp_strdup(p->sdp, v);
    char *s = v;
    char *nettype = sb_sdp_lex_field(&s), *addrtype = sb_sdp_lex_field(&s);
    char *addr = sb_sdp_lex_field(&s);
    if (!nettype || !addrtype || !addr || sb_sdp_lex_rest(s))
        return sb_sdp_fail(p, "c=: expected 3 fields");
    if (*out)
        return sb_sdp_fail(p, "c=: duplicate");
    *out = copy;
    return 0;
}

/* b=<bwtype>:<bandwidth>; only AS and TIAS are kept. */
static int sb_sdp_parse_bandwidth(sb_sdp_parser_t *p, char *v, uint32_t *as, uint32_t *tias)
{
    char *colon = strchr(v, ':');
    uint32_t bw;
    if (!colon)
        return sb_sdp_fail(p, "b=: expected <type>:<bandwidth>");
    *colon = '\0';
    if (!sb_sdp_lex_token(v) || !sb_sdp_lex_u32(colon + 1, UINT32_MAX, &bw))
        return sb_sdp_fail(p, "b=: bad bandwidth");
    if (strcmp(v, "AS") == 0)
        *as = bw;
    else if (strcmp(v, "TIAS") == 0)
        *tias = bw;
    return 0;
}

/* proto = token *("/" token) */
static bool sb_sdp_proto_ok(char *proto)
{
    char *s = proto;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        bool ok = sb_sdp_lex_token(s);
        if (slash)
            *slash = '/';
        if (!ok)
            return false;
        if (!slash)
            return true;
        s = slash + 1;
    }
}

static bool sb_sdp_proto_is_rtp(const char *proto)
{
    return strstr(proto, "RTP/") != NULL;
}

static int sb_sdp_parse_formats(sb_sdp_parser_t *p, sb_sdp_media_t *m, char *fmts)
{
    char *f;
    while ((f = sb_sdp_lex_field(&fmts)) != NULL) {
        uint32_t pt;
        if (!sb_sdp_lex_u32(f, 127, &pt))
            return sb_sdp_fail(p, "m=: payload type '%.16s' is not 0..127", f);
        if (sb_sdp_media_format(m, pt))
            return sb_sdp_fail(p, "m=: duplicate payload type %u", (unsigned)pt);
        if (m->n_formats >= SB_SDP_MAX_FORMATS)
            return sb_sdp_fail(p, "m=: more than %d payload types", SB_SDP_MAX_FORMATS);
        sb_sdp_format_t *fmt = SB_SDP_PUSH(p->sdp, m->formats, m->n_formats);
        fmt->pt = (uint8_t)pt;
    }
    return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int sb_sdp_parse_media(sb_sdp_parser_t *p, char *v)
{
    sb_sdp_t *sdp = p->sdp;
    if (sdp->n_media >= SB_SDP_MAX_MEDIA)
        return sb_sdp_fail(p, "more than %d m-lines", SB_SDP_MAX_MEDIA);
    char *name = sb_sdp_lex_field(&v), *port = sb_sdp_lex_field(&v);
    char *proto = sb_sdp_lex_field(&v), *fmts = sb_sdp_lex_rest(v);
    if (!name || !port || !proto || !fmts)
        return sb_sdp_fail(p, "m=: expected <media> <port> <proto> <fmt>...");
    if (!sb_sdp_lex_token(name) || !sb_sdp_proto_ok(proto))
        return sb_sdp_fail(p, "m=: bad media or proto");
    char *slash = strchr(port, '/');
    uint32_t portnum, nports;
    if (slash) {
        *slash = '\0';
        if (!sb_sdp_lex_u32(slash + 1, 65535, &nports))
            return sb_sdp_fail(p, "m=: bad number of ports");
    }
    if (!sb_sdp_lex_u32(port, 65535, &portnum))
        return sb_sdp_fail(p, "m=: port is not 0..65535");

    sb_sdp_media_t *m = SB_SDP_PUSH(sdp, sdp->media, sdp->n_media);
    p->m = m;
    p->seen = 0;
    m->media = sb_sdp_strdup(sdp, name);
    m->kind = strcmp(name, "audio") == 0         ? SB_SDP_KIND_AUDIO
              : strcmp(name, "video") == 0       ? SB_SDP_KIND_VIDEO
              : strcmp(name, "application") == 0 ? SB_SDP_KIND_APPLICATION
                                                 : SB_SDP_KIND_OTHER;
    m->port = (uint16_t)portnum;
    m->proto = sb_sdp_strdup(sdp, proto);
    m->rtp = sb_sdp_proto_is_rtp(proto);
    if (!m->rtp) {
        m->fmt_text = sb_sdp_strdup(sdp, fmts);
        char *f, *s = fmts;
        while ((f = sb_sdp_lex_field(&s)) != NULL)
            if (!sb_sdp_lex_token(f))
                return sb_sdp_fail(p, "m=: bad format '%.16s'", f);
        return 0;
    }
    return sb_sdp_parse_formats(p, m, fmts);
}

/* Checks that need the whole m= section: run when the next m= starts and at the end. */
static int sb_sdp_check_media(sb_sdp_parser_t *p, const sb_sdp_media_t *m)
{
    const sb_sdp_simulcast_t *sc = &m->simulcast;
    for (int d = 0; d < 2; d++) {
        const sb_sdp_sim_rid_t *list = d == 0 ? sc->send : sc->recv;
        size_t n = d == 0 ? sc->n_send : sc->n_recv;
        sb_sdp_rid_dir_t want = d == 0 ? SB_SDP_RID_SEND : SB_SDP_RID_RECV;
        for (size_t i = 0; i < n; i++) {
            bool found = false;
            for (size_t r = 0; r < m->n_rids && !found; r++)
                found = m->rids[r].dir == want && strcmp(m->rids[r].id, list[i].rid) == 0;
            if (!found)
                return sb_sdp_fail(p, "a=simulcast: rid '%s' has no matching a=rid:%s %s",
                                   list[i].rid, list[i].rid, d == 0 ? "send" : "recv");
        }
    }
    return 0;
}

static int sb_sdp_check_all(sb_sdp_parser_t *p)
{
    const sb_sdp_t *sdp = p->sdp;
    p->line = 0;
    if (!sdp->origin_addr)
        return sb_sdp_fail(p, "missing o= line");
    if (!sdp->name)
        return sb_sdp_fail(p, "missing s= line");
    for (size_t i = 0; i < sdp->n_groups; i++) {
        const sb_sdp_group_t *g = &sdp->groups[i];
        for (size_t j = 0; j < g->n_mids; j++)
            if (!sb_sdp_find_mid(sdp, g->mids[j]))
                return sb_sdp_fail(p, "a=group:%s refers to unknown mid '%s'", g->semantics,
                                   g->mids[j]);
    }
    return 0;
}

/* An m= line ends the media section before it (checked whole) and starts the next. */
static int sb_sdp_next_media(sb_sdp_parser_t *p, char *v)
{
    if (p->m) {
        int rc = sb_sdp_check_media(p, p->m);
        if (rc)
            return rc;
    }
    return sb_sdp_parse_media(p, v);
}

/* "a=<name>[:<value>]" */
static int sb_sdp_attr_line(sb_sdp_parser_t *p, char *v)
{
    char *colon = strchr(v, ':');
    if (colon)
        *colon = '\0';
    return sb_sdp_parse_attr(p, v, colon ? colon + 1 : NULL);
}

/* One line "<type>=<value>", NUL-terminated and writable. */
static int sb_sdp_parse_line(sb_sdp_parser_t *p, char *line)
{
    sb_sdp_t *sdp = p->sdp;
    char type = line[0];
    char *v = line + 2;
    /* v= first, o= second, s= third (RFC 8866 section 5). */
    if (p->line == 1) {
        if (strcmp(line, "v=0") != 0)
            return sb_sdp_fail(p, "description must start with v=0");
        return 0;
    }
    if (type < 'a' || type > 'z' || line[1] != '=')
        return sb_sdp_fail(p, "expected <letter>=<value>");
    if (!sdp->origin_addr) {
        if (type != 'o')
            return sb_sdp_fail(p, "o= must follow v=");
        return sb_sdp_parse_origin(p, v);
    }
    if (!sdp->name) {
        if (type != 's')
            return sb_sdp_fail(p, "s= must follow o=");
        sdp->name = sb_sdp_strdup(sdp, v);
        return 0;
    }
    switch (type) {
    case 'v':
    case 'o':
    case 's':
        return sb_sdp_fail(p, "duplicate %c= line", type);
    case 'c':
        return sb_sdp_parse_connection(p, v, p->m ? &p->m->connection : &sdp->connection);
    case 'b':
        return p->m ? sb_sdp_parse_bandwidth(p, v, &p->m->bw_as, &p->m->bw_tias)
                    : sb_sdp_parse_bandwidth(p, v, &sdp->bw_as, &sdp->bw_tias);
    case 't':
    case 'r':
    case 'z':
        if (p->m)
            return sb_sdp_fail(p, "%c= inside a media section", type);
        if (type == 't' && !sdp->timing)
            sdp->timing = sb_sdp_strdup(sdp, v);
        return 0;
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'k':
        return 0; /* informational or obsolete: accepted and dropped */
    case 'm':
        return sb_sdp_next_media(p, v);
    case 'a':
        return sb_sdp_attr_line(p, v);
    default:
        return sb_sdp_fail(p, "unknown line type '%c='", type);
    }
}

/* Copy one raw line into buf after checking its bytes; returns its length or a negative code. */
static int sb_sdp_take_line(sb_sdp_parser_t *p, const char *s, size_t n, char *buf)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    /* Trailing blanks are not SDP either, but harmless: drop them. */
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n > SB_SDP_MAX_LINE)
        return sb_sdp_fail(p, "line longer than %d bytes", SB_SDP_MAX_LINE);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            return sb_sdp_fail(p, "bare CR inside a line (lines end with CRLF or LF)");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return sb_sdp_fail(p, "control character 0x%02x", c);
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return (int)n;
}

static int sb_sdp_parse_lines(sb_sdp_parser_t *p, const char *text, size_t len)
{
    char buf[SB_SDP_MAX_LINE + 1];
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        p->line++;
        int rc = sb_sdp_take_line(p, text + pos, n, buf);
        if (rc < 0)
            return rc;
        pos += n + (nl ? 1 : 0);
        if (rc == 0) {
            /* Blank lines are not SDP, but a trailing one is common in hand-made input. */
            if (p->line == 1)
                return sb_sdp_fail(p, "description must start with v=0");
            continue;
        }
        rc = sb_sdp_parse_line(p, buf);
        if (rc)
            return rc;
        if (sb_sdp_arena_size(p->sdp) > SB_SDP_MAX_ARENA)
            return sb_sdp_fail(p, "description too complex");
    }
    if (p->m) {
        int rc = sb_sdp_check_media(p, p->m);
        if (rc)
            return rc;
    }
    return sb_sdp_check_all(p);
}

int sb_sdp_parse(const char *text, size_t len, sb_sdp_t **out, char *reason, size_t reason_size)
{
    sb_sdp_parser_t p = {.reason = reason, .reason_size = reason_size};
    *out = NULL;
    sb_sdp_reason(reason, reason_size, "ok");
    if (!text || len == 0)
        return sb_sdp_fail(&p, "empty description");
    if (len > SB_SDP_MAX_SIZE)
        return sb_sdp_fail(&p, "description larger than %d bytes", SB_SDP_MAX_SIZE);
    if (memchr(text, '\0', len))
        return sb_sdp_fail(&p, "NUL byte in description");

    p.sdp = sb_sdp_new();
    p.sdp->origin_user = p.sdp->origin_addr = p.sdp->name = p.sdp->timing = NULL;
    int rc = sb_sdp_parse_lines(&p, text, len);
    if (rc) {
        SB_DEBUG("sdp", "rejected: %s", reason ? reason : "(no reason buffer)");
        sb_sdp_free(p.sdp);
        return rc;
    }
    *out = p.sdp;
    return 0;
}
