/*
 * stream.c - a TCP stream for libgit2 whose waits end at the poll's
 * deadline (poll(2) on a non-blocking socket), and the watchdog that cuts
 * sockets libgit2 hands to libssh2.  See gp-stream.h.
 */
#include "tasks/git/gp-stream.h"
#include "base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000ll
/* The watchdog cuts a socket this long after its deadline (the stream's own waits end first). */
#define WD_GRACE_NS (500 * NS_PER_MS)

/* libgit2 1.5's git_socket_stream first (its ssh transport reads .s). */
struct gp_stream {
    git_stream parent;
    char *host;
    char *port;
    int s;
    /* ours */
    int64_t deadline; /* 0 = none */
    bool cut;         /* the watchdog shut the socket down */
    struct gp_stream *next;
};

static _Thread_local int64_t tl_deadline;
static _Thread_local bool tl_timed_out;

/* The watchdog's list of connected streams with a deadline. */
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static struct gp_stream *wd_list;
static pthread_once_t wd_once = PTHREAD_ONCE_INIT;
static bool wd_running;

void gp_stream_set_deadline(int64_t deadline_ns)
{
    tl_deadline = deadline_ns;
    tl_timed_out = false;
}

bool gp_stream_timed_out(void)
{
    return tl_timed_out;
}

/* ---- the watchdog ---- */

/* Cuts every listed stream past its deadline; returns the earliest deadline left (0: none). */
static int64_t wd_sweep(int64_t now)
{
    int64_t next = 0;

    for (struct gp_stream *st = wd_list; st; st = st->next) {
        if (st->cut)
            continue;
        if (st->deadline + WD_GRACE_NS <= now) {
            shutdown(st->s, SHUT_RDWR);
            st->cut = true;
        } else if (next == 0 || st->deadline + WD_GRACE_NS < next) {
            next = st->deadline + WD_GRACE_NS;
        }
    }
    return next;
}

static void *wd_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd_mu);
    for (;;) {
        int64_t next = wd_sweep(clock_mono_ns());
        if (next == 0) {
            pthread_cond_wait(&wd_cond, &wd_mu);
            continue;
        }
        struct timespec ts = {.tv_sec = next / 1000000000ll, .tv_nsec = next % 1000000000ll};
        pthread_cond_timedwait(&wd_cond, &wd_mu, &ts);
    }
    return NULL;
}

static void wd_start(void)
{
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t t;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    wd_running = pthread_create(&t, &ta, wd_main, NULL) == 0;
    pthread_attr_destroy(&ta);
}

static void wd_add(struct gp_stream *st)
{
    pthread_once(&wd_once, wd_start);
    if (!wd_running)
        return;
    pthread_mutex_lock(&wd_mu);
    st->next = wd_list;
    wd_list = st;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_mu);
}

/* Unlists st (before its socket is closed, so the watchdog never cuts a reused fd). */
static void wd_remove(struct gp_stream *st)
{
    if (!wd_running)
        return;
    pthread_mutex_lock(&wd_mu);
    for (struct gp_stream **p = &wd_list; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
    pthread_mutex_unlock(&wd_mu);
}

/* ---- waiting ---- */

static int timed_out(struct gp_stream *st, const char *what)
{
    tl_timed_out = true;
    git_error_set(GIT_ERROR_NET, "%s %s:%s timed out after the git poll's deadline", what,
                  st->host, st->port);
    return -1;
}

/* Waits for events on st's socket until its deadline: 0, or -1 with the error set. */
static int wait_for(struct gp_stream *st, short events, const char *what)
{
    struct pollfd pfd = {.fd = st->s, .events = events};
    int r;

    for (;;) {
        int ms = -1;
        if (st->deadline) {
            int64_t left = st->deadline - clock_mono_ns();
            if (left <= 0)
                return timed_out(st, what);
            ms = (int)((left + NS_PER_MS - 1) / NS_PER_MS);
        }
        r = poll(&pfd, 1, ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR) {
            git_error_set(GIT_ERROR_OS, "%s %s:%s: %s", what, st->host, st->port,
                          strerror(errno));
            return -1;
        }
    }
}

/* ---- the stream ---- */

/* Connects to one address, non-blocking, until the deadline: the socket or -1. */
static int connect_one(struct gp_stream *st, const struct addrinfo *ai)
{
    socklen_t len = sizeof(int);
    int fd, err = 0;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        git_error_set(GIT_ERROR_OS, "cannot connect to %s:%s: %s", st->host, st->port,
                      strerror(errno));
        close(fd);
        return -1;
    }
    st->s = fd;
    if (wait_for(st, POLLOUT, "connecting to") < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        if (err)
            git_error_set(GIT_ERROR_OS, "cannot connect to %s:%s: %s", st->host, st->port,
                          strerror(err));
        st->s = -1;
        close(fd);
        return -1;
    }
    return fd;
}

