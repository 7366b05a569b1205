/*
 * test-net-prpc.c - the pRPC codec driven with hand-built requests.
 *
 * Expected codes, statuses and bodies come from wire-formats.md section 1
 * (the code table in 1.5, the success framing in 1.4, the timeout grammar
 * in 1.6) and from the decisions written in net/prpc.h.
 */
#include "base/compat.h"
#include "net/prpc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

/* ---------------------------------------------------------------------------
 * The code table
 */

static void test_code_table(void **state)
{
    static const struct {
        int line;
        int code;
        const char *name;
        int http;
    } cases[] = {
        {__LINE__, 0, "OK", 200},
        {__LINE__, 1, "CANCELLED", 499},
        {__LINE__, 2, "UNKNOWN", 500},
        {__LINE__, 3, "INVALID_ARGUMENT", 400},
        {__LINE__, 4, "DEADLINE_EXCEEDED", 504},
        {__LINE__, 5, "NOT_FOUND", 404},
        {__LINE__, 6, "ALREADY_EXISTS", 409},
        {__LINE__, 7, "PERMISSION_DENIED", 403},
        {__LINE__, 8, "RESOURCE_EXHAUSTED", 429},
        {__LINE__, 9, "FAILED_PRECONDITION", 400},
        {__LINE__, 10, "ABORTED", 409},
        {__LINE__, 11, "OUT_OF_RANGE", 400},
        {__LINE__, 12, "UNIMPLEMENTED", 501},
        {__LINE__, 13, "INTERNAL", 500},
        {__LINE__, 14, "UNAVAILABLE", 503},
        {__LINE__, 15, "DATA_LOSS", 500},
        {__LINE__, 16, "UNAUTHENTICATED", 401},
        {__LINE__, 17, NULL, 500},
        {__LINE__, -1, NULL, 500},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *name = grpc_code_name(cases[i].code);
        if ((name == NULL) != (cases[i].name == NULL) ||
            (name && strcmp(name, cases[i].name) != 0) ||
            grpc_code_http_status(cases[i].code) != cases[i].http)
            fail_msg("line %d: code %d -> %s %d", cases[i].line, cases[i].code,
                     name ? name : "NULL", grpc_code_http_status(cases[i].code));
        if (cases[i].name && grpc_code_from_name(cases[i].name) != cases[i].code)
            fail_msg("line %d: from_name", cases[i].line);
    }
    assert_int_equal(grpc_code_from_name("NOPE"), -EINVAL);
    assert_string_equal(grpc_code_public_message(GRPC_INTERNAL), "Internal server error");
    assert_string_equal(grpc_code_public_message(GRPC_UNIMPLEMENTED),
                        "API method not implemented by the server");
    assert_null(grpc_code_public_message(GRPC_NOT_FOUND));
    assert_int_equal(prpc_http_status(GRPC_RESOURCE_EXHAUSTED, true), 413);
    assert_int_equal(prpc_http_status(GRPC_RESOURCE_EXHAUSTED, false), 429);
}

