/*
 * test-tasks-git.c - the git poller (tasks/git/gitpoll.h) against real git
 * servers this test starts on 127.0.0.1 and repositories it makes with the
 * git command: the cases table runs over every transport (file://, a local
 * path, smart HTTP through git http-backend (tests/fakes/git-http-server.py),
 * the same behind HTTP basic and bearer auth, the same over TLS (https://
 * with a throwaway CA made here by openssl and given as ca_file; one more
 * server with a certificate of a CA nobody trusts), git:// through git daemon
 * (git-daemon-server.py) and, with --ssh, ssh:// through sshd
 * (git-ssh-server.py) with a key).  Then credentials that are wrong or
 * missing, remotes that accept and never answer (the poll's deadline) and
 * the cache's size bound.  Expected values come from the commits the test
 * itself made (SHAs from git rev-parse, committer times it set) and spec
 * 4.2's rules.
 *
 *   test-tasks-git          every transport but ssh, and the other cases
 *   test-tasks-git --ssh    ssh:// only; exits 77 (ctest SKIP) when sshd
 *                           cannot run here, saying why
 */
#include "base/compat.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/time.h"
#include "net/client.h"
#include "tasks/git/gitpoll.h"
#include "test-tasks-fakectl.h"

enum transport {
    T_FILE, T_LOCAL, T_HTTP, T_HTTP_V0, T_HTTP_BASIC, T_HTTP_BEARER, T_GIT, T_HTTPS_BASIC,
    T_HTTPS_BEARER, T_SSH, T_N
};

static const char *const transport_names[T_N] = {
    "file", "local", "http", "http-v0", "http-basic", "http-bearer", "git", "https-basic",
    "https-bearer", "ssh",
};

/* Secrets of the authenticated HTTP server (never to be seen in a log or error). */
#define BASIC_USER "tock"
#define BASIC_PASSWORD "pw-Zq81x"
#define BEARER_TOKEN "tok-Hf27Qa"

/* A server process this test started, and where it listens. */
struct server {
    pid_t pid;
    char url[128]; /* http://127.0.0.1:PORT, git://..., ssh://user@127.0.0.1:PORT */
    char skip[512]; /* why it is not running ("" when it is) */
};

/* The servers, shared by every test of a run. */
static struct {
    char base[128]; /* every test's repositories live below; the servers serve it */
    struct server http, http_v0, http_auth, https_auth, https_untrusted, git, ssh;
    struct client *client; /* the managers' outgoing client: v2 ls-refs over http(s) */
    char ssh_key[512], known_hosts[512];
    char ca[200]; /* the CA that signed https_auth's certificate (the managers' ca_file) */
} G;

static struct {
    enum transport t;
    char dir[160];
    char url[512];
    struct task_manager *m;
    int64_t when; /* the next commit's time, seconds */
} F;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command in dir; the test fails if it does. */
static void sh_in(const char *dir, const char *cmd)
{
    char full[8800];

    snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
    if (system(full) != 0)
        fail_msg("command failed: %s", cmd);
}

/* Runs a shell command in the test directory; the test fails if it does. */
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    sh_in(F.dir, cmd);
}

/* A small decimal number (atoi is banned). */
static int atoi_(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

/* The SHA of rev in the work tree. */
static const char *rev(const char *r)
{
    static char out[8][64];
    static int k;
    char cmd[512];
    char *o = out[k++ % 8];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "git -C %s/work rev-parse %s", F.dir, r);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(o, 64, p))
        o[0] = '\0';
    pclose(p);
    o[strcspn(o, "\n")] = '\0';
    assert_int_equal(strlen(o), 40);
    return o;
}

/* A commit touching path (NULL: an empty commit) at the next time; returns its SHA. */
static const char *commit(const char *path)
{
    F.when += 60;
    if (path)
        sh("cd work && mkdir -p \"$(dirname %s)\" && echo %lld >> %s && git add %s", path,
           (long long)F.when, path, path);
    sh("cd work && GIT_COMMITTER_DATE='%lld +0000' GIT_AUTHOR_DATE='%lld +0000' "
       "git commit -q --allow-empty -m c%lld",
       (long long)F.when, (long long)F.when, (long long)F.when);
    return rev("HEAD");
}

static void push(const char *refspec)
{
    sh("cd work && git push -q -f origin %s", refspec);
}

/* ---- the servers ---- */

/*
 * Runs argv with its stdout on a pipe and waits (at most 20 s) for its
 * first line: "listening on URL..." gives srv->url (up to the first
 * space), anything else srv->skip.
 */
static void spawn(struct server *srv, char *const argv[])
{
    char line[1024] = "";
    size_t n = 0;
    int fds[2];

    srv->pid = 0;
    if (pipe(fds) < 0)
        fail_msg("pipe: %s", strerror(errno));
    srv->pid = fork();
    if (srv->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (int64_t end = time(NULL) + 20; n + 1 < sizeof(line) && time(NULL) < end;) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        if (poll(&pfd, 1, 500) <= 0)
            continue;
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (strncmp(line, "listening on ", 13) == 0) {
        snprintf(srv->url, sizeof(srv->url), "%.*s", (int)strcspn(line + 13, " "), line + 13);
        srv->skip[0] = '\0';
        if (strstr(line, " key="))
            snprintf(G.ssh_key, sizeof(G.ssh_key), "%.*s", (int)strcspn(strstr(line, " key=") + 5, " "),
                     strstr(line, " key=") + 5);
        return;
    }
    snprintf(srv->skip, sizeof(srv->skip), "%s: %s", argv[1], line[0] ? line : "did not start");
}

static void stop(struct server *srv)
{
    if (srv->pid > 0) {
        kill(-srv->pid, SIGTERM);
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, NULL, 0);
    }
    srv->pid = 0;
}

