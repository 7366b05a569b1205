/*
 * rows.c - the row kinds generated from the tables of rows.h, and the
 * release functions of store.h's rows, which free exactly the string
 * columns; the text form of an id list the back ends bind.
 */
#include "store/rows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* The col_type of a field, from its C type (any other type does not compile). */
#define COL_TYPE_OF(e) \
    _Generic((e), char *: COL_TEXT, int64_t: COL_I64, int: COL_INT, bool: COL_BOOL)

/* The descriptor of a column of the row struct ROW (defined around ROW_KIND). */
#define COL_DESC(sep, c, field, r) \
    {#c, ":" #c, offsetof(ROW, field), COL_TYPE_OF(((ROW *)0)->field), COL_NULL_TEXT(r)},

/* Defines store_name_kind, the row_kind of struct ROW with the columns of TABLE. */
#define ROW_KIND(name, TABLE)                                  \
    static const struct col name##_cols[] = {TABLE(COL_DESC)}; \
    const struct row_kind store_##name##_kind = {name##_cols, ARRAY_SIZE(name##_cols), sizeof(ROW)}

#define ROW struct store_project
ROW_KIND(project, PROJECT_COLUMNS);
#undef ROW
#define ROW struct store_job
ROW_KIND(job, JOB_COLUMNS);
#undef ROW
#define ROW struct store_inv
ROW_KIND(inv, INV_COLUMNS);
#undef ROW
#define ROW struct store_trigger
ROW_KIND(trigger, TRIGGER_COLUMNS);
#undef ROW
#define ROW struct store_task
ROW_KIND(task, TASK_COLUMNS);
#undef ROW
#define ROW struct store_fate
ROW_KIND(fate, FATE_COLUMNS);
#undef ROW
#define ROW struct store_secret
ROW_KIND(secret, SECRET_COLUMNS);
#undef ROW

static const struct col id_cols[] = {{"id", ":id", 0, COL_TEXT, ""}};
const struct row_kind store_id_kind = {id_cols, 1, sizeof(char *)};

void store_row_release(const struct row_kind *k, void *row)
{
    if (!row)
        return;
    for (size_t i = 0; i < k->n; i++)
        if (k->cols[i].type == COL_TEXT)
            free(*(char **)((char *)row + k->cols[i].off));
    memset(row, 0, k->size);
}

void store_rows_free(const struct row_kind *k, void *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_row_release(k, (char *)v + i * k->size);
    free(v);
}

void store_project_release(struct store_project *p)
{
    store_row_release(&store_project_kind, p);
}

void store_job_release(struct store_job *j)
{
    store_row_release(&store_job_kind, j);
}

void store_inv_release(struct store_inv *v)
{
    store_row_release(&store_inv_kind, v);
}

void store_trigger_release(struct store_trigger *t)
{
    store_row_release(&store_trigger_kind, t);
}

void store_task_release(struct store_task *t)
{
    store_row_release(&store_task_kind, t);
}

void store_fate_release(struct store_fate *f)
{
    store_row_release(&store_fate_kind, f);
}

void store_secret_release(struct store_secret *s)
{
    store_row_release(&store_secret_kind, s);
}

void store_jobs_free(struct store_job *v, size_t n)
{
    store_rows_free(&store_job_kind, v, n);
}

void store_invs_free(struct store_inv *v, size_t n)
{
    store_rows_free(&store_inv_kind, v, n);
}

void store_triggers_free(struct store_trigger *v, size_t n)
{
    store_rows_free(&store_trigger_kind, v, n);
}

void store_tasks_free(struct store_task *v, size_t n)
{
    store_rows_free(&store_task_kind, v, n);
}

void store_fates_free(struct store_fate *v, size_t n)
{
    store_rows_free(&store_fate_kind, v, n);
}

char *store_ids_text(const int64_t *ids, size_t n, char open, char close)
{
    size_t cap = 3 + n * 21, len = 0; /* 20 digits and a sign, a comma each */
    char *s = malloc(cap);

    if (!s)
        return NULL;
    s[len++] = open;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, i ? ",%" PRId64 : "%" PRId64, ids[i]);
    s[len++] = close;
    s[len] = '\0';
    return s;
}
