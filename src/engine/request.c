#include "engine/request.h"

#include "base/text.h"
#include "config/gourl.h"
#include "engine/trigger.h"
#include "tasks/gitiles/gitiles.h"

#include <stdarg.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

int request_gitiles_repo(const char *url, char *ret_host, size_t hostlen, char *ret_project,
                         size_t projectlen, char *err, size_t errlen)
{
    /* tock's leniency: any host (LUCI accepts only *.googlesource.com). */
    return gourl_gitiles_repo(url, true, ret_host, hostlen, ret_project, projectlen, err, errlen);
}

static int logf_(struct buf *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int logf_(struct buf *log, const char *fmt, ...)
{
    if (!log)
        return 0;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int r = buf_puts(log, msg);
    if (r == 0)
        r = buf_putc(log, '\n');
    return r;
}

/* Appends s to the array unless an equal string is already there. */
static int append_unique(json_t *tags, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v) {
        if (strcmp(json_string_value(v), s) == 0)
            return 0;
    }
    if (json_array_size(tags) >= REQUEST_MAX_TAGS)
        return -E2BIG;
    return json_array_append_new(tags, json_string(s)) < 0 ? -ENOMEM : 0;
}

/* Properties and tags of a gitiles trigger (spec 3.10). */
static int from_gitiles(const json_t *body, enum request_era era, json_t *req, struct buf *log)
{
    const char *repo = json_string_value(json_object_get(body, "repo"));
    const char *ref = json_string_value(json_object_get(body, "ref"));
    const char *rev = json_string_value(json_object_get(body, "revision"));
    char host[REQUEST_GITILES_HOST_MAX], project[REQUEST_GITILES_PROJECT_MAX], why[512];
    char q[2 * 4096];
    int r;

    if (!repo)
        repo = "";
    if (!ref)
        ref = "";
    if (!rev)
        rev = "";
    /*
     * A git trigger (tock's git poller, "git": true) may name any remote:
     * it still gives the properties, and the gitiles tags only when its
     * URL has a host.
     */
    bool git = json_is_true(json_object_get(body, "git"));
    bool gitiles = request_gitiles_repo(repo, host, sizeof(host), project, sizeof(project), why,
                                        sizeof(why)) == 0;
    /*
     * A git remote with a host (ssh://, git://, http://, scp-like) is named
     * as Gitiles names it, so a buildbucket job gets a gitilesCommit;
     * file:// and local paths have no host: properties only.
     */
    if (!gitiles && git)
        gitiles = gitiles_git_remote_repo(repo, host, sizeof(host), project, sizeof(project)) == 0;
    if (!gitiles && !git)
        return logf_(log, "Bad repo URL %s in the trigger - %s", goquote(repo, q, sizeof(q)),
                     why);

    json_t *props = NULL, *tags = json_array();
    const json_t *given = json_object_get(body, "properties");
    if (json_is_object(given) && json_object_size(given) > 0)
        props = json_deep_copy(given);
    else
        props = json_object();
    r = -ENOMEM;
    if (!props || !tags)
        goto out;
    if (json_object_set_new(props, "revision", json_string(rev)) < 0 ||
        json_object_set_new(props, "branch", json_string(ref)) < 0 ||
        json_object_set_new(props, "repository", json_string(repo)) < 0)
        goto out;

    struct buf tag;
    buf_init(&tag, 3 * 4096 + REQUEST_GITILES_HOST_MAX + REQUEST_GITILES_PROJECT_MAX);
    r = era == REQUEST_V1_ERA ? buf_printf(&tag, "buildset:commit/git/%s", rev) : 0;
    if (r == 0 && era == REQUEST_V1_ERA)
        r = append_unique(tags, tag.data);
    buf_reset(&tag);
    if (r == 0 && gitiles)
        r = buf_printf(&tag, "buildset:commit/gitiles/%s/%s/+/%s", host, project, rev);
    if (r == 0 && gitiles)
        r = append_unique(tags, tag.data);
    buf_reset(&tag);
    if (r == 0 && gitiles)
        r = buf_printf(&tag, "gitiles_ref:%s", ref);
    if (r == 0 && gitiles)
        r = append_unique(tags, tag.data);
    buf_release(&tag);
    if (r < 0)
        goto out;

    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "tags"), i, v) {
        if (!json_is_string(v))
            continue;
        r = append_unique(tags, json_string_value(v));
        if (r < 0)
            goto out;
    }

    r = -ENOMEM;
    if (json_object_set(req, "properties", props) < 0 || json_object_set(req, "tags", tags) < 0)
        goto out;
    r = 0;
