/*
 * cmd-validate.c - `tock validate [--strict-luci] PATH...`.
 */
#include "cli/cli.h"

#include <getopt.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "cli/project-files.h"

static const char validate_help[] =
    "usage: tock validate [--strict-luci] PATH...\n"
    "\n"
    "Checks luci-scheduler.cfg files as LUCI Scheduler's validator does, and\n"
    "prints one line per problem:\n"
    "  FILE:LINE:COL: error: (job / my job / task): field 'server' is required\n"
    "then a summary \"N files, M jobs, K triggers, E errors\".  A PATH is a file\n"
    "or a folder (searched for *.cfg).  The project name of a file, used in\n"
    "realm and job ids, is the name of the folder that holds it.\n"
    "\n"
    "Legacy forms that older LUCI accepted and tock still runs (v1 bucket\n"
    "names, short gitiles refs, ...) and tock's own extensions (TZ= and H in\n"
    "schedules) are accepted; the legacy ones with a warning.\n"
    "\n"
    "options:\n"
    "  --strict-luci   accept only what today's LUCI Scheduler accepts\n"
    "\n"
    "exit status: 0 no errors, 1 errors found, 2 bad usage or unreadable input\n"
    "\n"
    "example:\n"
    "  tock validate examples/\n";

int cmd_validate(int argc, char **argv)
{
    static const struct option options[] = {
        {"strict-luci", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    bool strict = false;
    int c, status = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(validate_help, stdout);
        return 0;
    }
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c != 's') {
            cli_error("validate: unknown option '%s'; see `tock validate --help`",
                      argv[optind - 1]);
            return EXIT_USAGE;
        }
        strict = true;
    }
    if (optind >= argc) {
        fputs(validate_help, stderr);
        return EXIT_USAGE;
    }

    struct path_list files;
    struct buf line;
    size_t n_jobs = 0, n_triggers = 0, n_errors = 0, n_warnings = 0;

    path_list_init(&files);
    buf_init(&line, 1u << 20);
    if (project_files_collect(&files, argv + optind, argc - optind) < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < files.n; i++) {
        struct project_file f;
        int r = project_file_load(&f, files.paths[i], strict);
        if (r < 0) {
            if (r == -EFBIG)
                cli_error("cannot read %s: larger than the %u MiB limit for a config file",
                          files.paths[i], LIMIT_CONFIG_FILE_BYTES >> 20);
            else
                cli_error("cannot read %s: %s", files.paths[i], strerror(-r));
            project_file_release(&f);
            status = EXIT_USAGE;
            n_errors++;
            continue;
        }
        for (size_t k = 0; k < f.diags.n; k++) {
            buf_reset(&line);
            cfg_diag_format(&f.diags.v[k], files.paths[i], &line);
            puts(line.data);
        }
        if (f.diags.n_dropped)
            printf("%s: ... and %zu more problems\n", files.paths[i], f.diags.n_dropped);
        if (f.cfg) {
            n_jobs += f.cfg->n_regular;
            n_triggers += f.cfg->n_triggers;
        }
        n_errors += f.diags.n_errors;
        n_warnings += f.diags.n_warnings;
        project_file_release(&f);
    }
    printf("%zu files, %zu jobs, %zu triggers, %zu errors", files.n, n_jobs, n_triggers,
           n_errors);
    if (n_warnings)
        printf(", %zu warnings", n_warnings);
    putchar('\n');
    if (status == 0 && n_errors)
        status = EXIT_PROBLEMS;
out:
    buf_release(&line);
    path_list_release(&files);
    return status;
}
