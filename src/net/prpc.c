/*
 * prpc.c - the pRPC codec (contract in prpc.h; protocol in
 * wire-formats.md section 1).
 */
#include "base/compat.h"
#include "net/prpc.h"

#include <math.h>
#include <stdarg.h>
#include <strings.h>

/* ---------------------------------------------------------------------------
 * THE code table
 */

static const struct {
    const char *name;
    int http;
    const char *public_message; /* for HTTP >= 500: what the wire carries */
} grpc_codes[_GRPC_CODE_MAX] = {
    [GRPC_OK] = {"OK", 200, NULL},
    [GRPC_CANCELLED] = {"CANCELLED", 499, NULL},
    [GRPC_UNKNOWN] = {"UNKNOWN", 500, "Unknown server error"},
    [GRPC_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", 400, NULL},
    [GRPC_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", 504, "Request deadline exceeded"},
    [GRPC_NOT_FOUND] = {"NOT_FOUND", 404, NULL},
    [GRPC_ALREADY_EXISTS] = {"ALREADY_EXISTS", 409, NULL},
    [GRPC_PERMISSION_DENIED] = {"PERMISSION_DENIED", 403, NULL},
    [GRPC_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", 429, NULL},
    [GRPC_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", 400, NULL},
    [GRPC_ABORTED] = {"ABORTED", 409, NULL},
    [GRPC_OUT_OF_RANGE] = {"OUT_OF_RANGE", 400, NULL},
    [GRPC_UNIMPLEMENTED] = {"UNIMPLEMENTED", 501, "API method not implemented by the server"},
    [GRPC_INTERNAL] = {"INTERNAL", 500, "Internal server error"},
    [GRPC_UNAVAILABLE] = {"UNAVAILABLE", 503, "Service unavailable"},
    [GRPC_DATA_LOSS] = {"DATA_LOSS", 500, "Unrecoverable data loss or data corruption"},
    [GRPC_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401, NULL},
};

const char *grpc_code_name(int code)
{
    if (code < 0 || code >= _GRPC_CODE_MAX)
        return NULL;
    return grpc_codes[code].name;
}

int grpc_code_http_status(int code)
{
    if (code < 0 || code >= _GRPC_CODE_MAX)
        return 500;
    return grpc_codes[code].http;
}

const char *grpc_code_public_message(int code)
{
    if (code < 0 || code >= _GRPC_CODE_MAX)
        return "Server error";
    return grpc_codes[code].public_message;
}

int grpc_code_from_name(const char *name)
{
    for (int c = 0; c < _GRPC_CODE_MAX; c++) {
        if (strcmp(grpc_codes[c].name, name) == 0)
            return c;
    }
    return -EINVAL;
}

int prpc_http_status(int code, bool too_large_body)
{
    if (code == GRPC_RESOURCE_EXHAUSTED && too_large_body)
        return 413;
    return grpc_code_http_status(code);
}

/* ---------------------------------------------------------------------------
 * Small parsers
 */

int prpc_timeout_parse(const char *s, int64_t *ret_ns)
{
    int64_t n = 0, unit;
    size_t digits = 0;

    if (!s)
        return -EINVAL;
    while (s[digits] >= '0' && s[digits] <= '9') {
        if (digits >= 8)
            return -EINVAL;
        n = n * 10 + (s[digits] - '0');
        digits++;
    }
    if (digits == 0 || s[digits] == '\0' || s[digits + 1] != '\0')
        return -EINVAL;
    switch (s[digits]) {
    case 'H': unit = 3600 * INT64_C(1000000000); break;
    case 'M': unit = 60 * INT64_C(1000000000); break;
    case 'S': unit = INT64_C(1000000000); break;
    case 'm': unit = INT64_C(1000000); break;
    case 'u': unit = INT64_C(1000); break;
    case 'n': unit = 1; break;
    default: return -EINVAL;
    }
    /* 99999999 hours is about 3.6e20 ns: saturate rather than overflow. */
    if (n > INT64_MAX / unit)
        *ret_ns = INT64_MAX;
    else
        *ret_ns = n * unit;
    return 0;
}

int prpc_json_depth_check(const char *data, size_t len, unsigned max_depth)
{
    unsigned depth = 0;
    bool in_string = false, escape = false;

    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (escape)
                escape = false;
            else if (c == '\\')
                escape = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return -E2BIG;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* Media formats a Content-Type or an Accept entry may name. */
enum media_fmt {
    MEDIA_UNKNOWN,
    MEDIA_JSON,
    MEDIA_BINARY,
    MEDIA_TEXT,
    MEDIA_WILDCARD,
};

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static bool token_is(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - s) == n && strncasecmp(s, word, n) == 0;
}

/*
 * Classifies one media range s..e ("application/prpc; encoding=json;
 * q=0.5"); *ret_q gets its q (1 when absent, 0 when unparsable).
 */
static enum media_fmt media_parse(const char *s, const char *e, double *ret_q)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *te = semi ? semi : e, *ts = s;
    enum media_fmt f;
    const char *encoding = NULL, *encoding_end = NULL;

    *ret_q = 1.0;
    trim(&ts, &te);
    while (semi) {
        const char *ps = semi + 1;
        const char *next = memchr(ps, ';', (size_t)(e - ps));
        const char *pe = next ? next : e;
        const char *eq = memchr(ps, '=', (size_t)(pe - ps));
        if (eq) {
            const char *ks = ps, *ke = eq, *vs = eq + 1, *ve = pe;
            trim(&ks, &ke);
            trim(&vs, &ve);
            if (token_is(ks, ke, "encoding")) {
                encoding = vs;
                encoding_end = ve;
            } else if (token_is(ks, ke, "q")) {
                char tmp[16];
                size_t n = (size_t)(ve - vs);
                char *end;
                if (n == 0 || n >= sizeof(tmp)) {
                    *ret_q = 0;
                } else {
                    memcpy(tmp, vs, n);
                    tmp[n] = '\0';
                    *ret_q = strtod(tmp, &end);
                    if (*end || !(*ret_q >= 0 && *ret_q <= 1))
                        *ret_q = 0;
                }
            }
        }
        semi = next;
    }
    if (token_is(ts, te, "application/json")) {
        f = MEDIA_JSON;
    } else if (token_is(ts, te, "application/prpc")) {
        if (!encoding || token_is(encoding, encoding_end, "binary"))
            f = MEDIA_BINARY;
        else if (token_is(encoding, encoding_end, "json"))
            f = MEDIA_JSON;
        else if (token_is(encoding, encoding_end, "text"))
            f = MEDIA_TEXT;
        else
            f = MEDIA_UNKNOWN;
    } else if (token_is(ts, te, "*/*") || token_is(ts, te, "application/*") ||
               token_is(ts, te, "application/grpc")) {
        f = MEDIA_WILDCARD;
    } else {
        f = MEDIA_UNKNOWN;
    }
    return f;
}

/* ---------------------------------------------------------------------------
 * Server
 */

struct prpc_method {
    char *service;
    char *method;
    prpc_handler_fn fn;
    void *ctx;
};

struct prpc_server {
    struct prpc_server_options opts;
    struct prpc_method methods[LIMIT_PRPC_METHODS];
    size_t n_methods;
    bool mounted;
};

struct prpc_server *prpc_server_new(const struct prpc_server_options *o)
{
    struct prpc_server *p = calloc(1, sizeof(*p));

    if (p && o)
        p->opts = *o;
    return p;
}

struct prpc_server *prpc_server_free(struct prpc_server *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_methods; i++) {
        free(p->methods[i].service);
        free(p->methods[i].method);
    }
    if (p->opts.on_free)
        p->opts.on_free(p->opts.on_free_ctx);
    free(p);
    return NULL;
}

int prpc_server_register(struct prpc_server *p, const char *service, const char *method,
                         prpc_handler_fn fn, void *ctx)
{
    struct prpc_method *m;

    if (!service || !method || !fn || !*service || !*method)
        return -EINVAL;
    if (p->mounted)
        return -EBUSY;
    for (size_t i = 0; i < p->n_methods; i++) {
        if (strcmp(p->methods[i].service, service) == 0 &&
            strcmp(p->methods[i].method, method) == 0)
            return -EEXIST;
    }
    if (p->n_methods >= LIMIT_PRPC_METHODS)
        return -E2BIG;
    m = &p->methods[p->n_methods];
    m->service = strdup(service);
    m->method = strdup(method);
    if (!m->service || !m->method) {
        free(m->service);
        free(m->method);
        return -ENOMEM;
    }
    m->fn = fn;
    m->ctx = ctx;
    p->n_methods++;
    return 0;
}

static void prpc_server_free_void(void *p)
{
    prpc_server_free(p);
}

int prpc_server_mount(struct prpc_server *p, struct http_server *http)
{
    p->mounted = true;
    return http_server_route(http, NULL, "/prpc/", prpc_server_handle, p, prpc_server_free_void,
                             HTTP_ROUTE_OVERSIZE_TO_HANDLER);
}

int prpc_fail(struct prpc_call *call, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(call->message, sizeof(call->message), fmt, ap);
    va_end(ap);
    call->code = code;
    return code;
}

/* Writes an error answer; http_status 0 = from the code table. */
static void answer_error(struct http_response *resp, int code, int http_status,
                         const char *message)
{
    char codebuf[16];

    http_response_text(resp, http_status ? http_status : grpc_code_http_status(code), message);
    snprintf(codebuf, sizeof(codebuf), "%d", code);
    http_response_set_header(resp, "X-Prpc-Grpc-Code", codebuf);
    http_response_set_header(resp, "X-Content-Type-Options", "nosniff");
}

static const struct prpc_method *method_find(const struct prpc_server *p, const char *service,
                                             size_t service_len, const char *method)
{
    for (size_t i = 0; i < p->n_methods; i++) {
        const struct prpc_method *m = &p->methods[i];
        if (strlen(m->service) == service_len && strncmp(m->service, service, service_len) == 0 &&
            strcmp(m->method, method) == 0)
            return m;
    }
    return NULL;
}

/*
 * Checks the request headers.  Returns GRPC_OK or an error code with
 * *ret_http (0 = table) and the message in call.
 */
static int check_headers(struct prpc_call *call, const struct http_request *req, int *ret_http)
{
    const char *ct = http_request_header(req, "Content-Type");
    const char *accept = http_request_header(req, "Accept");
    const char *ce = http_request_header(req, "Content-Encoding");
    const char *timeout = http_request_header(req, "X-Prpc-Grpc-Timeout");
    double q;

    *ret_http = 0;
    if (ce && *ce && strcasecmp(ce, "identity") != 0)
        return prpc_fail(call, GRPC_UNIMPLEMENTED,
                         "Content-Encoding %s is not supported: send the body uncompressed", ce);
    if (!ct || !*ct) {
        return prpc_fail(call, GRPC_UNIMPLEMENTED,
                         "binary protobuf is not supported (no Content-Type means binary): "
                         "send Content-Type: application/json");
    }
    switch (media_parse(ct, ct + strlen(ct), &q)) {
    case MEDIA_JSON:
        break;
    case MEDIA_BINARY:
    case MEDIA_TEXT:
        return prpc_fail(call, GRPC_UNIMPLEMENTED,
                         "Content-Type %s is not supported: tock speaks JSON only, "
                         "send Content-Type: application/json", ct);
    default:
        *ret_http = 415;
        return prpc_fail(call, GRPC_INVALID_ARGUMENT, "bad Content-Type header: %s", ct);
    }
    if (accept && *accept) {
        bool json = false, wildcard = false, other_prpc = false;
        const char *s = accept;
        for (size_t i = 0; i < LIMIT_HTTP_HEADER_BYTES; i++) {
            const char *comma = strchr(s, ',');
            const char *e = comma ? comma : s + strlen(s);
            enum media_fmt f = media_parse(s, e, &q);
            if (q > 0) {
                json |= f == MEDIA_JSON;
                wildcard |= f == MEDIA_WILDCARD;
                other_prpc |= f == MEDIA_BINARY || f == MEDIA_TEXT;
            }
            if (!comma)
                break;
            s = comma + 1;
        }
        if (!json && !wildcard) {
            if (other_prpc)
                return prpc_fail(call, GRPC_UNIMPLEMENTED,
                                 "only JSON answers are supported: send Accept: "
                                 "application/json");
            *ret_http = 406;
            return prpc_fail(call, GRPC_INVALID_ARGUMENT,
                             "bad Accept header: no acceptable format in %s", accept);
        }
    }
    if (timeout && prpc_timeout_parse(timeout, &call->timeout_ns) < 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT,
                         "bad request headers: bad X-Prpc-Grpc-Timeout value %s", timeout);
    return GRPC_OK;
}

/* Decodes the body into *ret (new reference).  Returns GRPC_OK or an error code. */
static int decode_body(struct prpc_call *call, const struct http_request *req, json_t **ret)
{
    json_error_t jerr;
    json_t *v;
    size_t i = 0;

    /* An empty body (or only white space) is the empty message. */
    while (i < req->body_len && strchr(" \t\r\n", req->body[i]) && req->body[i] != '\0')
        i++;
    if (i == req->body_len) {
        *ret = json_object();
        return *ret ? GRPC_OK : prpc_fail(call, GRPC_INTERNAL, "out of memory");
    }
    if (prpc_json_depth_check(req->body, req->body_len, LIMIT_JSON_DEPTH) < 0)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT,
                         "could not decode body: JSON nested deeper than %d levels",
                         LIMIT_JSON_DEPTH);
    v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return prpc_fail(call, GRPC_INVALID_ARGUMENT,
                         "could not decode body: %s (line %d, column %d)", jerr.text, jerr.line,
                         jerr.column);
    if (!json_is_object(v)) {
        json_decref(v);
        return prpc_fail(call, GRPC_INVALID_ARGUMENT,
                         "could not decode body: the request must be a JSON object");
    }
    *ret = v;
    return GRPC_OK;
}

/* Parses X-Prpc-Max-Response-Size: false when absent or malformed. */
static bool max_response_size(const struct http_request *req, uint64_t *ret)
{
    const char *v = http_request_header(req, "X-Prpc-Max-Response-Size");
    char *end;
    unsigned long long n;

    if (!v || *v < '0' || *v > '9')
        return false;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n == 0)
        return false;
    *ret = n;
    return true;
}

