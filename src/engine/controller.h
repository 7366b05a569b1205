/*
 * controller.h - the task controller (spec 3.12), private to the engine.
 *
 * A controller (struct ctl) is built from the stored invocation, handed to
 * a task manager as its struct task_ctl with no transaction open, then
 * saved with a compare-and-set on the mutations count: a concurrent save
 * makes ours fail and the whole task is retried (-EAGAIN).  Everything the
 * save causes (timer tasks, fan-out tasks, the triage kick of a finished
 * invocation) is written in the same transaction, together with the
 * deletion of the task being handled.
 *
 * Handlers of manager calls (launch, timer, abort, notification in
 * invocations.c) follow one shape:
 *
 *   struct ctl c;
 *   r = ctl_open(e, job_id, inv_id, &c);   // -ENOENT: nothing to do
 *   ... c.m->handle_x(c.m, &c.pub, ...) ...
 *   r = ctl_save(&c, t);                    // t's row deleted in the same commit
 *   ctl_release(&c);
 *
 * Threads: one controller is used by one thread at a time; nothing in it
 * is shared.  Ownership: the controller owns its copy of the row, its JSON
 * and its pending lines, timers and triggers; ctl_release frees them.
 */
#ifndef TOCK_ENGINE_CONTROLLER_H
#define TOCK_ENGINE_CONTROLLER_H

#include "engine/engine-internal.h"

#include "base/buf.h"
#include "engine/trigger.h"
#include "tasks/task.h"

struct ctl {
    struct task_ctl pub;        /* what the manager sees; first member */
    struct engine *e;
    const struct task_manager *m; /* NULL when the task definition is bad */
    struct store_inv saved;     /* the row as last stored */
    char *saved_job_state;      /* the job's manager state text as last read or stored, "" = none */
    enum inv_status saved_status;
    char project[ENGINE_NAME_MAX];
    char realm[ENGINE_ID_MAX];
    json_t *task;
    json_t *request;
    struct buf log;             /* debug-log lines not saved yet */
    json_t *new_timers;         /* timers added since the last save */
    json_t *consumed_timers;    /* ids of timers handled since the last save */
    struct trigger_vec emitted; /* triggers emitted since the last save */
    int64_t emit_counter;       /* orderInBatch of emitted triggers; not reset by save */
    int timer_index;            /* index of the next timer within this save */
    bool conflict;              /* the last ctl_save lost the compare-and-set race */
};

/*
 * Builds a controller from the stored row v (taken: *v is zeroed).
 * Returns 0 or -ENOMEM (then *v is still the caller's and *c is empty).
 */
int ctl_from_row(struct engine *e, struct store_inv *v, struct ctl *c);

/*
 * Takes the job's manager state text st (malloc'ed, "" = none), as read
 * from the store with the row, into c: the state the manager sees and the
 * one ctl_save compares against.
 */
void ctl_adopt_job_state(struct ctl *c, char *st);

/*
 * Builds a controller for invocation inv_id (of job_id if not NULL) from
 * the store, in a read transaction of its own, with the job's manager
 * state (pub.job_state; a stored text that is not JSON reads as none, with
 * a warning).  Returns 0, -ENOENT (missing or of another job), -errno.
 */
int ctl_open(struct engine *e, const char *job_id, int64_t inv_id, struct ctl *c);

/* Frees what c owns and zeroes it; a zeroed c is fine. */
void ctl_release(struct ctl *c);

/*
 * Saves the controller (spec 3.12 Save) in a transaction of its own.
 * With t, t's task row is deleted in the same transaction (also when
 * nothing changed).  A changed pub.job_state is written in the same
 * transaction, if the stored state is still c->saved_job_state.  Returns
 * 0, -EAGAIN (the row or the job state changed under us: retry the whole
 * task; nothing saved; c->conflict is then true), -E2BIG (job state too
 * long), -errno.  On success c->saved is the
 * stored row and the pending lines, timers and triggers are empty.
 */
int ctl_save(struct ctl *c, struct engine_task *t);

/* Appends a formatted line to the controller's debug log. */
void ctl_logf(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The status named by a row; unknown names read as FAILED. */
enum inv_status ctl_status_of(const char *name);

#endif
