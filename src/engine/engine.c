/*
 * engine.c - engine lifecycle, settings, randomness, and the read-only
 * queries of engine.h (jobs, invocations with LUCI's cursors, debug state,
 * trigger fates).
 */
#include "engine/engine-internal.h"

#include "base/base64.h"

#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "schedule/tzdb.h"
#include "tasks/registry.h"

/* ---- lifecycle ---- */

static void settings_defaults(struct engine_settings *s)
{
#define DEF(f, v)    \
    if (s->f <= 0)   \
    s->f = (v)
    DEF(triage_throttle_ns, 2 * NS_PER_SEC);
    DEF(launch_batch_delay_ns, NS_PER_SEC);
    DEF(launch_retry_min_ns, 5 * NS_PER_SEC);
    DEF(launch_retry_max_ns, 600 * NS_PER_SEC);
    DEF(launch_attempts, 50);
    DEF(task_retry_min_ns, NS_PER_SEC);
    DEF(async_abort_delay_ns, NS_PER_SEC);
    DEF(dedup_window_ns, 30 * NS_PER_MIN);
    DEF(fate_retention_days, 30);
    DEF(lease_ns, 30 * NS_PER_SEC);
    DEF(cron_max_delay_ns, 15 * NS_PER_DAY);
    DEF(cron_max_delay_fudge_ns, NS_PER_HOUR);
    if (s->cron_tick_lead_ns == 0)
        s->cron_tick_lead_ns = 250 * NS_PER_MS;
    if (s->cron_tick_lead_ns < 0)
        s->cron_tick_lead_ns = 0;
    if (s->cron_tick_lead_ns > ENGINE_CRON_TICK_LEAD_MAX_NS)
        s->cron_tick_lead_ns = ENGINE_CRON_TICK_LEAD_MAX_NS;
    DEF(list_chunk, ENGINE_LIST_CHUNK_DEFAULT);
#undef DEF
    if (s->list_chunk > LIMIT_STORE_PAGE)
        s->list_chunk = LIMIT_STORE_PAGE;
}

