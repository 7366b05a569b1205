/*
 * layout.c - the common layout of every page (spec 7.1), the error page
 * (7.6) and the widgets pages share: labels, job links, trigger lists.
 */
#include "base/compat.h"

#include "auth/auth.h"
#include "base/time.h"
#include "web/web-internal.h"

static void crumb_sep(struct page *p)
{
    html_raw(&p->h, "<span class=\"sep\">&rsaquo;</span>");
}

static void title_text(struct page *p)
{
    html_raw(&p->h, "LUCI Scheduler");
    if (p->project) {
        html_raw(&p->h, " :: ");
        html_text(&p->h, p->project);
        if (p->filter) {
            html_raw(&p->h, " [");
            html_text(&p->h, p->filter);
            html_raw(&p->h, "]");
        }
    }
    if (p->project && p->job) {
        html_raw(&p->h, " :: ");
        html_text(&p->h, p->job);
        if (p->inv) {
            html_raw(&p->h, " :: ");
            html_text(&p->h, p->inv);
        }
    }
}

static void breadcrumbs(struct page *p)
{
    html_raw(&p->h, "<nav class=\"crumbs\"><a href=\"/\">All projects</a>");
    if (p->project) {
        crumb_sep(p);
        html_raw(&p->h, "<a");
        page_href_job(p, p->project, NULL, NULL);
        html_raw(&p->h, ">");
        html_text(&p->h, p->project);
        if (p->filter) {
            html_raw(&p->h, " [");
            html_text(&p->h, p->filter);
            html_raw(&p->h, "]");
        }
        html_raw(&p->h, "</a>");
    }
    if (p->project && p->job) {
        crumb_sep(p);
        html_raw(&p->h, "<a");
        page_href_job(p, p->project, p->job, NULL);
        html_raw(&p->h, ">");
        html_text(&p->h, p->job);
        html_raw(&p->h, "</a>");
        if (p->inv) {
            crumb_sep(p);
            html_raw(&p->h, "<a");
            page_href_job(p, p->project, p->job, p->inv);
            html_raw(&p->h, ">");
            html_text(&p->h, p->inv);
            html_raw(&p->h, "</a>");
        }
    }
    html_raw(&p->h, "</nav>\n");
}

/* The navbar's right side: "Login", or "Signed in as <who>" and a Logout button. */
static void user_box(struct page *p)
{
    char token[WEB_CSRF_LEN + 1];

    if (p->anonymous) {
        html_raw(&p->h, "<a id=\"login\" href=\"/login\">Login</a>");
        return;
    }
    html_raw(&p->h, "Signed in as <b id=\"identity\">");
    html_text(&p->h, who_display(p->identity));
    html_raw(&p->h, "</b>");
    if (!*p->session)
        return; /* a bearer token or the proxy: nothing to sign out of here */
    page_csrf_token(p, token);
    html_raw(&p->h, " | <form method=\"post\" action=\"/logout\" class=\"logout\">"
                    "<input type=\"hidden\" name=\"xsrf_token\"");
    html_attr(&p->h, "value", token);
    html_raw(&p->h, "><button type=\"submit\" id=\"logout\">Logout</button></form>");
}

