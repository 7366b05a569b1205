/*
 * sqlite.c - the embedded SQLite back end of store.h.
 *
 * One connection per store, guarded by a mutex that a transaction holds
 * from store_begin() to commit/rollback: threads of one process take
 * turns, other processes wait on SQLite's busy timeout.  Transactions are
 * BEGIN IMMEDIATE (the write lock is taken up front, so a transaction never
 * fails half-way with SQLITE_BUSY on its first write), the journal is WAL
 * and synchronous=FULL, so a commit is durable when COMMIT returns.
 * Store transactions are savepoints ("steps") of a group transaction that
 * store_commit() and store_sync() COMMIT, and store_commit_lazy() leaves
 * open for the next steps: one WAL sync for many steps (group_flush).
 * A durable commit made while other threads wait to begin leaves the
 * COMMIT to the last of them and waits for it (group_durable, step_end).
 * WAL checkpoints run on a thread of their own (sqlite-checkpoint.h).
 *
 * Prepared statements are cached by the address of their SQL text (every
 * statement is a static string below).  Rows are read and bound through
 * the column tables of rows.h: sqlite-columns.h turns them into the
 * column lists of the statements, read_cols() reads any row by column
 * number in table order, bind_row() binds any row by parameter name.
 */
#include "store/sqlite.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "store/sqlite-checkpoint.h"
#include "store/sqlite-columns.h"
#include "store/sqlite-schema.h"

#define STMT_CACHE 96
#define BUSY_TIMEOUT_MS 10000

struct sqlite_store;

struct sqlite_tx {
    struct store *s; /* first: see store.c */
    struct sqlite_store *ss;
};

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    pthread_mutex_t lock;
    struct sqlite_tx tx; /* the one transaction, held with lock */
    bool group_open;     /* the group's BEGIN IMMEDIATE has run, its COMMIT not yet */
    size_t group_steps;  /* steps released into the open group */
    bool group_lost;     /* SQLite rolled the group back: its lazy steps are gone */
    /*
     * Sharing a commit between threads: a durable commit made while other
     * threads wait to begin leaves the COMMIT to the last of them and
     * waits on durable_cond until its group is durable (or lost).
     */
    atomic_int begin_waiters; /* threads blocked on lock in sqlite_begin */
    int sync_waiters;         /* threads waiting on durable_cond */
    int64_t sync_since;       /* monotonic ns when the first of them began waiting */
    uint64_t group_seq;       /* the open (or last) group */
    uint64_t durable_seq;     /* the last group that became durable */
    uint64_t lost_seq;        /* the last group that was lost */
    pthread_cond_t durable_cond;
    struct store_stats stats;
    int lock_fd;         /* flock()ed PATH.lock: one process per database; -1 = none */
    struct sqlite_checkpointer *ckpt; /* WAL checkpoints off the writers' path; NULL = SQLite's */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    size_t n_cache;
};

static _Thread_local char tl_errmsg[512];

static int db_err(struct sqlite_store *ss, int rc)
{
    snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: %s (%d)", sqlite3_errmsg(ss->db), rc);
    if (rc == SQLITE_NOMEM)
        return -ENOMEM;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return -EAGAIN;
    return -EIO;
}

static const char *sqlite_errmsg(struct store *s)
{
    (void)s;
    return tl_errmsg;
}

static struct sqlite_store *ss_of(struct store_tx *tx)
{
    return ((struct sqlite_tx *)tx)->ss;
}

/* A ready statement for sql (a static string), reset and unbound. */
static int prep(struct sqlite_store *ss, const char *sql, sqlite3_stmt **ret)
{
    sqlite3_stmt *st = NULL;
    int rc;

    for (size_t i = 0; i < ss->n_cache; i++) {
        if (ss->cache[i].sql == sql) {
            *ret = ss->cache[i].st;
            return 0;
        }
    }
    rc = sqlite3_prepare_v2(ss->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_err(ss, rc);
    if (ss->n_cache < STMT_CACHE) {
        ss->cache[ss->n_cache].sql = sql;
        ss->cache[ss->n_cache].st = st;
        ss->n_cache++;
    } else {
        /* Cannot happen with the fixed set of statements below. */
        sqlite3_finalize(st);
        snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: statement cache full");
        return -EIO;
    }
    *ret = st;
    return 0;
}

static void unprep(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static int bind_text(struct sqlite_store *ss, sqlite3_stmt *st, int i, const char *s)
{
    int rc = sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
    return rc == SQLITE_OK ? 0 : db_err(ss, rc);
}

static int bind_i64(struct sqlite_store *ss, sqlite3_stmt *st, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(st, i, v);
    return rc == SQLITE_OK ? 0 : db_err(ss, rc);
}

/* Binds a list of values: "t" text, "i" int64, in order from index 1. */
static int vbindv(struct sqlite_store *ss, sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int r = 0;

    for (int i = 0; fmt[i] && r == 0; i++) {
        if (fmt[i] == 't')
            r = bind_text(ss, st, i + 1, va_arg(ap, const char *));
        else
            r = bind_i64(ss, st, i + 1, va_arg(ap, int64_t));
    }
    return r;
}

/* Steps a statement that returns no row. */
static int step_done(struct sqlite_store *ss, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return db_err(ss, rc);
}

/*
 * Runs sql, a statement that returns no row, with the values of fmt (see
 * vbindv).  sqlite3_changes() and sqlite3_last_insert_rowid() still tell
 * about it afterwards.
 */
static int run_stmt(struct sqlite_store *ss, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = vbindv(ss, st, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = step_done(ss, st);
    unprep(st);
    return r;
}

static int coldup(sqlite3_stmt *st, int i, char **ret)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *p = malloc((size_t)n + 1);

    if (!p)
        return -ENOMEM;
    if (t && n > 0)
        memcpy(p, t, (size_t)n);
    p[n] = '\0';
    *ret = p;
    return 0;
}

static int exec_sql(struct sqlite_store *ss, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(ss->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: %s (%d)", msg ? msg : "error", rc);
        sqlite3_free(msg);
        return rc == SQLITE_NOMEM ? -ENOMEM : rc == SQLITE_BUSY ? -EAGAIN : -EIO;
    }
    return 0;
}

/* ---- open / migrate / close ---- */

static void sqlite_close(struct store *s)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;

    if (ss->group_open)
        exec_sql(ss, "COMMIT"); /* lazy steps left by the last thread */
    sqlite_checkpointer_stop(ss->ckpt);
    for (size_t i = 0; i < ss->n_cache; i++)
        sqlite3_finalize(ss->cache[i].st);
    sqlite3_close(ss->db);
    if (ss->lock_fd >= 0)
        close(ss->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&ss->lock);
    pthread_cond_destroy(&ss->durable_cond);
    free(ss);
}

static int read_version(struct sqlite_store *ss, int *ret)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(ss->db, "SELECT max(version) FROM schema_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_err(ss, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(st, 0); /* NULL (empty table) reads as 0 */
    else
        r = db_err(ss, rc);
    sqlite3_finalize(st);
    return r;
}

static int migrate(struct sqlite_store *ss, char *err, size_t errlen)
{
    int version = 0, known = store_sqlite_schema_version(), r;

    r = exec_sql(ss, "BEGIN IMMEDIATE;"
                     "CREATE TABLE IF NOT EXISTS schema_version ("
                     "  version INTEGER NOT NULL, applied TEXT NOT NULL DEFAULT '');");
    if (r < 0)
        goto fail;
    r = read_version(ss, &version);
    if (r < 0)
        goto fail;
    if (version > known) {
        if (err && errlen)
            snprintf(err, errlen,
                     "database schema version %d is newer than this tock knows (%d): "
                     "use a newer tock",
                     version, known);
        exec_sql(ss, "ROLLBACK");
        return -EPROTO;
    }
    for (size_t i = 0; i < sqlite_n_migrations; i++) {
        const struct sqlite_migration *m = &sqlite_migrations[i];
        char sql[256];

        if (m->version <= version)
            continue;
        r = exec_sql(ss, m->sql);
        if (r < 0)
            goto fail;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_version (version, applied) "
                 "VALUES (%d, strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now'))",
                 m->version);
        r = exec_sql(ss, sql);
        if (r < 0)
            goto fail;
    }
    r = exec_sql(ss, "COMMIT");
    if (r < 0)
        goto fail;
    return 0;
fail:
    if (err && errlen)
        snprintf(err, errlen, "cannot create or migrate the schema: %s", tl_errmsg);
    exec_sql(ss, "ROLLBACK");
    return r;
}

