/*
 * bench-engine.c - the engine's speed figures (issue 3), on the real engine
 * over a real SQLite file (WAL, synchronous=FULL) in a temp directory under
 * $TMPDIR (default /tmp), with the real clock and worker threads.
 *
 *   bench-engine throughput [N] [JOBS] [BATCH] [THROTTLE_MS] [noop]
 *       N invocations of a bench manager whose launch() succeeds at once
 *       (or, with "noop", of the real noop manager sleeping 1 ms).  JOBS
 *       triggered jobs with NEWEST_FIRST (one invocation per trigger); each
 *       engine_emit_triggers() call sends BATCH triggers to one job (round
 *       robin).  At most 1000 triggers are in flight (the pending cap).
 *   bench-engine throughput-shared ME PROCS N JOBS BATCH DIR
 *       throughput with PROCS processes (replicas, 2 workers each) on one
 *       $TOCK_BENCH_DB; this is process ME (0 emits; see
 *       bench_throughput_shared).  DIR is a directory the processes share.
 *   bench-engine emit [N] [BATCH]
 *       N triggers posted to EmitTriggers over HTTP (libcurl, keep-alive),
 *       BATCH triggers per request, to one job; workers run meanwhile.
 *   bench-engine latency [ROUNDS] [luci|fast]
 *       trigger emitted -> launch() called, one at a time on an idle engine.
 *   bench-engine scale [JOBS] [SECONDS] [SCHEDULE]
 *       JOBS cron jobs (default "H * * * *"): apply time, RSS, idle and
 *       ticking CPU, tick lateness.
 *   bench-engine commitrate [SECONDS]
 *       the disk's own limit: one-row SQLite commits per second (WAL,
 *       synchronous=FULL, then NORMAL) in a file under $TMPDIR.
 *
 * $TOCK_BENCH_DB, if set, is the store's URL instead of a SQLite file in
 * the temp directory (an empty database: postgres://...).
 *
 * throughput also measures the FULL commit rate before and after its run
 * (the machine is shared: the figures move), and prints the store's
 * durable commits (store_stats: one WAL sync each) per invocation.
 *
 * Figures go to stdout; nothing is asserted (the machines are noisy).
 * Exit status 1 only when the setup itself fails.
 */
#include "base/compat.h"

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine.h"
#include "net/http.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "tasks/registry.h"

#define MS (INT64_C(1000000))
#define LATE_MAX 2000000 /* lateness samples kept */

/* ---- what the bench manager records (its launch() runs on worker threads) ---- */

static struct {
    atomic_long launched;
    atomic_llong last_launch_ns;
    bool record_late; /* scale: compute tick lateness in launch() */
    pthread_mutex_t lock;
    int64_t *tick_late;   /* tick committed - scheduled tick, ns (engine on_tick) */
    int64_t *launch_late; /* launch() called - scheduled tick, ns */
    size_t n_tick, n_late;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_SEC), .tv_nsec = (long)(ns % NS_PER_SEC)};

    nanosleep(&ts, NULL);
}

/*
 * The scheduled tick a cron trigger created at created belongs to: the
 * last fire time of the job's schedule at or before created (the schedules
 * used here fire at least hourly).  0 when unknown.
 */
static int64_t scheduled_tick(const char *job_id, const char *sched_text, int64_t created)
{
    struct schedule_options so = {.job_id = job_id};
    struct schedule *s = NULL;
    char err[128];
    int64_t t, prev = 0;

    if (schedule_parse(sched_text, &so, &s, err, sizeof(err)) < 0)
        return 0;
    t = schedule_next(s, created - 3601 * NS_PER_SEC, 0);
    while (t > 0 && t <= created) {
        prev = t;
        t = schedule_next(s, t, 0);
    }
    schedule_free(s);
    return prev;
}

static const char *scale_schedule = "H * * * *";

static void record_lateness(const struct task_ctl *c, int64_t now)
{
    const json_t *trig = json_array_get(json_object_get(c->request, "incomingTriggers"), 0);
    const char *created_s = json_string_value(json_object_get(trig, "created"));
    int64_t created = 0, tick;

    if (!created_s || time_parse_rfc3339(created_s, &created) < 0)
        return;
    tick = scheduled_tick(c->job_id, scale_schedule, created);
    if (!tick)
        return;
    pthread_mutex_lock(&g.lock);
    if (g.n_late < LATE_MAX) {
        g.launch_late[g.n_late] = now - tick;
        g.n_late++;
    }
    pthread_mutex_unlock(&g.lock);
}

static int bench_launch(const struct task_manager *m, struct task_ctl *c)
{
    int64_t now = wall_ns();

    (void)m;
    if (g.record_late)
        record_lateness(c, now);
    atomic_store(&g.last_launch_ns, now);
    atomic_fetch_add(&g.launched, 1);
    c->status = INV_SUCCEEDED;
    return 0;
}

