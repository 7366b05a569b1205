/*
 * test-net-http.c - a real server on 127.0.0.1, port 0, driven by libcurl
 * (and by a raw socket for the idle-connection case).
 *
 * Expected statuses come from net/http.h; nothing here asserts on time.
 */
#include "base/compat.h"
#include "net/http.h"
#include "net/prpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

/* Echo: "<method> <path> len=<n> large=<0|1> x=<X-Test> q=<q>\n" + body. */
static int echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *x = http_request_header(req, "x-test");
    const char *q = http_request_query(req, "q");
    int r;

    (void)ctx;
    r = buf_printf(&resp->body, "%s %s len=%zu large=%d x=%s q=%s\n", req->method, req->path,
                   req->body_len, req->body_too_large, x ? x : "-", q ? q : "-");
    if (r == 0)
        r = buf_append(&resp->body, req->body, req->body_len);
    if (r == 0)
        r = http_response_set_header(resp, "X-Echo", "1");
    return r;
}

static int broken(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return -EIO;
}

static int oversize_aware(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    if (req->body_too_large)
        return http_response_text(resp, 413, "handler saw too large");
    return http_response_text(resp, 200, "fine");
}

static int freed_count;

static void count_free(void *ctx)
{
    (void)ctx;
    freed_count++;
}

