/* RTCP (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506): validated iteration over compound
 * packets, parsers for SR, RR, SDES, BYE and the feedback messages an SFU handles (generic
 * NACK, transport-wide CC, PLI, FIR, REMB), builders into caller buffers, and in-place SSRC
 * rewriting for feedback forwarded upstream.
 *
 * Sans-IO and allocation-free. Views borrow the packet bytes: valid while the buffer is.
 * No state: any thread, as long as one buffer is not written by two threads at once.
 * Parsers return 0 or a negative SB_E* code (base/error.h); builders return the number of
 * bytes written (always a multiple of 4) or a negative code: SB_EINVAL for impossible input,
 * SB_ERANGE when the caller's buffer is too small. */
#ifndef SB_PROTO_RTCP_H
#define SB_PROTO_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611). */
enum {
    SB_RTCP_SR = 200,
    SB_RTCP_RR = 201,
    SB_RTCP_SDES = 202,
    SB_RTCP_BYE = 203,
    SB_RTCP_APP = 204,
    SB_RTCP_RTPFB = 205,
    SB_RTCP_PSFB = 206,
    SB_RTCP_XR = 207,
};

/* Feedback message types (FMT): RTPFB (RFC 4585 §6.2, transport-cc draft), PSFB (RFC 4585
 * §6.3, RFC 5104 §4.3, draft-alvestrand-rmcat-remb). */
enum {
    SB_RTCP_FMT_NACK = 1,
    SB_RTCP_FMT_TWCC = 15,
    SB_RTCP_FMT_PLI = 1,
    SB_RTCP_FMT_FIR = 4,
    SB_RTCP_FMT_AFB = 15,
};

#define SB_RTCP_HEADER_LEN 4u
#define SB_RTCP_RB_LEN 24u
#define SB_RTCP_MAX_RB 31u
/* Lost packets one NACK item (PID + BLP) can name. */
#define SB_RTCP_NACK_PER_ITEM 17u

/* --- Compound iteration (RFC 3550 §6.4, Appendix A.2; RFC 5506) ------------------------- */

/* One packet of a compound. */
typedef struct sb_rtcp_pkt {
    uint8_t type;            /* PT */
    uint8_t count;           /* RC, SC or FMT: the 5 low bits of the first byte */
    bool padding;            /* P bit (only the last packet of a compound may have it) */
    size_t offset;           /* of this packet from the start of the compound */
    const uint8_t *buf;      /* the packet, header first */
    size_t len;              /* 4 * (length + 1), padding included */
    const uint8_t *body;     /* after the 4-byte header */
    size_t body_len;         /* padding excluded */
} sb_rtcp_pkt_t;

/* Iterator on the caller's stack. */
typedef struct sb_rtcp_iter {
    const uint8_t *base;
    const uint8_t *p;
    const uint8_t *end;
    bool done;
} sb_rtcp_iter_t;

void sb_rtcp_iter_init(sb_rtcp_iter_t *it, const uint8_t *buf, size_t len);

/* Next packet: 1 with *pkt set, 0 at the end, SB_EPROTO when the next packet is invalid
 * (version, length past the end or trailing bytes, padding on a non-last packet, padding count
 * out of range); iteration then stays ended, packets returned before remain valid.
 * Reduced-size RTCP (RFC 5506) is accepted: the first packet need not be SR or RR. */
int sb_rtcp_iter_next(sb_rtcp_iter_t *it, sb_rtcp_pkt_t *pkt);

/* Check a whole compound: every packet valid, lengths adding up exactly, at least one packet.
 * Returns 0 or SB_EPROTO. */
int sb_rtcp_validate(const uint8_t *buf, size_t len);

/* --- Sender and receiver reports (RFC 3550 §6.4) ---------------------------------------- */

typedef struct sb_rtcp_rb {
    uint32_t ssrc;             /* source this block reports on */
    uint8_t fraction_lost;     /* 8-bit fixed point, since the previous report */
    int32_t cumulative_lost;   /* 24-bit signed */
    uint32_t ext_highest_seq;  /* cycles << 16 | highest sequence number */
    uint32_t jitter;           /* timestamp units */
    uint32_t lsr;              /* middle 32 bits of the last SR's NTP time, 0 if none */
    uint32_t dlsr;             /* delay since that SR, 1/65536 s */
} sb_rtcp_rb_t;

typedef struct sb_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;              /* NTP timestamp, 32.32 fixed point */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    uint8_t rb_count;
    const uint8_t *rbs;        /* rb_count raw blocks, read with sb_rtcp_rb_get() */
} sb_rtcp_sr_t;

typedef struct sb_rtcp_rr {
    uint32_t ssrc;
    uint8_t rb_count;
    const uint8_t *rbs;
} sb_rtcp_rr_t;

