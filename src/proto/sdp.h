/* SDP (RFC 8866) for WebRTC: a parsed model, a parser and a writer.
 *
 * Covers what JSEP endpoints put in offers and answers (RFC 8829): unified plan, BUNDLE groups
 * (RFC 8843), mid, rtcp-mux/rtcp-rsize, rtpmap/fmtp/rtcp-fb, extmap with direction (RFC 8285),
 * ssrc and ssrc-group (RFC 5576), rid and simulcast (RFC 8851, 8853), msid (RFC 8830), ICE
 * (RFC 8839: ufrag, pwd, options, lite, candidates, end-of-candidates), DTLS (RFC 8842:
 * fingerprint, setup), directions, application m-lines. Other attributes are kept, in order, as
 * name/value pairs so a model round-trips.
 *
 * Sans-IO: plain C, no GLib, no threads, no sockets. Functions may be called from any thread;
 * one sb_sdp_t is used by one thread at a time.
 *
 * Ownership: sb_sdp_parse() and sb_sdp_new() return an owned sb_sdp_t, released with
 * sb_sdp_free(). Every string, array and media section reachable from it lives in the SDP's own
 * arena and is freed with it; never sb_free() them separately. Builders (sb_sdp_alloc,
 * sb_sdp_strdup, SB_SDP_PUSH) allocate from that arena; they abort on out-of-memory like the
 * rest of base/alloc.h.
 *
 * Untrusted input: sb_sdp_parse() validates everything against the bounds below and rejects
 * hostile text with SB_EINVAL and a human-readable reason (the API layer returns it to the
 * client with Janus error 465). Nothing in the parser asserts on input. */
#ifndef SB_PROTO_SDP_H
#define SB_PROTO_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds. Past any of them the parser fails with a reason naming the bound. */
#define SB_SDP_MAX_SIZE 65536     /* whole description, bytes */
#define SB_SDP_MAX_LINE 4096      /* one line, bytes, without the line ending */
#define SB_SDP_MAX_MEDIA 64       /* m-lines */
#define SB_SDP_MAX_FORMATS 64     /* payload types on one m-line */
#define SB_SDP_MAX_FB 16          /* rtcp-fb per payload type (and wildcard) */
#define SB_SDP_MAX_EXTMAPS 32     /* extmap per level */
#define SB_SDP_MAX_SSRCS 32       /* distinct SSRCs per m-line */
#define SB_SDP_MAX_SSRC_GROUPS 16 /* ssrc-group per m-line */
#define SB_SDP_MAX_GROUP_SSRCS 8  /* SSRCs in one ssrc-group */
#define SB_SDP_MAX_CANDIDATES 64  /* candidates per m-line */
#define SB_SDP_MAX_RIDS 8         /* rid lines per m-line, and simulcast ids per direction */
#define SB_SDP_MAX_FINGERPRINTS 4 /* fingerprints per level */
#define SB_SDP_MAX_GROUPS 8       /* a=group lines */
#define SB_SDP_MAX_ATTRS 64       /* other attributes per level */
#define SB_SDP_MAX_MID_LEN 32     /* a=mid value */
#define SB_SDP_MAX_RID_LEN 32     /* rid id */
#define SB_SDP_MAX_ICE_LEN 256    /* ice-ufrag and ice-pwd (RFC 8839 section 5.4) */
#define SB_SDP_MAX_FP_LEN 191     /* fingerprint value: 64 hex pairs with colons (sha-512) */

/* Media direction (RFC 8866 section 6.7). Bit 0 means "sends", bit 1 "receives", so SENDRECV
 * is SENDONLY | RECVONLY. UNSET: no direction attribute at that level. */
typedef enum sb_sdp_dir {
    SB_SDP_DIR_UNSET = 0,
    SB_SDP_DIR_SENDONLY = 1,
    SB_SDP_DIR_RECVONLY = 2,
    SB_SDP_DIR_SENDRECV = 3,
    SB_SDP_DIR_INACTIVE = 4,
} sb_sdp_dir_t;

/* DTLS role attribute a=setup (RFC 4145, RFC 8842). */
typedef enum sb_sdp_setup {
    SB_SDP_SETUP_UNSET = 0,
    SB_SDP_SETUP_ACTPASS,
    SB_SDP_SETUP_ACTIVE,
    SB_SDP_SETUP_PASSIVE,
    SB_SDP_SETUP_HOLDCONN,
} sb_sdp_setup_t;

