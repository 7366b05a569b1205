/*
 * registry.h - task definitions from config, and the table of task managers.
 *
 * Three things live here:
 *
 * 1. task_def_from_config(): the task definition JSON of task.h built from
 *    a parsed config job, e.g. {"noop": {"sleepMs": "1000"}}.  The engine
 *    stores it with the job and hands it to the manager as ctl->task.
 *
 * 2. task_def_kind(): which manager a stored definition belongs to, by its
 *    one key ("urlFetch" -> "url_fetch").
 *
 * 3. struct task_registry: a small table of managers found by name.  The
 *    registry borrows the managers it is given; task_registry_default()
 *    builds one holding tock's own managers (noop, url_fetch) configured
 *    by struct task_options, and owns those.
 *
 *   struct task_registry *r = NULL;
 *   if (task_registry_default(NULL, &r) < 0) goto out;
 *   const struct task_manager *m = task_registry_find_for_def(r, def);
 *   ...
 *   r = task_registry_free(r);
 *
 * A registry is read-only once built: find() may be called from any number
 * of threads at once; add() must not race with anything.
 */
#ifndef TOCK_TASKS_REGISTRY_H
#define TOCK_TASKS_REGISTRY_H

#include "base/compat.h"
#include "base/limits.h"

#include <jansson.h>

#include "config/config.h"
#include "tasks/task.h"

/*
 * Builds the task definition of config job j (a job {} or trigger {}
 * block), in protobuf JSON form (lowerCamelCase names, int64 as strings,
 * fields at their default omitted):
 *   noop        {"noop": {"sleepMs": "1000", "triggersCount": "2"}}
 *   url_fetch   {"urlFetch": {"method": "GET", "url": "https://...", "timeoutSec": 30}}
 *   buildbucket {"buildbucket": {"server": "...", "bucket": "...", "builder": "...",
 *                                "properties": ["k:v"], "tags": ["k:v"]}}
 *   gitiles     {"gitiles": {"repo": "...", "refs": ["refs/heads/main"],
 *                            "pathRegexps": [...], "pathRegexpsExclude": [...]}}
 *   git         {"git": {"url": "...", "refs": [...], "pathRegexps": [...],
 *                        "pathRegexpsExclude": [...]}}   (tock's own)
 * Values are copied as written in the config (no defaults filled in: the
 * managers apply them).  On success stores a new object in *ret (caller
 * owns; json_decref) and returns 0.  Returns -ENOENT if j has no task,
 * -EINVAL if a string is not valid UTF-8, -ENOMEM; *ret untouched on
 * failure.
 */
int task_def_from_config(const struct cfg_job *j, json_t **ret);

/*
 * The manager name of a task definition: its one key mapped to the config
 * field name ("noop" -> "noop", "urlFetch" -> "url_fetch", "buildbucket",
 * "gitiles", "git"; snake_case "url_fetch" is accepted too).  Returns a static
 * string, or NULL if def is not an object with exactly one known key whose
 * value is an object.
 */
const char *task_def_kind(const json_t *def);

/*
 * The settings of tock's own managers.  A zeroed struct (or NULL where a
 * pointer is taken) means LUCI's defaults.
 */
struct task_options {
    /*
     * noop: how long a noop task runs when its sleep_ms is 0.  0 means
     * LUCI's 20 s.  Tests and demos shorten it.
     */
    int64_t noop_default_sleep_ns;
    /* url_fetch: timeout when the task's timeout_sec is 0.  0 means 60 s. */
    int32_t url_fetch_default_timeout_sec;
    /*
     * url_fetch: most body bytes shown in the debug log.  0 means LUCI's
     * 4096; capped at URL_FETCH_MAX_DUMP_BYTES.
     */
    size_t url_fetch_dump_bytes;
};

/*
 * The managers themselves, with ctx = NULL (LUCI's defaults).  They may be
 * registered as they are; task_registry_default() registers copies whose
 * ctx points at its struct task_options.  See noop.c and url_fetch.c for
 * their behaviour (and docs/tasks.md).
 */
extern const struct task_manager task_noop_manager;
extern const struct task_manager task_url_fetch_manager;

struct task_registry;

/* An empty registry, or NULL when out of memory.  Free with _free(). */
struct task_registry *task_registry_new(void);

/* Frees the registry (not borrowed managers).  NULL-safe; returns NULL. */
struct task_registry *task_registry_free(struct task_registry *r);

/*
 * Adds manager m, borrowed: it must outlive the registry.  Returns 0,
 * -EEXIST if a manager of that name is already there (the registry is
 * unchanged), -EINVAL if m has no name or no launch(), -E2BIG past
 * LIMIT_TASK_MANAGERS.
 */
int task_registry_add(struct task_registry *r, const struct task_manager *m);

/* The manager called name ("noop", "url_fetch", ...), or NULL. */
const struct task_manager *task_registry_find(const struct task_registry *r, const char *name);

/* The manager for a task definition (task_def_kind()), or NULL. */
const struct task_manager *task_registry_find_for_def(const struct task_registry *r,
                                                      const json_t *def);

/*
 * A registry holding noop and url_fetch configured by opts (copied; NULL =
 * all defaults).  Other rooms add their managers (buildbucket, gitiles)
 * with task_registry_add().  Returns 0 and stores it in *ret, or -ENOMEM.
 */
int task_registry_default(const struct task_options *opts, struct task_registry **ret);

#endif
