/*
 * test-store-sqlite.c - what only the SQLite back end of store.h does:
 * store URLs, WAL, one process per database file (and the leases a dead
 * process left freed at open), and a crashing process losing only the
 * lazy steps after its last durable commit.  The contract every back end
 * keeps is test-store-contract.c, run on SQLite and on PostgreSQL.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite.h"

#define S 1000000000LL

struct fixture {
    char dir[64];
    char path[128];
    char url[160];
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tock-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/tock.db", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[200];

    store_close(f->s);
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s.lock", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct store_tx *begin(struct store *s)
{
    struct store_tx *tx = NULL;
    assert_int_equal(store_begin(s, &tx), 0);
    return tx;
}

static void test_open_bad_urls(void **state)
{
    static const struct {
        int line;
        const char *url;
        int err;
    } cases[] = {
        {__LINE__, "", -EINVAL},
        {__LINE__, "nocolon", -EINVAL},
        {__LINE__, "postgres:x", -EINVAL},
        {__LINE__, "sqlite:", -EINVAL},
        {__LINE__, "sqlite:/nonexistent-dir/x/y.db", -EIO},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct store *s = NULL;
        char err[256] = "";
        int r = store_open(cases[i].url, &s, err, sizeof(err));
        if (r != cases[i].err)
            fail_msg("line %d: got %d (%s)", cases[i].line, r, err);
        assert_null(s);
        assert_true(err[0] != '\0');
    }
}

static void test_wal_and_sync(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static struct store_task task(const char *kind, int64_t due, const char *dedup)
{
    return (struct store_task){.kind = (char *)kind, .job_id = "p/j", .due = due,
                               .dedup_key = (char *)dedup, .payload_json = "{}"};
}

static void dummy_notice(void *ctx, int64_t due)
{
    (void)ctx;
    (void)due;
    fail_msg("a SQLite store has no one to hear from");
}

/*
 * One process per database file: a second open is refused while the first
 * holds the file, and a reopen frees the leases a dead process left.
 */
static void test_one_process_per_file(void **state)
{
    struct fixture *f = *state;
    struct store *other = NULL;
    struct store_task t = task("a", 1 * S, ""), got = {0};
    char err[256] = "";

    assert_int_equal(store_open(f->url, &other, err, sizeof(err)), -EBUSY);
    assert_null(other);
    assert_non_null(strstr(err, "another tock process"));
    /* So no one else adds work: there is nothing to watch (store_watch). */
    assert_int_equal(store_watch(f->s, dummy_notice, NULL), -ENOTSUP);
    store_unwatch(f->s); /* harmless */

    struct store_tx *tx = begin(f->s);
    assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
    assert_int_equal(store_task_lease(tx, 2 * S, "dead", 3600 * S, &got), 0);
    store_task_release(&got);
    assert_int_equal(store_commit(tx), 0);

    f->s = store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
    tx = begin(f->s);
    /* Without the reopen this lease would hold until 3602 s. */
    assert_int_equal(store_task_lease(tx, 3 * S, "alive", 60 * S, &got), 0);
    assert_string_equal(got.kind, "a");
    assert_int_equal(got.attempts, 2);
    store_task_release(&got);
    assert_int_equal(store_commit(tx), 0);
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
 * A crash (the process dies without closing the store) loses the lazy
 * steps after the last durable commit, and nothing before it.
 */
static void test_group_commit_crash(void **state)
{
    struct fixture *f = *state;
    char err[256];
    pid_t pid;
    int status = 0;

    store_close(f->s);
    f->s = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *s = NULL;
        if (store_open(f->url, &s, err, sizeof(err)) < 0)
            _exit(2);
        put_project(s, "early-lazy", true);
        put_project(s, "durable", false);
        put_project(s, "late-lazy", true);
        _exit(0); /* no store_close: a crash */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_open(f->url, &f->s, err, sizeof(err)), 0);
    assert_true(has_project(f->s, "early-lazy"));
    assert_true(has_project(f->s, "durable"));
    assert_false(has_project(f->s, "late-lazy"));
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * The WAL is copied into the database file while the store is open and
 * idle (sqlite-checkpoint.h: the checkpointer's idle re-check; before it
 * SQLite's auto-checkpoint did it inside the writer's COMMIT): 6 MiB of
 * rows committed, then no more commits, and within 10 s the database file
 * holds them.
 */
static void test_wal_checkpointed_when_idle(void **state)
{
    struct fixture *f = *state;
    static char payload[3001];
    off_t before = file_size(f->path), after = before;
    struct store_tx *tx;

    memset(payload, 'x', sizeof(payload) - 1);
    payload[0] = '"';
    payload[sizeof(payload) - 2] = '"';
    tx = begin(f->s);
    for (int i = 0; i < 2000; i++) {
        struct store_task t = task("a", (i + 1) * S, "");
        t.payload_json = payload;
        assert_int_equal(store_task_enqueue(tx, &t, NULL), 0);
    }
    assert_int_equal(store_commit(tx), 0);
    for (int i = 0; i < 200 && after < before + (5 << 20); i++) {
        usleep(50000);
        after = file_size(f->path);
    }
    assert_true(after >= before + (5 << 20));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_urls),
        cmocka_unit_test_setup_teardown(test_wal_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_process_per_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpointed_when_idle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
