/*
 * test-net-client.c - the outgoing client (net/client.h) over real HTTP on
 * 127.0.0.1: a pRPC fake and a fake OAuth token endpoint on the project's
 * own HTTP server, and raw-socket servers for hostile behaviours (never
 * answering, dripping, huge bodies).
 *
 * Expected values come from the protocol documents: the X-Prpc-Grpc-Timeout
 * examples of wire-formats.md 1.6, the HTTP status mapping of 1.5, the
 * base64url vectors of RFC 4648 section 10, the JWT layout of RFC 7515/7523.
 * The fake token endpoint verifies the JWT signature with the public half
 * of a key made here.  Nothing asserts on time.
 */
#include "base/compat.h"
#include "net/client.h"
#include "net/credentials.h"
#include "net/http.h"
#include "net/prpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#define TOKEN_URI "https://oauth.test/token"
#define SA_EMAIL "tock@example.iam.gserviceaccount.com"
#define SA_KID "0123456789abcdef"

/* ---- the fakes on the project's HTTP server ----------------------------------- */

static struct {
    struct http_server *s;
    char base[64];
    char dir[64];
    EVP_PKEY *key;   /* the service account's key; the token endpoint checks with it */
    EVP_PKEY *other; /* a key the token endpoint does not know */
    atomic_int token_requests;
    atomic_int token_rejects;
    atomic_int expires_in;
} F;

/* test.Echo/Echo: answers what the request carried. */
static int echo(void *ctx, struct prpc_call *call)
{
    const char *auth = http_request_header(call->http, "authorization");
    const char *tmo = http_request_header(call->http, "x-prpc-grpc-timeout");

    (void)ctx;
    call->response = json_pack("{s:s, s:s, s:O}", "auth", auth ? auth : "", "timeout",
                               tmo ? tmo : "", "request", call->request);
    return GRPC_OK;
}

static int fail_call(void *ctx, struct prpc_call *call)
{
    (void)ctx;
    return prpc_fail(call, GRPC_NOT_FOUND, "no such build");
}

/* /prpc/raw.R/<what>: answers no pRPC server would give. */
static int raw(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *what = strrchr(req->path, '/') + 1;
    int r = 0;

    (void)ctx;
    if (strcmp(what, "Html502") == 0) {
        r = http_response_text(resp, 502, "<html>Bad Gateway</html>");
        if (r == 0)
            r = http_response_set_header(resp, "Content-Type", "text/html");
    } else if (strcmp(what, "Status401") == 0) {
        r = http_response_text(resp, 401, "who are you");
    } else if (strcmp(what, "Status403") == 0) {
        r = http_response_text(resp, 403, "go away");
    } else if (strcmp(what, "Status503") == 0) {
        r = http_response_text(resp, 503, "later");
    } else if (strcmp(what, "Truncated") == 0) {
        r = http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        if (r == 0)
            r = buf_puts(&resp->body, ")]}'\n{\"build\": {\"id\": \"87");
    } else if (strcmp(what, "NoPrefix") == 0) {
        r = http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
        if (r == 0)
            r = buf_puts(&resp->body, "{\"id\": \"1\"}");
    } else if (strcmp(what, "Code99") == 0) {
        r = http_response_set_header(resp, "X-Prpc-Grpc-Code", "99");
        if (r == 0)
            r = http_response_text(resp, 500, "from the future");
    } else {
        r = http_response_text(resp, 404, "nope");
    }
    return r;
}

/* /plain: "<method> <body>" with the Content-Type as a header. */
static int plain(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *ct = http_request_header(req, "content-type");

    (void)ctx;
    resp->status = strcmp(req->method, "PUT") == 0 ? 201 : 404;
    int r = buf_printf(&resp->body, "%s %s", req->method, req->body);
    if (r == 0)
        r = http_response_set_header(resp, "X-Got-Content-Type", ct ? ct : "-");
    return r;
}

/* RFC 4648 section 5, without padding.  Returns the length or -1. */
static long b64url_decode(const char *s, size_t n, unsigned char *out, size_t outlen)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(abc, s[i], 64);
        if (!p || !s[i])
            return -1;
        acc = acc << 6 | (uint32_t)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= outlen)
                return -1;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)k;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static json_t *decode_part(const char *s, size_t n)
{
    unsigned char buf[4096];
    long len = b64url_decode(s, n, buf, sizeof(buf));
    return len < 0 ? NULL : json_loadb((const char *)buf, (size_t)len, 0, NULL);
}

