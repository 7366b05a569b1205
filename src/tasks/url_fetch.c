/*
 * url_fetch.c - the "url_fetch" task manager (spec 4.3), on libcurl.
 *
 * launch() does everything (multistage = false):
 *   1. logs "GET <url>" and saves, leaving the status STARTING (a crash
 *      during the fetch makes the engine launch again);
 *   2. fetches the URL with the task's timeout (timeout_sec, default 60 s),
 *      following at most 10 redirects, plain http/https only;
 *   3. sets SUCCEEDED, or FAILED on a fetch error or an HTTP status >= 400;
 *   4. logs "Finished with overall status <S> in <d>", then one of
 *      "URL fetch error: <err>" or a dump of the response: the status
 *      ("200 OK"), the headers as Go's Header.Write writes them (canonical
 *      keys, sorted, "Key: value\r\n"), a blank line, then "<empty body>",
 *      the first 4096 bytes of a text/, application/json or
 *      application/xml body (+ "<truncated>"), or "<binary response>".
 * It never returns an error for a failed fetch: like LUCI, fetches are not
 * retried.  Unlike LUCI the dump is logged as it is, not used as a printf
 * format (spec 8.3 #12), and bytes that are not UTF-8 become U+FFFD.
 *
 * NEEDSWORK: the fetch blocks one engine worker thread for up to the task's
 * timeout (at most 480 s).  A curl multi handle serviced by its own thread
 * would free the worker; the engine would then need an async completion.
 */
#include "tasks/registry.h"

#include <ctype.h>
#include <pthread.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/metrics.h"
#include "base/time.h"
#include "net/client.h"
#include "tasks/taskjson.h"

#define URL_FETCH_DEFAULT_TIMEOUT_SEC 60
#define URL_FETCH_MAX_TIMEOUT_SEC 480
#define URL_FETCH_DEFAULT_DUMP_BYTES 4096u

struct fetch_header {
    char *key; /* canonical */
    char *value;
    size_t order; /* arrival order, to keep the sort stable */
};

struct fetch {
    /* The final response (earlier ones in a redirect chain are dropped). */
    long status;
    char reason[128];
    struct fetch_header headers[URL_FETCH_MAX_HEADERS];
    size_t n_headers;
    size_t header_bytes;
    bool header_overflow;

    struct buf body;   /* at most dump_limit + 1 bytes */
    bool body_stopped; /* we stopped reading on purpose: the body is longer */
};

static void fetch_clear_headers(struct fetch *f)
{
    for (size_t i = 0; i < f->n_headers; i++) {
        free(f->headers[i].key);
        free(f->headers[i].value);
    }
    f->n_headers = 0;
    f->header_bytes = 0;
}

/* Go's textproto token characters (RFC 7230 tchar). */
static bool is_token_char(unsigned char ch)
{
    return isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * Go's CanonicalMIMEHeaderKey: "content-type" -> "Content-Type".  A key
 * with a character outside the token set is kept as it is.
 */
static void canonical_key(char *k)
{
    bool upper = true;

    for (char *p = k; *p; p++)
        if (!is_token_char((unsigned char)*p))
            return;
    for (char *p = k; *p; p++) {
        *p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        upper = *p == '-';
    }
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        n--;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    /* Go's Header.Write turns stray newlines in values into spaces. */
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\r' || d[i] == '\n')
            d[i] = ' ';
    return d;
}

/* "HTTP/1.1 404 Not Found" starts a new response: forget the last one. */
static void fetch_status_line(struct fetch *f, const char *line, size_t n)
{
    const char *p = memchr(line, ' ', n);
    size_t i;
    long code = 0;

    fetch_clear_headers(f);
    f->reason[0] = '\0';
    f->status = 0;
    if (!p)
        return;
    i = (size_t)(p - line) + 1;
    for (int digits = 0; i < n && digits < 3 && isdigit((unsigned char)line[i]);
         i++, digits++)
        code = code * 10 + (line[i] - '0');
    f->status = code;
    if (i < n && line[i] == ' ')
        i++;
    size_t rn = n - i;
    while (rn > 0 && (line[i + rn - 1] == '\r' || line[i + rn - 1] == '\n' ||
                      line[i + rn - 1] == ' '))
        rn--;
    if (rn >= sizeof(f->reason))
        rn = sizeof(f->reason) - 1;
    memcpy(f->reason, line + i, rn);
    f->reason[rn] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct fetch *f = ud;
    size_t n = size * nmemb;
    const char *colon;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        fetch_status_line(f, data, n);
        return n;
    }
    if (n == 0 || data[0] == '\r' || data[0] == '\n')
        return n; /* the blank line ending a header block */
    f->header_bytes += n;
    if (f->header_bytes > URL_FETCH_MAX_HEADER_BYTES) {
        f->header_overflow = true;
        return 0; /* aborts the transfer */
    }
    if ((data[0] == ' ' || data[0] == '\t') && f->n_headers > 0) {
        /* An obsolete folded line continues the previous value. */
        struct fetch_header *h = &f->headers[f->n_headers - 1];
        char *more = dup_trimmed(data, n);
        size_t a = strlen(h->value), b = more ? strlen(more) : 0;
        char *joined = more ? malloc(a + b + 2) : NULL;
        if (!joined) {
            free(more);
            return 0;
        }
        memcpy(joined, h->value, a);
        joined[a] = ' ';
        memcpy(joined + a + 1, more, b + 1);
        free(more);
        free(h->value);
        h->value = joined;
        return n;
    }
    colon = memchr(data, ':', n);
    if (!colon)
        return n; /* not a header: ignore, as Go's reader would reject it */
    if (f->n_headers >= URL_FETCH_MAX_HEADERS) {
        f->header_overflow = true;
        return 0;
    }
    struct fetch_header *h = &f->headers[f->n_headers];
    h->key = dup_trimmed(data, (size_t)(colon - data));
    h->value = dup_trimmed(colon + 1, n - (size_t)(colon - data) - 1);
    if (!h->key || !h->value) {
        free(h->key);
        free(h->value);
        return 0;
    }
    canonical_key(h->key);
    h->order = f->n_headers;
    f->n_headers++;
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct fetch *f = ud;
    size_t n = size * nmemb;
    size_t room = f->body.max - f->body.len;

    if (n > room) {
        /* Keep what fits (one byte past the dump limit), then stop reading. */
        if (buf_append(&f->body, data, room) < 0)
            return 0;
        f->body_stopped = true;
        return 0;
    }
    if (buf_append(&f->body, data, n) < 0)
        return 0;
    return n;
}

