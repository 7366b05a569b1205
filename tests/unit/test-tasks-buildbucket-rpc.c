/*
 * RPC-level tests of the buildbucket task manager against an in-process
 * fake Buildbucket (net/http.h + net/prpc.h on 127.0.0.1, reached through
 * net/client.h's host map): v2 ScheduleBuild / GetBuild / CancelBuild and
 * /auth/api/v1/server/info, the v1 REST API, and hostile answers.
 *
 * The fake answers with the seed pages' own builds, so the debug-log
 * blocks the manager prints can be compared with the seeds' text.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "net/client.h"
#include "net/http.h"
#include "net/prpc.h"
#include "tasks/buildbucket/bb-internal.h"
#include "tasks/buildbucket/buildbucket.h"

#include "test-tasks-buildbucket-seeds.h"
#include "test-tasks-fakectl.h"

#define S INT64_C(1000000000)
#define SEED_TOPIC                                                                             \
    "projects/luci-scheduler/topics/scheduler.buildbucket.cr-buildbucket~appspot.gserviceaccount.com"

/* ---- the fake Buildbucket ---- */

static struct {
    pthread_mutex_t mu;
    struct http_server *s;
    char base[64];
    /* v2 */
    json_t *build;          /* the one build, as GetBuild returns it */
    json_t *scheduled;      /* what ScheduleBuild returns for a new build */
    char request_id[32];    /* the requestId that made it */
    int schedule_calls, created, get_calls, cancel_calls;
    json_t *last_schedule;  /* the last ScheduleBuild request */
    json_t *last_cancel;
    int fail_schedule_code; /* answer the next ScheduleBuild with this code */
    bool fail_after_create; /* ... after creating the build (a lost reply) */
    int fail_get_code;
    int info_calls;
    /* hostile host: 1 HTML 502, 2 truncated JSON, 3 wrong types, 4 wrong types with
     * a valid status (the emulator's --hostile wrong-types), 5 another build */
    int bad_mode;
    /* v1 */
    json_t *v1_put_reply, *v1_get_reply;
    int v1_put_status, v1_get_status;
    json_t *v1_last_put;
    int v1_put_calls, v1_get_calls, v1_cancel_calls;
} F;

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON: %s", e.text);
    return v;
}

static int h_schedule(void *ctx, struct prpc_call *call)
{
    const char *rid = json_string_value(json_object_get(call->request, "requestId"));
    int r = GRPC_OK;
    (void)ctx;
    pthread_mutex_lock(&F.mu);
    F.schedule_calls++;
    json_decref(F.last_schedule);
    F.last_schedule = json_deep_copy(call->request);
    if (F.fail_schedule_code && !F.fail_after_create) {
        r = prpc_fail(call, F.fail_schedule_code, "the fake says no");
        F.fail_schedule_code = 0;
        goto out;
    }
    /* Deduplication by requestId, as Buildbucket. */
    if (!F.build || !rid || strcmp(rid, F.request_id) != 0) {
        json_decref(F.build);
        F.build = json_deep_copy(F.scheduled);
        snprintf(F.request_id, sizeof(F.request_id), "%s", rid ? rid : "");
        F.created++;
    }
    if (F.fail_schedule_code) {
        r = prpc_fail(call, F.fail_schedule_code, "reply lost");
        F.fail_schedule_code = 0;
        F.fail_after_create = false;
        goto out;
    }
    call->response = json_deep_copy(F.build);
out:
    pthread_mutex_unlock(&F.mu);
    return r;
}

static int h_get(void *ctx, struct prpc_call *call)
{
    const char *id = json_string_value(json_object_get(call->request, "id"));
    int r = GRPC_OK;
    (void)ctx;
    pthread_mutex_lock(&F.mu);
    F.get_calls++;
    if (F.fail_get_code) {
        r = prpc_fail(call, F.fail_get_code, "requested resource not found");
    } else if (!F.build || !id ||
               strcmp(id, json_string_value(json_object_get(F.build, "id"))) != 0) {
        r = prpc_fail(call, GRPC_NOT_FOUND, "requested resource not found");
    } else {
        call->response = json_deep_copy(F.build);
    }
    pthread_mutex_unlock(&F.mu);
    return r;
}

static int h_cancel(void *ctx, struct prpc_call *call)
{
    (void)ctx;
    pthread_mutex_lock(&F.mu);
    F.cancel_calls++;
    json_decref(F.last_cancel);
    F.last_cancel = json_deep_copy(call->request);
    call->response = json_deep_copy(F.build);
    pthread_mutex_unlock(&F.mu);
    return GRPC_OK;
}

static int h_info(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    pthread_mutex_lock(&F.mu);
    F.info_calls++;
    pthread_mutex_unlock(&F.mu);
    http_response_set_header(resp, "Content-Type", "application/json");
    return buf_puts(&resp->body, "{\"app_id\": \"cr-buildbucket\", \"service_account_name\":"
                                 " \"cr-buildbucket@appspot.gserviceaccount.com\"}");
}

