/*
 * buildbucket.h - the "buildbucket" task manager (spec 4.1): a job that
 * schedules a build on Buildbucket, waits for Pub/Sub pushes and timers,
 * and finishes with the build's status.
 *
 * Two APIs, chosen per Buildbucket host:
 *   v2 (default)  pRPC buildbucket.v2.Builds ScheduleBuild / GetBuild /
 *                 CancelBuild, exactly as LUCI Scheduler since March 2021
 *                 (spec 4.1.3-4.1.7; the 2025 seed page);
 *   v1            the Cloud Endpoints REST API of the historic scheduler
 *                 (spec 4.1.8; the 2021 seed page), for the hosts listed
 *                 in v1_hosts.
 *
 * The manager is made once and registered with task_registry_add():
 *
 *   struct buildbucket_options o = {.client = client, .hostname = "tock.example.com"};
 *   struct task_manager *bb = NULL;
 *   if (buildbucket_manager_new(&o, &bb) < 0) goto out;
 *   if (task_registry_add(registry, bb) < 0) goto out;   (the registry borrows it)
 *   ...
 *   task_registry_free(registry);
 *   buildbucket_manager_free(bb);
 *
 * Every remote call goes through the borrowed struct client (net/client.h:
 * host map, credentials, size bounds, in-flight cap) with a one-minute
 * deadline, as LUCI.  The manager keeps no per-invocation state outside
 * ctl->task_data; its only shared state is a cache of each Buildbucket
 * host's service account (for the Pub/Sub topic name), behind a mutex.
 *
 * Threads: after buildbucket_manager_new() returns, the manager may be
 * called from any number of threads at once.  The library does not log
 * (debug-log lines go to the invocation through ctl->ops->log).
 *
 * What goes into ctl->task_data (JSON):
 *   {"build_id": "8701530828601276817",   the build, as LUCI
 *    "pushes": 2,                         Pub/Sub pushes handled so far
 *    "last_status": "STARTED",            the build status last seen
 *    "push_ok": true}                     the push path is proven and no push was lost
 * The last three drive tock's poll policy (v2 only; docs/tasks.md):
 * while push_ok is false the status-check timer is LUCI's uniform random
 * [poll_min, poll_max) truncated to whole seconds; once a push has arrived
 * it is poll_long; a timer-driven GetBuild that finds a status no push
 * announced sets push_ok back to false.  v1 polls every poll_min, as the
 * historic scheduler did every minute.
 */
#ifndef TOCK_TASKS_BUILDBUCKET_BUILDBUCKET_H
#define TOCK_TASKS_BUILDBUCKET_BUILDBUCKET_H

#include "base/compat.h"

#include "net/client.h"
#include "tasks/task.h"

#define BUILDBUCKET_DEFAULT_PUBSUB_TOPIC "projects/tock/topics/scheduler.buildbucket"
#define BUILDBUCKET_DEFAULT_HOSTNAME "tock"
#define BUILDBUCKET_DEFAULT_APP_ID "tock"
#define BUILDBUCKET_DEFAULT_POLL_MIN_NS (60 * INT64_C(1000000000))
#define BUILDBUCKET_DEFAULT_POLL_MAX_NS (600 * INT64_C(1000000000))
#define BUILDBUCKET_DEFAULT_POLL_LONG_NS (3600 * INT64_C(1000000000))
/* poll_long_ns value that turns tock's long poll off (always LUCI's timer). */
#define BUILDBUCKET_POLL_LONG_OFF (-1)
/* The one timer this manager adds (LUCI's name). */
#define BUILDBUCKET_TIMER_TITLE "check-buildbucket-build-status"

struct buildbucket_options {
    /* The outgoing client, borrowed: it must outlive the manager.  Required. */
    struct client *client;
    /*
     * Calls to Buildbucket carry the client's credentials (as LUCI's
     * project-scoped token) unless anonymous is set, for a client made
     * without any (local emulators).  /auth/api/v1/server/info is always
     * fetched without credentials.
     */
    bool anonymous;
    /*
     * Pub/Sub topic prefix given to Buildbucket; the topic is
     * "<pubsub_topic>.<service account of the host, '@' -> '~'>".
     * NULL = BUILDBUCKET_DEFAULT_PUBSUB_TOPIC.  With LUCI's
     * "projects/luci-scheduler/topics/scheduler.buildbucket" and the account
     * cr-buildbucket@appspot.gserviceaccount.com this is the seeds' topic.
     */
    const char *pubsub_topic;
    /* "hostname" in $recipe_engine/scheduler (LUCI: "luci-scheduler.appspot.com"). NULL = "tock". */
    const char *hostname;
    /* The user_agent tag value (LUCI: its app id "luci-scheduler").  NULL = "tock". */
    const char *app_id;
    /*
     * Status-check timer bounds: uniform random in [poll_min, poll_max),
     * truncated to whole seconds (never below poll_min).  0 = LUCI's 1 min
     * and 10 min.  poll_max <= poll_min means always poll_min.  v1 polls
     * every poll_min.
     */
    int64_t poll_min_ns, poll_max_ns;
    /*
     * The timer once the push path is proven for a build (see above).
     * 0 = BUILDBUCKET_DEFAULT_POLL_LONG_NS (1 h); BUILDBUCKET_POLL_LONG_OFF
     * (any negative value) = always LUCI's timer.
     */
    int64_t poll_long_ns;
    /* Hosts ("cr-buildbucket.appspot.com") spoken to with the v1 API (copied). */
    const char *const *v1_hosts;
    size_t n_v1_hosts;
    /* Random numbers for the timer (NULL = getrandom(2)); called from any thread. */
    uint64_t (*random)(void *ctx);
    void *random_ctx;
};

/*
 * Makes the manager (name "buildbucket", multistage) with settings o
 * (copied; the client is borrowed).  Returns 0 and *ret, -EINVAL (no
 * client, a v1 host that is empty) or -ENOMEM.
 */
int buildbucket_manager_new(const struct buildbucket_options *o, struct task_manager **ret);

/* Frees a manager made by buildbucket_manager_new.  NULL-safe; returns NULL. */
struct task_manager *buildbucket_manager_free(struct task_manager *m);

#endif
