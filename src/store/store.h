/*
 * store.h - the engine's durable state behind one ops table.
 *
 * A store holds rows (projects, jobs, invocations, pending triggers with
 * dedup tombstones, trigger fates, triage logs, secrets) and the durable
 * task queue.  The engine sees only this header, which names no back end;
 * back ends (sqlite.c, postgres.c) export a struct store_ops
 * (declared in their own header, e.g. store/sqlite.h) and are chosen by
 * the URL given to store_open().  docs/internals/STORE-CONTRACT.md is the long
 * form of the contract below; every back end must keep it.
 *
 * Transactions.  Every read and write goes through a transaction:
 *
 *   struct store_tx *tx = NULL;
 *   r = store_begin(s, &tx);
 *   if (r < 0) goto out;
 *   r = store_job_get(tx, "p/j", &job);
 *   ...
 *   r = store_commit(tx);       (or store_rollback(tx))
 *
 * - A transaction is serializable with respect to every other transaction
 *   of every process sharing the store, and all or nothing: after a crash
 *   either all of its writes (task rows included) are there or none are.
 *   store_commit() returns only when the commit is durable.
 * - A transaction belongs to the thread that began it and must end (commit
 *   or rollback) on that thread; a thread holds at most one.  Keep them
 *   short: never call a task manager or the network inside one.
 * - An op that fails leaves the transaction usable only for rollback,
 *   except the documented "soft" results (-ENOENT, -EEXIST, -ESTALE and a
 *   positive "duplicate" return), which change nothing.
 * - store_commit() consumes tx even when it fails (-EIO, or -EAGAIN when
 *   a concurrent writer won: the caller may redo the whole transaction).
 * - Group commit: transactions are steps of a group that becomes durable
 *   in one back-end commit.  store_commit_lazy() ends a step without
 *   waiting; store_commit() and store_sync() make the group durable.  A
 *   step that rolls back undoes only itself.  STORE-CONTRACT.md, "The
 *   commit model", says what a back end must provide.
 *
 * The task queue.  A task row is (id, kind, job, invocation, payload JSON,
 * due time, dedup key, lease owner, lease expiry, attempts):
 * - Enqueue is transactional: the row exists iff the transaction commits.
 * - A dedup key is unique among live rows: enqueueing a key that a live row
 *   already has is a no-op that returns 1.  Finished rows are deleted, so
 *   the key may be used again afterwards.
 * - store_task_lease() picks one row with due <= now whose lease is free
 *   or expired, oldest due first, sets the lease owner and expiry and
 *   increments attempts.  Two workers never hold the same row: a lease is
 *   taken only if free or expired, and the transaction that takes it holds
 *   the row until it ends.  The lease may be committed on its own (the row
 *   stays held while the handler works outside any transaction) or be part
 *   of the handler's transaction, which then deletes the row too (one
 *   commit per task).  A worker that dies loses nothing: an uncommitted
 *   lease vanishes with its transaction, a committed one expires and
 *   another worker takes the row (the attempt is counted, as App Engine's
 *   TaskExecutionCount is).
 * - store_task_done() deletes a leased row in the handler's transaction,
 *   and store_task_retry() frees the lease and moves the due time; both
 *   only if the caller still owns the lease (else -ESTALE: the lease was
 *   lost and the work belongs to someone else now).
 * - Delivery is therefore at least once; handlers are idempotent.
 *
 * Pending triggers and tombstones.  store_trigger_add() adds a trigger to
 * a job's pending set unless the same trigger id is already pending or was
 * popped (consumed or dropped) less than dedup_window ago; store_trigger_pop()
 * removes a pending trigger and writes the tombstone.
 *
 * Invocations are updated with a compare-and-set on their mutations count
 * (store_inv_update): the optimistic concurrency of spec 3.12.
 *
 * Strings in rows are heap-allocated, owned by the row and freed by its
 * _release function; NULL string fields are stored as "".  JSON-valued
 * fields are JSON texts; the store does not look inside them.  Times are
 * int64 ns since the epoch (0 = none).
 *
 * Errors: 0 or negative errno.  -ENOENT (no such row), -EEXIST, -ESTALE
 * (lost compare-and-set or lease), -EIO (the back end failed: the message
 * is in store_errmsg()), -ENOMEM, -EINVAL.  Outputs are written only on
 * success.
 *
 * -EAGAIN: on PostgreSQL any op, and store_begin() and the commits, may
 * return it: a serialization failure or deadlock (another transaction,
 * of this process or of another replica, won), or the connection lost in
 * the middle of the transaction.  The transaction is then dead: every
 * later op returns -EAGAIN too, the caller rolls it back and may redo the
 * whole transaction from its first read (never just the op that failed).
 * A commit whose outcome is unknown (the connection lost during COMMIT)
 * is -EIO, not -EAGAIN: a redo could apply it twice.  SQLite returns
 * -EAGAIN only for a busy database.
 */
