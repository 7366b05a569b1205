/*
 * bb-manager.h - the manager's state and the pieces manager.c (v2) and
 * v1.c share.  Private to src/tasks/buildbucket/.
 *
 * Return values of the bb_* calls below are task.h's: 0,
 * TASK_ERR_TRANSIENT or TASK_ERR_FATAL, with a one-line reason in c->err
 * on error.
 */
#ifndef TOCK_TASKS_BUILDBUCKET_BB_MANAGER_H
#define TOCK_TASKS_BUILDBUCKET_BB_MANAGER_H

#include "base/compat.h"

#include <pthread.h>

#include "net/client.h"
#include "tasks/buildbucket/bb-internal.h"
#include "tasks/buildbucket/buildbucket.h"

struct bb_account {
    char server[256];
    char account[256];
};

struct bb_manager {
    struct task_manager m; /* first; m.ctx points back here */
    struct client *client; /* borrowed */
    bool anonymous;
    char *pubsub_topic;
    struct bb_env env;
    struct bb_poll poll;
    char **v1_hosts;
    size_t n_v1_hosts;
    uint64_t (*random)(void *ctx);
    void *random_ctx;

    pthread_mutex_t mu; /* guards the cache */
    struct bb_account cache[BUILDBUCKET_MAX_SERVERS];
    size_t n_cache;
};

/* The options of every call to Buildbucket: LUCI's one-minute deadline. */
struct client_call_options bb_call_options(const struct bb_manager *bm);

/*
 * Spec 4.1.3 step 7: logs "Preparing PubSub topic for ...", finds the
 * host's service account, gets the invocation's token, logs "PubSub topic
 * is ..." (or "Failed to prepare PubSub topic - <err>", transient).
 */
int bb_prepare_topic(struct bb_manager *bm, struct task_ctl *c, const char *server, char *topic,
                     size_t topiclen, char *token, size_t tokenlen);

/* Stores d as ctl->task_data (transient on out of memory). */
int bb_store_task_data(struct task_ctl *c, const struct bb_task_data *d);

/* Adds the status-check timer after delay_ns (transient on failure). */
int bb_add_timer(struct task_ctl *c, int64_t delay_ns);

/*
 * The checks every status check makes first (spec 4.1.5): STARTING is a
 * transient "invocation is still starting, try again later", another
 * non-RUNNING status is fatal, unreadable task data fails the invocation.
 */
int bb_check_preamble(struct task_ctl *c, struct bb_task_data *ret);

/* v1.c: the v1 API for hosts in v1_hosts. */
int bb_v1_launch(struct bb_manager *bm, struct task_ctl *c, const char *server);
int bb_v1_check(struct bb_manager *bm, struct task_ctl *c, const char *server, bool from_push);
int bb_v1_cancel(struct bb_manager *bm, struct task_ctl *c, const char *server,
                 const char *build_id);

#endif
