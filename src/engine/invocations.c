/*
 * invocations.c - invocations: creation (spec 3.11), and the handlers
 * that call a task manager through the controller (controller.h): launch
 * (3.12), timers (3.13), Pub/Sub notifications (3.14), aborts (3.16).
 */
#include "engine/controller.h"

#include "base/log.h"
#include "engine/debuglog.h"
#include "engine/invid.h"
#include "engine/request.h"
#include "tasks/registry.h"

/* ---- creation ---- */

/* A free invocation id in tx (spec 3.11).  Returns 0, -EAGAIN (none found), -errno. */
static int new_inv_id(struct engine *e, struct store_tx *tx, int64_t now, int64_t *ret)
{
    for (int i = 0; i < ENGINE_INVID_ATTEMPTS; i++) {
        struct store_inv probe = {0};
        int64_t cand = invid_make(now, (uint16_t)engine__rand(e));
        int r = store_inv_get(tx, cand, &probe);

        if (r == -ENOENT) {
            *ret = cand;
            return 0;
        }
        store_inv_release(&probe);
        if (r < 0)
            return r;
    }
    return -EAGAIN;
}

/* The head of a new invocation's debug log: the triage's own output. */
static int log_triage_output(struct buf *log, const char *triage_debug)
{
    if (buf_puts(log, "Debug output from the triage procedure:\n"
                      "---------------------------------------\n") < 0 ||
        buf_puts(log, triage_debug) < 0 ||
        buf_puts(log, "---------------------------------------\n\n"
                      "Debug output from the invocation itself:\n") < 0)
        return -ENOMEM;
    return 0;
}

