/*
 * cmd-schedule.c - `tock schedule next EXPR [--from T] [--count N]`.
 */
#include "cli/cli.h"

#include <getopt.h>

#include "base/limits.h"
#include "base/time.h"
#include "schedule/schedule.h"
#include "schedule/tzdb.h"

static const char schedule_help[] =
    "usage: tock schedule next EXPR [--from RFC3339] [--count N] [--job ID] [--strict-luci]\n"
    "\n"
    "Prints the next N (default 5) fire times of the schedule EXPR strictly after\n"
    "--from (default: now), one per line, in RFC 3339 UTC.  EXPR is anything a\n"
    "job's `schedule` field may hold: a cron expression (5, 6 or 7 fields),\n"
    "\"with <duration> interval\", \"continuously\" or \"triggered\", plus tock's\n"
    "\"TZ=Area/City <cron>\" prefix and Jenkins-style H fields (seeded by --job).\n"
    "For interval schedules --from is taken as the previous tick; \"continuously\"\n"
    "prints --from once (it runs again as soon as the previous run ends).\n"
    "Prints nothing for \"triggered\" or a schedule that never fires again.\n"
    "\n"
    "options:\n"
    "  --from T        start after this instant (RFC 3339, e.g. 2026-01-01T00:00:00Z)\n"
    "  --count N       how many fire times to print (1..10000000)\n"
    "  --job ID        the job id that seeds H fields (e.g. project/job)\n"
    "  --strict-luci   accept only what LUCI Scheduler accepts\n"
    "\n"
    "example:\n"
    "  tock schedule next '0 */3 * * *' --from 2015-09-14T22:42:00Z --count 3\n";

static int schedule_next_cmd(int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'c'},
        {"job", required_argument, NULL, 'j'},
        {"strict-luci", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    struct schedule_options opts = {.tz_load = tz_db_load};
    int64_t from = TIME_ZERO;
    long long count = 5;
    int c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_time("--from", optarg, &from) < 0)
                return EXIT_USAGE;
            break;
        case 'c': {
            char *end;
            errno = 0;
            count = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || count < 1 || count > LIMIT_PLAN_TICKS) {
                cli_error("--count must be a whole number from 1 to %d, not '%s'",
                          LIMIT_PLAN_TICKS, optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'j':
            opts.job_id = optarg;
            break;
        case 's':
            opts.strict_luci = true;
            break;
        default:
            cli_error("schedule next: unknown option '%s'; see `tock schedule --help`",
                      argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("schedule next takes exactly one expression (quote it); "
                  "see `tock schedule --help`");
        return EXIT_USAGE;
    }
    const char *expr = argv[optind];
    if (from == TIME_ZERO)
        from = cli_now();
    opts.tz_ctx = cli_tz_ctx();

    struct schedule *s = NULL;
    char err[512];
    if (schedule_parse(expr, &opts, &s, err, sizeof(err)) < 0) {
        cli_error("%s is not a valid schedule - %s", expr, err);
        return EXIT_USAGE;
    }

    int64_t t = from;
    for (long long i = 0; i < count; i++) {
        int64_t next;
        if (schedule_kind(s) == SCHEDULE_RELATIVE) {
            /* t is the previous tick; LUCI's next is max(prev + interval, now). */
            next = schedule_next(s, t, t);
            if (next == t && i > 0)
                break; /* continuously: the same instant again adds nothing */
        } else {
            next = schedule_next(s, t, TIME_ZERO);
        }
        if (next == TIME_ZERO || next == TIME_DISTANT_FUTURE)
            break;
        char text[TIME_RFC3339_MAX];
        time_format_rfc3339(next, text, sizeof(text));
        puts(text);
        t = next;
    }
    schedule_free(s);
    return 0;
}

int cmd_schedule(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(schedule_help, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "next") == 0)
        return schedule_next_cmd(argc - 1, argv + 1);
    fputs(schedule_help, stderr);
    return EXIT_USAGE;
}
