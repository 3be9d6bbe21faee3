/* Fuzz target: first-byte demux, then the parser each class leads to, checking that demux
 * never claims a packet shorter than its class's minimum.
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -I src -I <builddir>
 *   tests/fuzz/fuzz_demux.c src/proto/{demux,rtp,rtp_ext,rtcp}.c -o fuzz_demux */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/demux.h"
#include "proto/rtcp.h"
#include "switchboard/rtp.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            abort();                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_rtp_view_t v;
    sb_pkt_kind_t kind = sb_demux_classify(data, size);

    CHECK(sb_demux_kind_name(kind) != NULL);
    switch (kind) {
    case SB_PKT_STUN:
        CHECK(size >= 20 && data[0] <= 3);
        break;
    case SB_PKT_DTLS:
        CHECK(size >= 13 && data[0] >= 20 && data[0] <= 63);
        break;
    case SB_PKT_RTP:
        CHECK(size >= 12);
        if (sb_rtp_parse(data, size, &v) == 0)
            CHECK(v.pt < 64 || v.pt > 95);
        break;
    case SB_PKT_RTCP:
        CHECK(size >= 8);
        sb_rtcp_validate(data, size);
        break;
    case SB_PKT_UNKNOWN:
        break;
    }
    return 0;
}
