/* DTLS-SRTP endpoint: OpenSSL DTLS 1.2 over an in-memory BIO, sans-IO (see dtls.h).
 *
 * I/O goes through one BIO of our own instead of a pair of BIO_s_mem: OpenSSL packs the
 * records of a flight into the write BIO up to the MTU (it asks BIO_CTRL_WPENDING) and marks
 * each datagram boundary with BIO_flush, which a plain memory BIO would lose; our BIO sends
 * exactly one datagram per flush (never more than the MTU) and reads exactly one datagram per
 * sb_dtls_handle. The SSL_CTX is the cert's and stays read-only; everything per connection
 * (verification, SRTP profiles, MTU, timer) is set on the SSL.
 * What it does not do: demultiplex (the peer layer does, RFC 7983), own timers or sockets,
 * renegotiate, resume sessions, or carry application data beyond handing it to on_data.
 *
 * Thread: one endpoint per peer, on the peer's media loop; the BIO method is global, created
 * under a lock and released by sb_dtls_global_deinit(). */
#include "proto/dtls.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_DTLS_MIN_MTU 256
#define SB_DTLS_MAX_MTU 16384
#define SB_DTLS_MAX_DATAGRAM 65535
#define SB_DTLS_RECORD_HEADER 13                     /* RFC 6347 §4.1 */
#define SB_DTLS_EXPORTER_LABEL "EXTRACTOR-dtls_srtp" /* RFC 5764 §4.2 */

struct sb_dtls {
    SSL *ssl;
    const sb_dtls_ops_t *ops;
    void *ctx;
    sb_dtls_role_t role;
    sb_dtls_state_t state;
    sb_srtp_profile_t profile;
    bool started;
    bool fp_set;
    bool fp_mismatch; /* the verify callback rejected the remote certificate */
    bool deadline_set;
    bool alert_grace_set;
    bool alert_seen;     /* an unencrypted alert arrived (and was dropped) mid-handshake */
    int64_t deadline_us; /* handshake deadline, in the caller's time base */
    sb_cert_fp_t remote_fp;
    /* The datagram being fed by sb_dtls_handle, read once by the BIO. */
    const uint8_t *in;
    size_t in_len;
    /* Records of the datagram being assembled; sent on flush or when the next won't fit. */
    uint8_t *out;
    size_t out_len;
    size_t mtu;
    uint64_t dropped;
};

static pthread_mutex_t sb_dtls_lock = PTHREAD_MUTEX_INITIALIZER;
static BIO_METHOD *sb_dtls_bio_method;

/* --- the BIO ---------------------------------------------------------------------------- */

static void sb_dtls_flush(sb_dtls_t *d)
{
    if (d->out_len == 0)
        return;
    size_t n = d->out_len;
    d->out_len = 0;
    d->ops->send(d->ctx, d->out, n);
}

static int sb_dtls_bio_write(BIO *b, const char *data, int len)
{
    sb_dtls_t *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0 || !d)
        return 0;
    size_t n = (size_t)len;
    if (d->out_len + n > d->mtu)
        sb_dtls_flush(d);
    if (n > d->mtu) {
        /* Only if OpenSSL ever writes one record larger than the MTU: send it alone. */
        d->ops->send(d->ctx, (const uint8_t *)data, n);
        return len;
    }
    memcpy(d->out + d->out_len, data, n);
    d->out_len += n;
    return len;
}

static int sb_dtls_bio_read(BIO *b, char *buf, int size)
{
    sb_dtls_t *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || !d->in) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* One datagram per read: DTLS must see datagram boundaries (RFC 6347 §4.1.1). A datagram
     * bigger than OpenSSL's buffer is truncated and then discarded as a bad record. */
    size_t n = d->in_len < (size_t)size ? d->in_len : (size_t)size;
    memcpy(buf, d->in, n);
    d->in = NULL;
    d->in_len = 0;
    return (int)n;
}

static long sb_dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    sb_dtls_t *d = BIO_get_data(b);
    if (!d)
        return 0;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        sb_dtls_flush(d);
        return 1;
    case BIO_CTRL_WPENDING:
        return (long)d->out_len;
    case BIO_CTRL_PENDING:
        return d->in ? (long)d->in_len : 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
        return (long)d->mtu;
    default:
        /* Includes BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: our MTU already is the UDP payload. */
        return 0;
    }
}

