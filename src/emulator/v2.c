/*
 * v2.c - buildbucket.v2.Builds over pRPC (§2.4-2.9): ScheduleBuild,
 * GetBuild, CancelBuild, SearchBuilds, Batch, GetBuildStatus.
 *
 * Each handler checks the request (INVALID_ARGUMENT as Buildbucket's
 * validation), then takes e->lock for the build table.  Handlers return
 * the gRPC code (GRPC_OK with call->response set, or prpc_fail's code).
 */
#include "base/compat.h"

#include "base/base64.h"
#include "base/time.h"
#include "emu-internal.h"

#define FAILED(call) ((call)->code ? (call)->code : GRPC_INVALID_ARGUMENT)

/* Base64 (emulator.c). */

static int check_auth(struct emulator *e, struct prpc_call *call)
{
    const char *a = call->http ? http_request_header(call->http, "Authorization") : NULL;
    if (e->o.require_auth && (!a || strncmp(a, "Bearer ", 7) != 0 || !a[7]))
        return prpc_fail(call, GRPC_UNAUTHENTICATED, "failed to get the caller's identity: "
                         "no Authorization: Bearer token");
    return GRPC_OK;
}

static int not_found(struct emulator *e, struct prpc_call *call, const char *project)
{
    char who[300];
    emu_identity(e, project, who, sizeof(who));
    return prpc_fail(call, GRPC_NOT_FOUND,
                     "requested resource not found or \"%s\" does not have permission to view it",
                     who);
}

/* Parses a BuilderID; required fields checked by the rules of §2.2. */
static int get_builder_id(struct prpc_call *call, const json_t *b, const char **p,
                          const char **bk, const char **bd, bool need_builder)
{
    *p = *bk = *bd = "";
    if (prpc_get_string(call, b, "project", NULL, p) < 0 ||
        prpc_get_string(call, b, "bucket", NULL, bk) < 0 ||
        prpc_get_string(call, b, "builder", NULL, bd) < 0)
        return FAILED(call);
    if (!emu_project_name_ok(*p))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "builder: project: must match "
                         "^[a-z0-9\\-_]+$");
    if (!emu_bucket_name_ok(*bk))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "builder: bucket: must match "
                         "^[a-z0-9\\-_.]{1,100}$");
    if ((need_builder || **bd) && !emu_builder_name_ok(*bd))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "builder: builder: must match "
                         "^[a-zA-Z0-9\\-_.\\(\\) ]{1,128}$");
    return GRPC_OK;
}

static bool is_hex40(const char *s, size_t n)
{
    if (n != 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ^commit/gitiles/([^/]+)/(.+?)/\+/([a-f0-9]{40})$ */
static bool gitiles_buildset_ok(const char *v)
{
    const char *host = v + strlen("commit/gitiles/"), *slash = strchr(host, '/');
    size_t n = strlen(v);
    if (!slash || slash == host || n < 44)
        return false;
    const char *tail = v + n - 44; /* "/+/" + 40 hex */
    return strncmp(tail, "/+/", 3) == 0 && is_hex40(tail + 3, 40) && tail > slash + 1;
}

static int check_tags(struct prpc_call *call, const json_t *tags, const char *builder)
{
    size_t i;
    const json_t *t;

    json_array_foreach(tags, i, t) {
        const char *k = "", *v = "";
        if (!json_is_object(t) || prpc_get_string(call, t, "key", NULL, &k) < 0 ||
            prpc_get_string(call, t, "value", NULL, &v) < 0)
            return call->code ? call->code
                              : prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: not a StringPair");
        size_t vn = strlen(v);
        if (!*k || strchr(k, ':'))
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: invalid tag \"%s:%s\": key "
                             "must be non-empty and must not have ':'", k, v);
        if (strcmp(k, "build_address") == 0)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: tag \"build_address\" is "
                             "reserved");
        if (vn && (v[0] == ' ' || v[vn - 1] == ' '))
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: tag \"%s\": value has leading "
                             "or trailing spaces", k);
        if (strcmp(k, "buildset") == 0 && strncmp(v, "commit/gitiles/", 15) == 0 &&
            !gitiles_buildset_ok(v))
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: buildset tag \"%s\" does not "
                             "match regex \"^commit/gitiles/([^/]+)/(.+?)/\\+/([a-f0-9]{40})$\"",
                             v);
        if (strcmp(k, "builder") == 0 && strcmp(v, builder) != 0)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "tags: tag \"builder:%s\" conflicts "
                             "with the builder name \"%s\"", v, builder);
    }
    return GRPC_OK;
}

