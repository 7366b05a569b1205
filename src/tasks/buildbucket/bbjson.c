/*
 * bbjson.c - JSON as LUCI's Go code prints it in debug logs.
 *
 * Three printers share one walker (bb-internal.h): jsonpb with a 2-space
 * indent for protobuf messages (the Buildbucket request and builds), with
 * jsonpb v1's indentation of google.protobuf.Struct values; and
 * encoding/json, indented or compact, for the v1 API's structs.  Go's
 * string escaping is reproduced (HTML characters as \u003c...), so a dump
 * reads byte for byte as LUCI's.
 */
#include "tasks/buildbucket/bb-internal.h"

#include <math.h>

struct walk {
    enum bb_json_style style;
    struct buf *out;
};

static int put_spaces(struct buf *out, int n)
{
    for (int i = 0; i < n; i++) {
        int r = buf_putc(out, ' ');
        if (r < 0)
            return r;
    }
    return 0;
}

/* Go's encodeState.string with escapeHTML: what json.Marshal writes. */
static int put_string(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int r = buf_putc(out, '"');

    for (size_t i = 0; r == 0 && i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            r = buf_append(out, e, 2);
        } else if (ch == '\n') {
            r = buf_puts(out, "\\n");
        } else if (ch == '\r') {
            r = buf_puts(out, "\\r");
        } else if (ch == '\t') {
            r = buf_puts(out, "\\t");
        } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
            char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            r = buf_append(out, e, 6);
        } else if (ch == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            r = buf_puts(out, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 2;
        } else {
            r = buf_putc(out, (char)ch);
        }
    }
    return r < 0 ? r : buf_putc(out, '"');
}

/*
 * A real in its shortest round-trip form, written as Go's encoding/json
 * does: plain decimal for 1e-6 <= |v| < 1e21, else an exponent.
 */
static int put_real(struct buf *out, double v)
{
    char tmp[64];
    double a = fabs(v);

    if (!isfinite(v))
        return buf_puts(out, "null");
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*g", p, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    char *e = strchr(tmp, 'e');
    if (e && (a == 0 || (a >= 1e-6 && a < 1e21))) {
        /* Rewrite 1.5e+07 as 15000000 (digits are already the shortest). */
        int exp10 = (int)strtol(e + 1, NULL, 10);
        int digits = 0;
        for (char *q = tmp; q < e; q++)
            digits += *q >= '0' && *q <= '9';
        int decimals = digits - 1 - exp10;
        snprintf(tmp, sizeof(tmp), "%.*f", decimals > 0 ? decimals : 0, v);
    } else if (e) {
        /* Go writes e-07 as e-07 -> "e-7" and e+21 as "e+21". */
        char *q = e + 2;
        if (*q == '0' && q[1]) {
            memmove(q, q + 1, strlen(q));
        }
    }
    return buf_puts(out, tmp);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The keys of obj in print order: insertion order, or sorted.  Returns a
 * malloc'd array (NULL for an empty object) and its length in *n.
 */
static int object_keys(const json_t *obj, bool sorted, const char ***ret, size_t *n)
{
    size_t size = json_object_size(obj), i = 0;
    const char *key;
    json_t *val;
    const char **keys;

    *n = size;
    *ret = NULL;
    if (size == 0)
        return 0;
    keys = malloc(size * sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    json_object_foreach((json_t *)obj, key, val) {
        (void)val;
        keys[i++] = key;
    }
    if (sorted)
        sort_array(keys, size, sizeof(*keys), key_cmp);
    *ret = keys;
    return 0;
}

static int walk_value(struct walk *w, const json_t *v, int ind, bool in_struct, unsigned depth);

static int put_scalar(struct buf *out, const json_t *v)
{
    char tmp[32];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return put_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf_puts(out, tmp);
    case JSON_REAL:
        return put_real(out, json_real_value(v));
    case JSON_TRUE:
        return buf_puts(out, "true");
    case JSON_FALSE:
        return buf_puts(out, "false");
    default:
        return buf_puts(out, "null");
    }
}

/*
 * Where an element of a container printed at indent ind goes, and the
 * indent its own containers get.  Messages (and encoding/json) nest by 2;
 * jsonpb v1 prints a Struct's nested values 6 deeper (its Value and Struct
 * wrappers each add one indent step).
 */
static void child_indents(const struct walk *w, int ind, bool in_struct, int *elem, int *nested)
{
    *elem = ind + 2;
    *nested = in_struct && w->style == BB_JSON_PROTO ? ind + 6 : ind + 2;
}

static int walk_object(struct walk *w, const json_t *v, int ind, bool in_struct, unsigned depth)
{
    bool pretty = w->style != BB_JSON_GO_COMPACT;
    bool sorted = w->style != BB_JSON_PROTO || in_struct;
    const char **keys = NULL;
    size_t n = 0;
    int elem, nested;
    int r = object_keys(v, sorted, &keys, &n);

    if (r < 0)
        return r;
    child_indents(w, ind, in_struct, &elem, &nested);
    r = buf_putc(w->out, '{');
    for (size_t i = 0; r == 0 && i < n; i++) {
        const json_t *child = json_object_get(v, keys[i]);
        if (i > 0)
            r = buf_putc(w->out, ',');
        if (r == 0 && pretty && (r = buf_putc(w->out, '\n')) == 0)
            r = put_spaces(w->out, elem);
        if (r == 0)
            r = put_string(w->out, keys[i], strlen(keys[i]));
        if (r == 0)
            r = buf_puts(w->out, pretty ? ": " : ":");
        if (r < 0)
            break;
        if (w->style == BB_JSON_PROTO && !in_struct && strcmp(keys[i], "properties") == 0 &&
            json_is_object(child))
            /* A Struct field: its map is printed one step deeper than the key. */
            r = walk_value(w, child, elem + 2, true, depth + 1);
        else
            r = walk_value(w, child, nested, in_struct, depth + 1);
    }
    if (r == 0 && pretty && n > 0 && (r = buf_putc(w->out, '\n')) == 0)
        r = put_spaces(w->out, ind);
    if (r == 0)
        r = buf_putc(w->out, '}');
    free(keys);
    return r;
}

static int walk_array(struct walk *w, const json_t *v, int ind, bool in_struct, unsigned depth)
{
    bool pretty = w->style != BB_JSON_GO_COMPACT;
    size_t n = json_array_size(v);
    int elem, nested;
    int r = buf_putc(w->out, '[');

    child_indents(w, ind, in_struct, &elem, &nested);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (i > 0)
            r = buf_putc(w->out, ',');
        if (r == 0 && pretty && (r = buf_putc(w->out, '\n')) == 0)
            r = put_spaces(w->out, elem);
        if (r == 0)
            r = walk_value(w, json_array_get(v, i), nested, in_struct, depth + 1);
    }
    if (r == 0 && pretty && n > 0 && (r = buf_putc(w->out, '\n')) == 0)
        r = put_spaces(w->out, ind);
    if (r == 0)
        r = buf_putc(w->out, ']');
    return r;
}

