/*
 * test-engine-runtime.c - the durable engine on a manual clock, over a
 * SQLite store in a temp directory, with a fake "noop" task manager whose
 * behaviour is chosen per job.  The timelines are those of spec 3.22 (T0 =
 * 2015-09-14 22:42:00 UTC), worked out by hand from spec 2.5, 3.8 and
 * 3.11-3.16: triage at the next even second, launch 1 s after creation.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/controller.h"
#include "engine/debuglog.h"
#include "engine/engine.h"
#include "store/store.h"
#include "tasks/registry.h"

#define S NS_PER_SEC

/* ---- the fake manager ---- */

enum mode {
    M_SUCCEED,   /* logs "Succeeded!", SUCCEEDED at once */
    M_TIMER6,    /* RUNNING, timer "done" after 6 s, then SUCCEEDED */
    M_TRANSIENT, /* fails transiently `param` times (or always if param < 0), then succeeds */
    M_EMIT2,     /* emits t1, saves, emits t2, SUCCEEDED */
    M_TIMERS,    /* the timers test of spec 3.22 */
    M_STATE,     /* counts its launches in job_state {"n"}, emits "s<n>", SUCCEEDED */
    M_CHATTY,    /* logs `param` lines "line <i> ..." (~100 bytes each), SUCCEEDED */
    M_BLOCK,     /* blocks until block_release() (at most 60 s), SUCCEEDED */
};

/* M_BLOCK: launches in the call so far, and whether they may return. */
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static int block_entered;
static bool block_open;

static void block_call(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_mutex_lock(&block_lock);
    block_entered++;
    pthread_cond_broadcast(&block_cond);
    while (!block_open)
        if (pthread_cond_timedwait(&block_cond, &block_lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&block_lock);
}

static void block_release(void)
{
    pthread_mutex_lock(&block_lock);
    block_open = true;
    pthread_cond_broadcast(&block_cond);
    pthread_mutex_unlock(&block_lock);
}

static int block_count(void)
{
    int n;

    pthread_mutex_lock(&block_lock);
    n = block_entered;
    pthread_mutex_unlock(&block_lock);
    return n;
}

struct job_mode {
    const char *job_id;
    enum mode mode;
    int param;
    int failures;
};

static struct job_mode modes[8];
static size_t n_modes;
static int64_t launched_inv[64];
static int launched_count[64];
static size_t n_launched;

static struct job_mode *mode_of(const char *job_id)
{
    for (size_t i = 0; i < n_modes; i++)
        if (strcmp(modes[i].job_id, job_id) == 0)
            return &modes[i];
    fail_msg("no mode for %s", job_id);
    return NULL;
}

static void set_mode(const char *job_id, enum mode m, int param)
{
    modes[n_modes++] = (struct job_mode){.job_id = job_id, .mode = m, .param = param};
}

static int launches_of(int64_t inv)
{
    for (size_t i = 0; i < n_launched; i++)
        if (launched_inv[i] == inv)
            return launched_count[i];
    return 0;
}

static int fake_launch(const struct task_manager *m, struct task_ctl *c)
{
    struct job_mode *jm = mode_of(c->job_id);
    size_t i;

    (void)m;
    for (i = 0; i < n_launched; i++)
        if (launched_inv[i] == c->invocation_id)
            break;
    if (i == n_launched) {
        assert_true(n_launched < ARRAY_SIZE(launched_inv));
        launched_inv[n_launched++] = c->invocation_id;
    }
    launched_count[i]++;

    switch (jm->mode) {
    case M_SUCCEED:
        c->ops->log(c, "Succeeded!");
        c->status = INV_SUCCEEDED;
        return 0;
    case M_TIMER6:
        c->status = INV_RUNNING;
        return c->ops->add_timer(c, 6 * S, "done", NULL);
    case M_TRANSIENT:
        if (jm->param < 0 || jm->failures < jm->param) {
            jm->failures++;
            snprintf(c->err, sizeof(c->err), "flaky");
            return TASK_ERR_TRANSIENT;
        }
        c->ops->log(c, "Succeeded!");
        c->status = INV_SUCCEEDED;
        return 0;
    case M_EMIT2:
        assert_int_equal(c->ops->emit_trigger(c, json_pack("{s:s, s:{}}", "id", "t1", "noop")),
                         0);
        assert_int_equal(c->ops->save(c), 0);
        assert_int_equal(c->ops->emit_trigger(c, json_pack("{s:s, s:{}}", "id", "t2", "noop")),
                         0);
        c->status = INV_SUCCEEDED;
        return 0;
    case M_STATE: {
        json_int_t n = json_integer_value(json_object_get(c->job_state, "n")) + 1;
        char id[32];
        if (!c->job_state)
            c->job_state = json_object();
        json_object_set_new(c->job_state, "n", json_integer(n));
        snprintf(id, sizeof(id), "s%d", (int)n);
        assert_int_equal(c->ops->emit_trigger(c, json_pack("{s:s, s:{}}", "id", id, "noop")), 0);
        c->status = INV_SUCCEEDED;
        return 0;
    }
    case M_CHATTY:
        for (int k = 0; k < jm->param; k++) {
            char line[128];
            snprintf(line, sizeof(line), "line %d %s", k,
                     "of a poll that logs one line per ref, padded to about 100 bytes");
            c->ops->log(c, line);
        }
        c->status = INV_SUCCEEDED;
        return 0;
    case M_BLOCK:
        block_call();
        c->status = INV_SUCCEEDED;
        return 0;
    case M_TIMERS:
        c->status = INV_RUNNING;
        assert_int_equal(c->ops->add_timer(c, 60 * S, "1 min", NULL), 0);
        assert_int_equal(c->ops->add_timer(c, 120 * S, "2 min", NULL), 0);
        return 0;
    }
    return TASK_ERR_FATAL;
}

static int fake_timer(const struct task_manager *m, struct task_ctl *c, const char *title,
                      const char *payload)
{
    (void)m;
    (void)payload;
    if (strcmp(title, "done") == 0) {
        c->status = INV_SUCCEEDED;
    } else if (strcmp(title, "2 min") == 0) {
        assert_int_equal(c->ops->add_timer(c, 60 * S, "stop", NULL), 0);
    } else if (strcmp(title, "stop") == 0) {
        assert_int_equal(c->ops->add_timer(c, 60 * S, "ignored", NULL), 0);
        c->status = INV_SUCCEEDED;
    }
    return 0;
}

static const struct task_manager fake_manager = {
    .name = "noop",
    .multistage = true,
    .launch = fake_launch,
    .handle_timer = fake_timer,
};

/* ---- fixture ---- */

struct fx {
    char dir[64];
    char url[1400];
    char schema[64]; /* PostgreSQL: the case's schema, "" on SQLite */
    struct manual_clock clk;
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
    struct engine_settings set;
    uint64_t rnd;
};

static int64_t T0;

/*
 * Cron ticks are handled this long before their time (settings
 * cron_tick_lead_ns; not the default, so the cases see the setting): a
 * tick's task row is due LEAD before the tick.
 */
#define LEAD (200 * NS_PER_MS)

static uint64_t test_random(void *ctx)
{
    struct fx *f = ctx;
    uint64_t z = (f->rnd += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The last committed tick the engine told of (on_tick). */
static int64_t tick_scheduled, tick_committed;

static void on_tick(void *ctx, const char *job_id, int64_t scheduled_ns, int64_t committed_ns)
{
    (void)ctx;
    (void)job_id;
    tick_scheduled = scheduled_ns;
    tick_committed = committed_ns;
}

static void engine_up(struct fx *f)
{
    struct engine_options o = {
        .store = f->store,
        .clock = &f->clk.base,
        .registry = f->reg,
        .settings = f->set,
        .random = test_random,
        .random_ctx = f,
        .on_tick = on_tick,
    };
    assert_int_equal(engine_new(&o, &f->e), 0);
}

/*
 * With TOCK_TEST_STORE_PG set (a libpq URL; ctest's engine/runtime-postgres
 * sets it to the private cluster of tests/lib/pg-cluster.sh), every case
 * runs on PostgreSQL, in a fresh schema of its own: the engine unchanged
 * on the other back end.
 */
static const char *pg_base(void)
{
    const char *u = getenv("TOCK_TEST_STORE_PG");
    return u && u[0] ? u : NULL;
}

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Runs "DROP SCHEMA IF EXISTS f->schema CASCADE", then (create) "CREATE SCHEMA". */
static void pg_schema(struct fx *f, bool create)
{
    PGconn *c = PQconnectdb(pg_base());
    char sql[200];
    PGresult *res;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", pg_base(), PQerrorMessage(c));
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE%s%s", f->schema,
             create ? "; CREATE SCHEMA " : "", create ? f->schema : "");
    res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
}

/* The case's store URL: a file in f->dir, or a new schema on PostgreSQL. */
static void store_url(struct fx *f)
{
    static int n;

    if (!pg_base()) {
        snprintf(f->url, sizeof(f->url), "sqlite:%s/tock.db", f->dir);
        return;
    }
    snprintf(f->schema, sizeof(f->schema), "tock_engine_%ld_%d", (long)getpid(), ++n);
    pg_schema(f, true);
    snprintf(f->url, sizeof(f->url), "%s%soptions=-csearch_path%%3D%s", pg_base(),
             strchr(pg_base(), '?') ? "&" : "?", f->schema);
}

/* Cases that test what only SQLite does skip on PostgreSQL. */
#define SQLITE_ONLY(why)                                                      \
    do {                                                                      \
        if (pg_base()) {                                                      \
            print_message("skipped on PostgreSQL: %s\n", why);                \
            skip();                                                           \
        }                                                                     \
    } while (0)

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];

    assert_non_null(f);
    assert_int_equal(time_parse_rfc3339("2015-09-14T22:42:00Z", &T0), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tock-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    store_url(f);
    if (store_open(f->url, &f->store, err, sizeof(err)) != 0)
        fail_msg("store_open(%s): %s", f->url, err);
    manual_clock_init(&f->clk, T0);
    f->reg = task_registry_new();
    assert_non_null(f->reg);
    assert_int_equal(task_registry_add(f->reg, &fake_manager), 0);
    n_modes = 0;
    n_launched = 0;
    memset(launched_count, 0, sizeof(launched_count));
    f->set.cron_tick_lead_ns = LEAD;
    block_entered = 0;
    block_open = false;
    engine_up(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    block_release(); /* a failed case may have left a call blocked */
    engine_free(f->e);
    store_close(f->store);
    task_registry_free(f->reg);
    manual_clock_release(&f->clk);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    if (f->schema[0])
        pg_schema(f, false);
    free(f);
    return 0;
}

static void apply(struct fx *f, const char *text, const char *rev)
{
    struct cfg_project *p = NULL;
    struct cfg_diags d;

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(text, strlen(text), &p, &d), 0);
    assert_int_equal(engine_apply_project(f->e, "proj", p, NULL, rev, ""), 0);
    cfg_project_free(p);
    cfg_diags_release(&d);
}

static int64_t now(struct fx *f)
{
    return clock_now(&f->clk.base);
}

/* Runs every task due up to t_end, moving the clock from due time to due time. */
static void run_until(struct fx *f, int64_t t_end)
{
    for (int guard = 0; guard < 100000; guard++) {
        int64_t next;

        assert_true(engine_run_due(f->e, 0) >= 0);
        next = engine_next_due(f->e);
        if (next > t_end)
            break;
        if (next > now(f))
            manual_clock_set(&f->clk, next);
    }
    if (t_end > now(f))
        manual_clock_set(&f->clk, t_end);
    assert_true(engine_run_due(f->e, 0) >= 0);
}

/* The invocations of job, newest first. */
static size_t invs(struct fx *f, const char *job, struct engine_invocation **ret)
{
    char *cur = NULL;
    size_t n = 0;

    assert_int_equal(engine_list_invocations(f->e, job, NULL, 50, ret, &n, &cur), 0);
    assert_null(cur);
    return n;
}

static void get_inv(struct fx *f, const char *job, int64_t id, struct engine_invocation *ret)
{
    assert_int_equal(engine_get_invocation(f->e, job, id, ret), 0);
}

static json_t *request_of(const struct engine_invocation *inv)
{
    json_t *r = json_loads(inv->request_json, 0, NULL);
    assert_non_null(r);
    return r;
}

static const char *incoming_id(json_t *req, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(req, "incomingTriggers"), i), "id"));
}