/* bad.test: a Buildbucket behind a broken proxy. */
static int h_bad(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    if (strcmp(req->path, "/bad/auth/api/v1/server/info") == 0)
        return h_info(NULL, req, resp);
    pthread_mutex_lock(&F.mu);
    int mode = F.bad_mode;
    pthread_mutex_unlock(&F.mu);
    switch (mode) {
    case 1:
        resp->status = 502;
        http_response_set_header(resp, "Content-Type", "text/html");
        return buf_puts(&resp->body, "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
    case 2:
        http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_puts(&resp->body, ")]}'\n{\"id\": \"87015308");
    case 4:
        http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_puts(&resp->body, ")]}'\n{\"id\": {\"value\": \"123\"}, \"status\": 12,"
                                     " \"createTime\": 1714564800.5}\n");
    case 5:
        http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_puts(&resp->body, ")]}'\n{\"id\": \"999\", \"status\": \"SUCCESS\"}\n");
    default:
        http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_puts(&resp->body, ")]}'\n{\"id\": {\"x\": 1}, \"status\": [\"SUCCESS\"]}\n");
    }
}

/* noinfo.test: no /auth/api/v1/server/info. */
static int h_noinfo(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return http_response_text(resp, 404, "not found\n");
}

/* v1.test and the v1 client's cr-buildbucket.appspot.com: the Cloud Endpoints API. */
static int h_v1(void *ctx, const struct http_request *req, struct http_response *resp)
{
    static const char builds[] = "/v1host/_ah/api/buildbucket/v1/builds";
    const char *p = req->path;
    json_t *reply = NULL;
    int status = 200;

    (void)ctx;
    if (strcmp(p, "/v1host/auth/api/v1/server/info") == 0)
        return h_info(NULL, req, resp);
    pthread_mutex_lock(&F.mu);
    if (strcmp(p, builds) == 0 && strcmp(req->method, "PUT") == 0) {
        F.v1_put_calls++;
        json_decref(F.v1_last_put);
        F.v1_last_put = json_loads(req->body, 0, NULL);
        reply = json_incref(F.v1_put_reply);
        status = F.v1_put_status ? F.v1_put_status : 200;
    } else if (strncmp(p, builds, strlen(builds)) == 0 && strstr(p, "/cancel")) {
        F.v1_cancel_calls++;
        reply = json_incref(F.v1_get_reply);
    } else if (strncmp(p, builds, strlen(builds)) == 0 && strcmp(req->method, "GET") == 0) {
        F.v1_get_calls++;
        reply = json_incref(F.v1_get_reply);
        status = F.v1_get_status ? F.v1_get_status : 200;
    } else {
        status = 404;
    }
    pthread_mutex_unlock(&F.mu);
    resp->status = status;
    http_response_set_header(resp, "Content-Type", "application/json");
    char *text = reply ? json_dumps(reply, 0) : strdup("{\"error\": {\"code\": 404}}");
    int r = buf_puts(&resp->body, text);
    free(text);
    json_decref(reply);
    return r;
}

static struct client *make_client(const char *seed_host_target)
{
    char e[5][160];
    const char *map[5];
    struct client_options o = {.host_map = map, .n_host_map = 5};
    struct client *c = NULL;
    struct client_error err;

    snprintf(e[0], sizeof(e[0]), "bb.test=%s", F.base);
    snprintf(e[1], sizeof(e[1]), "bad.test=%s/bad", F.base);
    snprintf(e[2], sizeof(e[2]), "noinfo.test=%s/noinfo", F.base);
    snprintf(e[3], sizeof(e[3]), "v1.test=%s/v1host", F.base);
    snprintf(e[4], sizeof(e[4]), "cr-buildbucket.appspot.com=%s%s", F.base, seed_host_target);
    for (int i = 0; i < 5; i++)
        map[i] = e[i];
    if (client_new(&o, &c, &err) < 0)
        fail_msg("client_new: %s", err.message);
    return c;
}

static uint64_t fixed_random(void *ctx)
{
    (void)ctx;
    return (uint64_t)(164 * S + S / 2); /* 60 s + 164.5 s -> 224 s */
}

static struct client *client_v2, *client_v1;
static struct task_manager *mgr, *mgr_v1;

static int group_setup(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .idle_timeout_sec = 5};
    struct prpc_server *p;
    static const char *const v1_hosts[] = {"v1.test"};
    static const char *const v1_seed_hosts[] = {"cr-buildbucket.appspot.com"};

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&F.mu, NULL);
    F.scheduled = J(seed25_scheduled);
    assert_int_equal(http_server_new(&o, &F.s), 0);
    assert_non_null(p = prpc_server_new(&(struct prpc_server_options){.discard_unknown = true}));
    assert_int_equal(prpc_server_register(p, "buildbucket.v2.Builds", "ScheduleBuild",
                                          h_schedule, NULL), 0);
    assert_int_equal(prpc_server_register(p, "buildbucket.v2.Builds", "GetBuild", h_get, NULL),
                     0);
    assert_int_equal(prpc_server_register(p, "buildbucket.v2.Builds", "CancelBuild", h_cancel,
                                          NULL), 0);
    assert_int_equal(prpc_server_mount(p, F.s), 0);
    assert_int_equal(http_server_route(F.s, "GET", "/auth/api/v1/server/info", h_info, NULL,
                                       NULL, 0), 0);
    assert_int_equal(http_server_route(F.s, NULL, "/bad/", h_bad, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(F.s, NULL, "/noinfo/", h_noinfo, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(F.s, NULL, "/v1host/", h_v1, NULL, NULL, 0), 0);
    assert_int_equal(http_server_start(F.s), 0);
    snprintf(F.base, sizeof(F.base), "http://127.0.0.1:%u", http_server_port(F.s));
    client_v2 = make_client("");
    client_v1 = make_client("/v1host");

    struct buildbucket_options bo = {
        .client = client_v2,
        .anonymous = true,
        .pubsub_topic = "projects/luci-scheduler/topics/scheduler.buildbucket",
        .hostname = "luci-scheduler.appspot.com",
        .app_id = "luci-scheduler",
        .v1_hosts = v1_hosts,
        .n_v1_hosts = 1,
        .random = fixed_random,
    };
    assert_int_equal(buildbucket_manager_new(&bo, &mgr), 0);
    bo.client = client_v1;
    bo.v1_hosts = v1_seed_hosts;
    assert_int_equal(buildbucket_manager_new(&bo, &mgr_v1), 0);
    assert_string_equal(mgr->name, "buildbucket");
    assert_true(mgr->multistage);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    F.s = http_server_free(F.s);
    mgr = buildbucket_manager_free(mgr);
    mgr_v1 = buildbucket_manager_free(mgr_v1);
    client_v2 = client_free(client_v2);
    client_v1 = client_free(client_v1);
    json_decref(F.build);
    json_decref(F.scheduled);
    json_decref(F.last_schedule);
    json_decref(F.last_cancel);
    json_decref(F.v1_put_reply);
    json_decref(F.v1_get_reply);
    json_decref(F.v1_last_put);
    return 0;
}

/* Resets the fake between tests. */
static int fake_reset(void **state)
{
    (void)state;
    pthread_mutex_lock(&F.mu);
    json_decref(F.build);
    F.build = NULL;
    F.request_id[0] = '\0';
    F.schedule_calls = F.created = F.get_calls = F.cancel_calls = 0;
    F.fail_schedule_code = F.fail_get_code = 0;
    F.fail_after_create = false;
    F.bad_mode = 0;
    F.v1_put_calls = F.v1_get_calls = F.v1_cancel_calls = 0;
    F.v1_put_status = F.v1_get_status = 0;
    pthread_mutex_unlock(&F.mu);
    return 0;
}

static void set_build_status(const char *status)
{
    pthread_mutex_lock(&F.mu);
    json_object_set_new(F.build, "status", json_string(status));
    pthread_mutex_unlock(&F.mu);
}

/* ---- an invocation ---- */

struct inv {
    struct fake_ctl f;
    json_t *task, *request;
};

static void inv_init(struct inv *v, const char *server, int64_t id)
{
    char task[512];
    snprintf(task, sizeof(task),
             "{\"buildbucket\": {\"server\": \"%s\", \"bucket\": \"ci\", \"builder\": \"linux\"}}",
             server);
    v->task = J(task);
    v->request = J("{}");
    fake_ctl_init(&v->f, id, v->task);
    v->f.ctl.request = v->request;
    v->f.ctl.job_id = "proj/job";
    v->f.ctl.realm_id = "proj:@legacy";
}

static void inv_release(struct inv *v)
{
    fake_ctl_release(&v->f);
    json_decref(v->task);
    json_decref(v->request);
}

/* Empties the log and timers (as the engine does after a save). */
static void inv_saved(struct inv *v)
{
    for (size_t i = 0; i < v->f.n_log; i++)
        free(v->f.log[i]);
    v->f.n_log = 0;
    v->f.n_timers = 0;
    v->f.ctl.err[0] = '\0';
}

static bool log_has(const struct inv *v, const char *line)
{
    for (size_t i = 0; i < v->f.n_log; i++)
        if (strcmp(v->f.log[i], line) == 0)
            return true;
    return false;
}

static void assert_log(const struct inv *v, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < v->f.n_log || i < n; i++) {
        const char *g = i < v->f.n_log ? v->f.log[i] : "(none)";
        const char *w = i < n ? want[i] : "(none)";
        if (strcmp(g, w) != 0)
            fail_msg("log line %zu:\ngot  %s\nwant %s", i, g, w);
    }
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static json_t *td_get(const struct inv *v, const char *key)
{
    return json_object_get(v->f.ctl.task_data, key);
}

/* ---- v2 ---- */

/* The 2025 seed replayed: its job, trigger, properties and tags, its builds. */
static void test_seed_2025_flow(void **state)
{
    struct inv v;
    (void)state;
    v.task = J("{\"buildbucket\": {\"server\": \"cr-buildbucket.appspot.com\","
               " \"bucket\": \"pigweed.dev.ci\", \"builder\": \"pigweed-linux-zephyr\"}}");
    v.request = J(
        "{\"incomingTriggers\": [{"
        "  \"id\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/refs/heads/main@"
        "59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
        "  \"title\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
        "  \"url\": \"https://pigweed.googlesource.com/pigweed/pigweed/+/"
        "59e0a8f4a6f6185007a20e61c81962b6198f62d4\","
        "  \"gitiles\": {\"repo\": \"https://pigweed.googlesource.com/pigweed/pigweed\","
        "   \"ref\": \"refs/heads/main\","
        "   \"revision\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\"}}],"
        " \"properties\": {\"branch\": \"refs/heads/main\","
        "  \"repository\": \"https://pigweed.googlesource.com/pigweed/pigweed\","
        "  \"revision\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\"},"
        " \"tags\": [\"buildset:commit/gitiles/pigweed.googlesource.com/pigweed/pigweed/+/"
        "59e0a8f4a6f6185007a20e61c81962b6198f62d4\", \"gitiles_ref:refs/heads/main\"]}");
    fake_ctl_init(&v.f, 8866960890537692368, v.task);
    v.f.ctl.request = v.request;
    v.f.ctl.job_id = "pigweed/pigweed.dev.ci-pigweed-linux-zephyr";
    v.f.ctl.project = "pigweed";
    v.f.ctl.realm_id = "pigweed:@legacy";

    assert_int_equal(mgr->launch(mgr, &v.f.ctl), 0);
    assert_int_equal(v.f.ctl.status, INV_RUNNING);
    assert_int_equal(v.f.n_log, 7);
    assert_string_equal(v.f.log[2], "Preparing PubSub topic for "
                                    "\"https://cr-buildbucket.appspot.com\"");
    assert_string_equal(v.f.log[3], "PubSub topic is \"" SEED_TOPIC "\"");
    assert_true(starts_with(v.f.log[4], "Buildbucket request:\n{\n  \"requestId\": "
                                        "\"8866960890537692368\",\n"));
    char want[8192];
    snprintf(want, sizeof(want), "Scheduled build:\n%s", seed25_scheduled);
    assert_string_equal(v.f.log[5], want);
    assert_string_equal(v.f.log[6],
                        "Task URL: https://cr-buildbucket.appspot.com/build/8701530828601276817");
    assert_string_equal(v.f.ctl.view_url,
                        "https://cr-buildbucket.appspot.com/build/8701530828601276817");
    assert_int_equal(v.f.n_timers, 1);
    assert_string_equal(v.f.timers[0].title, "check-buildbucket-build-status");
    assert_false(v.f.timers[0].has_payload);
    assert_int_equal(v.f.timers[0].delay_ns, 224 * S);
    assert_int_equal(v.f.saves, 1); /* the log is flushed before the slow call */
    /* notify.userData is the token, base64; the debug log never shows it. */
    pthread_mutex_lock(&F.mu);
    const json_t *notify = json_object_get(F.last_schedule, "notify");
    assert_string_equal(json_string_value(json_object_get(notify, "userData")),
                        "ZmFrZS10b2tlbg=="); /* base64("fake-token") */
    assert_string_equal(json_string_value(json_object_get(notify, "pubsubTopic")), SEED_TOPIC);
    pthread_mutex_unlock(&F.mu);
    assert_null(strstr(v.f.log[4], "userData"));

    /* The first push: still SCHEDULED. */
    inv_saved(&v);
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), 0);
    const char *push1[] = {"Received PubSub notification, asking Buildbucket for the build status",
                           "Build status: SCHEDULED", NULL};
    assert_log(&v, push1);
    assert_int_equal(v.f.n_timers, 0); /* pushes add no timers */
    /* The timer LUCI set at launch: the push path is proven, so the next is the long poll. */
    inv_saved(&v);
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL), 0);
    const char *tick[] = {"Build status: SCHEDULED", NULL};
    assert_log(&v, tick);
    assert_int_equal(v.f.n_timers, 1);
    assert_int_equal(v.f.timers[0].delay_ns, 3600 * S);

    /* The build succeeds; the push brings the final Build dump. */
    pthread_mutex_lock(&F.mu);
    json_decref(F.build);
    F.build = J(seed25_final);
    pthread_mutex_unlock(&F.mu);
    inv_saved(&v);
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), 0);
    assert_int_equal(v.f.ctl.status, INV_SUCCEEDED);
    snprintf(want, sizeof(want), "Build:\n%s", seed25_final);
    const char *push2[] = {"Received PubSub notification, asking Buildbucket for the build status",
                           want, NULL};
    assert_log(&v, push2);
    assert_int_equal(json_integer_value(td_get(&v, "pushes")), 2);
    assert_string_equal(json_string_value(td_get(&v, "build_id")), "8701530828601276817");
    inv_release(&v);
}

