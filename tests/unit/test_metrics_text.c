/* /metrics building blocks: single-writer counters and histograms (adds by their owner, sums
 * at read time), and the Prometheus text format 0.0.4 as written (families, labels and their
 * escaping, exact integers, special values, cumulative histogram buckets, invalid names
 * refused and nothing written for them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "base/counter.h"
#include "base/prom_text.h"

static void test_counter_one_writer_many_readers(void **state)
{
    (void)state;
    sb_counter_t c;
    atomic_init(&c.v, 0);
    for (int i = 0; i < 1000; i++)
        sb_counter_add(&c, 3);
    assert_int_equal(sb_counter_get(&c), 3000);
    sb_counter_add(&c, UINT64_C(1) << 60);
    assert_true(sb_counter_get(&c) == (UINT64_C(1) << 60) + 3000);
}

/* A writer thread adding while this one reads: every read is a value the writer had, and
 * never goes back. */
static sb_counter_t shared;
static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200000; i++)
        sb_counter_add(&shared, 1);
    return NULL;
}

static void test_counter_read_while_written(void **state)
{
    (void)state;
    atomic_init(&shared.v, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    uint64_t last = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = sb_counter_get(&shared);
        assert_true(v >= last && v <= 200000);
        last = v;
    }
    pthread_join(t, NULL);
    assert_int_equal(sb_counter_get(&shared), 200000);
}

static const uint64_t bounds_us[] = {100000, 250000, 500000, 1000000};

static void test_histogram(void **state)
{
    (void)state;
    sb_histogram_t a, b;
    assert_int_equal(sb_histogram_init(&a, bounds_us, 4), 0);
    assert_int_equal(sb_histogram_init(&b, bounds_us, 4), 0);
    uint64_t bad[] = {5, 5};
    sb_histogram_t c;
    assert_int_equal(sb_histogram_init(&c, bad, 2), -1); /* not increasing */
    assert_int_equal(sb_histogram_init(&c, bounds_us, SB_HISTOGRAM_MAX_BOUNDS + 1), -1);
    sb_histogram_observe(&a, 100000); /* on the bound: in it (le) */
    sb_histogram_observe(&a, 100001);
    sb_histogram_observe(&a, 7000000); /* over every bound: +Inf */
    sb_histogram_observe(&b, 0);
    uint64_t cum[5] = {0}, sum = 0;
    sb_histogram_read(&a, cum, &sum);
    sb_histogram_read(&b, cum, &sum); /* two owners' copies add up */
    uint64_t want[5] = {2, 3, 3, 3, 4};
    assert_memory_equal(cum, want, sizeof(want));
    assert_true(sum == 100000 + 100001 + 7000000);
}

static void test_text_families_and_labels(void **state)
{
    (void)state;
    sb_prom_t p;
    sb_prom_init(&p);
    sb_prom_family(&p, "switchboard_rtp_packets_total", "counter",
                   "RTP packets, by direction.\nIn and out: \\ both");
    const char *in[] = {"direction", "in", NULL};
    const char *out[] = {"direction", "out", NULL};
    sb_prom_u64(&p, "switchboard_rtp_packets_total", in, UINT64_C(18446744073709551615));
    sb_prom_u64(&p, "switchboard_rtp_packets_total", out, 0);
    sb_prom_family(&p, "switchboard_sessions", "gauge", "Janus sessions.");
    sb_prom_double(&p, "switchboard_sessions", NULL, 12);
    const char *odd[] = {"room", "a \"quoted\" \\ name\nwith a newline", "loop", "0", NULL};
    sb_prom_double(&p, "x:y_z", odd, 0.25);
    sb_prom_double(&p, "nan_value", NULL, NAN);
    sb_prom_double(&p, "inf_value", NULL, -INFINITY);
    sb_prom_double(&p, "big_value", NULL, 1e300);
    size_t len;
    const char *t = sb_prom_text(&p, &len);
    const char *want =
        "# HELP switchboard_rtp_packets_total RTP packets, by direction.\\nIn and out: \\\\ both\n"
        "# TYPE switchboard_rtp_packets_total counter\n"
        "switchboard_rtp_packets_total{direction=\"in\"} 18446744073709551615\n"
        "switchboard_rtp_packets_total{direction=\"out\"} 0\n"
        "# HELP switchboard_sessions Janus sessions.\n"
        "# TYPE switchboard_sessions gauge\n"
        "switchboard_sessions 12\n"
        "x:y_z{room=\"a \\\"quoted\\\" \\\\ name\\nwith a newline\",loop=\"0\"} 0.25\n"
        "nan_value NaN\n"
        "inf_value -Inf\n"
        "big_value 1e+300\n";
    assert_string_equal(t, want);
    assert_int_equal(len, strlen(want));
    assert_int_equal(p.refused, 0);
    sb_prom_deinit(&p);
}

