/* SRTP sessions: one direction of one peer, through the EVP fast path or libsrtp2.
 *
 * A session uses one implementation for RTP and RTCP alike: srtp_evp.c (every profile, the
 * default), or a libsrtp2 context, the reference, with a single wildcard policy
 * (ssrc_any_outbound or ssrc_any_inbound), a 1024-packet replay window and allow_repeat_tx,
 * so NACK retransmissions can be protected again and late ones still accepted; the EVP
 * transforms behave the same way (srtp_evp.h).
 * What it does not do: parse RTP beyond the header length, log per packet, hold buffers.
 *
 * Thread: sessions live on their peer's media loop; init/deinit are global and locked. */
#include "proto/srtp.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "proto/srtp_evp.h"

_Static_assert(SB_SRTP_MAX_KEY_LEN + SB_SRTP_MAX_SALT_LEN <= SRTP_MAX_KEY_LEN,
               "master key+salt must fit libsrtp2");

struct sb_srtp_session {
    srtp_t ctx;         /* libsrtp2, or NULL */
    sb_srtp_evp_t *evp; /* EVP, or NULL: exactly one of the two is set */
    sb_srtp_direction_t dir;
    sb_srtp_profile_t profile;
    size_t rtp_overhead, rtcp_overhead;
    sb_srtp_stats_t stats;
};

static pthread_mutex_t sb_srtp_lock = PTHREAD_MUTEX_INITIALIZER;
static bool sb_srtp_ready;

int sb_srtp_init(void)
{
    int rc = 0;
    pthread_mutex_lock(&sb_srtp_lock);
    if (!sb_srtp_ready) {
        srtp_err_status_t st = srtp_init();
        if (st == srtp_err_status_ok)
            sb_srtp_ready = true;
        else {
            SB_ERROR("srtp", "srtp_init failed (%d)", (int)st);
            rc = SB_EIO;
        }
    }
    pthread_mutex_unlock(&sb_srtp_lock);
    return rc;
}

void sb_srtp_deinit(void)
{
    pthread_mutex_lock(&sb_srtp_lock);
    if (sb_srtp_ready) {
        srtp_shutdown();
        sb_srtp_ready = false;
    }
    pthread_mutex_unlock(&sb_srtp_lock);
}

const char *sb_srtp_profile_name(sb_srtp_profile_t profile)
{
    switch (profile) {
    case SB_SRTP_AES128_CM_SHA1_80:
        return "SRTP_AES128_CM_SHA1_80";
    case SB_SRTP_AES128_CM_SHA1_32:
        return "SRTP_AES128_CM_SHA1_32";
    case SB_SRTP_AEAD_AES_128_GCM:
        return "SRTP_AEAD_AES_128_GCM";
    case SB_SRTP_AEAD_AES_256_GCM:
        return "SRTP_AEAD_AES_256_GCM";
    default:
        return "none";
    }
}

int sb_srtp_profile_lengths(sb_srtp_profile_t profile, size_t *key_len, size_t *salt_len)
{
    switch (profile) {
    case SB_SRTP_AES128_CM_SHA1_80:
    case SB_SRTP_AES128_CM_SHA1_32:
        *key_len = 16, *salt_len = 14;
        return 0;
    case SB_SRTP_AEAD_AES_128_GCM:
        *key_len = 16, *salt_len = 12;
        return 0;
    case SB_SRTP_AEAD_AES_256_GCM:
        *key_len = 32, *salt_len = 12;
        return 0;
    default:
        return SB_ENOTSUP;
    }
}

/* Our profile ids are the IANA ids, which libsrtp2's srtp_profile_t also uses. */
static int sb_srtp_policy(const sb_srtp_keys_t *keys, sb_srtp_direction_t dir,
                          uint8_t master[SRTP_MAX_KEY_LEN], srtp_policy_t *p)
{
    size_t key_len, salt_len;
    if (sb_srtp_profile_lengths(keys->profile, &key_len, &salt_len) != 0)
        return SB_ENOTSUP;
    if (keys->key_len != key_len || keys->salt_len != salt_len)
        return SB_EINVAL;
    memset(p, 0, sizeof(*p));
    srtp_profile_t prof = (srtp_profile_t)keys->profile;
    if (srtp_crypto_policy_set_from_profile_for_rtp(&p->rtp, prof) != srtp_err_status_ok ||
        srtp_crypto_policy_set_from_profile_for_rtcp(&p->rtcp, prof) != srtp_err_status_ok)
        return SB_ENOTSUP;
    bool out = dir == SB_SRTP_OUTBOUND;
    memcpy(master, out ? keys->local_key : keys->remote_key, key_len);
    memcpy(master + key_len, out ? keys->local_salt : keys->remote_salt, salt_len);
    p->key = master;
    p->ssrc.type = out ? ssrc_any_outbound : ssrc_any_inbound;
    p->window_size = SB_SRTP_REPLAY_WINDOW;
    p->allow_repeat_tx = 1;
    return 0;
}

