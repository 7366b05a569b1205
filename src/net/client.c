/*
 * client.c - tock's one outgoing HTTP client: host map, in-flight bounds,
 * the libcurl transfer, pRPC calls and plain requests; see client.h.
 * Credentials live in credentials.c.
 */
#include "base/compat.h"
#include "net/client.h"

#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/metrics.h"
#include "base/time.h"
#include "net/credentials.h"
#include "net/prpc.h"

#define PRPC_XSSI_PREFIX ")]}'\n"

struct host_entry {
    char *host; /* "name" or "name:port", as the caller names it */
    char *base; /* "http(s)://...", no trailing '/' */
};

/* Calls in flight to one base URL; the entry goes away at zero. */
struct flight {
    struct flight *next;
    int n;
    char base[];
};

struct client {
    struct host_entry map[CLIENT_MAX_HOST_MAP];
    size_t n_map;
    struct credentials *creds; /* NULL: none configured */
    char *ca_file;
    char *user_agent;
    int64_t timeout_ns;
    size_t max_response_bytes;
    int max_in_flight;
    const struct clock *clock;

    pthread_mutex_t lock; /* guards flights */
    struct flight *flights;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void client_error_set(struct client_error *e, int code, bool transport, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    e->transport = transport;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

bool client_error_is_transient(const struct client_error *e)
{
    return e->code == GRPC_INTERNAL || e->code == GRPC_UNKNOWN ||
           e->code == GRPC_UNAVAILABLE || e->code == GRPC_DEADLINE_EXCEEDED;
}

/* ---- host names and the host map ---------------------------------------------- */

/* "name", "name:port", "[v6]:port": the characters a host may have. */
static bool valid_host(const char *h)
{
    size_t n = strlen(h);
    return n > 0 && n <= 255 &&
           strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") == n;
}

/*
 * A base URL: "http://" or "https://", a host, then optionally a path of
 * URL characters (no query, fragment, user info or white space).
 */
static bool valid_base_url(const char *u)
{
    size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
    const char *a = u + skip, *slash;
    char host[256];

    if (!skip || strlen(u) > CLIENT_MAX_BASE_URL)
        return false;
    slash = strchr(a, '/');
    size_t hl = slash ? (size_t)(slash - a) : strlen(a);
    if (hl == 0 || hl >= sizeof(host))
        return false;
    memcpy(host, a, hl);
    host[hl] = '\0';
    if (!valid_host(host))
        return false;
    if (!slash)
        return true;
    for (const char *p = slash; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("?#@\\\"<>", *p))
            return false;
    return true;
}

/* Parses "HOST=BASEURL" into e.  0, -EINVAL, -ENOMEM. */
static int parse_map_entry(const char *s, struct host_entry *e)
{
    const char *eq = strchr(s, '=');
    size_t len;

    if (!eq || eq == s)
        return -EINVAL;
    e->host = strndup(s, (size_t)(eq - s));
    e->base = strdup(eq + 1);
    if (!e->host || !e->base)
        return -ENOMEM;
    if (!valid_host(e->host) || !valid_base_url(e->base))
        return -EINVAL;
    len = strlen(e->base);
    while (len > 0 && e->base[len - 1] == '/')
        e->base[--len] = '\0';
    return 0;
}

const char *client_host_map_lookup(const struct client *c, const char *authority)
{
    for (size_t i = 0; i < c->n_map; i++)
        if (strcasecmp(c->map[i].host, authority) == 0)
            return c->map[i].base;
    return NULL;
}

bool client_host_is_mapped(const struct client *c, const char *host)
{
    return c && host && client_host_map_lookup(c, host) != NULL;
}

int client_base_url(const struct client *c, const char *host, char *out, size_t outlen)
{
    const char *mapped;
    int n;

    if (strncmp(host, "http://", 7) == 0 || strncmp(host, "https://", 8) == 0) {
        if (!valid_base_url(host))
            return -EINVAL;
        n = snprintf(out, outlen, "%s", host);
    } else if (!valid_host(host)) {
        return -EINVAL;
    } else if ((mapped = client_host_map_lookup(c, host))) {
        n = snprintf(out, outlen, "%s", mapped);
    } else {
        n = snprintf(out, outlen, "https://%s", host);
    }
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

/* ---- making one --------------------------------------------------------------- */

static int client_new_map(struct client *c, const struct client_options *o,
                          struct client_error *reterr)
{
    if (o->n_host_map > CLIENT_MAX_HOST_MAP) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "more than %d --host-map entries",
                  CLIENT_MAX_HOST_MAP);
        return -EINVAL;
    }
    for (size_t i = 0; i < o->n_host_map; i++) {
        int r = parse_map_entry(o->host_map[i], &c->map[c->n_map++]);
        if (r == -ENOMEM) {
            client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
            return r;
        }
        if (r < 0) {
            client_error_set(reterr, GRPC_INVALID_ARGUMENT, true,
                      "--host-map wants HOST=http(s)://HOST[:PORT][/PATH], not '%.200s'",
                      o->host_map[i]);
            return r;
        }
    }
    return 0;
}

int client_new(const struct client_options *o, struct client **ret, struct client_error *reterr)
{
    struct client *c;
    int r;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        client_error_set(reterr, GRPC_INTERNAL, true, "cannot initialise libcurl");
        return -ENOMEM;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->timeout_ns = o->timeout_ns > 0 ? o->timeout_ns : CLIENT_DEFAULT_TIMEOUT_NS;
    c->max_response_bytes = o->max_response_bytes ? o->max_response_bytes : CLIENT_MAX_REPLY_BYTES;
    c->max_in_flight = o->max_in_flight > 0 ? o->max_in_flight : CLIENT_DEFAULT_MAX_IN_FLIGHT;
    c->clock = o->clock ? o->clock : clock_real();
    r = client_new_map(c, o, reterr);
    if (r < 0)
        goto out;
    if (o->ca_file && access(o->ca_file, R_OK) < 0) {
        r = -errno;
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "cannot read --ca-file %s: %s",
                  o->ca_file, strerror(errno));
        goto out;
    }
    r = -ENOMEM;
    if ((o->ca_file && !(c->ca_file = strdup(o->ca_file))) ||
        !(c->user_agent = strdup(o->user_agent ? o->user_agent : "tock"))) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        goto out;
    }
    r = credentials_new(o, &c->creds, reterr);
    if (r < 0)
        goto out;
    *ret = c;
    c = NULL;