/*
 * Checks a JWT as a token endpoint would: header, claims and the RS256
 * signature with key's public half.  Returns true when it is good.
 */
static bool jwt_ok(const char *jwt, EVP_PKEY *key)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char sig[1024];
    json_t *h = NULL, *c = NULL;
    bool ok = false;

    if (!dot2 || strchr(dot2 + 1, '.'))
        return false;
    h = decode_part(jwt, (size_t)(dot1 - jwt));
    c = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    long siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
    json_int_t iat = json_integer_value(json_object_get(c, "iat"));
    json_int_t exp = json_integer_value(json_object_get(c, "exp"));
    if (!h || !c || siglen <= 0 ||
        strcmp(str_of(h, "alg"), "RS256") != 0 ||
        strcmp(str_of(h, "typ"), "JWT") != 0 ||
        strcmp(str_of(h, "kid"), SA_KID) != 0 ||
        strcmp(str_of(c, "iss"), SA_EMAIL) != 0 ||
        strcmp(str_of(c, "aud"), TOKEN_URI) != 0 ||
        strcmp(str_of(c, "scope"), "scope-a scope-b") != 0 ||
        llabs((long long)iat - (long long)time(NULL)) > 300 || exp != iat + 3600)
        goto out;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)jwt,
                          (size_t)(dot2 - jwt)) == 1;
    EVP_MD_CTX_free(md);
out:
    json_decref(h);
    json_decref(c);
    return ok;
}

/* POST /token: RFC 7523 with the JWT checked; a counted token or 400. */
static int token_endpoint(void *ctx, const struct http_request *req, struct http_response *resp)
{
    static const char grant[] =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    const char *ct = http_request_header(req, "content-type");
    int n = atomic_fetch_add(&F.token_requests, 1) + 1;

    (void)ctx;
    if (!ct || strcmp(ct, "application/x-www-form-urlencoded") != 0 ||
        strncmp(req->body, grant, strlen(grant)) != 0 ||
        !jwt_ok(req->body + strlen(grant), F.key)) {
        atomic_fetch_add(&F.token_rejects, 1);
        resp->status = 400;
        return buf_puts(&resp->body,
                        "{\"error\":\"invalid_grant\",\"error_description\":\"bad JWT\"}");
    }
    return buf_printf(&resp->body,
                      "{\"access_token\":\"ya29.token-%d\",\"expires_in\":%d,"
                      "\"token_type\":\"Bearer\"}",
                      n, atomic_load(&F.expires_in));
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    return k;
}

