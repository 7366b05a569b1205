/*
 * statecache.c - the parsed-state cache of the controller (engine-internal.h):
 * a few large manager state texts and their parsed JSON, so a job whose
 * state did not change since its last invocation (an idle poller's
 * 600 KB of known refs) is not parsed again by jansson every poll.
 */
#include "base/compat.h"

#include "engine/engine-internal.h"

void engine__state_cache_release(struct engine *e)
{
    for (size_t i = 0; i < LIMIT_ENGINE_STATE_CACHE_SLOTS; i++) {
        free(e->state_cache[i].text);
        json_decref(e->state_cache[i].value);
    }
    memset(e->state_cache, 0, sizeof(e->state_cache));
}

/* A copy of the cached parse of text (len bytes), or NULL.  Under state_lock. */
static json_t *cache_find(struct engine *e, const char *text, size_t len)
{
    for (size_t i = 0; i < LIMIT_ENGINE_STATE_CACHE_SLOTS; i++) {
        const struct state_cache_slot *s = &e->state_cache[i];
        if (s->text && s->len == len && memcmp(s->text, text, len) == 0)
            return json_deep_copy(s->value);
    }
    return NULL;
}

/* Remembers text and its parse v (a copy of each); nothing on ENOMEM.  Under state_lock. */
static void cache_put(struct engine *e, const char *text, size_t len, const json_t *v)
{
    struct state_cache_slot *s = &e->state_cache[e->state_cache_next];
    char *copy = malloc(len + 1);
    json_t *vc = json_deep_copy(v);

    if (!copy || !vc) {
        free(copy);
        json_decref(vc);
        return;
    }
    memcpy(copy, text, len + 1);
    free(s->text);
    json_decref(s->value);
    s->text = copy;
    s->len = len;
    s->value = vc;
    e->state_cache_next = (e->state_cache_next + 1) % LIMIT_ENGINE_STATE_CACHE_SLOTS;
}

json_t *engine__state_parse(struct engine *e, const char *text, json_error_t *err)
{
    size_t len = strlen(text);
    json_t *v;

    if (!e || len < LIMIT_ENGINE_STATE_CACHE_MIN || len > LIMIT_ENGINE_STATE_CACHE_MAX)
        return json_loads(text, JSON_DECODE_ANY, err);
    pthread_mutex_lock(&e->state_lock);
    v = cache_find(e, text, len);
    pthread_mutex_unlock(&e->state_lock);
    if (v)
        return v;
    v = json_loads(text, JSON_DECODE_ANY, err);
    if (!v)
        return NULL;
    pthread_mutex_lock(&e->state_lock);
    cache_put(e, text, len, v);
    pthread_mutex_unlock(&e->state_lock);
    return v;
}
