/*
 * form.c - the fields of an application/x-www-form-urlencoded body
 * (contract in web-internal.h).  The body is bounded by the caller
 * (WEB_FORM_BYTES).
 */
#include "base/compat.h"

#include "base/text.h"
#include "web/web-internal.h"

/* Decodes s[0..n) ('+' is a space, %XX a byte; field names are compared undecoded) into ret. */
static int decode(const char *s, size_t n, char *ret, size_t retlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? text_hex_digit(s[i + 1]) : -1, lo = i + 2 < n ? text_hex_digit(s[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0)
            return -EINVAL;
        if (o + 1 >= retlen)
            return -E2BIG;
        ret[o++] = (char)c;
    }
    ret[o] = '\0';
    return 0;
}

int form_get(const char *body, const char *name, char *ret, size_t retlen)
{
    size_t name_len = strlen(name);
    const char *f = body;

    if (retlen == 0)
        return -E2BIG;
    while (f && *f) {
        size_t len = strcspn(f, "&");
        const char *eq = memchr(f, '=', len);
        size_t key_len = eq ? (size_t)(eq - f) : len;

        if (key_len == name_len && memcmp(f, name, name_len) == 0) {
            if (!eq)
                return decode("", 0, ret, retlen);
            return decode(eq + 1, len - key_len - 1, ret, retlen);
        }
        f = f[len] ? f + len + 1 : NULL;
    }
    return -ENOENT;
}