static int group_setup(void **state)
{
    struct http_server_options o = {.host = "127.0.0.1", .idle_timeout_sec = 5};
    struct prpc_server *p;

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(http_server_new(&o, &F.s), 0);
    assert_non_null(p = prpc_server_new(NULL));
    assert_int_equal(prpc_server_register(p, "test.Echo", "Echo", echo, NULL), 0);
    assert_int_equal(prpc_server_register(p, "test.Echo", "Fail", fail_call, NULL), 0);
    assert_int_equal(prpc_server_mount(p, F.s), 0);
    assert_int_equal(http_server_route(F.s, NULL, "/prpc/raw.R/", raw, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(F.s, NULL, "/plain", plain, NULL, NULL, 0), 0);
    assert_int_equal(http_server_route(F.s, "POST", "/token", token_endpoint, NULL, NULL, 0),
                     0);
    assert_int_equal(http_server_start(F.s), 0);
    snprintf(F.base, sizeof(F.base), "http://127.0.0.1:%u", http_server_port(F.s));
    snprintf(F.dir, sizeof(F.dir), "/tmp/test-net-client-XXXXXX");
    assert_non_null(mkdtemp(F.dir));
    F.key = new_key();
    F.other = new_key();
    atomic_store(&F.expires_in, 3600);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    F.s = http_server_free(F.s);
    EVP_PKEY_free(F.key);
    EVP_PKEY_free(F.other);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A client whose host map sends bb.test and oauth.test to the fakes. */
static struct client *make_client(struct client_options *o)
{
    static char e1[128], e2[128];
    static const char *map[2];
    struct client *c = NULL;
    struct client_error err;

    snprintf(e1, sizeof(e1), "bb.test=%s", F.base);
    snprintf(e2, sizeof(e2), "oauth.test=%s/", F.base);
    map[0] = e1;
    map[1] = e2;
    o->host_map = map;
    o->n_host_map = 2;
    int r = client_new(o, &c, &err);
    if (r < 0)
        fail_msg("client_new: %s", err.message);
    return c;
}

/* Echo through c; returns the Authorization the fake saw ("" = none), or NULL on error. */
static char *echo_auth(struct client *c, bool authenticated, struct client_error *err)
{
    struct client_call_options co = {.authenticated = authenticated};
    json_t *req = json_object(), *reply = NULL;
    char *auth = NULL;

    if (client_prpc(c, "bb.test", "test.Echo", "Echo", req, &co, &reply, err) == 0)
        auth = strdup(json_string_value(json_object_get(reply, "auth")));
    json_decref(req);
    json_decref(reply);
    return auth;
}

/* ---- pRPC ---------------------------------------------------------------------- */

static void test_prpc_success_and_errors(void **state)
{
    struct client_options o = {0};
    struct client *c = make_client(&o);
    struct client_error err;
    json_t *req = json_pack("{s:s}", "builderId", "x"), *reply = NULL;

    (void)state;
    assert_int_equal(client_prpc(c, "bb.test", "test.Echo", "Echo", req, NULL, &reply, &err), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(reply, "request"), "builderId")),
                        "x");
    assert_string_equal(json_string_value(json_object_get(reply, "auth")), "");
    json_decref(reply);
    reply = NULL;

    /* A server-side error: the code and message as sent. */
    assert_int_equal(client_prpc(c, "bb.test", "test.Echo", "Fail", req, NULL, &reply, &err),
                     -EIO);
    assert_null(reply);
    assert_int_equal(err.code, GRPC_NOT_FOUND);
    assert_false(err.transport);
    assert_string_equal(err.message, "no such build");
    assert_false(client_error_is_transient(&err));

    /* Unregistered method: the server's UNIMPLEMENTED. */
    assert_int_equal(client_prpc(c, "bb.test", "test.Echo", "Nope", req, NULL, &reply, &err),
                     -EIO);
    assert_int_equal(err.code, GRPC_UNIMPLEMENTED);

    /* A 0-coded body without the ")]}'" prefix is accepted too. */
    assert_int_equal(client_prpc(c, "bb.test", "raw.R", "NoPrefix", req, NULL, &reply, &err), 0);
    assert_string_equal(json_string_value(json_object_get(reply, "id")), "1");
    json_decref(reply);
    reply = NULL;

    /* An unknown code is kept as the server sent it. */
    assert_int_equal(client_prpc(c, "bb.test", "raw.R", "Code99", req, NULL, &reply, &err), -EIO);
    assert_int_equal(err.code, 99);
    assert_string_equal(err.message, "from the future");

    json_decref(req);
    client_free(c);
}

/* Without X-Prpc-Grpc-Code: wire-formats.md 1.5's client rules. */
static void test_prpc_without_code_header(void **state)
{
    static const struct {
        const char *method;
        int code;
    } cases[] = {
        {"Html502", GRPC_INTERNAL},
        {"Status401", GRPC_UNAUTHENTICATED},
        {"Status403", GRPC_PERMISSION_DENIED},
        {"Status503", GRPC_UNAVAILABLE},
    };
    struct client_options o = {0};
    struct client *c = make_client(&o);
    json_t *req = json_object(), *reply = NULL;
    struct client_error err;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_true(client_prpc(c, "bb.test", "raw.R", cases[i].method, req, NULL, &reply, &err) <
                    0);
        assert_null(reply);
        assert_int_equal(err.code, cases[i].code);
        assert_true(err.transport);
    }
    /* The HTML page is quoted in the message (for the operator), prefixed by the reason. */
    assert_int_equal(client_prpc(c, "bb.test", "raw.R", "Html502", req, NULL, &reply, &err),
                     -EPROTO);
    assert_non_null(strstr(err.message, "no X-Prpc-Grpc-Code header"));
    assert_non_null(strstr(err.message, "<html>Bad Gateway</html>"));
    assert_true(client_error_is_transient(&err));

    /* Truncated JSON with code 0: an INTERNAL transport error, no crash. */
    assert_int_equal(client_prpc(c, "bb.test", "raw.R", "Truncated", req, NULL, &reply, &err),
                     -EPROTO);
    assert_null(reply);
    assert_int_equal(err.code, GRPC_INTERNAL);
    assert_true(err.transport);
    json_decref(req);
    client_free(c);
}