out:
    client_free(c);
    return r;
}

struct client *client_free(struct client *c)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_map; i++) {
        free(c->map[i].host);
        free(c->map[i].base);
    }
    credentials_free(c->creds);
    free(c->ca_file);
    free(c->user_agent);
    while (c->flights) {
        struct flight *f = c->flights;
        c->flights = f->next;
        free(f);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

/* ---- calls in flight ---------------------------------------------------------- */

/* Counts one more call to base.  0, -EBUSY (at the cap), -ENOMEM. */
static int flight_enter(struct client *c, const char *base)
{
    struct flight *f;
    int r = 0;

    pthread_mutex_lock(&c->lock);
    for (f = c->flights; f; f = f->next)
        if (strcmp(f->base, base) == 0)
            break;
    if (!f) {
        size_t n = strlen(base) + 1;
        if ((f = calloc(1, sizeof(*f) + n))) {
            memcpy(f->base, base, n);
            f->next = c->flights;
            c->flights = f;
        } else {
            r = -ENOMEM;
        }
    }
    if (f && f->n >= c->max_in_flight)
        r = -EBUSY;
    else if (f)
        f->n++;
    pthread_mutex_unlock(&c->lock);
    return r;
}

static void flight_leave(struct client *c, const char *base)
{
    pthread_mutex_lock(&c->lock);
    for (struct flight **p = &c->flights; *p; p = &(*p)->next) {
        if (strcmp((*p)->base, base) != 0)
            continue;
        if (--(*p)->n <= 0) {
            struct flight *f = *p;
            *p = f->next;
            free(f);
        }
        break;
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- one transfer ------------------------------------------------------------- */

struct metric_counter client_metric_calls =
    METRIC_COUNTER("tock_outgoing_calls_total",
                   "Outgoing HTTP and pRPC calls, by the host the caller named and the HTTP "
                   "status (\"error\": no answer: refused, timed out, too large, TLS).",
                   "host", "code");

struct transfer {
    /* in */
    const char *host; /* the caller's host name: the metrics label */
    const char *base; /* resolved base URL: the in-flight key, and messages */
    const char *url;
    const char *method;
    const struct curl_slist *headers;
    const char *body; /* NULL: none */
    size_t body_len;
    int64_t timeout_ns;
    /* out */
    long status;
    struct buf reply;
    bool too_big;
    bool has_code;
    char code[16]; /* X-Prpc-Grpc-Code */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t n = size * nmemb;

    if (buf_append(&t->reply, data, n) < 0) {
        t->too_big = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    static const char name[] = "x-prpc-grpc-code:";
    struct transfer *t = ud;
    size_t n = size * nmemb;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->has_code = false; /* a new response (after a 100 Continue) */
        t->code[0] = '\0';
        return n;
    }
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, k = 0;
        while (i < n && (data[i] == ' ' || data[i] == '\t'))
            i++;
        while (i < n && k < sizeof(t->code) - 1 && data[i] != '\r' && data[i] != '\n' &&
               data[i] != ' ')
            t->code[k++] = data[i++];
        t->code[k] = '\0';
        t->has_code = true;
    }
    return n;
}

static void set_transfer_options(struct client *c, CURL *h, struct transfer *t, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)((t->timeout_ns + 999999) / 1000000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)((t->timeout_ns < CLIENT_CONNECT_TIMEOUT_NS ? t->timeout_ns
                                                                       : CLIENT_CONNECT_TIMEOUT_NS) +
                            999999) /
                         1000000);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    if (strcmp(t->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(t->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, t->method);
        if (t->body || strcmp(t->method, "DELETE") != 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->body ? t->body : "");
        }
    }
}