static void test_timeout_parse(void **state)
{
    static const struct {
        int line;
        const char *in;
        int ret;
        int64_t ns;
    } cases[] = {
        {__LINE__, "1H", 0, INT64_C(3600000000000)},
        {__LINE__, "2M", 0, INT64_C(120000000000)},
        {__LINE__, "10S", 0, INT64_C(10000000000)},
        {__LINE__, "600000m", 0, INT64_C(600000000000)},
        {__LINE__, "60000000u", 0, INT64_C(60000000000)},
        {__LINE__, "5n", 0, 5},
        {__LINE__, "0S", 0, 0},
        {__LINE__, "99999999H", 0, INT64_MAX}, /* 3.6e20 ns saturates */
        {__LINE__, "123456789m", -EINVAL, 0},  /* 9 digits */
        {__LINE__, "S", -EINVAL, 0},
        {__LINE__, "", -EINVAL, 0},
        {__LINE__, "1s", -EINVAL, 0},
        {__LINE__, "1SS", -EINVAL, 0},
        {__LINE__, "-1S", -EINVAL, 0},
        {__LINE__, "1 S", -EINVAL, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t ns = -7;
        int r = prpc_timeout_parse(cases[i].in, &ns);
        if (r != cases[i].ret || (r == 0 && ns != cases[i].ns) || (r < 0 && ns != -7))
            fail_msg("line %d: %s -> %d %" PRId64, cases[i].line, cases[i].in, r, ns);
    }
}

static void test_depth_check(void **state)
{
    static const struct {
        int line;
        const char *in;
        unsigned max;
        int ret;
    } cases[] = {
        {__LINE__, "{}", 1, 0},
        {__LINE__, "{\"a\":{}}", 1, -E2BIG},
        {__LINE__, "{\"a\":{}}", 2, 0},
        {__LINE__, "[[[]]]", 3, 0},
        {__LINE__, "[[[]]]", 2, -E2BIG},
        {__LINE__, "{\"a\":\"[[[[[[\"}", 1, 0},    /* brackets in strings don't count */
        {__LINE__, "{\"a\\\"[[[\":1}", 1, 0},      /* escaped quote stays in the string */
        {__LINE__, "[][][][][]", 1, 0},            /* siblings don't add up */
        {__LINE__, "]]]][", 1, 0},                 /* stray closers don't go negative */
        {__LINE__, "]]]][[", 1, -E2BIG},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int r = prpc_json_depth_check(cases[i].in, strlen(cases[i].in), cases[i].max);
        if (r != cases[i].ret)
            fail_msg("line %d: %s -> %d", cases[i].line, cases[i].in, r);
    }
}

/* ---------------------------------------------------------------------------
 * The server codec
 */

static char last_error[LIMIT_PRPC_ERROR_BYTES + 32];

static void on_error(void *ctx, const struct prpc_call *call)
{
    (void)ctx;
    snprintf(last_error, sizeof(last_error), "%d %s", call->code, call->message);
}

/* Echoes the request. */
static int h_echo(void *ctx, struct prpc_call *call)
{
    (void)ctx;
    call->response = json_deep_copy(call->request);
    return GRPC_OK;
}

/* Fails with {"code": N, "message": "..."}. */
static int h_fail(void *ctx, struct prpc_call *call)
{
    int32_t code = 0;
    const char *msg = "";

    (void)ctx;
    if (prpc_get_int32(call, call->request, "code", NULL, &code) < 0 ||
        prpc_get_string(call, call->request, "message", NULL, &msg) < 0)
        return call->code;
    return prpc_fail(call, code, "%s", msg);
}

/* Decodes typed fields and answers them in protojson output form. */
static int h_fields(void *ctx, struct prpc_call *call)
{
    static const char *const names[] = {"n", "m", "flag", "bC", "b_c", "sub", "list", NULL};
    int64_t n = -1;
    int32_t m = -1;
    bool flag = false;
    const char *s = "unset";
    const json_t *sub = NULL, *list = NULL;

    (void)ctx;
    if (prpc_check_fields(call, call->request, names) < 0 ||
        prpc_get_int64(call, call->request, "n", NULL, &n) < 0 ||
        prpc_get_int32(call, call->request, "m", NULL, &m) < 0 ||
        prpc_get_bool(call, call->request, "flag", NULL, &flag) < 0 ||
        prpc_get_string(call, call->request, "bC", "b_c", &s) < 0 ||
        prpc_get_object(call, call->request, "sub", NULL, &sub) < 0 ||
        prpc_get_array(call, call->request, "list", NULL, &list) < 0)
        return call->code;
    call->response = json_pack("{s:o, s:i, s:b, s:s, s:b, s:b}", "n", prpc_json_int64(n), "m",
                               (int)m, "flag", flag, "bC", s, "sub", sub != NULL, "list",
                               list != NULL);
    return GRPC_OK;
}

struct codec_case {
    int line;
    const char *method;      /* NULL = POST */
    const char *path;
    const char *ctype;       /* NULL = absent */
    const char *accept;      /* NULL = absent */
    const char *xname, *xvalue; /* one more header, or NULL */
    const char *body;
    bool too_large;
    int status;
    int code;                /* -1: no X-Prpc-Grpc-Code header */
    const char *want;        /* exact body, or "~text" = body contains text */
};

#define JSON "application/json"
#define ECHO "/prpc/test.Echo/Echo"
#define FIELDS "/prpc/test.Echo/Fields"
#define FAIL "/prpc/test.Echo/Fail"

static const struct codec_case codec_cases[] = {
    /* Success framing (1.4). */
    {__LINE__, NULL, ECHO, JSON, JSON, NULL, NULL, "{\"a\": 1}", false, 200, 0,
     ")]}'\n{\"a\":1}\n"},
    {__LINE__, NULL, ECHO, "application/prpc; encoding=json", NULL, NULL, NULL, "{}", false, 200,
     0, ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, "Application/JSON; charset=utf-8", NULL, NULL, NULL, "{}", false, 200,
     0, ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "", false, 200, 0, ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, " \n", false, 200, 0, ")]}'\n{}\n"},
    /* Routing (1.1). */
    {__LINE__, NULL, "/prpc/test.Echo/Nope", JSON, NULL, NULL, NULL, "{}", false, 501, 12,
     "API method not implemented by the server\n"},
    {__LINE__, NULL, "/prpc/nope.Svc/Echo", JSON, NULL, NULL, NULL, "{}", false, 501, 12,
     "API method not implemented by the server\n"},
    {__LINE__, NULL, "/prpc/test.Echo/Echo/x", JSON, NULL, NULL, NULL, "{}", false, 501, 12,
     "~not implemented"},
    {__LINE__, NULL, "/prpc/test.Echo", JSON, NULL, NULL, NULL, "{}", false, 501, 12,
     "~not implemented"},
    {__LINE__, "GET", ECHO, JSON, NULL, NULL, NULL, "", false, 405, -1, "~POST"},
    /* Content-Type (1.2). */
    {__LINE__, NULL, ECHO, NULL, NULL, NULL, NULL, "{}", false, 501, 12, "~binary"},
    {__LINE__, NULL, ECHO, "application/prpc; encoding=binary", NULL, NULL, NULL, "", false, 501,
     12, "~JSON only"},
    {__LINE__, NULL, ECHO, "application/prpc", NULL, NULL, NULL, "", false, 501, 12,
     "~JSON only"},
    {__LINE__, NULL, ECHO, "application/prpc; encoding=text", NULL, NULL, NULL, "", false, 501,
     12, "~JSON only"},
    {__LINE__, NULL, ECHO, "text/plain", NULL, NULL, NULL, "{}", false, 415, 3,
     "~bad Content-Type"},
    {__LINE__, NULL, ECHO, "application/prpc; encoding=yaml", NULL, NULL, NULL, "{}", false, 415,
     3, "~bad Content-Type"},
    /* Accept. */
    {__LINE__, NULL, ECHO, JSON, "*/*", NULL, NULL, "{}", false, 200, 0, ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, JSON, "text/html, application/json;q=0.5", NULL, NULL, "{}", false,
     200, 0, ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, JSON, "text/html", NULL, NULL, "{}", false, 406, 3,
     "~bad Accept"},
    {__LINE__, NULL, ECHO, JSON, "application/json;q=0, text/html", NULL, NULL, "{}", false,
     406, 3, "~bad Accept"},
    {__LINE__, NULL, ECHO, JSON, "application/prpc; encoding=binary", NULL, NULL, "{}", false,
     501, 12, "~only JSON"},
    /* Other headers. */
    {__LINE__, NULL, ECHO, JSON, NULL, "X-Prpc-Grpc-Timeout", "10S", "{}", false, 200, 0,
     ")]}'\n{}\n"},
    {__LINE__, NULL, ECHO, JSON, NULL, "X-Prpc-Grpc-Timeout", "10x", "{}", false, 400, 3,
     "~bad request headers"},
    {__LINE__, NULL, ECHO, JSON, NULL, "X-Prpc-Grpc-Timeout", "123456789S", "{}", false, 400, 3,
     "~bad request headers"},
    {__LINE__, NULL, ECHO, JSON, NULL, "Content-Encoding", "gzip", "{}", false, 501, 12,
     "~Content-Encoding gzip"},
    {__LINE__, NULL, ECHO, JSON, NULL, "X-Prpc-Max-Response-Size", "8", "{\"a\":1}", false, 503,
     14, "Service unavailable\n"},
    {__LINE__, NULL, ECHO, JSON, NULL, "X-Prpc-Max-Response-Size", "100", "{\"a\":1}", false,
     200, 0, ")]}'\n{\"a\":1}\n"},
    /* Bodies. */
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "", true, 413, 8, "~too large"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{", false, 400, 3, "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{\"a\":1,}", false, 400, 3,
     "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "[]", false, 400, 3, "~JSON object"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "\"x\"", false, 400, 3,
     "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{\"a\":1,\"a\":2}", false, 400, 3,
     "~duplicate"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{\"a\":99999999999999999999}", false, 400, 3,
     "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{\"a\":\"\\u0000\"}", false, 400, 3,
     "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{\"a\":\"\xff\"}", false, 400, 3,
     "~could not decode body"},
    {__LINE__, NULL, ECHO, JSON, NULL, NULL, NULL, "{} {}", false, 400, 3,
     "~could not decode body"},
    /* Handler errors: the code table, and >= 500 messages replaced (1.5). */
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":5,\"message\":\"no such job\"}",
     false, 404, 5, "no such job\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":7,\"message\":\"denied\"}", false,
     403, 7, "denied\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":13,\"message\":\"db on fire\"}",
     false, 500, 13, "Internal server error\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":14,\"message\":\"x\"}", false, 503,
     14, "Service unavailable\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":4,\"message\":\"x\"}", false, 504,
     4, "Request deadline exceeded\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":16,\"message\":\"who?\"}", false,
     401, 16, "who?\n"},
    {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL, "{\"code\":1,\"message\":\"gone\"}", false,
     499, 1, "gone\n"},
    /* Field decoding (1.3). */
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{}", false, 200, 0,
     ")]}'\n{\"n\":\"-1\",\"m\":-1,\"flag\":false,\"bC\":\"unset\",\"sub\":false,"
     "\"list\":false}\n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL,
     "{\"n\":\"123\",\"m\":\"7\",\"flag\":true,\"b_c\":\"x\",\"sub\":{},\"list\":[]}", false, 200,
     0,
     ")]}'\n{\"n\":\"123\",\"m\":7,\"flag\":true,\"bC\":\"x\",\"sub\":true,\"list\":true}\n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":123,\"m\":null,\"bC\":\"y\"}", false,
     200, 0,
     ")]}'\n{\"n\":\"123\",\"m\":-1,\"flag\":false,\"bC\":\"y\",\"sub\":false,"
     "\"list\":false}\n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":\"9223372036854775807\"}", false,
     200, 0, "~\"n\":\"9223372036854775807\""},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":\"-9223372036854775808\"}", false,
     200, 0, "~\"n\":\"-9223372036854775808\""},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":1e3}", false, 200, 0,
     "~\"n\":\"1000\""},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":\"9223372036854775808\"}", false,
     400, 3, "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":1.5}", false, 400, 3,
     "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":1e30}", false, 400, 3,
     "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":\"12abc\"}", false, 400, 3,
     "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":\" 12\"}", false, 400, 3,
     "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"n\":true}", false, 400, 3,
     "~invalid value for int64 field n"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"m\":2147483648}", false, 400, 3,
     "~invalid value for int32 field m"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"m\":-2147483648}", false, 200, 0,
     "~\"m\":-2147483648"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"flag\":\"true\"}", false, 400, 3,
     "~invalid value for bool field flag"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"bC\":5}", false, 400, 3,
     "~invalid value for string field bC: 5"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"sub\":[]}", false, 400, 3,
     "~invalid value for message field sub"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"list\":{}}", false, 400, 3,
     "~invalid value for repeated field list"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"bC\":\"x\",\"b_c\":\"y\"}", false, 400,
     3, "~set twice"},
    {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL, "{\"zz\":1}", false, 400, 3,
     "unknown field \"zz\"\n"},
};

