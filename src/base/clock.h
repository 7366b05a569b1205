/*
 * clock.h - the one injectable source of "now".
 *
 * No module reads the system clock except clock.c: everything that needs
 * the time takes a const struct clock * and calls clock_now().  The server
 * uses clock_real(); tests use a struct manual_clock whose time only moves
 * when the test says so, so minutes of scheduler life run in microseconds.
 *
 * Times are int64_t nanoseconds since the epoch, UTC (base/time.h).
 */
#ifndef TOCK_BASE_CLOCK_H
#define TOCK_BASE_CLOCK_H

#include "base/compat.h"

#include <pthread.h>
#include <time.h>

struct clock {
    int64_t (*now)(const struct clock *c); /* wall time, ns since the epoch */
    int64_t (*mono)(const struct clock *c); /* monotonic ns, for timeouts */
};

static inline int64_t clock_now(const struct clock *c)
{
    return c->now(c);
}

static inline int64_t clock_mono(const struct clock *c)
{
    return c->mono(c);
}

/* The system clock (CLOCK_REALTIME / CLOCK_MONOTONIC).  Static; never freed. */
const struct clock *clock_real(void);

/*
 * CLOCK_MONOTONIC now, in ns: for intervals and deadlines of the machine
 * (a store transaction's time, an HTTP connection's deadline, a poll's
 * timeout), never for the scheduler's own time, which comes from a struct
 * clock.  Thread-safe.
 */
int64_t clock_mono_ns(void);

/*
 * The CLOCK_MONOTONIC instant delay_ns (>= 0) from now, for
 * pthread_cond_timedwait on a condition variable whose clock attribute is
 * CLOCK_MONOTONIC.  Thread-safe.
 */
struct timespec clock_mono_deadline(int64_t delay_ns);

/*
 * A clock for tests.  Thread-safe: the engine's workers may read it while
 * the test advances it.  mono() returns the same value as now().
 */
struct manual_clock {
    struct clock base; /* first: a struct manual_clock * is a struct clock * */
    pthread_mutex_t lock;
    int64_t now_ns;
};

void manual_clock_init(struct manual_clock *c, int64_t start_ns);
void manual_clock_release(struct manual_clock *c);
void manual_clock_set(struct manual_clock *c, int64_t now_ns);
void manual_clock_advance(struct manual_clock *c, int64_t delta_ns);

#endif
