/*
 * sqlite-schema.c - the SQLite schema, one migration per version.
 *
 * Times are INTEGER nanoseconds since the epoch (0 = none); JSON-valued
 * columns are TEXT that only the engine reads.  Every column is NOT NULL
 * with a default, so an absent value is "" or 0, never NULL.
 */
#include "store/sqlite-schema.h"

static const char migration_1[] =
    "CREATE TABLE projects ("
    "  id TEXT PRIMARY KEY,"
    "  revision TEXT NOT NULL DEFAULT '',"
    "  revision_url TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  updated INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  realm_id TEXT NOT NULL DEFAULT '',"
    "  flavor INTEGER NOT NULL DEFAULT 0,"
    "  enabled INTEGER NOT NULL DEFAULT 0,"
    "  paused INTEGER NOT NULL DEFAULT 0,"
    "  paused_when INTEGER NOT NULL DEFAULT 0,"
    "  paused_by TEXT NOT NULL DEFAULT '',"
    "  paused_reason TEXT NOT NULL DEFAULT '',"
    "  revision TEXT NOT NULL DEFAULT '',"
    "  revision_url TEXT NOT NULL DEFAULT '',"
    "  schedule TEXT NOT NULL DEFAULT '',"
    "  task_json TEXT NOT NULL DEFAULT '',"
    "  policy_json TEXT NOT NULL DEFAULT '',"
    "  triggered_json TEXT NOT NULL DEFAULT '[]',"
    "  cron_json TEXT NOT NULL DEFAULT '',"
    "  active_json TEXT NOT NULL DEFAULT '[]',"
    "  finished_json TEXT NOT NULL DEFAULT '[]',"
    "  last_triage INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX jobs_by_project ON jobs (project, enabled);"
    "CREATE TABLE invocations ("
    "  id INTEGER PRIMARY KEY,"
    "  job_id TEXT NOT NULL,"
    "  realm_id TEXT NOT NULL DEFAULT '',"
    "  started INTEGER NOT NULL DEFAULT 0,"
    "  finished INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL,"
    "  triggered_by TEXT NOT NULL DEFAULT '',"
    "  request_json TEXT NOT NULL DEFAULT '',"
    "  task_json TEXT NOT NULL DEFAULT '',"
    "  revision TEXT NOT NULL DEFAULT '',"
    "  revision_url TEXT NOT NULL DEFAULT '',"
    "  triggered_json TEXT NOT NULL DEFAULT '[]',"
    "  debug_log TEXT NOT NULL DEFAULT '',"
    "  retry_count INTEGER NOT NULL DEFAULT 0,"
    "  view_url TEXT NOT NULL DEFAULT '',"
    "  task_data_json TEXT NOT NULL DEFAULT '',"
    "  mutations INTEGER NOT NULL DEFAULT 0,"
    "  aborted_by TEXT NOT NULL DEFAULT '',"
    "  timers_json TEXT NOT NULL DEFAULT '[]',"
    "  outgoing_json TEXT NOT NULL DEFAULT '[]'"
    ");"
    "CREATE INDEX invocations_by_job ON invocations (job_id, id);"
    "CREATE TABLE pending_triggers ("
    "  job_id TEXT NOT NULL,"
    "  trigger_id TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  ord INTEGER NOT NULL,"
    "  json TEXT NOT NULL,"
    "  PRIMARY KEY (job_id, trigger_id)"
    ");"
    "CREATE INDEX pending_triggers_order ON pending_triggers (job_id, created, ord, trigger_id);"
    "CREATE TABLE trigger_tombstones ("
    "  job_id TEXT NOT NULL,"
    "  trigger_id TEXT NOT NULL,"
    "  popped_at INTEGER NOT NULL,"
    "  PRIMARY KEY (job_id, trigger_id)"
    ");"
    "CREATE INDEX trigger_tombstones_age ON trigger_tombstones (popped_at);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  job_id TEXT NOT NULL DEFAULT '',"
    "  inv_id INTEGER NOT NULL DEFAULT 0,"
    "  payload_json TEXT NOT NULL DEFAULT '',"
    "  due INTEGER NOT NULL,"
    "  dedup_key TEXT NOT NULL DEFAULT '',"
    "  lease_owner TEXT NOT NULL DEFAULT '',"
    "  lease_expiry INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE UNIQUE INDEX tasks_dedup ON tasks (dedup_key) WHERE dedup_key != '';"
    "CREATE INDEX tasks_due ON tasks (lease_owner, due, id);"
    "CREATE TABLE trigger_fates ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id TEXT NOT NULL,"
    "  trigger_id TEXT NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  url TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL DEFAULT 0,"
    "  fate TEXT NOT NULL,"
    "  inv_id INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  decided_at INTEGER NOT NULL DEFAULT 0,"
    "  arrived_at INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX trigger_fates_by_trigger ON trigger_fates (job_id, trigger_id, id);"
    "CREATE INDEX trigger_fates_by_job ON trigger_fates (job_id, id);"
    "CREATE INDEX trigger_fates_age ON trigger_fates (decided_at, arrived_at);"
    "CREATE TABLE triage_logs ("
    "  job_id TEXT PRIMARY KEY,"
    "  when_ns INTEGER NOT NULL,"
    "  log TEXT NOT NULL"
    ");";

