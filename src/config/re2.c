/*
 * re2.c - RE2 syntax checked by hand, compiled by PCRE2 (see re2.h).
 *
 * The checker follows Go's regexp/syntax parser closely enough to give the
 * same verdict on the patterns configs contain and Go's error text for the
 * common mistakes.  It writes a rewritten pattern for PCRE2 as it goes:
 * octal escapes become \x{..}, \v becomes \x{0B}, a "{" that is not a
 * repeat becomes "\{", \Q..\E text is escaped char by char.
 */
#include "config/re2.h"

#include <stdarg.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/text.h"

struct re2_regexp {
    pcre2_code *code;
    pcre2_match_data *md;
    char *prefix;
    bool complete;
};

struct re2_scan {
    const char *pat;  /* the whole pattern */
    const char *p;    /* cursor */
    const char *end;
    struct buf out;   /* the rewritten pattern */
    char *err;
    size_t errlen;
    int depth;        /* open groups */
    bool have_atom;   /* something a repetition may apply to */
    const char *last_repeat; /* start of the previous repetition operator, or NULL */
    bool failed_oom;
};

static int re2_fail(struct re2_scan *s, const char *code, const char *arg, size_t arglen)
{
    if (s->err && s->errlen)
        snprintf(s->err, s->errlen, "error parsing regexp: %s: `%.*s`", code, (int)arglen, arg);
    return -EINVAL;
}

static int re2_out(struct re2_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int re2_out(struct re2_scan *s, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp) || buf_append(&s->out, tmp, (size_t)n) < 0) {
        s->failed_oom = true;
        return -ENOMEM;
    }
    return 0;
}

static int re2_copy(struct re2_scan *s, const char *from, size_t n)
{
    if (buf_append(&s->out, from, n) < 0) {
        s->failed_oom = true;
        return -ENOMEM;
    }
    return 0;
}

static bool re2_isalnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Decodes one UTF-8 character at p (input is valid UTF-8 or we accept bytes). */
static size_t re2_utf8(const char *p, const char *end, uint32_t *ret)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);

    if (u[0] < 0x80 || avail < 2) {
        *ret = u[0];
        return 1;
    }
    if (u[0] < 0xe0) {
        *ret = ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
        return 2;
    }
    if (u[0] < 0xf0 && avail >= 3) {
        *ret = ((uint32_t)(u[0] & 0x0f) << 12) | ((uint32_t)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
        return 3;
    }
    if (avail >= 4) {
        *ret = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3f) << 12) |
               ((uint32_t)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
        return 4;
    }
    *ret = u[0];
    return 1;
}

/*
 * Go's parseEscape at s->p (pointing at the backslash), for single
 * characters: punctuation, \a \f \n \r \t \v, octal, \x.  On success
 * stores the code point and advances.  Returns 0 or -EINVAL.
 */
static int re2_single_escape(struct re2_scan *s, uint32_t *ret)
{
    const char *start = s->p;
    const char *t = s->p + 1;

    if (t >= s->end)
        return re2_fail(s, "trailing backslash at end of expression", "", 0);
    uint32_t c;
    size_t n = re2_utf8(t, s->end, &c);
    t += n;
    if (c < 0x80 && !re2_isalnum((unsigned char)c)) {
        *ret = c;
        s->p = t;
        return 0;
    }
    switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        if (t >= s->end || *t < '0' || *t > '7')
            break;
        /* fall through */
    case '0': {
        uint32_t r = c - '0';
        for (int i = 1; i < 3; i++) {
            if (t >= s->end || *t < '0' || *t > '7')
                break;
            r = r * 8 + (uint32_t)(*t - '0');
            t++;
        }
        *ret = r;
        s->p = t;
        return 0;
    }
    case 'x': {
        if (t >= s->end)
            break;
        if (*t == '{') {
            t++;
            uint32_t r = 0;
            int nd = 0;
            while (t < s->end && text_hex_digit(*t) >= 0) {
                r = r * 16 + (uint32_t)text_hex_digit(*t);
                if (r > 0x10ffff)
                    break;
                t++;
                nd++;
            }
            if (nd == 0 || t >= s->end || *t != '}' || r > 0x10ffff)
                break;
            t++;
            *ret = r;
            s->p = t;
            return 0;
        }
        if (s->end - t < 2 || text_hex_digit(t[0]) < 0 || text_hex_digit(t[1]) < 0)
            break;
        *ret = (uint32_t)(text_hex_digit(t[0]) * 16 + text_hex_digit(t[1]));
        s->p = t + 2;
        return 0;
    }
    case 'a': *ret = 7; s->p = t; return 0;
    case 'f': *ret = 12; s->p = t; return 0;
    case 'n': *ret = 10; s->p = t; return 0;
    case 'r': *ret = 13; s->p = t; return 0;
    case 't': *ret = 9; s->p = t; return 0;
    case 'v': *ret = 11; s->p = t; return 0;
    default:
        break;
    }
    /* Go quotes the escape up to where it stopped reading. */
    return re2_fail(s, "invalid escape sequence", start, (size_t)(t - start));
}

