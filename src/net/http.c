/*
 * http.c - the HTTP server on libmicrohttpd (contract in http.h).
 *
 * libmicrohttpd calls on_request several times per request: once when the
 * headers are in (we pick the route and may answer at once), once per
 * chunk of body (we keep at most max_body bytes), and once more with no
 * data when the body is complete (we run the handler).  Per-request state
 * lives in a struct http_req_state hung on the connection's con_cls and is
 * freed by on_completed.
 */
#include "base/compat.h"
#include "net/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/clock.h"
#include "base/metrics.h"
#include "net/http-front.h"

struct metric_counter http_metric_requests =
    METRIC_COUNTER("tock_http_requests_total",
                   "HTTP requests answered, by route (the matched route's path, \"none\" "
                   "when no route matched) and status code.",
                   "route", "code");

struct http_route {
    char *method; /* NULL = any */
    char *path;
    size_t path_len;
    bool prefix; /* path ends in "/" */
    unsigned flags;
    http_handler_fn fn;
    void *ctx;
    void (*ctx_free)(void *ctx);
};

/* Where a connection is, for the deadlines of the sweep. */
enum conn_phase {
    PHASE_HEADERS, /* waiting for a request line and headers */
    PHASE_BODY,    /* reading a body */
    PHASE_BUSY,    /* in a handler or sending an answer: no deadline */
};

/*
 * One connection libmicrohttpd serves (its socket context), on the
 * server's list from NOTIFY_STARTED to NOTIFY_CLOSED.  Fields after `addr`
 * change under s->lock.  libmicrohttpd closes the socket only after
 * NOTIFY_CLOSED, so the sweep may shutdown(2) fd while the entry is listed.
 * The front door (http-front.h) admitted it and holds its cap slot.
 */
struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    unsigned char addr[16]; /* IPv4 address, or the /64 of an IPv6 one */
    bool killed;
    bool awaiting_next;     /* idle keep-alive: no byte of a next request seen yet */
    enum conn_phase phase;
    int64_t phase_start_ns;
    uint64_t body_bytes;
};

struct http_server {
    struct http_server_options opts;
    pthread_mutex_t lock; /* the connection list and counts */
    struct http_conn *conns;
    struct http_front *front;
    pthread_t sweeper;
    pthread_cond_t sweep_cond;
    bool sweeper_running, stopping;
    char *host;
    struct http_route routes[LIMIT_HTTP_ROUTES];
    size_t n_routes;
    struct MHD_Daemon *daemon;
    int listen_fd;
    uint16_t port;
    bool started;
};

struct http_req_state {
    const struct http_route *route;
    bool keep_alive;        /* the server's keep_alive: the answer may leave the connection open */
    bool method_mismatch;
    bool too_large;
    bool answered;
    int status;       /* the status queued (0: none yet), counted by on_completed */
    uint64_t dropped; /* body bytes not kept (over the limit, or after an answer) */
    struct buf body;
};

/* ---------------------------------------------------------------------------
 * Requests and responses
 */

const char *http_request_header(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

const char *http_request_query(const struct http_request *r, const char *name)
{
    if (!r->conn)
        return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    buf_init(&resp->body, LIMIT_HTTP_RESPONSE_BYTES);
}

void http_response_release(struct http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    resp->n_headers = 0;
    buf_release(&resp->body);
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int http_response_set_header(struct http_response *resp, const char *name, const char *value)
{
    char *v;

    if (!name || !value || !*name || has_crlf(name) || has_crlf(value) || strchr(name, ':'))
        return -EINVAL;
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], name) == 0) {
            v = strdup(value);
            if (!v)
                return -ENOMEM;
            free(resp->header_values[i]);
            resp->header_values[i] = v;
            return 0;
        }
    }
    if (resp->n_headers >= LIMIT_HTTP_RESPONSE_HEADERS)
        return -E2BIG;
    char *n = strdup(name);
    v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    resp->header_names[resp->n_headers] = n;
    resp->header_values[resp->n_headers] = v;
    resp->n_headers++;
    return 0;
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], name) == 0)
            return resp->header_values[i];
    }
    return NULL;
}

