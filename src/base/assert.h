/* Internal invariants: print file:line and abort. Never for untrusted input. */
#ifndef SB_BASE_ASSERT_H
#define SB_BASE_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define SB_ASSERT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#define SB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
