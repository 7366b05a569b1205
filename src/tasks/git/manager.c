/*
 * manager.c - the git task manager: a gitiles-style poll (gt-poll.h) whose
 * refs and commits come from any git remote through libgit2 and a local
 * bare cache.  See gitpoll.h for the contract.
 */
#include "tasks/git/gitpoll.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <dirent.h>
#include <git2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/limits.h"
#include "base/time.h"
#include "tasks/git/gp-lsrefs.h"
#include "tasks/git/gp-stream.h"
#include "base/base64.h"
#include "net/prpc.h"
#include "tasks/gitiles/gt-poll.h"
#include "tasks/taskjson.h"

#define GP_MAX_PATH 4096
#define GP_SYSTEM_CA_DIR "/etc/ssl/certs" /* Debian's ca-certificates */

struct gp_manager {
    struct task_manager m; /* first; m.ctx points back here */
    char *data_dir;
    char *credentials_file;
    uint64_t max_fetch_bytes;
    int64_t timeout_ns;
    uint64_t max_cache_bytes;
    int64_t cache_idle_sec;
    struct client *client; /* borrowed; NULL = no protocol v2 listing */
    _Atomic int64_t last_sweep; /* CLOCK_MONOTONIC s of the last idle-cache sweep; 0 = never */
};

enum gp_cred_kind { GP_CRED_NONE, GP_CRED_BEARER, GP_CRED_BASIC, GP_CRED_SSH_KEY };

struct gp_cred {
    enum gp_cred_kind kind;
    char value[GITPOLL_MAX_CREDENTIALS]; /* token, "user:password" or a key path */
    char header[GITPOLL_MAX_CREDENTIALS + 32];
    int tries;
    bool refused; /* libgit2 asked again: the remote refused what we gave, or wants other */
};

/* One poll's source (struct gt_source_ops). */
struct gp_source {
    const struct gp_manager *gm;
    struct task_ctl *c;
    const char *url;
    char path[GP_MAX_PATH]; /* the cache */
    int lock_fd;
    git_repository *repo;
    struct gt_refs all; /* every ref the remote listed, sorted */
    bool listed;
    struct gp_cred cred;
    int64_t deadline;
    bool too_big, too_slow, cache_full;
    uint64_t cache_bytes; /* measured before a fetch */
    bool v2;                 /* refs are listed with ls-refs (gp-lsrefs.h) */
    struct gp_v2_caps caps;
    char v2_auth[GITPOLL_MAX_CREDENTIALS * 2 + 64]; /* its Authorization line, or "" */
};

/* ---- errors ---- */

static const char *const cred_names[] = {"none", "bearer", "basic", "ssh-key"};

/* The remote refused the credential (or wants one): FAILED, naming the kind, never the value. */
static int auth_failed(const struct gp_source *s, const char *what, struct client_error *e)
{
    if (s->cred.kind == GP_CRED_NONE)
        client_error_set(e, GRPC_UNAUTHENTICATED, false, "%s: authentication failed: the remote "
                         "asks for credentials and --git-credentials gives none", what);
    else
        client_error_set(e, GRPC_UNAUTHENTICATED, false, "%s: authentication failed: the remote "
                         "refused the %s credential of the git credentials file", what,
                         cred_names[s->cred.kind]);
    return -EIO;
}

/* The last libgit2 error as *e (transient unless one of our bounds cut it). */
static int git_failed(struct gp_source *s, const char *what, struct client_error *e)
{
    const git_error *ge = git_error_last();
    const char *msg = ge && ge->message ? ge->message : "unknown error";

    if (s->cache_full)
        client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false,
                         "%s: the git cache of this remote would pass its limit of %llu bytes",
                         what, (unsigned long long)s->gm->max_cache_bytes);
    else if (s->too_big)
        client_error_set(e, GRPC_RESOURCE_EXHAUSTED, true, "%s: more than %llu bytes", what,
                         (unsigned long long)s->gm->max_fetch_bytes);
    else if (s->too_slow || gp_stream_timed_out() || clock_mono_ns() >= s->deadline)
        client_error_set(e, GRPC_DEADLINE_EXCEEDED, true,
                         "%s: timed out: no answer within the git poll's deadline of %lld s "
                         "(%.300s)", what, (long long)(s->gm->timeout_ns / NS_PER_SEC), msg);
    else if (ge && ge->klass == GIT_ERROR_SSL)
        client_error_set(e, GRPC_UNAVAILABLE, true, "%s: TLS failed, the server's certificate is "
                         "not trusted or the handshake failed (give a private CA with --ca-file): "
                         "%.300s", what, msg);
    else if (s->cred.refused)
        return auth_failed(s, what, e);
    else
        client_error_set(e, GRPC_UNAVAILABLE, true, "%s: %.400s", what, msg);
    return -EIO;
}

