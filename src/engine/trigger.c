#include "engine/trigger.h"

#include "base/time.h"

/* Payload keys, indexed by enum trigger_payload. */
static const char *const payload_keys[] = {
    [TRIGGER_PAYLOAD_NONE] = NULL,
    [TRIGGER_PAYLOAD_CRON] = "cron",
    [TRIGGER_PAYLOAD_WEBUI] = "webui",
    [TRIGGER_PAYLOAD_NOOP] = "noop",
    [TRIGGER_PAYLOAD_GITILES] = "gitiles",
    [TRIGGER_PAYLOAD_BUILDBUCKET] = "buildbucket",
    [TRIGGER_PAYLOAD_UNKNOWN] = NULL,
};

/* Fields of a trigger that are not its payload. */
static const char *const plain_keys[] = {
    "id",  "jobId",        "invocationId", "created", "orderInBatch", "title",
    "url", "emittedByUser",
};

const char *trigger_payload_key(enum trigger_payload k)
{
    if ((size_t)k >= ARRAY_SIZE(payload_keys))
        return NULL;
    return payload_keys[k];
}

static bool is_plain_key(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(plain_keys); i++) {
        if (strcmp(key, plain_keys[i]) == 0)
            return true;
    }
    return false;
}

enum trigger_payload trigger_payload_kind(const json_t *t, const json_t **ret_body)
{
    enum trigger_payload kind = TRIGGER_PAYLOAD_NONE;
    const json_t *body = NULL;
    const char *key;
    json_t *v;

    if (!json_is_object(t))
        goto out;
    /* The walk is bounded by the object's size; two payloads are as bad as an unknown one. */
    json_object_foreach((json_t *)t, key, v) {
        if (is_plain_key(key) || json_is_null(v))
            continue;
        enum trigger_payload k = TRIGGER_PAYLOAD_UNKNOWN;
        for (size_t i = 0; i < ARRAY_SIZE(payload_keys); i++) {
            if (payload_keys[i] && strcmp(key, payload_keys[i]) == 0)
                k = (enum trigger_payload)i;
        }
        if (k == TRIGGER_PAYLOAD_UNKNOWN || !json_is_object(v) || kind != TRIGGER_PAYLOAD_NONE) {
            kind = TRIGGER_PAYLOAD_UNKNOWN;
            body = NULL;
            goto out;
        }
        kind = k;
        body = v;
    }
out:
    if (ret_body)
        *ret_body = body;
    return kind;
}

/* ---- the struct ---- */

void trigger_release(struct trigger *t)
{
    if (!t)
        return;
    free(t->id);
    free(t->job_id);
    free(t->title);
    free(t->url);
    free(t->emitted_by_user);
    json_decref(t->payload);
    memset(t, 0, sizeof(*t));
    t->created = TIME_ZERO;
}

void triggers_free(struct trigger *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        trigger_release(&v[i]);
    free(v);
}

/* *ret = a copy of s (NULL stays NULL).  Returns 0 or -ENOMEM. */
static int dup_opt(const char *s, char **ret)
{
    *ret = s ? strdup(s) : NULL;
    return s && !*ret ? -ENOMEM : 0;
}

int trigger_copy(const struct trigger *src, struct trigger *ret)
{
    struct trigger t = *src;
    int r;

    t.id = t.job_id = t.title = t.url = t.emitted_by_user = NULL;
    t.payload = src->payload ? json_deep_copy(src->payload) : NULL;
    r = src->payload && !t.payload ? -ENOMEM : 0;
    if (r == 0)
        r = dup_opt(src->id, &t.id);
    if (r == 0)
        r = dup_opt(src->job_id, &t.job_id);
    if (r == 0)
        r = dup_opt(src->title, &t.title);
    if (r == 0)
        r = dup_opt(src->url, &t.url);
    if (r == 0)
        r = dup_opt(src->emitted_by_user, &t.emitted_by_user);
    if (r < 0) {
        trigger_release(&t);
        return r;
    }
    *ret = t;
    return 0;
}

