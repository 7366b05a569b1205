/*
 * store.c - opening a store by URL and the argument-checking wrappers
 * around the back end's ops (rows.c has the row release functions).
 */
#include "store/store.h"

#include "store/postgres.h"
#include "store/sqlite.h"

#include <time.h>

#include "base/clock.h"
#include "base/metrics.h"

struct metric_histogram store_metric_tx_seconds = METRIC_HISTOGRAM(
    "tock_store_transaction_seconds",
    "Store transactions: from the call of store_begin (waiting for the store "
    "included) to the end of their commit or rollback.");

/* When this thread's transaction began (a thread holds at most one). */
static _Thread_local int64_t tx_began_ns;

static void tx_observe(void)
{
    if (tx_began_ns)
        metric_histogram_observe_ns(&store_metric_tx_seconds, clock_mono_ns() - tx_began_ns);
    tx_began_ns = 0;
}

static const struct store_ops *const store_backends[] = {
    &store_sqlite_ops,
    &store_postgres_ops,
    &store_postgresql_ops,
};

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

int store_open(const char *url, struct store **ret, char *err, size_t errlen)
{
    const char *colon;
    size_t scheme_len;

    if (!url || !ret) {
        set_err(err, errlen, "no store URL");
        return -EINVAL;
    }
    if (strnlen(url, LIMIT_STORE_URL + 1) > LIMIT_STORE_URL) {
        set_err(err, errlen, "the store URL is too long");
        return -EINVAL;
    }
    colon = strchr(url, ':');
    if (!colon || colon == url) {
        set_err(err, errlen, "a store URL looks like sqlite:PATH or postgres://...");
        return -EINVAL;
    }
    scheme_len = (size_t)(colon - url);
    for (size_t i = 0; i < ARRAY_SIZE(store_backends); i++) {
        const struct store_ops *ops = store_backends[i];
        if (strlen(ops->scheme) == scheme_len && memcmp(ops->scheme, url, scheme_len) == 0)
            return ops->open(colon + 1, ret, err, errlen);
    }
    if (err && errlen > 0)
        snprintf(err, errlen, "unknown store kind \"%.*s\" (known: sqlite, postgres, postgresql)", (int)scheme_len,
                 url);
    return -EINVAL;
}

struct store *store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
    return NULL;
}

const char *store_errmsg(struct store *s)
{
    return s ? s->ops->errmsg(s) : "";
}

/*
 * A transaction handle starts with a pointer to its store in every back
 * end, so the wrappers can find the ops table.
 */
struct store_tx_head {
    struct store *s;
};

static const struct store_ops *txops(struct store_tx *tx)
{
    return ((struct store_tx_head *)tx)->s->ops;
}

static _Thread_local uint64_t tl_conflicts;

/* Counts r if it is a conflict; returns r. */
static int conflict_seen(int r)
{
    if (r == -EAGAIN)
        tl_conflicts++;
    return r;
}

uint64_t store_thread_conflicts(void)
{
    return tl_conflicts;
}

int store_begin(struct store *s, struct store_tx **ret)
{
    int64_t t0 = clock_mono_ns();
    int r;

    if (!s || !ret)
        return -EINVAL;
    r = conflict_seen(s->ops->begin(s, ret));
    if (r == 0)
        tx_began_ns = t0;
    return r;
}

/* After a commit (r its result): the transaction's time, and its held counts applied or dropped. */
static int tx_ended(int r)
{
    tx_observe();
    if (r == 0)
        metric_pending_commit();
    else
        metric_pending_discard();
    return r;
}

int store_commit(struct store_tx *tx)
{
    return tx ? tx_ended(conflict_seen(txops(tx)->commit(tx))) : -EINVAL;
}

/* Counted as committed: the step is visible now, and the counters die with a crash too. */
int store_commit_lazy(struct store_tx *tx)
{
    return tx ? tx_ended(conflict_seen(txops(tx)->commit_lazy(tx))) : -EINVAL;
}

void store_rollback(struct store_tx *tx)
{
    if (!tx)
        return;
    if (txops(tx)->tx_conflicted && txops(tx)->tx_conflicted(tx))
        tl_conflicts++;
    txops(tx)->rollback(tx);
    tx_observe();
    metric_pending_discard();
}

