/*
 * jobs.c - applying project configs to job rows (spec 1.8, 1.9), the cron
 * glue (spec 2.5 "host side") and the cron tick handler.
 */
#include "engine/engine-internal.h"

#include "base/limits.h"
#include "base/log.h"
#include "engine/policy.h"
#include "engine/trigger.h"
#include "tasks/registry.h"

/* ---- cron state in the job row ---- */

int engine__cron_load(const struct store_job *j, struct cron_state *ret)
{
    json_t *o;
    struct cron_state s;

    cron_state_init(&s);
    if (!j->cron_json || !j->cron_json[0]) {
        *ret = s;
        return 0;
    }
    o = json_loads(j->cron_json, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    s.enabled = json_is_true(json_object_get(o, "enabled"));
    s.generation = json_integer_value(json_object_get(o, "generation"));
    s.last_rewind_ns = json_integer_value(json_object_get(o, "lastRewind"));
    s.last_tick_when_ns = json_integer_value(json_object_get(o, "lastTickWhen"));
    s.last_tick_nonce = json_integer_value(json_object_get(o, "lastTickNonce"));
    json_decref(o);
    *ret = s;
    return 0;
}

int engine__cron_store(struct store_job *j, const struct cron_state *s)
{
    json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I}", "enabled", s->enabled, "generation",
                          (json_int_t)s->generation, "lastRewind",
                          (json_int_t)s->last_rewind_ns, "lastTickWhen",
                          (json_int_t)s->last_tick_when_ns, "lastTickNonce",
                          (json_int_t)s->last_tick_nonce);
    int r;

    if (!o)
        return -ENOMEM;
    r = engine__json_set(&j->cron_json, o);
    json_decref(o);
    return r;
}

int engine__cron_env(struct engine *e, const struct store_job *j, struct cron_env *env,
                     struct schedule **ret_sched)
{
    struct schedule *s = NULL;
    const char *text = j->paused || !j->schedule[0] ? "triggered" : j->schedule;
    int r = engine__schedule_parse(e, j->id, text, &s);

    if (r < 0) {
        /* A stored schedule that no longer parses (e.g. a zone file gone). */
        r = engine__schedule_parse(e, j->id, "triggered", &s);
        if (r < 0)
            return r;
    }
    *env = (struct cron_env){
        .now_ns = engine__now(e),
        .schedule = s,
        .new_nonce = engine__nonce,
        .nonce_ctx = e,
    };
    *ret_sched = s;
    return 0;
}

/*
 * The due time of a TICK_LATER action (hops of at most cron_max_delay),
 * logged as LUCI does.  Returns 0, or 1 when there is nothing to schedule.
 */
static int tick_due(struct engine *e, const struct store_job *j, const struct cron_action *ac,
                    int64_t *ret_due)
{
    int64_t now = engine__now(e), delay = ac->when_ns - now, due = ac->when_ns;
    char d1[TIME_DURATION_MAX], d2[TIME_DURATION_MAX];

    if (ac->when_ns == TIME_DISTANT_FUTURE || ac->when_ns == TIME_ZERO)
        return 1;
    if (delay < 0)
        delay = 0;
    time_format_duration(delay, d1, sizeof(d1));
    if (delay > e->set.cron_max_delay_ns + e->set.cron_max_delay_fudge_ns) {
        due = now + e->set.cron_max_delay_ns;
        time_format_duration(e->set.cron_max_delay_ns, d2, sizeof(d2));
        log_info("engine",
                 "%s: Scheduling intermediary tick %" PRId64 " after %s instead of intended %s",
                 j->id, ac->nonce, d2, d1);
    } else {
        log_info("engine", "%s: Scheduling tick %" PRId64 " after %s", j->id, ac->nonce, d1);
        due -= e->set.cron_tick_lead_ns; /* handled ahead, as of ac->when_ns */
    }
    *ret_due = due;
    return 0;
}