static char *fake(const char *name)
{
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];

    snprintf(p, 512, "%s/../fakes/%s", TOCK_TEST_DATA, name);
    return p;
}

static char *tls_path(const char *name)
{
    static char path[8][256];
    static int k;
    char *p = path[k++ % 8];

    snprintf(p, 256, "%s/tls/%s", G.base, name);
    return p;
}

/*
 * An https server's URL by the name its certificate carries: "localhost"
 * for "127.0.0.1" (Debian's libgit2 verifies with mbedTLS 2.28, which
 * matches DNS names only, never an IP address).
 */
static void url_by_name(struct server *srv)
{
    const char *ip = "https://127.0.0.1:";
    char url[sizeof(srv->url)];

    if (strncmp(srv->url, ip, strlen(ip)) != 0)
        return;
    snprintf(url, sizeof(url), "https://localhost:%s", srv->url + strlen(ip));
    memcpy(srv->url, url, sizeof(url));
}

/*
 * Two throwaway CAs and a certificate for localhost (and 127.0.0.1) from each (as
 * tests/e2e/test-tls.sh does): srv.* from ca.pem (G.ca, trusted), bad.*
 * from other-ca.pem (trusted by nobody).
 */
static int make_certs(void)
{
    char cmd[2048];
    int n = snprintf(
        cmd, sizeof(cmd),
        "(cd %s && mkdir tls && cd tls && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >san.ext && "
        "for p in ca:srv other-ca:bad; do ca=${p%%%%:*}; s=${p#*:}; "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj \"/CN=tock test $ca\" "
        "-keyout $ca.key -out $ca.pem && "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout $s.key -out $s.csr && "
        "openssl x509 -req -in $s.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out $s.pem || exit 1; done) >/dev/null 2>&1",
        G.base);

    if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0) {
        fprintf(stderr, "openssl could not make the test certificates\n");
        return -1;
    }
    snprintf(G.ca, sizeof(G.ca), "%s", tls_path("ca.pem"));
    return 0;
}

/* The outgoing client the managers list v2 refs with (trusting the test CA). */
static int make_client(void)
{
    struct client_options co = {.ca_file = G.ca, .user_agent = "test-tasks-git"};
    struct client_error err;

    if (client_new(&co, &G.client, &err) < 0) {
        fprintf(stderr, "client: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int start_servers(bool ssh)
{
    char sshdir[300];

    snprintf(G.base, sizeof(G.base), "/tmp/tock-git-XXXXXX");
    if (!mkdtemp(G.base))
        return -1;
    if (ssh) {
        snprintf(sshdir, sizeof(sshdir), "%s/sshd", G.base);
        mkdir(sshdir, 0700);
        spawn(&G.ssh, (char *[]){"python3", fake("git-ssh-server.py"), "--dir", sshdir, NULL});
        return 0;
    }
    spawn(&G.http, (char *[]){"python3", fake("git-http-server.py"), "--root", G.base, NULL});
    spawn(&G.http_auth, (char *[]){"python3", fake("git-http-server.py"), "--root", G.base,
                                   "--basic", BASIC_USER ":" BASIC_PASSWORD,
                                   "--bearer", BEARER_TOKEN, NULL});
    spawn(&G.http_v0, (char *[]){"python3", fake("git-http-server.py"), "--root", G.base,
                                 "--protocol-v0", NULL});
    spawn(&G.git, (char *[]){"python3", fake("git-daemon-server.py"), "--root", G.base, NULL});
    if (make_certs() < 0)
        return -1;
    spawn(&G.https_auth, (char *[]){"python3", fake("git-http-server.py"), "--root", G.base,
                                    "--basic", BASIC_USER ":" BASIC_PASSWORD,
                                    "--bearer", BEARER_TOKEN, "--tls-cert", tls_path("srv.pem"),
                                    "--tls-key", tls_path("srv.key"), NULL});
    spawn(&G.https_untrusted, (char *[]){"python3", fake("git-http-server.py"), "--root", G.base,
                                         "--basic", BASIC_USER ":" BASIC_PASSWORD,
                                         "--tls-cert", tls_path("bad.pem"),
                                         "--tls-key", tls_path("bad.key"), NULL});
    url_by_name(&G.https_auth);
    url_by_name(&G.https_untrusted);
    if (make_client() < 0)
        return -1;
    if (G.http.skip[0] || G.http_v0.skip[0] || G.http_auth.skip[0] || G.git.skip[0] ||
        G.https_auth.skip[0] || G.https_untrusted.skip[0]) {
        fprintf(stderr, "servers: %s %s %s %s %s\n", G.http.skip, G.http_auth.skip, G.git.skip,
                G.https_auth.skip, G.https_untrusted.skip);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return start_servers(false);
}

static int group_teardown(void **state)
{
    char cmd[512];

    (void)state;
    stop(&G.http);
    stop(&G.http_v0);
    stop(&G.http_auth);
    G.client = client_free(G.client);
    stop(&G.https_auth);
    stop(&G.https_untrusted);
    stop(&G.git);
    stop(&G.ssh);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", G.base);
    return system(cmd) == 0 ? 0 : -1;
}

/* A credentials file in the test directory with line; returns its path. */
static const char *cred_file(const char *line)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/credentials", F.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# test\n%s\n", line);
    fclose(f);
    return path;
}

/* A manager with credentials cred (NULL: none) and a timeout. */
static struct task_manager *manager(const char *cred, int64_t timeout_ns, uint64_t max_cache)
{
    struct gitpoll_options o = {0};
    struct task_manager *m = NULL;
    char data[512];

    snprintf(data, sizeof(data), "%s/data", F.dir);
    o.data_dir = data;
    o.credentials_file = cred ? cred_file(cred) : NULL;
    o.timeout_ns = timeout_ns;
    o.max_cache_bytes = max_cache;
    o.ca_file = G.ca[0] ? G.ca : NULL;
    o.client = G.client;
    assert_int_equal(gitpoll_manager_new(&o, &m), 0);
    return m;
}

/* The remote's URL over transport t into F.url, and the credential line it needs. */
static void transport_url(enum transport t, const char **cred)
{
    const char *name = strrchr(F.dir, '/') + 1;
    static char line[600];

    *cred = NULL;
    switch (t) {
    case T_FILE: snprintf(F.url, sizeof(F.url), "file://%s/remote.git", F.dir); break;
    case T_LOCAL: snprintf(F.url, sizeof(F.url), "%s/remote.git", F.dir); break;
    case T_HTTP: snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.http.url, name); break;
    case T_HTTP_V0:
        snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.http_v0.url, name);
        break;
    case T_HTTP_BASIC:
        *cred = "basic " BASIC_USER ":" BASIC_PASSWORD;
        snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.http_auth.url, name);
        break;
    case T_HTTP_BEARER:
        *cred = "bearer " BEARER_TOKEN;
        snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.http_auth.url, name);
        break;
    case T_GIT: snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.git.url, name); break;
    case T_HTTPS_BASIC:
        *cred = "basic " BASIC_USER ":" BASIC_PASSWORD;
        snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.https_auth.url, name);
        break;
    case T_HTTPS_BEARER:
        *cred = "bearer " BEARER_TOKEN;
        snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.https_auth.url, name);
        break;
    case T_SSH:
        snprintf(line, sizeof(line), "ssh-key %s", G.ssh_key);
        *cred = line;
        snprintf(F.url, sizeof(F.url), "%s%s/remote.git", G.ssh.url, F.dir);
        break;
    default: fail();
    }
}

