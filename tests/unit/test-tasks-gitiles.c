/*
 * test-tasks-gitiles.c - the gitiles poller (spec 4.2) against the fake
 * Gitiles of tests/fakes/fake-gitiles.h (wire-formats.md 3), and its pure
 * parts.  Expected values come from the spec's test facts and the wire
 * document's examples.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../fakes/fake-gitiles.h"
#include "base/time.h"
#include "tasks/gitiles/gitiles.h"
#include "tasks/gitiles/gt-internal.h"
#include "test-tasks-fakectl.h"

#define REPO "https://a.googlesource.com/b.git"

static struct {
    struct fake_gitiles g;
    struct client *client;
    struct task_manager *m;
} F;

static int setup(void **state)
{
    char map[128];
    const char *maps[] = {map};
    struct client_options o = {.host_map = maps, .n_host_map = 1};
    struct client_error err;
    struct gitiles_options go = {0};

    (void)state;
    assert_int_equal(fg_start(&F.g, "b"), 0);
    snprintf(map, sizeof(map), "a.googlesource.com=%s", F.g.base);
    if (client_new(&o, &F.client, &err) < 0)
        fail_msg("client_new: %s", err.message);
    go.client = F.client;
    go.anonymous = true;
    go.timeout_ns = 10 * NS_PER_SEC;
    assert_int_equal(gitiles_manager_new(&go, &F.m), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    F.m = gitiles_manager_free(F.m);
    fg_stop(&F.g);
    F.client = client_free(F.client);
    return 0;
}

/* ---- helpers ---- */

struct run {
    struct fake_ctl f;
    json_t *task;
    int rc;
};

/* One poll of refs (and path filters) with job state *st (taken and given back). */
static void poll_with(struct run *r, const char *repo, const char *refs_json, const char *inc,
                      const char *exc, json_t **st)
{
    json_error_t je;
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"gitiles\": {\"repo\": \"%s\", \"refs\": %s, \"pathRegexps\": %s,"
             " \"pathRegexpsExclude\": %s}}",
             repo, refs_json, inc ? inc : "[]", exc ? exc : "[]");
    r->task = json_loads(text, 0, &je);
    if (!r->task)
        fail_msg("bad task %s: %s", text, je.text);
    fake_ctl_init(&r->f, 42, r->task);
    r->f.ctl.job_state = *st;
    fg_clear_requests(&F.g);
    r->rc = F.m->launch(F.m, &r->f.ctl);
    if (r->rc < 0)
        fprintf(stderr, "poll: %d %s\n", r->rc, r->f.ctl.err);
    *st = r->f.ctl.job_state;
    r->f.ctl.job_state = NULL;
}

static void run_release(struct run *r)
{
    fake_ctl_release(&r->f);
    json_decref(r->task);
}

static bool logged(const struct run *r, const char *needle)
{
    for (size_t i = 0; i < r->f.n_log; i++)
        if (strstr(r->f.log[i], needle))
            return true;
    return false;
}

static bool requested(const char *req)
{
    for (size_t i = 0; i < F.g.n_requests; i++)
        if (strcmp(F.g.requests[i], req) == 0)
            return true;
    return false;
}

static const char *sha(const char *tag)
{
    static char buf[8][41];
    static int k;
    char *out = buf[k++ % 8];
    fg_sha(tag, out);
    return out;
}

static const json_t *trig(const struct run *r, size_t i)
{
    return json_array_get(r->f.triggers, i);
}

static void assert_trigger(const struct run *r, size_t i, const char *ref, const char *tag,
                           const char *created, size_t order)
{
    const json_t *t = trig(r, i);
    char id[512], url[512], ord[24];
    int64_t want, got;

    assert_non_null(t);
    snprintf(id, sizeof(id), "%s/+/%s@%s", REPO, ref, sha(tag));
    snprintf(url, sizeof(url), "%s/+/%s", REPO, sha(tag));
    snprintf(ord, sizeof(ord), "%zu", order);
    assert_string_equal(json_string_value(json_object_get(t, "id")), id);
    assert_string_equal(json_string_value(json_object_get(t, "title")), sha(tag));
    assert_string_equal(json_string_value(json_object_get(t, "url")), url);
    assert_string_equal(json_string_value(json_object_get(t, "orderInBatch")), ord);
    assert_int_equal(time_parse_rfc3339(created, &want), 0);
    assert_int_equal(time_parse_rfc3339(json_string_value(json_object_get(t, "created")), &got),
                     0);
    assert_true(want == got);
    const json_t *g = json_object_get(t, "gitiles");
    assert_string_equal(json_string_value(json_object_get(g, "repo")), REPO);
    assert_string_equal(json_string_value(json_object_get(g, "ref")), ref);
    assert_string_equal(json_string_value(json_object_get(g, "revision")), sha(tag));
}

/*
 * The known tip of ref in a saved state, read as gitiles.h documents the
 * compact form: "tips", one "<sha> <ref>\n" line per ref.  NULL if absent.
 */
static const char *known(const json_t *st, const char *ref)
{
    static char out[8][41];
    static int k;
    const char *l = json_string_value(json_object_get(st, "tips"));
    size_t n = strlen(ref);

    while (l && *l) {
        const char *nl = strchr(l, '\n');
        if (!nl)
            fail_msg("a tips line without its newline: %s", l);
        if ((size_t)(nl - l) == 41 + n && l[40] == ' ' && memcmp(l + 41, ref, n) == 0) {
            char *o = out[k++ % 8];
            memcpy(o, l, 40);
            o[40] = '\0';
            return o;
        }
        l = nl + 1;
    }
    return NULL;
}

/* How many lines the compact "tips" holds. */
static size_t n_known(const json_t *st)
{
    const char *l = json_string_value(json_object_get(st, "tips"));
    size_t n = 0;

    for (; l && *l; l++)
        n += *l == '\n';
    return n;
}

static json_t *state_of(const char *const *kv, size_t n, const char *refs_json)
{
    json_t *st = json_pack("{s:s, s:s, s:{}}", "host", "a.googlesource.com", "project", "b",
                           "known");
    for (size_t i = 0; i < n; i += 2)
        json_object_set_new(json_object_get(st, "known"), kv[i], json_string(sha(kv[i + 1])));
    if (refs_json)
        json_object_set_new(st, "refs", json_loads(refs_json, 0, NULL));
    return st;
}

