/*
 * pg-test.h - what the PostgreSQL store tests share: a connection of the
 * test's own (outside the store under test), one statement run on it, and
 * a fresh schema per case whose URL makes it the store's search_path.
 * Failures end the test (cmocka's fail_msg).  Header-only: static inline.
 */
#ifndef TOCK_TESTS_PG_TEST_H
#define TOCK_TESTS_PG_TEST_H

#include <libpq-fe.h>
#include <unistd.h>

static inline void pg_test_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* A new connection to url (notices silenced); the caller PQfinish()es it. */
static inline PGconn *pg_test_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
    PQsetNoticeProcessor(c, pg_test_quiet, NULL);
    return c;
}

/* Runs sql on url; the first column of the first row as an integer (-1: no row). */
static inline int64_t pg_test_run(const char *url, const char *sql)
{
    PGconn *c = pg_test_connect(url);
    PGresult *res = PQexec(c, sql);
    int64_t v = -1;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

/*
 * Creates the empty schema <prefix>_<pid>_<n> (n counts the calls) on
 * base into schema, and the URL of base with that schema as search_path
 * into url.
 */
static inline void pg_test_schema(const char *base, const char *prefix, char *schema,
                                  size_t schema_len, char *url, size_t url_len)
{
    static int n;
    char sql[256];

    snprintf(schema, schema_len, "%s_%ld_%d", prefix, (long)getpid(), ++n);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
             schema);
    pg_test_run(base, sql);
    snprintf(url, url_len, "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
             schema);
}

#endif
