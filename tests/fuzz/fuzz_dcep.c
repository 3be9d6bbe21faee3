/* Fuzz target: DCEP messages (src/proto/dcep.c) as a peer's SCTP PPID-50 payload. Whatever
 * parses as DATA_CHANNEL_OPEN must write back to the same bytes and parse again the same.
 * libFuzzer: see tests/module.am (ENABLE_FUZZERS); replayed over tests/fuzz/corpus/dcep by
 * make check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_dcep_channel_t ch, again;
    static uint8_t out[SB_DCEP_OPEN_MAX];
    if (sb_dcep_parse(data, size, &ch) != SB_DCEP_MSG_OPEN)
        return 0;
    int n = sb_dcep_write_open(&ch, out, sizeof(out));
    if (n < 0 || sb_dcep_parse(out, (size_t)n, &again) != SB_DCEP_MSG_OPEN ||
        again.ordered != ch.ordered || again.reliability != ch.reliability ||
        strcmp(again.label, ch.label) || strcmp(again.protocol, ch.protocol))
        abort();
    /* Byte for byte, except the reliability parameter of a RELIABLE channel (ignored). */
    if ((size_t)n != size || memcmp(out, data, 4) || memcmp(out + 8, data + 8, size - 8))
        abort();
    return 0;
}
