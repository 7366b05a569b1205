/*
 * registry.c - task definitions from config jobs, and the manager table.
 */
#include "tasks/registry.h"

/* ---- task definitions -------------------------------------------------- */

/* Sets key to a JSON string of an int64 (protobuf JSON), unless it is 0. */
static int def_set_int64(json_t *o, const char *key, int64_t v)
{
    char text[24];

    if (v == 0)
        return 0;
    snprintf(text, sizeof(text), "%" PRId64, v);
    return json_object_set_new(o, key, json_string(text)) < 0 ? -ENOMEM : 0;
}

/* Sets key to a string unless it is "" (absent). */
static int def_set_str(json_t *o, const char *key, const char *v)
{
    if (!v || !*v)
        return 0;
    /* Config strings are UTF-8 checked by the reader; a bad one is dropped. */
    json_t *s = json_string(v);
    if (!s)
        return -EINVAL;
    return json_object_set_new(o, key, s) < 0 ? -ENOMEM : 0;
}

/* Sets key to an array of the list's strings unless the list is empty. */
static int def_set_list(json_t *o, const char *key, const struct cfg_strlist *l)
{
    json_t *a;

    if (l->n == 0)
        return 0;
    a = json_array();
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        json_t *s = json_string(l->v[i]);
        if (!s || json_array_append_new(a, s) < 0) {
            json_decref(a);
            return s ? -ENOMEM : -EINVAL;
        }
    }
    return json_object_set_new(o, key, a) < 0 ? -ENOMEM : 0;
}

int task_def_from_config(const struct cfg_job *j, json_t **ret)
{
    json_t *def = NULL, *body = NULL;
    const char *key = NULL;
    int r = 0;

    body = json_object();
    if (!body)
        return -ENOMEM;
    switch (j->task_kind) {
    case CFG_TASK_NOOP:
        key = "noop";
        if ((r = def_set_int64(body, "sleepMs", j->noop.sleep_ms)) < 0 ||
            (r = def_set_int64(body, "triggersCount", j->noop.triggers_count)) < 0)
            goto out;
        break;
    case CFG_TASK_URL_FETCH:
        key = "urlFetch";
        if ((r = def_set_str(body, "method", j->url_fetch.method)) < 0 ||
            (r = def_set_str(body, "url", j->url_fetch.url)) < 0)
            goto out;
        if (j->url_fetch.timeout_sec != 0 &&
            json_object_set_new(body, "timeoutSec",
                                json_integer(j->url_fetch.timeout_sec)) < 0) {
            r = -ENOMEM;
            goto out;
        }
        break;
    case CFG_TASK_BUILDBUCKET:
        key = "buildbucket";
        if ((r = def_set_str(body, "server", j->buildbucket.server)) < 0 ||
            (r = def_set_str(body, "bucket", j->buildbucket.bucket)) < 0 ||
            (r = def_set_str(body, "builder", j->buildbucket.builder)) < 0 ||
            (r = def_set_list(body, "properties", &j->buildbucket.properties)) < 0 ||
            (r = def_set_list(body, "tags", &j->buildbucket.tags)) < 0)
            goto out;
        break;
    case CFG_TASK_GITILES:
        key = "gitiles";
        if ((r = def_set_str(body, "repo", j->gitiles.repo)) < 0 ||
            (r = def_set_list(body, "refs", &j->gitiles.refs)) < 0 ||
            (r = def_set_list(body, "pathRegexps", &j->gitiles.path_regexps)) < 0 ||
            (r = def_set_list(body, "pathRegexpsExclude",
                              &j->gitiles.path_regexps_exclude)) < 0)
            goto out;
        break;
    case CFG_TASK_GIT:
        key = "git";
        if ((r = def_set_str(body, "url", j->git.repo)) < 0 ||
            (r = def_set_list(body, "refs", &j->git.refs)) < 0 ||
            (r = def_set_list(body, "pathRegexps", &j->git.path_regexps)) < 0 ||
            (r = def_set_list(body, "pathRegexpsExclude", &j->git.path_regexps_exclude)) < 0)
            goto out;
        break;
    default:
        r = -ENOENT;
        goto out;
    }
    def = json_object();
    if (!def) {
        r = -ENOMEM;
        goto out;
    }
    /* json_object_set_new takes the reference to body even when it fails. */
    r = json_object_set_new(def, key, body) < 0 ? -ENOMEM : 0;
    body = NULL;
    if (r < 0)
        goto out;
    *ret = def;
    def = NULL;
out:
    json_decref(body);
    json_decref(def);
    return r;
}

static const struct {
    const char *key;
    const char *name;
} def_kinds[] = {
    {"noop", "noop"},
    {"urlFetch", "url_fetch"},
    {"url_fetch", "url_fetch"},
    {"buildbucket", "buildbucket"},
    {"gitiles", "gitiles"},
    {"git", "git"},
};

const char *task_def_kind(const json_t *def)
{
    const char *key;
    json_t *v;

    if (!json_is_object(def) || json_object_size(def) != 1)
        return NULL;
    json_object_foreach((json_t *)def, key, v) {
        if (!json_is_object(v))
            return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(def_kinds); i++)
            if (strcmp(key, def_kinds[i].key) == 0)
                return def_kinds[i].name;
    }
    return NULL;
}

/* ---- the registry ------------------------------------------------------- */

struct task_registry {
    const struct task_manager *managers[LIMIT_TASK_MANAGERS];
    size_t n;
    /* Owned copies made by task_registry_default(), and their settings. */
    struct task_manager own[2];
    struct task_options opts;
};

struct task_registry *task_registry_new(void)
{
    return calloc(1, sizeof(struct task_registry));
}

struct task_registry *task_registry_free(struct task_registry *r)
{
    free(r);
    return NULL;
}

int task_registry_add(struct task_registry *r, const struct task_manager *m)
{
    if (!m || !m->name || !*m->name || !m->launch)
        return -EINVAL;
    if (task_registry_find(r, m->name))
        return -EEXIST;
    if (r->n >= LIMIT_TASK_MANAGERS)
        return -E2BIG;
    r->managers[r->n++] = m;
    return 0;
}

const struct task_manager *task_registry_find(const struct task_registry *r, const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->managers[i]->name, name) == 0)
            return r->managers[i];
    return NULL;
}

const struct task_manager *task_registry_find_for_def(const struct task_registry *r,
                                                      const json_t *def)
{
    return task_registry_find(r, task_def_kind(def));
}

int task_registry_default(const struct task_options *opts, struct task_registry **ret)
{
    struct task_registry *r = task_registry_new();
    int err;

    if (!r)
        return -ENOMEM;
    if (opts)
        r->opts = *opts;
    r->own[0] = task_noop_manager;
    r->own[0].ctx = &r->opts;
    r->own[1] = task_url_fetch_manager;
    r->own[1].ctx = &r->opts;
    if ((err = task_registry_add(r, &r->own[0])) < 0 ||
        (err = task_registry_add(r, &r->own[1])) < 0) {
        task_registry_free(r);
        return err;
    }
    *ret = r;
    return 0;
}
