#include "engine/policy.h"

#include "base/time.h"

#include <math.h>
#include <stdarg.h>

void policy_params_default(struct policy_params *ret)
{
    *ret = (struct policy_params){
        .kind = CFG_POLICY_GREEDY_BATCHING,
        .max_concurrent = POLICY_DEFAULT_MAX_CONCURRENT,
        .max_batch = POLICY_DEFAULT_MAX_BATCH,
        .log_base = 0,
        .pending_timeout_ns = 0,
    };
}

const char *policy_kind_name(int32_t kind)
{
    switch (kind) {
    case CFG_POLICY_GREEDY_BATCHING:
        return "GREEDY_BATCHING";
    case CFG_POLICY_LOGARITHMIC_BATCHING:
        return "LOGARITHMIC_BATCHING";
    case CFG_POLICY_NEWEST_FIRST:
        return "NEWEST_FIRST";
    default:
        return "UNDEFINED";
    }
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* The checks LUCI's policy constructors make (after defaults). */
static int params_check(const struct policy_params *p, char *err, size_t errlen)
{
    switch (p->kind) {
    case CFG_POLICY_GREEDY_BATCHING:
    case CFG_POLICY_LOGARITHMIC_BATCHING:
        if (p->max_concurrent <= 0)
            return fail(err, errlen, "max_concurrent_invocations should be positive");
        if (p->max_batch <= 0)
            return fail(err, errlen, "max_batch_size should be positive");
        /*
         * LUCI compares the float32 field with 1.0001 as float32.  tock
         * also rejects NaN, which LUCI would let through to undefined
         * arithmetic.
         */
        if (p->kind == CFG_POLICY_LOGARITHMIC_BATCHING &&
            (isnan(p->log_base) || (float)p->log_base < POLICY_MIN_LOG_BASE))
            return fail(err, errlen, "log_base should be more or equal than 1.0001");
        return 0;
    case CFG_POLICY_NEWEST_FIRST:
        if (p->max_concurrent <= 0)
            return fail(err, errlen, "max_concurrent_invocations should be positive");
        if (p->pending_timeout_ns <= 0)
            return fail(err, errlen, "pending_timeout should be positive");
        return 0;
    default:
        return fail(err, errlen, "unrecognized policy kind %" PRId32, p->kind);
    }
}

int policy_params_from_config(const struct cfg_policy *raw, struct policy_params *ret,
                              char *err, size_t errlen)
{
    struct policy_params p;
    policy_params_default(&p);
    if (!raw || !raw->present) {
        *ret = p;
        return 0;
    }

    p.kind = raw->kind == CFG_POLICY_UNDEFINED ? CFG_POLICY_GREEDY_BATCHING : raw->kind;
    p.max_concurrent = raw->max_concurrent_invocations == 0 ? POLICY_DEFAULT_MAX_CONCURRENT
                                                            : raw->max_concurrent_invocations;
    p.max_batch = raw->max_batch_size == 0 ? POLICY_DEFAULT_MAX_BATCH : raw->max_batch_size;
    p.log_base = raw->log_base;
    p.pending_timeout_ns = raw->pending_timeout_ns;
    if (p.kind == CFG_POLICY_NEWEST_FIRST && p.pending_timeout_ns == 0)
        p.pending_timeout_ns = POLICY_DEFAULT_PENDING_TIMEOUT_NS;

    int r = params_check(&p, err, errlen);
    if (r < 0)
        return r;
    *ret = p;
    return 0;
}

void policy_out_release(struct policy_out *o)
{
    free(o->idx);
    free(o->requests);
    free(o->discard);
    *o = (struct policy_out){.idx = NULL};
}

static void logf_(void (*log)(void *, const char *), void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(void (*log)(void *, const char *), void *ctx, const char *fmt, ...)
{
    if (!log)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log(ctx, msg);
}

static void log_refusal(const struct policy_params *p, size_t n_active,
                        void (*log)(void *, const char *), void *ctx)
{
    logf_(log, ctx,
          "Max concurrent invocations is %" PRId64
          " and there's %zu running => refusing to launch more",
          p->max_concurrent, n_active);
}

/* How many of the n oldest pending triggers the next batch should take. */
static size_t reduce(const struct policy_params *p, size_t n)
{
    if (p->kind == CFG_POLICY_GREEDY_BATCHING)
        return n;
    /* LOGARITHMIC_BATCHING: floor(log_base(n)), at least 1, at most n. */
    double k = floor(log((double)n) / log(p->log_base));
    if (!(k >= 1))
        return 1; /* also NaN */
    if (k >= (double)n)
        return n;
    return (size_t)k;
}

/* The identity shared by all triggers in [from, from + n), or NULL. */
static const char *common_user(const struct trigger *t, size_t from, size_t n)
{
    const char *u = t[from].emitted_by_user ? t[from].emitted_by_user : "";
    for (size_t i = from + 1; i < from + n; i++) {
        const char *v = t[i].emitted_by_user ? t[i].emitted_by_user : "";
        if (strcmp(u, v) != 0)
            return NULL;
    }
    return u;
}

static void add_request(struct policy_out *o, size_t from, size_t n, const char *triggered_by)
{
    o->requests[o->n_requests++] = (struct policy_request){
        .first_idx_pos = o->n_idx,
        .n = n,
        .triggered_by = triggered_by,
    };
    for (size_t i = from; i < from + n; i++)
        o->idx[o->n_idx++] = i;
}

static void run_batching(const struct policy_params *p, size_t n_active,
                         const struct trigger *t, size_t n, struct policy_out *o,
                         void (*log)(void *, const char *), void *log_ctx)
{
    if (n == 0)
        return;
    int64_t slots = p->max_concurrent - (int64_t)n_active;
    if (n_active > (size_t)INT64_MAX || slots <= 0) {
        log_refusal(p, n_active, log, log_ctx);
        return;
    }
    size_t pos = 0;
    /* Bounded: every round consumes at least one trigger. */
    while (slots > 0 && pos < n) {
        size_t k = reduce(p, n - pos);
        if (k == 0)
            break;
        if ((uint64_t)k > (uint64_t)p->max_batch)
            k = (size_t)p->max_batch;
        add_request(o, pos, k, common_user(t, pos, k));
        pos += k;
        slots--;
    }
}

/* now - created >= timeout, without overflowing for extreme instants. */
static bool expired(int64_t now_ns, int64_t created_ns, int64_t timeout_ns)
{
    if (created_ns > now_ns)
        return false;
    uint64_t age = (uint64_t)now_ns - (uint64_t)created_ns;
    return age >= (uint64_t)timeout_ns;
}

static void run_newest_first(const struct policy_params *p, int64_t now_ns, size_t n_active,
                             const struct trigger *t, size_t n, struct policy_out *o,
                             void (*log)(void *, const char *), void *log_ctx)
{
    size_t first = 0;
    while (first < n && expired(now_ns, t[first].created, p->pending_timeout_ns))
        o->discard[o->n_discard++] = first++;

    size_t candidates = n - first;
    if (candidates == 0)
        return;
    int64_t slots = p->max_concurrent - (int64_t)n_active;
    if (n_active > (size_t)INT64_MAX || slots <= 0) {
        log_refusal(p, n_active, log, log_ctx);
        return;
    }
    /* The newest `slots` candidates, one invocation each, newest first. */
    size_t take = (uint64_t)slots < (uint64_t)candidates ? (size_t)slots : candidates;
    for (size_t i = 0; i < take; i++) {
        size_t at = n - 1 - i;
        const char *u = t[at].emitted_by_user ? t[at].emitted_by_user : "";
        add_request(o, at, 1, u);
    }
}

int policy_run(const struct policy_params *p, int64_t now_ns, size_t n_active,
               const struct trigger *triggers, size_t n_triggers, struct policy_out *out,
               void (*log)(void *ctx, const char *msg), void *log_ctx)
{
    struct policy_out o = {.idx = NULL};
    int r = params_check(p, NULL, 0);
    if (r < 0)
        return r;
    if (n_triggers > POLICY_MAX_TRIGGERS)
        return -E2BIG;
    for (size_t i = 1; i < n_triggers; i++) {
        if (trigger_compare(&triggers[i - 1], &triggers[i]) > 0)
            return -EINVAL;
    }

    size_t cap = n_triggers ? n_triggers : 1;
    o.idx = calloc(cap, sizeof(*o.idx));
    o.requests = calloc(cap, sizeof(*o.requests));
    o.discard = calloc(cap, sizeof(*o.discard));
    if (!o.idx || !o.requests || !o.discard) {
        r = -ENOMEM;
        goto out;
    }

    if (p->kind == CFG_POLICY_NEWEST_FIRST)
        run_newest_first(p, now_ns, n_active, triggers, n_triggers, &o, log, log_ctx);
    else
        run_batching(p, n_active, triggers, n_triggers, &o, log, log_ctx);

    *out = o;
    o = (struct policy_out){.idx = NULL};
out:
    policy_out_release(&o);
    return r;
}