static void launch_ok(struct inv *v)
{
    assert_int_equal(mgr->launch(mgr, &v->f.ctl), 0);
    assert_int_equal(v->f.ctl.status, INV_RUNNING);
    inv_saved(v);
}

static void test_retry_same_request_id(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 77);
    pthread_mutex_lock(&F.mu);
    F.fail_schedule_code = GRPC_UNAVAILABLE;
    F.fail_after_create = true;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_TRANSIENT);
    assert_true(log_has(&v, "Failed to schedule Buildbucket build - rpc error: code = "
                            "Unavailable desc = Service unavailable"));
    assert_int_equal(v.f.ctl.status, INV_STARTING);
    /* The engine launches again (RETRYING): the same requestId, the same build. */
    inv_saved(&v);
    v.f.ctl.status = INV_RETRYING;
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), 0);
    assert_int_equal(v.f.ctl.status, INV_RUNNING);
    pthread_mutex_lock(&F.mu);
    assert_int_equal(F.schedule_calls, 2);
    assert_int_equal(F.created, 1);
    assert_string_equal(json_string_value(json_object_get(F.last_schedule, "requestId")), "77");
    pthread_mutex_unlock(&F.mu);
    inv_release(&v);
}

static void test_retry_finds_build_finished(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 78);
    launch_ok(&v);
    json_decref(v.f.ctl.task_data);
    v.f.ctl.task_data = NULL;
    set_build_status("FAILURE");
    /* A relaunch (e.g. after a crash before the save) sees the final status at once. */
    v.f.ctl.status = INV_STARTING;
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), 0);
    assert_int_equal(v.f.ctl.status, INV_FAILED);
    assert_int_equal(v.f.n_timers, 0);
    inv_release(&v);
}

