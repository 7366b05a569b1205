/*
 * http.h - a small HTTP/1.1 server on libmicrohttpd.
 *
 * The server owns a route table (method + path -> handler) and calls a
 * handler once per request, after the whole body has arrived (or after it
 * turned out to be too large).  Handlers fill a struct http_response; the
 * server sends it.  Connections are multiplexed (epoll) over a pool of
 * `threads` threads, and handlers run on those threads: a handler that
 * blocks (on the store, on a lock) stalls the other connections of its
 * thread meanwhile, so keep the pool larger than the handlers expected to
 * block at once.
 *
 *   struct http_server *s = NULL;
 *   struct http_server_options o = { .host = "127.0.0.1", .port = 0 };
 *   if (http_server_new(&o, &s) < 0) goto out;
 *   http_server_route(s, "GET", "/hello", hello_handler, NULL, NULL);
 *   if (http_server_start(s) < 0) goto out;
 *   printf("listening on %u\n", http_server_port(s));
 *   ...
 *   http_server_stop(s);       (optional; free stops too)
 *   s = http_server_free(s);
 *
 * Routes.  A route path ending in "/" matches every path that starts with
 * it ("/prpc/" matches "/prpc/a.B/C"); any other path matches exactly.
 * The longest matching route wins.  method NULL matches every method;
 * otherwise a path that matches only routes of other methods gets 405.
 * No match: 404 "not found".  Routes are added before http_server_start.
 * "GET /healthz" -> 200 "ok\n" is built in.
 *
 * Limits (base/limits.h).  A request body larger than the route's
 * max_body (LIMIT_HTTP_BODY_BYTES by default) is not kept: when the
 * Content-Length says so, the server answers at once without reading the
 * body, otherwise it stops keeping bytes at the limit.  A route added with
 * HTTP_ROUTE_OVERSIZE_TO_HANDLER then still gets its handler called with
 * req->body_too_large set and an empty body (so pRPC can answer
 * RESOURCE_EXHAUSTED); any other route answers 413 "request body too
 * large" by itself.  Either way the connection is closed after the answer.
 * Request line plus headers are bounded by LIMIT_HTTP_HEADER_BYTES and
 * LIMIT_HTTP_HEADERS (more: 431).
 *
 * Hostile clients (docs/security.md, docs/limits.md).  Every connection is
 * first held by a front door of ours (net/http-front.h): it enforces the
 * caps (max_connections over all, max_per_client from one address or IPv6
 * /64: past either, "503 Service Unavailable" with "Retry-After"; past
 * `overflow` refused connections at once, new ones wait in the listen
 * backlog), checks the first request strictly on its raw bytes (one 400
 * or 431, see http_front_check) and hands the connection to libmicrohttpd.
 * Deadlines that do not restart on activity: the request line and headers
 * must arrive within header_timeout_sec of the connection's start (a
 * keep-alive request: of its first byte, seen within one 250 ms sweep); a
 * body must average body_min_rate bytes/s once body_grace_sec have passed.
 * Offenders are closed without an answer.  A connection silent for
 * idle_timeout_sec is closed (also an idle keep-alive one).  Running
 * handlers and responses being sent have no deadline.
 *
 * Strict parsing of keep-alive requests (with keep_alive set; parsed by
 * libmicrohttpd after the front door handed the connection over): several
 * Content-Length headers, Content-Length with Transfer-Encoding, a
 * Transfer-Encoding other than "chunked", several Authorization headers
 * and a control byte in a header value are answered 400 before any
 * handler runs, and the connection is closed.  libmicrohttpd 0.9.75 cuts a
 * value at a NUL byte, so a NUL there is not seen (docs/security.md).
 *
 * Thread safety: route and start/stop/free from one thread; handlers run
 * concurrently on the pool threads and must be thread-safe.
 * The library does not log.
 */
#ifndef TOCK_NET_HTTP_H
#define TOCK_NET_HTTP_H

#include "base/compat.h"
#include "base/buf.h"
#include "base/limits.h"

struct http_header {
    const char *name;
    const char *value;
};

/*
 * One request as a handler sees it.  Every pointer is valid only during
 * the handler call.  Tests may build one by hand (conn stays NULL).
 */
struct http_request {
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* URL path, percent-decoded, no query string */
    const char *body;    /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;
    bool body_too_large; /* the body went over the route's limit; body is "" */
    const struct http_header *headers; /* as received, in order */
    size_t n_headers;
    const char *remote_addr; /* "127.0.0.1" or "::1"; "" when unknown */
    void *conn;              /* private: the libmicrohttpd connection */
};

/*
 * The value of the first header called name (case-insensitive), or NULL.
 */
const char *http_request_header(const struct http_request *r, const char *name);

/* The value of query parameter name (decoded), or NULL (also for hand-built requests). */
const char *http_request_query(const struct http_request *r, const char *name);

/*
 * What a handler answers.  The server initialises it (status 200, no
 * headers, empty body of at most LIMIT_HTTP_RESPONSE_BYTES) before calling
 * the handler and releases it after sending.  Header names and values are
 * copied.
 */
