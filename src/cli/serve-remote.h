/*
 * serve-remote.h - what `tock serve` needs to call other services: the
 * outgoing client (net/client.h: --host-map, credentials, --ca-file) and
 * the buildbucket task manager built on it (--pubsub-topic,
 * --buildbucket-poll, --buildbucket-api, --hostname, --app-id), and the
 * gitiles poller on the same client (a non-googlesource.com repo host must
 * be mapped with --host-map).
 *
 *   struct serve_remote r;
 *   serve_remote_init(&r);
 *   ... for each getopt_long result c: serve_remote_parse(&r, c, optarg) ...
 *   serve_remote_setup(&r, registry);    (before engine_new)
 *   ... serve ...
 *   serve_remote_release(&r);            (after engine_free)
 *
 * Not thread-safe; used by the main thread only.  The client and the
 * manager it owns are shared with the engine's threads while serving.
 */
#ifndef TOCK_CLI_SERVE_REMOTE_H
#define TOCK_CLI_SERVE_REMOTE_H

#include "base/compat.h"

#include <getopt.h>

#include "net/client.h"

struct task_registry;
struct task_manager;

#define SERVE_REMOTE_MAX_V1_HOSTS 64

struct serve_remote {
    const char *host_map[CLIENT_MAX_HOST_MAP];
    size_t n_host_map;
    const char *service_account_json, *token_file, *token_command, *ca_file;
    const char *pubsub_topic, *hostname, *app_id;
    int64_t poll_min_ns, poll_max_ns, poll_long_ns;
    bool poll_long_set;
    const char *v1_hosts[SERVE_REMOTE_MAX_V1_HOSTS];
    size_t n_v1_hosts;
    /*
     * The git poller: --data-dir (its caches; default: tock-data next to
     * db, the store URL's sqlite file, else ./tock-data) and
     * --git-credentials.  db is set by the caller before setup.
     */
    const char *data_dir, *git_credentials, *db;
    int64_t git_timeout_ns, git_cache_idle_ns; /* --git-timeout, --git-cache-idle; 0 = default */
    uint64_t git_cache_max;                     /* --git-cache-max; 0 = default */
    char data_dir_default[4096];

    struct client *client;
    struct task_manager *buildbucket;
    struct task_manager *gitiles;
    struct task_manager *git;
};

/* The long options serve_remote_parse takes (getopt_long values >= 1000), NULL-terminated. */
extern const struct option serve_remote_options[];
/* Their --help lines. */
extern const char serve_remote_help[];

void serve_remote_init(struct serve_remote *r);

/*
 * Takes one option: returns 1 when c was one of serve_remote_options, 0
 * when it is not ours, -EINVAL (after printing why) for a bad value.
 */
int serve_remote_parse(struct serve_remote *r, int c, const char *arg);

/*
 * Makes the outgoing client, the buildbucket and the gitiles managers and
 * adds the managers to registry.  Returns 0, or -errno after printing why.
 */
int serve_remote_setup(struct serve_remote *r, struct task_registry *registry);

void serve_remote_release(struct serve_remote *r);

#endif
