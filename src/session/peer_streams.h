/* Conversions between the negotiation unit (proto/negotiate.h) and the plugin ABI's view of
 * streams (sb_media_stream_t, sb_answer_opts_t, sb_offer_stream_t). Pure functions, any
 * thread: no peer state is touched here. */
#ifndef SB_SESSION_PEER_STREAMS_H
#define SB_SESSION_PEER_STREAMS_H

#include "switchboard/plugin.h"
#include "proto/negotiate.h"

/* The header extension id of transport-wide CC in our offers (one-byte form: 1..14). */
#define SB_PEER_STREAMS_TWCC_ID 3
/* The AV1 dependency descriptor's id in our offers (AV1 m-lines). */
#define SB_PEER_STREAMS_DD_ID 12

/* Streams of a negotiation result, as plugins see them. Returns how many (<= max). */
unsigned sb_peer_streams_from_result(const sb_negotiate_result_t *res, sb_media_stream_t *out,
                                     unsigned max);

/* The SSRCs we have sent with on one m-line (by mid). Plain data, owned by the caller. */
typedef struct sb_peer_mline_ssrc {
    char mid[40];
    sb_media_kind_t kind;
    uint32_t ssrc, rtx_ssrc;
} sb_peer_mline_ssrc_t;

/* What the answer hook needs: the plugin's wishes, and the SSRCs each m-line was sent with
 * before (an m-line answered again keeps them, as in offers: the client's decoder goes on). */
typedef struct sb_peer_answer_ctx {
    const sb_answer_opts_t *want;
    const sb_peer_mline_ssrc_t *kept;
    unsigned nkept;
} sb_peer_answer_ctx_t;

/* Fill the codec preferences, directions and SSRC hook of opts from ctx (borrowed: it must
 * outlive the negotiation). audio/video are caller storage for max preferences each (opts
 * points into them). Returns 0 or SB_EINVAL for an unknown codec name. */
int sb_peer_streams_answer_opts(const sb_peer_answer_ctx_t *ctx, sb_negotiate_opts_t *opts,
                                sb_negotiate_codec_pref_t *audio, sb_negotiate_codec_pref_t *video,
                                size_t max);

/* Record the SSRCs of the negotiated streams we send on into kept (nkept entries, room for
 * max), replacing an entry of the same mid. Entries of streams now inactive stay: an m-line
 * keeps its SSRCs for the PeerConnection's life. Returns the new count. */
unsigned sb_peer_streams_keep_ssrcs(const sb_media_stream_t *streams, unsigned n,
                                    sb_peer_mline_ssrc_t *kept, unsigned nkept, unsigned max);

/* Streams to offer from a plugin's list. An m-line that was sent on before (same mid, same
 * kind in kept) keeps its SSRCs, also after a time inactive: a renegotiation does not
 * restart the client's decoder, and a client that routes by SSRC (we offer no MID header
 * extension; aiortc never updates a started receiver) still finds the m-line it knows.
 * mids is caller storage for generated mids. Returns how many. */
unsigned sb_peer_streams_offer(const sb_offer_stream_t *in, unsigned n,
                               const sb_peer_mline_ssrc_t *kept, unsigned nkept,
                               uint32_t max_message_size, sb_negotiate_stream_t *out,
                               char mids[][12]);

#endif
