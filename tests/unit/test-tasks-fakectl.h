/*
 * test-tasks-fakectl.h - a fake engine for task-manager tests.
 *
 * A struct fake_ctl is a struct task_ctl whose ops record what the manager
 * did: debug-log lines, timers, emitted triggers and saves.  Its clock
 * returns now_ns and then moves it on by now_step_ns, so durations in the
 * log are known in advance.  Header-only: each test program includes it.
 */
#ifndef TOCK_TEST_TASKS_FAKECTL_H
#define TOCK_TEST_TASKS_FAKECTL_H

#include "tasks/task.h"

#define FAKE_MAX_LOG 64
#define FAKE_MAX_TIMERS 16

struct fake_timer {
    int64_t delay_ns;
    char title[128];
    char payload[256];
    bool has_payload;
};

struct fake_ctl {
    struct task_ctl ctl; /* first: a struct task_ctl * is a struct fake_ctl * */
    char *log[FAKE_MAX_LOG];
    size_t n_log;
    struct fake_timer timers[FAKE_MAX_TIMERS];
    size_t n_timers;
    json_t *triggers; /* array of what emit_trigger received */
    int saves;
    int64_t now_ns;
    int64_t now_step_ns;
    int fail_add_timer; /* negative errno to return from add_timer, or 0 */
    int fail_emit;      /* same for emit_trigger */
    /* pubsub_token: the token handed out ("fake-token" when NULL), or an error. */
    const char *token;
    int fail_pubsub_token;
    int tokens; /* how many were asked for */
};

static void fake_log(struct task_ctl *c, const char *msg)
{
    struct fake_ctl *f = (struct fake_ctl *)c;
    if (f->n_log < FAKE_MAX_LOG)
        f->log[f->n_log++] = strdup(msg);
}

static int fake_add_timer(struct task_ctl *c, int64_t delay_ns, const char *title,
                          const char *payload)
{
    struct fake_ctl *f = (struct fake_ctl *)c;
    if (f->fail_add_timer)
        return f->fail_add_timer;
    if (f->n_timers >= FAKE_MAX_TIMERS)
        return -E2BIG;
    struct fake_timer *t = &f->timers[f->n_timers++];
    t->delay_ns = delay_ns;
    snprintf(t->title, sizeof(t->title), "%s", title ? title : "");
    t->has_payload = payload != NULL;
    snprintf(t->payload, sizeof(t->payload), "%s", payload ? payload : "");
    return 0;
}

static int fake_emit(struct task_ctl *c, json_t *trigger)
{
    struct fake_ctl *f = (struct fake_ctl *)c;
    if (f->fail_emit) {
        json_decref(trigger); /* ownership moves to the engine, even on failure */
        return f->fail_emit;
    }
    json_array_append_new(f->triggers, trigger);
    return 0;
}

static int fake_save(struct task_ctl *c)
{
    ((struct fake_ctl *)c)->saves++;
    return 0;
}

static int64_t fake_now(struct task_ctl *c)
{
    struct fake_ctl *f = (struct fake_ctl *)c;
    int64_t t = f->now_ns;
    f->now_ns += f->now_step_ns;
    return t;
}

static int fake_pubsub_token(struct task_ctl *c, char *out, size_t outlen)
{
    struct fake_ctl *f = (struct fake_ctl *)c;
    const char *t = f->token ? f->token : "fake-token";
    f->tokens++;
    if (f->fail_pubsub_token)
        return f->fail_pubsub_token;
    if (strlen(t) >= outlen)
        return -ENOBUFS;
    snprintf(out, outlen, "%s", t);
    return 0;
}

static const struct task_ctl_ops fake_ops = {
    .log = fake_log,
    .add_timer = fake_add_timer,
    .emit_trigger = fake_emit,
    .save = fake_save,
    .now = fake_now,
    .pubsub_token = fake_pubsub_token,
};

/* Sets up f for invocation inv_id of job "proj/job" with task definition task. */
static void fake_ctl_init(struct fake_ctl *f, int64_t inv_id, const json_t *task)
{
    memset(f, 0, sizeof(*f));
    f->ctl.ops = &fake_ops;
    f->ctl.job_id = "proj/job";
    f->ctl.project = "proj";
    f->ctl.invocation_id = inv_id;
    f->ctl.realm_id = "proj:@legacy";
    f->ctl.attempt = 1;
    f->ctl.task = task;
    f->ctl.status = INV_STARTING;
    f->triggers = json_array();
}

static void fake_ctl_release(struct fake_ctl *f)
{
    for (size_t i = 0; i < f->n_log; i++)
        free(f->log[i]);
    json_decref(f->triggers);
    json_decref(f->ctl.task_data);
}

#endif
