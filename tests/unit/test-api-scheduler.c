/*
 * test-api-scheduler.c - the pRPC services end to end: a real engine on a
 * temporary SQLite store, a real HTTP server on 127.0.0.1 port 0, libcurl
 * as the client, tokens/groups/realms loaded into a struct auth.
 *
 * Expected codes and messages are the spec's (luci-scheduler-spec.md
 * 5.2-5.4 and 6); the visibility table reproduces the TestQueries facts of
 * section 6 with realms written for this test.  Time is a manual clock.
 */
#include "base/compat.h"
#include "api/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "auth/auth.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine.h"
#include "net/http.h"
#include "net/prpc.h"
#include "store/store.h"
#include "tasks/registry.h"

#define T0 "2026-01-01T00:00:00Z"

static const char cfg_abc[] =
    "job { id: \"1\" realm: \"one\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    "job { id: \"2\" realm: \"some\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    "job { id: \"3\" realm: \"public\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n";
static const char cfg_def[] =
    "job { id: \"1\" realm: \"public\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    "job { id: \"2\" realm: \"public\" disabled: true noop { sleep_ms: 1 } }\n";
static const char cfg_secret[] =
    "job { id: \"restricted\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    "job { id: \"admin-only\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n";

static const char realms_abc[] =
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"one\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"user:one@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"some\"\n"
    "  bindings { role: \"role/scheduler.triggerer\" principals: \"group:some-group\" }\n"
    "}\n";
static const char realms_def[] =
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "}\n";
static const char realms_secret[] =
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings {\n"
    "    role: \"role/scheduler.reader\"\n"
    "    principals: \"group:some-group\"\n"
    "    conditions { restrict { attribute: \"scheduler.job.name\" values: \"restricted\" } }\n"
    "  }\n"
    "}\n";

static const char groups_file[] =
    "all: anonymous:anonymous, user:*@example.com\n"
    "some-group: some@example.com\n"
    "administrators: admin@example.com\n";

static const char tokens_file[] =
    "tok-one user:one@example.com\n"
    "tok-some user:some@example.com\n"
    "tok-admin user:admin@example.com\n"
    "tok-owner user:owner@example.com\n";

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
};

static uint64_t test_random(void *ctx)
{
    uint64_t *x = ctx;
    /* xorshift64: any deterministic sequence will do. */
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void apply(struct fixture *f, const char *project, const char *cfg_text,
                  const char *realms)
{
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    struct cfg_validate_options vo = {.project = project};
    char err[256] = "";

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg_text, strlen(cfg_text), &cfg, &d), 0);
    assert_int_equal(cfg_validate(cfg, &vo, &d), 0);
    assert_int_equal(engine_apply_project(f->e, project, cfg, NULL, "rev1", NULL), 0);
    if (auth_set_project(f->a, project, cfg, realms, strlen(realms), err, sizeof(err)) != 0)
        fail_msg("auth_set_project %s: %s", project, err);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
}

/* The fixture; limit (may be NULL) is the API's rate limit. */
static int setup_with(void **state, const struct rate_limit *limit)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[128], err[256] = "";
    int64_t t0;
    struct task_options topts = {.noop_default_sleep_ns = NS_PER_MS};
    struct http_server_options ho = {.host = "127.0.0.1"};
    struct api_options ao;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(url, sizeof(url), "sqlite:%s/tock.db", f->dir);
    assert_int_equal(time_parse_rfc3339(T0, &t0), 0);
    manual_clock_init(&f->clock, t0);
    if (store_open(url, &f->store, err, sizeof(err)) != 0)
        fail_msg("store_open: %s", err);
    assert_int_equal(task_registry_default(&topts, &f->reg), 0);
    f->rnd = 0x9e3779b97f4a7c15u;
    struct engine_options eo = {
        .store = f->store,
        .clock = &f->clock.base,
        .registry = f->reg,
        .random = test_random,
        .random_ctx = &f->rnd,
    };
    assert_int_equal(engine_new(&eo, &f->e), 0);
    f->a = auth_new();
    assert_int_equal(auth_load_tokens(f->a, tokens_file, strlen(tokens_file), err, sizeof(err)),
                     0);
    assert_int_equal(auth_load_groups(f->a, groups_file, strlen(groups_file), err, sizeof(err)),
                     0);
    apply(f, "abc", cfg_abc, realms_abc);
    apply(f, "def", cfg_def, realms_def);
    apply(f, "secret", cfg_secret, realms_secret);
    engine_run_due(f->e, 0);

    assert_int_equal(http_server_new(&ho, &f->http), 0);
    ao = (struct api_options){.clock = &f->clock.base};
    if (limit)
        ao.rate_limit = *limit;
    assert_int_equal(api_register_with(f->http, f->e, f->a, &ao), 0);
    assert_int_equal(http_server_start(f->http), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->http));
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

/* 2 expensive calls per second per caller, bursts of 3: a token every 500 ms. */
static const struct rate_limit test_limit = {.calls = 2, .period_ns = NS_PER_SEC, .burst = 3};

static int setup_limited(void **state)
{
    return setup_with(state, &test_limit);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];

    f->http = http_server_free(f->http);
    f->e = engine_free(f->e);
    f->store = store_close(f->store);
    f->reg = task_registry_free(f->reg);
    f->a = auth_free(f->a);
    manual_clock_release(&f->clock);
    snprintf(path, sizeof(path), "%s/tock.db", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/tock.db-wal", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/tock.db-shm", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The client side of a call
 */

struct reply {
    int code;          /* X-Prpc-Grpc-Code */
    long status;
    json_t *json;      /* on code 0 */
    char message[LIMIT_PRPC_ERROR_BYTES + 1];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

struct headers {
    char code[16];
    bool have_code;
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct headers *h = ud;
    size_t len = size * n;

    if (len > 17 && strncasecmp(p, "X-Prpc-Grpc-Code:", 17) == 0) {
        size_t k = 0;
        for (size_t i = 17; i < len && k + 1 < sizeof(h->code); i++) {
            if (p[i] >= '0' && p[i] <= '9')
                h->code[k++] = p[i];
        }
        h->code[k] = '\0';
        h->have_code = true;
    }
    return len;
}

/* Calls service/method with the JSON text body as token (NULL = anonymous). */
static void call(struct fixture *f, const char *token, const char *service, const char *method,
                 const char *body, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf b;
    struct headers hd = {.have_code = false};
    char url[256], auth[128];
    struct prpc_status st;

    assert_non_null(c);
    buf_init(&b, 8u << 20);
    snprintf(url, sizeof(url), "%s/prpc/%s/%s", f->base, service, method);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->json = NULL;
    r->message[0] = '\0';
    if (prpc_response_decode(hd.have_code ? hd.code : NULL, r->status, b.data, b.len, &r->json,
                             &st) == 0) {
        r->code = 0;
    } else {
        r->code = st.code;
        snprintf(r->message, sizeof(r->message), "%s", st.message);
    }
    buf_release(&b);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

#define SCHED "scheduler.Scheduler"

/* Expects an error code and exact message. */
static void expect_error(struct fixture *f, int line, const char *token, const char *method,
                         const char *body, int code, const char *message)
{
    struct reply r;
    const char *service = strchr(method, '/') ? NULL : SCHED;
    char svc[64];

    if (!service) {
        size_t n = (size_t)(strchr(method, '/') - method);
        snprintf(svc, sizeof(svc), "%.*s", (int)n, method);
        service = svc;
        method = strchr(method, '/') + 1;
    }
    call(f, token, service, method, body, &r);
    if (r.code != code || strcmp(r.message, message) != 0)
        fail_msg("line %d: %s %s: code %d message [%s]", line, method, body, r.code, r.message);
    if (r.status != grpc_code_http_status(code))
        fail_msg("line %d: HTTP %ld", line, r.status);
    json_decref(r.json);
}

/* Expects success; returns the reply (caller frees). */
static json_t *expect_ok(struct fixture *f, int line, const char *token, const char *service,
                         const char *method, const char *body)
{
    struct reply r;

    call(f, token, service, method, body, &r);
    if (r.code != 0)
        fail_msg("line %d: %s %s: code %d message [%s]", line, method, body, r.code, r.message);
    return r.json;
}

/* "abc/1 abc/3" from a GetJobs reply. */
static void job_names(const json_t *reply, char *out, size_t outlen)
{
    size_t i;
    json_t *j;

    out[0] = '\0';
    json_array_foreach(json_object_get(reply, "jobs"), i, j) {
        const json_t *ref = json_object_get(j, "jobRef");
        size_t len = strlen(out);
        snprintf(out + len, outlen - len, "%s%s/%s", len ? " " : "",
                 json_string_value(json_object_get(ref, "project")),
                 json_string_value(json_object_get(ref, "job")));
    }
}

/* ---------------------------------------------------------------------------
 * Tests
 */

static void test_get_jobs_visibility(void **state)
{
    struct fixture *f = *state;
    static const struct {
        int line;
        const char *token;
        const char *body;
        const char *want;
    } cases[] = {
        {__LINE__, NULL, "{}", "abc/3 def/1"},
        {__LINE__, "Bearer tok-one", "{}", "abc/1 abc/3 def/1"},
        {__LINE__, "Bearer tok-some", "{}", "abc/2 abc/3 def/1 secret/restricted"},
        {__LINE__, "Bearer tok-admin", "{}",
         "abc/1 abc/2 abc/3 def/1 secret/admin-only secret/restricted"},
        {__LINE__, "Bearer tok-admin", "{\"project\":\"abc\"}", "abc/1 abc/2 abc/3"},
        {__LINE__, "Bearer tok-admin", "{\"project\":\"nope\"}", ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char got[512];
        json_t *reply = expect_ok(f, cases[i].line, cases[i].token, SCHED, "GetJobs",
                                  cases[i].body);
        /* Jobs come in key order: project, then name. */
        job_names(reply, got, sizeof(got));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("line %d: [%s]", cases[i].line, got);
        json_decref(reply);
    }
}

static void test_job_message(void **state)
{
    struct fixture *f = *state;
    json_t *reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", "{\"project\":\"def\"}");
    json_t *want = json_loads("{\"jobs\":[{\"jobRef\":{\"project\":\"def\",\"job\":\"1\"},"
                              "\"schedule\":\"triggered\",\"state\":{\"uiStatus\":\"WAITING\"}}]}",
                              0, NULL);

    /* protojson: paused=false and nextCursor="" are defaults, so absent. */
    assert_non_null(want);
    if (!json_equal(reply, want)) {
        char *s = json_dumps(reply, 0);
        fail_msg("got %s", s);
    }
    json_decref(reply);
    json_decref(want);
}

static void test_authentication(void **state)
{
    struct fixture *f = *state;

    expect_error(f, __LINE__, "Bearer nope", "GetJobs", "{}", GRPC_UNAUTHENTICATED,
                 "bad or unknown bearer token");
    expect_error(f, __LINE__, "Basic abc", "GetJobs", "{}", GRPC_UNAUTHENTICATED,
                 "bad Authorization header: want \"Bearer <token>\"");
    expect_error(f, __LINE__, NULL, "GetJobs", "{\"projekt\":\"abc\"}", GRPC_INVALID_ARGUMENT,
                 "unknown field \"projekt\"");
    expect_error(f, __LINE__, NULL, "NoSuchMethod", "{}", GRPC_UNIMPLEMENTED,
                 "API method not implemented by the server");
}

static void test_actions(void **state)
{
    struct fixture *f = *state;
    static const struct {
        int line;
        const char *token;
        const char *method;
        const char *body;
        int code;
        const char *message;
    } cases[] = {
        /* Invisible jobs look missing; visible without the permission: denied. */
        {__LINE__, NULL, "PauseJob", "{\"project\":\"abc\",\"job\":\"1\"}", GRPC_NOT_FOUND,
         "no such job or no permission to see it"},
        {__LINE__, NULL, "PauseJob", "{\"project\":\"abc\",\"job\":\"3\"}",
         GRPC_PERMISSION_DENIED, "no permission to execute the action"},
        {__LINE__, "Bearer tok-some", "ResumeJob", "{\"project\":\"abc\",\"job\":\"2\"}",
         GRPC_PERMISSION_DENIED, "no permission to execute the action"},
        {__LINE__, "Bearer tok-one", "AbortJob", "{\"project\":\"abc\",\"job\":\"1\"}",
         GRPC_PERMISSION_DENIED, "no permission to execute the action"},
        {__LINE__, "Bearer tok-owner", "PauseJob", "{\"project\":\"nope\",\"job\":\"x\"}",
         GRPC_NOT_FOUND, "no such job or no permission to see it"},
        {__LINE__, "Bearer tok-owner", "PauseJob", "{}", GRPC_NOT_FOUND,
         "no such job or no permission to see it"},
        /* A disabled job is missing, even for administrators. */
        {__LINE__, "Bearer tok-admin", "PauseJob", "{\"project\":\"def\",\"job\":\"2\"}",
         GRPC_NOT_FOUND, "no such job or no permission to see it"},
        {__LINE__, "Bearer tok-owner", "AbortInvocation",
         "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"invocationId\":\"12345\"}",
         GRPC_NOT_FOUND, "no such invocation"},
        {__LINE__, NULL, "AbortInvocation",
         "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"invocationId\":\"12345\"}",
         GRPC_PERMISSION_DENIED, "no permission to execute the action"},
        {__LINE__, "Bearer tok-owner", "GetInvocation",
         "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"invocationId\":\"12345\"}",
         GRPC_NOT_FOUND, "no such invocation"},
        {__LINE__, "Bearer tok-owner", "GetInvocation",
         "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"invocationId\":\"x\"}",
         GRPC_INVALID_ARGUMENT, "invalid value for int64 field invocationId: \"x\""},
    };
    json_t *reply;
    char got[512];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        expect_error(f, cases[i].line, cases[i].token, cases[i].method, cases[i].body,
                     cases[i].code, cases[i].message);

    /* The owner pauses abc/3: the job says so; pausing again is a no-op. */
    json_decref(expect_ok(f, __LINE__, "Bearer tok-owner", SCHED, "PauseJob",
                          "{\"project\":\"abc\",\"job\":\"3\"}"));
    json_decref(expect_ok(f, __LINE__, "Bearer tok-owner", SCHED, "PauseJob",
                          "{\"project\":\"abc\",\"job\":\"3\"}"));
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", "{\"project\":\"abc\"}");
    {
        const json_t *j = json_array_get(json_object_get(reply, "jobs"), 0);
        assert_true(json_is_true(json_object_get(j, "paused")));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "state"), "uiStatus")),
            "PAUSED");
    }
    json_decref(reply);
    {
        struct engine_job j;
        assert_int_equal(engine_get_job(f->e, "abc/3", &j), 0);
        assert_true(j.paused);
        assert_string_equal(j.paused_or_resumed_by, "user:owner@example.com");
        assert_string_equal(j.paused_or_resumed_reason, "paused through RPC API");
    }
    json_decref(expect_ok(f, __LINE__, "Bearer tok-owner", SCHED, "ResumeJob",
                          "{\"project\":\"abc\",\"job\":\"3\"}"));
    {
        struct engine_job j;
        assert_int_equal(engine_get_job(f->e, "abc/3", &j), 0);
        assert_false(j.paused);
        assert_string_equal(j.paused_or_resumed_reason, "resumed through RPC API");
    }
    json_decref(expect_ok(f, __LINE__, "Bearer tok-owner", SCHED, "AbortJob",
                          "{\"project\":\"abc\",\"job\":\"3\"}"));
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", "{\"project\":\"abc\"}");
    job_names(reply, got, sizeof(got));
    assert_string_equal(got, "abc/3");
    json_decref(reply);
}

static void test_emit_triggers_errors(void **state)
{
    struct fixture *f = *state;
    /* T0 is 1767225600 s since the epoch. */
    static const struct {
        int line;
        const char *token;
        const char *body;
        int code;
        const char *message;
    } cases[] = {
        {__LINE__, "Bearer tok-owner", "{\"timestamp\":\"-5\"}", GRPC_INVALID_ARGUMENT,
         "the provided timestamp doesn't look like a valid number of microseconds since epoch"},
        {__LINE__, "Bearer tok-owner", "{\"timestamp\":\"9007199254740993\"}",
         GRPC_INVALID_ARGUMENT,
         "the provided timestamp doesn't look like a valid number of microseconds since epoch"},
        /* T0 + 15 min + 1 µs */
        {__LINE__, "Bearer tok-owner", "{\"timestamp\":\"1767226500000001\"}",
         GRPC_INVALID_ARGUMENT,
         "the provided timestamp (2026-01-01T00:15:00.000001Z) is more than 15 min in the "
         "future based on the server clock value 2026-01-01T00:00:00Z"},
        /* T0 - 15 min - 1 µs */
        {__LINE__, "Bearer tok-owner", "{\"timestamp\":1767224699999999}",
         GRPC_INVALID_ARGUMENT,
         "the provided timestamp (2025-12-31T23:44:59.999999Z) is more than 15 min in the past "
         "based on the server clock value 2026-01-01T00:00:00Z"},
        {__LINE__, "Bearer tok-owner",
         "{\"batches\":[{\"trigger\":{\"title\":\"t\"},"
         "\"jobs\":[{\"project\":\"abc\",\"job\":\"3\"}]}]}",
         GRPC_INVALID_ARGUMENT, "bad trigger #0 (\"\") - trigger id is required"},
        {__LINE__, "Bearer tok-owner",
         "{\"batches\":[{\"trigger\":{\"id\":\"a\"},\"jobs\":[]},"
         "{\"trigger\":{\"id\":\"b\",\"cron\":{}},\"jobs\":[]}]}",
         GRPC_INVALID_ARGUMENT,
         "bad trigger #1 (\"b\") - emitting cron triggers through API is not allowed"},
        {__LINE__, "Bearer tok-owner",
         "{\"batches\":[{\"trigger\":{\"id\":\"w\",\"webui\":{}}}]}", GRPC_INVALID_ARGUMENT,
         "bad trigger #0 (\"w\") - emitting web UI triggers through API is not allowed"},
        {__LINE__, "Bearer tok-owner",
         "{\"batches\":[{\"trigger\":{\"id\":\"w\",\"noop\":{},\"gitiles\":{}}}]}",
         GRPC_INVALID_ARGUMENT, "bad trigger #0 (\"w\") - more than one payload (noop and gitiles)"},
        {__LINE__, "Bearer tok-owner",
         "{\"batches\":[{\"trigger\":{\"id\":\"w\",\"gitiles\":{\"tags\":[1]}}}]}",
         GRPC_INVALID_ARGUMENT, "bad trigger #0 (\"w\") - tags must be a list of strings"},
        /* All or nothing: one invisible job fails the whole call, listing every missing one. */
        {__LINE__, "Bearer tok-some",
         "{\"batches\":[{\"trigger\":{\"id\":\"t1\"},\"jobs\":[{\"project\":\"abc\","
         "\"job\":\"1\"},{\"project\":\"abc\",\"job\":\"2\"}]},{\"trigger\":{\"id\":\"t2\"},"
         "\"jobs\":[{\"project\":\"nope\",\"job\":\"x\"},{\"project\":\"abc\",\"job\":\"1\"}]}]}",
         GRPC_NOT_FOUND, "no such job or no permission to see it: abc/1, nope/x"},
        /* Visible everywhere but not triggerer on abc/3. */
        {__LINE__, "Bearer tok-some",
         "{\"batches\":[{\"trigger\":{\"id\":\"t1\"},\"jobs\":[{\"project\":\"abc\","
         "\"job\":\"2\"},{\"project\":\"abc\",\"job\":\"3\"}]}]}",
         GRPC_PERMISSION_DENIED, "no permission to execute the action"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        expect_error(f, cases[i].line, cases[i].token, "EmitTriggers", cases[i].body,
                     cases[i].code, cases[i].message);
    /* Nothing was emitted by the failed calls. */
    {
        json_t *fates = NULL;
        assert_int_equal(engine_trigger_fates(f->e, "abc/2", NULL, 0, &fates), 0);
        assert_int_equal(json_array_size(fates), 0);
        json_decref(fates);
    }
}

/* Runs the engine until nothing is due, moving the clock by 1 s at a time. */
static void run_engine(struct fixture *f, int seconds)
{
    for (int i = 0; i < seconds; i++) {
        assert_true(engine_run_due(f->e, 0) >= 0);
        manual_clock_advance(&f->clock, NS_PER_SEC);
    }
    assert_true(engine_run_due(f->e, 0) >= 0);
}

static void test_emit_and_invocations(void **state)
{
    struct fixture *f = *state;
    json_t *reply, *fates, *invs;
    const json_t *inv;
    char body[512];
    const char *inv_id;

    /* Two batches for abc/2 (some is a triggerer there), the second one twice. */
    json_decref(expect_ok(
        f, __LINE__, "Bearer tok-some", SCHED, "EmitTriggers",
        "{\"batches\":[{\"trigger\":{\"id\":\"t1\",\"title\":\"first\",\"noop\":{\"data\":\"x\"}},"
        "\"jobs\":[{\"project\":\"abc\",\"job\":\"2\"}]},"
        "{\"trigger\":{\"id\":\"t2\",\"url\":\"https://example.com/2\"},"
        "\"jobs\":[{\"project\":\"abc\",\"job\":\"2\"}]}],"
        "\"timestamp\":\"1767225600000000\"}"));

    /* The fates say what happened; the caller sees them with scheduler.jobs.get. */
    reply = expect_ok(f, __LINE__, "Bearer tok-some", "tock.Scheduler", "GetTriggerFates",
                      "{\"jobRef\":{\"project\":\"abc\",\"job\":\"2\"},\"triggerId\":\"t1\"}");
    fates = json_object_get(reply, "fates");
    assert_int_equal(json_array_size(fates), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fates, 0), "triggerId")),
                        "t1");
    json_decref(reply);
    expect_error(f, __LINE__, "Bearer tok-one", "tock.Scheduler/GetTriggerFates",
                 "{\"jobRef\":{\"project\":\"abc\",\"job\":\"2\"}}", GRPC_NOT_FOUND,
                 "no such job or no permission to see it");

    /* Let triage turn the triggers into an invocation and run it. */
    run_engine(f, 10);
    reply = expect_ok(f, __LINE__, "Bearer tok-some", SCHED, "GetInvocations",
                      "{\"jobRef\":{\"project\":\"abc\",\"job\":\"2\"}}");
    invs = json_object_get(reply, "invocations");
    assert_true(json_array_size(invs) >= 1);
    inv = json_array_get(invs, 0);
    inv_id = json_string_value(json_object_get(json_object_get(inv, "invocationRef"),
                                               "invocationId"));
    assert_non_null(inv_id);
    /* int64 fields are strings; the status is a name. */
    assert_true(json_is_string(json_object_get(inv, "startedTs")));
    assert_true(json_is_string(json_object_get(inv, "status")));
    assert_string_equal(json_string_value(json_object_get(inv, "configRevision")), "rev1");

    /* GetInvocation of the same id, and NotFound under another job. */
    snprintf(body, sizeof(body),
             "{\"jobRef\":{\"project\":\"abc\",\"job\":\"2\"},\"invocationId\":\"%s\"}", inv_id);
    {
        json_t *one = expect_ok(f, __LINE__, "Bearer tok-some", SCHED, "GetInvocation", body);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(one, "invocationRef"),
                                              "invocationId")),
            inv_id);
        json_decref(one);
    }
    snprintf(body, sizeof(body),
             "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"invocationId\":\"%s\"}", inv_id);
    expect_error(f, __LINE__, "Bearer tok-admin", "GetInvocation", body, GRPC_NOT_FOUND,
                 "no such invocation");
    json_decref(reply);
}

