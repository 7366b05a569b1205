/*
 * textpb.c - a task definition (protobuf JSON) in the protobuf text format
 * the UI's "Definition" shows (spec A.4, golang/protobuf v1's marshaler):
 * snake_case names, one "name: value" per line, nested messages as
 * "name: <" ... ">" indented by two spaces, repeated fields repeated,
 * strings double-quoted with C escapes and every byte outside printable
 * ASCII as \ooo, int64 fields (JSON strings) as bare numbers.
 */
#include "base/compat.h"

#include "web/web-internal.h"

#define TEXTPB_MAX_DEPTH 8

/* The int64 fields of the task messages (protobuf JSON writes them as strings). */
static bool is_int64_field(const char *json_name)
{
    static const char *const names[] = {"sleepMs", "triggersCount"};

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(json_name, names[i]) == 0)
            return true;
    return false;
}

static int put_name(struct buf *out, int depth, const char *json_name)
{
    int r = 0;

    for (int i = 0; i < depth && r == 0; i++)
        r = buf_puts(out, "  ");
    for (const char *c = json_name; *c && r == 0; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            r = buf_putc(out, '_');
            if (r == 0)
                r = buf_putc(out, (char)(*c - 'A' + 'a'));
        } else {
            r = buf_putc(out, *c);
        }
    }
    return r;
}

static int put_string(struct buf *out, const char *s)
{
    int r = buf_putc(out, '"');

    for (const unsigned char *c = (const unsigned char *)s; *c && r == 0; c++) {
        switch (*c) {
        case '"': r = buf_puts(out, "\\\""); break;
        case '\\': r = buf_puts(out, "\\\\"); break;
        case '\n': r = buf_puts(out, "\\n"); break;
        case '\r': r = buf_puts(out, "\\r"); break;
        case '\t': r = buf_puts(out, "\\t"); break;
        default:
            if (*c < 0x20 || *c >= 0x7f)
                r = buf_printf(out, "\\%03o", *c);
            else
                r = buf_putc(out, (char)*c);
        }
    }
    return r == 0 ? buf_putc(out, '"') : r;
}

static int put_fields(const json_t *msg, int depth, struct buf *out);

/* One "name: value" line (or a nested message) for a scalar or object v. */
static int put_field(const char *key, const json_t *v, int depth, struct buf *out)
{
    int r;

    if (json_is_object(v)) {
        if ((r = put_name(out, depth, key)) < 0 || (r = buf_puts(out, ": <\n")) < 0 ||
            (r = put_fields(v, depth + 1, out)) < 0)
            return r;
        for (int i = 0; i < depth && r == 0; i++)
            r = buf_puts(out, "  ");
        return r == 0 ? buf_puts(out, ">\n") : r;
    }
    if ((r = put_name(out, depth, key)) < 0 || (r = buf_puts(out, ": ")) < 0)
        return r;
    if (json_is_string(v) && is_int64_field(key))
        r = buf_puts(out, json_string_value(v));
    else if (json_is_string(v))
        r = put_string(out, json_string_value(v));
    else if (json_is_integer(v))
        r = buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v))
        r = buf_puts(out, json_is_true(v) ? "true" : "false");
    else if (json_is_real(v))
        r = buf_printf(out, "%g", json_real_value(v));
    else
        return -EINVAL;
    return r == 0 ? buf_putc(out, '\n') : r;
}

/*
 * The text format writes fields by field number (spec 1.6): the fields of
 * the task messages in that order; fields not listed keep their order,
 * after the listed ones.
 */
static const char *const field_order[] = {
    /* NoopTask */ "sleepMs", "triggersCount",
    /* GitilesTask */ "repo", "refs", "pathRegexps", "pathRegexpsExclude",
    /* UrlFetchTask */ "method", "url", "timeoutSec",
    /* BuildbucketTask */ "server", "bucket", "builder", "properties", "tags",
};

#define TEXTPB_MAX_FIELDS 64

struct field {
    const char *key;
    json_t *v;
    size_t rank;
};

static size_t field_rank(const char *key, size_t index)
{
    for (size_t i = 0; i < ARRAY_SIZE(field_order); i++)
        if (strcmp(key, field_order[i]) == 0)
            return i;
    return ARRAY_SIZE(field_order) + index;
}

