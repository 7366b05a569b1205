/*
 * test-web-actions.c - the web UI's actions and sign-in over a real engine
 * (temporary SQLite store, manual clock) and real HTTP servers on
 * 127.0.0.1, driven with libcurl.
 *
 * Expected values come from the spec: the action routes and the form
 * field xsrf_token (luci-scheduler-spec.md 5.5, 7.1), the error messages
 * of 7.6 (403 "No permission to execute the attempted action.", 409
 * "Cannot trigger a paused job. Resume it first.", 404 "No such job or no
 * permission to view it."), the permissions of the roles (spec 6: a
 * reader may not pause), and the brief's cookie attributes.
 *
 * Two servers share the engine: "trusted" trusts X-Forwarded-Email from
 * 127.0.0.1/32 (the test's own address), "untrusted" only from 10.0.0.0/8.
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
#include "web/web-internal.h" /* form_get, the session table */

#define T0 "2026-01-01T00:00:00Z"

static const char cfg_text[] =
    "job { id: \"j\" realm: \"ci\" schedule: \"triggered\" noop { sleep_ms: 3600000 } }\n"
    "job { id: \"secret\" realm: \"private\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n";

static const char realms[] =
    "realms { name: \"ci\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"anonymous:anonymous\"\n"
    "             principals: \"user:r@example.com\" }\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:o@example.com\" } }\n"
    "realms { name: \"private\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:o@example.com\" } }\n";

static const char tokens[] = "tok-owner user:o@example.com\ntok-reader user:r@example.com\n";

struct fixture {
    char dir[64];
    struct manual_clock clock;
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
    struct auth *a;
    struct http_server *trusted, *untrusted;
    char base[64], base_untrusted[64];
    uint64_t rnd;
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
    assert_int_equal(engine_apply_project(f->e, "p", cfg, NULL, "rev1", ""), 0);
    if (auth_set_project(f->a, "p", cfg, realms, strlen(realms), err, sizeof(err)) != 0)
        fail_msg("auth_set_project: %s", err);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
}

static void serve(struct fixture *f, const char *cidr, struct http_server **ret, char *base)
{
    struct http_server_options ho = {.host = "127.0.0.1"};
    struct web_options wo = {.clock = &f->clock.base, .version = "test",
                             .trust_proxy_header = "X-Forwarded-Email", .trusted_proxy = cidr};

    assert_int_equal(http_server_new(&ho, ret), 0);
    assert_int_equal(web_register(*ret, f->e, f->a, &wo), 0);
    assert_int_equal(http_server_start(*ret), 0);
    snprintf(base, 64, "http://127.0.0.1:%u", http_server_port(*ret));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[128], err[256] = "";
    int64_t t0;
    struct task_options topts = {.noop_default_sleep_ns = NS_PER_MS};

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-webact-XXXXXX");
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
    };
    assert_int_equal(engine_new(&eo, &f->e), 0);
    f->a = auth_new();
    assert_int_equal(auth_load_tokens(f->a, tokens, strlen(tokens), err, sizeof(err)), 0);
    apply(f);
    serve(f, "127.0.0.1/32", &f->trusted, f->base);
    serve(f, "10.0.0.0/8", &f->untrusted, f->base_untrusted);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const files[] = {"tock.db", "tock.db-wal", "tock.db-shm"};
    char path[128];

    f->trusted = http_server_free(f->trusted);
    f->untrusted = http_server_free(f->untrusted);
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

/*
 * One request to base + path: body NULL = GET, else a form POST; cookie
 * ("tock_session=..."), and extra headers (NULL-terminated, may be NULL).
 */