static int re2_out_cp(struct re2_scan *s, uint32_t cp)
{
    return re2_out(s, "\\x{%" PRIX32 "}", cp);
}

/* \p{Name}, \pN, \P...: copied as is (PCRE2 knows the same names). */
static int re2_unicode_class(struct re2_scan *s)
{
    const char *start = s->p;
    const char *t = s->p + 2;

    if (t >= s->end)
        return re2_fail(s, "invalid character class range", start, (size_t)(t - start));
    if (*t == '{') {
        const char *close = memchr(t, '}', (size_t)(s->end - t));
        if (!close)
            return re2_fail(s, "invalid character class range", start,
                            (size_t)(s->end - start));
        t = close + 1;
    } else {
        uint32_t c;
        t += re2_utf8(t, s->end, &c);
    }
    s->p = t;
    return re2_copy(s, start, (size_t)(t - start));
}

static bool re2_is_perl_class(char c)
{
    return c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W';
}

static const char *const re2_posix_names[] = {
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
    "lower", "print", "punct", "space", "upper", "word", "xdigit",
};

/* One character of a class (literal or escape).  Copies it to out. */
static int re2_class_char(struct re2_scan *s, const char *whole, uint32_t *ret)
{
    if (s->p >= s->end)
        return re2_fail(s, "missing closing ]", whole, (size_t)(s->end - whole));
    if (*s->p == '\\') {
        int r = re2_single_escape(s, ret);
        if (r < 0)
            return r;
        return re2_out_cp(s, *ret);
    }
    const char *c0 = s->p;
    s->p += re2_utf8(s->p, s->end, ret);
    if (*ret == '[' || *ret == ']' || *ret == '\\' || *ret == '^' || *ret == '-')
        return re2_out(s, "\\%c", (char)*ret);
    return re2_copy(s, c0, (size_t)(s->p - c0));
}

