/*
 * push.c - Cloud Pub/Sub push deliveries of build notifications (§4.1,
 * §2.12): a queue ordered by due time and one thread that POSTs each to
 * options.push_url.  102/200/201/202/204 acknowledge; anything else (or
 * no answer within push_timeout) is retried after push_backoff, doubled
 * each time, at most push_attempts deliveries.  --push-drop, -duplicate
 * and -delay are applied when a notification is queued.
 */
#include "base/compat.h"

#include "base/base64.h"
#include "base/time.h"
#include "emu-internal.h"

#include <curl/curl.h>
#include <time.h>
#include <zlib.h>

#define PUSH_MAX_LARGE_FIELDS (9u * 1024 * 1024)


/* base64(zlib(Build{input.properties, output.properties})), or "" when too large. */
static int large_fields(const struct emu_build *b, struct buf *out)
{
    struct buf pb;
    unsigned char *z = NULL;
    uLongf zlen;
    int r;

    buf_init(&pb, PUSH_MAX_LARGE_FIELDS);
    r = emu_pb_large_fields(json_object_get(b->input, "properties"), NULL, &pb);
    if (r < 0)
        goto out;
    zlen = compressBound(pb.len);
    z = malloc(zlen);
    if (!z) {
        r = -ENOMEM;
        goto out;
    }
    if (compress2(z, &zlen, (const Bytef *)pb.data, pb.len, Z_DEFAULT_COMPRESSION) != Z_OK) {
        r = -EIO;
        goto out;
    }
    r = zlen > PUSH_MAX_LARGE_FIELDS ? -E2BIG : base64_encode_buf(BASE64_STD, z, zlen, out);
out:
    free(z);
    buf_release(&pb);
    return r;
}

/* Tab indentation, as protojson's Multiline output with Indent "\t". */
static char *dump_tabs(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(1)), *w, *p;
    bool line_start = true;

    if (!s)
        return NULL;
    for (p = w = s; *p; p++) {
        if (*p == '\n')
            line_start = true;
        else if (*p != ' ')
            line_start = false;
        *w++ = (line_start && *p == ' ') ? '\t' : *p;
    }
    *w = '\0';
    return s;
}

/* message.data of a v2 build (§2.12 "PubSubCallBack" format). */
static char *data_v2(struct emulator *e, const struct emu_build *b)
{
    json_t *build = emu_render_v2(b, e->hostname), *msg, *input;
    struct buf lf;
    char *out = NULL;
    unsigned char raw[4097];
    ssize_t n = 0;

    if (!build)
        return NULL;
    input = json_object_get(build, "input");
    if (input) {
        input = json_deep_copy(input);
        json_object_del(input, "properties");
        if (json_object_size(input))
            json_object_set(build, "input", input);
        else
            json_object_del(build, "input");
        json_decref(input);
    }
    buf_init(&lf, PUSH_MAX_LARGE_FIELDS * 2);
    msg = json_pack("{s:{s:o}}", "buildPubsub", "build", build);
    if (large_fields(b, &lf) == 0)
        json_object_set_new(json_object_get(msg, "buildPubsub"), "buildLargeFields",
                            json_string(lf.data));
    else
        json_object_set_new(json_object_get(msg, "buildPubsub"), "buildLargeFieldsDropped",
                            json_true());
    buf_reset(&lf);
    if (b->user_data &&
        (n = base64_decode(BASE64_ANY, b->user_data, strlen(b->user_data), raw, sizeof(raw))) > 0 &&
        base64_encode_buf(BASE64_STD, raw, (size_t)n, &lf) == 0)
        json_object_set_new(msg, "userData", json_string(lf.data));
    out = dump_tabs(msg);
    json_decref(msg);
    buf_release(&lf);
    return out;
}

/* message.data of a v1 build (§2.12 legacy format, keys sorted). */
static char *data_v1(struct emulator *e, const struct emu_build *b)
{
    json_t *msg = json_pack("{s:o,s:s,s:s}", "build", emu_render_v1(b, clock_now(e->clock)),
                            "hostname", e->hostname, "user_data",
                            b->user_data ? b->user_data : "");
    char *out = msg ? emu_python_dumps(msg) : NULL;
    json_decref(msg);
    return out;
}

