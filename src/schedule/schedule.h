/*
 * schedule.h - the four kinds of schedule of a job and their next tick.
 *
 *   "triggered"                     never ticks by itself
 *   "continuously"                  relative, interval 0
 *   "with <go duration> interval"   relative: run, wait, run again
 *   anything else                   absolute: a cron expression (cron.h)
 *
 * Parsing follows LUCI Scheduler (luci-scheduler-spec.md section 2) with two
 * tock extensions that LUCI does not have, both rejected when
 * opts->strict_luci is set:
 *   "TZ=Area/City <cron>"  evaluate the cron expression in that time zone
 *                          (a wall time in a DST gap is skipped; one that
 *                          occurs twice fires once, at its first
 *                          occurrence; see cron_expr_next in cron.h);
 *   "H" fields             Jenkins-style stable per-job hash values.
 *
 * Pure: no I/O (time-zone data comes through opts->tz_load), no globals,
 * no clock.  All instants are int64_t nanoseconds UTC (base/time.h).
 */
#ifndef TOCK_SCHEDULE_SCHEDULE_H
#define TOCK_SCHEDULE_SCHEDULE_H

#include "base/compat.h"
#include "base/time.h"

struct cron_expr;
struct tz_zone;

enum schedule_kind {
    SCHEDULE_TRIGGERED,
    SCHEDULE_RELATIVE,
    SCHEDULE_ABSOLUTE,
};

struct schedule_options {
    /* Accept only what LUCI accepts: no TZ= prefix, no H. */
    bool strict_luci;
    /* Seed for H fields: the job's "<project>/<job>" id (may be NULL). */
    const char *job_id;
    /*
     * Loads a time zone by name for a TZ= prefix.  Returns a zone owned by
     * the loader (it must outlive the schedule), or NULL and an error text
     * in err.  NULL tz_load means TZ= prefixes are rejected.
     */
    const struct tz_zone *(*tz_load)(void *ctx, const char *name, char *err, size_t errlen);
    void *tz_ctx;
};

struct schedule;

/*
 * Parses a schedule string.  On success returns 0 and a new schedule in
 * *ret (free with schedule_free).  On failure returns -EINVAL and writes the
 * message LUCI gives into reterr_msg (e.g. `expecting format "with
 * <duration> interval"`, `syntax error in minute field: '61'`), without
 * the "<expr> is not valid value for 'schedule' field - " wrapper.
 * -ENOMEM when out of memory.
 */
int schedule_parse(const char *text, const struct schedule_options *opts,
                   struct schedule **ret, char *reterr_msg, size_t errlen);

/* Frees a schedule; NULL is fine.  Returns NULL. */
struct schedule *schedule_free(struct schedule *s);

enum schedule_kind schedule_kind(const struct schedule *s);

/* The original text, exactly as given to schedule_parse. */
const char *schedule_text(const struct schedule *s);

/* True for triggered and cron schedules (LUCI's IsAbsolute). */
bool schedule_is_absolute(const struct schedule *s);

/* The interval of a relative schedule, in ns (0 for continuously). */
int64_t schedule_interval(const struct schedule *s);

/*
 * The time zone of a cron schedule with a "TZ=" prefix (borrowed from the
 * loader), or NULL (UTC, and for other kinds).
 */
const struct tz_zone *schedule_zone(const struct schedule *s);

/*
 * LUCI's Schedule.Next(now, prev):
 *   triggered  -> TIME_DISTANT_FUTURE
 *   cron       -> the first fire time strictly after now, at one-second
 *                 granularity (sub-second part of now ignored), or TIME_ZERO
 *                 when the expression never fires again (after 2099)
 *   relative   -> max(prev + interval, now); prev == TIME_ZERO gives now +
 *                 interval (tock drops LUCI's unreachable random first tick)
 */
int64_t schedule_next(const struct schedule *s, int64_t now_ns, int64_t prev_ns);

#endif
