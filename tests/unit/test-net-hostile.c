/*
 * test-net-hostile.c - net/http.h against hostile clients, over raw
 * sockets on loopback: slowloris past the per-client cap, a trickled
 * chunked body, 2,000 concurrent clients, ambiguous framing.
 *
 * Expected answers come from net/http.h (deadlines, caps, 400 rules) and
 * RFC 9112 (one status line per answer).  Times are printed, never
 * asserted, except generous bounds that only catch a server that never
 * answers.  Every loop is bounded.
 */
#include "base/compat.h"
#include "net/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static int ok_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    return buf_printf(&resp->body, "len=%zu\n", req->body_len);
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct http_server *serve(const struct http_server_options *o)
{
    struct http_server *s = NULL;

    assert_int_equal(http_server_new(o, &s), 0);
    assert_int_equal(http_server_route(s, NULL, "/echo", ok_handler, NULL, NULL, 0), 0);
    assert_int_equal(http_server_start(s), 0);
    return s;
}

/* A blocking socket to 127.0.0.1:port from source address src ("127.0.0.2"). */
static int dial(uint16_t port, const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in me = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    inet_pton(AF_INET, src, &me.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Reads until end of file or timeout_ms of silence; returns the bytes (NUL-terminated). */
static void read_all(int fd, int timeout_ms, struct buf *out)
{
    char tmp[4096];

    buf_init(out, 1u << 20);
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0)
            break;
        assert_int_equal(buf_append(out, tmp, (size_t)n), 0);
    }
}

/* How many status lines ("HTTP/1.x NNN") a raw answer holds. */
static int status_lines(const char *raw)
{
    int n = 0;

    for (const char *p = raw; (p = strstr(p, "HTTP/1.")) != NULL; p++) {
        if (p == raw || p[-1] == '\n')
            n++;
    }
    return n;
}

static int exchange(uint16_t port, const char *src, const char *raw, size_t len, struct buf *out)
{
    int fd = dial(port, src);

    assert_int_equal(write(fd, raw, len), (ssize_t)len);
    read_all(fd, 5000, out);
    close(fd);
    return (int)out->len;
}

/*
 * Each ambiguous or malformed first request: exactly one status line, 400
 * (431 for too many headers), and the connection closed.  The rules are
 * net/http.h's (RFC 9112 6.3 for the framing ones).
 */
#define RAW(text) text, sizeof(text) - 1 /* a literal that may hold a NUL, and its length */

static void test_ambiguous_framing(void **state)
{
    static const struct {
        const char *raw;
        size_t len;
        int status;
    } cases[] = {
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n0\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400},
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400},
        {RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), 400},
        /* a NUL, a bare CR, another control byte inside a header value */
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\0junk\r\n\r\n"), 400},
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"), 400},
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x01" "b\r\n\r\n"), 400},
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"), 400},   /* obs-fold */
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n"), 400},        /* space before ':' */
        {RAW("GET /echo HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"), 400},
        {RAW("GET /ec\0ho HTTP/1.1\r\nHost: x\r\n\r\n"), 400},
    };
    struct http_server_options o = {.host = "127.0.0.1"};
    struct http_server *s = serve(&o);

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf out;
        char want[16];
        size_t len = cases[i].len;
        exchange(http_server_port(s), "127.0.0.1", cases[i].raw, len, &out);
        snprintf(want, sizeof(want), "HTTP/1.1 %d ", cases[i].status);
        if (strncmp(out.data, want, strlen(want)) != 0 || status_lines(out.data) != 1)
            fail_msg("case %zu: answer [%s]", i, out.data);
        buf_release(&out);
    }
    http_server_free(s);
}

