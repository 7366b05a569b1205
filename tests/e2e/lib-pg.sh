# lib-pg.sh - what the e2e tests on PostgreSQL share (sourced after
# ../cli/lib.sh): the skip when the ctest fixture "pg" found no server,
# and a fresh database of the test's own on the fixture's cluster.

# pg_require: exits 77 (skipped) without a server or psql; else returns.
pg_require() {
    if [ -n "${TOCK_TEST_PG_SKIP:-}" ] && [ -f "$TOCK_TEST_PG_SKIP" ]; then
        echo "*** SKIPPED: no PostgreSQL server to test with ($(cat "$TOCK_TEST_PG_SKIP")) ***" >&2
        exit 77
    fi
    : "${TOCK_TEST_PG:?TOCK_TEST_PG must be the private cluster's URL (ctest fixture pg)}"
    command -v psql >/dev/null || { echo "*** SKIPPED: no psql ***" >&2; exit 77; }
}

# pg_fresh_db NAME: creates database NAME and sets $url to tock's URL for
# it (the fixture's URL names the database "postgres": the same server,
# our database; a pool of 4 connections).
pg_fresh_db() {
    psql -q "$TOCK_TEST_PG" -c "CREATE DATABASE $1" >/dev/null
    url=$(printf '%s' "$TOCK_TEST_PG" | sed "s|:///postgres?|:///$1?|")"&tock_pool=4"
}

# pg_drop_db NAME: drops it, whoever is still connected (for cleanup traps).
pg_drop_db() {
    psql -q "$TOCK_TEST_PG" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true
}
