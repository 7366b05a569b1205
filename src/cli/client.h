/*
 * client.h - a small pRPC client for the `tock` client commands.
 *
 * The client commands (tock jobs, invocations, trigger, ...) talk to a
 * running `tock serve` only through its pRPC API (wire-formats.md 1):
 *
 *   POST <server>/prpc/<service>/<method>
 *   Content-Type: application/json
 *   Accept: application/json
 *   Authorization: Bearer <token>        (only with a token file)
 *
 * A reply carries X-Prpc-Grpc-Code; 0 means the body is ")]}'\n" + JSON,
 * anything else means the body is the error message.  Without the header
 * the HTTP status is mapped as the Go client does (401 UNAUTHENTICATED,
 * 403 PERMISSION_DENIED, 503 UNAVAILABLE, other >= 500 INTERNAL, else
 * INTERNAL "no X-Prpc-Grpc-Code header").
 *
 * Errors come back as a struct client_error: a gRPC code and a message.
 * Errors the server sent are "server-side" (exit status 1); errors that
 * never reached a pRPC server (connection refused, timeout, bad URL, bad
 * reply) are "transport" (exit status 2, like bad usage).
 *
 *   struct client *c = NULL;
 *   struct client_error err;
 *   json_t *reply = NULL;
 *   if (client_new(&opts, &c, &err) < 0 ||
 *       client_call(c, "scheduler.Scheduler", "GetJobs", req, &reply, &err) < 0)
 *       return client_error_report(&err);
 */
#ifndef TOCK_CLI_CLIENT_H
#define TOCK_CLI_CLIENT_H

#include "base/compat.h"
#include "base/limits.h"

#include <jansson.h>

#define CLIENT_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLIENT_DEFAULT_TIMEOUT_SEC 60

/* gRPC status codes (wire-formats.md 1.5). */
enum client_code {
    CLIENT_OK = 0,
    CLIENT_CANCELLED = 1,
    CLIENT_UNKNOWN = 2,
    CLIENT_INVALID_ARGUMENT = 3,
    CLIENT_DEADLINE_EXCEEDED = 4,
    CLIENT_NOT_FOUND = 5,
    CLIENT_ALREADY_EXISTS = 6,
    CLIENT_PERMISSION_DENIED = 7,
    CLIENT_RESOURCE_EXHAUSTED = 8,
    CLIENT_FAILED_PRECONDITION = 9,
    CLIENT_ABORTED = 10,
    CLIENT_OUT_OF_RANGE = 11,
    CLIENT_UNIMPLEMENTED = 12,
    CLIENT_INTERNAL = 13,
    CLIENT_UNAVAILABLE = 14,
    CLIENT_DATA_LOSS = 15,
    CLIENT_UNAUTHENTICATED = 16,
};

/* "NOT_FOUND" for 5; "CODE_<n>" style names are not made: NULL if unknown. */
const char *client_code_name(int code);

struct client_error {
    int code;        /* enum client_code (or an unknown code the server sent) */
    bool transport;  /* true: the request never got a pRPC answer */
    char message[CLIENT_MAX_ERROR_BYTES + 1];
};

/*
 * Prints "tock: <CODE>: <message>" to stderr and returns the exit status
 * for it: 1 (EXIT_PROBLEMS) for server-side errors, 2 (EXIT_USAGE) for
 * transport errors.
 */
int client_error_report(const struct client_error *e);

struct client_options {
    const char *server;     /* base URL; NULL = CLIENT_DEFAULT_SERVER */
    const char *token_file; /* a file whose first line is a bearer token; NULL = none */
    long timeout_sec;       /* whole-call timeout; 0 = CLIENT_DEFAULT_TIMEOUT_SEC */
};

struct client;

/*
 * Makes a client.  Reads the token file now (surrounding white space is
 * trimmed; an empty token is an error).  Returns 0 and *ret, or a negative
 * errno with *reterr filled (transport = true).
 */
int client_new(const struct client_options *o, struct client **ret,
               struct client_error *reterr);

/* NULL-safe; returns NULL. */
struct client *client_free(struct client *c);

/*
 * Calls <service>/<method> with JSON request req (borrowed).  On success
 * (code 0) stores the decoded reply object in *ret (caller owns) and
 * returns 0.  Otherwise returns -EIO (server-side error) or another
 * negative errno (transport), fills *reterr, and leaves *ret untouched.
 */
int client_call(struct client *c, const char *service, const char *method, const json_t *req,
                json_t **ret, struct client_error *reterr);

/*
 * The pure part of client_call: decodes one HTTP answer.  code_header is
 * the X-Prpc-Grpc-Code value or NULL when absent; body need not be NUL
 * terminated.  Same returns as client_call.
 */
int client_decode_reply(const char *code_header, long http_status, const char *body,
                        size_t len, json_t **ret, struct client_error *reterr);

/*
 * A text table with aligned columns: a header row, then rows, every cell
 * padded to its column's widest cell (counted in UTF-8 characters), two
 * spaces between columns, no trailing spaces.  Cells are copied.
 */
#define CLIENT_TABLE_MAX_COLS 8
#define CLIENT_TABLE_MAX_ROWS 1000000

struct client_table {
    size_t ncols;
    size_t nrows; /* not counting the header */
    size_t alloc;
    char **cells; /* (nrows + 1) * ncols, row-major; row 0 is the header */
};

/* Starts a table with ncols (1..CLIENT_TABLE_MAX_COLS) header cells. */
int client_table_init(struct client_table *t, size_t ncols, const char *const *headers);

/* Adds a row of t->ncols cells (NULL cells print as "").  0, -E2BIG, -ENOMEM. */
int client_table_add(struct client_table *t, const char *const *cells);

void client_table_print(const struct client_table *t, FILE *f);
void client_table_release(struct client_table *t);

#endif
