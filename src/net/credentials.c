/*
 * credentials.c - bearer tokens from a service-account key, a token file or
 * a token command; see credentials.h.
 */
#include "base/compat.h"
#include "net/credentials.h"

#include "base/base64.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/buf.h"
#include "base/file.h"
#include "net/prpc.h"

extern char **environ;

#define JWT_LIFETIME_SEC 3600
#define JWT_MAX_BYTES (16u * 1024)
#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define BEARER "Authorization: Bearer "

enum source { SOURCE_SERVICE_ACCOUNT, SOURCE_TOKEN_FILE, SOURCE_TOKEN_COMMAND };

struct credentials {
    pthread_mutex_t lock;
    enum source source;
    const struct clock *clock;
    char *token;        /* the cached token, or NULL */
    int64_t expires_ns; /* mono time the cached token stops being used */

    /* service account */
    EVP_PKEY *key;
    char *key_id; /* private_key_id, or NULL */
    char *email;
    char *token_uri;
    char *scopes;

    /* token file */
    char *path;
    struct timespec mtime;
    off_t size;

    /* token command */
    char *command;
};

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void credentials_wipe_free(char *s)
{
    if (!s)
        return;
    wipe(s, strlen(s));
    free(s);
}

/* ---- base64url and the JWT ---------------------------------------------------- */

int credentials_base64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    size_t k = strlen(out);

    if (k >= outlen || base64_encode(BASE64_URL, in, n, out + k, outlen - k) < 0) {
        out[k < outlen ? k : outlen - 1] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Appends base64url(JSON of v) and a '.' when dot. */
static int append_json_part(const json_t *v, char *out, size_t outlen, bool dot)
{
    char *s = json_dumps(v, JSON_COMPACT);
    int r;

    if (!s)
        return -ENOMEM;
    r = credentials_base64url((const unsigned char *)s, strlen(s), out, outlen);
    free(s);
    if (r == 0 && dot) {
        size_t k = strlen(out);
        if (k + 2 > outlen)
            return -ENAMETOOLONG;
        out[k] = '.';
        out[k + 1] = '\0';
    }
    return r;
}

static EVP_PKEY *load_rsa_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (k && EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* Appends "." + base64url(RS256 signature of out) to out. */
static int sign_rs256(EVP_PKEY *key, char *out, size_t outlen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0, k;
    int r = -ENOMEM;

    if (!md)
        goto out;
    r = -EINVAL;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)out, strlen(out)) != 1)
        goto out;
    r = -ENOMEM;
    if (!(sig = malloc(siglen)))
        goto out;
    r = -EINVAL;
    if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out, strlen(out)) != 1)
        goto out;
    r = -ENAMETOOLONG;
    k = strlen(out);
    if (k + 2 > outlen)
        goto out;
    out[k] = '.';
    out[k + 1] = '\0';
    r = credentials_base64url(sig, siglen, out, outlen);
out:
    free(sig);
    EVP_MD_CTX_free(md);
    return r;
}

static int make_jwt(EVP_PKEY *key, const char *kid, const char *iss, const char *scope,
                    const char *aud, int64_t iat_sec, char **ret)
{
    json_t *head = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "scope", scope, "aud",
                               aud, "iat", (json_int_t)iat_sec, "exp",
                               (json_int_t)(iat_sec + JWT_LIFETIME_SEC));
    char *jwt = calloc(1, JWT_MAX_BYTES);
    int r = -ENOMEM;

    if (!head || !claims || !jwt)
        goto out;
    if (kid && json_object_set_new(head, "kid", json_string(kid)) < 0)
        goto out;
    r = append_json_part(head, jwt, JWT_MAX_BYTES, true);
    if (r == 0)
        r = append_json_part(claims, jwt, JWT_MAX_BYTES, false);
    if (r == 0)
        r = sign_rs256(key, jwt, JWT_MAX_BYTES);
    if (r == 0) {
        *ret = jwt;
        jwt = NULL;
    }