/* Calls the method's handler; its code, with a message even when the handler gave none. */
static int run_method(const struct prpc_method *m, struct prpc_call *call)
{
    int code = m->fn(m->ctx, call);

    if (code == GRPC_OK)
        return GRPC_OK;
    if (call->code == GRPC_OK || !call->message[0]) {
        /* A handler that returned a code without prpc_fail. */
        if (code < 0 || code >= _GRPC_CODE_MAX)
            code = GRPC_UNKNOWN;
        prpc_fail(call, code, "%s", grpc_code_name(code));
    }
    return call->code;
}

/* The handler's response as the 200 answer (")]}'" + JSON); a code when it cannot be sent. */
static int answer_ok(struct prpc_call *call, const struct http_request *req,
                     struct http_response *resp)
{
    uint64_t max_size;
    char *dump;
    int code = GRPC_OK;

    if (!call->response)
        call->response = json_object();
    dump = call->response ? json_dumps(call->response, JSON_COMPACT) : NULL;
    if (!dump)
        return prpc_fail(call, GRPC_INTERNAL, "could not encode the response");
    buf_reset(&resp->body);
    if (max_response_size(req, &max_size) && strlen(dump) + 6 > max_size)
        code = prpc_fail(call, GRPC_UNAVAILABLE, "response too big: %zu bytes, limit %llu",
                         strlen(dump) + 6, (unsigned long long)max_size);
    else if (buf_puts(&resp->body, ")]}'\n") < 0 || buf_puts(&resp->body, dump) < 0 ||
             buf_putc(&resp->body, '\n') < 0)
        code = prpc_fail(call, GRPC_RESOURCE_EXHAUSTED, "response too large");
    free(dump);
    if (code != GRPC_OK)
        return code;
    resp->status = 200;
    http_response_set_header(resp, "Content-Type", "application/json");
    http_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    http_response_set_header(resp, "X-Prpc-Grpc-Code", "0");
    return GRPC_OK;
}

