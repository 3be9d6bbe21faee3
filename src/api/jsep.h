/* Validation of the "jsep" member of a message: {"type":"offer"|"answer","sdp":"..."}
 * with an SDP that parses (proto/sdp.h).
 * Pure function, any thread. */
#ifndef SB_API_JSEP_H
#define SB_API_JSEP_H

#include <jansson.h>
#include <stddef.h>

#define SB_JSEP_MAX_SDP (64 * 1024)

/* 0 when jsep is absent (NULL) or well formed, else the API error code (456, 464, 465,
 * 467) with a reason in reason. */
int sb_jsep_validate(json_t *jsep, char *reason, size_t reason_len);

#endif
