/*
 * Unit tests for base/time: civil dates, RFC 3339, Go durations.
 * Expected values are worked out by hand or taken from Go's documented
 * behaviour (luci-scheduler-spec.md Appendix A.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"

static void fail_row(int line, const char *what, const char *got, const char *want)
{
    print_error("row at line %d (%s): got '%s', want '%s'\n", line, what, got, want);
    fail();
}

static void test_civil(void **state)
{
    (void)state;
    static const struct {
        int line;
        int64_t y;
        int m, d;
        int64_t days;
        int wday;
    } rows[] = {
        {__LINE__, 1970, 1, 1, 0, 4},
        {__LINE__, 1969, 12, 31, -1, 3},
        {__LINE__, 2000, 3, 1, 11017, 3},     /* 30 years incl. 7 leap days + 59 */
        {__LINE__, 2000, 2, 29, 11016, 2},
        {__LINE__, 2013, 1, 1, 15706, 2},     /* Tuesday */
        {__LINE__, 2015, 9, 14, 16692, 1},    /* Monday */
        {__LINE__, 2016, 2, 29, 16860, 1},
        {__LINE__, 2099, 12, 31, 47481, 4},
        {__LINE__, 1900, 3, 1, -25508, 4},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int64_t days = time_days_from_civil(rows[i].y, rows[i].m, rows[i].d);
        if (days != rows[i].days) {
            print_error("line %d: days %" PRId64 "\n", rows[i].line, days);
            fail();
        }
        int64_t y;
        int m, d;
        time_civil_from_days(rows[i].days, &y, &m, &d);
        if (y != rows[i].y || m != rows[i].m || d != rows[i].d) {
            print_error("line %d: civil %" PRId64 "-%d-%d\n", rows[i].line, y, m, d);
            fail();
        }
        if (time_weekday_from_days(rows[i].days) != rows[i].wday) {
            print_error("line %d: weekday\n", rows[i].line);
            fail();
        }
    }
    assert_int_equal(time_days_in_month(2016, 2), 29);
    assert_int_equal(time_days_in_month(1900, 2), 28);
    assert_int_equal(time_days_in_month(2000, 2), 29);
    assert_int_equal(time_days_in_month(2013, 4), 30);
    assert_int_equal(time_days_in_month(2013, 12), 31);
    assert_true(time_floor_sec(-1) == -1);
    assert_true(time_floor_sec(-NS_PER_SEC) == -1);
    assert_true(time_floor_sec(NS_PER_SEC - 1) == 0);
}

