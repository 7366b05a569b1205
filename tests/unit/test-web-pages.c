/*
 * test-web-pages.c - the web UI's pages over a real engine (temporary
 * SQLite store, manual clock) and a real HTTP server on 127.0.0.1, fetched
 * with libcurl.
 *
 * Hostile input: a job's config strings (url_fetch method and URL), a
 * trigger's title, URL, emitter, properties and tags, a pause reason, and
 * the debug-log lines they produce carry <script>, quotes and '&'; every
 * page must show them as text: the escaped forms (HTML's entities, written
 * out by hand here) are present and no raw markup from them is.  Error
 * pages, statuses and messages are spec 7.6's; the security headers are
 * the ones docs/web.md promises.
 */
#include "base/compat.h"
#include "web/web.h"

#include <setjmp.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine.h"
#include "net/http.h"
#include "store/store.h"
#include "tasks/registry.h"

#define T0 "2026-01-01T00:00:00Z"

/* Not validated (the engine does not validate): the strings reach the pages as they are. */
static const char cfg_text[] =
    "job {\n"
    "  id: \"hostile\"\n"
    "  realm: \"public\"\n"
    "  schedule: \"triggered\"\n"
    "  url_fetch { method: \"<b>&\\\"'</b>\"\n"
    "              url: \"http://h/<script>alert(1)</script>?a=1&b='2'\" }\n"
    "}\n"
    "job { id: \"hidden\" realm: \"private\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    /* Never runs: its Definition can only come from the job's config. */
    "job { id: \"newest\" realm: \"public\" schedule: \"triggered\" noop { sleep_ms: 5 }\n"
    "      triggering_policy { kind: NEWEST_FIRST } }\n"
    /* Two invocations of an hour each at once: one is aborted, one stays active. */
    "job { id: \"mixed\" realm: \"public\" schedule: \"triggered\" noop { sleep_ms: 3600000 }\n"
    "      triggering_policy { max_concurrent_invocations: 2 } }\n"
    /* Hourly: its next fire times after T0 are 01:00, 02:00, ... */
    "job { id: \"hourly\" realm: \"public\" schedule: \"0 * * * *\" noop { sleep_ms: 5 } }\n";

static const char realms[] =
    "realms { name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"anonymous:anonymous\"\n"
    "             principals: \"user:one@example.com\" } }\n"
    "realms { name: \"private\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"user:one@example.com\" } }\n";

static const char tokens[] = "tok-one user:one@example.com\n";

static const char trigger_json[] =
    "[{\"id\": \"t<1>&\\\"\", \"created\": \"" T0 "\", \"orderInBatch\": \"0\","
    "  \"title\": \"<script>alert('title')</script> & \\\"q\\\"\","
    "  \"url\": \"javascript:alert(1)\","
    "  \"emittedByUser\": \"user:<img src=x onerror=alert(1)>@example.com\","
    "  \"buildbucket\": {\"properties\": {\"<k>\": \"</pre><script>p</script>\"},"
    "                  \"tags\": [\"a:<script>tag</script>\"]}}]";

struct fixture {
    char dir[64];
    struct manual_clock clock;
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
    struct auth *a;
    struct http_server *http;
    char base[64];
    uint64_t rnd;
    int64_t inv_id;
    int64_t active_id;  /* p/mixed: the older invocation, still RUNNING */
    int64_t aborted_id; /* p/mixed: the newer one, ABORTED */
};

static uint64_t test_random(void *ctx)
{
    uint64_t *x = ctx;
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void apply(struct fixture *f)
{
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    char err[256] = "";

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg_text, strlen(cfg_text), &cfg, &d), 0);
    assert_int_equal(engine_apply_project(f->e, "p", cfg, NULL, "rev<1>", "javascript:x"), 0);
    if (auth_set_project(f->a, "p", cfg, realms, strlen(realms), err, sizeof(err)) != 0)
        fail_msg("auth_set_project: %s", err);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
}

/* Emits the hostile trigger and runs the engine until its invocation is final. */
static void run_invocation(struct fixture *f)
{
    json_t *t = json_loads(trigger_json, 0, NULL);
    struct engine_invocation *v = NULL;
    size_t n = 0;
    char *next = NULL;

    assert_non_null(t);
    assert_int_equal(engine_emit_triggers(f->e, "p/hostile", t), 0);
    json_decref(t);
    for (int i = 0; i < 60; i++) {
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
        assert_int_equal(engine_list_invocations(f->e, "p/hostile", NULL, 1, &v, &n, &next), 0);
        free(next);
        if (n == 1 && v[0].final) {
            f->inv_id = v[0].id;
            engine_invocations_free(v, n);
            return;
        }
        engine_invocations_free(v, n);
    }
    fail_msg("the invocation did not finish");
}