static void test_invocation_paging(void **state)
{
    struct fixture *f = *state;
    json_t *reply;
    const char *cursor;
    char body[1024];

    /* Three separate triggers, each consumed by its own run. */
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"batches\":[{\"trigger\":{\"id\":\"p%d\"},"
                 "\"jobs\":[{\"project\":\"abc\",\"job\":\"3\"}]}]}",
                 i);
        json_decref(expect_ok(f, __LINE__, "Bearer tok-owner", SCHED, "EmitTriggers", body));
        run_engine(f, 10);
    }
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetInvocations",
                      "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"pageSize\":2}");
    assert_int_equal(json_array_size(json_object_get(reply, "invocations")), 2);
    cursor = json_string_value(json_object_get(reply, "nextCursor"));
    assert_non_null(cursor);
    snprintf(body, sizeof(body),
             "{\"job_ref\":{\"project\":\"abc\",\"job\":\"3\"},\"page_size\":2,\"cursor\":\"%s\"}",
             cursor);
    json_decref(reply);
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetInvocations", body);
    assert_int_equal(json_array_size(json_object_get(reply, "invocations")), 1);
    assert_null(json_object_get(reply, "nextCursor"));
    json_decref(reply);
    /* pageSize 0 or >= 50 means 50: all three on one page. */
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetInvocations",
                      "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"},\"pageSize\":1000}");
    assert_int_equal(json_array_size(json_object_get(reply, "invocations")), 3);
    json_decref(reply);
    expect_error(f, __LINE__, NULL, "GetInvocations",
                 "{\"jobRef\":{\"project\":\"abc\",\"job\":\"1\"}}", GRPC_NOT_FOUND,
                 "no such job or no permission to see it");
}

