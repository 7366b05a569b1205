/*
 * cmd-plan.c - `tock plan PATH... --from T --until T [--job ID]`: what-if.
 *
 * Lists every fire time of every enabled periodic job and trigger in the
 * window [from, until), one "project/job<TAB>time" line each, sorted by
 * time (then by name).  Cron schedules fire at their instants.  Interval
 * schedules depend on when runs finish; the plan assumes each run finishes
 * at once, so they fire at from + k * interval.  "continuously" jobs have
 * no instants to list and are only counted (on stderr).  Jobs that fail
 * validation are left out, as LUCI's import leaves them out (spec 1.8).
 */
#include "cli/cli.h"

#include <getopt.h>

#include "base/file.h"
#include "base/limits.h"
#include "base/time.h"
#include "cli/project-files.h"
#include "schedule/schedule.h"
#include "schedule/tzdb.h"

static const char plan_help[] =
    "usage: tock plan PATH... --from RFC3339 --until RFC3339 [--job ID]\n"
    "\n"
    "Prints every fire time in [--from, --until) of every enabled periodic job\n"
    "and trigger of the luci-scheduler.cfg files under PATH, one line each:\n"
    "  project/job<TAB>2026-01-01T03:00:00Z\n"
    "sorted by time.  The project is the name of the folder holding the file.\n"
    "Interval schedules are planned as if each run finished at once; jobs with\n"
    "validation errors are left out (as LUCI's import does), and reported on\n"
    "stderr.  --from defaults to now, --until to one day after --from.\n"
    "\n"
    "options:\n"
    "  --from T      start of the window (RFC 3339), inclusive\n"
    "  --until T     end of the window (RFC 3339), exclusive\n"
    "  --job ID      only this job: \"job\" or \"project/job\"\n"
    "\n"
    "example:\n"
    "  tock plan examples/ --from 2026-01-01T00:00:00Z --until 2026-01-02T00:00:00Z\n";

struct plan_tick {
    int64_t when;
    uint32_t name; /* index into plan.names */
};

struct plan {
    struct plan_tick *ticks;
    size_t n, alloc;
    char **names;
    size_t n_names, names_alloc;
};

