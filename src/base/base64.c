/*
 * base64.c - see base64.h.
 */
#include "base/compat.h"

#include "base/base64.h"

#include "base/buf.h"

static const char std_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

ssize_t base64_encode(enum base64_alphabet a, const void *in, size_t n, char *out,
                      size_t outlen)
{
    const unsigned char *p = in;
    const char *chars = a == BASE64_URL ? url_chars : std_chars;
    size_t o = 0, i;

    if (outlen < BASE64_ENCODED_SIZE(n))
        return -ENOBUFS;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = chars[(w >> 18) & 63];
        out[o++] = chars[(w >> 12) & 63];
        out[o++] = chars[(w >> 6) & 63];
        out[o++] = chars[w & 63];
    }
    if (i < n) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = chars[(w >> 18) & 63];
        out[o++] = chars[(w >> 12) & 63];
        if (i + 1 < n)
            out[o++] = chars[(w >> 6) & 63];
        if (a == BASE64_STD) {
            if (i + 1 >= n)
                out[o++] = '=';
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    return (ssize_t)o;
}

static int digit(enum base64_alphabet a, char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if ((c == '+' && a != BASE64_URL) || (c == '-' && a != BASE64_STD))
        return 62;
    if ((c == '/' && a != BASE64_URL) || (c == '_' && a != BASE64_STD))
        return 63;
    return -1;
}

ssize_t base64_decode(enum base64_alphabet a, const char *text, size_t n, void *out,
                      size_t outlen)
{
    unsigned char *p = out;
    uint32_t acc = 0;
    size_t o = 0, k = 0;

    if (a == BASE64_STD && n % 4 != 0)
        return -EINVAL; /* Go's StdEncoding: padded to whole quanta */
    while (n > 0 && text[n - 1] == '=' && k < 2) {
        n--; /* padding, at most two characters */
        k++;
    }
    k = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digit(a, text[i]);
        if (d < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)d;
        if (++k == 4) {
            if (o + 3 > outlen)
                return -ENOBUFS;
            p[o++] = (unsigned char)(acc >> 16);
            p[o++] = (unsigned char)(acc >> 8);
            p[o++] = (unsigned char)acc;
            acc = 0;
            k = 0;
        }
    }
    if (k == 1)
        return -EINVAL;
    if (k > 1) {
        if (o + k - 1 > outlen)
            return -ENOBUFS;
        acc <<= 6 * (4 - k);
        p[o++] = (unsigned char)(acc >> 16);
        if (k == 3)
            p[o++] = (unsigned char)(acc >> 8);
    }
    return (ssize_t)o;
}

int base64_encode_buf(enum base64_alphabet a, const void *in, size_t n, struct buf *out)
{
    size_t need = BASE64_ENCODED_SIZE(n);
    char stack[256], *tmp = need <= sizeof(stack) ? stack : malloc(need);
    ssize_t len;
    int r;

    if (!tmp)
        return -ENOMEM;
    len = base64_encode(a == BASE64_URL ? BASE64_URL : BASE64_STD, in, n, tmp, need);
    r = len < 0 ? (int)len : buf_append(out, tmp, (size_t)len);
    if (tmp != stack)
        free(tmp);
    return r;
}

int base64_decode_buf(enum base64_alphabet a, const char *text, size_t n, struct buf *out)
{
    size_t cap = n / 4 * 3 + 3;
    unsigned char stack[256], *tmp = cap <= sizeof(stack) ? stack : malloc(cap);
    ssize_t len;
    int r;

    if (!tmp)
        return -ENOMEM;
    len = base64_decode(a, text, n, tmp, cap);
    r = len < 0 ? (int)len : buf_append(out, tmp, (size_t)len);
    if (tmp != stack)
        free(tmp);
    return r;
}