/*
 * The error answer: the server's on_error hook, the public message of a 5xx
 * a handler made (never its details), Retry-After when the handler set it.
 */
static void answer_failed(const struct prpc_server *p, struct prpc_call *call,
                          struct http_response *resp, int code, int http, bool from_handler)
{
    const char *msg = call->message;
    int status = http ? http : grpc_code_http_status(code);

    if (p->opts.on_error)
        p->opts.on_error(p->opts.on_error_ctx, call);
    if (from_handler && status >= 500 && grpc_code_public_message(code))
        msg = grpc_code_public_message(code);
    answer_error(resp, code, http, msg);
    if (from_handler && call->retry_after_sec > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%u", call->retry_after_sec);
        http_response_set_header(resp, "Retry-After", v);
    }
}

int prpc_server_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct prpc_server *p = ctx;
    struct prpc_call *call = NULL;
    const struct prpc_method *m;
    const char *rest, *slash;
    json_t *request = NULL;
    int code, http = 0;
    bool from_handler = false;

    if (strcmp(req->method, "POST") != 0) {
        http_response_text(resp, 405, "method not allowed: pRPC calls are POST");
        http_response_set_header(resp, "Allow", "POST");
        return 0;
    }
    call = calloc(1, sizeof(*call));
    if (!call) {
        http_response_text(resp, 500, "out of memory");
        return 0;
    }
    call->http = req;
    call->discard_unknown = p->opts.discard_unknown;

    rest = strncmp(req->path, "/prpc/", 6) == 0 ? req->path + 6 : "";
    slash = strchr(rest, '/');
    m = NULL;
    if (slash && slash != rest && slash[1] && !strchr(slash + 1, '/'))
        m = method_find(p, rest, (size_t)(slash - rest), slash + 1);
    if (!m) {
        code = prpc_fail(call, GRPC_UNIMPLEMENTED, "API method not implemented by the server");
        goto out;
    }
    call->service = m->service;
    call->method = m->method;

    code = check_headers(call, req, &http);
    if (code != GRPC_OK)
        goto out;
    if (req->body_too_large) {
        http = prpc_http_status(GRPC_RESOURCE_EXHAUSTED, true);
        code = prpc_fail(call, GRPC_RESOURCE_EXHAUSTED,
                         "request body too large: the limit is %u bytes",
                         (unsigned)LIMIT_HTTP_BODY_BYTES);
        goto out;
    }
    code = decode_body(call, req, &request);
    if (code != GRPC_OK)
        goto out;

    call->request = request;
    call->code = GRPC_OK;
    from_handler = true;
    code = run_method(m, call);
    if (code == GRPC_OK)
        code = answer_ok(call, req, resp);
