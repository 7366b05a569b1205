/*
 * http-front.c - the front door of the HTTP server (contract in http-front.h).
 *
 * One thread, one epoll set: the listening socket (level-triggered, taken
 * out of the set while the front door is full), an eventfd for stop, and
 * every connection not yet handed over (edge-triggered: each arrival of
 * bytes wakes us although the earlier bytes are still unread, since we only
 * peek).  Deadlines are checked by a scan of the list every FRONT_TICK_MS.
 */
#include "base/compat.h"
#include "net/http-front.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/clock.h"
#include "base/limits.h"
#include "net/http.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

#define FRONT_TICK_MS 100
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

enum front_state {
    FS_PENDING, /* admitted; waiting for the first request's headers */
    FS_REFUSED, /* past a cap; waiting for the headers, to answer 503 */
    FS_CLOSING, /* answered: draining until end of file or the linger deadline */
};

struct front_conn {
    struct front_conn *prev, *next;
    int fd;
    enum front_state state;
    bool admitted; /* holds a cap slot */
    bool refused;  /* counted in n_refused until freed */
    bool peek_off; /* SO_PEEK_OFF works: each peek continues where the last ended */
    unsigned char key[16];
    struct sockaddr_storage sa;
    socklen_t sa_len;
    int64_t start_ns, last_ns, closing_ns;
    char *buf; /* peeked bytes */
    size_t len, cap, scanned;
};

struct http_front {
    struct http_front_options o;
    pthread_t thread;
    bool running;
    int epfd, stop_fd;
    bool listening; /* listen_fd is in the epoll set */
    struct front_conn *conns;
    unsigned n_held, n_refused;
    pthread_mutex_t lock; /* keys, n_keys (http_front_release comes from other threads) */
    unsigned char (*keys)[16];
    unsigned n_keys;
};

/* Tags of the two non-connection entries of the epoll set. */
static char listen_tag, stop_tag;

void http_front_addr_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(key, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        key[15] = 6; /* never equal to an IPv4 key */
        memcpy(key, &in6->sin6_addr, 8);
    }
}

/* ---------------------------------------------------------------------------
 * Cap slots
 */

/* Takes a slot for key when both caps allow it. */
static bool slot_take(struct http_front *f, const unsigned char key[16])
{
    unsigned same = 0;
    bool ok;

    pthread_mutex_lock(&f->lock);
    for (unsigned i = 0; i < f->n_keys; i++)
        same += memcmp(f->keys[i], key, 16) == 0;
    ok = f->n_keys < f->o.max_connections && same < f->o.max_per_client;
    if (ok)
        memcpy(f->keys[f->n_keys++], key, 16);
    pthread_mutex_unlock(&f->lock);
    return ok;
}

