/*
 * validate.c - LUCI's validation rules for a parsed ProjectConfig
 * (luci-scheduler-spec.md 1.7, 4.1.1-4.1.2, 4.2.1, 4.3), with tock's
 * documented leniencies (docs/config.md) unless strict_luci.
 *
 * Order of checks and messages follow LUCI: every job, then every trigger;
 * within one: duplicate id, realm, id, schedule, triggers, policy, task.
 * Distinct schedules and regexps are checked once (hash caches), since
 * generated configs repeat the same few thousands of times.
 */
#include "config/config.h"

#include <math.h>
#include <stdarg.h>

#include "base/limits.h"
#include "base/time.h"
#include "config/gourl.h"
#include "config/re2.h"

/* ---------------------------------------------------------------------------
 * A string-keyed open-addressing hash map (keys are borrowed).
 */

struct strmap_entry {
    const char *key;
    void *value;
};

struct strmap {
    struct strmap_entry *v;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t strmap_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int strmap_init(struct strmap *m, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2)
        cap *= 2;
    m->v = calloc(cap, sizeof(*m->v));
    m->cap = m->v ? cap : 0;
    m->n = 0;
    return m->v ? 0 : -ENOMEM;
}

static void strmap_release(struct strmap *m)
{
    free(m->v);
    m->v = NULL;
    m->cap = m->n = 0;
}

