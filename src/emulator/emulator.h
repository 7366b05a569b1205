/*
 * emulator.h - a Buildbucket emulator (`tock buildbucket-emulator`): a
 * faithful peer for tock's buildbucket task manager (wire-formats.md §1,
 * §2, §4), running builds from a builders file on one machine.
 *
 * It serves, on one HTTP port:
 *   POST /prpc/buildbucket.v2.Builds/{ScheduleBuild,GetBuild,CancelBuild,
 *        SearchBuilds,Batch,GetBuildStatus}     pRPC JSON (net/prpc.h)
 *   GET  /auth/api/v1/server/info               publisher discovery (§2.13)
 *   PUT  /_ah/api/buildbucket/v1/builds         legacy v1 REST (§2.14)
 *   GET  /_ah/api/buildbucket/v1/builds/<id>
 *   POST /_ah/api/buildbucket/v1/builds/<id>/cancel
 *   GET  /healthz
 * Builds move SCHEDULED -> STARTED -> final on their builder's timings (or
 * the exit code of its command).  Every status change of a build whose
 * request asked for notifications is pushed, Cloud Pub/Sub push style
 * (§4.1), to options.push_url, in the v2 (§2.12) or v1 format matching
 * the API that created the build; non-2xx answers are retried with
 * exponential backoff, a bounded number of times.
 *
 *   struct emu_builders *b = NULL;
 *   emu_builders_parse(text, len, &b, err, sizeof(err));
 *   struct emu_options o = { .host = "127.0.0.1", .builders = b, ... };
 *   struct emulator *e = NULL;
 *   emu_new(&o, &e);          (e now owns b)
 *   emu_start(e);             (listening; threads running)
 *   ... emu_port(e) ...
 *   emu_stop(e);              (prompt: every hostile mode is bounded)
 *   e = emu_free(e);
 *
 * Threads: emu_start starts the HTTP server (a connection thread each),
 * one lifecycle thread (timings, commands) and one push thread.  All build
 * state sits behind one mutex.  on_event is called with that mutex held,
 * from any of these threads: it must only print (it must not call emu_*).
 *
 * Limits: at most max_builds builds are kept (oldest final ones are evicted
 * first; when every kept build is still running ScheduleBuild answers
 * RESOURCE_EXHAUSTED); at most EMU_MAX_PUSHES pushes wait for delivery
 * (more are dropped, and logged); request bodies as net/http.h; a command
 * runs at most its builder's timeout; a hostile answer lasts at most
 * EMU_HOSTILE_MAX_NS.
 *
 * The library does not log: it reports events through on_event.
 */
#ifndef TOCK_EMULATOR_EMULATOR_H
#define TOCK_EMULATOR_EMULATOR_H

#include "base/compat.h"
#include "base/buf.h"
#include "base/clock.h"

#include <jansson.h>

#define EMU_MAX_BUILDERS 10000
#define EMU_MAX_SCRIPTED 64                /* schedule_errors / get_errors entries */
#define EMU_DEFAULT_MAX_BUILDS 100000
#define EMU_MAX_PUSHES 100000
#define EMU_MAX_COMMAND_BYTES 65536
#define EMU_DEFAULT_COMMAND_TIMEOUT_NS (600 * INT64_C(1000000000))
#define EMU_HOSTILE_MAX_NS (600 * INT64_C(1000000000))
#define EMU_HUGE_BYTES (50u * 1024 * 1024)
#define EMU_BUILDERS_FILE_BYTES (16u * 1024 * 1024)

/* Buildbucket v2 statuses (common.proto). */
enum emu_status {
    EMU_STATUS_UNSPECIFIED = 0,
    EMU_SCHEDULED = 1,
    EMU_STARTED = 2,
    EMU_ENDED_MASK = 4,
    EMU_SUCCESS = 12,
    EMU_FAILURE = 20,
    EMU_INFRA_FAILURE = 36,
    EMU_CANCELED = 68,
};

/* "SUCCESS" for 12, NULL for a number that is no status. */
const char *emu_status_name(int status);
/* The status named name (or given as a decimal number), or -EINVAL. */
int emu_status_parse(const char *name);

/* Hostile modes (--hostile). */
enum emu_hostile {
    EMU_HOSTILE_NONE = 0,
    EMU_HOSTILE_HTML,        /* 502 HTML page, no pRPC header; request not handled */
    EMU_HOSTILE_TRUNCATED,   /* code 0 (or 200), the JSON cut in half */
    EMU_HOSTILE_WRONG_TYPES, /* code 0, id as an object, status as a number, ... */
    EMU_HOSTILE_HUGE,        /* code 0, a 50 MiB JSON body */
    EMU_HOSTILE_DRIP,        /* the real answer, one byte per second */
    EMU_HOSTILE_HANG,        /* reads the request, never answers; not handled */
};