/*
 * ind: the indent of the container's own closing bracket.  For a message
 * that is the indent of its key's line; a Struct's entries sit 2 deeper
 * than ind and its nested containers 6 deeper (child_indents).
 */
static int walk_value(struct walk *w, const json_t *v, int ind, bool in_struct, unsigned depth)
{
    if (depth > LIMIT_JSON_DEPTH)
        return -E2BIG;
    if (json_is_object(v))
        return walk_object(w, v, ind, in_struct, depth);
    if (json_is_array(v))
        return walk_array(w, v, ind, in_struct, depth);
    return put_scalar(w->out, v);
}

int bb_json_write(const json_t *v, enum bb_json_style style, struct buf *out)
{
    struct walk w = {.style = style, .out = out};
    size_t len = out->len;
    int r = walk_value(&w, v, 0, false, 0);

    if (r < 0) {
        /* Leave out as it was. */
        out->len = len;
        if (out->alloc)
            out->data[len] = '\0';
    }
    return r;
}

void bb_log_json(struct task_ctl *c, const char *prefix, const json_t *v,
                 enum bb_json_style style)
{
    struct buf b;

    buf_init(&b, BUILDBUCKET_MAX_LOG_JSON_BYTES + 4096);
    if (buf_puts(&b, prefix) == 0 && buf_putc(&b, '\n') == 0) {
        struct buf j;
        buf_init(&j, BUILDBUCKET_MAX_LOG_JSON_BYTES * 4);
        if (bb_json_write(v, style, &j) < 0)
            buf_puts(&b, "<failed to marshal to JSON>");
        else if (j.len > BUILDBUCKET_MAX_LOG_JSON_BYTES)
            buf_printf(&b, "%.*s...", (int)BUILDBUCKET_MAX_LOG_JSON_BYTES, j.data);
        else
            buf_append(&b, j.data, j.len);
        buf_release(&j);
    }
    c->ops->log(c, b.data);
    buf_release(&b);
}