static void emit(struct fx *f, const char *job, const char *const *ids, size_t n)
{
    json_t *arr = json_array();
    char created[TIME_RFC3339_MAX];

    time_format_rfc3339(now(f), created, sizeof(created));
    for (size_t i = 0; i < n; i++) {
        char order[24];
        snprintf(order, sizeof(order), "%zu", i);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:{}}", "id", ids[i], "created",
                                             created, "orderInBatch", order, "noop"));
    }
    assert_int_equal(engine_emit_triggers(f->e, job, arr), 0);
    json_decref(arr);
}

static size_t count_lines(const char *log, const char *needle)
{
    size_t n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- tests ---- */

static void test_relative_schedule(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *v = NULL, inv;
    struct engine_job j;
    json_t *req;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"with 10s interval\" noop {} }", "rev1");
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "SCHEDULED");
    assert_int_equal(j.next_tick, T0 + 10 * S);
    assert_int_equal(engine_next_due(f->e), T0 + 10 * S - LEAD);

    /* Tick at +10, triage at +12, launch at +13, tidy triage at +14. */
    run_until(f, T0 + 14 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].started, T0 + 12 * S);
    assert_int_equal(v[0].finished, T0 + 13 * S);
    assert_string_equal(v[0].status_name, "SUCCEEDED");
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.debug_log,
                        "[22:42:12.000] New invocation is queued and will start shortly\n"
                        "[22:42:13.000] Starting the invocation (attempt 1)\n"
                        "[22:42:13.000] Succeeded!\n"
                        "[22:42:13.000] Invocation finished in 1s with status SUCCEEDED\n");
    req = request_of(&inv);
    assert_string_equal(incoming_id(req, 0), "cron:v1:3");
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);

    /* The triage at +14 rewound the cron: the next tick is at +24. */
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "SCHEDULED");
    assert_int_equal(j.next_tick, T0 + 24 * S);
    assert_int_equal(engine_next_due(f->e), T0 + 24 * S - LEAD);

    run_until(f, T0 + 28 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].started, T0 + 26 * S);
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    assert_string_equal(incoming_id(req, 0), "cron:v1:6");
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

/*
 * A cron tick is handled LEAD before its time, as of its time: the cron
 * machine takes it as on time, its trigger is created at the scheduled
 * instant, the triage it kicks is not due before it, so no invocation
 * starts early; the commit itself is ahead of the tick (on_tick).  A
 * delivery earlier than the lead is still "early" (the in-tx failure case
 * above).
 */
static void test_tick_ahead_runs_as_of_its_time(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *v = NULL, inv;
    const int64_t at = T0 + 5 * S;
    json_t *req;
    const char *created;
    int64_t created_ns = 0;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"5 * * * * * *\" noop {} }", "rev1");
    manual_clock_set(&f->clk, at - LEAD);
    tick_scheduled = tick_committed = 0;
    assert_int_equal(engine_run_due(f->e, 1), 1);
    assert_int_equal(tick_scheduled, at);
    assert_int_equal(tick_committed, at - LEAD);
    /* What is due next is the triage, at or after the tick's time. */
    assert_true(engine_next_due(f->e) >= at);
    assert_int_equal(engine_run_due(f->e, 0), 0);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 0);
    engine_invocations_free(v, n);

    run_until(f, at + 5 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_true(v[0].started >= at);
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    created = json_string_value(json_object_get(
        json_array_get(json_object_get(req, "incomingTriggers"), 0), "created"));
    assert_non_null(created);
    assert_int_equal(time_parse_rfc3339(created, &created_ns), 0);
    assert_int_equal(created_ns, at);
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_absolute_schedule_overrun(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *v = NULL, inv;
    char *tlog = NULL;
    int64_t when = 0;
    json_t *req;
    size_t n;

    set_mode("proj/job", M_TIMER6, 0);
    apply(f, "job { id: \"job\" schedule: \"5,10 * * * * * *\" noop {} }", "rev1");
    assert_int_equal(engine_next_due(f->e), T0 + 5 * S - LEAD);

    /* Tick :05 -> triage :06 -> launch :07 (RUNNING, timer at :13). */
    run_until(f, T0 + 12 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].started, T0 + 6 * S);
    assert_string_equal(v[0].status_name, "RUNNING");
    engine_invocations_free(v, n);
    /* The :10 tick only queued a trigger; the :12 triage refused to launch. */
    assert_int_equal(engine_triage_log(f->e, "proj/job", &tlog, &when), 0);
    assert_int_equal(when, T0 + 12 * S);
    assert_non_null(strstr(tlog, "Max concurrent invocations is 1 and there's 1 running => "
                                 "refusing to launch more"));
    free(tlog);

    /* The timer ends the run at :13; the :14 triage starts the next one. */
    run_until(f, T0 + 15 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].status_name, "SUCCEEDED");
    assert_int_equal(v[1].finished, T0 + 13 * S);
    assert_int_equal(v[0].started, T0 + 14 * S);
    assert_string_equal(v[0].status_name, "RUNNING");
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    assert_int_equal(json_array_size(json_object_get(req, "incomingTriggers")), 1);
    assert_string_equal(incoming_id(req, 0), "cron:v1:6");
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_emit_triggers_and_fates(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1", "t2"};
    struct engine_invocation *v = NULL, inv;
    char invs_id[32];
    json_t *req, *fates;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    assert_int_equal(engine_next_due(f->e), INT64_MAX);
    emit(f, "proj/job", ids, 2);
    assert_int_equal(engine_next_due(f->e), T0 + 2 * S);
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].started, T0 + 2 * S);
    assert_int_equal(v[0].finished, T0 + 3 * S);
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    assert_int_equal(json_array_size(json_object_get(req, "incomingTriggers")), 2);
    assert_string_equal(incoming_id(req, 0), "t1");
    assert_string_equal(incoming_id(req, 1), "t2");
    json_decref(req);
    engine_invocation_release(&inv);
    snprintf(invs_id, sizeof(invs_id), "%" PRId64, v[0].id);

    assert_int_equal(engine_trigger_fates(f->e, "proj/job", NULL, 0, &fates), 0);
    assert_int_equal(json_array_size(fates), 2);
    /* Newest decision first: same decision time, so the later row (t2) first. */
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(fates, i);
        const char *tid = json_string_value(json_object_get(o, "triggerId"));
        assert_string_equal(json_string_value(json_object_get(o, "fate")),
                            strcmp(tid, "t2") == 0 ? "CONSUMED" : "MERGED");
        assert_string_equal(json_string_value(json_object_get(o, "invocationId")), invs_id);
        assert_string_equal(json_string_value(json_object_get(o, "decidedAt")),
                            "2015-09-14T22:42:02Z");
        assert_string_equal(json_string_value(json_object_get(o, "jobId")), "proj/job");
    }
    json_decref(fates);

    /* t1 again within 30 min: deduplicated, no new invocation. */
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 20 * S);
    engine_invocations_free(v, n);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_int_equal(engine_trigger_fates(f->e, "proj/job", "t1", 0, &fates), 0);
    assert_int_equal(json_array_size(fates), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fates, 0), "fate")),
                        "DEDUPLICATED");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fates, 1), "fate")),
                        "MERGED");
    json_decref(fates);

    /* After the window it is a new trigger. */
    manual_clock_set(&f->clk, T0 + 3 * S + 31 * 60 * S);
    emit(f, "proj/job", ids, 1);
    run_until(f, now(f) + 10 * S);
    engine_invocations_free(v, n);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 2);
    engine_invocations_free(v, n);
}