static json_t *attributes(const struct emu_build *b)
{
    char id[32];
    if (b->v1) {
        snprintf(id, sizeof(id), "%" PRId64, b->id);
        json_t *a = json_pack("{s:s}", "build_id", id);
        if (b->auth_token && *b->auth_token)
            json_object_set_new(a, "auth_token", json_string(b->auth_token));
        return a;
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", b->project, "bucket", b->bucket,
                     "builder", b->builder, "is_completed",
                     emu_status_final(b->status) ? "true" : "false", "version", "v2");
}

/* The whole push request body, or NULL. */
static char *push_body(struct emulator *e, const struct emu_build *b)
{
    char *data = b->v1 ? data_v1(e, b) : data_v2(e, b), *out = NULL;
    char ts[64], mid[32], sub[1024];
    struct buf b64;
    const char *topics;

    if (!data)
        return NULL;
    buf_init(&b64, LIMIT_HTTP_RESPONSE_BYTES);
    if (base64_encode_buf(BASE64_STD, (const unsigned char *)data, strlen(data), &b64) < 0)
        goto out;
    emu_format_ts(clock_now(e->clock), ts, sizeof(ts));
    snprintf(mid, sizeof(mid), "%" PRIu64, e->next_message_id++);
    topics = strstr(b->topic, "/topics/");
    if (topics)
        snprintf(sub, sizeof(sub), "%.*s/subscriptions/%s", (int)(topics - b->topic), b->topic,
                 topics + 8);
    else
        snprintf(sub, sizeof(sub), "%s", b->topic);
    json_t *env = json_pack("{s:{s:o,s:s,s:s,s:s,s:s,s:s},s:s}", "message", "attributes",
                            attributes(b), "data", b64.data, "messageId", mid, "message_id", mid,
                            "publishTime", ts, "publish_time", ts, "subscription", sub);
    out = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
out:
    buf_release(&b64);
    free(data);
    return out;
}

static void queue_add(struct emulator *e, char *body, int64_t due_ns, const char *desc)
{
    if (e->n_pushes >= EMU_MAX_PUSHES) {
        emu_event(e, "push %s: dropped, %d pushes already wait", desc, EMU_MAX_PUSHES);
        free(body);
        return;
    }
    if (e->n_pushes == e->pushes_alloc) {
        size_t n = e->pushes_alloc ? e->pushes_alloc * 2 : 64;
        struct emu_push *v = realloc(e->pushes, n * sizeof(*v));
        if (!v) {
            free(body);
            return;
        }
        e->pushes = v;
        e->pushes_alloc = n;
    }
    struct emu_push *p = &e->pushes[e->n_pushes++];
    memset(p, 0, sizeof(*p));
    p->due_ns = due_ns;
    p->body = body;
    snprintf(p->desc, sizeof(p->desc), "%s", desc);
    pthread_cond_signal(&e->push_cond);
}

static int64_t push_delay(struct emulator *e)
{
    int64_t lo = e->o.push_delay_min_ns, hi = e->o.push_delay_max_ns;
    return hi > lo ? lo + (int64_t)(emu_random_fraction(e) * (double)(hi - lo)) : lo;
}

/* Names the build of the pushes queued since index from (for stats.c). */
static void mark_pushes(struct emulator *e, const struct emu_build *b, size_t from)
{
    for (size_t i = from; i < e->n_pushes; i++) {
        e->pushes[i].build_id = b->id;
        e->pushes[i].final = emu_status_final(b->status);
    }
}

void emu_push_build(struct emulator *e, struct emu_build *b)
{
    char desc[200];
    const char *name = emu_status_name(b->status);

    if (!b->topic || !e->push_url)
        return;
    snprintf(desc, sizeof(desc), "build %" PRId64 " %s (%s)", b->id, name ? name : "?",
             b->v1 ? "v1" : "v2");
    if (emu_random_fraction(e) < e->o.push_drop) {
        emu_event(e, "push %s: dropped (--push-drop)", desc);
        return;
    }
    char *body = push_body(e, b);
    if (!body)
        return;
    int64_t now = clock_now(e->clock);
    size_t before = e->n_pushes;
    if (emu_random_fraction(e) < e->o.push_duplicate) {
        char *copy = strdup(body);
        if (copy) {
            char d2[220];
            snprintf(d2, sizeof(d2), "%s [duplicate]", desc);
            queue_add(e, copy, now + push_delay(e), d2);
        }
    }
    queue_add(e, body, now + push_delay(e), desc);
    mark_pushes(e, b, before);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static int abort_on_stop(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct emulator *e = ctx;
    (void)a, (void)b, (void)c, (void)d;
    return __atomic_load_n(&e->stopping, __ATOMIC_RELAXED) ? 1 : 0;
}

/* One delivery attempt: the HTTP status, or 0 when there was none. */
static long deliver(struct emulator *e, CURL *h, const char *body, char *err, size_t errlen)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    CURLcode rc;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, e->push_url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(e->o.push_timeout_ns / NS_PER_MS));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, e);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    return status;
}

