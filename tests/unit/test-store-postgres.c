/*
 * test-store-postgres.c - what only the PostgreSQL back end of store.h
 * does: URLs, replicas sharing one database (two stores on one schema):
 * concurrent leases never take the same row (FOR UPDATE SKIP LOCKED), a
 * dead replica's lease is taken over when it expires,
 * a lost read-modify-write race is -EAGAIN and a redo succeeds (but a
 * conflict on a transaction's first statement is redone inside), replicas
 * opening a fresh database together migrate it once (advisory lock), and
 * a connection killed by the server is -EAGAIN in a transaction, -EIO at
 * COMMIT (outcome unknown), and re-established by the next begin; a
 * conflict is counted by store_thread_conflicts(); a watcher
 * (store_watch) hears of the other replica's committed enqueues and
 * retries with their due times, and of nothing rolled back.
 *
 * Needs $TOCK_TEST_PG (ctest's private cluster, tests/lib/pg-cluster.sh);
 * exits 77 (skipped, loudly) only when $TOCK_TEST_PG_SKIP names a file.
 * The contract every back end keeps is test-store-contract.c.
 */
#include "base/compat.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <cmocka.h>
#include <unistd.h>

#include "pg-test.h"
#include "store/postgres.h"

#define S 1000000000LL

static char pg_base[1024]; /* $TOCK_TEST_PG */

struct fixture {
    char schema[64];
    char url[1400];    /* the case's schema */
    char victim[1500]; /* the same, application_name=tock-victim */
    struct store *s1, *s2;
};

