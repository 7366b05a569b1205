/*
 * trigger.h - the one form of a trigger inside the engine (struct trigger)
 * and its two JSON forms.
 *
 * A trigger (luci-scheduler-spec.md 3.5) is a struct trigger from the
 * moment it enters the engine (engine_emit_triggers, a cron tick, the web
 * UI button, a manager's emit_trigger) through the pending set, the
 * triggering policy and the request builder.  It meets JSON only at the
 * edges, through one pair of functions per form:
 *
 *   internal JSON   trigger_to_json / trigger_from_json (and
 *                   trigger_from_row for a pending-set row): the shape
 *                   written out in tasks/task.h, which managers read in
 *                   ctl->request.incomingTriggers, the store keeps in the
 *                   pending set and the invocation rows, and fan-out tasks
 *                   carry:
 *     {"id", "jobId", "invocationId", "created" (RFC 3339), "orderInBatch",
 *      "title", "url", "emittedByUser", one payload of "cron", "webui",
 *      "noop", "gitiles", "buildbucket"}
 *   public JSON     trigger_to_public / trigger_from_public: the
 *                   scheduler.Trigger of the API, id, title, url and the
 *                   payload.
 *
 * int64 fields are written as JSON strings and read from strings or
 * integers; "orderInBatch" is always written, "created" unless absent.
 * A pending-set row keeps created and orderInBatch in columns too, and
 * trigger_from_row takes them from there: created never goes through text
 * between emit and the request builder.
 *
 * Pure: no I/O, no clock (callers pass now).  Not thread-safe per object.
 */
#ifndef TOCK_ENGINE_TRIGGER_H
#define TOCK_ENGINE_TRIGGER_H

#include "base/compat.h"

#include <jansson.h>

/* Longest trigger ID tock builds itself ("cron:v1:<int64>", web UI hex). */
#define TRIGGER_ID_BUILT_MAX 64

enum trigger_payload {
    TRIGGER_PAYLOAD_NONE,
    TRIGGER_PAYLOAD_CRON,
    TRIGGER_PAYLOAD_WEBUI,
    TRIGGER_PAYLOAD_NOOP,
    TRIGGER_PAYLOAD_GITILES,
    TRIGGER_PAYLOAD_BUILDBUCKET,
    TRIGGER_PAYLOAD_UNKNOWN, /* a payload-looking key we don't know, or two payloads */
};

/*
 * One trigger.  Strings are owned (malloc'ed); NULL means absent, except
 * id, which a decoded or built trigger always has (non-empty).
 */
struct trigger {
    char *id;
    char *job_id;           /* the emitting job ("jobId"), or NULL */
    int64_t invocation_id;  /* the emitting invocation, 0 = none */
    int64_t created;        /* ns since the epoch; TIME_ZERO = absent */
    int64_t order_in_batch;
    char *title;
    char *url;
    char *emitted_by_user;  /* identity; NULL = emitted by the service */
    enum trigger_payload kind;
    /*
     * The payload object for a known kind; for UNKNOWN an object holding
     * every key that is not a plain field (kept verbatim); NULL for NONE.
     * Owned (one reference).
     */
    json_t *payload;
};

/* Frees the fields of t and zeroes it; a zeroed t is fine. */
void trigger_release(struct trigger *t);

/* Releases n triggers and frees the array.  NULL-safe. */
void triggers_free(struct trigger *v, size_t n);

/* A deep copy of src in *ret.  Returns 0 or -ENOMEM (*ret untouched). */
int trigger_copy(const struct trigger *src, struct trigger *ret);

/* A growable array of triggers that owns its elements. */
struct trigger_vec {
    struct trigger *v;
    size_t n;
    size_t cap;
};

/*
 * Appends *t (taken: zeroed on success).  Returns 0, -E2BIG when the vector
 * already holds max triggers, or -ENOMEM; on failure *t is left alone.
 */
int trigger_vec_push(struct trigger_vec *vec, struct trigger *t, size_t max);

/* Releases every trigger and the array; the vector is empty afterwards. */
void trigger_vec_release(struct trigger_vec *vec);