/* Per test: a bare remote and a work tree in a new directory, a manager for transport *state. */
static int setup(void **state)
{
    const char *cred;

    F.t = state && *state ? *(const enum transport *)*state : T_FILE;
    if (F.t == T_SSH && G.ssh.skip[0])
        skip();
    snprintf(F.dir, sizeof(F.dir), "%s/t-XXXXXX", G.base);
    assert_non_null(mkdtemp(F.dir));
    sh("git init -q --bare -b main remote.git && git init -q -b main work && "
       "cd work && git config user.name t && git config user.email t@example.com && "
       "git remote add origin ../remote.git");
    transport_url(F.t, &cred);
    F.m = manager(cred, 60 * NS_PER_SEC, 0);
    F.when = 1700000000;
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];

    (void)state;
    F.m = gitpoll_manager_free(F.m);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

struct run {
    struct fake_ctl f;
    json_t *task;
    int rc;
};

/* One poll of url with refs and path filters, job state *st taken and given back. */
static void poll_url(struct run *r, const char *url, const char *refs, const char *inc,
                     const char *exc, json_t **st)
{
    json_error_t je;
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"git\": {\"url\": \"%s\", \"refs\": %s, \"pathRegexps\": %s,"
             " \"pathRegexpsExclude\": %s}}",
             url, refs, inc ? inc : "[]", exc ? exc : "[]");
    r->task = json_loads(text, 0, &je);
    if (!r->task)
        fail_msg("bad task %s: %s", text, je.text);
    fake_ctl_init(&r->f, 42, r->task);
    r->f.ctl.job_state = *st;
    r->rc = F.m->launch(F.m, &r->f.ctl);
    if (r->rc < 0)
        fprintf(stderr, "poll: %d %s\n", r->rc, r->f.ctl.err);
    *st = r->f.ctl.job_state;
    r->f.ctl.job_state = NULL;
}

static void poll_(struct run *r, const char *refs, json_t **st)
{
    poll_url(r, F.url, refs, NULL, NULL, st);
}

static void run_release(struct run *r)
{
    fake_ctl_release(&r->f);
    json_decref(r->task);
    memset(r, 0, sizeof(*r));
}

static bool logged(const struct run *r, const char *needle)
{
    for (size_t i = 0; i < r->f.n_log; i++)
        if (strstr(r->f.log[i], needle))
            return true;
    return false;
}

static size_t n_triggers(const struct run *r)
{
    return json_array_size(r->f.triggers);
}

/* Trigger i is for sha on ref of url, made at the committer time when. */
static void assert_trigger(const struct run *r, size_t i, const char *url, const char *ref,
                           const char *sha, int64_t when)
{
    const json_t *t = json_array_get(r->f.triggers, i);
    char id[2048], tag[128], ord[24], created[TIME_RFC3339_MAX];

    assert_non_null(t);
    snprintf(id, sizeof(id), "%s/+/%s@%s", url, ref, sha);
    snprintf(tag, sizeof(tag), "buildset:commit/git/%s", sha);
    snprintf(ord, sizeof(ord), "%zu", i);
    assert_int_equal(time_format_rfc3339(when * NS_PER_SEC, created, sizeof(created)) < 0, 0);
    assert_string_equal(json_string_value(json_object_get(t, "id")), id);
    assert_string_equal(json_string_value(json_object_get(t, "title")), sha);
    assert_string_equal(json_string_value(json_object_get(t, "orderInBatch")), ord);
    assert_string_equal(json_string_value(json_object_get(t, "created")), created);
    const json_t *g = json_object_get(t, "gitiles");
    assert_string_equal(json_string_value(json_object_get(g, "repo")), url);
    assert_string_equal(json_string_value(json_object_get(g, "ref")), ref);
    assert_string_equal(json_string_value(json_object_get(g, "revision")), sha);
    assert_true(json_is_true(json_object_get(g, "git")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "tags"), 0)), tag);
}

