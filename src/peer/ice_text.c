/* Text of ICE: candidate lines and credentials as SDP and trickle carry them (see
 * ice_text.h). Pure functions, any thread. */
#include "peer/ice_text.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"

bool sb_ice_is_ip(const char *s)
{
    return s && g_hostname_is_ip_address(s);
}

/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 section 5.4), min..256 of them. */
bool sb_ice_chars_ok(const char *s, size_t min)
{
    size_t n = s ? strnlen(s, 257) : 0;
    if (n < min || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!g_ascii_isalnum(c) && c != '+' && c != '/')
            return false;
    }
    return true;
}

/* "a=candidate:...", "candidate:..." or the bare value -> "a=candidate:<value>" (what libnice
 * parses), refusing anything but printable ASCII. */
int sb_ice_normalize(const char *line, char *out, size_t outlen)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (!strncmp(line, "a=", 2))
        line += 2;
    if (!g_ascii_strncasecmp(line, "candidate:", 10))
        line += 10;
    size_t n = strcspn(line, "\r\n");
    if (n == 0 || n + 13 > outlen || (line[n] && strspn(line + n, "\r\n") != strlen(line + n)))
        return SB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (line[i] < 0x20 || line[i] > 0x7e)
            return SB_EINVAL;
    }
    snprintf(out, outlen, "a=candidate:%.*s", (int)n, line);
    return 0;
}

/* "<foundation> <component> <transport> <priority> <address> <port> typ host..." with
 * address replaced by addr and the priority lowered by dec (so no two candidates share
 * one). false when the line does not have that shape. */
bool sb_ice_remap(const char *value, const char *addr, unsigned dec, char *out, size_t outlen)
{
    const char *f[5];
    const char *p = value;
    for (int i = 0; i < 5; i++) { /* the starts of fields 1-5 */
        while (*p == ' ')
            p++;
        if (!*p)
            return false;
        f[i] = p;
        p += strcspn(p, " ");
    }
    const char *after_addr = p;
    unsigned long prio = strtoul(f[3], NULL, 10);
    int n = snprintf(out, outlen, "%.*s%lu %s%s", (int)(f[3] - value), value,
                     prio > dec ? prio - dec : prio, addr, after_addr);
    return n > 0 && (size_t)n < outlen;
}
