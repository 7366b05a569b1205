/*
 * cmd-client.c - the client commands: jobs, invocations, invocation,
 * trigger, pause, resume, abort, why.  They talk to `tock serve` only
 * through its pRPC API (net/client.h); docs/cli.md is their user guide.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <sys/random.h>

#include "base/time.h"
#include "cli/table.h"
#include "net/client.h"
#include "net/prpc.h"

#define SCHEDULER "scheduler.Scheduler"
#define TOCK_SCHEDULER "tock.Scheduler"
/* The server's page size for GetInvocations (spec 5.2: default and max 50). */
#define PAGE_SIZE 50

static const char common_help[] =
    "common options:\n"
    "  --server URL       the tock server (default $TOCK_SERVER, else " CLIENT_DEFAULT_SERVER
    ")\n"
    "  --token-file FILE  send the token in FILE as \"Authorization: Bearer <token>\"\n"
    "                     (default $TOCK_TOKEN_FILE; none: call anonymously)\n"
    "  --timeout SEC      give up after SEC seconds (default 60)\n"
    "  --json             print the server's JSON reply instead of a table\n";

/* The options every client command takes, and what they set. */
struct common {
    struct client_options client;
    const char *server; /* NULL = CLIENT_DEFAULT_SERVER */
    bool json;
};

#define COMMON_OPTIONS                                                                       \
    {"server", required_argument, NULL, 'S'}, {"token-file", required_argument, NULL, 'T'},  \
        {"timeout", required_argument, NULL, 'W'}, {"json", no_argument, NULL, 'J'},          \
        {"help", no_argument, NULL, 'h'}

static void common_init(struct common *co)
{
    memset(co, 0, sizeof(*co));
    co->client.user_agent = "tock client";
    co->server = getenv("TOCK_SERVER");
    if (co->server && !*co->server)
        co->server = NULL;
    co->client.token_file = getenv("TOCK_TOKEN_FILE");
    if (co->client.token_file && !*co->client.token_file)
        co->client.token_file = NULL;
}

/* Parses a whole number in [min, max] given to option opt. */
static int parse_count(const char *opt, const char *text, long min, long max, long *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        cli_error("%s must be a whole number from %ld to %ld, not '%s'", opt, min, max, text);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/*
 * Handles option c if it is a common one: 1 handled, 0 not common, -1 bad
 * value (message printed).
 */
static int common_opt(struct common *co, int c, const char *arg)
{
    long v;

    switch (c) {
    case 'S':
        co->server = arg;
        return 1;
    case 'T':
        co->client.token_file = arg;
        return 1;
    case 'W':
        if (parse_count("--timeout", arg, 1, 3600, &v) < 0)
            return -1;
        co->client.timeout_ns = v * INT64_C(1000000000);
        return 1;
    case 'J':
        co->json = true;
        return 1;
    default:
        return 0;
    }
}

static int bad_option(const char *cmd, char **argv)
{
    cli_error("%s: unknown option or missing value '%s'; see `tock %s --help`", cmd,
              argv[optind - 1], cmd);
    return EXIT_USAGE;
}

/* "project/job" -> {"project": ..., "job": ...}; NULL (message printed) if bad. */
static json_t *job_ref(const char *text)
{
    const char *slash = strchr(text, '/');

    if (!slash || slash == text || !slash[1]) {
        cli_error("'%s' is not a job: write PROJECT/JOB, e.g. infra/ci-linux", text);
        return NULL;
    }
    json_t *p = json_stringn(text, (size_t)(slash - text));
    json_t *j = json_string(slash + 1);
    if (!p || !j) {
        json_decref(p);
        json_decref(j);
        cli_error("'%s' is not valid UTF-8", text);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "project", p, "job", j);
}

/* Invocation ids are positive int64 decimal numbers. */
static bool valid_inv_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n || s[0] == '0')
        return false;
    return n < 19 || strcmp(s, "9223372036854775807") <= 0;
}

/* What one client command takes on its command line. */
struct cmd_spec {
    const char *name;              /* "why": in messages */
    const struct option *options;  /* COMMON_OPTIONS, the command's own, {NULL} */
    /* The command's own options: 1 handled, 0 not its own, -1 bad value
     * (message printed).  NULL when it has none. */
    int (*own_opt)(void *ctx, int c, const char *arg);
    void *ctx;                     /* handed to own_opt */
    int min_args, max_args;        /* positional arguments */
    const char *takes;             /* "one PROJECT/JOB": the words of the count error */
    bool job_ref;                  /* argument 1 is PROJECT/JOB, argument 2 (if any) an ID */
};

/* What cmd_parse() found. */
struct cmd_args {
    struct common co;
    int argc;          /* positional arguments, in [min_args, max_args] */
    char **argv;
    json_t *ref;       /* owned: {"project", "job"} of argv[0] when spec->job_ref */
    const char *inv;   /* argv[1], a valid invocation ID, when spec->job_ref; else NULL */
};