int engine__inv_create(struct engine *e, struct store_tx *tx, struct store_job *j,
                       const json_t *request, const char *triage_debug, int64_t *ret_id)
{
    int64_t now = engine__now(e), id = 0;
    struct buf log;
    json_t *req = NULL, *tags = NULL, *active = NULL;
    char *req_text = NULL, key[ENGINE_ID_MAX + 48], err[512];
    const char *by;
    struct store_inv v;
    int r;

    r = new_inv_id(e, tx, now, &id);
    if (r < 0)
        return r;

    buf_init(&log, ENGINE_DEBUGLOG_BUF);
    req = json_deep_copy(request);
    active = engine__json_parse(j->active_json, 1);
    if (!req || !active) {
        r = -ENOMEM;
        goto out;
    }
    if (triage_debug && triage_debug[0] && log_triage_output(&log, triage_debug) < 0) {
        r = -ENOMEM;
        goto out;
    }
    if (json_object_get(req, "tags")) {
        r = request_tags_sorted(json_object_get(req, "tags"), &tags, err, sizeof(err));
        if (r == -EINVAL) {
            /* LUCI fails the triage forever; tock drops the tags and says why. */
            debuglog_appendf(&log, now, "Dropping the request tags: %s", err);
            json_object_del(req, "tags");
        } else if (r < 0) {
            goto out;
        } else {
            json_object_set_new(req, "tags", tags);
        }
    }
    debuglog_append(&log, now, "New invocation is queued and will start shortly");
    by = json_string_value(json_object_get(req, "triggeredBy"));
    if (by && by[0])
        debuglog_appendf(&log, now, "Triggered by %s", by);
    req_text = json_dumps(req, JSON_COMPACT);
    if (!req_text) {
        r = -ENOMEM;
        goto out;
    }
    v = (struct store_inv){
        .id = id,
        .job_id = j->id,
        .realm_id = j->realm_id,
        .started = now,
        .status = (char *)inv_status_name(INV_STARTING),
        .triggered_by = (char *)(by ? by : ""),
        .request_json = req_text,
        .task_json = j->task_json,
        .revision = j->revision,
        .revision_url = j->revision_url,
        .triggered_json = j->triggered_json,
        .debug_log = log.data,
        .view_url = "",
        .task_data_json = "",
        .aborted_by = "",
        .timers_json = "[]",
        .outgoing_json = "[]",
    };
    r = store_inv_insert(tx, &v);
    if (r < 0)
        goto out;
    snprintf(key, sizeof(key), "inv:%s:%" PRId64, j->id, id);
    r = engine__enqueue(e, tx, TASK_LAUNCH, j->id, id, NULL, now + e->set.launch_batch_delay_ns,
                        key);
    if (r < 0)
        goto out;
    {
        char ids[32];
        snprintf(ids, sizeof(ids), "%" PRId64, id);
        if (json_array_append_new(active, json_string(ids)) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    r = engine__json_set(&j->active_json, active);
    if (r == 0)
        *ret_id = id;
out:
    json_decref(req);
    json_decref(active);
    free(req_text);
    buf_release(&log);
    return r;
}

/* ---- launch ---- */

static int append_log(struct engine *e, struct store_inv *v, const char *msg)
{
    struct buf b;
    int r;

    buf_init(&b, ENGINE_DEBUGLOG_BUF);
    r = buf_puts(&b, v->debug_log);
    if (r == 0)
        r = debuglog_append(&b, engine__now(e), msg);
    if (r == 0)
        r = debuglog_trim(&b);
    if (r == 0) {
        free(v->debug_log);
        v->debug_log = buf_detach(&b, NULL);
        if (!v->debug_log)
            r = -ENOMEM;
    }
    buf_release(&b);
    return r;
}

/* Fails v for good ("Too many attempts, giving up"). */
static int give_up(struct engine *e, struct store_inv *v)
{
    json_t *empty;
    int r;

    r = append_log(e, v, "Too many attempts, giving up");
    if (r == 0)
        r = engine__strset(&v->status, inv_status_name(INV_FAILED));
    if (r < 0)
        return r;
    v->finished = engine__now(e);
    empty = json_array();
    free(v->timers_json);
    v->timers_json = empty ? json_dumps(empty, 0) : NULL;
    json_decref(empty);
    return v->timers_json ? 0 : -ENOMEM;
}

/*
 * Step 2 of the launch: record the attempt before calling the manager, in
 * the lease's transaction, so that one commit makes both the lease and
 * "Starting the invocation (attempt N)" durable.  On success *ret_row is
 * the row as stored and the manager is to be called; *ret_row stays
 * empty when there is nothing to launch (the task row is then deleted in
 * the same transaction).
 */
static int launch_record_attempt(struct engine *e, struct engine_task *t, int retry_count,
                                 struct store_inv *ret_row, char **ret_job_state)
{
    char *st = NULL;
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    int64_t expected;
    bool launch = false;
    char msg[128];
    int r;

    r = engine__task_begin(e, t, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, t->row.inv_id, &v);
    if (r == 0 && strcmp(v.job_id, t->row.job_id) != 0) {
        store_inv_release(&v);
        r = -ENOENT;
    }
    if (r == -ENOENT) {
        log_warn("engine", "%s/%" PRId64 ": The invocation is unexpectedly gone", t->row.job_id,
                 t->row.inv_id);
        r = engine__tx_task_done(tx, t);
        goto end;
    }
    if (r < 0)
        goto end;
    if (!inv_status_is_initial(ctl_status_of(v.status))) {
        log_info("engine", "%s/%" PRId64 ": The invocation is already running or finished: %s",
                 v.job_id, v.id, v.status);
        r = engine__tx_task_done(tx, t);
        goto end;
    }
    expected = v.mutations;
    v.retry_count = retry_count;
    v.mutations++;
    if (retry_count >= e->set.launch_attempts) {
        r = give_up(e, &v);
        if (r == 0)
            r = store_inv_update(tx, &v, expected);
        if (r == 0)
            r = engine__kick_triage(e, tx, v.job_id);
        if (r == 0)
            r = engine__tx_task_done(tx, t);
        goto end;
    }
    snprintf(msg, sizeof(msg), "Starting the invocation (attempt %d)", retry_count + 1);
    r = append_log(e, &v, msg);
    if (r == 0)
        r = store_inv_update(tx, &v, expected);
    if (r == 0) {
        r = store_job_state_get(tx, v.job_id, &st);
        if (r == -ENOENT)
            r = (st = strdup("")) ? 0 : -ENOMEM;
    }
    launch = r == 0;
end:
    if (r == -ESTALE)
        r = -EAGAIN; /* cannot happen: read and written in one transaction */
    r = engine__tx_end(e, tx, t, r);
    if (r < 0)
        launch = false;
    if (launch) {
        *ret_row = v;
        memset(&v, 0, sizeof(v));
        *ret_job_state = st;
        st = NULL;
    }
    free(st);
    store_inv_release(&v);
    return r;
}

/*
 * The launch's local part: records the attempt in the lease's transaction
 * and commits it.  Returns ENGINE_CALL_MANAGER when the manager is to be
 * called (engine__launch_call), 0 when there is nothing to launch, -errno.
 */
int engine__launch_prepare(struct engine *e, struct engine_task *t)
{
    struct store_inv row = {0};
    char *st = NULL;
    int retry_count = t->row.attempts - 1, r;

    if (retry_count > 0)
        log_info("engine", "%s/%" PRId64 ": This is a retry (attempt %d)!", t->row.job_id,
                 t->row.inv_id, retry_count + 1);
    r = launch_record_attempt(e, t, retry_count, &row, &st);
    if (r == 0 && row.job_id) {
        json_t *def = engine__json_parse(row.task_json, 0);
        const struct task_manager *m = def ? task_registry_find_for_def(e->registry, def) : NULL;

        json_decref(def);
        t->fast_manager = m && m->fast;
        t->launch_row = malloc(sizeof(*t->launch_row));
        if (t->launch_row) {
            *t->launch_row = row; /* taken */
            memset(&row, 0, sizeof(row));
            t->launch_job_state = st;
            st = NULL;
        }
        r = ENGINE_CALL_MANAGER;
    }
    free(st);
    store_inv_release(&row);
    return r;
}

/*
 * The launch's remote part: builds the controller from the stored
 * invocation (as recorded by engine__launch_prepare), calls the manager's
 * launch() and saves.
 */
int engine__launch_call(struct engine *e, struct engine_task *t)
{
    struct ctl c;
    int retry_count = t->row.attempts - 1, r, lr;

    if (t->launch_row) {
        r = ctl_from_row(e, t->launch_row, &c); /* takes the row, unless it fails */
        store_inv_release(t->launch_row);
        free(t->launch_row);
        t->launch_row = NULL;
        if (r == 0) {
            ctl_adopt_job_state(&c, t->launch_job_state); /* taken */
            t->launch_job_state = NULL;
        }
    } else {
        r = ctl_open(e, t->row.job_id, t->row.inv_id, &c);
    }
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (!inv_status_is_initial(c.saved_status)) {
        r = ctl_save(&c, t); /* launched meanwhile by another delivery */
        goto out;
    }
    if (!c.m) {
        ctl_logf(&c, "Failed to initialize task controller - %s",
                 c.task ? "no task manager for this task definition"
                        : "bad task definition");
        c.pub.status = INV_FAILED;
        r = ctl_save(&c, t);
        goto out;
    }
    if (c.saved.aborted_by[0]) {
        ctl_logf(&c, "Skipping the launch, the invocation was manually aborted by %s",
                 c.saved.aborted_by);
        c.pub.status = INV_ABORTED;
        r = ctl_save(&c, t);
        goto out;
    }
    log_info("engine", "%s/%" PRId64 ": Actually launching the task", c.saved.job_id, c.saved.id);
    c.pub.err[0] = '\0';
    lr = c.m->launch(c.m, &c.pub);
    if (lr == 0 && inv_status_is_initial(c.pub.status)) {
        snprintf(c.pub.err, sizeof(c.pub.err), "LaunchTask didn't move invocation out of "
                                               "initial %s state",
                 inv_status_name(c.pub.status));
        lr = TASK_ERR_FATAL;
    }
    if (lr == TASK_ERR_TRANSIENT && retry_count + 1 >= e->set.launch_attempts) {
        log_warn("engine", "%s/%" PRId64 ": Too many retries, giving up (original error - %s)",
                 c.saved.job_id, c.saved.id, c.pub.err);
        lr = TASK_ERR_FATAL;
    }
    if (lr < 0)
        log_warn("engine", "%s/%" PRId64 ": launch failed: %s", c.saved.job_id, c.saved.id,
                 c.pub.err[0] ? c.pub.err : strerror(-lr));
    if (lr < 0 && inv_status_is_initial(c.pub.status))
        c.pub.status = lr == TASK_ERR_TRANSIENT ? INV_RETRYING : INV_FAILED;
    if (c.pub.status == INV_RETRYING) {
        ctl_logf(&c, "The invocation will be retried");
        r = ctl_save(&c, NULL);
        if (r == 0)
            r = -EAGAIN; /* task failed to start, retrying */
        goto out;
    }
    r = ctl_save(&c, t);
out:
    ctl_release(&c);
    return r;
}

/* ---- abort ---- */

/*
 * The abort (spec 3.16 step 1) of an invocation whose marker is recorded
 * (mark_aborted): calls the manager's abort and saves ABORTED (with t, t's
 * row is deleted in the save).  Run by the caller of the abort, and by
 * whichever timer, push or abort task sees the marker first.  Returns 0
 * (aborted, or already final), -EAGAIN (the manager failed transiently,
 * or c->conflict: another handler saved first; nothing saved), -errno.
 */
static int abort_sync(struct ctl *c, const char *who, struct engine_task *t)
{
    int ar;

    if (inv_status_is_final(c->saved_status))
        return t ? ctl_save(c, t) : 0;
    ctl_logf(c, "Invocation was manually aborted by %s", who);
    c->pub.err[0] = '\0';
    ar = c->m && c->m->abort ? c->m->abort(c->m, &c->pub) : 0;
    if (ar == TASK_ERR_TRANSIENT)
        return -EAGAIN;
    if (ar < 0)
        ctl_logf(c, "Fatal error when aborting the invocation - %s",
                 c->pub.err[0] ? c->pub.err : strerror(-ar));
    if (!inv_status_is_final(c->pub.status))
        c->pub.status = INV_ABORTED;
    return ctl_save(c, t);
}

/*
 * Records who aborts invocation inv_id (AsyncState.AbortedBy), in one
 * durable commit before any manager is called, so that a timer or push
 * handler that runs from now on sees the marker and performs the abort
 * itself: a build the abort cancels cannot be read as "ended" in between
 * (v1 maps a canceled build to FAILED).  Past the launch the mutations
 * count is bumped too, so that a handler that read the row before the
 * marker fails its compare-and-set and runs again; not while STARTING,
 * where the launch in flight must still save the build it made (the abort
 * then waits for it: the manager's abort fails transiently without a
 * build, and the abort task follows).  Returns 0 (marked), 1 (nothing to do: final, or an abort
 * already pending), -ENOENT (missing, or not of job_id when given), -errno.
 */
struct abort_args {
    const char *job_id;
    int64_t inv_id;
    const char *who;
};

static int mark_aborted_tx(struct engine *e, void *ctx)
{
    const struct abort_args *a = ctx;
    const char *job_id = a->job_id, *who = a->who;
    int64_t inv_id = a->inv_id;
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    int64_t expected;
    int r;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, inv_id, &v);
    if (r == 0 && job_id && strcmp(v.job_id, job_id) != 0)
        r = -ENOENT; /* of another job: as missing (ctl_open's rule) */
    if (r == 0 && (inv_status_is_final(ctl_status_of(v.status)) || v.aborted_by[0]))
        r = 1;
    if (r == 0)
        r = store_inv_set_aborted_by(tx, inv_id, who);
    if (r == 0 && !inv_status_is_initial(ctl_status_of(v.status))) {
        expected = v.mutations;
        v.mutations++;
        r = store_inv_update(tx, &v, expected);
    }
    if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    store_inv_release(&v);
    return r;
}

static int mark_aborted(struct engine *e, const char *job_id, int64_t inv_id, const char *who)
{
    struct abort_args a = {job_id, inv_id, who};

    return engine__retry(e, mark_aborted_tx, &a);
}

static int enqueue_abort_tx(struct engine *e, void *ctx)
{
    const struct abort_args *a = ctx;
    struct store_tx *tx = NULL;
    int r;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = engine__enqueue(e, tx, TASK_ABORT, a->job_id, a->inv_id, NULL,
                        engine__now(e) + e->set.async_abort_delay_ns, NULL);
    if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    return r;
}

/* Leaves the abort to the abort task (the manager failed transiently). */
static int enqueue_async_abort(struct engine *e, const char *job_id, int64_t inv_id)
{
    struct abort_args a = {job_id, inv_id, NULL};

    log_info("engine",
             "%s/%" PRId64 ": Enqueuing an asynchronous abort because the synchronous abort "
             "failed",
             job_id, inv_id);
    return engine__retry(e, enqueue_abort_tx, &a);
}

int engine__abort_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                             const char *who)
{
    struct ctl c;
    int r, attempt;

    r = mark_aborted(e, job_id, inv_id, who);
    if (r != 0)
        return r == 1 ? 0 : r;
    /* A racing handler that saw the marker may finish the abort first. */
    for (attempt = 0; attempt < 3; attempt++) {
        r = ctl_open(e, job_id, inv_id, &c);
        if (r < 0)
            return r == -ENOENT ? 0 : r;
        r = abort_sync(&c, who, NULL);
        if (r == -EAGAIN && c.conflict) {
            ctl_release(&c);
            continue;
        }
        ctl_release(&c);
        break;
    }
    if (r != -EAGAIN)
        return r;
    return enqueue_async_abort(e, job_id, inv_id);
}