/*
 * Schedules the tick of ac: a new cron-tick task, or, with reuse (the
 * cron-tick task being handled, whose row is not deleted yet), that row
 * re-armed in place (store_task_rearm: one write instead of a delete and
 * an insert).
 */
static int schedule_tick(struct engine *e, struct store_tx *tx, const struct store_job *j,
                         const struct cron_action *ac, struct engine_task *reuse)
{
    char payload[48];
    int64_t due = 0;
    json_t *p;
    int r = tick_due(e, j, ac, &due);

    if (r != 0)
        return 0;
    if (reuse && !reuse->done_in_tx) {
        snprintf(payload, sizeof(payload), "{\"nonce\":%" PRId64 "}", ac->nonce);
        r = store_task_rearm(tx, reuse->row.id, reuse->owner, due, payload, engine__now(e));
        if (r == 0)
            reuse->done_in_tx = true;
        return r;
    }
    p = json_pack("{s:I}", "nonce", (json_int_t)ac->nonce);
    if (!p)
        return -ENOMEM;
    r = engine__enqueue(e, tx, TASK_CRON_TICK, j->id, 0, p, due, NULL);
    json_decref(p);
    return r;
}

static int cron_actions(struct engine *e, struct store_tx *tx, struct store_job *j,
                        const struct cron_actions *a, struct engine_task *reuse)
{
    int64_t now = engine__now(e);
    int r = 0;

    for (size_t i = 0; i < a->n && r == 0; i++) {
        const struct cron_action *ac = &a->v[i];

        if (ac->kind == CRON_ACTION_TICK_LATER) {
            r = schedule_tick(e, tx, j, ac, reuse);
        } else {
            struct trigger t;

            r = trigger_new_cron(ac->generation, now, &t);
            if (r < 0)
                return r;
            log_info("engine", "%s: Emitting cron trigger %s", j->id, t.id);
            r = engine__add_triggers(e, tx, j, &t, 1);
            trigger_release(&t);
        }
    }
    return r;
}

int engine__cron_actions(struct engine *e, struct store_tx *tx, struct store_job *j,
                         const struct cron_actions *a)
{
    return cron_actions(e, tx, j, a, NULL);
}

/* A tick of job_id scheduled at armed that emitted a cron trigger has committed now. */
static void observe_tick(struct engine *e, const char *job_id, const struct cron_actions *a,
                         int64_t armed)
{
    int64_t now = clock_now(e->clock);

    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].kind != CRON_ACTION_START_INVOCATION)
            continue;
        metric_histogram_observe_ns(&engine_metric_tick_lateness, now - armed);
        if (e->on_tick)
            e->on_tick(e->on_tick_ctx, job_id, armed, now);
    }
}

/*
 * A tick handled ahead of its scheduled time (at most cron_tick_lead_ns,
 * see schedule_tick) runs as of that time: the cron machine sees it on
 * time, its trigger and triage are stamped with it.
 */
static void tick_step_time(struct engine *e, const struct cron_state *cs, int64_t nonce)
{
    int64_t now = clock_now(e->clock), when = cs->last_tick_when_ns;

    if (nonce == cs->last_tick_nonce && when > now && when - now <= e->set.cron_tick_lead_ns)
        engine__step_time_set(when);
}

int engine__handle_cron_tick(struct engine *e, struct engine_task *t)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct cron_state cs;
    struct cron_actions acts = {.n = 0};
    struct cron_env env = {.now_ns = 0};
    struct schedule *sched = NULL;
    int64_t nonce = json_integer_value(json_object_get(t->payload, "nonce")), armed = 0;
    char err[128] = "";
    int r;

    r = engine__task_begin(e, t, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, t->row.job_id, &j);
    if (r == -ENOENT) {
        log_warn("engine", "%s: Scheduled job is unexpectedly gone", t->row.job_id);
        r = engine__tx_task_done(tx, t);
        goto end;
    }
    if (r < 0)
        goto end;
    log_info("engine", "%s: Tick %" PRId64 " has arrived", j.id, nonce);
    if (engine__cron_load(&j, &cs) < 0)
        cron_state_init(&cs);
    armed = cs.last_tick_when_ns;
    tick_step_time(e, &cs, nonce);
    r = engine__cron_env(e, &j, &env, &sched);
    if (r < 0)
        goto end;
    r = cron_machine_on_timer_tick(&cs, &env, nonce, &acts, err, sizeof(err));
    if (r < 0) {
        log_warn("engine", "%s: %s", j.id, err);
        r = -EAGAIN;
        goto end;
    }
    if ((r = engine__cron_store(&j, &cs)) == 0 &&
        (r = cron_actions(e, tx, &j, &acts, t)) == 0 &&
        (r = store_job_set_cron(tx, j.id, j.cron_json)) == 0)
        r = engine__tx_task_done(tx, t);
