/*
 * gt-internal.h - the pure parts of the gitiles manager (private to
 * src/tasks/gitiles/): repository URLs, ref sets, ref maps, the stored
 * state, Gitiles' JSON replies and time formats, path filters and the
 * request paths.  No I/O, no globals, no logging; every function is safe
 * from any thread on its own arguments.  Errors: 0 or a negative errno;
 * with an err buffer, a one-line reason in it.  Outputs are written only
 * on success.
 */
#ifndef TOCK_TASKS_GITILES_GT_INTERNAL_H
#define TOCK_TASKS_GITILES_GT_INTERNAL_H

#include "base/compat.h"

#include <jansson.h>

#include "base/buf.h"
#include "config/re2.h"

#define GT_SHA_LEN 40
#define GT_MAX_HOST 256
#define GT_MAX_PROJECT 1024
#define GT_MAX_REF 1024           /* longest ref name we accept from a server */
#define GT_MAX_REFS 200000        /* refs one +refs reply, or the state, may hold */
#define GT_MAX_CONFIG_REFS 1000   /* refs entries of one task */
#define GT_MAX_PATH_REGEXPS 1000  /* path_regexps (each list) of one task */
#define GT_MAX_LOG_PAGES 50       /* +log pages one log fetch follows */
#define GT_MAX_PATHS 100000       /* tree_diff paths kept per commit */
#define GT_MAX_ERR 1024

/* ---- repository URLs ---- */

struct gt_repo {
    char host[GT_MAX_HOST];       /* "chromium.googlesource.com" */
    char project[GT_MAX_PROJECT]; /* "chromium/src": no "/a/" prefix, no ".git" */
};

/* gourl_gitiles_repo (config/gourl.h) parses them, with any_host. */

/* LUCI's host check: ^[a-z0-9]([a-z0-9-]*[a-z0-9])*.googlesource.com$. */
bool gt_host_is_googlesource(const char *host);

/* ---- ref maps: sorted (name, sha) arrays ---- */

struct gt_ref {
    char *name;
    char sha[GT_SHA_LEN + 1];
};

struct gt_refs {
    struct gt_ref *v;
    size_t n, alloc;
};

void gt_refs_release(struct gt_refs *m);
/* Appends (unsorted); -E2BIG past GT_MAX_REFS, -ENOMEM. */
int gt_refs_add(struct gt_refs *m, const char *name, const char *sha);
/* Sorts by name and drops later duplicates. */
void gt_refs_sort(struct gt_refs *m);
/* The entry called name of a sorted map, or NULL. */
const struct gt_ref *gt_refs_find(const struct gt_refs *m, const char *name);
/* Drops the entries from n on; a map left empty has its array freed too. */
void gt_refs_truncate(struct gt_refs *m, size_t n);
/* Removes entry i (keeps the order). */
void gt_refs_remove(struct gt_refs *m, size_t i);
/* Sets name to sha in a sorted map (inserting in order).  -ENOMEM, -E2BIG. */
int gt_refs_set(struct gt_refs *m, const char *name, const char *sha);

/* True for 40 lower-case hex digits. */
bool gt_sha_valid(const char *s);

/* ---- ref sets (spec 4.2.2) ---- */

/* One namespace: a "+refs/<prefix>" request and what of it is watched. */
struct gt_ns {
    char *prefix;             /* "refs/heads" */
    char **plain;             /* full ref names */
    size_t n_plain;
    char **regexps;           /* the regexps, without "regexp:" */
    size_t n_regexps;
    struct re2_regexp *combined; /* LUCI's "^(" join ")|(" ")$", NULL without regexps */
    struct re2_regexp **each;    /* each regexp fully anchored, for missing refs */
};

struct gt_refset {
    struct gt_ns *ns;  /* sorted by prefix */
    size_t n_ns;
};

/*
 * Builds the ref set of normalized refs entries (cfg_gitiles_ref_normalize:
 * "refs/heads/main" or "regexp:..."); a regexp without metacharacters is a
 * plain ref.  -EINVAL (an entry validation would have refused), -ENOMEM.
 * Not for concurrent use (the regexps' match data).
 */
int gt_refset_new(const char *const *refs, size_t n, struct gt_refset *ret, char *err,
                  size_t errlen);
void gt_refset_release(struct gt_refset *rs);
/* Whether ref (a full name) is watched by rs, whether it exists or not. */
bool gt_refset_watches(const struct gt_refset *rs, const char *ref);
/*
 * The configured entries that match no ref of current (sorted), as the
 * Go-printed list "[a b]" into out; *ret_n is how many.  -ENOMEM.
 */
int gt_refset_missing(const struct gt_refset *rs, const struct gt_refs *current, struct buf *out,
                      size_t *ret_n);

/* ---- Gitiles replies (wire-formats.md 3) ---- */

struct gt_commit {
    char sha[GT_SHA_LEN + 1];
    int64_t committed; /* committer time, ns since the epoch */
    char **paths;      /* tree_diff old_path and new_path strings, "" skipped */
    size_t n_paths;
};

struct gt_commits {
    struct gt_commit *v; /* newest first, as Gitiles sends them */
    size_t n, alloc;
};

void gt_commits_release(struct gt_commits *cs);

/*
 * Checks and strips the ")]}'" XSSI prefix and parses the JSON object
 * that follows.  -EPROTO (no prefix, not JSON, not an object).
 */