out:
    json_decref(props);
    json_decref(tags);
    return r;
}

/* Properties and tags of a buildbucket trigger: verbatim. */
static int from_buildbucket(const json_t *body, json_t *req)
{
    const json_t *props = json_object_get(body, "properties");
    const json_t *tags = json_object_get(body, "tags");
    if (json_is_object(props) && json_object_set_new(req, "properties", json_deep_copy(props)) < 0)
        return -ENOMEM;
    if (json_is_array(tags) && json_object_set_new(req, "tags", json_deep_copy(tags)) < 0)
        return -ENOMEM;
    return 0;
}

static int from_noop(const json_t *body, json_t *req)
{
    const char *data = json_string_value(json_object_get(body, "data"));
    json_t *props = json_pack("{s:s}", "noop_trigger_data", data ? data : "");
    if (!props || json_object_set_new(req, "properties", props) < 0)
        return -ENOMEM;
    return 0;
}

enum request_era request_era_of_task(const json_t *task)
{
    const char *bucket =
        json_string_value(json_object_get(json_object_get(task, "buildbucket"), "bucket"));

    return bucket && strncmp(bucket, "luci.", 5) == 0 ? REQUEST_V1_ERA : REQUEST_CURRENT;
}

int request_build(const struct trigger *const *batch, size_t n, const char *triggered_by,
                  enum request_era era, json_t **ret_request, struct buf *debug_log)
{
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!batch[i])
            return -EINVAL;
    }

    int r = -ENOMEM;
    json_t *req = json_object();
    json_t *incoming = json_array();
    if (!req || !incoming)
        goto out;
    if (triggered_by && triggered_by[0] &&
        json_object_set_new(req, "triggeredBy", json_string(triggered_by)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *o = NULL;
        r = trigger_to_json(batch[i], &o);
        if (r < 0)
            goto out;
        r = -ENOMEM;
        if (json_array_append_new(incoming, o) < 0)
            goto out;
    }
    if (json_object_set(req, "incomingTriggers", incoming) < 0)
        goto out;

    const struct trigger *newest = batch[n - 1];
    switch (newest->kind) {
    case TRIGGER_PAYLOAD_CRON:
    case TRIGGER_PAYLOAD_WEBUI:
        r = 0;
        break;
    case TRIGGER_PAYLOAD_NOOP:
        r = from_noop(newest->payload, req);
        break;
    case TRIGGER_PAYLOAD_GITILES:
        r = from_gitiles(newest->payload, era, req, debug_log);
        break;
    case TRIGGER_PAYLOAD_BUILDBUCKET:
        r = from_buildbucket(newest->payload, req);
        break;
    case TRIGGER_PAYLOAD_NONE:
    case TRIGGER_PAYLOAD_UNKNOWN:
    default:
        /* Go prints the payload's %T: <nil> when there is none. */
        r = logf_(debug_log, "Unrecognized trigger payload of type %s, ignoring",
                  newest->kind == TRIGGER_PAYLOAD_NONE ? "<nil>" : "<unknown>");
        break;
    }
    if (r < 0)
        goto out;
    *ret_request = req;
    req = NULL;
out:
    json_decref(incoming);
    json_decref(req);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int request_tags_sorted(const json_t *tags, json_t **ret, char *err, size_t errlen)
{
    size_t n = json_array_size(tags);
    if (n > REQUEST_MAX_TAGS)
        return fail(err, errlen, "rejecting bad tags: too many tags");
    const char **v = calloc(n ? n : 1, sizeof(*v));
    json_t *out = json_array();
    int r = -ENOMEM;
    if (!v || !out)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(tags, i));
        if (!s || !strchr(s, ':')) {
            char q[1024];
            if (errlen)
                snprintf(err, errlen, "rejecting bad tags: bad tag, not a 'key:value' pair: %s",
                         goquote(s ? s : "", q, sizeof(q)));
            r = -EINVAL;
            goto out;
        }
        v[i] = s;
    }
    sort_array(v, n, sizeof(*v), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(out, json_string(v[i])) < 0)
            goto out;
    }
    *ret = out;
    out = NULL;
    r = 0;
out:
    free(v);
    json_decref(out);
    return r;
}
