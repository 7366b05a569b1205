/*
 * activity.c - engine_project_activity: invocations per hour of a
 * project's jobs, for the index page's sparklines (contract in engine.h).
 *
 * One index range scan per project (store_inv_ids_project): invocation ids
 * fall with time (spec 3.4), so "created in the last N hours" is "id <= the
 * largest id of N hours ago", answered from the (job_id, id) index alone,
 * and each id tells its hour.  At most ENGINE_ACTIVITY_MAX_ROWS ids are read.
 */
#include "base/compat.h"
#include "engine/engine-internal.h"

#include "base/time.h"
#include "engine/invid.h"

#define NS_PER_HOUR (60 * NS_PER_MIN)

struct activity {
    const char *const *job_ids; /* sorted */
    size_t n_jobs;
    int64_t since;
    int hours;
    unsigned *counts;
    size_t seen;
};

static int cmp_id(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static void count_one(void *ctx, const char *job_id, int64_t id)
{
    struct activity *a = ctx;
    int64_t t = invid_time(id);
    int64_t bucket;

    a->seen++;
    if (!job_id || t < a->since ||
        !bsearch(job_id, a->job_ids, a->n_jobs, sizeof(a->job_ids[0]), cmp_id))
        return;
    bucket = (t - a->since) / NS_PER_HOUR;
    if (bucket >= a->hours)
        bucket = a->hours - 1; /* created "now" or a little in the future */
    a->counts[bucket]++;
}

int engine_project_activity(struct engine *e, const char *project, const char *const *job_ids,
                            size_t n_jobs, int64_t now_ns, int hours, unsigned *ret_counts)
{
    struct store_tx *tx = NULL;
    unsigned *counts;
    struct activity a;
    int r;

    if (!e || !project || (!job_ids && n_jobs) || hours <= 0 || hours > ENGINE_ACTIVITY_HOURS_MAX ||
        !ret_counts)
        return -EINVAL;
    counts = calloc((size_t)hours, sizeof(*counts));
    if (!counts)
        return -ENOMEM;
    a = (struct activity){.job_ids = job_ids, .n_jobs = n_jobs, .hours = hours,
                          .since = now_ns - (int64_t)hours * NS_PER_HOUR, .counts = counts};
    r = store_begin(e->store, &tx);
    if (r == 0) {
        /* The largest id made at "since": every id at or after it is <= this. */
        int64_t max_id = invid_make(a.since, UINT16_MAX) | 0xf;
        r = store_inv_ids_project(tx, project, max_id, ENGINE_ACTIVITY_MAX_ROWS, count_one, &a);
        store_rollback(tx);
    }
    if (r == 0) {
        memcpy(ret_counts, counts, (size_t)hours * sizeof(*counts));
        r = a.seen >= ENGINE_ACTIVITY_MAX_ROWS ? 1 : 0;
    }
    free(counts);
    return r;
}