/* ---- pure parts ---- */

static void test_paths(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    /* wire-formats.md 3.1: "/a/chromium%2Fsrc/+log/<old>..<new>", "+refs%2Fheads". */
    assert_int_equal(gt_path_refs("chromium/src", "refs/heads", &b), 0);
    assert_string_equal(b.data, "/a/chromium%2Fsrc/+refs%2Fheads?format=JSON");
    buf_reset(&b);
    assert_int_equal(gt_path_log("chromium/src", "aaa..bbb", 50, true, NULL, &b), 0);
    assert_string_equal(b.data, "/a/chromium%2Fsrc/+log/aaa..bbb?format=JSON&n=50&name-status=1");
    buf_reset(&b);
    assert_int_equal(gt_path_log("p", "abc", 1, false, "def", &b), 0);
    assert_string_equal(b.data, "/a/p/+log/abc?format=JSON&n=1&s=def");
    buf_reset(&b);
    /* Go's PathEscape keeps + : @ = & $ and escapes space, ? ; , and '/'. */
    assert_int_equal(gt_path_escape(&b, "a+b:c@d=e&f$g h?i;j,k/l"), 0);
    assert_string_equal(b.data, "a+b:c@d=e&f$g%20h%3Fi%3Bj%2Ck%2Fl");
    buf_release(&b);
}

static void test_times(void **state)
{
    int64_t t, want;

    (void)state;
    /* wire-formats.md 3.3: no suffix is UTC; " +0200" is the person's zone. */
    assert_int_equal(gt_parse_time("Wed Sep 20 23:10:41 2017", &t), 0);
    assert_int_equal(time_parse_rfc3339("2017-09-20T23:10:41Z", &want), 0);
    assert_true(t == want);
    assert_int_equal(gt_parse_time("Wed Sep 20 23:10:41 2017 +0200", &t), 0);
    assert_int_equal(time_parse_rfc3339("2017-09-20T21:10:41Z", &want), 0);
    assert_true(t == want);
    assert_int_equal(gt_parse_time("Mon Jan 02 15:04:05 2006 -0700", &t), 0);
    assert_int_equal(time_parse_rfc3339("2006-01-02T22:04:05Z", &want), 0);
    assert_true(t == want);
    assert_int_equal(gt_parse_time("Wed Sep 20 23:10:41", &t), -EINVAL);
    assert_int_equal(gt_parse_time("Wed Sep 2 23:10:41 2017", &t), -EINVAL);
    assert_int_equal(gt_parse_time("Wed Foo 20 23:10:41 2017", &t), -EINVAL);
    assert_int_equal(gt_parse_time("Wed Feb 30 23:10:41 2017", &t), -EINVAL);
    assert_int_equal(gt_parse_time("2017-09-20T23:10:41Z", &t), -EINVAL);
}