static void test_admin(void **state)
{
    struct fixture *f = *state;
    json_t *reply;

    expect_error(f, __LINE__, "Bearer tok-owner", "internal.admin.Admin/GetDebugJobState",
                 "{\"project\":\"abc\",\"job\":\"3\"}", GRPC_PERMISSION_DENIED,
                 "not an administrator");
    expect_error(f, __LINE__, NULL, "internal.admin.Admin/GetDebugJobState",
                 "{\"project\":\"abc\",\"job\":\"3\"}", GRPC_PERMISSION_DENIED,
                 "not an administrator");
    expect_error(f, __LINE__, "Bearer tok-admin", "internal.admin.Admin/GetDebugJobState",
                 "{\"project\":\"nope\",\"job\":\"x\"}", GRPC_NOT_FOUND, "no such job");
    /* Works for disabled jobs too: def/1 is disabled by a config without it. */
    apply(f, "def", "job { id: \"2\" realm: \"public\" disabled: true noop {} }\n", realms_def);
    reply = expect_ok(f, __LINE__, "Bearer tok-admin", SCHED, "GetJobs",
                      "{\"project\":\"def\"}");
    assert_null(json_object_get(reply, "jobs")); /* no enabled job left */
    json_decref(reply);
    reply = expect_ok(f, __LINE__, "Bearer tok-admin", "internal.admin.Admin",
                      "GetDebugJobState", "{\"project\":\"def\",\"job\":\"1\"}");
    assert_non_null(reply);
    assert_false(json_is_true(json_object_get(reply, "enabled")));
    json_decref(reply);
}

