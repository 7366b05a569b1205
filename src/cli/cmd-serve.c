/*
 * cmd-serve.c - `tock serve`: the scheduler server.
 *
 * Wiring, in order: event log -> store (--db) -> task managers -> engine ->
 * auth (tokens, groups, per-project realms) -> configs (--config DIR) ->
 * HTTP server with the pRPC services -> engine workers.  Then the main
 * thread waits for signals: SIGHUP (and every --reload-interval) re-reads
 * the configs; SIGTERM/SIGINT stop accepting requests, let running work
 * finish (bounded) and exit 0.
 *
 * Signals are blocked before any thread starts, so only the main thread
 * (in sigtimedwait) ever sees them.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/time.h"
#include "cli/project-files.h"
#include "cli/projects.h"
#include "cli/serve-remote.h"
#include "config/config.h"
#include "engine/engine.h"
#include "net/http.h"
#include "schedule/tzdb.h"
#include "store/store.h"
#include "tasks/registry.h"
#include "web/web.h"

static const char serve_help[] =
    "usage: tock serve --config DIR [--db URL] [--listen HOST:PORT] [options]\n"
    "\n"
    "Runs the scheduler: reads every DIR/<project>/luci-scheduler.cfg (and\n"
    "realms.cfg), runs the jobs, and serves LUCI's scheduler.Scheduler pRPC API\n"
    "at http://HOST:PORT/prpc/.  Configs are re-read on SIGHUP and every\n"
    "--reload-interval; a file that does not parse changes nothing.  SIGTERM or\n"
    "SIGINT stops it cleanly.\n"
    "\n"
    "options:\n"
    "  --config DIR            one folder per project (required)\n"
    "  --db URL                store: sqlite:PATH (default sqlite:./tock.db), or\n"
    "                          postgres://user@host:port/dbname?... (libpq's URL;\n"
    "                          tock_pool=N connections, default 8)\n"
    "  --listen HOST:PORT      where to serve (default 127.0.0.1:8080; port 0 = any)\n"
    "  --auth-tokens FILE      bearer tokens: \"<token> user:a@example.com\" per line\n"
    "  --groups FILE           groups: \"name: member, member, group:other\" per line\n"
    "  --log-format F          text (default) or json\n"
    "  --reload-interval D     re-read configs this often (Go duration, default 60s)\n"
    "  --workers N             engine worker threads (default 4)\n"
    "  --triage-throttle D     at most one triage per job per D (default 2s, as LUCI)\n"
    "  --launch-delay D        delay between creating and launching invocations (1s)\n"
    "  --noop-sleep D          how long a noop task with sleep_ms 0 runs (20s)\n"
    "  --lease-time D          how long a worker owns a task it took (default 30s, 1s..1h;\n"
    "                          renewed every D/3 while a task manager call runs); with\n"
    "                          replicas on PostgreSQL, a dead replica's work runs\n"
    "                          elsewhere after this\n"
    "  --rotate-pubsub-key     make a new key for Pub/Sub push tokens at start (the old\n"
    "                          one is still accepted for 48 h)\n"
    "HTTP settings (docs/limits.md):\n"
    "  --http-threads N        polling/handler threads (default 16)\n"
    "  --http-max-connections N  connections served at once (default 4096)\n"
    "  --http-max-per-client N connections from one address or IPv6 /64 (default 256)\n"
    "  --http-header-timeout D request line + headers must arrive within D (10s)\n"
    "  --http-body-min-rate N  bytes/s a body must average after 10s (default 4096)\n"
    "  --http-idle-timeout D   close a connection silent for D (30s)\n"
    "  --http-keep-alive       keep connections open between requests (default: one\n"
    "                          request per connection, each checked by the front door)\n"
    "  --rate-limit N[/s|/m],BURST  per-caller limit on the expensive API calls (GetJobs,\n"
    "                          GetInvocation(s), EmitTriggers, ...); past it 429\n"
    "                          RESOURCE_EXHAUSTED (default off; e.g. 20/s,100)\n"
    "Web UI sign-in (docs/web.md; browsers sign in at /login with an --auth-tokens token):\n"
    "  --trust-proxy-header H  behind an authenticating proxy: the identity is\n"
    "                          user:<value of header H> (e.g. X-Forwarded-Email)...\n"
    "  --trusted-proxy CIDR    ...only when the peer address is in CIDR (required\n"
    "                          with --trust-proxy-header; e.g. 127.0.0.1/32)\n"
    "  --config-view-url T     link the pages' \"Definition (rev X)\" to T with {rev},\n"
    "                          {project} and {path} filled in, e.g.\n"
    "                          https://git.example.com/cfg/+/{rev}/{path}\n"
    ;
static const char serve_help_tail[] =
    "\n"
    "example:\n"
    "  tock serve --config examples/ --db sqlite:/tmp/tock.db --listen 127.0.0.1:8080\n";

static void serve_usage(FILE *f)
{
    fputs(serve_help, f);
    fputs(serve_remote_help, f);
    fputs(serve_help_tail, f);
}

struct serve {
    const char *config_dir;
    struct engine *engine;
    struct auth *auth;
    /* Projects applied by this process, with the revision applied. */
    struct project_revision_seen {
        char name[256];
        char revision[PROJECT_REVISION_MAX];
    } *seen;
    size_t n_seen;
};