/* Emits one trigger {id, title} to job and runs the engine until it has want invocations. */
static int64_t start_one(struct fixture *f, const char *job, const char *id, size_t want)
{
    json_t *t = json_pack("[{s:s, s:s, s:s, s:s}]", "id", id, "created", T0, "orderInBatch",
                          "0", "title", id);
    struct engine_invocation *v = NULL;
    size_t n = 0;
    char *next = NULL;
    int64_t newest = 0;

    assert_non_null(t);
    assert_int_equal(engine_emit_triggers(f->e, job, t), 0);
    json_decref(t);
    for (int i = 0; i < 30 && newest == 0; i++) {
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
        assert_int_equal(engine_list_invocations(f->e, job, NULL, 10, &v, &n, &next), 0);
        free(next);
        if (n == want && !v[0].final)
            newest = v[0].id;
        engine_invocations_free(v, n);
    }
    if (newest == 0)
        fail_msg("%s: no invocation %zu", job, want);
    return newest;
}

/* p/mixed: an older active invocation and a newer finished one. */
static void run_mixed(struct fixture *f)
{
    f->active_id = start_one(f, "p/mixed", "mixed-1", 1);
    f->aborted_id = start_one(f, "p/mixed", "mixed-2", 2);
    assert_int_equal(engine_abort_invocation(f->e, "p/mixed", f->aborted_id, "user:a@b.c"), 0);
    for (int i = 0; i < 5; i++) {
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[128], err[256] = "";
    int64_t t0;
    struct task_options topts = {.noop_default_sleep_ns = NS_PER_MS};
    struct http_server_options ho = {.host = "127.0.0.1"};
    struct web_options wo;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-web-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(url, sizeof(url), "sqlite:%s/tock.db", f->dir);
    assert_int_equal(time_parse_rfc3339(T0, &t0), 0);
    manual_clock_init(&f->clock, t0);
    if (store_open(url, &f->store, err, sizeof(err)) != 0)
        fail_msg("store_open: %s", err);
    assert_int_equal(task_registry_default(&topts, &f->reg), 0);
    f->rnd = 0x9e3779b97f4a7c15u;
    struct engine_options eo = {
        .store = f->store, .clock = &f->clock.base, .registry = f->reg,
        .random = test_random, .random_ctx = &f->rnd,
        .settings = {.list_chunk = 2}, /* the pages' walks cross chunk bounds */
    };
    assert_int_equal(engine_new(&eo, &f->e), 0);
    f->a = auth_new();
    assert_int_equal(auth_load_tokens(f->a, tokens, strlen(tokens), err, sizeof(err)), 0);
    apply(f);
    run_invocation(f);
    assert_int_equal(engine_pause_job(f->e, "p/hostile", "user:o'neil@example.com",
                                      "<script>alert('reason')</script> & more"), 0);
    {   /* a trigger that reaches the paused job: its fate says why nothing ran */
        json_t *t = json_pack("[{s:s, s:s, s:s, s:s}]", "id", "late<&>", "created", T0,
                              "orderInBatch", "0", "title", "late <commit> & \"x\"");
        assert_int_equal(engine_emit_triggers(f->e, "p/hostile", t), 0);
        json_decref(t);
    }
    run_mixed(f);
    {   /* one invocation of the private job: counted for its reader only */
        json_t *t = json_pack("[{s:s, s:s, s:s}]", "id", "h-1", "created", T0, "orderInBatch", "0");
        assert_int_equal(engine_emit_triggers(f->e, "p/hidden", t), 0);
        json_decref(t);
    }
    for (int i = 0; i < 5; i++) { /* the triage that tidies the finished invocation */
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
    assert_int_equal(http_server_new(&ho, &f->http), 0);
    wo = (struct web_options){.clock = &f->clock.base, .version = "v<1>"};
    assert_int_equal(web_register(f->http, f->e, f->a, &wo), 0);
    assert_int_equal(http_server_start(f->http), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->http));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const files[] = {"tock.db", "tock.db-wal", "tock.db-shm"};
    char path[128];

    f->http = http_server_free(f->http);
    f->e = engine_free(f->e);
    f->store = store_close(f->store);
    f->reg = task_registry_free(f->reg);
    f->a = auth_free(f->a);
    manual_clock_release(&f->clock);
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- the client ---- */

struct reply {
    long status;
    struct buf body;
    struct buf headers;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

static void get(struct fixture *f, const char *path, const char *token, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], auth[128];

    assert_non_null(c);
    buf_init(&r->body, 32u << 20);
    buf_init(&r->headers, 1u << 20);
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void release(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static bool has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static void expect_has(const struct reply *r, const char *path, const char *needle)
{
    if (!strstr(r->body.data, needle))
        fail_msg("%s: missing [%s] in:\n%s", path, needle, r->body.data);
}

/* The headers every answer must carry (docs/web.md, web.h). */
static void expect_safe_headers(const struct reply *r, const char *path)
{
    static const char *const want[] = {
        "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "script-src 'self'",
        "X-Content-Type-Options: nosniff",
        "X-Frame-Options: DENY",
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        if (!has_ci(r->headers.data, want[i]))
            fail_msg("%s: no [%s] in headers:\n%s", path, want[i], r->headers.data);
}

/* The one script tag a page may have: the embedded live-update script. */
#define LIVE_SCRIPT "<script src=\"/static/live.js\" defer></script>"

/*
 * No markup made of the hostile strings; no inline script or style at all
 * (the only script is LIVE_SCRIPT, same-origin).
 */
static void expect_no_raw(const struct reply *r, const char *path)
{
    static const char *const bad[] = {
        "<script", "<img", "<b>&\"", "<k>", "</pre><script", "href=\"javascript:", " style=",
        "<style",
    };
    char *body = strdup(r->body.data), *at;

    assert_non_null(body);
    while ((at = strstr(body, LIVE_SCRIPT)) != NULL)
        memset(at, ' ', strlen(LIVE_SCRIPT));
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (has_ci(body, bad[i]))
            fail_msg("%s: raw [%s] in:\n%s", path, bad[i], r->body.data);
    free(body);
}

static void page_ok(struct fixture *f, const char *path, const char *token,
                    const char *const *needles)
{
    struct reply r;

    get(f, path, token, &r);
    if (r.status != 200)
        fail_msg("%s: HTTP %ld:\n%s", path, r.status, r.body.data);
    expect_safe_headers(&r, path);
    expect_no_raw(&r, path);
    for (size_t i = 0; needles && needles[i]; i++)
        expect_has(&r, path, needles[i]);
    release(&r);
}

/* ---- tests ---- */

static void test_hostile_escaped(void **state)
{
    struct fixture *f = *state;
    char path[128];
    const char *const index_needles[] = {"href=\"/jobs/p\"", "1 JOB", NULL};
    const char *const project_needles[] = {
        "href=\"/jobs/p/hostile\"", "PAUSED", "Paused by o&#39;neil@example.com", NULL};
    const char *const job_needles[] = {
        /* the pause reason */
        "&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt; &amp; more",
        /* the revision, its javascript: URL not linked */
        "Definition (rev rev&lt;1&gt;)",
        /* the config strings in the task text */
        "method: &quot;&lt;b&gt;&amp;\\&quot;&#39;&lt;/b&gt;&quot;",
        "url: &quot;http://h/&lt;script&gt;alert(1)&lt;/script&gt;?a=1&amp;b=&#39;2&#39;&quot;",
        NULL};
    const char *const inv_needles[] = {
        /* the trigger: title as text, javascript: URL not a link, emitter */
        "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; &quot;q&quot;",
        "by <b>&lt;img src=x onerror=alert(1)&gt;@example.com</b>",
        /* properties and tags of the trigger's payload */
        "&quot;&lt;k&gt;&quot;: &quot;&lt;/pre&gt;&lt;script&gt;p&lt;/script&gt;&quot;",
        "<li>a:&lt;script&gt;tag&lt;/script&gt;</li>",
        /* the debug log line url_fetch writes: "<method> <url>" */
        "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt; http://h/&lt;script&gt;alert(1)&lt;/script&gt;"
        "?a=1&amp;b=&#39;2&#39;",
        "Version: v&lt;1&gt;",
        NULL};

    page_ok(f, "/", NULL, index_needles);
    page_ok(f, "/jobs/p", NULL, project_needles);
    page_ok(f, "/jobs/p/hostile", NULL, job_needles);
    snprintf(path, sizeof(path), "/jobs/p/hostile/%" PRId64, f->inv_id);
    page_ok(f, path, NULL, inv_needles);
    /* Escaping holds for a signed-in caller too. */
    page_ok(f, path, "tok-one", inv_needles);
}

/* Spec 7.6: statuses and messages; relogin hint for anonymous callers only. */
static void test_error_pages(void **state)
{
    static const struct {
        const char *path, *token;
        long status;
        const char *message;
        bool relogin;
    } cases[] = {
        {"/jobs/p/hidden", NULL, 404, "No such job or no permission to view it.", true},
        {"/jobs/p/missing", NULL, 404, "No such job or no permission to view it.", true},
        {"/jobs/p/missing", "tok-one", 404, "No such job or no permission to view it.", false},
        {"/jobs/p/hostile/x12", NULL, 400, "Malformed invocation ID.", false},
        {"/jobs/p/hostile/12345", NULL, 404, "The requested invocation is not found.", false},
        {"/jobs/p/hidden/12345", NULL, 404, "No such job or no permission to view it.", true},
        {"/jobs/p", "bad-token", 401, "Bad or unknown bearer token.", false},
        {"/nope", NULL, 404, "Not found.", false},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct reply r;
        get(f, cases[i].path, cases[i].token, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: HTTP %ld, want %ld", cases[i].path, r.status, cases[i].status);
        expect_safe_headers(&r, cases[i].path);
        expect_has(&r, cases[i].path, cases[i].message);
        if (cases[i].relogin != (strstr(r.body.data, "You may need to login first.") != NULL))
            fail_msg("%s: relogin hint %s", cases[i].path, cases[i].relogin ? "missing" : "shown");
        release(&r);
    }
}

/* Visibility (spec 6): the private job is seen by its reader only. */
static void test_visibility(void **state)
{
    struct fixture *f = *state;
    const char *const reader[] = {"href=\"/jobs/p/hidden\"", NULL};
    struct reply r;

    page_ok(f, "/jobs/p/hidden", "tok-one", NULL);
    page_ok(f, "/jobs/p", "tok-one", reader);
    get(f, "/jobs/p", NULL, &r);
    assert_null(strstr(r.body.data, "/jobs/p/hidden"));
    release(&r);
}

static void test_static(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    get(f, "/static/style.css", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_ci(r.headers.data, "Content-Type: text/css"));
    expect_safe_headers(&r, "/static/style.css");
    release(&r);
    get(f, "/static/nope.js", NULL, &r);
    assert_int_equal(r.status, 404);
    release(&r);
}

/*
 * Spec 7.4 / A.4: the job's current task (a job that never ran has one
 * too) and its triggering policy with the defaults of spec 3.9 filled in.
 */
static void test_definition(void **state)
{
    struct fixture *f = *state;
    const char *const hostile[] = {
        /* fields by number (spec 1.6): method = 1 before url = 2 */
        "<pre id=\"task\">url_fetch: &lt;\n  method: &quot;&lt;b&gt;",
        "&lt;/b&gt;&quot;\n  url: &quot;http://h/",
        "<h4>Triggering policy</h4><pre id=\"policy\">kind: GREEDY_BATCHING\n"
        "max_concurrent_invocations: 1\nmax_batch_size: 1000\n</pre>",
        NULL};
    const char *const newest[] = {
        "Definition (rev rev&lt;1&gt;)",
        "<pre id=\"task\">noop: &lt;\n  sleep_ms: 5\n&gt;\n</pre>",
        "<pre id=\"policy\">kind: NEWEST_FIRST\nmax_concurrent_invocations: 1\n"
        "max_batch_size: 1000\npending_timeout: &lt;\n  seconds: 604800\n&gt;\n</pre>",
        NULL};
    const char *const mixed[] = {
        "<pre id=\"policy\">kind: GREEDY_BATCHING\nmax_concurrent_invocations: 2\n"
        "max_batch_size: 1000\n</pre>",
        NULL};

    page_ok(f, "/jobs/p/hostile", NULL, hostile);
    page_ok(f, "/jobs/p/newest", NULL, newest);
    page_ok(f, "/jobs/p/mixed", NULL, mixed);
}

/*
 * Spec 7.4: a triage log older than the job's last triage (a log write
 * that did not land) is flagged stale with the difference; a fresh one not.
 */
static void test_triage_stale(void **state)
{
    struct fixture *f = *state;
    struct engine_job j;
    struct store_tx *tx;
    struct reply r;
    int64_t last;

    assert_int_equal(engine_get_job(f->e, "p/hostile", &j), 0);
    last = j.last_triage;
    assert_true(last > 0);
    get(f, "/jobs/p/hostile", NULL, &r);
    assert_null(strstr(r.body.data, "This log is stale!"));
    release(&r);
    assert_int_equal(store_begin(f->store, &tx), 0);
    assert_int_equal(store_triage_log_put(tx, "p/hostile", last - 300 * NS_PER_SEC,
                                          "[000 ms] Starting\n"), 0);
    assert_int_equal(store_commit(tx), 0);
    manual_clock_advance(&f->clock, 2 * NS_PER_SEC);
    page_ok(f, "/jobs/p/hostile", NULL,
            (const char *const[]){"This log is stale! The log is 5 minutes older than the "
                                  "expected.", NULL});
}

/* Where needle is in the body, failing when absent. */
static size_t pos_of(const struct reply *r, const char *needle)
{
    const char *at = strstr(r->body.data, needle);

    if (!at)
        fail_msg("missing [%s] in:\n%s", needle, r->body.data);
    return (size_t)(at - r->body.data);
}

/*
 * Spec 7.3: the project page lists the caller's visible jobs by name
 * (streamed: two walks of the jobs, regular then triggering); a project
 * with none says so instead of an empty table.
 */
static void test_project_page(void **state)
{
    struct fixture *f = *state;
    const char *const names[] = {">hostile<", ">hourly<", ">mixed<", ">newest<"};
    struct reply r;
    size_t last = 0;

    get(f, "/jobs/p", NULL, &r);
    assert_int_equal(r.status, 200);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t at = pos_of(&r, names[i]);
        assert_true(at > last);
        last = at;
    }
    assert_null(strstr(r.body.data, ">hidden<")); /* realm "private": not for anonymous */
    release(&r);
    get(f, "/jobs/nosuch", NULL, &r);
    assert_int_equal(r.status, 200);
    expect_has(&r, "/jobs/nosuch", "No jobs in this project or no READER permission to view them.");
    assert_null(strstr(r.body.data, "<table id=\"jobs\""));
    release(&r);
}

/* Spec 7.4: the first page lists the active invocations, a separator, then finished ones. */
static void test_active_first(void **state)
{
    struct fixture *f = *state;
    char active[64], aborted[64];
    struct reply r;

    snprintf(active, sizeof(active), ">%" PRId64 "</a>", f->active_id);
    snprintf(aborted, sizeof(aborted), ">%" PRId64 "</a>", f->aborted_id);
    assert_true(f->aborted_id != f->active_id);
    get(f, "/jobs/p/mixed", NULL, &r);
    assert_int_equal(r.status, 200);
    /* The newer (aborted) invocation comes after the older active one and the separator. */
    assert_true(pos_of(&r, active) < pos_of(&r, "<tr class=\"sep\">"));
    assert_true(pos_of(&r, "<tr class=\"sep\">") < pos_of(&r, aborted));
    assert_true(pos_of(&r, "<table id=\"invocations\" data-active=\"1\"") > 0);
    pos_of(&r, LIVE_SCRIPT);
    pos_of(&r, "RUNNING");
    release(&r);
    /* A job without active invocations: no separator, not live. */
    get(f, "/jobs/p/hostile", NULL, &r);
    assert_null(strstr(r.body.data, "<tr class=\"sep\">"));
    assert_null(strstr(r.body.data, "data-active"));
    assert_null(strstr(r.body.data, "live.js"));
    release(&r);
}

static json_t *get_json(struct fixture *f, const char *path)
{
    struct reply r;
    json_t *v;

    get(f, path, NULL, &r);
    if (r.status != 200)
        fail_msg("%s: HTTP %ld", path, r.status);
    assert_true(has_ci(r.headers.data, "Content-Type: application/json"));
    expect_safe_headers(&r, path);
    v = json_loads(r.body.data, 0, NULL);
    if (!v)
        fail_msg("%s: not JSON: %s", path, r.body.data);
    release(&r);
    return v;
}

/* The live endpoints: the invocation's JSON view (log after an offset) and the table fragment. */
static void test_live(void **state)
{
    struct fixture *f = *state;
    struct engine_invocation inv = {0};
    char path[160];
    json_t *v;
    struct reply r;
    size_t len;

    assert_int_equal(engine_get_invocation(f->e, "p/mixed", f->active_id, &inv), 0);
    len = strlen(inv.debug_log);
    assert_true(len > 0);
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64 "?view=json&after=0", f->active_id);
    v = get_json(f, path);
    assert_false(json_is_true(json_object_get(v, "final")));
    assert_string_equal(json_string_value(json_object_get(v, "status")), "RUNNING");
    /* spec 7.4: RUNNING is label-info */
    assert_string_equal(json_string_value(json_object_get(v, "statusClass")), "label label-info");
    assert_int_equal(json_integer_value(json_object_get(v, "offset")), len);
    assert_string_equal(json_string_value(json_object_get(v, "log")), inv.debug_log);
    assert_false(json_is_true(json_object_get(v, "reset")));
    json_decref(v);
    /* Nothing new after the end; a bad offset sends the whole log again. */
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64 "?view=json&after=%zu", f->active_id,
             len);
    v = get_json(f, path);
    assert_string_equal(json_string_value(json_object_get(v, "log")), "");
    json_decref(v);
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64 "?view=json&after=%zu", f->active_id,
             len + 1);
    v = get_json(f, path);
    assert_true(json_is_true(json_object_get(v, "reset")));
    assert_string_equal(json_string_value(json_object_get(v, "log")), inv.debug_log);
    json_decref(v);
    /* The aborted one is final: ABORTED, label-danger (spec 7.4). */
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64 "?view=json", f->aborted_id);
    v = get_json(f, path);
    assert_true(json_is_true(json_object_get(v, "final")));
    assert_string_equal(json_string_value(json_object_get(v, "status")), "ABORTED");
    assert_string_equal(json_string_value(json_object_get(v, "statusClass")),
                        "label label-danger");
    json_decref(v);
    /* The page of the running invocation polls from the log's end; a final one does not. */
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64, f->active_id);
    get(f, path, NULL, &r);
    snprintf(path, sizeof(path), "<pre id=\"debug-log\" data-offset=\"%zu\">", len);
    pos_of(&r, path);
    pos_of(&r, LIVE_SCRIPT);
    expect_no_raw(&r, path);
    release(&r);
    snprintf(path, sizeof(path), "/jobs/p/hostile/%" PRId64, f->inv_id);
    get(f, path, NULL, &r);
    assert_null(strstr(r.body.data, "data-offset"));
    assert_null(strstr(r.body.data, "live.js"));
    release(&r);
    /* The fragment is the job's state and the table, no page around them. */
    get(f, "/jobs/p/mixed?fragment=invocations", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(pos_of(&r, "<div id=\"state\"><span class=\"label"), 0);
    assert_true(pos_of(&r, "RUNNING</span></div>") <
                pos_of(&r, "<table id=\"invocations\" data-active=\"1\">"));
    assert_null(strstr(r.body.data, "<html"));
    release(&r);
    get(f, "/static/live.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_ci(r.headers.data, "Content-Type: text/javascript"));
    release(&r);
    engine_invocation_release(&inv);
}

/* "tock why": each trigger shows what became of it. */
static void test_fates(void **state)
{
    struct fixture *f = *state;
    char path[128], link[160];
    const char *const job[] = {
        "Recent trigger fates",
        /* the trigger that reached the paused job, escaped */
        "late &lt;commit&gt; &amp; &quot;x&quot;",
        "label-warning\">DROPPED_PAUSED</span>",
        NULL};
    const char *const inv[] = {"label-success\">CONSUMED</span>", link, NULL};

    page_ok(f, "/jobs/p/hostile", NULL, job);
    snprintf(path, sizeof(path), "/jobs/p/hostile/%" PRId64, f->inv_id);
    snprintf(link, sizeof(link), "href=\"/jobs/p/hostile/%" PRId64 "\">invocation %" PRId64
             "</a>", f->inv_id, f->inv_id);
    page_ok(f, path, NULL, inv);
    snprintf(path, sizeof(path), "/jobs/p/mixed/%" PRId64, f->active_id);
    snprintf(link, sizeof(link), "href=\"/jobs/p/mixed/%" PRId64 "\">invocation %" PRId64
             "</a>", f->active_id, f->active_id);
    page_ok(f, path, NULL, inv);
}

/*
 * A well-formedness check of an XML fragment: every tag closed in order,
 * attribute values double-quoted, no raw '<' or '&' in text or values
 * other than entities.  Returns NULL or what is wrong.
 */
static const char *xml_check(const char *s, size_t n)
{
    char stack[32][16];
    int depth = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '&') {
            size_t k = i + 1;
            while (k < n && k < i + 10 && ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '#' ||
                                           (s[k] >= '0' && s[k] <= '9')))
                k++;
            if (k >= n || s[k] != ';' || k == i + 1)
                return "raw &";
            continue;
        }
        if (s[i] != '<')
            continue;
        bool close = s[i + 1] == '/';
        size_t k = i + (close ? 2 : 1), len = 0;
        char name[16];
        while (k < n && s[k] != ' ' && s[k] != '>' && len < sizeof(name) - 1)
            name[len++] = s[k++];
        name[len] = '\0';
        if (len == 0)
            return "empty tag";
        for (bool quoted = false; k < n && (quoted || s[k] != '>'); k++) {
            if (s[k] == '"')
                quoted = !quoted;
            else if (s[k] == '<')
                return "raw < in a tag";
            else if (!quoted && s[k] == '=' && s[k + 1] != '"')
                return "unquoted attribute";
        }
        if (k >= n)
            return "unterminated tag";
        if (close) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                return "mismatched close tag";
            depth--;
        } else if (s[k - 1] != '/') {
            if (depth == 32)
                return "too deep";
            snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
        }
        i = k;
    }
    return depth == 0 ? NULL : "unclosed tag";
}

