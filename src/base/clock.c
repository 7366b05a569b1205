#include "base/clock.h"

#include <time.h>

static int64_t real_now(const struct clock *c)
{
    (void)c;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_mono(const struct clock *c)
{
    (void)c;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct clock real_clock = {real_now, real_mono};

int64_t clock_mono_ns(void)
{
    return real_mono(NULL);
}

struct timespec clock_mono_deadline(int64_t delay_ns)
{
    int64_t at = real_mono(NULL) + (delay_ns > 0 ? delay_ns : 0);
    struct timespec ts = {.tv_sec = (time_t)(at / 1000000000), .tv_nsec = (long)(at % 1000000000)};

    return ts;
}

const struct clock *clock_real(void)
{
    return &real_clock;
}

static int64_t manual_now(const struct clock *base)
{
    struct manual_clock *c = (struct manual_clock *)base;
    pthread_mutex_lock(&c->lock);
    int64_t t = c->now_ns;
    pthread_mutex_unlock(&c->lock);
    return t;
}

void manual_clock_init(struct manual_clock *c, int64_t start_ns)
{
    c->base.now = manual_now;
    c->base.mono = manual_now;
    pthread_mutex_init(&c->lock, NULL);
    c->now_ns = start_ns;
}

void manual_clock_release(struct manual_clock *c)
{
    pthread_mutex_destroy(&c->lock);
}

void manual_clock_set(struct manual_clock *c, int64_t now_ns)
{
    pthread_mutex_lock(&c->lock);
    c->now_ns = now_ns;
    pthread_mutex_unlock(&c->lock);
}

void manual_clock_advance(struct manual_clock *c, int64_t delta_ns)
{
    pthread_mutex_lock(&c->lock);
    c->now_ns += delta_ns;
    pthread_mutex_unlock(&c->lock);
}
