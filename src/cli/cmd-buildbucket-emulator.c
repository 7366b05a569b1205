/*
 * cmd-buildbucket-emulator.c - `tock buildbucket-emulator`: runs the
 * Buildbucket emulator (emulator/emulator.h) in the foreground until
 * SIGINT/SIGTERM, logging one line per event to stderr.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <time.h>

#include "base/file.h"
#include "base/log.h"
#include "base/time.h"
#include "emulator/emulator.h"

static const char emulator_help[] =
    "usage: tock buildbucket-emulator --builders FILE [--listen HOST:PORT] [--push URL]\n"
    "                                 [options]\n"
    "\n"
    "Emulates Buildbucket for tests and demos: buildbucket.v2.Builds over pRPC JSON\n"
    "(ScheduleBuild, GetBuild, CancelBuild, SearchBuilds, Batch, GetBuildStatus),\n"
    "the legacy v1 REST API (PUT builds, GET builds/ID, POST builds/ID/cancel) and\n"
    "GET /auth/api/v1/server/info.  Builds run on the timings (or commands) of the\n"
    "builders file; every status change of a build that asked for notifications is\n"
    "pushed, Cloud Pub/Sub push style, to --push.  See docs/emulator.md.\n"
    "\n"
    "options:\n"
    "  --builders FILE         the builders (JSON, see docs/emulator.md; required)\n"
    "  --listen HOST:PORT      where to serve (default 127.0.0.1:9001; port 0 = any)\n"
    "  --hostname HOST         the host it pretends to be (cr-buildbucket.appspot.com)\n"
    "  --service-account SA    server/info's service_account_name\n"
    "                          (default cr-buildbucket@appspot.gserviceaccount.com)\n"
    "  --caller IDENTITY       every caller's identity (default project:<builder project>)\n"
    "  --require-auth          refuse calls without Authorization: Bearer (UNAUTHENTICATED)\n"
    "  --max-builds N          builds kept, oldest final evicted first (default 100000)\n"
    "  --dedup-window D        how long requestId/client_operation_id dedup (default 1m)\n"
    "  --push URL              where to push notifications (none: no pushes)\n"
    "  --push-drop F           fraction of pushes lost (0..1, default 0)\n"
    "  --push-duplicate F      fraction of pushes delivered twice (default 0)\n"
    "  --push-delay D[,MAX]    delay before delivery, or uniform in [D, MAX] (default 0)\n"
    "  --push-attempts N       deliveries tried before giving up (default 5)\n"
    "  --push-backoff D        first retry delay, doubled each retry (default 1s)\n"
    "  --push-timeout D        one delivery's deadline (default 10s)\n"
    "  --seed N                deterministic randomness (ids, drops, delays)\n"
    "  --hostile MODE          lie: html, truncated, wrong-types, huge, drip, hang\n"
    "  --hostile-rpcs LIST     only for these (e.g. GetBuild,v1.get; default every RPC)\n"
    "  --log-format F          text (default) or json\n"
    "\n"
    "example:\n"
    "  tock buildbucket-emulator --builders examples/emulator/builders.json \\\n"
    "      --listen 127.0.0.1:9001 --push 'http://127.0.0.1:8080/pubsub?kind=buildbucket'\n";

static void on_event(void *ctx, const char *line)
{
    (void)ctx;
    log_info("emulator", "%s", line);
}


static int opt_fraction(const char *opt, const char *text, double *ret)
{
    char *end;
    errno = 0;
    *ret = strtod(text, &end);
    if (errno || end == text || *end || !(*ret >= 0 && *ret <= 1)) {
        cli_error("%s wants a fraction from 0 to 1, not '%s'", opt, text);
        return -EINVAL;
    }
    return 0;
}

static int opt_number(const char *opt, const char *text, unsigned long long max,
                      unsigned long long *ret)
{
    char *end;
    errno = 0;
    *ret = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || *ret > max) {
        cli_error("%s wants a number up to %llu, not '%s'", opt, max, text);
        return -EINVAL;
    }
    return 0;
}

static int opt_delay(const char *text, struct emu_options *o)
{
    char lo[64];
    const char *comma = strchr(text, ',');
    snprintf(lo, sizeof(lo), "%.*s", comma ? (int)(comma - text) : (int)strlen(text), text);
    if (cli_parse_duration("--push-delay", lo, &o->push_delay_min_ns) < 0)
        return -EINVAL;
    o->push_delay_max_ns = o->push_delay_min_ns;
    if (comma && (cli_parse_duration("--push-delay", comma + 1, &o->push_delay_max_ns) < 0 ||
                  o->push_delay_max_ns < o->push_delay_min_ns)) {
        cli_error("--push-delay MIN,MAX wants MIN <= MAX");
        return -EINVAL;
    }
    return 0;
}


static int load_builders(const char *path, struct emu_builders **ret)
{
    char *text = NULL, err[512];
    size_t len = 0;
    int r = file_read_all(path, EMU_BUILDERS_FILE_BYTES, &text, &len);
    if (r < 0) {
        cli_error("cannot read %s: %s", path, strerror(-r));
        return r;
    }
    r = emu_builders_parse(text, len, ret, err, sizeof(err));
    if (r < 0)
        cli_error("%s: %s", path, err);
    free(text);
    return r;
}

/* Parses the options into o (and the paths); returns 0, 1 (help printed) or -EINVAL. */
static int parse_options(int argc, char **argv, struct emu_options *o, const char **builders,
                         const char **listen, enum log_format *fmt)
{
    static const struct option options[] = {
        {"builders", required_argument, NULL, 'b'}, {"listen", required_argument, NULL, 'l'},
        {"hostname", required_argument, NULL, 'H'}, {"service-account", required_argument, NULL, 'S'},
        {"caller", required_argument, NULL, 'C'},   {"require-auth", no_argument, NULL, 'A'},
        {"max-builds", required_argument, NULL, 'M'}, {"dedup-window", required_argument, NULL, 'W'},
        {"push", required_argument, NULL, 'p'},     {"push-drop", required_argument, NULL, 'd'},
        {"push-duplicate", required_argument, NULL, 'u'}, {"push-delay", required_argument, NULL, 'y'},
        {"push-attempts", required_argument, NULL, 'n'}, {"push-backoff", required_argument, NULL, 'k'},
        {"push-timeout", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 's'},
        {"hostile", required_argument, NULL, 'x'},  {"hostile-rpcs", required_argument, NULL, 'r'},
        {"log-format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0},
    };
    unsigned long long n;
    int c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 'b': *builders = optarg; break;
        case 'l': *listen = optarg; break;
        case 'H': o->hostname = optarg; break;
        case 'S': o->service_account = optarg; break;
        case 'C': o->caller = optarg; break;
        case 'A': o->require_auth = true; break;
        case 'M':
            r = opt_number("--max-builds", optarg, 10000000, &n);
            o->max_builds = (size_t)n;
            if (r == 0 && n == 0)
                r = (cli_error("--max-builds must be at least 1"), -EINVAL);
            break;
        case 'W': r = cli_parse_duration("--dedup-window", optarg, &o->dedup_window_ns); break;
        case 'p': o->push_url = optarg; break;
        case 'd': r = opt_fraction("--push-drop", optarg, &o->push_drop); break;
        case 'u': r = opt_fraction("--push-duplicate", optarg, &o->push_duplicate); break;
        case 'y': r = opt_delay(optarg, o); break;
        case 'n':
            r = opt_number("--push-attempts", optarg, 1000, &n);
            o->push_attempts = (unsigned)n;
            break;
        case 'k': r = cli_parse_duration("--push-backoff", optarg, &o->push_backoff_ns); break;
        case 't': r = cli_parse_duration("--push-timeout", optarg, &o->push_timeout_ns); break;
        case 's':
            r = opt_number("--seed", optarg, UINT64_MAX, &n);
            o->seed = n;
            o->seed_set = true;
            break;
        case 'x':
            o->hostile = emu_hostile_parse(optarg);
            if (o->hostile < 0)
                r = (cli_error("--hostile is html, truncated, wrong-types, huge, drip or hang, "
                               "not '%s'", optarg), -EINVAL);
            break;
        case 'r': o->hostile_rpcs = optarg; break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                *fmt = LOG_FORMAT_JSON;
            else if (strcmp(optarg, "text") != 0)
                r = (cli_error("--log-format is text or json, not '%s'", optarg), -EINVAL);
            break;
        default:
            cli_error("buildbucket-emulator: unknown option '%s'; see `tock buildbucket-emulator "
                      "--help`", argv[optind - 1]);
            return -EINVAL;
        }
        if (r < 0)
            return r;
    }
    if (!*builders || optind != argc) {
        fputs(emulator_help, stderr);
        return -EINVAL;
    }
    return 0;
}