/* The fields of msg in text-format order into v (at most TEXTPB_MAX_FIELDS). */
static int order_fields(const json_t *msg, struct field *v, size_t *ret_n)
{
    const char *key;
    json_t *val;
    size_t n = 0;

    json_object_foreach((json_t *)msg, key, val) {
        if (n == TEXTPB_MAX_FIELDS)
            return -E2BIG;
        struct field f = {key, val, field_rank(key, n)};
        size_t at = n++;
        while (at > 0 && v[at - 1].rank > f.rank) { /* insertion sort: stable, small n */
            v[at] = v[at - 1];
            at--;
        }
        v[at] = f;
    }
    *ret_n = n;
    return 0;
}

static int put_fields(const json_t *msg, int depth, struct buf *out)
{
    struct field fields[TEXTPB_MAX_FIELDS];
    size_t nf = 0;
    const char *key;
    json_t *v;
    int r = 0;

    if (depth > TEXTPB_MAX_DEPTH)
        return -EINVAL;
    if ((r = order_fields(msg, fields, &nf)) < 0)
        return r;
    for (size_t fi = 0; fi < nf; fi++) {
        key = fields[fi].key;
        v = fields[fi].v;
        if (json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) {
                if ((r = put_field(key, item, depth, out)) < 0)
                    return r;
            }
        } else if (!json_is_null(v) && (r = put_field(key, v, depth, out)) < 0) {
            return r;
        }
    }
    return 0;
}

int textpb_task(const json_t *def, struct buf *out)
{
    struct buf b;
    int r;

    if (!json_is_object(def) || json_object_size(def) != 1)
        return -EINVAL;
    buf_init(&b, out->max);
    r = put_fields(def, 0, &b);
    if (r == 0)
        r = buf_append(out, b.data, b.len);
    buf_release(&b);
    return r;
}

/* A protobuf JSON Duration "<s>[.<frac>]s" as a nested text message. */
static int put_duration(const char *name, const char *text, struct buf *out)
{
    char *end = NULL;
    long long secs;
    long nanos = 0;
    int r;

    errno = 0;
    secs = strtoll(text, &end, 10);
    if (errno != 0 || end == text)
        return -EINVAL;
    if (*end == '.') {
        const char *f = end + 1;
        int digits = 0;
        for (; *f >= '0' && *f <= '9' && digits < 9; f++, digits++)
            nanos = nanos * 10 + (*f - '0');
        for (; digits < 9; digits++)
            nanos *= 10;
        end = (char *)f;
    }
    if (strcmp(end, "s") != 0)
        return -EINVAL;
    r = buf_printf(out, "%s: <\n", name);
    if (r == 0 && secs != 0)
        r = buf_printf(out, "  seconds: %lld\n", secs);
    if (r == 0 && nanos != 0)
        r = buf_printf(out, "  nanos: %ld\n", nanos);
    return r == 0 ? buf_puts(out, ">\n") : r;
}

static int put_policy_field(const char *key, const json_t *v, struct buf *out)
{
    if (strcmp(key, "kind") == 0 && json_is_string(v))
        return buf_printf(out, "kind: %s\n", json_string_value(v)); /* an enum: bare */
    if (strcmp(key, "pendingTimeout") == 0 && json_is_string(v))
        return put_duration("pending_timeout", json_string_value(v), out);
    if (strcmp(key, "logBase") == 0 && json_is_number(v))
        return buf_printf(out, "log_base: %g\n", json_number_value(v));
    if (json_is_integer(v) || (json_is_string(v) && json_string_value(v)[0] >= '0' &&
                               json_string_value(v)[0] <= '9')) {
        int r = put_name(out, 0, key);
        if (r == 0)
            r = json_is_integer(v)
                    ? buf_printf(out, ": %" JSON_INTEGER_FORMAT "\n", json_integer_value(v))
                    : buf_printf(out, ": %s\n", json_string_value(v));
        return r;
    }
    return -EINVAL;
}

int textpb_policy(const json_t *policy, struct buf *out)
{
    struct buf b;
    const char *key;
    json_t *v;
    int r = 0;

    if (!json_is_object(policy))
        return -EINVAL;
    buf_init(&b, out->max);
    json_object_foreach((json_t *)policy, key, v) {
        if ((r = put_policy_field(key, v, &b)) < 0)
            break;
    }
    if (r == 0)
        r = buf_append(out, b.data, b.len);
    buf_release(&b);
    return r;
}