#ifndef TOCK_STORE_STORE_H
#define TOCK_STORE_STORE_H

#include "base/compat.h"
#include "base/limits.h"

struct store;
struct store_tx;

/* A project row: the config revision last applied. */
struct store_project {
    char *id;
    char *revision;
    char *revision_url;
    bool enabled;
    int64_t updated;
};

/* A job row (spec 3.1 Job). */
struct store_job {
    char *id;            /* "project/name" */
    char *project;
    char *name;
    char *realm_id;
    int flavor;          /* engine_flavor */
    bool enabled;
    bool paused;
    int64_t paused_when;
    char *paused_by;
    char *paused_reason;
    char *revision;
    char *revision_url;
    char *schedule;      /* configured (defaulted) schedule text */
    char *task_json;     /* task definition */
    char *policy_json;   /* triggering policy as configured, "" = none */
    char *triggered_json; /* JSON array of job ids (sorted, unique) */
    char *cron_json;     /* cron machine state */
    char *active_json;   /* JSON array of active invocation ids (strings) */
    char *finished_json; /* JSON array of {"id", "finished"} (10 min horizon) */
    int64_t last_triage;
};

/* An invocation row (spec 3.1 Invocation). */
struct store_inv {
    int64_t id;
    char *job_id;
    char *realm_id;
    int64_t started;
    int64_t finished;
    char *status;          /* inv_status_name() */
    char *triggered_by;
    char *request_json;    /* {"triggeredBy","incomingTriggers","properties","tags"} */
    char *task_json;
    char *revision;
    char *revision_url;
    char *triggered_json;  /* target job ids at creation */
    char *debug_log;
    int retry_count;
    char *view_url;
    char *task_data_json;  /* "" = none */
    int64_t mutations;     /* MutationsCount */
    char *aborted_by;      /* AsyncState.AbortedBy, "" = none */
    char *timers_json;     /* pending timers: [{"id","created","eta","title","payload"}] */
    char *outgoing_json;   /* emitted triggers array */
};

/* A pending trigger. */
struct store_trigger {
    char *job_id;
    char *trigger_id;
    int64_t created;
    int64_t order;   /* orderInBatch */
    char *json;      /* the internal trigger object */
};

/* A task queue row. */
struct store_task {
    int64_t id;          /* assigned by enqueue */
    char *kind;
    char *job_id;
    int64_t inv_id;      /* 0 = none */
    char *payload_json;  /* "" = none */
    int64_t due;
    char *dedup_key;     /* "" = none */
    char *lease_owner;   /* "" = free */
    int64_t lease_expiry;
    int attempts;        /* leases taken so far, this one included */
    int64_t created;
};

/* A trigger fate row. */
struct store_fate {
    int64_t id;          /* assigned by insert */
    char *job_id;
    char *trigger_id;
    char *title;
    char *url;
    int64_t created;     /* the trigger's created time */
    char *fate;          /* engine_fate_name() */
    int64_t inv_id;      /* 0 = none */
    char *reason;
    int64_t decided_at;  /* 0 while PENDING */
    int64_t arrived_at;
};

/*
 * A named secret: opaque text values (the engine keeps the HMAC key that
 * signs Pub/Sub push tokens here, as hex or base64 of random bytes).  A
 * rotation moves current to previous, which stays accepted for a grace
 * period counted from rotated.
 */
struct store_secret {
    char *name;
    char *current;   /* the value in use */
    char *previous;  /* the value before the last rotation, "" = none */
    int64_t rotated; /* when current replaced previous, ns; 0 = never rotated */
};

void store_project_release(struct store_project *p);
void store_job_release(struct store_job *j);
void store_inv_release(struct store_inv *v);
void store_trigger_release(struct store_trigger *t);
void store_task_release(struct store_task *t);
void store_fate_release(struct store_fate *f);
void store_secret_release(struct store_secret *s);
/* Release n rows and free the array. NULL-safe. */
void store_jobs_free(struct store_job *v, size_t n);
void store_invs_free(struct store_inv *v, size_t n);
void store_triggers_free(struct store_trigger *v, size_t n);
void store_fates_free(struct store_fate *v, size_t n);
void store_tasks_free(struct store_task *v, size_t n);

