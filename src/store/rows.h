/*
 * rows.h - the columns of every row type of store.h, one table per row
 * type, and the column descriptors generated from them (private to the
 * store and its back ends).
 *
 * Each table is an X-macro with one line per column,
 *
 *     X(sep, column, field, role)
 *
 * in the order back ends read them.  From it come the descriptors below
 * (struct col: name, field offset, C type), by which rows.c releases every
 * row type and a back end reads and binds them, and, in each back end, its
 * column lists (sqlite-columns.h for SQLite).  Adding a column is one line
 * here, plus its field in store.h and a migration in each back end's
 * schema (sqlite-schema.c).  Every string field of a row struct is a
 * column (the generic release frees exactly those).
 *
 * sep      FIRST on the first line of a table, NEXT on the others (where
 *          the ", " of a list goes).
 * column   the column's name; field, the member of the row struct (the
 *          same but for pending_triggers.ord, ORDER being an SQL keyword).
 *          The C type of the field picks the reader and binder: char *
 *          (text, NULL stored as ""), int64_t, int, bool (integers).
 * role     DATA   an ordinary column.
 *          ARRAY  a JSON array text: a NULL field is stored as "[]".
 *          KEY    the row's key: in no UPDATE's SET list.
 *          AUTO   the key the database assigns: an INSERT passes NULL.
 *          FIXED  in no generated SET list (its own statement writes it).
 *          BIG    read as '' by listings (the debug log).
 *
 * Threads: everything here is constant, safe from any thread.
 */
#ifndef TOCK_STORE_ROWS_H
#define TOCK_STORE_ROWS_H

#include "store/store.h"

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

/* ROLE(role, if DATA, if ARRAY, if KEY, if AUTO, if FIXED, if BIG) */
#define ROLE(r, d, y, k, a, f, b) ROLE_##r(d, y, k, a, f, b)
#define ROLE_DATA(d, y, k, a, f, b) d
#define ROLE_ARRAY(d, y, k, a, f, b) y
#define ROLE_KEY(d, y, k, a, f, b) k
#define ROLE_AUTO(d, y, k, a, f, b) a
#define ROLE_FIXED(d, y, k, a, f, b) f
#define ROLE_BIG(d, y, k, a, f, b) b

/* What a NULL text field is stored as. */
#define COL_NULL_TEXT(r) ROLE(r, "", "[]", "", "", "", "")

enum col_type { COL_TEXT, COL_I64, COL_INT, COL_BOOL };

/* A column of a row type. */
struct col {
    const char *name;      /* "column" */
    const char *param;     /* ":column", its named parameter */
    size_t off;            /* of its field in the row struct */
    enum col_type type;    /* the C type of that field */
    const char *null_text; /* what a NULL text field is stored as */
};

/* A row type: its columns in table order and the size of its struct. */
struct row_kind {
    const struct col *cols;
    size_t n;
    size_t size;
};

extern const struct row_kind store_project_kind;
extern const struct row_kind store_job_kind;
extern const struct row_kind store_inv_kind;
extern const struct row_kind store_trigger_kind;
extern const struct row_kind store_task_kind;
extern const struct row_kind store_fate_kind;
extern const struct row_kind store_secret_kind;
/* A row of one string, the "id" column: the ids of store_project_list(). */
extern const struct row_kind store_id_kind;

/* Frees the string fields of row (of kind k) and zeroes it.  NULL-safe. */
void store_row_release(const struct row_kind *k, void *row);
/* Releases n rows of kind k and frees the array.  NULL-safe. */
void store_rows_free(const struct row_kind *k, void *v, size_t n);

/*
 * ids[0..n) as one text for a back end to bind: open, the decimal ids
 * separated by commas, close ('[' ']': a JSON array for SQLite's
 * json_each; '{' '}': a PostgreSQL array literal).  malloc'ed, NULL when
 * out of memory.
 */
char *store_ids_text(const int64_t *ids, size_t n, char open, char close);

#endif
