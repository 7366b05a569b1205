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

/* What the index keeps of a visible job (not the 5 KB struct engine_job). */
struct index_job {
    char *project, *id;
    enum column column;
};

struct index_acc {
    struct page *p;
    struct index_job *v;
    size_t n, cap;
};

static int index_add(void *ctx, const struct engine_job *j)
{
    struct index_acc *a = ctx;
    struct index_job *grown;

    if (!page_can(a->p, j, AUTH_PERM_GET))
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        if (!(grown = realloc(a->v, cap * sizeof(*grown))))
            return -ENOMEM;
        a->v = grown;
        a->cap = cap;
    }
    struct index_job *x = &a->v[a->n];
    x->project = strdup(j->project);
    x->id = strdup(j->id);
    x->column = column_of(j->state);
    if (!x->project || !x->id) {
        free(x->project);
        free(x->id);
        return -ENOMEM;
    }
    a->n++;
    return 0;
}

static void index_release(struct index_acc *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].project);
        free(a->v[i].id);
    }
    free(a->v);
}

/* One project's row; jobs[0..n) are its visible jobs (sorted by id). */
static int project_row(struct page *p, const struct index_job *jobs, size_t n)
{
    const char *project = jobs[0].project;
    const char **ids = calloc(n, sizeof(*ids));
    size_t counts[_COL_MAX] = {0};

    if (!ids)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ids[i] = jobs[i].id;
        counts[jobs[i].column]++;
    }
    html_raw(&p->h, "<tr><td><a");
    page_href_job(p, project, NULL, NULL);
    html_raw(&p->h, ">");
    html_text(&p->h, project);
    html_raw(&p->h, "</a></td>");
    for (int c = 0; c < _COL_MAX; c++)
        count_cell(p, project, (enum column)c, counts[c]);
    html_raw(&p->h, "<td class=\"hide-narrow\">");
    page_sparkline(p, project, ids, n);
    html_raw(&p->h, "</td></tr>\n");
    free(ids);
    return 0;
}

int page_index(struct page *p)
{
    struct index_acc a = {.p = p};
    int r = engine_each_job(p->w->e, NULL, index_add, &a);

    if (r < 0)
        goto out;
    page_begin(p);
    html_raw(&p->h, "<table id=\"projects\"><thead><tr><th>Project</th><th>Running</th>"
                    "<th>Scheduled</th><th>Waiting</th><th>Paused</th>"
                    "<th class=\"hide-narrow\">Last 24 h</th></tr></thead><tbody>\n");
    /* engine_each_job goes by id, so the jobs of a project are adjacent. */
    for (size_t i = 0, first = 0; r == 0 && i < a.n; i++) {
        if (i + 1 == a.n || strcmp(a.v[i].project, a.v[i + 1].project) != 0) {
            r = project_row(p, a.v + first, i + 1 - first);
            first = i + 1;
        }
    }
    if (r < 0)
        goto out;
    html_raw(&p->h, "</tbody></table>\n");
    if (a.n == 0)
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
