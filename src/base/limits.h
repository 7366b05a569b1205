/*
 * limits.h - THE list of resource limits.
 *
 * Every buffer that grows with input, every loop that walks input, and every
 * recursion that follows input takes its bound from here, so that a hostile
 * or broken input meets a clear error instead of exhausting the machine.
 * Change a limit here, never at the use site.
 */
#ifndef TOCK_BASE_LIMITS_H
#define TOCK_BASE_LIMITS_H

/* Largest luci-scheduler.cfg we read.  The largest real one is 2.1 MB. */
#define LIMIT_CONFIG_FILE_BYTES (64u * 1024 * 1024)
/* Longest string literal (after concatenation) in a config file. */
#define LIMIT_CONFIG_STRING_BYTES (1u * 1024 * 1024)
/* Deepest message nesting in a config file (real files use 3). */
#define LIMIT_CONFIG_NESTING 32
/* Most errors reported for one file before the reader stops listing them. */
#define LIMIT_CONFIG_ERRORS 1000
/* Most jobs plus triggers in one project. */
#define LIMIT_JOBS_PER_PROJECT 100000
/* Most config files one `tock validate` or `tock plan` reads. */
#define LIMIT_CONFIG_FILES 10000

/* Longest schedule string (cron expression, interval, TZ prefix). */
#define LIMIT_SCHEDULE_LEN 1024
/* Longest time-zone name, and largest TZif file we read. */
#define LIMIT_TZ_NAME_LEN 128
#define LIMIT_TZIF_BYTES (256u * 1024)
/* Most distinct zones one time-zone database (tzdb.c) keeps loaded. */
#define LIMIT_TZ_ZONES 1024
/*
 * Most steps of one cron next-time search.  A search in UTC needs at most
 * about 12 * 130 steps (a month at a time up to 2099); a search in a zone
 * needs a few more per DST transition it crosses.
 */
#define LIMIT_CRON_STEPS 100000

/* Most fire times `tock schedule next` or `tock plan` prints. */
#define LIMIT_PLAN_TICKS 10000000

/* ---- the git poller (tasks/git/gitpoll.h) ---- */
/* Largest local cache of one git remote (the default of max_cache_bytes). */
#define LIMIT_GIT_CACHE_BYTES (4ull << 30)
/* Most files and directories the cache-size walk visits (past it: over the limit). */
#define LIMIT_GIT_CACHE_FILES 200000u
/* A remote's cache not polled for this long is removed (its job is gone or changed). */
#define LIMIT_GIT_CACHE_IDLE_SEC (14ll * 24 * 3600)
/* Shortest time between two sweeps of <data_dir>/git for idle caches. */
#define LIMIT_GIT_CACHE_SWEEP_SEC 3600

/* ---- HTTP server (net/http.h) and pRPC (net/prpc.h) ---- */
/* Largest request body a route reads (pRPC requests); over it the handler is told. */
#define LIMIT_HTTP_BODY_BYTES (1u * 1024 * 1024)
/* Most request headers kept per request; more make the request fail with 431. */
#define LIMIT_HTTP_HEADERS 64
/* Most headers one response sets. */
#define LIMIT_HTTP_RESPONSE_HEADERS 16
/* Largest response body a handler may produce. */
#define LIMIT_HTTP_RESPONSE_BYTES (32u * 1024 * 1024)
/* Most routes one server has. */
#define LIMIT_HTTP_ROUTES 64
/*
 * Connections (docs/limits.md).  LIMIT_HTTP_CONNECTIONS: most connections
 * served at once; LIMIT_HTTP_CONNECTIONS_PER_CLIENT: most of them from one
 * client address (IPv6: one /64); LIMIT_HTTP_OVERFLOW: connections past
 * either cap that are still accepted, only to be answered 503 (Retry-After:
 * LIMIT_HTTP_RETRY_AFTER_SEC) and closed, within LIMIT_HTTP_REFUSED_SEC.
 * LIMIT_HTTP_THREADS: the polling threads (handlers run on them).
 * LIMIT_HTTP_IDLE_SEC: libmicrohttpd's idle timeout (restarts on activity).
 * LIMIT_HTTP_HEADER_SEC: a whole request line plus headers must arrive
 * within this from the connection's start (a keep-alive request: from its
 * first byte); it does not restart.  A body must then arrive at
 * LIMIT_HTTP_BODY_MIN_RATE bytes/s on average once LIMIT_HTTP_BODY_GRACE_SEC
 * have passed.  LIMIT_HTTP_BACKLOG: the listen(2) backlog (the kernel also
 * caps it at net.core.somaxconn).
 */