/* The engine's on_tick: a committed cron tick, with the engine clock at its commit. */
static void on_tick(void *ctx, const char *job_id, int64_t scheduled_ns, int64_t committed_ns)
{
    (void)ctx;
    (void)job_id;
    if (!g.record_late)
        return;
    pthread_mutex_lock(&g.lock);
    if (g.n_tick < LATE_MAX)
        g.tick_late[g.n_tick++] = committed_ns - scheduled_ns;
    pthread_mutex_unlock(&g.lock);
}

/* Named "noop" so that configs say `noop {}`. */
static const struct task_manager bench_manager = {
    .name = "noop",
    .fast = true,
    .launch = bench_launch,
};

/* ---- the fixture: temp dir, store, registry, engine ---- */

struct fx {
    char dir[256];
    char url[300];
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
};

static void fx_close(struct fx *f)
{
    char path[320];

    f->e = engine_free(f->e);
    if (f->store)
        store_close(f->store);
    f->store = NULL;
    f->reg = task_registry_free(f->reg);
    if (f->dir[0]) {
        static const char *const files[] = {"tock.db", "tock.db-wal", "tock.db-shm",
                                            "tock.db.lock"};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
            snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
            unlink(path);
        }
        rmdir(f->dir);
        f->dir[0] = 0;
    }
}

/*
 * Opens a fresh store and an engine with settings set; real_noop picks
 * tock's noop manager (sleeping 1 ms) instead of the bench manager.
 * Returns 0 or -errno (with a message on stderr).
 */
static int fx_open(struct fx *f, const struct engine_settings *set, bool real_noop)
{
    const char *tmp = getenv("TMPDIR");
    char err[256];
    int r;

    *f = (struct fx){.dir = ""};
    snprintf(f->dir, sizeof(f->dir), "%s/tock-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        r = -errno;
        f->dir[0] = 0;
        fprintf(stderr, "mkdtemp: %s\n", strerror(-r));
        return r;
    }
    /* $TOCK_BENCH_DB: another store (an empty PostgreSQL database) instead of a new file. */
    if (getenv("TOCK_BENCH_DB") && getenv("TOCK_BENCH_DB")[0])
        snprintf(f->url, sizeof(f->url), "%s", getenv("TOCK_BENCH_DB"));
    else
        snprintf(f->url, sizeof(f->url), "sqlite:%s/tock.db", f->dir);
    r = store_open(f->url, &f->store, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "store_open: %s\n", err);
        goto out;
    }
    if (real_noop) {
        struct task_options to = {.noop_default_sleep_ns = 1 * MS};
        r = task_registry_default(&to, &f->reg);
    } else {
        f->reg = task_registry_new();
        r = f->reg ? task_registry_add(f->reg, &bench_manager) : -ENOMEM;
    }
    if (r < 0)
        goto out;
    struct engine_options o = {
        .store = f->store,
        .registry = f->reg,
        .settings = *set,
        .workers = 2,
        .on_tick = on_tick,
    };
    r = engine_new(&o, &f->e);
out:
    if (r < 0) {
        fprintf(stderr, "setup failed: %s\n", strerror(-r));
        fx_close(f);
    }
    return r;
}

/* Parses and applies a config text to project "bench"; *ret_ns = apply time. */
static int apply_text(struct fx *f, const char *text, size_t len, int64_t *ret_ns,
                      struct cfg_project **ret_cfg)
{
    struct cfg_project *p = NULL;
    struct cfg_diags d;
    int64_t t0;
    int r;

    cfg_diags_init(&d);
    r = cfg_project_parse(text, len, &p, &d);
    if (r < 0) {
        fprintf(stderr, "config does not parse\n");
        goto out;
    }
    t0 = mono_ns();
    r = engine_apply_project(f->e, "bench", p, NULL, "rev1", "");
    if (ret_ns)
        *ret_ns = mono_ns() - t0;
    if (r < 0)
        fprintf(stderr, "engine_apply_project: %s\n", strerror(-r));
out:
    if (r == 0 && ret_cfg)
        *ret_cfg = p;
    else
        cfg_project_free(p);
    cfg_diags_release(&d);
    return r;
}

/* Count of live task rows of kind (-1 when the store fails). */
static long task_rows(struct fx *f, const char *kind)
{
    struct store_tx *tx = NULL;
    size_t n = 0;

    if (store_begin(f->store, &tx) < 0)
        return -1;
    if (store_task_count(tx, kind, &n) < 0) {
        store_rollback(tx);
        return -1;
    }
    store_rollback(tx);
    return (long)n;
}

/* Waits until no launch or triage row is left (every invocation final). */
static void wait_quiet(struct fx *f, int64_t timeout_ns)
{
    int64_t end = mono_ns() + timeout_ns;

    while (mono_ns() < end) {
        if (task_rows(f, "launch") == 0 && task_rows(f, "triage") == 0)
            return;
        sleep_ns(10 * MS);
    }
    fprintf(stderr, "warning: not quiet after %.0f s\n", (double)timeout_ns / 1e9);
}

