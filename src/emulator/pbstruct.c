/*
 * pbstruct.c - the binary protobuf of a Build holding only its large
 * fields (input.properties, output.properties), as Buildbucket puts it,
 * zlib-compressed, in a notification's buildLargeFields (§2.12).  Pure.
 *
 * google.protobuf.Struct { map<string, Value> fields = 1; }
 * Value { null_value = 1 (varint); number_value = 2 (double);
 *         string_value = 3; bool_value = 4; struct_value = 5;
 *         list_value = 6 (ListValue { repeated Value values = 1; }) }
 * Build { Input input = 15; Output output = 16; }, Input/Output
 * { Struct properties = 1; }.
 */
#include "base/compat.h"
#include "base/buf.h"
#include "base/limits.h"
#include "emulator/emulator.h"

#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2

static int put_varint(struct buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= (char)0x80;
        n++;
    } while (v);
    return buf_append(b, tmp, n);
}

static int put_tag(struct buf *b, unsigned field, unsigned wt)
{
    return put_varint(b, ((uint64_t)field << 3) | wt);
}

/* Appends field as a length-delimited record holding inner's bytes. */
static int put_len(struct buf *b, unsigned field, const struct buf *inner)
{
    int r = put_tag(b, field, WT_LEN);
    if (r == 0)
        r = put_varint(b, inner->len);
    if (r == 0)
        r = buf_append(b, inner->data, inner->len);
    return r;
}

static int put_bytes(struct buf *b, unsigned field, const char *s, size_t n)
{
    int r = put_tag(b, field, WT_LEN);
    if (r == 0)
        r = put_varint(b, n);
    if (r == 0)
        r = buf_append(b, s, n);
    return r;
}

static int encode_struct(const json_t *obj, struct buf *out, unsigned depth);

static int encode_value(const json_t *v, struct buf *out, unsigned depth)
{
    struct buf inner;
    int r = 0;

    if (depth > LIMIT_JSON_DEPTH)
        return -E2BIG;
    buf_init(&inner, out->max);
    switch (json_typeof(v)) {
    case JSON_NULL:
        r = put_tag(out, 1, WT_VARINT);
        if (r == 0)
            r = put_varint(out, 0);
        break;
    case JSON_INTEGER:
    case JSON_REAL: {
        double d = json_number_value(v);
        uint64_t bits;
        char le[8];
        memcpy(&bits, &d, 8);
        for (int i = 0; i < 8; i++)
            le[i] = (char)(bits >> (8 * i));
        r = put_tag(out, 2, WT_I64);
        if (r == 0)
            r = buf_append(out, le, 8);
        break;
    }
    case JSON_STRING:
        r = put_bytes(out, 3, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        r = put_tag(out, 4, WT_VARINT);
        if (r == 0)
            r = put_varint(out, json_is_true(v) ? 1 : 0);
        break;
    case JSON_OBJECT:
        r = encode_struct(v, &inner, depth + 1);
        if (r == 0)
            r = put_len(out, 5, &inner);
        break;
    case JSON_ARRAY: {
        struct buf item;
        size_t i;
        const json_t *x;
        buf_init(&item, out->max);
        json_array_foreach(v, i, x) {
            buf_reset(&item);
            r = encode_value(x, &item, depth + 1);
            if (r == 0)
                r = put_len(&inner, 1, &item);
            if (r < 0)
                break;
        }
        buf_release(&item);
        if (r == 0)
            r = put_len(out, 6, &inner);
        break;
    }
    }
    buf_release(&inner);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int encode_struct(const json_t *obj, struct buf *out, unsigned depth)
{
    size_t n = json_object_size(obj), k = 0;
    const char **keys;
    const char *key;
    const json_t *v;
    struct buf entry, val;
    int r = 0;

    if (!json_is_object(obj))
        return -EINVAL;
    keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    json_object_foreach((json_t *)obj, key, v)
        keys[k++] = key;
    sort_array(keys, n, sizeof(*keys), cmp_str);
    buf_init(&entry, out->max);
    buf_init(&val, out->max);
    for (k = 0; k < n && r == 0; k++) {
        buf_reset(&entry);
        buf_reset(&val);
        r = put_bytes(&entry, 1, keys[k], strlen(keys[k]));
        if (r == 0)
            r = encode_value(json_object_get(obj, keys[k]), &val, depth);
        if (r == 0)
            r = put_len(&entry, 2, &val);
        if (r == 0)
            r = put_len(out, 1, &entry);
    }
    buf_release(&entry);
    buf_release(&val);
    free(keys);
    return r;
}

/* Appends field { properties = 1: Struct } when props is set. */
static int encode_holder(unsigned field, const json_t *props, struct buf *out)
{
    struct buf s, holder;
    int r;

    if (!props)
        return 0;
    buf_init(&s, out->max);
    buf_init(&holder, out->max);
    r = encode_struct(props, &s, 1);
    if (r == 0)
        r = put_len(&holder, 1, &s);
    if (r == 0)
        r = put_len(out, field, &holder);
    buf_release(&s);
    buf_release(&holder);
    return r;
}

int emu_pb_large_fields(const json_t *input_props, const json_t *output_props, struct buf *out)
{
    int r = encode_holder(15, input_props, out);
    if (r == 0)
        r = encode_holder(16, output_props, out);
    return r;
}
