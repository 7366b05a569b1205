/*
 * tz.c - TZif parsing and offset look-ups (see tz.h).
 *
 * A zone is a sorted list of transitions (instant, offset from then on),
 * the offset before the first one, and optionally a POSIX TZ rule that
 * takes over after the last one.  Wall-time resolution looks at the
 * transitions within the widest possible offset of the wall time and
 * checks, period by period, whether "wall - offset" falls inside it.
 */
#include "schedule/tz.h"

#include "base/limits.h"
#include "base/time.h"

/* RFC 8536 recommends offsets within this range; anything else is rejected. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* Most transitions looked at around one wall time (real zones: 2 or 3). */
#define WINDOW_MAX 64

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, plus a time of day. */
struct rule_date {
    char kind; /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight; may be negative or > 24h */
};

struct tz_rule {
    int32_t std_off, dst_off; /* UTC offsets, east positive */
    bool has_dst;
    struct rule_date start, end;
};

struct tz_zone {
    char name[LIMIT_TZ_NAME_LEN + 1];
    size_t ntrans;
    int64_t *trans;     /* ascending */
    int32_t *trans_off; /* offset in effect from trans[i] on */
    int32_t off0;       /* offset before the first transition */
    bool has_rule;
    struct tz_rule rule;
};

static int set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* ----------------------------------------------------------- POSIX TZ rule */

static bool parse_name(const char **pp)
{
    const char *p = *pp;
    if (*p == '<') {
        p++;
        const char *s = p;
        while (*p && *p != '>') {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
                return false;
            p++;
        }
        if (*p != '>' || p - s < 3)
            return false;
        *pp = p + 1;
        return true;
    }
    const char *s = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - s < 3)
        return false;
    *pp = p;
    return true;
}

/* Reads up to maxdigits digits as a number in [0, max]; -1 on failure. */
static int parse_num(const char **pp, int maxdigits, int max)
{
    const char *p = *pp;
    int v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < maxdigits) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0 || v > max)
        return -1;
    *pp = p;
    return v;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; returns false on bad syntax. */
static bool parse_hms(const char **pp, int max_h, int32_t *ret)
{
    const char *p = *pp;
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    int h = parse_num(&p, 3, max_h), m = 0, s = 0;
    if (h < 0)
        return false;
    if (*p == ':') {
        p++;
        if ((m = parse_num(&p, 2, 59)) < 0)
            return false;
        if (*p == ':') {
            p++;
            if ((s = parse_num(&p, 2, 59)) < 0)
                return false;
        }
    }
    *ret = sign * (h * 3600 + m * 60 + s);
    *pp = p;
    return true;
}

static bool parse_rule_date(const char **pp, struct rule_date *rd)
{
    const char *p = *pp;
    memset(rd, 0, sizeof(*rd));
    if (*p == 'J') {
        p++;
        rd->kind = 'J';
        if ((rd->n = parse_num(&p, 3, 365)) < 1)
            return false;
    } else if (*p == 'M') {
        p++;
        rd->kind = 'M';
        if ((rd->m = parse_num(&p, 2, 12)) < 1 || *p++ != '.')
            return false;
        if ((rd->w = parse_num(&p, 1, 5)) < 1 || *p++ != '.')
            return false;
        if ((rd->d = parse_num(&p, 1, 6)) < 0)
            return false;
    } else {
        rd->kind = 'D';
        if ((rd->n = parse_num(&p, 3, 365)) < 0)
            return false;
    }
    rd->time = 2 * 3600;
    if (*p == '/') {
        p++;
        /* RFC 8536 3.3.1 allows -167..167 hours here. */
        if (!parse_hms(&p, 167, &rd->time))
            return false;
    }
    *pp = p;
    return true;
}

static int parse_posix_tz(const char *s, struct tz_rule *r)
{
    const char *p = s;
    int32_t v;
    memset(r, 0, sizeof(*r));
    if (!parse_name(&p) || !parse_hms(&p, 24, &v))
        return -EINVAL;
    r->std_off = -v;
    if (*p == '\0') {
        r->dst_off = r->std_off;
        return 0;
    }
    if (!parse_name(&p))
        return -EINVAL;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!parse_hms(&p, 24, &v))
            return -EINVAL;
        r->dst_off = -v;
    }
    if (*p == '\0') {
        /* POSIX leaves the default open; use the US rules as tzcode does. */
        r->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
        r->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
        return 0;
    }
    if (*p++ != ',' || !parse_rule_date(&p, &r->start) || *p++ != ',' ||
        !parse_rule_date(&p, &r->end) || *p != '\0')
        return -EINVAL;
    return 0;
}