static int check_gitiles(struct prpc_call *call, const json_t *gc)
{
    const char *host = "", *project = "", *id = "", *ref = "";
    int32_t pos = 0;

    if (prpc_get_string(call, gc, "host", NULL, &host) < 0 ||
        prpc_get_string(call, gc, "project", NULL, &project) < 0 ||
        prpc_get_string(call, gc, "id", NULL, &id) < 0 ||
        prpc_get_string(call, gc, "ref", NULL, &ref) < 0 ||
        prpc_get_int32(call, gc, "position", NULL, &pos) < 0)
        return FAILED(call);
    if (!*host)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: host is required");
    if (!*project)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: project is required");
    if (*id && !is_hex40(id, strlen(id)))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: id: does not match "
                         "\"^[0-9a-f]{40}$\"");
    if (!*ref && !*id)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: one of id or ref is "
                         "required");
    if (*ref && strncmp(ref, "refs/", 5) != 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: ref: must start with "
                         "\"refs/\"");
    if (pos && !*ref)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "gitiles_commit: position requires ref");
    return GRPC_OK;
}

static int check_properties(struct prpc_call *call, const json_t *props)
{
    static const char *const reserved[] = {
        "$recipe_engine/buildbucket", "buildbucket", "buildername", "branch", "repository",
    };
    const json_t *rt;

    if (!json_is_object(props))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "properties: must be a JSON object");
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
        if (json_object_get(props, reserved[i]))
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "properties: property \"%s\" is "
                             "reserved", reserved[i]);
    rt = json_object_get(props, "$recipe_engine/runtime");
    if (json_is_object(rt) && (json_object_get(rt, "is_experimental") ||
                               json_object_get(rt, "is_luci")))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "properties: "
                         "$recipe_engine/runtime.is_experimental and .is_luci are reserved");
    return GRPC_OK;
}

static int check_notify(struct prpc_call *call, const json_t *notify, const char **topic,
                        const char **user_data)
{
    unsigned char raw[4097];
    ssize_t n;

    if (prpc_get_string(call, notify, "pubsubTopic", "pubsub_topic", topic) < 0 ||
        prpc_get_string(call, notify, "userData", "user_data", user_data) < 0)
        return FAILED(call);
    if (!**topic)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "notify: pubsub_topic is required");
    n = base64_decode(BASE64_ANY, *user_data, strlen(*user_data), raw, sizeof(raw));
    if (n == -ENOBUFS)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "notify: user_data: must be <= 4096 bytes");
    if (n < 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "notify: user_data: not base64");
    if (n > 4096)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "notify: user_data: must be <= 4096 bytes");
    return GRPC_OK;
}

/* The parsed, validated parts of a ScheduleBuild request. */
struct sched_req {
    const char *request_id, *project, *bucket, *builder, *topic, *user_data;
    const json_t *props, *gitiles, *gerrit, *tags, *notify;
    bool dry_run, experimental;
    int32_t priority;
    int critical;
};

