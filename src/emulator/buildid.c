/*
 * buildid.c - Buildbucket build IDs (wire-formats.md 2.10) and the status
 * and hostile-mode names.  Pure.
 */
#include "base/compat.h"
#include "emulator/emulator.h"

#include <strings.h>

/* 2010-01-01T00:00:00Z in milliseconds since the Unix epoch. */
#define BUILDID_EPOCH_MS INT64_C(1262304000000)
#define BUILDID_TIME_BITS 43
#define BUILDID_TIME_MASK ((INT64_C(1) << BUILDID_TIME_BITS) - 1)
#define BUILDID_VERSION 1

int64_t emu_build_id(int64_t now_ns, uint16_t random16)
{
    int64_t ms = now_ns / 1000000 - BUILDID_EPOCH_MS;
    uint64_t t = (~(uint64_t)ms) & (uint64_t)BUILDID_TIME_MASK;

    return (int64_t)((t << 20) | ((uint64_t)random16 << 4) | BUILDID_VERSION);
}

int64_t emu_build_id_time(int64_t id)
{
    uint64_t t = ((uint64_t)id >> 20) & (uint64_t)BUILDID_TIME_MASK;
    int64_t ms = (int64_t)((~t) & (uint64_t)BUILDID_TIME_MASK);

    return (ms + BUILDID_EPOCH_MS) * 1000000;
}

static const struct {
    int status;
    const char *name;
} statuses[] = {
    {EMU_STATUS_UNSPECIFIED, "STATUS_UNSPECIFIED"},
    {EMU_SCHEDULED, "SCHEDULED"},
    {EMU_STARTED, "STARTED"},
    {EMU_ENDED_MASK, "ENDED_MASK"},
    {EMU_SUCCESS, "SUCCESS"},
    {EMU_FAILURE, "FAILURE"},
    {EMU_INFRA_FAILURE, "INFRA_FAILURE"},
    {EMU_CANCELED, "CANCELED"},
};

const char *emu_status_name(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
        if (statuses[i].status == status)
            return statuses[i].name;
    return NULL;
}

int emu_status_parse(const char *name)
{
    char *end;
    long n;

    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
        if (strcmp(statuses[i].name, name) == 0)
            return statuses[i].status;
    errno = 0;
    n = strtol(name, &end, 10);
    if (errno || end == name || *end || !emu_status_name((int)n))
        return -EINVAL;
    return (int)n;
}

int emu_hostile_parse(const char *name)
{
    static const char *const names[] = {
        [EMU_HOSTILE_NONE] = "none",       [EMU_HOSTILE_HTML] = "html",
        [EMU_HOSTILE_TRUNCATED] = "truncated", [EMU_HOSTILE_WRONG_TYPES] = "wrong-types",
        [EMU_HOSTILE_HUGE] = "huge",       [EMU_HOSTILE_DRIP] = "drip",
        [EMU_HOSTILE_HANG] = "hang",
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcasecmp(names[i], name) == 0)
            return (int)i;
    return -EINVAL;
}
