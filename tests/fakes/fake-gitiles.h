/*
 * fake-gitiles.h - a fake Gitiles server for tests, on net/http.h,
 * following wire-formats.md 3 (checklist 3.6):
 *
 *   GET /a/<project>/+refs[/<sub>]?format=JSON
 *   GET /a/<project>/+log/<x>[..<y>]?format=JSON[&n=N][&s=CURSOR][&name-status=1]
 *
 * The path is routed after percent-decoding (the server decodes it, so
 * "chromium%2Fsrc" and "+refs%2Fheads" arrive as "chromium/src" and
 * "+refs/heads"), every answer starts with the ")]}'" line, "+refs/<sub>"
 * keys are stripped of "<sub>/" (or the full name when <sub> itself is a
 * ref), "+log" pages newest first with "next" while more commits remain
 * (n defaults to 100), tree_diff only with name-status, 404 for unknown
 * objects and cursors, 400 without format=JSON.  Faults: a status for
 * every request from the k-th on, a status for log requests of one
 * committish, or a raw body for +refs.  Every request is recorded as
 * "<decoded path>?n=..&name-status=..&s=.." for assertions.
 *
 * Header-only; single-threaded use (the tests make one call at a time).
 */
#ifndef TOCK_TEST_FAKE_GITILES_H
#define TOCK_TEST_FAKE_GITILES_H

#include "base/compat.h"
#include "base/buf.h"
#include "net/http.h"

#include <jansson.h>

#define FG_MAX_COMMITS 1024
#define FG_MAX_REFS 64
#define FG_MAX_REQUESTS 256

struct fg_commit {
    char sha[41];
    int parent; /* index, -1 = root */
    char time[64];
    const char *paths; /* changed files, comma-separated (a static string), "" = none */
    bool present;                    /* false: gone (force-pushed away) */
};

struct fg_ref {
    char name[256];
    char sha[41];
};

struct fake_gitiles {
    struct http_server *s;
    char base[64];     /* "http://127.0.0.1:PORT" */
    char project[256]; /* "b" */
    struct fg_commit commits[FG_MAX_COMMITS];
    size_t n_commits;
    struct fg_ref refs[FG_MAX_REFS];
    size_t n_refs;
    /* faults */
    int fail_from;          /* 1-based request number from which every request fails; 0 = never */
    int fail_status;
    char fail_log[128];     /* committish whose +log fails with fail_log_status */
    int fail_log_status;
    const char *refs_body;  /* raw +refs answer (no prefix added) */
    const char *log_body;   /* raw +log answer (no prefix added) */
    size_t refs_body_len;
    /* recorded */
    char *requests[FG_MAX_REQUESTS];
    size_t n_requests;
};

/* A 40-hex SHA from a short tag: "deadbeef00" -> "deadbeef00000...". */
static inline void fg_sha(const char *tag, char out[41])
{
    size_t n = strlen(tag) < 40 ? strlen(tag) : 40;

    memcpy(out, tag, n);
    memset(out + n, '0', 40 - n);
    out[40] = '\0';
}

static inline int fg_find(const struct fake_gitiles *f, const char *sha)
{
    for (size_t i = 0; i < f->n_commits; i++)
        if (f->commits[i].present && strcmp(f->commits[i].sha, sha) == 0)
            return (int)i;
    return -1;
}

/* Adds a commit (tag as for fg_sha) with a parent tag (NULL = root). Returns its index. */
static inline int fg_commit(struct fake_gitiles *f, const char *tag, const char *parent_tag,
                            const char *time, const char *paths)
{
    struct fg_commit *c = &f->commits[f->n_commits];
    char ps[41];

    memset(c, 0, sizeof(*c));
    fg_sha(tag, c->sha);
    c->parent = -1;
    if (parent_tag) {
        fg_sha(parent_tag, ps);
        c->parent = fg_find(f, ps);
    }
    snprintf(c->time, sizeof(c->time), "%s", time);
    c->paths = paths ? paths : "";
    c->present = true;
    return (int)f->n_commits++;
}