/* A character class, s->p at '['. */
static int re2_class(struct re2_scan *s)
{
    const char *whole = s->p;
    int r;

    s->p++;
    if ((r = re2_copy(s, "[", 1)) < 0)
        return r;
    if (s->p < s->end && *s->p == '^') {
        s->p++;
        if ((r = re2_copy(s, "^", 1)) < 0)
            return r;
    }
    bool first = true;
    while (s->p >= s->end || *s->p != ']' || first) {
        first = false;
        if (s->p >= s->end)
            return re2_fail(s, "missing closing ]", whole, (size_t)(s->end - whole));
        /* POSIX [:name:] */
        if (s->end - s->p > 2 && s->p[0] == '[' && s->p[1] == ':') {
            const char *close = NULL;
            for (const char *q = s->p + 2; q + 1 < s->end; q++) {
                if (q[0] == ':' && q[1] == ']') {
                    close = q;
                    break;
                }
            }
            if (close) {
                const char *name = s->p + 2;
                size_t nlen = (size_t)(close - name);
                if (nlen && *name == '^') {
                    name++;
                    nlen--;
                }
                bool ok = false;
                for (size_t i = 0; i < ARRAY_SIZE(re2_posix_names); i++)
                    if (strlen(re2_posix_names[i]) == nlen &&
                        memcmp(re2_posix_names[i], name, nlen) == 0)
                        ok = true;
                if (!ok)
                    return re2_fail(s, "invalid character class range", s->p,
                                    (size_t)(close + 2 - s->p));
                if ((r = re2_copy(s, s->p, (size_t)(close + 2 - s->p))) < 0)
                    return r;
                s->p = close + 2;
                continue;
            }
        }
        if (s->end - s->p >= 2 && s->p[0] == '\\' && (s->p[1] == 'p' || s->p[1] == 'P')) {
            if ((r = re2_unicode_class(s)) < 0)
                return r;
            continue;
        }
        if (s->end - s->p >= 2 && s->p[0] == '\\' && re2_is_perl_class(s->p[1])) {
            if ((r = re2_copy(s, s->p, 2)) < 0)
                return r;
            s->p += 2;
            continue;
        }
        const char *rng = s->p;
        uint32_t lo, hi;
        if ((r = re2_class_char(s, whole, &lo)) < 0)
            return r;
        if (s->end - s->p >= 2 && s->p[0] == '-' && s->p[1] != ']') {
            s->p++;
            if ((r = re2_copy(s, "-", 1)) < 0)
                return r;
            if ((r = re2_class_char(s, whole, &hi)) < 0)
                return r;
            if (hi < lo)
                return re2_fail(s, "invalid character class range", rng, (size_t)(s->p - rng));
        }
    }
    s->p++;
    return re2_copy(s, "]", 1);
}

/* Parses "{min[,[max]]}" at p.  Returns true and the bounds if it is one. */
static bool re2_parse_repeat(const char *p, const char *end, int *ret_min, int *ret_max,
                             const char **ret_after)
{
    const char *t = p + 1;
    long v[2] = { -1, -1 };
    bool comma = false;

    for (int k = 0; k < 2; k++) {
        const char *d0 = t;
        long x = 0;
        while (t < end && *t >= '0' && *t <= '9') {
            if (x < 100000)
                x = x * 10 + (*t - '0');
            t++;
        }
        if (t == d0) {
            if (k == 0)
                return false;
        } else {
            if (t - d0 >= 2 && d0[0] == '0')
                return false; /* Go: no leading zeros */
            v[k] = x;
        }
        if (k == 0) {
            if (t < end && *t == ',') {
                comma = true;
                t++;
                continue;
            }
            break;
        }
    }
    if (t >= end || *t != '}')
        return false;
    *ret_min = (int)v[0];
    *ret_max = comma ? (int)v[1] : (int)v[0];
    *ret_after = t + 1;
    return true;
}

static int re2_repeat(struct re2_scan *s, const char *op_start, const char *after)
{
    /* A following '?' makes it lazy and belongs to the operator. */
    if (after < s->end && *after == '?')
        after++;
    if (s->last_repeat)
        return re2_fail(s, "invalid nested repetition operator", s->last_repeat,
                        (size_t)(after - s->last_repeat));
    if (!s->have_atom)
        return re2_fail(s, "missing argument to repetition operator", op_start,
                        (size_t)(after - op_start));
    int r = re2_copy(s, op_start, (size_t)(after - op_start));
    s->last_repeat = op_start;
    s->p = after;
    return r;
}