#define LIMIT_HTTP_CONNECTIONS 4096
#define LIMIT_HTTP_CONNECTIONS_PER_CLIENT 256
#define LIMIT_HTTP_OVERFLOW 256
#define LIMIT_HTTP_REFUSED_SEC 2
#define LIMIT_HTTP_RETRY_AFTER_SEC 1
#define LIMIT_HTTP_THREADS 16
#define LIMIT_HTTP_IDLE_SEC 30
#define LIMIT_HTTP_HEADER_SEC 10
#define LIMIT_HTTP_BODY_GRACE_SEC 10
#define LIMIT_HTTP_BODY_MIN_RATE 4096
#define LIMIT_HTTP_BACKLOG 4096
/* How long the front door drains a client after answering it itself (net/http-front.h). */
#define LIMIT_HTTP_LINGER_MS 1000
/* Memory for one connection's request line and headers (libmicrohttpd pool). */
#define LIMIT_HTTP_HEADER_BYTES (64u * 1024)
/* Deepest JSON nesting a request body may have (checked before parsing). */
#define LIMIT_JSON_DEPTH 64
/* Longest error message a pRPC answer carries (the Go client cuts at 4096). */
#define LIMIT_PRPC_ERROR_BYTES 4096
/* Most methods one pRPC server registers. */
#define LIMIT_PRPC_METHODS 64

/* ---- identities, groups, tokens, realms (auth/auth.h) ---- */
/* Longest identity ("user:someone@example.com") or group name. */
#define LIMIT_IDENTITY_LEN 512
/* Largest --auth-tokens / --groups file, and realms.cfg. */
#define LIMIT_AUTH_FILE_BYTES (16u * 1024 * 1024)
/* Most lines in a tokens file, groups in a groups file, members in all groups. */
#define LIMIT_AUTH_TOKENS 100000
#define LIMIT_AUTH_GROUPS 10000
#define LIMIT_AUTH_MEMBERS 1000000
/* Deepest chain of nested groups followed (deeper chains are not members). */
#define LIMIT_AUTH_GROUP_DEPTH 32
/* Longest bearer token accepted. */
#define LIMIT_AUTH_TOKEN_LEN 8192
/* Most realms, bindings and custom roles in one project's realms.cfg. */
#define LIMIT_REALMS_PER_PROJECT 10000
/* Deepest realm "extends" / custom role "extends" chain followed. */
#define LIMIT_REALM_EXTENDS_DEPTH 32

/* ---- scheduler.Scheduler API (api/api.h) ---- */
/* GetInvocations page size: default and maximum (spec 5.2). */
#define LIMIT_API_INVOCATIONS_PAGE 50
/* Most batches, and most target jobs over all batches, in one EmitTriggers. */
#define LIMIT_API_EMIT_BATCHES 1000
#define LIMIT_API_EMIT_JOBS 1000
/* GetTriggerFates page size: default and maximum. */
#define LIMIT_API_FATES_PAGE 500
/* GetJobs page size: default and maximum (LUCI's page rule, as GetInvocations). */
#define LIMIT_API_JOBS_PAGE 50
/* Rate limits (--rate-limit N/s,BURST): largest N and BURST; most caller buckets kept. */
#define LIMIT_API_RATE_MAX 1000000
#define LIMIT_API_RATE_KEYS 10000

