/*
 * gourl.c - Go's url.Parse verdicts and strconv.Quote (see gourl.h).
 */
#include "config/gourl.h"

#include "base/text.h"

/*
 * Non-ASCII code points Go's unicode.IsPrint rejects, approximately:
 * controls, format characters, separators and private use.
 */
static bool goquote_nonprint(uint32_t r)
{
    return (r >= 0x80 && r <= 0x9f) || r == 0xad || r == 0x61c || r == 0x180e ||
           (r >= 0x200b && r <= 0x200f) || (r >= 0x2028 && r <= 0x202e) ||
           (r >= 0x2060 && r <= 0x206f) || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) ||
           (r >= 0xe000 && r <= 0xf8ff) || r == 0xfffe || r == 0xffff || r >= 0xf0000;
}

char *goquote(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;

#define PUT(...)                                                         \
    do {                                                                 \
        int n_ = snprintf(out + o, outlen - o, __VA_ARGS__);             \
        if (n_ < 0 || (size_t)n_ >= outlen - o)                          \
            goto full;                                                   \
        o += (size_t)n_;                                                 \
    } while (0)

    if (outlen == 0)
        return out;
    out[0] = '\0';
    PUT("\"");
    for (size_t i = 0; u[i];) {
        unsigned char c = u[i];
        if (c < 0x80) {
            switch (c) {
            case '\a': PUT("\\a"); break;
            case '\b': PUT("\\b"); break;
            case '\f': PUT("\\f"); break;
            case '\n': PUT("\\n"); break;
            case '\r': PUT("\\r"); break;
            case '\t': PUT("\\t"); break;
            case '\v': PUT("\\v"); break;
            case '"': PUT("\\\""); break;
            case '\\': PUT("\\\\"); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    PUT("\\x%02x", c);
                else
                    PUT("%c", c);
            }
            i++;
            continue;
        }
        /* A UTF-8 sequence (strings from the reader are valid UTF-8). */
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        uint32_t r;
        size_t k;
        for (k = 1; k < n && (u[i + k] & 0xc0) == 0x80; k++)
            ;
        if (k != n || n == 1) {
            PUT("\\x%02x", c);
            i++;
            continue;
        }
        r = n == 2 ? (uint32_t)(c & 0x1f) : n == 3 ? (uint32_t)(c & 0x0f) : (uint32_t)(c & 0x07);
        for (k = 1; k < n; k++)
            r = (r << 6) | (u[i + k] & 0x3f);
        if (goquote_nonprint(r)) {
            if (r < 0x10000)
                PUT("\\u%04x", r);
            else
                PUT("\\U%08x", r);
        } else {
            PUT("%.*s", (int)n, (const char *)u + i);
        }
        i += n;
    }
    PUT("\"");
    return out;
full:
    /* Truncated: end with an ellipsis inside the buffer. */
    if (outlen >= 5)
        memcpy(out + outlen - 5, "...\"", 5);
    return out;
#undef PUT
}

/* Go's unescape() checks for one component.  host: encodeHost rules. */
static int gourl_unescape_check(const char *s, size_t n, bool host, const char **ret_bad,
                                size_t *ret_badlen, bool *ret_invalid_host)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || text_hex_digit(s[i + 1]) < 0 || text_hex_digit(s[i + 2]) < 0) {
                *ret_bad = s + i;
                *ret_badlen = n - i > 3 ? 3 : n - i;
                *ret_invalid_host = false;
                return -EINVAL;
            }
            if (host && text_hex_digit(s[i + 1]) < 8 && memcmp(s + i, "%25", 3) != 0) {
                *ret_bad = s + i;
                *ret_badlen = 3;
                *ret_invalid_host = false;
                return -EINVAL;
            }
            i += 2;
            continue;
        }
        if (host && c < 0x80) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("-_.~!$&'()*+,;=:[]<>\"", c) != NULL;
            if (!ok) {
                *ret_bad = s + i;
                *ret_badlen = 1;
                *ret_invalid_host = true;
                return -EINVAL;
            }
        }
    }
    return 0;
}

static bool gourl_valid_port(const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (p[0] != ':')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static bool gourl_valid_userinfo(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (strchr("-._:~!$&'()*+,;=%@", c) && c != '\0')
            continue;
        if (c >= 0x80)
            continue;
        return false;
    }
    return true;
}

