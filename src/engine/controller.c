/*
 * controller.c - the task controller (spec 3.12): the struct task_ctl a
 * manager works with, and its save.  The contract is in controller.h.
 */
#include "engine/controller.h"

#include <stdarg.h>

#include "base/log.h"
#include "engine/debuglog.h"
#include "tasks/registry.h"

static void ctl_log(struct task_ctl *pc, const char *msg);

void ctl_logf(struct ctl *c, const char *fmt, ...)
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

    int64_t now = engine__now(c->e);
    int r = debuglog_append(&c->log, now, msg);

    /*
     * Full: cut the middle out now, as the save would (head, marker, last
     * lines), so the newest lines are kept and the log stays bounded.
     */
    if (r == -E2BIG && debuglog_trim(&c->log) == 0)
        r = debuglog_append(&c->log, now, msg);
    if (r < 0)
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

static int ctl_save_op(struct task_ctl *pc)
{
    return ctl_save(ctl_of(pc), NULL);
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

void ctl_release(struct ctl *c)
{
    store_inv_release(&c->saved);
    free(c->saved_job_state);
    json_decref(c->pub.job_state);
    json_decref(c->task);
    json_decref(c->request);
    json_decref(c->pub.task_data);
    json_decref(c->new_timers);
    json_decref(c->consumed_timers);
    trigger_vec_release(&c->emitted);
    buf_release(&c->log);
    memset(c, 0, sizeof(*c));
}

enum inv_status ctl_status_of(const char *name)
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
    c->saved_status = ctl_status_of(c->saved.status);
}

/*
 * Builds a controller from the stored row v (taken: *v is zeroed).  The
 * manager may be NULL when the task definition is bad (the caller
 * decides).
 */
int ctl_from_row(struct engine *e, struct store_inv *v, struct ctl *c)
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
    c->saved_job_state = strdup("");
    if (!c->new_timers || !c->consumed_timers || !c->saved_job_state) {
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

void ctl_adopt_job_state(struct ctl *c, char *st)
{
    json_error_t err;

    free(c->saved_job_state);
    c->saved_job_state = st;
    json_decref(c->pub.job_state);
    c->pub.job_state = NULL;
    c->pub.job_state_unchanged = false;
    if (!st[0])
        return;
    c->pub.job_state = engine__state_parse(c->e, st, &err);
    if (!c->pub.job_state)
        log_warn("engine", "%s: the stored manager state is not JSON (%s), reading it as none",
                 c->saved.job_id, err.text);
}

/*
 * Builds a controller for invocation inv_id (of job_id if not NULL) from
 * the store.  -ENOENT if missing or of another job.
 */
int ctl_open(struct engine *e, const char *job_id, int64_t inv_id, struct ctl *c)
{
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    char *st = NULL;
    int r;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, inv_id, &v);
    if (r == 0 && job_id && strcmp(v.job_id, job_id) != 0)
        r = -ENOENT;
    if (r == 0) {
        r = store_job_state_get(tx, v.job_id, &st);
        if (r == -ENOENT)
            r = (st = strdup("")) ? 0 : -ENOMEM;
    }
    store_rollback(tx);
    if (r == 0)
        r = ctl_from_row(e, &v, c);
    if (r == 0) {
        ctl_adopt_job_state(c, st);
        st = NULL;
    }
    free(st);
    store_inv_release(&v);
    return r;
}