static void request(const char *base, const char *path, const char *cookie, const char *body,
                    const char *const *extra, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], line[512];

    assert_non_null(c);
    buf_init(&r->body, 4u << 20);
    buf_init(&r->headers, 1u << 20);
    snprintf(url, sizeof(url), "%s%s", base, path);
    if (cookie) {
        snprintf(line, sizeof(line), "Cookie: %s", cookie);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    assert_int_equal(buf_append(&r->body, "", 1), 0);
    assert_int_equal(buf_append(&r->headers, "", 1), 0);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void release(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

/* The value of response header name (case-insensitive) into out; false if absent. */
static bool header(const struct reply *r, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);

    for (const char *l = r->headers.data; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            size_t len;

            while (*v == ' ')
                v++;
            len = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

static void expect_status(const struct reply *r, const char *what, long status)
{
    if (r->status != status)
        fail_msg("%s: HTTP %ld, want %ld:\n%s", what, r->status, status, r->body.data);
}

static void expect_has(const struct reply *r, const char *what, const char *needle)
{
    if (!strstr(r->body.data, needle))
        fail_msg("%s: missing [%s] in:\n%s", what, needle, r->body.data);
}

/* Signs in with token: the cookie pair "tock_session=<id>" in out. */
static void login(struct fixture *f, const char *token, char *out, size_t outlen)
{
    struct reply r;
    char body[128], set[512];

    snprintf(body, sizeof(body), "token=%s", token);
    request(f->base, "/login", NULL, body, NULL, &r);
    expect_status(&r, "POST /login", 302);
    assert_true(header(&r, "Set-Cookie", set, sizeof(set)));
    snprintf(out, outlen, "%.*s", (int)strcspn(set, ";"), set);
    assert_int_equal(strncmp(out, "tock_session=", 13), 0);
    release(&r);
}

/* The first xsrf_token value on page path as seen with cookie. */
static void csrf_token(struct fixture *f, const char *path, const char *cookie, char *out,
                       size_t outlen)
{
    static const char key[] = "name=\"xsrf_token\" value=\"";
    struct reply r;
    const char *v;

    request(f->base, path, cookie, NULL, NULL, &r);
    expect_status(&r, path, 200);
    v = strstr(r.body.data, key);
    if (!v)
        fail_msg("%s: no xsrf_token field in:\n%s", path, r.body.data);
    v += sizeof(key) - 1;
    snprintf(out, outlen, "%.*s", (int)strcspn(v, "\""), v);
    release(&r);
}

/* The <form ...> of action (up to its </form>) on the body; fails if absent. */
static void action_form(const struct reply *r, const char *action, char *out, size_t outlen)
{
    char needle[128];
    const char *start, *end;

    snprintf(needle, sizeof(needle), "action=\"/actions/%s/", action);
    start = strstr(r->body.data, needle);
    if (!start)
        fail_msg("no form posting to /actions/%s in:\n%s", action, r->body.data);
    while (start > r->body.data && strncmp(start, "<form", 5) != 0)
        start--;
    end = strstr(start, "</form>");
    assert_non_null(end);
    snprintf(out, outlen, "%.*s", (int)(end - start), start);
}

static bool form_disabled(const char *form)
{
    const char *b = strstr(form, "<button");
    const char *close = b ? strchr(b, '>') : NULL;

    assert_non_null(close);
    for (const char *q = b; q < close; q++)
        if (strncmp(q, " disabled", 9) == 0)
            return true;
    return false;
}

static void post_action(struct fixture *f, const char *path, const char *cookie, const char *body,
                        struct reply *r)
{
    request(f->base, path, cookie, body, NULL, r);
}

static void get_job(struct fixture *f, struct engine_job *j)
{
    assert_int_equal(engine_get_job(f->e, "p/j", j), 0);
}

/* Runs the engine (manual clock, +1 s a round) until job p/j has an active invocation. */
static int64_t wait_active_invocation(struct fixture *f)
{
    for (int i = 0; i < 60; i++) {
        struct engine_invocation *v = NULL;
        size_t n = 0;
        char *next = NULL;
        int64_t id = 0;

        assert_true(engine_run_due(f->e, 0) >= 0);
        assert_int_equal(engine_list_invocations(f->e, "p/j", NULL, 10, &v, &n, &next), 0);
        free(next);
        for (size_t k = 0; k < n; k++)
            if (!v[k].final)
                id = v[k].id;
        engine_invocations_free(v, n);
        if (id)
            return id;
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
    fail_msg("no running invocation of p/j");
    return 0;
}

/* ---- tests ---- */

/* A reader sees the buttons disabled and gets 403 on POST (spec 6, 7.1, 7.6). */
static void test_reader_disabled_403(void **state)
{
    static const char *const acts[] = {"pauseJob", "abortJob", "triggerJob"};
    struct fixture *f = *state;
    char cookie[128], token[128], form[2048], body[256];
    struct reply r;
    struct engine_job j;

    login(f, "tok-reader", cookie, sizeof(cookie));
    request(f->base, "/jobs/p/j", cookie, NULL, NULL, &r);
    expect_status(&r, "reader job page", 200);
    for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
        action_form(&r, acts[i], form, sizeof(form));
        if (!form_disabled(form))
            fail_msg("reader: %s enabled: %s", acts[i], form);
    }
    release(&r);
    csrf_token(f, "/jobs/p/j", cookie, token, sizeof(token));
    for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
        char path[128];

        snprintf(path, sizeof(path), "/actions/%s/p/j", acts[i]);
        snprintf(body, sizeof(body), "xsrf_token=%s&reason=x", token);
        post_action(f, path, cookie, body, &r);
        expect_status(&r, path, 403);
        expect_has(&r, path, "No permission to execute the attempted action.");
        release(&r);
    }
    get_job(f, &j);
    assert_false(j.paused);

    /* The owner sees them enabled. */
    login(f, "tok-owner", cookie, sizeof(cookie));
    request(f->base, "/jobs/p/j", cookie, NULL, NULL, &r);
    for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
        action_form(&r, acts[i], form, sizeof(form));
        if (form_disabled(form))
            fail_msg("owner: %s disabled: %s", acts[i], form);
    }
    release(&r);
}

/* Anonymous callers of a private project get 404, for pages and actions alike. */
static void test_anonymous_private_404(void **state)
{
    struct fixture *f = *state;
    char token[128], body[256];
    struct reply r;

    request(f->base, "/jobs/p/secret", NULL, NULL, NULL, &r);
    expect_status(&r, "anonymous secret page", 404);
    expect_has(&r, "anonymous secret page", "No such job or no permission to view it.");
    expect_has(&r, "anonymous secret page", "You may need to login first.");
    expect_has(&r, "anonymous secret page", "href=\"/login\"");
    release(&r);
    csrf_token(f, "/jobs/p/j", NULL, token, sizeof(token)); /* anonymous's own token */
    snprintf(body, sizeof(body), "xsrf_token=%s&reason=x", token);
    post_action(f, "/actions/pauseJob/p/secret", NULL, body, &r);
    expect_status(&r, "anonymous pause secret", 404);
    expect_has(&r, "anonymous pause secret", "No such job or no permission to view it.");
    release(&r);
    /* anonymous may read p/j but not pause it */
    post_action(f, "/actions/pauseJob/p/j", NULL, body, &r);
    expect_status(&r, "anonymous pause j", 403);
    release(&r);
}

/* No token, a wrong one, another session's one: 403 and nothing happens. */
static void test_csrf(void **state)
{
    struct fixture *f = *state;
    char owner[128], reader[128], reader_token[128], owner_token[128], body[256];
    const char *bodies[3];
    struct reply r;
    struct engine_job j;

    login(f, "tok-owner", owner, sizeof(owner));
    login(f, "tok-reader", reader, sizeof(reader));
    csrf_token(f, "/jobs/p/j", reader, reader_token, sizeof(reader_token));
    csrf_token(f, "/jobs/p/j", owner, owner_token, sizeof(owner_token));
    assert_string_not_equal(reader_token, owner_token);
    snprintf(body, sizeof(body), "reason=x&xsrf_token=%s", reader_token);
    bodies[0] = "reason=x";
    bodies[1] = "reason=x&xsrf_token=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    bodies[2] = body;
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        post_action(f, "/actions/pauseJob/p/j", owner, bodies[i], &r);
        expect_status(&r, bodies[i], 403);
        release(&r);
    }
    get_job(f, &j);
    assert_false(j.paused);
    /* a bearer-token caller's token is bound to its identity, not to a session */
    snprintf(body, sizeof(body), "xsrf_token=%s", owner_token);
    {
        const char *const auth[] = {"Authorization: Bearer tok-owner", NULL};
        request(f->base, "/actions/pauseJob/p/j", NULL, body, auth, &r);
        expect_status(&r, "bearer with a session's token", 403);
        release(&r);
    }
    /* logout needs the token too */
    post_action(f, "/logout", owner, "xsrf_token=nope", &r);
    expect_status(&r, "logout without token", 403);
    release(&r);
}

