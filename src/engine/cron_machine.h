/*
 * cron_machine.h - LUCI's cron state machine (luci-scheduler-spec.md 2.5,
 * 2.6): when a job's next cron tick is due and when a tick becomes a cron
 * trigger.
 *
 * The state lives in the job row.  Each operation reads the state and an
 * environment (now, the job's *effective* schedule - "triggered" while the
 * job is paused - and a nonce source), updates the state in place and
 * appends actions for the host to carry out in the same transaction:
 *
 *   CRON_ACTION_TICK_LATER        deliver a cron tick task carrying nonce
 *                                 at when_ns (the host may chain shorter
 *                                 "intermediary" delays; an early arrival
 *                                 re-arms with a new nonce)
 *   CRON_ACTION_START_INVOCATION  emit the cron trigger "cron:v1:<generation>"
 *                                 created at now
 *
 * A tick at TIME_DISTANT_FUTURE ("triggered") or TIME_ZERO (a cron
 * expression that never fires again) is recorded but never emitted (LUCI
 * emits the latter, to no effect).
 *
 * State fields:
 *   enabled           machine on/off; a disabled machine ignores all but enable
 *   generation        +1 on every mutation (sometimes several per call); it
 *                     names cron triggers
 *   last_rewind_ns    relative schedules: when the machine was last
 *                     (re)started; absolute: the last tick time
 *   last_tick_*       the armed tick: TIME_ZERO = none (a relative schedule
 *                     waiting for a rewind, or an exhausted cron expression),
 *                     TIME_DISTANT_FUTURE = parked ("triggered")
 *
 * A zeroed struct is not a valid initial state: start from
 * cron_state_init() (disabled, generation 0, no rewind, no tick).
 *
 * Worked numbers (engine tests): enable -> generation 2; the first tick
 * emits cron:v1:3; for a relative schedule the second trigger is cron:v1:6.
 *
 * Pure: no clock, no randomness of its own, no I/O.  Every call appends at
 * most 2 actions, so one struct cron_actions (which the caller empties by
 * setting n = 0) holds the actions of several calls.
 */
#ifndef TOCK_ENGINE_CRON_MACHINE_H
#define TOCK_ENGINE_CRON_MACHINE_H

#include "base/compat.h"
#include "base/time.h"
#include "schedule/schedule.h"

struct cron_state {
    bool enabled;
    int64_t generation;
    int64_t last_rewind_ns;
    int64_t last_tick_when_ns;
    int64_t last_tick_nonce;
};

enum cron_action_kind {
    CRON_ACTION_TICK_LATER,
    CRON_ACTION_START_INVOCATION,
};

struct cron_action {
    enum cron_action_kind kind;
    int64_t when_ns;    /* TICK_LATER: when the tick is due; START_INVOCATION: now */
    int64_t nonce;      /* TICK_LATER: the nonce the tick must carry */
    int64_t generation; /* START_INVOCATION: names the trigger cron:v1:<generation> */
};

#define CRON_ACTIONS_MAX 8

struct cron_actions {
    struct cron_action v[CRON_ACTIONS_MAX];
    size_t n;
};

struct cron_env {
    int64_t now_ns;
    const struct schedule *schedule; /* effective: "triggered" when paused */
    /* Returns a random positive int63, never 0. */
    int64_t (*new_nonce)(void *ctx);
    void *nonce_ctx;
};

/* How far ahead of time a tick is accepted, and how early is an error. */
#define CRON_TICK_ACCEPT_EARLY_NS (50 * NS_PER_MS)
#define CRON_TICK_RETRY_EARLY_NS NS_PER_SEC

/* The initial state: disabled, generation 0, no rewind, no tick. */
void cron_state_init(struct cron_state *s);

/* !enabled, or no tick armed (TIME_ZERO), or parked (TIME_DISTANT_FUTURE). */
bool cron_state_is_suspended(const struct cron_state *s);

/* Turns an off machine on (rewind at now, arm the first tick); else no-op. */
void cron_machine_enable(struct cron_state *s, const struct cron_env *env,
                         struct cron_actions *out);

/* Turns the machine off, forgetting the tick and the rewind. */
void cron_machine_disable(struct cron_state *s, struct cron_actions *out);

/*
 * Re-arms an enabled machine that has no tick (a relative schedule that
 * fired): rewind at now and arm the next tick.  No-op otherwise.  The
 * triage calls it whenever the job has no active invocations.
 */
void cron_machine_rewind_if_necessary(struct cron_state *s, const struct cron_env *env,
                                      struct cron_actions *out);

/*
 * The effective schedule changed (config change, pause, resume).  Re-arms
 * the tick from the last rewind; a machine waiting for a rewind rewinds
 * now only if the new schedule is absolute.  No-op when disabled.
 */
void cron_machine_on_schedule_change(struct cron_state *s, const struct cron_env *env,
                                     struct cron_actions *out);

/*
 * A tick task carrying nonce arrived.  Ignored (returns 0, no actions) if
 * the machine is suspended or the nonce is stale.  If the tick is due in
 * more than 1 s, re-arms the same instant with a new nonce.  If it is due
 * in (50 ms, 1 s], returns -EAGAIN with "tick happened <d> before it was
 * expected" in err (Go duration, e.g. "200ms"), state unchanged: the host
 * retries the task later.  Otherwise emits START_INVOCATION and, for an
 * absolute schedule, rewinds and arms the next tick at once.
 */
int cron_machine_on_timer_tick(struct cron_state *s, const struct cron_env *env, int64_t nonce,
                               struct cron_actions *out, char *err, size_t errlen);

#endif
