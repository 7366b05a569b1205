/*
 * Unit tests for schedule/cron: parsing, error messages and next times in
 * UTC.  Rows marked "spec N" are the test vectors of luci-scheduler-spec.md
 * section 2.7; the others were worked out by hand with a calendar (the
 * weekday of each date is noted where it matters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "schedule/cron.h"

#define MAX_EXPECT 5

static int64_t T(const char *s)
{
    int64_t ns;
    if (time_parse_rfc3339(s, &ns) < 0) {
        print_error("bad time in test table: %s\n", s);
        fail();
    }
    return ns;
}

static void fmt(int64_t ns, char *out, size_t n)
{
    if (ns == TIME_ZERO)
        snprintf(out, n, "never");
    else
        time_format_rfc3339(ns, out, n);
}

struct next_row {
    int line;
    const char *expr;
    const char *job_id;
    const char *from;
    /*
     * Successive results; each query starts 1 ms after the previous result
     * (the spec's timeTable).  "never" means TIME_ZERO.
     */
    const char *want[MAX_EXPECT];
};

static void run_next_rows(const struct next_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct cron_expr *e = NULL;
        char err[256] = "";
        if (cron_expr_parse(rows[i].expr, rows[i].job_id, 0, &e, err, sizeof(err)) != 0) {
            print_error("line %d: '%s' does not parse: %s\n", rows[i].line, rows[i].expr, err);
            fail();
        }
        int64_t t = T(rows[i].from);
        for (int k = 0; k < MAX_EXPECT && rows[i].want[k]; k++) {
            int64_t got = cron_expr_next(e, NULL, t);
            char gs[TIME_RFC3339_MAX];
            fmt(got, gs, sizeof(gs));
            if (strcmp(gs, rows[i].want[k]) != 0) {
                print_error("line %d: '%s' result %d: got %s, want %s\n", rows[i].line,
                            rows[i].expr, k + 1, gs, rows[i].want[k]);
                fail();
            }
            if (got == TIME_ZERO)
                break;
            t = got + NS_PER_MS;
        }
        cron_expr_free(e);
    }
}

