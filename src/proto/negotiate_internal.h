/* Private to the negotiation files (negotiate.c, negotiate_answer.c, negotiate_offer.c):
 * codec matching, summary helpers and the builders that add our attributes to a model. */
#ifndef SB_PROTO_NEGOTIATE_INTERNAL_H
#define SB_PROTO_NEGOTIATE_INTERNAL_H

#include "proto/negotiate.h"

/* Kind, clock rate and rtpmap channels (0: none written) of a codec we can negotiate;
 * false for codecs we cannot (RTX, RED, FEC, CN, ...). */
bool sb_negotiate_codec_info(sb_codec_t codec, sb_sdp_kind_t *kind, uint32_t *clock,
                             uint16_t *channels);
/* Does an offered format carry this codec (name, clock rate, channels)? */
bool sb_negotiate_format_is(const sb_sdp_format_t *f, sb_codec_t codec);
/* Index in m->formats of the best format for the preference list, or -1. */
int sb_negotiate_pick(const sb_sdp_media_t *m, const sb_negotiate_codec_pref_t *prefs,
                      size_t n_prefs);
/* Payload type of the RTX format repairing primary (apt=), or -1. */
int sb_negotiate_find_rtx(const sb_sdp_media_t *m, const sb_sdp_format_t *primary);
/* Payload type of a RED format (RFC 2198) of m whose every block is primary (fmtp "P/P"), with
 * primary's clock rate and channels, or -1. */
int sb_negotiate_find_red(const sb_sdp_media_t *m, const sb_sdp_format_t *primary);
/* rtcp-fb flags of format f, including m's wildcard lines. */
unsigned sb_negotiate_fb_flags(const sb_sdp_media_t *m, const sb_sdp_format_t *f);
/* Value of key in an fmtp parameter string ("a=1;b=2"), copied into out. */
bool sb_negotiate_fmtp_get(const char *fmtp, const char *key, char *out, size_t size);
/* Remote SSRCs from the m-line's ssrc and ssrc-group lines into the summary. */
void sb_negotiate_remote_ssrcs(const sb_sdp_media_t *m, sb_negotiate_media_t *s);
/* Remote transport of m-line index (session-level fallbacks). */
int sb_negotiate_transport_at(const sb_sdp_t *sdp, size_t index, sb_negotiate_transport_t *out,
                              char *reason, size_t reason_size);
/* Fill the fields every summary has from an m-line. */
void sb_negotiate_summary_init(sb_negotiate_media_t *s, const sb_sdp_media_t *m, unsigned index);
sb_negotiate_result_t *sb_negotiate_result_new(size_t n_media);

/* Check local options (ICE credentials, fingerprint, candidates). */
int sb_negotiate_local_check(const sb_negotiate_local_t *local, char *reason, size_t reason_size);
/* A model with our o= line (nothing else). */
sb_sdp_t *sb_negotiate_sdp_new(const sb_negotiate_local_t *local);
/* Add ICE/DTLS attributes (and candidates when asked) to m. local must have been checked. */
void sb_negotiate_add_transport(sb_sdp_t *sdp, sb_sdp_media_t *m, const sb_negotiate_local_t *local,
                                sb_sdp_setup_t setup, bool candidates);
/* Add a payload type with its rtpmap, fmtp (may be NULL) and rtcp-fb lines for fb flags. */
void sb_negotiate_add_format(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t pt, sb_codec_t codec,
                             const char *fmtp, unsigned fb);
void sb_negotiate_add_rtx(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t rtx_pt, uint8_t apt);
/* Add RED (RFC 2198) carrying primary twice (fmtp "P/P"), primary's clock and channels taken
 * from its format when already added, else Opus's. */
void sb_negotiate_add_red(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t red_pt, uint8_t primary);
/* Add a=extmap for ext with id and direction (UNSET: none written). */
void sb_negotiate_add_extmap(sb_sdp_t *sdp, sb_sdp_media_t *m, sb_hdrext_t ext, uint8_t id,
                             sb_sdp_dir_t dir);
/* Add msid and ssrc lines for what we send (ssrc != 0); rtx_ssrc only when rtx. Returns 0,
 * or SB_EINVAL (nothing added) when cname or msid are not valid SDP tokens. */
int sb_negotiate_add_send(sb_sdp_t *sdp, sb_sdp_media_t *m, const sb_negotiate_send_t *send,
                          bool rtx);
/* Copy a string into a fixed buffer, truncating. */
void sb_negotiate_copy(char *dst, size_t size, const char *src);

/* negotiate_data.c: the data channel m-line. */
#define SB_NEGOTIATE_SCTP_STREAMS 1024
const char *sb_negotiate_data_check(const sb_sdp_media_t *m);
/* Our data m-line in an offer (UDP/DTLS/SCTP, sctp-port 5000, max-message-size). */
void sb_negotiate_data_offer(sb_sdp_t *sdp, sb_sdp_media_t *m, uint32_t local_max_message);
void sb_negotiate_data_summary(const sb_sdp_media_t *om, sb_negotiate_media_t *s);
void sb_negotiate_data_answer(sb_sdp_t *ans, sb_sdp_media_t *am, const sb_negotiate_media_t *s,
                              uint32_t local_max_message);

#endif