/* ---- store/ ---- */
#define LIMIT_STORE_URL 4096         /* longest store URL */
#define LIMIT_STORE_ROWS 1000000     /* most rows one list op returns */
#define LIMIT_STORE_PAGE 10000       /* most rows one paged op (store_job_page) returns */
#define LIMIT_STORE_TEXT (64u << 20) /* longest text/JSON column we accept */
#define LIMIT_STORE_GROUP_STEPS 256  /* lazy steps one group commit takes at most */
#define LIMIT_STORE_GROUP_WAIT_US 5000 /* longest a durable commit waits for others to join */
/* SQLite WAL checkpoints (store/sqlite-checkpoint.h): frames that wake the checkpointer, */
#define LIMIT_STORE_CHECKPOINT_FRAMES 4000    /* (16 MiB of 4 KiB pages) */
#define LIMIT_STORE_CHECKPOINT_IDLE_MS 2000   /* its idle re-check, */
#define LIMIT_STORE_CHECKPOINT_BACKSTOP 64000 /* and frames past which the writer checkpoints */
#define LIMIT_STORE_PG_POOL 64       /* most connections of one PostgreSQL store (tock_pool=N) */
#define LIMIT_STORE_LEASE_BATCH 256  /* rows one store_task_lease_batch() leases at most */
#define LIMIT_STORE_RENEW 256        /* leases one store_task_renew() renews at most */

/* ---- engine/ ---- */
#define LIMIT_ENGINE_RUN_DUE 1000000       /* tasks one engine_run_due() call handles */
#define LIMIT_ENGINE_CALL_BATCH 32         /* manager calls one durable commit precedes (tq.c) */
#define LIMIT_ENGINE_CALL_WAIT_MS 20       /* longest a parked manager call waits for its batch */
#define LIMIT_ENGINE_LEASE_BATCH 64        /* batch-kind tasks a worker leases at once */
#define LIMIT_ENGINE_LIST_JOBS 100000      /* jobs one engine_list_jobs() returns */
#define LIMIT_ENGINE_WALK_JOBS 1000000     /* jobs one engine_each_job() walk hands over */
#define LIMIT_ENGINE_EMIT_TRIGGERS 100000  /* triggers one engine_emit_triggers() takes */
#define LIMIT_ENGINE_PENDING_TRIGGERS 1000 /* pending triggers one triage considers (LUCI) */
#define LIMIT_ENGINE_STATE_CACHE_SLOTS 8        /* large job states the engine keeps parsed */
#define LIMIT_ENGINE_STATE_CACHE_MIN (64 << 10) /* smaller job states are parsed each time */
#define LIMIT_ENGINE_STATE_CACHE_MAX (4 << 20)  /* and so are larger ones */

/* ---- tasks/ ---- */
#define LIMIT_TASK_MANAGERS 32 /* most managers one registry holds */
/*
 * URL_FETCH_MAX_DUMP_BYTES: most body bytes url_fetch ever logs (the cap of
 * url_fetch_dump_bytes).  URL_FETCH_MAX_REDIRECTS: as Go's http.Client.
 * URL_FETCH_MAX_HEADERS / _HEADER_BYTES: a response with more is an error.
 * NOOP_MAX_TRIGGERS: most triggers one noop invocation emits (a larger
 * triggers_count is capped, with a log line).
 */
