/*
 * test-store-contract.c - the contract of store.h (docs/internals/
 * STORE-CONTRACT.md) that every back end keeps: schema versions, the
 * durable task queue (leases, expiry, retry, dedup keys), trigger dedup
 * tombstones, the invocation compare-and-set, trigger fates, secrets,
 * per-job state, paged job listings, every column of every row type
 * written and read back, and group commit.
 *
 * One program, run once per back end (tests/CMakeLists.txt):
 *
 *   test-store-contract sqlite     a fresh database file per case
 *   test-store-contract postgres   a fresh schema per case in the
 *                                  database of $TOCK_TEST_PG (the private
 *                                  cluster of tests/lib/pg-cluster.sh),
 *                                  dropped after the case; exits 77
 *                                  (skipped, loudly) only when
 *                                  $TOCK_TEST_PG_SKIP names a file, which
 *                                  the cluster script writes when no
 *                                  PostgreSQL server is installed.
 *
 * Back-end specific cases (SQLite's file lock, WAL, a crashing child
 * process) are in test-store-sqlite.c.
 */
#include "base/compat.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <unistd.h>

#include "pg-test.h"
#include "store/postgres.h"
#include "store/sqlite.h"

#define S 1000000000LL

enum backend { BACKEND_SQLITE, BACKEND_POSTGRES };

static enum backend backend;
static char pg_base[1024]; /* $TOCK_TEST_PG */

struct fixture {
    enum backend backend;
    char dir[64];       /* sqlite: the temporary directory */
    char path[128];     /* sqlite: the database file */
    char schema[64];    /* postgres: this case's schema */
    char url[1400];
    bool shares_commits; /* durable commits of waiting threads share one back-end commit */
    struct store *s;
};

