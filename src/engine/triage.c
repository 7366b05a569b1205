/*
 * triage.c - the triage procedure (spec 3.8): the one place where a job's
 * pending triggers and finished invocations are consumed.
 *
 * Unlike LUCI, which prepares outside the transaction and then pops from
 * its dsset, the whole triage is one store transaction: the pending set
 * and the job row are read and written atomically, so there is no
 * "garbage" to clean and the counts in the log are always 0 garbage.  The
 * recently-finished set is not a separate structure: it is the active
 * invocations whose rows are final (the invocation save that finished
 * them also kicked this triage).
 */
#include "engine/engine-internal.h"

#include <stdarg.h>

#include "base/log.h"
#include "engine/debuglog.h"
#include "engine/policy.h"
#include "engine/request.h"
#include "engine/trigger.h"

struct triage {
    struct engine *e;
    struct triagelog tl;
    struct store_tx *tx;
    struct store_job *j;
    int64_t now;
    uint64_t n_started; /* invocations made in tx, counted once it commits */
};

static void tlog(struct triage *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tlog(struct triage *t, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    triagelog_append(&t->tl, engine__now(t->e), msg);
}

static void policy_log(void *ctx, const char *msg)
{
    tlog(ctx, "%s", msg);
}

/* Pops a pending trigger with a fate. */
static int pop_with_fate(struct triage *t, const struct trigger *trig, enum engine_fate fate,
                         int64_t inv_id, const char *reason)
{
    int r;

    if (!trig->id)
        return 0;
    r = store_trigger_pop(t->tx, t->j->id, trig->id, t->now);
    if (r < 0 && r != -ENOENT)
        return r;
    return engine__fate_decide(t->e, t->tx, t->j->id, trig->id, fate, inv_id, reason);
}

/* Loads pending triggers (at most limit), oldest first, into ret (appended). */
static int load_pending(struct triage *t, size_t limit, struct trigger_vec *ret)
{
    struct store_trigger *v = NULL;
    size_t n = 0;
    int r;

    r = store_trigger_list(t->tx, t->j->id, limit, &v, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct trigger one;
        r = trigger_from_row(v[i].json, v[i].trigger_id, v[i].created, v[i].order, &one);
        if (r == 0 && (r = trigger_vec_push(ret, &one, SIZE_MAX)) < 0)
            trigger_release(&one);
    }
    store_triggers_free(v, n);
    return r;
}

/* What the triage learns of one active invocation. */
struct active_status {
    int64_t id;
    bool found, final;
};

struct active_statuses {
    struct active_status *v; /* sorted by id */
    size_t n;
};

static int cmp_active_status(const void *a, const void *b)
{
    int64_t x = ((const struct active_status *)a)->id, y = ((const struct active_status *)b)->id;
    return (x > y) - (x < y);
}

/* store_inv_statuses' fn: marks the row found, final or not. */
static void on_active_status(void *ctx, int64_t id, const char *status)
{
    struct active_statuses *a = ctx;
    struct active_status key = {.id = id}, *s;
    int st = inv_status_from_name(status);

    s = bsearch(&key, a->v, a->n, sizeof(*a->v), cmp_active_status);
    if (s) {
        s->found = true;
        s->final = st >= 0 && inv_status_is_final((enum inv_status)st);
    }
}

/*
 * The statuses of the ids in the JSON array active, one statement a
 * LIMIT_STORE_PAGE of them (not each whole row).  Free a->v.
 */
static int load_active_statuses(struct triage *t, const json_t *active, struct active_statuses *a)
{
    size_t n = json_array_size(active), i;
    int64_t *ids = calloc(n + 1, sizeof(*ids));
    json_t *v;
    int r = 0;

    a->v = calloc(n + 1, sizeof(*a->v));
    a->n = n;
    if (!ids || !a->v) {
        free(ids);
        return -ENOMEM;
    }
    json_array_foreach(active, i, v)
        a->v[i].id = engine__json_id(v);
    sort_array(a->v, n, sizeof(*a->v), cmp_active_status);
    a->n = 0; /* each id once: bsearch must find the one the statuses mark */
    for (i = 0; i < n; i++)
        if (a->n == 0 || a->v[a->n - 1].id != a->v[i].id)
            a->v[a->n++] = a->v[i];
    n = a->n;
    for (i = 0; i < n; i++)
        ids[i] = a->v[i].id;
    for (i = 0; r == 0 && i < n; i += LIMIT_STORE_PAGE)
        r = store_inv_statuses(t->tx, ids + i, n - i < LIMIT_STORE_PAGE ? n - i : LIMIT_STORE_PAGE,
                               on_active_status, a);
    free(ids);
    return r;
}

/* Tidies ActiveInvocations (spec 3.8 step 2a). */
static int tidy_active(struct triage *t, size_t *ret_finished_set)
{
    json_t *active = engine__json_parse(t->j->active_json, 1);
    json_t *finished = engine__json_parse(t->j->finished_json, 1);
    json_t *still = json_array(), *kept = json_array();
    struct active_statuses a = {NULL, 0};
    size_t i, n_fin_set = 0;
    json_t *v;
    int r = -ENOMEM;

    if (!active || !finished || !still || !kept)
        goto out;
    if ((r = load_active_statuses(t, active, &a)) < 0)
        goto out;
    json_array_foreach(finished, i, v) {
        int64_t f = json_integer_value(json_object_get(v, "finished"));
        if (t->now - f < ENGINE_FINISHED_HORIZON_NS)
            json_array_append(kept, v);
    }
    json_array_foreach(active, i, v) {
        struct active_status key = {.id = engine__json_id(v)}, *s;
        int64_t id = key.id;

        s = bsearch(&key, a.v, a.n, sizeof(*a.v), cmp_active_status);
        if (!s || !s->found) {
            /* Never created (cannot happen with one transaction): forget it. */
            continue;
        }
        if (s->final) {
            n_fin_set++;
            tlog(t, "Invocation %" PRId64 " is acknowledged as finished", id);
            json_array_append_new(kept, json_pack("{s:s, s:I}", "id", json_string_value(v),
                                                  "finished", (json_int_t)t->now));
        } else {
            json_array_append(still, v);
        }
    }
    if ((r = engine__json_set(&t->j->active_json, still)) < 0 ||
        (r = engine__json_set(&t->j->finished_json, kept)) < 0)
        goto out;
    *ret_finished_set = n_fin_set;
    r = 0;
out:
    json_decref(active);
    json_decref(finished);
    json_decref(still);
    json_decref(kept);
    free(a.v);
    return r;
}

static int drop_all(struct triage *t, const struct trigger_vec *triggers, enum engine_fate fate,
                    const char *reason)
{
    for (size_t i = 0; i < triggers->n; i++) {
        int r = pop_with_fate(t, &triggers->v[i], fate, 0, reason);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The job's triggering policy; a bad one is logged and replaced by the default. */
static void load_policy(struct triage *t, struct policy_params *pp)
{
    struct cfg_policy cp;
    char err[256];

    policy_params_default(pp);
    if (engine__policy_from_json(t->j->policy_json, &cp) == 0 && cp.present &&
        policy_params_from_config(&cp, pp, err, sizeof(err)) < 0) {
        tlog(t,
             "Error: Failed to instantiate the triggering policy function, using the default "
             "policy instead - %s",
             err);
        policy_params_default(pp);
    }
}

/* Copies the request builder's messages to the triage log too, as LUCI does. */
static void tlog_lines(struct triage *t, const char *text)
{
    const char *line = text, *nl;

    while (line && *line) {
        nl = strchr(line, '\n');
        tlog(t, "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
        line = nl ? nl + 1 : NULL;
    }
}

/* Pops the triggers of one started invocation: the newest CONSUMED, the others MERGED. */
static int pop_batch(struct triage *t, const struct trigger *const *batch, size_t n,
                     int64_t inv_id)
{
    const char *newest_id = batch[n - 1]->id;
    int r = 0;

    for (size_t k = 0; k < n && r == 0; k++) {
        char reason[512];
        bool newest = k == n - 1;

        if (newest)
            snprintf(reason, sizeof(reason), "started invocation %" PRId64, inv_id);
        else
            snprintf(reason, sizeof(reason),
                     "batched into invocation %" PRId64 " with the newer trigger %s", inv_id,
                     newest_id ? newest_id : "?");
        r = pop_with_fate(t, batch[k], newest ? ENGINE_FATE_CONSUMED : ENGINE_FATE_MERGED, inv_id,
                          reason);
    }
    return r;
}

/* Starts the invocation of one policy request: builds it, creates it, pops its triggers. */
static int start_invocation(struct triage *t, const struct trigger_vec *triggers,
                            const struct policy_out *out, const struct policy_request *rq)
{
    const struct trigger **batch = calloc(rq->n ? rq->n : 1, sizeof(*batch));
    json_t *req = NULL;
    struct buf dbg;
    int64_t inv_id = 0;
    int r;

    if (!batch)
        return -ENOMEM;
    for (size_t k = 0; k < rq->n; k++)
        batch[k] = &triggers->v[out->idx[rq->first_idx_pos + k]];
    buf_init(&dbg, 1024 * 1024);
    json_t *task = engine__json_parse(t->j->task_json, 0);
    r = request_build(batch, rq->n, rq->triggered_by, request_era_of_task(task), &req, &dbg);
    json_decref(task);
    if (r == 0)
        tlog_lines(t, dbg.data);
    if (r == 0)
        r = engine__inv_create(t->e, t->tx, t->j, req, dbg.data, &inv_id);
    if (r == 0)
        t->n_started++;
    if (r == 0)
        r = pop_batch(t, batch, rq->n, inv_id);
    json_decref(req);
    buf_release(&dbg);
    free(batch);
    return r;
}

/* Pops the triggers the policy discarded: EXPIRED under NEWEST_FIRST, else DISCARDED. */
static int discard(struct triage *t, const struct policy_params *pp,
                   const struct trigger_vec *triggers, const struct policy_out *out)
{
    bool expired = pp->kind == CFG_POLICY_NEWEST_FIRST;
    char reason[256];

    if (expired) {
        char d[TIME_DURATION_MAX];
        time_format_duration(pp->pending_timeout_ns, d, sizeof(d));
        snprintf(reason, sizeof(reason), "pending longer than the NEWEST_FIRST pending_timeout %s",
                 d);
    } else {
        snprintf(reason, sizeof(reason), "discarded by the %s policy",
                 policy_kind_name(pp->kind));
    }
    for (size_t k = 0; k < out->n_discard; k++) {
        int r = pop_with_fate(t, &triggers->v[out->discard[k]],
                              expired ? ENGINE_FATE_EXPIRED : ENGINE_FATE_DISCARDED, 0, reason);
        if (r < 0)
            return r;
    }
    if (out->n_discard > 0)
        tlog(t, "%zu triggers discarded, according to policy", out->n_discard);
    return 0;
}

static int run_policy(struct triage *t, const struct trigger_vec *triggers)
{
    struct policy_params pp;
    struct policy_out out = {0};
    size_t consumed = 0;
    json_t *active = engine__json_parse(t->j->active_json, 1);
    int r;

    if (!active)
        return -ENOMEM;
    load_policy(t, &pp);
    tlog(t, "Invoking the triggering policy function");
    r = policy_run(&pp, t->now, json_array_size(active), triggers->v, triggers->n, &out,
                   policy_log, t);
    json_decref(active);
    if (r < 0) {
        tlog(t, "Error: the triggering policy failed - %s", strerror(-r));
        return r;
    }
    tlog(t, "The policy requested %zu new invocations", out.n_requests);
    for (size_t q = 0; q < out.n_requests && r == 0; q++) {
        r = start_invocation(t, triggers, &out, &out.requests[q]);
        consumed += out.requests[q].n;
    }
    if (r == 0 && out.n_requests > 0)
        tlog(t, "New invocations enqueued, consumed %zu triggers", consumed);
    if (r == 0)
        r = discard(t, &pp, triggers, &out);
    policy_out_release(&out);
    return r;
}

/* Drops every pending trigger of an inactive job (disabled or paused). */
static int drop_inactive(struct triage *t, size_t count)
{
    struct trigger_vec triggers = {0};
    char reason[ENGINE_REASON_MAX + 256];
    enum engine_fate f;
    int r;

    if (t->j->enabled) {
        f = ENGINE_FATE_DROPPED_PAUSED;
        engine__paused_reason(t->j, reason, sizeof(reason));
    } else {
        f = ENGINE_FATE_DROPPED_DISABLED;
        snprintf(reason, sizeof(reason), "the job is disabled or removed from the config");
    }
    tlog(t, "The job is inactive, clearing the pending triggers queue");
    r = load_pending(t, count < LIMIT_STORE_ROWS ? count : LIMIT_STORE_ROWS, &triggers);
    if (r == 0)
        r = drop_all(t, &triggers, f, reason);
    trigger_vec_release(&triggers);
    return r;
}

/* Drops the oldest triggers beyond LIMIT_ENGINE_PENDING_TRIGGERS. */
static int drop_overflow(struct triage *t, size_t count)
{
    struct trigger_vec triggers = {0};
    size_t excess = count - LIMIT_ENGINE_PENDING_TRIGGERS;
    char reason[128];
    int r;

    if (excess > LIMIT_STORE_ROWS)
        excess = LIMIT_STORE_ROWS;
    tlog(t, "Error: Too many pending triggers (>%d), dropping %zu oldest",
         LIMIT_ENGINE_PENDING_TRIGGERS, excess);
    snprintf(reason, sizeof(reason), "more than %d triggers were pending",
             LIMIT_ENGINE_PENDING_TRIGGERS);
    r = load_pending(t, excess, &triggers);
    if (r == 0)
        r = drop_all(t, &triggers, ENGINE_FATE_DROPPED_OVERFLOW, reason);
    trigger_vec_release(&triggers);
    return r;
}

static int process_triggers(struct triage *t)
{
    struct trigger_vec triggers = {0};
    size_t count = 0;
    int r;

    r = store_trigger_count(t->tx, t->j->id, &count);
    if (r < 0)
        return r;
    tlog(t, "Triggers available in this txn: %zu", count);
    if (count > 0 && (!t->j->enabled || t->j->paused))
        return drop_inactive(t, count);
    if (count > LIMIT_ENGINE_PENDING_TRIGGERS && (r = drop_overflow(t, count)) < 0)
        return r;
    r = load_pending(t, LIMIT_ENGINE_PENDING_TRIGGERS, &triggers);
    if (r == 0)
        r = run_policy(t, &triggers);
    trigger_vec_release(&triggers);
    return r;
}

static int poke_cron(struct triage *t)
{
    struct cron_state cs;
    struct cron_actions acts = {.n = 0};
    struct cron_env env;
    struct schedule *sched = NULL;
    json_t *active = engine__json_parse(t->j->active_json, 1);
    size_t n_active = active ? json_array_size(active) : 1;
    int r = 0;

    json_decref(active);
    if (n_active > 0)
        return 0;
    tlog(t, "Poking the cron");
    if (engine__cron_load(t->j, &cs) < 0)
        cron_state_init(&cs);
    r = engine__cron_env(t->e, t->j, &env, &sched);
    if (r < 0)
        return r;
    cron_machine_rewind_if_necessary(&cs, &env, &acts);
    r = engine__cron_store(t->j, &cs);
    if (r == 0)
        r = engine__cron_actions(t->e, t->tx, t->j, &acts);
    schedule_free(sched);
    return r;
}

/* Active invocations whose rows are final (LUCI's recently-finished set). */
static size_t count_finished(struct triage *t)
{
    json_t *a = engine__json_parse(t->j->active_json, 1);
    size_t i, n = 0;
    json_t *v;

    json_array_foreach(a, i, v) {
        struct store_inv inv = {0};
        if (store_inv_get(t->tx, engine__json_id(v), &inv) == 0) {
            int st = inv_status_from_name(inv.status);
            if (st >= 0 && inv_status_is_final((enum inv_status)st))
                n++;
            store_inv_release(&inv);
        }
    }
    json_decref(a);
    return n;
}

static size_t json_column_size(const char *text)
{
    json_t *v = engine__json_parse(text, 1);
    size_t n = v ? json_array_size(v) : 0;

    json_decref(v);
    return n;
}

/* The triage of the job t->j in t->tx, down to deleting the task row. */
static int triage_job(struct triage *t, struct engine_task *task)
{
    size_t n_pending = 0, n_fin_set = 0;
    int r;

    r = store_trigger_count(t->tx, t->j->id, &n_pending);
    if (r < 0)
        return r;
    tlog(t, "Pending triggers set:  %zu items, 0 garbage", n_pending);
    tlog(t, "Recently finished set: %zu items, 0 garbage", count_finished(t));
    tlog(t, "The preparation is finished");
    tlog(t, "Started the transaction");
    r = tidy_active(t, &n_fin_set);
    if (r < 0)
        return r;
    tlog(t, "Number of active invocations: %zu", json_column_size(t->j->active_json));
    tlog(t, "Number of recently finished:  %zu", json_column_size(t->j->finished_json));
    if ((r = process_triggers(t)) < 0 || (r = poke_cron(t)) < 0)
        return r;
    tlog(t, "Removing consumed dsset items");
    t->j->last_triage = t->now;
    tlog(t, "Landing the transaction");
    tlog(t, "Done");
    if ((r = store_job_set_triage(t->tx, t->j)) < 0 ||
        (r = store_triage_log_put(t->tx, t->j->id, t->now, t->tl.text.data)) < 0)
        return r;
    return engine__tx_task_done(t->tx, task);
}

/* Best effort: keep the log of a failed triage, as LUCI does. */
static void keep_failed_log(struct triage *t, const char *job_id)
{
    struct store_tx *tx = NULL;

    if (!job_id || store_begin(t->e->store, &tx) < 0)
        return;
    if (store_triage_log_put(tx, job_id, t->now, t->tl.text.data) == 0)
        store_commit(tx);
    else
        store_rollback(tx);
}

int engine__handle_triage(struct engine *e, struct engine_task *task)
{
    struct triage t = {.e = e, .now = engine__now(e)};
    struct store_job j = {0};
    int r;

    triagelog_init(&t.tl, t.now);
    tlog(&t, "Starting");
    r = engine__task_begin(e, task, &t.tx);
    if (r < 0)
        goto failed;
    r = store_job_get(t.tx, task->row.job_id, &j);
    if (r == -ENOENT) {
        log_warn("engine", "%s: The job is unexpectedly gone", task->row.job_id);
        r = engine__tx_end(e, t.tx, task, engine__tx_task_done(t.tx, task));
        goto out;
    }
    if (r == 0) {
        t.j = &j;
        r = triage_job(&t, task);
    }
    if (r < 0)
        tlog(&t, "Error: The triage transaction FAILED - %s", strerror(-r));
    r = engine__tx_end(e, t.tx, task, r);
    if (r == 0 && t.n_started > 0)
        metric_counter_add(&engine_metric_inv_started, NULL, NULL, t.n_started);
    if (r == 0)
        goto out;
failed:
    keep_failed_log(&t, j.id);
    if (r != -ENOMEM)
        r = -EAGAIN;
out:
    triagelog_release(&t.tl);
    store_job_release(&j);
    return r;
}