end:
    r = engine__tx_end(e, tx, t, r);
    engine__step_time_set(0);
    if (r == 0)
        observe_tick(e, j.id, &acts, armed);
    schedule_free(sched);
    store_job_release(&j);
    return r;
}

/* ---- config apply ---- */

/* The policy JSON stored with a job: the config block as written, "" when absent. */
static json_t *policy_to_json(const struct cfg_policy *p)
{
    if (!p->present)
        return NULL;
    return json_pack("{s:i, s:I, s:I, s:f, s:I}", "kind", (int)p->kind,
                     "maxConcurrentInvocations", (json_int_t)p->max_concurrent_invocations,
                     "maxBatchSize", (json_int_t)p->max_batch_size, "logBase",
                     (double)p->log_base, "pendingTimeout", (json_int_t)p->pending_timeout_ns);
}

int engine__policy_from_json(const char *text, struct cfg_policy *ret)
{
    json_t *o;
    struct cfg_policy p = {0};

    if (!text || !text[0]) {
        *ret = p;
        return 0;
    }
    o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    p.present = true;
    p.kind = (int32_t)json_integer_value(json_object_get(o, "kind"));
    p.max_concurrent_invocations =
        json_integer_value(json_object_get(o, "maxConcurrentInvocations"));
    p.max_batch_size = json_integer_value(json_object_get(o, "maxBatchSize"));
    p.log_base = (float)json_number_value(json_object_get(o, "logBase"));
    p.pending_timeout_ns = json_integer_value(json_object_get(o, "pendingTimeout"));
    json_decref(o);
    *ret = p;
    return 0;
}

/* What one config job asks for (LUCI's catalog.Definition). */
struct definition {
    char id[ENGINE_ID_MAX];
    char name[ENGINE_NAME_MAX];
    char realm_id[ENGINE_ID_MAX];
    int flavor;
    const char *schedule;
    char *task;
    char *policy;
    char *triggered;
};