/* ---------------------------------------------------------------------------
 * GetJobs pages
 *
 * Two more projects: "many" with 120 jobs j000..j119 in realm public,
 * private or cond by i % 3, and "many-x" whose names sort by byte ("B" <
 * "a" < "b-c" < "b.c" < "z"), and which sorts after "many" although
 * "many-x/..." < "many/..." as ids; and "wide" (below).  Expected lists are built from those
 * rules and the realms below, not from the server.
 */

#define MANY 120
static const char *const many_x[] = {"B", "a", "b-c", "b.c", "z"};

static const char realms_many[] =
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"private\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"cond\"\n"
    "  bindings {\n"
    "    role: \"role/scheduler.reader\"\n"
    "    principals: \"user:some@example.com\"\n"
    "    conditions { restrict { attribute: \"scheduler.job.name\"\n"
    "                            values: \"j005\" values: \"j011\" values: \"j100\" } }\n"
    "  }\n"
    "}\n";

/* "wide": 70 jobs j00..j69, each in a realm of its own (more than the 64 realms
 * a page lists per project, so jobs are judged one by one); r05 and r42 are public. */
#define WIDE 70
static const char realms_wide[] =
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n"
    "realms { name: \"r05\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" } }\n"
    "realms { name: \"r42\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" } }\n";

