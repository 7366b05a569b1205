/*
 * html.c - the escaping HTML builder and go-humanize relative times
 * (contract in html.h).
 */
#include "base/compat.h"
#include "web/html.h"

#include <stdarg.h>
#include <strings.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
#define TEXTF_MAX 4096

void html_init(struct html *h, size_t max)
{
    buf_init(&h->b, max);
    h->err = 0;
}

void html_release(struct html *h)
{
    buf_release(&h->b);
    h->err = 0;
}

int html_error(const struct html *h)
{
    return h->err;
}

size_t html_len(const struct html *h)
{
    return h->b.len;
}

void html_truncate(struct html *h, size_t mark)
{
    if (h->err == 0 && mark < h->b.len) {
        h->b.len = mark;
        h->b.data[mark] = '\0';
    }
}

static void put(struct html *h, const char *s, size_t n)
{
    if (h->err == 0 && n > 0)
        h->err = buf_append(&h->b, s, n);
}

void html__raw(struct html *h, const char *s, size_t n)
{
    put(h, s, n);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp, min;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1Fu, min = 0x80;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0Fu, min = 0x800;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The entity for c, or NULL when c is written as is. */
static const char *entity(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

static bool is_bad_control(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

void html_textn(struct html *h, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* bytes at p[i - run .. i) written as they are */
    size_t i = 0;

    while (i < n && h->err == 0) {
        const char *ent = entity(p[i]);
        size_t len = ent || is_bad_control(p[i]) ? 0 : utf8_len(p + i, n - i);

        if (len > 0) {
            run += len;
            i += len;
            continue;
        }
        put(h, (const char *)p + i - run, run);
        run = 0;
        if (ent)
            put(h, ent, strlen(ent));
        else
            put(h, REPLACEMENT, sizeof(REPLACEMENT) - 1);
        i++;
    }
    put(h, (const char *)p + i - run, run);
}

void html_text(struct html *h, const char *s)
{
    if (s)
        html_textn(h, s, strlen(s));
}

void html_textf(struct html *h, const char *fmt, ...)
{
    char text[TEXTF_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (h->err == 0)
            h->err = -EINVAL;
        return;
    }
    html_textn(h, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

void html__attr_begin(struct html *h, const char *name)
{
    put(h, " ", 1);
    put(h, name, strlen(name));
    put(h, "=\"", 2);
}

void html_attr_part(struct html *h, const char *s)
{
    html_text(h, s);
}

void html_attr_segment(struct html *h, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && h->err == 0; p++) {
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (keep)
            put(h, (const char *)p, 1);
        else
            put(h, esc, 3);
    }
}

void html_attr_end(struct html *h)
{
    put(h, "\"", 1);
}

void html__attr(struct html *h, const char *name, const char *value)
{
    html__attr_begin(h, name);
    html_text(h, value);
    html_attr_end(h);
}

bool html_url_is_safe(const char *url)
{
    if (!url)
        return false;
    if (url[0] == '/')
        return url[1] != '/' && url[1] != '\\';
    return strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0;
}

void html__attr_url(struct html *h, const char *name, const char *url)
{
    html__attr(h, name, html_url_is_safe(url) ? url : "#");
}

/* ---------------------------------------------------------------------------
 * go-humanize RelTime
 */

#define NS_SEC INT64_C(1000000000)
#define NS_MIN (60 * NS_SEC)
#define NS_HOUR (60 * NS_MIN)
#define NS_DAY (24 * NS_HOUR)
#define NS_WEEK (7 * NS_DAY)
#define NS_MONTH (30 * NS_DAY)
#define NS_YEAR (12 * NS_MONTH)

/* One row: below bound, print fmt ("%d" = diff / div, "%s" = label). */
struct magnitude {
    int64_t bound;
    const char *fmt; /* "n" = "now", "1" = literal + label, "d" = number + unit + label */
    const char *text;
    int64_t div;
};

static const struct magnitude magnitudes[] = {
    {NS_SEC, "n", "now", 1},
    {2 * NS_SEC, "1", "1 second", 1},
    {NS_MIN, "d", "seconds", NS_SEC},
    {2 * NS_MIN, "1", "1 minute", 1},
    {NS_HOUR, "d", "minutes", NS_MIN},
    {2 * NS_HOUR, "1", "1 hour", 1},
    {NS_DAY, "d", "hours", NS_HOUR},
    {2 * NS_DAY, "1", "1 day", 1},
    {NS_WEEK, "d", "days", NS_DAY},
    {2 * NS_WEEK, "1", "1 week", 1},
    {NS_MONTH, "d", "weeks", NS_WEEK},
    {2 * NS_MONTH, "1", "1 month", 1},
    {NS_YEAR, "d", "months", NS_MONTH},
    {18 * NS_MONTH, "1", "1 year", 1},
    {2 * NS_YEAR, "1", "2 years", 1},
    {37 * NS_YEAR, "d", "years", NS_YEAR},
    {INT64_MAX, "1", "a long while", 1},
};

int humanize_rel_time(int64_t a_ns, int64_t b_ns, const char *albl, const char *blbl, char *out,
                      size_t outlen)
{
    const char *lbl = albl ? albl : "";
    uint64_t diff;
    const struct magnitude *m = &magnitudes[ARRAY_SIZE(magnitudes) - 1];
    char text[HUMANIZE_MAX + 64];
    int n;

    if (a_ns > b_ns) {
        lbl = blbl ? blbl : "";
        diff = (uint64_t)a_ns - (uint64_t)b_ns;
    } else {
        diff = (uint64_t)b_ns - (uint64_t)a_ns;
    }
    for (size_t i = 0; i < ARRAY_SIZE(magnitudes); i++) {
        if ((uint64_t)magnitudes[i].bound > diff) {
            m = &magnitudes[i];
            break;
        }
    }
    if (m->fmt[0] == 'n')
        n = snprintf(text, sizeof(text), "%s", m->text);
    else if (m->fmt[0] == '1')
        n = snprintf(text, sizeof(text), "%s %s", m->text, lbl);
    else
        n = snprintf(text, sizeof(text), "%" PRIu64 " %s %s", diff / (uint64_t)m->div, m->text,
                     lbl);
    if (n < 0 || (size_t)n >= sizeof(text) || (size_t)n >= outlen)
        return -E2BIG;
    memcpy(out, text, (size_t)n + 1);
    return 0;
}

int humanize_time(int64_t then_ns, int64_t now_ns, char *out, size_t outlen)
{
    return humanize_rel_time(then_ns, now_ns, "ago", "from now", out, outlen);
}

int humanize_duration(int64_t start_ns, int64_t end_ns, char *out, size_t outlen)
{
    int r = humanize_rel_time(start_ns, end_ns, "", "", out, outlen);

    if (r == 0 && strcmp(out, "now") == 0) {
        if (outlen < sizeof("1 second"))
            return -E2BIG;
        memcpy(out, "1 second", sizeof("1 second"));
    }
    return r;
}
