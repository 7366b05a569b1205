/*
 * schema.c - the message descriptors of scheduler.config.ProjectConfig,
 * written from luci-scheduler-spec.md sections 1.2-1.6.
 *
 * Field order inside each table is the .proto declaration order; it is
 * also the order LUCI's reflection walks to find the task field.
 */
#include "config/textproto.h"

#define FIELD(n, num, t, rep, fid) \
    { .name = (n), .number = (num), .type = (t), .repeated = (rep), .id = (fid) }
#define ENUMF(n, num, e, rep, fid) \
    { .name = (n), .number = (num), .type = TP_ENUM, .repeated = (rep), .enum_type = (e), \
      .id = (fid) }
#define MSGF(n, num, m, rep, fid) \
    { .name = (n), .number = (num), .type = TP_MESSAGE, .repeated = (rep), .msg_type = (m), \
      .id = (fid) }

static const struct tp_enum_value role_values[] = {
    { "READER", 0 },
    { "OWNER", 1 },
    { "TRIGGERER", 2 },
};
static const struct tp_enum role_enum = {
    "scheduler.config.Acl.Role", role_values, ARRAY_SIZE(role_values)
};

static const struct tp_enum_value kind_values[] = {
    { "UNDEFINED", 0 },
    { "GREEDY_BATCHING", 1 },
    { "LOGARITHMIC_BATCHING", 2 },
    { "NEWEST_FIRST", 3 },
};
static const struct tp_enum kind_enum = {
    "scheduler.config.TriggeringPolicy.Kind", kind_values, ARRAY_SIZE(kind_values)
};

static const struct tp_field duration_fields[] = {
    FIELD("seconds", 1, TP_INT64, false, CF_DURATION_SECONDS),
    FIELD("nanos", 2, TP_INT32, false, CF_DURATION_NANOS),
};
static const struct tp_message duration_msg = {
    "google.protobuf.Duration", duration_fields, ARRAY_SIZE(duration_fields), NULL
};

static const struct tp_field acl_fields[] = {
    ENUMF("role", 1, &role_enum, false, CF_ACL_ROLE),
    FIELD("granted_to", 2, TP_STRING, false, CF_ACL_GRANTED_TO),
};
static const struct tp_message acl_msg = {
    "scheduler.config.Acl", acl_fields, ARRAY_SIZE(acl_fields), NULL
};

static const struct tp_field acl_set_fields[] = {
    FIELD("name", 1, TP_STRING, false, CF_ACLSET_NAME),
    MSGF("acls", 2, &acl_msg, true, CF_ACLSET_ACLS),
};
static const struct tp_message acl_set_msg = {
    "scheduler.config.AclSet", acl_set_fields, ARRAY_SIZE(acl_set_fields), NULL
};

static const struct tp_field policy_fields[] = {
    ENUMF("kind", 1, &kind_enum, false, CF_POLICY_KIND),
    FIELD("max_concurrent_invocations", 2, TP_INT64, false, CF_POLICY_MAX_CONCURRENT),
    FIELD("max_batch_size", 3, TP_INT64, false, CF_POLICY_MAX_BATCH),
    FIELD("log_base", 4, TP_FLOAT, false, CF_POLICY_LOG_BASE),
    MSGF("pending_timeout", 5, &duration_msg, false, CF_POLICY_PENDING_TIMEOUT),
};
static const struct tp_message policy_msg = {
    "scheduler.config.TriggeringPolicy", policy_fields, ARRAY_SIZE(policy_fields), NULL
};

static const struct tp_field noop_fields[] = {
    FIELD("sleep_ms", 1, TP_INT64, false, CF_NOOP_SLEEP_MS),
    FIELD("triggers_count", 2, TP_INT64, false, CF_NOOP_TRIGGERS_COUNT),
};
static const struct tp_message noop_msg = {
    "scheduler.config.NoopTask", noop_fields, ARRAY_SIZE(noop_fields), NULL
};

static const struct tp_field url_fetch_fields[] = {
    FIELD("method", 1, TP_STRING, false, CF_URL_METHOD),
    FIELD("url", 2, TP_STRING, false, CF_URL_URL),
    FIELD("timeout_sec", 3, TP_INT32, false, CF_URL_TIMEOUT_SEC),
};
static const struct tp_message url_fetch_msg = {
    "scheduler.config.UrlFetchTask", url_fetch_fields, ARRAY_SIZE(url_fetch_fields), NULL
};

