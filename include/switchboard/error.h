/* Error codes: functions return 0 or a negative SB_E* value (errno style). Any thread;
 * sb_strerror's text is static (never freed). */
#ifndef SWITCHBOARD_ERROR_H
#define SWITCHBOARD_ERROR_H

enum {
    SB_OK = 0,
    SB_EINVAL = -22,    /* malformed or out-of-range input */
    SB_ENOMEM = -12,    /* a bound was reached (allocation itself aborts) */
    SB_ENOENT = -2,     /* unknown id or name */
    SB_EEXIST = -17,    /* already there */
    SB_EAGAIN = -11,    /* not now: retry later or wait for more input */
    SB_EPROTO = -71,    /* protocol violation by the peer */
    SB_ENOTSUP = -95,   /* valid but not supported */
    SB_ERANGE = -34,    /* too big for the buffer or the bound */
    SB_EIO = -5,        /* the underlying library failed */
    SB_EPERM = -1,      /* not allowed (auth) */
    SB_ESTATE = -1000,  /* wrong state for this call */
};

/* Static text for an SB_E* code. */
const char *sb_strerror(int err);

#endif