static int sb_srtp_attach_evp(sb_srtp_session_t *s, const sb_srtp_keys_t *keys)
{
    bool in = s->dir == SB_SRTP_INBOUND;
    return sb_srtp_evp_new(keys->profile, in ? keys->remote_key : keys->local_key,
                           in ? keys->remote_salt : keys->local_salt, in, &s->evp);
}

static int sb_srtp_attach_libsrtp(sb_srtp_session_t *s, const srtp_policy_t *policy)
{
    srtp_err_status_t st = srtp_create(&s->ctx, policy);
    if (st == srtp_err_status_ok)
        return 0;
    s->ctx = NULL;
    SB_WARN("srtp", "srtp_create failed (%d) for %s", (int)st, sb_srtp_profile_name(s->profile));
    return SB_EIO;
}

int sb_srtp_session_new_impl(const sb_srtp_keys_t *keys, sb_srtp_direction_t dir,
                             sb_srtp_impl_t impl, sb_srtp_session_t **out)
{
    *out = NULL;
    uint8_t master[SRTP_MAX_KEY_LEN];
    srtp_policy_t policy;
    int rc = sb_srtp_policy(keys, dir, master, &policy);
    if (rc != 0)
        return rc;
    sb_srtp_session_t *s = SB_NEW(sb_srtp_session_t);
    s->dir = dir;
    s->profile = keys->profile;
    rc = impl == SB_SRTP_IMPL_LIBSRTP ? sb_srtp_attach_libsrtp(s, &policy)
                                      : sb_srtp_attach_evp(s, keys);
    OPENSSL_cleanse(master, sizeof(master));
    if (rc != 0)
        goto fail;
    /* The tag length is fixed per profile (libsrtp2's policy says it for both
     * implementations); SRTCP adds its 4-byte E||index word. */
    s->rtp_overhead = (size_t)policy.rtp.auth_tag_len;
    s->rtcp_overhead = (size_t)policy.rtcp.auth_tag_len + 4;
    *out = s;
    return 0;
fail:
    sb_srtp_session_free(s);
    return rc;
}

int sb_srtp_session_new(const sb_srtp_keys_t *keys, sb_srtp_direction_t dir,
                        sb_srtp_session_t **out)
{
    return sb_srtp_session_new_impl(keys, dir, SB_SRTP_IMPL_AUTO, out);
}

void sb_srtp_session_free(sb_srtp_session_t *s)
{
    if (!s)
        return;
    if (s->ctx)
        srtp_dealloc(s->ctx);
    sb_srtp_evp_free(s->evp);
    sb_free(s);
}

size_t sb_srtp_rtp_overhead(const sb_srtp_session_t *s)
{
    return s->rtp_overhead;
}

size_t sb_srtp_rtcp_overhead(const sb_srtp_session_t *s)
{
    return s->rtcp_overhead;
}

bool sb_srtp_session_uses_evp(const sb_srtp_session_t *s)
{
    return s->evp != NULL;
}

void sb_srtp_session_stats(const sb_srtp_session_t *s, sb_srtp_stats_t *out)
{
    *out = s->stats;
}

/* Maps a libsrtp2 status to SB_E* and counts it. */
static int sb_srtp_status(sb_srtp_session_t *s, srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        s->stats.auth_fail++;
        return SB_EPROTO;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        s->stats.replay_fail++;
        return SB_EPROTO;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_cant_check: /* SRTCP with E = 0 where the profile encrypts */
        s->stats.other_fail++;
        return SB_EINVAL;
    default:
        s->stats.other_fail++;
        return SB_EIO;
    }
}

