/*
 * Unit tests for the noop task manager (spec 4.4, with tock's timer split
 * described in noop.c and docs/tasks.md), driven through a fake engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tasks/registry.h"

#include "test-tasks-fakectl.h"

static const struct launch_case {
    int line;
    const char *def;
    int64_t default_sleep_ns; /* task_options; 0 = LUCI's */
    int want_r;
    const char *want_log; /* the one line, or NULL for none */
    int64_t want_delay_ns;
    enum inv_status want_status;
} launch_cases[] = {
    {__LINE__, "{\"noop\": {\"sleepMs\": \"1000\", \"triggersCount\": \"2\"}}", 0, 0,
     "Running noop task for 1s", 1000000000, INV_RUNNING},
    {__LINE__, "{\"noop\": {}}", 0, 0, "Running noop task for 20s", 20000000000, INV_RUNNING},
    {__LINE__, "{\"noop\": {\"sleepMs\": \"0\"}}", 0, 0, "Running noop task for 20s",
     20000000000, INV_RUNNING},
    {__LINE__, "{\"noop\": {}}", 5000000, 0, "Running noop task for 5ms", 5000000,
     INV_RUNNING},
    {__LINE__, "{\"noop\": {\"sleepMs\": 1500}}", 0, 0, "Running noop task for 1.5s",
     1500000000, INV_RUNNING},
    {__LINE__, "{\"noop\": {\"sleepMs\": \"90000\"}}", 0, 0, "Running noop task for 1m30s",
     90000000000, INV_RUNNING},
    {__LINE__, "{\"noop\": {\"sleepMs\": \"abc\"}}", 0, TASK_ERR_FATAL, NULL, -1,
     INV_STARTING},
    {__LINE__, "{\"noop\": {\"sleepMs\": \"99999999999999999999\"}}", 0, TASK_ERR_FATAL, NULL,
     -1, INV_STARTING},
    {__LINE__, "{\"noop\": {\"sleepMs\": true}}", 0, TASK_ERR_FATAL, NULL, -1, INV_STARTING},
    {__LINE__, "{\"urlFetch\": {}}", 0, TASK_ERR_FATAL, NULL, -1, INV_STARTING},
};

static void test_launch(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(launch_cases); i++) {
        const struct launch_case *tc = &launch_cases[i];
        struct task_options opts = {.noop_default_sleep_ns = tc->default_sleep_ns};
        struct task_manager m = task_noop_manager;
        struct fake_ctl f;
        json_t *def = json_loads(tc->def, 0, NULL);

        print_message("line %d\n", tc->line);
        assert_non_null(def);
        m.ctx = &opts;
        fake_ctl_init(&f, 123, def);
        assert_int_equal(m.launch(&m, &f.ctl), tc->want_r);
        assert_int_equal(f.ctl.status, tc->want_status);
        if (tc->want_log) {
            assert_int_equal(f.n_log, 1);
            assert_string_equal(f.log[0], tc->want_log);
            assert_int_equal(f.n_timers, 1);
            assert_int_equal(f.timers[0].delay_ns, tc->want_delay_ns);
            assert_string_equal(f.timers[0].title, "noop finished");
        } else {
            assert_int_equal(f.n_log, 0);
            assert_int_equal(f.n_timers, 0);
            assert_true(f.ctl.err[0] != '\0');
        }
        assert_int_equal(json_array_size(f.triggers), 0);
        fake_ctl_release(&f);
        json_decref(def);
    }
}

static void test_launch_timer_fails(void **state)
{
    struct fake_ctl f;
    json_t *def = json_pack("{s:{}}", "noop");

    (void)state;
    fake_ctl_init(&f, 1, def);
    f.fail_add_timer = -EIO;
    assert_int_equal(task_noop_manager.launch(&task_noop_manager, &f.ctl), TASK_ERR_TRANSIENT);
    assert_int_equal(f.ctl.status, INV_STARTING);
    assert_true(f.ctl.err[0] != '\0');
    fake_ctl_release(&f);
    json_decref(def);
}

/* Nothing to wait for (a negative sleep_ms): launch() emits and succeeds, no timer. */
static void test_launch_no_wait(void **state)
{
    struct fake_ctl f;
    json_t *def = json_loads("{\"noop\": {\"sleepMs\": \"-5\", \"triggersCount\": \"2\"}}", 0,
                             NULL);
    json_t *want = json_loads("[{\"id\": \"noop:77:0\", \"noop\": {}},"
                              " {\"id\": \"noop:77:1\", \"noop\": {}}]",
                              0, NULL);
    const struct task_manager *m = &task_noop_manager;

    (void)state;
    fake_ctl_init(&f, 77, def);
    assert_int_equal(m->launch(m, &f.ctl), 0);
    assert_int_equal(f.ctl.status, INV_SUCCEEDED);
    assert_int_equal(f.n_timers, 0);
    assert_int_equal(f.n_log, 1);
    assert_string_equal(f.log[0], "Running noop task for 0s");
    assert_true(json_equal(f.triggers, want));
    fake_ctl_release(&f);
    json_decref(def);
    json_decref(want);
}

