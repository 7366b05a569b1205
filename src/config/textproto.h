/*
 * textproto.h - a schema-driven reader of protobuf text format.
 *
 * The reader walks a memory buffer against a table of message descriptors
 * and reports what it finds to a handler (SAX style): the start and end of
 * every message field and the decoded value of every scalar field.  It
 * builds nothing itself, so the caller decides what to keep and where.
 *
 * Grammar (what golang/protobuf's text parser accepts, which LUCI uses):
 *   message   := { field [ "," | ";" ] }
 *   field     := name ":" scalar | name [":"] msgval
 *              | name ":" "[" [ value { "," value } ] "]"     (repeated only)
 *   msgval    := "{" message "}" | "<" message ">"
 *   scalar    := string { string } | identifier-or-number
 *   string    := '"' ... '"' | "'" ... "'"   with C escapes
 *                \a \b \f \n \r \t \v \\ \' \" \? \ooo \xHH \uHHHH \UHHHHHHHH
 *   comments  := "#" to end of line
 * Integers: optional sign, decimal, 0x hex, 0o/leading-0 octal, 0b binary,
 * range-checked.  Floats: decimal, exponent, trailing "f", inf, nan.
 * Bools: true/True/t/1, false/False/f/0.  Enums: by name or by number.
 * A non-repeated field may appear once.  Reserved names of a message are
 * skipped together with their value, whatever it is.
 *
 * Hostile input: input over LIMIT_CONFIG_FILE_BYTES, nesting deeper than
 * LIMIT_CONFIG_NESTING, strings over LIMIT_CONFIG_STRING_BYTES, NUL bytes,
 * invalid UTF-8 in strings, unterminated strings: each is an error with
 * line:col.  The first error stops the parse.
 *
 * Pure: no I/O, no globals.  One scratch buffer is allocated per parse.
 */
#ifndef TOCK_CONFIG_TEXTPROTO_H
#define TOCK_CONFIG_TEXTPROTO_H

#include "base/compat.h"
#include "config/config.h"

enum tp_type {
    TP_STRING,
    TP_INT32,
    TP_INT64,
    TP_BOOL,
    TP_FLOAT,
    TP_ENUM,
    TP_MESSAGE,
};

struct tp_enum_value {
    const char *name;
    int32_t number;
};

struct tp_enum {
    const char *full_name;
    const struct tp_enum_value *values;
    size_t n_values;
};

struct tp_message;

struct tp_field {
    const char *name;
    uint32_t number;
    enum tp_type type;
    bool repeated;
    const struct tp_enum *enum_type;     /* TP_ENUM only */
    const struct tp_message *msg_type;   /* TP_MESSAGE only */
    int id;                              /* the handler's own tag */
};

struct tp_message {
    const char *full_name;
    const struct tp_field *fields;
    size_t n_fields;               /* at most 64 */
    const char *const *reserved;   /* NULL-terminated names, or NULL */
};

/* A decoded scalar.  s is valid only during the callback. */
struct tp_value {
    const char *s; /* TP_STRING: NUL-terminated, valid UTF-8, no NUL inside */
    size_t len;
    int64_t i;     /* TP_INT32, TP_INT64, TP_ENUM */
    bool b;        /* TP_BOOL */
    float f;       /* TP_FLOAT */
};

/*
 * Callbacks.  Each returns 0 to go on, or a negative errno to stop the
 * parse (tp_parse returns it; the handler reports its own diagnostic).
 */
struct tp_handler {
    int (*begin)(void *ctx, const struct tp_field *f, struct cfg_pos pos);
    int (*end)(void *ctx, const struct tp_field *f);
    int (*scalar)(void *ctx, const struct tp_field *f, const struct tp_value *v,
                  struct cfg_pos pos);
    void *ctx;
};

/*
 * Parses data[0..len) as the message root.  Returns 0, -EINVAL on a syntax
 * or schema error (then the message is written to reterr_msg and its place
 * to *reterr_pos), -EFBIG when len is over LIMIT_CONFIG_FILE_BYTES (also
 * with a message), -ENOMEM, or a handler's error.
 */
int tp_parse(const char *data, size_t len, const struct tp_message *root,
             const struct tp_handler *h, struct cfg_pos *reterr_pos, char *reterr_msg,
             size_t errlen);

/* The schema of scheduler.config.ProjectConfig (config/schema.c). */
extern const struct tp_message cfg_schema_project;

/* Handler tags of the schema's fields. */
enum cfg_field_id {
    CF_NONE = 0,
    CF_PROJECT_JOB,
    CF_PROJECT_TRIGGER,
    CF_PROJECT_ACL_SETS,
    CF_ID,
    CF_REALM,
    CF_SCHEDULE,
    CF_DISABLED,
    CF_ACLS,
    CF_ACL_SETS_NAMES,
    CF_POLICY,
    CF_TASK_NOOP,
    CF_TASK_URL_FETCH,
    CF_TASK_BUILDBUCKET,
    CF_TASK_GITILES,
    CF_TASK_GIT,
    CF_TRIGGERS,
    CF_POLICY_KIND,
    CF_POLICY_MAX_CONCURRENT,
    CF_POLICY_MAX_BATCH,
    CF_POLICY_LOG_BASE,
    CF_POLICY_PENDING_TIMEOUT,
    CF_DURATION_SECONDS,
    CF_DURATION_NANOS,
    CF_NOOP_SLEEP_MS,
    CF_NOOP_TRIGGERS_COUNT,
    CF_URL_METHOD,
    CF_URL_URL,
    CF_URL_TIMEOUT_SEC,
    CF_BB_SERVER,
    CF_BB_BUCKET,
    CF_BB_BUILDER,
    CF_BB_PROPERTIES,
    CF_BB_TAGS,
    CF_GT_REPO,
    CF_GT_REFS,
    CF_GT_PATH_REGEXPS,
    CF_GT_PATH_REGEXPS_EXCLUDE,
    CF_GIT_URL,
    CF_GIT_REFS,
    CF_GIT_PATH_REGEXPS,
    CF_GIT_PATH_REGEXPS_EXCLUDE,
    CF_ACL_ROLE,
    CF_ACL_GRANTED_TO,
    CF_ACLSET_NAME,
    CF_ACLSET_ACLS,
};

#endif
