/* SDP offer/answer for an SFU (RFC 3264 as profiled by JSEP, RFC 8829).
 *
 * Three entry points over the sb_sdp_t model:
 *  - sb_negotiate_answer(): answer a client's offer. One codec per m-line (chosen from our
 *    preference list), its RTX, the rtcp-fb and header extensions we support (the AV1
 *    dependency descriptor only with AV1: VP8/VP9/H.264 carry their layers in their own
 *    payload, and a browser sends the descriptor for any codec it is negotiated for), a direction
 *    from a policy, our SSRCs where we send, rid/simulcast where the client sends layers,
 *    ICE/DTLS attributes, BUNDLE of every accepted m-line. Rejected m-lines keep their place
 *    with port 0.
 *  - sb_negotiate_offer(): an offer for streams we send (subscriber legs): setup actpass.
 *  - sb_negotiate_process_answer(): the client's answer to that offer.
 * Answering and processing both give a machine-readable summary per m-line
 * (sb_negotiate_media_t) and the remote side of the BUNDLE transport.
 *
 * Decisions (to be kept in docs/decisions.md, "Negotiation"):
 *  - DTLS: we answer setup:active to an actpass offer (we are the DTLS client), so our
 *    ClientHello leaves as soon as our ICE check succeeds, with no wait for the browser's
 *    first flight; configurable through sb_negotiate_opts_t.actpass_answer.
 *  - rtcp-mux is required: an m-line offered without it is rejected (port 0); we run one
 *    ICE component only.
 *  - One transport: with a BUNDLE group every accepted m-line must be in it; without one,
 *    only the first acceptable m-line is accepted.
 *  - Data channels: one m=application (RFC 8841, either form) is accepted when the caller
 *    asks for it (opts.data); otherwise it is rejected. Our SCTP port is always 5000.
 *
 * Sans-IO, no GLib, no threads. Any thread; arguments are only borrowed during the call. */
#ifndef SB_PROTO_NEGOTIATE_H
#define SB_PROTO_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/codec.h"
#include "proto/sdp.h"

/* RTP header extensions the core understands (RFC 8285 URIs in sb_negotiate_hdrext_uri()). */
typedef enum sb_hdrext {
    SB_HDREXT_MID = 0,               /* urn:ietf:params:rtp-hdrext:sdes:mid */
    SB_HDREXT_RID,                   /* ...:sdes:rtp-stream-id */
    SB_HDREXT_REPAIRED_RID,          /* ...:sdes:repaired-rtp-stream-id */
    SB_HDREXT_AUDIO_LEVEL,           /* urn:ietf:params:rtp-hdrext:ssrc-audio-level */
    SB_HDREXT_ABS_SEND_TIME,         /* webrtc abs-send-time */
    SB_HDREXT_TWCC,                  /* transport-wide-cc-extensions-01 */
    SB_HDREXT_VIDEO_ORIENTATION,     /* urn:3gpp:video-orientation */
    SB_HDREXT_PLAYOUT_DELAY,         /* webrtc playout-delay */
    SB_HDREXT_TOFFSET,               /* urn:ietf:params:rtp-hdrext:toffset */
    SB_HDREXT_ABS_CAPTURE_TIME,      /* webrtc abs-capture-time */
    SB_HDREXT_DEPENDENCY_DESCRIPTOR, /* AV1 dependency descriptor */
    SB_HDREXT_COUNT
} sb_hdrext_t;

#define SB_HDREXT_BIT(e) (1u << (e))
/* What we negotiate unless told otherwise. The dependency descriptor only ever on an m-line
 * whose codec is AV1 (see sb_negotiate_answer). */
#define SB_NEGOTIATE_EXT_DEFAULT                                                                   \
    (SB_HDREXT_BIT(SB_HDREXT_MID) | SB_HDREXT_BIT(SB_HDREXT_RID) |                                 \
     SB_HDREXT_BIT(SB_HDREXT_REPAIRED_RID) | SB_HDREXT_BIT(SB_HDREXT_AUDIO_LEVEL) |                \
     SB_HDREXT_BIT(SB_HDREXT_ABS_SEND_TIME) | SB_HDREXT_BIT(SB_HDREXT_TWCC) |                      \
     SB_HDREXT_BIT(SB_HDREXT_VIDEO_ORIENTATION) | SB_HDREXT_BIT(SB_HDREXT_PLAYOUT_DELAY) |         \
     SB_HDREXT_BIT(SB_HDREXT_DEPENDENCY_DESCRIPTOR))

