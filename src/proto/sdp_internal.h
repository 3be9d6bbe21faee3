/* Private to the SDP unit (sdp.c, sdp_parse.c, sdp_attr.c, sdp_candidate.c, sdp_write.c):
 * the parser state shared between line and attribute parsing, and small lexing helpers.
 * Not for other modules: they use sdp.h. */
#ifndef SB_PROTO_SDP_INTERNAL_H
#define SB_PROTO_SDP_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sdp.h"

/* Upper bound on arena bytes while parsing: a safety net above what the count bounds allow. */
#define SB_SDP_MAX_ARENA (4u * 1024u * 1024u)

/* Single-valued attributes, one bit each, to reject duplicates at one level. */
enum {
    SB_SDP_SEEN_MID = 1u << 0,
    SB_SDP_SEEN_UFRAG = 1u << 1,
    SB_SDP_SEEN_PWD = 1u << 2,
    SB_SDP_SEEN_SETUP = 1u << 3,
    SB_SDP_SEEN_DIR = 1u << 4,
    SB_SDP_SEEN_SIMULCAST = 1u << 5,
    SB_SDP_SEEN_OPTIONS = 1u << 6,
};

/* Parser state for one sb_sdp_parse() call; lives on its stack. */
typedef struct sb_sdp_parser {
    sb_sdp_t *sdp;
    sb_sdp_media_t *m; /* current m= section; NULL at session level */
    unsigned line;     /* 1-based line number, for reasons */
    char *reason;
    size_t reason_size;
    unsigned seen; /* SB_SDP_SEEN_* at the current level */
} sb_sdp_parser_t;

/* Format "line N: <fmt>" into the reason buffer and return SB_EINVAL. */
int sb_sdp_fail(sb_sdp_parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Format a reason without a line number (reason may be NULL). */
void sb_sdp_reason(char *reason, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sb_sdp_vreason(char *reason, size_t size, const char *fmt, va_list ap);

/* Handle one a= line; name and value (NULL for a flag) are NUL-terminated, writable. */
int sb_sdp_parse_attr(sb_sdp_parser_t *p, char *name, char *value);

/* Split off the next space-separated field of *s (runs of spaces separate), NUL-terminate it
 * and advance *s past it. Returns NULL when no field is left. */
char *sb_sdp_lex_field(char **s);
/* Skip leading spaces; return the remainder, or NULL when nothing but spaces is left. */
char *sb_sdp_lex_rest(char *s);
/* Whole string is 1..20 decimal digits with a value <= max. */
bool sb_sdp_lex_u64(const char *s, uint64_t max, uint64_t *out);
bool sb_sdp_lex_u32(const char *s, uint32_t max, uint32_t *out);
/* Non-empty and every byte a token-char (RFC 8866 section 9). */
bool sb_sdp_lex_token(const char *s);
/* Non-empty and every byte visible ASCII or UTF-8 (no spaces, no controls). */
bool sb_sdp_lex_visible(const char *s);
/* ice-char (RFC 8839 section 5.4): ALPHA / DIGIT / "+" / "/". */
bool sb_sdp_lex_ice_chars(const char *s);
/* rid-id (RFC 8851): ALPHA / DIGIT / "-" / "_". */
bool sb_sdp_lex_rid_id(const char *s);
/* Case-insensitive ASCII comparison. */
bool sb_sdp_lex_ieq(const char *a, const char *b);

#endif