out:
    free(jwt);
    json_decref(head);
    json_decref(claims);
    return r;
}

int credentials_jwt(const char *pem, const char *kid, const char *iss, const char *scope,
                    const char *aud, int64_t iat_sec, char **ret)
{
    EVP_PKEY *key = load_rsa_key(pem);
    int r;

    if (!key)
        return -EINVAL;
    r = make_jwt(key, kid, iss, scope, aud, iat_sec, ret);
    EVP_PKEY_free(key);
    return r;
}

/* ---- tokens ------------------------------------------------------------------- */

/*
 * The first line of text, trimmed, as a new string in *ret.  Returns 0,
 * -ENODATA (empty) or -EINVAL (not one word of printable ASCII).
 */
static int first_line_token(const char *text, size_t len, char **ret)
{
    const char *nl = memchr(text, '\n', len);
    const char *start = text, *end = nl ? nl : text + len;

    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (start == end)
        return -ENODATA;
    for (const char *p = start; p < end; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return -EINVAL;
    if ((size_t)(end - start) > CLIENT_MAX_TOKEN_BYTES)
        return -EINVAL;
    if (!(*ret = strndup(start, (size_t)(end - start))))
        return -ENOMEM;
    return 0;
}

static void replace_token(struct credentials *cr, char *token, int64_t expires_ns)
{
    credentials_wipe_free(cr->token);
    cr->token = token;
    cr->expires_ns = expires_ns;
}

/* Reads the token file when it changed (or was never read). */
static int refresh_file(struct credentials *cr, struct client_error *reterr)
{
    char *text = NULL, *token = NULL;
    struct stat st;
    size_t len = 0;
    int r;

    if (stat(cr->path, &st) < 0) {
        r = -errno;
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "cannot read token file %s: %s",
                  cr->path, strerror(-r));
        return r;
    }
    if (cr->token && st.st_size == cr->size && st.st_mtim.tv_sec == cr->mtime.tv_sec &&
        st.st_mtim.tv_nsec == cr->mtime.tv_nsec)
        return 0;
    r = file_read_all(cr->path, CLIENT_MAX_TOKEN_BYTES, &text, &len);
    if (r < 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "cannot read token file %s: %s",
                  cr->path, r == -EFBIG ? "too large" : strerror(-r));
        return r;
    }
    r = first_line_token(text, len, &token);
    wipe(text, len);
    free(text);
    if (r < 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "token file %s %s", cr->path,
                  r == -ENODATA ? "is empty" : "must hold one token on its first line");
        return r == -ENOMEM ? r : -EINVAL;
    }
    replace_token(cr, token, INT64_MAX);
    cr->size = st.st_size;
    cr->mtime = st.st_mtim;
    return 0;
}

/* Reads fd into out until EOF, the bound or the deadline.  0, -E2BIG, -ETIMEDOUT. */
static int read_bounded(int fd, struct buf *out, int64_t deadline, const struct clock *clk)
{
    char chunk[4096];

    for (;;) {
        int64_t left = deadline - clock_mono(clk);
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left / 1000000 + 1));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            continue;
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return 0;
        if (buf_append(out, chunk, (size_t)got) < 0)
            return -E2BIG;
    }
}

static int spawn_command(const char *command, int *ret_fd, pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int fds[2], r;
    pid_t pid = -1;
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};

    if (pipe(fds) < 0)
        return -errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    r = -posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (r < 0) {
        close(fds[0]);
        return r;
    }
    *ret_fd = fds[0];
    *ret_pid = pid;
    return 0;
}

