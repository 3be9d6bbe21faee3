/* Allocation wrappers: abort on out-of-memory so callers never handle NULL.
 * Any thread. The core's media buffers do not come from here: a plugin keeps a received
 * packet with the core's packet_retain (switchboard/plugin.h) rather than copying it. */
#ifndef SWITCHBOARD_ALLOC_H
#define SWITCHBOARD_ALLOC_H

#include <stddef.h>

void *sb_malloc(size_t size);
void *sb_calloc(size_t count, size_t size);
void *sb_realloc(void *ptr, size_t size);
/* Owned copy of a NUL-terminated string; NULL in, NULL out. */
char *sb_strdup(const char *s);
/* Owned copy of at most n bytes of s, always NUL-terminated. */
char *sb_strndup(const char *s, size_t n);
void sb_free(void *ptr);

#define SB_NEW(type) ((type *)sb_calloc(1, sizeof(type)))

#endif
