/*
 * refset.c - ref sets (spec 4.2.2) and path filters (spec 4.2.4) of the
 * gitiles manager (gt-internal.h).
 */
#include "tasks/gitiles/gt-internal.h"


static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    char *copy;

    if (!nv)
        return -ENOMEM;
    *v = nv;
    copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    nv[(*n)++] = copy;
    return 0;
}

void gt_refset_release(struct gt_refset *rs)
{
    for (size_t i = 0; i < rs->n_ns; i++) {
        struct gt_ns *ns = &rs->ns[i];
        free(ns->prefix);
        strv_free(ns->plain, ns->n_plain);
        for (size_t k = 0; ns->each && k < ns->n_regexps; k++)
            re2_regexp_free(ns->each[k]);
        free(ns->each);
        strv_free(ns->regexps, ns->n_regexps);
        re2_regexp_free(ns->combined);
    }
    free(rs->ns);
    memset(rs, 0, sizeof(*rs));
}

/* The namespace called prefix, added if new. */
static struct gt_ns *ns_get(struct gt_refset *rs, const char *prefix, size_t len)
{
    struct gt_ns *v;

    for (size_t i = 0; i < rs->n_ns; i++)
        if (strlen(rs->ns[i].prefix) == len && strncmp(rs->ns[i].prefix, prefix, len) == 0)
            return &rs->ns[i];
    v = realloc(rs->ns, (rs->n_ns + 1) * sizeof(*v));
    if (!v)
        return NULL;
    rs->ns = v;
    memset(&v[rs->n_ns], 0, sizeof(*v));
    v[rs->n_ns].prefix = strndup(prefix, len);
    if (!v[rs->n_ns].prefix)
        return NULL;
    return &v[rs->n_ns++];
}

/* Adds a plain ref "refs/a/b": namespace "refs/a". */
static int add_plain(struct gt_refset *rs, const char *ref, char *err, size_t errlen)
{
    const char *slash = strrchr(ref, '/');
    struct gt_ns *ns;

    if (strncmp(ref, "refs/", 5) != 0 || !slash || slash == ref + 4)
        return gt_fail(err, errlen, -EINVAL, "bad ref %s", ref);
    ns = ns_get(rs, ref, (size_t)(slash - ref));
    return ns ? strv_push(&ns->plain, &ns->n_plain, ref) : -ENOMEM;
}

static int add_regexp(struct gt_refset *rs, const char *re, char *err, size_t errlen)
{
    struct re2_regexp *c = NULL;
    char lp[GT_MAX_REF], why[512];
    bool complete = false;
    const char *slash;
    struct gt_ns *ns;
    int r;

    r = re2_regexp_compile(re, &c, why, sizeof(why));
    if (r < 0)
        return r == -EINVAL ? gt_fail(err, errlen, r, "invalid regexp: %s", why) : r;
    re2_regexp_literal_prefix(c, lp, sizeof(lp), &complete);
    re2_regexp_free(c);
    if (complete)
        return add_plain(rs, lp, err, errlen);
    slash = strrchr(lp, '/');
    if (strncmp(lp, "refs/", 5) != 0 || !slash || slash == lp + 4)
        return gt_fail(err, errlen, -EINVAL, "bad literal prefix in regexp %s", re);
    ns = ns_get(rs, lp, (size_t)(slash - lp));
    return ns ? strv_push(&ns->regexps, &ns->n_regexps, re) : -ENOMEM;
}

/*
 * LUCI's combined regexp "^(r1)|(r2)|...$" for a full-match engine: the
 * anchors bind to the first and last alternatives only, so r1 matches as
 * a prefix, r2..r(n-1) anywhere and rn as a suffix (spec 4.2.2's quirk);
 * with one regexp it is a full match.
 */
static int compile_ns(struct gt_ns *ns, char *err, size_t errlen)
{
    struct buf b;
    char why[512];
    int r = 0;

    if (ns->n_regexps == 0)
        return 0;
    ns->each = calloc(ns->n_regexps, sizeof(*ns->each));
    if (!ns->each)
        return -ENOMEM;
    buf_init(&b, 1u << 20);
    for (size_t i = 0; i < ns->n_regexps && r == 0; i++) {
        bool first = i == 0, last = i + 1 == ns->n_regexps, one = ns->n_regexps == 1;
        r = buf_printf(&b, "%s%s(%s)%s", first ? "" : "|", first || one ? "" : ".*",
                       ns->regexps[i], last || one ? "" : ".*");
        if (r == 0)
            r = re2_regexp_compile(ns->regexps[i], &ns->each[i], why, sizeof(why));
    }
    if (r == 0)
        r = re2_regexp_compile(b.data, &ns->combined, why, sizeof(why));
    if (r == -EINVAL)
        r = gt_fail(err, errlen, r, "invalid regexp: %s", why);
    buf_release(&b);
    return r;
}

static int ns_cmp(const void *a, const void *b)
{
    return strcmp(((const struct gt_ns *)a)->prefix, ((const struct gt_ns *)b)->prefix);
}