void http_front_release(struct http_front *f, const unsigned char key[16])
{
    pthread_mutex_lock(&f->lock);
    for (unsigned i = 0; i < f->n_keys; i++) {
        if (memcmp(f->keys[i], key, 16) == 0) {
            memcpy(f->keys[i], f->keys[--f->n_keys], 16);
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---------------------------------------------------------------------------
 * Strict checks of the first request
 */

static bool is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

struct census {
    unsigned headers, content_length, transfer_encoding, authorization;
};

/* Whether name (n bytes) is hdr, case-insensitively. */
static bool name_is(const char *name, size_t n, const char *hdr)
{
    return n == strlen(hdr) && strncasecmp(name, hdr, n) == 0;
}

/* One header line (no line end).  0, or 400 with *why. */
static int check_header(const char *p, size_t n, struct census *cs, const char **why)
{
    const char *colon = memchr(p, ':', n);
    size_t name_len, vlen;
    const char *v;

    if (p[0] == ' ' || p[0] == '\t')
        return *why = "obsolete line folding in the headers", 400;
    if (!colon || colon == p)
        return *why = "a header line without a name and \":\"", 400;
    name_len = (size_t)(colon - p);
    for (size_t i = 0; i < name_len; i++) {
        if (!is_tchar((unsigned char)p[i]))
            return *why = "a header name with a byte that is not allowed", 400;
    }
    v = colon + 1;
    vlen = n - name_len - 1;
    for (size_t i = 0; i < vlen; i++) {
        if (is_ctl((unsigned char)v[i]))
            return *why = "a control byte (NUL, CR, ...) in a header value", 400;
    }
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (name_is(p, name_len, "Content-Length")) {
        cs->content_length++;
        if (vlen == 0 || vlen > 19 || strspn(v, "0123456789") < vlen)
            return *why = "Content-Length is not a number", 400;
    } else if (name_is(p, name_len, "Transfer-Encoding")) {
        cs->transfer_encoding++;
        if (!name_is(v, vlen, "chunked"))
            return *why = "unsupported Transfer-Encoding (only one \"chunked\" is accepted)", 400;
    } else if (name_is(p, name_len, "Authorization")) {
        cs->authorization++;
    }
    return 0;
}

/* The verdict over the whole header set.  0, or 400 with *why. */
static int check_census(const struct census *cs, const char **why)
{
    if (cs->content_length > 1)
        return *why = "several Content-Length headers", 400;
    if (cs->content_length && cs->transfer_encoding)
        return *why = "Content-Length together with Transfer-Encoding", 400;
    if (cs->transfer_encoding > 1)
        return *why = "unsupported Transfer-Encoding (only one \"chunked\" is accepted)", 400;
    if (cs->authorization > 1)
        return *why = "several Authorization headers", 400;
    return 0;
}

int http_front_check(const char *head, size_t len, const char **why)
{
    struct census cs = {0};
    size_t i = 0;
    bool first = true;
    int r;

    while (i < len && (head[i] == '\r' || head[i] == '\n'))
        i++; /* empty lines before the request line are ignored (RFC 9112 2.2) */
    while (i < len) {
        const char *nl = memchr(head + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - head) - i : len - i;
        const char *line = head + i;

        i += n + 1;
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the empty line: end of the headers */
        if (first) {
            for (size_t k = 0; k < n; k++) {
                if (is_ctl((unsigned char)line[k]))
                    return *why = "a control byte in the request line", 400;
            }
            first = false;
            continue;
        }
        if (++cs.headers > LIMIT_HTTP_HEADERS)
            return *why = "too many request headers", 431;
        r = check_header(line, n, &cs, why);
        if (r)
            return r;
    }
    return check_census(&cs, why);
}

/*
 * Where the headers end in c->buf (offset after the empty line), or 0
 * when they are not complete.  Scans only what it has not seen before.
 */
static size_t head_end(struct front_conn *c)
{
    size_t i = 0;

    while (i < c->len && (c->buf[i] == '\r' || c->buf[i] == '\n'))
        i++;
    if (c->scanned > i)
        i = c->scanned;
    for (; i < c->len; i++) {
        const char *nl = memchr(c->buf + i, '\n', c->len - i);
        if (!nl) {
            i = c->len;
            break;
        }
        i = (size_t)(nl - c->buf);
        if (i + 1 < c->len && c->buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < c->len && c->buf[i + 1] == '\r' && c->buf[i + 2] == '\n')
            return i + 3;
        if (i + 2 >= c->len)
            break; /* the next bytes decide: look at this '\n' again */
    }
    c->scanned = i;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Connections
 */

static void conn_unlink(struct http_front *f, struct front_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        f->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    f->n_held--;
    if (c->refused)
        f->n_refused--;
    if (c->admitted)
        http_front_release(f, c->key);
    free(c->buf);
    free(c);
}

/* Closes c (silently, or after its answer) and frees it. */
static void conn_close(struct http_front *f, struct front_conn *c)
{
    close(c->fd); /* also takes it out of the epoll set */
    conn_unlink(f, c);
}

/* Reads and drops what the client sends after our answer; closes at end of file. */
static void conn_drain(struct http_front *f, struct front_conn *c)
{
    char tmp[4096];

    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_close(f, c); /* end of file or error: nothing more to drain */
        return;
    }
}

/*
 * Answers c itself (status, reason text, Connection: close), gives back
 * its cap slot and half-closes: the client reads the answer, then its end
 * of file ends the drain.
 */
static void conn_answer(struct http_front *f, struct front_conn *c, int status, const char *why)
{
    char msg[512], retry[48] = "";
    int n;

    if (status == 503)
        snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", (unsigned)LIMIT_HTTP_RETRY_AFTER_SEC);
    n = snprintf(msg, sizeof(msg),
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s\n",
                 status, http_status_text(status), strlen(why) + 1, retry, why);
    if (n > 0 && (size_t)n < sizeof(msg))
        (void)!send(c->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(c->fd, SHUT_WR);
    if (c->admitted) {
        http_front_release(f, c->key);
        c->admitted = false;
    }
    if (c->refused) {
        f->n_refused--; /* a lingering client no longer holds back new ones */
        c->refused = false;
    }
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    c->state = FS_CLOSING;
    c->closing_ns = clock_mono_ns();
    conn_drain(f, c);
}

/* Makes room for more peeked bytes; false at the header limit (or out of memory). */
static bool conn_grow(struct front_conn *c)
{
    size_t max = (size_t)LIMIT_HTTP_HEADER_BYTES + 1, cap = c->cap ? 2 * c->cap : 4096;
    char *b;

    if (c->cap >= max)
        return false;
    if (cap > max)
        cap = max;
    b = realloc(c->buf, cap);
    if (!b)
        return false;
    c->buf = b;
    c->cap = cap;
    return true;
}

/*
 * Peeks at what arrived (without consuming it).  Returns 1 when there are
 * new bytes, 0 when not, -1 at end of file or error.
 */
static int conn_peek(struct front_conn *c)
{
    size_t before = c->len;

    for (int i = 0; i < 64; i++) {
        ssize_t n;
        if (c->len == c->cap && !conn_grow(c))
            break; /* full: the caller answers 431 */
        if (!c->peek_off)
            c->len = 0; /* each peek starts at the first byte again */
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        c->len += (size_t)n;
        if (!c->peek_off && c->len < c->cap)
            break; /* all there is: peeking again would return the same bytes */
    }
    return c->len > before ? 1 : 0;
}

/* Hands c, untouched, to libmicrohttpd; its cap slot stays taken (http_front_release). */
static void conn_hand_over(struct http_front *f, struct front_conn *c)
{
    int off = -1;
    int fd = c->fd;

    epoll_ctl(f->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (c->peek_off)
        setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
    c->admitted = false; /* the slot now belongs to libmicrohttpd's connection */
    if (MHD_add_connection(f->o.daemon, fd, (const struct sockaddr *)&c->sa, c->sa_len) !=
        MHD_YES)
        http_front_release(f, c->key); /* libmicrohttpd closed the socket */
    conn_unlink(f, c);
}

/* New bytes (or an event) on c. */
static void conn_event(struct http_front *f, struct front_conn *c)
{
    const char *why;
    size_t end;
    int r;

    if (c->state == FS_CLOSING) {
        conn_drain(f, c);
        return;
    }
    r = conn_peek(c);
    if (r > 0)
        c->last_ns = clock_mono_ns();
    end = head_end(c);
    if (end) {
        if (c->state == FS_REFUSED) {
            conn_answer(f, c, 503, "too many connections; retry later");
            return;
        }
        r = http_front_check(c->buf, end, &why);
        if (r)
            conn_answer(f, c, r, why);
        else
            conn_hand_over(f, c);
        return;
    }
    if (c->len > LIMIT_HTTP_HEADER_BYTES) {
        if (c->state == FS_REFUSED)
            conn_answer(f, c, 503, "too many connections; retry later");
        else
            conn_answer(f, c, 431, "request line and headers too large");
        return;
    }
    if (r < 0)
        conn_close(f, c); /* closed (or failed) before a whole request: nobody to answer */
}

/* One accepted socket: counted, listed, watched. */
static void conn_new(struct http_front *f, int fd, const struct sockaddr_storage *sa,
                     socklen_t sa_len)
{
    struct front_conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET};
    int zero = 0;

    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->sa = *sa;
    c->sa_len = sa_len;
    http_front_addr_key((const struct sockaddr *)sa, c->key);
    c->start_ns = c->last_ns = clock_mono_ns();
    c->admitted = slot_take(f, c->key);
    c->refused = !c->admitted;
    c->state = c->admitted ? FS_PENDING : FS_REFUSED;
    c->peek_off = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) == 0;
    c->next = f->conns;
    if (f->conns)
        f->conns->prev = c;
    f->conns = c;
    f->n_held++;
    f->n_refused += c->refused;
    ev.data.ptr = c;
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        conn_close(f, c);
    /* Bytes already there are reported by the epoll set at once. */
}

static bool front_full(const struct http_front *f)
{
    return f->n_refused >= f->o.overflow || f->n_held >= f->o.max_connections + f->o.overflow;
}

/* Accepts while the listen queue has connections and the front door has room. */
static void front_accept(struct http_front *f)
{
    for (int i = 0; i < 256 && !front_full(f); i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept(f->o.listen_fd, (struct sockaddr *)&sa, &sl);
        if (fd < 0)
            return; /* EAGAIN, or a connection that went away (ECONNABORTED, ...) */
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            close(fd);
            continue;
        }
        conn_new(f, fd, &sa, sl);
    }
}

/* The listening socket is watched only while the front door has room. */
static void front_listen_update(struct http_front *f)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listen_tag};
    bool want = !front_full(f);

    if (want == f->listening)
        return;
    if (epoll_ctl(f->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, f->o.listen_fd, &ev) == 0)
        f->listening = want;
}