static struct project_revision_seen *serve_seen(struct serve *s, const char *name)
{
    for (size_t i = 0; i < s->n_seen; i++)
        if (strcmp(s->seen[i].name, name) == 0)
            return &s->seen[i];
    return NULL;
}

/* Parses, validates and applies one project.  Failures leave it as it was. */
static void serve_apply_project(struct serve *s, const struct project_source *p)
{
    struct cfg_diags diags;
    struct cfg_project *cfg = NULL;
    bool *invalid = NULL;
    char err[512];

    if (p->read_error[0]) {
        log_error("config", "project %s: %s; keeping its jobs as they are", p->name,
                  p->read_error);
        return;
    }
    struct project_revision_seen *seen = serve_seen(s, p->name);
    if (seen && strcmp(seen->revision, p->revision) == 0)
        return; /* unchanged since we applied it */

    cfg_diags_init(&diags);
    if (cfg_project_parse(p->cfg_text, p->cfg_len, &cfg, &diags) < 0) {
        for (size_t i = 0; i < diags.n; i++)
            log_error("config", "project %s: luci-scheduler.cfg:%u:%u: %s; nothing changes",
                      p->name, diags.v[i].pos.line, diags.v[i].pos.col, diags.v[i].message);
        goto out;
    }
    struct schedule_options sched = {.tz_load = tz_db_load, .tz_ctx = cli_tz_ctx()};
    struct cfg_validate_options vopts = {.project = p->name, .schedule = &sched};
    cfg_validate(cfg, &vopts, &diags);
    invalid = calloc(cfg->n_jobs ? cfg->n_jobs : 1, sizeof(bool));
    if (!invalid)
        goto out;
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        invalid[i] = cfg_diags_job_has_error(&diags, cfg->jobs[i].id);
        if (invalid[i])
            log_warn("config", "project %s: invalid job definition %s; skipping it", p->name,
                     cfg->jobs[i].id);
    }
    for (size_t i = 0; i < diags.n; i++)
        if (diags.v[i].severity == CFG_SEV_ERROR)
            log_warn("config", "project %s: luci-scheduler.cfg:%u:%u: (%s): %s", p->name,
                     diags.v[i].pos.line, diags.v[i].pos.col, diags.v[i].path,
                     diags.v[i].message);

    int r = engine_apply_project(s->engine, p->name, cfg, invalid, p->revision, "");
    if (r < 0) {
        log_error("config", "project %s: cannot apply the config: %s", p->name, strerror(-r));
        goto out;
    }
    r = auth_set_project(s->auth, p->name, cfg, p->realms_text, p->realms_len, err,
                         sizeof(err));
    if (r < 0)
        log_error("config", "project %s: %s; keeping the previous permissions", p->name, err);
    log_info("config", "project %s: applied revision %s (%zu jobs, %zu triggers)", p->name,
             p->revision, cfg->n_regular, cfg->n_triggers);

    if (!seen) {
        struct project_revision_seen *v = realloc(s->seen, (s->n_seen + 1) * sizeof(*v));
        if (!v)
            goto out;
        s->seen = v;
        seen = &s->seen[s->n_seen++];
        snprintf(seen->name, sizeof(seen->name), "%s", p->name);
    }
    snprintf(seen->revision, sizeof(seen->revision), "%s", p->revision);
out:
    free(invalid);
    cfg_project_free(cfg);
    cfg_diags_release(&diags);
}