static int sched_parse(struct prpc_call *call, const json_t *r, struct sched_req *s)
{
    const json_t *builder = NULL, *crit;
    int64_t template_id = 0;
    int code;

    memset(s, 0, sizeof(*s));
    s->request_id = s->topic = s->user_data = "";
    if (prpc_get_string(call, r, "requestId", "request_id", &s->request_id) < 0 ||
        prpc_get_object(call, r, "builder", NULL, &builder) < 0 ||
        prpc_get_int64(call, r, "templateBuildId", "template_build_id", &template_id) < 0 ||
        prpc_get_object(call, r, "properties", NULL, &s->props) < 0 ||
        prpc_get_object(call, r, "gitilesCommit", "gitiles_commit", &s->gitiles) < 0 ||
        prpc_get_array(call, r, "gerritChanges", "gerrit_changes", &s->gerrit) < 0 ||
        prpc_get_array(call, r, "tags", NULL, &s->tags) < 0 ||
        prpc_get_object(call, r, "notify", NULL, &s->notify) < 0 ||
        prpc_get_bool(call, r, "dryRun", "dry_run", &s->dry_run) < 0 ||
        prpc_get_bool(call, r, "experimental", NULL, &s->experimental) < 0 ||
        prpc_get_int32(call, r, "priority", NULL, &s->priority) < 0)
        return FAILED(call);
    if (!builder && template_id)
        return prpc_fail(call, GRPC_UNIMPLEMENTED, "the emulator does not support "
                         "template_build_id");
    if (!builder)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "builder or template_build_id is required");
    if (strchr(s->request_id, '/'))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "request_id: must not contain /");
    if (strncmp(s->request_id, "__bb__:", 7) == 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "request_id: must not start with "
                         "\"__bb__:\"");
    if ((code = get_builder_id(call, builder, &s->project, &s->bucket, &s->builder, true)))
        return code;
    if (s->gitiles && (code = check_gitiles(call, s->gitiles)))
        return code;
    if (s->props && (code = check_properties(call, s->props)))
        return code;
    if (s->tags && (code = check_tags(call, s->tags, s->builder)))
        return code;
    if (s->notify && (code = check_notify(call, s->notify, &s->topic, &s->user_data)))
        return code;
    if (s->priority < 0 || s->priority > 255)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "priority: must be in [0, 255]");
    crit = json_object_get(r, "critical");
    if (json_is_string(crit))
        s->critical = strcmp(json_string_value(crit), "YES") == 0 ? 1
                      : strcmp(json_string_value(crit), "NO") == 0 ? 2 : 0;
    else if (json_is_integer(crit))
        s->critical = (int)json_integer_value(crit) & 3;
    return GRPC_OK;
}

static void add_tag(json_t *tags, const char *k, const char *v)
{
    json_array_append_new(tags, json_pack("{s:s,s:s}", "key", k, "value", v));
}

static int tag_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "key")),
                   json_string_value(json_object_get(y, "key")));
    return c ? c : strcmp(json_string_value(json_object_get(x, "value")),
                          json_string_value(json_object_get(y, "value")));
}

/* Request tags + the server's (builder, buildset, gitiles_ref), sorted. */
json_t *emu_build_tags(const json_t *req_tags, const char *builder, const json_t *gitiles);
json_t *emu_build_tags(const json_t *req_tags, const char *builder, const json_t *gitiles)
{
    json_t *tags = json_array(), *sorted;
    json_t *items[4096];
    size_t i, n = 0;
    const json_t *t;
    bool have_builder = false;

    json_array_foreach(req_tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        have_builder |= k && strcmp(k, "builder") == 0;
        add_tag(tags, k ? k : "", v ? v : "");
    }
    if (!have_builder)
        add_tag(tags, "builder", builder);
    const char *host = json_string_value(json_object_get(gitiles, "host"));
    const char *proj = json_string_value(json_object_get(gitiles, "project"));
    const char *id = json_string_value(json_object_get(gitiles, "id"));
    const char *ref = json_string_value(json_object_get(gitiles, "ref"));
    if (host && proj && id && *host && *proj && *id) {
        struct buf bs;
        buf_init(&bs, 4096);
        if (buf_printf(&bs, "commit/gitiles/%s/%s/+/%s", host, proj, id) == 0)
            add_tag(tags, "buildset", bs.data);
        buf_release(&bs);
    }
    if (ref && *ref)
        add_tag(tags, "gitiles_ref", ref);
    json_array_foreach(tags, i, t) {
        if (n < ARRAY_SIZE(items))
            items[n++] = (json_t *)t;
    }
    sort_array(items, n, sizeof(items[0]), tag_cmp);
    sorted = json_array();
    for (i = 0; i < n; i++)
        json_array_append(sorted, items[i]);
    json_decref(tags);
    return sorted;
}

