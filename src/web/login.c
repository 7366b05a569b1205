/*
 * login.c - GET/POST /login and POST /logout (contract in web-internal.h,
 * docs/web.md "Sign-in").
 *
 * The login form takes an API token of the --auth-tokens file; a known
 * token starts a session (session.c) whose random id is the cookie
 * tock_session (HttpOnly; SameSite=Strict; Path=/; Secure over TLS).  The
 * token itself is never stored nor put in the cookie.
 */
#include "base/compat.h"

#include <openssl/crypto.h>

#include "auth/auth.h"
#include "base/ratelimit.h"
#include "web/web-internal.h"

static void login_form(struct page *p, const char *message)
{
    page_begin(p);
    html_raw(&p->h, "<h1>Login</h1>\n");
    if (message) {
        html_raw(&p->h, "<div class=\"alert alert-danger\" id=\"error\"><p class=\"message\">");
        html_text(&p->h, message);
        html_raw(&p->h, "</p></div>\n");
    }
    if (!p->anonymous) {
        html_raw(&p->h, "<p>Signed in as <b>");
        html_text(&p->h, who_display(p->identity));
        html_raw(&p->h, "</b>.</p>\n");
    }
    html_raw(&p->h, "<form method=\"post\" action=\"/login\" class=\"login\">"
                    "<label for=\"token\">API token (from the server's --auth-tokens file):"
                    "</label> <input type=\"password\" id=\"token\" name=\"token\" "
                    "autocomplete=\"current-password\" required maxlength=\"4096\"> "
                    "<button type=\"submit\">Login</button></form>\n");
    page_end(p);
}

static int set_cookie(struct page *p, const char *value, bool clear)
{
    char c[WEB_SESSION_ID_LEN + 128];

    snprintf(c, sizeof(c), WEB_SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s",
             value, clear ? 0 : WEB_SESSION_TTL_SEC, p->secure ? "; Secure" : "");
    return http_response_set_header(p->resp, "Set-Cookie", c);
}

/*
 * WEB_LOGIN_RATE attempts a minute per client address (tokens cannot be
 * guessed at line rate).  1 after the 429 page went out, 0 to go on.
 */
static int login_limited(struct page *p)
{
    const char *addr = p->req->remote_addr && *p->req->remote_addr ? p->req->remote_addr : "?";
    int64_t retry = 0;
    char v[24];
    int r;

    if (ratelimit_take(p->w->login_limit, addr, clock_mono(p->w->clock), &retry))
        return 0;
    r = page_error(p, 429, "Too many sign-in attempts from this address; try again later.", false);
    snprintf(v, sizeof(v), "%lld", (long long)(retry / NS_PER_SEC + 1));
    if (r == 0)
        r = http_response_set_header(p->resp, "Retry-After", v);
    return r < 0 ? r : 1;
}

static int login_post(struct page *p)
{
    char token[4096 + 1], bearer[sizeof(token) + 8], identity[LIMIT_IDENTITY_LEN + 1];
    char sid[WEB_SESSION_ID_LEN + 1];
    int r;

    if ((r = page_post_checks(p)) != 0)
        return r < 0 ? r : 0;
    if ((r = login_limited(p)) != 0)
        return r < 0 ? r : 0;
    r = form_get(p->req->body, "token", token, sizeof(token));
    if (r == 0 && *token) {
        snprintf(bearer, sizeof(bearer), "Bearer %s", token);
        r = auth_authenticate(p->w->a, bearer, identity, sizeof(identity));
        OPENSSL_cleanse(bearer, sizeof(bearer));
    } else {
        r = -EACCES;
    }
    OPENSSL_cleanse(token, sizeof(token));
    if (r < 0 || strcmp(identity, AUTH_ANONYMOUS) == 0) {
        login_form(p, "Bad or unknown token.");
        return page_send(p, 401);
    }
    if ((r = web_session_create(p->w, identity, sid)) < 0)
        return r;
    if ((r = page_redirect_job(p, NULL, NULL, NULL)) < 0 || (r = set_cookie(p, sid, false)) < 0)
        return r;
    OPENSSL_cleanse(sid, sizeof(sid));
    return 0;
}

int page_login(struct page *p)
{
    if (strcmp(p->req->method, "POST") == 0)
        return login_post(p);
    if (strcmp(p->req->method, "GET") != 0 && strcmp(p->req->method, "HEAD") != 0) {
        int r = page_error(p, 405, "Method not allowed.", false);
        return r == 0 ? http_response_set_header(p->resp, "Allow", "GET, HEAD, POST") : r;
    }
    login_form(p, NULL);
    return page_send(p, 200);
}

int page_logout(struct page *p)
{
    char token[WEB_CSRF_LEN + 2];
    int r;

    if ((r = page_post_checks(p)) != 0)
        return r < 0 ? r : 0;
    if (form_get(p->req->body, "xsrf_token", token, sizeof(token)) < 0 ||
        !page_csrf_ok(p, token))
        return page_error(p, 403, "Bad or missing XSRF token; reload the page.", false);
    if (*p->session)
        web_session_drop(p->w, p->session);
    if ((r = page_redirect_job(p, NULL, NULL, NULL)) < 0)
        return r;
    return set_cookie(p, "", true);
}
