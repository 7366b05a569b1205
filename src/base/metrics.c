/*
 * metrics.c - counters, histograms and the text format (contract in metrics.h).
 *
 * A counter family's series are published by bumping m->n (release) after
 * their label values are written, under m->lock; readers load m->n
 * (acquire) and scan the published prefix without the lock.  Series are
 * never removed.
 */
#include "base/compat.h"
#include "base/metrics.h"

#include <math.h>

const int64_t METRIC_BUCKETS_NS[METRIC_N_BUCKETS] = {
    100000,    250000,    500000,    1000000,    2500000,    5000000,    10000000,
    25000000,  50000000,  100000000, 250000000,  500000000,  1000000000, 10000000000,
};

static void copy_label(char dst[LIMIT_METRIC_LABEL_BYTES + 1], const char *v)
{
    snprintf(dst, LIMIT_METRIC_LABEL_BYTES + 1, "%s", v ? v : "");
}

static struct metric_series *series_find(struct metric_counter *m, const char *a, const char *b,
                                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->s[i].values[0], a) == 0 && strcmp(m->s[i].values[1], b) == 0)
            return &m->s[i];
    }
    return NULL;
}

/* The series of (v1, v2), added when missing and create is set; NULL when absent. */
static struct metric_series *series_of(struct metric_counter *m, const char *v1, const char *v2,
                                       bool create)
{
    char a[LIMIT_METRIC_LABEL_BYTES + 1], b[LIMIT_METRIC_LABEL_BYTES + 1];
    struct metric_series *s;
    size_t n;

    if (!m->labels[0])
        return &m->other;
    copy_label(a, v1);
    copy_label(b, m->labels[1] ? v2 : "");
    if (strcmp(a, "other") == 0)
        return &m->other;
    n = atomic_load_explicit(&m->n, memory_order_acquire);
    s = series_find(m, a, b, n);
    if (s || !create)
        return s;
    pthread_mutex_lock(&m->lock);
    n = atomic_load_explicit(&m->n, memory_order_relaxed);
    s = series_find(m, a, b, n);
    if (!s && n < LIMIT_METRIC_SERIES) {
        s = &m->s[n];
        memcpy(s->values[0], a, sizeof(a));
        memcpy(s->values[1], b, sizeof(b));
        atomic_store_explicit(&s->count, 0, memory_order_relaxed);
        atomic_store_explicit(&m->n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
    return s ? s : &m->other;
}

void metric_counter_add(struct metric_counter *m, const char *v1, const char *v2, uint64_t n)
{
    struct metric_series *s = series_of(m, v1, v2, true);

    atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

struct pending_add {
    struct metric_counter *m;
    char v1[LIMIT_METRIC_LABEL_BYTES + 1], v2[LIMIT_METRIC_LABEL_BYTES + 1];
    uint64_t n;
};

static _Thread_local struct pending_add pending[METRIC_PENDING_MAX];
static _Thread_local size_t n_pending;

void metric_counter_add_pending(struct metric_counter *m, const char *v1, const char *v2,
                                uint64_t n)
{
    char a[LIMIT_METRIC_LABEL_BYTES + 1], b[LIMIT_METRIC_LABEL_BYTES + 1];

    copy_label(a, v1);
    copy_label(b, v2);
    for (size_t i = 0; i < n_pending; i++) {
        if (pending[i].m == m && strcmp(pending[i].v1, a) == 0 &&
            strcmp(pending[i].v2, b) == 0) {
            pending[i].n += n;
            return;
        }
    }
    if (n_pending >= METRIC_PENDING_MAX) {
        metric_counter_add(m, a, b, n);
        return;
    }
    pending[n_pending].m = m;
    memcpy(pending[n_pending].v1, a, sizeof(a));
    memcpy(pending[n_pending].v2, b, sizeof(b));
    pending[n_pending].n = n;
    n_pending++;
}

void metric_pending_commit(void)
{
    for (size_t i = 0; i < n_pending; i++)
        metric_counter_add(pending[i].m, pending[i].v1, pending[i].v2, pending[i].n);
    n_pending = 0;
}

void metric_pending_discard(void)
{
    n_pending = 0;
}

uint64_t metric_counter_get(struct metric_counter *m, const char *v1, const char *v2)
{
    struct metric_series *s = series_of(m, v1, v2, false);

    return s ? atomic_load_explicit(&s->count, memory_order_relaxed) : 0;
}

void metric_histogram_observe_ns(struct metric_histogram *h, int64_t ns)
{
    size_t i = 0;

    if (ns < 0)
        ns = 0;
    while (i < METRIC_N_BUCKETS && ns > METRIC_BUCKETS_NS[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint_fast64_t)ns, memory_order_relaxed);
}

uint64_t metric_histogram_count(struct metric_histogram *h)
{
    uint64_t n = 0;

    for (size_t i = 0; i <= METRIC_N_BUCKETS; i++)
        n += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    return n;
}

void metric_code_label(int status, char out[8])
{
    static const int exact[] = {200, 204, 302, 304, 400, 401, 403, 404, 405,
                                409, 413, 429, 431, 500, 502, 503, 504};

    for (size_t i = 0; i < ARRAY_SIZE(exact); i++) {
        if (exact[i] == status) {
            snprintf(out, 8, "%d", status);
            return;
        }
    }
    if (status >= 100 && status <= 599)
        snprintf(out, 8, "%dxx", status / 100);
    else
        snprintf(out, 8, "other");
}

/* ---------------------------------------------------------------------------
 * Rendering
 */

int metric_escape_label(struct buf *out, const char *v)
{
    int r = 0;

    for (const char *p = v; *p && r == 0; p++) {
        if (*p == '\\')
            r = buf_puts(out, "\\\\");
        else if (*p == '"')
            r = buf_puts(out, "\\\"");
        else if (*p == '\n')
            r = buf_puts(out, "\\n");
        else
            r = buf_putc(out, *p);
    }
    return r;
}

/* "# HELP name help" (backslash and newline escaped) and "# TYPE name type". */
static int render_header(struct buf *out, const char *name, const char *help, const char *type)
{
    int r = buf_printf(out, "# HELP %s ", name);

    for (const char *p = help; *p && r == 0; p++) {
        if (*p == '\\')
            r = buf_puts(out, "\\\\");
        else if (*p == '\n')
            r = buf_puts(out, "\\n");
        else
            r = buf_putc(out, *p);
    }
    if (r == 0)
        r = buf_printf(out, "\n# TYPE %s %s\n", name, type);
    return r;
}

/* One counter sample: name{l0="v0",l1="v1"} count. */
static int render_series(struct buf *out, const struct metric_counter *m, const char *v0,
                         const char *v1, uint64_t count)
{
    int r = buf_puts(out, m->name);

    for (size_t i = 0; i < 2 && m->labels[i] && r == 0; i++) {
        r = buf_printf(out, "%s%s=\"", i == 0 ? "{" : ",", m->labels[i]);
        if (r == 0)
            r = metric_escape_label(out, i == 0 ? v0 : v1);
        if (r == 0)
            r = buf_putc(out, '"');
    }
    if (r == 0 && m->labels[0])
        r = buf_putc(out, '}');
    if (r == 0)
        r = buf_printf(out, " %" PRIu64 "\n", count);
    return r;
}

int metric_counter_render(struct buf *out, struct metric_counter *m)
{
    size_t n = atomic_load_explicit(&m->n, memory_order_acquire);
    uint64_t other = atomic_load_explicit(&m->other.count, memory_order_relaxed);
    int r = render_header(out, m->name, m->help, "counter");

    for (size_t i = 0; i < n && r == 0; i++)
        r = render_series(out, m, m->s[i].values[0], m->s[i].values[1],
                          atomic_load_explicit(&m->s[i].count, memory_order_relaxed));
    if (r == 0 && (!m->labels[0] || other > 0))
        r = render_series(out, m, "other", "other", other);
    return r;
}

int metric_histogram_render(struct buf *out, struct metric_histogram *h)
{
    uint64_t cum = 0;
    int r = render_header(out, h->name, h->help, "histogram");

    for (size_t i = 0; i <= METRIC_N_BUCKETS && r == 0; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < METRIC_N_BUCKETS)
            r = buf_printf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", h->name,
                           (double)METRIC_BUCKETS_NS[i] / 1e9, cum);
        else
            r = buf_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", h->name, cum);
    }
    if (r == 0)
        r = buf_printf(out, "%s_sum %.9g\n%s_count %" PRIu64 "\n", h->name,
                       (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9,
                       h->name, cum);
    return r;
}

int metric_gauge_render(struct buf *out, const char *name, const char *help, const char *label,
                        const char *const *label_values, const double *values, size_t n)
{
    int r = render_header(out, name, help, "gauge");

    for (size_t i = 0; i < n && r == 0; i++) {
        double v = isfinite(values[i]) ? values[i] : 0;
        if (!label) {
            r = buf_printf(out, "%s %.9g\n", name, v);
            break;
        }
        r = buf_printf(out, "%s{%s=\"", name, label);
        if (r == 0)
            r = metric_escape_label(out, label_values[i]);
        if (r == 0)
            r = buf_printf(out, "\"} %.9g\n", v);
    }
    return r;
}
