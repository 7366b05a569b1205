/*
 * metrics.c - GET /metrics and GET /readyz (contract in metrics.h).
 */
#include "base/compat.h"
#include "api/metrics.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "engine/engine.h"
#include "net/client.h"
#include "net/http.h"
#include "store/store.h"

/* The engine's gauges; tock_store_up says whether they could be read. */
static int render_engine_gauges(struct engine *e, struct buf *out)
{
    size_t counts[_ENGINE_JOB_STATE_MAX], depth = 0;
    const char *names[_ENGINE_JOB_STATE_MAX];
    double values[_ENGINE_JOB_STATE_MAX], v;
    int64_t lag_ns = 0;
    int r, rr;

    rr = engine_count_jobs_by_state(e, counts);
    if (rr == 0)
        rr = engine_queue_stats(e, &depth, &lag_ns);
    if (rr < 0)
        log_warn("api", "metrics: cannot read the engine: %s", strerror(-rr));
    v = rr == 0 ? 1 : 0;
    r = metric_gauge_render(out, "tock_store_up",
                            "1 when the store answered this scrape's reads, else 0.", NULL, NULL,
                            &v, 1);
    if (r < 0 || rr < 0)
        return r;
    for (int s = 0; s < _ENGINE_JOB_STATE_MAX; s++) {
        names[s] = engine_job_state_name((enum engine_job_state)s);
        values[s] = (double)counts[s];
    }
    r = metric_gauge_render(out, "tock_jobs", "Enabled jobs by state.", "state", names, values,
                            _ENGINE_JOB_STATE_MAX);
    v = (double)depth;
    if (r == 0)
        r = metric_gauge_render(out, "tock_task_queue_depth",
                                "Rows in the engine's task queue (due or not).", NULL, NULL, &v,
                                1);
    v = (double)lag_ns / 1e9;
    if (r == 0)
        r = metric_gauge_render(out, "tock_task_queue_lag_seconds",
                                "How long the earliest leasable task has been due (0: none due).",
                                NULL, NULL, &v, 1);
    return r;
}

int api_metrics_render(struct engine *e, struct buf *out)
{
    struct metric_counter *const counters[] = {
        &engine_metric_inv_started, &engine_metric_inv_finished, &engine_metric_trigger_fates,
        &http_metric_requests,      &client_metric_calls,
    };
    int r = render_engine_gauges(e, out);

    for (size_t i = 0; i < ARRAY_SIZE(counters) && r == 0; i++)
        r = metric_counter_render(out, counters[i]);
    if (r == 0)
        r = metric_histogram_render(out, &store_metric_tx_seconds);
    if (r == 0)
        r = metric_histogram_render(out, &engine_metric_tick_lateness);
    return r;
}

static int metrics_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    int r;

    (void)req;
    r = api_metrics_render(ctx, &resp->body);
    if (r == 0)
        r = http_response_set_header(resp, "Content-Type",
                                     "text/plain; version=0.0.4; charset=utf-8");
    return r;
}

static int readyz_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    char **names = NULL, msg[256];
    size_t n = 0;
    int r;

    (void)req;
    r = engine_list_projects(ctx, &names, &n);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (r < 0) {
        snprintf(msg, sizeof(msg), "not ready: the store does not answer (%s)", strerror(-r));
        return http_response_text(resp, 503, msg);
    }
    if (n == 0)
        return http_response_text(resp, 503, "not ready: no project config is loaded");
    return http_response_text(resp, 200, "ok");
}

int api_register_metrics(struct http_server *http, struct engine *e)
{
    int r = http_server_route(http, "GET", "/metrics", metrics_handler, e, NULL, 0);

    if (r == 0)
        r = http_server_route(http, "GET", "/readyz", readyz_handler, e, NULL, 0);
    return r;
}