static int sb_dtls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int sb_dtls_bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static BIO_METHOD *sb_dtls_bio_method_get(void)
{
    pthread_mutex_lock(&sb_dtls_lock);
    if (!sb_dtls_bio_method) {
        int idx = BIO_get_new_index();
        BIO_METHOD *m = idx > 0 ? BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK, "sb_dtls") : NULL;
        if (m && BIO_meth_set_write(m, sb_dtls_bio_write) &&
            BIO_meth_set_read(m, sb_dtls_bio_read) && BIO_meth_set_ctrl(m, sb_dtls_bio_ctrl) &&
            BIO_meth_set_create(m, sb_dtls_bio_create) &&
            BIO_meth_set_destroy(m, sb_dtls_bio_destroy))
            sb_dtls_bio_method = m;
        else
            BIO_meth_free(m);
    }
    BIO_METHOD *m = sb_dtls_bio_method;
    pthread_mutex_unlock(&sb_dtls_lock);
    return m;
}

void sb_dtls_global_deinit(void)
{
    pthread_mutex_lock(&sb_dtls_lock);
    BIO_meth_free(sb_dtls_bio_method);
    sb_dtls_bio_method = NULL;
    pthread_mutex_unlock(&sb_dtls_lock);
}

/* --- OpenSSL callbacks -------------------------------------------------------------------- */

/* Retransmission timer (RFC 6347 §4.2.4.1 doubles from 1 s): we start lower because loss on a
 * freshly selected ICE path is common and a lost flight otherwise costs a whole second. */
static unsigned int sb_dtls_timer_cb(SSL *ssl, unsigned int prev_us)
{
    (void)ssl;
    if (prev_us == 0)
        return SB_DTLS_INITIAL_RTO_US;
    unsigned int next = prev_us * 2;
    return next > SB_DTLS_MAX_RTO_US ? SB_DTLS_MAX_RTO_US : next;
}

/* Certificates are self-signed: no chain is trusted. The only check is that the leaf's digest
 * equals the remote a=fingerprint (RFC 8122 §5); rejecting here makes OpenSSL send a
 * bad_certificate alert, so the remote fails too. */
static int sb_dtls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    sb_dtls_t *d = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!d)
        return 0;
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    if (d->fp_set && leaf && sb_cert_fp_matches(leaf, &d->remote_fp)) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    d->fp_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* --- screening records before OpenSSL ---------------------------------------------------- */

/* OpenSSL 3 treats some records that fail to authenticate as fatal instead of discarding them
 * (RFC 6347 §4.1.2.7 says to discard): an epoch-1 record shorter than the AEAD nonce + tag
 * (the TLS1_AAD control fails and the record layer raises internal_error), any record longer
 * than SSL3_RT_MAX_ENCRYPTED_LENGTH, an unknown content type, a change_cipher_spec that is not
 * one byte. Unencrypted (epoch 0) alerts and application data are never genuine in DTLS-SRTP
 * worth acting on: a forged one would abort a handshake. Anyone who can spoof the client's
 * address could end a call with one such datagram, so they never reach OpenSSL. Legitimate
 * datagrams never contain them; a datagram with one is dropped whole and counted. */
#define SB_DTLS_CT_CCS 20
#define SB_DTLS_CT_ALERT 21
#define SB_DTLS_CT_APPDATA 23
#define SB_DTLS_MAX_RECORD_BODY (16384 + 2048) /* SSL3_RT_MAX_ENCRYPTED_LENGTH */

/* Smallest body of a genuine epoch-1 record under the negotiated cipher (its AEAD nonce and
 * tag), or 0 when no cipher is known yet, so no epoch-1 record can be genuine. */
