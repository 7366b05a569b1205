#include "engine/trigger.h"

#include "base/time.h"
#include "engine/policy.h"

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

const char *trigger_id(const json_t *t)
{
    const char *id = json_string_value(json_object_get(t, "id"));
    return id && id[0] ? id : NULL;
}

int trigger_parse_created(const json_t *t, int64_t *ret_ns)
{
    const json_t *v = json_object_get(t, "created");
    if (!v || json_is_null(v)) {
        *ret_ns = TIME_ZERO;
        return 0;
    }
    const char *s = json_string_value(v);
    int64_t ns;
    if (!s || time_parse_rfc3339(s, &ns) < 0)
        return -EINVAL;
    *ret_ns = ns;
    return 0;
}

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

int64_t trigger_order_in_batch(const json_t *t)
{
    int64_t v;
    return get_int64(json_object_get(t, "orderInBatch"), &v) < 0 ? 0 : v;
}

const char *trigger_emitted_by_user(const json_t *t)
{
    const char *u = json_string_value(json_object_get(t, "emittedByUser"));
    return u ? u : "";
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

int trigger_to_policy(const json_t *t, struct policy_trigger *ret)
{
    const char *id = trigger_id(t);
    int64_t created;
    if (!id || trigger_parse_created(t, &created) < 0)
        return -EINVAL;
    *ret = (struct policy_trigger){
        .id = id,
        .created_ns = created,
        .order_in_batch = trigger_order_in_batch(t),
        .emitted_by_user = trigger_emitted_by_user(t),
    };
    return 0;
}

/* The ordering key of a trigger; malformed fields count as absent. */
static struct policy_trigger sort_key(const json_t *t)
{
    struct policy_trigger k = {
        .id = trigger_id(t),
        .created_ns = TIME_ZERO,
        .order_in_batch = trigger_order_in_batch(t),
        .emitted_by_user = "",
    };
    if (trigger_parse_created(t, &k.created_ns) < 0)
        k.created_ns = TIME_ZERO;
    if (!k.id)
        k.id = "";
    return k;
}

int trigger_compare(const json_t *a, const json_t *b)
{
    struct policy_trigger ka = sort_key(a), kb = sort_key(b);
    return policy_trigger_compare(&ka, &kb);
}

struct sort_item {
    struct policy_trigger key;
    size_t pos;
    json_t *t;
};

static int sort_item_cmp(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    int c = policy_trigger_compare(&a->key, &b->key);
    if (c)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int trigger_sort(json_t **v, size_t n)
{
    if (n < 2)
        return 0;
    struct sort_item *items = calloc(n, sizeof(*items));
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = (struct sort_item){.key = sort_key(v[i]), .pos = i, .t = v[i]};
    qsort(items, n, sizeof(*items), sort_item_cmp);
    for (size_t i = 0; i < n; i++)
        v[i] = items[i].t;
    free(items);
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
    if (!json_is_object(pub))
        return fail(err, errlen, "trigger must be an object");
    if (!trigger_id(pub))
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

static int set_time(json_t *o, const char *key, int64_t ns)
{
    char s[TIME_RFC3339_MAX];
    time_format_rfc3339(ns, s, sizeof(s));
    return set_str(o, key, s);
}

/* Copies pub's title and url (when strings) and payload (deep) into t. */
static int copy_public_fields(json_t *t, const json_t *src, bool drop_noop_data)
{
    int r = set_str(t, "title", json_string_value(json_object_get(src, "title")));
    if (r == 0)
        r = set_str(t, "url", json_string_value(json_object_get(src, "url")));
    if (r < 0)
        return r;
    const json_t *body;
    enum trigger_payload k = trigger_payload_kind(src, &body);
    if (k == TRIGGER_PAYLOAD_NONE || k == TRIGGER_PAYLOAD_UNKNOWN)
        return 0;
    json_t *copy = (k == TRIGGER_PAYLOAD_NOOP && drop_noop_data) ? json_object()
                                                                  : json_deep_copy(body);
    if (!copy || json_object_set_new(t, payload_keys[k], copy) < 0)
        return -ENOMEM;
    return 0;
}

int trigger_from_api(const json_t *pub, int64_t now_ns, int64_t order, const char *identity,
                     json_t **ret, char *err, size_t errlen)
{
    int r = trigger_validate_api(pub, err, errlen);
    if (r < 0)
        return r;
    json_t *t = json_object();
    if (!t)
        return -ENOMEM;
    r = set_str(t, "id", trigger_id(pub));
    if (r == 0)
        r = set_time(t, "created", now_ns);
    if (r == 0)
        r = set_int64_str(t, "orderInBatch", order);
    if (r == 0 && identity && identity[0])
        r = set_str(t, "emittedByUser", identity);
    if (r == 0)
        r = copy_public_fields(t, pub, false);
    if (r < 0)
        goto out;
    *ret = t;
    t = NULL;
out:
    json_decref(t);
    return r;
}

int trigger_to_public(const json_t *t, json_t **ret)
{
    const char *id = trigger_id(t);
    if (!id)
        return -EINVAL;
    json_t *p = json_object();
    if (!p)
        return -ENOMEM;
    int r = set_str(p, "id", id);
    if (r == 0)
        r = copy_public_fields(p, t, true);
    if (r < 0)
        goto out;
    *ret = p;
    p = NULL;
out:
    json_decref(p);
    return r;
}

int trigger_new_cron(int64_t generation, int64_t now_ns, json_t **ret)
{
    char id[TRIGGER_ID_BUILT_MAX];
    snprintf(id, sizeof(id), "cron:v1:%" PRId64, generation);
    int r = -ENOMEM;
    json_t *t = json_object();
    json_t *cron = json_object();
    if (!t || !cron)
        goto out;
    r = set_str(t, "id", id);
    if (r == 0)
        r = set_time(t, "created", now_ns);
    if (r == 0)
        r = set_int64_str(t, "orderInBatch", 0);
    if (r == 0)
        r = set_int64_str(cron, "generation", generation);
    if (r == 0 && json_object_set(t, "cron", cron) < 0)
        r = -ENOMEM;
    if (r < 0)
        goto out;
    *ret = t;
    t = NULL;
out:
    json_decref(cron);
    json_decref(t);
    return r;
}

int trigger_new_webui(uint64_t rand64, int64_t now_ns, const char *identity, json_t **ret)
{
    char id[TRIGGER_ID_BUILT_MAX];
    snprintf(id, sizeof(id), "%016" PRIx64, rand64);
    int r = -ENOMEM;
    json_t *t = json_object();
    if (!t)
        goto out;
    r = set_str(t, "id", id);
    if (r == 0)
        r = set_time(t, "created", now_ns);
    if (r == 0)
        r = set_int64_str(t, "orderInBatch", 0);
    if (r == 0)
        r = set_str(t, "title", "Triggered via web UI");
    if (r == 0 && identity && identity[0])
        r = set_str(t, "emittedByUser", identity);
    if (r == 0 && json_object_set_new(t, "webui", json_object()) < 0)
        r = -ENOMEM;
    if (r < 0)
        goto out;
    *ret = t;
    t = NULL;
out:
    json_decref(t);
    return r;
}
