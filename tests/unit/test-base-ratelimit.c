/*
 * test-api-ratelimit.c - the per-caller token buckets of base/ratelimit.h:
 * the --rate-limit text, bursts, refill, independent callers, and the
 * bounded table (idle buckets dropped, else the least recently used).
 *
 * Expected values come from the token-bucket definition: a bucket of
 * BURST tokens, one token back every period / N.  Times are plain numbers.
 */
#include "base/compat.h"
#include "base/ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "base/limits.h"
#include "base/time.h"

static void test_parse(void **state)
{
    static const struct {
        const char *text;
        int rc;
        uint32_t calls;
        int64_t period;
        uint32_t burst;
    } cases[] = {
        {"10/s,20", 0, 10, NS_PER_SEC, 20},
        {"600/m,50", 0, 600, NS_PER_MIN, 50},
        {"5,5", 0, 5, NS_PER_SEC, 5},
        {"1000000/s,1000000", 0, 1000000, NS_PER_SEC, 1000000},
        {"off", 0, 0, 0, 0},
        {"", -EINVAL, 0, 0, 0},
        {"10", -EINVAL, 0, 0, 0},
        {"10/h,5", -EINVAL, 0, 0, 0},
        {"10/,5", -EINVAL, 0, 0, 0},
        {"10/ss,5", -EINVAL, 0, 0, 0},
        {"0/s,1", -EINVAL, 0, 0, 0},
        {"1,0", -EINVAL, 0, 0, 0},
        {"10/s,", -EINVAL, 0, 0, 0},
        {"-1,2", -EINVAL, 0, 0, 0},
        {"1000001,1", -EINVAL, 0, 0, 0},
        {"1,1000001", -EINVAL, 0, 0, 0},
        {"10/s,20x", -EINVAL, 0, 0, 0},
        {" 10,2", -EINVAL, 0, 0, 0},
        {"10,2,3", -EINVAL, 0, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct rate_limit l = {.calls = 99, .burst = 99};
        char err[256] = "";
        int rc = rate_limit_parse(cases[i].text, &l, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d", cases[i].text, rc);
        if (rc == 0) {
            assert_int_equal(l.calls, cases[i].calls);
            assert_int_equal(l.burst, cases[i].burst);
            if (l.calls)
                assert_int_equal(l.period_ns, cases[i].period);
        } else {
            assert_non_null(strstr(err, "N[/s|/m],BURST"));
        }
    }
}

static void test_describe(void **state)
{
    struct rate_limit l = {.calls = 10, .period_ns = NS_PER_SEC, .burst = 20};
    char out[128];

    (void)state;
    rate_limit_describe(&l, out, sizeof(out));
    assert_string_equal(out, "10 calls per second with bursts of 20");
    l = (struct rate_limit){.calls = 1, .period_ns = NS_PER_MIN, .burst = 1};
    rate_limit_describe(&l, out, sizeof(out));
    assert_string_equal(out, "1 call per minute with bursts of 1");
    l.calls = 0;
    rate_limit_describe(&l, out, sizeof(out));
    assert_string_equal(out, "no limit");
}

/* 2 per second, bursts of 3: a token comes back every 500 ms. */
static const struct rate_limit two_per_s = {.calls = 2, .period_ns = NS_PER_SEC, .burst = 3};
#define T0 (INT64_C(1000) * NS_PER_SEC)
#define TOKEN_NS (NS_PER_SEC / 2)

static void test_burst_then_refill(void **state)
{
    struct ratelimit *rl = ratelimit_new(&two_per_s, 0);
    int64_t retry = 0;

    (void)state;
    assert_non_null(rl);
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "user:a@x", T0, &retry));
    assert_false(ratelimit_take(rl, "user:a@x", T0, &retry));
    assert_int_equal(retry, TOKEN_NS);
    /* Refused calls take nothing: still one token's wait, a bit later. */
    assert_false(ratelimit_take(rl, "user:a@x", T0 + 100 * NS_PER_MS, &retry));
    assert_int_equal(retry, TOKEN_NS - 100 * NS_PER_MS);
    /* Another caller has a bucket of its own. */
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "anonymous:anonymous@10.0.0.1", T0, NULL));
    assert_false(ratelimit_take(rl, "anonymous:anonymous@10.0.0.1", T0, NULL));
    /* One token back after 500 ms, and only one. */
    assert_true(ratelimit_take(rl, "user:a@x", T0 + TOKEN_NS, &retry));
    assert_false(ratelimit_take(rl, "user:a@x", T0 + TOKEN_NS, &retry));
    assert_int_equal(retry, TOKEN_NS);
    /* Long idle: a full bucket again, never more than the burst. */
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "user:a@x", T0 + 3600 * NS_PER_SEC, NULL));
    assert_false(ratelimit_take(rl, "user:a@x", T0 + 3600 * NS_PER_SEC, NULL));
    ratelimit_free(rl);
}

