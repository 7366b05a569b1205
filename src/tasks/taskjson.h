/*
 * taskjson.h - reading task definitions (protobuf JSON) in the managers.
 *
 * Private to src/tasks/.  protobuf JSON writes int64 as a string and int32
 * as a number, and readers accept both; an absent field is its default.
 */
#ifndef TOCK_TASKS_TASKJSON_H
#define TOCK_TASKS_TASKJSON_H

#include "base/compat.h"

#include <jansson.h>

/*
 * The body of a task definition: def's value under key (or under alt_key,
 * e.g. "urlFetch" / "url_fetch"), or NULL if absent or not an object.
 */
const json_t *taskjson_body(const json_t *def, const char *key, const char *alt_key);

/*
 * Reads integer field key of obj: a JSON integer or a string of decimal
 * digits with an optional '-'.  Absent or null gives 0.  Returns 0 and
 * *ret, or -EINVAL (wrong type, junk, out of int64 range; *ret untouched).
 */
int taskjson_int64(const json_t *obj, const char *key, int64_t *ret);

/* String field key of obj, or "" when absent or not a string. */
const char *taskjson_str(const json_t *obj, const char *key);

#endif
