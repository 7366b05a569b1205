/*
 * remote.c - the remote pool: threads that run the parts of task handlers
 * that call task managers (launch, timer, notification, abort).
 *
 * A manager call may wait up to its deadline on a remote service (one
 * minute for Buildbucket).  Run on the engine's workers, four hanging
 * calls would stop every cron tick, triage and fan-out; so a worker
 * leases the task, commits what it must commit first, and hands the task
 * to this pool, whose threads call the manager and settle the task.  The
 * queue is bounded (4 tasks per thread): when it is full the worker makes
 * the call itself, which slows it down but loses nothing.  The per-host
 * cap of the outgoing client (net/client.h) keeps one hanging host from
 * holding every remote thread.
 *
 * A queued task is leased and committed, and its lease is renewed while it
 * waits here and while its call runs (tq.c, "Lease renewal"): if the
 * process dies, the lease is freed when the store is opened again
 * (SQLite) or expires, and the task runs again (handlers are idempotent).  engine__remote_stop runs
 * what is queued before it joins.
 */
#include "engine/engine-internal.h"

#include "base/log.h"

#define REMOTE_QUEUE_PER_THREAD 4

static void *remote_main(void *arg)
{
    struct engine *e = arg;

    pthread_mutex_lock(&e->remote_lock);
    for (;;) {
        struct engine_task *t;

        while (e->remote_len == 0 && !e->remote_stopping)
            pthread_cond_wait(&e->remote_cond, &e->remote_lock);
        if (e->remote_len == 0)
            break; /* stopping, and nothing left */
        t = e->remote_queue[e->remote_head];
        e->remote_head = (e->remote_head + 1) % e->remote_cap;
        e->remote_len--;
        pthread_mutex_unlock(&e->remote_lock);

        if (engine__task_finish(e, t, engine__run_part(e, t, t->remote_fn)) < 0)
            log_error("engine", "remote pool: store error: %s", store_errmsg(e->store));

        pthread_mutex_lock(&e->remote_lock);
    }
    pthread_mutex_unlock(&e->remote_lock);
    return NULL;
}

int engine__remote_start(struct engine *e, int n_threads)
{
    int r = 0;

    if (n_threads <= 0)
        return 0;
    e->remote_cap = (size_t)n_threads * REMOTE_QUEUE_PER_THREAD;
    e->remote_queue = calloc(e->remote_cap, sizeof(*e->remote_queue));
    e->remote_threads = calloc((size_t)n_threads, sizeof(*e->remote_threads));
    if (!e->remote_queue || !e->remote_threads) {
        engine__remote_stop(e);
        return -ENOMEM;
    }
    e->remote_stopping = false;
    for (int i = 0; i < n_threads; i++) {
        r = -pthread_create(&e->remote_threads[i], NULL, remote_main, e);
        if (r < 0)
            break;
        e->n_remote++;
    }
    if (r < 0)
        engine__remote_stop(e);
    return r;
}

void engine__remote_stop(struct engine *e)
{
    pthread_mutex_lock(&e->remote_lock);
    e->remote_stopping = true;
    pthread_cond_broadcast(&e->remote_cond);
    pthread_mutex_unlock(&e->remote_lock);
    for (int i = 0; i < e->n_remote; i++)
        pthread_join(e->remote_threads[i], NULL);
    /* Without threads (start failed) nothing was queued. */
    free(e->remote_threads);
    free(e->remote_queue);
    e->remote_threads = NULL;
    e->remote_queue = NULL;
    e->n_remote = 0;
    e->remote_cap = e->remote_head = e->remote_len = 0;
    e->remote_stopping = false;
}

bool engine__remote_submit(struct engine *e, struct engine_task *t, engine_handler_fn fn)
{
    bool taken = false;

    pthread_mutex_lock(&e->remote_lock);
    if (e->n_remote > 0 && !e->remote_stopping && e->remote_len < e->remote_cap) {
        t->remote_fn = fn;
        e->remote_queue[(e->remote_head + e->remote_len) % e->remote_cap] = t;
        e->remote_len++;
        pthread_cond_signal(&e->remote_cond);
        taken = true;
    }
    pthread_mutex_unlock(&e->remote_lock);
    return taken;
}
