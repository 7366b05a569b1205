/*
 * Unit tests for schedule/tz and schedule/tzdb: real zoneinfo files (DST
 * gaps and folds, the POSIX footer rule), name checks, and hostile TZif
 * buffers.  Transition dates were worked out by hand from the EU rule (last
 * Sunday of March/October, 01:00 UTC), the US rule (second Sunday of March,
 * first Sunday of November, 02:00 local) and Lord Howe's (first Sunday of
 * October/April, 02:00 local, 30-minute shift).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/limits.h"
#include "base/time.h"
#include "schedule/cron.h"
#include "schedule/schedule.h"
#include "schedule/tz.h"
#include "schedule/tzdb.h"

#define ZONEINFO "/usr/share/zoneinfo"

static int64_t T(const char *s)
{
    int64_t ns;
    if (time_parse_rfc3339(s, &ns) < 0) {
        print_error("bad time in test table: %s\n", s);
        fail();
    }
    return ns;
}

static int64_t S(const char *s)
{
    return time_floor_sec(T(s));
}

static const struct tz_zone *load(struct tz_db *db, const char *name)
{
    char err[256] = "";
    const struct tz_zone *z = tz_db_load(db, name, err, sizeof(err));
    if (!z) {
        print_error("cannot load %s: %s\n", name, err);
        fail();
    }
    return z;
}

static void test_offsets(void **state)
{
    (void)state;
    struct tz_db *db = tz_db_new(NULL);
    assert_non_null(db);
    static const struct {
        int line;
        const char *zone;
        const char *at;
        int32_t off;
    } rows[] = {
        {__LINE__, "UTC", "2026-07-01T00:00:00Z", 0},
        {__LINE__, "Etc/UTC", "2026-07-01T00:00:00Z", 0},
        {__LINE__, "Europe/Berlin", "2026-01-15T12:00:00Z", 3600},
        {__LINE__, "Europe/Berlin", "2026-07-15T12:00:00Z", 7200},
        {__LINE__, "Europe/Berlin", "2026-03-29T00:59:59Z", 3600},
        {__LINE__, "Europe/Berlin", "2026-03-29T01:00:00Z", 7200},
        {__LINE__, "Europe/Berlin", "2026-10-25T00:59:59Z", 7200},
        {__LINE__, "Europe/Berlin", "2026-10-25T01:00:00Z", 3600},
        /* The footer rule: 2090-01-01 is a Sunday, so the last Sunday of
         * March 2090 is the 26th and of October the 29th. */
        {__LINE__, "Europe/Berlin", "2090-01-15T12:00:00Z", 3600},
        {__LINE__, "Europe/Berlin", "2090-03-26T00:59:59Z", 3600},
        {__LINE__, "Europe/Berlin", "2090-03-26T01:00:00Z", 7200},
        {__LINE__, "Europe/Berlin", "2090-07-01T00:00:00Z", 7200},
        {__LINE__, "Europe/Berlin", "2090-10-29T00:59:59Z", 7200},
        {__LINE__, "Europe/Berlin", "2090-10-29T01:00:00Z", 3600},
        {__LINE__, "America/New_York", "2026-03-08T06:59:59Z", -5 * 3600},
        {__LINE__, "America/New_York", "2026-03-08T07:00:00Z", -4 * 3600},
        {__LINE__, "America/New_York", "2026-11-01T05:59:59Z", -4 * 3600},
        {__LINE__, "America/New_York", "2026-11-01T06:00:00Z", -5 * 3600},
        {__LINE__, "Australia/Lord_Howe", "2026-07-01T00:00:00Z", 10 * 3600 + 1800},
        {__LINE__, "Australia/Lord_Howe", "2026-12-01T00:00:00Z", 11 * 3600},
        {__LINE__, "Asia/Tokyo", "2026-07-01T00:00:00Z", 9 * 3600},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        const struct tz_zone *z = load(db, rows[i].zone);
        int32_t off = tz_zone_offset(z, S(rows[i].at));
        if (off != rows[i].off) {
            print_error("line %d: offset %d, want %d\n", rows[i].line, off, rows[i].off);
            fail();
        }
    }
    /* The cache hands out the same zone again. */
    assert_ptr_equal(load(db, "Europe/Berlin"), load(db, "Europe/Berlin"));
    assert_string_equal(tz_zone_name(load(db, "Europe/Berlin")), "Europe/Berlin");
    tz_db_free(db);
}