/* A cross-site Origin or Sec-Fetch-Site is 403 even with the right token. */
static void test_cross_site(void **state)
{
    struct fixture *f = *state;
    char cookie[128], token[128], body[256], origin[128], host[128];
    const char *const evil_origin[] = {"Origin: http://evil.example", NULL};
    const char *const null_origin[] = {"Origin: null", NULL};
    const char *const cross[] = {"Sec-Fetch-Site: cross-site", NULL};
    const char *const same_site[] = {"Sec-Fetch-Site: same-site", NULL};
    const char *const *bad[] = {evil_origin, null_origin, cross, same_site};
    struct reply r;
    struct engine_job j;

    login(f, "tok-owner", cookie, sizeof(cookie));
    csrf_token(f, "/jobs/p/j", cookie, token, sizeof(token));
    snprintf(body, sizeof(body), "xsrf_token=%s&reason=cross", token);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        request(f->base, "/actions/pauseJob/p/j", cookie, body, bad[i], &r);
        expect_status(&r, bad[i][0], 403);
        release(&r);
    }
    get_job(f, &j);
    assert_false(j.paused);
    /* a login from another site is refused too */
    request(f->base, "/login", NULL, "token=tok-owner", evil_origin, &r);
    expect_status(&r, "cross-site login", 403);
    assert_false(header(&r, "Set-Cookie", host, sizeof(host)));
    release(&r);
    /* the same origin passes */
    snprintf(origin, sizeof(origin), "Origin: %s", f->base);
    snprintf(host, sizeof(host), "Sec-Fetch-Site: same-origin");
    const char *const same[] = {origin, host, NULL};
    request(f->base, "/actions/pauseJob/p/j", cookie, body, same, &r);
    expect_status(&r, "same-origin pause", 302);
    release(&r);
    get_job(f, &j);
    assert_true(j.paused);
    assert_int_equal(engine_resume_job(f->e, "p/j", "user:o@example.com", ""), 0);
}

