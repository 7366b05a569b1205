/*
 * serve-remote.c - the outgoing client, the buildbucket, gitiles and git managers of
 * `tock serve`.  See serve-remote.h.
 */
#include "cli/serve-remote.h"

#include "base/time.h"
#include "cli/cli.h"
#include "tasks/buildbucket/buildbucket.h"
#include "tasks/git/gitpoll.h"
#include "tasks/gitiles/gitiles.h"
#include "tasks/registry.h"

enum {
    OPT_HOST_MAP = 1000,
    OPT_SERVICE_ACCOUNT,
    OPT_TOKEN_FILE,
    OPT_TOKEN_COMMAND,
    OPT_CA_FILE,
    OPT_PUBSUB_TOPIC,
    OPT_BB_POLL,
    OPT_BB_API,
    OPT_HOSTNAME,
    OPT_APP_ID,
    OPT_DATA_DIR,
    OPT_GIT_CREDENTIALS,
    OPT_GIT_TIMEOUT,
    OPT_GIT_CACHE_MAX,
    OPT_GIT_CACHE_IDLE,
};

const struct option serve_remote_options[] = {
    {"host-map", required_argument, NULL, OPT_HOST_MAP},
    {"service-account-json", required_argument, NULL, OPT_SERVICE_ACCOUNT},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"token-command", required_argument, NULL, OPT_TOKEN_COMMAND},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"pubsub-topic", required_argument, NULL, OPT_PUBSUB_TOPIC},
    {"buildbucket-poll", required_argument, NULL, OPT_BB_POLL},
    {"buildbucket-api", required_argument, NULL, OPT_BB_API},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"app-id", required_argument, NULL, OPT_APP_ID},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"git-credentials", required_argument, NULL, OPT_GIT_CREDENTIALS},
    {"git-timeout", required_argument, NULL, OPT_GIT_TIMEOUT},
    {"git-cache-max", required_argument, NULL, OPT_GIT_CACHE_MAX},
    {"git-cache-idle", required_argument, NULL, OPT_GIT_CACHE_IDLE},
    {NULL, 0, NULL, 0},
};

const char serve_remote_help[] =
    "  --host-map HOST=URL     send calls for HOST to base URL (repeatable), e.g.\n"
    "                          cr-buildbucket.appspot.com=http://127.0.0.1:9001\n"
    "  --service-account-json F  credentials: a Google service-account key (JWT, RS256)\n"
    "  --token-file F          credentials: a bearer token file, re-read when it changes\n"
    "  --token-command CMD     credentials: a command printing a bearer token\n"
    "  --ca-file F             extra CA bundle for all outgoing TLS, git https:// too\n"
    "                          (verification is always on)\n"
    "  --pubsub-topic T        Pub/Sub topic prefix given to Buildbucket\n"
    "                          (default projects/tock/topics/scheduler.buildbucket)\n"
    "  --buildbucket-poll MIN,MAX[,LONG]  status-check timer: random in [MIN,MAX)\n"
    "                          (default 1m,10m as LUCI); LONG once pushes arrive (1h, 0 = never)\n"
    "  --buildbucket-api HOST=v1  speak the legacy v1 REST API to HOST (repeatable)\n"
    "  --hostname H            this scheduler's hostname in $recipe_engine/scheduler\n"
    "  --app-id A              the user_agent tag value (LUCI: its app id)\n"
    "  --data-dir DIR          the git poller's repository caches (default: tock-data\n"
    "                          next to the sqlite file, else ./tock-data)\n"
    "  --git-credentials F     the git poller's credentials: one line 'bearer TOKEN',\n"
    "                          'basic USER:PASSWORD' or 'ssh-key PATH' (never logged)\n"
    "  --git-timeout D         one git poll's deadline (connect, fetch; default 5m)\n"
    "  --git-cache-max N[K|M|G]  one remote's cache size bound (default 4G)\n"
    "  --git-cache-idle D      remove caches no poll used for D (default 336h)\n";

void serve_remote_init(struct serve_remote *r)
{
    memset(r, 0, sizeof(*r));
}