int gourl_parse(const char *s, struct gourl *ret, char *reterr_msg, size_t errlen)
{
    char q[1024], tmp[64];
    const char *err = NULL;
    char errbuf[1100];
    size_t n = strlen(s);
    struct gourl u;

    memset(&u, 0, sizeof(u));
    u.host = "";
    u.path_empty = true;

    /* Fragment first: Go cuts at the first '#' and checks it separately. */
    const char *hash = memchr(s, '#', n);
    size_t un = hash ? (size_t)(hash - s) : n;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            err = "net/url: invalid control character in URL";
            goto fail;
        }
    }
    const char *rest = s;
    size_t rn = un;
    /* Scheme. */
    for (size_t i = 0; i < rn; i++) {
        char c = rest[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
            if (i == 0)
                break;
            continue;
        }
        if (c == ':') {
            if (i == 0) {
                err = "missing protocol scheme";
                goto fail;
            }
            u.has_scheme = true;
            rest += i + 1;
            rn -= i + 1;
        }
        break;
    }
    /* Query: cut at the first '?' (not validated by Parse). */
    const char *qm = memchr(rest, '?', rn);
    if (qm)
        rn = (size_t)(qm - rest);
    if (rn == 0 || rest[0] != '/') {
        if (u.has_scheme) {
            /* Opaque URL like "mailto:x": absolute, nothing more checked. */
            u.path_empty = true;
            goto frag;
        }
        /* A colon in the first segment would look like a scheme. */
        const char *slash = memchr(rest, '/', rn);
        size_t seg = slash ? (size_t)(slash - rest) : rn;
        if (memchr(rest, ':', seg)) {
            err = "first path segment in URL cannot contain colon";
            goto fail;
        }
    }
    if ((u.has_scheme || !(rn >= 3 && memcmp(rest, "///", 3) == 0)) && rn >= 2 &&
        rest[0] == '/' && rest[1] == '/') {
        const char *auth = rest + 2;
        size_t an = rn - 2;
        const char *slash = memchr(auth, '/', an);
        if (slash)
            an = (size_t)(slash - auth);
        rest = auth + an;
        rn -= an + 2;
        /* userinfo@host */
        const char *at = NULL;
        for (size_t i = an; i > 0; i--)
            if (auth[i - 1] == '@') {
                at = auth + i - 1;
                break;
            }
        const char *host = auth;
        size_t hn = an;
        const char *bad;
        size_t badlen;
        bool inv;
        if (at) {
            if (!gourl_valid_userinfo(auth, (size_t)(at - auth))) {
                err = "net/url: invalid userinfo";
                goto fail;
            }
            if (gourl_unescape_check(auth, (size_t)(at - auth), false, &bad, &badlen, &inv) < 0) {
                snprintf(errbuf, sizeof(errbuf), "invalid URL escape %s",
                         goquote((snprintf(tmp, sizeof(tmp), "%.*s", (int)badlen, bad), tmp), q,
                                 sizeof(q)));
                err = errbuf;
                goto fail;
            }
            host = at + 1;
            hn = (size_t)(auth + an - host);
        }
        const char *port = NULL;
        size_t pn = 0;
        if (hn && host[0] == '[') {
            const char *rb = NULL;
            for (size_t i = hn; i > 0; i--)
                if (host[i - 1] == ']') {
                    rb = host + i - 1;
                    break;
                }
            if (!rb) {
                err = "missing ']' in host";
                goto fail;
            }
            port = rb + 1;
            pn = (size_t)(host + hn - port);
        } else {
            for (size_t i = hn; i > 0; i--)
                if (host[i - 1] == ':') {
                    port = host + i - 1;
                    pn = (size_t)(host + hn - port);
                    break;
                }
        }
        if (port && !gourl_valid_port(port, pn)) {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)(pn > 40 ? 40 : pn), port);
            snprintf(errbuf, sizeof(errbuf), "invalid port %s after host",
                     goquote(tmp, q, sizeof(q)));
            err = errbuf;
            goto fail;
        }
        if (gourl_unescape_check(host, hn, true, &bad, &badlen, &inv) < 0) {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)badlen, bad);
            snprintf(errbuf, sizeof(errbuf), inv ? "invalid character %s in host name"
                                                 : "invalid URL escape %s",
                     goquote(tmp, q, sizeof(q)));
            err = errbuf;
            goto fail;
        }
        u.host = host;
        u.host_len = port ? (size_t)(port - host) : hn;
    }
    /* Path. */
    {
        const char *bad;
        size_t badlen;
        bool inv;
        if (gourl_unescape_check(rest, rn, false, &bad, &badlen, &inv) < 0) {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)badlen, bad);
            snprintf(errbuf, sizeof(errbuf), "invalid URL escape %s", goquote(tmp, q, sizeof(q)));
            err = errbuf;
            goto fail;
        }
        u.path_empty = rn == 0;
    }
