/*
 * manager.c - the buildbucket task manager: its table of hooks, the
 * Buildbucket v2 calls (ScheduleBuild, GetBuild, CancelBuild over pRPC),
 * the Pub/Sub topic and the status-check timer.  See buildbucket.h for the
 * contract and docs/tasks.md for the behaviour; v1.c has the legacy API.
 *
 * Every call is bounded by LUCI's one-minute deadline and by the client's
 * per-host cap on calls in flight, so a Buildbucket that hangs holds at
 * most that many engine workers for at most a minute each.
 */
#include "tasks/buildbucket/bb-manager.h"

#include <sys/random.h>

#include "base/base64.h"
#include "base/time.h"
#include "config/gourl.h"
#include "net/prpc.h"
#include "tasks/taskjson.h"

#define BB_SERVICE "buildbucket.v2.Builds"
#define BB_CALL_TIMEOUT_NS (60 * NS_PER_SEC)

static struct bb_manager *bb_of(const struct task_manager *m)
{
    return m->ctx;
}

struct client_call_options bb_call_options(const struct bb_manager *bm)
{
    struct client_call_options o = {.timeout_ns = BB_CALL_TIMEOUT_NS,
                                    .authenticated = !bm->anonymous};
    return o;
}

/* Go's codes.Code.String(), for LUCI's "rpc error: code = X desc = Y". */
static const char *go_code_name(int code, char *tmp, size_t n)
{
    static const char *const names[] = {
        "OK",           "Canceled",          "Unknown",          "InvalidArgument",
        "DeadlineExceeded", "NotFound",      "AlreadyExists",    "PermissionDenied",
        "ResourceExhausted", "FailedPrecondition", "Aborted",   "OutOfRange",
        "Unimplemented", "Internal",         "Unavailable",      "DataLoss",
        "Unauthenticated",
    };
    if (code >= 0 && (size_t)code < ARRAY_SIZE(names))
        return names[code];
    snprintf(tmp, n, "Code(%d)", code);
    return tmp;
}

static void rpc_error_text(int code, const char *message, char *out, size_t n)
{
    char tmp[32];
    struct buf b;

    /* Cut to fit out (c->err is short; debug-log lines get it whole). */
    buf_init(&b, CLIENT_MAX_ERROR_BYTES + 128);
    buf_printf(&b, "rpc error: code = %s desc = %s", go_code_name(code, tmp, sizeof(tmp)),
               message);
    snprintf(out, n, "%.*s", (int)(n > 0 ? n - 1 : 0), b.data);
    buf_release(&b);
}

/* Logs "<what> - <err>", keeps err in c->err, classifies the code. */
static int rpc_failed(struct task_ctl *c, const char *what, int code, const char *message)
{
    struct client_error e = {.code = code};
    char text[CLIENT_MAX_ERROR_BYTES + 128];

    rpc_error_text(code, message, text, sizeof(text));
    task_ctl_logf(c, "%s - %s", what, text);
    snprintf(c->err, sizeof(c->err), "%.500s", text);
    return client_error_is_transient(&e) ? TASK_ERR_TRANSIENT : TASK_ERR_FATAL;
}

/* ---- the Pub/Sub topic ---- */

static bool cache_get(struct bb_manager *bm, const char *server, char *account, size_t n)
{
    bool found = false;
    pthread_mutex_lock(&bm->mu);
    for (size_t i = 0; i < bm->n_cache && !found; i++) {
        if (strcmp(bm->cache[i].server, server) == 0) {
            snprintf(account, n, "%s", bm->cache[i].account);
            found = true;
        }
    }
    pthread_mutex_unlock(&bm->mu);
    return found;
}

static void cache_put(struct bb_manager *bm, const char *server, const char *account)
{
    pthread_mutex_lock(&bm->mu);
    bool known = false;
    for (size_t i = 0; i < bm->n_cache; i++)
        known = known || strcmp(bm->cache[i].server, server) == 0;
    if (!known && bm->n_cache < ARRAY_SIZE(bm->cache) &&
        strlen(server) < sizeof(bm->cache[0].server)) {
        struct bb_account *a = &bm->cache[bm->n_cache++];
        snprintf(a->server, sizeof(a->server), "%s", server);
        snprintf(a->account, sizeof(a->account), "%s", account);
    }
    pthread_mutex_unlock(&bm->mu);
}

