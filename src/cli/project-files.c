#include "cli/project-files.h"

#include "base/file.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "schedule/tzdb.h"

int project_file_load(struct project_file *f, const char *path, bool strict_luci)
{
    char *data = NULL;
    size_t len = 0;

    memset(f, 0, sizeof(*f));
    f->path = path;
    cfg_diags_init(&f->diags);
    int r = file_read_all(path, LIMIT_CONFIG_FILE_BYTES, &data, &len);
    if (r < 0)
        return r;
    if (path_parent_name(path, f->project, sizeof(f->project)) < 0)
        memcpy(f->project, "project", sizeof("project"));

    struct schedule_options sched = {.tz_load = tz_db_load, .tz_ctx = cli_tz_ctx()};
    struct cfg_validate_options opts = {
        .strict_luci = strict_luci,
        .project = f->project,
        .schedule = &sched,
    };
    r = cfg_project_parse(data, len, &f->cfg, &f->diags);
    if (r == 0)
        r = cfg_validate(f->cfg, &opts, &f->diags);
    free(data);
    return r == -ENOMEM ? r : 0;
}

void project_file_release(struct project_file *f)
{
    f->cfg = cfg_project_free(f->cfg);
    cfg_diags_release(&f->diags);
}

bool cfg_diags_job_has_error(const struct cfg_diags *diags, const char *id)
{
    size_t idlen = strlen(id);

    for (size_t i = 0; i < diags->n; i++) {
        const struct cfg_diag *d = &diags->v[i];
        if (d->severity != CFG_SEV_ERROR || !d->path)
            continue;
        /* Paths read "job / <id>[ / ...]" or "trigger / <id>[ / ...]". */
        const char *p = d->path;
        if (strncmp(p, "job / ", 6) == 0)
            p += 6;
        else if (strncmp(p, "trigger / ", 10) == 0)
            p += 10;
        else
            continue;
        if (strncmp(p, id, idlen) == 0 && (p[idlen] == '\0' || strncmp(p + idlen, " / ", 3) == 0))
            return true;
    }
    return false;
}

bool project_file_job_has_error(const struct project_file *f, const char *id)
{
    return cfg_diags_job_has_error(&f->diags, id);
}

/*
 * Other LUCI config files that live beside luci-scheduler.cfg in a project
 * folder; a folder walk skips them (naming one explicitly still reads it).
 */
static const char *const other_luci_configs[] = {
    "realms.cfg", "realms-dev.cfg", "project.cfg", "cr-buildbucket.cfg",
    "commit-queue.cfg", "luci-milo.cfg", "luci-notify.cfg", "luci-logdog.cfg",
};

static bool is_other_luci_config(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    for (size_t i = 0; i < ARRAY_SIZE(other_luci_configs); i++)
        if (strcmp(name, other_luci_configs[i]) == 0)
            return true;
    return false;
}

int project_files_collect(struct path_list *l, char **paths, int n)
{
    struct path_list found;
    int r = 0;

    path_list_init(&found);
    for (int i = 0; i < n && r == 0; i++) {
        path_list_release(&found);
        r = path_list_collect(&found, paths[i], ".cfg", LIMIT_CONFIG_FILES);
        if (r < 0) {
            cli_error("cannot read %s: %s", paths[i],
                      r == -E2BIG ? "too many files" : strerror(-r));
            break;
        }
        bool walked = found.n != 1 || strcmp(found.paths[0], paths[i]) != 0;
        for (size_t k = 0; k < found.n && r == 0; k++) {
            if (walked && is_other_luci_config(found.paths[k]))
                continue;
            r = l->n >= LIMIT_CONFIG_FILES ? -E2BIG : path_list_add(l, found.paths[k]);
            if (r < 0)
                cli_error("cannot read %s: %s", paths[i],
                          r == -E2BIG ? "too many files" : strerror(-r));
        }
    }
    path_list_release(&found);
    return r;
}
