/*
 * metrics.c - the engine's metric families and the jobs-by-state count
 * (contract in engine.h).
 */
#include "engine/engine-internal.h"

struct metric_counter engine_metric_inv_started =
    METRIC_COUNTER("tock_invocations_started_total",
                   "Invocations started (created by a triage that committed).", NULL, NULL);
struct metric_counter engine_metric_inv_finished =
    METRIC_COUNTER("tock_invocations_finished_total",
                   "Invocations that reached a final status, by that status.", "status", NULL);
struct metric_counter engine_metric_trigger_fates =
    METRIC_COUNTER("tock_trigger_fates_total",
                   "Trigger fates recorded, by fate (PENDING on arrival, then the decision).",
                   "fate", NULL);

struct metric_histogram engine_metric_tick_lateness =
    METRIC_HISTOGRAM("tock_cron_tick_lateness_seconds",
                     "Cron ticks that emitted a trigger: the engine clock when the tick was "
                     "handled (the trigger's created time) minus the tick's scheduled time.");

int engine_count_jobs_by_state(struct engine *e, size_t *ret)
{
    struct store_tx *tx = NULL;
    struct store_job *v = NULL;
    struct engine_job *one = malloc(sizeof(*one)); /* one at a time: ~6 KB, not one per job */
    size_t nv = 0, counts[_ENGINE_JOB_STATE_MAX] = {0};
    int r;

    if (!one)
        return -ENOMEM;
    r = store_begin(e->store, &tx);
    if (r < 0)
        goto out;
    r = store_job_list(tx, NULL, true, &v, &nv);
    store_rollback(tx);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < nv && i < LIMIT_ENGINE_LIST_JOBS; i++) {
        engine__fill_job(&v[i], one);
        if ((unsigned)one->state < _ENGINE_JOB_STATE_MAX)
            counts[one->state]++;
    }
    memcpy(ret, counts, sizeof(counts));
out:
    store_jobs_free(v, nv);
    free(one);
    if (r < 0 && r != -ENOMEM)
        r = -EIO;
    return r;
}
