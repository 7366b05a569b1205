/*
 * test-base-metrics.c - the metric registry and its text format, read back
 * by a strict parser of the Prometheus text exposition format 0.0.4
 * (prom-parse.h), whose rules are the format's, not this code's.
 */
#include "base/compat.h"
#include "base/metrics.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "prom-parse.h"

static struct prom_doc doc;

static void parse_ok(const char *text)
{
    if (prom_parse(text, &doc) != 0)
        fail_msg("not valid exposition text (%s):\n%s", doc.err, text);
}

/* The parser must be able to fail: each of these breaks one rule of the format. */
static void test_parser_rejects(void **state)
{
    static const char *const bad[] = {
        "x_total 1\n",                                                  /* no TYPE */
        "# TYPE x counter\nx 1\n# TYPE x counter\n",                    /* second TYPE */
        "# TYPE x counter\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",               /* duplicate */
        "# TYPE x counter\nx{a=\"\\t\"} 1\n",                           /* bad escape */
        "# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n",                     /* label twice */
        "# TYPE x counter\nx 1",                                        /* no final newline */
        "# TYPE x counter\nx one\n",                                    /* bad value */
        "# TYPE x counter\n# TYPE y counter\ny 1\nx 1\n",               /* not contiguous */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
        "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",                /* not cumulative */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 1\nh_count 3\n",                                         /* +Inf != _count */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", /* no +Inf */
        "# TYPE 1x counter\n",                                          /* bad name */
    };
    static const char good[] =
        "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\n"
        "h_bucket{le=\"+Inf\"} 3\nh_sum 4.5\nh_count 3\n"
        "# TYPE x counter\nx{a=\"q\\\"\\\\\\n\"} 7\n";

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (prom_parse(bad[i], &doc) == 0)
            fail_msg("accepted bad input %zu:\n%s", i, bad[i]);
    }
    parse_ok(good);
    assert_true(prom_value(&doc, "x", "a=\"q\"\\\n\"") == 7);
}

static struct metric_counter c_two =
    METRIC_COUNTER("test_requests_total", "Requests.\nWith a \\ in the help.", "route", "code");

static void test_counter_labels_escaped(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    metric_counter_inc(&c_two, "/a", "200");
    metric_counter_add(&c_two, "/a", "200", 4);
    metric_counter_inc(&c_two, "/b\"\\\n", "404");
    assert_int_equal(metric_counter_render(&b, &c_two), 0);
    parse_ok(b.data);
    assert_string_equal(prom_type(&doc, "test_requests_total"), "counter");
    assert_true(prom_value(&doc, "test_requests_total", "route=\"/a\",code=\"200\"") == 5);
    assert_true(prom_value(&doc, "test_requests_total", "route=\"/b\"\\\n\",code=\"404\"") == 1);
    assert_int_equal(doc.n, 2);
    assert_int_equal(metric_counter_get(&c_two, "/a", "200"), 5);
    assert_int_equal(metric_counter_get(&c_two, "/never", "200"), 0);
    buf_release(&b);
}

static struct metric_counter c_cap = METRIC_COUNTER("test_cap_total", "Capped.", "host", NULL);

static void test_counter_cap(void **state)
{
    struct buf b;
    char host[32];

    (void)state;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < LIMIT_METRIC_SERIES + 10; i++) {
        snprintf(host, sizeof(host), "h%d.example.com", i);
        metric_counter_inc(&c_cap, host, NULL);
    }
    metric_counter_inc(&c_cap, "h0.example.com", NULL); /* an old series still counts */
    assert_int_equal(metric_counter_render(&b, &c_cap), 0);
    parse_ok(b.data);
    assert_int_equal(doc.n, LIMIT_METRIC_SERIES + 1);
    assert_true(prom_value(&doc, "test_cap_total", "host=\"h0.example.com\"") == 2);
    assert_true(prom_value(&doc, "test_cap_total", "host=\"other\"") == 10);
    buf_release(&b);
}

static struct metric_counter c_plain = METRIC_COUNTER("test_plain_total", "Plain.", NULL, NULL);
static struct metric_counter c_empty = METRIC_COUNTER("test_empty_total", "Empty.", "x", NULL);

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        metric_counter_inc(&c_plain, NULL, NULL);
        metric_counter_inc(&c_two, (i & 1) ? "/odd" : "/even", "200");
    }
    return NULL;
}

/* Four threads at once: no increment is lost, no series is made twice. */
static void test_counter_threads(void **state)
{
    pthread_t t[4];
    struct buf b;

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, bump, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    buf_init(&b, 1 << 20);
    assert_int_equal(metric_counter_render(&b, &c_plain), 0);
    assert_int_equal(metric_counter_render(&b, &c_two), 0);
    assert_int_equal(metric_counter_render(&b, &c_empty), 0); /* no series: header only */
    parse_ok(b.data);
    assert_true(prom_value(&doc, "test_plain_total", "") == 80000);
    assert_true(prom_value(&doc, "test_requests_total", "route=\"/odd\",code=\"200\"") == 40000);
    assert_true(prom_value(&doc, "test_requests_total", "route=\"/even\",code=\"200\"") == 40000);
    assert_string_equal(prom_type(&doc, "test_empty_total"), "counter");
    buf_release(&b);
}