/* The pictures: the timeline SVG and the next fire times of a cron schedule. */
static void test_pictures(void **state)
{
    struct fixture *f = *state;
    char title[96];
    const char *svg, *end, *bad, *at;
    size_t rects = 0;
    struct reply r;
    /* "0 * * * *" after T0 (setup runs a few minutes past it): the next five hours (spec 2). */
    const char *const hourly[] = {
        "<h3>Next runs</h3>", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z",
        "2026-01-01T03:00:00Z", "2026-01-01T04:00:00Z", "2026-01-01T05:00:00Z", NULL};

    get(f, "/jobs/p/mixed", NULL, &r);
    svg = strstr(r.body.data, "<svg class=\"timeline\"");
    end = svg ? strstr(svg, "</svg>") : NULL;
    if (!svg || !end)
        fail_msg("no timeline in:\n%s", r.body.data);
    end += strlen("</svg>");
    bad = xml_check(svg, (size_t)(end - svg));
    if (bad)
        fail_msg("timeline not well-formed (%s): %.*s", bad, (int)(end - svg), svg);
    for (at = svg; (at = strstr(at, "<rect")) && at < end; at++)
        rects++;
    assert_int_equal(rects, 2); /* p/mixed has two invocations */
    snprintf(title, sizeof(title), "<title>%" PRId64 " RUNNING (", f->active_id);
    assert_non_null(strstr(svg, title));
    snprintf(title, sizeof(title), "<title>%" PRId64 " ABORTED (", f->aborted_id);
    assert_non_null(strstr(svg, title));
    assert_null(strstr(r.body.data, "Next runs")); /* a triggered job has none */
    release(&r);
    page_ok(f, "/jobs/p/hourly", NULL, hourly);
    /*
     * The index sparkline counts the invocations of the caller's visible
     * jobs in the last 24 h: hostile 1 + mixed 2 for anonymous, and the
     * private job's one more for its reader; all in the newest hour.
     */
    get(f, "/", NULL, &r);
    svg = strstr(r.body.data, "<svg class=\"sparkline\"");
    assert_non_null(svg);
    end = strstr(svg, "</svg>") + strlen("</svg>");
    assert_null(xml_check(svg, (size_t)(end - svg)));
    assert_non_null(strstr(svg, "<title>3 invocations in the last 24 h</title>"));
    assert_non_null(strstr(svg, "<rect x=\"92\" y=\"0\" width=\"3\" height=\"20\">"));
    release(&r);
    get(f, "/", "tok-one", &r);
    assert_non_null(strstr(r.body.data, "<title>4 invocations in the last 24 h</title>"));
    release(&r);
    /* The xml checker itself finds what it must. */
    static const char *const broken[] = {"<a><b></a></b>", "<a x=1></a>", "<a>&</a>", "<a>"};
    for (size_t i = 0; i < ARRAY_SIZE(broken); i++)
        assert_non_null(xml_check(broken[i], strlen(broken[i])));
    assert_null(xml_check("<a x=\"1\"><b/>&amp;</a>", strlen("<a x=\"1\"><b/>&amp;</a>")));
}

