/*
 * gitremote.c - a git remote's URL as a Buildbucket commit's host and
 * project (gitiles.h, gitiles_git_remote_repo).
 */
#include "tasks/gitiles/gitiles.h"

#include <strings.h>

static bool starts(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The path after the host as a project: no leading or trailing '/', no ".git". */
static int project_of(const char *path, char *project, size_t projectlen)
{
    size_t n;

    while (*path == '/')
        path++;
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n >= 4 && memcmp(path + n - 4, ".git", 4) == 0)
        n -= 4;
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0)
        return -EINVAL;
    if (n + 1 > projectlen)
        return -E2BIG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f || path[i] == '?' ||
            path[i] == '#' || path[i] == '+')
            return -EINVAL;
    memcpy(project, path, n);
    project[n] = '\0';
    return 0;
}

/* host (len bytes, no userinfo) without its port; a bracketed IPv6 keeps its brackets. */
static int host_of(const char *h, size_t len, bool keep_port, char *host, size_t hostlen)
{
    const char *colon = NULL;

    if (len > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', len);
        if (!close)
            return -EINVAL;
        if (!keep_port)
            len = (size_t)(close - h) + 1;
    } else if (!keep_port && (colon = memchr(h, ':', len)) != NULL) {
        len = (size_t)(colon - h);
    }
    if (len == 0)
        return -EINVAL;
    if (len + 1 > hostlen)
        return -E2BIG;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f || h[i] == '/' || h[i] == '@')
            return -EINVAL;
    memcpy(host, h, len);
    host[len] = '\0';
    return 0;
}

/* "<scheme>://[user@]host[:port]/path" after the "://". */
static int from_authority(const char *p, bool keep_port, char *host, size_t hostlen,
                          char *project, size_t projectlen)
{
    size_t auth = strcspn(p, "/?#");
    const char *at = NULL;

    for (size_t i = auth; i > 0; i--) {
        if (p[i - 1] == '@') {
            at = p + i;
            break;
        }
    }
    const char *h = at ? at : p;
    int r = host_of(h, auth - (size_t)(h - p), keep_port, host, hostlen);
    if (r == 0)
        r = p[auth] == '/' ? project_of(p + auth, project, projectlen) : -EINVAL;
    return r;
}

int gitiles_git_remote_repo(const char *url, char *host, size_t hostlen, char *project,
                            size_t projectlen)
{
    char h[GITILES_REMOTE_HOST_MAX], pr[GITILES_REMOTE_PROJECT_MAX];
    int r;

    if (!url || !url[0] || url[0] == '/' || url[0] == '.' || url[0] == '~' || starts(url, "file:"))
        return -ENOENT;
    if (strlen(url) > GITILES_REMOTE_URL_MAX)
        return -E2BIG;
    if (starts(url, "https://"))
        r = from_authority(url + 8, true, h, sizeof(h), pr, sizeof(pr));
    else if (starts(url, "http://"))
        r = from_authority(url + 7, true, h, sizeof(h), pr, sizeof(pr));
    else if (starts(url, "ssh://"))
        r = from_authority(url + 6, false, h, sizeof(h), pr, sizeof(pr));
    else if (starts(url, "git+ssh://") || starts(url, "ssh+git://"))
        r = from_authority(url + 10, false, h, sizeof(h), pr, sizeof(pr));
    else if (starts(url, "git://"))
        r = from_authority(url + 6, false, h, sizeof(h), pr, sizeof(pr));
    else if (strstr(url, "://"))
        return -ENOENT; /* another transport: no host we can name */
    else {
        /* scp-like "[user@]host:path": a ':' before any '/' (git's own rule). */
        const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
        const char *at;
        if (!colon || (slash && slash < colon))
            return -ENOENT; /* a relative local path */
        at = memchr(url, '@', (size_t)(colon - url));
        const char *hs = at ? at + 1 : url;
        r = host_of(hs, (size_t)(colon - hs), true, h, sizeof(h));
        if (r == 0)
            r = project_of(colon + 1, pr, sizeof(pr));
    }
    if (r < 0)
        return r;
    if (strlen(h) + 1 > hostlen || strlen(pr) + 1 > projectlen)
        return -E2BIG;
    snprintf(host, hostlen, "%s", h);
    snprintf(project, projectlen, "%s", pr);
    return 0;
}
