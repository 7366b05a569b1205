/*
 * metrics.c - the engine's metric families and the jobs-by-state count,
 * walked a chunk of job rows at a time (contract in engine.h).
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
                     "Cron ticks that emitted a trigger: the clock when the tick's transaction "
                     "committed minus the tick's scheduled time (0 when it committed ahead of "
                     "it).");

static int count_row(void *ctx, const struct store_job *row)
{
    size_t *counts = ctx;
    enum engine_job_state st = engine__job_row_state(row);

    if ((unsigned)st < _ENGINE_JOB_STATE_MAX)
        counts[st]++;
    return 0;
}

int engine_count_jobs_by_state(struct engine *e, size_t *ret)
{
    size_t counts[_ENGINE_JOB_STATE_MAX] = {0};
    int r;

    if (!e || !ret)
        return -EINVAL;
    r = engine__walk_job_rows(e, NULL, count_row, counts);
    if (r < 0)
        return r == -ENOMEM ? r : -EIO;
    memcpy(ret, counts, sizeof(counts));
    return 0;
}