/* Re-reads DIR: applies every project, disables projects that went away. */
static int serve_reload(struct serve *s)
{
    struct project_set set;
    int r = project_set_read(s->config_dir, &set);
    if (r < 0) {
        log_error("config", "cannot read %s: %s; nothing changes", s->config_dir,
                  strerror(-r));
        return r;
    }
    for (size_t i = 0; i < set.n; i++)
        serve_apply_project(s, &set.v[i]);

    /* Projects applied before but with no folder any more: disable them. */
    char **known = NULL;
    size_t n = 0;
    if (engine_list_projects(s->engine, &known, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            bool present = false;
            for (size_t k = 0; k < set.n && !present; k++)
                present = strcmp(set.v[k].name, known[i]) == 0;
            if (!present) {
                log_info("config", "project %s is gone from %s: disabling its jobs", known[i],
                         s->config_dir);
                engine_disable_project(s->engine, known[i]);
                auth_remove_project(s->auth, known[i]);
                struct project_revision_seen *seen = serve_seen(s, known[i]);
                if (seen)
                    seen->revision[0] = '\0';
            }
            free(known[i]);
        }
        free(known);
    }
    project_set_release(&set);
    return 0;
}

/*
 * Bounds the shutdown: engine_stop() waits for running handlers, and a
 * url_fetch may run for minutes.  Past the grace period we exit anyway; the
 * unfinished tasks stay in the store and run again at the next start (a
 * reopened SQLite store frees the leases this process held).
 */
static void *shutdown_watchdog(void *arg)
{
    const int64_t *grace_ns = arg;
    struct timespec ts = {.tv_sec = (time_t)(*grace_ns / NS_PER_SEC), .tv_nsec = 0};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    log_warn("serve", "handlers still running %lds after the stop; exiting, their tasks will "
                      "run again at the next start", (long)(*grace_ns / NS_PER_SEC));
    _exit(0);
    return NULL;
}

static int load_auth_file(struct auth *a, const char *path, bool groups)
{
    char *text = NULL, err[512];
    size_t len = 0;
    int r = file_read_all(path, LIMIT_CONFIG_FILE_BYTES, &text, &len);
    if (r < 0) {
        cli_error("cannot read %s: %s", path, strerror(-r));
        return r;
    }
    r = groups ? auth_load_groups(a, text, len, err, sizeof(err))
               : auth_load_tokens(a, text, len, err, sizeof(err));
    if (r < 0)
        cli_error("%s: %s", path, err);
    free(text);
    return r;
}



/* The command line of `tock serve`. */
struct serve_args {
    const char *db, *listen, *tokens, *groups;
    const char *config_view_url; /* --config-view-url template or NULL */
    int64_t reload_ns;
    struct engine_settings settings;
    struct task_options task_opts;
    long workers;
    enum log_format log_format;
    bool rotate_pubsub_key;
    struct rate_limit rate_limit;
    struct serve_remote remote;
    struct http_server_options http; /* --http-*: 0 = default */
    const char *proxy_header;        /* --trust-proxy-header */
    const char *trusted_proxy;       /* --trusted-proxy CIDR */
};

/* The --http-* flags: getopt codes from OPT_HTTP_FIRST, in serve_http_options order. */
#define OPT_HTTP_FIRST 2000
static const struct option serve_http_options[] = {
    {"http-threads", required_argument, NULL, OPT_HTTP_FIRST},
    {"http-max-connections", required_argument, NULL, OPT_HTTP_FIRST + 1},
    {"http-max-per-client", required_argument, NULL, OPT_HTTP_FIRST + 2},
    {"http-header-timeout", required_argument, NULL, OPT_HTTP_FIRST + 3},
    {"http-body-min-rate", required_argument, NULL, OPT_HTTP_FIRST + 4},
    {"http-idle-timeout", required_argument, NULL, OPT_HTTP_FIRST + 5},
    {"http-keep-alive", no_argument, NULL, OPT_HTTP_FIRST + 6},
};

/*
 * One --http-* flag into h.  Returns 1 when it was one, 0 when c is not
 * one, or -EINVAL after printing why (as serve_remote_parse).  Counts are 1..max, durations whole seconds 1..3600.
 */
