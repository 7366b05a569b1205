/*
 * sqlite-columns.h - the columns of each SQLite table that holds a row
 * type of store.h, one table per row type (private to sqlite.c).
 *
 * Each table below is an X-macro with one line per column,
 *
 *     X(sep, column, field, role)
 *
 * in the order the SELECTs read them.  sqlite.c generates from it, at
 * compile time, every column list of its statements (SELECT, INSERT, the
 * SET list of an UPDATE, the listing of invocations without their debug
 * log) with one named parameter ":column" per column, and the column
 * descriptors (struct col: parameter, field offset, C type) by which one
 * reader and one binder handle every row type.  Adding a column is one
 * line here, plus its field in store.h (and its free() in store.c's
 * release function if it is a string) and a migration in sqlite-schema.c.
 *
 * sep      FIRST on the first line of a table, NEXT on the others (where
 *          the ", " of a list goes).
 * column   the SQL column name; field, the member of the row struct (the
 *          same but for pending_triggers.ord, ORDER being an SQL keyword).
 *          The C type of the field picks the reader and binder: char *
 *          (TEXT, NULL stored as ""), int64_t, int, bool (INTEGER).
 * role     DATA   an ordinary column.
 *          ARRAY  a JSON array text: a NULL field is stored as "[]".
 *          KEY    the row's key: in no UPDATE's SET list.
 *          AUTO   the key SQLite assigns: an INSERT passes NULL.
 *          FIXED  in no generated SET list (its own statement writes it).
 *          BIG    read as '' by listings (the debug log).
 */
#ifndef TOCK_STORE_SQLITE_COLUMNS_H
#define TOCK_STORE_SQLITE_COLUMNS_H

#define PROJECT_COLUMNS(X)                  \
    X(FIRST, id, id, KEY)                   \
    X(NEXT, revision, revision, DATA)       \
    X(NEXT, revision_url, revision_url, DATA) \
    X(NEXT, enabled, enabled, DATA)         \
    X(NEXT, updated, updated, DATA)

#define JOB_COLUMNS(X)                          \
    X(FIRST, id, id, KEY)                       \
    X(NEXT, project, project, DATA)             \
    X(NEXT, name, name, DATA)                   \
    X(NEXT, realm_id, realm_id, DATA)           \
    X(NEXT, flavor, flavor, DATA)               \
    X(NEXT, enabled, enabled, DATA)             \
    X(NEXT, paused, paused, DATA)               \
    X(NEXT, paused_when, paused_when, DATA)     \
    X(NEXT, paused_by, paused_by, DATA)         \
    X(NEXT, paused_reason, paused_reason, DATA) \
    X(NEXT, revision, revision, DATA)           \
    X(NEXT, revision_url, revision_url, DATA)   \
    X(NEXT, schedule, schedule, DATA)           \
    X(NEXT, task_json, task_json, DATA)         \
    X(NEXT, policy_json, policy_json, DATA)     \
    X(NEXT, triggered_json, triggered_json, ARRAY) \
    X(NEXT, cron_json, cron_json, DATA)         \
    X(NEXT, active_json, active_json, ARRAY)    \
    X(NEXT, finished_json, finished_json, ARRAY) \
    X(NEXT, last_triage, last_triage, DATA)

/*
 * aborted_by is FIXED: store_inv_update() never writes it (only
 * store_inv_set_aborted_by() does); mutations is FIXED because the
 * compare-and-set UPDATE writes it itself.
 */
#define INV_COLUMNS(X)                             \
    X(FIRST, id, id, KEY)                          \
    X(NEXT, job_id, job_id, DATA)                  \
    X(NEXT, realm_id, realm_id, DATA)              \
    X(NEXT, started, started, DATA)                \
    X(NEXT, finished, finished, DATA)              \
    X(NEXT, status, status, DATA)                  \
    X(NEXT, triggered_by, triggered_by, DATA)      \
    X(NEXT, request_json, request_json, DATA)      \
    X(NEXT, task_json, task_json, DATA)            \
    X(NEXT, revision, revision, DATA)              \
    X(NEXT, revision_url, revision_url, DATA)      \
    X(NEXT, triggered_json, triggered_json, ARRAY) \
    X(NEXT, debug_log, debug_log, BIG)             \
    X(NEXT, retry_count, retry_count, DATA)        \
    X(NEXT, view_url, view_url, DATA)              \
    X(NEXT, task_data_json, task_data_json, DATA)  \
    X(NEXT, mutations, mutations, FIXED)           \
    X(NEXT, aborted_by, aborted_by, FIXED)         \
    X(NEXT, timers_json, timers_json, ARRAY)       \
    X(NEXT, outgoing_json, outgoing_json, ARRAY)

