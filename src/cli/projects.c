#include "cli/projects.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/limits.h"

static void sha256_revision(const char *data, size_t len, char *out, size_t outlen)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)data, len, digest);
    size_t pos = (size_t)snprintf(out, outlen, "sha256:");
    for (size_t i = 0; i < sizeof(digest) && pos + 2 < outlen; i++)
        pos += (size_t)snprintf(out + pos, outlen - pos, "%02x", digest[i]);
}

/*
 * Runs git with argv in dir and reads one line of its stdout into out.
 * Returns 0 when git exited 0 and printed something.
 */
static int git_line(const char *dir, char *const argv[], char *out, size_t outlen)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -errno;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        int devnull = open("/dev/null", 0);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        close(fds[0]);
        if (chdir(dir) < 0)
            _exit(127);
        execvp("git", argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < outlen && (n = read(fds[0], out + len, outlen - 1 - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0] ? 0 : -ENOENT;
}

void project_revision(const char *path, const char *data, size_t len, char *out, size_t outlen)
{
    char dir[PATH_MAX], base[PATH_MAX], line[128];
    const char *slash = strrchr(path, '/');

    if (slash && (size_t)(slash - path) < sizeof(dir)) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        snprintf(base, sizeof(base), "%s", slash + 1);
    } else {
        snprintf(dir, sizeof(dir), ".");
        snprintf(base, sizeof(base), "%s", path);
    }
    /* A file with local changes is not what any commit says: hash it. */
    char *const status_argv[] = {"git", "status", "--porcelain", "--", base, NULL};
    char *const log_argv[] = {"git", "log", "-1", "--format=%H", "--", base, NULL};
    if (git_line(dir, status_argv, line, sizeof(line)) != 0 &&
        git_line(dir, log_argv, line, sizeof(line)) == 0 && strlen(line) == 40 &&
        strlen(line) < outlen) {
        memcpy(out, line, strlen(line) + 1);
        return;
    }
    sha256_revision(data, len, out, outlen);
}

static int compare_sources(const void *a, const void *b)
{
    return strcmp(((const struct project_source *)a)->name,
                  ((const struct project_source *)b)->name);
}

int project_set_read(const char *dir, struct project_set *ret)
{
    struct project_set s = {0};
    size_t alloc = 0;
    int r = 0;

    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        char cfg[PATH_MAX], realms[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(s.v[0].name))
            continue;
        if (snprintf(cfg, sizeof(cfg), "%s/%s/luci-scheduler.cfg", dir, e->d_name) >=
                (int)sizeof(cfg) ||
            stat(cfg, &st) < 0)
            continue;
        if (s.n >= LIMIT_CONFIG_FILES) {
            r = -E2BIG;
            goto out;
        }
        if (s.n == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            struct project_source *v = realloc(s.v, alloc * sizeof(*v));
            if (!v) {
                r = -ENOMEM;
                goto out;
            }
            s.v = v;
        }
        struct project_source *p = &s.v[s.n++];
        memset(p, 0, sizeof(*p));
        memcpy(p->name, e->d_name, strlen(e->d_name) + 1);
        int rr = file_read_all(cfg, LIMIT_CONFIG_FILE_BYTES, &p->cfg_text, &p->cfg_len);
        if (rr < 0) {
            snprintf(p->read_error, sizeof(p->read_error),
                     "cannot read luci-scheduler.cfg: %s",
                     rr == -EFBIG ? "larger than the limit" : strerror(-rr));
            continue;
        }
        project_revision(cfg, p->cfg_text, p->cfg_len, p->revision, sizeof(p->revision));
        snprintf(realms, sizeof(realms), "%s/%s/realms.cfg", dir, e->d_name);
        if (stat(realms, &st) == 0) {
            rr = file_read_all(realms, LIMIT_CONFIG_FILE_BYTES, &p->realms_text,
                               &p->realms_len);
            if (rr < 0)
                snprintf(p->read_error, sizeof(p->read_error), "cannot read realms.cfg: %s",
                         rr == -EFBIG ? "larger than the limit" : strerror(-rr));
        }
    }
    sort_array(s.v, s.n, sizeof(*s.v), compare_sources);
    *ret = s;
    s = (struct project_set){0};
out:
    closedir(d);
    project_set_release(&s);
    return r;
}

void project_set_release(struct project_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].cfg_text);
        free(s->v[i].realms_text);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
