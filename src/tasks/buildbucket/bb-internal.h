/*
 * bb-internal.h - the pure parts of the buildbucket manager, shared by its
 * files and its unit tests.  Private to src/tasks/buildbucket/.
 *
 * Nothing here does I/O.  Functions that take a struct task_ctl read its
 * job, invocation, task and request, and write debug-log lines through
 * ctl->ops->log (LUCI's messages, spec 4.1.3); they never change its
 * status or task data unless they say so.  Errors: 0 or a negative errno,
 * outputs written only on success; -ENOMEM is always possible.
 */
#ifndef TOCK_TASKS_BUILDBUCKET_BB_INTERNAL_H
#define TOCK_TASKS_BUILDBUCKET_BB_INTERNAL_H

#include "base/compat.h"
#include "base/buf.h"
#include "base/limits.h"

#include <jansson.h>

#include "config/config.h"
#include "tasks/task.h"

/* ---- JSON text (bbjson.c) ---- */

enum bb_json_style {
    /*
     * golang/protobuf jsonpb with Indent "  ", LUCI's protoToJSON: keys in
     * the object's order, 2-space indent, and a google.protobuf.Struct
     * (any object under a "properties" key) printed the way jsonpb v1 does:
     * keys sorted, entries 2 spaces deeper than their container's indent X,
     * nested containers at X + 6 (the seed's 4/6/12/... columns).
     */
    BB_JSON_PROTO,
    /* encoding/json MarshalIndent(v, "", "  "): keys sorted, 2-space indent. */
    BB_JSON_GO_INDENT,
    /* encoding/json Marshal / compact jsonpb: keys sorted, no spaces. */
    BB_JSON_GO_COMPACT,
};

/*
 * Appends v in style to out, strings escaped as Go does (\u003c \u003e
 * \u0026 for < > &, \u2028 \u2029, control characters), integers as
 * integers, reals in their shortest form.  Nesting deeper than
 * LIMIT_JSON_DEPTH is -E2BIG; a full out is -E2BIG.
 */
int bb_json_write(const json_t *v, enum bb_json_style style, struct buf *out);

/*
 * Logs "<prefix>\n<v in style>" as one debug-log line, cut to
 * BUILDBUCKET_MAX_LOG_JSON_BYTES.
 */
void bb_log_json(struct task_ctl *c, const char *prefix, const json_t *v,
                 enum bb_json_style style);


/* ---- the request (request.c) ---- */

struct bb_env {
    const char *hostname; /* $recipe_engine/scheduler hostname */
    const char *app_id;   /* user_agent tag */
};

/* The buildbucket body of ctl->task ({"server", "bucket", ...}), or NULL. */
const json_t *bb_task_body(const struct task_ctl *c);

/*
 * The builder of task body in the invocation's realm ("project:realm"),
 * by cfg_builder_id() (legacy v1 bucket names accepted, legacy_v1 set).
 * Returns 0, or -EINVAL with LUCI's message in err.
 */
int bb_builder_id(const json_t *body, const char *realm_id, struct cfg_builder_id *ret,
                  char *err, size_t errlen);

/*
 * The tags of the build as "key:value" strings, LUCI's order: the default
 * tags sorted by key (v1 adds "builder:<builder>" first) -
 * scheduler_invocation_id, scheduler_job_id, user_agent - then the task's
 * tags, then the request's.  Duplicate keys are kept.
 */
int bb_tags(const struct task_ctl *c, const char *app_id, const char *v1_builder, json_t **ret);

/*
 * The build properties: the task's "k:v" properties (string values) with
 * the request's properties laid over them (request wins).
 */
int bb_properties(const struct task_ctl *c, json_t **ret);

/*
 * The public form of an internal trigger (spec 3.5): id, title, url and
 * its payload, a noop payload without its data.  -EINVAL without an id.
 */
int bb_public_trigger(const json_t *t, json_t **ret);

/*
 * $recipe_engine/scheduler: {"hostname", "job", "invocation", "triggers"}
 * (v1 style: {"hostname", "triggers"}), with at most the newest
 * BUILDBUCKET_MAX_TRIGGERS_PROPERTY triggers (logging LUCI's "Capping ..."
 * line when there are more).
 */
int bb_scheduler_property(struct task_ctl *c, const char *hostname, bool v1_style, json_t **ret);

/*
 * LUCI's gitiles.NormalizeRepoURL(url, false), on the parts it needs:
 * "https://host/path" (no query or fragment, a non-empty path) gives host
 * and project = the path without its leading '/', a leading "a/", and a
 * trailing '/' or ".git".  http:// is accepted too (local test servers).
 * Returns 0, or -EINVAL with a reason in err.
 */
int bb_normalize_repo(const char *url, char *host, size_t hostlen, char *project,
                      size_t projectlen, char *err, size_t errlen);

/*
 * The GitilesCommit of a gitiles trigger: {host, project, id, ref} (empty
 * fields left out).  Returns 0, -ENOENT when t is not a gitiles trigger
 * or is a git trigger whose URL names no host (gitiles_git_remote_repo:
 * file://, local paths; then the build gets no commit), -EINVAL (bad repo
 * URL of a gitiles trigger, reason in err).
 */
