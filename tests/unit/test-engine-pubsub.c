/*
 * test-engine-pubsub.c - Pub/Sub pushes through the engine (spec 3.14):
 * tokens minted by the controller, engine_deliver_push's answers, the
 * durable notification task and its handler, on a manual clock over a
 * SQLite store in a temp directory.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine.h"
#include "store/store.h"
#include "tasks/registry.h"

#define S NS_PER_SEC

/* ---- a fake multistage manager: RUNNING at launch, done at the second push ---- */

static char last_token[TASK_PUBSUB_TOKEN_MAX];
static int pushes_handled;
static int launch_fails; /* launches that fail transiently before one succeeds */

static int fake_launch(const struct task_manager *m, struct task_ctl *c)
{
    (void)m;
    assert_int_equal(c->ops->pubsub_token(c, last_token, sizeof(last_token)), 0);
    if (launch_fails > 0) {
        launch_fails--; /* as a build scheduled whose answer was lost */
        return TASK_ERR_TRANSIENT;
    }
    c->status = INV_RUNNING;
    return 0;
}

static int fake_examine(const struct task_manager *m, const json_t *msg, char *token,
                        size_t len)
{
    const char *t = json_string_value(json_object_get(json_object_get(msg, "attributes"),
                                                      "auth_token"));
    (void)m;
    if (!t)
        return -ENOENT;
    snprintf(token, len, "%s", t);
    return 0;
}

/* Set by a test: the next push handled bumps the row first (a concurrent writer). */
static struct store *conflict_store;
static int64_t conflict_inv;

/* Another writer (a timer, a second push) saves the invocation meanwhile. */
static void bump_invocation(void)
{
    struct store_tx *tx = NULL;
    struct store_inv v;

    memset(&v, 0, sizeof(v));
    assert_int_equal(store_begin(conflict_store, &tx), 0);
    assert_int_equal(store_inv_get(tx, conflict_inv, &v), 0);
    int64_t expected = v.mutations;
    v.mutations++;
    assert_int_equal(store_inv_update(tx, &v, expected), 0);
    assert_int_equal(store_commit(tx), 0);
    store_inv_release(&v);
    conflict_store = NULL;
}

/* Set by a test: a push says the build ended as v1 reports a canceled one (FAILED). */
static bool push_says_failed;

static int fake_notification(const struct task_manager *m, struct task_ctl *c,
                             const json_t *msg)
{
    (void)m;
    (void)msg;
    if (conflict_store)
        bump_invocation();
    c->ops->log(c, "Received PubSub notification");
    if (push_says_failed)
        c->status = INV_FAILED;
    else if (++pushes_handled >= 2)
        c->status = INV_SUCCEEDED;
    return 0;
}

/*
 * Set by a test: the first abort() lets a push in (delivered and handled)
 * before it returns, as a status push racing the CancelBuild call.
 */
static struct engine *abort_race_engine;
static int aborts_called;
static int deliver_on(struct engine *e, const char *token, const char *mid);

static int fake_abort(const struct task_manager *m, struct task_ctl *c)
{
    (void)m;
    (void)c;
    if (++aborts_called == 1 && abort_race_engine) {
        push_says_failed = true;
        assert_int_equal(deliver_on(abort_race_engine, last_token, "race"), 0);
        assert_true(engine_run_due(abort_race_engine, 0) >= 0);
    }
    return 0;
}

static const struct task_manager fake_manager = {
    .name = "buildbucket",
    .multistage = true,
    .launch = fake_launch,
    .examine_notification = fake_examine,
    .handle_notification = fake_notification,
    .abort = fake_abort,
};

/* ---- fixture ---- */

struct fx {
    char dir[64];
    struct manual_clock clk;
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char url[160], err[256];
    int64_t t0;