static bool acked(long status)
{
    return status == 102 || status == 200 || status == 201 || status == 202 || status == 204;
}

/* The index of the push due first, or -1. */
static ssize_t first_due(const struct emulator *e)
{
    ssize_t best = -1;
    for (size_t i = 0; i < e->n_pushes; i++)
        if (best < 0 || e->pushes[i].due_ns < e->pushes[best].due_ns)
            best = (ssize_t)i;
    return best;
}

static void after_attempt(struct emulator *e, struct emu_push *p, long status, const char *err)
{
    char when[TIME_DURATION_MAX], what[CURL_ERROR_SIZE + 32];

    if (status)
        snprintf(what, sizeof(what), "HTTP %ld", status);
    else
        snprintf(what, sizeof(what), "%s", err[0] ? err : "no answer");
    if (acked(status)) {
        emu_event(e, "push %s: %s, acknowledged (attempt %u)", p->desc, what, p->attempt);
        free(p->body);
        return;
    }
    if (p->attempt >= e->o.push_attempts || e->stopping) {
        emu_event(e, "push %s: %s, giving up after %u attempts", p->desc, what, p->attempt);
        free(p->body);
        return;
    }
    unsigned shift = p->attempt - 1 < 20 ? p->attempt - 1 : 20;
    int64_t delay = e->o.push_backoff_ns << shift;
    time_format_duration(delay, when, sizeof(when));
    emu_event(e, "push %s: %s, retrying in %s (attempt %u)", p->desc, what, when, p->attempt);
    struct emu_push kept = *p;
    size_t before = e->n_pushes;
    queue_add(e, p->body, clock_now(e->clock) + delay, p->desc);
    if (e->n_pushes > before) {
        e->pushes[e->n_pushes - 1].attempt = kept.attempt;
        e->pushes[e->n_pushes - 1].build_id = kept.build_id;
        e->pushes[e->n_pushes - 1].final = kept.final;
    }
}

void *emu_push_main(void *arg)
{
    struct emulator *e = arg;
    CURL *h = curl_easy_init();

    pthread_mutex_lock(&e->lock);
    while (!e->stopping && h) {
        ssize_t i = first_due(e);
        int64_t now = clock_now(e->clock);
        if (i < 0 || e->pushes[i].due_ns > now) {
            int64_t next = i < 0 ? now + NS_PER_MIN : e->pushes[i].due_ns;
            struct timespec ts = {.tv_sec = (time_t)(next / NS_PER_SEC),
                                  .tv_nsec = (long)(next % NS_PER_SEC)};
            pthread_cond_timedwait(&e->push_cond, &e->lock, &ts);
            continue;
        }
        struct emu_push p = e->pushes[i];
        e->pushes[i] = e->pushes[--e->n_pushes];
        p.attempt++;
        pthread_mutex_unlock(&e->lock);
        char err[CURL_ERROR_SIZE] = "";
        int64_t sent = clock_now(e->clock);
        long status = deliver(e, h, p.body, err, sizeof(err));
        pthread_mutex_lock(&e->lock);
        emu_stats_push(e, &p, sent, acked(status));
        after_attempt(e, &p, status, err);
    }
    pthread_mutex_unlock(&e->lock);
    curl_easy_cleanup(h);
    return NULL;
}

void emu_pushes_free(struct emulator *e)
{
    for (size_t i = 0; i < e->n_pushes; i++)
        free(e->pushes[i].body);
    free(e->pushes);
    e->pushes = NULL;
    e->n_pushes = 0;
}
