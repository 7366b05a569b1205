/*
 * listing.c - engine_list_jobs_page: the enabled jobs a caller may see, a
 * page at a time, in (project, name) order (contract in engine.h).
 *
 * For each project from the cursor on: the project's realms
 * (store_job_realms, one index seek each), the caller's view of each
 * (filter.realm), then one stream of rows per visible realm
 * (store_job_page, in name order), merged by name; or one stream over the
 * whole project when every realm is visible.  Rows of invisible realms are
 * never read, and a struct engine_job is filled only for a job that goes
 * on the page.  The page is read with one more job than asked for, so
 * nextCursor is given exactly when more follow.
 *
 * The cursor is base64url("<project>/<name>") of the page's last job.
 */
#include "base/compat.h"
#include "engine/engine-internal.h"

#include "base/base64.h"

/* Most realms of one project listed before falling back to per-row views. */
#define LIST_REALMS_MAX 64
/* Fewest rows one stream asks the store for at a time. */
#define LIST_CHUNK_MIN 32
/* Longest cursor text: base64 of "<project>/<name>" at the name limits. */
#define CURSOR_RAW_MAX (2 * ENGINE_NAME_MAX)
#define CURSOR_TEXT_MAX (BASE64_ENCODED_SIZE(CURSOR_RAW_MAX) - 1)

/* A position in key order: after (project, name); project "" = from the start. */
struct page_key {
    char project[ENGINE_NAME_MAX];
    char name[ENGINE_NAME_MAX];
};

static char *cursor_encode(const char *project, const char *name)
{
    char raw[CURSOR_RAW_MAX + 2];
    int len = snprintf(raw, sizeof(raw), "%s/%s", project, name);
    char *out;

    if (len < 0 || (size_t)len >= sizeof(raw))
        return NULL;
    out = malloc(BASE64_ENCODED_SIZE((size_t)len));
    if (out && base64_encode(BASE64_URL, raw, (size_t)len, out,
                             BASE64_ENCODED_SIZE((size_t)len)) < 0) {
        free(out);
        out = NULL;
    }
    return out;
}

static int cursor_decode(const char *text, struct page_key *ret)
{
    char raw[CURSOR_RAW_MAX + 1];
    size_t len = strnlen(text, CURSOR_TEXT_MAX + 1);
    const char *slash;
    size_t np, nn;
    ssize_t n;

    if (len > CURSOR_TEXT_MAX)
        return -EINVAL;
    n = base64_decode(BASE64_URL, text, len, raw, sizeof(raw) - 1);
    if (n <= 0)
        return -EINVAL;
    raw[n] = '\0';
    slash = memchr(raw, '/', (size_t)n);
    if (strlen(raw) != (size_t)n || !slash)
        return -EINVAL; /* a NUL inside, or no separator */
    np = (size_t)(slash - raw);
    nn = (size_t)n - np - 1;
    if (np == 0 || nn == 0 || np >= ENGINE_NAME_MAX || nn >= ENGINE_NAME_MAX)
        return -EINVAL;
    memcpy(ret->project, raw, np);
    ret->project[np] = '\0';
    memcpy(ret->name, slash + 1, nn + 1);
    return 0;
}

/* The page being filled: room for want jobs (the page and one more). */
struct page {
    const struct engine_job_filter *f;
    struct engine_job *v;
    size_t n, want;
};

/* A realm of a project and the caller's view of it. */
struct realm_view {
    const char *raw; /* as stored ("" for none), borrowed from the realm list */
    enum engine_view view;
};

/* Rows of one realm (NULL = any) in name order, fetched a chunk at a time. */
struct stream {
    const char *realm;
    enum engine_view view; /* of realm; unused when realm is NULL */
    struct store_job *rows;
    size_t n, at;
    bool done; /* the store has nothing after rows */
};

/* "project:realm" for callbacks, "project:@legacy" when the row has none. */
static void realm_text(const char *project, const char *raw, char *out, size_t outlen)
{
    if (raw && *raw)
        snprintf(out, outlen, "%s", raw);
    else
        snprintf(out, outlen, "%s:@legacy", project);
}

static enum engine_view realm_view(const struct page *pg, const char *project, const char *raw)
{
    char id[ENGINE_ID_MAX];

