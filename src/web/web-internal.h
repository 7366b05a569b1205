/*
 * web-internal.h - what the pages of src/web/ share: the server state, one
 * request's page context, the common layout and widgets.  Private to
 * src/web/.
 */
#ifndef TOCK_WEB_WEB_INTERNAL_H
#define TOCK_WEB_WEB_INTERNAL_H

#include "base/compat.h"

#include <pthread.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/limits.h"
#include "engine/engine.h"
#include "net/http.h"
#include "web/html.h"
#include "web/web.h"

struct auth;

/* One remembered "Newer" link: the page at cursor came after prev ("" = first page). */
struct web_cursor {
    char *key;  /* job id + "\n" + cursor */
    char *prev;
};

/* A session id: 32 random bytes as 64 hex digits. */
#define WEB_SESSION_ID_LEN 64
#define WEB_SESSION_COOKIE "tock_session"
/* A CSRF token: HMAC-SHA256 as 64 hex digits. */
#define WEB_CSRF_LEN 64

/* One signed-in browser (expires == 0: a free slot). */
struct web_session {
    char id[WEB_SESSION_ID_LEN + 1];
    char identity[LIMIT_IDENTITY_LEN + 1];
    int64_t expires; /* wall clock, ns */
};

/* An address range: family AF_INET or AF_INET6, prefix bits. */
struct web_cidr {
    int family;
    unsigned char addr[16];
    unsigned bits;
};

struct web {
    struct engine *e;
    struct auth *a;
    const struct clock *clock;
    char version[64];
    char *config_view_url; /* the --config-view-url template or NULL */
    struct ratelimit *login_limit; /* POST /login per client address (base/ratelimit.h) */
    pthread_mutex_t lock; /* guards cursors */
    struct web_cursor cursors[WEB_CURSOR_MAP];
    size_t next_cursor;   /* ring position */
    unsigned char key[32]; /* CSRF tokens' HMAC key, random per process */
    pthread_mutex_t session_lock; /* guards sessions */
    struct web_session *sessions; /* WEB_SESSIONS slots */
    char proxy_header[WEB_PROXY_HEADER_NAME]; /* "" = no trusted proxy */
    struct web_cidr proxy;
};

/* One request being answered. */
struct page {
    struct web *w;
    const struct http_request *req;
    struct http_response *resp;
    char identity[LIMIT_IDENTITY_LEN + 1];
    bool anonymous;
    char session[WEB_SESSION_ID_LEN + 1]; /* "" = not a cookie session */
    bool secure;      /* came over TLS (X-Forwarded-Proto from the trusted proxy) */
    bool from_proxy;  /* the peer is inside --trusted-proxy */
    int64_t now;      /* wall clock, ns */
    int64_t started;  /* monotonic, ns: "Handled in" */
    struct html h;
    /* Breadcrumbs and title: NULL = absent. */
    const char *project;
    const char *filter;
    const char *job;
    const char *inv;
    bool live; /* page_end adds /static/live.js */
};

/* ---- layout.c ---- */

/* The doctype, head, navbar and breadcrumbs (from p's project/job/inv). */
void page_begin(struct page *p);
/* The footer and the closing tags. */
void page_end(struct page *p);

/*
 * Finishes p as the answer: status, Content-Type text/html and the
 * security headers (web.c), the page as body.  Returns 0 or the page's
 * error (-E2BIG past WEB_MAX_PAGE_BYTES, -ENOMEM).
 */
int page_send(struct page *p, int status);

/*
 * The error page (spec 7.6) with status and message; relogin adds "You
 * may need to login first." for anonymous callers.
 */
int page_error(struct page *p, int status, const char *message, bool relogin);

/* href="/jobs/<project>[/<job>[/<inv>]]" with percent-encoded segments. */
void page_href_job(struct page *p, const char *project, const char *job, const char *inv);

/* A label span <span class="label label-<cls>">text</span>. */
void page_label(struct page *p, const char *cls, const char *text);

/* The label class of a job state (spec 3.2) and of an invocation status (7.4). */
const char *job_state_class(enum engine_job_state s);
const char *inv_status_class(const char *status);
/* The row class of an invocation status (7.4). */
const char *inv_row_class(const char *status);

/* The status the UI shows: STARTING is RUNNING for non-multistage managers (3.3). */
const char *inv_display_status(const struct engine_invocation *inv);

/* "Triggered by": "-" if empty, the email of a user identity, else the identity. */
const char *who_display(const char *identity);

/* A job's "Next run" (spec 7.3/7.4): "-" when paused or triggered, "not scheduled yet", or relative. */
void page_next_run(struct page *p, const struct engine_job *j);

/* A paused job's "<who> <relative time>" (who: "unknown" when not recorded), escaped. */
void page_paused_by(struct page *p, const struct engine_job *j);

/* The flavor glyph and its title (7.1). */
void page_flavor_icon(struct page *p, enum engine_flavor f);