/* The known tip of ref: a "<sha> <ref>\n" line of the state's "tips" (gitiles.h). */
static const char *known(const json_t *st, const char *ref)
{
    static char out[8][41];
    static int k;
    const char *l = json_string_value(json_object_get(st, "tips"));
    size_t n = strlen(ref);

    for (const char *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        if ((size_t)(nl - l) == 41 + n && l[40] == ' ' && memcmp(l + 41, ref, n) == 0) {
            char *o = out[k++ % 8];
            memcpy(o, l, 40);
            o[40] = '\0';
            return o;
        }
    }
    return NULL;
}

/* ---- cases ---- */

/* A new ref: one trigger for its tip; then several commits, oldest first; then nothing. */
static void test_new_then_updated(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *c1, *c[3];
    int64_t t0;

    (void)state;
    commit("a.txt");
    c1 = commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c1, F.when);
    assert_true(logged(&r, "Ref refs/heads/main is new"));
    assert_string_equal(known(st, "refs/heads/main"), c1);
    run_release(&r);

    t0 = F.when;
    for (int i = 0; i < 3; i++)
        c[i] = commit("b.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 3);
    for (int i = 0; i < 3; i++)
        assert_trigger(&r, (size_t)i, F.url, "refs/heads/main", c[i], t0 + 60 * (i + 1));
    assert_string_equal(known(st, "refs/heads/main"), c[2]);
    run_release(&r);

    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 0);
    assert_true(logged(&r, "No changes detected"));
    run_release(&r);
    json_decref(st);
}

/* More than 50 new commits on a ref: the newest 50, oldest first. */
static void test_many_commits(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *path = F.url;
    const char *tip;

    (void)state;
    commit("a.txt");
    push("main");
    poll_url(&r, path, "[\"refs/heads/main\"]", NULL, NULL, &st);
    assert_int_equal(n_triggers(&r), 1);
    run_release(&r);

    /* 60 empty commits in one git process (fast-import), a minute apart. */
    sh("cd work && for i in $(seq 1 60); do printf 'commit refs/heads/main\\ncommitter t "
       "<t@example.com> %%d +0000\\ndata 3\\nm%%d\\n' $((%lld + i * 60)) $i; "
       "[ $i = 1 ] && printf 'from main^0\\n'; printf '\\n'; done | git fast-import --quiet "
       "&& git reset -q --hard main", (long long)F.when);
    push("main");
    tip = rev("HEAD");
    poll_url(&r, path, "[\"refs/heads/main\"]", NULL, NULL, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 50);
    assert_trigger(&r, 0, path, "refs/heads/main", rev("HEAD~49"), F.when + 11 * 60);
    assert_trigger(&r, 49, path, "refs/heads/main", tip, F.when + 60 * 60);
    run_release(&r);
    json_decref(st);
}

/* A tag that existed emits nothing, a new tag does; a deleted branch leaves the state. */
static void test_tags_and_deleted(void **state)
{
    const char *refs = "[\"regexp:refs/heads/.*\", \"regexp:refs/tags/.*\"]";
    struct run r = {0};
    json_t *st = NULL;
    const char *c1, *c2;

    (void)state;
    c1 = commit("a.txt");
    sh("cd work && git tag -a v1 -m v1 && git branch feature");
    push("main");
    push("v1");
    push("feature");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "Tag refs/tags/v1 newly matched but already existed"));
    assert_int_equal(n_triggers(&r), 2); /* feature and main, both new */
    assert_trigger(&r, 0, F.url, "refs/heads/feature", c1, F.when);
    assert_trigger(&r, 1, F.url, "refs/heads/main", c1, F.when);
    run_release(&r);

    c2 = commit("a.txt");
    sh("cd work && git tag v2");
    push("v2");
    sh("cd work && git push -q origin :feature");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "Ref refs/heads/feature deleted"));
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/tags/v2", c2, F.when);
    assert_null(known(st, "refs/heads/feature"));
    run_release(&r);
    json_decref(st);
}

/*
 * A remote with 100,000 tags (over smart HTTP): the first poll lists them
 * all and emits only the branch's trigger (the tags already existed), the
 * next one finds nothing, a new tag is emitted; past GT_MAX_REFS refs
 * (200,000) the poll fails clearly and the state does not move.  A job
 * watching only the branch still polls where the server speaks protocol
 * v2 (ls-refs with "ref-prefix refs/heads/" never lists the tags), and
 * fails where it speaks v0 (T_HTTP_V0: every ref is listed).
 */
static void test_many_refs(void **state)
{
    const char *refs = "[\"refs/heads/main\", \"regexp:refs/tags/t.*\"]";
    struct run r = {0};
    json_t *st = NULL;
    const char *c1, *c2;

    (void)state;
    c1 = commit("a.txt");
    push("main");
    sh("cd remote.git && sha=$(git rev-parse main) && "
       "seq -f \"$sha refs/tags/t%%06g\" 0 99999 >packed-refs");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c1, F.when);
    assert_true(logged(&r, "Tag refs/tags/t000000 newly matched but already existed"));
    assert_string_equal(known(st, "refs/tags/t054321"), c1);
    assert_string_equal(known(st, "refs/tags/t099999"), c1);
    run_release(&r);

    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 0);
    assert_true(logged(&r, "No changes detected"));
    run_release(&r);

    c2 = commit("b.txt");
    sh("cd work && git tag tnew");
    push("tnew");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/tags/tnew", c2, F.when);
    run_release(&r);

    sh("cd remote.git && sha=$(git rev-parse main) && "
       "seq -f \"$sha refs/tags/u%%06g\" 0 99999 >>packed-refs");
    poll_(&r, refs, &st);
    assert_true(r.rc < 0);
    assert_non_null(strstr(r.f.ctl.err, "more than 200000 refs"));
    assert_int_equal(n_triggers(&r), 0);
    assert_string_equal(known(st, "refs/tags/tnew"), c2);
    run_release(&r);
    json_decref(st);

    st = NULL;
    poll_(&r, "[\"refs/heads/main\"]", &st);
    if (F.t == T_HTTP_V0) {
        assert_true(r.rc < 0);
        assert_non_null(strstr(r.f.ctl.err, "more than 200000 refs"));
    } else {
        assert_int_equal(r.rc, 0);
        assert_int_equal(n_triggers(&r), 1);
        assert_trigger(&r, 0, F.url, "refs/heads/main", c1, F.when - 60);
    }
    run_release(&r);
    json_decref(st);
}

