/*
 * poll.c - one poll of a repository (spec 4.2.4), shared by the gitiles
 * and git managers.  See gt-poll.h for the contract.
 */
#include "tasks/gitiles/gt-poll.h"

#include <stdarg.h>

#include "base/time.h"
#include "config/config.h"
#include "net/prpc.h"
#include "tasks/gitiles/gitiles.h"
#include "tasks/taskjson.h"

/* snprintf through a va_list: a cut message is fine for these one-line reasons. */
static void sfmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sfmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

void gt_poll_release(struct gt_poll *p)
{
    for (size_t i = 0; i < p->n_refs; i++)
        free(p->refs[i]);
    free(p->refs);
    gt_refset_release(&p->rs);
    gt_pathfilter_release(&p->pf);
    gt_refs_release(&p->current);
    gt_state_release(&p->st);
}

int gt_poll_fatal(struct task_ctl *c, const char *msg)
{
    sfmt(c->err, sizeof(c->err), "%s", msg);
    return TASK_ERR_FATAL;
}

/* The strings of a JSON array into a NULL-terminated vector (borrowed strings). */
static int str_list(const json_t *a, const char ***ret, size_t *n, size_t max)
{
    size_t i, k = json_array_size(a);
    json_t *s;
    const char **v;

    if (k > max)
        return -E2BIG;
    v = calloc(k + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    json_array_foreach(a, i, s) {
        if (!json_string_value(s)) {
            free(v);
            return -EINVAL;
        }
        v[i] = json_string_value(s);
    }
    *ret = v;
    *n = k;
    return 0;
}

/* The refs config, normalized ("main" -> "refs/heads/main", globs -> regexps). */
static int normalize_refs(struct gt_poll *p, const char *const *refs, size_t n)
{
    struct buf b;
    int r = 0;

    p->refs = calloc(n + 1, sizeof(*p->refs));
    if (!p->refs)
        return -ENOMEM;
    buf_init(&b, 4 * GT_MAX_REF);
    for (size_t i = 0; i < n && r == 0; i++) {
        buf_reset(&b);
        r = cfg_gitiles_ref_normalize(refs[i], &b);
        if (r == 0)
            r = (p->refs[i] = strdup(b.data ? b.data : "")) ? 0 : -ENOMEM;
        if (r == 0)
            p->n_refs++;
    }
    buf_release(&b);
    return r;
}

/* Logs "Repo: ..., Refs: [...]" (the refs as configured). */
static void log_config(struct gt_poll *p, const char *const *refs, size_t n)
{
    struct buf b;

    buf_init(&b, 64u * 1024);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", refs[i]);
    task_ctl_logf(p->c, "Repo: %s, Refs: [%s]", p->repo_url, b.data ? b.data : "");
    buf_release(&b);
}

/* Reads the task definition: URL, refs, path filters (check: the caller's URL check). */
int gt_poll_config(struct gt_poll *p, const json_t *body, const char *url_key,
                   int (*check)(struct gt_poll *p, void *arg), void *arg)
{
    const char **refs = NULL, **inc = NULL, **exc = NULL;
    size_t n_refs = 0, n_inc = 0, n_exc = 0;
    char why[GT_MAX_ERR];
    int r;

    p->repo_url = taskjson_str(body, url_key);
    if (!body || !p->repo_url || !p->repo_url[0])
        return gt_poll_fatal(p->c, "field 'repository' is required");
    if (str_list(json_object_get(body, "refs"), &refs, &n_refs, GT_MAX_CONFIG_REFS) < 0 ||
        str_list(json_object_get(body, "pathRegexps"), &inc, &n_inc, GT_MAX_PATH_REGEXPS) < 0 ||
        str_list(json_object_get(body, "pathRegexpsExclude"), &exc, &n_exc,
                 GT_MAX_PATH_REGEXPS) < 0) {
        sfmt(why, sizeof(why), "bad %s task definition", p->source_name);
        r = gt_poll_fatal(p->c, why);
        goto out;
    }
    log_config(p, refs, n_refs);
    r = check ? check(p, arg) : 0;
    if (r == 0 && normalize_refs(p, refs, n_refs) < 0)
        r = gt_poll_fatal(p->c, "out of memory");
    if (r == 0 && gt_refset_new((const char *const *)p->refs, p->n_refs, &p->rs, why,
                                sizeof(why)) < 0)
        r = gt_poll_fatal(p->c, why);
    if (r == 0 && gt_pathfilter_new(inc, n_inc, exc, n_exc, &p->pf, why, sizeof(why)) < 0)
        r = gt_poll_fatal(p->c, why);
out:
    free(refs);
    free(inc);
    free(exc);
    return r;
}

/* A failed call: c->err and the task error its code deserves. */
static int call_failed(struct task_ctl *c, const char *what, const struct client_error *e)
{
    sfmt(c->err, sizeof(c->err), "%s: %s", what, e->message);
    return client_error_is_transient(e) ? TASK_ERR_TRANSIENT : TASK_ERR_FATAL;
}

/* The watched refs' tips: one +refs request per namespace (spec 4.2.2). */
static int resolve(struct gt_poll *p)
{
    struct client_error e;
    int r = 0;

    for (size_t i = 0; i < p->rs.n_ns && r == 0; i++) {
        struct gt_refs got = {0};
        const char *prefix = p->rs.ns[i].prefix;
        if (p->ops->fetch_refs(p->src, prefix, &got, &e) < 0) {
            r = call_failed(p->c, "failed to resolve refs", &e);
            gt_refs_release(&got); /* a source may fail with refs added */
            break;
        }
        /* A name git forbids (control characters) can be neither built nor stored: ignored. */
        for (size_t k = 0; k < got.n && r == 0; k++)
            if (gt_ref_name_ok(got.v[k].name, strlen(got.v[k].name)) &&
                gt_refset_watches(&p->rs, got.v[k].name))
                r = gt_refs_add(&p->current, got.v[k].name, got.v[k].sha) < 0
                        ? gt_poll_fatal(p->c, "too many refs")
                        : 0;
        gt_refs_release(&got);
    }
    gt_refs_sort(&p->current);
    return r;
}

/* Every configured entry must match a ref (spec 4.2.2), else the poll fails for good. */
static int check_missing(struct gt_poll *p)
{
    struct buf miss, map;
    size_t n = 0;
    int r;

    buf_init(&miss, 1u << 20);
    buf_init(&map, 1u << 20);
    r = gt_refset_missing(&p->rs, &p->current, &miss, &n);
    if (r == 0 && n > 0) {
        buf_puts(&map, "map[");
        for (size_t i = 0; i < p->current.n; i++)
            buf_printf(&map, "%s%s:%s", i ? " " : "", p->current.v[i].name, p->current.v[i].sha);
        buf_putc(&map, ']');
        task_ctl_logf(p->c,
                      "The following configured refs didn't match a single actual ref: %s\n"
                      "Hint: have you granted read access to LUCI Scheduler on relevant refs "
                      "in \"%s\"\nResolved refs from %s:\n%s?\n",
                      miss.data, p->repo_url, p->source_name, map.data ? map.data : "map[]");
        sfmt(p->c->err, sizeof(p->c->err), "%zu unresolved refs", n);
        r = TASK_ERR_FATAL;
    } else if (r < 0) {
        r = gt_poll_fatal(p->c, "out of memory");
    }
    buf_release(&miss);
    buf_release(&map);
    return r;
}

/* The stored state; one that cannot be read is started afresh. */
static int load_state(struct gt_poll *p)
{
    char why[GT_MAX_ERR];
    int r = gt_state_from_json(p->c->job_state, &p->repo, &p->st, why, sizeof(why));

    if (r == -ENOMEM)
        return gt_poll_fatal(p->c, "out of memory");
    if (r < 0)
        task_ctl_logf(p->c, "%s, starting from an empty state", why);
    return 0;
}

/* Spec 4.2.4 step 3: known refs no longer watched or gone. */
static void prune(struct gt_poll *p)
{
    for (size_t i = 0; i < p->st.known.n;) {
        const char *name = p->st.known.v[i].name;
        if (!gt_refset_watches(&p->rs, name)) {
            task_ctl_logf(p->c, "Ref %s is no longer watched", name);
        } else if (!gt_refs_find(&p->current, name)) {
            task_ctl_logf(p->c, "Ref %s deleted", name);
        } else {
            i++;
            continue;
        }
        gt_refs_remove(&p->st.known, i);
        p->changes++;
    }
}

/* The git manager's additions to a trigger's gitiles payload (gt-poll.h). */
static int add_git_payload(json_t *body, const char *sha)
{
    char tag[64 + GT_SHA_LEN];

    snprintf(tag, sizeof(tag), "buildset:commit/git/%s", sha);
    if (json_object_set_new(body, "git", json_true()) < 0 ||
        json_object_set_new(body, "tags", json_pack("[s]", tag)) < 0)
        return -ENOMEM;
    return 0;
}

static int emit(struct gt_poll *p, const char *ref, const struct gt_commit *cm)
{
    char created[TIME_RFC3339_MAX], order[24];
    struct buf id, url;
    json_t *t = NULL;
    int r;

    buf_init(&id, 3 * GT_MAX_REF + 8192);
    buf_init(&url, GT_MAX_REF + 8192);
    r = buf_printf(&id, "%s/+/%s@%s", p->repo_url, ref, cm->sha);
    if (r == 0)
        r = buf_printf(&url, "%s/+/%s", p->repo_url, cm->sha);
    if (r == 0)
        r = time_format_rfc3339(cm->committed, created, sizeof(created)) < 0 ? -EINVAL : 0;
    snprintf(order, sizeof(order), "%zu", p->emitted);
    if (r == 0)
        t = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", id.data, "created",
                      created, "orderInBatch", order, "title", cm->sha, "url", url.data,
                      "gitiles", "repo", p->repo_url, "ref", ref, "revision", cm->sha);
    buf_release(&id);
    buf_release(&url);
    if (!t)
        return -ENOMEM;
    if (p->git_payload && add_git_payload(json_object_get(t, "gitiles"), cm->sha) < 0) {
        json_decref(t);
        return -ENOMEM;
    }
    r = p->c->ops->emit_trigger(p->c, t);
    if (r == 0)
        p->emitted++;
    return r;
}

