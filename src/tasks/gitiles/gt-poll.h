/*
 * gt-poll.h - one poll of a repository's refs (spec 4.2.4), shared by the
 * gitiles manager (Gitiles REST) and the git manager (src/tasks/git/, any
 * git remote through libgit2).  Private to src/tasks/.
 *
 * The algorithm, its limits (GITILES_MAX_COMMITS_PER_REF per updated ref,
 * GITILES_MAX_TRIGGERS_PER_POLL per poll, then "postponing the rest"), the
 * stored state (ctl->job_state, gt_state_*), path filtering, the trigger
 * shapes and LUCI's debug-log lines are the same for both; only where refs
 * and commits come from differs, through struct gt_source.
 *
 * Use: fill a zeroed struct gt_poll (c, src, source_name, repo), call
 * gt_poll_config() with the task body, then gt_poll_run(), then always
 * gt_poll_release().  Both return 0 or TASK_ERR_TRANSIENT / TASK_ERR_FATAL
 * with ctl->err set.  Threads: a poll is used by one thread; the sources
 * decide what they share.
 */
#ifndef TOCK_TASKS_GITILES_GT_POLL_H
#define TOCK_TASKS_GITILES_GT_POLL_H

#include "base/compat.h"

#include "net/client.h"
#include "tasks/gitiles/gt-internal.h"
#include "tasks/task.h"

/*
 * Where refs and commits come from.  Each call returns 0, or -EIO with *e
 * filled: GRPC_NOT_FOUND for a commit or range that does not exist (force
 * push detection relies on it), a transient code (client_error_is_transient)
 * for a problem worth retrying.
 */
struct gt_source_ops {
    /* Adds the refs under prefix ("refs/heads") to out (unsorted, full names). */
    int (*fetch_refs)(void *src, const char *prefix, struct gt_refs *out,
                      struct client_error *e);
    /*
     * Called once after the watched refs are resolved, with them (sorted):
     * a source may fetch what it needs for them.  May be NULL.
     */
    int (*prepare)(void *src, const struct gt_refs *current, struct client_error *e);
    /* The commits of committish (a SHA or "<old>..<new>"), newest first, at most limit. */
    int (*fetch_log)(void *src, const char *committish, size_t limit, bool tree_diff,
                     struct gt_commits *out, struct client_error *e);
};

struct gt_poll {
    /* Set by the caller. */
    struct task_ctl *c;
    const struct gt_source_ops *ops;
    void *src;
    const char *source_name; /* "gitiles" or "git": log lines name it */
    struct gt_repo repo;     /* the state's key */
    /*
     * git triggers: the gitiles payload carries "git": true and the tag
     * "buildset:commit/git/<sha>" (engine/request.c reads both).
     */
    bool git_payload;

    /* Filled by gt_poll_config and gt_poll_run. */
    const char *repo_url; /* as configured, borrowed from the task */
    char **refs;          /* normalized refs config */
    size_t n_refs;
    struct gt_refset rs;
    struct gt_pathfilter pf;
    struct gt_refs current; /* sorted, watched refs only */
    struct gt_state st;
    size_t emitted;         /* triggers emitted so far */
    size_t changes;         /* refs pruned or moved forward */
};

/*
 * Reads the task body (the object under the task's key): the URL field
 * url_key ("repo", "url"), "refs", "pathRegexps", "pathRegexpsExclude";
 * logs "Repo: ..., Refs: [...]".  The URL itself is the caller's to check
 * with check(p, arg) (may be NULL), called after the log line and before the
 * refs are compiled; it fills p->repo and returns 0 or a task error.
 */
int gt_poll_config(struct gt_poll *p, const json_t *body, const char *url_key,
                   int (*check)(struct gt_poll *p, void *arg), void *arg);

/* The poll itself: resolve, compare, emit, move the state forward. */
int gt_poll_run(struct gt_poll *p);

void gt_poll_release(struct gt_poll *p);

/* Sets c->err to msg and returns TASK_ERR_FATAL. */
int gt_poll_fatal(struct task_ctl *c, const char *msg);

#endif