static void test_permission_denied_is_fatal(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 79);
    pthread_mutex_lock(&F.mu);
    F.fail_schedule_code = GRPC_PERMISSION_DENIED;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_FATAL);
    assert_true(log_has(&v, "Failed to schedule Buildbucket build - rpc error: code = "
                            "PermissionDenied desc = the fake says no"));
    assert_int_equal(F.created, 0);
    inv_release(&v);
}

static void test_timer_and_lost_push(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 80);
    launch_ok(&v);
    /* Timers of other titles are ignored. */
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "something else", "x"), 0);
    assert_int_equal(v.f.n_log, 0);
    assert_int_equal(F.get_calls, 0);
    /* No push yet: LUCI's timer. */
    set_build_status("STARTED");
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL), 0);
    const char *want[] = {"Build status: STARTED", NULL};
    assert_log(&v, want);
    assert_int_equal(v.f.timers[0].delay_ns, 224 * S);
    /* A push: the long poll. */
    inv_saved(&v);
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), 0);
    assert_true(json_is_true(td_get(&v, "push_ok")));
    /* A change no push announced: back to LUCI's timer. */
    inv_saved(&v);
    pthread_mutex_lock(&F.mu);
    json_object_set_new(F.build, "status", json_string("SCHEDULED"));
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL), 0);
    assert_false(json_is_true(td_get(&v, "push_ok")));
    assert_int_equal(v.f.timers[0].delay_ns, 224 * S);
    /* The build ends while pushes are lost: the timer notices. */
    inv_saved(&v);
    set_build_status("CANCELED");
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL), 0);
    assert_int_equal(v.f.ctl.status, INV_ABORTED);
    assert_int_equal(v.f.n_timers, 0);
    assert_true(starts_with(v.f.log[0], "Build:\n{\n"));
    inv_release(&v);
}

