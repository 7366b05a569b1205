/*
 * postgres.c - the PostgreSQL back end of store.h (libpq).
 *
 * Connections.  A store keeps a pool of tock_pool connections (a
 * parameter of the URL that tock takes out before libpq sees it; default
 * PG_POOL_DEFAULT, 8; 1 .. LIMIT_STORE_PG_POOL), opened when first
 * needed.  store_begin() takes a free one (blocking while all are in use)
 * and holds it until the transaction ends, on the thread that began it;
 * other threads run their transactions on other connections at the same
 * time.  A connection found broken
 * (PQstatus bad, or BEGIN failing for a lost connection) is reset before
 * use.
 *
 * Transactions are BEGIN ISOLATION LEVEL SERIALIZABLE: the contract's
 * "serializable across every process sharing the store".  A serialization
 * failure (SQLSTATE 40001), a deadlock (40P01) or a connection lost in
 * the middle of a transaction fail the op with -EAGAIN, the transaction
 * is then aborted (every later op returns the same error) and the caller
 * must roll back and redo the whole transaction (but a conflict on its
 * first statement is redone here: tx_exec).  A connection lost
 * during COMMIT leaves the outcome unknown: that commit returns -EIO,
 * never 0.  Soft results (-ENOENT, -EEXIST, -ESTALE, "duplicate" 1) are
 * decided without SQL errors (ON CONFLICT DO NOTHING, row counts), so
 * they leave the transaction usable.
 *
 * Group commit (STORE-CONTRACT.md, "The commit model"): store_commit() is
 * a synchronous COMMIT (the server shares WAL flushes between concurrent
 * sessions: commit_delay / commit_siblings); store_commit_lazy() is a
 * COMMIT after SET LOCAL synchronous_commit = off, visible at once and
 * durable at the next WAL flush, which any later synchronous commit forces
 * (WAL is flushed in order); store_sync() commits a tiny transaction that
 * has an xid (pg_current_xact_id()) synchronously, only when this store
 * committed lazily since its last durable commit.  Every
 * LIMIT_STORE_GROUP_STEPS-th lazy step commits durably instead.
 *
 * SQL.  Every statement is a static string with $n parameters (never a
 * value pasted in), prepared once per connection (by the address of its
 * text, as sqlite.c caches its statements; forgotten when the connection
 * is re-established).  Rows are written as one JSON parameter,
 * json_populate_record(NULL::table, $1), whose keys are the columns of
 * rows.h (row_json), and read by column number in table order
 * (read_cols), so adding a column is one line in rows.h plus a migration.
 * Results are text; integers are parsed with strtoll.
 *
 * Threads: any thread may begin a transaction; the transaction, its
 * connection and its prepared statements are then that thread's until it
 * ends.  The pool, the counters and the lazy-commit count are under
 * ps->lock.  Closing flushes lazy commits (as SQLite's close COMMITs its
 * open group) and needs every transaction ended.
 *
 * Wake-ups (store_watch): pg_task_enqueue and pg_task_retry send
 * pg_notify('tock_tasks', <due>) in their own statement, so the server
 * delivers it when the transaction commits.  store_watch starts a
 * listener thread with its own connection (outside the pool) that LISTENs
 * and calls the watcher's function per notice; a lost connection is
 * reopened every second, followed by a notice of due 0 ("look again").
 * The channel is per database: stores on other schemas of the same
 * database only cause spurious wake-ups.
 *
 * Errors: as store.h (-EAGAIN: redo the whole transaction; -EIO: a COMMIT
 * of unknown outcome, or the server cannot be reached); store_errmsg() is
 * libpq's message (thread-local).  Rows and texts are bounded by the
 * wrappers' limits (LIMIT_STORE_TEXT, LIMIT_STORE_ROWS per list).
 */
#include "store/postgres.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <poll.h>
#include <stdarg.h>
#include <unistd.h>

#include "store/postgres-schema.h"
#include "store/rows.h"

#define PG_MAX_PARAMS 8
#define PG_POOL_DEFAULT 8
#define PG_FIRST_RETRIES 8 /* redos of a transaction whose first statement conflicted */
#define PG_PREP_CACHE 96 /* statements prepared per connection (there are ~60) */
#define PG_POOL_PARAM "tock_pool="
/* The key of the advisory lock that serializes migrations: "tock". */
#define PG_MIGRATION_LOCK "1953457003"
/* The LISTEN/NOTIFY channel of task rows added or made due (store_watch). */
#define PG_NOTIFY_CHANNEL "tock_tasks"

struct pg_store;

/* A statement prepared on a connection: its SQL (a static string, by address) and name. */
struct pg_prep {
    const char *sql;
    char name[12];
};

/* A slot of the pool: its transaction handle, and what is prepared on its connection. */
struct pg_tx {
    struct store *s; /* first: see store.c */
    struct pg_store *ps;
    PGconn *conn;
    size_t slot;
    int failed; /* 0, or the error of the statement that aborted the transaction */
    size_t n_stmts; /* statements the transaction ran so far */
    struct pg_prep prep[PG_PREP_CACHE];
    size_t n_prep; /* emptied when the connection is (re)opened */
};

struct pg_store {
    struct store base;
    char *conninfo;
    pthread_mutex_t lock; /* guards the pool, stats and lazy_steps */
    pthread_cond_t slot_free;
    size_t pool_size; /* slots in use: 1 .. LIMIT_STORE_PG_POOL */
    PGconn *conns[LIMIT_STORE_PG_POOL];
    bool busy[LIMIT_STORE_PG_POOL];
    struct pg_tx txs[LIMIT_STORE_PG_POOL];
    struct store_stats stats;
    size_t lazy_steps; /* lazy commits since the last durable one */
    struct pg_watch *watch; /* store_watch's listener, or NULL */
};

static _Thread_local char tl_errmsg[512];

static void set_msg(const char *prefix, const char *msg)
{
    size_t n;

    snprintf(tl_errmsg, sizeof(tl_errmsg), "postgres: %s%s", prefix, msg ? msg : "error");
    n = strlen(tl_errmsg);
    while (n > 0 && (tl_errmsg[n - 1] == '\n' || tl_errmsg[n - 1] == ' '))
        tl_errmsg[--n] = '\0';
}

static const char *pg_errmsg(struct store *s)
{
    (void)s;
    return tl_errmsg;
}

/* The error of a failed result (res may be NULL): -EAGAIN when a redo may succeed. */
static int res_err(PGconn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    set_msg("", res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                     : PQerrorMessage(c));
    if (PQstatus(c) == CONNECTION_BAD)
        return -EAGAIN; /* the connection dropped: it is reset at the next begin */
    if (!state)
        return res ? -EIO : -ENOMEM;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return -EAGAIN; /* serialization failure, deadlock */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)
        return -EAGAIN; /* connection exception, server shutting down */
    return -EIO;
}

/* ---- statements ---- */

#define PG_BEGIN "BEGIN ISOLATION LEVEL SERIALIZABLE"

/* Runs a statement without parameters on connection c: 0, or res_err's error. */
static int conn_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int r = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        r = res_err(c, res);
    PQclear(res);
    return r;
}

/* Replaces tx's transaction, which has run no statement yet, by a new one. */
static int tx_restart(struct pg_tx *tx)
{
    int r = conn_exec(tx->conn, "ROLLBACK");

    return r < 0 ? r : conn_exec(tx->conn, PG_BEGIN);
}

/* Parameters of one statement, as text. */
struct pg_params {
    int n;
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
};

/* Fills p from fmt: "t" text (NULL = ""), "i" int64, in order ($1, $2, ...). */
static void params_v(struct pg_params *p, const char *fmt, va_list ap)
{
    p->n = 0;
    for (int i = 0; fmt[i] && i < PG_MAX_PARAMS; i++) {
        if (fmt[i] == 't') {
            const char *s = va_arg(ap, const char *);
            p->v[i] = s ? s : "";
        } else {
            snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, va_arg(ap, int64_t));
            p->v[i] = p->num[i];
        }
        p->n = i + 1;
    }
}

/*
 * The index in tx->prep of sql prepared on tx's connection (prepared now if
 * it was not): 0 and *ret_i, or 1 when the cache is full (run it
 * unprepared), or the error of a failed PQprepare (in *ret_res, to clear).
 */
static int prepare_cached(struct pg_tx *tx, const char *sql, size_t *ret_i, PGresult **ret_res)
{
    struct pg_prep *pp;
    PGresult *res;

    for (size_t i = 0; i < tx->n_prep; i++) {
        if (tx->prep[i].sql == sql) {
            *ret_i = i;
            return 0;
        }
    }
    if (tx->n_prep >= PG_PREP_CACHE)
        return 1;
    pp = &tx->prep[tx->n_prep];
    snprintf(pp->name, sizeof(pp->name), "tock%zu", tx->n_prep);
    res = PQprepare(tx->conn, pp->name, sql, 0, NULL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        *ret_res = res;
        return -EIO;
    }
    PQclear(res);
    pp->sql = sql;
    *ret_i = tx->n_prep++;
    return 0;
}