static void test_resolve(void **state)
{
    (void)state;
    struct tz_db *db = tz_db_new(ZONEINFO);
    const struct tz_zone *berlin = load(db, "Europe/Berlin");
    const struct tz_zone *ny = load(db, "America/New_York");
    struct tz_local r;

    /* 2026-03-29 02:30 does not exist in Berlin; after the gap comes 03:00. */
    tz_zone_resolve(berlin, S("2026-03-29T02:30:00Z"), &r);
    assert_int_equal(r.n, 0);
    assert_true(r.edge == S("2026-03-29T03:00:00Z"));
    /* 2026-10-25 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET). */
    tz_zone_resolve(berlin, S("2026-10-25T02:30:00Z"), &r);
    assert_int_equal(r.n, 2);
    assert_true(r.utc[0] == S("2026-10-25T00:30:00Z"));
    assert_true(r.utc[1] == S("2026-10-25T01:30:00Z"));
    assert_true(r.edge == S("2026-10-25T03:00:00Z"));
    tz_zone_resolve(berlin, S("2026-07-01T12:00:00Z"), &r);
    assert_int_equal(r.n, 1);
    assert_true(r.utc[0] == S("2026-07-01T10:00:00Z"));
    /* Same in 2090, from the footer rule. */
    tz_zone_resolve(berlin, S("2090-03-26T02:30:00Z"), &r);
    assert_int_equal(r.n, 0);
    tz_zone_resolve(berlin, S("2090-10-29T02:30:00Z"), &r);
    assert_int_equal(r.n, 2);
    assert_true(r.utc[0] == S("2090-10-29T00:30:00Z"));

    tz_zone_resolve(ny, S("2026-03-08T02:30:00Z"), &r);
    assert_int_equal(r.n, 0);
    assert_true(r.edge == S("2026-03-08T03:00:00Z"));
    tz_zone_resolve(ny, S("2026-11-01T01:30:00Z"), &r);
    assert_int_equal(r.n, 2);
    assert_true(r.utc[0] == S("2026-11-01T05:30:00Z"));
    assert_true(r.utc[1] == S("2026-11-01T06:30:00Z"));
    tz_db_free(db);
}

struct zone_row {
    int line;
    const char *expr; /* with its TZ= prefix */
    const char *from;
    const char *want[4];
};