int engine_new(const struct engine_options *opts, struct engine **ret)
{
    struct engine *e;

    if (!opts || !opts->store || !opts->registry || !ret)
        return -EINVAL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->store = opts->store;
    e->clock = opts->clock ? opts->clock : clock_real();
    e->registry = opts->registry;
    e->set = opts->settings;
    settings_defaults(&e->set);
    e->n_workers_default = opts->workers > 0 ? opts->workers : 4;
    e->n_remote_default = opts->remote_workers > 0 ? opts->remote_workers : 16;
    e->random = opts->random;
    e->random_ctx = opts->random_ctx;
    e->on_tick = opts->on_tick;
    e->on_tick_ctx = opts->on_tick_ctx;
    e->rand_state = (uint64_t)clock_now(e->clock) ^ ((uint64_t)getpid() << 32) ^
                    (uint64_t)(uintptr_t)e;
    if (e->rand_state == 0)
        e->rand_state = 0x9e3779b97f4a7c15ULL;
    e->tz = tz_db_new(NULL);
    if (!e->tz) {
        free(e);
        return -ENOMEM;
    }
    pthread_mutex_init(&e->rand_lock, NULL);
    pthread_mutex_init(&e->tz_lock, NULL);
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->push_lock, NULL);
    pthread_mutex_init(&e->remote_lock, NULL);
    pthread_mutex_init(&e->state_lock, NULL);
    pthread_cond_init(&e->remote_cond, NULL);
    pthread_mutex_init(&e->renew_lock, NULL);
    {
        /* Workers wait on the monotonic clock: wall clock steps do not stretch a sleep. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&e->wake, &ca);
        pthread_cond_init(&e->renew_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    snprintf(e->owner_prefix, sizeof(e->owner_prefix), "%ld-%016" PRIx64, (long)getpid(),
             engine__rand(e));
    *ret = e;
    return 0;
}

struct engine *engine_free(struct engine *e)
{
    if (!e)
        return NULL;
    engine_stop(e, clock_mono(e->clock) + 10 * NS_PER_SEC);
    tz_db_free(e->tz);
    pthread_mutex_destroy(&e->rand_lock);
    pthread_mutex_destroy(&e->tz_lock);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->push_lock);
    pthread_mutex_destroy(&e->remote_lock);
    engine__state_cache_release(e);
    pthread_mutex_destroy(&e->state_lock);
    pthread_cond_destroy(&e->remote_cond);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->renew_lock);
    pthread_cond_destroy(&e->renew_cond);
    free(e);
    return NULL;
}

/*
 * The time the step this thread runs happens at, when it is later than
 * the clock (0: none): a cron tick handled ahead of its scheduled time
 * runs as of that time (jobs.c).  Per thread: a step runs on one thread.
 */
static _Thread_local int64_t step_time;

int64_t engine__now(struct engine *e)
{
    int64_t now = clock_now(e->clock);

    return now < step_time ? step_time : now;
}

void engine__step_time_set(int64_t at_ns)
{
    step_time = at_ns;
}

uint64_t engine__rand(struct engine *e)
{
    uint64_t x;

    if (e->random)
        return e->random(e->random_ctx);
    pthread_mutex_lock(&e->rand_lock);
    /* xorshift64*: not for secrets, only for ids and nonces. */
    x = e->rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    e->rand_state = x;
    pthread_mutex_unlock(&e->rand_lock);
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t engine__nonce(void *engine)
{
    for (int i = 0; i < 64; i++) {
        int64_t n = (int64_t)(engine__rand(engine) >> 1);
        if (n != 0)
            return n;
    }
    return 1;
}

static const struct tz_zone *locked_tz_load(void *ctx, const char *name, char *err,
                                            size_t errlen)
{
    struct engine *e = ctx;
    const struct tz_zone *z;

    pthread_mutex_lock(&e->tz_lock);
    z = tz_db_load(e->tz, name, err, errlen);
    pthread_mutex_unlock(&e->tz_lock);
    return z;
}

int engine__schedule_parse(struct engine *e, const char *job_id, const char *text,
                           struct schedule **ret)
{
    struct schedule_options o = {
        .job_id = job_id,
        .tz_load = locked_tz_load,
        .tz_ctx = e,
    };
    char err[256];
    int r = schedule_parse(text, &o, ret, err, sizeof(err));

    if (r < 0)
        log_warn("engine", "job %s: bad schedule \"%s\": %s", job_id, text, err);
    return r;
}

/* ---- names ---- */

const char *engine_job_state_name(enum engine_job_state s)
{
    static const char *const names[] = {
        [ENGINE_JOB_RUNNING] = "RUNNING",     [ENGINE_JOB_DISABLED] = "DISABLED",
        [ENGINE_JOB_PAUSED] = "PAUSED",       [ENGINE_JOB_SCHEDULED] = "SCHEDULED",
        [ENGINE_JOB_WAITING] = "WAITING",
    };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "WAITING";
}

const char *engine_fate_name(enum engine_fate f)
{
    static const char *const names[] = {
        [ENGINE_FATE_PENDING] = "PENDING",
        [ENGINE_FATE_CONSUMED] = "CONSUMED",
        [ENGINE_FATE_MERGED] = "MERGED",
        [ENGINE_FATE_DROPPED_PAUSED] = "DROPPED_PAUSED",
        [ENGINE_FATE_DROPPED_DISABLED] = "DROPPED_DISABLED",
        [ENGINE_FATE_DROPPED_OVERFLOW] = "DROPPED_OVERFLOW",
        [ENGINE_FATE_EXPIRED] = "EXPIRED",
        [ENGINE_FATE_DISCARDED] = "DISCARDED",
        [ENGINE_FATE_DEDUPLICATED] = "DEDUPLICATED",
    };
    return (unsigned)f < ARRAY_SIZE(names) ? names[f] : "UNKNOWN";
}

/* ---- jobs ---- */

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* The armed cron tick of j (ns), 0 = none. */
static int64_t job_next_tick(const struct store_job *j)
{
    struct cron_state cs;

    if (engine__cron_load(j, &cs) == 0 && cs.last_tick_when_ns != TIME_ZERO &&
        cs.last_tick_when_ns != TIME_DISTANT_FUTURE && cs.enabled)
        return cs.last_tick_when_ns;
    return 0;
}

/* Spec 3.2: the first matching rule wins. */
static enum engine_job_state job_state(const struct store_job *j, size_t n_active,
                                       int64_t next_tick)
{
    if (n_active > 0)
        return ENGINE_JOB_RUNNING;
    if (!j->enabled)
        return ENGINE_JOB_DISABLED;
    if (j->paused)
        return ENGINE_JOB_PAUSED;
    if (next_tick != 0)
        return ENGINE_JOB_SCHEDULED;
    return ENGINE_JOB_WAITING;
}

/* Active invocations listed in j's row. */
static size_t job_n_active(const struct store_job *j)
{
    json_t *active = engine__json_parse(j->active_json, 1);
    size_t n = active ? json_array_size(active) : 0;

    json_decref(active);
    return n;
}

enum engine_job_state engine__job_row_state(const struct store_job *j)
{
    return job_state(j, job_n_active(j), job_next_tick(j));
}

void engine__fill_job(const struct store_job *j, struct engine_job *o)
{
    json_t *def = engine__json_parse(j->task_json, 0);
    const char *kind = def ? task_def_kind(def) : NULL;

    memset(o, 0, sizeof(*o));
    copy(o->id, sizeof(o->id), j->id);
    copy(o->project, sizeof(o->project), j->project);
    copy(o->name, sizeof(o->name), j->name);
    copy(o->realm_id, sizeof(o->realm_id), j->realm_id);
    if (!o->realm_id[0])
        snprintf(o->realm_id, sizeof(o->realm_id), "%s:@legacy", j->project);
    copy(o->schedule, sizeof(o->schedule), j->schedule);
    copy(o->task_kind, sizeof(o->task_kind), kind);
    o->flavor = (enum engine_flavor)j->flavor;
    o->enabled = j->enabled;
    o->paused = j->paused;
    o->paused_or_resumed_when = j->paused_when;
    copy(o->paused_or_resumed_by, sizeof(o->paused_or_resumed_by), j->paused_by);
    copy(o->paused_or_resumed_reason, sizeof(o->paused_or_resumed_reason), j->paused_reason);
    copy(o->revision, sizeof(o->revision), j->revision);
    copy(o->revision_url, sizeof(o->revision_url), j->revision_url);
    o->last_triage = j->last_triage;
    o->n_active = job_n_active(j);
    o->next_tick = job_next_tick(j);
    o->state = job_state(j, o->n_active, o->next_tick);
    o->state_name = engine_job_state_name(o->state);
    json_decref(def);
}

/*
 * Hands the rows of one chunk to fn while the walk lasts; *seen counts
 * the rows handed over.  Returns fn's result (> 0: stop), 1 at the limit.
 */
static int walk_chunk(const struct store_job *v, size_t n, size_t *seen,
                      int (*fn)(void *ctx, const struct store_job *row), void *ctx)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < n; i++) {
        if (*seen >= LIMIT_ENGINE_WALK_JOBS)
            return 1;
        (*seen)++;
        r = fn(ctx, &v[i]);
    }
    return r;
}

