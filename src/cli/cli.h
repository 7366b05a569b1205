/*
 * cli.h - the `tock` subcommands and what they share.
 *
 * Each subcommand is `int cmd_<name>(int argc, char **argv)` with argv[0]
 * being the subcommand's own name, registered in the table in main.c.  A
 * subcommand returns the process exit status: 0 success, 1 "the answer is
 * no" (errors found), 2 bad usage or unreadable input.
 */
#ifndef TOCK_CLI_CLI_H
#define TOCK_CLI_CLI_H

#include "base/compat.h"

#define EXIT_PROBLEMS 1
#define EXIT_USAGE 2

int cmd_validate(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* cmd-buildbucket-emulator.c: a Buildbucket emulator for tests and demos. */
int cmd_buildbucket_emulator(int argc, char **argv);
/* Client commands (cmd-client.c): talk to `tock serve` over pRPC. */
int cmd_jobs(int argc, char **argv);
int cmd_invocations(int argc, char **argv);
int cmd_invocation(int argc, char **argv);
int cmd_trigger(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_why(int argc, char **argv);

/* Prints "tock: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when argv has -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/*
 * Parses an RFC 3339 time given to option opt; on failure prints an error
 * naming the option and returns -EINVAL.
 */
int cli_parse_time(const char *opt, const char *text, int64_t *ret_ns);

/*
 * Parses a Go duration (>= 0) given to option opt; on failure prints an
 * error naming the option and returns -EINVAL.
 */
int cli_parse_duration(const char *opt, const char *text, int64_t *ret_ns);

/*
 * Splits "HOST:PORT" ("[::1]:8080" too) given to option opt into host
 * (size hostlen) and port; on failure prints why and returns -EINVAL.
 */
int cli_parse_listen(const char *opt, const char *text, char *host, size_t hostlen,
                     uint16_t *port);

/* The current wall-clock time, ns since the epoch (the CLI's only clock). */
int64_t cli_now(void);

/*
 * The time-zone loader handed to schedule_parse (TZ= prefixes), backed by
 * the system zoneinfo and shared by all schedules of one command run.
 * cli_tz_ctx() returns its context, created on first use; NULL if out of
 * memory.
 */
void *cli_tz_ctx(void);
void cli_tz_release(void);

#endif