out:
    if (code != GRPC_OK)
        answer_failed(p, call, resp, code, http, from_handler);
    json_decref(call->response);
    json_decref(request);
    free(call);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Request field helpers
 */

static int field_lookup(struct prpc_call *call, const json_t *obj, const char *json_name,
                        const char *proto_name, const json_t **ret)
{
    const json_t *a = json_object_get(obj, json_name);
    const json_t *b = proto_name && strcmp(proto_name, json_name) != 0
                          ? json_object_get(obj, proto_name)
                          : NULL;

    if (a && b) {
        prpc_fail(call, GRPC_INVALID_ARGUMENT, "field %s is set twice (as %s and %s)",
                  json_name, json_name, proto_name);
        return -EINVAL;
    }
    *ret = a ? a : b;
    if (*ret && json_is_null(*ret))
        *ret = NULL;
    return 0;
}

/* A short rendering of a bad value for messages. */
static void value_text(const json_t *v, char *out, size_t outlen)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    snprintf(out, outlen, "%s", s ? s : "?");
    if (s && strlen(s) >= outlen && outlen > 4)
        memcpy(out + outlen - 4, "...", 4);
    free(s);
}

static int bad_value(struct prpc_call *call, const char *type, const char *name,
                     const json_t *v)
{
    char text[128];

    value_text(v, text, sizeof(text));
    prpc_fail(call, GRPC_INVALID_ARGUMENT, "invalid value for %s field %s: %s", type, name,
              text);
    return -EINVAL;
}