/* Deadlines: silent close of slow first requests, 503 for slow refused ones, end of drains. */
static void front_sweep(struct http_front *f, int64_t now)
{
    int64_t header_ns = (int64_t)f->o.header_timeout_sec * NS_PER_S;
    int64_t idle_ns = (int64_t)f->o.idle_timeout_sec * NS_PER_S;
    struct front_conn *next;

    for (struct front_conn *c = f->conns; c; c = next) {
        next = c->next;
        switch (c->state) {
        case FS_PENDING:
            if (now - c->start_ns > header_ns || now - c->last_ns > idle_ns)
                conn_close(f, c);
            break;
        case FS_REFUSED:
            if (now - c->start_ns > (int64_t)LIMIT_HTTP_REFUSED_SEC * NS_PER_S)
                conn_answer(f, c, 503, "too many connections; retry later");
            break;
        case FS_CLOSING:
            if (now - c->closing_ns > (int64_t)LIMIT_HTTP_LINGER_MS * NS_PER_MS)
                conn_close(f, c);
            break;
        }
    }
}

static void *front_main(void *arg)
{
    struct http_front *f = arg;
    struct epoll_event evs[128];
    int64_t last_sweep = clock_mono_ns();
    bool stop = false;

    while (!stop) {
        int n = epoll_wait(f->epfd, evs, (int)ARRAY_SIZE(evs), FRONT_TICK_MS);
        int64_t now;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &stop_tag)
                stop = true;
            else if (evs[i].data.ptr == &listen_tag)
                front_accept(f);
            else
                conn_event(f, evs[i].data.ptr);
        }
        now = clock_mono_ns();
        if (now - last_sweep >= FRONT_TICK_MS * NS_PER_MS) {
            front_sweep(f, now);
            last_sweep = now;
        }
        front_listen_update(f);
    }
    while (f->conns)
        conn_close(f, f->conns);
    return NULL;
}