/* Counters of a store since it was opened (store_stats). */
struct store_stats {
    uint64_t commits;   /* durable commits: each is one group and (SQLite) one WAL sync */
    uint64_t steps;     /* transactions committed (store_commit or store_commit_lazy) */
    uint64_t rollbacks; /* transactions rolled back */
};

/* A notice of work from another transaction (store_watch): a task row due at due, 0 = unknown. */
typedef void (*store_notice_fn)(void *ctx, int64_t due);

/*
 * A back end.  Every op behaves as the store_* wrapper of the same name
 * documented below; back ends may assume valid arguments (the wrappers
 * check them).
 */
struct store_ops {
    const char *scheme; /* "sqlite", "postgres", "postgresql" */
    int (*open)(const char *rest, struct store **ret, char *err, size_t errlen);
    void (*close)(struct store *s);
    const char *(*errmsg)(struct store *s);

    int (*begin)(struct store *s, struct store_tx **ret);
    int (*commit)(struct store_tx *tx);
    int (*commit_lazy)(struct store_tx *tx);
    void (*rollback)(struct store_tx *tx);
    int (*sync)(struct store *s);
    void (*stats)(struct store *s, struct store_stats *ret);
    /* Optional (NULL: never): whether an op of tx failed with a conflict (-EAGAIN). */
    bool (*tx_conflicted)(struct store_tx *tx);
    /* Optional (NULL: store_watch is -ENOTSUP): see store_watch, store_unwatch. */
    int (*watch)(struct store *s, store_notice_fn fn, void *ctx);
    void (*unwatch)(struct store *s);

    int (*project_get)(struct store_tx *tx, const char *id, struct store_project *ret);
    int (*project_put)(struct store_tx *tx, const struct store_project *p);
    int (*project_list)(struct store_tx *tx, char ***ret, size_t *n);

    int (*job_get)(struct store_tx *tx, const char *id, struct store_job *ret);
    int (*job_put)(struct store_tx *tx, const struct store_job *j);
    int (*job_set_cron)(struct store_tx *tx, const char *id, const char *cron_json);
    int (*job_set_triage)(struct store_tx *tx, const struct store_job *j);
    int (*inv_statuses)(struct store_tx *tx, const int64_t *ids, size_t n,
                        void (*fn)(void *ctx, int64_t id, const char *status), void *ctx);
    int (*job_list)(struct store_tx *tx, const char *project, bool enabled_only,
                    struct store_job **ret, size_t *n);
    int (*job_page)(struct store_tx *tx, const char *project, const char *realm_id,
                    const char *after_name, size_t limit, struct store_job **ret, size_t *n);
    int (*job_realms)(struct store_tx *tx, const char *project, size_t limit, char ***ret,
                      size_t *n);
    int (*job_page_by_id)(struct store_tx *tx, const char *project, const char *after_id,
                          size_t limit, struct store_job **ret, size_t *n);

    int (*inv_get)(struct store_tx *tx, int64_t id, struct store_inv *ret);
    int (*inv_insert)(struct store_tx *tx, const struct store_inv *v);
    int (*inv_update)(struct store_tx *tx, const struct store_inv *v, int64_t expected_mutations);
    int (*inv_set_aborted_by)(struct store_tx *tx, int64_t id, const char *who);
    int (*inv_list)(struct store_tx *tx, const char *job_id, int64_t after_id, size_t limit,
                    struct store_inv **ret, size_t *n);
    int (*inv_ids_project)(struct store_tx *tx, const char *project, int64_t max_id,
                           size_t limit, void (*fn)(void *ctx, const char *job_id, int64_t id),
                           void *ctx);

    int (*trigger_add)(struct store_tx *tx, const struct store_trigger *t, int64_t now,
                       int64_t dedup_window);
    int (*trigger_list)(struct store_tx *tx, const char *job_id, size_t limit,
                        struct store_trigger **ret, size_t *n);
    int (*trigger_count)(struct store_tx *tx, const char *job_id, size_t *ret);
    int (*trigger_pop)(struct store_tx *tx, const char *job_id, const char *trigger_id,
                       int64_t now);
    int (*tombstone_purge)(struct store_tx *tx, int64_t older_than, size_t *ret_n);

