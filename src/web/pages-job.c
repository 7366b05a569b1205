/*
 * pages-job.c - the job page "/jobs/<project>/<job>[?c=<cursor>]" (spec 7.4).
 */
#include "base/compat.h"

#include "auth/auth.h"
#include "web/web-internal.h"

int page_load_job(struct page *p, const char *project, const char *job, struct engine_job *ret)
{
    char id[ENGINE_ID_MAX];
    int n = snprintf(id, sizeof(id), "%s/%s", project, job);
    int r = n > 0 && (size_t)n < sizeof(id) ? engine_get_job(p->w->e, id, ret) : -ENOENT;

    if (r == 0 && !page_can(p, ret, AUTH_PERM_GET))
        r = -ENOENT;
    if (r == -ENOENT) {
        r = page_error(p, 404, "No such job or no permission to view it.", true);
        return r < 0 ? r : 1;
    }
    return r;
}

static void summary(struct page *p, const struct engine_job *j)
{
    html_raw(&p->h, "<div class=\"summary\"><dl><dt>State:</dt> <dd id=\"state\">");
    page_label(p, job_state_class(j->state), j->state_name);
    html_raw(&p->h, "</dd></dl><dl><dt>Schedule:</dt> <dd class=\"mono\">");
    html_text(&p->h, j->schedule);
    html_raw(&p->h, "</dd></dl><dl><dt>Next run:</dt> <dd>");
    page_next_run(p, j);
    html_raw(&p->h, "</dd></dl><dl><dt>Actions:</dt> <dd>");
    page_actions(p, j);
    html_raw(&p->h, "</dd></dl></div>\n");
    if (j->paused) {
        html_raw(&p->h, "<div class=\"alert alert-warning\" id=\"paused\">Paused by ");
        page_paused_by(p, j);
        html_raw(&p->h, ": ");
        html_text(&p->h, *j->paused_or_resumed_reason ? j->paused_or_resumed_reason
                                                      : "Unknown reason.");
        html_raw(&p->h, "</div>\n");
    }
}

void page_definition_heading(struct page *p, const char *revision, const char *url)
{
    char *own = NULL;

    if (p->w->config_view_url && p->project &&
        web_config_url(p->w->config_view_url, p->project, revision, &own) == 0)
        url = own;
    html_raw(&p->h, "<h3>Definition (rev ");
    if (*url && html_url_is_safe(url)) {
        html_raw(&p->h, "<a");
        html_attr_url(&p->h, "href", url);
        html_raw(&p->h, " rel=\"noopener noreferrer\" target=\"_blank\">");
        html_text(&p->h, revision);
        html_raw(&p->h, "</a>");
    } else {
        html_text(&p->h, revision);
    }
    html_raw(&p->h, ")</h3>\n");
    free(own);
}

/* One column of the definition: a heading and the text format of json (or a note). */
static void definition_column(struct page *p, const char *title, const char *id,
                              const char *json, int (*fmt)(const json_t *, struct buf *))
{
    json_t *v = json && *json ? json_loads(json, 0, NULL) : NULL;
    struct buf text;

    buf_init(&text, WEB_MAX_PAGE_BYTES / 4);
    html_raw(&p->h, "<div><h4>");
    html_text(&p->h, title);
    html_raw(&p->h, "</h4><pre");
    html_attr(&p->h, "id", id);
    html_raw(&p->h, ">");
    if (v && fmt(v, &text) == 0)
        html_text(&p->h, text.data);
    html_raw(&p->h, "</pre></div>");
    buf_release(&text);
    json_decref(v);
}

/* "Definition (rev ...)": the job's current task and triggering policy (spec 7.4). */
static void definition(struct page *p, const struct engine_job *j)
{
    char *task = NULL, *policy = NULL;

    if (!*j->revision || engine_job_definition(p->w->e, j->id, &task, &policy) < 0)
        return;
    page_definition_heading(p, j->revision, j->revision_url);
    html_raw(&p->h, "<div class=\"columns\">");
    definition_column(p, "Task", "task", task, textpb_task);
    definition_column(p, "Triggering policy", "policy", policy, textpb_policy);
    html_raw(&p->h, "</div>\n");
    free(task);
    free(policy);
}