static void test_one_job_triggers_another(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"go"};
    struct engine_invocation *v = NULL, *w = NULL, inv;
    char emitter_id[32];
    json_t *req, *t1, *t2;
    size_t n, m;

    set_mode("proj/emitter", M_EMIT2, 0);
    set_mode("proj/triggered", M_SUCCEED, 0);
    apply(f,
          "trigger { id: \"emitter\" schedule: \"triggered\" noop {} triggers: \"triggered\" }\n"
          "job { id: \"triggered\" schedule: \"triggered\" noop {} }\n",
          "rev1");
    emit(f, "proj/emitter", ids, 1);
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/emitter", &v);
    assert_int_equal(n, 1);
    snprintf(emitter_id, sizeof(emitter_id), "%" PRId64, v[0].id);
    get_inv(f, "proj/emitter", v[0].id, &inv);
    assert_string_equal(inv.debug_log,
                        "[22:42:02.000] New invocation is queued and will start shortly\n"
                        "[22:42:03.000] Starting the invocation (attempt 1)\n"
                        "[22:42:03.000] Emitting a trigger t1\n"
                        "[22:42:03.000] Dispatching triggers (1 of them) to the following "
                        "jobs:\n"
                        "[22:42:03.000]   proj/triggered\n"
                        "[22:42:03.000] Emitting a trigger t2\n"
                        "[22:42:03.000] Dispatching triggers (1 of them) to the following "
                        "jobs:\n"
                        "[22:42:03.000]   proj/triggered\n"
                        "[22:42:03.000] Invocation finished in 1s with status SUCCEEDED\n");
    engine_invocation_release(&inv);

    /* Fan-out at +3, triage of the triggered job at +4, launch at +5. */
    m = invs(f, "proj/triggered", &w);
    assert_int_equal(m, 1);
    assert_int_equal(w[0].started, T0 + 4 * S);
    assert_string_equal(w[0].status_name, "SUCCEEDED");
    get_inv(f, "proj/triggered", w[0].id, &inv);
    req = request_of(&inv);
    t1 = json_array_get(json_object_get(req, "incomingTriggers"), 0);
    t2 = json_array_get(json_object_get(req, "incomingTriggers"), 1);
    assert_string_equal(json_string_value(json_object_get(t1, "id")), "t1");
    assert_string_equal(json_string_value(json_object_get(t2, "id")), "t2");
    assert_string_equal(json_string_value(json_object_get(t1, "created")),
                        "2015-09-14T22:42:03Z");
    assert_string_equal(json_string_value(json_object_get(t1, "orderInBatch")), "0");
    assert_string_equal(json_string_value(json_object_get(t2, "orderInBatch")), "1");
    assert_string_equal(json_string_value(json_object_get(t1, "jobId")), "proj/emitter");
    assert_string_equal(json_string_value(json_object_get(t2, "invocationId")), emitter_id);
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
    engine_invocations_free(w, m);
}

static void test_timers(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"go"};
    struct engine_invocation *v = NULL, inv;
    char expect[4096];
    int64_t id;
    size_t n;

    set_mode("proj/job", M_TIMERS, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 10 * 60 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    id = v[0].id;
    assert_string_equal(v[0].status_name, "SUCCEEDED");
    get_inv(f, "proj/job", id, &inv);
    snprintf(expect, sizeof(expect),
             "[22:42:02.000] New invocation is queued and will start shortly\n"
             "[22:42:03.000] Starting the invocation (attempt 1)\n"
             "[22:42:03.000] Scheduling timer \"1 min\" (proj/job:%1$" PRId64 ":1:0) after 1m0s\n"
             "[22:42:03.000] Scheduling timer \"2 min\" (proj/job:%1$" PRId64 ":1:1) after 2m0s\n"
             "[22:43:03.000] Handling timer \"1 min\" (proj/job:%1$" PRId64 ":1:0)\n"
             "[22:44:03.000] Handling timer \"2 min\" (proj/job:%1$" PRId64 ":1:1)\n"
             "[22:44:03.000] Scheduling timer \"stop\" (proj/job:%1$" PRId64 ":3:0) after 1m0s\n"
             "[22:45:03.000] Handling timer \"stop\" (proj/job:%1$" PRId64 ":3:0)\n"
             "[22:45:03.000] Scheduling timer \"ignored\" (proj/job:%1$" PRId64
             ":4:0) after 1m0s\n"
             "[22:45:03.000] Invocation finished in 3m1s with status SUCCEEDED\n"
             "[22:45:03.000] Ignoring timer \"ignored\" (proj/job:%1$" PRId64 ":4:0)...\n",
             id);
    assert_string_equal(inv.debug_log, expect);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
    /* Nothing left to do: the ignored timer was never queued. */
    assert_int_equal(engine_next_due(f->e), INT64_MAX);
}

static void test_pause_drops_triggers(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"}, *const ids2[] = {"t2"};
    struct engine_invocation *v = NULL;
    struct engine_job j;
    char tid[17];
    json_t *fates;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    assert_int_equal(engine_pause_job(f->e, "proj/job", "user:a@example.com", "test"), 0);
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "PAUSED");
    assert_true(j.paused);
    assert_string_equal(j.paused_or_resumed_by, "user:a@example.com");
    /* Emitting to a paused job succeeds and drops the triggers (LUCI). */
    emit(f, "proj/job", ids2, 1);
    assert_int_equal(engine_trigger_now(f->e, "proj/job", "user:a@example.com", tid), -EBUSY);
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 0);
    engine_invocations_free(v, n);
    assert_int_equal(engine_trigger_fates(f->e, "proj/job", NULL, 0, &fates), 0);
    assert_int_equal(json_array_size(fates), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(fates, i);
        assert_string_equal(json_string_value(json_object_get(o, "fate")), "DROPPED_PAUSED");
        assert_string_equal(json_string_value(json_object_get(o, "reason")),
                            "the job was paused by user:a@example.com at "
                            "2015-09-14T22:42:00Z - test");
    }
    json_decref(fates);

    /* Resumed: a web UI trigger runs. */
    assert_int_equal(engine_resume_job(f->e, "proj/job", "user:a@example.com", NULL), 0);
    assert_int_equal(engine_trigger_now(f->e, "proj/job", "user:b@example.com", tid), 0);
    assert_int_equal(strlen(tid), 16);
    run_until(f, T0 + 20 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].triggered_by, "user:b@example.com");
    engine_invocations_free(v, n);
}

static void test_pause_resume_cron(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *v = NULL, inv;
    struct engine_job j;
    json_t *req;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"with 10s interval\" noop {} }", "rev1");
    /* The first run finishes at +13; pause before the +14 triage rewinds. */
    run_until(f, T0 + 13 * S);
    assert_int_equal(engine_pause_job(f->e, "proj/job", "user:a@example.com", NULL), 0);
    run_until(f, T0 + 3600 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    engine_invocations_free(v, n);
    assert_int_equal(engine_next_due(f->e), INT64_MAX);
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "PAUSED");

    /* Resuming ticks at once: cron:v1:7 (spec 3.22). */
    assert_int_equal(engine_resume_job(f->e, "proj/job", "user:a@example.com", NULL), 0);
    assert_int_equal(engine_next_due(f->e), T0 + 3600 * S - LEAD);
    run_until(f, T0 + 3604 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].started, T0 + 3602 * S);
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    assert_string_equal(incoming_id(req, 0), "cron:v1:7");
    json_decref(req);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_abort_before_launch(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    struct engine_job j;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 2 * S); /* created, launch due at +3 */
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "RUNNING");
    assert_int_equal(engine_abort_job(f->e, "proj/job", "user:owner@example.com"), 0);
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.status_name, "ABORTED");
    assert_string_equal(inv.debug_log,
                        "[22:42:02.000] New invocation is queued and will start shortly\n"
                        "[22:42:02.000] Invocation was manually aborted by "
                        "user:owner@example.com\n"
                        "[22:42:02.000] Invocation finished in 0s with status ABORTED\n");
    assert_int_equal(launches_of(v[0].id), 0);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
    assert_int_equal(engine_get_job(f->e, "proj/job", &j), 0);
    assert_string_equal(j.state_name, "WAITING");
}