    assert_non_null(f);
    assert_int_equal(time_parse_rfc3339("2025-10-09T00:42:36Z", &t0), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tock-pubsub-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(url, sizeof(url), "sqlite:%s/tock.db", f->dir);
    assert_int_equal(store_open(url, &f->store, err, sizeof(err)), 0);
    manual_clock_init(&f->clk, t0);
    f->reg = task_registry_new();
    assert_int_equal(task_registry_add(f->reg, &fake_manager), 0);
    struct engine_options o = {.store = f->store, .clock = &f->clk.base, .registry = f->reg};
    assert_int_equal(engine_new(&o, &f->e), 0);
    last_token[0] = '\0';
    pushes_handled = 0;
    launch_fails = 0;
    conflict_store = NULL;
    push_says_failed = false;
    abort_race_engine = NULL;
    aborts_called = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    engine_free(f->e);
    store_close(f->store);
    task_registry_free(f->reg);
    manual_clock_release(&f->clk);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void run_for(struct fx *f, int64_t d)
{
    int64_t end = clock_now(&f->clk.base) + d;

    for (int guard = 0; guard < 10000; guard++) {
        int64_t next;
        assert_true(engine_run_due(f->e, 0) >= 0);
        next = engine_next_due(f->e);
        if (next > end)
            break;
        if (next > clock_now(&f->clk.base))
            manual_clock_set(&f->clk, next);
    }
    if (end > clock_now(&f->clk.base))
        manual_clock_set(&f->clk, end);
    assert_true(engine_run_due(f->e, 0) >= 0);
}

/* Applies a triggered buildbucket job and triggers it; returns its invocation id. */
static int64_t start_job(struct fx *f)
{
    static const char cfg[] = "job { id: \"b\" realm: \"ci\" schedule: \"triggered\"\n"
                              "  buildbucket: { server: \"bb.example.com\" builder: \"x\" } }\n";
    struct cfg_project *p = NULL;
    struct cfg_diags d;
    struct engine_invocation *v = NULL;
    char *cur = NULL;
    size_t n = 0;
    int64_t id;

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg, strlen(cfg), &p, &d), 0);
    assert_int_equal(engine_apply_project(f->e, "proj", p, NULL, "rev1", ""), 0);
    cfg_project_free(p);
    cfg_diags_release(&d);
    assert_int_equal(engine_trigger_now(f->e, "proj/b", "user:a@example.com", NULL), 0);
    run_for(f, 2 * S); /* triage creates the invocation; its launch is 1 s later */
    assert_int_equal(engine_list_invocations(f->e, "proj/b", NULL, 10, &v, &n, &cur), 0);
    assert_int_equal(n, 1);
    id = v[0].id;
    engine_invocations_free(v, n);
    return id;
}

static enum inv_status status_of(struct fx *f, int64_t id)
{
    struct engine_invocation v;
    enum inv_status s;

    assert_int_equal(engine_get_invocation(f->e, "proj/b", id, &v), 0);
    s = v.status;
    engine_invocation_release(&v);
    return s;
}

static json_t *push_msg(const char *token, const char *message_id)
{
    return json_pack("{s:s, s:{s:s}, s:s}", "data", "e30=", "attributes", "auth_token", token,
                     "messageId", message_id);
}

static int deliver_on(struct engine *e, const char *token, const char *mid)
{
    char err[256];
    json_t *m = push_msg(token, mid);
    int r = engine_deliver_push(e, "buildbucket", m, err, sizeof(err));
    json_decref(m);
    return r;
}

static int deliver(struct fx *f, const char *token, const char *mid, char *err, size_t len)
{
    json_t *m = push_msg(token, mid);
    int r = engine_deliver_push(f->e, "buildbucket", m, err, len);
    json_decref(m);
    return r;
}

