/* TLS credentials for HTTPS and WSS (see tls.h). A credential handed to a handshake must
 * outlive that handshake (GnuTLS uses the chain and key only while handshaking, and
 * libmicrohttpd refuses renegotiation), so a reload retires the old one instead of freeing
 * it; retired credentials are freed once older than any handshake can be: the watchdog
 * below ends a handshake after 10 s. */
#include "api/tls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"

#define SB_TLS_MAX_CHAIN 8
#define SB_TLS_RETIRED_KEEP_US (600 * 1000000LL) /* far past any handshake */

typedef struct sb_tls_creds {
    gnutls_pcert_st chain[SB_TLS_MAX_CHAIN];
    unsigned nchain;
    gnutls_privkey_t key;
    int64_t retired_us;
    struct sb_tls_creds *next_retired;
} sb_tls_creds_t;

static struct {
    pthread_mutex_t lock; /* guards current[] against the listeners' threads */
    sb_tls_creds_t *current[SB_TLS_NSLOTS];
    sb_tls_creds_t *retired;
    char *cert_file, *key_file;
} sb_tls = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void sb_tls_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static void sb_tls_creds_free(sb_tls_creds_t *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nchain; i++)
        gnutls_pcert_deinit(&c->chain[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    sb_free(c);
}

/* The leaf certificate must be valid now: an expired one would only fail every browser. */
static int sb_tls_check_validity(const gnutls_datum_t *der, const char *file, char *err,
                                 size_t err_len)
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0) {
        sb_tls_err(err, err_len, "%s: GnuTLS cannot allocate a certificate", file);
        return SB_ENOMEM;
    }
    int rc = 0;
    time_t now = time(NULL);
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
        sb_tls_err(err, err_len, "%s: certificate cannot be parsed", file);
        rc = SB_EINVAL;
    } else if (gnutls_x509_crt_get_expiration_time(crt) < now) {
        sb_tls_err(err, err_len, "%s: certificate expired", file);
        rc = SB_EINVAL;
    } else if (gnutls_x509_crt_get_activation_time(crt) > now) {
        sb_tls_err(err, err_len, "%s: certificate not valid yet", file);
        rc = SB_EINVAL;
    }
    gnutls_x509_crt_deinit(crt);
    return rc;
}

/* Whether key is the private key of the certificate's public key. */
static bool sb_tls_key_matches(gnutls_privkey_t key, gnutls_pubkey_t cert_pub)
{
    gnutls_pubkey_t pub;
    if (gnutls_pubkey_init(&pub) < 0)
        return false;
    unsigned char a[64], b[64];
    size_t alen = sizeof(a), blen = sizeof(b);
    bool same = gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
                gnutls_pubkey_get_key_id(pub, 0, a, &alen) == 0 &&
                gnutls_pubkey_get_key_id(cert_pub, 0, b, &blen) == 0 && alen == blen &&
                !memcmp(a, b, alen);
    gnutls_pubkey_deinit(pub);
    return same;
}

/* One credential from the files' contents (read once for every slot, so a renewal that
 * lands between two reads cannot give the listeners different certificates). */
static sb_tls_creds_t *sb_tls_creds_import(const gnutls_datum_t *cert, const gnutls_datum_t *key,
                                           const char *cert_file, const char *key_file, char *err,
                                           size_t err_len)
{
    sb_tls_creds_t *c = SB_NEW(sb_tls_creds_t);
    c->nchain = SB_TLS_MAX_CHAIN;
    int rc = gnutls_pcert_list_import_x509_raw(c->chain, &c->nchain, cert, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || c->nchain == 0) {
        c->nchain = 0;
        sb_tls_err(err, err_len, "%s: no PEM certificate in it (%s)", cert_file,
                   gnutls_strerror(rc));
        goto fail;
    }
    if (sb_tls_check_validity(&c->chain[0].cert, cert_file, err, err_len) < 0)
        goto fail;
    if (gnutls_privkey_init(&c->key) < 0) {
        sb_tls_err(err, err_len, "%s: GnuTLS cannot allocate a key", key_file);
        goto fail;
    }
    rc = gnutls_privkey_import_x509_raw(c->key, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        sb_tls_err(err, err_len, "%s: no unencrypted PEM private key in it (%s)", key_file,
                   gnutls_strerror(rc));
        goto fail;
    }
    if (!sb_tls_key_matches(c->key, c->chain[0].pubkey)) {
        sb_tls_err(err, err_len, "%s is not the private key of the certificate in %s", key_file,
                   cert_file);
        goto fail;
    }
    return c;
fail:
    sb_tls_creds_free(c);
    return NULL;
}