static json_t *build_input(const struct sched_req *s)
{
    json_t *in = json_object();
    json_object_set_new(in, "properties", s->props ? json_deep_copy(s->props) : json_object());
    if (s->gitiles)
        json_object_set_new(in, "gitilesCommit", json_deep_copy(s->gitiles));
    if (s->gerrit && json_array_size(s->gerrit))
        json_object_set_new(in, "gerritChanges", json_deep_copy(s->gerrit));
    if (s->experimental)
        json_object_set_new(in, "experimental", json_true());
    return in;
}

/* Fills a new build from a v2 request.  Lock held. */
static void sched_fill(struct emulator *e, struct emu_build *b, struct emu_builder *bld,
                       const struct sched_req *s)
{
    b->bld = bld;
    snprintf(b->project, sizeof(b->project), "%s", s->project);
    snprintf(b->bucket, sizeof(b->bucket), "%s", s->bucket);
    snprintf(b->builder, sizeof(b->builder), "%s", s->builder);
    emu_identity(e, s->project, b->created_by, sizeof(b->created_by));
    if (bld->build_numbers)
        b->number = bld->next_number++;
    b->input = build_input(s);
    b->tags = emu_build_tags(s->tags, s->builder, s->gitiles);
    b->priority = s->priority;
    b->critical = s->critical;
    if (s->notify) {
        b->topic = strdup(s->topic);
        b->user_data = strdup(s->user_data);
    }
}

static json_t *render_masked(struct emulator *e, const struct emu_build *b,
                             const struct emu_mask *m)
{
    json_t *full = emu_render_v2(b, e->hostname), *out;
    if (!full)
        return NULL;
    out = emu_mask_apply(full, m);
    json_decref(full);
    return out;
}

/* Under the lock: dedup, scripted faults, creation.  Returns the code. */
static int sched_locked(struct emulator *e, struct prpc_call *call, const struct sched_req *s,
                        const struct emu_mask *m)
{
    struct emu_builder *bld = emu_builder_find(e, s->project, s->bucket, s->builder);
    struct emu_build *b = NULL;
    char key[1024], who[300];
    int err = 0;

    if (!bld)
        return prpc_fail(call, GRPC_NOT_FOUND, "builder not found: \"%s/%s/%s\"", s->project,
                         s->bucket, s->builder);
    if (bld->schedule_fail)
        return prpc_fail(call, bld->schedule_fail, "scheduling refused by the builders file "
                         "(schedule_fail %s)", grpc_code_name(bld->schedule_fail));
    size_t nth = bld->schedule_calls++;
    emu_identity(e, s->project, who, sizeof(who));
    snprintf(key, sizeof(key), "%s:%s", who, s->request_id);
    if (*s->request_id)
        b = emu_build_find_key(e, key);
    if (b) {
        emu_event(e, "build %" PRId64 " %s/%s/%s: ScheduleBuild requestId %s: deduplicated",
                  b->id, b->project, b->bucket, b->builder, s->request_id);
    } else if (s->dry_run) {
        struct emu_build tmp = {.status = EMU_SCHEDULED};
        tmp.create_ns = tmp.update_ns = clock_now(e->clock);
        sched_fill(e, &tmp, bld, s);
        call->response = render_masked(e, &tmp, m);
        json_decref(tmp.input);
        json_decref(tmp.tags);
        free(tmp.topic);
        free(tmp.user_data);
        return GRPC_OK;
    } else {
        b = emu_build_new(e, &err);
        if (!b)
            return prpc_fail(call, GRPC_RESOURCE_EXHAUSTED, "the emulator keeps at most %zu "
                             "builds and all of them are running", e->o.max_builds);
        sched_fill(e, b, bld, s);
        if (*s->request_id)
            emu_build_set_key(e, b, key);
        emu_build_created(e, b, "v2 ScheduleBuild");
    }
    if (nth < bld->n_schedule_errors)
        return prpc_fail(call, bld->schedule_errors[nth], "scripted schedule_errors[%zu]: %s",
                         nth, grpc_code_name(bld->schedule_errors[nth]));
    call->response = render_masked(e, b, m);
    return call->response ? GRPC_OK : prpc_fail(call, GRPC_INTERNAL, "out of memory");
}

