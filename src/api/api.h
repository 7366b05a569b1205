/*
 * api.h - the pRPC services of `tock serve` (luci-scheduler-spec.md 5, 6).
 *
 *   scheduler.Scheduler       GetJobs, GetInvocations, GetInvocation,
 *                             PauseJob, ResumeJob, AbortJob, AbortInvocation,
 *                             EmitTriggers
 *   internal.admin.Admin      GetDebugJobState (administrators only)
 *   tock.Scheduler            GetTriggerFates (tock's own: what became of a
 *                             trigger, needs scheduler.jobs.get)
 *
 * Wiring (cli/cmd-serve.c):
 *
 *   struct http_server *http = ...;            (net/http.h, not started)
 *   struct engine *e = ...;                    (engine/engine.h)
 *   struct auth *a = auth_new(); auth_load_tokens(...); auth_set_project(...);
 *   if (api_register(http, e, a) < 0) goto out;
 *   http_server_start(http);
 *
 * The engine and the auth policy are borrowed and must outlive the HTTP
 * server (stop and free the server first).  Every call authenticates the
 * caller from "Authorization: Bearer <token>" with auth_authenticate (no
 * header = anonymous:anonymous; a bad or unknown token = UNAUTHENTICATED
 * "bad or unknown bearer token") and checks permissions with auth_check
 * on each job's realm.  Jobs the caller may not see behave as missing.
 * Messages and codes are those of the spec; see docs/api.md for the JSON
 * of every message.  Failures with codes >= HTTP 500 are logged
 * (room "api") with their real message; the wire carries pRPC's fixed text.
 *
 * GetJobs pages (pageSize: the request's value when 0 < v < 50, else 50;
 * cursor: opaque, from nextCursor; a bad one is INVALID_ARGUMENT "bad
 * cursor"), and decides visibility per realm (auth_realm_view) before
 * reading any job, so a call costs what the caller may see and asks for.
 */
#ifndef TOCK_API_API_H
#define TOCK_API_API_H

#include "base/compat.h"
#include "base/ratelimit.h"
#include "base/clock.h"

struct http_server;
struct engine;
struct auth;

struct api_options {
    /* Server time for EmitTriggers; NULL = clock_real(). */
    const struct clock *clock;
    /* Ignore unknown request fields as LUCI does (default: reject, as protojson). */
    bool discard_unknown;
    /*
     * Per-caller limit on the expensive calls (GetJobs, GetInvocations,
     * GetInvocation, EmitTriggers, GetDebugJobState, GetTriggerFates): one
     * token bucket per identity, per client address (IPv6: per /64) for
     * anonymous callers
     * (base/ratelimit.h; clock_mono of clock).  Past it the call answers
     * RESOURCE_EXHAUSTED (HTTP 429) "rate limit exceeded ...; retry in N
     * ms" before any work.  calls == 0 (the default): no limit.
     */
    struct rate_limit rate_limit;
};

/*
 * Registers the three services on http under "/prpc/".  o may be NULL
 * (defaults).  Returns 0 or a negative errno (-EBUSY when http already
 * runs, -EEXIST when "/prpc/" is taken, -ENOMEM).
 */
int api_register_with(struct http_server *http, struct engine *e, struct auth *a,
                      const struct api_options *o);

/*
 * Registers POST /pubsub, the Pub/Sub push endpoint (wire-formats.md 4.3):
 * the body {"message": {...}} goes to engine_deliver_push for the manager
 * named by the query parameter kind (default "buildbucket"; other
 * parameters such as publisher are ignored).  There is no caller
 * authentication: the token inside the message is the authentication.
 * Answers 200 "OK" (queued durably, or for a finished invocation), 409
 * (the invocation is still starting: redeliver), 500 (store failure:
 * redeliver), 202 with the reason (bad body, unknown kind, no or bad
 * token, no such invocation: dropped).  Returns 0 or http_server_route's
 * errors.
 */
int api_register_pubsub(struct http_server *http, struct engine *e);

/* api_register_with(http, e, a, NULL). */
int api_register(struct http_server *http, struct engine *e, struct auth *a);

#endif
