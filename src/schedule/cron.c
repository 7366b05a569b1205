/*
 * cron.c - parsing and next-time search for the cron dialect (see cron.h).
 *
 * Each field is a bitset (bit v set = value v allowed; years use bit
 * y - 1970 over three words).  The search is a carry algorithm over the
 * civil fields, year -> month -> day -> hour -> minute -> second: at each
 * level find the next allowed value at or after the current one with a
 * count-trailing-zeros; if there is none, carry into the level above and
 * reset everything below to its minimum.  The day level uses the set of
 * days of that particular month, built from the day-of-month and
 * day-of-week fields with a handful of shifts, so L/W/# cost nothing
 * extra per step.  All of this works on "wall seconds" (a wall time read
 * as if it were UTC); cron_expr_next() maps them through a zone when there
 * is one.
 */
#include "schedule/cron.h"

#include "base/limits.h"
#include "base/time.h"
#include "schedule/tz.h"

enum {
    F_SEC,
    F_MIN,
    F_HOUR,
    F_DOM,
    F_MONTH,
    F_DOW,
    F_YEAR,
    F_COUNT,
};

#define YEAR_MIN 1970
#define YEAR_MAX 2099

struct cron_expr {
    uint64_t bits[F_YEAR]; /* second..day-of-week; bit v = value v */
    uint64_t years[3];     /* bit y - YEAR_MIN */
    bool dom_any;          /* day-of-month unrestricted ('*' or '?') */
    bool dow_any;          /* day-of-week unrestricted */
    bool dom_last;         /* 'L' */
    bool dom_lw;           /* 'LW' */
    uint32_t dom_w;        /* bit d: '<d>W' */
    uint8_t dow_last;      /* bit w: '<w>L' */
    uint64_t dow_nth;      /* bit (k - 1) * 7 + w: '<w>#<k>' */
    bool uses_h;
};

static const struct field_info {
    const char *name;
    int min, max;     /* values */
    int h_min, h_max; /* range of a plain 'H' */
} fields[F_COUNT] = {
    [F_SEC] = {"second", 0, 59, 0, 59},
    [F_MIN] = {"minute", 0, 59, 0, 59},
    [F_HOUR] = {"hour", 0, 23, 0, 23},
    [F_DOM] = {"day-of-month", 1, 31, 1, 28},
    [F_MONTH] = {"month", 1, 12, 1, 12},
    [F_DOW] = {"day-of-week", 0, 6, 0, 6},
    [F_YEAR] = {"year", YEAR_MIN, YEAR_MAX, YEAR_MIN, YEAR_MAX},
};

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};
static const char *const dow_names[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

static const struct {
    const char *macro;
    const char *expansion;
} macros[] = {
    {"@yearly", "0 0 0 1 1 * *"},  {"@annually", "0 0 0 1 1 * *"},
    {"@monthly", "0 0 0 1 * * *"}, {"@weekly", "0 0 0 * * 0 *"},
    {"@daily", "0 0 0 * * * *"},   {"@hourly", "0 0 * * * * *"},
};

uint64_t cron_h_hash(const char *job_id, int field)
{
    uint64_t x = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)(job_id ? job_id : ""); *p; p++) {
        x ^= *p;
        x *= UINT64_C(0x100000001b3);
    }
    x ^= (unsigned char)field;
    x *= UINT64_C(0x100000001b3);
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* ------------------------------------------------------------------ parsing */

struct parse_ctx {
    struct cron_expr *e;
    const char *job_id;
    unsigned flags;
    char *err;
    size_t errlen;
};

static int fail_msg(struct parse_ctx *c, const char *msg)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s", msg);
    return -EINVAL;
}

static int fail_syntax(struct parse_ctx *c, int field, const char *entry)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "syntax error in %s field: '%s'", fields[field].name, entry);
    return -EINVAL;
}

static int fail_interval(struct parse_ctx *c, const char *entry)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "invalid interval %s", entry);
    return -EINVAL;
}

