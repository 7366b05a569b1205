/*
 * test-tasks-git.c - the git poller (tasks/git/gitpoll.h) against real git
 * repositories this test makes with the git command in a temporary
 * directory: a file:// remote, a local path and git http-backend behind
 * python3's CGI server on 127.0.0.1.  Expected values come from the
 * commits the test itself made (SHAs from git rev-parse, committer times
 * it set) and spec 4.2's rules.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/time.h"
#include "tasks/git/gitpoll.h"
#include "test-tasks-fakectl.h"

static struct {
    char dir[256];
    char url[512];
    struct task_manager *m;
    int64_t when; /* the next commit's time, seconds */
} F;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command in the test directory; the test fails if it does. */
static void sh(const char *fmt, ...)
{
    char cmd[8192], full[8800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", F.dir, cmd);
    if (system(full) != 0)
        fail_msg("command failed: %s", cmd);
}

/* The SHA of rev in the work tree. */
static const char *rev(const char *r)
{
    static char out[8][64];
    static int k;
    char cmd[512];
    char *o = out[k++ % 8];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "git -C %s/work rev-parse %s", F.dir, r);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(o, 64, p))
        o[0] = '\0';
    pclose(p);
    o[strcspn(o, "\n")] = '\0';
    assert_int_equal(strlen(o), 40);
    return o;
}

/* A commit touching path (NULL: an empty commit) at the next time; returns its SHA. */
static const char *commit(const char *path)
{
    F.when += 60;
    if (path)
        sh("cd work && mkdir -p \"$(dirname %s)\" && echo %lld >> %s && git add %s", path,
           (long long)F.when, path, path);
    sh("cd work && GIT_COMMITTER_DATE='%lld +0000' GIT_AUTHOR_DATE='%lld +0000' "
       "git commit -q --allow-empty -m c%lld",
       (long long)F.when, (long long)F.when, (long long)F.when);
    return rev("HEAD");
}

static void push(const char *refspec)
{
    sh("cd work && git push -q -f origin %s", refspec);
}

static int setup(void **state)
{
    struct gitpoll_options o = {0};
    char data[300];

    (void)state;
    snprintf(F.dir, sizeof(F.dir), "/tmp/tock-git-XXXXXX");
    assert_non_null(mkdtemp(F.dir));
    sh("git init -q --bare -b main remote.git && git init -q -b main work && "
       "cd work && git config user.name t && git config user.email t@example.com && "
       "git remote add origin ../remote.git");
    snprintf(F.url, sizeof(F.url), "file://%s/remote.git", F.dir);
    snprintf(data, sizeof(data), "%s/data", F.dir);
    o.data_dir = data;
    o.timeout_ns = 60 * NS_PER_SEC;
    assert_int_equal(gitpoll_manager_new(&o, &F.m), 0);
    F.when = 1700000000;
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    F.m = gitpoll_manager_free(F.m);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

struct run {
    struct fake_ctl f;
    json_t *task;
    int rc;
};

/* One poll of url with refs and path filters, job state *st taken and given back. */
static void poll_url(struct run *r, const char *url, const char *refs, const char *inc,
                     const char *exc, json_t **st)
{
    json_error_t je;
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"git\": {\"url\": \"%s\", \"refs\": %s, \"pathRegexps\": %s,"
             " \"pathRegexpsExclude\": %s}}",
             url, refs, inc ? inc : "[]", exc ? exc : "[]");
    r->task = json_loads(text, 0, &je);
    if (!r->task)
        fail_msg("bad task %s: %s", text, je.text);
    fake_ctl_init(&r->f, 42, r->task);
    r->f.ctl.job_state = *st;
    r->rc = F.m->launch(F.m, &r->f.ctl);
    if (r->rc < 0)
        fprintf(stderr, "poll: %d %s\n", r->rc, r->f.ctl.err);
    *st = r->f.ctl.job_state;
    r->f.ctl.job_state = NULL;
}

static void poll_(struct run *r, const char *refs, json_t **st)
{
    poll_url(r, F.url, refs, NULL, NULL, st);
}

