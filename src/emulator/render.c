/*
 * render.c - a build as Buildbucket v2 JSON (protojson rules, §1.3, §2.3)
 * and as a v1 build dict (§2.14); field masks (default mask of §2.3).
 * Called with e->lock held (reads builds only).
 */
#include "base/compat.h"
#include "base/time.h"
#include "emu-internal.h"

#include <ctype.h>

bool emu_status_final(int status)
{
    return (status & EMU_ENDED_MASK) != 0;
}

/* protojson Timestamp: RFC 3339, UTC, 0, 3, 6 or 9 fractional digits. */
void emu_format_ts(int64_t ns, char *out, size_t outlen)
{
    char base[TIME_RFC3339_MAX];
    int64_t sec = time_floor_sec(ns);
    int64_t frac = ns - sec * NS_PER_SEC;
    int n = time_format_rfc3339(sec * NS_PER_SEC, base, sizeof(base));

    if (n > 0 && base[n - 1] == 'Z')
        base[n - 1] = '\0';
    if (frac == 0)
        snprintf(out, outlen, "%sZ", base);
    else if (frac % NS_PER_MS == 0)
        snprintf(out, outlen, "%s.%03" PRId64 "Z", base, frac / NS_PER_MS);
    else if (frac % NS_PER_US == 0)
        snprintf(out, outlen, "%s.%06" PRId64 "Z", base, frac / NS_PER_US);
    else
        snprintf(out, outlen, "%s.%09" PRId64 "Z", base, frac);
}

static void set_ts(json_t *o, const char *key, int64_t ns)
{
    char ts[64];
    if (!ns)
        return;
    emu_format_ts(ns, ts, sizeof(ts));
    json_object_set_new(o, key, json_string(ts));
}

static void set_str(json_t *o, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(o, key, json_string(s));
}

json_t *emu_render_v2(const struct emu_build *b, const char *hostname)
{
    json_t *o = json_object(), *builder = json_object();
    char url[512];

    if (!o || !builder) {
        json_decref(o);
        json_decref(builder);
        return NULL;
    }
    json_object_set_new(o, "id", prpc_json_int64(b->id));
    set_str(builder, "project", b->project);
    set_str(builder, "bucket", b->bucket);
    set_str(builder, "builder", b->builder);
    json_object_set_new(o, "builder", builder);
    if (b->number)
        json_object_set_new(o, "number", json_integer(b->number));
    set_str(o, "createdBy", b->created_by);
    snprintf(url, sizeof(url), "https://%s/build/%" PRId64, hostname, b->id);
    json_object_set_new(o, "viewUrl", json_string(url));
    set_ts(o, "createTime", b->create_ns);
    set_ts(o, "startTime", b->start_ns);
    set_ts(o, "endTime", b->end_ns);
    set_ts(o, "updateTime", b->update_ns);
    if (b->status)
        json_object_set_new(o, "status", json_string(emu_status_name(b->status)));
    if (b->input && json_object_size(b->input))
        json_object_set(o, "input", b->input);
    json_object_set_new(o, "infra", json_pack("{s:{s:s}}", "buildbucket", "hostname", hostname));
    if (b->tags && json_array_size(b->tags))
        json_object_set(o, "tags", b->tags);
    set_str(o, "summaryMarkdown", b->summary);
    if (b->critical)
        json_object_set_new(o, "critical", json_string(b->critical == 1 ? "YES" : "NO"));
    if (b->timeout)
        json_object_set_new(o, "statusDetails", json_pack("{s:{}}", "timeout"));
    set_str(o, "canceledBy", b->canceled_by);
    set_ts(o, "cancelTime", b->cancel_ns);
    set_str(o, "cancellationMarkdown", b->cancel_md);
    return o;
}

/* "1613684423573704": microseconds since the epoch, as a string. */
static void set_us(json_t *o, const char *key, int64_t ns)
{
    char s[32];
    if (!ns)
        return;
    snprintf(s, sizeof(s), "%" PRId64, ns / NS_PER_US);
    json_object_set_new(o, key, json_string(s));
}