struct http_response {
    int status;
    char *header_names[LIMIT_HTTP_RESPONSE_HEADERS];
    char *header_values[LIMIT_HTTP_RESPONSE_HEADERS];
    size_t n_headers;
    struct buf body;
};

void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);

/*
 * Sets (replaces, case-insensitively) a header.  Returns 0, -E2BIG past
 * LIMIT_HTTP_RESPONSE_HEADERS, -EINVAL for a name or value with CR/LF, or
 * -ENOMEM.
 */
int http_response_set_header(struct http_response *resp, const char *name, const char *value);

/* The value of a header set on the response, or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

/*
 * Replaces the whole answer by status, "Content-Type: text/plain;
 * charset=utf-8" and the body text (a final "\n" is added when missing).
 * Other headers are kept.  Returns 0 or a buf/header error.
 */
int http_response_text(struct http_response *resp, int status, const char *text);

/*
 * A handler.  ctx is the pointer given to http_server_route.  Returns 0
 * when resp holds the answer; a negative errno makes the server answer
 * 500 "internal server error" instead.
 */
typedef int (*http_handler_fn)(void *ctx, const struct http_request *req,
                               struct http_response *resp);

enum http_route_flags {
    /* Call the handler (body_too_large set) for oversized bodies instead of 413. */
    HTTP_ROUTE_OVERSIZE_TO_HANDLER = 1 << 0,
};

/* Every 0 means the LIMIT_HTTP_* default of base/limits.h (docs/limits.md). */
struct http_server_options {
    const char *host;           /* address or name to bind; NULL = "127.0.0.1" */
    uint16_t port;              /* 0 = any free port; see http_server_port */
    unsigned max_connections;   /* served at once: LIMIT_HTTP_CONNECTIONS */
    unsigned max_per_client;    /* from one address: LIMIT_HTTP_CONNECTIONS_PER_CLIENT */
    unsigned overflow;          /* answered 503 past a cap: LIMIT_HTTP_OVERFLOW */
    unsigned threads;           /* polling/handler threads: LIMIT_HTTP_THREADS */
    unsigned idle_timeout_sec;  /* LIMIT_HTTP_IDLE_SEC */
    unsigned header_timeout_sec; /* LIMIT_HTTP_HEADER_SEC */
    unsigned body_grace_sec;    /* LIMIT_HTTP_BODY_GRACE_SEC */
    unsigned body_min_rate;     /* bytes/s: LIMIT_HTTP_BODY_MIN_RATE */
    size_t max_body;            /* LIMIT_HTTP_BODY_BYTES; never above it */
    /*
     * false (the default): every answer carries "Connection: close", so each
     * request arrives on a new connection and is checked on its raw bytes by
     * the front door (no request smuggling across requests, exact header
     * deadlines).  true: keep-alive; follow-up requests are parsed by
     * libmicrohttpd alone (see "Strict parsing").
     */
    bool keep_alive;
};

struct http_server;

/* Makes a server (not yet listening).  Returns 0 and *ret, or -ENOMEM/-EINVAL. */
int http_server_new(const struct http_server_options *o, struct http_server **ret);

/*
 * Adds a route (see the top of this file).  method NULL = any; path must
 * start with "/".  ctx is passed to fn; when ctx_free is not NULL the
 * server calls ctx_free(ctx) from http_server_free (ownership of ctx moves
 * to the server, also when this call fails).  flags: enum http_route_flags.
 * Returns 0, -EBUSY once started, -EEXIST for a duplicate method+path,
 * -E2BIG past LIMIT_HTTP_ROUTES, -EINVAL, -ENOMEM.
 */
int http_server_route(struct http_server *s, const char *method, const char *path,
                      http_handler_fn fn, void *ctx, void (*ctx_free)(void *ctx),
                      unsigned flags);

/*
 * Binds host:port, listens and starts serving.  Returns 0, -EADDRINUSE,
 * -EADDRNOTAVAIL/-ENOENT (host does not resolve), another -errno, or -EIO
 * when libmicrohttpd refuses to start.
 */
int http_server_start(struct http_server *s);

/* The port actually bound (useful with port 0); 0 before start. */
uint16_t http_server_port(const struct http_server *s);

/*
 * Stops listening, waits for running handlers to return and closes every
 * connection.  Idempotent.
 */
void http_server_stop(struct http_server *s);

/* Stops if needed, frees routes (calling their ctx_free) and the server. NULL-safe. */
struct http_server *http_server_free(struct http_server *s);

/*
 * Metrics (base/metrics.h, docs/operations.md): every answer a handler or
 * the server queued, counted once when its request completes, labelled
 * route (the matched route's path as given to http_server_route; "none"
 * for 404/405 and answers before a route was picked) and code
 * (metric_code_label).  Answers of the front door (503 past a cap, its
 * 400/431 on raw bytes) and connections closed without an answer are not
 * counted.  One family for the process, shared by every server.
 */
struct metric_counter;
extern struct metric_counter http_metric_requests;

/* The reason phrase of an HTTP status ("Not Found"), or "Unknown". */
const char *http_status_text(int status);

#endif