/* A steady caller at exactly the rate is never refused; faster is. */
static void test_steady_rate(void **state)
{
    struct rate_limit l = {.calls = 10, .period_ns = NS_PER_SEC, .burst = 1};
    struct ratelimit *rl = ratelimit_new(&l, 0);
    int refused = 0;

    (void)state;
    for (int i = 0; i < 100; i++)
        assert_true(ratelimit_take(rl, "k", T0 + i * (NS_PER_SEC / 10), NULL));
    for (int i = 0; i < 100; i++)
        refused += !ratelimit_take(rl, "k", T0 + 20 * NS_PER_SEC + i * (NS_PER_SEC / 20), NULL);
    /* Twice the rate for 5 s: half of the 100 calls pass. */
    assert_int_equal(refused, 50);
    ratelimit_free(rl);
}

static void test_table_is_bounded(void **state)
{
    struct ratelimit *rl = ratelimit_new(&two_per_s, 4);
    char key[32];

    (void)state;
    /* Idle buckets make room: 1000 callers one second apart keep few buckets. */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "user:%d@x", i);
        assert_true(ratelimit_take(rl, key, T0 + i * 2 * NS_PER_SEC, NULL));
        assert_true(ratelimit_size(rl) <= 4);
    }
    ratelimit_free(rl);

    /* Every bucket busy: the least recently used one goes. */
    rl = ratelimit_new(&two_per_s, 4);
    static const char *const keys[] = {"a", "b", "c", "d"};
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        for (int i = 0; i < 3; i++)
            assert_true(ratelimit_take(rl, keys[k], T0 + (int64_t)k, NULL));
    }
    assert_int_equal(ratelimit_size(rl), 4);
    assert_true(ratelimit_take(rl, "e", T0 + 10, NULL));
    assert_int_equal(ratelimit_size(rl), 4);
    /* b, c, d kept their empty buckets; a was dropped and starts full. */
    assert_false(ratelimit_take(rl, "d", T0 + 11, NULL));
    assert_false(ratelimit_take(rl, "c", T0 + 12, NULL));
    assert_false(ratelimit_take(rl, "b", T0 + 13, NULL));
    assert_true(ratelimit_take(rl, "a", T0 + 14, NULL));
    assert_int_equal(ratelimit_size(rl), 4);
    ratelimit_free(rl);
}

static void test_bad_limits(void **state)
{
    struct rate_limit off = {0};
    char long_key[LIMIT_IDENTITY_LEN * 2];
    struct ratelimit *rl;

    (void)state;
    assert_null(ratelimit_new(&off, 0));
    assert_null(ratelimit_new(NULL, 0));
    assert_null(ratelimit_free(NULL));
    /* Over-long keys are cut, not refused. */
    rl = ratelimit_new(&two_per_s, 2);
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, long_key, T0, NULL));
    assert_false(ratelimit_take(rl, long_key, T0, NULL));
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_steady_rate),
        cmocka_unit_test(test_table_is_bounded),
        cmocka_unit_test(test_bad_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
