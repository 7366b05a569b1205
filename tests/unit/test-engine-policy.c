/*
 * Unit tests for engine/policy (luci-scheduler-spec.md 1.5, 3.9).
 *
 * The scenario tests use a tiny simulator like LUCI's: triggers arrive,
 * the triage runs instantly after every event, invocations run until the
 * test finishes them.  After each step the test states every invocation
 * started so far (its triggers, oldest first), how many triggers are still
 * pending and which were discarded.  All expectations are the examples of
 * spec 3.9 or worked out by hand from its algorithms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/policy.h"

#define T0 (INT64_C(1442270520) * NS_PER_SEC)
#define SIM_MAX_TRIGGERS 200
#define SIM_MAX_INVS 32

struct sim_trigger {
    char id[16];
    int64_t created;
    int64_t order;
};

struct sim {
    struct policy_params p;
    int64_t now;
    int next_id;
    struct sim_trigger pending[SIM_MAX_TRIGGERS];
    size_t n_pending;
    bool running[SIM_MAX_INVS];
    size_t n_invs;
    char invs[2048];      /* "t1,t2,t3|t4" */
    char discarded[1024]; /* "t1,t2" */
    char log[2048];       /* triage-log messages, one per line */
};

static void sim_log(void *ctx, const char *msg)
{
    struct sim *s = ctx;
    size_t len = strlen(s->log);
    snprintf(s->log + len, sizeof(s->log) - len, "%s\n", msg);
}

static void append_id(char *list, size_t size, const char *sep, const char *id)
{
    size_t len = strlen(list);
    snprintf(list + len, size - len, "%s%s", len ? sep : "", id);
}

static void sim_triage(struct sim *s)
{
    struct trigger t[SIM_MAX_TRIGGERS];
    for (size_t i = 0; i < s->n_pending; i++)
        t[i] = (struct trigger){
            .id = s->pending[i].id,
            .created = s->pending[i].created,
            .order_in_batch = s->pending[i].order,
            .emitted_by_user = "",
        };
    size_t active = 0;
    for (size_t i = 0; i < s->n_invs; i++)
        active += s->running[i];

    struct policy_out out = {.idx = NULL};
    assert_int_equal(policy_run(&s->p, s->now, active, t, s->n_pending, &out, sim_log, s), 0);

    bool gone[SIM_MAX_TRIGGERS] = {false};
    for (size_t r = 0; r < out.n_requests; r++) {
        char ids[1024] = "";
        const struct policy_request *q = &out.requests[r];
        assert_true(q->n > 0);
        for (size_t k = 0; k < q->n; k++) {
            size_t i = out.idx[q->first_idx_pos + k];
            assert_false(gone[i]);
            gone[i] = true;
            append_id(ids, sizeof(ids), ",", s->pending[i].id);
        }
        assert_true(s->n_invs < SIM_MAX_INVS);
        s->running[s->n_invs++] = true;
        append_id(s->invs, sizeof(s->invs), "|", ids);
    }
    for (size_t d = 0; d < out.n_discard; d++) {
        size_t i = out.discard[d];
        assert_false(gone[i]); /* never both requested and discarded */
        gone[i] = true;
        append_id(s->discarded, sizeof(s->discarded), ",", s->pending[i].id);
    }
    size_t keep = 0;
    for (size_t i = 0; i < s->n_pending; i++) {
        if (!gone[i])
            s->pending[keep++] = s->pending[i];
    }
    s->n_pending = keep;
    policy_out_release(&out);
}

/* One step of a scenario. */
enum sim_op { SIM_END, SIM_EMIT, SIM_FINISH, SIM_WAIT };

struct sim_step {
    int line;
    enum sim_op op;
    int arg; /* EMIT: how many triggers; FINISH: invocation index; WAIT: seconds */
    const char *invs;
    size_t pending;
    const char *discarded;
    const char *log; /* a message the triage log must contain after this step, or NULL */
};

