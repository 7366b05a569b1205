/*
 * engine.h - the durable scheduler engine: jobs, triggers, triage,
 * invocations, timers and actions (luci-scheduler-spec.md section 3).
 *
 * The engine is the only writer of scheduler state.  Every piece of state
 * that must survive a crash is a row of the store (store/store.h); every
 * piece of future work (cron ticks, triages, launches, timers, fan-out,
 * aborts, cleanup) is a row of the store's durable task queue, written in
 * the same transaction as the state change that caused it.  Worker threads
 * (engine_start) lease due task rows, run their handler and commit; calls to
 * task managers (tasks/task.h) happen outside any transaction, and their
 * result is saved with a MutationsCount compare-and-set.  See
 * docs/internals/ENGINE.md for the lifecycle and the task kinds.
 *
 * Threads: every function here may be called from any thread at any time
 * after engine_new() and before engine_free().  ACL checks are the caller's
 * business: the engine returns realm ids so the caller can check them.
 *
 * Errors: functions return 0 or a negative errno; outputs are written only
 * on success.  -ENOENT: no such (enabled) job / invocation.  -EIO: the store
 * failed (the event log has the details).  -ENOMEM.
 *
 * Strings in the structs below are NUL-terminated and cut (never
 * overflowed) to their array size; heap strings are owned by the struct
 * and freed by the matching _release/_free function.
 */
#ifndef TOCK_ENGINE_ENGINE_H
#define TOCK_ENGINE_ENGINE_H

#include "base/compat.h"
#include "base/limits.h"
#include "base/metrics.h"

#include <jansson.h>

#include "base/clock.h"
#include "config/config.h"
#include "tasks/task.h"

struct store;
struct task_registry;
struct engine;

/* Sizes of the fixed string fields of the query structs. */
#define ENGINE_ID_MAX 256        /* "project/job", identities, realm ids */
#define ENGINE_NAME_MAX 128      /* project or job name */
#define ENGINE_REASON_MAX 1024   /* pause/resume reasons */
#define ENGINE_URL_MAX 2048      /* revision and view URLs */
#define ENGINE_REVISION_MAX 128  /* config revision */
#define ENGINE_SCHEDULE_MAX 1040 /* LIMIT_SCHEDULE_LEN + NUL, rounded */

/* Page size of engine_list_invocations: default and maximum (API: 50). */
#define ENGINE_PAGE_SIZE_DEFAULT 50
#define ENGINE_PAGE_SIZE_MAX 500

/*
 * Settings.  A zero field means LUCI's value (in parentheses), so a zeroed
 * struct is production behaviour; tests shorten the waits.
 */
struct engine_settings {
    /* Triage throttle: one triage per job per this period, at multiples of it (2 s). */
    int64_t triage_throttle_ns;
    /* Delay between creating invocations and launching them (1 s). */
    int64_t launch_batch_delay_ns;
    /* Launch retry backoff: first and largest delay (5 s, 600 s); doubles. */
    int64_t launch_retry_min_ns;
    int64_t launch_retry_max_ns;
    /* Launch attempts before FAILED "Too many attempts, giving up" (50). */
    int launch_attempts;
    /* Retry delay of other failed tasks (1 s, doubling up to 60 s). */
    int64_t task_retry_min_ns;
    /* Delay of the asynchronous abort (1 s). */
    int64_t async_abort_delay_ns;
    /* A trigger id is ignored this long after it was consumed (30 min). */
    int64_t dedup_window_ns;
    /* Trigger fates are kept this many days (30). */
    int fate_retention_days;
    /*
     * How long a leased task row stays owned by its worker (30 s; tock
     * serve --lease-time).  The leases held while a task manager is called
     * are renewed every lease/3 until the call's save (tq.c), so a call
     * may outlast it.  On PostgreSQL a dead replica's committed leases are
     * taken over by the others after this; SQLite frees them when the
     * store is reopened.
     */
    int64_t lease_ns;
    /* Longest single cron tick delay; longer waits hop (15 days + 1 h fudge). */
    int64_t cron_max_delay_ns;
    int64_t cron_max_delay_fudge_ns;
    /*
     * How long before its scheduled time a cron tick is handled (250 ms;
     * negative: not before it; at most ENGINE_CRON_TICK_LEAD_MAX_NS).  The
     * tick runs as of its scheduled time (its trigger's time, the triage it
     * kicks: no invocation starts before the scheduled time), so that a
     * burst of thousands of ticks due at one instant is committed by then
     * (docs/internals/ENGINE.md "Cron ticks ahead of time").
     */
    int64_t cron_tick_lead_ns;
    /*
     * Job rows one read transaction of a walk takes (engine_each_job,
     * engine_list_jobs, engine_count_jobs_by_state): ENGINE_LIST_CHUNK_DEFAULT,
     * at most LIMIT_STORE_PAGE.  Tests set it small to cross chunk bounds.
     */
    size_t list_chunk;
};