/* Maps a failed curl_easy_perform to a transport error. */
static int transfer_error(const struct client *c, const struct transfer *t, CURLcode rc,
                          const char *errbuf, struct client_error *reterr)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    char d[64];

    if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        client_error_set(reterr, GRPC_RESOURCE_EXHAUSTED, true,
                  "the reply from %s is larger than %zu bytes", t->base, c->max_response_bytes);
        return -EFBIG;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        if (time_format_duration(t->timeout_ns, d, sizeof(d)) < 0)
            snprintf(d, sizeof(d), "%" PRId64 "ns", t->timeout_ns);
        client_error_set(reterr, GRPC_DEADLINE_EXCEEDED, true, "no answer from %s in %s: %s", t->base,
                  d, why);
        return -ETIMEDOUT;
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "bad URL for %s: %s", t->base, why);
        return -EINVAL;
    }
    if (rc == CURLE_OUT_OF_MEMORY) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        return -ENOMEM;
    }
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
        rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE) {
        client_error_set(reterr, GRPC_UNAVAILABLE, true, "TLS failed with %s, the server's "
                         "certificate is not trusted or the handshake failed (give a private CA "
                         "with --ca-file): %s", t->base, why);
        return -ECONNREFUSED;
    }
    client_error_set(reterr, GRPC_UNAVAILABLE, true, "cannot reach %s: %s", t->base, why);
    return -ECONNREFUSED;
}

/* Runs t within the in-flight bound.  0 (t->status and t->reply set) or a transport error. */
/*
 * Counts one finished call (status 0: no HTTP answer).  Hosts are kept
 * until LIMIT_METRIC_SERIES series exist; the rest count as "other".
 */
static void count_call(const char *host, long status)
{
    char code[8];

    if (status == 0)
        snprintf(code, sizeof(code), "error");
    else
        metric_code_label((int)status, code);
    metric_counter_inc(&client_metric_calls, host && *host ? host : "unknown", code);
}

static int transfer_run(struct client *c, struct transfer *t, struct client_error *reterr)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h;
    int r;

    r = flight_enter(c, t->base);
    if (r == -EBUSY) {
        client_error_set(reterr, GRPC_UNAVAILABLE, true, "too many calls in flight to %s", t->base);
        return -EAGAIN;
    }
    if (r < 0 || !(h = curl_easy_init())) {
        if (r == 0)
            flight_leave(c, t->base);
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        return -ENOMEM;
    }
    set_transfer_options(c, h, t, errbuf);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t->status);
    curl_easy_cleanup(h);
    flight_leave(c, t->base);
    count_call(t->host, rc == CURLE_OK ? t->status : 0);
    if (rc != CURLE_OK)
        return transfer_error(c, t, rc, errbuf, reterr);
    return 0;
}

/*
 * X-Prpc-Grpc-Timeout for ns: the finest unit whose value fits in 8 digits,
 * rounded up (wire-formats.md 1.6: 60 s is "60000000u").
 */
static void encode_timeout(int64_t ns, char *out, size_t outlen)
{
    static const struct {
        int64_t ns;
        char unit;
    } units[] = {
        {1, 'n'},
        {1000, 'u'},
        {1000000, 'm'},
        {INT64_C(1000000000), 'S'},
        {60 * INT64_C(1000000000), 'M'},
        {3600 * INT64_C(1000000000), 'H'},
    };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        int64_t v = ns / units[i].ns + (ns % units[i].ns != 0);
        if (v <= 99999999 || i + 1 == ARRAY_SIZE(units)) {
            snprintf(out, outlen, "%" PRId64 "%c", v > 99999999 ? 99999999 : v, units[i].unit);
            return;
        }
    }
}