static int fail_directive(struct parse_ctx *c, int field)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s field: missing directive", fields[field].name);
    return -EINVAL;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int digits_value(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/*
 * The numeric token table of the dialect: "0".."59" (with "00".."09") and
 * "1970".."2099".  Returns the value, or -1 for anything else.
 */
static int number_token(const char *p, size_t n)
{
    if (!all_digits(p, n))
        return -1;
    if (n <= 2)
        return digits_value(p, n) <= 59 ? digits_value(p, n) : -1;
    if (n == 4) {
        int v = digits_value(p, n);
        return v >= YEAR_MIN && v <= YEAR_MAX ? v : -1;
    }
    return -1;
}

static int name_token(const char *const *names, int count, int base, const char *p, size_t n)
{
    for (int i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if ((n == 3 || n == len) && memcmp(names[i], p, n) == 0)
            return base + i;
    }
    return -1;
}

/* One value of a field (entry already lower-cased), or -1. */
static int value_token(int field, const char *p, size_t n)
{
    int v;
    if (field == F_MONTH) {
        if (all_digits(p, n))
            return n <= 2 && p[0] != '0' && (v = digits_value(p, n)) >= 1 && v <= 12 ? v : -1;
        return name_token(month_names, 12, 1, p, n);
    }
    if (field == F_DOW) {
        if (all_digits(p, n))
            return n == 1 && p[0] <= '7' ? p[0] - '0' : -1;
        return name_token(dow_names, 7, 0, p, n);
    }
    v = number_token(p, n);
    if (v < fields[field].min || v > fields[field].max)
        return -1;
    return v;
}

static void set_value(struct cron_expr *e, int field, int v)
{
    if (field == F_YEAR) {
        int i = v - YEAR_MIN;
        e->years[i / 64] |= UINT64_C(1) << (i % 64);
        return;
    }
    if (field == F_DOW)
        v %= 7;
    e->bits[field] |= UINT64_C(1) << v;
}

static void set_range(struct cron_expr *e, int field, int a, int b, int step)
{
    for (int v = a; v <= b; v += step)
        set_value(e, field, v);
}

/* Parses "<a>-<b>" or "<a>" at p; returns 0, or -1 when it is neither. */
static int parse_span(int field, const char *p, size_t n, int *ret_a, int *ret_b)
{
    const char *dash = memchr(p, '-', n);
    if (!dash) {
        int v = value_token(field, p, n);
        if (v < 0)
            return -1;
        *ret_a = *ret_b = v;
        return 0;
    }
    int a = value_token(field, p, (size_t)(dash - p));
    int b = value_token(field, dash + 1, n - (size_t)(dash - p) - 1);
    if (a < 0 || b < 0 || a > b)
        return -1;
    *ret_a = a;
    *ret_b = b;
    return 1;
}

/* The step after '/': looked up in the numeric token table, 0 if absent. */
static int step_token(int field, const char *p, size_t n)
{
    int v = number_token(p, n);
    if (v < 1 || v > fields[field].max)
        return 0;
    return v;
}

/* 'H', 'H(a-b)', 'H/n', 'H(a-b)/n'; entry is lower-cased and starts with 'h'. */
static int parse_h(struct parse_ctx *c, int field, const char *entry, size_t n)
{
    const char *p = entry + 1, *end = entry + n;
    int a = fields[field].h_min, b = fields[field].h_max, step = 0;

    if (c->flags & CRON_STRICT_LUCI)
        return fail_msg(c, "'H' is a tock extension that LUCI Scheduler does not accept");
    if (p < end && *p == '(') {
        const char *close = memchr(p, ')', (size_t)(end - p));
        if (!close || parse_span(field, p + 1, (size_t)(close - p - 1), &a, &b) != 1)
            goto syntax;
        p = close + 1;
    }
    if (p < end && *p == '/') {
        step = step_token(field, p + 1, (size_t)(end - p - 1));
        if (step == 0)
            return fail_interval(c, entry);
        p = end;
    }
    if (p != end)
        goto syntax;

    uint64_t h = cron_h_hash(c->job_id, field);
    int width = b - a + 1;
    if (step == 0) {
        set_value(c->e, field, a + (int)(h % (uint64_t)width));
    } else {
        int span = step < width ? step : width;
        set_range(c->e, field, a + (int)(h % (uint64_t)span), b, step);
    }
    c->e->uses_h = true;
    if (field == F_DOM)
        c->e->dom_any = false;
    if (field == F_DOW)
        c->e->dow_any = false;
    return 0;

syntax:
    return fail_syntax(c, field, entry);
}

/* Day-of-month 'L', 'LW', '<d>W'.  Returns 1 if handled, 0 if not special. */
static int parse_dom_special(struct cron_expr *e, const char *p, size_t n)
{
    if (n == 1 && p[0] == 'l') {
        e->dom_last = true;
        return 1;
    }
    if (n == 2 && p[0] == 'l' && p[1] == 'w') {
        e->dom_lw = true;
        return 1;
    }
    if (n >= 2 && p[n - 1] == 'w') {
        int d = value_token(F_DOM, p, n - 1);
        if (d < 0)
            return 0;
        e->dom_w |= UINT32_C(1) << d;
        return 1;
    }
    return 0;
}

/* Day-of-week '<d>L' and '<d>#<k>'.  Returns 1 if handled, 0 if not. */
static int parse_dow_special(struct cron_expr *e, const char *p, size_t n)
{
    if (n >= 2 && p[n - 1] == 'l') {
        int w = value_token(F_DOW, p, n - 1);
        if (w < 0)
            return 0;
        e->dow_last |= (uint8_t)(1u << (w % 7));
        return 1;
    }
    const char *hash = memchr(p, '#', n);
    if (hash) {
        int w = value_token(F_DOW, p, (size_t)(hash - p));
        size_t kn = n - (size_t)(hash - p) - 1;
        if (w < 0 || kn != 1 || hash[1] < '1' || hash[1] > '5')
            return 0;
        e->dow_nth |= UINT64_C(1) << ((hash[1] - '1') * 7 + w % 7);
        return 1;
    }
    return 0;
}

static int parse_entry(struct parse_ctx *c, int field, const char *entry, size_t n)
{
    struct cron_expr *e = c->e;
    const char *slash = memchr(entry, '/', n);
    size_t base_n = slash ? (size_t)(slash - entry) : n;
    int a, b, step = 1;

    if (n > 0 && entry[0] == 'h')
        return parse_h(c, field, entry, n);
    if (!slash && field == F_DOM && parse_dom_special(e, entry, n)) {
        e->dom_any = false;
        return 0;
    }
    if (!slash && field == F_DOW && parse_dow_special(e, entry, n)) {
        e->dow_any = false;
        return 0;
    }

    bool star = base_n == 1 && (entry[0] == '*' || entry[0] == '?');
    int kind = 0;
    if (star) {
        a = fields[field].min;
        b = fields[field].max;
    } else {
        kind = parse_span(field, entry, base_n, &a, &b);
        if (kind < 0)
            return fail_syntax(c, field, entry);
    }
    if (slash) {
        step = step_token(field, slash + 1, n - base_n - 1);
        if (step == 0)
            return fail_interval(c, entry);
        if (kind == 0 && !star) {
            /* "a/n" runs from a to the end of the field (7 = Sunday stays 7). */
            b = field == F_DOW && a == 7 ? 7 : fields[field].max;
        }
    }
    set_range(e, field, a, b, step);
    if (!(star && !slash)) {
        if (field == F_DOM)
            e->dom_any = false;
        if (field == F_DOW)
            e->dow_any = false;
    }
    return 0;
}

/* Parses one field; s is lower-cased, n bytes, no blanks. */
static int parse_field(struct parse_ctx *c, int field, const char *s, size_t n)
{
    char entry[LIMIT_SCHEDULE_LEN + 1];
    bool any = false;
    size_t i = 0;

    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        if (len > 0) {
            any = true;
            break;
        }
        i = j + 1;
    }
    if (!any)
        return fail_directive(c, field);

    for (i = 0; i <= n;) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        if (len > LIMIT_SCHEDULE_LEN)
            len = LIMIT_SCHEDULE_LEN;
        memcpy(entry, s + i, len);
        entry[len] = '\0';
        if (len == 0)
            return fail_syntax(c, field, "");
        int r = parse_entry(c, field, entry, len);
        if (r < 0)
            return r;
        i = j + 1;
    }
    return 0;
}