/* Parse an SR (type 200) or RR (type 201). Profile extensions after the blocks are ignored.
 * Returns 0, SB_EINVAL for another type, SB_EPROTO when too short for its count. */
int sb_rtcp_parse_sr(const sb_rtcp_pkt_t *pkt, sb_rtcp_sr_t *out);
int sb_rtcp_parse_rr(const sb_rtcp_pkt_t *pkt, sb_rtcp_rr_t *out);

/* Report block i of rbs (from a parsed SR or RR holding count blocks). Returns 0 or SB_ENOENT
 * when i >= count. */
int sb_rtcp_rb_get(const uint8_t *rbs, uint8_t count, unsigned i, sb_rtcp_rb_t *out);

/* NTP timestamp (32.32 fixed point, RFC 3550 §4) of a Unix time in microseconds. */
uint64_t sb_rtcp_ntp_from_unix_us(int64_t unix_us);

/* Round-trip time from a report block about our stream (RFC 3550 §6.4.1): now_ntp is the
 * current NTP time, lsr and dlsr come from the block. Returns 0 with *rtt_us set, SB_ENOENT
 * when lsr is 0 (no SR reached the receiver yet), SB_ERANGE when the result is negative (a
 * bogus block or a clock step). */
int sb_rtcp_rtt_us(uint64_t now_ntp, uint32_t lsr, uint32_t dlsr, int64_t *rtt_us);

/* --- SDES (RFC 3550 §6.5) --------------------------------------------------------------- */

typedef struct sb_rtcp_sdes_iter {
    const uint8_t *p;
    const uint8_t *end;
    unsigned remaining;        /* chunks still announced by SC */
} sb_rtcp_sdes_iter_t;

void sb_rtcp_sdes_iter_init(sb_rtcp_sdes_iter_t *it, const sb_rtcp_pkt_t *pkt);

/* Next chunk: 1 with its SSRC/CSRC and CNAME (borrowed, not NUL-terminated; NULL and 0 when
 * the chunk has none), 0 after SC chunks, SB_EPROTO on a malformed chunk (items past the end,
 * missing terminator or alignment). */
int sb_rtcp_sdes_next(sb_rtcp_sdes_iter_t *it, uint32_t *ssrc, const uint8_t **cname,
                      size_t *cname_len);

/* --- BYE (RFC 3550 §6.6) ---------------------------------------------------------------- */

typedef struct sb_rtcp_bye {
    uint8_t count;             /* SSRC/CSRCs leaving */
    const uint8_t *ssrcs;      /* count raw 32-bit values, read with sb_rtcp_bye_ssrc() */
    const uint8_t *reason;     /* borrowed, not NUL-terminated; NULL when absent */
    size_t reason_len;
} sb_rtcp_bye_t;

int sb_rtcp_parse_bye(const sb_rtcp_pkt_t *pkt, sb_rtcp_bye_t *out);
uint32_t sb_rtcp_bye_ssrc(const sb_rtcp_bye_t *bye, unsigned i);

/* --- Feedback (RFC 4585 §6.1) ----------------------------------------------------------- */

typedef struct sb_rtcp_fb {
    uint8_t type;              /* SB_RTCP_RTPFB or SB_RTCP_PSFB */
    uint8_t fmt;
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci;        /* feedback control information, borrowed */
    size_t fci_len;
} sb_rtcp_fb_t;

/* Common part of an RTPFB or PSFB packet. Returns 0, SB_EINVAL for another type, SB_EPROTO
 * when shorter than the two SSRCs. PLI needs nothing more (RFC 4585 §6.3.1: no FCI). */
int sb_rtcp_parse_fb(const sb_rtcp_pkt_t *pkt, sb_rtcp_fb_t *out);

/* Generic NACK (RFC 4585 §6.2.1): expand every PID + BLP item into seqs, in item order.
 * Returns the number written, at most max (the rest is dropped: a NACK is a hint, the
 * receiver asks again), or SB_EPROTO when the FCI is empty or not a whole number of items. */
int sb_rtcp_parse_nack(const sb_rtcp_fb_t *fb, uint16_t *seqs, size_t max);

/* FIR (RFC 5104 §4.3.1). */
typedef struct sb_rtcp_fir_entry {
    uint32_t ssrc;             /* media sender asked for a decoder refresh */
    uint8_t seq;               /* command sequence number */
} sb_rtcp_fir_entry_t;

/* Copy up to max entries; returns how many the message holds (so > max means truncated), or
 * SB_EPROTO when the FCI is empty or not a whole number of entries. */
int sb_rtcp_parse_fir(const sb_rtcp_fb_t *fb, sb_rtcp_fir_entry_t *entries, size_t max);

/* REMB (draft-alvestrand-rmcat-remb §2.2): bitrate in bits per second and the SSRCs it
 * covers. Returns 0, SB_ENOENT when the AFB message is not REMB, SB_EPROTO when malformed or
 * the bitrate does not fit 64 bits. */