static void run_sim(const struct policy_params *p, const struct sim_step *steps)
{
    struct sim *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->p = *p;
    s->now = T0;
    s->next_id = 1;

    for (const struct sim_step *st = steps; st->op != SIM_END; st++) {
        s->log[0] = '\0';
        switch (st->op) {
        case SIM_EMIT:
            for (int i = 0; i < st->arg; i++) {
                struct sim_trigger *t = &s->pending[s->n_pending++];
                /* Batches emitted at one instant stay ordered by a running counter. */
                t->created = s->now;
                t->order = s->next_id;
                snprintf(t->id, sizeof(t->id), "t%d", s->next_id++);
            }
            sim_triage(s);
            break;
        case SIM_FINISH:
            assert_true(s->running[st->arg]);
            s->running[st->arg] = false;
            sim_triage(s);
            break;
        case SIM_WAIT:
            s->now += st->arg * NS_PER_SEC;
            break;
        case SIM_END:
            break;
        }
        if (strcmp(s->invs, st->invs) != 0 || s->n_pending != st->pending ||
            strcmp(s->discarded, st->discarded) != 0 ||
            (st->log && !strstr(s->log, st->log))) {
            print_error("step at line %d: invs '%s' pending %zu discarded '%s' log '%s'\n",
                        st->line, s->invs, s->n_pending, s->discarded, s->log);
            fail();
        }
    }
    free(s);
}

static struct policy_params greedy(int64_t conc, int64_t batch)
{
    return (struct policy_params){.kind = CFG_POLICY_GREEDY_BATCHING,
                                  .max_concurrent = conc,
                                  .max_batch = batch};
}

static struct policy_params logarithmic(int64_t conc, int64_t batch, double base)
{
    return (struct policy_params){.kind = CFG_POLICY_LOGARITHMIC_BATCHING,
                                  .max_concurrent = conc,
                                  .max_batch = batch,
                                  .log_base = base};
}

static struct policy_params newest(int64_t conc, int64_t timeout_ns)
{
    return (struct policy_params){.kind = CFG_POLICY_NEWEST_FIRST,
                                  .max_concurrent = conc,
                                  .pending_timeout_ns = timeout_ns};
}

#define END {__LINE__, SIM_END, 0, "", 0, "", NULL}

