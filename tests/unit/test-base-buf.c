/* Unit tests for base/buf: growth, the maximum, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"

static void test_append_and_terminate(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1000);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(b.len, 300);
    assert_int_equal(b.data[300], '\0');
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.data + 300, "42-x");
    buf_release(&b);
    assert_int_equal(b.len, 0);
}

static void test_maximum_is_kept(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 5);
    assert_int_equal(buf_puts(&b, "abcde"), 0);
    assert_int_equal(buf_putc(&b, 'f'), -E2BIG);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(buf_printf(&b, "%s", "g"), -E2BIG);
    assert_int_equal(b.len, 5);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%0300d", 1), -E2BIG);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_long_printf_and_detach(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10000);
    assert_int_equal(buf_printf(&b, "%0999d", 7), 0);
    assert_int_equal(b.len, 999);
    assert_int_equal(b.data[998], '7');
    size_t n = 0;
    char *s = buf_detach(&b, &n);
    assert_non_null(s);
    assert_int_equal(n, 999);
    assert_int_equal(strlen(s), 999);
    free(s);
    assert_int_equal(b.len, 0);
    s = buf_detach(&b, &n);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminate),
        cmocka_unit_test(test_maximum_is_kept),
        cmocka_unit_test(test_long_printf_and_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