/* A force push: the commits of the new tip not reachable from the old one. */
static void test_force_push(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *c3;

    (void)state;
    commit("a.txt");
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    run_release(&r);
    sh("cd work && git reset -q --hard HEAD~1");
    c3 = commit("c.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c3, F.when);
    assert_string_equal(known(st, "refs/heads/main"), c3);
    run_release(&r);
    json_decref(st);
}

/* Path filters: a changed path that matches, excluded paths, a commit touching no files. */
static void test_path_filters(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *hit, *hit2;
    int64_t t_hit;

    (void)state;
    commit("a.txt");
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"src/.*\"]", "[\"src/gen/.*\"]", &st);
    run_release(&r);
    hit = commit("src/x.c");
    t_hit = F.when;
    commit("docs/y.md");
    commit("src/gen/z.c");
    commit(NULL);
    sh("cd work && git mv src/x.c docs/x.c");
    hit2 = commit(NULL); /* a rename out of src/: its old path matches */
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"src/.*\"]", "[\"src/gen/.*\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 2);
    assert_trigger(&r, 0, F.url, "refs/heads/main", hit, t_hit);
    assert_trigger(&r, 1, F.url, "refs/heads/main", hit2, F.when);
    assert_true(logged(&r, "because didn't match path filters"));
    run_release(&r);
    json_decref(st);
}

/* A damaged cache is made again; a remote that disappears fails the poll, losing nothing. */
static void test_damaged_cache_and_gone_remote(void **state)
{
    struct run r = {0};
    json_t *st = NULL, *before;
    const char *c2;
    char *text;

    (void)state;
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    run_release(&r);
    sh("for d in data/git/*.git; do rm -rf \"$d/objects\" && echo junk > \"$d/HEAD\"; done");
    c2 = commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_true(logged(&r, "The git cache is damaged"));
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", c2, F.when);
    run_release(&r);

    before = json_deep_copy(st);
    commit("a.txt");
    push("main");
    sh("mv remote.git remote.gone");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_int_equal(n_triggers(&r), 0);
    assert_true(json_equal(st, before));
    run_release(&r);
    sh("mv remote.gone remote.git");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", rev("HEAD"), F.when);
    text = json_dumps(st, JSON_SORT_KEYS);
    assert_non_null(strstr(text, rev("HEAD")));
    free(text);
    run_release(&r);
    json_decref(before);
    json_decref(st);
}

/* A merge: the branch's commits and the merge commit, oldest first; path filters see the merge's diff. */
static void test_merge(void **state)
{
    struct run r = {0};
    json_t *st = NULL;
    const char *f1, *f2, *m1, *merge;
    int64_t t_f1;

    (void)state;
    commit("a.txt");
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"lib/.*\"]", NULL, &st);
    assert_int_equal(r.rc, 0);
    run_release(&r);
    sh("cd work && git checkout -q -b feature");
    f1 = commit("lib/f.c");
    t_f1 = F.when;
    f2 = commit("docs/f.md");
    sh("cd work && git checkout -q main");
    m1 = commit("a.txt");
    F.when += 60;
    sh("cd work && GIT_COMMITTER_DATE='%lld +0000' GIT_AUTHOR_DATE='%lld +0000' "
       "git merge -q --no-ff -m merge feature", (long long)F.when, (long long)F.when);
    merge = rev("HEAD");
    push("main");
    poll_url(&r, F.url, "[\"refs/heads/main\"]", "[\"lib/.*\"]", NULL, &st);
    assert_int_equal(r.rc, 0);
    /* f1 touches lib/; f2 and m1 do not; the merge brings lib/f.c against its first parent. */
    assert_int_equal(n_triggers(&r), 2);
    assert_trigger(&r, 0, F.url, "refs/heads/main", f1, t_f1);
    assert_trigger(&r, 1, F.url, "refs/heads/main", merge, F.when);
    assert_true(logged(&r, f2));
    assert_true(logged(&r, m1));
    assert_string_equal(known(st, "refs/heads/main"), merge);
    run_release(&r);
    json_decref(st);
}

/* ---- credentials ---- */

/* No log line and no error of r contains secret. */
static void assert_secret_absent(const struct run *r, const char *secret)
{
    char *text = json_dumps(r->f.triggers, 0);

    assert_null(strstr(r->f.ctl.err, secret));
    for (size_t i = 0; i < r->f.n_log; i++)
        assert_null(strstr(r->f.log[i], secret));
    assert_null(strstr(text, secret));
    free(text);
}

/* One poll of the authenticated HTTP server with credentials line cred (NULL: none). */
static void poll_with(struct run *r, const char *cred)
{
    struct task_manager *saved = F.m;
    const char *ignored;
    json_t *st = NULL;

    transport_url(T_HTTP_BASIC, &ignored);
    F.m = manager(cred, 60 * NS_PER_SEC, 0);
    poll_(r, "[\"refs/heads/main\"]", &st);
    gitpoll_manager_free(F.m);
    F.m = saved;
    json_decref(st);
}

