/*
 * api.c - scheduler.Scheduler, internal.admin.Admin and tock.Scheduler
 * over pRPC (contract in api.h; behaviour in luci-scheduler-spec.md 5.2-5.4
 * and 6).
 *
 * Output follows protojson: lowerCamelCase names, int64 as strings, and
 * fields equal to their default ("" / 0 / false / empty lists) left out.
 */
#include "base/compat.h"
#include "api/api.h"

#include <arpa/inet.h>
#include <jansson.h>

#include "auth/auth.h"
#include "base/log.h"
#include "base/time.h"
#include "engine/engine.h"
#include "engine/trigger.h"
#include "net/http.h"
#include "net/prpc.h"

#define MSG_NO_JOB "no such job or no permission to see it"
#define MSG_NO_PERMISSION "no permission to execute the action"
#define MSG_NO_INVOCATION "no such invocation"

/* EmitTriggers timestamps: within (0, 2^53] µs and 15 min of the server clock. */
#define EMIT_TS_MAX_US (INT64_C(1) << 53)
#define EMIT_TS_SKEW_US (INT64_C(15) * 60 * 1000000)

struct api {
    struct engine *e;
    struct auth *a;
    const struct clock *clock;
    struct rate_limit limit;
    struct ratelimit *buckets; /* NULL = no limit */
};

/* ---------------------------------------------------------------------------
 * Common steps
 */

static void log_failure(void *ctx, const struct prpc_call *call)
{
    (void)ctx;
    /* Unknown methods (no service) are the caller's mistake, not the server's. */
    if (call->service && grpc_code_http_status(call->code) >= 500)
        log_error("api", "%s/%s failed: %s: %s", call->service ? call->service : "?",
                  call->method ? call->method : "?", grpc_code_name(call->code) ?
                  grpc_code_name(call->code) : "?", call->message);
}

/* Authenticates the caller into id (LIMIT_IDENTITY_LEN + 1 bytes). */
static int caller(struct api *api, struct prpc_call *c, char *id)
{
    const char *h = http_request_header(c->http, "Authorization");
    int r = auth_authenticate(api->a, h, id, LIMIT_IDENTITY_LEN + 1);

    if (r == -EINVAL)
        return prpc_fail(c, GRPC_UNAUTHENTICATED,
                         "bad Authorization header: want \"Bearer <token>\"");
    if (r < 0)
        return prpc_fail(c, GRPC_UNAUTHENTICATED, "bad or unknown bearer token");
    return GRPC_OK;
}

/*
 * The client address an anonymous caller's bucket is named after: an IPv4
 * address as it is, an IPv6 one cut to its /64 (what one site holds, as
 * the HTTP server's per-client cap counts them), "" when unknown.
 */
static void client_net(const struct prpc_call *c, char *out, size_t outlen)
{
    const char *addr = c->http && c->http->remote_addr ? c->http->remote_addr : "";
    struct in6_addr a6;
    char text[INET6_ADDRSTRLEN];

    if (strchr(addr, ':') && inet_pton(AF_INET6, addr, &a6) == 1) {
        memset(a6.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a6, text, sizeof(text))) {
            snprintf(out, outlen, "%s/64", text);
            return;
        }
    }
    snprintf(out, outlen, "%s", addr);
}

/*
 * caller() for the expensive calls: then takes a token of the caller's
 * bucket (anonymous callers: one bucket per client address).
 */
static int limited_caller(struct api *api, struct prpc_call *c, char *id)
{
    char key[LIMIT_IDENTITY_LEN + 64], what[128], net[INET6_ADDRSTRLEN + 8];
    int64_t retry_ns = 0;

    if (caller(api, c, id) != GRPC_OK)
        return c->code;
    if (!api->buckets)
        return GRPC_OK;
    if (strcmp(id, AUTH_ANONYMOUS) == 0) {
        client_net(c, net, sizeof(net));
        snprintf(key, sizeof(key), "%s@%s", id, net);
    } else {
        snprintf(key, sizeof(key), "%s", id);
    }
    if (ratelimit_take(api->buckets, key, clock_mono(api->clock), &retry_ns))
        return GRPC_OK;
    rate_limit_describe(&api->limit, what, sizeof(what));
    c->retry_after_sec = (unsigned)((retry_ns + NS_PER_SEC - 1) / NS_PER_SEC); /* whole s, >= 1 */
    if (c->retry_after_sec == 0)
        c->retry_after_sec = 1;
    return prpc_fail(c, GRPC_RESOURCE_EXHAUSTED,
                     "rate limit exceeded for %.200s: at most %s per caller; retry in %" PRId64
                     " ms",
                     key, what, (retry_ns + NS_PER_MS - 1) / NS_PER_MS);
}