/*
 * Parses a client command's line as spec says: the common options, the
 * command's own, and the positional arguments; with spec->job_ref, checks
 * the invocation ID (argument 2) and then turns PROJECT/JOB into ret->ref.
 * Returns 0 (ret filled; the caller owns ret->ref), 1 when --help was asked
 * (the caller prints its help; ret->ref is NULL), or -EINVAL on bad usage
 * (message printed; ret->ref is NULL).
 */
static int cmd_parse(const struct cmd_spec *spec, int argc, char **argv, struct cmd_args *ret)
{
    int c, r;

    common_init(&ret->co);
    ret->ref = NULL;
    ret->inv = NULL;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", spec->options, NULL)) != -1) {
        if (c == 'h')
            return 1;
        r = spec->own_opt ? spec->own_opt(spec->ctx, c, optarg) : 0;
        if (r == 0)
            r = common_opt(&ret->co, c, optarg);
        if (r < 0)
            return -EINVAL;
        if (r == 0) {
            bad_option(spec->name, argv);
            return -EINVAL;
        }
    }
    ret->argc = argc - optind;
    ret->argv = argv + optind;
    if (ret->argc < spec->min_args || ret->argc > spec->max_args) {
        cli_error("%s takes %s; see `tock %s --help`", spec->name, spec->takes, spec->name);
        return -EINVAL;
    }
    if (!spec->job_ref)
        return 0;
    const char *inv = ret->argc == 2 ? ret->argv[1] : NULL;
    if (inv && !valid_inv_id(inv)) {
        cli_error("'%s' is not an invocation ID (a positive whole number)", inv);
        return -EINVAL;
    }
    if (!(ret->ref = job_ref(ret->argv[0])))
        return -EINVAL;
    ret->inv = inv;
    return 0;
}

/* The own options of invocations and why: --limit N, --trigger ID. */
struct list_opts {
    long limit;
    const char *trigger;
};

static int list_opt(void *ctx, int c, const char *arg)
{
    struct list_opts *lo = ctx;

    switch (c) {
    case 'l':
        return parse_count("--limit", arg, 1, CLIENT_MAX_LIST, &lo->limit) < 0 ? -1 : 1;
    case 'g':
        lo->trigger = arg;
        return 1;
    default:
        return 0;
    }
}

/*
 * Prints "tock: <CODE>: <message>" to stderr and returns the exit status
 * for it: EXIT_PROBLEMS for server-side errors, EXIT_USAGE for transport
 * errors (the call never got a pRPC answer).
 */
static int report_error(const struct client_error *e)
{
    const char *name = grpc_code_name(e->code);

    if (name)
        cli_error("%s: %s", name, e->message);
    else
        cli_error("code %d: %s", e->code, e->message);
    return e->transport ? EXIT_USAGE : EXIT_PROBLEMS;
}

/* Calls method; prints the error and returns the exit status on failure. */
static int call(const struct common *co, const char *service, const char *method, json_t *req,
                json_t **ret)
{
    const char *server = co->server ? co->server : CLIENT_DEFAULT_SERVER;
    struct client_call_options o = {.authenticated = co->client.token_file != NULL};
    struct client *c = NULL;
    struct client_error err;
    int status = 0;

    if (!req) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    /* The server is named by its URL: client_base_url uses it as it is. */
    if (strncmp(server, "http://", 7) != 0 && strncmp(server, "https://", 8) != 0) {
        cli_error("--server wants an http:// or https:// URL, not '%s'", server);
        return EXIT_USAGE;
    }
    if (client_new(&co->client, &c, &err) < 0 ||
        client_prpc(c, server, service, method, req, &o, ret, &err) < 0)
        status = report_error(&err);
    client_free(c);
    return status;
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

/* A JSON string or integer as text; "" for anything else. */
static const char *scalar(const json_t *v, char *tmp, size_t n)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tmp;
    }
    if (json_is_true(v))
        return "true";
    return "";
}

/*
 * A time the API sent: int64 microseconds (string or number, spec 5.2) or
 * RFC 3339.  Printed as RFC 3339 UTC to the second; "-" when absent or 0.
 */
