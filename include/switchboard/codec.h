/* Codec names and RTP payload inspection for the forwarder: keyframe detection, VP8 and VP9
 * payload descriptors (layers, picture ids), H.264/H.265 NAL unit types, the AV1 aggregation
 * header, the primary block of RED. Nothing is decoded.
 *
 * Sans-IO and allocation-free; descriptors are inline structs filled on the caller's stack
 * and hold no pointers into the payload. No state: any thread.
 * Return values: 0 on success or a negative SB_E* code from switchboard/error.h. */
#ifndef SWITCHBOARD_CODEC_H
#define SWITCHBOARD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sb_codec {
    SB_CODEC_UNKNOWN = 0,
    /* audio */
    SB_CODEC_OPUS,
    SB_CODEC_MULTIOPUS,
    SB_CODEC_PCMU,
    SB_CODEC_PCMA,
    SB_CODEC_G722,
    SB_CODEC_ISAC,
    SB_CODEC_L16,
    SB_CODEC_TELEPHONE_EVENT,
    SB_CODEC_CN,
    /* video */
    SB_CODEC_VP8,
    SB_CODEC_VP9,
    SB_CODEC_H264,
    SB_CODEC_H265,
    SB_CODEC_AV1,
    /* repair and redundancy: not media of their own */
    SB_CODEC_RTX,
    SB_CODEC_RED,
    SB_CODEC_ULPFEC,
    SB_CODEC_FLEXFEC,
    SB_CODEC_COUNT_
} sb_codec_t;

/* Codec for an rtpmap encoding name, case-insensitively ("opus", "VP8", "h264", "AV1",
 * "telephone-event", "flexfec-03", ...). NULL or unknown names give SB_CODEC_UNKNOWN. The _n
 * variant reads exactly len bytes (no NUL needed). */
sb_codec_t sb_codec_from_name(const char *name);
sb_codec_t sb_codec_from_name_n(const char *name, size_t len);

/* Canonical rtpmap spelling ("opus", "VP8", "H264", ...), static; "unknown" when unknown. */
const char *sb_codec_name(sb_codec_t codec);

bool sb_codec_is_audio(sb_codec_t codec);
bool sb_codec_is_video(sb_codec_t codec);

/* Does this RTP payload start a frame a decoder can begin with? Audio codecs: always true.
 * Video: true only on a packet that carries (the start of) a keyframe, see the per-codec
 * parsers. Unknown codecs and repair formats: false. */
bool sb_codec_is_keyframe(sb_codec_t codec, const uint8_t *payload, size_t len);

/* --- VP8 (RFC 7741 §4.2, §4.3) ------------------------------------------------------------ */

typedef struct sb_vp8_desc {
    size_t header_len;        /* descriptor bytes: offset of the VP8 payload */
    bool non_reference;       /* N */
    bool start;               /* S: first packet of a partition */
    uint8_t partition_id;     /* PID, 0..15 */
    bool has_picture_id;      /* I */
    bool picture_id_15bit;    /* M */
    uint16_t picture_id;      /* 7 or 15 bits */
    bool has_tl0picidx;       /* L */
    uint8_t tl0picidx;
    bool has_tid;             /* T */
    uint8_t tid;              /* 0..3 */
    bool layer_sync;          /* Y */
    bool has_keyidx;          /* K */
    uint8_t keyidx;           /* 0..31 */
    bool frame_start;         /* S && PID == 0: first packet of a frame */
    bool keyframe;            /* frame_start and the payload header's P bit is 0 */
    uint16_t width, height;   /* keyframe only, else 0 (RFC 6386 §9.1) */
    uint8_t horiz_scale, vert_scale;
} sb_vp8_desc_t;

/* Parse the payload descriptor and, on the first packet of a frame, the payload header.
 * Returns 0 or SB_EINVAL (truncated, or no VP8 payload after the descriptor). */
int sb_vp8_parse(const uint8_t *payload, size_t len, sb_vp8_desc_t *out);

/* Rewrite fields in place in a payload d was parsed from, keeping their width: a 7-bit
 * picture id keeps 7 bits (the value is truncated), a 15-bit one keeps 15. Returns 0 or
 * SB_ENOENT when the descriptor has no such field. */