#define URL_FETCH_MAX_DUMP_BYTES (64u * 1024)
#define URL_FETCH_MAX_REDIRECTS 10
#define URL_FETCH_MAX_HEADERS 256
#define URL_FETCH_MAX_HEADER_BYTES (64u * 1024)
#define NOOP_MAX_TRIGGERS 10000
/*
 * buildbucket: BUILDBUCKET_MAX_TRIGGERS_PROPERTY: most triggers passed in
 * $recipe_engine/scheduler (LUCI's 100, crbug.com/1006914).
 * BUILDBUCKET_MAX_SERVERS: most Buildbucket hosts whose service account is
 * cached (more still work, uncached).  BUILDBUCKET_MAX_PUSH_DATA_BYTES: the
 * largest decoded Pub/Sub message data examined for a token.
 * BUILDBUCKET_MAX_LOG_JSON_BYTES: the largest JSON dump one debug-log line
 * holds (a longer one is cut with "...").
 */
#define BUILDBUCKET_MAX_TRIGGERS_PROPERTY 100
#define BUILDBUCKET_MAX_SERVERS 64
#define BUILDBUCKET_MAX_PUSH_DATA_BYTES (8u * 1024 * 1024)
#define BUILDBUCKET_MAX_LOG_JSON_BYTES (64u * 1024)

/* ---- web/ ---- */
/*
 * WEB_MAX_PAGE_BYTES: the largest page the web UI renders (a bigger one is
 * a 500; the debug log is bounded well below it).  WEB_CURSOR_MAP: how
 * many (job, cursor) -> previous cursor pairs the "Newer" links remember.
 */
#define WEB_MAX_PAGE_BYTES (16u * 1024 * 1024)
#define WEB_CURSOR_MAP 1024
/*
 * Sign-in and actions (docs/web.md): WEB_SESSIONS signed-in browser
 * sessions are kept in memory (past it the one expiring first is dropped),
 * each for WEB_SESSION_TTL_SEC; a form post (/actions/..., /login,
 * /logout) is at most WEB_FORM_BYTES; the name given to
 * --trust-proxy-header is shorter than WEB_PROXY_HEADER_NAME bytes (its
 * value is bounded by LIMIT_IDENTITY_LEN as an identity).
 */
#define WEB_SESSIONS 4096
#define WEB_SESSION_TTL_SEC (12 * 3600)
#define WEB_FORM_BYTES (8u * 1024)
#define WEB_PROXY_HEADER_NAME 64
/*
 * Sign-in attempts (POST /login, good or bad) per client address: at most
 * WEB_LOGIN_RATE a minute, in bursts of as many; past it 429 with
 * Retry-After.  The table keeps WEB_LOGIN_KEYS addresses (the least
 * recently used is forgotten).
 */
#define WEB_LOGIN_RATE 30
#define WEB_LOGIN_KEYS 10000
/*
 * WEB_ACTIVE_MAX: most active invocations the first job page lists above
 * the separator.  WEB_FATES_MAX: most trigger fates a page reads.
 */
#define WEB_ACTIVE_MAX 100
#define WEB_FATES_MAX 200
/* WEB_TIMELINE_MAX: invocations the job page's timeline draws. */
#define WEB_TIMELINE_MAX 50
/* WEB_CONFIG_URL_MAX: the longest --config-view-url template. */
#define WEB_CONFIG_URL_MAX 1024

/* ---- cli/ client ---- */
/*
 * A reply larger than CLIENT_MAX_REPLY_BYTES is refused with
 * RESOURCE_EXHAUSTED; error messages are cut at 4096 bytes as the Go client
 * does.  CLIENT_MAX_LIST: most invocations/fates one command lists, and
 * most --property/--tag options.
 */
#define CLIENT_MAX_REPLY_BYTES (32u * 1024 * 1024)
#define CLIENT_MAX_TOKEN_BYTES (64u * 1024)
#define CLIENT_MAX_ERROR_BYTES 4096
#define CLIENT_MAX_LIST 10000

/*
 * Metrics (base/metrics.h, docs/operations.md): distinct label sets one
 * counter family keeps (more fall into one "other" series), and the
 * longest label value kept (longer ones are cut).
 */
#define LIMIT_METRIC_SERIES 64
#define LIMIT_METRIC_LABEL_BYTES 64

#endif
