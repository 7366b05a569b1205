/*
 * definition.c - engine_job_definition: a job's current task definition
 * and its triggering policy with the defaults filled in (contract in
 * engine.h).
 */
#include "base/compat.h"
#include "engine/engine-internal.h"

#include "base/time.h"
#include "engine/policy.h"

/* "604800s", "1.5s": a protobuf JSON Duration. */
static json_t *duration_json(int64_t ns)
{
    char text[48];

    if (ns % NS_PER_SEC == 0)
        snprintf(text, sizeof(text), "%" PRId64 "s", ns / NS_PER_SEC);
    else
        snprintf(text, sizeof(text), "%" PRId64 ".%09" PRId64 "s", ns / NS_PER_SEC,
                 ns % NS_PER_SEC);
    return json_string(text);
}

/*
 * The policy the triage uses for the stored policy text: the config's
 * block with defaults applied, or the default policy when the block is
 * absent or cannot be instantiated (spec 3.9), in protobuf JSON field order.
 */
static int policy_text(const char *stored, char **ret)
{
    struct cfg_policy cp;
    struct policy_params pp;
    char err[256];
    json_t *o = NULL;
    char *text = NULL;
    int r = -ENOMEM;

    policy_params_default(&pp);
    if (engine__policy_from_json(stored, &cp) == 0 && cp.present &&
        policy_params_from_config(&cp, &pp, err, sizeof(err)) < 0)
        policy_params_default(&pp);
    o = json_pack("{s:s, s:I, s:I}", "kind", policy_kind_name(pp.kind),
                  "maxConcurrentInvocations", (json_int_t)pp.max_concurrent, "maxBatchSize",
                  (json_int_t)pp.max_batch);
    if (!o)
        goto out;
    if (pp.kind == CFG_POLICY_LOGARITHMIC_BATCHING &&
        json_object_set_new(o, "logBase", json_real(pp.log_base)) < 0)
        goto out;
    if (pp.kind == CFG_POLICY_NEWEST_FIRST &&
        json_object_set_new(o, "pendingTimeout", duration_json(pp.pending_timeout_ns)) < 0)
        goto out;
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto out;
    *ret = text;
    r = 0;
out:
    json_decref(o);
    return r;
}

int engine_job_definition(struct engine *e, const char *job_id, char **ret_task_json,
                          char **ret_policy_json)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    char *task = NULL, *policy = NULL;
    int r;

    if (!e || !job_id || !ret_task_json || !ret_policy_json)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, job_id, &j);
    store_rollback(tx);
    if (r < 0)
        goto out;
    if (!j.enabled) {
        r = -ENOENT;
        goto out;
    }
    r = -ENOMEM;
    task = strdup(j.task_json ? j.task_json : "");
    if (!task)
        goto out;
    r = policy_text(j.policy_json, &policy);
    if (r < 0)
        goto out;
    *ret_task_json = task;
    *ret_policy_json = policy;
    task = policy = NULL;
out:
    free(task);
    free(policy);
    store_job_release(&j);
    return r;
}