static json_t *make_trigger(const char *id, int64_t created, int order)
{
    char when[TIME_RFC3339_MAX], ord[24];

    time_format_rfc3339(created, when, sizeof(when));
    snprintf(ord, sizeof(ord), "%d", order);
    return json_pack("{s:s, s:s, s:s, s:{}}", "id", id, "created", when, "orderInBatch", ord,
                     "noop");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Value at quantile q (0..1) of sorted v[0..n). */
static double quant_ms(const int64_t *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS and VmHWM of this process in MiB. */
static void mem_mib(double *rss, double *hwm)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb;

    *rss = *hwm = 0;
    if (!fp)
        return;
    while (fgets(line, sizeof(line), fp)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb / 1024;
        else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = (double)kb / 1024;
    }
    fclose(fp);
}

static const struct engine_settings fast_settings = {
    .triage_throttle_ns = 1 * MS,
    .launch_batch_delay_ns = 1, /* 0 would mean LUCI's 1 s */
};

/* ---- 0. the disk's own commit rate ---- */

/* One-row commits per second over seconds in a fresh WAL file under $TMPDIR. */
static double commit_rate(const char *sync_mode, double seconds)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256], path[320], pragma[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = 0;
    int64_t t0, end;
    double rate = 0;

    snprintf(dir, sizeof(dir), "%s/tock-rate-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 0;
    snprintf(path, sizeof(path), "%s/rate.db", dir);
    snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;",
             sync_mode);
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, pragma, NULL, NULL, NULL) ||
        sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", NULL, NULL, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES ('a row of about forty bytes.......')",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    t0 = mono_ns();
    end = t0 + (int64_t)(seconds * 1e9);
    while (mono_ns() < end) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        n++;
    }
    rate = (double)n / ((double)(mono_ns() - t0) / 1e9);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    static const char *const files[] = {"rate.db", "rate.db-wal", "rate.db-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return rate;
}

static int bench_commitrate(double seconds)
{
    printf("commit rate (one-row commits, WAL): synchronous=FULL %.0f/s, NORMAL %.0f/s\n",
           commit_rate("FULL", seconds), commit_rate("NORMAL", seconds));
    return 0;
}

/* ---- 1. throughput ---- */

static int bench_throughput(long n, int jobs, int batch, int64_t throttle_ns, bool real_noop)
{
    struct engine_settings set = fast_settings;
    struct fx f;
    struct buf cfg;
    long emitted = 0, seq = 0;
    int64_t t0, t_emit = 0, t_end;
    double c0, cpu, rate0, rate1;
    struct store_stats st0, st1;
    int r;

    set.triage_throttle_ns = throttle_ns;
    if (fx_open(&f, &set, real_noop) < 0)
        return 1;
    buf_init(&cfg, 64u << 20);
    for (int i = 0; i < jobs; i++)
        buf_printf(&cfg,
                   "job { id: \"j%d\" schedule: \"triggered\" noop {%s}\n"
                   "  triggering_policy { kind: NEWEST_FIRST max_concurrent_invocations: 1000"
                   " pending_timeout { seconds: 86400 } } }\n",
                   i, real_noop ? " sleep_ms: 1 " : "");
    r = apply_text(&f, cfg.data, cfg.len, NULL, NULL);
    buf_release(&cfg);
    if (r < 0)
        goto out;
    r = engine_start(f.e, 2);
    if (r < 0)
        goto out;

    rate0 = commit_rate("FULL", 2);
    store_stats(f.store, &st0);
    t0 = mono_ns();
    c0 = cpu_s();
    while (emitted < n) {
        long done = real_noop ? emitted : atomic_load(&g.launched);
        json_t *arr;
        char job[32];
        int k = batch;

        if (!real_noop && emitted - done + batch > 1000) {
            sleep_ns(1 * MS);
            continue;
        }
        if (real_noop && emitted > 0 && (emitted / batch) % (1000 / batch) == 0) {
            /* No launch counter here: drain every 1000 triggers. */
            wait_quiet(&f, 300 * NS_PER_SEC);
        }
        if (k > n - emitted)
            k = (int)(n - emitted);
        arr = json_array();
        for (int i = 0; i < k; i++) {
            char id[32];
            snprintf(id, sizeof(id), "t%ld", seq++);
            json_array_append_new(arr, make_trigger(id, wall_ns(), i));
        }
        snprintf(job, sizeof(job), "bench/j%ld", (emitted / batch) % jobs);
        int64_t te = mono_ns();
        r = engine_emit_triggers(f.e, job, arr);
        t_emit += mono_ns() - te;
        json_decref(arr);
        if (r < 0) {
            fprintf(stderr, "engine_emit_triggers: %s\n", strerror(-r));
            goto out;
        }
        emitted += k;
    }
    if (!real_noop)
        while (atomic_load(&g.launched) < n)
            sleep_ns(1 * MS);
    wait_quiet(&f, 300 * NS_PER_SEC);
    t_end = mono_ns();
    cpu = cpu_s() - c0;
    store_stats(f.store, &st1);
    rate1 = commit_rate("FULL", 2);
    printf("throughput: %ld invocations (%s manager), %d job(s), %d trigger(s) per emit call,"
           " triage throttle %.1f ms\n",
           n, real_noop ? "real noop, 1 ms sleep" : "bench", jobs, batch,
           (double)throttle_ns / 1e6);
    printf("  launched %ld, wall %.2f s, %.0f invocations/s, CPU %.2f s (%.0f%% of one core),"
           " time inside engine_emit_triggers %.2f s\n",
           real_noop ? n : atomic_load(&g.launched), (double)(t_end - t0) / 1e9,
           (double)n / ((double)(t_end - t0) / 1e9), cpu,
           100 * cpu / ((double)(t_end - t0) / 1e9), (double)t_emit / 1e9);
    printf("  durable commits %llu (%.2f per invocation), transactions %llu (%.2f per"
           " invocation)\n",
           (unsigned long long)(st1.commits - st0.commits),
           (double)(st1.commits - st0.commits) / (double)n,
           (unsigned long long)(st1.steps - st0.steps),
           (double)(st1.steps - st0.steps) / (double)n);
    printf("  disk commit rate (one-row, synchronous=FULL) before/after: %.0f/s, %.0f/s;"
           " invocations/s = %.2f of their mean\n",
           rate0, rate1, (double)n / ((double)(t_end - t0) / 1e9) / ((rate0 + rate1) / 2));
out:
    if (f.e)
        engine_stop(f.e, 0);
    fx_close(&f);
    return r < 0;
}

