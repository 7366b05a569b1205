/*
 * time.h - instants, civil dates, RFC 3339 and Go-style durations.
 *
 * tock has one time type: an int64_t count of nanoseconds since the Unix
 * epoch, UTC ("_ns" names).  It spans 1677..2262, which covers every year a
 * schedule may name (1970..2099) and LUCI's DistantFuture (2115).  Two
 * values are special:
 *   TIME_ZERO            Go's zero time.Time: "no time", "never fires".
 *   TIME_DISTANT_FUTURE  LUCI's DistantFuture (2115-12-05 01:27:47 UTC):
 *                        "no tick" for triggered schedules.
 *
 * Nothing here reads a clock or the TZ environment: the functions are pure.
 */
#ifndef TOCK_BASE_TIME_H
#define TOCK_BASE_TIME_H

#include "base/compat.h"

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MIN (60 * NS_PER_SEC)
#define NS_PER_HOUR (60 * NS_PER_MIN)
#define NS_PER_DAY (24 * NS_PER_HOUR)

#define TIME_ZERO INT64_MIN
#define TIME_DISTANT_FUTURE (INT64_C(4604952467) * NS_PER_SEC)

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12). */
int64_t time_days_from_civil(int64_t y, int m, int d);

/* The date of a day number; inverse of time_days_from_civil. */
void time_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d);

/* 0 = Sunday .. 6 = Saturday, for a day number. */
int time_weekday_from_days(int64_t days);

/* Days in month m (1..12) of year y. */
int time_days_in_month(int64_t y, int m);

/* Floor division of an instant into seconds (for negative instants too). */
int64_t time_floor_sec(int64_t ns);

/*
 * Formats an instant as RFC 3339 in UTC with a "Z": "2015-09-14T22:42:00Z",
 * with a fractional part only when it is non-zero, trailing zeros trimmed
 * ("…:14.177942239Z", "…:14.5Z") - Go's time.RFC3339Nano.  out must have
 * room for TIME_RFC3339_MAX bytes.  Returns the length written.
 */
#define TIME_RFC3339_MAX 40
int time_format_rfc3339(int64_t ns, char *out, size_t outlen);

/*
 * Parses RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", also with a
 * space or lower-case "t" for "T" and "z" for "Z"; a bare date
 * "YYYY-MM-DD" means midnight UTC.  Returns 0 and sets *ret_ns, or -EINVAL
 * (out of range or malformed).
 */
int time_parse_rfc3339(const char *s, int64_t *ret_ns);

/*
 * Formats a duration exactly as Go's time.Duration.String(): "0s", "1.5s",
 * "3h32m28.898993161s", "-1h0m0s", "250ms", "1µs", "10ns".  out must have
 * room for TIME_DURATION_MAX bytes.  Returns the length written.
 */
#define TIME_DURATION_MAX 40
int time_format_duration(int64_t ns, char *out, size_t outlen);

/*
 * Parses a duration as Go's time.ParseDuration does: optional sign, then
 * one or more "<decimal><unit>" with units ns, us, µs, μs, ms, s, m, h;
 * a bare "0" is accepted.  On failure returns -EINVAL and writes Go's
 * message to reterr_msg (e.g. `time: invalid duration "NaNs"`,
 * `time: missing unit in duration "1"`, `time: unknown unit " min" in
 * duration "1 min"`).
 */
int time_parse_duration(const char *s, int64_t *ret_ns, char *reterr_msg, size_t errlen);

#endif
