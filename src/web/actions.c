/*
 * actions.c - the action forms of the job and invocation pages and
 * POST /actions/<action>/<project>/<job>[/<invocationID>] (spec 7.1, 7.6;
 * contract in web-internal.h, docs/web.md "Actions").
 *
 * The forms work without JavaScript: every button is a submit button of
 * its own form carrying the caller's CSRF token (xsrf_token, LUCI's field
 * name); Pause carries a reason field.  A button is disabled when the
 * caller lacks the permission the pRPC API would check.
 */
#include "base/compat.h"

#include <strings.h>

#include "auth/auth.h"
#include "web/web-internal.h"

enum action {
    ACT_PAUSE,
    ACT_RESUME,
    ACT_ABORT,
    ACT_TRIGGER,
    ACT_ABORT_INVOCATION,
};

static const struct {
    const char *name;
    enum auth_perm perm;
} actions[] = {
    [ACT_PAUSE] = {"pauseJob", AUTH_PERM_PAUSE},
    [ACT_RESUME] = {"resumeJob", AUTH_PERM_RESUME},
    [ACT_ABORT] = {"abortJob", AUTH_PERM_ABORT},
    [ACT_TRIGGER] = {"triggerJob", AUTH_PERM_TRIGGER},
    [ACT_ABORT_INVOCATION] = {"abortInvocation", AUTH_PERM_ABORT},
};

/* <form method="post" action="/actions/<name>/<project>/<job>[/<inv>]"> + the token. */
static void form_begin(struct page *p, enum action a, const struct engine_job *j,
                       const char *inv)
{
    char token[WEB_CSRF_LEN + 1];

    html_raw(&p->h, "<form method=\"post\"");
    html_attr_begin(&p->h, "class");
    html_attr_part(&p->h, "action action-");
    html_attr_part(&p->h, actions[a].name);
    html_attr_end(&p->h);
    html_attr_begin(&p->h, "action");
    html_attr_part(&p->h, "/actions/");
    html_attr_part(&p->h, actions[a].name);
    html_attr_part(&p->h, "/");
    html_attr_segment(&p->h, j->project);
    html_attr_part(&p->h, "/");
    html_attr_segment(&p->h, j->name);
    if (inv) {
        html_attr_part(&p->h, "/");
        html_attr_segment(&p->h, inv);
    }
    html_attr_end(&p->h);
    html_raw(&p->h, "><input type=\"hidden\" name=\"xsrf_token\"");
    page_csrf_token(p, token);
    html_attr(&p->h, "value", token);
    html_raw(&p->h, ">");
}

/* A submit button: class cls, label text, disabled unless enabled. */
static void button(struct page *p, const char *cls, const char *text, bool enabled)
{
    html_raw(&p->h, "<button type=\"submit\"");
    if (*cls)
        html_attr(&p->h, "class", cls);
    if (!enabled)
        html_raw(&p->h, " disabled");
    html_raw(&p->h, ">");
    html_text(&p->h, text);
    html_raw(&p->h, "</button></form>");
}

void page_actions(struct page *p, const struct engine_job *j)
{
    bool can;

    html_raw(&p->h, "<div class=\"actions\">");
    if (j->paused) {
        form_begin(p, ACT_RESUME, j, NULL);
        button(p, "", "Resume", page_can(p, j, AUTH_PERM_RESUME));
    } else {
        can = page_can(p, j, AUTH_PERM_PAUSE);
        form_begin(p, ACT_PAUSE, j, NULL);
        html_raw(&p->h, "<input type=\"text\" name=\"reason\" maxlength=\"1000\" "
                        "placeholder=\"Reason (it will be recorded)\" "
                        "aria-label=\"Provide a reason (it will be recorded):\"");
        if (!can)
            html_raw(&p->h, " disabled");
        html_raw(&p->h, ">");
        button(p, "", "Pause", can);
    }
    form_begin(p, ACT_ABORT, j, NULL);
    button(p, "danger", "Abort", page_can(p, j, AUTH_PERM_ABORT));
    form_begin(p, ACT_TRIGGER, j, NULL);
    button(p, "success", "Trigger", page_can(p, j, AUTH_PERM_TRIGGER));
    html_raw(&p->h, "</div>");
}

void page_actions_invocation(struct page *p, const struct engine_job *j,
                             const struct engine_invocation *inv)
{
    char id[32];

    snprintf(id, sizeof(id), "%" PRId64, inv->id);
    html_raw(&p->h, "<div class=\"actions\">");
    form_begin(p, ACT_ABORT_INVOCATION, j, id);
    button(p, "danger", "Abort", !inv->final && page_can(p, j, AUTH_PERM_ABORT));
    html_raw(&p->h, "</div>");
}

bool page_cross_site(const struct page *p)
{
    const char *site = http_request_header(p->req, "Sec-Fetch-Site");
    const char *origin = http_request_header(p->req, "Origin");
    const char *host = http_request_header(p->req, "Host");
    const char *fwd = p->from_proxy ? http_request_header(p->req, "X-Forwarded-Host") : NULL;
    const char *rest;

    if (fwd && *fwd)
        host = fwd;

    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return true;
    if (!origin)
        return false;
    if (!host || !*host)
        return true;
    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    else
        return true; /* "null" and any other scheme */
    return strcasecmp(rest, host) != 0;
}

