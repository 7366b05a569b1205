/*
 * engine-internal.h - what the engine's runtime files share (private).
 *
 * Files: engine.c (lifecycle, queries), jobs.c (config apply, cron
 * glue), receive.c (emit, trigger now, the pending set, fates, triage
 * kicks, fan-out), triage.c, invocations.c (creation and the handlers
 * that call managers: launch, timer, notification, abort), controller.c
 * (the task controller, controller.h), actions.c (pause, resume, abort),
 * listing.c (paged job listings), pubsub.c (pushes), remote.c (the
 * manager-call pool), tq.c (task queue, workers), util.c (general
 * helpers).  A trigger is a struct trigger
 * (trigger.h) everywhere in between.  Cross-file functions are
 * engine__name().
 */
#ifndef TOCK_ENGINE_ENGINE_INTERNAL_H
#define TOCK_ENGINE_ENGINE_INTERNAL_H

#include "engine/engine.h"

#include <pthread.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/metrics.h"
#include "base/time.h"
#include "engine/cron_machine.h"
#include "engine/push-token.h"
#include "engine/trigger.h"
#include "store/store.h"

struct tz_db;

struct state_cache_slot {
    char *text; /* NULL = empty slot */
    size_t len;
    json_t *value;
};

/* Task kinds of the durable queue (docs/internals/ENGINE.md lists them). */
#define TASK_CRON_TICK "cron-tick"
#define TASK_ENQUEUE_TRIGGERS "enqueue-triggers"
#define TASK_TRIAGE "triage"
#define TASK_LAUNCH "launch"
#define TASK_TIMER "timer"
#define TASK_ABORT "abort"
#define TASK_NOTIFICATION "notification"
#define TASK_CLEANUP "cleanup"

/* How often the cleanup task runs (fates retention, dedup tombstones). */
#define ENGINE_CLEANUP_PERIOD_NS NS_PER_HOUR
/*
 * A handler's result when its save lost the compare-and-set race to another
 * handler of the same invocation (a timer and a push at once): retried after
 * ENGINE_CONFLICT_RETRY_NS, doubling, not after the 1 s transient backoff.
 */
#define ENGINE_ERR_CONFLICT (-ESTALE)
#define ENGINE_CONFLICT_RETRY_NS (10 * NS_PER_MS)
/*
 * A handler's result when a store op or commit of its transaction lost a
 * conflict (-EAGAIN from the store, told apart from a handler's own
 * -EAGAIN by store_thread_conflicts(): engine__run_part): the transaction
 * is redone at once, no failure is counted or logged.  A lease rolled back
 * with the transaction leaves the row free and due; a committed one is
 * released to be due again within ENGINE_CONFLICT_PAUSE_MAX_NS.
 */
#define ENGINE_ERR_REDO (-EDEADLK)
/* Redos of the settling transaction after a conflict, before giving up (the lease expires). */
#define ENGINE_REDO_ATTEMPTS 8
/* Horizon of the recently-finished list (spec 3.21). */
#define ENGINE_FINISHED_HORIZON_NS (10 * NS_PER_MIN)
/*
 * The longest a sleeping worker waits before looking at the queue again.
 * Workers sleep until the next due task and every engine commit wakes
 * them, and a SQLite store serves one process, so this is only a safety
 * net (a wall clock step, say).  With a clock other than clock_real()
 * (tests move a manual clock without telling the engine) it is 1 s.
 */
#define ENGINE_MAX_SLEEP_NS (60 * NS_PER_SEC)
#define ENGINE_MAX_SLEEP_TEST_NS NS_PER_SEC
/*
 * The same on a store shared with other processes (PostgreSQL replicas):
 * their work wakes the workers through store_watch's notices, so this is
 * only the fallback re-check for a notice missed (a lost listener).
 */
