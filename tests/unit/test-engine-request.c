/*
 * Unit tests for engine/request: invocation requests built from the newest
 * trigger of a batch (luci-scheduler-spec.md 3.10), gitiles repo URL
 * normalisation and tag checks.  Expected requests are written by hand
 * from the table in 3.10 and its worked example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine/request.h"

static json_t *load(int line, const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j) {
        print_error("line %d: bad JSON in test: %s\n", line, e.text);
        fail();
    }
    return j;
}

/*
 * Decodes a JSON trigger of the test tables into *ret; the engine always
 * writes "orderInBatch" (trigger.h), so the expected incomingTriggers get
 * "orderInBatch": "0" where the table leaves it out (with_order()).
 */
static void decode(int line, const json_t *o, struct trigger *ret)
{
    if (trigger_from_json(o, ret) < 0) {
        print_error("line %d: bad trigger in test\n", line);
        fail();
    }
}

static void with_order(json_t *req)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(req, "incomingTriggers"), i, t) {
        if (!json_object_get(t, "orderInBatch"))
            json_object_set_new(t, "orderInBatch", json_string("0"));
    }
}

#define CRON3                                                                                    \
    "{\"id\": \"cron:v1:3\", \"created\": \"2015-09-14T22:42:00Z\","                            \
    " \"cron\": {\"generation\": \"3\"}}"
#define NOOP_A "{\"id\": \"noop:1:0\", \"noop\": {\"data\": \"a\"}}"
#define NOOP_B "{\"id\": \"noop:1:1\", \"noop\": {\"data\": \"b\"}}"
#define GITILES(repo)                                                                            \
    "{\"id\": \"g\", \"gitiles\": {\"repo\": \"" repo "\", \"ref\": \"refs/heads/master\","       \
    " \"revision\": \"aaaaaaaa\", \"properties\": {\"revision\": \"zzz\", \"extra\": 1},"         \
    " \"tags\": [\"gitiles_ref:not-overridden\","                                                 \
    " \"buildset:commit/gitiles/example.googlesource.com/repo/+/aaaaaaaa\", \"a:b\", \"a:b\"]}}"

