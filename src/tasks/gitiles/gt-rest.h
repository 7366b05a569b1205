/*
 * gt-rest.h - the Gitiles REST calls of the gitiles manager (private to
 * src/tasks/gitiles/), wire-formats.md 3: GET requests through the shared
 * struct client, the ")]}'" prefix checked and stripped, HTTP statuses
 * mapped to gRPC codes as LUCI's client does (3.4: 400 INVALID_ARGUMENT,
 * 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429
 * RESOURCE_EXHAUSTED, 502/503 UNAVAILABLE, other INTERNAL).  A reply that
 * is not what Gitiles sends is INTERNAL.  No retries.
 *
 * Returns 0, or -EIO with *e filled (code, message; transport set when
 * the request never got an answer).  Threads: any, the client is shared.
 */
#ifndef TOCK_TASKS_GITILES_GT_REST_H
#define TOCK_TASKS_GITILES_GT_REST_H

#include "net/client.h"
#include "tasks/gitiles/gt-internal.h"

struct gt_remote {
    struct client *client;           /* borrowed */
    struct client_call_options opts; /* deadline, credentials */
    const char *host;                /* resolved through the host map */
    const char *project;
};

/* Adds the refs under prefix ("refs/heads") to out (unsorted, full names). */
int gt_fetch_refs(const struct gt_remote *rm, const char *prefix, struct gt_refs *out,
                  struct client_error *e);

/*
 * The commits of committish (a SHA or "<old>..<new>"), newest first, at
 * most limit, following "next" cursors (at most GT_MAX_LOG_PAGES pages);
 * tree_diff asks for name-status (the changed paths).
 */
int gt_fetch_log(const struct gt_remote *rm, const char *committish, size_t limit,
                 bool tree_diff, struct gt_commits *out, struct client_error *e);

#endif