#define ENGINE_MAX_SLEEP_SHARED_NS (5 * NS_PER_SEC)
/* Longest pause before a worker redoes a transaction that lost a conflict (jittered). */
#define ENGINE_CONFLICT_PAUSE_MAX_NS (5 * NS_PER_MS)
/* Attempts to find a free invocation id. */
#define ENGINE_INVID_ATTEMPTS 16
/* Most timers one invocation keeps pending. */
#define ENGINE_MAX_TIMERS 1000
/* Most triggers one controller emits between saves. */
#define ENGINE_MAX_EMITTED 10000
/* Bound on a debug log buffer before trimming (limit + one long message). */
#define ENGINE_DEBUGLOG_BUF (DEBUGLOG_LIMIT_BYTES + 256 * 1024)

struct engine {
    struct store *store;
    const struct clock *clock;
    const struct task_registry *registry;
    struct engine_settings set;
    int n_workers_default;
    uint64_t (*random)(void *ctx);
    void *random_ctx;
    void (*on_tick)(void *ctx, const char *job_id, int64_t scheduled_ns, int64_t committed_ns);
    void *on_tick_ctx;

    pthread_mutex_t rand_lock;
    uint64_t rand_state;

    pthread_mutex_t tz_lock;
    struct tz_db *tz;

    /* Workers. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *threads;
    int n_threads;
    bool stopping;
    int running_handlers;
    uint64_t wake_seq;
    char owner_prefix[64];
    /*
     * Notices of other processes' work (store_watch; under lock): counted
     * apart from wake_seq so that a sleeping worker wakes only for work due
     * before its own next due time.  notice_due is the last notice's due
     * time (0: unknown, wake).  shared: the store is shared with other
     * processes (store_watch was not -ENOTSUP), so sleeps are capped at
     * ENGINE_MAX_SLEEP_SHARED_NS.
     */
    uint64_t notice_seq;
    int64_t notice_due;
    bool shared;

    /* The remote pool (remote.c): threads that call task managers. */
    int n_remote_default;
    pthread_mutex_t remote_lock;
    pthread_cond_t remote_cond;
    pthread_t *remote_threads;
    int n_remote;
    bool remote_stopping;
    struct engine_task **remote_queue; /* ring of remote_cap */
    size_t remote_cap, remote_head, remote_len;

    /*
     * Lease renewal (tq.c, "Lease renewal"): the tasks whose committed
     * leases are held while their managers are called (a list through
     * engine_task.renew_next, under renew_lock), and the renewer thread
     * that extends them every lease/3.
     */
    pthread_mutex_t renew_lock;
    pthread_cond_t renew_cond; /* monotonic clock */
    pthread_t renew_thread;
    bool renew_running, renew_stopping;
    struct engine_task *renew_head;
    uint64_t renew_round;

    /* Pub/Sub token keys (pubsub.c): current, then previous; loaded at first use. */
    pthread_mutex_t push_lock;
    struct push_token_key push_keys[2];
    int n_push_keys;

    /* Parsed large manager states (statecache.c), round robin. */
    pthread_mutex_t state_lock;
    struct state_cache_slot state_cache[LIMIT_ENGINE_STATE_CACHE_SLOTS];
    size_t state_cache_next;
};

/*
 * The parsed-state cache (statecache.c): engine__state_parse(e, text,
 * err) is json_loads(text, JSON_DECODE_ANY, err) (a new reference, NULL
 * with err on bad JSON or ENOMEM) that remembers the parse of texts of
 * LIMIT_ENGINE_STATE_CACHE_MIN..MAX bytes in LIMIT_ENGINE_STATE_CACHE_SLOTS slots
 * and hands out deep copies (the caller may change its copy).  Threads:
 * any (state_lock).  engine__state_cache_release frees the slots.
 */
json_t *engine__state_parse(struct engine *e, const char *text, json_error_t *err);
void engine__state_cache_release(struct engine *e);

/*
 * A leased task handed to a handler.
 *
 * Kinds whose handler calls nothing outside the store before its first
 * commit (cron-tick, enqueue-triggers, triage, cleanup, launch) get the
 * lease's transaction still open in tx: the handler must take it with
 * engine__task_begin() before touching the store (a second store_begin
 * on the same thread would wait for itself), and then either commit it
 * (with engine__tx_task_done for a finished task: one commit for lease,
 * work and deletion; without it, as the launch does, to make the lease
 * durable before calling a task manager) or roll it back, which undoes
 * the lease too.  Other kinds (timer, abort) get a committed lease and
 * tx = NULL.
 */