/* Reads a JobRef message into "project/job" (job_id, ENGINE_ID_MAX bytes). */
static int decode_job_ref(struct prpc_call *c, const json_t *ref, char *job_id)
{
    static const char *const names[] = {"project", "job", NULL};
    const char *project = "", *job = "";
    int n;

    if (ref && (prpc_check_fields(c, ref, names) < 0 ||
        prpc_get_string(c, ref, "project", NULL, &project) < 0 ||
        prpc_get_string(c, ref, "job", NULL, &job) < 0))
        return c->code;
    n = snprintf(job_id, ENGINE_ID_MAX, "%s/%s", project, job);
    if (n < 0 || n >= ENGINE_ID_MAX || !*project || !*job)
        job_id[0] = '\0'; /* names nothing: looks like a missing job */
    return GRPC_OK;
}

/*
 * The job, if it exists, is enabled, and identity may see it; else the
 * NotFound every invisible job gets.
 */
static int visible_job(struct api *api, struct prpc_call *c, const char *identity,
                       const char *job_id, struct engine_job *ret)
{
    int r;

    if (!*job_id)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    r = engine_get_job(api->e, job_id, ret);
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error when fetching job: %s", strerror(-r));
    if (!auth_check(api->a, identity, ret->project, ret->realm_id, ret->name, AUTH_PERM_GET))
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    return GRPC_OK;
}

/* Sets key to a new value, dropping protojson defaults; NULL v = out of memory. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -ENOMEM;
    return json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

static int set_str(json_t *obj, const char *key, const char *s)
{
    if (!s || !*s)
        return 0;
    return set_new(obj, key, json_string(s));
}

static int set_int64(json_t *obj, const char *key, int64_t v)
{
    if (v == 0)
        return 0;
    return set_new(obj, key, prpc_json_int64(v));
}

static int set_true(json_t *obj, const char *key, bool v)
{
    if (!v)
        return 0;
    return set_new(obj, key, json_true());
}

static json_t *job_ref_json(const char *project, const char *name)
{
    json_t *ref = json_object();

    if (ref && (set_str(ref, "project", project) < 0 || set_str(ref, "job", name) < 0))
        ref = (json_decref(ref), NULL);
    return ref;
}

static json_t *job_json(const struct engine_job *j)
{
    json_t *o = json_object(), *state = json_object();

    if (!o || !state)
        goto fail;
    if (set_str(state, "uiStatus", j->state_name) < 0)
        goto fail;
    if (set_new(o, "jobRef", job_ref_json(j->project, j->name)) < 0 ||
        set_str(o, "schedule", j->schedule) < 0)
        goto fail;
    if (set_new(o, "state", state) < 0) {
        state = NULL;
        goto fail;
    }
    state = NULL;
    if (set_true(o, "paused", j->paused) < 0)
        goto fail;
    return o;
fail:
    json_decref(state);
    json_decref(o);
    return NULL;
}

/* Splits "project/job" into its two parts (sizes ENGINE_NAME_MAX). */
static void split_job_id(const char *job_id, char *project, char *name)
{
    const char *slash = strchr(job_id, '/');
    size_t n = slash ? (size_t)(slash - job_id) : strlen(job_id);

    if (n >= ENGINE_NAME_MAX)
        n = ENGINE_NAME_MAX - 1;
    memcpy(project, job_id, n);
    project[n] = '\0';
    snprintf(name, ENGINE_NAME_MAX, "%s", slash ? slash + 1 : "");
}

/*
 * tock's "request": what the triggering policy gave the invocation
 * (triggeredBy, incomingTriggers in the public form, properties, tags), as
 * the web UI's "Incoming ..." sections show it.
 */
static int set_request(json_t *o, const char *request_json)
{
    json_t *req = request_json && request_json[0] ? json_loads(request_json, 0, NULL) : NULL;
    json_t *pub = json_object(), *in = json_array(), *t;
    size_t i;

    if (!pub || !in)
        goto fail;
    if (req) {
        json_array_foreach(json_object_get(req, "incomingTriggers"), i, t) {
            struct trigger tr = {0};
            json_t *p = NULL;
            if (trigger_from_json(t, &tr) == 0 && trigger_to_public(&tr, &p) == 0)
                json_array_append_new(in, p);
            trigger_release(&tr);
        }
        json_object_set(pub, "triggeredBy", json_object_get(req, "triggeredBy"));
        json_object_set(pub, "properties", json_object_get(req, "properties"));
        json_object_set(pub, "tags", json_object_get(req, "tags"));
    }
    json_object_set_new(pub, "incomingTriggers", in);
    json_decref(req);
    return set_new(o, "request", pub);
fail:
    json_decref(req);
    json_decref(pub);
    json_decref(in);
    return -ENOMEM;
}

