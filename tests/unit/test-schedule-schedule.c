/*
 * Unit tests for schedule/schedule: kinds, relative schedules, errors with
 * LUCI's messages, and the tock extensions (TZ=, H) with --strict-luci.
 * Vectors marked "spec N" come from luci-scheduler-spec.md section 2.7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/limits.h"
#include "base/time.h"
#include "schedule/schedule.h"
#include "schedule/tzdb.h"

static int64_t T(const char *s)
{
    int64_t ns;
    if (time_parse_rfc3339(s, &ns) < 0) {
        print_error("bad time in test table: %s\n", s);
        fail();
    }
    return ns;
}

static struct schedule *parse_ok(const char *text, const struct schedule_options *opts)
{
    struct schedule *s = NULL;
    char err[256] = "";
    if (schedule_parse(text, opts, &s, err, sizeof(err)) != 0) {
        print_error("'%s' does not parse: %s\n", text, err);
        fail();
    }
    return s;
}

static void test_kinds(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *text;
        enum schedule_kind kind;
        bool absolute;
        int64_t interval;
    } rows[] = {
        {__LINE__, "triggered", SCHEDULE_TRIGGERED, true, 0},
        {__LINE__, "continuously", SCHEDULE_RELATIVE, false, 0},
        {__LINE__, "with 15s interval", SCHEDULE_RELATIVE, false, 15 * NS_PER_SEC},
        {__LINE__, "with 0 interval", SCHEDULE_RELATIVE, false, 0},
        {__LINE__, "with 0s interval", SCHEDULE_RELATIVE, false, 0},
        {__LINE__, "with 1h30m interval", SCHEDULE_RELATIVE, false, 90 * NS_PER_MIN},
        {__LINE__, "with 1.5h interval", SCHEDULE_RELATIVE, false, 90 * NS_PER_MIN},
        {__LINE__, "with 250ms interval", SCHEDULE_RELATIVE, false, 250 * NS_PER_MS},
        {__LINE__, "0 */3 * * *", SCHEDULE_ABSOLUTE, true, 0},
        {__LINE__, "@daily", SCHEDULE_ABSOLUTE, true, 0},
        {__LINE__, "  0 2,10,18 * * *", SCHEDULE_ABSOLUTE, true, 0},
    };
    struct schedule_options opts = {0};
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct schedule *s = parse_ok(rows[i].text, &opts);
        if (schedule_kind(s) != rows[i].kind || schedule_is_absolute(s) != rows[i].absolute ||
            schedule_interval(s) != rows[i].interval ||
            strcmp(schedule_text(s), rows[i].text) != 0) {
            print_error("line %d: '%s'\n", rows[i].line, rows[i].text);
            fail();
        }
        assert_null(schedule_zone(s));
        schedule_free(s);
    }
    assert_null(schedule_free(NULL));
}