/* Kills the server sessions of the stores opened on f->victim; returns how many. */
static int64_t kill_victims(void)
{
    return pg_test_run(pg_base, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = 'tock-victim'");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    pg_test_schema(pg_base, "tock_pgtest", f->schema, sizeof(f->schema), f->url, sizeof(f->url));
    snprintf(f->victim, sizeof(f->victim), "%s&application_name=tock-victim", f->url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char sql[128];

    store_close(f->s1);
    store_close(f->s2);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
    pg_test_run(pg_base, sql);
    free(f);
    return 0;
}

static struct store *open_ok(const char *url)
{
    struct store *s = NULL;
    char err[512] = "";

    if (store_open(url, &s, err, sizeof(err)) != 0)
        fail_msg("store_open(%s): %s", url, err);
    return s;
}

static struct store_tx *begin(struct store *s)
{
    struct store_tx *tx = NULL;
    assert_int_equal(store_begin(s, &tx), 0);
    return tx;
}

static void test_urls(void **state)
{
    static const struct {
        int line;
        const char *url;
        int err;
    } cases[] = {
        {__LINE__, "postgres:x", -EINVAL},
        {__LINE__, "postgresql:dbname=x", -EINVAL},
        {__LINE__, "postgres://h/db?no_such_libpq_parameter=1", -EINVAL},
        {__LINE__, "postgresql:///tock?host=/nonexistent-dir", -EIO},
        {__LINE__, "postgresql:///tock?tock_pool=0", -EINVAL},
        {__LINE__, "postgresql:///tock?host=/x&tock_pool=65", -EINVAL},
        {__LINE__, "postgresql:///tock?tock_pool=2x", -EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct store *s = NULL;
        char err[512] = "";
        int r = store_open(cases[i].url, &s, err, sizeof(err));
        if (r != cases[i].err)
            fail_msg("line %d: got %d (%s)", cases[i].line, r, err);
        assert_null(s);
        assert_true(err[0] != '\0');
    }
}

/* Both schemes open the same database; tock_pool is tock's, not libpq's. */
static void test_both_schemes(void **state)
{
    struct fixture *f = *state;
    char other[1400];
    struct store_tx *tx;
    struct store_secret sec = {.name = "n", .current = "v"}, got = {0};

    assert_true(strncmp(f->url, "postgresql://", 13) == 0);
    snprintf(other, sizeof(other), "postgres://%s&tock_pool=1", f->url + 13);
    f->s1 = open_ok(f->url);
    f->s2 = open_ok(other);
    tx = begin(f->s1);
    assert_int_equal(store_secret_put(tx, &sec), 0);
    assert_int_equal(store_commit(tx), 0);
    tx = begin(f->s2);
    assert_int_equal(store_secret_get(tx, "n", &got), 0);
    assert_string_equal(got.current, "v");
    store_secret_release(&got);
    store_rollback(tx);
}

/*
 * Two replicas lease at the same time: the second skips the row the
 * first holds (FOR UPDATE SKIP LOCKED) instead of waiting or taking it.
 * Under SERIALIZABLE one of the two commits may fail with -EAGAIN (the
 * predicate locks of both picks overlap); then that lease is undone and
 * the row is free again.  Never do both own one row.
 */
static void test_concurrent_leases(void **state)
{
    struct fixture *f = *state;
    struct store_tx *t1, *t2;
    struct store_task a = {0}, b = {0}, c = {0};
    int r1, r2;
    size_t n = 0;

    f->s1 = open_ok(f->url);
    f->s2 = open_ok(f->url);
    t1 = begin(f->s1);
    for (int i = 0; i < 3; i++) {
        struct store_task t = {.kind = "k", .job_id = "p/j", .due = (1 + i) * S};
        assert_int_equal(store_task_enqueue(t1, &t, NULL), 0);
    }
    assert_int_equal(store_commit(t1), 0);

    t1 = begin(f->s1);
    t2 = begin(f->s2);
    assert_int_equal(store_task_lease(t1, 10 * S, "w1", 60 * S, &a), 0);
    assert_int_equal(store_task_lease(t2, 10 * S, "w2", 60 * S, &b), 0);
    assert_true(a.id != b.id);
    assert_int_equal(a.due, 1 * S); /* the oldest due; the second the oldest free */
    assert_int_equal(b.due, 2 * S);
    r1 = store_commit(t1);
    r2 = store_commit(t2);
    assert_true(r1 == 0 || r1 == -EAGAIN);
    assert_true(r2 == 0 || r2 == -EAGAIN);
    assert_true(r1 == 0 || r2 == 0);

    /* What committed is held; what failed is free again (attempt not counted). */
    t1 = begin(f->s1);
    for (;;) {
        int r = store_task_lease(t1, 10 * S, "w3", 60 * S, &c);
        if (r == -ENOENT)
            break;
        assert_int_equal(r, 0);
        assert_int_equal(c.attempts, 1);
        assert_true((c.id != a.id || r1 != 0) && (c.id != b.id || r2 != 0));
        store_task_release(&c);
        assert_true(++n <= 3);
    }
    assert_int_equal(n, 1 + (r1 != 0) + (r2 != 0));
    store_rollback(t1);
    store_task_release(&a);
    store_task_release(&b);
}

/*
 * A replica dies holding a committed lease: the other takes the row over
 * when the lease expires, not before, and that delivery is attempt 2.
 */
static void test_dead_replica_lease_taken_over(void **state)
{
    struct fixture *f = *state;
    struct store_task t = {.kind = "k", .job_id = "p/j", .due = 1 * S}, got = {0};
    struct store_tx *tx;
    int64_t id = 0;

    f->s1 = open_ok(f->url);
    tx = begin(f->s1);
    assert_int_equal(store_task_enqueue(tx, &t, &id), 0);
    assert_int_equal(store_task_lease(tx, 2 * S, "dead", 60 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_commit(tx), 0);
    f->s1 = store_close(f->s1); /* the replica is gone */

    f->s2 = open_ok(f->url); /* opening frees nothing */
    tx = begin(f->s2);
    assert_int_equal(store_task_lease(tx, 61 * S, "alive", 60 * S, &got), -ENOENT);
    assert_int_equal(store_task_lease(tx, 62 * S, "alive", 60 * S, &got), 0);
    assert_int_equal(got.id, id);
    assert_int_equal(got.attempts, 2);
    assert_string_equal(got.lease_owner, "alive");
    store_task_release(&got);
    assert_int_equal(store_task_done(tx, id, "dead"), -ESTALE);
    assert_int_equal(store_task_done(tx, id, "alive"), 0);
    assert_int_equal(store_commit(tx), 0);
}

/*
 * Two replicas read and rewrite one job: the second writer lost the race.
 * Its op (or commit) is -EAGAIN, every later op of that transaction too,
 * and the whole transaction redone succeeds and sees the first write.
 */
static void test_lost_race_is_eagain(void **state)
{
    struct fixture *f = *state;
    struct store_job j = {.id = "p/j", .project = "p", .name = "j", .schedule = "0"};
    struct store_job g1 = {0}, g2 = {0};
    struct store_tx *t1, *t2;
    uint64_t conflicts;
    int r;

    f->s1 = open_ok(f->url);
    f->s2 = open_ok(f->url);
    t1 = begin(f->s1);
    assert_int_equal(store_job_put(t1, &j), 0);
    assert_int_equal(store_commit(t1), 0);

    t1 = begin(f->s1);
    t2 = begin(f->s2);
    assert_int_equal(store_job_get(t1, "p/j", &g1), 0);
    assert_int_equal(store_job_get(t2, "p/j", &g2), 0);
    free(g1.schedule);
    g1.schedule = strdup("1");
    assert_int_equal(store_job_put(t1, &g1), 0);
    assert_int_equal(store_commit(t1), 0);
    free(g2.schedule);
    g2.schedule = strdup("2");
    conflicts = store_thread_conflicts();
    r = store_job_put(t2, &g2);
    if (r == 0)
        r = store_commit(t2);
    else {
        struct store_job x = {0};
        assert_int_equal(r, -EAGAIN);
        assert_int_equal(store_job_get(t2, "p/j", &x), -EAGAIN); /* aborted */
        store_rollback(t2);
    }
    assert_int_equal(r, -EAGAIN);
    assert_non_null(strstr(store_errmsg(f->s2), "serialize"));
    /* The thread's conflict count tells this -EAGAIN from a caller's own (counted once). */
    assert_int_equal(store_thread_conflicts() - conflicts, 1);

    /* The redo reads the winner's write. */
    store_job_release(&g2);
    t2 = begin(f->s2);
    assert_int_equal(store_job_get(t2, "p/j", &g2), 0);
    assert_string_equal(g2.schedule, "1");
    assert_int_equal(store_commit(t2), 0);
    store_job_release(&g1);
    store_job_release(&g2);
}

struct putter {
    struct store *s;
    int r_put, r_commit;
};

/* Begins and rewrites job p/j as its first statement (it waits for the row lock of another). */
static void *put_first(void *arg)
{
    struct putter *w = arg;
    struct store_job j = {.id = "p/j", .project = "p", .name = "j", .schedule = "second"};
    struct store_tx *tx = NULL;

    w->r_put = store_begin(w->s, &tx);
    if (w->r_put == 0) {
        w->r_put = store_job_put(tx, &j);
        if (w->r_put == 0)
            w->r_commit = store_commit(tx);
        else
            store_rollback(tx);
    }
    return NULL;
}

/*
 * A conflict on the first statement of a transaction (nothing read yet)
 * is redone by the back end in a new transaction: the caller sees 0, not
 * -EAGAIN.  Here the second writer waits for the first's row lock; once
 * the first commits, its snapshot is too old (40001), and the redo wins.
 */
static void test_first_statement_redone(void **state)
{
    struct fixture *f = *state;
    struct store_job j = {.id = "p/j", .project = "p", .name = "j", .schedule = "first"};
    struct store_job got = {0};
    struct putter w = {0};
    struct store_tx *tx;
    pthread_t th;

    f->s1 = open_ok(f->url);
    f->s2 = open_ok(f->url);
    w.s = f->s2;
    tx = begin(f->s1);
    assert_int_equal(store_job_put(tx, &j), 0);
    assert_int_equal(store_commit(tx), 0);
    tx = begin(f->s1);
    assert_int_equal(store_job_put(tx, &j), 0); /* holds the row lock */
    assert_int_equal(pthread_create(&th, NULL, put_first, &w), 0);
    usleep(200 * 1000); /* let it wait for the lock (if it is late, it just wins later) */
    assert_int_equal(store_commit(tx), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.r_put, 0);
    assert_int_equal(w.r_commit, 0);
    tx = begin(f->s1);
    assert_int_equal(store_job_get(tx, "p/j", &got), 0);
    assert_string_equal(got.schedule, "second");
    store_job_release(&got);
    store_rollback(tx);
}

struct opener {
    const char *url;
    int r;
    struct store *s;
};

static void *open_one(void *arg)
{
    struct opener *o = arg;
    char err[256];

    o->r = store_open(o->url, &o->s, err, sizeof(err));
    return NULL;
}

/* Replicas that start together on an empty database migrate it once. */
static void test_concurrent_open_migrates_once(void **state)
{
    enum { N = 4 };
    struct fixture *f = *state;
    struct opener o[N];
    pthread_t th[N];
    char sql[160];

    for (int i = 0; i < N; i++) {
        o[i] = (struct opener){.url = f->url};
        assert_int_equal(pthread_create(&th[i], NULL, open_one, &o[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(o[i].r, 0);
        store_close(o[i].s);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_version", f->schema);
    assert_int_equal(pg_test_run(pg_base, sql), store_postgres_schema_version());
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT version) FROM %s.schema_version",
             f->schema);
    assert_int_equal(pg_test_run(pg_base, sql), store_postgres_schema_version());
}

/*
 * The server kills the store's session: inside a transaction the op is
 * -EAGAIN (redo it); at COMMIT the outcome is unknown, -EIO; the next
 * begin reconnects and works.
 */
static void test_lost_connection(void **state)
{
    struct fixture *f = *state;
    struct store_project p = {.id = "p", .revision = "r", .enabled = true}, got = {0};
    struct store_tx *tx;

    f->s1 = open_ok(f->victim);
    tx = begin(f->s1);
    assert_int_equal(store_project_put(tx, &p), 0);
    assert_int_equal(store_commit(tx), 0);

    /* In a transaction: -EAGAIN, and the rollback still ends it. */
    tx = begin(f->s1);
    assert_true(kill_victims() >= 1);
    assert_int_equal(store_project_get(tx, "p", &got), -EAGAIN);
    store_rollback(tx);

    /* The next begin reconnects. */
    tx = begin(f->s1);
    assert_int_equal(store_project_get(tx, "p", &got), 0);
    assert_string_equal(got.revision, "r");
    store_project_release(&got);

    /* At COMMIT: -EIO, never 0 or -EAGAIN. */
    p.revision = "r2";
    assert_int_equal(store_project_put(tx, &p), 0);
    assert_true(kill_victims() >= 1);
    assert_int_equal(store_commit(tx), -EIO);
    assert_non_null(strstr(store_errmsg(f->s1), "outcome unknown"));

    /* Here it did not happen (the session died before COMMIT reached it). */
    tx = begin(f->s1);
    assert_int_equal(store_project_get(tx, "p", &got), 0);
    assert_string_equal(got.revision, "r");
    store_project_release(&got);
    store_rollback(tx);
}

struct waiter {
    struct store *s;
    atomic_bool *released;
    bool saw_released;
    int r;
};

static void *begin_after(void *arg)
{
    struct waiter *w = arg;
    struct store_tx *tx = NULL;

    w->r = store_begin(w->s, &tx);
    w->saw_released = atomic_load(w->released);
    if (w->r == 0)
        store_rollback(tx);
    return NULL;
}

/* With tock_pool=1, a second transaction waits for the first to end. */
static void test_pool_blocks(void **state)
{
    struct fixture *f = *state;
    char url[1500];
    atomic_bool released = false;
    struct waiter w = {.released = &released};
    struct store_tx *tx;
    pthread_t th;

    snprintf(url, sizeof(url), "%s&tock_pool=1", f->url);
    f->s1 = open_ok(url);
    w.s = f->s1;
    tx = begin(f->s1);
    assert_int_equal(pthread_create(&th, NULL, begin_after, &w), 0);
    usleep(100 * 1000); /* let it wait (if it is late, the test still holds) */
    atomic_store(&released, true);
    store_rollback(tx);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.r, 0);
    assert_true(w.saw_released);
}

/* Lazy commits are seen at once by the other replica; sync makes them durable. */
static void test_lazy_seen_by_replica(void **state)
{
    struct fixture *f = *state;
    struct store_project p = {.id = "lazy", .revision = "r", .enabled = true}, got = {0};
    struct store_stats st0, st1;
    struct store_tx *tx;

    f->s1 = open_ok(f->url);
    f->s2 = open_ok(f->url);
    store_stats(f->s1, &st0);
    tx = begin(f->s1);
    assert_int_equal(store_project_put(tx, &p), 0);
    assert_int_equal(store_commit_lazy(tx), 0);
    tx = begin(f->s2);
    assert_int_equal(store_project_get(tx, "lazy", &got), 0);
    store_project_release(&got);
    store_rollback(tx);
    assert_int_equal(store_sync(f->s2), 0); /* s2 made no lazy commit: nothing to do */
    store_stats(f->s2, &st1);
    assert_int_equal(st1.commits, 0);
    assert_int_equal(store_sync(f->s1), 0);
    store_stats(f->s1, &st1);
    assert_int_equal(st1.commits - st0.commits, 1);
    assert_int_equal(st1.steps - st0.steps, 1);
}

/* What a watcher (store_watch) was told: the due times of the notices, in order. */
struct notices {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t due[256];
    size_t n;
};

static void on_notice(void *ctx, int64_t due)
{
    struct notices *nb = ctx;

    pthread_mutex_lock(&nb->lock);
    if (nb->n < ARRAY_SIZE(nb->due))
        nb->due[nb->n++] = due;
    pthread_cond_broadcast(&nb->cond);
    pthread_mutex_unlock(&nb->lock);
}

/* Whether the watcher saw due (waiting at most 10 s for it; other tests may notify too). */
static bool saw_notice(struct notices *nb, int64_t due)
{
    struct timespec ts;
    bool seen = false;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&nb->lock);
    for (size_t i = 0;;) {
        for (; i < nb->n && !seen; i++)
            seen = nb->due[i] == due;
        if (seen || pthread_cond_timedwait(&nb->cond, &nb->lock, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&nb->lock);
    return seen;
}

static bool notice_seen_yet(struct notices *nb, int64_t due)
{
    bool seen = false;

    pthread_mutex_lock(&nb->lock);
    for (size_t i = 0; i < nb->n && !seen; i++)
        seen = nb->due[i] == due;
    pthread_mutex_unlock(&nb->lock);
    return seen;
}

static int64_t enqueue_due(struct store *s, int64_t due, bool commit)
{
    struct store_task t = {.kind = "k", .job_id = "p/j", .due = due, .created = 1};
    struct store_tx *tx = begin(s);
    int64_t id = 0;

    assert_int_equal(store_task_enqueue(tx, &t, &id), 0);
    if (commit)
        assert_int_equal(store_commit(tx), 0);
    else
        store_rollback(tx);
    return id;
}

/*
 * Wake-ups across replicas: a task enqueued, or made due again by a
 * retry, in one replica's committed transaction reaches the other
 * replica's watcher with its due time; a rolled back enqueue announces
 * nothing (notices arrive in commit order, so once a later commit's
 * notice is in, the rolled back one will never come).  Unwatching stops
 * the notices.
 */
static void test_watch_notices(void **state)
{
    struct fixture *f = *state;
    struct notices nb = {.n = 0};
    int64_t base = (int64_t)getpid() * 1000000 + 1, id;
    struct store_task leased = {0};
    struct store_tx *tx;

    pthread_mutex_init(&nb.lock, NULL);
    pthread_cond_init(&nb.cond, NULL);
    f->s1 = open_ok(f->url);
    f->s2 = open_ok(f->url);
    assert_int_equal(store_watch(f->s1, on_notice, &nb), 0);
    assert_int_equal(store_watch(f->s1, on_notice, &nb), -EALREADY);

    enqueue_due(f->s2, base, false);      /* rolled back */
    id = enqueue_due(f->s2, base + 1, true);
    assert_true(saw_notice(&nb, base + 1));
    assert_false(notice_seen_yet(&nb, base));

    /* A retry moves the due time: announced as well. */
    tx = begin(f->s2);
    assert_int_equal(store_task_lease_id(tx, id, base + 1, "w2", 30 * S, &leased), 0);
    assert_int_equal(store_task_retry(tx, id, "w2", base + 2), 0);
    assert_int_equal(store_commit(tx), 0);
    store_task_release(&leased);
    assert_true(saw_notice(&nb, base + 2));

    /* A duplicate dedup key adds no row and announces nothing. */
    {
        struct store_task t = {.kind = "k", .due = base + 3, .dedup_key = "d", .created = 1};
        tx = begin(f->s2);
        assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
        assert_int_equal(store_commit(tx), 0);
        assert_true(saw_notice(&nb, base + 3));
        t.due = base + 4;
        tx = begin(f->s2);
        assert_int_equal(store_task_enqueue(tx, &t, NULL), 1);
        assert_int_equal(store_commit(tx), 0);
        enqueue_due(f->s2, base + 5, true);
        assert_true(saw_notice(&nb, base + 5));
        assert_false(notice_seen_yet(&nb, base + 4));
    }

    store_unwatch(f->s1); /* joins the listener: nb may go away after it */
    store_unwatch(f->s1); /* idempotent */
    assert_int_equal(store_watch(f->s1, on_notice, &nb), 0); /* and may watch again */
    store_unwatch(f->s1);
    pthread_mutex_destroy(&nb.lock);
    pthread_cond_destroy(&nb.cond);
}

static int pick(void)
{
    const char *skip = getenv("TOCK_TEST_PG_SKIP");
    const char *url = getenv("TOCK_TEST_PG");

    if (skip && access(skip, F_OK) == 0) {
        fprintf(stderr, "*** SKIPPED: no PostgreSQL server to test with (see %s) ***\n", skip);
        return 77;
    }
    if (!url || !url[0] || strlen(url) >= sizeof(pg_base)) {
        fprintf(stderr, "test-store-postgres: set TOCK_TEST_PG to a connection URL "
                        "(ctest starts a private cluster and sets it)\n");
        return 2;
    }
    snprintf(pg_base, sizeof(pg_base), "%s", url);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test_setup_teardown(test_both_schemes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_replica_lease_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_race_is_eagain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_statement_redone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_open_migrates_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_seen_by_replica, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_notices, setup, teardown),
    };
    int r = pick();

    if (r != 0)
        return r;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