static const char *many_realm(int i)
{
    return i % 3 == 0 ? "public" : i % 3 == 1 ? "private" : "cond";
}

static void apply_many(struct fixture *f)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    for (int i = 0; i < MANY; i++)
        buf_printf(&b,
                   "job { id: \"j%03d\" realm: \"%s\" schedule: \"triggered\" "
                   "noop { sleep_ms: 1 } }\n",
                   (MANY - 1 - i) * 7 % MANY, many_realm((MANY - 1 - i) * 7 % MANY));
    apply(f, "many", b.data, realms_many);
    buf_reset(&b);
    for (size_t i = ARRAY_SIZE(many_x); i-- > 0;)
        buf_printf(&b, "job { id: \"%s\" realm: \"public\" schedule: \"triggered\" noop {} }\n",
                   many_x[i]);
    apply(f, "many-x", b.data, realms_many);
    buf_reset(&b);
    for (int i = WIDE - 1; i >= 0; i--)
        buf_printf(&b, "job { id: \"j%02d\" realm: \"r%02d\" schedule: \"triggered\" noop {} }\n",
                   i, i);
    apply(f, "wide", b.data, realms_wide);
    buf_release(&b);
}

enum caller { ANON, SOME_USER, OWNER, ADMIN };

static const char *caller_token(enum caller c)
{
    static const char *const t[] = {NULL, "Bearer tok-some", "Bearer tok-owner",
                                    "Bearer tok-admin"};
    return t[c];
}

