/*
 * time.c - civil dates, RFC 3339 and Go-style durations (see time.h).
 *
 * The civil-date conversions use the "era of 400 years" method: a
 * Gregorian era is exactly 146097 days, so after shifting the year to start
 * in March (putting the leap day last) a date splits into era, year of era
 * and day of year with plain integer arithmetic and no tables or loops.
 */
#include "base/time.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t time_days_from_civil(int64_t y, int m, int d)
{
    /* Count years from March so that February (and its leap day) is last. */
    if (m <= 2)
        y -= 1;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                            /* 0..399 */
    int64_t mp = (m + 9) % 12;                              /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;               /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;    /* 0..146096 */
    return era * 146097 + doe - 719468;                     /* 719468: 0000-03-01 to 1970 */
}

void time_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                    /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                                  /* 0..11 */
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    *ret_y = y;
    *ret_m = m;
    *ret_d = d;
}

int time_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int time_days_in_month(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && is_leap(y))
        return 29;
    return len[m - 1];
}

int64_t time_floor_sec(int64_t ns)
{
    return floor_div(ns, NS_PER_SEC);
}

int time_format_rfc3339(int64_t ns, char *out, size_t outlen)
{
    int64_t sec = time_floor_sec(ns);
    int64_t frac = ns - sec * NS_PER_SEC;
    int64_t days = floor_div(sec, 86400);
    int64_t sod = sec - days * 86400;
    int64_t y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);

    char fbuf[16] = "";
    if (frac != 0) {
        /* Nine digits, then trailing zeros trimmed (Go's RFC3339Nano). */
        char digits[10];
        snprintf(digits, sizeof(digits), "%09" PRId64, frac);
        int n = 9;
        while (n > 0 && digits[n - 1] == '0')
            n--;
        snprintf(fbuf, sizeof(fbuf), ".%.*s", n, digits);
    }
    int r = snprintf(out, outlen, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%sZ", y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), fbuf);
    if (r < 0)
        return 0;
    if ((size_t)r >= outlen)
        return outlen > 0 ? (int)outlen - 1 : 0;
    return r;
}