static void test_spec_vectors(void **state)
{
    (void)state;
    static const struct next_row rows[] = {
        /* spec 1, 2 */
        {__LINE__, "*/15 * * * * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-14T22:42:15Z", "2015-09-14T22:42:30Z"}},
        /* spec 3 */
        {__LINE__, "0 */3 * * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-15T00:00:00Z", "2015-09-15T03:00:00Z", "2015-09-15T06:00:00Z",
          "2015-09-15T09:00:00Z"}},
        /* spec 4 */
        {__LINE__, "0 1/3 * * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-15T01:00:00Z", "2015-09-15T04:00:00Z", "2015-09-15T07:00:00Z",
          "2015-09-15T10:00:00Z"}},
        /* spec 5 */
        {__LINE__, "0 */3 * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-15T00:00:00Z", "2015-09-15T03:00:00Z", "2015-09-15T06:00:00Z",
          "2015-09-15T09:00:00Z"}},
        /* spec 6 */
        {__LINE__, "0 2,10,18 * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-15T02:00:00Z", "2015-09-15T10:00:00Z", "2015-09-15T18:00:00Z",
          "2015-09-16T02:00:00Z"}},
        /* spec 7 */
        {__LINE__, "0 7 * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-15T07:00:00Z", "2015-09-16T07:00:00Z", "2015-09-17T07:00:00Z",
          "2015-09-18T07:00:00Z"}},
        /* spec 12, 13 (the Next part): enabled at 00:15 */
        {__LINE__, "0 * * * *", NULL, "2017-01-01T00:15:00Z", {"2017-01-01T01:00:00Z"}},
        /* spec 15: now corrected to the tick time 01:00 -> next 02:00 */
        {__LINE__, "0 * * * *", NULL, "2017-01-01T01:00:00Z", {"2017-01-01T02:00:00Z"}},
        {__LINE__, "0 * * * *", NULL, "2017-01-01T00:59:59.980Z", {"2017-01-01T01:00:00Z"}},
        /* spec 18 */
        {__LINE__, "0 * * * *", NULL, "2017-01-01T01:30:00Z", {"2017-01-01T02:00:00Z"}},
        {__LINE__, "45 * * * *", NULL, "2017-01-01T01:30:00Z", {"2017-01-01T01:45:00Z"}},
        /* spec 20, 21, 23 */
        {__LINE__, "*/5 * * * * * *", NULL, "2015-09-14T22:42:00Z", {"2015-09-14T22:42:05Z"}},
        {__LINE__, "*/30 * * * * * *", NULL, "2015-09-14T22:42:00Z", {"2015-09-14T22:42:30Z"}},
        {__LINE__, "5,10 * * * * * *", NULL, "2015-09-14T22:42:00Z",
         {"2015-09-14T22:42:05Z", "2015-09-14T22:42:10Z", "2015-09-14T22:43:05Z"}},
        /* spec 22 */
        {__LINE__, "59 23 31 12 *", NULL, "2015-09-14T22:42:00Z", {"2015-12-31T23:59:00Z"}},
        /* spec 25 */
        {__LINE__, "* * * * * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:00:01Z"}},
        {__LINE__, "* * * * * * *", NULL, "2013-01-01T00:00:59Z", {"2013-01-01T00:01:00Z"}},
        {__LINE__, "* * * * * * *", NULL, "2013-02-28T23:59:59Z", {"2013-03-01T00:00:00Z"}},
        {__LINE__, "* * * * * * *", NULL, "2016-02-28T23:59:59Z", {"2016-02-29T00:00:00Z"}},
        {__LINE__, "* * * * * * *", NULL, "2012-12-31T23:59:59Z", {"2013-01-01T00:00:00Z"}},
        /* spec 26 */
        {__LINE__, "*/5 * * * * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:00:05Z"}},
        {__LINE__, "*/5 * * * * * *", NULL, "2013-01-01T00:59:59Z", {"2013-01-01T01:00:00Z"}},
        /* spec 27 */
        {__LINE__, "* * * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:01:00Z"}},
        {__LINE__, "* * * * *", NULL, "2013-01-01T00:00:59Z", {"2013-01-01T00:01:00Z"}},
        {__LINE__, "* * * * *", NULL, "2013-01-01T23:59:00Z", {"2013-01-02T00:00:00Z"}},
        /* spec 28 */
        {__LINE__, "17-43/5 * * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:17:00Z"}},
        {__LINE__, "17-43/5 * * * *", NULL, "2013-01-01T00:16:59Z", {"2013-01-01T00:17:00Z"}},
        {__LINE__, "17-43/5 * * * *", NULL, "2013-01-01T00:30:00Z", {"2013-01-01T00:32:00Z"}},
        {__LINE__, "17-43/5 * * * *", NULL, "2013-01-01T00:50:00Z", {"2013-01-01T01:17:00Z"}},
        {__LINE__, "17-43/5 * * * *", NULL, "2013-01-01T23:50:00Z", {"2013-01-02T00:17:00Z"}},
        /* spec 29 */
        {__LINE__, "15-30/4,55 * * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:15:00Z"}},
        {__LINE__, "15-30/4,55 * * * *", NULL, "2013-01-01T00:16:00Z", {"2013-01-01T00:19:00Z"}},
        {__LINE__, "15-30/4,55 * * * *", NULL, "2013-01-01T00:30:00Z", {"2013-01-01T00:55:00Z"}},
        {__LINE__, "15-30/4,55 * * * *", NULL, "2013-01-01T00:55:00Z", {"2013-01-01T01:15:00Z"}},
        {__LINE__, "15-30/4,55 * * * *", NULL, "2012-12-31T23:54:00Z", {"2012-12-31T23:55:00Z"}},
        /* spec 30 */
        {__LINE__, "0 0 * * MON", NULL, "2013-01-01T00:00:00Z", {"2013-01-07T00:00:00Z"}},
        {__LINE__, "0 0 * * MON", NULL, "2013-01-28T00:00:00Z", {"2013-02-04T00:00:00Z"}},
        {__LINE__, "0 0 * * MON", NULL, "2013-12-30T00:30:00Z", {"2014-01-06T00:00:00Z"}},
        /* spec 31 */
        {__LINE__, "0 0 * * friday", NULL, "2013-01-01T00:00:00Z", {"2013-01-04T00:00:00Z"}},
        {__LINE__, "0 0 * * friday", NULL, "2013-01-28T00:00:00Z", {"2013-02-01T00:00:00Z"}},
        {__LINE__, "0 0 * * friday", NULL, "2013-12-30T00:30:00Z", {"2014-01-03T00:00:00Z"}},
        /* spec 32 */
        {__LINE__, "0 0 * * 6,7", NULL, "2013-01-01T00:00:00Z", {"2013-01-05T00:00:00Z"}},
        {__LINE__, "0 0 * * 6,7", NULL, "2013-01-28T00:00:00Z", {"2013-02-02T00:00:00Z"}},
        {__LINE__, "0 0 * * 6,7", NULL, "2013-12-30T00:30:00Z", {"2014-01-04T00:00:00Z"}},
        /* spec 33 */
        {__LINE__, "0 0 * * 6#5", NULL, "2013-09-02T08:44:30Z",
         {"2013-11-30T00:00:00Z", "2014-03-29T00:00:00Z", "2014-05-31T00:00:00Z",
          "2014-08-30T00:00:00Z", "2014-11-29T00:00:00Z"}},
        /* spec 34 */
        {__LINE__, "0 0 14W * *", NULL, "2013-03-31T00:00:00Z", {"2013-04-15T00:00:00Z"}},
        {__LINE__, "0 0 14W * *", NULL, "2013-08-31T00:00:00Z", {"2013-09-13T00:00:00Z"}},
        /* spec 35 */
        {__LINE__, "0 0 30W * *", NULL, "2013-03-02T00:00:00Z", {"2013-03-29T00:00:00Z"}},
        {__LINE__, "0 0 30W * *", NULL, "2013-06-02T00:00:00Z", {"2013-06-28T00:00:00Z"}},
        {__LINE__, "0 0 30W * *", NULL, "2013-09-02T00:00:00Z", {"2013-09-30T00:00:00Z"}},
        {__LINE__, "0 0 30W * *", NULL, "2013-11-02T00:00:00Z", {"2013-11-29T00:00:00Z"}},
        /* spec 36 */
        {__LINE__, "0 0 L * *", NULL, "2013-09-02T00:00:00Z", {"2013-09-30T00:00:00Z"}},
        {__LINE__, "0 0 L * *", NULL, "2014-01-01T00:00:00Z", {"2014-01-31T00:00:00Z"}},
        {__LINE__, "0 0 L * *", NULL, "2014-02-01T00:00:00Z", {"2014-02-28T00:00:00Z"}},
        {__LINE__, "0 0 L * *", NULL, "2016-02-15T00:00:00Z", {"2016-02-29T00:00:00Z"}},
        /* spec 37 */
        {__LINE__, "0 0 LW * *", NULL, "2013-09-02T00:00:00Z", {"2013-09-30T00:00:00Z"}},
        {__LINE__, "0 0 LW * *", NULL, "2013-11-02T00:00:00Z", {"2013-11-29T00:00:00Z"}},
        {__LINE__, "0 0 LW * *", NULL, "2014-08-15T00:00:00Z", {"2014-08-29T00:00:00Z"}},
        /* spec 38 */
        {__LINE__, "*/5 * * * *", NULL, "2013-09-02T08:44:32Z",
         {"2013-09-02T08:45:00Z", "2013-09-02T08:50:00Z", "2013-09-02T08:55:00Z",
          "2013-09-02T09:00:00Z", "2013-09-02T09:05:00Z"}},
        /* spec 39 */
        {__LINE__, "* * * * * 1980", NULL, "2013-08-31T00:00:00Z", {"never"}},
        {__LINE__, "* * * * * 2050", NULL, "2013-08-31T00:00:00Z", {"2050-01-01T00:00:00Z"}},
    };
    run_next_rows(rows, ARRAY_SIZE(rows));
}