int cmd_buildbucket_emulator(int argc, char **argv)
{
    struct emu_options o = {0};
    const char *builders = NULL, *listen = "127.0.0.1:9001";
    enum log_format fmt = LOG_FORMAT_TEXT;
    struct emulator *e = NULL;
    char host[256];
    sigset_t sigs;
    int r;

    if (cli_wants_help(argc, argv)) {
        fputs(emulator_help, stdout);
        return 0;
    }
    if (parse_options(argc, argv, &o, &builders, &listen, &fmt) < 0)
        return EXIT_USAGE;
    if (cli_parse_listen("--listen", listen, host, sizeof(host), &o.port) < 0)
        return EXIT_USAGE;
    o.host = host;
    if (load_builders(builders, &o.builders) < 0)
        return EXIT_USAGE;
    log_init(fmt, LOG_INFO);
    o.on_event = on_event;

    /* Only the main thread takes these, in sigtimedwait below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    r = emu_new(&o, &e);
    if (r == 0)
        r = emu_start(e);
    if (r < 0) {
        cli_error("cannot serve on %s: %s", listen, strerror(-r));
        emu_free(e);
        return EXIT_USAGE;
    }
    printf("tock buildbucket-emulator: listening on http://%s:%u\n",
           strchr(host, ':') ? "[::1]" : host, emu_port(e));
    fflush(stdout);
    log_info("emulator", "listening on %s:%u (%s builders file, pushes %s%s%s)", host,
             emu_port(e), builders, o.push_url ? "to " : "off", o.push_url ? o.push_url : "",
             o.hostile ? ", HOSTILE" : "");
    for (;;) {
        int sig = sigwaitinfo(&sigs, NULL);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("emulator", "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    emu_free(e);
    log_info("emulator", "stopped");
    return 0;
}