#define ENGINE_TASK_OWNER_MAX 96 /* "<owner_prefix>/w<n>" */

struct engine_task {
    struct store_task row;
    /*
     * The lease owner, copied: a task handed to the remote pool outlives
     * the worker that leased it (at shutdown the workers exit first).
     */
    char owner[ENGINE_TASK_OWNER_MAX];
    json_t *payload; /* parsed payload_json, or NULL */
    struct store_tx *tx; /* the open lease transaction, until taken */
    /* The lease was handed over in tx (it may have been rolled back). */
    bool lease_in_tx;
    /* Set by engine__tx_task_done: the row was deleted in a handler txn. */
    bool done_in_tx;
    /*
     * A batch kind (tq.c): the handler's commit is lazy (store_commit_lazy),
     * made durable with the next durable commit or the worker's
     * store_sync(), so that ticks, triages and fan-outs due together share
     * one commit.  Such handlers acknowledge nothing outside the store.
     */
    bool lazy;
    /*
     * The launch's invocation as engine__launch_prepare recorded it (owned,
     * freed by engine__task_finish), so the call part need not read it
     * again; and whether its manager is fast (task.h): then the call part
     * runs on the worker itself.
     */
    struct store_inv *launch_row;
    char *launch_job_state; /* the job's manager state read with it ("" = none) */
    bool fast_manager;
    /* The remote part to run on the remote pool (remote.c). */
    int (*remote_fn)(struct engine *e, struct engine_task *t);
    /*
     * Lease renewal (tq.c): renew_e is the engine whose renewal list holds
     * t (NULL: none), set and cleared by the thread that owns t; the list
     * links, renew_round (the renewer's last round that took it) and
     * renew_lost (the renewer found the lease lost: it was logged, and is
     * not renewed again) are under renew_e->renew_lock.
     */
    struct engine *renew_e;
    struct engine_task *renew_prev, *renew_next;
    uint64_t renew_round;
    bool renew_lost;
};

/*
 * Handler results: 0 done; -EAGAIN retry later (backoff by attempts);
 * any other negative errno: the task is dropped with an error log.
 * ENGINE_CALL_MANAGER (from the local part of a two-part handler): the
 * store work is committed, now run the remote part, which calls a task
 * manager, on the remote pool.
 */
typedef int (*engine_handler_fn)(struct engine *e, struct engine_task *t);
#define ENGINE_CALL_MANAGER 1

int engine__launch_prepare(struct engine *e, struct engine_task *t);
int engine__launch_call(struct engine *e, struct engine_task *t);

int engine__handle_cron_tick(struct engine *e, struct engine_task *t);
int engine__handle_enqueue_triggers(struct engine *e, struct engine_task *t);
int engine__handle_triage(struct engine *e, struct engine_task *t);
int engine__handle_timer(struct engine *e, struct engine_task *t);
int engine__handle_abort(struct engine *e, struct engine_task *t);
int engine__handle_notification(struct engine *e, struct engine_task *t);
int engine__handle_cleanup(struct engine *e, struct engine_task *t);

/* ---- engine.c ---- */
/* The engine clock, or the time of the step this thread runs when later (engine__step_time_set). */
int64_t engine__now(struct engine *e);
/* The calling thread's step runs as of at_ns (0: as of the clock) until set again. */
void engine__step_time_set(int64_t at_ns);
/* A job row as the queries show it (engine.c); o is overwritten. */
void engine__fill_job(const struct store_job *j, struct engine_job *o);
/* The state (spec 3.2) engine__fill_job would give j, without filling a struct. */
enum engine_job_state engine__job_row_state(const struct store_job *j);
/*
 * The walk of engine_each_job over store rows: fn(ctx, row) for each
 * enabled job of project (NULL = all) in id order, at most
 * LIMIT_ENGINE_WALK_JOBS, read settings.list_chunk rows at a time, each
 * chunk in its own read transaction, fn called outside any (it may use the
 * engine and the store; row is valid during the call only).  fn's negative
 * return stops the walk and is returned, a positive one stops it with 0.
 * Memory: one chunk of rows.  Returns 0, fn's error, -EIO, -ENOMEM.
 */