static void test_own_vectors(void **state)
{
    (void)state;
    static const struct next_row rows[] = {
        /* Feb 29 only in leap years; 2100 is not one and is out of range anyway. */
        {__LINE__, "0 0 29 2 *", NULL, "2013-01-01T00:00:00Z",
         {"2016-02-29T00:00:00Z", "2020-02-29T00:00:00Z", "2024-02-29T00:00:00Z"}},
        {__LINE__, "0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", {"never"}},
        {__LINE__, "0 0 30 2 *", NULL, "2013-01-01T00:00:00Z", {"never"}},
        /* 31 skips the 30-day months (and February). */
        {__LINE__, "0 0 31 * *", NULL, "2013-01-31T00:00:00Z",
         {"2013-03-31T00:00:00Z", "2013-05-31T00:00:00Z", "2013-07-31T00:00:00Z",
          "2013-08-31T00:00:00Z", "2013-10-31T00:00:00Z"}},
        /* 2013-06-01 is a Saturday: 1W moves to Monday the 3rd, not back to May. */
        {__LINE__, "0 0 1W * *", NULL, "2013-05-15T00:00:00Z", {"2013-06-03T00:00:00Z"}},
        /* 2013-09-01 is a Sunday: 1W is Monday the 2nd. */
        {__LINE__, "0 0 1W * *", NULL, "2013-08-02T00:00:00Z", {"2013-09-02T00:00:00Z"}},
        /* 2013-03-31 is a Sunday: LW and 31W are Friday the 29th. */
        {__LINE__, "0 0 LW * *", NULL, "2013-03-01T00:00:00Z", {"2013-03-29T00:00:00Z"}},
        {__LINE__, "0 0 31W * *", NULL, "2013-03-01T00:00:00Z", {"2013-03-29T00:00:00Z"}},
        /* 2013-08-31 is a Saturday: LW is Friday the 30th. */
        {__LINE__, "0 0 LW * *", NULL, "2013-08-01T00:00:00Z", {"2013-08-30T00:00:00Z"}},
        /* 30W never fires in February. */
        {__LINE__, "0 0 30W 2 *", NULL, "2013-01-01T00:00:00Z", {"never"}},
        /* Last Friday: 2013-09-27; first Monday of October 2013: the 7th. */
        {__LINE__, "0 0 * * 5L", NULL, "2013-09-02T00:00:00Z",
         {"2013-09-27T00:00:00Z", "2013-10-25T00:00:00Z"}},
        {__LINE__, "0 0 * * 1#1", NULL, "2013-09-03T00:00:00Z", {"2013-10-07T00:00:00Z"}},
        {__LINE__, "0 0 * * sun#2", NULL, "2013-09-03T00:00:00Z", {"2013-09-08T00:00:00Z"}},
        /* OR rule: the 1st or a Monday (2013-09-30 Mon, 10-01 Tue, 10-07 Mon). */
        {__LINE__, "0 0 1 * 1", NULL, "2013-09-24T00:00:00Z",
         {"2013-09-30T00:00:00Z", "2013-10-01T00:00:00Z", "2013-10-07T00:00:00Z"}},
        /* "*" + "/1" counts as restricted: every day OR Mondays = every day. */
        {__LINE__, "0 0 */1 * 1", NULL, "2013-09-03T00:00:00Z", {"2013-09-04T00:00:00Z"}},
        {__LINE__, "0 0 * * 1", NULL, "2013-09-03T00:00:00Z", {"2013-09-09T00:00:00Z"}},
        {__LINE__, "0 0 ? * 1", NULL, "2013-09-03T00:00:00Z", {"2013-09-09T00:00:00Z"}},
        {__LINE__, "0 0 13 * ?", NULL, "2013-09-03T00:00:00Z", {"2013-09-13T00:00:00Z"}},
        /* DOW 7 is Sunday (2013-09-08). */
        {__LINE__, "0 0 * * 7", NULL, "2013-09-03T00:00:00Z", {"2013-09-08T00:00:00Z"}},
        {__LINE__, "0 0 * * 5-7", NULL, "2013-09-07T12:00:00Z",
         {"2013-09-08T00:00:00Z", "2013-09-13T00:00:00Z"}},
        /* Steps end at the end of their range and restart at the next unit. */
        {__LINE__, "*/7 * * * *", NULL, "2013-01-01T00:50:00Z",
         {"2013-01-01T00:56:00Z", "2013-01-01T01:00:00Z", "2013-01-01T01:07:00Z"}},
        {__LINE__, "0 22/5 * * *", NULL, "2013-01-01T23:00:00Z", {"2013-01-02T22:00:00Z"}},
        {__LINE__, "0 0 */10 * *", NULL, "2013-01-25T00:00:00Z",
         {"2013-01-31T00:00:00Z", "2013-02-01T00:00:00Z"}},
        /* Year bounds. */
        {__LINE__, "0 0 1 1 * 2099", NULL, "2013-01-01T00:00:00Z",
         {"2099-01-01T00:00:00Z", "never"}},
        {__LINE__, "* * * * *", NULL, "2099-12-31T23:58:30Z",
         {"2099-12-31T23:59:00Z", "never"}},
        {__LINE__, "* * * * * 2099", NULL, "2013-01-01T00:00:00Z", {"2099-01-01T00:00:00Z"}},
        {__LINE__, "0 0 * * 6#5 2099", NULL, "2013-01-01T00:00:00Z",
         {"2099-01-31T00:00:00Z"}},
        {__LINE__, "0 0 1 1 * 1970-1975/2", NULL, "1960-06-01T00:00:00Z",
         {"1970-01-01T00:00:00Z", "1972-01-01T00:00:00Z", "1974-01-01T00:00:00Z", "never"}},
        /* Before 1970 the search starts at 1970. */
        {__LINE__, "0 0 1 1 *", NULL, "1950-01-01T00:00:00Z", {"1970-01-01T00:00:00Z"}},
        /* Macros. */
        {__LINE__, "@yearly", NULL, "2013-05-05T00:00:00Z", {"2014-01-01T00:00:00Z"}},
        {__LINE__, "@annually", NULL, "2013-05-05T00:00:00Z", {"2014-01-01T00:00:00Z"}},
        {__LINE__, "@monthly", NULL, "2013-05-05T00:00:00Z", {"2013-06-01T00:00:00Z"}},
        {__LINE__, "@weekly", NULL, "2013-09-02T00:00:00Z", {"2013-09-08T00:00:00Z"}},
        {__LINE__, "@daily", NULL, "2013-09-02T00:00:00Z", {"2013-09-03T00:00:00Z"}},
        {__LINE__, "@hourly", NULL, "2013-09-02T00:30:00Z", {"2013-09-02T01:00:00Z"}},
        {__LINE__, "  @daily  ", NULL, "2013-09-02T00:00:00Z", {"2013-09-03T00:00:00Z"}},
        /* Names, case, blanks, extra fields. */
        {__LINE__, "0 0 1 jan-MAR *", NULL, "2013-03-05T00:00:00Z",
         {"2014-01-01T00:00:00Z", "2014-02-01T00:00:00Z"}},
        {__LINE__, "0 0 1 February *", NULL, "2013-03-05T00:00:00Z", {"2014-02-01T00:00:00Z"}},
        {__LINE__, "0 0 * * SUNDAY", NULL, "2013-09-03T00:00:00Z", {"2013-09-08T00:00:00Z"}},
        {__LINE__, "0 0 * * mon-fri", NULL, "2013-09-06T12:00:00Z", {"2013-09-09T00:00:00Z"}},
        {__LINE__, "  0 2,10,18 * * *", NULL, "2015-09-14T22:42:00Z", {"2015-09-15T02:00:00Z"}},
        {__LINE__, "0 10 * * * ", NULL, "2015-09-14T22:42:00Z", {"2015-09-15T10:00:00Z"}},
        {__LINE__, "0\t10  *\n* *", NULL, "2015-09-14T22:42:00Z", {"2015-09-15T10:00:00Z"}},
        {__LINE__, "0 0 0 1 1 * 2020 whatever else", NULL, "2013-01-01T00:00:00Z",
         {"2020-01-01T00:00:00Z", "never"}},
        {__LINE__, "07 05 01 * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T05:07:00Z"}},
        {__LINE__, "*/10 * * * * * *", NULL, "2013-01-01T00:00:55Z",
         {"2013-01-01T00:01:00Z", "2013-01-01T00:01:10Z"}},
        /* Sub-second parts of the query are ignored. */
        {__LINE__, "* * * * * * *", NULL, "2013-01-01T00:00:00.999Z", {"2013-01-01T00:00:01Z"}},
        /* H: values from cron_h_hash, worked out independently (see docs). */
        {__LINE__, "H H * * *", "proj/job", "2013-01-01T00:00:00Z",
         {"2013-01-01T01:46:00Z", "2013-01-02T01:46:00Z"}},
        {__LINE__, "H H * * *", NULL, "2013-01-01T00:00:00Z", {"2013-01-01T00:25:00Z"}},
        {__LINE__, "H H * * *", "", "2013-01-01T00:00:00Z", {"2013-01-01T00:25:00Z"}},
        {__LINE__, "H/15 * * * *", "proj/job", "2013-01-01T00:00:00Z",
         {"2013-01-01T00:01:00Z", "2013-01-01T00:16:00Z", "2013-01-01T00:31:00Z",
          "2013-01-01T00:46:00Z", "2013-01-01T01:01:00Z"}},
        {__LINE__, "H(10-20) * * * *", "proj/job", "2013-01-01T00:00:00Z",
         {"2013-01-01T00:13:00Z"}},
        {__LINE__, "0 0 H * *", "proj/job", "2013-01-01T00:00:00Z", {"2013-01-20T00:00:00Z"}},
        {__LINE__, "h h * * *", "chromium/ci-linux", "2013-01-01T00:00:00Z",
         {"2013-01-01T15:42:00Z"}},
    };
    run_next_rows(rows, ARRAY_SIZE(rows));
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *expr;
        unsigned flags;
        const char *err;
    } rows[] = {
        /* spec 11 (the cron part of "not a schedule") and spec 40 */
        {__LINE__, "not a schedule", 0, "missing field(s)"},
        {__LINE__, "*/60 * * * * *", 0, "invalid interval */60"},
        {__LINE__, "*/61 * * * * *", 0, "invalid interval */61"},
        {__LINE__, "2/60 * * * * *", 0, "invalid interval 2/60"},
        {__LINE__, "2-20/61 * * * * *", 0, "invalid interval 2-20/61"},
        {__LINE__, "*/0 * * * *", 0, "invalid interval */0"},
        {__LINE__, "* */24 * * *", 0, "invalid interval */24"},
        {__LINE__, "* * * * */7", 0, "invalid interval */7"},
        {__LINE__, "* * */32 * *", 0, "invalid interval */32"},
        {__LINE__, "* * * */13 *", 0, "invalid interval */13"},
        {__LINE__, "*/x * * * *", 0, "invalid interval */x"},
        {__LINE__, "*/ * * * *", 0, "invalid interval */"},
        {__LINE__, "*/005 * * * *", 0, "invalid interval */005"},
        {__LINE__, "61 * * * *", 0, "syntax error in minute field: '61'"},
        {__LINE__, "* 24 * * *", 0, "syntax error in hour field: '24'"},
        {__LINE__, "* * 0 * *", 0, "syntax error in day-of-month field: '0'"},
        {__LINE__, "* * 32 * *", 0, "syntax error in day-of-month field: '32'"},
        {__LINE__, "* * * 13 *", 0, "syntax error in month field: '13'"},
        {__LINE__, "* * * 0 *", 0, "syntax error in month field: '0'"},
        {__LINE__, "* * * 01 *", 0, "syntax error in month field: '01'"},
        {__LINE__, "* * * * 8", 0, "syntax error in day-of-week field: '8'"},
        {__LINE__, "* * * * * 1969", 0, "syntax error in year field: '1969'"},
        {__LINE__, "* * * * * 2100", 0, "syntax error in year field: '2100'"},
        {__LINE__, "60 * * * * * *", 0, "syntax error in second field: '60'"},
        {__LINE__, "5-1 * * * *", 0, "syntax error in minute field: '5-1'"},
        {__LINE__, "* * * * FRI-MON", 0, "syntax error in day-of-week field: 'fri-mon'"},
        {__LINE__, "MON * * * *", 0, "syntax error in minute field: 'mon'"},
        {__LINE__, "* * * JANU *", 0, "syntax error in month field: 'janu'"},
        {__LINE__, "1,,2 * * * *", 0, "syntax error in minute field: ''"},
        {__LINE__, "1- * * * *", 0, "syntax error in minute field: '1-'"},
        {__LINE__, "-1 * * * *", 0, "syntax error in minute field: '-1'"},
        {__LINE__, "0 0 L * L", 0, "syntax error in day-of-week field: 'l'"},
        {__LINE__, "0 0 * * 1#6", 0, "syntax error in day-of-week field: '1#6'"},
        {__LINE__, "0 0 * * 1#0", 0, "syntax error in day-of-week field: '1#0'"},
        {__LINE__, "0 0 0W * *", 0, "syntax error in day-of-month field: '0w'"},
        {__LINE__, "0 0 32W * *", 0, "syntax error in day-of-month field: '32w'"},
        {__LINE__, "0 0 LW/2 * *", 0, "syntax error in day-of-month field: 'lw/2'"},
        {__LINE__, ", * * * *", 0, "minute field: missing directive"},
        {__LINE__, "0 ,, * * *", 0, "hour field: missing directive"},
        {__LINE__, "* * * *", 0, "missing field(s)"},
        {__LINE__, "", 0, "missing field(s)"},
        {__LINE__, "   ", 0, "missing field(s)"},
        {__LINE__, "@midnight", 0, "missing field(s)"},
        {__LINE__, "@reboot", 0, "missing field(s)"},
        {__LINE__, "@every 5m", 0, "missing field(s)"},
        {__LINE__, "H * * * *", CRON_STRICT_LUCI,
         "'H' is a tock extension that LUCI Scheduler does not accept"},
        {__LINE__, "0 H(1-5) * * *", CRON_STRICT_LUCI,
         "'H' is a tock extension that LUCI Scheduler does not accept"},
        {__LINE__, "H(5-1) * * * *", 0, "syntax error in minute field: 'h(5-1)'"},
        {__LINE__, "H(5-1 * * * *", 0, "syntax error in minute field: 'h(5-1'"},
        {__LINE__, "Hx * * * *", 0, "syntax error in minute field: 'hx'"},
        {__LINE__, "H/60 * * * *", 0, "invalid interval h/60"},
        {__LINE__, "H(0-70) * * * *", 0, "syntax error in minute field: 'h(0-70)'"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct cron_expr *e = (struct cron_expr *)&rows[i]; /* must stay untouched */
        char err[256] = "";
        int r = cron_expr_parse(rows[i].expr, "job", rows[i].flags, &e, err, sizeof(err));
        if (r != -EINVAL || e != (struct cron_expr *)&rows[i] || strcmp(err, rows[i].err) != 0) {
            print_error("line %d: '%s': r=%d err '%s', want '%s'\n", rows[i].line, rows[i].expr,
                        r, err, rows[i].err);
            fail();
        }
    }

    /* Over the length limit. */
    char big[2100];
    memset(big, '*', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 1; i < sizeof(big) - 1; i += 2)
        big[i] = ' ';
    struct cron_expr *e = NULL;
    char err[256];
    assert_int_equal(cron_expr_parse(big, NULL, 0, &e, err, sizeof(err)), -EINVAL);
    assert_null(e);
    assert_string_equal(err, "cron expression is longer than 1024 bytes");
}

