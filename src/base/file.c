#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len)
{
    int r = 0;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto out;
    }
    /* st_size is only a hint (pipes, /proc): read until EOF, bounded by max. */
    size_t alloc = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    if (alloc > max + 1)
        alloc = max + 1;
    data = malloc(alloc);
    if (!data) {
        r = -ENOMEM;
        goto out;
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= alloc) {
            if (alloc > max) {
                r = -EFBIG;
                goto out;
            }
            size_t grow = alloc * 2 > max + 1 ? max + 1 : alloc * 2;
            char *p = realloc(data, grow);
            if (!p) {
                r = -ENOMEM;
                goto out;
            }
            data = p;
            alloc = grow;
        }
        ssize_t n = read(fd, data + len, alloc - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto out;
        }
    }
    data[len] = '\0';
    *ret = data;
    *ret_len = len;
    data = NULL;
out:
    free(data);
    close(fd);
    return r;
}

void path_list_init(struct path_list *l)
{
    l->paths = NULL;
    l->n = 0;
    l->alloc = 0;
}

void path_list_release(struct path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    path_list_init(l);
}

int path_list_add(struct path_list *l, const char *path)
{
    if (l->n == l->alloc) {
        size_t alloc = l->alloc ? l->alloc * 2 : 16;
        char **p = realloc(l->paths, alloc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->paths = p;
        l->alloc = alloc;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    l->paths[l->n++] = copy;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* depth bounds the recursion against directory loops made with bind mounts. */
static int collect_dir(struct path_list *l, const char *dir, const char *suffix, size_t max,
                       int depth)
{
    int r = 0;
    struct path_list names;
    path_list_init(&names);

    if (depth > 32)
        return -ELOOP;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        r = path_list_add(&names, e->d_name);
        if (r < 0)
            goto out;
    }
    sort_array(names.paths, names.n, sizeof(char *), compare_names);

    for (size_t i = 0; i < names.n; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "%s%s%s", dir,
                         ends_with(dir, "/") ? "" : "/", names.paths[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            r = -ENAMETOOLONG;
            goto out;
        }
        struct stat st;
        if (lstat(path, &st) < 0)
            continue; /* vanished while we looked */
        if (S_ISDIR(st.st_mode)) {
            r = collect_dir(l, path, suffix, max, depth + 1);
        } else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && ends_with(path, suffix)) {
            r = l->n >= max ? -E2BIG : path_list_add(l, path);
        }
        if (r < 0)
            goto out;
    }
out:
    closedir(d);
    path_list_release(&names);
    return r;
}

int path_list_collect(struct path_list *l, const char *path, const char *suffix, size_t max)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return collect_dir(l, path, suffix, max, 0);
    if (l->n >= max)
        return -E2BIG;
    return path_list_add(l, path);
}

int path_parent_name(const char *path, char *out, size_t outlen)
{
    char abs[PATH_MAX];

    /* realpath resolves "x.cfg", "./x.cfg" and "../p/x.cfg" alike. */
    if (!realpath(path, abs))
        return -errno;
    char *slash = strrchr(abs, '/');
    if (!slash || slash == abs)
        return -ENOENT; /* a file in "/" has no project folder */
    *slash = '\0';
    const char *name = strrchr(abs, '/') + 1;
    if (strlen(name) >= outlen)
        return -ENAMETOOLONG;
    memcpy(out, name, strlen(name) + 1);
    return 0;
}
