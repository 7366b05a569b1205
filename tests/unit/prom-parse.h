/*
 * prom-parse.h - a small strict parser of the Prometheus text exposition
 * format 0.0.4, for the tests of /metrics (included by test-*-metrics.c).
 *
 * prom_parse() accepts only:
 *   - "# HELP <name> <text>" and "# TYPE <name> counter|gauge|histogram|summary|untyped",
 *     at most one of each per family, TYPE before any sample of the family;
 *   - samples "<name>[{<label>="<value>",...}] <value>", where name and
 *     label names match the format's character classes, label values use
 *     only the escapes \\ \" \n, a label name appears once, and the value
 *     parses entirely as a float ("+Inf", "-Inf", "NaN" allowed);
 *   - every sample belongs to a family declared with TYPE (a histogram's
 *     samples are <name>_bucket with an "le" label, <name>_sum, <name>_count);
 *     a family's lines are contiguous; no series appears twice;
 *   - histograms: "le" values strictly ascending, counts cumulative
 *     (never decreasing), the last bucket le="+Inf", equal to _count,
 *     and _sum and _count present.
 * On failure it returns -1 and sets err to the line and reason.
 * prom_value() finds one sample by name and exact label text.
 */
#ifndef TOCK_TEST_PROM_PARSE_H
#define TOCK_TEST_PROM_PARSE_H

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROM_MAX_SAMPLES 4096
#define PROM_MAX_FAMILIES 256
#define PROM_TEXT 256

struct prom_sample {
    char name[PROM_TEXT];
    char labels[PROM_TEXT * 2]; /* canonical: the decoded pairs, name="value" joined by "," */
    char le[64];                /* the raw le value of a histogram bucket, else "" */
    double value;
};

struct prom_family {
    char name[PROM_TEXT];
    char type[16];
    bool help, typed, closed;
    /* histogram checks */
    double last_le, last_bucket, inf_count;
    bool has_inf, has_sum, has_count;
    double count;
};

struct prom_doc {
    struct prom_sample s[PROM_MAX_SAMPLES];
    size_t n;
    struct prom_family f[PROM_MAX_FAMILIES];
    size_t nf;
    char err[512];
};

static bool prom_name_char(char c, bool first, bool metric)
{
    if (isalpha((unsigned char)c) || c == '_' || (metric && c == ':'))
        return true;
    return !first && isdigit((unsigned char)c);
}

/* Reads a name at *p; returns its length (0: none). */
static size_t prom_name(const char *p, bool metric)
{
    size_t n = 0;

    while (p[n] && prom_name_char(p[n], n == 0, metric))
        n++;
    return n;
}

static bool prom_float(const char *s, double *ret)
{
    char *end;

    if (strcmp(s, "+Inf") == 0) {
        *ret = INFINITY;
        return true;
    }
    if (strcmp(s, "-Inf") == 0) {
        *ret = -INFINITY;
        return true;
    }
    if (strcmp(s, "NaN") == 0) {
        *ret = NAN;
        return true;
    }
    if (!*s || isspace((unsigned char)*s))
        return false;
    *ret = strtod(s, &end);
    return *end == '\0' && !isnan(*ret) && !isinf(*ret);
}

static struct prom_family *prom_family_find(struct prom_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nf; i++) {
        if (strcmp(d->f[i].name, name) == 0)
            return &d->f[i];
    }
    return NULL;
}

static struct prom_family *prom_family_get(struct prom_doc *d, const char *name)
{
    struct prom_family *f = prom_family_find(d, name);