/* ---- 1b. throughput with several processes on one store ---- */

/* Writes text to dir/name (replacing it); 0 or -errno. */
static int put_file(const char *dir, const char *name, const char *text)
{
    char path[512], tmp[520];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fp = fopen(tmp, "w");
    if (!fp)
        return -errno;
    fputs(text, fp);
    if (fclose(fp) != 0 || rename(tmp, path) != 0)
        return -errno;
    return 0;
}

/* The number in dir/name, or -1 when there is no such file. */
static long get_file(const char *dir, const char *name)
{
    char path[512];
    FILE *fp;
    long v = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    if (fscanf(fp, "%ld", &v) != 1)
        v = -1;
    fclose(fp);
    return v;
}

/* Publishes this process's launch count as dir/launched.<me>. */
static void put_launched(const char *dir, int me)
{
    char name[32], text[32];

    snprintf(name, sizeof(name), "launched.%d", me);
    snprintf(text, sizeof(text), "%ld\n", atomic_load(&g.launched));
    put_file(dir, name, text);
}

/* Sum of every process's published launch count (its own counted live). */
static long sum_launched(const char *dir, int me, int procs)
{
    long sum = atomic_load(&g.launched);

    for (int i = 0; i < procs; i++) {
        char name[32];
        long v;

        if (i == me)
            continue;
        snprintf(name, sizeof(name), "launched.%d", i);
        v = get_file(dir, name);
        sum += v > 0 ? v : 0;
    }
    return sum;
}

/* Waits (at most timeout) until every process wrote dir/<what>.<i>; 0 or -ETIMEDOUT. */
static int wait_all(const char *dir, const char *what, int procs, int64_t timeout_ns)
{
    int64_t end = mono_ns() + timeout_ns;

    while (mono_ns() < end) {
        int n = 0;
        for (int i = 0; i < procs; i++) {
            char name[32];
            snprintf(name, sizeof(name), "%s.%d", what, i);
            n += get_file(dir, name) >= 0;
        }
        if (n == procs)
            return 0;
        sleep_ns(10 * MS);
    }
    fprintf(stderr, "timed out waiting for %s from %d processes\n", what, procs);
    return -ETIMEDOUT;
}

/*
 * Process 0's part: emits n triggers (1000 in flight at most, counted over
 * every process); *ret_redone counts the emit calls redone after -EAGAIN.
 */
static int shared_emit(struct fx *f, const char *dir, int procs, long n, int jobs, int batch,
                       long *ret_redone)
{
    long emitted = 0, seq = 0;
    int r;

    while (emitted < n) {
        int k = batch < n - emitted ? batch : (int)(n - emitted);
        json_t *arr;
        char job[32];

        if (emitted - sum_launched(dir, 0, procs) + k > 1000) {
            sleep_ns(1 * MS);
            continue;
        }
        arr = json_array();
        for (int i = 0; i < k; i++) {
            char id[32];
            snprintf(id, sizeof(id), "t%ld", seq++);
            json_array_append_new(arr, make_trigger(id, wall_ns(), i));
        }
        snprintf(job, sizeof(job), "bench/j%ld", (emitted / batch) % jobs);
        /* A conflict the engine gave up on: a client would call again (counted). */
        for (int tries = 0; (r = engine_emit_triggers(f->e, job, arr)) == -EAGAIN &&
                            tries < 100; tries++) {
            (*ret_redone)++;
            sleep_ns(1 * MS);
        }
        json_decref(arr);
        if (r < 0) {
            fprintf(stderr, "engine_emit_triggers: %s\n", strerror(-r));
            return r;
        }
        emitted += k;
    }
    for (int64_t end = mono_ns() + 600 * NS_PER_SEC; sum_launched(dir, 0, procs) < n;) {
        if (mono_ns() > end) {
            fprintf(stderr, "only %ld of %ld launched after 600 s\n",
                    sum_launched(dir, 0, procs), n);
            return -ETIMEDOUT;
        }
        sleep_ns(1 * MS);
    }
    wait_quiet(f, 300 * NS_PER_SEC);
    return 0;
}

