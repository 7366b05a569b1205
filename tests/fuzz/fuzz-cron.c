/*
 * fuzz-cron.c - libFuzzer target for schedule parsing and next-tick search:
 * any string must parse or give an error message; a parsed schedule's next
 * ticks must move strictly forward (or stop), never crash or loop forever.
 */
#include "base/compat.h"

#include "base/time.h"
#include "schedule/schedule.h"
#include "schedule/tzdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tz_db *zones;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[2048];
    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    if (!zones)
        zones = tz_db_new(NULL);
    struct schedule_options opts = {
        .job_id = "fuzz/job",
        .tz_load = tz_db_load,
        .tz_ctx = zones,
    };
    struct schedule *s = NULL;
    char err[512];
    if (schedule_parse(text, &opts, &s, err, sizeof(err)) < 0) {
        if (err[0] == '\0')
            abort(); /* every error has a message */
        return 0;
    }
    /* Walk a few ticks from a few starting points, including far ones. */
    static const int64_t starts[] = {
        INT64_C(1442270520) * NS_PER_SEC, /* 2015-09-14 22:42 */
        INT64_C(4102444799) * NS_PER_SEC, /* 2099-12-31 23:59:59 */
        0,
    };
    for (size_t i = 0; i < ARRAY_SIZE(starts); i++) {
        int64_t t = starts[i];
        for (int k = 0; k < 8; k++) {
            int64_t next = schedule_next(s, t, t);
            if (next == TIME_ZERO || next == TIME_DISTANT_FUTURE)
                break;
            if (schedule_kind(s) == SCHEDULE_ABSOLUTE && next <= t)
                abort(); /* cron ticks move strictly forward */
            if (next < t)
                abort();
            if (next == t)
                break; /* continuously */
            t = next;
        }
    }
    schedule_free(s);
    return 0;
}
