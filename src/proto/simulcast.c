/* Simulcast forwarding helpers (see simulcast.h). */
#include "switchboard/simulcast.h"

#include "switchboard/codec.h"

static bool sb_simulcast_alive(const int64_t *last_us, int layer, int64_t now)
{
    return last_us[layer] && now - last_us[layer] < SB_SIMULCAST_STALE_US;
}

int sb_simulcast_pick(const int64_t *last_us, unsigned layers, int target, int64_t now_us)
{
    int n = (int)layers;
    if (target < 0 || target >= n)
        target = n - 1;
    for (int l = target; l >= 0; l--)
        if (sb_simulcast_alive(last_us, l, now_us))
            return l;
    for (int l = target + 1; l < n; l++)
        if (sb_simulcast_alive(last_us, l, now_us))
            return l;
    return -1;
}

void sb_vp8_renumber(sb_vp8_renumber_t *r, uint8_t *payload, size_t len, bool switched)
{
    sb_vp8_desc_t d;
    if (sb_vp8_parse(payload, len, &d) < 0 || !d.has_picture_id)
        return;
    uint16_t mask = d.picture_id_15bit ? 0x7fff : 0x7f;
    if (switched && r->have_last) {
        r->picid_off = (uint16_t)(r->last_picid + 1 - d.picture_id);
        if (d.has_tl0picidx)
            r->tl0_off = (uint8_t)(r->last_tl0 + 1 - d.tl0picidx);
    }
    uint16_t picid = (uint16_t)(d.picture_id + r->picid_off) & mask;
    sb_vp8_set_picture_id(payload, &d, picid);
    r->last_picid = picid;
    if (d.has_tl0picidx) {
        uint8_t tl0 = (uint8_t)(d.tl0picidx + r->tl0_off);
        sb_vp8_set_tl0picidx(payload, &d, tl0);
        r->last_tl0 = tl0;
    }
    r->have_last = true;
}
