/* The Prometheus text exposition format (see prom_text.h). */
#include "base/prom_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"

void sb_prom_init(sb_prom_t *p)
{
    memset(p, 0, sizeof(*p));
}

void sb_prom_deinit(sb_prom_t *p)
{
    sb_free(p->buf);
    memset(p, 0, sizeof(*p));
}

static void sb_prom_reserve(sb_prom_t *p, size_t more)
{
    if (p->len + more + 1 <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more + 1)
        cap *= 2;
    p->buf = sb_realloc(p->buf, cap);
    p->cap = cap;
}

static void sb_prom_put(sb_prom_t *p, const char *s, size_t n)
{
    sb_prom_reserve(p, n);
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void sb_prom_puts(sb_prom_t *p, const char *s)
{
    sb_prom_put(p, s, strlen(s));
}

static void sb_prom_printf(sb_prom_t *p, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_prom_put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; labels the same without ':'. */
static bool sb_prom_name_ok(const char *s, bool metric)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (metric && c == ':');
        if (!ok)
            return false;
    }
    return true;
}

/* Help text escapes backslash and newline; label values double quotes too. */
static void sb_prom_escaped(sb_prom_t *p, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            sb_prom_puts(p, "\\\\");
        else if (*s == '\n')
            sb_prom_puts(p, "\\n");
        else if (quote && *s == '"')
            sb_prom_puts(p, "\\\"");
        else
            sb_prom_put(p, s, 1);
    }
}

static bool sb_prom_labels_ok(const char *const *labels)
{
    for (size_t i = 0; labels && labels[i]; i += 2)
        if (!sb_prom_name_ok(labels[i], false) || !labels[i + 1] || !strcmp(labels[i], "le"))
            return false;
    return true;
}

/* name{labels[,le="..."]} and a space; false (nothing written) when a name is invalid. */
static bool sb_prom_head(sb_prom_t *p, const char *name, const char *suffix,
                         const char *const *labels, const char *le)
{
    if (!sb_prom_name_ok(name, true) || !sb_prom_labels_ok(labels)) {
        p->refused++;
        return false;
    }
    sb_prom_puts(p, name);
    if (suffix)
        sb_prom_puts(p, suffix);
    bool any = false;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        sb_prom_puts(p, any ? "," : "{");
        any = true;
        sb_prom_puts(p, labels[i]);
        sb_prom_puts(p, "=\"");
        sb_prom_escaped(p, labels[i + 1], true);
        sb_prom_puts(p, "\"");
    }
    if (le) {
        sb_prom_puts(p, any ? ",le=\"" : "{le=\"");
        sb_prom_puts(p, le);
        sb_prom_puts(p, "\"");
        any = true;
    }
    sb_prom_puts(p, any ? "} " : " ");
    return true;
}

/* The shortest of %.15g, %.16g and %.17g that reads back as v. */
static void sb_prom_shortest(char *out, size_t size, double v)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void sb_prom_value(sb_prom_t *p, double v)
{
    char tmp[40];
    if (isnan(v))
        sb_prom_puts(p, "NaN");
    else if (isinf(v))
        sb_prom_puts(p, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        sb_prom_printf(p, "%.0f", v);
    else {
        sb_prom_shortest(tmp, sizeof(tmp), v);
        sb_prom_puts(p, tmp);
    }
}

void sb_prom_family(sb_prom_t *p, const char *name, const char *type, const char *help)
{
    if (!sb_prom_name_ok(name, true)) {
        p->refused++;
        return;
    }
    sb_prom_puts(p, "# HELP ");
    sb_prom_puts(p, name);
    sb_prom_puts(p, " ");
    sb_prom_escaped(p, help ? help : "", false);
    sb_prom_puts(p, "\n# TYPE ");
    sb_prom_puts(p, name);
    sb_prom_puts(p, " ");
    sb_prom_puts(p, type);
    sb_prom_puts(p, "\n");
}

void sb_prom_u64(sb_prom_t *p, const char *name, const char *const *labels, uint64_t v)
{
    if (!sb_prom_head(p, name, NULL, labels, NULL))
        return;
    sb_prom_printf(p, "%llu\n", (unsigned long long)v);
}

void sb_prom_double(sb_prom_t *p, const char *name, const char *const *labels, double v)
{
    if (!sb_prom_head(p, name, NULL, labels, NULL))
        return;
    sb_prom_value(p, v);
    sb_prom_puts(p, "\n");
}

void sb_prom_histogram(sb_prom_t *p, const char *name, const char *const *labels,
                       const uint64_t *bounds, size_t nbounds, const uint64_t *cumulative,
                       uint64_t sum, uint64_t per_unit)
{
    /* Divided, not multiplied by 1e-6: the quotient by an exact power of ten is the double
     * nearest the decimal, so 7200001 us reads 7.200001, not 7.2000009999999994. */
    double unit = per_unit ? (double)per_unit : 1.0;
    char le[48];
    for (size_t i = 0; i <= nbounds; i++) {
        if (i < nbounds)
            sb_prom_shortest(le, sizeof(le), (double)bounds[i] / unit);
        else
            snprintf(le, sizeof(le), "+Inf");
        if (!sb_prom_head(p, name, "_bucket", labels, le))
            return;
        sb_prom_printf(p, "%llu\n", (unsigned long long)cumulative[i]);
    }
    if (sb_prom_head(p, name, "_sum", labels, NULL)) {
        sb_prom_value(p, (double)sum / unit);
        sb_prom_puts(p, "\n");
    }
    if (sb_prom_head(p, name, "_count", labels, NULL))
        sb_prom_printf(p, "%llu\n", (unsigned long long)cumulative[nbounds]);
}

const char *sb_prom_text(const sb_prom_t *p, size_t *len)
{
    if (len)
        *len = p->len;
    return p->buf ? p->buf : "";
}
