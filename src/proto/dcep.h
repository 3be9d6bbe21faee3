/* The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and
 * DATA_CHANNEL_ACK on SCTP PPID 50, and the WebRTC payload protocol identifiers
 * (RFC 8831 section 8). Sans-IO, any thread: messages in, messages out. The SCTP association
 * that carries them is another unit. */
#ifndef SB_PROTO_DCEP_H
#define SB_PROTO_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SCTP payload protocol identifiers of WebRTC. */
enum {
    SB_PPID_DCEP = 50,
    SB_PPID_STRING = 51,
    SB_PPID_BINARY = 53,
    SB_PPID_STRING_EMPTY = 56, /* an empty message: one byte on the wire, ignored */
    SB_PPID_BINARY_EMPTY = 57,
};

/* Channel types of DATA_CHANNEL_OPEN: bit 7 unordered, low bits the reliability. */
typedef enum sb_dcep_reliability {
    SB_DCEP_RELIABLE = 0x00,
    SB_DCEP_PARTIAL_REXMIT = 0x01, /* at most `reliability` retransmissions */
    SB_DCEP_PARTIAL_TIMED = 0x02,  /* retransmitted for at most `reliability` ms */
} sb_dcep_reliability_t;

#define SB_DCEP_UNORDERED 0x80
#define SB_DCEP_LABEL_MAX 1024    /* longer labels or protocols are refused */
#define SB_DCEP_OPEN_FIXED 12     /* the fixed part of DATA_CHANNEL_OPEN */
#define SB_DCEP_OPEN_MAX (SB_DCEP_OPEN_FIXED + 2 * SB_DCEP_LABEL_MAX)

/* A channel's properties, as DATA_CHANNEL_OPEN carries them. */
typedef struct sb_dcep_channel {
    bool ordered;
    sb_dcep_reliability_t reliability;
    uint32_t reliability_param; /* retransmissions or ms; 0 for RELIABLE */
    uint16_t priority;
    char label[SB_DCEP_LABEL_MAX + 1];    /* UTF-8, NUL-terminated */
    char protocol[SB_DCEP_LABEL_MAX + 1];
} sb_dcep_channel_t;

typedef enum sb_dcep_type {
    SB_DCEP_MSG_ACK = 0x02,
    SB_DCEP_MSG_OPEN = 0x03,
} sb_dcep_type_t;

/* What a PPID-50 message is: SB_DCEP_MSG_OPEN (and *ch filled), SB_DCEP_MSG_ACK, or
 * SB_EINVAL (empty, unknown type, truncated, lengths that do not add up, an unknown channel
 * type, a label or protocol over SB_DCEP_LABEL_MAX or with a NUL byte). */
int sb_dcep_parse(const uint8_t *msg, size_t len, sb_dcep_channel_t *ch);

/* DATA_CHANNEL_OPEN for ch into out: its length, or SB_EINVAL (out too small, label or
 * protocol too long, reliability out of range). */
int sb_dcep_write_open(const sb_dcep_channel_t *ch, uint8_t *out, size_t out_len);

/* DATA_CHANNEL_ACK: one byte. */
#define SB_DCEP_ACK_LEN 1
void sb_dcep_write_ack(uint8_t out[SB_DCEP_ACK_LEN]);

/* RFC 8832 section 6: the DTLS client opens channels on even stream ids, the server on odd. */
static inline bool sb_dcep_stream_is_ours(uint16_t stream, bool dtls_client)
{
    return (stream % 2 == 0) == dtls_client;
}

#endif
