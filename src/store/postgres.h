/*
 * postgres.h - the PostgreSQL back end of store.h, for what must name it:
 * store.c's list of back ends and the store's tests.  Everyone else opens
 * a store by URL and sees only store.h.
 *
 * "postgres://..." and "postgresql://..." are libpq connection URIs, used
 * whole (user, host, port, dbname and every libpq parameter, e.g.
 * postgresql:///tock?host=/run/postgresql).  Opening connects once and
 * migrates the schema (postgres-schema.h) under an advisory lock, so
 * replicas that start together migrate once.
 */
#ifndef TOCK_STORE_POSTGRES_H
#define TOCK_STORE_POSTGRES_H

#include "store/store.h"

/* The same back end under its two URL schemes. */
extern const struct store_ops store_postgres_ops;   /* "postgres:" */
extern const struct store_ops store_postgresql_ops; /* "postgresql:" */

/* The schema version this binary writes (the highest migration it knows). */
int store_postgres_schema_version(void);

#endif