int gt_parse_json(const char *body, size_t len, json_t **ret, char *err, size_t errlen);

/*
 * Writes a printf-style reason to err (when err and errlen) and returns r,
 * so an error path reads `return gt_fail(err, errlen, -EPROTO, ...);`.
 */
int gt_fail(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Adds the refs of a "+refs/<prefix>" reply to out (unsorted): keys are
 * re-prefixed with "<prefix>/" (a key equal to prefix is the prefix ref
 * itself), entries with an empty value or a symbolic target are dropped,
 * "peeled" is ignored (an annotated tag resolves to the tag object, as
 * LUCI).  -EPROTO (bad reply, a value that is not a SHA, a name too long),
 * -E2BIG (more than GT_MAX_REFS), -ENOMEM.
 */
int gt_parse_refs(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                  char *err, size_t errlen);

/*
 * gt_parse_refs's two paths, for tests: jansson (every valid reply, and
 * the errors) and the fast scanner (refscan.c), which reads only the
 * plain shape Gitiles sends (an object of objects of string members,
 * keys strictly increasing, ASCII, at most GT_MAX_REFS) and returns
 * -EPROTO, out unchanged, for anything else, including a reply jansson
 * accepts; when it returns 0 it has added exactly what jansson's path
 * would.  gt_parse_refs tries the scanner, then jansson.
 */
int gt_parse_refs_jansson(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                          char *err, size_t errlen);
int gt_scan_refs(const char *body, size_t len, const char *prefix, struct gt_refs *out);

/*
 * Adds ref key of a "+refs/<prefix>" reply with value sha to out (the
 * name rules of gt_parse_refs).  -EPROTO, -E2BIG, -ENOMEM.
 */
int gt_refs_entry_add(const char *prefix, const char *key, const char *sha, struct gt_refs *out,
                      char *err, size_t errlen);

/*
 * Appends the commits of a "+log" reply to out, at most limit in total
 * (out->n <= limit), and copies its "next" cursor to next ("" = none).
 * -EPROTO (bad reply, a bad SHA or time), -ENOMEM.
 */
int gt_parse_log(const char *body, size_t len, size_t limit, struct gt_commits *out, char *next,
                 size_t nextlen, char *err, size_t errlen);

/*
 * Parses a Gitiles time: "Wed Sep 20 23:10:41 2017" (UTC) or
 * "Wed Sep 20 23:10:41 2017 +0200".  -EINVAL.
 */
int gt_parse_time(const char *s, int64_t *ret_ns);

/* ---- path filters ---- */

struct gt_pathfilter {
    struct re2_regexp *include; /* NULL: no filter, every commit matches */
    struct re2_regexp *exclude; /* NULL: nothing excluded */
};

/* Builds "^((p1)|(p2)...)$" of each list.  -EINVAL with the reason, -ENOMEM. */
int gt_pathfilter_new(const char *const *inc, size_t n_inc, const char *const *exc,
                      size_t n_exc, struct gt_pathfilter *ret, char *err, size_t errlen);
void gt_pathfilter_release(struct gt_pathfilter *pf);
bool gt_pathfilter_active(const struct gt_pathfilter *pf);
/*
 * Whether a commit passes: no filter, or some path matching include and
 * not exclude (a commit touching no files never does).
 */
bool gt_pathfilter_match(const struct gt_pathfilter *pf, const struct gt_commit *c);

/* ---- request paths ---- */

/* Go's url.PathEscape of s appended to out. */
int gt_path_escape(struct buf *out, const char *s);
/* "/a/<project>/+<prefix>?format=JSON", each part path-escaped. */
int gt_path_refs(const char *project, const char *prefix, struct buf *out);
/*
 * "/a/<project>/+log/<committish>?format=JSON&n=<n>[&name-status=1][&s=<cursor>]"
 * (query keys sorted, as LUCI); committish is a SHA or "<old>..<new>".
 */
int gt_path_log(const char *project, const char *committish, size_t n, bool tree_diff,
                const char *cursor, struct buf *out);

/* ---- the stored state (gitiles.h) ---- */

struct gt_state {
    struct gt_refs known; /* sorted */
    char **refs;          /* the refs config of the last save */
    size_t n_refs;
    bool has_refs;        /* false: no stored config (first run) */
    bool migrated;        /* read from the old form: worth writing again */
};

/*
 * Whether a ref name (len bytes) can be kept in the state: 1..GT_MAX_REF
 * bytes, no control characters (git's check-ref-format forbids them too;
 * the compact form relies on names without '\n').
 */
bool gt_ref_name_ok(const char *name, size_t len);

void gt_state_release(struct gt_state *st);
/*
 * Reads a job_state value (NULL = none) of repo: a state of another host
 * or project, or none, is empty.  Two forms are read (gitiles.h): the
 * compact "tips" string, whose lines must be sorted and unique, and the
 * older "known" object (then ret->migrated is set).  -EPROTO (a state
 * that is not ours: malformed, bad SHAs, unsorted lines), -ENOMEM, -E2BIG.
 */
int gt_state_from_json(const json_t *v, const struct gt_repo *repo, struct gt_state *ret,
                       char *err, size_t errlen);
/*
 * The job_state value of st for repo, always the compact form.  -EINVAL
 * (a known ref whose name gt_ref_name_ok refuses, or not UTF-8), -ENOMEM.
 */
int gt_state_to_json(const struct gt_state *st, const struct gt_repo *repo, json_t **ret);

#endif