int engine__handle_abort(struct engine *e, struct engine_task *t)
{
    struct ctl c;
    int r;

    r = ctl_open(e, t->row.job_id, t->row.inv_id, &c);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    r = abort_sync(&c, c.saved.aborted_by[0] ? c.saved.aborted_by : "an unknown caller", t);
    ctl_release(&c);
    return r;
}

/* ---- timers ---- */

/*
 * A timer or push handler that lost the compare-and-set race to another
 * handler of the same invocation returns ENGINE_ERR_CONFLICT, so that the
 * task queue runs it again at once rather than after the transient-error
 * backoff (the other writer is done; nothing is failing).
 */
static int conflict_result(const struct ctl *c, int r)
{
    return r == -EAGAIN && c->conflict ? ENGINE_ERR_CONFLICT : r;
}

int engine__handle_timer(struct engine *e, struct engine_task *t)
{
    const char *timer_id = json_string_value(json_object_get(t->payload, "timer"));
    json_t *timers = NULL, *timer = NULL;
    struct ctl c;
    size_t i;
    json_t *v;
    int r, hr;

    r = ctl_open(e, t->row.job_id, t->row.inv_id, &c);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (inv_status_is_final(c.saved_status)) {
        log_info("engine", "%s/%" PRId64 ": Skipping the timer, the invocation is in final "
                           "state \"%s\"",
                 c.saved.job_id, c.saved.id, c.saved.status);
        r = ctl_save(&c, t);
        goto out;
    }
    if (c.saved.aborted_by[0]) {
        r = abort_sync(&c, c.saved.aborted_by, t);
        goto out;
    }
    timers = engine__json_parse(c.saved.timers_json, 1);
    json_array_foreach(timers, i, v) {
        const char *vid = json_string_value(json_object_get(v, "id"));
        if (timer_id && vid && strcmp(vid, timer_id) == 0) {
            timer = v;
            break;
        }
    }
    if (!timer) {
        log_warn("engine", "%s/%" PRId64 ": no such timer: %s", c.saved.job_id, c.saved.id,
                 timer_id ? timer_id : "?");
        r = -EINVAL; /* fatal: a duplicate or stale delivery, not retried */
        goto out;
    }
    json_array_append(c.consumed_timers, json_object_get(timer, "id"));
    ctl_logf(&c, "Handling timer \"%s\" (%s)", json_string_value(json_object_get(timer, "title")),
             timer_id);
    c.pub.err[0] = '\0';
    hr = c.m && c.m->handle_timer
             ? c.m->handle_timer(c.m, &c.pub, json_string_value(json_object_get(timer, "title")),
                                 json_string_value(json_object_get(timer, "payload")))
             : 0;
    if (hr == TASK_ERR_TRANSIENT) {
        r = -EAGAIN; /* not saved: the timer stays pending */
        goto out;
    }
    if (hr < 0 && c.pub.status != INV_FAILED) {
        ctl_logf(&c, "Fatal error when handling timer, aborting invocation - %s",
                 c.pub.err[0] ? c.pub.err : strerror(-hr));
        c.pub.status = INV_FAILED;
    }
    r = ctl_save(&c, t);
out:
    r = conflict_result(&c, r);
    json_decref(timers);
    ctl_release(&c);
    return r;
}