/* The Invocation message; with_log adds tock's "debugLog" and "request" (GetInvocation only). */
static json_t *invocation_json(const struct engine_invocation *inv, bool with_log)
{
    char project[ENGINE_NAME_MAX], name[ENGINE_NAME_MAX];
    json_t *o = json_object(), *iref = json_object();

    split_job_id(inv->job_id, project, name);
    if (!o || !iref)
        goto fail;
    if (set_new(iref, "jobRef", job_ref_json(project, name)) < 0 ||
        set_int64(iref, "invocationId", inv->id) < 0)
        goto fail;
    if (set_new(o, "invocationRef", iref) < 0) {
        iref = NULL;
        goto fail;
    }
    iref = NULL;
    if (set_int64(o, "startedTs", inv->started / NS_PER_US) < 0 ||
        set_int64(o, "finishedTs", inv->final ? inv->finished / NS_PER_US : 0) < 0 ||
        set_str(o, "triggeredBy", inv->triggered_by) < 0 ||
        set_str(o, "status", inv->status_name) < 0 || set_true(o, "final", inv->final) < 0 ||
        set_str(o, "configRevision", inv->revision) < 0 ||
        set_str(o, "viewUrl", inv->view_url) < 0)
        goto fail;
    if (with_log && (set_str(o, "debugLog", inv->debug_log) < 0 ||
                     set_request(o, inv->request_json) < 0))
        goto fail;
    return o;
fail:
    json_decref(iref);
    json_decref(o);
    return NULL;
}

static int out_of_memory(struct prpc_call *c)
{
    return prpc_fail(c, GRPC_INTERNAL, "internal error: out of memory");
}

/* ---------------------------------------------------------------------------
 * scheduler.Scheduler
 */

/* The caller's visibility for engine_list_jobs_page: realms first, then jobs. */
struct job_view {
    struct api *api;
    const char *identity;
};

static enum engine_view view_realm(void *ctx, const char *project, const char *realm_id)
{
    const struct job_view *v = ctx;

    switch (auth_realm_view(v->api->a, v->identity, project, realm_id, AUTH_PERM_GET)) {
    case AUTH_VIEW_ALL: return ENGINE_VIEW_ALL;
    case AUTH_VIEW_SOME: return ENGINE_VIEW_SOME;
    default: return ENGINE_VIEW_NONE;
    }
}

static bool view_job(void *ctx, const char *project, const char *realm_id, const char *name)
{
    const struct job_view *v = ctx;

    return auth_check(v->api->a, v->identity, project, realm_id, name, AUTH_PERM_GET);
}

/* The JobsReply of one page (jobs, nextCursor); NULL = out of memory. */
static json_t *jobs_reply(const struct engine_job *jobs, size_t n, const char *next)
{
    json_t *reply = json_object(), *list = json_array();

    for (size_t i = 0; reply && list && i < n; i++) {
        json_t *j = job_json(&jobs[i]);
        if (!j || json_array_append_new(list, j) < 0)
            list = (json_decref(list), NULL);
    }
    if (!reply || !list || (json_array_size(list) > 0 &&
                            json_object_set(reply, "jobs", list) < 0) ||
        set_str(reply, "nextCursor", next) < 0)
        reply = (json_decref(reply), NULL);
    json_decref(list);
    return reply;
}

static int get_jobs(void *ctx, struct prpc_call *c)
{
    static const char *const names[] = {"project", "cursor", "pageSize", "page_size", NULL};
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1];
    const char *project = "", *cursor = "";
    int32_t page_size = 0;
    struct engine_job *jobs = NULL;
    size_t n = 0;
    char *next = NULL;
    int r;

    if (limited_caller(api, c, id) != GRPC_OK)
        return c->code;
    if (prpc_check_fields(c, c->request, names) < 0 ||
        prpc_get_string(c, c->request, "project", NULL, &project) < 0 ||
        prpc_get_string(c, c->request, "cursor", NULL, &cursor) < 0 ||
        prpc_get_int32(c, c->request, "pageSize", "page_size", &page_size) < 0)
        return c->code;
    /* LUCI's page rule (GetInvocations, spec 5.2): the value if 0 < v < 50, else 50. */
    if (page_size <= 0 || page_size >= LIMIT_API_JOBS_PAGE)
        page_size = LIMIT_API_JOBS_PAGE;
    struct job_view view = {.api = api, .identity = id};
    struct engine_job_filter filter = {.realm = view_realm, .job = view_job, .ctx = &view};
    r = engine_list_jobs_page(api->e, *project ? project : NULL, cursor, page_size, &filter,
                              &jobs, &n, &next);
    if (r == -EINVAL)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT, "bad cursor");
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    c->response = jobs_reply(jobs, n, next);
    free(jobs);
    free(next);
    return c->response ? GRPC_OK : out_of_memory(c);
}