/* Runs the token command; its first line becomes the cached token. */
static int refresh_command(struct credentials *cr, struct client_error *reterr)
{
    int64_t deadline = clock_mono(clock_real()) + CLIENT_TOKEN_COMMAND_TIMEOUT_NS;
    char *token = NULL;
    struct buf out;
    int fd = -1, status = 0, r;
    pid_t pid = -1;

    buf_init(&out, CLIENT_MAX_TOKEN_BYTES);
    r = spawn_command(cr->command, &fd, &pid);
    if (r < 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "cannot run the token command: %s",
                  strerror(-r));
        goto out;
    }
    r = read_bounded(fd, &out, deadline, clock_real());
    close(fd);
    if (r < 0)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "the token command %s",
                  r == -ETIMEDOUT ? "did not finish in time and was killed"
                  : r == -E2BIG   ? "printed too much and was killed"
                                  : "failed");
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "the token command failed (status %d)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        r = -EINVAL;
        goto out;
    }
    r = first_line_token(out.data, out.len, &token);
    if (r < 0) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true, "the token command printed %s",
                  r == -ENODATA ? "nothing" : "no usable token on its first line");
        goto out;
    }
    replace_token(cr, token, clock_mono(cr->clock) + CLIENT_TOKEN_COMMAND_TTL_NS);
out:
    wipe(out.data, out.len);
    buf_release(&out);
    return r;
}

/*
 * Splits an http(s) URL into its origin ("https://host:port"), authority
 * ("host:port") and path ("/token", "/" when empty).  Returns 0 or -EINVAL.
 */
static int split_url(const char *url, char **origin, char **authority, char **path)
{
    size_t skip = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    const char *a, *slash;

    if (!skip)
        return -EINVAL;
    a = url + skip;
    slash = strchr(a, '/');
    if (!slash)
        slash = a + strlen(a);
    if (slash == a || strcspn(a, "?#@ \t\r\n") < (size_t)(slash - a))
        return -EINVAL;
    *origin = strndup(url, (size_t)(slash - url));
    *authority = strndup(a, (size_t)(slash - a));
    *path = strdup(*slash ? slash : "/");
    if (!*origin || !*authority || !*path) {
        free(*origin);
        free(*authority);
        free(*path);
        return -ENOMEM;
    }
    return 0;
}

/* A printable piece of an error answer, never more than 200 bytes. */
static void copy_printable(char *out, size_t outlen, const char *s)
{
    size_t k = 0;

    if (outlen > 201)
        outlen = 201;
    for (; s && *s && k + 1 < outlen; s++)
        out[k++] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? ' ' : *s;
    out[k] = '\0';
}

/* Takes the token out of the token endpoint's answer. */
static int take_token(struct credentials *cr, const struct client_http_response *resp,
                      struct client_error *reterr)
{
    json_t *v = json_loadb(resp->body, resp->len, 0, NULL);
    const char *tok = json_string_value(json_object_get(v, "access_token"));
    const char *type = json_string_value(json_object_get(v, "token_type"));
    json_t *exp = json_object_get(v, "expires_in");
    char *token = NULL;
    int r = -EINVAL;

    if (resp->status != 200) {
        char why[256], what[256];
        copy_printable(why, sizeof(why), json_string_value(json_object_get(v, "error")));
        copy_printable(what, sizeof(what),
                       json_string_value(json_object_get(v, "error_description")));
        client_error_set(reterr, resp->status >= 500 ? GRPC_UNAVAILABLE : GRPC_UNAUTHENTICATED, true,
                  "token endpoint %s answered HTTP %ld: %s%s%s", cr->token_uri, resp->status,
                  why[0] ? why : "no error given", what[0] ? ": " : "", what);
        r = resp->status >= 500 ? -EAGAIN : -EACCES;
        goto out;
    }
    if (!tok || (type && strcasecmp(type, "Bearer") != 0) ||
        (exp && (!json_is_integer(exp) || json_integer_value(exp) <= 0)) ||
        first_line_token(tok, strlen(tok), &token) < 0 || strlen(token) != strlen(tok)) {
        client_error_set(reterr, GRPC_UNAUTHENTICATED, true,
                  "token endpoint %s gave no usable bearer token", cr->token_uri);
        goto out;
    }
    int64_t life = exp ? (int64_t)json_integer_value(exp) : JWT_LIFETIME_SEC;
    if (life > 10 * 365 * 86400)
        life = 10 * 365 * 86400;
    /* Used until the margin before it expires: a short-lived token is used once. */
    replace_token(cr, token,
                  clock_mono(cr->clock) + life * INT64_C(1000000000) -
                      CLIENT_TOKEN_EXPIRY_MARGIN_NS);
    token = NULL;
    r = 0;
out:
    credentials_wipe_free(token);
    json_decref(v);
    return r;
}