/*
 * Pause with a reason (recorded by the engine and shown, escaped, on the
 * page), Trigger on a paused job (409), Resume: 302 back to the page.
 */
static void test_pause_resume(void **state)
{
    struct fixture *f = *state;
    char cookie[128], token[128], body[512], loc[256], form[2048];
    struct reply r;
    struct engine_job j;

    login(f, "tok-owner", cookie, sizeof(cookie));
    csrf_token(f, "/jobs/p/j", cookie, token, sizeof(token));
    snprintf(body, sizeof(body), "xsrf_token=%s&reason=%%3Cb%%3Efreeze%%3C%%2Fb%%3E+%%26+deploy",
             token);
    post_action(f, "/actions/pauseJob/p/j", cookie, body, &r);
    expect_status(&r, "pause", 302);
    assert_true(header(&r, "Location", loc, sizeof(loc)));
    assert_string_equal(loc, "/jobs/p/j");
    release(&r);
    get_job(f, &j);
    assert_true(j.paused);
    assert_string_equal(j.paused_or_resumed_reason, "<b>freeze</b> & deploy");
    assert_string_equal(j.paused_or_resumed_by, "user:o@example.com");
    request(f->base, "/jobs/p/j", cookie, NULL, NULL, &r);
    expect_has(&r, "paused page", "Paused by o@example.com");
    expect_has(&r, "paused page", "&lt;b&gt;freeze&lt;/b&gt; &amp; deploy");
    action_form(&r, "resumeJob", form, sizeof(form));
    assert_false(form_disabled(form));
    release(&r);

    snprintf(body, sizeof(body), "xsrf_token=%s", token);
    post_action(f, "/actions/triggerJob/p/j", cookie, body, &r);
    expect_status(&r, "trigger paused", 409);
    expect_has(&r, "trigger paused", "Cannot trigger a paused job. Resume it first.");
    release(&r);

    post_action(f, "/actions/resumeJob/p/j", cookie, body, &r);
    expect_status(&r, "resume", 302);
    release(&r);
    get_job(f, &j);
    assert_false(j.paused);

}