    int (*task_enqueue)(struct store_tx *tx, const struct store_task *t, int64_t *ret_id);
    int (*task_lease)(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                      struct store_task *ret);
    int (*task_lease_id)(struct store_tx *tx, int64_t id, int64_t now, const char *owner,
                         int64_t lease_ns, struct store_task *ret);
    int (*task_lease_batch)(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                            const char *const *kinds, size_t n_kinds, size_t max,
                            struct store_task **ret, size_t *n);
    int (*task_done)(struct store_tx *tx, int64_t id, const char *owner);
    int (*task_rearm)(struct store_tx *tx, int64_t id, const char *owner, int64_t due,
                      const char *payload_json, int64_t now);
    int (*task_retry)(struct store_tx *tx, int64_t id, const char *owner, int64_t due);
    int (*task_next_due)(struct store_tx *tx, int64_t *ret);
    int (*task_count)(struct store_tx *tx, const char *kind, size_t *ret);

    int (*fate_insert)(struct store_tx *tx, const struct store_fate *f, int64_t *ret_id);
    int (*fate_decide)(struct store_tx *tx, const char *job_id, const char *trigger_id,
                       const char *fate, int64_t inv_id, const char *reason, int64_t now);
    int (*fate_list)(struct store_tx *tx, const char *job_id, const char *trigger_id,
                     size_t limit, struct store_fate **ret, size_t *n);
    int (*fate_purge)(struct store_tx *tx, int64_t older_than, size_t *ret_n);

    int (*triage_log_put)(struct store_tx *tx, const char *job_id, int64_t when,
                          const char *log);
    int (*triage_log_get)(struct store_tx *tx, const char *job_id, int64_t *ret_when,
                          char **ret_log);

    int (*secret_get)(struct store_tx *tx, const char *name, struct store_secret *ret);
    int (*secret_put)(struct store_tx *tx, const struct store_secret *s);

    int (*job_state_get)(struct store_tx *tx, const char *job_id, char **ret);
    int (*job_state_put)(struct store_tx *tx, const char *job_id, const char *text);

    int (*task_renew)(struct store_tx *tx, const int64_t *ids, const char *const *owners,
                      size_t n, int64_t now, int64_t lease_ns, bool *renewed);
};

/* The common head of every back end's store object. */
struct store {
    const struct store_ops *ops;
};

/*
 * Opens a store by URL ("sqlite:/var/lib/tock/tock.db", or a libpq URL
 * "postgres://user@host:port/dbname?..." / "postgresql://..." with an
 * optional tock_pool=N, see store/postgres.h), creating and migrating its
 * schema.  Returns 0 and the store in *ret; -EINVAL (unknown
 * scheme, bad URL), -EPROTO (the database was written by a newer tock:
 * "database schema version N is newer than this tock knows (M)"), -EIO;
 * err (may be NULL) receives a one-line message on failure.
 */
int store_open(const char *url, struct store **ret, char *err, size_t errlen);

/* Closes the store; no transaction may be open.  NULL-safe; returns NULL. */
struct store *store_close(struct store *s);

/* The last back-end error message of the store ("" if none); thread-local copy. */
const char *store_errmsg(struct store *s);

/*
 * Metrics (base/metrics.h): every transaction begun is observed once in
 * store_metric_tx_seconds, from the call of store_begin (its wait for the
 * store included) to the return of its commit or rollback.  A successful
 * commit applies the counts the thread queued with
 * metric_counter_add_pending; a failed commit or a rollback drops them.
 */
struct metric_histogram;
extern struct metric_histogram store_metric_tx_seconds;

/*
 * Begins a transaction, blocking while another thread of this process
 * holds one (SQLite) or while every pooled connection is in use
 * (PostgreSQL).  -EIO (cannot connect), -EAGAIN (PostgreSQL: see above).
 */
int store_begin(struct store *s, struct store_tx **ret);
/* Commits (durably) and consumes tx.  -EIO, -EAGAIN (conflict: redo). */
int store_commit(struct store_tx *tx);
/*
 * Commits tx into the store's current group without waiting for it to be
 * durable, and consumes it.  Later transactions (of every thread) see its
 * writes at once; it becomes durable with the group, at the next
 * store_commit() or store_sync() of any thread (or when the group reaches
 * LIMIT_STORE_GROUP_STEPS), and a crash before then loses it (and only
 * lazy steps: a store_commit() that returned took every earlier step with
 * it).  The caller must acknowledge nothing of it (answer, release a
 * lease held outside, call out) before a later store_commit() or
 * store_sync() returns 0.  -EIO, -ENOMEM (tx rolled back).
 */