/* Right credentials pass and stay out of the log; wrong or missing ones fail clearly. */
static void test_http_credentials(void **state)
{
    struct run r = {0};

    (void)state;
    commit("a.txt");
    push("main");
    poll_with(&r, "basic " BASIC_USER ":" BASIC_PASSWORD);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_secret_absent(&r, BASIC_PASSWORD);
    run_release(&r);
    poll_with(&r, "bearer " BEARER_TOKEN);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_secret_absent(&r, BEARER_TOKEN);
    run_release(&r);

    poll_with(&r, NULL);
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_non_null(strstr(r.f.ctl.err, "authentication failed"));
    assert_non_null(strstr(r.f.ctl.err, "--git-credentials gives none"));
    run_release(&r);
    poll_with(&r, "basic " BASIC_USER ":wrong-Pw-7731");
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_non_null(strstr(r.f.ctl.err, "refused the basic credential"));
    assert_secret_absent(&r, "wrong-Pw-7731");
    run_release(&r);
    poll_with(&r, "bearer wrong-Tok-5512");
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_non_null(strstr(r.f.ctl.err, "refused the bearer credential"));
    assert_secret_absent(&r, "wrong-Tok-5512");
    run_release(&r);
}

/*
 * An https:// server whose certificate no trusted CA signed fails the poll
 * with an error that names TLS and the certificate, and no secret.
 */
static void test_https_untrusted(void **state)
{
    struct task_manager *saved = F.m;
    const char *name = strrchr(F.dir, '/') + 1;
    struct run r = {0};
    json_t *st = NULL;

    (void)state;
    commit("a.txt");
    push("main");
    snprintf(F.url, sizeof(F.url), "%s/%s/remote.git", G.https_untrusted.url, name);
    F.m = manager("basic " BASIC_USER ":" BASIC_PASSWORD, 60 * NS_PER_SEC, 0);
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
    assert_non_null(strstr(r.f.ctl.err, "TLS failed"));
    assert_non_null(strstr(r.f.ctl.err, "certificate"));
    assert_int_equal(n_triggers(&r), 0);
    assert_secret_absent(&r, BASIC_PASSWORD);
    run_release(&r);
    gitpoll_manager_free(F.m);
    F.m = saved;
    json_decref(st);
}

/* An ssh key that the server does not authorize fails clearly. */
static void test_ssh_wrong_key(void **state)
{
    struct task_manager *saved = F.m;
    struct run r = {0};
    json_t *st = NULL;
    char line[400];

    (void)state;
    commit("a.txt");
    push("main");
    sh("ssh-keygen -q -t ed25519 -N '' -f other_key");
    snprintf(line, sizeof(line), "ssh-key %s/other_key", F.dir);
    F.m = manager(line, 60 * NS_PER_SEC, 0);
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_non_null(strstr(r.f.ctl.err, "refused the ssh-key credential"));
    run_release(&r);
    gitpoll_manager_free(F.m);
    F.m = saved;
    json_decref(st);
}

/* ---- a remote that hangs ---- */

struct hang {
    pthread_t t;
    char url[128];
    struct run r;
    volatile bool done;
};

static void *hang_main(void *arg)
{
    struct hang *h = arg;
    json_t *st = NULL;

    poll_url(&h->r, h->url, "[\"refs/heads/main\"]", NULL, NULL, &st);
    json_decref(st);
    h->done = true;
    return NULL;
}

/*
 * A TCP port that completes connections (the kernel's backlog) and never
 * answers: each transport's poll fails with a timeout at the deadline,
 * while a poll of another remote on the same manager succeeds meanwhile.
 * http://, https:// and git:// here; ssh:// in the --ssh run (libgit2
 * 1.5's ssh transport leaks its known_hosts list on every connection,
 * which that run's LSan suppressions name).
 */
static void test_hanging_remote(void **state)
{
    static const char *const plain[] = {"http://", "https://", "git://"};
    static const char *const ssh[] = {"ssh://git@", "ssh://git@"};
    const char *const *schemes = F.t == T_SSH ? ssh : plain;
    size_t n_h = F.t == T_SSH ? 2 : 3;
    const char *cred;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct hang h[3];
    struct run r = {0};
    json_t *st = NULL;
    int ls;

    (void)state;
    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 16), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
    F.m = gitpoll_manager_free(F.m);
    transport_url(F.t, &cred);
    /* Long enough for the good poll (an ssh handshake) on a loaded machine. */
    F.m = manager(cred, 8 * NS_PER_SEC, 0);
    commit("a.txt");
    push("main");
    memset(h, 0, sizeof(h));
    for (size_t i = 0; i < n_h; i++) {
        snprintf(h[i].url, sizeof(h[i].url), "%s127.0.0.1:%d/hang.git", schemes[i],
                 ntohs(sa.sin_port));
        assert_int_equal(pthread_create(&h[i].t, NULL, hang_main, &h[i]), 0);
    }
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    for (size_t i = 0; i < n_h; i++)
        assert_false(h[i].done); /* the other job did not wait for the hung ones */
    run_release(&r);
    for (size_t i = 0; i < n_h; i++) {
        pthread_join(h[i].t, NULL);
        if (h[i].r.rc != TASK_ERR_TRANSIENT || !strstr(h[i].r.f.ctl.err, "timed out"))
            fail_msg("%s: rc %d, %s", h[i].url, h[i].r.rc, h[i].r.f.ctl.err);
        run_release(&h[i].r);
    }
    close(ls);
    json_decref(st);
}

/* ---- a remote that disconnects ---- */

