/*
 * client.c - the pRPC client of the `tock` client commands; see client.h.
 */
#include "cli/client.h"

#include <ctype.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/file.h"
#include "cli/cli.h"

#define PRPC_XSSI_PREFIX ")]}'\n"

static const char *const code_names[] = {
    [CLIENT_OK] = "OK",
    [CLIENT_CANCELLED] = "CANCELLED",
    [CLIENT_UNKNOWN] = "UNKNOWN",
    [CLIENT_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [CLIENT_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [CLIENT_NOT_FOUND] = "NOT_FOUND",
    [CLIENT_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [CLIENT_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [CLIENT_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [CLIENT_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [CLIENT_ABORTED] = "ABORTED",
    [CLIENT_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [CLIENT_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [CLIENT_INTERNAL] = "INTERNAL",
    [CLIENT_UNAVAILABLE] = "UNAVAILABLE",
    [CLIENT_DATA_LOSS] = "DATA_LOSS",
    [CLIENT_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *client_code_name(int code)
{
    if (code < 0 || (size_t)code >= ARRAY_SIZE(code_names))
        return NULL;
    return code_names[code];
}

static void set_error(struct client_error *e, int code, bool transport, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_error(struct client_error *e, int code, bool transport, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    e->transport = transport;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

int client_error_report(const struct client_error *e)
{
    const char *name = client_code_name(e->code);

    if (name)
        cli_error("%s: %s", name, e->message);
    else
        cli_error("code %d: %s", e->code, e->message);
    return e->transport ? EXIT_USAGE : EXIT_PROBLEMS;
}

struct client {
    char *server; /* without a trailing '/' */
    char *auth_header; /* "Authorization: Bearer <token>" or NULL */
    long timeout_sec;
};

int client_new(const struct client_options *o, struct client **ret, struct client_error *reterr)
{
    const char *server = o->server ? o->server : CLIENT_DEFAULT_SERVER;
    struct client *c = NULL;
    char *token = NULL;
    size_t len;
    int r = 0;

    if (strncmp(server, "http://", 7) != 0 && strncmp(server, "https://", 8) != 0) {
        set_error(reterr, CLIENT_INVALID_ARGUMENT, true,
                  "--server wants an http:// or https:// URL, not '%s'", server);
        return -EINVAL;
    }
    c = calloc(1, sizeof(*c));
    if (!c || !(c->server = strdup(server))) {
        r = -ENOMEM;
        set_error(reterr, CLIENT_INTERNAL, true, "out of memory");
        goto out;
    }
    len = strlen(c->server);
    while (len > 0 && c->server[len - 1] == '/')
        c->server[--len] = '\0';
    c->timeout_sec = o->timeout_sec > 0 ? o->timeout_sec : CLIENT_DEFAULT_TIMEOUT_SEC;
    if (o->token_file) {
        char *start, *end;
        r = file_read_all(o->token_file, CLIENT_MAX_TOKEN_BYTES, &token, &len);
        if (r < 0) {
            set_error(reterr, CLIENT_UNAUTHENTICATED, true, "cannot read token file %s: %s",
                      o->token_file, r == -EFBIG ? "too large" : strerror(-r));
            goto out;
        }
        /* One token on one line; surrounding white space is dropped. */
        start = token;
        while (*start && isspace((unsigned char)*start))
            start++;
        end = token + len;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        *end = '\0';
        if (!*start || strlen(start) != (size_t)(end - start) ||
            strpbrk(start, " \t\r\n\v\f")) {
            set_error(reterr, CLIENT_UNAUTHENTICATED, true, "token file %s %s", o->token_file,
                      !*start ? "is empty" : "must hold one token on one line");
            r = -EINVAL;
            goto out;
        }
        size_t n = strlen("Authorization: Bearer ") + strlen(start) + 1;
        c->auth_header = malloc(n);
        if (!c->auth_header) {
            r = -ENOMEM;
            set_error(reterr, CLIENT_INTERNAL, true, "out of memory");
            goto out;
        }
        snprintf(c->auth_header, n, "Authorization: Bearer %s", start);
    }
    *ret = c;
    c = NULL;
out:
    free(token);
    client_free(c);
    return r;
}

struct client *client_free(struct client *c)
{
    if (!c)
        return NULL;
    free(c->server);
    if (c->auth_header) {
        /* Do not leave the token in freed memory. */
        volatile char *p = c->auth_header;
        while (*p)
            *p++ = 0;
        free(c->auth_header);
    }
    free(c);
    return NULL;
}

/* Keeps the body bounded; stops the transfer past the limit. */
struct reply {
    struct buf body;
    bool too_big;
    char code[16]; /* X-Prpc-Grpc-Code, "" when absent */
    bool has_code;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct reply *rp = ud;
    size_t n = size * nmemb;

    if (buf_append(&rp->body, data, n) < 0) {
        rp->too_big = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    static const char name[] = "x-prpc-grpc-code:";
    struct reply *rp = ud;
    size_t n = size * nmemb;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        rp->has_code = false; /* a new response (after a 100 Continue) */
        rp->code[0] = '\0';
        return n;
    }
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, k = 0;
        while (i < n && (data[i] == ' ' || data[i] == '\t'))
            i++;
        while (i < n && k < sizeof(rp->code) - 1 && data[i] != '\r' && data[i] != '\n' &&
               data[i] != ' ')
            rp->code[k++] = data[i++];
        rp->code[k] = '\0';
        rp->has_code = true;
    }
    return n;
}

/* "text\n" -> "text", cut at CLIENT_MAX_ERROR_BYTES, no control characters. */
static void copy_message(char *out, size_t outlen, const char *body, size_t len)
{
    size_t k = 0;

    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        len--;
    for (size_t i = 0; i < len && k + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)body[i];
        out[k++] = (ch < 0x20 && ch != '\t') || ch == 0x7f ? ' ' : (char)ch;
    }
    out[k] = '\0';
}

int client_decode_reply(const char *code_header, long http_status, const char *body,
                        size_t len, json_t **ret, struct client_error *reterr)
{
    json_error_t jerr;
    json_t *v;

    if (!code_header) {
        char msg[CLIENT_MAX_ERROR_BYTES + 1];
        copy_message(msg, 512, body, len);
        if (http_status == 401)
            set_error(reterr, CLIENT_UNAUTHENTICATED, true, "HTTP 401 from a non-pRPC server: %s",
                      msg);
        else if (http_status == 403)
            set_error(reterr, CLIENT_PERMISSION_DENIED, true,
                      "HTTP 403 from a non-pRPC server: %s", msg);
        else if (http_status == 503)
            set_error(reterr, CLIENT_UNAVAILABLE, true, "HTTP 503 from a non-pRPC server: %s",
                      msg);
        else
            set_error(reterr, CLIENT_INTERNAL, true,
                      "prpc: no X-Prpc-Grpc-Code header, HTTP status %ld, body: %s",
                      http_status, msg);
        return -EPROTO;
    }
    char *end;
    errno = 0;
    long code = strtol(code_header, &end, 10);
    if (errno || end == code_header || *end || code < 0 || code > INT_MAX) {
        set_error(reterr, CLIENT_INTERNAL, true, "bad X-Prpc-Grpc-Code header '%s'",
                  code_header);
        return -EPROTO;
    }
    if (code != 0) {
        reterr->code = (int)code;
        reterr->transport = false;
        copy_message(reterr->message, sizeof(reterr->message), body, len);
        return -EIO;
    }
    if (len >= strlen(PRPC_XSSI_PREFIX) &&
        memcmp(body, PRPC_XSSI_PREFIX, strlen(PRPC_XSSI_PREFIX)) == 0) {
        body += strlen(PRPC_XSSI_PREFIX);
        len -= strlen(PRPC_XSSI_PREFIX);
    }
    v = json_loadb(body, len, 0, &jerr);
    if (!v || !json_is_object(v)) {
        set_error(reterr, CLIENT_INTERNAL, true, "bad JSON reply: %s",
                  v ? "not an object" : jerr.text);
        json_decref(v);
        return -EPROTO;
    }
    *ret = v;
    return 0;
}

int client_call(struct client *c, const char *service, const char *method, const json_t *req,
                json_t **ret, struct client_error *reterr)
{
    struct curl_slist *headers = NULL;
    struct reply rp = {.has_code = false};
    char curl_err[CURL_ERROR_SIZE] = "";
    char *url = NULL, *body = NULL;
    CURL *h = NULL;
    long status = 0;
    int r;

    buf_init(&rp.body, CLIENT_MAX_REPLY_BYTES);
    size_t n = strlen(c->server) + strlen(service) + strlen(method) + 16;
    url = malloc(n);
    body = json_dumps(req, JSON_COMPACT);
    if (!url || !body || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(h = curl_easy_init())) {
        set_error(reterr, CLIENT_INTERNAL, true, "out of memory");
        r = -ENOMEM;
        goto out;
    }
    snprintf(url, n, "%s/prpc/%s/%s", c->server, service, method);
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    if (l)
        headers = l;
    if (l && (l = curl_slist_append(headers, "Accept: application/json")))
        headers = l;
    if (l && c->auth_header && (l = curl_slist_append(headers, c->auth_header)))
        headers = l;
    if (!l) {
        set_error(reterr, CLIENT_INTERNAL, true, "out of memory");
        r = -ENOMEM;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tock client");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_sec);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &rp);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        const char *why = curl_err[0] ? curl_err : curl_easy_strerror(rc);
        if (rp.too_big)
            set_error(reterr, CLIENT_RESOURCE_EXHAUSTED, true,
                      "the reply from %s is larger than %u bytes", c->server,
                      CLIENT_MAX_REPLY_BYTES);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            set_error(reterr, CLIENT_DEADLINE_EXCEEDED, true, "no answer from %s in %lds: %s",
                      c->server, c->timeout_sec, why);
        else
            set_error(reterr, CLIENT_UNAVAILABLE, true, "cannot reach %s: %s", c->server, why);
        r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    r = client_decode_reply(rp.has_code ? rp.code : NULL, status, rp.body.data, rp.body.len,
                            ret, reterr);
out:
    curl_slist_free_all(headers);
    if (h)
        curl_easy_cleanup(h);
    free(url);
    free(body);
    buf_release(&rp.body);
    return r;
}

/* ---- tables ----------------------------------------------------------------- */

int client_table_init(struct client_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > CLIENT_TABLE_MAX_COLS)
        return -EINVAL;
    t->ncols = ncols;
    t->nrows = (size_t)-1; /* the header row is added as row 0 */
    int r = client_table_add(t, headers);
    if (r < 0)
        client_table_release(t);
    return r;
}

int client_table_add(struct client_table *t, const char *const *cells)
{
    size_t rows = t->nrows + 1; /* rows stored so far, header included */

    if (rows > CLIENT_TABLE_MAX_ROWS)
        return -E2BIG;
    if ((rows + 1) * t->ncols > t->alloc) {
        size_t a = t->alloc ? t->alloc * 2 : 16 * t->ncols;
        char **v = realloc(t->cells, a * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->cells = v;
        t->alloc = a;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *s = strdup(cells[i] ? cells[i] : "");
        if (!s) {
            while (i-- > 0)
                free(t->cells[rows * t->ncols + i]);
            return -ENOMEM;
        }
        t->cells[rows * t->ncols + i] = s;
    }
    t->nrows++;
    return 0;
}

/* Width in characters: UTF-8 continuation bytes don't count. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void client_table_print(const struct client_table *t, FILE *f)
{
    size_t width[CLIENT_TABLE_MAX_COLS] = {0};

    if (!t->cells)
        return;
    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r <= t->nrows; r++) {
        /* Trailing empty cells would only print spaces: find the last one. */
        size_t last = t->ncols;
        while (last > 1 && !t->cells[r * t->ncols + last - 1][0])
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *s = t->cells[r * t->ncols + c];
            fputs(s, f);
            if (c + 1 < last)
                for (size_t pad = text_width(s); pad < width[c] + 2; pad++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
}

void client_table_release(struct client_table *t)
{
    if (t->cells)
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
