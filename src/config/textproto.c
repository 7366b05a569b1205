/*
 * textproto.c - the protobuf text-format reader (see textproto.h).
 *
 * One pass, one token of look-ahead, recursion only per message level
 * (bounded by LIMIT_CONFIG_NESTING).  Strings are decoded into one scratch
 * buffer that lives for the whole parse, so reading a file does no
 * allocation per token.
 */
#include "config/textproto.h"

#include <math.h>
#include <stdarg.h>

#include "base/limits.h"
#include "base/text.h"

enum tk_kind {
    TK_EOF,
    TK_IDENT,  /* identifier or number: [A-Za-z0-9_+.-]+ */
    TK_STRING, /* one quoted string, quotes included */
    TK_PUNCT,  /* one of < > { } : [ ] ; , / */
};

struct tp_token {
    enum tk_kind kind;
    const char *s; /* raw text */
    size_t len;
    struct cfg_pos pos;
};

struct tp_parser {
    const char *p;          /* next unread byte */
    const char *end;
    const char *line_start; /* first byte of the current line */
    uint32_t line;
    struct tp_token tok;    /* the look-ahead token (valid when have_tok) */
    bool have_tok;
    struct buf scratch;     /* decoded string values */
    const struct tp_handler *h;
    /* The first error. */
    struct cfg_pos err_pos;
    char *err_msg;
    size_t err_len;
};