/* The timer emits noop:<inv>:<i> triggers with an empty noop payload. */
static void test_timer(void **state)
{
    struct fake_ctl f;
    json_t *def = json_loads("{\"noop\": {\"sleepMs\": \"10\", \"triggersCount\": \"2\"}}", 0,
                             NULL);
    json_t *want = json_loads("[{\"id\": \"noop:9200093523825193008:0\", \"noop\": {}},"
                              " {\"id\": \"noop:9200093523825193008:1\", \"noop\": {}}]",
                              0, NULL);
    const struct task_manager *m = &task_noop_manager;

    (void)state;
    fake_ctl_init(&f, INT64_C(9200093523825193008), def);
    assert_int_equal(m->launch(m, &f.ctl), 0);
    assert_int_equal(f.ctl.status, INV_RUNNING);

    /* A timer that isn't ours is ignored. */
    assert_int_equal(m->handle_timer(m, &f.ctl, "other", NULL), 0);
    assert_int_equal(f.ctl.status, INV_RUNNING);
    assert_int_equal(json_array_size(f.triggers), 0);

    assert_int_equal(m->handle_timer(m, &f.ctl, "noop finished", NULL), 0);
    assert_int_equal(f.ctl.status, INV_SUCCEEDED);
    assert_true(json_equal(f.triggers, want));
    assert_int_equal(f.n_log, 1); /* the launch line only */

    /* Once final, a repeated timer does nothing. */
    assert_int_equal(m->handle_timer(m, &f.ctl, "noop finished", NULL), 0);
    assert_int_equal(json_array_size(f.triggers), 2);
    fake_ctl_release(&f);
    json_decref(def);
    json_decref(want);
}

static void test_timer_cases(void **state)
{
    static const struct {
        int line;
        const char *def;
        int fail_emit;
        int want_r;
        size_t want_triggers;
        enum inv_status want_status;
        size_t want_log; /* lines */
    } cases[] = {
        {__LINE__, "{\"noop\": {}}", 0, 0, 0, INV_SUCCEEDED, 0},
        {__LINE__, "{\"noop\": {\"triggersCount\": \"-1\"}}", 0, 0, 0, INV_SUCCEEDED, 0},
        {__LINE__, "{\"noop\": {\"triggersCount\": 3}}", 0, 0, 3, INV_SUCCEEDED, 0},
        {__LINE__, "{\"noop\": {\"triggersCount\": \"1\"}}", -EIO, TASK_ERR_TRANSIENT, 0,
         INV_RUNNING, 0},
        {__LINE__, "{\"noop\": {\"triggersCount\": \"1000000\"}}", 0, 0, NOOP_MAX_TRIGGERS,
         INV_SUCCEEDED, 1},
        {__LINE__, "{\"noop\": {\"triggersCount\": \"x\"}}", 0, TASK_ERR_FATAL, 0,
         INV_RUNNING, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct fake_ctl f;
        json_t *def = json_loads(cases[i].def, 0, NULL);
        const struct task_manager *m = &task_noop_manager;

        print_message("line %d\n", cases[i].line);
        assert_non_null(def);
        fake_ctl_init(&f, 7, def);
        f.ctl.status = INV_RUNNING;
        f.fail_emit = cases[i].fail_emit;
        assert_int_equal(m->handle_timer(m, &f.ctl, "noop finished", NULL), cases[i].want_r);
        assert_int_equal(json_array_size(f.triggers), cases[i].want_triggers);
        assert_int_equal(f.ctl.status, cases[i].want_status);
        assert_int_equal(f.n_log, cases[i].want_log);
        if (cases[i].want_log)
            assert_string_equal(f.log[0], "triggers_count 1000000 is over tock's limit, "
                                          "emitting 10000");
        if (cases[i].want_triggers == 3)
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(f.triggers, 2), "id")),
                "noop:7:2");
        fake_ctl_release(&f);
        json_decref(def);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch),
        cmocka_unit_test(test_launch_timer_fails),
        cmocka_unit_test(test_launch_no_wait),
        cmocka_unit_test(test_timer),
        cmocka_unit_test(test_timer_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
