/* RFC 6455 framing for the server side of a WebSocket, sans-IO: bytes in, messages out.
 *
 * The parser takes the connection's byte stream in pieces of any size and reports whole
 * messages (fragments reassembled), pings and the close frame. It enforces what RFC 6455
 * requires of a client's frames and answers every violation with the close code to send:
 * unmasked frames (§5.1), reserved bits without a negotiated extension (§5.2), unknown
 * opcodes, control frames that are fragmented or longer than 125 bytes (§5.5), a
 * continuation with no message or a new message inside one (§5.4), 64-bit lengths with the
 * top bit set, malformed close payloads (§7.4) -> 1002; text that is not UTF-8 -> 1007
 * (§8.1). A message longer than max_message is not an error: its payload is discarded as it
 * arrives and it is reported with too_large set, so memory stays bounded by max_message.
 *
 * What it does not do: sockets, the opening handshake, extensions (permessage-deflate is
 * never negotiated), or sending (sb_ws_frame_header writes a server frame's header).
 *
 * Thread: a parser belongs to one connection and is used by one thread at a time. */
#ifndef SB_API_WS_FRAME_H
#define SB_API_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_WS_OP_CONT 0x0
#define SB_WS_OP_TEXT 0x1
#define SB_WS_OP_BINARY 0x2
#define SB_WS_OP_CLOSE 0x8
#define SB_WS_OP_PING 0x9
#define SB_WS_OP_PONG 0xA

#define SB_WS_CLOSE_NORMAL 1000
#define SB_WS_CLOSE_GOING_AWAY 1001
#define SB_WS_CLOSE_PROTOCOL 1002
#define SB_WS_CLOSE_NO_STATUS 1005 /* never sent: a close frame without a code */
#define SB_WS_CLOSE_INVALID_DATA 1007
#define SB_WS_CLOSE_POLICY 1008
#define SB_WS_CLOSE_TOO_BIG 1009

#define SB_WS_MAX_HEADER 10    /* largest header of a server (unmasked) frame */
#define SB_WS_MAX_CONTROL 125 /* control frame payload limit (§5.5) */

/* Called from inside sb_ws_parse; data is borrowed for the call. */
typedef struct sb_ws_parser_ops {
    /* A whole text or binary message; too_large: longer than max_message, data is NULL. */
    void (*on_message)(void *ctx, bool binary, const uint8_t *data, size_t len, bool too_large);
    void (*on_ping)(void *ctx, const uint8_t *data, size_t len);
    /* The client's close frame: code SB_WS_CLOSE_NO_STATUS when it carried none. Nothing
     * after it is parsed. */
    void (*on_close)(void *ctx, uint16_t code);
} sb_ws_parser_ops_t;

typedef struct sb_ws_parser {
    size_t max_message;
    int state;
    uint16_t dead_code; /* the close code, once a violation killed the parser */
    uint8_t hdr[14];
    size_t hdr_need, hdr_have;
    uint8_t opcode;
    bool fin;
    uint8_t mask[4];
    uint64_t remaining; /* payload bytes of the current frame still to come */
    uint64_t mask_pos;
    uint8_t ctl[SB_WS_MAX_CONTROL];
    size_t ctl_len;
    uint8_t msg_opcode; /* of the message being assembled, 0 when none */
    bool msg_too_large;
    uint8_t *msg; /* owned */
    size_t msg_len, msg_cap;
} sb_ws_parser_t;

void sb_ws_parser_init(sb_ws_parser_t *p, size_t max_message);
void sb_ws_parser_deinit(sb_ws_parser_t *p);

/* Feeds len bytes (borrowed). Returns 0, or the close code the connection must be closed
 * with (the parser is then dead: later calls return the same code). After on_close, further
 * input is ignored. */
uint16_t sb_ws_parse(sb_ws_parser_t *p, const uint8_t *data, size_t len,
                     const sb_ws_parser_ops_t *ops, void *ctx);

/* Writes the header of a final, unmasked server frame into out (SB_WS_MAX_HEADER bytes);
 * returns its length. */
size_t sb_ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t payload_len);

/* True when data[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool sb_ws_utf8_valid(const uint8_t *data, size_t len);

#endif
