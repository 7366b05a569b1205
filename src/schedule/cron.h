/*
 * cron.h - the cron dialect of LUCI Scheduler (gorhill/cronexpr), plus
 * tock's "H" fields.
 *
 * Syntax (luci-scheduler-spec.md 2.3; user documentation in
 * docs/schedules.md):
 *
 *   5 fields   minute hour day-of-month month day-of-week        (second 0)
 *   6 fields   minute hour day-of-month month day-of-week year   (second 0)
 *   7 fields   second minute hour day-of-month month day-of-week year
 *   >7 fields  the fields after the seventh are ignored
 *
 * Fields are the maximal runs of non-whitespace, so leading, trailing and
 * repeated blanks do not matter.  The macros @yearly, @annually, @monthly,
 * @weekly, @daily and @hourly are replaced (as substrings) before the
 * split; anything else that starts with '@' fails as "missing field(s)".
 * Each field is a comma-separated list of entries: '*', '?', 'v', 'a-b',
 * '*' or 'a' or 'a-b' followed by '/n', and in day-of-month 'L', 'LW',
 * '<d>W', in day-of-week '<d>L' and '<d>#<k>'.  Names (jan, january, mon,
 * monday) are case-insensitive; day-of-week 7 is Sunday; years are
 * 1970..2099.  Reversed ranges ('5-1') are rejected.
 *
 * Days: when both day-of-month and day-of-week are restricted (anything but
 * '*' or '?', '*' + '/1' included) a day matches if either matches (Vixie
 * cron's OR rule); when one is restricted only it counts; when neither is,
 * every day matches.
 *
 * tock extension "H" (rejected with CRON_STRICT_LUCI): 'H', 'H(a-b)', 'H/n'
 * and 'H(a-b)/n' pick a value (or a step offset) from a stable hash of the
 * job id; see cron_h_hash() and docs/schedules.md.  A plain 'H' in the
 * day-of-month field stays within 1..28 so that it fires every month.
 *
 * Pure: no I/O, no globals, no clock.
 */
#ifndef TOCK_SCHEDULE_CRON_H
#define TOCK_SCHEDULE_CRON_H

#include "base/compat.h"

struct cron_expr;
struct tz_zone;

enum cron_flags {
    /* Accept only what LUCI Scheduler accepts (no 'H'). */
    CRON_STRICT_LUCI = 1 << 0,
};

/*
 * Parses a cron expression (the whole text; a "TZ=" prefix is handled by
 * schedule.c).  job_id seeds 'H' fields (NULL hashes as "").  On success
 * returns 0 and a new expression in *ret (free with cron_expr_free).  On
 * failure returns -EINVAL with LUCI's message in reterr_msg, e.g.
 * "missing field(s)", "syntax error in minute field: '61'", "invalid
 * interval 2/60", "hour field: missing directive"; or -ENOMEM.  *ret is
 * written only on success.
 */
int cron_expr_parse(const char *text, const char *job_id, unsigned flags,
                    struct cron_expr **ret, char *reterr_msg, size_t errlen);

/* Frees an expression; NULL is fine.  Returns NULL. */
struct cron_expr *cron_expr_free(struct cron_expr *e);

/*
 * The first fire time strictly after after_ns, at one-second granularity
 * (the sub-second part of after_ns is ignored), as ns UTC; TIME_ZERO when
 * the expression never fires again up to the end of 2099.
 *
 * zone NULL: the expression is read in UTC.  Otherwise it is read in the
 * zone's wall time, with these rules:
 *   - a wall time inside a DST gap does not exist and is skipped (no fire
 *     for it that day);
 *   - a wall time that occurs twice (a DST fold) fires once, at its first
 *     occurrence.
 * Every search loop is bounded by LIMIT_CRON_STEPS; hitting the bound (only
 * possible with pathological zone data) gives TIME_ZERO.
 */
int64_t cron_expr_next(const struct cron_expr *e, const struct tz_zone *zone, int64_t after_ns);

/* True when the expression uses an 'H' field. */
bool cron_expr_uses_h(const struct cron_expr *e);

/*
 * The hash behind 'H' for one field, stable across versions:
 *   FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over
 *   the bytes of job_id followed by one byte, the field number
 *   (0 second, 1 minute, 2 hour, 3 day-of-month, 4 month, 5 day-of-week,
 *   6 year), then the splitmix64 finaliser
 *   (x ^= x >> 30; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27;
 *    x *= 0x94d049bb133111eb; x ^= x >> 31).
 * 'H(a-b)' is a + hash % (b - a + 1); 'H(a-b)/n' starts at a + hash % n.
 */
uint64_t cron_h_hash(const char *job_id, int field);

#endif