/*
 * A <ul> of triggers (internal JSON, tasks/task.h) oldest first: title (or
 * id; a link to url when set) and "(<relative created>[ by <emitter>])".
 */
void page_trigger_list(struct page *p, const json_t *triggers);

/* The same, each trigger followed by page_fate_badge (layout.c; fates NULL = none). */
void page_trigger_list_fates(struct page *p, const char *project, const char *job,
                             const json_t *triggers, const json_t *fates);

/* Whether identity may see / act on job (auth_check on its realm). */
bool page_can(const struct page *p, const struct engine_job *j, int perm);

/*
 * The job project/job if it exists and the caller may see it: 0 and *ret;
 * otherwise the 404 page "No such job or no permission to view it." is
 * sent and 1 returned; -EIO etc. on failure.
 */
int page_load_job(struct page *p, const char *project, const char *job, struct engine_job *ret);

/*
 * "Definition (rev <revision>)", the revision a link to the
 * --config-view-url template filled in for p->project (when configured),
 * else to url when that is http(s).
 */
void page_definition_heading(struct page *p, const char *revision, const char *url);

/* ---- textpb.c ---- */

/*
 * The protobuf text format (spec A.4) of a task definition (the JSON of
 * tasks/task.h: {"buildbucket": {...}}): "buildbucket: <\n  server: ...\n>\n".
 * Returns 0, -EINVAL (not a definition), -E2BIG, -ENOMEM.
 */
int textpb_task(const json_t *def, struct buf *out);

/*
 * The protobuf text format of a triggering policy (the JSON of
 * engine_job_definition): "kind: GREEDY_BATCHING\nmax_concurrent_invocations:
 * 1\n...", a Duration as "pending_timeout: <\n  seconds: N\n>".  Returns 0,
 * -EINVAL (a field it does not know), -E2BIG, -ENOMEM.
 */
int textpb_policy(const json_t *policy, struct buf *out);

/* ---- pages ---- */

int page_index(struct page *p);
int page_project(struct page *p, const char *project);
int page_job(struct page *p, const char *project, const char *job);
int page_invocation(struct page *p, const char *project, const char *job, const char *inv);

/* Like page_send with a JSON body (application/json), the same headers. */
int page_send_json(struct page *p, int status, const char *json);

/* ---- pages-job.c ---- */

/*
 * The job page's invocations table: active ones (if any), a separator
 * row, then invs minus those already shown.  The table has data-active="1"
 * while n_active > 0 (live.js polls then).
 */
void page_invocations_table(struct page *p, const struct engine_job *j,
                            const struct engine_invocation *active, size_t n_active,
                            const struct engine_invocation *invs, size_t n);

/* ---- live.c ---- */

/* Sends the state label in <div id="state"> and the invocations table (?fragment=invocations). */
int live_job_fragment(struct page *p, const struct engine_job *j,
                      const struct engine_invocation *active, size_t n_active,
                      const struct engine_invocation *invs, size_t n);

/* Sends the invocation's status and debug log after ?after=N as JSON (?view=json). */
int live_invocation_json(struct page *p, const struct engine_invocation *inv);

/* ---- cfgurl.c ---- */

/* Whether tmpl may be a --config-view-url: http(s), at most WEB_CONFIG_URL_MAX bytes. */
bool web_config_url_template_ok(const char *tmpl);

/*
 * The template with {rev}, {project} and {path} ("<project>/luci-scheduler.cfg")
 * filled in, percent-encoded: a malloc'ed *ret.  Returns 0, -EINVAL, -E2BIG, -ENOMEM.
 */
int web_config_url(const char *tmpl, const char *project, const char *revision, char **ret);

/* ---- svg.c ---- */

/*
 * The job page's timeline: an inline <svg class="timeline"> of the newest
 * WEB_TIMELINE_MAX invocations (active ones first, then invs), one
 * <a><rect class="label-..."><title>id STATUS (duration)</title></rect></a>
 * per invocation, x = start, width = duration, over [oldest start, now].
 */
void page_timeline(struct page *p, const struct engine_job *j,
                   const struct engine_invocation *active, size_t n_active,
                   const struct engine_invocation *invs, size_t n);

/*
 * The index page's sparkline of project: an inline <svg class="sparkline">
 * with one bar per hour of the last 24 (engine_project_activity over the
 * ids[0..n) of the caller's visible jobs, sorted by id) and a <title> with
 * the total.
 */
void page_sparkline(struct page *p, const char *project, const char *const *ids, size_t n);

/* "Next runs": the next few fire times of a cron schedule (nothing for others or when paused). */
void page_next_fires(struct page *p, const struct engine_job *j);

/* ---- fates.c ---- */

/*
 * The job's recent trigger fates (engine_trigger_fates, at most
 * WEB_FATES_MAX), or NULL when they cannot be read; owned by the caller.
 */