/*
 * Looks up a field whose JSON value must be of one type (type_name in the
 * message).  Returns 0 with *ret the value, or *ret untouched when the
 * field is absent or null; -EINVAL (the call failed) when it is set twice
 * or of another type.
 */
static int field_of_type(struct prpc_call *call, const json_t *obj, const char *json_name,
                         const char *proto_name, json_type type, const char *type_name,
                         const json_t **ret)
{
    const json_t *v;

    if (field_lookup(call, obj, json_name, proto_name, &v) < 0)
        return -EINVAL;
    if (!v)
        return 0;
    if (json_typeof(v) != type)
        return bad_value(call, type_name, json_name, v);
    *ret = v;
    return 0;
}

int prpc_check_fields(struct prpc_call *call, const json_t *obj, const char *const *names)
{
    const char *key;
    json_t *v;

    if (call->discard_unknown)
        return 0;
    json_object_foreach((json_t *)obj, key, v) {
        bool known = false;
        for (size_t i = 0; names[i] && i < LIMIT_PRPC_METHODS * 4; i++) {
            if (strcmp(names[i], key) == 0) {
                known = true;
                break;
            }
        }
        if (!known) {
            prpc_fail(call, GRPC_INVALID_ARGUMENT, "unknown field \"%.200s\"", key);
            return -EINVAL;
        }
    }
    return 0;
}