/* "MIN,MAX[,LONG]" as Go durations. */
static int parse_poll(struct serve_remote *r, const char *arg)
{
    char text[256], err[128], *parts[3] = {NULL, NULL, NULL}, *save = NULL;
    int64_t v[3] = {0, 0, 0};
    int n = 0;

    snprintf(text, sizeof(text), "%s", arg);
    for (char *p = strtok_r(text, ",", &save); p && n < 3; p = strtok_r(NULL, ",", &save))
        parts[n++] = p;
    if (n < 2 || strtok_r(NULL, ",", &save))
        goto bad;
    for (int i = 0; i < n; i++)
        if (time_parse_duration(parts[i], &v[i], err, sizeof(err)) < 0 || v[i] < 0)
            goto bad;
    if (v[0] <= 0 || v[1] < v[0])
        goto bad;
    r->poll_min_ns = v[0];
    r->poll_max_ns = v[1];
    if (n == 3) {
        r->poll_long_ns = v[2];
        r->poll_long_set = true;
    }
    return 1;
bad:
    cli_error("--buildbucket-poll wants MIN,MAX[,LONG] Go durations with 0 < MIN <= MAX, "
              "e.g. 1s,3s, not '%s'",
              arg);
    return -EINVAL;
}

static int parse_api(struct serve_remote *r, const char *arg)
{
    const char *eq = strchr(arg, '=');

    if (!eq || eq == arg || (strcmp(eq + 1, "v1") != 0 && strcmp(eq + 1, "v2") != 0)) {
        cli_error("--buildbucket-api wants HOST=v1 or HOST=v2, not '%s'", arg);
        return -EINVAL;
    }
    if (strcmp(eq + 1, "v2") == 0)
        return 1; /* the default */
    if (r->n_v1_hosts >= SERVE_REMOTE_MAX_V1_HOSTS) {
        cli_error("at most %d --buildbucket-api hosts", SERVE_REMOTE_MAX_V1_HOSTS);
        return -EINVAL;
    }
    /* Kept as "HOST=v1"; the manager is given the host part (serve_remote_setup). */
    r->v1_hosts[r->n_v1_hosts++] = arg;
    return 1;
}

/* A Go duration > 0 (--git-timeout, --git-cache-idle). */
static int parse_positive_duration(const char *name, const char *arg, int64_t *ret)
{
    char opt[64];
    int64_t v;

    snprintf(opt, sizeof(opt), "--%s", name);
    if (cli_parse_duration(opt, arg, &v) < 0)
        return -EINVAL;
    if (v <= 0) {
        cli_error("--%s wants a duration above 0, not '%s'", name, arg);
        return -EINVAL;
    }
    *ret = v;
    return 1;
}

/* "N" bytes, or N with a K/M/G suffix (powers of 1024), from 1 MiB. */
static int parse_size(const char *name, const char *arg, uint64_t *ret)
{
    char *end = NULL;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (end && *end) {
        const char *units = "KMG";
        const char *u = strchr(units, *end);
        if (!u || end[1])
            goto bad;
        shift = 10 * (unsigned)(u - units + 1);
    }
    if (errno || arg[0] < '0' || arg[0] > '9' || v > (UINT64_MAX >> shift) ||
        (v << shift) < (1ull << 20))
        goto bad;
    *ret = (uint64_t)v << shift;
    return 1;
bad:
    cli_error("--%s wants a size of at least 1M, e.g. 512M or 4G, not '%s'", name, arg);
    return -EINVAL;
}

int serve_remote_parse(struct serve_remote *r, int c, const char *arg)
{
    switch (c) {
    case OPT_HOST_MAP:
        if (r->n_host_map >= CLIENT_MAX_HOST_MAP) {
            cli_error("at most %d --host-map entries", CLIENT_MAX_HOST_MAP);
            return -EINVAL;
        }
        r->host_map[r->n_host_map++] = arg;
        return 1;
    case OPT_SERVICE_ACCOUNT: r->service_account_json = arg; return 1;
    case OPT_TOKEN_FILE: r->token_file = arg; return 1;
    case OPT_TOKEN_COMMAND: r->token_command = arg; return 1;
    case OPT_CA_FILE: r->ca_file = arg; return 1;
    case OPT_PUBSUB_TOPIC: r->pubsub_topic = arg; return 1;
    case OPT_BB_POLL: return parse_poll(r, arg);
    case OPT_BB_API: return parse_api(r, arg);
    case OPT_HOSTNAME: r->hostname = arg; return 1;
    case OPT_APP_ID: r->app_id = arg; return 1;
    case OPT_DATA_DIR: r->data_dir = arg; return 1;
    case OPT_GIT_CREDENTIALS: r->git_credentials = arg; return 1;
    case OPT_GIT_TIMEOUT: return parse_positive_duration("git-timeout", arg, &r->git_timeout_ns);
    case OPT_GIT_CACHE_MAX: return parse_size("git-cache-max", arg, &r->git_cache_max);
    case OPT_GIT_CACHE_IDLE:
        return parse_positive_duration("git-cache-idle", arg, &r->git_cache_idle_ns);
    default: return 0;
    }
}