static int sqlite_open(const char *path, struct store **ret, char *err, size_t errlen)
{
    struct sqlite_store *ss = NULL;
    int rc, r;

    if (!path[0]) {
        if (err && errlen)
            snprintf(err, errlen, "sqlite: no database path (sqlite:PATH)");
        return -EINVAL;
    }
    ss = calloc(1, sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    ss->base.ops = &store_sqlite_ops;
    ss->tx.s = &ss->base;
    ss->tx.ss = ss;
    pthread_mutex_init(&ss->lock, NULL);
    pthread_cond_init(&ss->durable_cond, NULL);
    ss->lock_fd = -1;

    /*
     * One process per database file: a SQLite store serves one tock (share
     * PostgreSQL between replicas).  The lock lets us treat every task lease
     * found at open as left behind by a dead process, and free it at once
     * instead of waiting for it to expire.
     */
    if (strcmp(path, ":memory:") != 0) {
        char lock_path[4096];
        if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= (int)sizeof(lock_path)) {
            r = -ENAMETOOLONG;
            goto fail;
        }
        ss->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ss->lock_fd < 0 || flock(ss->lock_fd, LOCK_EX | LOCK_NB) < 0) {
            r = errno == EWOULDBLOCK ? -EBUSY : -EIO;
            if (err && errlen)
                snprintf(err, errlen,
                         r == -EBUSY ? "another tock process is using %s (a SQLite store "
                                       "serves one process; replicas share PostgreSQL)"
                                     : "cannot open %s: cannot create its .lock file",
                         path);
            goto fail;
        }
    }
    rc = sqlite3_open_v2(path, &ss->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open %s: %s", path,
                     ss->db ? sqlite3_errmsg(ss->db) : "out of memory");
        r = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        goto fail;
    }
    sqlite3_busy_timeout(ss->db, BUSY_TIMEOUT_MS);
    /*
     * temp_store=MEMORY keeps the statement journal of each step (the
     * SAVEPOINT's copies of the pages it changes, dropped when the step
     * ends) in memory: in a temporary file it was a pwrite() per page
     * changed, about half the cost of a cron tick (issue 10).
     */
    r = exec_sql(ss, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot set up %s: %s", path, tl_errmsg);
        goto fail;
    }
    r = migrate(ss, err, errlen);
    if (r < 0)
        goto fail;
    if (ss->lock_fd >= 0) {
        r = exec_sql(ss, "UPDATE tasks SET lease_owner = '', lease_expiry = 0 "
                         "WHERE lease_owner != ''");
        if (r < 0) {
            if (err && errlen)
                snprintf(err, errlen, "cannot free stale task leases in %s: %s", path,
                         tl_errmsg);
            goto fail;
        }
    }
    /* Without a thread of its own (out of memory, threads) SQLite checkpoints itself. */
    if (ss->lock_fd >= 0 && sqlite_checkpointer_start(ss->db, path, &ss->ckpt) < 0)
        ss->ckpt = NULL;
    *ret = &ss->base;
    return 0;
fail:
    sqlite_close(&ss->base);
    return r;
}

int store_sqlite_schema_version(void)
{
    return sqlite_migrations[sqlite_n_migrations - 1].version;
}

/* ---- transactions ---- */

/*
 * Group commit.  A store transaction is a step: SAVEPOINT step inside the
 * group's BEGIN IMMEDIATE ... COMMIT.  Releasing a step leaves the group
 * open; store_commit() and store_sync() COMMIT it (one WAL sync for every
 * step in it).  ROLLBACK TO undoes one step and keeps the others.  All of
 * it happens under ss->lock, so at most one step is open at a time.
 */

/* The statements of every step, prepared once (run_stmt's cache). */
static const char sql_savepoint[] = "SAVEPOINT step";
static const char sql_release[] = "RELEASE step";

/* Notices SQLite having rolled back the whole group after an error. */
static void group_check(struct sqlite_store *ss)
{
    if (ss->group_open && sqlite3_get_autocommit(ss->db)) {
        ss->group_open = false;
        ss->group_lost = ss->group_steps > 0;
        ss->group_steps = 0;
        ss->lost_seq = ss->group_seq;
        pthread_cond_broadcast(&ss->durable_cond);
    }
}

/* COMMITs the open group.  -EIO if it (or a group before it) was lost. */
static int group_flush(struct sqlite_store *ss)
{
    int r = 0;

    group_check(ss);
    if (ss->group_open) {
        r = exec_sql(ss, "COMMIT");
        if (r < 0) {
            exec_sql(ss, "ROLLBACK");
            ss->lost_seq = ss->group_seq;
        } else {
            ss->stats.commits++;
            ss->durable_seq = ss->group_seq;
        }
        ss->group_open = false;
        ss->group_steps = 0;
        pthread_cond_broadcast(&ss->durable_cond);
    }
    if (ss->group_lost) {
        ss->group_lost = false;
        snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: a group commit was rolled back");
        r = -EIO;
    }
    return r;
}

/*
 * At the end of every step: if threads wait for the group to be durable
 * and nobody else is in line to add a step, or the first of them has
 * waited LIMIT_STORE_GROUP_WAIT_US (a stream of lazy steps must not hold
 * an acknowledgement back), COMMIT it now.
 */
static void step_end(struct sqlite_store *ss)
{
    if (!ss->group_open || ss->sync_waiters == 0)
        return;
    if (atomic_load(&ss->begin_waiters) == 0 ||
        clock_mono_ns() - ss->sync_since >= (int64_t)LIMIT_STORE_GROUP_WAIT_US * 1000)
        group_flush(ss);
}

/*
 * Makes the open group durable: COMMITs it now, unless other threads wait
 * to begin, in which case the last of them will (step_end) and this
 * thread waits for it.  ss->lock held.  -EIO if the group was lost.
 */
static int group_durable(struct sqlite_store *ss)
{
    uint64_t mine = ss->group_seq;

    if (!ss->group_open || atomic_load(&ss->begin_waiters) == 0 ||
        ss->group_steps >= LIMIT_STORE_GROUP_STEPS)
        return group_flush(ss);
    if (ss->sync_waiters++ == 0)
        ss->sync_since = clock_mono_ns();
    while (ss->durable_seq < mine && ss->lost_seq < mine)
        pthread_cond_wait(&ss->durable_cond, &ss->lock);
    ss->sync_waiters--;
    if (ss->lost_seq >= mine && ss->durable_seq < mine) {
        ss->group_lost = false; /* reported here */
        snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: a group commit was rolled back");
        return -EIO;
    }
    return 0;
}

