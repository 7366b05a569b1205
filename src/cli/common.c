/*
 * common.c - what the subcommands share: time options and the zone cache.
 */
#include "cli/cli.h"

#include "base/time.h"
#include "schedule/tzdb.h"

static struct tz_db *cli_tz_db;

int cli_parse_time(const char *opt, const char *text, int64_t *ret_ns)
{
    if (time_parse_rfc3339(text, ret_ns) < 0) {
        cli_error("%s wants an RFC 3339 time such as 2026-01-01T00:00:00Z, not '%s'", opt,
                  text);
        return -EINVAL;
    }
    return 0;
}

void *cli_tz_ctx(void)
{
    if (!cli_tz_db)
        cli_tz_db = tz_db_new(NULL);
    return cli_tz_db;
}

void cli_tz_release(void)
{
    cli_tz_db = tz_db_free(cli_tz_db);
}
