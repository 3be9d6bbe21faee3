/* Dependency descriptor reading (AV1 RTP payload format, appendix A.2-A.4): the mandatory
 * fields, the extended flags, and the template structure's id offset, decode target count and
 * template layers. Everything after the template layers (DTIs, fdiffs, chains, resolutions,
 * active decode targets) is left unread: nothing here needs it.
 *
 * Pure functions over their arguments; no allocation. */
#include "switchboard/dd.h"

#include <string.h>

#include "switchboard/error.h"

/* MSB-first bit reader (the descriptor's f(n)). */
typedef struct sb_dd_bits {
    const uint8_t *p;
    size_t len; /* bytes */
    size_t pos; /* bits read */
    bool over;  /* read past the end */
} sb_dd_bits_t;

static unsigned sb_dd_read(sb_dd_bits_t *b, unsigned n)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (b->pos >= b->len * 8) {
            b->over = true;
            return 0;
        }
        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
        b->pos++;
    }
    return v;
}

/* template_dependency_structure() up to template_layers() (A.3.1, A.3.2). */
static int sb_dd_structure(sb_dd_bits_t *b, sb_dd_structure_t *st)
{
    sb_dd_structure_t s = {.valid = true};
    s.id_offset = (uint8_t)sb_dd_read(b, 6);
    s.dt_count = (uint8_t)(sb_dd_read(b, 5) + 1);
    unsigned sid = 0, tid = 0, idc;
    do {
        if (s.count == SB_DD_MAX_TEMPLATES)
            return SB_EINVAL;
        s.sid[s.count] = (uint8_t)sid;
        s.tid[s.count] = (uint8_t)tid;
        s.count++;
        idc = sb_dd_read(b, 2);
        if (idc == 1) {
            tid++;
        } else if (idc == 2) {
            tid = 0;
            sid++;
        }
        if (b->over || sid >= 8 || tid >= 8) /* spatial_id and temporal_id are 3 bits */
            return SB_EINVAL;
    } while (idc != 3);
    *st = s;
    return 0;
}

int sb_dd_parse(const uint8_t *data, size_t len, sb_dd_structure_t *st, sb_dd_frame_t *out)
{
    if (data == NULL || st == NULL || out == NULL || len < 3)
        return SB_EINVAL;
    sb_dd_bits_t b = {.p = data, .len = len};
    memset(out, 0, sizeof(*out));
    out->start = sb_dd_read(&b, 1) != 0;
    out->end = sb_dd_read(&b, 1) != 0;
    out->template_id = (uint8_t)sb_dd_read(&b, 6);
    out->frame_number = (uint16_t)sb_dd_read(&b, 16);
    if (len > 3) {
        bool structure = sb_dd_read(&b, 1) != 0;
        sb_dd_read(&b, 4); /* active decode targets, custom dtis/fdiffs/chains flags */
        if (structure) {
            int rc = sb_dd_structure(&b, st);
            if (rc < 0)
                return rc;
            out->has_structure = true;
        }
    }
    if (!st->valid)
        return SB_ENOENT;
    unsigned idx = (out->template_id + SB_DD_MAX_TEMPLATES - st->id_offset) % SB_DD_MAX_TEMPLATES;
    if (idx >= st->count)
        return SB_ENOENT;
    out->sid = st->sid[idx];
    out->tid = st->tid[idx];
    return 0;
}