static int get_invocations(void *ctx, struct prpc_call *c)
{
    static const char *const names[] = {"jobRef", "job_ref", "cursor", "pageSize", "page_size",
                                        NULL};
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1], job_id[ENGINE_ID_MAX];
    const json_t *ref = NULL;
    const char *cursor = "";
    int32_t page_size = 0;
    struct engine_job job;
    struct engine_invocation *invs = NULL;
    size_t n = 0;
    char *next = NULL;
    json_t *reply = NULL, *list = NULL;
    int r;

    if (limited_caller(api, c, id) != GRPC_OK)
        return c->code;
    if (prpc_check_fields(c, c->request, names) < 0 ||
        prpc_get_object(c, c->request, "jobRef", "job_ref", &ref) < 0 ||
        prpc_get_string(c, c->request, "cursor", NULL, &cursor) < 0 ||
        prpc_get_int32(c, c->request, "pageSize", "page_size", &page_size) < 0 ||
        decode_job_ref(c, ref, job_id) != GRPC_OK)
        return c->code;
    if (visible_job(api, c, id, job_id, &job) != GRPC_OK)
        return c->code;
    /* Spec 5.2: the request's value if 0 < v < 50, else 50. */
    if (page_size <= 0 || page_size >= LIMIT_API_INVOCATIONS_PAGE)
        page_size = LIMIT_API_INVOCATIONS_PAGE;
    r = engine_list_invocations(api->e, job_id, cursor, page_size, &invs, &n, &next);
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    if (r == -EINVAL)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT, "bad cursor");
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    reply = json_object();
    list = json_array();
    for (size_t i = 0; reply && list && i < n; i++) {
        json_t *o = invocation_json(&invs[i], false);
        if (!o || json_array_append_new(list, o) < 0)
            list = (json_decref(list), NULL);
    }
    engine_invocations_free(invs, n);
    if (!reply || !list || (json_array_size(list) > 0 &&
                            json_object_set(reply, "invocations", list) < 0) ||
        set_str(reply, "nextCursor", next) < 0) {
        json_decref(list);
        json_decref(reply);
        free(next);
        return out_of_memory(c);
    }
    json_decref(list);
    free(next);
    c->response = reply;
    return GRPC_OK;
}

/* Reads an InvocationRef: job id and invocation id. */
static int decode_invocation_ref(struct prpc_call *c, const json_t *obj, char *job_id,
                                 int64_t *ret_inv)
{
    static const char *const names[] = {"jobRef", "job_ref", "invocationId", "invocation_id",
                                        NULL};
    const json_t *ref = NULL;
    int64_t inv = 0;

    if (prpc_check_fields(c, obj, names) < 0 ||
        prpc_get_object(c, obj, "jobRef", "job_ref", &ref) < 0 ||
        prpc_get_int64(c, obj, "invocationId", "invocation_id", &inv) < 0 ||
        decode_job_ref(c, ref, job_id) != GRPC_OK)
        return c->code;
    *ret_inv = inv;
    return GRPC_OK;
}

static int get_invocation(void *ctx, struct prpc_call *c)
{
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1], job_id[ENGINE_ID_MAX];
    int64_t inv_id = 0;
    struct engine_job job;
    struct engine_invocation inv;
    int r;

    if (limited_caller(api, c, id) != GRPC_OK ||
        decode_invocation_ref(c, c->request, job_id, &inv_id) != GRPC_OK ||
        visible_job(api, c, id, job_id, &job) != GRPC_OK)
        return c->code;
    memset(&inv, 0, sizeof(inv));
    r = engine_get_invocation(api->e, job_id, inv_id, &inv);
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_INVOCATION);
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    c->response = invocation_json(&inv, true);
    engine_invocation_release(&inv);
    return c->response ? GRPC_OK : out_of_memory(c);
}

enum job_action {
    ACTION_PAUSE,
    ACTION_RESUME,
    ACTION_ABORT_JOB,
    ACTION_ABORT_INVOCATION,
};

/* runAction of the spec: visibility, permission, then the engine call. */
static int run_action(struct api *api, struct prpc_call *c, enum job_action action)
{
    static const enum auth_perm perms[] = {
        [ACTION_PAUSE] = AUTH_PERM_PAUSE,
        [ACTION_RESUME] = AUTH_PERM_RESUME,
        [ACTION_ABORT_JOB] = AUTH_PERM_ABORT,
        [ACTION_ABORT_INVOCATION] = AUTH_PERM_ABORT,
    };
    static const char *const names[] = {"project", "job", NULL};
    char id[LIMIT_IDENTITY_LEN + 1], job_id[ENGINE_ID_MAX];
    int64_t inv_id = 0;
    struct engine_job job;
    int r;

    if (caller(api, c, id) != GRPC_OK)
        return c->code;
    if (action == ACTION_ABORT_INVOCATION) {
        if (decode_invocation_ref(c, c->request, job_id, &inv_id) != GRPC_OK)
            return c->code;
    } else {
        /* The request is itself a JobRef. */
        if (prpc_check_fields(c, c->request, names) < 0 ||
            decode_job_ref(c, c->request, job_id) != GRPC_OK)
            return c->code;
    }
    if (visible_job(api, c, id, job_id, &job) != GRPC_OK)
        return c->code;
    if (!auth_check(api->a, id, job.project, job.realm_id, job.name, perms[action]))
        return prpc_fail(c, GRPC_PERMISSION_DENIED, MSG_NO_PERMISSION);
    switch (action) {
    case ACTION_PAUSE:
        r = engine_pause_job(api->e, job_id, id, "paused through RPC API");
        break;
    case ACTION_RESUME:
        r = engine_resume_job(api->e, job_id, id, "resumed through RPC API");
        break;
    case ACTION_ABORT_JOB:
        r = engine_abort_job(api->e, job_id, id);
        if (r == -EAGAIN)
            r = 0; /* some aborts finish asynchronously */
        break;
    default:
        r = engine_abort_invocation(api->e, job_id, inv_id, id);
        if (r == -ENOENT)
            return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_INVOCATION);
        break;
    }
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    c->response = json_object();
    return c->response ? GRPC_OK : out_of_memory(c);
}