/* X-Prpc-Grpc-Timeout as the Go client writes it (wire-formats.md 1.6). */
static void test_prpc_timeout_header(void **state)
{
    static const struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {60 * INT64_C(1000000000), "60000000u"},
        {600 * INT64_C(1000000000), "600000m"},
    };
    struct client_options o = {0};
    struct client *c = make_client(&o);
    json_t *req = json_object(), *reply = NULL;
    struct client_error err;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct client_call_options co = {.timeout_ns = cases[i].ns};
        assert_int_equal(client_prpc(c, "bb.test", "test.Echo", "Echo", req, &co, &reply, &err),
                         0);
        assert_string_equal(json_string_value(json_object_get(reply, "timeout")), cases[i].want);
        json_decref(reply);
        reply = NULL;
    }
    /* The client's default deadline is LUCI's minute. */
    assert_int_equal(client_prpc(c, "bb.test", "test.Echo", "Echo", req, NULL, &reply, &err), 0);
    assert_string_equal(json_string_value(json_object_get(reply, "timeout")), "60000000u");
    json_decref(reply);
    json_decref(req);
    client_free(c);
}

/* ---- host map ------------------------------------------------------------------ */

static void test_host_map(void **state)
{
    struct client_options o = {0};
    struct client *c = make_client(&o);
    char out[256];

    (void)state;
    assert_int_equal(client_base_url(c, "bb.test", out, sizeof(out)), 0);
    assert_string_equal(out, F.base);
    assert_int_equal(client_base_url(c, "BB.Test", out, sizeof(out)), 0);
    assert_string_equal(out, F.base);
    /* The trailing '/' of the map entry is dropped. */
    assert_int_equal(client_base_url(c, "oauth.test", out, sizeof(out)), 0);
    assert_string_equal(out, F.base);
    assert_int_equal(client_base_url(c, "cr-buildbucket.appspot.com", out, sizeof(out)), 0);
    assert_string_equal(out, "https://cr-buildbucket.appspot.com");
    assert_int_equal(client_base_url(c, "http://127.0.0.1:8080/", out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:8080");
    assert_int_equal(client_base_url(c, "cr-buildbucket.appspot.com", out, 10), -ENAMETOOLONG);
    assert_int_equal(client_base_url(c, "ftp://x", out, sizeof(out)), -EINVAL);
    assert_int_equal(client_base_url(c, "a b", out, sizeof(out)), -EINVAL);
    assert_int_equal(client_base_url(c, "", out, sizeof(out)), -EINVAL);
    assert_int_equal(client_base_url(c, "x/y", out, sizeof(out)), -EINVAL);
    assert_true(client_host_is_mapped(c, "bb.test"));
    assert_true(client_host_is_mapped(c, "BB.Test"));
    assert_false(client_host_is_mapped(c, "cr-buildbucket.appspot.com"));
    assert_false(client_host_is_mapped(c, NULL));
    assert_false(client_host_is_mapped(NULL, "bb.test"));
    client_free(c);

    static const char *const bad[] = {
        "x=ftp://y", "x=http://", "x=http://y z", "=http://y", "noequals",
        "x=http://y?q=1", "x=http://u@y", "x y=http://y",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct client_options b = {.host_map = &bad[i], .n_host_map = 1};
        struct client *bc = NULL;
        struct client_error err;
        assert_int_equal(client_new(&b, &bc, &err), -EINVAL);
        assert_null(bc);
        assert_int_equal(err.code, GRPC_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "--host-map"));
    }
}

/* ---- plain HTTP ---------------------------------------------------------------- */

static void test_http(void **state)
{
    struct client_options o = {0};
    struct client *c = make_client(&o);
    struct client_http_response resp = {0};
    struct client_error err;
    struct client_http_request rq = {
        .method = "PUT",
        .host = "bb.test",
        .path = "/plain",
        .content_type = "application/json",
        .body = "{\"a\":1}",
        .body_len = 7,
    };

    (void)state;
    assert_int_equal(client_http(c, &rq, NULL, &resp, &err), 0);
    assert_int_equal(resp.status, 201);
    assert_string_equal(resp.body, "PUT {\"a\":1}");
    assert_int_equal(resp.len, strlen(resp.body));
    client_http_response_release(&resp);

    /* Any HTTP status is a successful call. */
    rq.method = "GET";
    rq.body = NULL;
    rq.body_len = 0;
    rq.content_type = NULL;
    assert_int_equal(client_http(c, &rq, NULL, &resp, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body, "GET ");
    client_http_response_release(&resp);

    rq.method = "TRACE";
    assert_int_equal(client_http(c, &rq, NULL, &resp, &err), -EINVAL);
    client_free(c);
}

static void test_refused(void **state)
{
    struct client_options o = {0};
    struct client *c = make_client(&o);
    json_t *req = json_object(), *reply = NULL;
    struct client_error err;

    (void)state;
    assert_true(client_prpc(c, "http://127.0.0.1:1", "test.Echo", "Echo", req, NULL, &reply,
                            &err) < 0);
    assert_int_equal(err.code, GRPC_UNAVAILABLE);
    assert_true(err.transport);
    assert_true(client_error_is_transient(&err));
    assert_non_null(strstr(err.message, "http://127.0.0.1:1"));
    json_decref(req);
    client_free(c);
}

/* ---- credentials --------------------------------------------------------------- */

static void test_base64url(void **state)
{
    /* RFC 4648 section 10 (the base64 vectors; "=" padding dropped). */
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[32];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
        out[0] = '\0';
        assert_int_equal(credentials_base64url((const unsigned char *)in[i], strlen(in[i]), out,
                                               sizeof(out)),
                         0);
        assert_string_equal(out, want[i]);
    }
    /* The URL alphabet: 0xfb 0xff -> "-_8" (base64 "+/8="). */
    static const unsigned char hi[] = {0xfb, 0xff};
    out[0] = '\0';
    assert_int_equal(credentials_base64url(hi, 2, out, sizeof(out)), 0);
    assert_string_equal(out, "-_8");
    out[0] = '\0';
    assert_int_equal(credentials_base64url((const unsigned char *)"foobar", 6, out, 8),
                     -ENAMETOOLONG);
}

static char *pem_of(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *pem;

    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    long n = BIO_get_mem_data(b, &data);
    assert_non_null(pem = strndup(data, (size_t)n));
    BIO_free(b);
    return pem;
}

/* Writes a service-account key file for key; returns its path (static). */
static const char *write_key_file(EVP_PKEY *key, const char *name)
{
    static char path[128];
    char *pem = pem_of(key);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                          "project_id", "tock-test", "private_key_id", SA_KID, "private_key",
                          pem, "client_email", SA_EMAIL, "token_uri", TOKEN_URI);

    snprintf(path, sizeof(path), "%s/%s", F.dir, name);
    assert_int_equal(json_dump_file(j, path, 0), 0);
    json_decref(j);
    free(pem);
    return path;
}

