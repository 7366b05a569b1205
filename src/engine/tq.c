/*
 * tq.c - the engine's side of the durable task queue: enqueueing, leasing
 * and running one task, the worker threads and engine_run_due().
 *
 * A task is leased (store_task_lease) in a transaction that, for most
 * kinds, is handed to the handler still open: the handler does its work
 * and deletes the row (engine__tx_task_done) in it, so lease, state change
 * and "task done" are one commit.  The launch commits that transaction
 * with its "Starting the invocation" record before calling the manager.
 * Kinds that call a task manager first (timer, abort) get the lease
 * committed on its own and open their own transactions.  If the handler
 * did not delete the row, it is deleted or rescheduled afterwards in a
 * transaction of its own (taking the lease again if the handler's
 * rollback undid it): delivery is at least once, and every handler is
 * idempotent.
 *
 * Batches: the kinds marked batch (cron-tick, enqueue-triggers, triage,
 * cleanup) are leased up to LIMIT_ENGINE_LEASE_BATCH at once
 * (store_task_lease_batch, one lazy step that commits the leases) and
 * commit lazily (store_commit_lazy): a worker runs every such task that
 * is due, one step each (a failing one rolls back only itself and is
 * settled with its committed lease); a worker's turn starts with the
 * oldest due task of any kind (run_one) and adds a batch when that one
 * was of a batch kind (so a launch waits behind at most one batch), and
 * the group becomes durable in one commit when the worker finds
 * nothing more due (store_sync before it sleeps), when any durable commit
 * happens (a launch's "Starting", an API call), or every
 * LIMIT_STORE_GROUP_STEPS steps.  These handlers acknowledge nothing
 * outside the store, so a crash before the sync only brings their rows
 * back.
 *
 * Manager calls in batches: what must be durable before a task manager
 * is called -- a launch's "Starting" attempt, the lease of a timer, abort
 * or notification -- is committed as a lazy step too, and the task is
 * parked (struct call_batch) instead of calling its manager at once; when
 * LIMIT_ENGINE_CALL_BATCH tasks are parked, nothing more is due, or the
 * oldest has waited LIMIT_ENGINE_CALL_WAIT_MS, one store_sync makes them
 * all durable and only then are the managers called (the rule: no remote
 * call before its record is durable).  Their saves after the call are lazy
 * as well, on the worker or the remote pool: every lazy commit wakes the
 * workers, and a worker syncs before it sleeps.  A crash before that sync
 * brings the task back, which calls the manager again -- as a crash
 * between a call and its save always could (at-least-once delivery; the
 * Buildbucket manager's requestId makes a second ScheduleBuild the same
 * build).
 *
 * Lease renewal (issue 11): a task whose committed lease is held while its
 * manager is called -- from the moment its local part returns
 * ENGINE_CALL_MANAGER, through its parking in a call batch, its queueing
 * on and its run by the remote pool (or the worker), until it is settled
 * (engine__task_finish) or its own save deletes its row
 * (engine__tx_task_done) -- is on the engine's renewal list (intrusive,
 * under e->renew_lock; at most workers x LIMIT_ENGINE_CALL_BATCH parked
 * plus what the remote pool holds).  One renewer thread per engine
 * (renew_main, started by engine_start after the remote pool and stopped
 * after it, so a call is renewed to its end) wakes every lease/3 on the
 * monotonic clock and renews every listed lease with store_task_renew,
 * LIMIT_STORE_RENEW per transaction (one statement on PostgreSQL), each
 * to the engine clock's now + lease.  The commit is lazy: a renewal lost
 * in a crash only leaves the lease as it was (on SQLite a reopen frees
 * every lease anyway; on PostgreSQL only a server crash loses a committed
 * lazy step, within wal_writer_delay), so the worst case is the
 * at-least-once redelivery that a crash always allowed.  A conflict
 * (-EAGAIN) is redone after a jittered pause, up to ENGINE_REDO_ATTEMPTS
 * times, and not logged.  A lease the renewal does not find (taken over
 * by another owner, or gone) is marked lost, logged once, never renewed
 * again, and never resurrected: the call's save is refused (-ESTALE) as
 * before, and settle does not log it a second time.  The renewer makes no
 * query while the list is empty.  engine_run_due (tests) has no renewer:
 * it runs the calls inline within the same lease.
 */
#include "engine/engine-internal.h"

#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

/*
 * A task kind's handler, in up to two parts.  local runs on the worker
 * that leased the task; remote calls a task manager and runs on the
 * remote pool (remote.c).  A kind with both runs remote when local returns
 * ENGINE_CALL_MANAGER; a kind with only remote gets its lease committed
 * first.
 */
struct handler_entry {
    const char *kind;
    engine_handler_fn local;
    engine_handler_fn remote;
    /*
     * local takes the lease's open transaction (struct engine_task): it
     * calls nothing outside the store before its first commit.
     */
    bool in_lease_tx;
    /*
     * A batch kind: local's only commit is lazy (store_commit_lazy), so the
     * tasks of this kind due together become durable in one group commit
     * (the worker syncs when the queue has nothing more due).  Only for
     * handlers that acknowledge nothing outside the store: what they do is
     * lost with a crash before the sync, and their task rows come back.
     */
    bool batch;
};