/*
 * Leased task rows are few (one per running handler, plus any a dead worker
 * left); a partial index over them keeps the expired-lease and next-due
 * queries from scanning every queued row (100,000 cron ticks, say).  The
 * queries' "lease_owner != ''" must stay written exactly like this WHERE.
 */
static const char migration_2[] =
    "CREATE INDEX tasks_leased ON tasks (lease_expiry) WHERE lease_owner != '';";

/*
 * Named secrets (store_secret_get/put): the engine's HMAC key for Pub/Sub
 * push tokens, its previous value (accepted for a grace period after a
 * rotation) and when it was rotated.
 */
static const char migration_3[] =
    "CREATE TABLE secrets ("
    "  name TEXT PRIMARY KEY,"
    "  current TEXT NOT NULL DEFAULT '',"
    "  previous TEXT NOT NULL DEFAULT '',"
    "  rotated INTEGER NOT NULL DEFAULT 0"
    ");";

/*
 * Per-job task manager state (store_job_state_get/put): one opaque text
 * per job, e.g. the gitiles poller's known ref tips.
 */
static const char migration_4[] =
    "CREATE TABLE job_states ("
    "  job_id TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL DEFAULT ''"
    ");";

/*
 * Paged job listings (store_job_page, store_job_realms): a project's
 * enabled jobs by name, and by realm then name, so a page and the list of
 * a project's realms cost index seeks, not a scan of the project.  The
 * (project, enabled) index is a prefix of both.
 */
static const char migration_5[] =
    "CREATE INDEX IF NOT EXISTS jobs_by_project_name ON jobs (project, enabled, name);"
    "CREATE INDEX IF NOT EXISTS jobs_by_realm ON jobs (project, enabled, realm_id, name);"
    "DROP INDEX IF EXISTS jobs_by_project;";

/*
 * PostgreSQL's migration 6 sets the task queue's autovacuum; SQLite has
 * none (freed pages are reused at once): the version keeps the two lists
 * in step, as their rule asks.
 */
static const char migration_6[] = "";

const struct sqlite_migration sqlite_migrations[] = {
    {.version = 1, .description = "projects, jobs, invocations, triggers, tasks, fates",
     .sql = migration_1},
    {.version = 2, .description = "partial index over leased task rows", .sql = migration_2},
    {.version = 3, .description = "secrets", .sql = migration_3},
    {.version = 4, .description = "per-job task manager state", .sql = migration_4},
    {.version = 5, .description = "paged job listings", .sql = migration_5},
    {.version = 6, .description = "the task queue vacuumed early (PostgreSQL only)",
     .sql = migration_6},
};

const size_t sqlite_n_migrations = ARRAY_SIZE(sqlite_migrations);
