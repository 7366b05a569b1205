/*
 * prpc.h - the pRPC protocol (wire-formats.md section 1): server side,
 * JSON field helpers, and the pure decoding of an answer for clients.
 *
 * Server.  A struct prpc_server is a table of (service, method) ->
 * handler, mounted on an HTTP server at "/prpc/":
 *
 *   struct prpc_server *p = prpc_server_new(NULL);
 *   prpc_server_register(p, "scheduler.Scheduler", "GetJobs", get_jobs, ctx);
 *   prpc_server_mount(p, http);     (the HTTP server now owns p)
 *
 * For each "POST /prpc/<service>/<method>" the codec
 *   1. checks the request: Content-Type application/json or
 *      "application/prpc; encoding=json" (absent or encoding=binary/text:
 *      UNIMPLEMENTED, tock speaks only JSON; anything else: INVALID_ARGUMENT
 *      with HTTP 415), Accept (absent, or any list naming JSON or a
 *      wildcard: JSON; only binary/text pRPC types: UNIMPLEMENTED; nothing
 *      usable: INVALID_ARGUMENT with HTTP 406), X-Prpc-Grpc-Timeout
 *      (malformed: INVALID_ARGUMENT "bad request headers: ..."),
 *      Content-Encoding (gzip or other: UNIMPLEMENTED);
 *   2. finds the handler (none: UNIMPLEMENTED "API method not implemented by
 *      the server"; not POST: HTTP 405 without a pRPC code);
 *   3. decodes the body: over LIMIT_HTTP_BODY_BYTES -> RESOURCE_EXHAUSTED
 *      (HTTP 413, the one exception to the code table, see prpc_http_status);
 *      nested deeper than LIMIT_JSON_DEPTH -> INVALID_ARGUMENT (checked
 *      before parsing); malformed JSON, duplicate keys, a non-object ->
 *      INVALID_ARGUMENT with jansson's reason; an empty body means {};
 *   4. calls the handler with the request object;
 *   5. answers: OK -> 200, "X-Prpc-Grpc-Code: 0", "Content-Type:
 *      application/json", "X-Content-Type-Options: nosniff", body ")]}'\n"
 *      + compact JSON + "\n"; an error -> the mapped HTTP status, the code
 *      header, "text/plain; charset=utf-8", message + "\n".  Messages of
 *      codes mapping to HTTP >= 500 that a handler produced are replaced by
 *      the fixed texts of wire-formats.md 1.5 ("Internal server error"...),
 *      after the server's on_error hook has seen the real one.  A reply
 *      over X-Prpc-Max-Response-Size -> UNAVAILABLE.
 *
 * Unknown request fields: protojson's default rejects them and so does
 * tock (INVALID_ARGUMENT `unknown field "x"`) unless the server is made
 * with discard_unknown (LUCI's servers discard them); handlers check with
 * prpc_check_fields(call, ...), which honours the setting.
 *
 * Thread safety: register before mounting; afterwards calls run
 * concurrently and the table is read-only.  The library does not log.
 */
#ifndef TOCK_NET_PRPC_H
#define TOCK_NET_PRPC_H

#include "base/compat.h"
#include "base/limits.h"
#include "net/http.h"

#include <jansson.h>

/* gRPC status codes. */
enum grpc_code {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
    GRPC_UNAUTHENTICATED = 16,
    _GRPC_CODE_MAX,
};

/*
 * THE table (wire-formats.md 1.5).  grpc_code_name: "NOT_FOUND", or NULL
 * for a code outside 0..16.  grpc_code_http_status: 404 for NOT_FOUND,
 * 500 for unknown codes.  grpc_code_public_message: the fixed text that
 * replaces a handler's message for codes mapping to HTTP >= 500
 * ("Internal server error"), NULL for codes below 500.
 */
const char *grpc_code_name(int code);
int grpc_code_http_status(int code);
const char *grpc_code_public_message(int code);

/* The code named name ("NOT_FOUND"), or -EINVAL. */
int grpc_code_from_name(const char *name);

/*
 * The HTTP status pRPC sends for code: grpc_code_http_status, except
 * RESOURCE_EXHAUSTED for an oversized request body (too_large_body), which
 * is 413 so that plain HTTP tools say what happened.
 */
int prpc_http_status(int code, bool too_large_body);

/*
 * Parses an X-Prpc-Grpc-Timeout value "\d+[HMSmun]" (at most 8 digits, as
 * the protocol says) into nanoseconds.  Returns 0 or -EINVAL.
 */
int prpc_timeout_parse(const char *s, int64_t *ret_ns);

/*
 * Checks that data[0..len) nests objects/arrays at most max_depth deep
 * (strings are skipped correctly; the JSON need not be valid).  Returns 0
 * or -E2BIG.
 */
int prpc_json_depth_check(const char *data, size_t len, unsigned max_depth);

/* ---------------------------------------------------------------------------
 * Server
 */

struct prpc_server;

/*
 * One call as a handler sees it.  The handler either sets call->response
 * (a new JSON object, ownership moves to the codec; NULL = {}) and returns
 * GRPC_OK, or returns prpc_fail(call, code, ...).
 */