int engine__walk_job_rows(struct engine *e, const char *project,
                          int (*fn)(void *ctx, const struct store_job *row), void *ctx)
{
    size_t chunk = e->set.list_chunk, seen = 0;
    char *after = NULL;
    int r = 0;

    for (bool more = true; r == 0 && more;) {
        struct store_tx *tx = NULL;
        struct store_job *v = NULL;
        size_t n = 0;

        r = store_begin(e->store, &tx);
        if (r < 0)
            break;
        r = store_job_page_by_id(tx, project, after, chunk, &v, &n);
        store_rollback(tx); /* each chunk its own short read: writers go between */
        if (r < 0)
            break;
        r = walk_chunk(v, n, &seen, fn, ctx);
        more = n == chunk;
        if (r == 0 && more) {
            free(after);
            if (!(after = strdup(v[n - 1].id)))
                r = -ENOMEM;
        }
        store_jobs_free(v, n);
    }
    free(after);
    return r > 0 ? 0 : r;
}

/* engine_each_job's walk: each row filled into the one reused struct. */
struct each_walk {
    struct engine_job *one;
    int (*fn)(void *ctx, const struct engine_job *job);
    void *ctx;
};

static int each_row(void *ctx, const struct store_job *row)
{
    struct each_walk *w = ctx;

    engine__fill_job(row, w->one);
    return w->fn(w->ctx, w->one);
}