/* Sets (or adds) ref name to the commit of tag; NULL tag deletes it. */
static inline void fg_ref(struct fake_gitiles *f, const char *name, const char *tag)
{
    size_t i;

    for (i = 0; i < f->n_refs; i++)
        if (strcmp(f->refs[i].name, name) == 0)
            break;
    if (!tag) {
        if (i < f->n_refs)
            f->refs[i] = f->refs[--f->n_refs];
        return;
    }
    if (i == f->n_refs)
        f->n_refs++;
    snprintf(f->refs[i].name, sizeof(f->refs[i].name), "%s", name);
    fg_sha(tag, f->refs[i].sha);
}

static inline int fg_answer(struct http_response *resp, json_t *o)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    int r = text ? 0 : -ENOMEM;

    json_decref(o);
    if (r == 0)
        r = http_response_set_header(resp, "Content-Type", "application/json");
    if (r == 0)
        r = buf_puts(&resp->body, ")]}'\n");
    if (r == 0)
        r = buf_puts(&resp->body, text);
    free(text);
    return r;
}

static inline int fg_refs(struct fake_gitiles *f, const char *sub, struct http_response *resp)
{
    json_t *o;
    size_t sl = strlen(sub);

    if (f->refs_body) {
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_append(&resp->body, f->refs_body, f->refs_body_len);
    }
    o = json_object();
    for (size_t i = 0; i < f->n_refs; i++)
        if (sl && strcmp(f->refs[i].name, sub) == 0) {
            json_object_set_new(o, sub, json_pack("{s:s}", "value", f->refs[i].sha));
            return fg_answer(resp, o);
        }
    for (size_t i = 0; i < f->n_refs; i++) {
        const char *n = f->refs[i].name;
        if (!sl)
            json_object_set_new(o, n, json_pack("{s:s}", "value", f->refs[i].sha));
        else if (strncmp(n, sub, sl) == 0 && n[sl] == '/')
            json_object_set_new(o, n + sl + 1, json_pack("{s:s}", "value", f->refs[i].sha));
    }
    return fg_answer(resp, o);
}

/* Marks the ancestors of commit i (itself included). */
static inline void fg_mark(const struct fake_gitiles *f, int i, bool *mark)
{
    for (; i >= 0 && !mark[i]; i = f->commits[i].parent)
        mark[i] = true;
}

static inline json_t *fg_commit_json(const struct fake_gitiles *f, const struct fg_commit *c,
                                     bool tree_diff)
{
    json_t *o = json_pack("{s:s, s:s, s:[], s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s}", "commit",
                          c->sha, "tree", "b1e6757180406cb6f9ce3039fa9b75c3bb729331", "parents",
                          "author", "name", "A U Thor", "email", "author@example.com", "time",
                          c->time, "committer", "name", "Commit Bot", "email",
                          "commit-bot@chromium.org", "time", c->time, "message", "Subject\n");
    if (c->parent >= 0)
        json_array_append_new(json_object_get(o, "parents"), json_string(f->commits[c->parent].sha));
    if (tree_diff) {
        json_t *td = json_array();
        for (const char *p = c->paths; *p;) {
            size_t n = strcspn(p, ",");
            char path[256];
            snprintf(path, sizeof(path), "%.*s", (int)n, p);
            json_array_append_new(td, json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "type",
                                                "modify", "old_id",
                                                "bbc4e3f6914072a163b714191c71492fd946b118",
                                                "old_mode", 33188, "old_path", path, "new_id",
                                                "f04e427a40c00dc7fc149f4c52954d41bcf3d9cb",
                                                "new_mode", 33188, "new_path", path));
            p += n + (p[n] == ',');
        }
        json_object_set_new(o, "tree_diff", td);
    }
    return o;
}

static inline int fg_log(struct fake_gitiles *f, const struct http_request *req, const char *x,
                         struct http_response *resp)
{
    const char *dots = strstr(x, ".."), *ns = http_request_query(req, "n"),
               *cur = http_request_query(req, "s");
    bool td = http_request_query(req, "name-status") != NULL;
    char old[64] = "", head[64];
    bool excl[FG_MAX_COMMITS] = {0}, reach[FG_MAX_COMMITS] = {0};
    int n = ns ? (int)strtol(ns, NULL, 10) : 100, hi, lo = -1, emitted = 0;
    json_t *o, *log;

