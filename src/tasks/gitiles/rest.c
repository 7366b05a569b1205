/*
 * rest.c - Gitiles REST calls (gt-rest.h).
 */
#include "tasks/gitiles/gt-rest.h"

#include "net/prpc.h"

static int code_of_status(long status)
{
    switch (status) {
    case 400:
        return GRPC_INVALID_ARGUMENT;
    case 401:
        return GRPC_UNAUTHENTICATED;
    case 403:
        return GRPC_PERMISSION_DENIED;
    case 404:
        return GRPC_NOT_FOUND;
    case 429:
        return GRPC_RESOURCE_EXHAUSTED;
    case 502:
    case 503:
        return GRPC_UNAVAILABLE;
    default:
        return GRPC_INTERNAL;
    }
}

/* GET path; 0 only for HTTP 200 (*resp then the caller's). */
static int get(const struct gt_remote *rm, const char *path, struct client_http_response *resp,
               struct client_error *e)
{
    struct client_http_request rq = {.method = "GET", .host = rm->host, .path = path};
    struct client_http_response rs = {0};
    int r = client_http(rm->client, &rq, &rm->opts, &rs, e);

    if (r < 0)
        return -EIO;
    if (rs.status != 200) {
        size_t line = strcspn(rs.body ? rs.body : "", "\r\n");
        client_error_set(e, code_of_status(rs.status), false, "HTTP %ld from Gitiles: %.*s",
                         rs.status, (int)(line > 200 ? 200 : line), rs.body ? rs.body : "");
        client_http_response_release(&rs);
        return -EIO;
    }
    *resp = rs;
    return 0;
}

static int bad_reply(struct client_error *e, const char *why)
{
    client_error_set(e, GRPC_INTERNAL, false, "bad reply from Gitiles: %s", why);
    return -EIO;
}

int gt_fetch_refs(const struct gt_remote *rm, const char *prefix, struct gt_refs *out,
                  struct client_error *e)
{
    struct client_http_response rs = {0};
    char why[GT_MAX_ERR];
    struct buf path;
    int r;

    buf_init(&path, CLIENT_MAX_URL);
    r = gt_path_refs(rm->project, prefix, &path);
    if (r < 0) {
        buf_release(&path);
        client_error_set(e, GRPC_INVALID_ARGUMENT, true, "request path too long");
        return -EIO;
    }
    r = get(rm, path.data, &rs, e);
    buf_release(&path);
    if (r < 0)
        return r;
    r = gt_parse_refs(rs.body, rs.len, prefix, out, why, sizeof(why));
    client_http_response_release(&rs);
    return r < 0 ? bad_reply(e, why) : 0;
}

int gt_fetch_log(const struct gt_remote *rm, const char *committish, size_t limit,
                 bool tree_diff, struct gt_commits *out, struct client_error *e)
{
    char cursor[256] = "", why[GT_MAX_ERR];
    struct buf path;
    int r = 0;

    buf_init(&path, CLIENT_MAX_URL);
    for (int page = 0; page < GT_MAX_LOG_PAGES && out->n < limit; page++) {
        struct client_http_response rs = {0};
        buf_reset(&path);
        if (gt_path_log(rm->project, committish, limit - out->n, tree_diff, cursor, &path) < 0) {
            client_error_set(e, GRPC_INVALID_ARGUMENT, true, "request path too long");
            r = -EIO;
            break;
        }
        r = get(rm, path.data, &rs, e);
        if (r < 0)
            break;
        r = gt_parse_log(rs.body, rs.len, limit, out, cursor, sizeof(cursor), why, sizeof(why));
        client_http_response_release(&rs);
        if (r < 0) {
            r = bad_reply(e, why);
            break;
        }
        if (!cursor[0])
            break;
    }
    buf_release(&path);
    return r;
}
