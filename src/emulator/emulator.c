/*
 * emulator.c - set-up and tear-down, the request router shared by both
 * fronts (net/http.h normally, hostile.c with --hostile), server/info,
 * events, randomness and identities.
 */
#include "base/compat.h"
#include "base/time.h"
#include "emu-internal.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

void emu_event(struct emulator *e, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    if (!e->o.on_event)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    e->o.on_event(e->o.on_event_ctx, line);
}

/* splitmix64: deterministic for a given --seed. */
uint64_t emu_random(struct emulator *e)
{
    uint64_t z = (e->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

double emu_random_fraction(struct emulator *e)
{
    return (double)(emu_random(e) >> 11) / 9007199254740992.0;
}

void emu_identity(const struct emulator *e, const char *project, char *out, size_t outlen)
{
    if (e->caller)
        snprintf(out, outlen, "%s", e->caller);
    else if (project && *project)
        snprintf(out, outlen, "project:%s", project);
    else
        snprintf(out, outlen, "anonymous:anonymous");
}

void emu_hold_schedule_answer(struct emulator *e, const struct emu_builder *bld)
{
    int64_t left = bld ? bld->schedule_delay_ns : 0;

    while (left > 0 && !__atomic_load_n(&e->stopping, __ATOMIC_RELAXED)) {
        int64_t step = left < 50 * NS_PER_MS ? left : 50 * NS_PER_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step};
        nanosleep(&ts, NULL);
        left -= step;
    }
}

/* ---- routing ---- */

static int server_info(struct emulator *e, struct http_response *resp)
{
    char app[256];
    const char *dot = strchr(e->hostname, '.');
    snprintf(app, sizeof(app), "%.*s", dot ? (int)(dot - e->hostname) : (int)strlen(e->hostname),
             e->hostname);
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s}", "app_id", app, "app_runtime", "go",
                          "app_runtime_version", "go1.22.3", "app_version",
                          "tock-buildbucket-emulator", "service_account_name",
                          e->service_account);
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s)
        return -ENOMEM;
    buf_reset(&resp->body);
    int r = http_response_set_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (r == 0)
        r = buf_puts(&resp->body, s);
    free(s);
    return r;
}

int emu_dispatch(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct emulator *e = ctx;

    if (strncmp(req->path, "/prpc/", 6) == 0)
        return prpc_server_handle(e->prpc, req, resp);
    if (strncmp(req->path, "/_ah/api/buildbucket/v1/builds", 30) == 0 &&
        (req->path[30] == '\0' || req->path[30] == '/'))
        return emu_v1_handle(e, req, resp);
    if (strcmp(req->path, "/auth/api/v1/server/info") == 0) {
        if (strcmp(req->method, "GET") != 0)
            return http_response_text(resp, 405, "method not allowed");
        return server_info(e, resp);
    }
    if (strcmp(req->path, "/stats") == 0)
        return emu_stats_handle(e, req, resp);
    if (strcmp(req->path, "/healthz") == 0)
        return http_response_text(resp, 200, "ok");
    return http_response_text(resp, 404, "not found");
}

/* ---- life cycle ---- */

static char *dup_or(const char *s, const char *def)
{
    return strdup(s && *s ? s : def);
}