typedef enum sb_sdp_kind {
    SB_SDP_KIND_AUDIO = 0,
    SB_SDP_KIND_VIDEO,
    SB_SDP_KIND_APPLICATION,
    SB_SDP_KIND_OTHER, /* the media name is in sb_sdp_media_t.media */
} sb_sdp_kind_t;

/* a=rid direction (RFC 8851), as written in the description that holds it. */
typedef enum sb_sdp_rid_dir {
    SB_SDP_RID_SEND = 1,
    SB_SDP_RID_RECV = 2,
} sb_sdp_rid_dir_t;

/* An attribute the model has no field for: a=name or a=name:value (value NULL for a flag). */
typedef struct sb_sdp_attr {
    const char *name;
    const char *value;
} sb_sdp_attr_t;

/* a=rtcp-fb:<pt> <type> [<param>], e.g. type "nack" param "pli"; param NULL when absent. */
typedef struct sb_sdp_rtcp_fb {
    const char *type;
    const char *param;
} sb_sdp_rtcp_fb_t;

/* One payload type of an RTP m-line with its rtpmap, fmtp and rtcp-fb lines. */
typedef struct sb_sdp_format {
    uint8_t pt;           /* 0..127 */
    const char *encoding; /* rtpmap encoding name as written ("VP8"); NULL without rtpmap */
    uint32_t clock_rate;  /* rtpmap clock rate; 0 without rtpmap */
    uint16_t channels;    /* rtpmap channels; 0 when absent */
    const char *fmtp;     /* fmtp parameters as written; NULL when absent */
    sb_sdp_rtcp_fb_t *fbs;
    size_t n_fbs;
} sb_sdp_format_t;

/* a=extmap:<id>[/<dir>] <uri> [<params>] (RFC 8285); dir UNSET when not written. */
typedef struct sb_sdp_extmap {
    uint16_t id; /* 1..255 */
    sb_sdp_dir_t dir;
    const char *uri;
    const char *params; /* NULL when absent */
} sb_sdp_extmap_t;

/* a=ssrc lines for one SSRC (RFC 5576); attributes other than cname and msid are dropped. */
typedef struct sb_sdp_ssrc {
    uint32_t ssrc;
    const char *cname; /* NULL when absent */
    const char *msid;  /* "stream [track]", NULL when absent */
} sb_sdp_ssrc_t;

/* a=ssrc-group:<semantics> <ssrc>... e.g. "FID" (media, rtx) or "SIM" (layers, low first). */
typedef struct sb_sdp_ssrc_group {
    const char *semantics;
    uint32_t *ssrcs;
    size_t n_ssrcs;
} sb_sdp_ssrc_group_t;

/* a=rid:<id> <send|recv> [<restrictions>] (RFC 8851). */
typedef struct sb_sdp_rid {
    const char *id;
    sb_sdp_rid_dir_t dir;
    const char *params; /* restrictions as written ("pt=96;max-width=640"); NULL if none */
} sb_sdp_rid_t;

/* One rid of an a=simulcast list (RFC 8853). Entries with the same stream index are
 * alternatives of one simulcast stream (written with ','); streams are separated by ';'. */
typedef struct sb_sdp_sim_rid {
    const char *rid;
    uint8_t stream; /* 0-based simulcast stream index */
    bool paused;    /* written with the '~' prefix */
} sb_sdp_sim_rid_t;

typedef struct sb_sdp_simulcast {
    sb_sdp_sim_rid_t *send;
    size_t n_send;
    sb_sdp_sim_rid_t *recv;
    size_t n_recv;
} sb_sdp_simulcast_t;

/* a=fingerprint:<hash> <value> (RFC 8122), e.g. "sha-256" "AB:CD:...". */
typedef struct sb_sdp_fingerprint {
    const char *hash; /* lower case as written */
    const char *value;
} sb_sdp_fingerprint_t;

/* ICE and DTLS attributes of one level (session or media). NULL/0/UNSET when absent. */
typedef struct sb_sdp_transport {
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *ice_options; /* space-separated tokens, e.g. "trickle" */
    sb_sdp_fingerprint_t *fingerprints;
    size_t n_fingerprints;
    sb_sdp_setup_t setup;
} sb_sdp_transport_t;

/* a=group:<semantics> <mid>... (RFC 5888), e.g. BUNDLE. */
typedef struct sb_sdp_group {
    const char *semantics;
    const char **mids;
    size_t n_mids;
} sb_sdp_group_t;