static void test_launch_retry(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    size_t n;

    set_mode("proj/job", M_TRANSIENT, 1);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    /* Attempt 1 at +3 fails; the launch backoff (5 s) retries at +8. */
    run_until(f, T0 + 20 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.debug_log,
                        "[22:42:02.000] New invocation is queued and will start shortly\n"
                        "[22:42:03.000] Starting the invocation (attempt 1)\n"
                        "[22:42:03.000] The invocation will be retried\n"
                        "[22:42:08.000] Starting the invocation (attempt 2)\n"
                        "[22:42:08.000] Succeeded!\n"
                        "[22:42:08.000] Invocation finished in 6s with status SUCCEEDED\n");
    assert_int_equal(inv.retry_count, 1);
    assert_int_equal(launches_of(v[0].id), 2);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_launch_gives_up(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    size_t n;

    set_mode("proj/job", M_TRANSIENT, -1);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 24 * 3600 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.status_name, "FAILED");
    /* 50 launches: 49 retries, the 50th transient error is fatal. */
    assert_int_equal(launches_of(v[0].id), 50);
    assert_int_equal(count_lines(inv.debug_log, "The invocation will be retried"), 49);
    assert_non_null(strstr(inv.debug_log, "Starting the invocation (attempt 50)\n"));
    assert_null(strstr(inv.debug_log, "(attempt 51)"));
    assert_non_null(strstr(inv.debug_log, "with status FAILED\n"));
    assert_int_equal(inv.retry_count, 49);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void lease_as_dead(struct fx *f, int64_t lease_ns)
{
    struct store_tx *tx = NULL;
    struct store_task t = {0};

    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_task_lease(tx, now(f), "dead-worker", lease_ns, &t), 0);
    store_task_release(&t);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Issue 11: a manager call that lasts five lease times keeps its lease.
 * Lease 300 ms on the manual clock, two workers idle beside the call: the
 * clock moves by a third of the lease at a time, and only after the
 * renewer has renewed the lease at the current clock (the next due time,
 * the launch row's lease expiry, is now + lease), so the clock never
 * passes an expiry unless a renewal is missing; then a worker would take
 * the task over and launch it again.  The call happens once.
 */
static void test_lease_renewed_during_call(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    const int64_t lease = 300 * NS_PER_MS;
    struct engine_invocation *v = NULL, inv;
    size_t n = 0;
    int i;

    engine_free(f->e);
    f->set.lease_ns = lease;
    engine_up(f);
    set_mode("proj/job", M_BLOCK, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 2500 * NS_PER_MS); /* the triage (2 s) made the invocation; launch at 3 s */
    assert_int_equal(engine_start(f->e, 2), 0);
    manual_clock_set(&f->clk, T0 + 3 * S);
    for (i = 0; i < 10000 && block_count() == 0; i++)
        usleep(1000);
    assert_int_equal(block_count(), 1);
    for (int step = 0; step < 15; step++) {
        /* Wait (at most 10 s) for the renewal at the current clock, then move a third of a lease. */
        for (i = 0; i < 10000 && engine_next_due(f->e) < now(f) + lease; i++)
            usleep(1000);
        if (engine_next_due(f->e) < now(f) + lease)
            fail_msg("step %d: the lease was not renewed (expiry %" PRId64 " ms after T0)", step,
                     (engine_next_due(f->e) - T0) / NS_PER_MS);
        manual_clock_advance(&f->clk, lease / 3);
    }
    assert_int_equal(block_count(), 1); /* no second delivery while the call ran */
    block_release();
    for (i = 0; i < 10000; i++) {
        engine_invocations_free(v, n);
        n = invs(f, "proj/job", &v);
        if (n == 1 && v[0].final)
            break;
        usleep(1000);
    }
    engine_stop(f->e, 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].status_name, "SUCCEEDED");
    assert_int_equal(launches_of(v[0].id), 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_int_equal(count_lines(inv.debug_log, "Starting the invocation"), 1);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

/*
 * Issue 11: a launch whose owner died holding a committed lease (it
 * renews nothing any more) is taken over when the lease expires, not
 * before, and that delivery is attempt 2 (the dead one counted:
 * STORE-CONTRACT.md, the task queue).
 */
static void test_dead_owner_lease_taken_over(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    size_t n;

    engine_free(f->e);
    f->set.lease_ns = 30 * S;
    engine_up(f);
    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 2500 * NS_PER_MS);
    manual_clock_set(&f->clk, T0 + 3 * S);
    lease_as_dead(f, 30 * S);
    assert_int_equal(engine_next_due(f->e), T0 + 33 * S);
    manual_clock_set(&f->clk, T0 + 33 * S - NS_PER_MS);
    assert_true(engine_run_due(f->e, 0) >= 0);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    assert_int_equal(launches_of(v[0].id), 0);
    manual_clock_set(&f->clk, T0 + 33 * S);
    assert_true(engine_run_due(f->e, 0) >= 0);
    assert_int_equal(launches_of(v[0].id), 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.status_name, "SUCCEEDED");
    assert_int_equal(count_lines(inv.debug_log, "Starting the invocation (attempt 2)"), 1);
    assert_int_equal(count_lines(inv.debug_log, "Starting the invocation"), 1);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_too_many_attempts(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    size_t n;

    engine_free(f->e);
    f->set.launch_attempts = 3;
    engine_up(f);
    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 2 * S);
    /* Three deliveries of the launch die before doing anything. */
    for (int i = 0; i < 3; i++) {
        manual_clock_set(&f->clk, T0 + (3 + i) * S);
        lease_as_dead(f, S);
    }
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.status_name, "FAILED");
    assert_string_equal(inv.debug_log,
                        "[22:42:02.000] New invocation is queued and will start shortly\n"
                        "[22:42:06.000] Too many attempts, giving up\n");
    assert_int_equal(inv.finished, T0 + 6 * S);
    assert_int_equal(launches_of(v[0].id), 0);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

/*
 * A handler that runs in its lease's transaction and fails (here a cron
 * tick delivered 0.5 s early: -EAGAIN) rolls its lease back with the rest;
 * the row must still be rescheduled with the backoff (1 s) and the failed
 * delivery counted as an attempt.
 */
static void test_in_tx_handler_failure_backs_off(void **state)
{
    struct fx *f = *state;
    struct store_tx *tx = NULL;
    struct store_task tick = {0}, early, got = {0};
    int64_t early_id = 0, t_fail;
    size_t n = 0;

    apply(f, "job { id: \"cron\" schedule: \"with 10s interval\" noop {} }", "rev1");
    /* Read the scheduled tick (with a lease that is rolled back). */
    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_task_lease(tx, INT64_MAX / 2, "peek", S, &tick), 0);
    store_rollback(tx);
    assert_string_equal(tick.kind, "cron-tick");
    t_fail = tick.due - S / 2;
    assert_true(t_fail >= now(f));
    /* The same tick, delivered early. */
    early = tick;
    early.due = t_fail;
    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_task_enqueue(tx, &early, &early_id), 0);
    assert_int_equal(store_commit(tx), 0);
    store_task_release(&tick);

    manual_clock_set(&f->clk, t_fail);
    assert_int_equal(engine_run_due(f->e, 1), 1);
    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_task_count(tx, "cron-tick", &n), 0);
    assert_int_equal(n, 2);
    /* Just before the backoff ends only the real tick is leasable... */
    assert_int_equal(store_task_lease(tx, t_fail + S - 1, "peek", S, &got), 0);
    assert_true(got.id != early_id);
    store_task_release(&got);
    assert_int_equal(store_task_lease(tx, t_fail + S - 1, "peek", S, &got), -ENOENT);
    /* ...then the early one, with its failed delivery counted. */
    assert_int_equal(store_task_lease(tx, t_fail + S, "peek", S, &got), 0);
    assert_int_equal(got.id, early_id);
    assert_int_equal(got.attempts, 2);
    store_task_release(&got);
    store_rollback(tx);
}