static struct prpc_server *make_server(bool discard_unknown)
{
    struct prpc_server_options o = {
        .discard_unknown = discard_unknown,
        .on_error = on_error,
    };
    struct prpc_server *p = prpc_server_new(&o);

    assert_non_null(p);
    assert_int_equal(prpc_server_register(p, "test.Echo", "Echo", h_echo, NULL), 0);
    assert_int_equal(prpc_server_register(p, "test.Echo", "Fail", h_fail, NULL), 0);
    assert_int_equal(prpc_server_register(p, "test.Echo", "Fields", h_fields, NULL), 0);
    assert_int_equal(prpc_server_register(p, "test.Echo", "Echo", h_echo, NULL), -EEXIST);
    return p;
}

/* Runs one request through the codec; resp must be released by the caller. */
static void run_case(struct prpc_server *p, const struct codec_case *c,
                     struct http_response *resp)
{
    struct http_header h[3];
    size_t n = 0;
    struct http_request req;

    if (c->ctype)
        h[n++] = (struct http_header){"Content-Type", c->ctype};
    if (c->accept)
        h[n++] = (struct http_header){"Accept", c->accept};
    if (c->xname)
        h[n++] = (struct http_header){c->xname, c->xvalue};
    req = (struct http_request){
        .method = c->method ? c->method : "POST",
        .path = c->path,
        .body = c->body,
        .body_len = strlen(c->body),
        .body_too_large = c->too_large,
        .headers = h,
        .n_headers = n,
        .remote_addr = "",
    };
    http_response_init(resp);
    assert_int_equal(prpc_server_handle(p, &req, resp), 0);
}

