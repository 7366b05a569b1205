/*
 * svg.c - the job page's pictures, drawn on the server: a timeline of the
 * newest invocations (inline SVG: start, duration, status colour, each bar
 * a link to its invocation) and the schedule's next fire times.
 *
 * The SVG is built with the escaping builder like the rest of the page;
 * colours come from classes of style.css (the CSP forbids style=""), and
 * every number is formatted here, so no attacker text reaches an attribute
 * unescaped.
 */
#include "base/compat.h"

#include "schedule/schedule.h"
#include "web/web-internal.h"

#define TL_WIDTH 1000 /* viewBox units */
#define TL_BAR_Y 4
#define TL_BAR_H 28
#define TL_HEIGHT 48
#define TL_MIN_SPAN_NS (60 * NS_PER_SEC)
/* How many fire times "Next runs" lists. */
#define NEXT_FIRES 5

/* The first n invocations of a then b (b minus those in a), newest first, at most max. */
static size_t pick(const struct engine_invocation *a, size_t na,
                   const struct engine_invocation *b, size_t nb,
                   const struct engine_invocation **out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < na && n < max; i++)
        out[n++] = &a[i];
    for (size_t i = 0; i < nb && n < max; i++) {
        bool dup = false;
        for (size_t k = 0; k < na && !dup; k++)
            dup = a[k].id == b[i].id;
        if (!dup)
            out[n++] = &b[i];
    }
    return n;
}

static void bar(struct page *p, const struct engine_job *j, const struct engine_invocation *inv,
                int64_t t0, int64_t span)
{
    const char *status = inv_display_status(inv);
    int64_t end = inv->final ? inv->finished : p->now;
    double x = (double)(inv->started - t0) * TL_WIDTH / (double)span;
    double w = (double)(end - inv->started) * TL_WIDTH / (double)span;
    char id[24], dur[HUMANIZE_MAX] = "";

    if (w < 2)
        w = 2;
    if (x < 0)
        x = 0;
    snprintf(id, sizeof(id), "%" PRId64, inv->id);
    humanize_duration(inv->started, end, dur, sizeof(dur));
    html_raw(&p->h, "<a");
    page_href_job(p, j->project, j->name, id);
    html_raw(&p->h, "><rect");
    html_attr(&p->h, "class", inv_status_class(status));
    html_raw(&p->h, " x=\"");
    html_textf(&p->h, "%.1f", x);
    html_raw(&p->h, "\" y=\"");
    html_textf(&p->h, "%d", TL_BAR_Y);
    html_raw(&p->h, "\" width=\"");
    html_textf(&p->h, "%.1f", w);
    html_raw(&p->h, "\" height=\"");
    html_textf(&p->h, "%d", TL_BAR_H);
    html_raw(&p->h, "\"><title>");
    html_textf(&p->h, "%s %s (%s)", id, status, dur);
    html_raw(&p->h, "</title></rect></a>");
}

void page_timeline(struct page *p, const struct engine_job *j,
                   const struct engine_invocation *active, size_t n_active,
                   const struct engine_invocation *invs, size_t n)
{
    const struct engine_invocation *v[WEB_TIMELINE_MAX];
    size_t k = pick(active, n_active, invs, n, v, WEB_TIMELINE_MAX);
    int64_t t0 = p->now, span;
    char rel[HUMANIZE_MAX] = "";

    if (k == 0)
        return;
    for (size_t i = 0; i < k; i++)
        if (v[i]->started < t0)
            t0 = v[i]->started;
    span = p->now - t0 < TL_MIN_SPAN_NS ? TL_MIN_SPAN_NS : p->now - t0;
    t0 = p->now - span;
    humanize_time(t0, p->now, rel, sizeof(rel));
    html_raw(&p->h, "<h3>Timeline</h3>\n<svg class=\"timeline\" "
                    "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1000 48\" "
                    "preserveAspectRatio=\"none\" role=\"img\"");
    html_attr(&p->h, "aria-label", "The newest invocations by start time and duration");
    html_raw(&p->h, "><line class=\"axis\" x1=\"0\" y1=\"36\" x2=\"1000\" y2=\"36\"></line>");
    for (size_t i = k; i-- > 0;) /* oldest first: newer bars drawn on top */
        bar(p, j, v[i], t0, span);
    html_raw(&p->h, "</svg>\n<div class=\"timeline-axis\"><span>");
    html_text(&p->h, rel);
    html_raw(&p->h, "</span><span>now</span></div>\n");
}

void page_next_fires(struct page *p, const struct engine_job *j)
{
    struct schedule_options o = {.job_id = j->id};
    struct schedule *s = NULL;
    char err[128], when[40], rel[HUMANIZE_MAX];
    int64_t t = p->now;

    if (j->paused || schedule_parse(j->schedule, &o, &s, err, sizeof(err)) < 0)
        return;
    if (schedule_kind(s) != SCHEDULE_ABSOLUTE) {
        schedule_free(s);
        return;
    }
    html_raw(&p->h, "<h3>Next runs</h3>\n<ul id=\"next-runs\" class=\"mono\">\n");
    for (int i = 0; i < NEXT_FIRES; i++) {
        t = schedule_next(s, t, TIME_ZERO);
        if (t == TIME_ZERO || t >= TIME_DISTANT_FUTURE ||
            time_format_rfc3339(t, when, sizeof(when)) < 0)
            break;
        humanize_time(t, p->now, rel, sizeof(rel));
        html_raw(&p->h, "<li>");
        html_text(&p->h, when);
        html_raw(&p->h, " <span class=\"rel\">(");
        html_text(&p->h, rel);
        html_raw(&p->h, ")</span></li>\n");
    }
    html_raw(&p->h, "</ul>\n");
    schedule_free(s);
}

/* Hours the index page's sparklines cover. */
#define SPARK_HOURS 24
#define SPARK_BAR_W 4
#define SPARK_H 20

void page_sparkline(struct page *p, const char *project, const char *const *ids, size_t n)
{
    unsigned counts[SPARK_HOURS], max = 0, total = 0;
    int r = engine_project_activity(p->w->e, project, ids, n, p->now, SPARK_HOURS, counts);

    if (r < 0)
        return;
    for (int i = 0; i < SPARK_HOURS; i++) {
        total += counts[i];
        if (counts[i] > max)
            max = counts[i];
    }
    html_raw(&p->h, "<svg class=\"sparkline\" xmlns=\"http://www.w3.org/2000/svg\" "
                    "viewBox=\"0 0 96 20\" role=\"img\"");
    html_attr_begin(&p->h, "aria-label");
    html_attr_part(&p->h, "Invocations per hour, last 24 hours");
    html_attr_end(&p->h);
    html_raw(&p->h, "><title>");
    html_textf(&p->h, "%s%u invocations in the last 24 h", r == 1 ? "at least " : "", total);
    html_raw(&p->h, "</title>");
    for (int i = 0; i < SPARK_HOURS && max > 0; i++) {
        unsigned h = counts[i] == 0 ? 0 : 1 + (unsigned)((SPARK_H - 1) * counts[i] / max);
        if (h == 0)
            continue;
        html_raw(&p->h, "<rect x=\"");
        html_textf(&p->h, "%d", i * SPARK_BAR_W);
        html_raw(&p->h, "\" y=\"");
        html_textf(&p->h, "%u", SPARK_H - h);
        html_raw(&p->h, "\" width=\"3\" height=\"");
        html_textf(&p->h, "%u", h);
        html_raw(&p->h, "\"></rect>");
    }
    html_raw(&p->h, "<line x1=\"0\" y1=\"19.5\" x2=\"96\" y2=\"19.5\"></line></svg>");
}