static size_t sb_dtls_min_sealed_len(const sb_dtls_t *d)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(d->ssl);
    if (!c)
        c = SSL_get_pending_cipher(d->ssl);
    if (!c)
        return 0;
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_chacha20_poly1305:
        return 16; /* tag; the nonce is implicit (RFC 7905) */
    case NID_aes_128_gcm:
    case NID_aes_256_gcm:
        return 8 + 16; /* explicit nonce + tag (RFC 5288 §3) */
    default:
        return 64; /* not negotiated (cert.c offers AEAD only): larger than any CBC minimum */
    }
}

static bool sb_dtls_record_plausible(const sb_dtls_t *d, const uint8_t *r, size_t body)
{
    uint8_t type = r[0];
    uint16_t epoch = (uint16_t)(r[3] << 8 | r[4]);
    if (type < SB_DTLS_CT_CCS || type > SB_DTLS_CT_APPDATA || body > SB_DTLS_MAX_RECORD_BODY)
        return false;
    if (epoch == 0) {
        if (type == SB_DTLS_CT_ALERT || type == SB_DTLS_CT_APPDATA)
            return false;
        return type != SB_DTLS_CT_CCS || (body == 1 && r[SB_DTLS_RECORD_HEADER] == 1);
    }
    size_t min = sb_dtls_min_sealed_len(d);
    return epoch == 1 && min > 0 && body >= min; /* no renegotiation: never epoch 2 */
}

/* True when every record of the datagram could be genuine (header complete, length within
 * the datagram, plausible as above). */
static bool sb_dtls_screen(const sb_dtls_t *d, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < SB_DTLS_RECORD_HEADER)
            return false;
        const uint8_t *r = data + off;
        size_t body = (size_t)r[11] << 8 | r[12];
        if (body > len - off - SB_DTLS_RECORD_HEADER || !sb_dtls_record_plausible(d, r, body))
            return false;
        off += SB_DTLS_RECORD_HEADER + body;
    }
    return true;
}

/* --- state changes ------------------------------------------------------------------------- */

static void sb_dtls_fail(sb_dtls_t *d, const char *reason)
{
    if (d->state == SB_DTLS_FAILED || d->state == SB_DTLS_CLOSED)
        return;
    /* A failure found after OpenSSL finished the handshake: tell the remote we are leaving. */
    if (SSL_is_init_finished(d->ssl))
        SSL_shutdown(d->ssl);
    sb_dtls_flush(d);
    ERR_clear_error();
    d->state = SB_DTLS_FAILED;
    SB_DEBUG("dtls", "%s failed: %s", d->role == SB_DTLS_CLIENT ? "client" : "server",
            reason);
    d->ops->on_failed(d->ctx, reason);
}

/* Text for the error OpenSSL just reported; static strings only (on_failed borrows it). */
static const char *sb_dtls_ssl_reason(sb_dtls_t *d, int ssl_err)
{
    if (d->fp_mismatch)
        return "remote certificate does not match the SDP fingerprint";
    if (ssl_err == SSL_ERROR_ZERO_RETURN)
        return "closed by the remote during the handshake";
    const char *r = ERR_reason_error_string(ERR_peek_last_error());
    return r ? r : "DTLS handshake error";
}