static void test_crash_and_recover(void **state)
{
    struct fx *f = *state;
    static const char *const ids1[] = {"a1"}, *const ids2[] = {"b1"};
    const char *jobs[] = {"proj/a", "proj/b"};
    char err[256];

    SQLITE_ONLY("a reopen frees a dead process's leases at once (SQLite's file lock); "
                "PostgreSQL leaves them to expire");

    set_mode("proj/a", M_SUCCEED, 0);
    set_mode("proj/b", M_TIMER6, 0);
    apply(f, "job { id: \"a\" schedule: \"triggered\" noop {} }\n"
             "job { id: \"b\" schedule: \"triggered\" noop {} }\n",
          "rev1");
    emit(f, "proj/a", ids1, 1);
    emit(f, "proj/b", ids2, 1);
    /* Both triages are due at +2: a worker leases them and dies. */
    manual_clock_set(&f->clk, T0 + 2 * S);
    lease_as_dead(f, 60 * S);
    lease_as_dead(f, 60 * S);
    assert_int_equal(engine_run_due(f->e, 0), 0);

    /* "Crash": drop the engine and the store without finishing anything. */
    f->e = engine_free(f->e);
    f->store = store_close(f->store);
    assert_int_equal(store_open(f->url, &f->store, err, sizeof(err)), 0);
    engine_up(f);
    /*
     * Reopening frees the dead process's leases at once (the store's lock
     * file proves no live process holds them), so the triages run now
     * rather than when the 60 s leases would expire.
     */
    assert_true(engine_run_due(f->e, 0) >= 2); /* both triages, still at +2 */
    /* Crash again, this time with the first launch leased. */
    manual_clock_set(&f->clk, T0 + 3 * S);
    lease_as_dead(f, 60 * S); /* the first launch, due at +3 */
    f->e = engine_free(f->e);
    f->store = store_close(f->store);
    assert_int_equal(store_open(f->url, &f->store, err, sizeof(err)), 0);
    engine_up(f);
    run_until(f, T0 + 600 * S);

    for (size_t k = 0; k < 2; k++) {
        struct engine_invocation *v = NULL, inv;
        size_t n = invs(f, jobs[k], &v);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].status_name, "SUCCEEDED");
        assert_int_equal(launches_of(v[0].id), 1);
        get_inv(f, jobs[k], v[0].id, &inv);
        assert_int_equal(count_lines(inv.debug_log, "Invocation finished in"), 1);
        engine_invocation_release(&inv);
        engine_invocations_free(v, n);
    }
    /* Nothing is stuck: both jobs idle, the queue empty. */
    assert_int_equal(engine_next_due(f->e), INT64_MAX);
    for (size_t k = 0; k < 2; k++) {
        struct engine_job j;
        assert_int_equal(engine_get_job(f->e, jobs[k], &j), 0);
        assert_string_equal(j.state_name, "WAITING");
    }
}

static void test_config_apply(void **state)
{
    struct fx *f = *state;
    struct engine_job *v = NULL, j;
    char rev[64];
    size_t n;

    apply(f,
          "job { id: \"a\" schedule: \"triggered\" noop {} }\n"
          "job { id: \"b\" realm: \"public\" schedule: \"triggered\" noop {} }\n"
          "job { id: \"c\" disabled: true noop {} }\n",
          "rev1");
    assert_int_equal(engine_list_jobs(f->e, "proj", &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "proj/a");
    assert_string_equal(v[0].realm_id, "proj:@legacy");
    assert_string_equal(v[1].realm_id, "proj:public");
    assert_string_equal(v[1].task_kind, "noop");
    assert_string_equal(v[1].state_name, "WAITING");
    free(v);
    assert_int_equal(engine_project_revision(f->e, "proj", rev, sizeof(rev)), 0);
    assert_string_equal(rev, "rev1");

    /* Same definitions at rev2: the job revision stays rev1 (spec 1.9). */
    apply(f,
          "job { id: \"a\" schedule: \"triggered\" noop {} }\n"
          "job { id: \"b\" realm: \"public\" schedule: \"triggered\" noop {} }\n",
          "rev2");
    assert_int_equal(engine_get_job(f->e, "proj/a", &j), 0);
    assert_string_equal(j.revision, "rev1");
    assert_int_equal(engine_project_revision(f->e, "proj", rev, sizeof(rev)), 0);
    assert_string_equal(rev, "rev2");

    /* a changes its schedule at rev3 and gets armed; b is removed. */
    apply(f, "job { id: \"a\" schedule: \"with 30s interval\" noop {} }\n", "rev3");
    assert_int_equal(engine_get_job(f->e, "proj/a", &j), 0);
    assert_string_equal(j.revision, "rev3");
    assert_string_equal(j.schedule, "with 30s interval");
    assert_string_equal(j.state_name, "SCHEDULED");
    assert_int_equal(j.next_tick, T0 + 30 * S);
    assert_int_equal(engine_get_job(f->e, "proj/b", &j), -ENOENT);
    assert_int_equal(engine_list_jobs(f->e, NULL, &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);

    assert_int_equal(engine_disable_project(f->e, "proj"), 0);
    assert_int_equal(engine_get_job(f->e, "proj/a", &j), -ENOENT);
    assert_int_equal(engine_project_revision(f->e, "proj", rev, sizeof(rev)), -ENOENT);
}

/* engine_each_job's callback: records ids and states; fails at stop_at. */
struct each_acc {
    char ids[4][ENGINE_ID_MAX], states[4][32];
    size_t n, stop_at;
};

static int each_one(void *ctx, const struct engine_job *j)
{
    struct each_acc *a = ctx;

    if (a->n == a->stop_at)
        return -ECANCELED;
    if (a->n < 4) {
        snprintf(a->ids[a->n], sizeof(a->ids[a->n]), "%s", j->id);
        snprintf(a->states[a->n], sizeof(a->states[a->n]), "%s", j->state_name);
    }
    a->n++;
    return 0;
}

/* engine_each_job: engine_list_jobs's jobs and order, one at a time; fn's error stops it. */
static void test_each_job(void **state)
{
    struct fx *f = *state;
    struct each_acc a = {.stop_at = 99};

    apply(f,
          "job { id: \"b\" schedule: \"triggered\" noop {} }\n"
          "job { id: \"a\" schedule: \"with 30s interval\" noop {} }\n"
          "job { id: \"c\" disabled: true noop {} }\n",
          "rev1");
    assert_int_equal(engine_pause_job(f->e, "proj/b", "user:u@example.com", "why"), 0);
    assert_int_equal(engine_each_job(f->e, "proj", each_one, &a), 0);
    assert_int_equal(a.n, 2); /* c is disabled: not listed, as engine_list_jobs */
    assert_string_equal(a.ids[0], "proj/a");
    assert_string_equal(a.states[0], "SCHEDULED");
    assert_string_equal(a.ids[1], "proj/b");
    assert_string_equal(a.states[1], "PAUSED");
    a = (struct each_acc){.stop_at = 1};
    assert_int_equal(engine_each_job(f->e, NULL, each_one, &a), -ECANCELED);
    assert_int_equal(a.n, 1);
    assert_int_equal(engine_each_job(f->e, "proj", NULL, NULL), -EINVAL);
}

/*
 * Chunked walks (settings.list_chunk = 4): project "proj" has j00..j13
 * (every 5th disabled, every 3rd periodic, j01 paused), "pro" and "proj2"
 * one job each (ids around "proj/").  Expected ids and states come from
 * that rule and spec 3.2 (paused > scheduled > waiting).
 */
#define CHUNK_JOBS 14

static void apply_to(struct fx *f, const char *project, const char *text)
{
    struct cfg_project *p = NULL;
    struct cfg_diags d;

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(text, strlen(text), &p, &d), 0);
    assert_int_equal(engine_apply_project(f->e, project, p, NULL, "rev", ""), 0);
    cfg_project_free(p);
    cfg_diags_release(&d);
}

static void chunk_config(char *buf, size_t len, bool extra)
{
    size_t at = 0;

    for (int i = 0; i < CHUNK_JOBS; i++)
        at += (size_t)snprintf(buf + at, len - at,
                               "job { id: \"j%02d\" %s schedule: \"%s\" noop {} }\n", i,
                               i % 5 == 0 ? "disabled: true" : "",
                               i % 3 == 0 ? "with 30s interval" : "triggered");
    if (extra)
        snprintf(buf + at, len - at, "job { id: \"zz\" schedule: \"triggered\" noop {} }\n");
    assert_true(at < len);
}

struct chunk_walk {
    char ids[CHUNK_JOBS + 8][ENGINE_ID_MAX];
    enum engine_job_state states[CHUNK_JOBS + 8];
    size_t n, stop_after;
    struct fx *f; /* when set: the first call changes the config (adds proj/zz) */
};

static int chunk_one(void *ctx, const struct engine_job *j)
{
    struct chunk_walk *w = ctx;
    char cfg[4096];

    assert_true(w->n < CHUNK_JOBS + 8);
    snprintf(w->ids[w->n], sizeof(w->ids[w->n]), "%s", j->id);
    w->states[w->n++] = j->state;
    if (w->f && w->n == 1) {
        chunk_config(cfg, sizeof(cfg), true);
        apply_to(w->f, "proj", cfg); /* the walk holds no transaction while fn runs */
    }
    return w->n == w->stop_after ? 1 : 0;
}

static void check_chunk_walk(const struct chunk_walk *w, bool all, bool extra)
{
    size_t k = 0;

    if (all)
        assert_string_equal(w->ids[k++], "pro/x");
    for (int i = 0; i < CHUNK_JOBS; i++) {
        char id[32];
        if (i % 5 == 0)
            continue;
        snprintf(id, sizeof(id), "proj/j%02d", i);
        assert_true(k < w->n);
        assert_string_equal(w->ids[k], id);
        assert_int_equal(w->states[k], i == 1 ? ENGINE_JOB_PAUSED
                                       : i % 3 == 0 ? ENGINE_JOB_SCHEDULED
                                                    : ENGINE_JOB_WAITING);
        k++;
    }
    if (extra)
        assert_string_equal(w->ids[k++], "proj/zz");
    if (all)
        assert_string_equal(w->ids[k++], "proj2/y");
    assert_int_equal(w->n, k);
}

static void test_each_job_chunks(void **state)
{
    struct fx *f = *state;
    struct chunk_walk w = {0};
    struct engine_job *v = NULL;
    size_t n = 0, counts[_ENGINE_JOB_STATE_MAX];
    char cfg[4096];

    engine_free(f->e);
    f->set.list_chunk = 4;
    engine_up(f);
    chunk_config(cfg, sizeof(cfg), false);
    apply_to(f, "proj", cfg);
    apply_to(f, "pro", "job { id: \"x\" schedule: \"triggered\" noop {} }\n");
    apply_to(f, "proj2", "job { id: \"y\" schedule: \"triggered\" noop {} }\n");
    assert_int_equal(engine_pause_job(f->e, "proj/j01", "user:u@example.com", "why"), 0);

    assert_int_equal(engine_each_job(f->e, NULL, chunk_one, &w), 0);
    check_chunk_walk(&w, true, false); /* 13 jobs: 4 chunks of 4, the last short */
    w = (struct chunk_walk){0};
    assert_int_equal(engine_each_job(f->e, "proj", chunk_one, &w), 0);
    check_chunk_walk(&w, false, false); /* 11 jobs */

    /* engine_list_jobs: the same jobs, in the same order. */
    assert_int_equal(engine_list_jobs(f->e, NULL, &v, &n), 0);
    w = (struct chunk_walk){0};
    for (size_t i = 0; i < n; i++)
        chunk_one(&w, &v[i]);
    check_chunk_walk(&w, true, false);
    free(v);

    /* A positive return stops the walk (at a chunk boundary and inside one). */
    w = (struct chunk_walk){.stop_after = 4};
    assert_int_equal(engine_each_job(f->e, NULL, chunk_one, &w), 0);
    assert_int_equal(w.n, 4);
    w = (struct chunk_walk){.stop_after = 6};
    assert_int_equal(engine_each_job(f->e, "proj", chunk_one, &w), 0);
    assert_int_equal(w.n, 6);

    /* /metrics' count walks the same chunks: 13 jobs, j01 paused, j03 j06 j09 j12 scheduled. */
    assert_int_equal(engine_count_jobs_by_state(f->e, counts), 0);
    assert_int_equal(counts[ENGINE_JOB_PAUSED], 1);
    assert_int_equal(counts[ENGINE_JOB_SCHEDULED], 4);
    assert_int_equal(counts[ENGINE_JOB_WAITING], 8);
    assert_int_equal(counts[ENGINE_JOB_RUNNING], 0);
    assert_int_equal(counts[ENGINE_JOB_DISABLED], 0);

    /* A job added during the walk after its cursor is handed over. */
    w = (struct chunk_walk){.f = f};
    assert_int_equal(engine_each_job(f->e, NULL, chunk_one, &w), 0);
    check_chunk_walk(&w, true, true);
    assert_int_equal(engine_each_job(f->e, "", chunk_one, &w), -EINVAL);
}

static void test_list_pages(void **state)
{
    struct fx *f = *state;
    static const char *const ids[][1] = {{"t1"}, {"t2"}, {"t3"}};
    struct engine_invocation *v = NULL, *all = NULL;
    char *cur = NULL, *cur2 = NULL;
    size_t n, na;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    for (int i = 0; i < 3; i++) {
        emit(f, "proj/job", ids[i], 1);
        run_until(f, now(f) + 10 * S);
    }
    na = invs(f, "proj/job", &all);
    assert_int_equal(na, 3);
    assert_true(all[0].id < all[1].id && all[1].id < all[2].id);
    assert_true(all[0].started > all[1].started);

    assert_int_equal(engine_list_invocations(f->e, "proj/job", NULL, 2, &v, &n, &cur), 0);
    assert_int_equal(n, 2);
    assert_non_null(cur);
    assert_int_equal(v[1].id, all[1].id);
    engine_invocations_free(v, n);
    assert_int_equal(engine_list_invocations(f->e, "proj/job", cur, 2, &v, &n, &cur2), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, all[2].id);
    assert_null(cur2);
    engine_invocations_free(v, n);
    free(cur);

    /* "EAE" = base64url(0x10 0x01): InvocationsCursor{last_scanned: 1}. */
    assert_int_equal(engine_list_invocations(f->e, "proj/job", "EAE", 0, &v, &n, &cur), 0);
    assert_int_equal(n, 3);
    engine_invocations_free(v, n);
    assert_int_equal(engine_list_invocations(f->e, "proj/job", "!!", 0, &v, &n, &cur), -EINVAL);
    assert_int_equal(engine_get_invocation(f->e, "proj/job", 0, &all[0]), -ENOENT);
    assert_int_equal(engine_get_invocation(f->e, "proj/other", all[0].id, &all[0]), -ENOENT);
    engine_invocations_free(all, na);
}

/*
 * Pages of 2 through 9 invocations while new ones start between pages:
 * each of the first 9 is listed exactly once, newest first, and nothing
 * is listed twice (new ones are newer than the cursor, so before it).
 */
static void test_list_pages_growing(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *all = NULL, *v = NULL;
    char *cur = NULL, *next = NULL, tid[32];
    int seen[9] = {0}, pages = 0, emitted = 0;
    size_t na, n;
    int64_t last = 0;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    for (; emitted < 9; emitted++) {
        snprintf(tid, sizeof(tid), "t%d", emitted);
        emit(f, "proj/job", (const char *const[]){tid}, 1);
        run_until(f, now(f) + 10 * S);
    }
    na = invs(f, "proj/job", &all);
    assert_int_equal(na, 9);
    do {
        assert_int_equal(engine_list_invocations(f->e, "proj/job", cur, 2, &v, &n, &next), 0);
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < na && all[k].id != v[i].id)
                k++;
            if (k == na || seen[k]++ || (last && v[i].id <= last))
                fail_msg("page %d: invocation %lld new, again or out of order", pages,
                         (long long)v[i].id);
            last = v[i].id;
        }
        engine_invocations_free(v, n);
        free(cur);
        cur = next;
        next = NULL;
        snprintf(tid, sizeof(tid), "t%d", emitted++);
        emit(f, "proj/job", (const char *const[]){tid}, 1);
        run_until(f, now(f) + 10 * S);
    } while (cur && ++pages < 20);
    free(cur);
    for (size_t k = 0; k < na; k++)
        if (seen[k] != 1)
            fail_msg("invocation %zu of 9 listed %d times", k, seen[k]);
    engine_invocations_free(all, na);
}