/* A service account name fit for a topic name: "name@domain", no odd characters. */
static bool valid_account(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < sizeof(((struct bb_account *)0)->account) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_") == n;
}

/* GET https://<server>/auth/api/v1/server/info -> service_account_name. */
static int server_account(struct bb_manager *bm, const char *server, char *account, size_t n,
                          char *err, size_t errlen)
{
    static const char path[] = "/auth/api/v1/server/info";
    struct client_http_request rq = {.method = "GET", .host = server, .path = path};
    struct client_call_options o = {.timeout_ns = BB_CALL_TIMEOUT_NS};
    struct client_http_response resp = {0};
    struct client_error e;
    json_t *info = NULL;
    int r = -EIO;

    if (cache_get(bm, server, account, n))
        return 0;
    if (client_http(bm->client, &rq, &o, &resp, &e) < 0) {
        snprintf(err, errlen, "%s", e.message);
        return -EIO;
    }
    if (resp.status != 200) {
        snprintf(err, errlen, "HTTP %ld from %s", resp.status, path);
        goto out;
    }
    info = json_loadb(resp.body, resp.len, 0, NULL);
    const char *acc = json_string_value(json_object_get(info, "service_account_name"));
    if (!acc || !valid_account(acc)) {
        snprintf(err, errlen, "no valid service_account_name in %s", path);
        goto out;
    }
    snprintf(account, n, "%s", acc);
    cache_put(bm, server, acc);
    r = 0;
out:
    json_decref(info);
    client_http_response_release(&resp);
    return r;
}

int bb_prepare_topic(struct bb_manager *bm, struct task_ctl *c, const char *server, char *topic,
                     size_t topiclen, char *token, size_t tokenlen)
{
    char url[600], q[700], account[256], err[CLIENT_MAX_ERROR_BYTES + 64];
    int r;

    snprintf(url, sizeof(url), "%s%s", strncmp(server, "http://", 7) == 0 ? "" : "https://",
             server);
    task_ctl_logf(c, "Preparing PubSub topic for %s", goquote(url, q, sizeof(q)));
    r = server_account(bm, server, account, sizeof(account), err, sizeof(err));
    if (r == 0) {
        int k = c->ops->pubsub_token ? c->ops->pubsub_token(c, token, tokenlen) : -ENOSYS;
        if (k < 0) {
            snprintf(err, sizeof(err), "cannot make the PubSub auth token: %s", strerror(-k));
            r = k;
        }
    }
    if (r < 0) {
        task_ctl_logf(c, "Failed to prepare PubSub topic - %s", err);
        snprintf(c->err, sizeof(c->err), "failed to prepare PubSub topic - %.400s", err);
        return TASK_ERR_TRANSIENT;
    }
    for (char *p = account; *p; p++)
        if (*p == '@')
            *p = '~';
    snprintf(topic, topiclen, "%s.%s", bm->pubsub_topic, account);
    char qt[1200];
    task_ctl_logf(c, "PubSub topic is %s", goquote(topic, qt, sizeof(qt)));
    return 0;
}

/* ---- shared helpers ---- */

int bb_store_task_data(struct task_ctl *c, const struct bb_task_data *d)
{
    json_t *td = NULL;
    if (bb_task_data_json(d, &td) < 0) {
        snprintf(c->err, sizeof(c->err), "could not serialize TaskData");
        return TASK_ERR_TRANSIENT;
    }
    json_decref(c->task_data);
    c->task_data = td;
    return 0;
}

int bb_add_timer(struct task_ctl *c, int64_t delay_ns)
{
    int r = c->ops->add_timer(c, delay_ns, BUILDBUCKET_TIMER_TITLE, NULL);
    if (r < 0) {
        snprintf(c->err, sizeof(c->err), "cannot add the status-check timer: %s", strerror(-r));
        return TASK_ERR_TRANSIENT;
    }
    return 0;
}

