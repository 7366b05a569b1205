/*
 * invocations.c - invocations: creation (spec 3.11), the launch handler,
 * the task controller and its save (3.12), timers (3.13), finishing
 * (3.15) and aborts (3.16).
 *
 * A controller is built from the stored invocation, handed to a manager
 * with no transaction open, then saved with a compare-and-set on the
 * mutations count: a concurrent save makes ours fail with -ESTALE and the
 * whole task is retried.  Everything the save causes (timer tasks, fan-out
 * tasks, the triage kick of a finished invocation) is enqueued in the
 * same transaction, together with the deletion of the task being handled.
 */
#include "engine/engine-internal.h"

#include <stdarg.h>

#include "base/log.h"
#include "engine/debuglog.h"
#include "engine/invid.h"
#include "engine/request.h"
#include "engine/trigger.h"
#include "tasks/registry.h"

struct ctl {
    struct task_ctl pub;
    struct engine *e;
    const struct task_manager *m;
    struct store_inv saved;
    enum inv_status saved_status;
    char project[ENGINE_NAME_MAX];
    char realm[ENGINE_ID_MAX];
    json_t *task;
    json_t *request;
    struct buf log;           /* debug-log lines not saved yet */
    json_t *new_timers;       /* timers added since the last save */
    json_t *consumed_timers;  /* ids of timers handled since the last save */
    struct trigger_vec emitted; /* triggers emitted since the last save */
    int64_t emit_counter;     /* orderInBatch of emitted triggers; not reset by save */
    int timer_index;          /* index of the next timer within this save */
};

static void ctl_log(struct task_ctl *pc, const char *msg);

static void ctl_logf(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ctl_logf(struct ctl *c, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctl_log(&c->pub, msg);
}

static struct ctl *ctl_of(struct task_ctl *pc)
{
    return (struct ctl *)pc;
}

static void ctl_log(struct task_ctl *pc, const char *msg)
{
    struct ctl *c = ctl_of(pc);

    if (debuglog_append(&c->log, engine__now(c->e), msg) < 0)
        log_warn("engine", "%s/%" PRId64 ": debug log full, dropped: %s", c->saved.job_id,
                 c->saved.id, msg);
}

static int64_t ctl_now(struct task_ctl *pc)
{
    return engine__now(ctl_of(pc)->e);
}

static int ctl_add_timer(struct task_ctl *pc, int64_t delay_ns, const char *title,
                         const char *payload)
{
    struct ctl *c = ctl_of(pc);
    int64_t now = engine__now(c->e);
    char id[ENGINE_ID_MAX + 96], d[TIME_DURATION_MAX], created[TIME_RFC3339_MAX];
    json_t *t;

    if (json_array_size(c->new_timers) >= ENGINE_MAX_TIMERS)
        return -E2BIG;
    if (delay_ns < 0)
        delay_ns = 0;
    snprintf(id, sizeof(id), "%s:%" PRId64 ":%" PRId64 ":%d", c->saved.job_id, c->saved.id,
             c->saved.mutations, c->timer_index++);
    time_format_rfc3339(now, created, sizeof(created));
    t = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", id, "created", created, "eta",
                  (json_int_t)(now + delay_ns), "title", title ? title : "", "payload",
                  payload ? payload : "");
    if (!t || json_array_append_new(c->new_timers, t) < 0)
        return -ENOMEM;
    time_format_duration(delay_ns, d, sizeof(d));
    ctl_logf(c, "Scheduling timer \"%s\" (%s) after %s", title ? title : "", id, d);
    return 0;
}

/*
 * The manager edge: the one place a manager's JSON trigger becomes a
 * struct trigger.  Fills jobId and invocationId, and created (the engine's
 * clock) with orderInBatch (the controller's counter) when absent.
 */
static int ctl_emit_trigger(struct task_ctl *pc, json_t *trigger)
{
    struct ctl *c = ctl_of(pc);
    struct trigger t;
    int r;

    r = trigger_from_json(trigger, &t);
    json_decref(trigger);
    if (r < 0)
        return r;
    free(t.job_id);
    t.job_id = strdup(c->saved.job_id);
    t.invocation_id = c->saved.id;
    if (t.created == TIME_ZERO) {
        t.created = engine__now(c->e);
        t.order_in_batch = c->emit_counter++;
    }
    r = t.job_id ? trigger_vec_push(&c->emitted, &t, ENGINE_MAX_EMITTED) : -ENOMEM;
    if (r == 0)
        ctl_logf(c, "Emitting a trigger %s", c->emitted.v[c->emitted.n - 1].id);
    trigger_release(&t);
    return r;
}