static void test_status_mapping_via_get(void **state)
{
    static const struct {
        const char *status;
        enum inv_status want;
        const char *extra_log;
    } cases[] = {
        {"SUCCESS", INV_SUCCEEDED, NULL},
        {"FAILURE", INV_FAILED, NULL},
        {"INFRA_FAILURE", INV_FAILED, NULL},
        {"CANCELED", INV_ABORTED, NULL},
        {"ENDED_MASK", INV_FAILED, "Unexpected Build status ENDED_MASK, marking the invocation as failed"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct inv v;
        fake_reset(NULL);
        inv_init(&v, "bb.test", 90 + (int64_t)i);
        launch_ok(&v);
        set_build_status(cases[i].status);
        assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), 0);
        assert_int_equal(v.f.ctl.status, cases[i].want);
        if (cases[i].extra_log)
            assert_string_equal(v.f.log[1], cases[i].extra_log);
        inv_release(&v);
    }
}

static void test_starting_and_abort(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 81);
    /* A push that raced ahead of the launch: retry later, nothing logged or called. */
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), TASK_ERR_TRANSIENT);
    assert_string_equal(v.f.ctl.err, "invocation is still starting, try again later");
    assert_int_equal(v.f.n_log, 0);
    /* Abort while STARTING: transient, no CancelBuild. */
    assert_int_equal(mgr->abort(mgr, &v.f.ctl), TASK_ERR_TRANSIENT);
    assert_string_equal(v.f.ctl.err, "can't abort Buildbucket invocation in state \"STARTING\"");
    v.f.ctl.status = INV_RETRYING;
    assert_int_equal(mgr->abort(mgr, &v.f.ctl), TASK_ERR_TRANSIENT);
    assert_int_equal(F.cancel_calls, 0);
    v.f.ctl.status = INV_STARTING;
    launch_ok(&v);
    assert_int_equal(mgr->abort(mgr, &v.f.ctl), 0);
    pthread_mutex_lock(&F.mu);
    assert_int_equal(F.cancel_calls, 1);
    assert_string_equal(json_string_value(json_object_get(F.last_cancel, "id")),
                        "8701530828601276817");
    assert_string_equal(json_string_value(json_object_get(F.last_cancel, "summaryMarkdown")),
                        "Canceled via LUCI Scheduler");
    pthread_mutex_unlock(&F.mu);
    /* A finished invocation is not checked again. */
    v.f.ctl.status = INV_SUCCEEDED;
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), TASK_ERR_FATAL);
    assert_string_equal(v.f.ctl.err,
                        "unexpected invocation status \"SUCCEEDED\", expecting \"RUNNING\"");
    inv_release(&v);
}

