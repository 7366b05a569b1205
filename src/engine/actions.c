/*
 * actions.c - the actions of spec 3.16 on a job: pause, resume, abort the
 * job, abort one invocation.  (Trigger now and EmitTriggers are in
 * receive.c, with the rest of the receiving of triggers.)
 */
#include "engine/engine-internal.h"

#include "base/log.h"

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

struct pause_args {
    const char *job_id, *who, *reason;
    bool pause;
};

/* One attempt of set_paused (engine__retry's fn). */
static int set_paused_tx(struct engine *e, void *ctx)
{
    const struct pause_args *a = ctx;
    const char *job_id = a->job_id, *who = a->who, *reason = a->reason;
    bool pause = a->pause;
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    int r;

    r = engine__begin_enabled(e, job_id, &tx, &j);
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

static int set_paused(struct engine *e, const char *job_id, const char *who, const char *reason,
                      bool pause)
{
    struct pause_args a = {job_id, who, reason, pause};

    return engine__retry(e, set_paused_tx, &a);
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

    r = engine__begin_enabled(e, job_id, &tx, &j);
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
        int one = engine__abort_invocation(e, job_id, engine__json_id(v), who ? who : "");
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
    r = engine__begin_enabled(e, job_id, &tx, &j);
    if (r < 0)
        return r;
    store_rollback(tx);
    store_job_release(&j);
    return engine__abort_invocation(e, job_id, inv_id, who ? who : "");
}
