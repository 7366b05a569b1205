/*
 * bench-listing.c - the cost of listings (issues 12 and 10): a real engine
 * over a real SQLite file in $TMPDIR (default /tmp), the pRPC API, the web
 * UI and /metrics on a real HTTP server on 127.0.0.1, libcurl as the
 * client (one keep-alive connection).
 *
 *   bench-listing [JOBS] [PROJECTS] [ROUNDS] [INVOCATIONS] [WHAT]
 *
 * JOBS jobs (default 100000) in PROJECTS projects (default 100), written
 * straight into the store (one transaction; no config files), every one in
 * realm "private" whose only binding makes user:owner@example.com an
 * owner; plus 3 jobs anonymous may read in realm "public" of the first
 * project (among its private ones) and 3 in project "public".  Then:
 *   - anonymous GetJobs {} (sees the 6 public jobs only): median, p90, max
 *     of ROUNDS calls (default 200);
 *   - the owner's first page, GetJobs {}: median, p90, max of ROUNDS / 4;
 *   - the owner's full listing, every page following nextCursor: time,
 *     pages, jobs, and the peak RSS increase of the process (VmHWM after,
 *     reset through /proc/self/clear_refs, minus VmRSS before);
 *   - GetInvocations of p000/j000000, which has INVOCATIONS invocations
 *     (default 100000, written straight into the store): the first page
 *     (ROUNDS calls) and every page following nextCursor;
 *   - the web UI's index "/" and project page "/jobs/p000" as the owner
 *     (who sees every job), and a /metrics scrape: ROUNDS / 20 GETs each
 *     (at least 3), median, p90, max, peak RSS increase, answer bytes.
 * WHAT (default "all") runs one part only, in a fresh process, so that no
 * earlier part's freed heap hides a later part's peak: "jobs",
 * "invocations", "index", "project" or "metrics".  $BENCH_LISTING_DUMP
 * names a file that receives the last GET's answer.
 * The same source builds against tock before paging (46f1af7): there the
 * first "page" is the whole list.  Figures go to stdout; nothing is
 * asserted.  Exit status 1 only when the setup fails.
 */
#include "base/compat.h"

#include <curl/curl.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"
#include "engine/engine.h"
#include "net/http.h"
#include "store/store.h"
#include "tasks/registry.h"
#include "web/web.h"

#define MAX_ROUNDS 100000
#define MAX_INVOCATIONS 10000000L

static const char realms_private[] =
    "realms {\n"
    "  name: \"private\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"anonymous:anonymous\" }\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n";
static const char realms_public[] =
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"anonymous:anonymous\" }\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n";
static const char tokens[] = "tok-owner user:owner@example.com\n";

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* VmRSS and VmHWM of this process in MiB. */
static void mem_mib(double *rss, double *hwm)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb;

    *rss = *hwm = 0;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb / 1024;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = (double)kb / 1024;
    }
    fclose(f);
}

/* Resets VmHWM to the current RSS (Linux: "5" to clear_refs); false if not possible. */
static bool reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    bool ok = f && fputs("5", f) >= 0;

    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

/* Writes projects p000.. with jobs j000000.. and the public project. */
static int fill_store(struct store *s, long jobs, long projects)
{
    struct store_tx *tx = NULL;
    char id[64], project[32], name[32], realm[64];
    int r = store_begin(s, &tx);

    for (long p = 0; r == 0 && p <= projects; p++) {
        bool pub = p == projects;
        snprintf(project, sizeof(project), pub ? "public" : "p%03ld", p);
        struct store_project pr = {.id = project, .revision = "rev", .enabled = true};
        r = store_project_put(tx, &pr);
        long first = pub ? 0 : p * jobs / projects, last = pub ? 3 : (p + 1) * jobs / projects;
        if (p == 0)
            last += 3; /* j0..j2 of project p000 again, as public jobs "pub..." */
        for (long j = first; r == 0 && j < last; j++) {
            bool extra = p == 0 && j >= last - 3;
            snprintf(name, sizeof(name), extra ? "pub%ld" : "j%06ld", extra ? last - j : j);
            snprintf(id, sizeof(id), "%s/%s", project, name);
            snprintf(realm, sizeof(realm), "%s:%s", project,
                     pub || extra ? "public" : "private");
            struct store_job row = {.id = id, .project = project, .name = name,
                                    .realm_id = realm, .flavor = 1, .enabled = true,
                                    .schedule = "triggered", .task_json = "{\"noop\":{}}",
                                    .revision = "rev"};
            r = store_job_put(tx, &row);
        }
    }
    if (r == 0)
        return store_commit(tx);
    store_rollback(tx);
    return r;
}

