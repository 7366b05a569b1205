/*
 * Unit tests for the url_fetch task manager (spec 4.3) against a real
 * HTTP server on 127.0.0.1 (libmicrohttpd, a free port) run by the test.
 *
 * The fake engine's clock moves 1.5 s per reading, so every fetch
 * "finishes in 1.5s".  Expected dumps are written by hand from the spec:
 * status line, headers sorted by canonical key with CRLF, a blank line,
 * then the body part.  libmicrohttpd adds Content-Length to each answer,
 * and "Connection: close" (one thread per connection, no keep-alive), and
 * no Date (the daemon runs with MHD_USE_SUPPRESS_DATE_NO_CLOCK).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/buf.h"
#include "tasks/registry.h"

#include "test-tasks-fakectl.h"

/* ---- the test server ----------------------------------------------------- */

static struct MHD_Daemon *daemon_;
static uint16_t port_;
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static bool slow_released;
static char big_body[10 * 1024];

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body,
                              size_t len, const char *const *headers)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    for (size_t i = 0; headers && headers[i]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    static const char *const text[] = {"Content-Type", "text/plain; charset=utf-8", NULL};
    static const char *const octets[] = {"Content-Type", "application/octet-stream", NULL};
    static const char *const json[] = {"Content-Type", "application/json", NULL};
    static const char *const many[] = {"x-b-thing", "2", "X-A", "1", "content-type",
                                       "text/html", "X-A", "0", NULL};
    static const char *const redirect[] = {"Location", "/text", NULL};
    static const char *const loop[] = {"Location", "/loop", NULL};

    (void)cls, (void)method, (void)version, (void)upload_data, (void)upload_data_size;
    (void)con_cls;
    if (strcmp(url, "/text") == 0)
        return answer(conn, 200, "hello\n", 6, text);
    if (strcmp(url, "/notfound") == 0)
        return answer(conn, 404, "no such page", 12, text);
    if (strcmp(url, "/error") == 0)
        return answer(conn, 500, "", 0, text);
    if (strcmp(url, "/binary") == 0)
        return answer(conn, 200, "\x00\x01\x02", 3, octets);
    if (strcmp(url, "/json") == 0)
        return answer(conn, 200, "{\"a\": 1}", 8, json);
    if (strcmp(url, "/big") == 0)
        return answer(conn, 200, big_body, sizeof(big_body), text);
    if (strcmp(url, "/exact") == 0)
        return answer(conn, 200, big_body, 4096, text);
    if (strcmp(url, "/empty") == 0)
        return answer(conn, 204, "", 0, NULL);
    if (strcmp(url, "/headers") == 0)
        return answer(conn, 200, "<p>", 3, many);
    if (strcmp(url, "/percent") == 0)
        return answer(conn, 200, "100% %s %d", 10, text);
    if (strcmp(url, "/latin1") == 0)
        return answer(conn, 200, "a\xff" "b", 3, text);
    if (strcmp(url, "/redirect") == 0)
        return answer(conn, 302, "", 0, redirect);
    if (strcmp(url, "/loop") == 0)
        return answer(conn, 302, "", 0, loop);
    if (strcmp(url, "/slow") == 0) {
        /* Holds the answer until the test has seen the client give up. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 20;
        pthread_mutex_lock(&slow_lock);
        while (!slow_released)
            if (pthread_cond_timedwait(&slow_cond, &slow_lock, &until) != 0)
                break;
        pthread_mutex_unlock(&slow_lock);
        return answer(conn, 200, "late", 4, text);
    }
    return answer(conn, 404, "?", 1, NULL);
}

static int server_start(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    (void)state;
    for (size_t i = 0; i < sizeof(big_body); i++)
        big_body[i] = (char)('a' + i % 26);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_THREAD_PER_CONNECTION |
                                   MHD_USE_SUPPRESS_DATE_NO_CLOCK,
                               0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                               MHD_OPTION_END);
    if (!daemon_)
        return -1;
    info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        return -1;
    port_ = info->port;
    return 0;
}

static int server_stop(void **state)
{
    (void)state;
    pthread_mutex_lock(&slow_lock);
    slow_released = true;
    pthread_cond_broadcast(&slow_cond);
    pthread_mutex_unlock(&slow_lock);
    MHD_stop_daemon(daemon_);
    return 0;
}

/* A port on 127.0.0.1 nobody listens on: bound once, then closed. */
static uint16_t closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- the cases ------------------------------------------------------------ */

/* "%P" in a URL or an expected line stands for the server's port. */
static void expand(const char *in, uint16_t port, struct buf *out)
{
    buf_reset(out);
    for (const char *p = in; *p; p++) {
        if (p[0] == '%' && p[1] == 'P') {
            assert_int_equal(buf_printf(out, "%u", port), 0);
            p++;
        } else {
            assert_int_equal(buf_putc(out, *p), 0);
        }
    }
}

/* The headers libmicrohttpd sends with a text/plain answer of n bytes. */
#define TEXT_HEADERS(n) \
    "Connection: close\r\nContent-Length: " n "\r\nContent-Type: text/plain; charset=utf-8\r\n"

static const struct fetch_case {
    int line;
    const char *path; /* appended to http://127.0.0.1:%P */
    const char *extra; /* more fields of the urlFetch object, JSON, or "" */
    enum inv_status want_status;
    const char *want_dump; /* the third log line, or NULL to check want_error */
    const char *want_error; /* prefix of the third line */
} fetch_cases[] = {
    {__LINE__, "/text", "", INV_SUCCEEDED,
     "200 OK\n" TEXT_HEADERS("6") "\nhello\n",
     NULL},
    {__LINE__, "/notfound", "", INV_FAILED,
     "404 Not Found\n" TEXT_HEADERS("12") "\n"
     "no such page",
     NULL},
    {__LINE__, "/error", "", INV_FAILED,
     "500 Internal Server Error\n" TEXT_HEADERS("0") "\n<empty body>",
     NULL},
    {__LINE__, "/binary", "", INV_SUCCEEDED,
     "200 OK\nConnection: close\r\nContent-Length: 3\r\n"
     "Content-Type: application/octet-stream\r\n\n"
     "<binary response>",
     NULL},
    {__LINE__, "/json", ", \"method\": \"GET\"", INV_SUCCEEDED,
     "200 OK\nConnection: close\r\nContent-Length: 8\r\nContent-Type: application/json\r\n\n"
     "{\"a\": 1}",
     NULL},
    {__LINE__, "/empty", "", INV_SUCCEEDED, "204 No Content\nConnection: close\r\n\n<empty body>",
     NULL},
    {__LINE__, "/headers", "", INV_SUCCEEDED,
     "200 OK\nConnection: close\r\nContent-Length: 3\r\nContent-Type: text/html\r\n"
     "X-A: 1\r\nX-A: 0\r\n"
     "X-B-Thing: 2\r\n\n<p>",
     NULL},
    {__LINE__, "/percent", "", INV_SUCCEEDED,
     "200 OK\n" TEXT_HEADERS("10") "\n"
     "100% %s %d",
     NULL},
    {__LINE__, "/latin1", "", INV_SUCCEEDED,
     "200 OK\n" TEXT_HEADERS("3") "\n"
     "a\xEF\xBF\xBD" "b",
     NULL},
    {__LINE__, "/redirect", "", INV_SUCCEEDED,
     "200 OK\n" TEXT_HEADERS("6") "\nhello\n",
     NULL},
    {__LINE__, "/loop", "", INV_FAILED, NULL,
     "URL fetch error: Get \"http://127.0.0.1:%P/loop\": "},
    {__LINE__, "/slow", ", \"timeoutSec\": 1", INV_FAILED, NULL,
     "URL fetch error: Get \"http://127.0.0.1:%P/slow\": "},
    {__LINE__, "/text", ", \"method\": \"POST\"", INV_FAILED, NULL,
     "URL fetch error: unsupported HTTP method: \"POST\""},
};

static void run_fetch(const char *url, const char *extra, struct fake_ctl *f, json_t **def)
{
    struct buf js;

    buf_init(&js, 4096);
    assert_int_equal(buf_printf(&js, "{\"urlFetch\": {\"url\": \"%s\"%s}}", url, extra), 0);
    *def = json_loads(js.data, 0, NULL);
    assert_non_null(*def);
    buf_release(&js);
    fake_ctl_init(f, 42, *def);
    f->now_ns = 1000;
    f->now_step_ns = 1500000000;
    assert_int_equal(task_url_fetch_manager.launch(&task_url_fetch_manager, &f->ctl), 0);
}

static void test_fetch(void **state)
{
    struct buf url, want;

    (void)state;
    buf_init(&url, 4096);
    buf_init(&want, 65536);
    for (size_t i = 0; i < ARRAY_SIZE(fetch_cases); i++) {
        const struct fetch_case *tc = &fetch_cases[i];
        struct fake_ctl f;
        json_t *def;

        print_message("line %d\n", tc->line);
        expand("http://127.0.0.1:%P", port_, &url);
        assert_int_equal(buf_puts(&url, tc->path), 0);
        run_fetch(url.data, tc->extra, &f, &def);

        assert_int_equal(f.ctl.status, tc->want_status);
        assert_int_equal(f.n_log, 3);
        expand(strstr(tc->extra, "POST") ? "POST " : "GET ", 0, &want);
        assert_int_equal(buf_puts(&want, url.data), 0);
        assert_string_equal(f.log[0], want.data);
        assert_string_equal(f.log[1], tc->want_status == INV_SUCCEEDED
                                          ? "Finished with overall status SUCCEEDED in 1.5s"
                                          : "Finished with overall status FAILED in 1.5s");
        if (tc->want_dump) {
            assert_string_equal(f.log[2], tc->want_dump);
        } else {
            expand(tc->want_error, port_, &want);
            if (strncmp(f.log[2], want.data, want.len) != 0)
                fail_msg("got '%s', want a line starting '%s'", f.log[2], want.data);
        }
        assert_int_equal(f.saves, 1); /* the "GET" line is saved before the fetch */
        assert_int_equal(f.n_timers, 0);
        assert_int_equal(json_array_size(f.triggers), 0);
        fake_ctl_release(&f);
        json_decref(def);
    }
    buf_release(&url);
    buf_release(&want);
}

/* A 10 KB text body shows its first 4096 bytes, then <truncated>. */
static void test_truncated(void **state)
{
    struct buf url, want;
    struct fake_ctl f;
    json_t *def;

    (void)state;
    buf_init(&url, 4096);
    buf_init(&want, 65536);
    expand("http://127.0.0.1:%P/big", port_, &url);
    run_fetch(url.data, "", &f, &def);
    assert_int_equal(f.ctl.status, INV_SUCCEEDED);
    assert_int_equal(f.n_log, 3);
    assert_int_equal(buf_puts(&want, "200 OK\n" TEXT_HEADERS("10240") "\n"),
                     0);
    assert_int_equal(buf_append(&want, big_body, 4096), 0);
    assert_int_equal(buf_puts(&want, "<truncated>"), 0);
    assert_string_equal(f.log[2], want.data);
    fake_ctl_release(&f);
    json_decref(def);

    /* Exactly 4096 bytes: all shown, nothing cut. */
    expand("http://127.0.0.1:%P/exact", port_, &url);
    run_fetch(url.data, "", &f, &def);
    buf_reset(&want);
    assert_int_equal(buf_puts(&want, "200 OK\n" TEXT_HEADERS("4096") "\n"),
                     0);
    assert_int_equal(buf_append(&want, big_body, 4096), 0);
    assert_string_equal(f.log[2], want.data);
    fake_ctl_release(&f);
    json_decref(def);
    buf_release(&url);
    buf_release(&want);
}

/* Nothing listens: a fetch error, FAILED, and launch still returns 0. */
static void test_closed_port(void **state)
{
    char url[64];
    char want[128];
    struct fake_ctl f;
    json_t *def;

    (void)state;
    uint16_t p = closed_port();
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", p);
    run_fetch(url, "", &f, &def);
    assert_int_equal(f.ctl.status, INV_FAILED);
    assert_int_equal(f.n_log, 3);
    assert_string_equal(f.log[1], "Finished with overall status FAILED in 1.5s");
    snprintf(want, sizeof(want), "URL fetch error: Get \"%s\": ", url);
    if (strncmp(f.log[2], want, strlen(want)) != 0)
        fail_msg("got '%s'", f.log[2]);
    fake_ctl_release(&f);
    json_decref(def);
}

/* Schemes other than http/https are refused by the client. */
static void test_bad_scheme(void **state)
{
    struct fake_ctl f;
    json_t *def;

    (void)state;
    run_fetch("file:///etc/passwd", "", &f, &def);
    assert_int_equal(f.ctl.status, INV_FAILED);
    assert_int_equal(f.n_log, 3);
    assert_true(strncmp(f.log[2], "URL fetch error: Get \"file:///etc/passwd\": ", 43) == 0);
    fake_ctl_release(&f);
    json_decref(def);

    /* A definition of the wrong kind is a fatal launch error. */
    def = json_pack("{s:{}}", "noop");
    fake_ctl_init(&f, 1, def);
    assert_int_equal(task_url_fetch_manager.launch(&task_url_fetch_manager, &f.ctl),
                     TASK_ERR_FATAL);
    assert_int_equal(f.n_log, 0);
    assert_int_equal(f.ctl.status, INV_STARTING);
    fake_ctl_release(&f);
    json_decref(def);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_closed_port),
        cmocka_unit_test(test_bad_scheme),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