    if (f || d->nf >= PROM_MAX_FAMILIES)
        return f;
    f = &d->f[d->nf++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->last_le = -INFINITY;
    return f;
}

/* Closes every family but keep (a family's lines are contiguous). */
static int prom_switch(struct prom_doc *d, struct prom_family *keep, const char *line)
{
    if (keep->closed) {
        snprintf(d->err, sizeof(d->err), "family %s continues after another: %.100s", keep->name,
                 line);
        return -1;
    }
    for (size_t i = 0; i < d->nf; i++) {
        if (&d->f[i] != keep && !d->f[i].closed && (d->f[i].help || d->f[i].typed))
            d->f[i].closed = true;
    }
    return 0;
}

static int prom_comment(struct prom_doc *d, const char *line)
{
    bool help = strncmp(line, "# HELP ", 7) == 0, type = strncmp(line, "# TYPE ", 7) == 0;
    const char *p = line + 7;
    char name[PROM_TEXT];
    size_t n;
    struct prom_family *f;

    if (!help && !type)
        return 0; /* other comments are allowed */
    n = prom_name(p, true);
    if (n == 0 || n >= sizeof(name) || (p[n] != ' ' && !(help && p[n] == '\0'))) {
        snprintf(d->err, sizeof(d->err), "bad metric name: %.300s", line);
        return -1;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    f = prom_family_get(d, name);
    if (!f || prom_switch(d, f, line) < 0) {
        if (!d->err[0])
            snprintf(d->err, sizeof(d->err), "too many families");
        return -1;
    }
    if (help) {
        if (f->help) {
            snprintf(d->err, sizeof(d->err), "second HELP: %.300s", line);
            return -1;
        }
        for (const char *q = p + n; *q; q++) {
            if (*q == '\\' && q[1] != '\\' && q[1] != 'n') {
                snprintf(d->err, sizeof(d->err), "bad escape in HELP: %.300s", line);
                return -1;
            }
            if (*q == '\\')
                q++;
        }
        f->help = true;
        return 0;
    }
    p += n + 1;
    if (f->typed) {
        snprintf(d->err, sizeof(d->err), "second TYPE: %.300s", line);
        return -1;
    }
    if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") &&
        strcmp(p, "summary") && strcmp(p, "untyped")) {
        snprintf(d->err, sizeof(d->err), "bad TYPE: %.300s", line);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        const char *rest = d->s[i].name + n;
        if (strncmp(d->s[i].name, name, n) == 0 &&
            (!*rest || !strcmp(rest, "_bucket") || !strcmp(rest, "_sum") ||
             !strcmp(rest, "_count"))) {
            snprintf(d->err, sizeof(d->err), "TYPE after samples: %.300s", line);
            return -1;
        }
    }
    snprintf(f->type, sizeof(f->type), "%s", p);
    f->typed = true;
    return 0;
}

/* Parses {a="x",b="y"} at *pp into s->labels; advances *pp. */
static int prom_labels(struct prom_doc *d, const char **pp, struct prom_sample *s,
                       const char *line)
{
    const char *p = *pp + 1;
    char seen[16][PROM_TEXT];
    size_t nseen = 0, len = 0;

    while (*p != '}') {
        size_t n = prom_name(p, false);
        char value[PROM_TEXT];
        size_t vn = 0;

        if (n == 0 || n >= PROM_TEXT || p[n] != '=' || p[n + 1] != '"' || nseen >= 16)
            goto bad;
        memcpy(seen[nseen], p, n);
        seen[nseen][n] = '\0';
        for (size_t i = 0; i < nseen; i++)
            if (strcmp(seen[i], seen[nseen]) == 0)
                goto bad;
        nseen++;
        p += n + 2;
        while (*p != '"') {
            char c = *p;
            if (c == '\0' || c == '\n')
                goto bad;
            if (c == '\\') {
                p++;
                if (*p == 'n')
                    c = '\n';
                else if (*p == '\\' || *p == '"')
                    c = *p;
                else
                    goto bad;
            }
            if (vn + 1 >= sizeof(value))
                goto bad;
            value[vn++] = c;
            p++;
        }
        value[vn] = '\0';
        p++;
        if (strcmp(seen[nseen - 1], "le") == 0)
            snprintf(s->le, sizeof(s->le), "%.63s", value);
        len += (size_t)snprintf(s->labels + len, sizeof(s->labels) - len, "%s%s=\"%s\"",
                                len ? "," : "", seen[nseen - 1], value);
        if (len >= sizeof(s->labels))
            goto bad;
        if (*p == ',')
            p++;
        else if (*p != '}')
            goto bad;
    }
    *pp = p + 1;
    return 0;
bad:
    snprintf(d->err, sizeof(d->err), "bad labels: %.300s", line);
    return -1;
}

/* The family a sample belongs to, by its TYPE (histogram suffixes). */
static struct prom_family *prom_owner(struct prom_doc *d, const struct prom_sample *s,
                                      const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    struct prom_family *f = prom_family_find(d, s->name);
    size_t n = strlen(s->name);

    *suffix = "";
    if (f && f->typed && strcmp(f->type, "histogram") != 0)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(sfx[i]);
        char base[PROM_TEXT];
        if (n <= k || strcmp(s->name + n - k, sfx[i]) != 0)
            continue;
        snprintf(base, sizeof(base), "%.*s", (int)(n - k), s->name);
        f = prom_family_find(d, base);
        if (f && f->typed && strcmp(f->type, "histogram") == 0) {
            *suffix = sfx[i];
            return f;
        }
    }
    return NULL;
}

