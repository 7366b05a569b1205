/*
 * tz.h - time zones from TZif data (RFC 8536), without touching the TZ
 * environment variable or the C library's time-zone state.
 *
 * A zone is parsed from a memory buffer (tzdb.c reads the files), so this
 * module is pure: no I/O, no globals, no clock.  Versions 1, 2, 3 and 4 are
 * read; for version 2 and later the 64-bit block is used, and the POSIX TZ
 * string in the footer (e.g. "CET-1CEST,M3.5.0,M10.5.0/3") gives the
 * offset for instants after the last transition, which matters because
 * Debian's "slim" tzdata stops listing transitions at 2037 or earlier.
 * Leap-second records are ignored (tock counts POSIX seconds).
 *
 * Bounds: the buffer may hold at most LIMIT_TZIF_BYTES; every count in the
 * header is checked against the bytes actually present before anything is
 * read; transition times must increase; type indexes must be in range;
 * offsets must lie within -25h..+26h.  Hostile data gives -EINVAL and a
 * message, never a crash or an unbounded loop.
 *
 * All instants here are int64_t seconds (not ns).
 */
#ifndef TOCK_SCHEDULE_TZ_H
#define TOCK_SCHEDULE_TZ_H

#include "base/compat.h"

struct tz_zone;

/*
 * Parses TZif data of len bytes at data (borrowed) as the zone called name
 * (copied; at most LIMIT_TZ_NAME_LEN bytes).  Returns 0 and a new zone in
 * *ret (free with tz_zone_free), -EINVAL with a message in reterr_msg for
 * bad or oversized data, or -ENOMEM.
 */
int tz_zone_parse(const char *name, const void *data, size_t len, struct tz_zone **ret,
                  char *reterr_msg, size_t errlen);

/* A zone that is UTC at all times, called name.  NULL when out of memory. */
struct tz_zone *tz_zone_new_utc(const char *name);

/* Frees a zone; NULL is fine.  Returns NULL. */
struct tz_zone *tz_zone_free(struct tz_zone *z);

/* The name given when the zone was made. */
const char *tz_zone_name(const struct tz_zone *z);

/* The UTC offset in seconds (east positive) in effect at utc_s. */
int32_t tz_zone_offset(const struct tz_zone *z, int64_t utc_s);

/* The UTC instants that show one wall-clock time; see tz_zone_resolve. */
struct tz_local {
    int n;          /* 0 (DST gap), 1, or 2 (DST fold) */
    int64_t utc[2]; /* the instants, earliest first */
    /*
     * n == 0: the first wall second after the gap (the wall time that the
     *         transition jumps to);
     * n == 2: the first wall second after the fold (the wall time that
     *         follows the repeated stretch);
     * n == 1: unused (equals local_s + 1).
     */
    int64_t edge;
};

/*
 * Finds the instants whose wall time in zone z is local_s ("local
 * seconds": the wall time read as if it were UTC).  When more than two
 * instants show the same wall time (only with contrived data) the two
 * earliest are kept.
 */
void tz_zone_resolve(const struct tz_zone *z, int64_t local_s, struct tz_local *ret);

#endif