static void test_refsets(void **state)
{
    const char *refs[] = {"refs/heads/main", "regexp:refs/heads/release-.*",
                          "regexp:refs/branch-heads/\\d+\\.\\d+", "regexp:refs/tags/v1"};
    const char *two[] = {"regexp:refs/x/a\\d", "regexp:refs/x/b.", "regexp:refs/x/c+"};
    struct gt_refset rs;
    struct gt_refs cur = {0};
    struct buf b;
    size_t n = 0;

    (void)state;
    assert_int_equal(gt_refset_new(refs, 4, &rs, NULL, 0), 0);
    /* Spec 4.2.2: refs/heads (main + release-.*) share one request. */
    assert_int_equal(rs.n_ns, 3);
    assert_string_equal(rs.ns[0].prefix, "refs/branch-heads");
    assert_string_equal(rs.ns[1].prefix, "refs/heads");
    assert_string_equal(rs.ns[2].prefix, "refs/tags");
    assert_int_equal(rs.ns[2].n_plain, 1); /* a regexp without metacharacters is a plain ref */
    assert_true(gt_refset_watches(&rs, "refs/heads/main"));
    assert_true(gt_refset_watches(&rs, "refs/heads/release-1"));
    assert_false(gt_refset_watches(&rs, "refs/heads/mainx"));
    assert_true(gt_refset_watches(&rs, "refs/branch-heads/1.2"));
    assert_false(gt_refset_watches(&rs, "refs/branch-heads/1.2.3"));
    assert_true(gt_refset_watches(&rs, "refs/tags/v1"));
    assert_false(gt_refset_watches(&rs, "refs/tags/v10"));

    buf_init(&b, 4096);
    assert_int_equal(gt_refs_add(&cur, "refs/heads/main", sha("1")), 0);
    assert_int_equal(gt_refs_add(&cur, "refs/branch-heads/1.2", sha("2")), 0);
    gt_refs_sort(&cur);
    assert_int_equal(gt_refset_missing(&rs, &cur, &b, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(b.data, "[regexp:refs/heads/release-.* refs/tags/v1]");
    buf_release(&b);
    gt_refs_release(&cur);
    gt_refset_release(&rs);

    /* The quirk: ^(a\d)|(b.)|(c+)$ - the first a prefix, the middle anywhere, the last a suffix. */
    assert_int_equal(gt_refset_new(two, 3, &rs, NULL, 0), 0);
    assert_int_equal(rs.n_ns, 1);
    assert_true(gt_refset_watches(&rs, "refs/x/a1"));
    assert_true(gt_refset_watches(&rs, "refs/x/a1-and-more"));
    assert_false(gt_refset_watches(&rs, "refs/x/za1"));
    assert_true(gt_refset_watches(&rs, "refs/x/z-refs/x/b1-z"));
    assert_true(gt_refset_watches(&rs, "refs/x/z-refs/x/cc"));
    assert_false(gt_refset_watches(&rs, "refs/x/ccz"));
    gt_refset_release(&rs);
    /* One regexp alone is a full match. */
    assert_int_equal(gt_refset_new(two, 1, &rs, NULL, 0), 0);
    assert_false(gt_refset_watches(&rs, "refs/x/a1-and-more"));
    gt_refset_release(&rs);
}

#define SHA1 "1111111111111111111111111111111111111111"
#define SHA2 "2222222222222222222222222222222222222222"

/*
 * Parses body with the scanner and with jansson: a reply the scanner
 * takes gives jansson's refs exactly; one it declines leaves out alone;
 * gt_parse_refs answers as jansson.  Returns the scanner's answer.
 */
static int scan_vs_jansson(const char *body, size_t len, struct gt_refs *ret)
{
    struct gt_refs j = {0}, s = {0}, both = {0};
    char err[256];
    int rj = gt_parse_refs_jansson(body, len, "refs/heads", &j, err, sizeof(err));
    int rs = gt_scan_refs(body, len, "refs/heads", &s);
    int rb = gt_parse_refs(body, len, "refs/heads", &both, err, sizeof(err));

    assert_int_equal(rb, rj);
    assert_true(rs == 0 || rs == -EPROTO);
    if (rs == 0) {
        assert_int_equal(rj, 0);
        gt_refs_sort(&j);
        gt_refs_sort(&s);
        assert_int_equal(s.n, j.n);
        for (size_t i = 0; i < s.n; i++) {
            assert_string_equal(s.v[i].name, j.v[i].name);
            assert_string_equal(s.v[i].sha, j.v[i].sha);
        }
    } else {
        assert_int_equal(s.n, 0);
    }
    gt_refs_release(&j);
    gt_refs_release(&both);
    if (ret)
        *ret = s;
    else
        gt_refs_release(&s);
    return rs;
}

static int scan_str(const char *body, struct gt_refs *ret)
{
    return scan_vs_jansson(body, strlen(body), ret);
}

/* The "+refs" fast path against jansson: Gitiles' shape, escapes (RFC 8259 7). */
static void test_refs_scanner(void **state)
{
    struct gt_refs out = {0};
    /* wire-formats 3.2's shape, pretty-printed as Gitiles sends it */
    static const char plain[] = ")]}'\n{\n  \"HEAD\": {\n    \"value\": \"" SHA1 "\",\n"
                                "    \"target\": \"refs/heads/main\"\n  },\n"
                                "  \"main\": {\n    \"value\": \"" SHA1 "\"\n  },\n"
                                "  \"refs/heads\": {\"value\": \"" SHA2 "\"},\n"
                                "  \"v1\": {\"value\": \"" SHA2 "\", \"peeled\": \"" SHA1 "\"},\n"
                                "  \"x\": {\"value\": \"\"},\n  \"y\": {}\n}\n";
    static const char escaped[] = ")]}'{\"a\\/b\": {\"value\": \"\\u0031111111111111111111111111"
                                  "111111111111111\"}, \"caf\\u00E9\": {\"value\": \"" SHA2 "\"},"
                                  " \"t\\tq\\\"\\\\\": {\"value\": \"" SHA1 "\"},"
                                  " \"\\ud83d\\ude00\": {\"value\": \"" SHA2 "\"}}";

    (void)state;
    assert_int_equal(scan_str(plain, &out), 0);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0].name, "refs/heads");
    assert_string_equal(out.v[0].sha, SHA2);
    assert_string_equal(out.v[1].name, "refs/heads/main");
    assert_string_equal(out.v[2].name, "refs/heads/v1");
    assert_string_equal(out.v[2].sha, SHA2);
    gt_refs_release(&out);
    assert_int_equal(scan_str(escaped, &out), 0);
    assert_int_equal(out.n, 4);
    assert_string_equal(out.v[0].name, "refs/heads/a/b");
    assert_string_equal(out.v[0].sha, SHA1);
    assert_string_equal(out.v[1].name, "refs/heads/caf\xc3\xa9");
    assert_string_equal(out.v[2].name, "refs/heads/t\tq\"\\");
    assert_string_equal(out.v[3].name, "refs/heads/\xf0\x9f\x98\x80");
    gt_refs_release(&out);
    assert_int_equal(scan_str(")]}'\n{}", NULL), 0);
    assert_int_equal(scan_str(")]}' \r\n\t{ }\n\n", NULL), 0);
}

/* What the scanner declines: jansson decides (accepts, or rejects as -EPROTO). */
static void test_refs_scanner_declines(void **state)
{
    static const char *const declined[] = {
        ")]}'{\"b\": {\"value\": \"" SHA1 "\"}, \"a\": {\"value\": \"" SHA2 "\"}}", /* unsorted */
        ")]}'{\"a\": {\"value\": \"" SHA1 "\"}, \"a\": {\"value\": \"" SHA2 "\"}}", /* duplicate */
        ")]}'{\"a\": {\"value\": \"" SHA1 "\", \"value\": \"" SHA2 "\"}}",
        ")]}'{\"caf\xc3\xa9\": {\"value\": \"" SHA1 "\"}}", /* raw UTF-8: jansson's */
        ")]}'{\"\xff\": {\"value\": \"" SHA1 "\"}}",        /* bad UTF-8 */
        ")]}'{\"a\x01\": {\"value\": \"" SHA1 "\"}}",       /* raw control character */
        ")]}'{\"\\ud800\": {\"value\": \"" SHA1 "\"}}",     /* lone surrogates */
        ")]}'{\"\\udc00x\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"\\ud800\\u0041\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"a\\u0000\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"\\u12g4\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"\\x\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"\": {\"value\": \"" SHA1 "\"}}",
        ")]}'{\"a\": {\"value\": 1}}",
        ")]}'{\"a\": {\"value\": null, \"target\": 2}}",
        ")]}'{\"a\": {\"value\": \"" SHA1 "\", \"x\": {\"y\": [1]}}}",
        ")]}'{\"a\": {\"value\": \"" SHA1 "1\"}}",
        ")]}'{\"a\": {\"value\": \"zz11111111111111111111111111111111111111\"}}",
        ")]}'{\"a\": {\"value\": \"" SHA1 "\"}} x",
        ")]}'{\"a\": {\"value\": \"" SHA1 "\"},}",
        ")]}'{\"a\": \"" SHA1 "\"}",
        ")]}'[]",
        "{}",
    };
    char body[512];
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
        assert_int_equal(scan_str(declined[i], NULL), -EPROTO);
    /* every prefix of a good reply, and every byte of it replaced */
    len = (size_t)snprintf(body, sizeof(body),
                           ")]}'\n{\"HEAD\": {\"value\": \"%s\", \"target\": \"refs/heads/m\"},"
                           " \"m\\u00e9\": {\"value\": \"%s\"}, \"n\\/\\\"\": {\"value\": \"%s\"}}",
                           SHA1, SHA2, SHA1);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(scan_vs_jansson(body, cut, NULL), -EPROTO);
    for (size_t at = 0; at < len; at++) {
        static const char subst[] = "\"\\{}[],:u0 \x01\xc3";
        char saved = body[at];
        for (size_t k = 0; k < sizeof(subst); k++) { /* the NUL too */
            body[at] = subst[k];
            (void)scan_vs_jansson(body, len, NULL);
        }
        body[at] = saved;
    }
    assert_int_equal(scan_vs_jansson(body, len, NULL), 0);
}