static const struct handler_entry handlers[] = {
    {TASK_CRON_TICK, engine__handle_cron_tick, NULL, true, true},
    {TASK_ENQUEUE_TRIGGERS, engine__handle_enqueue_triggers, NULL, true, true},
    {TASK_TRIAGE, engine__handle_triage, NULL, true, true},
    {TASK_LAUNCH, engine__launch_prepare, engine__launch_call, true, false},
    {TASK_TIMER, NULL, engine__handle_timer, false, false},
    {TASK_ABORT, NULL, engine__handle_abort, false, false},
    {TASK_NOTIFICATION, NULL, engine__handle_notification, false, false},
    {TASK_CLEANUP, engine__handle_cleanup, NULL, true, true},
};

int engine__enqueue(struct engine *e, struct store_tx *tx, const char *kind, const char *job_id,
                    int64_t inv_id, const json_t *payload, int64_t due, const char *dedup)
{
    char *text = NULL;
    struct store_task t;
    int r;

    if (payload) {
        text = json_dumps(payload, JSON_COMPACT);
        if (!text)
            return -ENOMEM;
    }
    t = (struct store_task){
        .kind = (char *)kind,
        .job_id = (char *)(job_id ? job_id : ""),
        .inv_id = inv_id,
        .payload_json = text ? text : "",
        .due = due,
        .dedup_key = (char *)(dedup ? dedup : ""),
        .created = engine__now(e),
    };
    r = store_task_enqueue(tx, &t, NULL);
    free(text);
    return r < 0 ? r : 0;
}

int engine__task_begin(struct engine *e, struct engine_task *t, struct store_tx **ret)
{
    if (t && t->tx) {
        *ret = t->tx;
        t->tx = NULL;
        return 0;
    }
    return store_begin(e->store, ret);
}

static void renew_drop(struct engine_task *t);

int engine__tx_task_done(struct store_tx *tx, struct engine_task *t)
{
    int r;

    if (!t || t->done_in_tx)
        return 0;
    renew_drop(t); /* the row goes with this commit: not a lease the renewer may call lost */
    r = store_task_done(tx, t->row.id, t->owner);
    if (r == 0)
        t->done_in_tx = true;
    return r;
}

int engine__tx_end(struct engine *e, struct store_tx *tx, struct engine_task *t, int r)
{
    if (r == 0 && t && t->lazy)
        r = engine__commit_lazy(e, tx);
    else if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    if (r < 0 && t)
        t->done_in_tx = false; /* the deletion did not land */
    return r;
}