#define ENGINE_LIST_CHUNK_DEFAULT 256
/* Below the cron machine's 1 s "early tick, re-arm" rule (cron_machine.h). */
#define ENGINE_CRON_TICK_LEAD_MAX_NS (500 * NS_PER_MS)

struct engine_options {
    struct store *store;                   /* borrowed; must outlive the engine */
    const struct clock *clock;             /* borrowed; NULL = clock_real() */
    const struct task_registry *registry;  /* borrowed; managers by name */
    struct engine_settings settings;
    int workers;                           /* threads of engine_start(); 0 = 4 */
    /*
     * Threads that call task managers (launches, timers, pushes, aborts),
     * so that a slow or hanging remote service never holds the workers
     * that run cron ticks, triages and fan-outs; 0 = 16.  Their queue holds
     * 4 tasks per thread; past that a worker makes the call itself.
     */
    int remote_workers;
    /*
     * Random source for invocation ids, cron nonces and web UI trigger ids;
     * NULL = a locked xorshift seeded from the clock and the pid.  Tests
     * pass a deterministic one.  Must be thread-safe.
     */
    uint64_t (*random)(void *ctx);
    void *random_ctx;
    /*
     * Called (NULL: not) on the worker's thread after a cron tick that
     * emitted a trigger committed: the job, the tick's scheduled time and
     * the clock at the commit (earlier than scheduled for a tick handled
     * ahead of its time).  For benchmarks and tests; must not call the
     * engine.
     */
    void (*on_tick)(void *ctx, const char *job_id, int64_t scheduled_ns, int64_t committed_ns);
    void *on_tick_ctx;
};

/*
 * Makes an engine over an opened store.  Does not start any thread.
 * Returns 0 and the engine in *ret, -EINVAL (no store or registry),
 * -ENOMEM.
 */
int engine_new(const struct engine_options *opts, struct engine **ret);

/* Stops the workers if running (engine_stop with a 10 s deadline) and frees. NULL-safe. */
struct engine *engine_free(struct engine *e);

/*
 * Starts n_threads workers (<= 0: options.workers).  Each leases due task
 * rows, runs them and sleeps until the next due time or until a task is
 * enqueued sooner.  Returns 0, -EALREADY, or -errno of pthread_create
 * (already started workers are stopped again).
 */
int engine_start(struct engine *e, int n_threads);

/*
 * Stops leasing new tasks, waits for running handlers until deadline_ns
 * (clock_mono time of the engine's clock) and joins the workers.  A
 * handler still running at the deadline is waited for anyway (handlers are
 * bounded by their managers' timeouts); its task row stays leased and is
 * retried after the lease expires if the process dies.  No-op if not
 * started.
 */
void engine_stop(struct engine *e, int64_t deadline_ns);

/*
 * For tests and single-threaded tools: runs, in the calling thread, every
 * task due at the current clock time (including tasks those tasks enqueue
 * for the same instant), at most max (<= 0: no limit beyond the safety
 * bound LIMIT_ENGINE_RUN_DUE).  Returns how many task rows were handled
 * (run or dropped), or -errno if the store failed.
 */
int engine_run_due(struct engine *e, int max);

/* The due time of the next task row, or INT64_MAX when the queue is empty. */
int64_t engine_next_due(struct engine *e);

/*
 * The task queue for /metrics: *ret_depth = rows in the queue (due or not,
 * leased or not), *ret_lag_ns = how long the earliest leasable row has
 * been due (0 when none is due yet or the queue is empty).  Two aggregate
 * reads in one read transaction.  Returns 0 or -EIO; outputs written only
 * on success.
 */
int engine_queue_stats(struct engine *e, size_t *ret_depth, int64_t *ret_lag_ns);