frag:
    if (hash) {
        const char *bad;
        size_t badlen;
        bool inv;
        if (gourl_unescape_check(hash + 1, n - un - 1, false, &bad, &badlen, &inv) < 0) {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)badlen, bad);
            snprintf(errbuf, sizeof(errbuf), "invalid URL escape %s", goquote(tmp, q, sizeof(q)));
            err = errbuf;
            goto fail;
        }
    }
    *ret = u;
    return 0;
fail:
    if (reterr_msg && errlen) {
        /* Go: parse "<url>": <err>; the fragment error names the URL without it. */
        snprintf(reterr_msg, errlen, "parse %s: %s", goquote(s, q, sizeof(q)), err);
    }
    return -EINVAL;
}

/* ---- gitiles repository URLs ---- */

static int gr_fail(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* Copies s[0..n-1] unescaping %XX (Go's u.Path is the unescaped path). */
static int gr_unescape(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && text_hex_digit(s[i + 1]) >= 0 &&
            text_hex_digit(s[i + 2]) >= 0) {
            c = (char)(text_hex_digit(s[i + 1]) * 16 + text_hex_digit(s[i + 2]));
            i += 2;
        }
        if (o + 1 >= outlen)
            return -E2BIG;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static bool gr_has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int gourl_gitiles_repo(const char *url, bool any_host, char *ret_host, size_t hostlen,
                       char *ret_project, size_t projectlen, char *err, size_t errlen)
{
    struct gourl u;
    char goerr[512];
    if (gourl_parse(url, &u, goerr, sizeof(goerr)) < 0)
        return gr_fail(err, errlen, goerr);

    /* Go lower-cases the scheme. */
    const char *colon = strchr(url, ':');
    if (!u.has_scheme || !colon || colon - url != 5 || strncasecmp(url, "https", 5) != 0)
        return gr_fail(err, errlen, "only https scheme is supported");
    const char *p = colon + 1;
    if (strncmp(p, "//", 2) != 0)
        return gr_fail(err, errlen, "only .googlesource.com repos are supported");
    p += 2;

    /* Authority: [userinfo@]host[:port], up to the path, query or fragment. */
    size_t auth_len = strcspn(p, "/?#");
    const char *host = p;
    size_t host_len = auth_len;
    for (size_t i = auth_len; i > 0; i--) {
        if (p[i - 1] == '@') {
            host = p + i;
            host_len = auth_len - i;
            break;
        }
    }
    /* LUCI tests u.Host, which keeps a port: "x.googlesource.com:443" fails too. */
    if (!any_host && !gr_has_suffix(host, host_len, ".googlesource.com"))
        return gr_fail(err, errlen, "only .googlesource.com repos are supported");
    if (host_len == 0)
        return gr_fail(err, errlen, "repo URL has no host");
    if (host_len + 1 > hostlen)
        return gr_fail(err, errlen, "host name is too long");

    const char *path = p + auth_len;
    size_t path_len = strcspn(path, "?#");
    const char *rest = path + path_len;
    if (rest[0] == '?') {
        size_t q = strcspn(rest + 1, "#");
        if (q > 0)
            return gr_fail(err, errlen, "repo URL must not have query");
        rest += 1 + q;
    }
    if (rest[0] == '#' && rest[1])
        return gr_fail(err, errlen, "repo URL must not have fragment");

    char decoded[GOURL_GITILES_PROJECT_MAX + 8];
    if (gr_unescape(path, path_len, decoded, sizeof(decoded)) < 0)
        return gr_fail(err, errlen, "repo URL path is too long");
    if (strchr(decoded, '+'))
        return gr_fail(err, errlen, "repo URL path must not contain '+'");

    /* "/a/<project>" is the authenticated form of "/<project>". */
    const char *proj = decoded;
    if (strncmp(proj, "/a/", 3) == 0)
        proj += 2;
    size_t proj_len = strlen(proj);
    if (proj_len && proj[proj_len - 1] == '/')
        proj_len--;
    if (gr_has_suffix(proj, proj_len, ".git"))
        proj_len -= 4;
    if (proj_len && proj[0] == '/') {
        proj++;
        proj_len--;
    }
    if (proj_len == 0)
        return gr_fail(err, errlen, "repo URL path must not be empty");
    if (proj_len + 1 > projectlen)
        return gr_fail(err, errlen, "repo URL path is too long");

    memcpy(ret_host, host, host_len);
    ret_host[host_len] = '\0';
    memcpy(ret_project, proj, proj_len);
    ret_project[proj_len] = '\0';
    return 0;
}