/*
 * A TCP proxy in front of the smart HTTP server that closes each
 * connection once `cut` bytes of the server's answer have passed: the
 * remote disconnects at byte `cut` of the ref listing, the negotiation or
 * the pack.  Connections are served one at a time (libgit2 uses one).
 */
struct cutter {
    pthread_t t;
    int ls;
    int port, upstream_port;
    size_t cut;
    atomic_bool stop;
};

static int connect_port(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Forwards between c and u until either closes, the cut or 10 s of silence. */
static void cutter_pipe(struct cutter *k, int c, int u)
{
    size_t passed = 0;
    char buf[4096];

    while (!atomic_load(&k->stop)) {
        struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = u, .events = POLLIN}};
        if (poll(p, 2, 10000) <= 0)
            return;
        if (p[0].revents) {
            ssize_t n = read(c, buf, sizeof(buf));
            if (n <= 0 || write(u, buf, (size_t)n) != n)
                return;
        }
        if (p[1].revents) {
            ssize_t n = read(u, buf, sizeof(buf));
            size_t give = n > 0 ? (size_t)n : 0;
            if (passed + give > k->cut)
                give = k->cut - passed;
            if (n <= 0 || (give > 0 && write(c, buf, give) != (ssize_t)give) ||
                (passed += give) >= k->cut)
                return;
        }
    }
}

static void *cutter_main(void *arg)
{
    struct cutter *k = arg;

    while (!atomic_load(&k->stop)) {
        struct pollfd p = {.fd = k->ls, .events = POLLIN};
        int c, u;
        if (poll(&p, 1, 100) <= 0 || (c = accept(k->ls, NULL, NULL)) < 0)
            continue;
        u = connect_port(k->upstream_port);
        if (u >= 0)
            cutter_pipe(k, c, u);
        if (u >= 0)
            close(u);
        close(c);
    }
    return NULL;
}

static void cutter_start(struct cutter *k, const char *upstream_url)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    const char *colon = strrchr(upstream_url, ':');

    memset(k, 0, sizeof(*k));
    k->upstream_port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
    k->cut = SIZE_MAX;
    k->ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(k->ls >= 0 && k->upstream_port > 0);
    assert_int_equal(bind(k->ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(k->ls, 16), 0);
    assert_int_equal(getsockname(k->ls, (struct sockaddr *)&sa, &len), 0);
    k->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&k->t, NULL, cutter_main, k), 0);
}

static void cutter_stop(struct cutter *k)
{
    atomic_store(&k->stop, true);
    pthread_join(k->t, NULL);
    close(k->ls);
}

/*
 * The remote disconnects at byte N of its answers, for N from 1 to 64 KiB:
 * each poll either fails (transient: retried), emitting nothing and
 * leaving the state as it was, or succeeds whole; at least one fails.
 * Then, with no cut, the three new commits arrive once, oldest first.
 */
static void test_disconnecting_remote(void **state)
{
    const char *refs = "[\"refs/heads/main\"]";
    struct cutter k;
    struct run r = {0};
    json_t *st = NULL, *st1;
    const char *c[3];
    char *before;
    int failed = 0;

    (void)state;
    cutter_start(&k, G.http.url);
    snprintf(F.url, sizeof(F.url), "http://127.0.0.1:%d/%s/remote.git", k.port,
             strrchr(F.dir, '/') + 1);
    commit("a.txt");
    push("main");
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    run_release(&r);
    for (int i = 0; i < 3; i++) {
        sh("cd work && head -c 20000 /dev/urandom | base64 >big%d.txt && git add big%d.txt", i, i);
        c[i] = commit("a.txt");
    }
    push("main");
    before = json_dumps(st, JSON_SORT_KEYS);
    for (size_t cut = 1; cut <= 65536 && failed >= 0; cut *= 4) {
        st1 = json_deep_copy(st);
        k.cut = cut;
        poll_(&r, refs, &st1);
        if (r.rc == 0) {
            assert_int_equal(n_triggers(&r), 3);
        } else {
            char *after = json_dumps(st1, JSON_SORT_KEYS);
            assert_int_equal(r.rc, TASK_ERR_TRANSIENT);
            assert_int_equal(n_triggers(&r), 0);
            assert_string_equal(after, before);
            free(after);
            failed++;
        }
        run_release(&r);
        json_decref(st1);
    }
    assert_true(failed > 0);
    k.cut = SIZE_MAX;
    poll_(&r, refs, &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 3);
    for (int i = 0; i < 3; i++)
        assert_trigger(&r, (size_t)i, F.url, "refs/heads/main", c[i], F.when - 60 * (2 - i));
    run_release(&r);
    free(before);
    json_decref(st);
    cutter_stop(&k);
}

/* ---- the cache's size bound ---- */

static void test_cache_bound(void **state)
{
    struct run r = {0};
    json_t *st = NULL, *before;

    (void)state;
    F.m = gitpoll_manager_free(F.m);
    F.m = manager(NULL, 60 * NS_PER_SEC, 256 * 1024);
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    run_release(&r);
    before = json_deep_copy(st);
    sh("cd work && head -c 400000 /dev/urandom > big.bin && git add big.bin");
    commit(NULL);
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, TASK_ERR_FATAL);
    assert_non_null(strstr(r.f.ctl.err, "the git cache of this remote"));
    assert_non_null(strstr(r.f.ctl.err, "262144"));
    assert_int_equal(n_triggers(&r), 0);
    assert_true(json_equal(st, before));
    run_release(&r);
    json_decref(before);
    json_decref(st);
}