static void test_get_errors(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "bb.test", 82);
    launch_ok(&v);
    pthread_mutex_lock(&F.mu);
    F.fail_get_code = GRPC_UNAVAILABLE;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL),
                     TASK_ERR_TRANSIENT);
    assert_int_equal(v.f.ctl.status, INV_RUNNING);
    assert_int_equal(v.f.n_timers, 0); /* the engine retries this timer */
    inv_saved(&v);
    pthread_mutex_lock(&F.mu);
    F.fail_get_code = GRPC_NOT_FOUND;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL),
                     TASK_ERR_FATAL);
    assert_int_equal(v.f.ctl.status, INV_FAILED);
    assert_string_equal(v.f.log[0], "Failed to fetch build - rpc error: code = NotFound desc = "
                                    "requested resource not found");
    /* Unreadable task data fails the invocation. */
    v.f.ctl.status = INV_RUNNING;
    json_decref(v.f.ctl.task_data);
    v.f.ctl.task_data = J("{\"build_id\": \"not a number\"}");
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), TASK_ERR_FATAL);
    assert_int_equal(v.f.ctl.status, INV_FAILED);
    inv_release(&v);
}

static void test_topic_failures(void **state)
{
    struct inv v;
    (void)state;
    inv_init(&v, "noinfo.test", 83);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_TRANSIENT);
    assert_true(log_has(&v, "Preparing PubSub topic for \"https://noinfo.test\""));
    assert_true(log_has(&v, "Failed to prepare PubSub topic - HTTP 404 from "
                            "/auth/api/v1/server/info"));
    inv_release(&v);
    /* No token key: transient too; the server info is cached from before. */
    inv_init(&v, "bb.test", 84);
    v.f.fail_pubsub_token = -EIO;
    int before = F.info_calls;
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_TRANSIENT);
    assert_true(log_has(&v, "Failed to prepare PubSub topic - cannot make the PubSub auth "
                            "token: Input/output error"));
    assert_int_equal(F.info_calls, before);
    assert_int_equal(F.schedule_calls, 0);
    inv_release(&v);
}