#define TRIGGER_COLUMNS(X)                  \
    X(FIRST, job_id, job_id, KEY)           \
    X(NEXT, trigger_id, trigger_id, KEY)    \
    X(NEXT, created, created, DATA)         \
    X(NEXT, ord, order, DATA)               \
    X(NEXT, json, json, DATA)

#define TASK_COLUMNS(X)                       \
    X(FIRST, id, id, AUTO)                    \
    X(NEXT, kind, kind, DATA)                 \
    X(NEXT, job_id, job_id, DATA)             \
    X(NEXT, inv_id, inv_id, DATA)             \
    X(NEXT, payload_json, payload_json, DATA) \
    X(NEXT, due, due, DATA)                   \
    X(NEXT, dedup_key, dedup_key, DATA)       \
    X(NEXT, lease_owner, lease_owner, DATA)   \
    X(NEXT, lease_expiry, lease_expiry, DATA) \
    X(NEXT, attempts, attempts, DATA)         \
    X(NEXT, created, created, DATA)

#define FATE_COLUMNS(X)                     \
    X(FIRST, id, id, AUTO)                  \
    X(NEXT, job_id, job_id, DATA)           \
    X(NEXT, trigger_id, trigger_id, DATA)   \
    X(NEXT, title, title, DATA)             \
    X(NEXT, url, url, DATA)                 \
    X(NEXT, created, created, DATA)         \
    X(NEXT, fate, fate, DATA)               \
    X(NEXT, inv_id, inv_id, DATA)           \
    X(NEXT, reason, reason, DATA)           \
    X(NEXT, decided_at, decided_at, DATA)   \
    X(NEXT, arrived_at, arrived_at, DATA)

#define SECRET_COLUMNS(X)               \
    X(FIRST, name, name, KEY)           \
    X(NEXT, current, current, DATA)     \
    X(NEXT, previous, previous, DATA)   \
    X(NEXT, rotated, rotated, DATA)

/* ---- what the tables generate ---- */

/* ROLE(role, if DATA, if ARRAY, if KEY, if AUTO, if FIXED, if BIG) */
#define ROLE(r, d, y, k, a, f, b) ROLE_##r(d, y, k, a, f, b)
#define ROLE_DATA(d, y, k, a, f, b) d
#define ROLE_ARRAY(d, y, k, a, f, b) y
#define ROLE_KEY(d, y, k, a, f, b) k
#define ROLE_AUTO(d, y, k, a, f, b) a
#define ROLE_FIXED(d, y, k, a, f, b) f
#define ROLE_BIG(d, y, k, a, f, b) b

#define SEP_FIRST
#define SEP_NEXT ", "

/* "a, b, c": every column. */
#define COL_NAME(sep, c, field, r) SEP_##sep #c
/* ":a, :b, :c": the VALUES of an INSERT of every column. */
#define COL_PARAM(sep, c, field, r) \
    SEP_##sep ROLE(r, ":" #c, ":" #c, ":" #c, "NULL", ":" #c, ":" #c)
/* ", a = :a, b = :b": what an UPDATE writes, after a first assignment of its own. */
#define COL_SET_ITEM(c) ", " #c " = :" #c
#define COL_SET(sep, c, field, r) \
    ROLE(r, COL_SET_ITEM(c), COL_SET_ITEM(c), , , , COL_SET_ITEM(c))
/* Every column, BIG ones as ''. */
#define COL_LISTED(sep, c, field, r) SEP_##sep ROLE(r, #c, #c, #c, #c, #c, "''")
/* What a NULL text field is stored as. */
#define COL_NULL_TEXT(r) ROLE(r, "", "[]", "", "", "", "")

#define COLUMNS(TABLE) TABLE(COL_NAME)
#define PARAMS(TABLE) TABLE(COL_PARAM)
#define SET_LIST(TABLE) TABLE(COL_SET)
#define LISTED_COLUMNS(TABLE) TABLE(COL_LISTED)

#endif