/*
 * Spec 3.x "triage log staleness" / 7.4: the job was triaged (more than 1 s
 * ago) after the log it shows was written: a red alert with the difference.
 * LUCI's text says "GAE logs"; tock's names the server's.
 */
static void triage_stale_alert(struct page *p, const struct engine_job *j, int64_t log_when)
{
    char d[HUMANIZE_MAX];

    if (j->last_triage <= 0 || p->now - j->last_triage <= NS_PER_SEC ||
        log_when >= j->last_triage)
        return;
    humanize_duration(log_when, j->last_triage, d, sizeof(d));
    for (size_t n = strlen(d); n > 0 && d[n - 1] == ' ';) /* go-humanize's empty label */
        d[--n] = '\0';
    html_raw(&p->h, "<div class=\"alert alert-danger\" id=\"triage-stale\">This log is stale! "
                    "The log is ");
    html_text(&p->h, d);
    html_raw(&p->h, " older than the expected. Please investigate the server's logs to see why "
                    "the triage log is not being updated.</div>\n");
}

static void triage_and_pending(struct page *p, const struct engine_job *j, const json_t *st)
{
    char *log = NULL, rel[HUMANIZE_MAX] = "";
    int64_t when = 0;
    const json_t *pending;
    json_t *fates;

    if (engine_triage_log(p->w->e, j->id, &log, &when) == 0 && log && *log) {
        humanize_rel_time(when, p->now, "ago", "", rel, sizeof(rel));
        html_raw(&p->h, "<h3>Last triage (");
        html_text(&p->h, rel);
        html_raw(&p->h, ")</h3>\n");
        triage_stale_alert(p, j, when);
        html_raw(&p->h, "<pre id=\"triage-log\">");
        html_text(&p->h, log);
        html_raw(&p->h, "</pre>\n");
    }
    free(log);
    pending = json_object_get(st, "pendingTriggersSet");
    fates = fates_load(p, j->id, NULL);
    if (json_array_size(pending) > 0) {
        html_raw(&p->h, "<h3>Pending triggers</h3>\n");
        page_trigger_list_fates(p, j->project, j->name, pending, fates);
    }
    page_fates_table(p, j->project, j->name, fates);
    json_decref(fates);
}

static void invocation_row(struct page *p, const struct engine_job *j,
                           const struct engine_invocation *inv)
{
    const char *status = inv_display_status(inv);
    char rel[HUMANIZE_MAX] = "", dur[HUMANIZE_MAX] = "", id[24];

    snprintf(id, sizeof(id), "%" PRId64, inv->id);
    humanize_time(inv->started, p->now, rel, sizeof(rel));
    humanize_duration(inv->started, inv->final ? inv->finished : p->now, dur, sizeof(dur));
    html_raw(&p->h, "<tr");
    html_attr(&p->h, "class", inv_row_class(status));
    html_raw(&p->h, "><td><a");
    page_href_job(p, j->project, j->name, id);
    html_raw(&p->h, ">");
    html_text(&p->h, id);
    html_raw(&p->h, "</a></td><td>");
    html_text(&p->h, rel);
    html_raw(&p->h, "</td><td>");
    html_text(&p->h, who_display(inv->triggered_by));
    html_raw(&p->h, "</td><td>");
    html_text(&p->h, dur);
    html_raw(&p->h, "</td><td>");
    if (*inv->view_url && html_url_is_safe(inv->view_url)) {
        html_raw(&p->h, "<a");
        html_attr_url(&p->h, "href", inv->view_url);
        html_raw(&p->h, " rel=\"noopener noreferrer\" target=\"_blank\">");
    }
    page_label(p, inv_status_class(status), status);
    if (*inv->view_url && html_url_is_safe(inv->view_url))
        html_raw(&p->h, "</a>");
    html_raw(&p->h, "</td></tr>\n");
}

