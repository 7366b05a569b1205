/*
 * config.h - luci-scheduler.cfg: the parsed model, its validation and the
 * diagnostics both produce.
 *
 * A config file is protobuf text format of scheduler.config.ProjectConfig
 * (luci-scheduler-spec.md section 1).  Reading it is two steps:
 *
 *   struct cfg_diags d;
 *   struct cfg_project *p = NULL;
 *   cfg_diags_init(&d);
 *   if (cfg_project_parse(data, len, &p, &d) == 0)
 *       cfg_validate(p, &opts, &d);
 *   for (size_t i = 0; i < d.n; i++) { cfg_diag_format(&d.v[i], "x.cfg", &b); ... }
 *   cfg_project_free(p);
 *   cfg_diags_release(&d);
 *
 * cfg_project_parse only checks the grammar and the schema (unknown fields,
 * types, ranges, UTF-8); like LUCI, the first syntax error stops the parse
 * and leaves no model ("nothing changes").  cfg_validate applies LUCI's
 * validation rules (ids, realms, schedules, tasks, policies) and never
 * stops early.  See docs/config.md for the rules tock relaxes by default
 * and enforces with strict_luci.
 *
 * Pure: no I/O, no globals, no clock, no logging.  Every limit comes from
 * base/limits.h.
 */
#ifndef TOCK_CONFIG_CONFIG_H
#define TOCK_CONFIG_CONFIG_H

#include "base/compat.h"
#include "base/buf.h"
#include "schedule/schedule.h"

/* A place in the config file: 1-based line and 1-based byte column; 0:0 = none. */
struct cfg_pos {
    uint32_t line;
    uint32_t col;
};

/* ---------------------------------------------------------------------------
 * Diagnostics
 */

enum cfg_severity {
    CFG_SEV_ERROR,
    CFG_SEV_WARNING,
};

/*
 * One finding.  path is LUCI's element path ("job / my job / task"), "" for
 * syntax errors; message is LUCI's text ("field 'server' is required").
 * Both are owned by the list.
 */
struct cfg_diag {
    enum cfg_severity severity;
    struct cfg_pos pos;
    char *path;
    char *message;
};

/*
 * A list of diagnostics in the order they were found.  At most
 * LIMIT_CONFIG_ERRORS entries are kept; later ones only count in n_dropped.
 */
struct cfg_diags {
    struct cfg_diag *v;
    size_t n;
    size_t alloc;
    size_t n_errors;   /* kept + dropped errors */
    size_t n_warnings; /* kept + dropped warnings */
    size_t n_dropped;
};

void cfg_diags_init(struct cfg_diags *d);

/* Frees every entry; the list is left empty and may be reused. */
void cfg_diags_release(struct cfg_diags *d);

/*
 * Appends a diagnostic (path may be NULL or "").  Returns 0, or -ENOMEM
 * (the entry is then lost but still counted).
 */