int store_commit_lazy(struct store_tx *tx);
/* Rolls back and consumes tx (only tx: earlier lazy steps stay). NULL-safe. */
void store_rollback(struct store_tx *tx);
/*
 * Makes every transaction committed so far durable (one durable commit if
 * lazy steps are waiting, nothing otherwise).  Blocks while another thread
 * holds a transaction; the caller must hold none.  -EIO when the group
 * failed: its lazy steps are lost (they were never acknowledged).
 */
int store_sync(struct store *s);
/* The store's counters since it was opened (thread-safe). */
void store_stats(struct store *s, struct store_stats *ret);
/*
 * Conflicts seen by the calling thread so far: transactions whose begin,
 * an op or the commit returned -EAGAIN (redo the whole transaction).  A
 * caller that gets -EAGAIN from code mixing store calls with its own
 * -EAGAIN ("transient, retry later") compares two readings to tell a
 * conflict (redo at once) from the rest.  Thread-local, never fails.
 */
uint64_t store_thread_conflicts(void);

/*
 * Wake-ups across processes.  On a store that several processes share
 * (PostgreSQL), every transaction that enqueues a task row, or moves one's
 * due time (store_task_retry), announces it on commit (PostgreSQL: NOTIFY
 * in that transaction, so nothing is announced before it is visible and a
 * rolled back transaction announces nothing).  store_watch() starts one
 * thread of the store with a connection of its own that calls fn(ctx,
 * due) for each announcement of any process (this one included) within
 * milliseconds of its commit, and fn(ctx, 0) after it had to reconnect
 * (announcements may have been missed: re-check everything).  fn runs on
 * that thread: it must be quick and must not use the store.  Notices can
 * still be missed (a lost connection): a watcher re-checks the queue every
 * few seconds anyway.  One watch per store; store_unwatch() stops and
 * joins the thread (fn is not called after it returns; NULL-safe, idempotent).
 * Returns 0, -ENOTSUP when the store serves one process (SQLite: no one
 * else adds work, nothing to watch), -EALREADY, -EIO, -ENOMEM.
 */
int store_watch(struct store *s, store_notice_fn fn, void *ctx);
void store_unwatch(struct store *s);

/* ---- projects ---- */
int store_project_get(struct store_tx *tx, const char *id, struct store_project *ret);
/* Inserts or replaces. */
int store_project_put(struct store_tx *tx, const struct store_project *p);
/*
 * The ids of the enabled projects, sorted; *ret is a malloc'ed array of
 * malloc'ed strings (free each, then the array).  At most LIMIT_STORE_ROWS.
 */
int store_project_list(struct store_tx *tx, char ***ret, size_t *n);

/* ---- jobs ---- */
/* Any job, disabled included.  -ENOENT. */
int store_job_get(struct store_tx *tx, const char *id, struct store_job *ret);
/* Inserts or replaces the whole row. */
int store_job_put(struct store_tx *tx, const struct store_job *j);
/*
 * Sets only the cron state column (cron_json, NULL = "") of job id, the
 * one column a cron tick changes: SQL "UPDATE jobs SET cron_json = ?
 * WHERE id = ?", no index touched.  -ENOENT if there is no such job,
 * -E2BIG past LIMIT_STORE_TEXT.
 */
int store_job_set_cron(struct store_tx *tx, const char *id, const char *cron_json);
/*
 * Sets only the columns a triage changes -- cron_json, active_json,
 * finished_json (NULL = "[]" for the two arrays, "" for cron_json) and
 * last_triage -- of the row j->id; the other fields of *j are not read.
 * SQL "UPDATE jobs SET ... WHERE id = ?": no indexed column changes (an
 * INSERT OR REPLACE deletes and inserts the row and its indexes; on
 * PostgreSQL it stays a HOT update), and a concurrent change of another
 * column (a pause, a config apply) is not overwritten.  -ENOENT if there
 * is no such job, -E2BIG past LIMIT_STORE_TEXT.
 */