static void test_push_finishes_invocation(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t id = start_job(f);

    run_for(f, 2 * S);
    assert_int_equal(status_of(f, id), INV_RUNNING);
    assert_true(last_token[0] != '\0');
    assert_int_equal(deliver(f, last_token, "m1", err, sizeof(err)), 0);
    /* Durable before the answer: a task row is due now, nothing handled yet. */
    assert_int_equal(pushes_handled, 0);
    assert_true(engine_next_due(f->e) <= clock_now(&f->clk.base));
    run_for(f, 0);
    assert_int_equal(pushes_handled, 1);
    assert_int_equal(status_of(f, id), INV_RUNNING);
    assert_int_equal(deliver(f, last_token, "m2", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_int_equal(status_of(f, id), INV_SUCCEEDED);
    /* A push for a finished invocation is acknowledged and changes nothing. */
    assert_int_equal(deliver(f, last_token, "m3", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_int_equal(pushes_handled, 2);
}

/*
 * A push whose save loses the compare-and-set race (spec 3.12) is handled
 * again at once, not after the 1 s transient-error backoff: the race is
 * with another handler of the same invocation, not a failing service.
 */
static void test_push_after_conflict_is_retried_at_once(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t id = start_job(f);

    run_for(f, 2 * S);
    pushes_handled = 1; /* the next push handled finishes it */
    conflict_store = f->store;
    conflict_inv = id;
    assert_int_equal(deliver(f, last_token, "m1", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_null(conflict_store);                   /* the conflict happened */
    assert_int_equal(status_of(f, id), INV_RUNNING); /* ... and lost the save */
    run_for(f, 50 * NS_PER_MS);
    assert_int_equal(status_of(f, id), INV_SUCCEEDED);
}

/*
 * A push that lands while the abort's CancelBuild is in flight, saying the
 * build ended FAILED (v1's word for canceled), does not win: the abort's
 * marker is durable before the manager is called, so the push handler
 * performs the abort itself and the invocation ends ABORTED, as the user
 * asked (docs/tasks.md).
 */
static void test_push_racing_abort_is_aborted(void **state)
{
    struct fx *f = *state;
    int64_t id = start_job(f);
    struct engine_invocation v;

    run_for(f, 2 * S);
    assert_int_equal(status_of(f, id), INV_RUNNING);
    abort_race_engine = f->e;
    assert_int_equal(engine_abort_invocation(f->e, "proj/b", id, "user:a@example.com"), 0);
    run_for(f, 0);
    assert_true(push_says_failed);       /* the push came in during the abort */
    assert_int_equal(aborts_called, 2);  /* ... and its handler aborted */
    assert_int_equal(status_of(f, id), INV_ABORTED);
    assert_int_equal(engine_get_invocation(f->e, "proj/b", id, &v), 0);
    assert_non_null(strstr(v.debug_log, "manually aborted by user:a@example.com"));
    engine_invocation_release(&v);
}

static void test_duplicate_push_is_one_task(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t id = start_job(f);

    run_for(f, 2 * S);
    assert_int_equal(deliver(f, last_token, "same", err, sizeof(err)), 0);
    assert_int_equal(deliver(f, last_token, "same", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_int_equal(pushes_handled, 1);
    assert_int_equal(status_of(f, id), INV_RUNNING);
}

static void test_forged_and_foreign_tokens(void **state)
{
    struct fx *f = *state;
    char err[256], forged[TASK_PUBSUB_TOKEN_MAX];
    int64_t id = start_job(f);
    json_t *no_token;

    run_for(f, 2 * S);
    snprintf(forged, sizeof(forged), "%s", last_token);
    forged[strlen(forged) / 2] = forged[strlen(forged) / 2] == 'A' ? 'B' : 'A';
    assert_int_equal(deliver(f, forged, "f1", err, sizeof(err)), -EACCES);
    assert_string_equal(err, "bad pubsub auth token");
    assert_int_equal(deliver(f, "not a token", "f2", err, sizeof(err)), -EACCES);
    no_token = json_pack("{s:s}", "data", "e30=");
    assert_int_equal(engine_deliver_push(f->e, "buildbucket", no_token, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "failed to extract the auth token from the pubsub message");
    assert_int_equal(engine_deliver_push(f->e, "gitiles", no_token, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown task manager \"gitiles\"");
    json_decref(no_token);
    run_for(f, 0);
    assert_int_equal(pushes_handled, 0);
    assert_int_equal(status_of(f, id), INV_RUNNING);
    /* After a rotation the old key is still accepted; the token expires after 48 h. */
    assert_int_equal(engine_rotate_pubsub_key(f->e), 0);
    assert_int_equal(deliver(f, last_token, "r1", err, sizeof(err)), 0);
    manual_clock_set(&f->clk, clock_now(&f->clk.base) + 49 * 3600 * S);
    assert_int_equal(deliver(f, last_token, "r2", err, sizeof(err)), -EACCES);
}

static void test_push_while_starting(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t id;

    launch_fails = 1;
    id = start_job(f);
    run_for(f, 1 * S); /* the launch failed once: RETRYING, a token was given out */
    assert_int_equal(status_of(f, id), INV_RETRYING);
    assert_int_equal(deliver(f, last_token, "early", err, sizeof(err)), -EAGAIN);
    assert_string_equal(err, "invocation is still starting, try again later");
    run_for(f, 0);
    assert_int_equal(pushes_handled, 0);
    run_for(f, 10 * S); /* the retried launch succeeds */
    assert_int_equal(status_of(f, id), INV_RUNNING);
    assert_int_equal(deliver(f, last_token, "early", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_int_equal(pushes_handled, 1);
}

static void test_key_survives_restart(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t id = start_job(f);

    run_for(f, 2 * S);
    assert_int_equal(status_of(f, id), INV_RUNNING);
    /* A new engine over the same store checks the old engine's tokens. */
    engine_free(f->e);
    struct engine_options o = {.store = f->store, .clock = &f->clk.base, .registry = f->reg};
    assert_int_equal(engine_new(&o, &f->e), 0);
    assert_int_equal(deliver(f, last_token, "after-restart", err, sizeof(err)), 0);
    run_for(f, 0);
    assert_int_equal(pushes_handled, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_finishes_invocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_after_conflict_is_retried_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_push_racing_abort_is_aborted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_push_is_one_task, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_and_foreign_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_while_starting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_survives_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