/* Trigger (the invocation's triggeredBy is the caller), Abort invocation, Abort job. */
static void test_trigger_abort(void **state)
{
    struct fixture *f = *state;
    char cookie[128], token[128], body[512], loc[256], path[128], form[2048];
    struct reply r;
    struct engine_invocation inv = {0};
    int64_t id;

    login(f, "tok-owner", cookie, sizeof(cookie));
    csrf_token(f, "/jobs/p/j", cookie, token, sizeof(token));
    snprintf(body, sizeof(body), "xsrf_token=%s", token);
    post_action(f, "/actions/triggerJob/p/j", cookie, body, &r);
    expect_status(&r, "trigger", 302);
    release(&r);
    id = wait_active_invocation(f);
    assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
    assert_string_equal(inv.triggered_by, "user:o@example.com");
    engine_invocation_release(&inv);

    snprintf(path, sizeof(path), "/jobs/p/j/%" PRId64, id);
    request(f->base, path, cookie, NULL, NULL, &r);
    action_form(&r, "abortInvocation", form, sizeof(form));
    assert_false(form_disabled(form));
    release(&r);
    snprintf(path, sizeof(path), "/actions/abortInvocation/p/j/%" PRId64, id);
    post_action(f, path, cookie, body, &r);
    expect_status(&r, "abort invocation", 302);
    assert_true(header(&r, "Location", loc, sizeof(loc)));
    snprintf(path, sizeof(path), "/jobs/p/j/%" PRId64, id);
    assert_string_equal(loc, path);
    release(&r);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
        bool done = inv.final;
        if (done)
            assert_string_equal(inv.status_name, "ABORTED");
        engine_invocation_release(&inv);
        if (done)
            break;
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
    assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
    assert_true(inv.final);
    engine_invocation_release(&inv);
    /* the invocation page's Abort is now disabled; posting it anyway is LUCI's no-op */
    request(f->base, path, cookie, NULL, NULL, &r);
    action_form(&r, "abortInvocation", form, sizeof(form));
    assert_true(form_disabled(form));
    release(&r);
    snprintf(path, sizeof(path), "/actions/abortInvocation/p/j/%" PRId64, id);
    post_action(f, path, cookie, body, &r);
    expect_status(&r, "abort a finished invocation", 302);
    release(&r);
    assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
    assert_true(inv.final);
    assert_string_equal(inv.status_name, "ABORTED"); /* as it was: nothing changed */
    engine_invocation_release(&inv);
    post_action(f, "/actions/abortInvocation/p/j/x1", cookie, body, &r);
    expect_status(&r, "abort a malformed id", 400);
    expect_has(&r, "abort a malformed id", "Malformed invocation ID.");
    release(&r);
    post_action(f, "/actions/abortInvocation/p/j/999", cookie, body, &r);
    expect_status(&r, "abort a missing invocation", 404);
    expect_has(&r, "abort a missing invocation", "The requested invocation is not found.");
    release(&r);

    /* Abort job: every active invocation */
    post_action(f, "/actions/triggerJob/p/j", cookie, body, &r);
    expect_status(&r, "trigger again", 302);
    release(&r);
    id = wait_active_invocation(f);
    post_action(f, "/actions/abortJob/p/j", cookie, body, &r);
    expect_status(&r, "abort job", 302);
    release(&r);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
        bool done = inv.final;
        engine_invocation_release(&inv);
        if (done)
            break;
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
    assert_int_equal(engine_get_invocation(f->e, "p/j", id, &inv), 0);
    assert_string_equal(inv.status_name, "ABORTED");
    engine_invocation_release(&inv);
}

/* Bad requests to the action routes. */
static void test_bad_posts(void **state)
{
    struct fixture *f = *state;
    char cookie[128], token[128], body[WEB_FORM_BYTES + 256];
    struct reply r;

    login(f, "tok-owner", cookie, sizeof(cookie));
    csrf_token(f, "/jobs/p/j", cookie, token, sizeof(token));
    request(f->base, "/actions/pauseJob/p/j", cookie, NULL, NULL, &r);
    expect_status(&r, "GET an action", 405);
    release(&r);
    snprintf(body, sizeof(body), "xsrf_token=%s", token);
    post_action(f, "/actions/explode/p/j", cookie, body, &r);
    expect_status(&r, "unknown action", 404);
    release(&r);
    post_action(f, "/actions/pauseJob/p/j/1", cookie, body, &r);
    expect_status(&r, "pause with an invocation", 404);
    release(&r);
    snprintf(body, sizeof(body), "xsrf_token=%s&reason=", token);
    memset(body + strlen(body), 'a', WEB_FORM_BYTES);
    body[sizeof(body) - 1] = '\0';
    post_action(f, "/actions/pauseJob/p/j", cookie, body, &r);
    expect_status(&r, "a big form", 413);
    release(&r);
}

