/*
 * noop.c - the "noop" task manager (spec 4.4), for tests and demos.
 *
 * LUCI's noop sleeps inside LaunchTask, then emits triggers and succeeds.
 * tock must not block an engine worker for 20 s, so it splits the work:
 *
 *   launch():       logs "Running noop task for <d>", sets RUNNING, and adds
 *                   a timer "noop finished" due after d.
 *   handle_timer(): emits triggers_count triggers "noop:<invID>:<i>" with
 *                   payload {"noop": {}} and sets SUCCEEDED.
 *
 * With nothing to wait for (d = 0: a negative sleep_ms) launch() does both
 * at once, as LUCI's LaunchTask does: no timer, no RUNNING.
 *
 * d is sleep_ms, or the default (LUCI's 20 s, struct task_options) when
 * sleep_ms is 0; a negative sleep_ms means no wait (d = 0s), as a Go sleep
 * of a negative duration returns at once.  Both calls are idempotent: a
 * repeated timer emits the same trigger ids, which the engine de-duplicates.
 */
#include "tasks/registry.h"

#include "base/time.h"
#include "tasks/taskjson.h"

#define NOOP_DEFAULT_SLEEP_NS (20 * NS_PER_SEC)
#define NOOP_TIMER_TITLE "noop finished"

struct noop_params {
    int64_t sleep_ns;
    int64_t triggers_count;
};

/* Reads the definition; a malformed one is a fatal error with ctl->err set. */
static int noop_params_get(const struct task_manager *m, struct task_ctl *c,
                           struct noop_params *ret)
{
    const struct task_options *opts = m->ctx;
    const json_t *body = taskjson_body(c->task, "noop", NULL);
    int64_t sleep_ms, count;

    if (!body || taskjson_int64(body, "sleepMs", &sleep_ms) < 0 ||
        taskjson_int64(body, "triggersCount", &count) < 0) {
        snprintf(c->err, sizeof(c->err), "bad noop task definition");
        return TASK_ERR_FATAL;
    }
    if (sleep_ms == 0)
        ret->sleep_ns = opts && opts->noop_default_sleep_ns > 0 ? opts->noop_default_sleep_ns
                                                                : NOOP_DEFAULT_SLEEP_NS;
    else if (sleep_ms < 0)
        ret->sleep_ns = 0;
    else if (sleep_ms > INT64_MAX / NS_PER_MS)
        ret->sleep_ns = INT64_MAX;
    else
        ret->sleep_ns = sleep_ms * NS_PER_MS;
    ret->triggers_count = count < 0 ? 0 : count;
    return 0;
}

static int noop_finish(struct task_ctl *c, struct noop_params *p);

static int noop_launch(const struct task_manager *m, struct task_ctl *c)
{
    struct noop_params p;
    char dur[TIME_DURATION_MAX];
    int r;

    if ((r = noop_params_get(m, c, &p)) < 0)
        return r;
    time_format_duration(p.sleep_ns, dur, sizeof(dur));
    task_ctl_logf(c, "Running noop task for %s", dur);
    if (p.sleep_ns == 0)
        return noop_finish(c, &p);
    r = c->ops->add_timer(c, p.sleep_ns, NOOP_TIMER_TITLE, NULL);
    if (r < 0) {
        snprintf(c->err, sizeof(c->err), "cannot add the noop timer: %s", strerror(-r));
        return TASK_ERR_TRANSIENT;
    }
    c->status = INV_RUNNING;
    return 0;
}

static int noop_handle_timer(const struct task_manager *m, struct task_ctl *c,
                             const char *title, const char *payload)
{
    struct noop_params p;
    int r;

    (void)payload;
    /* Timers can't be cancelled: ignore any that isn't ours or comes late. */
    if (!title || strcmp(title, NOOP_TIMER_TITLE) != 0 || inv_status_is_final(c->status))
        return 0;
    if ((r = noop_params_get(m, c, &p)) < 0)
        return r;
    return noop_finish(c, &p);
}

/* The end of the wait: emits the triggers and sets SUCCEEDED. */
static int noop_finish(struct task_ctl *c, struct noop_params *p)
{
    int r;

    if (p->triggers_count > NOOP_MAX_TRIGGERS) {
        task_ctl_logf(c, "triggers_count %" PRId64 " is over tock's limit, emitting %d",
                      p->triggers_count, NOOP_MAX_TRIGGERS);
        p->triggers_count = NOOP_MAX_TRIGGERS;
    }
    for (int64_t i = 0; i < p->triggers_count; i++) {
        char id[64];
        json_t *t;

        snprintf(id, sizeof(id), "noop:%" PRId64 ":%" PRId64, c->invocation_id, i);
        t = json_pack("{s:s, s:{}}", "id", id, "noop");
        if (!t) {
            snprintf(c->err, sizeof(c->err), "out of memory");
            return TASK_ERR_TRANSIENT;
        }
        r = c->ops->emit_trigger(c, t);
        if (r < 0) {
            snprintf(c->err, sizeof(c->err), "cannot emit trigger %s: %s", id, strerror(-r));
            return TASK_ERR_TRANSIENT;
        }
    }
    c->status = INV_SUCCEEDED;
    return 0;
}

const struct task_manager task_noop_manager = {
    .name = "noop",
    /* tock's noop uses RUNNING and a timer, unlike LUCI's (docs/tasks.md). */
    .multistage = true,
    .fast = true, /* sleeps with a timer, never in a call */
    .ctx = NULL,
    .launch = noop_launch,
    .handle_timer = noop_handle_timer,
    .handle_notification = NULL,
    .abort = NULL,
};
