/* TLS credentials for the HTTPS and WSS listeners (GnuTLS, as libmicrohttpd uses it): the
 * certificate chain and key read from PEM files, checked (key matches the certificate, the
 * certificate valid now), handed to each TLS handshake through a certificate callback, and
 * re-read on demand (SIGHUP) without touching connections already up.
 *
 * Each listener has its own slot, so a credential is only ever used by that listener's one
 * thread. sb_tls_load and sb_tls_reload run on the main thread; the callbacks on the
 * listeners' threads. */
#ifndef SB_API_TLS_H
#define SB_API_TLS_H

#include <stdbool.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SB_TLS_HTTPS, SB_TLS_WSS, SB_TLS_NSLOTS } sb_tls_slot_t;

/* Read cert_file and key_file into every slot. 0, or SB_EINVAL with a one-line reason in err
 * (unreadable file, not PEM, key not the certificate's, certificate expired or not yet
 * valid). On error, the slots keep what they had. */
int sb_tls_load(const char *cert_file, const char *key_file, char *err, size_t err_len);

/* Whether sb_tls_load succeeded once. */
bool sb_tls_ready(void);

/* The same files again (SIGHUP): new handshakes get the new certificate, connections up keep
 * theirs. On error the old certificate stays and the reason is logged. */
int sb_tls_reload(void);

/* What a TLS listener of slot passes to MHD_start_daemon as its MHD_OPTION_ARRAY (with
 * MHD_USE_TLS): the certificate callback, SB_TLS_PRIORITIES and the handshake watchdog.
 * Static, terminated by MHD_OPTION_END. */
const struct MHD_OptionItem *sb_tls_mhd_options(sb_tls_slot_t slot);

/* A TLS connection has this long from its accept to its first request (handshake
 * included); then its socket is shut down. sb_tls_mhd_options installs the watchdog; call
 * sb_tls_request_started from the listeners' request handlers (any listener: it does nothing
 * for a plain one) and sb_tls_tick from the main thread. */
#define SB_TLS_HANDSHAKE_TIMEOUT_S 10
void sb_tls_request_started(struct MHD_Connection *conn);
void sb_tls_tick(int64_t now_us);
/* Connections cut by the watchdog so far. Any thread. */
unsigned long long sb_tls_handshakes_cut(void);

/* TLS versions and ciphers offered (MHD_OPTION_HTTPS_PRIORITIES). */
#define SB_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Free everything, after the listeners stopped. */
void sb_tls_deinit(void);

#endif
