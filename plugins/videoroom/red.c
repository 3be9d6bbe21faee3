/* VideoRoom RED (RFC 2198) of a publisher's Opus: a publisher that offered RED is answered
 * with it (the core does, sb_answer_opts_t.audio_red), so it sends each packet with the
 * previous one's encoding as redundancy; a subscriber is offered RED too. One that kept it
 * in its answer gets the packets as they are (its payload type only); one that did not gets
 * each packet's primary (newest) encoding alone, under the Opus payload type. The block
 * payload types inside RED are the publisher's Opus one, which is what subscribers are
 * offered (they get the publisher's payload types).
 *
 * Does not build RED for a publisher that sends plain Opus, nor recover losses from the
 * redundancy (the subscriber's decoder does). Loop thread of the subscriber stream; no
 * allocation, no state. */
#include <string.h>

#include "switchboard/codec.h"
#include "switchboard/rtp.h"
#include "videoroom.h"

bool sb_vr_red_plan(const sb_vr_fanout_t *fan, const sb_vr_sub_stream_t *ss,
                    const sb_rtp_packet_t *pkt, int *strip)
{
    *strip = -1;
    if (!fan->neg.red_pt || pkt->rtp.pt != fan->neg.red_pt || ss->loop.neg.red_pt)
        return true;
    uint8_t pt;
    size_t off;
    if (sb_red_primary(pkt->rtp.payload, pkt->rtp.payload_len, &pt, &off) < 0 ||
        pt != fan->neg.pt)
        return false; /* unreadable, or another codec's: nothing this subscriber can use */
    *strip = (int)off;
    return true;
}

size_t sb_vr_red_rewrite(const sb_vr_sub_stream_t *ss, uint8_t *buf, size_t len,
                         const sb_rtp_packet_t *pkt, int strip)
{
    if (strip < 0) {
        if (ss->loop.neg.red_pt)
            sb_rtp_set_pt(buf, ss->loop.neg.red_pt);
        return len;
    }
    /* The primary block runs to the end of the payload: move it to the payload's start.
     * RTP padding (if any) follows it and moves with it. */
    size_t start = pkt->rtp.header_len;
    memmove(buf + start, buf + start + (size_t)strip, len - start - (size_t)strip);
    if (ss->loop.neg.pt)
        sb_rtp_set_pt(buf, ss->loop.neg.pt);
    return len - (size_t)strip;
}