static void test_hostile_replies(void **state)
{
    struct gt_refs out = {0};
    struct gt_commits cs = {0};
    char err[256], next[64];
    static const char ok[] = ")]}'\n{\"main\": {\"value\": "
                             "\"1111111111111111111111111111111111111111\"},"
                             " \"HEAD\": {\"value\": \"refs/heads/main\", \"target\": \"x\"},"
                             " \"empty\": {\"value\": \"\"}}";

    (void)state;
    assert_int_equal(gt_parse_refs(ok, strlen(ok), "refs/heads", &out, err, sizeof(err)), 0);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0].name, "refs/heads/main");
    gt_refs_release(&out);
#define BAD(s) assert_int_equal(gt_parse_refs(s, strlen(s), "refs/heads", &out, err, sizeof(err)), \
                                -EPROTO)
    BAD("{\"main\": {\"value\": \"1111111111111111111111111111111111111111\"}}");
    BAD(")]}'\n{\"main\": {\"value\": \"11111111");
    BAD(")]}'\n{\"main\": {\"value\": \"111\"}}");
    BAD(")]}'\n{\"main\": {\"value\": \"11111111111111111111111111111111111111111\"}}");
    BAD(")]}'\n[1, 2]");
    BAD(")]}'\n{\"main\": 3}");
#undef BAD
    assert_int_equal(out.n, 0);
#define BADLOG(s)                                                                             \
    assert_int_equal(gt_parse_log(s, strlen(s), 50, &cs, next, sizeof(next), err, sizeof(err)), \
                     -EPROTO)
    BADLOG("{\"log\": []}");
    BADLOG(")]}'\n{\"log\": [{\"commit\": \"abc\", \"committer\": {\"time\": "
           "\"Wed Sep 20 23:10:41 2017\"}}]}");
    BADLOG(")]}'\n{\"log\": [{\"commit\": \"1111111111111111111111111111111111111111\","
           " \"committer\": {\"time\": \"yesterday\"}}]}");
    BADLOG(")]}'\n{\"nolog\": 1}");
#undef BADLOG
    assert_int_equal(cs.n, 0);
    gt_commits_release(&cs);
}

/* ---- polls against the fake ---- */

#define T0 "Mon Sep 14 22:42:00 2015"

/* Spec 4.2.4 "New, updated, and deleted refs". */
static void test_new_updated_deleted(void **state)
{
    static const char *kv[] = {"refs/heads/master", "deadbeef03", "refs/branch-heads/x", "ee",
                               "refs/was/watched", "ff"};
    const char *refs = "[\"refs/heads/master\", \"regexp:refs/branch-heads/[^/]+\"]";
    json_t *st = state_of(kv, 6, refs);
    struct run r;
    char req[256];

    (void)state;
    fg_commit(&F.g, "deadbeef03", NULL, "Mon Sep 14 22:38:00 2015", "");
    fg_commit(&F.g, "deadbeef02", "deadbeef03", "Mon Sep 14 22:39:00 2015", "");
    fg_commit(&F.g, "deadbeef01", "deadbeef02", "Mon Sep 14 22:40:00 2015", "");
    fg_commit(&F.g, "deadbeef00", "deadbeef01", "Mon Sep 14 22:41:00 2015", "");
    fg_commit(&F.g, "baadcafe00", NULL, "Mon Sep 14 22:41:00 2015", "");
    fg_ref(&F.g, "refs/heads/master", "deadbeef00");
    fg_ref(&F.g, "refs/branch-heads/1.2.3", "baadcafe00");
    fg_ref(&F.g, "refs/was/watched", "ff");

    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.ctl.status, INV_SUCCEEDED);
    assert_int_equal(json_array_size(r.f.triggers), 4);
    assert_trigger(&r, 0, "refs/branch-heads/1.2.3", "baadcafe00", "2015-09-14T22:41:00Z", 0);
    assert_trigger(&r, 1, "refs/heads/master", "deadbeef02", "2015-09-14T22:39:00Z", 1);
    assert_trigger(&r, 2, "refs/heads/master", "deadbeef01", "2015-09-14T22:40:00Z", 2);
    assert_trigger(&r, 3, "refs/heads/master", "deadbeef00", "2015-09-14T22:41:00Z", 3);
    assert_int_equal(n_known(st), 2);
    assert_string_equal(known(st, "refs/heads/master"), sha("deadbeef00"));
    assert_string_equal(known(st, "refs/branch-heads/1.2.3"), sha("baadcafe00"));
    assert_true(logged(&r, "Repo: " REPO ", Refs: [refs/heads/master regexp:refs/branch-heads/[^/]+]"));
    assert_true(logged(&r, "Fetched refs: 3 from datastore, 2 from gitiles"));
    assert_true(logged(&r, "Ref refs/was/watched is no longer watched"));
    assert_true(logged(&r, "Ref refs/branch-heads/x deleted"));
    assert_true(logged(&r, "Ref refs/branch-heads/1.2.3 is new: "));
    snprintf(req, sizeof(req), "Ref refs/heads/master updated: %s => %s", sha("deadbeef03"),
             sha("deadbeef00"));
    assert_true(logged(&r, req));
    assert_true(logged(&r, "Saved 2 known refs"));
    /* One +refs request per namespace, the range with n=50, the new ref's tip with n=1. */
    assert_true(requested("/a/b/+refs/heads?format=JSON"));
    assert_true(requested("/a/b/+refs/branch-heads?format=JSON"));
    snprintf(req, sizeof(req), "/a/b/+log/%s..%s?format=JSON&n=50", sha("deadbeef03"),
             sha("deadbeef00"));
    assert_true(requested(req));
    snprintf(req, sizeof(req), "/a/b/+log/%s?format=JSON&n=1", sha("baadcafe00"));
    assert_true(requested(req));
    run_release(&r);

    /* Nothing new: no triggers, the state is not rewritten. */
    json_t *before = st;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.ctl.status, INV_SUCCEEDED);
    assert_ptr_equal(st, before);
    assert_int_equal(json_array_size(r.f.triggers), 0);
    assert_true(logged(&r, "No changes detected"));
    assert_int_equal(F.g.n_requests, 2); /* no log requests */
    run_release(&r);
    json_decref(st);
}

