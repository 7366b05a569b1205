/* test-engine-push-token.c - Pub/Sub auth tokens (spec 3.14 step 5). */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/base64.h"
#include "engine/push-token.h"

#define T0 (INT64_C(1760000000) * INT64_C(1000000000))
#define HOUR (INT64_C(3600) * INT64_C(1000000000))

static struct push_token_key key_a, key_b;

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < PUSH_TOKEN_KEY_BYTES; i++) {
        key_a.bytes[i] = (unsigned char)i;
        key_b.bytes[i] = (unsigned char)(255 - i);
    }
    return 0;
}

static void test_round_trip(void **state)
{
    char tok[PUSH_TOKEN_MAX], job[PUSH_TOKEN_JOB_MAX];
    int64_t inv = 0;

    (void)state;
    assert_int_equal(push_token_make(&key_a, "pigweed/pigweed.dev.ci-pigweed-linux-zephyr",
                                     INT64_C(8866960890537692368), T0, tok, sizeof(tok)),
                     0);
    assert_int_equal(push_token_check(&key_a, 1, tok, T0 + HOUR, job, &inv), 0);
    assert_string_equal(job, "pigweed/pigweed.dev.ci-pigweed-linux-zephyr");
    assert_true(inv == INT64_C(8866960890537692368));
    /* URL-safe alphabet only: it goes into JSON and query strings unescaped. */
    assert_null(strpbrk(tok, "+/="));
}

static void test_keys(void **state)
{
    struct push_token_key both[2] = {key_b, key_a};
    char tok[PUSH_TOKEN_MAX], job[PUSH_TOKEN_JOB_MAX];
    int64_t inv = 0;

    (void)state;
    push_token_make(&key_a, "p/j", 42, T0, tok, sizeof(tok));
    assert_int_equal(push_token_check(&key_b, 1, tok, T0, job, &inv), -EACCES);
    /* The previous key (second) is still accepted. */
    assert_int_equal(push_token_check(both, 2, tok, T0, job, &inv), 0);
    assert_true(inv == 42);
}

static void test_lifetime(void **state)
{
    char tok[PUSH_TOKEN_MAX], job[PUSH_TOKEN_JOB_MAX];
    int64_t inv = 0;

    (void)state;
    push_token_make(&key_a, "p/j", 7, T0, tok, sizeof(tok));
    assert_int_equal(push_token_check(&key_a, 1, tok, T0 + 47 * HOUR, job, &inv), 0);
    assert_int_equal(push_token_check(&key_a, 1, tok, T0 + 49 * HOUR, job, &inv), -EACCES);
    /* Issued more than 30 s in the future. */
    assert_int_equal(push_token_check(&key_a, 1, tok, T0 - 31 * INT64_C(1000000000), job, &inv),
                     -EACCES);
    assert_int_equal(push_token_check(&key_a, 1, tok, T0 - 29 * INT64_C(1000000000), job, &inv),
                     0);
}

static void test_forged(void **state)
{
    char tok[PUSH_TOKEN_MAX], bad[PUSH_TOKEN_MAX], job[PUSH_TOKEN_JOB_MAX];
    unsigned char raw[PUSH_TOKEN_MAX];
    int64_t inv = 0;
    ssize_t n;

    (void)state;
    push_token_make(&key_a, "p/j", 7, T0, tok, sizeof(tok));
    /* Change the invocation id inside the public part and re-encode. */
    n = base64_decode(BASE64_URL, tok, strlen(tok), raw, sizeof(raw));
    assert_true(n > 0);
    char *p = NULL;
    for (ssize_t i = 0; i + 9 <= n && !p; i++)
        if (memcmp(raw + i, "\"inv\":\"7\"", 9) == 0)
            p = (char *)raw + i;
    assert_non_null(p);
    p[7] = '8';
    base64_encode(BASE64_URL, raw, (size_t)n, bad, sizeof(bad));
    assert_int_equal(push_token_check(&key_a, 1, bad, T0, job, &inv), -EACCES);
    /* Garbage of every shape. */
    const char *junk[] = {"", "x", "!!!!", "AAAA", "auth_token", NULL};
    for (int i = 0; junk[i]; i++)
        assert_int_equal(push_token_check(&key_a, 1, junk[i], T0, job, &inv), -EACCES);
    assert_int_equal(push_token_check(&key_a, 1, NULL, T0, job, &inv), -EACCES);
    /* Bad job ids are refused when making. */
    assert_int_equal(push_token_make(&key_a, "", 1, T0, tok, sizeof(tok)), -EINVAL);
    assert_int_equal(push_token_make(&key_a, "a\"b", 1, T0, tok, sizeof(tok)), -EINVAL);
    assert_int_equal(push_token_make(&key_a, "p/j", 1, T0, tok, 10), -ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_lifetime),
        cmocka_unit_test(test_forged),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
