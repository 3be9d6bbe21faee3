/* Declared checks of a request's JSON parameters: a plugin lists what a request takes
 * (name, type, required, longest string) and one call checks a body against the list, with
 * the error texts janus.js clients know from the Janus plugins:
 *   "Missing mandatory element (<name>)"                 -> SB_ENOENT
 *   "Invalid element type (<name> should be <type>)"     -> SB_EINVAL
 *   "Invalid element (<name> longer than <n> bytes)"     -> SB_EINVAL
 * The plugin maps the two codes to its own error numbers (the VideoRoom's 429 and 430).
 * Pure: any thread; the spec and the body are borrowed; err is the caller's buffer. */
#ifndef SWITCHBOARD_PARAMS_H
#define SWITCHBOARD_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum sb_param_type {
    SB_PARAM_STRING = 1,
    SB_PARAM_UINT,           /* a JSON integer >= 0 ("a positive integer", as Janus says) */
    SB_PARAM_INT,
    SB_PARAM_BOOL,
    SB_PARAM_ARRAY,
    SB_PARAM_OBJECT,
    SB_PARAM_STRING_OR_UINT, /* an id that may be either (string_ids rooms) */
} sb_param_type_t;

/* Strings longer than this are refused unless a parameter says otherwise. */
#define SB_PARAM_MAX_STRING_DEFAULT 1024

typedef struct sb_param {
    const char *name;
    sb_param_type_t type;
    bool required;
    size_t max_len; /* strings: the longest accepted, in bytes; 0: SB_PARAM_MAX_STRING_DEFAULT */
} sb_param_t;

/* "a string", "a positive integer", ...: the type as the error texts name it. */
const char *sb_param_type_text(sb_param_type_t type);
/* Whether v is of the type (lengths not checked). */
bool sb_param_type_ok(const json_t *v, sb_param_type_t type);
/* One parameter of obj; 0 when it is absent and optional. */
int sb_param_check(const json_t *obj, const sb_param_t *param, char *err, size_t err_len);
/* Every parameter of the list, in order; the first failure is reported. */
int sb_params_check(const json_t *obj, const sb_param_t *params, size_t n, char *err,
                    size_t err_len);

#endif
