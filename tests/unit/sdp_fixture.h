/* Test helpers shared by test_sdp.c and test_negotiate.c: load the captured descriptions in
 * tests/unit/sdp/ (found through $srcdir, which automake exports to tests, or next to this
 * source file), and edit SDP text. Everything returned is malloc'd; free() it. */
#ifndef SB_TEST_SDP_FIXTURE_H
#define SB_TEST_SDP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((unused)) static char *fixture_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

/* The text of tests/unit/sdp/<name>; aborts the test program when it cannot be found. */
__attribute__((unused)) static char *fixture_load(const char *name, size_t *len)
{
    char path[4096];
    const char *srcdir = getenv("srcdir");
    char *text = NULL;
    if (srcdir) {
        snprintf(path, sizeof(path), "%s/tests/unit/sdp/%s", srcdir, name);
        text = fixture_read(path, len);
    }
    if (!text) {
        const char *here = __FILE__;
        const char *slash = strrchr(here, '/');
        int dirlen = slash ? (int)(slash - here) : 1;
        snprintf(path, sizeof(path), "%.*s/sdp/%s", dirlen, slash ? here : ".", name);
        text = fixture_read(path, len);
    }
    if (!text) {
        fprintf(stderr, "fixture %s not found (srcdir=%s)\n", name, srcdir ? srcdir : "unset");
        abort();
    }
    return text;
}

/* Copy of s with every occurrence of from replaced by to. */
__attribute__((unused)) static char *fixture_replace(const char *s, const char *from,
                                                     const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *p = s; (p = strstr(p, from)) != NULL; p += fl)
        count++;
    char *out = malloc(strlen(s) + count * (tl > fl ? tl - fl : 0) + 1), *o = out;
    const char *p = s, *q;
    while ((q = strstr(p, from)) != NULL) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

/* Copy of s without the lines (CRLF or LF terminated) that start with prefix. */
__attribute__((unused)) static char *fixture_drop_lines(const char *s, const char *prefix)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    size_t pl = strlen(prefix);
    while (*s) {
        size_t n = strcspn(s, "\n");
        size_t take = n + (s[n] == '\n' ? 1 : 0);
        if (strncmp(s, prefix, pl) != 0) {
            memcpy(o, s, take);
            o += take;
        }
        s += take;
    }
    *o = '\0';
    return out;
}

#ifdef SB_PROTO_NEGOTIATE_H
/* Our side of the transport for negotiation tests (test_negotiate*.c). */
#define FP                                                                                         \
    "sha-256 5F:E6:62:98:EE:26:BB:40:F7:52:14:82:B5:C2:5F:E5:22:D8:72:DF:DF:E1:AD:64:"             \
    "5C:46:95:C9:F1:9F:98:9B"

__attribute__((unused)) static const char *const local_cands[] = {
    "candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host",
    "a=candidate:2 1 udp 1694498815 203.0.113.1 40000 typ srflx raddr 192.0.2.1 rport 40000",
};

__attribute__((unused)) static void local_init(sb_negotiate_local_t *l)
{
    *l = (sb_negotiate_local_t){.ice_ufrag = "sbuf",
                                .ice_pwd = "0123456789abcdefABCDEF",
                                .fingerprint = FP,
                                .candidates = local_cands,
                                .n_candidates = 2,
                                .end_of_candidates = true,
                                .session_id = 4242,
                                .session_version = 2};
}
#endif

#endif