/* Spec 4.2.4's path filter fact: triggers for 02 then 01. */
static void test_path_filters(void **state)
{
    static const char *kv[] = {"refs/heads/master", "04"};
    const char *refs = "[\"refs/heads/master\"]";
    json_t *st = state_of(kv, 2, refs);
    struct run r;
    char req[256];

    (void)state;
    fg_commit(&F.g, "04", NULL, T0, "x");
    fg_commit(&F.g, "03", "04", T0, "nothing-matched-means-skipped");
    fg_commit(&F.g, "02", "03", T0, "skip/this-file,not-matched-file,but-still.emit");
    fg_commit(&F.g, "01", "02", T0, "yup.emit");
    fg_commit(&F.g, "00", "01", T0, "skip/commit");
    fg_ref(&F.g, "refs/heads/master", "00");
    poll_with(&r, REPO, refs, "[\".+\\\\.emit\"]", "[\"skip/.+\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 2);
    assert_trigger(&r, 0, "refs/heads/master", "02", "2015-09-14T22:42:00Z", 0);
    assert_trigger(&r, 1, "refs/heads/master", "01", "2015-09-14T22:42:00Z", 1);
    snprintf(req, sizeof(req),
             "skipping commit \"%s\" on \"refs/heads/master\" because didn't match path filters",
             sha("03"));
    assert_true(logged(&r, req));
    snprintf(req, sizeof(req), "/a/b/+log/%s..%s?format=JSON&n=50&name-status=1", sha("04"),
             sha("00"));
    assert_true(requested(req)); /* tree_diff only with path filters */
    assert_string_equal(known(st, "refs/heads/master"), sha("00"));
    run_release(&r);
    json_decref(st);
}

/* First run: a branch gives one trigger (its tip), tags that existed give none. */
static void test_first_run_and_tags(void **state)
{
    const char *refs = "[\"refs/heads/main\", \"regexp:refs/tags/.+\"]";
    json_t *st = NULL;
    struct run r;

    (void)state;
    fg_commit(&F.g, "c1", NULL, T0, "");
    fg_commit(&F.g, "c2", "c1", T0, "");
    fg_ref(&F.g, "refs/heads/main", "c2");
    fg_ref(&F.g, "refs/tags/v1", "c1");
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 1);
    assert_trigger(&r, 0, "refs/heads/main", "c2", "2015-09-14T22:42:00Z", 0);
    assert_true(logged(&r, "Tag refs/tags/v1 newly matched but already existed"));
    assert_true(logged(&r, "Fetched refs: 0 from datastore, 2 from gitiles"));
    assert_string_equal(known(st, "refs/tags/v1"), sha("c1"));
    assert_string_equal(known(st, "refs/heads/main"), sha("c2"));
    run_release(&r);

    /* A tag created later under the same config is emitted. */
    fg_ref(&F.g, "refs/tags/v2", "c2");
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 1);
    assert_trigger(&r, 0, "refs/tags/v2", "c2", "2015-09-14T22:42:00Z", 0);
    run_release(&r);

    /* A changed config newly matching an existing tag: nothing for it. */
    fg_ref(&F.g, "refs/tags/old", "c1");
    poll_with(&r, REPO, "[\"refs/heads/main\", \"regexp:refs/tags/.+\", \"refs/tags/old\"]",
              NULL, NULL, &st);
    assert_int_equal(json_array_size(r.f.triggers), 1); /* old matches .+: it was watched */
    run_release(&r);
    json_decref(st);
}

/* 60 new commits on each of three refs: 50 examined per ref, 100 triggers, then postponed. */
static void test_limits(void **state)
{
    static const char *kv[] = {"refs/heads/a", "a0000", "refs/heads/b", "b0000", "refs/heads/c",
                               "c0000"};
    const char *refs = "[\"regexp:refs/heads/.+\"]";
    json_t *st = state_of(kv, 6, refs);
    const char *ns[] = {"a", "b", "c"};
    char tag[16], parent[16], ref[32];
    struct run r;

    (void)state;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i <= 60; i++) {
            snprintf(tag, sizeof(tag), "%s0%03d", ns[k], i);
            snprintf(parent, sizeof(parent), "%s0%03d", ns[k], i - 1);
            fg_commit(&F.g, tag, i ? parent : NULL, T0, "");
        }
        snprintf(ref, sizeof(ref), "refs/heads/%s", ns[k]);
        snprintf(tag, sizeof(tag), "%s0060", ns[k]);
        fg_ref(&F.g, ref, tag);
    }
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 100);
    assert_trigger(&r, 0, "refs/heads/a", "a0011", "2015-09-14T22:42:00Z", 0);
    assert_trigger(&r, 49, "refs/heads/a", "a0060", "2015-09-14T22:42:00Z", 49);
    assert_trigger(&r, 50, "refs/heads/b", "b0011", "2015-09-14T22:42:00Z", 50);
    assert_trigger(&r, 99, "refs/heads/b", "b0060", "2015-09-14T22:42:00Z", 99);
    assert_true(logged(&r, "Emitted 100 triggers, postponing the rest"));
    assert_true(logged(&r, "2 changed refs processed, 1 refs not yet examined"));
    assert_string_equal(known(st, "refs/heads/a"), sha("a0060"));
    assert_string_equal(known(st, "refs/heads/c"), sha("c0000"));
    run_release(&r);

    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(json_array_size(r.f.triggers), 50);
    assert_trigger(&r, 0, "refs/heads/c", "c0011", "2015-09-14T22:42:00Z", 0);
    assert_true(logged(&r, "All 1 changed refs processed"));
    assert_string_equal(known(st, "refs/heads/c"), sha("c0060"));
    run_release(&r);
    json_decref(st);
}