static void test_cron_in_zones(void **state)
{
    (void)state;
    static const struct zone_row rows[] = {
        /* Berlin gap: no 02:30 on 2026-03-29; the next is 03-30 02:30 CEST. */
        {__LINE__, "TZ=Europe/Berlin 30 2 * * *", "2026-03-28T12:00:00Z",
         {"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
        {__LINE__, "TZ=Europe/Berlin 30 2 * * *", "2026-03-27T12:00:00Z",
         {"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
        /* Berlin fold: 02:30 fires once, at its first (CEST) occurrence. */
        {__LINE__, "TZ=Europe/Berlin 30 2 * * *", "2026-10-24T12:00:00Z",
         {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
        /* Asking from inside the second pass does not fire 02:30 again. */
        {__LINE__, "TZ=Europe/Berlin 30 2 * * *", "2026-10-25T01:10:00Z",
         {"2026-10-26T01:30:00Z"}},
        /* Every half hour across the gap and across the fold. */
        {__LINE__, "TZ=Europe/Berlin */30 * * * *", "2026-03-29T00:15:00Z",
         {"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
        {__LINE__, "TZ=Europe/Berlin */30 * * * *", "2026-10-25T00:15:00Z",
         {"2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}},
        /* 03:00 exists on both days. */
        {__LINE__, "TZ=Europe/Berlin 0 3 * * *", "2026-03-28T12:00:00Z",
         {"2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"}},
        /* Footer rule in 2090: noon CEST in July, noon CET in January. */
        {__LINE__, "TZ=Europe/Berlin 0 12 1 * *", "2090-06-15T00:00:00Z",
         {"2090-07-01T10:00:00Z", "2090-08-01T10:00:00Z"}},
        {__LINE__, "TZ=Europe/Berlin 0 12 1 1 *", "2090-06-15T00:00:00Z",
         {"2091-01-01T11:00:00Z"}},
        /* New York gap and fold. */
        {__LINE__, "TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z",
         {"2026-03-09T06:30:00Z"}},
        {__LINE__, "TZ=America/New_York 30 1 * * *", "2026-10-31T12:00:00Z",
         {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
        {__LINE__, "TZ=America/New_York 0 9 * * MON-FRI", "2026-07-03T14:00:00Z",
         {"2026-07-06T13:00:00Z"}},
        /* Lord Howe: on 2026-10-04 clocks go 02:00 -> 02:30 (+10:30 -> +11). */
        {__LINE__, "TZ=Australia/Lord_Howe 15 2 * * *", "2026-10-03T12:00:00Z",
         {"2026-10-04T15:15:00Z"}},
        {__LINE__, "TZ=Australia/Lord_Howe 45 2 * * *", "2026-10-03T12:00:00Z",
         {"2026-10-03T15:45:00Z", "2026-10-04T15:45:00Z"}},
        /* UTC zones behave like no zone. */
        {__LINE__, "TZ=UTC 0 7 * * *", "2015-09-14T22:42:00Z", {"2015-09-15T07:00:00Z"}},
        {__LINE__, "TZ=Etc/UTC 0 7 * * *", "2015-09-14T22:42:00Z", {"2015-09-15T07:00:00Z"}},
        /* The year limit applies to wall time: 2099-12-31 23:00 Tokyo is in 2099. */
        {__LINE__, "TZ=Asia/Tokyo 0 23 31 12 *", "2099-01-01T00:00:00Z",
         {"2099-12-31T14:00:00Z", "never"}},
    };
    struct tz_db *db = tz_db_new(ZONEINFO);
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct schedule_options opts = {.tz_load = tz_db_load, .tz_ctx = db};
        struct schedule *s = NULL;
        char err[256] = "";
        if (schedule_parse(rows[i].expr, &opts, &s, err, sizeof(err)) != 0) {
            print_error("line %d: %s\n", rows[i].line, err);
            fail();
        }
        int64_t t = T(rows[i].from);
        for (int k = 0; k < 4 && rows[i].want[k]; k++) {
            int64_t got = schedule_next(s, t, TIME_ZERO);
            char gs[TIME_RFC3339_MAX] = "never";
            if (got != TIME_ZERO)
                time_format_rfc3339(got, gs, sizeof(gs));
            if (strcmp(gs, rows[i].want[k]) != 0) {
                print_error("line %d: result %d: got %s, want %s\n", rows[i].line, k + 1, gs,
                            rows[i].want[k]);
                fail();
            }
            if (got == TIME_ZERO)
                break;
            t = got + NS_PER_MS;
        }
        schedule_free(s);
    }
    tz_db_free(db);
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *name;
        bool ok;
    } rows[] = {
        {__LINE__, "UTC", true},
        {__LINE__, "Etc/UTC", true},
        {__LINE__, "Europe/Berlin", true},
        {__LINE__, "America/Argentina/Buenos_Aires", true},
        {__LINE__, "Etc/GMT+5", true},
        {__LINE__, "America/Port-au-Prince", true},
        {__LINE__, "EST5EDT", true},
        {__LINE__, "", false},
        {__LINE__, "/etc/passwd", false},
        {__LINE__, "../etc/passwd", false},
        {__LINE__, "Europe/../../../etc/passwd", false},
        {__LINE__, "Europe/./Berlin", false},
        {__LINE__, "Europe//Berlin", false},
        {__LINE__, "Europe/Berlin/", false},
        {__LINE__, "Europe/Ber lin", false},
        {__LINE__, "Europe/Berlin.tab", false},
        {__LINE__, "Europe\\Berlin", false},
        {__LINE__, "europe/berlin", false},
        {__LINE__, "posixrules", false},
        {__LINE__, "Etc/+5", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        if (tz_db_name_ok(rows[i].name) != rows[i].ok) {
            print_error("line %d: '%s'\n", rows[i].line, rows[i].name);
            fail();
        }
    }
    char longname[LIMIT_TZ_NAME_LEN + 2];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(tz_db_name_ok(longname));
    longname[LIMIT_TZ_NAME_LEN] = '\0';
    assert_true(tz_db_name_ok(longname));

    struct tz_db *db = tz_db_new(ZONEINFO);
    char err[256];
    assert_null(tz_db_load(db, "../../etc/passwd", err, sizeof(err)));
    assert_string_equal(err, "not a valid time-zone name");
    assert_null(tz_db_load(db, "Mars/Olympus_Mons", err, sizeof(err)));
    assert_string_equal(err, "unknown time zone");
    assert_null(tz_db_load(db, "Europe", err, sizeof(err)));
    tz_db_free(db);

    /* UTC works even without zoneinfo files. */
    db = tz_db_new("/nonexistent");
    const struct tz_zone *z = tz_db_load(db, "UTC", err, sizeof(err));
    assert_non_null(z);
    assert_int_equal(tz_zone_offset(z, 0), 0);
    assert_non_null(tz_db_load(db, "Etc/UTC", err, sizeof(err)));
    assert_null(tz_db_load(db, "Europe/Berlin", err, sizeof(err)));
    tz_db_free(db);
}

static unsigned char *read_all(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(LIMIT_TZIF_BYTES);
    assert_non_null(buf);
    *ret_len = fread(buf, 1, LIMIT_TZIF_BYTES, f);
    fclose(f);
    return buf;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int parse(const void *data, size_t len)
{
    struct tz_zone *z = NULL;
    char err[128];
    int r = tz_zone_parse("X", data, len, &z, err, sizeof(err));
    if (r == 0) {
        /* Whatever was accepted must answer look-ups without trouble. */
        struct tz_local loc;
        tz_zone_offset(z, 0);
        tz_zone_offset(z, INT64_MAX);
        tz_zone_offset(z, INT64_MIN);
        tz_zone_resolve(z, 4000000000, &loc);
    }
    tz_zone_free(z);
    return r;
}

/*
 * A small version-2 file: one type in the v1 block, then a v2 block with
 * the given transition times (all to type 1, +1h) and footer.
 */
static size_t build_v2(unsigned char *buf, const int64_t *times, uint32_t n, const char *footer)
{
    size_t pos = 0;
    memset(buf, 0, 4096);
    memcpy(buf, "TZif2", 5);
    put32(buf + 36, 1); /* typecnt */
    put32(buf + 40, 1); /* charcnt */
    pos = 44 + 6 + 1;
    memcpy(buf + pos, "TZif2", 5);
    put32(buf + pos + 32, n);
    put32(buf + pos + 36, 2);
    put32(buf + pos + 40, 1);
    pos += 44;
    for (uint32_t i = 0; i < n; i++) {
        put32(buf + pos, (uint32_t)((uint64_t)times[i] >> 32));
        put32(buf + pos + 4, (uint32_t)times[i]);
        pos += 8;
    }
    for (uint32_t i = 0; i < n; i++)
        buf[pos++] = 1;
    pos += 6;              /* type 0: UTC */
    put32(buf + pos, 3600); /* type 1: +1h */
    pos += 6;
    pos += 1; /* the designation chars */
    size_t fl = strlen(footer);
    buf[pos++] = '\n';
    memcpy(buf + pos, footer, fl);
    pos += fl;
    buf[pos++] = '\n';
    return pos;
}

static void test_hostile(void **state)
{
    (void)state;
    size_t len;
    unsigned char *berlin = read_all(ZONEINFO "/Europe/Berlin", &len);
    const char *footer = "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
    assert_true(len > strlen(footer));
    assert_memory_equal(berlin + len - strlen(footer), footer, strlen(footer));
    assert_int_equal(parse(berlin, len), 0);
    /* Every truncation is an error, except cutting exactly before the footer. */
    for (size_t n = 0; n < len; n++) {
        int r = parse(berlin, n);
        if (n == len - strlen(footer) ? r != 0 : r != -EINVAL) {
            print_error("prefix of %zu bytes: %d\n", n, r);
            fail();
        }
    }
    /* Huge counts in either header. */
    unsigned char *copy = malloc(len);
    for (int field = 0; field < 6; field++) {
        memcpy(copy, berlin, len);
        put32(copy + 20 + 4 * field, 0xffffffffu);
        assert_int_equal(parse(copy, len), -EINVAL);
        memcpy(copy, berlin, len);
        put32(copy + 20 + 4 * field, 0x10000000u);
        assert_int_equal(parse(copy, len), -EINVAL);
    }
    /* Bad magic, zero types. */
    memcpy(copy, berlin, len);
    copy[0] = 'X';
    assert_int_equal(parse(copy, len), -EINVAL);
    memcpy(copy, berlin, len);
    put32(copy + 36, 0);
    assert_int_equal(parse(copy, len), -EINVAL);
    free(copy);
    free(berlin);

    /* Too large. */
    unsigned char *big = calloc(1, LIMIT_TZIF_BYTES + 1);
    memcpy(big, "TZif2", 5);
    assert_int_equal(parse(big, LIMIT_TZIF_BYTES + 1), -EINVAL);
    free(big);

    unsigned char buf[4096];
    int64_t ok[] = {1000, 2000};
    int64_t backwards[] = {2000, 1000};
    int64_t same[] = {1000, 1000};
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "")), 0);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "CET-1CEST,M3.5.0,M10.5.0/3")), 0);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")),
                     0);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "EST5EDT,M3.2.0,M11.1.0")), 0);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "<-03>3")), 0);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "XXX3YYY,J60/-100,300/167")), 0);
    assert_int_equal(parse(buf, build_v2(buf, backwards, 2, "")), -EINVAL);
    assert_int_equal(parse(buf, build_v2(buf, same, 2, "")), -EINVAL);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "GARBAGE")), -EINVAL);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "CET-1CEST,M13.5.0,M10.5.0")), -EINVAL);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "CET-1CEST,M3.5.0")), -EINVAL);
    assert_int_equal(parse(buf, build_v2(buf, ok, 2, "CET-99")), -EINVAL);
    /* A type index out of range. */
    size_t n = build_v2(buf, ok, 2, "");
    buf[44 + 7 + 44 + 16] = 7;
    assert_int_equal(parse(buf, n), -EINVAL);
    /* A footer without its closing newline. */
    n = build_v2(buf, ok, 2, "CET-1");
    assert_int_equal(parse(buf, n - 1), -EINVAL);

    /* The synthetic zone answers as built: UTC, then +1h from t=1000 on. */
    struct tz_zone *z;
    char err[128];
    n = build_v2(buf, ok, 2, "");
    assert_int_equal(tz_zone_parse("Test/Zone", buf, n, &z, err, sizeof(err)), 0);
    assert_int_equal(tz_zone_offset(z, 999), 0);
    assert_int_equal(tz_zone_offset(z, 1000), 3600);
    assert_int_equal(tz_zone_offset(z, 5000), 3600);
    tz_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_cron_in_zones),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
