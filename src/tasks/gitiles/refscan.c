/*
 * refscan.c - the fast path of gt_parse_refs (gt-internal.h): a bounded
 * scanner for the one shape Gitiles sends for "+refs" (wire-formats.md 3):
 * ")]}'", then one JSON object whose members are objects of string
 * members, keys in strictly increasing byte order.  Anything else (other
 * value types, bytes >= 0x80, \u0000, lone surrogates, duplicate or
 * unsorted keys, a bad SHA, too many refs, trailing bytes) is "not
 * handled" and the caller parses the reply with jansson, so the result
 * never depends on this file: for every input it handles, it adds what
 * the jansson path would add.
 */
#include "tasks/gitiles/gt-internal.h"

struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static bool eat(struct scan *s, char c)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p != c)
        return false;
    s->p++;
    return true;
}

static int hex4(const char *p, unsigned *ret)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

/* One \uXXXX escape (s->p after the 'u'), a pair for a surrogate: the code point. */
static int unicode_escape(struct scan *s, unsigned *ret)
{
    unsigned hi, lo;

    if (s->end - s->p < 4 || hex4(s->p, &hi) < 0)
        return -1;
    s->p += 4;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return -1;
    if (hi >= 0xd800 && hi <= 0xdbff) {
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) < 0 ||
            lo < 0xdc00 || lo > 0xdfff)
            return -1;
        s->p += 6;
        hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (hi == 0)
        return -1; /* jansson rejects \u0000 without JSON_ALLOW_NUL */
    *ret = hi;
    return 0;
}

/* Appends code point c as UTF-8 at dst + *len (cap bytes with the NUL; NULL: skipped). */
static int put_utf8(char *dst, size_t cap, size_t *len, unsigned c)
{
    unsigned char b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (unsigned char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (unsigned char)(0xc0 | (c >> 6));
        b[1] = (unsigned char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (c >> 12));
        b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (c >> 18));
        b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (c & 0x3f));
        n = 4;
    }
    if (!dst)
        return 0;
    if (cap - *len <= n)
        return -1;
    memcpy(dst + *len, b, n);
    *len += n;
    return 0;
}

static int simple_escape(char c, unsigned *ret)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at = c ? strchr(from, c) : NULL;

    if (!at)
        return -1;
    *ret = (unsigned char)to[at - from];
    return 0;
}

/*
 * A JSON string at s->p (after blanks) decoded into dst (cap bytes with
 * the NUL; NULL: checked and skipped).  -1: not handled.
 */
static int scan_string(struct scan *s, char *dst, size_t cap)
{
    size_t len = 0;
    unsigned c;

    if (!eat(s, '"'))
        return -1;
    while (s->p < s->end && *s->p != '"') {
        unsigned char b = (unsigned char)*s->p++;
        if (b < 0x20 || b >= 0x80)
            return -1;
        c = b;
        if (b == '\\') {
            if (s->p >= s->end)
                return -1;
            b = (unsigned char)*s->p++;
            if (b == 'u' ? unicode_escape(s, &c) < 0 : simple_escape((char)b, &c) < 0)
                return -1;
        }
        if (put_utf8(dst, cap, &len, c) < 0)
            return -1;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    if (dst)
        dst[len] = '\0';
    return 0;
}

/* One ref's object: its "value" (sha, "" if absent) and whether it has "target". */
static int scan_ref_value(struct scan *s, char *sha, size_t cap, bool *target)
{
    char key[16];
    bool have_value = false;

    sha[0] = '\0';
    *target = false;
    if (!eat(s, '{'))
        return -1;
    if (eat(s, '}'))
        return 0;
    do {
        if (scan_string(s, key, sizeof(key)) < 0) /* "value", "peeled", "target" fit */
            return -1;
        if (!eat(s, ':'))
            return -1;
        if (strcmp(key, "value") == 0) {
            if (have_value || scan_string(s, sha, cap) < 0)
                return -1;
            have_value = true;
        } else {
            *target = *target || strcmp(key, "target") == 0;
            if (scan_string(s, NULL, 0) < 0)
                return -1;
        }
    } while (eat(s, ','));
    return eat(s, '}') ? 0 : -1;
}

int gt_scan_refs(const char *body, size_t len, const char *prefix, struct gt_refs *out)
{
    struct scan s = {body + 4, body + len};
    char key[2][GT_MAX_REF + 1], sha[GT_SHA_LEN + 2];
    size_t n0 = out->n, count = 0;
    bool target;
    int r = -1, cur = 0;

    if (len < 4 || memcmp(body, ")]}'", 4) != 0 || !eat(&s, '{'))
        return -EPROTO;
    key[1][0] = '\0';
    if (eat(&s, '}'))
        goto end;
    do {
        const char *k = key[cur];
        if (scan_string(&s, key[cur], sizeof(key[cur])) < 0 || !k[0] ||
            (count > 0 && strcmp(key[!cur], k) >= 0) || ++count > GT_MAX_REFS || !eat(&s, ':'))
            goto out;
        if (scan_ref_value(&s, sha, sizeof(sha), &target) < 0)
            goto out;
        if (sha[0] && !target && gt_refs_entry_add(prefix, k, sha, out, NULL, 0) < 0)
            goto out;
        cur = !cur;
    } while (eat(&s, ','));
    if (!eat(&s, '}'))
        goto out;
end:
    skip_ws(&s);
    r = s.p == s.end ? 0 : -1;
out:
    if (r < 0)
        gt_refs_truncate(out, n0);
    return r < 0 ? -EPROTO : 0;
}