/* Counts an EVP transform's result and maps it to the contract of srtp.h. */
static int sb_srtp_evp_status(sb_srtp_session_t *s, int rc, uint64_t *ok)
{
    switch (rc) {
    case 0:
        (*ok)++;
        return 0;
    case SB_EEXIST: /* a replay, or older than the window */
        s->stats.replay_fail++;
        return SB_EPROTO;
    case SB_EPROTO:
        s->stats.auth_fail++;
        return SB_EPROTO;
    case SB_ENOMEM: /* a new remote SSRC past the bound: refused like a forged one */
        s->stats.other_fail++;
        return SB_EPROTO;
    default:
        s->stats.other_fail++;
        return rc;
    }
}

/* Checks shared by every call: direction, RTP version 2 (RFC 3550 §5.1), minimum length,
 * room for the trailer, and libsrtp2's int lengths. */
static int sb_srtp_check(sb_srtp_session_t *s, sb_srtp_direction_t dir, const uint8_t *buf,
                         size_t len, size_t min_len, size_t room)
{
    if (s->dir != dir)
        return SB_ESTATE;
    if (len < min_len || (buf[0] >> 6) != 2) {
        s->stats.other_fail++;
        return SB_EINVAL;
    }
    if (len > (size_t)INT_MAX - SB_SRTP_MAX_TRAILER_LEN || room < len) {
        s->stats.other_fail++;
        return SB_ERANGE;
    }
    return 0;
}

int sb_srtp_protect_rtp(sb_srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = sb_srtp_check(s, SB_SRTP_OUTBOUND, buf, *len, 12,
                           cap >= s->rtp_overhead ? cap - s->rtp_overhead : 0);
    if (rc != 0)
        return rc;
    if (s->evp)
        return sb_srtp_evp_status(s, sb_srtp_evp_protect_rtp(s->evp, buf, len, cap),
                                  &s->stats.rtp_ok);
    int n = (int)*len;
    rc = sb_srtp_status(s, srtp_protect(s->ctx, buf, &n));
    if (rc == 0) {
        *len = (size_t)n;
        s->stats.rtp_ok++;
    }
    return rc;
}

int sb_srtp_unprotect_rtp(sb_srtp_session_t *s, uint8_t *buf, size_t *len)
{
    int rc = sb_srtp_check(s, SB_SRTP_INBOUND, buf, *len, 12 + s->rtp_overhead, *len);
    if (rc != 0)
        return rc;
    if (s->evp)
        return sb_srtp_evp_status(s, sb_srtp_evp_unprotect_rtp(s->evp, buf, len), &s->stats.rtp_ok);
    int n = (int)*len;
    rc = sb_srtp_status(s, srtp_unprotect(s->ctx, buf, &n));
    if (rc == 0) {
        *len = (size_t)n;
        s->stats.rtp_ok++;
    }
    return rc;
}

int sb_srtp_protect_rtcp(sb_srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = sb_srtp_check(s, SB_SRTP_OUTBOUND, buf, *len, 8,
                           cap >= s->rtcp_overhead ? cap - s->rtcp_overhead : 0);
    if (rc != 0)
        return rc;
    if (s->evp)
        return sb_srtp_evp_status(s, sb_srtp_evp_protect_rtcp(s->evp, buf, len, cap),
                                  &s->stats.rtcp_ok);
    int n = (int)*len;
    rc = sb_srtp_status(s, srtp_protect_rtcp(s->ctx, buf, &n));
    if (rc == 0) {
        *len = (size_t)n;
        s->stats.rtcp_ok++;
    }
    return rc;
}

int sb_srtp_unprotect_rtcp(sb_srtp_session_t *s, uint8_t *buf, size_t *len)
{
    int rc = sb_srtp_check(s, SB_SRTP_INBOUND, buf, *len, 8 + s->rtcp_overhead, *len);
    if (rc != 0)
        return rc;
    if (s->evp)
        return sb_srtp_evp_status(s, sb_srtp_evp_unprotect_rtcp(s->evp, buf, len),
                                  &s->stats.rtcp_ok);
    int n = (int)*len;
    rc = sb_srtp_status(s, srtp_unprotect_rtcp(s->ctx, buf, &n));
    if (rc == 0) {
        *len = (size_t)n;
        s->stats.rtcp_ok++;
    }
    return rc;
}
