/*
 * gourl.h - the parts of Go's net/url.Parse that LUCI's validation uses.
 *
 * LUCI checks URLs with url.Parse and IsAbs; tock reproduces the verdict
 * and the error text ("parse \"%%%%\": invalid URL escape \"%%%\"") for the
 * checks Parse makes: control characters, the scheme, the authority
 * (userinfo, host characters, IPv6 brackets, port) and percent escapes.
 * Query strings are not validated, as in Go.
 *
 * Pure: no I/O, no globals.
 */
#ifndef TOCK_CONFIG_GOURL_H
#define TOCK_CONFIG_GOURL_H

#include "base/compat.h"

struct gourl {
    bool has_scheme;   /* IsAbs() */
    bool path_empty;   /* the unescaped path is "" */
    /* host part (bytes as written, without userinfo and port) */
    const char *host;
    size_t host_len;
};

/*
 * Parses s like Go's url.Parse.  Returns 0 and fills *ret (pointers into
 * s), or -EINVAL with Go's error text in reterr_msg.
 */
int gourl_parse(const char *s, struct gourl *ret, char *reterr_msg, size_t errlen);

/*
 * Appends s quoted as Go's strconv.Quote (%q) does to out (NUL-terminated,
 * truncated to outlen).  Returns out.
 */
char *goquote(const char *s, char *out, size_t outlen);

/* Longest gitiles project gourl_gitiles_repo returns (with its NUL). */
#define GOURL_GITILES_PROJECT_MAX 1024

/*
 * LUCI's gitiles.ParseRepoURL (spec 3.10, 4.2.1): url must be
 * https://<host>.googlesource.com/<project> (Go's url.Parse verdict, https
 * scheme, no query or fragment, no '+' in the path, a non-empty project);
 * a leading "/a/" and a trailing ".git" (and "/") are stripped.  With
 * any_host the host may be any non-empty one (the caller checks it: the
 * gitiles poller accepts hosts mapped with --host-map).  Returns 0 with
 * the host and the unescaped project, or -EINVAL with the reason in err
 * ("only .googlesource.com repos are supported", "only https scheme is
 * supported", ...).
 */
int gourl_gitiles_repo(const char *url, bool any_host, char *ret_host, size_t hostlen,
                       char *ret_project, size_t projectlen, char *err, size_t errlen);

#endif