/* Emits the commits (newest first) oldest first, through the path filter. */
static int emit_commits(struct gt_poll *p, const char *ref, const struct gt_commits *cs)
{
    for (size_t i = cs->n; i > 0; i--) {
        const struct gt_commit *cm = &cs->v[i - 1];
        int r;
        if (!gt_pathfilter_match(&p->pf, cm)) {
            task_ctl_logf(p->c, "skipping commit \"%s\" on \"%s\" because didn't match path "
                          "filters", cm->sha, ref);
            continue;
        }
        r = emit(p, ref, cm);
        if (r < 0) {
            sfmt(p->c->err, sizeof(p->c->err), "Ref %s: failed to emit a trigger: %s", ref,
                     strerror(-r));
            return TASK_ERR_TRANSIENT;
        }
    }
    return 0;
}

static int transient(struct task_ctl *c, const char *ref, const char *what,
                     const struct client_error *e)
{
    sfmt(c->err, sizeof(c->err), "Ref %s: %s: %s", ref, what, e->message);
    return TASK_ERR_TRANSIENT;
}

/* The log old..new is not found: a force push, or a transient problem. */
static int investigate(struct gt_poll *p, const char *ref, const char *old, const char *new_,
                       struct gt_commits *out)
{
    struct gt_commits probe = {0};
    struct client_error e;
    char what[256];
    int r;