int prpc_get_string(struct prpc_call *call, const json_t *obj, const char *json_name,
                    const char *proto_name, const char **ret)
{
    const json_t *v = NULL;

    if (field_of_type(call, obj, json_name, proto_name, JSON_STRING, "string", &v) < 0)
        return -EINVAL;
    if (v)
        *ret = json_string_value(v);
    return 0;
}

/* Parses a decimal integer string (optional "-"), full int64 range. */
static int parse_int64_string(const char *s, int64_t *ret)
{
    char *end;
    long long n;

    if (!*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
        return -EINVAL;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = n;
    return 0;
}

int prpc_get_int64(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, int64_t *ret)
{
    const json_t *v;
    int64_t n;

    if (field_lookup(call, obj, json_name, proto_name, &v) < 0)
        return -EINVAL;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* protojson accepts 1.0 or 1e3 for integers, but nothing fractional. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
            return bad_value(call, "int64", json_name, v);
        n = (int64_t)d;
    } else if (json_is_string(v)) {
        if (parse_int64_string(json_string_value(v), &n) < 0)
            return bad_value(call, "int64", json_name, v);
    } else {
        return bad_value(call, "int64", json_name, v);
    }
    *ret = n;
    return 0;
}

int prpc_get_int32(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, int32_t *ret)
{
    int64_t n = 0;
    const json_t *v;

    if (field_lookup(call, obj, json_name, proto_name, &v) < 0)
        return -EINVAL;
    if (!v)
        return 0;
    if (prpc_get_int64(call, obj, json_name, proto_name, &n) < 0)
        return -EINVAL;
    if (n < INT32_MIN || n > INT32_MAX)
        return bad_value(call, "int32", json_name, v);
    *ret = (int32_t)n;
    return 0;
}