/* Runs sql (prepared once per connection) with the parameters p; NULL on a libpq failure. */
static PGresult *exec_sql(struct pg_tx *tx, const char *sql, const struct pg_params *p)
{
    int n = p ? p->n : 0;
    const char *const *v = p ? p->v : NULL;
    PGresult *res = NULL;
    size_t i = 0;
    int r;

    r = prepare_cached(tx, sql, &i, &res);
    if (r < 0)
        return res; /* the PQprepare's failed result */
    if (r == 1)
        return PQexecParams(tx->conn, sql, n, NULL, v, NULL, NULL, 0);
    return PQexecPrepared(tx->conn, tx->prep[i].name, n, v, NULL, NULL, 0);
}

/*
 * Runs sql in tx with the parameters p.  Returns 0 with the result in
 * *ret (the caller PQclear()s it; NULL ret: cleared here) and the number
 * of rows it changed in *ret_changes (may be NULL).  A failure aborts the
 * transaction: tx->failed keeps the error, which every later statement
 * returns at once.
 *
 * A serialization failure or deadlock on the first statement of a
 * transaction (the caller has read nothing yet: typically the task lease
 * of a worker whose snapshot predates another worker's committed lease)
 * is redone here, in a new transaction, up to PG_FIRST_RETRIES times,
 * instead of failing the caller's whole transaction.
 */
static int tx_exec(struct pg_tx *tx, const char *sql, const struct pg_params *p, PGresult **ret,
                   long *ret_changes)
{
    PGresult *res;
    ExecStatusType st;
    int r;

    if (tx->failed)
        return tx->failed;
    for (int attempt = 0;; attempt++) {
        res = exec_sql(tx, sql, p);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            break;
        r = res_err(tx->conn, res);
        PQclear(res);
        if (r == -EAGAIN && tx->n_stmts == 0 && attempt < PG_FIRST_RETRIES &&
            PQstatus(tx->conn) == CONNECTION_OK && tx_restart(tx) == 0)
            continue;
        tx->failed = r;
        return r;
    }
    tx->n_stmts++;
    if (ret_changes)
        *ret_changes = strtol(PQcmdTuples(res), NULL, 10);
    if (ret)
        *ret = res;
    else
        PQclear(res);
    return 0;
}

/* Runs sql with the values of fmt (params_v); *ret_changes as tx_exec. */
static int run_stmt(struct pg_tx *tx, const char *sql, long *ret_changes, const char *fmt, ...)
{
    struct pg_params p;
    va_list ap;

    va_start(ap, fmt);
    params_v(&p, fmt, ap);
    va_end(ap);
    return tx_exec(tx, sql, &p, NULL, ret_changes);
}

/* Runs the query sql with the values of fmt; *ret is its result. */
static int query(struct pg_tx *tx, const char *sql, PGresult **ret, const char *fmt, ...)
{
    struct pg_params p;
    va_list ap;

    va_start(ap, fmt);
    params_v(&p, fmt, ap);
    va_end(ap);
    return tx_exec(tx, sql, &p, ret, NULL);
}

/* ---- rows: one writer (JSON) and one reader for every row type ---- */

/* Room for one row of any kind, read before it is handed over. */
union any_row {
    struct store_project project;
    struct store_job job;
    struct store_inv inv;
    struct store_trigger trigger;
    struct store_task task;
    struct store_fate fate;
    struct store_secret secret;
    char *id;
};

/* One field of row as a JSON value: text (NULL as the column's null text) or integer. */
static json_t *col_json(const struct col *c, const void *row)
{
    const void *p = (const char *)row + c->off;

    switch (c->type) {
    case COL_TEXT: {
        const char *s = *(char *const *)p;
        return json_string(s ? s : c->null_text);
    }
    case COL_I64:
        return json_integer(*(const int64_t *)p);
    case COL_INT:
        return json_integer(*(const int *)p);
    case COL_BOOL:
        return json_integer(*(const bool *)p ? 1 : 0);
    }
    return NULL;
}

/*
 * The fields of row (of kind k) as a JSON object keyed by column name, for
 * json_populate_record(); malloc'ed in *ret.  -EINVAL for a text that is
 * not UTF-8 (PostgreSQL's text would refuse it too).
 */
static int row_json(const struct row_kind *k, const void *row, char **ret)
{
    json_t *o = json_object();
    char *s = NULL;
    int r = 0;

    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < k->n && r == 0; i++) {
        json_t *v = col_json(&k->cols[i], row);
        if (!v) {
            set_msg("", "a text column is not valid UTF-8");
            r = -EINVAL;
        } else if (json_object_set_new(o, k->cols[i].name, v) < 0) {
            r = -ENOMEM;
        }
    }
    if (r == 0) {
        s = json_dumps(o, JSON_COMPACT);
        r = s ? 0 : -ENOMEM;
    }
    json_decref(o);
    if (r == 0)
        *ret = s;
    return r;
}

/* Runs sql, whose $1 is the row as JSON and $2 (if fmt says so) a value. */
static int run_row(struct pg_tx *tx, const char *sql, const struct row_kind *k, const void *row,
                   PGresult **ret, long *ret_changes, const char *extra)
{
    struct pg_params p = {.n = 1};
    char *json = NULL;
    int r;

    r = row_json(k, row, &json);
    if (r < 0)
        return r;
    p.v[0] = json;
    if (extra) {
        p.v[1] = extra;
        p.n = 2;
    }
    r = tx_exec(tx, sql, &p, ret, ret_changes);
    free(json);
    return r;
}

static int64_t val_i64(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Reads row `row` of res into out (zeroed); the caller releases it on error. */
static int read_cols(const PGresult *res, int row, const struct row_kind *k, void *out)
{
    if ((size_t)PQnfields(res) < k->n) {
        set_msg("", "a result has fewer columns than its row type");
        return -EIO;
    }
    for (size_t i = 0; i < k->n; i++) {
        const struct col *c = &k->cols[i];
        void *p = (char *)out + c->off;
        int at = (int)i;

        switch (c->type) {
        case COL_TEXT:
            *(char **)p = strdup(PQgetvalue(res, row, at));
            if (!*(char **)p)
                return -ENOMEM;
            break;
        case COL_I64:
            *(int64_t *)p = val_i64(res, row, at);
            break;
        case COL_INT:
            *(int *)p = (int)val_i64(res, row, at);
            break;
        case COL_BOOL:
            *(bool *)p = val_i64(res, row, at) != 0;
            break;
        }
    }
    return 0;
}

/* Reads the first row of res into *ret (written only on success); -ENOENT if none. */
static int read_one(const PGresult *res, const struct row_kind *k, void *ret)
{
    union any_row tmp;
    int r;

    if (PQntuples(res) < 1)
        return -ENOENT;
    if (k->size > sizeof(tmp))
        return -EINVAL; /* a row kind missing from union any_row */
    memset(&tmp, 0, sizeof(tmp));
    r = read_cols(res, 0, k, &tmp);
    if (r < 0) {
        store_row_release(k, &tmp);
        return r;
    }
    memcpy(ret, &tmp, k->size);
    return 0;
}

/* Every row of res as a malloc'ed array of rows of kind k; more than LIMIT_STORE_ROWS: -E2BIG. */
static int read_all(const PGresult *res, const struct row_kind *k, void **ret, size_t *n)
{
    size_t nv = (size_t)PQntuples(res);
    void *v;
    int r = 0;

    if (nv > LIMIT_STORE_ROWS)
        return -E2BIG;
    v = calloc(nv ? nv : 1, k->size);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < nv && r == 0; i++)
        r = read_cols(res, (int)i, k, (char *)v + i * k->size);
    if (r < 0) {
        store_rows_free(k, v, nv);
        return r;
    }
    *ret = v;
    *n = nv;
    return 0;
}

/* Runs the query sql (values of fmt) and reads its one row into ret: -ENOENT if none. */
static int get_one(struct pg_tx *tx, const char *sql, const struct row_kind *k, void *ret,
                   const char *fmt, ...)
{
    struct pg_params p;
    PGresult *res = NULL;
    va_list ap;
    int r;

    va_start(ap, fmt);
    params_v(&p, fmt, ap);
    va_end(ap);
    r = tx_exec(tx, sql, &p, &res, NULL);
    if (r == 0)
        r = k ? read_one(res, k, ret) : PQntuples(res) > 0 ? 0 : -ENOENT;
    PQclear(res);
    return r;
}

/* Runs the query sql (values of fmt) and collects its rows. */
static int list_rows(struct pg_tx *tx, const char *sql, const struct row_kind *k, void **ret,
                     size_t *n, const char *fmt, ...)
{
    struct pg_params p;
    PGresult *res = NULL;
    va_list ap;
    int r;

    va_start(ap, fmt);
    params_v(&p, fmt, ap);
    va_end(ap);
    r = tx_exec(tx, sql, &p, &res, NULL);
    if (r == 0)
        r = read_all(res, k, ret, n);
    PQclear(res);
    return r;
}

