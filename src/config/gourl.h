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

#endif
