/*
 * sqlite.h - the SQLite back end of store.h, for what must name it: the
 * store's own files (store.c's list of back ends) and its tests.  Everyone
 * else opens a store by URL ("sqlite:PATH", see store_open()) and sees
 * only store.h.
 *
 * "sqlite:PATH" opens or creates the database file PATH (":memory:" works
 * for one connection) and migrates its schema (sqlite-schema.h).
 */
#ifndef TOCK_STORE_SQLITE_H
#define TOCK_STORE_SQLITE_H

#include "store/store.h"

extern const struct store_ops store_sqlite_ops;

/* The schema version this binary writes (the highest migration it knows). */
int store_sqlite_schema_version(void);

#endif