int engine_each_job(struct engine *e, const char *project,
                    int (*fn)(void *ctx, const struct engine_job *job), void *ctx)
{
    struct each_walk w = {.fn = fn, .ctx = ctx};
    int r;

    if (!e || !fn || (project && !*project))
        return -EINVAL;
    w.one = malloc(sizeof(*w.one));
    if (!w.one)
        return -ENOMEM;
    r = engine__walk_job_rows(e, project, each_row, &w);
    free(w.one);
    return r;
}

/* engine_list_jobs' array, grown as engine_each_job hands the jobs over (plain structs). */
struct job_array {
    struct engine_job *v;
    size_t n, cap;
};

static int job_array_add(void *ctx, const struct engine_job *j)
{
    struct job_array *a = ctx;

    if (a->n >= LIMIT_ENGINE_LIST_JOBS)
        return 1; /* the array's limit: stop the walk */
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        struct engine_job *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = *j;
    return 0;
}

int engine_list_jobs(struct engine *e, const char *project, struct engine_job **ret, size_t *n)
{
    struct job_array a = {0};
    int r;

    if (!ret || !n)
        return -EINVAL;
    r = engine_each_job(e, project, job_array_add, &a);
    if (r == 0 && !a.v && !(a.v = calloc(1, sizeof(*a.v))))
        r = -ENOMEM;
    if (r < 0) {
        free(a.v);
        return r;
    }
    *ret = a.v;
    *n = a.n;
    return 0;
}

/* Loads an enabled job; -ENOENT for missing or disabled ones. */
static int load_enabled_job(struct store_tx *tx, const char *job_id, struct store_job *ret)
{
    int r = store_job_get(tx, job_id, ret);

    if (r == 0 && !ret->enabled) {
        store_job_release(ret);
        r = -ENOENT;
    }
    return r;
}

int engine_get_job(struct engine *e, const char *job_id, struct engine_job *ret)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    int r;

    if (!e || !job_id || !ret)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = load_enabled_job(tx, job_id, &j);
    store_rollback(tx);
    if (r < 0)
        return r;
    engine__fill_job(&j, ret);
    store_job_release(&j);
    return 0;
}

/* ---- invocations ---- */

void engine_invocation_release(struct engine_invocation *inv)
{
    if (!inv)
        return;
    free(inv->debug_log);
    free(inv->task_json);
    free(inv->request_json);
    free(inv->outgoing_json);
    inv->debug_log = inv->task_json = inv->request_json = inv->outgoing_json = NULL;
}

void engine_invocations_free(struct engine_invocation *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        engine_invocation_release(&v[i]);
    free(v);
}

static void fill_inv(const struct store_inv *s, struct engine_invocation *o)
{
    json_t *def = engine__json_parse(s->task_json, 0);
    const char *kind = def ? task_def_kind(def) : NULL;
    int st = inv_status_from_name(s->status);

    memset(o, 0, sizeof(*o));
    o->id = s->id;
    copy(o->job_id, sizeof(o->job_id), s->job_id);
    copy(o->realm_id, sizeof(o->realm_id), s->realm_id);
    o->started = s->started;
    o->finished = s->finished;
    copy(o->triggered_by, sizeof(o->triggered_by), s->triggered_by);
    o->status = st < 0 ? INV_FAILED : (enum inv_status)st;
    o->status_name = inv_status_name(o->status);
    o->final = inv_status_is_final(o->status);
    copy(o->revision, sizeof(o->revision), s->revision);
    copy(o->revision_url, sizeof(o->revision_url), s->revision_url);
    copy(o->view_url, sizeof(o->view_url), s->view_url);
    o->retry_count = s->retry_count;
    copy(o->task_kind, sizeof(o->task_kind), kind);
    json_decref(def);
}

