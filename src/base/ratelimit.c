/*
 * ratelimit.c - token buckets per caller key (contract in ratelimit.h).
 *
 * GCRA: with T = period / calls (the time one token takes to come back)
 * and tau = (burst - 1) * T, a bucket is its theoretical arrival time tat.
 * A call at now passes when max(tat, now) - now <= tau, and then tat =
 * max(tat, now) + T.  tat <= now means a full bucket.
 *
 * The table: max_keys buckets in one array, a chained hash index over
 * them (heads[], next), a free list through next.
 */
#include "base/compat.h"
#include "base/ratelimit.h"

#include <pthread.h>

#include "base/limits.h"
#include "base/time.h"

#define KEY_MAX (LIMIT_IDENTITY_LEN + 64)

struct bucket {
    char *key; /* NULL = free */
    int64_t tat;
    int64_t last_used;
    int32_t next; /* chain (used) or free list (free); -1 = end */
};

struct ratelimit {
    pthread_mutex_t lock;
    int64_t t_ns, tau_ns;
    struct bucket *b;
    size_t max, n;
    int32_t *heads;
    size_t n_heads; /* a power of two */
    int32_t free_head;
};

/* ---- the limit's text ---- */

static int parse_count(const char *s, const char *end, uint32_t *ret)
{
    uint64_t v = 0;

    if (s == end)
        return -EINVAL;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > LIMIT_API_RATE_MAX)
            return -EINVAL;
    }
    if (v == 0)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

int rate_limit_parse(const char *text, struct rate_limit *ret, char *err, size_t errlen)
{
    struct rate_limit l = {.period_ns = NS_PER_SEC};
    const char *comma = text ? strchr(text, ',') : NULL;
    const char *slash, *end;

    if (text && strcmp(text, "off") == 0) {
        *ret = (struct rate_limit){0};
        return 0;
    }
    if (!comma)
        goto bad;
    slash = memchr(text, '/', (size_t)(comma - text));
    end = slash ? slash : comma;
    if (parse_count(text, end, &l.calls) < 0)
        goto bad;
    if (slash) {
        size_t unit = (size_t)(comma - slash - 1);
        if (unit == 1 && slash[1] == 's')
            l.period_ns = NS_PER_SEC;
        else if (unit == 1 && slash[1] == 'm')
            l.period_ns = NS_PER_MIN;
        else
            goto bad;
    }
    if (parse_count(comma + 1, comma + 1 + strlen(comma + 1), &l.burst) < 0)
        goto bad;
    *ret = l;
    return 0;
bad:
    if (err && errlen)
        snprintf(err, errlen,
                 "a rate limit is N[/s|/m],BURST with N and BURST from 1 to %d "
                 "(e.g. 10/s,20), or off; not '%.100s'",
                 LIMIT_API_RATE_MAX, text ? text : "");
    return -EINVAL;
}

void rate_limit_describe(const struct rate_limit *l, char *out, size_t outlen)
{
    if (!l || l->calls == 0) {
        snprintf(out, outlen, "no limit");
        return;
    }
    snprintf(out, outlen, "%" PRIu32 " call%s per %s with bursts of %" PRIu32, l->calls,
             l->calls == 1 ? "" : "s", l->period_ns == NS_PER_MIN ? "minute" : "second",
             l->burst);
}

/* ---- the table ---- */

struct ratelimit *ratelimit_new(const struct rate_limit *l, size_t max_keys)
{
    struct ratelimit *rl;

