/* The SDP model: its arena, builders, lookups, direction/setup helpers, the merge of session-
 * and media-level ICE/DTLS attributes, and the lexing helpers the parser shares.
 *
 * Does not parse (sdp_parse.c, sdp_attr.c, sdp_candidate.c) nor write (sdp_write.c), and knows
 * nothing about negotiation (negotiate.c).
 *
 * Thread: any; one sb_sdp_t is used by one thread at a time. */
#include "proto/sdp.h"

#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "proto/sdp_internal.h"

/* The arena: a list of zeroed chunks, freed all at once. Model arrays grow by doubling inside
 * it (see sb_sdp_grow_), which wastes at most half of their bytes: parsing is bounded anyway. */
#define SB_SDP_CHUNK 8192
#define SB_SDP_ALIGN alignof(max_align_t)

typedef struct sb_sdp_chunk {
    struct sb_sdp_chunk *next;
    size_t size;
    size_t used;
    alignas(max_align_t) unsigned char data[];
} sb_sdp_chunk_t;

struct sb_sdp_arena {
    sb_sdp_chunk_t *head;
    size_t total;
};

static sb_sdp_chunk_t *sb_sdp_chunk_new(sb_sdp_arena_t *a, size_t size)
{
    sb_sdp_chunk_t *c = sb_calloc(1, sizeof(*c) + size);
    c->size = size;
    a->total += size;
    return c;
}