/* INVOCATIONS final invocations of p000/j000000, one a minute back from now. */
static int fill_invocations(struct store *s, long n)
{
    struct store_tx *tx = NULL;
    int64_t now = (int64_t)time(NULL) * NS_PER_SEC;
    int r = store_begin(s, &tx);

    for (long i = 0; r == 0 && i < n; i++) {
        int64_t started = now - (i + 1) * 60 * NS_PER_SEC;
        struct store_inv v = {
            .id = 1000000000 + i, /* smaller = newer, as invocation ids are */
            .job_id = "p000/j000000", .realm_id = "p000:private", .started = started,
            .finished = started + NS_PER_SEC, .status = "SUCCEEDED",
            .triggered_by = "user:owner@example.com",
            .request_json = "{\"triggeredBy\":\"user:owner@example.com\"}",
            .task_json = "{\"noop\":{}}", .revision = "rev",
            .debug_log = "[22:42:00.000] Invocation initiated\n", .mutations = 3};
        r = store_inv_insert(tx, &v);
    }
    if (r == 0)
        return store_commit(tx);
    store_rollback(tx);
    return r;
}

static int set_policies(struct auth *a, long projects)
{
    char project[32], err[256];
    int r = auth_load_tokens(a, tokens, strlen(tokens), err, sizeof(err));

    for (long p = 0; r == 0 && p < projects; p++) {
        snprintf(project, sizeof(project), "p%03ld", p);
        r = auth_set_project(a, project, NULL, realms_private, strlen(realms_private), err,
                             sizeof(err));
    }
    if (r == 0)
        r = auth_set_project(a, "public", NULL, realms_public, strlen(realms_public), err,
                             sizeof(err));
    if (r < 0)
        fprintf(stderr, "auth: %s\n", err);
    return r;
}

struct client {
    CURL *c;
    struct curl_slist *anon, *owner;
    char base[64];
    struct buf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* GET path (post NULL) or POST post to it; the body in cl->body.  0 or -1 (printed). */
static int http_call(struct client *cl, const char *path, const char *post, bool owner)
{
    char url[256];
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", cl->base, path);
    buf_reset(&cl->body);
    curl_easy_setopt(cl->c, CURLOPT_URL, url);
    curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, owner ? cl->owner : cl->anon);
    if (post)
        curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, post);
    else
        curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
    if (curl_easy_perform(cl->c) != CURLE_OK) {
        fprintf(stderr, "%s: the call failed\n", path);
        return -1;
    }
    curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        fprintf(stderr, "%s: HTTP %ld: %.200s\n", path, status,
                cl->body.data ? cl->body.data : "");
        return -1;
    }
    return 0;
}

/*
 * One pRPC call of method with the JSON body req; *ret_n = the size of the
 * array field list of the reply, ret_next (4096) its nextCursor ("" = last
 * page).  Returns 0 or -1 (printed).
 */
static int prpc_list(struct client *cl, const char *method, const char *req, bool owner,
                     const char *list, size_t *ret_n, char *ret_next)
{
    char path[128];
    json_t *reply;
    const char *next;

    snprintf(path, sizeof(path), "/prpc/scheduler.Scheduler/%s", method);
    if (http_call(cl, path, req, owner) < 0)
        return -1;
    if (cl->body.len < 5 ||
        !(reply = json_loadb(cl->body.data + 5, cl->body.len - 5, 0, NULL))) {
        fprintf(stderr, "%s: not JSON\n", method);
        return -1;
    }
    *ret_n = json_array_size(json_object_get(reply, list));
    next = json_string_value(json_object_get(reply, "nextCursor"));
    snprintf(ret_next, 4096, "%s", next ? next : "");
    json_decref(reply);
    return 0;
}