int bb_commit_from_trigger(const json_t *t, json_t **ret, char *err, size_t errlen);

/*
 * LUCI's popCommitFromTags (spec 4.1.3 step 6): removes every buildset:
 * and gitiles_ref: tag from tags and the repository/branch/revision
 * properties from props (in place), logging every message LUCI logs, and
 * stores the commit the first gitiles buildset tag names (with the last
 * gitiles_ref as its ref) in *ret, or NULL when there is none.
 */
int bb_pop_commit_from_tags(struct task_ctl *c, json_t *props, json_t *tags, json_t **ret);

/* The v2 request's parts, everything LaunchTask logs before the PubSub step. */
struct bb_v2_parts {
    struct cfg_builder_id builder;
    json_t *properties; /* object */
    json_t *tags;       /* array of "k:v" strings */
    json_t *commit;     /* object or NULL */
};

/*
 * Steps 1-6 of spec 4.1.3 for invocation c.  Returns 0, or -EINVAL
 * (fatal; reason in c->err: bad bucket, bad repo URL).
 */
int bb_v2_parts_build(struct task_ctl *c, const struct bb_env *env, struct bb_v2_parts *ret);
void bb_v2_parts_release(struct bb_v2_parts *p);

/*
 * The ScheduleBuildRequest, keys in the seed's order: requestId, builder,
 * properties, gitilesCommit (when there is one), tags [{key, value}],
 * notify {pubsubTopic} (no userData: the caller adds it after logging).
 */
int bb_v2_request(const struct bb_v2_parts *p, int64_t invocation_id, const char *topic,
                  json_t **ret);

/*
 * The v1 PUT body (spec 4.1.8), keys sorted as the 2021 seed prints them:
 * bucket (the legacy "luci.<project>.<bucket>" name), client_operation_id,
 * parameters_json (compact, sorted: builder_name, properties),
 * pubsub_callback {auth_token, topic}, tags.  $recipe_engine/scheduler
 * (hostname, triggers) is left out for luci.chromium.* and luci.chrome.*.
 * Returns 0, or -EINVAL with the reason in c->err.
 */
int bb_v1_request(struct task_ctl *c, const struct bb_env *env, const char *topic,
                  const char *auth_token, json_t **ret);

/* ---- statuses, task data, pushes, polls (status.c) ---- */

/*
 * The name of a v2 Build's status: its string, the name of its number, or
 * "STATUS_UNSPECIFIED" when absent (protojson omits it).  An unknown
 * number is written in decimal into tmp (as Go prints it).  NULL when the
 * field has a wrong type.
 */
const char *bb_v2_status_name(const json_t *build, char *tmp, size_t tmplen);

/*
 * The invocation status for v2 Build status name (spec 4.1.5): SCHEDULED
 * and STARTED leave cur, SUCCESS -> SUCCEEDED, FAILURE and INFRA_FAILURE
 * -> FAILED, CANCELED -> ABORTED.  Anything else gives FAILED and false
 * (LUCI logs "Unexpected Build status ...").
 */
bool bb_v2_map_status(const char *name, enum inv_status cur, enum inv_status *ret);

/*
 * v1 (spec 4.1.8): SCHEDULED, STARTED leave cur; COMPLETED with result
 * SUCCESS -> SUCCEEDED; anything else (incl. CANCELED) -> FAILED.
 */
enum inv_status bb_v1_map_status(const char *status, const char *result, enum inv_status cur);

/* Spec 4.1.4 ExamineNotification; the task_manager hook (0 or -ENOENT). */
int bb_examine_notification(const json_t *message, char *token, size_t tokenlen);

struct bb_task_data {
    char build_id[24]; /* decimal, > 0 */
    int64_t pushes;
    char last_status[32];
    bool push_ok;
};

/* Reads task data (see buildbucket.h).  Returns 0 or -EINVAL. */
int bb_task_data_read(const json_t *td, struct bb_task_data *ret);
int bb_task_data_json(const struct bb_task_data *d, json_t **ret);

/* A build id given as a decimal string or an integer: 0, or -EINVAL. */
int bb_build_id(const json_t *v, char *out, size_t outlen);

struct bb_poll {
    int64_t min_ns, max_ns, long_ns; /* long_ns <= 0: off */
};

/*
 * The status-check delay (spec 4.1.6 plus tock's policy): while !push_ok,
 * min + rnd % (max - min) truncated to whole seconds (never below min);
 * when push_ok and long_ns > 0, long_ns.
 */
int64_t bb_poll_delay(const struct bb_poll *p, bool push_ok, uint64_t rnd);

/*
 * Bookkeeping after one successful status check that saw status: a push
 * proves the path (pushes + 1, push_ok); a timer check that finds a status
 * different from the last one seen means a push was lost (push_ok false).
 */
void bb_task_data_observe(struct bb_task_data *d, bool from_push, const char *status);

#endif
