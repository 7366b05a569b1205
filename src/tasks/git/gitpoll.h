/*
 * gitpoll.h - the "git" task manager (tock's own, not LUCI's): a trigger
 * job that polls any git remote (https://, http://, ssh://, git://,
 * file:// or a local path) with libgit2 and emits one trigger per new
 * commit, with the gitiles poller's semantics (spec 4.2: ref sets, the
 * stored state in ctl->job_state, 50 commits per ref, 100 triggers per
 * poll, path filters, trigger IDs and LUCI's debug-log lines; the shared
 * algorithm is tasks/gitiles/gt-poll.h).
 *
 *   struct gitpoll_options o = {.data_dir = "/var/lib/tock"};
 *   struct task_manager *m = NULL;
 *   if (gitpoll_manager_new(&o, &m) < 0) goto out;
 *   task_registry_add(registry, m);          (the registry borrows it)
 *   ...
 *   gitpoll_manager_free(m);
 *
 * One poll is one launch(): list the remote's refs — for http(s) remotes
 * whose server speaks protocol v2, one ls-refs per watched namespace
 * through the outgoing client (gp-lsrefs.h; when o->client is given),
 * else git_remote_ls (libgit2 1.5: protocol v0/v1, every ref) — fetch
 * the watched refs whose tips the cache lacks into a bare cache at
 * <data_dir>/git/<sha1 of the url>.git (refs/tock/<ref minus "refs/">;
 * only new objects travel), then walk old..new there (newest first, at
 * most 50) and diff each commit's tree with its first parent's for the
 * path filters.  A cache that cannot be opened is removed and made again.
 * Each fetch is bounded by max_fetch_bytes (a larger pack fails the poll,
 * RESOURCE_EXHAUSTED); one remote's cache by max_cache_bytes (measured
 * around each fetch; past it the poll fails for good, the cache is kept).
 * Each poll has one deadline, timeout_ns from its start: every socket
 * libgit2 opens goes through gp-stream.h's stream, whose waits end there
 * (http, https, git; ssh through a watchdog), and libgit2's progress
 * callbacks check it too; past it the poll fails as transient,
 * DEADLINE_EXCEEDED ("timed out").  Not bounded: name resolution, and
 * file:// and local paths.
 * Concurrent polls of one URL take turns on the cache (flock on
 * <cache>.lock, whose mtime each poll touches); after a poll, at most once
 * per LIMIT_GIT_CACHE_SWEEP_SEC, caches whose lock is older than
 * cache_idle_sec and not held are removed (remotes no longer polled).
 * A failed poll also writes its error to the invocation's debug log.
 * TLS (https://): verification is always on, against the system's CAs
 * (/etc/ssl/certs) plus ca_file (the CLI passes the outgoing client's --ca-file: one CA
 * setting for all of tock's outgoing TLS).  The CA locations are
 * libgit2's, so process-wide: the last manager made with a ca_file sets
 * them for every libgit2 user of the process.  A certificate that does
 * not verify fails the poll (UNAVAILABLE, transient) with "TLS failed,
 * the server's certificate is not trusted ..." and libgit2's reason.
 *
 * Triggers are the gitiles poller's: id "<url>/+/<ref>@<sha>", title the
 * SHA, url "<url>/+/<sha>", created the committer time, orderInBatch, and
 * the "gitiles" payload {repo, ref, revision} plus "git": true and tags
 * ["buildset:commit/git/<sha>"] (engine/request.h: properties
 * repository, branch, revision; the gitiles tags only for a Gitiles URL).
 *
 * Credentials (credentials_file, optional): the first line that is not
 * empty or a '#' comment, one of
 *   bearer <token>            "Authorization: Bearer <token>" on http(s)
 *   basic <user>:<password>   HTTP basic when the server asks
 *   ssh-key <path>            the private key for ssh:// (user from the URL, else "git")
 * read at every poll, never logged nor put in error messages.  A remote
 * that refuses them (or wants some when there are none) fails the poll for
 * good, UNAUTHENTICATED, naming the kind of credential only.  ssh:// host
 * keys are checked by libgit2 against $HOME/.ssh/known_hosts.
 *
 * job_state: the gitiles shape (gitiles.h) with host "git" and project the url.
 * Threads: the manager may be called from any number of threads at once.
 * The library does not log (debug-log lines go to the invocation).
 * The manager is not "fast": the engine runs it on its remote pool.
 */
#ifndef TOCK_TASKS_GIT_GITPOLL_H
#define TOCK_TASKS_GIT_GITPOLL_H

#include "base/compat.h"

#include "tasks/task.h"

struct client; /* net/client.h */

/* Default bounds of one fetch. */
#define GITPOLL_MAX_FETCH_BYTES (512ull << 20)
#define GITPOLL_TIMEOUT_NS (300ll * 1000000000)
/* Longest credentials file. */
#define GITPOLL_MAX_CREDENTIALS 8192

struct gitpoll_options {
    const char *data_dir;         /* required: caches live in <data_dir>/git/ (made if missing) */
    const char *credentials_file; /* NULL = none */
    uint64_t max_fetch_bytes;     /* 0 = GITPOLL_MAX_FETCH_BYTES */
    int64_t timeout_ns;           /* per poll; 0 = GITPOLL_TIMEOUT_NS */
    uint64_t max_cache_bytes;     /* one remote's cache; 0 = LIMIT_GIT_CACHE_BYTES */
    int64_t cache_idle_sec;       /* remove caches idle this long; 0 = LIMIT_GIT_CACHE_IDLE_SEC */
    const char *ca_file;          /* extra CA bundle (PEM) for https://; NULL = the system's only */
    struct client *client;        /* borrowed, outlives the manager; NULL = refs of http(s)
                                   * remotes listed by libgit2 (v0/v1) only */
};

/*
 * Makes the manager (name "git") with copies of o's strings and
 * initializes libgit2.  Returns 0 and *ret, -EINVAL (no data_dir),
 * -ENOMEM, -EIO (libgit2 would not initialize, or would not load ca_file).
 */
int gitpoll_manager_new(const struct gitpoll_options *o, struct task_manager **ret);

/* Frees a manager made by gitpoll_manager_new.  NULL-safe; returns NULL. */
struct task_manager *gitpoll_manager_free(struct task_manager *m);

#endif
