/*
 * task.h - the contract between the engine and task managers.
 *
 * A task manager does the work of one kind of job ("noop", "url_fetch",
 * later "buildbucket", "gitiles", "git").  The engine owns every invocation;
 * for each event (launch, timer, notification, abort) it builds a struct
 * task_ctl from the stored invocation, calls the manager *outside any store
 * transaction*, then saves what the manager changed (status, task data,
 * view URL, debug-log lines, timers, emitted triggers) in one transaction.
 * This is LUCI's Controller (luci-scheduler-spec.md 3.12).
 *
 * Rules for managers:
 * - Be idempotent per invocation: a crash between the call and the save
 *   makes the engine call again with the same invocation id (use it as the
 *   idempotency key of remote calls, e.g. Buildbucket's requestId).
 * - Return 0 on success, TASK_ERR_TRANSIENT to be called again later (a
 *   launch goes to RETRYING), TASK_ERR_FATAL to fail the invocation.  Put a
 *   one-line reason in ctl->err when returning an error.
 * - Never block longer than the task's own timeout; never keep pointers to
 *   the ctl after returning.
 * - Threads: calls run on the engine's worker threads, several at once for
 *   different invocations, and possibly two for one invocation (a timer and
 *   a push): the engine's compare-and-set save makes the later one retry,
 *   so a manager keeps no per-invocation state outside ctl->task_data.
 *
 * JSON shapes (jansson json_t, field names as in LUCI's protobuf JSON):
 *
 *   task definition: exactly one of
 *     {"noop": {"sleepMs": "1000", "triggersCount": "2"}}
 *     {"urlFetch": {"method": "GET", "url": "https://...", "timeoutSec": 30}}
 *     {"buildbucket": {...}}, {"gitiles": {...}}
 *   (int64 values are strings, int32 are numbers, absent = default;
 *    task_def_from_config() in tasks/registry.h builds it from a config job.)
 *
 *   trigger (internal form, spec 3.5; the public scheduler.Trigger JSON is
 *   the subset id/title/url/payload):
 *     {"id": "noop:123:0", "jobId": "proj/job", "invocationId": "123",
 *      "created": "2026-01-01T00:00:00Z", "orderInBatch": "0",
 *      "title": "...", "url": "...", "emittedByUser": "user:a@example.com",
 *      one payload of:
 *        "cron": {"generation": "3"}   "webui": {}   "noop": {"data": "..."}
 *        "gitiles": {"repo": "...", "ref": "...", "revision": "...",
 *                    "properties": {...}, "tags": ["k:v"]}
 *        "buildbucket": {"properties": {...}, "tags": ["k:v"]}}
 *
 *   request (what the triggering policy built, spec 3.10):
 *     {"triggeredBy": "user:...", "incomingTriggers": [trigger, ...],
 *      "properties": {...}, "tags": ["k:v", ...]}
 */
#ifndef TOCK_TASKS_TASK_H
#define TOCK_TASKS_TASK_H

#include "base/compat.h"

#include <jansson.h>

#define TASK_ERR_TRANSIENT (-EAGAIN)
#define TASK_ERR_FATAL (-EINVAL)

/* Invocation statuses, spec 3.3, with their exact names. */
enum inv_status {
    INV_STARTING,
    INV_RETRYING,
    INV_RUNNING,
    INV_SUCCEEDED,
    INV_FAILED,
    INV_OVERRUN,
    INV_ABORTED,
    _INV_STATUS_MAX,
};

const char *inv_status_name(enum inv_status s);
/* Returns the status named name, or -EINVAL. */
int inv_status_from_name(const char *name);
bool inv_status_is_final(enum inv_status s);
bool inv_status_is_initial(enum inv_status s); /* STARTING or RETRYING */

struct task_ctl;

/* What the engine provides to a manager during one call. */
struct task_ctl_ops {
    /* Appends one line to the invocation's debug log (spec 3.18). */
    void (*log)(struct task_ctl *c, const char *msg);
    /*
     * Adds a timer delivered after delay_ns with title and payload (any
     * string, may be NULL) to handle_timer(); logs "Scheduling timer ...".
     * Returns 0 or -errno.
     */
    int (*add_timer)(struct task_ctl *c, int64_t delay_ns, const char *title,
                     const char *payload);
    /*
     * Emits a trigger (ownership of the JSON object moves to the engine);
     * the engine fills jobId, invocationId, and created/orderInBatch when
     * absent, logs "Emitting a trigger <id>", and fans it out on save.
     */
    int (*emit_trigger)(struct task_ctl *c, json_t *trigger);
    /* Saves now (e.g. before a long wait), as LUCI's ctl.Save(). */
    int (*save)(struct task_ctl *c);
    /* The engine's clock. */
    int64_t (*now)(struct task_ctl *c);
    /*
     * The Pub/Sub auth token of this invocation (LUCI's PrepareTopic token,
     * spec 3.14 step 5): an HMAC-signed, expiring token naming the job and
     * the invocation, to be put in Buildbucket's notify.userData (v2) or
     * pubsub_callback.auth_token (v1).  NUL-terminated in out.  Returns 0,
     * -ENOBUFS (out is too small; TASK_PUBSUB_TOKEN_MAX always fits) or
     * -EIO (no key).  Never log it.
     */
    int (*pubsub_token)(struct task_ctl *c, char *out, size_t outlen);
};