static int pause_job(void *ctx, struct prpc_call *c)
{
    return run_action(ctx, c, ACTION_PAUSE);
}

static int resume_job(void *ctx, struct prpc_call *c)
{
    return run_action(ctx, c, ACTION_RESUME);
}

static int abort_job(void *ctx, struct prpc_call *c)
{
    return run_action(ctx, c, ACTION_ABORT_JOB);
}

static int abort_invocation(void *ctx, struct prpc_call *c)
{
    return run_action(ctx, c, ACTION_ABORT_INVOCATION);
}

/* ---------------------------------------------------------------------------
 * EmitTriggers
 */

/* Accepted fields of each trigger payload (spec 3.5 / task.h), NULL-terminated. */
static const char *const noop_fields[] = {"data", NULL};
static const char *const gitiles_fields[] = {"repo", "ref", "revision", "properties", "tags",
                                             NULL};
static const char *const buildbucket_fields[] = {"properties", "tags", NULL};

static bool in_list(const char *const *names, const char *key)
{
    for (size_t i = 0; names[i]; i++) {
        if (strcmp(names[i], key) == 0)
            return true;
    }
    return false;
}

/*
 * Checks one payload's fields and types; writes the reason to why.
 * Strings for repo/ref/revision/data, a JSON object for properties, an
 * array of strings for tags.
 */
static bool payload_ok(const char *kind, const json_t *p, bool discard_unknown, char *why,
                       size_t whylen)
{
    const char *const *fields = strcmp(kind, "noop") == 0      ? noop_fields
                                : strcmp(kind, "gitiles") == 0 ? gitiles_fields
                                                               : buildbucket_fields;
    const char *key;
    json_t *v;

    if (!json_is_object(p)) {
        snprintf(why, whylen, "the %s payload must be an object", kind);
        return false;
    }
    json_object_foreach((json_t *)p, key, v) {
        if (!in_list(fields, key)) {
            if (discard_unknown)
                continue;
            snprintf(why, whylen, "unknown field \"%.100s\" in the %s payload", key, kind);
            return false;
        }
        if (json_is_null(v))
            continue;
        if (strcmp(key, "properties") == 0) {
            if (!json_is_object(v)) {
                snprintf(why, whylen, "properties must be an object");
                return false;
            }
        } else if (strcmp(key, "tags") == 0) {
            size_t i;
            json_t *t;
            if (!json_is_array(v)) {
                snprintf(why, whylen, "tags must be a list of strings");
                return false;
            }
            json_array_foreach(v, i, t) {
                if (!json_is_string(t)) {
                    snprintf(why, whylen, "tags must be a list of strings");
                    return false;
                }
            }
        } else if (!json_is_string(v)) {
            snprintf(why, whylen, "%s must be a string", key);
            return false;
        }
    }
    return true;
}

/*
 * Converts the public Trigger of batch index into the internal form
 * (task.h).  Returns the new object, or NULL with the reason in why.
 */