static void definition_release(struct definition *d)
{
    free(d->task);
    free(d->policy);
    free(d->triggered);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Builds the definition of cfg job j, or returns 1 to skip it (disabled,
 * no manager, bad schedule), with the reason logged.
 */
static int definition_build(struct engine *e, const char *project, const struct cfg_project *cfg,
                            const struct cfg_job *j, struct definition *d)
{
    json_t *task = NULL, *pol = NULL, *trg = NULL;
    struct schedule *s = NULL;
    int r;

    memset(d, 0, sizeof(*d));
    if (j->disabled)
        return 1;
    snprintf(d->id, sizeof(d->id), "%s/%s", project, j->id);
    snprintf(d->name, sizeof(d->name), "%s", j->id);
    snprintf(d->realm_id, sizeof(d->realm_id), "%s:%s", project, cfg_job_realm(j));
    d->schedule = j->effective_schedule;
    d->flavor = j->is_trigger                               ? ENGINE_FLAVOR_TRIGGER
                : strcmp(d->schedule, "triggered") == 0 ? ENGINE_FLAVOR_TRIGGERED
                                                            : ENGINE_FLAVOR_PERIODIC;
    r = task_def_from_config(j, &task);
    if (r < 0 || !task_registry_find_for_def(e->registry, task)) {
        log_warn("engine", "Invalid job definition %s: no registered task manager", d->id);
        json_decref(task);
        return r == -ENOMEM ? r : 1;
    }
    r = engine__schedule_parse(e, d->id, d->schedule, &s);
    schedule_free(s);
    if (r < 0) {
        json_decref(task);
        return r == -ENOMEM ? r : 1;
    }
    pol = policy_to_json(&j->policy);
    trg = json_array();
    if (!trg) {
        r = -ENOMEM;
        goto out;
    }
    if (j->is_trigger && j->triggers.n > 0) {
        const char **names = calloc(j->triggers.n, sizeof(*names));
        size_t n = 0;

        if (!names) {
            r = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < j->triggers.n; i++) {
            if (!cfg_project_find(cfg, j->triggers.v[i])) {
                log_warn("engine",
                         "Trigger \"%s\" references unknown job \"%s\" in 'triggers' field",
                         j->id, j->triggers.v[i]);
                continue;
            }
            names[n++] = j->triggers.v[i];
        }
        sort_array(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
            char id[ENGINE_ID_MAX];
            if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
                continue;
            snprintf(id, sizeof(id), "%s/%s", project, names[i]);
            json_array_append_new(trg, json_string(id));
        }
        free(names);
    }
    r = -ENOMEM;
    if (engine__json_set(&d->task, task) < 0 || engine__json_set(&d->policy, pol) < 0 ||
        engine__json_set(&d->triggered, trg) < 0)
        goto out;
    r = 0;
out:
    json_decref(task);
    json_decref(pol);
    json_decref(trg);
    if (r != 0)
        definition_release(d);
    return r;
}

/* MatchesDefinition (spec 1.9): not the revision. */
static bool matches(const struct store_job *j, const struct definition *d)
{
    return j->enabled && strcmp(j->realm_id, d->realm_id) == 0 && j->flavor == d->flavor &&
           strcmp(j->schedule, d->schedule) == 0 && strcmp(j->task_json, d->task) == 0 &&
           strcmp(j->policy_json, d->policy) == 0 && strcmp(j->triggered_json, d->triggered) == 0;
}

static int effective_schedule_differs(const struct store_job *j, const char *old_schedule)
{
    const char *a = j->paused ? "triggered" : old_schedule;
    const char *b = j->paused ? "triggered" : j->schedule;
    return strcmp(a, b) != 0;
}

static int update_job(struct engine *e, struct store_tx *tx, const char *project,
                      struct store_job *j, bool exists, const struct definition *d,
                      const char *revision, const char *revision_url)
{
    struct cron_state cs;
    struct cron_actions acts = {.n = 0};
    struct cron_env env;
    struct schedule *sched = NULL;
    char *old_schedule = NULL;
    bool was_enabled = exists && j->enabled;
    bool policy_changed;
    int r;

    if (!exists) {
        memset(j, 0, sizeof(*j));
        if ((r = engine__strset(&j->id, d->id)) < 0 ||
            (r = engine__strset(&j->project, project)) < 0 ||
            (r = engine__strset(&j->name, d->name)) < 0 ||
            (r = engine__strset(&j->active_json, "[]")) < 0 ||
            (r = engine__strset(&j->finished_json, "[]")) < 0 ||
            (r = engine__strset(&j->policy_json, "")) < 0 ||
            (r = engine__strset(&j->schedule, "")) < 0)
            return r;
        j->enabled = false;
    }
    old_schedule = strdup(j->schedule ? j->schedule : "");
    if (!old_schedule)
        return -ENOMEM;
    policy_changed = strcmp(j->policy_json ? j->policy_json : "", d->policy) != 0;
    if ((r = engine__strset(&j->realm_id, d->realm_id)) < 0 ||
        (r = engine__strset(&j->revision, revision)) < 0 ||
        (r = engine__strset(&j->revision_url, revision_url)) < 0 ||
        (r = engine__strset(&j->schedule, d->schedule)) < 0 ||
        (r = engine__strset(&j->task_json, d->task)) < 0 ||
        (r = engine__strset(&j->policy_json, d->policy)) < 0 ||
        (r = engine__strset(&j->triggered_json, d->triggered)) < 0)
        goto out;
    j->flavor = d->flavor;
    j->enabled = true;
    if (policy_changed && exists) {
        log_info("engine", "%s: Job's triggering policy has changed, scheduling a triage", j->id);
        r = engine__kick_triage(e, tx, j->id);
        if (r < 0)
            goto out;
    }
    r = engine__cron_load(j, &cs);
    if (r < 0)
        cron_state_init(&cs);
    r = engine__cron_env(e, j, &env, &sched);
    if (r < 0)
        goto out;
    if (!was_enabled || !cs.enabled) {
        cron_machine_enable(&cs, &env, &acts);
    } else if (effective_schedule_differs(j, old_schedule)) {
        log_info("engine", "%s: Job's schedule changed: \"%s\" -> \"%s\"", j->id, old_schedule,
                 j->schedule);
        cron_machine_on_schedule_change(&cs, &env, &acts);
    }
    if ((r = engine__cron_store(j, &cs)) < 0 || (r = engine__cron_actions(e, tx, j, &acts)) < 0)
        goto out;
    r = store_job_put(tx, j);
out:
    free(old_schedule);
    schedule_free(sched);
    return r;
}

static int disable_job(struct engine *e, struct store_tx *tx, struct store_job *j)
{
    struct cron_state cs;
    struct cron_actions acts = {.n = 0};
    int r;

    log_info("engine", "%s: disabling the job (removed from the config)", j->id);
    j->enabled = false;
    if (engine__cron_load(j, &cs) < 0)
        cron_state_init(&cs);
    cron_machine_disable(&cs, &acts);
    if ((r = engine__cron_store(j, &cs)) < 0 || (r = store_job_put(tx, j)) < 0)
        return r;
    return engine__kick_triage(e, tx, j->id);
}

static bool project_name_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= ENGINE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/' || (unsigned char)p[i] < 0x21)
            return false;
    return true;
}