/*
 * throughput-shared ME PROCS N JOBS BATCH DIR: process ME of PROCS, all on
 * $TOCK_BENCH_DB, each with its own engine (2 workers) -- replicas.  Process
 * 0 applies the config, the others wait for it and apply the same
 * (unchanged) config; when every engine runs, process 0 emits N triggers
 * (as throughput does) while every process's workers take the work; each
 * process publishes its launch count in DIR every 10 ms.  Process 0 ends
 * the run once the sum reaches N and no launch or triage row is left
 * (DIR/done); the others stop then.  Each prints its own share.
 * $TOCK_BENCH_LEASE_MS sets the lease time (a task whose lease outlives
 * its worker's failure waits that long).
 */
static int bench_throughput_shared(int me, int procs, long n, int jobs, int batch,
                                   const char *dir)
{
    struct engine_settings set = fast_settings;
    struct fx f;
    struct buf cfg;
    char name[32];
    int64_t t0 = 0, t_end;
    long redone = 0;
    double c0;
    int r;

    if (!getenv("TOCK_BENCH_DB") || !getenv("TOCK_BENCH_DB")[0]) {
        fprintf(stderr, "throughput-shared needs $TOCK_BENCH_DB\n");
        return 1;
    }
    /* $TOCK_BENCH_LEASE_MS: the engine's lease time (default: the engine's). */
    if (getenv("TOCK_BENCH_LEASE_MS"))
        set.lease_ns = strtol(getenv("TOCK_BENCH_LEASE_MS"), NULL, 10) * MS;
    if (me > 0 && wait_all(dir, "applied", 1, 300 * NS_PER_SEC) < 0)
        return 1;
    if (fx_open(&f, &set, false) < 0)
        return 1;
    buf_init(&cfg, 64u << 20);
    for (int i = 0; i < jobs; i++)
        buf_printf(&cfg,
                   "job { id: \"j%d\" schedule: \"triggered\" noop {}\n"
                   "  triggering_policy { kind: NEWEST_FIRST max_concurrent_invocations: 1000"
                   " pending_timeout { seconds: 86400 } } }\n",
                   i);
    r = apply_text(&f, cfg.data, cfg.len, NULL, NULL);
    buf_release(&cfg);
    if (r < 0)
        goto out;
    snprintf(name, sizeof(name), "applied.%d", me);
    if ((r = put_file(dir, name, "1\n")) < 0 || (r = engine_start(f.e, 2)) < 0)
        goto out;
    snprintf(name, sizeof(name), "ready.%d", me);
    if ((r = put_file(dir, name, "1\n")) < 0 ||
        (r = wait_all(dir, "ready", procs, 300 * NS_PER_SEC)) < 0)
        goto out;
    t0 = mono_ns();
    c0 = cpu_s();
    if (me == 0) {
        r = shared_emit(&f, dir, procs, n, jobs, batch, &redone);
        put_file(dir, "done", r == 0 ? "1\n" : "0\n"); /* the others stop either way */
    } else {
        while (get_file(dir, "done") < 0 && mono_ns() - t0 < 600 * NS_PER_SEC) {
            put_launched(dir, me);
            sleep_ns(10 * MS);
        }
    }
    t_end = mono_ns();
    if (r < 0)
        goto out;
    if (me == 0)
        printf("throughput-shared: %d process(es) on one store, %ld invocations, %d job(s),"
               " %d trigger(s) per emit call\n"
               "  wall %.2f s, %.0f invocations/s (all processes);"
               " emit calls redone after -EAGAIN: %ld\n",
               procs, n, jobs, batch, (double)(t_end - t0) / 1e9,
               (double)n / ((double)(t_end - t0) / 1e9), redone);
    printf("  process %d: launched %ld, CPU %.2f s (%.0f%% of one core)\n", me,
           atomic_load(&g.launched), cpu_s() - c0,
           100 * (cpu_s() - c0) / ((double)(t_end - t0) / 1e9));
out:
    if (f.e)
        engine_stop(f.e, 0);
    fx_close(&f);
    return r < 0;
}

/* ---- 2. EmitTriggers over HTTP ---- */

static size_t curl_sink(char *p, size_t sz, size_t nm, void *ctx)
{
    struct buf *b = ctx;

    buf_append(b, p, sz * nm);
    return sz * nm;
}

static const char realms_cfg[] =
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"anonymous:anonymous\" }\n"
    "}\n";