    task_ctl_logf(p->c, "Ref %s: log old..new is not found, investigating further...", ref);
    if (p->ops->fetch_log(p->src, new_, 1, false, out, &e) < 0) {
        sfmt(what, sizeof(what), "failed to fetch even log of just new rev %s", new_);
        return transient(p->c, ref, what, &e);
    }
    r = p->ops->fetch_log(p->src, old, 1, gt_pathfilter_active(&p->pf), &probe, &e);
    gt_commits_release(&probe);
    if (r < 0 && e.code == GRPC_NOT_FOUND) {
        task_ctl_logf(p->c, "Ref %s: force push detected; emitting trigger for new head", ref);
        return 0;
    }
    if (r < 0) {
        sfmt(what, sizeof(what), "failed to fetch log of just old rev %s", old);
        return transient(p->c, ref, what, &e);
    }
    sfmt(p->c->err, sizeof(p->c->err),
             "Ref %s: weirdly, log(%s) and log(%s) work, but not log(%s..%s)", ref, old, new_, old,
             new_);
    return TASK_ERR_TRANSIENT;
}

/* LUCI's newCommits: the commits to consider for ref moving from old (NULL: new ref). */
static int new_commits(struct gt_poll *p, const char *ref, const char *old, const char *new_,
                       struct gt_commits *out)
{
    bool td = gt_pathfilter_active(&p->pf);
    struct client_error e;
    char range[2 * GT_SHA_LEN + 3], what[256];

    if (!old) {
        if (p->ops->fetch_log(p->src, new_, 1, td, out, &e) == 0)
            return 0;
        if (e.code == GRPC_NOT_FOUND) {
            sfmt(p->c->err, sizeof(p->c->err), "Ref %s: log of first rev %s not found", ref,
                     new_);
            return TASK_ERR_TRANSIENT;
        }
        sfmt(what, sizeof(what), "failed to fetch log between old  and new %s revs", new_);
        return transient(p->c, ref, what, &e);
    }
    sfmt(range, sizeof(range), "%s..%s", old, new_);
    if (p->ops->fetch_log(p->src, range, GITILES_MAX_COMMITS_PER_REF, td, out, &e) == 0)
        return 0;
    gt_commits_release(out);
    if (e.code == GRPC_NOT_FOUND)
        return investigate(p, ref, old, new_, out);
    sfmt(what, sizeof(what), "failed to fetch log between old %s and new %s revs", old, new_);
    return transient(p->c, ref, what, &e);
}

