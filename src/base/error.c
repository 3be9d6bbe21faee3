/* Text for the SB_E* codes of error.h. */
#include "switchboard/error.h"

const char *sb_strerror(int err)
{
    switch (err) {
    case SB_OK: return "ok";
    case SB_EINVAL: return "invalid input";
    case SB_ENOMEM: return "limit reached";
    case SB_ENOENT: return "not found";
    case SB_EEXIST: return "already exists";
    case SB_EAGAIN: return "try again";
    case SB_EPROTO: return "protocol error";
    case SB_ENOTSUP: return "not supported";
    case SB_ERANGE: return "out of range";
    case SB_EIO: return "i/o or library failure";
    case SB_EPERM: return "not permitted";
    case SB_ESTATE: return "wrong state";
    default: return "unknown error";
    }
}