/* 150 new commits on one ref: only the newest 50 are examined, across +log pages. */
static void test_150_commits(void **state)
{
    static const char *kv[] = {"refs/heads/main", "d0000"};
    const char *refs = "[\"refs/heads/main\"]";
    json_t *st = state_of(kv, 2, refs);
    char tag[16], parent[16];
    struct run r;

    (void)state;
    for (int i = 0; i <= 150; i++) {
        snprintf(tag, sizeof(tag), "d0%03d", i);
        snprintf(parent, sizeof(parent), "d0%03d", i - 1);
        fg_commit(&F.g, tag, i ? parent : NULL, T0, "");
    }
    fg_ref(&F.g, "refs/heads/main", "d0150");
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 50);
    assert_trigger(&r, 0, "refs/heads/main", "d0101", "2015-09-14T22:42:00Z", 0);
    assert_trigger(&r, 49, "refs/heads/main", "d0150", "2015-09-14T22:42:00Z", 49);
    assert_string_equal(known(st, "refs/heads/main"), sha("d0150"));
    run_release(&r);
    json_decref(st);
}

static void test_force_push(void **state)
{
    static const char *kv[] = {"refs/heads/main", "e0"};
    const char *refs = "[\"refs/heads/main\"]";
    json_t *st = state_of(kv, 2, refs), *st2 = state_of(kv, 2, refs);
    struct run r;
    char req[256];

    (void)state;
    fg_commit(&F.g, "f0", NULL, T0, "a.txt");
    fg_commit(&F.g, "f1", "f0", T0, "b.txt");
    fg_ref(&F.g, "refs/heads/main", "f1"); /* e0 no longer exists */
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "Ref refs/heads/main: log old..new is not found, investigating "
                           "further..."));
    assert_true(logged(&r, "Ref refs/heads/main: force push detected; emitting trigger for new "
                           "head"));
    assert_int_equal(json_array_size(r.f.triggers), 1);
    assert_trigger(&r, 0, "refs/heads/main", "f1", "2015-09-14T22:42:00Z", 0);
    assert_string_equal(known(st, "refs/heads/main"), sha("f1"));
    snprintf(req, sizeof(req), "/a/b/+log/%s?format=JSON&n=1", sha("e0"));
    assert_true(requested(req));
    run_release(&r);

    /* With path filters the new head is fetched without tree diff: no trigger, tip recorded. */
    poll_with(&r, REPO, refs, "[\".+\"]", NULL, &st2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 0);
    assert_string_equal(known(st2, "refs/heads/main"), sha("f1"));
    snprintf(req, sizeof(req), "/a/b/+log/%s?format=JSON&n=1&name-status=1", sha("e0"));
    assert_true(requested(req));
    run_release(&r);
    json_decref(st);
    json_decref(st2);
}

/* Both ends exist but the range is 404: transient, no progress. */
static void test_weird_range(void **state)
{
    static const char *kv[] = {"refs/heads/main", "f0"};
    const char *refs = "[\"refs/heads/main\"]";
    json_t *st = state_of(kv, 2, refs), *before = st;
    struct run r;

    (void)state;
    fg_commit(&F.g, "f0", NULL, T0, "");
    fg_commit(&F.g, "f1", "f0", T0, "");
    fg_ref(&F.g, "refs/heads/main", "f1");
    snprintf(F.g.fail_log, sizeof(F.g.fail_log), "%s..%s", sha("f0"), sha("f1"));
    F.g.fail_log_status = 404;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_ptr_equal(st, before);
    assert_true(logged(&r, "no progress made due to Ref refs/heads/main: weirdly, log("));
    assert_int_equal(json_array_size(r.f.triggers), 0);
    run_release(&r);
    json_decref(st);
}

static void test_unresolved_refs(void **state)
{
    json_t *st = NULL;
    struct run r;

    (void)state;
    fg_commit(&F.g, "c1", NULL, T0, "");
    fg_ref(&F.g, "refs/heads/main", "c1");
    poll_with(&r, REPO, "[\"refs/heads/main\", \"refs/heads/missing\", \"regexp:refs/heads/rel-.+\"]",
              NULL, NULL, &st);
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_string_equal(r.f.ctl.err, "2 unresolved refs");
    assert_true(logged(&r, "The following configured refs didn't match a single actual ref: "
                           "[refs/heads/missing regexp:refs/heads/rel-.+]\nHint: have you "
                           "granted read access to LUCI Scheduler on relevant refs in \"" REPO
                           "\""));
    assert_null(st);
    assert_int_equal(json_array_size(r.f.triggers), 0);
    run_release(&r);
}

/* A server that fails half-way: the first ref's progress is kept, nothing is repeated. */
static void test_fails_half_way(void **state)
{
    static const char *kv[] = {"refs/heads/a", "a1", "refs/heads/b", "b1"};
    const char *refs = "[\"refs/heads/a\", \"refs/heads/b\"]";
    json_t *st = state_of(kv, 4, refs), *st0 = state_of(kv, 4, refs), *before = st0;
    struct run r;

    (void)state;
    fg_commit(&F.g, "a1", NULL, T0, "");
    fg_commit(&F.g, "a2", "a1", T0, "");
    fg_commit(&F.g, "b1", NULL, T0, "");
    fg_commit(&F.g, "b2", "b1", T0, "");
    fg_ref(&F.g, "refs/heads/a", "a2");
    fg_ref(&F.g, "refs/heads/b", "b2");
    snprintf(F.g.fail_log, sizeof(F.g.fail_log), "%s..%s", sha("b1"), sha("b2"));
    F.g.fail_log_status = 503;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.ctl.status, INV_SUCCEEDED);
    assert_true(logged(&r, "ignoring error Ref refs/heads/b: failed to fetch log between old "));
    assert_true(logged(&r, "1 changed refs processed, 1 refs not yet examined"));
    assert_int_equal(json_array_size(r.f.triggers), 1);
    assert_trigger(&r, 0, "refs/heads/a", "a2", "2015-09-14T22:42:00Z", 0);
    assert_string_equal(known(st, "refs/heads/a"), sha("a2"));
    assert_string_equal(known(st, "refs/heads/b"), sha("b1"));
    run_release(&r);

    /* The same failure on the first ref: no progress, transient, state untouched. */
    snprintf(F.g.fail_log, sizeof(F.g.fail_log), "%s..%s", sha("a1"), sha("a2"));
    poll_with(&r, REPO, refs, NULL, NULL, &st0);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_ptr_equal(st0, before);
    assert_true(logged(&r, "no progress made due to Ref refs/heads/a: failed to fetch log "));
    run_release(&r);

    /* Healed: only b's commit comes now. */
    F.g.fail_log[0] = '\0';
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(json_array_size(r.f.triggers), 1);
    assert_trigger(&r, 0, "refs/heads/b", "b2", "2015-09-14T22:42:00Z", 0);
    run_release(&r);

    /* A server that fails every request: the refs cannot be resolved. */
    F.g.fail_from = 1;
    F.g.fail_status = 503;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_non_null(strstr(r.f.ctl.err, "HTTP 503"));
    run_release(&r);
    F.g.fail_status = 403;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, TASK_ERR_FATAL); /* PERMISSION_DENIED is not transient */
    run_release(&r);
    json_decref(st);
    json_decref(st0);
}