static int bench_emit(long n, int batch)
{
    static const char cfg_text[] =
        "job { id: \"j\" schedule: \"triggered\" noop {} }\n";
    struct http_server_options ho = {.host = "127.0.0.1", .port = 0};
    struct http_server *http = NULL;
    struct auth *a = NULL;
    struct cfg_project *cfg = NULL;
    struct curl_slist *hdr = NULL;
    CURL *curl = NULL;
    struct fx f;
    struct buf body, resp;
    char url[128], err[256];
    int64_t *lat = NULL, t0, total;
    long sent = 0, seq = 0, nreq = 0, failed = 0;
    int r;

    buf_init(&body, LIMIT_HTTP_BODY_BYTES);
    buf_init(&resp, 1u << 20);
    if (fx_open(&f, &fast_settings, false) < 0)
        return 1;
    r = apply_text(&f, cfg_text, strlen(cfg_text), NULL, &cfg);
    if (r < 0)
        goto out;
    a = auth_new();
    if (!a || (r = auth_set_project(a, "bench", cfg, realms_cfg, strlen(realms_cfg), err,
                                    sizeof(err))) < 0) {
        fprintf(stderr, "auth: %s\n", a ? err : "out of memory");
        r = -EINVAL;
        goto out;
    }
    if ((r = http_server_new(&ho, &http)) < 0 || (r = api_register(http, f.e, a)) < 0 ||
        (r = http_server_start(http)) < 0 || (r = engine_start(f.e, 2)) < 0) {
        fprintf(stderr, "server: %s\n", strerror(-r));
        goto out;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/prpc/scheduler.Scheduler/EmitTriggers",
             http_server_port(http));
    curl = curl_easy_init();
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    if (!curl || !hdr) {
        r = -ENOMEM;
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    lat = calloc((size_t)(n / batch + 2), sizeof(*lat));
    if (!lat) {
        r = -ENOMEM;
        goto out;
    }

    t0 = mono_ns();
    while (sent < n) {
        int k = batch < n - sent ? batch : (int)(n - sent);
        long status = 0;
        int64_t tr;

        buf_reset(&body);
        buf_puts(&body, "{\"batches\": [");
        for (int i = 0; i < k; i++)
            buf_printf(&body,
                       "%s{\"trigger\": {\"id\": \"t%ld\", \"title\": \"commit %ld\","
                       " \"noop\": {\"data\": \"x\"}},"
                       " \"jobs\": [{\"project\": \"bench\", \"job\": \"j\"}]}",
                       i ? ", " : "", seq + i, seq + i);
        seq += k;
        buf_puts(&body, "]}");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.len);
        buf_reset(&resp);
        tr = mono_ns();
        if (curl_easy_perform(curl) != CURLE_OK) {
            fprintf(stderr, "curl failed\n");
            r = -EIO;
            goto out;
        }
        lat[nreq++] = mono_ns() - tr;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            if (failed++ == 0)
                fprintf(stderr, "EmitTriggers: HTTP %ld: %.*s\n", status, (int)resp.len,
                        resp.data ? resp.data : "");
        }
        sent += k;
    }
    total = mono_ns() - t0;
    qsort(lat, (size_t)nreq, sizeof(*lat), cmp_i64);
    printf("emit: %ld triggers in %ld EmitTriggers requests of %d (%zu bytes each),"
           " one client, keep-alive\n",
           n, nreq, batch, body.len);
    printf("  %.2f s, %.0f triggers/s accepted, %ld requests failed;"
           " per request p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           (double)total / 1e9, (double)n / ((double)total / 1e9), failed,
           quant_ms(lat, (size_t)nreq, 0.5), quant_ms(lat, (size_t)nreq, 0.99),
           quant_ms(lat, (size_t)nreq, 1.0));
out:
    free(lat);
    if (curl)
        curl_easy_cleanup(curl);
    curl_slist_free_all(hdr);
    http = http_server_free(http);
    if (f.e)
        engine_stop(f.e, 0);
    fx_close(&f);
    auth_free(a);
    cfg_project_free(cfg);
    buf_release(&body);
    buf_release(&resp);
    return r < 0;
}

/* ---- 3. latency trigger -> launch() ---- */

