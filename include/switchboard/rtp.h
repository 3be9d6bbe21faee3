/* RTP packets (RFC 3550 §5.1): a validated read-only view, RFC 8285 header extensions
 * (iteration, lookup, value decoders, in-place rewriting, rebuilding), in-place header writers
 * for the forwarding path, a header builder, and RTX wrapping (RFC 4588).
 *
 * Sans-IO and allocation-free: every function works on caller memory. Views borrow the
 * packet bytes, so a view is valid only while the buffer it was parsed from is unchanged.
 * No state: any thread, as long as one buffer is not written by two threads at once.
 * Return values: 0 or a positive length on success, a negative SB_E* code from switchboard/error.h
 * otherwise. */
#ifndef SWITCHBOARD_RTP_H
#define SWITCHBOARD_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_RTP_HEADER_MIN 12u
#define SB_RTP_VERSION 2u
/* RFC 8285 §4.2 and §4.3: "defined by profile" values announcing each extension form. */
#define SB_RTP_EXT_PROFILE_ONE_BYTE 0xBEDEu
#define SB_RTP_EXT_PROFILE_TWO_BYTE 0x1000u /* low 4 bits are "appbits" */
/* Most elements the rebuild helpers copy from one packet; more is an error (SB_ERANGE). */
#define SB_RTP_EXT_MAX_ELEMS 32u

/* A parsed packet. Inline because the hot path keeps one per packet on the stack.
 * Pointers borrow the parsed buffer. */
typedef struct sb_rtp_view {
    const uint8_t *buf;      /* the whole packet */
    size_t len;              /* its length, padding included */
    uint8_t version;         /* always 2 after a successful parse */
    bool padding;            /* P bit */
    bool extension;          /* X bit */
    uint8_t csrc_count;      /* CC */
    bool marker;             /* M bit */
    uint8_t pt;              /* payload type, 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint16_t ext_profile;    /* "defined by profile" field; 0 when !extension */
    const uint8_t *ext;      /* extension data after its 4-byte header; NULL when !extension */
    size_t ext_len;          /* bytes of extension data (a multiple of 4, may be 0) */
    size_t header_len;       /* fixed header + CSRCs + extension: offset of the payload */
    const uint8_t *payload;  /* buf + header_len */
    size_t payload_len;      /* excludes padding; may be 0 (padding-only probes) */
    uint8_t padding_len;     /* trailing padding bytes, count byte included; 0 when !padding */
} sb_rtp_view_t;

/* Parse and validate an RTP packet: version 2, CSRC list, extension block and padding within
 * len, padding count at least 1. Returns 0 and fills *out, or SB_EINVAL (out is then
 * unspecified). Does not look inside the extension block: iteration reports bad elements. */
int sb_rtp_parse(const uint8_t *buf, size_t len, sb_rtp_view_t *out);

/* CSRC number i (i < csrc_count) of a parsed view. */
uint32_t sb_rtp_csrc(const sb_rtp_view_t *v, unsigned i);

/* --- RFC 8285 header extensions -------------------------------------------------------- */

/* Iterator over the elements of a view's extension block; lives on the caller's stack. */
typedef struct sb_rtp_ext_iter {
    const uint8_t *p;
    const uint8_t *end;
    bool two_byte;  /* element form: 2-byte (0x100X) or 1-byte (0xBEDE) headers */
    bool done;
} sb_rtp_ext_iter_t;

/* Start iterating. A view without an extension block, or with a profile that is neither RFC
 * 8285 form, yields no element. */
void sb_rtp_ext_iter_init(sb_rtp_ext_iter_t *it, const sb_rtp_view_t *v);

/* Next element, skipping padding bytes. Returns 1 with *id, *data (borrowed) and *len set,
 * 0 at the end of the block (or at the one-byte form's ID 15, RFC 8285 §4.2), or SB_EPROTO
 * when an element runs past the block (iteration then stays ended). */
int sb_rtp_ext_next(sb_rtp_ext_iter_t *it, uint8_t *id, const uint8_t **data, size_t *len);

/* First element with this id (1..255). Returns 0 with *data (borrowed) and *len set,
 * SB_ENOENT when absent, SB_EPROTO when the block is malformed before the element. */
int sb_rtp_ext_find(const sb_rtp_view_t *v, uint8_t id, const uint8_t **data, size_t *len);

/* Value decoders: each takes an element's data and length and returns 0 or SB_EINVAL. */

/* sdes:mid (RFC 9143), rtp-stream-id and repaired-rtp-stream-id (RFC 8852): copy the text
 * into out as a NUL-terminated string. A NUL byte ends the text early; the text must be
 * non-empty printable ASCII without spaces. Returns its length, SB_EINVAL, or SB_ERANGE when
 * out_size cannot hold it. */
int sb_rtp_ext_string(const uint8_t *data, size_t len, char *out, size_t out_size);

/* ssrc-audio-level (RFC 6464 §3): voice activity flag and level in -dBov (0 loudest, 127
 * silence). */
int sb_rtp_ext_audio_level(const uint8_t *data, size_t len, bool *voice, uint8_t *level);

/* abs-send-time: 24-bit 6.18 fixed-point seconds. */
int sb_rtp_ext_abs_send_time(const uint8_t *data, size_t len, uint32_t *value);

/* transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01): 16-bit transport
 * sequence number. Longer (v2) elements are accepted; only the sequence number is read. */