/* Properties of H that must hold for any job id. */
static void test_h_properties(void **state)
{
    (void)state;
    int64_t from = T("2013-01-01T00:00:00Z");
    bool minutes[60] = {false};
    int distinct = 0;
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "project/job-%d", i);
        struct cron_expr *a, *b, *r, *s, *d;
        char err[128];
        assert_int_equal(cron_expr_parse("H H * * *", id, 0, &a, err, sizeof(err)), 0);
        assert_int_equal(cron_expr_parse("H H * * *", id, 0, &b, err, sizeof(err)), 0);
        assert_true(cron_expr_uses_h(a));
        int64_t ta = cron_expr_next(a, NULL, from);
        assert_true(ta == cron_expr_next(b, NULL, from));
        int64_t sod = (time_floor_sec(ta) % 86400);
        if (!minutes[sod / 60 % 60]) {
            minutes[sod / 60 % 60] = true;
            distinct++;
        }
        /* Range and step forms stay inside their ranges. */
        assert_int_equal(cron_expr_parse("H(10-20) H(3-4) * * *", id, 0, &r, err, sizeof(err)),
                         0);
        int64_t tr = time_floor_sec(cron_expr_next(r, NULL, from)) % 86400;
        assert_in_range(tr / 60 % 60, 10, 20);
        assert_in_range(tr / 3600, 3, 4);
        assert_int_equal(cron_expr_parse("H(0-29)/10 * * * *", id, 0, &s, err, sizeof(err)), 0);
        int64_t t = from, m0 = -1;
        for (int k = 0; k < 6; k++) {
            t = cron_expr_next(s, NULL, t);
            int64_t m = time_floor_sec(t) / 60 % 60;
            assert_in_range(m, 0, 29);
            if (k == 0)
                m0 = m;
            assert_true(m % 10 == m0 % 10);
        }
        assert_int_equal(cron_expr_parse("0 0 H * *", id, 0, &d, err, sizeof(err)), 0);
        int64_t td = cron_expr_next(d, NULL, from);
        int64_t y;
        int mo, day;
        time_civil_from_days(time_floor_sec(td) / 86400, &y, &mo, &day);
        assert_in_range(day, 1, 28);
        cron_expr_free(a);
        cron_expr_free(b);
        cron_expr_free(r);
        cron_expr_free(s);
        cron_expr_free(d);
    }
    /* 200 ids over 60 minutes: a decent hash leaves few minutes unused. */
    assert_true(distinct >= 45);
    /* Fields get different hashes: the same id does not give minute == hour. */
    assert_true(cron_h_hash("x", 1) != cron_h_hash("x", 2));
    assert_true(cron_h_hash(NULL, 3) == cron_h_hash("", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_own_vectors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_h_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