static void test_hostile_answers(void **state)
{
    (void)state;
    for (int mode = 1; mode <= 4; mode++) {
        struct inv v;
        print_message("mode %d\n", mode);
        F.bad_mode = mode;
        inv_init(&v, "bad.test", 85);
        int r = mgr->launch(mgr, &v.f.ctl);
        /* Each is an INTERNAL in Go's client: retried, never a crash or a bogus RUNNING. */
        assert_int_equal(r, TASK_ERR_TRANSIENT);
        assert_int_equal(v.f.ctl.status, INV_STARTING);
        assert_null(v.f.ctl.task_data);
        inv_release(&v);
        /* The same answers to GetBuild leave a running invocation running. */
        inv_init(&v, "bad.test", 85);
        v.f.ctl.status = INV_RUNNING;
        v.f.ctl.task_data = J("{\"build_id\": \"123\"}");
        assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), TASK_ERR_TRANSIENT);
        assert_int_equal(v.f.ctl.status, INV_RUNNING);
        inv_release(&v);
    }
    /* A GetBuild answer about another build is no answer about ours. */
    struct inv v;
    F.bad_mode = 5;
    inv_init(&v, "bad.test", 85);
    v.f.ctl.status = INV_RUNNING;
    v.f.ctl.task_data = J("{\"build_id\": \"123\"}");
    assert_int_equal(mgr->handle_notification(mgr, &v.f.ctl, NULL), TASK_ERR_TRANSIENT);
    assert_int_equal(v.f.ctl.status, INV_RUNNING);
    inv_release(&v);
}

/* ---- v1 ---- */

