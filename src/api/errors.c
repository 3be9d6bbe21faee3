/* Error table of the Janus API (see errors.h). */
#include "api/errors.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int code;
    const char *text;
} sb_api_errors[] = {
    {SB_API_ERR_UNAUTHORIZED, "Unauthorized request (wrong or missing secret/token)"},
    {SB_API_ERR_UNAUTHORIZED_PLUGIN, "Unauthorized access to plugin (token is not allowed to)"},
    {SB_API_ERR_TRANSPORT_SPECIFIC, "Transport specific error"},
    {SB_API_ERR_MISSING_REQUEST, "Missing request"},
    {SB_API_ERR_UNKNOWN_REQUEST, "Unknown request"},
    {SB_API_ERR_INVALID_JSON, "Invalid JSON"},
    {SB_API_ERR_INVALID_JSON_OBJECT, "Invalid JSON Object"},
    {SB_API_ERR_MISSING_MANDATORY_ELEMENT, "Missing mandatory element"},
    {SB_API_ERR_INVALID_REQUEST_PATH, "Invalid path for this request"},
    {SB_API_ERR_SESSION_NOT_FOUND, "Session not found"},
    {SB_API_ERR_HANDLE_NOT_FOUND, "Handle not found"},
    {SB_API_ERR_PLUGIN_NOT_FOUND, "Plugin not found"},
    {SB_API_ERR_PLUGIN_ATTACH, "Error attaching plugin"},
    {SB_API_ERR_PLUGIN_MESSAGE, "Error sending message to plugin"},
    {SB_API_ERR_PLUGIN_DETACH, "Error detaching from plugin"},
    {SB_API_ERR_JSEP_UNKNOWN_TYPE, "Unsupported JSEP type"},
    {SB_API_ERR_JSEP_INVALID_SDP, "Invalid SDP"},
    {SB_API_ERR_TRICKLE_INVALID_STREAM, "Invalid stream"},
    {SB_API_ERR_INVALID_ELEMENT_TYPE, "Invalid element type"},
    {SB_API_ERR_SESSION_CONFLICT, "Session ID already in use"},
    {SB_API_ERR_UNEXPECTED_ANSWER, "Unexpected ANSWER (no OFFER)"},
    {SB_API_ERR_TOKEN_NOT_FOUND, "Token not found"},
    {SB_API_ERR_WEBRTC_STATE, "Wrong WebRTC state"},
    {SB_API_ERR_NOT_ACCEPTING_SESSIONS, "Currently not accepting new sessions"},
    {SB_API_ERR_TOO_MANY_REQUESTS, "Too many requests"},
    {SB_API_ERR_UNKNOWN, "Unknown error"},
};

const char *sb_api_error_text(int code)
{
    for (size_t i = 0; i < sizeof(sb_api_errors) / sizeof(sb_api_errors[0]); i++) {
        if (sb_api_errors[i].code == code)
            return sb_api_errors[i].text;
    }
    return "Unknown error";
}

json_t *sb_api_error(uint64_t session_id, const char *transaction, int code,
                     const char *reason_fmt, ...)
{
    char reason[512];
    if (reason_fmt) {
        va_list ap;
        va_start(ap, reason_fmt);
        vsnprintf(reason, sizeof(reason), reason_fmt, ap);
        va_end(ap);
    } else {
        snprintf(reason, sizeof(reason), "%s", sb_api_error_text(code));
    }
    /* A reason truncated inside a UTF-8 sequence is not a valid JSON string: fall back. */
    json_t *text = json_string(reason);
    if (!text)
        text = json_string(sb_api_error_text(code));
    json_t *err = json_pack("{s:s, s:{s:i, s:o}}", "janus", "error", "error", "code", code,
                            "reason", text);
    if (session_id)
        json_object_set_new(err, "session_id", json_integer((json_int_t)session_id));
    if (transaction)
        json_object_set_new(err, "transaction", json_string(transaction));
    return err;
}