/*
 * Metrics the engine counts (base/metrics.h, docs/operations.md):
 * invocations started (made by a triage, counted once its transaction
 * committed), finished by final status (label "status": SUCCEEDED,
 * FAILED, ABORTED..., counted once the save that made them final
 * committed) and trigger fates (label "fate": PENDING when a trigger
 * arrives, then the fate it is given; counted when the transaction that
 * recorded it commits: metric_counter_add_pending).  The histogram
 * tock_cron_tick_lateness_seconds observes, for every cron tick that
 * emitted a cron trigger and committed, the clock at the commit minus the
 * tick's scheduled time (counted as 0 when it committed ahead of it:
 * settings.cron_tick_lead_ns).
 */
extern struct metric_histogram engine_metric_tick_lateness;
extern struct metric_counter engine_metric_inv_started;
extern struct metric_counter engine_metric_inv_finished;
extern struct metric_counter engine_metric_trigger_fates;

/*
 * Counts the enabled jobs by state: ret[s] for each enum engine_job_state
 * (the array has _ENGINE_JOB_STATE_MAX entries).  The walk of
 * engine_each_job (at most LIMIT_ENGINE_WALK_JOBS jobs, its consistency):
 * one chunk of rows in memory at a time, each chunk its own short read
 * transaction, only each row's state computed (no struct engine_job).
 * Time still grows with the jobs (every enabled row is read).  Returns 0,
 * -EINVAL, -EIO, -ENOMEM; ret written only on success.
 */
int engine_count_jobs_by_state(struct engine *e, size_t *ret);

/* ---------------------------------------------------------------------------
 * Configuration
 */

/*
 * Applies a validated project config at revision (e.g. a git sha) with its
 * human view URL (may be NULL or ""), spec 1.8-1.9.  Per job leniency: the
 * jobs flagged in invalid[] (indexed like cfg->jobs, may be NULL) are
 * skipped as if absent, as are disabled jobs and jobs whose task has no
 * registered manager.  Jobs absent from the config are disabled (running
 * invocations are not aborted).  A job whose definition did not change
 * (MatchesDefinition: realm, flavor, schedule, task, policy, triggered
 * jobs; not the revision) is left alone.  Returns 0, -EINVAL (bad project
 * name), -E2BIG (more than LIMIT_JOBS_PER_PROJECT jobs), -EIO, -ENOMEM,
 * -EAGAIN (a job's transaction lost every conflict).
 *
 * As LUCI does, each job is applied in a short transaction of its own (64
 * changed jobs share one; conflicts are redone), and the project's
 * revision is recorded last: a reader may briefly see some jobs at the new
 * definition and some at the old, and after a failure or a crash midway
 * engine_project_revision still says the old revision, so the caller's
 * next apply redoes the rest.  Safe to run on several replicas at once.
 */
int engine_apply_project(struct engine *e, const char *project, const struct cfg_project *cfg,
                         const bool *invalid, const char *revision, const char *revision_url);

/*
 * Disables every job of project (its folder disappeared), job by job as
 * engine_apply_project applies them, then the project.  Returns 0, -EIO,
 * -ENOMEM, -EAGAIN.
 */
int engine_disable_project(struct engine *e, const char *project);

/*
 * The projects applied and not disabled, sorted: a malloc'ed array of
 * malloc'ed names in *ret (free each, then the array), its length in *n.
 * Cheap next to engine_list_jobs (no job rows).  Returns 0, -EIO, -ENOMEM.
 */
int engine_list_projects(struct engine *e, char ***ret, size_t *n);

/*
 * The config revision last applied to project: copies it to ret (size
 * retlen).  Returns 0, -ENOENT (never applied or disabled).
 */
int engine_project_revision(struct engine *e, const char *project, char *ret, size_t retlen);

/* ---------------------------------------------------------------------------
 * Queries
 */

/* Public job states, spec 3.2. */
enum engine_job_state {
    ENGINE_JOB_RUNNING,
    ENGINE_JOB_DISABLED,
    ENGINE_JOB_PAUSED,
    ENGINE_JOB_SCHEDULED,
    ENGINE_JOB_WAITING,
    _ENGINE_JOB_STATE_MAX,
};

/* "RUNNING", "DISABLED", "PAUSED", "SCHEDULED", "WAITING". */
const char *engine_job_state_name(enum engine_job_state s);

/* Job flavors, as LUCI numbers them. */
enum engine_flavor {
    ENGINE_FLAVOR_PERIODIC = 0, /* job with a schedule other than "triggered" */
    ENGINE_FLAVOR_TRIGGERED = 1,
    ENGINE_FLAVOR_TRIGGER = 2, /* trigger {} block (poller) */
};