int store_job_set_triage(struct store_tx *tx, const struct store_job *j);
/* Jobs of project (NULL = all), sorted by id; at most LIMIT_STORE_ROWS. */
int store_job_list(struct store_tx *tx, const char *project, bool enabled_only,
                   struct store_job **ret, size_t *n);
/*
 * One page of the enabled jobs of project (required): those of realm_id
 * only (NULL = any realm; the stored value, "" included, is compared),
 * whose name is greater than after_name ("" = from the first), ascending
 * name (byte order), at most limit (1 ..  LIMIT_STORE_PAGE, else -EINVAL).
 * The work is proportional to the rows returned, not to the jobs of the
 * project or of the store (SQLite: the index (project, enabled, realm_id,
 * name) or (project, enabled, name)).  Rows as store_job_get's.
 */
int store_job_page(struct store_tx *tx, const char *project, const char *realm_id,
                   const char *after_name, size_t limit, struct store_job **ret, size_t *n);
/*
 * One chunk of a walk of the enabled jobs of project (NULL = every
 * project) by primary key: those whose id is greater than after_id ("" =
 * from the first), ascending id (byte order: PostgreSQL compares with
 * COLLATE "C"), at most limit (1 .. LIMIT_STORE_PAGE, else -EINVAL).  A
 * walk repeats it with after_id = the last id of the chunk before until a
 * chunk has fewer than limit rows; each chunk may be read in its own short
 * transaction (a job added or renamed between two chunks is seen iff its
 * id sorts after the chunk before).  The work is proportional to the rows
 * the range holds from after_id on, disabled ones included (SQLite: the
 * primary key index; with project, its range ["<project>/", "<project>0")),
 * not to the jobs of the store.  Portable SQL:
 *   SELECT ... FROM jobs WHERE id > :after AND enabled = 1
 *     [AND project = :project] ORDER BY id LIMIT :limit
 * Rows as store_job_get's.
 */
int store_job_page_by_id(struct store_tx *tx, const char *project, const char *after_id,
                         size_t limit, struct store_job **ret, size_t *n);
/*
 * The distinct realm_id values of the enabled jobs of project, ascending
 * (byte order; "" is listed when some rows have it), at most limit
 * (1 .. LIMIT_STORE_PAGE, else -EINVAL; more realms than limit is
 * -E2BIG).  *ret is a malloc'ed array of malloc'ed strings (free each,
 * then the array).  The work is proportional to the realms, not to the
 * jobs (SQLite: one index seek per realm).
 */
int store_job_realms(struct store_tx *tx, const char *project, size_t limit, char ***ret,
                     size_t *n);

/* ---- invocations ---- */
int store_inv_get(struct store_tx *tx, int64_t id, struct store_inv *ret);
/* -EEXIST if the id is taken. */
int store_inv_insert(struct store_tx *tx, const struct store_inv *v);
/*
 * Replaces the row (but not its aborted_by) if its stored mutations count
 * is expected_mutations; v->mutations is the new count.  -ESTALE otherwise
 * (a concurrent modification), -ENOENT.
 */
int store_inv_update(struct store_tx *tx, const struct store_inv *v, int64_t expected_mutations);
/* Sets aborted_by without touching the mutations count. -ENOENT. */
int store_inv_set_aborted_by(struct store_tx *tx, int64_t id, const char *who);
/*
 * The status of each invocation of ids[0..n) that exists (1 <= n <=
 * LIMIT_STORE_PAGE, else -EINVAL): fn(ctx, id, status) once per row found,
 * in no set order; ids without a row are skipped.  One statement whatever
 * n, reading the key and the status column only (SQLite: json_each over
 * the ids; PostgreSQL: = ANY of a bigint[]): a triage's check of a job's
 * active invocations, without reading each whole row and its debug log.
 * fn must not use the store.  Returns 0, -EIO, -ENOMEM.
 */
int store_inv_statuses(struct store_tx *tx, const int64_t *ids, size_t n,
                       void (*fn)(void *ctx, int64_t id, const char *status), void *ctx);
/*
 * Invocations of job_id with id > after_id (0 = all), ascending id (newest
 * first, spec 3.4), at most limit (<= LIMIT_STORE_ROWS).  Rows carry no
 * debug_log (it is "").
 */
/*
 * Calls fn(ctx, job_id, id) for the invocations (at most limit) of
 * project's jobs (enabled or not, job rows are never deleted) with id <=
 * max_id, job by job, each one range of the (job_id, id) index.
 * Since ids fall with time (spec 3.4), max_id = the largest id of a time
 * selects those created at or after it.  Reads indexes only (one job row
 * per job for its id); fn must not use the store.  Returns 0, -EIO.
 */
