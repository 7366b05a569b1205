/*
 * Unit tests for engine/invid: invocation IDs (luci-scheduler-spec.md 3.4).
 * The main row is the spec's example from LUCI's tests; the others are
 * worked out by hand from the layout (43 bits of ~ms, 16 random bits, 4
 * zero bits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/invid.h"

#define T_2015_09_14_224200 (INT64_C(1442270520) * NS_PER_SEC)

static void test_values(void **state)
{
    (void)state;
    static const struct {
        int line;
        int64_t now_ns;
        uint16_t rand16;
        int64_t want;
    } rows[] = {
        /* Spec 3.4: ms = 22200120000, high << 20 = 9200093523824607232. */
        {__LINE__, T_2015_09_14_224200, 36611, INT64_C(9200093523825193008)},
        {__LINE__, T_2015_09_14_224200, 0, INT64_C(9200093523824607232)},
        /* A sub-millisecond part is dropped. */
        {__LINE__, T_2015_09_14_224200 + 999999, 0, INT64_C(9200093523824607232)},
        /* One millisecond later: high is one less, the ID 2^20 smaller. */
        {__LINE__, T_2015_09_14_224200 + NS_PER_MS, 0,
         INT64_C(9200093523824607232) - (INT64_C(1) << 20)},
        /* The ID epoch itself: all 43 bits set = 2^63 - 2^20. */
        {__LINE__, INVID_EPOCH_NS, 0, INT64_C(9223372036853727232)},
        /* All 16 random bits set: + 0xffff << 4 = 1048560. */
        {__LINE__, INVID_EPOCH_NS, 0xffff, INT64_C(9223372036853727232) + 1048560},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int64_t got = invid_make(rows[i].now_ns, rows[i].rand16);
        if (got != rows[i].want) {
            print_error("line %d: got %" PRId64 ", want %" PRId64 "\n", rows[i].line, got,
                        rows[i].want);
            fail();
        }
    }
}

static void test_order(void **state)
{
    (void)state;
    /* Newer is smaller whatever the random bits; IDs are positive, low nibble 0. */
    int64_t t = T_2015_09_14_224200;
    for (int i = 0; i < 1000; i++) {
        int64_t older = invid_make(t + i * NS_PER_MS, 0xffff);
        int64_t newer = invid_make(t + (i + 1) * NS_PER_MS, 0);
        assert_true(newer < older);
        assert_true(newer > 0);
        assert_int_equal(older & 0xf, 0);
    }
}

/* invid_time: the spec's example ID was made at 2015-09-14 22:42:00 UTC (spec 3.4). */
static void test_time(void **state)
{
    (void)state;
    assert_true(invid_time(INT64_C(9200093523825193008)) == T_2015_09_14_224200);
    assert_true(invid_time(INT64_C(9223372036853727232) + 1048560) == INVID_EPOCH_NS);
    /* Truncated to the millisecond. */
    assert_true(invid_time(invid_make(T_2015_09_14_224200 + 1999999, 7)) ==
                T_2015_09_14_224200 + NS_PER_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