/* A cache no poll used for cache_idle_sec is removed by the next manager's sweep; one in use stays. */
static void test_idle_cache_removed(void **state)
{
    struct run r = {0};
    json_t *st = NULL, *st2 = NULL;
    char other[600];
    FILE *p;
    char line[64] = "";

    (void)state;
    commit("a.txt");
    push("main");
    sh("git clone -q --bare remote.git other.git");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    run_release(&r);
    sh("test $(ls -d data/git/*.git | wc -l) = 1");
    /* That cache was last used 30 days ago. */
    sh("touch -d '30 days ago' data/git/*.git.lock");
    F.m = gitpoll_manager_free(F.m);
    F.m = manager(NULL, 60 * NS_PER_SEC, 0);
    snprintf(other, sizeof(other), "file://%s/other.git", F.dir);
    poll_url(&r, other, "[\"refs/heads/main\"]", NULL, NULL, &st2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    run_release(&r);
    /* Only the other remote's cache is left. */
    snprintf(other, sizeof(other), "cd %s && ls -d data/git/*.git | wc -l", F.dir);
    p = popen(other, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    assert_int_equal(atoi_(line), 1);
    /* The first remote polls again from a new cache, losing nothing. */
    commit("a.txt");
    push("main");
    poll_(&r, "[\"refs/heads/main\"]", &st);
    assert_int_equal(r.rc, 0);
    assert_int_equal(n_triggers(&r), 1);
    assert_trigger(&r, 0, F.url, "refs/heads/main", rev("HEAD"), F.when);
    run_release(&r);
    json_decref(st);
    json_decref(st2);
}

/* ---- main ---- */

static const enum transport all_transports[T_N] = {
    T_FILE, T_LOCAL, T_HTTP, T_HTTP_V0, T_HTTP_BASIC, T_HTTP_BEARER, T_GIT, T_HTTPS_BASIC,
    T_HTTPS_BEARER, T_SSH,
};

/*
 * The cases; "auth": also run behind HTTP basic and bearer auth and over ssh
 * (the rest adds nothing about the transport there, and each ssh session
 * costs about a second in sshd).
 */
static const struct {
    const char *name;
    CMUnitTestFunction f;
    bool auth;
} cases[] = {
    {"new_then_updated", test_new_then_updated, true},
    {"many_commits", test_many_commits, false},
    {"tags_and_deleted", test_tags_and_deleted, true},
    {"force_push", test_force_push, true},
    {"merge", test_merge, false},
    {"path_filters", test_path_filters, false},
    {"damaged_cache_and_gone_remote", test_damaged_cache_and_gone_remote, true},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static char names[T_N * N_CASES][96];

/* The cases table over transports [from, to). */
static size_t table(struct CMUnitTest *v, size_t n, enum transport from, enum transport to)
{
    for (enum transport t = from; t < to; t++)
        for (size_t i = 0; i < N_CASES; i++) {
            if ((t == T_HTTP_BASIC || t == T_HTTP_BEARER || t == T_HTTPS_BASIC ||
                 t == T_HTTPS_BEARER || t == T_SSH) && !cases[i].auth)
                continue;
            snprintf(names[n], sizeof(names[n]), "%s: %s", transport_names[t], cases[i].name);
            v[n] = (struct CMUnitTest){names[n], cases[i].f, setup, teardown,
                                       (void *)&all_transports[t]};
            n++;
        }
    return n;
}

int main(int argc, char **argv)
{
    struct CMUnitTest v[T_N * N_CASES + 8];
    char home[256];
    size_t n;
    int failed;

    if (argc > 1 && strcmp(argv[1], "--ssh") == 0) {
        n = table(v, 0, T_SSH, T_N);
        v[n++] = (struct CMUnitTest){"ssh: wrong key", test_ssh_wrong_key, setup, teardown,
                                     (void *)&all_transports[T_SSH]};
        v[n++] = (struct CMUnitTest){"ssh: hanging remote", test_hanging_remote, setup,
                                     teardown, (void *)&all_transports[T_SSH]};
        if (start_servers(true) < 0 || G.ssh.skip[0]) {
            printf("SKIP: ssh:// tests: %s\n", G.ssh.skip[0] ? G.ssh.skip : "no directory");
            group_teardown(NULL);
            return 77;
        }
        /* libgit2 checks the host key against $HOME/.ssh/known_hosts, as ssh does. */
        snprintf(home, sizeof(home), "%s/home", G.base);
        sh_in(G.base, "mkdir -p home/.ssh && cp sshd/known_hosts home/.ssh/known_hosts");
        setenv("HOME", home, 1);
        failed = _cmocka_run_group_tests("git-ssh", v, n, NULL, group_teardown);
        return failed;
    }
    n = table(v, 0, T_FILE, T_SSH);
    v[n++] = (struct CMUnitTest){"http credentials", test_http_credentials, setup, teardown, NULL};
    v[n++] = (struct CMUnitTest){"hanging remote", test_hanging_remote, setup, teardown, NULL};
    v[n++] = (struct CMUnitTest){"https: untrusted certificate", test_https_untrusted, setup,
                                 teardown, NULL};
    v[n++] = (struct CMUnitTest){"http: disconnecting remote", test_disconnecting_remote, setup,
                                 teardown, (void *)&all_transports[T_HTTP]};
    v[n++] = (struct CMUnitTest){"http: 100,000 refs", test_many_refs, setup, teardown,
                                 (void *)&all_transports[T_HTTP]};
    v[n++] = (struct CMUnitTest){"http-v0: 100,000 refs", test_many_refs, setup, teardown,
                                 (void *)&all_transports[T_HTTP_V0]};
    v[n++] = (struct CMUnitTest){"cache bound", test_cache_bound, setup, teardown, NULL};
    v[n++] = (struct CMUnitTest){"idle cache removed", test_idle_cache_removed, setup, teardown,
                                 NULL};
    return _cmocka_run_group_tests("git", v, n, group_setup, group_teardown);
}