/* Appends one header line; false when out of memory. */
static bool add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return false;
    *l = n;
    return true;
}

/* Frees a header list that may hold a token. */
static void free_headers(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next) {
        volatile char *s = p->data;
        while (*s)
            *s++ = 0;
    }
    curl_slist_free_all(l);
}

/* What a request needs besides its transfer: the parts that go into headers. */
struct request_parts {
    const char *host;
    const char *path;
    const char *content_type; /* NULL = none */
    const char *accept;
    const char *const *extra; /* NULL-terminated "Name: value" lines, checked */
    bool prpc;
};

/*
 * Resolves the host, builds the URL and headers (credentials when asked)
 * into t, runs it.  On success the caller owns t->reply.
 */
static int request(struct client *c, const struct request_parts *p,
                   const struct client_call_options *o, struct transfer *t,
                   struct client_error *reterr)
{
    char base[CLIENT_MAX_BASE_URL + 1], line[128], *url = NULL, *auth = NULL;
    struct curl_slist *headers = NULL;
    int r;

    t->timeout_ns = o && o->timeout_ns > 0 ? o->timeout_ns : c->timeout_ns;
    r = client_base_url(c, p->host, base, sizeof(base));
    if (r < 0) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "bad host '%.200s'", p->host);
        return r;
    }
    if (p->path[0] != '/' || strlen(base) + strlen(p->path) > CLIENT_MAX_URL ||
        strpbrk(p->path, " \t\r\n")) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "bad path for %s", base);
        return -EINVAL;
    }
    if (o && o->authenticated) {
        if (!c->creds) {
            client_error_set(reterr, GRPC_UNAUTHENTICATED, true,
                      "a call to %s needs credentials and none are configured", base);
            return -ENOKEY;
        }
        int64_t start = clock_mono(c->clock);
        r = credentials_header(c->creds, c, t->timeout_ns, &auth, reterr);
        if (r < 0)
            return r;
        /* Getting the token used part of the deadline. */
        int64_t left = t->timeout_ns - (clock_mono(c->clock) - start);
        if (left <= 0) {
            credentials_wipe_free(auth);
            client_error_set(reterr, GRPC_DEADLINE_EXCEEDED, true,
                      "no time left for the call to %s after getting a token", base);
            return -ETIMEDOUT;
        }
        t->timeout_ns = left;
    }
    r = -ENOMEM;
    size_t n = strlen(base) + strlen(p->path) + 1;
    if (!(url = malloc(n)))
        goto oom;
    snprintf(url, n, "%s%s", base, p->path);
    snprintf(line, sizeof(line), "Accept: %s", p->accept);
    if (!add_header(&headers, line) || !add_header(&headers, "Expect:"))
        goto oom;
    if (p->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", p->content_type);
        if (!add_header(&headers, line))
            goto oom;
    }
    if (p->prpc) {
        char v[32];
        encode_timeout(t->timeout_ns, v, sizeof(v));
        snprintf(line, sizeof(line), "X-Prpc-Grpc-Timeout: %s", v);
        if (!add_header(&headers, line))
            goto oom;
        snprintf(line, sizeof(line), "X-Prpc-Max-Response-Size: %zu", c->max_response_bytes);
        if (!add_header(&headers, line))
            goto oom;
    }
    if (auth && !add_header(&headers, auth))
        goto oom;
    for (size_t i = 0; p->extra && p->extra[i]; i++)
        if (!add_header(&headers, p->extra[i]))
            goto oom;
    t->host = p->host;
    t->base = base;
    t->url = url;
    t->headers = headers;
    r = transfer_run(c, t, reterr);
    t->host = NULL;
    t->base = NULL;
    t->url = NULL;
    t->headers = NULL;
    goto out;
oom:
    client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
out:
    free_headers(headers);
    credentials_wipe_free(auth);
    free(url);
    return r;
}

/* ---- pRPC --------------------------------------------------------------------- */

/* "text\n" -> "text", cut to outlen, no control characters. */
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

/* An answer without X-Prpc-Grpc-Code: the HTTP status says what happened. */
static int decode_without_code(long http_status, const char *body, size_t len,
                               struct client_error *reterr)
{
    char msg[513];

