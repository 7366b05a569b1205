/*
 * actions.c - the actions of spec 3.16 (pause, resume, abort job, abort
 * invocation, trigger now) and EmitTriggers (3.7, 5.3).
 */
#include "engine/engine-internal.h"

#include "base/log.h"
#include "engine/trigger.h"

static int begin_enabled(struct engine *e, const char *job_id, struct store_tx **tx,
                         struct store_job *j)
{
    int r;

    if (!e || !job_id)
        return -EINVAL;
    r = store_begin(e->store, tx);
    if (r < 0)
        return r;
    r = store_job_get(*tx, job_id, j);
    if (r == 0 && !j->enabled) {
        store_job_release(j);
        r = -ENOENT;
    }
    if (r < 0)
        store_rollback(*tx);
    return r;
}

/* Re-arms the cron after the effective schedule changed (pause/resume). */
static int cron_schedule_changed(struct engine *e, struct store_tx *tx, struct store_job *j)
{
    struct cron_state cs;
    struct cron_actions acts = {.n = 0};
    struct cron_env env;
    struct schedule *sched = NULL;
    int r;

    if (engine__cron_load(j, &cs) < 0)
        cron_state_init(&cs);
    r = engine__cron_env(e, j, &env, &sched);
    if (r < 0)
        return r;
    cron_machine_on_schedule_change(&cs, &env, &acts);
    r = engine__cron_store(j, &cs);
    if (r == 0)
        r = engine__cron_actions(e, tx, j, &acts);
    schedule_free(sched);
    return r;
}

static int set_paused(struct engine *e, const char *job_id, const char *who, const char *reason,
                      bool pause)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    int r;

    r = begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    if (j.paused == pause) {
        store_rollback(tx);
        store_job_release(&j);
        return 0;
    }
    j.paused = pause;
    j.paused_when = engine__now(e);
    if ((r = engine__strset(&j.paused_by, who)) < 0 ||
        (r = engine__strset(&j.paused_reason, reason)) < 0)
        goto fail;
    log_info("engine", "%s: Job is %s by %s - %s", j.id, pause ? "paused" : "resumed",
             who ? who : "", reason && reason[0] ? reason : "no reason given");
    r = cron_schedule_changed(e, tx, &j);
    if (r == 0 && pause)
        r = engine__kick_triage(e, tx, j.id);
    if (r == 0)
        r = store_job_put(tx, &j);
    if (r < 0)
        goto fail;
    r = engine__commit(e, tx);
    store_job_release(&j);
    return r;
fail:
    store_rollback(tx);
    store_job_release(&j);
    return r;
}

int engine_pause_job(struct engine *e, const char *job_id, const char *who, const char *reason)
{
    return set_paused(e, job_id, who, reason, true);
}

int engine_resume_job(struct engine *e, const char *job_id, const char *who, const char *reason)
{
    return set_paused(e, job_id, who, reason, false);
}

int engine_abort_job(struct engine *e, const char *job_id, const char *who)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    json_t *active = NULL;
    size_t i;
    json_t *v;
    int r, ar = 0;

    r = begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    active = engine__json_parse(j.active_json, 1);
    r = active ? engine__kick_triage(e, tx, j.id) : -ENOMEM;
    if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    store_job_release(&j);
    if (r < 0) {
        json_decref(active);
        return r;
    }
    json_array_foreach(active, i, v) {
        const char *s = json_string_value(v);
        int one = engine__abort_invocation(e, job_id, s ? strtoll(s, NULL, 10) : 0,
                                           who ? who : "");
        if (one < 0 && one != -ENOENT)
            ar = one;
    }
    json_decref(active);
    return ar;
}

int engine_abort_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                            const char *who)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    int r;

    if (inv_id == 0)
        return -ENOENT;
    r = begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    store_rollback(tx);
    store_job_release(&j);
    return engine__abort_invocation(e, job_id, inv_id, who ? who : "");
}

int engine_emit_triggers(struct engine *e, const char *job_id, const json_t *triggers)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    size_t i;
    json_t *t;
    int r;

    if (!json_is_array(triggers))
        return -EINVAL;
    if (json_array_size(triggers) > LIMIT_ENGINE_EMIT_TRIGGERS)
        return -E2BIG;
    json_array_foreach(triggers, i, t) {
        if (!trigger_id(t))
            return -EINVAL;
    }
    r = begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    r = engine__add_triggers(e, tx, &j, triggers);
    if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    store_job_release(&j);
    return r;
}

int engine_trigger_now(struct engine *e, const char *job_id, const char *who,
                       char *ret_trigger_id)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    json_t *t = NULL, *arr = NULL;
    int r;

    r = begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    if (j.paused) {
        r = -EBUSY; /* "Cannot trigger a paused job. Resume it first." */
        goto fail;
    }
    r = trigger_new_webui(engine__rand(e), engine__now(e), who, &t);
    if (r < 0)
        goto fail;
    arr = json_array();
    if (!arr || json_array_append(arr, t) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    r = engine__add_triggers(e, tx, &j, arr);
    if (r < 0)
        goto fail;
    r = engine__commit(e, tx);
    if (r == 0 && ret_trigger_id)
        snprintf(ret_trigger_id, 17, "%s", trigger_id(t));
    goto out;
fail:
    store_rollback(tx);
out:
    json_decref(t);
    json_decref(arr);
    store_job_release(&j);
    return r;
}
