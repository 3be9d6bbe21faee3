/* The rtpdump file format of rtptools (rtpplay, rtpdump -F dump; Wireshark opens it):
 *   "#!rtpplay1.0 <address>/<port>\n"
 *   RD_hdr_t:    start (seconds, microseconds: 2 x uint32), source address (uint32),
 *                port (uint16), padding (uint16)
 *   per packet:  RD_packet_t: length (uint16: this 8-byte header + the bytes kept),
 *                plen (uint16: the RTP packet's length), offset (uint32: ms since start),
 *                then the packet.
 * Every number big-endian. The address is the documentation's 0.0.0.0/0: the packets came
 * over ICE, not from one UDP source. */
#include "recorder.h"

#include <arpa/inet.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    uint16_t n = htons(v);
    memcpy(p, &n, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    uint32_t n = htonl(v);
    memcpy(p, &n, 4);
}

FILE *recorder_rtpdump_open(const char *path, int64_t wall_us)
{
    FILE *f = fopen(path, "wbx"); /* x: never overwrite an earlier recording */
    if (!f)
        return NULL;
    uint8_t hdr[16] = {0};
    put32(hdr, (uint32_t)(wall_us / 1000000));
    put32(hdr + 4, (uint32_t)(wall_us % 1000000));
    if (fputs("#!rtpplay1.0 0.0.0.0/0\n", f) < 0 || fwrite(hdr, sizeof(hdr), 1, f) != 1) {
        fclose(f);
        return NULL;
    }
    return f;
}

int recorder_rtpdump_write(FILE *f, const uint8_t *rtp, size_t len, uint32_t offset_ms)
{
    if (len > UINT16_MAX - 8)
        return -1;
    uint8_t hdr[8];
    put16(hdr, (uint16_t)(len + 8));
    put16(hdr + 2, (uint16_t)len);
    put32(hdr + 4, offset_ms);
    if (fwrite(hdr, sizeof(hdr), 1, f) != 1 || fwrite(rtp, len, 1, f) != 1)
        return -1;
    return 0;
}