static int tp_error(struct tp_parser *tp, struct cfg_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tp_error(struct tp_parser *tp, struct cfg_pos pos, const char *fmt, ...)
{
    va_list ap;

    tp->err_pos = pos;
    if (tp->err_msg && tp->err_len) {
        va_start(ap, fmt);
        vsnprintf(tp->err_msg, tp->err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static struct cfg_pos tp_here(const struct tp_parser *tp, const char *at)
{
    struct cfg_pos pos = { tp->line, (uint32_t)(at - tp->line_start) + 1 };
    return pos;
}

/*
 * Writes a short printable form of raw token text into out (for messages):
 * at most 40 bytes of it, non-printable bytes as \xHH.
 */
static const char *tp_describe(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len && i < 40 && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out[o++] = (char)c;
        } else {
            int n = snprintf(out + o, outlen - o, "\\x%02x", c);
            if (n < 0 || (size_t)n >= outlen - o)
                break;
            o += (size_t)n;
        }
    }
    if (len > 40 && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static const char *tp_tok_text(const struct tp_token *t, char *out, size_t outlen)
{
    if (t->kind == TK_EOF) {
        snprintf(out, outlen, "end of input");
        return out;
    }
    char tmp[200];
    tp_describe(t->s, t->len, tmp, sizeof(tmp));
    snprintf(out, outlen, "\"%s\"", tmp);
    return out;
}

static bool tp_is_ident_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '+' || c == '.';
}

/* Skips white space and # comments, counting lines. */
static void tp_skip_space(struct tp_parser *tp)
{
    const char *p = tp->p;

    while (p < tp->end) {
        char c = *p;
        if (c == '\n') {
            p++;
            tp->line++;
            tp->line_start = p;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
            p++;
        } else if (c == '#') {
            const char *nl = memchr(p, '\n', (size_t)(tp->end - p));
            p = nl ? nl : tp->end;
        } else {
            break;
        }
    }
    tp->p = p;
}

/* Reads the next token into tp->tok.  Returns 0 or -EINVAL. */
static int tp_lex(struct tp_parser *tp)
{
    tp_skip_space(tp);
    struct tp_token *t = &tp->tok;
    const char *p = tp->p;

    t->s = p;
    t->pos = tp_here(tp, p);
    if (p >= tp->end) {
        t->kind = TK_EOF;
        t->len = 0;
        return 0;
    }
    unsigned char c = (unsigned char)*p;
    switch (c) {
    case '<': case '>': case '{': case '}': case ':': case '[': case ']': case ';': case ',':
    case '/':
        t->kind = TK_PUNCT;
        t->len = 1;
        tp->p = p + 1;
        return 0;
    case '"': case '\'': {
        const char *q = p + 1;
        while (q < tp->end && *q != (char)c && *q != '\n') {
            if (*q == '\0')
                return tp_error(tp, tp_here(tp, q), "NUL byte in string");
            if (*q == '\\' && q + 1 < tp->end)
                q++;
            q++;
        }
        if (q >= tp->end || *q != (char)c)
            return tp_error(tp, t->pos, "unterminated string");
        t->kind = TK_STRING;
        t->len = (size_t)(q + 1 - p);
        tp->p = q + 1;
        return 0;
    }
    default:
        break;
    }
    if (!tp_is_ident_char(c)) {
        if (c == '\0')
            return tp_error(tp, t->pos, "unexpected NUL byte");
        return tp_error(tp, t->pos, "unexpected byte 0x%02x", c);
    }
    const char *q = p;
    while (q < tp->end && tp_is_ident_char((unsigned char)*q))
        q++;
    t->kind = TK_IDENT;
    t->len = (size_t)(q - p);
    tp->p = q;
    return 0;
}

static int tp_peek(struct tp_parser *tp, const struct tp_token **ret)
{
    if (!tp->have_tok) {
        int r = tp_lex(tp);
        if (r < 0)
            return r;
        tp->have_tok = true;
    }
    *ret = &tp->tok;
    return 0;
}

/* Consumes the look-ahead token (which must have been peeked). */
static void tp_next(struct tp_parser *tp)
{
    tp->have_tok = false;
}

static bool tp_is_punct(const struct tp_token *t, char c)
{
    return t->kind == TK_PUNCT && t->s[0] == c;
}

static bool tp_tok_eq(const struct tp_token *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(t->s, s, n) == 0;
}

/* ---------------------------------------------------------------------------
 * Strings
 */

static int tp_put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];

    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd; /* a lone surrogate is no character; Go writes U+FFFD */
    return buf_append(b, u, text_utf8_encode(cp, u));
}

/*
 * Returns the length of the valid UTF-8 sequence at s[0..n), or 0 if it is
 * not valid (overlong, surrogate, above U+10FFFF, truncated).
 */
static size_t tp_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0;
        if (c == 0xed && s[1] >= 0xa0)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90)
            return 0;
        if (c == 0xf4 && s[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

/*
 * Decodes one quoted string token (quotes included) and appends it to the
 * scratch buffer.  value_pos is where the whole (concatenated) value starts.
 */
static int tp_decode_string(struct tp_parser *tp, const struct tp_token *t,
                            struct cfg_pos value_pos)
{
    const char *p = t->s + 1;
    const char *end = t->s + t->len - 1;
    struct buf *b = &tp->scratch;
    int r;

    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        const char *stop = bs ? bs : end;
        if (stop > p) {
            r = buf_append(b, p, (size_t)(stop - p));
            if (r < 0)
                goto fail;
        }
        if (!bs)
            break;
        p = bs + 1; /* the tokenizer guarantees a byte after a backslash */
        struct cfg_pos epos = { t->pos.line, t->pos.col + (uint32_t)(bs - t->s) };
        char c = *p++;
        char out;
        switch (c) {
        case 'a': out = '\a'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'v': out = '\v'; break;
        case '\\': out = '\\'; break;
        case '\'': out = '\''; break;
        case '"': out = '"'; break;
        case '?': out = '?'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            /* Exactly three octal digits, at most \377, as golang/protobuf. */
            if (end - p < 2 || p[0] < '0' || p[0] > '7' || p[1] < '0' || p[1] > '7')
                return tp_error(tp, epos, "\\%c requires 2 following octal digits", c);
            unsigned v = (unsigned)(c - '0') * 64 + (unsigned)(p[0] - '0') * 8 +
                         (unsigned)(p[1] - '0');
            if (v > 255)
                return tp_error(tp, epos, "octal escape \\%c%c%c is out of range", c, p[0],
                                p[1]);
            out = (char)v;
            p += 2;
            break;
        }
        case 'x': case 'X': case 'u': case 'U': {
            int nd = (c == 'x' || c == 'X') ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            if (end - p < nd)
                return tp_error(tp, epos, "\\%c requires %d following hex digits", c, nd);
            for (int i = 0; i < nd; i++) {
                int h = text_hex_digit(p[i]);
                if (h < 0)
                    return tp_error(tp, epos, "\\%c escape contains non-hexadecimal digits",
                                    c);
                v = v * 16 + (uint32_t)h;
            }
            p += nd;
            if (nd == 2) {
                out = (char)v;
                break;
            }
            if (v > 0x10ffff)
                return tp_error(tp, epos, "\\%c escape is not a valid Unicode code point", c);
            r = tp_put_utf8(b, v);
            if (r < 0)
                goto fail;
            continue;
        }
        default: {
            char d[24];
            return tp_error(tp, epos, "unknown escape \\%s",
                            tp_describe(&c, 1, d, sizeof(d)));
        }
        }
        r = buf_putc(b, out);
        if (r < 0)
            goto fail;
    }
    return 0;
fail:
    if (r == -E2BIG)
        return tp_error(tp, value_pos, "string longer than %u bytes",
                        LIMIT_CONFIG_STRING_BYTES);
    return r;
}