static void test_build(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *batch; /* a JSON array, oldest first */
        const char *triggered_by;
        const char *want;
        const char *log;
    } rows[] = {
        /* cron and webui: nothing but the triggers. */
        {__LINE__, "[" CRON3 "]", NULL, "{\"incomingTriggers\": [" CRON3 "]}", ""},
        {__LINE__, "[{\"id\": \"w\", \"webui\": {}}]", "user:a@example.com",
         "{\"triggeredBy\": \"user:a@example.com\", \"incomingTriggers\": [{\"id\": \"w\","
         " \"webui\": {}}]}",
         ""},
        {__LINE__, "[" CRON3 "]", "", "{\"incomingTriggers\": [" CRON3 "]}", ""},
        /* noop: the newest trigger's data. */
        {__LINE__, "[" NOOP_A ", " NOOP_B "]", NULL,
         "{\"incomingTriggers\": [" NOOP_A ", " NOOP_B "],"
         " \"properties\": {\"noop_trigger_data\": \"b\"}}",
         ""},
        {__LINE__, "[{\"id\": \"n\", \"noop\": {}}]", NULL,
         "{\"incomingTriggers\": [{\"id\": \"n\", \"noop\": {}}],"
         " \"properties\": {\"noop_trigger_data\": \"\"}}",
         ""},
        /* buildbucket: verbatim, duplicate tags included. */
        {__LINE__,
         "[{\"id\": \"b\", \"buildbucket\": {\"properties\": {\"a\": 1, \"b\": {\"c\": \"d\"}},"
         " \"tags\": [\"x:y\", \"x:y\"]}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"b\", \"buildbucket\": {\"properties\": {\"a\": 1,"
         " \"b\": {\"c\": \"d\"}}, \"tags\": [\"x:y\", \"x:y\"]}}],"
         " \"properties\": {\"a\": 1, \"b\": {\"c\": \"d\"}}, \"tags\": [\"x:y\", \"x:y\"]}",
         ""},
        {__LINE__, "[{\"id\": \"b\", \"buildbucket\": {}}]", NULL,
         "{\"incomingTriggers\": [{\"id\": \"b\", \"buildbucket\": {}}]}", ""},
        /*
         * gitiles, the spec's example: the three keys win over the trigger's
         * properties; buildset and gitiles_ref first, then the trigger's
         * tags; exact duplicates dropped (the second gitiles_ref stays).
         */
        {__LINE__, "[" GITILES("https://example.googlesource.com/repo.git") "]", NULL,
         "{\"incomingTriggers\": [" GITILES("https://example.googlesource.com/repo.git") "],"
         " \"properties\": {\"extra\": 1, \"revision\": \"aaaaaaaa\","
         " \"branch\": \"refs/heads/master\","
         " \"repository\": \"https://example.googlesource.com/repo.git\"},"
         " \"tags\": [\"buildset:commit/gitiles/example.googlesource.com/repo/+/aaaaaaaa\","
         " \"gitiles_ref:refs/heads/master\", \"gitiles_ref:not-overridden\", \"a:b\"]}",
         ""},
        /* An authenticated URL: /a/ dropped from the buildset. */
        {__LINE__,
         "[{\"id\": \"g\", \"gitiles\": {"
         "\"repo\": \"https://chromium.googlesource.com/a/chromium/src\","
         " \"ref\": \"refs/heads/main\", \"revision\": \"1111\"}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\":"
         " \"https://chromium.googlesource.com/a/chromium/src\", \"ref\": \"refs/heads/main\","
         " \"revision\": \"1111\"}}],"
         " \"properties\": {\"revision\": \"1111\", \"branch\": \"refs/heads/main\","
         " \"repository\": \"https://chromium.googlesource.com/a/chromium/src\"},"
         " \"tags\": [\"buildset:commit/gitiles/chromium.googlesource.com/chromium/src/+/1111\","
         " \"gitiles_ref:refs/heads/main\"]}",
         ""},
        /* A bad repo: no properties, no tags, one debug line. */
        {__LINE__,
         "[{\"id\": \"g\", \"gitiles\": {\"repo\": \"http://x.googlesource.com/y\","
         " \"ref\": \"r\", \"revision\": \"1\"}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\":"
         " \"http://x.googlesource.com/y\", \"ref\": \"r\", \"revision\": \"1\"}}]}",
         "Bad repo URL \"http://x.googlesource.com/y\" in the trigger - only https scheme is"
         " supported\n"},
        {__LINE__,
         "[{\"id\": \"g\", \"gitiles\": {\"repo\": \"https://git.example.com/y?x=1\","
         " \"ref\": \"r\", \"revision\": \"1\"}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\":"
         " \"https://git.example.com/y?x=1\", \"ref\": \"r\", \"revision\": \"1\"}}]}",
         "Bad repo URL \"https://git.example.com/y?x=1\" in the trigger - repo URL must not have"
         " query\n"},
        /*
         * tock's leniency: a host other than *.googlesource.com (a private
         * Gitiles reached through --host-map) gives the same properties and
         * tags, the buildset naming that host (LUCI logs "Bad repo URL").
         */
        {__LINE__,
         "[{\"id\": \"g\", \"gitiles\": {\"repo\": \"https://git.example.com/a/team/app.git\","
         " \"ref\": \"refs/heads/main\", \"revision\": \"2222\"}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\":"
         " \"https://git.example.com/a/team/app.git\", \"ref\": \"refs/heads/main\","
         " \"revision\": \"2222\"}}],"
         " \"properties\": {\"revision\": \"2222\", \"branch\": \"refs/heads/main\","
         " \"repository\": \"https://git.example.com/a/team/app.git\"},"
         " \"tags\": [\"buildset:commit/gitiles/git.example.com/team/app/+/2222\","
         " \"gitiles_ref:refs/heads/main\"]}",
         ""},
        {__LINE__,
         "[{\"id\": \"g\", \"gitiles\": {\"repo\": \"https://127.0.0.1:8443/p\","
         " \"ref\": \"refs/heads/main\", \"revision\": \"33\"}}]",
         NULL,
         "{\"incomingTriggers\": [{\"id\": \"g\", \"gitiles\": {\"repo\":"
         " \"https://127.0.0.1:8443/p\", \"ref\": \"refs/heads/main\","
         " \"revision\": \"33\"}}],"
         " \"properties\": {\"revision\": \"33\", \"branch\": \"refs/heads/main\","
         " \"repository\": \"https://127.0.0.1:8443/p\"},"
         " \"tags\": [\"buildset:commit/gitiles/127.0.0.1:8443/p/+/33\","
         " \"gitiles_ref:refs/heads/main\"]}",
         ""},
        /* No payload. */
        {__LINE__, "[{\"id\": \"p\"}]", NULL, "{\"incomingTriggers\": [{\"id\": \"p\"}]}",
         "Unrecognized trigger payload of type <nil>, ignoring\n"},
        /* Only the newest trigger counts. */
        {__LINE__, "[" GITILES("https://example.googlesource.com/repo") ", " NOOP_A "]", NULL,
         "{\"incomingTriggers\": [" GITILES("https://example.googlesource.com/repo") ", " NOOP_A
         "], \"properties\": {\"noop_trigger_data\": \"a\"}}",
         ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *batch = load(rows[i].line, rows[i].batch);
        size_t n = json_array_size(batch);
        struct trigger tv[8];
        const struct trigger *v[8];
        assert_true(n <= ARRAY_SIZE(v));
        for (size_t k = 0; k < n; k++) {
            decode(rows[i].line, json_array_get(batch, k), &tv[k]);
            v[k] = &tv[k];
        }
        struct buf log;
        buf_init(&log, 1 << 16);
        json_t *got = NULL;
        int rc = request_build(v, n, rows[i].triggered_by, REQUEST_CURRENT, &got, &log);
        json_t *want = load(rows[i].line, rows[i].want);
        with_order(want);
        if (rc != 0 || !json_equal(got, want) || strcmp(log.data, rows[i].log) != 0) {
            char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
            print_error("line %d: rc %d got %s log '%s'\n", rows[i].line, rc, g ? g : "-",
                        log.data);
            free(g);
            fail();
        }
        for (size_t k = 0; k < n; k++)
            trigger_release(&tv[k]);
        json_decref(want);
        json_decref(got);
        json_decref(batch);
        buf_release(&log);
    }

    /* Tag order matters: check the gitiles example element by element too. */
    json_t *o = load(__LINE__, GITILES("https://example.googlesource.com/repo.git"));
    struct trigger t;
    decode(__LINE__, o, &t);
    const struct trigger *one[] = {&t};
    json_t *req = NULL;
    assert_int_equal(request_build(one, 1, NULL, REQUEST_CURRENT, &req, NULL), 0);
    json_t *tags = json_object_get(req, "tags");
    assert_int_equal(json_array_size(tags), 4);
    assert_string_equal(json_string_value(json_array_get(tags, 1)),
                        "gitiles_ref:refs/heads/master");
    json_decref(req);

    /* Bad input. */
    req = NULL;
    assert_int_equal(request_build(one, 0, NULL, REQUEST_CURRENT, &req, NULL), -EINVAL);
    const struct trigger *bad[] = {&t, NULL};
    assert_int_equal(request_build(bad, 2, NULL, REQUEST_CURRENT, &req, NULL), -EINVAL);
    assert_null(req);
    trigger_release(&t);
    json_decref(o);
}