struct prpc_call {
    const struct http_request *http; /* headers (Authorization), remote address */
    const char *service;
    const char *method;
    const json_t *request;    /* the decoded request object, borrowed */
    int64_t timeout_ns;       /* from X-Prpc-Grpc-Timeout; 0 = none */
    bool discard_unknown;     /* the server's setting, used by prpc_check_fields */
    json_t *response;         /* set by the handler on success */
    int code;                 /* set by prpc_fail */
    char message[LIMIT_PRPC_ERROR_BYTES]; /* set by prpc_fail */
    /* A handler failing with a code may set this (> 0): the HTTP answer carries "Retry-After". */
    unsigned retry_after_sec;
};

/*
 * Records an error (message printf-style, cut to LIMIT_PRPC_ERROR_BYTES)
 * and returns code, so a handler can write `return prpc_fail(c, ...);`.
 */
int prpc_fail(struct prpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef int (*prpc_handler_fn)(void *ctx, struct prpc_call *call);

struct prpc_server_options {
    bool discard_unknown; /* ignore unknown request fields, as LUCI's servers do */
    /*
     * Called (when not NULL) for every failed call with the handler's own
     * code and message, before a >= 500 message is replaced on the wire.
     * Handy for logging.  Runs on the connection thread.
     */
    void (*on_error)(void *ctx, const struct prpc_call *call);
    void *on_error_ctx;
    /*
     * Called (when not NULL) by prpc_server_free with on_free_ctx, so the
     * handlers' shared context lives exactly as long as the server.
     */
    void (*on_free)(void *ctx);
    void *on_free_ctx;
};

/* A new, empty server (o may be NULL).  NULL only when out of memory. */
struct prpc_server *prpc_server_new(const struct prpc_server_options *o);

/* NULL-safe.  Do not free a mounted server: the HTTP server does. */
struct prpc_server *prpc_server_free(struct prpc_server *p);

/*
 * Adds service/method (strings copied).  Returns 0, -EEXIST, -E2BIG past
 * LIMIT_PRPC_METHODS, -EBUSY after mounting, -ENOMEM.
 */
int prpc_server_register(struct prpc_server *p, const char *service, const char *method,
                         prpc_handler_fn fn, void *ctx);

/*
 * Routes "/prpc/" of http to p.  Ownership of p moves to the HTTP server
 * (freed by http_server_free), also when this fails.  Returns what
 * http_server_route returns.
 */
int prpc_server_mount(struct prpc_server *p, struct http_server *http);

/*
 * The HTTP handler behind the mount (ctx = the prpc_server): decodes req,
 * dispatches, and writes the whole answer into resp.  Exposed so tests can
 * drive the codec with hand-built requests.  Always returns 0.
 */
int prpc_server_handle(void *ctx, const struct http_request *req, struct http_response *resp);

/* ---------------------------------------------------------------------------
 * Request field helpers (protojson rules, wire-formats.md 1.3).  Each field
 * is looked up by its lowerCamelCase name and then its proto name (pass
 * NULL when they are the same).  An absent field or JSON null leaves the
 * default the caller put in *ret and returns 0.  A wrong type or range
 * returns -EINVAL after prpc_fail(call, INVALID_ARGUMENT, ...) with a
 * message naming the field.
 */

/*
 * Fails with INVALID_ARGUMENT `unknown field "x"` when obj has a key that is
 * not in names (a NULL-terminated list of accepted keys, both spellings)
 * unless call->discard_unknown.  Returns 0 or -EINVAL.
 */
int prpc_check_fields(struct prpc_call *call, const json_t *obj, const char *const *names);

int prpc_get_string(struct prpc_call *call, const json_t *obj, const char *json_name,
                    const char *proto_name, const char **ret);
/* int64: a JSON integer, an integral real, or a decimal string; full int64 range. */
int prpc_get_int64(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, int64_t *ret);
/* int32: as int64, range-checked to int32. */
int prpc_get_int32(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, int32_t *ret);
int prpc_get_bool(struct prpc_call *call, const json_t *obj, const char *json_name,
                  const char *proto_name, bool *ret);
/* A nested message: *ret is the borrowed object (left NULL when absent). */
int prpc_get_object(struct prpc_call *call, const json_t *obj, const char *json_name,
                    const char *proto_name, const json_t **ret);
/* A repeated field: *ret is the borrowed array (left NULL when absent). */
int prpc_get_array(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, const json_t **ret);

/* A new JSON string holding the decimal int64 (protojson's int64 output form). */
json_t *prpc_json_int64(int64_t v);

/* ---------------------------------------------------------------------------
 * Client side (pure): decoding one HTTP answer by the Go client's rules
 * (wire-formats.md 1.5 "Client rules").
 */

struct prpc_status {
    int code;
    char message[LIMIT_PRPC_ERROR_BYTES + 1];
};

/*
 * code_header: the X-Prpc-Grpc-Code value or NULL when absent.  On code 0
 * strips an optional ")]}'\n" prefix, parses the JSON object into *ret
 * (caller owns) and returns 0.  Otherwise returns -EIO with *reterr set
 * (message = body without its final "\n", cut to 4096 bytes; without a
 * code header the HTTP status is mapped: 401 UNAUTHENTICATED, 403
 * PERMISSION_DENIED, 503 UNAVAILABLE, anything else INTERNAL), or -EINVAL
 * (reterr INTERNAL) when a 0-coded body is not a JSON object.
 */
int prpc_response_decode(const char *code_header, long http_status, const char *body,
                         size_t len, json_t **ret, struct prpc_status *reterr);

#endif