/*
 * Reads a string value: one or more adjacent quoted strings, concatenated,
 * decoded into the scratch buffer.  utf8 demands valid UTF-8 (string
 * fields); NUL bytes are refused always (C strings cannot hold them).
 */
static int tp_read_string(struct tp_parser *tp, bool utf8, struct tp_value *v,
                          struct cfg_pos *ret_pos)
{
    const struct tp_token *t;
    int r;

    buf_reset(&tp->scratch);
    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    struct cfg_pos pos = t->pos;
    while (t->kind == TK_STRING) {
        r = tp_decode_string(tp, t, pos);
        if (r < 0)
            return r;
        tp_next(tp);
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
    }
    const unsigned char *s = (const unsigned char *)tp->scratch.data;
    size_t n = tp->scratch.len;
    if (memchr(s, '\0', n))
        return tp_error(tp, pos, "string contains a NUL byte");
    if (utf8) {
        for (size_t i = 0; i < n;) {
            if (s[i] < 0x80) {
                i++;
                continue;
            }
            size_t k = tp_utf8_len(s + i, n - i);
            if (!k)
                return tp_error(tp, pos, "invalid UTF-8 in string (byte %zu)", i);
            i += k;
        }
    }
    v->s = tp->scratch.data;
    v->len = n;
    *ret_pos = pos;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Numbers
 */

/* Go's strconv.ParseInt(s, 0, bits) without underscores.  Returns 0 or -1. */
static int tp_parse_int(const char *s, size_t n, int bits, int64_t *ret)
{
    size_t i = 0;
    bool neg = false;
    unsigned base = 10;

    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i < n && s[i] == '0' && i + 1 < n) {
        char c = s[i + 1];
        if (c == 'x' || c == 'X') {
            base = 16;
            i += 2;
        } else if (c == 'o' || c == 'O') {
            base = 8;
            i += 2;
        } else if (c == 'b' || c == 'B') {
            base = 2;
            i += 2;
        } else {
            base = 8;
            i += 1;
        }
    }
    if (i >= n)
        return -1;
    uint64_t limit = neg ? (UINT64_C(1) << (bits - 1)) : (UINT64_C(1) << (bits - 1)) - 1;
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = text_hex_digit(s[i]);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (v > (limit - (uint64_t)d) / base)
            return -2;
        v = v * base + (uint64_t)d;
    }
    if (neg)
        *ret = v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v;
    else
        *ret = (int64_t)v;
    return 0;
}

static bool tp_ieq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/*
 * A float as golang/protobuf reads one: an optional trailing "f" is dropped,
 * then Go's ParseFloat(s, 32) (decimal forms, inf, infinity, nan).
 * Returns 0, -1 (malformed) or -2 (out of float range).
 */