static char *task_data_text(const struct ctl *c)
{
    if (!c->pub.task_data)
        return strdup("");
    return json_dumps(c->pub.task_data, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static char *job_state_text(const struct ctl *c)
{
    /* The manager says it left the state alone: no need to serialise it to compare. */
    if (c->pub.job_state_unchanged)
        return strdup(c->saved_job_state);
    if (!c->pub.job_state)
        return strdup("");
    return json_dumps(c->pub.job_state, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
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

/* ---- the save: build the changes, write them, adopt them ---- */

/*
 * The fields of the invocation row a save changes; strings owned.  The
 * other fields keep the values of ctl->saved.
 */
struct inv_changes {
    int64_t mutations;
    int64_t finished;
    enum inv_status status;
    char *view_url;
    char *task_data_json;
    char *timers_json;
    char *outgoing_json;
    char *debug_log;
    char *job_state;  /* the job's manager state text; NULL = unchanged */
    bool final_now;   /* the save makes the invocation final */
    json_t *targets;  /* the jobs emitted triggers fan out to */
    json_t *emitted;  /* the emitted triggers, internal JSON */
};

static void changes_release(struct inv_changes *ch)
{
    free(ch->view_url);
    free(ch->task_data_json);
    free(ch->timers_json);
    free(ch->outgoing_json);
    free(ch->debug_log);
    free(ch->job_state);
    json_decref(ch->targets);
    json_decref(ch->emitted);
    memset(ch, 0, sizeof(*ch));
}

/*
 * Whether the manager changed anything worth a write; td is the task data
 * text, st the job state text.
 */
static bool ctl_changed(const struct ctl *c, const char *td, const char *st)
{
    return c->pub.status != c->saved_status || strcmp(td, c->saved.task_data_json) != 0 ||
           strcmp(st, c->saved_job_state) != 0 ||
           strcmp(c->pub.view_url, c->saved.view_url) != 0 || c->log.len > 0 ||
           json_array_size(c->new_timers) > 0 || json_array_size(c->consumed_timers) > 0 ||
           c->emitted.n > 0;
}

/* The debug-log lines a save itself adds (fan-out, finishing, dropped timers). */
static void log_save(struct ctl *c, const struct inv_changes *ch, int64_t now)
{
    size_t i;
    json_t *v;

    if (c->emitted.n > 0 && json_array_size(ch->targets) > 0) {
        ctl_logf(c, "Dispatching triggers (%zu of them) to the following jobs:", c->emitted.n);
        json_array_foreach(ch->targets, i, v)
            ctl_logf(c, "  %s", json_string_value(v) ? json_string_value(v) : "?");
    }
    if (!ch->final_now)
        return;
    char d[TIME_DURATION_MAX];
    time_format_duration(now - c->saved.started, d, sizeof(d));
    ctl_logf(c, "Invocation finished in %s with status %s", d, inv_status_name(c->pub.status));
    json_array_foreach(c->new_timers, i, v) {
        ctl_logf(c, "Ignoring timer \"%s\" (%s)...", json_string_value(json_object_get(v, "title")),
                 json_string_value(json_object_get(v, "id")));
    }
    json_array_clear(c->new_timers);
}

/* The texts of the timers and outgoing-triggers columns after this save. */
static int build_lists(struct ctl *c, struct inv_changes *ch)
{
    json_t *timers = merged_timers(c);
    json_t *outgoing = engine__json_parse(c->saved.outgoing_json, 1);
    int r = -ENOMEM;

    if (triggers_to_json(c->emitted.v, c->emitted.n, &ch->emitted) < 0 || !timers ||
        !outgoing || json_array_extend(outgoing, ch->emitted) < 0)
        goto out;
    if (inv_status_is_final(c->pub.status))
        json_array_clear(timers); /* finished invocations never keep timers */
    ch->timers_json = json_dumps(timers, JSON_COMPACT);
    ch->outgoing_json = json_dumps(outgoing, JSON_COMPACT);
    if (ch->timers_json && ch->outgoing_json)
        r = 0;
out:
    json_decref(timers);
    json_decref(outgoing);
    return r;
}

/* The saved debug log followed by the new lines, trimmed to the limit. */
static int build_log(const struct ctl *c, char **ret)
{
    struct buf full;
    int r;

    /* Both parts are bounded (the saved log is trimmed, c->log is at most ENGINE_DEBUGLOG_BUF). */
    buf_init(&full, (c->saved.debug_log ? strlen(c->saved.debug_log) : 0) + c->log.len + 1);
    r = buf_puts(&full, c->saved.debug_log);
    if (r == 0)
        r = buf_append(&full, c->log.data, c->log.len);
    if (r == 0)
        r = debuglog_trim(&full);
    if (r == 0) {
        *ret = buf_detach(&full, NULL);
        r = *ret ? 0 : -ENOMEM;
    }
    buf_release(&full);
    return r < 0 ? -ENOMEM : 0;
}

/*
 * Step 1: the new values of the row (td, the task data text, and st, the
 * job state text, are taken).
 */
static int build_changes(struct ctl *c, char *td, char *st, struct inv_changes *ch)
{
    int64_t now = engine__now(c->e);
    int r;

    *ch = (struct inv_changes){
        .mutations = c->saved.mutations + 1,
        .finished = c->saved.finished,
        .status = c->pub.status,
        .task_data_json = td,
        .job_state = st,
        .final_now = !inv_status_is_final(c->saved_status) && inv_status_is_final(c->pub.status),
        .targets = engine__json_parse(c->saved.triggered_json, 1),
        .view_url = strdup(c->pub.view_url),
    };
    if (strcmp(st, c->saved_job_state) == 0) {
        free(ch->job_state);
        ch->job_state = NULL;
    }
    if (!ch->targets || !ch->view_url)
        return -ENOMEM;
    if (ch->final_now)
        ch->finished = now;
    log_save(c, ch, now);
    r = build_lists(c, ch);
    if (r == 0)
        r = build_log(c, &ch->debug_log);
    return r;
}

/* The row to store: the saved one with the changes (a view: borrows from both). */
static struct store_inv row_view(const struct store_inv *saved, const struct inv_changes *ch)
{
    struct store_inv v = *saved;

    v.mutations = ch->mutations;
    v.finished = ch->finished;
    v.status = (char *)inv_status_name(ch->status);
    v.view_url = ch->view_url;
    v.task_data_json = ch->task_data_json;
    v.timers_json = ch->timers_json;
    v.outgoing_json = ch->outgoing_json;
    v.debug_log = ch->debug_log;
    return v;
}

/* Enqueues a timer task for each timer added since the last save. */
static int enqueue_timers(struct ctl *c, struct store_tx *tx)
{
    size_t i;
    json_t *tm;

    json_array_foreach(c->new_timers, i, tm) {
        json_t *p = json_pack("{s:O}", "timer", json_object_get(tm, "id"));
        int r = p ? engine__enqueue(c->e, tx, TASK_TIMER, c->saved.job_id, c->saved.id, p,
                                    json_integer_value(json_object_get(tm, "eta")), NULL)
                  : -ENOMEM;
        json_decref(p);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * The job state's compare-and-set: writes ch->job_state if the stored
 * state is still the one c read.  -EAGAIN when another invocation of the
 * job moved it meanwhile.
 */
static int write_job_state(struct ctl *c, struct store_tx *tx, const struct inv_changes *ch)
{
    char *cur = NULL;
    int r = store_job_state_get(tx, c->saved.job_id, &cur);

    if (r == -ENOENT)
        r = (cur = strdup("")) ? 0 : -ENOMEM;
    if (r < 0)
        return r;
    if (strcmp(cur, c->saved_job_state) != 0) {
        log_warn("engine",
                 "%s/%" PRId64 ": The job's manager state was modified by someone else while "
                 "we were handling it",
                 c->saved.job_id, c->saved.id);
        c->conflict = true;
        r = -EAGAIN;
    }
    free(cur);
    if (r == 0)
        r = store_job_state_put(tx, c->saved.job_id, ch->job_state);
    return r;
}

/* Step 2: the compare-and-set write and everything it causes, in tx. */
static int write_changes(struct ctl *c, struct store_tx *tx, const struct inv_changes *ch)
{
    struct store_inv v = row_view(&c->saved, ch);
    int r = store_inv_update(tx, &v, c->saved.mutations);

    if (r == -ESTALE) {
        log_warn("engine",
                 "%s/%" PRId64 ": Invocation was modified by someone else while we were "
                 "handling it",
                 c->saved.job_id, c->saved.id);
        c->conflict = true;
        return -EAGAIN;
    }
    if (r == 0 && ch->job_state)
        r = write_job_state(c, tx, ch);
    if (r == 0 && ch->final_now)
        r = engine__kick_triage(c->e, tx, c->saved.job_id);
    if (r == 0 && c->emitted.n > 0 && json_array_size(ch->targets) > 0)
        r = enqueue_fanout(c, tx, ch->targets, ch->emitted);
    if (r == 0 && !inv_status_is_final(c->pub.status))
        r = enqueue_timers(c, tx);
    return r;
}

static void move_str(char **dst, char **src)
{
    free(*dst);
    *dst = *src;
    *src = NULL;
}

/* Step 3: the landed changes become the saved row; the pending lists empty. */
static int adopt_changes(struct ctl *c, struct inv_changes *ch)
{
    int r = engine__strset(&c->saved.status, inv_status_name(ch->status));

    if (r < 0)
        return r;
    move_str(&c->saved.view_url, &ch->view_url);
    move_str(&c->saved.task_data_json, &ch->task_data_json);
    move_str(&c->saved.timers_json, &ch->timers_json);
    move_str(&c->saved.outgoing_json, &ch->outgoing_json);
    move_str(&c->saved.debug_log, &ch->debug_log);
    if (ch->job_state)
        move_str(&c->saved_job_state, &ch->job_state);
    c->saved.mutations = ch->mutations;
    c->saved.finished = ch->finished;
    c->saved_status = ch->status;
    buf_reset(&c->log);
    json_array_clear(c->new_timers);
    json_array_clear(c->consumed_timers);
    trigger_vec_release(&c->emitted);
    c->timer_index = 0;
    return 0;
}

/* Nothing changed: only t's row is deleted (if any). */
static int finish_unchanged(struct ctl *c, struct engine_task *t)
{
    struct store_tx *tx = NULL;
    int r;

    if (!t)
        return 0;
    r = store_begin(c->e->store, &tx);
    if (r < 0)
        return r;
    return engine__tx_end(c->e, tx, t, engine__tx_task_done(tx, t));
}

/*
 * Step 2 in a transaction of its own, with t's row deleted in it, redone
 * after a pause while the store reports a conflict (not when another
 * handler's compare-and-set won: c->conflict), so that a commit lost to
 * a conflict does not redo the task and call its manager again.
 */
static int save_changes(struct ctl *c, struct engine_task *t, const struct inv_changes *ch)
{
    int r = -EAGAIN;

    for (int attempt = 0; attempt < ENGINE_TX_ATTEMPTS && r == -EAGAIN && !c->conflict;
         attempt++) {
        struct store_tx *tx = NULL;

        engine__retry_pause(c->e, attempt);
        r = store_begin(c->e->store, &tx);
        if (r < 0)
            return r;
        r = write_changes(c, tx, ch);
        if (r == 0)
            r = engine__tx_task_done(tx, t);
        r = engine__tx_end(c->e, tx, t, r);
    }
    return r;
}

int ctl_save(struct ctl *c, struct engine_task *t)
{
    struct inv_changes ch = {0};
    char *td = task_data_text(c), *st = job_state_text(c);
    int r;

    c->pub.job_state_unchanged = false; /* a promise for this save only */

    if (!td || !st) {
        free(td);
        free(st);
        return -ENOMEM;
    }
    if (strlen(st) > TASK_JOB_STATE_MAX) {
        free(td);
        free(st);
        return -E2BIG;
    }
    if (!ctl_changed(c, td, st)) {
        free(td);
        free(st);
        return finish_unchanged(c, t);
    }
    r = build_changes(c, td, st, &ch);
    if (r == 0)
        r = save_changes(c, t, &ch);
    if (r == 0 && ch.final_now)
        metric_counter_inc(&engine_metric_inv_finished, inv_status_name(ch.status), NULL);
    if (r == 0)
        r = adopt_changes(c, &ch);
    changes_release(&ch);
    return r;
}