/* Hostile answers fail the poll without touching the state. */
static void test_hostile_server(void **state)
{
    static const char *kv[] = {"refs/heads/main", "c1"};
    const char *refs = "[\"refs/heads/main\"]";
    json_t *st = state_of(kv, 2, refs), *before = st;
    static const char *bodies[] = {
        "{\"main\": {\"value\": \"2222222222222222222222222222222222222222\"}}",
        ")]}'\n{\"main\": {\"value\": \"22222222",
        ")]}'\n{\"main\": {\"value\": \"222\"}}",
    };
    struct run r;
    struct buf big;

    (void)state;
    fg_commit(&F.g, "c1", NULL, T0, "");
    fg_commit(&F.g, "c2", "c1", T0, "");
    fg_ref(&F.g, "refs/heads/main", "c2");
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        F.g.refs_body = bodies[i];
        F.g.refs_body_len = strlen(bodies[i]);
        poll_with(&r, REPO, refs, NULL, NULL, &st);
        assert_true(r.rc < 0);
        assert_ptr_equal(st, before);
        assert_non_null(strstr(r.f.ctl.err, "bad reply from Gitiles"));
        run_release(&r);
    }
    /* 10^6 refs: over the client's reply bound; 250,000: over the poller's own. */
    buf_init(&big, 128u << 20);
    for (int n = 0; n < 2; n++) {
        int count = n == 0 ? 1000000 : 250000;
        buf_reset(&big);
        buf_puts(&big, ")]}'\n{");
        for (int i = 0; i < count; i++)
            buf_printf(&big, "%s\"r%d\":{\"value\":\"2222222222222222222222222222222222222222\"}",
                       i ? "," : "", i);
        buf_puts(&big, "}");
        F.g.refs_body = big.data;
        F.g.refs_body_len = big.len;
        poll_with(&r, REPO, refs, NULL, NULL, &st);
        assert_true(r.rc < 0);
        assert_ptr_equal(st, before);
        assert_true(r.f.ctl.err[0] != '\0');
        run_release(&r);
    }
    buf_release(&big);
    F.g.refs_body = NULL;

    /* A +log answer with a SHA of the wrong length. */
    F.g.log_body = ")]}'\n{\"log\": [{\"commit\": \"22222\", \"committer\": {\"time\": \"" T0
                   "\"}}]}";
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_ptr_equal(st, before);
    assert_non_null(strstr(r.f.ctl.err, "bad commit SHA"));
    run_release(&r);
    F.g.log_body = NULL;
    json_decref(st);
}

static void test_bad_repos(void **state)
{
    static const struct {
        const char *repo, *err;
    } cases[] = {
        {"https://example.com/b", "invalid repo URL \"https://example.com/b\": only "
                                  ".googlesource.com repos are supported"},
        {"http://a.googlesource.com/b", "invalid repo URL \"http://a.googlesource.com/b\": only "
                                        "https scheme is supported"},
    };
    json_t *st = NULL;
    struct run r;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        poll_with(&r, cases[i].repo, "[\"refs/heads/main\"]", NULL, NULL, &st);
        assert_int_equal(r.rc, TASK_ERR_FATAL);
        assert_string_equal(r.f.ctl.err, cases[i].err);
        assert_int_equal(F.g.n_requests, 0);
        run_release(&r);
    }
}

/* A state of another repo is not ours: the poll starts from scratch. */
static void test_state_of_other_repo(void **state)
{
    static const char *kv[] = {"refs/heads/main", "c1"};
    json_t *st = state_of(kv, 2, "[\"refs/heads/main\"]");
    struct run r;

    (void)state;
    json_object_set_new(st, "project", json_string("other"));
    fg_commit(&F.g, "c1", NULL, T0, "");
    fg_ref(&F.g, "refs/heads/main", "c1");
    poll_with(&r, REPO, "[\"refs/heads/main\"]", NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 1); /* c1 again: a new ref to this repo */
    assert_string_equal(json_string_value(json_object_get(st, "project")), "b");
    run_release(&r);
    json_decref(st);
}

/* ---- the stored state's forms (gitiles.h) ---- */

static const struct gt_repo STATE_REPO = {"a.googlesource.com", "b"};

/* The compact form round-trips, and its text is the documented one. */
static void test_state_round_trip(void **state)
{
    struct gt_state st = {0}, back = {0};
    char *refs[] = {"refs/heads/main", "regexp:refs/tags/.+"};
    char want[512];
    json_t *v = NULL;

    (void)state;
    /* Added unsorted; a name with a space and one with UTF-8 are legal ref names. */
    assert_int_equal(gt_refs_add(&st.known, "refs/tags/v 1", sha("a1")), 0);
    assert_int_equal(gt_refs_add(&st.known, "refs/heads/main", sha("e1")), 0);
    assert_int_equal(gt_refs_add(&st.known, "refs/tags/\xc3\xa9t\xc3\xa9", sha("b2")), 0);
    gt_refs_sort(&st.known);
    st.refs = refs;
    st.n_refs = 2;
    assert_int_equal(gt_state_to_json(&st, &STATE_REPO, &v), 0);
    st.refs = NULL;
    st.n_refs = 0;
    snprintf(want, sizeof(want), "%s refs/heads/main\n%s refs/tags/v 1\n%s refs/tags/\xc3\xa9t\xc3\xa9\n",
             sha("e1"), sha("a1"), sha("b2"));
    assert_string_equal(json_string_value(json_object_get(v, "tips")), want);
    assert_null(json_object_get(v, "known"));
    assert_string_equal(json_string_value(json_object_get(v, "host")), "a.googlesource.com");
    assert_int_equal(gt_state_from_json(v, &STATE_REPO, &back, NULL, 0), 0);
    assert_false(back.migrated);
    assert_true(back.has_refs);
    assert_int_equal(back.n_refs, 2);
    assert_string_equal(back.refs[1], "regexp:refs/tags/.+");
    assert_int_equal(back.known.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(back.known.v[i].name, st.known.v[i].name);
        assert_string_equal(back.known.v[i].sha, st.known.v[i].sha);
    }
    /* Through text, as the engine stores it. */
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *v2 = json_loads(text, 0, NULL);
    assert_true(json_equal(v, v2));
    free(text);
    json_decref(v2);
    gt_state_release(&back);
    gt_state_release(&st);
    json_decref(v);
}