static void test_text_histogram(void **state)
{
    (void)state;
    sb_prom_t p;
    sb_prom_init(&p);
    uint64_t cum[5] = {2, 3, 3, 3, 4};
    const char *l[] = {"plugin", "videoroom", NULL};
    sb_prom_family(&p, "switchboard_join_seconds", "histogram", "Offer to webrtcup.");
    sb_prom_histogram(&p, "switchboard_join_seconds", l, bounds_us, 4, cum, 7200001, 1000000);
    sb_prom_histogram(&p, "no_labels", NULL, bounds_us, 1, cum, 0, 1000000);
    const char *want =
        "# HELP switchboard_join_seconds Offer to webrtcup.\n"
        "# TYPE switchboard_join_seconds histogram\n"
        "switchboard_join_seconds_bucket{plugin=\"videoroom\",le=\"0.1\"} 2\n"
        "switchboard_join_seconds_bucket{plugin=\"videoroom\",le=\"0.25\"} 3\n"
        "switchboard_join_seconds_bucket{plugin=\"videoroom\",le=\"0.5\"} 3\n"
        "switchboard_join_seconds_bucket{plugin=\"videoroom\",le=\"1\"} 3\n"
        "switchboard_join_seconds_bucket{plugin=\"videoroom\",le=\"+Inf\"} 4\n"
        "switchboard_join_seconds_sum{plugin=\"videoroom\"} 7.200001\n"
        "switchboard_join_seconds_count{plugin=\"videoroom\"} 4\n"
        "no_labels_bucket{le=\"0.1\"} 2\n"
        "no_labels_bucket{le=\"+Inf\"} 3\n"
        "no_labels_sum 0\n"
        "no_labels_count 3\n";
    assert_string_equal(sb_prom_text(&p, NULL), want);
    sb_prom_deinit(&p);
}

static void test_text_refuses_bad_names(void **state)
{
    (void)state;
    sb_prom_t p;
    sb_prom_init(&p);
    assert_string_equal(sb_prom_text(&p, NULL), "");
    const char *bad_label[] = {"bad-label", "v", NULL};
    const char *le_label[] = {"le", "1", NULL};
    const char *no_value[] = {"k", NULL};
    sb_prom_family(&p, "9starts_with_a_digit", "counter", "x");
    sb_prom_u64(&p, "has space", NULL, 1);
    sb_prom_u64(&p, "", NULL, 1);
    sb_prom_u64(&p, "ok_name", bad_label, 1);
    sb_prom_u64(&p, "ok_name", le_label, 1); /* le belongs to histograms */
    sb_prom_u64(&p, "ok_name", no_value, 1);
    sb_prom_double(&p, "label:colon", (const char *[]){"a:b", "v", NULL}, 1);
    assert_int_equal(p.refused, 7);
    assert_string_equal(sb_prom_text(&p, NULL), "");
    sb_prom_deinit(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_one_writer_many_readers),
        cmocka_unit_test(test_counter_read_while_written),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_text_families_and_labels),
        cmocka_unit_test(test_text_histogram),
        cmocka_unit_test(test_text_refuses_bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