static void run_release(struct run *r)
{
    fake_ctl_release(&r->f);
    json_decref(r->task);
    memset(r, 0, sizeof(*r));
}

static bool logged(const struct run *r, const char *needle)
{
    for (size_t i = 0; i < r->f.n_log; i++)
        if (strstr(r->f.log[i], needle))
            return true;
    return false;
}

static size_t n_triggers(const struct run *r)
{
    return json_array_size(r->f.triggers);
}

/* Trigger i is for sha on ref of url, made at the committer time when. */
static void assert_trigger(const struct run *r, size_t i, const char *url, const char *ref,
                           const char *sha, int64_t when)
{
    const json_t *t = json_array_get(r->f.triggers, i);
    char id[1024], tag[128], ord[24], created[TIME_RFC3339_MAX];

    assert_non_null(t);
    snprintf(id, sizeof(id), "%s/+/%s@%s", url, ref, sha);
    snprintf(tag, sizeof(tag), "buildset:commit/git/%s", sha);
    snprintf(ord, sizeof(ord), "%zu", i);
    assert_int_equal(time_format_rfc3339(when * NS_PER_SEC, created, sizeof(created)) < 0, 0);
    assert_string_equal(json_string_value(json_object_get(t, "id")), id);
    assert_string_equal(json_string_value(json_object_get(t, "title")), sha);
    assert_string_equal(json_string_value(json_object_get(t, "orderInBatch")), ord);
    assert_string_equal(json_string_value(json_object_get(t, "created")), created);
    const json_t *g = json_object_get(t, "gitiles");
    assert_string_equal(json_string_value(json_object_get(g, "repo")), url);
    assert_string_equal(json_string_value(json_object_get(g, "ref")), ref);
    assert_string_equal(json_string_value(json_object_get(g, "revision")), sha);
    assert_true(json_is_true(json_object_get(g, "git")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "tags"), 0)), tag);
}

/* The known tip of ref: a "<sha> <ref>\n" line of the state's "tips" (gitiles.h). */
static const char *known(const json_t *st, const char *ref)
{
    static char out[8][41];
    static int k;
    const char *l = json_string_value(json_object_get(st, "tips"));
    size_t n = strlen(ref);

    for (const char *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        if ((size_t)(nl - l) == 41 + n && l[40] == ' ' && memcmp(l + 41, ref, n) == 0) {
            char *o = out[k++ % 8];
            memcpy(o, l, 40);
            o[40] = '\0';
            return o;
        }
    }
    return NULL;
}

/* ---- cases ---- */

/* A new ref: one trigger for its tip; then several commits, oldest first; then nothing. */
static void test_new_then_updated(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *c1, *c[3];
    int64_t t0;

    (void)state;
    commit("a.txt");
    c1 = commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c1, F.when);
    assert_true(logged(&r, "Ref refs/heads/main is new"));
    assert_string_equal(known(st, "refs/heads/main"), c1);
    run_release(&r);

    t0 = F.when;
    for (int i = 0; i < 3; i++)
        c[i] = commit("b.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 3);
    for (int i = 0; i < 3; i++)
        assert_trigger(&r, (size_t)i, F.url, "refs/heads/main", c[i], t0 + 60 * (i + 1));
    assert_string_equal(known(st, "refs/heads/main"), c[2]);
    run_release(&r);

    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 0);
    assert_true(logged(&r, "No changes detected"));
    run_release(&r);
    json_decref(st);
}

/* More than 50 new commits on a ref: the newest 50, oldest first (local path remote). */
static void test_many_commits_local_path(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    char path[512];
    const char *tip;

    (void)state;
    snprintf(path, sizeof(path), "%s/remote.git", F.dir);
    commit("a.txt");
    push("main");
    poll_url(&r, path, "[\"refs/heads/main\"]", NULL, NULL, &st);
    assert_int_equal(n_triggers(&r), 1);
    run_release(&r);

    sh("cd work && for i in $(seq 1 60); do GIT_COMMITTER_DATE=\"$((%lld + i * 60)) +0000\" "
       "git commit -q --allow-empty -m m$i; done", (long long)F.when);
    push("main");
    tip = rev("HEAD");
    poll_url(&r, path, "[\"refs/heads/main\"]", NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 50);
    assert_trigger(&r, 0, path, "refs/heads/main", rev("HEAD~49"), F.when + 11 * 60);
    assert_trigger(&r, 49, path, "refs/heads/main", tip, F.when + 60 * 60);
    run_release(&r);
    json_decref(st);
}