/* The entry for key: an existing one, or a new one with value NULL. */
static struct strmap_entry *strmap_get(struct strmap *m, const char *key, bool *ret_new)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct strmap bigger;
        if (strmap_init(&bigger, m->cap) < 0)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].key)
                continue;
            size_t j = strmap_hash(m->v[i].key) & (bigger.cap - 1);
            while (bigger.v[j].key)
                j = (j + 1) & (bigger.cap - 1);
            bigger.v[j] = m->v[i];
        }
        bigger.n = m->n;
        strmap_release(m);
        *m = bigger;
    }
    size_t j = strmap_hash(key) & (m->cap - 1);
    while (m->v[j].key) {
        if (strcmp(m->v[j].key, key) == 0) {
            *ret_new = false;
            return &m->v[j];
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->v[j].key = key;
    m->v[j].value = NULL;
    m->n++;
    *ret_new = true;
    return &m->v[j];
}

static bool strmap_has(const struct strmap *m, const char *key)
{
    size_t j = strmap_hash(key) & (m->cap - 1);
    while (m->v[j].key) {
        if (strcmp(m->v[j].key, key) == 0)
            return true;
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Context
 */

/*
 * The verdict on one schedule string.  tock's own schedule extensions (TZ=,
 * H) are features, not legacy forms: no warning by default; strict_luci
 * makes schedule_parse reject them.
 */
struct sched_verdict {
    char *err; /* NULL: valid */
};

/* The verdict on one regexp string. */
struct re_verdict {
    struct re2_regexp *re; /* NULL: invalid */
    char *err;
};

struct vctx {
    const struct cfg_project *p;
    bool strict;
    const char *project;
    struct schedule_options sopts;
    struct cfg_diags *d;
    int n_errors;
    int oom;
    char path[2048];
    size_t path_len;
    struct strmap ids;       /* ids seen so far (duplicates) */
    struct strmap all_ids;   /* every id (for triggers) */
    struct strmap schedules; /* -> struct sched_verdict */
    struct strmap regexps;   /* -> struct re_verdict */
    char q1[1100], q2[1100];
};

static const char *q1(struct vctx *v, const char *s)
{
    return goquote(s, v->q1, sizeof(v->q1));
}

static const char *q2(struct vctx *v, const char *s)
{
    return goquote(s, v->q2, sizeof(v->q2));
}

static void v_enter(struct vctx *v, const char *elem)
{
    size_t n = strlen(elem);
    size_t room = sizeof(v->path) - 1 - v->path_len;
    size_t sep = v->path_len ? 3 : 0;
    if (sep + n > room)
        n = room > sep ? room - sep : 0;
    if (sep)
        memcpy(v->path + v->path_len, " / ", 3);
    memcpy(v->path + v->path_len + sep, elem, n);
    v->path_len += sep + n;
    v->path[v->path_len] = '\0';
}

/* Leaves to the given depth (a path length saved before v_enter). */
static void v_exit(struct vctx *v, size_t len)
{
    v->path_len = len;
    v->path[len] = '\0';
}

static void v_diag(struct vctx *v, enum cfg_severity sev, struct cfg_pos pos, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

static void v_diag(struct vctx *v, enum cfg_severity sev, struct cfg_pos pos, const char *fmt,
                   va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (cfg_diags_add(v->d, sev, pos, v->path, "%s", msg) < 0)
        v->oom = 1;
    if (sev == CFG_SEV_ERROR)
        v->n_errors++;
}

static void v_error(struct vctx *v, struct cfg_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void v_error(struct vctx *v, struct cfg_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v_diag(v, CFG_SEV_ERROR, pos, fmt, ap);
    va_end(ap);
}

/*
 * Something today's LUCI rejects with the message fmt, but tock accepts
 * (note says how): an error when strict, else a warning.
 */
static void v_lenient(struct vctx *v, struct cfg_pos pos, const char *note, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void v_lenient(struct vctx *v, struct cfg_pos pos, const char *note, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->strict) {
        v_error(v, pos, "%s", msg);
        return;
    }
    if (cfg_diags_add(v->d, CFG_SEV_WARNING, pos, v->path, "%s (LUCI rejects this; tock %s)",
                      msg, note) < 0)
        v->oom = 1;
}

static void v_warning(struct vctx *v, struct cfg_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void v_warning(struct vctx *v, struct cfg_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v_diag(v, CFG_SEV_WARNING, pos, fmt, ap);
    va_end(ap);
}

static struct cfg_pos v_or(struct cfg_pos a, struct cfg_pos b)
{
    return a.line ? a : b;
}

static char *v_strdup(struct vctx *v, const char *s)
{
    char *c = strdup(s);
    if (!c)
        v->oom = 1;
    return c;
}

/* ---------------------------------------------------------------------------
 * Ids and realms
 */

#define JOB_ID_RE "^[0-9A-Za-z_\\-\\. \\)\\(]{1,100}$"
#define REALM_RE "^[a-z0-9_\\.\\-/]{1,400}$"

static bool v_job_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *s = id; *s; s++, n++) {
        char c = *s;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '_' || c == '-' || c == '.' || c == ' ' || c == ')' || c == '('))
            return false;
    }
    return n >= 1 && n <= 100;
}

static bool v_realm_ok(const char *r)
{
    if (strcmp(r, "@root") == 0 || strcmp(r, "@legacy") == 0 || strcmp(r, "@project") == 0)
        return true;
    size_t n = 0;
    for (const char *s = r; *s; s++, n++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-' || c == '/'))
            return false;
    }
    return n >= 1 && n <= 400;
}

const char *cfg_job_realm(const struct cfg_job *j)
{
    return j->realm[0] && v_realm_ok(j->realm) ? j->realm : "@legacy";
}

/* ---------------------------------------------------------------------------
 * Schedules
 */

static const struct sched_verdict *v_schedule_verdict(struct vctx *v, const struct cfg_job *j)
{
    bool is_new;
    struct strmap_entry *e = strmap_get(&v->schedules, j->schedule, &is_new);
    if (!e) {
        v->oom = 1;
        return NULL;
    }
    if (!is_new)
        return e->value;
    struct sched_verdict *sv = calloc(1, sizeof(*sv));
    if (!sv) {
        v->oom = 1;
        e->value = NULL;
        return NULL;
    }
    e->value = sv;

    char jobid[512];
    char err[1024];
    struct schedule *s = NULL;
    struct schedule_options o = v->sopts;
    snprintf(jobid, sizeof(jobid), "%s/%s", v->project, j->id);
    o.job_id = jobid;
    int r = schedule_parse(j->schedule, &o, &s, err, sizeof(err));
    schedule_free(s);
    s = NULL;
    if (r == -ENOMEM) {
        v->oom = 1;
        return sv;
    }
    if (r < 0) {
        sv->err = v_strdup(v, err);
        return sv;
    }
    return sv;
}

static void v_schedule(struct vctx *v, const struct cfg_job *j)
{
    if (!j->schedule[0])
        return;
    const struct sched_verdict *sv = v_schedule_verdict(v, j);
    if (!sv)
        return;
    if (sv->err)
        v_error(v, j->schedule_pos, "%s is not valid value for 'schedule' field - %s",
                j->schedule, sv->err);
}

/* ---------------------------------------------------------------------------
 * Regexps
 */

static const struct re_verdict *v_regexp(struct vctx *v, const char *pattern)
{
    bool is_new;
    struct strmap_entry *e = strmap_get(&v->regexps, pattern, &is_new);
    if (!e) {
        v->oom = 1;
        return NULL;
    }
    if (!is_new)
        return e->value;
    struct re_verdict *rv = calloc(1, sizeof(*rv));
    e->value = rv;
    if (!rv) {
        v->oom = 1;
        return NULL;
    }
    char err[1024];
    int r = re2_regexp_compile(pattern, &rv->re, err, sizeof(err));
    if (r == -ENOMEM)
        v->oom = 1;
    else if (r < 0)
        rv->err = v_strdup(v, err);
    return rv;
}

static size_t v_count(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static bool v_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool v_suffix(const char *s, char c)
{
    size_t n = strlen(s);
    return n && s[n - 1] == c;
}

/* ---------------------------------------------------------------------------
 * Policy
 */

static void v_go_float(float f, char *out, size_t outlen)
{
    if (isnan(f))
        snprintf(out, outlen, "NaN");
    else if (isinf(f))
        snprintf(out, outlen, "%sInf", f < 0 ? "-" : "+");
    else
        snprintf(out, outlen, "%f", (double)f);
}

static void v_policy(struct vctx *v, const struct cfg_job *j)
{
    const struct cfg_policy *p = &j->policy;
    if (!p->present)
        return;
    size_t saved = v->path_len;
    v_enter(v, "triggering_policy");
    if (p->kind < 0 || p->kind > 3)
        v_error(v, p->pos, "unrecognized policy kind %" PRId32, p->kind);
    if (p->max_concurrent_invocations < 0)
        v_error(v, p->pos, "max_concurrent_invocations should be positive, got %" PRId64,
                p->max_concurrent_invocations);
    if (p->max_batch_size < 0)
        v_error(v, p->pos, "max_batch_size should be positive, got %" PRId64, p->max_batch_size);
    if (p->pending_timeout_ns < 0) {
        char d[TIME_DURATION_MAX];
        time_format_duration(p->pending_timeout_ns, d, sizeof(d));
        v_error(v, p->pos, "pending_timeout should be positive, got %s", d);
    }
    if (p->kind != CFG_POLICY_NEWEST_FIRST && p->pending_timeout_ns != 0)
        v_error(v, p->pos, "pending_timeout is non-zero with non-NEWEST_FIRST policy, but "
                "pending_timeout doesn't apply to those policies");
    if (p->kind == CFG_POLICY_LOGARITHMIC_BATCHING && p->log_base < 1.0001f) {
        char f[64];
        v_go_float(p->log_base, f, sizeof(f));
        v_error(v, p->pos, "log_base should be larger or equal 1.0001, got %s", f);
    }
    v_exit(v, saved);
}

/* ---------------------------------------------------------------------------
 * Tasks
 */

int cfg_builder_id(const struct cfg_buildbucket_task *t, const char *project,
                   const char *realm, bool strict_luci, struct cfg_builder_id *ret,
                   char *reterr_msg, size_t errlen)
{
    struct cfg_builder_id id;
    char qa[1100], qb[1100];

    memset(&id, 0, sizeof(id));
    if (!realm || !realm[0])
        realm = "@legacy";
    if (!t->bucket[0]) {
        if (strcmp(realm, "@legacy") == 0 || strcmp(realm, "@root") == 0) {
            snprintf(reterr_msg, errlen, "'bucket' field for jobs in %s realm is required",
                     goquote(realm, qa, sizeof(qa)));
            return -EINVAL;
        }
        snprintf(id.project, sizeof(id.project), "%s", project);
        snprintf(id.bucket, sizeof(id.bucket), "%s", realm);
    } else if (strchr(t->bucket, ':')) {
        const char *colon = strchr(t->bucket, ':');
        snprintf(id.project, sizeof(id.project), "%.*s", (int)(colon - t->bucket), t->bucket);
        snprintf(id.bucket, sizeof(id.bucket), "%s", colon + 1);
    } else if (v_prefix(t->bucket, "luci.")) {
        const char *p1 = t->bucket + 5;
        const char *dot = strchr(p1, '.');
        if (!dot) {
            snprintf(reterr_msg, errlen, "bad legacy v1 'bucket' %s, need 3 components",
                     goquote(t->bucket, qa, sizeof(qa)));
            return -EINVAL;
        }
        snprintf(id.project, sizeof(id.project), "%.*s", (int)(dot - p1), p1);
        snprintf(id.bucket, sizeof(id.bucket), "%s", dot + 1);
        id.legacy_v1 = true;
        if (strict_luci) {
            char full[600];
            if (strcmp(id.project, project) != 0)
                snprintf(full, sizeof(full), "%s:%s", id.project, id.bucket);
            else
                snprintf(full, sizeof(full), "%s", id.bucket);
            snprintf(reterr_msg, errlen,
                     "legacy v1 bucket names like %s are no longer allowed, use %s instead",
                     goquote(t->bucket, qa, sizeof(qa)), goquote(full, qb, sizeof(qb)));
            return -EINVAL;
        }
    } else {
        snprintf(id.project, sizeof(id.project), "%s", project);
        snprintf(id.bucket, sizeof(id.bucket), "%s", t->bucket);
    }
    if (!t->builder[0]) {
        snprintf(reterr_msg, errlen, "'builder' field is required");
        return -EINVAL;
    }
    snprintf(id.builder, sizeof(id.builder), "%s", t->builder);
    *ret = id;
    return 0;
}

static void v_server_host(struct vctx *v, const char *server, struct cfg_pos pos)
{
    char url[2048], err[2048];
    struct gourl u;

    snprintf(url, sizeof(url), "https://%s", server);
    if (gourl_parse(url, &u, err, sizeof(err)) < 0)
        v_error(v, pos, "field 'server' is not a valid hostname %s: %s", q1(v, server), err);
    else if (!u.path_empty)
        v_error(v, pos, "field 'server' is not a valid hostname %s", q1(v, server));
}

static void v_buildbucket(struct vctx *v, const struct cfg_job *j, const char *realm)
{
    const struct cfg_buildbucket_task *t = &j->buildbucket;
    struct cfg_pos tpos = j->task_pos[CFG_TASK_BUILDBUCKET];
    struct cfg_pos spos = v_or(t->server_pos, tpos);

    if (!t->server[0]) {
        v_error(v, spos, "field 'server' is required");
    } else if (v_prefix(t->server, "https://") || v_prefix(t->server, "http://")) {
        v_lenient(v, spos, "uses the host part",
                  "field 'server' should be just a host, not a URL: %s", q1(v, t->server));
        if (!v->strict)
            v_server_host(v, strchr(t->server, ':') + 3, spos);
    } else {
        v_server_host(v, t->server, spos);
    }

    struct cfg_builder_id id;
    char err[2400];
    struct cfg_pos bpos = v_or(t->bucket_pos, tpos);
    if (cfg_builder_id(t, v->project, realm, v->strict, &id, err, sizeof(err)) < 0) {
        bool about_builder = v_prefix(err, "'builder'");
        v_error(v, about_builder ? v_or(t->builder_pos, tpos) : bpos, "%s", err);
    } else if (id.legacy_v1) {
        char full[600];
        if (strcmp(id.project, v->project) != 0)
            snprintf(full, sizeof(full), "%s:%s", id.project, id.bucket);
        else
            snprintf(full, sizeof(full), "%s", id.bucket);
        v_lenient(v, bpos, "schedules it through the Buildbucket v1 API",
                  "legacy v1 bucket names like %s are no longer allowed, use %s instead",
                  q1(v, t->bucket), q2(v, full));
    }
    if (!t->builder[0])
        v_error(v, v_or(t->builder_pos, tpos), "'builder' field is required");

    size_t saved = v->path_len;
    for (size_t i = 0; i < t->properties.n; i++) {
        if (!strchr(t->properties.v[i], ':')) {
            v_enter(v, "properties");
            v_error(v, t->properties.pos[i], "bad property, not a 'key:value' pair: %s",
                    q1(v, t->properties.v[i]));
            v_exit(v, saved);
            break;
        }
    }
    for (size_t i = 0; i < t->tags.n; i++) {
        if (!strchr(t->tags.v[i], ':')) {
            v_enter(v, "tags");
            v_error(v, t->tags.pos[i], "bad tag, not a 'key:value' pair: %s",
                    q1(v, t->tags.v[i]));
            v_exit(v, saved);
            return;
        }
    }
    static const char *const reserved[] = {
        "scheduler_invocation_id", "scheduler_job_id", "user_agent",
    };
    for (size_t i = 0; i < t->tags.n; i++) {
        const char *tag = t->tags.v[i];
        size_t klen = (size_t)(strchr(tag, ':') - tag);
        for (size_t k = 0; k < ARRAY_SIZE(reserved); k++) {
            if (strlen(reserved[k]) == klen && memcmp(reserved[k], tag, klen) == 0)
                v_error(v, t->tags.pos[i], "tag %s is reserved", q1(v, reserved[k]));
        }
    }
}

static void v_url(struct vctx *v, const char *url, struct cfg_pos pos)
{
    char err[2048];
    struct gourl u;

    if (gourl_parse(url, &u, err, sizeof(err)) < 0)
        v_error(v, pos, "invalid URL %s: %s", q1(v, url), err);
    else if (!u.has_scheme)
        v_error(v, pos, "not an absolute url: %s", q1(v, url));
}

static void v_url_fetch(struct vctx *v, const struct cfg_job *j)
{
    const struct cfg_url_fetch_task *t = &j->url_fetch;
    struct cfg_pos tpos = j->task_pos[CFG_TASK_URL_FETCH];

    if (t->method[0] && strcmp(t->method, "GET") != 0)
        v_error(v, v_or(t->method_pos, tpos), "unsupported HTTP method: %s", q1(v, t->method));
    if (!t->url[0])
        v_error(v, tpos, "field 'url' is required");
    else
        v_url(v, t->url, t->url_pos);
    if (t->timeout_sec != 0) {
        if (t->timeout_sec < 1)
            v_error(v, t->timeout_sec_pos, "minimum allowed 'timeout_sec' is 1 sec, got %" PRId32,
                    t->timeout_sec);
        if (t->timeout_sec > 480)
            v_error(v, t->timeout_sec_pos,
                    "maximum allowed 'timeout_sec' is 480 sec, got %" PRId32, t->timeout_sec);
    }
}

static void v_regexp_ref(struct vctx *v, const char *ref, struct cfg_pos pos)
{
    size_t saved = v->path_len;
    v_enter(v, ref);
    const char *re = ref + strlen("regexp:");
    if (re[0] == '^' || v_suffix(re, '$')) {
        v_error(v, pos, "^ and $ qualifiers are added automatically, please remove them");
        goto out;
    }
    const struct re_verdict *rv = v_regexp(v, re);
    if (!rv)
        goto out;
    if (!rv->re) {
        v_error(v, pos, "invalid regexp: %s", rv->err ? rv->err : "?");
        goto out;
    }
    char lp[1024];
    re2_regexp_literal_prefix(rv->re, lp, sizeof(lp), NULL);
    if (v_count(lp, '/') < 2)
        v_error(v, pos, "fewer than 2 slashes in literal prefix %s, e.g., "
                "\"refs/heads/\\d+\" is accepted because of \"refs/heads/\" is the literal "
                "prefix, while \"refs/.*\" is too short", q1(v, lp));
    if (!v_prefix(lp, "refs/"))
        v_error(v, pos, "literal prefix %s must start with \"refs/\"", q1(v, lp));
out:
    v_exit(v, saved);
}

static void v_path_regexp(struct vctx *v, const char *p, struct cfg_pos pos)
{
    if (!p[0])
        v_error(v, pos, "must not be empty");
    if (p[0] == '^' || v_suffix(p, '$'))
        v_error(v, pos, "^ and $ qualifiers are added automatically, please remove them");
    const struct re_verdict *rv = v_regexp(v, p);
    if (rv && !rv->re)
        v_error(v, pos, "%s", rv->err ? rv->err : "?");
}

/* The refs and path filters of a gitiles or git task (the same rules). */
static void v_refs_and_paths(struct vctx *v, const struct cfg_gitiles_task *t);

static void v_gitiles(struct vctx *v, const struct cfg_job *j)
{
    const struct cfg_gitiles_task *t = &j->gitiles;
    struct cfg_pos tpos = j->task_pos[CFG_TASK_GITILES];
    size_t saved = v->path_len;

    v_enter(v, "repo");
    if (!t->repo[0])
        v_error(v, tpos, "field 'repository' is required");
    else
        v_url(v, t->repo, t->repo_pos);
    v_exit(v, saved);
    v_refs_and_paths(v, t);
}

/*
 * Whether a URL's authority carries credentials: a password ("user:pw@")
 * in any scheme, any user at all in http(s) ("https://TOKEN@host" is how
 * tokens are often pasted).  ssh://git@host and git://user@host name an
 * account, not a secret.
 */
static bool v_url_has_credentials(const char *url)
{
    const char *a = strstr(url, "://"), *at = NULL;
    size_t n;

    if (!a || url[0] == '/')
        return false;
    a += 3;
    n = strcspn(a, "/?#");
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (!at)
        return false;
    return memchr(a, ':', (size_t)(at - a)) != NULL || v_prefix(url, "http");
}

/*
 * A git remote the git poller can reach: a URL of a known scheme or an
 * absolute path, with no credentials in it (they would be shown in every
 * trigger id, property and page: --git-credentials keeps them).  The
 * credentials error does not repeat the URL.
 */
static void v_git_url(struct vctx *v, const char *url, struct cfg_pos pos)
{
    static const char *const schemes[] = {"https://", "http://", "ssh://", "git://", "file://"};
    bool known = url[0] == '/';

    for (size_t i = 0; i < ARRAY_SIZE(schemes) && !known; i++)
        known = v_prefix(url, schemes[i]) && url[strlen(schemes[i])] != '\0';
    if (strlen(url) > CFG_GIT_URL_MAX)
        v_error(v, pos, "url is longer than %d bytes", CFG_GIT_URL_MAX);
    else if (strpbrk(url, " \t\r\n"))
        v_error(v, pos, "url %s has white space", q1(v, url));
    else if (!known)
        v_error(v, pos, "url %s must start with https://, http://, ssh://, git://, file:// "
                "or be an absolute path", q1(v, url));
    else if (v_url_has_credentials(url))
        v_error(v, pos, "url must not carry credentials (user:password@ or token@): they would "
                "show in every trigger and page; give them to tock serve with --git-credentials");
}

/* tock's git task: not LUCI's, so --strict-luci refuses it. */
static void v_git(struct vctx *v, const struct cfg_job *j)
{
    const struct cfg_gitiles_task *t = &j->git;
    struct cfg_pos tpos = j->task_pos[CFG_TASK_GIT];
    size_t saved = v->path_len;

    if (v->strict)
        v_error(v, tpos, "the git task is a tock extension that LUCI does not have "
                "(use gitiles, or validate without --strict-luci)");
    v_enter(v, "url");
    if (!t->repo[0])
        v_error(v, tpos, "field 'url' is required");
    else
        v_git_url(v, t->repo, t->repo_pos);
    v_exit(v, saved);
    v_refs_and_paths(v, t);
}

static void v_refs_and_paths(struct vctx *v, const struct cfg_gitiles_task *t)
{
    size_t saved = v->path_len;
    char elem[1200];

    v_enter(v, "refs");
    for (size_t i = 0; i < t->refs.n; i++) {
        const char *ref = t->refs.v[i];
        struct cfg_pos pos = t->refs.pos[i];
        if (v_prefix(ref, "regexp:")) {
            v_regexp_ref(v, ref, pos);
            continue;
        }
        bool bare = !strchr(ref, '/') && ref[0];
        char note[1200];
        snprintf(note, sizeof(note), "reads it as %s",
                 (snprintf(elem, sizeof(elem), "refs/heads/%s", ref), q2(v, elem)));
        if (!v_prefix(ref, "refs/")) {
            if (bare)
                v_lenient(v, pos, note, "ref must start with 'refs/' not %s", q1(v, ref));
            else
                v_error(v, pos, "ref must start with 'refs/' not %s", q1(v, ref));
        }
        if (v_count(ref, '/') < 2) {
            if (bare)
                v_lenient(v, pos, note, "fewer than 2 slashes in ref %s", q1(v, ref));
            else
                v_error(v, pos, "fewer than 2 slashes in ref %s", q1(v, ref));
        }
        if (!v->strict && strchr(ref, '*') && v_prefix(ref, "refs/")) {
            struct buf b;
            buf_init(&b, 4096);
            if (cfg_gitiles_ref_normalize(ref, &b) == 0)
                v_warning(v, pos, "LUCI reads %s as a literal ref name, which never matches; "
                          "tock reads the glob as %s", q1(v, ref), q2(v, b.data));
            buf_release(&b);
        }
    }
    v_exit(v, saved);

    for (size_t i = 0; i < t->path_regexps.n; i++) {
        snprintf(elem, sizeof(elem), "path_regexps %s", q1(v, t->path_regexps.v[i]));
        v_enter(v, elem);
        v_path_regexp(v, t->path_regexps.v[i], t->path_regexps.pos[i]);
        v_exit(v, saved);
    }
    if (t->path_regexps_exclude.n > 0 && t->path_regexps.n == 0) {
        v_error(v, t->path_regexps_exclude.pos[0],
                "Specifying path_regexps_exclude not allowed without at least one path_regexps");
    } else {
        for (size_t i = 0; i < t->path_regexps_exclude.n; i++) {
            snprintf(elem, sizeof(elem), "path_regexps_exclude %s",
                     q1(v, t->path_regexps_exclude.v[i]));
            v_enter(v, elem);
            v_path_regexp(v, t->path_regexps_exclude.v[i], t->path_regexps_exclude.pos[i]);
            v_exit(v, saved);
        }
    }
}

static void v_task(struct vctx *v, const struct cfg_job *j, const char *realm)
{
    enum cfg_task_kind first = CFG_TASK_NONE;

    for (int k = CFG_TASK_NOOP; k < _CFG_TASK_KIND_MAX; k++) {
        if (!(j->tasks_present & (1u << k)))
            continue;
        if (first != CFG_TASK_NONE) {
            /* Point at whichever of the two comes later in the file. */
            struct cfg_pos a = j->task_pos[first], b = j->task_pos[k];
            bool b_later = b.line > a.line || (b.line == a.line && b.col > a.col);
            v_error(v, b_later ? b : a, "only one field with task definition must be set, at "
                    "least two are given (%s and %s)", cfg_task_kind_go_type(first),
                    cfg_task_kind_go_type((enum cfg_task_kind)k));
            return;
        }
        first = (enum cfg_task_kind)k;
    }
    if (first == CFG_TASK_NONE) {
        v_error(v, j->pos, "can't find a recognized task definition inside %s",
                j->is_trigger ? "*messages.Trigger" : "*messages.Job");
        return;
    }
    size_t saved = v->path_len;
    v_enter(v, "task");
    switch (first) {
    case CFG_TASK_URL_FETCH:
        v_url_fetch(v, j);
        break;
    case CFG_TASK_BUILDBUCKET:
        v_buildbucket(v, j, realm);
        break;
    case CFG_TASK_GITILES:
        v_gitiles(v, j);
        break;
    case CFG_TASK_GIT:
        v_git(v, j);
        break;
    default:
        break;
    }
    v_exit(v, saved);
}

/* ---------------------------------------------------------------------------
 * Jobs
 */

static void v_job(struct vctx *v, const struct cfg_job *j)
{
    v_exit(v, 0);
    v_enter(v, j->is_trigger ? "trigger" : "job");
    v_enter(v, j->id[0] ? j->id : "(empty)");

    if (j->id[0]) {
        bool is_new;
        if (!strmap_get(&v->ids, j->id, &is_new))
            v->oom = 1;
        else if (!is_new)
            v_error(v, j->id_pos, "duplicate id %s", q1(v, j->id));
    }
    const char *realm = "@legacy";
    if (j->realm[0]) {
        if (!v_realm_ok(j->realm))
            v_error(v, j->realm_pos, "bad 'realm' field - bad project-scoped realm name %s - "
                    "the realm name should match %s or be \"@root\", \"@legacy\" or "
                    "\"@project\"", q1(v, j->realm), q2(v, REALM_RE));
        else
            realm = j->realm;
    }
    if (!j->id[0])
        v_error(v, j->pos, "missing 'id' field'");
    else if (!v_job_id_ok(j->id))
        v_error(v, j->id_pos, "%s is not valid value for 'id' field, must match %s regexp",
                q1(v, j->id), q2(v, JOB_ID_RE));
    v_schedule(v, j);
    if (j->is_trigger) {
        for (size_t i = 0; i < j->triggers.n; i++)
            if (!strmap_has(&v->all_ids, j->triggers.v[i]))
                v_error(v, j->triggers.pos[i], "referencing unknown job %s in 'triggers' field",
                        q1(v, j->triggers.v[i]));
    }
    v_policy(v, j);
    v_task(v, j, realm);
}

int cfg_validate(const struct cfg_project *p, const struct cfg_validate_options *opts,
                 struct cfg_diags *diags)
{
    static const struct cfg_validate_options defaults = { 0 };
    struct vctx *v = NULL;
    int r;

    if (!opts)
        opts = &defaults;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->p = p;
    v->strict = opts->strict_luci;
    v->project = opts->project ? opts->project : "project";
    if (opts->schedule)
        v->sopts = *opts->schedule;
    if (v->strict)
        v->sopts.strict_luci = true;
    v->d = diags;
    if (strmap_init(&v->ids, p->n_jobs) < 0 || strmap_init(&v->all_ids, p->n_jobs) < 0 ||
        strmap_init(&v->schedules, 64) < 0 || strmap_init(&v->regexps, 64) < 0) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->n_jobs; i++) {
        bool is_new;
        if (p->jobs[i].id[0] && !strmap_get(&v->all_ids, p->jobs[i].id, &is_new)) {
            r = -ENOMEM;
            goto out;
        }
    }
    /* LUCI's order: all jobs, then all triggers. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->n_jobs; i++)
            if (p->jobs[i].is_trigger == (pass == 1))
                v_job(v, &p->jobs[i]);
    r = v->oom ? -ENOMEM : v->n_errors;
out:
    for (size_t i = 0; i < v->schedules.cap; i++) {
        struct sched_verdict *sv = v->schedules.v ? v->schedules.v[i].value : NULL;
        if (sv) {
            free(sv->err);
            free(sv);
        }
    }
    for (size_t i = 0; i < v->regexps.cap; i++) {
        struct re_verdict *rv = v->regexps.v ? v->regexps.v[i].value : NULL;
        if (rv) {
            re2_regexp_free(rv->re);
            free(rv->err);
            free(rv);
        }
    }
    strmap_release(&v->ids);
    strmap_release(&v->all_ids);
    strmap_release(&v->schedules);
    strmap_release(&v->regexps);
    free(v);
    return r;
}

int cfg_gitiles_ref_normalize(const char *ref, struct buf *out)
{
    int r = 0;

    if (!v_prefix(ref, "regexp:") && ref[0] && !strchr(ref, '/'))
        return buf_printf(out, "refs/heads/%s", ref);
    if (v_prefix(ref, "regexp:") || !strchr(ref, '*'))
        return buf_puts(out, ref);
    /* A glob: quote the regexp metacharacters, '*' matches one path component. */
    r = buf_puts(out, "regexp:");
    for (const char *s = ref; *s && r == 0; s++) {
        if (*s == '*')
            r = buf_puts(out, "[^/]+");
        else if (strchr("\\.+?()|[]{}^$", *s))
            r = buf_printf(out, "\\%c", *s);
        else
            r = buf_putc(out, *s);
    }
    return r;
}
