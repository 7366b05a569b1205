/*
 * web.c - the web UI's route: dispatch by path, the caller's identity,
 * the security headers, static assets and the "Newer" cursor map
 * (contract in web.h).
 */
#include "base/compat.h"
#include "web/web.h"

#include "auth/auth.h"
#include "web/web-internal.h"

static void web_free(void *ctx)
{
    struct web *w = ctx;

    if (!w)
        return;
    for (size_t i = 0; i < WEB_CURSOR_MAP; i++) {
        free(w->cursors[i].key);
        free(w->cursors[i].prev);
    }
    pthread_mutex_destroy(&w->lock);
    free(w->config_view_url);
    free(w);
}

/* The headers every answer carries. */
static int security_headers(struct http_response *resp)
{
    int r;

    if ((r = http_response_set_header(resp, "Content-Security-Policy", WEB_CSP)) < 0 ||
        (r = http_response_set_header(resp, "X-Content-Type-Options", "nosniff")) < 0 ||
        (r = http_response_set_header(resp, "X-Frame-Options", "DENY")) < 0 ||
        (r = http_response_set_header(resp, "Referrer-Policy", "same-origin")) < 0)
        return r;
    return 0;
}

int page_send(struct page *p, int status)
{
    int r = html_error(&p->h);

    if (r < 0)
        return r;
    buf_reset(&p->resp->body);
    r = buf_append(&p->resp->body, p->h.b.data, p->h.b.len);
    if (r < 0)
        return r;
    p->resp->status = status;
    if ((r = http_response_set_header(p->resp, "Content-Type", "text/html; charset=utf-8")) < 0 ||
        (r = http_response_set_header(p->resp, "Cache-Control", "no-store")) < 0)
        return r;
    return security_headers(p->resp);
}

int page_send_json(struct page *p, int status, const char *json)
{
    int r;

    buf_reset(&p->resp->body);
    if ((r = buf_puts(&p->resp->body, json)) < 0)
        return r;
    p->resp->status = status;
    if ((r = http_response_set_header(p->resp, "Content-Type",
                                      "application/json; charset=utf-8")) < 0 ||
        (r = http_response_set_header(p->resp, "Cache-Control", "no-store")) < 0)
        return r;
    return security_headers(p->resp);
}

static int serve_static(struct page *p, const char *name)
{
    size_t len;
    const char *type, *data = web_static_find(name, &len, &type);
    int r;

    if (!data)
        return page_error(p, 404, "Not found.", false);
    p->resp->status = 200;
    if ((r = buf_append(&p->resp->body, data, len)) < 0 ||
        (r = http_response_set_header(p->resp, "Content-Type", type)) < 0 ||
        (r = http_response_set_header(p->resp, "Cache-Control", "public, max-age=3600")) < 0)
        return r;
    return security_headers(p->resp);
}

/*
 * Splits path after "/jobs/" into at most 3 non-empty segments (one
 * trailing "/" allowed).  Returns how many, or -1 for anything else.
 */
static int split_jobs_path(const char *rest, char seg[3][ENGINE_ID_MAX])
{
    int n = 0;

    while (*rest) {
        const char *slash = strchr(rest, '/');
        size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

        if (len == 0 || len >= ENGINE_ID_MAX || n == 3)
            return -1;
        memcpy(seg[n], rest, len);
        seg[n][len] = '\0';
        n++;
        if (!slash)
            break;
        rest = slash + 1;
    }
    return n;
}

static int dispatch(struct page *p)
{
    const char *path = p->req->path;
    char seg[3][ENGINE_ID_MAX];
    int n;

    if (strncmp(path, "/static/", 8) == 0)
        return serve_static(p, path + 8);
    if (strcmp(p->req->method, "GET") != 0 && strcmp(p->req->method, "HEAD") != 0) {
        int r = page_error(p, 405, "Method not allowed.", false);
        if (r == 0)
            r = http_response_set_header(p->resp, "Allow", "GET, HEAD");
        return r;
    }
    if (strcmp(path, "/") == 0)
        return page_index(p);
    if (strncmp(path, "/jobs/", 6) != 0 || (n = split_jobs_path(path + 6, seg)) <= 0)
        return page_error(p, 404, "Not found.", false);
    if (n == 1)
        return page_project(p, seg[0]);
    if (n == 2)
        return page_job(p, seg[0], seg[1]);
    return page_invocation(p, seg[0], seg[1], seg[2]);
}