static void test_workers(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL;
    size_t n = 0;

    /* Real threads, manual time: everything is due at once after a jump. */
    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    assert_int_equal(engine_start(f->e, 3), 0);
    assert_int_equal(engine_start(f->e, 3), -EALREADY);
    for (int i = 0; i < 20000; i++) {
        manual_clock_advance(&f->clk, S);
        usleep(2000);
        engine_invocations_free(v, n);
        n = invs(f, "proj/job", &v);
        if (n == 1 && v[0].final)
            break;
    }
    engine_stop(f->e, 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].status_name, "SUCCEEDED");
    assert_int_equal(launches_of(v[0].id), 1);
    engine_invocations_free(v, n);
}

static const char *fate_of(json_t *fates, const char *tid)
{
    size_t i;
    json_t *o;

    json_array_foreach(fates, i, o) {
        if (strcmp(json_string_value(json_object_get(o, "triggerId")), tid) == 0)
            return json_string_value(json_object_get(o, "fate"));
    }
    return "(none)";
}

static void test_overflow_drops_oldest(void **state)
{
    struct fx *f = *state;
    struct engine_invocation *v = NULL, inv;
    static char names[1005][8];
    const char *ids[1005];
    json_t *req, *fates;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    for (size_t i = 0; i < 1005; i++) {
        snprintf(names[i], sizeof(names[i]), "t%04zu", i);
        ids[i] = names[i];
    }
    emit(f, "proj/job", ids, 1005); /* one call, one transaction */
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    get_inv(f, "proj/job", v[0].id, &inv);
    req = request_of(&inv);
    /* At most 1000 per triage: the 5 oldest were dropped. */
    assert_int_equal(json_array_size(json_object_get(req, "incomingTriggers")), 1000);
    assert_string_equal(incoming_id(req, 0), "t0005");
    assert_string_equal(incoming_id(req, 999), "t1004");
    json_decref(req);
    assert_int_equal(engine_trigger_fates(f->e, "proj/job", "t0000", 0, &fates), 0);
    assert_string_equal(fate_of(fates, "t0000"), "DROPPED_OVERFLOW");
    json_decref(fates);
    assert_int_equal(engine_trigger_fates(f->e, "proj/job", "t1004", 0, &fates), 0);
    assert_string_equal(fate_of(fates, "t1004"), "CONSUMED");
    json_decref(fates);
    engine_invocation_release(&inv);
    engine_invocations_free(v, n);
}

static void test_newest_first_expires(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1", "t2", "t3"};
    struct engine_invocation *v = NULL;
    json_t *fates;
    size_t n;

    set_mode("proj/job", M_SUCCEED, 0);
    apply(f,
          "job { id: \"job\" schedule: \"triggered\" noop {}\n"
          "  triggering_policy { kind: NEWEST_FIRST pending_timeout { seconds: 3 } } }",
          "rev1");
    emit(f, "proj/job", ids, 3);
    /* +2: t3 starts (t1, t2 are 2 s old); +4: they are 4 s old, expired. */
    run_until(f, T0 + 10 * S);
    n = invs(f, "proj/job", &v);
    assert_int_equal(n, 1);
    engine_invocations_free(v, n);
    assert_int_equal(engine_trigger_fates(f->e, "proj/job", NULL, 0, &fates), 0);
    assert_string_equal(fate_of(fates, "t3"), "CONSUMED");
    assert_string_equal(fate_of(fates, "t2"), "EXPIRED");
    assert_string_equal(fate_of(fates, "t1"), "EXPIRED");
    json_decref(fates);
}