/* A tag that existed emits nothing, a new tag does; a deleted branch leaves the state. */
static void test_tags_and_deleted(void **state)
{
    const char *refs = "[\"regexp:refs/heads/.*\", \"regexp:refs/tags/.*\"]";
    struct run r = {0};
    json_t *st = NULL;
    const char *c1, *c2;

    (void)state;
    c1 = commit("a.txt");
    sh("cd work && git tag -a v1 -m v1 && git branch feature");
    push("main");
    push("v1");
    push("feature");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "Tag refs/tags/v1 newly matched but already existed"));
    assert_int_equal(n_triggers(&r), 2); /* feature and main, both new */
    assert_trigger(&r, 0, F.url, "refs/heads/feature", c1, F.when);
    assert_trigger(&r, 1, F.url, "refs/heads/main", c1, F.when);
    run_release(&r);

    c2 = commit("a.txt");
    sh("cd work && git tag v2");
    push("v2");
    sh("cd work && git push -q origin :feature");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "Ref refs/heads/feature deleted"));
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/tags/v2", c2, F.when);
    assert_null(known(st, "refs/heads/feature"));
    run_release(&r);
    json_decref(st);
}

/* A force push: the commits of the new tip not reachable from the old one. */
static void test_force_push(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *c3;

    (void)state;
    commit("a.txt");
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    run_release(&r);
    sh("cd work && git reset -q --hard HEAD~1");
    c3 = commit("c.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c3, F.when);
    assert_string_equal(known(st, "refs/heads/main"), c3);
    run_release(&r);
    json_decref(st);
}

/* Path filters: a changed path that matches, excluded paths, a commit touching no files. */
static void test_path_filters(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *hit, *hit2;
    int64_t t_hit;

    (void)state;
    commit("a.txt");
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"src/.*\"]", "[\"src/gen/.*\"]", &st);
    run_release(&r);
    hit = commit("src/x.c");
    t_hit = F.when;
    commit("docs/y.md");
    commit("src/gen/z.c");
    commit(NULL);
    sh("cd work && git mv src/x.c docs/x.c");
    hit2 = commit(NULL); /* a rename out of src/: its old path matches */
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"src/.*\"]", "[\"src/gen/.*\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 2);
    assert_trigger(&r, 0, F.url, "refs/heads/main", hit, t_hit);
    assert_trigger(&r, 1, F.url, "refs/heads/main", hit2, F.when);
    assert_true(logged(&r, "because didn't match path filters"));
    run_release(&r);
    json_decref(st);
}

/* A damaged cache is made again; a remote that disappears fails the poll, losing nothing. */
static void test_damaged_cache_and_gone_remote(void **state)
{
    struct run r = {0};
    json_t *st = NULL, *before;
    const char *c2;
    char *text;

    (void)state;
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    run_release(&r);
    sh("for d in data/git/*.git; do rm -rf \"$d/objects\" && echo junk > \"$d/HEAD\"; done");
    c2 = commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "The git cache is damaged"));
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c2, F.when);
    run_release(&r);

    before = json_deep_copy(st);
    commit("a.txt");
    push("main");
    sh("mv remote.git remote.gone");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_int_equal(n_triggers(&r), 0);
    assert_true(json_equal(st, before));
    run_release(&r);
    sh("mv remote.gone remote.git");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", rev("HEAD"), F.when);
    text = json_dumps(st, JSON_SORT_KEYS);
    assert_non_null(strstr(text, rev("HEAD")));
    free(text);
    run_release(&r);
    json_decref(before);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_then_updated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_commits_local_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_force_push, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_cache_and_gone_remote, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