    if (!l || l->calls == 0 || l->burst == 0 || l->period_ns <= 0)
        return NULL;
    if (max_keys == 0)
        max_keys = LIMIT_API_RATE_KEYS;
    if (max_keys > INT32_MAX / 4)
        return NULL;
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->t_ns = l->period_ns / l->calls;
    if (rl->t_ns < 1)
        rl->t_ns = 1;
    rl->tau_ns = (int64_t)(l->burst - 1) * rl->t_ns;
    rl->max = max_keys;
    rl->n_heads = 16;
    while (rl->n_heads < 2 * max_keys)
        rl->n_heads *= 2;
    rl->b = calloc(max_keys, sizeof(*rl->b));
    rl->heads = malloc(rl->n_heads * sizeof(*rl->heads));
    if (!rl->b || !rl->heads) {
        free(rl->b);
        free(rl->heads);
        free(rl);
        return NULL;
    }
    for (size_t i = 0; i < rl->n_heads; i++)
        rl->heads[i] = -1;
    for (size_t i = 0; i < max_keys; i++)
        rl->b[i].next = i + 1 < max_keys ? (int32_t)(i + 1) : -1;
    rl->free_head = 0;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

struct ratelimit *ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return NULL;
    for (size_t i = 0; i < rl->max; i++)
        free(rl->b[i].key);
    free(rl->b);
    free(rl->heads);
    pthread_mutex_destroy(&rl->lock);
    free(rl);
    return NULL;
}

/* FNV-1a, 64 bits. */
static size_t slot_of(const struct ratelimit *rl, const char *key)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return (size_t)(h & (rl->n_heads - 1));
}

static int32_t find(const struct ratelimit *rl, const char *key)
{
    for (int32_t i = rl->heads[slot_of(rl, key)]; i >= 0; i = rl->b[i].next) {
        if (strcmp(rl->b[i].key, key) == 0)
            return i;
    }
    return -1;
}

static void drop(struct ratelimit *rl, int32_t at)
{
    int32_t *link = &rl->heads[slot_of(rl, rl->b[at].key)];

    while (*link != at)
        link = &rl->b[*link].next;
    *link = rl->b[at].next;
    free(rl->b[at].key);
    rl->b[at] = (struct bucket){.next = rl->free_head};
    rl->free_head = at;
    rl->n--;
}

/* Makes room for one bucket: drops the full ones, else the least recently used. */
static void evict(struct ratelimit *rl, int64_t now)
{
    int32_t oldest = -1;

    for (size_t i = 0; i < rl->max; i++) {
        if (rl->b[i].key && rl->b[i].tat <= now)
            drop(rl, (int32_t)i);
    }
    if (rl->n < rl->max)
        return;
    for (size_t i = 0; i < rl->max; i++) {
        if (rl->b[i].key && (oldest < 0 || rl->b[i].last_used < rl->b[oldest].last_used))
            oldest = (int32_t)i;
    }
    if (oldest >= 0)
        drop(rl, oldest);
}

/* The bucket of key, made (full) when absent; -1 when out of memory. */
static int32_t get_bucket(struct ratelimit *rl, const char *key, int64_t now)
{
    int32_t at = find(rl, key);
    size_t slot;

    if (at >= 0)
        return at;
    if (rl->n >= rl->max)
        evict(rl, now);
    at = rl->free_head;
    if (at < 0)
        return -1;
    rl->b[at].key = strdup(key);
    if (!rl->b[at].key)
        return -1;
    rl->free_head = rl->b[at].next;
    slot = slot_of(rl, key);
    rl->b[at].tat = now;
    rl->b[at].next = rl->heads[slot];
    rl->heads[slot] = at;
    rl->n++;
    return at;
}

bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now, int64_t *ret_retry_ns)
{
    char cut[KEY_MAX + 1];
    bool ok = true;
    int32_t at;

    snprintf(cut, sizeof(cut), "%s", key ? key : "");
    pthread_mutex_lock(&rl->lock);
    at = get_bucket(rl, cut, now);
    if (at >= 0) {
        struct bucket *b = &rl->b[at];
        int64_t start = b->tat > now ? b->tat : now;
        b->last_used = now;
        if (start - now > rl->tau_ns) {
            ok = false;
            if (ret_retry_ns)
                *ret_retry_ns = start - now - rl->tau_ns;
        } else {
            b->tat = start + rl->t_ns;
        }
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

size_t ratelimit_size(struct ratelimit *rl)
{
    size_t n;

    pthread_mutex_lock(&rl->lock);
    n = rl->n;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