int store_inv_ids_project(struct store_tx *tx, const char *project, int64_t max_id, size_t limit,
                          void (*fn)(void *ctx, const char *job_id, int64_t id), void *ctx);
int store_inv_list(struct store_tx *tx, const char *job_id, int64_t after_id, size_t limit,
                   struct store_inv **ret, size_t *n);

/* ---- pending triggers ---- */
/*
 * Adds t to job t->job_id's pending set.  Returns 0 when added, 1 when the
 * trigger id is already pending or has a tombstone younger than
 * dedup_window (nothing changes).
 */
int store_trigger_add(struct store_tx *tx, const struct store_trigger *t, int64_t now,
                      int64_t dedup_window);
/* Pending triggers, oldest first (created, order, id); at most limit. */
int store_trigger_list(struct store_tx *tx, const char *job_id, size_t limit,
                       struct store_trigger **ret, size_t *n);
int store_trigger_count(struct store_tx *tx, const char *job_id, size_t *ret);
/* Removes a pending trigger and writes its tombstone at now.  -ENOENT. */
int store_trigger_pop(struct store_tx *tx, const char *job_id, const char *trigger_id,
                      int64_t now);
/* Deletes tombstones written before older_than; *ret_n (may be NULL) = how many. */
int store_tombstone_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n);

/* ---- task queue ---- */
/*
 * Enqueues t (id, lease and attempts ignored).  Returns 0 and the new id in
 * *ret_id (may be NULL), or 1 if a live row has the same non-empty dedup
 * key (nothing enqueued).
 */
int store_task_enqueue(struct store_tx *tx, const struct store_task *t, int64_t *ret_id);
/*
 * Leases the due row (due <= now, lease free or expired) with the
 * smallest (due, id): lease_owner = owner, lease_expiry = now + lease_ns,
 * attempts + 1.  -ENOENT when nothing is due.
 */
int store_task_lease(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                     struct store_task *ret);
/*
 * Leases row id as store_task_lease() would have: only if it is due
 * (due <= now) and its lease is free or expired.  -ENOENT if the row is
 * gone, -ESTALE if it is not due or someone else holds it.  The engine
 * uses it to count a failed delivery whose lease was rolled back with the
 * handler's transaction.
 */
int store_task_lease_id(struct store_tx *tx, int64_t id, int64_t now, const char *owner,
                        int64_t lease_ns, struct store_task *ret);
/*
 * Leases, in one transaction, up to max due rows (due <= now, lease free
 * or expired) whose kind is one of kinds[0 .. n_kinds-1], the smallest
 * (due, id) first, each as store_task_lease() would (lease_owner = owner,
 * lease_expiry = now + lease_ns, attempts + 1).  The rows are returned
 * in *ret (malloc'ed, in (due, id) order; release with store_task_release
 * each and free, or store_tasks_free) and their number in *n; nothing due
 * is 0 with *n = 0 and *ret = NULL.  n_kinds is 1 .. STORE_LEASE_KINDS_MAX,
 * max 1 .. LIMIT_STORE_LEASE_BATCH (else -EINVAL).  The transaction
 * holds every row it leased until it ends, exactly as store_task_lease()
 * (PostgreSQL: one SELECT ... FOR UPDATE SKIP LOCKED ... LIMIT max), so
 * two owners never hold the same row; committing it makes the leases
 * hold outside any transaction, like a committed store_task_lease().
 */
#define STORE_LEASE_KINDS_MAX 4
int store_task_lease_batch(struct store_tx *tx, int64_t now, const char *owner, int64_t lease_ns,
                           const char *const *kinds, size_t n_kinds, size_t max,
                           struct store_task **ret, size_t *n);
/* Deletes a row leased by owner.  -ESTALE if owner lost the lease, -ENOENT. */
int store_task_done(struct store_tx *tx, int64_t id, const char *owner);
/*
 * Turns the row id leased by owner into the next task of the same kind,
 * job, invocation and dedup key, in place: payload_json (NULL = "") and
 * due replaced, lease freed, attempts 0, created = now.  The same as
 * store_task_done() followed by store_task_enqueue() of that task, in one
 * write (a cron tick re-arming itself; SQL: one UPDATE ... WHERE id = ?
 * AND lease_owner = ?).  -ESTALE if owner lost the lease, -ENOENT.
 */
