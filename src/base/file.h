/*
 * file.h - reading whole files and walking directories, with limits.
 *
 * The only file-system access of the pure rooms' callers: config/ and
 * schedule/ take buffers; cli/ (and later the server) read them here.
 */
#ifndef TOCK_BASE_FILE_H
#define TOCK_BASE_FILE_H

#include "base/compat.h"

/*
 * Reads the whole file at path into a new NUL-terminated buffer (the NUL is
 * not counted in *ret_len; the content may itself contain NUL bytes).
 * Returns 0, or -errno (-EFBIG when the file is larger than max bytes,
 * -EISDIR for a directory).  *ret is written only on success; free(3) it.
 */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len);

/* A list of paths, owned by the list. */
struct path_list {
    char **paths;
    size_t n;
    size_t alloc;
};

void path_list_init(struct path_list *l);
void path_list_release(struct path_list *l);
int path_list_add(struct path_list *l, const char *path);

/*
 * Adds path to the list if it is a file, or every regular file under it
 * whose name ends in suffix if it is a directory (recursively, skipping
 * entries whose name starts with a dot; symbolic links to directories are
 * not followed).  Paths found under one directory are added in sorted order.
 * Stops with -E2BIG past max paths in the list.  Returns 0 or -errno (e.g.
 * -ENOENT when path does not exist).
 */
int path_list_collect(struct path_list *l, const char *path, const char *suffix, size_t max);

/*
 * Writes the name of the directory that contains path ("a/b/c.cfg" -> "b",
 * "c.cfg" -> the current directory's name) into out.  Returns 0 or -errno.
 */
int path_parent_name(const char *path, char *out, size_t outlen);

#endif