/* LUCI's cursor: base64url_nopad(InvocationsCursor{last_scanned (field 2, int64)}). */
static char *cursor_encode(int64_t last)
{
    unsigned char pb[16];
    size_t n = 0;
    uint64_t v = (uint64_t)last;
    char *out = malloc(BASE64_ENCODED_SIZE(sizeof(pb)));

    if (!out)
        return NULL;
    pb[n++] = 0x10; /* field 2, varint */
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        pb[n++] = v ? (unsigned char)(b | 0x80) : b;
    } while (v);
    base64_encode(BASE64_URL, pb, n, out, BASE64_ENCODED_SIZE(sizeof(pb)));
    return out;
}

static int cursor_decode(const char *c, int64_t *ret)
{
    unsigned char pb[32];
    size_t len = strlen(c), i = 0, n;
    ssize_t dn;
    uint64_t v = 0;
    int shift = 0;
    bool found = false;

    if (len > 40)
        return -EINVAL;
    dn = base64_decode(BASE64_URL, c, len, pb, sizeof(pb));
    if (dn < 0)
        return -EINVAL;
    n = (size_t)dn;
    /* Walk the fields: only varints are expected; field 2 is the one. */
    while (i < n) {
        unsigned key = pb[i++];
        if ((key & 7) != 0)
            return -EINVAL;
        v = 0;
        shift = 0;
        for (;;) {
            if (i >= n || shift > 63)
                return -EINVAL;
            v |= (uint64_t)(pb[i] & 0x7f) << shift;
            shift += 7;
            if (!(pb[i++] & 0x80))
                break;
        }
        if ((key >> 3) == 2) {
            *ret = (int64_t)v;
            found = true;
        }
    }
    if (!found)
        return -EINVAL;
    return 0;
}

int engine_list_invocations(struct engine *e, const char *job_id, const char *cursor,
                            int page_size, struct engine_invocation **ret, size_t *n,
                            char **ret_next_cursor)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct store_inv *v = NULL;
    struct engine_invocation *out = NULL;
    size_t nv = 0, limit;
    int64_t after = 0;
    char *next = NULL;
    int r;

    if (!e || !job_id || !ret || !n || !ret_next_cursor)
        return -EINVAL;
    if (cursor && cursor[0] && cursor_decode(cursor, &after) < 0)
        return -EINVAL;
    limit = page_size <= 0 ? ENGINE_PAGE_SIZE_DEFAULT
            : page_size > ENGINE_PAGE_SIZE_MAX ? ENGINE_PAGE_SIZE_MAX
                                                : (size_t)page_size;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = load_enabled_job(tx, job_id, &j);
    if (r == 0)
        r = store_inv_list(tx, job_id, after, limit + 1, &v, &nv);
    store_rollback(tx);
    store_job_release(&j);
    if (r < 0)
        return r;
    if (nv > limit) {
        next = cursor_encode(v[limit - 1].id);
        if (!next) {
            r = -ENOMEM;
            goto out;
        }
        store_inv_release(&v[limit]);
        nv = limit;
    }
    out = calloc(nv ? nv : 1, sizeof(*out));
    if (!out) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nv; i++)
        fill_inv(&v[i], &out[i]);
    *ret = out;
    *n = nv;
    *ret_next_cursor = next;
    next = NULL;
out:
    free(next);
    store_invs_free(v, nv);
    return r;
}

static int dup_or_null(const char *s, char **ret)
{
    *ret = strdup(s ? s : "");
    return *ret ? 0 : -ENOMEM;
}

int engine_get_invocation(struct engine *e, const char *job_id, int64_t inv_id,
                          struct engine_invocation *ret)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct store_inv v = {0};
    struct engine_invocation o;
    int r;

    if (!e || !job_id || !ret)
        return -EINVAL;
    if (inv_id == 0)
        return -ENOENT;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = load_enabled_job(tx, job_id, &j);
    if (r == 0)
        r = store_inv_get(tx, inv_id, &v);
    store_rollback(tx);
    store_job_release(&j);
    if (r < 0)
        return r;
    if (strcmp(v.job_id, job_id) != 0) {
        log_warn("engine",
                 "Invocation %" PRId64 " is associated with job \"%s\", not \"%s\". "
                 "Treating it as missing.",
                 inv_id, v.job_id, job_id);
        store_inv_release(&v);
        return -ENOENT;
    }
    fill_inv(&v, &o);
    if ((r = dup_or_null(v.debug_log, &o.debug_log)) < 0 ||
        (r = dup_or_null(v.task_json, &o.task_json)) < 0 ||
        (r = dup_or_null(v.request_json, &o.request_json)) < 0 ||
        (r = dup_or_null(v.outgoing_json, &o.outgoing_json)) < 0) {
        engine_invocation_release(&o);
        store_inv_release(&v);
        return r;
    }
    store_inv_release(&v);
    *ret = o;
    return 0;
}