/*
 * The controller's save in its three steps (controller.h): two controllers
 * of one invocation; the first save lands (its lines, status and emitted
 * trigger adopted), the second meets the compare-and-set (spec 3.12: the
 * task is retried) and adopts nothing; an unchanged save writes nothing.
 */
static void test_controller_save_seams(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    struct ctl a, b;
    int64_t mutations;

    set_mode("proj/job", M_TIMER6, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 3 * S); /* launched: RUNNING with a timer due in 6 s */
    assert_int_equal(invs(f, "proj/job", &v), 1);
    assert_int_equal(ctl_open(f->e, "proj/job", v[0].id, &a), 0);
    assert_int_equal(ctl_open(f->e, "proj/job", v[0].id, &b), 0);
    assert_int_equal(ctl_open(f->e, "proj/other", v[0].id, &(struct ctl){0}), -ENOENT);
    assert_int_equal(a.saved_status, INV_RUNNING);
    mutations = a.saved.mutations;

    a.pub.ops->log(&a.pub, "from a");
    assert_int_equal(a.pub.ops->emit_trigger(&a.pub, json_pack("{s:s, s:{}}", "id", "e1", "noop")),
                     0);
    a.pub.status = INV_SUCCEEDED;
    assert_int_equal(ctl_save(&a, NULL), 0);
    assert_int_equal(a.saved_status, INV_SUCCEEDED);
    assert_true(a.saved.mutations == mutations + 1);
    assert_int_equal(a.emitted.n, 0);
    assert_int_equal(a.log.len, 0);
    assert_non_null(strstr(a.saved.debug_log, "from a"));
    assert_non_null(strstr(a.saved.outgoing_json, "\"e1\""));
    assert_string_equal(a.saved.timers_json, "[]"); /* final: no timers kept */

    b.pub.ops->log(&b.pub, "from b");
    b.pub.status = INV_FAILED;
    assert_int_equal(ctl_save(&b, NULL), -EAGAIN);
    assert_int_equal(b.saved_status, INV_RUNNING); /* nothing adopted */
    assert_true(b.saved.mutations == mutations);
    assert_true(b.log.len > 0);

    assert_int_equal(ctl_save(&a, NULL), 0); /* unchanged: no write */
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_string_equal(inv.status_name, "SUCCEEDED");
    assert_null(strstr(inv.debug_log, "from b"));
    assert_non_null(strstr(inv.debug_log, "Invocation finished in"));
    engine_invocation_release(&inv);
    ctl_release(&a);
    ctl_release(&b);
    engine_invocations_free(v, 1);
}

static bool outgoing_has(struct fx *f, int64_t id, const char *needle)
{
    struct engine_invocation inv;
    bool has;

    get_inv(f, "proj/job", id, &inv);
    has = strstr(inv.outgoing_json, needle) != NULL;
    engine_invocation_release(&inv);
    return has;
}

static json_int_t stored_n(struct fx *f, const char *job)
{
    json_t *st = NULL;
    json_int_t n;

    assert_int_equal(engine_debug_job_state(f->e, job, &st), 0);
    n = json_integer_value(json_object_get(json_object_get(st, "managerState"), "n"));
    json_decref(st);
    return n;
}

/*
 * The job's manager state: none at first (LUCI's "no debug state"), then
 * what the manager left, handed to the next invocation, shown in
 * managerState, saved with the invocation and its triggers.
 */
static void test_job_state_moves_with_invocations(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"}, *const ids2[] = {"t2"};
    struct engine_invocation *v = NULL;
    json_t *st = NULL;

    set_mode("proj/job", M_STATE, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    assert_int_equal(engine_debug_job_state(f->e, "proj/job", &st), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "managerState"), "error")),
        "no debug state");
    json_decref(st);
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 10 * S);
    assert_int_equal(stored_n(f, "proj/job"), 1);
    emit(f, "proj/job", ids2, 1);
    run_until(f, T0 + 20 * S);
    assert_int_equal(stored_n(f, "proj/job"), 2); /* the second saw the first's state */
    assert_int_equal(invs(f, "proj/job", &v), 2);
    assert_true(outgoing_has(f, v[0].id, "\"s2\""));
    assert_true(outgoing_has(f, v[1].id, "\"s1\""));
    engine_invocations_free(v, 2);
}

/*
 * The seam: a save that loses the invocation's compare-and-set writes
 * neither its state nor its triggers; two invocations of one job that
 * both read a state cannot both move it (the later save fails, to be
 * redone from the new state); an unchanged state is not rewritten.
 */
static void test_job_state_compare_and_set(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"}, *const ids2[] = {"t2"};
    struct engine_invocation *v = NULL;
    struct ctl a, b, c2;

    set_mode("proj/job", M_TIMER6, 0);
    apply(f, "job { id: \"job\" schedule: \"triggered\" "
             "triggering_policy { kind: GREEDY_BATCHING max_concurrent_invocations: 2 } "
             "noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 3 * S);
    emit(f, "proj/job", ids2, 1);
    run_until(f, T0 + 5 * S); /* two RUNNING invocations, each with a timer */
    assert_int_equal(invs(f, "proj/job", &v), 2);
    assert_int_equal(ctl_open(f->e, "proj/job", v[1].id, &a), 0);
    assert_int_equal(ctl_open(f->e, "proj/job", v[1].id, &b), 0);
    assert_int_equal(ctl_open(f->e, "proj/job", v[0].id, &c2), 0);
    assert_null(a.pub.job_state);

    a.pub.job_state = json_pack("{s:i}", "n", 10);
    assert_int_equal(a.pub.ops->emit_trigger(&a.pub, json_pack("{s:s, s:{}}", "id", "ea", "noop")),
                     0);
    assert_int_equal(ctl_save(&a, NULL), 0);
    assert_int_equal(stored_n(f, "proj/job"), 10);

    /* b lost the invocation's compare-and-set: nothing of it lands. */
    b.pub.job_state = json_pack("{s:i}", "n", 20);
    assert_int_equal(b.pub.ops->emit_trigger(&b.pub, json_pack("{s:s, s:{}}", "id", "eb", "noop")),
                     0);
    assert_int_equal(ctl_save(&b, NULL), -EAGAIN);
    assert_int_equal(stored_n(f, "proj/job"), 10);

    /* c2 (another invocation) read the state before a moved it. */
    c2.pub.job_state = json_pack("{s:i}", "n", 30);
    c2.pub.status = INV_SUCCEEDED;
    assert_int_equal(ctl_save(&c2, NULL), -EAGAIN);
    assert_int_equal(stored_n(f, "proj/job"), 10);
    ctl_release(&c2);

    /* Redone from the stored state, it lands. */
    assert_int_equal(ctl_open(f->e, "proj/job", v[0].id, &c2), 0);
    assert_int_equal(json_integer_value(json_object_get(c2.pub.job_state, "n")), 10);
    json_object_set_new(c2.pub.job_state, "n", json_integer(11));
    assert_int_equal(ctl_save(&c2, NULL), 0);
    assert_int_equal(stored_n(f, "proj/job"), 11);

    /* a's state is stale now, but unchanged: its save writes no state. */
    a.pub.status = INV_SUCCEEDED;
    assert_int_equal(ctl_save(&a, NULL), 0);
    assert_int_equal(stored_n(f, "proj/job"), 11);
    ctl_release(&a);
    ctl_release(&b);
    ctl_release(&c2);
    assert_true(outgoing_has(f, v[1].id, "\"ea\""));
    assert_false(outgoing_has(f, v[1].id, "\"eb\""));
    engine_invocations_free(v, 2);
}

/*
 * A launch that logs far more than the debug log keeps (a gitiles poll of
 * 10,000 tags logs a line per tag): the invocation still saves and
 * SUCCEEDS (it once failed for good with ENOMEM, the saved log plus the
 * new lines not fitting the buffer), its log is trimmed to the limit as
 * LUCI's (engine/debuglog.h: the head, the marker, the last lines) and keeps the
 * newest lines, "Invocation finished" included.
 */
static void test_huge_debug_log(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"t1"};
    struct engine_invocation *v = NULL, inv;
    char want_last[128];

    set_mode("proj/job", M_CHATTY, 10000);
    apply(f, "job { id: \"job\" schedule: \"triggered\" noop {} }", "rev1");
    emit(f, "proj/job", ids, 1);
    run_until(f, T0 + 10 * S);
    assert_int_equal(invs(f, "proj/job", &v), 1);
    assert_string_equal(v[0].status_name, "SUCCEEDED");
    get_inv(f, "proj/job", v[0].id, &inv);
    assert_true(strlen(inv.debug_log) <= DEBUGLOG_LIMIT_BYTES);
    assert_non_null(strstr(inv.debug_log, "Starting the invocation (attempt 1)"));
    assert_non_null(strstr(inv.debug_log, DEBUGLOG_MARKER));
    snprintf(want_last, sizeof(want_last), "] line %d of a poll", 9999);
    assert_non_null(strstr(inv.debug_log, want_last));
    assert_non_null(strstr(inv.debug_log, "Invocation finished in"));
    engine_invocation_release(&inv);
    engine_invocations_free(v, 1);
}

