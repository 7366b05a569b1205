/*
 * status.c - build statuses (spec 4.1.5, 4.1.8), the task data, the
 * Pub/Sub token extraction (spec 4.1.4) and the poll policy (spec 4.1.6
 * and tock's long poll, docs/tasks.md).  Pure: see bb-internal.h.
 */
#include "tasks/buildbucket/bb-internal.h"

#include "base/base64.h"
#include "base/time.h"

static const struct {
    int number;
    const char *name;
} v2_statuses[] = {
    {0, "STATUS_UNSPECIFIED"}, {1, "SCHEDULED"}, {2, "STARTED"},
    {4, "ENDED_MASK"},         {12, "SUCCESS"},  {20, "FAILURE"},
    {36, "INFRA_FAILURE"},     {68, "CANCELED"},
};

const char *bb_v2_status_name(const json_t *build, char *tmp, size_t tmplen)
{
    const json_t *s = json_object_get(build, "status");

    if (!s || json_is_null(s))
        return "STATUS_UNSPECIFIED";
    if (json_is_string(s))
        return json_string_value(s);
    if (!json_is_integer(s))
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(v2_statuses); i++)
        if (v2_statuses[i].number == json_integer_value(s))
            return v2_statuses[i].name;
    snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(s));
    return tmp;
}

bool bb_v2_map_status(const char *name, enum inv_status cur, enum inv_status *ret)
{
    if (strcmp(name, "SCHEDULED") == 0 || strcmp(name, "STARTED") == 0)
        *ret = cur;
    else if (strcmp(name, "SUCCESS") == 0)
        *ret = INV_SUCCEEDED;
    else if (strcmp(name, "FAILURE") == 0 || strcmp(name, "INFRA_FAILURE") == 0)
        *ret = INV_FAILED;
    else if (strcmp(name, "CANCELED") == 0)
        *ret = INV_ABORTED;
    else {
        *ret = INV_FAILED;
        return false;
    }
    return true;
}

enum inv_status bb_v1_map_status(const char *status, const char *result, enum inv_status cur)
{
    if (strcmp(status, "SCHEDULED") == 0 || strcmp(status, "STARTED") == 0)
        return cur;
    if (strcmp(status, "COMPLETED") == 0 && strcmp(result, "SUCCESS") == 0)
        return INV_SUCCEEDED;
    return INV_FAILED;
}

/* Copies the token (text without NULs, not empty) if it fits. */
static int take_token(const char *s, size_t n, char *token, size_t tokenlen)
{
    if (n == 0 || n >= tokenlen || memchr(s, '\0', n))
        return -ENOENT;
    memcpy(token, s, n);
    token[n] = '\0';
    return 0;
}

int bb_examine_notification(const json_t *message, char *token, size_t tokenlen)
{
    const json_t *attrs = json_object_get(message, "attributes");
    const json_t *at = json_object_get(attrs, "auth_token");
    const char *data = json_string_value(json_object_get(message, "data"));
    struct buf raw, ud;
    json_t *body = NULL;
    int r = -ENOENT;

    /* v1 builds: the token is an attribute. */
    if (json_is_string(at) && json_string_length(at) > 0)
        return take_token(json_string_value(at), json_string_length(at), token, tokenlen);
    if (!data)
        return -ENOENT;
    buf_init(&raw, BUILDBUCKET_MAX_PUSH_DATA_BYTES);
    buf_init(&ud, TASK_PUBSUB_TOKEN_MAX);
    if (base64_decode_buf(BASE64_STD, data, strlen(data), &raw) < 0)
        goto out;
    body = json_loadb(raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body))
        goto out;
    const json_t *v = json_object_get(body, "userData");
    if (v && !json_is_null(v)) {
        /* v2: bytes, i.e. base64 in JSON. */
        const char *s = json_string_value(v);
        if (s && base64_decode_buf(BASE64_STD, s, json_string_length(v), &ud) == 0)
            r = take_token(ud.data, ud.len, token, tokenlen);
        goto out;
    }
    /* crbug.com/1410912: the legacy format's string. */
    v = json_object_get(body, "user_data");
    if (json_is_string(v))
        r = take_token(json_string_value(v), json_string_length(v), token, tokenlen);
out:
    json_decref(body);
    buf_release(&raw);
    buf_release(&ud);
    return r;
}

int bb_build_id(const json_t *v, char *out, size_t outlen)
{
    char tmp[32];
    const char *s;

    if (json_is_integer(v)) {
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = tmp;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
    } else {
        return -EINVAL;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 19 || n >= outlen || strspn(s, "0123456789") != n || s[0] == '0')
        return -EINVAL;
    /* An int64: at most 9223372036854775807. */
    if (n == 19 && strcmp(s, "9223372036854775807") > 0)
        return -EINVAL;
    memcpy(out, s, n + 1);
    return 0;
}

int bb_task_data_read(const json_t *td, struct bb_task_data *ret)
{
    struct bb_task_data d;
    const json_t *v;

    memset(&d, 0, sizeof(d));
    if (!json_is_object(td) || bb_build_id(json_object_get(td, "build_id"), d.build_id,
                                           sizeof(d.build_id)) < 0)
        return -EINVAL;
    v = json_object_get(td, "pushes");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        d.pushes = json_integer_value(v);
    v = json_object_get(td, "last_status");
    if (json_is_string(v))
        snprintf(d.last_status, sizeof(d.last_status), "%s", json_string_value(v));
    d.push_ok = json_is_true(json_object_get(td, "push_ok"));
    *ret = d;
    return 0;
}

int bb_task_data_json(const struct bb_task_data *d, json_t **ret)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:b}", "build_id", d->build_id, "pushes",
                          (json_int_t)d->pushes, "last_status", d->last_status, "push_ok",
                          d->push_ok);
    if (!o)
        return -ENOMEM;
    *ret = o;
    return 0;
}

int64_t bb_poll_delay(const struct bb_poll *p, bool push_ok, uint64_t rnd)
{
    if (push_ok && p->long_ns > 0)
        return p->long_ns;
    if (p->max_ns <= p->min_ns)
        return p->min_ns;
    int64_t d = p->min_ns + (int64_t)(rnd % (uint64_t)(p->max_ns - p->min_ns));
    int64_t t = d - d % NS_PER_SEC;
    return t < p->min_ns ? p->min_ns : t;
}

void bb_task_data_observe(struct bb_task_data *d, bool from_push, const char *status)
{
    if (from_push) {
        d->pushes++;
        d->push_ok = true;
    } else if (strcmp(d->last_status, status) != 0) {
        /* Buildbucket pushes on every change; this one never came. */
        d->push_ok = false;
    }
    snprintf(d->last_status, sizeof(d->last_status), "%s", status);
}