static int serve_parse_http(struct http_server_options *h, int c, const char *arg)
{
    static const unsigned max[] = {256, 65536, 65536, 0, 1u << 30, 0};
    unsigned *field[] = {&h->threads, &h->max_connections, &h->max_per_client,
                         &h->header_timeout_sec, &h->body_min_rate, &h->idle_timeout_sec};
    int i = c - OPT_HTTP_FIRST;
    const char *name;
    int64_t ns;
    char *end;

    if (i < 0 || i >= (int)ARRAY_SIZE(serve_http_options))
        return 0;
    if (i == 6) {
        h->keep_alive = true;
        return 1;
    }
    name = serve_http_options[i].name;
    if (max[i] == 0) {
        if (cli_parse_duration(name, arg, &ns) < 0)
            return -EINVAL;
        if (ns < NS_PER_SEC || ns > 3600 * NS_PER_SEC || ns % NS_PER_SEC) {
            cli_error("--%s wants whole seconds from 1s to 1h, not '%s'", name, arg);
            return -EINVAL;
        }
        *field[i] = (unsigned)(ns / NS_PER_SEC);
        return 1;
    }
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || arg[0] < '0' || arg[0] > '9' || v < 1 || v > max[i]) {
        cli_error("--%s wants a number from 1 to %u, not '%s'", name, max[i], arg);
        return -EINVAL;
    }
    *field[i] = (unsigned)v;
    return 1;
}

static const struct option serve_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"db", required_argument, NULL, 'd'},
    {"listen", required_argument, NULL, 'l'},
    {"auth-tokens", required_argument, NULL, 't'},
    {"groups", required_argument, NULL, 'g'},
    {"log-format", required_argument, NULL, 'f'},
    {"reload-interval", required_argument, NULL, 'r'},
    {"workers", required_argument, NULL, 'w'},
    {"triage-throttle", required_argument, NULL, 'T'},
    {"launch-delay", required_argument, NULL, 'L'},
    {"noop-sleep", required_argument, NULL, 'N'},
    {"lease-time", required_argument, NULL, 'E'},
    {"rotate-pubsub-key", no_argument, NULL, 'K'},
    {"rate-limit", required_argument, NULL, 'X'},
    {"trust-proxy-header", required_argument, NULL, 'P'},
    {"trusted-proxy", required_argument, NULL, 'C'},
    {"config-view-url", required_argument, NULL, 'V'},
};

/* One option of serve's own; 0, or -EINVAL after printing why. */
static int serve_parse_one(struct serve_args *a, struct serve *s, int c, const char *arg)
{
    char *end;

    switch (c) {
    case 'c': s->config_dir = arg; return 0;
    case 'd': a->db = arg; return 0;
    case 'l': a->listen = arg; return 0;
    case 't': a->tokens = arg; return 0;
    case 'g': a->groups = arg; return 0;
    case 'f':
        if (strcmp(arg, "json") == 0) {
            a->log_format = LOG_FORMAT_JSON;
        } else if (strcmp(arg, "text") != 0) {
            cli_error("--log-format is text or json, not '%s'", arg);
            return -EINVAL;
        }
        return 0;
    case 'r': return cli_parse_duration("--reload-interval", arg, &a->reload_ns);
    case 'T':
        return cli_parse_duration("--triage-throttle", arg, &a->settings.triage_throttle_ns);
    case 'L':
        return cli_parse_duration("--launch-delay", arg, &a->settings.launch_batch_delay_ns);
    case 'K': a->rotate_pubsub_key = true; return 0;
    case 'P': a->proxy_header = arg; return 0;
    case 'C':
        if (web_cidr_check(arg) < 0) {
            cli_error("--trusted-proxy wants an address or ADDRESS/BITS, not '%s'", arg);
            return -EINVAL;
        }
        a->trusted_proxy = arg;
        return 0;
    case 'V':
        if (strlen(arg) > WEB_CONFIG_URL_MAX ||
            (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0)) {
            cli_error("--config-view-url wants an http(s) URL template of at most %u bytes, "
                      "not '%s'", WEB_CONFIG_URL_MAX, arg);
            return -EINVAL;
        }
        a->config_view_url = arg;
        return 0;
    case 'X': {
        char err[256];
        if (rate_limit_parse(arg, &a->rate_limit, err, sizeof(err)) < 0) {
            cli_error("--rate-limit: %s", err);
            return -EINVAL;
        }
        return 0;
    }
    case 'N':
        return cli_parse_duration("--noop-sleep", arg, &a->task_opts.noop_default_sleep_ns);
    case 'E':
        if (cli_parse_duration("--lease-time", arg, &a->settings.lease_ns) < 0)
            return -EINVAL;
        if (a->settings.lease_ns < NS_PER_SEC || a->settings.lease_ns > 3600 * NS_PER_SEC) {
            cli_error("--lease-time wants a duration from 1s to 1h, not '%s'", arg);
            return -EINVAL;
        }
        return 0;
    case 'w':
        a->workers = strtol(arg, &end, 10);
        if (*end || a->workers < 1 || a->workers > 256) {
            cli_error("--workers wants a number from 1 to 256, not '%s'", arg);
            return -EINVAL;
        }
        return 0;
    default:
        cli_error("serve: unknown option; see `tock serve --help`");
        return -EINVAL;
    }
}