/* --config-view-url: the revision links to the template with {rev} and {path} encoded. */
static void test_config_view_url(void **state)
{
    struct fixture *f = *state;
    struct http_server_options ho = {.host = "127.0.0.1"};
    struct web_options wo = {.clock = &f->clock.base};
    struct http_server *http = NULL;
    char base[64], path[128];
    /* rev<1> percent-encoded in the URL, the URL's & escaped in the attribute */
    const char *link = "Definition (rev <a href=\"https://git.example.com/cfg/+/rev%3C1%3E/"
                       "p/luci-scheduler.cfg?a=1&amp;b=2\" rel=\"noopener noreferrer\" "
                       "target=\"_blank\">rev&lt;1&gt;</a>)";
    const char *const needles[] = {link, NULL};

    wo.version = "v";
    assert_int_equal(http_server_new(&ho, &http), 0);
    /* Not http(s): refused. */
    wo.config_view_url = "javascript:alert(1)//{rev}";
    assert_int_equal(web_register(http, f->e, f->a, &wo), -EINVAL);
    wo.config_view_url = "https://git.example.com/cfg/+/{rev}/{path}?a=1&b=2";
    assert_int_equal(web_register(http, f->e, f->a, &wo), 0);
    assert_int_equal(http_server_start(http), 0);
    snprintf(base, sizeof(base), "%s", f->base);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(http));
    page_ok(f, "/jobs/p/hostile", NULL, needles);
    snprintf(path, sizeof(path), "/jobs/p/hostile/%" PRId64, f->inv_id);
    page_ok(f, path, NULL, needles);
    snprintf(f->base, sizeof(f->base), "%s", base);
    http_server_free(http);
}

