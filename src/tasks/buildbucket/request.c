/*
 * request.c - what the buildbucket manager asks Buildbucket for: builder,
 * tags, properties, $recipe_engine/scheduler, the gitiles commit and
 * LUCI's reconciliation of v1-era tags and properties (spec 4.1.3), and
 * the v1 PUT body (spec 4.1.8).  Pure: see bb-internal.h.
 */
#include "tasks/buildbucket/bb-internal.h"

#include "config/gourl.h"
#include "tasks/gitiles/gitiles.h"
#include "tasks/taskjson.h"

/* A goquote() buffer for strings from tags and properties. */
#define QBUF 2048

const json_t *bb_task_body(const struct task_ctl *c)
{
    return taskjson_body(c->task, "buildbucket", NULL);
}

int bb_builder_id(const json_t *body, const char *realm_id, struct cfg_builder_id *ret,
                  char *err, size_t errlen)
{
    struct cfg_buildbucket_task t;
    char project[256];
    const char *realm = "@legacy";
    const char *colon = realm_id ? strchr(realm_id, ':') : NULL;

    memset(&t, 0, sizeof(t));
    t.server = taskjson_str(body, "server");
    t.bucket = taskjson_str(body, "bucket");
    t.builder = taskjson_str(body, "builder");
    if (colon) {
        snprintf(project, sizeof(project), "%.*s", (int)(colon - realm_id), realm_id);
        realm = colon + 1;
    } else {
        snprintf(project, sizeof(project), "%s", realm_id ? realm_id : "");
    }
    return cfg_builder_id(&t, project, realm, false, ret, err, errlen);
}

static int append_str(json_t *a, const char *s)
{
    return json_array_append_new(a, json_string(s)) < 0 ? -ENOMEM : 0;
}

static int append_fmt(json_t *a, const char *k, const char *v)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    int r = buf_printf(&b, "%s:%s", k, v);
    if (r == 0)
        r = append_str(a, b.data);
    buf_release(&b);
    return r;
}

/* Appends the strings of array src (other elements skipped). */
static int append_strings(json_t *a, const json_t *src)
{
    size_t i;
    const json_t *v;

    json_array_foreach(src, i, v) {
        if (json_is_string(v) && append_str(a, json_string_value(v)) < 0)
            return -ENOMEM;
    }
    return 0;
}

int bb_tags(const struct task_ctl *c, const char *app_id, const char *v1_builder, json_t **ret)
{
    char inv[32];
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    snprintf(inv, sizeof(inv), "%" PRId64, c->invocation_id);
    if (r == 0 && v1_builder)
        r = append_fmt(a, "builder", v1_builder);
    if (r == 0)
        r = append_fmt(a, "scheduler_invocation_id", inv);
    if (r == 0)
        r = append_fmt(a, "scheduler_job_id", c->job_id);
    if (r == 0)
        r = append_fmt(a, "user_agent", app_id);
    if (r == 0)
        r = append_strings(a, json_object_get(bb_task_body(c), "tags"));
    if (r == 0)
        r = append_strings(a, json_object_get(c->request, "tags"));
    if (r < 0) {
        json_decref(a);
        return r;
    }
    *ret = a;
    return 0;
}

int bb_properties(const struct task_ctl *c, json_t **ret)
{
    json_t *p = json_object();
    const json_t *cfg = json_object_get(bb_task_body(c), "properties");
    const json_t *req = json_object_get(c->request, "properties");
    size_t i;
    const json_t *v;
    int r = p ? 0 : -ENOMEM;

    json_array_foreach(cfg, i, v) {
        const char *kv = json_string_value(v);
        const char *colon = kv ? strchr(kv, ':') : NULL;
        if (r < 0 || !colon)
            continue; /* validation rejects such entries */
        char *key = strndup(kv, (size_t)(colon - kv));
        if (!key || json_object_set_new(p, key, json_string(colon + 1)) < 0)
            r = -ENOMEM;
        free(key);
    }
    if (r == 0 && json_is_object(req)) {
        json_t *copy = json_deep_copy(req);
        if (!copy || json_object_update(p, copy) < 0)
            r = -ENOMEM;
        json_decref(copy);
    }
    if (r < 0) {
        json_decref(p);
        return r;
    }
    *ret = p;
    return 0;
}

static const char *const payload_keys[] = {"cron", "webui", "noop", "gitiles", "buildbucket"};