static int bench_latency(int rounds, bool luci)
{
    static const char cfg_text[] = "job { id: \"j\" schedule: \"triggered\" noop {} }\n";
    struct engine_settings zero = {0};
    struct fx f;
    int64_t *lat = NULL, *emit_ns = NULL;
    uint64_t rnd = (uint64_t)wall_ns();
    int r, got = 0;

    if (fx_open(&f, luci ? &zero : &fast_settings, false) < 0)
        return 1;
    lat = calloc((size_t)rounds, sizeof(*lat));
    emit_ns = calloc((size_t)rounds, sizeof(*emit_ns));
    if (!lat || !emit_ns) {
        r = -ENOMEM;
        goto out;
    }
    if ((r = apply_text(&f, cfg_text, strlen(cfg_text), NULL, NULL)) < 0 ||
        (r = engine_start(f.e, 2)) < 0)
        goto out;
    sleep_ns(200 * MS);
    for (int i = 0; i < rounds; i++) {
        long before = atomic_load(&g.launched);
        json_t *arr = json_array();
        char id[32];
        int64_t t0, deadline;

        snprintf(id, sizeof(id), "t%d", i);
        t0 = wall_ns();
        json_array_append_new(arr, make_trigger(id, t0, 0));
        r = engine_emit_triggers(f.e, "bench/j", arr);
        emit_ns[i] = wall_ns() - t0;
        json_decref(arr);
        if (r < 0)
            goto out;
        deadline = mono_ns() + 10 * NS_PER_SEC;
        while (atomic_load(&g.launched) == before && mono_ns() < deadline)
            sleep_ns(MS / 10);
        if (atomic_load(&g.launched) == before) {
            fprintf(stderr, "round %d: no launch within 10 s\n", i);
            continue;
        }
        lat[got++] = atomic_load(&g.last_launch_ns) - t0;
        /* Let the invocation finish and its tidying triage run; random phase. */
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        sleep_ns((luci ? 300 : 20) * MS + (int64_t)(rnd % (uint64_t)(luci ? 1000 : 30)) * MS);
    }
    qsort(lat, (size_t)got, sizeof(*lat), cmp_i64);
    qsort(emit_ns, (size_t)rounds, sizeof(*emit_ns), cmp_i64);
    printf("latency (%s settings: triage throttle %s, launch delay %s): %d rounds\n",
           luci ? "LUCI's default" : "fast", luci ? "2 s" : "1 ms", luci ? "1 s" : "0",
           got);
    printf("  emit -> launch(): p50 %.1f ms, p99 %.1f ms, min %.1f ms, max %.1f ms;"
           " engine_emit_triggers() itself p50 %.1f ms\n",
           quant_ms(lat, (size_t)got, 0.5), quant_ms(lat, (size_t)got, 0.99),
           quant_ms(lat, (size_t)got, 0), quant_ms(lat, (size_t)got, 1.0),
           quant_ms(emit_ns, (size_t)rounds, 0.5));
out:
    free(lat);
    free(emit_ns);
    if (f.e)
        engine_stop(f.e, 0);
    fx_close(&f);
    return r < 0;
}

/* ---- 4. scale ---- */

static void print_window(const char *what, int64_t wall, double cpu)
{
    double rss, hwm;

    mem_mib(&rss, &hwm);
    printf("  %-34s %5.1f s: CPU %5.1f%% of one core, VmRSS %.0f MiB, VmHWM %.0f MiB\n", what,
           (double)wall / 1e9, 100 * cpu / ((double)wall / 1e9), rss, hwm);
}

/* engine_each_job's callback: counts the jobs. */
static int count_job(void *ctx, const struct engine_job *j)
{
    (void)j;
    ++*(size_t *)ctx;
    return 0;
}