/* A large manager state parsed twice gives equal, independent values (statecache.c). */
static void test_state_cache(void **state)
{
    struct fx *f = *state;
    size_t big = LIMIT_ENGINE_STATE_CACHE_MIN + 100;
    char *text = malloc(big + 64);
    json_error_t err;
    json_t *v1, *v2;

    assert_non_null(text);
    for (int round = 0; round < LIMIT_ENGINE_STATE_CACHE_SLOTS + 2; round++) {
        int n = snprintf(text, 64, "{\"n\": %d, \"tips\": \"", round);
        memset(text + n, 'a', big);
        memcpy(text + n + big, "\"}", 3);
        v1 = NULL;
        for (int k = 0; k < 3; k++) { /* a miss, then hits: each copy is the caller's */
            v2 = engine__state_parse(f->e, text, &err);
            assert_non_null(v2);
            assert_ptr_not_equal(v1, v2);
            assert_int_equal(json_integer_value(json_object_get(v2, "n")), round);
            assert_int_equal(json_string_length(json_object_get(v2, "tips")), big);
            json_object_set_new(v2, "n", json_integer(-1));
            json_string_set(json_object_get(v2, "tips"), "changed");
            json_decref(v1);
            v1 = v2;
        }
        json_decref(v1);
    }
    memcpy(text + big, "}", 2); /* an unterminated string: bad JSON, twice */
    assert_null(engine__state_parse(f->e, text, &err));
    assert_null(engine__state_parse(f->e, text, &err));
    free(text);
}

/* The one trigger fate of job (asserts there is exactly one), as "FATE id". */
static void one_fate(struct fx *f, const char *job, char *out, size_t outlen)
{
    json_t *fates = NULL, *o;

    assert_int_equal(engine_trigger_fates(f->e, job, NULL, 0, &fates), 0);
    assert_int_equal(json_array_size(fates), 1);
    o = json_array_get(fates, 0);
    snprintf(out, outlen, "%s %s", json_string_value(json_object_get(o, "fate")),
             json_string_value(json_object_get(o, "triggerId")));
    json_decref(fates);
}

static uint64_t commits_of(struct fx *f)
{
    struct store_stats st;

    store_stats(f->store, &st);
    return st.commits;
}

static size_t tick_rows(struct fx *f)
{
    struct store_tx *tx = NULL;
    size_t n = 0;

    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_task_count(tx, "cron-tick", &n), 0);
    store_rollback(tx);
    return n;
}

static void apply_cron_jobs(struct fx *f, int jobs)
{
    struct buf cfg;
    struct cfg_project *p = NULL;
    struct cfg_diags d;

    buf_init(&cfg, 1u << 20);
    for (int i = 0; i < jobs; i++)
        buf_printf(&cfg, "job { id: \"j%04d\" schedule: \"* * * * *\" noop {} }\n", i);
    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg.data, cfg.len, &p, &d), 0);
    assert_int_equal(engine_apply_project(f->e, "proj", p, NULL, "rev1", ""), 0);
    cfg_project_free(p);
    cfg_diags_release(&d);
    buf_release(&cfg);
}

/*
 * Issue 10, batches leased by two real worker threads at once: 500 jobs
 * due together each fire exactly once (one cron trigger each, one
 * lateness observation each, one re-armed tick row each).
 */
static void test_tick_burst_two_workers(void **state)
{
    enum { JOBS = 500 };
    struct fx *f = *state;
    uint64_t h0;
    char job[32], fate[128];

    apply_cron_jobs(f, JOBS);
    assert_int_equal(engine_next_due(f->e), T0 + 60 * S - LEAD);
    manual_clock_set(&f->clk, T0 + 60 * S);
    h0 = metric_histogram_count(&engine_metric_tick_lateness);
    assert_int_equal(engine_start(f->e, 2), 0);
    for (int i = 0; i < 5000 && metric_histogram_count(&engine_metric_tick_lateness) - h0 < JOBS;
         i++) {
        usleep(2000);
        /*
         * A tick that lost a conflict (PostgreSQL: a serialization failure)
         * is redone 0-5 ms later on the engine clock: move the clock 10 ms
         * now and then, at most 0.5 s in all (before any triage or launch
         * of these jobs is due: the triage throttle and the launch delay
         * are longer), so that only the ticks run.
         */
        if (i % 100 == 99 && clock_now(&f->clk.base) < T0 + 60 * S + 500 * NS_PER_MS)
            manual_clock_advance(&f->clk, 10 * NS_PER_MS);
    }
    engine_stop(f->e, 0);
    assert_int_equal(metric_histogram_count(&engine_metric_tick_lateness) - h0, JOBS);
    assert_int_equal(tick_rows(f), JOBS);
    for (int i = 0; i < JOBS; i++) {
        snprintf(job, sizeof(job), "proj/j%04d", i);
        one_fate(f, job, fate, sizeof(fate));
        assert_int_equal(strncmp(fate, "PENDING cron:v1:", 16), 0);
    }
}

/*
 * Issue 10: 2,000 jobs on "* * * * *" tick together at the minute.  Every
 * job fires exactly once (one cron trigger, then one invocation), and the
 * burst is a handful of durable commits (batches of lazy steps, counted by
 * the store), not one per tick.
 */
static void test_tick_burst_batched(void **state)
{
    enum { JOBS = 2000 };
    struct fx *f = *state;
    uint64_t c0, h0, b0 = atomic_load(&engine_metric_tick_lateness.buckets[0]);
    char job[32], fate[128];
    int n;

    apply_cron_jobs(f, JOBS);

    /* T0 is 22:42:00: every job's next tick is 22:43:00. */
    assert_int_equal(engine_next_due(f->e), T0 + 60 * S - LEAD);
    manual_clock_set(&f->clk, T0 + 60 * S);
    c0 = commits_of(f);
    h0 = metric_histogram_count(&engine_metric_tick_lateness);
    n = engine_run_due(f->e, 0);
    assert_int_equal(n, JOBS);
    assert_true(commits_of(f) - c0 >= 1);
    assert_true(commits_of(f) - c0 <= JOBS / LIMIT_STORE_GROUP_STEPS + 2);
    assert_int_equal(engine_run_due(f->e, 0), 0); /* nothing fires twice */
    /* Every tick emitted once, on time (the clock stood at the tick: lateness 0). */
    assert_int_equal(metric_histogram_count(&engine_metric_tick_lateness) - h0, JOBS);
    assert_int_equal(atomic_load(&engine_metric_tick_lateness.buckets[0]) - b0, JOBS);
    /* Each job's tick row re-armed for the next minute, 22:44:00: one row per job. */
    assert_int_equal(tick_rows(f), JOBS);
    for (int i = 0; i < JOBS; i += 1) {
        snprintf(job, sizeof(job), "proj/j%04d", i);
        one_fate(f, job, fate, sizeof(fate));
        assert_int_equal(strncmp(fate, "PENDING cron:v1:", 16), 0);
    }

    /* The triages kicked by the ticks are due together at the next even second. */
    manual_clock_set(&f->clk, T0 + 62 * S);
    c0 = commits_of(f);
    assert_int_equal(engine_run_due(f->e, 0), JOBS);
    assert_true(commits_of(f) - c0 <= JOBS / LIMIT_STORE_GROUP_STEPS + 2);
    for (int i = 0; i < JOBS; i++) {
        struct engine_invocation *v = NULL;
        size_t k;
        snprintf(job, sizeof(job), "proj/j%04d", i);
        k = invs(f, job, &v);
        assert_int_equal(k, 1);
        assert_string_equal(v[0].status_name, "STARTING");
        engine_invocations_free(v, k);
        one_fate(f, job, fate, sizeof(fate));
        assert_int_equal(strncmp(fate, "CONSUMED cron:v1:", 17), 0);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_relative_schedule),
        T(test_state_cache),
        T(test_absolute_schedule_overrun),
        T(test_tick_ahead_runs_as_of_its_time),
        T(test_emit_triggers_and_fates),
        T(test_one_job_triggers_another),
        T(test_timers),
        T(test_pause_drops_triggers),
        T(test_pause_resume_cron),
        T(test_abort_before_launch),
        T(test_launch_retry),
        T(test_launch_gives_up),
        T(test_too_many_attempts),
        T(test_in_tx_handler_failure_backs_off),
        T(test_crash_and_recover),
        T(test_config_apply),
        T(test_each_job),
        T(test_each_job_chunks),
        T(test_list_pages),
        T(test_list_pages_growing),
        T(test_overflow_drops_oldest),
        T(test_newest_first_expires),
        T(test_workers),
        T(test_controller_save_seams),
        T(test_job_state_moves_with_invocations),
        T(test_job_state_compare_and_set),
        T(test_huge_debug_log),
        T(test_tick_burst_batched),
    T(test_lease_renewed_during_call),
    T(test_dead_owner_lease_taken_over),
        T(test_tick_burst_two_workers),
    };
#undef T
    const char *skip = getenv("TOCK_TEST_PG_SKIP");

    if (pg_base() && skip && access(skip, F_OK) == 0) {
        fprintf(stderr, "*** SKIPPED: no PostgreSQL server to test with (see %s) ***\n", skip);
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