/* One m= section. Owned by its sb_sdp_t. */
typedef struct sb_sdp_media {
    sb_sdp_kind_t kind;
    const char *media;        /* media name as written: "audio", "video", "application", ... */
    uint16_t port;            /* 0: rejected/disabled (unless bundle_only) */
    const char *proto;        /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    bool rtp;                 /* proto carries RTP: the formats are payload types */
    sb_sdp_format_t *formats; /* RTP only, in m= line order */
    size_t n_formats;
    const char *fmt_text;   /* non-RTP only: the format list as written */
    const char *connection; /* c= value ("IN IP4 0.0.0.0"); NULL when absent */
    uint32_t bw_as;         /* b=AS in kbit/s; 0 when absent */
    uint32_t bw_tias;       /* b=TIAS in bit/s; 0 when absent */
    const char *mid;        /* NULL when absent */
    sb_sdp_dir_t dir;       /* as written here; see sb_sdp_media_dir() for the effective one */
    sb_sdp_transport_t transport; /* as written here; see sb_sdp_media_transport() */
    bool rtcp_mux, rtcp_mux_only, rtcp_rsize, bundle_only, end_of_candidates;
    bool extmap_allow_mixed;
    const char *msid; /* first a=msid value "stream [track]"; NULL when absent */
    sb_sdp_extmap_t *extmaps;
    size_t n_extmaps;
    sb_sdp_rtcp_fb_t *fbs_all; /* a=rtcp-fb:* lines, applying to every payload type */
    size_t n_fbs_all;
    sb_sdp_ssrc_t *ssrcs;
    size_t n_ssrcs;
    sb_sdp_ssrc_group_t *ssrc_groups;
    size_t n_ssrc_groups;
    sb_sdp_rid_t *rids;
    size_t n_rids;
    sb_sdp_simulcast_t simulcast;
    const char **candidates; /* a=candidate values, without the "candidate:" prefix */
    size_t n_candidates;
    sb_sdp_attr_t *attrs; /* every other attribute, in order */
    size_t n_attrs;
} sb_sdp_media_t;

typedef struct sb_sdp_arena sb_sdp_arena_t;

/* A session description. Owned by whoever got it from sb_sdp_parse()/sb_sdp_new(). */
typedef struct sb_sdp {
    const char *origin_user; /* o= username, "-" usually */
    uint64_t session_id;
    uint64_t session_version;
    const char *origin_addr; /* o= "<nettype> <addrtype> <address>" */
    const char *name;        /* s= */
    const char *timing;      /* first t= value; NULL when absent */
    const char *connection;  /* session c=; NULL when absent */
    uint32_t bw_as, bw_tias;
    sb_sdp_dir_t dir;             /* session-level direction; UNSET when absent */
    sb_sdp_transport_t transport; /* session-level ICE/DTLS attributes */
    bool ice_lite, extmap_allow_mixed, end_of_candidates;
    sb_sdp_group_t *groups;
    size_t n_groups;
    sb_sdp_extmap_t *extmaps; /* session-level extmaps (apply to every m-line) */
    size_t n_extmaps;
    sb_sdp_attr_t *attrs; /* other session attributes, in order */
    size_t n_attrs;
    sb_sdp_media_t *media;
    size_t n_media;
    sb_sdp_arena_t *arena; /* private */
} sb_sdp_t;

/* Parse len bytes of SDP text (CRLF or LF line endings; no NUL bytes). On success returns 0
 * and an owned model in *out. On failure returns SB_EINVAL (bad syntax or a bound exceeded),
 * leaves *out NULL and, when reason is non-NULL, writes a human-readable NUL-terminated reason
 * such as "line 12: a=fingerprint: bad hex value" into reason[0..reason_size). */
int sb_sdp_parse(const char *text, size_t len, sb_sdp_t **out, char *reason, size_t reason_size);

/* Write the model as SDP text with CRLF line endings. Returns an owned NUL-terminated string
 * (sb_free it) and its length in *len when len is non-NULL. Never fails. */
char *sb_sdp_write(const sb_sdp_t *sdp, size_t *len);

/* An empty owned description: v=0, o=- 0 0 IN IP4 0.0.0.0, s=-, t=0 0, no media. */
sb_sdp_t *sb_sdp_new(void);
void sb_sdp_free(sb_sdp_t *sdp);