/* Static URI of an extension; NULL when out of range. */
const char *sb_negotiate_hdrext_uri(sb_hdrext_t ext);
/* Extension for a URI; -1 when unknown. */
int sb_negotiate_hdrext_from_uri(const char *uri);

/* rtcp-fb we understand, as flags. */
enum {
    SB_NEGOTIATE_FB_NACK = 1u << 0, /* nack */
    SB_NEGOTIATE_FB_PLI = 1u << 1,  /* nack pli */
    SB_NEGOTIATE_FB_FIR = 1u << 2,  /* ccm fir */
    SB_NEGOTIATE_FB_REMB = 1u << 3, /* goog-remb */
    SB_NEGOTIATE_FB_TWCC = 1u << 4, /* transport-cc */
    SB_NEGOTIATE_FB_ALL = 0x1f,
};

/* One entry of a codec preference list. */
typedef struct sb_negotiate_codec_pref {
    sb_codec_t codec; /* OPUS, PCMU, PCMA, G722, VP8, VP9, H264, AV1, H265 */
    /* Preferred profile, NULL for the default: H264 profile-level-id ("42e01f"), VP9
     * profile-id ("0"), AV1 profile ("0"). Other profiles stay acceptable, ranked lower,
     * unless strict. H264 always needs packetization-mode=1. */
    const char *profile;
    bool strict;
} sb_negotiate_codec_pref_t;

/* Parse a comma-separated list of codec names ("vp8,h264", case-insensitive) into out (at
 * most max entries, default profiles). Returns how many, or SB_EINVAL on an unknown name or
 * a codec we cannot negotiate. */
int sb_negotiate_prefs_parse(const char *list, sb_negotiate_codec_pref_t *out, size_t max);

/* Our side of the transport, borrowed for the call. */
typedef struct sb_negotiate_local {
    const char *ice_ufrag;         /* 4..256 ice-chars */
    const char *ice_pwd;           /* 22..256 ice-chars */
    const char *fingerprint;       /* "sha-256 AB:CD:..." */
    const char *const *candidates; /* "candidate:..." or the bare value; may be NULL */
    size_t n_candidates;
    bool end_of_candidates; /* all candidates are already in the list */
    bool ice_lite;
    uint64_t session_id; /* o= line */
    uint64_t session_version;
} sb_negotiate_local_t;

/* What we announce on an m-line where we send. Strings borrowed for the call. */
typedef struct sb_negotiate_send {
    uint32_t ssrc;           /* 0: announce nothing */
    uint32_t rtx_ssrc;       /* 0: none; ignored when RTX was not negotiated */
    const char *cname;       /* NULL: "switchboard" */
    const char *msid_stream; /* NULL: no msid */
    const char *msid_track;
} sb_negotiate_send_t;

/* A negotiated rid, as seen from our side. */
typedef struct sb_negotiate_rid {
    char id[SB_SDP_MAX_RID_LEN + 1];
    bool recv;      /* true: the peer sends it to us; false: we send it */
    bool paused;    /* '~' in a=simulcast */
    uint8_t stream; /* simulcast stream index (alternatives share one) */
} sb_negotiate_rid_t;

#define SB_NEGOTIATE_MAX_FMTP 256

