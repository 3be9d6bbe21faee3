/* Id generation (see id.h). Uses getrandom(2): ids are unguessable, which matters because
 * knowing a session id is enough to poll its events. */
#include "switchboard/id.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "base/assert.h"

void sb_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* no entropy source at all: nothing sane to do */
        }
        p += n;
        len -= (size_t)n;
    }
}

uint64_t sb_id_new(unsigned node_id)
{
    SB_ASSERT(node_id <= 255);
    uint64_t r;
    do {
        sb_random_bytes(&r, sizeof(r));
        r &= (UINT64_C(1) << SB_ID_NODE_SHIFT) - 1;
    } while (r == 0);
    return ((uint64_t)node_id << SB_ID_NODE_SHIFT) | r;
}
