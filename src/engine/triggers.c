/*
 * triggers.c - receiving triggers (spec 3.7): the pending set with its
 * dedup window, trigger fates, triage kicks, the enqueue-triggers handler
 * (fan-out to another job) and the periodic cleanup.
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

static const char *str_field(const json_t *t, const char *k)
{
    const char *s = json_string_value(json_object_get(t, k));
    return s ? s : "";
}

static int fate_insert(struct engine *e, struct store_tx *tx, const char *job_id,
                       const json_t *trigger, enum engine_fate fate, const char *reason)
{
    int64_t created = 0, now = engine__now(e);
    const char *id = trigger_id(trigger);
    struct store_fate f;

    if (!id)
        return 0;
    if (trigger_parse_created(trigger, &created) < 0 || created == TIME_ZERO)
        created = 0;
    f = (struct store_fate){
        .job_id = (char *)job_id,
        .trigger_id = (char *)id,
        .title = (char *)str_field(trigger, "title"),
        .url = (char *)str_field(trigger, "url"),
        .created = created,
        .fate = (char *)engine_fate_name(fate),
        .reason = (char *)(reason ? reason : ""),
        .decided_at = fate == ENGINE_FATE_PENDING ? 0 : now,
        .arrived_at = now,
    };
    return store_fate_insert(tx, &f, NULL);
}

int engine__fate_arrival(struct engine *e, struct store_tx *tx, const char *job_id,
                         const json_t *trigger, enum engine_fate fate, const char *reason)
{
    return fate_insert(e, tx, job_id, trigger, fate, reason);
}

int engine__fate_decide(struct engine *e, struct store_tx *tx, const char *job_id,
                        const char *trigger_id, enum engine_fate fate, int64_t inv_id,
                        const char *reason)
{
    int r = store_fate_decide(tx, job_id, trigger_id, engine_fate_name(fate), inv_id, reason,
                              engine__now(e));
    /* A fate row may be gone (retention) or predate fates: not an error. */
    return r == -ENOENT ? 0 : r;
}

static void log_discarded(const struct store_job *j, const json_t *triggers)
{
    size_t i;
    json_t *t;

    log_info("engine", "%s: Discarding the following triggers since the job is inactive",
             j->id);
    json_array_foreach(triggers, i, t) {
        log_info("engine", "%s:   %s (emitted by \"%s\", inv %s)", j->id,
                 trigger_id(t) ? trigger_id(t) : "?", str_field(t, "jobId"),
                 str_field(t, "invocationId")[0] ? str_field(t, "invocationId") : "0");
    }
}

int engine__add_triggers(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const json_t *triggers)
{
    int64_t now = engine__now(e);
    char reason[ENGINE_REASON_MAX + 256], win[TIME_DURATION_MAX];
    bool added = false;
    size_t i;
    json_t *t;
    int r;

    if (!json_is_array(triggers))
        return -EINVAL;
    if (!j->enabled || j->paused) {
        enum engine_fate f = j->enabled ? ENGINE_FATE_DROPPED_PAUSED : ENGINE_FATE_DROPPED_DISABLED;
        if (j->enabled)
            engine__paused_reason(j, reason, sizeof(reason));
        else
            snprintf(reason, sizeof(reason), "the job is disabled or removed from the config");
        log_discarded(j, triggers);
        json_array_foreach(triggers, i, t) {
            r = fate_insert(e, tx, j->id, t, f, reason);
            if (r < 0)
                return r;
        }
        return 0;
    }
    time_format_duration(e->set.dedup_window_ns, win, sizeof(win));
    json_array_foreach(triggers, i, t) {
        const char *id = trigger_id(t);
        int64_t created = 0;
        char *text;
        struct store_trigger st;

        if (!id)
            return -EINVAL;
        if (trigger_parse_created(t, &created) < 0 || created == TIME_ZERO)
            created = 0;
        text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
            return -ENOMEM;
        st = (struct store_trigger){.job_id = j->id, .trigger_id = (char *)id,
                                    .created = created, .order = trigger_order_in_batch(t),
                                    .json = text};
        r = store_trigger_add(tx, &st, now, e->set.dedup_window_ns);
        free(text);
        if (r < 0)
            return r;
        if (r == 1) {
            snprintf(reason, sizeof(reason),
                     "a trigger with this id is already pending or was seen within the last %s",
                     win);
            r = fate_insert(e, tx, j->id, t, ENGINE_FATE_DEDUPLICATED, reason);
        } else {
            added = true;
            r = fate_insert(e, tx, j->id, t, ENGINE_FATE_PENDING, NULL);
        }
        if (r < 0)
            return r;
    }
    return added ? engine__kick_triage(e, tx, j->id) : 0;
}

/* EnqueueTriggersTask: triggers fanned out from another job's invocation. */
int engine__handle_enqueue_triggers(struct engine *e, struct engine_task *t)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    const json_t *triggers = json_object_get(t->payload, "triggers");
    int r;

    r = engine__task_begin(e, t, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, t->row.job_id, &j);
    if (r == -ENOENT) {
        log_info("engine", "%s: Discarding triggers: no such job", t->row.job_id);
        r = 0;
    } else if (r == 0) {
        r = engine__add_triggers(e, tx, &j, triggers);
    }
    if (r == 0)
        r = engine__tx_task_done(tx, t);
    if (r == 0) {
        r = engine__commit(e, tx);
    } else {
        store_rollback(tx);
    }
    if (r < 0)
        t->done_in_tx = false;
    store_job_release(&j);
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
    if (r == 0) {
        r = engine__commit(e, tx);
    } else {
        store_rollback(tx);
    }
    if (r < 0)
        t->done_in_tx = false;
    else if (nf || nt)
        log_info("engine", "cleanup: %zu trigger fates and %zu dedup tombstones deleted", nf, nt);
    return r;
}