void engine__wake(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    e->wake_seq++;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

/* What follows a commit of either kind: a conflict said quietly, a failure loudly, else a wake. */
static int commit_ended(struct engine *e, int r)
{
    if (r == -EAGAIN) /* a conflict: the caller redoes the transaction */
        log_debug("engine", "commit conflict: %s", store_errmsg(e->store));
    else if (r < 0)
        log_error("engine", "commit failed: %s", store_errmsg(e->store));
    else
        engine__wake(e);
    return r;
}

int engine__commit(struct engine *e, struct store_tx *tx)
{
    return commit_ended(e, store_commit(tx));
}

int engine__commit_lazy(struct engine *e, struct store_tx *tx)
{
    return commit_ended(e, store_commit_lazy(tx));
}

int engine__commit_lazy_unwoken(struct engine *e, struct store_tx *tx)
{
    int r = store_commit_lazy(tx);

    if (r < 0)
        return commit_ended(e, r); /* said as engine__commit_lazy says it; no wake either way */
    return 0;
}

/* Makes the lazy commits so far durable (a worker about to sleep, engine_run_due). */
static int sync_batch(struct engine *e)
{
    int r = store_sync(e->store);

    if (r < 0)
        log_error("engine", "group commit failed, its batch will be redone: %s",
                  store_errmsg(e->store));
    return r;
}

static const struct handler_entry *handler_for(const char *kind)
{
    for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
        if (strcmp(handlers[i].kind, kind) == 0)
            return &handlers[i];
    return NULL;
}

/* The retry delay after attempts failed deliveries. */
static int64_t backoff(struct engine *e, const struct store_task *t)
{
    bool launch = strcmp(t->kind, TASK_LAUNCH) == 0;
    int64_t d = launch ? e->set.launch_retry_min_ns : e->set.task_retry_min_ns;
    int64_t max = launch ? e->set.launch_retry_max_ns : 60 * NS_PER_SEC;

    for (int i = 1; i < t->attempts && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

/* After a lost compare-and-set race: 10 ms, doubling, at most the usual backoff. */
static int64_t conflict_backoff(struct engine *e, const struct store_task *t)
{
    int64_t d = ENGINE_CONFLICT_RETRY_NS, max = backoff(e, t);

    for (int i = 1; i < t->attempts && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

static bool retryable(int hr)
{
    return hr == -EAGAIN || hr == -ESTALE || hr == -EIO || hr == ENGINE_ERR_REDO;
}

/* A random pause of 0 .. ENGINE_CONFLICT_PAUSE_MAX_NS, so that conflicting redos spread out. */
static int64_t conflict_jitter(struct engine *e)
{
    return (int64_t)(engine__rand(e) % (uint64_t)ENGINE_CONFLICT_PAUSE_MAX_NS);
}

/* A short random pause after a conflict, so that the redos of competing workers spread out. */
static void conflict_pause(struct engine *e)
{
    int64_t ns = conflict_jitter(e);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};

    nanosleep(&ts, NULL);
}

int engine__run_part(struct engine *e, struct engine_task *t, engine_handler_fn fn)
{
    uint64_t before = store_thread_conflicts();
    int hr = fn(e, t);

    return hr == -EAGAIN && store_thread_conflicts() != before ? ENGINE_ERR_REDO : hr;
}

/* Deletes or reschedules row (leased by owner in tx) after handler result hr. */
static int settle(struct engine *e, struct store_tx *tx, const struct store_task *row,
                  const char *owner, int hr)
{
    if (hr == ENGINE_ERR_REDO)
        return store_task_retry(tx, row->id, owner, engine__now(e) + conflict_jitter(e));
    if (hr == ENGINE_ERR_CONFLICT)
        return store_task_retry(tx, row->id, owner, engine__now(e) + conflict_backoff(e, row));
    if (retryable(hr))
        return store_task_retry(tx, row->id, owner, engine__now(e) + backoff(e, row));
    return store_task_done(tx, row->id, owner);
}

/*
 * Settles a task whose handler returned without deleting its row, in a
 * transaction of its own.  If the lease was handed to the handler in its
 * transaction and that transaction rolled back, the row is free again:
 * lease it anew (counting this delivery as an attempt) before settling.
 */
static int settle_after_once(struct engine *e, struct engine_task *t, int hr)
{
    struct store_tx *tx = NULL;
    struct store_task again = {0};
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = settle(e, tx, &t->row, t->owner, hr);
    if (r == -ESTALE && t->lease_in_tx && hr == ENGINE_ERR_REDO) {
        /* The conflict rolled the lease back: the row is free and due, redone at once. */
        store_rollback(tx);
        return 0;
    }
    if (r == -ESTALE && t->lease_in_tx) {
        r = store_task_lease_id(tx, t->row.id, engine__now(e), t->owner, e->set.lease_ns,
                                &again);
        if (r == 0)
            r = settle(e, tx, &again, t->owner, hr);
        store_task_release(&again);
    }
    if (r == -ESTALE || r == -ENOENT) {
        /* The lease expired, or the row was free, and someone else owns it now. */
        if (!t->renew_lost) /* else the renewer said so already */
            log_warn("engine", "task %" PRId64 " (%s): lease lost", t->row.id, t->row.kind);
        store_rollback(tx);
        return 0;
    }
    if (r < 0) {
        store_rollback(tx);
        return r;
    }
    return engine__commit(e, tx);
}

/*
 * settle_after_once, redone after a jittered pause while it loses
 * conflicts, at most ENGINE_REDO_ATTEMPTS times.  When every attempt lost,
 * the row keeps its lease, which expires, and the task runs again (handlers
 * are idempotent): a warning and 0, not a store failure.
 */
static int settle_after(struct engine *e, struct engine_task *t, int hr)
{
    int r = settle_after_once(e, t, hr);

    for (int i = 1; r == -EAGAIN && i < ENGINE_REDO_ATTEMPTS; i++) {
        conflict_pause(e);
        r = settle_after_once(e, t, hr);
    }
    if (r == -EAGAIN) {
        log_warn("engine", "task %" PRId64 " (%s): settling lost %d conflicts; it runs again "
                 "when its lease expires", t->row.id, t->row.kind, ENGINE_REDO_ATTEMPTS);
        r = 0;
    }
    return r;
}

int engine__task_finish(struct engine *e, struct engine_task *t, int hr)
{
    int r = 0;

    renew_drop(t); /* the manager call is over: its lease is settled now, not renewed */
    if (t->tx) {
        /* The handler never took the lease transaction: settle the row in it. */
        r = settle(e, t->tx, &t->row, t->owner, hr);
        if (r == 0 && t->lazy)
            r = engine__commit_lazy(e, t->tx);
        else if (r == 0)
            r = engine__commit(e, t->tx);
        else
            store_rollback(t->tx);
        t->tx = NULL;
        if (r == -EAGAIN) /* the lease went with the conflict: the row is free and due */
            r = 0;
    } else if (!t->done_in_tx) {
        r = settle_after(e, t, hr);
    }
    if (!t->done_in_tx && hr < 0 && !retryable(hr))
        log_error("engine", "task %" PRId64 " (%s, job %s) failed for good: %s", t->row.id,
                  t->row.kind, t->row.job_id, strerror(-hr));
    json_decref(t->payload);
    store_task_release(&t->row);
    if (t->launch_row) {
        store_inv_release(t->launch_row);
        free(t->launch_row);
    }
    free(t->launch_job_state);
    free(t);
    return r;
}

/*
 * Tasks leased by one worker whose manager calls wait for one durable
 * commit (see the head of this file).  Owned by the worker's loop.
 */
struct call_batch {
    struct engine_task *t[LIMIT_ENGINE_CALL_BATCH];
    size_t n;
    int64_t since; /* monotonic ns when the first was parked */
};

/*
 * Lease renewal.  A task whose committed lease is held while its manager
 * is called (from the moment its local part says ENGINE_CALL_MANAGER:
 * parked in a call batch, queued for or running on the remote pool, or
 * called on the worker) is on the engine's renewal list until it is
 * settled (engine__task_finish) or its own save deletes its row
 * (engine__tx_task_done).  The renewer thread (renew_main) extends every
 * lease on the list each lease/3.
 */
static void renew_add(struct engine *e, struct engine_task *t)
{
    pthread_mutex_lock(&e->renew_lock);
    t->renew_e = e;
    t->renew_prev = NULL;
    t->renew_next = e->renew_head;
    if (e->renew_head)
        e->renew_head->renew_prev = t;
    e->renew_head = t;
    t->renew_round = e->renew_round; /* from the next round on: it was just leased */
    t->renew_lost = false;
    pthread_mutex_unlock(&e->renew_lock);
}

/* Takes t off its renewal list, if it is on one (t's owning thread only). */
static void renew_drop(struct engine_task *t)
{
    struct engine *e = t->renew_e;

    if (!e)
        return;
    pthread_mutex_lock(&e->renew_lock);
    if (t->renew_prev)
        t->renew_prev->renew_next = t->renew_next;
    else
        e->renew_head = t->renew_next;
    if (t->renew_next)
        t->renew_next->renew_prev = t->renew_prev;
    t->renew_prev = t->renew_next = NULL;
    t->renew_e = NULL;
    pthread_mutex_unlock(&e->renew_lock);
}

/* Whether the parked calls should be made now, before other due work. */
static bool batch_ripe(const struct call_batch *b)
{
    return b->n == ARRAY_SIZE(b->t) ||
           (b->n > 0 && clock_mono_ns() - b->since >= LIMIT_ENGINE_CALL_WAIT_MS * NS_PER_MS);
}

static bool batch_full(const struct call_batch *b)
{
    return b->n == ARRAY_SIZE(b->t);
}

/*
 * Runs t's remote part: on the remote pool when use_pool and the manager
 * is not fast (the pool settles and frees t), else here, settling t.
 * Returns 0 or the store's -errno.
 */
static int call_manager(struct engine *e, struct engine_task *t, const struct handler_entry *h,
                        bool use_pool)
{
    if (use_pool && !t->tx && !t->fast_manager && engine__remote_submit(e, t, h->remote))
        return 0;
    return engine__task_finish(e, t, engine__run_part(e, t, h->remote));
}

/*
 * Makes the parked tasks' records durable and calls their managers (their
 * saves are lazy).  If the sync fails the records are lost with their
 * group: the tasks are settled as failed deliveries (retried) and no
 * manager is called.  Returns 0, -EIO (the sync failed) or the first store
 * error.
 */
static int make_calls(struct engine *e, struct call_batch *b, bool use_pool)
{
    int r = 0, r2;
    bool synced;

    if (b->n == 0)
        return 0;
    synced = sync_batch(e) == 0;
    for (size_t i = 0; i < b->n; i++) {
        struct engine_task *t = b->t[i];

        r2 = synced ? call_manager(e, t, handler_for(t->row.kind), use_pool)
                    : engine__task_finish(e, t, -EAGAIN);
        if (r2 < 0 && r == 0)
            r = r2;
    }
    b->n = 0;
    return synced ? r : -EIO;
}

/*
 * Leases one due task into a new struct engine_task; with may_park, a
 * task that calls a manager gets t->lazy (its records before the call are
 * lazy steps: it must be parked).  0, -ENOENT, -errno.
 */
static int lease_one(struct engine *e, const char *owner, bool may_park,
                     struct engine_task **ret)
{
    struct engine_task *t = calloc(1, sizeof(*t));
    struct store_tx *tx = NULL;
    const struct handler_entry *h;
    int r;

    if (!t)
        return -ENOMEM;
    snprintf(t->owner, sizeof(t->owner), "%s", owner);
    r = store_begin(e->store, &tx);
    if (r == 0)
        r = store_task_lease(tx, engine__now(e), t->owner, e->set.lease_ns, &t->row);
    if (r < 0) {
        if (tx)
            store_rollback(tx);
        free(t);
        return r;
    }
    h = handler_for(t->row.kind);
    if (h && h->remote && may_park)
        t->lazy = true; /* the lease or the launch's attempt waits for the batch's sync */
    if (h && !h->in_lease_tx) {
        /* The handler calls a task manager: the lease must hold outside. */
        r = t->lazy ? store_commit_lazy(tx) : store_commit(tx);
        if (r < 0) {
            store_task_release(&t->row);
            free(t);
            return r;
        }
    } else {
        t->tx = tx;
        t->lease_in_tx = h != NULL;
        t->lazy = t->lazy || (h && h->batch);
    }
    if (t->row.payload_json[0])
        t->payload = json_loads(t->row.payload_json, 0, NULL);
    *ret = t;
    return 0;
}

/* The batch kinds of the handler table, for store_task_lease_batch. */
static size_t batch_kinds(const char **kinds)
{
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(handlers) && n < STORE_LEASE_KINDS_MAX; i++)
        if (handlers[i].batch)
            kinds[n++] = handlers[i].kind;
    return n;
}

/* Runs one leased task of a batch kind (its lease committed) as a lazy step of its own. */
static int run_leased(struct engine *e, const char *owner, struct store_task *row)
{
    struct engine_task *t = calloc(1, sizeof(*t));
    const struct handler_entry *h = handler_for(row->kind);
    int hr;

    if (!t) {
        store_task_release(row);
        return -ENOMEM;
    }
    snprintf(t->owner, sizeof(t->owner), "%s", owner);
    t->row = *row;
    memset(row, 0, sizeof(*row));
    t->lazy = true;
    if (t->row.payload_json[0])
        t->payload = json_loads(t->row.payload_json, 0, NULL);
    hr = h && h->local ? engine__run_part(e, t, h->local) : -EINVAL;
    return engine__task_finish(e, t, hr);
}

/*
 * Leases up to max due tasks of the batch kinds in one lazy step
 * (store_task_lease_batch) and runs each as a lazy step of its own: a
 * failing one rolls back only itself and is settled (retried) with its
 * committed lease.  A crash before the next sync loses the leases with
 * the steps (the rows are free again); after it, the reopened store frees
 * the leases.  Returns the number of tasks run (0 when none was due), or
 * -errno if the store failed.
 */
static int run_batch(struct engine *e, const char *owner, size_t max)
{
    const char *kinds[STORE_LEASE_KINDS_MAX];
    size_t nk = batch_kinds(kinds), n = 0, i;
    struct store_task *rows = NULL;
    struct store_tx *tx = NULL;
    int r;

    if (max > LIMIT_ENGINE_LEASE_BATCH)
        max = LIMIT_ENGINE_LEASE_BATCH;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_task_lease_batch(tx, engine__now(e), owner, e->set.lease_ns, kinds, nk, max, &rows,
                               &n);
    if (r < 0 || n == 0) {
        store_rollback(tx);
        return r;
    }
    r = engine__commit_lazy(e, tx); /* a conflict is said quietly: the caller leases again */
    if (r < 0) {
        store_tasks_free(rows, n);
        return r;
    }
    for (i = 0; i < n && r >= 0; i++)
        r = run_leased(e, owner, &rows[i]);
    /* After a store error the rest keep their committed leases until they expire. */
    store_tasks_free(rows, n);
    return r < 0 ? r : (int)i;
}

/*
 * Leases and runs one due task, the oldest; with use_pool, its remote
 * part goes to the remote pool; a task that calls a manager is parked in
 * calls when it has room (its call waits for the batch's sync).
 * *ret_batch tells whether it was of a batch kind.  Returns 1 if a task
 * was handled, 0 if none was due, -errno if the store failed.
 */
static int run_one(struct engine *e, const char *owner, bool use_pool, struct call_batch *calls,
                   bool *ret_batch)
{
    struct engine_task *t = NULL;
    const struct handler_entry *h;
    int r, hr;

    r = lease_one(e, owner, !batch_full(calls), &t);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    h = handler_for(t->row.kind);
    *ret_batch = h && h->batch;
    if (!h) {
        log_error("engine", "dropping task %" PRId64 " of unknown kind \"%s\"", t->row.id,
                  t->row.kind);
        hr = -EINVAL;
    } else {
        hr = h->local ? engine__run_part(e, t, h->local) : ENGINE_CALL_MANAGER;
    }
    if (hr == ENGINE_CALL_MANAGER)
        renew_add(e, t); /* its lease is committed and held until the call's save */
    if (hr == ENGINE_CALL_MANAGER && t->lazy) {
        if (calls->n == 0)
            calls->since = clock_mono_ns();
        calls->t[calls->n++] = t;
        return 1;
    }
    if (hr == ENGINE_CALL_MANAGER) {
        r = call_manager(e, t, h, use_pool);
        return r < 0 ? r : 1;
    }
    r = engine__task_finish(e, t, hr);
    return r < 0 ? r : 1;
}

/*
 * A worker's turn: the oldest due task (run_one), and if it was of a
 * batch kind, up to LIMIT_ENGINE_LEASE_BATCH more of those at once
 * (run_batch).  Starting with the oldest keeps the queue's due order
 * between kinds, and a stream of launches pays no batch query.  Returns
 * the number of tasks run, 0 when none was due, -errno.
 */
static int run_one_then_batch(struct engine *e, const char *owner, struct call_batch *calls)
{
    bool batch = false;
    int r = run_one(e, owner, true, calls, &batch), rb;

    if (r <= 0 || !batch)
        return r;
    rb = run_batch(e, owner, LIMIT_ENGINE_LEASE_BATCH);
    return rb < 0 ? rb : r + rb;
}

int engine_run_due(struct engine *e, int max)
{
    char owner[ENGINE_TASK_OWNER_MAX];
    int n = 0, r = 0, r2;
    int limit = max > 0 && max < LIMIT_ENGINE_RUN_DUE ? max : LIMIT_ENGINE_RUN_DUE;

    struct call_batch calls = {.n = 0};

    snprintf(owner, sizeof(owner), "%s/run-due", e->owner_prefix);
    for (int conflicts = 0; n < limit;) {
        bool batch_kind = false;

        r = run_one(e, owner, false, &calls, &batch_kind);
        if (r == -EAGAIN && ++conflicts < LIMIT_ENGINE_RUN_DUE)
            continue; /* a lease lost to a conflict: redo it */
        if (r < 0 || (r == 0 && calls.n == 0))
            break;
        n += r;
        if (batch_kind && r > 0 && n < limit) {
            r = run_batch(e, owner, (size_t)(limit - n));
            if (r < 0)
                break;
            n += r;
        }
        if (r == 0 || batch_ripe(&calls))
            r = make_calls(e, &calls, false);
        if (r < 0)
            break;
    }
    r2 = make_calls(e, &calls, false); /* also after an error: nothing stays parked */
    if (r >= 0)
        r = r2;
    if (r >= 0)
        r = sync_batch(e);
    return r < 0 ? r : n;
}

int64_t engine_next_due(struct engine *e)
{
    struct store_tx *tx = NULL;
    int64_t next = INT64_MAX;

    if (store_begin(e->store, &tx) < 0)
        return INT64_MAX;
    if (store_task_next_due(tx, &next) < 0)
        next = INT64_MAX;
    store_rollback(tx);
    return next;
}

int engine_queue_stats(struct engine *e, size_t *ret_depth, int64_t *ret_lag_ns)
{
    struct store_tx *tx = NULL;
    int64_t next = INT64_MAX, now = engine__now(e);
    size_t depth = 0;
    int r;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return -EIO;
    r = store_task_count(tx, NULL, &depth);
    if (r == 0)
        r = store_task_next_due(tx, &next);
    store_rollback(tx);
    if (r < 0)
        return -EIO;
    *ret_depth = depth;
    *ret_lag_ns = next != INT64_MAX && next < now ? now - next : 0;
    return 0;
}

/* ---- workers ---- */

struct worker_arg {
    struct engine *e;
    int index;
};

/*
 * How long an idle worker sleeps when the next task is due at next (engine
 * clock): until then, at most ENGINE_MAX_SLEEP_NS (ENGINE_MAX_SLEEP_SHARED_NS
 * when other processes' notices wake it, 1 s with a test clock),
 * at least 1 s after a store error (don't spin on a broken store).
 */
static int64_t sleep_for(struct engine *e, int64_t next, bool failed)
{
    int64_t now = engine__now(e);
    int64_t wait_ns = next > now ? next - now : 0;
    int64_t max = e->clock != clock_real() ? ENGINE_MAX_SLEEP_TEST_NS
                  : e->shared               ? ENGINE_MAX_SLEEP_SHARED_NS
                                            : ENGINE_MAX_SLEEP_NS;

    if (failed && wait_ns < NS_PER_SEC)
        wait_ns = NS_PER_SEC;
    return wait_ns < max ? wait_ns : max;
}

/*
 * Whether a notice of other processes' work (store_watch) that came since
 * the worker read seen should end its sleep until next: one notice of work
 * due before next, or several (their due times are not kept: look again).
 */
static bool notice_wakes(struct engine *e, uint64_t seen, int64_t next)
{
    return e->notice_seq != seen && (e->notice_seq != seen + 1 || e->notice_due < next);
}

/* Sleeps (e->lock held) until wait_ns passed, an engine commit, a stop or a notice of earlier work. */
static void worker_sleep(struct engine *e, uint64_t seq, uint64_t nseq, int64_t next,
                         int64_t wait_ns)
{
    struct timespec ts = clock_mono_deadline(wait_ns);

    while (!e->stopping && e->wake_seq == seq) {
        if (notice_wakes(e, nseq, next))
            break;
        nseq = e->notice_seq; /* a notice of later work: sleep on */
        if (pthread_cond_timedwait(&e->wake, &e->lock, &ts) != 0)
            break;
    }
}


/* The store's notices of other processes' work (store_watch): wake the workers if earlier. */
static void on_store_notice(void *ctx, int64_t due)
{
    struct engine *e = ctx;

    pthread_mutex_lock(&e->lock);
    e->notice_seq++;
    e->notice_due = due;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

/* One renewal statement's leases, copied off the list (the renewer's own, heap). */
struct renew_chunk {
    size_t n;
    int64_t ids[LIMIT_STORE_RENEW];
    const char *owner_of[LIMIT_STORE_RENEW];
    char owners[LIMIT_STORE_RENEW][ENGINE_TASK_OWNER_MAX];
    bool renewed[LIMIT_STORE_RENEW];
};

/* Copies up to LIMIT_STORE_RENEW listed leases, not lost nor taken by this round yet, into c. */
static void renew_collect(struct engine *e, uint64_t round, struct renew_chunk *c)
{
    c->n = 0;
    pthread_mutex_lock(&e->renew_lock);
    for (struct engine_task *t = e->renew_head; t && c->n < LIMIT_STORE_RENEW; t = t->renew_next) {
        if (t->renew_round == round || t->renew_lost)
            continue;
        t->renew_round = round;
        c->ids[c->n] = t->row.id;
        snprintf(c->owners[c->n], sizeof(c->owners[c->n]), "%s", t->owner);
        c->owner_of[c->n] = c->owners[c->n];
        c->n++;
    }
    pthread_mutex_unlock(&e->renew_lock);
}

/* One renewal transaction for c; -EAGAIN (a conflict): redo it. */
static int renew_once(struct engine *e, struct renew_chunk *c)
{
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = store_task_renew(tx, c->ids, c->owner_of, c->n, engine__now(e), e->set.lease_ns,
                         c->renewed);
    if (r < 0) {
        store_rollback(tx);
        return r;
    }
    /* Lazy: a lost renewal only shortens a lease back (see ENGINE.md, "Lease renewal"). */
    return store_commit_lazy(tx);
}

/* Marks the leases of c the renewal did not find as lost (logged once, not renewed again). */
static void renew_mark_lost(struct engine *e, const struct renew_chunk *c)
{
    pthread_mutex_lock(&e->renew_lock);
    for (size_t i = 0; i < c->n; i++) {
        if (c->renewed[i])
            continue;
        /* Still listed: its own save has not deleted it, so someone else took it. */
        for (struct engine_task *t = e->renew_head; t; t = t->renew_next) {
            if (t->row.id != c->ids[i] || strcmp(t->owner, c->owners[i]) != 0 || t->renew_lost)
                continue;
            t->renew_lost = true;
            log_warn("engine", "task %" PRId64 " (%s, job %s): lease lost while its manager "
                               "call ran (taken over or gone); its save will be refused",
                     t->row.id, t->row.kind, t->row.job_id);
        }
    }
    pthread_mutex_unlock(&e->renew_lock);
}

/* A renewal round: every listed lease, LIMIT_STORE_RENEW per transaction; conflicts redone. */
static void renew_round(struct engine *e, struct renew_chunk *c)
{
    uint64_t round;

    pthread_mutex_lock(&e->renew_lock);
    round = ++e->renew_round;
    pthread_mutex_unlock(&e->renew_lock);
    for (;;) {
        int r = -EAGAIN;

        renew_collect(e, round, c);
        if (c->n == 0)
            return;
        for (int i = 0; r == -EAGAIN && i < ENGINE_REDO_ATTEMPTS; i++) {
            if (i > 0)
                conflict_pause(e);
            r = renew_once(e, c);
        }
        if (r == 0)
            renew_mark_lost(e, c);
        else
            log_error("engine", "lease renewal failed (%zu leases, they may expire): %s", c->n,
                      store_errmsg(e->store));
    }
}

/* The renewer: a round every lease/3 (monotonic), until engine_stop. */
static void *renew_main(void *arg)
{
    struct engine *e = arg;
    struct renew_chunk *c = malloc(sizeof(*c));
    int64_t period = e->set.lease_ns / 3 > NS_PER_MS ? e->set.lease_ns / 3 : NS_PER_MS;

    if (!c) {
        log_error("engine", "lease renewal: out of memory: leases are not renewed");
        return NULL;
    }
    pthread_mutex_lock(&e->renew_lock);
    while (!e->renew_stopping) {
        struct timespec ts;
        int64_t at = clock_mono_ns() + period;

        ts.tv_sec = (time_t)(at / NS_PER_SEC);
        ts.tv_nsec = (long)(at % NS_PER_SEC);
        while (!e->renew_stopping && clock_mono_ns() < at)
            pthread_cond_timedwait(&e->renew_cond, &e->renew_lock, &ts);
        if (e->renew_stopping)
            break;
        pthread_mutex_unlock(&e->renew_lock);
        renew_round(e, c);
        pthread_mutex_lock(&e->renew_lock);
    }
    pthread_mutex_unlock(&e->renew_lock);
    free(c);
    return NULL;
}

static int renew_start(struct engine *e)
{
    int r;

    e->renew_stopping = false;
    r = -pthread_create(&e->renew_thread, NULL, renew_main, e);
    e->renew_running = r == 0;
    return r;
}

/* Stops and joins the renewer (after the remote pool: its calls are renewed to the end). */
static void renew_stop(struct engine *e)
{
    if (!e->renew_running)
        return;
    pthread_mutex_lock(&e->renew_lock);
    e->renew_stopping = true;
    pthread_cond_broadcast(&e->renew_cond);
    pthread_mutex_unlock(&e->renew_lock);
    pthread_join(e->renew_thread, NULL);
    e->renew_running = false;
}

static void *worker_main(void *arg)
{
    struct worker_arg *wa = arg;
    struct engine *e = wa->e;
    char owner[ENGINE_TASK_OWNER_MAX];

    struct call_batch calls = {.n = 0};

    snprintf(owner, sizeof(owner), "%s/w%d", e->owner_prefix, wa->index);
    free(wa);
    for (;;) {
        uint64_t seq, nseq;
        int64_t next, wait_ns;
        int r;

        pthread_mutex_lock(&e->lock);
        if (e->stopping) {
            pthread_mutex_unlock(&e->lock);
            make_calls(e, &calls, true);
            sync_batch(e);
            break;
        }
        e->running_handlers++;
        seq = e->wake_seq;
        nseq = e->notice_seq;
        pthread_mutex_unlock(&e->lock);

        r = run_one_then_batch(e, owner, &calls);
        /* Parked calls are made when the batch is full, old, or nothing else is due. */
        if (calls.n > 0 && (r <= 0 || batch_ripe(&calls))) {
            int fr = make_calls(e, &calls, true);
            if (fr < 0 && r >= 0)
                r = fr;
            else if (r == 0)
                r = 1; /* the calls' saves may have made work due */
        }

        pthread_mutex_lock(&e->lock);
        e->running_handlers--;
        pthread_cond_broadcast(&e->wake);
        pthread_mutex_unlock(&e->lock);
        if (r > 0)
            continue;
        if (r == -EAGAIN) {
            /* A conflict with another worker or replica: redo at once, after a jitter. */
            conflict_pause(e);
            continue;
        }
        if (r < 0)
            log_error("engine", "worker %s: store error: %s", owner, store_errmsg(e->store));
        /* Nothing more due now: make this worker's batch durable before sleeping. */
        if (sync_batch(e) < 0)
            r = -EIO;

        next = engine_next_due(e);
        wait_ns = sleep_for(e, next, r < 0);
        if (wait_ns == 0)
            continue;
        pthread_mutex_lock(&e->lock);
        worker_sleep(e, seq, nseq, next, wait_ns);
        pthread_mutex_unlock(&e->lock);
    }
    return NULL;
}

/* Makes sure the periodic cleanup task exists (deduplicated by its key). */
static int seed_cleanup(struct engine *e)
{
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = engine__enqueue(e, tx, TASK_CLEANUP, "", 0, NULL,
                        engine__now(e) + ENGINE_CLEANUP_PERIOD_NS, TASK_CLEANUP);
    if (r == 0)
        return store_commit(tx);
    store_rollback(tx);
    return r;
}

int engine_start(struct engine *e, int n_threads)
{
    int n = n_threads > 0 ? n_threads : e->n_workers_default;
    int r = 0;

    if (seed_cleanup(e) < 0)
        log_warn("engine", "cannot schedule the cleanup task: %s", store_errmsg(e->store));

    pthread_mutex_lock(&e->lock);
    if (e->threads) {
        pthread_mutex_unlock(&e->lock);
        return -EALREADY;
    }
    e->threads = calloc((size_t)n, sizeof(*e->threads));
    if (!e->threads) {
        pthread_mutex_unlock(&e->lock);
        return -ENOMEM;
    }
    e->stopping = false;
    pthread_mutex_unlock(&e->lock);

    /* Other replicas' work wakes the workers (PostgreSQL); -ENOTSUP: no one else adds any. */
    r = store_watch(e->store, on_store_notice, e);
    if (r < 0 && r != -ENOTSUP)
        log_warn("engine", "cannot watch the store for other replicas' work (re-checking every "
                           "%ds): %s", (int)(ENGINE_MAX_SLEEP_SHARED_NS / NS_PER_SEC),
                 store_errmsg(e->store));
    pthread_mutex_lock(&e->lock);
    e->shared = r != -ENOTSUP;
    pthread_mutex_unlock(&e->lock);

    r = engine__remote_start(e, e->n_remote_default);
    if (r == 0)
        r = renew_start(e);
    for (int i = 0; r == 0 && i < n; i++) {
        struct worker_arg *wa = malloc(sizeof(*wa));
        if (!wa) {
            r = -ENOMEM;
            break;
        }
        wa->e = e;
        wa->index = i;
        r = -pthread_create(&e->threads[i], NULL, worker_main, wa);
        if (r < 0) {
            free(wa);
            break;
        }
        e->n_threads++;
    }
    if (r < 0)
        engine_stop(e, 0);
    return r;
}

void engine_stop(struct engine *e, int64_t deadline_ns)
{
    pthread_mutex_lock(&e->lock);
    if (!e->threads) {
        pthread_mutex_unlock(&e->lock);
        return;
    }
    e->stopping = true;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);

    /*
     * Handlers are bounded by their managers' timeouts; past the deadline
     * we say so and keep waiting, because a thread cannot be cancelled
     * safely in the middle of a store transaction.
     */
    if (clock_mono(e->clock) > deadline_ns && deadline_ns > 0)
        log_warn("engine", "stop deadline passed; waiting for running handlers");
    for (int i = 0; i < e->n_threads; i++)
        pthread_join(e->threads[i], NULL);
    engine__remote_stop(e);
    renew_stop(e);
    store_unwatch(e->store);
    pthread_mutex_lock(&e->lock);
    e->shared = false;
    free(e->threads);
    e->threads = NULL;
    e->n_threads = 0;
    e->stopping = false;
    pthread_mutex_unlock(&e->lock);
}