int bb_check_preamble(struct task_ctl *c, struct bb_task_data *ret)
{
    if (c->status == INV_STARTING) {
        /* A push raced ahead of LaunchTask: touch nothing, ask for a retry. */
        snprintf(c->err, sizeof(c->err), "invocation is still starting, try again later");
        return TASK_ERR_TRANSIENT;
    }
    if (c->status != INV_RUNNING) {
        snprintf(c->err, sizeof(c->err), "unexpected invocation status \"%s\", expecting \"%s\"",
                 inv_status_name(c->status), inv_status_name(INV_RUNNING));
        return TASK_ERR_FATAL;
    }
    if (bb_task_data_read(c->task_data, ret) < 0) {
        c->status = INV_FAILED;
        snprintf(c->err, sizeof(c->err), "could not parse TaskData");
        return TASK_ERR_FATAL;
    }
    return 0;
}

static bool is_v1(const struct bb_manager *bm, const char *server)
{
    for (size_t i = 0; i < bm->n_v1_hosts; i++)
        if (strcmp(bm->v1_hosts[i], server) == 0)
            return true;
    return false;
}

static uint64_t bb_random(const struct bb_manager *bm)
{
    uint64_t x = 0;
    if (bm->random)
        return bm->random(bm->random_ctx);
    if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
        x = (uint64_t)time(NULL) * 6364136223846793005u + (uint64_t)(uintptr_t)&x;
    return x;
}

/* The task body and its server; a broken definition is fatal. */
static int task_server(struct task_ctl *c, const char **ret)
{
    const json_t *body = bb_task_body(c);
    const char *server = taskjson_str(body, "server");
    if (!body || !*server) {
        snprintf(c->err, sizeof(c->err), "bad buildbucket task definition: no server");
        return TASK_ERR_FATAL;
    }
    *ret = server;
    return 0;
}

/* ---- v2 ---- */

/* handleBuildStatus (spec 4.1.5); returns the status name, NULL when it has a wrong type. */
static const char *apply_status(struct task_ctl *c, const json_t *build, char *tmp, size_t n)
{
    enum inv_status st;
    const char *name = bb_v2_status_name(build, tmp, n);

    if (!name)
        return NULL;
    if (!bb_v2_map_status(name, c->status, &st))
        task_ctl_logf(c, "Unexpected Build status %s, marking the invocation as failed", name);
    c->status = st;
    return name;
}

/* Sends the request (notify.userData = base64 of the token) and checks the answer. */
static int schedule_build(struct bb_manager *bm, struct task_ctl *c, const char *server,
                          json_t *req, const char *token, json_t **ret)
{
    struct client_call_options o = bb_call_options(bm);
    struct client_error e;
    struct buf ud;
    json_t *build = NULL;
    char id[24], tmp[32];

    buf_init(&ud, 2 * TASK_PUBSUB_TOKEN_MAX);
    if (base64_encode_buf(BASE64_STD, token, strlen(token), &ud) < 0 ||
        json_object_set_new(json_object_get(req, "notify"), "userData", json_string(ud.data)) < 0) {
        buf_release(&ud);
        snprintf(c->err, sizeof(c->err), "out of memory");
        return TASK_ERR_TRANSIENT;
    }
    buf_release(&ud);
    if (client_prpc(bm->client, server, BB_SERVICE, "ScheduleBuild", req, &o, &build, &e) < 0)
        return rpc_failed(c, "Failed to schedule Buildbucket build", e.code, e.message);
    /* An answer that does not decode as a Build is what Go's client calls INTERNAL. */
    if (bb_build_id(json_object_get(build, "id"), id, sizeof(id)) < 0 ||
        !bb_v2_status_name(build, tmp, sizeof(tmp))) {
        json_decref(build);
        return rpc_failed(c, "Failed to schedule Buildbucket build", GRPC_INTERNAL,
                          "bad ScheduleBuild reply: no valid build id or status");
    }
    *ret = build;
    return 0;
}

