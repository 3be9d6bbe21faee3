/* Simulcast helpers: the layer picked when the target flows, stops, or never started, and VP8
 * picture ids / TL0PICIDX continuing across layer switches (15-bit and 7-bit ids, wrap). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "switchboard/codec.h"
#include "switchboard/simulcast.h"

#define NOW 10000000

static void test_pick(void **state)
{
    (void)state;
    int64_t last[3] = {NOW - 10000, NOW - 20000, NOW - 30000};
    assert_int_equal(sb_simulcast_pick(last, 3, 2, NOW), 2);
    assert_int_equal(sb_simulcast_pick(last, 3, 1, NOW), 1);
    assert_int_equal(sb_simulcast_pick(last, 3, -1, NOW), 2); /* no target: the top */
    assert_int_equal(sb_simulcast_pick(last, 3, 7, NOW), 2);
    last[2] = NOW - SB_SIMULCAST_STALE_US; /* the top stopped: the next one down */
    assert_int_equal(sb_simulcast_pick(last, 3, 2, NOW), 1);
    last[1] = 0; /* never seen */
    assert_int_equal(sb_simulcast_pick(last, 3, 2, NOW), 0);
    last[0] = 0;
    last[2] = NOW - 1; /* only above the target flows */
    assert_int_equal(sb_simulcast_pick(last, 3, 0, NOW), 2);
    last[2] = 0;
    assert_int_equal(sb_simulcast_pick(last, 3, 0, NOW), -1);
    assert_int_equal(sb_simulcast_pick(last, 2, 1, NOW), -1);
}

/* A VP8 payload: descriptor with a picture id (15 or 7 bits) and TL0PICIDX, then one byte. */
static size_t vp8(uint8_t *p, bool wide, uint16_t picid, uint8_t tl0)
{
    size_t n = 0;
    p[n++] = 0x80; /* X (not a partition start: no payload header to check) */
    p[n++] = 0xc0; /* I, L */
    if (wide) {
        p[n++] = (uint8_t)(0x80 | (picid >> 8));
        p[n++] = (uint8_t)picid;
    } else {
        p[n++] = (uint8_t)(picid & 0x7f);
    }
    p[n++] = tl0;
    p[n++] = 0x01;
    p[n++] = 0x00;
    p[n++] = 0x00;
    return n;
}

static void ids(const uint8_t *p, size_t len, uint16_t *picid, uint8_t *tl0)
{
    sb_vp8_desc_t d;
    assert_int_equal(sb_vp8_parse(p, len, &d), 0);
    *picid = d.picture_id;
    *tl0 = d.tl0picidx;
}

static void test_renumber_across_switch(void **state)
{
    (void)state;
    sb_vp8_renumber_t r;
    memset(&r, 0, sizeof(r));
    uint8_t p[16];
    uint16_t id;
    uint8_t tl0;
    /* Layer 0 as it comes: unchanged. */
    size_t n = vp8(p, true, 1000, 50);
    sb_vp8_renumber(&r, p, n, true);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 1000);
    assert_int_equal(tl0, 50);
    n = vp8(p, true, 1001, 51);
    sb_vp8_renumber(&r, p, n, false);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 1001);
    /* Switch to a layer numbered far away: continues at 1002 / 52. */
    n = vp8(p, true, 32760, 200);
    sb_vp8_renumber(&r, p, n, true);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 1002);
    assert_int_equal(tl0, 52);
    /* And follows that layer, across its own wrap (15 bits). */
    n = vp8(p, true, 32767, 200);
    sb_vp8_renumber(&r, p, n, false);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 1009);
    n = vp8(p, true, 0, 201);
    sb_vp8_renumber(&r, p, n, false);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 1010);
    assert_int_equal(tl0, 53);
    /* TL0PICIDX wraps in 8 bits. */
    memset(&r, 0, sizeof(r));
    n = vp8(p, true, 5, 255);
    sb_vp8_renumber(&r, p, n, true);
    n = vp8(p, true, 9000, 3);
    sb_vp8_renumber(&r, p, n, true);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 6);
    assert_int_equal(tl0, 0);
}

static void test_renumber_short_ids(void **state)
{
    (void)state;
    sb_vp8_renumber_t r;
    memset(&r, 0, sizeof(r));
    uint8_t p[16];
    uint16_t id;
    uint8_t tl0;
    size_t n = vp8(p, false, 127, 1);
    sb_vp8_renumber(&r, p, n, true);
    n = vp8(p, false, 40, 9);
    sb_vp8_renumber(&r, p, n, true);
    ids(p, n, &id, &tl0);
    assert_int_equal(id, 0); /* 127 + 1 in 7 bits */
    assert_int_equal(tl0, 2);
    /* No picture id, or not VP8 at all: left alone. */
    uint8_t bare[3] = {0x10, 0x00, 0x00};
    uint8_t copy[3];
    memcpy(copy, bare, sizeof(bare));
    sb_vp8_renumber(&r, bare, sizeof(bare), true);
    assert_memory_equal(bare, copy, sizeof(bare));
    uint8_t trunc[2] = {0x90, 0x80};
    sb_vp8_renumber(&r, trunc, sizeof(trunc), true);
    assert_int_equal(trunc[1], 0x80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_renumber_across_switch),
        cmocka_unit_test(test_renumber_short_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