static void check_case(const struct codec_case *c, const struct http_response *resp)
{
    const char *code = http_response_header(resp, "X-Prpc-Grpc-Code");
    const char *body = resp->body.data;
    char want_code[16];
    bool body_ok;

    snprintf(want_code, sizeof(want_code), "%d", c->code);
    if (c->want[0] == '~')
        body_ok = strstr(body, c->want + 1) != NULL;
    else
        body_ok = strcmp(body, c->want) == 0;
    if (resp->status != c->status || (c->code < 0) != (code == NULL) ||
        (code && strcmp(code, want_code) != 0) || !body_ok)
        fail_msg("line %d: status %d code %s body [%s]", c->line, resp->status,
                 code ? code : "(none)", body);
    if (c->code == 0) {
        const char *ct = http_response_header(resp, "Content-Type");
        const char *ns = http_response_header(resp, "X-Content-Type-Options");
        if (!ct || strcmp(ct, "application/json") != 0 || !ns || strcmp(ns, "nosniff") != 0)
            fail_msg("line %d: success headers", c->line);
    } else if (c->code > 0) {
        const char *ct = http_response_header(resp, "Content-Type");
        if (!ct || strcmp(ct, "text/plain; charset=utf-8") != 0)
            fail_msg("line %d: error content type %s", c->line, ct ? ct : "(none)");
    }
}