static json_t *convert_trigger(const json_t *t, size_t index, const char *identity,
                               int64_t now_us, bool discard_unknown, char *why, size_t whylen)
{
    static const char *const payloads[] = {"noop", "gitiles", "buildbucket", NULL};
    const char *trigger_id = "", *title = "", *url = "", *key, *payload_kind = NULL;
    const json_t *payload = NULL;
    char created[TIME_RFC3339_MAX];
    json_t *v, *out;

    *why = '\0';
    if (!t) {
        snprintf(why, whylen, "trigger id is required");
        return NULL;
    }
    if (!json_is_object(t)) {
        snprintf(why, whylen, "the trigger must be an object");
        return NULL;
    }
    json_object_foreach((json_t *)t, key, v) {
        if (strcmp(key, "id") == 0 || strcmp(key, "title") == 0 || strcmp(key, "url") == 0) {
            if (!json_is_string(v) && !json_is_null(v)) {
                snprintf(why, whylen, "%s must be a string", key);
                return NULL;
            }
            if (json_is_string(v))
                *(strcmp(key, "id") == 0 ? &trigger_id : strcmp(key, "title") == 0 ? &title : &url) =
                    json_string_value(v);
        } else if (strcmp(key, "cron") == 0) {
            snprintf(why, whylen, "emitting cron triggers through API is not allowed");
            return NULL;
        } else if (strcmp(key, "webui") == 0) {
            snprintf(why, whylen, "emitting web UI triggers through API is not allowed");
            return NULL;
        } else if (in_list(payloads, key)) {
            if (json_is_null(v))
                continue;
            if (payload_kind) {
                snprintf(why, whylen, "more than one payload (%s and %s)", payload_kind, key);
                return NULL;
            }
            payload_kind = key;
            payload = v;
        } else if (!discard_unknown) {
            snprintf(why, whylen, "unrecognized trigger payload \"%.100s\"", key);
            return NULL;
        }
    }
    if (!*trigger_id) {
        snprintf(why, whylen, "trigger id is required");
        return NULL;
    }
    if (payload && !payload_ok(payload_kind, payload, discard_unknown, why, whylen))
        return NULL;
    time_format_rfc3339(now_us * NS_PER_US, created, sizeof(created));
    out = json_object();
    if (!out || set_new(out, "id", json_string(trigger_id)) < 0 ||
        set_new(out, "created", json_string(created)) < 0 ||
        set_new(out, "orderInBatch", prpc_json_int64((int64_t)index)) < 0 ||
        set_str(out, "title", title) < 0 || set_str(out, "url", url) < 0 ||
        set_str(out, "emittedByUser", identity) < 0 ||
        (payload && set_new(out, payload_kind, json_deep_copy(payload)) < 0)) {
        json_decref(out);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    return out;
}

/* One target job of EmitTriggers with its triggers in batch order. */
struct emit_target {
    char job_id[ENGINE_ID_MAX];
    json_t *triggers;
};

/* Step 1: the time of the triggers (microseconds), the request's or now. */
static int emit_time(struct api *api, struct prpc_call *c, int64_t ts, int64_t *ret_us)
{
    int64_t now_us = clock_now(api->clock) / NS_PER_US;
    char a[TIME_RFC3339_MAX], b[TIME_RFC3339_MAX];

    *ret_us = now_us;
    if (ts == 0)
        return GRPC_OK;
    if (ts < 0 || ts > EMIT_TS_MAX_US)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT,
                         "the provided timestamp doesn't look like a valid number of "
                         "microseconds since epoch");
    time_format_rfc3339(ts * NS_PER_US, a, sizeof(a));
    time_format_rfc3339(now_us * NS_PER_US, b, sizeof(b));
    if (ts > now_us + EMIT_TS_SKEW_US)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT,
                         "the provided timestamp (%s) is more than 15 min in the future "
                         "based on the server clock value %s",
                         a, b);
    if (ts < now_us - EMIT_TS_SKEW_US)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT,
                         "the provided timestamp (%s) is more than 15 min in the past "
                         "based on the server clock value %s",
                         a, b);
    *ret_us = ts;
    return GRPC_OK;
}

/* The triggers of each target job, in batch order. */
struct emit_plan {
    struct emit_target *targets; /* LIMIT_API_EMIT_JOBS of them */
    size_t n;
};

/* Adds trigger (borrowed) for the job named by ref to the plan. */
static int emit_plan_add(struct prpc_call *c, struct emit_plan *p, size_t batch,
                         const json_t *ref, json_t *trigger)
{
    char job_id[ENGINE_ID_MAX];
    size_t t;

    if (!json_is_object(ref))
        return prpc_fail(c, GRPC_INVALID_ARGUMENT, "batch #%zu: jobs must be JobRefs", batch);
    if (decode_job_ref(c, ref, job_id) != GRPC_OK)
        return c->code;
    if (!*job_id) {
        /* An empty or oversized ref names nothing: report it as written. */
        const char *pj = json_string_value(json_object_get(ref, "project"));
        const char *j = json_string_value(json_object_get(ref, "job"));
        snprintf(job_id, sizeof(job_id), "%.100s/%.100s", pj ? pj : "", j ? j : "");
    }
    for (t = 0; t < p->n; t++) {
        if (strcmp(p->targets[t].job_id, job_id) == 0)
            break;
    }
    if (t == p->n) {
        if (p->n >= LIMIT_API_EMIT_JOBS)
            return prpc_fail(c, GRPC_INVALID_ARGUMENT, "too many target jobs: the limit is %d",
                             LIMIT_API_EMIT_JOBS);
        snprintf(p->targets[t].job_id, sizeof(p->targets[t].job_id), "%s", job_id);
        p->targets[t].triggers = json_array();
        p->n++;
    }
    if (!p->targets[t].triggers || json_array_append(p->targets[t].triggers, trigger) < 0)
        return out_of_memory(c);
    return GRPC_OK;
}

