/* Conversions between the negotiation unit (proto/negotiate.h) and the plugin ABI's view of
 * streams (sb_media_stream_t, sb_answer_opts_t, sb_offer_stream_t). Pure functions, any
 * thread: no peer state is touched here. */
#ifndef SB_PEER_PEER_STREAMS_H
#define SB_PEER_PEER_STREAMS_H

#include "plugin/plugin.h"
#include "proto/negotiate.h"

/* Streams of a negotiation result, as plugins see them. Returns how many (<= max). */
unsigned sb_peer_streams_from_result(const sb_negotiate_result_t *res, sb_media_stream_t *out,
                                     unsigned max);

/* Fill the codec preferences, directions and SSRC hook of opts from a plugin's wishes.
 * audio/video are caller storage for max preferences each (opts points into them).
 * Returns 0 or SB_EINVAL for an unknown codec name. */
int sb_peer_streams_answer_opts(const sb_answer_opts_t *want, sb_negotiate_opts_t *opts,
                                sb_negotiate_codec_pref_t *audio, sb_negotiate_codec_pref_t *video,
                                size_t max);

/* Streams to offer from a plugin's list; SSRCs of an m-line already negotiated (same mid,
 * same kind) are kept so a renegotiation does not restart the client's decoder. mids is
 * caller storage for generated mids. Returns how many. */
unsigned sb_peer_streams_offer(const sb_offer_stream_t *in, unsigned n,
                               const sb_media_stream_t *current, unsigned ncurrent,
                               sb_negotiate_stream_t *out, char mids[][12]);

#endif