/* Login sets the cookie (never the token), a bad token is refused, logout and expiry end it. */
static void test_login_logout(void **state)
{
    struct fixture *f = *state;
    char cookie[128], set[512], token[128], body[256];
    struct reply r;

    request(f->base, "/login", NULL, NULL, NULL, &r);
    expect_status(&r, "GET /login", 200);
    expect_has(&r, "GET /login", "action=\"/login\"");
    expect_has(&r, "GET /login", "name=\"token\"");
    release(&r);
    request(f->base, "/", NULL, NULL, NULL, &r);
    expect_has(&r, "anonymous index", "href=\"/login\"");
    release(&r);

    request(f->base, "/login", NULL, "token=nope", NULL, &r);
    expect_status(&r, "bad token", 401);
    assert_false(header(&r, "Set-Cookie", set, sizeof(set)));
    release(&r);

    request(f->base, "/login", NULL, "token=tok-owner", NULL, &r);
    expect_status(&r, "good token", 302);
    assert_true(header(&r, "Set-Cookie", set, sizeof(set)));
    assert_non_null(strstr(set, "; HttpOnly"));
    assert_non_null(strstr(set, "; SameSite=Strict"));
    assert_non_null(strstr(set, "; Path=/"));
    assert_null(strstr(set, "Secure")); /* plain HTTP from a direct peer */
    assert_null(strstr(set, "tok-owner"));
    snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set, ";"), set);
    release(&r);

    request(f->base, "/jobs/p/secret", cookie, NULL, NULL, &r);
    expect_status(&r, "owner sees secret", 200);
    expect_has(&r, "owner sees secret", "Signed in as");
    expect_has(&r, "owner sees secret", "o@example.com");
    release(&r);

    csrf_token(f, "/", cookie, token, sizeof(token)); /* the Logout form's */
    snprintf(body, sizeof(body), "xsrf_token=%s", token);
    request(f->base, "/logout", cookie, body, NULL, &r);
    expect_status(&r, "logout", 302);
    assert_true(header(&r, "Set-Cookie", set, sizeof(set)));
    assert_non_null(strstr(set, "Max-Age=0"));
    release(&r);
    request(f->base, "/jobs/p/secret", cookie, NULL, NULL, &r);
    expect_status(&r, "after logout", 404);
    release(&r);

    /* a session ends after 12 h */
    login(f, "tok-owner", cookie, sizeof(cookie));
    manual_clock_advance(&f->clock, (int64_t)WEB_SESSION_TTL_SEC * NS_PER_SEC - NS_PER_SEC);
    request(f->base, "/jobs/p/secret", cookie, NULL, NULL, &r);
    expect_status(&r, "just before expiry", 200);
    release(&r);
    manual_clock_advance(&f->clock, 2 * NS_PER_SEC);
    request(f->base, "/jobs/p/secret", cookie, NULL, NULL, &r);
    expect_status(&r, "after expiry", 404);
    release(&r);
}