/*
 * Decodes the internal JSON form.  Returns 0 with *ret filled, -EINVAL
 * (not an object, no non-empty string id, "created" not an RFC 3339
 * string) or -ENOMEM; *ret is untouched on failure.  A malformed
 * "orderInBatch" reads as 0.
 */
int trigger_from_json(const json_t *o, struct trigger *ret);

/*
 * Decodes an array of internal triggers (at most max) into vec (appended).
 * Returns 0, -EINVAL (not an array, or a bad trigger: vec keeps the ones
 * before it), -E2BIG or -ENOMEM.
 */
int trigger_vec_from_json(const json_t *arr, size_t max, struct trigger_vec *vec);

/*
 * Decodes a pending-set row: the internal JSON text with created and
 * orderInBatch taken from the row's columns (created 0 = absent), not
 * from the text.  A text that does not parse gives a stub with just id
 * (so a corrupt row can still be popped).  Returns 0 or -ENOMEM.
 */
int trigger_from_row(const char *json_text, const char *id, int64_t created, int64_t order,
                     struct trigger *ret);

/* Encodes the internal JSON form.  Returns 0 and a new object, or -ENOMEM. */
int trigger_to_json(const struct trigger *t, json_t **ret);

/* Encodes v[0..n-1] as a new JSON array.  Returns 0 or -ENOMEM. */
int triggers_to_json(const struct trigger *v, size_t n, json_t **ret);

/*
 * The public form: id, title, url and the payload, where a noop payload
 * loses its data (becomes {}) and an UNKNOWN one is left out.  Returns 0
 * and a new object, or -ENOMEM.
 */
int trigger_to_public(const struct trigger *t, json_t **ret);

/*
 * Checks a trigger given to EmitTriggers (spec 5.3 step 2).  Returns 0, or
 * -EINVAL with LUCI's reason in err: "trigger id is required", "emitting
 * cron triggers through API is not allowed", "emitting web UI triggers
 * through API is not allowed", "unrecognized trigger payload".  The API
 * wraps it as `bad trigger #<index> ("<id>") - <reason>`.
 */
int trigger_validate_api(const json_t *pub, char *err, size_t errlen);

/*
 * The trigger of a public scheduler.Trigger given to EmitTriggers:
 * id/title/url/payload of pub, created = now_ns, orderInBatch = order,
 * emittedByUser = identity (may be NULL or "").  Validates as
 * trigger_validate_api.  Returns 0 and *ret filled, -EINVAL with err, or
 * -ENOMEM.
 */
int trigger_from_public(const json_t *pub, int64_t now_ns, int64_t order, const char *identity,
                        struct trigger *ret, char *err, size_t errlen);

/*
 * isTriggerOlder as a qsort-style comparison: created, then orderInBatch,
 * then id (bytewise).  Negative when a is older.
 */
int trigger_compare(const struct trigger *a, const struct trigger *b);

/*
 * The cron trigger of a tick: id "cron:v1:<generation>", created now,
 * orderInBatch 0, payload cron {"generation": "<generation>"}.  Returns 0
 * or -ENOMEM.
 */
int trigger_new_cron(int64_t generation, int64_t now_ns, struct trigger *ret);

/*
 * The trigger of the web UI "Trigger" button: id = 16 lower-case hex
 * digits of rand64, created = now, title "Triggered via web UI",
 * emittedByUser = identity (NULL or "": none), payload webui{}.  Returns 0
 * or -ENOMEM.
 */
int trigger_new_webui(uint64_t rand64, int64_t now_ns, const char *identity,
                      struct trigger *ret);

/*
 * Which payload a JSON trigger carries.  When ret_body is not NULL it
 * receives the payload object (borrowed), or NULL for NONE and UNKNOWN.
 */
enum trigger_payload trigger_payload_kind(const json_t *t, const json_t **ret_body);

/* The JSON key of a payload kind ("cron", ...), or NULL for NONE/UNKNOWN. */
const char *trigger_payload_key(enum trigger_payload k);

#endif
