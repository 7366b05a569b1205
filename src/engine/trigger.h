/*
 * trigger.h - reading and making triggers in their JSON form.
 *
 * The internal trigger (luci-scheduler-spec.md 3.5; the shape is written
 * out in tasks/task.h) is a jansson object:
 *
 *   {"id", "jobId", "invocationId", "created" (RFC 3339), "orderInBatch",
 *    "title", "url", "emittedByUser", one payload of "cron", "webui",
 *    "noop", "gitiles", "buildbucket"}
 *
 * int64 fields are written as JSON strings and read from strings or
 * integers.  The public scheduler.Trigger form has only id, title, url and
 * the payload.
 *
 * Pure: no I/O, no clock (callers pass now).
 */
#ifndef TOCK_ENGINE_TRIGGER_H
#define TOCK_ENGINE_TRIGGER_H

#include "base/compat.h"

#include <jansson.h>

struct policy_trigger;

/* Longest trigger ID tock builds itself ("cron:v1:<int64>", web UI hex). */
#define TRIGGER_ID_BUILT_MAX 64

enum trigger_payload {
    TRIGGER_PAYLOAD_NONE,
    TRIGGER_PAYLOAD_CRON,
    TRIGGER_PAYLOAD_WEBUI,
    TRIGGER_PAYLOAD_NOOP,
    TRIGGER_PAYLOAD_GITILES,
    TRIGGER_PAYLOAD_BUILDBUCKET,
    TRIGGER_PAYLOAD_UNKNOWN, /* an object with a payload-looking key we don't know */
};

/*
 * The trigger's "id", or NULL if t is not an object or the id is missing,
 * not a string or empty.  Borrowed from t.
 */
const char *trigger_id(const json_t *t);

/*
 * Reads "created".  Returns 0 and sets *ret_ns (TIME_ZERO when absent), or
 * -EINVAL when it is not an RFC 3339 string.
 */
int trigger_parse_created(const json_t *t, int64_t *ret_ns);

/* "orderInBatch" (string or integer); 0 when absent or malformed. */
int64_t trigger_order_in_batch(const json_t *t);

/* "emittedByUser", or "" when absent.  Borrowed from t. */
const char *trigger_emitted_by_user(const json_t *t);

/*
 * Which payload t carries.  When ret_body is not NULL it receives the
 * payload object (borrowed), or NULL for NONE.
 */
enum trigger_payload trigger_payload_kind(const json_t *t, const json_t **ret_body);

/* The JSON key of a payload kind ("cron", ...), or NULL for NONE/UNKNOWN. */
const char *trigger_payload_key(enum trigger_payload k);

/*
 * Fills *ret with the trigger's id, created, orderInBatch and
 * emittedByUser (strings borrowed from t) for policy_run.  Returns 0, or
 * -EINVAL if the id is missing or created is malformed.
 */
int trigger_to_policy(const json_t *t, struct policy_trigger *ret);

/*
 * isTriggerOlder order as a comparison: created, then orderInBatch, then
 * id.  Negative when a is older.  Malformed fields compare as absent.
 */
int trigger_compare(const json_t *a, const json_t *b);

/*
 * Sorts v[0..n-1] oldest first (stable for equal triggers).  Returns 0, or
 * -ENOMEM with v unchanged.
 */
int trigger_sort(json_t **v, size_t n);

/*
 * Checks a trigger given to EmitTriggers (spec 5.3 step 2).  Returns 0, or
 * -EINVAL with LUCI's reason in err: "trigger id is required", "emitting
 * cron triggers through API is not allowed", "emitting web UI triggers
 * through API is not allowed", "unrecognized trigger payload".  The API
 * wraps it as `bad trigger #<index> ("<id>") - <reason>`.
 */
int trigger_validate_api(const json_t *pub, char *err, size_t errlen);

/*
 * Builds the internal form of a public trigger given to EmitTriggers:
 * id/title/url/payload of pub, created = now_ns, orderInBatch = order,
 * emittedByUser = identity (may be NULL or "").  Validates as
 * trigger_validate_api.  Returns 0 and a new object in *ret, -EINVAL with
 * err, or -ENOMEM.
 */
int trigger_from_api(const json_t *pub, int64_t now_ns, int64_t order, const char *identity,
                     json_t **ret, char *err, size_t errlen);

/*
 * The public form of an internal trigger: id, title, url and the payload,
 * where a noop payload loses its data (becomes {}).  Returns 0 and a new
 * object in *ret, -EINVAL if t has no id, or -ENOMEM.
 */
int trigger_to_public(const json_t *t, json_t **ret);

/*
 * The cron trigger of a tick: {"id": "cron:v1:<generation>", "created":
 * now, "orderInBatch": "0", "cron": {"generation": "<generation>"}}.
 * Returns 0 and a new object in *ret, or -ENOMEM.
 */
int trigger_new_cron(int64_t generation, int64_t now_ns, json_t **ret);

/*
 * The trigger of the web UI "Trigger" button: id = 16 lower-case hex
 * digits of rand64, created = now, title "Triggered via web UI",
 * emittedByUser = identity, payload webui{}.  Returns 0 or -ENOMEM.
 */
int trigger_new_webui(uint64_t rand64, int64_t now_ns, const char *identity, json_t **ret);

#endif