/* The 2021 seed page: a v1-era job's incoming properties and tags. */
/*
 * git triggers (tock's git poller, "git": true; docs/tasks.md "git"): a
 * remote with a host is named as a Gitiles commit (host without user, and
 * for ssh/git without port; the path without '/' ends and ".git"), so
 * a buildbucket job gets a gitilesCommit; file:// and local paths have no
 * host and give the properties and the git buildset only.
 */
static void test_git_triggers(void **state)
{
#define SHA "0123456789abcdef0123456789abcdef01234567"
    static const struct {
        int line;
        const char *url;
        const char *host_project; /* "<host>/<project>", NULL: no gitiles tags */
    } rows[] = {
        {__LINE__, "https://github.com/team/app.git", "github.com/team/app"},
        {__LINE__, "https://git.example.com:8443/team/app", "git.example.com:8443/team/app"},
        {__LINE__, "http://git.example.com/team/app.git/", "git.example.com/team/app"},
        {__LINE__, "ssh://git@git.example.com:2222/team/app.git", "git.example.com/team/app"},
        {__LINE__, "ssh://git.example.com/srv/git/app", "git.example.com/srv/git/app"},
        {__LINE__, "git://git.example.com/app.git", "git.example.com/app"},
        {__LINE__, "git+ssh://me@git.example.com/x/y.git", "git.example.com/x/y"},
        {__LINE__, "git@github.com:team/app.git", "github.com/team/app"},
        {__LINE__, "git.example.com:app", "git.example.com/app"},
        {__LINE__, "ssh://[::1]:22/app.git", "[::1]/app"},
        {__LINE__, "file:///srv/git/app.git", NULL},
        {__LINE__, "/srv/git/app.git", NULL},
        {__LINE__, "./app.git", NULL},
        {__LINE__, "repos/app:x", NULL}, /* a '/' before the ':' is a local path (git's rule) */
        {__LINE__, "ssh://git.example.com", NULL},      /* no path */
        {__LINE__, "ssh://git.example.com/a+b", NULL},  /* '+' would break the buildset */
        {__LINE__, "rsync://host/app", NULL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char text[1024], bs[512], want_tags[1024];
        snprintf(text, sizeof(text),
                 "{\"id\": \"g\", \"gitiles\": {\"repo\": \"%s\", \"ref\": \"refs/heads/main\","
                 " \"revision\": \"" SHA "\", \"git\": true,"
                 " \"tags\": [\"buildset:commit/git/" SHA "\"]}}",
                 rows[i].url);
        json_t *o = load(rows[i].line, text);
        struct trigger tv;
        const struct trigger *v[1] = {&tv};
        decode(rows[i].line, o, &tv);
        struct buf log;
        buf_init(&log, 1 << 16);
        json_t *got = NULL;
        int rc = request_build(v, 1, NULL, REQUEST_CURRENT, &got, &log);
        if (rows[i].host_project) {
            snprintf(bs, sizeof(bs), "buildset:commit/gitiles/%s/+/" SHA, rows[i].host_project);
            snprintf(want_tags, sizeof(want_tags),
                     "[\"%s\", \"gitiles_ref:refs/heads/main\", \"buildset:commit/git/" SHA
                     "\"]", bs);
        } else {
            snprintf(want_tags, sizeof(want_tags), "[\"buildset:commit/git/" SHA "\"]");
        }
        json_t *wt = load(rows[i].line, want_tags);
        json_t *wp = json_pack("{s:s, s:s, s:s}", "revision", SHA, "branch", "refs/heads/main",
                               "repository", rows[i].url);
        if (rc != 0 || !json_equal(json_object_get(got, "tags"), wt) ||
            !json_equal(json_object_get(got, "properties"), wp) || log.len != 0) {
            char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
            print_error("line %d: rc %d got %s log '%s'\n", rows[i].line, rc, g ? g : "-",
                        log.data);
            free(g);
            fail();
        }
        json_decref(wt);
        json_decref(wp);
        json_decref(got);
        json_decref(o);
        buf_release(&log);
        trigger_release(&tv);
    }
#undef SHA
}

static void test_v1_era(void **state)
{
    (void)state;
    json_t *o = load(__LINE__, "{\"id\": \"t\", \"gitiles\": {"
                               "\"repo\": \"https://dawn.googlesource.com/tint.git\","
                               " \"ref\": \"refs/heads/main\","
                               " \"revision\": \"1d982367704d1ab504aedae06e02d5edb40c83aa\"}}");
    json_t *legacy = load(__LINE__, "{\"buildbucket\": {\"bucket\": \"luci.tint.ci\"}}");
    json_t *modern = load(__LINE__, "{\"buildbucket\": {\"bucket\": \"ci\"}}");
    json_t *noop = load(__LINE__, "{\"noop\": {}}");
    struct trigger t;
    json_t *req = NULL;
    static const char *const want[] = {
        "buildset:commit/git/1d982367704d1ab504aedae06e02d5edb40c83aa",
        "buildset:commit/gitiles/dawn.googlesource.com/tint/+/"
        "1d982367704d1ab504aedae06e02d5edb40c83aa",
        "gitiles_ref:refs/heads/main",
    };

    assert_int_equal(request_era_of_task(legacy), REQUEST_V1_ERA);
    assert_int_equal(request_era_of_task(modern), REQUEST_CURRENT);
    assert_int_equal(request_era_of_task(noop), REQUEST_CURRENT);
    assert_int_equal(request_era_of_task(NULL), REQUEST_CURRENT);
    decode(__LINE__, o, &t);
    const struct trigger *one[] = {&t};
    assert_int_equal(request_build(one, 1, NULL, REQUEST_V1_ERA, &req, NULL), 0);
    json_t *tags = json_object_get(req, "tags");
    assert_int_equal(json_array_size(tags), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_array_get(tags, i)), want[i]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(req, "properties"),
                                                          "repository")),
                        "https://dawn.googlesource.com/tint.git");
    json_decref(req);
    /* Today's builder leaves the commit/git tag out. */
    assert_int_equal(request_build(one, 1, NULL, REQUEST_CURRENT, &req, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(req, "tags")), 2);
    json_decref(req);
    trigger_release(&t);
    json_decref(o);
    json_decref(legacy);
    json_decref(modern);
    json_decref(noop);
}