    if (!pg->f || !pg->f->realm)
        return ENGINE_VIEW_ALL;
    realm_text(project, raw, id, sizeof(id));
    return pg->f->realm(pg->f->ctx, project, id);
}

/* Makes sure s has a row at s->at unless the store has no more. */
static int stream_fill(struct store_tx *tx, const char *project, const char *after,
                       struct stream *s, size_t chunk)
{
    struct store_job *rows = NULL;
    size_t n = 0;
    int r;

    if (s->at < s->n || s->done)
        return 0;
    if (s->n)
        after = s->rows[s->n - 1].name;
    r = store_job_page(tx, project, s->realm, after, chunk, &rows, &n);
    if (r < 0)
        return r;
    store_jobs_free(s->rows, s->n);
    s->rows = rows;
    s->n = n;
    s->at = 0;
    s->done = n < chunk;
    return 0;
}

/* The view of a row of a realm-less stream: looked up in the project's realms. */
static enum engine_view row_view(const struct page *pg, const char *project,
                                 const struct realm_view *rv, size_t nrv,
                                 const struct store_job *row)
{
    const char *raw = row->realm_id ? row->realm_id : "";

    if (!rv)
        return realm_view(pg, project, raw); /* too many realms to list */
    for (size_t i = 0; i < nrv; i++) {
        if (strcmp(rv[i].raw, raw) == 0)
            return rv[i].view;
    }
    return realm_view(pg, project, raw); /* a realm that appeared since */
}

/* Puts row on the page if the caller may see it. */
static void take_row(struct page *pg, const char *project, enum engine_view view,
                     const struct store_job *row)
{
    char id[ENGINE_ID_MAX];

    if (view == ENGINE_VIEW_NONE)
        return;
    if (view == ENGINE_VIEW_SOME && pg->f && pg->f->job) {
        realm_text(project, row->realm_id, id, sizeof(id));
        if (!pg->f->job(pg->f->ctx, project, id, row->name ? row->name : ""))
            return;
    }
    engine__fill_job(row, &pg->v[pg->n++]);
}

/*
 * Merges the streams by name into the page, from after on, until the page
 * is full or every stream is dry.
 */
static int merge_streams(struct store_tx *tx, const char *project, const char *after,
                         struct stream *st, size_t ns, const struct realm_view *rv,
                         size_t nrv, struct page *pg)
{
    while (pg->n < pg->want) {
        size_t chunk = pg->want - pg->n, best = ns;
        if (chunk < LIST_CHUNK_MIN)
            chunk = LIST_CHUNK_MIN;
        for (size_t i = 0; i < ns; i++) {
            int r = stream_fill(tx, project, after, &st[i], chunk);
            if (r < 0)
                return r;
            if (st[i].at < st[i].n &&
                (best == ns || strcmp(st[i].rows[st[i].at].name,
                                      st[best].rows[st[best].at].name) < 0))
                best = i;
        }
        if (best == ns)
            break;
        const struct store_job *row = &st[best].rows[st[best].at++];
        take_row(pg, project,
                 st[best].realm ? st[best].view : row_view(pg, project, rv, nrv, row), row);
    }
    return 0;
}

/*
 * The realms of project and the caller's view of each into *ret (NULL when
 * the project has more than LIST_REALMS_MAX: rows are then judged one by
 * one).  *ret_visible counts the realms not ENGINE_VIEW_NONE.
 */
static int project_views(struct store_tx *tx, const char *project, const struct page *pg,
                         char ***ret_realms, struct realm_view **ret, size_t *ret_n,
                         size_t *ret_visible)
{
    char **realms = NULL;
    struct realm_view *rv = NULL;
    size_t nr = 0, visible = 0;
    int r = store_job_realms(tx, project, LIST_REALMS_MAX, &realms, &nr);

    if (r == -E2BIG) {
        *ret_realms = NULL;
        *ret = NULL;
        *ret_n = 0;
        *ret_visible = SIZE_MAX;
        return 0;
    }
    if (r < 0)
        return r;
    rv = calloc(nr ? nr : 1, sizeof(*rv));
    if (!rv) {
        for (size_t i = 0; i < nr; i++)
            free(realms[i]);
        free(realms);
        return -ENOMEM;
    }
    for (size_t i = 0; i < nr; i++) {
        rv[i].raw = realms[i];
        rv[i].view = realm_view(pg, project, realms[i]);
        visible += rv[i].view != ENGINE_VIEW_NONE;
    }
    *ret_realms = realms;
    *ret = rv;
    *ret_n = nr;
    *ret_visible = visible;
    return 0;
}