static int handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct web *w = ctx;
    struct page p = {.w = w, .req = req, .resp = resp};
    int r;

    p.now = clock_now(w->clock);
    p.started = clock_mono(w->clock);
    html_init(&p.h, WEB_MAX_PAGE_BYTES);
    r = auth_authenticate(w->a, http_request_header(req, "Authorization"), p.identity,
                          sizeof(p.identity));
    if (r < 0) {
        snprintf(p.identity, sizeof(p.identity), "%s", AUTH_ANONYMOUS);
        p.anonymous = true;
        r = page_error(&p, 401, "Bad or unknown bearer token.", false);
    } else {
        p.anonymous = strcmp(p.identity, AUTH_ANONYMOUS) == 0;
        r = dispatch(&p);
    }
    html_release(&p.h);
    return r;
}

int web_register(struct http_server *http, struct engine *e, struct auth *a,
                 const struct web_options *o)
{
    struct web *w;

    if (!http || !e || !a ||
        (o && o->config_view_url && !web_config_url_template_ok(o->config_view_url)))
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    if (o && o->config_view_url && !(w->config_view_url = strdup(o->config_view_url))) {
        free(w);
        return -ENOMEM;
    }
    w->e = e;
    w->a = a;
    w->clock = o && o->clock ? o->clock : clock_real();
    snprintf(w->version, sizeof(w->version), "%s", o && o->version ? o->version : "tock");
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w->config_view_url);
        free(w);
        return -ENOMEM;
    }
    return http_server_route(http, NULL, "/", handle, w, web_free, 0);
}

/* ---------------------------------------------------------------------------
 * The cursor map: LUCI keeps "v2:cursors:list_invocations:<job>:<cursor>" ->
 * previous cursor in memcache for 24 h; tock keeps the newest
 * WEB_CURSOR_MAP pairs in memory (a restart forgets them: "Newer" is then
 * disabled, as in LUCI after an expiry).
 */

static char *cursor_key(const char *job_id, const char *cursor)
{
    size_t a = strlen(job_id), b = strlen(cursor);
    char *k = malloc(a + b + 2);

    if (k) {
        memcpy(k, job_id, a);
        k[a] = '\n';
        memcpy(k + a + 1, cursor, b + 1);
    }
    return k;
}

void web_cursor_remember(struct web *w, const char *job_id, const char *cursor,
                         const char *prev)
{
    char *key = cursor_key(job_id, cursor), *val = strdup(prev ? prev : "");
    struct web_cursor *c;

    if (!key || !val) {
        free(key);
        free(val);
        return; /* forgetting only disables a "Newer" link */
    }
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < WEB_CURSOR_MAP; i++) {
        if (w->cursors[i].key && strcmp(w->cursors[i].key, key) == 0) {
            free(w->cursors[i].prev);
            w->cursors[i].prev = val;
            pthread_mutex_unlock(&w->lock);
            free(key);
            return;
        }
    }
    c = &w->cursors[w->next_cursor];
    w->next_cursor = (w->next_cursor + 1) % WEB_CURSOR_MAP;
    free(c->key);
    free(c->prev);
    c->key = key;
    c->prev = val;
    pthread_mutex_unlock(&w->lock);
}

int web_cursor_prev(struct web *w, const char *job_id, const char *cursor, char **ret)
{
    char *key = cursor_key(job_id, cursor), *val = NULL;
    int r = -ENOENT;

    if (!key)
        return -ENOMEM;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < WEB_CURSOR_MAP; i++) {
        if (w->cursors[i].key && strcmp(w->cursors[i].key, key) == 0) {
            val = strdup(w->cursors[i].prev);
            r = val ? 0 : -ENOMEM;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    free(key);
    if (r == 0)
        *ret = val;
    return r;
}