/* Whether c may see many/j<i>, from realms_many and the groups file. */
static bool many_visible(enum caller c, int i)
{
    const char *realm = many_realm(i);

    if (c == ADMIN || strcmp(realm, "public") == 0)
        return true;
    if (strcmp(realm, "private") == 0)
        return c == OWNER;
    return c == SOME_USER && (i == 5 || i == 11); /* j100 is not in cond */
}

/* The jobs c may see in key order, of project (NULL = all), as "p/j p/j ...". */
static void expected_jobs(enum caller c, const char *project, struct buf *out)
{
    static const char *const abc[][3] = {
        [ANON] = {NULL, NULL, "abc/3"},
        [SOME_USER] = {NULL, "abc/2", "abc/3"},
        [OWNER] = {NULL, NULL, "abc/3"},
        [ADMIN] = {"abc/1", "abc/2", "abc/3"},
    };
    static const char *const secret[][2] = {
        [ANON] = {NULL, NULL},
        [SOME_USER] = {NULL, "secret/restricted"},
        [OWNER] = {NULL, NULL},
        [ADMIN] = {"secret/admin-only", "secret/restricted"},
    };
#define ADD(s) buf_printf(out, "%s%s", out->len ? " " : "", (s))
    buf_reset(out);
    if (!project || strcmp(project, "abc") == 0)
        for (int i = 0; i < 3; i++)
            if (abc[c][i])
                ADD(abc[c][i]);
    if (!project || strcmp(project, "def") == 0)
        ADD("def/1");
    if (!project || strcmp(project, "many") == 0) {
        for (int i = 0; i < MANY; i++) {
            char name[32];
            snprintf(name, sizeof(name), "many/j%03d", i);
            if (many_visible(c, i))
                ADD(name);
        }
    }
    if (!project || strcmp(project, "many-x") == 0) {
        for (size_t i = 0; i < ARRAY_SIZE(many_x); i++) {
            char name[32];
            snprintf(name, sizeof(name), "many-x/%s", many_x[i]);
            ADD(name);
        }
    }
    if (!project || strcmp(project, "secret") == 0)
        for (int i = 0; i < 2; i++)
            if (secret[c][i])
                ADD(secret[c][i]);
    if (!project || strcmp(project, "wide") == 0) {
        for (int i = 0; i < WIDE; i++) {
            char name[32];
            snprintf(name, sizeof(name), "wide/j%02d", i);
            if (c == OWNER || c == ADMIN || i == 5 || i == 42)
                ADD(name);
        }
    }
#undef ADD
}

/*
 * Follows nextCursor from the first page with pageSize page_size (0 = not
 * sent) and checks each page: at most the effective size (spec 5.2's rule:
 * the value if 0 < v < 50, else 50), full whenever a cursor follows, and
 * the number of pages exactly what the total needs.  out gets every job.
 */