static int refresh_service_account(struct credentials *cr, struct client *c, int64_t timeout_ns,
                                   struct client_error *reterr)
{
    static const char grant[] =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    char *origin = NULL, *authority = NULL, *path = NULL, *jwt = NULL, *body = NULL;
    struct client_http_response resp = {0};
    int r;

    r = split_url(cr->token_uri, &origin, &authority, &path);
    if (r < 0) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        return r;
    }
    r = make_jwt(cr->key, cr->key_id, cr->email, cr->scopes, cr->token_uri,
                 clock_now(cr->clock) / INT64_C(1000000000), &jwt);
    if (r == 0 && !(body = malloc(sizeof(grant) + strlen(jwt))))
        r = -ENOMEM;
    if (r < 0) {
        client_error_set(reterr, GRPC_INTERNAL, true, "cannot sign the service-account JWT: %s",
                  strerror(-r));
        goto out;
    }
    snprintf(body, sizeof(grant) + strlen(jwt), "%s%s", grant, jwt);
    const char *mapped = client_host_map_lookup(c, authority);
    struct client_http_request rq = {
        .method = "POST",
        .host = mapped ? mapped : origin,
        .path = path,
        .content_type = "application/x-www-form-urlencoded",
        .body = body,
        .body_len = strlen(body),
    };
    struct client_call_options co = {.timeout_ns = timeout_ns};
    r = client_http(c, &rq, &co, &resp, reterr);
    if (r == 0)
        r = take_token(cr, &resp, reterr);
out:
    client_http_response_release(&resp);
    credentials_wipe_free(body);
    credentials_wipe_free(jwt);
    free(origin);
    free(authority);
    free(path);
    return r;
}

int credentials_header(struct credentials *cr, struct client *c, int64_t timeout_ns,
                       char **ret, struct client_error *reterr)
{
    int r = 0;

    pthread_mutex_lock(&cr->lock);
    switch (cr->source) {
    case SOURCE_SERVICE_ACCOUNT:
        if (!cr->token || clock_mono(cr->clock) >= cr->expires_ns)
            r = refresh_service_account(cr, c, timeout_ns, reterr);
        break;
    case SOURCE_TOKEN_FILE:
        r = refresh_file(cr, reterr);
        break;
    case SOURCE_TOKEN_COMMAND:
        if (!cr->token || clock_mono(cr->clock) >= cr->expires_ns)
            r = refresh_command(cr, reterr);
        break;
    }
    if (r == 0) {
        size_t n = strlen(BEARER) + strlen(cr->token) + 1;
        char *h = malloc(n);
        if (h) {
            snprintf(h, n, "%s%s", BEARER, cr->token);
            *ret = h;
        } else {
            client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
            r = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&cr->lock);
    return r;
}

/* ---- making them -------------------------------------------------------------- */

static const char *key_string(const json_t *key, const char *name)
{
    const char *s = json_string_value(json_object_get(key, name));
    return s && *s ? s : NULL;
}

/* Reads and checks the service-account key at path into cr. */
static int load_service_account(struct credentials *cr, const char *path,
                                struct client_error *reterr)
{
    char *text = NULL, *o = NULL, *a = NULL, *p = NULL;
    json_t *key = NULL;
    size_t len = 0;
    int r;

    r = file_read_all(path, CLIENT_MAX_KEY_FILE_BYTES, &text, &len);
    if (r < 0) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "cannot read service-account key %s: %s",
                  path, r == -EFBIG ? "too large" : strerror(-r));
        return r;
    }
    key = json_loadb(text, len, 0, NULL);
    const char *type = key_string(key, "type"), *email = key_string(key, "client_email");
    const char *pem = key_string(key, "private_key"), *uri = key_string(key, "token_uri");
    const char *kid = key_string(key, "private_key_id");
    r = -EINVAL;
    if (!type || strcmp(type, "service_account") != 0 || !email || !pem) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true,
                  "%s is not a service-account JSON key (wants \"type\": \"service_account\", "
                  "\"client_email\", \"private_key\")",
                  path);
        goto out;
    }
    if (!uri)
        uri = DEFAULT_TOKEN_URI;
    if (split_url(uri, &o, &a, &p) < 0) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true,
                  "service-account key %s: token_uri is not an http(s) URL", path);
        goto out;
    }
    if (!(cr->key = load_rsa_key(pem))) {
        client_error_set(reterr, GRPC_INVALID_ARGUMENT, true,
                  "service-account key %s: private_key is not a PEM RSA private key", path);
        goto out;
    }
    r = -ENOMEM;
    if (!(cr->email = strdup(email)) || !(cr->token_uri = strdup(uri)) ||
        (kid && !(cr->key_id = strdup(kid)))) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        goto out;
    }
    r = 0;