struct engine_job {
    char id[ENGINE_ID_MAX];          /* "project/name" */
    char project[ENGINE_NAME_MAX];
    char name[ENGINE_NAME_MAX];
    char realm_id[ENGINE_ID_MAX];    /* "project:realm"; "project:@legacy" by default */
    char schedule[ENGINE_SCHEDULE_MAX]; /* as configured (defaulted), not the effective one */
    char task_kind[32];              /* manager name: "noop", "url_fetch", ... */
    enum engine_flavor flavor;
    enum engine_job_state state;
    const char *state_name;          /* static */
    bool enabled;
    bool paused;
    int64_t paused_or_resumed_when;  /* ns, 0 = never */
    char paused_or_resumed_by[ENGINE_ID_MAX];
    char paused_or_resumed_reason[ENGINE_REASON_MAX];
    char revision[ENGINE_REVISION_MAX];
    char revision_url[ENGINE_URL_MAX];
    int64_t next_tick;               /* ns of the armed cron tick, 0 = none */
    int64_t last_triage;             /* ns, 0 = never */
    size_t n_active;                 /* active invocations (not yet tidied) */
};

/*
 * Lists the enabled jobs of project (NULL = every project), sorted by id.
 * Stores a malloc'ed array in *ret (free with free()) and its length in *n.
 * Returns 0, -EINVAL, -EIO, -ENOMEM.  At most LIMIT_ENGINE_LIST_JOBS jobs
 * (the first by id).  Costs a struct (5 KB) per job of the whole project
 * (or store): for tests and tools only.  Callers that answer users page
 * with engine_list_jobs_page or walk with engine_each_job.
 */
int engine_list_jobs(struct engine *e, const char *project, struct engine_job **ret, size_t *n);

/*
 * The enabled jobs of project (NULL = every project), in ascending id
 * (engine_list_jobs' order; for one project, name order), handed one at a
 * time to fn(ctx, job): job is valid only during the call (one struct is
 * reused), fn may call the engine, a negative return from fn stops the
 * walk and is returned, a positive one stops it (0 is returned).  At most
 * LIMIT_ENGINE_WALK_JOBS jobs.
 *
 * Memory and transactions: the rows are read settings.list_chunk at a time
 * (store_job_page_by_id), each chunk in its own short read transaction
 * that ends before fn sees its jobs, so the walk costs one chunk of rows
 * and one struct engine_job whatever the number of jobs, and never holds
 * the store while fn works.
 *
 * Consistency: each chunk is a snapshot, the walk as a whole is not.
 * Every id is handed over at most once and in strictly ascending order.
 * A job present and enabled for the whole walk is handed over exactly
 * once; a job added, re-enabled or disabled during the walk is handed over
 * iff it is enabled when the chunk that covers its id is read (one added
 * behind the walk's position, with an id before the chunk being read, is
 * missed; renaming a job is removing one id and adding another).  Each job is as it was when its
 * chunk was read, so counts over the walk (the index page's, /metrics')
 * may mix jobs seen at slightly different times.
 *
 * Returns 0, fn's error, -EINVAL, -EIO, -ENOMEM.
 */
int engine_each_job(struct engine *e, const char *project,
                    int (*fn)(void *ctx, const struct engine_job *job), void *ctx);

/* Page size of engine_list_jobs_page: default and maximum (the API's is 50). */
#define ENGINE_JOBS_PAGE_DEFAULT 50
#define ENGINE_JOBS_PAGE_MAX 1000

/* What a caller may see of one realm, decided before any job of it is read. */
enum engine_view {
    ENGINE_VIEW_NONE, /* no job of the realm: its jobs are never read */
    ENGINE_VIEW_SOME, /* it depends on the job: filter.job() decides for each */
    ENGINE_VIEW_ALL,  /* every job of the realm */
};

/*
 * The caller's visibility, for engine_list_jobs_page.  Both functions are
 * called inside the page's store transaction: they must be quick, must not
 * call the engine, and must be thread-safe.  realm_id is "project:realm"
 * ("project:@legacy" for jobs without one); name is the job's name without
 * the project.
 */
struct engine_job_filter {
    enum engine_view (*realm)(void *ctx, const char *project, const char *realm_id);
    bool (*job)(void *ctx, const char *project, const char *realm_id, const char *name);
    void *ctx;
};

