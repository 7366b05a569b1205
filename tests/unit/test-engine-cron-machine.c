/*
 * Unit tests for engine/cron_machine (luci-scheduler-spec.md 2.5-2.7,
 * vectors 12-19, and the worked generation numbers).
 *
 * Each scenario is a list of steps run against one machine; every step
 * states the whole outcome: return code, generation, the actions emitted
 * by that step, the armed tick afterwards and whether the machine is
 * suspended.  Nonces come from a counter (1, 2, 3, ...) so that the
 * expected nonce of every action can be written down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/cron_machine.h"
#include "schedule/schedule.h"

enum op { OP_END, OP_ENABLE, OP_DISABLE, OP_REWIND, OP_CHANGE, OP_TICK };

struct want_action {
    char kind; /* 'T' tick later (when, nonce), 'S' start invocation (generation) */
    const char *when;
    int64_t num;
};

struct step {
    int line;
    enum op op;
    const char *at;    /* now, RFC 3339 */
    const char *sched; /* effective schedule for this step (NULL = unchanged) */
    int64_t nonce;     /* OP_TICK: the nonce the tick carries */
    int rc;
    const char *err; /* expected error text when rc < 0 */
    int64_t gen;
    size_t n_actions;
    struct want_action a[2];
    const char *tick; /* armed tick: RFC 3339, "zero" or "future" */
    bool suspended;
};

struct nonce_counter {
    int64_t next;
};

static int64_t counter_nonce(void *ctx)
{
    struct nonce_counter *c = ctx;
    return c->next++;
}

static int64_t at(const char *s)
{
    if (strcmp(s, "zero") == 0)
        return TIME_ZERO;
    if (strcmp(s, "future") == 0)
        return TIME_DISTANT_FUTURE;
    int64_t ns;
    if (time_parse_rfc3339(s, &ns) < 0) {
        print_error("bad time in test: %s\n", s);
        fail();
    }
    return ns;
}

static struct schedule *parse(const char *text)
{
    struct schedule_options opts = {.strict_luci = true};
    struct schedule *s = NULL;
    char err[256];
    if (schedule_parse(text, &opts, &s, err, sizeof(err)) < 0) {
        print_error("bad schedule in test: %s: %s\n", text, err);
        fail();
    }
    return s;
}

static void run_scenario(const struct step *steps)
{
    struct cron_state st;
    struct nonce_counter nc = {.next = 1};
    struct schedule *sched = NULL;
    cron_state_init(&st);

    for (const struct step *s = steps; s->op != OP_END; s++) {
        if (s->sched) {
            schedule_free(sched);
            sched = parse(s->sched);
        }
        struct cron_env env = {
            .now_ns = at(s->at),
            .schedule = sched,
            .new_nonce = counter_nonce,
            .nonce_ctx = &nc,
        };
        struct cron_actions out = {.n = 0};
        char err[128] = "";
        int rc = 0;
        switch (s->op) {
        case OP_ENABLE:
            cron_machine_enable(&st, &env, &out);
            break;
        case OP_DISABLE:
            cron_machine_disable(&st, &out);
            break;
        case OP_REWIND:
            cron_machine_rewind_if_necessary(&st, &env, &out);
            break;
        case OP_CHANGE:
            cron_machine_on_schedule_change(&st, &env, &out);
            break;
        case OP_TICK:
            rc = cron_machine_on_timer_tick(&st, &env, s->nonce, &out, err, sizeof(err));
            break;
        case OP_END:
            break;
        }

        bool ok = rc == s->rc && st.generation == s->gen && out.n == s->n_actions &&
                  st.last_tick_when_ns == at(s->tick) &&
                  cron_state_is_suspended(&st) == s->suspended;
        if (ok && s->err)
            ok = strcmp(err, s->err) == 0;
        for (size_t i = 0; ok && i < out.n; i++) {
            const struct cron_action *a = &out.v[i];
            if (s->a[i].kind == 'T')
                ok = a->kind == CRON_ACTION_TICK_LATER && a->when_ns == at(s->a[i].when) &&
                     a->nonce == s->a[i].num && a->nonce == st.last_tick_nonce;
            else
                ok = a->kind == CRON_ACTION_START_INVOCATION && a->generation == s->a[i].num &&
                     a->when_ns == env.now_ns;
        }
        if (!ok) {
            print_error("step at line %d: rc %d err '%s' gen %" PRId64 " actions %zu tick %" PRId64
                        "\n",
                        s->line, rc, err, st.generation, out.n, st.last_tick_when_ns);
            fail();
        }
    }
    schedule_free(sched);
}