/*
 * An index from job id to position in the stored-jobs array, so applying a
 * project of N jobs costs O(N), not O(N^2) (100,000 jobs took 30 s).
 * Open addressing over positions (the array may be realloc'ed; positions
 * stay valid); the table is sized once for every job the call may see.
 */
struct job_index {
    size_t *slots; /* position + 1; 0 = empty */
    size_t mask;
};

static uint64_t job_index_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static int job_index_init(struct job_index *x, size_t capacity)
{
    size_t n = 16;
    while (n < capacity * 2)
        n *= 2;
    x->slots = calloc(n, sizeof(*x->slots));
    x->mask = n - 1;
    return x->slots ? 0 : -ENOMEM;
}

static void job_index_add(struct job_index *x, const struct store_job *jobs, size_t pos)
{
    size_t i = job_index_hash(jobs[pos].id) & x->mask;
    while (x->slots[i])
        i = (i + 1) & x->mask;
    x->slots[i] = pos + 1;
}

/* The position of the job with that id, or SIZE_MAX. */
static size_t job_index_find(const struct job_index *x, const struct store_job *jobs,
                             const char *id)
{
    for (size_t i = job_index_hash(id) & x->mask; x->slots[i]; i = (i + 1) & x->mask)
        if (strcmp(jobs[x->slots[i] - 1].id, id) == 0)
            return x->slots[i] - 1;
    return SIZE_MAX;
}

/*
 * Appends the new job *fresh (taken) to jobs, marked seen and indexed.
 * Returns 0, or -ENOMEM with *fresh released (the arrays stay valid).
 */
static int remember_job(struct store_job **jobs, bool **seen, size_t *njobs,
                        struct job_index *index, struct store_job *fresh)
{
    struct store_job *nj = realloc(*jobs, (*njobs + 1) * sizeof(**jobs));
    bool *ns;