static int schedule_build(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    struct sched_req s;
    struct emu_mask m;
    int code;

    if ((code = check_auth(e, call)) || (code = sched_parse(call, call->request, &s)))
        return code;
    if (emu_mask_parse(call, call->request, false, &m) < 0)
        return FAILED(call);
    pthread_mutex_lock(&e->lock);
    emu_stats_count(e, EMU_STAT_SCHEDULE, NULL);
    code = sched_locked(e, call, &s, &m);
    pthread_mutex_unlock(&e->lock);
    emu_hold_schedule_answer(e, emu_builder_find(e, s.project, s.bucket, s.builder));
    emu_mask_release(&m);
    return code;
}

/* Finds the build of a GetBuild-shaped request (id, or builder + number). */
static int find_build(struct emulator *e, struct prpc_call *call, struct emu_build **ret)
{
    const json_t *builder = NULL;
    int64_t id = 0;
    int32_t number = 0;
    const char *p = "", *bk = "", *bd = "";
    int code;

    if (prpc_get_int64(call, call->request, "id", NULL, &id) < 0 ||
        prpc_get_object(call, call->request, "builder", NULL, &builder) < 0 ||
        prpc_get_int32(call, call->request, "buildNumber", "build_number", &number) < 0)
        return FAILED(call);
    if ((id != 0) == (builder != NULL && number != 0))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "one of id or (builder and build_number) "
                         "is required");
    if (builder && (code = get_builder_id(call, builder, &p, &bk, &bd, true)))
        return code;
    *ret = NULL;
    if (id) {
        *ret = emu_build_find(e, id);
    } else {
        for (struct emu_build *b = e->newest; b && !*ret; b = b->older)
            if (b->number == number && strcmp(b->project, p) == 0 &&
                strcmp(b->bucket, bk) == 0 && strcmp(b->builder, bd) == 0)
                *ret = b;
    }
    return *ret ? GRPC_OK : not_found(e, call, builder ? p : NULL);
}

static int get_build(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    struct emu_build *b;
    struct emu_mask m;
    int code;

    if ((code = check_auth(e, call)))
        return code;
    if (emu_mask_parse(call, call->request, false, &m) < 0)
        return FAILED(call);
    pthread_mutex_lock(&e->lock);
    code = find_build(e, call, &b);
    if (code == GRPC_OK)
        emu_stats_count(e, EMU_STAT_GET, b);
    if (code == GRPC_OK && b->bld && b->bld->get_calls < b->bld->n_get_errors) {
        size_t nth = b->bld->get_calls++;
        code = prpc_fail(call, b->bld->get_errors[nth], "scripted get_errors[%zu]: %s", nth,
                         grpc_code_name(b->bld->get_errors[nth]));
    } else if (code == GRPC_OK) {
        if (b->bld)
            b->bld->get_calls++;
        call->response = render_masked(e, b, &m);
    }
    pthread_mutex_unlock(&e->lock);
    emu_mask_release(&m);
    return code;
}

static int get_build_status(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    struct emu_build *b;
    struct emu_mask m = {.n = 4};
    int code;

    if ((code = check_auth(e, call)))
        return code;
    m.paths[0] = "id";
    m.paths[1] = "builder";
    m.paths[2] = "number";
    m.paths[3] = "status";
    pthread_mutex_lock(&e->lock);
    code = find_build(e, call, &b);
    if (code == GRPC_OK)
        call->response = render_masked(e, b, &m);
    pthread_mutex_unlock(&e->lock);
    return code;
}

