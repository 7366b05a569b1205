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

int engine_count_jobs_by_state(struct engine *e, size_t *ret)
{
    struct engine_job *v = NULL;
    size_t n = 0, counts[_ENGINE_JOB_STATE_MAX] = {0};
    int r = engine_list_jobs(e, NULL, &v, &n);

    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)v[i].state < _ENGINE_JOB_STATE_MAX)
            counts[v[i].state]++;
    }
    free(v);
    memcpy(ret, counts, sizeof(counts));
    return 0;
}