int cfg_diags_add(struct cfg_diags *d, enum cfg_severity sev, struct cfg_pos pos,
                  const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Appends one line (without newline) to out:
 *   FILE:LINE:COL: error: (job / my job / task): field 'server' is required
 *   FILE:LINE:COL: warning: (...): ...
 * The "(path): " part is left out when path is empty, "LINE:COL:" when the
 * position is unknown.  Returns 0 or a buf_append error.
 */
int cfg_diag_format(const struct cfg_diag *diag, const char *file, struct buf *out);

/* ---------------------------------------------------------------------------
 * The model.  Everything is owned by the struct cfg_project (one arena) and
 * is read-only for users.  Strings are never NULL: an absent field is "".
 */

/* A repeated string field: n values with the position of each. */
struct cfg_strlist {
    size_t n;
    const char *const *v;
    const struct cfg_pos *pos;
};

/* Task kinds, in the field declaration order LUCI's reflection walks. */
enum cfg_task_kind {
    CFG_TASK_NONE = 0,
    CFG_TASK_NOOP,        /* Job and Trigger field 100 */
    CFG_TASK_URL_FETCH,   /* Job field 101 */
    CFG_TASK_BUILDBUCKET, /* Job field 103 */
    CFG_TASK_GITILES,     /* Trigger field 101 */
    CFG_TASK_GIT,         /* Trigger field 1001: tock's own, any git remote */
    _CFG_TASK_KIND_MAX,
};

/* LUCI's Go type name of a task kind, e.g. "*messages.BuildbucketTask". */
const char *cfg_task_kind_go_type(enum cfg_task_kind k);

struct cfg_noop_task {
    int64_t sleep_ms;
    int64_t triggers_count;
};

struct cfg_url_fetch_task {
    const char *method;
    const char *url;
    int32_t timeout_sec;
    struct cfg_pos method_pos, url_pos, timeout_sec_pos;
};

struct cfg_buildbucket_task {
    const char *server;
    const char *bucket;
    const char *builder;
    struct cfg_strlist properties; /* "key:value" */
    struct cfg_strlist tags;       /* "key:value" */
    struct cfg_pos server_pos, bucket_pos, builder_pos;
};

/* Longest url of a git task. */
#define CFG_GIT_URL_MAX 1000

/* A gitiles task, or a git task (repo is its url). */
struct cfg_gitiles_task {
    const char *repo;
    struct cfg_strlist refs;
    struct cfg_strlist path_regexps;
    struct cfg_strlist path_regexps_exclude;
    struct cfg_pos repo_pos;
};

/* TriggeringPolicy.Kind numbers. */
enum cfg_policy_kind {
    CFG_POLICY_UNDEFINED = 0,
    CFG_POLICY_GREEDY_BATCHING = 1,
    CFG_POLICY_LOGARITHMIC_BATCHING = 2,
    CFG_POLICY_NEWEST_FIRST = 3,
};

/*
 * A triggering_policy block as written (no defaults applied: 0 means
 * "default", see spec 1.5).  kind is the raw number, which may be any int32
 * (proto3 enums are open; validation rejects unknown ones).
 */
struct cfg_policy {
    bool present;
    int32_t kind;
    int64_t max_concurrent_invocations;
    int64_t max_batch_size;
    float log_base;
    int64_t pending_timeout_ns; /* seconds*1e9 + nanos, saturated to int64 */
    struct cfg_pos pos;         /* of the "triggering_policy" field name */
};

/* Deprecated Acl {role, granted_to}; role READER=0, OWNER=1, TRIGGERER=2. */
struct cfg_acl {
    int32_t role;
    const char *granted_to;
    struct cfg_pos pos;
};

struct cfg_acl_set {
    const char *name;
    size_t n_acls;
    const struct cfg_acl *acls;
    struct cfg_pos pos;
};

/* A job {} or trigger {} block. */
struct cfg_job {
    bool is_trigger;
    const char *id;
    const char *realm;              /* as written; "" = @legacy */
    const char *schedule;           /* as written; "" when absent */
    const char *effective_schedule; /* "triggered" / "with 30s interval" when absent */
    bool disabled;
    struct cfg_policy policy;

    /*
     * Task fields present, one bit (1u << kind) each.  task_kind is the
     * first present in declaration order, CFG_TASK_NONE if none.
     */
    unsigned tasks_present;
    enum cfg_task_kind task_kind;
    struct cfg_pos task_pos[_CFG_TASK_KIND_MAX]; /* of each task field name */
    struct cfg_noop_task noop;
    struct cfg_url_fetch_task url_fetch;
    struct cfg_buildbucket_task buildbucket;
    struct cfg_gitiles_task gitiles;
    struct cfg_gitiles_task git; /* repo is the git task's url */

    struct cfg_strlist triggers; /* triggers only: job names to trigger */

    size_t n_acls; /* deprecated, ignored */
    const struct cfg_acl *acls;
    struct cfg_strlist acl_sets; /* deprecated, ignored */

    struct cfg_pos pos; /* of the "job"/"trigger" field name */
    struct cfg_pos id_pos, realm_pos, schedule_pos, disabled_pos;
};

struct cfg_project {
    struct cfg_job *jobs; /* jobs and triggers, in file order */
    size_t n_jobs;        /* total entries in jobs */
    size_t n_regular;     /* of which job {} blocks */
    size_t n_triggers;    /* of which trigger {} blocks */
    const struct cfg_acl_set *acl_sets;
    size_t n_acl_sets;
    struct cfg_arena *arena; /* private: owns everything above */
};

/*
 * Parses protobuf text format of ProjectConfig from data[0..len) (data
 * need not be NUL-terminated; at most LIMIT_CONFIG_FILE_BYTES).  On success
 * returns 0 and a new project in *ret (free with cfg_project_free).  On a
 * syntax or schema error returns -EINVAL and appends exactly one error
 * diagnostic with its line:col to diags; *ret is untouched.  -EFBIG (with a
 * diagnostic) when len is over the limit, -ENOMEM when out of memory.
 */
int cfg_project_parse(const char *data, size_t len, struct cfg_project **ret,
                      struct cfg_diags *diags);

/* Frees a project; NULL is fine.  Returns NULL. */
struct cfg_project *cfg_project_free(struct cfg_project *p);

/* The first job or trigger with that id, or NULL. */
const struct cfg_job *cfg_project_find(const struct cfg_project *p, const char *id);

/* ---------------------------------------------------------------------------
 * Validation
 */

struct cfg_validate_options {
    /*
     * Report everything today's LUCI validator rejects as an error with
     * LUCI's message.  Off (tock's default), the legacy forms tock supports
     * (docs/config.md) are warnings.  Also forces schedule.strict_luci.
     */
    bool strict_luci;
    /* LUCI project name for realm ids and schedule job ids; NULL = "project". */
    const char *project;
    /*
     * Passed to schedule_parse for every schedule, with job_id set to
     * "<project>/<id>" (and strict_luci or-ed in).  NULL = all defaults.
     */
    const struct schedule_options *schedule;
};

/*
 * Validates a parsed project, appending every finding to diags in LUCI's
 * order (all jobs, then all triggers, checks in LUCI's order within each).
 * Returns the number of errors added (>= 0) or -ENOMEM.
 */
int cfg_validate(const struct cfg_project *p, const struct cfg_validate_options *opts,
                 struct cfg_diags *diags);

/* ---------------------------------------------------------------------------
 * Helpers for users of the model (valid after cfg_validate reported no error).
 */

/*
 * The job's realm name for realm ids: its realm, or "@legacy" when empty or
 * invalid (as LUCI does).
 */
const char *cfg_job_realm(const struct cfg_job *j);

/* Buildbucket builder id derived as in spec 4.1.2 (v2 form; parts over 255 bytes are cut). */
struct cfg_builder_id {
    char project[256];
    char bucket[256];
    char builder[256];
    /* The bucket was a legacy v1 name "luci.<project>.<bucket>". */
    bool legacy_v1;
};

/*
 * Derives the builder id of a buildbucket job in project.  Legacy v1 names
 * are accepted (legacy_v1 set) unless strict_luci.  Returns 0, or -EINVAL
 * with LUCI's message in reterr_msg.
 */
int cfg_builder_id(const struct cfg_buildbucket_task *t, const char *project,
                   const char *realm, bool strict_luci, struct cfg_builder_id *ret,
                   char *reterr_msg, size_t errlen);

/*
 * Writes the canonical form of a gitiles ref entry to out: a plain "main"
 * style name becomes "refs/heads/main", a glob "refs/tags/<star>" becomes
 * "regexp:refs/tags/[^/]+", anything else is copied.  Returns 0 or a
 * buf_append error.
 */
int cfg_gitiles_ref_normalize(const char *ref, struct buf *out);

#endif