/* Steps 2-3: converts each batch's trigger and groups them per job. */
static int emit_plan_build(struct prpc_call *c, const json_t *batches, const char *id,
                           int64_t now_us, struct emit_plan *p)
{
    static const char *const batch_names[] = {"trigger", "jobs", NULL};
    int code = GRPC_OK;

    for (size_t i = 0; i < json_array_size(batches) && code == GRPC_OK; i++) {
        const json_t *batch = json_array_get(batches, i), *trigger = NULL, *jobs = NULL, *ref;
        const char *tid = "";
        char why[512];
        json_t *internal;
        size_t k;

        if (!json_is_object(batch))
            return prpc_fail(c, GRPC_INVALID_ARGUMENT, "batch #%zu must be an object", i);
        if (prpc_check_fields(c, batch, batch_names) < 0 ||
            prpc_get_object(c, batch, "trigger", NULL, &trigger) < 0 ||
            prpc_get_array(c, batch, "jobs", NULL, &jobs) < 0)
            return c->code;
        if (trigger && json_is_string(json_object_get(trigger, "id")))
            tid = json_string_value(json_object_get(trigger, "id"));
        internal = convert_trigger(trigger, i, id, now_us, c->discard_unknown, why, sizeof(why));
        if (!internal)
            return prpc_fail(c, GRPC_INVALID_ARGUMENT, "bad trigger #%zu (\"%.200s\") - %s", i,
                             tid, why);
        json_array_foreach(jobs, k, ref) {
            code = emit_plan_add(c, p, i, ref, internal);
            if (code != GRPC_OK)
                break;
        }
        json_decref(internal);
    }
    return code;
}

/*
 * Steps 4-5: every job must be visible (the missing ones are listed), and
 * the caller needs the trigger permission on every one (all or nothing).
 */
static int emit_plan_check(struct api *api, struct prpc_call *c, const char *id,
                           const struct emit_plan *p)
{
    struct buf missing;
    bool denied = false;
    int code = GRPC_OK;

    buf_init(&missing, LIMIT_PRPC_ERROR_BYTES / 2);
    for (size_t t = 0; t < p->n && code == GRPC_OK; t++) {
        struct engine_job job;
        int r = engine_get_job(api->e, p->targets[t].job_id, &job);
        if (r < 0 && r != -ENOENT) {
            code = prpc_fail(c, GRPC_INTERNAL, "internal error when fetching job: %s",
                             strerror(-r));
        } else if (r == -ENOENT ||
                   !auth_check(api->a, id, job.project, job.realm_id, job.name, AUTH_PERM_GET)) {
            if (missing.len)
                buf_puts(&missing, ", ");
            buf_puts(&missing, p->targets[t].job_id);
        } else if (!auth_check(api->a, id, job.project, job.realm_id, job.name,
                               AUTH_PERM_TRIGGER)) {
            denied = true;
        }
    }
    if (code == GRPC_OK && missing.len)
        code = prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB ": %s", missing.data);
    else if (code == GRPC_OK && denied)
        code = prpc_fail(c, GRPC_PERMISSION_DENIED, MSG_NO_PERMISSION);
    buf_release(&missing);
    return code;
}

/* Step 6: enqueues per job (not transactional across jobs; retries dedup by id). */
static int emit_plan_run(struct api *api, struct prpc_call *c, const struct emit_plan *p)
{
    for (size_t t = 0; t < p->n; t++) {
        int r = engine_emit_triggers(api->e, p->targets[t].job_id, p->targets[t].triggers);
        if (r == -ENOENT)
            return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB ": %s", p->targets[t].job_id);
        if (r < 0)
            return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    }
    return GRPC_OK;
}

static int emit_triggers(void *ctx, struct prpc_call *c)
{
    static const char *const names[] = {"batches", "timestamp", NULL};
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1];
    const json_t *batches = NULL;
    int64_t ts = 0, now_us = 0;
    struct emit_plan plan = {0};
    size_t n_batches;
    int code;

    if (limited_caller(api, c, id) != GRPC_OK)
        return c->code;
    if (prpc_check_fields(c, c->request, names) < 0 ||
        prpc_get_array(c, c->request, "batches", NULL, &batches) < 0 ||
        prpc_get_int64(c, c->request, "timestamp", NULL, &ts) < 0)
        return c->code;
    if (emit_time(api, c, ts, &now_us) != GRPC_OK)
        return c->code;
    n_batches = json_array_size(batches);
    if (n_batches > LIMIT_API_EMIT_BATCHES)
        return prpc_fail(c, GRPC_INVALID_ARGUMENT, "too many batches: %zu, the limit is %d",
                         n_batches, LIMIT_API_EMIT_BATCHES);
    plan.targets = calloc(LIMIT_API_EMIT_JOBS, sizeof(*plan.targets));
    if (!plan.targets)
        return out_of_memory(c);
    code = emit_plan_build(c, batches, id, now_us, &plan);
    if (code == GRPC_OK)
        code = emit_plan_check(api, c, id, &plan);
    if (code == GRPC_OK)
        code = emit_plan_run(api, c, &plan);
    if (code == GRPC_OK) {
        c->response = json_object();
        code = c->response ? GRPC_OK : out_of_memory(c);
    }
    for (size_t t = 0; t < plan.n; t++)
        json_decref(plan.targets[t].triggers);
    free(plan.targets);
    return code;
}

/* ---------------------------------------------------------------------------
 * internal.admin.Admin and tock.Scheduler
 */