static void test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        int line;
        int64_t sec, nsec;
        const char *text;
    } rows[] = {
        {__LINE__, 0, 0, "1970-01-01T00:00:00Z"},
        {__LINE__, 1442270520, 0, "2015-09-14T22:42:00Z"},
        {__LINE__, 1442270534, 177942239, "2015-09-14T22:42:14.177942239Z"},
        {__LINE__, 1442270534, 500000000, "2015-09-14T22:42:14.5Z"},
        {__LINE__, 1442270534, 1000, "2015-09-14T22:42:14.000001Z"},
        {__LINE__, 4604952467, 0, "2115-12-05T01:27:47Z"},
        {__LINE__, -1, 0, "1969-12-31T23:59:59Z"},
        {__LINE__, -1, 999999999, "1969-12-31T23:59:59.999999999Z"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char out[TIME_RFC3339_MAX];
        int64_t ns = rows[i].sec * NS_PER_SEC + rows[i].nsec;
        int n = time_format_rfc3339(ns, out, sizeof(out));
        if (strcmp(out, rows[i].text) != 0 || n != (int)strlen(rows[i].text))
            fail_row(rows[i].line, "format", out, rows[i].text);
        int64_t back = 0;
        if (time_parse_rfc3339(rows[i].text, &back) != 0 || back != ns)
            fail_row(rows[i].line, "parse", "mismatch", rows[i].text);
    }
    assert_true(TIME_DISTANT_FUTURE == INT64_C(4604952467) * NS_PER_SEC);

    static const struct {
        int line;
        const char *text;
        int64_t sec; /* -1: error */
        int64_t nsec;
    } parse_rows[] = {
        {__LINE__, "2015-09-14", 1442188800, 0},
        {__LINE__, "2015-09-14 22:42:00z", 1442270520, 0},
        {__LINE__, "2015-09-14t22:42:00Z", 1442270520, 0},
        {__LINE__, "2015-09-15T00:42:00+02:00", 1442270520, 0},
        {__LINE__, "2015-09-14T17:42:00-05:00", 1442270520, 0},
        {__LINE__, "2015-09-14T22:42:00.1234567891Z", 1442270520, 123456789},
        {__LINE__, "2015-09-14T22:42:00", -1, 0},
        {__LINE__, "2015-02-29T00:00:00Z", -1, 0},
        {__LINE__, "2015-13-01", -1, 0},
        {__LINE__, "2015-09-14T24:00:00Z", -1, 0},
        {__LINE__, "2015-09-14T22:42:00.Z", -1, 0},
        {__LINE__, "2015-09-14T22:42:00Zjunk", -1, 0},
        {__LINE__, "15-09-14", -1, 0},
        {__LINE__, "", -1, 0},
        {__LINE__, "9999-01-01T00:00:00Z", -1, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(parse_rows); i++) {
        int64_t ns = 42;
        int r = time_parse_rfc3339(parse_rows[i].text, &ns);
        if (parse_rows[i].sec == -1) {
            if (r != -EINVAL || ns != 42)
                fail_row(parse_rows[i].line, "parse error", "accepted", parse_rows[i].text);
        } else if (r != 0 || ns != parse_rows[i].sec * NS_PER_SEC + parse_rows[i].nsec) {
            fail_row(parse_rows[i].line, "parse", "mismatch", parse_rows[i].text);
        }
    }
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        int line;
        int64_t ns;
        const char *text;
    } rows[] = {
        {__LINE__, 0, "0s"},
        {__LINE__, 1, "1ns"},
        {__LINE__, 10, "10ns"},
        {__LINE__, 1000, "1\xc2\xb5s"},
        {__LINE__, 1500, "1.5\xc2\xb5s"},
        {__LINE__, 10 * NS_PER_MS, "10ms"},
        {__LINE__, 250 * NS_PER_MS, "250ms"},
        {__LINE__, 200 * NS_PER_MS, "200ms"},
        {__LINE__, 1 * NS_PER_SEC, "1s"},
        {__LINE__, 1500 * NS_PER_MS, "1.5s"},
        {__LINE__, 59999 * NS_PER_MS, "59.999s"},
        {__LINE__, NS_PER_MIN, "1m0s"},
        {__LINE__, 3 * NS_PER_MIN + 44 * NS_PER_SEC, "3m44s"},
        {__LINE__, NS_PER_HOUR, "1h0m0s"},
        {__LINE__, -NS_PER_HOUR, "-1h0m0s"},
        {__LINE__, 25 * NS_PER_HOUR, "25h0m0s"},
        {__LINE__, 90 * NS_PER_MIN, "1h30m0s"},
        {__LINE__, 3 * NS_PER_HOUR + 32 * NS_PER_MIN + 28 * NS_PER_SEC + 898993161,
         "3h32m28.898993161s"},
        {__LINE__, -1500, "-1.5\xc2\xb5s"},
        {__LINE__, INT64_MAX, "2562047h47m16.854775807s"},
        {__LINE__, INT64_MIN, "-2562047h47m16.854775808s"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char out[TIME_DURATION_MAX];
        int n = time_format_duration(rows[i].ns, out, sizeof(out));
        if (strcmp(out, rows[i].text) != 0 || n != (int)strlen(rows[i].text))
            fail_row(rows[i].line, "format", out, rows[i].text);
    }
}

static void test_duration_parse(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *text;
        int64_t ns;
        const char *err; /* NULL: success */
    } rows[] = {
        {__LINE__, "0", 0, NULL},
        {__LINE__, "-0", 0, NULL},
        {__LINE__, "0s", 0, NULL},
        {__LINE__, "10s", 10 * NS_PER_SEC, NULL},
        {__LINE__, "15s", 15 * NS_PER_SEC, NULL},
        {__LINE__, "1.5h", 90 * NS_PER_MIN, NULL},
        {__LINE__, "1h30m", 90 * NS_PER_MIN, NULL},
        {__LINE__, "10ms", 10 * NS_PER_MS, NULL},
        {__LINE__, "250ms", 250 * NS_PER_MS, NULL},
        {__LINE__, "1us", 1000, NULL},
        {__LINE__, "1\xc2\xb5s", 1000, NULL},
        {__LINE__, "1\xce\xbcs", 1000, NULL},
        {__LINE__, "7ns", 7, NULL},
        {__LINE__, ".5s", 500 * NS_PER_MS, NULL},
        {__LINE__, "5.s", 5 * NS_PER_SEC, NULL},
        {__LINE__, "+5m", 5 * NS_PER_MIN, NULL},
        {__LINE__, "-1s", -NS_PER_SEC, NULL},
        {__LINE__, "-1h0m0s", -NS_PER_HOUR, NULL},
        {__LINE__, "3h32m28.898993161s",
         3 * NS_PER_HOUR + 32 * NS_PER_MIN + 28 * NS_PER_SEC + 898993161, NULL},
        {__LINE__, "2562047h47m16.854775807s", INT64_MAX, NULL},
        {__LINE__, "-2562047h47m16.854775808s", INT64_MIN, NULL},
        {__LINE__, "1.0000000000000000000000001s", NS_PER_SEC, NULL},
        {__LINE__, "NaNs", 0, "time: invalid duration \"NaNs\""},
        {__LINE__, "", 0, "time: invalid duration \"\""},
        {__LINE__, "-", 0, "time: invalid duration \"-\""},
        {__LINE__, "s", 0, "time: invalid duration \"s\""},
        {__LINE__, ".s", 0, "time: invalid duration \".s\""},
        {__LINE__, "1", 0, "time: missing unit in duration \"1\""},
        {__LINE__, "1h2", 0, "time: missing unit in duration \"1h2\""},
        {__LINE__, "1 min", 0, "time: unknown unit \" min\" in duration \"1 min\""},
        {__LINE__, "3d", 0, "time: unknown unit \"d\" in duration \"3d\""},
        {__LINE__, "2562047h47m16.854775808s", 0,
         "time: invalid duration \"2562047h47m16.854775808s\""},
        {__LINE__, "9223372036854775808ns", 0,
         "time: invalid duration \"9223372036854775808ns\""},
        {__LINE__, "99999999999999999999s", 0,
         "time: invalid duration \"99999999999999999999s\""},
        {__LINE__, "1\x01s", 0, "time: unknown unit \"\\x01s\" in duration \"1\\x01s\""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char err[256] = "";
        int64_t ns = 42;
        int r = time_parse_duration(rows[i].text, &ns, err, sizeof(err));
        if (rows[i].err) {
            if (r != -EINVAL || ns != 42)
                fail_row(rows[i].line, "want error", "accepted", rows[i].err);
            if (strcmp(err, rows[i].err) != 0)
                fail_row(rows[i].line, "message", err, rows[i].err);
        } else {
            if (r != 0)
                fail_row(rows[i].line, "parse", err, rows[i].text);
            if (ns != rows[i].ns) {
                print_error("line %d: got %" PRId64 "\n", rows[i].line, ns);
                fail();
            }
        }
    }
}

/* format -> parse -> same value, for durations whose text we know by hand. */
static void test_duration_round_trip(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "3h32m28.898993161s", "-1h0m0s", "1h30m0s", "10ms", "1.5s", "0s", "1m0s", "999ns",
    };
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        char err[128], out[TIME_DURATION_MAX];
        int64_t ns;
        assert_int_equal(time_parse_duration(texts[i], &ns, err, sizeof(err)), 0);
        time_format_duration(ns, out, sizeof(out));
        assert_string_equal(out, texts[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