static void test_seed_2021_flow(void **state)
{
    struct inv v;
    char want[16384];
    (void)state;
    pthread_mutex_lock(&F.mu);
    json_decref(F.v1_put_reply);
    F.v1_put_reply = J(seed21_response);
    json_decref(F.v1_get_reply);
    F.v1_get_reply = J(seed21_response);
    json_object_set_new(json_object_get(F.v1_get_reply, "build"), "status",
                        json_string("STARTED"));
    pthread_mutex_unlock(&F.mu);

    v.task = J("{\"buildbucket\": {\"server\": \"cr-buildbucket.appspot.com\","
               " \"bucket\": \"luci.tint.ci\", \"builder\": \"mac-rel\"}}");
    v.request = J("{\"incomingTriggers\": [{"
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
    fake_ctl_init(&v.f, 9020353019805130176, v.task);
    v.f.ctl.request = v.request;
    v.f.ctl.job_id = "tint/mac-rel";
    v.f.ctl.project = "tint";
    v.f.ctl.realm_id = "tint:@legacy";

    assert_int_equal(mgr_v1->launch(mgr_v1, &v.f.ctl), 0);
    assert_int_equal(v.f.ctl.status, INV_RUNNING);
    assert_int_equal(v.f.n_log, 5);
    assert_string_equal(v.f.log[0],
                        "Preparing PubSub topic for \"https://cr-buildbucket.appspot.com\"");
    assert_string_equal(v.f.log[1], "PubSub topic is \"" SEED_TOPIC "\"");
    assert_true(starts_with(v.f.log[2], "Buildbucket request:\n{\n  \"bucket\": \"luci.tint.ci\",\n"));
    assert_non_null(strstr(v.f.log[2], "\"auth_token\": \"...\""));
    snprintf(want, sizeof(want), "Buildbucket response:\n%s", seed21_response);
    assert_string_equal(v.f.log[3], want);
    assert_string_equal(v.f.log[4], "Task URL: https://ci.chromium.org/b/8854922957825743408");
    assert_int_equal(v.f.n_timers, 1);
    assert_int_equal(v.f.timers[0].delay_ns, 60 * S); /* "after 1m0s" */
    pthread_mutex_lock(&F.mu);
    const json_t *cb = json_object_get(F.v1_last_put, "pubsub_callback");
    assert_string_equal(json_string_value(json_object_get(cb, "auth_token")), "fake-token");
    assert_string_equal(json_string_value(json_object_get(F.v1_last_put, "client_operation_id")),
                        "9020353019805130176");
    pthread_mutex_unlock(&F.mu);

    /* A push, then a timer tick: STARTED. */
    inv_saved(&v);
    assert_int_equal(mgr_v1->handle_notification(mgr_v1, &v.f.ctl, NULL), 0);
    const char *push[] = {"Received PubSub notification, asking Buildbucket for the build status",
                          "Build 8854922957825743408: status \"STARTED\", result \"\", "
                          "failure_reason \"\", cancelation_reason \"\"",
                          NULL};
    assert_log(&v, push);
    inv_saved(&v);
    assert_int_equal(mgr_v1->handle_timer(mgr_v1, &v.f.ctl, "check-buildbucket-build-status",
                                          NULL), 0);
    const char *tick[] = {"Timer tick, asking Buildbucket for the build status",
                          "Build 8854922957825743408: status \"STARTED\", result \"\", "
                          "failure_reason \"\", cancelation_reason \"\"",
                          NULL};
    assert_log(&v, tick);
    assert_int_equal(v.f.timers[0].delay_ns, 60 * S);

    /* COMPLETED / SUCCESS: the seed's last lines. */
    pthread_mutex_lock(&F.mu);
    json_decref(F.v1_get_reply);
    F.v1_get_reply = J(seed21_final);
    pthread_mutex_unlock(&F.mu);
    inv_saved(&v);
    assert_int_equal(mgr_v1->handle_notification(mgr_v1, &v.f.ctl, NULL), 0);
    assert_int_equal(v.f.ctl.status, INV_SUCCEEDED);
    snprintf(want, sizeof(want), "Buildbucket build:\n%s", seed21_final);
    const char *fin[] = {"Received PubSub notification, asking Buildbucket for the build status",
                         "Build 8854922957825743408: status \"COMPLETED\", result \"SUCCESS\", "
                         "failure_reason \"\", cancelation_reason \"\"",
                         want, NULL};
    assert_log(&v, fin);
    inv_release(&v);
}

static void test_v1_results_and_errors(void **state)
{
    struct inv v;
    (void)state;
    pthread_mutex_lock(&F.mu);
    json_decref(F.v1_put_reply);
    F.v1_put_reply = J("{\"build\": {\"id\": \"55\", \"status\": \"SCHEDULED\"}}");
    json_decref(F.v1_get_reply);
    F.v1_get_reply = J("{\"build\": {\"id\": \"55\", \"status\": \"COMPLETED\","
                       " \"result\": \"CANCELED\", \"cancelation_reason\": \"CANCELED_EXPLICITLY\"}}");
    pthread_mutex_unlock(&F.mu);
    inv_init(&v, "v1.test", 100);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), 0);
    /* No url in the answer: LUCI-style view URL. */
    assert_string_equal(v.f.ctl.view_url, "https://v1.test/build/55");
    inv_saved(&v);
    /* v1 maps a canceled build to FAILED. */
    assert_int_equal(mgr->handle_timer(mgr, &v.f.ctl, "check-buildbucket-build-status", NULL), 0);
    assert_int_equal(v.f.ctl.status, INV_FAILED);
    assert_string_equal(v.f.log[1], "Build 55: status \"COMPLETED\", result \"CANCELED\", "
                                    "failure_reason \"\", cancelation_reason "
                                    "\"CANCELED_EXPLICITLY\"");
    /* Cancel. */
    v.f.ctl.status = INV_RUNNING;
    assert_int_equal(mgr->abort(mgr, &v.f.ctl), 0);
    assert_int_equal(F.v1_cancel_calls, 1);
    inv_release(&v);

    /* An application error is fatal. */
    pthread_mutex_lock(&F.mu);
    json_decref(F.v1_put_reply);
    F.v1_put_reply = J("{\"error\": {\"reason\": \"BUILDER_NOT_FOUND\", \"message\": \"no such builder\"}}");
    pthread_mutex_unlock(&F.mu);
    inv_init(&v, "v1.test", 101);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_FATAL);
    assert_string_equal(v.f.ctl.err, "buildbucket error \"BUILDER_NOT_FOUND\" - no such builder");
    assert_true(log_has(&v, "Buildbucket returned error \"BUILDER_NOT_FOUND\": no such builder"));
    inv_release(&v);
    /* No build in the answer. */
    pthread_mutex_lock(&F.mu);
    json_decref(F.v1_put_reply);
    F.v1_put_reply = J("{\"kind\": \"x\"}");
    pthread_mutex_unlock(&F.mu);
    inv_init(&v, "v1.test", 102);
    assert_int_equal(mgr->launch(mgr, &v.f.ctl), TASK_ERR_FATAL);
    assert_string_equal(v.f.ctl.err, "bad buildbucket response, no 'build' field");
    inv_release(&v);
    /* HTTP 503 is transient, 403 fatal. */
    static const struct {
        int status;
        int want;
    } http[] = {{503, TASK_ERR_TRANSIENT}, {429, TASK_ERR_TRANSIENT}, {403, TASK_ERR_FATAL}};
    for (size_t i = 0; i < ARRAY_SIZE(http); i++) {
        F.v1_put_status = http[i].status;
        inv_init(&v, "v1.test", 103);
        assert_int_equal(mgr->launch(mgr, &v.f.ctl), http[i].want);
        assert_int_equal(v.f.ctl.status, INV_STARTING);
        inv_release(&v);
    }
    F.v1_put_status = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_seed_2025_flow, fake_reset),
        cmocka_unit_test_setup(test_retry_same_request_id, fake_reset),
        cmocka_unit_test_setup(test_retry_finds_build_finished, fake_reset),
        cmocka_unit_test_setup(test_permission_denied_is_fatal, fake_reset),
        cmocka_unit_test_setup(test_timer_and_lost_push, fake_reset),
        cmocka_unit_test_setup(test_status_mapping_via_get, fake_reset),
        cmocka_unit_test_setup(test_starting_and_abort, fake_reset),
        cmocka_unit_test_setup(test_get_errors, fake_reset),
        cmocka_unit_test_setup(test_topic_failures, fake_reset),
        cmocka_unit_test_setup(test_hostile_answers, fake_reset),
        cmocka_unit_test_setup(test_seed_2021_flow, fake_reset),
        cmocka_unit_test_setup(test_v1_results_and_errors, fake_reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
