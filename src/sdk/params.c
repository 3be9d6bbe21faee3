/* Declared parameter checks (switchboard/params.h). */
#include "switchboard/params.h"

#include <stdio.h>

#include "switchboard/error.h"

const char *sb_param_type_text(sb_param_type_t type)
{
    switch (type) {
    case SB_PARAM_STRING:
        return "a string";
    case SB_PARAM_UINT:
        return "a positive integer";
    case SB_PARAM_INT:
        return "an integer";
    case SB_PARAM_BOOL:
        return "a boolean";
    case SB_PARAM_ARRAY:
        return "an array";
    case SB_PARAM_OBJECT:
        return "an object";
    case SB_PARAM_STRING_OR_UINT:
        return "a string or a positive integer";
    }
    return "valid";
}

bool sb_param_type_ok(const json_t *v, sb_param_type_t type)
{
    bool uint = json_is_integer(v) && json_integer_value(v) >= 0;
    switch (type) {
    case SB_PARAM_STRING:
        return json_is_string(v);
    case SB_PARAM_UINT:
        return uint;
    case SB_PARAM_INT:
        return json_is_integer(v);
    case SB_PARAM_BOOL:
        return json_is_boolean(v);
    case SB_PARAM_ARRAY:
        return json_is_array(v);
    case SB_PARAM_OBJECT:
        return json_is_object(v);
    case SB_PARAM_STRING_OR_UINT:
        return json_is_string(v) || uint;
    }
    return false;
}

int sb_param_check(const json_t *obj, const sb_param_t *p, char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, p->name);
    if (!v) {
        if (!p->required)
            return 0;
        snprintf(err, err_len, "Missing mandatory element (%s)", p->name);
        return SB_ENOENT;
    }
    if (!sb_param_type_ok(v, p->type)) {
        snprintf(err, err_len, "Invalid element type (%s should be %s)", p->name,
                 sb_param_type_text(p->type));
        return SB_EINVAL;
    }
    size_t max = p->max_len ? p->max_len : SB_PARAM_MAX_STRING_DEFAULT;
    if (json_is_string(v) && json_string_length(v) > max) {
        snprintf(err, err_len, "Invalid element (%s longer than %zu bytes)", p->name, max);
        return SB_EINVAL;
    }
    return 0;
}

int sb_params_check(const json_t *obj, const sb_param_t *params, size_t n, char *err,
                    size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sb_param_check(obj, &params[i], err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}
