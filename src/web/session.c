/*
 * session.c - browser sessions (a random id mapped in memory to an
 * identity), CSRF tokens and the trusted proxy's address range
 * (contract in web-internal.h, docs/web.md "Sign-in").
 *
 * The table holds WEB_SESSIONS slots under session_lock; a new session
 * takes a free or expired slot, else the one expiring first.  Ids are
 * compared in constant time.  The CSRF key is random per process, like
 * the sessions themselves: a restart signs everybody out.
 */
#include "base/compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/time.h"
#include "web/web-internal.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int web_sessions_init(struct web *w)
{
    w->sessions = calloc(WEB_SESSIONS, sizeof(*w->sessions));
    if (!w->sessions)
        return -ENOMEM;
    if (RAND_bytes(w->key, sizeof(w->key)) != 1) {
        free(w->sessions);
        w->sessions = NULL;
        return -EIO;
    }
    if (pthread_mutex_init(&w->session_lock, NULL) != 0) {
        free(w->sessions);
        w->sessions = NULL;
        return -ENOMEM;
    }
    return 0;
}

void web_sessions_free(struct web *w)
{
    if (!w->sessions)
        return;
    OPENSSL_cleanse(w->sessions, WEB_SESSIONS * sizeof(*w->sessions));
    free(w->sessions);
    w->sessions = NULL;
    OPENSSL_cleanse(w->key, sizeof(w->key));
    pthread_mutex_destroy(&w->session_lock);
}

int web_session_create(struct web *w, const char *identity, char *ret)
{
    unsigned char raw[WEB_SESSION_ID_LEN / 2];
    int64_t now = clock_now(w->clock);
    struct web_session *slot = NULL;

    if (strlen(identity) > LIMIT_IDENTITY_LEN)
        return -E2BIG;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    pthread_mutex_lock(&w->session_lock);
    for (size_t i = 0; i < WEB_SESSIONS; i++) {
        struct web_session *s = &w->sessions[i];

        if (s->expires <= now) {
            slot = s;
            break;
        }
        if (!slot || s->expires < slot->expires)
            slot = s;
    }
    hex(raw, sizeof(raw), slot->id);
    snprintf(slot->identity, sizeof(slot->identity), "%s", identity);
    slot->expires = now + (int64_t)WEB_SESSION_TTL_SEC * NS_PER_SEC;
    memcpy(ret, slot->id, sizeof(slot->id));
    pthread_mutex_unlock(&w->session_lock);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* The live slot of id, or NULL; call with session_lock held. */
static struct web_session *find(struct web *w, const char *id, int64_t now)
{
    struct web_session *found = NULL;

    if (strlen(id) != WEB_SESSION_ID_LEN)
        return NULL;
    for (size_t i = 0; i < WEB_SESSIONS; i++) {
        struct web_session *s = &w->sessions[i];

        if (s->expires > now && CRYPTO_memcmp(s->id, id, WEB_SESSION_ID_LEN) == 0)
            found = s;
    }
    return found;
}

int web_session_lookup(struct web *w, const char *id, char *ret)
{
    int64_t now = clock_now(w->clock);
    struct web_session *s;
    int r = -ENOENT;

    pthread_mutex_lock(&w->session_lock);
    s = find(w, id, now);
    if (s) {
        memcpy(ret, s->identity, sizeof(s->identity));
        r = 0;
    }
    pthread_mutex_unlock(&w->session_lock);
    return r;
}

void web_session_drop(struct web *w, const char *id)
{
    struct web_session *s;

    pthread_mutex_lock(&w->session_lock);
    s = find(w, id, clock_now(w->clock));
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&w->session_lock);
}

int web_cookie_session(const char *cookie, char *ret)
{
    static const char name[] = WEB_SESSION_COOKIE "=";
    const char *c = cookie;

    while (c && *c) {
        while (*c == ' ' || *c == '\t')
            c++;
        if (strncmp(c, name, sizeof(name) - 1) == 0) {
            const char *v = c + sizeof(name) - 1;
            size_t n = strcspn(v, "; \t");

            if (n != WEB_SESSION_ID_LEN)
                return -ENOENT;
            memcpy(ret, v, n);
            ret[n] = '\0';
            return 0;
        }
        c = strchr(c, ';');
        if (c)
            c++;
    }
    return -ENOENT;
}

void page_csrf_token(const struct page *p, char *ret)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    char msg[LIMIT_IDENTITY_LEN + 8];
    int n;

    if (*p->session)
        n = snprintf(msg, sizeof(msg), "s\n%s", p->session);
    else
        n = snprintf(msg, sizeof(msg), "i\n%s", p->identity);
    if (n < 0 || !HMAC(EVP_sha256(), p->w->key, sizeof(p->w->key), (const unsigned char *)msg,
                       (size_t)n, mac, &mac_len) || mac_len * 2 != WEB_CSRF_LEN) {
        memset(ret, 'x', WEB_CSRF_LEN); /* matches no token: hex only */
        ret[WEB_CSRF_LEN] = '\0';
        return;
    }
    hex(mac, mac_len, ret);
}

bool page_csrf_ok(const struct page *p, const char *token)
{
    char want[WEB_CSRF_LEN + 1];

    if (!token || strlen(token) != WEB_CSRF_LEN)
        return false;
    page_csrf_token(p, want);
    return CRYPTO_memcmp(want, token, WEB_CSRF_LEN) == 0;
}

int web_cidr_parse(const char *text, struct web_cidr *ret)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    struct web_cidr c = {0};
    unsigned long bits;
    char *end = NULL;

    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, c.addr) == 1)
        c.family = AF_INET;
    else if (inet_pton(AF_INET6, host, c.addr) == 1)
        c.family = AF_INET6;
    else
        return -EINVAL;
    c.bits = c.family == AF_INET ? 32 : 128;
    if (slash) {
        if (slash[1] < '0' || slash[1] > '9')
            return -EINVAL;
        errno = 0;
        bits = strtoul(slash + 1, &end, 10);
        if (errno || *end || bits > c.bits)
            return -EINVAL;
        c.bits = (unsigned)bits;
    }
    *ret = c;
    return 0;
}

int web_cidr_check(const char *cidr)
{
    struct web_cidr c;

    return cidr ? web_cidr_parse(cidr, &c) : -EINVAL;
}

bool web_cidr_contains(const struct web_cidr *c, const char *addr)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char a[16];
    const unsigned char *cmp = a;
    int family;

    if (!addr || !c->family)
        return false;
    if (inet_pton(AF_INET, addr, a) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, a) == 1) {
        family = AF_INET6;
        if (c->family == AF_INET && memcmp(a, mapped, sizeof(mapped)) == 0) {
            family = AF_INET;
            cmp = a + 12;
        }
    } else {
        return false;
    }
    if (family != c->family)
        return false;
    for (unsigned i = 0; i < c->bits; i += 8) {
        unsigned left = c->bits - i;
        unsigned char mask = left >= 8 ? 0xff : (unsigned char)(0xff << (8 - left));

        if ((cmp[i / 8] & mask) != (c->addr[i / 8] & mask))
            return false;
    }
    return true;
}
