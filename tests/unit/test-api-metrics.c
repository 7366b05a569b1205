/*
 * test-api-metrics.c - GET /metrics and GET /readyz on a real server.
 *
 * Every scrape is read by a strict parser of the Prometheus text format
 * (prom-parse.h); the counters must move when the thing they count
 * happens: an HTTP request answered, an outgoing call made, a trigger
 * emitted and consumed, an invocation started and finished, a store
 * transaction.  /readyz answers 200 with configs and a store, 503 with
 * the reason without configs or with a store that does not answer.
 */
#include "base/compat.h"
#include "api/metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine.h"
#include "net/client.h"
#include "net/http.h"
#include "store/store.h"
#include "tasks/registry.h"

#include "prom-parse.h"

#define T0 "2026-01-01T00:00:00Z"

/* Two triggered jobs: spec 3.2 shows a triggered job without invocations as WAITING. */
static const char cfg_text[] =
    "job { id: \"a\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n"
    "job { id: \"b\" schedule: \"triggered\" noop { sleep_ms: 1 } }\n";

struct fixture {
    char dir[64];
    struct manual_clock clock;
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
    struct http_server *http;
    struct client *client;
    char base[64];
};

static struct prom_doc doc;

static void apply(struct fixture *f, const char *project)
{
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    struct cfg_validate_options vo = {.project = project};

    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg_text, strlen(cfg_text), &cfg, &d), 0);
    assert_int_equal(cfg_validate(cfg, &vo, &d), 0);
    assert_int_equal(engine_apply_project(f->e, project, cfg, NULL, "rev1", NULL), 0);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
}

/* Engine over store (opened here when NULL), server with the metrics routes. */
static struct fixture *fixture_new(struct store *store, bool with_config)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[128], err[256] = "";
    int64_t t0;
    struct task_options topts = {.noop_default_sleep_ns = NS_PER_MS};
    struct http_server_options ho = {.host = "127.0.0.1"};
    struct client_options co = {0};
    struct client_error ce;

    assert_non_null(f);
    assert_int_equal(time_parse_rfc3339(T0, &t0), 0);
    manual_clock_init(&f->clock, t0);
    if (store) {
        f->store = store;
    } else {
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-metrics-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(url, sizeof(url), "sqlite:%s/tock.db", f->dir);
        if (store_open(url, &f->store, err, sizeof(err)) != 0)
            fail_msg("store_open: %s", err);
    }
    assert_int_equal(task_registry_default(&topts, &f->reg), 0);
    struct engine_options eo = {.store = f->store, .clock = &f->clock.base, .registry = f->reg,
                                .settings = {.list_chunk = 1}}; /* the count crosses chunks */
    assert_int_equal(engine_new(&eo, &f->e), 0);
    if (with_config) {
        apply(f, "p");
        assert_true(engine_run_due(f->e, 0) >= 0);
    }
    assert_int_equal(http_server_new(&ho, &f->http), 0);
    assert_int_equal(api_register_metrics(f->http, f->e), 0);
    assert_int_equal(http_server_start(f->http), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->http));
    assert_int_equal(client_new(&co, &f->client, &ce), 0);
    return f;
}

static void fixture_free(struct fixture *f, bool own_store)
{
    char path[128];

    f->client = client_free(f->client);
    f->http = http_server_free(f->http);
    f->e = engine_free(f->e);
    if (own_store)
        f->store = store_close(f->store);
    f->reg = task_registry_free(f->reg);
    manual_clock_release(&f->clock);
    if (f->dir[0]) {
        snprintf(path, sizeof(path), "%s/tock.db", f->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/tock.db-wal", f->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/tock.db-shm", f->dir);
        unlink(path);
        rmdir(f->dir);
    }
    free(f);
}

/* GET path; returns the status, the body into *body (caller frees). */
static long get(struct fixture *f, const char *path, char **body)
{
    struct client_http_request rq = {.method = "GET", .host = f->base, .path = path,
                                     .accept = "text/plain"};
    struct client_http_response resp = {0};
    struct client_error ce;

    if (client_http(f->client, &rq, NULL, &resp, &ce) != 0)
        fail_msg("GET %s failed", path);
    *body = resp.body;
    return resp.status;
}

/* GET /metrics, parsed strictly into doc. */
static void scrape(struct fixture *f)
{
    char *body = NULL;

    assert_int_equal(get(f, "/metrics", &body), 200);
    if (prom_parse(body, &doc) != 0)
        fail_msg("/metrics is not valid exposition text (%s):\n%s", doc.err, body);
    free(body);
}

static double val(const char *name, const char *labels)
{
    double v = prom_value(&doc, name, labels);

    return isnan(v) ? 0 : v; /* a series never bumped is absent: 0 */
}