int bb_public_trigger(const json_t *t, json_t **ret)
{
    const char *id = json_string_value(json_object_get(t, "id"));
    const char *fields[] = {"title", "url"};
    json_t *p;

    if (!id || !*id)
        return -EINVAL;
    if (!(p = json_object()) || json_object_set_new(p, "id", json_string(id)) < 0)
        goto nomem;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const char *s = json_string_value(json_object_get(t, fields[i]));
        if (s && *s && json_object_set_new(p, fields[i], json_string(s)) < 0)
            goto nomem;
    }
    for (size_t i = 0; i < ARRAY_SIZE(payload_keys); i++) {
        const json_t *body = json_object_get(t, payload_keys[i]);
        if (!json_is_object(body))
            continue;
        /* The public noop payload has no fields (spec 3.5). */
        json_t *copy = strcmp(payload_keys[i], "noop") == 0 ? json_object() : json_deep_copy(body);
        if (json_object_set_new(p, payload_keys[i], copy) < 0)
            goto nomem;
        break;
    }
    *ret = p;
    return 0;
nomem:
    json_decref(p);
    return -ENOMEM;
}

int bb_scheduler_property(struct task_ctl *c, const char *hostname, bool v1_style, json_t **ret)
{
    const json_t *ts = json_object_get(c->request, "incomingTriggers");
    size_t n = json_array_size(ts), start = 0;
    char inv[32];
    json_t *list = json_array(), *o = json_object();
    int r = list && o ? 0 : -ENOMEM;

    if (n > BUILDBUCKET_MAX_TRIGGERS_PROPERTY) {
        task_ctl_logf(c, "Capping %zu triggers passed to the build to just %d latest ones", n,
                      BUILDBUCKET_MAX_TRIGGERS_PROPERTY);
        start = n - BUILDBUCKET_MAX_TRIGGERS_PROPERTY;
    }
    for (size_t i = start; r == 0 && i < n; i++) {
        json_t *pub = NULL;
        int k = bb_public_trigger(json_array_get(ts, i), &pub);
        if (k == -ENOMEM || (k == 0 && json_array_append_new(list, pub) < 0))
            r = -ENOMEM;
    }
    snprintf(inv, sizeof(inv), "%" PRId64, c->invocation_id);
    if (r == 0 && json_object_set_new(o, "hostname", json_string(hostname)) < 0)
        r = -ENOMEM;
    if (r == 0 && !v1_style &&
        (json_object_set_new(o, "job", json_string(c->job_id)) < 0 ||
         json_object_set_new(o, "invocation", json_string(inv)) < 0))
        r = -ENOMEM;
    if (r == 0 && json_object_set(o, "triggers", list) < 0)
        r = -ENOMEM;
    json_decref(list);
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

int bb_normalize_repo(const char *url, char *host, size_t hostlen, char *project,
                      size_t projectlen, char *err, size_t errlen)
{
    char q[QBUF];
    const char *rest;

    if (has_prefix(url, "https://"))
        rest = url + 8;
    else if (has_prefix(url, "http://"))
        rest = url + 7;
    else {
        snprintf(err, errlen, "%s should start with https://", goquote(url, q, sizeof(q)));
        return -EINVAL;
    }
    if (strpbrk(rest, "?#")) {
        snprintf(err, errlen, "no query or fragment allowed in repo URL");
        return -EINVAL;
    }
    size_t hl = strcspn(rest, "/");
    const char *path = rest + hl;
    if (hl == 0) {
        snprintf(err, errlen, "repo URL has no host");
        return -EINVAL;
    }
    while (*path == '/')
        path++;
    if (has_prefix(path, "a/"))
        path += 2;
    size_t pl = strlen(path);
    while (pl > 0 && path[pl - 1] == '/')
        pl--;
    if (has_suffix(path, pl, ".git"))
        pl -= 4;
    if (pl == 0) {
        snprintf(err, errlen, "path to repo is empty");
        return -EINVAL;
    }
    if (hl >= hostlen || pl >= projectlen) {
        snprintf(err, errlen, "repo URL is too long");
        return -EINVAL;
    }
    snprintf(host, hostlen, "%.*s", (int)hl, rest);
    snprintf(project, projectlen, "%.*s", (int)pl, path);
    return 0;
}

/* {host, project, id, ref}, each only when not empty (protojson omits them). */
static json_t *commit_new(const char *host, const char *project, const char *id, const char *ref)
{
    const char *keys[] = {"host", "project", "id", "ref"};
    const char *vals[] = {host, project, id, ref};
    json_t *o = json_object();

    for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++) {
        if (vals[i] && *vals[i] && json_object_set_new(o, keys[i], json_string(vals[i])) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

int bb_commit_from_trigger(const json_t *t, json_t **ret, char *err, size_t errlen)
{
    const json_t *g = json_object_get(t, "gitiles");
    char host[512], project[1024], why[1024], q[QBUF];

    if (!json_is_object(g))
        return -ENOENT;
    const char *repo = taskjson_str(g, "repo");
    bool git = json_is_true(json_object_get(g, "git"));
    /* A git trigger: its remote's host if it has one (gitiles.h), else no commit. */
    if (git && bb_normalize_repo(repo, host, sizeof(host), project, sizeof(project), why,
                                 sizeof(why)) < 0 &&
        gitiles_git_remote_repo(repo, host, sizeof(host), project, sizeof(project)) < 0)
        return -ENOENT;
    if (!git && bb_normalize_repo(repo, host, sizeof(host), project, sizeof(project), why,
                                  sizeof(why)) < 0) {
        snprintf(err, errlen, "bad repo URL %s: %s", goquote(repo, q, sizeof(q)), why);
        return -EINVAL;
    }
    json_t *c = commit_new(host, project, taskjson_str(g, "revision"), taskjson_str(g, "ref"));
    if (!c)
        return -ENOMEM;
    *ret = c;
    return 0;
}

/* "x" -> "refs/heads/x" unless it starts with "refs/"; "" stays "". */
static void normalize_ref(const char *ref, char *out, size_t outlen)
{
    if (*ref && !has_prefix(ref, "refs/"))
        snprintf(out, outlen, "refs/heads/%s", ref);
    else
        snprintf(out, outlen, "%s", ref);
}

/*
 * ^commit/gitiles/([^/]+)/(.+?)/\+/([a-f0-9]+)$ : the host, the shortest
 * project followed by "/+/" and a hex revision running to the end.
 */
static json_t *parse_gitiles_buildset(const char *v)
{
    const char *p = "commit/gitiles/";

    if (!has_prefix(v, p))
        return NULL;
    const char *host = v + strlen(p);
    size_t hl = strcspn(host, "/");
    if (hl == 0 || host[hl] != '/')
        return NULL;
    const char *proj = host + hl + 1;
    for (const char *m = proj + 1; *proj && (m = strstr(m, "/+/")) != NULL; m++) {
        const char *rev = m + 3;
        size_t rl = strspn(rev, "0123456789abcdef");
        if (rl == 0 || rev[rl] != '\0')
            continue;
        char *h = strndup(host, hl), *pr = strndup(proj, (size_t)(m - proj));
        json_t *c = h && pr ? commit_new(h, pr, rev, NULL) : NULL;
        free(h);
        free(pr);
        return c;
    }
    return NULL;
}

/* The first pass of popCommitFromTags: the tags.  *ret_commit may stay NULL. */
static int pop_tags(struct task_ctl *c, json_t *tags, json_t **ret_commit)
{
    char ref[2048] = "", q[QBUF];
    json_t *kept = json_array(), *commit = NULL;
    size_t i;
    json_t *v;
    int r = kept ? 0 : -ENOMEM;

    json_array_foreach(tags, i, v) {
        const char *tag = json_string_value(v);
        if (r < 0 || !tag)
            continue;
        const char *colon = strchr(tag, ':');
        size_t kl = colon ? (size_t)(colon - tag) : strlen(tag);
        const char *val = colon ? colon + 1 : "";
        if (kl == 11 && memcmp(tag, "gitiles_ref", 11) == 0) {
            if (ref[0])
                task_ctl_logf(c, "Ignoring extra gitiles_ref %s", goquote(ref, q, sizeof(q)));
            normalize_ref(val, ref, sizeof(ref));
        } else if (kl == 8 && memcmp(tag, "buildset", 8) == 0) {
            if (commit) {
                task_ctl_logf(c, "Ignoring extra buildset tag %s", goquote(tag, q, sizeof(q)));
            } else if ((commit = parse_gitiles_buildset(val)) != NULL) {
                task_ctl_logf(c, "Popped buildset tag %s", goquote(tag, q, sizeof(q)));
            } else {
                task_ctl_logf(c, "Ignoring unrecognized buildset tag %s",
                              goquote(tag, q, sizeof(q)));
            }
        } else if (json_array_append(kept, v) < 0) {
            r = -ENOMEM;
        }
    }
    if (r == 0 && (json_array_clear(tags) < 0 || json_array_extend(tags, kept) < 0))
        r = -ENOMEM;
    if (r == 0 && commit && ref[0] && json_object_set_new(commit, "ref", json_string(ref)) < 0)
        r = -ENOMEM;
    if (r == 0 && !commit)
        c->ops->log(c, "Ignoring gitiles_ref tag without the buildset tag");
    json_decref(kept);
    if (r < 0) {
        json_decref(commit);
        return r;
    }
    *ret_commit = commit;
    return 0;
}

/* Removes props[key] and copies its string value (or "") into out. */
static void pop_prop(json_t *props, const char *key, char *out, size_t outlen)
{
    const char *s = json_string_value(json_object_get(props, key));
    snprintf(out, outlen, "%s", s ? s : "");
    json_object_del(props, key);
}

static void log_mismatch(struct task_ctl *c, const char *what, const char *prop, const char *tag)
{
    char q1[QBUF], q2[QBUF];
    if (strcmp(prop, tag) != 0)
        task_ctl_logf(c, "Git %s in properties %s doesn't match the one in tags %s", what,
                      goquote(prop, q1, sizeof(q1)), goquote(tag, q2, sizeof(q2)));
}

/* The second pass: the reserved properties, compared with the tags' commit. */
static void pop_props(struct task_ctl *c, json_t *props, const json_t *commit)
{
    static const char *const names[] = {"repository", "branch", "revision"};
    char vals[3][2048], raw_branch[2048], q1[QBUF], q2[QBUF];

    pop_prop(props, "repository", vals[0], sizeof(vals[0]));
    pop_prop(props, "branch", raw_branch, sizeof(raw_branch));
    normalize_ref(raw_branch, vals[1], sizeof(vals[1]));
    pop_prop(props, "revision", vals[2], sizeof(vals[2]));
    if (!commit) {
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
            if (vals[i][0])
                task_ctl_logf(c, "No buildset tag present, ignoring property %s: %s",
                              goquote(names[i], q1, sizeof(q1)),
                              goquote(vals[i], q2, sizeof(q2)));
        return;
    }
    const char *host = taskjson_str(commit, "host"), *project = taskjson_str(commit, "project");
    if (vals[0][0]) {
        char h[512], p[1024], why[512];
        if (bb_normalize_repo(vals[0], h, sizeof(h), p, sizeof(p), why, sizeof(why)) < 0) {
            task_ctl_logf(c, "Ignoring invalid property %s: %s",
                          goquote("repository", q1, sizeof(q1)),
                          goquote(vals[0], q2, sizeof(q2)));
        } else {
            log_mismatch(c, "host", h, host);
            log_mismatch(c, "project", p, project);
        }
    }
    if (vals[1][0])
        log_mismatch(c, "ref", vals[1], taskjson_str(commit, "ref"));
    if (vals[2][0])
        log_mismatch(c, "commit", vals[2], taskjson_str(commit, "id"));
}

int bb_pop_commit_from_tags(struct task_ctl *c, json_t *props, json_t *tags, json_t **ret)
{
    json_t *commit = NULL;
    int r = pop_tags(c, tags, &commit);

    if (r < 0)
        return r;
    pop_props(c, props, commit);
    *ret = commit;
    return 0;
}

static bool commit_equal(const json_t *a, const json_t *b)
{
    const char *keys[] = {"host", "project", "id", "ref"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strcmp(taskjson_str(a, keys[i]), taskjson_str(b, keys[i])) != 0)
            return false;
    const json_t *pa = json_object_get(a, "position"), *pb = json_object_get(b, "position");
    return (!pa && !pb) || (pa && pb && json_equal(pa, pb));
}

void bb_v2_parts_release(struct bb_v2_parts *p)
{
    json_decref(p->properties);
    json_decref(p->tags);
    json_decref(p->commit);
    memset(p, 0, sizeof(*p));
}

/* Step 5 and the end of step 6: which commit the build gets. */
static int pick_commit(struct task_ctl *c, struct bb_v2_parts *p)
{
    const json_t *ts = json_object_get(c->request, "incomingTriggers");
    size_t n = json_array_size(ts);
    json_t *from_trigger = NULL, *from_tags = NULL;
    char why[1024];
    int r = 0;

    if (n > 0) {
        r = bb_commit_from_trigger(json_array_get(ts, n - 1), &from_trigger, why, sizeof(why));
        if (r == -EINVAL)
            snprintf(c->err, sizeof(c->err), "failed to prepare gitiles_commit: %.400s", why);
        if (r == -ENOENT)
            r = 0;
        if (r < 0)
            return r;
    }
    if ((r = bb_pop_commit_from_tags(c, p->properties, p->tags, &from_tags)) < 0)
        goto out;
    if (!from_trigger && from_tags) {
        c->ops->log(c, "Reconstructed gitiles commit from tags");
    } else if (from_trigger && from_tags) {
        if (commit_equal(from_trigger, from_tags)) {
            c->ops->log(c, "Popped gitiles commit info from properties and tags");
        } else {
            c->ops->log(c, "crbug.com/1182002: Gitiles commit from triggers doesn't match the "
                           "one from tags");
            bb_log_json(c, "From triggers:", from_trigger, BB_JSON_PROTO);
            bb_log_json(c, "From properties:", from_tags, BB_JSON_PROTO);
            c->ops->log(c, "Using the one from tags");
        }
    }
    /* Tags win, as before Buildbucket v2. */
    if (from_tags) {
        p->commit = from_tags;
        from_tags = NULL;
    } else {
        p->commit = from_trigger;
        from_trigger = NULL;
    }
out:
    json_decref(from_trigger);
    json_decref(from_tags);
    return r;
}

int bb_v2_parts_build(struct task_ctl *c, const struct bb_env *env, struct bb_v2_parts *ret)
{
    struct bb_v2_parts p;
    const json_t *body = bb_task_body(c);
    char why[512];
    int r;

    memset(&p, 0, sizeof(p));
    if (!body) {
        snprintf(c->err, sizeof(c->err), "bad buildbucket task definition");
        return -EINVAL;
    }
    if (bb_builder_id(body, c->realm_id, &p.builder, why, sizeof(why)) < 0) {
        snprintf(c->err, sizeof(c->err), "unexpected bad bucket name in the task config: %.400s",
                 why);
        return -EINVAL;
    }
    if ((r = bb_tags(c, env->app_id, NULL, &p.tags)) < 0 ||
        (r = bb_properties(c, &p.properties)) < 0)
        goto out;
    /* crbug.com/981945, crbug.com/939368: not for chromium and chrome (as LUCI). */
    if (strcmp(p.builder.project, "chromium") != 0 && strcmp(p.builder.project, "chrome") != 0) {
        json_t *sched = NULL;
        if ((r = bb_scheduler_property(c, env->hostname, false, &sched)) < 0)
            goto out;
        if (json_object_set_new(p.properties, "$recipe_engine/scheduler", sched) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    if ((r = pick_commit(c, &p)) < 0)
        goto out;
    *ret = p;
    memset(&p, 0, sizeof(p));
out:
    bb_v2_parts_release(&p);
    return r;
}

/* [{key, value}] from "k:v" strings, split at the first ':' (value omitted when empty). */
static json_t *string_pairs(const json_t *tags)
{
    json_t *a = json_array();
    size_t i;
    const json_t *v;

    json_array_foreach(tags, i, v) {
        const char *tag = json_string_value(v);
        const char *colon = tag ? strchr(tag, ':') : NULL;
        json_t *pair = json_object();
        char *key = tag ? strndup(tag, colon ? (size_t)(colon - tag) : strlen(tag)) : NULL;
        bool ok = a && pair && key && json_object_set_new(pair, "key", json_string(key)) == 0 &&
                  (!colon || !colon[1] ||
                   json_object_set_new(pair, "value", json_string(colon + 1)) == 0);
        free(key);
        if (!ok || json_array_append_new(a, pair) < 0) {
            if (!ok)
                json_decref(pair);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int bb_v2_request(const struct bb_v2_parts *p, int64_t invocation_id, const char *topic,
                  json_t **ret)
{
    char id[32];
    json_t *req = json_object(), *builder = json_object(), *notify = json_object();
    json_t *pairs = string_pairs(p->tags);
    int r = -ENOMEM;

    snprintf(id, sizeof(id), "%" PRId64, invocation_id);
    if (!req || !builder || !notify || !pairs)
        goto out;
    if (json_object_set_new(builder, "project", json_string(p->builder.project)) < 0 ||
        json_object_set_new(builder, "bucket", json_string(p->builder.bucket)) < 0 ||
        json_object_set_new(builder, "builder", json_string(p->builder.builder)) < 0 ||
        json_object_set_new(notify, "pubsubTopic", json_string(topic)) < 0)
        goto out;
    if (json_object_set_new(req, "requestId", json_string(id)) < 0 ||
        json_object_set(req, "builder", builder) < 0 ||
        json_object_set(req, "properties", p->properties) < 0 ||
        (p->commit && json_object_set(req, "gitilesCommit", p->commit) < 0) ||
        json_object_set(req, "tags", pairs) < 0 || json_object_set(req, "notify", notify) < 0)
        goto out;
    *ret = req;
    req = NULL;
    r = 0;
out:
    json_decref(req);
    json_decref(builder);
    json_decref(notify);
    json_decref(pairs);
    return r;
}

/* parameters_json: {"builder_name", "properties"} as compact, sorted JSON. */
static int v1_parameters(const char *builder, json_t *props, char **ret)
{
    json_t *o = json_object();
    struct buf b;
    int r = -ENOMEM;

    buf_init(&b, LIMIT_HTTP_BODY_BYTES);
    if (o && json_object_set_new(o, "builder_name", json_string(builder)) == 0 &&
        json_object_set(o, "properties", props) == 0)
        r = bb_json_write(o, BB_JSON_GO_COMPACT, &b);
    json_decref(o);
    if (r == 0 && !(*ret = buf_detach(&b, NULL)))
        r = -ENOMEM;
    buf_release(&b);
    return r;
}

static json_t *v1_body(const char *bucket, int64_t inv, const char *params, const char *token,
                       const char *topic, json_t *tags)
{
    char id[32];
    json_t *o = json_object(), *cb = json_object();

    snprintf(id, sizeof(id), "%" PRId64, inv);
    if (!o || !cb || json_object_set_new(cb, "auth_token", json_string(token)) < 0 ||
        json_object_set_new(cb, "topic", json_string(topic)) < 0 ||
        json_object_set_new(o, "bucket", json_string(bucket)) < 0 ||
        json_object_set_new(o, "client_operation_id", json_string(id)) < 0 ||
        json_object_set_new(o, "parameters_json", json_string(params)) < 0 ||
        json_object_set(o, "pubsub_callback", cb) < 0 || json_object_set(o, "tags", tags) < 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(cb);
    return o;
}

int bb_v1_request(struct task_ctl *c, const struct bb_env *env, const char *topic,
                  const char *auth_token, json_t **ret)
{
    const json_t *body = bb_task_body(c);
    struct cfg_builder_id bid;
    char bucket[600], why[512];
    json_t *tags = NULL, *props = NULL;
    char *params = NULL;
    int r;

    if (!body) {
        snprintf(c->err, sizeof(c->err), "bad buildbucket task definition");
        return -EINVAL;
    }
    if (bb_builder_id(body, c->realm_id, &bid, why, sizeof(why)) < 0) {
        snprintf(c->err, sizeof(c->err), "unexpected bad bucket name in the task config: %.400s",
                 why);
        return -EINVAL;
    }
    /* The v1 API names buckets "luci.<project>.<bucket>". */
    if (bid.legacy_v1)
        snprintf(bucket, sizeof(bucket), "%s", taskjson_str(body, "bucket"));
    else
        snprintf(bucket, sizeof(bucket), "luci.%s.%s", bid.project, bid.bucket);
    if ((r = bb_tags(c, env->app_id, bid.builder, &tags)) < 0 ||
        (r = bb_properties(c, &props)) < 0)
        goto out;
    if (!has_prefix(bucket, "luci.chromium.") && !has_prefix(bucket, "luci.chrome.")) {
        json_t *sched = NULL;
        if ((r = bb_scheduler_property(c, env->hostname, true, &sched)) < 0)
            goto out;
        if (json_object_set_new(props, "$recipe_engine/scheduler", sched) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    if ((r = v1_parameters(bid.builder, props, &params)) < 0)
        goto out;
    json_t *o = v1_body(bucket, c->invocation_id, params, auth_token, topic, tags);
    if (!o) {
        r = -ENOMEM;
        goto out;
    }
    *ret = o;
out:
    free(params);
    json_decref(tags);
    json_decref(props);
    return r;
}
