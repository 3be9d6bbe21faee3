/* Allocation wrappers that abort on out-of-memory (see alloc.h). */
#include "switchboard/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sb_alloc_die(size_t size)
{
    fprintf(stderr, "switchboard: out of memory allocating %zu bytes\n", size);
    abort();
}

void *sb_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        sb_alloc_die(size);
    return p;
}

void *sb_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        sb_alloc_die(count * size);
    return p;
}

void *sb_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        sb_alloc_die(size);
    return p;
}

char *sb_strdup(const char *s)
{
    if (!s)
        return NULL;
    return sb_strndup(s, strlen(s));
}

char *sb_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = sb_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sb_free(void *ptr)
{
    free(ptr);
}