static void test_jwt_signature(void **state)
{
    char *pem = pem_of(F.key), *jwt = NULL;

    (void)state;
    assert_int_equal(credentials_jwt(pem, SA_KID, SA_EMAIL, "scope-a scope-b", TOKEN_URI,
                                     (int64_t)time(NULL), &jwt),
                     0);
    assert_true(jwt_ok(jwt, F.key));
    assert_false(jwt_ok(jwt, F.other)); /* the check can fail */
    free(jwt);
    assert_int_equal(credentials_jwt("not a key", NULL, "a", "b", "c", 0, &jwt), -EINVAL);
    free(pem);
}

static void test_service_account(void **state)
{
    struct client_options o = {
        .service_account_json = write_key_file(F.key, "sa.json"),
        .oauth_scopes = "scope-a scope-b",
    };
    struct client *c = make_client(&o);
    struct client_error err;
    char *auth;

    (void)state;
    atomic_store(&F.token_requests, 0);
    atomic_store(&F.token_rejects, 0);
    atomic_store(&F.expires_in, 3600);

    /* Unauthenticated calls neither fetch nor send a token. */
    assert_non_null(auth = echo_auth(c, false, &err));
    assert_string_equal(auth, "");
    free(auth);
    assert_int_equal(atomic_load(&F.token_requests), 0);

    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer ya29.token-1");
    free(auth);
    /* The second call reuses the cached token. */
    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer ya29.token-1");
    free(auth);
    assert_int_equal(atomic_load(&F.token_requests), 1);
    assert_int_equal(atomic_load(&F.token_rejects), 0);
    client_free(c);

    /* A token that expires within the margin is not reused. */
    atomic_store(&F.expires_in, 30);
    c = make_client(&o);
    for (int i = 0; i < 2; i++) {
        assert_non_null(auth = echo_auth(c, true, &err));
        free(auth);
    }
    assert_int_equal(atomic_load(&F.token_requests), 3);
    client_free(c);
    atomic_store(&F.expires_in, 3600);
}