static int v2_launch(struct bb_manager *bm, struct task_ctl *c, const char *server)
{
    struct bb_v2_parts parts;
    struct bb_task_data td;
    char topic[1024], token[TASK_PUBSUB_TOKEN_MAX], tmp[32];
    json_t *req = NULL, *build = NULL;
    int r = bb_v2_parts_build(c, &bm->env, &parts);

    if (r < 0) {
        if (r == -ENOMEM)
            snprintf(c->err, sizeof(c->err), "out of memory");
        return r == -ENOMEM ? TASK_ERR_TRANSIENT : TASK_ERR_FATAL;
    }
    if ((r = bb_prepare_topic(bm, c, server, topic, sizeof(topic), token, sizeof(token))) < 0)
        goto out;
    if (bb_v2_request(&parts, c->invocation_id, topic, &req) < 0) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        r = TASK_ERR_TRANSIENT;
        goto out;
    }
    /* Logged before the token goes in: it is never logged. */
    bb_log_json(c, "Buildbucket request:", req, BB_JSON_PROTO);
    if (c->ops->save)
        c->ops->save(c); /* best effort, as LUCI: the call may take a while */
    if ((r = schedule_build(bm, c, server, req, token, &build)) < 0)
        goto out;
    bb_log_json(c, "Scheduled build:", build, BB_JSON_PROTO);
    memset(&td, 0, sizeof(td));
    bb_build_id(json_object_get(build, "id"), td.build_id, sizeof(td.build_id));
    c->status = INV_RUNNING;
    snprintf(c->view_url, sizeof(c->view_url), "https://%s/build/%s", server, td.build_id);
    task_ctl_logf(c, "Task URL: %s", c->view_url);
    /* A retry with the same requestId may find the build finished already. */
    const char *name = apply_status(c, build, tmp, sizeof(tmp));
    snprintf(td.last_status, sizeof(td.last_status), "%s", name);
    if ((r = bb_store_task_data(c, &td)) < 0)
        goto out;
    if (!inv_status_is_final(c->status))
        r = bb_add_timer(c, bb_poll_delay(&bm->poll, td.push_ok, bb_random(bm)));
out:
    explicit_bzero(token, sizeof(token));
    json_decref(req);
    json_decref(build);
    bb_v2_parts_release(&parts);
    return r;
}

/*
 * A GetBuild answer that does not decode as a Build (an id that is not an
 * int64, e.g. an object) is what Go's client calls INTERNAL; one about
 * another build is no answer either.  Either way its status is not used.
 */
static bool reply_is_build(const json_t *build, const char *want_id)
{
    char id[24];
    return bb_build_id(json_object_get(build, "id"), id, sizeof(id)) == 0 &&
           strcmp(id, want_id) == 0;
}

/* checkBuildStatus (spec 4.1.5), with tock's push bookkeeping. */
static int v2_check(struct bb_manager *bm, struct task_ctl *c, const char *server, bool from_push)
{
    struct client_call_options o = bb_call_options(bm);
    struct client_error e;
    struct bb_task_data td;
    json_t *req = NULL, *build = NULL;
    char tmp[32];
    int r = bb_check_preamble(c, &td);

    if (r < 0)
        return r;
    if (!(req = json_pack("{s:s}", "id", td.build_id))) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return TASK_ERR_TRANSIENT;
    }
    if (client_prpc(bm->client, server, BB_SERVICE, "GetBuild", req, &o, &build, &e) < 0) {
        r = rpc_failed(c, "Failed to fetch build", e.code, e.message);
        goto failed;
    }
    if (!reply_is_build(build, td.build_id)) {
        r = rpc_failed(c, "Failed to fetch build", GRPC_INTERNAL,
                       "bad GetBuild reply: not a Build with the id asked for");
        goto failed;
    }
    const char *name = apply_status(c, build, tmp, sizeof(tmp));
    if (!name) {
        r = rpc_failed(c, "Failed to fetch build", GRPC_INTERNAL,
                       "bad GetBuild reply: status is not a Status");
        goto failed;
    }
    if (inv_status_is_final(c->status))
        bb_log_json(c, "Build:", build, BB_JSON_PROTO);
    else
        task_ctl_logf(c, "Build status: %s", name);
    bb_task_data_observe(&td, from_push, name);
    r = bb_store_task_data(c, &td);
    goto out;
