/*
 * bench-web-seed.c - fills a tock SQLite store with one job's invocation
 * history for bench/bench-web (issue 9): written straight into the store
 * in one transaction, much faster than running them.
 *
 *   bench-web-seed DB JOB N LOG_BYTES
 *
 * DB is a SQLite file a `tock serve` has already made JOB ("project/name",
 * a triggered noop job) in (so the job row is the engine's own).  Adds N
 * final invocations of JOB, one a minute going back from now, each
 * SUCCEEDED with a request, a task snapshot and a debug log of a few
 * lines, as the noop manager writes them; the newest one's debug log is
 * LOG_BYTES long instead (lines of ~100 bytes).  Prints "<id of the
 * newest> <id of the oldest>" on stdout.  Exit status 1 when the setup
 * fails.  The bench only: not a tool (it bypasses the engine's rules).
 */
#include "base/compat.h"

#include <time.h>

#include "base/buf.h"
#include "base/time.h"
#include "engine/invid.h"
#include "store/store.h"

#define MAX_INVOCATIONS 10000000L
#define MAX_LOG_BYTES (64L * 1024 * 1024)

static const char request_json[] =
    "{\"triggeredBy\":\"user:bench@example.com\",\"incomingTriggers\":[{\"id\":\"t\","
    "\"title\":\"bench\",\"created\":\"2026-01-01T00:00:00Z\"}],\"properties\":{},\"tags\":[]}";

/* A debug log of about bytes bytes (at least the short one) ending in "\n". */
static int make_log(struct buf *b, long bytes, int64_t started)
{
    char when[64], line[160];
    int r = 0;
    long i = 0;

    time_format_rfc3339(started, when, sizeof(when));
    buf_reset(b);
    do {
        snprintf(line, sizeof(line),
                 "[%s] line %06ld of the bench log: Sleeping for 20s (noop), "
                 "then SUCCEEDED\n", when, i++);
        r = buf_append(b, line, strlen(line));
    } while (r == 0 && (long)b->len < bytes);
    return r;
}

static int seed(struct store *s, const char *job, long n, long log_bytes, int64_t *newest,
                int64_t *oldest)
{
    struct store_tx *tx = NULL;
    struct store_job row = {0};
    struct buf log;
    struct timespec ts;
    int64_t now;
    int r;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
    buf_init(&log, (size_t)MAX_LOG_BYTES + 4096);
    if ((r = store_begin(s, &tx)) < 0)
        goto out;
    if ((r = store_job_get(tx, job, &row)) < 0) { /* the realm is the engine's */
        fprintf(stderr, "no job %s in the store (start tock serve on it once)\n", job);
        store_rollback(tx);
        goto out;
    }
    for (long i = 0; r == 0 && i < n; i++) {
        int64_t started = now - (i + 1) * 60 * NS_PER_SEC;
        int64_t id = invid_make(started, (uint16_t)(i * 2654435761u >> 16));
        if ((r = make_log(&log, i == 0 ? log_bytes : 0, started)) < 0)
            break;
        struct store_inv v = {
            .id = id, .job_id = (char *)job, .realm_id = row.realm_id, .started = started,
            .finished = started + 20 * NS_PER_SEC, .status = "SUCCEEDED",
            .triggered_by = "user:bench@example.com", .request_json = (char *)request_json,
            .task_json = "{\"noop\":{}}", .revision = "rev", .revision_url = "",
            .triggered_json = "[]", .debug_log = log.data, .view_url = "",
            .task_data_json = "", .mutations = 3, .aborted_by = "", .timers_json = "[]",
            .outgoing_json = "[]"};
        r = store_inv_insert(tx, &v);
        if (i == 0)
            *newest = id;
        *oldest = id;
    }
    if (r == 0)
        r = store_commit(tx);
    else
        store_rollback(tx);
out:
    store_job_release(&row);
    buf_release(&log);
    return r;
}

int main(int argc, char **argv)
{
    struct store *s = NULL;
    char url[4200], err[256], *end;
    long n, log_bytes;
    int64_t newest = 0, oldest = 0;
    int r;

    if (argc != 5 || !strchr(argv[2], '/')) {
        fprintf(stderr, "usage: bench-web-seed DB PROJECT/JOB N LOG_BYTES\n");
        return 2;
    }
    n = strtol(argv[3], &end, 10);
    if (*end || n < 1 || n > MAX_INVOCATIONS)
        return fprintf(stderr, "bad N\n"), 2;
    log_bytes = strtol(argv[4], &end, 10);
    if (*end || log_bytes < 0 || log_bytes > MAX_LOG_BYTES)
        return fprintf(stderr, "bad LOG_BYTES\n"), 2;
    snprintf(url, sizeof(url), "sqlite:%s", argv[1]);
    if (store_open(url, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    r = seed(s, argv[2], n, log_bytes, &newest, &oldest);
    store_close(s);
    if (r < 0) {
        fprintf(stderr, "seed: %s\n", strerror(-r));
        return 1;
    }
    printf("%" PRId64 " %" PRId64 "\n", newest, oldest);
    return 0;
}
