/*
 * hostile.c - the raw HTTP/1.1 front used with --hostile: a lying remote
 * for tests.  One thread accepts (polling, so it notices a stop within
 * 100 ms); each connection gets a detached thread (at most
 * HOSTILE_MAX_CONNS at once) that reads one request (bounded: headers
 * LIMIT_HTTP_HEADER_BYTES, body LIMIT_HTTP_BODY_BYTES, 10 s), answers it
 * and closes ("Connection: close").  Requests for the RPCs the mode
 * applies to are answered as the mode says (emulator.h); every other
 * request (server/info, healthz, RPCs not listed) normally.  Every wait
 * polls the stop flag at least every 100 ms and ends after
 * EMU_HOSTILE_MAX_NS.
 */
#include "base/compat.h"
#include "base/clock.h"
#include "base/time.h"
#include "emu-internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOSTILE_MAX_CONNS 64
#define HOSTILE_READ_NS (10 * NS_PER_SEC)
#define HOSTILE_TICK_MS 100

struct conn {
    struct emulator *e;
    int fd;
};

static bool stopping(struct emulator *e)
{
    return __atomic_load_n(&e->stopping, __ATOMIC_RELAXED);
}

/* Waits for events on fd; 1 ready, 0 tick passed, -1 stop/deadline/error. */
static int wait_fd(struct emulator *e, int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    if (stopping(e) || clock_mono_ns() >= deadline)
        return -1;
    int r = poll(&p, 1, HOSTILE_TICK_MS);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    return r > 0 ? 1 : 0;
}

static int write_all(struct emulator *e, int fd, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        int w = wait_fd(e, fd, POLLOUT, deadline);
        if (w < 0)
            return -EPIPE;
        if (w == 0)
            continue;
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0)
            return -EPIPE;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- reading one request ---- */

struct raw_req {
    char head[LIMIT_HTTP_HEADER_BYTES + 1];
    size_t head_len;
    char *body;
    struct http_header headers[LIMIT_HTTP_HEADERS];
    struct http_request req;
};

static int read_some(struct emulator *e, int fd, char *p, size_t n, int64_t deadline)
{
    for (;;) {
        int w = wait_fd(e, fd, POLLIN, deadline);
        if (w < 0)
            return -EIO;
        if (w == 0)
            continue;
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        return k > 0 ? (int)k : -EIO;
    }
}

static int parse_head(struct raw_req *r, size_t end)
{
    char *line = r->head, *eol, *sp1, *sp2;
    size_t n = 0;

    r->head[end] = '\0';
    eol = strstr(line, "\r\n");
    *eol = '\0';
    sp1 = strchr(line, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2)
        return -EINVAL;
    *sp1 = *sp2 = '\0';
    char *q = strchr(sp1 + 1, '?');
    if (q)
        *q = '\0';
    r->req.method = line;
    r->req.path = sp1 + 1;
    for (line = eol + 2; *line && n < LIMIT_HTTP_HEADERS; line = eol + 2) {
        eol = strstr(line, "\r\n");
        if (!eol)
            break;
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            r->headers[n].name = line;
            r->headers[n].value = v;
            n++;
        }
    }
    r->req.headers = r->headers;
    r->req.n_headers = n;
    r->req.remote_addr = "";
    return 0;
}

static int read_request(struct emulator *e, int fd, struct raw_req *r)
{
    int64_t deadline = clock_mono_ns() + HOSTILE_READ_NS;
    char *end = NULL;

    while (!end) {
        if (r->head_len >= LIMIT_HTTP_HEADER_BYTES)
            return -E2BIG;
        int k = read_some(e, fd, r->head + r->head_len, LIMIT_HTTP_HEADER_BYTES - r->head_len,
                          deadline);
        if (k < 0)
            return k;
        r->head_len += (size_t)k;
        r->head[r->head_len] = '\0';
        end = strstr(r->head, "\r\n\r\n");
    }
    size_t head_end = (size_t)(end - r->head) + 2, have = r->head_len - head_end - 2;
    char extra[4096];
    size_t extra_len = have < sizeof(extra) ? have : sizeof(extra);
    memcpy(extra, end + 4, extra_len);
    if (parse_head(r, head_end) < 0)
        return -EINVAL;
    const char *cl = http_request_header(&r->req, "Content-Length");
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
    if (len > LIMIT_HTTP_BODY_BYTES) {
        r->req.body = "";
        r->req.body_too_large = true;
        return 0;
    }
    const char *expect = http_request_header(&r->req, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && extra_len < len)
        write_all(e, fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, deadline);
    r->body = malloc(len + 1);
    if (!r->body)
        return -ENOMEM;
    memcpy(r->body, extra, extra_len < len ? extra_len : len);
    for (size_t got = extra_len < len ? extra_len : len; got < len;) {
        int k = read_some(e, fd, r->body + got, len - got, deadline);
        if (k < 0)
            return k;
        got += (size_t)k;
    }
    r->body[len] = '\0';
    r->req.body = r->body;
    r->req.body_len = len;
    return 0;
}

