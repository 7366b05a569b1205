/*
 * pages-list.c - the index page "/" (spec 7.2) and the project page
 * "/jobs/<project>[?filter=...]" (7.3).
 */
#include "base/compat.h"

#include <strings.h>

#include "auth/auth.h"
#include "web/web-internal.h"

/* The four columns of the index and the filters of the project page. */
enum column { COL_RUNNING, COL_SCHEDULED, COL_WAITING, COL_PAUSED, _COL_MAX };

static const char *const column_filters[_COL_MAX] = {"running", "scheduled", "waiting",
                                                     "paused"};
static const char *const column_classes[_COL_MAX] = {"label-info", "label-primary",
                                                     "label-warning", "label-default"};

static enum column column_of(enum engine_job_state s)
{
    switch (s) {
    case ENGINE_JOB_RUNNING: return COL_RUNNING;
    case ENGINE_JOB_SCHEDULED: return COL_SCHEDULED;
    case ENGINE_JOB_PAUSED: return COL_PAUSED;
    default: return COL_WAITING; /* DISABLED is counted as waiting */
    }
}

static void count_cell(struct page *p, const char *project, enum column c, size_t count)
{
    html_raw(&p->h, "<td><a");
    html_attr_begin(&p->h, "class");
    html_attr_part(&p->h, "label ");
    html_attr_part(&p->h, column_classes[c]);
    html_attr_end(&p->h);
    html_attr_begin(&p->h, "href");
    html_attr_part(&p->h, "/jobs/");
    html_attr_segment(&p->h, project);
    html_attr_part(&p->h, "?filter=");
    html_attr_part(&p->h, column_filters[c]);
    html_attr_end(&p->h);
    html_raw(&p->h, ">");
    if (count == 0)
        html_raw(&p->h, "NONE");
    else if (count == 1)
        html_raw(&p->h, "1 JOB");
    else
        html_textf(&p->h, "%zu JOBS", count);
    html_raw(&p->h, "</a></td>");
}

/*
 * The index's walk (engine_each_job: by id, so the jobs of a project are
 * adjacent): the visible jobs of the current project only, whose row is
 * written when the next project begins.  Memory: one project's ids
 * (bounded by its config's jobs), not the store's.
 */
struct index_acc {
    struct page *p;
    char *project;          /* of the jobs kept, NULL before the first */
    char **ids;             /* its visible jobs, sorted by id */
    size_t n, cap, projects;
    size_t counts[_COL_MAX];
};

static void index_clear(struct index_acc *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->ids[i]);
    a->n = 0;
    memset(a->counts, 0, sizeof(a->counts));
    free(a->project);
    a->project = NULL;
}

static void index_release(struct index_acc *a)
{
    index_clear(a);
    free(a->ids);
}

/* The current project's row, then forgets it. */
static void project_row(struct index_acc *a)
{
    struct page *p = a->p;
    const char *project = a->project;

    html_raw(&p->h, "<tr><td><a");
    page_href_job(p, project, NULL, NULL);
    html_raw(&p->h, ">");
    html_text(&p->h, project);
    html_raw(&p->h, "</a></td>");
    for (int c = 0; c < _COL_MAX; c++)
        count_cell(p, project, (enum column)c, a->counts[c]);
    html_raw(&p->h, "<td class=\"hide-narrow\">");
    page_sparkline(p, project, (const char *const *)a->ids, a->n);
    html_raw(&p->h, "</td></tr>\n");
    a->projects++;
    index_clear(a);
}

static int index_add(void *ctx, const struct engine_job *j)
{
    struct index_acc *a = ctx;
    char *id;

    if (!page_can(a->p, j, AUTH_PERM_GET))
        return 0;
    if (a->project && strcmp(a->project, j->project) != 0)
        project_row(a);
    if (!a->project && !(a->project = strdup(j->project)))
        return -ENOMEM;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        char **grown = realloc(a->ids, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        a->ids = grown;
        a->cap = cap;
    }
    if (!(id = strdup(j->id)))
        return -ENOMEM;
    a->ids[a->n++] = id;
    a->counts[column_of(j->state)]++;
    return 0;
}