void page_begin(struct page *p)
{
    html_raw(&p->h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
    title_text(p);
    html_raw(&p->h, "</title>\n<link rel=\"icon\" href=\"data:,\">\n"
                    "<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n<body");
    if (p->anonymous)
        html_raw(&p->h, " class=\"anonymous\"");
    html_raw(&p->h, ">\n<header class=\"navbar\"><a class=\"brand\" href=\"/\">LUCI Scheduler</a>"
                    "<div class=\"user\">");
    user_box(p);
    html_raw(&p->h, "</div></header>\n<main>\n");
    breadcrumbs(p);
}

void page_end(struct page *p)
{
    char d[TIME_DURATION_MAX];

    time_format_duration(clock_mono(p->w->clock) - p->started, d, sizeof(d));
    html_raw(&p->h, "</main>\n<footer>Handled in ");
    html_text(&p->h, d);
    html_raw(&p->h, " &middot; Version: ");
    html_text(&p->h, p->w->version);
    html_raw(&p->h, "</footer>\n");
    if (p->live) /* live.c: the page polls while it is not final */
        html_raw(&p->h, "<script src=\"/static/live.js\" defer></script>\n");
    html_raw(&p->h, "</body>\n</html>\n");
}

int page_error(struct page *p, int status, const char *message, bool relogin)
{
    html_release(&p->h);
    html_init(&p->h, WEB_MAX_PAGE_BYTES);
    page_begin(p);
    html_raw(&p->h, "<div class=\"alert alert-danger\" id=\"error\"><h1>");
    html_textf(&p->h, "%d %s", status, http_status_text(status));
    html_raw(&p->h, "</h1><p class=\"message\">");
    html_text(&p->h, message);
    html_raw(&p->h, "</p>");
    if (relogin && p->anonymous)
        html_raw(&p->h, "<p><a href=\"/login\">You may need to login first.</a></p>");
    html_raw(&p->h, "</div>\n");
    page_end(p);
    return page_send(p, status);
}

void page_href_job(struct page *p, const char *project, const char *job, const char *inv)
{
    html_attr_begin(&p->h, "href");
    html_attr_part(&p->h, "/jobs/");
    html_attr_segment(&p->h, project);
    if (job) {
        html_attr_part(&p->h, "/");
        html_attr_segment(&p->h, job);
    }
    if (job && inv) {
        html_attr_part(&p->h, "/");
        html_attr_segment(&p->h, inv);
    }
    html_attr_end(&p->h);
}

void page_label(struct page *p, const char *cls, const char *text)
{
    html_raw(&p->h, "<span");
    html_attr_begin(&p->h, "class");
    html_attr_part(&p->h, "label");
    if (cls && *cls) {
        html_attr_part(&p->h, " ");
        html_attr_part(&p->h, cls);
    }
    html_attr_end(&p->h);
    html_raw(&p->h, ">");
    html_text(&p->h, text);
    html_raw(&p->h, "</span>");
}

const char *job_state_class(enum engine_job_state s)
{
    switch (s) {
    case ENGINE_JOB_RUNNING: return "label-info";
    case ENGINE_JOB_PAUSED: return "label-default";
    case ENGINE_JOB_SCHEDULED: return "label-primary";
    case ENGINE_JOB_WAITING: return "label-warning";
    default: return "";
    }
}

static const struct {
    const char *status, *row, *label;
} status_classes[] = {
    {"STARTING", "active", "label-default"}, {"RETRYING", "warning", "label-warning"},
    {"RUNNING", "info", "label-info"},       {"SUCCEEDED", "success", "label-success"},
    {"FAILED", "danger", "label-danger"},    {"OVERRUN", "warning", "label-warning"},
    {"ABORTED", "danger", "label-danger"},
};

const char *inv_status_class(const char *status)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_classes); i++)
        if (strcmp(status, status_classes[i].status) == 0)
            return status_classes[i].label;
    return "label-default";
}

const char *inv_row_class(const char *status)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_classes); i++)
        if (strcmp(status, status_classes[i].status) == 0)
            return status_classes[i].row;
    return "";
}

const char *inv_display_status(const struct engine_invocation *inv)
{
    static const char *const single_stage[] = {"gitiles", "git", "url_fetch", "noop"};

    if (inv->status != INV_STARTING)
        return inv->status_name;
    for (size_t i = 0; i < ARRAY_SIZE(single_stage); i++)
        if (strcmp(inv->task_kind, single_stage[i]) == 0)
            return "RUNNING";
    return inv->status_name;
}

void page_next_run(struct page *p, const struct engine_job *j)
{
    char rel[HUMANIZE_MAX];

    if (j->paused || strcmp(j->schedule, "triggered") == 0)
        html_raw(&p->h, "-");
    else if (j->next_tick == 0)
        html_raw(&p->h, "not scheduled yet");
    else if (humanize_time(j->next_tick, p->now, rel, sizeof(rel)) == 0)
        html_text(&p->h, rel);
}