/* Runs sql (no result) on the case's database, outside the store. */
static void fx_exec(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;

    if (f->backend == BACKEND_POSTGRES) {
        pg_test_run(f->url, sql);
        return;
    }
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The integer in the first column of the first row of sql (-1: no row), outside the store. */
static int64_t fx_int(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (f->backend == BACKEND_POSTGRES)
        return pg_test_run(f->url, sql);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The schema version the back end writes. */
static int fx_version(struct fixture *f)
{
    return f->backend == BACKEND_POSTGRES ? store_postgres_schema_version()
                                          : store_sqlite_schema_version();
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";

    assert_non_null(f);
    f->backend = backend;
    if (backend == BACKEND_POSTGRES) {
        pg_test_schema(pg_base, "tock_test", f->schema, sizeof(f->schema), f->url,
                       sizeof(f->url));
    } else {
        f->shares_commits = true;
        snprintf(f->dir, sizeof(f->dir), "/tmp/tock-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/tock.db", f->dir);
        snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    }
    if (store_open(f->url, &f->s, err, sizeof(err)) != 0)
        fail_msg("store_open(%s): %s", f->url, err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
    char p[200];

    store_close(f->s);
    if (f->backend == BACKEND_POSTGRES) {
        snprintf(p, sizeof(p), "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
        pg_test_run(pg_base, p);
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
            snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

static struct store_tx *begin(struct store *s)
{
    struct store_tx *tx = NULL;
    assert_int_equal(store_begin(s, &tx), 0);
    return tx;
}

static void test_schema_versions(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    char sql[128];
    struct store *s2 = NULL;

    /* Opening created the schema at the binary's version, once. */
    assert_true(fx_version(f) >= 1);
    assert_int_equal(fx_int(f, "SELECT max(version) FROM schema_version"),
                     fx_version(f));
    assert_int_equal(fx_int(f, "SELECT count(*) FROM schema_version"),
                     fx_version(f));

    /* Reopening migrates nothing. */
    f->s = store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM schema_version"),
                     fx_version(f));

    /* A database from the future is refused with a clear message. */
    f->s = store_close(f->s);
    snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)",
             fx_version(f) + 1);
    fx_exec(f, sql);
    assert_int_equal(store_open(f->url, &s2, err, sizeof(err)), -EPROTO);
    assert_null(s2);
    snprintf(sql, sizeof(sql), "database schema version %d is newer than this tock knows (%d)",
             fx_version(f) + 1, fx_version(f));
    assert_non_null(strstr(err, sql));
    snprintf(sql, sizeof(sql), "DELETE FROM schema_version WHERE version > %d",
             fx_version(f));
    fx_exec(f, sql);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
}

static struct store_task task(const char *kind, int64_t due, const char *dedup)
{
    return (struct store_task){.kind = (char *)kind, .job_id = "p/j", .due = due,
                               .dedup_key = (char *)dedup, .payload_json = "{}"};
}

static void test_task_queue(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t1 = task("a", 10 * S, ""), t2 = task("b", 5 * S, "k1"),
                      t3 = task("c", 5 * S, "k1"), got = {0};
    int64_t id1 = 0, id2 = 0, next = 0;
    size_t n = 0;

    assert_int_equal(store_task_enqueue(tx, &t1, &id1), 0);
    assert_int_equal(store_task_enqueue(tx, &t2, &id2), 0);
    /* Same dedup key while the first is live: dropped. */
    assert_int_equal(store_task_enqueue(tx, &t3, NULL), 1);
    assert_int_equal(store_task_count(tx, NULL, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_task_next_due(tx, &next), 0);
    assert_int_equal(next, 5 * S);

    /* Nothing due before 5 s. */
    assert_int_equal(store_task_lease(tx, 4 * S, "w1", 60 * S, &got), -ENOENT);
    /* At 20 s both are due; the earliest due first. */
    assert_int_equal(store_task_lease(tx, 20 * S, "w1", 60 * S, &got), 0);
    assert_int_equal(got.id, id2);
    assert_string_equal(got.kind, "b");
    assert_string_equal(got.lease_owner, "w1");
    assert_int_equal(got.lease_expiry, 80 * S);
    assert_int_equal(got.attempts, 1);
    store_task_release(&got);
    assert_int_equal(store_task_lease(tx, 20 * S, "w2", 60 * S, &got), 0);
    assert_int_equal(got.id, id1);
    store_task_release(&got);
    /* Both leased: nothing left, next due is the first lease expiry. */
    assert_int_equal(store_task_lease(tx, 20 * S, "w3", 60 * S, &got), -ENOENT);
    assert_int_equal(store_task_next_due(tx, &next), 0);
    assert_int_equal(next, 80 * S);

    /* Only the owner may finish or retry. */
    assert_int_equal(store_task_done(tx, id2, "w2"), -ESTALE);
    assert_int_equal(store_task_retry(tx, id1, "w1", 30 * S), -ESTALE);
    assert_int_equal(store_task_retry(tx, id1, "w2", 30 * S), 0);
    assert_int_equal(store_task_next_due(tx, &next), 0);
    assert_int_equal(next, 30 * S);

    /* w1 dies holding id2; after its lease expires, w3 takes it (attempt 2). */
    assert_int_equal(store_task_lease(tx, 79 * S, "w3", 60 * S, &got), 0);
    assert_int_equal(got.id, id1); /* retried row, due at 30 s */
    assert_int_equal(got.attempts, 2);
    assert_int_equal(store_task_done(tx, id1, "w3"), 0);
    store_task_release(&got);
    assert_int_equal(store_task_lease(tx, 79 * S, "w3", 60 * S, &got), -ENOENT);
    assert_int_equal(store_task_lease(tx, 80 * S, "w3", 60 * S, &got), 0);
    assert_int_equal(got.id, id2);
    assert_int_equal(got.attempts, 2);
    store_task_release(&got);
    /* The dead worker cannot complete it any more. */
    assert_int_equal(store_task_done(tx, id2, "w1"), -ESTALE);
    assert_int_equal(store_task_done(tx, id2, "w3"), 0);
    assert_int_equal(store_task_done(tx, id2, "w3"), -ENOENT);

    /* The dedup key is free again once the row is gone. */
    assert_int_equal(store_task_enqueue(tx, &t3, NULL), 0);
    assert_int_equal(store_task_count(tx, "c", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Leasing many rows at once (store_task_lease_batch): only due rows of the
 * kinds asked for, oldest (due, id) first, at most max; rows another owner
 * holds are skipped until their lease expires, then taken over with the
 * attempt counted; two owners never get the same row.
 */
static void test_task_lease_batch(void **state)
{
    static const char *const kinds[] = {"tick", "triage"};
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t = task("tick", 0, ""), *a = NULL, *b = NULL, got = {0};
    int64_t ids[6];
    size_t na = 0, nb = 0;

    /* Due at 5, 4, 3, 2, 1 s (ticks and triages), one launch at 1 s, one tick at 100 s. */
    for (int i = 0; i < 5; i++) {
        t.kind = i % 2 ? "triage" : "tick";
        t.due = (5 - i) * S;
        assert_int_equal(store_task_enqueue(tx, &t, &ids[i]), 0);
    }
    t.kind = "launch";
    t.due = 1 * S;
    assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
    t.kind = "tick";
    t.due = 100 * S;
    assert_int_equal(store_task_enqueue(tx, &t, &ids[5]), 0);

    /* Nothing due yet: 0 rows. */
    assert_int_equal(store_task_lease_batch(tx, S / 2, "w1", 60 * S, kinds, 2, 10, &a, &na), 0);
    assert_int_equal(na, 0);
    assert_null(a);
    /* Bad arguments. */
    assert_int_equal(store_task_lease_batch(tx, 10 * S, "w1", 60 * S, kinds, 0, 10, &a, &na),
                     -EINVAL);
    assert_int_equal(store_task_lease_batch(tx, 10 * S, "w1", 60 * S, kinds, 2, 0, &a, &na),
                     -EINVAL);

    /* At 10 s: w1 takes the 3 oldest due ticks/triages (1, 2, 3 s), not the launch. */
    assert_int_equal(store_task_lease_batch(tx, 10 * S, "w1", 60 * S, kinds, 2, 3, &a, &na), 0);
    assert_int_equal(na, 3);
    assert_int_equal(a[0].id, ids[4]);
    assert_int_equal(a[1].id, ids[3]);
    assert_int_equal(a[2].id, ids[2]);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].lease_owner, "w1");
        assert_int_equal(a[i].lease_expiry, 70 * S);
        assert_int_equal(a[i].attempts, 1);
        assert_string_not_equal(a[i].kind, "launch");
    }
    /* w2 at the same time gets only the two left (4, 5 s), never w1's. */
    assert_int_equal(store_task_lease_batch(tx, 10 * S, "w2", 60 * S, kinds, 2, 10, &b, &nb), 0);
    assert_int_equal(nb, 2);
    assert_int_equal(b[0].id, ids[1]);
    assert_int_equal(b[1].id, ids[0]);
    store_tasks_free(b, nb);
    /* The launch is still free for store_task_lease. */
    assert_int_equal(store_task_lease(tx, 10 * S, "w3", 60 * S, &got), 0);
    assert_string_equal(got.kind, "launch");
    store_task_release(&got);
    /* Nothing else is due before the leases expire. */
    assert_int_equal(store_task_lease_batch(tx, 69 * S, "w2", 60 * S, kinds, 2, 10, &b, &nb), 0);
    assert_int_equal(nb, 0);
    /* w1 finishes one; the owner checks still hold. */
    assert_int_equal(store_task_done(tx, a[0].id, "w2"), -ESTALE);
    assert_int_equal(store_task_done(tx, a[0].id, "w1"), 0);

    /*
     * At 70 s every lease taken at 10 s expired: w2 takes over the ticks
     * (kind "tick" only: 3 s from w1, 5 s its own), attempt 2, oldest first.
     */
    assert_int_equal(store_task_lease_batch(tx, 70 * S, "w2", 60 * S, kinds, 1, 10, &b, &nb), 0);
    assert_int_equal(nb, 2);
    assert_int_equal(b[0].id, ids[2]);
    assert_int_equal(b[1].id, ids[0]);
    for (size_t i = 0; i < nb; i++) {
        assert_int_equal(b[i].attempts, 2);
        assert_string_equal(b[i].lease_owner, "w2");
        assert_int_equal(b[i].lease_expiry, 130 * S);
    }
    store_tasks_free(b, nb);
    assert_int_equal(store_task_done(tx, a[2].id, "w1"), -ESTALE);
    store_tasks_free(a, na);
    assert_int_equal(store_commit(tx), 0);

    /* A batch leased in a transaction that rolls back leaves the rows free. */
    tx = begin(f->s);
    assert_int_equal(store_task_lease_batch(tx, 200 * S, "w1", 60 * S, kinds, 2, 10, &a, &na), 0);
    assert_true(na >= 1);
    store_tasks_free(a, na);
    store_rollback(tx);
    tx = begin(f->s);
    assert_int_equal(store_task_lease_batch(tx, 200 * S, "w2", 60 * S, kinds, 2, 10, &a, &na), 0);
    assert_true(na >= 1);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i].lease_owner, "w2");
    assert_int_equal(a[na - 1].id, ids[5]); /* due at 100 s, now due */
    store_tasks_free(a, na);
    store_rollback(tx);
}

/* A leased row re-armed in place: a new task (free, attempts 0, new due and payload). */
static void test_task_rearm(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t = task("tick", 1 * S, ""), got = {0};
    int64_t id = 0, next = 0;
    size_t n = 0;

    assert_int_equal(store_task_enqueue(tx, &t, &id), 0);
    assert_int_equal(store_task_lease(tx, 2 * S, "w1", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_task_rearm(tx, id, "w2", 60 * S, "{\"nonce\":7}", 3 * S), -ESTALE);
    assert_int_equal(store_task_rearm(tx, id + 99, "w1", 60 * S, "{}", 3 * S), -ENOENT);
    assert_int_equal(store_task_rearm(tx, id, "w1", 60 * S, "{\"nonce\":7}", 3 * S), 0);
    /* One row, free, due at 60 s; the old owner holds nothing any more. */
    assert_int_equal(store_task_count(tx, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_task_next_due(tx, &next), 0);
    assert_int_equal(next, 60 * S);
    assert_int_equal(store_task_done(tx, id, "w1"), -ESTALE);
    assert_int_equal(store_task_lease(tx, 59 * S, "w2", 60 * S, &got), -ENOENT);
    assert_int_equal(store_task_lease(tx, 60 * S, "w2", 60 * S, &got), 0);
    assert_int_equal(got.id, id);
    assert_string_equal(got.kind, "tick");
    assert_string_equal(got.job_id, "p/j");
    assert_string_equal(got.payload_json, "{\"nonce\":7}");
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.created, 3 * S);
    store_task_release(&got);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Renewing leases (store.h, store_task_renew): only the rows each owner
 * still holds get lease_expiry = max(lease_expiry, now + lease_ns);
 * rows gone, free or held by another owner are left alone, and nothing
 * but the expiry changes (the attempt count stays).
 */
static void test_task_renew(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t = task("call", 10 * S, ""), got = {0};
    int64_t id[5] = {0};
    const char *owners[6] = {"w1", "w1", "w1", "w1", "w1", "w2"};
    int64_t ids[6];
    bool renewed[6] = {false};
    const char *one_owner[1] = {"w1"};

    for (int i = 0; i < 5; i++)
        assert_int_equal(store_task_enqueue(tx, &t, &id[i]), 0);
    /* id0 and id2 by w1, id1 by w2, id2 done (gone), id3 free, id4 by w1. */
    assert_int_equal(store_task_lease_id(tx, id[0], 10 * S, "w1", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_task_lease_id(tx, id[1], 10 * S, "w2", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_task_lease_id(tx, id[2], 10 * S, "w1", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_task_done(tx, id[2], "w1"), 0);
    assert_int_equal(store_task_lease_id(tx, id[4], 10 * S, "w1", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_commit(tx), 0);

    /* At 40 s w1 renews all five as its own, and w2 renews id0 (which it does not hold). */
    for (int i = 0; i < 5; i++)
        ids[i] = id[i];
    ids[5] = id[0];
    tx = begin(f->s);
    assert_int_equal(store_task_renew(tx, ids, owners, 6, 40 * S, 60 * S, renewed), 0);
    assert_true(renewed[0]);
    assert_false(renewed[1]); /* w2's */
    assert_false(renewed[2]); /* gone */
    assert_false(renewed[3]); /* free */
    assert_true(renewed[4]);
    assert_false(renewed[5]); /* w1's, not w2's */
    assert_int_equal(store_commit(tx), 0);

    tx = begin(f->s);
    /* id0: held until 40 + 60 = 100 s now; the attempt count did not move. */
    assert_int_equal(store_task_lease_id(tx, id[0], 99 * S, "w3", 60 * S, &got), -ESTALE);
    assert_int_equal(store_task_lease_id(tx, id[0], 100 * S, "w3", 60 * S, &got), 0);
    assert_int_equal(got.attempts, 2);
    store_task_release(&got);
    /* id1: w2's lease still ends at 70 s; id3 is still free, never leased. */
    assert_int_equal(store_task_lease_id(tx, id[1], 70 * S, "w3", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_task_lease_id(tx, id[3], 10 * S, "w3", 60 * S, &got), 0);
    assert_int_equal(got.attempts, 1);
    store_task_release(&got);
    /* The lost lease was not resurrected: w1 cannot settle id0 any more. */
    assert_int_equal(store_task_retry(tx, id[0], "w1", 200 * S), -ESTALE);
    assert_int_equal(store_commit(tx), 0);

    /* A renewal never shortens a lease: id4 ends at 100 s, renewed at 0 s for 1 s. */
    tx = begin(f->s);
    ids[0] = id[4];
    assert_int_equal(store_task_renew(tx, ids, one_owner, 1, 0, 1 * S, renewed), 0);
    assert_true(renewed[0]);
    assert_int_equal(store_task_lease_id(tx, id[4], 99 * S, "w3", 60 * S, &got), -ESTALE);
    /* Expired (at 100 s) but taken by nobody: still w1's, renewed from 120 s to 180 s. */
    assert_int_equal(store_task_renew(tx, ids, one_owner, 1, 120 * S, 60 * S, renewed), 0);
    assert_true(renewed[0]);
    assert_int_equal(store_task_lease_id(tx, id[4], 179 * S, "w3", 60 * S, &got), -ESTALE);
    assert_int_equal(store_task_lease_id(tx, id[4], 180 * S, "w3", 60 * S, &got), 0);
    store_task_release(&got);
    /* Bounds. */
    assert_int_equal(store_task_renew(tx, ids, one_owner, 0, 0, S, renewed), -EINVAL);
    assert_int_equal(store_task_renew(tx, ids, one_owner, LIMIT_STORE_RENEW + 1, 0, S, renewed),
                     -EINVAL);
    assert_int_equal(store_commit(tx), 0);
}

/* The narrow cron state write: only cron_json changes; -ENOENT for no job. */
static void test_job_set_cron(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_job j = {.id = "p/a", .project = "p", .name = "a", .enabled = true,
                          .schedule = "* * * * *", .task_json = "{\"noop\":{}}",
                          .cron_json = "{\"generation\":1}"},
                     got = {0};

    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_job_set_cron(tx, "p/a", "{\"generation\":2}"), 0);
    assert_int_equal(store_job_set_cron(tx, "p/nope", "{}"), -ENOENT);
    assert_int_equal(store_job_get(tx, "p/a", &got), 0);
    assert_string_equal(got.cron_json, "{\"generation\":2}");
    assert_string_equal(got.schedule, "* * * * *");
    assert_string_equal(got.task_json, "{\"noop\":{}}");
    assert_true(got.enabled);
    store_job_release(&got);
    assert_int_equal(store_job_set_cron(tx, "p/a", NULL), 0);
    assert_int_equal(store_job_get(tx, "p/a", &got), 0);
    assert_string_equal(got.cron_json, "");
    store_job_release(&got);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * The triage's narrow write: cron, active, finished and last_triage
 * change; the definition and the pause, written meanwhile by others, stay.
 */
static void test_job_set_triage(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_job j = {.id = "p/a", .project = "p", .name = "a", .enabled = true,
                          .schedule = "* * * * *", .task_json = "{\"noop\":{}}",
                          .cron_json = "{\"generation\":1}", .active_json = "[]",
                          .finished_json = "[]"},
                     paused = j, tri = {0}, got = {0};

    assert_int_equal(store_job_put(tx, &j), 0);
    /* Paused by someone else after the triage read the row. */
    paused.paused = true;
    paused.paused_by = "user:x@example.com";
    assert_int_equal(store_job_put(tx, &paused), 0);
    tri = j; /* the triage's copy, read before the pause */
    tri.schedule = "ignored";
    tri.cron_json = "{\"generation\":2}";
    tri.active_json = "[7]";
    tri.finished_json = NULL;
    tri.last_triage = 42;
    assert_int_equal(store_job_set_triage(tx, &tri), 0);
    assert_int_equal(store_job_get(tx, "p/a", &got), 0);
    assert_string_equal(got.cron_json, "{\"generation\":2}");
    assert_string_equal(got.active_json, "[7]");
    assert_string_equal(got.finished_json, "[]");
    assert_int_equal(got.last_triage, 42);
    assert_string_equal(got.schedule, "* * * * *");
    assert_true(got.paused);
    assert_string_equal(got.paused_by, "user:x@example.com");
    store_job_release(&got);
    tri.id = "p/nope";
    assert_int_equal(store_job_set_triage(tx, &tri), -ENOENT);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Leasing one row by id: only when it is due and free (or its lease
 * expired), with the attempt counted; a lease taken in a transaction that
 * rolls back is gone with it.
 */
static void test_task_lease_id(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t1 = task("a", 10 * S, ""), got = {0};
    int64_t id1 = 0;

    assert_int_equal(store_task_enqueue(tx, &t1, &id1), 0);
    assert_int_equal(store_commit(tx), 0);

    /* A lease in a transaction that rolls back leaves the row free. */
    tx = begin(f->s);
    assert_int_equal(store_task_lease(tx, 10 * S, "w1", 60 * S, &got), 0);
    assert_int_equal(got.attempts, 1);
    store_task_release(&got);
    store_rollback(tx);

    tx = begin(f->s);
    /* Not due yet. */
    assert_int_equal(store_task_lease_id(tx, id1, 9 * S, "w1", 60 * S, &got), -ESTALE);
    assert_int_equal(store_task_lease_id(tx, id1 + 1000, 10 * S, "w1", 60 * S, &got), -ENOENT);
    assert_int_equal(store_task_lease_id(tx, id1, 10 * S, "w1", 60 * S, &got), 0);
    assert_int_equal(got.id, id1);
    assert_string_equal(got.kind, "a");
    assert_string_equal(got.lease_owner, "w1");
    assert_int_equal(got.lease_expiry, 70 * S);
    assert_int_equal(got.attempts, 1);
    store_task_release(&got);
    /* Held by w1 until 70 s. */
    assert_int_equal(store_task_lease_id(tx, id1, 69 * S, "w2", 60 * S, &got), -ESTALE);
    assert_int_equal(store_task_lease_id(tx, id1, 70 * S, "w2", 60 * S, &got), 0);
    assert_int_equal(got.attempts, 2);
    store_task_release(&got);
    assert_int_equal(store_task_retry(tx, id1, "w1", 80 * S), -ESTALE);
    assert_int_equal(store_task_retry(tx, id1, "w2", 80 * S), 0);
    assert_int_equal(store_commit(tx), 0);
}

static void test_task_enqueue_is_transactional(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_task t = task("a", 1, "");
    size_t n = 99;

    assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
    store_rollback(tx);
    tx = begin(f->s);
    assert_int_equal(store_task_count(tx, NULL, &n), 0);
    assert_int_equal(n, 0);
    store_rollback(tx);

    /* A committed row survives closing and reopening the store. */
    tx = begin(f->s);
    assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
    assert_int_equal(store_commit(tx), 0);
    f->s = store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, NULL, 0), 0);
    tx = begin(f->s);
    assert_int_equal(store_task_count(tx, "a", &n), 0);
    assert_int_equal(n, 1);
    store_rollback(tx);
}

static struct store_trigger trig(const char *id, int64_t created, int64_t order)
{
    return (struct store_trigger){.job_id = "p/j", .trigger_id = (char *)id,
                                  .created = created, .order = order, .json = "{}"};
}

static void test_trigger_dedup(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    const int64_t win = 30 * 60 * S;
    struct store_trigger a = trig("a", 3, 0), b = trig("b", 1, 1), c = trig("c", 1, 0),
                         *v = NULL;
    size_t n = 0;

    assert_int_equal(store_trigger_add(tx, &a, 100 * S, win), 0);
    assert_int_equal(store_trigger_add(tx, &b, 100 * S, win), 0);
    assert_int_equal(store_trigger_add(tx, &c, 100 * S, win), 0);
    /* Already pending. */
    assert_int_equal(store_trigger_add(tx, &a, 100 * S, win), 1);
    /* Oldest first: created, then order. */
    assert_int_equal(store_trigger_list(tx, "p/j", 10, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].trigger_id, "c");
    assert_string_equal(v[1].trigger_id, "b");
    assert_string_equal(v[2].trigger_id, "a");
    store_triggers_free(v, n);

    /* Popped at 200 s: ignored until 200 s + 30 min, accepted after. */
    assert_int_equal(store_trigger_pop(tx, "p/j", "a", 200 * S), 0);
    assert_int_equal(store_trigger_pop(tx, "p/j", "a", 200 * S), -ENOENT);
    assert_int_equal(store_trigger_count(tx, "p/j", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_trigger_add(tx, &a, 200 * S + win - 1, win), 1);
    assert_int_equal(store_trigger_add(tx, &a, 200 * S + win + 1, win), 0);
    /* Another job's set is separate. */
    a.job_id = "p/other";
    assert_int_equal(store_trigger_add(tx, &a, 201 * S, win), 0);

    /* Purge drops tombstones older than the cut. */
    assert_int_equal(store_trigger_pop(tx, "p/j", "b", 300 * S), 0);
    assert_int_equal(store_tombstone_purge(tx, 250 * S, &n), 0);
    assert_int_equal(n, 1); /* a's (200 s); b's (300 s) stays */
    b.trigger_id = "b";
    assert_int_equal(store_trigger_add(tx, &b, 301 * S, win), 1);
    assert_int_equal(store_commit(tx), 0);
}

static void test_inv_cas(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_inv v = {.id = 42, .job_id = "p/j", .status = "STARTING", .mutations = 0},
                     got = {0};

    assert_int_equal(store_inv_insert(tx, &v), 0);
    assert_int_equal(store_inv_insert(tx, &v), -EEXIST);
    assert_int_equal(store_inv_set_aborted_by(tx, 42, "user:a@b.c"), 0);
    v.status = "RUNNING";
    v.mutations = 1;
    v.aborted_by = "";
    assert_int_equal(store_inv_update(tx, &v, 0), 0);
    /* Stale writer: expected 0 but it is 1 now. */
    v.status = "FAILED";
    v.mutations = 1;
    assert_int_equal(store_inv_update(tx, &v, 0), -ESTALE);
    v.id = 43;
    assert_int_equal(store_inv_update(tx, &v, 0), -ENOENT);
    assert_int_equal(store_inv_get(tx, 42, &got), 0);
    assert_string_equal(got.status, "RUNNING");
    assert_int_equal(got.mutations, 1);
    /* The update kept the concurrently set aborted_by. */
    assert_string_equal(got.aborted_by, "user:a@b.c");
    store_inv_release(&got);
    assert_int_equal(store_inv_get(tx, 43, &got), -ENOENT);
    assert_int_equal(store_commit(tx), 0);
}

static void test_inv_list_order(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    static const int64_t ids[] = {30, 10, 20, 40};
    struct store_inv *v = NULL;
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        struct store_inv r = {.id = ids[i], .job_id = i == 3 ? "p/other" : "p/j",
                              .status = "SUCCEEDED", .debug_log = "log"};
        assert_int_equal(store_inv_insert(tx, &r), 0);
    }
    assert_int_equal(store_inv_list(tx, "p/j", 10, 10, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].id, 20);
    assert_int_equal(v[1].id, 30);
    assert_string_equal(v[0].debug_log, "");
    store_invs_free(v, n);
    assert_int_equal(store_inv_list(tx, "p/j", 0, 1, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, 10);
    store_invs_free(v, n);
    assert_int_equal(store_commit(tx), 0);
}

/* store_inv_statuses: each row found once, absent ids skipped, large ids intact. */
struct seen_status {
    int64_t id[8];
    char status[8][16];
    size_t n;
};

static void on_status(void *ctx, int64_t id, const char *status)
{
    struct seen_status *s = ctx;

    assert_true(s->n < 8);
    s->id[s->n] = id;
    snprintf(s->status[s->n], sizeof(s->status[0]), "%s", status);
    s->n++;
}

static const char *status_of(const struct seen_status *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->id[i] == id)
            return s->status[i];
    return NULL;
}

static void test_inv_statuses(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    static const int64_t big = 8828461916468815008;
    const int64_t ask[] = {7, 99, big, -3};
    struct store_inv r1 = {.id = 7, .job_id = "p/j", .status = "RUNNING", .debug_log = "x"},
                     r2 = {.id = big, .job_id = "p/k", .status = "SUCCEEDED"},
                     r3 = {.id = 8, .job_id = "p/j", .status = "FAILED"};
    struct seen_status seen = {.n = 0};

    assert_int_equal(store_inv_insert(tx, &r1), 0);
    assert_int_equal(store_inv_insert(tx, &r2), 0);
    assert_int_equal(store_inv_insert(tx, &r3), 0);
    assert_int_equal(store_inv_statuses(tx, ask, ARRAY_SIZE(ask), on_status, &seen), 0);
    assert_int_equal(seen.n, 2); /* 99 and -3 have no row; 8 was not asked for */
    assert_string_equal(status_of(&seen, 7), "RUNNING");
    assert_string_equal(status_of(&seen, big), "SUCCEEDED");
    seen.n = 0;
    assert_int_equal(store_inv_statuses(tx, ask + 1, 1, on_status, &seen), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(store_inv_statuses(tx, ask, 0, on_status, &seen), -EINVAL);
    assert_int_equal(store_commit(tx), 0);
}

static void test_fates(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_fate a = {.job_id = "p/j", .trigger_id = "t1", .fate = "PENDING",
                           .arrived_at = 10 * S},
                      *v = NULL;
    size_t n = 0;

    assert_int_equal(store_fate_insert(tx, &a, NULL), 0);
    a.fate = "DEDUPLICATED";
    a.decided_at = 11 * S;
    assert_int_equal(store_fate_insert(tx, &a, NULL), 0);
    assert_int_equal(store_fate_decide(tx, "p/j", "t1", "CONSUMED", 77, "why", 20 * S), 0);
    /* No pending one left. */
    assert_int_equal(store_fate_decide(tx, "p/j", "t1", "MERGED", 77, "", 20 * S), -ENOENT);
    assert_int_equal(store_fate_list(tx, "p/j", "t1", 10, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].fate, "DEDUPLICATED");
    assert_string_equal(v[1].fate, "CONSUMED");
    assert_int_equal(v[1].inv_id, 77);
    assert_int_equal(v[1].decided_at, 20 * S);
    assert_string_equal(v[1].reason, "why");
    store_fates_free(v, n);
    /* Retention: rows decided before 15 s go. */
    assert_int_equal(store_fate_purge(tx, 15 * S, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_fate_list(tx, "p/j", NULL, 10, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].fate, "CONSUMED");
    store_fates_free(v, n);
    assert_int_equal(store_commit(tx), 0);
}

static void test_jobs_and_logs(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_job j = {.id = "p/a", .project = "p", .name = "a", .enabled = true,
                          .schedule = "triggered", .paused_when = 5},
                     got = {0}, *v = NULL;
    size_t n = 0;
    char *log = NULL;
    int64_t when = 0;

    assert_int_equal(store_job_put(tx, &j), 0);
    j.id = "p/b";
    j.enabled = false;
    assert_int_equal(store_job_put(tx, &j), 0);
    j.id = "q/c";
    j.project = "q";
    j.enabled = true;
    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_job_list(tx, "p", true, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "p/a");
    assert_string_equal(v[0].active_json, "[]");
    store_jobs_free(v, n);
    assert_int_equal(store_job_list(tx, NULL, false, &v, &n), 0);
    assert_int_equal(n, 3);
    store_jobs_free(v, n);
    assert_int_equal(store_job_get(tx, "p/b", &got), 0);
    assert_false(got.enabled);
    assert_int_equal(got.paused_when, 5);
    store_job_release(&got);
    assert_int_equal(store_job_get(tx, "p/zz", &got), -ENOENT);

    assert_int_equal(store_triage_log_get(tx, "p/a", &when, &log), -ENOENT);
    assert_int_equal(store_triage_log_put(tx, "p/a", 7, "[000 ms] Starting\n"), 0);
    assert_int_equal(store_triage_log_get(tx, "p/a", &when, &log), 0);
    assert_int_equal(when, 7);
    assert_string_equal(log, "[000 ms] Starting\n");
    free(log);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Paged job listing: jobs of project "p" are j000..j299 written in a
 * shuffled order, in realm p:r<i % 3> ("" for every 50th), every 7th
 * disabled; "p2" and a disabled-only realm are noise.  Expected lists are
 * computed from that rule: enabled, of the asked realm, name > after,
 * ascending names.
 */
#define PAGE_JOBS 300

static bool page_job_enabled(int i)
{
    return i % 7 != 0;
}

static const char *page_job_realm(int i)
{
    static const char *const realms[] = {"p:r0", "p:r1", "p:r2"};
    return i % 50 == 0 ? "" : realms[i % 3];
}

static void put_page_jobs(struct store *s)
{
    struct store_tx *tx = begin(s);
    char id[32], name[16];

    for (int k = 0; k < PAGE_JOBS; k++) {
        int i = (k * 7919) % PAGE_JOBS; /* 7919 is prime: a permutation */
        snprintf(name, sizeof(name), "j%03d", i);
        snprintf(id, sizeof(id), "p/%s", name);
        struct store_job j = {.id = id, .project = "p", .name = name,
                              .realm_id = (char *)page_job_realm(i),
                              .enabled = page_job_enabled(i)};
        assert_int_equal(store_job_put(tx, &j), 0);
    }
    struct store_job other = {.id = "p2/j000", .project = "p2", .name = "j000",
                              .realm_id = "p2:r0", .enabled = true};
    struct store_job off = {.id = "p/zzz", .project = "p", .name = "zzz",
                            .realm_id = "p:off", .enabled = false};
    assert_int_equal(store_job_put(tx, &other), 0);
    assert_int_equal(store_job_put(tx, &off), 0);
    assert_int_equal(store_commit(tx), 0);
}

/* Pages of limit through (p, realm) from after; checks them against the rule. */
static void check_pages(struct store *s, const char *realm, int after, size_t limit)
{
    char after_name[16] = "";
    int want = after; /* the last index seen */
    size_t pages = 0;

    if (after >= 0)
        snprintf(after_name, sizeof(after_name), "j%03d", after);
    for (;;) {
        struct store_tx *tx = begin(s);
        struct store_job *v = NULL;
        size_t n = 0;
        assert_int_equal(store_job_page(tx, "p", realm, after_name, limit, &v, &n), 0);
        store_rollback(tx);
        assert_true(n <= limit);
        for (size_t k = 0; k < n; k++) {
            char name[16];
            do
                want++;
            while (want < PAGE_JOBS && (!page_job_enabled(want) ||
                                        (realm && strcmp(page_job_realm(want), realm) != 0)));
            assert_true(want < PAGE_JOBS);
            snprintf(name, sizeof(name), "j%03d", want);
            assert_string_equal(v[k].name, name);
            assert_string_equal(v[k].project, "p");
            assert_true(v[k].enabled);
        }
        if (n)
            snprintf(after_name, sizeof(after_name), "%s", v[n - 1].name);
        store_jobs_free(v, n);
        assert_true(++pages < PAGE_JOBS + 2);
        if (n < limit)
            break;
    }
    /* Nothing of the rule was left out. */
    do
        want++;
    while (want < PAGE_JOBS &&
           (!page_job_enabled(want) || (realm && strcmp(page_job_realm(want), realm) != 0)));
    assert_int_equal(want, PAGE_JOBS);
}

static void test_job_page(void **state)
{
    struct fixture *f = *state;

    put_page_jobs(f->s);
    check_pages(f->s, NULL, -1, 50);
    check_pages(f->s, NULL, -1, 1);
    check_pages(f->s, NULL, 123, 7);
    check_pages(f->s, "p:r1", -1, 10);
    check_pages(f->s, "p:r2", 200, 3);
    check_pages(f->s, "", -1, 2);
    check_pages(f->s, NULL, -1, LIMIT_STORE_PAGE);

    struct store_tx *tx = begin(f->s);
    struct store_job *v = NULL;
    size_t n = 0;
    assert_int_equal(store_job_page(tx, "p", "p:off", "", 10, &v, &n), 0);
    assert_int_equal(n, 0); /* disabled jobs are never listed */
    store_jobs_free(v, n);
    assert_int_equal(store_job_page(tx, "nope", NULL, "", 10, &v, &n), 0);
    assert_int_equal(n, 0);
    store_jobs_free(v, n);
    assert_int_equal(store_job_page(tx, "p", NULL, "", 0, &v, &n), -EINVAL);
    assert_int_equal(store_job_page(tx, "p", NULL, "", LIMIT_STORE_PAGE + 1, &v, &n), -EINVAL);
    assert_int_equal(store_job_page(tx, NULL, NULL, "", 10, &v, &n), -EINVAL);
    store_rollback(tx);
}

/*
 * The enabled ids of put_page_jobs' rows plus walk_extra's, sorted by the
 * rule (byte order), into want; returns how many.
 */
static const char *const walk_extra[] = {"p.x/a", "p0/b", "pa/c"}; /* around "p/" and "p0" */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t walk_want(const char *project, char want[][32], const char **sorted)
{
    size_t n = 0;

    for (int i = 0; i < PAGE_JOBS; i++) {
        if (page_job_enabled(i) && (!project || strcmp(project, "p") == 0))
            snprintf(want[n++], 32, "p/j%03d", i);
    }
    if (!project || strcmp(project, "p2") == 0)
        snprintf(want[n++], 32, "p2/j000");
    for (size_t i = 0; i < sizeof(walk_extra) / sizeof(*walk_extra); i++) {
        size_t pl = strcspn(walk_extra[i], "/");
        if (!project || (strlen(project) == pl && strncmp(project, walk_extra[i], pl) == 0))
            snprintf(want[n++], 32, "%s", walk_extra[i]);
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = want[i];
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    return n;
}

/* Walks project's enabled jobs by id in chunks of limit, each in its own transaction. */
static void check_walk(struct store *s, const char *project, size_t limit)
{
    static char want[PAGE_JOBS + 8][32];
    static const char *sorted[PAGE_JOBS + 8];
    size_t nwant = walk_want(project, want, sorted), seen = 0, chunks = 0;
    char after[32] = "";

    for (;;) {
        struct store_tx *tx = begin(s);
        struct store_job *v = NULL;
        size_t n = 0;
        assert_int_equal(store_job_page_by_id(tx, project, after, limit, &v, &n), 0);
        store_rollback(tx);
        assert_true(n <= limit);
        for (size_t k = 0; k < n; k++) {
            assert_true(seen < nwant);
            assert_string_equal(v[k].id, sorted[seen]); /* each once, in id order */
            assert_true(v[k].enabled);
            seen++;
        }
        if (n)
            snprintf(after, sizeof(after), "%s", v[n - 1].id);
        store_jobs_free(v, n);
        assert_true(++chunks < PAGE_JOBS + 8);
        if (n < limit)
            break;
    }
    assert_int_equal(seen, nwant);
}

static void test_job_page_by_id(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx;
    struct store_job *v = NULL;
    size_t n = 0;

    put_page_jobs(f->s);
    tx = begin(f->s);
    for (size_t i = 0; i < sizeof(walk_extra) / sizeof(*walk_extra); i++) {
        char project[8];
        size_t pl = strcspn(walk_extra[i], "/");
        snprintf(project, sizeof(project), "%.*s", (int)pl, walk_extra[i]);
        struct store_job j = {.id = (char *)walk_extra[i], .project = project,
                              .name = (char *)walk_extra[i] + pl + 1, .enabled = true};
        assert_int_equal(store_job_put(tx, &j), 0);
    }
    assert_int_equal(store_commit(tx), 0);

    check_walk(f->s, NULL, 1);
    check_walk(f->s, NULL, 7);
    check_walk(f->s, NULL, 50);
    check_walk(f->s, NULL, 259); /* 257 enabled rows of p: a boundary inside p2 */
    check_walk(f->s, NULL, LIMIT_STORE_PAGE);
    check_walk(f->s, "p", 1);
    check_walk(f->s, "p", 10);
    check_walk(f->s, "p", 257); /* exactly one full chunk, then an empty one */
    check_walk(f->s, "p2", 3);
    check_walk(f->s, "p0", 5);
    check_walk(f->s, "nope", 5);

    tx = begin(f->s);
    /* From the middle: after "p/j100" comes "p/j101" (enabled). */
    assert_int_equal(store_job_page_by_id(tx, "p", "p/j100", 2, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "p/j101");
    assert_string_equal(v[1].id, "p/j102");
    store_jobs_free(v, n);
    /* An after_id before the project's range starts at its first job. */
    assert_int_equal(store_job_page_by_id(tx, "p", "a", 1, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "p/j001");
    store_jobs_free(v, n);
    assert_int_equal(store_job_page_by_id(tx, "p", "p/zzz", 5, &v, &n), 0);
    assert_int_equal(n, 0);
    store_jobs_free(v, n);
    v = NULL;
    assert_int_equal(store_job_page_by_id(tx, NULL, "", 0, &v, &n), -EINVAL);
    assert_int_equal(store_job_page_by_id(tx, NULL, "", LIMIT_STORE_PAGE + 1, &v, &n), -EINVAL);
    assert_int_equal(store_job_page_by_id(tx, "", "", 5, &v, &n), -EINVAL);
    assert_int_equal(store_job_page_by_id(tx, NULL, "", 5, NULL, &n), -EINVAL);
    assert_null(v);
    store_rollback(tx);
}

static void test_job_realms(void **state)
{
    struct fixture *f = *state;
    static const char *const want[] = {"", "p:r0", "p:r1", "p:r2"};
    struct store_tx *tx;
    char **v = NULL;
    size_t n = 0;

    put_page_jobs(f->s);
    tx = begin(f->s);
    assert_int_equal(store_job_realms(tx, "p", 100, &v, &n), 0);
    assert_int_equal(n, ARRAY_SIZE(want)); /* p:off has disabled jobs only */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v[i], want[i]);
        free(v[i]);
    }
    free(v);
    assert_int_equal(store_job_realms(tx, "p", 4, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    assert_int_equal(store_job_realms(tx, "p", 3, &v, &n), -E2BIG);
    assert_int_equal(store_job_realms(tx, "nope", 3, &v, &n), 0);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(store_job_realms(tx, "p", 0, &v, &n), -EINVAL);
    store_rollback(tx);
}

/*
 * Every column of every row type comes back as written: each field gets a
 * value of its own, so a column read into the wrong field shows.
 */
static void test_rows_round_trip(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_project p = {.id = "p", .revision = "rev1", .revision_url = "https://r/1",
                              .enabled = true, .updated = 11},
                         gp = {0};
    struct store_job j = {.id = "p/j", .project = "p", .name = "j", .realm_id = "p:realm",
                          .flavor = 3, .enabled = true, .paused = true, .paused_when = 12,
                          .paused_by = "user:a@b.c", .paused_reason = "why",
                          .revision = "rev2", .revision_url = "https://r/2",
                          .schedule = "*/5 * * * *", .task_json = "{\"noop\":{}}",
                          .policy_json = "{\"kind\":1}", .triggered_json = "[\"p/k\"]",
                          .cron_json = "{\"s\":1}", .active_json = "[\"7\"]",
                          .finished_json = "[{\"id\":\"6\"}]", .last_triage = 13},
                     gj = {0};
    struct store_inv v = {.id = 21, .job_id = "p/j", .realm_id = "p:inv", .started = 22,
                          .finished = 23, .status = "RUNNING", .triggered_by = "user:x@y.z",
                          .request_json = "{\"r\":1}", .task_json = "{\"t\":1}",
                          .revision = "rev3", .revision_url = "https://r/3",
                          .triggered_json = "[\"p/m\"]", .debug_log = "log line\n",
                          .retry_count = 24, .view_url = "https://v/21",
                          .task_data_json = "{\"d\":1}", .mutations = 25,
                          .aborted_by = "user:ab@c.d", .timers_json = "[{\"id\":\"t\"}]",
                          .outgoing_json = "[{\"id\":\"o\"}]"},
                     gv = {0}, *lv = NULL;
    struct store_trigger t = {.job_id = "p/j", .trigger_id = "tr", .created = 31, .order = 32,
                              .json = "{\"id\":\"tr\"}"},
                         *lt = NULL;
    struct store_task k = {.kind = "kind", .job_id = "p/j", .inv_id = 41,
                           .payload_json = "{\"p\":1}", .due = 42, .dedup_key = "dk",
                           .created = 43},
                      gk = {0};
    struct store_fate fa = {.job_id = "p/j", .trigger_id = "tr", .title = "title",
                            .url = "https://f/1", .created = 51, .fate = "MERGED", .inv_id = 52,
                            .reason = "reason", .decided_at = 53, .arrived_at = 54},
                      *lf = NULL;
    int64_t kid = 0, fid = 0;
    size_t n = 0;

    assert_int_equal(store_project_put(tx, &p), 0);
    assert_int_equal(store_project_get(tx, "p", &gp), 0);
    assert_string_equal(gp.id, p.id);
    assert_string_equal(gp.revision, p.revision);
    assert_string_equal(gp.revision_url, p.revision_url);
    assert_true(gp.enabled);
    assert_int_equal(gp.updated, p.updated);
    store_project_release(&gp);

    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_job_get(tx, "p/j", &gj), 0);
    assert_string_equal(gj.id, j.id);
    assert_string_equal(gj.project, j.project);
    assert_string_equal(gj.name, j.name);
    assert_string_equal(gj.realm_id, j.realm_id);
    assert_int_equal(gj.flavor, j.flavor);
    assert_true(gj.enabled);
    assert_true(gj.paused);
    assert_int_equal(gj.paused_when, j.paused_when);
    assert_string_equal(gj.paused_by, j.paused_by);
    assert_string_equal(gj.paused_reason, j.paused_reason);
    assert_string_equal(gj.revision, j.revision);
    assert_string_equal(gj.revision_url, j.revision_url);
    assert_string_equal(gj.schedule, j.schedule);
    assert_string_equal(gj.task_json, j.task_json);
    assert_string_equal(gj.policy_json, j.policy_json);
    assert_string_equal(gj.triggered_json, j.triggered_json);
    assert_string_equal(gj.cron_json, j.cron_json);
    assert_string_equal(gj.active_json, j.active_json);
    assert_string_equal(gj.finished_json, j.finished_json);
    assert_int_equal(gj.last_triage, j.last_triage);
    store_job_release(&gj);

    assert_int_equal(store_inv_insert(tx, &v), 0);
    assert_int_equal(store_inv_get(tx, 21, &gv), 0);
    assert_int_equal(gv.id, v.id);
    assert_string_equal(gv.job_id, v.job_id);
    assert_string_equal(gv.realm_id, v.realm_id);
    assert_int_equal(gv.started, v.started);
    assert_int_equal(gv.finished, v.finished);
    assert_string_equal(gv.status, v.status);
    assert_string_equal(gv.triggered_by, v.triggered_by);
    assert_string_equal(gv.request_json, v.request_json);
    assert_string_equal(gv.task_json, v.task_json);
    assert_string_equal(gv.revision, v.revision);
    assert_string_equal(gv.revision_url, v.revision_url);
    assert_string_equal(gv.triggered_json, v.triggered_json);
    assert_string_equal(gv.debug_log, v.debug_log);
    assert_int_equal(gv.retry_count, v.retry_count);
    assert_string_equal(gv.view_url, v.view_url);
    assert_string_equal(gv.task_data_json, v.task_data_json);
    assert_int_equal(gv.mutations, v.mutations);
    assert_string_equal(gv.aborted_by, v.aborted_by);
    assert_string_equal(gv.timers_json, v.timers_json);
    assert_string_equal(gv.outgoing_json, v.outgoing_json);
    store_inv_release(&gv);
    /* A listing carries every column but the debug log. */
    assert_int_equal(store_inv_list(tx, "p/j", 0, 10, &lv, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(lv[0].debug_log, "");
    assert_string_equal(lv[0].outgoing_json, v.outgoing_json);
    assert_string_equal(lv[0].view_url, v.view_url);
    assert_int_equal(lv[0].retry_count, v.retry_count);
    store_invs_free(lv, n);

    assert_int_equal(store_trigger_add(tx, &t, 100, 10), 0);
    assert_int_equal(store_trigger_list(tx, "p/j", 10, &lt, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(lt[0].job_id, t.job_id);
    assert_string_equal(lt[0].trigger_id, t.trigger_id);
    assert_int_equal(lt[0].created, t.created);
    assert_int_equal(lt[0].order, t.order);
    assert_string_equal(lt[0].json, t.json);
    store_triggers_free(lt, n);

    /* Enqueue ignores the id, lease and attempts it is given. */
    k.id = 999;
    k.lease_owner = "someone";
    k.lease_expiry = 1000;
    k.attempts = 7;
    assert_int_equal(store_task_enqueue(tx, &k, &kid), 0);
    assert_true(kid != 999);
    assert_int_equal(store_task_lease(tx, 42, "w", 5, &gk), 0);
    assert_int_equal(gk.id, kid);
    assert_string_equal(gk.kind, k.kind);
    assert_string_equal(gk.job_id, k.job_id);
    assert_int_equal(gk.inv_id, k.inv_id);
    assert_string_equal(gk.payload_json, k.payload_json);
    assert_int_equal(gk.due, k.due);
    assert_string_equal(gk.dedup_key, k.dedup_key);
    assert_string_equal(gk.lease_owner, "w");
    assert_int_equal(gk.lease_expiry, 47);
    assert_int_equal(gk.attempts, 1);
    assert_int_equal(gk.created, k.created);
    store_task_release(&gk);

    assert_int_equal(store_fate_insert(tx, &fa, &fid), 0);
    assert_int_equal(store_fate_list(tx, "p/j", "tr", 10, &lf, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(lf[0].id, fid);
    assert_string_equal(lf[0].job_id, fa.job_id);
    assert_string_equal(lf[0].trigger_id, fa.trigger_id);
    assert_string_equal(lf[0].title, fa.title);
    assert_string_equal(lf[0].url, fa.url);
    assert_int_equal(lf[0].created, fa.created);
    assert_string_equal(lf[0].fate, fa.fate);
    assert_int_equal(lf[0].inv_id, fa.inv_id);
    assert_string_equal(lf[0].reason, fa.reason);
    assert_int_equal(lf[0].decided_at, fa.decided_at);
    assert_int_equal(lf[0].arrived_at, fa.arrived_at);
    store_fates_free(lf, n);
    assert_int_equal(store_commit(tx), 0);
}

/* An update writes every column but aborted_by (store.h). */
static void test_inv_update_all_columns(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_inv v = {.id = 21, .job_id = "p/j", .status = "STARTING", .mutations = 1,
                          .aborted_by = "user:ab@c.d"},
                     w = {.id = 21, .job_id = "p/k", .realm_id = "p:w", .started = 62,
                          .finished = 63, .status = "FAILED", .triggered_by = "user:w@y.z",
                          .request_json = "{\"w\":1}", .task_json = "{\"tw\":1}",
                          .revision = "rev4", .revision_url = "https://r/4",
                          .triggered_json = "[\"p/w\"]", .debug_log = "w log\n",
                          .retry_count = 64, .view_url = "https://v/w",
                          .task_data_json = "{\"dw\":1}", .mutations = 2,
                          .aborted_by = "ignored", .timers_json = "[{\"id\":\"w\"}]",
                          .outgoing_json = "[{\"id\":\"ow\"}]"},
                     g = {0};

    assert_int_equal(store_inv_insert(tx, &v), 0);
    assert_int_equal(store_inv_update(tx, &w, 1), 0);
    assert_int_equal(store_inv_get(tx, 21, &g), 0);
    assert_string_equal(g.job_id, w.job_id);
    assert_string_equal(g.realm_id, w.realm_id);
    assert_int_equal(g.started, w.started);
    assert_int_equal(g.finished, w.finished);
    assert_string_equal(g.status, w.status);
    assert_string_equal(g.triggered_by, w.triggered_by);
    assert_string_equal(g.request_json, w.request_json);
    assert_string_equal(g.task_json, w.task_json);
    assert_string_equal(g.revision, w.revision);
    assert_string_equal(g.revision_url, w.revision_url);
    assert_string_equal(g.triggered_json, w.triggered_json);
    assert_string_equal(g.debug_log, w.debug_log);
    assert_int_equal(g.retry_count, w.retry_count);
    assert_string_equal(g.view_url, w.view_url);
    assert_string_equal(g.task_data_json, w.task_data_json);
    assert_int_equal(g.mutations, w.mutations);
    assert_string_equal(g.aborted_by, v.aborted_by);
    assert_string_equal(g.timers_json, w.timers_json);
    assert_string_equal(g.outgoing_json, w.outgoing_json);
    store_inv_release(&g);
    assert_int_equal(store_commit(tx), 0);
}

/* NULL strings are stored as "", and the JSON arrays as "[]" (store.h). */
static void test_rows_null_strings(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_job j = {.id = "p/j", .project = "p", .name = "j"}, gj = {0};
    struct store_inv v = {.id = 5, .job_id = "p/j", .status = "STARTING"}, gv = {0};

    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_job_get(tx, "p/j", &gj), 0);
    assert_string_equal(gj.realm_id, "");
    assert_string_equal(gj.cron_json, "");
    assert_string_equal(gj.triggered_json, "[]");
    assert_string_equal(gj.active_json, "[]");
    assert_string_equal(gj.finished_json, "[]");
    store_job_release(&gj);
    assert_int_equal(store_inv_insert(tx, &v), 0);
    v.mutations = 1;
    assert_int_equal(store_inv_update(tx, &v, 0), 0);
    assert_int_equal(store_inv_get(tx, 5, &gv), 0);
    assert_string_equal(gv.debug_log, "");
    assert_string_equal(gv.task_data_json, "");
    assert_string_equal(gv.triggered_json, "[]");
    assert_string_equal(gv.timers_json, "[]");
    assert_string_equal(gv.outgoing_json, "[]");
    assert_int_equal(gv.mutations, 1);
    store_inv_release(&gv);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Secrets: absent until put, put replaces the whole row, a committed one
 * survives reopening the store, a rolled-back one is gone.
 */
static void test_secrets(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_secret a = {.name = "pubsub-hmac", .current = "k1hex", .previous = NULL},
                        got = {.name = "untouched"};

    assert_int_equal(store_secret_get(tx, "pubsub-hmac", &got), -ENOENT);
    assert_string_equal(got.name, "untouched"); /* written only on success */
    assert_int_equal(store_secret_put(tx, &a), 0);
    assert_int_equal(store_secret_get(tx, "pubsub-hmac", &got), 0);
    assert_string_equal(got.name, "pubsub-hmac");
    assert_string_equal(got.current, "k1hex");
    assert_string_equal(got.previous, "");
    assert_int_equal(got.rotated, 0);
    store_secret_release(&got);

    /* A rotation replaces the row. */
    a.current = "k2hex";
    a.previous = "k1hex";
    a.rotated = 77 * S;
    assert_int_equal(store_secret_put(tx, &a), 0);
    assert_int_equal(store_secret_get(tx, "pubsub-hmac", &got), 0);
    assert_string_equal(got.current, "k2hex");
    assert_string_equal(got.previous, "k1hex");
    assert_int_equal(got.rotated, 77 * S);
    store_secret_release(&got);
    assert_int_equal(store_secret_get(tx, "other", &got), -ENOENT);
    assert_int_equal(store_commit(tx), 0);

    /* Committed: it survives a reopen. */
    f->s = store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, NULL, 0), 0);
    tx = begin(f->s);
    assert_int_equal(store_secret_get(tx, "pubsub-hmac", &got), 0);
    assert_string_equal(got.current, "k2hex");
    assert_string_equal(got.previous, "k1hex");
    assert_int_equal(got.rotated, 77 * S);
    store_secret_release(&got);

    /* A put in a rolled-back transaction leaves nothing behind. */
    a.current = "k3hex";
    assert_int_equal(store_secret_put(tx, &a), 0);
    a.name = "second";
    assert_int_equal(store_secret_put(tx, &a), 0);
    store_rollback(tx);
    tx = begin(f->s);
    assert_int_equal(store_secret_get(tx, "pubsub-hmac", &got), 0);
    assert_string_equal(got.current, "k2hex");
    store_secret_release(&got);
    assert_int_equal(store_secret_get(tx, "second", &got), -ENOENT);

    /* Bad arguments. */
    a.name = "";
    assert_int_equal(store_secret_put(tx, &a), -EINVAL);
    assert_int_equal(store_secret_get(tx, NULL, &got), -EINVAL);
    store_rollback(tx);
}

/*
 * A database written before the secrets migration (schema version 2) gets
 * the secrets table at open, and keeps its rows.
 */
static void test_migration_to_secrets(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    struct store_job j = {.id = "p/j", .project = "p", .name = "j"}, gj = {0};
    struct store_secret a = {.name = "n", .current = "v"}, got = {0};

    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_commit(tx), 0);
    f->s = store_close(f->s);
    /* Back to version 2, as an older tock left it. */
    fx_exec(f, "DROP TABLE secrets; DROP TABLE job_states;"
                     " DROP INDEX jobs_by_project_name; DROP INDEX jobs_by_realm;"
                     " CREATE INDEX jobs_by_project ON jobs (project, enabled);"
                     " DELETE FROM schema_version WHERE version >= 3");
    assert_int_equal(fx_int(f, "SELECT max(version) FROM schema_version"), 2);

    assert_int_equal(store_open(f->url, &f->s, NULL, 0), 0);
    assert_int_equal(fx_int(f, "SELECT max(version) FROM schema_version"),
                     fx_version(f));
    tx = begin(f->s);
    assert_int_equal(store_job_get(tx, "p/j", &gj), 0);
    store_job_release(&gj);
    assert_int_equal(store_secret_get(tx, "n", &got), -ENOENT);
    assert_int_equal(store_secret_put(tx, &a), 0);
    assert_int_equal(store_secret_get(tx, "n", &got), 0);
    assert_string_equal(got.current, "v");
    store_secret_release(&got);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Per-job manager state: absent until put, replaced by a put, deleted by
 * "", transactional (a rolled-back put leaves nothing), durable across a
 * reopen, bounded, and one row per job.
 */
static void test_job_state(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx = begin(f->s);
    char *got = (char *)"untouched";

    assert_int_equal(store_job_state_get(tx, "p/j", &got), -ENOENT);
    assert_string_equal(got, "untouched"); /* written only on success */
    assert_int_equal(store_job_state_put(tx, "p/j", "{\"a\":1}"), 0);
    assert_int_equal(store_job_state_put(tx, "p/k", "{\"k\":2}"), 0);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), 0);
    assert_string_equal(got, "{\"a\":1}");
    free(got);
    assert_int_equal(store_job_state_put(tx, "p/j", "{\"a\":2}"), 0);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), 0);
    assert_string_equal(got, "{\"a\":2}");
    free(got);
    assert_int_equal(store_commit(tx), 0);

    /* Committed: it survives a reopen; the other job's row is its own. */
    f->s = store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, NULL, 0), 0);
    tx = begin(f->s);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), 0);
    assert_string_equal(got, "{\"a\":2}");
    free(got);
    assert_int_equal(store_job_state_get(tx, "p/k", &got), 0);
    assert_string_equal(got, "{\"k\":2}");
    free(got);

    /* A rolled-back put and delete leave the committed state. */
    assert_int_equal(store_job_state_put(tx, "p/j", "{\"a\":3}"), 0);
    assert_int_equal(store_job_state_put(tx, "p/k", ""), 0);
    assert_int_equal(store_job_state_get(tx, "p/k", &got), -ENOENT);
    store_rollback(tx);
    tx = begin(f->s);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), 0);
    assert_string_equal(got, "{\"a\":2}");
    free(got);
    assert_int_equal(store_job_state_get(tx, "p/k", &got), 0);
    free(got);

    /* "" deletes. */
    assert_int_equal(store_job_state_put(tx, "p/j", ""), 0);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), -ENOENT);

    /* Bad arguments. */
    assert_int_equal(store_job_state_put(tx, NULL, "x"), -EINVAL);
    assert_int_equal(store_job_state_put(tx, "p/j", NULL), -EINVAL);
    assert_int_equal(store_job_state_get(tx, "p/j", NULL), -EINVAL);
    assert_int_equal(store_commit(tx), 0);
    tx = begin(f->s);
    assert_int_equal(store_job_state_get(tx, "p/j", &got), -ENOENT);
    store_rollback(tx);
}

/* Puts project id in a transaction of its own, committed lazily or not. */
static void put_project(struct store *s, const char *id, bool lazy)
{
    struct store_tx *tx = begin(s);
    struct store_project p = {.id = (char *)id, .revision = "r", .enabled = true};

    assert_int_equal(store_project_put(tx, &p), 0);
    assert_int_equal(lazy ? store_commit_lazy(tx) : store_commit(tx), 0);
}

static bool has_project(struct store *s, const char *id)
{
    struct store_tx *tx = begin(s);
    struct store_project p = {0};
    int r = store_project_get(tx, id, &p);

    store_project_release(&p);
    store_rollback(tx);
    assert_true(r == 0 || r == -ENOENT);
    return r == 0;
}

/*
 * Group commit: lazy steps are seen by later transactions at once, a
 * rolled-back step undoes only itself, and one sync makes them all
 * durable in one commit.
 */
static void test_group_commit_lazy_steps(void **state)
{
    struct fixture *f = *state;
    struct store_stats st0, st1;
    struct store_tx *tx;
    struct store_project p = {.id = "gone", .revision = "r"};

    store_stats(f->s, &st0);
    put_project(f->s, "a", true);
    put_project(f->s, "b", true);
    tx = begin(f->s);
    assert_int_equal(store_project_put(tx, &p), 0);
    store_rollback(tx);
    assert_true(has_project(f->s, "a"));
    assert_true(has_project(f->s, "b"));
    assert_false(has_project(f->s, "gone"));
    assert_int_equal(store_sync(f->s), 0);
    store_stats(f->s, &st1);
    assert_int_equal(st1.commits - st0.commits, 1);
    assert_int_equal(st1.steps - st0.steps, 2);
    assert_int_equal(store_sync(f->s), 0); /* nothing waiting: no commit */
    store_stats(f->s, &st0);
    assert_int_equal(st0.commits, st1.commits);

    /* A durable commit takes the lazy steps before it along. */
    put_project(f->s, "c", true);
    put_project(f->s, "d", false);
    store_stats(f->s, &st1);
    assert_int_equal(st1.commits - st0.commits, 1);
}

struct committer {
    struct store *s;
    char id[16];
    int r;
};

static void *commit_one(void *arg)
{
    struct committer *c = arg;
    struct store_tx *tx = NULL;
    struct store_project p = {.id = c->id, .revision = "r", .enabled = true};

    c->r = store_begin(c->s, &tx);
    if (c->r == 0) {
        c->r = store_project_put(tx, &p);
        if (c->r == 0)
            c->r = store_commit(tx);
        else
            store_rollback(tx);
    }
    return NULL;
}

/*
 * Group commit between threads: durable commits of threads that queued
 * behind one open transaction share one disk commit, and each returns
 * only when its row is durable (all present after a reopen).
 */
static void test_group_commit_threads(void **state)
{
    enum { N = 4 };
    struct fixture *f = *state;
    struct committer c[N];
    pthread_t th[N];
    struct store_stats st0, st1;
    struct store_tx *tx;
    char err[256];

    store_stats(f->s, &st0);
    tx = begin(f->s);
    for (int i = 0; i < N; i++) {
        c[i] = (struct committer){.s = f->s};
        snprintf(c[i].id, sizeof(c[i].id), "p%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, commit_one, &c[i]), 0);
    }
    /* Let them queue behind tx (if one is late, it commits on its own: still < N + 1). */
    usleep(300 * 1000);
    assert_int_equal(store_commit(tx), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(c[i].r, 0);
    }
    store_stats(f->s, &st1);
    assert_int_equal(st1.steps - st0.steps, N + 1);
    if (f->shares_commits) /* SQLite; PostgreSQL's server shares WAL flushes instead */
        assert_true(st1.commits - st0.commits < N + 1);
    store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
    for (int i = 0; i < N; i++)
        assert_true(has_project(f->s, c[i].id));
}

/* Picks the back end from argv[1]; 77 (skipped) when PostgreSQL is not installed at all. */
static int pick_backend(int argc, char **argv)
{
    const char *skip = getenv("TOCK_TEST_PG_SKIP");
    const char *url = getenv("TOCK_TEST_PG");

    if (argc == 2 && strcmp(argv[1], "sqlite") == 0) {
        backend = BACKEND_SQLITE;
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "postgres") != 0) {
        fprintf(stderr, "usage: test-store-contract sqlite|postgres\n");
        return 2;
    }
    backend = BACKEND_POSTGRES;
    if (skip && access(skip, F_OK) == 0) {
        fprintf(stderr, "*** SKIPPED: no PostgreSQL server to test with (see %s) ***\n", skip);
        return 77;
    }
    if (!url || !url[0] || strlen(url) >= sizeof(pg_base)) {
        fprintf(stderr, "test-store-contract postgres: set TOCK_TEST_PG to a connection URL "
                        "(ctest starts a private cluster and sets it)\n");
        return 2;
    }
    snprintf(pg_base, sizeof(pg_base), "%s", url);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_lease_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_enqueue_is_transactional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inv_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inv_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_null_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inv_update_all_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_to_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_realms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_page_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_lease_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_set_cron, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_set_triage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inv_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_rearm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_lazy_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_threads, setup, teardown),
    };
    int r = pick_backend(argc, argv);

    if (r != 0)
        return r;
    return cmocka_run_group_tests_name(backend == BACKEND_POSTGRES ? "store contract: postgres"
                                                                   : "store contract: sqlite",
                                       tests, NULL, NULL);
}