int store_sync(struct store *s)
{
    if (!s)
        return -EINVAL;
    return s->ops->sync(s);
}

void store_stats(struct store *s, struct store_stats *ret)
{
    *ret = (struct store_stats){0};
    if (s)
        s->ops->stats(s, ret);
}

int store_watch(struct store *s, store_notice_fn fn, void *ctx)
{
    if (!s || !fn)
        return -EINVAL;
    return s->ops->watch ? s->ops->watch(s, fn, ctx) : -ENOTSUP;
}

void store_unwatch(struct store *s)
{
    if (s && s->ops->unwatch)
        s->ops->unwatch(s);
}

#define CHECK(cond)         \
    do {                    \
        if (!(cond))        \
            return -EINVAL; \
    } while (0)

int store_project_get(struct store_tx *tx, const char *id, struct store_project *ret)
{
    CHECK(tx && id && ret);
    return txops(tx)->project_get(tx, id, ret);
}

int store_project_put(struct store_tx *tx, const struct store_project *p)
{
    CHECK(tx && p && p->id);
    return txops(tx)->project_put(tx, p);
}

int store_project_list(struct store_tx *tx, char ***ret, size_t *n)
{
    CHECK(tx && ret && n);
    return txops(tx)->project_list(tx, ret, n);
}

int store_job_get(struct store_tx *tx, const char *id, struct store_job *ret)
{
    CHECK(tx && id && ret);
    return txops(tx)->job_get(tx, id, ret);
}

int store_job_put(struct store_tx *tx, const struct store_job *j)
{
    CHECK(tx && j && j->id);
    return txops(tx)->job_put(tx, j);
}

int store_job_set_cron(struct store_tx *tx, const char *id, const char *cron_json)
{
    CHECK(tx && id && id[0]);
    if (cron_json && strnlen(cron_json, LIMIT_STORE_TEXT + 1) > LIMIT_STORE_TEXT)
        return -E2BIG;
    return txops(tx)->job_set_cron(tx, id, cron_json ? cron_json : "");
}

static bool text_fits(const char *s);

int store_job_set_triage(struct store_tx *tx, const struct store_job *j)
{
    CHECK(tx && j && j->id && j->id[0]);
    if (!text_fits(j->cron_json) || !text_fits(j->active_json) || !text_fits(j->finished_json))
        return -E2BIG;
    return txops(tx)->job_set_triage(tx, j);
}

int store_inv_statuses(struct store_tx *tx, const int64_t *ids, size_t n,
                       void (*fn)(void *ctx, int64_t id, const char *status), void *ctx)
{
    CHECK(tx && ids && fn && n >= 1 && n <= LIMIT_STORE_PAGE);
    return txops(tx)->inv_statuses(tx, ids, n, fn, ctx);
}

int store_job_list(struct store_tx *tx, const char *project, bool enabled_only,
                   struct store_job **ret, size_t *n)
{
    CHECK(tx && ret && n);
    return txops(tx)->job_list(tx, project, enabled_only, ret, n);
}

int store_job_page(struct store_tx *tx, const char *project, const char *realm_id,
                   const char *after_name, size_t limit, struct store_job **ret, size_t *n)
{
    CHECK(tx && project && ret && n && limit >= 1 && limit <= LIMIT_STORE_PAGE);
    return txops(tx)->job_page(tx, project, realm_id, after_name ? after_name : "", limit, ret,
                               n);
}

int store_job_realms(struct store_tx *tx, const char *project, size_t limit, char ***ret,
                     size_t *n)
{
    CHECK(tx && project && ret && n && limit >= 1 && limit <= LIMIT_STORE_PAGE);
    return txops(tx)->job_realms(tx, project, limit, ret, n);
}

int store_job_page_by_id(struct store_tx *tx, const char *project, const char *after_id,
                         size_t limit, struct store_job **ret, size_t *n)
{
    CHECK(tx && (!project || *project) && ret && n && limit >= 1 && limit <= LIMIT_STORE_PAGE);
    return txops(tx)->job_page_by_id(tx, project, after_id ? after_id : "", limit, ret, n);
}

int store_inv_get(struct store_tx *tx, int64_t id, struct store_inv *ret)
{
    CHECK(tx && ret);
    return txops(tx)->inv_get(tx, id, ret);
}

