/*
 * builds.c - the build table: creation order list, hash by ID and by
 * dedup key, the active (non-final) set, eviction; builder lookup and
 * Buildbucket's name rules (§2.2).  Called with e->lock held.
 */
#include "base/compat.h"
#include "emu-internal.h"

static size_t id_slot(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)(x % EMU_HASH_BUCKETS);
}

static size_t key_slot(const char *key)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * UINT64_C(1099511628211);
    return (size_t)(h % EMU_HASH_BUCKETS);
}

struct emu_build *emu_build_find(struct emulator *e, int64_t id)
{
    for (struct emu_build *b = e->id_hash[id_slot(id)]; b; b = b->id_next)
        if (b->id == id)
            return b;
    return NULL;
}

struct emu_build *emu_build_find_key(struct emulator *e, const char *key)
{
    int64_t now = clock_now(e->clock);
    for (struct emu_build *b = e->key_hash[key_slot(key)]; b; b = b->key_next)
        if (b->dedup_key && strcmp(b->dedup_key, key) == 0)
            return b->dedup_until_ns > now ? b : NULL;
    return NULL;
}

static void unlink_key(struct emulator *e, struct emu_build *b)
{
    if (!b->dedup_key)
        return;
    for (struct emu_build **p = &e->key_hash[key_slot(b->dedup_key)]; *p; p = &(*p)->key_next) {
        if (*p == b) {
            *p = b->key_next;
            break;
        }
    }
    free(b->dedup_key);
    b->dedup_key = NULL;
}

void emu_build_set_key(struct emulator *e, struct emu_build *b, const char *key)
{
    struct emu_build *old;
    size_t slot = key_slot(key);

    /* An expired record of the same key on another build goes away. */
    for (old = e->key_hash[slot]; old; old = old->key_next)
        if (old->dedup_key && strcmp(old->dedup_key, key) == 0)
            break;
    if (old)
        unlink_key(e, old);
    b->dedup_key = strdup(key);
    if (!b->dedup_key)
        return; /* no dedup for this one: harmless */
    b->dedup_until_ns = clock_now(e->clock) + e->o.dedup_window_ns;
    b->key_next = e->key_hash[slot];
    e->key_hash[slot] = b;
}

static void build_free(struct emu_build *b)
{
    free(b->summary);
    free(b->cancel_md);
    free(b->canceled_by);
    json_decref(b->input);
    json_decref(b->tags);
    free(b->topic);
    free(b->user_data);
    free(b->auth_token);
    free(b->v1_bucket);
    free(b->parameters_json);
    free(b->dedup_key);
    free(b);
}

static void build_unlink(struct emulator *e, struct emu_build *b)
{
    for (struct emu_build **p = &e->id_hash[id_slot(b->id)]; *p; p = &(*p)->id_next) {
        if (*p == b) {
            *p = b->id_next;
            break;
        }
    }
    unlink_key(e, b);
    if (b->older)
        b->older->newer = b->newer;
    else
        e->oldest = b->newer;
    if (b->newer)
        b->newer->older = b->older;
    else
        e->newest = b->older;
    e->n_builds--;
}

/* Evicts the oldest final build; false when every build is still running. */
static bool evict_one(struct emulator *e)
{
    for (struct emu_build *b = e->oldest; b; b = b->newer) {
        if (!b->active) {
            build_unlink(e, b);
            build_free(b);
            return true;
        }
    }
    return false;
}

struct emu_build *emu_build_new(struct emulator *e, int *ret_err)
{
    struct emu_build *b;
    int64_t now = clock_now(e->clock), id;

    if (e->n_builds >= e->o.max_builds && !evict_one(e)) {
        *ret_err = -EAGAIN;
        return NULL;
    }
    for (int tries = 0;; tries++) {
        id = emu_build_id(now, (uint16_t)emu_random(e));
        if (!emu_build_find(e, id))
            break;
        if (tries > 1000) {
            *ret_err = -EAGAIN;
            return NULL;
        }
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        *ret_err = -ENOMEM;
        return NULL;
    }
    b->id = id;
    b->status = EMU_SCHEDULED;
    b->create_ns = b->update_ns = b->status_changed_ns = now;
    size_t slot = id_slot(id);
    b->id_next = e->id_hash[slot];
    e->id_hash[slot] = b;
    b->older = e->newest;
    if (e->newest)
        e->newest->newer = b;
    else
        e->oldest = b;
    e->newest = b;
    e->n_builds++;
    return b;
}

void emu_builds_free_all(struct emulator *e)
{
    while (e->oldest) {
        struct emu_build *b = e->oldest;
        build_unlink(e, b);
        build_free(b);
    }
}

int emu_active_add(struct emulator *e, struct emu_build *b)
{
    if (e->n_active == e->active_alloc) {
        size_t n = e->active_alloc ? e->active_alloc * 2 : 64;
        struct emu_build **v = realloc(e->active, n * sizeof(*v));
        if (!v)
            return -ENOMEM;
        e->active = v;
        e->active_alloc = n;
    }
    e->active[e->n_active++] = b;
    b->active = true;
    return 0;
}

void emu_active_remove(struct emulator *e, struct emu_build *b)
{
    for (size_t i = 0; i < e->n_active; i++) {
        if (e->active[i] == b) {
            e->active[i] = e->active[--e->n_active];
            break;
        }
    }
    b->active = false;
}

struct emu_builder *emu_builder_find(struct emulator *e, const char *project, const char *bucket,
                                     const char *builder)
{
    struct emu_builder *wild = NULL;
    for (size_t i = 0; i < e->builders->n; i++) {
        struct emu_builder *b = &e->builders->v[i];
        if (strcmp(b->project, project) != 0 || strcmp(b->bucket, bucket) != 0)
            continue;
        if (strcmp(b->builder, builder) == 0)
            return b;
        if (!wild && strcmp(b->builder, "*") == 0)
            wild = b;
    }
    return wild;
}

struct emu_builder *emu_builder_find_legacy(struct emulator *e, const char *bucket,
                                            const char *builder)
{
    struct emu_builder *wild = NULL;
    for (size_t i = 0; i < e->builders->n; i++) {
        struct emu_builder *b = &e->builders->v[i];
        if (strcmp(b->legacy_bucket, bucket) != 0)
            continue;
        if (strcmp(b->builder, builder) == 0)
            return b;
        if (!wild && strcmp(b->builder, "*") == 0)
            wild = b;
    }
    return wild;
}

/* Every byte of s in the set allowed, length 1..max. */
static bool name_ok(const char *s, size_t max, bool upper, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (upper && c >= 'A' && c <= 'Z') || strchr(extra, c);
        if (!ok)
            return false;
    }
    return true;
}

bool emu_project_name_ok(const char *s)
{
    return name_ok(s, 100, false, "-_");
}

bool emu_bucket_name_ok(const char *s)
{
    return name_ok(s, 100, false, "-_.");
}

bool emu_builder_name_ok(const char *s)
{
    return name_ok(s, 128, true, "-_.() ");
}