/* ---- debug state, triage log, fates ---- */

static json_t *json_time(int64_t ns)
{
    char buf[TIME_RFC3339_MAX];

    if (ns == 0 || ns == TIME_ZERO || time_format_rfc3339(ns, buf, sizeof(buf)) < 0)
        return json_null();
    return json_string(buf);
}

static json_t *json_i64s(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_string(buf);
}

/*
 * GetDebugJobState's managerState: the job's stored manager state (spec
 * 4.2.3's known refs for a poller), or LUCI's "no debug state" error
 * object when there is none.  A new reference.
 */
static json_t *manager_debug_state(const char *text)
{
    json_t *v = text && text[0] ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

    return v ? v : json_pack("{s:s}", "error", "no debug state");
}

/* The active invocations (ids) that are final already. */
static json_t *recently_finished(struct store_tx *tx, const json_t *active)
{
    json_t *rf = json_array(), *id;
    size_t i;

    if (!rf)
        return NULL;
    json_array_foreach(active, i, id) {
        struct store_inv v = {0};
        if (store_inv_get(tx, engine__json_id(id), &v) == 0) {
            int st = inv_status_from_name(v.status);
            if (st >= 0 && inv_status_is_final((enum inv_status)st))
                json_array_append_new(rf, json_string(json_string_value(id)));
            store_inv_release(&v);
        }
    }
    return rf;
}

/* The finished list as [{"invocationId", "finished" (RFC 3339)}]. */
static json_t *finished_debug(const json_t *finished)
{
    json_t *fin = json_array(), *it;
    size_t i;

    if (!fin)
        return NULL;
    json_array_foreach(finished, i, it) {
        json_array_append_new(
            fin, json_pack("{s:O?, s:o}", "invocationId", json_object_get(it, "id"), "finished",
                           json_time(json_integer_value(json_object_get(it, "finished")))));
    }
    return fin;
}

/* The pending triggers in their internal JSON form, or NULL. */
static json_t *pending_debug(const struct store_trigger *trig, size_t nt)
{
    json_t *pend = json_array();

    for (size_t i = 0; pend && i < nt; i++) {
        struct trigger t;
        json_t *tj = NULL;
        int r = trigger_from_row(trig[i].json, trig[i].trigger_id, trig[i].created,
                                 trig[i].order, &t);
        if (r == 0) {
            r = trigger_to_json(&t, &tj);
            trigger_release(&t);
        }
        if (r < 0 || json_array_append_new(pend, tj) < 0) {
            json_decref(pend);
            pend = NULL;
        }
    }
    return pend;
}

int engine_debug_job_state(struct engine *e, const char *job_id, json_t **ret)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct store_trigger *trig = NULL;
    size_t nt = 0;
    struct cron_state cs;
    json_t *o = NULL, *active = NULL, *finished = NULL, *rf = NULL, *pend = NULL, *fin = NULL;
    char *log = NULL, *mstate = NULL;
    int64_t log_when = 0;
    int r;

    if (!e || !job_id || !ret)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, job_id, &j);
    if (r == 0)
        r = store_trigger_list(tx, job_id, LIMIT_ENGINE_PENDING_TRIGGERS, &trig, &nt);
    if (r == 0 && store_triage_log_get(tx, job_id, &log_when, &log) < 0)
        log = NULL;
    if (r == 0 && store_job_state_get(tx, job_id, &mstate) < 0)
        mstate = NULL;
    active = r == 0 ? engine__json_parse(j.active_json, 1) : NULL;
    rf = r == 0 && active ? recently_finished(tx, active) : NULL;
    store_rollback(tx);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    finished = engine__json_parse(j.finished_json, 1);
    fin = finished ? finished_debug(finished) : NULL;
    pend = pending_debug(trig, nt);
    if (!active || !fin || !pend || !rf)
        goto out;
    if (engine__cron_load(&j, &cs) < 0)
        cron_state_init(&cs);
    o = json_pack("{s:b, s:b, s:o, s:{s:b, s:o, s:o, s:o, s:o}, s:O, s:O, s:O, s:O, "
                  "s:o, s:s}",
                  "enabled", j.enabled, "paused", j.paused, "lastTriage",
                  json_time(j.last_triage), "cronState", "enabled", cs.enabled, "generation",
                  json_i64s(cs.generation), "lastRewind", json_time(cs.last_rewind_ns),
                  "lastTickWhen", json_time(cs.last_tick_when_ns), "lastTickNonce",
                  json_i64s(cs.last_tick_nonce), "activeInvocations", active,
                  "finishedInvocations", fin, "recentlyFinishedSet", rf, "pendingTriggersSet",
                  pend, "managerState", manager_debug_state(mstate), "triageLog",
                  log ? log : "");
    if (!o)
        goto out;
    *ret = o;
    r = 0;