/* ---- credentials ---- */

/* Reads the credentials file (gitpoll.h) into s->cred; no file configured = none. */
static int read_credentials(struct gp_source *s, struct client_error *e)
{
    const char *file = s->gm->credentials_file;
    char line[GITPOLL_MAX_CREDENTIALS];
    FILE *f;
    int r = 0;

    s->cred.kind = GP_CRED_NONE;
    if (!file)
        return 0;
    f = fopen(file, "re");
    if (!f) {
        client_error_set(e, GRPC_UNAVAILABLE, true, "cannot read the git credentials file");
        return -EIO;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        const char *sp = strchr(line, ' ');
        size_t kl = sp ? (size_t)(sp - line) : 0;
        if (sp && kl == 6 && memcmp(line, "bearer", 6) == 0)
            s->cred.kind = GP_CRED_BEARER;
        else if (sp && kl == 5 && memcmp(line, "basic", 5) == 0 && strchr(sp + 1, ':'))
            s->cred.kind = GP_CRED_BASIC;
        else if (sp && kl == 7 && memcmp(line, "ssh-key", 7) == 0)
            s->cred.kind = GP_CRED_SSH_KEY;
        else
            r = -EINVAL;
        if (r == 0)
            snprintf(s->cred.value, sizeof(s->cred.value), "%s", sp + 1);
        break;
    }
    fclose(f);
    explicit_bzero(line, sizeof(line));
    if (r < 0) {
        client_error_set(e, GRPC_INVALID_ARGUMENT, false,
                         "the git credentials file is not 'bearer', 'basic' or 'ssh-key'");
        return -EIO;
    }
    if (s->cred.kind == GP_CRED_BEARER)
        snprintf(s->cred.header, sizeof(s->cred.header), "Authorization: Bearer %s",
                 s->cred.value);
    return 0;
}

static bool url_is_http(const char *url)
{
    return strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
}

/* libgit2 asks for credentials: answer once, with what the file gave. */
static int on_credentials(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    struct gp_source *s = payload;
    char user[512];
    const char *colon;

    (void)url;
    if (allowed == GIT_CREDENTIAL_USERNAME) /* ssh:// without a user: the doc's "git" */
        return git_credential_username_new(out, user_from_url ? user_from_url : "git");
    if (s->cred.tries++ > 0 || s->cred.kind == GP_CRED_NONE || s->cred.kind == GP_CRED_BEARER) {
        s->cred.refused = true; /* a second ask, or an ask after the bearer header */
        return GIT_PASSTHROUGH;
    }
    if (s->cred.kind == GP_CRED_BASIC && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
        colon = strchr(s->cred.value, ':');
        snprintf(user, sizeof(user), "%.*s", (int)(colon - s->cred.value), s->cred.value);
        return git_credential_userpass_plaintext_new(out, user, colon + 1);
    }
    if (s->cred.kind == GP_CRED_SSH_KEY && (allowed & GIT_CREDENTIAL_SSH_KEY))
        return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL,
                                          s->cred.value, NULL);
    s->cred.refused = true;
    return GIT_PASSTHROUGH;
}

/* ---- bounds ---- */

static int on_transfer(const git_indexer_progress *st, void *payload)
{
    struct gp_source *s = payload;

    if (st->received_bytes > s->gm->max_fetch_bytes) {
        s->too_big = true;
        return -1;
    }
    if (s->cache_bytes + st->received_bytes > s->gm->max_cache_bytes) {
        s->cache_full = true;
        return -1;
    }
    if (clock_mono_ns() > s->deadline) {
        s->too_slow = true;
        return -1;
    }
    return 0;
}

static int on_sideband(const char *str, int len, void *payload)
{
    struct gp_source *s = payload;

    (void)str;
    (void)len;
    if (clock_mono_ns() > s->deadline) {
        s->too_slow = true;
        return -1;
    }
    return 0;
}

