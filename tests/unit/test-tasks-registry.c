/*
 * Unit tests for tasks/task.c and tasks/registry.c: status names, task
 * definitions built from config text, task_def_kind, and the registry.
 * Expected JSON is written by hand from task.h / registry.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tasks/registry.h"

static void test_status_names(void **state)
{
    static const struct {
        int line;
        enum inv_status s;
        const char *name;
        bool final, initial;
    } cases[] = {
        {__LINE__, INV_STARTING, "STARTING", false, true},
        {__LINE__, INV_RETRYING, "RETRYING", false, true},
        {__LINE__, INV_RUNNING, "RUNNING", false, false},
        {__LINE__, INV_SUCCEEDED, "SUCCEEDED", true, false},
        {__LINE__, INV_FAILED, "FAILED", true, false},
        {__LINE__, INV_OVERRUN, "OVERRUN", true, false},
        {__LINE__, INV_ABORTED, "ABORTED", true, false},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        print_message("line %d\n", cases[i].line);
        assert_string_equal(inv_status_name(cases[i].s), cases[i].name);
        assert_int_equal(inv_status_from_name(cases[i].name), (int)cases[i].s);
        assert_int_equal(inv_status_is_final(cases[i].s), cases[i].final);
        assert_int_equal(inv_status_is_initial(cases[i].s), cases[i].initial);
    }
    assert_int_equal(inv_status_from_name("running"), -EINVAL);
    assert_int_equal(inv_status_from_name(""), -EINVAL);
    assert_int_equal(inv_status_from_name("RUNNING "), -EINVAL);
    assert_int_equal(inv_status_from_name(NULL), -EINVAL);
    assert_string_equal(inv_status_name(_INV_STATUS_MAX), "UNKNOWN");
}

static const struct def_case {
    int line;
    const char *cfg;
    const char *id;
    int want_err;
    const char *want; /* JSON */
} def_cases[] = {
    {__LINE__, "job { id: \"a\" noop { sleep_ms: 1000 triggers_count: 2 } }", "a", 0,
     "{\"noop\": {\"sleepMs\": \"1000\", \"triggersCount\": \"2\"}}"},
    {__LINE__, "job { id: \"a\" noop {} }", "a", 0, "{\"noop\": {}}"},
    {__LINE__, "job { id: \"a\" noop { sleep_ms: -5 } }", "a", 0,
     "{\"noop\": {\"sleepMs\": \"-5\"}}"},
    {__LINE__, "trigger { id: \"t\" noop { triggers_count: 3 } }", "t", 0,
     "{\"noop\": {\"triggersCount\": \"3\"}}"},
    {__LINE__,
     "job { id: \"f\" url_fetch { method: \"GET\" url: \"https://example.com/x\""
     " timeout_sec: 30 } }",
     "f", 0,
     "{\"urlFetch\": {\"method\": \"GET\", \"url\": \"https://example.com/x\","
     " \"timeoutSec\": 30}}"},
    {__LINE__, "job { id: \"f\" url_fetch { url: \"http://h/\" } }", "f", 0,
     "{\"urlFetch\": {\"url\": \"http://h/\"}}"},
    {__LINE__,
     "job { id: \"b\" buildbucket { server: \"cr-buildbucket.appspot.com\" bucket: \"ci\""
     " builder: \"linux\" properties: \"a:1\" tags: \"k:v\" tags: \"k2:v2\" } }",
     "b", 0,
     "{\"buildbucket\": {\"server\": \"cr-buildbucket.appspot.com\", \"bucket\": \"ci\","
     " \"builder\": \"linux\", \"properties\": [\"a:1\"], \"tags\": [\"k:v\", \"k2:v2\"]}}"},
    {__LINE__, "job { id: \"b\" buildbucket { builder: \"x\" } }", "b", 0,
     "{\"buildbucket\": {\"builder\": \"x\"}}"},
    {__LINE__,
     "trigger { id: \"g\" gitiles { repo: \"https://h.googlesource.com/r\""
     " refs: \"refs/heads/main\" refs: \"regexp:refs/branch-heads/.+\""
     " path_regexps: \"src/.+\" path_regexps_exclude: \"src/docs/.+\" } }",
     "g", 0,
     "{\"gitiles\": {\"repo\": \"https://h.googlesource.com/r\","
     " \"refs\": [\"refs/heads/main\", \"regexp:refs/branch-heads/.+\"],"
     " \"pathRegexps\": [\"src/.+\"], \"pathRegexpsExclude\": [\"src/docs/.+\"]}}"},
    {__LINE__, "job { id: \"none\" schedule: \"* * * * *\" }", "none", -ENOENT, NULL},
};