/* "← Newer" and "Older →"; prev NULL = no Newer page known, "" = the first page. */
static void pager(struct page *p, const struct engine_job *j, const char *cursor,
                  const char *prev, const char *next)
{
    html_raw(&p->h, "<nav class=\"pager\">");
    if (!cursor || !prev) {
        html_raw(&p->h, "<span class=\"disabled\">&larr; Newer</span>");
    } else {
        html_raw(&p->h, "<a class=\"newer\"");
        html_attr_begin(&p->h, "href");
        html_attr_part(&p->h, "/jobs/");
        html_attr_segment(&p->h, j->project);
        html_attr_part(&p->h, "/");
        html_attr_segment(&p->h, j->name);
        if (*prev) {
            html_attr_part(&p->h, "?c=");
            html_attr_segment(&p->h, prev);
        }
        html_attr_end(&p->h);
        html_raw(&p->h, ">&larr; Newer</a>");
    }
    if (!next) {
        html_raw(&p->h, "<span class=\"disabled\">Older &rarr;</span>");
    } else {
        html_raw(&p->h, "<a class=\"older\"");
        html_attr_begin(&p->h, "href");
        html_attr_part(&p->h, "/jobs/");
        html_attr_segment(&p->h, j->project);
        html_attr_part(&p->h, "/");
        html_attr_segment(&p->h, j->name);
        html_attr_part(&p->h, "?c=");
        html_attr_segment(&p->h, next);
        html_attr_end(&p->h);
        html_raw(&p->h, ">Older &rarr;</a>");
    }
    html_raw(&p->h, "</nav>\n");
}

/* The first page's active invocations: those of the job's active list still not final. */
struct active_set {
    struct engine_invocation *v;
    size_t n;
};

static void active_set_release(struct active_set *a)
{
    engine_invocations_free(a->v, a->n);
    *a = (struct active_set){NULL, 0};
}

/* Reads the invocations the debug state lists as active (at most WEB_ACTIVE_MAX), newest first. */
static int active_load(struct page *p, const struct engine_job *j, const json_t *st,
                       struct active_set *ret)
{
    const json_t *ids = json_object_get(st, "activeInvocations"), *id;
    size_t n = json_array_size(ids), i;
    struct active_set a = {NULL, 0};

    if (n > WEB_ACTIVE_MAX)
        n = WEB_ACTIVE_MAX;
    if (n && !(a.v = calloc(n, sizeof(*a.v))))
        return -ENOMEM;
    for (i = n; i-- > 0;) { /* the list is oldest first */
        id = json_array_get(ids, i);
        int64_t v = json_is_integer(id) ? (int64_t)json_integer_value(id)
                    : json_is_string(id) ? strtoll(json_string_value(id), NULL, 10) : 0;
        if (v == 0 || engine_get_invocation(p->w->e, j->id, v, &a.v[a.n]) < 0)
            continue;
        if (a.v[a.n].final) {
            engine_invocation_release(&a.v[a.n]);
            continue;
        }
        free(a.v[a.n].debug_log); /* the table needs none of the owned texts */
        free(a.v[a.n].task_json);
        free(a.v[a.n].request_json);
        free(a.v[a.n].outgoing_json);
        a.v[a.n].debug_log = a.v[a.n].task_json = NULL;
        a.v[a.n].request_json = a.v[a.n].outgoing_json = NULL;
        a.n++;
    }
    *ret = a;
    return 0;
}

/*
 * The table: on the first page the active invocations, a separator row,
 * then the listed ones not among them (spec 7.4); other pages list as they
 * come.
 */