int page_index(struct page *p)
{
    struct index_acc a = {.p = p};
    int r;

    page_begin(p);
    html_raw(&p->h, "<table id=\"projects\"><thead><tr><th>Project</th><th>Running</th>"
                    "<th>Scheduled</th><th>Waiting</th><th>Paused</th>"
                    "<th class=\"hide-narrow\">Last 24 h</th></tr></thead><tbody>\n");
    r = engine_each_job(p->w->e, NULL, index_add, &a);
    if (r < 0)
        goto out;
    if (a.project)
        project_row(&a);
    html_raw(&p->h, "</tbody></table>\n");
    if (a.projects == 0)
        html_raw(&p->h, "<p>No projects with jobs you may see.</p>\n");
    page_end(p);
    r = page_send(p, 200);
out:
    index_release(&a);
    return r;
}

static void job_row(struct page *p, const struct engine_job *j)
{
    html_raw(&p->h, "<tr><td>");
    page_flavor_icon(p, j->flavor);
    html_raw(&p->h, " <a");
    page_href_job(p, j->project, j->name, NULL);
    html_raw(&p->h, ">");
    html_text(&p->h, j->name);
    html_raw(&p->h, "</a></td><td class=\"mono\">");
    html_text(&p->h, j->schedule);
    html_raw(&p->h, "</td><td>");
    page_label(p, job_state_class(j->state), j->state_name);
    if (j->paused) {
        html_raw(&p->h, "<div class=\"paused-by\">Paused by ");
        page_paused_by(p, j);
        html_raw(&p->h, "</div>");
    }
    html_raw(&p->h, "</td><td>");
    page_next_run(p, j);
    html_raw(&p->h, "</td></tr>\n");
}

/* The filter of ?filter= (case-insensitive), or -1 (none or unknown: ignored). */
static int parse_filter(struct page *p)
{
    const char *f = http_request_query(p->req, "filter");

    for (int c = 0; f && c < _COL_MAX; c++)
        if (strcasecmp(f, column_filters[c]) == 0)
            return c;
    return -1;
}

/*
 * One walk of the project's jobs (engine_each_job: by id, so by name):
 * the rows of the visible jobs of one flavor group that pass the filter.
 * Rows are written as the jobs come; no job array is kept.
 */
struct project_walk {
    struct page *p;
    int filter;
    bool triggers; /* this walk's group: triggering jobs, else the regular ones */
    size_t visible, shown;
};

static int project_job(void *ctx, const struct engine_job *j)
{
    struct project_walk *w = ctx;

    if ((j->flavor == ENGINE_FLAVOR_TRIGGER) != w->triggers || !page_can(w->p, j, AUTH_PERM_GET))
        return 0;
    w->visible++;
    if (w->filter >= 0 && column_of(j->state) != (enum column)w->filter)
        return 0;
    job_row(w->p, j);
    w->shown++;
    return 0;
}

/*
 * Spec 7.3: regular jobs (periodic, triggered) before triggering jobs,
 * each group by name — two walks, so memory does not grow with the jobs.
 */
int page_project(struct page *p, const char *project)
{
    struct project_walk w = {.p = p, .filter = parse_filter(p)};
    size_t mark;
    int r;

    p->project = project;
    p->filter = w.filter >= 0 ? column_filters[w.filter] : NULL;
    page_begin(p);
    mark = html_len(&p->h);
    html_raw(&p->h, "<table id=\"jobs\"><thead><tr><th>Job</th><th>Schedule</th><th>State</th>"
                    "<th>Next run</th></tr></thead><tbody>\n");
    r = engine_each_job(p->w->e, project, project_job, &w);
    w.triggers = true;
    if (r == 0)
        r = engine_each_job(p->w->e, project, project_job, &w);
    if (r < 0)
        return r;
    html_raw(&p->h, "</tbody></table>\n");
    if (w.visible == 0) {
        html_truncate(&p->h, mark);
        html_raw(&p->h, "<p>No jobs in this project or no READER permission to view them.</p>");
        if (p->anonymous)
            html_raw(&p->h, "<p>You may need to login first.</p>");
    } else if (w.shown == 0 && w.filter >= 0) {
        html_raw(&p->h, "<p>No ");
        html_text(&p->h, column_filters[w.filter]);
        html_raw(&p->h, " jobs</p>\n");
    }
    page_end(p);
    return page_send(p, 200);
}
