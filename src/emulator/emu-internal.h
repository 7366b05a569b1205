/*
 * emu-internal.h - what the emulator's files share (not a public contract).
 *
 * One struct emulator; every build field is read and written with e->lock
 * held.  Files: emulator.c (set-up, routing, events), builds.c (the build
 * table, dedup, eviction), render.c (v2 and v1 JSON, field masks), v2.c
 * (pRPC handlers), v1.c (REST handlers), life.c (the lifecycle thread,
 * commands), push.c (the push queue and its thread), hostile.c (the raw
 * front of --hostile), builders.c, buildid.c, pbstruct.c (pure).
 */
#ifndef TOCK_EMULATOR_EMU_INTERNAL_H
#define TOCK_EMULATOR_EMU_INTERNAL_H

#include "base/compat.h"
#include "emulator/emulator.h"
#include "net/http.h"
#include "net/prpc.h"

#include <pthread.h>
#include <sys/types.h>

#define EMU_HASH_BUCKETS 65536u
#define EMU_MAX_PROPS_ENV 65536

/* Measurement counters of one build (stats.c, GET /stats). */
struct emu_build_stats {
    uint32_t gets;            /* GetBuild / v1 GET calls answered for it */
    int64_t final_sent_ns;    /* first delivery attempt of its final push began (0: none) */
    int64_t final_acked_ns;   /* that push was acknowledged (0: not yet, or never) */
};

/* Emulator-wide counters (stats.c). */
enum emu_stat {
    EMU_STAT_SCHEDULE,        /* ScheduleBuild calls (dedup'd ones too) */
    EMU_STAT_GET,             /* GetBuild calls that found a build */
    EMU_STAT_V1_PUT,
    EMU_STAT_V1_GET,
    EMU_STAT_PUSH_SENT,       /* delivery attempts */
    EMU_STAT_PUSH_ACKED,
    EMU_STAT_N
};

struct emu_build {
    int64_t id;
    struct emu_builder *bld;
    char project[128], bucket[128], builder[160];
    int32_t number;
    char created_by[300];
    int64_t create_ns, start_ns, end_ns, update_ns, cancel_ns, status_changed_ns;
    int status;
    bool timeout;         /* statusDetails.timeout */
    char *summary;        /* summaryMarkdown */
    char *cancel_md;      /* cancellationMarkdown */
    char *canceled_by;
    json_t *input;        /* v2 Build.input (properties, gitilesCommit, ...) */
    json_t *tags;         /* sorted [{key, value}] */
    int priority;
    int critical;         /* Trinary */
    /* notifications */
    char *topic;          /* NULL: no pushes */
    char *user_data;      /* v2: base64 of notify.userData; v1: pubsub_callback.user_data */
    char *auth_token;     /* v1: pubsub_callback.auth_token */
    /* v1 */
    bool v1;
    char *v1_bucket;
    char *parameters_json; /* normalized, Python json.dumps style */
    /* dedup */
    char *dedup_key;
    int64_t dedup_until_ns;
    /* life */
    pid_t pid;            /* running command, 0 none */
    int64_t deadline_ns;  /* command timeout (wall) */
    bool active;          /* in e->active */
    struct emu_build_stats st; /* stats.c, for GET /stats */
    /* lists */
    struct emu_build *older, *newer;     /* creation order */
    struct emu_build *id_next, *key_next; /* hash chains */
};

struct emu_push {
    int64_t due_ns;
    int64_t build_id;     /* for stats.c */
    bool final;           /* a final status's push */
    unsigned attempt;
    char *body;           /* the whole push request body */
    char desc[200];       /* for events: "build 123 STARTED (v2)" */
};

struct emulator {
    struct emu_options o;
    struct emu_builders *builders;
    const struct clock *clock;
    char *hostname, *service_account, *caller, *push_url, *hostile_rpcs;
    pthread_mutex_t lock;
    pthread_cond_t life_cond, push_cond;
    bool stopping, started;
    uint64_t rng;
    /* builds */
    struct emu_build *oldest, *newest;
    size_t n_builds;
    struct emu_build **id_hash, **key_hash;
    struct emu_build **active;
    size_t n_active, active_alloc;
    uint64_t next_message_id;
    /* pushes */
    struct emu_push *pushes;
    size_t n_pushes, pushes_alloc;
    /* servers and threads */
    struct http_server *http;
    struct prpc_server *prpc;
    int hostile_fd;
    uint16_t port;
    pthread_t life_thread, push_thread, accept_thread;
    bool life_running, push_running, accept_running;
    unsigned hostile_conns;
    pthread_cond_t conns_cond;
    uint64_t stats[EMU_STAT_N]; /* stats.c */
};