static void list_pages(struct fixture *f, int line, enum caller c, const char *project,
                       int page_size, struct buf *out)
{
    char cursor[1024] = "", body[2048], got[8192];
    size_t size = page_size > 0 && page_size < 50 ? (size_t)page_size : 50, pages = 0, total = 0;

    buf_reset(out);
    for (;;) {
        int n = snprintf(body, sizeof(body), "{");
        if (project)
            n += snprintf(body + n, sizeof(body) - (size_t)n, "\"project\":\"%s\",", project);
        if (page_size)
            n += snprintf(body + n, sizeof(body) - (size_t)n, "\"pageSize\":%d,", page_size);
        if (cursor[0])
            n += snprintf(body + n, sizeof(body) - (size_t)n, "\"cursor\":\"%s\",", cursor);
        if (body[n - 1] == ',')
            n--;
        snprintf(body + n, sizeof(body) - (size_t)n, "}");
        json_t *reply = expect_ok(f, line, caller_token(c), SCHED, "GetJobs", body);
        size_t k = json_array_size(json_object_get(reply, "jobs"));
        const char *next = json_string_value(json_object_get(reply, "nextCursor"));
        pages++;
        total += k;
        if (k > size || (next && k != size))
            fail_msg("line %d: page %zu of size %zu has %zu jobs (next %s)", line, pages, size,
                     k, next ? next : "none");
        job_names(reply, got, sizeof(got));
        if (*got)
            buf_printf(out, "%s%s", out->len ? " " : "", got);
        if (next)
            snprintf(cursor, sizeof(cursor), "%s", next);
        json_decref(reply);
        if (!next)
            break;
        if (pages > 1000)
            fail_msg("line %d: more than 1000 pages", line);
    }
    if (pages != (total ? (total + size - 1) / size : 1))
        fail_msg("line %d: %zu pages for %zu jobs of pages of %zu", line, pages, total, size);
}

static void test_get_jobs_pages(void **state)
{
    struct fixture *f = *state;
    static const int sizes[] = {1, 7, 49, 50, 0, 51, 1000, -3};
    static const char *const projects[] = {NULL, "many", "many-x", "abc", "wide", "nope"};
    struct buf want, got;

    apply_many(f);
    buf_init(&want, 1u << 20);
    buf_init(&got, 1u << 20);
    for (enum caller c = ANON; c <= ADMIN; c++) {
        for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
            for (size_t p = 0; p < ARRAY_SIZE(projects); p++) {
                /* Every size over all projects; the small sizes per project. */
                if (projects[p] && sizes[s] != 7 && sizes[s] != 1)
                    continue;
                expected_jobs(c, projects[p], &want);
                list_pages(f, __LINE__, c, projects[p], sizes[s], &got);
                if (strcmp(want.data ? want.data : "", got.data ? got.data : "") != 0)
                    fail_msg("caller %d, project %s, pageSize %d:\n want [%s]\n got  [%s]", c,
                             projects[p] ? projects[p] : "(all)", sizes[s], want.data,
                             got.data);
            }
        }
    }
    buf_release(&want);
    buf_release(&got);
}

/* Applies project "grow" with its jobs g<i> for every i < 200 with have[i]. */
static void apply_grow(struct fixture *f, const bool *have)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    for (int i = 199; i >= 0; i--)
        if (have[i])
            buf_printf(&b, "job { id: \"g%03d\" realm: \"public\" schedule: \"triggered\" "
                           "noop {} }\n", i);
    apply(f, "grow", b.data, realms_many);
    buf_release(&b);
}

/*
 * Pages through project "grow" while jobs are added between pages, some
 * before the cursor and some after it: every job there from the start is
 * listed exactly once, no job twice, and the pages keep name order.
 */
static void test_get_jobs_pages_growing(void **state)
{
    struct fixture *f = *state;
    bool have[200] = {false}, seen[200] = {false};
    char cursor[1024] = "", body[1200];
    int pages = 0, last = -1;

    for (int i = 0; i < 200; i += 2)
        have[i] = true; /* the even ones first */
    apply_grow(f, have);
    for (;;) {
        if (cursor[0])
            snprintf(body, sizeof(body), "{\"project\":\"grow\",\"pageSize\":7,\"cursor\":\"%s\"}",
                     cursor);
        else
            snprintf(body, sizeof(body), "{\"project\":\"grow\",\"pageSize\":7}");
        json_t *reply = expect_ok(f, __LINE__, caller_token(ADMIN), SCHED, "GetJobs", body);
        const char *next = json_string_value(json_object_get(reply, "nextCursor"));
        size_t k;
        json_t *j;

        json_array_foreach(json_object_get(reply, "jobs"), k, j) {
            const char *name =
                json_string_value(json_object_get(json_object_get(j, "jobRef"), "job"));
            int i = name && name[0] == 'g' ? (int)strtol(name + 1, NULL, 10) : -1;
            if (i < 0 || i >= 200 || seen[i] || i <= last)
                fail_msg("page %d: job %s again or out of order (last g%03d)", pages,
                         name ? name : "?", last);
            seen[i] = true;
            last = i;
        }
        pages++;
        if (next)
            snprintf(cursor, sizeof(cursor), "%s", next);
        json_decref(reply);
        if (!next || pages > 200)
            break;
        /* Odd jobs: one just before the cursor's job, one just after it, one far on. */
        for (int d = -1; d <= 1; d += 2)
            if (last + d >= 0 && last + d < 200)
                have[last + d] = true;
        if (last + 41 < 200)
            have[last + 41] = true;
        apply_grow(f, have);
    }
    assert_true(pages <= 200);
    for (int i = 0; i < 200; i += 2)
        if (!seen[i])
            fail_msg("job g%03d, there from the start, was never listed", i);
}

/* A cursor in the server's own form, to build good and bad ones. */
static void cursor_of(const char *raw, size_t len, char *out, size_t outlen)
{
    assert_true(base64_encode(BASE64_URL, raw, len, out, outlen) >= 0);
}