static void test_gitiles_repo(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *url;
        const char *host; /* NULL: error */
        const char *project_or_err;
    } rows[] = {
        {__LINE__, "https://example.googlesource.com/repo.git", "example.googlesource.com",
         "repo"},
        {__LINE__, "https://example.googlesource.com/repo", "example.googlesource.com", "repo"},
        {__LINE__, "https://chromium.googlesource.com/a/chromium/src", "chromium.googlesource.com",
         "chromium/src"},
        {__LINE__, "https://x.googlesource.com/r/", "x.googlesource.com", "r"},
        {__LINE__, "https://x.googlesource.com/r.git/", "x.googlesource.com", "r"},
        {__LINE__, "HTTPS://x.googlesource.com/r", "x.googlesource.com", "r"},
        {__LINE__, "https://me@x.googlesource.com/r", "x.googlesource.com", "r"},
        {__LINE__, "https://x.googlesource.com/r?", "x.googlesource.com", "r"},
        {__LINE__, "https://x.googlesource.com/b%2Fc", "x.googlesource.com", "b/c"},
        /* The path is unescaped first, as Go's u.Path: "/a%2Fb" is "/a/b". */
        {__LINE__, "https://x.googlesource.com/a%2Fb", "x.googlesource.com", "b"},
        {__LINE__, "http://x.googlesource.com/r", NULL, "only https scheme is supported"},
        {__LINE__, "x.googlesource.com/r", NULL, "only https scheme is supported"},
        /* tock's leniency: any host (LUCI: "only .googlesource.com repos are supported"). */
        {__LINE__, "https://github.com/x/y", "github.com", "x/y"},
        {__LINE__, "https://x.googlesource.com:443/r", "x.googlesource.com:443", "r"},
        {__LINE__, "https://googlesource.com/r", "googlesource.com", "r"},
        {__LINE__, "https://me@git.example.com/a/team/app.git/", "git.example.com", "team/app"},
        {__LINE__, "http://git.example.com/r", NULL, "only https scheme is supported"},
        {__LINE__, "https:///r", NULL, "repo URL has no host"},
        {__LINE__, "https://git.example.com/r/+/main", NULL, "repo URL path must not contain '+'"},
        {__LINE__, "https://git.example.com/r#f", NULL, "repo URL must not have fragment"},
        {__LINE__, "https://git.example.com", NULL, "repo URL path must not be empty"},
        {__LINE__, "https://x.googlesource.com/r/+/main", NULL,
         "repo URL path must not contain '+'"},
        {__LINE__, "https://x.googlesource.com/r?a=b", NULL, "repo URL must not have query"},
        {__LINE__, "https://x.googlesource.com/r#frag", NULL, "repo URL must not have fragment"},
        {__LINE__, "https://x.googlesource.com/", NULL, "repo URL path must not be empty"},
        {__LINE__, "https://x.googlesource.com", NULL, "repo URL path must not be empty"},
        {__LINE__, "https://x.googlesource.com/.git", NULL, "repo URL path must not be empty"},
        {__LINE__, "https://x.googlesource.com/%zz", NULL,
         "parse \"https://x.googlesource.com/%zz\": invalid URL escape \"%zz\""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        char host[REQUEST_GITILES_HOST_MAX] = "-", project[REQUEST_GITILES_PROJECT_MAX] = "-";
        char err[256] = "";
        int rc = request_gitiles_repo(rows[i].url, host, sizeof(host), project, sizeof(project),
                                      err, sizeof(err));
        bool ok;
        if (rows[i].host)
            ok = rc == 0 && strcmp(host, rows[i].host) == 0 &&
                 strcmp(project, rows[i].project_or_err) == 0;
        else
            ok = rc == -EINVAL && strcmp(err, rows[i].project_or_err) == 0 &&
                 strcmp(host, "-") == 0 && strcmp(project, "-") == 0;
        if (!ok) {
            print_error("line %d: rc %d host '%s' project '%s' err '%s'\n", rows[i].line, rc,
                        host, project, err);
            fail();
        }
    }
}

