/*
 * fates.c - "tock why" on the pages: what became of each trigger (the
 * engine's trigger fates, engine_trigger_fates), next to pending and
 * incoming triggers and as a "Recent trigger fates" table on the job page.
 */
#include "base/compat.h"

#include "base/time.h"
#include "web/web-internal.h"

/* Rows the job page's fates table shows (of the WEB_FATES_MAX read). */
#define FATES_TABLE_ROWS 25

static const char *fstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

json_t *fates_load(struct page *p, const char *job_id, const char *trigger_id)
{
    json_t *v = NULL;

    if (engine_trigger_fates(p->w->e, job_id, trigger_id, WEB_FATES_MAX, &v) < 0)
        return NULL;
    return v;
}

/* The label class of a fate: went to an invocation, waits, or was dropped. */
static const char *fate_class(const char *fate)
{
    if (strcmp(fate, "CONSUMED") == 0 || strcmp(fate, "MERGED") == 0)
        return "label-success";
    if (strcmp(fate, "PENDING") == 0)
        return "label-info";
    if (strcmp(fate, "DEDUPLICATED") == 0)
        return "label-default";
    return "label-warning";
}

/* A link to the invocation id (a decimal string) of project/job. */
static void inv_link(struct page *p, const char *project, const char *job, const char *id)
{
    html_raw(&p->h, "<a class=\"fate-inv\"");
    page_href_job(p, project, job, id);
    html_raw(&p->h, ">invocation ");
    html_text(&p->h, id);
    html_raw(&p->h, "</a>");
}

void page_fate_badge(struct page *p, const char *project, const char *job,
                     const char *trigger_id, const json_t *fates)
{
    const json_t *f = NULL, *x;
    size_t i;

    json_array_foreach(fates, i, x) {
        if (strcmp(fstr(x, "triggerId"), trigger_id) == 0) {
            f = x; /* newest decision first */
            break;
        }
    }
    if (!f)
        return;
    html_raw(&p->h, " <span class=\"fate\">");
    page_label(p, fate_class(fstr(f, "fate")), fstr(f, "fate"));
    if (*fstr(f, "invocationId") && project && job) {
        html_raw(&p->h, " ");
        inv_link(p, project, job, fstr(f, "invocationId"));
    }
    if (*fstr(f, "reason")) {
        html_raw(&p->h, " <span class=\"fate-reason\">");
        html_text(&p->h, fstr(f, "reason"));
        html_raw(&p->h, "</span>");
    }
    html_raw(&p->h, "</span>");
}

static void fate_row(struct page *p, const char *project, const char *job, const json_t *f)
{
    const char *title = fstr(f, "title"), *url = fstr(f, "url");
    char rel[HUMANIZE_MAX] = "";
    int64_t when;

    html_raw(&p->h, "<tr><td class=\"mono\">");
    if (*url && html_url_is_safe(url)) {
        html_raw(&p->h, "<a");
        html_attr_url(&p->h, "href", url);
        html_raw(&p->h, " rel=\"noopener noreferrer\" target=\"_blank\">");
    }
    html_text(&p->h, *title ? title : fstr(f, "triggerId"));
    if (*url && html_url_is_safe(url))
        html_raw(&p->h, "</a>");
    html_raw(&p->h, "</td><td>");
    page_label(p, fate_class(fstr(f, "fate")), fstr(f, "fate"));
    html_raw(&p->h, "</td><td>");
    if (*fstr(f, "invocationId"))
        inv_link(p, project, job, fstr(f, "invocationId"));
    html_raw(&p->h, "</td><td>");
    html_text(&p->h, fstr(f, "reason"));
    html_raw(&p->h, "</td><td class=\"hide-narrow\">");
    if (time_parse_rfc3339(fstr(f, "decidedAt"), &when) == 0)
        humanize_time(when, p->now, rel, sizeof(rel));
    html_text(&p->h, rel);
    html_raw(&p->h, "</td></tr>\n");
}

void page_fates_table(struct page *p, const char *project, const char *job,
                      const json_t *fates)
{
    size_t n = json_array_size(fates);

    if (n == 0)
        return;
    html_raw(&p->h, "<h3>Recent trigger fates</h3>\n<table id=\"fates\"><thead><tr>"
                    "<th>Trigger</th><th>Fate</th><th>Invocation</th><th>Reason</th>"
                    "<th class=\"hide-narrow\">Decided</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n && i < FATES_TABLE_ROWS; i++)
        fate_row(p, project, job, json_array_get(fates, i));
    html_raw(&p->h, "</tbody></table>\n");
}
