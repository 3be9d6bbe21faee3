/* JSEP checks (see jsep.h): shape, type, and an SDP that parses. */
#include "api/jsep.h"

#include <stdio.h>
#include <string.h>

#include "api/errors.h"
#include "proto/sdp.h"

int sb_jsep_validate(json_t *jsep, char *reason, size_t reason_len)
{
    if (!jsep)
        return 0;
    if (!json_is_object(jsep)) {
        snprintf(reason, reason_len, "Invalid element type (jsep should be an object)");
        return SB_API_ERR_INVALID_ELEMENT_TYPE;
    }
    json_t *type = json_object_get(jsep, "type");
    json_t *sdp = json_object_get(jsep, "sdp");
    if (!type) {
        snprintf(reason, reason_len, "Missing mandatory element (type)");
        return SB_API_ERR_MISSING_MANDATORY_ELEMENT;
    }
    if (!json_is_string(type)) {
        snprintf(reason, reason_len, "Invalid element type (type should be a string)");
        return SB_API_ERR_INVALID_ELEMENT_TYPE;
    }
    const char *t = json_string_value(type);
    if (strcmp(t, "offer") && strcmp(t, "answer")) {
        snprintf(reason, reason_len, "JSEP error: unknown message type '%.64s'", t);
        return SB_API_ERR_JSEP_UNKNOWN_TYPE;
    }
    if (!sdp) {
        snprintf(reason, reason_len, "Missing mandatory element (sdp)");
        return SB_API_ERR_MISSING_MANDATORY_ELEMENT;
    }
    if (!json_is_string(sdp)) {
        snprintf(reason, reason_len, "Invalid element type (sdp should be a string)");
        return SB_API_ERR_INVALID_ELEMENT_TYPE;
    }
    size_t len = json_string_length(sdp);
    if (len == 0 || len > SB_JSEP_MAX_SDP) {
        snprintf(reason, reason_len, "JSEP error: SDP %s", len ? "too large" : "empty");
        return SB_API_ERR_JSEP_INVALID_SDP;
    }
    if (strlen(json_string_value(sdp)) != len) {
        snprintf(reason, reason_len, "JSEP error: SDP contains a NUL byte");
        return SB_API_ERR_JSEP_INVALID_SDP;
    }
    /* Parse once here so a hostile SDP gets its 465 with a reason at once, before any
     * plugin or PeerConnection sees it (the media plane parses it again to use it). */
    sb_sdp_t *parsed = NULL;
    char why[200] = "";
    if (sb_sdp_parse(json_string_value(sdp), len, &parsed, why, sizeof(why)) < 0) {
        snprintf(reason, reason_len, "JSEP error: invalid SDP (%s)", why);
        return SB_API_ERR_JSEP_INVALID_SDP;
    }
    sb_sdp_free(parsed);
    json_t *trickle = json_object_get(jsep, "trickle");
    if (trickle && !json_is_boolean(trickle)) {
        snprintf(reason, reason_len, "Invalid element type (trickle should be a boolean)");
        return SB_API_ERR_INVALID_ELEMENT_TYPE;
    }
    return 0;
}