/* The one integer of a query (NULL reads as if_null). */
static int get_i64(struct pg_tx *tx, const char *sql, int64_t if_null, int64_t *ret,
                   const char *fmt, const char *arg)
{
    PGresult *res = NULL;
    int r = query(tx, sql, &res, fmt, arg);

    if (r == 0) {
        if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
            *ret = if_null;
        else
            *ret = val_i64(res, 0, 0);
    }
    PQclear(res);
    return r;
}

/* A list past LIMIT_STORE_ROWS is read no further ("LIMIT $n" = this; read_all: -E2BIG). */
#define LIST_LIMIT ((int64_t)LIMIT_STORE_ROWS + 1)

/* Column lists of the statements, from rows.h (as sqlite-columns.h, for PostgreSQL). */
#define SEP_FIRST
#define SEP_NEXT ", "
#define COL_NAME(sep, c, field, r) SEP_##sep #c
#define COLUMNS(TABLE) TABLE(COL_NAME)
/* ", c = r.c" for the columns an UPDATE ... FROM json_populate_record(...) AS r writes. */
#define COL_SET_R(sep, c, field, r) ROLE(r, ", " #c " = r." #c, ", " #c " = r." #c, , , , \
                                         ", " #c " = r." #c)
#define SET_FROM_R(TABLE) TABLE(COL_SET_R)
/* ", c = EXCLUDED.c" for the non-key columns of an upsert. */
#define COL_SET_EX(sep, c, field, r)                                                 \
    ROLE(r, ", " #c " = EXCLUDED." #c, ", " #c " = EXCLUDED." #c, , ,                \
         ", " #c " = EXCLUDED." #c, ", " #c " = EXCLUDED." #c)
#define SET_EXCLUDED(TABLE) TABLE(COL_SET_EX)
#define COL_LISTED(sep, c, field, r) SEP_##sep ROLE(r, #c, #c, #c, #c, #c, "''")
#define LISTED_COLUMNS(TABLE) TABLE(COL_LISTED)
/* INSERT INTO table (columns) SELECT columns FROM the JSON row $1. */
#define INSERT_ROW(table, TABLE)                                                     \
    "INSERT INTO " table " (" COLUMNS(TABLE) ") SELECT " COLUMNS(TABLE)               \
    " FROM json_populate_record(NULL::" table ", $1::json)"
/* The same for a table whose id the database assigns (the JSON id is ignored). */
#define INSERT_AUTO_ROW(table, TABLE)                                                \
    "INSERT INTO " table " (" COLUMNS(TABLE) ") OVERRIDING USER VALUE SELECT "        \
    COLUMNS(TABLE) " FROM json_populate_record(NULL::" table ", $1::json)"
/* Insert or replace the whole row by its key column. */
#define UPSERT_ROW(table, TABLE, key) \
    INSERT_ROW(table, TABLE) " ON CONFLICT (" key ") DO UPDATE SET " key " = EXCLUDED." key \
    SET_EXCLUDED(TABLE)

/* ---- connections and the pool ---- */

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Readies a new or reset connection: notices off, synchronous_commit on unless stronger. */
static int conn_setup(PGconn *c)
{
    static const char sql_sync[] =
        "SELECT set_config('synchronous_commit', 'on', false) "
        "WHERE current_setting('synchronous_commit') = 'off'";
    PGresult *res;
    int r = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        set_msg("cannot connect: ", PQerrorMessage(c));
        return -EIO;
    }
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    res = PQexec(c, sql_sync);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = res_err(c, res);
        r = r == -EAGAIN ? -EIO : r;
    }
    PQclear(res);
    return r;
}

/* Opens the connection of slot if it has none, or resets it if libpq knows it broken. */
static int conn_ready(struct pg_store *ps, size_t slot)
{
    PGconn *c = ps->conns[slot];

    if (c && PQstatus(c) == CONNECTION_OK)
        return 0;
    ps->txs[slot].n_prep = 0; /* a new session has nothing prepared */
    if (c)
        PQreset(c);
    else
        c = ps->conns[slot] = PQconnectdb(ps->conninfo);
    if (!c)
        return -ENOMEM;
    return conn_setup(c);
}

/* Reconnects slot (its connection failed, though libpq may not know it yet). */
static int conn_reset(struct pg_store *ps, size_t slot)
{
    ps->txs[slot].n_prep = 0;
    PQreset(ps->conns[slot]);
    return conn_setup(ps->conns[slot]);
}

/* Takes a free slot of the pool, waiting while all are in use. */
static size_t slot_take(struct pg_store *ps)
{
    size_t slot = 0;

    pthread_mutex_lock(&ps->lock);
    for (;;) {
        for (slot = 0; slot < ps->pool_size && ps->busy[slot]; slot++)
            ;
        if (slot < ps->pool_size)
            break;
        pthread_cond_wait(&ps->slot_free, &ps->lock);
    }
    ps->busy[slot] = true;
    pthread_mutex_unlock(&ps->lock);
    return slot;
}

/* Gives slot back; counts the transaction's end in stats (one of the fields, or none). */
static void slot_give(struct pg_store *ps, size_t slot, uint64_t *count)
{
    pthread_mutex_lock(&ps->lock);
    if (count)
        (*count)++;
    ps->busy[slot] = false;
    pthread_cond_signal(&ps->slot_free);
    pthread_mutex_unlock(&ps->lock);
}


/* ---- wake-ups across replicas: LISTEN on a connection of its own ---- */

#define PG_WATCH_RECONNECT_MS 1000 /* pause between attempts to reconnect the listener */

/* store_watch's listener: its thread, connection and the pipe that stops it. */
struct pg_watch {
    pthread_t thread;
    int stop_pipe[2];
    PGconn *conn; /* the listener thread's only */
    const char *conninfo;
    store_notice_fn fn;
    void *ctx;
};