int http_response_text(struct http_response *resp, int status, const char *text)
{
    int r;
    size_t n = strlen(text);

    resp->status = status;
    buf_reset(&resp->body);
    r = http_response_set_header(resp, "Content-Type", "text/plain; charset=utf-8");
    if (r < 0)
        return r;
    r = buf_append(&resp->body, text, n);
    if (r < 0)
        return r;
    if (n == 0 || text[n - 1] != '\n')
        r = buf_putc(&resp->body, '\n');
    return r;
}

const char *http_status_text(int status)
{
    static const struct {
        int status;
        const char *text;
    } table[] = {
        {200, "OK"},
        {202, "Accepted"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {499, "Client Closed Request"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        if (table[i].status == status)
            return table[i].text;
    }
    return "Unknown";
}

/* ---------------------------------------------------------------------------
 * Connections: caps, deadlines, the sweep
 */

/* The address key of a connection (http_front_addr_key); zeros when unknown. */
static void conn_addr_key(struct MHD_Connection *mc, unsigned char key[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    memset(key, 0, 16);
    if (ci && ci->client_addr)
        http_front_addr_key(ci->client_addr, key);
}

/* Lists a new connection (s->lock held). */
static void conn_list(struct http_server *s, struct http_conn *c)
{
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
}

static void conn_remove(struct http_server *s, struct http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    struct http_conn *c = *socket_context;
    unsigned char key[16];

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = calloc(1, sizeof(*c));
        if (!c)
            return; /* unlisted: no deadline, no cap (out of memory only) */
        c->fd = ci ? ci->connect_fd : -1;
        conn_addr_key(mc, c->addr);
        c->phase = PHASE_HEADERS;
        c->phase_start_ns = clock_mono_ns();
        pthread_mutex_lock(&s->lock);
        conn_list(s, c);
        pthread_mutex_unlock(&s->lock);
        *socket_context = c;
        return;
    }
    conn_addr_key(mc, key);
    http_front_release(s->front, key);
    if (!c)
        return;
    pthread_mutex_lock(&s->lock);
    conn_remove(s, c);
    pthread_mutex_unlock(&s->lock);
    free(c);
    *socket_context = NULL;
}

static struct http_conn *conn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* Moves the connection to phase (and counts body bytes in PHASE_BODY). */
static void conn_phase(struct http_server *s, struct MHD_Connection *mc, enum conn_phase phase,
                       size_t body_bytes)
{
    struct http_conn *c = conn_of(mc);

    if (!c)
        return;
    pthread_mutex_lock(&s->lock);
    if (c->phase != phase) {
        c->phase = phase;
        c->phase_start_ns = clock_mono_ns();
        c->body_bytes = 0;
        c->awaiting_next = phase == PHASE_HEADERS; /* only after a request ended */
    }
    c->body_bytes += body_bytes;
    pthread_mutex_unlock(&s->lock);
}

/* Whether c is past its deadline at now (s->lock held). */
static bool conn_overdue(const struct http_server *s, const struct http_conn *c, int64_t now)
{
    int64_t age = now - c->phase_start_ns, grace;

    switch (c->phase) {
    case PHASE_HEADERS:
        return !c->awaiting_next && age > (int64_t)s->opts.header_timeout_sec * 1000000000;
    case PHASE_BODY:
        grace = (int64_t)s->opts.body_grace_sec * 1000000000;
        if (age <= grace)
            return false;
        /* owed: body_min_rate bytes for every second past the grace */
        return (double)c->body_bytes < (double)s->opts.body_min_rate * (double)(age - grace) / 1e9;
    case PHASE_BUSY:
        break;
    }
    return false;
}

#define SWEEP_INTERVAL_NS 250000000
/* Bytes received this soon after a request ended may still be its own. */
#define NEXT_REQUEST_MARGIN_NS 50000000

/*
 * An idle keep-alive connection (s->lock held): once the kernel saw data
 * arrive after the previous request ended, the header deadline of the
 * next request counts from then (TCP_INFO's last data receive time, so
 * within one sweep of its first byte).  Until then only libmicrohttpd's
 * idle timeout applies.
 */
static void conn_watch_next(struct http_conn *c, int64_t now)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    int64_t at;

    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return;
    at = now - (int64_t)ti.tcpi_last_data_recv * 1000000;
    if (at > c->phase_start_ns + NEXT_REQUEST_MARGIN_NS) {
        c->awaiting_next = false;
        c->phase_start_ns = at;
    }
}

/* Four times a second: shuts down connections past their deadline. */
static void *sweeper(void *arg)
{
    struct http_server *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        int64_t now = clock_mono_ns();

        for (struct http_conn *c = s->conns; c; c = c->next) {
            if (c->awaiting_next && c->phase == PHASE_HEADERS && c->fd >= 0)
                conn_watch_next(c, now);
            if (!c->killed && c->fd >= 0 && conn_overdue(s, c, now)) {
                c->killed = true;
                shutdown(c->fd, SHUT_RDWR);
            }
        }
        until = clock_mono_deadline(SWEEP_INTERVAL_NS);
        pthread_cond_timedwait(&s->sweep_cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Strict parsing
 */

struct header_census {
    unsigned content_length, transfer_encoding, authorization;
    bool te_not_chunked, control_byte;
};

static enum MHD_Result census_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct header_census *hc = cls;

    (void)kind;
    for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            hc->control_byte = true;
    }
    if (strcasecmp(key, "Content-Length") == 0) {
        hc->content_length++;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        hc->transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            hc->te_not_chunked = true;
    } else if (strcasecmp(key, "Authorization") == 0) {
        hc->authorization++;
    }
    return MHD_YES;
}

/*
 * The reason a request's framing or credentials are ambiguous, or NULL.
 * The front door checked the first request of each connection on its raw
 * bytes; this repeats what libmicrohttpd's parsed headers still show for
 * keep-alive requests (it cuts a value at a NUL byte, so that NUL is not
 * seen here: docs/security.md).
 */
static const char *ambiguous_request(struct MHD_Connection *conn)
{
    struct header_census hc = {0};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, census_header, &hc);
    if (hc.content_length > 1)
        return "several Content-Length headers";
    if (hc.content_length && hc.transfer_encoding)
        return "Content-Length together with Transfer-Encoding";
    if (hc.transfer_encoding > 1 || hc.te_not_chunked)
        return "unsupported Transfer-Encoding (only one \"chunked\" is accepted)";
    if (hc.authorization > 1)
        return "several Authorization headers";
    if (hc.control_byte)
        return "a control byte (NUL, CR, ...) in a header value";
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Server set-up
 */

static int healthz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return http_response_text(resp, 200, "ok");
}