static void test_codec(void **state)
{
    struct prpc_server *p = make_server(false);

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(codec_cases); i++) {
        struct http_response resp;
        run_case(p, &codec_cases[i], &resp);
        check_case(&codec_cases[i], &resp);
        http_response_release(&resp);
    }
    prpc_server_free(p);
}

static void test_real_message_reaches_hook(void **state)
{
    struct prpc_server *p = make_server(false);
    struct codec_case c = {__LINE__, NULL, FAIL, JSON, NULL, NULL, NULL,
                           "{\"code\":13,\"message\":\"db on fire\"}", false, 500, 13,
                           "Internal server error\n"};
    struct http_response resp;

    (void)state;
    last_error[0] = '\0';
    run_case(p, &c, &resp);
    check_case(&c, &resp);
    assert_string_equal(last_error, "13 db on fire");
    http_response_release(&resp);
    prpc_server_free(p);
}

static void test_discard_unknown(void **state)
{
    struct prpc_server *p = make_server(true);
    struct codec_case c = {__LINE__, NULL, FIELDS, JSON, NULL, NULL, NULL,
                           "{\"zz\":1,\"n\":\"5\"}", false, 200, 0, "~\"n\":\"5\""};
    struct http_response resp;

    (void)state;
    run_case(p, &c, &resp);
    check_case(&c, &resp);
    http_response_release(&resp);
    prpc_server_free(p);
}

