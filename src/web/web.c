/*
 * web.c - the web UI's route: dispatch by path, the caller's identity,
 * the security headers, static assets and the "Newer" cursor map
 * (contract in web.h).
 */
#include "base/compat.h"
#include "web/web.h"

#include "auth/auth.h"
#include "base/ratelimit.h"
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
    web_sessions_free(w);
    ratelimit_free(w->login_limit);
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

int page_split_path(const char *rest, char seg[3][ENGINE_ID_MAX])
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
    if (strncmp(path, "/actions/", 9) == 0)
        return page_action(p, path + 9);
    if (strcmp(path, "/login") == 0)
        return page_login(p);
    if (strcmp(path, "/logout") == 0)
        return page_logout(p);
    if (strcmp(p->req->method, "GET") != 0 && strcmp(p->req->method, "HEAD") != 0) {
        int r = page_error(p, 405, "Method not allowed.", false);
        if (r == 0)
            r = http_response_set_header(p->resp, "Allow", "GET, HEAD");
        return r;
    }
    if (strcmp(path, "/") == 0)
        return page_index(p);
    if (strncmp(path, "/jobs/", 6) != 0 || (n = page_split_path(path + 6, seg)) <= 0)
        return page_error(p, 404, "Not found.", false);
    if (n == 1)
        return page_project(p, seg[0]);
    if (n == 2)
        return page_job(p, seg[0], seg[1]);
    return page_invocation(p, seg[0], seg[1], seg[2]);
}

/*
 * The identity from the trusted proxy's header: 1 when taken, 0 when the
 * peer is not the proxy or sent no header, -EINVAL for a bad value.
 */
static int proxy_identity(struct page *p)
{
    const struct web *w = p->w;
    const char *v, *proto;

    if (!*w->proxy_header || !web_cidr_contains(&w->proxy, p->req->remote_addr))
        return 0;
    p->from_proxy = true;
    proto = http_request_header(p->req, "X-Forwarded-Proto");
    p->secure = proto && strcmp(proto, "https") == 0;
    v = http_request_header(p->req, w->proxy_header);
    if (!v || !*v)
        return 0;
    if (strncmp(v, "user:", 5) == 0)
        v += 5;
    if ((size_t)snprintf(p->identity, sizeof(p->identity), "user:%s", v) >= sizeof(p->identity) ||
        auth_identity_check(p->identity) < 0)
        return -EINVAL;
    return 1;
}

/* Who is asking: bearer token, trusted proxy header, session cookie, anonymous.  0 or -EACCES. */
static int caller(struct page *p)
{
    const char *authz = http_request_header(p->req, "Authorization");
    char sid[WEB_SESSION_ID_LEN + 1];
    int r;

    p->anonymous = false;
    r = proxy_identity(p); /* sets p->secure for the cookie too */
    if (authz) {
        r = auth_authenticate(p->w->a, authz, p->identity, sizeof(p->identity));
        if (r < 0)
            return -EACCES;
    } else if (r < 0) {
        return -EACCES;
    } else if (r == 0) {
        if (web_cookie_session(http_request_header(p->req, "Cookie"), sid) == 0 &&
            web_session_lookup(p->w, sid, p->identity) == 0)
            memcpy(p->session, sid, sizeof(sid));
        else
            snprintf(p->identity, sizeof(p->identity), "%s", AUTH_ANONYMOUS);
    }
    p->anonymous = strcmp(p->identity, AUTH_ANONYMOUS) == 0;
    return 0;
}

static int handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct web *w = ctx;
    struct page p = {.w = w, .req = req, .resp = resp};
    int r;

    p.now = clock_now(w->clock);
    p.started = clock_mono(w->clock);
    html_init(&p.h, WEB_MAX_PAGE_BYTES);
    if (caller(&p) < 0) {
        snprintf(p.identity, sizeof(p.identity), "%s", AUTH_ANONYMOUS);
        p.anonymous = true;
        p.session[0] = '\0';
        r = page_error(&p, 401, "Bad or unknown bearer token.", false);
    } else {
        r = dispatch(&p);
    }
    html_release(&p.h);
    return r;
}

/* Copies the proxy options of o into w: 0 or -EINVAL. */
static int proxy_options(struct web *w, const struct web_options *o)
{
    const char *h = o ? o->trust_proxy_header : NULL, *cidr = o ? o->trusted_proxy : NULL;

    if (!h && !cidr)
        return 0;
    if (!h || !cidr || !*h || strlen(h) >= sizeof(w->proxy_header) ||
        strcspn(h, " \t\r\n:") != strlen(h) || web_cidr_parse(cidr, &w->proxy) < 0)
        return -EINVAL;
    snprintf(w->proxy_header, sizeof(w->proxy_header), "%s", h);
    return 0;
}

int web_register(struct http_server *http, struct engine *e, struct auth *a,
                 const struct web_options *o)
{
    static const char *const more[] = {"/actions/", "/login", "/logout"};
    struct web *w;
    int r;

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
    if ((r = proxy_options(w, o)) < 0 || (r = web_sessions_init(w)) < 0) {
        free(w->config_view_url);
        free(w);
        return r;
    }
    w->login_limit = ratelimit_new(&(struct rate_limit){WEB_LOGIN_RATE, NS_PER_MIN,
                                                         WEB_LOGIN_RATE}, WEB_LOGIN_KEYS);
    if (!w->login_limit || pthread_mutex_init(&w->lock, NULL) != 0) {
        ratelimit_free(w->login_limit);
        web_sessions_free(w);
        free(w->config_view_url);
        free(w);
        return -ENOMEM;
    }
    /* "/" owns w (freed with the server); the others borrow it. */
    r = http_server_route(http, NULL, "/", handle, w, web_free, 0);
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(more); i++)
        r = http_server_route(http, NULL, more[i], handle, w, NULL, 0);
    return r;
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