static int cancel_build(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    struct emu_build *b;
    struct emu_mask m;
    const char *summary = "";
    int64_t id = 0;
    int code;

    if ((code = check_auth(e, call)))
        return code;
    if (prpc_get_int64(call, call->request, "id", NULL, &id) < 0 ||
        prpc_get_string(call, call->request, "summaryMarkdown", "summary_markdown", &summary) < 0)
        return FAILED(call);
    if (!id)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "id is required");
    if (!*summary)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "summary_markdown is required");
    if (strlen(summary) > 4000)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "summary_markdown: too long; must not "
                         "exceed 4000 bytes");
    if (emu_mask_parse(call, call->request, false, &m) < 0)
        return FAILED(call);
    pthread_mutex_lock(&e->lock);
    b = emu_build_find(e, id);
    if (!b) {
        code = not_found(e, call, NULL);
    } else {
        if (!emu_status_final(b->status) && !b->cancel_ns) {
            char who[300];
            emu_identity(e, b->project, who, sizeof(who));
            b->cancel_ns = b->update_ns = clock_now(e->clock);
            b->cancel_md = strdup(summary);
            b->canceled_by = strdup(who);
            emu_event(e, "build %" PRId64 " %s/%s/%s: CancelBuild (%s)", b->id, b->project,
                      b->bucket, b->builder, summary);
            pthread_cond_signal(&e->life_cond);
        }
        call->response = render_masked(e, b, &m);
    }
    pthread_mutex_unlock(&e->lock);
    emu_mask_release(&m);
    return code;
}

/* ---------------------------------------------------------------------------
 * SearchBuilds
 */

struct predicate {
    const char *project, *bucket, *builder, *created_by;
    int status;
    const json_t *tags;
    int64_t create_from, create_to; /* [from, to) */
    int64_t id_start, id_end;       /* inclusive */
};

static int get_time(struct prpc_call *call, const json_t *o, const char *name, int64_t *ret)
{
    const char *s = "";
    if (prpc_get_string(call, o, name, NULL, &s) < 0)
        return FAILED(call);
    if (*s && time_parse_rfc3339(s, ret) < 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "predicate: %s: bad timestamp", name);
    return GRPC_OK;
}

static int pred_parse(struct prpc_call *call, const json_t *p, struct predicate *pr)
{
    const json_t *builder = NULL, *ct = NULL, *range = NULL, *st;
    int code;

    memset(pr, 0, sizeof(*pr));
    pr->project = pr->bucket = pr->builder = pr->created_by = "";
    if (!p)
        return GRPC_OK;
    if (prpc_get_object(call, p, "builder", NULL, &builder) < 0 ||
        prpc_get_string(call, p, "createdBy", "created_by", &pr->created_by) < 0 ||
        prpc_get_array(call, p, "tags", NULL, &pr->tags) < 0 ||
        prpc_get_object(call, p, "createTime", "create_time", &ct) < 0 ||
        prpc_get_object(call, p, "build", NULL, &range) < 0)
        return FAILED(call);
    if (builder) {
        if (prpc_get_string(call, builder, "project", NULL, &pr->project) < 0 ||
            prpc_get_string(call, builder, "bucket", NULL, &pr->bucket) < 0 ||
            prpc_get_string(call, builder, "builder", NULL, &pr->builder) < 0)
            return FAILED(call);
        if (!*pr->project)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "predicate: builder: project must "
                             "be specified");
        if (*pr->builder && !*pr->bucket)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "predicate: builder: bucket is "
                             "required if builder is specified");
    }
    st = json_object_get(p, "status");
    if (json_is_string(st) || json_is_integer(st)) {
        char num[32];
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_is_integer(st) ? json_integer_value(st) : 0);
        pr->status = emu_status_parse(json_is_string(st) ? json_string_value(st) : num);
        if (pr->status < 0)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "predicate: status: unknown value");
    }
    if (ct && ((code = get_time(call, ct, "startTime", &pr->create_from)) ||
               (code = get_time(call, ct, "endTime", &pr->create_to))))
        return code;
    if (range && (prpc_get_int64(call, range, "startBuildId", "start_build_id",
                                 &pr->id_start) < 0 ||
                  prpc_get_int64(call, range, "endBuildId", "end_build_id", &pr->id_end) < 0))
        return FAILED(call);
    return GRPC_OK;
}