/* More headers than LIMIT_HTTP_HEADERS: one 431. */
static void test_too_many_headers(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1"};
    struct http_server *s = serve(&o);
    struct buf req, out;

    (void)state;
    buf_init(&req, 1u << 16);
    assert_int_equal(buf_puts(&req, "GET /echo HTTP/1.1\r\nHost: x\r\n"), 0);
    for (int i = 0; i < LIMIT_HTTP_HEADERS; i++)
        assert_int_equal(buf_printf(&req, "X-H%d: v\r\n", i), 0);
    assert_int_equal(buf_puts(&req, "\r\n"), 0);
    exchange(http_server_port(s), "127.0.0.1", req.data, req.len, &out);
    if (strncmp(out.data, "HTTP/1.1 431 ", 13) != 0 || status_lines(out.data) != 1)
        fail_msg("answer [%s]", out.data);
    buf_release(&out);
    buf_release(&req);
    http_server_free(s);
}

/* Reads one answer with a Content-Length body from a keep-alive connection. */
static void read_answer(int fd, struct buf *out)
{
    char tmp[4096];

    buf_init(out, 1u << 16);
    for (int i = 0; i < 100; i++) {
        const char *end = strstr(out->data, "\r\n\r\n"), *cl = strstr(out->data, "Content-Length: ");
        if (end && cl && out->len >= (size_t)(end + 4 - out->data) + strtoul(cl + 16, NULL, 10))
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0)
            return;
        assert_int_equal(buf_append(out, tmp, (size_t)n), 0);
    }
}

/*
 * Keep-alive: a connection idle between two requests for longer than the
 * header deadline is still open (only the idle timeout closes it), and
 * the second request is served.  Then the follow-up checks: a keep-alive
 * request with two Content-Length or a control byte is answered 400.
 */