int store_inv_insert(struct store_tx *tx, const struct store_inv *v)
{
    CHECK(tx && v && v->id > 0 && v->job_id);
    return txops(tx)->inv_insert(tx, v);
}

int store_inv_update(struct store_tx *tx, const struct store_inv *v, int64_t expected_mutations)
{
    CHECK(tx && v && v->id > 0);
    return txops(tx)->inv_update(tx, v, expected_mutations);
}

int store_inv_set_aborted_by(struct store_tx *tx, int64_t id, const char *who)
{
    CHECK(tx && who);
    return txops(tx)->inv_set_aborted_by(tx, id, who);
}

int store_inv_list(struct store_tx *tx, const char *job_id, int64_t after_id, size_t limit,
                   struct store_inv **ret, size_t *n)
{
    CHECK(tx && job_id && ret && n && limit <= LIMIT_STORE_ROWS);
    return txops(tx)->inv_list(tx, job_id, after_id, limit, ret, n);
}

int store_inv_ids_project(struct store_tx *tx, const char *project, int64_t max_id, size_t limit,
                          void (*fn)(void *ctx, const char *job_id, int64_t id), void *ctx)
{
    CHECK(tx && project && fn && limit <= LIMIT_STORE_ROWS);
    return txops(tx)->inv_ids_project(tx, project, max_id, limit, fn, ctx);
}

int store_trigger_add(struct store_tx *tx, const struct store_trigger *t, int64_t now,
                      int64_t dedup_window)
{
    CHECK(tx && t && t->job_id && t->trigger_id && t->trigger_id[0]);
    return txops(tx)->trigger_add(tx, t, now, dedup_window);
}

int store_trigger_list(struct store_tx *tx, const char *job_id, size_t limit,
                       struct store_trigger **ret, size_t *n)
{
    CHECK(tx && job_id && ret && n && limit <= LIMIT_STORE_ROWS);
    return txops(tx)->trigger_list(tx, job_id, limit, ret, n);
}

int store_trigger_count(struct store_tx *tx, const char *job_id, size_t *ret)
{
    CHECK(tx && job_id && ret);
    return txops(tx)->trigger_count(tx, job_id, ret);
}

int store_trigger_pop(struct store_tx *tx, const char *job_id, const char *trigger_id,
                      int64_t now)
{
    CHECK(tx && job_id && trigger_id);
    return txops(tx)->trigger_pop(tx, job_id, trigger_id, now);
}

int store_tombstone_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    CHECK(tx);
    return txops(tx)->tombstone_purge(tx, older_than, ret_n);
}

int store_task_enqueue(struct store_tx *tx, const struct store_task *t, int64_t *ret_id)
{
    CHECK(tx && t && t->kind && t->kind[0]);
    return txops(tx)->task_enqueue(tx, t, ret_id);
}

int store_task_lease(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                     struct store_task *ret)
{
    CHECK(tx && owner && owner[0] && lease_ns > 0 && ret);
    return txops(tx)->task_lease(tx, now, owner, lease_ns, ret);
}

int store_task_lease_id(struct store_tx *tx, int64_t id, int64_t now, const char *owner,
                        int64_t lease_ns, struct store_task *ret)
{
    CHECK(tx && owner && owner[0] && lease_ns > 0 && ret);
    return txops(tx)->task_lease_id(tx, id, now, owner, lease_ns, ret);
}

int store_task_lease_batch(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                           const char *const *kinds, size_t n_kinds, size_t max,
                           struct store_task **ret, size_t *n)
{
    CHECK(tx && owner && owner[0] && lease_ns > 0 && kinds && n_kinds >= 1 &&
          n_kinds <= STORE_LEASE_KINDS_MAX && max >= 1 && max <= LIMIT_STORE_LEASE_BATCH &&
          ret && n);
    for (size_t i = 0; i < n_kinds; i++)
        CHECK(kinds[i] && kinds[i][0]);
    return txops(tx)->task_lease_batch(tx, now, owner, lease_ns, kinds, n_kinds, max, ret, n);
}

int store_task_done(struct store_tx *tx, int64_t id, const char *owner)
{
    CHECK(tx && owner && owner[0]);
    return txops(tx)->task_done(tx, id, owner);
}