int sb_vp8_set_picture_id(uint8_t *payload, const sb_vp8_desc_t *d, uint16_t picture_id);
int sb_vp8_set_tl0picidx(uint8_t *payload, const sb_vp8_desc_t *d, uint8_t tl0picidx);

/* --- VP9 (RFC 9628 §4.2) ------------------------------------------------------------------ */

#define SB_VP9_MAX_SPATIAL 8
#define SB_VP9_MAX_REFS 3

typedef struct sb_vp9_desc {
    size_t header_len;              /* descriptor bytes: offset of the VP9 payload */
    bool has_picture_id;            /* I */
    bool inter_picture;             /* P: predicted from an earlier picture */
    bool has_layer;                 /* L */
    bool flexible;                  /* F */
    bool start;                     /* B: first packet of a layer frame */
    bool end;                       /* E: last packet of a layer frame */
    bool has_ss;                    /* V: scalability structure present */
    bool not_ref_upper;             /* Z */
    bool picture_id_15bit;          /* M */
    uint16_t picture_id;
    uint8_t tid;                    /* 0..7, 0 without L */
    bool switching_up;              /* U */
    uint8_t sid;                    /* 0..7, 0 without L */
    bool inter_layer;               /* D */
    bool has_tl0picidx;             /* non-flexible mode with L */
    uint8_t tl0picidx;
    uint8_t num_refs;               /* flexible mode P_DIFF count */
    uint8_t p_diff[SB_VP9_MAX_REFS];
    uint8_t ss_layers;              /* N_S + 1 when V, else 0 */
    bool ss_has_resolution;         /* Y */
    uint16_t width[SB_VP9_MAX_SPATIAL], height[SB_VP9_MAX_SPATIAL];
    bool keyframe;                  /* B && !P && SID == 0 */
} sb_vp9_desc_t;

/* Parse the payload descriptor, scalability structure included. Returns 0 or SB_EINVAL. */
int sb_vp9_parse(const uint8_t *payload, size_t len, sb_vp9_desc_t *out);

/* --- H.264 (RFC 6184 §5) and H.265 (RFC 7798 §4) ------------------------------------------ */

typedef struct sb_h264_info {
    uint8_t packet_type;      /* NAL type of the RTP payload: 1..23 single, 24 STAP-A, 28 FU-A */
    uint8_t nal_type;         /* single NAL or FU: the carried type; STAP-A: first unit's */
    bool fu_start, fu_end;    /* FU-A S and E bits */
    bool has_sps, has_pps, has_idr;
    bool keyframe;            /* an IDR slice or SPS starts in this packet */
} sb_h264_info_t;

/* Inspect an H.264 payload in packetization mode 0 or 1. STAP-B, MTAPs and FU-B (mode 2,
 * not used by WebRTC) are SB_ENOTSUP; malformed or truncated payloads SB_EINVAL. */
int sb_h264_parse(const uint8_t *payload, size_t len, sb_h264_info_t *out);

/* H.265: keyframe when an IRAP picture (NAL types 16..21) or a VPS/SPS starts here, looking
 * through aggregation packets (48) and fragmentation units (49). */
bool sb_h265_is_keyframe(const uint8_t *payload, size_t len);

/* --- AV1 (AV1 RTP payload format, §4.4 aggregation header) -------------------------------- */

typedef struct sb_av1_info {
    bool continuation;        /* Z: the first OBU element continues the previous packet's */
    bool continues;           /* Y: the last OBU element continues in the next packet */
    uint8_t w;                /* W: OBU element count, 0 = every element has a length */
    bool new_sequence;        /* N: first packet of a coded video sequence (a keyframe) */
    unsigned elements;        /* OBU elements found */
} sb_av1_info_t;

/* Parse the aggregation header and check the OBU element lengths (LEB128) against len.
 * Returns 0 or SB_EINVAL. */
int sb_av1_parse(const uint8_t *payload, size_t len, sb_av1_info_t *out);

/* --- RED (RFC 2198 section 3) ------------------------------------------------------------ */

/* Where the primary (newest) encoding of a RED payload is: its payload type and the offset of
 * its data, which runs to the end of the payload (it may be empty). Returns 0, or SB_EINVAL
 * when the block headers or the redundant blocks' lengths do not fit in len. */
int sb_red_primary(const uint8_t *payload, size_t len, uint8_t *pt, size_t *offset);

#endif
