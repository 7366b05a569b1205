/*
 * v1.c - the legacy Buildbucket v1 REST API (§2.14): PUT builds, GET
 * builds/<id>, POST builds/<id>/cancel under /_ah/api/buildbucket/v1/.
 * Plain JSON answers; application errors come as {"error": {"reason",
 * "message"}} with HTTP 200, as Cloud Endpoints v1 did.
 */
#include "base/compat.h"
#include "emu-internal.h"

#define V1_PREFIX "/_ah/api/buildbucket/v1/builds"

json_t *emu_build_tags(const json_t *req_tags, const char *builder, const json_t *gitiles);

static int answer_json(struct http_response *resp, int status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    int r;

    json_decref(v);
    if (!s)
        return http_response_text(resp, 500, "out of memory");
    resp->status = status;
    buf_reset(&resp->body);
    r = http_response_set_header(resp, "Content-Type", "application/json; charset=UTF-8");
    if (r == 0)
        r = buf_puts(&resp->body, s);
    free(s);
    return r;
}

/* An application error: HTTP 200 and {"error": {"reason", "message"}}. */
static int app_error(struct http_response *resp, const char *reason, const char *msg)
{
    return answer_json(resp, 200, json_pack("{s:{s:s,s:s}}", "error", "reason", reason,
                                            "message", msg));
}

/* An HTTP error, Cloud Endpoints style. */
static int http_error(struct http_response *resp, int status, const char *msg)
{
    return answer_json(resp, status, json_pack("{s:{s:i,s:s,s:[{s:s,s:s,s:s}]}}", "error",
                                               "code", status, "message", msg, "errors",
                                               "domain", "global", "reason", "badRequest",
                                               "message", msg));
}

static int answer_build(struct emulator *e, struct http_response *resp,
                        const struct emu_build *b)
{
    return answer_json(resp, 200, json_pack("{s:o}", "build",
                                            emu_render_v1(b, clock_now(e->clock))));
}