    if (nj)
        *jobs = nj;
    ns = realloc(*seen, (*njobs + 2) * sizeof(**seen));
    if (ns)
        *seen = ns;
    if (!nj || !ns) {
        store_job_release(fresh);
        return -ENOMEM;
    }
    nj[*njobs] = *fresh;
    memset(fresh, 0, sizeof(*fresh));
    ns[*njobs] = true;
    job_index_add(index, nj, *njobs);
    (*njobs)++;
    return 0;
}

/*
 * Applying a project's config, job by job (as LUCI does: one datastore
 * transaction per job, then the project's revision).  A whole-project
 * transaction rewrote every changed row at once and, on PostgreSQL beside
 * replicas' cron ticks, lost its conflicts for minutes.  So: a snapshot of
 * the stored rows, read in a short read transaction, says which jobs
 * changed; those are applied APPLY_CHUNK per transaction, each row read
 * again and compared inside it (another replica may have applied it
 * meanwhile); a chunk that keeps losing conflicts is split down to one
 * job.  The revision is recorded last, so a crash or an error midway
 * leaves the old revision and the next apply redoes the rest.
 */
#define APPLY_CHUNK 64

struct apply_item {
    struct definition d; /* only d.id when disable */
    bool disable;
};

struct apply_batch {
    struct engine *e;
    const char *project, *revision, *revision_url;
    struct apply_item items[APPLY_CHUNK];
    size_t n;
};

/* The part of a batch one transaction applies: items [lo, hi). */
struct apply_range {
    struct apply_batch *b;
    size_t lo, hi;
};

/* Applies one queued item to its row in tx, unless the row already has it. */
static int apply_item_tx(struct apply_batch *b, struct store_tx *tx, const struct apply_item *it)
{
    struct store_job j = {0};
    int r = store_job_get(tx, it->d.id, &j);
    bool exists = r == 0;

    if (r < 0 && r != -ENOENT)
        return r;
    if (it->disable)
        r = exists && j.enabled ? disable_job(b->e, tx, &j) : 0;
    else if (exists && matches(&j, &it->d))
        r = 0;
    else
        r = update_job(b->e, tx, b->project, &j, exists, &it->d, b->revision, b->revision_url);
    store_job_release(&j);
    return r;
}

/*
 * One attempt of a range, in one transaction (engine__retry's fn).  The
 * commit is lazy: the revision's durable commit (project_put_tx) makes
 * every chunk before it durable at once, and nothing is acknowledged
 * before it (SQLite: the chunks are steps of one group, no sync each);
 * the workers are woken by that last commit, not by each chunk (a woken
 * worker syncs before it sleeps: a sync a chunk).
 */
static int apply_range_tx(struct engine *e, void *ctx)
{
    const struct apply_range *a = ctx;
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    for (size_t i = a->lo; r == 0 && i < a->hi; i++)
        r = apply_item_tx(a->b, tx, &a->b->items[i]);
    if (r < 0) {
        store_rollback(tx);
        return r;
    }
    return engine__commit_lazy_unwoken(e, tx);
}

/* Applies items [lo, hi); a range that keeps losing conflicts is applied in halves. */
static int apply_range(struct apply_batch *b, size_t lo, size_t hi)
{
    struct apply_range a = {b, lo, hi};
    int r = engine__retry(b->e, apply_range_tx, &a);
    size_t mid = lo + (hi - lo) / 2;

    if (r != -EAGAIN || hi - lo < 2)
        return r;
    log_debug("engine", "applying project %s: %zu jobs lost their conflicts, in halves now",
              b->project, hi - lo);
    r = apply_range(b, lo, mid);
    return r < 0 ? r : apply_range(b, mid, hi);
}

/* Drops the queued items without applying them. */
static void batch_drop(struct apply_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        definition_release(&b->items[i].d);
    b->n = 0;
}

/* Applies and drops the queued items. */
static int batch_flush(struct apply_batch *b)
{
    int r = b->n > 0 ? apply_range(b, 0, b->n) : 0;

    batch_drop(b);
    return r;
}