static int ctl_save(struct ctl *c, struct store_tx *tx, struct engine_task *t);

static int ctl_save_op(struct task_ctl *pc)
{
    return ctl_save(ctl_of(pc), NULL, NULL);
}

static int ctl_pubsub_token(struct task_ctl *pc, char *out, size_t outlen)
{
    struct ctl *c = ctl_of(pc);

    return engine__pubsub_token(c->e, c->saved.job_id, c->saved.id, out, outlen);
}

static const struct task_ctl_ops ctl_ops = {
    .log = ctl_log,
    .add_timer = ctl_add_timer,
    .emit_trigger = ctl_emit_trigger,
    .save = ctl_save_op,
    .now = ctl_now,
    .pubsub_token = ctl_pubsub_token,
};

static void ctl_release(struct ctl *c)
{
    store_inv_release(&c->saved);
    json_decref(c->task);
    json_decref(c->request);
    json_decref(c->pub.task_data);
    json_decref(c->new_timers);
    json_decref(c->consumed_timers);
    trigger_vec_release(&c->emitted);
    buf_release(&c->log);
    memset(c, 0, sizeof(*c));
}

static enum inv_status status_of(const char *name)
{
    int s = inv_status_from_name(name);
    return s < 0 ? INV_FAILED : (enum inv_status)s;
}

/* Points the public fields at the saved row. */
static void ctl_bind(struct ctl *c)
{
    const char *slash = strchr(c->saved.job_id, '/');
    size_t plen = slash ? (size_t)(slash - c->saved.job_id) : strlen(c->saved.job_id);

    snprintf(c->project, sizeof(c->project), "%.*s", (int)plen, c->saved.job_id);
    if (c->saved.realm_id[0])
        snprintf(c->realm, sizeof(c->realm), "%s", c->saved.realm_id);
    else
        snprintf(c->realm, sizeof(c->realm), "%s:@legacy", c->project);
    c->pub.job_id = c->saved.job_id;
    c->pub.project = c->project;
    c->pub.invocation_id = c->saved.id;
    c->pub.realm_id = c->realm;
    c->pub.attempt = c->saved.retry_count + 1;
    c->saved_status = status_of(c->saved.status);
}

/*
 * Builds a controller from the stored row v (taken: *v is zeroed).  The
 * manager may be NULL when the task definition is bad (the caller
 * decides).
 */
static int ctl_from_row(struct engine *e, struct store_inv *v, struct ctl *c)
{
    memset(c, 0, sizeof(*c));
    c->e = e;
    c->pub.ops = &ctl_ops;
    c->pub.engine = e;
    buf_init(&c->log, ENGINE_DEBUGLOG_BUF);
    c->saved = *v;
    memset(v, 0, sizeof(*v));
    c->new_timers = json_array();
    c->consumed_timers = json_array();
    if (!c->new_timers || !c->consumed_timers) {
        ctl_release(c);
        return -ENOMEM;
    }
    ctl_bind(c);
    c->task = engine__json_parse(c->saved.task_json, 0);
    c->request = engine__json_parse(c->saved.request_json, 0);
    if (!c->request)
        c->request = json_object();
    c->pub.task = c->task;
    c->pub.request = c->request;
    c->pub.status = c->saved_status;
    c->pub.task_data = c->saved.task_data_json[0] ? json_loads(c->saved.task_data_json, 0, NULL)
                                                   : NULL;
    snprintf(c->pub.view_url, sizeof(c->pub.view_url), "%s", c->saved.view_url);
    c->m = c->task ? task_registry_find_for_def(e->registry, c->task) : NULL;
    return 0;
}

/*
 * Builds a controller for invocation inv_id (of job_id if not NULL) from
 * the store.  -ENOENT if missing or of another job.
 */
static int ctl_open(struct engine *e, const char *job_id, int64_t inv_id, struct ctl *c)
{
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    int r;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, inv_id, &v);
    store_rollback(tx);
    if (r == 0 && job_id && strcmp(v.job_id, job_id) != 0)
        r = -ENOENT;
    if (r == 0)
        r = ctl_from_row(e, &v, c);
    store_inv_release(&v);
    return r;
}

