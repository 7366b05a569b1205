/*
 * gtjson.c - Gitiles' JSON replies (wire-formats.md 3.2, 3.3) and the
 * stored state of the gitiles manager (gt-internal.h).
 */
#include "tasks/gitiles/gt-internal.h"

#include <stdarg.h>

int gt_fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

int gt_parse_json(const char *body, size_t len, json_t **ret, char *err, size_t errlen)
{
    json_error_t je;
    json_t *v;

    if (len < 4 || memcmp(body, ")]}'", 4) != 0)
        return gt_fail(err, errlen, -EPROTO, "the reply does not start with )]}'");
    v = json_loadb(body + 4, len - 4, 0, &je);
    if (!v)
        return gt_fail(err, errlen, -EPROTO, "bad JSON in the reply: %s", je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return gt_fail(err, errlen, -EPROTO, "the reply is not a JSON object");
    }
    *ret = v;
    return 0;
}

int gt_refs_entry_add(const char *prefix, const char *key, const char *sha, struct gt_refs *out,
                      char *err, size_t errlen)
{
    char name[GT_MAX_REF + 1];
    int n;

    if (!gt_sha_valid(sha))
        return gt_fail(err, errlen, -EPROTO, "ref %.200s: bad SHA %.100s", key, sha);
    if (strcmp(key, prefix) == 0)
        n = snprintf(name, sizeof(name), "%s", prefix);
    else
        n = snprintf(name, sizeof(name), "%s/%s", prefix, key);
    if (n < 0 || (size_t)n >= sizeof(name) || !key[0])
        return gt_fail(err, errlen, -EPROTO, "bad ref name %.200s", key);
    n = gt_refs_add(out, name, sha);
    if (n == -E2BIG)
        return gt_fail(err, errlen, n, "more than %d refs", GT_MAX_REFS);
    return n;
}

/* Adds one "+refs" entry; 1 when it is dropped. */
static int refs_entry(const char *prefix, const char *key, const json_t *val, struct gt_refs *out,
                      char *err, size_t errlen)
{
    const char *sha = json_string_value(json_object_get(val, "value"));

    if (!json_is_object(val))
        return gt_fail(err, errlen, -EPROTO, "ref %.200s: not an object", key);
    if (!sha || !sha[0] || json_object_get(val, "target"))
        return 1;
    return gt_refs_entry_add(prefix, key, sha, out, err, errlen);
}

int gt_parse_refs(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                  char *err, size_t errlen)
{
    if (gt_scan_refs(body, len, prefix, out) == 0)
        return 0;
    return gt_parse_refs_jansson(body, len, prefix, out, err, errlen);
}

int gt_parse_refs_jansson(const char *body, size_t len, const char *prefix, struct gt_refs *out,
                          char *err, size_t errlen)
{
    json_t *v = NULL, *val;
    const char *key;
    size_t n0 = out->n;
    int r;

    r = gt_parse_json(body, len, &v, err, errlen);
    if (r < 0)
        return r;
    if (json_object_size(v) > GT_MAX_REFS) {
        r = gt_fail(err, errlen, -E2BIG, "more than %d refs", GT_MAX_REFS);
        goto out;
    }
    json_object_foreach(v, key, val) {
        r = refs_entry(prefix, key, val, out, err, errlen);
        if (r < 0)
            break;
        r = 0;
    }
out:
    if (r < 0)
        gt_refs_truncate(out, n0);
    json_decref(v);
    return r;
}

void gt_commits_release(struct gt_commits *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        for (size_t k = 0; k < cs->v[i].n_paths; k++)
            free(cs->v[i].paths[k]);
        free(cs->v[i].paths);
    }
    free(cs->v);
    memset(cs, 0, sizeof(*cs));
}