/* Summary of one m-line after negotiation; all from our point of view. */
typedef struct sb_negotiate_media {
    unsigned index; /* m-line index */
    char mid[SB_SDP_MAX_MID_LEN + 1];
    sb_sdp_kind_t kind;
    bool accepted;      /* false: port 0 in the answer */
    const char *reason; /* static text: why rejected; NULL when accepted */
    sb_sdp_dir_t dir;   /* negotiated: SENDONLY means we send, RECVONLY we receive */
    int pt;             /* chosen payload type, -1 when none */
    sb_codec_t codec;
    uint32_t clock_rate;
    uint8_t channels;                 /* 0 when not given */
    char fmtp[SB_NEGOTIATE_MAX_FMTP]; /* "" when none */
    int rtx_pt;                       /* -1 when no RTX */
    int red_pt;                       /* RED (RFC 2198) over the Opus pt, -1 when none */
    uint8_t ext[SB_HDREXT_COUNT];     /* negotiated extension ids, 0 when not negotiated */
    unsigned fb;                      /* SB_NEGOTIATE_FB_* */
    bool rtcp_rsize;
    /* What the peer announced it sends (only when we receive). */
    uint32_t ssrc, rtx_ssrc;                       /* 0 when not announced */
    uint32_t sim_ssrc[SB_SDP_MAX_GROUP_SSRCS];     /* ssrc-group:SIM, lowest layer first */
    uint32_t sim_rtx_ssrc[SB_SDP_MAX_GROUP_SSRCS]; /* via FID, 0 when none */
    size_t n_sim;
    /* rid-based simulcast (RFC 8853), in a=simulcast order. */
    sb_negotiate_rid_t rids[SB_SDP_MAX_RIDS];
    size_t n_rids;
    bool simulcast; /* a=simulcast negotiated */
    /* What we announced (only when we send). */
    uint32_t local_ssrc, local_rtx_ssrc;
    /* m=application only: the peer's SCTP port and a=max-message-size (0: any size; 65536
     * when absent), and whether it used the older DTLS/SCTP + a=sctpmap form. */
    uint16_t sctp_port;
    uint32_t max_message_size;
    bool legacy_sctpmap;
} sb_negotiate_media_t;

/* The remote side of the BUNDLE transport. */
typedef struct sb_negotiate_transport {
    unsigned index; /* m-line carrying it in the remote description */
    char mid[SB_SDP_MAX_MID_LEN + 1];
    char ice_ufrag[SB_SDP_MAX_ICE_LEN + 1];
    char ice_pwd[SB_SDP_MAX_ICE_LEN + 1];
    bool ice_lite;
    bool trickle; /* ice-options has "trickle" */
    bool end_of_candidates;
    char fingerprint_hash[17]; /* "sha-256" (preferred when several are given) */
    char fingerprint[SB_SDP_MAX_FP_LEN + 1];
    sb_sdp_setup_t setup; /* as the remote wrote it */
} sb_negotiate_transport_t;

/* Remote ICE/DTLS parameters for the BUNDLE transport of a remote description: the first mid
 * of its BUNDLE group that is not disabled, else its first enabled m-line; session-level
 * attributes apply where the m-line has none. Returns 0, or SB_EPROTO with a reason when
 * ice-ufrag, ice-pwd or a fingerprint is missing, SB_ENOENT when no m-line is enabled. */
int sb_negotiate_remote_transport(const sb_sdp_t *remote, sb_negotiate_transport_t *out,
                                  char *reason, size_t reason_size);

/* Result of sb_negotiate_answer()/sb_negotiate_process_answer(). Owned by the caller,
 * released with sb_negotiate_result_free(). */
typedef struct sb_negotiate_result {
    sb_sdp_t *answer;            /* our answer (sb_negotiate_answer only, else NULL) */
    sb_negotiate_media_t *media; /* one per m-line, in order */
    size_t n_media;
    sb_negotiate_transport_t remote;
    sb_sdp_setup_t local_setup; /* our DTLS role: ACTIVE = client, PASSIVE = server */
} sb_negotiate_result_t;

void sb_negotiate_result_free(sb_negotiate_result_t *r);

/* Per-m-line hook while answering, called for each m-line that has a codec, in order.
 * summary is filled (codec, pt, extensions, remote SSRCs, rids...); *dir holds our wish
 * (opts.dir) and may be changed; fill *send to announce SSRCs where we will send. The final
 * direction is *dir narrowed by what the offer allows. */
typedef void (*sb_negotiate_media_fn)(void *ctx, const sb_sdp_t *offer, size_t index,
                                      const sb_negotiate_media_t *summary, sb_sdp_dir_t *dir,
                                      sb_negotiate_send_t *send);

