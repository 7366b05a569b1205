/*
 * gp-lsrefs.h - the git poller's ref listing over smart HTTP protocol v2
 * (wire-formats.md section 5): one capability GET, then one `ls-refs`
 * POST per ref namespace with `ref-prefix <namespace>/`, so a poll of
 * refs/heads/main on a server with 100,000 tags and a million Gerrit
 * refs/changes/ reads the branches only.  libgit2 1.5 speaks protocol
 * v0/v1 only (it lists every ref of the remote); this is what tock uses
 * instead for http:// and https:// remotes whose server speaks v2.
 * Fetching objects stays libgit2's.
 *
 * The pure parts (gp_v2_caps_parse, gp_v2_lsrefs_body,
 * gp_v2_lsrefs_parse) are separate from the calls (gp_v2_probe,
 * gp_v2_ls_refs) so that hostile bytes can be tested without a server.
 *
 * pkt-lines: 4 lowercase (also accepted: uppercase) hex digits of total
 * length, 0000 flush, 0001 delimiter, 0002 response end; at most
 * GP_PKT_MAX bytes each.  An `ERR <text>` packet fails the call with the
 * text.  Each answer is bounded by the outgoing client's reply bound and
 * its refs by GT_MAX_REFS.
 *
 * Threads: no state; the calls block the calling thread up to their
 * deadline (the poll's), through the shared outgoing client.
 */
#ifndef TOCK_TASKS_GIT_GP_LSREFS_H
#define TOCK_TASKS_GIT_GP_LSREFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/client.h"
#include "tasks/gitiles/gt-internal.h"

#define GP_PKT_MAX 65520

/* What a v2 capability advertisement offered. */
struct gp_v2_caps {
    bool v2;            /* "version 2" (after an optional "# service=" section) */
    bool ls_refs;       /* an "ls-refs" capability */
    bool object_format; /* "object-format=sha1" advertised (then it is sent back) */
};

/*
 * Parses the body of GET <url>/info/refs?service=git-upload-pack sent
 * with "Git-Protocol: version=2".  A v0/v1 answer (the server ignored the
 * header) gives caps->v2 = false and returns 0.  Returns -EPROTO (message
 * in err) for bytes that are not pkt-lines or an ERR packet.
 */
int gp_v2_caps_parse(const char *body, size_t len, struct gp_v2_caps *caps, char *err,
                     size_t errlen);

/*
 * The ls-refs request body for the refs under namespace prefix ("refs/heads"):
 * command, object-format when advertised, delimiter, "symrefs",
 * "ref-prefix <prefix>/", flush.  Returns 0 or a buf error (-E2BIG, -ENOMEM).
 */
int gp_v2_lsrefs_body(const struct gp_v2_caps *caps, const char *prefix, struct buf *out);

/*
 * Parses an ls-refs answer: "<sha> <ref>[ attr...]" packets up to the
 * flush.  Adds to out each ref under prefix (servers may send more),
 * dropping symbolic refs (symref-target:), "unborn" ones and names not
 * under "refs/".  An annotated tag gives the tag object's SHA (no peel
 * asked), as libgit2's listing and Gitiles do.  Returns 0, -EPROTO
 * (malformed: err says what), -E2BIG (past GT_MAX_REFS), -ENOMEM.
 */
int gp_v2_lsrefs_parse(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                       char *err, size_t errlen);

/* One v2 conversation's fixed parts: where, with what, until when. */
struct gp_v2_remote {
    struct client *client; /* the shared outgoing client (borrowed) */
    const char *url;       /* "https://host[:port]/path" (http or https only) */
    const char *auth;      /* "Authorization: ..." header line, or NULL */
    int64_t timeout_ns;    /* what is left of the poll's deadline */
};

/*
 * The capability GET.  Returns 0 with *caps (caps->v2 false: use
 * libgit2's listing), or -EIO with *e: transport errors as the client
 * gives them (transient), HTTP 401/403 as UNAUTHENTICATED with
 * *http_status set (the caller names the credential), other non-200
 * statuses UNAVAILABLE.
 */
int gp_v2_probe(const struct gp_v2_remote *rm, struct gp_v2_caps *caps, long *http_status,
                struct client_error *e);

/* One ls-refs POST for prefix, refs added to out.  Errors as gp_v2_probe. */
int gp_v2_ls_refs(const struct gp_v2_remote *rm, const struct gp_v2_caps *caps,
                  const char *prefix, struct gt_refs *out, long *http_status,
                  struct client_error *e);

#endif