static struct metric_histogram h = METRIC_HISTOGRAM("test_tx_seconds", "Latency.");

/* Buckets are "less than or equal" (le) bounds, cumulative, ending in +Inf. */
static void test_histogram(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    metric_histogram_observe_ns(&h, 1000000);      /* exactly 1 ms: in le="0.001" */
    metric_histogram_observe_ns(&h, 20000000000);  /* 20 s: only in +Inf */
    metric_histogram_observe_ns(&h, -5);           /* counts as 0 */
    assert_int_equal(metric_histogram_count(&h), 3);
    assert_int_equal(metric_histogram_render(&b, &h), 0);
    parse_ok(b.data);
    assert_string_equal(prom_type(&doc, "test_tx_seconds"), "histogram");
    assert_true(prom_value(&doc, "test_tx_seconds_bucket", "le=\"0.0001\"") == 1);
    assert_true(prom_value(&doc, "test_tx_seconds_bucket", "le=\"0.0005\"") == 1);
    assert_true(prom_value(&doc, "test_tx_seconds_bucket", "le=\"0.001\"") == 2);
    assert_true(prom_value(&doc, "test_tx_seconds_bucket", "le=\"10\"") == 2);
    assert_true(prom_value(&doc, "test_tx_seconds_bucket", "le=\"+Inf\"") == 3);
    assert_true(prom_value(&doc, "test_tx_seconds_count", "") == 3);
    assert_true(fabs(prom_value(&doc, "test_tx_seconds_sum", "") - 20.001) < 1e-9);
    buf_release(&b);
}

static void test_gauge_and_codes(void **state)
{
    static const char *const names[] = {"RUNNING", "a\"b"};
    const double values[] = {3, 0.25};
    const double one = 7;
    struct buf b;
    char code[8];

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(metric_gauge_render(&b, "test_jobs", "Jobs.", "state", names, values, 2), 0);
    assert_int_equal(metric_gauge_render(&b, "test_depth", "Depth.", NULL, NULL, &one, 1), 0);
    parse_ok(b.data);
    assert_string_equal(prom_type(&doc, "test_jobs"), "gauge");
    assert_true(prom_value(&doc, "test_jobs", "state=\"RUNNING\"") == 3);
    assert_true(prom_value(&doc, "test_jobs", "state=\"a\"b\"") == 0.25);
    assert_true(prom_value(&doc, "test_depth", "") == 7);
    metric_code_label(200, code);
    assert_string_equal(code, "200");
    metric_code_label(503, code);
    assert_string_equal(code, "503");
    metric_code_label(418, code);
    assert_string_equal(code, "4xx");
    metric_code_label(299, code);
    assert_string_equal(code, "2xx");
    metric_code_label(42, code);
    assert_string_equal(code, "other");
    buf_release(&b);
}

static struct metric_counter c_tx = METRIC_COUNTER("test_fates_total", "Fates.", "fate", NULL);

/* Counts queued in a transaction land on commit only. */
static void test_pending(void **state)
{
    char fate[16];

    (void)state;
    metric_counter_add_pending(&c_tx, "CONSUMED", NULL, 1);
    metric_counter_add_pending(&c_tx, "CONSUMED", NULL, 2);
    assert_int_equal(metric_counter_get(&c_tx, "CONSUMED", NULL), 0);
    metric_pending_commit();
    assert_int_equal(metric_counter_get(&c_tx, "CONSUMED", NULL), 3);
    metric_counter_add_pending(&c_tx, "MERGED", NULL, 1);
    metric_pending_discard();
    metric_pending_commit();
    assert_int_equal(metric_counter_get(&c_tx, "MERGED", NULL), 0);
    /* past METRIC_PENDING_MAX distinct series, adds apply at once */
    for (int i = 0; i < METRIC_PENDING_MAX + 2; i++) {
        snprintf(fate, sizeof(fate), "F%d", i);
        metric_counter_add_pending(&c_tx, fate, NULL, 1);
    }
    assert_int_equal(metric_counter_get(&c_tx, "F0", NULL), 0);
    snprintf(fate, sizeof(fate), "F%d", METRIC_PENDING_MAX);
    assert_int_equal(metric_counter_get(&c_tx, fate, NULL), 1);
    metric_pending_discard();
    assert_int_equal(metric_counter_get(&c_tx, "F0", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_rejects),
        cmocka_unit_test(test_counter_labels_escaped),
        cmocka_unit_test(test_counter_cap),
        cmocka_unit_test(test_counter_threads),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_gauge_and_codes),
        cmocka_unit_test(test_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