/* Parses argv into a and s->config_dir; 0 or -EINVAL (usage printed). */
static int serve_parse_args(int argc, char **argv, struct serve_args *a, struct serve *s)
{
    struct option all[ARRAY_SIZE(serve_options) + ARRAY_SIZE(serve_http_options) + 16];
    size_t n = 0;
    int c;

    *a = (struct serve_args){
        .db = "sqlite:./tock.db",
        .listen = "127.0.0.1:8080",
        .reload_ns = 60 * NS_PER_SEC,
        .workers = 4,
        .log_format = LOG_FORMAT_TEXT,
    };
    serve_remote_init(&a->remote);
    for (size_t i = 0; i < ARRAY_SIZE(serve_options); i++)
        all[n++] = serve_options[i];
    for (size_t i = 0; i < ARRAY_SIZE(serve_http_options); i++)
        all[n++] = serve_http_options[i];
    for (size_t i = 0; serve_remote_options[i].name && n + 1 < ARRAY_SIZE(all); i++)
        all[n++] = serve_remote_options[i];
    all[n] = (struct option){NULL, 0, NULL, 0};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", all, NULL)) != -1) {
        int r = serve_parse_http(&a->http, c, optarg);
        if (r == 0)
            r = serve_remote_parse(&a->remote, c, optarg);
        if (r == 0)
            r = c == '?' ? (cli_error("serve: unknown option '%s'; see `tock serve --help`",
                                      argv[optind - 1]),
                            -EINVAL)
                         : serve_parse_one(a, s, c, optarg);
        if (r < 0)
            return -EINVAL;
    }
    if (!s->config_dir || optind != argc) {
        serve_usage(stderr);
        return -EINVAL;
    }
    if (!a->proxy_header != !a->trusted_proxy) {
        cli_error("--trust-proxy-header and --trusted-proxy go together");
        return -EINVAL;
    }
    if (a->reload_ns < NS_PER_SEC)
        a->reload_ns = NS_PER_SEC;
    return 0;
}

/* Blocks the signals only the main thread takes (sigtimedwait in serve_wait). */
static void serve_block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGHUP);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The running server's parts, made by serve_open and freed by serve_close. */
struct serve_parts {
    struct store *store;
    struct task_registry *registry;
    struct http_server *http;
};