static void set_callbacks(struct gp_source *s, git_remote_callbacks *cb)
{
    cb->credentials = on_credentials;
    cb->transfer_progress = on_transfer;
    cb->sideband_progress = on_sideband;
    cb->payload = s;
}

/* The bearer header, on http(s) only.  hv is the storage of *ret. */
static void set_headers(struct gp_source *s, char **hv, git_strarray *ret)
{
    ret->strings = NULL;
    ret->count = 0;
    if (s->cred.kind == GP_CRED_BEARER && url_is_http(s->url)) {
        hv[0] = s->cred.header;
        ret->strings = hv;
        ret->count = 1;
    }
}

/* ---- the cache ---- */

/* Removes path and everything under it (at most depth levels). */
static void rm_tree(const char *path, int depth)
{
    char sub[GP_MAX_PATH];
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode) && depth > 0 && (d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) < sizeof(sub))
                rm_tree(sub, depth - 1);
        }
        closedir(d);
    }
    remove(path);
}

/* Adds the sizes of the files under path (at most depth levels) to *bytes; *files counts. */
static void du_tree(const char *path, int depth, uint64_t *bytes, size_t *files)
{
    char sub[GP_MAX_PATH];
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (++*files > LIMIT_GIT_CACHE_FILES || lstat(path, &st) < 0)
        return;
    *bytes += (uint64_t)st.st_size;
    if (!S_ISDIR(st.st_mode) || depth <= 0 || (d = opendir(path)) == NULL)
        return;
    while ((de = readdir(d)) != NULL && *files <= LIMIT_GIT_CACHE_FILES) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) < sizeof(sub))
            du_tree(sub, depth - 1, bytes, files);
    }
    closedir(d);
}

/* The cache's size in bytes; one with too many files to count is taken as full. */
static uint64_t cache_size(const struct gp_source *s)
{
    uint64_t bytes = 0;
    size_t files = 0;

    du_tree(s->path, 32, &bytes, &files);
    return files > LIMIT_GIT_CACHE_FILES ? UINT64_MAX / 2 : bytes;
}

/* Fails the poll (for good) when the cache has passed its limit. */
static int check_cache_size(struct gp_source *s, struct client_error *e)
{
    s->cache_bytes = cache_size(s);
    if (s->cache_bytes <= s->gm->max_cache_bytes)
        return 0;
    s->cache_full = true;
    client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false,
                     "the git cache of this remote is %llu bytes, over its limit of %llu bytes",
                     (unsigned long long)s->cache_bytes,
                     (unsigned long long)s->gm->max_cache_bytes);
    return -EIO;
}

/* <data_dir>/git/<sha1 of url>.git, and its lock file, made if missing. */
static int cache_path(struct gp_source *s, struct client_error *e)
{
    char dir[GP_MAX_PATH], lock[GP_MAX_PATH + 8], hex[GIT_OID_HEXSZ + 1];
    git_oid id;
    int n;

    if (git_odb_hash(&id, s->url, strlen(s->url), GIT_OBJECT_BLOB) < 0)
        return git_failed(s, "cannot name the cache", e);
    git_oid_tostr(hex, sizeof(hex), &id);
    n = snprintf(dir, sizeof(dir), "%s/git", s->gm->data_dir);
    if (n < 0 || (size_t)n >= sizeof(dir) ||
        (size_t)snprintf(s->path, sizeof(s->path), "%s/%s.git", dir, hex) >= sizeof(s->path)) {
        client_error_set(e, GRPC_INVALID_ARGUMENT, false, "the data directory name is too long");
        return -EIO;
    }
    snprintf(lock, sizeof(lock), "%s.lock", s->path);
    if ((mkdir(s->gm->data_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
        client_error_set(e, GRPC_UNAVAILABLE, true, "cannot make %.300s: %s", dir,
                         strerror(errno));
        return -EIO;
    }
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX) < 0) {
        client_error_set(e, GRPC_UNAVAILABLE, true, "cannot lock %.300s: %s", lock,
                         strerror(errno));
        return -EIO;
    }
    futimens(s->lock_fd, NULL); /* the lock's mtime: when the cache was last used */
    return 0;
}

