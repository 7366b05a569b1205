/*
 * client.h - tock's one outgoing HTTP client: pRPC calls and plain HTTP
 * requests to remote services (Buildbucket v2 and v1, Gitiles, a LUCI
 * server's /auth/api/v1/server/info, OAuth token endpoints) and to a
 * running `tock serve` (the client commands).
 *
 * Everything a call to another service needs lives here, in one place:
 *
 * - Endpoints.  A call names a host ("cr-buildbucket.appspot.com"); the
 *   host map (`--host-map HOST=BASEURL`, repeatable) sends it to another
 *   base URL ("http://127.0.0.1:9001"); an unmapped host goes to
 *   "https://HOST".  A call may also name a full base URL (the client
 *   commands' --server), which is used as it is.
 * - Credentials.  Calls that ask for them carry "Authorization: Bearer
 *   <token>" from, in order of preference: a Google service-account JSON
 *   key (an RS256-signed JWT exchanged at the key's token_uri, cached until
 *   60 s before it expires), a token file (first line; re-read when its
 *   mtime or size changes), or a token command (its first output line,
 *   cached for CLIENT_TOKEN_COMMAND_TTL_NS).  Tokens never appear in error
 *   messages.
 * - Limits.  Every call has a deadline (default CLIENT_DEFAULT_TIMEOUT_NS,
 *   LUCI's one minute), a response size bound (default
 *   CLIENT_MAX_REPLY_BYTES; a bigger body fails the call as a transport
 *   error with RESOURCE_EXHAUSTED), a connect timeout,
 *   and a per-host bound on calls in flight (default
 *   CLIENT_DEFAULT_MAX_IN_FLIGHT): a call past it fails at once with
 *   UNAVAILABLE "too many calls in flight to <host>" instead of waiting, so
 *   one host that hangs holds at most that many threads.  Calls are
 *   counted per resolved base URL.
 * - TLS.  Verification is always on; ca_file adds a private CA bundle.
 *
 * Errors come back as a struct client_error: a gRPC code and a message.
 * Errors the server sent are "server-side"; errors that never reached a
 * pRPC server (connection refused, timeout, bad URL, a reply that is not
 * pRPC) are "transport".  For plain HTTP calls only transport errors
 * exist: any HTTP status is a successful call (see client_http).
 *
 * Metrics (base/metrics.h, docs/operations.md): client_metric_calls counts
 * every call that reached libcurl, by the host the caller named (a full
 * base URL for --server calls; past LIMIT_METRIC_SERIES host/code pairs,
 * "other") and code (metric_code_label of the HTTP status, or "error"
 * when no answer came); the url_fetch task manager (its own libcurl
 * calls) counts its fetches here too, as host "url_fetch".  Calls refused
 * before (bad host, in-flight bound, no credentials) are not counted.
 *
 * Threads: a struct client is shared; every call may run on any thread at
 * the same time as others.  Calls block the calling thread up to their
 * deadline (libcurl easy interface, CURLOPT_NOSIGNAL).
 */
#ifndef TOCK_NET_CLIENT_H
#define TOCK_NET_CLIENT_H

#include "base/compat.h"
#include "base/clock.h"
#include "base/limits.h"

#include <jansson.h>

struct metric_counter;
extern struct metric_counter client_metric_calls;

#define CLIENT_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLIENT_DEFAULT_TIMEOUT_NS (60 * INT64_C(1000000000))
#define CLIENT_CONNECT_TIMEOUT_NS (10 * INT64_C(1000000000))
#define CLIENT_DEFAULT_MAX_IN_FLIGHT 8
#define CLIENT_TOKEN_COMMAND_TTL_NS (300 * INT64_C(1000000000))
#define CLIENT_MAX_HOST_MAP 64
#define CLIENT_MAX_BASE_URL 2048              /* longest base URL (host map value, --server) */
#define CLIENT_MAX_URL 8192                   /* longest whole request URL */
#define CLIENT_TOKEN_COMMAND_TIMEOUT_NS (30 * INT64_C(1000000000)) /* then it is killed */
#define CLIENT_MAX_KEY_FILE_BYTES (64u * 1024) /* a service-account JSON key */
#define CLIENT_TOKEN_EXPIRY_MARGIN_NS (60 * INT64_C(1000000000))
#define CLIENT_DEFAULT_OAUTH_SCOPES                                                           \
    "https://www.googleapis.com/auth/cloud-platform "                                       \
    "https://www.googleapis.com/auth/userinfo.email"

struct client_error {
    int code;       /* enum grpc_code of net/prpc.h (or an unknown code the server sent) */
    bool transport; /* true: the request never got a pRPC answer */
    char message[CLIENT_MAX_ERROR_BYTES + 1];
};