static void test_def_from_config(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(def_cases); i++) {
        const struct def_case *tc = &def_cases[i];
        struct cfg_diags d;
        struct cfg_project *p = NULL;
        json_t *got = (json_t *)0x1, *want = NULL;

        print_message("line %d\n", tc->line);
        cfg_diags_init(&d);
        assert_int_equal(cfg_project_parse(tc->cfg, strlen(tc->cfg), &p, &d), 0);
        const struct cfg_job *j = cfg_project_find(p, tc->id);
        assert_non_null(j);
        int r = task_def_from_config(j, &got);
        assert_int_equal(r, tc->want_err);
        if (tc->want) {
            want = json_loads(tc->want, 0, NULL);
            assert_non_null(want);
            if (!json_equal(got, want)) {
                char *s = json_dumps(got, JSON_SORT_KEYS);
                print_message("got %s\n", s);
                free(s);
                fail();
            }
            json_decref(got);
            json_decref(want);
        } else {
            assert_ptr_equal(got, (json_t *)0x1); /* untouched on failure */
        }
        cfg_project_free(p);
        cfg_diags_release(&d);
    }
}

static void test_def_kind(void **state)
{
    static const struct {
        int line;
        const char *def;
        const char *want;
    } cases[] = {
        {__LINE__, "{\"noop\": {}}", "noop"},
        {__LINE__, "{\"urlFetch\": {\"url\": \"x\"}}", "url_fetch"},
        {__LINE__, "{\"url_fetch\": {}}", "url_fetch"},
        {__LINE__, "{\"buildbucket\": {}}", "buildbucket"},
        {__LINE__, "{\"gitiles\": {}}", "gitiles"},
        {__LINE__, "{\"git\": {}}", "git"},
        {__LINE__, "{\"svn\": {}}", NULL},
        {__LINE__, "{\"noop\": 1}", NULL},
        {__LINE__, "{\"noop\": {}, \"gitiles\": {}}", NULL},
        {__LINE__, "{}", NULL},
        {__LINE__, "[]", NULL},
        {__LINE__, "\"noop\"", NULL},
    };
    (void)state;
    assert_null(task_def_kind(NULL));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        print_message("line %d\n", cases[i].line);
        json_t *def = json_loads(cases[i].def, JSON_DECODE_ANY, NULL);
        assert_non_null(def);
        const char *got = task_def_kind(def);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else
            assert_null(got);
        json_decref(def);
    }
}

static int dummy_launch(const struct task_manager *m, struct task_ctl *c)
{
    (void)m;
    (void)c;
    return 0;
}

static void test_registry(void **state)
{
    static struct task_manager many[LIMIT_TASK_MANAGERS + 1];
    static char names[LIMIT_TASK_MANAGERS + 1][16];
    const struct task_manager a = {.name = "a", .launch = dummy_launch};
    const struct task_manager a2 = {.name = "a", .launch = dummy_launch};
    const struct task_manager noname = {.name = "", .launch = dummy_launch};
    const struct task_manager nolaunch = {.name = "b"};
    struct task_registry *r = task_registry_new();
    json_t *def;

    (void)state;
    assert_non_null(r);
    assert_null(task_registry_find(r, "a"));
    assert_int_equal(task_registry_add(r, &a), 0);
    assert_ptr_equal(task_registry_find(r, "a"), &a);
    assert_int_equal(task_registry_add(r, &a2), -EEXIST);
    assert_ptr_equal(task_registry_find(r, "a"), &a);
    assert_int_equal(task_registry_add(r, &noname), -EINVAL);
    assert_int_equal(task_registry_add(r, &nolaunch), -EINVAL);
    assert_int_equal(task_registry_add(r, NULL), -EINVAL);
    assert_null(task_registry_find(r, "b"));
    assert_null(task_registry_find(r, NULL));
    r = task_registry_free(r);
    assert_null(r);

    /* The limit: LIMIT_TASK_MANAGERS fit, one more does not. */
    r = task_registry_new();
    for (int i = 0; i <= LIMIT_TASK_MANAGERS; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        many[i].name = names[i];
        many[i].launch = dummy_launch;
        assert_int_equal(task_registry_add(r, &many[i]),
                         i < LIMIT_TASK_MANAGERS ? 0 : -E2BIG);
    }
    assert_ptr_equal(task_registry_find(r, "m0"), &many[0]);
    assert_null(task_registry_find(r, names[LIMIT_TASK_MANAGERS]));
    task_registry_free(r);

    /* The default registry: noop and url_fetch, configured by the options. */
    struct task_options opts = {.noop_default_sleep_ns = 5};
    assert_int_equal(task_registry_default(&opts, &r), 0);
    const struct task_manager *noop = task_registry_find(r, "noop");
    const struct task_manager *uf = task_registry_find(r, "url_fetch");
    assert_non_null(noop);
    assert_non_null(uf);
    assert_true(noop->multistage);
    assert_false(uf->multistage);
    assert_non_null(noop->ctx);
    assert_int_equal(((const struct task_options *)noop->ctx)->noop_default_sleep_ns, 5);
    assert_null(task_registry_find(r, "buildbucket"));
    def = json_pack("{s:{s:s}}", "urlFetch", "url", "http://x/");
    assert_ptr_equal(task_registry_find_for_def(r, def), uf);
    json_decref(def);
    def = json_pack("{s:{}}", "gitiles");
    assert_null(task_registry_find_for_def(r, def));
    json_decref(def);
    task_registry_free(r);
    assert_null(task_registry_free(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_def_from_config),
        cmocka_unit_test(test_def_kind),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