static int add_path(struct gt_commit *c, const json_t *s)
{
    const char *p = json_string_value(s);
    char **v;

    if (!p || !p[0])
        return 0;
    if (c->n_paths >= GT_MAX_PATHS)
        return -E2BIG;
    v = realloc(c->paths, (c->n_paths + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    c->paths = v;
    v[c->n_paths] = strdup(p);
    if (!v[c->n_paths])
        return -ENOMEM;
    c->n_paths++;
    return 0;
}

/* One commit object into c (zeroed by the caller; its paths freed by it on error). */
static int commit_of(const json_t *o, struct gt_commit *c, char *err, size_t errlen)
{
    const char *sha = json_string_value(json_object_get(o, "commit"));
    const char *t = json_string_value(json_object_get(json_object_get(o, "committer"), "time"));
    const json_t *td = json_object_get(o, "tree_diff"), *d;
    size_t i;
    int r = 0;

    if (!sha || !gt_sha_valid(sha))
        return gt_fail(err, errlen, -EPROTO, "bad commit SHA %.100s", sha ? sha : "(none)");
    snprintf(c->sha, sizeof(c->sha), "%s", sha);
    if (!t || gt_parse_time(t, &c->committed) < 0)
        return gt_fail(err, errlen, -EPROTO, "commit %s: bad committer time %.100s", sha,
                     t ? t : "(none)");
    if (td && !json_is_array(td))
        return gt_fail(err, errlen, -EPROTO, "commit %s: tree_diff is not a list", sha);
    json_array_foreach(td, i, d) {
        r = add_path(c, json_object_get(d, "old_path"));
        if (r == 0)
            r = add_path(c, json_object_get(d, "new_path"));
        if (r < 0)
            return gt_fail(err, errlen, r, "commit %s: tree_diff too big", sha);
    }
    return 0;
}

static int commits_grow(struct gt_commits *cs)
{
    struct gt_commit *v;
    size_t alloc;

    if (cs->n < cs->alloc)
        return 0;
    alloc = cs->alloc ? 2 * cs->alloc : 8;
    v = realloc(cs->v, alloc * sizeof(*v));
    if (!v)
        return -ENOMEM;
    cs->v = v;
    cs->alloc = alloc;
    return 0;
}

int gt_parse_log(const char *body, size_t len, size_t limit, struct gt_commits *out, char *next,
                 size_t nextlen, char *err, size_t errlen)
{
    json_t *v = NULL, *log, *c;
    const char *nx;
    size_t i, n0 = out->n;
    int r;

    r = gt_parse_json(body, len, &v, err, errlen);
    if (r < 0)
        return r;
    log = json_object_get(v, "log");
    nx = json_string_value(json_object_get(v, "next"));
    r = -EPROTO;
    if (!json_is_array(log)) {
        gt_fail(err, errlen, r, "the reply has no log");
        goto out;
    }
    if (nx && strlen(nx) >= nextlen) {
        gt_fail(err, errlen, r, "the reply's next cursor is too long");
        goto out;
    }
    r = 0;
    json_array_foreach(log, i, c) {
        if (out->n >= limit)
            break;
        r = commits_grow(out);
        if (r < 0)
            break;
        memset(&out->v[out->n], 0, sizeof(out->v[0]));
        out->n++;
        r = commit_of(c, &out->v[out->n - 1], err, errlen);
        if (r < 0)
            break;
    }
out:
    if (r < 0) {
        struct gt_commits tail = {.v = out->v + n0, .n = out->n - n0};
        for (size_t k = 0; k < tail.n; k++) {
            for (size_t j = 0; j < tail.v[k].n_paths; j++)
                free(tail.v[k].paths[j]);
            free(tail.v[k].paths);
        }
        out->n = n0;
    } else {
        snprintf(next, nextlen, "%s", nx ? nx : "");
    }
    json_decref(v);
    return r;
}

/* ---- the stored state ---- */

void gt_state_release(struct gt_state *st)
{
    gt_refs_release(&st->known);
    for (size_t i = 0; i < st->n_refs; i++)
        free(st->refs[i]);
    free(st->refs);
    memset(st, 0, sizeof(*st));
}

static int state_refs(const json_t *refs, struct gt_state *st)
{
    size_t i;
    json_t *s;

    if (!json_is_array(refs))
        return -EPROTO;
    if (json_array_size(refs) > GT_MAX_CONFIG_REFS)
        return -E2BIG;
    st->refs = calloc(json_array_size(refs) + 1, sizeof(*st->refs));
    if (!st->refs)
        return -ENOMEM;
    st->has_refs = true;
    json_array_foreach(refs, i, s) {
        if (!json_string_value(s))
            return -EPROTO;
        st->refs[i] = strdup(json_string_value(s));
        if (!st->refs[i])
            return -ENOMEM;
        st->n_refs++;
    }
    return 0;
}

/* The old form (before the compact "tips"): {"known": {"<ref>": "<sha>", ...}}. */
static int state_known(const json_t *known, struct gt_state *st)
{
    const char *name;
    json_t *sha;
    int r = 0;

    if (!json_is_object(known))
        return -EPROTO;
    json_object_foreach((json_t *)known, name, sha) {
        const char *s = json_string_value(sha);
        if (!s || !gt_sha_valid(s) || strncmp(name, "refs/", 5) != 0 ||
            !gt_ref_name_ok(name, strlen(name)))
            return -EPROTO;
        r = gt_refs_add(&st->known, name, s);
        if (r < 0)
            return r;
    }
    gt_refs_sort(&st->known);
    st->migrated = true;
    return 0;
}

bool gt_ref_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > GT_MAX_REF)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return false;
    return true;
}