/* One GetJobs call from cursor ("" = the first page). */
static int get_jobs(struct client *cl, bool owner, const char *cursor, size_t *ret_jobs,
                    char *ret_next)
{
    char req[4200];

    snprintf(req, sizeof(req), cursor && *cursor ? "{\"cursor\":\"%s\"}" : "{}", cursor);
    return prpc_list(cl, "GetJobs", req, owner, "jobs", ret_jobs, ret_next);
}

/* One GetInvocations call of the big job from cursor. */
static int get_invs(struct client *cl, const char *cursor, size_t *ret_n, char *ret_next)
{
    char req[4300];

    snprintf(req, sizeof(req), "{\"jobRef\":{\"project\":\"p000\",\"job\":\"j000000\"}%s%s%s}",
             cursor && *cursor ? ",\"cursor\":\"" : "", cursor ? cursor : "",
             cursor && *cursor ? "\"" : "");
    return prpc_list(cl, "GetInvocations", req, true, "invocations", ret_n, ret_next);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ROUNDS first-page calls: median, p90, max in ms. */
static int time_first_page(struct client *cl, bool owner, long rounds, const char *what)
{
    int64_t *t = calloc((size_t)rounds, sizeof(*t));
    char next[4096];
    size_t n = 0;
    double rss0, hwm0, rss, hwm;

    if (!t)
        return -1;
    mem_mib(&rss0, &hwm0);
    reset_hwm();
    for (long i = 0; i < rounds; i++) {
        int64_t t0 = mono_ns();
        if (get_jobs(cl, owner, NULL, &n, next) < 0) {
            free(t);
            return -1;
        }
        t[i] = mono_ns() - t0;
    }
    mem_mib(&rss, &hwm);
    qsort(t, (size_t)rounds, sizeof(*t), cmp_i64);
    printf("  %-36s %zu jobs%s: median %.2f ms, p90 %.2f ms, max %.2f ms (%ld calls);"
           " peak RSS +%.1f MiB\n",
           what, n, next[0] ? " + nextCursor" : "", (double)t[rounds / 2] / 1e6,
           (double)t[rounds * 9 / 10] / 1e6, (double)t[rounds - 1] / 1e6, rounds, hwm - rss0);
    free(t);
    return 0;
}

/* The owner's every page. */
static int full_listing(struct client *cl)
{
    char cursor[4096] = "", next[4096];
    size_t total = 0, n = 0, pages = 0;
    double rss0, hwm0, rss, hwm;
    bool hwm_ok;
    int64_t t0;

    mem_mib(&rss0, &hwm0);
    hwm_ok = reset_hwm();
    t0 = mono_ns();
    do {
        if (get_jobs(cl, true, cursor, &n, next) < 0)
            return -1;
        total += n;
        pages++;
        snprintf(cursor, sizeof(cursor), "%s", next);
    } while (cursor[0] && n > 0);
    mem_mib(&rss, &hwm);
    printf("  %-36s %zu jobs in %zu pages, %.2f s; peak RSS +%.1f MiB%s\n",
           "owner's full listing (every page)", total, pages, (double)(mono_ns() - t0) / 1e9,
           hwm - rss0, hwm_ok ? "" : " (VmHWM not reset: since start)");
    return 0;
}

/* GetInvocations of the big job: ROUNDS first pages, then every page. */
static int invocations(struct client *cl, long rounds)
{
    int64_t *t = calloc((size_t)rounds, sizeof(*t)), t0;
    char cursor[4096] = "", next[4096];
    size_t n = 0, total = 0, pages = 0;
    double rss0, hwm0, rss, hwm;
    int r = t ? 0 : -1;

    mem_mib(&rss0, &hwm0);
    reset_hwm();
    for (long i = 0; r == 0 && i < rounds; i++) {
        t0 = mono_ns();
        r = get_invs(cl, NULL, &n, next);
        t[i] = mono_ns() - t0;
    }
    if (r < 0)
        goto out;
    mem_mib(&rss, &hwm);
    qsort(t, (size_t)rounds, sizeof(*t), cmp_i64);
    printf("  %-36s %zu invocations%s: median %.2f ms, p90 %.2f ms, max %.2f ms (%ld calls);"
           " peak RSS +%.1f MiB\n",
           "GetInvocations, first page", n, next[0] ? " + nextCursor" : "",
           (double)t[rounds / 2] / 1e6, (double)t[rounds * 9 / 10] / 1e6,
           (double)t[rounds - 1] / 1e6, rounds, hwm - rss0);
    mem_mib(&rss0, &hwm0);
    reset_hwm();
    t0 = mono_ns();
    do {
        if ((r = get_invs(cl, cursor, &n, next)) < 0)
            goto out;
        total += n;
        pages++;
        snprintf(cursor, sizeof(cursor), "%s", next);
    } while (cursor[0] && n > 0);
    mem_mib(&rss, &hwm);
    printf("  %-36s %zu invocations in %zu pages, %.2f s; peak RSS +%.1f MiB\n",
           "GetInvocations, every page", total, pages, (double)(mono_ns() - t0) / 1e9,
           hwm - rss0);
out:
    free(t);
    return r;
}

/* $BENCH_LISTING_DUMP, when set, receives the last answer (to compare two builds' pages). */
static void dump_body(const struct client *cl)
{
    const char *path = getenv("BENCH_LISTING_DUMP");
    FILE *f = path && *path ? fopen(path, "w") : NULL;

    if (f) {
        fwrite(cl->body.data, 1, cl->body.len, f);
        fclose(f);
    }
}

/* rounds GETs of path as the owner: median, p90, max, peak RSS, bytes. */
static int time_get(struct client *cl, const char *path, long rounds, const char *what)
{
    int64_t *t = calloc((size_t)rounds, sizeof(*t));
    double rss0, hwm0, rss, hwm;
    int r = t ? 0 : -1;

    mem_mib(&rss0, &hwm0);
    reset_hwm();
    for (long i = 0; r == 0 && i < rounds; i++) {
        int64_t t0 = mono_ns();
        r = http_call(cl, path, NULL, true);
        t[i] = mono_ns() - t0;
    }
    if (r == 0) {
        mem_mib(&rss, &hwm);
        qsort(t, (size_t)rounds, sizeof(*t), cmp_i64);
        printf("  %-36s %zu bytes: median %.1f ms, p90 %.1f ms, max %.1f ms (%ld GETs);"
               " peak RSS +%.1f MiB\n",
               what, cl->body.len, (double)t[rounds / 2] / 1e6, (double)t[rounds * 9 / 10] / 1e6,
               (double)t[rounds - 1] / 1e6, rounds, hwm - rss0);
        dump_body(cl);
    }
    free(t);
    return r;
}

static int client_init(struct client *cl, uint16_t port)
{
    cl->c = curl_easy_init();
    if (!cl->c)
        return -1;
    snprintf(cl->base, sizeof(cl->base), "http://127.0.0.1:%u", port);
    cl->anon = curl_slist_append(NULL, "Content-Type: application/json");
    cl->owner = curl_slist_append(NULL, "Content-Type: application/json");
    cl->owner = curl_slist_append(cl->owner, "Authorization: Bearer tok-owner");
    buf_init(&cl->body, 256u << 20);
    curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
    curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
    return 0;
}

static void client_release(struct client *cl)
{
    curl_slist_free_all(cl->anon);
    curl_slist_free_all(cl->owner);
    buf_release(&cl->body);
    curl_easy_cleanup(cl->c);
}

struct setup {
    char dir[128], db[160];
    struct store *store;
    struct task_registry *reg;
    struct engine *e;
    struct auth *a;
    struct http_server *http;
};

static int setup_open(struct setup *s, long jobs, long projects, long invs)
{
    const char *tmp = getenv("TMPDIR");
    char url[200], err[256] = "";
    struct task_options topts = {0};
    struct http_server_options ho = {.host = "127.0.0.1"};
    int64_t t0;

    snprintf(s->dir, sizeof(s->dir), "%s/bench-listing-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->db, sizeof(s->db), "%s/tock.db", s->dir);
    snprintf(url, sizeof(url), "sqlite:%s", s->db);
    if (store_open(url, &s->store, err, sizeof(err)) < 0) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    t0 = mono_ns();
    if (fill_store(s->store, jobs, projects) < 0) {
        fprintf(stderr, "cannot fill the store: %s\n", store_errmsg(s->store));
        return -1;
    }
    printf("  %ld jobs in %ld projects (+6 public) written to the store in %.2f s\n", jobs,
           projects, (double)(mono_ns() - t0) / 1e9);
    t0 = mono_ns();
    if (fill_invocations(s->store, invs) < 0) {
        fprintf(stderr, "cannot write the invocations: %s\n", store_errmsg(s->store));
        return -1;
    }
    printf("  %ld invocations of p000/j000000 written in %.2f s\n", invs,
           (double)(mono_ns() - t0) / 1e9);
    if (task_registry_default(&topts, &s->reg) < 0)
        return -1;
    struct engine_options eo = {.store = s->store, .registry = s->reg};
    if (engine_new(&eo, &s->e) < 0 || !(s->a = auth_new()) || set_policies(s->a, projects) < 0)
        return -1;
    if (http_server_new(&ho, &s->http) < 0 || api_register(s->http, s->e, s->a) < 0 ||
        web_register(s->http, s->e, s->a, NULL) < 0 ||
        api_register_metrics(s->http, s->e) < 0 || http_server_start(s->http) < 0)
        return -1;
    return 0;
}

static void setup_close(struct setup *s)
{
    char p[200];

    s->http = http_server_free(s->http);
    s->e = engine_free(s->e);
    s->a = auth_free(s->a);
    s->reg = task_registry_free(s->reg);
    s->store = store_close(s->store);
    static const char *const suffix[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; s->dir[0] && i < ARRAY_SIZE(suffix); i++) {
        snprintf(p, sizeof(p), "%s%s", s->db, suffix[i]);
        unlink(p);
    }
    if (s->dir[0])
        rmdir(s->dir);
}

int main(int argc, char **argv)
{
    long jobs = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    long projects = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
    long rounds = argc > 3 ? strtol(argv[3], NULL, 10) : 200;
    long invs = argc > 4 ? strtol(argv[4], NULL, 10) : 100000;
    long get_rounds = rounds / 20 > 3 ? rounds / 20 : 3;
    const char *what = argc > 5 ? argv[5] : "all";
    bool all = strcmp(what, "all") == 0;
    struct setup s;
    struct client cl = {0};
    int status = 1;

    if (jobs < 1 || projects < 1 || projects > 999 || rounds < 4 || rounds > MAX_ROUNDS ||
        invs < 0 || invs > MAX_INVOCATIONS) {
        fprintf(stderr,
                "usage: bench-listing [JOBS] [PROJECTS 1..999] [ROUNDS 4..%d]"
                " [INVOCATIONS 0..%ld]\n",
                MAX_ROUNDS, MAX_INVOCATIONS);
        return 1;
    }
    memset(&s, 0, sizeof(s));
    log_init(LOG_FORMAT_TEXT, LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define PART(name) (all || strcmp(what, name) == 0)
    if (setup_open(&s, jobs, projects, invs) == 0 &&
        client_init(&cl, http_server_port(s.http)) == 0 &&
        (!PART("jobs") ||
         (time_first_page(&cl, false, rounds, "anonymous GetJobs {} (100,000 hidden)") == 0 &&
          time_first_page(&cl, true, rounds / 4 ? rounds / 4 : 1, "owner's first page") == 0 &&
          full_listing(&cl) == 0)) &&
        (!PART("invocations") || invocations(&cl, rounds) == 0) &&
        (!PART("index") || time_get(&cl, "/", get_rounds, "web index / (owner)") == 0) &&
        (!PART("project") ||
         time_get(&cl, "/jobs/p000", get_rounds, "web project page /jobs/p000") == 0) &&
        (!PART("metrics") || time_get(&cl, "/metrics", get_rounds, "/metrics scrape") == 0))
        status = 0;
#undef PART
    client_release(&cl);
    setup_close(&s);
    curl_global_cleanup();
    return status;
}