/*
 * One page of the enabled jobs of project (NULL = every applied project)
 * that filter lets through (NULL = every job), in key order: by project,
 * then by name (byte order; note "a-b/x" comes after "a/y", unlike a sort
 * by id).  cursor: NULL or "" = from the first job, else the
 * *ret_next_cursor of an earlier call (an opaque text; it names the last
 * job of that page, so jobs added or removed in between are seen or
 * missed, never repeated).  page_size <= 0 means ENGINE_JOBS_PAGE_DEFAULT,
 * above ENGINE_JOBS_PAGE_MAX the maximum.  Stores a malloc'ed array of at
 * most page_size jobs in *ret (free with free()), its length in *n, and in
 * *ret_next_cursor a malloc'ed cursor when more visible jobs follow, else
 * NULL.
 *
 * Cost: visibility is decided per realm first (filter.realm once per
 * realm present in each project), and the jobs of realms the caller may
 * not see are never read: listing a project costs one index seek per
 * realm plus the rows of the visible realms up to the page (those of
 * ENGINE_VIEW_SOME realms that filter.job() refuses included).  Memory is
 * a page of jobs (plus the project names when project is NULL), never the
 * whole store.  Returns 0, -EINVAL (bad cursor, or a cursor of another
 * project), -EIO, -ENOMEM.
 */
int engine_list_jobs_page(struct engine *e, const char *project, const char *cursor,
                          int page_size, const struct engine_job_filter *filter,
                          struct engine_job **ret, size_t *n, char **ret_next_cursor);

/* One enabled job by id "project/name".  Returns 0, -ENOENT, -EIO. */
int engine_get_job(struct engine *e, const char *job_id, struct engine_job *ret);

struct engine_invocation {
    int64_t id;
    char job_id[ENGINE_ID_MAX];
    char realm_id[ENGINE_ID_MAX];
    int64_t started;   /* ns */
    int64_t finished;  /* ns, 0 unless final */
    char triggered_by[ENGINE_ID_MAX]; /* identity or "" */
    enum inv_status status;
    const char *status_name; /* static, raw (STARTING is not shown as RUNNING) */
    bool final;
    char revision[ENGINE_REVISION_MAX];
    char revision_url[ENGINE_URL_MAX];
    char view_url[ENGINE_URL_MAX];
    int retry_count;   /* attempt - 1 */
    char task_kind[32];
    /*
     * Only filled by engine_get_invocation (NULL in listings), owned:
     * debug log text, and JSON texts of the task definition, the request
     * (triggeredBy, incomingTriggers, properties, tags) and the emitted
     * (outgoing) triggers array.
     */
    char *debug_log;
    char *task_json;
    char *request_json;
    char *outgoing_json;
};

/* Frees the owned strings of one invocation (the struct itself is the caller's). */
void engine_invocation_release(struct engine_invocation *inv);

/* Releases n invocations and frees the array.  NULL-safe. */
void engine_invocations_free(struct engine_invocation *v, size_t n);

/*
 * Lists invocations of an enabled job, newest first (spec 3.20), starting
 * after cursor (NULL or "" = from the newest).  page_size <= 0 means
 * ENGINE_PAGE_SIZE_DEFAULT, larger than ENGINE_PAGE_SIZE_MAX means the
 * maximum.  Stores the array in *ret (engine_invocations_free), its length
 * in *n, and in *ret_next_cursor a malloc'ed opaque cursor, or NULL when
 * there are no more.  The cursor is LUCI's: base64url(InvocationsCursor
 * {last_scanned = 2}).  Returns 0, -ENOENT (job), -EINVAL (bad cursor),
 * -EIO, -ENOMEM.
 */
int engine_list_invocations(struct engine *e, const char *job_id, const char *cursor,
                            int page_size, struct engine_invocation **ret, size_t *n,
                            char **ret_next_cursor);

/*
 * One invocation of an enabled job, with its debug log.  -ENOENT when the
 * job or the invocation does not exist, when inv_id is 0, or when it
 * belongs to another job.  Release *ret with engine_invocation_release.
 */
int engine_get_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                          struct engine_invocation *ret);