static int bench_scale(int jobs, int seconds, const char *sched)
{
    struct fx f;
    struct buf cfg;
    size_t n_list = 0;
    int64_t apply_ns, t0, t_last;
    double c0, rss, hwm, rss_before;
    long ticks0;
    int r;

    scale_schedule = sched;
    g.tick_late = calloc(LATE_MAX, sizeof(int64_t));
    g.launch_late = calloc(LATE_MAX, sizeof(int64_t));
    if (!g.tick_late || !g.launch_late || fx_open(&f, &fast_settings, false) < 0)
        return 1;
    buf_init(&cfg, 256u << 20);

    /* Phase 1: the same jobs, triggered only, to see the engine idle over them. */
    for (int i = 0; i < jobs; i++)
        buf_printf(&cfg, "job { id: \"j%06d\" schedule: \"triggered\" noop {} }\n", i);
    mem_mib(&rss, &hwm);
    printf("scale: %d jobs, schedule \"%s\", fast settings, 2 workers, store in %s\n", jobs,
           sched, f.dir);
    printf("  before any config: VmRSS %.0f MiB\n", rss);
    if ((r = apply_text(&f, cfg.data, cfg.len, &apply_ns, NULL)) < 0)
        goto out;
    printf("  apply %d new triggered jobs: %.2f s (config %zu bytes)\n", jobs,
           (double)apply_ns / 1e9, cfg.len);
    if ((r = engine_start(f.e, 2)) < 0)
        goto out;
    sleep_ns(2 * NS_PER_SEC);
    t0 = mono_ns();
    c0 = cpu_s();
    sleep_ns(10 * NS_PER_SEC);
    print_window("idle (no task due)", mono_ns() - t0, cpu_s() - c0);

    /*
     * A walk over every job (engine_each_job: the web pages' and /metrics'
     * walk, a chunk of rows at a time), not engine_list_jobs' array of
     * them, so the VmHWM below is the engine's, not a listing's.
     */
    mem_mib(&rss_before, &hwm);
    t0 = mono_ns();
    r = engine_each_job(f.e, "bench", count_job, &n_list);
    mem_mib(&rss, &hwm);
    printf("  engine_each_job: %zu jobs in %.2f s, VmRSS %.0f -> %.0f MiB\n", n_list,
           (double)(mono_ns() - t0) / 1e9, rss_before, rss);
    if (r < 0)
        goto out;

    /* Phase 2: every job becomes a cron job. */
    buf_reset(&cfg);
    for (int i = 0; i < jobs; i++)
        buf_printf(&cfg, "job { id: \"j%06d\" schedule: \"%s\" noop {} }\n", i, sched);
    g.record_late = true;
    if ((r = apply_text(&f, cfg.data, cfg.len, &apply_ns, NULL)) < 0)
        goto out;
    printf("  apply: %d jobs change to cron: %.2f s\n", jobs, (double)apply_ns / 1e9);
    if ((r = apply_text(&f, cfg.data, cfg.len, &apply_ns, NULL)) < 0)
        goto out;
    printf("  apply the same config again (unchanged): %.2f s\n", (double)apply_ns / 1e9);
    printf("  cron-tick rows: %ld\n", task_rows(&f, "cron-tick"));

    t0 = t_last = mono_ns();
    c0 = cpu_s();
    ticks0 = atomic_load(&g.launched);
    while (mono_ns() - t0 < (int64_t)seconds * NS_PER_SEC) {
        sleep_ns(NS_PER_SEC);
        if (mono_ns() - t_last >= 30 * NS_PER_SEC || mono_ns() - t0 >= seconds * NS_PER_SEC) {
            char what[64];
            snprintf(what, sizeof(what), "ticking, %ld launches so far",
                     atomic_load(&g.launched) - ticks0);
            print_window(what, mono_ns() - t0, cpu_s() - c0);
            t_last = mono_ns();
        }
    }
    engine_stop(f.e, 0);
    pthread_mutex_lock(&g.lock);
    qsort(g.tick_late, g.n_tick, sizeof(int64_t), cmp_i64);
    qsort(g.launch_late, g.n_late, sizeof(int64_t), cmp_i64);
    printf("  %zu cron ticks launched in %d s (%.1f/s)\n", g.n_late, seconds,
           (double)g.n_late / seconds);
    printf("  tick lateness (tick committed - scheduled tick; negative: ahead of it), %zu ticks:"
           " p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           g.n_tick, quant_ms(g.tick_late, g.n_tick, 0.5), quant_ms(g.tick_late, g.n_tick, 0.99),
           quant_ms(g.tick_late, g.n_tick, 1.0));
    printf("  launch lateness (launch() called - scheduled tick): p50 %.1f ms,"
           " p99 %.1f ms, max %.1f ms\n",
           quant_ms(g.launch_late, g.n_late, 0.5), quant_ms(g.launch_late, g.n_late, 0.99),
           quant_ms(g.launch_late, g.n_late, 1.0));
    pthread_mutex_unlock(&g.lock);
    mem_mib(&rss, &hwm);
    printf("  end: VmRSS %.0f MiB, VmHWM %.0f MiB\n", rss, hwm);
out:
    buf_release(&cfg);
    fx_close(&f);
    free(g.tick_late);
    free(g.launch_late);
    return r < 0;
}

static long arg_long(int argc, char **argv, int i, long def)
{
    char *end;
    long v;

    if (argc <= i)
        return def;
    v = strtol(argv[i], &end, 10);
    return *end || v <= 0 ? def : v;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    log_init(LOG_FORMAT_TEXT, LOG_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(what, "throughput") == 0) {
        bool noop = argc > 6 && strcmp(argv[6], "noop") == 0;
        return bench_throughput(arg_long(argc, argv, 2, 20000), (int)arg_long(argc, argv, 3, 1),
                                (int)arg_long(argc, argv, 4, 500),
                                arg_long(argc, argv, 5, 1) * MS, noop);
    }
    if (strcmp(what, "throughput-shared") == 0 && argc > 7)
        return bench_throughput_shared((int)strtol(argv[2], NULL, 10),
                                       (int)arg_long(argc, argv, 3, 1),
                                       arg_long(argc, argv, 4, 10000),
                                       (int)arg_long(argc, argv, 5, 100),
                                       (int)arg_long(argc, argv, 6, 50), argv[7]);
    if (strcmp(what, "emit") == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int r = bench_emit(arg_long(argc, argv, 2, 100000), (int)arg_long(argc, argv, 3, 1000));
        curl_global_cleanup();
        return r;
    }
    if (strcmp(what, "latency") == 0)
        return bench_latency((int)arg_long(argc, argv, 2, 200),
                             argc > 3 && strcmp(argv[3], "luci") == 0);
    if (strcmp(what, "commitrate") == 0)
        return bench_commitrate((double)arg_long(argc, argv, 2, 3));
    if (strcmp(what, "scale") == 0)
        return bench_scale((int)arg_long(argc, argv, 2, 100000), (int)arg_long(argc, argv, 3, 120),
                           argc > 4 ? argv[4] : "H * * * *");
    fprintf(stderr,
            "usage: bench-engine throughput [N] [JOBS] [BATCH] [THROTTLE_MS] [noop]\n"
            "       bench-engine throughput-shared ME PROCS N JOBS BATCH DIR\n"
            "       bench-engine emit [N] [BATCH]\n"
            "       bench-engine latency [ROUNDS] [luci|fast]\n"
            "       bench-engine scale [JOBS] [SECONDS] [SCHEDULE]\n"
            "       bench-engine commitrate [SECONDS]\n");
    return 2;
}