static void test_get_jobs_bad_cursor(void **state)
{
    struct fixture *f = *state;
    char c[6000], body[7000];
    json_t *reply;
    const char *next;
    static const struct {
        const char *raw;
        size_t len;
    } bad_raw[] = {
        {"noslash", 7}, {"/j", 2}, {"p/", 2}, {"a\0b/c", 5}, {"a/b\0c", 5},
    };
    static const char *const bad_text[] = {"x", "!!!!", "a b", "abc=d", "%%"};

    apply_many(f);
    for (size_t i = 0; i < ARRAY_SIZE(bad_raw); i++) {
        cursor_of(bad_raw[i].raw, bad_raw[i].len, c, sizeof(c));
        snprintf(body, sizeof(body), "{\"cursor\":\"%s\"}", c);
        expect_error(f, __LINE__, NULL, "GetJobs", body, GRPC_INVALID_ARGUMENT, "bad cursor");
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad_text); i++) {
        snprintf(body, sizeof(body), "{\"cursor\":\"%s\"}", bad_text[i]);
        expect_error(f, __LINE__, "Bearer tok-admin", "GetJobs", body, GRPC_INVALID_ARGUMENT,
                     "bad cursor");
    }
    /* Far too long. */
    memset(c, 'A', 5000);
    c[5000] = '\0';
    snprintf(body, sizeof(body), "{\"cursor\":\"%s\"}", c);
    expect_error(f, __LINE__, NULL, "GetJobs", body, GRPC_INVALID_ARGUMENT, "bad cursor");

    /* A good cursor of project many is bad for another project. */
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs",
                      "{\"project\":\"many\",\"pageSize\":2}");
    next = json_string_value(json_object_get(reply, "nextCursor"));
    assert_non_null(next);
    snprintf(body, sizeof(body), "{\"project\":\"abc\",\"cursor\":\"%s\"}", next);
    expect_error(f, __LINE__, NULL, "GetJobs", body, GRPC_INVALID_ARGUMENT, "bad cursor");
    /* ... and good for all projects: it goes on after many/j003. */
    snprintf(body, sizeof(body), "{\"pageSize\":1,\"cursor\":\"%s\"}", next);
    json_decref(reply);
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", body);
    job_names(reply, c, sizeof(c));
    assert_string_equal(c, "many/j006");
    json_decref(reply);
    /* A well-formed cursor past the end: an empty last page. */
    cursor_of("zzz/zzz", 7, c, sizeof(c));
    snprintf(body, sizeof(body), "{\"cursor\":\"%s\"}", c);
    reply = expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", body);
    assert_null(json_object_get(reply, "jobs"));
    assert_null(json_object_get(reply, "nextCursor"));
    json_decref(reply);
}

/* ---------------------------------------------------------------------------
 * Rate limit: 2 per second, bursts of 3, per caller (setup_limited)
 */

#define LIMIT_MSG_ANON                                                                  \
    "rate limit exceeded for anonymous:anonymous@127.0.0.1: at most 2 calls per second " \
    "with bursts of 3 per caller; retry in 500 ms"

static void test_rate_limit(void **state)
{
    struct fixture *f = *state;
    static const char ref[] = "{\"jobRef\":{\"project\":\"abc\",\"job\":\"3\"}}";

    /* The burst, then RESOURCE_EXHAUSTED (HTTP 429) before any work. */
    for (int i = 0; i < 3; i++)
        json_decref(expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", "{}"));
    expect_error(f, __LINE__, NULL, "GetJobs", "{}", GRPC_RESOURCE_EXHAUSTED, LIMIT_MSG_ANON);
    expect_error(f, __LINE__, NULL, "GetInvocations", ref, GRPC_RESOURCE_EXHAUSTED,
                 LIMIT_MSG_ANON);
    /* Even a request that would fail: no work, not even the cursor's. */
    expect_error(f, __LINE__, NULL, "GetJobs", "{\"cursor\":\"x\"}", GRPC_RESOURCE_EXHAUSTED,
                 LIMIT_MSG_ANON);
    /* Cheap calls are not limited. */
    expect_error(f, __LINE__, NULL, "PauseJob", "{\"project\":\"abc\",\"job\":\"3\"}",
                 GRPC_PERMISSION_DENIED, "no permission to execute the action");
    /* Other callers have buckets of their own. */
    for (int i = 0; i < 3; i++)
        json_decref(expect_ok(f, __LINE__, "Bearer tok-one", SCHED, "GetJobs", "{}"));
    expect_error(f, __LINE__, "Bearer tok-one", "GetJobs", "{}", GRPC_RESOURCE_EXHAUSTED,
                 "rate limit exceeded for user:one@example.com: at most 2 calls per second "
                 "with bursts of 3 per caller; retry in 500 ms");

    /* 500 ms later one token is back, and only one. */
    manual_clock_advance(&f->clock, 500 * NS_PER_MS);
    json_decref(expect_ok(f, __LINE__, NULL, SCHED, "GetInvocations", ref));
    expect_error(f, __LINE__, NULL, "GetJobs", "{}", GRPC_RESOURCE_EXHAUSTED, LIMIT_MSG_ANON);
    /* After an idle minute, the whole burst again. */
    manual_clock_advance(&f->clock, 60 * NS_PER_SEC);
    for (int i = 0; i < 3; i++)
        json_decref(expect_ok(f, __LINE__, NULL, SCHED, "GetJobs", "{}"));
    expect_error(f, __LINE__, NULL, "GetJobs", "{}", GRPC_RESOURCE_EXHAUSTED, LIMIT_MSG_ANON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_jobs_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authentication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_triggers_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_and_invocations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invocation_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_jobs_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_jobs_bad_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_jobs_pages_growing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup_limited, teardown),
    };
    int r;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return r;
}