/* "k:v" strings -> [{key, value}]; NULL (with msg) when one is malformed. */
static json_t *parse_tags(const json_t *tags, const char *builder, char *msg, size_t len)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;

    json_array_foreach(tags, i, t) {
        const char *s = json_string_value(t), *colon = s ? strchr(s, ':') : NULL;
        if (!colon || colon == s) {
            snprintf(msg, len, "Invalid tag \"%s\": does not have \":\"", s ? s : "?");
            goto fail;
        }
        if (strncmp(s, "builder:", 8) == 0 && strcmp(colon + 1, builder) != 0) {
            snprintf(msg, len, "Invalid tag \"%s\": conflicts with builder_name \"%s\"", s,
                     builder);
            goto fail;
        }
        json_t *pair = json_object();
        json_object_set_new(pair, "key", json_stringn(s, (size_t)(colon - s)));
        json_object_set_new(pair, "value", json_string(colon + 1));
        json_array_append_new(out, pair);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

struct put_req {
    const char *bucket, *builder, *op_id, *topic, *token, *user_data;
    json_t *params; /* owned */
    json_t *tags;   /* owned, [{key, value}] */
};

static int put_parse(const json_t *body, struct put_req *p, char *msg, size_t len)
{
    const json_t *cb = json_object_get(body, "pubsub_callback");
    const char *pj = json_string_value(json_object_get(body, "parameters_json"));
    json_error_t jerr;

    memset(p, 0, sizeof(*p));
    p->bucket = json_string_value(json_object_get(body, "bucket"));
    p->op_id = json_string_value(json_object_get(body, "client_operation_id"));
    if (!p->bucket || !*p->bucket) {
        snprintf(msg, len, "bucket is required");
        return -EINVAL;
    }
    p->params = pj ? json_loads(pj, 0, &jerr) : json_object();
    if (!json_is_object(p->params)) {
        snprintf(msg, len, "parameters_json is not a valid JSON object");
        return -EINVAL;
    }
    p->builder = json_string_value(json_object_get(p->params, "builder_name"));
    if (!p->builder || !emu_builder_name_ok(p->builder)) {
        snprintf(msg, len, "Invalid builder name: parameters_json.builder_name is required");
        return -EINVAL;
    }
    const json_t *props = json_object_get(p->params, "properties");
    if (props && !json_is_object(props)) {
        snprintf(msg, len, "parameters_json.properties must be a dict");
        return -EINVAL;
    }
    const json_t *tags = json_object_get(body, "tags");
    if (tags && !json_is_array(tags)) {
        snprintf(msg, len, "tags must be a list of strings");
        return -EINVAL;
    }
    if (!(p->tags = parse_tags(tags, p->builder, msg, len)))
        return -EINVAL;
    if (cb) {
        p->topic = json_string_value(json_object_get(cb, "topic"));
        p->token = json_string_value(json_object_get(cb, "auth_token"));
        p->user_data = json_string_value(json_object_get(cb, "user_data"));
        if (!p->topic || !*p->topic) {
            snprintf(msg, len, "pubsub_callback.topic is required");
            return -EINVAL;
        }
    }
    return 0;
}

static void put_fill(struct emulator *e, struct emu_build *b, struct emu_builder *bld,
                     const struct put_req *p)
{
    json_t *props = json_object_get(p->params, "properties");
    json_t *norm = json_pack("{s:s,s:o}", "builder_name", p->builder, "properties",
                             props ? json_incref(props) : json_object());

    b->bld = bld;
    b->v1 = true;
    snprintf(b->project, sizeof(b->project), "%s", bld->project);
    snprintf(b->bucket, sizeof(b->bucket), "%s", bld->bucket);
    snprintf(b->builder, sizeof(b->builder), "%s", p->builder);
    emu_identity(e, bld->project, b->created_by, sizeof(b->created_by));
    if (bld->build_numbers)
        b->number = bld->next_number++;
    b->parameters_json = emu_python_dumps(norm);
    b->input = json_pack("{s:O}", "properties", json_object_get(norm, "properties"));
    b->tags = emu_build_tags(p->tags, p->builder, NULL);
    b->v1_bucket = strdup(p->bucket);
    if (p->topic) {
        b->topic = strdup(p->topic);
        b->auth_token = p->token ? strdup(p->token) : NULL;
        b->user_data = p->user_data ? strdup(p->user_data) : NULL;
    }
    json_decref(norm);
}

static int scripted(struct http_response *resp, int code, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "scripted %s: %s", what, grpc_code_name(code));
    return http_error(resp, grpc_code_http_status(code), msg);
}

static int put_locked(struct emulator *e, const struct put_req *p, struct http_response *resp)
{
    struct emu_builder *bld = emu_builder_find_legacy(e, p->bucket, p->builder);
    struct emu_build *b = NULL;
    char key[1024], who[300], msg[512];
    int err = 0;

    if (!bld) {
        for (size_t i = 0; i < e->builders->n; i++)
            if (strcmp(e->builders->v[i].legacy_bucket, p->bucket) == 0) {
                snprintf(msg, sizeof(msg), "builder \"%s\" not found in bucket \"%s\"",
                         p->builder, p->bucket);
                return app_error(resp, "BUILDER_NOT_FOUND", msg);
            }
        snprintf(msg, sizeof(msg), "access denied: cannot add builds to bucket \"%s\"",
                 p->bucket);
        return http_error(resp, 403, msg);
    }
    if (bld->schedule_fail)
        return scripted(resp, bld->schedule_fail, "schedule_fail");
    size_t nth = bld->schedule_calls++;
    emu_identity(e, bld->project, who, sizeof(who));
    snprintf(key, sizeof(key), "v1:%s:%s", who, p->op_id ? p->op_id : "");
    if (p->op_id && *p->op_id && (b = emu_build_find_key(e, key))) {
        emu_event(e, "build %" PRId64 " %s/%s/%s: PUT client_operation_id %s: deduplicated",
                  b->id, b->project, b->bucket, b->builder, p->op_id);
    } else {
        b = emu_build_new(e, &err);
        if (!b)
            return http_error(resp, 503, "the emulator is full of running builds");
        put_fill(e, b, bld, p);
        if (p->op_id && *p->op_id)
            emu_build_set_key(e, b, key);
        emu_build_created(e, b, "v1 PUT");
    }
    if (nth < bld->n_schedule_errors)
        return scripted(resp, bld->schedule_errors[nth], "schedule_errors");
    return answer_build(e, resp, b);
}