/* The local (wall) second at which a rule date happens in year y. */
static int64_t rule_local(const struct rule_date *rd, int64_t y)
{
    int64_t jan1 = time_days_from_civil(y, 1, 1), day;
    if (rd->kind == 'J') {
        bool leap = time_days_in_month(y, 2) == 29;
        day = jan1 + rd->n - 1 + (leap && rd->n >= 60);
    } else if (rd->kind == 'D') {
        day = jan1 + rd->n;
    } else {
        int64_t first = time_days_from_civil(y, rd->m, 1);
        int wd1 = time_weekday_from_days(first);
        int d = 1 + (rd->d - wd1 + 7) % 7 + 7 * (rd->w - 1);
        int len = time_days_in_month(y, rd->m);
        while (d > len)
            d -= 7;
        day = first + d - 1;
    }
    return day * 86400 + rd->time;
}

/* DST start and end of year y as UTC instants. */
static void rule_year(const struct tz_rule *r, int64_t y, int64_t *ret_start, int64_t *ret_end)
{
    *ret_start = rule_local(&r->start, y) - r->std_off;
    *ret_end = rule_local(&r->end, y) - r->dst_off;
}

static int64_t year_of(int64_t s)
{
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400), y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    return y;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t u)
{
    if (!r->has_dst)
        return r->std_off;
    /* Keep the year arithmetic far from overflow; +-300000 years is plenty. */
    const int64_t far = INT64_C(10000000000000);
    u = u > far ? far : u < -far ? -far : u;
    int64_t s, e;
    rule_year(r, year_of(u + r->std_off), &s, &e);
    bool dst = s < e ? (u >= s && u < e) : !(u >= e && u < s);
    return dst ? r->dst_off : r->std_off;
}

/* --------------------------------------------------------------- parsing */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_header(const unsigned char *p, size_t avail, struct tzif_header *h)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0)
        return -EINVAL;
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -EINVAL;
    return 0;
}

/* Size of a data block; 64-bit arithmetic so that no count can overflow it. */
static uint64_t block_size(const struct tzif_header *h, unsigned tsize)
{
    return (uint64_t)h->timecnt * tsize + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

struct tz_zone *tz_zone_free(struct tz_zone *z)
{
    if (!z)
        return NULL;
    free(z->trans);
    free(z->trans_off);
    free(z);
    return NULL;
}

static struct tz_zone *zone_alloc(const char *name)
{
    struct tz_zone *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    snprintf(z->name, sizeof(z->name), "%s", name ? name : "");
    return z;
}

struct tz_zone *tz_zone_new_utc(const char *name)
{
    return zone_alloc(name);
}

int tz_zone_parse(const char *name, const void *data, size_t len, struct tz_zone **ret,
                  char *reterr_msg, size_t errlen)
{
    const unsigned char *buf = data;
    struct tzif_header h;
    struct tz_zone *z = NULL;
    size_t pos;
    unsigned tsize = 4;
    int r;

    if (!data || len > LIMIT_TZIF_BYTES)
        return set_err(reterr_msg, errlen, "time-zone file is too large");
    if (read_header(buf, len, &h) < 0)
        return set_err(reterr_msg, errlen, "not a TZif file or bad header");
    uint64_t sz = block_size(&h, 4);
    if (sz > len - 44)
        return set_err(reterr_msg, errlen, "truncated TZif data");
    pos = 44;
    if (h.version >= '2') {
        pos += (size_t)sz;
        if (read_header(buf + pos, len - pos, &h) < 0)
            return set_err(reterr_msg, errlen, "bad TZif version 2+ header");
        pos += 44;
        tsize = 8;
        sz = block_size(&h, 8);
        if (sz > len - pos)
            return set_err(reterr_msg, errlen, "truncated TZif data");
    } else if (h.version != '\0') {
        return set_err(reterr_msg, errlen, "unknown TZif version");
    }

    z = zone_alloc(name);
    if (!z)
        return -ENOMEM;
    if (h.timecnt > 0) {
        z->trans = calloc(h.timecnt, sizeof(*z->trans));
        z->trans_off = calloc(h.timecnt, sizeof(*z->trans_off));
        if (!z->trans || !z->trans_off) {
            r = -ENOMEM;
            goto out;
        }
    }
    z->ntrans = h.timecnt;

    const unsigned char *times = buf + pos;
    const unsigned char *idx = times + (size_t)h.timecnt * tsize;
    const unsigned char *types = idx + h.timecnt;
    int32_t offs[256];
    for (uint32_t i = 0; i < h.typecnt; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (off < UTOFF_MIN || off > UTOFF_MAX || types[6 * i + 4] > 1) {
            r = set_err(reterr_msg, errlen, "bad local time type in TZif data");
            goto out;
        }
        offs[i] = off;
    }
    z->off0 = offs[0];
    for (uint32_t i = 0; i < h.timecnt; i++) {
        int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= h.typecnt || (i > 0 && t <= z->trans[i - 1])) {
            r = set_err(reterr_msg, errlen, "bad transition in TZif data");
            goto out;
        }
        z->trans[i] = t;
        z->trans_off[i] = offs[idx[i]];
    }
    pos += (size_t)sz;

    if (tsize == 8 && pos < len) {
        /* Footer: "\n<POSIX TZ string>\n". */
        if (buf[pos] != '\n') {
            r = set_err(reterr_msg, errlen, "bad TZif footer");
            goto out;
        }
        const unsigned char *nl = memchr(buf + pos + 1, '\n', len - pos - 1);
        size_t flen = nl ? (size_t)(nl - (buf + pos + 1)) : 0;
        char tzs[256];
        if (!nl || flen >= sizeof(tzs) || memchr(buf + pos + 1, '\0', flen)) {
            r = set_err(reterr_msg, errlen, "bad TZif footer");
            goto out;
        }
        memcpy(tzs, buf + pos + 1, flen);
        tzs[flen] = '\0';
        if (flen > 0) {
            if (parse_posix_tz(tzs, &z->rule) < 0 || z->rule.std_off < UTOFF_MIN ||
                z->rule.std_off > UTOFF_MAX || z->rule.dst_off < UTOFF_MIN ||
                z->rule.dst_off > UTOFF_MAX) {
                r = set_err(reterr_msg, errlen, "bad TZ string in TZif footer");
                goto out;
            }
            z->has_rule = true;
        }
    }
    *ret = z;
    z = NULL;
    r = 0;
out:
    tz_zone_free(z);
    return r;
}