static char *task_data_text(const struct ctl *c)
{
    if (!c->pub.task_data)
        return strdup("");
    return json_dumps(c->pub.task_data, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* The pending timers after this save: saved minus consumed plus new. */
static json_t *merged_timers(const struct ctl *c)
{
    json_t *old = engine__json_parse(c->saved.timers_json, 1), *out = json_array();
    size_t i, k;
    json_t *t, *id;

    if (!old || !out) {
        json_decref(old);
        json_decref(out);
        return NULL;
    }
    json_array_foreach(old, i, t) {
        bool consumed = false;
        json_array_foreach(c->consumed_timers, k, id) {
            if (json_equal(json_object_get(t, "id"), id))
                consumed = true;
        }
        if (!consumed)
            json_array_append(out, t);
    }
    json_array_extend(out, c->new_timers);
    json_decref(old);
    return out;
}

static int enqueue_fanout(struct ctl *c, struct store_tx *tx, const json_t *targets,
                          const json_t *emitted)
{
    size_t i;
    json_t *target;
    json_t *p = json_pack("{s:O}", "triggers", emitted);
    int r = 0;

    if (!p)
        return -ENOMEM;
    json_array_foreach(targets, i, target) {
        const char *tj = json_string_value(target);
        if (!tj)
            continue;
        r = engine__enqueue(c->e, tx, TASK_ENQUEUE_TRIGGERS, tj, 0, p, engine__now(c->e), NULL);
        if (r < 0)
            break;
    }
    json_decref(p);
    return r;
}

/*
 * Saves the controller (spec 3.12 Save).  With tx, writes in it (the
 * caller commits or rolls back); without, in a transaction of its own.
 * With t, the task row is deleted in the same transaction.  Returns 0,
 * -EAGAIN (concurrent modification: retry the whole task), -errno.
 */
static int ctl_save(struct ctl *c, struct store_tx *tx, struct engine_task *t)
{
    struct engine *e = c->e;
    int64_t now = engine__now(e);
    struct store_inv nv;
    char *td = NULL, *timers_text = NULL, *outgoing_text = NULL, *log_text = NULL;
    json_t *targets = NULL, *timers = NULL, *outgoing = NULL, *emitted = NULL;
    struct buf full;
    bool own = tx == NULL, final_now, changed;
    int r;

    buf_init(&full, ENGINE_DEBUGLOG_BUF);
    td = task_data_text(c);
    if (!td) {
        r = -ENOMEM;
        goto out;
    }
    changed = c->pub.status != c->saved_status || strcmp(td, c->saved.task_data_json) != 0 ||
              strcmp(c->pub.view_url, c->saved.view_url) != 0 || c->log.len > 0 ||
              json_array_size(c->new_timers) > 0 || json_array_size(c->consumed_timers) > 0 ||
              c->emitted.n > 0;
    if (!changed) {
        r = 0;
        if (t) {
            if (own && (r = store_begin(e->store, &tx)) < 0)
                goto out;
            r = engine__tx_task_done(tx, t);
            if (own) {
                if (r == 0)
                    r = engine__commit(e, tx);
                else
                    store_rollback(tx);
                tx = NULL;
            }
        }
        goto out;
    }

    targets = engine__json_parse(c->saved.triggered_json, 1);
    if (!targets) {
        r = -ENOMEM;
        goto out;
    }
    if (c->emitted.n > 0 && json_array_size(targets) > 0) {
        size_t i;
        json_t *v;
        ctl_logf(c, "Dispatching triggers (%zu of them) to the following jobs:",
                 c->emitted.n);
        json_array_foreach(targets, i, v)
            ctl_logf(c, "  %s", json_string_value(v) ? json_string_value(v) : "?");
    }
    final_now = !inv_status_is_final(c->saved_status) && inv_status_is_final(c->pub.status);
    nv = c->saved; /* shallow: strings are replaced below by local ones */
    nv.mutations = c->saved.mutations + 1;
    nv.status = (char *)inv_status_name(c->pub.status);
    nv.view_url = c->pub.view_url;
    nv.task_data_json = td;
    if (final_now) {
        char d[TIME_DURATION_MAX];
        size_t i;
        json_t *v;

        nv.finished = now;
        time_format_duration(now - c->saved.started, d, sizeof(d));
        ctl_logf(c, "Invocation finished in %s with status %s", d,
                 inv_status_name(c->pub.status));
        json_array_foreach(c->new_timers, i, v) {
            ctl_logf(c, "Ignoring timer \"%s\" (%s)...",
                     json_string_value(json_object_get(v, "title")),
                     json_string_value(json_object_get(v, "id")));
        }
        json_array_clear(c->new_timers);
    }
    timers = merged_timers(c);
    outgoing = engine__json_parse(c->saved.outgoing_json, 1);
    if (triggers_to_json(c->emitted.v, c->emitted.n, &emitted) < 0 || !timers || !outgoing ||
        json_array_extend(outgoing, emitted) < 0) {
        r = -ENOMEM;
        goto out;
    }
    if (inv_status_is_final(c->pub.status))
        json_array_clear(timers); /* finished invocations never keep timers */
    timers_text = json_dumps(timers, JSON_COMPACT);
    outgoing_text = json_dumps(outgoing, JSON_COMPACT);
    if (!timers_text || !outgoing_text || buf_puts(&full, c->saved.debug_log) < 0 ||
        buf_append(&full, c->log.data, c->log.len) < 0 || debuglog_trim(&full) < 0) {
        r = -ENOMEM;
        goto out;
    }
    log_text = full.data;
    nv.timers_json = timers_text;
    nv.outgoing_json = outgoing_text;
    nv.debug_log = log_text;

    if (own && (r = store_begin(e->store, &tx)) < 0)
        goto out;
    r = store_inv_update(tx, &nv, c->saved.mutations);
    if (r == -ESTALE) {
        log_warn("engine",
                 "%s/%" PRId64 ": Invocation was modified by someone else while we were "
                 "handling it",
                 c->saved.job_id, c->saved.id);
        r = -EAGAIN;
    }
    if (r == 0 && final_now)
        r = engine__kick_triage(e, tx, c->saved.job_id);
    if (r == 0 && c->emitted.n > 0 && json_array_size(targets) > 0)
        r = enqueue_fanout(c, tx, targets, emitted);
    if (r == 0 && !inv_status_is_final(c->pub.status)) {
        size_t i;
        json_t *tm;
        json_array_foreach(c->new_timers, i, tm) {
            json_t *p = json_pack("{s:O}", "timer", json_object_get(tm, "id"));
            if (!p) {
                r = -ENOMEM;
                break;
            }
            r = engine__enqueue(e, tx, TASK_TIMER, c->saved.job_id, c->saved.id, p,
                                json_integer_value(json_object_get(tm, "eta")), NULL);
            json_decref(p);
            if (r < 0)
                break;
        }
    }
    if (r == 0 && t)
        r = engine__tx_task_done(tx, t);
    if (own) {
        if (r == 0)
            r = engine__commit(e, tx);
        else
            store_rollback(tx);
    }
    if (r < 0) {
        if (t)
            t->done_in_tx = false;
        goto out;
    }

    /* Landed: the new row is the saved copy now. */
    {
        struct store_inv fresh = c->saved;
        if ((r = engine__strset(&fresh.status, nv.status)) < 0 ||
            (r = engine__strset(&fresh.view_url, nv.view_url)) < 0)
            goto out;
        free(fresh.task_data_json);
        fresh.task_data_json = td;
        td = NULL;
        free(fresh.timers_json);
        fresh.timers_json = timers_text;
        timers_text = NULL;
        free(fresh.outgoing_json);
        fresh.outgoing_json = outgoing_text;
        outgoing_text = NULL;
        free(fresh.debug_log);
        fresh.debug_log = buf_detach(&full, NULL);
        fresh.mutations = nv.mutations;
        fresh.finished = nv.finished;
        c->saved = fresh;
        c->saved_status = c->pub.status;
    }
    buf_reset(&c->log);
    json_array_clear(c->new_timers);
    json_array_clear(c->consumed_timers);
    trigger_vec_release(&c->emitted);
    c->timer_index = 0;
out:
    free(td);
    free(timers_text);
    free(outgoing_text);
    buf_release(&full);
    json_decref(targets);
    json_decref(timers);
    json_decref(outgoing);
    json_decref(emitted);
    return r;
}

/* ---- creation ---- */

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

    for (int i = 0; i < ENGINE_INVID_ATTEMPTS; i++) {
        struct store_inv probe = {0};
        int64_t cand = invid_make(now, (uint16_t)engine__rand(e));

        r = store_inv_get(tx, cand, &probe);
        if (r == -ENOENT) {
            id = cand;
            break;
        }
        store_inv_release(&probe);
        if (r < 0)
            return r;
    }
    if (id == 0)
        return -EAGAIN;

    buf_init(&log, ENGINE_DEBUGLOG_BUF);
    req = json_deep_copy(request);
    active = engine__json_parse(j->active_json, 1);
    if (!req || !active) {
        r = -ENOMEM;
        goto out;
    }
    if (triage_debug && triage_debug[0]) {
        if (buf_puts(&log, "Debug output from the triage procedure:\n"
                           "---------------------------------------\n") < 0 ||
            buf_puts(&log, triage_debug) < 0 ||
            buf_puts(&log, "---------------------------------------\n\n"
                           "Debug output from the invocation itself:\n") < 0) {
            r = -ENOMEM;
            goto out;
        }
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
                                 struct store_inv *ret_row)
{
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
    if (!inv_status_is_initial(status_of(v.status))) {
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
    launch = r == 0;
end:
    if (r == -ESTALE)
        r = -EAGAIN; /* cannot happen: read and written in one transaction */
    if (r == 0) {
        r = engine__commit(e, tx);
    } else {
        store_rollback(tx);
    }
    if (r < 0) {
        t->done_in_tx = false;
        launch = false;
    }
    if (launch) {
        *ret_row = v;
        memset(&v, 0, sizeof(v));
    }
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
    int retry_count = t->row.attempts - 1, r;

    if (retry_count > 0)
        log_info("engine", "%s/%" PRId64 ": This is a retry (attempt %d)!", t->row.job_id,
                 t->row.inv_id, retry_count + 1);
    r = launch_record_attempt(e, t, retry_count, &row);
    if (r == 0 && row.job_id)
        r = ENGINE_CALL_MANAGER;
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

    r = ctl_open(e, t->row.job_id, t->row.inv_id, &c);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (!inv_status_is_initial(c.saved_status)) {
        r = ctl_save(&c, NULL, t); /* launched meanwhile by another delivery */
        goto out;
    }
    if (!c.m) {
        ctl_logf(&c, "Failed to initialize task controller - %s",
                 c.task ? "no task manager for this task definition"
                        : "bad task definition");
        c.pub.status = INV_FAILED;
        r = ctl_save(&c, NULL, t);
        goto out;
    }
    if (c.saved.aborted_by[0]) {
        ctl_logf(&c, "Skipping the launch, the invocation was manually aborted by %s",
                 c.saved.aborted_by);
        c.pub.status = INV_ABORTED;
        r = ctl_save(&c, NULL, t);
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
        ctl_log(&c.pub, "The invocation will be retried");
        r = ctl_save(&c, NULL, NULL);
        if (r == 0)
            r = -EAGAIN; /* task failed to start, retrying */
        goto out;
    }
    r = ctl_save(&c, NULL, t);
out:
    ctl_release(&c);
    return r;
}

/* ---- abort ---- */

/*
 * The synchronous abort (spec 3.16 step 1).  async: called by the abort
 * task (an async abort is expected to be pending).  Returns 0 (aborted,
 * or nothing to do), -EAGAIN (the manager failed transiently: nothing
 * saved), -ENOENT, -errno.
 */
static int abort_sync(struct ctl *c, const char *who, bool async, struct engine_task *t)
{
    int ar;

    if (inv_status_is_final(c->saved_status))
        return t ? ctl_save(c, NULL, t) : 0;
    if (c->saved.aborted_by[0] && !async)
        return 0; /* an asynchronous abort is already pending */
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
    return ctl_save(c, NULL, t);
}

int engine__abort_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                             const char *who)
{
    struct ctl c;
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    int r;

    r = ctl_open(e, job_id, inv_id, &c);
    if (r < 0)
        return r;
    r = abort_sync(&c, who, false, NULL);
    ctl_release(&c);
    if (r != -EAGAIN)
        return r;

    log_info("engine",
             "%s/%" PRId64 ": Enqueuing an asynchronous abort because the synchronous abort "
             "failed",
             job_id, inv_id);
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, inv_id, &v);
    if (r == 0 && !inv_status_is_final(status_of(v.status)) && !v.aborted_by[0]) {
        r = store_inv_set_aborted_by(tx, inv_id, who);
        if (r == 0)
            r = engine__enqueue(e, tx, TASK_ABORT, job_id, inv_id, NULL,
                                engine__now(e) + e->set.async_abort_delay_ns, NULL);
    }
    if (r == 0)
        r = engine__commit(e, tx);
    else
        store_rollback(tx);
    store_inv_release(&v);
    return r == -ENOENT ? 0 : r;
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
    r = abort_sync(&c, c.saved.aborted_by[0] ? c.saved.aborted_by : "an unknown caller",
                   true, t);
    ctl_release(&c);
    return r;
}

/* ---- timers ---- */

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
        r = ctl_save(&c, NULL, t);
        goto out;
    }
    if (c.saved.aborted_by[0]) {
        r = abort_sync(&c, c.saved.aborted_by, true, t);
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
    r = ctl_save(&c, NULL, t);
out:
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
    return ctl_save(c, NULL, t);
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
        r = ctl_save(&c, NULL, t); /* nothing to do: the task is done */
    else if (c.saved.aborted_by[0])
        r = abort_sync(&c, c.saved.aborted_by, true, t);
    else if (inv_status_is_initial(c.saved_status))
        r = -EAGAIN; /* the launch has not saved yet: later */
    else
        r = notify_manager(&c, message, t);
    ctl_release(&c);
    return r;
}
