/* WebSocket opening handshake checks and the Sec-WebSocket-Accept value (see ws_handshake.h).
 */
#include "api/ws_handshake.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define SB_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define SB_WS_KEY_B64_LEN 24                              /* base64 of 16 bytes */

int sb_ws_header_has_token(const char *list, const char *token)
{
    if (!list)
        return 0;
    size_t tl = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tl && !strncasecmp(start, token, tl))
            return 1;
    }
    return 0;
}

/* The key must be base64 of exactly 16 bytes (§4.2.1 item 5). */
static int sb_ws_key_valid(const char *key)
{
    if (!key || strlen(key) != SB_WS_KEY_B64_LEN || strcmp(key + 22, "==") != 0)
        return 0;
    uint8_t raw[18];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, SB_WS_KEY_B64_LEN) == 18;
}

static void sb_ws_accept(const char *key, char out[SB_WS_ACCEPT_LEN + 1])
{
    char cat[SB_WS_KEY_B64_LEN + sizeof(SB_WS_GUID)];
    memcpy(cat, key, SB_WS_KEY_B64_LEN);
    memcpy(cat + SB_WS_KEY_B64_LEN, SB_WS_GUID, sizeof(SB_WS_GUID));
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    out[0] = '\0';
    if (EVP_Digest(cat, strlen(cat), digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20)
        return;
    EVP_EncodeBlock((unsigned char *)out, digest, 20);
}

static void sb_ws_refuse(sb_ws_handshake_t *out, unsigned status, const char *reason)
{
    out->status = status;
    out->reason = reason;
}

void sb_ws_handshake_check(const sb_ws_request_hdrs_t *req, sb_ws_handshake_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!req->method || strcmp(req->method, "GET") != 0)
        return sb_ws_refuse(out, 405, "WebSocket handshakes are GET requests");
    if (!req->version || strcmp(req->version, "HTTP/1.1") != 0)
        return sb_ws_refuse(out, 400, "WebSocket needs HTTP/1.1");
    if (!req->host || !sb_ws_header_has_token(req->upgrade, "websocket") ||
        !sb_ws_header_has_token(req->connection, "upgrade"))
        return sb_ws_refuse(out, 426, "This port speaks WebSocket only (Upgrade: websocket)");
    if (!req->ws_version || strcmp(req->ws_version, "13") != 0)
        return sb_ws_refuse(out, 426, "Unsupported WebSocket version (13 only)");
    if (!sb_ws_key_valid(req->key))
        return sb_ws_refuse(out, 400, "Invalid Sec-WebSocket-Key");
    if (req->protocols) {
        if (!sb_ws_header_has_token(req->protocols, SB_WS_PROTOCOL))
            return sb_ws_refuse(out, 400, "Unsupported subprotocol (janus-protocol only)");
        out->protocol = SB_WS_PROTOCOL;
    }
    sb_ws_accept(req->key, out->accept);
    if (!out->accept[0])
        return sb_ws_refuse(out, 500, "Cannot compute Sec-WebSocket-Accept");
    out->status = 101;
}
