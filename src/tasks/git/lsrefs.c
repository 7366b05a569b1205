/*
 * lsrefs.c - protocol v2 ls-refs over smart HTTP (gp-lsrefs.h).
 */
#include "base/compat.h"
#include "tasks/git/gp-lsrefs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "net/prpc.h"

/* ---- pkt-lines ---- */

enum pkt_kind { PKT_DATA, PKT_FLUSH, PKT_DELIM, PKT_END };

struct pkt_reader {
    const char *p, *end;
};

struct pkt {
    enum pkt_kind kind;
    const char *data; /* PKT_DATA: payload without its trailing '\n' */
    size_t len;
};

static int pkt_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pkt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EPROTO;
}

static int hex4(const char *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = text_hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The next packet; 1 at the end of the bytes, 0 with *k, or -EPROTO. */
static int pkt_next(struct pkt_reader *r, struct pkt *k, char *err, size_t errlen)
{
    int n;

    if (r->p == r->end)
        return 1;
    if (r->end - r->p < 4 || (n = hex4(r->p)) < 0)
        return pkt_fail(err, errlen, "not a pkt-line");
    if (n < 4) {
        k->kind = n == 0 ? PKT_FLUSH : n == 1 ? PKT_DELIM : n == 2 ? PKT_END : PKT_DATA;
        if (n == 3)
            return pkt_fail(err, errlen, "a pkt-line of length 3");
        r->p += 4;
        return 0;
    }
    if (n > GP_PKT_MAX || r->end - r->p < n)
        return pkt_fail(err, errlen, "a pkt-line longer than %s",
                        n > GP_PKT_MAX ? "65520 bytes" : "the answer");
    k->kind = PKT_DATA;
    k->data = r->p + 4;
    k->len = (size_t)n - 4;
    if (k->len > 0 && k->data[k->len - 1] == '\n')
        k->len--;
    r->p += n;
    if (k->len >= 4 && memcmp(k->data, "ERR ", 4) == 0)
        return pkt_fail(err, errlen, "the server said: %.*s",
                        (int)(k->len - 4 > 300 ? 300 : k->len - 4), k->data + 4);
    return 0;
}

static bool pkt_is(const struct pkt *k, const char *text)
{
    size_t n = strlen(text);

    return k->kind == PKT_DATA && k->len == n && memcmp(k->data, text, n) == 0;
}

static bool pkt_starts(const struct pkt *k, const char *text)
{
    size_t n = strlen(text);

    return k->kind == PKT_DATA && k->len >= n && memcmp(k->data, text, n) == 0;
}

/* ---- the pure parts ---- */

int gp_v2_caps_parse(const char *body, size_t len, struct gp_v2_caps *caps, char *err,
                     size_t errlen)
{
    struct pkt_reader r = {body, body + len};
    struct pkt k;
    int rc;

    memset(caps, 0, sizeof(*caps));
    rc = pkt_next(&r, &k, err, errlen);
    if (rc == 0 && pkt_starts(&k, "# service=")) { /* some servers send it first */
        if ((rc = pkt_next(&r, &k, err, errlen)) == 0 && k.kind != PKT_FLUSH)
            return pkt_fail(err, errlen, "no flush after the service line");
        if (rc == 0)
            rc = pkt_next(&r, &k, err, errlen);
    }
    if (rc < 0)
        return rc;
    if (rc == 1 || !pkt_is(&k, "version 2"))
        return 0; /* v0/v1: the server ignored Git-Protocol */
    caps->v2 = true;
    while ((rc = pkt_next(&r, &k, err, errlen)) == 0 && k.kind == PKT_DATA) {
        caps->ls_refs = caps->ls_refs || pkt_is(&k, "ls-refs") || pkt_starts(&k, "ls-refs=");
        caps->object_format = caps->object_format || pkt_is(&k, "object-format=sha1");
    }
    if (rc < 0)
        return rc;
    if (rc == 1 || k.kind != PKT_FLUSH)
        return pkt_fail(err, errlen, "the capability list does not end with a flush");
    return 0;
}

static int pkt_put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pkt_put(struct buf *b, const char *fmt, ...)
{
    char line[GT_MAX_REF + 64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -E2BIG;
    return buf_printf(b, "%04x%s", n + 4, line);
}

int gp_v2_lsrefs_body(const struct gp_v2_caps *caps, const char *prefix, struct buf *out)
{
    int r = pkt_put(out, "command=ls-refs\n");

    if (r == 0 && caps->object_format)
        r = pkt_put(out, "object-format=sha1\n");
    if (r == 0)
        r = buf_puts(out, "0001");
    if (r == 0)
        r = pkt_put(out, "symrefs\n");
    if (r == 0)
        r = pkt_put(out, "ref-prefix %s/\n", prefix);
    if (r == 0)
        r = buf_puts(out, "0000");
    return r;
}

/* One "<sha> <ref>[ attr...]" packet: added to out when kept. */
static int lsrefs_line(const struct pkt *k, const char *prefix, struct gt_refs *out, char *err,
                       size_t errlen)
{
    char sha[GT_SHA_LEN + 1], name[GT_MAX_REF + 1];
    const char *sp, *attrs, *end = k->data + k->len;
    size_t pl = strlen(prefix), n;

    if (k->len > 8 && memcmp(k->data, "unborn ", 7) == 0)
        return 0;
    if (k->len < GT_SHA_LEN + 2 || k->data[GT_SHA_LEN] != ' ')
        return pkt_fail(err, errlen, "a ref line without \"<sha> <ref>\"");
    memcpy(sha, k->data, GT_SHA_LEN);
    sha[GT_SHA_LEN] = '\0';
    sp = k->data + GT_SHA_LEN + 1;
    attrs = memchr(sp, ' ', (size_t)(end - sp));
    n = (size_t)((attrs ? attrs : end) - sp);
    if (!gt_sha_valid(sha) || n == 0 || memchr(sp, '\0', n))
        return pkt_fail(err, errlen, "a ref line with a bad SHA or name");
    if (n > GT_MAX_REF)
        return pkt_fail(err, errlen, "a ref name longer than %d bytes", GT_MAX_REF);
    memcpy(name, sp, n);
    name[n] = '\0';
    for (const char *a = attrs; a && a < end; a = memchr(a + 1, ' ', (size_t)(end - a - 1)))
        if ((size_t)(end - a) > 15 && memcmp(a + 1, "symref-target:", 14) == 0)
            return 0;
    if (strncmp(name, prefix, pl) != 0 || (name[pl] != '/' && name[pl] != '\0') ||
        strncmp(name, "refs/", 5) != 0)
        return 0;
    return gt_refs_add(out, name, sha);
}

int gp_v2_lsrefs_parse(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                       char *err, size_t errlen)
{
    struct pkt_reader r = {body, body + len};
    struct pkt k;
    int rc;

    while ((rc = pkt_next(&r, &k, err, errlen)) == 0 && k.kind == PKT_DATA) {
        rc = lsrefs_line(&k, prefix, out, err, errlen);
        if (rc == -E2BIG) {
            snprintf(err, errlen, "more than %d refs", GT_MAX_REFS);
            return -E2BIG;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (rc == 1 || k.kind != PKT_FLUSH)
        return pkt_fail(err, errlen, "the ref list does not end with a flush");
    return 0;
}

/* ---- the calls ---- */

/* One request to <url><path>; the answer's body when the status is 200. */
static int v2_call(const struct gp_v2_remote *rm, const char *method, const char *path,
                   const struct buf *body, const char *ctype, const char *accept,
                   struct client_http_response *res, long *http_status, struct client_error *e)
{
    const char *headers[] = {"Git-Protocol: version=2", rm->auth, NULL};
    struct client_http_request rq = {
        .method = method,
        .host = rm->url,
        .path = path,
        .content_type = ctype,
        .body = body ? body->data : NULL,
        .body_len = body ? body->len : 0,
        .accept = accept,
        .headers = headers,
    };
    struct client_call_options o = {.timeout_ns = rm->timeout_ns};
    int r;

    *http_status = 0;
    if (rm->timeout_ns <= 0) {
        client_error_set(e, GRPC_DEADLINE_EXCEEDED, true, "no time left in the git poll");
        return -EIO;
    }
    r = client_http(rm->client, &rq, &o, res, e);
    if (r < 0)
        return -EIO;
    *http_status = res->status;
    if (res->status == 200)
        return 0;
    if (res->status == 401 || res->status == 403)
        client_error_set(e, GRPC_UNAUTHENTICATED, false, "HTTP %ld", res->status);
    else
        client_error_set(e, GRPC_UNAVAILABLE, true, "unexpected http status code: %ld",
                         res->status);
    client_http_response_release(res);
    return -EIO;
}

int gp_v2_probe(const struct gp_v2_remote *rm, struct gp_v2_caps *caps, long *http_status,
                struct client_error *e)
{
    struct client_http_response res = {0};
    char err[400];
    int r = v2_call(rm, "GET", "/info/refs?service=git-upload-pack", NULL, NULL,
                    "application/x-git-upload-pack-advertisement, */*", &res, http_status, e);

    if (r < 0)
        return r;
    r = gp_v2_caps_parse(res.body, res.len, caps, err, sizeof(err));
    if (r < 0)
        client_error_set(e, GRPC_UNAVAILABLE, true, "a bad capability advertisement: %s", err);
    client_http_response_release(&res);
    return r < 0 ? -EIO : 0;
}

int gp_v2_ls_refs(const struct gp_v2_remote *rm, const struct gp_v2_caps *caps,
                  const char *prefix, struct gt_refs *out, long *http_status,
                  struct client_error *e)
{
    struct client_http_response res = {0};
    struct buf body;
    char err[400];
    int r;

    buf_init(&body, GT_MAX_REF + 256);
    if (gp_v2_lsrefs_body(caps, prefix, &body) < 0) {
        buf_release(&body);
        client_error_set(e, GRPC_INVALID_ARGUMENT, false, "a ref prefix too long");
        return -EIO;
    }
    r = v2_call(rm, "POST", "/git-upload-pack", &body, "application/x-git-upload-pack-request",
                "application/x-git-upload-pack-result", &res, http_status, e);
    buf_release(&body);
    if (r < 0)
        return r;
    r = gp_v2_lsrefs_parse(res.body, res.len, prefix, out, err, sizeof(err));
    if (r == -E2BIG)
        client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false, "the remote lists more than %d "
                         "refs, more than a poll takes", GT_MAX_REFS);
    else if (r < 0)
        client_error_set(e, GRPC_UNAVAILABLE, true, "a bad ls-refs answer: %s", err);
    client_http_response_release(&res);
    return r < 0 ? -EIO : 0;
}
