/*
 * util.c - the engine's general helpers: the malloc'ed string and JSON
 * columns of store rows, invocation ids kept in JSON arrays, and redoing
 * a transaction that lost a conflict.
 */
#include "engine/engine-internal.h"

#include <time.h>

void engine__retry_pause(struct engine *e, int attempt)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};

    if (attempt <= 0)
        return;
    /* 1..4 ms, then 2..8, 4..16 ...: the winner is done by then. */
    ts.tv_nsec = (long)(((int64_t)1 << (attempt - 1)) * NS_PER_MS *
                        (1 + (int64_t)(engine__rand(e) % 4)));
    nanosleep(&ts, NULL);
}

int engine__retry(struct engine *e, int (*fn)(struct engine *e, void *ctx), void *ctx)
{
    int r = -EAGAIN;

    for (int attempt = 0; attempt < ENGINE_TX_ATTEMPTS && r == -EAGAIN; attempt++) {
        engine__retry_pause(e, attempt);
        r = fn(e, ctx);
    }
    return r;
}

json_t *engine__json_parse(const char *text, size_t array_default)
{
    if (!text || !text[0])
        return array_default ? json_array() : NULL;
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

int engine__json_set(char **field, const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("");
    if (!s)
        return -ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

int engine__strset(char **field, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        return -ENOMEM;
    free(*field);
    *field = d;
    return 0;
}

int64_t engine__json_id(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? strtoll(s, NULL, 10) : json_integer_value(v);
}