/* Longest text of struct task_ctl's job_state. */
#define TASK_JOB_STATE_MAX (16u << 20)

/* Longest Pub/Sub auth token pubsub_token() makes, with its NUL. */
#define TASK_PUBSUB_TOKEN_MAX 1024

struct task_ctl {
    const struct task_ctl_ops *ops;
    void *engine; /* private to the engine */

    /* Read-only for the manager. */
    const char *job_id;  /* "project/job" */
    const char *project;
    int64_t invocation_id;
    const char *realm_id; /* "project:realm" */
    int attempt;          /* 1 on the first launch */
    const json_t *task;   /* task definition */
    const json_t *request;

    /* The manager reads and changes these; the engine saves them. */
    enum inv_status status;
    json_t *task_data; /* owned by the ctl; NULL = none */
    char view_url[2048];

    /*
     * The manager's own durable state of this job, shared by all of the
     * job's invocations (the gitiles poller's known ref tips, LUCI's
     * gitiles.Repository entity, spec 4.2.3): a JSON value owned by the
     * ctl, NULL = none, as the last save of any invocation of the job left
     * it.  The manager may change it in place or replace it (json_decref
     * the old value); NULL deletes it.  The engine writes it (compact,
     * sorted keys) only when its text changed, in the same transaction as
     * the invocation and the triggers emitted since the last save, so the
     * state moves with the triggers it accounts for: a crash or a lost
     * compare-and-set loses both or neither.  That transaction also checks
     * that the stored state is still the one this ctl read (else the save
     * fails as a concurrent modification and the call is made again with
     * the new state).  At most TASK_JOB_STATE_MAX bytes of text, else the
     * save fails with -E2BIG.  Managers that keep no state leave it alone.
     */
    json_t *job_state;
    /*
     * The manager may set this when it has not changed job_state (neither
     * in place nor replaced it) since the engine handed it the ctl or last
     * saved it: the next save then skips serialising the state to compare
     * it (a poller's idle state can be megabytes).  Setting it after a
     * change loses that change.  The engine clears it at every save and
     * whenever it loads a state.
     */
    bool job_state_unchanged;

    /* A one-line reason when a call returns an error. */
    char err[512];
};

/* Formats and appends a debug-log line through ctl->ops->log. */
void task_ctl_logf(struct task_ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct task_manager {
    const char *name;   /* "noop", "url_fetch": the config's task field */
    bool multistage;    /* false: all work happens in launch() (spec 4.0) */
    /*
     * true: every call returns at once and touches no remote service
     * (noop), so the engine runs it on the worker that leased the task;
     * false (the safe default): calls may wait on the network, and the
     * engine runs them on its remote pool (engine/remote.c).
     */
    bool fast;
    void *ctx;          /* the manager's own settings */

    /* Starts the task; must move ctl->status out of STARTING/RETRYING. */
    int (*launch)(const struct task_manager *m, struct task_ctl *c);
    /* A timer added by add_timer() is due.  May be NULL (ignored). */
    int (*handle_timer)(const struct task_manager *m, struct task_ctl *c, const char *title,
                        const char *payload);
    /*
     * Extracts the auth token from an untrusted Pub/Sub message (the push
     * body's "message": {"data": base64, "attributes": {...}, "messageId"})
     * into token (NUL-terminated).  Returns 0, or -ENOENT when there is none
     * (the push is rejected).  Must not trust anything else in the message.
     * May be NULL (the manager takes no pushes).
     */
    int (*examine_notification)(const struct task_manager *m, const json_t *message, char *token,
                                size_t tokenlen);
    /*
     * A Pub/Sub push addressed to this invocation, the same message object.
     * Idempotent: duplicates and reordering are expected.  May be NULL.
     */
    int (*handle_notification)(const struct task_manager *m, struct task_ctl *c,
                               const json_t *message);
    /* Abort requested; the engine sets ABORTED afterwards.  May be NULL. */
    int (*abort)(const struct task_manager *m, struct task_ctl *c);
};

#endif