static int sqlite_begin(struct store *s, struct store_tx **ret)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;
    bool opened = false;
    int r = 0;

    atomic_fetch_add(&ss->begin_waiters, 1);
    pthread_mutex_lock(&ss->lock);
    atomic_fetch_sub(&ss->begin_waiters, 1);
    group_check(ss);
    if (!ss->group_open) {
        r = exec_sql(ss, "BEGIN IMMEDIATE");
        opened = r == 0;
        ss->group_open = opened;
        if (opened)
            ss->group_seq++;
    }
    if (r == 0)
        r = run_stmt(ss, sql_savepoint, "");
    if (r < 0) {
        if (opened) {
            exec_sql(ss, "ROLLBACK");
            ss->group_open = false;
        }
        step_end(ss);
        pthread_mutex_unlock(&ss->lock);
        return r;
    }
    *ret = (struct store_tx *)&ss->tx;
    return 0;
}

/* Releases the open step into the group; on failure the step is undone. */
static int step_release(struct sqlite_store *ss)
{
    int r;

    group_check(ss);
    if (!ss->group_open) {
        snprintf(tl_errmsg, sizeof(tl_errmsg), "sqlite: the transaction was rolled back");
        return -EIO;
    }
    r = run_stmt(ss, sql_release, "");
    if (r < 0) {
        exec_sql(ss, "ROLLBACK TO step; RELEASE step");
        group_check(ss);
        ss->stats.rollbacks++;
        return r;
    }
    ss->group_steps++;
    ss->stats.steps++;
    return 0;
}

static int sqlite_commit(struct store_tx *tx)
{
    struct sqlite_store *ss = ss_of(tx);
    int r = step_release(ss);

    if (r == 0)
        r = group_durable(ss);
    else
        step_end(ss);
    pthread_mutex_unlock(&ss->lock);
    return r;
}

static int sqlite_commit_lazy(struct store_tx *tx)
{
    struct sqlite_store *ss = ss_of(tx);
    int r = step_release(ss);

    if (r == 0 && ss->group_steps >= LIMIT_STORE_GROUP_STEPS)
        r = group_flush(ss);
    else
        step_end(ss);
    pthread_mutex_unlock(&ss->lock);
    return r;
}

static void sqlite_rollback(struct store_tx *tx)
{
    struct sqlite_store *ss = ss_of(tx);

    group_check(ss);
    if (ss->group_open) {
        exec_sql(ss, "ROLLBACK TO step; RELEASE step");
        group_check(ss);
    }
    if (ss->group_open && ss->group_steps == 0) {
        /* Nothing else in the group: end it rather than hold the write lock. */
        exec_sql(ss, "ROLLBACK");
        ss->group_open = false;
    }
    ss->stats.rollbacks++;
    step_end(ss);
    pthread_mutex_unlock(&ss->lock);
}

static int sqlite_sync(struct store *s)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;
    int r;

    atomic_fetch_add(&ss->begin_waiters, 1);
    pthread_mutex_lock(&ss->lock);
    atomic_fetch_sub(&ss->begin_waiters, 1);
    r = ss->group_open ? group_durable(ss) : group_flush(ss);
    pthread_mutex_unlock(&ss->lock);
    return r;
}

static void sqlite_stats(struct store *s, struct store_stats *ret)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;

    pthread_mutex_lock(&ss->lock);
    *ret = ss->stats;
    pthread_mutex_unlock(&ss->lock);
}

/* ---- rows: one reader and one binder for every row type ---- */

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

/* Reads the current row of st into row (zeroed); the caller releases it on error. */
static int read_cols(sqlite3_stmt *st, const struct row_kind *k, void *row)
{
    for (size_t i = 0; i < k->n; i++) {
        const struct col *c = &k->cols[i];
        void *p = (char *)row + c->off;
        int at = (int)i, r;

        switch (c->type) {
        case COL_TEXT:
            r = coldup(st, at, p);
            if (r < 0)
                return r;
            break;
        case COL_I64:
            *(int64_t *)p = sqlite3_column_int64(st, at);
            break;
        case COL_INT:
            *(int *)p = sqlite3_column_int(st, at);
            break;
        case COL_BOOL:
            *(bool *)p = sqlite3_column_int(st, at) != 0;
            break;
        }
    }
    return 0;
}

/* Reads the current row of st into *ret, which is written only on success. */
static int read_row(sqlite3_stmt *st, const struct row_kind *k, void *ret)
{
    union any_row tmp;
    int r;

    if (k->size > sizeof(tmp))
        return -EINVAL; /* a row kind missing from union any_row */
    memset(&tmp, 0, sizeof(tmp));
    r = read_cols(st, k, &tmp);
    if (r < 0) {
        store_row_release(k, &tmp);
        return r;
    }
    memcpy(ret, &tmp, k->size);
    return 0;
}

/*
 * The index of st's parameter called name, 0 if it has none.  Statements
 * name their parameters in column order, so the one after the previous
 * column's (guess) is checked first: a lookup by name scans them all.
 */
static int param_index(sqlite3_stmt *st, int guess, const char *name)
{
    const char *at = sqlite3_bind_parameter_name(st, guess);

    if (at && strcmp(at, name) == 0)
        return guess;
    return sqlite3_bind_parameter_index(st, name);
}

/*
 * Binds the fields of row to the named parameters ":column" of st; the
 * columns the statement does not name are skipped.
 */
