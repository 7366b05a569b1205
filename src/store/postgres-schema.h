/*
 * postgres-schema.h - the PostgreSQL schema as numbered migrations
 * (private to the postgres back end and its tests).
 *
 * The same version numbers as sqlite-schema.h: migration N of each
 * dialect moves a database from schema version N-1 to N with the same
 * meaning.  Append-only: never edit a published one, add the next (in both
 * dialects).  postgres.c runs the missing ones at open, under an advisory
 * lock, in one transaction with their schema_version rows.
 */
#ifndef TOCK_STORE_POSTGRES_SCHEMA_H
#define TOCK_STORE_POSTGRES_SCHEMA_H

#include "base/compat.h"

struct postgres_migration {
    int version;
    const char *description;
    const char *sql; /* one or more statements, no parameters */
};

/* The migrations in version order (1, 2, ...), and their count. */
extern const struct postgres_migration postgres_migrations[];
extern const size_t postgres_n_migrations;

#endif