/* The mode named name ("wrong-types"), or -EINVAL. */
int emu_hostile_parse(const char *name);

struct emu_builder {
    char project[128];
    char bucket[128];
    char builder[160];       /* "*" matches every valid builder name */
    char legacy_bucket[300]; /* v1 name; default "luci.<project>.<bucket>" */
    int64_t queue_ns;        /* time SCHEDULED */
    int64_t run_ns;          /* time STARTED (no command) */
    int64_t timeout_ns;      /* command bound; then INFRA_FAILURE + timeout */
    int64_t cancel_delay_ns; /* CancelBuild -> CANCELED after this */
    int64_t schedule_delay_ns; /* ScheduleBuild/PUT answer held this long after the build is made */
    char *command;           /* /bin/sh -c; exit 0 SUCCESS, else FAILURE */
    int outcome;             /* final status without a command */
    int schedule_fail;       /* gRPC code refusing every ScheduleBuild; 0 none */
    int schedule_errors[EMU_MAX_SCRIPTED];
    size_t n_schedule_errors;
    int get_errors[EMU_MAX_SCRIPTED];
    size_t n_get_errors;
    bool build_numbers;
    char service_account[256];
    /* mutable, under the emulator's lock */
    size_t schedule_calls, get_calls;
    int32_t next_number;
};

struct emu_builders {
    struct emu_builder *v;
    size_t n;
};

/*
 * Parses a builders file (JSON, see docs/emulator.md).  Returns 0 and *ret
 * (free with emu_builders_free), or -EINVAL with a message in err.
 */
int emu_builders_parse(const char *text, size_t len, struct emu_builders **ret, char *err,
                       size_t errlen);
struct emu_builders *emu_builders_free(struct emu_builders *b);

struct emu_options {
    const char *host;           /* bind address; NULL = 127.0.0.1 */
    uint16_t port;              /* 0 = any free port */
    struct emu_builders *builders; /* ownership moves to the emulator */
    const char *hostname;       /* the Buildbucket host it pretends to be */
    const char *service_account; /* server/info's service_account_name */
    const char *caller;         /* caller identity; NULL = project:<builder's project> */
    bool require_auth;          /* no "Authorization: Bearer" -> UNAUTHENTICATED */
    size_t max_builds;          /* 0 = EMU_DEFAULT_MAX_BUILDS */
    int64_t dedup_window_ns;    /* requestId / client_operation_id memory; 0 = 1 min */
    /* pushes */
    const char *push_url;       /* NULL = no pushes */
    double push_drop;           /* fraction of pushes never delivered */
    double push_duplicate;      /* fraction delivered twice */
    int64_t push_delay_min_ns, push_delay_max_ns; /* uniform delay before delivery */
    unsigned push_attempts;     /* 0 = 5 */
    int64_t push_backoff_ns;    /* first retry delay, doubled each time; 0 = 1 s */
    int64_t push_timeout_ns;    /* per delivery attempt; 0 = 10 s */
    uint64_t seed;              /* randomness (ids, drops, delays) */
    bool seed_set;              /* false: seed from time and pid */
    /* hostile */
    int hostile;                /* enum emu_hostile */
    const char *hostile_rpcs;   /* comma list of RPC names it applies to; NULL = all */
    const struct clock *clock;  /* NULL = clock_real() */
    void (*on_event)(void *ctx, const char *line);
    void *on_event_ctx;
};

struct emulator;

/* Makes an emulator (not yet listening).  Returns 0, -EINVAL, -ENOMEM. */
int emu_new(const struct emu_options *o, struct emulator **ret);
/* Binds, listens, starts the threads.  Returns 0 or -errno. */
int emu_start(struct emulator *e);
/* The port bound; 0 before start. */
uint16_t emu_port(const struct emulator *e);
/* Stops serving, kills running commands, stops the threads.  Idempotent. */
void emu_stop(struct emulator *e);
struct emulator *emu_free(struct emulator *e);

/* ---- pure helpers (buildid.c, pbstruct.c), exposed for tests ---- */

/*
 * A Buildbucket build ID for the instant now_ns (§2.10): bit 63 zero, 43
 * bits of the bitwise NOT of milliseconds since 2010-01-01, 16 random
 * bits, version 1.
 */
int64_t emu_build_id(int64_t now_ns, uint16_t random16);
/* The millisecond instant (ns since the Unix epoch) an ID was made at. */
int64_t emu_build_id_time(int64_t id);

/*
 * The binary protobuf Build holding only input.properties (field 15.1) and
 * output.properties (16.1), each a google.protobuf.Struct given as a JSON
 * object (NULL = absent), appended to out.  Map keys are written sorted.
 * Returns 0, -EINVAL (not an object), -E2BIG/-ENOMEM.
 */
int emu_pb_large_fields(const json_t *input_props, const json_t *output_props, struct buf *out);

#endif