/* ---- answers ---- */

static int head_text(const struct http_response *resp, size_t body_len, struct buf *out)
{
    int r = buf_printf(out, "HTTP/1.1 %d %s\r\n", resp->status, http_status_text(resp->status));
    for (size_t i = 0; i < resp->n_headers && r == 0; i++)
        r = buf_printf(out, "%s: %s\r\n", resp->header_names[i], resp->header_values[i]);
    if (r == 0)
        r = buf_printf(out, "Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len);
    return r;
}

static int send_whole(struct emulator *e, int fd, const struct http_response *resp, bool drip)
{
    struct buf all;
    int64_t deadline = clock_mono_ns() + EMU_HOSTILE_MAX_NS;
    int r;

    buf_init(&all, LIMIT_HTTP_RESPONSE_BYTES + LIMIT_HTTP_HEADER_BYTES);
    r = head_text(resp, resp->body.len, &all);
    if (r == 0)
        r = buf_append(&all, resp->body.data, resp->body.len);
    for (size_t i = 0; r == 0 && drip && i < all.len; i++) {
        r = write_all(e, fd, all.data + i, 1, deadline);
        for (int t = 0; r == 0 && t < 1000 / HOSTILE_TICK_MS && i + 1 < all.len; t++)
            if (wait_fd(e, fd, 0, deadline) < 0)
                r = -EPIPE;
    }
    if (r == 0 && !drip)
        r = write_all(e, fd, all.data, all.len, deadline);
    buf_release(&all);
    return r;
}

static void set_body(struct http_response *resp, int status, const char *ctype, const char *s,
                     size_t n, bool prpc)
{
    resp->status = status;
    buf_reset(&resp->body);
    buf_append(&resp->body, s, n);
    http_response_set_header(resp, "Content-Type", ctype);
    if (prpc)
        http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
}

/* id strings -> objects, status names -> numbers, times -> numbers. */
static void mangle(json_t *v)
{
    const char *key;
    json_t *x;

    if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, x)
            mangle(x);
        return;
    }
    if (!json_is_object(v))
        return;
    json_object_foreach(v, key, x) {
        if (strcmp(key, "id") == 0 && json_is_string(x)) {
            json_object_set_new(v, key, json_pack("{s:O}", "value", x));
        } else if (strcmp(key, "status") == 0 && json_is_string(x)) {
            int s = emu_status_parse(json_string_value(x));
            json_object_set_new(v, key, json_integer(s > 0 ? s : 3));
        } else if (strstr(key, "Time") || strstr(key, "_ts")) {
            json_object_set_new(v, key, json_real(1714564800.5));
        } else {
            mangle(x);
        }
    }
}

static void answer_wrong_types(struct http_response *resp, bool prpc)
{
    const char *s = resp->body.data;
    size_t skip = prpc && strncmp(s, ")]}'\n", 5) == 0 ? 5 : 0;
    json_t *v = resp->status == 200 ? json_loads(s + skip, 0, NULL) : NULL;
    if (!v)
        v = prpc ? json_pack("{s:{s:s},s:i}", "id", "value", "8749142216233001793", "status", 12)
                 : json_pack("{s:{s:{s:s},s:i}}", "build", "id", "value", "8749142216233001793",
                             "status", 3);
    mangle(v);
    char *d = json_dumps(v, JSON_COMPACT);
    struct buf b;
    buf_init(&b, LIMIT_HTTP_RESPONSE_BYTES);
    buf_printf(&b, "%s%s\n", prpc ? ")]}'\n" : "", d ? d : "{}");
    set_body(resp, 200, prpc ? "application/json" : "application/json; charset=UTF-8", b.data,
             b.len, prpc);
    buf_release(&b);
    free(d);
    json_decref(v);
}