    copy_message(msg, sizeof(msg), body, len);
    if (http_status == 401)
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "HTTP 401 from a non-pRPC server: %s",
                  msg);
    else if (http_status == 403)
        client_error_set(reterr, GRPC_PERMISSION_DENIED, true, "HTTP 403 from a non-pRPC server: %s",
                  msg);
    else if (http_status == 503)
        client_error_set(reterr, GRPC_UNAVAILABLE, true, "HTTP 503 from a non-pRPC server: %s", msg);
    else
        client_error_set(reterr, GRPC_INTERNAL, true,
                  "prpc: no X-Prpc-Grpc-Code header, HTTP status %ld, body: %s", http_status,
                  msg);
    return -EPROTO;
}

int client_decode_reply(const char *code_header, long http_status, const char *body, size_t len,
                        json_t **ret, struct client_error *reterr)
{
    json_error_t jerr;
    json_t *v;
    char *end;
    long code;

    if (!code_header)
        return decode_without_code(http_status, body, len, reterr);
    errno = 0;
    code = strtol(code_header, &end, 10);
    if (errno || end == code_header || *end || code < 0 || code > INT_MAX) {
        client_error_set(reterr, GRPC_INTERNAL, true, "bad X-Prpc-Grpc-Code header '%.16s'",
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
        client_error_set(reterr, GRPC_INTERNAL, true, "bad JSON reply: %s",
                  v ? "not an object" : jerr.text);
        json_decref(v);
        return -EPROTO;
    }
    *ret = v;
    return 0;
}

/* Service and method names: dotted identifiers. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 256 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._") == n;
}

int client_prpc(struct client *c, const char *host, const char *service, const char *method,
                const json_t *req, const struct client_call_options *o, json_t **ret,
                struct client_error *reterr)
{
    struct transfer t = {.method = "POST"};
    char path[600];
    char *body = NULL;
    int r;

    buf_init(&t.reply, c->max_response_bytes);
    if (!valid_name(service) || !valid_name(method)) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "bad pRPC method name '%.256s/%.256s'",
                  service, method);
        return -EINVAL;
    }
    snprintf(path, sizeof(path), "/prpc/%s/%s", service, method);
    if (!(body = json_dumps(req, JSON_COMPACT))) {
        client_error_set(reterr, GRPC_INTERNAL, true, "cannot encode the request");
        return -ENOMEM;
    }
    t.body = body;
    t.body_len = strlen(body);
    struct request_parts p = {
        .host = host,
        .path = path,
        .content_type = "application/json",
        .accept = "application/json",
        .prpc = true,
    };
    r = request(c, &p, o, &t, reterr);
    if (r == 0)
        r = client_decode_reply(t.has_code ? t.code : NULL, t.status, t.reply.data, t.reply.len,
                                ret, reterr);
    buf_release(&t.reply);
    free(body);
    return r;
}

/* ---- plain HTTP --------------------------------------------------------------- */

/* At most CLIENT_MAX_EXTRA_HEADERS lines, each "Name: value", bounded, no CR/LF. */
static bool extra_headers_ok(const char *const *h)
{
    size_t i = 0;

    for (; h && h[i]; i++) {
        size_t n = strlen(h[i]);
        if (i >= CLIENT_MAX_EXTRA_HEADERS || n > CLIENT_MAX_EXTRA_HEADER ||
            strpbrk(h[i], "\r\n") || !strchr(h[i], ':') || h[i][0] == ':')
            return false;
    }
    return true;
}

int client_http(struct client *c, const struct client_http_request *rq,
                const struct client_call_options *o, struct client_http_response *ret,
                struct client_error *reterr)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    struct transfer t = {.method = rq->method, .body = rq->body, .body_len = rq->body_len};
    bool known = false;
    int r;

    for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
        known = known || (rq->method && strcmp(rq->method, methods[i]) == 0);
    if (!known || !rq->host || !rq->path ||
        (rq->content_type && strlen(rq->content_type) > 100) ||
        (rq->accept && strlen(rq->accept) > 100) || !extra_headers_ok(rq->headers)) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "bad HTTP request");
        return -EINVAL;
    }
    buf_init(&t.reply, c->max_response_bytes);
    struct request_parts p = {
        .host = rq->host,
        .path = rq->path,
        .content_type = rq->content_type,
        .accept = rq->accept ? rq->accept : "application/json",
        .extra = rq->headers,
    };
    r = request(c, &p, o, &t, reterr);
    if (r == 0) {
        ret->status = t.status;
        ret->body = buf_detach(&t.reply, &ret->len);
        if (!ret->body) {
            client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
            r = -ENOMEM;
        }
    }
    buf_release(&t.reply);
    return r;
}

void client_http_response_release(struct client_http_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}
