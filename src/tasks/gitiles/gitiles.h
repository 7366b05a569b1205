/*
 * gitiles.h - the "gitiles" task manager (spec 4.2): a trigger job that
 * polls a Gitiles repository's refs and emits one trigger per new commit.
 *
 * The manager is made once and registered with task_registry_add():
 *
 *   struct gitiles_options o = {.client = client};
 *   struct task_manager *gm = NULL;
 *   if (gitiles_manager_new(&o, &gm) < 0) goto out;
 *   if (task_registry_add(registry, gm) < 0) goto out;   (the registry borrows it)
 *   ...
 *   task_registry_free(registry);
 *   gitiles_manager_free(gm);
 *
 * One poll is one launch() (not multistage): resolve the watched refs with
 * one "+refs" request per namespace, compare them with the known tips of
 * the job's manager state (ctl->job_state), fetch the new commits with
 * "+log" requests, emit the triggers and move the state forward.  The
 * engine saves the state in the transaction that saves the invocation and
 * its triggers (task.h), so a crash never loses or repeats a commit.
 *
 * Remote calls go through the borrowed struct client (net/client.h: host
 * map, credentials, size bounds, in-flight cap), each with LUCI's
 * one-minute deadline.  A repository must be https://<host>/<project> with
 * host *.googlesource.com, as LUCI, or a host mapped with --host-map
 * (client_host_is_mapped), which is tock's only leniency.
 *
 * job_state (JSON, sorted keys):
 *   {"host": "chromium.googlesource.com", "project": "chromium/src",
 *    "tips": "<40 hex> refs/heads/main\n<40 hex> refs/tags/v1\n",
 *                                   the known ref tips, one "<sha> <ref>\n"
 *                                   line each, sorted by ref (byte order)
 *    "refs": ["refs/heads/main", "regexp:refs/branch-heads/\\d+"]}
 *                                   the (normalized) refs config of the last save
 * The tips are one string, not an object of 10,000 members, so an idle
 * poll of a big repository reads and compares the state cheaply.  The
 * older form, "known": {"<ref>": "<sha>", ...} instead of "tips", is still
 * read, and written again in the compact form by the next poll.  A poll
 * that changes nothing tells the engine so (task_ctl.job_state_unchanged).
 * A state of another host or project reads as empty (a changed repo URL
 * starts from scratch, as LUCI's entity key).
 *
 * Threads: after gitiles_manager_new() returns, the manager may be called
 * from any number of threads at once; it keeps no shared mutable state.
 * The library does not log (debug-log lines go to the invocation).
 */
#ifndef TOCK_TASKS_GITILES_GITILES_H
#define TOCK_TASKS_GITILES_GITILES_H

#include "base/compat.h"

#include "net/client.h"
#include "tasks/task.h"

/* LUCI's bounds (gitiles.go): commits examined per updated ref, triggers per poll. */
#define GITILES_MAX_COMMITS_PER_REF 50
#define GITILES_MAX_TRIGGERS_PER_POLL 100

struct gitiles_options {
    /* The outgoing client, borrowed: it must outlive the manager.  Required. */
    struct client *client;
    /*
     * Calls carry the client's credentials (as LUCI's project-scoped
     * token, under the authenticated "/a/" prefix) unless anonymous is set
     * (a client made without any, a local fake).  The "/a/" prefix is sent
     * either way, as LUCI.
     */
    bool anonymous;
    /* Deadline of each call; 0 = LUCI's one minute. */
    int64_t timeout_ns;
};

/*
 * Makes the manager (name "gitiles", not multistage) with settings o (the
 * client is borrowed).  Returns 0 and *ret, -EINVAL (no client) or -ENOMEM.
 */
int gitiles_manager_new(const struct gitiles_options *o, struct task_manager **ret);

/* Frees a manager made by gitiles_manager_new.  NULL-safe; returns NULL. */
struct task_manager *gitiles_manager_free(struct task_manager *m);

#define GITILES_REMOTE_URL_MAX 4096
#define GITILES_REMOTE_HOST_MAX 256
#define GITILES_REMOTE_PROJECT_MAX 1024

/*
 * The host and project a git remote's commits are named by in a
 * Buildbucket gitilesCommit (tock's git triggers, docs/tasks.md):
 *   https://[user@]host[:port]/path[.git]   -> host[:port], path
 *   http://...                              -> the same
 *   ssh://[user@]host[:port]/path[.git]     -> host (no user, no port), path
 *   git://host[:port]/path, git+ssh://...   -> host, path
 *   [user@]host:path[.git] (scp-like)       -> host, path
 * where path loses its leading and trailing '/' and one ".git".  Returns 0,
 * -ENOENT when the URL names no host (file://, a local path, another
 * transport), -EINVAL (no path, a space, control character, '?', '#' or
 * '+' in it, an empty host), -E2BIG (longer than the limits above or the
 * buffers).  Pure; any thread.
 */
int gitiles_git_remote_repo(const char *url, char *host, size_t hostlen, char *project,
                            size_t projectlen);

#endif