/* Arena builders; everything returned is owned by sdp. alloc returns zeroed memory. */
void *sb_sdp_alloc(sb_sdp_t *sdp, size_t size);
char *sb_sdp_strdup(sb_sdp_t *sdp, const char *s); /* NULL in, NULL out */
char *sb_sdp_strndup(sb_sdp_t *sdp, const char *s, size_t n);
/* Append a zeroed element to an arena array and return a pointer to it:
 *     sb_sdp_format_t *f = SB_SDP_PUSH(sdp, m->formats, m->n_formats);
 * Arrays in the model must only ever be grown with SB_SDP_PUSH (their capacity is implied by
 * their length); pointers to elements stay valid until the next push on the same array.
 * arr and n are evaluated more than once: pass plain lvalues. */
#define SB_SDP_PUSH(sdp, arr, n)                                                                   \
    ((arr) = sb_sdp_grow_((sdp), (arr), (n), sizeof(*(arr))), &(arr)[(n)++])
void *sb_sdp_grow_(sb_sdp_t *sdp, void *arr, size_t n, size_t elem_size);
/* Bytes the arena holds (for bounds and tests). */
size_t sb_sdp_arena_size(const sb_sdp_t *sdp);

/* Lookups; return borrowed pointers into sdp, or NULL when not found. */
const sb_sdp_media_t *sb_sdp_find_mid(const sb_sdp_t *sdp, const char *mid);
const sb_sdp_group_t *sb_sdp_find_group(const sb_sdp_t *sdp, const char *semantics);
const sb_sdp_format_t *sb_sdp_media_format(const sb_sdp_media_t *m, unsigned pt);
const sb_sdp_ssrc_t *sb_sdp_media_ssrc(const sb_sdp_media_t *m, uint32_t ssrc);

/* Effective direction of m: media level, else session level, else SENDRECV. */
sb_sdp_dir_t sb_sdp_media_dir(const sb_sdp_t *sdp, const sb_sdp_media_t *m);
/* Effective ICE/DTLS attributes of m: each media-level field overrides the session-level one
 * (RFC 8839 section 5.4, RFC 8842 section 5). Pointers in *out are borrowed from sdp. */
void sb_sdp_media_transport(const sb_sdp_t *sdp, const sb_sdp_media_t *m, sb_sdp_transport_t *out);

/* Direction helpers. UNSET is treated as SENDRECV. */
sb_sdp_dir_t sb_sdp_dir_reverse(sb_sdp_dir_t dir); /* sendonly <-> recvonly */
sb_sdp_dir_t sb_sdp_dir_and(sb_sdp_dir_t a, sb_sdp_dir_t b);
bool sb_sdp_dir_sends(sb_sdp_dir_t dir);
bool sb_sdp_dir_recvs(sb_sdp_dir_t dir);
/* Static names: "sendrecv"..., "actpass"..., "audio"...; NULL/"" never returned. */
const char *sb_sdp_dir_name(sb_sdp_dir_t dir);
const char *sb_sdp_setup_name(sb_sdp_setup_t setup);
const char *sb_sdp_kind_name(sb_sdp_kind_t kind);

/* A parsed ICE candidate (RFC 8839 section 5.1). */
typedef enum sb_sdp_cand_type {
    SB_SDP_CAND_HOST = 0,
    SB_SDP_CAND_SRFLX,
    SB_SDP_CAND_PRFLX,
    SB_SDP_CAND_RELAY,
} sb_sdp_cand_type_t;

typedef struct sb_sdp_candidate {
    char foundation[33];
    uint16_t component; /* 1..256 */
    char transport[8];  /* "udp" or "tcp", lower-cased */
    uint32_t priority;
    char address[256]; /* IPv4, IPv6 or a host name (mDNS "<uuid>.local") */
    uint16_t port;
    sb_sdp_cand_type_t type;
    char raddr[256]; /* "" when absent */
    uint16_t rport;
    char tcptype[8]; /* "active", "passive", "so"; "" when absent */
} sb_sdp_candidate_t;

/* Parse one candidate as sent by trickle ICE or found in SDP: "a=candidate:...",
 * "candidate:..." or the bare value. Extension attributes after the known ones (generation,
 * ufrag, network-cost, ...) are accepted and ignored. Returns 0, or SB_EINVAL with a reason. */
int sb_sdp_candidate_parse(const char *line, sb_sdp_candidate_t *out, char *reason,
                           size_t reason_size);

#endif