out:
    free(o);
    free(a);
    free(p);
    if (key) {
        /* The PEM lives in jansson's copy too: wipe it before freeing. */
        json_t *pk = json_object_get(key, "private_key");
        if (json_is_string(pk))
            wipe((char *)json_string_value(pk), json_string_length(pk));
        json_decref(key);
    }
    wipe(text, len);
    free(text);
    return r;
}

int credentials_new(const struct client_options *o, struct credentials **ret,
                    struct client_error *reterr)
{
    struct credentials *cr;
    int r = 0;

    if (!o->service_account_json && !o->token_file && !o->token_command) {
        *ret = NULL;
        return 0;
    }
    if (!(cr = calloc(1, sizeof(*cr)))) {
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&cr->lock, NULL);
    cr->clock = o->clock ? o->clock : clock_real();
    if (o->service_account_json) {
        cr->source = SOURCE_SERVICE_ACCOUNT;
        r = load_service_account(cr, o->service_account_json, reterr);
        if (r == 0 && !(cr->scopes = strdup(o->oauth_scopes ? o->oauth_scopes
                                                            : CLIENT_DEFAULT_OAUTH_SCOPES)))
            r = -ENOMEM;
    } else if (o->token_file) {
        cr->source = SOURCE_TOKEN_FILE;
        if (!(cr->path = strdup(o->token_file)))
            r = -ENOMEM;
        else
            r = refresh_file(cr, reterr);
    } else {
        cr->source = SOURCE_TOKEN_COMMAND;
        if (!*o->token_command) {
            client_error_set(reterr, GRPC_INVALID_ARGUMENT, true, "the token command is empty");
            r = -EINVAL;
        } else if (!(cr->command = strdup(o->token_command)))
            r = -ENOMEM;
    }
    if (r == -ENOMEM)
        client_error_set(reterr, GRPC_INTERNAL, true, "out of memory");
    if (r < 0) {
        credentials_free(cr);
        return r;
    }
    *ret = cr;
    return 0;
}

struct credentials *credentials_free(struct credentials *cr)
{
    if (!cr)
        return NULL;
    credentials_wipe_free(cr->token);
    EVP_PKEY_free(cr->key);
    free(cr->key_id);
    free(cr->email);
    free(cr->token_uri);
    free(cr->scopes);
    free(cr->path);
    free(cr->command);
    pthread_mutex_destroy(&cr->lock);
    free(cr);
    return NULL;
}