    if (dots) {
        snprintf(old, sizeof(old), "%.*s", (int)(dots - x), x);
        snprintf(head, sizeof(head), "%s", dots + 2);
    } else {
        snprintf(head, sizeof(head), "%s", x);
    }
    if (f->log_body) {
        http_response_set_header(resp, "Content-Type", "application/json");
        return buf_puts(&resp->body, f->log_body);
    }
    if (f->fail_log[0] && strcmp(f->fail_log, x) == 0)
        return http_response_text(resp, f->fail_log_status, "injected failure");
    hi = fg_find(f, head);
    if (old[0])
        lo = fg_find(f, old);
    if (n > 10000)
        n = 10000;
    if (hi < 0 || (old[0] && lo < 0) || n <= 0)
        return http_response_text(resp, 404, "Not Found");
    fg_mark(f, lo, excl);
    fg_mark(f, hi, reach);
    o = json_object();
    log = json_array();
    json_object_set_new(o, "log", log);
    bool started = !cur;
    for (int i = (int)f->n_commits - 1; i >= 0; i--) {
        if (!reach[i] || excl[i])
            continue;
        if (!started && strcmp(f->commits[i].sha, cur) == 0)
            started = true;
        if (!started)
            continue;
        if (emitted == n) {
            json_object_set_new(o, "next", json_string(f->commits[i].sha));
            break;
        }
        json_array_append_new(log, fg_commit_json(f, &f->commits[i], td));
        emitted++;
    }
    if (!started) {
        json_decref(o);
        return http_response_text(resp, 404, "Not Found");
    }
    return fg_answer(resp, o);
}

static inline void fg_record(struct fake_gitiles *f, const struct http_request *req)
{
    struct buf b;
    const char *n = http_request_query(req, "n"), *s = http_request_query(req, "s");

    if (f->n_requests >= FG_MAX_REQUESTS)
        return;
    buf_init(&b, 4096);
    buf_printf(&b, "%s?format=%s", req->path,
               http_request_query(req, "format") ? http_request_query(req, "format") : "");
    if (n)
        buf_printf(&b, "&n=%s", n);
    if (http_request_query(req, "name-status"))
        buf_puts(&b, "&name-status=1");
    if (s)
        buf_printf(&b, "&s=%s", s);
    f->requests[f->n_requests++] = buf_detach(&b, NULL);
    buf_release(&b);
}

static inline int fg_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct fake_gitiles *f = ctx;
    const char *p = req->path + 3, *plus = strstr(req->path, "/+");
    const char *fmt = http_request_query(req, "format");
    size_t plen = strlen(f->project);

    fg_record(f, req);
    if (f->fail_from && (int)f->n_requests >= f->fail_from)
        return http_response_text(resp, f->fail_status, "injected failure");
    if (!plus || (size_t)(plus - p) != plen || strncmp(p, f->project, plen) != 0)
        return http_response_text(resp, 404, "Not Found");
    if (!fmt || strcmp(fmt, "JSON") != 0)
        return http_response_text(resp, 400, "format=JSON expected");
    p = plus + 2;
    if (strncmp(p, "refs", 4) == 0 && (p[4] == '\0' || p[4] == '/'))
        return fg_refs(f, p[4] ? p : "", resp);
    if (strncmp(p, "log/", 4) == 0)
        return fg_log(f, req, p + 4, resp);
    return http_response_text(resp, 404, "Not Found");
}

/* Starts the fake on 127.0.0.1 for project. */
static inline int fg_start(struct fake_gitiles *f, const char *project)
{
    struct http_server_options o = {.host = "127.0.0.1", .idle_timeout_sec = 5};
    int r;

    memset(f, 0, sizeof(*f));
    snprintf(f->project, sizeof(f->project), "%s", project);
    r = http_server_new(&o, &f->s);
    if (r == 0)
        r = http_server_route(f->s, "GET", "/a/", fg_handle, f, NULL, 0);
    if (r == 0)
        r = http_server_start(f->s);
    if (r == 0)
        snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->s));
    return r;
}

static inline void fg_clear_requests(struct fake_gitiles *f)
{
    for (size_t i = 0; i < f->n_requests; i++)
        free(f->requests[i]);
    f->n_requests = 0;
}

static inline void fg_stop(struct fake_gitiles *f)
{
    f->s = http_server_free(f->s);
    fg_clear_requests(f);
}

#endif
