/* Helpers shared by the datagram fuzz targets (see fuzz_common.h). Caller's thread. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
    abort();
}

bool fuzz_next_datagram(fuzz_reader_t *r, const uint8_t **d, size_t *len)
{
    if (r->left < 2)
        return false;
    size_t n = (size_t)r->p[0] << 8 | r->p[1];
    r->p += 2;
    r->left -= 2;
    if (n > r->left)
        n = r->left;
    *d = r->p;
    *len = n;
    r->p += n;
    r->left -= n;
    return true;
}

void fuzz_queue_push(fuzz_queue_t *q, const uint8_t *d, size_t len)
{
    if (len > q->max_len)
        q->max_len = len;
    if (q->n == FUZZ_QUEUE_MAX || len > FUZZ_DGRAM_MAX) {
        q->dropped++;
        return;
    }
    memcpy(q->q[q->n].data, d, len);
    q->q[q->n++].len = (uint16_t)len;
}

static void fuzz_side_send(void *ctx, const uint8_t *d, size_t len)
{
    fuzz_side_t *s = ctx;
    FUZZ_CHECK(len > 0);
    fuzz_queue_push(&s->out, d, len);
}

static void fuzz_side_connected(void *ctx, const sb_srtp_keys_t *keys)
{
    fuzz_side_t *s = ctx;
    s->n_connected++;
    s->keys = *keys;
}

static void fuzz_side_failed(void *ctx, const char *reason)
{
    fuzz_side_t *s = ctx;
    FUZZ_CHECK(reason != NULL && reason[0] != '\0');
    s->n_failed++;
}

static void fuzz_side_closed(void *ctx)
{
    fuzz_side_t *s = ctx;
    s->n_closed++;
}

static void fuzz_side_data(void *ctx, const uint8_t *d, size_t len)
{
    (void)ctx;
    FUZZ_CHECK(d != NULL && len > 0);
}

static const sb_dtls_ops_t fuzz_side_ops = {
    .send = fuzz_side_send,
    .on_connected = fuzz_side_connected,
    .on_failed = fuzz_side_failed,
    .on_closed = fuzz_side_closed,
    .on_data = fuzz_side_data,
};

void fuzz_split_fp(const char *fp, char *hash, size_t hash_cap, char *hex, size_t hex_cap)
{
    const char *sp = strchr(fp, ' ');
    FUZZ_CHECK(sp != NULL && (size_t)(sp - fp) < hash_cap && strlen(sp + 1) < hex_cap);
    memcpy(hash, fp, (size_t)(sp - fp));
    hash[sp - fp] = '\0';
    strcpy(hex, sp + 1);
}

void fuzz_side_make(fuzz_side_t *s, const sb_cert_t *mine, const sb_cert_t *theirs,
                    sb_dtls_role_t role)
{
    char hash[16], hex[SB_CERT_FP_MAX_TEXT];
    fuzz_split_fp(sb_cert_fingerprint(theirs), hash, sizeof(hash), hex, sizeof(hex));
    memset(s, 0, sizeof(*s));
    FUZZ_CHECK(sb_dtls_new(mine, role, hash, hex, &fuzz_side_ops, s, &s->d) == 0);
}

void fuzz_side_free(fuzz_side_t *s)
{
    sb_dtls_free(s->d);
    s->d = NULL;
}

/* Everything from->out holds goes to `to` (a snapshot: what `to` sends back waits). */
unsigned fuzz_deliver(fuzz_side_t *from, fuzz_side_t *to)
{
    static fuzz_queue_t snap;
    unsigned n = from->out.n;
    memcpy(snap.q, from->out.q, sizeof(snap.q[0]) * n);
    from->out.n = 0;
    for (unsigned i = 0; i < n; i++) {
        int rc = sb_dtls_handle(to->d, snap.q[i].data, snap.q[i].len);
        /* Genuine datagrams are DTLS: never refused as not-DTLS. */
        FUZZ_CHECK(rc == 0 || rc == SB_ESTATE);
    }
    return n;
}

unsigned fuzz_pump(fuzz_side_t *a, fuzz_side_t *b, unsigned rounds)
{
    unsigned total = 0;
    for (unsigned r = 0; r < rounds && (a->out.n || b->out.n); r++) {
        total += fuzz_deliver(a, b);
        total += fuzz_deliver(b, a);
    }
    return total;
}