/* Store, managers, engine, auth and the first config read.  0 or -1 (printed). */
static int serve_open(struct serve_args *a, struct serve *s, struct serve_parts *p)
{
    struct stat st;
    char err[512];

    if (stat(s->config_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--config %s is not a folder of projects", s->config_dir);
        return -1;
    }
    if (store_open(a->db, &p->store, err, sizeof(err)) < 0) {
        cli_error("cannot open the store %s: %s", a->db, err);
        return -1;
    }
    a->remote.db = a->db;
    if (task_registry_default(&a->task_opts, &p->registry) < 0 ||
        serve_remote_setup(&a->remote, p->registry) < 0)
        return -1;
    struct engine_options eopts = {
        .store = p->store,
        .clock = clock_real(),
        .registry = p->registry,
        .settings = a->settings,
        .workers = (int)a->workers,
    };
    if (engine_new(&eopts, &s->engine) < 0 || !(s->auth = auth_new())) {
        cli_error("out of memory");
        return -1;
    }
    if (a->rotate_pubsub_key) {
        if (engine_rotate_pubsub_key(s->engine) < 0) {
            cli_error("cannot rotate the Pub/Sub token key: %s", store_errmsg(p->store));
            return -1;
        }
        log_info("serve", "made a new Pub/Sub token key; the previous one is accepted for 48h");
    }
    if ((a->tokens && load_auth_file(s->auth, a->tokens, false) < 0) ||
        (a->groups && load_auth_file(s->auth, a->groups, true) < 0))
        return -1;
    if (serve_reload(s) < 0) {
        cli_error("cannot read the config folder %s", s->config_dir);
        return -1;
    }
    return 0;
}

/* The HTTP server (pRPC API, /pubsub, the web UI) and the engine's workers.  0 or -1 (printed). */
static int serve_start(struct serve_args *a, struct serve *s, struct serve_parts *p,
                       const char *host, uint16_t port)
{
    struct http_server_options hopts = a->http;

    hopts.host = host;
    hopts.port = port;
    int r = http_server_new(&hopts, &p->http);

    struct api_options aopts = {.rate_limit = a->rate_limit};
    struct web_options wopts = {.trust_proxy_header = a->proxy_header,
                                .trusted_proxy = a->trusted_proxy,
                                .config_view_url = a->config_view_url};
    if (r == 0)
        r = api_register_with(p->http, s->engine, s->auth, &aopts);
    if (r == 0)
        r = api_register_pubsub(p->http, s->engine);
    if (r == 0)
        r = web_register(p->http, s->engine, s->auth, &wopts);
    if (r == 0)
        r = api_register_metrics(p->http, s->engine);
    if (r == 0)
        r = http_server_start(p->http);
    if (r < 0) {
        cli_error("cannot serve on %s: %s", a->listen, strerror(-r));
        return -1;
    }
    r = engine_start(s->engine, (int)a->workers);
    if (r < 0) {
        cli_error("cannot start the engine: %s", strerror(-r));
        return -1;
    }
    printf("tock: listening on http://%s:%u (store %s, config %s)\n",
           strchr(host, ':') ? "[::1]" : host, http_server_port(p->http), a->db, s->config_dir);
    fflush(stdout);
    log_info("serve", "listening on %s:%u", host, http_server_port(p->http));
    return 0;
}

/* Waits for SIGTERM/SIGINT, re-reading the configs on SIGHUP and every reload_ns. */
static void serve_wait(struct serve *s, const sigset_t *sigs, int64_t reload_ns)
{
    const struct clock *clk = clock_real();
    int64_t next_reload = clock_mono(clk) + reload_ns;

    for (;;) {
        struct timespec wait = {.tv_sec = 1, .tv_nsec = 0};
        int sig = sigtimedwait(sigs, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("serve", "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
        if (sig == SIGHUP || clock_mono(clk) >= next_reload) {
            if (sig == SIGHUP)
                log_info("serve", "SIGHUP: re-reading the configs");
            serve_reload(s);
            next_reload = clock_mono(clk) + reload_ns;
        }
    }
}

/* Stops taking requests first, then lets running work finish (bounded). */
static void serve_stop(struct serve *s, struct serve_parts *p)
{
    static const int64_t grace_ns = 12 * NS_PER_SEC;
    pthread_t watchdog;

    if (pthread_create(&watchdog, NULL, shutdown_watchdog, (void *)&grace_ns) == 0)
        pthread_detach(watchdog);
    http_server_stop(p->http);
    engine_stop(s->engine, clock_mono(clock_real()) + 10 * NS_PER_SEC);
    log_info("serve", "stopped");
}

int cmd_serve(int argc, char **argv)
{
    struct serve_args args;
    struct serve s = {0};
    struct serve_parts p = {0};
    sigset_t sigs;
    char host[256];
    uint16_t port;
    int status = EXIT_USAGE;

    if (cli_wants_help(argc, argv)) {
        serve_usage(stdout);
        return 0;
    }
    if (serve_parse_args(argc, argv, &args, &s) < 0 ||
        cli_parse_listen("--listen", args.listen, host, sizeof(host), &port) < 0)
        return EXIT_USAGE;
    log_init(args.log_format, LOG_INFO);
    serve_block_signals(&sigs);
    if (serve_open(&args, &s, &p) == 0 && serve_start(&args, &s, &p, host, port) == 0) {
        serve_wait(&s, &sigs, args.reload_ns);
        serve_stop(&s, &p);
        status = 0;
    }
    p.http = http_server_free(p.http);
    s.engine = engine_free(s.engine);
    s.auth = auth_free(s.auth);
    p.registry = task_registry_free(p.registry);
    serve_remote_release(&args.remote);
    p.store = store_close(p.store);
    free(s.seen);
    return status;
}