static const char *fetch_header_get(const struct fetch *f, const char *key)
{
    for (size_t i = 0; i < f->n_headers; i++)
        if (strcmp(f->headers[i].key, key) == 0)
            return f->headers[i].value;
    return NULL;
}

static int header_cmp(const void *a, const void *b)
{
    const struct fetch_header *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Go's http.StatusText for the codes a server may send without a reason. */
static const char *status_text(long code)
{
    static const struct {
        long code;
        const char *text;
    } texts[] = {
        {200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
        {301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
        {400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"},
        {404, "Not Found"}, {405, "Method Not Allowed"}, {409, "Conflict"},
        {429, "Too Many Requests"}, {500, "Internal Server Error"},
        {501, "Not Implemented"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        if (texts[i].code == code)
            return texts[i].text;
    return "";
}

/*
 * Appends s[0..n) to out with every byte sequence that is not UTF-8, and
 * every NUL, replaced by U+FFFD: the debug log is text.
 */
static int append_utf8(struct buf *out, const char *s, size_t n)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t i = 0;
    int r;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 0;
        uint32_t cp = 0, min = 0;

        if (c >= 0x01 && c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07, min = 0x10000;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) {
            unsigned char cc = (unsigned char)s[i + k];
            if ((cc & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (cc & 0x3F);
        }
        if (ok && len > 1 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok) {
            r = buf_append(out, s + i, len);
            i += len;
        } else {
            r = buf_append(out, repl, 3);
            i++;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int dump_response(struct fetch *f, size_t dump_limit, struct buf *out)
{
    const char *ct = fetch_header_get(f, "Content-Type");
    int r;

    if (f->reason[0])
        r = buf_printf(out, "%ld %s\n", f->status, f->reason);
    else
        r = buf_printf(out, "%ld %s\n", f->status, status_text(f->status));
    if (r < 0)
        return r;
    sort_array(f->headers, f->n_headers, sizeof(f->headers[0]), header_cmp);
    for (size_t i = 0; i < f->n_headers; i++) {
        if ((r = append_utf8(out, f->headers[i].key, strlen(f->headers[i].key))) < 0 ||
            (r = buf_puts(out, ": ")) < 0 ||
            (r = append_utf8(out, f->headers[i].value, strlen(f->headers[i].value))) < 0 ||
            (r = buf_puts(out, "\r\n")) < 0)
            return r;
    }
    if ((r = buf_puts(out, "\n")) < 0)
        return r;
    if (f->body.len == 0)
        return buf_puts(out, "<empty body>");
    if (ct && (strncmp(ct, "text/", 5) == 0 || strncmp(ct, "application/json", 16) == 0 ||
               strncmp(ct, "application/xml", 15) == 0)) {
        bool truncated = f->body.len > dump_limit || f->body_stopped;
        size_t n = f->body.len > dump_limit ? dump_limit : f->body.len;
        if ((r = append_utf8(out, f->body.data, n)) < 0)
            return r;
        if (truncated)
            return buf_puts(out, "<truncated>");
        return 0;
    }
    return buf_puts(out, "<binary response>");
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fetch_params {
    const char *method;
    const char *url;
    long timeout_sec;
    size_t dump_limit;
};

static int fetch_params_get(const struct task_manager *m, struct task_ctl *c,
                            struct fetch_params *ret)
{
    const struct task_options *opts = m->ctx;
    const json_t *body = taskjson_body(c->task, "urlFetch", "url_fetch");
    int64_t t;

    if (!body || taskjson_int64(body, "timeoutSec", &t) < 0) {
        snprintf(c->err, sizeof(c->err), "bad url_fetch task definition");
        return TASK_ERR_FATAL;
    }
    ret->method = taskjson_str(body, "method");
    if (!*ret->method)
        ret->method = "GET";
    ret->url = taskjson_str(body, "url");
    if (t <= 0)
        t = opts && opts->url_fetch_default_timeout_sec > 0 ? opts->url_fetch_default_timeout_sec
                                                            : URL_FETCH_DEFAULT_TIMEOUT_SEC;
    if (t > URL_FETCH_MAX_TIMEOUT_SEC)
        t = URL_FETCH_MAX_TIMEOUT_SEC;
    ret->timeout_sec = (long)t;
    ret->dump_limit = opts && opts->url_fetch_dump_bytes > 0 ? opts->url_fetch_dump_bytes
                                                             : URL_FETCH_DEFAULT_DUMP_BYTES;
    if (ret->dump_limit > URL_FETCH_MAX_DUMP_BYTES)
        ret->dump_limit = URL_FETCH_MAX_DUMP_BYTES;
    return 0;
}

/*
 * Runs the fetch.  Returns 0 when a response arrived (f filled), or -EIO
 * with a Go-like error message in err.
 */
/*
 * Counts the fetch in the outgoing-calls metric (net/client.h) under the
 * service name "url_fetch": the URLs are the configs', so not a label.
 */
static void count_fetch(CURL *h, CURLcode rc)
{
    long status = 0;
    char code[8];

    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 0)
        snprintf(code, sizeof(code), "error");
    else
        metric_code_label((int)status, code);
    metric_counter_inc(&client_metric_calls, "url_fetch", code);
}

static int fetch_run(const struct fetch_params *p, struct fetch *f, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *h = NULL;
    CURLcode rc;
    int r = 0;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK || !(h = curl_easy_init())) {
        snprintf(err, errlen, "%s %s: cannot initialise libcurl", p->method, p->url);
        return -EIO;
    }
    curl_easy_setopt(h, CURLOPT_URL, p->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)URL_FETCH_MAX_REDIRECTS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_sec * 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tock url_fetch");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    rc = curl_easy_perform(h);
    if (rc == CURLE_WRITE_ERROR && f->body_stopped)
        rc = CURLE_OK; /* we stopped reading past the dump limit */
    if (rc != CURLE_OK) {
        const char *why = curl_err[0] ? curl_err : curl_easy_strerror(rc);
        if (f->header_overflow)
            why = "too many or too large response headers";
        /* Go's url.Error reads `Get "<url>": <reason>`. */
        snprintf(err, errlen, "%c%s \"%s\": %s", p->method[0], p->method + 1, p->url, why);
        for (char *q = err + 1; *q && *q != ' '; q++)
            *q = (char)tolower((unsigned char)*q);
        r = -EIO;
    }
    count_fetch(h, rc);
    curl_easy_cleanup(h);
    return r;
}

static int url_fetch_launch(const struct task_manager *m, struct task_ctl *c)
{
    struct fetch_params p;
    struct fetch *f = NULL;
    struct buf dump;
    char err[1024] = "";
    char dur[TIME_DURATION_MAX];
    int64_t started;
    int r;

    buf_init(&dump, URL_FETCH_MAX_DUMP_BYTES + 2 * URL_FETCH_MAX_HEADER_BYTES + 4096);
    if ((r = fetch_params_get(m, c, &p)) < 0)
        goto out;
    task_ctl_logf(c, "%s %s", p.method, p.url);
    if (c->ops->save && (r = c->ops->save(c)) < 0) {
        snprintf(c->err, sizeof(c->err), "cannot save the invocation: %s", strerror(-r));
        r = TASK_ERR_TRANSIENT;
        goto out;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        r = TASK_ERR_TRANSIENT;
        goto out;
    }
    buf_init(&f->body, p.dump_limit + 1);

    started = c->ops->now(c);
    if (strcmp(p.method, "GET") != 0)
        snprintf(err, sizeof(err), "unsupported HTTP method: \"%s\"", p.method);
    else if (!*p.url)
        snprintf(err, sizeof(err), "field 'url' is required");
    else
        fetch_run(&p, f, err, sizeof(err));
    c->status = err[0] || f->status >= 400 ? INV_FAILED : INV_SUCCEEDED;
    time_format_duration(c->ops->now(c) - started, dur, sizeof(dur));
    task_ctl_logf(c, "Finished with overall status %s in %s", inv_status_name(c->status), dur);
    if (err[0]) {
        task_ctl_logf(c, "URL fetch error: %s", err);
    } else if (dump_response(f, p.dump_limit, &dump) < 0) {
        task_ctl_logf(c, "%ld (the response is too large to show)", f->status);
    } else {
        c->ops->log(c, dump.data);
    }
    r = 0;
out:
    if (f) {
        fetch_clear_headers(f);
        buf_release(&f->body);
        free(f);
    }
    buf_release(&dump);
    return r;
}

const struct task_manager task_url_fetch_manager = {
    .name = "url_fetch",
    .multistage = false,
    .ctx = NULL,
    .launch = url_fetch_launch,
    .handle_timer = NULL,
    .handle_notification = NULL,
    .abort = NULL,
};
