/*
 * tzdb.c - zoneinfo files -> cached zones (see tzdb.h).  The only file of
 * src/schedule/ that does I/O.
 */
#include "schedule/tzdb.h"

#include "base/file.h"
#include "base/limits.h"
#include "schedule/tz.h"

#define TZ_DB_DEFAULT_DIR "/usr/share/zoneinfo"

struct tz_db {
    char *dir;
    size_t n;
    struct tz_zone *zones[LIMIT_TZ_ZONES];
};

struct tz_db *tz_db_new(const char *dir)
{
    struct tz_db *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->dir = strdup(dir ? dir : TZ_DB_DEFAULT_DIR);
    if (!db->dir) {
        free(db);
        return NULL;
    }
    return db;
}

struct tz_db *tz_db_free(struct tz_db *db)
{
    if (!db)
        return NULL;
    for (size_t i = 0; i < db->n; i++)
        tz_zone_free(db->zones[i]);
    free(db->dir);
    free(db);
    return NULL;
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool tz_db_name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > LIMIT_TZ_NAME_LEN || !(name[0] >= 'A' && name[0] <= 'Z'))
        return false;
    bool comp_start = true;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (comp_start)
                return false; /* empty component */
            comp_start = true;
            continue;
        }
        if (comp_start && !is_alpha(c))
            return false; /* rules out "." and ".." too */
        if (!(is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-'))
            return false;
        comp_start = false;
    }
    return !comp_start;
}

const struct tz_zone *tz_db_load(void *ctx, const char *name, char *err, size_t errlen)
{
    struct tz_db *db = ctx;
    struct tz_zone *z = NULL;
    char *data = NULL;
    size_t len = 0;
    char path[4096];

    if (!db || !tz_db_name_ok(name)) {
        if (err && errlen)
            snprintf(err, errlen, "not a valid time-zone name");
        return NULL;
    }
    for (size_t i = 0; i < db->n; i++)
        if (strcmp(tz_zone_name(db->zones[i]), name) == 0)
            return db->zones[i];
    if (db->n >= LIMIT_TZ_ZONES) {
        if (err && errlen)
            snprintf(err, errlen, "too many time zones (at most %d)", LIMIT_TZ_ZONES);
        return NULL;
    }

    int r = snprintf(path, sizeof(path), "%s/%s", db->dir, name);
    if (r < 0 || (size_t)r >= sizeof(path)) {
        if (err && errlen)
            snprintf(err, errlen, "time-zone path too long");
        return NULL;
    }
    r = file_read_all(path, LIMIT_TZIF_BYTES, &data, &len);
    if (r < 0) {
        if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
            z = tz_zone_new_utc(name);
            if (!z && err && errlen)
                snprintf(err, errlen, "out of memory");
        } else if (err && errlen) {
            snprintf(err, errlen, "%s",
                     r == -ENOENT ? "unknown time zone"
                     : r == -EFBIG ? "time-zone file is too large"
                                   : strerror(-r));
        }
    } else {
        char perr[128] = "bad time-zone file";
        if (tz_zone_parse(name, data, len, &z, perr, sizeof(perr)) < 0 && err && errlen)
            snprintf(err, errlen, "%s", perr);
    }
    free(data);
    if (!z)
        return NULL;
    db->zones[db->n++] = z;
    return z;
}