static void test_tags(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *tags;
        const char *want; /* NULL: error */
        const char *err;
    } rows[] = {
        {__LINE__, "[\"b:1\", \"a:2\", \"a:1\", \"a:1\"]", "[\"a:1\", \"a:1\", \"a:2\", \"b:1\"]",
         NULL},
        {__LINE__, "[]", "[]", NULL},
        {__LINE__, "[\":\", \"k:\", \":v\"]", "[\":\", \":v\", \"k:\"]", NULL},
        {__LINE__, "[\"a:1\", \"bad\"]", NULL,
         "rejecting bad tags: bad tag, not a 'key:value' pair: \"bad\""},
        {__LINE__, "[\"a:1\", 5]", NULL,
         "rejecting bad tags: bad tag, not a 'key:value' pair: \"\""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *tags = load(rows[i].line, rows[i].tags);
        json_t *got = NULL;
        char err[256] = "";
        int rc = request_tags_sorted(tags, &got, err, sizeof(err));
        bool ok;
        if (rows[i].want) {
            json_t *want = load(rows[i].line, rows[i].want);
            ok = rc == 0 && json_equal(got, want);
            json_decref(want);
        } else {
            ok = rc == -EINVAL && !got && strcmp(err, rows[i].err) == 0;
        }
        if (!ok) {
            print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
            fail();
        }
        json_decref(got);
        json_decref(tags);
    }
    json_t *got = NULL;
    assert_int_equal(request_tags_sorted(NULL, &got, NULL, 0), 0);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_gitiles_repo),
        cmocka_unit_test(test_v1_era),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_git_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