/* Fills e: code, transport, and a printf-style message cut to its size. */
void client_error_set(struct client_error *e, int code, bool transport, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * True for the codes a caller retries (LUCI's transient set, spec 4.1.3
 * step 10): INTERNAL, UNKNOWN, UNAVAILABLE, DEADLINE_EXCEEDED, whether the
 * server sent them or the transport made them (refused, timed out, the
 * in-flight cap).  A reply over the size bound is RESOURCE_EXHAUSTED: not
 * transient.
 */
bool client_error_is_transient(const struct client_error *e);

struct client_options {
    /* "HOST=BASEURL" entries (copied).  NULL/0 = none. */
    const char *const *host_map;
    size_t n_host_map;
    /* Credentials, any of them NULL.  Preference: service account, token file, command. */
    const char *service_account_json; /* path of a Google service-account JSON key */
    const char *token_file;           /* a file whose first line is a bearer token */
    const char *token_command;        /* run with /bin/sh -c; its first line is the token */
    /* OAuth scopes of the service-account JWT (space separated); NULL = cloud-platform+email. */
    const char *oauth_scopes;
    const char *ca_file;       /* extra CA bundle (PEM); NULL = the system's */
    int64_t timeout_ns;        /* default deadline of a call; 0 = CLIENT_DEFAULT_TIMEOUT_NS */
    size_t max_response_bytes; /* 0 = CLIENT_MAX_REPLY_BYTES */
    int max_in_flight;         /* per host; 0 = CLIENT_DEFAULT_MAX_IN_FLIGHT */
    const char *user_agent;    /* NULL = "tock" */
    const struct clock *clock; /* token lifetimes, JWT iat/exp; NULL = clock_real() */
};

struct client;

/*
 * Makes a client.  Checks the host map entries (HOST=http(s)://HOST[:PORT]
 * with an optional path; no query, fragment, user info or white space),
 * the ca_file (readable),
 * reads the service-account key (client_email, private_key, token_uri)
 * and the token file now; a token command runs at the first call.
 * Returns 0 and *ret, or -EINVAL/-ENOENT/-ENOMEM with *reterr filled
 * (transport = true, message says which option is wrong).
 */
int client_new(const struct client_options *o, struct client **ret, struct client_error *reterr);

/* NULL-safe; returns NULL. */
struct client *client_free(struct client *c);

/*
 * The base URL for host: the host map's entry, else "https://" + host.
 * A host that already is a URL ("http://..." or "https://...") is copied
 * (trailing '/' dropped).  Returns 0, -ENAMETOOLONG when it does not fit in
 * out, or -EINVAL for a host that is neither a host name ("name[:port]",
 * "[v6]:port") nor such a URL ("ftp://x", "a b", "").
 */
int client_base_url(const struct client *c, const char *host, char *out, size_t outlen);

/*
 * True when host ("name[:port]", case-insensitive) has a --host-map entry:
 * the gitiles poller accepts hosts other than *.googlesource.com only
 * then (a test's fake, a private Gitiles).
 */
bool client_host_is_mapped(const struct client *c, const char *host);

/* Options of one call; a zeroed struct means the client's defaults, no credentials. */
struct client_call_options {
    int64_t timeout_ns;  /* 0 = the client's default */
    bool authenticated;  /* send the client's bearer token (an error if it has none) */
};

/*
 * Calls <service>/<method> of the pRPC server at host (see
 * client_base_url) with JSON request req (borrowed), wire-formats.md 1:
 * POST <base>/prpc/<service>/<method>, Content-Type and Accept
 * application/json, X-Prpc-Grpc-Timeout from the deadline, the ")]}'"
 * prefix stripped; X-Prpc-Max-Response-Size is the client's bound.  On
 * success (code 0) stores the decoded reply object in *ret (caller owns)
 * and returns 0.  Otherwise returns -EIO (server-side error) or another
 * negative errno (transport), fills *reterr, and leaves *ret untouched.
 * Transport errors: -EAGAIN (UNAVAILABLE, the in-flight cap), -ETIMEDOUT
 * (DEADLINE_EXCEEDED), -EFBIG (RESOURCE_EXHAUSTED, reply over the bound),
 * -ECONNREFUSED (UNAVAILABLE: refused, reset, DNS, TLS), -EPROTO (not a
 * pRPC answer, see below), -EINVAL (bad host or names), -ENOKEY
 * (UNAUTHENTICATED: authenticated call, no credentials) or the token
 * source's error (credentials.h).  Time spent getting a token counts
 * against the call's deadline.  Redirects are not followed.  Without X-Prpc-Grpc-Code the HTTP status is mapped as
 * LUCI's Go client does (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 503
 * UNAVAILABLE, other >= 500 INTERNAL, else INTERNAL "no X-Prpc-Grpc-Code
 * header").
 */
int client_prpc(struct client *c, const char *host, const char *service, const char *method,
                const json_t *req, const struct client_call_options *o, json_t **ret,
                struct client_error *reterr);

/* The pure part of client_prpc: decodes one HTTP answer.  Same returns. */
int client_decode_reply(const char *code_header, long http_status, const char *body, size_t len,
                        json_t **ret, struct client_error *reterr);

struct client_http_request {
    const char *method;       /* "GET", "PUT", "POST" */
    const char *host;         /* resolved with client_base_url */
    const char *path;         /* "/_ah/api/buildbucket/v1/builds", with any query */
    const char *content_type; /* NULL = none */
    const char *body;         /* NULL = no body */
    size_t body_len;
    const char *accept;       /* NULL = "application/json" */
    /* NULL or a NULL-terminated list of "Name: value" lines sent as they are
     * (e.g. a git poller's own Authorization); at most CLIENT_MAX_EXTRA_HEADERS,
     * each at most CLIENT_MAX_EXTRA_HEADER bytes, no CR or LF (else -EINVAL). */
    const char *const *headers;
};

#define CLIENT_MAX_EXTRA_HEADERS 8
#define CLIENT_MAX_EXTRA_HEADER 8192

struct client_http_response {
    long status;  /* HTTP status */
    char *body;   /* NUL-terminated (the NUL is not counted); caller frees with free() */
    size_t len;
};

/*
 * One plain HTTP request.  Returns 0 with *ret filled for any HTTP status
 * (the caller decides what a status means), or a negative errno with
 * *reterr filled (transport = true: refused, deadline, too big, bad URL;
 * the same errnos as client_prpc).  Methods: GET, POST, PUT, DELETE,
 * PATCH (others -EINVAL).  Redirects are not followed.
 */
int client_http(struct client *c, const struct client_http_request *rq,
                const struct client_call_options *o, struct client_http_response *ret,
                struct client_error *reterr);

void client_http_response_release(struct client_http_response *r);

#endif
