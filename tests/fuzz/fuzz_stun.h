/* What fuzz_stun.c and its seed writer (fuzz_stun_seeds.c) share: the modes picked by an
 * input's first byte, the per-datagram flag, and the SSRCs and header extension ids of the
 * streams the target negotiates. See the header comment of fuzz_stun.c for the input format.
 * Thread: the caller's. */
#ifndef SB_TESTS_FUZZ_STUN_H
#define SB_TESTS_FUZZ_STUN_H

#include "proto/cert.h"

enum {
    FUZZ_NEW,
    FUZZ_CONNECTING_SERVER,
    FUZZ_CONNECTING_CLIENT,
    FUZZ_UP,
    FUZZ_INJECT,
    FUZZ_MODES,
};

#define FUZZ_FLAG_PROTECT 0x01
#define FUZZ_AUDIO_SSRC 0x0a0a0a0au
#define FUZZ_H264_SSRC 0x0c0c0c0cu
#define FUZZ_H264_RTX_SSRC 0x0d0d0d0du
#define FUZZ_EXT_AUDIO_LEVEL 1
#define FUZZ_EXT_ABS_SEND_TIME 2
#define FUZZ_EXT_TWCC 3
#define FUZZ_EXT_MID 4
#define FUZZ_EXT_RID 10
#define FUZZ_EXT_RRID 11

/* Writes the target's seeds into dir: STUN binding requests and responses, genuine DTLS
 * flights between certificates server (ours) and client (the remote's), handshakes through
 * the demux, and RTP/RTCP of each negotiated stream. Files that cannot be written are
 * skipped. */
void fuzz_stun_write_seeds(const char *dir, const sb_cert_t *server, const sb_cert_t *client);

#endif