int engine__walk_job_rows(struct engine *e, const char *project,
                          int (*fn)(void *ctx, const struct store_job *row), void *ctx);
uint64_t engine__rand(struct engine *e);
/* A positive int63 nonce, never 0 (for the cron machine). */
int64_t engine__nonce(void *engine);
/* Parses a schedule text for job_id (TZ= through the engine's zone cache). */
int engine__schedule_parse(struct engine *e, const char *job_id, const char *text,
                           struct schedule **ret);
/*
 * Opens a transaction and loads the enabled job job_id into *j.  Returns 0
 * (the caller commits or rolls back *tx and releases *j), -ENOENT (no such
 * enabled job), -EINVAL, -errno; on failure nothing is left open.
 */
int engine__begin_enabled(struct engine *e, const char *job_id, struct store_tx **tx,
                          struct store_job *j);

/* ---- tq.c ---- */
/*
 * Enqueues a task row in tx.  payload may be NULL (borrowed), dedup may be
 * NULL.  Returns 0 (also when deduplicated) or -errno.
 */
int engine__enqueue(struct engine *e, struct store_tx *tx, const char *kind, const char *job_id,
                    int64_t inv_id, const json_t *payload, int64_t due, const char *dedup);
/*
 * The handler's first transaction: the open lease transaction if the task
 * came with one (taken: t->tx becomes NULL), else a new one.
 */
int engine__task_begin(struct engine *e, struct engine_task *t, struct store_tx **ret);
/* Deletes the handler's task row in the handler's transaction. */
int engine__tx_task_done(struct store_tx *tx, struct engine_task *t);
/*
 * Settles a task after its handler returned hr (deletes or reschedules
 * the row unless the handler did), logs a failure for good, and frees t
 * (allocated by the worker that leased it).  Returns 0 or -errno of the
 * store.
 */
int engine__task_finish(struct engine *e, struct engine_task *t, int hr);
/*
 * Runs a handler part fn on t: its result, with an -EAGAIN that came from
 * a store conflict on this thread (store_thread_conflicts) turned into
 * ENGINE_ERR_REDO.
 */
int engine__run_part(struct engine *e, struct engine_task *t, engine_handler_fn fn);

/* ---- remote.c ---- */
int engine__remote_start(struct engine *e, int n_threads);
/* Runs what is queued, then stops and joins the remote threads. */
void engine__remote_stop(struct engine *e);
/*
 * Hands t (leased, no transaction open) to the remote pool, which runs
 * fn and engine__task_finish.  Returns true if taken; false when the pool
 * is not running or full (the caller runs it itself).
 */
bool engine__remote_submit(struct engine *e, struct engine_task *t, engine_handler_fn fn);

/* Commits and wakes the workers. */
int engine__commit(struct engine *e, struct store_tx *tx);
/* Commits lazily (store_commit_lazy: durable at the next sync) and wakes the workers. */
int engine__commit_lazy(struct engine *e, struct store_tx *tx);
/*
 * Commits lazily and wakes no one: for a caller whose run of steps ends
 * with a durable commit of its own (engine__commit, which wakes the
 * workers and makes the run durable at once: config apply).  A woken
 * worker would sync each step before it sleeps again.
 */
int engine__commit_lazy_unwoken(struct engine *e, struct store_tx *tx);
/*
 * Ends a handler's transaction: with r == 0 commits it (engine__commit, or
 * store_commit_lazy for a batch kind: t->lazy),
 * otherwise rolls it back.  If that leaves the transaction undone, t's
 * row deletion (engine__tx_task_done) did not land and t->done_in_tx is
 * cleared, so the queue settles the row itself.  t may be NULL.  Returns
 * r, or the commit's error.  Every handler finishes this way.
 */
int engine__tx_end(struct engine *e, struct store_tx *tx, struct engine_task *t, int r);
void engine__wake(struct engine *e);

