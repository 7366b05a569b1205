/*
 * web.h - the web UI of `tock serve`: LUCI Scheduler's pages rendered on
 * the server (luci-scheduler-spec.md section 7; docs/web.md).
 *
 *   GET /                                      projects with state counts
 *   GET /jobs/<project>[?filter=...]           the project's jobs
 *   GET /jobs/<project>/<job>[?c=<cursor>]     a job and its invocations
 *   GET /jobs/<project>/<job>/<invocationID>   one invocation
 *   GET /static/<name>                         embedded CSS
 *   POST /actions/<action>/<project>/<job>[/<invocationID>]
 *        pauseJob (field reason), resumeJob, abortJob, triggerJob,
 *        abortInvocation: form posts with the field xsrf_token; 302 back
 *   GET /login, POST /login (field token), POST /logout: browser sessions
 *
 * Wiring (cli/cmd-serve.c), next to api_register:
 *
 *   if (web_register(http, engine, auth, NULL) < 0) goto out;
 *
 * The pages read the engine's query API (engine.h) and check every job
 * with auth_check: the caller is the identity of "Authorization: Bearer
 * <token>" (auth_authenticate; a bad or unknown token = a 401 page), else
 * of the trusted proxy header (web_options), else of the session cookie
 * set by POST /login (a random id mapped in memory to the identity,
 * WEB_SESSIONS at most, WEB_SESSION_TTL_SEC each; a restart signs every
 * browser out), else anonymous:anonymous.  Invisible jobs are "No such job
 * or no permission to view it." (404).  Actions check the same permissions
 * as the pRPC API (scheduler.jobs.pause etc.): 403 "No permission to
 * execute the attempted action."; every POST needs a same-origin Origin /
 * Sec-Fetch-Site when sent and actions and /logout the caller's CSRF token
 * (HMAC-SHA256 under a random per-process key of the session id, or of the
 * identity for non-cookie callers), otherwise 403.
 *
 * Safety (docs/web.md): every value is HTML-escaped by web/html.h; every
 * answer carries a strict Content-Security-Policy (no inline script or
 * style, same-origin assets only), X-Content-Type-Options: nosniff,
 * X-Frame-Options: DENY and Referrer-Policy: same-origin.  Assets are
 * embedded in the binary; the pages need no JavaScript (the live updates of
 * /static/live.js fetch same-origin only: connect-src 'self').
 *
 * The engine and the auth policy are borrowed and must outlive the HTTP
 * server.  Handlers run on the server's threads; the shared mutable state
 * (the "Newer" cursor map, WEB_CURSOR_MAP entries; the session table) is
 * locked.
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
     * An authenticating proxy (`--trust-proxy-header X-Forwarded-Email
     * --trusted-proxy CIDR`): when both are set, a request whose peer
     * address is inside trusted_proxy and that carries the header is the
     * identity "user:<value>"; from any other peer the header is ignored.
     * trusted_proxy: "10.0.0.0/8", "::1/128", a bare address = one host.
     */
    const char *trust_proxy_header;
    const char *trusted_proxy;
    /*
     * Where "Definition (rev X)" links: an http(s) template with {rev},
     * {project} and {path} ("<project>/luci-scheduler.cfg"), e.g.
     * "https://git.example.com/cfg/+/{rev}/{path}" (copied); NULL = the
     * revision URL the engine stores, if any.
     */
    const char *config_view_url;
};

/* Whether cidr ("a.b.c.d/n", "v6/n" or a bare address) parses: 0 or -EINVAL. */
int web_cidr_check(const char *cidr);

/*
 * Registers the pages on http (not yet started): "/" for every path no
 * longer route claims (GET and HEAD; other methods get 405, paths that are
 * no page get the 404 page), and "/actions/", "/login", "/logout".  o may
 * be NULL.  Returns 0, -EINVAL (a bad trusted_proxy, only one of the two
 * proxy options, or o->config_view_url not http(s) or longer than
 * WEB_CONFIG_URL_MAX), -EBUSY (http already runs), -EEXIST (a route is
 * taken), -EIO (no random bytes for the key), -ENOMEM.
 */
int web_register(struct http_server *http, struct engine *e, struct auth *a,
                 const struct web_options *o);

/* The Content-Security-Policy every answer of the web UI carries. */
#define WEB_CSP                                                                                  \
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "            \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'"

#endif