static void test_service_account_rejected(void **state)
{
    struct client_options o = {
        .service_account_json = write_key_file(F.other, "other.json"),
        .oauth_scopes = "scope-a scope-b",
    };
    struct client *c = make_client(&o);
    struct client_error err;

    (void)state;
    atomic_store(&F.token_rejects, 0);
    assert_null(echo_auth(c, true, &err));
    assert_int_equal(atomic_load(&F.token_rejects), 1);
    assert_int_equal(err.code, GRPC_UNAUTHENTICATED);
    assert_true(err.transport);
    assert_non_null(strstr(err.message, "invalid_grant"));
    client_free(c);

    /* Not a key at all: client_new says so. */
    static char path[128];
    snprintf(path, sizeof(path), "%s/bad.json", F.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"type\": \"authorized_user\"}", f);
    fclose(f);
    struct client_options b = {.service_account_json = path};
    struct client *bc = NULL;
    assert_int_equal(client_new(&b, &bc, &err), -EINVAL);
    assert_null(bc);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_token_file(void **state)
{
    char path[128];
    struct client_error err;
    char *auth;

    (void)state;
    snprintf(path, sizeof(path), "%s/token", F.dir);
    write_file(path, "  tok-a \nsecond line\n");
    struct client_options o = {.token_file = path};
    struct client *c = make_client(&o);
    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer tok-a");
    free(auth);
    /* Changed (another size): read again. */
    write_file(path, "tok-bbbb\n");
    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer tok-bbbb");
    free(auth);
    /* Emptied: the call fails, and the message does not quote the old token. */
    write_file(path, "\n");
    assert_null(echo_auth(c, true, &err));
    assert_int_equal(err.code, GRPC_UNAUTHENTICATED);
    assert_null(strstr(err.message, "tok-"));
    client_free(c);

    /* Read at client_new. */
    struct client *bc = NULL;
    assert_int_equal(client_new(&o, &bc, &err), -EINVAL);
    assert_non_null(strstr(err.message, "is empty"));
    write_file(path, "two words\n");
    assert_int_equal(client_new(&o, &bc, &err), -EINVAL);
    assert_null(strstr(err.message, "two"));
    snprintf(path, sizeof(path), "%s/no-such-token", F.dir);
    assert_int_equal(client_new(&o, &bc, &err), -ENOENT);
    assert_null(bc);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void test_token_command(void **state)
{
    char cmd[256], runs[128];
    struct client_error err;
    char *auth;

    (void)state;
    snprintf(runs, sizeof(runs), "%s/runs", F.dir);
    snprintf(cmd, sizeof(cmd), "echo run >>'%s'; printf 'cmd-tok\\nignored\\n'", runs);
    struct client_options o = {.token_command = cmd};
    struct client *c = make_client(&o);
    /* Runs at the first authenticated call, not before. */
    assert_int_equal(count_lines(runs), 0);
    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer cmd-tok");
    free(auth);
    assert_non_null(auth = echo_auth(c, true, &err));
    assert_string_equal(auth, "Bearer cmd-tok");
    free(auth);
    assert_int_equal(count_lines(runs), 1); /* cached */
    client_free(c);

    /* A failing command: UNAUTHENTICATED, its output not quoted. */
    struct client_options b = {.token_command = "echo secret-out; exit 3"};
    c = make_client(&b);
    assert_null(echo_auth(c, true, &err));
    assert_int_equal(err.code, GRPC_UNAUTHENTICATED);
    assert_null(strstr(err.message, "secret-out"));
    client_free(c);

    /* No credentials, an authenticated call: an error, not an anonymous call. */
    struct client_options none = {0};
    c = make_client(&none);
    assert_null(echo_auth(c, true, &err));
    assert_int_equal(err.code, GRPC_UNAUTHENTICATED);
    client_free(c);
}

/* ---- hostile remotes on raw sockets -------------------------------------------- */

enum raw_mode { RAW_HOLD, RAW_DRIP, RAW_BIG, RAW_BIG_LENGTH };

struct raw_server {
    int fd;
    uint16_t port;
    enum raw_mode mode;
    atomic_bool stop;
    atomic_int accepted;
    atomic_long sent;
    int held[16];
    int n_held;
    pthread_t thread;
};

/* Reads the request head and a Content-Length body (bounded, 2 s). */
static void read_request(int fd)
{
    char buf[8192];
    size_t len = 0;
    long need = -1;

    while (len < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && need < 0) {
            char *cl = strstr(buf, "Content-Length:");
            need = (long)(end + 4 - buf) + (cl ? strtol(cl + 15, NULL, 10) : 0);
        }
        if (need >= 0 && (long)len >= need)
            return;
    }
}

static bool sleep_unless_stopped(struct raw_server *s, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (atomic_load(&s->stop))
            return false;
        usleep(20000);
    }
    return !atomic_load(&s->stop);
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void serve_one(struct raw_server *s, int fd)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nX-Prpc-Grpc-Code: 0\r\n"
                               "Content-Type: application/json\r\n";
    static char chunk[65536];
    long total = 50L << 20;

    read_request(fd);
    switch (s->mode) {
    case RAW_HOLD:
        if (s->n_held < (int)ARRAY_SIZE(s->held)) {
            s->held[s->n_held++] = fd;
            return;
        }
        break;
    case RAW_DRIP:
        for (size_t i = 0; i < sizeof(head) - 1 && sleep_unless_stopped(s, 1000); i++)
            if (!send_all(fd, head + i, 1))
                break;
        break;
    case RAW_BIG:
    case RAW_BIG_LENGTH: {
        char h[256];
        if (s->mode == RAW_BIG_LENGTH)
            snprintf(h, sizeof(h), "%sContent-Length: %ld\r\n\r\n", head, total);
        else
            snprintf(h, sizeof(h), "%sConnection: close\r\n\r\n", head);
        if (!send_all(fd, h, strlen(h)))
            break;
        memset(chunk, 'a', sizeof(chunk));
        for (long k = 0; k < total && !atomic_load(&s->stop); k += (long)sizeof(chunk)) {
            if (!send_all(fd, chunk, sizeof(chunk)))
                break;
            atomic_fetch_add(&s->sent, (long)sizeof(chunk));
        }
        break;
    }
    }
    close(fd);
}