int http_server_new(const struct http_server_options *o, struct http_server **ret)
{
    struct http_server *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    int r;

    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    /* The sweeper's deadline is CLOCK_MONOTONIC: the condition must use that clock. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sweep_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (o)
        s->opts = *o;
    s->listen_fd = -1;
    s->host = strdup(s->opts.host ? s->opts.host : "127.0.0.1");
    if (!s->host) {
        r = -ENOMEM;
        goto out;
    }
    s->opts.host = s->host;
    if (s->opts.max_connections == 0)
        s->opts.max_connections = LIMIT_HTTP_CONNECTIONS;
    if (s->opts.max_per_client == 0)
        s->opts.max_per_client = LIMIT_HTTP_CONNECTIONS_PER_CLIENT;
    if (s->opts.overflow == 0)
        s->opts.overflow = LIMIT_HTTP_OVERFLOW;
    if (s->opts.threads == 0)
        s->opts.threads = LIMIT_HTTP_THREADS;
    if (s->opts.idle_timeout_sec == 0)
        s->opts.idle_timeout_sec = LIMIT_HTTP_IDLE_SEC;
    if (s->opts.header_timeout_sec == 0)
        s->opts.header_timeout_sec = LIMIT_HTTP_HEADER_SEC;
    if (s->opts.body_grace_sec == 0)
        s->opts.body_grace_sec = LIMIT_HTTP_BODY_GRACE_SEC;
    if (s->opts.body_min_rate == 0)
        s->opts.body_min_rate = LIMIT_HTTP_BODY_MIN_RATE;
    if (s->opts.max_body == 0 || s->opts.max_body > LIMIT_HTTP_BODY_BYTES)
        s->opts.max_body = LIMIT_HTTP_BODY_BYTES;
    r = http_server_route(s, "GET", "/healthz", healthz, NULL, NULL, 0);
    if (r < 0)
        goto out;
    *ret = s;
    s = NULL;
out:
    http_server_free(s);
    return r;
}

int http_server_route(struct http_server *s, const char *method, const char *path,
                      http_handler_fn fn, void *ctx, void (*ctx_free)(void *ctx),
                      unsigned flags)
{
    struct http_route *rt;
    int r;

    if (!path || path[0] != '/' || !fn) {
        r = -EINVAL;
        goto fail;
    }
    if (s->started) {
        r = -EBUSY;
        goto fail;
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        const struct http_route *o = &s->routes[i];
        bool same_method = (!o->method && !method) ||
                           (o->method && method && strcmp(o->method, method) == 0);
        if (same_method && strcmp(o->path, path) == 0) {
            r = -EEXIST;
            goto fail;
        }
    }
    if (s->n_routes >= LIMIT_HTTP_ROUTES) {
        r = -E2BIG;
        goto fail;
    }
    rt = &s->routes[s->n_routes];
    memset(rt, 0, sizeof(*rt));
    rt->path = strdup(path);
    rt->method = method ? strdup(method) : NULL;
    if (!rt->path || (method && !rt->method)) {
        free(rt->path);
        free(rt->method);
        r = -ENOMEM;
        goto fail;
    }
    rt->path_len = strlen(path);
    rt->prefix = path[rt->path_len - 1] == '/';
    rt->flags = flags;
    rt->fn = fn;
    rt->ctx = ctx;
    rt->ctx_free = ctx_free;
    s->n_routes++;
    return 0;
fail:
    if (ctx_free)
        ctx_free(ctx);
    return r;
}

/*
 * The longest route whose path matches; *ret_mismatch tells whether a
 * path matched only routes of other methods.
 */
static const struct http_route *route_find(const struct http_server *s, const char *method,
                                           const char *path, bool *ret_mismatch)
{
    const struct http_route *best = NULL;
    bool mismatch = false;

    for (size_t i = 0; i < s->n_routes; i++) {
        const struct http_route *rt = &s->routes[i];
        bool match = rt->prefix ? strncmp(path, rt->path, rt->path_len) == 0
                                : strcmp(path, rt->path) == 0;
        if (!match)
            continue;
        if (rt->method && strcmp(rt->method, method) != 0) {
            mismatch = true;
            continue;
        }
        if (!best || rt->path_len > best->path_len)
            best = rt;
    }
    *ret_mismatch = mismatch;
    return best;
}

/* ---------------------------------------------------------------------------
 * Serving
 */

struct header_collect {
    struct http_header *v;
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct header_collect *hc = cls;

    (void)kind;
    if (hc->n >= LIMIT_HTTP_HEADERS) {
        hc->overflow = true;
        return MHD_NO;
    }
    hc->v[hc->n].name = key;
    hc->v[hc->n].value = value ? value : "";
    hc->n++;
    return MHD_YES;
}

static void remote_addr(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outlen);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 =
            (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outlen);
    }
}