int prpc_get_bool(struct prpc_call *call, const json_t *obj, const char *json_name,
                  const char *proto_name, bool *ret)
{
    const json_t *v;

    if (field_lookup(call, obj, json_name, proto_name, &v) < 0)
        return -EINVAL;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad_value(call, "bool", json_name, v);
    *ret = json_is_true(v);
    return 0;
}

int prpc_get_object(struct prpc_call *call, const json_t *obj, const char *json_name,
                    const char *proto_name, const json_t **ret)
{
    return field_of_type(call, obj, json_name, proto_name, JSON_OBJECT, "message", ret);
}

int prpc_get_array(struct prpc_call *call, const json_t *obj, const char *json_name,
                   const char *proto_name, const json_t **ret)
{
    return field_of_type(call, obj, json_name, proto_name, JSON_ARRAY, "repeated", ret);
}

json_t *prpc_json_int64(int64_t v)
{
    char s[24];

    snprintf(s, sizeof(s), "%" PRId64, v);
    return json_string(s);
}

/* ---------------------------------------------------------------------------
 * Client side
 */

int prpc_response_decode(const char *code_header, long http_status, const char *body,
                         size_t len, json_t **ret, struct prpc_status *reterr)
{
    json_error_t jerr;
    json_t *v;
    int code;
    size_t n;

    if (!code_header) {
        if (http_status == 401)
            code = GRPC_UNAUTHENTICATED;
        else if (http_status == 403)
            code = GRPC_PERMISSION_DENIED;
        else if (http_status == 503)
            code = GRPC_UNAVAILABLE;
        else
            code = GRPC_INTERNAL;
        reterr->code = code;
        n = len > LIMIT_PRPC_ERROR_BYTES - 100 ? LIMIT_PRPC_ERROR_BYTES - 100 : len;
        if (n > 0 && body[n - 1] == '\n')
            n--;
        snprintf(reterr->message, sizeof(reterr->message),
                 "prpc: no X-Prpc-Grpc-Code header, HTTP status %ld, body: %.*s", http_status,
                 (int)n, body);
        return -EIO;
    }
    {
        char *end;
        long c;
        errno = 0;
        c = strtol(code_header, &end, 10);
        if (errno || end == code_header || *end || c < 0 || c > INT_MAX) {
            reterr->code = GRPC_INTERNAL;
            snprintf(reterr->message, sizeof(reterr->message),
                     "prpc: bad X-Prpc-Grpc-Code header %.100s", code_header);
            return -EIO;
        }
        code = (int)c;
    }
    if (code != GRPC_OK) {
        reterr->code = code;
        n = len;
        if (n > 0 && body[n - 1] == '\n')
            n--;
        if (n > LIMIT_PRPC_ERROR_BYTES)
            n = LIMIT_PRPC_ERROR_BYTES;
        memcpy(reterr->message, body, n);
        reterr->message[n] = '\0';
        return -EIO;
    }
    if (len >= 5 && memcmp(body, ")]}'\n", 5) == 0) {
        body += 5;
        len -= 5;
    }
    if (prpc_json_depth_check(body, len, LIMIT_JSON_DEPTH) < 0) {
        reterr->code = GRPC_INTERNAL;
        snprintf(reterr->message, sizeof(reterr->message),
                 "prpc: response nested deeper than %d levels", LIMIT_JSON_DEPTH);
        return -EINVAL;
    }
    v = json_loadb(body, len, 0, &jerr);
    if (!v || !json_is_object(v)) {
        reterr->code = GRPC_INTERNAL;
        snprintf(reterr->message, sizeof(reterr->message), "prpc: bad response body: %s",
                 v ? "not a JSON object" : jerr.text);
        json_decref(v);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}