/* Whether the stop pipe became readable within ms (-1: no limit) while waiting on fd (-1: none). */
static bool watch_wait(struct pg_watch *w, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = w->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};

    if (poll(p, fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
        return true; /* cannot wait: stop rather than spin */
    return (p[0].revents & (POLLIN | POLLHUP)) != 0;
}

/* (Re)connects the listener and LISTENs: 0 or -EIO. */
static int watch_connect(struct pg_watch *w)
{
    if (w->conn)
        PQfinish(w->conn);
    w->conn = PQconnectdb(w->conninfo);
    if (!w->conn || PQstatus(w->conn) != CONNECTION_OK)
        return -EIO;
    PQsetNoticeProcessor(w->conn, ignore_notice, NULL);
    return conn_exec(w->conn, "LISTEN " PG_NOTIFY_CHANNEL) < 0 ? -EIO : 0;
}

/* Hands every notice read so far to fn; -EIO when the connection broke. */
static int watch_drain(struct pg_watch *w)
{
    PGnotify *n;

    if (!PQconsumeInput(w->conn))
        return -EIO;
    while ((n = PQnotifies(w->conn)) != NULL) {
        char *end;
        long long due = strtoll(n->extra, &end, 10);

        w->fn(w->ctx, *end == '\0' && due > 0 ? (int64_t)due : 0);
        PQfreemem(n);
    }
    return 0;
}

static void *watch_main(void *arg)
{
    struct pg_watch *w = arg;
    bool up = w->conn != NULL; /* store_watch connected it */

    for (;;) {
        if (!up) {
            if (watch_wait(w, -1, PG_WATCH_RECONNECT_MS))
                break;
            up = watch_connect(w) == 0;
            if (up)
                w->fn(w->ctx, 0); /* notices may have been missed meanwhile */
            continue;
        }
        if (watch_wait(w, PQsocket(w->conn), -1))
            break;
        up = watch_drain(w) == 0;
    }
    return NULL;
}

static void watch_free(struct pg_watch *w)
{
    if (w->conn)
        PQfinish(w->conn);
    if (w->stop_pipe[0] >= 0)
        close(w->stop_pipe[0]);
    if (w->stop_pipe[1] >= 0)
        close(w->stop_pipe[1]);
    free(w);
}

static int pg_watch(struct store *s, store_notice_fn fn, void *ctx)
{
    struct pg_store *ps = (struct pg_store *)s;
    struct pg_watch *w;
    int r;

    if (ps->watch)
        return -EALREADY;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->stop_pipe[0] = w->stop_pipe[1] = -1;
    w->conninfo = ps->conninfo;
    w->fn = fn;
    w->ctx = ctx;
    r = pipe(w->stop_pipe) < 0 ? -errno : 0;
    if (r == 0 && watch_connect(w) < 0) {
        set_msg("cannot LISTEN: ", w->conn ? PQerrorMessage(w->conn) : "out of memory");
        r = -EIO;
    }
    if (r == 0)
        r = -pthread_create(&w->thread, NULL, watch_main, w);
    if (r < 0) {
        watch_free(w);
        return r;
    }
    ps->watch = w;
    return 0;
}

static void pg_unwatch(struct store *s)
{
    struct pg_store *ps = (struct pg_store *)s;
    struct pg_watch *w = ps->watch;
    ssize_t n;

    if (!w)
        return;
    do
        n = write(w->stop_pipe[1], "x", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(w->thread, NULL);
    ps->watch = NULL;
    watch_free(w);
}

/* ---- open / migrate / close ---- */

static int pg_sync(struct store *s);

static void pg_close(struct store *s)
{
    struct pg_store *ps = (struct pg_store *)s;

    pg_unwatch(s);
    if (ps->lazy_steps > 0)
        pg_sync(s); /* best effort: the WAL writer would flush them soon anyway */

    for (size_t i = 0; i < LIMIT_STORE_PG_POOL; i++)
        if (ps->conns[i])
            PQfinish(ps->conns[i]);
    pthread_mutex_destroy(&ps->lock);
    pthread_cond_destroy(&ps->slot_free);
    free(ps->conninfo);
    free(ps);
}

int store_postgres_schema_version(void)
{
    return postgres_migrations[postgres_n_migrations - 1].version;
}

static int read_version(PGconn *c, int *ret)
{
    PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    int r = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        r = res_err(c, res);
    else
        *ret = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return r;
}

/* Runs the migrations after version, each with its schema_version row. */
static int apply_migrations(PGconn *c, int version)
{
    static const char sql_row[] =
        "INSERT INTO schema_version (version, applied) VALUES ($1::integer, "
        "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))";

    for (size_t i = 0; i < postgres_n_migrations; i++) {
        const struct postgres_migration *m = &postgres_migrations[i];
        char v[16];
        const char *vals[1] = {v};
        PGresult *res;
        int r;

        if (m->version <= version)
            continue;
        r = conn_exec(c, m->sql);
        if (r < 0)
            return r;
        snprintf(v, sizeof(v), "%d", m->version);
        res = PQexecParams(c, sql_row, 1, NULL, vals, NULL, NULL, 0);
        r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : res_err(c, res);
        PQclear(res);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Creates or migrates the schema in one transaction that first takes the
 * migration advisory lock (released at its end): replicas starting
 * together migrate once, the others then find the new version.
 */
static int migrate(PGconn *c, char *err, size_t errlen)
{
    int version = 0, known = store_postgres_schema_version(), r;

    r = conn_exec(c, "BEGIN");
    if (r == 0)
        r = conn_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK ")");
    if (r == 0)
        r = conn_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
                         "  version INTEGER NOT NULL, applied TEXT NOT NULL DEFAULT '')");
    if (r == 0)
        r = read_version(c, &version);
    if (r == 0 && version > known) {
        if (err && errlen)
            snprintf(err, errlen,
                     "database schema version %d is newer than this tock knows (%d): "
                     "use a newer tock",
                     version, known);
        conn_exec(c, "ROLLBACK");
        return -EPROTO;
    }
    if (r == 0)
        r = apply_migrations(c, version);
    if (r == 0)
        r = conn_exec(c, "COMMIT");
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot create or migrate the schema: %s", tl_errmsg);
        conn_exec(c, "ROLLBACK");
        return r == -EAGAIN ? -EIO : r;
    }
    return 0;
}

/*
 * Splits "postgresql:" rest into libpq's connection URI (malloc'ed, in
 * *ret_conninfo: rest without its tock_pool=N parameter) and the pool
 * size.  -EINVAL with a message in err for a URL libpq cannot parse or a
 * bad tock_pool.
 */
static int parse_url(const char *rest, char **ret_conninfo, size_t *ret_pool, char *err,
                     size_t errlen)
{
    size_t n = strlen(rest), pool = PG_POOL_DEFAULT;
    char *url, *q, *p, *msg = NULL;
    PQconninfoOption *opts;

    if (strncmp(rest, "//", 2) != 0) {
        snprintf(err, errlen, "a PostgreSQL store URL looks like "
                              "postgres://user@host:port/dbname?param=value");
        return -EINVAL;
    }
    url = malloc(sizeof("postgresql:") + n);
    if (!url)
        return -ENOMEM;
    snprintf(url, sizeof("postgresql:") + n, "postgresql:%s", rest);
    q = strchr(url, '?');
    for (p = q; p; p = strchr(p + 1, '&')) {
        char *end, *next;
        unsigned long v;

        if (strncmp(p + 1, PG_POOL_PARAM, strlen(PG_POOL_PARAM)) != 0)
            continue;
        errno = 0;
        v = strtoul(p + 1 + strlen(PG_POOL_PARAM), &end, 10);
        if (errno || v < 1 || v > LIMIT_STORE_PG_POOL || (*end && *end != '&')) {
            snprintf(err, errlen, "tock_pool must be 1 to %d", LIMIT_STORE_PG_POOL);
            free(url);
            return -EINVAL;
        }
        pool = v;
        /* Cut "?tock_pool=N" or "&tock_pool=N" out, keeping the separator of what follows. */
        next = *end ? end + 1 : end;
        memmove(p + 1, next, strlen(next) + 1);
        if (!p[1])
            p[0] = '\0';
        break;
    }
    opts = PQconninfoParse(url, &msg);
    if (!opts) {
        snprintf(err, errlen, "bad PostgreSQL URL: %s", msg ? msg : "out of memory");
        PQfreemem(msg);
        free(url);
        return msg ? -EINVAL : -ENOMEM;
    }
    PQconninfoFree(opts);
    *ret_conninfo = url;
    *ret_pool = pool;
    return 0;
}

static int pg_open_url(const struct store_ops *ops, const char *rest, struct store **ret,
                       char *err, size_t errlen)
{
    struct pg_store *ps;
    char ebuf[256] = "";
    int r;

    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return -ENOMEM;
    ps->base.ops = ops;
    pthread_mutex_init(&ps->lock, NULL);
    pthread_cond_init(&ps->slot_free, NULL);
    for (size_t i = 0; i < LIMIT_STORE_PG_POOL; i++)
        ps->txs[i] = (struct pg_tx){.s = &ps->base, .ps = ps, .slot = i};
    /* libpq takes both schemes; the URL is its connection string. */
    r = parse_url(rest, &ps->conninfo, &ps->pool_size, ebuf, sizeof(ebuf));
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", ebuf[0] ? ebuf : "out of memory");
        goto fail;
    }
    r = conn_ready(ps, 0);
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", tl_errmsg);
        goto fail;
    }
    r = migrate(ps->conns[0], err, errlen);
    if (r < 0)
        goto fail;
    *ret = &ps->base;
    return 0;
fail:
    pg_close(&ps->base);
    return r;
}

static int pg_open_postgres(const char *rest, struct store **ret, char *err, size_t errlen)
{
    return pg_open_url(&store_postgres_ops, rest, ret, err, errlen);
}

static int pg_open_postgresql(const char *rest, struct store **ret, char *err, size_t errlen)
{
    return pg_open_url(&store_postgresql_ops, rest, ret, err, errlen);
}

/* ---- transactions ---- */

static struct pg_tx *tx_of(struct store_tx *tx)
{
    return (struct pg_tx *)tx;
}

static int pg_begin(struct store *s, struct store_tx **ret)
{
    static const char sql[] = PG_BEGIN;
    struct pg_store *ps = (struct pg_store *)s;
    size_t slot = slot_take(ps);
    int r;

    r = conn_ready(ps, slot);
    if (r == 0 && PQtransactionStatus(ps->conns[slot]) != PQTRANS_IDLE)
        conn_exec(ps->conns[slot], "ROLLBACK"); /* cannot happen: commit_stmt ends them */
    if (r == 0) {
        r = conn_exec(ps->conns[slot], sql);
        /* A connection that died while idle in the pool: reset it and try once more. */
        if (r == -EAGAIN) {
            r = conn_reset(ps, slot);
            if (r == 0)
                r = conn_exec(ps->conns[slot], sql);
        }
    }
    if (r < 0) {
        slot_give(ps, slot, NULL);
        return r;
    }
    ps->txs[slot].conn = ps->conns[slot];
    ps->txs[slot].failed = 0;
    ps->txs[slot].n_stmts = 0;
    *ret = (struct store_tx *)&ps->txs[slot];
    return 0;
}

/*
 * COMMITs tx.  Only a serialization failure or deadlock reported by the
 * server is -EAGAIN (the transaction was rolled back: redo it); any other
 * failure, a lost connection above all, leaves the outcome unknown: -EIO,
 * never -EAGAIN (a redo could apply it twice).
 */
