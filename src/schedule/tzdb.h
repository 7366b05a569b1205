/*
 * tzdb.h - a cache of time zones read from a zoneinfo directory.
 *
 * This is the ONLY file in src/schedule/ that does I/O.  It lives here
 * rather than in base/ because it builds zones with tz_zone_parse()
 * (schedule/tz.h), and base/ must not depend on schedule/.  Everything else
 * in schedule/ stays pure: schedule_parse() reaches the files only through
 * the schedule_options.tz_load callback, which callers point at
 * tz_db_load().
 *
 * Names are checked before any file is opened, so a configuration cannot
 * make tock read an arbitrary file: a name must be 1..LIMIT_TZ_NAME_LEN
 * bytes of [A-Za-z0-9_+-] in '/'-separated components, each component
 * starting with a letter, the first with an upper-case one ("UTC",
 * "Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires",
 * "Etc/GMT+5").  That rules out absolute paths, "." and "..", empty
 * components, and the lower-case helper files of a zoneinfo tree.
 *
 * Not thread-safe: one db per thread, or a lock around tz_db_load.
 */
#ifndef TOCK_SCHEDULE_TZDB_H
#define TOCK_SCHEDULE_TZDB_H

#include "base/compat.h"

struct tz_db;
struct tz_zone;

/*
 * A new, empty cache reading from dir (copied; NULL means
 * "/usr/share/zoneinfo").  NULL when out of memory.
 */
struct tz_db *tz_db_new(const char *dir);

/* Frees the cache and every zone it loaded; NULL is fine.  Returns NULL. */
struct tz_db *tz_db_free(struct tz_db *db);

/*
 * Returns the zone called name, reading and parsing its file on first use
 * (a struct tz_db * passed as void * so that it fits
 * schedule_options.tz_load).  The zone is owned by the db and lives until
 * tz_db_free.  On failure returns NULL and writes a message to err: a bad
 * name, a missing file, a file over LIMIT_TZIF_BYTES, bad TZif data, or
 * more than LIMIT_TZ_ZONES zones.  "UTC" and "Etc/UTC" always work, even
 * without zoneinfo files.
 */
const struct tz_zone *tz_db_load(void *db, const char *name, char *err, size_t errlen);

/* True if name passes the checks described above. */
bool tz_db_name_ok(const char *name);

#endif