/* A tag seen for the first time that the previous config did not watch. */
static bool tag_already_existed(const struct gt_poll *p, const char *ref)
{
    struct gt_refset prev = {0};
    bool watched = false;

    if (strncmp(ref, "refs/tags/", 10) != 0)
        return false;
    if (!p->st.has_refs)
        return true;
    if (gt_refset_new((const char *const *)p->st.refs, p->st.n_refs, &prev, NULL, 0) == 0)
        watched = gt_refset_watches(&prev, ref);
    gt_refset_release(&prev);
    return !watched;
}

/* One changed ref (spec 4.2.4 step 4); on success its known tip moves to new_. */
static int process_ref(struct gt_poll *p, const char *ref, const char *old, const char *new_)
{
    struct gt_commits cs = {0};
    int r = 0;

    if (!old && tag_already_existed(p, ref)) {
        task_ctl_logf(p->c, "Tag %s newly matched but already existed", ref);
    } else {
        if (old)
            task_ctl_logf(p->c, "Ref %s updated: %s => %s", ref, old, new_);
        else
            task_ctl_logf(p->c, "Ref %s is new: %s", ref, new_);
        r = new_commits(p, ref, old, new_, &cs);
        if (r == 0)
            r = emit_commits(p, ref, &cs);
    }
    gt_commits_release(&cs);
    if (r == 0 && gt_refs_set(&p->st.known, ref, new_) < 0)
        r = gt_poll_fatal(p->c, "too many known refs");
    if (r == 0)
        p->changes++;
    return r;
}

/* Step 4: the changed refs in order, until the trigger budget is spent. *left: not examined. */
static int process_refs(struct gt_poll *p, size_t *processed, size_t *left)
{
    size_t changed = 0, done = 0;
    bool stop = false;
    int r = 0;

    for (size_t i = 0; i < p->current.n; i++) {
        const struct gt_ref *cur = &p->current.v[i];
        const struct gt_ref *known = gt_refs_find(&p->st.known, cur->name);
        if (known && strcmp(known->sha, cur->sha) == 0)
            continue;
        changed++;
        if (stop)
            continue;
        r = process_ref(p, cur->name, known ? known->sha : NULL, cur->sha);
        if (r < 0) {
            stop = true;
            continue;
        }
        done++;
        if (p->emitted + GITILES_MAX_COMMITS_PER_REF > GITILES_MAX_TRIGGERS_PER_POLL) {
            task_ctl_logf(p->c, "Emitted %zu triggers, postponing the rest", p->emitted);
            stop = true;
        }
    }
    *processed = done;
    *left = changed - done;
    return r;
}

/* Steps 6 and 7: the outcome of a poll that made progress (or none). */
static int finish(struct gt_poll *p, size_t pruned, size_t processed, size_t left)
{
    struct gt_state next = {0};
    json_t *v = NULL;

    if (p->changes == 0) {
        task_ctl_logf(p->c, "No changes detected");
        p->c->status = INV_SUCCEEDED;
        if (!p->st.migrated) {
            p->c->job_state_unchanged = true; /* the engine need not compare it */
            return 0;
        }
        task_ctl_logf(p->c, "Rewriting the stored state in the compact form");
    } else if (left > 0) {
        task_ctl_logf(p->c, "%zu changed refs processed, %zu refs not yet examined",
                      pruned + processed, left);
    } else {
        task_ctl_logf(p->c, "All %zu changed refs processed", pruned + processed);
    }
    next.known = p->st.known;
    next.refs = p->refs;
    next.n_refs = p->n_refs;
    if (gt_state_to_json(&next, &p->repo, &v) < 0)
        return gt_poll_fatal(p->c, "out of memory");
    json_decref(p->c->job_state);
    p->c->job_state = v;
    task_ctl_logf(p->c, "Saved %zu known refs", p->st.known.n);
    p->c->status = INV_SUCCEEDED;
    return 0;
}

int gt_poll_run(struct gt_poll *p)
{
    struct client_error e;
    size_t pruned, processed = 0, left = 0;
    int r;

    r = resolve(p);
    if (r == 0)
        r = load_state(p);
    if (r < 0)
        return r;
    task_ctl_logf(p->c, "Fetched refs: %zu from datastore, %zu from %s", p->st.known.n,
                  p->current.n, p->source_name);
    r = check_missing(p);
    if (r < 0)
        return r;
    if (p->ops->prepare && p->ops->prepare(p->src, &p->current, &e) < 0)
        return call_failed(p->c, "failed to fetch", &e);
    prune(p);
    pruned = p->changes;
    r = process_refs(p, &processed, &left);
    if (r < 0 && p->changes == 0) {
        task_ctl_logf(p->c, "no progress made due to %s", p->c->err);
        return r;
    }
    if (r < 0) {
        task_ctl_logf(p->c, "ignoring error %s as transient", p->c->err);
        p->c->err[0] = '\0';
    }
    return finish(p, pruned, processed, left);
}