/* emulator.c */
void emu_event(struct emulator *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t emu_random(struct emulator *e);
double emu_random_fraction(struct emulator *e);
int emu_dispatch(void *ctx, const struct http_request *req, struct http_response *resp);
/* The caller identity for a request about a build of project (may be NULL). */
void emu_identity(const struct emulator *e, const char *project, char *out, size_t outlen);

/* builds.c */
struct emu_build *emu_build_find(struct emulator *e, int64_t id);
struct emu_build *emu_build_find_key(struct emulator *e, const char *key);
/*
 * Makes room and a new build (id set, linked); the caller fills it.
 * Returns NULL when full of running builds (-EAGAIN) or out of memory.
 */
struct emu_build *emu_build_new(struct emulator *e, int *ret_err);
void emu_build_set_key(struct emulator *e, struct emu_build *b, const char *key);
void emu_builds_free_all(struct emulator *e);
int emu_active_add(struct emulator *e, struct emu_build *b);
void emu_active_remove(struct emulator *e, struct emu_build *b);
struct emu_builder *emu_builder_find(struct emulator *e, const char *project, const char *bucket,
                                     const char *builder);
struct emu_builder *emu_builder_find_legacy(struct emulator *e, const char *bucket,
                                            const char *builder);
/*
 * Holds a ScheduleBuild / v1 PUT answer for the builder's schedule_delay
 * (the build is made already): sleeps in steps of 50 ms, returning early
 * when the emulator stops.  Call without the lock.
 */
void emu_hold_schedule_answer(struct emulator *e, const struct emu_builder *bld);
bool emu_builder_name_ok(const char *s);
bool emu_project_name_ok(const char *s);
bool emu_bucket_name_ok(const char *s);

/* render.c */
bool emu_status_final(int status);
json_t *emu_render_v2(const struct emu_build *b, const char *hostname);
json_t *emu_render_v1(const struct emu_build *b, int64_t now_ns);
/*
 * The mask of a request: NULL paths = every field.  emu_mask_parse fills
 * m from the request's "mask"/"fields" (prefix "builds.*." stripped for
 * search); fails the call (INVALID_ARGUMENT) on an unknown field.
 */
struct emu_mask {
    bool all;
    char *paths[64];
    size_t n;
};
int emu_mask_parse(struct prpc_call *call, const json_t *req, bool search, struct emu_mask *m);
void emu_mask_release(struct emu_mask *m);
json_t *emu_mask_apply(const json_t *full, const struct emu_mask *m);
void emu_format_ts(int64_t ns, char *out, size_t outlen);
/* Python's json.dumps(sort_keys=True) of v (new string), or NULL. */
char *emu_python_dumps(const json_t *v);

/* life.c */
void *emu_life_main(void *arg);
/* Moves b to status (final or STARTED), stamps times, queues the push. */
void emu_build_transition(struct emulator *e, struct emu_build *b, int status);
/* Called when a build is created: logs and queues the SCHEDULED push. */
void emu_build_created(struct emulator *e, struct emu_build *b, const char *how);
void emu_kill_commands(struct emulator *e);

/* push.c */
void emu_push_build(struct emulator *e, struct emu_build *b);
void *emu_push_main(void *arg);
void emu_pushes_free(struct emulator *e);

/* v2.c / v1.c */
int emu_register_v2(struct emulator *e, struct prpc_server *p);
int emu_v1_handle(struct emulator *e, const struct http_request *req, struct http_response *resp);

/* stats.c (measurement; every function but emu_stats_handle wants e->lock held) */
void emu_stats_count(struct emulator *e, enum emu_stat what, struct emu_build *b);
void emu_stats_push(struct emulator *e, const struct emu_push *p, int64_t sent_ns, bool acked);
/* GET /stats: counters and every kept build's times (takes e->lock). */
int emu_stats_handle(struct emulator *e, const struct http_request *req,
                     struct http_response *resp);

/* hostile.c */
int emu_hostile_start(struct emulator *e);
void emu_hostile_stop(struct emulator *e);
/* The RPC name a request calls ("GetBuild", "v1.put"), or NULL for others. */
const char *emu_rpc_name(const struct http_request *req, char *out, size_t outlen);

#endif