int http_front_start(const struct http_front_options *o, struct http_front **ret)
{
    struct http_front *f = calloc(1, sizeof(*f));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &stop_tag};
    int r;

    if (!f) {
        close(o->listen_fd);
        return -ENOMEM;
    }
    f->o = *o;
    pthread_mutex_init(&f->lock, NULL);
    f->keys = calloc(o->max_connections ? o->max_connections : 1, sizeof(*f->keys));
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!f->keys || f->epfd < 0 || f->stop_fd < 0) {
        r = f->keys ? -errno : -ENOMEM;
        goto fail;
    }
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->stop_fd, &ev) < 0) {
        r = -errno;
        goto fail;
    }
    front_listen_update(f);
    r = -pthread_create(&f->thread, NULL, front_main, f);
    if (r < 0)
        goto fail;
    f->running = true;
    *ret = f;
    return 0;
fail:
    http_front_free(f);
    return r;
}

void http_front_stop(struct http_front *f)
{
    uint64_t one = 1;

    if (!f || !f->running)
        return;
    (void)!write(f->stop_fd, &one, sizeof(one));
    pthread_join(f->thread, NULL);
    f->running = false;
    if (f->o.listen_fd >= 0)
        close(f->o.listen_fd);
    f->o.listen_fd = -1;
}

void http_front_free(struct http_front *f)
{
    if (!f)
        return;
    http_front_stop(f);
    if (f->o.listen_fd >= 0)
        close(f->o.listen_fd); /* never started */
    if (f->epfd >= 0)
        close(f->epfd);
    if (f->stop_fd >= 0)
        close(f->stop_fd);
    pthread_mutex_destroy(&f->lock);
    free(f->keys);
    free(f);
}