/* Sends resp; close_after adds "Connection: close" (unread body left behind). */
static enum MHD_Result send_response(struct http_req_state *st, struct MHD_Connection *conn,
                                     struct http_response *resp, bool close_after)
{
    struct MHD_Response *mr;
    enum MHD_Result ok;

    mr = MHD_create_response_from_buffer(resp->body.len, resp->body.data,
                                         MHD_RESPMEM_MUST_COPY);
    if (!mr)
        return MHD_NO;
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (MHD_add_response_header(mr, resp->header_names[i], resp->header_values[i]) != MHD_YES)
            goto fail;
    }
    if (close_after && MHD_add_response_header(mr, "Connection", "close") != MHD_YES)
        goto fail;
    ok = MHD_queue_response(conn, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    if (ok == MHD_YES)
        st->status = resp->status;
    return ok;
fail:
    MHD_destroy_response(mr);
    return MHD_NO;
}

static enum MHD_Result send_text(struct http_req_state *st, struct MHD_Connection *conn,
                                 int status, const char *text, bool close_after)
{
    struct http_response resp;
    enum MHD_Result ok = MHD_NO;

    http_response_init(&resp);
    if (http_response_text(&resp, status, text) == 0)
        ok = send_response(st, conn, &resp, close_after);
    http_response_release(&resp);
    return ok;
}