static int plan_add_name(struct plan *p, const char *project, const char *id, uint32_t *ret)
{
    if (p->n_names == p->names_alloc) {
        size_t alloc = p->names_alloc ? p->names_alloc * 2 : 64;
        char **v = realloc(p->names, alloc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->names = v;
        p->names_alloc = alloc;
    }
    size_t len = strlen(project) + 1 + strlen(id) + 1;
    char *name = malloc(len);
    if (!name)
        return -ENOMEM;
    snprintf(name, len, "%s/%s", project, id);
    p->names[p->n_names] = name;
    *ret = (uint32_t)p->n_names++;
    return 0;
}

static int plan_add_tick(struct plan *p, int64_t when, uint32_t name)
{
    if (p->n >= LIMIT_PLAN_TICKS)
        return -E2BIG;
    if (p->n == p->alloc) {
        size_t alloc = p->alloc ? p->alloc * 2 : 1024;
        struct plan_tick *v = realloc(p->ticks, alloc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->ticks = v;
        p->alloc = alloc;
    }
    p->ticks[p->n++] = (struct plan_tick){when, name};
    return 0;
}

static void plan_release(struct plan *p)
{
    for (size_t i = 0; i < p->n_names; i++)
        free(p->names[i]);
    free(p->names);
    free(p->ticks);
}

/* The names are added in (file, job) order, so their index sorts them too. */
static int compare_ticks(const void *a, const void *b)
{
    const struct plan_tick *x = a, *y = b;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

static bool job_selected(const char *filter, const char *project, const char *id)
{
    if (!filter)
        return true;
    size_t n = strlen(project);
    if (strncmp(filter, project, n) == 0 && filter[n] == '/')
        return strcmp(filter + n + 1, id) == 0;
    return strcmp(filter, id) == 0;
}

/* Adds the ticks of one job in [from, until). */
static int plan_job(struct plan *p, const struct schedule *s, uint32_t name, int64_t from,
                    int64_t until)
{
    int r = 0;

    if (schedule_kind(s) == SCHEDULE_RELATIVE) {
        int64_t interval = schedule_interval(s);
        for (int64_t t = from + interval; t < until && r == 0; t += interval)
            r = plan_add_tick(p, t, name);
        return r;
    }
    /* Cron "next" is strictly after a whole second: start one second early. */
    int64_t t = (time_floor_sec(from) - 1) * NS_PER_SEC;
    for (;;) {
        t = schedule_next(s, t, TIME_ZERO);
        if (t == TIME_ZERO || t == TIME_DISTANT_FUTURE || t >= until)
            return 0;
        if (t >= from && (r = plan_add_tick(p, t, name)) < 0)
            return r;
    }
}

int cmd_plan(int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"until", required_argument, NULL, 'u'},
        {"job", required_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int64_t from = TIME_ZERO, until = TIME_ZERO;
    const char *filter = NULL;
    int c, status = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(plan_help, stdout);
        return 0;
    }
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_time("--from", optarg, &from) < 0)
                return EXIT_USAGE;
            break;
        case 'u':
            if (cli_parse_time("--until", optarg, &until) < 0)
                return EXIT_USAGE;
            break;
        case 'j':
            filter = optarg;
            break;
        default:
            cli_error("plan: unknown option '%s'; see `tock plan --help`", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(plan_help, stderr);
        return EXIT_USAGE;
    }
    if (from == TIME_ZERO)
        from = cli_now();
    if (until == TIME_ZERO)
        until = from + NS_PER_DAY;
    if (until < from) {
        cli_error("plan: --until is before --from");
        return EXIT_USAGE;
    }

    struct path_list files;
    struct plan plan = {0};
    size_t n_bad = 0, n_continuous = 0;
    int r = 0;

    path_list_init(&files);
    if (project_files_collect(&files, argv + optind, argc - optind) < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    struct schedule_options sched = {.tz_load = tz_db_load, .tz_ctx = cli_tz_ctx()};
    for (size_t i = 0; i < files.n && r == 0; i++) {
        struct project_file f;
        r = project_file_load(&f, files.paths[i], false);
        if (r < 0) {
            cli_error("cannot read %s: %s", files.paths[i], strerror(-r));
            project_file_release(&f);
            status = EXIT_USAGE;
            r = 0;
            continue;
        }
        if (f.diags.n_errors) {
            cli_error("%s: %zu errors (see `tock validate %s`)", files.paths[i],
                      f.diags.n_errors, files.paths[i]);
            status = EXIT_PROBLEMS;
        }
        for (size_t k = 0; f.cfg && k < f.cfg->n_jobs && r == 0; k++) {
            const struct cfg_job *j = &f.cfg->jobs[k];
            if (j->disabled || !job_selected(filter, f.project, j->id))
                continue;
            if (project_file_job_has_error(&f, j->id)) {
                n_bad++;
                continue;
            }
            char job_id[512], err[256];
            snprintf(job_id, sizeof(job_id), "%s/%s", f.project, j->id);
            sched.job_id = job_id;
            struct schedule *s = NULL;
            if (schedule_parse(j->effective_schedule, &sched, &s, err, sizeof(err)) < 0) {
                n_bad++;
                continue;
            }
            uint32_t name;
            if (schedule_kind(s) == SCHEDULE_TRIGGERED) {
                /* not periodic */
            } else if (schedule_kind(s) == SCHEDULE_RELATIVE && schedule_interval(s) == 0) {
                n_continuous++;
            } else if ((r = plan_add_name(&plan, f.project, j->id, &name)) == 0) {
                r = plan_job(&plan, s, name, from, until);
            }
            schedule_free(s);
        }
        project_file_release(&f);
    }
    if (r < 0) {
        cli_error("plan: %s", r == -E2BIG ? "too many fire times; narrow the window or use --job"
                                           : strerror(-r));
        status = EXIT_USAGE;
        goto out;
    }

    sort_array(plan.ticks, plan.n, sizeof(*plan.ticks), compare_ticks);
    for (size_t i = 0; i < plan.n; i++) {
        char text[TIME_RFC3339_MAX];
        time_format_rfc3339(plan.ticks[i].when, text, sizeof(text));
        printf("%s\t%s\n", plan.names[plan.ticks[i].name], text);
    }
    if (n_continuous)
        cli_error("plan: %zu \"continuously\" jobs run back to back and are not listed",
                  n_continuous);
    if (n_bad)
        cli_error("plan: %zu jobs with validation errors are not listed", n_bad);
out:
    plan_release(&plan);
    path_list_release(&files);
    return status;
}
