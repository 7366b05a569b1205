/*
 * projects.h - the config folder `tock serve --config DIR` reads.
 *
 * DIR holds one folder per LUCI project, laid out as LUCI Config's
 * projects/<name>/: DIR/<name>/luci-scheduler.cfg and optionally
 * DIR/<name>/realms.cfg.  The project's name is the folder's name.  Folders
 * without a luci-scheduler.cfg are not projects (and a project whose file
 * disappears has all its jobs disabled by the caller).
 *
 * The revision of a project's config is the git commit that last changed
 * luci-scheduler.cfg when DIR is inside a git work tree (and the file is
 * committed and unmodified), otherwise "sha256:<hex>" of the file's bytes.
 */
#ifndef TOCK_CLI_PROJECTS_H
#define TOCK_CLI_PROJECTS_H

#include "base/compat.h"

#define PROJECT_REVISION_MAX 80

struct project_source {
    char name[256];
    char *cfg_text; /* luci-scheduler.cfg, NUL-terminated; owned */
    size_t cfg_len;
    char *realms_text; /* realms.cfg or NULL; owned */
    size_t realms_len;
    char revision[PROJECT_REVISION_MAX];
    char read_error[256]; /* non-empty when a file could not be read */
};

struct project_set {
    struct project_source *v;
    size_t n;
};

/*
 * Reads every project folder under dir (sorted by name).  A folder whose
 * files can't be read is still listed, with read_error set, so the caller
 * can leave that project as it was.  Returns 0 or -errno (dir unreadable).
 */
int project_set_read(const char *dir, struct project_set *ret);

void project_set_release(struct project_set *s);

/* The revision of one config file (see above), into out. */
void project_revision(const char *path, const char *data, size_t len, char *out, size_t outlen);

#endif