int store_task_rearm(struct store_tx *tx, int64_t id, const char *owner, int64_t due,
                     const char *payload_json, int64_t now);
/*
 * Renews leases (a heartbeat while their holders call task managers): for
 * each i < n, row ids[i] gets lease_expiry = max(lease_expiry, now +
 * lease_ns) if owners[i] still holds its lease, and renewed[i] says
 * whether it did.  A row that is gone, free or leased by someone else is
 * left alone (renewed[i] false): a lost lease is never resurrected, and
 * its holder's later done/retry/rearm is -ESTALE as before.  An expired
 * lease that nobody took yet is still owners[i]'s and is renewed.  Only
 * lease_expiry changes (not attempts, due or anything else), so a renewal
 * wakes no watcher.  n is 1 .. LIMIT_STORE_RENEW (else -EINVAL); renewed
 * is written only on success.  PostgreSQL: one statement for all n; it
 * may be -EAGAIN (a conflict: redo the transaction).
 */
int store_task_renew(struct store_tx *tx, const int64_t *ids, const char *const *owners,
                     size_t n, int64_t now, int64_t lease_ns, bool *renewed);
/* Frees the lease of a row leased by owner and sets its due time.  -ESTALE, -ENOENT. */
int store_task_retry(struct store_tx *tx, int64_t id, const char *owner, int64_t due);
/*
 * The time the next row becomes leasable: min over rows of (due if free,
 * max(due, lease_expiry) if leased); INT64_MAX when the queue is empty.
 */
int store_task_next_due(struct store_tx *tx, int64_t *ret);
/* Rows of kind (NULL = all). */
int store_task_count(struct store_tx *tx, const char *kind, size_t *ret);

/* ---- trigger fates ---- */
int store_fate_insert(struct store_tx *tx, const struct store_fate *f, int64_t *ret_id);
/*
 * Decides the newest PENDING fate row of (job_id, trigger_id): sets fate,
 * inv_id, reason and decided_at = now.  -ENOENT when there is none.
 */
int store_fate_decide(struct store_tx *tx, const char *job_id, const char *trigger_id,
                      const char *fate, int64_t inv_id, const char *reason, int64_t now);
/* Fates of job_id (of trigger_id if not NULL), newest row first, at most limit. */
int store_fate_list(struct store_tx *tx, const char *job_id, const char *trigger_id,
                    size_t limit, struct store_fate **ret, size_t *n);
/* Deletes fates decided (or, still pending, arrived) before older_than. */
int store_fate_purge(struct store_tx *tx, int64_t older_than, size_t *ret_n);

/* ---- triage logs ---- */
int store_triage_log_put(struct store_tx *tx, const char *job_id, int64_t when, const char *log);
/* -ENOENT when the job has none. *ret_log is malloc'ed. */
int store_triage_log_get(struct store_tx *tx, const char *job_id, int64_t *ret_when,
                         char **ret_log);

/* ---- secrets ---- */
/* The secret called name.  -ENOENT when there is none. */
int store_secret_get(struct store_tx *tx, const char *name, struct store_secret *ret);
/*
 * Inserts or replaces the secret s->name (non-empty) with all its fields;
 * NULL values are stored as "".  -E2BIG when a string is longer than
 * LIMIT_STORE_TEXT.
 */
int store_secret_put(struct store_tx *tx, const struct store_secret *s);

/* ---- per-job task manager state ---- */
/*
 * A task manager's own durable state of one job (the gitiles poller's
 * known ref tips, LUCI's gitiles.Repository entity): an opaque text (JSON
 * by convention) the store does not look inside, at most LIMIT_STORE_TEXT
 * bytes.  The engine writes it in the transaction that saves the
 * invocation that changed it, so it moves with that invocation's emitted
 * triggers.  Rows outlive their job's removal from configs (a re-added job
 * continues from its state, as LUCI's entities do).
 */
/* The state of job_id in *ret (malloc'ed).  -ENOENT when it has none. */
int store_job_state_get(struct store_tx *tx, const char *job_id, char **ret);
/*
 * Inserts or replaces job_id's state with text; text "" deletes it (a
 * later get returns -ENOENT).  -E2BIG when longer than LIMIT_STORE_TEXT.
 */
int store_job_state_put(struct store_tx *tx, const char *job_id, const char *text);

#endif