/* Requests are counted when they complete, just after the answer went out. */
static void wait_counted(const char *route, const char *code, uint64_t want)
{
    for (int i = 0; i < 500 && metric_counter_get(&http_metric_requests, route, code) < want; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_true(metric_counter_get(&http_metric_requests, route, code) >= want);
}

static void test_http_and_outgoing_counted(void **state)
{
    struct fixture *f = fixture_new(NULL, true);
    char *body = NULL, host_ok[160], host_404[160], hz[64];
    double ok0, nf0, hz0;
    uint64_t hz_now, nf_now;

    (void)state;
    snprintf(host_ok, sizeof(host_ok), "host=\"%s\",code=\"200\"", f->base);
    snprintf(host_404, sizeof(host_404), "host=\"%s\",code=\"404\"", f->base);
    snprintf(hz, sizeof(hz), "route=\"/healthz\",code=\"200\"");
    hz_now = metric_counter_get(&http_metric_requests, "/healthz", "200");
    nf_now = metric_counter_get(&http_metric_requests, "none", "404");
    scrape(f);
    assert_string_equal(prom_type(&doc, "tock_http_requests_total"), "counter");
    assert_string_equal(prom_type(&doc, "tock_outgoing_calls_total"), "counter");
    ok0 = val("tock_outgoing_calls_total", host_ok);
    nf0 = val("tock_outgoing_calls_total", host_404);
    hz0 = val("tock_http_requests_total", hz);
    assert_true(hz0 == (double)hz_now);

    assert_int_equal(get(f, "/healthz", &body), 200);
    free(body);
    assert_int_equal(get(f, "/no/such/page", &body), 404);
    free(body);
    wait_counted("/healthz", "200", hz_now + 1);
    wait_counted("none", "404", nf_now + 1);
    scrape(f);
    assert_true(val("tock_http_requests_total", hz) == hz0 + 1);
    assert_true(val("tock_http_requests_total", "route=\"none\",code=\"404\"") ==
                (double)nf_now + 1);
    /* the first scrape and /healthz answered 200, the unknown page 404 */
    assert_true(val("tock_outgoing_calls_total", host_ok) == ok0 + 2);
    assert_true(val("tock_outgoing_calls_total", host_404) == nf0 + 1);
    fixture_free(f, true);
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

static void test_engine_counted(void **state)
{
    struct fixture *f = fixture_new(NULL, true);
    double started0, ok0, pending0, consumed0, tx0, depth0, lag;
    char id[32];

    (void)state;
    scrape(f);
    assert_string_equal(prom_type(&doc, "tock_jobs"), "gauge");
    assert_string_equal(prom_type(&doc, "tock_store_transaction_seconds"), "histogram");
    assert_string_equal(prom_type(&doc, "tock_cron_tick_lateness_seconds"), "histogram");
    assert_true(val("tock_store_up", "") == 1);
    assert_true(val("tock_jobs", "state=\"WAITING\"") == 2);
    assert_true(val("tock_jobs", "state=\"RUNNING\"") == 0);
    started0 = val("tock_invocations_started_total", "");
    ok0 = val("tock_invocations_finished_total", "status=\"SUCCEEDED\"");
    pending0 = val("tock_trigger_fates_total", "fate=\"PENDING\"");
    consumed0 = val("tock_trigger_fates_total", "fate=\"CONSUMED\"");
    tx0 = val("tock_store_transaction_seconds_count", "");
    depth0 = val("tock_task_queue_depth", "");
    assert_true(val("tock_task_queue_lag_seconds", "") == 0);

    assert_int_equal(engine_trigger_now(f->e, "p/a", "user:t@example.com", id), 0);
    manual_clock_advance(&f->clock, 7 * NS_PER_SEC);
    scrape(f);
    assert_true(val("tock_trigger_fates_total", "fate=\"PENDING\"") == pending0 + 1);
    assert_true(val("tock_task_queue_depth", "") > depth0);
    /* the task the trigger enqueued was due at most 7 s ago, and is due */
    lag = val("tock_task_queue_lag_seconds", "");
    assert_true(lag > 0 && lag <= 7);
    assert_true(val("tock_store_transaction_seconds_count", "") > tx0);

    run_engine(f, 5);
    scrape(f);
    assert_true(val("tock_invocations_started_total", "") == started0 + 1);
    assert_true(val("tock_invocations_finished_total", "status=\"SUCCEEDED\"") == ok0 + 1);
    assert_true(val("tock_trigger_fates_total", "fate=\"CONSUMED\"") == consumed0 + 1);
    assert_true(val("tock_task_queue_lag_seconds", "") == 0);
    fixture_free(f, true);
}

/* A store whose every transaction fails, as an unreachable one would. */
static int down_begin(struct store *s, struct store_tx **ret)
{
    (void)s;
    (void)ret;
    return -EIO;
}

static const char *down_errmsg(struct store *s)
{
    (void)s;
    return "store down";
}

static const struct store_ops down_ops = {
    .scheme = "down",
    .errmsg = down_errmsg,
    .begin = down_begin,
};

static void test_readyz(void **state)
{
    struct store down = {.ops = &down_ops};
    struct fixture *f;
    char *body = NULL;

    (void)state;
    f = fixture_new(NULL, true);
    assert_int_equal(get(f, "/readyz", &body), 200);
    assert_string_equal(body, "ok\n");
    free(body);
    fixture_free(f, true);

    f = fixture_new(NULL, false); /* a store, no config */
    assert_int_equal(get(f, "/readyz", &body), 503);
    assert_non_null(strstr(body, "no project config"));
    free(body);
    fixture_free(f, true);

    f = fixture_new(&down, false);
    assert_int_equal(get(f, "/readyz", &body), 503);
    assert_non_null(strstr(body, "store does not answer"));
    free(body);
    /* /metrics still answers, valid, saying the store is down */
    scrape(f);
    assert_true(val("tock_store_up", "") == 0);
    assert_string_equal(prom_type(&doc, "tock_jobs"), "");
    assert_string_equal(prom_type(&doc, "tock_http_requests_total"), "counter");
    fixture_free(f, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_and_outgoing_counted),
        cmocka_unit_test(test_engine_counted),
        cmocka_unit_test(test_readyz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