int trigger_vec_push(struct trigger_vec *vec, struct trigger *t, size_t max)
{
    if (vec->n >= max)
        return -E2BIG;
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? 2 * vec->cap : 8;
        struct trigger *v = realloc(vec->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *t;
    memset(t, 0, sizeof(*t));
    return 0;
}

void trigger_vec_release(struct trigger_vec *vec)
{
    triggers_free(vec->v, vec->n);
    *vec = (struct trigger_vec){.v = NULL};
}

/* ---- the internal JSON form ---- */

/* An int64 written as a JSON string (protobuf JSON) or integer. */
static int get_int64(const json_t *v, int64_t *ret)
{
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !s[0])
        return -EINVAL;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = x;
    return 0;
}

static int64_t get_int64_or_0(const json_t *o, const char *key)
{
    int64_t v;
    return get_int64(json_object_get(o, key), &v) < 0 ? 0 : v;
}

static int parse_created(const json_t *o, int64_t *ret_ns)
{
    const json_t *v = json_object_get(o, "created");
    if (!v || json_is_null(v)) {
        *ret_ns = TIME_ZERO;
        return 0;
    }
    const char *s = json_string_value(v);
    return s ? time_parse_rfc3339(s, ret_ns) < 0 ? -EINVAL : 0 : -EINVAL;
}

/* The object of o's keys that are neither plain fields nor null (an UNKNOWN payload). */
static json_t *unknown_payload(const json_t *o)
{
    json_t *u = json_object(), *v;
    const char *key;

    json_object_foreach((json_t *)o, key, v) {
        if (u && !is_plain_key(key) && !json_is_null(v) &&
            json_object_set_new(u, key, json_deep_copy(v)) < 0) {
            json_decref(u);
            return NULL;
        }
    }
    return u;
}

static int string_field(const json_t *o, const char *key, char **ret)
{
    return dup_opt(json_string_value(json_object_get(o, key)), ret);
}

/* Decodes o; with created_from_text false, t->created is left as the caller set it. */
static int decode(const json_t *o, bool created_from_text, struct trigger *ret)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    const json_t *body = NULL;
    struct trigger t = {.created = ret->created};
    int r;

    if (!json_is_object(o) || !id || !id[0])
        return -EINVAL;
    if (created_from_text && parse_created(o, &t.created) < 0)
        return -EINVAL;
    t.order_in_batch = get_int64_or_0(o, "orderInBatch");
    t.invocation_id = get_int64_or_0(o, "invocationId");
    t.kind = trigger_payload_kind(o, &body);
    if (t.kind == TRIGGER_PAYLOAD_UNKNOWN)
        t.payload = unknown_payload(o);
    else if (body)
        t.payload = json_deep_copy(body);
    r = t.kind != TRIGGER_PAYLOAD_NONE && !t.payload ? -ENOMEM : 0;
    if (r == 0)
        r = dup_opt(id, &t.id);
    if (r == 0)
        r = string_field(o, "jobId", &t.job_id);
    if (r == 0)
        r = string_field(o, "title", &t.title);
    if (r == 0)
        r = string_field(o, "url", &t.url);
    if (r == 0)
        r = string_field(o, "emittedByUser", &t.emitted_by_user);
    if (r < 0) {
        trigger_release(&t);
        return r;
    }
    *ret = t;
    return 0;
}

int trigger_from_json(const json_t *o, struct trigger *ret)
{
    struct trigger t = {.created = TIME_ZERO};
    int r = decode(o, true, &t);
    if (r == 0)
        *ret = t;
    return r;
}