static void v1_result(const struct emu_build *b, json_t *o)
{
    const char *result = NULL, *failure = NULL, *cancel = NULL;

    switch (b->status) {
    case EMU_SCHEDULED:
    case EMU_STATUS_UNSPECIFIED:
        json_object_set_new(o, "status", json_string("SCHEDULED"));
        return;
    case EMU_STARTED:
        json_object_set_new(o, "status", json_string("STARTED"));
        return;
    case EMU_SUCCESS: result = "SUCCESS"; break;
    case EMU_FAILURE: result = "FAILURE"; failure = "BUILD_FAILURE"; break;
    case EMU_INFRA_FAILURE: result = "FAILURE"; failure = "INFRA_FAILURE"; break;
    case EMU_CANCELED:
        result = "CANCELED";
        cancel = b->timeout ? "TIMEOUT" : "CANCELED_EXPLICITLY";
        break;
    default: result = "FAILURE"; failure = "BUILDBUCKET_FAILURE"; break;
    }
    json_object_set_new(o, "status", json_string("COMPLETED"));
    json_object_set_new(o, "result", json_string(result));
    if (failure)
        json_object_set_new(o, "failure_reason", json_string(failure));
    if (cancel)
        json_object_set_new(o, "cancelation_reason", json_string(cancel));
}

json_t *emu_render_v1(const struct emu_build *b, int64_t now_ns)
{
    json_t *o = json_object(), *tags = json_array();
    char url[128];
    size_t i;
    const json_t *t;

    if (!o || !tags) {
        json_decref(o);
        json_decref(tags);
        return NULL;
    }
    json_array_foreach(b->tags, i, t) {
        struct buf s;
        buf_init(&s, LIMIT_HTTP_BODY_BYTES);
        if (buf_printf(&s, "%s:%s", json_string_value(json_object_get(t, "key")),
                       json_string_value(json_object_get(t, "value"))) == 0)
            json_array_append_new(tags, json_string(s.data));
        buf_release(&s);
    }
    set_str(o, "bucket", b->bld ? b->bld->legacy_bucket : b->bucket);
    json_object_set_new(o, "canary_preference", json_string("PROD"));
    set_us(o, "completed_ts", b->end_ns);
    set_str(o, "created_by", b->created_by);
    set_us(o, "created_ts", b->create_ns);
    json_object_set_new(o, "id", prpc_json_int64(b->id));
    set_str(o, "parameters_json", b->parameters_json);
    set_str(o, "project", b->project);
    json_object_set_new(o, "result_details_json", json_string("{\"properties\": {}}"));
    if (b->bld && b->bld->service_account[0])
        set_str(o, "service_account", b->bld->service_account);
    set_us(o, "started_ts", b->start_ns);
    v1_result(b, o);
    set_us(o, "status_changed_ts", b->status_changed_ns);
    json_object_set_new(o, "tags", tags);
    set_us(o, "updated_ts", b->update_ns);
    snprintf(url, sizeof(url), "https://ci.chromium.org/b/%" PRId64, b->id);
    set_str(o, "url", url);
    set_us(o, "utcnow_ts", now_ns);
    return o;
}

char *emu_python_dumps(const json_t *v)
{
    return json_dumps(v, JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

/* ---------------------------------------------------------------------------
 * Field masks
 */

static const char *const top_fields[] = {
    "id", "builder", "number", "createdBy", "viewUrl", "createTime", "startTime", "endTime",
    "updateTime", "status", "input", "output", "steps", "infra", "tags", "summaryMarkdown",
    "critical", "statusDetails", "canceledBy", "exe", "canary", "schedulingTimeout",
    "executionTimeout", "waitForCapacity", "gracePeriod", "canOutliveParent", "ancestorIds",
    "cancelTime", "cancellationMarkdown", "retriable", NULL,
};

static const char *const default_mask[] = {
    "builder", "canary", "createTime", "createdBy", "critical", "endTime", "id",
    "input.experimental", "input.gerritChanges", "input.gitilesCommit", "number",
    "startTime", "status", "statusDetails", "updateTime", NULL,
};

/* snake_case -> lowerCamelCase, per path segment. */
static char *camel_path(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    bool up = false;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            up = true;
            continue;
        }
        out[k++] = up ? (char)toupper((unsigned char)c) : c;
        up = false;
    }
    out[k] = '\0';
    return out;
}

static bool top_known(const char *path)
{
    size_t n = strcspn(path, ".");
    for (size_t i = 0; top_fields[i]; i++)
        if (strlen(top_fields[i]) == n && strncmp(top_fields[i], path, n) == 0)
            return true;
    return false;
}