int store_task_rearm(struct store_tx *tx, int64_t id, const char *owner, int64_t due,
                     const char *payload_json, int64_t now)
{
    CHECK(tx && owner && owner[0]);
    if (payload_json && strnlen(payload_json, LIMIT_STORE_TEXT + 1) > LIMIT_STORE_TEXT)
        return -E2BIG;
    return txops(tx)->task_rearm(tx, id, owner, due, payload_json ? payload_json : "", now);
}

int store_task_retry(struct store_tx *tx, int64_t id, const char *owner, int64_t due)
{
    CHECK(tx && owner && owner[0]);
    return txops(tx)->task_retry(tx, id, owner, due);
}

int store_task_renew(struct store_tx *tx, const int64_t *ids, const char *const *owners,
                     size_t n, int64_t now, int64_t lease_ns, bool *renewed)
{
    CHECK(tx && ids && owners && renewed && n >= 1 && n <= LIMIT_STORE_RENEW && lease_ns > 0);
    for (size_t i = 0; i < n; i++)
        CHECK(owners[i] && owners[i][0]);
    if (!txops(tx)->task_renew)
        return -ENOTSUP;
    return txops(tx)->task_renew(tx, ids, owners, n, now, lease_ns, renewed);
}

int store_task_next_due(struct store_tx *tx, int64_t *ret)
{
    CHECK(tx && ret);
    return txops(tx)->task_next_due(tx, ret);
}

int store_task_count(struct store_tx *tx, const char *kind, size_t *ret)
{
    CHECK(tx && ret);
    return txops(tx)->task_count(tx, kind, ret);
}

int store_fate_insert(struct store_tx *tx, const struct store_fate *f, int64_t *ret_id)
{
    CHECK(tx && f && f->job_id && f->trigger_id && f->fate);
    return txops(tx)->fate_insert(tx, f, ret_id);
}

int store_fate_decide(struct store_tx *tx, const char *job_id, const char *trigger_id,
                      const char *fate, int64_t inv_id, const char *reason, int64_t now)
{
    CHECK(tx && job_id && trigger_id && fate);
    return txops(tx)->fate_decide(tx, job_id, trigger_id, fate, inv_id, reason ? reason : "",
                                  now);
}

int store_fate_list(struct store_tx *tx, const char *job_id, const char *trigger_id,
                    size_t limit, struct store_fate **ret, size_t *n)
{
    CHECK(tx && job_id && ret && n && limit <= LIMIT_STORE_ROWS);
    return txops(tx)->fate_list(tx, job_id, trigger_id, limit, ret, n);
}

int store_fate_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    CHECK(tx);
    return txops(tx)->fate_purge(tx, older_than, ret_n);
}

int store_triage_log_put(struct store_tx *tx, const char *job_id, int64_t when, const char *log)
{
    CHECK(tx && job_id && log);
    return txops(tx)->triage_log_put(tx, job_id, when, log);
}

int store_triage_log_get(struct store_tx *tx, const char *job_id, int64_t *ret_when,
                         char **ret_log)
{
    CHECK(tx && job_id && ret_when && ret_log);
    return txops(tx)->triage_log_get(tx, job_id, ret_when, ret_log);
}

static bool text_fits(const char *s)
{
    return !s || strnlen(s, LIMIT_STORE_TEXT + 1) <= LIMIT_STORE_TEXT;
}

int store_secret_get(struct store_tx *tx, const char *name, struct store_secret *ret)
{
    CHECK(tx && name && ret);
    return txops(tx)->secret_get(tx, name, ret);
}

int store_secret_put(struct store_tx *tx, const struct store_secret *s)
{
    CHECK(tx && s && s->name && s->name[0]);
    if (!text_fits(s->name) || !text_fits(s->current) || !text_fits(s->previous))
        return -E2BIG;
    return txops(tx)->secret_put(tx, s);
}

int store_job_state_get(struct store_tx *tx, const char *job_id, char **ret)
{
    CHECK(tx && job_id && ret);
    return txops(tx)->job_state_get(tx, job_id, ret);
}

int store_job_state_put(struct store_tx *tx, const char *job_id, const char *text)
{
    CHECK(tx && job_id && text);
    if (!text_fits(text))
        return -E2BIG;
    return txops(tx)->job_state_put(tx, job_id, text);
}