/* Opens the bare cache; one that cannot be opened is removed and made again. */
static int cache_open(struct gp_source *s, struct client_error *e)
{
    git_odb *odb = NULL;
    int r;

    r = cache_path(s, e);
    if (r < 0)
        return r;
    if (git_repository_open_bare(&s->repo, s->path) == 0) {
        r = git_repository_odb(&odb, s->repo);
        git_odb_free(odb);
        if (r == 0)
            return 0;
        git_repository_free(s->repo);
        s->repo = NULL;
    }
    if (access(s->path, F_OK) == 0) {
        task_ctl_logf(s->c, "The git cache is damaged, making it again");
        rm_tree(s->path, 32);
    }
    if (git_repository_init(&s->repo, s->path, 1) < 0)
        return git_failed(s, "cannot make the git cache", e);
    return 0;
}

/* Removes cache <dir>/<name> (a "<hex>.git.lock") when idle and nobody holds its lock. */
static void sweep_one(const struct gp_manager *gm, const char *dir, const char *name,
                      time_t now)
{
    char lock[GP_MAX_PATH], cache[GP_MAX_PATH];
    struct stat st;
    size_t n = strlen(name);
    int fd;

    if (n != GIT_OID_HEXSZ + 9 || strcmp(name + GIT_OID_HEXSZ, ".git.lock") != 0 ||
        (size_t)snprintf(lock, sizeof(lock), "%s/%s", dir, name) >= sizeof(lock))
        return;
    snprintf(cache, sizeof(cache), "%.*s", (int)(strlen(lock) - 5), lock);
    fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
        now - st.st_mtime > gm->cache_idle_sec) {
        rm_tree(cache, 32);
        unlink(lock);
    }
    close(fd);
}

/* At most once per LIMIT_GIT_CACHE_SWEEP_SEC: removes the caches no poll used for cache_idle_sec. */
static void sweep_idle(struct gp_manager *gm)
{
    int64_t mono = clock_mono_ns() / NS_PER_SEC + 1, last = gm->last_sweep;
    char dir[GP_MAX_PATH];
    struct dirent *de;
    DIR *d;

    if ((last && mono - last < LIMIT_GIT_CACHE_SWEEP_SEC) ||
        !atomic_compare_exchange_strong(&gm->last_sweep, &last, mono))
        return;
    if ((size_t)snprintf(dir, sizeof(dir), "%s/git", gm->data_dir) >= sizeof(dir) ||
        (d = opendir(dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL)
        sweep_one(gm, dir, de->d_name, time(NULL));
    closedir(d);
}

/* ---- the source ---- */

/*
 * An anonymous remote of the cache, without url.insteadOf (the cache has
 * no such config, and libgit2 1.5 leaks that lookup's regexp match data).
 */
static int make_remote(struct gp_source *s, git_remote **ret)
{
    git_remote_create_options o;

    if (git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION) < 0)
        return -1;
    o.repository = s->repo;
    o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    return git_remote_create_with_opts(ret, s->url, &o);
}

/* Lists the remote's refs into s->all: peeled entries, HEAD and symbolic refs dropped. */
static int list_remote(struct gp_source *s, struct client_error *e)
{
    git_remote_callbacks cb;
    const git_remote_head **heads;
    git_strarray headers;
    git_remote *rm = NULL;
    char *hv[1], sha[GIT_OID_HEXSZ + 1];
    size_t n;
    int r = 0;

    git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
    set_callbacks(s, &cb);
    set_headers(s, hv, &headers);
    if (make_remote(s, &rm) < 0 ||
        git_remote_connect(rm, GIT_DIRECTION_FETCH, &cb, NULL, &headers) < 0 ||
        git_remote_ls(&heads, &n, rm) < 0) {
        r = git_failed(s, "failed to list the remote's refs", e);
        goto out;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *name = heads[i]->name;
        size_t len = strlen(name);
        if (strncmp(name, "refs/", 5) != 0 || heads[i]->symref_target ||
            (len > 3 && strcmp(name + len - 3, "^{}") == 0))
            continue;
        if (len > GT_MAX_REF) {
            client_error_set(e, GRPC_INTERNAL, false, "a ref name is too long");
            r = -EIO;
            break;
        }
        git_oid_tostr(sha, sizeof(sha), &heads[i]->oid);
        if (gt_refs_add(&s->all, name, sha) < 0) {
            client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false, "the remote lists more than %d "
                             "refs, more than a poll takes", GT_MAX_REFS);
            r = -EIO;
        }
    }
    gt_refs_sort(&s->all);
out:
    if (rm)
        git_remote_disconnect(rm);
    git_remote_free(rm);
    return r;
}