void page_invocations_table(struct page *p, const struct engine_job *j,
                            const struct engine_invocation *active, size_t n_active,
                            const struct engine_invocation *invs, size_t n)
{
    html_raw(&p->h, "<table id=\"invocations\"");
    if (n_active > 0)
        html_raw(&p->h, " data-active=\"1\"");
    html_raw(&p->h, "><thead><tr><th>ID</th><th>Started</th>"
                    "<th>Triggered by</th><th>Duration</th><th>Status</th></tr></thead>"
                    "<tbody>\n");
    for (size_t i = 0; i < n_active; i++)
        invocation_row(p, j, &active[i]);
    if (n_active > 0)
        html_raw(&p->h, "<tr class=\"sep\"><td colspan=\"5\"></td></tr>\n");
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t k = 0; k < n_active && !dup; k++)
            dup = active[k].id == invs[i].id;
        if (!dup)
            invocation_row(p, j, &invs[i]);
    }
    html_raw(&p->h, "</tbody></table>\n");
}

/*
 * Spec 7.4: a just-finished invocation must not keep the job RUNNING on
 * this page: without a really active invocation the state is the one the
 * job would have without it.
 */
static void tidy_state(struct engine_job *j, const struct active_set *a)
{
    if (j->state != ENGINE_JOB_RUNNING || a->n > 0)
        return;
    j->state = j->paused ? ENGINE_JOB_PAUSED
               : j->next_tick != 0 ? ENGINE_JOB_SCHEDULED : ENGINE_JOB_WAITING;
    j->state_name = engine_job_state_name(j->state);
}

/* The page's invocations: *invs after cursor, and on the first page the active set. */
static int load_invocations(struct page *p, const struct engine_job *j, const char *cursor,
                            const json_t *st, struct active_set *active,
                            struct engine_invocation **invs, size_t *n, char **next)
{
    int r;

    if (!cursor && (r = active_load(p, j, st, active)) < 0)
        return r;
    /* Room for the finished 50 on the first page even when the active ones are the newest. */
    r = engine_list_invocations(p->w->e, j->id, cursor,
                                ENGINE_PAGE_SIZE_DEFAULT + (int)active->n, invs, n, next);
    if (r < 0)
        active_set_release(active);
    return r;
}

int page_job(struct page *p, const char *project, const char *job)
{
    struct engine_job j;
    struct engine_invocation *invs = NULL;
    struct active_set active = {NULL, 0};
    size_t n = 0;
    char *next = NULL, *prev = NULL;
    const char *cursor = http_request_query(p->req, "c");
    json_t *st = NULL;
    int r;

    p->project = project;
    p->job = job;
    r = page_load_job(p, project, job, &j);
    if (r != 0)
        return r < 0 ? r : 0;
    if (cursor && !*cursor)
        cursor = NULL;
    if (!cursor && engine_debug_job_state(p->w->e, j.id, &st) < 0)
        st = NULL;
    r = load_invocations(p, &j, cursor, st, &active, &invs, &n, &next);
    if (r == -EINVAL) {
        json_decref(st);
        return page_error(p, 400, "Bad cursor.", false);
    }
    if (r < 0) {
        json_decref(st);
        return r;
    }
    if (!cursor && st) /* without the debug state the active set is unknown: keep the state */
        tidy_state(&j, &active);
    if (next)
        web_cursor_remember(p->w, j.id, next, cursor ? cursor : "");
    if (cursor && web_cursor_prev(p->w, j.id, cursor, &prev) < 0)
        prev = NULL;
    if (http_request_query(p->req, "fragment")) {
        r = live_job_fragment(p, &j, active.v, active.n, invs, n);
        goto out;
    }
    p->project = j.project;
    p->job = j.name;
    if (active.n > 0)
        p->live = true;
    page_begin(p);
    summary(p, &j);
    if (!cursor) {
        page_next_fires(p, &j);
        page_timeline(p, &j, active.v, active.n, invs, n);
        definition(p, &j);
        triage_and_pending(p, &j, st);
    }
    html_raw(&p->h, "<h3>Invocations</h3>\n");
    pager(p, &j, cursor, prev, next);
    page_invocations_table(p, &j, active.v, active.n, invs, n);
    pager(p, &j, cursor, prev, next);
    page_end(p);
    r = page_send(p, 200);
out:
    json_decref(st);
    active_set_release(&active);
    engine_invocations_free(invs, n);
    free(next);
    free(prev);
    return r;
}