/* Runs the route's handler over the collected request and queues its answer. */
static enum MHD_Result run_handler(struct MHD_Connection *conn, struct http_req_state *st,
                                   const char *method, const char *url)
{
    struct http_header headers[LIMIT_HTTP_HEADERS];
    struct header_collect hc = {.v = headers};
    struct http_request req;
    struct http_response resp;
    char addr[INET6_ADDRSTRLEN + 1];
    enum MHD_Result ok;

    st->answered = true;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hc);
    if (hc.overflow)
        return send_text(st, conn, 431, "too many request headers", true);
    remote_addr(conn, addr, sizeof(addr));
    req = (struct http_request){
        .method = method,
        .path = url,
        .body = st->too_large ? "" : st->body.data,
        .body_len = st->too_large ? 0 : st->body.len,
        .body_too_large = st->too_large,
        .headers = headers,
        .n_headers = hc.n,
        .remote_addr = addr,
        .conn = conn,
    };
    http_response_init(&resp);
    if (st->route->fn(st->route->ctx, &req, &resp) < 0)
        http_response_text(&resp, 500, "internal server error");
    ok = send_response(st, conn, &resp, st->too_large || !st->keep_alive);
    http_response_release(&resp);
    return ok;
}

/* Parses a Content-Length value; false when absent or malformed. */
static bool content_length(struct MHD_Connection *conn, uint64_t *ret)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    char *end;
    unsigned long long n;

    if (!v || *v < '0' || *v > '9')
        return false;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end)
        return false;
    *ret = n;
    return true;
}

/*
 * The first call of a request (headers in): refuses ambiguous requests,
 * picks the route, may answer at once.
 */
static enum MHD_Result on_headers(struct http_server *s, struct MHD_Connection *conn,
                                  struct http_req_state *st, const char *url, const char *method)
{
    const char *why;
    uint64_t clen;

    conn_phase(s, conn, PHASE_BODY, 0);
    why = ambiguous_request(conn);
    if (why) {
        st->answered = true;
        return send_text(st, conn, 400, why, true);
    }
    st->route = route_find(s, method, url, &st->method_mismatch);
    if (!st->route) {
        st->answered = true;
        if (st->method_mismatch)
            return send_text(st, conn, 405, "method not allowed", true);
        return send_text(st, conn, 404, "not found", true);
    }
    if (content_length(conn, &clen) && clen > s->opts.max_body) {
        /* Answer now: the body is never read (no "100 Continue" either). */
        st->too_large = true;
        if (st->route->flags & HTTP_ROUTE_OVERSIZE_TO_HANDLER) {
            conn_phase(s, conn, PHASE_BUSY, 0);
            return run_handler(conn, st, method, url);
        }
        st->answered = true;
        return send_text(st, conn, 413, "request body too large", true);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *s = cls;
    struct http_req_state *st = *con_cls;

    (void)version;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        buf_init(&st->body, s->opts.max_body);
        st->keep_alive = s->opts.keep_alive;
        *con_cls = st;
        return on_headers(s, conn, st, url, method);
    }
    if (*upload_data_size > 0) {
        conn_phase(s, conn, PHASE_BODY, *upload_data_size);
        if (st->answered || st->too_large ||
            buf_append(&st->body, upload_data, *upload_data_size) < 0) {
            /* Not kept; a sender that goes on far past the limit is cut off. */
            st->too_large = st->too_large || !st->answered;
            buf_release(&st->body);
            st->dropped += *upload_data_size;
            if (st->dropped > 2 * (uint64_t)s->opts.max_body)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered)
        return MHD_YES;
    conn_phase(s, conn, PHASE_BUSY, 0);
    if (st->too_large && !(st->route->flags & HTTP_ROUTE_OVERSIZE_TO_HANDLER)) {
        st->answered = true;
        return send_text(st, conn, 413, "request body too large", true);
    }
    return run_handler(conn, st, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_req_state *st = *con_cls;

    (void)toe;
    /* The next request's headers are due header_timeout_sec from now. */
    conn_phase(cls, conn, PHASE_HEADERS, 0);
    if (!st)
        return;
    if (st->status) {
        /* The one place requests are counted: every answer queued passed here. */
        char code[8];
        metric_code_label(st->status, code);
        metric_counter_inc(&http_metric_requests, st->route ? st->route->path : "none", code);
    }
    buf_release(&st->body);
    free(st);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages: the library room does not log (base/log.h is for cli/). */
static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
}

/* A nonblocking listening socket on host:port (backlog LIMIT_HTTP_BACKLOG). */
static int listen_socket(const char *host, uint16_t port, int *ret_fd, uint16_t *ret_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[8];
    int r = -EADDRNOTAVAIL, fd = -1;

    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0)
        return -ENOENT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LIMIT_HTTP_BACKLOG) < 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
            r = -errno;
            close(fd);
            fd = -1;
            continue;
        }
        if (ss.ss_family == AF_INET6)
            *ret_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            *ret_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        *ret_fd = fd;
        r = 0;
        break;
    }
    freeaddrinfo(res);
    return r;
}