static int prom_histogram_sample(struct prom_doc *d, struct prom_family *f,
                                 const struct prom_sample *s, const char *suffix,
                                 const char *line)
{
    double le;

    if (strcmp(suffix, "_sum") == 0) {
        f->has_sum = true;
        return 0;
    }
    if (strcmp(suffix, "_count") == 0) {
        f->has_count = true;
        f->count = s->value;
        return 0;
    }
    if (!s->le[0] || !prom_float(s->le, &le) || !(le > f->last_le) || f->has_inf ||
        s->value < f->last_bucket || f->has_sum || f->has_count) {
        snprintf(d->err, sizeof(d->err), "bad or non-cumulative bucket: %.300s", line);
        return -1;
    }
    f->last_le = le;
    f->last_bucket = s->value;
    if (isinf(le)) {
        f->has_inf = true;
        f->inf_count = s->value;
    }
    return 0;
}

static int prom_sample_line(struct prom_doc *d, const char *line)
{
    struct prom_sample *s;
    struct prom_family *f;
    const char *p = line, *suffix;
    size_t n = prom_name(p, true);

    if (d->n >= PROM_MAX_SAMPLES || n == 0 || n >= PROM_TEXT) {
        snprintf(d->err, sizeof(d->err), "bad sample: %.300s", line);
        return -1;
    }
    s = &d->s[d->n];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, p, n);
    p += n;
    if (*p == '{' && prom_labels(d, &p, s, line) < 0)
        return -1;
    if (*p != ' ' || !prom_float(p + 1, &s->value)) {
        snprintf(d->err, sizeof(d->err), "bad value: %.300s", line);
        return -1;
    }
    f = prom_owner(d, s, &suffix);
    if (!f) {
        snprintf(d->err, sizeof(d->err), "sample before its TYPE: %.300s", line);
        return -1;
    }
    if (prom_switch(d, f, line) < 0)
        return -1;
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->s[i].name, s->name) == 0 && strcmp(d->s[i].labels, s->labels) == 0) {
            snprintf(d->err, sizeof(d->err), "duplicate series: %.300s", line);
            return -1;
        }
    }
    if (strcmp(f->type, "histogram") == 0 && prom_histogram_sample(d, f, s, suffix, line) < 0)
        return -1;
    d->n++;
    return 0;
}

static int prom_parse(const char *text, struct prom_doc *d)
{
    const char *p = text;

    memset(d, 0, sizeof(*d));
    while (*p) {
        const char *nl = strchr(p, '\n');
        char line[2048];
        int r;

        if (!nl || (size_t)(nl - p) >= sizeof(line)) {
            snprintf(d->err, sizeof(d->err), "line not ended by a newline, or too long");
            return -1;
        }
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        p = nl + 1;
        if (line[0] == '\0')
            continue;
        r = line[0] == '#' ? prom_comment(d, line) : prom_sample_line(d, line);
        if (r < 0)
            return -1;
    }
    for (size_t i = 0; i < d->nf; i++) {
        struct prom_family *f = &d->f[i];
        if (!f->typed) {
            snprintf(d->err, sizeof(d->err), "family %.100s has no TYPE", f->name);
            return -1;
        }
        if (strcmp(f->type, "histogram") == 0 &&
            (!f->has_inf || !f->has_sum || !f->has_count || f->inf_count != f->count)) {
            snprintf(d->err, sizeof(d->err), "histogram %.100s: +Inf bucket, _sum, _count",
                     f->name);
            return -1;
        }
    }
    return 0;
}

/* The value of name{labels} (labels as prom_sample.labels, "" for none); NAN if absent. */
static double prom_value(const struct prom_doc *d, const char *name, const char *labels)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->s[i].name, name) == 0 && strcmp(d->s[i].labels, labels) == 0)
            return d->s[i].value;
    }
    return NAN;
}

/* The type of family name, or "" when absent. */
static const char *prom_type(const struct prom_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nf; i++) {
        if (strcmp(d->f[i].name, name) == 0)
            return d->f[i].type;
    }
    return "";
}

#endif
