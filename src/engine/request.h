/*
 * request.h - building an invocation request from a batch of triggers
 * (luci-scheduler-spec.md 3.10) and checking the tags it carries.
 *
 * A request (tasks/task.h) is
 *   {"triggeredBy": "<identity>",       absent when "" or mixed
 *    "incomingTriggers": [trigger...],  copies of the batch, oldest first
 *    "properties": {...},               absent when the payload gives none
 *    "tags": ["k:v", ...]}              absent when the payload gives none
 * Properties and tags come only from the newest (last) trigger:
 *   cron, webui        nothing
 *   noop               {"noop_trigger_data": data}
 *   buildbucket        its properties and tags verbatim
 *   gitiles            its properties overlaid with revision, branch (= ref)
 *                      and repository (= repo as written); tags
 *                      "buildset:commit/gitiles/<host>/<project>/+/<revision>",
 *                      "gitiles_ref:<ref>", then its own tags, exact
 *                      duplicates dropped (first kept)
 *   none / unknown     nothing; debug log "Unrecognized trigger payload of
 *                      type <nil>, ignoring"
 * A gitiles repo that does not normalise (request_gitiles_repo) leaves the
 * request without properties and tags and logs `Bad repo URL "<url>" in
 * the trigger - <err>`, unless the payload has "git": true (tock's git
 * poller, any remote): then the URL is mapped by gitiles_git_remote_repo
 * (ssh://host/p.git, git://, http://, scp-like host:p -> host, project)
 * and gets the two gitiles tags as well; a URL without a host (file://, a
 * local path) keeps the properties and its own tags, without the two
 * gitiles tags.
 *
 * Pure: no I/O.
 */
#ifndef TOCK_ENGINE_REQUEST_H
#define TOCK_ENGINE_REQUEST_H

#include "base/compat.h"
#include "base/buf.h"

#include <jansson.h>

#include "engine/trigger.h"

/* Longest gitiles host and project request_gitiles_repo returns. */
#define REQUEST_GITILES_HOST_MAX 256
#define REQUEST_GITILES_PROJECT_MAX 1024
/* Most tags one request or invocation carries. */
#define REQUEST_MAX_TAGS 4096

/*
 * Which request builder: today's LUCI (spec 3.10), or the one of the v1 era
 * (spec 4.1.8), which also tagged a gitiles commit
 * "buildset:commit/git/<sha>" — the tags of the 2021 seed page.  A job
 * whose buildbucket bucket is a legacy v1 name ("luci.tint.ci") is of the
 * v1 era: that name only works with the v1 API.
 */
enum request_era {
    REQUEST_CURRENT,
    REQUEST_V1_ERA,
};

/*
 * Builds the request for batch[0..n-1] (n >= 1, oldest first; the triggers
 * are encoded with trigger_to_json, not taken).  triggered_by may be NULL or "" (no
 * "triggeredBy").  Messages for the request's debug log are appended to
 * debug_log (may be NULL) as plain "message\n" lines; LUCI also copies
 * them to the triage log, which is the caller's job.  Returns 0 and a new
 * object in *ret_request, -EINVAL (n == 0 or a NULL trigger), or -ENOMEM /
 * -E2BIG (from debug_log).
 */
int request_build(const struct trigger *const *batch, size_t n, const char *triggered_by,
                  enum request_era era, json_t **ret_request, struct buf *debug_log);

/*
 * The era of a job's task definition (task.h JSON): REQUEST_V1_ERA for a
 * buildbucket task whose bucket is a legacy v1 name "luci.<project>.<bucket>",
 * REQUEST_CURRENT for anything else (NULL included).
 */
enum request_era request_era_of_task(const json_t *task);

/*
 * Normalises a gitiles repo URL as LUCI does: https only, no query,
 * fragment or '+' in the path, user info dropped, a leading "/a/" and a
 * trailing "/" and ".git" removed, a non-empty path.  tock's leniency (docs/
 * tasks.md, gitiles): any host is accepted, port included, where LUCI
 * accepts only hosts ending in ".googlesource.com" — the poller only polls
 * googlesource.com and hosts mapped with --host-map, so a trigger naming
 * another host came from a private Gitiles.  Returns 0 with the host and
 * the project (the path without its leading '/') in ret_host/ret_project,
 * or -EINVAL with LUCI's reason in err (e.g. "only https scheme is
 * supported", "repo URL must not have query"; "repo URL has no host").
 */
int request_gitiles_repo(const char *url, char *ret_host, size_t hostlen, char *ret_project,
                         size_t projectlen, char *err, size_t errlen);

/*
 * Checks and sorts the tags of a request for storage in an invocation:
 * each must be a string "key:value" (containing ':'); the result is sorted
 * bytewise (duplicates kept).  tags may be NULL (gives []).  Returns 0 and
 * a new array in *ret, -EINVAL with `rejecting bad tags: bad tag, not a
 * 'key:value' pair: "<t>"` in err, or -ENOMEM.
 */
int request_tags_sorted(const json_t *tags, json_t **ret, char *err, size_t errlen);

#endif