failed:
    if (r == TASK_ERR_FATAL)
        c->status = INV_FAILED;
out:
    json_decref(req);
    json_decref(build);
    return r;
}

static int bb_launch(const struct task_manager *m, struct task_ctl *c)
{
    struct bb_manager *bm = bb_of(m);
    const char *server;
    int r = task_server(c, &server);

    if (r < 0)
        return r;
    return is_v1(bm, server) ? bb_v1_launch(bm, c, server) : v2_launch(bm, c, server);
}

static int bb_handle_timer(const struct task_manager *m, struct task_ctl *c, const char *title,
                           const char *payload)
{
    struct bb_manager *bm = bb_of(m);
    const char *server;
    int r;

    (void)payload;
    if (!title || strcmp(title, BUILDBUCKET_TIMER_TITLE) != 0)
        return 0; /* not ours: timers cannot be cancelled, unwanted ones are ignored */
    if ((r = task_server(c, &server)) < 0)
        return r;
    if (is_v1(bm, server)) {
        c->ops->log(c, "Timer tick, asking Buildbucket for the build status");
        if ((r = bb_v1_check(bm, c, server, false)) < 0)
            return r;
        return inv_status_is_final(c->status) ? 0 : bb_add_timer(c, bm->poll.min_ns);
    }
    /* A transient error retries this timer; it is re-added only after a good check. */
    if ((r = v2_check(bm, c, server, false)) < 0)
        return r;
    if (inv_status_is_final(c->status))
        return 0;
    struct bb_task_data td;
    bb_task_data_read(c->task_data, &td);
    return bb_add_timer(c, bb_poll_delay(&bm->poll, td.push_ok, bb_random(bm)));
}

static int bb_handle_notification(const struct task_manager *m, struct task_ctl *c,
                                  const json_t *message)
{
    struct bb_manager *bm = bb_of(m);
    const char *server;
    int r;

    (void)message; /* only a prompt: the status always comes from GetBuild */
    if (c->status == INV_STARTING) {
        snprintf(c->err, sizeof(c->err), "invocation is still starting, try again later");
        return TASK_ERR_TRANSIENT;
    }
    if ((r = task_server(c, &server)) < 0)
        return r;
    c->ops->log(c, "Received PubSub notification, asking Buildbucket for the build status");
    return is_v1(bm, server) ? bb_v1_check(bm, c, server, true) : v2_check(bm, c, server, true);
}

static int bb_abort(const struct task_manager *m, struct task_ctl *c)
{
    struct bb_manager *bm = bb_of(m);
    struct client_call_options o = bb_call_options(bm);
    struct client_error e;
    struct bb_task_data td;
    const char *server;
    json_t *req = NULL, *build = NULL;
    int r;

    if (inv_status_is_initial(c->status)) {
        /* A LaunchTask may be creating the build right now (spec 4.1.7). */
        snprintf(c->err, sizeof(c->err), "can't abort Buildbucket invocation in state \"%s\"",
                 inv_status_name(c->status));
        return TASK_ERR_TRANSIENT;
    }
    if ((r = task_server(c, &server)) < 0)
        return r;
    if (bb_task_data_read(c->task_data, &td) < 0) {
        c->status = INV_FAILED;
        snprintf(c->err, sizeof(c->err), "could not parse TaskData");
        return TASK_ERR_FATAL;
    }
    if (is_v1(bm, server))
        return bb_v1_cancel(bm, c, server, td.build_id);
    req = json_pack("{s:s, s:s}", "id", td.build_id, "summaryMarkdown",
                    "Canceled via LUCI Scheduler");
    if (!req) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return TASK_ERR_TRANSIENT;
    }
    r = 0;
    if (client_prpc(bm->client, server, BB_SERVICE, "CancelBuild", req, &o, &build, &e) < 0) {
        struct client_error k = {.code = e.code};
        rpc_error_text(e.code, e.message, c->err, sizeof(c->err));
        r = client_error_is_transient(&k) ? TASK_ERR_TRANSIENT : TASK_ERR_FATAL;
    }
    json_decref(req);
    json_decref(build);
    return r;
}

