/*
 * pure.c - ref maps, SHAs, Gitiles time formats and request paths of the
 * gitiles manager (gt-internal.h).
 */
#include "tasks/gitiles/gt-internal.h"

#include <strings.h>

#include "base/time.h"

bool gt_host_is_googlesource(const char *host)
{
    static const char suffix[] = ".googlesource.com";
    size_t n = strlen(host), m = sizeof(suffix) - 1;

    if (n <= m || strcmp(host + n - m, suffix) != 0)
        return false;
    n -= m;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

bool gt_sha_valid(const char *s)
{
    size_t i;

    for (i = 0; i < GT_SHA_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[i] == '\0';
}

/* ---- ref maps ---- */

void gt_refs_release(struct gt_refs *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].name);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static int refs_grow(struct gt_refs *m)
{
    struct gt_ref *v;
    size_t alloc;

    if (m->n >= GT_MAX_REFS)
        return -E2BIG;
    if (m->n < m->alloc)
        return 0;
    alloc = m->alloc ? 2 * m->alloc : 16;
    v = realloc(m->v, alloc * sizeof(*v));
    if (!v)
        return -ENOMEM;
    m->v = v;
    m->alloc = alloc;
    return 0;
}

int gt_refs_add(struct gt_refs *m, const char *name, const char *sha)
{
    int r = refs_grow(m);
    char *copy;

    if (r < 0)
        return r;
    copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    m->v[m->n].name = copy;
    snprintf(m->v[m->n].sha, sizeof(m->v[m->n].sha), "%s", sha);
    m->n++;
    return 0;
}

void gt_refs_truncate(struct gt_refs *m, size_t n)
{
    while (m->n > n)
        free(m->v[--m->n].name);
    if (m->n == 0) {
        free(m->v);
        m->v = NULL;
        m->alloc = 0;
    }
}

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct gt_ref *)a)->name, ((const struct gt_ref *)b)->name);
}

void gt_refs_sort(struct gt_refs *m)
{
    size_t o = 0;

    if (m->n > 1)
        sort_array(m->v, m->n, sizeof(*m->v), ref_cmp);
    for (size_t i = 0; i < m->n; i++) {
        if (o > 0 && strcmp(m->v[o - 1].name, m->v[i].name) == 0) {
            free(m->v[i].name);
            continue;
        }
        m->v[o++] = m->v[i];
    }
    m->n = o;
}

/* The index of name in a sorted map, or where it would go (*found false). */
static size_t refs_search(const struct gt_refs *m, const char *name, bool *found)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const struct gt_ref *gt_refs_find(const struct gt_refs *m, const char *name)
{
    bool found;
    size_t i = refs_search(m, name, &found);

    return found ? &m->v[i] : NULL;
}

void gt_refs_remove(struct gt_refs *m, size_t i)
{
    free(m->v[i].name);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
    m->n--;
}

int gt_refs_set(struct gt_refs *m, const char *name, const char *sha)
{
    bool found;
    size_t i = refs_search(m, name, &found);
    char *copy;
    int r;

    if (found) {
        snprintf(m->v[i].sha, sizeof(m->v[i].sha), "%s", sha);
        return 0;
    }
    r = refs_grow(m);
    if (r < 0)
        return r;
    copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
    m->v[i].name = copy;
    snprintf(m->v[i].sha, sizeof(m->v[i].sha), "%s", sha);
    m->n++;
    return 0;
}

/* ---- Gitiles times ---- */

static int month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    for (int i = 0; i < 12; i++)
        if (strncmp(s, names + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -EINVAL;
    (*p)++;
    return 0;
}

/* " +HHMM" / " -HHMM" at p, or nothing: the offset east of UTC in seconds. */
static int zone_offset(const char *p, int64_t *ret)
{
    int hh, mm, sign;

    if (!*p) {
        *ret = 0;
        return 0;
    }
    if (expect(&p, ' ') < 0 || (*p != '+' && *p != '-'))
        return -EINVAL;
    sign = *p++ == '-' ? -1 : 1;
    if (digits(&p, 2, &hh) < 0 || digits(&p, 2, &mm) < 0 || *p || hh > 23 || mm > 59)
        return -EINVAL;
    *ret = sign * (hh * 3600 + mm * 60);
    return 0;
}

int gt_parse_time(const char *s, int64_t *ret_ns)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    const char *p = s;
    int mon, day, hh, mi, ss, year;
    int64_t off;
    bool wd = false;

    for (int i = 0; i < 7; i++)
        wd = wd || strncmp(p, days + 3 * i, 3) == 0;
    if (!wd || p[3] != ' ' || (mon = month_of(p + 4)) < 0 || p[7] != ' ')
        return -EINVAL;
    p += 8;
    if (digits(&p, 2, &day) < 0 || expect(&p, ' ') < 0 || digits(&p, 2, &hh) < 0 ||
        expect(&p, ':') < 0 || digits(&p, 2, &mi) < 0 || expect(&p, ':') < 0 ||
        digits(&p, 2, &ss) < 0 || expect(&p, ' ') < 0 || digits(&p, 4, &year) < 0)
        return -EINVAL;
    if (day < 1 || day > time_days_in_month(year, mon) || hh > 23 || mi > 59 || ss > 60 ||
        zone_offset(p, &off) < 0)
        return -EINVAL;
    *ret_ns = ((time_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mi * 60 + ss) - off) *
              NS_PER_SEC;
    return 0;
}

/* ---- request paths ---- */

int gt_path_escape(struct buf *out, const char *s)
{
    int r = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    strchr("-_.~$&+:=@", c) != NULL;
        r = keep ? buf_putc(out, (char)c) : buf_printf(out, "%%%02X", c);
    }
    return r;
}

int gt_path_refs(const char *project, const char *prefix, struct buf *out)
{
    int r = buf_puts(out, "/a/");

    if (r == 0)
        r = gt_path_escape(out, project);
    if (r == 0)
        r = buf_puts(out, "/+");
    if (r == 0)
        r = gt_path_escape(out, prefix);
    if (r == 0)
        r = buf_puts(out, "?format=JSON");
    return r;
}

int gt_path_log(const char *project, const char *committish, size_t n, bool tree_diff,
                const char *cursor, struct buf *out)
{
    int r = buf_puts(out, "/a/");

    if (r == 0)
        r = gt_path_escape(out, project);
    if (r == 0)
        r = buf_puts(out, "/+log/");
    if (r == 0)
        r = gt_path_escape(out, committish);
    if (r == 0)
        r = buf_printf(out, "?format=JSON&n=%zu", n);
    if (r == 0 && tree_diff)
        r = buf_puts(out, "&name-status=1");
    if (r == 0 && cursor && cursor[0]) {
        r = buf_puts(out, "&s=");
        if (r == 0)
            r = gt_path_escape(out, cursor);
    }
    return r;
}