out:
    json_decref(active);
    json_decref(finished);
    json_decref(fin);
    json_decref(rf);
    json_decref(pend);
    free(log);
    free(mstate);
    store_triggers_free(trig, nt);
    store_job_release(&j);
    return r;
}

int engine_triage_log(struct engine *e, const char *job_id, char **ret_log, int64_t *ret_when)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    char *log = NULL;
    int64_t when = 0;
    int r;

    if (!e || !job_id || !ret_log || !ret_when)
        return -EINVAL;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, job_id, &j);
    if (r == 0) {
        r = store_triage_log_get(tx, job_id, &when, &log);
        if (r == -ENOENT) {
            log = strdup("");
            r = log ? 0 : -ENOMEM;
        }
    }
    store_rollback(tx);
    store_job_release(&j);
    if (r < 0)
        return r;
    *ret_log = log;
    *ret_when = when;
    return 0;
}

int engine__begin_enabled(struct engine *e, const char *job_id, struct store_tx **tx,
                         struct store_job *j)
{
    int r;

    if (!e || !job_id)
        return -EINVAL;
    r = store_begin(e->store, tx);
    if (r < 0)
        return r;
    r = store_job_get(*tx, job_id, j);
    if (r == 0 && !j->enabled) {
        store_job_release(j);
        r = -ENOENT;
    }
    if (r < 0)
        store_rollback(*tx);
    return r;
}

int engine_trigger_fates(struct engine *e, const char *job_id, const char *trigger_id, int limit,
                         json_t **ret)
{
    struct store_tx *tx = NULL;
    struct store_job j = {0};
    struct store_fate *v = NULL;
    size_t nv = 0;
    json_t *arr = NULL;
    int r;

    if (!e || !job_id || !ret)
        return -EINVAL;
    if (limit <= 0 || limit > 1000)
        limit = 1000;
    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_job_get(tx, job_id, &j);
    if (r == 0)
        r = store_fate_list(tx, job_id, trigger_id, (size_t)limit, &v, &nv);
    store_rollback(tx);
    store_job_release(&j);
    if (r < 0)
        return r;
    arr = json_array();
    if (!arr) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "jobId", v[i].job_id, "triggerId",
                              v[i].trigger_id, "fate", v[i].fate);
        if (!o) {
            r = -ENOMEM;
            goto out;
        }
        if (v[i].title[0])
            json_object_set_new(o, "title", json_string(v[i].title));
        if (v[i].url[0])
            json_object_set_new(o, "url", json_string(v[i].url));
        if (v[i].created != 0 && v[i].created != TIME_ZERO)
            json_object_set_new(o, "created", json_time(v[i].created));
        if (v[i].inv_id)
            json_object_set_new(o, "invocationId", json_i64s(v[i].inv_id));
        if (v[i].reason[0])
            json_object_set_new(o, "reason", json_string(v[i].reason));
        if (v[i].decided_at)
            json_object_set_new(o, "decidedAt", json_time(v[i].decided_at));
        json_array_append_new(arr, o);
    }
    *ret = arr;
    arr = NULL;
out:
    json_decref(arr);
    store_fates_free(v, nv);
    return r;
}
