/* The Janus API error codes (apierror.h of the reference) and their texts, in one table. */
#ifndef SB_API_ERRORS_H
#define SB_API_ERRORS_H

#include <jansson.h>
#include <stdint.h>

enum sb_api_error_code {
    SB_API_ERR_UNAUTHORIZED = 403,
    SB_API_ERR_UNAUTHORIZED_PLUGIN = 405,
    SB_API_ERR_TOO_MANY_REQUESTS = 429, /* ours (HTTP's code): a per-client rate limit */
    SB_API_ERR_TRANSPORT_SPECIFIC = 450,
    SB_API_ERR_MISSING_REQUEST = 452,
    SB_API_ERR_UNKNOWN_REQUEST = 453,
    SB_API_ERR_INVALID_JSON = 454,
    SB_API_ERR_INVALID_JSON_OBJECT = 455,
    SB_API_ERR_MISSING_MANDATORY_ELEMENT = 456,
    SB_API_ERR_INVALID_REQUEST_PATH = 457,
    SB_API_ERR_SESSION_NOT_FOUND = 458,
    SB_API_ERR_HANDLE_NOT_FOUND = 459,
    SB_API_ERR_PLUGIN_NOT_FOUND = 460,
    SB_API_ERR_PLUGIN_ATTACH = 461,
    SB_API_ERR_PLUGIN_MESSAGE = 462,
    SB_API_ERR_PLUGIN_DETACH = 463,
    SB_API_ERR_JSEP_UNKNOWN_TYPE = 464,
    SB_API_ERR_JSEP_INVALID_SDP = 465,
    SB_API_ERR_TRICKLE_INVALID_STREAM = 466,
    SB_API_ERR_INVALID_ELEMENT_TYPE = 467,
    SB_API_ERR_SESSION_CONFLICT = 468,
    SB_API_ERR_UNEXPECTED_ANSWER = 469,
    SB_API_ERR_TOKEN_NOT_FOUND = 470,
    SB_API_ERR_WEBRTC_STATE = 471,
    SB_API_ERR_NOT_ACCEPTING_SESSIONS = 472,
    SB_API_ERR_UNKNOWN = 490,
};

/* Generic text of a code ("Unknown error" for codes outside the table). */
const char *sb_api_error_text(int code);

/* {"janus":"error","session_id"?,"transaction"?,"error":{"code","reason"}}: owned.
 * reason_fmt NULL uses the generic text. session_id 0 and transaction NULL are omitted. */
json_t *sb_api_error(uint64_t session_id, const char *transaction, int code,
                     const char *reason_fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