static void *raw_main(void *arg)
{
    struct raw_server *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&s->accepted, 1);
        serve_one(s, fd);
    }
    for (int i = 0; i < s->n_held; i++)
        close(s->held[i]);
    return NULL;
}

static void raw_start(struct raw_server *s, enum raw_mode mode, char *base, size_t baselen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->mode = mode;
    assert_true((s->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    snprintf(base, baselen, "http://127.0.0.1:%u", s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, raw_main, s), 0);
}

static void raw_stop(struct raw_server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static int call_raw(struct client *c, const char *base, int64_t timeout_ns,
                    struct client_error *err)
{
    struct client_call_options co = {.timeout_ns = timeout_ns};
    json_t *req = json_object(), *reply = NULL;
    int r = client_prpc(c, base, "test.Echo", "Echo", req, &co, &reply, err);
    json_decref(req);
    json_decref(reply);
    return r;
}

static void test_never_answers(void **state)
{
    struct raw_server s;
    struct client_options o = {0};
    struct client *c = make_client(&o);
    struct client_error err;
    char base[64];

    (void)state;
    raw_start(&s, RAW_HOLD, base, sizeof(base));
    assert_int_equal(call_raw(c, base, 500 * INT64_C(1000000), &err), -ETIMEDOUT);
    assert_int_equal(err.code, GRPC_DEADLINE_EXCEEDED);
    assert_true(err.transport);
    assert_true(client_error_is_transient(&err));
    assert_non_null(strstr(err.message, base));
    raw_stop(&s);
    client_free(c);
}

static void test_drips(void **state)
{
    struct raw_server s;
    struct client_options o = {0};
    struct client *c = make_client(&o);
    struct client_error err;
    char base[64];

    (void)state;
    raw_start(&s, RAW_DRIP, base, sizeof(base));
    assert_int_equal(call_raw(c, base, 1500 * INT64_C(1000000), &err), -ETIMEDOUT);
    assert_int_equal(err.code, GRPC_DEADLINE_EXCEEDED);
    raw_stop(&s);
    client_free(c);
}

static void test_huge_body(void **state)
{
    static const enum raw_mode modes[] = {RAW_BIG, RAW_BIG_LENGTH};
    struct client_options o = {.max_response_bytes = 1u << 20};
    struct client *c = make_client(&o);
    struct client_error err;
    char base[64];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        struct raw_server s;
        raw_start(&s, modes[i], base, sizeof(base));
        assert_int_equal(call_raw(c, base, 10 * INT64_C(1000000000), &err), -EFBIG);
        assert_int_equal(err.code, GRPC_RESOURCE_EXHAUSTED);
        assert_true(err.transport);
        assert_false(client_error_is_transient(&err));
        raw_stop(&s);
        /* The client stopped reading: far from all 50 MB went out. */
        assert_true(atomic_load(&s.sent) < 40L << 20);
    }
    client_free(c);

    /* The default bound (32 MiB) holds for plain requests too. */
    struct client_options d = {0};
    struct raw_server s;
    c = make_client(&d);
    raw_start(&s, RAW_BIG, base, sizeof(base));
    struct client_http_request rq = {.method = "GET", .host = base, .path = "/big"};
    struct client_http_response resp = {0};
    struct client_call_options co = {.timeout_ns = 10 * INT64_C(1000000000)};
    assert_int_equal(client_http(c, &rq, &co, &resp, &err), -EFBIG);
    assert_null(resp.body);
    assert_int_equal(err.code, GRPC_RESOURCE_EXHAUSTED);
    raw_stop(&s);
    client_free(c);
}

struct hanging_call {
    struct client *c;
    const char *base;
    int r;
    struct client_error err;
    pthread_t t;
};

static void *hanging_main(void *arg)
{
    struct hanging_call *h = arg;
    h->r = call_raw(h->c, h->base, 2000 * INT64_C(1000000), &h->err);
    return NULL;
}

static void test_in_flight_cap(void **state)
{
    struct client_options o = {.max_in_flight = 2};
    struct client *c = make_client(&o);
    struct hanging_call calls[2];
    struct client_error err;
    struct raw_server s;
    char base[64], want[128];

    (void)state;
    raw_start(&s, RAW_HOLD, base, sizeof(base));
    for (int i = 0; i < 2; i++) {
        calls[i] = (struct hanging_call){.c = c, .base = base};
        assert_int_equal(pthread_create(&calls[i].t, NULL, hanging_main, &calls[i]), 0);
    }
    /* Both are in flight once the server holds both connections (bounded wait). */
    for (int i = 0; i < 400 && atomic_load(&s.accepted) < 2; i++)
        usleep(4000);
    assert_int_equal(atomic_load(&s.accepted), 2);

    assert_int_equal(call_raw(c, base, 1000 * INT64_C(1000000), &err), -EAGAIN);
    assert_int_equal(err.code, GRPC_UNAVAILABLE);
    assert_true(err.transport);
    snprintf(want, sizeof(want), "too many calls in flight to %s", base);
    assert_string_equal(err.message, want);
    /* Another host is not affected. */
    char *auth = echo_auth(c, false, &err);
    assert_non_null(auth);
    free(auth);

    for (int i = 0; i < 2; i++) {
        pthread_join(calls[i].t, NULL);
        assert_int_equal(calls[i].r, -ETIMEDOUT);
    }
    /* The slots came back: the next call reaches the server again. */
    assert_int_equal(call_raw(c, base, 200 * INT64_C(1000000), &err), -ETIMEDOUT);
    assert_int_equal(atomic_load(&s.accepted), 3);
    raw_stop(&s);
    client_free(c);
}

static void test_options_checked(void **state)
{
    struct client *c = NULL;
    struct client_error err;

    (void)state;
    struct client_options o = {.ca_file = "/no/such/ca.pem"};
    assert_int_equal(client_new(&o, &c, &err), -ENOENT);
    assert_null(c);
    assert_non_null(strstr(err.message, "--ca-file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prpc_success_and_errors),
        cmocka_unit_test(test_prpc_without_code_header),
        cmocka_unit_test(test_prpc_timeout_header),
        cmocka_unit_test(test_host_map),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt_signature),
        cmocka_unit_test(test_service_account),
        cmocka_unit_test(test_service_account_rejected),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_token_command),
        cmocka_unit_test(test_never_answers),
        cmocka_unit_test(test_drips),
        cmocka_unit_test(test_huge_body),
        cmocka_unit_test(test_in_flight_cap),
        cmocka_unit_test(test_options_checked),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