/* RFC 5764 §4.2: client key | server key | client salt | server salt. */
static int sb_dtls_export_keys(sb_dtls_t *d, sb_srtp_profile_t profile, sb_srtp_keys_t *keys)
{
    size_t kl, sl;
    if (sb_srtp_profile_lengths(profile, &kl, &sl) != 0)
        return SB_ENOTSUP;
    uint8_t m[2 * (SB_SRTP_MAX_KEY_LEN + SB_SRTP_MAX_SALT_LEN)];
    size_t total = 2 * (kl + sl);
    if (SSL_export_keying_material(d->ssl, m, total, SB_DTLS_EXPORTER_LABEL,
                                   strlen(SB_DTLS_EXPORTER_LABEL), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return SB_EIO;
    }
    const uint8_t *ck = m, *sk = m + kl, *cs = m + 2 * kl, *ss = m + 2 * kl + sl;
    bool client = d->role == SB_DTLS_CLIENT;
    memset(keys, 0, sizeof(*keys));
    keys->profile = profile;
    keys->key_len = (uint8_t)kl;
    keys->salt_len = (uint8_t)sl;
    memcpy(keys->local_key, client ? ck : sk, kl);
    memcpy(keys->local_salt, client ? cs : ss, sl);
    memcpy(keys->remote_key, client ? sk : ck, kl);
    memcpy(keys->remote_salt, client ? ss : cs, sl);
    OPENSSL_cleanse(m, sizeof(m));
    return 0;
}

static void sb_dtls_connected(sb_dtls_t *d)
{
    /* The verify callback already matched the leaf; check the certificate OpenSSL kept as well,
     * so no path can deliver keys for an unverified peer. */
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    if (!peer || !d->fp_set || !sb_cert_fp_matches(peer, &d->remote_fp)) {
        sb_dtls_fail(d, "remote certificate does not match the SDP fingerprint");
        return;
    }
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    if (!p) {
        sb_dtls_fail(d, "no SRTP profile negotiated");
        return;
    }
    sb_srtp_keys_t keys;
    if (sb_dtls_export_keys(d, (sb_srtp_profile_t)p->id, &keys) != 0) {
        sb_dtls_fail(d, "cannot export SRTP keying material");
        return;
    }
    d->state = SB_DTLS_CONNECTED;
    d->profile = keys.profile;
    SB_DEBUG("dtls", "%s connected, %s", d->role == SB_DTLS_CLIENT ? "client" : "server",
             sb_srtp_profile_name(d->profile));
    d->ops->on_connected(d->ctx, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
}

static void sb_dtls_remote_closed(sb_dtls_t *d)
{
    /* Answer close_notify with ours (RFC 5246 §7.2.1), then report. */
    ERR_clear_error();
    SSL_shutdown(d->ssl);
    sb_dtls_flush(d);
    ERR_clear_error();
    d->state = SB_DTLS_CLOSED;
    if (d->ops->on_closed)
        d->ops->on_closed(d->ctx);
}

/* After the handshake: drain records (application data, close_notify, alerts). OpenSSL
 * answers a retransmitted final flight of the remote by itself here. */
static void sb_dtls_read_app(sb_dtls_t *d)
{
    uint8_t buf[4096];
    while (d->state == SB_DTLS_CONNECTED) {
        ERR_clear_error();
        int n = SSL_read(d->ssl, buf, sizeof(buf));
        if (n > 0) {
            if (d->ops->on_data)
                d->ops->on_data(d->ctx, buf, (size_t)n);
            continue;
        }
        int err = SSL_get_error(d->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            break;
        if (err == SSL_ERROR_ZERO_RETURN)
            sb_dtls_remote_closed(d);
        else
            sb_dtls_fail(d, sb_dtls_ssl_reason(d, err));
    }
    sb_dtls_flush(d);
}

/* Runs OpenSSL on whatever is pending (a datagram in d->in, or nothing) and acts on it. */
static void sb_dtls_drive(sb_dtls_t *d)
{
    if (d->state == SB_DTLS_CONNECTING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        sb_dtls_flush(d);
        if (r == 1) {
            sb_dtls_connected(d);
        } else {
            int err = SSL_get_error(d->ssl, r);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                sb_dtls_fail(d, sb_dtls_ssl_reason(d, err));
        }
        ERR_clear_error();
    }
    if (d->state == SB_DTLS_CONNECTED)
        sb_dtls_read_app(d);
}

/* --- public API ------------------------------------------------------------------------------- */

static int sb_dtls_setup_ssl(sb_dtls_t *d, SSL_CTX *sslctx)
{
    BIO_METHOD *m = sb_dtls_bio_method_get();
    d->ssl = m ? SSL_new(sslctx) : NULL;
    BIO *bio = d->ssl ? BIO_new(m) : NULL;
    if (!bio)
        return SB_EIO;
    BIO_set_data(bio, d);
    SSL_set_bio(d->ssl, bio, bio); /* the SSL owns the single reference */
    SSL_set_app_data(d->ssl, d);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_set_verify(d->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, sb_dtls_verify_cb);
    DTLS_set_timer_cb(d->ssl, sb_dtls_timer_cb);
    if (SSL_set_tlsext_use_srtp(d->ssl, SB_DTLS_DEFAULT_PROFILES) != 0) /* 0 is success */
        return SB_EIO;
    if (sb_dtls_set_mtu(d, SB_DTLS_DEFAULT_MTU) != 0)
        return SB_EIO;
    if (d->role == SB_DTLS_CLIENT)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    return 0;
}

int sb_dtls_new(const sb_cert_t *cert, sb_dtls_role_t role, const char *remote_fp_hash,
                const char *remote_fp_hex, const sb_dtls_ops_t *ops, void *ctx, sb_dtls_t **out)
{
    *out = NULL;
    if (!cert || !ops || !ops->send || !ops->on_connected || !ops->on_failed ||
        (role != SB_DTLS_CLIENT && role != SB_DTLS_SERVER))
        return SB_EINVAL;
    sb_dtls_t *d = SB_NEW(sb_dtls_t);
    d->ops = ops;
    d->ctx = ctx;
    d->role = role;
    d->state = SB_DTLS_NEW;
    int rc = 0;
    if (remote_fp_hash || remote_fp_hex)
        rc = sb_dtls_set_remote_fingerprint(d, remote_fp_hash, remote_fp_hex);
    if (rc == 0)
        rc = sb_dtls_setup_ssl(d, sb_cert_ssl_ctx(cert));
    if (rc != 0) {
        ERR_clear_error();
        sb_dtls_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sb_dtls_free(sb_dtls_t *d)
{
    if (!d)
        return;
    SSL_free(d->ssl); /* frees the BIO too */
    sb_free(d->out);
    sb_free(d);
}

int sb_dtls_set_remote_fingerprint(sb_dtls_t *d, const char *hash, const char *hex)
{
    if (d->state != SB_DTLS_NEW)
        return SB_ESTATE;
    sb_cert_fp_t fp;
    int rc = sb_cert_fp_parse(hash, hex, &fp);
    if (rc != 0)
        return rc;
    d->remote_fp = fp;
    d->fp_set = true;
    return 0;
}

int sb_dtls_set_profiles(sb_dtls_t *d, const char *profiles)
{
    if (d->state != SB_DTLS_NEW)
        return SB_ESTATE;
    if (!profiles || SSL_set_tlsext_use_srtp(d->ssl, profiles) != 0) {
        ERR_clear_error();
        return SB_EINVAL;
    }
    return 0;
}

int sb_dtls_set_mtu(sb_dtls_t *d, size_t mtu)
{
    if (d->state != SB_DTLS_NEW)
        return SB_ESTATE;
    if (mtu < SB_DTLS_MIN_MTU || mtu > SB_DTLS_MAX_MTU)
        return SB_EINVAL;
    if (SSL_set_mtu(d->ssl, (long)mtu) <= 0 || DTLS_set_link_mtu(d->ssl, (long)mtu) != 1) {
        ERR_clear_error();
        return SB_EINVAL;
    }
    d->out = sb_realloc(d->out, mtu);
    d->mtu = mtu;
    return 0;
}

int sb_dtls_start(sb_dtls_t *d)
{
    if (d->state == SB_DTLS_FAILED || d->state == SB_DTLS_CLOSED)
        return SB_ESTATE;
    if (d->started)
        return 0;
    d->started = true;
    if (d->state == SB_DTLS_NEW)
        d->state = SB_DTLS_CONNECTING;
    if (d->role == SB_DTLS_CLIENT)
        sb_dtls_drive(d);
    return 0;
}

int sb_dtls_handle(sb_dtls_t *d, const uint8_t *data, size_t len)
{
    if (d->state == SB_DTLS_FAILED || d->state == SB_DTLS_CLOSED)
        return SB_ESTATE;
    if (!data || len < SB_DTLS_RECORD_HEADER || len > SB_DTLS_MAX_DATAGRAM || data[0] < 20 ||
        data[0] > 63)
        return SB_EINVAL;
    if (d->role == SB_DTLS_CLIENT && !d->started)
        return 0; /* nothing can legitimately precede our ClientHello */
    if (!sb_dtls_screen(d, data, len)) {
        d->dropped++;
        if (data[0] == SB_DTLS_CT_ALERT && d->state == SB_DTLS_CONNECTING)
            d->alert_seen = true;
        return 0;
    }
    /* A server answers a ClientHello as soon as it arrives, started or not. */
    if (d->state == SB_DTLS_NEW)
        d->state = SB_DTLS_CONNECTING;
    d->in = data;
    d->in_len = len;
    sb_dtls_drive(d);
    d->in = NULL;
    d->in_len = 0;
    return 0;
}

/* The handshake deadline counts from the first timer call after it began. An unencrypted
 * alert cannot end the handshake (it may be forged), but a genuine one means the remote gave
 * up: then the handshake gets only SB_DTLS_ALERT_GRACE_US more to make progress. */
static void sb_dtls_update_deadline(sb_dtls_t *d, int64_t now_us)
{
    if (!d->deadline_set) {
        d->deadline_set = true;
        d->deadline_us = now_us + SB_DTLS_HANDSHAKE_TIMEOUT_US;
    }
    if (d->alert_seen && !d->alert_grace_set) {
        d->alert_grace_set = true;
        if (d->deadline_us > now_us + SB_DTLS_ALERT_GRACE_US)
            d->deadline_us = now_us + SB_DTLS_ALERT_GRACE_US;
    }
}

int64_t sb_dtls_next_timeout_us(sb_dtls_t *d, int64_t now_us)
{
    if (d->state != SB_DTLS_CONNECTING && d->state != SB_DTLS_CONNECTED)
        return -1;
    int64_t t = -1;
    if (d->state == SB_DTLS_CONNECTING) {
        sb_dtls_update_deadline(d, now_us);
        t = d->deadline_us;
    }
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        int64_t r = now_us + (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
        if (t < 0 || r < t)
            t = r;
    }
    return t;
}

void sb_dtls_handle_timeout(sb_dtls_t *d, int64_t now_us)
{
    if (d->state != SB_DTLS_CONNECTING && d->state != SB_DTLS_CONNECTED)
        return;
    if (d->state == SB_DTLS_CONNECTING) {
        sb_dtls_update_deadline(d, now_us);
        if (now_us >= d->deadline_us) {
            sb_dtls_fail(d, d->alert_seen ? "handshake abandoned after an alert from the remote"
                                          : "handshake timed out");
            return;
        }
    }
    ERR_clear_error();
    /* Retransmits only when OpenSSL's own timer has run out; a no-op otherwise. */
    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        sb_dtls_flush(d);
        sb_dtls_fail(d, "too many retransmissions");
        return;
    }
    sb_dtls_flush(d);
    ERR_clear_error();
}

int sb_dtls_send_data(sb_dtls_t *d, const uint8_t *data, size_t len)
{
    if (d->state != SB_DTLS_CONNECTED)
        return SB_ESTATE;
    if (len == 0 || len + SB_DTLS_RECORD_OVERHEAD > d->mtu)
        return SB_EINVAL;
    ERR_clear_error();
    int n = SSL_write(d->ssl, data, (int)len);
    sb_dtls_flush(d);
    ERR_clear_error();
    return n == (int)len ? 0 : SB_EIO;
}

int sb_dtls_close(sb_dtls_t *d)
{
    if (d->state == SB_DTLS_FAILED || d->state == SB_DTLS_CLOSED)
        return SB_ESTATE;
    if (d->state == SB_DTLS_CONNECTED) {
        ERR_clear_error();
        SSL_shutdown(d->ssl); /* close_notify (RFC 5246 §7.2.1) */
        sb_dtls_flush(d);
        ERR_clear_error();
    }
    d->state = SB_DTLS_CLOSED;
    return 0;
}

sb_dtls_state_t sb_dtls_get_state(const sb_dtls_t *d)
{
    return d->state;
}

sb_dtls_role_t sb_dtls_get_role(const sb_dtls_t *d)
{
    return d->role;
}

sb_srtp_profile_t sb_dtls_get_profile(const sb_dtls_t *d)
{
    return d->state == SB_DTLS_CONNECTED ? d->profile : SB_SRTP_PROFILE_NONE;
}

uint64_t sb_dtls_get_dropped(const sb_dtls_t *d)
{
    return d->dropped;
}
