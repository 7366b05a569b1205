/*
 * test-web-html.c - the escaping HTML builder and go-humanize relative
 * times.  Expected relative times are the rows of luci-scheduler-spec.md
 * 7.7 (each bound and just below it); expected escapes are HTML's
 * entities.
 */
#include "base/compat.h"
#include "web/html.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define S INT64_C(1000000000)
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static void check_rel(int64_t diff, const char *want_ago, const char *want_dur)
{
    char out[HUMANIZE_MAX];
    int64_t now = INT64_C(1700000000) * S;

    assert_int_equal(humanize_time(now - diff, now, out, sizeof(out)), 0);
    if (strcmp(out, want_ago) != 0)
        fail_msg("diff %" PRId64 " ns: got \"%s\", want \"%s\"", diff, out, want_ago);
    if (want_dur) {
        assert_int_equal(humanize_duration(now, now + diff, out, sizeof(out)), 0);
        if (strcmp(out, want_dur) != 0)
            fail_msg("duration %" PRId64 " ns: got \"%s\", want \"%s\"", diff, out, want_dur);
    }
}

/* Spec 7.7: the first row whose bound is greater than diff. */
static void test_rel_table(void **state)
{
    (void)state;
    check_rel(0, "now", "1 second");
    check_rel(S - 1, "now", "1 second");
    check_rel(S, "1 second ago", "1 second ");
    check_rel(2 * S - 1, "1 second ago", NULL);
    check_rel(2 * S, "2 seconds ago", "2 seconds ");
    check_rel(59 * S + S / 2, "59 seconds ago", NULL);
    check_rel(MIN, "1 minute ago", "1 minute ");
    check_rel(2 * MIN - 1, "1 minute ago", NULL);
    check_rel(2 * MIN, "2 minutes ago", NULL);
    check_rel(5 * MIN + 59 * S, "5 minutes ago", "5 minutes ");
    check_rel(HOUR - 1, "59 minutes ago", NULL);
    check_rel(HOUR, "1 hour ago", "1 hour ");
    check_rel(2 * HOUR, "2 hours ago", NULL);
    /* The seeds: 3h32m28.9s is "3 hours", 28m39.9s is "28 minutes". */
    check_rel(3 * HOUR + 32 * MIN + 28 * S, "3 hours ago", "3 hours ");
    check_rel(28 * MIN + 39 * S, "28 minutes ago", "28 minutes ");
    check_rel(DAY - 1, "23 hours ago", NULL);
    check_rel(DAY, "1 day ago", NULL);
    check_rel(2 * DAY, "2 days ago", NULL);
    check_rel(7 * DAY - 1, "6 days ago", NULL);
    check_rel(7 * DAY, "1 week ago", NULL);
    check_rel(14 * DAY, "2 weeks ago", NULL);
    check_rel(30 * DAY - 1, "4 weeks ago", NULL);
    check_rel(30 * DAY, "1 month ago", NULL);
    check_rel(60 * DAY, "2 months ago", NULL);
    check_rel(360 * DAY - 1, "11 months ago", NULL);
    check_rel(360 * DAY, "1 year ago", NULL);
    check_rel(540 * DAY, "2 years ago", NULL);
    check_rel(720 * DAY, "2 years ago", NULL);
    check_rel(3 * 360 * DAY, "3 years ago", NULL);
    check_rel(37 * 360 * DAY - 1, "36 years ago", NULL);
    check_rel(37 * 360 * DAY, "a long while ago", "a long while ");
}

