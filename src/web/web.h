/*
 * web.h - the web UI of `tock serve`: LUCI Scheduler's pages rendered on
 * the server (luci-scheduler-spec.md section 7; docs/web.md).
 *
 *   GET /                                      projects with state counts
 *   GET /jobs/<project>[?filter=...]           the project's jobs
 *   GET /jobs/<project>/<job>[?c=<cursor>]     a job and its invocations
 *   GET /jobs/<project>/<job>/<invocationID>   one invocation
 *   GET /static/<name>                         embedded CSS
 *
 * Wiring (cli/cmd-serve.c), next to api_register:
 *
 *   if (web_register(http, engine, auth, NULL) < 0) goto out;
 *
 * The pages read the engine's query API (engine.h) and check every job
 * with auth_check: the caller is the identity of "Authorization: Bearer
 * <token>" (auth_authenticate; no header = anonymous:anonymous, a bad or
 * unknown token = a 401 page).  Invisible jobs are "No such job or no
 * permission to view it." (404).
 *
 * Safety (docs/web.md): every value is HTML-escaped by web/html.h; every
 * answer carries a strict Content-Security-Policy (no inline script or
 * style, same-origin assets only), X-Content-Type-Options: nosniff,
 * X-Frame-Options: DENY and Referrer-Policy: same-origin.  Assets are
 * embedded in the binary; the pages need no JavaScript (the live updates of
 * /static/live.js fetch same-origin only: connect-src 'self').
 *
 * The engine and the auth policy are borrowed and must outlive the HTTP
 * server.  Handlers run on the server's threads; the only shared mutable
 * state (the "Newer" cursor map, WEB_CURSOR_MAP entries) is locked.
 * The room does not log.
 */
#ifndef TOCK_WEB_WEB_H
#define TOCK_WEB_WEB_H

#include "base/compat.h"
#include "base/clock.h"

struct http_server;
struct engine;
struct auth;

struct web_options {
    const struct clock *clock; /* "now" of relative times; NULL = clock_real() */
    const char *version;       /* footer "Version:"; NULL = "tock" */
    /*
     * Where "Definition (rev X)" links: an http(s) template with {rev},
     * {project} and {path} ("<project>/luci-scheduler.cfg"), e.g.
     * "https://git.example.com/cfg/+/{rev}/{path}" (copied); NULL = the
     * revision URL the engine stores, if any.
     */
    const char *config_view_url;
};

/*
 * Registers the pages on http (not yet started): one route, "/", for every
 * path no longer route claims (GET and HEAD; other methods get 405, paths
 * that are no page get the 404 page).  o may be NULL.  Returns 0,
 * -EINVAL (also: o->config_view_url not http(s) or longer than
 * WEB_CONFIG_URL_MAX), -EBUSY (http already runs), -EEXIST (a route is taken),
 * -ENOMEM.
 */
int web_register(struct http_server *http, struct engine *e, struct auth *a,
                 const struct web_options *o);

/* The Content-Security-Policy every answer of the web UI carries. */
#define WEB_CSP                                                                                  \
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "            \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'"

#endif
