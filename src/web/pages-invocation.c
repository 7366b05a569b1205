/*
 * pages-invocation.c - the invocation page
 * "/jobs/<project>/<job>/<invocationID>" (spec 7.5): what the seed pages
 * show, in their order.
 */
#include "base/compat.h"

#include "auth/auth.h"
#include "web/web-internal.h"

/* Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, in range. */
int page_parse_inv_id(const char *s, int64_t *ret)
{
    char *end = NULL;
    long long v;

    if (!*s || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || !end || *end || end == s || ((s[0] == '-' || s[0] == '+') && end == s + 1))
        return -EINVAL;
    *ret = (int64_t)v;
    return 0;
}

static void summary(struct page *p, const struct engine_job *j,
                    const struct engine_invocation *inv)
{
    const char *status = inv_display_status(inv), *by = who_display(inv->triggered_by);
    char dur[HUMANIZE_MAX] = "";

    humanize_duration(inv->started, inv->final ? inv->finished : p->now, dur, sizeof(dur));
    html_raw(&p->h, "<div class=\"summary\"><dl><dt>Status:</dt> <dd id=\"status\">");
    if (*inv->view_url && html_url_is_safe(inv->view_url)) {
        html_raw(&p->h, "<a");
        html_attr_url(&p->h, "href", inv->view_url);
        html_raw(&p->h, " rel=\"noopener noreferrer\" target=\"_blank\">");
        page_label(p, inv_status_class(status), status);
        html_raw(&p->h, "</a>");
    } else {
        page_label(p, inv_status_class(status), status);
    }
    html_raw(&p->h, "</dd></dl><dl><dt>Triggered by:</dt> <dd");
    html_attr(&p->h, "title", by);
    html_raw(&p->h, ">");
    html_text(&p->h, by);
    html_raw(&p->h, "</dd></dl><dl><dt>Duration:</dt> <dd id=\"duration\">");
    html_text(&p->h, dur);
    html_raw(&p->h, "</dd></dl><dl><dt>Actions:</dt> <dd>");
    page_actions_invocation(p, j, inv);
    html_raw(&p->h, "</dd></dl></div>\n");
}

static void definition(struct page *p, const struct engine_invocation *inv)
{
    json_t *def = inv->task_json ? json_loads(inv->task_json, 0, NULL) : NULL;
    struct buf text;

    if (!*inv->revision) {
        json_decref(def);
        return;
    }
    page_definition_heading(p, inv->revision, inv->revision_url);
    buf_init(&text, WEB_MAX_PAGE_BYTES / 4);
    html_raw(&p->h, "<pre id=\"task\">");
    if (def && textpb_task(def, &text) == 0)
        html_text(&p->h, text.data);
    html_raw(&p->h, "</pre>\n");
    buf_release(&text);
    json_decref(def);
}

static void properties_and_tags(struct page *p, const json_t *req)
{
    const json_t *props = json_object_get(req, "properties");
    const json_t *tags = json_object_get(req, "tags"), *t;
    size_t i;

    if (json_is_object(props)) {
        char *text = json_dumps(props, JSON_INDENT(2) | JSON_SORT_KEYS);
        html_raw(&p->h, "<h3>Incoming properties</h3>\n<pre id=\"properties\">");
        html_text(&p->h, text);
        html_raw(&p->h, "</pre>\n");
        free(text);
    }
    if (json_array_size(tags) > 0) {
        html_raw(&p->h, "<h3>Incoming tags</h3>\n<ul id=\"tags\" class=\"mono\">\n");
        json_array_foreach(tags, i, t) {
            html_raw(&p->h, "<li>");
            html_text(&p->h, json_string_value(t));
            html_raw(&p->h, "</li>\n");
        }
        html_raw(&p->h, "</ul>\n");
    }
}

static void body(struct page *p, const struct engine_job *j, const struct engine_invocation *inv)
{
    json_t *req = inv->request_json ? json_loads(inv->request_json, 0, NULL) : NULL;
    json_t *out = inv->outgoing_json ? json_loads(inv->outgoing_json, 0, NULL) : NULL;
    json_t *fates;

    summary(p, j, inv);
    definition(p, inv);
    html_raw(&p->h, "<h3>Incoming triggers</h3>\n");
    fates = fates_load(p, inv->job_id, NULL);
    page_trigger_list_fates(p, p->project, p->job, json_object_get(req, "incomingTriggers"),
                            fates);
    json_decref(fates);
    properties_and_tags(p, req);
    if (json_array_size(out) > 0) {
        html_raw(&p->h, "<h3>Outgoing triggers</h3>\n");
        page_trigger_list(p, out);
    }
    html_raw(&p->h, "<h3>Debug log (UTC)</h3>\n<pre id=\"debug-log\"");
    if (!inv->final) { /* live.js asks for the log after this offset */
        char off[24];
        snprintf(off, sizeof(off), "%zu", inv->debug_log ? strlen(inv->debug_log) : 0);
        html_attr(&p->h, "data-offset", off);
    }
    html_raw(&p->h, ">");
    html_text(&p->h, inv->debug_log);
    html_raw(&p->h, "</pre>\n");
    json_decref(req);
    json_decref(out);
}

int page_invocation(struct page *p, const char *project, const char *job, const char *inv_text)
{
    struct engine_job j;
    struct engine_invocation inv = {0};
    int64_t id;
    int r;

    p->project = project;
    p->job = job;
    if (page_parse_inv_id(inv_text, &id) < 0)
        return page_error(p, 400, "Malformed invocation ID.", false);
    r = page_load_job(p, project, job, &j);
    if (r != 0)
        return r < 0 ? r : 0;
    p->project = j.project;
    p->job = j.name;
    p->inv = inv_text;
    r = engine_get_invocation(p->w->e, j.id, id, &inv);
    if (r == -ENOENT)
        return page_error(p, 404, "The requested invocation is not found.", false);
    if (r < 0)
        return r;
    if (http_request_query(p->req, "view")) {
        r = live_invocation_json(p, &inv);
        engine_invocation_release(&inv);
        return r;
    }
    p->live = !inv.final;
    page_begin(p);
    body(p, &j, &inv);
    page_end(p);
    engine_invocation_release(&inv);
    return page_send(p, 200);
}
