/*
 * life.c - the lifecycle thread: moves builds SCHEDULED -> STARTED ->
 * final on their builder's timings, runs builder commands (/bin/sh -c,
 * own process group, bounded by the builder's timeout), and turns
 * cancellations into CANCELED.  Every change is logged and pushed.
 */
#include "base/compat.h"
#include "base/time.h"
#include "emu-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define LIFE_POLL_NS (50 * NS_PER_MS)

static void log_change(struct emulator *e, const struct emu_build *b, const char *extra)
{
    const char *name = emu_status_name(b->status);
    emu_event(e, "build %" PRId64 " %s/%s/%s: %s%s", b->id, b->project, b->bucket, b->builder,
              name ? name : "?", extra);
}

void emu_build_created(struct emulator *e, struct emu_build *b, const char *how)
{
    char extra[200];
    if (emu_active_add(e, b) < 0)
        b->status = EMU_INFRA_FAILURE; /* out of memory: it can never run */
    snprintf(extra, sizeof(extra), " (%s%s)", how, b->topic ? ", notifications on" : "");
    log_change(e, b, extra);
    pthread_cond_signal(&e->life_cond);
    emu_push_build(e, b);
}

void emu_build_transition(struct emulator *e, struct emu_build *b, int status)
{
    int64_t now = clock_now(e->clock);

    b->status = status;
    b->update_ns = b->status_changed_ns = now;
    if (status == EMU_STARTED) {
        b->start_ns = now;
    } else {
        b->end_ns = now;
        if (status == EMU_CANCELED && !b->summary && b->cancel_md)
            b->summary = strdup(b->cancel_md);
        if (b->pid > 0) {
            kill(-b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
            b->pid = 0;
        }
        emu_active_remove(e, b);
    }
    log_change(e, b, b->timeout ? " (timeout)" : "");
    emu_push_build(e, b);
}

/* Environment for a command: ours plus BB_* describing the build. */
static char **command_env(const struct emu_build *b, char *storage, size_t len)
{
    size_t n = 0, used = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 8, sizeof(*env));
    char *props = json_dumps(json_object_get(b->input, "properties"), JSON_COMPACT);
    if (!env) {
        free(props);
        return NULL;
    }
    memcpy(env, environ, n * sizeof(*env));
    const char *names[] = {"BB_BUILD_ID", "BB_PROJECT", "BB_BUCKET", "BB_BUILDER",
                           "BB_PROPERTIES"};
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, b->id);
    const char *values[] = {id, b->project, b->bucket, b->builder,
                            props && strlen(props) < EMU_MAX_PROPS_ENV ? props : "{}"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        int w = snprintf(storage + used, len - used, "%s=%s", names[i], values[i]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        env[n++] = storage + used;
        used += (size_t)w + 1;
    }
    free(props);
    return env;
}

/* Starts the builder's command; false when it could not start. */
static bool command_start(struct emulator *e, struct emu_build *b)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defs;
    char *argv[] = {"sh", "-c", b->bld->command, NULL};
    size_t storage_len = EMU_MAX_PROPS_ENV + 4096;
    char *storage = malloc(storage_len);
    char **env = storage ? command_env(b, storage, storage_len) : NULL;
    pid_t pid = 0;
    int r = -1;

    if (env) {
        sigemptyset(&none);
        sigemptyset(&defs);
        sigaddset(&defs, SIGPIPE);
        sigaddset(&defs, SIGTERM);
        sigaddset(&defs, SIGINT);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
        posix_spawnattr_init(&at);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &defs);
        r = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
    }
    free(env);
    free(storage);
    if (r != 0) {
        emu_event(e, "build %" PRId64 ": cannot run its command: %s", b->id,
                  strerror(r > 0 ? r : ENOMEM));
        return false;
    }
    b->pid = pid;
    b->deadline_ns = clock_now(e->clock) + b->bld->timeout_ns;
    emu_event(e, "build %" PRId64 ": command started (pid %d)", b->id, (int)pid);
    return true;
}

/* A running command: finished, timed out, or still running (poll soon). */
static void command_check(struct emulator *e, struct emu_build *b, int64_t now, int64_t *next)
{
    int st = 0;
    pid_t w = waitpid(b->pid, &st, WNOHANG);

    if (w == b->pid) {
        b->pid = 0;
        if (WIFEXITED(st)) {
            emu_event(e, "build %" PRId64 ": command exited with %d", b->id, WEXITSTATUS(st));
            emu_build_transition(e, b, WEXITSTATUS(st) == 0 ? EMU_SUCCESS : EMU_FAILURE);
        } else {
            emu_event(e, "build %" PRId64 ": command killed by signal %d", b->id,
                      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            emu_build_transition(e, b, EMU_INFRA_FAILURE);
        }
        return;
    }
    if (now >= b->deadline_ns) {
        b->timeout = true;
        emu_build_transition(e, b, EMU_INFRA_FAILURE); /* kills the group */
        return;
    }
    if (now + LIFE_POLL_NS < *next)
        *next = now + LIFE_POLL_NS;
}

static void due(int64_t t, int64_t now, int64_t *next)
{
    if (t > now && t < *next)
        *next = t;
}

static void step(struct emulator *e, struct emu_build *b, int64_t now, int64_t *next)
{
    const struct emu_builder *bld = b->bld;

    if (b->cancel_ns) {
        int64_t t = b->cancel_ns + bld->cancel_delay_ns;
        if (now >= t) {
            emu_build_transition(e, b, EMU_CANCELED);
            return;
        }
        due(t, now, next);
    }
    if (b->status == EMU_SCHEDULED) {
        int64_t t = b->create_ns + bld->queue_ns;
        if (bld->outcome == EMU_SCHEDULED && !bld->command)
            return; /* never starts */
        if (now < t) {
            due(t, now, next);
            return;
        }
        if (bld->command && !command_start(e, b)) {
            emu_build_transition(e, b, EMU_INFRA_FAILURE);
            return;
        }
        emu_build_transition(e, b, EMU_STARTED);
    }
    if (b->status != EMU_STARTED)
        return;
    if (b->pid > 0) {
        command_check(e, b, now, next);
        return;
    }
    if (bld->command || bld->outcome == EMU_STARTED)
        return; /* runs until canceled */
    int64_t t = b->start_ns + bld->run_ns;
    if (now >= t)
        emu_build_transition(e, b, bld->outcome);
    else
        due(t, now, next);
}

void *emu_life_main(void *arg)
{
    struct emulator *e = arg;

    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        int64_t now = clock_now(e->clock), next = now + NS_PER_MIN;
        for (size_t i = e->n_active; i-- > 0;) {
            if (i < e->n_active)
                step(e, e->active[i], now, &next);
        }
        struct timespec ts = {.tv_sec = (time_t)(next / NS_PER_SEC),
                              .tv_nsec = (long)(next % NS_PER_SEC)};
        if (next > clock_now(e->clock))
            pthread_cond_timedwait(&e->life_cond, &e->lock, &ts);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

void emu_kill_commands(struct emulator *e)
{
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->n_active; i++) {
        struct emu_build *b = e->active[i];
        if (b->pid > 0) {
            kill(-b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
            b->pid = 0;
        }
    }
    pthread_mutex_unlock(&e->lock);
}
