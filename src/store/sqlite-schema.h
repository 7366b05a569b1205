/*
 * sqlite-schema.h - the SQLite schema as numbered migrations (private to
 * the sqlite back end and its tests).
 *
 * Migration N moves a database from schema version N-1 to N.  Migrations
 * are append-only: never edit a published one, add the next.  sqlite.c runs
 * the missing ones at open, each in its own transaction together with the
 * update of the schema_version table.
 */
#ifndef TOCK_STORE_SQLITE_SCHEMA_H
#define TOCK_STORE_SQLITE_SCHEMA_H

#include "base/compat.h"

struct sqlite_migration {
    int version;
    const char *description;
    const char *sql; /* one or more statements */
};

/* The migrations in version order (1, 2, ...), and their count. */
extern const struct sqlite_migration sqlite_migrations[];
extern const size_t sqlite_n_migrations;

#endif