/* (?flags), (?flags:, (?P<name>, (?<name> at s->p ("(?"). */
static int re2_perl_group(struct re2_scan *s)
{
    const char *t = s->p;
    size_t rest = (size_t)(s->end - t);
    int r;

    if ((rest > 4 && t[2] == 'P' && t[3] == '<') || (rest > 3 && t[2] == '<')) {
        size_t begin = t[2] == 'P' ? 4 : 3;
        const char *gt = memchr(t, '>', rest);
        if (!gt)
            return re2_fail(s, "invalid named capture", t, rest);
        const char *name = t + begin;
        bool ok = gt > name;
        for (const char *q = name; q < gt; q++)
            if (!re2_isalnum((unsigned char)*q) && *q != '_')
                ok = false;
        if (!ok)
            return re2_fail(s, "invalid named capture", t, (size_t)(gt + 1 - t));
        if ((r = re2_out(s, "(?<%.*s>", (int)(gt - name), name)) < 0)
            return r;
        s->p = gt + 1;
        s->depth++;
        s->have_atom = false;
        return 0;
    }
    /* Flags: [imsU]* ( - [imsU]+ )? then ':' or ')'. */
    const char *q = t + 2;
    bool neg = false, saw_flag = false;
    while (q < s->end) {
        char c = *q;
        if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
            saw_flag = true;
            q++;
            continue;
        }
        if (c == '-' && !neg) {
            neg = true;
            saw_flag = false;
            q++;
            continue;
        }
        if ((c == ':' || c == ')') && !(neg && !saw_flag)) {
            q++;
            if ((r = re2_copy(s, t, (size_t)(q - t))) < 0)
                return r;
            s->p = q;
            if (c == ':') {
                s->depth++;
                s->have_atom = false;
            }
            return 0;
        }
        break;
    }
    if (q >= s->end)
        return re2_fail(s, "missing closing )", s->pat, (size_t)(s->end - s->pat));
    uint32_t cp;
    q += re2_utf8(q, s->end, &cp);
    return re2_fail(s, "invalid or unsupported Perl syntax", t, (size_t)(q - t));
}

static int re2_scan_pattern(struct re2_scan *s)
{
    int r = 0;

    while (s->p < s->end) {
        const char *tok = s->p;
        char c = *tok;
        bool was_repeat = false;

        switch (c) {
        case '(':
            if (s->end - tok >= 2 && tok[1] == '?') {
                r = re2_perl_group(s);
            } else {
                s->depth++;
                s->have_atom = false;
                s->p++;
                r = re2_copy(s, "(", 1);
            }
            break;
        case ')':
            if (s->depth == 0)
                return re2_fail(s, "unexpected )", s->pat, (size_t)(s->end - s->pat));
            s->depth--;
            s->have_atom = true;
            s->p++;
            r = re2_copy(s, ")", 1);
            break;
        case '|':
            s->have_atom = false;
            s->p++;
            r = re2_copy(s, "|", 1);
            break;
        case '*':
        case '+':
        case '?':
            r = re2_repeat(s, tok, tok + 1);
            was_repeat = true;
            break;
        case '{': {
            int min, max;
            const char *after;
            if (!re2_parse_repeat(tok, s->end, &min, &max, &after)) {
                s->p++;
                s->have_atom = true;
                r = re2_copy(s, "\\{", 2);
                break;
            }
            if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max))
                return re2_fail(s, "invalid repeat count", tok, (size_t)(after - tok));
            r = re2_repeat(s, tok, after);
            was_repeat = true;
            break;
        }
        case '[':
            r = re2_class(s);
            s->have_atom = true;
            break;
        case '^':
        case '$':
        case '.':
            s->p++;
            s->have_atom = true;
            r = re2_copy(s, tok, 1);
            break;
        case '\\': {
            if (s->end - tok < 2)
                return re2_fail(s, "trailing backslash at end of expression", "", 0);
            char e = tok[1];
            s->have_atom = true;
            if (e == 'A' || e == 'b' || e == 'B' || e == 'z') {
                s->p += 2;
                r = re2_copy(s, tok, 2);
            } else if (e == 'C') {
                return re2_fail(s, "invalid escape sequence", tok, 2);
            } else if (e == 'Q') {
                const char *lit = tok + 2;
                const char *stop = lit;
                while (stop < s->end && !(stop[0] == '\\' && stop + 1 < s->end &&
                                          stop[1] == 'E'))
                    stop++;
                for (const char *q = lit; q < stop && r == 0;) {
                    uint32_t cp;
                    q += re2_utf8(q, stop, &cp);
                    r = re2_out_cp(s, cp);
                }
                s->p = stop < s->end ? stop + 2 : stop;
            } else if (e == 'p' || e == 'P') {
                r = re2_unicode_class(s);
            } else if (re2_is_perl_class(e)) {
                s->p += 2;
                r = re2_copy(s, tok, 2);
            } else {
                uint32_t cp;
                r = re2_single_escape(s, &cp);
                if (r == 0)
                    r = re2_out_cp(s, cp);
            }
            break;
        }
        default: {
            uint32_t cp;
            size_t n = re2_utf8(tok, s->end, &cp);
            s->p += n;
            s->have_atom = true;
            r = re2_copy(s, tok, n);
            break;
        }
        }
        if (r < 0)
            return r;
        if (!was_repeat)
            s->last_repeat = NULL;
    }
    if (s->depth > 0)
        return re2_fail(s, "missing closing )", s->pat, (size_t)(s->end - s->pat));
    return 0;
}