static void test_deep_bodies(void **state)
{
    struct prpc_server *p = make_server(false);
    struct buf b;

    (void)state;
    /* {"a": [[...]]}: depth = 1 + k.  64 levels pass, 65 fail, 100000 fail fast. */
    static const struct {
        int line;
        int k;
        int status;
    } cases[] = {
        {__LINE__, 63, 200},
        {__LINE__, 64, 400},
        {__LINE__, 100000, 400},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct http_response resp;
        buf_init(&b, 1u << 20);
        buf_puts(&b, "{\"a\":");
        for (int j = 0; j < cases[i].k; j++)
            buf_putc(&b, '[');
        for (int j = 0; j < cases[i].k; j++)
            buf_putc(&b, ']');
        buf_putc(&b, '}');
        struct codec_case c = {cases[i].line, NULL, ECHO, JSON, NULL, NULL, NULL, b.data,
                               false, cases[i].status, cases[i].status == 200 ? 0 : 3,
                               cases[i].status == 200 ? "~)]}'" : "~nested deeper than 64"};
        run_case(p, &c, &resp);
        check_case(&c, &resp);
        http_response_release(&resp);
        buf_release(&b);
    }
    prpc_server_free(p);
}

/* ---------------------------------------------------------------------------
 * Client-side decoding
 */

static void test_response_decode(void **state)
{
    static const struct {
        int line;
        const char *code_header;
        long status;
        const char *body;
        int ret;
        int code;
        const char *text; /* JSON key present on success, or message substring */
    } cases[] = {
        {__LINE__, "0", 200, ")]}'\n{\"jobs\":[]}\n", 0, 0, "jobs"},
        {__LINE__, "0", 200, "{\"jobs\":[]}", 0, 0, "jobs"},
        {__LINE__, "0", 500, ")]}'\n{\"x\":1}\n", 0, 0, "x"}, /* header wins over status */
        {__LINE__, "0", 200, ")]}'\n[1]\n", -EINVAL, GRPC_INTERNAL, "not a JSON object"},
        {__LINE__, "0", 200, ")]}'\n{\n", -EINVAL, GRPC_INTERNAL, "bad response body"},
        {__LINE__, "5", 404, "no such job or no permission to see it\n", -EIO, 5,
         "no such job or no permission to see it"},
        {__LINE__, "7", 200, "denied", -EIO, 7, "denied"},
        {__LINE__, "x", 200, "", -EIO, GRPC_INTERNAL, "bad X-Prpc-Grpc-Code"},
        {__LINE__, NULL, 401, "login", -EIO, GRPC_UNAUTHENTICATED, "HTTP status 401"},
        {__LINE__, NULL, 403, "", -EIO, GRPC_PERMISSION_DENIED, "403"},
        {__LINE__, NULL, 503, "", -EIO, GRPC_UNAVAILABLE, "503"},
        {__LINE__, NULL, 502, "<html>", -EIO, GRPC_INTERNAL, "502"},
        {__LINE__, NULL, 404, "nope\n", -EIO, GRPC_INTERNAL, "body: nope"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *v = NULL;
        struct prpc_status st = {.code = -1};
        int r = prpc_response_decode(cases[i].code_header, cases[i].status, cases[i].body,
                                     strlen(cases[i].body), &v, &st);
        if (r != cases[i].ret)
            fail_msg("line %d: ret %d", cases[i].line, r);
        if (r == 0) {
            if (!json_object_get(v, cases[i].text) || st.code != -1)
                fail_msg("line %d: decoded object", cases[i].line);
        } else if (v || st.code != cases[i].code || !strstr(st.message, cases[i].text)) {
            fail_msg("line %d: code %d message %s", cases[i].line, st.code, st.message);
        }
        json_decref(v);
    }
    /* The message keeps the body exactly, minus the final newline. */
    {
        struct prpc_status st;
        json_t *v = NULL;
        assert_int_equal(prpc_response_decode("3", 400, "a\nb\n", 4, &v, &st), -EIO);
        assert_string_equal(st.message, "a\nb");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_table),
        cmocka_unit_test(test_timeout_parse),
        cmocka_unit_test(test_depth_check),
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_real_message_reaches_hook),
        cmocka_unit_test(test_discard_unknown),
        cmocka_unit_test(test_deep_bodies),
        cmocka_unit_test(test_response_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
