/*
 * policy.h - triggering policies (luci-scheduler-spec.md 1.5, 3.9).
 *
 * A policy is a pure function run by each triage: given now, the number of
 * active invocations and the pending triggers sorted oldest first, it
 * decides which triggers start invocations (grouped into requests, one per
 * new invocation) and which are discarded.  A trigger is never both.
 *
 *   GREEDY_BATCHING       everything pending, up to max_batch, per invocation
 *   LOGARITHMIC_BATCHING  the oldest clamp(floor(log_base(N)), 1, N), up to
 *                         max_batch, per invocation
 *   NEWEST_FIRST          one invocation per trigger, newest first; triggers
 *                         pending for pending_timeout or longer are discarded
 *
 * Both batching kinds start at most max_concurrent - n_active invocations
 * in one run.  The properties and tags of a request come from its newest
 * trigger (request.h builds the request itself).
 *
 * Pure: no I/O; messages for the triage log go through a callback.
 */
#ifndef TOCK_ENGINE_POLICY_H
#define TOCK_ENGINE_POLICY_H

#include "base/compat.h"
#include "config/config.h"
#include "engine/trigger.h"

/* Defaults applied at use time (spec 1.5). */
#define POLICY_DEFAULT_MAX_CONCURRENT 1
#define POLICY_DEFAULT_MAX_BATCH 1000
#define POLICY_DEFAULT_PENDING_TIMEOUT_NS (INT64_C(604800) * INT64_C(1000000000))
/* Smallest log_base LOGARITHMIC_BATCHING accepts (as float32, as in LUCI). */
#define POLICY_MIN_LOG_BASE 1.0001f
/*
 * Most pending triggers one policy run looks at: the triage drops the
 * oldest excess first (LUCI's maxAllowedTriggers).
 */
#define POLICY_MAX_TRIGGERS 1000

/* kind is an enum cfg_policy_kind value other than UNDEFINED. */
struct policy_params {
    int32_t kind;
    int64_t max_concurrent;
    int64_t max_batch;
    double log_base;
    int64_t pending_timeout_ns;
};

/* The default policy: GREEDY_BATCHING, 1 concurrent, batch 1000. */
void policy_params_default(struct policy_params *ret);

/*
 * The policy a config block asks for, with defaults applied to zero fields
 * (NULL or !raw->present gives the default policy).  On failure returns
 * -EINVAL, writes LUCI's instantiation error to err ("unrecognized policy
 * kind 7", "max_concurrent_invocations should be positive", "max_batch_size
 * should be positive", "log_base should be more or equal than 1.0001",
 * "pending_timeout should be positive") and leaves *ret alone.  The
 * triage then logs "Error: Failed to instantiate the triggering policy
 * function, using the default policy instead - <err>" and uses the default.
 */
int policy_params_from_config(const struct cfg_policy *raw, struct policy_params *ret,
                              char *err, size_t errlen);

/* "GREEDY_BATCHING", "LOGARITHMIC_BATCHING", "NEWEST_FIRST", or "UNDEFINED" for others. */
const char *policy_kind_name(int32_t kind);

/* One new invocation: triggers idx[first_idx_pos .. first_idx_pos + n - 1]. */
struct policy_request {
    size_t first_idx_pos;
    size_t n;
    /*
     * The identity all its triggers were emitted by ("" when all came from
     * the service), or NULL when they differ.  Borrowed from the triggers.
     */
    const char *triggered_by;
};

/*
 * The decision.  idx and discard hold indices into the triggers array
 * given to policy_run; within a request they are oldest first, so the
 * request's newest trigger is its last.  Arrays are owned by the struct.
 */
struct policy_out {
    size_t *idx;
    size_t n_idx;
    struct policy_request *requests;
    size_t n_requests;
    size_t *discard;
    size_t n_discard;
};

/*
 * Runs policy p at now_ns with n_active invocations running over triggers
 * (sorted oldest first by trigger_compare; at most
 * POLICY_MAX_TRIGGERS).  log (may be NULL) receives messages for the triage
 * log, e.g. "Max concurrent invocations is 1 and there's 1 running =>
 * refusing to launch more".  On success returns 0 and fills *out (release
 * with policy_out_release); on failure returns -EINVAL (bad params or
 * unsorted triggers), -E2BIG (too many triggers) or -ENOMEM, and *out is
 * left alone.
 */
int policy_run(const struct policy_params *p, int64_t now_ns, size_t n_active,
               const struct trigger *triggers, size_t n_triggers, struct policy_out *out,
               void (*log)(void *ctx, const char *msg), void *log_ctx);

/* Frees the arrays of o and empties it; a zeroed or released o is fine. */
void policy_out_release(struct policy_out *o);

#endif
