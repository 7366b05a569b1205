/*
 * limits.h - THE list of resource limits.
 *
 * Every buffer that grows with input, every loop that walks input, and every
 * recursion that follows input takes its bound from here, so that a hostile
 * or broken input meets a clear error instead of exhausting the machine.
 * Change a limit here, never at the use site.
 */
#ifndef TOCK_BASE_LIMITS_H
#define TOCK_BASE_LIMITS_H

/* Largest luci-scheduler.cfg we read.  The largest real one is 2.1 MB. */
#define LIMIT_CONFIG_FILE_BYTES (64u * 1024 * 1024)
/* Longest string literal (after concatenation) in a config file. */
#define LIMIT_CONFIG_STRING_BYTES (1u * 1024 * 1024)
/* Deepest message nesting in a config file (real files use 3). */
#define LIMIT_CONFIG_NESTING 32
/* Most errors reported for one file before the reader stops listing them. */
#define LIMIT_CONFIG_ERRORS 1000
/* Most jobs plus triggers in one project. */
#define LIMIT_JOBS_PER_PROJECT 100000
/* Most config files one `tock validate` or `tock plan` reads. */
#define LIMIT_CONFIG_FILES 10000

/* Longest schedule string (cron expression, interval, TZ prefix). */
#define LIMIT_SCHEDULE_LEN 1024
/* Longest time-zone name, and largest TZif file we read. */
#define LIMIT_TZ_NAME_LEN 128
#define LIMIT_TZIF_BYTES (256u * 1024)
/* Most distinct zones one time-zone database (tzdb.c) keeps loaded. */
#define LIMIT_TZ_ZONES 1024
/*
 * Most steps of one cron next-time search.  A search in UTC needs at most
 * about 12 * 130 steps (a month at a time up to 2099); a search in a zone
 * needs a few more per DST transition it crosses.
 */
#define LIMIT_CRON_STEPS 100000

/* Most fire times `tock schedule next` or `tock plan` prints. */
#define LIMIT_PLAN_TICKS 10000000

#endif