struct fixture {
    struct http_server *s;
    char base[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct http_server_options o = {.host = "127.0.0.1", .port = 0, .idle_timeout_sec = 1};

    assert_non_null(f);
    assert_int_equal(http_server_new(&o, &f->s), 0);
    assert_int_equal(http_server_route(f->s, NULL, "/echo", echo, NULL, count_free, 0), 0);
    assert_int_equal(http_server_route(f->s, "POST", "/tree/", echo, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(f->s, "POST", "/tree/deeper/", oversize_aware, NULL,
                                       NULL, HTTP_ROUTE_OVERSIZE_TO_HANDLER),
                     0);
    assert_int_equal(http_server_route(f->s, "GET", "/broken", broken, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(f->s, NULL, "/echo", echo, NULL, NULL, 0), -EEXIST);
    assert_int_equal(http_server_route(f->s, NULL, "nope", echo, NULL, NULL, 0), -EINVAL);
    assert_int_equal(http_server_port(f->s), 0);
    assert_int_equal(http_server_start(f->s), 0);
    assert_int_not_equal(http_server_port(f->s), 0);
    assert_int_equal(http_server_route(f->s, NULL, "/late", echo, NULL, NULL, 0), -EBUSY);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->s));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    freed_count = 0;
    f->s = http_server_free(f->s);
    assert_int_equal(freed_count, 1); /* the /echo route's ctx_free ran once */
    free(f);
    return 0;
}

struct reply {
    long status;
    struct buf body;
    struct buf headers;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    return buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    return buf_append(&r->headers, p, size * n) == 0 ? size * n : 0;
}

/* One request; body NULL = no body; chunked sends it without Content-Length. */
static CURLcode do_request(const char *url, const char *method, const char *body, size_t len,
                           bool chunked, const char *header, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    CURLcode rc;

    buf_init(&r->body, 8u << 20);
    buf_init(&r->headers, 1u << 16);
    r->status = 0;
    if (!c)
        return CURLE_FAILED_INIT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (header)
        h = curl_slist_append(h, header);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (chunked)
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
        else
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

static void reply_release(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static void test_routes(void **state)
{
    struct fixture *f = *state;
    static const struct {
        int line;
        const char *method;
        const char *path;
        const char *body;
        int status;
        const char *want; /* exact body */
    } cases[] = {
        {__LINE__, "GET", "/healthz", NULL, 200, "ok\n"},
        {__LINE__, "POST", "/healthz", "", 405, "method not allowed\n"},
        {__LINE__, "GET", "/nope", NULL, 404, "not found\n"},
        {__LINE__, "GET", "/", NULL, 404, "not found\n"},
        {__LINE__, "GET", "/echo", NULL, 200, "GET /echo len=0 large=0 x=- q=-\n"},
        {__LINE__, "PUT", "/echo", "abc", 200, "PUT /echo len=3 large=0 x=- q=-\nabc"},
        {__LINE__, "GET", "/echo?q=a%20b", NULL, 200, "GET /echo len=0 large=0 x=- q=a b\n"},
        {__LINE__, "GET", "/echo/x", NULL, 404, "not found\n"}, /* exact route */
        {__LINE__, "POST", "/tree/a/b", "z", 200, "POST /tree/a/b len=1 large=0 x=- q=-\nz"},
        {__LINE__, "POST", "/tree/", "", 200, "POST /tree/ len=0 large=0 x=- q=-\n"},
        {__LINE__, "GET", "/tree/a", NULL, 405, "method not allowed\n"},
        {__LINE__, "POST", "/tree/deeper/x", "", 200, "fine\n"}, /* longest prefix wins */
        {__LINE__, "POST", "/tree", "", 404, "not found\n"},
        {__LINE__, "GET", "/broken", NULL, 500, "internal server error\n"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char url[256];
        struct reply r;
        snprintf(url, sizeof(url), "%s%s", f->base, cases[i].path);
        CURLcode rc = do_request(url, cases[i].method, cases[i].body,
                                 cases[i].body ? strlen(cases[i].body) : 0, false, NULL, &r);
        if (rc != CURLE_OK || r.status != cases[i].status ||
            strcmp(r.body.data, cases[i].want) != 0)
            fail_msg("line %d: curl %d status %ld body [%s]", cases[i].line, rc, r.status,
                     r.body.data);
        reply_release(&r);
    }
}

static void test_headers(void **state)
{
    struct fixture *f = *state;
    char url[256];
    struct reply r;

    snprintf(url, sizeof(url), "%s/echo", f->base);
    assert_int_equal(do_request(url, "GET", NULL, 0, false, "X-Test: hello", &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "GET /echo len=0 large=0 x=hello q=-\n");
    assert_non_null(strstr(r.headers.data, "X-Echo: 1"));
    reply_release(&r);
}

static void test_too_large(void **state)
{
    struct fixture *f = *state;
    size_t big = 2u << 20;
    char *body = malloc(big + 1);
    static const struct {
        int line;
        const char *path;
        bool chunked;
        int status;
        const char *want;
    } cases[] = {
        {__LINE__, "/echo", false, 413, "request body too large\n"},
        {__LINE__, "/echo", true, 413, "request body too large\n"},
        {__LINE__, "/tree/deeper/x", false, 413, "handler saw too large\n"},
        {__LINE__, "/tree/deeper/x", true, 413, "handler saw too large\n"},
    };

    assert_non_null(body);
    memset(body, 'x', big);
    body[big] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char url[256];
        struct reply r;
        snprintf(url, sizeof(url), "%s%s", f->base, cases[i].path);
        CURLcode rc = do_request(url, "POST", body, big, cases[i].chunked, NULL, &r);
        /* The server may close before curl has sent everything: a send error is fine. */
        if ((rc != CURLE_OK && rc != CURLE_SEND_ERROR) || r.status != cases[i].status ||
            strcmp(r.body.data, cases[i].want) != 0)
            fail_msg("line %d: curl %d status %ld body [%.100s]", cases[i].line, rc, r.status,
                     r.body.data);
        reply_release(&r);
    }
    /* Exactly at the limit is fine. */
    {
        char url[256];
        struct reply r;
        snprintf(url, sizeof(url), "%s/tree/deeper/x", f->base);
        assert_int_equal(do_request(url, "POST", body, LIMIT_HTTP_BODY_BYTES, false, NULL, &r),
                         CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body.data, "fine\n");
        reply_release(&r);
    }
    free(body);
}

struct worker {
    const char *base;
    int id;
    int ok;
};

#define N_THREADS 8
#define N_REQUESTS 25

static void *hammer(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < N_REQUESTS; i++) {
        char url[256], body[64], want[128];
        struct reply r;
        snprintf(url, sizeof(url), "%s/echo", w->base);
        snprintf(body, sizeof(body), "t%d-r%d", w->id, i);
        snprintf(want, sizeof(want), "POST /echo len=%zu large=0 x=- q=-\n%s", strlen(body),
                 body);
        if (do_request(url, "POST", body, strlen(body), false, NULL, &r) == CURLE_OK &&
            r.status == 200 && strcmp(r.body.data, want) == 0)
            w->ok++;
        reply_release(&r);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    struct fixture *f = *state;
    pthread_t t[N_THREADS];
    struct worker w[N_THREADS];

    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){.base = f->base, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, N_REQUESTS);
    }
}

/* A client that sends half a request line is disconnected once idle. */
static void test_idle_connection_closed(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port(f->s))};
    struct timeval tv = {.tv_sec = 60};
    char c;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* Safety net only: the server's idle timeout is 1 s. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(write(fd, "GET /heal", 9), 9);
    /* The server closes without answering: read sees end of file (or a reset). */
    ssize_t n = read(fd, &c, 1);
    assert_true(n <= 0);
    if (n < 0)
        assert_true(errno == ECONNRESET);
    close(fd);
}