static void test_next(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *text;
        const char *now;
        const char *prev; /* NULL: TIME_ZERO */
        const char *want; /* "distant": TIME_DISTANT_FUTURE */
    } rows[] = {
        /* spec 8: tock drops LUCI's random first tick, so prev zero gives now + 15s. */
        {__LINE__, "with 15s interval", "2015-09-14T22:42:00Z", NULL, "2015-09-14T22:42:15Z"},
        /* spec 9, 10 */
        {__LINE__, "with 15s interval", "2015-09-14T22:42:16Z", "2015-09-14T22:42:15Z",
         "2015-09-14T22:42:30Z"},
        {__LINE__, "with 15s interval", "2015-09-14T22:42:31Z", "2015-09-14T22:42:15Z",
         "2015-09-14T22:42:31Z"},
        /* spec 16: enabled 00:00 -> 00:30; rewound at 00:40 -> 01:10 */
        {__LINE__, "with 30m interval", "2017-01-01T00:00:00Z", "2017-01-01T00:00:00Z",
         "2017-01-01T00:30:00Z"},
        {__LINE__, "with 30m interval", "2017-01-01T00:40:00Z", "2017-01-01T00:40:00Z",
         "2017-01-01T01:10:00Z"},
        /* spec 17: changed at 00:10 without touching the 00:00 rewind */
        {__LINE__, "with 30m interval", "2017-01-01T00:10:00Z", "2017-01-01T00:00:00Z",
         "2017-01-01T00:30:00Z"},
        /* spec 24: first tick 10 s after the job is enabled */
        {__LINE__, "with 10s interval", "2015-09-14T22:42:00Z", "2015-09-14T22:42:00Z",
         "2015-09-14T22:42:10Z"},
        {__LINE__, "with 10s interval", "2015-09-14T22:42:14Z", "2015-09-14T22:42:14Z",
         "2015-09-14T22:42:24Z"},
        {__LINE__, "continuously", "2015-09-14T22:42:31Z", "2015-09-14T22:42:15Z",
         "2015-09-14T22:42:31Z"},
        /* spec 19 */
        {__LINE__, "triggered", "2015-09-14T22:42:00Z", NULL, "distant"},
        /* spec 12, 20, 22: cron ignores prev */
        {__LINE__, "0 * * * *", "2017-01-01T00:15:00Z", "2017-01-01T00:00:00Z",
         "2017-01-01T01:00:00Z"},
        {__LINE__, "*/5 * * * * * *", "2015-09-14T22:42:00Z", NULL, "2015-09-14T22:42:05Z"},
        {__LINE__, "59 23 31 12 *", "2015-09-14T22:42:00Z", NULL, "2015-12-31T23:59:00Z"},
        {__LINE__, "* * * * * 1980", "2013-08-31T00:00:00Z", NULL, "never"},
    };
    struct schedule_options opts = {0};
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct schedule *s = parse_ok(rows[i].text, &opts);
        int64_t prev = rows[i].prev ? T(rows[i].prev) : TIME_ZERO;
        int64_t got = schedule_next(s, T(rows[i].now), prev);
        int64_t want = strcmp(rows[i].want, "distant") == 0 ? TIME_DISTANT_FUTURE
                       : strcmp(rows[i].want, "never") == 0 ? TIME_ZERO
                                                            : T(rows[i].want);
        if (got != want) {
            char gs[TIME_RFC3339_MAX];
            time_format_rfc3339(got, gs, sizeof(gs));
            print_error("line %d: got %s, want %s\n", rows[i].line, gs, rows[i].want);
            fail();
        }
        schedule_free(s);
    }
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *text;
        bool strict;
        const char *err;
    } rows[] = {
        /* spec 11 */
        {__LINE__, "not a schedule", false, "missing field(s)"},
        {__LINE__, "with bladasdafier", false, "expecting format \"with <duration> interval\""},
        {__LINE__, "with -1s interval", false, "bad interval \"-1s\" - it must be positive"},
        {__LINE__, "with NaNs interval", false,
         "bad duration \"NaNs\" - time: invalid duration \"NaNs\""},
        /* spec 40 */
        {__LINE__, "*/60 * * * * *", false, "invalid interval */60"},
        {__LINE__, "*/61 * * * * *", false, "invalid interval */61"},
        {__LINE__, "2/60 * * * * *", false, "invalid interval 2/60"},
        {__LINE__, "2-20/61 * * * * *", false, "invalid interval 2-20/61"},
        /* Relative-schedule shapes. */
        {__LINE__, "with  10s interval", false,
         "expecting format \"with <duration> interval\""},
        {__LINE__, "with 10s  interval", false,
         "expecting format \"with <duration> interval\""},
        {__LINE__, "with 10s interval ", false,
         "expecting format \"with <duration> interval\""},
        {__LINE__, "with 10s intervals", false,
         "expecting format \"with <duration> interval\""},
        {__LINE__, "with 10s", false, "expecting format \"with <duration> interval\""},
        {__LINE__, "with 10 interval", false,
         "bad duration \"10\" - time: missing unit in duration \"10\""},
        {__LINE__, "with 3d interval", false,
         "bad duration \"3d\" - time: unknown unit \"d\" in duration \"3d\""},
        {__LINE__, "with", false, "missing field(s)"},
        {__LINE__, "Triggered", false, "missing field(s)"},
        {__LINE__, "61 * * * *", false, "syntax error in minute field: '61'"},
        /* Extensions under --strict-luci. */
        {__LINE__, "TZ=Europe/Berlin 0 2 * * *", true,
         "time zones (TZ=...) are a tock extension that LUCI Scheduler does not accept"},
        {__LINE__, "H * * * *", true,
         "'H' is a tock extension that LUCI Scheduler does not accept"},
        {__LINE__, "0 H(2-5) * * *", true,
         "'H' is a tock extension that LUCI Scheduler does not accept"},
        /* Time-zone problems. */
        {__LINE__, "TZ=Mars/Olympus_Mons 0 2 * * *", false,
         "bad time zone \"Mars/Olympus_Mons\" - unknown time zone"},
        {__LINE__, "TZ=../../etc/passwd 0 2 * * *", false,
         "bad time zone \"../../etc/passwd\" - not a valid time-zone name"},
        {__LINE__, "TZ= 0 2 * * *", false, "missing time-zone name after \"TZ=\""},
        {__LINE__, "TZ=Europe/Berlin", false, "missing field(s)"},
        {__LINE__, "TZ=Europe/Berlin 0 2 * *", false, "missing field(s)"},
    };
    struct tz_db *db = tz_db_new(NULL);
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct schedule_options opts = {
            .strict_luci = rows[i].strict,
            .job_id = "p/j",
            .tz_load = tz_db_load,
            .tz_ctx = db,
        };
        struct schedule *s = NULL;
        char err[256] = "";
        int r = schedule_parse(rows[i].text, &opts, &s, err, sizeof(err));
        if (r != -EINVAL || s != NULL || strcmp(err, rows[i].err) != 0) {
            print_error("line %d: '%s': r=%d err '%s', want '%s'\n", rows[i].line,
                        rows[i].text, r, err, rows[i].err);
            fail();
        }
    }
    tz_db_free(db);

    /* No loader: TZ= is refused. */
    struct schedule_options none = {0};
    struct schedule *s = NULL;
    char err[256];
    assert_int_equal(schedule_parse("TZ=UTC 0 2 * * *", &none, &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "bad time zone \"UTC\" - no time-zone database is available");

    /* Over the length limit, for every kind. */
    char big[LIMIT_SCHEDULE_LEN + 2];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "with 1s interval", 16);
    assert_int_equal(schedule_parse(big, &none, &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "schedule is longer than 1024 bytes");
    memcpy(big, "0 * * * *       ", 16);
    assert_int_equal(schedule_parse(big, &none, &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "schedule is longer than 1024 bytes");
    /* ... but exactly at the limit is fine (trailing blanks are accepted). */
    big[LIMIT_SCHEDULE_LEN] = '\0';
    assert_int_equal(schedule_parse(big, &none, &s, err, sizeof(err)), 0);
    schedule_free(s);
}

static void test_extensions(void **state)
{
    (void)state;
    struct tz_db *db = tz_db_new(NULL);
    struct schedule_options opts = {.job_id = "proj/job", .tz_load = tz_db_load, .tz_ctx = db};

    /* H with the same id gives the same times; see the cron tests for values. */
    struct schedule *a = parse_ok("H H * * *", &opts);
    struct schedule *b = parse_ok("H H * * *", &opts);
    int64_t from = T("2013-01-01T00:00:00Z");
    assert_true(schedule_next(a, from, TIME_ZERO) == T("2013-01-01T01:46:00Z"));
    assert_true(schedule_next(b, from, TIME_ZERO) == T("2013-01-01T01:46:00Z"));
    schedule_free(a);
    schedule_free(b);

    /* Strict mode accepts what LUCI accepts. */
    struct schedule_options strict = {.strict_luci = true};
    a = parse_ok("0 */3 * * *", &strict);
    schedule_free(a);

    /* TZ= with H together, and the zone is visible. */
    a = parse_ok("TZ=Europe/Berlin H 3 * * *", &opts);
    assert_non_null(schedule_zone(a));
    assert_string_equal(schedule_text(a), "TZ=Europe/Berlin H 3 * * *");
    /* 03:46 CEST = 01:46 UTC in July. */
    assert_true(schedule_next(a, T("2026-07-01T00:00:00Z"), TIME_ZERO) ==
                T("2026-07-01T01:46:00Z"));
    schedule_free(a);
    a = parse_ok("  TZ=America/New_York   @daily", &opts);
    assert_true(schedule_next(a, T("2026-07-01T00:00:00Z"), TIME_ZERO) ==
                T("2026-07-01T04:00:00Z"));
    schedule_free(a);
    tz_db_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
