/*
 * Unit tests for base/text: hex digits and UTF-8 encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/text.h"

static void test_hex_digit(void **state)
{
    (void)state;
    static const struct {
        int line;
        char c;
        int want;
    } rows[] = {
        {__LINE__, '0', 0},  {__LINE__, '9', 9},  {__LINE__, 'a', 10}, {__LINE__, 'f', 15},
        {__LINE__, 'A', 10}, {__LINE__, 'F', 15}, {__LINE__, 'g', -1}, {__LINE__, 'G', -1},
        {__LINE__, '/', -1}, {__LINE__, ':', -1}, {__LINE__, '\0', -1}, {__LINE__, ' ', -1},
        {__LINE__, (char)0xc3, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int got = text_hex_digit(rows[i].c);
        if (got != rows[i].want) {
            print_error("row at line %d: got %d, want %d\n", rows[i].line, got, rows[i].want);
            fail();
        }
    }
}

static void test_utf8_encode(void **state)
{
    (void)state;
    static const struct {
        int line;
        uint32_t cp;
        const char *want;
    } rows[] = {
        {__LINE__, 0x00, ""},  /* one NUL byte: compared by length below */
        {__LINE__, 0x41, "A"},
        {__LINE__, 0x7f, "\x7f"},
        {__LINE__, 0x80, "\xc2\x80"},
        {__LINE__, 0xe9, "\xc3\xa9"},
        {__LINE__, 0x7ff, "\xdf\xbf"},
        {__LINE__, 0x800, "\xe0\xa0\x80"},
        {__LINE__, 0xd800, "\xed\xa0\x80"}, /* encoded as given */
        {__LINE__, 0xfffd, "\xef\xbf\xbd"},
        {__LINE__, 0xffff, "\xef\xbf\xbf"},
        {__LINE__, 0x10000, "\xf0\x90\x80\x80"},
        {__LINE__, 0x1f600, "\xf0\x9f\x98\x80"},
        {__LINE__, 0x10ffff, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char out[4];
        size_t want_n = rows[i].cp == 0 ? 1 : strlen(rows[i].want);
        size_t n = text_utf8_encode(rows[i].cp, out);
        if (n != want_n || (rows[i].cp != 0 && memcmp(out, rows[i].want, n) != 0) ||
            (rows[i].cp == 0 && out[0] != '\0')) {
            print_error("row at line %d: U+%04" PRIX32 " encoded wrong (%zu bytes)\n",
                        rows[i].line, rows[i].cp, n);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_utf8_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
