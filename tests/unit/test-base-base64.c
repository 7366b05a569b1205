/* test-base-base64.c - base64 and base64url against RFC 4648 section 10. */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/base64.h"
#include "base/buf.h"

/* RFC 4648 section 10 test vectors. */
static const struct {
    const char *plain, *std;
} rfc[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_rfc_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
        char enc[32];
        unsigned char dec[32];
        size_t n = strlen(rfc[i].plain);

        assert_int_equal(base64_encode(BASE64_STD, rfc[i].plain, n, enc, sizeof(enc)),
                         (ssize_t)strlen(rfc[i].std));
        assert_string_equal(enc, rfc[i].std);
        assert_int_equal(base64_decode(BASE64_STD, rfc[i].std, strlen(rfc[i].std), dec,
                                       sizeof(dec)),
                         (ssize_t)n);
        assert_memory_equal(dec, rfc[i].plain, n);
    }
}

static void test_url_alphabet(void **state)
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char enc[16];
    unsigned char dec[16];

    (void)state;
    base64_encode(BASE64_STD, bytes, 3, enc, sizeof(enc));
    assert_string_equal(enc, "+/+/");
    base64_encode(BASE64_URL, bytes, 2, enc, sizeof(enc));
    assert_string_equal(enc, "-_8"); /* unpadded */
    assert_int_equal(base64_decode(BASE64_URL, "-_8", 3, dec, sizeof(dec)), 2);
    assert_memory_equal(dec, bytes, 2);
    assert_int_equal(base64_decode(BASE64_URL, "-_8=", 4, dec, sizeof(dec)), 2);
}

static void test_bad_input(void **state)
{
    unsigned char dec[16];
    char small[4];

    (void)state;
    assert_int_equal(base64_decode(BASE64_STD, "Zm9v!", 5, dec, sizeof(dec)), -EINVAL);
    assert_int_equal(base64_decode(BASE64_STD, "Z", 1, dec, sizeof(dec)), -EINVAL);
    assert_int_equal(base64_decode(BASE64_STD, "-_8", 3, dec, sizeof(dec)), -EINVAL);
    assert_int_equal(base64_decode(BASE64_STD, "Zm9vYmFy", 8, dec, 5), -ENOBUFS);
    /* Go's StdEncoding: whole padded quanta, '=' only at the end. */
    static const char *const bad[] = {"Zg=", "Zg", "Z===", "Zm9v=Zg=", "Zm-_", "Zm 9v", "=Zg="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(base64_decode(BASE64_STD, bad[i], strlen(bad[i]), dec, sizeof(dec)),
                         -EINVAL);
    /* protojson bytes: either alphabet, padding optional. */
    assert_int_equal(base64_decode(BASE64_ANY, "-_8", 3, dec, sizeof(dec)), 2);
    assert_int_equal(base64_decode(BASE64_ANY, "+/8=", 4, dec, sizeof(dec)), 2);
    assert_int_equal(dec[0], 0xfb);
    assert_int_equal(base64_encode(BASE64_STD, "foo", 3, small, sizeof(small)), -ENOBUFS);
}

static void test_buf_forms(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_puts(&b, "x="), 0);
    assert_int_equal(base64_encode_buf(BASE64_STD, "auth_token", 10, &b), 0);
    assert_string_equal(b.data, "x=YXV0aF90b2tlbg==");
    buf_reset(&b);
    assert_int_equal(base64_decode_buf(BASE64_STD, "YXV0aF90b2tlbg==", 16, &b), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "auth_token", 10);
    assert_int_equal(base64_decode_buf(BASE64_STD, "Zg", 2, &b), -EINVAL);
    assert_int_equal(b.len, 10);
    /* Past the buffer's bound. */
    char big[200];
    memset(big, 'A', sizeof(big));
    buf_reset(&b);
    assert_true(base64_encode_buf(BASE64_STD, big, sizeof(big), &b) < 0);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_buf_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