/* The proxy header is the identity only from the trusted range. */
static void test_proxy_header(void **state)
{
    struct fixture *f = *state;
    const char *const email[] = {"X-Forwarded-Email: o@example.com", NULL};
    const char *const https[] = {"X-Forwarded-Proto: https", NULL};
    const char *const bad[] = {"X-Forwarded-Email: a b@example.com", NULL};
    char set[512];
    struct reply r;

    request(f->base, "/jobs/p/secret", NULL, NULL, email, &r);
    expect_status(&r, "trusted proxy", 200);
    expect_has(&r, "trusted proxy", "o@example.com");
    release(&r);
    request(f->base_untrusted, "/jobs/p/secret", NULL, NULL, email, &r);
    expect_status(&r, "untrusted peer", 404);
    expect_has(&r, "untrusted peer", "You may need to login first.");
    release(&r);
    request(f->base, "/jobs/p/secret", NULL, NULL, bad, &r);
    expect_status(&r, "bad proxy identity", 401);
    release(&r);
    /* behind the TLS-terminating proxy the cookie is Secure */
    request(f->base, "/login", NULL, "token=tok-reader", https, &r);
    expect_status(&r, "login over the proxy", 302);
    assert_true(header(&r, "Set-Cookie", set, sizeof(set)));
    assert_non_null(strstr(set, "; Secure"));
    release(&r);
    request(f->base_untrusted, "/login", NULL, "token=tok-reader", https, &r);
    assert_true(header(&r, "Set-Cookie", set, sizeof(set)));
    assert_null(strstr(set, "Secure"));
    release(&r);
}

/*
 * Behind the proxy the browser's Origin is the proxy's public name, given
 * by the proxy as X-Forwarded-Host; believed from the trusted range only.
 */
static void test_proxy_origin(void **state)
{
    struct fixture *f = *state;
    const char *const proxied[] = {"X-Forwarded-Email: o@example.com",
                                   "Origin: https://sched.example", "X-Forwarded-Host: sched.example",
                                   NULL};
    char token[128], body[256];
    struct reply r;
    struct engine_job j;

    {
        const char *const email[] = {"X-Forwarded-Email: o@example.com", NULL};
        request(f->base, "/jobs/p/j", NULL, NULL, email, &r);
        expect_status(&r, "proxied job page", 200);
        const char *v = strstr(r.body.data, "name=\"xsrf_token\" value=\"");
        assert_non_null(v);
        v += strlen("name=\"xsrf_token\" value=\"");
        snprintf(token, sizeof(token), "%.*s", (int)strcspn(v, "\""), v);
        release(&r);
    }
    snprintf(body, sizeof(body), "xsrf_token=%s&reason=proxied", token);
    request(f->base_untrusted, "/actions/pauseJob/p/j", NULL, body, proxied, &r);
    expect_status(&r, "X-Forwarded-Host from an untrusted peer", 403);
    expect_has(&r, "X-Forwarded-Host from an untrusted peer", "Cross-site request refused.");
    release(&r);
    get_job(f, &j);
    assert_false(j.paused);
    request(f->base, "/actions/pauseJob/p/j", NULL, body, proxied, &r);
    expect_status(&r, "X-Forwarded-Host from the proxy", 302);
    release(&r);
    get_job(f, &j);
    assert_true(j.paused);
    assert_string_equal(j.paused_or_resumed_by, "user:o@example.com");
    assert_string_equal(j.paused_or_resumed_reason, "proxied");
    assert_int_equal(engine_resume_job(f->e, "p/j", "user:o@example.com", ""), 0);
}

/* web_cidr_check: what --trusted-proxy accepts. */
static void test_cidr_check(void **state)
{
    static const char *const good[] = {"127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1/128",
                                       "fd00::/8"};
    static const char *const bad[] = {"", "/8", "10.0.0.0/33", "::1/129", "10.0.0.0/x",
                                      "10.0.0.0/", "host.example", "10.0.0.0/8/8"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (web_cidr_check(good[i]) != 0)
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (web_cidr_check(bad[i]) == 0)
            fail_msg("accepted [%s]", bad[i]);
}

/* application/x-www-form-urlencoded as browsers send it (WHATWG URL, "urlencoded"). */
static void test_form_get(void **state)
{
    static const struct {
        const char *body, *name;
        int r;
        const char *want;
    } cases[] = {
        {"a=1&reason=x+y%26z%3D&b=2", "reason", 0, "x y&z="},
        {"reason=%3cb%3E", "reason", 0, "<b>"},
        {"reasonx=1&reason=2", "reason", 0, "2"},
        {"reason=1&reason=2", "reason", 0, "1"},
        {"reason", "reason", 0, ""},
        {"reason=", "reason", 0, ""},
        {"a=1", "reason", -ENOENT, NULL},
        {"", "reason", -ENOENT, NULL},
        {"reason=%4", "reason", -EINVAL, NULL},
        {"reason=%zz", "reason", -EINVAL, NULL},
        {"reason=a%00b", "reason", -EINVAL, NULL},
        {"reason=0123456789", "reason", -E2BIG, NULL},
    };
    char out[8];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int r = form_get(cases[i].body, cases[i].name, out, sizeof(out));
        if (r != cases[i].r)
            fail_msg("[%s]: %d, want %d", cases[i].body, r, cases[i].r);
        if (r == 0)
            assert_string_equal(out, cases[i].want);
    }
}