static void answer_truncated(struct http_response *resp, bool prpc)
{
    const char *fake = prpc ? ")]}'\n{\"id\":\"8749142216233001793\",\"builder\":{\"proj"
                            : "{\"build\": {\"id\": \"87491422162";
    if (resp->status != 200 || resp->body.len < 12) {
        set_body(resp, 200, "application/json", fake, strlen(fake), prpc);
        return;
    }
    size_t half = resp->body.len / 2;
    if (prpc && half < 8)
        half = 8;
    char *copy = malloc(half);
    if (!copy)
        return;
    memcpy(copy, resp->body.data, half);
    set_body(resp, 200, "application/json", copy, half, prpc);
    free(copy);
}

static int send_huge(struct emulator *e, int fd, bool prpc)
{
    struct http_response resp;
    struct buf head;
    char chunk[65536];
    const char *open = prpc ? ")]}'\n{\"id\":\"8749142216233001793\",\"status\":\"SUCCESS\","
                              "\"summaryMarkdown\":\""
                            : "{\"build\": {\"id\": \"8749142216233001793\", \"status\": "
                              "\"COMPLETED\", \"result_details_json\": \"";
    const char *close = prpc ? "\"}\n" : "\"}}";
    int64_t deadline = clock_mono_ns() + EMU_HOSTILE_MAX_NS;
    size_t total = EMU_HUGE_BYTES, fill = total - strlen(open) - strlen(close);
    int r;

    http_response_init(&resp);
    set_body(&resp, 200, "application/json", "", 0, prpc);
    buf_init(&head, LIMIT_HTTP_HEADER_BYTES);
    r = head_text(&resp, total, &head);
    if (r == 0)
        r = write_all(e, fd, head.data, head.len, deadline);
    if (r == 0)
        r = write_all(e, fd, open, strlen(open), deadline);
    memset(chunk, 'x', sizeof(chunk));
    while (r == 0 && fill) {
        size_t n = fill < sizeof(chunk) ? fill : sizeof(chunk);
        r = write_all(e, fd, chunk, n, deadline);
        fill -= n;
    }
    if (r == 0)
        r = write_all(e, fd, close, strlen(close), deadline);
    buf_release(&head);
    http_response_release(&resp);
    return r;
}

static void hang(struct emulator *e, int fd)
{
    int64_t deadline = clock_mono_ns() + EMU_HOSTILE_MAX_NS;
    char tmp[512];
    for (;;) {
        int w = wait_fd(e, fd, POLLIN, deadline);
        if (w < 0)
            return;
        if (w > 0 && recv(fd, tmp, sizeof(tmp), 0) <= 0)
            return; /* the client gave up */
    }
}

const char *emu_rpc_name(const struct http_request *req, char *out, size_t outlen)
{
    const char *p = req->path, *v1 = "/_ah/api/buildbucket/v1/builds";
    if (strncmp(p, "/prpc/buildbucket.v2.Builds/", 28) == 0) {
        snprintf(out, outlen, "%s", p + 28);
        return out;
    }
    if (strncmp(p, v1, strlen(v1)) != 0)
        return NULL;
    p += strlen(v1);
    const char *tail = strrchr(p, '/');
    snprintf(out, outlen, "%s", !*p ? "v1.put" : tail && strcmp(tail, "/cancel") == 0 ?
                                 "v1.cancel" : "v1.get");
    return out;
}

static bool eligible(const struct emulator *e, const struct http_request *req)
{
    char name[128];
    if (!emu_rpc_name(req, name, sizeof(name)))
        return false;
    if (!e->hostile_rpcs)
        return true;
    size_t n = strlen(name);
    for (const char *s = e->hostile_rpcs; *s;) {
        size_t k = strcspn(s, ",");
        if (k == n && strncmp(s, name, n) == 0)
            return true;
        s += k;
        if (*s == ',')
            s++;
    }
    return false;
}