static void test_keep_alive_idle(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .header_timeout_sec = 1,
                                    .idle_timeout_sec = 3, .keep_alive = true};
    struct http_server *s = serve(&o);
    static const char get[] = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char *const bad[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x01" "b\r\n\r\n",
    };
    int fd = dial(http_server_port(s), "127.0.0.1");
    struct buf out;

    (void)state;
    assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
    read_answer(fd, &out);
    if (strncmp(out.data, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("first: [%s]", out.data);
    buf_release(&out);
    sleep(2); /* past the 1 s header deadline, within the 3 s idle timeout */
    assert_int_equal(send(fd, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
    read_answer(fd, &out);
    if (strncmp(out.data, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("after 2 s idle: [%s]", out.data);
    buf_release(&out);
    close(fd);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        fd = dial(http_server_port(s), "127.0.0.1");
        assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
        read_answer(fd, &out);
        assert_true(strncmp(out.data, "HTTP/1.1 200 ", 13) == 0);
        buf_release(&out);
        assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
        read_all(fd, 5000, &out);
        if (strncmp(out.data, "HTTP/1.1 400 ", 13) != 0)
            fail_msg("keep-alive case %zu: [%s]", i, out.data);
        buf_release(&out);
        close(fd);
    }
    http_server_free(s);
}

/*
 * The default (keep_alive false): every answer says "Connection: close" and
 * the server closes, so a second request on the connection is never read —
 * each request meets the front door's strict check on its raw bytes.  A NUL
 * in Authorization sent as that second request (what libmicrohttpd alone
 * would cut at the NUL and accept as "Bearer tok") is never answered 200.
 */
static void test_one_request_per_connection(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1"};
    struct http_server *s = serve(&o);
    static const char two[] = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\0junk\r\n\r\n";
    struct buf out;

    (void)state;
    exchange(http_server_port(s), "127.0.0.1", two, sizeof(two) - 1, &out);
    if (status_lines(out.data) != 1 || strncmp(out.data, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("want one 200 and the connection closed: [%s]", out.data);
    assert_non_null(strstr(out.data, "Connection: close"));
    buf_release(&out);
    http_server_free(s);
}

/*
 * Keep-alive slowloris: after a first request, the next one trickled a
 * byte every 200 ms is closed by the header deadline (1 s, counted from
 * its first byte), although the idle timeout (3 s) never fires.
 */
static void test_keep_alive_trickle(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .header_timeout_sec = 1,
                                    .idle_timeout_sec = 3, .keep_alive = true};
    struct http_server *s = serve(&o);
    static const char get[] = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char slow[] = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int fd = dial(http_server_port(s), "127.0.0.1");
    double t0;
    bool closed = false;
    struct buf out;

    (void)state;
    assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
    read_answer(fd, &out);
    assert_true(strncmp(out.data, "HTTP/1.1 200 ", 13) == 0);
    buf_release(&out);
    t0 = now_sec();
    for (size_t b = 0; b < sizeof(slow) - 1 && !closed; b++) { /* 17 s at most */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        if ((poll(&p, 1, 200) == 1 && read(fd, &c, 1) <= 0) ||
            send(fd, &slow[b], 1, MSG_NOSIGNAL) != 1)
            closed = true;
    }
    print_message("trickled keep-alive request closed after %.2f s\n", now_sec() - t0);
    assert_true(closed);
    close(fd);
    http_server_free(s);
}

#define SLOW_CONNS 24 /* more than the per-client cap below */

/*
 * Slowloris: SLOW_CONNS connections from 127.0.0.1 trickle a request line
 * a byte at a time.  A normal client from 127.0.0.2 is still served; one
 * more from 127.0.0.1 gets 503 with Retry-After; every slow connection is
 * closed by its deadline although it never stops sending.
 */
static void test_slowloris(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .max_per_client = 8,
                                    .header_timeout_sec = 2, .threads = 4};
    struct http_server *s = serve(&o);
    uint16_t port = http_server_port(s);
    static const char line[] = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa";
    static const char normal[] = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fds[SLOW_CONNS];
    bool closed[SLOW_CONNS] = {0};
    int n_closed = 0;
    double t0, t;
    struct buf out;

    (void)state;
    for (int i = 0; i < SLOW_CONNS; i++)
        fds[i] = dial(port, "127.0.0.1");
    for (size_t b = 0; b < 3; b++) {
        for (int i = 0; i < SLOW_CONNS; i++)
            assert_int_equal(write(fds[i], &line[b], 1), 1);
    }
    t0 = now_sec();
    exchange(port, "127.0.0.2", normal, strlen(normal), &out);
    t = now_sec() - t0;
    print_message("normal client served in %.3f s under %d slow connections\n", t, SLOW_CONNS);
    assert_true(strncmp(out.data, "HTTP/1.1 200 ", 13) == 0);
    assert_true(t < 5.0);
    buf_release(&out);
    exchange(port, "127.0.0.1", normal, strlen(normal), &out);
    if (strncmp(out.data, "HTTP/1.1 503 ", 13) != 0 || !strstr(out.data, "Retry-After: "))
        fail_msg("over the cap: [%s]", out.data);
    buf_release(&out);
    /* Keep trickling (a byte every 200 ms, 20 s at most) until the server closes them all. */
    t0 = now_sec();
    for (size_t b = 3; b < sizeof(line) - 1 && n_closed < SLOW_CONNS; b++) {
        for (int i = 0; i < SLOW_CONNS; i++) {
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            char c;
            if (closed[i])
                continue;
            if ((poll(&p, 1, 0) == 1 && read(fds[i], &c, 1) <= 0) ||
                send(fds[i], &line[b], 1, MSG_NOSIGNAL) != 1) {
                closed[i] = true;
                n_closed++;
            }
        }
        usleep(200 * 1000);
    }
    print_message("%d/%d slow connections closed after %.1f s of trickling\n", n_closed,
                  SLOW_CONNS, now_sec() - t0);
    assert_int_equal(n_closed, SLOW_CONNS);
    for (int i = 0; i < SLOW_CONNS; i++)
        close(fds[i]);
    http_server_free(s);
}

/* A chunked body trickled a byte every 250 ms is cut off at the deadline, unanswered. */
static void test_trickled_body(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .body_grace_sec = 1,
                                    .body_min_rate = 1024};
    struct http_server *s = serve(&o);
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    int fd = dial(http_server_port(s), "127.0.0.1");
    double t0 = now_sec();
    bool cut = false;
    struct buf out;

    (void)state;
    assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    for (int i = 0; i < 80 && !cut; i++) { /* 20 s at most */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 250) == 1 || send(fd, "1\r\nx\r\n", 6, MSG_NOSIGNAL) != 6)
            cut = true;
    }
    print_message("trickled body cut off after %.2f s\n", now_sec() - t0);
    assert_true(cut);
    read_all(fd, 2000, &out);
    assert_int_equal(out.len, 0); /* closed, not answered */
    buf_release(&out);
    close(fd);
    http_server_free(s);
}

#define MANY 2000

struct client {
    int fd;
    size_t sent;
    struct buf in;
    bool done;
    int err; /* errno that ended it, 0 for end of file */
};

/* Raises RLIMIT_NOFILE for MANY client plus MANY server sockets; the count that fits. */
static int clients_that_fit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 100;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= 2 * MANY + 200)
        return MANY;
    return (int)((rl.rlim_cur - 200) / 2);
}