/* ---- protocol v2 listing (gp-lsrefs.h) ---- */

static void v2_remote(const struct gp_source *s, struct gp_v2_remote *rm)
{
    *rm = (struct gp_v2_remote){
        .client = s->gm->client,
        .url = s->url,
        .auth = s->v2_auth[0] ? s->v2_auth : NULL,
        .timeout_ns = s->deadline - clock_mono_ns(),
    };
}

/* A v2 call's error as the poll reports it (the libgit2 path's wording). */
static int v2_failed(struct gp_source *s, long status, struct client_error *e)
{
    char msg[sizeof(e->message)];

    if (status == 401 || status == 403) {
        s->cred.refused = true;
        return auth_failed(s, "failed to list the remote's refs", e);
    }
    snprintf(msg, sizeof(msg), "%s", e->message);
    if (e->code == GRPC_DEADLINE_EXCEEDED)
        client_error_set(e, GRPC_DEADLINE_EXCEEDED, true, "failed to list the remote's refs: "
                         "timed out: no answer within the git poll's deadline of %lld s (%.300s)",
                         (long long)(s->gm->timeout_ns / NS_PER_SEC), msg);
    else
        client_error_set(e, e->code, e->transport, "failed to list the remote's refs: %.400s",
                         msg);
    return -EIO;
}

/* "Authorization: Basic <base64 user:password>" into s->v2_auth. */
static int v2_basic(struct gp_source *s)
{
    static const char head[] = "Authorization: Basic ";
    ssize_t n;

    memcpy(s->v2_auth, head, sizeof(head));
    n = base64_encode(BASE64_STD, s->cred.value, strlen(s->cred.value),
                      s->v2_auth + sizeof(head) - 1, sizeof(s->v2_auth) - sizeof(head) + 1);
    return n < 0 ? -E2BIG : 0;
}

/*
 * Asks an http(s) remote whether it speaks v2 (s->v2).  A bearer token is
 * sent at once (as libgit2's custom header is); basic only when the
 * server asks (401), as libgit2 does.
 */
static int v2_start(struct gp_source *s, struct client_error *e)
{
    struct gp_v2_remote rm;
    long status = 0;
    int r;

    if (s->cred.kind == GP_CRED_BEARER)
        snprintf(s->v2_auth, sizeof(s->v2_auth), "%s", s->cred.header);
    v2_remote(s, &rm);
    r = gp_v2_probe(&rm, &s->caps, &status, e);
    if (r < 0 && status == 401 && s->cred.kind == GP_CRED_BASIC && v2_basic(s) == 0) {
        v2_remote(s, &rm);
        r = gp_v2_probe(&rm, &s->caps, &status, e);
    }
    if (r < 0)
        return v2_failed(s, status, e);
    s->v2 = s->caps.v2 && s->caps.ls_refs;
    return 0;
}

static int v2_fetch_refs(struct gp_source *s, const char *prefix, struct gt_refs *out,
                         struct client_error *e)
{
    struct gp_v2_remote rm;
    long status = 0;

    v2_remote(s, &rm);
    if (gp_v2_ls_refs(&rm, &s->caps, prefix, out, &status, e) < 0)
        return e->code == GRPC_RESOURCE_EXHAUSTED ? -EIO : v2_failed(s, status, e);
    gt_refs_sort(out);
    return 0;
}

static int gp_fetch_refs(void *src, const char *prefix, struct gt_refs *out,
                         struct client_error *e)
{
    struct gp_source *s = src;
    size_t pl = strlen(prefix);
    int r = 0;

    if (!s->listed) {
        r = cache_open(s, e);
        if (r == 0 && s->gm->client && url_is_http(s->url))
            r = v2_start(s, e);
        if (r == 0 && !s->v2)
            r = list_remote(s, e);
        if (r < 0)
            return r;
        s->listed = true;
    }
    if (s->v2)
        return v2_fetch_refs(s, prefix, out, e);
    for (size_t i = 0; i < s->all.n && r == 0; i++) {
        const char *name = s->all.v[i].name;
        if (strncmp(name, prefix, pl) == 0 && (name[pl] == '/' || name[pl] == '\0'))
            r = gt_refs_add(out, name, s->all.v[i].sha);
    }
    if (r < 0)
        client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false, "too many refs");
    return r < 0 ? -EIO : 0;
}