/* Queues *d (taken) to be applied; flushes a full batch first. */
static int batch_add(struct apply_batch *b, struct definition *d, bool disable)
{
    int r = b->n == APPLY_CHUNK ? batch_flush(b) : 0;

    if (r < 0) {
        definition_release(d);
        return r;
    }
    b->items[b->n].d = *d;
    b->items[b->n].disable = disable;
    b->n++;
    return 0;
}

/* Queues the disabling of the job with that id. */
static int batch_add_disable(struct apply_batch *b, const char *id)
{
    struct definition d = {0};

    snprintf(d.id, sizeof(d.id), "%s", id);
    return batch_add(b, &d, true);
}

/*
 * The snapshot: every row of the project (enabled_only: the enabled ones),
 * in a read transaction of its own.  The memory is per project: the
 * config's jobs (at most LIMIT_JOBS_PER_PROJECT) plus the disabled rows of
 * jobs removed by earlier configs (never deleted), at most LIMIT_STORE_ROWS.
 */
static int stored_jobs(struct engine *e, const char *project, bool enabled_only,
                       struct store_job **jobs, size_t *njobs)
{
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = store_job_list(tx, project, enabled_only, jobs, njobs);
    store_rollback(tx);
    return r;
}

/* The compared state of one apply: the snapshot, indexed, and which rows the config names. */
struct apply_seen {
    struct store_job *jobs;
    size_t njobs;
    bool *seen;
    struct job_index index;
};

/*
 * Marks the job d names as seen; 1 when the config named it before (a
 * duplicate id: the first one wins) or the stored row already matches,
 * so there is nothing to apply; 0 when d must be applied; -ENOMEM.
 */
static int see_job(struct apply_seen *s, const struct definition *d)
{
    size_t k = job_index_find(&s->index, s->jobs, d->id);
    struct store_job fresh = {0};

    if (k != SIZE_MAX) {
        if (s->seen[k])
            return 1;
        s->seen[k] = true;
        return matches(&s->jobs[k], d) ? 1 : 0;
    }
    /* A new job: remembered by id only, so a duplicate later in the file is skipped. */
    fresh.id = strdup(d->id);
    if (!fresh.id)
        return -ENOMEM;
    return remember_job(&s->jobs, &s->seen, &s->njobs, &s->index, &fresh);
}