static int tp_parse_float(const char *s, size_t n, float *ret)
{
    char tmp[80];
    size_t i = 0;
    bool neg = false;

    if (n > 1 && s[n - 1] == 'f' && !tp_ieq(s, n, "inf") && !tp_ieq(s, n, "-inf") &&
        !tp_ieq(s, n, "+inf"))
        n--;
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (tp_ieq(s + i, n - i, "inf") || tp_ieq(s + i, n - i, "infinity")) {
        *ret = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (tp_ieq(s, n, "nan")) {
        *ret = NAN;
        return 0;
    }
    /* digits [. digits] [e [sign] digits], at least one mantissa digit */
    size_t j = i, digits = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9') {
        j++;
        digits++;
    }
    if (j < n && s[j] == '.') {
        j++;
        while (j < n && s[j] >= '0' && s[j] <= '9') {
            j++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t e0 = j;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == e0)
            return -1;
    }
    if (j != n)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *endp = NULL;
    errno = 0;
    float f = strtof(tmp, &endp);
    if (endp != tmp + n)
        return -1;
    if (isinf(f))
        return -2;
    *ret = f;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Values and messages
 */

static int tp_parse_fields(struct tp_parser *tp, const struct tp_message *m, char close,
                           struct cfg_pos open_pos, int depth);
static int tp_skip_value(struct tp_parser *tp, int depth);

static const char *tp_type_name(enum tp_type t)
{
    switch (t) {
    case TP_STRING: return "string";
    case TP_INT32: return "int32";
    case TP_INT64: return "int64";
    case TP_BOOL: return "bool";
    case TP_FLOAT: return "float";
    case TP_ENUM: return "enum";
    case TP_MESSAGE: return "message";
    }
    return "?";
}

/* Reads one scalar value of field f and hands it to the handler. */
static int tp_parse_scalar(struct tp_parser *tp, const struct tp_field *f,
                           struct cfg_pos name_pos, bool in_list)
{
    const struct tp_token *t;
    struct tp_value v;
    char d[220];
    int r;

    memset(&v, 0, sizeof(v));
    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    struct cfg_pos vpos = t->pos;
    struct cfg_pos report = in_list ? vpos : name_pos;

    if (f->type == TP_STRING) {
        if (t->kind != TK_STRING)
            return tp_error(tp, vpos, "invalid value for string field \"%s\": expected a "
                            "quoted string, found %s", f->name, tp_tok_text(t, d, sizeof(d)));
        r = tp_read_string(tp, true, &v, &vpos);
        if (r < 0)
            return r;
        return tp->h->scalar(tp->h->ctx, f, &v, report);
    }
    if (t->kind != TK_IDENT)
        return tp_error(tp, vpos, "invalid value for %s field \"%s\": %s",
                        tp_type_name(f->type), f->name, tp_tok_text(t, d, sizeof(d)));
    switch (f->type) {
    case TP_INT32:
    case TP_INT64:
        r = tp_parse_int(t->s, t->len, f->type == TP_INT32 ? 32 : 64, &v.i);
        if (r == -2)
            return tp_error(tp, vpos, "value %s is out of range for %s field \"%s\"",
                            tp_tok_text(t, d, sizeof(d)), tp_type_name(f->type), f->name);
        if (r < 0)
            return tp_error(tp, vpos, "invalid value for %s field \"%s\": %s",
                            tp_type_name(f->type), f->name, tp_tok_text(t, d, sizeof(d)));
        break;
    case TP_FLOAT:
        r = tp_parse_float(t->s, t->len, &v.f);
        if (r == -2)
            return tp_error(tp, vpos, "value %s is out of range for float field \"%s\"",
                            tp_tok_text(t, d, sizeof(d)), f->name);
        if (r < 0)
            return tp_error(tp, vpos, "invalid value for float field \"%s\": %s", f->name,
                            tp_tok_text(t, d, sizeof(d)));
        break;
    case TP_BOOL:
        if (tp_tok_eq(t, "true") || tp_tok_eq(t, "True") || tp_tok_eq(t, "t") ||
            tp_tok_eq(t, "1"))
            v.b = true;
        else if (tp_tok_eq(t, "false") || tp_tok_eq(t, "False") || tp_tok_eq(t, "f") ||
                 tp_tok_eq(t, "0"))
            v.b = false;
        else
            return tp_error(tp, vpos, "invalid value for bool field \"%s\": %s", f->name,
                            tp_tok_text(t, d, sizeof(d)));
        break;
    case TP_ENUM: {
        const struct tp_enum *e = f->enum_type;
        bool found = false;
        for (size_t i = 0; i < e->n_values; i++) {
            if (tp_tok_eq(t, e->values[i].name)) {
                v.i = e->values[i].number;
                found = true;
                break;
            }
        }
        if (!found && tp_parse_int(t->s, t->len, 32, &v.i) < 0)
            return tp_error(tp, vpos, "unrecognized value %s for enum field \"%s\" (%s)",
                            tp_tok_text(t, d, sizeof(d)), f->name, e->full_name);
        break;
    }
    default:
        return tp_error(tp, vpos, "internal: bad field type");
    }
    tp_next(tp);
    return tp->h->scalar(tp->h->ctx, f, &v, report);
}

/* Reads "{ ... }" or "< ... >" for message field f. */
static int tp_parse_message_value(struct tp_parser *tp, const struct tp_field *f,
                                  struct cfg_pos name_pos, bool in_list, int depth)
{
    const struct tp_token *t;
    char d[220];
    int r;

    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    if (!tp_is_punct(t, '{') && !tp_is_punct(t, '<'))
        return tp_error(tp, t->pos, "expected '{' or '<' for message field \"%s\", found %s",
                        f->name, tp_tok_text(t, d, sizeof(d)));
    if (depth + 1 > LIMIT_CONFIG_NESTING)
        return tp_error(tp, t->pos, "messages nested deeper than %d levels",
                        LIMIT_CONFIG_NESTING);
    char close = tp_is_punct(t, '{') ? '}' : '>';
    struct cfg_pos open_pos = t->pos;
    tp_next(tp);
    r = tp->h->begin(tp->h->ctx, f, in_list ? open_pos : name_pos);
    if (r < 0)
        return r;
    r = tp_parse_fields(tp, f->msg_type, close, open_pos, depth + 1);
    if (r < 0)
        return r;
    return tp->h->end(tp->h->ctx, f);
}

/* Reads ":" value, or a message value, of a known field. */
static int tp_parse_field_value(struct tp_parser *tp, const struct tp_field *f,
                                struct cfg_pos name_pos, int depth)
{
    const struct tp_token *t;
    char d[220];
    int r;

    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    bool colon = tp_is_punct(t, ':');
    if (colon) {
        tp_next(tp);
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
    } else if (f->type != TP_MESSAGE) {
        return tp_error(tp, t->pos, "expected ':' after field \"%s\", found %s", f->name,
                        tp_tok_text(t, d, sizeof(d)));
    }
    if (f->repeated && tp_is_punct(t, '[')) {
        tp_next(tp);
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (tp_is_punct(t, ']')) {
            tp_next(tp);
            return 0;
        }
        for (;;) {
            if (f->type == TP_MESSAGE)
                r = tp_parse_message_value(tp, f, name_pos, true, depth);
            else
                r = tp_parse_scalar(tp, f, name_pos, true);
            if (r < 0)
                return r;
            r = tp_peek(tp, &t);
            if (r < 0)
                return r;
            if (tp_is_punct(t, ']')) {
                tp_next(tp);
                return 0;
            }
            if (!tp_is_punct(t, ','))
                return tp_error(tp, t->pos, "expected ',' or ']' in list of field \"%s\", "
                                "found %s", f->name, tp_tok_text(t, d, sizeof(d)));
            tp_next(tp);
        }
    }
    if (f->type == TP_MESSAGE)
        return tp_parse_message_value(tp, f, name_pos, false, depth);
    return tp_parse_scalar(tp, f, name_pos, false);
}

/* Skips "{ ... }" or "< ... >" of an unknown type. */
static int tp_skip_message(struct tp_parser *tp, int depth)
{
    const struct tp_token *t;
    char d[220];
    int r;

    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    if (depth + 1 > LIMIT_CONFIG_NESTING)
        return tp_error(tp, t->pos, "messages nested deeper than %d levels",
                        LIMIT_CONFIG_NESTING);
    char close = tp_is_punct(t, '{') ? '}' : '>';
    struct cfg_pos open_pos = t->pos;
    tp_next(tp);
    for (;;) {
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (t->kind == TK_EOF)
            return tp_error(tp, t->pos, "unexpected end of input: '%c' opened at %u:%u is "
                            "not closed", close == '}' ? '{' : '<', open_pos.line,
                            open_pos.col);
        if (tp_is_punct(t, close)) {
            tp_next(tp);
            return 0;
        }
        if (tp_is_punct(t, '[')) {
            /* [extension.name] or [type.url/Name]: skip to the ']' */
            tp_next(tp);
            for (;;) {
                r = tp_peek(tp, &t);
                if (r < 0)
                    return r;
                if (t->kind == TK_EOF)
                    return tp_error(tp, t->pos, "unexpected end of input in '[' name");
                tp_next(tp);
                if (tp_is_punct(t, ']'))
                    break;
            }
        } else if (t->kind == TK_IDENT) {
            tp_next(tp);
        } else {
            return tp_error(tp, t->pos, "expected field name, found %s",
                            tp_tok_text(t, d, sizeof(d)));
        }
        r = tp_skip_value(tp, depth + 1);
        if (r < 0)
            return r;
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (tp_is_punct(t, ';') || tp_is_punct(t, ','))
            tp_next(tp);
    }
}

static int tp_skip_scalar(struct tp_parser *tp)
{
    const struct tp_token *t;
    char d[220];
    int r = tp_peek(tp, &t);

    if (r < 0)
        return r;
    if (t->kind == TK_STRING) {
        struct tp_value v;
        struct cfg_pos pos;
        return tp_read_string(tp, false, &v, &pos);
    }
    if (t->kind != TK_IDENT)
        return tp_error(tp, t->pos, "expected a value, found %s", tp_tok_text(t, d, sizeof(d)));
    tp_next(tp);
    return 0;
}

/* Skips the value of a field of unknown type (after its name). */
static int tp_skip_value(struct tp_parser *tp, int depth)
{
    const struct tp_token *t;
    char d[220];
    int r = tp_peek(tp, &t);

    if (r < 0)
        return r;
    if (tp_is_punct(t, '{') || tp_is_punct(t, '<'))
        return tp_skip_message(tp, depth);
    if (!tp_is_punct(t, ':'))
        return tp_error(tp, t->pos, "expected ':', found %s", tp_tok_text(t, d, sizeof(d)));
    tp_next(tp);
    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    if (tp_is_punct(t, '{') || tp_is_punct(t, '<'))
        return tp_skip_message(tp, depth);
    if (!tp_is_punct(t, '['))
        return tp_skip_scalar(tp);
    tp_next(tp);
    r = tp_peek(tp, &t);
    if (r < 0)
        return r;
    if (tp_is_punct(t, ']')) {
        tp_next(tp);
        return 0;
    }
    for (;;) {
        if (tp_is_punct(t, '{') || tp_is_punct(t, '<'))
            r = tp_skip_message(tp, depth);
        else
            r = tp_skip_scalar(tp);
        if (r < 0)
            return r;
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (tp_is_punct(t, ']')) {
            tp_next(tp);
            return 0;
        }
        if (!tp_is_punct(t, ','))
            return tp_error(tp, t->pos, "expected ',' or ']', found %s",
                            tp_tok_text(t, d, sizeof(d)));
        tp_next(tp);
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
    }
}

static bool tp_is_reserved(const struct tp_message *m, const struct tp_token *t)
{
    if (!m->reserved)
        return false;
    for (const char *const *r = m->reserved; *r; r++)
        if (tp_tok_eq(t, *r))
            return true;
    return false;
}

/*
 * Reads the fields of message m up to the closing character close ('\0' for
 * the top level, which ends at the end of input).
 */
static int tp_parse_fields(struct tp_parser *tp, const struct tp_message *m, char close,
                           struct cfg_pos open_pos, int depth)
{
    const struct tp_token *t;
    uint64_t seen = 0;
    char d[220];
    int r;

    for (;;) {
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (t->kind == TK_EOF) {
            if (!close)
                return 0;
            return tp_error(tp, t->pos, "unexpected end of input: '%c' opened at %u:%u is "
                            "not closed", close == '}' ? '{' : '<', open_pos.line,
                            open_pos.col);
        }
        if (close && tp_is_punct(t, close)) {
            tp_next(tp);
            return 0;
        }
        if (t->kind != TK_IDENT) {
            if (tp_is_punct(t, '['))
                return tp_error(tp, t->pos, "extension and Any fields are not supported in "
                                "%s", m->full_name);
            return tp_error(tp, t->pos, "expected field name, found %s",
                            tp_tok_text(t, d, sizeof(d)));
        }
        const struct tp_field *f = NULL;
        size_t idx = 0;
        for (size_t i = 0; i < m->n_fields; i++) {
            if (tp_tok_eq(t, m->fields[i].name)) {
                f = &m->fields[i];
                idx = i;
                break;
            }
        }
        struct cfg_pos name_pos = t->pos;
        if (!f) {
            if (!tp_is_reserved(m, t))
                return tp_error(tp, name_pos, "unknown field name %s in %s",
                                tp_tok_text(t, d, sizeof(d)), m->full_name);
            tp_next(tp);
            r = tp_skip_value(tp, depth);
        } else {
            if (!f->repeated) {
                if (seen & (UINT64_C(1) << idx))
                    return tp_error(tp, name_pos, "non-repeated field \"%s\" is repeated",
                                    f->name);
                seen |= UINT64_C(1) << idx;
            }
            tp_next(tp);
            r = tp_parse_field_value(tp, f, name_pos, depth);
        }
        if (r < 0)
            return r;
        r = tp_peek(tp, &t);
        if (r < 0)
            return r;
        if (tp_is_punct(t, ';') || tp_is_punct(t, ','))
            tp_next(tp);
    }
}

int tp_parse(const char *data, size_t len, const struct tp_message *root,
             const struct tp_handler *h, struct cfg_pos *reterr_pos, char *reterr_msg,
             size_t errlen)
{
    struct tp_parser tp;
    int r;

    memset(&tp, 0, sizeof(tp));
    tp.p = data;
    tp.end = data + len;
    tp.line_start = data;
    tp.line = 1;
    tp.h = h;
    tp.err_msg = reterr_msg;
    tp.err_len = errlen;
    buf_init(&tp.scratch, LIMIT_CONFIG_STRING_BYTES);

    if (len > LIMIT_CONFIG_FILE_BYTES) {
        /* Refused before reading a byte of it. */
        tp_error(&tp, (struct cfg_pos){ 1, 1 }, "file is larger than %u bytes",
                 LIMIT_CONFIG_FILE_BYTES);
        r = -EFBIG;
        goto out;
    }
    r = tp_parse_fields(&tp, root, '\0', (struct cfg_pos){ 1, 1 }, 0);
out:
    if (r == -ENOMEM && reterr_msg && errlen)
        snprintf(reterr_msg, errlen, "out of memory");
    if (r < 0 && reterr_pos)
        *reterr_pos = tp.err_pos;
    buf_release(&tp.scratch);
    return r;
}
