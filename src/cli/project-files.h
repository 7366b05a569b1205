/*
 * project-files.h - reading luci-scheduler.cfg files for the subcommands.
 *
 * A project file is read whole, parsed and validated in one call; the
 * result keeps the project (NULL when the file did not parse) and every
 * diagnostic.  The project name is the name of the folder that holds the
 * file, as LUCI Config's projects/<name>/ layout has it.
 */
#ifndef TOCK_CLI_PROJECT_FILES_H
#define TOCK_CLI_PROJECT_FILES_H

#include "base/compat.h"
#include "base/file.h"
#include "config/config.h"

struct project_file {
    const char *path; /* borrowed */
    char project[256];
    struct cfg_project *cfg; /* NULL when the file did not parse */
    struct cfg_diags diags;
};

/*
 * Reads, parses and validates path.  Returns 0 (diagnostics, if any, are in
 * f->diags) or -errno when the file cannot be read (f is then empty but
 * may be released).
 */
int project_file_load(struct project_file *f, const char *path, bool strict_luci);

void project_file_release(struct project_file *f);

/*
 * True when validation reported an error against the job or trigger with
 * this id (LUCI imports every other job of the project: spec 1.8).
 */
bool project_file_job_has_error(const struct project_file *f, const char *id);

/* The same question asked of a list of diagnostics. */
bool cfg_diags_job_has_error(const struct cfg_diags *diags, const char *id);

/*
 * Expands the command-line PATH arguments (files, or folders searched for
 * *.cfg) into l.  Prints an error and returns -errno for a missing path.
 */
int project_files_collect(struct path_list *l, char **paths, int n);

#endif