int emu_new(const struct emu_options *o, struct emulator **ret)
{
    struct emulator *e = calloc(1, sizeof(*e));

    if (!e || !o->builders) {
        free(e);
        emu_builders_free(o->builders);
        return e ? -EINVAL : -ENOMEM;
    }
    e->o = *o;
    e->builders = o->builders;
    e->clock = o->clock ? o->clock : clock_real();
    e->hostile_fd = -1;
    if (!e->o.max_builds)
        e->o.max_builds = EMU_DEFAULT_MAX_BUILDS;
    if (!e->o.dedup_window_ns)
        e->o.dedup_window_ns = NS_PER_MIN;
    if (!e->o.push_attempts)
        e->o.push_attempts = 5;
    if (!e->o.push_backoff_ns)
        e->o.push_backoff_ns = NS_PER_SEC;
    if (!e->o.push_timeout_ns)
        e->o.push_timeout_ns = 10 * NS_PER_SEC;
    e->rng = o->seed_set ? o->seed : (uint64_t)clock_now(e->clock) ^ ((uint64_t)getpid() << 32);
    e->next_message_id = 2070443601311540u + (emu_random(e) % 1000000u);
    e->hostname = dup_or(o->hostname, "cr-buildbucket.appspot.com");
    e->service_account = dup_or(o->service_account, "cr-buildbucket@appspot.gserviceaccount.com");
    e->caller = o->caller && *o->caller ? strdup(o->caller) : NULL;
    e->push_url = o->push_url && *o->push_url ? strdup(o->push_url) : NULL;
    e->hostile_rpcs = o->hostile_rpcs && *o->hostile_rpcs ? strdup(o->hostile_rpcs) : NULL;
    e->o.hostname = e->o.service_account = e->o.caller = e->o.push_url = NULL;
    e->o.hostile_rpcs = NULL;
    e->id_hash = calloc(EMU_HASH_BUCKETS, sizeof(*e->id_hash));
    e->key_hash = calloc(EMU_HASH_BUCKETS, sizeof(*e->key_hash));
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->life_cond, NULL);
    pthread_cond_init(&e->push_cond, NULL);
    pthread_cond_init(&e->conns_cond, NULL);
    if (!e->hostname || !e->service_account || !e->id_hash || !e->key_hash) {
        emu_free(e);
        return -ENOMEM;
    }
    *ret = e;
    return 0;
}

static int start_http(struct emulator *e)
{
    struct http_server_options ho = {.host = e->o.host, .port = e->o.port};
    int r = http_server_new(&ho, &e->http);
    if (r == 0)
        r = http_server_route(e->http, NULL, "/", emu_dispatch, e, NULL,
                              HTTP_ROUTE_OVERSIZE_TO_HANDLER);
    if (r == 0)
        r = http_server_start(e->http);
    if (r == 0)
        e->port = http_server_port(e->http);
    return r;
}

int emu_start(struct emulator *e)
{
    struct prpc_server_options po = {.discard_unknown = true};
    int r;

    if (e->started)
        return -EBUSY;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e->prpc = prpc_server_new(&po);
    if (!e->prpc)
        return -ENOMEM;
    r = emu_register_v2(e, e->prpc);
    if (r < 0)
        return r;
    r = e->o.hostile ? emu_hostile_start(e) : start_http(e);
    if (r < 0)
        return r;
    e->started = true;
    if (pthread_create(&e->life_thread, NULL, emu_life_main, e) != 0)
        return -EAGAIN;
    e->life_running = true;
    if (pthread_create(&e->push_thread, NULL, emu_push_main, e) != 0)
        return -EAGAIN;
    e->push_running = true;
    return 0;
}

uint16_t emu_port(const struct emulator *e)
{
    return e->port;
}

void emu_stop(struct emulator *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    __atomic_store_n(&e->stopping, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&e->life_cond);
    pthread_cond_broadcast(&e->push_cond);
    pthread_mutex_unlock(&e->lock);
    if (e->http)
        http_server_stop(e->http);
    emu_hostile_stop(e);
    if (e->life_running)
        pthread_join(e->life_thread, NULL);
    if (e->push_running)
        pthread_join(e->push_thread, NULL);
    e->life_running = e->push_running = false;
    emu_kill_commands(e);
}

struct emulator *emu_free(struct emulator *e)
{
    if (!e)
        return NULL;
    emu_stop(e);
    e->http = http_server_free(e->http);
    e->prpc = prpc_server_free(e->prpc);
    emu_builds_free_all(e);
    emu_pushes_free(e);
    free(e->active);
    free(e->id_hash);
    free(e->key_hash);
    free(e->hostname);
    free(e->service_account);
    free(e->caller);
    free(e->push_url);
    free(e->hostile_rpcs);
    emu_builders_free(e->builders);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->life_cond);
    pthread_cond_destroy(&e->push_cond);
    pthread_cond_destroy(&e->conns_cond);
    if (e->started)
        curl_global_cleanup();
    free(e);
    return NULL;
}