static int bind_row(struct sqlite_store *ss, sqlite3_stmt *st, const struct row_kind *k,
                    const void *row)
{
    int next = 1;

    for (size_t i = 0; i < k->n; i++) {
        const struct col *c = &k->cols[i];
        const void *p = (const char *)row + c->off;
        int at = param_index(st, next, c->param), r = 0;

        if (at == 0)
            continue;
        next = at + 1;
        switch (c->type) {
        case COL_TEXT: {
            const char *s = *(char *const *)p;
            r = bind_text(ss, st, at, s ? s : c->null_text);
            break;
        }
        case COL_I64:
            r = bind_i64(ss, st, at, *(const int64_t *)p);
            break;
        case COL_INT:
            r = bind_i64(ss, st, at, *(const int *)p);
            break;
        case COL_BOOL:
            r = bind_i64(ss, st, at, *(const bool *)p);
            break;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* Runs sql, a statement that returns no row, with the fields of row bound. */
static int run_row(struct sqlite_store *ss, const char *sql, const struct row_kind *k,
                   const void *row)
{
    sqlite3_stmt *st = NULL;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    r = bind_row(ss, st, k, row);
    if (r == 0)
        r = step_done(ss, st);
    unprep(st);
    return r;
}

/*
 * Steps st to its one row, -ENOENT if there is none.  With a row kind,
 * reads the row into ret; without (NULL), leaves it in st for the caller.
 */
static int get_row(struct sqlite_store *ss, sqlite3_stmt *st, const struct row_kind *k,
                   void *ret)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return db_err(ss, rc);
    return k ? read_row(st, k, ret) : 0;
}

/*
 * Runs the query sql with the values of fmt (see vbindv) and reads its one
 * row, of kind k, into ret: -ENOENT if there is none.  With k NULL, only
 * tells whether there is a row.
 */
static int get_one(struct sqlite_store *ss, const char *sql, const struct row_kind *k,
                   void *ret, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = vbindv(ss, st, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = get_row(ss, st, k, ret);
    unprep(st);
    return r;
}

static int grow(void **v, size_t *alloc, size_t n, size_t size)
{
    size_t na;
    void *p;

    if (n < *alloc)
        return 0;
    if (n >= LIMIT_STORE_ROWS)
        return -E2BIG;
    na = *alloc ? *alloc * 2 : 16;
    p = realloc(*v, na * size);
    if (!p)
        return -ENOMEM;
    memset((char *)p + *alloc * size, 0, (na - *alloc) * size);
    *v = p;
    *alloc = na;
    return 0;
}

/*
 * Reads every row of st into a malloc'ed array of rows of kind k, handed
 * over in *ret and *n; more than LIMIT_STORE_ROWS rows is -E2BIG.
 */
static int collect_rows(struct sqlite_store *ss, sqlite3_stmt *st, const struct row_kind *k,
                        void **ret, size_t *n)
{
    void *v = NULL;
    size_t nv = 0, alloc = 0;
    int r = 0, rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nv >= LIMIT_STORE_ROWS) {
            r = -E2BIG;
            break;
        }
        r = grow(&v, &alloc, nv, k->size);
        if (r < 0)
            break;
        r = read_cols(st, k, (char *)v + nv * k->size);
        nv++; /* a row read in part is released with the others */
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_err(ss, rc);
    if (r < 0) {
        store_rows_free(k, v, nv);
        return r;
    }
    *ret = v;
    *n = nv;
    return 0;
}

/* Runs the query sql with the values of fmt (see vbindv) and collects its rows. */
static int list_rows(struct sqlite_store *ss, const char *sql, const struct row_kind *k,
                     void **ret, size_t *n, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = vbindv(ss, st, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = collect_rows(ss, st, k, ret, n);
    unprep(st);
    return r;
}

/* ---- projects ---- */

static int sqlite_project_get(struct store_tx *tx, const char *id, struct store_project *ret)
{
    static const char sql[] = "SELECT " COLUMNS(PROJECT_COLUMNS) " FROM projects WHERE id = ?";

    return get_one(ss_of(tx), sql, &store_project_kind, ret, "t", id);
}

static int sqlite_project_put(struct store_tx *tx, const struct store_project *p)
{
    static const char sql[] = "INSERT OR REPLACE INTO projects (" COLUMNS(PROJECT_COLUMNS)
                              ") VALUES (" PARAMS(PROJECT_COLUMNS) ")";

    return run_row(ss_of(tx), sql, &store_project_kind, p);
}

static int sqlite_project_list(struct store_tx *tx, char ***ret, size_t *n)
{
    static const char sql[] = "SELECT id FROM projects WHERE enabled = 1 ORDER BY id";

    return list_rows(ss_of(tx), sql, &store_id_kind, (void **)ret, n, "");
}

/* ---- jobs ---- */

static int sqlite_job_get(struct store_tx *tx, const char *id, struct store_job *ret)
{
    static const char sql[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs WHERE id = ?";

    return get_one(ss_of(tx), sql, &store_job_kind, ret, "t", id);
}

static int sqlite_job_put(struct store_tx *tx, const struct store_job *j)
{
    static const char sql[] = "INSERT OR REPLACE INTO jobs (" COLUMNS(JOB_COLUMNS)
                              ") VALUES (" PARAMS(JOB_COLUMNS) ")";

    return run_row(ss_of(tx), sql, &store_job_kind, j);
}

static int sqlite_job_set_cron(struct store_tx *tx, const char *id, const char *cron_json)
{
    static const char sql[] = "UPDATE jobs SET cron_json = ?1 WHERE id = ?2";
    struct sqlite_store *ss = ss_of(tx);
    int r = run_stmt(ss, sql, "tt", cron_json, id);

    if (r == 0 && sqlite3_changes(ss->db) != 1)
        r = -ENOENT;
    return r;
}

static int sqlite_job_set_triage(struct store_tx *tx, const struct store_job *j)
{
    static const char sql[] = "UPDATE jobs SET cron_json = ?1, active_json = ?2, "
                              "finished_json = ?3, last_triage = ?4 WHERE id = ?5";
    struct sqlite_store *ss = ss_of(tx);
    int r = run_stmt(ss, sql, "tttit", j->cron_json ? j->cron_json : "",
                     j->active_json ? j->active_json : "[]",
                     j->finished_json ? j->finished_json : "[]", j->last_triage, j->id);

    if (r == 0 && sqlite3_changes(ss->db) != 1)
        r = -ENOENT;
    return r;
}

static int sqlite_job_list(struct store_tx *tx, const char *project, bool enabled_only,
                           struct store_job **ret, size_t *n)
{
    static const char sql_all[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "WHERE (?1 = 0 OR enabled != 0) ORDER BY id";
    static const char sql_project[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                      "WHERE project = ?2 AND (?1 = 0 OR enabled != 0) "
                                      "ORDER BY id";

    return list_rows(ss_of(tx), project ? sql_project : sql_all, &store_job_kind, (void **)ret,
                     n, project ? "it" : "i", (int64_t)enabled_only, project);
}

/*
 * A page of a project's enabled jobs by name.  Both statements walk an
 * index from (project, 1[, realm], after_name) and stop after limit rows.
 */
static int sqlite_job_page(struct store_tx *tx, const char *project, const char *realm_id,
                           const char *after_name, size_t limit, struct store_job **ret,
                           size_t *n)
{
    static const char sql_any[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "INDEXED BY jobs_by_project_name "
                                  "WHERE project = ?1 AND enabled = 1 AND name > ?2 "
                                  "ORDER BY name LIMIT ?3";
    static const char sql_realm[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                    "INDEXED BY jobs_by_realm "
                                    "WHERE project = ?1 AND enabled = 1 AND realm_id = ?4 "
                                    "AND name > ?2 ORDER BY name LIMIT ?3";

    if (realm_id)
        return list_rows(ss_of(tx), sql_realm, &store_job_kind, (void **)ret, n, "ttit",
                         project, after_name, (int64_t)limit, realm_id);
    return list_rows(ss_of(tx), sql_any, &store_job_kind, (void **)ret, n, "tti", project,
                     after_name, (int64_t)limit);
}

/*
 * A chunk of the enabled jobs by id: a range of the primary key index
 * from after_id on (and below "<project>0", ids being "<project>/<name>",
 * when a project is given), disabled rows skipped.  The unary + keeps
 * SQLite from picking the (project, enabled, ...) indexes, which would
 * read the whole project and sort it.
 */
static int sqlite_job_page_by_id(struct store_tx *tx, const char *project, const char *after_id,
                                 size_t limit, struct store_job **ret, size_t *n)
{
    static const char sql_all[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                  "WHERE id > ?1 AND +enabled = 1 ORDER BY id LIMIT ?2";
    static const char sql_project[] = "SELECT " COLUMNS(JOB_COLUMNS) " FROM jobs "
                                      "WHERE id > max(?1, ?3 || '/') AND id < ?3 || '0' "
                                      "AND +project = ?3 AND +enabled = 1 ORDER BY id LIMIT ?2";

    if (project)
        return list_rows(ss_of(tx), sql_project, &store_job_kind, (void **)ret, n, "tit",
                         after_id, (int64_t)limit, project);
    return list_rows(ss_of(tx), sql_all, &store_job_kind, (void **)ret, n, "ti", after_id,
                     (int64_t)limit);
}

/* The realm after (or, first, from) after: one index seek each (a loose index scan). */
static int next_realm(struct sqlite_store *ss, const char *project, const char *after,
                      bool first, char **ret)
{
    static const char sql_first[] = "SELECT realm_id FROM jobs INDEXED BY jobs_by_realm "
                                    "WHERE project = ?1 AND enabled = 1 "
                                    "ORDER BY realm_id LIMIT 1";
    static const char sql_next[] = "SELECT realm_id FROM jobs INDEXED BY jobs_by_realm "
                                   "WHERE project = ?1 AND enabled = 1 AND realm_id > ?2 "
                                   "ORDER BY realm_id LIMIT 1";

    if (first)
        return get_one(ss, sql_first, &store_id_kind, ret, "t", project);
    return get_one(ss, sql_next, &store_id_kind, ret, "tt", project, after);
}

static int sqlite_job_realms(struct store_tx *tx, const char *project, size_t limit,
                             char ***ret, size_t *n)
{
    struct sqlite_store *ss = ss_of(tx);
    char **v = NULL;
    size_t nv = 0, alloc = 0;
    int r = 0;

    for (;;) {
        char *realm = NULL;
        r = next_realm(ss, project, nv ? v[nv - 1] : "", nv == 0, &realm);
        if (r == -ENOENT) {
            r = 0;
            break;
        }
        if (r < 0)
            break;
        if (nv >= limit || (r = grow((void **)&v, &alloc, nv, sizeof(*v))) < 0) {
            free(realm);
            r = r < 0 ? r : -E2BIG;
            break;
        }
        v[nv++] = realm;
    }
    if (r < 0) {
        store_rows_free(&store_id_kind, v, nv);
        return r;
    }
    *ret = v;
    *n = nv;
    return 0;
}

/* ---- invocations ---- */

static int sqlite_inv_get(struct store_tx *tx, int64_t id, struct store_inv *ret)
{
    static const char sql[] = "SELECT " COLUMNS(INV_COLUMNS) " FROM invocations WHERE id = ?";

    return get_one(ss_of(tx), sql, &store_inv_kind, ret, "i", id);
}

static int sqlite_inv_insert(struct store_tx *tx, const struct store_inv *v)
{
    static const char sql[] = "INSERT INTO invocations (" COLUMNS(INV_COLUMNS) ") VALUES ("
                              PARAMS(INV_COLUMNS) ")";
    struct sqlite_store *ss = ss_of(tx);
    sqlite3_stmt *st = NULL;
    int r, rc;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    r = bind_row(ss, st, &store_inv_kind, v);
    if (r < 0)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT)
        r = -EEXIST;
    else if (rc != SQLITE_DONE)
        r = db_err(ss, rc);
out:
    unprep(st);
    return r;
}

static int sqlite_inv_update(struct store_tx *tx, const struct store_inv *v,
                             int64_t expected_mutations)
{
    /* aborted_by is FIXED (sqlite-columns.h): not written here, see store.h. */
    static const char sql[] = "UPDATE invocations SET mutations = :mutations"
                              SET_LIST(INV_COLUMNS) " WHERE id = :id AND mutations = :expected";
    static const char sql_exists[] = "SELECT 1 FROM invocations WHERE id = ?";
    struct sqlite_store *ss = ss_of(tx);
    sqlite3_stmt *st = NULL;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    r = bind_row(ss, st, &store_inv_kind, v);
    if (r == 0)
        r = bind_i64(ss, st, sqlite3_bind_parameter_index(st, ":expected"), expected_mutations);
    if (r == 0)
        r = step_done(ss, st);
    unprep(st);
    if (r < 0 || sqlite3_changes(ss->db) == 1)
        return r;

    r = get_one(ss, sql_exists, NULL, NULL, "i", v->id);
    return r == 0 ? -ESTALE : r; /* the row is there, at another mutation count */
}

static int sqlite_inv_set_aborted_by(struct store_tx *tx, int64_t id, const char *who)
{
    static const char sql[] = "UPDATE invocations SET aborted_by = ? WHERE id = ?";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = run_stmt(ss, sql, "ti", who, id);
    if (r == 0 && sqlite3_changes(ss->db) != 1)
        r = -ENOENT;
    return r;
}

static int sqlite_inv_list(struct store_tx *tx, const char *job_id, int64_t after_id,
                           size_t limit, struct store_inv **ret, size_t *n)
{
    static const char sql[] = "SELECT " LISTED_COLUMNS(INV_COLUMNS) " FROM invocations "
                              "WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?";

    return list_rows(ss_of(tx), sql, &store_inv_kind, (void **)ret, n, "tii", job_id, after_id,
                     (int64_t)limit);
}

/* Job ids of project are "<project>/<name>": the range ["<project>/", "<project>0"). */
static int sqlite_inv_ids_project(struct store_tx *tx, const char *project, int64_t max_id,
                                  size_t limit,
                                  void (*fn)(void *ctx, const char *job_id, int64_t id),
                                  void *ctx)
{
    /*
     * Job by job (CROSS JOIN keeps that order): each job is one range of
     * invocations_by_job, (job_id = j.id, id <= ?), so only the rows asked
     * for are read.  A range over job_id alone could not use id and would
     * read every invocation the project ever had (13 ms for 100,000, issue 9).
     * Job rows are never deleted, so this covers disabled jobs too.
     */
    static const char sql[] = "SELECT i.job_id, i.id FROM jobs AS j CROSS JOIN invocations AS i "
                              "ON i.job_id = j.id AND i.id <= ? WHERE j.project = ? LIMIT ?";
    struct sqlite_store *ss = ss_of(tx);
    sqlite3_stmt *st = NULL;
    int r, rc;

    r = prep(ss, sql, &st);
    if (r == 0 && (r = bind_i64(ss, st, 1, max_id)) == 0 &&
        (r = bind_text(ss, st, 2, project)) == 0)
        r = bind_i64(ss, st, 3, (int64_t)limit);
    while (r == 0 && (rc = sqlite3_step(st)) != SQLITE_DONE) {
        if (rc != SQLITE_ROW)
            r = db_err(ss, rc);
        else
            fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    }
    unprep(st);
    return r;
}

static int sqlite_inv_statuses(struct store_tx *tx, const int64_t *ids, size_t n,
                               void (*fn)(void *ctx, int64_t id, const char *status), void *ctx)
{
    static const char sql[] = "SELECT id, status FROM invocations "
                              "WHERE id IN (SELECT value FROM json_each(?))";
    struct sqlite_store *ss = ss_of(tx);
    char *list = store_ids_text(ids, n, '[', ']');
    sqlite3_stmt *st = NULL;
    int r = list ? prep(ss, sql, &st) : -ENOMEM, rc;

    if (r == 0)
        r = bind_text(ss, st, 1, list);
    while (r == 0 && (rc = sqlite3_step(st)) != SQLITE_DONE) {
        if (rc != SQLITE_ROW)
            r = db_err(ss, rc);
        else
            fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
    }
    unprep(st);
    free(list);
    return r;
}

/* ---- pending triggers ---- */

static int sqlite_trigger_add(struct store_tx *tx, const struct store_trigger *t, int64_t now,
                              int64_t dedup_window)
{
    static const char sql_seen[] =
        "SELECT 1 FROM trigger_tombstones WHERE job_id = ? AND trigger_id = ? "
        "AND popped_at > ?";
    static const char sql_add[] = "INSERT OR IGNORE INTO pending_triggers ("
                                  COLUMNS(TRIGGER_COLUMNS) ") VALUES ("
                                  PARAMS(TRIGGER_COLUMNS) ")";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = get_one(ss, sql_seen, NULL, NULL, "tti", t->job_id, t->trigger_id, now - dedup_window);
    if (r == 0)
        return 1; /* popped less than dedup_window ago */
    if (r != -ENOENT)
        return r;

    r = run_row(ss, sql_add, &store_trigger_kind, t);
    if (r == 0 && sqlite3_changes(ss->db) == 0)
        r = 1; /* already pending */
    return r;
}

static int sqlite_trigger_list(struct store_tx *tx, const char *job_id, size_t limit,
                               struct store_trigger **ret, size_t *n)
{
    static const char sql[] = "SELECT " COLUMNS(TRIGGER_COLUMNS) " FROM pending_triggers "
                              "WHERE job_id = ? ORDER BY created, ord, trigger_id LIMIT ?";

    return list_rows(ss_of(tx), sql, &store_trigger_kind, (void **)ret, n, "ti", job_id,
                     (int64_t)limit);
}

static int count_query(struct sqlite_store *ss, const char *sql, const char *arg, size_t *ret)
{
    sqlite3_stmt *st = NULL;
    int r, rc;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    if (arg)
        r = bind_text(ss, st, 1, arg);
    if (r == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *ret = (size_t)sqlite3_column_int64(st, 0);
        else
            r = db_err(ss, rc);
    }
    unprep(st);
    return r;
}

static int sqlite_trigger_count(struct store_tx *tx, const char *job_id, size_t *ret)
{
    static const char sql[] = "SELECT count(*) FROM pending_triggers WHERE job_id = ?";
    return count_query(ss_of(tx), sql, job_id, ret);
}

static int sqlite_trigger_pop(struct store_tx *tx, const char *job_id, const char *trigger_id,
                              int64_t now)
{
    static const char sql_del[] =
        "DELETE FROM pending_triggers WHERE job_id = ? AND trigger_id = ?";
    static const char sql_tomb[] = "INSERT OR REPLACE INTO trigger_tombstones "
                                   "(job_id, trigger_id, popped_at) VALUES (?, ?, ?)";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = run_stmt(ss, sql_del, "tt", job_id, trigger_id);
    if (r == 0 && sqlite3_changes(ss->db) != 1)
        r = -ENOENT;
    if (r < 0)
        return r;
    return run_stmt(ss, sql_tomb, "tti", job_id, trigger_id, now);
}

static int delete_older(struct sqlite_store *ss, const char *sql, int64_t older_than,
                        size_t *ret_n)
{
    int r = run_stmt(ss, sql, "i", older_than);

    if (r == 0 && ret_n)
        *ret_n = (size_t)sqlite3_changes(ss->db);
    return r;
}

static int sqlite_tombstone_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM trigger_tombstones WHERE popped_at < ?";
    return delete_older(ss_of(tx), sql, older_than, ret_n);
}

/* ---- task queue ---- */

static int sqlite_task_enqueue(struct store_tx *tx, const struct store_task *t, int64_t *ret_id)
{
    static const char sql[] = "INSERT OR IGNORE INTO tasks (" COLUMNS(TASK_COLUMNS)
                              ") VALUES (" PARAMS(TASK_COLUMNS) ")";
    struct sqlite_store *ss = ss_of(tx);
    struct store_task row = *t;
    int r;

    /* A new row is free and has no attempt yet, whatever t says. */
    row.lease_owner = NULL;
    row.lease_expiry = 0;
    row.attempts = 0;
    r = run_row(ss, sql, &store_task_kind, &row);
    if (r == 0) {
        if (sqlite3_changes(ss->db) == 0)
            r = 1;
        else if (ret_id)
            *ret_id = sqlite3_last_insert_rowid(ss->db);
    }
    return r;
}

/* Takes the lease of row t for owner and updates t to match. */
static int take_lease(struct sqlite_store *ss, struct store_task *t, int64_t now,
                      const char *owner, int64_t lease_ns)
{
    static const char sql_take[] = "UPDATE tasks SET lease_owner = ?, lease_expiry = ?, "
                                   "attempts = attempts + 1 WHERE id = ?";
    char *o;
    int r;

    o = strdup(owner);
    if (!o)
        return -ENOMEM;
    r = run_stmt(ss, sql_take, "tii", owner, now + lease_ns, t->id);
    if (r < 0) {
        free(o);
        return r;
    }
    free(t->lease_owner);
    t->lease_owner = o;
    t->lease_expiry = now + lease_ns;
    t->attempts++;
    return 0;
}

static int sqlite_task_lease(struct store_tx *tx, int64_t now, const char *owner,
                             int64_t lease_ns, struct store_task *ret)
{
    static const char sql_free[] = "SELECT " COLUMNS(TASK_COLUMNS) " FROM tasks "
                                   "WHERE lease_owner = '' AND due <= ?1 "
                                   "ORDER BY due, id LIMIT 1";
    static const char sql_expired[] = "SELECT " COLUMNS(TASK_COLUMNS) " FROM tasks "
                                      "WHERE lease_owner != '' AND lease_expiry <= ?1 "
                                      "AND due <= ?1 ORDER BY due, id LIMIT 1";
    struct sqlite_store *ss = ss_of(tx);
    struct store_task a = {0}, b = {0}, *pick;
    int r, ra, rb;

    ra = get_one(ss, sql_free, &store_task_kind, &a, "i", now);
    if (ra < 0 && ra != -ENOENT)
        return ra;
    rb = get_one(ss, sql_expired, &store_task_kind, &b, "i", now);
    if (rb < 0 && rb != -ENOENT) {
        r = rb;
        goto out;
    }
    if (ra == -ENOENT && rb == -ENOENT) {
        r = -ENOENT;
        goto out;
    }
    if (ra == -ENOENT)
        pick = &b;
    else if (rb == -ENOENT)
        pick = &a;
    else
        pick = (b.due < a.due || (b.due == a.due && b.id < a.id)) ? &b : &a;

    r = take_lease(ss, pick, now, owner, lease_ns);
    if (r < 0)
        goto out;
    *ret = *pick;
    memset(pick, 0, sizeof(*pick));
out:
    store_task_release(&a);
    store_task_release(&b);
    return r;
}

/* Moves the rows of a (na) and b (nb), each sorted by (due, id), into out by (due, id), at most max. */
static size_t merge_due(struct store_task *a, size_t na, struct store_task *b, size_t nb,
                        struct store_task *out, size_t max)
{
    size_t i = 0, j = 0, n = 0;

    while (n < max && (i < na || j < nb)) {
        bool take_b = i == na || (j < nb && (b[j].due < a[i].due ||
                                             (b[j].due == a[i].due && b[j].id < a[i].id)));
        struct store_task *src = take_b ? &b[j++] : &a[i++];

        out[n++] = *src;
        memset(src, 0, sizeof(*src));
    }
    return n;
}

static int sqlite_task_lease_batch(struct store_tx *tx, int64_t now, const char *owner,
                                   int64_t lease_ns, const char *const *kinds, size_t n_kinds,
                                   size_t max, struct store_task **ret, size_t *n)
{
    static const char sql_free[] = "SELECT " COLUMNS(TASK_COLUMNS) " FROM tasks "
                                   "WHERE lease_owner = '' AND due <= ?1 "
                                   "AND kind IN (?3, ?4, ?5, ?6) ORDER BY due, id LIMIT ?2";
    static const char sql_expired[] = "SELECT " COLUMNS(TASK_COLUMNS) " FROM tasks "
                                      "WHERE lease_owner != '' AND lease_expiry <= ?1 "
                                      "AND due <= ?1 AND kind IN (?3, ?4, ?5, ?6) "
                                      "ORDER BY due, id LIMIT ?2";
    struct sqlite_store *ss = ss_of(tx);
    struct store_task *a = NULL, *b = NULL, *v = NULL;
    size_t na = 0, nb = 0, nv = 0;
    const char *k[STORE_LEASE_KINDS_MAX];
    int r;

    for (size_t i = 0; i < STORE_LEASE_KINDS_MAX; i++)
        k[i] = kinds[i < n_kinds ? i : 0];
    r = list_rows(ss, sql_free, &store_task_kind, (void **)&a, &na, "iitttt", now, (int64_t)max,
                  k[0], k[1], k[2], k[3]);
    if (r == 0)
        r = list_rows(ss, sql_expired, &store_task_kind, (void **)&b, &nb, "iitttt", now,
                      (int64_t)max, k[0], k[1], k[2], k[3]);
    if (r == 0 && na + nb > 0 && !(v = calloc(na + nb, sizeof(*v))))
        r = -ENOMEM;
    if (r < 0)
        goto out;
    nv = merge_due(a, na, b, nb, v, max);
    for (size_t i = 0; i < nv && r == 0; i++)
        r = take_lease(ss, &v[i], now, owner, lease_ns);
    if (r < 0)
        goto out;
    *ret = v;
    *n = nv;
    v = NULL;
    nv = 0;
out:
    store_rows_free(&store_task_kind, a, na);
    store_rows_free(&store_task_kind, b, nb);
    store_rows_free(&store_task_kind, v, nv);
    return r;
}

static int sqlite_task_lease_id(struct store_tx *tx, int64_t id, int64_t now, const char *owner,
                                int64_t lease_ns, struct store_task *ret)
{
    static const char sql[] = "SELECT " COLUMNS(TASK_COLUMNS) " FROM tasks WHERE id = ?1";
    struct sqlite_store *ss = ss_of(tx);
    struct store_task t = {0};
    int r;

    r = get_one(ss, sql, &store_task_kind, &t, "i", id);
    if (r < 0)
        return r;
    if (t.due > now || (t.lease_owner[0] && t.lease_expiry > now))
        r = -ESTALE;
    else
        r = take_lease(ss, &t, now, owner, lease_ns);
    if (r < 0) {
        store_task_release(&t);
        return r;
    }
    *ret = t;
    return 0;
}

/* -ESTALE if the row exists but owner does not hold it, -ENOENT if gone. */
static int owner_check(struct sqlite_store *ss, int64_t id, const char *owner)
{
    static const char sql[] = "SELECT lease_owner FROM tasks WHERE id = ?";
    sqlite3_stmt *st = NULL;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    r = bind_i64(ss, st, 1, id);
    if (r == 0)
        r = get_row(ss, st, NULL, NULL);
    if (r == 0) {
        const char *o = (const char *)sqlite3_column_text(st, 0);
        r = o && strcmp(o, owner) == 0 ? 0 : -ESTALE;
    }
    unprep(st);
    return r;
}

static int sqlite_task_done(struct store_tx *tx, int64_t id, const char *owner)
{
    static const char sql[] = "DELETE FROM tasks WHERE id = ?1 AND lease_owner = ?2";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    /* One statement when owner holds it; otherwise say why nothing was deleted. */
    r = run_stmt(ss, sql, "it", id, owner);
    if (r == 0 && sqlite3_changes(ss->db) != 1) {
        r = owner_check(ss, id, owner);
        if (r == 0)
            r = -ESTALE;
    }
    return r;
}

static int sqlite_task_rearm(struct store_tx *tx, int64_t id, const char *owner, int64_t due,
                             const char *payload_json, int64_t now)
{
    static const char sql[] = "UPDATE tasks SET payload_json = ?1, due = ?2, lease_owner = '', "
                              "lease_expiry = 0, attempts = 0, created = ?3 "
                              "WHERE id = ?4 AND lease_owner = ?5";
    struct sqlite_store *ss = ss_of(tx);
    int r = run_stmt(ss, sql, "tiiit", payload_json, due, now, id, owner);

    if (r == 0 && sqlite3_changes(ss->db) != 1) {
        r = owner_check(ss, id, owner);
        if (r == 0)
            r = -ESTALE;
    }
    return r;
}

static int sqlite_task_retry(struct store_tx *tx, int64_t id, const char *owner, int64_t due)
{
    static const char sql[] =
        "UPDATE tasks SET lease_owner = '', lease_expiry = 0, due = ? WHERE id = ?";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = owner_check(ss, id, owner);
    if (r < 0)
        return r;
    return run_stmt(ss, sql, "ii", due, id);
}

/*
 * One prepared UPDATE per lease, all in the caller's transaction: the
 * database is in process, so n statements cost no round trips.
 */
static int sqlite_task_renew(struct store_tx *tx, const int64_t *ids, const char *const *owners,
                             size_t n, int64_t now, int64_t lease_ns, bool *renewed)
{
    static const char sql[] = "UPDATE tasks SET lease_expiry = max(lease_expiry, ?1) "
                              "WHERE id = ?2 AND lease_owner = ?3";
    struct sqlite_store *ss = ss_of(tx);
    bool *got = calloc(n, sizeof(*got));
    int r = got ? 0 : -ENOMEM;

    for (size_t i = 0; i < n && r == 0; i++) {
        r = run_stmt(ss, sql, "iit", now + lease_ns, ids[i], owners[i]);
        got[i] = r == 0 && sqlite3_changes(ss->db) == 1;
    }
    if (r == 0)
        memcpy(renewed, got, n * sizeof(*got));
    free(got);
    return r;
}

static int min_query(struct sqlite_store *ss, const char *sql, int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    int r, rc;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MAX
                                                         : sqlite3_column_int64(st, 0);
    else
        r = db_err(ss, rc);
    unprep(st);
    return r;
}

static int sqlite_task_next_due(struct store_tx *tx, int64_t *ret)
{
    static const char sql_free[] = "SELECT min(due) FROM tasks WHERE lease_owner = ''";
    static const char sql_leased[] =
        "SELECT min(max(due, lease_expiry)) FROM tasks WHERE lease_owner != ''";
    struct sqlite_store *ss = ss_of(tx);
    int64_t a = INT64_MAX, b = INT64_MAX;
    int r;

    r = min_query(ss, sql_free, &a);
    if (r == 0)
        r = min_query(ss, sql_leased, &b);
    if (r == 0)
        *ret = a < b ? a : b;
    return r;
}

static int sqlite_task_count(struct store_tx *tx, const char *kind, size_t *ret)
{
    static const char sql_all[] = "SELECT count(*) FROM tasks";
    static const char sql_kind[] = "SELECT count(*) FROM tasks WHERE kind = ?";
    return count_query(ss_of(tx), kind ? sql_kind : sql_all, kind, ret);
}

/* ---- trigger fates ---- */

static int sqlite_fate_insert(struct store_tx *tx, const struct store_fate *f, int64_t *ret_id)
{
    static const char sql[] = "INSERT INTO trigger_fates (" COLUMNS(FATE_COLUMNS)
                              ") VALUES (" PARAMS(FATE_COLUMNS) ")";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = run_row(ss, sql, &store_fate_kind, f);
    if (r == 0 && ret_id)
        *ret_id = sqlite3_last_insert_rowid(ss->db);
    return r;
}

static int sqlite_fate_decide(struct store_tx *tx, const char *job_id, const char *trigger_id,
                              const char *fate, int64_t inv_id, const char *reason, int64_t now)
{
    static const char sql[] =
        "UPDATE trigger_fates SET fate = ?, inv_id = ?, reason = ?, decided_at = ? "
        "WHERE id = (SELECT max(id) FROM trigger_fates WHERE job_id = ? AND trigger_id = ? "
        "AND fate = 'PENDING')";
    struct sqlite_store *ss = ss_of(tx);
    int r;

    r = run_stmt(ss, sql, "tititt", fate, inv_id, reason, now, job_id, trigger_id);
    if (r == 0 && sqlite3_changes(ss->db) != 1)
        r = -ENOENT;
    return r;
}

static int sqlite_fate_list(struct store_tx *tx, const char *job_id, const char *trigger_id,
                            size_t limit, struct store_fate **ret, size_t *n)
{
    static const char sql_job[] = "SELECT " COLUMNS(FATE_COLUMNS) " FROM trigger_fates "
                                  "WHERE job_id = ?1 ORDER BY id DESC LIMIT ?2";
    static const char sql_trigger[] = "SELECT " COLUMNS(FATE_COLUMNS) " FROM trigger_fates "
                                      "WHERE job_id = ?1 AND trigger_id = ?3 "
                                      "ORDER BY id DESC LIMIT ?2";

    return list_rows(ss_of(tx), trigger_id ? sql_trigger : sql_job, &store_fate_kind,
                     (void **)ret, n, trigger_id ? "tit" : "ti", job_id, (int64_t)limit,
                     trigger_id);
}

static int sqlite_fate_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM trigger_fates WHERE "
                              "(decided_at != 0 AND decided_at < ?1) OR "
                              "(decided_at = 0 AND arrived_at < ?1)";
    return delete_older(ss_of(tx), sql, older_than, ret_n);
}

/* ---- triage logs ---- */

static int sqlite_triage_log_put(struct store_tx *tx, const char *job_id, int64_t when,
                                 const char *log)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO triage_logs (job_id, when_ns, log) VALUES (?, ?, ?)";

    return run_stmt(ss_of(tx), sql, "tit", job_id, when, log);
}

/*
 * Reads one row of sql (one '?' bound to key): column text_col as a
 * malloc'ed text into *ret_text and, when ret_int0 is not NULL, column 0
 * as an integer.  -ENOENT when there is no row.
 */
static int get_by_key(struct sqlite_store *ss, const char *sql, const char *key, int text_col,
                      char **ret_text, int64_t *ret_int0)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int r;

    r = prep(ss, sql, &st);
    if (r < 0)
        return r;
    r = bind_text(ss, st, 1, key);
    if (r == 0)
        r = get_row(ss, st, NULL, NULL);
    if (r == 0)
        r = coldup(st, text_col, &text);
    if (r == 0) {
        if (ret_int0)
            *ret_int0 = sqlite3_column_int64(st, 0);
        *ret_text = text;
    }
    unprep(st);
    return r;
}

static int sqlite_triage_log_get(struct store_tx *tx, const char *job_id, int64_t *ret_when,
                                 char **ret_log)
{
    static const char sql[] = "SELECT when_ns, log FROM triage_logs WHERE job_id = ?";

    return get_by_key(ss_of(tx), sql, job_id, 1, ret_log, ret_when);
}

/* ---- secrets ---- */

static int sqlite_secret_get(struct store_tx *tx, const char *name, struct store_secret *ret)
{
    static const char sql[] = "SELECT " COLUMNS(SECRET_COLUMNS) " FROM secrets WHERE name = ?";

    return get_one(ss_of(tx), sql, &store_secret_kind, ret, "t", name);
}

static int sqlite_secret_put(struct store_tx *tx, const struct store_secret *sec)
{
    static const char sql[] = "INSERT OR REPLACE INTO secrets (" COLUMNS(SECRET_COLUMNS)
                              ") VALUES (" PARAMS(SECRET_COLUMNS) ")";

    return run_row(ss_of(tx), sql, &store_secret_kind, sec);
}

/* ---- per-job manager state ---- */

static int sqlite_job_state_get(struct store_tx *tx, const char *job_id, char **ret)
{
    static const char sql[] = "SELECT state FROM job_states WHERE job_id = ?";

    return get_by_key(ss_of(tx), sql, job_id, 0, ret, NULL);
}

static int sqlite_job_state_put(struct store_tx *tx, const char *job_id, const char *text)
{
    static const char put[] = "INSERT OR REPLACE INTO job_states (job_id, state) VALUES (?, ?)";
    static const char del[] = "DELETE FROM job_states WHERE job_id = ?";

    if (!text[0])
        return run_stmt(ss_of(tx), del, "t", job_id);
    return run_stmt(ss_of(tx), put, "tt", job_id, text);
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .errmsg = sqlite_errmsg,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .commit_lazy = sqlite_commit_lazy,
    .sync = sqlite_sync,
    .stats = sqlite_stats,
    .rollback = sqlite_rollback,
    .project_get = sqlite_project_get,
    .project_put = sqlite_project_put,
    .project_list = sqlite_project_list,
    .job_get = sqlite_job_get,
    .job_put = sqlite_job_put,
    .job_set_cron = sqlite_job_set_cron,
    .job_set_triage = sqlite_job_set_triage,
    .job_list = sqlite_job_list,
    .job_page = sqlite_job_page,
    .job_realms = sqlite_job_realms,
    .job_page_by_id = sqlite_job_page_by_id,
    .inv_get = sqlite_inv_get,
    .inv_statuses = sqlite_inv_statuses,
    .inv_insert = sqlite_inv_insert,
    .inv_update = sqlite_inv_update,
    .inv_set_aborted_by = sqlite_inv_set_aborted_by,
    .inv_list = sqlite_inv_list,
    .inv_ids_project = sqlite_inv_ids_project,
    .trigger_add = sqlite_trigger_add,
    .trigger_list = sqlite_trigger_list,
    .trigger_count = sqlite_trigger_count,
    .trigger_pop = sqlite_trigger_pop,
    .tombstone_purge = sqlite_tombstone_purge,
    .task_enqueue = sqlite_task_enqueue,
    .task_lease = sqlite_task_lease,
    .task_lease_id = sqlite_task_lease_id,
    .task_lease_batch = sqlite_task_lease_batch,
    .task_done = sqlite_task_done,
    .task_rearm = sqlite_task_rearm,
    .task_retry = sqlite_task_retry,
    .task_next_due = sqlite_task_next_due,
    .task_count = sqlite_task_count,
    .fate_insert = sqlite_fate_insert,
    .fate_decide = sqlite_fate_decide,
    .fate_list = sqlite_fate_list,
    .fate_purge = sqlite_fate_purge,
    .triage_log_put = sqlite_triage_log_put,
    .triage_log_get = sqlite_triage_log_get,
    .secret_get = sqlite_secret_get,
    .secret_put = sqlite_secret_put,
    .job_state_get = sqlite_job_state_get,
    .job_state_put = sqlite_job_state_put,
    .task_renew = sqlite_task_renew,
};
