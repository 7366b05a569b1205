/*
 * metrics.h - process-wide counters and histograms, and their rendering
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * A module that counts something defines one family as a global object
 * with a static initializer and bumps it; the /metrics handler
 * (api/metrics.h) renders every family it knows.  The registry lives in
 * base/ so that every room (net, store, engine) may count without an
 * arrow pointing up.
 *
 *   struct metric_counter http_requests =
 *       METRIC_COUNTER("tock_http_requests_total", "HTTP requests.", "route", "code");
 *   metric_counter_inc(&http_requests, "/healthz", "200");
 *
 * Labels.  A counter family has zero, one or two label names.  Each
 * distinct set of label values is one series; a family keeps at most
 * LIMIT_METRIC_SERIES of them, and values past that are counted in one
 * series whose every label is "other".  A value longer than
 * LIMIT_METRIC_LABEL_BYTES is cut (at a byte; callers pass short ASCII
 * names).  Callers keep their label sets small (fixed route tables, status
 * codes bucketed, see metric_code_label) so that the cap is a backstop.
 *
 * Histograms have no labels and fixed buckets (METRIC_BUCKETS_NS, 100 us
 * to 10 s), observed in nanoseconds and rendered in seconds.
 *
 * Threads: every function may be called from any thread at any time.
 * Bumping an existing series is lock-free (C11 atomics, relaxed); adding a
 * series takes the family's mutex once.  Rendering reads the atomics
 * without stopping writers: counts are each exact, a histogram's _count
 * is the sum of the buckets read (so +Inf always equals _count), and its
 * _sum may be a few observations ahead or behind.
 *
 * Errors: the render functions return 0, -E2BIG (the buffer's maximum)
 * or -ENOMEM, and may leave a partial family in the buffer on error.
 * Nothing here logs.
 */
#ifndef TOCK_BASE_METRICS_H
#define TOCK_BASE_METRICS_H

#include "base/compat.h"

#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "base/limits.h"

struct metric_series {
    char values[2][LIMIT_METRIC_LABEL_BYTES + 1];
    atomic_uint_fast64_t count;
};

struct metric_counter {
    const char *name;      /* e.g. "tock_http_requests_total" */
    const char *help;
    const char *labels[2]; /* label names; NULL when unused (labels[0] NULL: no labels) */
    pthread_mutex_t lock;  /* held only while a series is added */
    atomic_size_t n;       /* series published in s[] */
    struct metric_series s[LIMIT_METRIC_SERIES];
    struct metric_series other; /* past the cap (and the only series without labels) */
};

#define METRIC_COUNTER(n_, h_, l1_, l2_)                                            \
    {                                                                               \
        .name = (n_), .help = (h_), .labels = {(l1_), (l2_)},                       \
        .lock = PTHREAD_MUTEX_INITIALIZER,                                          \
    }

/* Bucket upper bounds of every histogram, in nanoseconds (+Inf is implicit). */
#define METRIC_N_BUCKETS 14
extern const int64_t METRIC_BUCKETS_NS[METRIC_N_BUCKETS];

struct metric_histogram {
    const char *name; /* e.g. "tock_store_transaction_seconds" */
    const char *help;
    /* per bucket, not cumulative; the last one is +Inf */
    atomic_uint_fast64_t buckets[METRIC_N_BUCKETS + 1];
    atomic_uint_fast64_t sum_ns;
};

#define METRIC_HISTOGRAM(n_, h_) {.name = (n_), .help = (h_)}

/*
 * Adds n to the series of (v1, v2); pass NULL for unused labels (NULL for
 * a used one counts as "").
 */
void metric_counter_add(struct metric_counter *m, const char *v1, const char *v2, uint64_t n);

static inline void metric_counter_inc(struct metric_counter *m, const char *v1, const char *v2)
{
    metric_counter_add(m, v1, v2, 1);
}

/*
 * Transactional counting.  metric_counter_add_pending queues an add on
 * the calling thread; metric_pending_commit applies the thread's queue and
 * metric_pending_discard drops it.  store/store.c calls them when the
 * thread's store transaction commits or rolls back (a thread holds at most
 * one), so a count made inside a transaction lands if and only if the
 * transaction does.  Adds to the same series are merged; past
 * METRIC_PENDING_MAX distinct series queued, an add is applied at once.
 */
#define METRIC_PENDING_MAX 16
void metric_counter_add_pending(struct metric_counter *m, const char *v1, const char *v2,
                                uint64_t n);
void metric_pending_commit(void);
void metric_pending_discard(void);

/*
 * The current value of the series (v1, v2) (0 when it was never bumped;
 * the "other" series when v1 is "other").  For tests and gauges of counts.
 */
uint64_t metric_counter_get(struct metric_counter *m, const char *v1, const char *v2);

/* Records one observation of ns nanoseconds (negative counts as 0). */
void metric_histogram_observe_ns(struct metric_histogram *h, int64_t ns);

/* The number of observations so far. */
uint64_t metric_histogram_count(struct metric_histogram *h);

/*
 * The label of an HTTP status: its exact value for the codes tock sends
 * or expects (200, 204, 302, 304, 400, 401, 403, 404, 405, 409, 413, 429,
 * 431, 500, 502, 503, 504), otherwise its class ("2xx" ... "5xx"), and
 * "other" outside 100..599.  out must hold 8 bytes.
 */
void metric_code_label(int status, char out[8]);

/* "# HELP", "# TYPE counter" and one line per series. */
int metric_counter_render(struct buf *out, struct metric_counter *m);

/* "# HELP", "# TYPE histogram", cumulative _bucket lines, _sum and _count. */
int metric_histogram_render(struct buf *out, struct metric_histogram *h);

/*
 * A gauge family: "# HELP", "# TYPE gauge" and n samples.  label NULL:
 * one sample values[0] without labels (n must be 1); otherwise sample i
 * has label="label_values[i]".  Values must be finite.
 */
int metric_gauge_render(struct buf *out, const char *name, const char *help, const char *label,
                        const char *const *label_values, const double *values, size_t n);

/* Appends v escaped as a label value (backslash, double quote, newline). */
int metric_escape_label(struct buf *out, const char *v);

#endif