void page_paused_by(struct page *p, const struct engine_job *j)
{
    char rel[HUMANIZE_MAX] = "";

    humanize_time(j->paused_or_resumed_when, p->now, rel, sizeof(rel));
    html_text(&p->h, *j->paused_or_resumed_by ? who_display(j->paused_or_resumed_by) : "unknown");
    html_raw(&p->h, " ");
    html_text(&p->h, rel);
}

const char *who_display(const char *identity)
{
    if (!identity || !*identity)
        return "-";
    if (strncmp(identity, "user:", 5) == 0)
        return identity + 5;
    return identity;
}

void page_flavor_icon(struct page *p, enum engine_flavor f)
{
    switch (f) {
    case ENGINE_FLAVOR_TRIGGERED:
        html_raw(&p->h, "<span class=\"flavor flavor-triggered\" title=\"Triggered job\">"
                        "&#x26A1;</span>");
        break;
    case ENGINE_FLAVOR_TRIGGER:
        html_raw(&p->h, "<span class=\"flavor flavor-trigger\" title=\"Triggering job\">"
                        "&#x1F514;</span>");
        break;
    default:
        html_raw(&p->h, "<span class=\"flavor flavor-periodic\" title=\"Periodic job\">"
                        "&#x23F2;</span>");
        break;
    }
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void trigger_item(struct page *p, const json_t *t, const char *project, const char *job,
                         const json_t *fates)
{
    const char *title = jstr(t, "title"), *url = jstr(t, "url"), *by = jstr(t, "emittedByUser");
    char rel[HUMANIZE_MAX] = "";
    int64_t created;

    html_raw(&p->h, "<li><span class=\"mono\">");
    if (*url && html_url_is_safe(url)) {
        html_raw(&p->h, "<a");
        html_attr_url(&p->h, "href", url);
        html_raw(&p->h, " rel=\"noopener noreferrer\" target=\"_blank\">");
    }
    html_text(&p->h, *title ? title : jstr(t, "id"));
    if (*url && html_url_is_safe(url))
        html_raw(&p->h, "</a>");
    html_raw(&p->h, "</span> (");
    if (time_parse_rfc3339(jstr(t, "created"), &created) == 0)
        humanize_time(created, p->now, rel, sizeof(rel));
    html_text(&p->h, rel);
    if (*by) {
        html_raw(&p->h, " by <b>");
        html_text(&p->h, strncmp(by, "user:", 5) == 0 ? by + 5 : by);
        html_raw(&p->h, "</b>");
    }
    html_raw(&p->h, ")");
    if (fates)
        page_fate_badge(p, project, job, jstr(t, "id"), fates);
    html_raw(&p->h, "</li>\n");
}

struct sorted_trigger {
    int64_t created;
    size_t index;
    const json_t *t;
};

/* Oldest first; equal times keep their order. */
static int trigger_order(const void *a, const void *b)
{
    const struct sorted_trigger *x = a, *y = b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void page_trigger_list(struct page *p, const json_t *triggers)
{
    page_trigger_list_fates(p, NULL, NULL, triggers, NULL);
}

void page_trigger_list_fates(struct page *p, const char *project, const char *job,
                             const json_t *triggers, const json_t *fates)
{
    size_t n = json_array_size(triggers);
    struct sorted_trigger *v = n ? calloc(n, sizeof(*v)) : NULL;

    if (n && !v) {
        if (p->h.err == 0)
            p->h.err = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].t = json_array_get(triggers, i);
        v[i].index = i;
        if (time_parse_rfc3339(jstr(v[i].t, "created"), &v[i].created) < 0)
            v[i].created = 0;
    }
    sort_array(v, n, sizeof(*v), trigger_order);
    html_raw(&p->h, "<ul class=\"triggers\">\n");
    for (size_t i = 0; i < n; i++)
        trigger_item(p, v[i].t, project, job, fates);
    html_raw(&p->h, "</ul>\n");
    free(v);
}

bool page_can(const struct page *p, const struct engine_job *j, int perm)
{
    return auth_check(p->w->a, p->identity, j->project, j->realm_id, j->name,
                      (enum auth_perm)perm);
}