/* Reads exactly n decimal digits at *p.  Returns -1 when they are not there. */
static int64_t read_digits(const char **p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

int time_parse_rfc3339(const char *s, int64_t *ret_ns)
{
    const char *p = s;
    int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;

    if (!s)
        return -EINVAL;
    y = read_digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return -EINVAL;
    mo = read_digits(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return -EINVAL;
    d = read_digits(&p, 2);
    if (d < 1 || d > time_days_in_month(y, (int)mo))
        return -EINVAL;
    if (*p == '\0')
        goto done;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    h = read_digits(&p, 2);
    if (h < 0 || h > 23 || *p++ != ':')
        return -EINVAL;
    mi = read_digits(&p, 2);
    if (mi < 0 || mi > 59 || *p++ != ':')
        return -EINVAL;
    sec = read_digits(&p, 2);
    if (sec < 0 || sec > 59)
        return -EINVAL;
    if (*p == '.') {
        int n = 0;
        p++;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        /* Digits past the ninth are accepted and dropped, like Go. */
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            if (n >= 1000)
                return -EINVAL;
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        }
        for (; n < 9; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int64_t oh = read_digits(&p, 2);
        if (oh < 0 || oh > 23 || *p++ != ':')
            return -EINVAL;
        int64_t om = read_digits(&p, 2);
        if (om < 0 || om > 59)
            return -EINVAL;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;

done:;
    int64_t secs = time_days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + sec -
                   off;
    /* The int64 ns range is about +-292 years around 1970. */
    if (secs > INT64_MAX / NS_PER_SEC - 1 || secs < INT64_MIN / NS_PER_SEC + 1)
        return -EINVAL;
    *ret_ns = secs * NS_PER_SEC + frac;
    return 0;
}

/*
 * Writes v / 10^prec with the fraction's trailing zeros trimmed (and no
 * point when the fraction is zero) at the end of the buffer that ends at
 * *w, moving *w back.  Mirrors how Go builds Duration.String() right to left.
 */
static void put_frac(char **w, uint64_t v, int prec)
{
    bool printed = false;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(v % 10);
        printed = printed || digit != 0;
        if (printed)
            *--*w = (char)('0' + digit);
        v /= 10;
    }
    if (printed)
        *--*w = '.';
    if (v == 0) {
        *--*w = '0';
        return;
    }
    while (v > 0) {
        *--*w = (char)('0' + v % 10);
        v /= 10;
    }
}

static void put_uint(char **w, uint64_t v)
{
    do {
        *--*w = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
}

int time_format_duration(int64_t ns, char *out, size_t outlen)
{
    char buf[48];
    char *end = buf + sizeof(buf);
    char *w = end;
    bool neg = ns < 0;
    /* The magnitude of INT64_MIN only fits an unsigned type. */
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

    if (u < (uint64_t)NS_PER_SEC) {
        int prec;
        const char *unit;
        if (u == 0) {
            snprintf(out, outlen, "0s");
            return outlen >= 3 ? 2 : (int)(outlen ? outlen - 1 : 0);
        } else if (u < (uint64_t)NS_PER_US) {
            prec = 0;
            unit = "ns";
        } else if (u < (uint64_t)NS_PER_MS) {
            prec = 3;
            unit = "\xc2\xb5s"; /* U+00B5 MICRO SIGN, as Go writes it */
        } else {
            prec = 6;
            unit = "ms";
        }
        size_t ul = strlen(unit);
        w -= ul;
        memcpy(w, unit, ul);
        put_frac(&w, u, prec);
    } else {
        *--w = 's';
        put_frac(&w, u % (uint64_t)NS_PER_MIN, 9);
        u /= (uint64_t)NS_PER_MIN;
        if (u > 0) {
            *--w = 'm';
            put_uint(&w, u % 60);
            u /= 60;
            if (u > 0) {
                *--w = 'h';
                put_uint(&w, u);
            }
        }
    }
    if (neg)
        *--w = '-';
    int n = snprintf(out, outlen, "%.*s", (int)(end - w), w);
    if (n < 0)
        return 0;
    if ((size_t)n >= outlen)
        return outlen > 0 ? (int)outlen - 1 : 0;
    return n;
}

/*
 * Quotes s the way Go's time package does in its error messages: in double
 * quotes, with '"' and '\\' escaped and every byte below 0x20 or above 0x7f
 * written as \xNN.
 */
static void go_quote(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return;
#define PUT(c)                        \
    do {                              \
        if (o + 1 < outlen)           \
            out[o++] = (char)(c);     \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x80) {
            PUT('\\');
            PUT('x');
            PUT(hex[*p >> 4]);
            PUT(hex[*p & 15]);
        } else {
            if (*p == '"' || *p == '\\')
                PUT('\\');
            PUT(*p);
        }
    }
    PUT('"');
#undef PUT
    out[o] = '\0';
}

static int duration_error(const char *fmt_unit, const char *unit, const char *orig,
                          char *reterr_msg, size_t errlen)
{
    char qo[256], qu[128];
    if (!reterr_msg || errlen == 0)
        return -EINVAL;
    go_quote(orig, qo, sizeof(qo));
    if (fmt_unit && unit) {
        go_quote(unit, qu, sizeof(qu));
        snprintf(reterr_msg, errlen, "time: unknown unit %s in duration %s", qu, qo);
    } else {
        snprintf(reterr_msg, errlen, "time: %s %s", fmt_unit ? fmt_unit : "invalid duration",
                 qo);
    }
    return -EINVAL;
}

#define INVALID(orig) duration_error(NULL, NULL, orig, reterr_msg, errlen)

int time_parse_duration(const char *s, int64_t *ret_ns, char *reterr_msg, size_t errlen)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", (uint64_t)NS_PER_US},
        {"\xc2\xb5s", (uint64_t)NS_PER_US}, /* U+00B5 MICRO SIGN */
        {"\xce\xbcs", (uint64_t)NS_PER_US}, /* U+03BC GREEK SMALL LETTER MU */
        {"ms", (uint64_t)NS_PER_MS},
        {"s", (uint64_t)NS_PER_SEC},
        {"m", (uint64_t)NS_PER_MIN},
        {"h", (uint64_t)NS_PER_HOUR},
    };
    const uint64_t limit = (uint64_t)1 << 63;
    const char *orig = s;
    const char *p = s;
    uint64_t total = 0;
    bool neg = false;

    if (!s)
        return -EINVAL;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (strcmp(p, "0") == 0) {
        *ret_ns = 0;
        return 0;
    }
    if (*p == '\0')
        return INVALID(orig);

    while (*p) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        bool pre = false, post = false, f_full = false;

        if (!(*p == '.' || (*p >= '0' && *p <= '9')))
            return INVALID(orig);
        for (; *p >= '0' && *p <= '9'; p++) {
            pre = true;
            if (v > limit / 10)
                return INVALID(orig);
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > limit)
                return INVALID(orig);
        }
        if (*p == '.') {
            p++;
            /* Extra fraction digits past what fits are read and ignored. */
            for (; *p >= '0' && *p <= '9'; p++) {
                post = true;
                if (f_full)
                    continue;
                if (f > (limit - 1) / 10) {
                    f_full = true;
                    continue;
                }
                uint64_t nf = f * 10 + (uint64_t)(*p - '0');
                if (nf > limit) {
                    f_full = true;
                    continue;
                }
                f = nf;
                scale *= 10;
            }
        }
        if (!pre && !post)
            return INVALID(orig);

        const char *u0 = p;
        while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
            p++;
        size_t ulen = (size_t)(p - u0);
        if (ulen == 0)
            return duration_error("missing unit in duration", NULL, orig, reterr_msg, errlen);
        uint64_t unit = 0;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            if (strlen(units[i].name) == ulen && memcmp(units[i].name, u0, ulen) == 0) {
                unit = units[i].ns;
                break;
            }
        }
        if (unit == 0) {
            char ubuf[64];
            size_t n = ulen < sizeof(ubuf) - 1 ? ulen : sizeof(ubuf) - 1;
            memcpy(ubuf, u0, n);
            ubuf[n] = '\0';
            return duration_error("unknown unit", ubuf, orig, reterr_msg, errlen);
        }
        if (v > limit / unit)
            return INVALID(orig);
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > limit)
                return INVALID(orig);
        }
        total += v;
        if (total > limit)
            return INVALID(orig);
    }
    if (neg) {
        *ret_ns = (int64_t)((uint64_t)0 - total);
        return 0;
    }
    if (total > limit - 1)
        return INVALID(orig);
    *ret_ns = (int64_t)total;
    return 0;
}