/* One "<sha> <ref>\n" line at s (len bytes left) into st; its length, or -EPROTO. */
static ssize_t tips_line(const char *s, size_t len, struct gt_state *st)
{
    const char *nl = memchr(s, '\n', len);
    char sha[GT_SHA_LEN + 1], name[GT_MAX_REF + 1];
    size_t n;
    int r;

    if (!nl || nl - s < GT_SHA_LEN + 2 || s[GT_SHA_LEN] != ' ')
        return -EPROTO;
    n = (size_t)(nl - s) - GT_SHA_LEN - 1;
    if (!gt_ref_name_ok(s + GT_SHA_LEN + 1, n) || n < 6 || memcmp(s + GT_SHA_LEN + 1, "refs/", 5))
        return -EPROTO;
    memcpy(sha, s, GT_SHA_LEN);
    sha[GT_SHA_LEN] = '\0';
    memcpy(name, s + GT_SHA_LEN + 1, n);
    name[n] = '\0';
    if (!gt_sha_valid(sha))
        return -EPROTO;
    /* Written sorted and unique; anything else is damage. */
    if (st->known.n > 0 && strcmp(st->known.v[st->known.n - 1].name, name) >= 0)
        return -EPROTO;
    r = gt_refs_add(&st->known, name, sha);
    return r < 0 ? r : (ssize_t)(nl - s) + 1;
}

/* The compact form: "tips" is one string of "<sha> <ref>\n" lines sorted by ref. */
static int state_tips(const json_t *tips, struct gt_state *st)
{
    const char *s = json_string_value(tips);
    size_t len = json_string_length(tips), off = 0;

    if (!s)
        return -EPROTO;
    while (off < len) {
        ssize_t n = tips_line(s + off, len - off, st);
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

int gt_state_from_json(const json_t *v, const struct gt_repo *repo, struct gt_state *ret,
                       char *err, size_t errlen)
{
    struct gt_state st = {0};
    const char *host = json_string_value(json_object_get(v, "host"));
    const char *project = json_string_value(json_object_get(v, "project"));
    const json_t *tips = json_object_get(v, "tips");
    int r = 0;

    if (v && (!json_is_object(v) || !host || !project))
        r = -EPROTO;
    if (r == 0 && v && strcmp(host, repo->host) == 0 && strcmp(project, repo->project) == 0) {
        r = tips ? state_tips(tips, &st) : state_known(json_object_get(v, "known"), &st);
        if (r == 0)
            r = state_refs(json_object_get(v, "refs"), &st);
    }
    if (r < 0) {
        gt_state_release(&st);
        return gt_fail(err, errlen, r, "the stored state is unreadable (%s)", strerror(-r));
    }
    *ret = st;
    return 0;
}

/* The "tips" string of a sorted map.  -EINVAL (a name the form cannot hold), -ENOMEM. */
static int tips_text(const struct gt_refs *known, json_t **ret)
{
    struct buf b;
    int r = 0;

    buf_init(&b, (size_t)GT_MAX_REFS * (GT_SHA_LEN + GT_MAX_REF + 2));
    for (size_t i = 0; i < known->n && r == 0; i++) {
        const struct gt_ref *k = &known->v[i];
        if (!gt_ref_name_ok(k->name, strlen(k->name)))
            r = -EINVAL;
        else
            r = buf_append(&b, k->sha, GT_SHA_LEN) < 0 || buf_append(&b, " ", 1) < 0 ||
                        buf_puts(&b, k->name) < 0 || buf_append(&b, "\n", 1) < 0
                    ? -ENOMEM
                    : 0;
    }
    if (r == 0) {
        *ret = json_stringn(b.data ? b.data : "", b.len);
        r = *ret ? 0 : -EINVAL; /* not UTF-8 */
    }
    buf_release(&b);
    return r;
}

int gt_state_to_json(const struct gt_state *st, const struct gt_repo *repo, json_t **ret)
{
    json_t *tips = NULL, *o = NULL, *refs;
    int r = tips_text(&st->known, &tips);

    if (r == 0) {
        o = json_pack("{s:s, s:s, s:o, s:[]}", "host", repo->host, "project", repo->project,
                      "tips", tips, "refs");
        r = o ? 0 : -ENOMEM;
    }
    refs = json_object_get(o, "refs");
    for (size_t i = 0; i < st->n_refs && r == 0; i++)
        if (json_array_append_new(refs, json_string(st->refs[i])) < 0)
            r = -ENOMEM;
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}