/* The table is bounded: past WEB_SESSIONS the session expiring first goes. */
static void test_session_table_bound(void **state)
{
    struct fixture *f = *state;
    struct web w = {.clock = &f->clock.base};
    char first[WEB_SESSION_ID_LEN + 1], second[WEB_SESSION_ID_LEN + 1], id[WEB_SESSION_ID_LEN + 1];
    char who[LIMIT_IDENTITY_LEN + 1];

    assert_int_equal(web_sessions_init(&w), 0);
    assert_int_equal(web_session_create(&w, "user:first@example.com", first), 0);
    manual_clock_advance(&f->clock, NS_PER_SEC);
    assert_int_equal(web_session_create(&w, "user:second@example.com", second), 0);
    for (int i = 0; i < WEB_SESSIONS - 2; i++)
        assert_int_equal(web_session_create(&w, "user:x@example.com", id), 0);
    assert_int_equal(web_session_lookup(&w, first, who), 0);
    assert_string_equal(who, "user:first@example.com");
    assert_int_equal(web_session_create(&w, "user:new@example.com", id), 0); /* one too many */
    assert_int_equal(web_session_lookup(&w, first, who), -ENOENT);
    assert_int_equal(web_session_lookup(&w, second, who), 0);
    assert_string_equal(who, "user:second@example.com");
    assert_int_equal(web_session_lookup(&w, id, who), 0);
    assert_string_equal(who, "user:new@example.com");
    web_session_drop(&w, id);
    assert_int_equal(web_session_lookup(&w, id, who), -ENOENT);
    web_sessions_free(&w);
}

/*
 * POST /login is limited per client address (WEB_LOGIN_RATE a minute,
 * bursts of as many): the attempt past it gets 429 with Retry-After, even
 * with a good token; a minute later sign-in works again.  Last in the
 * group: it spends 127.0.0.1's bucket on f->base.
 */
static void test_login_rate_limited(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    char v[32];
    int refused = 0;

    for (int i = 0; i < 2 * WEB_LOGIN_RATE && !refused; i++) {
        request(f->base, "/login", NULL, "token=nope", NULL, &r);
        if (r.status == 429)
            refused = i + 1;
        else
            expect_status(&r, "bad token", 401);
        release(&r);
    }
    /* Earlier tests signed in a few times from this address in the same minute. */
    assert_true(refused > WEB_LOGIN_RATE / 2 && refused <= WEB_LOGIN_RATE + 1);
    request(f->base, "/login", NULL, "token=tok-owner", NULL, &r);
    expect_status(&r, "good token past the limit", 429);
    expect_has(&r, "429 page", "Too many sign-in attempts from this address");
    assert_true(header(&r, "Retry-After", v, sizeof(v)));
    assert_true(v[0] >= '1' && v[0] <= '9');
    assert_false(header(&r, "Set-Cookie", v, sizeof(v)));
    release(&r);
    manual_clock_advance(&f->clock, 61 * NS_PER_SEC);
    request(f->base, "/login", NULL, "token=tok-owner", NULL, &r);
    expect_status(&r, "a minute later", 302);
    release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_disabled_403),
        cmocka_unit_test(test_anonymous_private_404),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_cross_site),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_trigger_abort),
        cmocka_unit_test(test_bad_posts),
        cmocka_unit_test(test_login_logout),
        cmocka_unit_test(test_proxy_header),
        cmocka_unit_test(test_proxy_origin),
        cmocka_unit_test(test_cidr_check),
        cmocka_unit_test(test_form_get),
        cmocka_unit_test(test_session_table_bound),
        cmocka_unit_test(test_login_rate_limited),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int r = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return r;
}