/*
 * The admin GetDebugJobState (spec 5.4) of a job, disabled ones included:
 * {"enabled", "paused", "lastTriage", "cronState": {"enabled", "generation",
 * "lastRewind", "lastTickWhen", "lastTickNonce"}, "activeInvocations": [],
 * "finishedInvocations": [{"invocationId", "finished"}],
 * "recentlyFinishedSet": [], "pendingTriggersSet": [trigger...],
 * "managerState": the job's manager state (task_ctl.job_state, e.g. the
 * gitiles poller's known refs) or {"error": "no debug state"} when it has
 * none, "triageLog": "..."} (int64 as strings, times RFC 3339).  Returns 0, -ENOENT, -EIO, -ENOMEM.
 */
int engine_debug_job_state(struct engine *e, const char *job_id, json_t **ret);

/*
 * The latest triage log of a job (spec 3.19) and its time.  *ret_log is
 * malloc'ed ("" if none yet).  Returns 0, -ENOENT, -EIO, -ENOMEM.
 */
int engine_triage_log(struct engine *e, const char *job_id, char **ret_log, int64_t *ret_when);

/*
 * The current definition of an enabled job (what the job page's
 * "Definition" shows, spec 7.4): *ret_task_json, the task definition JSON
 * of the job's current config (tasks/task.h: {"buildbucket": {...}}; ""
 * when the store has none); *ret_policy_json, its triggering policy with
 * the defaults filled in, as the triage uses it (spec 3.9: no block, or
 * one that cannot be instantiated, is the default policy) in protobuf JSON
 * field order: {"kind": "GREEDY_BATCHING", "maxConcurrentInvocations": 1,
 * "maxBatchSize": 1000} plus "logBase" (LOGARITHMIC_BATCHING) or
 * "pendingTimeout": "604800s" (NEWEST_FIRST).  Both malloc'ed (free()),
 * written only on success.  One read transaction.  Returns 0, -EINVAL,
 * -ENOENT (no enabled job), -EIO, -ENOMEM.
 */
int engine_job_definition(struct engine *e, const char *job_id, char **ret_task_json,
                          char **ret_policy_json);

/* Most hours and most invocation ids engine_project_activity looks at. */
#define ENGINE_ACTIVITY_HOURS_MAX 168
#define ENGINE_ACTIVITY_MAX_ROWS 20000

/*
 * Invocations created per hour in the last hours hours before now_ns, of
 * the jobs of project whose ids are in job_ids (sorted by strcmp; n_jobs
 * of them: the caller's visible jobs): ret_counts[0] is the oldest hour,
 * ret_counts[hours - 1] the hour up to now.  Creation times come from the
 * ids (spec 3.4).  Cost: one scan of the (job_id, id) index of the
 * project's recent invocations, at most ENGINE_ACTIVITY_MAX_ROWS ids; no
 * row is read.  Returns 0, 1 (the counts stop at that bound: fewer than
 * the truth), -EINVAL (hours outside 1..ENGINE_ACTIVITY_HOURS_MAX), -EIO,
 * -ENOMEM.  ret_counts written only on success.
 */
int engine_project_activity(struct engine *e, const char *project, const char *const *job_ids,
                            size_t n_jobs, int64_t now_ns, int hours, unsigned *ret_counts);

/* ---------------------------------------------------------------------------
 * Actions (spec 3.16).  who is the caller's identity ("user:a@b.c").
 */

/*
 * Pauses an enabled job: the effective schedule becomes "triggered", a
 * triage drops pending triggers (fate DROPPED_PAUSED), later triggers are
 * dropped on arrival.  Running invocations continue.  No-op when already
 * paused.  reason may be NULL.  Returns 0, -ENOENT, -EIO.
 */
int engine_pause_job(struct engine *e, const char *job_id, const char *who, const char *reason);

/* Resumes a paused job and re-arms its cron.  No-op when not paused. */
int engine_resume_job(struct engine *e, const char *job_id, const char *who, const char *reason);

/*
 * Aborts every active invocation of the job (synchronously, or queued as
 * engine_abort_invocation does) and kicks a triage.  Returns 0, -ENOENT,
 * -EIO.
 */
int engine_abort_job(struct engine *e, const char *job_id, const char *who);

/*
 * Aborts one invocation: synchronously through its manager, or, if that
 * fails transiently, asynchronously (the invocation is marked and a task
 * retries the abort).  No-op on final invocations.  Returns 0 (done or
 * queued), -ENOENT (job or invocation), -EIO.
 */
int engine_abort_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                            const char *who);