static const char *time_text(const json_t *v, char *out, size_t n)
{
    char tmp[32];
    const char *s = scalar(v, tmp, sizeof(tmp));
    int64_t ns;

    if (!*s || strcmp(s, "0") == 0)
        return "-";
    if (strspn(s, "0123456789") == strlen(s)) {
        char *end;
        errno = 0;
        long long us = strtoll(s, &end, 10);
        if (errno || us > INT64_MAX / NS_PER_US)
            return s;
        ns = (int64_t)us * NS_PER_US;
    } else if (time_parse_rfc3339(s, &ns) < 0) {
        return s;
    }
    time_format_rfc3339(time_floor_sec(ns) * NS_PER_SEC, out, n);
    return out;
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* ---- tock jobs ------------------------------------------------------------- */

static const char jobs_help[] =
    "usage: tock jobs [PROJECT] [options]\n"
    "\n"
    "Lists the jobs you may see (all projects, or one), sorted by name: JOB,\n"
    "STATE (RUNNING, SCHEDULED, WAITING, PAUSED), SCHEDULE, PAUSED.  Follows\n"
    "the server's pages (nextCursor) to the end.  With --json, prints one\n"
    "reply object holding every job fetched, a job a line as the pages come.\n"
    "\n"
    "%s"
    "\n"
    "example:\n"
    "  tock jobs infra --server http://scheduler.example.com:8080\n";

static int job_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(x[0], y[0]);
}

/*
 * Every page of GetJobs for project (NULL = all), each job handed to
 * fn(ctx, job) as its page arrives (job is valid during the call only: each
 * page is freed before the next is asked for, so memory is one page, not
 * the listing): the first request is {} or {"project"}, then each
 * nextCursor is sent back as cursor.  Stops at CLI_TABLE_MAX_ROWS jobs, at
 * an empty page or at a cursor that does not change.  0, or the exit
 * status of a failed call (printed) or of fn (> 0: stop).
 */
static int walk_jobs(const struct common *co, const char *project,
                     int (*fn)(void *ctx, const json_t *job), void *ctx)
{
    json_t *reply = NULL;
    char cursor[4096] = "";
    size_t seen = 0;
    int r = 0;

    for (size_t page = 0; r == 0 && page < CLI_TABLE_MAX_ROWS; page++) {
        json_t *req = project ? json_pack("{s:s}", "project", project) : json_object();
        if (!req)
            return EXIT_USAGE;
        if (cursor[0])
            json_object_set_new(req, "cursor", json_string(cursor));
        r = call(co, SCHEDULER, "GetJobs", req, &reply);
        json_decref(req);
        if (r)
            break;
        const json_t *jobs = json_object_get(reply, "jobs");
        const char *next = json_string_value(json_object_get(reply, "nextCursor"));
        size_t i;
        const json_t *j;
        json_array_foreach(jobs, i, j) {
            if (r || seen >= CLI_TABLE_MAX_ROWS)
                break;
            seen++;
            r = fn(ctx, j);
        }
        bool more = r == 0 && next && *next && json_array_size(jobs) > 0 &&
                    strlen(next) < sizeof(cursor) && strcmp(next, cursor) != 0 &&
                    seen < CLI_TABLE_MAX_ROWS;
        if (more)
            snprintf(cursor, sizeof(cursor), "%s", next);
        json_decref(reply);
        reply = NULL;
        if (!more)
            break;
    }
    return r;
}

/*
 * What the table keeps of each job: its four cells (project/job, state,
 * schedule, paused), not the reply's JSON.  Sorting and aligning need
 * every row, so the table costs these strings per job (about 100 bytes).
 */
struct job_rows {
    char **cells; /* 4 per row */
    size_t n, cap;
};

static int job_row_add(void *ctx, const json_t *j)
{
    struct job_rows *t = ctx;
    const json_t *ref = json_object_get(j, "jobRef");
    char name[1024];

    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **grown = realloc(t->cells, cap * 4 * sizeof(*grown));
        if (!grown) {
            cli_error("out of memory");
            return EXIT_USAGE;
        }
        t->cells = grown;
        t->cap = cap;
    }
    char **row = &t->cells[4 * t->n];
    snprintf(name, sizeof(name), "%s/%s",
             or_empty(json_string_value(json_object_get(ref, "project"))),
             or_empty(json_string_value(json_object_get(ref, "job"))));
    row[0] = strdup(name);
    row[1] = strdup(
        or_dash(json_string_value(json_object_get(json_object_get(j, "state"), "uiStatus"))));
    row[2] = strdup(or_dash(json_string_value(json_object_get(j, "schedule"))));
    row[3] = strdup(json_is_true(json_object_get(j, "paused")) ? "yes" : "no");
    t->n++; /* freed with the others even when a copy failed */
    for (int k = 0; k < 4; k++) {
        if (!row[k]) {
            cli_error("out of memory");
            return EXIT_USAGE;
        }
    }
    return 0;
}