static int get_debug_job_state(void *ctx, struct prpc_call *c)
{
    static const char *const names[] = {"project", "job", NULL};
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1], job_id[ENGINE_ID_MAX];
    json_t *state = NULL;
    int r;

    if (limited_caller(api, c, id) != GRPC_OK)
        return c->code;
    if (!auth_is_admin(api->a, id))
        return prpc_fail(c, GRPC_PERMISSION_DENIED, "not an administrator");
    log_info("api", "Admin call \"GetDebugJobState\" by \"%s\"", id);
    if (prpc_check_fields(c, c->request, names) < 0 ||
        decode_job_ref(c, c->request, job_id) != GRPC_OK)
        return c->code;
    if (!*job_id)
        return prpc_fail(c, GRPC_NOT_FOUND, "no such job");
    r = engine_debug_job_state(api->e, job_id, &state);
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, "no such job");
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    c->response = state;
    return GRPC_OK;
}

static int get_trigger_fates(void *ctx, struct prpc_call *c)
{
    static const char *const names[] = {"jobRef", "job_ref", "triggerId", "trigger_id",
                                        "pageSize", "page_size", NULL};
    struct api *api = ctx;
    char id[LIMIT_IDENTITY_LEN + 1], job_id[ENGINE_ID_MAX];
    const json_t *ref = NULL;
    const char *trigger_id = "";
    int32_t page_size = 0;
    struct engine_job job;
    json_t *fates = NULL;
    int r;

    if (limited_caller(api, c, id) != GRPC_OK)
        return c->code;
    if (prpc_check_fields(c, c->request, names) < 0 ||
        prpc_get_object(c, c->request, "jobRef", "job_ref", &ref) < 0 ||
        prpc_get_string(c, c->request, "triggerId", "trigger_id", &trigger_id) < 0 ||
        prpc_get_int32(c, c->request, "pageSize", "page_size", &page_size) < 0 ||
        decode_job_ref(c, ref, job_id) != GRPC_OK)
        return c->code;
    if (visible_job(api, c, id, job_id, &job) != GRPC_OK)
        return c->code;
    if (page_size <= 0 || page_size > LIMIT_API_FATES_PAGE)
        page_size = LIMIT_API_FATES_PAGE;
    r = engine_trigger_fates(api->e, job_id, *trigger_id ? trigger_id : NULL, page_size, &fates);
    if (r == -ENOENT)
        return prpc_fail(c, GRPC_NOT_FOUND, MSG_NO_JOB);
    if (r < 0)
        return prpc_fail(c, GRPC_INTERNAL, "internal error: %s", strerror(-r));
    c->response = json_object();
    if (!c->response) {
        json_decref(fates);
        return out_of_memory(c);
    }
    if (json_array_size(fates) > 0)
        json_object_set_new(c->response, "fates", fates);
    else
        json_decref(fates);
    return GRPC_OK;
}

/* ---------------------------------------------------------------------------
 * Registration
 */

static const struct {
    const char *service;
    const char *method;
    prpc_handler_fn fn;
} methods[] = {
    {"scheduler.Scheduler", "GetJobs", get_jobs},
    {"scheduler.Scheduler", "GetInvocations", get_invocations},
    {"scheduler.Scheduler", "GetInvocation", get_invocation},
    {"scheduler.Scheduler", "PauseJob", pause_job},
    {"scheduler.Scheduler", "ResumeJob", resume_job},
    {"scheduler.Scheduler", "AbortJob", abort_job},
    {"scheduler.Scheduler", "AbortInvocation", abort_invocation},
    {"scheduler.Scheduler", "EmitTriggers", emit_triggers},
    {"internal.admin.Admin", "GetDebugJobState", get_debug_job_state},
    {"tock.Scheduler", "GetTriggerFates", get_trigger_fates},
};

static void api_free_void(void *p)
{
    struct api *api = p;

    if (api)
        ratelimit_free(api->buckets);
    free(api);
}

int api_register_with(struct http_server *http, struct engine *e, struct auth *a,
                      const struct api_options *o)
{
    struct prpc_server_options po = {.on_error = log_failure, .on_free = api_free_void};
    struct prpc_server *p = NULL;
    struct api *api;
    int r;

    if (!http || !e || !a)
        return -EINVAL;
    api = calloc(1, sizeof(*api));
    if (!api)
        return -ENOMEM;
    api->e = e;
    api->a = a;
    api->clock = o && o->clock ? o->clock : clock_real();
    if (o && o->rate_limit.calls) {
        api->limit = o->rate_limit;
        api->buckets = ratelimit_new(&o->rate_limit, 0);
        if (!api->buckets) {
            free(api);
            return -ENOMEM;
        }
    }
    po.discard_unknown = o && o->discard_unknown;
    po.on_error_ctx = api;
    po.on_free_ctx = api; /* the server frees api when it is freed */
    p = prpc_server_new(&po);
    if (!p) {
        api_free_void(api);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        r = prpc_server_register(p, methods[i].service, methods[i].method, methods[i].fn, api);
        if (r < 0) {
            prpc_server_free(p);
            return r;
        }
    }
    return prpc_server_mount(p, http);
}

int api_register(struct http_server *http, struct engine *e, struct auth *a)
{
    return api_register_with(http, e, a, NULL);
}