static bool has_tag(const struct emu_build *b, const char *k, const char *v)
{
    size_t i;
    const json_t *t;
    json_array_foreach(b->tags, i, t)
        if (strcmp(json_string_value(json_object_get(t, "key")), k) == 0 &&
            strcmp(json_string_value(json_object_get(t, "value")), v) == 0)
            return true;
    return false;
}

static bool pred_match(const struct predicate *p, const struct emu_build *b)
{
    size_t i;
    const json_t *t;

    if ((*p->project && strcmp(p->project, b->project)) ||
        (*p->bucket && strcmp(p->bucket, b->bucket)) ||
        (*p->builder && strcmp(p->builder, b->builder)) ||
        (*p->created_by && strcmp(p->created_by, b->created_by)))
        return false;
    if (p->status == EMU_ENDED_MASK && !emu_status_final(b->status))
        return false;
    if (p->status && p->status != EMU_ENDED_MASK && p->status != b->status)
        return false;
    if ((p->create_from && b->create_ns < p->create_from) ||
        (p->create_to && b->create_ns >= p->create_to))
        return false;
    if ((p->id_start && b->id < p->id_start) || (p->id_end && b->id > p->id_end))
        return false;
    json_array_foreach(p->tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        if (!has_tag(b, k ? k : "", v ? v : ""))
            return false;
    }
    return true;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = (*(struct emu_build *const *)a)->id, y = (*(struct emu_build *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Under the lock: the matching builds with id > after, ascending, one page. */
static int search_locked(struct emulator *e, struct prpc_call *call, const struct predicate *p,
                         int64_t after, int32_t size, const struct emu_mask *m)
{
    struct emu_build **v = malloc((e->n_builds ? e->n_builds : 1) * sizeof(*v));
    json_t *builds = json_array(), *resp = json_object();
    size_t n = 0, k;

    if (!v || !builds || !resp) {
        free(v);
        json_decref(builds);
        json_decref(resp);
        return prpc_fail(call, GRPC_INTERNAL, "out of memory");
    }
    for (struct emu_build *b = e->oldest; b; b = b->newer)
        if (b->id > after && pred_match(p, b))
            v[n++] = b;
    sort_array(v, n, sizeof(*v), id_cmp);
    for (k = 0; k < n && k < (size_t)size; k++)
        json_array_append_new(builds, render_masked(e, v[k], m));
    if (json_array_size(builds))
        json_object_set(resp, "builds", builds);
    if (k < n) {
        char tok[48];
        snprintf(tok, sizeof(tok), "id>%" PRId64, v[k - 1]->id);
        json_object_set_new(resp, "nextPageToken", json_string(tok));
    }
    json_decref(builds);
    free(v);
    call->response = resp;
    return GRPC_OK;
}

static int search_builds(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    const json_t *pj = NULL;
    struct predicate p;
    struct emu_mask m;
    const char *token = "";
    int32_t size = 0;
    int64_t after = 0;
    int code;

    if ((code = check_auth(e, call)))
        return code;
    if (prpc_get_object(call, call->request, "predicate", NULL, &pj) < 0 ||
        prpc_get_int32(call, call->request, "pageSize", "page_size", &size) < 0 ||
        prpc_get_string(call, call->request, "pageToken", "page_token", &token) < 0)
        return FAILED(call);
    if ((code = pred_parse(call, pj, &p)))
        return code;
    if (size < 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "page_size: must be non-negative");
    size = size == 0 ? 100 : size > 1000 ? 1000 : size;
    if (*token) {
        char *end;
        errno = 0;
        after = strncmp(token, "id>", 3) == 0 ? strtoll(token + 3, &end, 10) : 0;
        if (strncmp(token, "id>", 3) != 0 || errno || *end || after <= 0)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "page_token: bad token");
    }
    if (emu_mask_parse(call, call->request, true, &m) < 0)
        return FAILED(call);
    pthread_mutex_lock(&e->lock);
    code = search_locked(e, call, &p, after, size, &m);
    pthread_mutex_unlock(&e->lock);
    emu_mask_release(&m);
    return code;
}

/* ---------------------------------------------------------------------------
 * Batch
 */

static const struct {
    const char *name;
    bool write;
    prpc_handler_fn fn;
} batch_items[] = {
    {"getBuild", false, get_build},
    {"searchBuilds", false, search_builds},
    {"getBuildStatus", false, get_build_status},
    {"scheduleBuild", true, schedule_build},
    {"cancelBuild", true, cancel_build},
};

static int batch_kind(const json_t *item)
{
    const char *key;
    const json_t *v;
    int kind = -1;

    if (!json_is_object(item) || json_object_size(item) != 1)
        return -1;
    json_object_foreach((json_t *)item, key, v) {
        for (size_t i = 0; i < ARRAY_SIZE(batch_items); i++)
            if (strcmp(batch_items[i].name, key) == 0 && json_is_object(v))
                kind = (int)i;
    }
    return kind;
}

static json_t *batch_one(struct emulator *e, struct prpc_call *call, int kind,
                         const json_t *item)
{
    struct prpc_call *sub = calloc(1, sizeof(*sub));
    json_t *out;
    int code;

    if (!sub)
        return NULL;
    sub->http = call->http;
    sub->service = call->service;
    sub->method = call->method;
    sub->discard_unknown = call->discard_unknown;
    sub->request = json_object_get(item, batch_items[kind].name);
    code = batch_items[kind].fn(e, sub);
    if (code == GRPC_OK) {
        out = json_pack("{s:o}", batch_items[kind].name,
                        sub->response ? sub->response : json_object());
    } else {
        out = json_pack("{s:{s:i,s:s}}", "error", "code", sub->code ? sub->code : code,
                        "message", sub->message);
        json_decref(sub->response);
    }
    free(sub);
    return out;
}

static int batch(void *ctx, struct prpc_call *call)
{
    struct emulator *e = ctx;
    const json_t *reqs = NULL, *item;
    size_t i, reads = 0, writes = 0;
    json_t *resps;
    int code;

    if ((code = check_auth(e, call)))
        return code;
    if (prpc_get_array(call, call->request, "requests", NULL, &reqs) < 0)
        return FAILED(call);
    json_array_foreach(reqs, i, item) {
        int kind = batch_kind(item);
        if (kind < 0)
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "requests[%zu]: request includes an "
                             "unsupported type", i);
        if (batch_items[kind].write)
            writes++;
        else
            reads++;
    }
    if (reads > 1000)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "the maximum allowed read request count "
                         "in Batch is 1000");
    if (writes > 200)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "the maximum allowed write request count "
                         "in Batch is 200");
    call->response = json_object();
    if (!reqs || json_array_size(reqs) == 0)
        return GRPC_OK;
    resps = json_array();
    json_array_foreach(reqs, i, item)
        json_array_append_new(resps, batch_one(e, call, batch_kind(item), item));
    json_object_set_new(call->response, "responses", resps);
    return GRPC_OK;
}

int emu_register_v2(struct emulator *e, struct prpc_server *p)
{
    static const struct {
        const char *name;
        prpc_handler_fn fn;
    } methods[] = {
        {"ScheduleBuild", schedule_build}, {"GetBuild", get_build},
        {"CancelBuild", cancel_build},     {"SearchBuilds", search_builds},
        {"Batch", batch},                  {"GetBuildStatus", get_build_status},
    };
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        int r = prpc_server_register(p, "buildbucket.v2.Builds", methods[i].name, methods[i].fn,
                                     e);
        if (r < 0)
            return r;
    }
    return 0;
}