static void job_rows_release(struct job_rows *t)
{
    for (size_t i = 0; i < 4 * t->n; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* The table of jobs, sorted by the first cell (project/job). */
static int print_jobs(struct job_rows *rows)
{
    static const char *const head[] = {"JOB", "STATE", "SCHEDULE", "PAUSED"};
    struct cli_table t;
    int r;

    sort_array(rows->cells, rows->n, 4 * sizeof(*rows->cells), job_cmp);
    r = cli_table_init(&t, 4, head);
    for (size_t i = 0; r == 0 && i < rows->n; i++)
        r = cli_table_add(&t, (const char *const *)&rows->cells[4 * i]);
    if (r == 0)
        cli_table_print(&t, stdout);
    cli_table_release(&t);
    return r;
}

/*
 * --json: one reply object {"jobs": [...]} written as the pages come, a
 * job a line, in server order.  A call that fails half-way leaves the
 * object unfinished on stdout (the exit status and stderr say why).
 */
struct json_stream {
    size_t n;
};

static int job_json_print(void *ctx, const json_t *j)
{
    struct json_stream *js = ctx;
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (!text) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    printf("%s\n  %s", js->n++ ? "," : "{\"jobs\": [", text);
    free(text);
    return 0;
}

static int jobs_json(const struct common *co, const char *project)
{
    struct json_stream js = {0};
    int r = walk_jobs(co, project, job_json_print, &js);

    if (r)
        return r;
    puts(js.n ? "\n]}" : "{\"jobs\": []}");
    return 0;
}

int cmd_jobs(int argc, char **argv)
{
    static const struct option options[] = {COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const struct cmd_spec spec = {
        .name = "jobs", .options = options, .max_args = 1, .takes = "at most one project name"};
    struct cmd_args a;
    struct job_rows rows = {0};
    int r;

    if ((r = cmd_parse(&spec, argc, argv, &a)) != 0) {
        if (r > 0)
            printf(jobs_help, common_help);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    if (a.co.json)
        return jobs_json(&a.co, a.argc ? a.argv[0] : NULL);
    r = walk_jobs(&a.co, a.argc ? a.argv[0] : NULL, job_row_add, &rows);
    if (r == 0 && (r = print_jobs(&rows)) < 0) {
        cli_error("cannot print the table: %s", strerror(-r));
        r = EXIT_USAGE;
    }
    job_rows_release(&rows);
    return r;
}

/* ---- tock invocations ---------------------------------------------------- */

static const char invocations_help[] =
    "usage: tock invocations PROJECT/JOB [--limit N] [options]\n"
    "\n"
    "Lists a job's invocations, newest first: ID, STATUS, STARTED, FINISHED,\n"
    "TRIGGERED BY (times in UTC).  Follows the server's pages up to --limit\n"
    "invocations (default 20, at most %d).  With --json, prints one reply\n"
    "object holding every invocation fetched (an invocation a line, as the\n"
    "pages come) and the last nextCursor.\n"
    "\n"
    "options:\n"
    "  --limit N          show at most N invocations\n"
    "%s"
    "\n"
    "example:\n"
    "  tock invocations infra/ci-linux --limit 5\n";

/*
 * Pages of GetInvocations for ref until limit invocations, each handed to
 * fn(ctx, inv) as its page arrives (the page is freed before the next is
 * asked for).  cursor (4096 bytes) ends as the last nextCursor when the
 * limit stopped the walk, "" when the server had no more.  0, or the exit
 * status of a failed call (printed) or of fn.
 */
static int walk_invocations(const struct common *co, const json_t *ref, long limit,
                            int (*fn)(void *ctx, const json_t *inv), void *ctx,
                            char *cursor, size_t cursor_len)
{
    json_t *reply = NULL;
    long seen = 0;
    int r = 0;

    cursor[0] = '\0';
    /* Each page brings at least one invocation, so limit pages suffice. */
    for (long page = 0; r == 0 && page < limit && seen < limit; page++) {
        long want = limit - seen;
        json_t *req = json_pack("{s:O, s:i}", "jobRef", ref, "pageSize",
                                (int)(want < PAGE_SIZE ? want : PAGE_SIZE));
        if (!req)
            return EXIT_USAGE;
        if (cursor[0])
            json_object_set_new(req, "cursor", json_string(cursor));
        r = call(co, SCHEDULER, "GetInvocations", req, &reply);
        json_decref(req);
        if (r)
            break;
        const json_t *invs = json_object_get(reply, "invocations");
        size_t i;
        const json_t *inv;
        json_array_foreach(invs, i, inv) {
            if (r || seen >= limit)
                break;
            seen++;
            r = fn(ctx, inv);
        }
        const char *next = json_string_value(json_object_get(reply, "nextCursor"));
        if (!next || !*next || json_array_size(invs) == 0 || strlen(next) >= cursor_len) {
            cursor[0] = '\0';
            page = limit; /* the end */
        } else {
            snprintf(cursor, cursor_len, "%s", next);
        }
        json_decref(reply);
        reply = NULL;
    }
    return r;
}

static int inv_row_add(void *ctx, const json_t *inv)
{
    char idb[32], s1[TIME_RFC3339_MAX], s2[TIME_RFC3339_MAX];
    const json_t *iref = json_object_get(inv, "invocationRef");
    const char *cells[5] = {
        scalar(json_object_get(iref, "invocationId"), idb, sizeof(idb)),
        or_dash(json_string_value(json_object_get(inv, "status"))),
        time_text(json_object_get(inv, "startedTs"), s1, sizeof(s1)),
        time_text(json_object_get(inv, "finishedTs"), s2, sizeof(s2)),
        or_dash(json_string_value(json_object_get(inv, "triggeredBy"))),
    };
    int r = cli_table_add(ctx, cells);

    if (r < 0) {
        cli_error("cannot print the table: %s", strerror(-r));
        return EXIT_USAGE;
    }
    return 0;
}

static int inv_json_print(void *ctx, const json_t *inv)
{
    struct json_stream *js = ctx;
    char *text = json_dumps(inv, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (!text) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    printf("%s\n  %s", js->n++ ? "," : "{\"invocations\": [", text);
    free(text);
    return 0;
}

/* --json: {"invocations": [...], "nextCursor"} written as the pages come. */
static int invocations_json(const struct common *co, const json_t *ref, long limit)
{
    struct json_stream js = {0};
    char cursor[4096];
    int r = walk_invocations(co, ref, limit, inv_json_print, &js, cursor, sizeof(cursor));
    json_t *c = json_string(cursor);
    char *ctext = cursor[0] && c ? json_dumps(c, JSON_ENCODE_ANY) : NULL;

    json_decref(c);
    if (r == 0) {
        printf("%s", js.n ? "\n]" : "{\"invocations\": []");
        if (ctext)
            printf(",\n\"nextCursor\": %s", ctext);
        puts("}");
    }
    free(ctext);
    return r;
}

int cmd_invocations(int argc, char **argv)
{
    static const struct option options[] = {
        COMMON_OPTIONS, {"limit", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
    static const char *const head[] = {"ID", "STATUS", "STARTED", "FINISHED", "TRIGGERED BY"};
    struct list_opts lo = {.limit = 20};
    const struct cmd_spec spec = {.name = "invocations", .options = options,
                                  .own_opt = list_opt, .ctx = &lo, .min_args = 1,
                                  .max_args = 1, .takes = "one PROJECT/JOB", .job_ref = true};
    struct cmd_args a;
    struct cli_table t;
    char cursor[4096];
    int r;

    if ((r = cmd_parse(&spec, argc, argv, &a)) != 0) {
        if (r > 0)
            printf(invocations_help, CLIENT_MAX_LIST, common_help);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    if (a.co.json) {
        r = invocations_json(&a.co, a.ref, lo.limit);
        json_decref(a.ref);
        return r;
    }
    /* The table keeps its five cells per invocation only (at most --limit). */
    if (cli_table_init(&t, 5, head) < 0) {
        json_decref(a.ref);
        return EXIT_USAGE;
    }
    r = walk_invocations(&a.co, a.ref, lo.limit, inv_row_add, &t, cursor, sizeof(cursor));
    if (r == 0)
        cli_table_print(&t, stdout);
    cli_table_release(&t);
    json_decref(a.ref);
    return r;
}

/* ---- tock invocation ------------------------------------------------------ */

static const char invocation_help[] =
    "usage: tock invocation PROJECT/JOB ID [options]\n"
    "\n"
    "Shows one invocation: its status, times, who triggered it, and its debug\n"
    "log when the server sends one.\n"
    "\n"
    "%s"
    "\n"
    "example:\n"
    "  tock invocation infra/ci-linux 9200093523825193008\n";

/*
 * The "Incoming ..." sections of the invocation page, from tock's
 * "request" field (absent from LUCI's servers: nothing is printed).
 */
static void print_incoming(const json_t *request)
{
    const json_t *trigs = json_object_get(request, "incomingTriggers");
    const json_t *props = json_object_get(request, "properties");
    const json_t *tags = json_object_get(request, "tags");
    const json_t *v;
    size_t i;

    if (!request)
        return;
    printf("\nIncoming triggers:\n");
    json_array_foreach(trigs, i, v)
        printf("  - %s\n", or_dash(json_string_value(json_object_get(v, "id"))));
    printf("\nIncoming properties:\n");
    if (json_object_size(props) > 0) {
        char *text = json_dumps(props, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    printf("\nIncoming tags:\n");
    json_array_foreach(tags, i, v)
        printf("  - %s\n", or_empty(json_string_value(v)));
}

int cmd_invocation(int argc, char **argv)
{
    static const struct option options[] = {COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const struct cmd_spec spec = {.name = "invocation", .options = options,
                                         .min_args = 2, .max_args = 2,
                                         .takes = "PROJECT/JOB and an invocation ID",
                                         .job_ref = true};
    struct cmd_args a;
    json_t *reply = NULL;
    int r;

    if ((r = cmd_parse(&spec, argc, argv, &a)) != 0) {
        if (r > 0)
            printf(invocation_help, common_help);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    json_t *req = json_pack("{s:o, s:s}", "jobRef", a.ref, "invocationId", a.inv);
    r = call(&a.co, SCHEDULER, "GetInvocation", req, &reply);
    json_decref(req);
    if (r)
        return r;
    if (a.co.json) {
        print_json(reply);
    } else {
        char idb[32], s1[TIME_RFC3339_MAX], s2[TIME_RFC3339_MAX];
        const json_t *iref = json_object_get(reply, "invocationRef");
        const json_t *jref = json_object_get(iref, "jobRef");
        const char *log = json_string_value(json_object_get(reply, "debugLog"));

        printf("ID:            %s\n",
               scalar(json_object_get(iref, "invocationId"), idb, sizeof(idb)));
        printf("Job:           %s/%s\n",
               or_empty(json_string_value(json_object_get(jref, "project"))),
               or_empty(json_string_value(json_object_get(jref, "job"))));
        printf("Status:        %s\n",
               or_dash(json_string_value(json_object_get(reply, "status"))));
        printf("Started:       %s\n",
               time_text(json_object_get(reply, "startedTs"), s1, sizeof(s1)));
        printf("Finished:      %s\n",
               time_text(json_object_get(reply, "finishedTs"), s2, sizeof(s2)));
        printf("Triggered by:  %s\n",
               or_dash(json_string_value(json_object_get(reply, "triggeredBy"))));
        printf("Revision:      %s\n",
               or_dash(json_string_value(json_object_get(reply, "configRevision"))));
        printf("View URL:      %s\n",
               or_dash(json_string_value(json_object_get(reply, "viewUrl"))));
        print_incoming(json_object_get(reply, "request"));
        if (log) {
            size_t n = strlen(log);
            printf("\nDebug log (UTC):\n%s%s", log, n && log[n - 1] != '\n' ? "\n" : "");
        }
    }
    json_decref(reply);
    return 0;
}

/* ---- tock trigger ------------------------------------------------------------ */

static const char trigger_help[] =
    "usage: tock trigger PROJECT/JOB [--id ID] [--property K=V]... [--tag K:V]...\n"
    "                    [--title T] [--url U] [options]\n"
    "\n"
    "Sends one trigger to a job (EmitTriggers) and prints its ID.  With\n"
    "properties or tags the trigger carries a buildbucket payload (properties\n"
    "are strings); without, no payload.  The ID defaults to 16 random hex\n"
    "digits; re-sending the same ID is harmless (the job de-duplicates it).\n"
    "A paused job accepts the call and drops the trigger (as LUCI does).\n"
    "\n"
    "options:\n"
    "  --id ID            the trigger ID\n"
    "  --property K=V     a build property (repeatable)\n"
    "  --tag K:V          a build tag (repeatable)\n"
    "  --title T          a title shown in the UI\n"
    "  --url U            a link shown in the UI\n"
    "%s"
    "\n"
    "example:\n"
    "  tock trigger infra/ci-linux --property branch=main --tag source:manual\n";

static int random_id(char *out, size_t n)
{
    unsigned char b[8];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t k = getrandom(b + got, sizeof(b) - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -errno;
        got += (size_t)k;
    }
    for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* The own options of trigger, and what they set. */
struct trigger_opts {
    json_t *props, *tags;
    const char *id, *title, *url;
};

static int trigger_opt(void *ctx, int c, const char *arg)
{
    struct trigger_opts *to = ctx;

    switch (c) {
    case 'i':
        to->id = arg;
        return 1;
    case 'p': {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            cli_error("--property wants KEY=VALUE, not '%s'", arg);
            return -1;
        }
        if (json_object_size(to->props) >= CLIENT_MAX_LIST) {
            cli_error("too many --property options");
            return -1;
        }
        char key[256];
        if ((size_t)(eq - arg) >= sizeof(key)) {
            cli_error("--property key too long in '%s'", arg);
            return -1;
        }
        memcpy(key, arg, (size_t)(eq - arg));
        key[eq - arg] = '\0';
        json_t *v = json_string(eq + 1);
        if (!v || json_object_set_new(to->props, key, v) < 0) {
            cli_error("--property '%s' is not valid UTF-8", arg);
            return -1;
        }
        return 1;
    }
    case 't': {
        const char *colon = strchr(arg, ':');
        if (!colon || colon == arg) {
            cli_error("--tag wants KEY:VALUE, not '%s'", arg);
            return -1;
        }
        if (json_array_size(to->tags) >= CLIENT_MAX_LIST) {
            cli_error("too many --tag options");
            return -1;
        }
        json_t *v = json_string(arg);
        if (!v || json_array_append_new(to->tags, v) < 0) {
            cli_error("--tag '%s' is not valid UTF-8", arg);
            return -1;
        }
        return 1;
    }
    case 'n':
        to->title = arg;
        return 1;
    case 'u':
        to->url = arg;
        return 1;
    default:
        return 0;
    }
}

int cmd_trigger(int argc, char **argv)
{
    static const struct option options[] = {
        COMMON_OPTIONS,
        {"id", required_argument, NULL, 'i'},
        {"property", required_argument, NULL, 'p'},
        {"tag", required_argument, NULL, 't'},
        {"title", required_argument, NULL, 'n'},
        {"url", required_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    struct trigger_opts to = {.props = json_object(), .tags = json_array()};
    const struct cmd_spec spec = {.name = "trigger", .options = options,
                                  .own_opt = trigger_opt, .ctx = &to, .min_args = 1,
                                  .max_args = 1, .takes = "one PROJECT/JOB", .job_ref = true};
    struct cmd_args a = {.ref = NULL};
    json_t *trig = NULL, *req = NULL, *reply = NULL;
    const char *id;
    char rid[17] = "";
    int k, r = EXIT_USAGE;

    if (!to.props || !to.tags) {
        cli_error("out of memory");
        goto out;
    }
    k = cmd_parse(&spec, argc, argv, &a);
    if (k > 0) {
        printf(trigger_help, common_help);
        r = 0;
    }
    if (k != 0)
        goto out;
    id = to.id;
    if (!id) {
        if (random_id(rid, sizeof(rid)) < 0) {
            cli_error("cannot make a random trigger ID: %s", strerror(errno));
            goto out;
        }
        id = rid;
    } else if (!*id) {
        cli_error("--id must not be empty");
        goto out;
    }
    trig = json_pack("{s:s}", "id", id);
    if (!trig) {
        cli_error("--id '%s' is not valid UTF-8", id);
        goto out;
    }
    if ((to.title && json_object_set_new(trig, "title", json_string(to.title)) < 0) ||
        (to.url && json_object_set_new(trig, "url", json_string(to.url)) < 0)) {
        cli_error("--title and --url must be valid UTF-8");
        goto out;
    }
    if (json_object_size(to.props) || json_array_size(to.tags)) {
        json_t *bb = json_object();
        if (json_object_size(to.props))
            json_object_set(bb, "properties", to.props);
        if (json_array_size(to.tags))
            json_object_set(bb, "tags", to.tags);
        json_object_set_new(trig, "buildbucket", bb);
    }
    req = json_pack("{s:[{s:O, s:[O]}]}", "batches", "trigger", trig, "jobs", a.ref);
    r = call(&a.co, SCHEDULER, "EmitTriggers", req, &reply);
    if (r)
        goto out;
    if (a.co.json)
        print_json(reply);
    else
        printf("%s\n", id);
out:
    json_decref(to.props);
    json_decref(to.tags);
    json_decref(trig);
    json_decref(a.ref);
    json_decref(req);
    json_decref(reply);
    return r;
}

/* ---- tock pause / resume / abort ----------------------------------------- */

static const char pause_help[] =
    "usage: tock %s PROJECT/JOB [options]\n"
    "\n"
    "%s\n"
    "\n"
    "%s"
    "\n"
    "example:\n"
    "  tock %s infra/ci-linux\n";

static const char abort_help[] =
    "usage: tock abort PROJECT/JOB [ID] [options]\n"
    "\n"
    "Aborts every running invocation of the job (AbortJob), or only invocation\n"
    "ID (AbortInvocation).  Finished invocations are left as they are.\n"
    "\n"
    "%s"
    "\n"
    "examples:\n"
    "  tock abort infra/ci-linux\n"
    "  tock abort infra/ci-linux 9200093523825193008\n";

/* pause, resume and abort share everything but the method and the words. */
static int job_action(int argc, char **argv, const char *cmd, const char *method,
                      const char *what, const char *done)
{
    static const struct option options[] = {COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    bool is_abort = strcmp(cmd, "abort") == 0;
    const struct cmd_spec spec = {
        .name = cmd,
        .options = options,
        .min_args = 1,
        .max_args = is_abort ? 2 : 1,
        .takes = is_abort ? "one PROJECT/JOB and an optional invocation ID" : "one PROJECT/JOB",
        .job_ref = true,
    };
    struct cmd_args a;
    json_t *req, *reply = NULL;
    int r;

    if ((r = cmd_parse(&spec, argc, argv, &a)) != 0) {
        if (r > 0 && is_abort)
            printf(abort_help, common_help);
        else if (r > 0)
            printf(pause_help, cmd, what, common_help, cmd);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    if (a.inv) {
        req = json_pack("{s:o, s:s}", "jobRef", a.ref, "invocationId", a.inv);
        method = "AbortInvocation";
    } else {
        req = a.ref;
    }
    r = call(&a.co, SCHEDULER, method, req, &reply);
    json_decref(req);
    if (r)
        return r;
    if (a.co.json)
        print_json(reply);
    else if (a.inv)
        printf("%s invocation %s of %s\n", done, a.inv, a.argv[0]);
    else
        printf("%s %s\n", done, a.argv[0]);
    json_decref(reply);
    return 0;
}

int cmd_pause(int argc, char **argv)
{
    return job_action(argc, argv, "pause", "PauseJob",
                      "Pauses a job: no new invocations start, pending triggers are\n"
                      "dropped and later ones are ignored until it is resumed.  Running\n"
                      "invocations go on.",
                      "paused");
}

int cmd_resume(int argc, char **argv)
{
    return job_action(argc, argv, "resume", "ResumeJob",
                      "Resumes a paused job: its schedule starts ticking again.", "resumed");
}

int cmd_abort(int argc, char **argv)
{
    return job_action(argc, argv, "abort", "AbortJob", NULL, "aborted");
}

/* ---- tock why --------------------------------------------------------------- */

static const char why_help[] =
    "usage: tock why PROJECT/JOB [--trigger ID] [--limit N] [options]\n"
    "\n"
    "Tells what became of the triggers that reached a job, newest decision\n"
    "first (tock.Scheduler/GetTriggerFates): when each was created, its ID,\n"
    "its fate (PENDING, CONSUMED, MERGED, DROPPED_PAUSED, DROPPED_DISABLED,\n"
    "DROPPED_OVERFLOW, EXPIRED, DISCARDED, DEDUPLICATED), the invocation it\n"
    "went into, and why.  The answer to \"why didn't my commit build?\".\n"
    "\n"
    "options:\n"
    "  --trigger ID       only this trigger\n"
    "  --limit N          at most N fates (default 50)\n"
    "%s"
    "\n"
    "example:\n"
    "  tock why infra/ci-linux --trigger 'https://host/repo/+/refs/heads/main@1a2b3c'\n";

int cmd_why(int argc, char **argv)
{
    static const struct option options[] = {
        COMMON_OPTIONS,
        {"trigger", required_argument, NULL, 'g'},
        {"limit", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    struct list_opts lo = {.limit = 50};
    const struct cmd_spec spec = {.name = "why", .options = options, .own_opt = list_opt,
                                  .ctx = &lo, .min_args = 1, .max_args = 1,
                                  .takes = "one PROJECT/JOB", .job_ref = true};
    struct cmd_args a;
    json_t *req, *reply = NULL;
    int r;

    if ((r = cmd_parse(&spec, argc, argv, &a)) != 0) {
        if (r > 0)
            printf(why_help, common_help);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    req = json_pack("{s:o, s:i}", "jobRef", a.ref, "pageSize", (int)lo.limit);
    if (req && lo.trigger &&
        json_object_set_new(req, "triggerId", json_string(lo.trigger)) < 0) {
        cli_error("--trigger '%s' is not valid UTF-8", lo.trigger);
        json_decref(req);
        return EXIT_USAGE;
    }
    r = call(&a.co, TOCK_SCHEDULER, "GetTriggerFates", req, &reply);
    json_decref(req);
    if (r)
        return r;
    if (a.co.json) {
        print_json(reply);
    } else {
        static const char *const head[] = {"CREATED", "TRIGGER", "FATE", "INVOCATION",
                                           "REASON"};
        const json_t *fates = json_object_get(reply, "fates");
        struct cli_table t;
        size_t i;
        const json_t *f;
        int e = cli_table_init(&t, 5, head);
        json_array_foreach(fates, i, f) {
            char s1[TIME_RFC3339_MAX], idb[32];
            const char *cells[5] = {
                time_text(json_object_get(f, "created"), s1, sizeof(s1)),
                or_dash(json_string_value(json_object_get(f, "triggerId"))),
                or_dash(json_string_value(json_object_get(f, "fate"))),
                or_dash(scalar(json_object_get(f, "invocationId"), idb, sizeof(idb))),
                or_dash(json_string_value(json_object_get(f, "reason"))),
            };
            if (strcmp(cells[3], "0") == 0)
                cells[3] = "-";
            if (e == 0)
                e = cli_table_add(&t, cells);
        }
        if (e == 0)
            cli_table_print(&t, stdout);
        cli_table_release(&t);
        if (e < 0) {
            cli_error("cannot print the table: %s", strerror(-e));
            json_decref(reply);
            return EXIT_USAGE;
        }
    }
    json_decref(reply);
    return 0;
}
