/* The AV1 dependency descriptor reader: mandatory fields, a template structure (L3T3) kept and
 * used by later packets, the template id offset and its wrap, unknown templates, truncation,
 * malformed structures leaving the kept one alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "switchboard/error.h"
#include "switchboard/dd.h"

/* An MSB-first bit writer. */
typedef struct bits {
    uint8_t buf[64];
    size_t pos;
} bits_t;

static void put(bits_t *b, unsigned v, unsigned n)
{
    for (unsigned i = n; i-- > 0;) {
        if ((v >> i) & 1)
            b->buf[b->pos >> 3] |= (uint8_t)(0x80 >> (b->pos & 7));
        b->pos++;
    }
}

static size_t bytes(const bits_t *b)
{
    return (b->pos + 7) / 8;
}

static void mandatory(bits_t *b, bool start, bool end, unsigned tmpl, unsigned frame)
{
    memset(b, 0, sizeof(*b));
    put(b, start, 1);
    put(b, end, 1);
    put(b, tmpl, 6);
    put(b, frame, 16);
}

/* L3T3: nine templates s0t0 s0t1 s0t2 s1t0 ... s2t2, template ids from offset. */
static void l3t3(bits_t *b, unsigned offset)
{
    put(b, 1, 1); /* template_dependency_structure_present_flag */
    put(b, 0, 4); /* active decode targets, custom dtis, fdiffs, chains */
    put(b, offset, 6);
    put(b, 8, 5); /* dt_cnt_minus_one: 9 decode targets */
    const unsigned idc[9] = {1, 1, 2, 1, 1, 2, 1, 1, 3};
    for (int i = 0; i < 9; i++)
        put(b, idc[i], 2);
    put(b, 0x2a, 8); /* what follows (DTIs...) is not read */
}

static void test_structure_and_frames(void **state)
{
    (void)state;
    sb_dd_structure_t st;
    memset(&st, 0, sizeof(st));
    sb_dd_frame_t f;
    bits_t b;
    /* before any structure: the template is unknown */
    mandatory(&b, true, false, 5, 100);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), SB_ENOENT);
    assert_true(f.start);
    assert_false(f.end);
    assert_int_equal(f.frame_number, 100);
    /* a keyframe's first packet carries the structure (offset 60: ids wrap) */
    mandatory(&b, true, false, 60, 101);
    l3t3(&b, 60);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), 0);
    assert_true(f.has_structure);
    assert_true(st.valid);
    assert_int_equal(st.count, 9);
    assert_int_equal(st.dt_count, 9);
    assert_int_equal(f.sid, 0);
    assert_int_equal(f.tid, 0);
    /* later packets: 3 bytes, their template from the kept structure */
    const struct {
        unsigned id;
        uint8_t sid, tid;
    } want[] = {{60, 0, 0}, {63, 1, 0}, {0, 1, 1}, {4, 2, 2}, {2, 2, 0}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        mandatory(&b, false, true, want[i].id, 102);
        assert_int_equal(sb_dd_parse(b.buf, 3, &st, &f), 0);
        assert_false(f.has_structure);
        assert_true(f.end);
        assert_int_equal(f.sid, want[i].sid);
        assert_int_equal(f.tid, want[i].tid);
    }
    /* an id outside the structure */
    mandatory(&b, false, false, 5, 103);
    assert_int_equal(sb_dd_parse(b.buf, 3, &st, &f), SB_ENOENT);
    /* extended fields without a structure: the kept one still applies */
    mandatory(&b, true, true, 61, 104);
    put(&b, 0x00, 8);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), 0);
    assert_int_equal(f.tid, 1);
}

static void test_malformed(void **state)
{
    (void)state;
    sb_dd_structure_t st;
    memset(&st, 0, sizeof(st));
    sb_dd_frame_t f;
    bits_t b;
    mandatory(&b, true, false, 0, 1);
    assert_int_equal(sb_dd_parse(b.buf, 2, &st, &f), SB_EINVAL);
    assert_int_equal(sb_dd_parse(NULL, 3, &st, &f), SB_EINVAL);
    mandatory(&b, true, false, 0, 1);
    l3t3(&b, 0);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), 0);
    /* a structure cut in its layers: refused, the kept one unchanged */
    mandatory(&b, true, false, 0, 2);
    put(&b, 1, 1);
    put(&b, 0, 4);
    put(&b, 7, 6);
    put(&b, 0, 5);
    put(&b, 1, 2); /* then nothing: no end of layers */
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), SB_EINVAL);
    assert_int_equal(st.id_offset, 0);
    assert_int_equal(st.count, 9);
    /* more templates than 64 */
    memset(&b, 0, sizeof(b));
    mandatory(&b, true, false, 0, 3);
    put(&b, 1, 1);
    put(&b, 0, 4);
    put(&b, 0, 6);
    put(&b, 0, 5);
    for (int i = 0; i < 70; i++)
        put(&b, 0, 2);
    put(&b, 3, 2);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), SB_EINVAL);
    /* more than 8 spatial layers */
    memset(&b, 0, sizeof(b));
    mandatory(&b, true, false, 0, 3);
    put(&b, 1, 1);
    put(&b, 0, 4);
    put(&b, 0, 6);
    put(&b, 0, 5);
    for (int i = 0; i < 9; i++)
        put(&b, 2, 2);
    put(&b, 3, 2);
    assert_int_equal(sb_dd_parse(b.buf, bytes(&b), &st, &f), SB_EINVAL);
    assert_int_equal(st.count, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_frames),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