/*
 * Adds triggers to a job's pending set (spec 3.7), in one transaction for
 * the whole array.  triggers is an array of internal trigger objects
 * (task.h), already validated by the caller, with id, created (RFC 3339)
 * and orderInBatch set; borrowed.  They are decoded once, here, into the
 * engine's struct trigger (engine/trigger.h).  Triggers already pending or
 * consumed within the dedup window get fate DEDUPLICATED; on a paused job
 * every trigger gets DROPPED_PAUSED and 0 is returned (LUCI's behaviour).
 * Returns 0, -ENOENT (no enabled job), -EINVAL (not an array, or a
 * trigger without id or with a "created" that is not RFC 3339), -E2BIG
 * (more than LIMIT_ENGINE_EMIT_TRIGGERS), -EIO.
 */
int engine_emit_triggers(struct engine *e, const char *job_id, const json_t *triggers);

/*
 * The web UI "Trigger" button: emits a webui trigger (16 random hex
 * characters id, title "Triggered via web UI", emittedByUser who) and
 * copies its id to ret_trigger_id (at least 17 bytes; may be NULL).
 * Returns 0, -ENOENT, -EBUSY (the job is paused: "Cannot trigger a paused
 * job. Resume it first."), -EIO.
 */
int engine_trigger_now(struct engine *e, const char *job_id, const char *who,
                       char *ret_trigger_id);

/* ---------------------------------------------------------------------------
 * Pub/Sub pushes (spec 3.14)
 */

/*
 * Delivers one Pub/Sub push message ({"data", "attributes", "messageId"},
 * borrowed, untrusted) for the manager named kind ("buildbucket"): the
 * manager extracts the auth token (examine_notification), the engine
 * checks it (HMAC, 48 h lifetime, current or previous key) and the
 * invocation it names, and makes the push durable as a "notification"
 * task row before returning 0, so the caller may acknowledge it.  A push
 * for a finished invocation is acknowledged and dropped (0); a duplicate
 * of a push still queued (same messageId) is a no-op.
 * Returns 0; -EAGAIN (the invocation is still starting: ask Pub/Sub to
 * redeliver, HTTP 409); -EIO (the store failed: redeliver, HTTP 500);
 * -EINVAL (unknown manager, no token), -EACCES (bad, foreign or expired
 * token), -ENOENT (no such invocation): rejected for good, nothing
 * changed (HTTP 202).  err gets a one-line reason for every non-zero
 * return (never the token).
 */
int engine_deliver_push(struct engine *e, const char *kind, const json_t *message, char *err,
                        size_t errlen);

/*
 * Makes a new key for Pub/Sub auth tokens; the previous key is still
 * accepted for the tokens' lifetime (48 h).  The first key is made at
 * first use.  Returns 0, -EIO.
 */
int engine_rotate_pubsub_key(struct engine *e);

/* ---------------------------------------------------------------------------
 * Trigger fates (tock's own): what became of every trigger that reached a job.
 */

enum engine_fate {
    ENGINE_FATE_PENDING,
    ENGINE_FATE_CONSUMED,         /* newest trigger of an invocation's batch */
    ENGINE_FATE_MERGED,           /* batched into an invocation with a newer one */
    ENGINE_FATE_DROPPED_PAUSED,
    ENGINE_FATE_DROPPED_DISABLED,
    ENGINE_FATE_DROPPED_OVERFLOW, /* more than 1000 pending */
    ENGINE_FATE_EXPIRED,          /* NEWEST_FIRST pending_timeout */
    ENGINE_FATE_DISCARDED,        /* other policy discard */
    ENGINE_FATE_DEDUPLICATED,     /* already pending or seen within the dedup window */
    _ENGINE_FATE_MAX,
};

/* "PENDING", "CONSUMED", ... */
const char *engine_fate_name(enum engine_fate f);

/*
 * The fates of a job's triggers, newest decision first; only those of
 * trigger_id when not NULL; at most limit (<= 0 or > 1000: 1000).  *ret is
 * a JSON array of {"jobId", "triggerId", "title", "url", "created",
 * "fate", "invocationId", "reason", "decidedAt"} (times RFC 3339, ids as
 * strings, absent fields omitted).  Works for disabled jobs.  Returns 0,
 * -ENOENT (no such job), -EIO, -ENOMEM.
 */
int engine_trigger_fates(struct engine *e, const char *job_id, const char *trigger_id, int limit,
                         json_t **ret);

#endif