/* Adds the visible jobs of project after name after ("" = all) to the page. */
static int scan_project(struct store_tx *tx, const char *project, const char *after,
                        struct page *pg)
{
    char **realms = NULL;
    struct realm_view *rv = NULL;
    struct stream *st = NULL;
    size_t nr = 0, visible = 0, ns = 0;
    int r = project_views(tx, project, pg, &realms, &rv, &nr, &visible);

    if (r < 0 || visible == 0)
        goto out;
    st = calloc(visible < nr ? visible : 1, sizeof(*st));
    if (!st) {
        r = -ENOMEM;
        goto out;
    }
    if (visible < nr) {
        /* Only the visible realms are read, merged by name. */
        for (size_t i = 0; i < nr; i++) {
            if (rv[i].view != ENGINE_VIEW_NONE)
                st[ns++] = (struct stream){.realm = rv[i].raw, .view = rv[i].view};
        }
    } else {
        ns = 1; /* every realm is visible (or too many to list): one walk by name */
    }
    r = merge_streams(tx, project, after, st, ns, rv, nr, pg);
out:
    for (size_t i = 0; i < ns; i++)
        store_jobs_free(st[i].rows, st[i].n);
    free(st);
    free(rv);
    for (size_t i = 0; i < nr; i++)
        free(realms[i]);
    free(realms);
    return r;
}

/* Fills the page from key on: project (NULL = every project, in order). */
static int fill_page(struct store_tx *tx, const char *project, const struct page_key *key,
                     struct page *pg)
{
    char **projects = NULL;
    size_t np = 0;
    int r;

    if (project)
        return scan_project(tx, project, key->name, pg);
    r = store_project_list(tx, &projects, &np);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < np && pg->n < pg->want; i++) {
        int c = key->project[0] ? strcmp(projects[i], key->project) : 1;
        if (c >= 0)
            r = scan_project(tx, projects[i], c == 0 ? key->name : "", pg);
    }
    for (size_t i = 0; i < np; i++)
        free(projects[i]);
    free(projects);
    return r;
}

int engine_list_jobs_page(struct engine *e, const char *project, const char *cursor,
                          int page_size, const struct engine_job_filter *filter,
                          struct engine_job **ret, size_t *n, char **ret_next_cursor)
{
    struct page_key key = {.project = "", .name = ""};
    struct page pg = {.f = filter};
    struct store_tx *tx = NULL;
    size_t size;
    char *next = NULL;
    int r;

    if (!e || !ret || !n || !ret_next_cursor || (project && !*project))
        return -EINVAL;
    if (cursor && *cursor &&
        (cursor_decode(cursor, &key) < 0 || (project && strcmp(project, key.project) != 0)))
        return -EINVAL;
    size = page_size <= 0 ? ENGINE_JOBS_PAGE_DEFAULT
           : page_size > ENGINE_JOBS_PAGE_MAX ? ENGINE_JOBS_PAGE_MAX
                                               : (size_t)page_size;
    pg.want = size + 1;
    pg.v = calloc(pg.want, sizeof(*pg.v));
    if (!pg.v)
        return -ENOMEM;
    r = store_begin(e->store, &tx);
    if (r < 0)
        goto out;
    r = fill_page(tx, project, &key, &pg);
    store_rollback(tx);
    if (r < 0)
        goto out;
    if (pg.n > size) {
        pg.n = size;
        next = cursor_encode(pg.v[size - 1].project, pg.v[size - 1].name);
        if (!next) {
            r = -ENOMEM;
            goto out;
        }
    }
    *ret = pg.v;
    *n = pg.n;
    *ret_next_cursor = next;
    pg.v = NULL;
out:
    free(pg.v);
    return r;
}