static bool have_object(git_repository *repo, const char *sha)
{
    git_odb *odb = NULL;
    git_oid id;
    bool have;

    if (git_oid_fromstr(&id, sha) < 0 || git_repository_odb(&odb, repo) < 0)
        return false;
    have = git_odb_exists(odb, &id) != 0;
    git_odb_free(odb);
    return have;
}

static int ref_by_sha(const void *a, const void *b)
{
    const struct gt_ref *x = *(const struct gt_ref *const *)a, *y = *(const struct gt_ref *const *)b;

    return strcmp(x->sha, y->sha);
}

static void free_refspecs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/*
 * "+<ref>:refs/tock/<ref minus refs/>" for each tip the cache lacks, once
 * per distinct tip: 100,000 tags on one commit are one refspec, not
 * 100,000 (which libgit2 would negotiate and write one by one).
 */
static int wanted_refspecs(struct gp_source *s, const struct gt_refs *current, char ***ret,
                           size_t *ret_n)
{
    const struct gt_ref **by = malloc((current->n + 1) * sizeof(*by));
    char **v = calloc(current->n + 1, sizeof(*v));
    size_t n = 0;
    int r = -ENOMEM;

    if (!by || !v)
        goto out;
    for (size_t i = 0; i < current->n; i++)
        by[i] = &current->v[i];
    sort_array(by, current->n, sizeof(*by), ref_by_sha);
    for (size_t i = 0; i < current->n; i++) {
        const struct gt_ref *ref = by[i];
        size_t len = 2 * strlen(ref->name) + 16;
        if ((i > 0 && strcmp(by[i - 1]->sha, ref->sha) == 0) || have_object(s->repo, ref->sha))
            continue;
        v[n] = malloc(len);
        if (!v[n])
            goto out;
        snprintf(v[n], len, "+%s:refs/tock/%s", ref->name, ref->name + 5);
        n++;
    }
    *ret = v;
    *ret_n = n;
    v = NULL;
    r = 0;
out:
    if (v)
        free_refspecs(v, n);
    free(by);
    return r;
}

/* Fetches what the watched refs need into the cache (only new objects travel). */
static int gp_prepare(void *src, const struct gt_refs *current, struct client_error *e)
{
    struct gp_source *s = src;
    git_fetch_options fo;
    git_remote *rm = NULL;
    git_strarray specs;
    char **v = NULL, *hv[1];
    size_t n = 0;
    int r;

    if (wanted_refspecs(s, current, &v, &n) < 0) {
        client_error_set(e, GRPC_RESOURCE_EXHAUSTED, false, "out of memory");
        return -EIO;
    }
    r = n > 0 ? check_cache_size(s, e) : 0;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    if (n > 0 && r == 0) {
        set_callbacks(s, &fo.callbacks);
        set_headers(s, hv, &fo.custom_headers);
        fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
        fo.update_fetchhead = 0;
        fo.prune = GIT_FETCH_NO_PRUNE;
        specs.strings = v;
        specs.count = n;
        s->cred.tries = 0;
        if (make_remote(s, &rm) < 0 ||
            git_remote_fetch(rm, &specs, &fo, NULL) < 0)
            r = git_failed(s, "failed to fetch from the remote", e);
        git_remote_free(rm);
        if (r == 0)
            r = check_cache_size(s, e);
    }
    free_refspecs(v, n);
    return r;
}

