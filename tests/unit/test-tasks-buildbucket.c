/*
 * Unit tests for the pure parts of the buildbucket task manager
 * (src/tasks/buildbucket/bb-internal.h): builder ids, tags, properties,
 * $recipe_engine/scheduler, popCommitFromTags, both seeds' requests,
 * status mapping, Pub/Sub token extraction and the poll policy.
 *
 * Expected values come from luci-scheduler-spec.md 4.1 (the TestBuilderID
 * table and the TestFullFlow / TestTriggeredFlow fact checks), LUCI's log
 * messages, and the text of the two seed pages in ../shared/seeds/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/base64.h"
#include "tasks/buildbucket/bb-internal.h"

#include "test-tasks-fakectl.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return v;
}

static void assert_json_equal(const json_t *got, const char *want_text)
{
    json_t *want = J(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_SORT_KEYS);
        print_error("got  %s\nwant %s\n", g, w);
        free(g);
        free(w);
        fail();
    }
    json_decref(want);
}

/* The log holds exactly want[] (NULL-terminated). */
static void assert_log(const struct fake_ctl *f, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < f->n_log || i < n; i++) {
        const char *g = i < f->n_log ? f->log[i] : "(none)";
        const char *w = i < n ? want[i] : "(none)";
        if (strcmp(g, w) != 0)
            fail_msg("log line %zu:\ngot  %s\nwant %s", i, g, w);
    }
}

/* A fake ctl for job "project/job", invocation inv, with task and request JSON. */
struct setup {
    struct fake_ctl f;
    json_t *task, *request;
};

static void setup_init(struct setup *s, const char *job, const char *project, int64_t inv,
                       const char *realm, const char *task, const char *request)
{
    s->task = J(task);
    s->request = J(request);
    fake_ctl_init(&s->f, inv, s->task);
    s->f.ctl.job_id = job;
    s->f.ctl.project = project;
    s->f.ctl.realm_id = realm;
    s->f.ctl.request = s->request;
}

static void setup_release(struct setup *s)
{
    fake_ctl_release(&s->f);
    json_decref(s->task);
    json_decref(s->request);
}

/* ---- builder ids: the TestBuilderID table of spec 4.1.2 ---- */