/* ---------------------------------------------------------------------------
 * Literal prefix (Go's Regexp.LiteralPrefix), on a pattern known to be valid.
 */

struct re2_lit {
    char *out;
    size_t len, cap;
};

static void re2_lit_put(struct re2_lit *l, const char *s, size_t n)
{
    if (l->len + n < l->cap) {
        memcpy(l->out + l->len, s, n);
        l->len += n;
    }
}

static void re2_lit_put_cp(struct re2_lit *l, uint32_t cp)
{
    char u[4];
    size_t n = text_utf8_encode(cp, u);

    re2_lit_put(l, u, n);
}

/*
 * Reads one atom that stands for exactly one literal character: a plain
 * character, an escaped one, or a one-character class like [e].  Returns
 * the bytes consumed (0 if the atom is something else).
 */
static size_t re2_lit_atom(const char *p, const char *end, uint32_t *ret)
{
    struct re2_scan tmp;

    memset(&tmp, 0, sizeof(tmp));
    tmp.end = end;
    if (p >= end)
        return 0;
    switch (*p) {
    case '.': case '^': case '$': case '(': case ')': case '|': case '*': case '+': case '?':
        return 0; /* a '{' here is not a repeat (that was taken already): a literal */
    case '\\':
        if (end - p >= 2 && (re2_isalnum((unsigned char)p[1]) && p[1] != 'a' && p[1] != 'f' &&
                             p[1] != 'n' && p[1] != 'r' && p[1] != 't' && p[1] != 'v' &&
                             p[1] != 'x' && (p[1] < '0' || p[1] > '7')))
            return 0;
        tmp.p = p;
        if (re2_single_escape(&tmp, ret) < 0)
            return 0;
        return (size_t)(tmp.p - p);
    case '[': {
        /* [c] or [\c] with one literal character */
        const char *q = p + 1;
        if (q >= end || *q == '^' || *q == ']')
            return 0;
        uint32_t cp;
        if (*q == '\\') {
            if (end - q >= 2 && (re2_is_perl_class(q[1]) || q[1] == 'p' || q[1] == 'P'))
                return 0;
            tmp.p = q;
            if (re2_single_escape(&tmp, &cp) < 0)
                return 0;
            q = tmp.p;
        } else {
            if (*q == '[')
                return 0;
            q += re2_utf8(q, end, &cp);
        }
        if (q >= end || *q != ']')
            return 0;
        *ret = cp;
        return (size_t)(q + 1 - p);
    }
    default:
        return re2_utf8(p, end, ret);
    }
}

