#include "engine/cron_machine.h"

static void push(struct cron_actions *out, struct cron_action a)
{
    /* Each call appends at most 2 actions; a full list is a caller bug. */
    if (out->n < CRON_ACTIONS_MAX)
        out->v[out->n++] = a;
}

void cron_state_init(struct cron_state *s)
{
    *s = (struct cron_state){
        .enabled = false,
        .generation = 0,
        .last_rewind_ns = TIME_ZERO,
        .last_tick_when_ns = TIME_ZERO,
        .last_tick_nonce = 0,
    };
}

bool cron_state_is_suspended(const struct cron_state *s)
{
    return !s->enabled || s->last_tick_when_ns == TIME_ZERO ||
           s->last_tick_when_ns == TIME_DISTANT_FUTURE;
}

/*
 * Arms the tick the schedule gives after now, counting from the last
 * rewind.  An unchanged instant keeps its nonce (a tick task already on its
 * way stays valid); a new one gets a new nonce, which makes older tick
 * tasks stale.  DistantFuture ("triggered") and TIME_ZERO (an exhausted
 * cron expression) are recorded but never delivered.
 */
static void schedule_tick(struct cron_state *s, const struct cron_env *env,
                          struct cron_actions *out)
{
    int64_t next = schedule_next(env->schedule, env->now_ns, s->last_rewind_ns);
    if (next == s->last_tick_when_ns)
        return;
    s->generation++;
    s->last_tick_when_ns = next;
    s->last_tick_nonce = env->new_nonce(env->nonce_ctx);
    if (next != TIME_DISTANT_FUTURE && next != TIME_ZERO) {
        push(out, (struct cron_action){
                      .kind = CRON_ACTION_TICK_LATER,
                      .when_ns = next,
                      .nonce = s->last_tick_nonce,
                  });
    }
}

static void rewind_at(struct cron_state *s, const struct cron_env *env,
                      struct cron_actions *out)
{
    s->last_rewind_ns = env->now_ns;
    s->generation++;
    schedule_tick(s, env, out);
}

void cron_machine_enable(struct cron_state *s, const struct cron_env *env,
                         struct cron_actions *out)
{
    if (s->enabled)
        return;
    *s = (struct cron_state){
        .enabled = true,
        .generation = s->generation + 1,
        .last_rewind_ns = env->now_ns,
        .last_tick_when_ns = TIME_ZERO,
        .last_tick_nonce = 0,
    };
    schedule_tick(s, env, out);
}

void cron_machine_disable(struct cron_state *s, struct cron_actions *out)
{
    (void)out; /* disabling emits nothing; kept for symmetry */
    *s = (struct cron_state){
        .enabled = false,
        .generation = s->generation + 1,
        .last_rewind_ns = TIME_ZERO,
        .last_tick_when_ns = TIME_ZERO,
        .last_tick_nonce = 0,
    };
}

void cron_machine_rewind_if_necessary(struct cron_state *s, const struct cron_env *env,
                                      struct cron_actions *out)
{
    if (s->enabled && s->last_tick_when_ns == TIME_ZERO)
        rewind_at(s, env, out);
}

void cron_machine_on_schedule_change(struct cron_state *s, const struct cron_env *env,
                                     struct cron_actions *out)
{
    if (!s->enabled)
        return;
    if (s->last_tick_when_ns == TIME_ZERO) {
        /*
         * A relative schedule that fired and waits for the job to go idle:
         * only an absolute schedule may start ticking without that rewind.
         */
        if (schedule_is_absolute(env->schedule))
            rewind_at(s, env, out);
        return;
    }
    schedule_tick(s, env, out);
}

int cron_machine_on_timer_tick(struct cron_state *s, const struct cron_env *env, int64_t nonce,
                               struct cron_actions *out, char *err, size_t errlen)
{
    if (cron_state_is_suspended(s) || nonce != s->last_tick_nonce)
        return 0;

    int64_t when = s->last_tick_when_ns;
    int64_t now = env->now_ns;
    /* Both are real instants here (not TIME_ZERO), so this cannot overflow. */
    int64_t remaining = when - now;

    if (remaining > CRON_TICK_RETRY_EARLY_NS) {
        /* An intermediary hop of a long wait, or a queue firing early. */
        s->generation++;
        s->last_tick_nonce = env->new_nonce(env->nonce_ctx);
        push(out, (struct cron_action){
                      .kind = CRON_ACTION_TICK_LATER,
                      .when_ns = when,
                      .nonce = s->last_tick_nonce,
                  });
        return 0;
    }
    if (remaining > CRON_TICK_ACCEPT_EARLY_NS) {
        char d[TIME_DURATION_MAX];
        time_format_duration(remaining, d, sizeof(d));
        if (errlen)
            snprintf(err, errlen, "tick happened %s before it was expected", d);
        return -EAGAIN;
    }

    struct cron_env at = *env;
    if (remaining > 0)
        at.now_ns = when; /* so an absolute schedule moves past this instant */

    s->generation++;
    push(out, (struct cron_action){
                  .kind = CRON_ACTION_START_INVOCATION,
                  .when_ns = env->now_ns,
                  .generation = s->generation,
              });
    s->last_tick_when_ns = TIME_ZERO;
    s->last_tick_nonce = 0;
    if (schedule_is_absolute(env->schedule))
        cron_machine_rewind_if_necessary(s, &at, out);
    return 0;
}
