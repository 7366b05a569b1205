/*
 * v1.c - the legacy Buildbucket v1 API (Cloud Endpoints REST) of the
 * historic scheduler, spec 4.1.8 and wire-formats 2.14, for the hosts in
 * buildbucket_options.v1_hosts: PUT builds, GET builds/<id>, POST
 * builds/<id>/cancel, with the 2021 seed page's debug-log lines.
 *
 * HTTP errors are classified as the old code's WrapAPIError did: no HTTP
 * answer, 5xx or 429 is transient, any other 4xx is fatal.  Application
 * errors come with HTTP 200 as {"error": {"reason", "message"}} and are
 * fatal.
 */
#include "tasks/buildbucket/bb-manager.h"

#include "base/time.h"
#include "config/gourl.h"
#include "tasks/taskjson.h"

#define V1_BUILDS "/_ah/api/buildbucket/v1/builds"

/* A body excerpt for an error message: printable ASCII only, cut short. */
static void excerpt(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < outlen && k < 256; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    out[k] = '\0';
}

/* googleapi.Error's text for an HTTP error answer. */
static void http_error_text(const struct client_http_response *resp, char *out, size_t n)
{
    json_t *j = json_loadb(resp->body, resp->len, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    char ex[300];

    if (msg) {
        snprintf(out, n, "googleapi: Error %ld: %.400s", resp->status, msg);
    } else {
        excerpt(resp->body, resp->len, ex, sizeof(ex));
        snprintf(out, n, "googleapi: got HTTP response code %ld with body: %s", resp->status, ex);
    }
    json_decref(j);
}

/*
 * One v1 call.  Returns 0 with the answer object in *ret, or
 * TASK_ERR_TRANSIENT / TASK_ERR_FATAL with the reason in err.
 */
static int v1_call(struct bb_manager *bm, const char *server, const char *method,
                   const char *path, const json_t *body, json_t **ret, char *err, size_t errlen)
{
    struct client_call_options o = bb_call_options(bm);
    struct client_http_request rq = {.method = method, .host = server, .path = path};
    struct client_http_response resp = {0};
    struct client_error e;
    json_error_t je;
    char *text = NULL;
    int r = TASK_ERR_TRANSIENT;

    if (body) {
        if (!(text = json_dumps(body, JSON_COMPACT))) {
            snprintf(err, errlen, "out of memory");
            return TASK_ERR_TRANSIENT;
        }
        rq.content_type = "application/json";
        rq.body = text;
        rq.body_len = strlen(text);
    }
    if (client_http(bm->client, &rq, &o, &resp, &e) < 0) {
        snprintf(err, errlen, "%s", e.message);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        http_error_text(&resp, err, errlen);
        if (resp.status < 500 && resp.status != 429)
            r = TASK_ERR_FATAL;
        goto out;
    }
    json_t *j = json_loadb(resp.body, resp.len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "bad JSON in the Buildbucket answer: %s",
                 j ? "not an object" : je.text);
        goto out;
    }
    *ret = j;
    r = 0;
out:
    free(text);
    client_http_response_release(&resp);
    return r;
}

static const char *str_or_empty(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* handleBuildResult: the "Build <id>: ..." line and the v1 mapping. */
static void handle_result(struct task_ctl *c, const json_t *build, const char *id)
{
    char q[4][256];
    const char *status = str_or_empty(build, "status"), *result = str_or_empty(build, "result");

    task_ctl_logf(c, "Build %s: status %s, result %s, failure_reason %s, cancelation_reason %s",
                  id, goquote(status, q[0], sizeof(q[0])), goquote(result, q[1], sizeof(q[1])),
                  goquote(str_or_empty(build, "failure_reason"), q[2], sizeof(q[2])),
                  goquote(str_or_empty(build, "cancelation_reason"), q[3], sizeof(q[3])));
    c->status = bb_v1_map_status(status, result, c->status);
}

/*
 * The answer's application error or missing build (both fatal), logged as
 * the old code did.  Returns 0 with the build in *ret.
 */
static int answer_build(struct task_ctl *c, const json_t *resp, bool dump, const json_t **ret)
{
    const json_t *error = json_object_get(resp, "error");
    const json_t *build = json_object_get(resp, "build");
    char q[300];

    if (json_is_object(error)) {
        const char *reason = str_or_empty(error, "reason"), *msg = str_or_empty(error, "message");
        task_ctl_logf(c, "Buildbucket returned error %s: %s", goquote(reason, q, sizeof(q)), msg);
        if (dump)
            bb_log_json(c, "Buildbucket response:", resp, BB_JSON_GO_INDENT);
        snprintf(c->err, sizeof(c->err), "buildbucket error %s - %.300s", q, msg);
        return TASK_ERR_FATAL;
    }
    if (!json_is_object(build)) {
        c->ops->log(c, "Buildbucket response is not valid, missing 'build'");
        if (dump)
            bb_log_json(c, "Buildbucket response:", resp, BB_JSON_GO_INDENT);
        snprintf(c->err, sizeof(c->err), "bad buildbucket response, no 'build' field");
        return TASK_ERR_FATAL;
    }
    *ret = build;
    return 0;
}

/* Sends the PUT; logs the answer.  Returns 0 with the answer in *ret. */
static int v1_put(struct bb_manager *bm, struct task_ctl *c, const char *server, json_t *req,
                  const char *token, json_t **ret)
{
    char err[CLIENT_MAX_ERROR_BYTES + 128];
    json_t *cb = json_object_get(req, "pubsub_callback");
    int r;

    if (json_object_set_new(cb, "auth_token", json_string(token)) < 0) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return TASK_ERR_TRANSIENT;
    }
    r = v1_call(bm, server, "PUT", V1_BUILDS, req, ret, err, sizeof(err));
    /* The token must not outlive the call in memory we keep. */
    json_object_set_new(cb, "auth_token", json_string("..."));
    if (r < 0) {
        task_ctl_logf(c, "Failed to add buildbucket build - %s", err);
        snprintf(c->err, sizeof(c->err), "%.500s", err);
        return r;
    }
    bb_log_json(c, "Buildbucket response:", *ret, BB_JSON_GO_INDENT);
    return 0;
}

