/*
 * Unit tests for engine/debuglog: the invocation debug log and its
 * trimming (luci-scheduler-spec.md 3.18, "Test facts"), and the triage log
 * (3.19).  Expected texts are built by hand from the rules, line by line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/debuglog.h"

#define T0 (INT64_C(1442270520) * NS_PER_SEC) /* 2015-09-14 22:42:00 UTC */
#define MARKER_LINE DEBUGLOG_MARKER "\n"
#define LOG_MAX (4u * 1024 * 1024)

static void test_append(void **state)
{
    (void)state;
    static const struct {
        int line;
        int64_t now_ns;
        const char *msg;
        const char *want;
    } rows[] = {
        {__LINE__, T0, "New invocation is queued and will start shortly",
         "[22:42:00.000] New invocation is queued and will start shortly\n"},
        {__LINE__, T0 + 123 * NS_PER_MS + 999999, "x", "[22:42:00.123] x\n"},
        {__LINE__, T0 + 77 * NS_PER_MIN, "", "[23:59:00.000] \n"},
        {__LINE__, T0 + 78 * NS_PER_MIN + 5 * NS_PER_SEC, "next day", "[00:00:05.000] next day\n"},
        /* Only the first line of a multi-line message gets the prefix. */
        {__LINE__, T0, "{\n  \"a\": 1\n}", "[22:42:00.000] {\n  \"a\": 1\n}\n"},
        /* Before 1970 the wall clock still reads right. */
        {__LINE__, -NS_PER_MS, "early", "[23:59:59.999] early\n"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct buf b;
        buf_init(&b, LOG_MAX);
        assert_int_equal(debuglog_append(&b, rows[i].now_ns, rows[i].msg), 0);
        if (strcmp(b.data, rows[i].want) != 0) {
            print_error("line %d: got '%s'\n", rows[i].line, b.data);
            fail();
        }
        buf_release(&b);
    }

    struct buf b;
    buf_init(&b, LOG_MAX);
    assert_int_equal(debuglog_appendf(&b, T0, "Starting the invocation (attempt %d)", 2), 0);
    assert_int_equal(debuglog_append(&b, T0 + NS_PER_SEC, "Done"), 0);
    assert_string_equal(b.data, "[22:42:00.000] Starting the invocation (attempt 2)\n"
                                "[22:42:01.000] Done\n");
    buf_release(&b);

    /* Too big for the buffer: -E2BIG and the log is unchanged. */
    buf_init(&b, 20);
    assert_int_equal(debuglog_append(&b, T0, "ok"), 0);
    assert_int_equal(debuglog_append(&b, T0, "a much longer message"), -E2BIG);
    assert_string_equal(b.data, "[22:42:00.000] ok\n");
    buf_release(&b);
}

/* A 1028-byte line "Line 042 zzz...z\n" (9 + 1018 + 1). */
static void put_line(struct buf *b, const char *word, int i)
{
    char line[1029];
    int n = snprintf(line, sizeof(line), "%s %03d ", word, i);
    memset(line + n, 'z', 1027 - (size_t)n);
    line[1027] = '\n';
    assert_int_equal(buf_append(b, line, 1028), 0);
}

static void test_trim_lines(void **state)
{
    (void)state;
    struct buf log, want;
    buf_init(&log, LOG_MAX);
    buf_init(&want, LOG_MAX);

    for (int i = 0; i < 500; i++)
        put_line(&log, "Line", i);
    assert_int_equal(log.len, 514000);

    /*
     * Tail: lines 400-499 = 102800 bytes; with the marker line 102834, so
     * the head may use 200000 - 102834 = 97166 bytes; the last '\n' before
     * that ends line 93 (94 * 1028 = 96632).  Spec fact: 0-93, marker, 400-499.
     */
    assert_int_equal(debuglog_trim(&log), 0);
    for (int i = 0; i <= 93; i++)
        put_line(&want, "Line", i);
    buf_puts(&want, MARKER_LINE);
    for (int i = 400; i < 500; i++)
        put_line(&want, "Line", i);
    assert_int_equal(log.len, want.len);
    assert_int_equal(log.len, 96632 + 34 + 102800);
    assert_memory_equal(log.data, want.data, want.len);

    /* Within the limit now: a second trim changes nothing. */
    assert_int_equal(debuglog_trim(&log), 0);
    assert_int_equal(log.len, want.len);

    /* Spec fact: 10 more append+trim cycles keep one marker and slide the tail. */
    for (int k = 0; k < 10; k++) {
        put_line(&log, "More", k);
        assert_int_equal(debuglog_trim(&log), 0);
        assert_true(log.len <= DEBUGLOG_LIMIT_BYTES);
    }
    buf_reset(&want);
    for (int i = 0; i <= 93; i++)
        put_line(&want, "Line", i);
    buf_puts(&want, MARKER_LINE);
    for (int i = 410; i < 500; i++)
        put_line(&want, "Line", i);
    for (int k = 0; k < 10; k++)
        put_line(&want, "More", k);
    assert_int_equal(log.len, want.len);
    assert_memory_equal(log.data, want.data, want.len);

    buf_release(&log);
    buf_release(&want);
}

/* Builds n lines of len bytes each (including '\n'), all 'y'. */
static void put_lines(struct buf *b, int n, size_t len)
{
    if (n == 0)
        return;
    char *line = malloc(len);
    assert_non_null(line);
    memset(line, 'y', len - 1);
    line[len - 1] = '\n';
    for (int i = 0; i < n; i++)
        assert_int_equal(buf_append(b, line, len), 0);
    free(line);
}

static void test_trim_give_up(void **state)
{
    (void)state;
    static const struct {
        int line;
        int n1;
        size_t len1;
        int n2;
        size_t len2;
    } rows[] = {
        /* Spec fact: one 300,000-byte line. */
        {__LINE__, 1, 300000, 0, 0},
        /* Fewer than 100 lines. */
        {__LINE__, 99, 3000, 0, 0},
        /*
         * 37 head lines fit: tail 100 * 500 = 50000, head budget
         * 200000 - 50034 = 149966 = 37 lines of 4000 (< 50).
         */
        {__LINE__, 40, 4000, 100, 500},
        /* The tail alone is over the limit. */
        {__LINE__, 60, 1000, 100, 2100},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct buf log;
        buf_init(&log, LOG_MAX);
        put_lines(&log, rows[i].n1, rows[i].len1);
        put_lines(&log, rows[i].n2, rows[i].len2);
        char *orig = strdup(log.data);
        assert_non_null(orig);
        assert_int_equal(debuglog_trim(&log), 0);
        /* The first 200000 - 33 - 2 = 199965 bytes, then "\n" marker "\n". */
        if (log.len != DEBUGLOG_LIMIT_BYTES || memcmp(log.data, orig, 199965) != 0 ||
            strcmp(log.data + 199965, "\n" MARKER_LINE) != 0) {
            print_error("line %d: len %zu\n", rows[i].line, log.len);
            fail();
        }
        free(orig);
        buf_release(&log);
    }

    /* The spec's words: 199,965 'z' + "\n--- the log has been cut here ---\n". */
    struct buf log;
    buf_init(&log, LOG_MAX);
    char *big = malloc(300000);
    assert_non_null(big);
    memset(big, 'z', 300000);
    assert_int_equal(buf_append(&log, big, 300000), 0);
    assert_int_equal(debuglog_trim(&log), 0);
    assert_int_equal(log.len, 200000);
    assert_memory_equal(log.data, big, 199965);
    assert_string_equal(log.data + 199965, "\n--- the log has been cut here ---\n");
    free(big);
    buf_release(&log);
}

static void test_trim_boundaries(void **state)
{
    (void)state;
    struct buf log;

    /* Exactly at the limit: unchanged. */
    buf_init(&log, LOG_MAX);
    put_lines(&log, 200, 1000);
    assert_int_equal(debuglog_trim(&log), 0);
    assert_int_equal(log.len, 200000);
    assert_null(strstr(log.data, DEBUGLOG_MARKER));
    buf_release(&log);

    /*
     * 250 lines of 1000: tail 100000 + 34, head budget 99966 = 99 lines.
     * Result 99 lines, marker, 100 lines.
     */
    buf_init(&log, LOG_MAX);
    put_lines(&log, 250, 1000);
    assert_int_equal(debuglog_trim(&log), 0);
    assert_int_equal(log.len, 99000 + 34 + 100000);
    const char *m = strstr(log.data, MARKER_LINE);
    assert_non_null(m);
    assert_int_equal(m - log.data, 99000);
    buf_release(&log);

    /*
     * Exactly 50 head lines is enough: tail 100 lines of 1200 = 120000,
     * head budget 200000 - 120034 = 79966 = 50 lines of 1599 (79950).
     */
    buf_init(&log, LOG_MAX);
    put_lines(&log, 60, 1599);
    put_lines(&log, 100, 1200);
    assert_int_equal(debuglog_trim(&log), 0);
    m = strstr(log.data, MARKER_LINE);
    assert_non_null(m);
    assert_int_equal(m - log.data, 50 * 1599);
    assert_int_equal(log.len, 79950 + 34 + 120000);
    buf_release(&log);

    /* Fewer are not: 48 lines of 1633 fit (49 would need 80017 > 79966). */
    buf_init(&log, LOG_MAX);
    put_lines(&log, 60, 1633);
    put_lines(&log, 100, 1200);
    assert_int_equal(debuglog_trim(&log), 0);
    assert_int_equal(log.len, 200000);
    assert_string_equal(log.data + 199965, "\n" MARKER_LINE);
    buf_release(&log);
}

static void test_triagelog(void **state)
{
    (void)state;
    struct triagelog t;

    /* The no-op triage of spec 3.8 (first lines), all within 1 ms. */
    triagelog_init(&t, T0);
    assert_int_equal(triagelog_append(&t, T0, "Starting"), 0);
    assert_int_equal(triagelog_appendf(&t, T0 + 999999,
                                       "Pending triggers set:  %d items, %d garbage", 0, 0),
                     0);
    assert_int_equal(
        triagelog_appendf(&t, T0 + 12 * NS_PER_MS, "Number of active invocations: %d", 3), 0);
    assert_int_equal(triagelog_append(&t, T0 + 1500 * NS_PER_MS, "Done"), 0);
    assert_int_equal(triagelog_append(&t, T0 - NS_PER_SEC, "clock went back"), 0);
    assert_string_equal(t.text.data, "[000 ms] Starting\n"
                                     "[000 ms] Pending triggers set:  0 items, 0 garbage\n"
                                     "[012 ms] Number of active invocations: 3\n"
                                     "[1500 ms] Done\n"
                                     "[000 ms] clock went back\n");
    triagelog_release(&t);

    /* 1000 messages, then the marker without a newline, then nothing. */
    triagelog_init(&t, T0);
    for (int i = 0; i < 1002; i++)
        assert_int_equal(triagelog_appendf(&t, T0, "m%d", i), 0);
    size_t lines = 0;
    for (size_t i = 0; i < t.text.len; i++)
        lines += t.text.data[i] == '\n';
    assert_int_equal(lines, 1000);
    const char *tail = "[000 ms] m999\n" TRIAGELOG_TRUNCATED;
    assert_true(t.text.len > strlen(tail));
    assert_string_equal(t.text.data + t.text.len - strlen(tail), tail);
    assert_non_null(strstr(t.text.data, "[000 ms] m0\n[000 ms] m1\n"));
    triagelog_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_trim_lines),
        cmocka_unit_test(test_trim_give_up),
        cmocka_unit_test(test_trim_boundaries),
        cmocka_unit_test(test_triagelog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
