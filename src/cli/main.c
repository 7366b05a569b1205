/*
 * main.c - `tock`: one binary, many subcommands (git's git.c habit).
 *
 * To add a command: write int cmd_<name>(int, char **) in cmd-<name>.c,
 * declare it in cli.h, and add a row to the table below.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <time.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"validate", cmd_validate, "check luci-scheduler.cfg files and report every problem"},
    {"schedule", cmd_schedule, "compute the fire times of one schedule expression"},
    {"plan", cmd_plan, "list every fire time of every periodic job in a time window"},
    {"serve", cmd_serve, "run the scheduler server (pRPC API, engine, store)"},
    {"jobs", cmd_jobs, "list the jobs of a running server"},
    {"invocations", cmd_invocations, "list a job's invocations, newest first"},
    {"invocation", cmd_invocation, "show one invocation and its debug log"},
    {"trigger", cmd_trigger, "send a trigger to a job"},
    {"pause", cmd_pause, "pause a job"},
    {"resume", cmd_resume, "resume a paused job"},
    {"abort", cmd_abort, "abort a job's running invocations, or one invocation"},
    {"why", cmd_why, "tell what became of the triggers sent to a job"},
    {"buildbucket-emulator", cmd_buildbucket_emulator,
     "run a Buildbucket emulator (v2 pRPC, v1 REST, Pub/Sub pushes) for tests and demos"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tock <command> [options] [args]\n"
               "\n"
               "tock is a LUCI Scheduler-compatible job scheduler.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "Run `tock <command> --help` for a command's options and an example, e.g.\n"
               "  tock validate examples/\n"
               "  tock schedule next '0 */3 * * *' --count 3\n");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("tock: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int64_t cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int r = commands[i].run(argc - 1, argv + 1);
            cli_tz_release();
            if (fflush(stdout) != 0 && r == 0) {
                cli_error("cannot write output: %s", strerror(errno));
                r = EXIT_USAGE;
            }
            return r;
        }
    }
    cli_error("'%s' is not a tock command; see `tock --help`", argv[1]);
    return EXIT_USAGE;
}