static int mask_add(struct prpc_call *call, struct emu_mask *m, const char *s, size_t n,
                    bool search)
{
    while (n && *s == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    if (search && n >= 9 && strncmp(s, "builds.*.", 9) == 0) {
        s += 9;
        n -= 9;
    }
    if (n == 0)
        return 0;
    if (m->n >= ARRAY_SIZE(m->paths))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "invalid mask: too many paths"), -EINVAL;
    char *p = camel_path(s, n);
    if (!p)
        return prpc_fail(call, GRPC_INTERNAL, "out of memory"), -ENOMEM;
    if (!top_known(p)) {
        prpc_fail(call, GRPC_INVALID_ARGUMENT, "invalid mask: field \"%.*s\" does not exist in "
                  "message Build", (int)n, s);
        free(p);
        return -EINVAL;
    }
    m->paths[m->n++] = p;
    return 0;
}

/* A FieldMask: "a,b.c" or {"paths": ["a", "b.c"]}. */
static int mask_fieldmask(struct prpc_call *call, const json_t *v, bool search,
                          struct emu_mask *m)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s) {
            size_t n = strcspn(s, ",");
            if (mask_add(call, m, s, n, search) < 0)
                return -EINVAL;
            s += n;
            if (*s == ',')
                s++;
        }
        return 0;
    }
    const json_t *paths = json_is_object(v) ? json_object_get(v, "paths") : NULL, *x;
    size_t i;
    if (!json_is_array(paths))
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "invalid mask: want a string or "
                         "{\"paths\": [...]}"), -EINVAL;
    json_array_foreach(paths, i, x) {
        if (!json_is_string(x) ||
            mask_add(call, m, json_string_value(x), json_string_length(x), search) < 0)
            return call->code ? -EINVAL
                              : (prpc_fail(call, GRPC_INVALID_ARGUMENT, "invalid mask path"),
                                 -EINVAL);
    }
    return 0;
}

int emu_mask_parse(struct prpc_call *call, const json_t *req, bool search, struct emu_mask *m)
{
    const json_t *mask = NULL, *fields = NULL, *legacy = NULL;
    bool all = false;

    memset(m, 0, sizeof(*m));
    if (prpc_get_object(call, req, "mask", NULL, &mask) < 0)
        return -EINVAL;
    legacy = json_object_get(req, "fields");
    if (mask) {
        fields = json_object_get(mask, "fields");
        if (prpc_get_bool(call, mask, "allFields", "all_fields", &all) < 0)
            return -EINVAL;
        if (all && fields && !json_is_null(fields))
            return prpc_fail(call, GRPC_INVALID_ARGUMENT, "mask: all_fields and fields are "
                             "mutually exclusive"), -EINVAL;
    }
    if (all) {
        m->all = true;
        return 0;
    }
    if (fields && !json_is_null(fields))
        return mask_fieldmask(call, fields, search, m) < 0 ? (emu_mask_release(m), -EINVAL) : 0;
    if (legacy && !json_is_null(legacy))
        return mask_fieldmask(call, legacy, search, m) < 0 ? (emu_mask_release(m), -EINVAL) : 0;
    for (size_t i = 0; default_mask[i]; i++)
        m->paths[m->n++] = strdup(default_mask[i]);
    return 0;
}

void emu_mask_release(struct emu_mask *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->paths[i]);
    m->n = 0;
}

/*
 * Copies from src the keys the paths select.  paths are relative to src;
 * a path equal to a key takes the whole value, "key.rest" recurses.
 */
static json_t *select_paths(const json_t *src, const char *const *paths, size_t n)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)src, key, v) {
        size_t kl = strlen(key);
        const char *sub[64];
        size_t ns = 0;
        bool whole = false;
        for (size_t i = 0; i < n && !whole; i++) {
            if (strcmp(paths[i], key) == 0)
                whole = true;
            else if (strncmp(paths[i], key, kl) == 0 && paths[i][kl] == '.' && ns < 64)
                sub[ns++] = paths[i] + kl + 1;
        }
        if (whole) {
            json_object_set(out, key, v);
        } else if (ns && json_is_object(v)) {
            json_t *inner = select_paths(v, sub, ns);
            if (inner && json_object_size(inner))
                json_object_set_new(out, key, inner);
            else
                json_decref(inner);
        }
    }
    return out;
}

json_t *emu_mask_apply(const json_t *full, const struct emu_mask *m)
{
    if (m->all)
        return json_deep_copy(full);
    return select_paths(full, (const char *const *)m->paths, m->n);
}