/* A state from before the compact form is read (and flagged for a rewrite). */
static void test_state_old_form(void **state)
{
    static const char *kv[] = {"refs/tags/v2", "b2", "refs/heads/main", "e1", "refs/tags/v10", "10"};
    json_t *v = state_of(kv, 6, "[\"refs/heads/main\"]");
    struct gt_state st = {0};

    (void)state;
    assert_int_equal(gt_state_from_json(v, &STATE_REPO, &st, NULL, 0), 0);
    assert_true(st.migrated);
    assert_int_equal(st.known.n, 3);
    assert_string_equal(st.known.v[0].name, "refs/heads/main");
    assert_string_equal(st.known.v[0].sha, sha("e1"));
    assert_string_equal(st.known.v[1].name, "refs/tags/v10");
    assert_string_equal(st.known.v[2].name, "refs/tags/v2");
    assert_string_equal(st.known.v[2].sha, sha("b2"));
    gt_state_release(&st);
    json_decref(v);
}

/* Damaged compact states are refused (the poll then starts afresh). */
static void test_state_damaged(void **state)
{
    char a[41], b[41], text[512];
    struct {
        int line;
        const char *fmt; /* %1$s and %2$s: two valid SHAs */
    } cases[] = {
        {__LINE__, "%1$s refs/heads/b\n%2$s refs/heads/a\n"},  /* unsorted */
        {__LINE__, "%1$s refs/heads/a\n%2$s refs/heads/a\n"},  /* duplicate */
        {__LINE__, "%1$s refs/heads/a"},                       /* no newline */
        {__LINE__, "%1$.39s refs/heads/a\n"},                  /* short SHA */
        {__LINE__, "%1$s  refs/heads/a\n"},                    /* two spaces */
        {__LINE__, "%1$s\trefs/heads/a\n"},
        {__LINE__, "%1$s heads/a\n"},                          /* not under refs/ */
        {__LINE__, "%1$s refs/heads/a\r\n"},                   /* a control character */
        {__LINE__, "\n"},
        {__LINE__, "ABCDEF0123ABCDEF0123ABCDEF0123ABCDEF0123 refs/heads/a\n"}, /* upper case */
    };

    (void)state;
    snprintf(a, sizeof(a), "%s", sha("a1"));
    snprintf(b, sizeof(b), "%s", sha("b1"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gt_state st = {0};
        char err[256] = "";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(text, sizeof(text), cases[i].fmt, a, b);
#pragma GCC diagnostic pop
        json_t *v = json_pack("{s:s, s:s, s:s, s:[]}", "host", "a.googlesource.com", "project",
                              "b", "tips", text, "refs");
        if (gt_state_from_json(v, &STATE_REPO, &st, err, sizeof(err)) != -EPROTO)
            fail_msg("line %d: %s was read", cases[i].line, text);
        assert_non_null(strstr(err, "unreadable"));
        assert_int_equal(st.known.n, 0);
        json_decref(v);
    }
    /* tips that is not a string */
    json_t *v = json_pack("{s:s, s:s, s:[], s:[]}", "host", "a.googlesource.com", "project", "b",
                          "tips", "refs");
    struct gt_state st = {0};
    assert_int_equal(gt_state_from_json(v, &STATE_REPO, &st, NULL, 0), -EPROTO);
    json_decref(v);
}

/*
 * Polls over the forms: an old state is migrated by the next poll even
 * with nothing new; a compact one with nothing new is left alone and the
 * engine is told so; a damaged one is started afresh (every ref new).
 */
static void test_state_polls(void **state)
{
    static const char *kv[] = {"refs/heads/main", "c1"};
    const char *refs = "[\"refs/heads/main\"]";
    json_t *st = state_of(kv, 2, refs), *before;
    struct run r;

    (void)state;
    fg_commit(&F.g, "c1", NULL, T0, "");
    fg_ref(&F.g, "refs/heads/main", "c1");
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.f.triggers), 0);
    assert_true(logged(&r, "No changes detected"));
    assert_true(logged(&r, "Rewriting the stored state in the compact form"));
    assert_false(r.f.ctl.job_state_unchanged);
    assert_null(json_object_get(st, "known"));
    assert_string_equal(known(st, "refs/heads/main"), sha("c1"));
    run_release(&r);

    before = st;
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "No changes detected"));
    assert_false(logged(&r, "Rewriting"));
    assert_true(r.f.ctl.job_state_unchanged);
    assert_ptr_equal(st, before);
    assert_string_equal(known(st, "refs/heads/main"), sha("c1"));
    run_release(&r);

    json_object_set_new(st, "tips", json_string("damaged\n"));
    poll_with(&r, REPO, refs, NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "the stored state is unreadable"));
    assert_true(logged(&r, "starting from an empty state"));
    assert_int_equal(json_array_size(r.f.triggers), 1); /* main is new again */
    assert_false(r.f.ctl.job_state_unchanged);
    assert_string_equal(known(st, "refs/heads/main"), sha("c1"));
    run_release(&r);
    json_decref(st);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_refsets),
        cmocka_unit_test(test_hostile_replies),
        cmocka_unit_test(test_refs_scanner),
        cmocka_unit_test(test_refs_scanner_declines),
        T(test_new_updated_deleted),
        T(test_path_filters),
        T(test_first_run_and_tags),
        T(test_limits),
        T(test_150_commits),
        T(test_force_push),
        T(test_weird_range),
        T(test_unresolved_refs),
        T(test_fails_half_way),
        T(test_hostile_server),
        T(test_bad_repos),
        T(test_state_of_other_repo),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_old_form),
        cmocka_unit_test(test_state_damaged),
        T(test_state_polls),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