int page_redirect_job(struct page *p, const char *project, const char *job, const char *inv)
{
    struct html loc;
    int r;

    html_init(&loc, 4 * ENGINE_ID_MAX * 3 + 64);
    html_raw(&loc, "/");
    if (project) {
        html_raw(&loc, "jobs/");
        html_attr_segment(&loc, project);
    }
    if (project && job) {
        html_raw(&loc, "/");
        html_attr_segment(&loc, job);
    }
    if (project && job && inv) {
        html_raw(&loc, "/");
        html_attr_segment(&loc, inv);
    }
    r = html_error(&loc);
    if (r == 0)
        r = page_error(p, 302, "Redirecting.", false);
    if (r == 0)
        r = http_response_set_header(p->resp, "Location", loc.b.data);
    html_release(&loc);
    return r;
}

/*
 * Checks common to every POST of the web UI: the method, the size, the
 * content type, the origin.  Returns 0 to go on, 1 when an error page was
 * sent, or a negative errno.
 */
int page_post_checks(struct page *p)
{
    const char *type = http_request_header(p->req, "Content-Type");
    int r;

    if (strcmp(p->req->method, "POST") != 0) {
        r = page_error(p, 405, "Method not allowed.", false);
        if (r == 0)
            r = http_response_set_header(p->resp, "Allow", "POST");
        return r < 0 ? r : 1;
    }
    if (p->req->body_too_large || p->req->body_len > WEB_FORM_BYTES)
        return (r = page_error(p, 413, "Request body too large.", false)) < 0 ? r : 1;
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
        (type[33] != '\0' && type[33] != ';'))
        return (r = page_error(p, 415, "Expected a form post.", false)) < 0 ? r : 1;
    if (page_cross_site(p))
        return (r = page_error(p, 403, "Cross-site request refused.", false)) < 0 ? r : 1;
    return 0;
}

/* Which action path names; -1 if none. */
static int action_from_name(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
        if (strlen(actions[i].name) == len && memcmp(actions[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Runs action a on job j (visible, permitted); sends the answer. */
static int run(struct page *p, enum action a, const struct engine_job *j, const char *inv_text)
{
    char reason[ENGINE_REASON_MAX];
    int64_t inv_id = 0;
    struct engine_invocation inv = {0};
    int r;

    switch (a) {
    case ACT_PAUSE:
        r = form_get(p->req->body, "reason", reason, sizeof(reason));
        if (r == -ENOENT)
            reason[0] = '\0';
        else if (r < 0)
            return page_error(p, 400, "Bad pause reason.", false);
        r = engine_pause_job(p->w->e, j->id, p->identity, reason);
        break;
    case ACT_RESUME:
        r = engine_resume_job(p->w->e, j->id, p->identity, "");
        break;
    case ACT_ABORT:
        r = engine_abort_job(p->w->e, j->id, p->identity);
        if (r == -EAGAIN)
            r = 0; /* some aborts finish asynchronously */
        break;
    case ACT_TRIGGER:
        r = engine_trigger_now(p->w->e, j->id, p->identity, NULL);
        if (r == -EBUSY)
            return page_error(p, 409, "Cannot trigger a paused job. Resume it first.", false);
        break;
    default:
        if (page_parse_inv_id(inv_text, &inv_id) < 0)
            return page_error(p, 400, "Malformed invocation ID.", false);
        r = engine_get_invocation(p->w->e, j->id, inv_id, &inv);
        /* Aborting a final invocation is a no-op, as LUCI's (spec 7.5): back to the page. */
        if (r == 0 && !inv.final)
            r = engine_abort_invocation(p->w->e, j->id, inv_id, p->identity);
        engine_invocation_release(&inv);
        if (r == -ENOENT)
            return page_error(p, 404, "The requested invocation is not found.", false);
        break;
    }
    if (r == -ENOENT)
        return page_error(p, 404, "No such job or no permission to view it.", true);
    if (r < 0)
        return r;
    return page_redirect_job(p, j->project, j->name, a == ACT_ABORT_INVOCATION ? inv_text : NULL);
}

int page_action(struct page *p, const char *rest)
{
    const char *slash = strchr(rest, '/');
    char seg[3][ENGINE_ID_MAX], token[WEB_CSRF_LEN + 2];
    struct engine_job j;
    int a, n, r;

    if ((r = page_post_checks(p)) != 0)
        return r < 0 ? r : 0;
    a = slash ? action_from_name(rest, (size_t)(slash - rest)) : -1;
    n = a >= 0 && slash[strlen(slash) - 1] != '/' ? page_split_path(slash + 1, seg) : -1;
    if (a < 0 || n != (a == ACT_ABORT_INVOCATION ? 3 : 2))
        return page_error(p, 404, "Not found.", false);
    p->project = seg[0];
    p->job = seg[1];
    if (form_get(p->req->body, "xsrf_token", token, sizeof(token)) < 0 ||
        !page_csrf_ok(p, token))
        return page_error(p, 403, "Bad or missing XSRF token; reload the page.", false);
    r = page_load_job(p, seg[0], seg[1], &j);
    if (r != 0)
        return r < 0 ? r : 0;
    if (!page_can(p, &j, (int)actions[a].perm))
        return page_error(p, 403, "No permission to execute the attempted action.", true);
    return run(p, (enum action)a, &j, a == ACT_ABORT_INVOCATION ? seg[2] : NULL);
}