/* A pRPC server mounted on a real HTTP server answers over the wire. */
static int h_hello(void *ctx, struct prpc_call *call)
{
    (void)ctx;
    call->response = json_pack("{s:s}", "greeting", "hi");
    return GRPC_OK;
}

static void test_prpc_mounted(void **state)
{
    struct http_server *s = NULL;
    struct http_server_options o = {.port = 0};
    struct prpc_server *p = prpc_server_new(NULL);
    char url[256];
    struct reply r;
    size_t big = 2u << 20;
    char *body = malloc(big + 1);

    (void)state;
    assert_non_null(body);
    memset(body, ' ', big);
    body[big] = '\0';
    assert_int_equal(http_server_new(&o, &s), 0);
    assert_int_equal(prpc_server_register(p, "t.S", "Hello", h_hello, NULL), 0);
    assert_int_equal(prpc_server_mount(p, s), 0);
    assert_int_equal(http_server_start(s), 0);

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/prpc/t.S/Hello", http_server_port(s));
    assert_int_equal(do_request(url, "POST", "{}", 2, false, "Content-Type: application/json",
                                &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, ")]}'\n{\"greeting\":\"hi\"}\n");
    assert_non_null(strstr(r.headers.data, "X-Prpc-Grpc-Code: 0\r\n"));
    assert_non_null(strstr(r.headers.data, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(r.headers.data, "X-Content-Type-Options: nosniff\r\n"));
    reply_release(&r);

    CURLcode rc = do_request(url, "POST", body, big, false, "Content-Type: application/json", &r);
    assert_true(rc == CURLE_OK || rc == CURLE_SEND_ERROR);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.headers.data, "X-Prpc-Grpc-Code: 8\r\n"));
    reply_release(&r);

    http_server_stop(s);
    /* Stopped: nothing listens any more. */
    assert_int_not_equal(do_request(url, "POST", "{}", 2, false, NULL, &r), CURLE_OK);
    reply_release(&r);
    http_server_free(s);
    free(body);
}

static void test_port_in_use(void **state)
{
    struct fixture *f = *state;
    struct http_server *s = NULL;
    struct http_server_options o = {.host = "127.0.0.1", .port = http_server_port(f->s)};

    assert_int_equal(http_server_new(&o, &s), 0);
    assert_int_equal(http_server_start(s), -EADDRINUSE);
    http_server_free(s);

    o = (struct http_server_options){.host = "no-such-host.invalid"};
    assert_int_equal(http_server_new(&o, &s), 0);
    assert_true(http_server_start(s) < 0);
    http_server_free(s);
}

static void test_response_helpers(void **state)
{
    struct http_response resp;

    (void)state;
    http_response_init(&resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(http_response_set_header(&resp, "A", "1"), 0);
    assert_int_equal(http_response_set_header(&resp, "a", "2"), 0); /* replaces */
    assert_int_equal(resp.n_headers, 1);
    assert_string_equal(http_response_header(&resp, "A"), "2");
    assert_int_equal(http_response_set_header(&resp, "B", "x\r\nEvil: 1"), -EINVAL);
    assert_int_equal(http_response_set_header(&resp, "B:", "x"), -EINVAL);
    for (int i = 1; i < LIMIT_HTTP_RESPONSE_HEADERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "H%d", i);
        assert_int_equal(http_response_set_header(&resp, name, "v"), 0);
    }
    assert_int_equal(http_response_set_header(&resp, "One-Too-Many", "v"), -E2BIG);
    http_response_release(&resp);
    http_response_init(&resp);
    assert_int_equal(http_response_text(&resp, 404, "gone"), 0);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body.data, "gone\n");
    http_response_release(&resp);
    assert_string_equal(http_status_text(413), "Content Too Large");
    assert_string_equal(http_status_text(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connection_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
        cmocka_unit_test(test_prpc_mounted),
        cmocka_unit_test(test_response_helpers),
    };
    int r;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return r;
}
