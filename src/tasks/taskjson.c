/*
 * taskjson.c - see taskjson.h.
 */
#include "tasks/taskjson.h"

const json_t *taskjson_body(const json_t *def, const char *key, const char *alt_key)
{
    const json_t *v = json_object_get(def, key);

    if (!v && alt_key)
        v = json_object_get(def, alt_key);
    return json_is_object(v) ? v : NULL;
}

int taskjson_int64(const json_t *obj, const char *key, int64_t *ret)
{
    const json_t *v = json_object_get(obj, key);
    const char *s, *p;
    int64_t acc = 0;
    bool neg;

    if (!v || json_is_null(v)) {
        *ret = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        *ret = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -EINVAL;
    s = json_string_value(v);
    neg = *s == '-';
    p = neg ? s + 1 : s;
    if (!*p)
        return -EINVAL;
    /* At most 19 digits fit; the loop is bounded by the string's length. */
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        int d = *p - '0';
        if (acc > (INT64_MAX - d) / 10)
            return -EINVAL;
        acc = acc * 10 + d;
    }
    *ret = neg ? -acc : acc;
    return 0;
}

const char *taskjson_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}
