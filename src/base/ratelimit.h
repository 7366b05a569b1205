/*
 * ratelimit.h - a token bucket per caller: the API's expensive calls, the web UI's sign-in.
 *
 * A limit is "calls per period, with bursts of burst": each caller key (an
 * identity, or "anonymous:anonymous@<client address>") has a bucket of
 * burst tokens that refills at calls per period; a call takes one token,
 * and a call finding the bucket empty is refused with the time until the
 * next token.  Kept as GCRA: one "theoretical arrival time" per key, so a
 * bucket is 8 bytes plus its key.
 *
 * Memory is bounded: at most max_keys buckets (LIMIT_API_RATE_KEYS when 0).
 * A full bucket (its caller idle long enough to refill) is the same as no
 * bucket, so idle buckets are dropped when room is needed; when every
 * bucket is in use, the one used least recently is dropped (its caller
 * starts again with a full bucket).
 *
 * Times are the caller's (monotonic ns; tests pass any numbers).
 * Thread-safe: one mutex around the table.  Pure otherwise: no clock, no
 * logging.
 */
#ifndef TOCK_BASE_RATELIMIT_H
#define TOCK_BASE_RATELIMIT_H

#include "base/compat.h"

/* A limit; calls == 0 means no limit. */
struct rate_limit {
    uint32_t calls;    /* calls per period, 1 .. LIMIT_API_RATE_MAX */
    int64_t period_ns; /* NS_PER_SEC or NS_PER_MIN */
    uint32_t burst;    /* bucket size, 1 .. LIMIT_API_RATE_MAX */
};

/*
 * Parses "N[/s|/m],BURST" (e.g. "10/s,20", "600/m,50", "5,5"; N and BURST
 * from 1 to LIMIT_API_RATE_MAX) or "off".  Returns 0, or -EINVAL with a
 * one-line reason in err.
 */
int rate_limit_parse(const char *text, struct rate_limit *ret, char *err, size_t errlen);

/* "10 calls per second with bursts of 20" into out; "no limit" when off. */
void rate_limit_describe(const struct rate_limit *l, char *out, size_t outlen);

struct ratelimit;

/*
 * A table for limit l (copied; l->calls must not be 0) holding at most
 * max_keys buckets (0 = LIMIT_API_RATE_KEYS).  NULL on -ENOMEM or a bad
 * limit.
 */
struct ratelimit *ratelimit_new(const struct rate_limit *l, size_t max_keys);

/* NULL-safe; returns NULL. */
struct ratelimit *ratelimit_free(struct ratelimit *rl);

/*
 * Takes one token of key's bucket at time now.  Returns true when the call
 * may go on; false when the bucket is empty, with the wait until the next
 * token in *ret_retry_ns (may be NULL).  Keys longer than
 * LIMIT_IDENTITY_LEN + 64 bytes are cut.  A key that cannot be stored
 * (out of memory) is let through.
 */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now, int64_t *ret_retry_ns);

/* How many buckets the table holds now (for tests). */
size_t ratelimit_size(struct ratelimit *rl);

#endif