/* Free retired credentials no handshake can still use. Main thread. */
static void sb_tls_sweep_retired(int64_t now_us)
{
    sb_tls_creds_t **p = &sb_tls.retired;
    while (*p) {
        if (now_us - (*p)->retired_us > SB_TLS_RETIRED_KEEP_US) {
            sb_tls_creds_t *dead = *p;
            *p = dead->next_retired;
            sb_tls_creds_free(dead);
        } else {
            p = &(*p)->next_retired;
        }
    }
}

int sb_tls_load(const char *cert_file, const char *key_file, char *err, size_t err_len)
{
    gnutls_datum_t cert = {0}, key = {0};
    sb_tls_creds_t *fresh[SB_TLS_NSLOTS] = {0};
    int rc = SB_EINVAL;
    err[0] = '\0';
    if (gnutls_load_file(cert_file, &cert) < 0)
        sb_tls_err(err, err_len, "%s: cannot read the certificate file", cert_file);
    else if (gnutls_load_file(key_file, &key) < 0)
        sb_tls_err(err, err_len, "%s: cannot read the key file", key_file);
    else
        rc = 0;
    for (int i = 0; rc == 0 && i < SB_TLS_NSLOTS; i++) {
        fresh[i] = sb_tls_creds_import(&cert, &key, cert_file, key_file, err, err_len);
        if (!fresh[i])
            rc = SB_EINVAL;
    }
    gnutls_free(cert.data);
    if (key.data) {
        gnutls_memset(key.data, 0, key.size);
        gnutls_free(key.data);
    }
    if (rc < 0) {
        for (int i = 0; i < SB_TLS_NSLOTS; i++)
            sb_tls_creds_free(fresh[i]);
        return rc;
    }
    int64_t now = sb_now_us();
    sb_tls_sweep_retired(now);
    pthread_mutex_lock(&sb_tls.lock);
    for (int i = 0; i < SB_TLS_NSLOTS; i++) {
        sb_tls_creds_t *old = sb_tls.current[i];
        sb_tls.current[i] = fresh[i];
        if (old) {
            old->retired_us = now;
            old->next_retired = sb_tls.retired;
            sb_tls.retired = old;
        }
    }
    pthread_mutex_unlock(&sb_tls.lock);
    if (sb_tls.cert_file != cert_file) {
        char *c = sb_strdup(cert_file), *k = sb_strdup(key_file);
        sb_free(sb_tls.cert_file);
        sb_free(sb_tls.key_file);
        sb_tls.cert_file = c;
        sb_tls.key_file = k;
    }
    return 0;
}

bool sb_tls_ready(void)
{
    return sb_tls.current[0] != NULL;
}

int sb_tls_reload(void)
{
    if (!sb_tls.cert_file)
        return 0;
    char err[256];
    int rc = sb_tls_load(sb_tls.cert_file, sb_tls.key_file, err, sizeof(err));
    if (rc < 0)
        SB_ERROR("tls", "certificate not reloaded, the old one stays: %s", err);
    else
        SB_INFO("tls", "certificate reloaded from %s", sb_tls.cert_file);
    return rc;
}

static int sb_tls_retrieve(sb_tls_slot_t slot, gnutls_pcert_st **pcert, unsigned int *pcert_length,
                           gnutls_privkey_t *privkey)
{
    pthread_mutex_lock(&sb_tls.lock);
    sb_tls_creds_t *c = sb_tls.current[slot];
    pthread_mutex_unlock(&sb_tls.lock);
    if (!c)
        return -1;
    *pcert = c->chain;
    *pcert_length = c->nchain;
    *privkey = c->key;
    return 0;
}