typedef struct sb_negotiate_opts {
    sb_negotiate_local_t local;
    const sb_negotiate_codec_pref_t *audio; /* preference order */
    size_t n_audio;
    const sb_negotiate_codec_pref_t *video;
    size_t n_video;
    uint32_t ext_allow;             /* SB_HDREXT_BIT() set */
    unsigned fb_allow;              /* SB_NEGOTIATE_FB_* */
    bool rtx;                       /* accept RTX for video */
    bool red;                       /* accept RED (RFC 2198) of Opus when offered, answered
                                       first so the client sends it (off by default) */
    bool simulcast;                 /* accept rid-based simulcast */
    bool allow_mixed;               /* echo extmap-allow-mixed (two-byte extensions, ids > 14) */
    sb_sdp_setup_t actpass_answer;  /* ACTIVE or PASSIVE */
    sb_sdp_dir_t dir;               /* wish per m-line: SENDRECV mirrors, RECVONLY for publishers */
    sb_negotiate_media_fn on_media; /* may be NULL */
    void *ctx;
    bool data;                 /* accept one data channel m-line (else rejected) */
    uint32_t max_message_size; /* what we announce for it (a=max-message-size) */
} sb_negotiate_opts_t;

/* Defaults: audio opus, PCMU, PCMA, G722; video VP8, VP9 (profile 0), H264 (42e01f), AV1;
 * SB_NEGOTIATE_EXT_DEFAULT; all rtcp-fb; rtx and simulcast on; allow_mixed off; active;
 * dir SENDRECV; no hook. local is zeroed: the caller fills it. */
void sb_negotiate_opts_init(sb_negotiate_opts_t *opts);

/* Answer offer. Returns 0 and an owned result (answer model in (*out)->answer: write it with
 * sb_sdp_write()). Errors, with a reason for the client: SB_EPROTO (offer breaks WebRTC
 * rules: missing mid, ICE credentials or fingerprint, holdconn), SB_ENOTSUP (no m-line
 * acceptable; the reason names why the first one failed), SB_EINVAL (bad local options). */
int sb_negotiate_answer(const sb_sdp_t *offer, const sb_negotiate_opts_t *opts,
                        sb_negotiate_result_t **out, char *reason, size_t reason_size);

/* One stream we offer to send. */
typedef struct sb_negotiate_stream {
    sb_sdp_kind_t kind; /* AUDIO, VIDEO, or APPLICATION (data channels: no codec, no SSRC) */
    const char *mid;    /* required, unique */
    bool disabled;      /* port 0: an m-line kept only for its place */
    sb_sdp_dir_t dir;   /* UNSET: SENDONLY; INACTIVE for a paused feed */
    sb_codec_t codec;
    uint8_t pt;
    const char *fmtp;                     /* NULL: none */
    uint8_t rtx_pt;                       /* 0: no RTX */
    uint8_t red_pt;                       /* AUDIO: RED over pt, listed first; 0: none */
    uint32_t ssrc, rtx_ssrc;              /* rtx_ssrc 0: none */
    const char *cname;                    /* NULL: "switchboard" */
    const char *msid_stream, *msid_track; /* NULL: no msid */
    uint8_t ext[SB_HDREXT_COUNT];         /* ids to offer, 0: not offered */
    unsigned fb;                          /* SB_NEGOTIATE_FB_* to offer */
    uint32_t max_message_size;            /* APPLICATION: our a=max-message-size */
} sb_negotiate_stream_t;

/* Build an offer: ICE/DTLS from local (setup actpass), BUNDLE of every enabled stream,
 * candidates on the first enabled m-line. Returns 0 and an owned model in *out (keep it for
 * sb_negotiate_process_answer), or SB_EINVAL with a reason for bad streams or local options. */
int sb_negotiate_offer(const sb_negotiate_local_t *local, const sb_negotiate_stream_t *streams,
                       size_t n_streams, sb_sdp_t **out, char *reason, size_t reason_size);

/* Process the peer's answer to our offer (both borrowed). Returns 0 and an owned result
 * (answer field NULL), or SB_EPROTO with a reason when the answer does not match the offer
 * (m-line count, mids, kinds), lacks ICE/DTLS parameters or answers setup:actpass. */
int sb_negotiate_process_answer(const sb_sdp_t *offer, const sb_sdp_t *answer,
                                sb_negotiate_result_t **out, char *reason, size_t reason_size);

#endif
