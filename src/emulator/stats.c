/*
 * stats.c - measurement counters for benchmarks (bench/bench-buildbucket):
 * calls per RPC, per-build GetBuild counts and the times of each build's
 * final push, served as JSON by GET /stats.  Counting never changes an
 * answer.  Every function but emu_stats_handle is called with e->lock held.
 *
 * GET /stats answers
 *   {"now_ns": N, "counters": {"ScheduleBuild": N, "GetBuild": N,
 *    "v1.put": N, "v1.get": N, "pushes_sent": N, "pushes_acked": N},
 *    "builds": [{"id": "..", "job": "<scheduler_job_id tag>",
 *                "invocation": "<scheduler_invocation_id tag>",
 *                "status": "SUCCESS", "create_ns": N, "start_ns": N,
 *                "end_ns": N, "gets": N, "final_push_sent_ns": N,
 *                "final_push_acked_ns": N}, ...],
 *    "truncated": false}
 * (times in ns since the epoch, 0 = not yet; the newest EMU_STATS_MAX_BUILDS
 * builds at most, newest first).
 */
#include "base/compat.h"
#include "base/time.h"
#include "emu-internal.h"

#define EMU_STATS_MAX_BUILDS 50000

void emu_stats_count(struct emulator *e, enum emu_stat what, struct emu_build *b)
{
    if (what < 0 || what >= EMU_STAT_N)
        return;
    e->stats[what]++;
    if (b && (what == EMU_STAT_GET || what == EMU_STAT_V1_GET))
        b->st.gets++;
}

/* Called after each delivery attempt that began at sent_ns. */
void emu_stats_push(struct emulator *e, const struct emu_push *p, int64_t sent_ns, bool acked)
{
    e->stats[EMU_STAT_PUSH_SENT]++;
    if (acked)
        e->stats[EMU_STAT_PUSH_ACKED]++;
    if (!p->final)
        return;
    struct emu_build *b = emu_build_find(e, p->build_id);
    if (!b)
        return;
    if (!b->st.final_sent_ns)
        b->st.final_sent_ns = sent_ns;
    if (acked && !b->st.final_acked_ns)
        b->st.final_acked_ns = clock_now(e->clock);
}

static const char *tag_value(const struct emu_build *b, const char *key)
{
    size_t i;
    json_t *t;

    json_array_foreach(b->tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        if (k && strcmp(k, key) == 0)
            return json_string_value(json_object_get(t, "value"));
    }
    return "";
}

static json_t *build_stats(const struct emu_build *b)
{
    char id[32];
    const char *status = emu_status_name(b->status);

    snprintf(id, sizeof(id), "%" PRId64, b->id);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "id", id, "job",
                     tag_value(b, "scheduler_job_id"), "invocation",
                     tag_value(b, "scheduler_invocation_id"), "status", status ? status : "?",
                     "create_ns", (json_int_t)b->create_ns, "start_ns", (json_int_t)b->start_ns,
                     "end_ns", (json_int_t)b->end_ns, "gets", (json_int_t)b->st.gets,
                     "final_push_sent_ns", (json_int_t)b->st.final_sent_ns,
                     "final_push_acked_ns", (json_int_t)b->st.final_acked_ns);
}

static json_t *stats_json(struct emulator *e)
{
    static const char *names[EMU_STAT_N] = {"ScheduleBuild", "GetBuild",     "v1.put",
                                            "v1.get",        "pushes_sent",  "pushes_acked"};
    json_t *v = json_object(), *c = json_object(), *list = json_array();
    size_t n = 0;

    if (!v || !c || !list)
        goto fail;
    for (int i = 0; i < EMU_STAT_N; i++)
        if (json_object_set_new(c, names[i], json_integer((json_int_t)e->stats[i])) < 0)
            goto fail;
    for (struct emu_build *b = e->newest; b && n < EMU_STATS_MAX_BUILDS; b = b->older, n++)
        if (json_array_append_new(list, build_stats(b)) < 0)
            goto fail;
    json_object_set_new(v, "now_ns", json_integer((json_int_t)clock_now(e->clock)));
    json_object_set_new(v, "counters", c);
    json_object_set_new(v, "builds", list);
    json_object_set_new(v, "truncated", json_boolean(n < e->n_builds));
    return v;
fail:
    json_decref(v);
    json_decref(c);
    json_decref(list);
    return NULL;
}

int emu_stats_handle(struct emulator *e, const struct http_request *req,
                     struct http_response *resp)
{
    char *s = NULL;
    int r;

    if (strcmp(req->method, "GET") != 0)
        return http_response_text(resp, 405, "method not allowed");
    pthread_mutex_lock(&e->lock);
    json_t *v = stats_json(e);
    pthread_mutex_unlock(&e->lock);
    s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s)
        return -ENOMEM;
    buf_reset(&resp->body);
    r = http_response_set_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (r == 0)
        r = buf_puts(&resp->body, s);
    free(s);
    return r;
}