/* Adds p to the commit's paths (NULL and duplicates of the last skipped). */
static int add_path(struct gt_commit *cm, const char *p)
{
    char **v;

    if (!p || !p[0] || cm->n_paths >= GT_MAX_PATHS ||
        (cm->n_paths > 0 && strcmp(cm->paths[cm->n_paths - 1], p) == 0))
        return 0;
    v = realloc(cm->paths, (cm->n_paths + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    cm->paths = v;
    v[cm->n_paths] = strdup(p);
    if (!v[cm->n_paths])
        return -ENOMEM;
    cm->n_paths++;
    return 0;
}

/* The paths a commit changed against its first parent (every path of a root commit). */
static int commit_paths(git_repository *repo, git_commit *commit, struct gt_commit *cm)
{
    git_commit *parent = NULL;
    git_tree *old = NULL, *new_ = NULL;
    git_diff *diff = NULL;
    int r = -EIO;

    if (git_commit_parentcount(commit) > 0 &&
        (git_commit_parent(&parent, commit, 0) < 0 || git_commit_tree(&old, parent) < 0))
        goto out;
    if (git_commit_tree(&new_, commit) < 0 ||
        git_diff_tree_to_tree(&diff, repo, old, new_, NULL) < 0)
        goto out;
    r = 0;
    for (size_t i = 0; i < git_diff_num_deltas(diff) && r == 0; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        if (d->status != GIT_DELTA_ADDED)
            r = add_path(cm, d->old_file.path);
        if (r == 0 && d->status != GIT_DELTA_DELETED)
            r = add_path(cm, d->new_file.path);
    }
out:
    git_diff_free(diff);
    git_tree_free(old);
    git_tree_free(new_);
    git_commit_free(parent);
    return r;
}

/* Appends commit id (with its paths when tree_diff) to out. */
static int add_commit(struct gp_source *s, const git_oid *id, bool tree_diff,
                      struct gt_commits *out)
{
    git_commit *commit = NULL;
    struct gt_commit *cm;
    int r = -EIO;

    if (git_commit_lookup(&commit, s->repo, id) < 0)
        return -EIO;
    if (out->n == out->alloc) {
        size_t na = out->alloc ? 2 * out->alloc : 16;
        struct gt_commit *v = realloc(out->v, na * sizeof(*v));
        if (!v)
            goto out;
        out->v = v;
        out->alloc = na;
    }
    cm = &out->v[out->n];
    memset(cm, 0, sizeof(*cm));
    out->n++;
    git_oid_tostr(cm->sha, sizeof(cm->sha), id);
    cm->committed = (int64_t)git_commit_committer(commit)->when.time * NS_PER_SEC;
    r = tree_diff ? commit_paths(s->repo, commit, cm) : 0;
out:
    git_commit_free(commit);
    return r;
}

static int not_found(struct client_error *e, const char *what)
{
    client_error_set(e, GRPC_NOT_FOUND, false, "%s not found in the git cache", what);
    return -EIO;
}

static int gp_fetch_log(void *src, const char *committish, size_t limit, bool tree_diff,
                        struct gt_commits *out, struct client_error *e)
{
    struct gp_source *s = src;
    char old[GT_SHA_LEN + 1] = "", new_[GT_SHA_LEN + 1];
    const char *dots = strstr(committish, "..");
    git_revwalk *walk = NULL;
    git_oid id;
    int r = 0;

    if (dots && dots - committish == GT_SHA_LEN) {
        memcpy(old, committish, GT_SHA_LEN);
        committish = dots + 2;
    }
    snprintf(new_, sizeof(new_), "%s", committish);
    if (!gt_sha_valid(new_) || (old[0] && !gt_sha_valid(old)))
        return not_found(e, "revision");
    if (!have_object(s->repo, new_))
        return not_found(e, new_);
    if (old[0] && !have_object(s->repo, old))
        return not_found(e, old);
    if (git_revwalk_new(&walk, s->repo) < 0)
        return git_failed(s, "cannot walk the git cache", e);
    git_revwalk_sorting(walk, GIT_SORT_TIME);
    git_oid_fromstr(&id, new_);
    if (git_revwalk_push(walk, &id) < 0)
        r = -EIO;
    if (r == 0 && old[0] && git_oid_fromstr(&id, old) == 0 && git_revwalk_hide(walk, &id) < 0)
        r = -EIO;
    while (r == 0 && out->n < limit && git_revwalk_next(&id, walk) == 0)
        r = add_commit(s, &id, tree_diff, out);
    git_revwalk_free(walk);
    if (r < 0) {
        gt_commits_release(out);
        return git_failed(s, "cannot read the git cache", e);
    }
    return 0;
}

static const struct gt_source_ops git_ops = {
    .fetch_refs = gp_fetch_refs,
    .prepare = gp_prepare,
    .fetch_log = gp_fetch_log,
};

/* The URL is the state's key: host "git", project the URL. */
static int check_url(struct gt_poll *p, void *arg)
{
    (void)arg;
    if (strlen(p->repo_url) >= sizeof(p->repo.project))
        return gt_poll_fatal(p->c, "the git url is too long");
    snprintf(p->repo.host, sizeof(p->repo.host), "git");
    snprintf(p->repo.project, sizeof(p->repo.project), "%s", p->repo_url);
    return 0;
}

static void source_release(struct gp_source *s)
{
    git_repository_free(s->repo);
    gt_refs_release(&s->all);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    explicit_bzero(&s->cred, sizeof(s->cred));
    explicit_bzero(s->v2_auth, sizeof(s->v2_auth));
}

static int gp_launch(const struct task_manager *m, struct task_ctl *c)
{
    struct gp_manager *gm = m->ctx;
    struct gp_source s = {.gm = gm, .c = c, .lock_fd = -1};
    struct gt_poll p = {.c = c, .ops = &git_ops, .src = &s, .source_name = "git",
                        .git_payload = true};
    struct client_error e;
    int r;

    r = gt_poll_config(&p, taskjson_body(c->task, "git", NULL), "url", check_url, NULL);
    if (r == 0) {
        s.url = p.repo_url;
        s.deadline = clock_mono_ns() + gm->timeout_ns;
        r = read_credentials(&s, &e);
        if (r < 0)
            r = gt_poll_fatal(c, e.message);
    }
    if (r == 0) {
        gp_stream_set_deadline(s.deadline);
        r = gt_poll_run(&p);
        gp_stream_set_deadline(0);
    }
    /* The engine keeps c->err for its own log; the invocation's debug log says it too. */
    if (r < 0 && c->err[0])
        task_ctl_logf(c, "The poll failed: %s", c->err);
    gt_poll_release(&p);
    source_release(&s);
    sweep_idle(gm);
    return r;
}

/*
 * The CAs libgit2 trusts for https://: ca_file and the system's directory.
 * Both are given because libgit2's mbedTLS back end (Debian's) replaces
 * its whole chain with what this call names.
 */
static int gp_tls_set_cas(const char *ca_file)
{
    struct stat st;
    const char *dir = stat(GP_SYSTEM_CA_DIR, &st) == 0 && S_ISDIR(st.st_mode) ? GP_SYSTEM_CA_DIR
                                                                              : NULL;

    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, dir) < 0 ? -EIO : 0;
}

int gitpoll_manager_new(const struct gitpoll_options *o, struct task_manager **ret)
{
    struct gp_manager *gm;
    int r = -ENOMEM;

    if (!o || !o->data_dir || !o->data_dir[0] || !ret)
        return -EINVAL;
    gm = calloc(1, sizeof(*gm));
    if (!gm)
        return -ENOMEM;
    gm->data_dir = strdup(o->data_dir);
    gm->credentials_file = o->credentials_file ? strdup(o->credentials_file) : NULL;
    if (!gm->data_dir || (o->credentials_file && !gm->credentials_file))
        goto fail;
    r = -EIO;
    if (git_libgit2_init() < 0)
        goto fail;
    if (gp_stream_install() < 0 || (o->ca_file && gp_tls_set_cas(o->ca_file) < 0)) {
        git_libgit2_shutdown();
        goto fail;
    }
    gm->max_fetch_bytes = o->max_fetch_bytes ? o->max_fetch_bytes : GITPOLL_MAX_FETCH_BYTES;
    gm->timeout_ns = o->timeout_ns > 0 ? o->timeout_ns : GITPOLL_TIMEOUT_NS;
    gm->max_cache_bytes = o->max_cache_bytes ? o->max_cache_bytes : LIMIT_GIT_CACHE_BYTES;
    gm->cache_idle_sec = o->cache_idle_sec > 0 ? o->cache_idle_sec : LIMIT_GIT_CACHE_IDLE_SEC;
    gm->client = o->client;
    gm->m = (struct task_manager){
        .name = "git",
        .multistage = false,
        .fast = false,
        .ctx = gm,
        .launch = gp_launch,
    };
    *ret = &gm->m;
    return 0;
fail:
    free(gm->data_dir);
    free(gm->credentials_file);
    free(gm);
    return r;
}

struct task_manager *gitpoll_manager_free(struct task_manager *m)
{
    struct gp_manager *gm;

    if (!m)
        return NULL;
    gm = m->ctx;
    free(gm->data_dir);
    free(gm->credentials_file);
    free(gm);
    git_libgit2_shutdown();
    return NULL;
}
