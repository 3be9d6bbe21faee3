/* Fuzz target: the WebSocket transport's own parsing, as bytes from the network reach it.
 * The first input byte picks the unit:
 *   even: the frame parser (api/ws_frame.c) over the rest as the client's byte stream, fed
 *         whole and again in pieces whose sizes come from the input; both feedings must report
 *         the same messages, pings, close and verdict (the parser keeps no hidden dependence on
 *         how reads split the stream), within the message bound;
 *   odd:  the opening handshake check (api/ws_handshake.c) over the rest split at NUL bytes
 *         into the request's header values; a 101 must carry a 28-byte accept value and only
 *         our subprotocol.
 * libFuzzer: built by scripts/fuzz.sh (configure --enable-fuzzers); replayed in make check. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ws_frame.h"
#include "api/ws_handshake.h"

#define FUZZ_MAX_MESSAGE 2048

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            abort();                                                                          \
    } while (0)

/* What a parser reported, folded into a running hash, with counts. */
typedef struct trace {
    uint64_t hash;
    unsigned messages, pings, closes;
} trace_t;

static void mix(trace_t *t, uint64_t v)
{
    t->hash = (t->hash ^ v) * 0x100000001b3ull;
}

static void on_message(void *ctx, bool binary, const uint8_t *data, size_t len, bool too_large)
{
    trace_t *t = ctx;
    CHECK(too_large ? data == NULL && len == 0 : data != NULL && len <= FUZZ_MAX_MESSAGE);
    CHECK(binary || too_large || sb_ws_utf8_valid(data, len));
    if (data)
        CHECK(data[len] == '\0'); /* text is handed out NUL-terminated for the JSON parser */
    t->messages++;
    mix(t, 1000 + binary * 2 + too_large);
    mix(t, len);
    for (size_t i = 0; i < len; i++)
        mix(t, data[i]);
}

static void on_ping(void *ctx, const uint8_t *data, size_t len)
{
    trace_t *t = ctx;
    CHECK(len <= SB_WS_MAX_CONTROL);
    t->pings++;
    mix(t, 2000 + len);
    for (size_t i = 0; i < len; i++)
        mix(t, data[i]);
}

static void on_close(void *ctx, uint16_t code)
{
    trace_t *t = ctx;
    t->closes++;
    mix(t, 3000u + code);
}

static const sb_ws_parser_ops_t ops = {on_message, on_ping, on_close};

static void fuzz_frames(const uint8_t *d, size_t n)
{
    if (n < 1)
        return;
    uint8_t step_seed = d[0];
    d++, n--;
    trace_t whole = {0}, pieces = {0};
    sb_ws_parser_t p;
    sb_ws_parser_init(&p, FUZZ_MAX_MESSAGE);
    uint16_t v1 = sb_ws_parse(&p, d, n, &ops, &whole);
    CHECK(v1 == 0 || v1 == SB_WS_CLOSE_PROTOCOL || v1 == SB_WS_CLOSE_INVALID_DATA);
    if (v1) /* dead stays dead, and says why again */
        CHECK(sb_ws_parse(&p, d, n, &ops, &whole) == v1);
    sb_ws_parser_deinit(&p);

    sb_ws_parser_init(&p, FUZZ_MAX_MESSAGE);
    uint16_t v2 = 0;
    size_t off = 0, k = 0;
    while (off < n && !v2) {
        size_t step = 1 + (size_t)((step_seed + k * 37) % 23);
        k++;
        if (step > n - off)
            step = n - off;
        v2 = sb_ws_parse(&p, d + off, step, &ops, &pieces);
        off += step;
    }
    sb_ws_parser_deinit(&p);
    CHECK(v1 == v2);
    CHECK(whole.messages == pieces.messages && whole.pings == pieces.pings);
    CHECK(whole.closes == pieces.closes && whole.closes <= 1);
    CHECK(whole.hash == pieces.hash);
}

static void fuzz_handshake(const uint8_t *d, size_t n)
{
    char buf[4096];
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, d, n);
    buf[n] = '\0';
    const char *field[8] = {0};
    char *s = buf;
    for (int i = 0; i < 8 && s <= buf + n; i++) {
        field[i] = s;
        s += strlen(s) + 1;
    }
    sb_ws_request_hdrs_t req = {field[0], field[1], field[2], field[3],
                                field[4], field[5], field[6], field[7]};
    sb_ws_handshake_t hs;
    sb_ws_handshake_check(&req, &hs);
    if (hs.status == 101) {
        CHECK(strlen(hs.accept) == SB_WS_ACCEPT_LEN);
        CHECK(!hs.protocol || !strcmp(hs.protocol, SB_WS_PROTOCOL));
        CHECK(req.key && strlen(req.key) == 24);
    } else {
        CHECK(hs.status >= 400 && hs.status < 600 && hs.reason);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_handshake(data + 1, size - 1);
    else
        fuzz_frames(data + 1, size - 1);
    return 0;
}