static int setup_buildbucket(struct serve_remote *r, struct task_registry *registry)
{
    char hosts[SERVE_REMOTE_MAX_V1_HOSTS][256];
    const char *v1[SERVE_REMOTE_MAX_V1_HOSTS];
    struct buildbucket_options o = {
        .client = r->client,
        .pubsub_topic = r->pubsub_topic,
        .hostname = r->hostname,
        .app_id = r->app_id,
        .poll_min_ns = r->poll_min_ns,
        .poll_max_ns = r->poll_max_ns,
        .poll_long_ns = r->poll_long_set && r->poll_long_ns == 0 ? BUILDBUCKET_POLL_LONG_OFF
                                                                 : r->poll_long_ns,
        /* Without credentials, calls go out without Authorization (local emulators). */
        .anonymous = !r->service_account_json && !r->token_file && !r->token_command,
        .v1_hosts = v1,
        .n_v1_hosts = r->n_v1_hosts,
    };
    int rc;

    for (size_t i = 0; i < r->n_v1_hosts; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "%.*s",
                 (int)(strchr(r->v1_hosts[i], '=') - r->v1_hosts[i]), r->v1_hosts[i]);
        v1[i] = hosts[i];
    }
    rc = buildbucket_manager_new(&o, &r->buildbucket);
    if (rc < 0) {
        cli_error("cannot make the buildbucket manager: %s", strerror(-rc));
        return rc;
    }
    rc = task_registry_add(registry, r->buildbucket);
    if (rc < 0)
        cli_error("cannot register the buildbucket manager: %s", strerror(-rc));
    return rc;
}

/* The gitiles poller: Gitiles REST through the same client (host map, credentials). */
static int setup_gitiles(struct serve_remote *r, struct task_registry *registry)
{
    struct gitiles_options o = {
        .client = r->client,
        .anonymous = !r->service_account_json && !r->token_file && !r->token_command,
    };
    int rc = gitiles_manager_new(&o, &r->gitiles);

    if (rc < 0) {
        cli_error("cannot make the gitiles manager: %s", strerror(-rc));
        return rc;
    }
    rc = task_registry_add(registry, r->gitiles);
    if (rc < 0)
        cli_error("cannot register the gitiles manager: %s", strerror(-rc));
    return rc;
}

/* tock-data next to the store's sqlite file ("sqlite:DIR/x.db"), else ./tock-data. */
static const char *default_data_dir(struct serve_remote *r)
{
    const char *path = r->db && strncmp(r->db, "sqlite:", 7) == 0 ? r->db + 7 : "";
    const char *slash = strrchr(path, '/');

    if (!slash)
        return "./tock-data";
    snprintf(r->data_dir_default, sizeof(r->data_dir_default), "%.*s/tock-data",
             (int)(slash - path), path);
    return r->data_dir_default;
}

/*
 * The git poller (any git remote, libgit2): its own credentials, not the
 * client's; the client carries its v2 ref listings (with those credentials).
 */
static int setup_git(struct serve_remote *r, struct task_registry *registry)
{
    struct gitpoll_options o = {
        .data_dir = r->data_dir ? r->data_dir : default_data_dir(r),
        .credentials_file = r->git_credentials,
        .ca_file = r->ca_file,
        .client = r->client, /* protocol v2 ls-refs for http(s) remotes */
        .timeout_ns = r->git_timeout_ns,
        .max_cache_bytes = r->git_cache_max,
        .cache_idle_sec = r->git_cache_idle_ns / NS_PER_SEC,
    };
    int rc = gitpoll_manager_new(&o, &r->git);

    if (rc < 0) {
        cli_error("cannot make the git manager: %s", strerror(-rc));
        return rc;
    }
    rc = task_registry_add(registry, r->git);
    if (rc < 0)
        cli_error("cannot register the git manager: %s", strerror(-rc));
    return rc;
}

int serve_remote_setup(struct serve_remote *r, struct task_registry *registry)
{
    struct client_options co = {
        .host_map = r->host_map,
        .n_host_map = r->n_host_map,
        .service_account_json = r->service_account_json,
        .token_file = r->token_file,
        .token_command = r->token_command,
        .ca_file = r->ca_file,
        .user_agent = "tock serve",
    };
    struct client_error err;
    int rc = client_new(&co, &r->client, &err);

    if (rc < 0) {
        cli_error("%s", err.message);
        return rc;
    }
    rc = setup_buildbucket(r, registry);
    if (rc == 0)
        rc = setup_gitiles(r, registry);
    if (rc == 0)
        rc = setup_git(r, registry);
    return rc;
}

void serve_remote_release(struct serve_remote *r)
{
    r->buildbucket = buildbucket_manager_free(r->buildbucket);
    r->gitiles = gitiles_manager_free(r->gitiles);
    r->git = gitpoll_manager_free(r->git);
    r->client = client_free(r->client);
}
