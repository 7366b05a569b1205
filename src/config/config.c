/*
 * config.c - the model: arena, diagnostics, and building a struct
 * cfg_project from the text-format reader's events.
 */
#include "config/config.h"

#include <stdarg.h>

#include "base/limits.h"
#include "config/textproto.h"

/* ---------------------------------------------------------------------------
 * Arena: everything of one project, freed at once.
 */

struct cfg_arena_chunk {
    struct cfg_arena_chunk *next;
    size_t used;
    size_t size;
    max_align_t data[];
};

struct cfg_arena {
    struct cfg_arena_chunk *head;
    struct cfg_job *jobs; /* malloc'd separately: it is realloc'd while parsing */
    size_t jobs_alloc;
};

#define CFG_ARENA_CHUNK (64u * 1024)

static void *cfg_arena_alloc(struct cfg_arena *a, size_t n)
{
    struct cfg_arena_chunk *c = a->head;

    n = (n + 7) & ~(size_t)7;
    if (!c || c->size - c->used < n) {
        size_t size = n > CFG_ARENA_CHUNK ? n : CFG_ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *cfg_arena_strdup(struct cfg_arena *a, const char *s, size_t len)
{
    if (len == 0)
        return (char *)"";
    char *p = cfg_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/*
 * Makes room for element number n of an arena array of elsz-byte elements.
 * The capacity is implicit: 4, 8, 16, ... so it grows when n is 0 or a
 * power of two >= 4.  Old storage stays in the arena (at most 2x waste).
 */
static int cfg_arena_vec_reserve(struct cfg_arena *a, void **v, size_t n, size_t elsz)
{
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
        return 0;
    size_t cap = n == 0 ? 4 : n * 2;
    void *nv = cfg_arena_alloc(a, cap * elsz);
    if (!nv)
        return -ENOMEM;
    if (n)
        memcpy(nv, *v, n * elsz);
    *v = nv;
    return 0;
}

static void cfg_arena_free(struct cfg_arena *a)
{
    if (!a)
        return;
    for (struct cfg_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a->jobs);
    free(a);
}

/* ---------------------------------------------------------------------------
 * Diagnostics
 */

/* Longest diagnostic message kept; longer ones end in "...". */
#define CFG_DIAG_MESSAGE_MAX 4096

void cfg_diags_init(struct cfg_diags *d)
{
    memset(d, 0, sizeof(*d));
}

void cfg_diags_release(struct cfg_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].path);
        free(d->v[i].message);
    }
    free(d->v);
    cfg_diags_init(d);
}

