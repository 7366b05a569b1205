/*
 * pubsub.c - the Pub/Sub push endpoint, POST /pubsub (wire-formats.md 4.3,
 * luci-scheduler-spec.md 3.14 "Receiving").  See api.h.
 */
#include "base/compat.h"

#include <jansson.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/log.h"
#include "engine/engine.h"
#include "net/http.h"
#include "net/prpc.h"

/* The manager a push goes to when the push URL names none. */
#define PUBSUB_DEFAULT_KIND "buildbucket"

/* The HTTP status for engine_deliver_push's result (wire-formats.md 4.3). */
static int push_status(int r)
{
    switch (r) {
    case 0:
        return 200;
    case -EAGAIN:
        return 409; /* retry later: the invocation is still starting */
    case -EIO:
    case -ENOMEM:
        return 500; /* transient: Pub/Sub redelivers */
    default:
        return 202; /* fatal: acknowledged and dropped */
    }
}

/* Decodes {"message": {...}}; NULL with err on anything else. */
static json_t *push_message(const struct http_request *req, char *err, size_t errlen)
{
    json_error_t je;
    json_t *body, *msg;

    if (req->body_too_large) {
        snprintf(err, errlen, "push body over %u bytes", LIMIT_HTTP_BODY_BYTES);
        return NULL;
    }
    if (prpc_json_depth_check(req->body, req->body_len, LIMIT_JSON_DEPTH) < 0) {
        snprintf(err, errlen, "push body nested deeper than %d", LIMIT_JSON_DEPTH);
        return NULL;
    }
    body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        snprintf(err, errlen, "bad push body: %s", je.text);
        return NULL;
    }
    msg = json_object_get(body, "message");
    if (!json_is_object(msg)) {
        snprintf(err, errlen, "bad push body: no \"message\" object");
        json_decref(body);
        return NULL;
    }
    json_incref(msg);
    json_decref(body);
    return msg;
}

static int handle_push(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct engine *e = ctx;
    const char *kind = http_request_query(req, "kind");
    char err[512] = "";
    json_t *msg = push_message(req, err, sizeof(err));
    int r = msg ? engine_deliver_push(e, kind && kind[0] ? kind : PUBSUB_DEFAULT_KIND, msg, err,
                                      sizeof(err))
                : -EINVAL;
    int status = push_status(r);

    json_decref(msg);
    if (status == 200)
        return http_response_text(resp, 200, "OK");
    if (status == 202)
        log_warn("api", "pubsub push from %s rejected: %s", req->remote_addr, err);
    else
        log_info("api", "pubsub push from %s not taken now (%d): %s", req->remote_addr, status,
                 err);
    return http_response_text(resp, status, err[0] ? err : http_status_text(status));
}

int api_register_pubsub(struct http_server *http, struct engine *e)
{
    return http_server_route(http, "POST", "/pubsub", handle_push, e, NULL,
                             HTTP_ROUTE_OVERSIZE_TO_HANDLER);
}