static int bb_examine(const struct task_manager *m, const json_t *message, char *token,
                      size_t tokenlen)
{
    (void)m;
    return bb_examine_notification(message, token, tokenlen);
}

/* ---- construction ---- */

static int dup_or(const char *s, const char *def, char **ret)
{
    *ret = strdup(s && *s ? s : def);
    return *ret ? 0 : -ENOMEM;
}

struct task_manager *buildbucket_manager_free(struct task_manager *m)
{
    struct bb_manager *bm = m ? bb_of(m) : NULL;
    if (!bm)
        return NULL;
    pthread_mutex_destroy(&bm->mu);
    free(bm->pubsub_topic);
    free((char *)bm->env.hostname);
    free((char *)bm->env.app_id);
    for (size_t i = 0; i < bm->n_v1_hosts; i++)
        free(bm->v1_hosts[i]);
    free(bm->v1_hosts);
    free(bm);
    return NULL;
}

static int copy_v1_hosts(struct bb_manager *bm, const struct buildbucket_options *o)
{
    if (o->n_v1_hosts == 0)
        return 0;
    if (!(bm->v1_hosts = calloc(o->n_v1_hosts, sizeof(char *))))
        return -ENOMEM;
    for (size_t i = 0; i < o->n_v1_hosts; i++) {
        if (!o->v1_hosts[i] || !o->v1_hosts[i][0])
            return -EINVAL;
        if (!(bm->v1_hosts[i] = strdup(o->v1_hosts[i])))
            return -ENOMEM;
        bm->n_v1_hosts = i + 1;
    }
    return 0;
}

int buildbucket_manager_new(const struct buildbucket_options *o, struct task_manager **ret)
{
    struct bb_manager *bm;
    char *hostname = NULL, *app_id = NULL;
    int r;

    if (!o || !o->client)
        return -EINVAL;
    if (!(bm = calloc(1, sizeof(*bm))))
        return -ENOMEM;
    pthread_mutex_init(&bm->mu, NULL);
    bm->m = (struct task_manager){
        .name = "buildbucket",
        .multistage = true,
        .ctx = bm,
        .launch = bb_launch,
        .handle_timer = bb_handle_timer,
        .examine_notification = bb_examine,
        .handle_notification = bb_handle_notification,
        .abort = bb_abort,
    };
    bm->client = o->client;
    bm->anonymous = o->anonymous;
    bm->poll.min_ns = o->poll_min_ns > 0 ? o->poll_min_ns : BUILDBUCKET_DEFAULT_POLL_MIN_NS;
    bm->poll.max_ns = o->poll_max_ns > 0 ? o->poll_max_ns : BUILDBUCKET_DEFAULT_POLL_MAX_NS;
    bm->poll.long_ns = o->poll_long_ns == 0 ? BUILDBUCKET_DEFAULT_POLL_LONG_NS
                       : o->poll_long_ns < 0 ? 0
                                             : o->poll_long_ns;
    bm->random = o->random;
    bm->random_ctx = o->random_ctx;
    r = dup_or(o->pubsub_topic, BUILDBUCKET_DEFAULT_PUBSUB_TOPIC, &bm->pubsub_topic);
    if (r == 0)
        r = dup_or(o->hostname, BUILDBUCKET_DEFAULT_HOSTNAME, &hostname);
    bm->env.hostname = hostname;
    if (r == 0)
        r = dup_or(o->app_id, BUILDBUCKET_DEFAULT_APP_ID, &app_id);
    bm->env.app_id = app_id;
    if (r == 0)
        r = copy_v1_hosts(bm, o);
    if (r < 0) {
        buildbucket_manager_free(&bm->m);
        return r;
    }
    *ret = &bm->m;
    return 0;
}