/* Replaces every macro (as a substring) in text; out holds 3 * len + 1. */
static void expand_macros(const char *text, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = text;
    while (*p && o + 1 < outlen) {
        bool done = false;
        if (*p == '@') {
            for (size_t i = 0; i < ARRAY_SIZE(macros); i++) {
                size_t ml = strlen(macros[i].macro);
                if (strncmp(p, macros[i].macro, ml) == 0) {
                    size_t el = strlen(macros[i].expansion);
                    if (o + el + 1 > outlen)
                        break;
                    memcpy(out + o, macros[i].expansion, el);
                    o += el;
                    p += ml;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            out[o++] = *p++;
    }
    out[o] = '\0';
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

int cron_expr_parse(const char *text, const char *job_id, unsigned flags,
                    struct cron_expr **ret, char *reterr_msg, size_t errlen)
{
    char buf[3 * LIMIT_SCHEDULE_LEN + 1];
    const char *fstart[F_COUNT];
    size_t flen[F_COUNT];
    int nfields = 0;
    struct cron_expr *e = NULL;
    int r;

    if (!text)
        return -EINVAL;
    if (strlen(text) > LIMIT_SCHEDULE_LEN) {
        if (reterr_msg && errlen)
            snprintf(reterr_msg, errlen, "cron expression is longer than %u bytes",
                     (unsigned)LIMIT_SCHEDULE_LEN);
        return -EINVAL;
    }
    /* The dialect lower-cases entries; do it once for the whole text. */
    char lower[LIMIT_SCHEDULE_LEN + 1];
    size_t tl = strlen(text);
    for (size_t i = 0; i < tl; i++)
        lower[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] - 'A' + 'a') : text[i];
    lower[tl] = '\0';
    expand_macros(lower, buf, sizeof(buf));

    for (const char *p = buf; *p;) {
        while (*p && is_blank(*p))
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && !is_blank(*q))
            q++;
        if (nfields < F_COUNT) {
            fstart[nfields] = p;
            flen[nfields] = (size_t)(q - p);
        }
        nfields++;
        p = q;
    }
    if (nfields < 5) {
        if (reterr_msg && errlen)
            snprintf(reterr_msg, errlen, "missing field(s)");
        return -EINVAL;
    }

    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->dom_any = e->dow_any = true;
    struct parse_ctx c = {e, job_id, flags, reterr_msg, errlen};

    /* Map the given fields onto the seven; missing ones are "0" or "*". */
    static const char zero[] = "0", star[] = "*";
    const char *fs[F_COUNT];
    size_t fl[F_COUNT];
    int shift = nfields >= 7 ? 0 : 1;
    fs[F_SEC] = zero;
    fl[F_SEC] = 1;
    fs[F_YEAR] = star;
    fl[F_YEAR] = 1;
    for (int i = 0; i < (nfields >= 7 ? 7 : nfields); i++) {
        fs[i + shift] = fstart[i];
        fl[i + shift] = flen[i];
    }
    for (int f = 0; f < F_COUNT; f++) {
        r = parse_field(&c, f, fs[f], fl[f]);
        if (r < 0)
            goto out;
    }
    *ret = e;
    e = NULL;
    r = 0;
out:
    cron_expr_free(e);
    return r;
}

struct cron_expr *cron_expr_free(struct cron_expr *e)
{
    free(e);
    return NULL;
}

bool cron_expr_uses_h(const struct cron_expr *e)
{
    return e->uses_h;
}

/* ------------------------------------------------------------------ search */

/* The lowest set bit of mask at or above from, or -1. */
static inline int next_bit(uint64_t mask, int from)
{
    if (from >= 64)
        return -1;
    mask &= ~UINT64_C(0) << from;
    return mask ? __builtin_ctzll(mask) : -1;
}

static int next_year(const struct cron_expr *e, int64_t y)
{
    int64_t i = y < YEAR_MIN ? 0 : y - YEAR_MIN;
    for (; i < 3 * 64; i = (i / 64 + 1) * 64) {
        int b = next_bit(e->years[i / 64], (int)(i % 64));
        if (b >= 0)
            return (int)((i / 64) * 64 + b + YEAR_MIN);
    }
    return -1;
}

/* The days (bits 1..31) of month m of year y on which the expression fires. */
static uint64_t month_days(const struct cron_expr *e, int64_t y, int m)
{
    int n = time_days_in_month(y, m);
    uint64_t all = ((UINT64_C(1) << n) - 1) << 1;
    if (e->dom_any && e->dow_any)
        return all;

    bool need_wd = !e->dow_any || e->dom_lw || e->dom_w;
    int wd1 = need_wd ? time_weekday_from_days(time_days_from_civil(y, m, 1)) : 0;
    uint64_t r = 0;

    if (!e->dom_any) {
        r |= e->bits[F_DOM];
        if (e->dom_last)
            r |= UINT64_C(1) << n;
        if (e->dom_lw) {
            int wl = (wd1 + n - 1) % 7;
            r |= UINT64_C(1) << (wl == 6 ? n - 1 : wl == 0 ? n - 2 : n);
        }
        for (uint32_t w = e->dom_w; w; w &= w - 1) {
            int d = __builtin_ctz(w);
            if (d > n)
                break;
            int wd = (wd1 + d - 1) % 7;
            if (wd == 6)
                d = d == 1 ? 3 : d - 1;
            else if (wd == 0)
                d = d == n ? d - 2 : d + 1;
            r |= UINT64_C(1) << d;
        }
    }
    if (!e->dow_any) {
        /* Rotate the weekday set so bit i means "day i + 1 matches". */
        uint64_t dw = e->bits[F_DOW] & 0x7f;
        uint64_t rot = ((dw >> wd1) | (dw << (7 - wd1))) & 0x7f;
        uint64_t p = rot << 1;
        r |= p | p << 7 | p << 14 | p << 21 | p << 28;
        int wl = (wd1 + n - 1) % 7;
        for (unsigned w = e->dow_last; w; w &= w - 1) {
            int wday = __builtin_ctz(w);
            r |= UINT64_C(1) << (n - (wl - wday + 7) % 7);
        }
        for (uint64_t b = e->dow_nth; b; b &= b - 1) {
            int bit = __builtin_ctzll(b);
            int k = bit / 7, wday = bit % 7;
            int d = 1 + (wday - wd1 + 7) % 7 + 7 * k;
            if (d <= n)
                r |= UINT64_C(1) << d;
        }
    }
    return r & all;
}

/*
 * The first matching wall second at or after t, or INT64_MIN when there is
 * none up to the end of YEAR_MAX.
 */
static int64_t next_wall(const struct cron_expr *e, int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400;
    int64_t y;
    int mo, d, h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
    time_civil_from_days(days, &y, &mo, &d);
    if (y < YEAR_MIN) {
        y = YEAR_MIN;
        mo = d = 1;
        h = mi = s = 0;
    }

    int64_t cached_y = -1;
    int cached_m = -1;
    uint64_t dmask = 0;
    for (int step = 0; step < LIMIT_CRON_STEPS; step++) {
        if (y > YEAR_MAX)
            return INT64_MIN;
        int ny = next_year(e, y);
        if (ny < 0)
            return INT64_MIN;
        if (ny != y) {
            y = ny;
            mo = d = 1;
            h = mi = s = 0;
        }
        int nmo = next_bit(e->bits[F_MONTH], mo);
        if (nmo < 0) {
            y++;
            mo = d = 1;
            h = mi = s = 0;
            continue;
        }
        if (nmo != mo) {
            mo = nmo;
            d = 1;
            h = mi = s = 0;
        }
        if (y != cached_y || mo != cached_m) {
            dmask = month_days(e, y, mo);
            cached_y = y;
            cached_m = mo;
        }
        int nd = next_bit(dmask, d);
        if (nd < 0) {
            if (++mo > 12) {
                y++;
                mo = 1;
            }
            d = 1;
            h = mi = s = 0;
            continue;
        }
        if (nd != d) {
            d = nd;
            h = mi = s = 0;
        }
        int nh = next_bit(e->bits[F_HOUR], h);
        if (nh < 0) {
            d++;
            h = mi = s = 0;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = s = 0;
        }
        int nmi = next_bit(e->bits[F_MIN], mi);
        if (nmi < 0) {
            h++;
            mi = s = 0;
            continue;
        }
        if (nmi != mi) {
            mi = nmi;
            s = 0;
        }
        int ns = next_bit(e->bits[F_SEC], s);
        if (ns < 0) {
            mi++;
            s = 0;
            continue;
        }
        return time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + ns;
    }
    return INT64_MIN;
}

int64_t cron_expr_next(const struct cron_expr *e, const struct tz_zone *zone, int64_t after_ns)
{
    int64_t after = time_floor_sec(after_ns);

    if (!zone) {
        int64_t t = next_wall(e, after + 1);
        return t == INT64_MIN ? TIME_ZERO : t * NS_PER_SEC;
    }

    /*
     * Walk candidate wall times from the wall time of `after` on.  Each
     * candidate maps to 0, 1 or 2 instants: none (a DST gap) is skipped;
     * of two (a DST fold) only the first counts, and once it has passed the
     * rest of the repeated stretch has passed too, so we jump over it.
     */
    int64_t wall = after + tz_zone_offset(zone, after);
    for (int step = 0; step < LIMIT_CRON_STEPS; step++) {
        int64_t cand = next_wall(e, wall + 1);
        if (cand == INT64_MIN)
            return TIME_ZERO;
        struct tz_local loc;
        tz_zone_resolve(zone, cand, &loc);
        if (loc.n > 0 && loc.utc[0] > after)
            return loc.utc[0] * NS_PER_SEC;
        wall = cand;
        if (loc.n != 1 && loc.edge - 1 > wall)
            wall = loc.edge - 1;
    }
    return TIME_ZERO;
}