/* ---- receive.c ---- */
/*
 * Enqueues a triage of job_id at the next throttle boundary (spec 3.8
 * kickTriageNow), deduplicated by "triage:<job>:<eta>".
 */
int engine__kick_triage(struct engine *e, struct store_tx *tx, const char *job_id);
/*
 * Adds v[0..n-1] (borrowed) to the pending set of job j (loaded in tx),
 * with fates; drops them all if the job is disabled or paused.  Kicks a
 * triage if something was added.  Returns 0, -EINVAL (a trigger without
 * id) or -errno.
 */
int engine__add_triggers(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const struct trigger *v, size_t n);
/* Decides the PENDING fate of (job, trigger) (missing rows are ignored). */
int engine__fate_decide(struct engine *e, struct store_tx *tx, const char *job_id,
                        const char *trigger_id, enum engine_fate fate, int64_t inv_id,
                        const char *reason);
/* The pause reason text for DROPPED_PAUSED fates. */
void engine__paused_reason(const struct store_job *j, char *out, size_t outlen);

/* ---- jobs.c (cron glue) ---- */
int engine__cron_load(const struct store_job *j, struct cron_state *ret);
int engine__cron_store(struct store_job *j, const struct cron_state *s);
/* Carries out cron actions in tx (tick tasks, cron triggers). */
int engine__cron_actions(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const struct cron_actions *a);
/* Builds the cron env for j (effective schedule); *ret_sched must be freed. */
int engine__cron_env(struct engine *e, const struct store_job *j, struct cron_env *env,
                     struct schedule **ret_sched);
/* The cfg_policy of a stored policy JSON ("" = not present). */
int engine__policy_from_json(const char *text, struct cfg_policy *ret);

/* ---- util.c ---- */
/*
 * Parses a JSON column: NULL or "" gives [] when array_default, else NULL;
 * otherwise a new value, or NULL if it does not parse.
 */
json_t *engine__json_parse(const char *text, size_t array_default);
/* Replaces *field by v dumped compactly with sorted keys (NULL v: "").  0 or -ENOMEM. */
int engine__json_set(char **field, const json_t *v);
/* Replaces *field by a copy of s (NULL s: "").  0 or -ENOMEM. */
int engine__strset(char **field, const char *s);
/* An invocation id kept in a JSON array (a decimal string or an integer); 0 if neither. */
int64_t engine__json_id(const json_t *v);
/*
 * Runs fn(e, ctx) -- one whole transaction, begun and ended inside -- and
 * runs it again while it returns -EAGAIN (the store's word for "a
 * concurrent writer won: redo the transaction", store.h), at most
 * ENGINE_TX_ATTEMPTS times with a short growing jittered pause between.
 * For the engine's entry points that answer a caller (EmitTriggers, pause,
 * resume, abort, config apply); task handlers are redone by the task
 * queue instead.  fn must have no effect outside its transaction before
 * it commits.  Returns fn's last result (-EAGAIN when every attempt lost).
 */
#define ENGINE_TX_ATTEMPTS 5
int engine__retry(struct engine *e, int (*fn)(struct engine *e, void *ctx), void *ctx);
/* engine__retry's pause before attempt (0 = none, the first attempt; thread-safe). */
void engine__retry_pause(struct engine *e, int attempt);

/* ---- pubsub.c ---- */
/*
 * The Pub/Sub auth token of invocation inv_id of job_id, signed with the
 * current key.  Returns 0, -ENOBUFS, -EINVAL (bad job id), -EIO (no key).
 */
int engine__pubsub_token(struct engine *e, const char *job_id, int64_t inv_id, char *out,
                         size_t outlen);

/* ---- invocations.c ---- */
/*
 * Creates an invocation of job j in tx from request (borrowed) with the
 * policy's debug output (may be NULL/"") and enqueues its launch; appends
 * the id to j->active_json (the caller saves j).  *ret_id gets the id.
 */
int engine__inv_create(struct engine *e, struct store_tx *tx, struct store_job *j,
                       const json_t *request, const char *triage_debug, int64_t *ret_id);
/* Synchronous abort then asynchronous fallback (spec 3.16). */
int engine__abort_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                             const char *who);

#endif