static void apply_other(struct fixture *f, const char *project, const char *text)
{
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    char err[256] = "";

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(text, strlen(text), &cfg, &d), 0);
    assert_int_equal(engine_apply_project(f->e, project, cfg, NULL, "r", ""), 0);
    if (auth_set_project(f->a, project, cfg, realms, strlen(realms), err, sizeof(err)) != 0)
        fail_msg("auth_set_project: %s", err);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
}

/*
 * Spec 7.2: one row per project with visible jobs, in project order, each
 * with its own counts; the index writes a row as the walk (chunks of 2
 * jobs here) leaves its project.  Runs last: it adds projects.
 */
static void test_index_projects(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    const char *o, *p, *q;

    apply_other(f, "o", "job { id: \"w1\" realm: \"public\" schedule: \"triggered\" noop {} }\n"
                        "job { id: \"w2\" realm: \"public\" schedule: \"triggered\" noop {} }\n"
                        "job { id: \"w3\" realm: \"public\" schedule: \"triggered\" noop {} }\n"
                        "job { id: \"x\" realm: \"private\" schedule: \"triggered\" noop {} }\n");
    apply_other(f, "q", "job { id: \"s\" realm: \"public\" schedule: \"0 * * * *\" noop {} }\n");
    apply_other(f, "z", "job { id: \"h\" realm: \"private\" schedule: \"triggered\" noop {} }\n");
    get(f, "/", NULL, &r);
    assert_int_equal(r.status, 200);
    o = strstr(r.body.data, "<a href=\"/jobs/o\">o</a>");
    p = strstr(r.body.data, "<a href=\"/jobs/p\">p</a>");
    q = strstr(r.body.data, "<a href=\"/jobs/q\">q</a>");
    assert_non_null(o);
    assert_non_null(p);
    assert_non_null(q);
    assert_true(o < p && p < q);
    /* o: three visible waiting jobs (x is private); q: one scheduled. */
    assert_non_null(strstr(o, "href=\"/jobs/o?filter=waiting\">3 JOBS</a>"));
    assert_non_null(strstr(o, "href=\"/jobs/o?filter=scheduled\">NONE</a>"));
    assert_non_null(strstr(q, "href=\"/jobs/q?filter=scheduled\">1 JOB</a>"));
    assert_non_null(strstr(q, "href=\"/jobs/q?filter=waiting\">NONE</a>"));
    assert_null(strstr(r.body.data, "href=\"/jobs/z\"")); /* nothing visible */
    release(&r);
    /* The reader of the private realm sees x and z too. */
    get(f, "/", "tok-one", &r);
    assert_int_equal(r.status, 200);
    o = strstr(r.body.data, "<a href=\"/jobs/o\">o</a>");
    assert_non_null(o);
    assert_non_null(strstr(o, "href=\"/jobs/o?filter=waiting\">4 JOBS</a>"));
    assert_non_null(strstr(r.body.data, "<a href=\"/jobs/z\">z</a>"));
    release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_escaped),
        cmocka_unit_test(test_error_pages),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_definition),
        cmocka_unit_test(test_triage_stale),
        cmocka_unit_test(test_project_page),
        cmocka_unit_test(test_active_first),
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_fates),
        cmocka_unit_test(test_pictures),
        cmocka_unit_test(test_config_view_url),
        cmocka_unit_test(test_index_projects),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int r = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return r;
}