void *sb_sdp_alloc(sb_sdp_t *sdp, size_t size)
{
    sb_sdp_arena_t *a = sdp->arena;
    SB_ASSERT(size < ((size_t)1 << 30));
    size = (size + SB_SDP_ALIGN - 1) & ~(SB_SDP_ALIGN - 1);
    if (size == 0)
        size = SB_SDP_ALIGN;
    if (size > SB_SDP_CHUNK / 4) {
        /* A big block gets its own chunk behind the head so the head keeps its free space. */
        sb_sdp_chunk_t *c = sb_sdp_chunk_new(a, size);
        c->used = size;
        if (a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
        }
        return c->data;
    }
    sb_sdp_chunk_t *c = a->head;
    if (!c || c->size - c->used < size) {
        c = sb_sdp_chunk_new(a, SB_SDP_CHUNK);
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

char *sb_sdp_strndup(sb_sdp_t *sdp, const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *d = sb_sdp_alloc(sdp, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *sb_sdp_strdup(sb_sdp_t *sdp, const char *s)
{
    return s ? sb_sdp_strndup(sdp, s, strlen(s)) : NULL;
}

void *sb_sdp_grow_(sb_sdp_t *sdp, void *arr, size_t n, size_t elem_size)
{
    /* Capacity is implied by the length: 4, then the next power of two. */
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
        return arr;
    size_t cap = n == 0 ? 4 : n * 2;
    void *grown = sb_sdp_alloc(sdp, cap * elem_size);
    if (n)
        memcpy(grown, arr, n * elem_size);
    return grown;
}

size_t sb_sdp_arena_size(const sb_sdp_t *sdp)
{
    return sdp->arena->total;
}

sb_sdp_t *sb_sdp_new(void)
{
    sb_sdp_t *sdp = SB_NEW(sb_sdp_t);
    sdp->arena = SB_NEW(sb_sdp_arena_t);
    sdp->origin_user = "-";
    sdp->origin_addr = "IN IP4 0.0.0.0";
    sdp->name = "-";
    sdp->timing = "0 0";
    return sdp;
}

void sb_sdp_free(sb_sdp_t *sdp)
{
    if (!sdp)
        return;
    sb_sdp_chunk_t *c = sdp->arena->head;
    while (c) {
        sb_sdp_chunk_t *next = c->next;
        sb_free(c);
        c = next;
    }
    sb_free(sdp->arena);
    sb_free(sdp);
}

const sb_sdp_media_t *sb_sdp_find_mid(const sb_sdp_t *sdp, const char *mid)
{
    for (size_t i = 0; mid && i < sdp->n_media; i++)
        if (sdp->media[i].mid && strcmp(sdp->media[i].mid, mid) == 0)
            return &sdp->media[i];
    return NULL;
}

const sb_sdp_group_t *sb_sdp_find_group(const sb_sdp_t *sdp, const char *semantics)
{
    for (size_t i = 0; i < sdp->n_groups; i++)
        if (sb_sdp_lex_ieq(sdp->groups[i].semantics, semantics))
            return &sdp->groups[i];
    return NULL;
}

const sb_sdp_format_t *sb_sdp_media_format(const sb_sdp_media_t *m, unsigned pt)
{
    for (size_t i = 0; i < m->n_formats; i++)
        if (m->formats[i].pt == pt)
            return &m->formats[i];
    return NULL;
}

const sb_sdp_ssrc_t *sb_sdp_media_ssrc(const sb_sdp_media_t *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == ssrc)
            return &m->ssrcs[i];
    return NULL;
}

sb_sdp_dir_t sb_sdp_media_dir(const sb_sdp_t *sdp, const sb_sdp_media_t *m)
{
    if (m->dir != SB_SDP_DIR_UNSET)
        return m->dir;
    if (sdp->dir != SB_SDP_DIR_UNSET)
        return sdp->dir;
    return SB_SDP_DIR_SENDRECV;
}

void sb_sdp_media_transport(const sb_sdp_t *sdp, const sb_sdp_media_t *m, sb_sdp_transport_t *out)
{
    const sb_sdp_transport_t *mt = &m->transport, *st = &sdp->transport;
    out->ice_ufrag = mt->ice_ufrag ? mt->ice_ufrag : st->ice_ufrag;
    out->ice_pwd = mt->ice_pwd ? mt->ice_pwd : st->ice_pwd;
    out->ice_options = mt->ice_options ? mt->ice_options : st->ice_options;
    if (mt->n_fingerprints) {
        out->fingerprints = mt->fingerprints;
        out->n_fingerprints = mt->n_fingerprints;
    } else {
        out->fingerprints = st->fingerprints;
        out->n_fingerprints = st->n_fingerprints;
    }
    out->setup = mt->setup != SB_SDP_SETUP_UNSET ? mt->setup : st->setup;
}

static unsigned sb_sdp_dir_bits(sb_sdp_dir_t dir)
{
    if (dir == SB_SDP_DIR_UNSET)
        return 3;
    return dir == SB_SDP_DIR_INACTIVE ? 0 : (unsigned)dir & 3;
}

static sb_sdp_dir_t sb_sdp_dir_from_bits(unsigned bits)
{
    return bits ? (sb_sdp_dir_t)bits : SB_SDP_DIR_INACTIVE;
}

sb_sdp_dir_t sb_sdp_dir_reverse(sb_sdp_dir_t dir)
{
    unsigned b = sb_sdp_dir_bits(dir);
    return sb_sdp_dir_from_bits(((b & 1) << 1) | ((b & 2) >> 1));
}

sb_sdp_dir_t sb_sdp_dir_and(sb_sdp_dir_t a, sb_sdp_dir_t b)
{
    return sb_sdp_dir_from_bits(sb_sdp_dir_bits(a) & sb_sdp_dir_bits(b));
}

bool sb_sdp_dir_sends(sb_sdp_dir_t dir)
{
    return (sb_sdp_dir_bits(dir) & 1) != 0;
}

bool sb_sdp_dir_recvs(sb_sdp_dir_t dir)
{
    return (sb_sdp_dir_bits(dir) & 2) != 0;
}

const char *sb_sdp_dir_name(sb_sdp_dir_t dir)
{
    switch (dir) {
    case SB_SDP_DIR_SENDONLY:
        return "sendonly";
    case SB_SDP_DIR_RECVONLY:
        return "recvonly";
    case SB_SDP_DIR_INACTIVE:
        return "inactive";
    default:
        return "sendrecv";
    }
}

const char *sb_sdp_setup_name(sb_sdp_setup_t setup)
{
    switch (setup) {
    case SB_SDP_SETUP_ACTPASS:
        return "actpass";
    case SB_SDP_SETUP_ACTIVE:
        return "active";
    case SB_SDP_SETUP_PASSIVE:
        return "passive";
    case SB_SDP_SETUP_HOLDCONN:
        return "holdconn";
    default:
        return "unset";
    }
}

const char *sb_sdp_kind_name(sb_sdp_kind_t kind)
{
    switch (kind) {
    case SB_SDP_KIND_AUDIO:
        return "audio";
    case SB_SDP_KIND_VIDEO:
        return "video";
    case SB_SDP_KIND_APPLICATION:
        return "application";
    default:
        return "other";
    }
}

/* ---- lexing helpers shared by the parser files ---- */

void sb_sdp_vreason(char *reason, size_t size, const char *fmt, va_list ap)
{
    if (reason && size)
        vsnprintf(reason, size, fmt, ap);
}

void sb_sdp_reason(char *reason, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_sdp_vreason(reason, size, fmt, ap);
    va_end(ap);
}

char *sb_sdp_lex_field(char **s)
{
    char *p = *s;
    while (*p == ' ')
        p++;
    if (*p == '\0') {
        *s = p;
        return NULL;
    }
    char *start = p;
    while (*p && *p != ' ')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return start;
}

char *sb_sdp_lex_rest(char *s)
{
    while (*s == ' ')
        s++;
    return *s ? s : NULL;
}

bool sb_sdp_lex_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 20)
            return false;
        unsigned d = (unsigned)(s[n] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (n == 0 || v > max)
        return false;
    *out = v;
    return true;
}

bool sb_sdp_lex_u32(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!sb_sdp_lex_u64(s, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool sb_sdp_lex_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        /* token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E */
        bool ok = c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
                  c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
                  (c >= 0x5e && c <= 0x7e);
        if (!ok)
            return false;
    }
    return true;
}

bool sb_sdp_lex_visible(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static bool sb_sdp_is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool sb_sdp_lex_ice_chars(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!sb_sdp_is_alnum(*s) && *s != '+' && *s != '/')
            return false;
    return true;
}

bool sb_sdp_lex_rid_id(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!sb_sdp_is_alnum(*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

bool sb_sdp_lex_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
        if (ca != cb)
            return false;
    }
    return *a == *b;
}