static void answer(struct emulator *e, int fd, const struct http_request *req)
{
    struct http_response resp;
    bool hostile = eligible(e, req), prpc = strncmp(req->path, "/prpc/", 6) == 0;
    int mode = hostile ? e->o.hostile : EMU_HOSTILE_NONE;
    static const char html[] =
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
        "<body><h1>Bad Gateway</h1><p>The server encountered a temporary error and could not "
        "complete your request.</p><p>Please try again in 30 seconds.</p></body></html>\n";

    if (mode == EMU_HOSTILE_HANG) {
        emu_event(e, "hostile hang: %s %s gets no answer", req->method, req->path);
        hang(e, fd);
        return;
    }
    http_response_init(&resp);
    if (mode == EMU_HOSTILE_HTML) {
        set_body(&resp, 502, "text/html; charset=UTF-8", html, sizeof(html) - 1, false);
    } else if (emu_dispatch(e, req, &resp) < 0) {
        http_response_text(&resp, 500, "internal server error");
    }
    if (mode)
        emu_event(e, "hostile %s: %s %s", mode == EMU_HOSTILE_HTML ? "html" :
                  mode == EMU_HOSTILE_TRUNCATED ? "truncated" :
                  mode == EMU_HOSTILE_WRONG_TYPES ? "wrong-types" :
                  mode == EMU_HOSTILE_HUGE ? "huge" : "drip", req->method, req->path);
    if (mode == EMU_HOSTILE_TRUNCATED)
        answer_truncated(&resp, prpc);
    else if (mode == EMU_HOSTILE_WRONG_TYPES)
        answer_wrong_types(&resp, prpc);
    if (mode == EMU_HOSTILE_HUGE)
        send_huge(e, fd, prpc);
    else
        send_whole(e, fd, &resp, mode == EMU_HOSTILE_DRIP);
    http_response_release(&resp);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct emulator *e = c->e;
    struct raw_req *r = calloc(1, sizeof(*r));

    if (r && read_request(e, c->fd, r) == 0)
        answer(e, c->fd, &r->req);
    if (r)
        free(r->body);
    free(r);
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    pthread_mutex_lock(&e->lock);
    e->hostile_conns--;
    pthread_cond_broadcast(&e->conns_cond);
    pthread_mutex_unlock(&e->lock);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct emulator *e = arg;
    while (!stopping(e)) {
        struct pollfd p = {.fd = e->hostile_fd, .events = POLLIN};
        if (poll(&p, 1, HOSTILE_TICK_MS) <= 0)
            continue;
        int fd = accept(e->hostile_fd, NULL, NULL);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct conn *c = malloc(sizeof(*c));
        pthread_t t;
        pthread_mutex_lock(&e->lock);
        bool room = e->hostile_conns < HOSTILE_MAX_CONNS && c;
        if (room)
            e->hostile_conns++;
        pthread_mutex_unlock(&e->lock);
        if (!room) {
            close(fd);
            free(c);
            continue;
        }
        c->e = e;
        c->fd = fd;
        if (pthread_create(&t, NULL, conn_main, c) == 0) {
            pthread_detach(t);
            continue;
        }
        close(fd);
        free(c);
        pthread_mutex_lock(&e->lock);
        e->hostile_conns--;
        pthread_mutex_unlock(&e->lock);
    }
    return NULL;
}

static int listen_on(const char *host, uint16_t port, int *ret_fd, uint16_t *ret_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char ps[8];
    int r = -EADDRNOTAVAIL;

    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    if (getaddrinfo(host ? host : "127.0.0.1", ps, &hints, &res) != 0)
        return -ENOENT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int one = 1, fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
            r = -errno;
            close(fd);
            continue;
        }
        *ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
        *ret_fd = fd;
        r = 0;
        break;
    }
    freeaddrinfo(res);
    return r;
}

int emu_hostile_start(struct emulator *e)
{
    int r = listen_on(e->o.host, e->o.port, &e->hostile_fd, &e->port);
    if (r < 0)
        return r;
    if (pthread_create(&e->accept_thread, NULL, accept_main, e) != 0)
        return -EAGAIN;
    e->accept_running = true;
    return 0;
}

void emu_hostile_stop(struct emulator *e)
{
    if (e->accept_running)
        pthread_join(e->accept_thread, NULL);
    e->accept_running = false;
    if (e->hostile_fd >= 0)
        close(e->hostile_fd);
    e->hostile_fd = -1;
    pthread_mutex_lock(&e->lock);
    while (e->hostile_conns > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&e->conns_cond, &e->lock, &ts);
    }
    pthread_mutex_unlock(&e->lock);
}