/* End of the group opened at p[0] == '(' (pattern already validated). */
static const char *re2_group_end(const char *p, const char *end)
{
    int depth = 0;
    bool in_class = false;

    for (const char *q = p; q < end; q++) {
        if (*q == '\\') {
            q++;
            continue;
        }
        if (in_class) {
            if (*q == ']')
                in_class = false;
            continue;
        }
        if (*q == '[') {
            in_class = true;
            if (q + 1 < end && q[1] == '^')
                q++;
            if (q + 1 < end && q[1] == ']')
                q++;
        } else if (*q == '(') {
            depth++;
        } else if (*q == ')' && --depth == 0) {
            return q;
        }
    }
    return NULL;
}

/* Splits [p, end) at top-level '|'; returns the count (at most max). */
static size_t re2_split_alts(const char *p, const char *end, const char **starts,
                             const char **ends, size_t max)
{
    size_t n = 0;
    const char *a = p;

    for (const char *q = p; q < end; q++) {
        if (*q == '\\') {
            q++;
            continue;
        }
        if (*q == '[') {
            const char *c = q + 1;
            if (c < end && *c == '^')
                c++;
            if (c < end && *c == ']')
                c++;
            while (c < end && *c != ']') {
                if (*c == '\\')
                    c++;
                c++;
            }
            q = c;
            continue;
        }
        if (*q == '(') {
            const char *g = re2_group_end(q, end);
            if (!g)
                return 0;
            q = g;
            continue;
        }
        if (*q == '|') {
            if (n < max) {
                starts[n] = a;
                ends[n] = q;
            }
            n++;
            a = q + 1;
        }
    }
    if (n < max) {
        starts[n] = a;
        ends[n] = end;
    }
    return n + 1;
}

static bool re2_seq_prefix(const char *p, const char *end, struct re2_lit *l, int budget);

/* The plain literal text an alternative starts with (no repetition on it). */
static size_t re2_alt_literal(const char *p, const char *end, char *out, size_t cap)
{
    struct re2_lit l = { out, 0, cap };
    while (p < end) {
        uint32_t cp;
        size_t n = re2_lit_atom(p, end, &cp);
        if (!n)
            break;
        const char *after = p + n;
        int min, max;
        const char *next;
        if (after < end && (*after == '*' || *after == '+' || *after == '?' ||
                            (*after == '{' && re2_parse_repeat(after, end, &min, &max, &next))))
            break;
        re2_lit_put_cp(&l, cp);
        p = after;
    }
    return l.len;
}

/* Common literal prefix of alternatives: what Go's factoring pulls out. */
static void re2_alts_prefix(const char *p, const char *end, struct re2_lit *l)
{
    const char *starts[64], *ends[64];
    size_t n = re2_split_alts(p, end, starts, ends, 64);
    if (n == 0 || n > 64)
        return;
    char first[256], other[256];
    size_t common = re2_alt_literal(starts[0], ends[0], first, sizeof(first));
    for (size_t i = 1; i < n && common; i++) {
        size_t k = re2_alt_literal(starts[i], ends[i], other, sizeof(other));
        size_t j = 0;
        while (j < common && j < k && first[j] == other[j])
            j++;
        common = j;
    }
    /* Do not cut a UTF-8 character in two. */
    while (common && ((unsigned char)first[common] & 0xc0) == 0x80 && common < sizeof(first))
        common--;
    re2_lit_put(l, first, common);
}

/*
 * Appends the literal prefix of the sequence [p, end) to l.  Returns true
 * if the whole sequence was literal (the prefix is complete).
 */