int gt_refset_new(const char *const *refs, size_t n, struct gt_refset *ret, char *err,
                  size_t errlen)
{
    struct gt_refset rs = {0};
    int r = 0;

    if (n > GT_MAX_CONFIG_REFS)
        return gt_fail(err, errlen, -EINVAL, "too many refs");
    for (size_t i = 0; i < n && r == 0; i++) {
        if (strncmp(refs[i], "regexp:", 7) == 0)
            r = add_regexp(&rs, refs[i] + 7, err, errlen);
        else
            r = add_plain(&rs, refs[i], err, errlen);
    }
    for (size_t i = 0; i < rs.n_ns && r == 0; i++)
        r = compile_ns(&rs.ns[i], err, errlen);
    if (r < 0) {
        gt_refset_release(&rs);
        return r;
    }
    if (rs.n_ns > 1)
        sort_array(rs.ns, rs.n_ns, sizeof(*rs.ns), ns_cmp);
    *ret = rs;
    return 0;
}

static bool ns_watches(const struct gt_ns *ns, const char *ref)
{
    size_t plen = strlen(ns->prefix);

    if (strncmp(ref, ns->prefix, plen) != 0 || ref[plen] != '/')
        return false;
    for (size_t i = 0; i < ns->n_plain; i++)
        if (strcmp(ns->plain[i], ref) == 0)
            return true;
    return ns->combined && re2_regexp_full_match(ns->combined, ref, strlen(ref));
}

bool gt_refset_watches(const struct gt_refset *rs, const char *ref)
{
    for (size_t i = 0; i < rs->n_ns; i++)
        if (ns_watches(&rs->ns[i], ref))
            return true;
    return false;
}

static int missing_add(struct buf *out, size_t *n, const char *entry)
{
    return buf_printf(out, "%s%s", (*n)++ ? " " : "", entry);
}

int gt_refset_missing(const struct gt_refset *rs, const struct gt_refs *current, struct buf *out,
                      size_t *ret_n)
{
    size_t n = 0;
    int r = buf_putc(out, '[');

    for (size_t i = 0; i < rs->n_ns && r == 0; i++) {
        const struct gt_ns *ns = &rs->ns[i];
        for (size_t k = 0; k < ns->n_plain && r == 0; k++)
            if (!gt_refs_find(current, ns->plain[k]))
                r = missing_add(out, &n, ns->plain[k]);
        for (size_t k = 0; k < ns->n_regexps && r == 0; k++) {
            bool hit = false;
            for (size_t j = 0; j < current->n && !hit; j++)
                hit = re2_regexp_full_match(ns->each[k], current->v[j].name,
                                            strlen(current->v[j].name));
            if (!hit) {
                r = buf_puts(out, n++ ? " regexp:" : "regexp:");
                if (r == 0)
                    r = buf_puts(out, ns->regexps[k]);
            }
        }
    }
    if (r == 0)
        r = buf_putc(out, ']');
    if (r == 0)
        *ret_n = n;
    return r < 0 ? -ENOMEM : 0;
}

/* ---- path filters ---- */

static int compile_join(const char *const *v, size_t n, struct re2_regexp **ret, char *err,
                        size_t errlen)
{
    struct buf b;
    char why[512];
    int r = 0;

    if (n == 0)
        return 0;
    if (n > GT_MAX_PATH_REGEXPS)
        return gt_fail(err, errlen, -EINVAL, "too many path regexps");
    buf_init(&b, 1u << 20);
    r = buf_putc(&b, '(');
    for (size_t i = 0; i < n && r == 0; i++)
        r = buf_printf(&b, "%s(%s)", i ? "|" : "", v[i]);
    if (r == 0)
        r = buf_putc(&b, ')');
    if (r == 0) {
        r = re2_regexp_compile(b.data, ret, why, sizeof(why));
        if (r == -EINVAL)
            r = gt_fail(err, errlen, r, "invalid path regexp: %s", why);
    }
    buf_release(&b);
    return r;
}

int gt_pathfilter_new(const char *const *inc, size_t n_inc, const char *const *exc,
                      size_t n_exc, struct gt_pathfilter *ret, char *err, size_t errlen)
{
    struct gt_pathfilter pf = {0};
    int r;

    if (n_exc > 0 && n_inc == 0)
        return gt_fail(err, errlen, -EINVAL, "%s",
                    "Specifying path_regexps_exclude not allowed without at least one "
                    "path_regexps");
    r = compile_join(inc, n_inc, &pf.include, err, errlen);
    if (r == 0)
        r = compile_join(exc, n_exc, &pf.exclude, err, errlen);
    if (r < 0) {
        gt_pathfilter_release(&pf);
        return r;
    }
    *ret = pf;
    return 0;
}

void gt_pathfilter_release(struct gt_pathfilter *pf)
{
    re2_regexp_free(pf->include);
    re2_regexp_free(pf->exclude);
    memset(pf, 0, sizeof(*pf));
}

bool gt_pathfilter_active(const struct gt_pathfilter *pf)
{
    return pf->include != NULL;
}

bool gt_pathfilter_match(const struct gt_pathfilter *pf, const struct gt_commit *c)
{
    if (!pf->include)
        return true;
    for (size_t i = 0; i < c->n_paths; i++) {
        const char *p = c->paths[i];
        size_t n = strlen(p);
        if (re2_regexp_full_match(pf->include, p, n) &&
            !(pf->exclude && re2_regexp_full_match(pf->exclude, p, n)))
            return true;
    }
    return false;
}