static int gs_connect(git_stream *stream)
{
    struct gp_stream *st = (struct gp_stream *)stream;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int r, fd = -1;

    r = getaddrinfo(st->host, st->port, &hints, &res);
    if (r != 0) {
        git_error_set(GIT_ERROR_NET, "cannot resolve %s: %s", st->host, gai_strerror(r));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0 && !tl_timed_out; ai = ai->ai_next)
        fd = connect_one(st, ai);
    freeaddrinfo(res);
    if (fd < 0) {
        if (!git_error_last())
            git_error_set(GIT_ERROR_NET, "cannot connect to %s:%s", st->host, st->port);
        return -1;
    }
    st->s = fd;
    if (st->deadline)
        wd_add(st);
    return 0;
}

static ssize_t gs_read(git_stream *stream, void *data, size_t len)
{
    struct gp_stream *st = (struct gp_stream *)stream;

    for (;;) {
        ssize_t n = recv(st->s, data, len, 0);
        if (n >= 0)
            return n;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        if (wait_for(st, POLLIN, "reading from") < 0)
            return -1;
    }
    if (st->cut)
        return timed_out(st, "reading from");
    git_error_set(GIT_ERROR_OS, "reading from %s:%s: %s", st->host, st->port, strerror(errno));
    return -1;
}

static ssize_t gs_write(git_stream *stream, const char *data, size_t len, int flags)
{
    struct gp_stream *st = (struct gp_stream *)stream;
    size_t done = 0;

    (void)flags;
    while (done < len) {
        ssize_t n = send(st->s, data + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            if (st->cut)
                return timed_out(st, "writing to");
            git_error_set(GIT_ERROR_OS, "writing to %s:%s: %s", st->host, st->port,
                          strerror(errno));
            return -1;
        }
        if (wait_for(st, POLLOUT, "writing to") < 0)
            return -1;
    }
    return (ssize_t)done;
}

static int gs_close(git_stream *stream)
{
    struct gp_stream *st = (struct gp_stream *)stream;

    wd_remove(st);
    if (st->s >= 0)
        close(st->s);
    st->s = -1;
    return 0;
}

static void gs_free(git_stream *stream)
{
    struct gp_stream *st = (struct gp_stream *)stream;

    gs_close(stream);
    free(st->host);
    free(st->port);
    free(st);
}

static int gs_init(git_stream **out, const char *host, const char *port)
{
    struct gp_stream *st = calloc(1, sizeof(*st));

    if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port ? port : ""))) {
        if (st)
            free(st->host);
        free(st);
        git_error_set_oom();
        return -1;
    }
    st->s = -1;
    st->deadline = tl_deadline;
    st->parent.version = GIT_STREAM_VERSION;
    st->parent.connect = gs_connect;
    st->parent.read = gs_read;
    st->parent.write = gs_write;
    st->parent.close = gs_close;
    st->parent.free = gs_free;
    *out = &st->parent;
    return 0;
}

/* libgit2 forgets the registration at its last git_libgit2_shutdown: call again after init. */
int gp_stream_install(void)
{
    git_stream_registration reg = {
        .version = GIT_STREAM_VERSION,
        .init = gs_init,
    };

    return git_stream_register(GIT_STREAM_STANDARD, &reg) < 0 ? -EIO : 0;
}