int cfg_diags_add(struct cfg_diags *d, enum cfg_severity sev, struct cfg_pos pos,
                  const char *path, const char *fmt, ...)
{
    char *msg = NULL, *p = NULL;
    va_list ap;
    int r;

    if (sev == CFG_SEV_ERROR)
        d->n_errors++;
    else
        d->n_warnings++;
    if (d->n >= LIMIT_CONFIG_ERRORS) {
        d->n_dropped++;
        return 0;
    }
    if (d->n == d->alloc) {
        size_t na = d->alloc ? d->alloc * 2 : 16;
        struct cfg_diag *nv = realloc(d->v, na * sizeof(*nv));
        if (!nv) {
            r = -ENOMEM;
            goto out;
        }
        d->v = nv;
        d->alloc = na;
    }
    msg = malloc(CFG_DIAG_MESSAGE_MAX);
    p = strdup(path ? path : "");
    if (!msg || !p) {
        r = -ENOMEM;
        goto out;
    }
    va_start(ap, fmt);
    int n = vsnprintf(msg, CFG_DIAG_MESSAGE_MAX, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    else if ((size_t)n >= CFG_DIAG_MESSAGE_MAX)
        memcpy(msg + CFG_DIAG_MESSAGE_MAX - 4, "...", 4);
    char *shrunk = realloc(msg, strlen(msg) + 1);
    if (shrunk)
        msg = shrunk;
    d->v[d->n].severity = sev;
    d->v[d->n].pos = pos;
    d->v[d->n].path = p;
    d->v[d->n].message = msg;
    d->n++;
    return 0;
out:
    free(msg);
    free(p);
    return r;
}

int cfg_diag_format(const struct cfg_diag *diag, const char *file, struct buf *out)
{
    int r;

    r = buf_puts(out, file ? file : "");
    if (r == 0 && diag->pos.line)
        r = buf_printf(out, ":%" PRIu32 ":%" PRIu32, diag->pos.line, diag->pos.col);
    if (r == 0)
        r = buf_puts(out, diag->severity == CFG_SEV_ERROR ? ": error: " : ": warning: ");
    if (r == 0 && diag->path && diag->path[0])
        r = buf_printf(out, "(%s): ", diag->path);
    if (r == 0)
        r = buf_puts(out, diag->message);
    return r;
}

/* ---------------------------------------------------------------------------
 * Building the model
 */

struct cfg_builder {
    struct cfg_project *p;
    struct cfg_arena *a;
    struct cfg_job *job;         /* the job being read, or NULL */
    struct cfg_acl_set *acl_set; /* the acl set being read, or NULL */
    struct cfg_acl *acl;         /* the acl being read, or NULL */
    int task;                    /* CF_TASK_* being read, or CF_NONE */
    bool in_policy;
    size_t jobs_hint; /* first capacity of the jobs array */
    int64_t dur_seconds;
    int32_t dur_nanos;
    /* An error found by the builder itself (limits). */
    bool failed;
    struct cfg_pos err_pos;
    char err_msg[200];
};

static int cfg_strlist_add(struct cfg_arena *a, struct cfg_strlist *l, const struct tp_value *v,
                           struct cfg_pos pos)
{
    void *vv = (void *)l->v, *pv = (void *)l->pos;

    if (cfg_arena_vec_reserve(a, &vv, l->n, sizeof(*l->v)) < 0 ||
        cfg_arena_vec_reserve(a, &pv, l->n, sizeof(*l->pos)) < 0)
        return -ENOMEM;
    char *s = cfg_arena_strdup(a, v->s, v->len);
    if (!s)
        return -ENOMEM;
    ((const char **)vv)[l->n] = s;
    ((struct cfg_pos *)pv)[l->n] = pos;
    l->v = vv;
    l->pos = pv;
    l->n++;
    return 0;
}

static struct cfg_acl *cfg_acl_add(struct cfg_arena *a, const struct cfg_acl **v, size_t *n,
                                   struct cfg_pos pos)
{
    void *vv = (void *)*v;

    if (cfg_arena_vec_reserve(a, &vv, *n, sizeof(**v)) < 0)
        return NULL;
    struct cfg_acl *acl = &((struct cfg_acl *)vv)[*n];
    acl->role = 0;
    acl->granted_to = "";
    acl->pos = pos;
    *v = vv;
    (*n)++;
    return acl;
}

static void cfg_job_init(struct cfg_job *j, bool is_trigger, struct cfg_pos pos)
{
    memset(j, 0, sizeof(*j));
    j->is_trigger = is_trigger;
    j->id = j->realm = j->schedule = "";
    j->effective_schedule = is_trigger ? "with 30s interval" : "triggered";
    j->url_fetch.method = j->url_fetch.url = "";
    j->buildbucket.server = j->buildbucket.bucket = j->buildbucket.builder = "";
    j->gitiles.repo = "";
    j->git.repo = "";
    j->pos = pos;
}

static int cfg_builder_fail(struct cfg_builder *b, struct cfg_pos pos, const char *msg)
{
    b->failed = true;
    b->err_pos = pos;
    snprintf(b->err_msg, sizeof(b->err_msg), "%s", msg);
    return -E2BIG;
}

static int cfg_on_begin(void *ctx, const struct tp_field *f, struct cfg_pos pos)
{
    struct cfg_builder *b = ctx;
    struct cfg_project *p = b->p;
    struct cfg_arena *a = b->a;

    switch (f->id) {
    case CF_PROJECT_JOB:
    case CF_PROJECT_TRIGGER:
        if (p->n_jobs >= LIMIT_JOBS_PER_PROJECT)
            return cfg_builder_fail(b, pos, "too many jobs and triggers in one project");
        if (p->n_jobs == a->jobs_alloc) {
            /* A job block takes a few hundred bytes of text: start from an
             * estimate so that large files do not realloc and copy often. */
            size_t na = a->jobs_alloc ? a->jobs_alloc * 2 : b->jobs_hint;
            struct cfg_job *nv = realloc(a->jobs, na * sizeof(*nv));
            if (!nv)
                return -ENOMEM;
            a->jobs = nv;
            a->jobs_alloc = na;
            p->jobs = nv;
        }
        b->job = &p->jobs[p->n_jobs++];
        cfg_job_init(b->job, f->id == CF_PROJECT_TRIGGER, pos);
        if (f->id == CF_PROJECT_TRIGGER)
            p->n_triggers++;
        else
            p->n_regular++;
        return 0;
    case CF_PROJECT_ACL_SETS: {
        void *vv = (void *)p->acl_sets;
        if (cfg_arena_vec_reserve(a, &vv, p->n_acl_sets, sizeof(*p->acl_sets)) < 0)
            return -ENOMEM;
        b->acl_set = &((struct cfg_acl_set *)vv)[p->n_acl_sets++];
        memset(b->acl_set, 0, sizeof(*b->acl_set));
        b->acl_set->name = "";
        b->acl_set->pos = pos;
        p->acl_sets = vv;
        return 0;
    }
    case CF_ACLS:
        b->acl = cfg_acl_add(a, &b->job->acls, &b->job->n_acls, pos);
        return b->acl ? 0 : -ENOMEM;
    case CF_ACLSET_ACLS:
        b->acl = cfg_acl_add(a, &b->acl_set->acls, &b->acl_set->n_acls, pos);
        return b->acl ? 0 : -ENOMEM;
    case CF_POLICY:
        b->job->policy.present = true;
        b->job->policy.pos = pos;
        b->in_policy = true;
        return 0;
    case CF_POLICY_PENDING_TIMEOUT:
        b->dur_seconds = 0;
        b->dur_nanos = 0;
        return 0;
    case CF_TASK_NOOP:
    case CF_TASK_URL_FETCH:
    case CF_TASK_BUILDBUCKET:
    case CF_TASK_GITILES:
    case CF_TASK_GIT: {
        enum cfg_task_kind k = f->id == CF_TASK_NOOP ? CFG_TASK_NOOP
                               : f->id == CF_TASK_URL_FETCH ? CFG_TASK_URL_FETCH
                               : f->id == CF_TASK_BUILDBUCKET ? CFG_TASK_BUILDBUCKET
                               : f->id == CF_TASK_GITILES ? CFG_TASK_GITILES
                                                          : CFG_TASK_GIT;
        struct cfg_job *j = b->job;
        j->tasks_present |= 1u << k;
        j->task_pos[k] = pos;
        if (j->task_kind == CFG_TASK_NONE || k < j->task_kind)
            j->task_kind = k;
        b->task = f->id;
        return 0;
    }
    default:
        return 0;
    }
}

static int cfg_on_end(void *ctx, const struct tp_field *f)
{
    struct cfg_builder *b = ctx;

    switch (f->id) {
    case CF_PROJECT_JOB:
    case CF_PROJECT_TRIGGER:
        if (b->job->schedule[0])
            b->job->effective_schedule = b->job->schedule;
        b->job = NULL;
        break;
    case CF_PROJECT_ACL_SETS:
        b->acl_set = NULL;
        break;
    case CF_ACLS:
    case CF_ACLSET_ACLS:
        b->acl = NULL;
        break;
    case CF_POLICY:
        b->in_policy = false;
        break;
    case CF_POLICY_PENDING_TIMEOUT: {
        /* Duration.AsDuration(): seconds*1e9 + nanos, saturated. */
        int64_t s = b->dur_seconds, ns;
        if (s > INT64_MAX / 1000000000)
            ns = INT64_MAX;
        else if (s < INT64_MIN / 1000000000)
            ns = INT64_MIN;
        else {
            ns = s * 1000000000;
            if (b->dur_nanos > 0 && ns > INT64_MAX - b->dur_nanos)
                ns = INT64_MAX;
            else if (b->dur_nanos < 0 && ns < INT64_MIN - b->dur_nanos)
                ns = INT64_MIN;
            else
                ns += b->dur_nanos;
        }
        b->job->policy.pending_timeout_ns = ns;
        break;
    }
    case CF_TASK_NOOP:
    case CF_TASK_URL_FETCH:
    case CF_TASK_BUILDBUCKET:
    case CF_TASK_GITILES:
    case CF_TASK_GIT:
        b->task = CF_NONE;
        break;
    default:
        break;
    }
    return 0;
}

static int cfg_set_str(struct cfg_builder *b, const char **dst, const struct tp_value *v)
{
    char *s = cfg_arena_strdup(b->a, v->s, v->len);
    if (!s)
        return -ENOMEM;
    *dst = s;
    return 0;
}

static int cfg_on_scalar(void *ctx, const struct tp_field *f, const struct tp_value *v,
                         struct cfg_pos pos)
{
    struct cfg_builder *b = ctx;
    struct cfg_job *j = b->job;
    struct cfg_arena *a = b->a;

    switch (f->id) {
    case CF_ID:
        j->id_pos = pos;
        return cfg_set_str(b, &j->id, v);
    case CF_REALM:
        j->realm_pos = pos;
        return cfg_set_str(b, &j->realm, v);
    case CF_SCHEDULE:
        j->schedule_pos = pos;
        return cfg_set_str(b, &j->schedule, v);
    case CF_DISABLED:
        j->disabled_pos = pos;
        j->disabled = v->b;
        return 0;
    case CF_ACL_SETS_NAMES:
        return cfg_strlist_add(a, &j->acl_sets, v, pos);
    case CF_TRIGGERS:
        return cfg_strlist_add(a, &j->triggers, v, pos);
    case CF_POLICY_KIND:
        j->policy.kind = (int32_t)v->i;
        return 0;
    case CF_POLICY_MAX_CONCURRENT:
        j->policy.max_concurrent_invocations = v->i;
        return 0;
    case CF_POLICY_MAX_BATCH:
        j->policy.max_batch_size = v->i;
        return 0;
    case CF_POLICY_LOG_BASE:
        j->policy.log_base = v->f;
        return 0;
    case CF_DURATION_SECONDS:
        b->dur_seconds = v->i;
        return 0;
    case CF_DURATION_NANOS:
        b->dur_nanos = (int32_t)v->i;
        return 0;
    case CF_NOOP_SLEEP_MS:
        j->noop.sleep_ms = v->i;
        return 0;
    case CF_NOOP_TRIGGERS_COUNT:
        j->noop.triggers_count = v->i;
        return 0;
    case CF_URL_METHOD:
        j->url_fetch.method_pos = pos;
        return cfg_set_str(b, &j->url_fetch.method, v);
    case CF_URL_URL:
        j->url_fetch.url_pos = pos;
        return cfg_set_str(b, &j->url_fetch.url, v);
    case CF_URL_TIMEOUT_SEC:
        j->url_fetch.timeout_sec_pos = pos;
        j->url_fetch.timeout_sec = (int32_t)v->i;
        return 0;
    case CF_BB_SERVER:
        j->buildbucket.server_pos = pos;
        return cfg_set_str(b, &j->buildbucket.server, v);
    case CF_BB_BUCKET:
        j->buildbucket.bucket_pos = pos;
        return cfg_set_str(b, &j->buildbucket.bucket, v);
    case CF_BB_BUILDER:
        j->buildbucket.builder_pos = pos;
        return cfg_set_str(b, &j->buildbucket.builder, v);
    case CF_BB_PROPERTIES:
        return cfg_strlist_add(a, &j->buildbucket.properties, v, pos);
    case CF_BB_TAGS:
        return cfg_strlist_add(a, &j->buildbucket.tags, v, pos);
    case CF_GT_REPO:
        j->gitiles.repo_pos = pos;
        return cfg_set_str(b, &j->gitiles.repo, v);
    case CF_GT_REFS:
        return cfg_strlist_add(a, &j->gitiles.refs, v, pos);
    case CF_GT_PATH_REGEXPS:
        return cfg_strlist_add(a, &j->gitiles.path_regexps, v, pos);
    case CF_GT_PATH_REGEXPS_EXCLUDE:
        return cfg_strlist_add(a, &j->gitiles.path_regexps_exclude, v, pos);
    case CF_GIT_URL:
        j->git.repo_pos = pos;
        return cfg_set_str(b, &j->git.repo, v);
    case CF_GIT_REFS:
        return cfg_strlist_add(a, &j->git.refs, v, pos);
    case CF_GIT_PATH_REGEXPS:
        return cfg_strlist_add(a, &j->git.path_regexps, v, pos);
    case CF_GIT_PATH_REGEXPS_EXCLUDE:
        return cfg_strlist_add(a, &j->git.path_regexps_exclude, v, pos);
    case CF_ACL_ROLE:
        b->acl->role = (int32_t)v->i;
        return 0;
    case CF_ACL_GRANTED_TO:
        return cfg_set_str(b, &b->acl->granted_to, v);
    case CF_ACLSET_NAME:
        return cfg_set_str(b, &b->acl_set->name, v);
    default:
        return 0;
    }
}

int cfg_project_parse(const char *data, size_t len, struct cfg_project **ret,
                      struct cfg_diags *diags)
{
    struct cfg_project *p = NULL;
    struct cfg_builder b;
    struct cfg_pos epos = { 0, 0 };
    char emsg[512];
    int r;

    emsg[0] = '\0';
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->arena = calloc(1, sizeof(*p->arena));
    if (!p->arena) {
        r = -ENOMEM;
        goto out;
    }
    memset(&b, 0, sizeof(b));
    b.p = p;
    b.a = p->arena;
    b.jobs_hint = len / 512 + 16;
    if (b.jobs_hint > LIMIT_JOBS_PER_PROJECT)
        b.jobs_hint = LIMIT_JOBS_PER_PROJECT;
    struct tp_handler h = {
        .begin = cfg_on_begin,
        .end = cfg_on_end,
        .scalar = cfg_on_scalar,
        .ctx = &b,
    };
    r = tp_parse(data ? data : "", data ? len : 0, &cfg_schema_project, &h, &epos, emsg,
                 sizeof(emsg));
    if (r < 0) {
        if (b.failed) {
            r = -EINVAL;
            cfg_diags_add(diags, CFG_SEV_ERROR, b.err_pos, NULL, "%s", b.err_msg);
        } else if (r == -EINVAL || r == -EFBIG) {
            cfg_diags_add(diags, CFG_SEV_ERROR, epos, NULL, "%s", emsg);
        }
        goto out;
    }
    *ret = p;
    p = NULL;
out:
    cfg_project_free(p);
    return r;
}

struct cfg_project *cfg_project_free(struct cfg_project *p)
{
    if (!p)
        return NULL;
    cfg_arena_free(p->arena);
    free(p);
    return NULL;
}

const struct cfg_job *cfg_project_find(const struct cfg_project *p, const char *id)
{
    for (size_t i = 0; i < p->n_jobs; i++)
        if (strcmp(p->jobs[i].id, id) == 0)
            return &p->jobs[i];
    return NULL;
}

const char *cfg_task_kind_go_type(enum cfg_task_kind k)
{
    switch (k) {
    case CFG_TASK_NOOP: return "*messages.NoopTask";
    case CFG_TASK_URL_FETCH: return "*messages.UrlFetchTask";
    case CFG_TASK_BUILDBUCKET: return "*messages.BuildbucketTask";
    case CFG_TASK_GITILES: return "*messages.GitilesTask";
    case CFG_TASK_GIT: return "*tock.GitTask";
    default: return "<nil>";
    }
}