/* Queues every valid config job that differs from its stored row. */
static int queue_config_jobs(struct apply_batch *b, const struct cfg_project *cfg,
                             const bool *invalid, struct apply_seen *s)
{
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        struct definition d;
        int r;

        if (invalid && invalid[i])
            continue;
        r = definition_build(b->e, b->project, cfg, &cfg->jobs[i], &d);
        if (r == 1)
            continue;
        if (r == 0 && (r = see_job(s, &d)) != 0)
            definition_release(&d);
        if (r == 0)
            r = batch_add(b, &d, false);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Queues the disabling of every enabled stored job the config no longer names. */
static int queue_removed_jobs(struct apply_batch *b, const struct apply_seen *s)
{
    int r = 0;

    for (size_t k = 0; r == 0 && k < s->njobs; k++)
        if (!s->seen[k] && s->jobs[k].enabled)
            r = batch_add_disable(b, s->jobs[k].id);
    return r;
}

/* One attempt of recording the project row (engine__retry's fn). */
static int project_put_tx(struct engine *e, void *ctx)
{
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    return r < 0 ? r : engine__tx_end(e, tx, NULL, store_project_put(tx, ctx));
}

/* One attempt of marking the project disabled, read and written in one transaction. */
static int project_disable_tx(struct engine *e, void *ctx)
{
    struct store_project p = {0};
    struct store_tx *tx = NULL;
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = store_project_get(tx, ctx, &p);
    if (r == -ENOENT) { /* never applied: nothing to record */
        store_rollback(tx);
        return r;
    }
    p.enabled = false;
    r = engine__tx_end(e, tx, NULL, r == 0 ? store_project_put(tx, &p) : r);
    store_project_release(&p);
    return r;
}

static int apply_jobs(struct apply_batch *b, const struct cfg_project *cfg, const bool *invalid)
{
    struct apply_seen s = {0};
    int r = stored_jobs(b->e, b->project, false, &s.jobs, &s.njobs);

    if (r < 0)
        return r;
    s.seen = calloc(s.njobs + 1, sizeof(*s.seen));
    if (!s.seen || job_index_init(&s.index, s.njobs + cfg->n_jobs) < 0)
        r = -ENOMEM;
    for (size_t k = 0; r == 0 && k < s.njobs; k++)
        job_index_add(&s.index, s.jobs, k);
    if (r == 0)
        r = queue_config_jobs(b, cfg, invalid, &s);
    if (r == 0)
        r = queue_removed_jobs(b, &s);
    if (r == 0)
        r = batch_flush(b);
    batch_drop(b);
    store_jobs_free(s.jobs, s.njobs);
    free(s.seen);
    free(s.index.slots);
    return r;
}

int engine_apply_project(struct engine *e, const char *project, const struct cfg_project *cfg,
                         const bool *invalid, const char *revision, const char *revision_url)
{
    struct apply_batch *b;
    struct store_project prow;
    int r;

    if (!e || !project || !cfg || !project_name_ok(project))
        return -EINVAL;
    if (cfg->n_jobs > LIMIT_JOBS_PER_PROJECT)
        return -E2BIG;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    *b = (struct apply_batch){.e = e, .project = project,
                              .revision = revision ? revision : "",
                              .revision_url = revision_url ? revision_url : ""};
    r = apply_jobs(b, cfg, invalid);
    prow = (struct store_project){.id = (char *)project, .revision = (char *)b->revision,
                                  .revision_url = (char *)b->revision_url, .enabled = true,
                                  .updated = engine__now(e)};
    free(b);
    if (r == 0)
        r = engine__retry(e, project_put_tx, &prow);
    if (r < 0) {
        log_error("engine", "applying project %s failed: %s", project, strerror(-r));
        engine__wake(e); /* the chunks applied are lazy and unwoken: a worker syncs them */
    }
    return r;
}

int engine_disable_project(struct engine *e, const char *project)
{
    struct apply_batch *b;
    struct store_job *jobs = NULL;
    size_t njobs = 0;
    int r;

    if (!e || !project)
        return -EINVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    *b = (struct apply_batch){.e = e, .project = project, .revision = "", .revision_url = ""};
    /* The enabled jobs of one project: the last config's, at most LIMIT_JOBS_PER_PROJECT. */
    r = stored_jobs(e, project, true, &jobs, &njobs);
    for (size_t k = 0; r == 0 && k < njobs; k++)
        r = batch_add_disable(b, jobs[k].id);
    if (r == 0)
        r = batch_flush(b);
    batch_drop(b);
    free(b);
    store_jobs_free(jobs, njobs);
    if (r == 0)
        r = engine__retry(e, project_disable_tx, (void *)project);
    if (r < 0)
        engine__wake(e); /* no durable commit of ours: a worker syncs the lazy chunks */
    return r == -ENOENT ? 0 : r;
}

int engine_project_revision(struct engine *e, const char *project, char *ret, size_t retlen)
{
    struct store_tx *tx = NULL;
    struct store_project p = {0};
    int r;

    if (!e || !project || !ret || retlen == 0)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_project_get(tx, project, &p);
    store_rollback(tx);
    if (r < 0)
        return r;
    if (!p.enabled)
        r = -ENOENT;
    else
        snprintf(ret, retlen, "%s", p.revision);
    store_project_release(&p);
    return r;
}

int engine_list_projects(struct engine *e, char ***ret, size_t *n)
{
    struct store_tx *tx = NULL;
    int r;

    if (!e || !ret || !n)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_project_list(tx, ret, n);
    store_rollback(tx);
    return r;
}