#define T(when, nonce) {'T', when, nonce}
#define S(gen) {'S', NULL, gen}

/* Vectors 12-15: `0 * * * *` enabled at 00:15, early ticks, the real one. */
static const struct step hourly[] = {
    {__LINE__, OP_ENABLE, "2017-01-01T00:15:00Z", "0 * * * *", 0, 0, NULL, 2, 1,
     {T("2017-01-01T01:00:00Z", 1)}, "2017-01-01T01:00:00Z", false},
    /* Enabling again is a no-op. */
    {__LINE__, OP_ENABLE, "2017-01-01T00:16:00Z", NULL, 0, 0, NULL, 2, 0, {{0}},
     "2017-01-01T01:00:00Z", false},
    /* A rewind is a no-op while a tick is armed. */
    {__LINE__, OP_REWIND, "2017-01-01T00:16:00Z", NULL, 0, 0, NULL, 2, 0, {{0}},
     "2017-01-01T01:00:00Z", false},
    /* Vector 13: one minute early: re-armed for 01:00 with a new nonce. */
    {__LINE__, OP_TICK, "2017-01-01T00:59:00Z", NULL, 1, 0, NULL, 3, 1,
     {T("2017-01-01T01:00:00Z", 2)}, "2017-01-01T01:00:00Z", false},
    /* The old nonce is now stale: ignored. */
    {__LINE__, OP_TICK, "2017-01-01T01:00:00Z", NULL, 1, 0, NULL, 3, 0, {{0}},
     "2017-01-01T01:00:00Z", false},
    /* Vector 14: 200 ms early is an error; nothing changes. */
    {__LINE__, OP_TICK, "2017-01-01T00:59:59.8Z", NULL, 2, -EAGAIN,
     "tick happened 200ms before it was expected", 3, 0, {{0}}, "2017-01-01T01:00:00Z", false},
    /* Exactly 1 s early is still an error (the re-arm is for > 1 s). */
    {__LINE__, OP_TICK, "2017-01-01T00:59:59Z", NULL, 2, -EAGAIN,
     "tick happened 1s before it was expected", 3, 0, {{0}}, "2017-01-01T01:00:00Z", false},
    /*
     * Vector 15: 20 ms early is accepted as 01:00: invocation (gen 4), then
     * the absolute schedule rewinds (gen 5) and arms 02:00 (gen 6) - not
     * 01:00 again, which an uncorrected now would give.
     */
    {__LINE__, OP_TICK, "2017-01-01T00:59:59.98Z", NULL, 2, 0, NULL, 6, 2,
     {S(4), T("2017-01-01T02:00:00Z", 3)}, "2017-01-01T02:00:00Z", false},
    /* A late tick (10 min) is accepted; the next is computed from now. */
    {__LINE__, OP_TICK, "2017-01-01T02:10:00Z", NULL, 3, 0, NULL, 9, 2,
     {S(7), T("2017-01-01T03:00:00Z", 4)}, "2017-01-01T03:00:00Z", false},
    /* Exactly 50 ms early is accepted too. */
    {__LINE__, OP_TICK, "2017-01-01T02:59:59.95Z", NULL, 4, 0, NULL, 12, 2,
     {S(10), T("2017-01-01T04:00:00Z", 5)}, "2017-01-01T04:00:00Z", false},
    /* 51 ms early is not. */
    {__LINE__, OP_TICK, "2017-01-01T03:59:59.949Z", NULL, 5, -EAGAIN,
     "tick happened 51ms before it was expected", 12, 0, {{0}}, "2017-01-01T04:00:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/*
 * Vector 16 and the generation facts: `with 30m interval` enabled at
 * 00:00 ticks at 00:30 (trigger cron:v1:3); the tick arrives at 00:31; the
 * job goes idle at 00:40 and the rewind arms 01:10; the second trigger is
 * cron:v1:6.
 */
static const struct step relative[] = {
    {__LINE__, OP_ENABLE, "2017-01-01T00:00:00Z", "with 30m interval", 0, 0, NULL, 2, 1,
     {T("2017-01-01T00:30:00Z", 1)}, "2017-01-01T00:30:00Z", false},
    {__LINE__, OP_TICK, "2017-01-01T00:31:00Z", NULL, 1, 0, NULL, 3, 1, {S(3)}, "zero", true},
    /* A second delivery of the same tick task: suspended, ignored. */
    {__LINE__, OP_TICK, "2017-01-01T00:32:00Z", NULL, 1, 0, NULL, 3, 0, {{0}}, "zero", true},
    /* A relative schedule changing to another relative one waits for the rewind. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:35:00Z", "with 30m interval", 0, 0, NULL, 3, 0, {{0}},
     "zero", true},
    {__LINE__, OP_REWIND, "2017-01-01T00:40:00Z", NULL, 0, 0, NULL, 5, 1,
     {T("2017-01-01T01:10:00Z", 2)}, "2017-01-01T01:10:00Z", false},
    {__LINE__, OP_TICK, "2017-01-01T01:10:00Z", NULL, 2, 0, NULL, 6, 1, {S(6)}, "zero", true},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/* Vector 17: `0 * * * *` enabled at 00:00, changed at 00:10 to `with 30m interval`. */
static const struct step to_relative[] = {
    {__LINE__, OP_ENABLE, "2017-01-01T00:00:00Z", "0 * * * *", 0, 0, NULL, 2, 1,
     {T("2017-01-01T01:00:00Z", 1)}, "2017-01-01T01:00:00Z", false},
    /* Counts from the rewind at 00:00, not from 00:10. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:10:00Z", "with 30m interval", 0, 0, NULL, 3, 1,
     {T("2017-01-01T00:30:00Z", 2)}, "2017-01-01T00:30:00Z", false},
    /* The same schedule again: same instant, nothing new, nonce kept. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:11:00Z", "with 30m interval", 0, 0, NULL, 3, 0, {{0}},
     "2017-01-01T00:30:00Z", false},
    /* The tick task armed for 01:00 is stale now. */
    {__LINE__, OP_TICK, "2017-01-01T01:00:00Z", NULL, 1, 0, NULL, 3, 0, {{0}},
     "2017-01-01T00:30:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/*
 * Vector 18: a relative job waiting for its rewind changes at 01:30 to
 * `0 * * * *` (rewinds at once: 02:00), then to `45 * * * *` (01:45).
 */
static const struct step to_absolute[] = {
    {__LINE__, OP_ENABLE, "2017-01-01T00:00:00Z", "with 1h interval", 0, 0, NULL, 2, 1,
     {T("2017-01-01T01:00:00Z", 1)}, "2017-01-01T01:00:00Z", false},
    {__LINE__, OP_TICK, "2017-01-01T01:00:00Z", NULL, 1, 0, NULL, 3, 1, {S(3)}, "zero", true},
    {__LINE__, OP_CHANGE, "2017-01-01T01:30:00Z", "0 * * * *", 0, 0, NULL, 5, 1,
     {T("2017-01-01T02:00:00Z", 2)}, "2017-01-01T02:00:00Z", false},
    {__LINE__, OP_CHANGE, "2017-01-01T01:30:00Z", "45 * * * *", 0, 0, NULL, 6, 1,
     {T("2017-01-01T01:45:00Z", 3)}, "2017-01-01T01:45:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/* Vector 19, pause/resume and disable. */
static const struct step triggered[] = {
    /* Triggered: parked at DistantFuture, no action, but generation 2 all the same. */
    {__LINE__, OP_ENABLE, "2017-01-01T00:00:00Z", "triggered", 0, 0, NULL, 2, 0, {{0}}, "future",
     true},
    {__LINE__, OP_TICK, "2017-01-01T00:00:00Z", NULL, 1, 0, NULL, 2, 0, {{0}}, "future", true},
    {__LINE__, OP_REWIND, "2017-01-01T00:05:00Z", NULL, 0, 0, NULL, 2, 0, {{0}}, "future", true},
    /* The config gives it a relative schedule: counts from the enable. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:05:00Z", "with 10m interval", 0, 0, NULL, 3, 1,
     {T("2017-01-01T00:10:00Z", 2)}, "2017-01-01T00:10:00Z", false},
    /* Pause: the effective schedule is "triggered"; the tick is disarmed silently. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:06:00Z", "triggered", 0, 0, NULL, 4, 0, {{0}}, "future",
     true},
    {__LINE__, OP_TICK, "2017-01-01T00:10:00Z", NULL, 2, 0, NULL, 4, 0, {{0}}, "future", true},
    /* Resume at 00:20: max(00:00 + 10m, now) = now, the job runs at once. */
    {__LINE__, OP_CHANGE, "2017-01-01T00:20:00Z", "with 10m interval", 0, 0, NULL, 5, 1,
     {T("2017-01-01T00:20:00Z", 4)}, "2017-01-01T00:20:00Z", false},
    /* Disable: everything forgotten, everything but enable ignored. */
    {__LINE__, OP_DISABLE, "2017-01-01T00:20:00Z", NULL, 0, 0, NULL, 6, 0, {{0}}, "zero", true},
    {__LINE__, OP_TICK, "2017-01-01T00:20:00Z", NULL, 4, 0, NULL, 6, 0, {{0}}, "zero", true},
    {__LINE__, OP_REWIND, "2017-01-01T00:21:00Z", NULL, 0, 0, NULL, 6, 0, {{0}}, "zero", true},
    {__LINE__, OP_CHANGE, "2017-01-01T00:21:00Z", "0 * * * *", 0, 0, NULL, 6, 0, {{0}}, "zero",
     true},
    /* Enable again: rewinds at now. */
    {__LINE__, OP_ENABLE, "2017-01-01T00:22:00Z", NULL, 0, 0, NULL, 8, 1,
     {T("2017-01-01T01:00:00Z", 5)}, "2017-01-01T01:00:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/*
 * A long wait: `59 23 31 12 *` (vector 22) from 2015-09-14; ticks that
 * arrive days early (intermediary hops of the host) re-arm the same instant.
 */
static const struct step long_wait[] = {
    {__LINE__, OP_ENABLE, "2015-09-14T22:42:00Z", "59 23 31 12 *", 0, 0, NULL, 2, 1,
     {T("2015-12-31T23:59:00Z", 1)}, "2015-12-31T23:59:00Z", false},
    {__LINE__, OP_TICK, "2015-09-29T22:42:00Z", NULL, 1, 0, NULL, 3, 1,
     {T("2015-12-31T23:59:00Z", 2)}, "2015-12-31T23:59:00Z", false},
    {__LINE__, OP_TICK, "2015-10-14T22:42:00Z", NULL, 2, 0, NULL, 4, 1,
     {T("2015-12-31T23:59:00Z", 3)}, "2015-12-31T23:59:00Z", false},
    {__LINE__, OP_TICK, "2015-12-31T23:59:00Z", NULL, 3, 0, NULL, 7, 2,
     {S(5), T("2016-12-31T23:59:00Z", 4)}, "2016-12-31T23:59:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

/* A cron expression that never fires again: no tick, suspended (spec 2.3). */
static const struct step exhausted[] = {
    {__LINE__, OP_ENABLE, "2017-01-01T00:00:00Z", "0 0 0 1 1 * 2016", 0, 0, NULL, 1, 0, {{0}},
     "zero", true},
    {__LINE__, OP_REWIND, "2017-01-01T00:01:00Z", NULL, 0, 0, NULL, 2, 0, {{0}}, "zero", true},
    {__LINE__, OP_CHANGE, "2017-01-01T00:02:00Z", "0 * * * *", 0, 0, NULL, 4, 1,
     {T("2017-01-01T01:00:00Z", 1)}, "2017-01-01T01:00:00Z", false},
    {__LINE__, OP_END, "", NULL, 0, 0, NULL, 0, 0, {{0}}, "", false},
};

static void test_scenarios(void **state)
{
    (void)state;
    run_scenario(hourly);
    run_scenario(relative);
    run_scenario(to_relative);
    run_scenario(to_absolute);
    run_scenario(triggered);
    run_scenario(long_wait);
    run_scenario(exhausted);
}

static void test_suspended(void **state)
{
    (void)state;
    static const struct {
        int line;
        bool enabled;
        int64_t when;
        bool want;
    } rows[] = {
        {__LINE__, true, INT64_C(1483232400) * NS_PER_SEC, false},
        {__LINE__, false, INT64_C(1483232400) * NS_PER_SEC, true},
        {__LINE__, true, TIME_ZERO, true},
        {__LINE__, true, TIME_DISTANT_FUTURE, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct cron_state s;
        cron_state_init(&s);
        s.enabled = rows[i].enabled;
        s.last_tick_when_ns = rows[i].when;
        if (cron_state_is_suspended(&s) != rows[i].want) {
            print_error("line %d\n", rows[i].line);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_suspended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