typedef struct sb_rtcp_remb {
    uint64_t bitrate;
    uint8_t ssrc_count;
    const uint8_t *ssrcs;      /* raw, read with sb_rtcp_remb_ssrc() */
} sb_rtcp_remb_t;

int sb_rtcp_parse_remb(const sb_rtcp_fb_t *fb, sb_rtcp_remb_t *out);
uint32_t sb_rtcp_remb_ssrc(const sb_rtcp_remb_t *remb, unsigned i);

/* Transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). */
typedef struct sb_rtcp_twcc {
    uint16_t base_seq;
    uint16_t status_count;
    uint32_t ref_time;         /* 24 bits, 64 ms units, wraps */
    uint8_t fb_count;          /* feedback packet count */
    const uint8_t *data;       /* packet chunks then receive deltas, borrowed */
    size_t data_len;
} sb_rtcp_twcc_t;

int sb_rtcp_parse_twcc(const sb_rtcp_fb_t *fb, sb_rtcp_twcc_t *out);

enum {
    SB_TWCC_NOT_RECEIVED = 0,
    SB_TWCC_SMALL_DELTA = 1,
    SB_TWCC_LARGE_DELTA = 2,
};

typedef struct sb_rtcp_twcc_pkt {
    uint16_t seq;
    uint8_t status;            /* SB_TWCC_* */
    int32_t delta;             /* receive delta in 250 us units; 0 when not received */
} sb_rtcp_twcc_pkt_t;

/* Decode every packet status and receive delta. Returns status_count, SB_ERANGE when max is
 * smaller, or SB_EPROTO when chunks or deltas are missing or use the reserved symbol. */
int sb_rtcp_twcc_decode(const sb_rtcp_twcc_t *twcc, sb_rtcp_twcc_pkt_t *out, size_t max);

/* --- In-place rewriting of forwarded feedback ------------------------------------------- */

/* Sender SSRC (bytes 4..7 of the packet) of a packet of the writable compound buf that pkt was
 * iterated from: the SSRC of SR, RR and feedback packets. Returns 0 or SB_EINVAL when the
 * packet has no such field. */
int sb_rtcp_set_sender_ssrc(uint8_t *buf, const sb_rtcp_pkt_t *pkt, uint32_t ssrc);

/* In an RTPFB or PSFB packet of buf, change the media source SSRC, and the SSRC of every FIR
 * entry, from `from` to `to`. Returns how many fields changed, or SB_EINVAL when the packet is
 * not feedback. */
int sb_rtcp_fb_rewrite_media_ssrc(uint8_t *buf, const sb_rtcp_pkt_t *pkt, uint32_t from,
                                  uint32_t to);

/* --- Builders --------------------------------------------------------------------------- */

/* SR from sr's sender info (its rb_count and rbs are ignored) with n report blocks (<= 31). */
int sb_rtcp_write_sr(uint8_t *out, size_t size, const sb_rtcp_sr_t *sr, const sb_rtcp_rb_t *rbs,
                     size_t n);
/* RR with n report blocks (<= 31; 0 gives the empty RR of RFC 3550 §6.1). */
int sb_rtcp_write_rr(uint8_t *out, size_t size, uint32_t ssrc, const sb_rtcp_rb_t *rbs,
                     size_t n);
/* SDES with one chunk holding one CNAME item (1..255 bytes). */
int sb_rtcp_write_sdes_cname(uint8_t *out, size_t size, uint32_t ssrc, const char *cname);
/* BYE for n SSRCs (<= 31), with an optional reason (NULL, or up to 255 bytes). */
int sb_rtcp_write_bye(uint8_t *out, size_t size, const uint32_t *ssrcs, size_t n,
                      const char *reason);
int sb_rtcp_write_pli(uint8_t *out, size_t size, uint32_t sender, uint32_t media);
/* FIR with n >= 1 entries; the media SSRC field is 0 (RFC 5104 §4.3.1.2). */
int sb_rtcp_write_fir(uint8_t *out, size_t size, uint32_t sender,
                      const sb_rtcp_fir_entry_t *entries, size_t n);
/* REMB for n (<= 255) SSRCs. The bitrate is rounded down to what 18 bits of mantissa and a
 * 6-bit exponent can carry. */
int sb_rtcp_write_remb(uint8_t *out, size_t size, uint32_t sender, uint64_t bitrate,
                       const uint32_t *ssrcs, size_t n);
/* Generic NACK for n >= 1 sequence numbers, packed into PID + BLP items. Any order works;
 * ascending order (modulo 2^16) packs best. Duplicates are harmless. */
int sb_rtcp_write_nack(uint8_t *out, size_t size, uint32_t sender, uint32_t media,
                       const uint16_t *seqs, size_t n);

#endif
