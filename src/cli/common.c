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

int cli_parse_duration(const char *opt, const char *text, int64_t *ret_ns)
{
    char err[256];

    if (time_parse_duration(text, ret_ns, err, sizeof(err)) < 0 || *ret_ns < 0) {
        cli_error("%s wants a Go duration such as 300ms or 1m30s, not '%s'", opt, text);
        return -EINVAL;
    }
    return 0;
}

int cli_parse_listen(const char *opt, const char *text, char *host, size_t hostlen,
                     uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    unsigned long long p = 0;
    char *end = NULL;
    size_t n;

    if (colon && (size_t)(colon - text) < hostlen) {
        errno = 0;
        p = strtoull(colon + 1, &end, 10);
    }
    if (!colon || (size_t)(colon - text) >= hostlen || errno || end == colon + 1 || *end ||
        colon[1] == '-' || p > 65535)
        goto bad;
    snprintf(host, hostlen, "%.*s", (int)(colon - text), text);
    n = strlen(host);
    if (host[0] == '[') { /* [::1]:8080 */
        if (n < 2 || host[n - 1] != ']')
            goto bad;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    *port = (uint16_t)p;
    return 0;
bad:
    cli_error("%s wants HOST:PORT, not '%s'", opt, text);
    return -EINVAL;
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