int bb_v1_launch(struct bb_manager *bm, struct task_ctl *c, const char *server)
{
    char topic[1024], token[TASK_PUBSUB_TOKEN_MAX];
    struct bb_task_data td;
    json_t *req = NULL, *resp = NULL;
    const json_t *build;
    int r;

    if ((r = bb_prepare_topic(bm, c, server, topic, sizeof(topic), token, sizeof(token))) < 0)
        return r;
    if ((r = bb_v1_request(c, &bm->env, topic, "...", &req)) < 0) {
        r = r == -ENOMEM ? TASK_ERR_TRANSIENT : TASK_ERR_FATAL;
        goto out;
    }
    bb_log_json(c, "Buildbucket request:", req, BB_JSON_GO_INDENT);
    if (c->ops->save)
        c->ops->save(c);
    if ((r = v1_put(bm, c, server, req, token, &resp)) < 0 ||
        (r = answer_build(c, resp, false, &build)) < 0)
        goto out;
    memset(&td, 0, sizeof(td));
    if (bb_build_id(json_object_get(build, "id"), td.build_id, sizeof(td.build_id)) < 0) {
        c->ops->log(c, "Buildbucket response is not valid, bad 'build.id'");
        snprintf(c->err, sizeof(c->err), "bad buildbucket response, bad 'build.id'");
        r = TASK_ERR_FATAL;
        goto out;
    }
    c->status = INV_RUNNING;
    const char *url = str_or_empty(build, "url");
    if (*url)
        snprintf(c->view_url, sizeof(c->view_url), "%s", url);
    else
        snprintf(c->view_url, sizeof(c->view_url), "https://%s/build/%s", server, td.build_id);
    task_ctl_logf(c, "Task URL: %s", c->view_url);
    /* A retry with the same client_operation_id may find it finished. */
    if (strcmp(str_or_empty(build, "status"), "COMPLETED") == 0)
        handle_result(c, build, td.build_id);
    snprintf(td.last_status, sizeof(td.last_status), "%s", str_or_empty(build, "status"));
    if ((r = bb_store_task_data(c, &td)) < 0)
        goto out;
    if (!inv_status_is_final(c->status))
        r = bb_add_timer(c, bm->poll.min_ns);
out:
    explicit_bzero(token, sizeof(token));
    json_decref(req);
    json_decref(resp);
    return r;
}

int bb_v1_check(struct bb_manager *bm, struct task_ctl *c, const char *server, bool from_push)
{
    char path[128], err[CLIENT_MAX_ERROR_BYTES + 128];
    struct bb_task_data td;
    json_t *resp = NULL;
    const json_t *build;
    int r = bb_check_preamble(c, &td);

    if (r < 0)
        return r;
    snprintf(path, sizeof(path), V1_BUILDS "/%s", td.build_id);
    if ((r = v1_call(bm, server, "GET", path, NULL, &resp, err, sizeof(err))) < 0) {
        task_ctl_logf(c, "Failed to fetch buildbucket build - %s", err);
        snprintf(c->err, sizeof(c->err), "%.500s", err);
        if (r == TASK_ERR_FATAL)
            c->status = INV_FAILED;
        return r;
    }
    if ((r = answer_build(c, resp, true, &build)) < 0) {
        c->status = INV_FAILED;
        goto out;
    }
    handle_result(c, build, td.build_id);
    if (inv_status_is_final(c->status))
        bb_log_json(c, "Buildbucket build:", resp, BB_JSON_GO_INDENT);
    bb_task_data_observe(&td, from_push, str_or_empty(build, "status"));
    r = bb_store_task_data(c, &td);
out:
    json_decref(resp);
    return r;
}

int bb_v1_cancel(struct bb_manager *bm, struct task_ctl *c, const char *server,
                 const char *build_id)
{
    char path[128], err[CLIENT_MAX_ERROR_BYTES + 128];
    json_t *body = json_object(), *resp = NULL;
    int r;

    if (!body) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return TASK_ERR_TRANSIENT;
    }
    snprintf(path, sizeof(path), V1_BUILDS "/%s/cancel", build_id);
    r = v1_call(bm, server, "POST", path, body, &resp, err, sizeof(err));
    if (r < 0)
        snprintf(c->err, sizeof(c->err), "%.500s", err);
    json_decref(body);
    json_decref(resp);
    return r;
}