int trigger_vec_from_json(const json_t *arr, size_t max, struct trigger_vec *vec)
{
    size_t i;
    json_t *o;

    if (!json_is_array(arr))
        return -EINVAL;
    json_array_foreach(arr, i, o) {
        struct trigger t;
        int r = trigger_from_json(o, &t);
        if (r == 0) {
            r = trigger_vec_push(vec, &t, max);
            if (r < 0)
                trigger_release(&t);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int trigger_from_row(const char *json_text, const char *id, int64_t created, int64_t order,
                     struct trigger *ret)
{
    json_t *o = json_text ? json_loads(json_text, 0, NULL) : NULL;
    struct trigger t = {.created = created ? created : TIME_ZERO};
    int r = o ? decode(o, false, &t) : -EINVAL;

    json_decref(o);
    if (r == -EINVAL) {
        /* Corrupt row: a stub with just the id, so it can be popped. */
        t = (struct trigger){.created = created ? created : TIME_ZERO};
        t.id = strdup(id ? id : "");
        r = t.id ? 0 : -ENOMEM;
    }
    if (r < 0)
        return r;
    t.order_in_batch = order;
    *ret = t;
    return 0;
}

/* Sets key to a copy of s; NULL s sets nothing.  Returns 0 or -ENOMEM. */
static int set_str(json_t *o, const char *key, const char *s)
{
    if (!s)
        return 0;
    return json_object_set_new(o, key, json_string(s)) < 0 ? -ENOMEM : 0;
}

static int set_int64_str(json_t *o, const char *key, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRId64, v);
    return set_str(o, key, s);
}

/* Adds the payload of t to o: its key, or the kept keys of an UNKNOWN one. */
static int set_payload(json_t *o, const struct trigger *t, bool public_form)
{
    const char *key = trigger_payload_key(t->kind);

    if (!t->payload || (t->kind == TRIGGER_PAYLOAD_UNKNOWN && public_form))
        return 0;
    if (t->kind == TRIGGER_PAYLOAD_UNKNOWN) {
        json_t *copy = json_deep_copy(t->payload);
        int r = copy && json_object_update(o, copy) == 0 ? 0 : -ENOMEM;
        json_decref(copy);
        return r;
    }
    if (!key)
        return 0;
    json_t *copy = t->kind == TRIGGER_PAYLOAD_NOOP && public_form ? json_object()
                                                                   : json_deep_copy(t->payload);
    return copy && json_object_set_new(o, key, copy) == 0 ? 0 : -ENOMEM;
}

int trigger_to_json(const struct trigger *t, json_t **ret)
{
    json_t *o = json_object();
    int r = o ? set_str(o, "id", t->id) : -ENOMEM;

    if (r == 0)
        r = set_str(o, "jobId", t->job_id);
    if (r == 0 && t->invocation_id)
        r = set_int64_str(o, "invocationId", t->invocation_id);
    if (r == 0 && t->created != TIME_ZERO) {
        char s[TIME_RFC3339_MAX];
        time_format_rfc3339(t->created, s, sizeof(s));
        r = set_str(o, "created", s);
    }
    if (r == 0)
        r = set_int64_str(o, "orderInBatch", t->order_in_batch);
    if (r == 0)
        r = set_str(o, "title", t->title);
    if (r == 0)
        r = set_str(o, "url", t->url);
    if (r == 0)
        r = set_str(o, "emittedByUser", t->emitted_by_user);
    if (r == 0)
        r = set_payload(o, t, false);
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

int triggers_to_json(const struct trigger *v, size_t n, json_t **ret)
{
    json_t *arr = json_array();
    int r = arr ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < n; i++) {
        json_t *o = NULL;
        r = trigger_to_json(&v[i], &o);
        if (r == 0 && json_array_append_new(arr, o) < 0)
            r = -ENOMEM;
    }
    if (r < 0) {
        json_decref(arr);
        return r;
    }
    *ret = arr;
    return 0;
}

/* ---- the public JSON form ---- */

int trigger_to_public(const struct trigger *t, json_t **ret)
{
    json_t *p = json_object();
    int r = p ? set_str(p, "id", t->id) : -ENOMEM;

    if (r == 0)
        r = set_str(p, "title", t->title);
    if (r == 0)
        r = set_str(p, "url", t->url);
    if (r == 0)
        r = set_payload(p, t, true);
    if (r < 0) {
        json_decref(p);
        return r;
    }
    *ret = p;
    return 0;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

int trigger_validate_api(const json_t *pub, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(pub, "id"));

    if (!json_is_object(pub))
        return fail(err, errlen, "trigger must be an object");
    if (!id || !id[0])
        return fail(err, errlen, "trigger id is required");
    switch (trigger_payload_kind(pub, NULL)) {
    case TRIGGER_PAYLOAD_CRON:
        return fail(err, errlen, "emitting cron triggers through API is not allowed");
    case TRIGGER_PAYLOAD_WEBUI:
        return fail(err, errlen, "emitting web UI triggers through API is not allowed");
    case TRIGGER_PAYLOAD_UNKNOWN:
        return fail(err, errlen, "unrecognized trigger payload");
    default:
        return 0;
    }
}

int trigger_from_public(const json_t *pub, int64_t now_ns, int64_t order, const char *identity,
                        struct trigger *ret, char *err, size_t errlen)
{
    struct trigger t = {.created = TIME_ZERO};
    const json_t *body = NULL;
    int r = trigger_validate_api(pub, err, errlen);

    if (r < 0)
        return r;
    t.created = now_ns;
    t.order_in_batch = order;
    t.kind = trigger_payload_kind(pub, &body);
    t.payload = body ? json_deep_copy(body) : NULL;
    r = body && !t.payload ? -ENOMEM : 0;
    if (r == 0)
        r = string_field(pub, "id", &t.id);
    if (r == 0)
        r = string_field(pub, "title", &t.title);
    if (r == 0)
        r = string_field(pub, "url", &t.url);
    if (r == 0 && identity && identity[0])
        r = dup_opt(identity, &t.emitted_by_user);
    if (r < 0) {
        trigger_release(&t);
        return r;
    }
    *ret = t;
    return 0;
}

/* ---- order and the triggers tock makes ---- */

int trigger_compare(const struct trigger *a, const struct trigger *b)
{
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    if (a->order_in_batch != b->order_in_batch)
        return a->order_in_batch < b->order_in_batch ? -1 : 1;
    int c = strcmp(a->id ? a->id : "", b->id ? b->id : "");
    return c < 0 ? -1 : c > 0;
}

/* A trigger with id, created now, orderInBatch 0 and an empty payload of kind. */
static int new_trigger(const char *id, int64_t now_ns, enum trigger_payload kind,
                       struct trigger *ret)
{
    struct trigger t = {.created = now_ns, .kind = kind};

    t.id = strdup(id);
    t.payload = json_object();
    if (!t.id || !t.payload) {
        trigger_release(&t);
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}

int trigger_new_cron(int64_t generation, int64_t now_ns, struct trigger *ret)
{
    char id[TRIGGER_ID_BUILT_MAX];
    struct trigger t;
    int r;

    snprintf(id, sizeof(id), "cron:v1:%" PRId64, generation);
    r = new_trigger(id, now_ns, TRIGGER_PAYLOAD_CRON, &t);
    if (r == 0 && set_int64_str(t.payload, "generation", generation) < 0) {
        trigger_release(&t);
        r = -ENOMEM;
    }
    if (r == 0)
        *ret = t;
    return r;
}

int trigger_new_webui(uint64_t rand64, int64_t now_ns, const char *identity,
                      struct trigger *ret)
{
    char id[TRIGGER_ID_BUILT_MAX];
    struct trigger t;
    int r;

    snprintf(id, sizeof(id), "%016" PRIx64, rand64);
    r = new_trigger(id, now_ns, TRIGGER_PAYLOAD_WEBUI, &t);
    if (r == 0)
        r = dup_opt("Triggered via web UI", &t.title);
    if (r == 0 && identity && identity[0])
        r = dup_opt(identity, &t.emitted_by_user);
    if (r < 0) {
        trigger_release(&t);
        return r;
    }
    *ret = t;
    return 0;
}