/* libmicrohttpd without a listening socket: the front door hands it connections. */
static struct MHD_Daemon *start_daemon(struct http_server *s)
{
    /*
     * libmicrohttpd splits its limit over the threads and closes, without
     * a word, a handed-over connection its thread has no room for; so
     * each thread may hold max_connections (the caps are the front door's).
     */
    unsigned long long lim = (unsigned long long)s->opts.max_connections * s->opts.threads;

    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
            MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opts.threads,
        MHD_OPTION_CONNECTION_LIMIT, lim > 1u << 24 ? 1u << 24 : (unsigned)lim,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts.idle_timeout_sec,
        /* room for the largest head the front door lets through, plus work space */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_HTTP_HEADER_BYTES + 16384,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
}

int http_server_start(struct http_server *s)
{
    int fd = -1, r;
    uint16_t port = 0;
    struct http_front_options fo;

    if (s->started)
        return -EBUSY;
    r = listen_socket(s->opts.host, s->opts.port, &fd, &port);
    if (r < 0)
        return r;
    s->daemon = start_daemon(s);
    if (!s->daemon) {
        close(fd);
        return -EIO;
    }
    s->stopping = false;
    fo = (struct http_front_options){
        .listen_fd = fd, .daemon = s->daemon,
        .max_connections = s->opts.max_connections, .max_per_client = s->opts.max_per_client,
        .overflow = s->opts.overflow, .header_timeout_sec = s->opts.header_timeout_sec,
        .idle_timeout_sec = s->opts.idle_timeout_sec,
    };
    r = http_front_start(&fo, &s->front); /* owns fd from here, also on failure */
    if (r == 0)
        r = -pthread_create(&s->sweeper, NULL, sweeper, s);
    if (r < 0) {
        http_front_stop(s->front);
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        http_front_free(s->front);
        s->front = NULL;
        return r;
    }
    s->sweeper_running = true;
    s->listen_fd = fd;
    s->port = port;
    s->started = true;
    return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s)
{
    if (!s || !s->daemon)
        return;
    http_front_stop(s->front); /* no new connections; closes the listening socket */
    if (s->sweeper_running) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->sweep_cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->sweeper, NULL);
        s->sweeper_running = false;
    }
    /* MHD_stop_daemon joins every thread (their NOTIFY_CLOSED still use s->front). */
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    http_front_free(s->front);
    s->front = NULL;
    s->listen_fd = -1;
}

struct http_server *http_server_free(struct http_server *s)
{
    if (!s)
        return NULL;
    http_server_stop(s);
    for (size_t i = 0; i < s->n_routes; i++) {
        if (s->routes[i].ctx_free)
            s->routes[i].ctx_free(s->routes[i].ctx);
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    pthread_cond_destroy(&s->sweep_cond);
    pthread_mutex_destroy(&s->lock);
    free(s->host);
    free(s);
    return NULL;
}
