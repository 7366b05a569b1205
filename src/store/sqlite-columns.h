/*
 * sqlite-columns.h - the SQLite column lists generated from the tables of
 * rows.h (private to sqlite.c), as string literals, so that every
 * statement stays one static string:
 *
 *   COLUMNS(JOB_COLUMNS)        "id, project, ..."
 *   PARAMS(JOB_COLUMNS)         ":id, :project, ..."   (AUTO: NULL)
 *   SET_LIST(INV_COLUMNS)       ", job_id = :job_id, ..." (no KEY, AUTO,
 *                               FIXED; follows an assignment of its own)
 *   LISTED_COLUMNS(INV_COLUMNS) as COLUMNS, a BIG column as ''
 *
 * sqlite.c binds rows by those parameter names (bind_row).
 */
#ifndef TOCK_STORE_SQLITE_COLUMNS_H
#define TOCK_STORE_SQLITE_COLUMNS_H

#include "store/rows.h"

#define SEP_FIRST
#define SEP_NEXT ", "

#define COL_NAME(sep, c, field, r) SEP_##sep #c
#define COL_PARAM(sep, c, field, r) \
    SEP_##sep ROLE(r, ":" #c, ":" #c, ":" #c, "NULL", ":" #c, ":" #c)
#define COL_SET_ITEM(c) ", " #c " = :" #c
#define COL_SET(sep, c, field, r) \
    ROLE(r, COL_SET_ITEM(c), COL_SET_ITEM(c), , , , COL_SET_ITEM(c))
#define COL_LISTED(sep, c, field, r) SEP_##sep ROLE(r, #c, #c, #c, #c, #c, "''")

#define COLUMNS(TABLE) TABLE(COL_NAME)
#define PARAMS(TABLE) TABLE(COL_PARAM)
#define SET_LIST(TABLE) TABLE(COL_SET)
#define LISTED_COLUMNS(TABLE) TABLE(COL_LISTED)

#endif