int sb_rtp_ext_transport_seq(const uint8_t *data, size_t len, uint16_t *seq);

/* video-orientation (3GPP TS 26.114 CVO): rotation in degrees (0, 90, 180, 270) clockwise,
 * horizontal flip, camera (false front, true back). */
int sb_rtp_ext_video_orientation(const uint8_t *data, size_t len, uint16_t *rotation,
                                 bool *flip, bool *back_camera);

/* playout-delay: minimum and maximum delay, 12 bits each, in 10 ms units. */
int sb_rtp_ext_playout_delay(const uint8_t *data, size_t len, uint16_t *min_10ms,
                             uint16_t *max_10ms);

/* Rewrite extension ids in place: for each element, map[id] is its new id, or 0 to erase it
 * (its bytes become padding, which receivers skip). buf is the writable buffer v was parsed
 * from. A new id that its form cannot carry (above 14 in the one-byte form) is SB_ERANGE, a
 * malformed block SB_EPROTO; elements before the failure are already rewritten. */
int sb_rtp_ext_remap(uint8_t *buf, const sb_rtp_view_t *v, const uint8_t map[256]);

/* Replace the value of element id in place when it fits: a value as long or shorter (the
 * freed tail becomes padding; in the one-byte form at least one byte is needed). value may be
 * NULL when value_len is 0. Returns 0,
 * SB_ENOENT when absent, SB_ERANGE when the value is longer (use sb_rtp_copy_with_ext). */
int sb_rtp_ext_set_inplace(uint8_t *buf, const sb_rtp_view_t *v, uint8_t id,
                           const uint8_t *value, size_t value_len);

/* --- Writers for the forwarding path ---------------------------------------------------- */

/* One element for the builders. data is borrowed for the call. */
typedef struct sb_rtp_ext_elem {
    uint8_t id;          /* 1..255; 1..14 with 1..16 bytes allows the one-byte form */
    uint8_t len;         /* 0..255 bytes */
    const uint8_t *data;
} sb_rtp_ext_elem_t;

/* Fields of a header to build. Borrowed arrays, read during the call only. */
typedef struct sb_rtp_header {
    bool marker;
    uint8_t pt;                      /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    const uint32_t *csrcs;           /* csrc_count entries */
    uint8_t csrc_count;              /* 0..15 */
    const sb_rtp_ext_elem_t *exts;   /* ext_count elements, written in this order */
    size_t ext_count;                /* 0: no extension block */
} sb_rtp_header_t;

/* Write a header (no padding bit) into out. The one-byte extension form is chosen when every
 * element allows it, otherwise the two-byte form. Returns the header length, SB_EINVAL for
 * impossible fields, SB_ERANGE when out_size is too small. */
int sb_rtp_write_header(uint8_t *out, size_t out_size, const sb_rtp_header_t *h);

/* Copy packet v into out with element id set to value (added when absent), or removed when
 * value is NULL. Other elements, CSRCs, payload and padding are kept. Returns the new packet
 * length or a negative code (SB_ERANGE when out is too small or there are too many elements,
 * SB_EPROTO for a malformed block). out must not overlap v->buf. */
int sb_rtp_copy_with_ext(const sb_rtp_view_t *v, uint8_t id, const uint8_t *value,
                         size_t value_len, uint8_t *out, size_t out_size);

/* In-place header writers. buf holds a packet that parsed (at least 12 bytes). */
static inline void sb_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc)
{
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
}

static inline void sb_rtp_set_seq(uint8_t *buf, uint16_t seq)
{
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
}

static inline void sb_rtp_set_timestamp(uint8_t *buf, uint32_t ts)
{
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
}

/* Keeps the marker bit. */
static inline void sb_rtp_set_pt(uint8_t *buf, uint8_t pt)
{
    buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

static inline void sb_rtp_set_marker(uint8_t *buf, bool marker)
{
    buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
}

/* --- RTX (RFC 4588 §4) ------------------------------------------------------------------ */

/* Original sequence number and original payload of an RTX packet (both borrowed from rtx).
 * Returns 0, SB_ENOENT for an empty payload (a padding-only probe: nothing to recover), or
 * SB_EPROTO for a one-byte payload. */
int sb_rtx_unwrap(const sb_rtp_view_t *rtx, uint16_t *osn, const uint8_t **payload,
                  size_t *payload_len);

/* Rebuild the original packet from an RTX packet into out: same header, extensions, marker
 * and timestamp, with ssrc, pt and the OSN as sequence number, no padding. Returns its length
 * or a negative code (SB_ENOENT/SB_EPROTO as for unwrap, SB_ERANGE when out is too small).
 * out must not overlap rtx->buf. */
int sb_rtx_restore(const sb_rtp_view_t *rtx, uint32_t ssrc, uint8_t pt, uint8_t *out,
                   size_t out_size);

/* Build the RTX packet carrying orig into out: orig's header and extensions with rtx_ssrc,
 * rtx_pt and rtx_seq, the OSN, then orig's payload without padding. Returns its length or
 * SB_ERANGE. out must not overlap orig->buf. */
int sb_rtx_wrap(const sb_rtp_view_t *orig, uint32_t rtx_ssrc, uint8_t rtx_pt, uint16_t rtx_seq,
                uint8_t *out, size_t out_size);

#endif