static bool re2_seq_prefix(const char *p, const char *end, struct re2_lit *l, int budget)
{
    const char *starts[2], *ends[2];

    if (budget <= 0)
        return false;
    if (re2_split_alts(p, end, starts, ends, 2) != 1) {
        re2_alts_prefix(p, end, l);
        return false;
    }
    while (p < end) {
        const char *after;
        size_t before_len = l->len;
        bool whole;
        if (*p == '(') {
            const char *g = re2_group_end(p, end);
            if (!g)
                return false;
            const char *in = p + 1;
            if (g - in >= 2 && in[0] == '?') {
                if (in[1] == ':') {
                    in += 2;
                } else if (in[1] == '<' || (in[1] == 'P' && g - in >= 3 && in[2] == '<')) {
                    const char *gt = memchr(in, '>', (size_t)(g - in));
                    if (!gt)
                        return false;
                    in = gt + 1;
                } else {
                    return false; /* flags: case folding and friends end the prefix */
                }
            }
            whole = re2_seq_prefix(in, g, l, budget - 1);
            after = g + 1;
        } else {
            uint32_t cp;
            size_t n = re2_lit_atom(p, end, &cp);
            if (!n)
                return false;
            re2_lit_put_cp(l, cp);
            whole = true;
            after = p + n;
        }
        /* A repetition of what was just read. */
        int min = 1, max = 1;
        const char *next = after;
        if (after < end && (*after == '*' || *after == '?')) {
            min = 0;
            next = after + 1;
        } else if (after < end && *after == '+') {
            max = -1;
            next = after + 1;
        } else if (after < end && *after == '{') {
            if (re2_parse_repeat(after, end, &min, &max, &next) == false) {
                min = max = 1;
                next = after;
            }
        }
        if (next < end && next > after && *next == '?')
            next++;
        if (min == 0) {
            l->len = before_len;
            return false;
        }
        if (!whole)
            return false;
        /* x{n,m}: n copies are certain; more are not. */
        size_t unit = l->len - before_len;
        for (int i = 1; i < min && unit; i++) {
            if (l->len + unit >= l->cap)
                break;
            memmove(l->out + l->len, l->out + before_len, unit);
            l->len += unit;
        }
        if (max != min)
            return false;
        p = next;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * API
 */

int re2_regexp_compile(const char *pattern, struct re2_regexp **ret, char *reterr_msg,
                       size_t errlen)
{
    struct re2_regexp *re = NULL;
    struct re2_scan s;
    int r;

    memset(&s, 0, sizeof(s));
    s.pat = s.p = pattern;
    s.end = pattern + strlen(pattern);
    s.err = reterr_msg;
    s.errlen = errlen;
    buf_init(&s.out, 16 * (size_t)(s.end - s.pat) + 64);
    r = re2_scan_pattern(&s);
    if (r < 0) {
        if (s.failed_oom)
            r = -ENOMEM;
        goto out;
    }
    re = calloc(1, sizeof(*re));
    if (!re) {
        r = -ENOMEM;
        goto out;
    }
    int ecode;
    PCRE2_SIZE eoff;
    re->code = pcre2_compile((PCRE2_SPTR)s.out.data, s.out.len,
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &ecode,
                             &eoff, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[200];
        if (pcre2_get_error_message(ecode, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", ecode);
        if (reterr_msg && errlen)
            snprintf(reterr_msg, errlen, "error parsing regexp: %s: `%s`", (const char *)msg,
                     pattern);
        r = -EINVAL;
        goto out;
    }
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    size_t cap = strlen(pattern) * 4 + 8;
    re->prefix = malloc(cap + 1);
    if (!re->md || !re->prefix) {
        r = -ENOMEM;
        goto out;
    }
    struct re2_lit l = { re->prefix, 0, cap };
    re->complete = re2_seq_prefix(pattern, s.end, &l, LIMIT_CONFIG_NESTING * 4);
    re->prefix[l.len] = '\0';
    *ret = re;
    re = NULL;
    r = 0;
out:
    re2_regexp_free(re);
    buf_release(&s.out);
    return r;
}

struct re2_regexp *re2_regexp_free(struct re2_regexp *re)
{
    if (!re)
        return NULL;
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    free(re->prefix);
    free(re);
    return NULL;
}

void re2_regexp_literal_prefix(const struct re2_regexp *re, char *out, size_t outlen,
                               bool *ret_complete)
{
    if (outlen)
        snprintf(out, outlen, "%s", re->prefix);
    if (ret_complete)
        *ret_complete = re->complete;
}

bool re2_regexp_full_match(const struct re2_regexp *re, const char *subject, size_t len)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED, re->md, NULL);
    return rc >= 0;
}