static const struct tp_field buildbucket_fields[] = {
    FIELD("server", 1, TP_STRING, false, CF_BB_SERVER),
    FIELD("bucket", 2, TP_STRING, false, CF_BB_BUCKET),
    FIELD("builder", 3, TP_STRING, false, CF_BB_BUILDER),
    FIELD("properties", 4, TP_STRING, true, CF_BB_PROPERTIES),
    FIELD("tags", 5, TP_STRING, true, CF_BB_TAGS),
};
static const struct tp_message buildbucket_msg = {
    "scheduler.config.BuildbucketTask", buildbucket_fields, ARRAY_SIZE(buildbucket_fields),
    NULL
};

static const struct tp_field gitiles_fields[] = {
    FIELD("repo", 1, TP_STRING, false, CF_GT_REPO),
    FIELD("refs", 2, TP_STRING, true, CF_GT_REFS),
    FIELD("path_regexps", 3, TP_STRING, true, CF_GT_PATH_REGEXPS),
    FIELD("path_regexps_exclude", 4, TP_STRING, true, CF_GT_PATH_REGEXPS_EXCLUDE),
};
static const struct tp_message gitiles_msg = {
    "scheduler.config.GitilesTask", gitiles_fields, ARRAY_SIZE(gitiles_fields), NULL
};

/* tock's git task (not LUCI's): any git remote, the gitiles task's semantics. */
static const struct tp_field git_fields[] = {
    FIELD("url", 1, TP_STRING, false, CF_GIT_URL),
    FIELD("refs", 2, TP_STRING, true, CF_GIT_REFS),
    FIELD("path_regexps", 3, TP_STRING, true, CF_GIT_PATH_REGEXPS),
    FIELD("path_regexps_exclude", 4, TP_STRING, true, CF_GIT_PATH_REGEXPS_EXCLUDE),
};
static const struct tp_message git_msg = {
    "tock.config.GitTask", git_fields, ARRAY_SIZE(git_fields), NULL
};

static const struct tp_field job_fields[] = {
    FIELD("id", 1, TP_STRING, false, CF_ID),
    FIELD("realm", 8, TP_STRING, false, CF_REALM),
    FIELD("schedule", 2, TP_STRING, false, CF_SCHEDULE),
    FIELD("disabled", 3, TP_BOOL, false, CF_DISABLED),
    MSGF("acls", 5, &acl_msg, true, CF_ACLS),
    FIELD("acl_sets", 6, TP_STRING, true, CF_ACL_SETS_NAMES),
    MSGF("triggering_policy", 7, &policy_msg, false, CF_POLICY),
    MSGF("noop", 100, &noop_msg, false, CF_TASK_NOOP),
    MSGF("url_fetch", 101, &url_fetch_msg, false, CF_TASK_URL_FETCH),
    MSGF("buildbucket", 103, &buildbucket_msg, false, CF_TASK_BUILDBUCKET),
};
static const struct tp_message job_msg = {
    "scheduler.config.Job", job_fields, ARRAY_SIZE(job_fields), NULL
};

static const struct tp_field trigger_fields[] = {
    FIELD("id", 1, TP_STRING, false, CF_ID),
    FIELD("realm", 7, TP_STRING, false, CF_REALM),
    FIELD("schedule", 2, TP_STRING, false, CF_SCHEDULE),
    FIELD("disabled", 3, TP_BOOL, false, CF_DISABLED),
    MSGF("acls", 4, &acl_msg, true, CF_ACLS),
    FIELD("acl_sets", 5, TP_STRING, true, CF_ACL_SETS_NAMES),
    MSGF("triggering_policy", 6, &policy_msg, false, CF_POLICY),
    MSGF("noop", 100, &noop_msg, false, CF_TASK_NOOP),
    MSGF("gitiles", 101, &gitiles_msg, false, CF_TASK_GITILES),
    MSGF("git", 1001, &git_msg, false, CF_TASK_GIT), /* tock's own, a high number */
    FIELD("triggers", 200, TP_STRING, true, CF_TRIGGERS),
};
static const struct tp_message trigger_msg = {
    "scheduler.config.Trigger", trigger_fields, ARRAY_SIZE(trigger_fields), NULL
};

static const struct tp_field project_fields[] = {
    MSGF("job", 1, &job_msg, true, CF_PROJECT_JOB),
    MSGF("trigger", 2, &trigger_msg, true, CF_PROJECT_TRIGGER),
    MSGF("acl_sets", 3, &acl_set_msg, true, CF_PROJECT_ACL_SETS),
};
static const char *const project_reserved[] = { "security_options", NULL };

const struct tp_message cfg_schema_project = {
    "scheduler.config.ProjectConfig", project_fields, ARRAY_SIZE(project_fields),
    project_reserved
};
