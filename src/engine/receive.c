/*
 * receive.c - receiving triggers (spec 3.7): engine_emit_triggers and the
 * web UI's engine_trigger_now, the pending set with its dedup window,
 * trigger fates, triage kicks, the enqueue-triggers handler (fan-out from
 * another job's invocation) and the periodic cleanup of fates and dedup
 * tombstones.
 *
 * Triggers arrive here as struct trigger (trigger.h); JSON given to
 * engine_emit_triggers and fan-out payloads is decoded once, at the edge.
 */
#include "engine/engine-internal.h"

#include "base/log.h"
#include "engine/trigger.h"

int engine__kick_triage(struct engine *e, struct store_tx *tx, const char *job_id)
{
    int64_t now = engine__now(e), T = e->set.triage_throttle_ns;
    int64_t eta;
    char key[ENGINE_ID_MAX + 48];

    /* The smallest multiple of T strictly after the current whole period. */
    eta = (now >= 0 ? now / T : (now - T + 1) / T) * T + T;
    snprintf(key, sizeof(key), "triage:%s:%" PRId64, job_id, eta);
    return engine__enqueue(e, tx, TASK_TRIAGE, job_id, 0, NULL, eta, key);
}

void engine__paused_reason(const struct store_job *j, char *out, size_t outlen)
{
    char when[TIME_RFC3339_MAX] = "";

    if (j->paused_when)
        time_format_rfc3339(j->paused_when, when, sizeof(when));
    snprintf(out, outlen, "the job was paused by %s at %s%s%s",
             j->paused_by[0] ? j->paused_by : "someone", when[0] ? when : "an unknown time",
             j->paused_reason[0] ? " - " : "", j->paused_reason);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static int fate_insert(struct engine *e, struct store_tx *tx, const char *job_id,
                       const struct trigger *t, enum engine_fate fate, const char *reason)
{
    int64_t now = engine__now(e);
    struct store_fate f = {
        .job_id = (char *)job_id,
        .trigger_id = t->id,
        .title = (char *)or_empty(t->title),
        .url = (char *)or_empty(t->url),
        .created = t->created == TIME_ZERO ? 0 : t->created,
        .fate = (char *)engine_fate_name(fate),
        .reason = (char *)or_empty(reason),
        .decided_at = fate == ENGINE_FATE_PENDING ? 0 : now,
        .arrived_at = now,
    };

    int r;

    if (!t->id)
        return 0;
    r = store_fate_insert(tx, &f, NULL);
    if (r >= 0)
        metric_counter_add_pending(&engine_metric_trigger_fates, f.fate, NULL, 1);
    return r;
}

int engine__fate_decide(struct engine *e, struct store_tx *tx, const char *job_id,
                        const char *trigger_id, enum engine_fate fate, int64_t inv_id,
                        const char *reason)
{
    int r = store_fate_decide(tx, job_id, trigger_id, engine_fate_name(fate), inv_id, reason,
                              engine__now(e));
    if (r >= 0)
        metric_counter_add_pending(&engine_metric_trigger_fates, engine_fate_name(fate), NULL,
                                   1);
    /* A fate row may be gone (retention) or predate fates: not an error. */
    return r == -ENOENT ? 0 : r;
}

static void log_discarded(const struct store_job *j, const struct trigger *v, size_t n)
{
    log_info("engine", "%s: Discarding the following triggers since the job is inactive",
             j->id);
    for (size_t i = 0; i < n; i++)
        log_info("engine", "%s:   %s (emitted by \"%s\", inv %" PRId64 ")", j->id,
                 or_empty(v[i].id), or_empty(v[i].job_id), v[i].invocation_id);
}

/* Records the fate of triggers that reach an inactive job: all dropped. */
static int drop_inactive(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const struct trigger *v, size_t n)
{
    char reason[ENGINE_REASON_MAX + 256];
    enum engine_fate f = j->enabled ? ENGINE_FATE_DROPPED_PAUSED : ENGINE_FATE_DROPPED_DISABLED;

    if (j->enabled)
        engine__paused_reason(j, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "the job is disabled or removed from the config");
    log_discarded(j, v, n);
    for (size_t i = 0; i < n; i++) {
        int r = fate_insert(e, tx, j->id, &v[i], f, reason);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Adds one trigger to the pending set.  Returns 1 if added, 0 if deduplicated, -errno. */
static int add_one(struct engine *e, struct store_tx *tx, struct store_job *j,
                   const struct trigger *t)
{
    char reason[256], win[TIME_DURATION_MAX];
    json_t *o = NULL;
    char *text;
    int r;

    if (!t->id)
        return -EINVAL;
    r = trigger_to_json(t, &o);
    if (r < 0)
        return r;
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return -ENOMEM;
    r = store_trigger_add(tx,
                          &(struct store_trigger){
                              .job_id = j->id,
                              .trigger_id = t->id,
                              .created = t->created == TIME_ZERO ? 0 : t->created,
                              .order = t->order_in_batch,
                              .json = text,
                          },
                          engine__now(e), e->set.dedup_window_ns);
    free(text);
    if (r < 0)
        return r;
    if (r == 0) {
        r = fate_insert(e, tx, j->id, t, ENGINE_FATE_PENDING, NULL);
        return r < 0 ? r : 1;
    }
    time_format_duration(e->set.dedup_window_ns, win, sizeof(win));
    snprintf(reason, sizeof(reason),
             "a trigger with this id is already pending or was seen within the last %s", win);
    return fate_insert(e, tx, j->id, t, ENGINE_FATE_DEDUPLICATED, reason);
}

int engine__add_triggers(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const struct trigger *v, size_t n)
{
    bool added = false;

    if (!j->enabled || j->paused)
        return drop_inactive(e, tx, j, v, n);
    for (size_t i = 0; i < n; i++) {
        int r = add_one(e, tx, j, &v[i]);
        if (r < 0)
            return r;
        added = added || r == 1;
    }
    return added ? engine__kick_triage(e, tx, j->id) : 0;
}

struct add_args {
    const char *job_id;
    const struct trigger *v;
    size_t n;
    bool refuse_paused;
};

/* One attempt of add_in_own_tx (engine__retry's fn). */
static int add_tx(struct engine *e, void *ctx)
{
    const struct add_args *a = ctx;
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    int r;

    r = engine__begin_enabled(e, a->job_id, &tx, &j);
    if (r < 0)
        return r;
    /* "Cannot trigger a paused job. Resume it first." */
    r = a->refuse_paused && j.paused ? -EBUSY : engine__add_triggers(e, tx, &j, a->v, a->n);
    r = engine__tx_end(e, tx, NULL, r);
    store_job_release(&j);
    return r;
}

/* Adds triggers to a job in a durable transaction of their own, redone after a conflict. */
static int add_in_own_tx(struct engine *e, const char *job_id, const struct trigger *v,
                         size_t n, bool refuse_paused)
{
    struct add_args a = {job_id, v, n, refuse_paused};

    return engine__retry(e, add_tx, &a);
}

int engine_emit_triggers(struct engine *e, const char *job_id, const json_t *triggers)
{
    struct trigger_vec vec = {0};
    int r;

    if (!json_is_array(triggers))
        return -EINVAL;
    if (json_array_size(triggers) > LIMIT_ENGINE_EMIT_TRIGGERS)
        return -E2BIG;
    r = trigger_vec_from_json(triggers, LIMIT_ENGINE_EMIT_TRIGGERS, &vec);
    if (r == 0)
        r = add_in_own_tx(e, job_id, vec.v, vec.n, false);
    trigger_vec_release(&vec);
    return r;
}

int engine_trigger_now(struct engine *e, const char *job_id, const char *who,
                       char *ret_trigger_id)
{
    struct trigger t;
    int r;

    if (!e)
        return -EINVAL;
    r = trigger_new_webui(engine__rand(e), engine__now(e), who, &t);
    if (r < 0)
        return r;
    r = add_in_own_tx(e, job_id, &t, 1, true);
    if (r == 0 && ret_trigger_id)
        snprintf(ret_trigger_id, 17, "%s", t.id);
    trigger_release(&t);
    return r;
}

/* EnqueueTriggersTask: triggers fanned out from another job's invocation. */
int engine__handle_enqueue_triggers(struct engine *e, struct engine_task *t)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct trigger_vec vec = {0};
    int r;

    r = trigger_vec_from_json(json_object_get(t->payload, "triggers"), ENGINE_MAX_EMITTED, &vec);
    if (r < 0)
        return r;
    r = engine__task_begin(e, t, &tx);
    if (r < 0)
        goto out;
    r = store_job_get(tx, t->row.job_id, &j);
    if (r == -ENOENT) {
        log_info("engine", "%s: Discarding triggers: no such job", t->row.job_id);
        r = 0;
    } else if (r == 0) {
        r = engine__add_triggers(e, tx, &j, vec.v, vec.n);
    }
    if (r == 0)
        r = engine__tx_task_done(tx, t);
    r = engine__tx_end(e, tx, t, r);
    store_job_release(&j);
out:
    trigger_vec_release(&vec);
    return r;
}

int engine__handle_cleanup(struct engine *e, struct engine_task *t)
{
    struct store_tx *tx = NULL;
    int64_t now = engine__now(e);
    size_t nf = 0, nt = 0;
    int r;

    r = engine__task_begin(e, t, &tx);
    if (r < 0)
        return r;
    r = store_fate_purge(tx, now - (int64_t)e->set.fate_retention_days * NS_PER_DAY, &nf);
    if (r == 0)
        r = store_tombstone_purge(tx, now - e->set.dedup_window_ns, &nt);
    if (r == 0)
        r = engine__tx_task_done(tx, t);
    if (r == 0)
        r = engine__enqueue(e, tx, TASK_CLEANUP, "", 0, NULL, now + ENGINE_CLEANUP_PERIOD_NS,
                            TASK_CLEANUP);
    r = engine__tx_end(e, tx, t, r);
    if (r == 0 && (nf || nt))
        log_info("engine", "cleanup: %zu trigger fates and %zu dedup tombstones deleted", nf, nt);
    return r;
}