static int commit_stmt(struct pg_tx *t, const char *sql)
{
    PGresult *res = PQexec(t->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int r = 0;

    if (st != PGRES_COMMAND_OK) {
        r = res_err(t->conn, res);
        if (PQstatus(t->conn) == CONNECTION_BAD || !state ||
            (strcmp(state, "40001") != 0 && strcmp(state, "40P01") != 0)) {
            set_msg("COMMIT failed (outcome unknown): ",
                    res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                        : PQerrorMessage(t->conn));
            r = -EIO;
        }
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        set_msg("", "the transaction was rolled back by the server");
        r = -EIO;
    }
    PQclear(res);
    /* Never hand a connection back inside a transaction (a part of sql failed). */
    if (PQstatus(t->conn) == CONNECTION_OK && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
        conn_exec(t->conn, "ROLLBACK");
    return r;
}

/* Ends an aborted transaction: rolls it back and returns the error that aborted it. */
static int end_failed(struct pg_tx *t)
{
    int r = t->failed;

    conn_exec(t->conn, "ROLLBACK");
    slot_give(t->ps, t->slot, &t->ps->stats.rollbacks);
    return r;
}

static int pg_commit(struct store_tx *tx)
{
    struct pg_tx *t = tx_of(tx);
    struct pg_store *ps = t->ps;
    size_t lazy;
    int r;

    if (t->failed)
        return end_failed(t);
    /* Every lazy commit that returned before this point is flushed with this one. */
    pthread_mutex_lock(&ps->lock);
    lazy = ps->lazy_steps;
    ps->lazy_steps = 0;
    pthread_mutex_unlock(&ps->lock);
    r = commit_stmt(t, "COMMIT");
    pthread_mutex_lock(&ps->lock);
    if (r == 0) {
        ps->stats.commits++;
        ps->stats.steps++;
    } else {
        ps->lazy_steps += lazy;
        ps->stats.rollbacks++;
    }
    ps->busy[t->slot] = false;
    pthread_cond_signal(&ps->slot_free);
    pthread_mutex_unlock(&ps->lock);
    return r;
}

static int pg_commit_lazy(struct store_tx *tx)
{
    struct pg_tx *t = tx_of(tx);
    struct pg_store *ps = t->ps;
    bool full;
    int r;

    if (t->failed)
        return end_failed(t);
    pthread_mutex_lock(&ps->lock);
    full = ps->lazy_steps + 1 >= LIMIT_STORE_GROUP_STEPS;
    pthread_mutex_unlock(&ps->lock);
    if (full)
        return pg_commit(tx); /* the group is full: this step makes it durable */
    r = commit_stmt(t, "SET LOCAL synchronous_commit = off; COMMIT");
    pthread_mutex_lock(&ps->lock);
    if (r == 0) {
        ps->lazy_steps++;
        ps->stats.steps++;
    } else {
        ps->stats.rollbacks++;
    }
    ps->busy[t->slot] = false;
    pthread_cond_signal(&ps->slot_free);
    pthread_mutex_unlock(&ps->lock);
    return r;
}

static bool pg_tx_conflicted(struct store_tx *tx)
{
    return tx_of(tx)->failed == -EAGAIN;
}

static void pg_rollback(struct store_tx *tx)
{
    struct pg_tx *t = tx_of(tx);

    conn_exec(t->conn, "ROLLBACK");
    slot_give(t->ps, t->slot, &t->ps->stats.rollbacks);
}

/*
 * A durable commit of a transaction that writes nothing but its own xid
 * (pg_current_xact_id() assigns one, so COMMIT writes a commit record and
 * waits for the WAL flush), when lazy commits wait for one.
 */
static int pg_sync(struct store *s)
{
    struct pg_store *ps = (struct pg_store *)s;
    struct store_tx *tx = NULL;
    struct pg_tx *t;
    size_t lazy;
    int r;

    pthread_mutex_lock(&ps->lock);
    lazy = ps->lazy_steps;
    pthread_mutex_unlock(&ps->lock);
    if (lazy == 0)
        return 0;
    r = pg_begin(s, &tx);
    if (r < 0)
        return r == -EAGAIN ? -EIO : r;
    t = tx_of(tx);
    r = tx_exec(t, "SELECT pg_current_xact_id()", NULL, NULL, NULL);
    if (r < 0) {
        end_failed(t);
        return -EIO;
    }
    r = pg_commit(tx);
    if (r == 0) {
        pthread_mutex_lock(&ps->lock);
        ps->stats.steps--; /* not a step of the caller's */
        pthread_mutex_unlock(&ps->lock);
    }
    return r == -EAGAIN ? -EIO : r;
}

static void pg_stats(struct store *s, struct store_stats *ret)
{
    struct pg_store *ps = (struct pg_store *)s;

    pthread_mutex_lock(&ps->lock);
    *ret = ps->stats;
    pthread_mutex_unlock(&ps->lock);
}

/* ---- projects ---- */

static int pg_project_get(struct store_tx *tx, const char *id, struct store_project *ret)
{
    static const char sql[] = "SELECT " COLUMNS(PROJECT_COLUMNS) " FROM projects WHERE id = $1";

    return get_one(tx_of(tx), sql, &store_project_kind, ret, "t", id);
}

static int pg_project_put(struct store_tx *tx, const struct store_project *p)
{
    static const char sql[] = UPSERT_ROW("projects", PROJECT_COLUMNS, "id");

    return run_row(tx_of(tx), sql, &store_project_kind, p, NULL, NULL, NULL);
}

static int pg_project_list(struct store_tx *tx, char ***ret, size_t *n)
{
    static const char sql[] =
        "SELECT id FROM projects WHERE enabled <> 0 ORDER BY id LIMIT $1::bigint";

    return list_rows(tx_of(tx), sql, &store_id_kind, (void **)ret, n, "i", LIST_LIMIT);
}

/* ---- jobs ---- */

static int pg_job_get(struct store_tx *tx, const char *id, struct store_job *ret)
{
    static const char sql[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs WHERE id = $1";

    return get_one(tx_of(tx), sql, &store_job_kind, ret, "t", id);
}

static int pg_job_put(struct store_tx *tx, const struct store_job *j)
{
    static const char sql[] = UPSERT_ROW("jobs", JOB_COLUMNS, "id");

    return run_row(tx_of(tx), sql, &store_job_kind, j, NULL, NULL, NULL);
}

static int pg_job_set_cron(struct store_tx *tx, const char *id, const char *cron_json)
{
    static const char sql[] = "UPDATE jobs SET cron_json = $1 WHERE id = $2";
    long changes = 0;
    int r = run_stmt(tx_of(tx), sql, &changes, "tt", cron_json, id);

    if (r == 0 && changes != 1)
        r = -ENOENT;
    return r;
}

static int pg_job_set_triage(struct store_tx *tx, const struct store_job *j)
{
    static const char sql[] = "UPDATE jobs SET cron_json = $1, active_json = $2, "
                              "finished_json = $3, last_triage = $4 WHERE id = $5";
    long changes = 0;
    int r = run_stmt(tx_of(tx), sql, &changes, "tttit", j->cron_json ? j->cron_json : "",
                     j->active_json ? j->active_json : "[]",
                     j->finished_json ? j->finished_json : "[]", j->last_triage, j->id);

    if (r == 0 && changes != 1)
        r = -ENOENT;
    return r;
}

static int pg_job_list(struct store_tx *tx, const char *project, bool enabled_only,
                       struct store_job **ret, size_t *n)
{
    static const char sql_all[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "WHERE ($1::bigint = 0 OR enabled <> 0) ORDER BY id "
                                  "LIMIT $2::bigint";
    static const char sql_project[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                      "WHERE project = $2 AND ($1::bigint = 0 OR enabled <> 0) "
                                      "ORDER BY id LIMIT $3::bigint";

    if (!project)
        return list_rows(tx_of(tx), sql_all, &store_job_kind, (void **)ret, n, "ii",
                         (int64_t)enabled_only, LIST_LIMIT);
    return list_rows(tx_of(tx), sql_project, &store_job_kind, (void **)ret, n, "iti",
                     (int64_t)enabled_only, project, LIST_LIMIT);
}

/* Both walk an index from (project, 1[, realm], after_name) and stop after limit rows. */
static int pg_job_page(struct store_tx *tx, const char *project, const char *realm_id,
                       const char *after_name, size_t limit, struct store_job **ret, size_t *n)
{
    static const char sql_any[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "WHERE project = $1 AND enabled = 1 AND name > $2 "
                                  "ORDER BY name LIMIT $3::bigint";
    static const char sql_realm[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                    "WHERE project = $1 AND enabled = 1 AND realm_id = $4 "
                                    "AND name > $2 ORDER BY name LIMIT $3::bigint";

    if (realm_id)
        return list_rows(tx_of(tx), sql_realm, &store_job_kind, (void **)ret, n, "ttit",
                         project, after_name, (int64_t)limit, realm_id);
    return list_rows(tx_of(tx), sql_any, &store_job_kind, (void **)ret, n, "tti", project,
                     after_name, (int64_t)limit);
}

/* One chunk of the enabled jobs by id: a range of the primary key (ids are COLLATE "C"). */
static int pg_job_page_by_id(struct store_tx *tx, const char *project, const char *after_id,
                             size_t limit, struct store_job **ret, size_t *n)
{
    static const char sql_all[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "WHERE id > $1 AND enabled = 1 ORDER BY id LIMIT $2::bigint";
    static const char sql_project[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                      "WHERE id > GREATEST($1, $3 || '/') AND id < $3 || '0' "
                                      "AND project = $3 AND enabled = 1 ORDER BY id "
                                      "LIMIT $2::bigint";

    if (project)
        return list_rows(tx_of(tx), sql_project, &store_job_kind, (void **)ret, n, "tit",
                         after_id, (int64_t)limit, project);
    return list_rows(tx_of(tx), sql_all, &store_job_kind, (void **)ret, n, "ti", after_id,
                     (int64_t)limit);
}

/* A loose index scan (one seek of jobs_by_realm per realm) as a recursive query. */
static int pg_job_realms(struct store_tx *tx, const char *project, size_t limit, char ***ret,
                         size_t *n)
{
    static const char sql[] =
        "WITH RECURSIVE r(realm) AS ("
        "  (SELECT realm_id FROM jobs WHERE project = $1 AND enabled = 1 "
        "   ORDER BY realm_id LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT realm_id FROM jobs WHERE project = $1 AND enabled = 1 "
        "          AND realm_id > r.realm ORDER BY realm_id LIMIT 1)"
        "  FROM r WHERE r.realm IS NOT NULL)"
        "SELECT realm FROM r WHERE realm IS NOT NULL LIMIT $2::bigint";
    char **v = NULL;
    size_t nv = 0;
    int r;

    r = list_rows(tx_of(tx), sql, &store_id_kind, (void **)&v, &nv, "ti", project,
                  (int64_t)limit + 1);
    if (r < 0)
        return r;
    if (nv > limit) {
        store_rows_free(&store_id_kind, v, nv);
        return -E2BIG;
    }
    *ret = v;
    *n = nv;
    return 0;
}

/* ---- invocations ---- */

static int pg_inv_get(struct store_tx *tx, int64_t id, struct store_inv *ret)
{
    static const char sql[] =
        "SELECT " COLUMNS(INV_COLUMNS) " FROM invocations WHERE id = $1::bigint";

    return get_one(tx_of(tx), sql, &store_inv_kind, ret, "i", id);
}

static int pg_inv_insert(struct store_tx *tx, const struct store_inv *v)
{
    static const char sql[] = INSERT_ROW("invocations", INV_COLUMNS) " ON CONFLICT (id) DO NOTHING";
    long changes = 0;
    int r;

    r = run_row(tx_of(tx), sql, &store_inv_kind, v, NULL, &changes, NULL);
    if (r == 0 && changes != 1)
        r = -EEXIST;
    return r;
}

static int pg_inv_update(struct store_tx *tx, const struct store_inv *v,
                         int64_t expected_mutations)
{
    /* aborted_by is FIXED (rows.h): not written here, see store.h. */
    static const char sql[] = "UPDATE invocations AS i SET mutations = r.mutations"
                              SET_FROM_R(INV_COLUMNS)
                              " FROM json_populate_record(NULL::invocations, $1::json) AS r"
                              " WHERE i.id = r.id AND i.mutations = $2::bigint";
    static const char sql_exists[] = "SELECT 1 FROM invocations WHERE id = $1::bigint";
    struct pg_tx *t = tx_of(tx);
    char expected[24];
    long changes = 0;
    int r;

    snprintf(expected, sizeof(expected), "%" PRId64, expected_mutations);
    r = run_row(t, sql, &store_inv_kind, v, NULL, &changes, expected);
    if (r < 0 || changes == 1)
        return r;
    r = get_one(t, sql_exists, NULL, NULL, "i", v->id);
    return r == 0 ? -ESTALE : r; /* the row is there, at another mutation count */
}

static int pg_inv_set_aborted_by(struct store_tx *tx, int64_t id, const char *who)
{
    static const char sql[] = "UPDATE invocations SET aborted_by = $1 WHERE id = $2::bigint";
    long changes = 0;
    int r;

    r = run_stmt(tx_of(tx), sql, &changes, "ti", who, id);
    if (r == 0 && changes != 1)
        r = -ENOENT;
    return r;
}

static int pg_inv_list(struct store_tx *tx, const char *job_id, int64_t after_id, size_t limit,
                       struct store_inv **ret, size_t *n)
{
    static const char sql[] = "SELECT " LISTED_COLUMNS(INV_COLUMNS) " FROM invocations "
                              "WHERE job_id = $1 AND id > $2::bigint ORDER BY id "
                              "LIMIT $3::bigint";

    return list_rows(tx_of(tx), sql, &store_inv_kind, (void **)ret, n, "tii", job_id, after_id,
                     (int64_t)limit);
}

/* Job by job, each one range of invocations_by_job (job_id = j.id, id <= max_id). */
static int pg_inv_ids_project(struct store_tx *tx, const char *project, int64_t max_id,
                              size_t limit,
                              void (*fn)(void *ctx, const char *job_id, int64_t id), void *ctx)
{
    static const char sql[] =
        "SELECT i.job_id, i.id FROM jobs AS j CROSS JOIN LATERAL "
        "(SELECT job_id, id FROM invocations WHERE job_id = j.id AND id <= $1::bigint "
        " ORDER BY id) AS i WHERE j.project = $2 LIMIT $3::bigint";
    PGresult *res = NULL;
    int r;

    r = query(tx_of(tx), sql, &res, "iti", max_id, project, (int64_t)limit);
    if (r == 0)
        for (int i = 0; i < PQntuples(res); i++)
            fn(ctx, PQgetvalue(res, i, 0), val_i64(res, i, 1));
    PQclear(res);
    return r;
}

static int pg_inv_statuses(struct store_tx *tx, const int64_t *ids, size_t n,
                           void (*fn)(void *ctx, int64_t id, const char *status), void *ctx)
{
    static const char sql[] = "SELECT id, status FROM invocations WHERE id = ANY($1::bigint[])";
    char *list = store_ids_text(ids, n, '{', '}');
    PGresult *res = NULL;
    int r = list ? query(tx_of(tx), sql, &res, "t", list) : -ENOMEM;

    if (r == 0)
        for (int i = 0; i < PQntuples(res); i++)
            fn(ctx, val_i64(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    free(list);
    return r;
}

/* ---- pending triggers ---- */

static int pg_trigger_add(struct store_tx *tx, const struct store_trigger *t, int64_t now,
                          int64_t dedup_window)
{
    static const char sql_seen[] =
        "SELECT 1 FROM trigger_tombstones WHERE job_id = $1 AND trigger_id = $2 "
        "AND popped_at > $3::bigint";
    static const char sql_add[] =
        INSERT_ROW("pending_triggers", TRIGGER_COLUMNS) " ON CONFLICT DO NOTHING";
    struct pg_tx *pt = tx_of(tx);
    long changes = 0;
    int r;

    r = get_one(pt, sql_seen, NULL, NULL, "tti", t->job_id, t->trigger_id, now - dedup_window);
    if (r == 0)
        return 1; /* popped less than dedup_window ago */
    if (r != -ENOENT)
        return r;
    r = run_row(pt, sql_add, &store_trigger_kind, t, NULL, &changes, NULL);
    if (r == 0 && changes == 0)
        r = 1; /* already pending */
    return r;
}

static int pg_trigger_list(struct store_tx *tx, const char *job_id, size_t limit,
                           struct store_trigger **ret, size_t *n)
{
    static const char sql[] = "SELECT " COLUMNS(TRIGGER_COLUMNS) " FROM pending_triggers "
                              "WHERE job_id = $1 ORDER BY created, ord, trigger_id "
                              "LIMIT $2::bigint";

    return list_rows(tx_of(tx), sql, &store_trigger_kind, (void **)ret, n, "ti", job_id,
                     (int64_t)limit);
}

static int count_query(struct pg_tx *tx, const char *sql, const char *arg, size_t *ret)
{
    int64_t v = 0;
    int r = get_i64(tx, sql, 0, &v, arg ? "t" : "", arg);

    if (r == 0)
        *ret = (size_t)v;
    return r;
}

static int pg_trigger_count(struct store_tx *tx, const char *job_id, size_t *ret)
{
    static const char sql[] = "SELECT count(*) FROM pending_triggers WHERE job_id = $1";

    return count_query(tx_of(tx), sql, job_id, ret);
}

static int pg_trigger_pop(struct store_tx *tx, const char *job_id, const char *trigger_id,
                          int64_t now)
{
    static const char sql_del[] =
        "DELETE FROM pending_triggers WHERE job_id = $1 AND trigger_id = $2";
    static const char sql_tomb[] =
        "INSERT INTO trigger_tombstones (job_id, trigger_id, popped_at) "
        "VALUES ($1, $2, $3::bigint) ON CONFLICT (job_id, trigger_id) "
        "DO UPDATE SET popped_at = EXCLUDED.popped_at";
    struct pg_tx *t = tx_of(tx);
    long changes = 0;
    int r;

    r = run_stmt(t, sql_del, &changes, "tt", job_id, trigger_id);
    if (r == 0 && changes != 1)
        r = -ENOENT;
    if (r < 0)
        return r;
    return run_stmt(t, sql_tomb, NULL, "tti", job_id, trigger_id, now);
}

static int delete_older(struct pg_tx *tx, const char *sql, int64_t older_than, size_t *ret_n)
{
    long changes = 0;
    int r = run_stmt(tx, sql, &changes, "i", older_than);

    if (r == 0 && ret_n)
        *ret_n = (size_t)changes;
    return r;
}

static int pg_tombstone_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM trigger_tombstones WHERE popped_at < $1::bigint";

    return delete_older(tx_of(tx), sql, older_than, ret_n);
}

/* ---- task queue ---- */

/* Reads the id that a ... RETURNING id statement gave, 1 when it gave none. */
static int returned_id(PGresult *res, int64_t *ret_id)
{
    if (PQntuples(res) < 1)
        return 1;
    if (ret_id)
        *ret_id = val_i64(res, 0, 0);
    return 0;
}

/*
 * A new row and a moved due time are announced to every replica's
 * watcher (store_watch): pg_notify in the same statement, delivered by the
 * server when the transaction commits (nothing if it rolls back).
 */
static int pg_task_enqueue(struct store_tx *tx, const struct store_task *t, int64_t *ret_id)
{
    static const char sql[] = "WITH ins AS (" INSERT_AUTO_ROW("tasks", TASK_COLUMNS)
        " ON CONFLICT (dedup_key) WHERE dedup_key <> '' DO NOTHING RETURNING id, due) "
        "SELECT id, pg_notify('" PG_NOTIFY_CHANNEL "', due::text) FROM ins";
    struct store_task row = *t;
    PGresult *res = NULL;
    int r;

    /* A new row is free and has no attempt yet, whatever t says. */
    row.lease_owner = NULL;
    row.lease_expiry = 0;
    row.attempts = 0;
    r = run_row(tx_of(tx), sql, &store_task_kind, &row, &res, NULL, NULL);
    if (r == 0)
        r = returned_id(res, ret_id);
    PQclear(res);
    return r;
}

/*
 * The row is locked by the UPDATE (FOR UPDATE SKIP LOCKED in the pick), so
 * no other transaction can lease it until this one ends; rows other
 * transactions hold are skipped, not waited for.
 */
static int pg_task_lease(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                         struct store_task *ret)
{
    static const char sql[] =
        "UPDATE tasks SET lease_owner = $2, lease_expiry = $3::bigint, attempts = attempts + 1 "
        "WHERE id = (SELECT id FROM tasks WHERE due <= $1::bigint "
        "AND (lease_owner = '' OR lease_expiry <= $1::bigint) "
        "ORDER BY due, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " COLUMNS(TASK_COLUMNS);

    return get_one(tx_of(tx), sql, &store_task_kind, ret, "iti", now, owner, now + lease_ns);
}

static int pg_task_lease_id(struct store_tx *tx, int64_t id, int64_t now, const char *owner,
                            int64_t lease_ns, struct store_task *ret)
{
    static const char sql[] =
        "UPDATE tasks SET lease_owner = $2, lease_expiry = $3::bigint, attempts = attempts + 1 "
        "WHERE id = $4::bigint AND due <= $1::bigint "
        "AND (lease_owner = '' OR lease_expiry <= $1::bigint) RETURNING " COLUMNS(TASK_COLUMNS);
    static const char sql_exists[] = "SELECT 1 FROM tasks WHERE id = $1::bigint";
    struct pg_tx *t = tx_of(tx);
    int r;

    r = get_one(t, sql, &store_task_kind, ret, "itii", now, owner, now + lease_ns, id);
    if (r != -ENOENT)
        return r;
    r = get_one(t, sql_exists, NULL, NULL, "i", id);
    return r == 0 ? -ESTALE : r; /* there, but not due or held by someone */
}

/*
 * Up to max due rows of the kinds, (due, id) order, locked and skipped by
 * other transactions (SKIP LOCKED), leased in one statement.
 */
static int pg_task_lease_batch(struct store_tx *tx, int64_t now, const char *owner,
                               int64_t lease_ns, const char *const *kinds, size_t n_kinds,
                               size_t max, struct store_task **ret, size_t *n)
{
    static const char sql[] =
        "WITH picked AS (SELECT id FROM tasks WHERE due <= $1::bigint "
        "  AND (lease_owner = '' OR lease_expiry <= $1::bigint) "
        "  AND kind IN ($5, $6, $7, $8) ORDER BY due, id LIMIT $2::bigint "
        "  FOR UPDATE SKIP LOCKED), "
        "leased AS (UPDATE tasks SET lease_owner = $3, lease_expiry = $4::bigint, "
        "  attempts = attempts + 1 FROM picked WHERE tasks.id = picked.id RETURNING tasks.*) "
        "SELECT " COLUMNS(TASK_COLUMNS) " FROM leased ORDER BY due, id";
    const char *k[STORE_LEASE_KINDS_MAX];
    struct store_task *v = NULL;
    size_t nv = 0;
    int r;

    for (size_t i = 0; i < STORE_LEASE_KINDS_MAX; i++)
        k[i] = kinds[i < n_kinds ? i : 0];
    r = list_rows(tx_of(tx), sql, &store_task_kind, (void **)&v, &nv, "iititttt", now,
                  (int64_t)max, owner, now + lease_ns, k[0], k[1], k[2], k[3]);
    if (r < 0)
        return r;
    *ret = nv ? v : NULL;
    if (!nv)
        free(v);
    *n = nv;
    return 0;
}

/* After a statement on row id by owner changed nothing: -ESTALE if the row is there, -ENOENT. */
static int not_owner(struct pg_tx *t, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = $1::bigint";
    int r = get_one(t, sql, NULL, NULL, "i", id);

    return r == 0 ? -ESTALE : r;
}

static int pg_task_done(struct store_tx *tx, int64_t id, const char *owner)
{
    static const char sql[] = "DELETE FROM tasks WHERE id = $1::bigint AND lease_owner = $2";
    struct pg_tx *t = tx_of(tx);
    long changes = 0;
    int r;

    r = run_stmt(t, sql, &changes, "it", id, owner);
    if (r == 0 && changes != 1)
        r = not_owner(t, id);
    return r;
}

static int pg_task_rearm(struct store_tx *tx, int64_t id, const char *owner, int64_t due,
                         const char *payload_json, int64_t now)
{
    static const char sql[] = "UPDATE tasks SET payload_json = $3, due = $4::bigint, "
                              "lease_owner = '', lease_expiry = 0, attempts = 0, "
                              "created = $5::bigint WHERE id = $1::bigint AND lease_owner = $2";
    struct pg_tx *t = tx_of(tx);
    long changes = 0;
    int r;

    r = run_stmt(t, sql, &changes, "ittii", id, owner, payload_json ? payload_json : "", due,
                 now);
    if (r == 0 && changes != 1)
        r = not_owner(t, id);
    return r;
}

static int pg_task_retry(struct store_tx *tx, int64_t id, const char *owner, int64_t due)
{
    static const char sql[] = "WITH u AS (UPDATE tasks SET lease_owner = '', lease_expiry = 0, "
                              "due = $3::bigint WHERE id = $1::bigint AND lease_owner = $2 "
                              "RETURNING due) SELECT pg_notify('" PG_NOTIFY_CHANNEL
                              "', due::text) FROM u";
    struct pg_tx *t = tx_of(tx);
    long changes = 0;
    int r;

    r = run_stmt(t, sql, &changes, "iti", id, owner, due);
    if (r == 0 && changes != 1)
        r = not_owner(t, id);
    return r;
}

/* The leases of store_task_renew as one JSON parameter: [{"id": ids[i], "owner": owners[i]}]. */
static int renew_json(const int64_t *ids, const char *const *owners, size_t n, char **ret)
{
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t i = 0; i < n && r == 0; i++)
        if (json_array_append_new(a, json_pack("{sIss}", "id", (json_int_t)ids[i], "owner",
                                               owners[i])) < 0)
            r = -ENOMEM;
    if (r == 0 && !(*ret = json_dumps(a, JSON_COMPACT)))
        r = -ENOMEM;
    json_decref(a);
    return r;
}

/*
 * Every lease in one statement: an UPDATE joined with the (id, owner)
 * pairs of one JSON parameter, RETURNING the (id, owner) pairs it renewed.  It sends no
 * NOTIFY: nothing became due earlier.
 */
static int pg_task_renew(struct store_tx *tx, const int64_t *ids, const char *const *owners,
                         size_t n, int64_t now, int64_t lease_ns, bool *renewed)
{
    static const char sql[] =
        "UPDATE tasks SET lease_expiry = GREATEST(tasks.lease_expiry, $2::bigint) "
        "FROM json_to_recordset($1::json) AS r(id bigint, owner text) "
        "WHERE tasks.id = r.id AND tasks.lease_owner = r.owner COLLATE \"C\" "
        "RETURNING tasks.id, tasks.lease_owner";
    PGresult *res = NULL;
    char *json = NULL;
    bool *got = calloc(n, sizeof(*got));
    int r = got ? renew_json(ids, owners, n, &json) : -ENOMEM;

    if (r == 0)
        r = query(tx_of(tx), sql, &res, "ti", json, now + lease_ns);
    for (int row = 0; r == 0 && row < PQntuples(res); row++) {
        int64_t id = val_i64(res, row, 0);
        const char *owner = PQgetvalue(res, row, 1);

        for (size_t i = 0; i < n; i++)
            if (ids[i] == id && strcmp(owners[i], owner) == 0)
                got[i] = true;
    }
    if (r == 0)
        memcpy(renewed, got, n * sizeof(*got));
    PQclear(res);
    free(json);
    free(got);
    return r;
}

static int pg_task_next_due(struct store_tx *tx, int64_t *ret)
{
    static const char sql[] =
        "SELECT LEAST((SELECT min(due) FROM tasks WHERE lease_owner = ''), "
        "(SELECT min(GREATEST(due, lease_expiry)) FROM tasks WHERE lease_owner <> ''))";

    return get_i64(tx_of(tx), sql, INT64_MAX, ret, "", NULL);
}

static int pg_task_count(struct store_tx *tx, const char *kind, size_t *ret)
{
    static const char sql_all[] = "SELECT count(*) FROM tasks";
    static const char sql_kind[] = "SELECT count(*) FROM tasks WHERE kind = $1";

    return count_query(tx_of(tx), kind ? sql_kind : sql_all, kind, ret);
}

/* ---- trigger fates ---- */

static int pg_fate_insert(struct store_tx *tx, const struct store_fate *f, int64_t *ret_id)
{
    static const char sql[] = INSERT_AUTO_ROW("trigger_fates", FATE_COLUMNS) " RETURNING id";
    PGresult *res = NULL;
    int r;

    r = run_row(tx_of(tx), sql, &store_fate_kind, f, &res, NULL, NULL);
    if (r == 0 && returned_id(res, ret_id) != 0) {
        set_msg("", "INSERT ... RETURNING gave no id");
        r = -EIO;
    }
    PQclear(res);
    return r;
}

static int pg_fate_decide(struct store_tx *tx, const char *job_id, const char *trigger_id,
                          const char *fate, int64_t inv_id, const char *reason, int64_t now)
{
    static const char sql[] =
        "UPDATE trigger_fates SET fate = $1, inv_id = $2::bigint, reason = $3, "
        "decided_at = $4::bigint WHERE id = (SELECT max(id) FROM trigger_fates "
        "WHERE job_id = $5 AND trigger_id = $6 AND fate = 'PENDING')";
    long changes = 0;
    int r;

    r = run_stmt(tx_of(tx), sql, &changes, "tititt", fate, inv_id, reason, now, job_id,
                 trigger_id);
    if (r == 0 && changes != 1)
        r = -ENOENT;
    return r;
}

static int pg_fate_list(struct store_tx *tx, const char *job_id, const char *trigger_id,
                        size_t limit, struct store_fate **ret, size_t *n)
{
    static const char sql_job[] = "SELECT " COLUMNS(FATE_COLUMNS) " FROM trigger_fates "
                                  "WHERE job_id = $1 ORDER BY id DESC LIMIT $2::bigint";
    static const char sql_trigger[] = "SELECT " COLUMNS(FATE_COLUMNS) " FROM trigger_fates "
                                      "WHERE job_id = $1 AND trigger_id = $3 "
                                      "ORDER BY id DESC LIMIT $2::bigint";

    return list_rows(tx_of(tx), trigger_id ? sql_trigger : sql_job, &store_fate_kind,
                     (void **)ret, n, trigger_id ? "tit" : "ti", job_id, (int64_t)limit,
                     trigger_id);
}

static int pg_fate_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM trigger_fates WHERE "
                              "(decided_at <> 0 AND decided_at < $1::bigint) OR "
                              "(decided_at = 0 AND arrived_at < $1::bigint)";

    return delete_older(tx_of(tx), sql, older_than, ret_n);
}

/* ---- triage logs ---- */

static int pg_triage_log_put(struct store_tx *tx, const char *job_id, int64_t when,
                             const char *log)
{
    static const char sql[] = "INSERT INTO triage_logs (job_id, when_ns, log) "
                              "VALUES ($1, $2::bigint, $3) ON CONFLICT (job_id) DO UPDATE "
                              "SET when_ns = EXCLUDED.when_ns, log = EXCLUDED.log";

    return run_stmt(tx_of(tx), sql, NULL, "tit", job_id, when, log);
}

/*
 * Reads one row of sql ($1 = key): column text_col as a malloc'ed text
 * into *ret_text and, when ret_int0 is not NULL, column 0 as an integer.
 * -ENOENT when there is no row.
 */
static int get_by_key(struct pg_tx *tx, const char *sql, const char *key, int text_col,
                      char **ret_text, int64_t *ret_int0)
{
    PGresult *res = NULL;
    char *text;
    int r;

    r = query(tx, sql, &res, "t", key);
    if (r == 0 && PQntuples(res) < 1)
        r = -ENOENT;
    if (r == 0) {
        text = strdup(PQgetvalue(res, 0, text_col));
        if (!text) {
            r = -ENOMEM;
        } else {
            if (ret_int0)
                *ret_int0 = val_i64(res, 0, 0);
            *ret_text = text;
        }
    }
    PQclear(res);
    return r;
}

static int pg_triage_log_get(struct store_tx *tx, const char *job_id, int64_t *ret_when,
                             char **ret_log)
{
    static const char sql[] = "SELECT when_ns, log FROM triage_logs WHERE job_id = $1";

    return get_by_key(tx_of(tx), sql, job_id, 1, ret_log, ret_when);
}

/* ---- secrets ---- */

static int pg_secret_get(struct store_tx *tx, const char *name, struct store_secret *ret)
{
    static const char sql[] = "SELECT " COLUMNS(SECRET_COLUMNS) " FROM secrets WHERE name = $1";

    return get_one(tx_of(tx), sql, &store_secret_kind, ret, "t", name);
}

static int pg_secret_put(struct store_tx *tx, const struct store_secret *sec)
{
    static const char sql[] = UPSERT_ROW("secrets", SECRET_COLUMNS, "name");

    return run_row(tx_of(tx), sql, &store_secret_kind, sec, NULL, NULL, NULL);
}

/* ---- per-job manager state ---- */

static int pg_job_state_get(struct store_tx *tx, const char *job_id, char **ret)
{
    static const char sql[] = "SELECT state FROM job_states WHERE job_id = $1";

    return get_by_key(tx_of(tx), sql, job_id, 0, ret, NULL);
}

static int pg_job_state_put(struct store_tx *tx, const char *job_id, const char *text)
{
    static const char put[] = "INSERT INTO job_states (job_id, state) VALUES ($1, $2) "
                              "ON CONFLICT (job_id) DO UPDATE SET state = EXCLUDED.state";
    static const char del[] = "DELETE FROM job_states WHERE job_id = $1";

    if (!text[0])
        return run_stmt(tx_of(tx), del, NULL, "t", job_id);
    return run_stmt(tx_of(tx), put, NULL, "tt", job_id, text);
}

/* The ops of both schemes: all but .scheme and .open. */
#define PG_OPS                                   \
    .close = pg_close, .errmsg = pg_errmsg,      \
    .begin = pg_begin, .commit = pg_commit,      \
    .commit_lazy = pg_commit_lazy,               \
    .rollback = pg_rollback, .sync = pg_sync,    \
    .stats = pg_stats,                           \
    .tx_conflicted = pg_tx_conflicted,           \
    .watch = pg_watch,                           \
    .unwatch = pg_unwatch,                       \
    .project_get = pg_project_get,               \
    .project_put = pg_project_put,               \
    .project_list = pg_project_list,             \
    .job_get = pg_job_get,                       \
    .job_put = pg_job_put,                       \
    .job_list = pg_job_list,                     \
    .job_page = pg_job_page,                     \
    .job_page_by_id = pg_job_page_by_id,         \
    .job_set_cron = pg_job_set_cron,             \
    .job_set_triage = pg_job_set_triage,         \
    .job_realms = pg_job_realms,                 \
    .inv_get = pg_inv_get,                       \
    .inv_insert = pg_inv_insert,                 \
    .inv_update = pg_inv_update,                 \
    .inv_statuses = pg_inv_statuses,             \
    .inv_set_aborted_by = pg_inv_set_aborted_by, \
    .inv_list = pg_inv_list,                     \
    .inv_ids_project = pg_inv_ids_project,       \
    .trigger_add = pg_trigger_add,               \
    .trigger_list = pg_trigger_list,             \
    .trigger_count = pg_trigger_count,           \
    .trigger_pop = pg_trigger_pop,               \
    .tombstone_purge = pg_tombstone_purge,       \
    .task_enqueue = pg_task_enqueue,             \
    .task_lease = pg_task_lease,                 \
    .task_lease_id = pg_task_lease_id,           \
    .task_lease_batch = pg_task_lease_batch,     \
    .task_rearm = pg_task_rearm,                 \
    .task_done = pg_task_done,                   \
    .task_retry = pg_task_retry,                 \
    .task_next_due = pg_task_next_due,           \
    .task_count = pg_task_count,                 \
    .fate_insert = pg_fate_insert,               \
    .fate_decide = pg_fate_decide,               \
    .fate_list = pg_fate_list,                   \
    .fate_purge = pg_fate_purge,                 \
    .triage_log_put = pg_triage_log_put,         \
    .triage_log_get = pg_triage_log_get,         \
    .secret_get = pg_secret_get,                 \
    .secret_put = pg_secret_put,                 \
    .job_state_get = pg_job_state_get,           \
    .job_state_put = pg_job_state_put,           \
    .task_renew = pg_task_renew

const struct store_ops store_postgres_ops = {
    .scheme = "postgres",
    .open = pg_open_postgres,
    PG_OPS,
};

const struct store_ops store_postgresql_ops = {
    .scheme = "postgresql",
    .open = pg_open_postgresql,
    PG_OPS,
};