/* ---- Pub/Sub notifications (spec 3.14 step 5) ---- */

/* Calls the manager's handle_notification and applies its result. */
static int notify_manager(struct ctl *c, const json_t *message, struct engine_task *t)
{
    int hr;

    c->pub.err[0] = '\0';
    hr = c->m && c->m->handle_notification ? c->m->handle_notification(c->m, &c->pub, message)
                                           : 0;
    if (hr == TASK_ERR_TRANSIENT)
        return -EAGAIN; /* not saved: the push is delivered again */
    if (hr < 0 && c->pub.status != INV_FAILED) {
        ctl_logf(c, "Fatal error when handling PubSub notification, aborting invocation - %s",
                 c->pub.err[0] ? c->pub.err : strerror(-hr));
        c->pub.status = INV_FAILED;
    }
    return ctl_save(c, t);
}

int engine__handle_notification(struct engine *e, struct engine_task *t)
{
    const json_t *message = json_object_get(t->payload, "message");
    struct ctl c;
    int r;

    r = ctl_open(e, t->row.job_id, t->row.inv_id, &c);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (inv_status_is_final(c.saved_status))
        r = ctl_save(&c, t); /* nothing to do: the task is done */
    else if (c.saved.aborted_by[0])
        r = abort_sync(&c, c.saved.aborted_by, t);
    else if (inv_status_is_initial(c.saved_status))
        r = -EAGAIN; /* the launch has not saved yet: later */
    else
        r = notify_manager(&c, message, t);
    r = conflict_result(&c, r);
    ctl_release(&c);
    return r;
}