/* Label: albl when a <= b, blbl otherwise ("5 minutes from now"). */
static void test_rel_labels(void **state)
{
    char out[HUMANIZE_MAX];
    (void)state;

    assert_int_equal(humanize_time(10 * MIN, 5 * MIN, out, sizeof(out)), 0);
    assert_string_equal(out, "5 minutes from now");
    assert_int_equal(humanize_rel_time(0, 3 * HOUR, "ago", "", out, sizeof(out)), 0);
    assert_string_equal(out, "3 hours ago");
    assert_int_equal(humanize_rel_time(3 * HOUR, 0, "ago", "", out, sizeof(out)), 0);
    assert_string_equal(out, "3 hours ");
    assert_int_equal(humanize_rel_time(INT64_MIN, INT64_MAX, "ago", "", out, sizeof(out)), 0);
    assert_string_equal(out, "a long while ago");
    /* Too small: an error, never a cut text. */
    assert_int_equal(humanize_time(0, 3 * HOUR, out, 5), -E2BIG);
}

static const char *page(struct html *h)
{
    assert_int_equal(html_error(h), 0);
    return h->b.data;
}

static void test_escape_text(void **state)
{
    struct html h;
    (void)state;

    html_init(&h, 4096);
    html_raw(&h, "<p>");
    html_text(&h, "<script>alert(\"x\" & 'y')</script>");
    html_raw(&h, "</p>");
    assert_string_equal(page(&h),
                        "<p>&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)"
                        "&lt;/script&gt;</p>");
    html_release(&h);

    /* UTF-8 is kept, bad bytes and control characters become U+FFFD. */
    html_init(&h, 4096);
    html_text(&h, "caf\xC3\xA9 \xE2\x86\x90\tA\nB");
    html_text(&h, "\xC3(\x01\x7F\xED\xA0\x80\xC0\xAF");
    assert_string_equal(page(&h), "caf\xC3\xA9 \xE2\x86\x90\tA\nB"
                                  "\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD\xEF\xBF\xBD");
    html_release(&h);

    html_init(&h, 4096);
    html_textf(&h, "%d <%s>", 3, "b&b");
    assert_string_equal(page(&h), "3 &lt;b&amp;b&gt;");
    html_release(&h);
}

static void test_attributes(void **state)
{
    struct html h;
    (void)state;

    html_init(&h, 4096);
    html_raw(&h, "<a");
    html_attr(&h, "title", "\"><script>x</script>");
    html_attr_url(&h, "href", "javascript:alert(1)");
    html_raw(&h, ">");
    assert_string_equal(page(&h),
                        "<a title=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\" href=\"#\">");
    html_release(&h);

    html_init(&h, 4096);
    html_attr_url(&h, "href", "https://x.example/a?b=1&c=\"2\"");
    html_attr_url(&h, "href", "//evil.example/");
    html_attr_url(&h, "href", "/jobs/p");
    html_attr_url(&h, "href", " https://x");
    html_attr_url(&h, "href", NULL);
    assert_string_equal(page(&h), " href=\"https://x.example/a?b=1&amp;c=&quot;2&quot;\""
                                  " href=\"#\" href=\"/jobs/p\" href=\"#\" href=\"#\"");
    html_release(&h);

    html_init(&h, 4096);
    html_attr_begin(&h, "href");
    html_attr_part(&h, "/jobs/");
    html_attr_segment(&h, "a b/\"c\"&<d>");
    html_attr_part(&h, "?c=");
    html_attr_segment(&h, "x-y_z.~");
    html_attr_end(&h);
    assert_string_equal(page(&h), " href=\"/jobs/a%20b%2F%22c%22%26%3Cd%3E?c=x-y_z.~\"");
    html_release(&h);
}

/* Errors are sticky and the page never goes over its maximum. */
static void test_limits(void **state)
{
    struct html h;
    (void)state;

    html_init(&h, 8);
    html_raw(&h, "<p>");
    html_text(&h, "&&");
    assert_int_equal(html_error(&h), -E2BIG);
    html_raw(&h, "x");
    assert_int_equal(html_error(&h), -E2BIG);
    assert_true(h.b.len <= 8);
    html_release(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rel_table),  cmocka_unit_test(test_rel_labels),
        cmocka_unit_test(test_escape_text), cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