static void test_builder_id(void **state)
{
    static const struct {
        int line;
        const char *realm, *bucket;
        const char *project, *want_bucket; /* NULL: error */
        bool legacy;
        const char *err;
    } cases[] = {
        {__LINE__, "proj:realm", "", "proj", "realm", false, NULL},
        {__LINE__, "proj:@legacy", "", NULL, NULL, false,
         "'bucket' field for jobs in \"@legacy\" realm is required"},
        {__LINE__, "proj:@root", "", NULL, NULL, false,
         "'bucket' field for jobs in \"@root\" realm is required"},
        {__LINE__, "proj:realm", "another-proj:buck", "another-proj", "buck", false, NULL},
        {__LINE__, "proj:realm", "buck", "proj", "buck", false, NULL},
        {__LINE__, "proj:realm", "abc.def.123", "proj", "abc.def.123", false, NULL},
        {__LINE__, "proj:@legacy", "buck", "proj", "buck", false, NULL},
        /* tock accepts legacy v1 names (for v1 hosts) and flags them. */
        {__LINE__, "proj:realm", "luci.proj.buck", "proj", "buck", true, NULL},
        {__LINE__, "proj:realm", "luci.another-proj.buck", "another-proj", "buck", true, NULL},
        {__LINE__, "proj:realm", "luci.another-proj", NULL, NULL, false,
         "bad legacy v1 'bucket' \"luci.another-proj\", need 3 components"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char task[256], err[512] = "";
        struct cfg_builder_id id;
        print_message("line %d\n", cases[i].line);
        snprintf(task, sizeof(task),
                 "{\"server\": \"bb.example.com\", \"bucket\": \"%s\", \"builder\": \"b\"}",
                 cases[i].bucket);
        json_t *body = J(task);
        int r = bb_builder_id(body, cases[i].realm, &id, err, sizeof(err));
        if (cases[i].project) {
            assert_int_equal(r, 0);
            assert_string_equal(id.project, cases[i].project);
            assert_string_equal(id.bucket, cases[i].want_bucket);
            assert_string_equal(id.builder, "b");
            assert_int_equal(id.legacy_v1, cases[i].legacy);
        } else {
            assert_int_equal(r, -EINVAL);
            assert_string_equal(err, cases[i].err);
        }
        json_decref(body);
    }
    json_t *nobuilder = J("{\"bucket\": \"buck\"}");
    char err[512];
    struct cfg_builder_id id;
    assert_int_equal(bb_builder_id(nobuilder, "proj:realm", &id, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "'builder' field is required");
    json_decref(nobuilder);
}

/* ---- TestFullFlow (spec 4.1.3 fact check) ---- */

static const struct bb_env full_flow_env = {.hostname = "app.example.com", .app_id = "app"};

static void test_full_flow_request(void **state)
{
    struct setup s;
    struct bb_v2_parts p;
    json_t *req = NULL;
    (void)state;

    setup_init(&s, "some-project/some-job", "some-project", 1, "some-project:@legacy",
               "{\"buildbucket\": {\"server\": \"bb.example.com\", \"bucket\": \"test-bucket\","
               " \"builder\": \"builder\", \"tags\": [\"a:from-task-def\", \"b:from-task-def\"]}}",
               "{\"incomingTriggers\": [{\"id\": \"trigger\", \"title\": \"Trigger\","
               " \"url\": \"https://trigger.example.com\", \"created\": \"2026-01-01T00:00:00Z\","
               " \"orderInBatch\": \"0\", \"jobId\": \"some-project/other\","
               " \"gitiles\": {\"repo\": \"https://chromium.googlesource.com/chromium/src\","
               " \"ref\": \"refs/heads/master\", \"revision\": \"deadbeef\"}}]}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
    assert_int_equal(bb_v2_request(&p, 1, "topic", &req), 0);
    assert_json_equal(
        req,
        "{\"requestId\": \"1\","
        " \"builder\": {\"project\": \"some-project\", \"bucket\": \"test-bucket\","
        "               \"builder\": \"builder\"},"
        " \"gitilesCommit\": {\"host\": \"chromium.googlesource.com\","
        "   \"project\": \"chromium/src\", \"id\": \"deadbeef\", \"ref\": \"refs/heads/master\"},"
        " \"properties\": {\"$recipe_engine/scheduler\": {\"hostname\": \"app.example.com\","
        "   \"job\": \"some-project/some-job\", \"invocation\": \"1\","
        "   \"triggers\": [{\"id\": \"trigger\", \"title\": \"Trigger\","
        "     \"url\": \"https://trigger.example.com\","
        "     \"gitiles\": {\"repo\": \"https://chromium.googlesource.com/chromium/src\","
        "                   \"ref\": \"refs/heads/master\", \"revision\": \"deadbeef\"}}]}},"
        " \"tags\": [{\"key\": \"scheduler_invocation_id\", \"value\": \"1\"},"
        "   {\"key\": \"scheduler_job_id\", \"value\": \"some-project/some-job\"},"
        "   {\"key\": \"user_agent\", \"value\": \"app\"},"
        "   {\"key\": \"a\", \"value\": \"from-task-def\"},"
        "   {\"key\": \"b\", \"value\": \"from-task-def\"}],"
        " \"notify\": {\"pubsubTopic\": \"topic\"}}");
    /* The seed's key order. */
    const char *order[] = {"requestId", "builder", "properties", "gitilesCommit", "tags",
                           "notify"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v) {
        (void)v;
        assert_string_equal(key, order[i++]);
    }
    /* No buildset tag: LUCI always logs this one. */
    const char *want_log[] = {"Ignoring gitiles_ref tag without the buildset tag", NULL};
    assert_log(&s.f, want_log);
    json_decref(req);
    bb_v2_parts_release(&p);
    setup_release(&s);
}

/* ---- tags and properties ---- */

static void test_tags_order(void **state)
{
    struct setup s;
    json_t *tags = NULL;
    (void)state;
    setup_init(&s, "p/j", "p", 42, "p:r",
               "{\"buildbucket\": {\"builder\": \"lin\", \"tags\": [\"x:1\", \"a:2\"]}}",
               "{\"tags\": [\"x:3\", \"user_agent:dup\"]}");
    assert_int_equal(bb_tags(&s.f.ctl, "app", NULL, &tags), 0);
    assert_json_equal(tags, "[\"scheduler_invocation_id:42\", \"scheduler_job_id:p/j\","
                            " \"user_agent:app\", \"x:1\", \"a:2\", \"x:3\", \"user_agent:dup\"]");
    json_decref(tags);
    /* v1: builder:<builder> first (the 2021 seed). */
    assert_int_equal(bb_tags(&s.f.ctl, "app", "lin", &tags), 0);
    assert_json_equal(tags, "[\"builder:lin\", \"scheduler_invocation_id:42\","
                            " \"scheduler_job_id:p/j\", \"user_agent:app\", \"x:1\", \"a:2\","
                            " \"x:3\", \"user_agent:dup\"]");
    json_decref(tags);
    setup_release(&s);
}

static void test_properties_overlay(void **state)
{
    struct setup s;
    json_t *props = NULL;
    (void)state;
    setup_init(&s, "p/j", "p", 1, "p:r",
               "{\"buildbucket\": {\"properties\": [\"a:1\", \"b:x:y\", \"c:\", \"d:cfg\"]}}",
               "{\"properties\": {\"d\": {\"from\": \"request\"}, \"e\": 5, \"f\": true}}");
    assert_int_equal(bb_properties(&s.f.ctl, &props), 0);
    /* Config values are strings split at the first ':'; the request wins. */
    assert_json_equal(props, "{\"a\": \"1\", \"b\": \"x:y\", \"c\": \"\","
                             " \"d\": {\"from\": \"request\"}, \"e\": 5, \"f\": true}");
    json_decref(props);
    setup_release(&s);
}

/* ---- $recipe_engine/scheduler ---- */

static void test_scheduler_property_cap(void **state)
{
    struct setup s;
    json_t *req = json_object(), *ts = json_array(), *prop = NULL;
    (void)state;
    for (int i = 0; i < 103; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d", i);
        json_array_append_new(ts, json_pack("{s:s, s:s, s:{s:s}}", "id", id, "created",
                                            "2026-01-01T00:00:00Z", "noop", "data", "secret"));
    }
    json_object_set_new(req, "incomingTriggers", ts);
    setup_init(&s, "p/j", "p", 7, "p:r", "{\"buildbucket\": {}}", "{}");
    s.f.ctl.request = req;
    assert_int_equal(bb_scheduler_property(&s.f.ctl, "h", false, &prop), 0);
    const char *want_log[] = {"Capping 103 triggers passed to the build to just 100 latest ones",
                              NULL};
    assert_log(&s.f, want_log);
    json_t *list = json_object_get(prop, "triggers");
    assert_int_equal(json_array_size(list), 100);
    /* The newest 100, public form: the noop payload loses its data. */
    assert_json_equal(json_array_get(list, 0), "{\"id\": \"t3\", \"noop\": {}}");
    assert_json_equal(json_array_get(list, 99), "{\"id\": \"t102\", \"noop\": {}}");
    assert_string_equal(json_string_value(json_object_get(prop, "invocation")), "7");
    assert_string_equal(json_string_value(json_object_get(prop, "job")), "p/j");
    json_decref(prop);
    /* v1 style: hostname and triggers only. */
    assert_int_equal(bb_scheduler_property(&s.f.ctl, "h", true, &prop), 0);
    assert_int_equal(json_object_size(prop), 2);
    assert_non_null(json_object_get(prop, "hostname"));
    json_decref(prop);
    json_decref(req);
    setup_release(&s);
}

static void test_public_trigger(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: -EINVAL */
    } cases[] = {
        {"{\"id\": \"cron:v1:3\", \"created\": \"x\", \"orderInBatch\": \"2\","
         " \"cron\": {\"generation\": \"3\"}}",
         "{\"id\": \"cron:v1:3\", \"cron\": {\"generation\": \"3\"}}"},
        {"{\"id\": \"w\", \"title\": \"Triggered via web UI\", \"emittedByUser\": \"user:a@b\","
         " \"webui\": {}}",
         "{\"id\": \"w\", \"title\": \"Triggered via web UI\", \"webui\": {}}"},
        {"{\"id\": \"b\", \"url\": \"\", \"buildbucket\": {\"properties\": {\"a\": 1},"
         " \"tags\": [\"k:v\"]}}",
         "{\"id\": \"b\", \"buildbucket\": {\"properties\": {\"a\": 1}, \"tags\": [\"k:v\"]}}"},
        {"{\"title\": \"no id\"}", NULL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *in = J(cases[i].in), *out = NULL;
        int r = bb_public_trigger(in, &out);
        if (cases[i].want) {
            assert_int_equal(r, 0);
            assert_json_equal(out, cases[i].want);
        } else {
            assert_int_equal(r, -EINVAL);
        }
        json_decref(out);
        json_decref(in);
    }
}

static void test_chromium_exclusion(void **state)
{
    static const char *const buckets[] = {"chromium:ci", "chrome:ci", "other:ci"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(buckets); i++) {
        struct setup s;
        struct bb_v2_parts p;
        char task[256];
        snprintf(task, sizeof(task), "{\"buildbucket\": {\"bucket\": \"%s\", \"builder\": \"b\"}}",
                 buckets[i]);
        setup_init(&s, "p/j", "p", 1, "p:r", task, "{}");
        assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
        bool has = json_object_get(p.properties, "$recipe_engine/scheduler") != NULL;
        assert_int_equal(has, i == 2);
        bb_v2_parts_release(&p);
        setup_release(&s);
    }
}

/* ---- popCommitFromTags: every message (spec 4.1.3 step 6) ---- */

static void test_pop_commit(void **state)
{
    static const struct {
        int line;
        const char *tags, *props;
        const char *want_commit; /* NULL: none */
        const char *want_tags, *want_props;
        const char *log[8];
    } cases[] = {
        {__LINE__, "[\"a:b\"]", "{}", NULL, "[\"a:b\"]", "{}",
         {"Ignoring gitiles_ref tag without the buildset tag"}},
        {__LINE__,
         "[\"buildset:commit/gitiles/h.example.com/a/b/+/abc123\", \"gitiles_ref:main\","
         " \"x:y\"]",
         "{\"keep\": 1}",
         "{\"host\": \"h.example.com\", \"project\": \"a/b\", \"id\": \"abc123\","
         " \"ref\": \"refs/heads/main\"}",
         "[\"x:y\"]", "{\"keep\": 1}",
         {"Popped buildset tag \"buildset:commit/gitiles/h.example.com/a/b/+/abc123\""}},
        {__LINE__,
         "[\"buildset:commit/git/deadbeef\", \"buildset:commit/gitiles/h/p/+/deadbeef\","
         " \"buildset:commit/gitiles/h/q/+/beef\", \"gitiles_ref:one\","
         " \"gitiles_ref:refs/two\"]",
         "{}", "{\"host\": \"h\", \"project\": \"p\", \"id\": \"deadbeef\", \"ref\": \"refs/two\"}",
         "[]", "{}",
         {"Ignoring unrecognized buildset tag \"buildset:commit/git/deadbeef\"",
          "Popped buildset tag \"buildset:commit/gitiles/h/p/+/deadbeef\"",
          "Ignoring extra buildset tag \"buildset:commit/gitiles/h/q/+/beef\"",
          "Ignoring extra gitiles_ref \"refs/heads/one\""}},
        {__LINE__, "[\"gitiles_ref:main\"]",
         "{\"repository\": \"https://h/p\", \"branch\": \"main\", \"revision\": \"abc\","
         " \"other\": \"x\"}",
         NULL, "[]", "{\"other\": \"x\"}",
         {"Ignoring gitiles_ref tag without the buildset tag",
          "No buildset tag present, ignoring property \"repository\": \"https://h/p\"",
          "No buildset tag present, ignoring property \"branch\": \"refs/heads/main\"",
          "No buildset tag present, ignoring property \"revision\": \"abc\""}},
        {__LINE__, "[\"buildset:commit/gitiles/h/p/+/abc\", \"gitiles_ref:refs/heads/main\"]",
         "{\"repository\": \"https://other/q.git\", \"branch\": \"dev\", \"revision\": \"def\"}",
         "{\"host\": \"h\", \"project\": \"p\", \"id\": \"abc\", \"ref\": \"refs/heads/main\"}",
         "[]", "{}",
         {"Popped buildset tag \"buildset:commit/gitiles/h/p/+/abc\"",
          "Git host in properties \"other\" doesn't match the one in tags \"h\"",
          "Git project in properties \"q\" doesn't match the one in tags \"p\"",
          "Git ref in properties \"refs/heads/dev\" doesn't match the one in tags "
          "\"refs/heads/main\"",
          "Git commit in properties \"def\" doesn't match the one in tags \"abc\""}},
        {__LINE__, "[\"buildset:commit/gitiles/h/p/+/abc\"]",
         "{\"repository\": \"ftp://h/p\", \"revision\": \"abc\"}",
         "{\"host\": \"h\", \"project\": \"p\", \"id\": \"abc\"}", "[]", "{}",
         {"Popped buildset tag \"buildset:commit/gitiles/h/p/+/abc\"",
          "Ignoring invalid property \"repository\": \"ftp://h/p\""}},
        {__LINE__, "[\"buildset:commit/gitiles/h/p/+/ABC\", \"buildset:x\"]", "{}", NULL, "[]",
         "{}",
         {"Ignoring unrecognized buildset tag \"buildset:commit/gitiles/h/p/+/ABC\"",
          "Ignoring unrecognized buildset tag \"buildset:x\"",
          "Ignoring gitiles_ref tag without the buildset tag"}},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct setup s;
        json_t *tags = J(cases[i].tags), *props = J(cases[i].props), *commit = NULL;
        print_message("line %d\n", cases[i].line);
        setup_init(&s, "p/j", "p", 1, "p:r", "{\"buildbucket\": {}}", "{}");
        assert_int_equal(bb_pop_commit_from_tags(&s.f.ctl, props, tags, &commit), 0);
        if (cases[i].want_commit)
            assert_json_equal(commit, cases[i].want_commit);
        else
            assert_null(commit);
        assert_json_equal(tags, cases[i].want_tags);
        assert_json_equal(props, cases[i].want_props);
        assert_log(&s.f, cases[i].log);
        json_decref(commit);
        json_decref(tags);
        json_decref(props);
        setup_release(&s);
    }
}

/* ---- TestTriggeredFlow (spec 4.1.3 fact check) ---- */

/*
 * The gitilesCommit of a gitiles trigger from any https host (tock's
 * leniency: a private Gitiles behind --host-map), the project without
 * "/a/" and ".git"; a bad URL is refused with a reason.
 */
static void test_commit_any_host(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *repo;
        const char *want; /* NULL: -EINVAL */
    } rows[] = {
        {__LINE__, "https://git.example.com/a/team/app.git",
         "{\"host\": \"git.example.com\", \"project\": \"team/app\", \"id\": \"abc\","
         " \"ref\": \"refs/heads/main\"}"},
        {__LINE__, "https://chromium.googlesource.com/chromium/src",
         "{\"host\": \"chromium.googlesource.com\", \"project\": \"chromium/src\","
         " \"id\": \"abc\", \"ref\": \"refs/heads/main\"}"},
        {__LINE__, "https://git.example.com/r?x=1", NULL},
        {__LINE__, "https://git.example.com/", NULL},
        {__LINE__, "ftp://git.example.com/r", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *t = json_pack("{s:{s:s,s:s,s:s}}", "gitiles", "repo", rows[i].repo, "ref",
                              "refs/heads/main", "revision", "abc");
        json_t *got = NULL;
        char err[512] = "";
        int rc = bb_commit_from_trigger(t, &got, err, sizeof(err));
        bool ok;
        if (rows[i].want) {
            json_t *want = json_loads(rows[i].want, 0, NULL);
            ok = rc == 0 && json_equal(got, want);
            json_decref(want);
        } else {
            ok = rc == -EINVAL && !got && strstr(err, "bad repo URL") != NULL;
        }
        if (!ok) {
            print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
            fail();
        }
        json_decref(got);
        json_decref(t);
    }
}

static void test_triggered_flow(void **state)
{
    struct setup s;
    struct bb_v2_parts p;
    (void)state;

    /* Two gitiles triggers; the newest carries extra tags and properties. */
    setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
               "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\", \"tags\": [\"t:1\"]}}",
               "{\"incomingTriggers\": ["
               " {\"id\": \"1\", \"gitiles\": {\"repo\": \"https://r.googlesource.com/repo\","
               "  \"ref\": \"refs/heads/master\", \"revision\": \"baadcafe\"}},"
               " {\"id\": \"2\", \"gitiles\": {\"repo\": \"https://r.googlesource.com/repo\","
               "  \"ref\": \"refs/heads/master\", \"revision\": \"deadbeef\"}}],"
               " \"tags\": [\"extra:tag\", \"gitiles_ref:refs/heads/master\"],"
               " \"properties\": {\"extra_prop\": \"val\", \"branch\": \"ignored\"}}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
    assert_json_equal(p.commit, "{\"host\": \"r.googlesource.com\", \"project\": \"repo\","
                                " \"id\": \"deadbeef\", \"ref\": \"refs/heads/master\"}");
    assert_int_equal(json_object_size(p.properties), 2);
    assert_non_null(json_object_get(p.properties, "$recipe_engine/scheduler"));
    assert_string_equal(json_string_value(json_object_get(p.properties, "extra_prop")), "val");
    assert_json_equal(p.tags, "[\"scheduler_invocation_id:5\", \"scheduler_job_id:proj/job\","
                              " \"user_agent:app\", \"t:1\", \"extra:tag\"]");
    const char *log1[] = {"Ignoring gitiles_ref tag without the buildset tag",
                          "No buildset tag present, ignoring property \"branch\": "
                          "\"refs/heads/ignored\"",
                          NULL};
    assert_log(&s.f, log1);
    bb_v2_parts_release(&p);
    setup_release(&s);

    /* A buildbucket trigger with v1-era tags and properties: tags are authoritative. */
    setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
               "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\"}}",
               "{\"incomingTriggers\": [{\"id\": \"3\", \"buildbucket\": {}}],"
               " \"tags\": [\"buildset:commit/git/deadbeef\","
               "  \"buildset:commit/gitiles/r.googlesource.com/repo/+/deadbeef\","
               "  \"gitiles_ref:ignored\", \"gitiles_ref:master\", \"extra:tag\"],"
               " \"properties\": {\"repository\": \"https://r.googlesource.com/repo\","
               "  \"branch\": \"master\", \"revision\": \"deadbeef\", \"extra_prop\": \"val\"}}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
    assert_json_equal(p.commit, "{\"host\": \"r.googlesource.com\", \"project\": \"repo\","
                                " \"id\": \"deadbeef\", \"ref\": \"refs/heads/master\"}");
    assert_json_equal(p.tags, "[\"scheduler_invocation_id:5\", \"scheduler_job_id:proj/job\","
                              " \"user_agent:app\", \"extra:tag\"]");
    assert_null(json_object_get(p.properties, "repository"));
    assert_null(json_object_get(p.properties, "branch"));
    assert_null(json_object_get(p.properties, "revision"));
    const char *log2[] = {
        "Ignoring unrecognized buildset tag \"buildset:commit/git/deadbeef\"",
        "Popped buildset tag \"buildset:commit/gitiles/r.googlesource.com/repo/+/deadbeef\"",
        "Ignoring extra gitiles_ref \"refs/heads/ignored\"",
        "Reconstructed gitiles commit from tags",
        NULL,
    };
    assert_log(&s.f, log2);
    bb_v2_parts_release(&p);
    setup_release(&s);

    /* No buildset tag: no commit, and repository/branch/revision are dropped. */
    setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
               "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\"}}",
               "{\"incomingTriggers\": [{\"id\": \"3\", \"buildbucket\": {}}],"
               " \"properties\": {\"repository\": \"https://r.googlesource.com/repo\","
               "  \"branch\": \"master\", \"revision\": \"deadbeef\"}}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
    assert_null(p.commit);
    assert_int_equal(json_object_size(p.properties), 1);
    bb_v2_parts_release(&p);
    setup_release(&s);
}

/*
 * git triggers (docs/tasks.md "git"): a remote with a host gives the build
 * a gitilesCommit, one without (file://) none and the launch still
 * succeeds; the reserved repository/branch/revision properties are popped
 * as for gitiles (Buildbucket refuses them), the trigger itself stays in
 * $recipe_engine/scheduler.
 */
static void test_git_trigger_flow(void **state)
{
#define GSHA "0123456789abcdef0123456789abcdef01234567"
    static const struct {
        int line;
        const char *url, *gitiles_tags, *want_commit; /* NULL: no commit */
    } rows[] = {
        {__LINE__, "ssh://git@git.example.com:2222/team/app.git",
         "\"buildset:commit/gitiles/git.example.com/team/app/+/" GSHA "\","
         " \"gitiles_ref:refs/heads/main\",",
         "{\"host\": \"git.example.com\", \"project\": \"team/app\", \"id\": \"" GSHA "\","
         " \"ref\": \"refs/heads/main\"}"},
        {__LINE__, "https://github.com/team/app.git",
         "\"buildset:commit/gitiles/github.com/team/app/+/" GSHA "\","
         " \"gitiles_ref:refs/heads/main\",",
         "{\"host\": \"github.com\", \"project\": \"team/app\", \"id\": \"" GSHA "\","
         " \"ref\": \"refs/heads/main\"}"},
        {__LINE__, "file:///srv/git/app.git", "", NULL},
        {__LINE__, "/srv/git/app.git", "", NULL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct setup s;
        struct bb_v2_parts p;
        char req[4096];
        snprintf(req, sizeof(req),
                 "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\": \"%s\","
                 " \"ref\": \"refs/heads/main\", \"revision\": \"" GSHA "\", \"git\": true,"
                 " \"tags\": [\"buildset:commit/git/" GSHA "\"]}}],"
                 " \"tags\": [%s \"buildset:commit/git/" GSHA "\"],"
                 " \"properties\": {\"repository\": \"%s\", \"branch\": \"refs/heads/main\","
                 " \"revision\": \"" GSHA "\"}}",
                 rows[i].url, rows[i].gitiles_tags, rows[i].url);
        setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
                   "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\"}}", req);
        int rc = bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p);
        if (rc != 0)
            fail_msg("line %d: rc %d (%s)", rows[i].line, rc, s.f.ctl.err);
        if (rows[i].want_commit)
            assert_json_equal(p.commit, rows[i].want_commit);
        else
            assert_null(p.commit);
        assert_null(json_object_get(p.properties, "repository"));
        assert_null(json_object_get(p.properties, "branch"));
        assert_null(json_object_get(p.properties, "revision"));
        const json_t *sched = json_object_get(p.properties, "$recipe_engine/scheduler");
        char *dump = json_dumps(sched, JSON_COMPACT);
        assert_non_null(dump);
        assert_non_null(strstr(dump, GSHA));
        assert_non_null(strstr(dump, rows[i].url));
        free(dump);
        bb_v2_parts_release(&p);
        setup_release(&s);
    }
#undef GSHA
}

static void test_commit_mismatch(void **state)
{
    struct setup s;
    struct bb_v2_parts p;
    (void)state;
    setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
               "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\"}}",
               "{\"incomingTriggers\": [{\"id\": \"1\", \"gitiles\": {"
               " \"repo\": \"https://h.example.com/a/p.git/\", \"ref\": \"refs/heads/main\","
               " \"revision\": \"aaa\"}}],"
               " \"tags\": [\"buildset:commit/gitiles/h.example.com/p/+/bbb\"]}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), 0);
    assert_json_equal(p.commit,
                      "{\"host\": \"h.example.com\", \"project\": \"p\", \"id\": \"bbb\"}");
    const char *want[] = {
        "Popped buildset tag \"buildset:commit/gitiles/h.example.com/p/+/bbb\"",
        "crbug.com/1182002: Gitiles commit from triggers doesn't match the one from tags",
        "From triggers:\n{\n  \"host\": \"h.example.com\",\n  \"project\": \"p\",\n"
        "  \"id\": \"aaa\",\n  \"ref\": \"refs/heads/main\"\n}",
        "From properties:\n{\n  \"host\": \"h.example.com\",\n  \"project\": \"p\",\n"
        "  \"id\": \"bbb\"\n}",
        "Using the one from tags",
        NULL,
    };
    assert_log(&s.f, want);
    bb_v2_parts_release(&p);
    setup_release(&s);

    /* A gitiles trigger with a bad repo URL is fatal. */
    setup_init(&s, "proj/job", "proj", 5, "proj:@legacy",
               "{\"buildbucket\": {\"bucket\": \"b\", \"builder\": \"x\"}}",
               "{\"incomingTriggers\": [{\"id\": \"1\", \"gitiles\": {\"repo\": \"git://h/p\"}}]}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &full_flow_env, &p), -EINVAL);
    assert_string_equal(s.f.ctl.err, "failed to prepare gitiles_commit: bad repo URL "
                                     "\"git://h/p\": \"git://h/p\" should start with https://");
    setup_release(&s);
}

/* ---- the seeds ---- */

/* The 2025 seed (000_da1083d32b62d3ca.txt): its "Buildbucket request:" block. */
static const char seed_2025_request[] =
    "{\n"
    "  \"requestId\": \"8866960890537692368\",\n"
    "  \"builder\": {\n"
    "    \"project\": \"pigweed\",\n"
    "    \"bucket\": \"pigweed.dev.ci\",\n"
    "    \"builder\": \"pigweed-linux-zephyr\"\n"
    "  },\n"
    "  \"properties\": {\n"
    "      \"$recipe_engine/scheduler\": {\n"
    "            \"hostname\": \"luci-scheduler.appspot.com\",\n"
    "            \"invocation\": \"8866960890537692368\",\n"
    "            \"job\": \"pigweed/pigweed.dev.ci-pigweed-linux-zephyr\",\n"
    "            \"triggers\": [\n"
    "                  {\n"
    "                        \"gitiles\": {\n"
    "                              \"ref\": \"refs/heads/main\",\n"
    "                              \"repo\": \"https://pigweed.googlesource.com/pigweed/pigweed\",\n"
    "                              \"revision\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\"\n"
    "                            },\n"
    "                        \"id\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/refs/heads/main@59e0a8f4a6f6185007a20e61c81962b6198f62d4\",\n"
    "                        \"title\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\",\n"
    "                        \"url\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/59e0a8f4a6f6185007a20e61c81962b6198f62d4\"\n"
    "                      }\n"
    "                ]\n"
    "          }\n"
    "    },\n"
    "  \"gitilesCommit\": {\n"
    "    \"host\": \"pigweed.googlesource.com\",\n"
    "    \"project\": \"pigweed/pigweed\",\n"
    "    \"id\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\",\n"
    "    \"ref\": \"refs/heads/main\"\n"
    "  },\n"
    "  \"tags\": [\n"
    "    {\n"
    "      \"key\": \"scheduler_invocation_id\",\n"
    "      \"value\": \"8866960890537692368\"\n"
    "    },\n"
    "    {\n"
    "      \"key\": \"scheduler_job_id\",\n"
    "      \"value\": \"pigweed/pigweed.dev.ci-pigweed-linux-zephyr\"\n"
    "    },\n"
    "    {\n"
    "      \"key\": \"user_agent\",\n"
    "      \"value\": \"luci-scheduler\"\n"
    "    }\n"
    "  ],\n"
    "  \"notify\": {\n"
    "    \"pubsubTopic\": \"projects/luci-scheduler/topics/scheduler.buildbucket.cr-buildbucket~appspot.gserviceaccount.com\"\n"
    "  }\n"
    "}";

static const char seed_topic[] =
    "projects/luci-scheduler/topics/scheduler.buildbucket.cr-buildbucket~appspot.gserviceaccount.com";

static const struct bb_env luci_env = {.hostname = "luci-scheduler.appspot.com",
                                       .app_id = "luci-scheduler"};

static void test_seed_2025_request(void **state)
{
    struct setup s;
    struct bb_v2_parts p;
    json_t *req = NULL;
    struct buf b;
    (void)state;

    /* The seed's definition, incoming properties, tags and (gitiles) trigger. */
    setup_init(&s, "pigweed/pigweed.dev.ci-pigweed-linux-zephyr", "pigweed", 8866960890537692368,
               "pigweed:@legacy",
               "{\"buildbucket\": {\"server\": \"cr-buildbucket.appspot.com\","
               " \"bucket\": \"pigweed.dev.ci\", \"builder\": \"pigweed-linux-zephyr\"}}",
               "{\"incomingTriggers\": [{"
               "  \"id\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/refs/heads/main@"
               "59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
               "  \"title\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
               "  \"url\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/"
               "59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
               "  \"created\": \"2025-10-09T00:42:30Z\", \"orderInBatch\": \"0\","
               "  \"gitiles\": {\"repo\": \"https://pigweed.googlesource.com/pigweed/pigweed\","
               "   \"ref\": \"refs/heads/main\","
               "   \"revision\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\"}}],"
               " \"properties\": {\"branch\": \"refs/heads/main\","
               "  \"repository\": \"https://pigweed.googlesource.com/pigweed/pigweed\","
               "  \"revision\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\"},"
               " \"tags\": [\"buildset:commit/gitiles/pigweed.googlesource.com/pigweed/pigweed/+/"
               "59e0a8f4a6f6185007a20e61c81962b6198f62d4\", \"gitiles_ref:refs/heads/main\"]}");
    assert_int_equal(bb_v2_parts_build(&s.f.ctl, &luci_env, &p), 0);
    assert_int_equal(bb_v2_request(&p, s.f.ctl.invocation_id, seed_topic, &req), 0);
    buf_init(&b, 1 << 20);
    assert_int_equal(bb_json_write(req, BB_JSON_PROTO, &b), 0);
    assert_string_equal(b.data, seed_2025_request);
    const char *want[] = {
        "Popped buildset tag \"buildset:commit/gitiles/pigweed.googlesource.com/pigweed/"
        "pigweed/+/59e0a8f4a6f6185007a20e61c81962b6198f62d4\"",
        "Popped gitiles commit info from properties and tags",
        NULL,
    };
    assert_log(&s.f, want);
    buf_release(&b);
    json_decref(req);
    bb_v2_parts_release(&p);
    setup_release(&s);
}

/* The 2021 seed (001_7475f7ff23998933.txt): its "Buildbucket request:" block. */
static const char seed_2021_request[] =
    "{\n"
    "  \"bucket\": \"luci.tint.ci\",\n"
    "  \"client_operation_id\": \"9020353019805130176\",\n"
    "  \"parameters_json\": \"{\\\"builder_name\\\":\\\"mac-rel\\\",\\\"properties\\\":{\\\"$recipe_engine/scheduler\\\":{\\\"hostname\\\":\\\"luci-scheduler.appspot.com\\\",\\\"triggers\\\":[{\\\"gitiles\\\":{\\\"ref\\\":\\\"refs/heads/main\\\",\\\"repo\\\":\\\"https://dawn.googlesource.com/tint.git\\\",\\\"revision\\\":\\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"},\\\"id\\\":\\\"https://dawn.googlesource.com/tint.git/+/refs/heads/main@1d982367704d1ab504aedae06e02d5edb40c83aa\\\",\\\"title\\\":\\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\",\\\"url\\\":\\\"https://dawn.googlesource.com/tint.git/+/1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}]},\\\"branch\\\":\\\"refs/heads/main\\\",\\\"repository\\\":\\\"https://dawn.googlesource.com/tint.git\\\",\\\"revision\\\":\\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}}\",\n"
    "  \"pubsub_callback\": {\n"
    "    \"auth_token\": \"...\",\n"
    "    \"topic\": \"projects/luci-scheduler/topics/scheduler.buildbucket.cr-buildbucket~appspot.gserviceaccount.com\"\n"
    "  },\n"
    "  \"tags\": [\n"
    "    \"builder:mac-rel\",\n"
    "    \"scheduler_invocation_id:9020353019805130176\",\n"
    "    \"scheduler_job_id:tint/mac-rel\",\n"
    "    \"user_agent:luci-scheduler\",\n"
    "    \"buildset:commit/git/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "    \"buildset:commit/gitiles/dawn.googlesource.com/tint/+/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "    \"gitiles_ref:refs/heads/main\"\n"
    "  ]\n"
    "}";

static void test_seed_2021_request(void **state)
{
    struct setup s;
    json_t *req = NULL;
    struct buf b;
    (void)state;

    setup_init(&s, "tint/mac-rel", "tint", 9020353019805130176, "tint:@legacy",
               "{\"buildbucket\": {\"server\": \"cr-buildbucket.appspot.com\","
               " \"bucket\": \"luci.tint.ci\", \"builder\": \"mac-rel\"}}",
               "{\"incomingTriggers\": [{"
               "  \"id\": \"https://dawn.googlesource.com/tint.git/+/refs/heads/main@"
               "1d982367704d1ab504aedae06e02d5edb40c83aa\","
               "  \"title\": \"1d982367704d1ab504aedae06e02d5edb40c83aa\","
               "  \"url\": \"https://dawn.googlesource.com/tint.git/+/"
               "1d982367704d1ab504aedae06e02d5edb40c83aa\","
               "  \"gitiles\": {\"repo\": \"https://dawn.googlesource.com/tint.git\","
               "   \"ref\": \"refs/heads/main\","
               "   \"revision\": \"1d982367704d1ab504aedae06e02d5edb40c83aa\"}}],"
               " \"properties\": {\"branch\": \"refs/heads/main\","
               "  \"repository\": \"https://dawn.googlesource.com/tint.git\","
               "  \"revision\": \"1d982367704d1ab504aedae06e02d5edb40c83aa\"},"
               " \"tags\": [\"buildset:commit/git/1d982367704d1ab504aedae06e02d5edb40c83aa\","
               "  \"buildset:commit/gitiles/dawn.googlesource.com/tint/+/"
               "1d982367704d1ab504aedae06e02d5edb40c83aa\", \"gitiles_ref:refs/heads/main\"]}");
    assert_int_equal(bb_v1_request(&s.f.ctl, &luci_env, seed_topic, "...", &req), 0);
    buf_init(&b, 1 << 20);
    assert_int_equal(bb_json_write(req, BB_JSON_GO_INDENT, &b), 0);
    assert_string_equal(b.data, seed_2021_request);
    /* v1 pops nothing and logs nothing while building the request. */
    assert_int_equal(s.f.n_log, 0);
    buf_release(&b);
    json_decref(req);
    setup_release(&s);

    /* luci.chromium.* buckets get no $recipe_engine/scheduler; v2 names become v1 names. */
    static const struct {
        const char *bucket, *want_bucket;
        bool sched;
    } v1cases[] = {
        {"luci.chromium.ci", "luci.chromium.ci", false},
        {"luci.chrome.ci", "luci.chrome.ci", false},
        {"ci", "luci.tint.ci", true},
        {"other:try", "luci.other.try", true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(v1cases); i++) {
        char task[256];
        snprintf(task, sizeof(task), "{\"buildbucket\": {\"bucket\": \"%s\", \"builder\": \"b\"}}",
                 v1cases[i].bucket);
        setup_init(&s, "tint/j", "tint", 3, "tint:@legacy", task, "{}");
        assert_int_equal(bb_v1_request(&s.f.ctl, &luci_env, "t", "tok", &req), 0);
        assert_string_equal(json_string_value(json_object_get(req, "bucket")),
                            v1cases[i].want_bucket);
        json_t *params =
            J(json_string_value(json_object_get(req, "parameters_json")));
        bool has = json_object_get(json_object_get(params, "properties"),
                                   "$recipe_engine/scheduler") != NULL;
        assert_int_equal(has, v1cases[i].sched);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(req, "pubsub_callback"),
                                              "auth_token")),
            "tok");
        json_decref(params);
        json_decref(req);
        setup_release(&s);
    }
}