/* gnutls_certificate_retrieve_function2 carries no user pointer: one trampoline per slot. */
#define SB_TLS_TRAMPOLINE(name, slot)                                                              \
    static int name(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,               \
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,                    \
                    gnutls_pcert_st **pcert, unsigned int *pcert_length,                           \
                    gnutls_privkey_t *privkey)                                                     \
    {                                                                                              \
        (void)s, (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;             \
        return sb_tls_retrieve(slot, pcert, pcert_length, privkey);                                \
    }
SB_TLS_TRAMPOLINE(sb_tls_retrieve_https, SB_TLS_HTTPS)
SB_TLS_TRAMPOLINE(sb_tls_retrieve_wss, SB_TLS_WSS)

/* ---- the handshake watchdog ----
 * MHD's idle timeout does not reach a TLS connection still in its handshake: bytes that
 * GnuTLS cannot reject yet (an incomplete record) would hold the slot until the peer
 * leaves. Each TLS connection is listed from its accept to its first request; the main
 * thread shuts down the sockets of those listed too long, and MHD then closes them on its
 * own thread. The list lock orders the shutdown before MHD's close of the descriptor. */

typedef struct sb_tls_pending {
    struct sb_tls_pending *prev, *next;
    int fd;
    int64_t since_us;
    bool cut; /* shut down once already */
} sb_tls_pending_t;

static struct {
    pthread_mutex_t lock;
    sb_tls_pending_t *head;
    unsigned long long cut_total;
} sb_tls_wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void sb_tls_pending_unlink(sb_tls_pending_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (sb_tls_wd.head == p)
        sb_tls_wd.head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

static void sb_tls_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
            return;
        sb_tls_pending_t *p = SB_NEW(sb_tls_pending_t);
        p->fd = info->connect_fd;
        p->since_us = sb_now_us();
        pthread_mutex_lock(&sb_tls_wd.lock);
        p->next = sb_tls_wd.head;
        if (p->next)
            p->next->prev = p;
        sb_tls_wd.head = p;
        pthread_mutex_unlock(&sb_tls_wd.lock);
        *socket_context = p;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        sb_tls_pending_t *p = *socket_context;
        pthread_mutex_lock(&sb_tls_wd.lock);
        if (p->fd >= 0)
            sb_tls_pending_unlink(p);
        pthread_mutex_unlock(&sb_tls_wd.lock);
        sb_free(p);
        *socket_context = NULL;
    }
}

void sb_tls_request_started(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    sb_tls_pending_t *p = info ? info->socket_context : NULL;
    if (!p || p->fd < 0)
        return; /* plain listener, or a later request */
    pthread_mutex_lock(&sb_tls_wd.lock);
    sb_tls_pending_unlink(p);
    p->fd = -1;
    pthread_mutex_unlock(&sb_tls_wd.lock);
}

void sb_tls_tick(int64_t now_us)
{
    pthread_mutex_lock(&sb_tls_wd.lock);
    for (sb_tls_pending_t *p = sb_tls_wd.head; p; p = p->next) {
        if (!p->cut && now_us - p->since_us > SB_TLS_HANDSHAKE_TIMEOUT_S * 1000000LL) {
            shutdown(p->fd, SHUT_RDWR); /* MHD sees the end and closes it */
            p->cut = true;
            sb_tls_wd.cut_total++;
        }
    }
    pthread_mutex_unlock(&sb_tls_wd.lock);
}

unsigned long long sb_tls_handshakes_cut(void)
{
    pthread_mutex_lock(&sb_tls_wd.lock);
    unsigned long long n = sb_tls_wd.cut_total;
    pthread_mutex_unlock(&sb_tls_wd.lock);
    return n;
}

const struct MHD_OptionItem *sb_tls_mhd_options(sb_tls_slot_t slot)
{
#define SB_TLS_OPTIONS(callback)                                                                   \
    {                                                                                              \
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)(callback)},                                   \
            {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)SB_TLS_PRIORITIES},                           \
            {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)sb_tls_on_connection, NULL},                  \
            {MHD_OPTION_END, 0, NULL},                                                             \
    }
    static const struct MHD_OptionItem https[] = SB_TLS_OPTIONS(sb_tls_retrieve_https);
    static const struct MHD_OptionItem wss[] = SB_TLS_OPTIONS(sb_tls_retrieve_wss);
#undef SB_TLS_OPTIONS
    return slot == SB_TLS_WSS ? wss : https;
}

void sb_tls_deinit(void)
{
    for (int i = 0; i < SB_TLS_NSLOTS; i++) {
        sb_tls_creds_free(sb_tls.current[i]);
        sb_tls.current[i] = NULL;
    }
    sb_tls_sweep_retired(INT64_MAX); /* everything */
    sb_free(sb_tls.cert_file);
    sb_free(sb_tls.key_file);
    sb_tls.cert_file = sb_tls.key_file = NULL;
}