json_t *fates_load(struct page *p, const char *job_id, const char *trigger_id);

/*
 * After a trigger: its fate label (the newest decision of fates for
 * trigger_id; nothing when fates has none), the reason, and a link to the
 * invocation of project/job it went to.
 */
void page_fate_badge(struct page *p, const char *project, const char *job,
                     const char *trigger_id, const json_t *fates);

/* "Recent trigger fates": a table of fates (newest first), "why" for each trigger. */
void page_fates_table(struct page *p, const char *project, const char *job,
                      const json_t *fates);

/* ---- web.c: the cursor map of the job page's "Newer" link ---- */

/* Remembers that the page at cursor (non-empty) follows the page at prev ("" = first). */
void web_cursor_remember(struct web *w, const char *job_id, const char *cursor,
                         const char *prev);
/* The page before cursor: 0 and a malloc'ed *ret ("" = first page), or -ENOENT, -ENOMEM. */
int web_cursor_prev(struct web *w, const char *job_id, const char *cursor, char **ret);

/* ---- session.c: sessions, CSRF tokens, proxy addresses ---- */

/* Allocates the session table and the random key.  0, -ENOMEM, -EIO. */
int web_sessions_init(struct web *w);
void web_sessions_free(struct web *w);

/* A new session for identity: 0 and its id in ret (WEB_SESSION_ID_LEN + 1 bytes), -EIO. */
int web_session_create(struct web *w, const char *identity, char *ret);
/* The identity of a live session: 0 and ret (LIMIT_IDENTITY_LEN + 1 bytes), or -ENOENT. */
int web_session_lookup(struct web *w, const char *id, char *ret);
/* Forgets a session (unknown ids are ignored). */
void web_session_drop(struct web *w, const char *id);

/* The session id in a Cookie header value: 0 and ret, or -ENOENT. */
int web_cookie_session(const char *cookie, char *ret);

/* p's CSRF token (WEB_CSRF_LEN + 1 bytes): bound to its session, else its identity. */
void page_csrf_token(const struct page *p, char *ret);
/* Whether token is p's CSRF token (constant time). */
bool page_csrf_ok(const struct page *p, const char *token);

/* Parses "addr[/bits]": 0 or -EINVAL. */
int web_cidr_parse(const char *text, struct web_cidr *ret);
/* Whether the textual address addr is inside c (IPv4-mapped IPv6 counts as IPv4). */
bool web_cidr_contains(const struct web_cidr *c, const char *addr);

/* ---- form.c: application/x-www-form-urlencoded ---- */

/*
 * The decoded value of field name in body (the first occurrence): 0 and
 * ret (NUL-terminated), -ENOENT, -E2BIG (longer than retlen - 1), -EINVAL
 * (a bad %-escape or a NUL byte).
 */
int form_get(const char *body, const char *name, char *ret, size_t retlen);

/* ---- actions.c / login.c ---- */

/* The job page's action forms (Pause with a reason or Resume, Abort, Trigger). */
void page_actions(struct page *p, const struct engine_job *j);
/* The invocation page's Abort form. */
void page_actions_invocation(struct page *p, const struct engine_job *j,
                             const struct engine_invocation *inv);

/*
 * Whether a POST may be a cross-site one: Sec-Fetch-Site other than
 * same-origin/none, or an Origin that is not http(s)://<Host> (Host: the
 * trusted proxy's X-Forwarded-Host when it sends one, else the Host header).
 */
bool page_cross_site(const struct page *p);

/*
 * The checks of every POST: method (405), size (413, WEB_FORM_BYTES), a
 * form content type (415), page_cross_site (403).  0 to go on, 1 when an
 * error page was sent, or a negative errno.
 */
int page_post_checks(struct page *p);

/* An invocation ID as Go's strconv.ParseInt(s, 10, 64): 0 and *ret, or -EINVAL. */
int page_parse_inv_id(const char *s, int64_t *ret);

/*
 * Splits rest ("<a>/<b>[/<c>]", the path after "/jobs/" or after an
 * action's name) into at most 3 non-empty segments, each shorter than
 * ENGINE_ID_MAX (one trailing "/" allowed).  Returns how many, or -1.
 */
int page_split_path(const char *rest, char seg[3][ENGINE_ID_MAX]);

/* POST /actions/...; the page is sent (302 or an error page). */
int page_action(struct page *p, const char *rest);
/* GET/POST /login, POST /logout. */
int page_login(struct page *p);
int page_logout(struct page *p);

/* A 302 to the same-origin path made of "/jobs/" + segments (0..3 of them). */
int page_redirect_job(struct page *p, const char *project, const char *job, const char *inv);

/* ---- static.c ---- */

/* The embedded asset at name ("style.css"): its bytes, length and type; NULL if none. */
const char *web_static_find(const char *name, size_t *ret_len, const char **ret_type);

#endif