/* ---- JSON printing and base64 ---- */

static void test_json_go_style(void **state)
{
    static const struct {
        const char *in;
        enum bb_json_style style;
        const char *want;
    } cases[] = {
        {"{\"b\": \"<a&b>\", \"a\": [1, 2.5, true, null, {}], \"c\": []}", BB_JSON_GO_COMPACT,
         "{\"a\":[1,2.5,true,null,{}],\"b\":\"\\u003ca\\u0026b\\u003e\",\"c\":[]}"},
        {"{\"b\": 1, \"a\": {\"y\": \"\\n\\t\\u0001\", \"x\": []}}", BB_JSON_GO_INDENT,
         "{\n  \"a\": {\n    \"x\": [],\n    \"y\": \"\\n\\t\\u0001\"\n  },\n  \"b\": 1\n}"},
        {"{\"z\": 1, \"a\": {\"d\": 1, \"c\": [2]}}", BB_JSON_PROTO,
         "{\n  \"z\": 1,\n  \"a\": {\n    \"d\": 1,\n    \"c\": [\n      2\n    ]\n  }\n}"},
        /* A Struct: sorted, and nested 6 deeper (the seed's columns). */
        {"{\"properties\": {\"b\": {\"y\": 1, \"x\": [{\"k\": 2}]}, \"a\": \"s\"}}",
         BB_JSON_PROTO,
         "{\n  \"properties\": {\n      \"a\": \"s\",\n      \"b\": {\n            \"x\": [\n"
         "                  {\n                        \"k\": 2\n                      }\n"
         "                ],\n            \"y\": 1\n          }\n    }\n}"},
        {"[0.1, 1e21, 1e-7, 1234567.0, -3.0]", BB_JSON_GO_COMPACT,
         "[0.1,1e+21,1e-7,1234567,-3]"},
        {"\"\\u2028 x\"", BB_JSON_GO_COMPACT, "\"\\u2028 x\""},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *v = json_loads(cases[i].in, JSON_DECODE_ANY, NULL);
        struct buf b;
        assert_non_null(v);
        buf_init(&b, 4096);
        assert_int_equal(bb_json_write(v, cases[i].style, &b), 0);
        assert_string_equal(b.data, cases[i].want);
        buf_release(&b);
        json_decref(v);
    }
    /* Too deep: an error, not a crash. */
    json_t *deep = json_array(), *cur = deep;
    for (int i = 0; i < LIMIT_JSON_DEPTH + 5; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(bb_json_write(deep, BB_JSON_PROTO, &b), -E2BIG);
    assert_int_equal(b.len, 0);
    buf_release(&b);
    json_decref(deep);
}


/* ---- statuses ---- */

static void test_v2_status_mapping(void **state)
{
    static const struct {
        const char *build;
        const char *name;
        enum inv_status want;
        bool expected;
    } cases[] = {
        {"{\"status\": \"SCHEDULED\"}", "SCHEDULED", INV_RUNNING, true},
        {"{\"status\": \"STARTED\"}", "STARTED", INV_RUNNING, true},
        {"{\"status\": \"SUCCESS\"}", "SUCCESS", INV_SUCCEEDED, true},
        {"{\"status\": \"FAILURE\"}", "FAILURE", INV_FAILED, true},
        {"{\"status\": \"INFRA_FAILURE\"}", "INFRA_FAILURE", INV_FAILED, true},
        {"{\"status\": \"CANCELED\"}", "CANCELED", INV_ABORTED, true},
        {"{}", "STATUS_UNSPECIFIED", INV_FAILED, false},
        {"{\"status\": \"ENDED_MASK\"}", "ENDED_MASK", INV_FAILED, false},
        {"{\"status\": \"WEIRD\"}", "WEIRD", INV_FAILED, false},
        /* Enums by number (protojson input rules). */
        {"{\"status\": 1}", "SCHEDULED", INV_RUNNING, true},
        {"{\"status\": 2}", "STARTED", INV_RUNNING, true},
        {"{\"status\": 12}", "SUCCESS", INV_SUCCEEDED, true},
        {"{\"status\": 20}", "FAILURE", INV_FAILED, true},
        {"{\"status\": 36}", "INFRA_FAILURE", INV_FAILED, true},
        {"{\"status\": 68}", "CANCELED", INV_ABORTED, true},
        {"{\"status\": 99}", "99", INV_FAILED, false},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *b = J(cases[i].build);
        char tmp[32];
        enum inv_status st = INV_STARTING;
        const char *name = bb_v2_status_name(b, tmp, sizeof(tmp));
        assert_non_null(name);
        assert_string_equal(name, cases[i].name);
        assert_int_equal(bb_v2_map_status(name, INV_RUNNING, &st), cases[i].expected);
        assert_int_equal(st, cases[i].want);
        json_decref(b);
    }
    json_t *bad = J("{\"status\": {\"x\": 1}}");
    char tmp[32];
    assert_null(bb_v2_status_name(bad, tmp, sizeof(tmp)));
    json_decref(bad);
}

static void test_v1_status_mapping(void **state)
{
    static const struct {
        const char *status, *result;
        enum inv_status want;
    } cases[] = {
        {"SCHEDULED", "", INV_RUNNING},
        {"STARTED", "", INV_RUNNING},
        {"COMPLETED", "SUCCESS", INV_SUCCEEDED},
        {"COMPLETED", "FAILURE", INV_FAILED},
        /* v1 marks canceled builds FAILED (v2 says ABORTED). */
        {"COMPLETED", "CANCELED", INV_FAILED},
        {"COMPLETED", "", INV_FAILED},
        {"", "", INV_FAILED},
        {"BOGUS", "SUCCESS", INV_FAILED},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(bb_v1_map_status(cases[i].status, cases[i].result, INV_RUNNING),
                         cases[i].want);
}

/* ---- examine_notification (spec 4.1.4, wire-formats 2.12) ---- */

static json_t *push_message(const char *data_plain, const char *attrs)
{
    struct buf b;
    json_t *m = J(attrs ? attrs : "{}");
    buf_init(&b, 1 << 20);
    if (data_plain) {
        assert_int_equal(base64_encode_buf(BASE64_STD, data_plain, strlen(data_plain), &b), 0);
        json_object_set_new(m, "data", json_string(b.data));
    }
    json_object_set_new(m, "messageId", json_string("2070443601311540"));
    buf_release(&b);
    return m;
}

static void test_examine_notification(void **state)
{
    static const struct {
        int line;
        const char *data;  /* plain text, base64-encoded into "data" */
        const char *attrs; /* the rest of the message */
        const char *want;  /* NULL: -ENOENT */
    } cases[] = {
        /* v2: buildPubsub + userData (base64 of the token bytes). */
        {__LINE__,
         "{\n\t\"buildPubsub\": {\"build\": {\"id\": \"1\", \"status\": \"SUCCESS\"}},\n"
         "\t\"userData\": \"YXV0aF90b2tlbg==\"\n}",
         "{\"attributes\": {\"version\": \"v2\", \"is_completed\": \"true\"}}", "auth_token"},
        /* v1: the auth_token attribute wins over anything in data. */
        {__LINE__, "{\"build\": {}, \"user_data\": \"other\"}",
         "{\"attributes\": {\"build_id\": \"1\", \"auth_token\": \"v1-token\"}}", "v1-token"},
        {__LINE__, NULL, "{\"attributes\": {\"auth_token\": \"only-attr\"}}", "only-attr"},
        /* Legacy string field (crbug.com/1410912). */
        {__LINE__, "{\"build\": {}, \"hostname\": \"h\", \"user_data\": \"legacy\"}", NULL,
         "legacy"},
        /* An empty attribute falls back to data. */
        {__LINE__, "{\"userData\": \"dG9r\"}", "{\"attributes\": {\"auth_token\": \"\"}}",
         "tok"},
        /* Garbage. */
        {__LINE__, "not json", NULL, NULL},
        {__LINE__, "[1, 2]", NULL, NULL},
        {__LINE__, "{\"userData\": \"!!!\"}", NULL, NULL},
        {__LINE__, "{\"userData\": 5}", NULL, NULL},
        {__LINE__, "{\"userData\": \"\"}", NULL, NULL},
        {__LINE__, "{\"userData\": \"AA==\"}", NULL, NULL}, /* a NUL byte */
        {__LINE__, "{}", NULL, NULL},
        {__LINE__, "{\"user_data\": 7}", NULL, NULL},
        {__LINE__, NULL, NULL, NULL},
        {__LINE__, NULL, "{\"attributes\": {\"auth_token\": 5}}", NULL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char token[TASK_PUBSUB_TOKEN_MAX];
        print_message("line %d\n", cases[i].line);
        json_t *m = push_message(cases[i].data, cases[i].attrs);
        int r = bb_examine_notification(m, token, sizeof(token));
        if (cases[i].want) {
            assert_int_equal(r, 0);
            assert_string_equal(token, cases[i].want);
        } else {
            assert_int_equal(r, -ENOENT);
        }
        json_decref(m);
    }
    /* data that is not standard base64 (URL-safe alphabet) has no token. */
    json_t *m = J("{\"data\": \"eyJ1c2VyRGF0YSI6ICJkRzl_In0=\"}");
    char token[16];
    assert_int_equal(bb_examine_notification(m, token, sizeof(token)), -ENOENT);
    json_decref(m);
    /* A token that does not fit is no token. */
    m = J("{\"attributes\": {\"auth_token\": \"0123456789abcdefXYZ\"}}");
    assert_int_equal(bb_examine_notification(m, token, sizeof(token)), -ENOENT);
    json_decref(m);
    assert_int_equal(bb_examine_notification(NULL, token, sizeof(token)), -ENOENT);
}

/* ---- task data and the poll policy ---- */

static void test_task_data(void **state)
{
    static const char *const bad[] = {
        "{}", "[]", "{\"build_id\": \"\"}", "{\"build_id\": \"12x\"}", "{\"build_id\": \"-1\"}",
        "{\"build_id\": \"0\"}", "{\"build_id\": \"99999999999999999999\"}",
        "{\"build_id\": \"9223372036854775808\"}", "{\"build_id\": true}",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct bb_task_data d;
        json_t *td = J(bad[i]);
        assert_int_equal(bb_task_data_read(td, &d), -EINVAL);
        json_decref(td);
    }
    struct bb_task_data d;
    assert_int_equal(bb_task_data_read(NULL, &d), -EINVAL);
    /* LUCI's own task data still reads (an int64 as a string). */
    json_t *td = J("{\"build_id\": \"9025781602559305888\"}");
    assert_int_equal(bb_task_data_read(td, &d), 0);
    assert_string_equal(d.build_id, "9025781602559305888");
    assert_int_equal(d.pushes, 0);
    assert_false(d.push_ok);
    json_decref(td);
    d.pushes = 3;
    snprintf(d.last_status, sizeof(d.last_status), "STARTED");
    d.push_ok = true;
    assert_int_equal(bb_task_data_json(&d, &td), 0);
    assert_json_equal(td, "{\"build_id\": \"9025781602559305888\", \"pushes\": 3,"
                          " \"last_status\": \"STARTED\", \"push_ok\": true}");
    json_decref(td);
}

static void test_poll_policy(void **state)
{
    const int64_t S = 1000000000;
    const struct bb_poll luci = {60 * S, 600 * S, 0}, tock = {60 * S, 600 * S, 3600 * S};
    (void)state;

    /* LUCI's timer: 60 s + rand[0, 540 s), truncated to whole seconds. */
    assert_int_equal(bb_poll_delay(&luci, false, 0), 60 * S);
    assert_int_equal(bb_poll_delay(&luci, false, (uint64_t)(164 * S + S / 2)), 224 * S);
    assert_int_equal(bb_poll_delay(&luci, false, (uint64_t)(540 * S - 1)), 599 * S);
    assert_int_equal(bb_poll_delay(&luci, false, (uint64_t)(540 * S)), 60 * S);
    assert_int_equal(bb_poll_delay(&luci, true, 7), 60 * S + 0); /* long poll off */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t d = bb_poll_delay(&tock, false, x);
        assert_true(d >= 60 * S && d < 600 * S);
        assert_int_equal(d % S, 0);
    }
    /* Once a push has arrived: the long poll. */
    assert_int_equal(bb_poll_delay(&tock, true, x), 3600 * S);
    /* --buildbucket-poll 1s,3s; and max <= min means min. */
    const struct bb_poll fast = {S, 3 * S, 0}, flat = {S / 2, S / 2, 0};
    assert_int_equal(bb_poll_delay(&fast, false, (uint64_t)(S + S / 2)), 2 * S);
    assert_int_equal(bb_poll_delay(&flat, false, 12345), S / 2);

    /* The bookkeeping: pushes prove the path; an unannounced change breaks it. */
    struct bb_task_data d;
    memset(&d, 0, sizeof(d));
    bb_task_data_observe(&d, false, "SCHEDULED"); /* the launch */
    assert_false(d.push_ok);
    bb_task_data_observe(&d, true, "SCHEDULED");
    assert_true(d.push_ok);
    assert_int_equal(d.pushes, 1);
    bb_task_data_observe(&d, false, "SCHEDULED"); /* a timer, nothing new */
    assert_true(d.push_ok);
    bb_task_data_observe(&d, true, "STARTED");
    assert_true(d.push_ok);
    bb_task_data_observe(&d, false, "SUCCESS"); /* the timer saw what no push said */
    assert_false(d.push_ok);
    assert_string_equal(d.last_status, "SUCCESS");
    assert_int_equal(d.pushes, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_id),
        cmocka_unit_test(test_full_flow_request),
        cmocka_unit_test(test_tags_order),
        cmocka_unit_test(test_properties_overlay),
        cmocka_unit_test(test_scheduler_property_cap),
        cmocka_unit_test(test_public_trigger),
        cmocka_unit_test(test_chromium_exclusion),
        cmocka_unit_test(test_pop_commit),
        cmocka_unit_test(test_commit_any_host),
        cmocka_unit_test(test_triggered_flow),
        cmocka_unit_test(test_git_trigger_flow),
        cmocka_unit_test(test_commit_mismatch),
        cmocka_unit_test(test_seed_2025_request),
        cmocka_unit_test(test_seed_2021_request),
        cmocka_unit_test(test_json_go_style),
        cmocka_unit_test(test_v2_status_mapping),
        cmocka_unit_test(test_v1_status_mapping),
        cmocka_unit_test(test_examine_notification),
        cmocka_unit_test(test_task_data),
        cmocka_unit_test(test_poll_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