const char *tz_zone_name(const struct tz_zone *z)
{
    return z->name;
}

/* ---------------------------------------------------------------- look-ups */

/* Index of the last transition at or before u, or -1. */
static ptrdiff_t find_trans(const struct tz_zone *z, int64_t u)
{
    size_t lo = 0, hi = z->ntrans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

int32_t tz_zone_offset(const struct tz_zone *z, int64_t u)
{
    ptrdiff_t i = find_trans(z, u);
    if (z->has_rule && (size_t)(i + 1) == z->ntrans)
        return rule_offset(&z->rule, u);
    return i < 0 ? z->off0 : z->trans_off[i];
}

/*
 * The transitions in (lo, hi]: their instants in t[] and the offsets after
 * them in off[]; returns how many (at most WINDOW_MAX).
 */
static int window(const struct tz_zone *z, int64_t lo, int64_t hi, int64_t *t, int32_t *off)
{
    int n = 0;
    ptrdiff_t i = find_trans(z, lo) + 1;
    for (; (size_t)i < z->ntrans && z->trans[i] <= hi && n < WINDOW_MAX; i++) {
        t[n] = z->trans[i];
        off[n++] = z->trans_off[i];
    }
    if (!z->has_rule || !z->rule.has_dst)
        return n;
    int64_t last = z->ntrans ? z->trans[z->ntrans - 1] : INT64_MIN;
    for (int64_t y = year_of(lo) - 1; y <= year_of(hi) + 1; y++) {
        int64_t s, e;
        rule_year(&z->rule, y, &s, &e);
        int64_t c[2] = {s, e};
        int32_t o[2] = {z->rule.dst_off, z->rule.std_off};
        for (int k = 0; k < 2; k++) {
            if (c[k] <= lo || c[k] > hi || c[k] <= last || n >= WINDOW_MAX)
                continue;
            /* Insertion keeps t[] sorted; rule instants come after the list's. */
            int j = n++;
            while (j > 0 && t[j - 1] > c[k]) {
                t[j] = t[j - 1];
                off[j] = off[j - 1];
                j--;
            }
            t[j] = c[k];
            off[j] = o[k];
        }
    }
    return n;
}

void tz_zone_resolve(const struct tz_zone *z, int64_t local_s, struct tz_local *ret)
{
    int64_t t[WINDOW_MAX];
    int32_t off[WINDOW_MAX];
    /*
     * Far outside any real date (+-300000 years) the answer is not
     * meaningful; return local_s itself so nothing below can overflow.
     */
    const int64_t far = INT64_C(10000000000000);
    if (local_s > far || local_s < -far) {
        ret->n = 1;
        ret->utc[0] = local_s;
        ret->edge = local_s + 1;
        return;
    }
    /* Any preimage u = local_s - offset lies within this window. */
    int64_t lo = local_s - UTOFF_MAX - 1, hi = local_s - UTOFF_MIN + 1;
    int n = window(z, lo, hi, t, off);

    ret->n = 0;
    ret->edge = local_s + 1;
    int32_t prev = tz_zone_offset(z, lo);
    bool gap_seen = false;
    for (int i = 0; i <= n; i++) {
        int32_t o = i == 0 ? prev : off[i - 1];
        int64_t start = i == 0 ? INT64_MIN : t[i - 1];
        int64_t end = i == n ? INT64_MAX : t[i];
        int64_t u = local_s - o;
        if (u >= start && u < end && ret->n < 2) {
            ret->utc[ret->n++] = u;
            if (ret->n == 2)
                ret->edge = start + (i == 0 ? o : (i == 1 ? prev : off[i - 2]));
        }
        /* A gap at t[i]: wall time jumps from t + o to t + off[i]. */
        if (i < n && !gap_seen && ret->n == 0 && t[i] + o <= local_s && local_s < t[i] + off[i]) {
            gap_seen = true;
            ret->edge = t[i] + off[i];
        }
    }
    if (ret->n == 1)
        ret->edge = local_s + 1;
}