static int v1_put(struct emulator *e, const struct http_request *req, struct http_response *resp)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    struct put_req p;
    char msg[512] = "";
    int r;

    if (!json_is_object(body)) {
        json_decref(body);
        return http_error(resp, 400, "Parse Error: the body is not a JSON object");
    }
    if (put_parse(body, &p, msg, sizeof(msg)) < 0) {
        r = app_error(resp, "INVALID_INPUT", msg);
    } else {
        pthread_mutex_lock(&e->lock);
        emu_stats_count(e, EMU_STAT_V1_PUT, NULL);
        r = put_locked(e, &p, resp);
        pthread_mutex_unlock(&e->lock);
        emu_hold_schedule_answer(e, emu_builder_find_legacy(e, p.bucket, p.builder));
    }
    json_decref(p.params);
    json_decref(p.tags);
    json_decref(body);
    return r;
}

static int v1_get(struct emulator *e, int64_t id, struct http_response *resp)
{
    struct emu_build *b;
    char msg[100];
    int r;

    pthread_mutex_lock(&e->lock);
    b = emu_build_find(e, id);
    if (b)
        emu_stats_count(e, EMU_STAT_V1_GET, b);
    if (!b) {
        snprintf(msg, sizeof(msg), "Build %" PRId64 " not found", id);
        r = app_error(resp, "BUILD_NOT_FOUND", msg);
    } else if (b->bld && b->bld->get_calls < b->bld->n_get_errors) {
        r = scripted(resp, b->bld->get_errors[b->bld->get_calls++], "get_errors");
    } else {
        if (b->bld)
            b->bld->get_calls++;
        r = answer_build(e, resp, b);
    }
    pthread_mutex_unlock(&e->lock);
    return r;
}

static int v1_cancel(struct emulator *e, int64_t id, struct http_response *resp)
{
    struct emu_build *b;
    char msg[100];
    int r;

    pthread_mutex_lock(&e->lock);
    b = emu_build_find(e, id);
    if (!b) {
        snprintf(msg, sizeof(msg), "Build %" PRId64 " not found", id);
        r = app_error(resp, "BUILD_NOT_FOUND", msg);
    } else if (emu_status_final(b->status) && b->status != EMU_CANCELED) {
        snprintf(msg, sizeof(msg), "Build %" PRId64 " is complete", id);
        r = app_error(resp, "BUILD_IS_COMPLETED", msg);
    } else {
        if (!emu_status_final(b->status)) {
            char who[300];
            emu_identity(e, b->project, who, sizeof(who));
            b->cancel_ns = clock_now(e->clock);
            b->canceled_by = strdup(who);
            emu_event(e, "build %" PRId64 " %s/%s/%s: v1 cancel", b->id, b->project, b->bucket,
                      b->builder);
            emu_build_transition(e, b, EMU_CANCELED);
        }
        r = answer_build(e, resp, b);
    }
    pthread_mutex_unlock(&e->lock);
    return r;
}

int emu_v1_handle(struct emulator *e, const struct http_request *req, struct http_response *resp)
{
    const char *rest = req->path + strlen(V1_PREFIX);
    const char *a = http_request_header(req, "Authorization");
    char *end;
    int64_t id;

    if (req->body_too_large)
        return http_error(resp, 413, "request body too large");
    if (e->o.require_auth && (!a || strncmp(a, "Bearer ", 7) != 0))
        return http_error(resp, 401, "Invalid Credentials");
    if (*rest == '\0') {
        if (strcmp(req->method, "PUT") != 0)
            return http_error(resp, 405, "method not allowed");
        return v1_put(e, req, resp);
    }
    if (*rest != '/')
        return http_error(resp, 404, "Not Found");
    errno = 0;
    id = strtoll(rest + 1, &end, 10);
    if (errno || end == rest + 1 || id <= 0)
        return http_error(resp, 400, "Invalid build id");
    if (*end == '\0' && strcmp(req->method, "GET") == 0)
        return v1_get(e, id, resp);
    if (strcmp(end, "/cancel") == 0 && strcmp(req->method, "POST") == 0)
        return v1_cancel(e, id, resp);
    return http_error(resp, 404, "Not Found");
}
