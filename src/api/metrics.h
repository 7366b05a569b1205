/*
 * metrics.h - the operations endpoints of `tock serve`: GET /metrics
 * (Prometheus text exposition format 0.0.4) and GET /readyz.
 * (GET /healthz, "the process is up", is net/http.h's own.)
 *
 *   if (api_register_metrics(http, e) < 0) goto out;    (before http_server_start)
 *
 * /metrics renders, at every scrape: the families counted elsewhere
 * (net/http.h http_metric_requests, net/client.h client_metric_calls,
 * store/store.h store_metric_tx_seconds, engine/engine.h
 * engine_metric_*), and gauges read from the engine then: jobs by state
 * (engine_count_jobs_by_state: a walk of every enabled job, a chunk of
 * rows and one short read transaction at a time, at most
 * LIMIT_ENGINE_WALK_JOBS), the task-queue depth and the lag of its oldest
 * due row (engine_queue_stats: two aggregate reads), and tock_store_up
 * (1 when those reads worked; when they fail the engine gauges are left
 * out and tock_store_up is 0).  Answer: 200, "Content-Type: text/plain;
 * version=0.0.4; charset=utf-8"; at most LIMIT_HTTP_RESPONSE_BYTES (the
 * label sets are bounded far below it).  docs/operations.md lists every
 * metric.
 *
 * /readyz: 200 "ok" when the store answers a read (engine_list_projects)
 * and at least one project config is applied; otherwise 503 with
 * "not ready: " and the reason.
 *
 * Who may read them: anyone who reaches the listening address, without
 * authentication (docs/security.md): they carry counts, route patterns,
 * outgoing host names and job-state totals, never job names or tokens.
 *
 * The engine is borrowed and must outlive the server.  Handlers are
 * thread-safe.  Returns of api_register_metrics: 0 or http_server_route's
 * errors.  Logs (room "api") only a failed engine read.
 */
#ifndef TOCK_API_METRICS_H
#define TOCK_API_METRICS_H

#include "base/compat.h"

struct http_server;
struct engine;
struct buf;

int api_register_metrics(struct http_server *http, struct engine *e);

/*
 * The /metrics text into out (for tests and the handler).  Returns 0,
 * -E2BIG, -ENOMEM.  A failed engine read is not an error (tock_store_up 0).
 */
int api_metrics_render(struct engine *e, struct buf *out);

#endif