static void test_greedy(void **state)
{
    (void)state;
    /* Spec 3.9: Greedy(2 concurrent, batch 1000). */
    static const struct sim_step a[] = {
        {__LINE__, SIM_EMIT, 3, "t1,t2,t3", 0, "", NULL},
        {__LINE__, SIM_WAIT, 30, "t1,t2,t3", 0, "", NULL},
        {__LINE__, SIM_EMIT, 2, "t1,t2,t3|t4,t5", 0, "", NULL},
        {__LINE__, SIM_WAIT, 20, "t1,t2,t3|t4,t5", 0, "", NULL},
        {__LINE__, SIM_EMIT, 2, "t1,t2,t3|t4,t5", 2, "",
         "Max concurrent invocations is 2 and there's 2 running => refusing to launch more\n"},
        {__LINE__, SIM_FINISH, 0, "t1,t2,t3|t4,t5|t6,t7", 0, "", NULL},
        END,
    };
    struct policy_params p = greedy(2, 1000);
    run_sim(&p, a);

    /* Spec 3.9: Greedy(2, batch 3). */
    static const struct sim_step b[] = {
        {__LINE__, SIM_EMIT, 4, "t1,t2,t3|t4", 0, "", NULL},
        {__LINE__, SIM_EMIT, 4, "t1,t2,t3|t4", 4, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t1,t2,t3|t4|t5,t6,t7", 1, "", NULL},
        {__LINE__, SIM_FINISH, 1, "t1,t2,t3|t4|t5,t6,t7|t8", 0, "", NULL},
        END,
    };
    p = greedy(2, 3);
    run_sim(&p, b);

    /* The default policy: one at a time, everything pending in one batch. */
    static const struct sim_step c[] = {
        {__LINE__, SIM_EMIT, 1, "t1", 0, "", NULL},
        {__LINE__, SIM_EMIT, 1, "t1", 1, "",
         "Max concurrent invocations is 1 and there's 1 running => refusing to launch more\n"},
        {__LINE__, SIM_EMIT, 2, "t1", 3, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t1|t2,t3,t4", 0, "", NULL},
        END,
    };
    policy_params_default(&p);
    run_sim(&p, c);

    /* Three free slots and batch 2: one triage starts two invocations. */
    static const struct sim_step d[] = {
        {__LINE__, SIM_EMIT, 3, "t1,t2|t3", 0, "", NULL},
        {__LINE__, SIM_EMIT, 5, "t1,t2|t3|t4,t5", 3, "", NULL},
        END,
    };
    p = greedy(3, 2);
    run_sim(&p, d);
}

static void test_logarithmic(void **state)
{
    (void)state;
    struct policy_params p = logarithmic(1, 5, 2.0);
    /* Spec 3.9: 1 trigger -> [t1]. */
    static const struct sim_step a[] = {
        {__LINE__, SIM_EMIT, 1, "t1", 0, "", NULL},
        END,
    };
    run_sim(&p, a);
    /* 3 triggers -> [t1] (log2 3 = 1.58). */
    static const struct sim_step b[] = {
        {__LINE__, SIM_EMIT, 3, "t1", 2, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t1|t2", 1, "", NULL},
        END,
    };
    run_sim(&p, b);
    /* 2^7 triggers -> 5 (log2 128 = 7, capped by the batch size). */
    static const struct sim_step c[] = {
        {__LINE__, SIM_EMIT, 128, "t1,t2,t3,t4,t5", 123, "", NULL},
        END,
    };
    run_sim(&p, c);
    /* 5 triggers -> [t1,t2]; later 11 pending -> [t3,t4,t5]. */
    static const struct sim_step d[] = {
        {__LINE__, SIM_EMIT, 5, "t1,t2", 3, "", NULL},
        {__LINE__, SIM_EMIT, 8, "t1,t2", 11, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t1,t2|t3,t4,t5", 8, "", NULL},
        /* 8 pending: log2 8 = 3. */
        {__LINE__, SIM_FINISH, 1, "t1,t2|t3,t4,t5|t6,t7,t8", 5, "", NULL},
        END,
    };
    run_sim(&p, d);
    /* Base 10: 99 pending -> 1, 100 pending -> 2. */
    static const struct sim_step e[] = {
        {__LINE__, SIM_EMIT, 1, "t1", 0, "", NULL},
        {__LINE__, SIM_EMIT, 100, "t1", 100, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t1|t2,t3", 98, "", NULL},
        {__LINE__, SIM_FINISH, 1, "t1|t2,t3|t4", 97, "", NULL},
        END,
    };
    p = logarithmic(1, 1000, 10.0);
    run_sim(&p, e);
}

static void test_newest_first(void **state)
{
    (void)state;
    /* Spec 3.9: NewestFirst(1, 300h): t3, then t2, then t1. */
    static const struct sim_step a[] = {
        {__LINE__, SIM_EMIT, 3, "t3", 2, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t3|t2", 1, "", NULL},
        {__LINE__, SIM_FINISH, 1, "t3|t2|t1", 0, "", NULL},
        END,
    };
    struct policy_params p = newest(1, 300 * NS_PER_HOUR);
    run_sim(&p, a);

    /* Timeout = 2 x run time (10 s), 4 triggers: t4, t3, then t1 and t2 expire. */
    static const struct sim_step b[] = {
        {__LINE__, SIM_EMIT, 4, "t4", 3, "", NULL},
        {__LINE__, SIM_WAIT, 10, "t4", 3, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t4|t3", 2, "", NULL},
        {__LINE__, SIM_WAIT, 10, "t4|t3", 2, "", NULL},
        {__LINE__, SIM_FINISH, 1, "t4|t3", 0, "t1,t2", NULL},
        END,
    };
    p = newest(1, 20 * NS_PER_SEC);
    run_sim(&p, b);

    /* 1 ns timeout: each triage runs the newest; the older ones expire. */
    static const struct sim_step c[] = {
        {__LINE__, SIM_EMIT, 3, "t3", 2, "", NULL},
        {__LINE__, SIM_WAIT, 1, "t3", 2, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t3", 0, "t1,t2", NULL},
        {__LINE__, SIM_EMIT, 2, "t3|t5", 1, "t1,t2", NULL},
        {__LINE__, SIM_WAIT, 1, "t3|t5", 1, "t1,t2", NULL},
        {__LINE__, SIM_FINISH, 1, "t3|t5", 0, "t1,t2,t4", NULL},
        END,
    };
    p = newest(1, 1);
    run_sim(&p, c);

    /* 2 concurrent, 6 triggers: the two newest start, newest first. */
    static const struct sim_step d[] = {
        {__LINE__, SIM_EMIT, 6, "t6|t5", 4, "", NULL},
        {__LINE__, SIM_FINISH, 0, "t6|t5|t4", 3, "", NULL},
        {__LINE__, SIM_FINISH, 2, "t6|t5|t4|t3", 2, "", NULL},
        END,
    };
    p = newest(2, 300 * NS_PER_HOUR);
    run_sim(&p, d);

    /* No free slot: expired triggers are discarded all the same. */
    static const struct sim_step e[] = {
        {__LINE__, SIM_EMIT, 1, "t1", 0, "", NULL},
        {__LINE__, SIM_WAIT, 5, "t1", 0, "", NULL},
        {__LINE__, SIM_EMIT, 1, "t1", 1, "",
         "Max concurrent invocations is 1 and there's 1 running => refusing to launch more\n"},
        {__LINE__, SIM_WAIT, 30, "t1", 1, "", NULL},
        {__LINE__, SIM_EMIT, 1, "t1", 1, "t2", NULL},
        END,
    };
    p = newest(1, 20 * NS_PER_SEC);
    run_sim(&p, e);
}

/* Checks one policy_run: requests as "t1,t2@user" ("@-" when mixed), joined by "|". */
static void check_run(int line, const struct policy_params *p, size_t n_active,
                      const struct trigger *t, size_t n, const char *want)
{
    struct policy_out out = {.idx = NULL};
    assert_int_equal(policy_run(p, T0, n_active, t, n, &out, NULL, NULL), 0);
    char got[512] = "";
    for (size_t r = 0; r < out.n_requests; r++) {
        char one[256] = "";
        for (size_t k = 0; k < out.requests[r].n; k++)
            append_id(one, sizeof(one), ",", t[out.idx[out.requests[r].first_idx_pos + k]].id);
        const char *u = out.requests[r].triggered_by;
        size_t len = strlen(one);
        snprintf(one + len, sizeof(one) - len, "@%s", u ? u : "-");
        append_id(got, sizeof(got), "|", one);
    }
    policy_out_release(&out);
    if (strcmp(got, want) != 0) {
        print_error("line %d: got '%s', want '%s'\n", line, got, want);
        fail();
    }
}

static void test_triggered_by(void **state)
{
    (void)state;
    const struct trigger same[] = {
        {.id = "a", .created = T0, .emitted_by_user = "user:a@example.com"},
        {.id = "b", .created = T0 + 1, .emitted_by_user = "user:a@example.com"},
    };
    const struct trigger mixed[] = {
        {.id = "a", .created = T0, .emitted_by_user = "user:a@example.com"},
        {.id = "b", .created = T0 + 1, .emitted_by_user = ""},
    };
    const struct trigger service[] = {
        {.id = "a", .created = T0, .emitted_by_user = ""},
        {.id = "b", .created = T0 + 1, .emitted_by_user = ""},
    };
    const struct trigger split[] = {
        {.id = "a", .created = T0, .emitted_by_user = "user:a"},
        {.id = "b", .created = T0 + 1, .emitted_by_user = "user:a"},
        {.id = "c", .created = T0 + 2, .emitted_by_user = "user:b"},
    };
    struct policy_params g = greedy(1, 1000), g3 = greedy(3, 2), n2 = newest(2, NS_PER_HOUR);
    check_run(__LINE__, &g, 0, same, 2, "a,b@user:a@example.com");
    check_run(__LINE__, &g, 0, mixed, 2, "a,b@-");
    check_run(__LINE__, &g, 0, service, 2, "a,b@");
    check_run(__LINE__, &g3, 0, split, 3, "a,b@user:a|c@user:b");
    check_run(__LINE__, &n2, 0, mixed, 2, "b@|a@user:a@example.com");
    /* Busy: nothing, whatever the triggers. */
    check_run(__LINE__, &g, 1, same, 2, "");
    check_run(__LINE__, &g3, 5, split, 3, "");
    check_run(__LINE__, &n2, 2, same, 2, "");
}

static void count_log(void *ctx, const char *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

static void test_run_errors(void **state)
{
    (void)state;
    struct policy_params p;
    policy_params_default(&p);
    struct policy_out out = {.idx = NULL};
    int logged = 0;

    /* No triggers: nothing to do and nothing to say, even when busy. */
    assert_int_equal(policy_run(&p, T0, 3, NULL, 0, &out, count_log, &logged), 0);
    assert_int_equal(out.n_requests + out.n_discard + out.n_idx, 0);
    assert_int_equal(logged, 0);
    policy_out_release(&out);

    /* Not sorted oldest first. */
    const struct trigger unsorted[] = {
        {.id = "b", .created = T0 + 1, .emitted_by_user = ""},
        {.id = "a", .created = T0, .emitted_by_user = ""},
    };
    assert_int_equal(policy_run(&p, T0, 0, unsorted, 2, &out, NULL, NULL), -EINVAL);

    /* More than POLICY_MAX_TRIGGERS. */
    struct trigger *many = calloc(POLICY_MAX_TRIGGERS + 1, sizeof(*many));
    assert_non_null(many);
    for (size_t i = 0; i <= POLICY_MAX_TRIGGERS; i++)
        many[i] = (struct trigger){.id = "x", .created = T0 + (int64_t)i};
    assert_int_equal(policy_run(&p, T0, 0, many, POLICY_MAX_TRIGGERS + 1, &out, NULL, NULL),
                     -E2BIG);
    assert_int_equal(policy_run(&p, T0, 0, many, POLICY_MAX_TRIGGERS, &out, NULL, NULL), 0);
    assert_int_equal(out.n_requests, 1);
    assert_int_equal(out.requests[0].n, 1000);
    policy_out_release(&out);
    free(many);

    /* Bad parameters. */
    struct policy_params bad = greedy(0, 10);
    assert_int_equal(policy_run(&bad, T0, 0, NULL, 0, &out, NULL, NULL), -EINVAL);
    bad = logarithmic(1, 10, 1.0);
    assert_int_equal(policy_run(&bad, T0, 0, NULL, 0, &out, NULL, NULL), -EINVAL);
}

static void test_compare(void **state)
{
    (void)state;
    static const struct {
        int line;
        struct trigger a, b;
        int want;
    } rows[] = {
        {__LINE__, {.id = "b", .created = 1}, {.id = "a", .created = 2}, -1},
        {__LINE__, {.id = "a", .created = 2}, {.id = "b", .created = 1}, 1},
        {__LINE__, {.id = "b", .created = 1, .order_in_batch = 0},
         {.id = "a", .created = 1, .order_in_batch = 1}, -1},
        {__LINE__, {.id = "a", .created = 1, .order_in_batch = 2},
         {.id = "b", .created = 1, .order_in_batch = 1}, 1},
        {__LINE__, {.id = "a", .created = 1}, {.id = "b", .created = 1}, -1},
        {__LINE__, {.id = "b", .created = 1}, {.id = "a", .created = 1}, 1},
        {__LINE__, {.id = "a", .created = 1}, {.id = "a", .created = 1}, 0},
        {__LINE__, {.id = "z", .created = TIME_ZERO}, {.id = "a", .created = 0}, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int got = trigger_compare(&rows[i].a, &rows[i].b);
        int sign = got < 0 ? -1 : got > 0;
        if (sign != rows[i].want) {
            print_error("line %d: got %d\n", rows[i].line, got);
            fail();
        }
    }
}

static void test_from_config(void **state)
{
    (void)state;
    static const struct {
        int line;
        struct cfg_policy raw;
        int rc;
        const char *err;
        struct policy_params want;
    } rows[] = {
        {__LINE__, {.present = false, .kind = 3}, 0, NULL,
         {.kind = CFG_POLICY_GREEDY_BATCHING, .max_concurrent = 1, .max_batch = 1000}},
        {__LINE__, {.present = true}, 0, NULL,
         {.kind = CFG_POLICY_GREEDY_BATCHING, .max_concurrent = 1, .max_batch = 1000}},
        {__LINE__,
         {.present = true, .kind = 1, .max_concurrent_invocations = 5, .max_batch_size = 7},
         0, NULL, {.kind = CFG_POLICY_GREEDY_BATCHING, .max_concurrent = 5, .max_batch = 7}},
        {__LINE__, {.present = true, .kind = 2, .log_base = 2.0f}, 0, NULL,
         {.kind = CFG_POLICY_LOGARITHMIC_BATCHING, .max_concurrent = 1, .max_batch = 1000,
          .log_base = 2.0}},
        {__LINE__, {.present = true, .kind = 2, .log_base = 1.0001f}, 0, NULL,
         {.kind = CFG_POLICY_LOGARITHMIC_BATCHING, .max_concurrent = 1, .max_batch = 1000,
          .log_base = (double)1.0001f}},
        {__LINE__, {.present = true, .kind = 2, .log_base = 1.0f}, -EINVAL,
         "log_base should be more or equal than 1.0001", {0}},
        {__LINE__, {.present = true, .kind = 2}, -EINVAL,
         "log_base should be more or equal than 1.0001", {0}},
        {__LINE__, {.present = true, .kind = 3}, 0, NULL,
         {.kind = CFG_POLICY_NEWEST_FIRST, .max_concurrent = 1, .max_batch = 1000,
          .pending_timeout_ns = 604800 * NS_PER_SEC}},
        {__LINE__, {.present = true, .kind = 3, .max_concurrent_invocations = 2,
                    .pending_timeout_ns = NS_PER_HOUR}, 0, NULL,
         {.kind = CFG_POLICY_NEWEST_FIRST, .max_concurrent = 2, .max_batch = 1000,
          .pending_timeout_ns = NS_PER_HOUR}},
        {__LINE__, {.present = true, .kind = 3, .pending_timeout_ns = -NS_PER_HOUR}, -EINVAL,
         "pending_timeout should be positive", {0}},
        {__LINE__, {.present = true, .max_concurrent_invocations = -1}, -EINVAL,
         "max_concurrent_invocations should be positive", {0}},
        {__LINE__, {.present = true, .kind = 3, .max_concurrent_invocations = -1}, -EINVAL,
         "max_concurrent_invocations should be positive", {0}},
        {__LINE__, {.present = true, .kind = 2, .max_batch_size = -5, .log_base = 2.0f},
         -EINVAL, "max_batch_size should be positive", {0}},
        {__LINE__, {.present = true, .kind = 7}, -EINVAL, "unrecognized policy kind 7", {0}},
        {__LINE__, {.present = true, .kind = -1}, -EINVAL, "unrecognized policy kind -1", {0}},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct policy_params got = {.kind = 99};
        char err[128] = "";
        int rc = policy_params_from_config(&rows[i].raw, &got, err, sizeof(err));
        bool ok = rc == rows[i].rc;
        if (ok && rc == 0)
            ok = got.kind == rows[i].want.kind &&
                 got.max_concurrent == rows[i].want.max_concurrent &&
                 got.max_batch == rows[i].want.max_batch &&
                 (got.kind != CFG_POLICY_LOGARITHMIC_BATCHING ||
                  got.log_base == rows[i].want.log_base) &&
                 (got.kind != CFG_POLICY_NEWEST_FIRST ||
                  got.pending_timeout_ns == rows[i].want.pending_timeout_ns);
        if (ok && rc < 0)
            ok = strcmp(err, rows[i].err) == 0 && got.kind == 99; /* *ret untouched */
        if (!ok) {
            print_error("line %d: rc %d err '%s' kind %d conc %" PRId64 " batch %" PRId64 "\n",
                        rows[i].line, rc, err, (int)got.kind, got.max_concurrent, got.max_batch);
            fail();
        }
    }

    struct policy_params p;
    assert_int_equal(policy_params_from_config(NULL, &p, NULL, 0), 0);
    assert_int_equal(p.kind, CFG_POLICY_GREEDY_BATCHING);
    assert_int_equal(p.max_concurrent, 1);
    assert_int_equal(p.max_batch, 1000);

    assert_string_equal(policy_kind_name(1), "GREEDY_BATCHING");
    assert_string_equal(policy_kind_name(2), "LOGARITHMIC_BATCHING");
    assert_string_equal(policy_kind_name(3), "NEWEST_FIRST");
    assert_string_equal(policy_kind_name(0), "UNDEFINED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_logarithmic),
        cmocka_unit_test(test_newest_first),
        cmocka_unit_test(test_triggered_by),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