static void many_start(struct client *c, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(c->fd >= 0);
    assert_true(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
    buf_init(&c->in, 1u << 16);
}

/* One poll round over the clients: sends requests, reads answers. */
static int many_step(struct client *cs, int n, struct pollfd *p)
{
    static const char req[] = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int left = 0;

    for (int i = 0; i < n; i++) {
        p[i] = (struct pollfd){.fd = cs[i].done ? -1 : cs[i].fd,
                               .events = cs[i].sent < sizeof(req) - 1 ? POLLOUT : POLLIN};
    }
    if (poll(p, (nfds_t)n, 1000) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct client *c = &cs[i];
        char tmp[4096];
        ssize_t k;
        if (c->done || !p[i].revents)
            continue;
        if (c->sent < sizeof(req) - 1) {
            k = send(c->fd, req + c->sent, sizeof(req) - 1 - c->sent, MSG_NOSIGNAL);
            if (k > 0)
                c->sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN) {
                c->done = true;
                c->err = errno;
            }
            continue;
        }
        k = read(c->fd, tmp, sizeof(tmp));
        if (k > 0)
            buf_append(&c->in, tmp, (size_t)k);
        else if (k == 0 || errno != EAGAIN) {
            c->done = true;
            c->err = k == 0 ? 0 : errno;
        }
    }
    for (int i = 0; i < n; i++)
        left += !cs[i].done;
    return left;
}

/*
 * 2,000 clients at once, one address, default settings: 200 within the
 * cap, 503 past it, none closed or reset unanswered.
 */
static void test_many_clients(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1"};
    struct http_server *s = serve(&o);
    int n = clients_that_fit(), ok = 0, busy = 0, other = 0, left = 1;
    struct client *cs = calloc((size_t)n, sizeof(*cs));
    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    double t0 = now_sec();

    (void)state;
    assert_non_null(cs);
    assert_non_null(p);
    for (int i = 0; i < n; i++)
        many_start(&cs[i], http_server_port(s));
    while (left > 0 && now_sec() - t0 < 60) /* a bound on a server that never answers */
        left = many_step(cs, n, p);
    for (int i = 0; i < n; i++) {
        const char *d = cs[i].in.data;
        if (d && strncmp(d, "HTTP/1.1 200 ", 13) == 0)
            ok++;
        else if (d && strncmp(d, "HTTP/1.1 503 ", 13) == 0 && strstr(d, "Retry-After: "))
            busy++;
        else if (other++ < 3)
            print_message("client %d: sent %zu, error %d, got [%.80s]\n", i, cs[i].sent,
                          cs[i].err, d ? d : "");
        close(cs[i].fd);
        buf_release(&cs[i].in);
    }
    print_message("%d concurrent clients in %.2f s: %d x 200, %d x 503, %d other\n", n,
                  now_sec() - t0, ok, busy, other);
    /* Every client is answered: 200, or 503 + Retry-After past the per-client cap. */
    assert_int_equal(other, 0);
    assert_int_equal(ok + busy, n);
    assert_true(ok > 0);
    free(cs);
    free(p);
    http_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ambiguous_framing),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_one_request_per_connection),
        cmocka_unit_test(test_keep_alive_idle),
        cmocka_unit_test(test_keep_alive_trickle),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_trickled_body),
        cmocka_unit_test(test_many_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
