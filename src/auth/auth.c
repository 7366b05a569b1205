/*
 * auth.c - identities, tokens, groups, per-project policies and the
 * permission check (contract in auth.h).
 *
 * Each table (tokens, groups, one project's policy) is built completely
 * outside the lock and swapped in under the write lock, so readers always
 * see a whole table.  Old tables are freed after the swap.
 */
#include "base/compat.h"
#include "auth/auth.h"

#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/text.h"
#include "config/textproto.h"

#define PERM_BIT(p) (1u << (p))
#define PERMS_READER PERM_BIT(AUTH_PERM_GET)
#define PERMS_TRIGGERER (PERMS_READER | PERM_BIT(AUTH_PERM_TRIGGER))
#define PERMS_OWNER                                                                            \
    (PERMS_TRIGGERER | PERM_BIT(AUTH_PERM_PAUSE) | PERM_BIT(AUTH_PERM_RESUME) |               \
     PERM_BIT(AUTH_PERM_ABORT))

static const char *const perm_names[_AUTH_PERM_MAX] = {
    [AUTH_PERM_GET] = "scheduler.jobs.get",
    [AUTH_PERM_TRIGGER] = "scheduler.jobs.trigger",
    [AUTH_PERM_PAUSE] = "scheduler.jobs.pause",
    [AUTH_PERM_RESUME] = "scheduler.jobs.resume",
    [AUTH_PERM_ABORT] = "scheduler.jobs.abort",
};

static const struct {
    const char *name;
    unsigned perms;
} builtin_roles[] = {
    {"role/scheduler.reader", PERMS_READER},
    {"role/scheduler.triggerer", PERMS_TRIGGERER},
    {"role/scheduler.owner", PERMS_OWNER},
};

const char *auth_perm_name(enum auth_perm p)
{
    if ((int)p < 0 || p >= _AUTH_PERM_MAX)
        return NULL;
    return perm_names[p];
}

int auth_perm_from_name(const char *name)
{
    for (int p = 0; p < _AUTH_PERM_MAX; p++) {
        if (strcmp(perm_names[p], name) == 0)
            return p;
    }
    return -EINVAL;
}

static void set_err(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;

    if (!out || outlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------
 * Identities
 */

static bool valid_name_chars(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f || c == ',')
            return false;
    }
    return true;
}

int auth_identity_check(const char *identity)
{
    static const char *const kinds[] = {"anonymous", "bot", "project", "service", "user"};
    const char *colon;
    size_t klen;
    bool known = false;

    if (!identity || strlen(identity) > LIMIT_IDENTITY_LEN)
        return -EINVAL;
    colon = strchr(identity, ':');
    if (!colon || !colon[1] || !valid_name_chars(colon + 1))
        return -EINVAL;
    klen = (size_t)(colon - identity);
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        known |= strlen(kinds[i]) == klen && strncmp(kinds[i], identity, klen) == 0;
    if (!known)
        return -EINVAL;
    if (klen == 4 && strncmp(identity, "user", 4) == 0 && !strchr(colon + 1, '@'))
        return -EINVAL;
    if (klen == 9 && strcmp(identity, AUTH_ANONYMOUS) != 0)
        return -EINVAL;
    return 0;
}

int auth_principal_normalize(const char *in, char *out, size_t outlen)
{
    int n;

    if (!in || !*in)
        return -EINVAL;
    if (strncmp(in, "group:", 6) == 0) {
        if (!in[6] || !valid_name_chars(in + 6) || strlen(in) > LIMIT_IDENTITY_LEN)
            return -EINVAL;
        n = snprintf(out, outlen, "%s", in);
    } else if (strchr(in, ':')) {
        if (auth_identity_check(in) < 0)
            return -EINVAL;
        n = snprintf(out, outlen, "%s", in);
    } else if (strchr(in, '@')) {
        if (strlen(in) + 5 > LIMIT_IDENTITY_LEN || !valid_name_chars(in))
            return -EINVAL;
        n = snprintf(out, outlen, "user:%s", in);
    } else {
        return -EINVAL;
    }
    if (n < 0 || (size_t)n >= outlen)
        return -E2BIG;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Tables
 */

struct strvec {
    char **v;
    size_t n, alloc;
};

static int strvec_add(struct strvec *sv, const char *s, size_t max)
{
    char *copy;

    if (sv->n >= max)
        return -E2BIG;
    if (sv->n == sv->alloc) {
        size_t na = sv->alloc ? sv->alloc * 2 : 4;
        char **nv = realloc(sv->v, na * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        sv->v = nv;
        sv->alloc = na;
    }
    copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    sv->v[sv->n++] = copy;
    return 0;
}

static void strvec_release(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}

/* Grows an array of elem-sized items by one zeroed item; returns it or NULL. */
static void *array_push(void **v, size_t *n, size_t *alloc, size_t elem, size_t max)
{
    char *p;

    if (*n >= max)
        return NULL;
    if (*n == *alloc) {
        size_t na = *alloc ? *alloc * 2 : 4;
        void *nv = realloc(*v, na * elem);
        if (!nv)
            return NULL;
        *v = nv;
        *alloc = na;
    }
    p = (char *)*v + *n * elem;
    memset(p, 0, elem);
    (*n)++;
    return p;
}

struct token {
    unsigned char hash[32];
    char *identity;
};

struct tokens {
    struct token *v;
    size_t n, alloc;
};

struct group {
    char *name;
    struct strvec members;
};

struct groups {
    struct group *v; /* sorted by name after loading */
    size_t n, alloc;
};

struct condition {
    char *attribute;
    struct strvec values;
};

struct binding {
    char *role;
    unsigned perms;
    struct strvec principals;
    struct condition *conds;
    size_t n_conds, alloc_conds;
};

struct realm {
    char *name; /* a realm name, or a job name for the acl fallback */
    struct strvec extends;
    struct binding *bindings;
    size_t n_bindings, alloc_bindings;
};

struct custom_role {
    char *name;
    struct strvec extends;
    struct strvec permissions;
};

struct policy {
    char *project;
    bool has_realms; /* false: realms are per-job ACLs (acl_sets fallback) */
    struct realm *realms;
    size_t n_realms, alloc_realms;
    struct custom_role *roles;
    size_t n_roles, alloc_roles;
};

struct auth {
    pthread_rwlock_t lock;
    struct tokens *tokens;
    struct groups *groups;
    struct policy **policies;
    size_t n_policies, alloc_policies;
};

static void tokens_free(struct tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].identity);
    free(t->v);
    free(t);
}

static void groups_free(struct groups *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].name);
        strvec_release(&g->v[i].members);
    }
    free(g->v);
    free(g);
}

static void binding_release(struct binding *b)
{
    free(b->role);
    strvec_release(&b->principals);
    for (size_t i = 0; i < b->n_conds; i++) {
        free(b->conds[i].attribute);
        strvec_release(&b->conds[i].values);
    }
    free(b->conds);
}

static void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_realms; i++) {
        struct realm *r = &p->realms[i];
        free(r->name);
        strvec_release(&r->extends);
        for (size_t j = 0; j < r->n_bindings; j++)
            binding_release(&r->bindings[j]);
        free(r->bindings);
    }
    free(p->realms);
    for (size_t i = 0; i < p->n_roles; i++) {
        free(p->roles[i].name);
        strvec_release(&p->roles[i].extends);
        strvec_release(&p->roles[i].permissions);
    }
    free(p->roles);
    free(p->project);
    free(p);
}

struct auth *auth_new(void)
{
    struct auth *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    if (pthread_rwlock_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

struct auth *auth_free(struct auth *a)
{
    if (!a)
        return NULL;
    tokens_free(a->tokens);
    groups_free(a->groups);
    for (size_t i = 0; i < a->n_policies; i++)
        policy_free(a->policies[i]);
    free(a->policies);
    pthread_rwlock_destroy(&a->lock);
    free(a);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Line-oriented files
 */

/* Calls fn for each line (without its newline), with 1-based numbers. */
static int for_each_line(const char *text, size_t len, size_t max_lines,
                         int (*fn)(void *ctx, char *line, size_t lineno), void *ctx)
{
    size_t pos = 0, lineno = 0;
    int r = 0;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line;

        if (++lineno > max_lines)
            return -E2BIG;
        line = malloc(n + 1);
        if (!line)
            return -ENOMEM;
        memcpy(line, text + pos, n);
        line[n] = '\0';
        if (memchr(line, '\0', n)) {
            free(line);
            return -EINVAL;
        }
        r = fn(ctx, line, lineno);
        free(line);
        if (r < 0)
            return r;
        pos += n + 1;
    }
    return 0;
}

/* Trims ASCII white space in place; returns the start. */
static char *trim(char *s)
{
    char *e;

    while (*s && isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;

    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

struct tokens_parse {
    struct tokens *t;
    char *err;
    size_t errlen;
};

static int token_line(void *ctx, char *line, size_t lineno)
{
    struct tokens_parse *tp = ctx;
    struct token *tok;
    char *s = trim(line), *tokstr, *id;
    unsigned char hash[32];

    if (!*s || *s == '#')
        return 0;
    tokstr = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (!*s) {
        set_err(tp->err, tp->errlen, "line %zu: want \"<token> <identity>\"", lineno);
        return -EINVAL;
    }
    *s++ = '\0';
    id = trim(s);
    if (auth_identity_check(id) < 0) {
        set_err(tp->err, tp->errlen, "line %zu: bad identity \"%.100s\"", lineno, id);
        return -EINVAL;
    }
    if (strlen(tokstr) > LIMIT_AUTH_TOKEN_LEN) {
        set_err(tp->err, tp->errlen, "line %zu: token longer than %d bytes", lineno,
                LIMIT_AUTH_TOKEN_LEN);
        return -EINVAL;
    }
    if (strncmp(tokstr, "sha256:", 7) == 0) {
        const char *hex = tokstr + 7;
        if (strlen(hex) != 64) {
            set_err(tp->err, tp->errlen, "line %zu: sha256: wants 64 hex digits", lineno);
            return -EINVAL;
        }
        for (size_t i = 0; i < 32; i++) {
            int hi = text_hex_digit(hex[2 * i]), lo = text_hex_digit(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                set_err(tp->err, tp->errlen, "line %zu: sha256: wants 64 hex digits", lineno);
                return -EINVAL;
            }
            hash[i] = (unsigned char)(hi << 4 | lo);
        }
    } else {
        sha256(tokstr, strlen(tokstr), hash);
    }
    tok = array_push((void **)&tp->t->v, &tp->t->n, &tp->t->alloc, sizeof(*tok),
                     LIMIT_AUTH_TOKENS);
    if (!tok)
        return tp->t->n >= LIMIT_AUTH_TOKENS ? -E2BIG : -ENOMEM;
    memcpy(tok->hash, hash, 32);
    tok->identity = strdup(id);
    if (!tok->identity) {
        tp->t->n--;
        return -ENOMEM;
    }
    return 0;
}

int auth_load_tokens(struct auth *a, const char *text, size_t len, char *reterr_msg,
                     size_t errlen)
{
    struct tokens_parse tp = {.err = reterr_msg, .errlen = errlen};
    struct tokens *old;
    int r;

    if (len > LIMIT_AUTH_FILE_BYTES) {
        set_err(reterr_msg, errlen, "file larger than %u bytes", LIMIT_AUTH_FILE_BYTES);
        return -E2BIG;
    }
    tp.t = calloc(1, sizeof(*tp.t));
    if (!tp.t)
        return -ENOMEM;
    r = for_each_line(text, len, LIMIT_AUTH_TOKENS, token_line, &tp);
    if (r < 0) {
        if (r == -E2BIG)
            set_err(reterr_msg, errlen, "more than %d lines", LIMIT_AUTH_TOKENS);
        else if (r == -EINVAL && reterr_msg && !*reterr_msg)
            set_err(reterr_msg, errlen, "NUL byte in file");
        tokens_free(tp.t);
        return r;
    }
    pthread_rwlock_wrlock(&a->lock);
    old = a->tokens;
    a->tokens = tp.t;
    pthread_rwlock_unlock(&a->lock);
    tokens_free(old);
    return 0;
}

struct groups_parse {
    struct groups *g;
    size_t n_members;
    char *err;
    size_t errlen;
};

static int group_line(void *ctx, char *line, size_t lineno)
{
    struct groups_parse *gp = ctx;
    char *s = trim(line), *colon, *name, *rest;
    struct group *g;
    char norm[LIMIT_IDENTITY_LEN + 8];

    if (!*s || *s == '#')
        return 0;
    colon = strchr(s, ':');
    if (!colon) {
        set_err(gp->err, gp->errlen, "line %zu: want \"<name>: <member>, ...\"", lineno);
        return -EINVAL;
    }
    *colon = '\0';
    name = trim(s);
    rest = colon + 1;
    if (!*name || !valid_name_chars(name) || strlen(name) > LIMIT_IDENTITY_LEN ||
        strchr(name, ':')) {
        set_err(gp->err, gp->errlen, "line %zu: bad group name \"%.100s\"", lineno, name);
        return -EINVAL;
    }
    g = array_push((void **)&gp->g->v, &gp->g->n, &gp->g->alloc, sizeof(*g), LIMIT_AUTH_GROUPS);
    if (!g) {
        if (gp->g->n >= LIMIT_AUTH_GROUPS) {
            set_err(gp->err, gp->errlen, "line %zu: more than %d group lines", lineno,
                    LIMIT_AUTH_GROUPS);
            return -E2BIG;
        }
        return -ENOMEM;
    }
    g->name = strdup(name);
    if (!g->name)
        return -ENOMEM;
    for (size_t i = 0; i < LIMIT_AUTH_MEMBERS; i++) {
        char *comma = strchr(rest, ',');
        char *m;
        int r;
        if (comma)
            *comma = '\0';
        m = trim(rest);
        if (*m) {
            if (auth_principal_normalize(m, norm, sizeof(norm)) < 0) {
                set_err(gp->err, gp->errlen, "line %zu: bad member \"%.100s\"", lineno, m);
                return -EINVAL;
            }
            if (++gp->n_members > LIMIT_AUTH_MEMBERS) {
                set_err(gp->err, gp->errlen, "more than %d members in all", LIMIT_AUTH_MEMBERS);
                return -E2BIG;
            }
            r = strvec_add(&g->members, norm, LIMIT_AUTH_MEMBERS);
            if (r < 0)
                return r;
        }
        if (!comma)
            break;
        rest = comma + 1;
    }
    return 0;
}

static int group_cmp(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Sorts the groups by name and merges lines naming the same group. */
static int groups_finish(struct groups *g)
{
    size_t out = 0;

    if (g->n == 0)
        return 0;
    /* qsort is not stable; members of repeated lines may join in any order, which is fine. */
    sort_array(g->v, g->n, sizeof(*g->v), group_cmp);
    for (size_t i = 1; i < g->n; i++) {
        struct group *dst = &g->v[out];
        if (strcmp(dst->name, g->v[i].name) == 0) {
            for (size_t j = 0; j < g->v[i].members.n; j++) {
                int r = strvec_add(&dst->members, g->v[i].members.v[j], LIMIT_AUTH_MEMBERS);
                if (r < 0)
                    return r;
            }
            free(g->v[i].name);
            strvec_release(&g->v[i].members);
        } else {
            g->v[++out] = g->v[i];
        }
    }
    g->n = out + 1;
    return 0;
}

int auth_load_groups(struct auth *a, const char *text, size_t len, char *reterr_msg,
                     size_t errlen)
{
    struct groups_parse gp = {.err = reterr_msg, .errlen = errlen};
    struct groups *old;
    int r;

    if (len > LIMIT_AUTH_FILE_BYTES) {
        set_err(reterr_msg, errlen, "file larger than %u bytes", LIMIT_AUTH_FILE_BYTES);
        return -E2BIG;
    }
    gp.g = calloc(1, sizeof(*gp.g));
    if (!gp.g)
        return -ENOMEM;
    r = for_each_line(text, len, LIMIT_AUTH_MEMBERS, group_line, &gp);
    if (r == 0)
        r = groups_finish(gp.g);
    if (r < 0) {
        if (r == -EINVAL && reterr_msg && !*reterr_msg)
            set_err(reterr_msg, errlen, "NUL byte in file");
        groups_free(gp.g);
        return r;
    }
    pthread_rwlock_wrlock(&a->lock);
    old = a->groups;
    a->groups = gp.g;
    pthread_rwlock_unlock(&a->lock);
    groups_free(old);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Authentication and membership (callers hold the read lock)
 */

int auth_authenticate(const struct auth *a, const char *authorization, char *ret, size_t outlen)
{
    struct auth *mut = (struct auth *)a;
    const char *tok;
    unsigned char hash[32];
    const char *found = NULL;
    int r = 0, n;

    if (!authorization || !*authorization) {
        n = snprintf(ret, outlen, "%s", AUTH_ANONYMOUS);
        return n < 0 || (size_t)n >= outlen ? -E2BIG : 0;
    }
    for (const char *p = authorization; *p; p++) {
        /* Control bytes (CR, LF, DEL, ...) are never part of a credential. */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return -EINVAL;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return -EINVAL;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    if (!*tok || strlen(tok) > LIMIT_AUTH_TOKEN_LEN || strpbrk(tok, " \t"))
        return -EINVAL;
    sha256(tok, strlen(tok), hash);
    pthread_rwlock_rdlock(&mut->lock);
    if (a->tokens) {
        /* Every entry is compared, whatever matched, so timing says nothing. */
        for (size_t i = 0; i < a->tokens->n; i++) {
            bool eq = CRYPTO_memcmp(hash, a->tokens->v[i].hash, 32) == 0;
            if (eq && !found)
                found = a->tokens->v[i].identity;
        }
    }
    if (!found) {
        r = -EACCES;
    } else {
        n = snprintf(ret, outlen, "%s", found);
        if (n < 0 || (size_t)n >= outlen)
            r = -E2BIG;
    }
    pthread_rwlock_unlock(&mut->lock);
    return r;
}

static const struct group *group_find(const struct groups *g, const char *name)
{
    size_t lo = 0, hi = g ? g->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->v[mid].name, name);
        if (c == 0)
            return &g->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool member_matches(const char *member, const char *identity)
{
    if (strchr(member, '*'))
        return fnmatch(member, identity, 0) == 0;
    return strcmp(member, identity) == 0;
}

/*
 * Breadth-first walk over nested groups, each group visited once (so
 * cycles end), at most LIMIT_AUTH_GROUP_DEPTH levels deep.
 */
static bool is_member_locked(const struct auth *a, const char *identity, const char *group)
{
    const struct groups *g = a->groups;
    const struct group *start = group_find(g, group);
    size_t *queue = NULL, *depth = NULL, head = 0, tail = 0;
    bool *seen = NULL, found = false;

    if (!start)
        return false;
    queue = malloc(g->n * sizeof(*queue));
    depth = malloc(g->n * sizeof(*depth));
    seen = calloc(g->n, sizeof(*seen));
    if (!queue || !depth || !seen)
        goto out;
    queue[tail] = (size_t)(start - g->v);
    depth[tail++] = 1;
    seen[start - g->v] = true;
    while (head < tail && !found) {
        size_t gi = queue[head], d = depth[head];
        const struct group *cur = &g->v[gi];
        head++;
        for (size_t i = 0; i < cur->members.n; i++) {
            const char *m = cur->members.v[i];
            if (strncmp(m, "group:", 6) == 0) {
                const struct group *sub = group_find(g, m + 6);
                if (sub && !seen[sub - g->v] && d < LIMIT_AUTH_GROUP_DEPTH) {
                    seen[sub - g->v] = true;
                    queue[tail] = (size_t)(sub - g->v);
                    depth[tail++] = d + 1;
                }
            } else if (member_matches(m, identity)) {
                found = true;
                break;
            }
        }
    }
out:
    free(queue);
    free(depth);
    free(seen);
    return found;
}

bool auth_is_member(const struct auth *a, const char *identity, const char *group)
{
    struct auth *mut = (struct auth *)a;
    bool r;

    pthread_rwlock_rdlock(&mut->lock);
    r = is_member_locked(a, identity, group);
    pthread_rwlock_unlock(&mut->lock);
    return r;
}

bool auth_is_admin(const struct auth *a, const char *identity)
{
    return auth_is_member(a, identity, AUTH_ADMIN_GROUP);
}

/* ---------------------------------------------------------------------------
 * realms.cfg
 */

enum realms_field_id {
    RF_NONE = 0,
    RF_REALMS,
    RF_CUSTOM_ROLES,
    RF_REALM_NAME,
    RF_REALM_EXTENDS,
    RF_BINDINGS,
    RF_ENFORCE_IN_SERVICE,
    RF_ROLE,
    RF_PRINCIPALS,
    RF_CONDITIONS,
    RF_RESTRICT,
    RF_ATTRIBUTE,
    RF_VALUES,
    RF_CR_NAME,
    RF_CR_EXTENDS,
    RF_CR_PERMISSIONS,
};

static const struct tp_field restriction_fields[] = {
    {.name = "attribute", .number = 1, .type = TP_STRING, .id = RF_ATTRIBUTE},
    {.name = "values", .number = 2, .type = TP_STRING, .repeated = true, .id = RF_VALUES},
};
static const struct tp_message restriction_msg = {
    .full_name = "auth.realms.AttributeRestriction",
    .fields = restriction_fields,
    .n_fields = ARRAY_SIZE(restriction_fields),
};

static const struct tp_field condition_fields[] = {
    {.name = "restrict", .number = 1, .type = TP_MESSAGE, .msg_type = &restriction_msg,
     .id = RF_RESTRICT},
};
static const struct tp_message condition_msg = {
    .full_name = "auth.realms.Condition",
    .fields = condition_fields,
    .n_fields = ARRAY_SIZE(condition_fields),
};

static const struct tp_field binding_fields[] = {
    {.name = "role", .number = 1, .type = TP_STRING, .id = RF_ROLE},
    {.name = "principals", .number = 2, .type = TP_STRING, .repeated = true,
     .id = RF_PRINCIPALS},
    {.name = "conditions", .number = 3, .type = TP_MESSAGE, .repeated = true,
     .msg_type = &condition_msg, .id = RF_CONDITIONS},
};
static const struct tp_message binding_msg = {
    .full_name = "auth.realms.Binding",
    .fields = binding_fields,
    .n_fields = ARRAY_SIZE(binding_fields),
};

static const struct tp_field realm_fields[] = {
    {.name = "name", .number = 1, .type = TP_STRING, .id = RF_REALM_NAME},
    {.name = "extends", .number = 2, .type = TP_STRING, .repeated = true,
     .id = RF_REALM_EXTENDS},
    {.name = "bindings", .number = 3, .type = TP_MESSAGE, .repeated = true,
     .msg_type = &binding_msg, .id = RF_BINDINGS},
    {.name = "enforce_in_service", .number = 4, .type = TP_STRING, .repeated = true,
     .id = RF_ENFORCE_IN_SERVICE},
};
static const struct tp_message realm_msg = {
    .full_name = "auth.realms.Realm",
    .fields = realm_fields,
    .n_fields = ARRAY_SIZE(realm_fields),
};

static const struct tp_field custom_role_fields[] = {
    {.name = "name", .number = 1, .type = TP_STRING, .id = RF_CR_NAME},
    {.name = "extends", .number = 2, .type = TP_STRING, .repeated = true, .id = RF_CR_EXTENDS},
    {.name = "permissions", .number = 3, .type = TP_STRING, .repeated = true,
     .id = RF_CR_PERMISSIONS},
};
static const struct tp_message custom_role_msg = {
    .full_name = "auth.realms.CustomRole",
    .fields = custom_role_fields,
    .n_fields = ARRAY_SIZE(custom_role_fields),
};

static const struct tp_field realms_cfg_fields[] = {
    {.name = "realms", .number = 1, .type = TP_MESSAGE, .repeated = true, .msg_type = &realm_msg,
     .id = RF_REALMS},
    /* tock also reads the singular spelling. */
    {.name = "realm", .number = 1, .type = TP_MESSAGE, .repeated = true, .msg_type = &realm_msg,
     .id = RF_REALMS},
    {.name = "custom_roles", .number = 2, .type = TP_MESSAGE, .repeated = true,
     .msg_type = &custom_role_msg, .id = RF_CUSTOM_ROLES},
};
static const struct tp_message realms_cfg_msg = {
    .full_name = "auth.realms.RealmsCfg",
    .fields = realms_cfg_fields,
    .n_fields = ARRAY_SIZE(realms_cfg_fields),
};

struct realms_parse {
    struct policy *p;
    size_t n_items;
};

static struct realm *cur_realm(struct realms_parse *rp)
{
    return rp->p->n_realms ? &rp->p->realms[rp->p->n_realms - 1] : NULL;
}

static struct binding *cur_binding(struct realms_parse *rp)
{
    struct realm *r = cur_realm(rp);
    return r && r->n_bindings ? &r->bindings[r->n_bindings - 1] : NULL;
}

static struct condition *cur_condition(struct realms_parse *rp)
{
    struct binding *b = cur_binding(rp);
    return b && b->n_conds ? &b->conds[b->n_conds - 1] : NULL;
}

static struct custom_role *cur_role(struct realms_parse *rp)
{
    return rp->p->n_roles ? &rp->p->roles[rp->p->n_roles - 1] : NULL;
}

static int realms_begin(void *ctx, const struct tp_field *f, struct cfg_pos pos)
{
    struct realms_parse *rp = ctx;
    void *item = (void *)1;

    (void)pos;
    if (++rp->n_items > LIMIT_REALMS_PER_PROJECT)
        return -E2BIG;
    switch (f->id) {
    case RF_REALMS:
        item = array_push((void **)&rp->p->realms, &rp->p->n_realms, &rp->p->alloc_realms,
                          sizeof(struct realm), LIMIT_REALMS_PER_PROJECT);
        break;
    case RF_BINDINGS: {
        struct realm *r = cur_realm(rp);
        item = array_push((void **)&r->bindings, &r->n_bindings, &r->alloc_bindings,
                          sizeof(struct binding), LIMIT_REALMS_PER_PROJECT);
        break;
    }
    case RF_CONDITIONS: {
        struct binding *b = cur_binding(rp);
        item = array_push((void **)&b->conds, &b->n_conds, &b->alloc_conds,
                          sizeof(struct condition), LIMIT_REALMS_PER_PROJECT);
        break;
    }
    case RF_CUSTOM_ROLES:
        item = array_push((void **)&rp->p->roles, &rp->p->n_roles, &rp->p->alloc_roles,
                          sizeof(struct custom_role), LIMIT_REALMS_PER_PROJECT);
        break;
    default:
        break;
    }
    return item ? 0 : -ENOMEM;
}

static int realms_end(void *ctx, const struct tp_field *f)
{
    (void)ctx;
    (void)f;
    return 0;
}

static int set_string(char **dst, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static int realms_scalar(void *ctx, const struct tp_field *f, const struct tp_value *v,
                         struct cfg_pos pos)
{
    struct realms_parse *rp = ctx;

    (void)pos;
    if (++rp->n_items > LIMIT_REALMS_PER_PROJECT * 16)
        return -E2BIG;
    switch (f->id) {
    case RF_REALM_NAME:
        return set_string(&cur_realm(rp)->name, v->s);
    case RF_REALM_EXTENDS:
        return strvec_add(&cur_realm(rp)->extends, v->s, LIMIT_REALMS_PER_PROJECT);
    case RF_ROLE:
        return set_string(&cur_binding(rp)->role, v->s);
    case RF_PRINCIPALS:
        return strvec_add(&cur_binding(rp)->principals, v->s, LIMIT_AUTH_MEMBERS);
    case RF_ATTRIBUTE:
        return set_string(&cur_condition(rp)->attribute, v->s);
    case RF_VALUES:
        return strvec_add(&cur_condition(rp)->values, v->s, LIMIT_REALMS_PER_PROJECT);
    case RF_CR_NAME:
        return set_string(&cur_role(rp)->name, v->s);
    case RF_CR_EXTENDS:
        return strvec_add(&cur_role(rp)->extends, v->s, LIMIT_REALMS_PER_PROJECT);
    case RF_CR_PERMISSIONS:
        return strvec_add(&cur_role(rp)->permissions, v->s, LIMIT_REALMS_PER_PROJECT);
    default:
        return 0; /* enforce_in_service: not ours */
    }
}

/* The permissions a role grants (builtin or custom), following extends. */
static unsigned role_perms(const struct policy *p, const char *role, unsigned depth)
{
    unsigned perms = 0;

    if (!role || depth > LIMIT_REALM_EXTENDS_DEPTH)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(builtin_roles); i++) {
        if (strcmp(builtin_roles[i].name, role) == 0)
            return builtin_roles[i].perms;
    }
    if (strncmp(role, "customRole/", 11) != 0)
        return 0;
    for (size_t i = 0; i < p->n_roles; i++) {
        const struct custom_role *cr = &p->roles[i];
        if (!cr->name || strcmp(cr->name, role) != 0)
            continue;
        for (size_t j = 0; j < cr->permissions.n; j++) {
            int perm = auth_perm_from_name(cr->permissions.v[j]);
            if (perm >= 0)
                perms |= PERM_BIT(perm);
        }
        for (size_t j = 0; j < cr->extends.n; j++)
            perms |= role_perms(p, cr->extends.v[j], depth + 1);
    }
    return perms;
}

/* Checks names and principals and resolves each binding's role. */
static int realms_finish(struct policy *p, char *err, size_t errlen)
{
    char norm[LIMIT_IDENTITY_LEN + 8];

    for (size_t i = 0; i < p->n_realms; i++) {
        struct realm *r = &p->realms[i];
        if (!r->name || !*r->name) {
            set_err(err, errlen, "realms.cfg: realm #%zu has no name", i + 1);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->realms[j].name, r->name) == 0) {
                set_err(err, errlen, "realms.cfg: realm \"%.100s\" is defined twice", r->name);
                return -EINVAL;
            }
        }
        for (size_t j = 0; j < r->n_bindings; j++) {
            struct binding *b = &r->bindings[j];
            b->perms = role_perms(p, b->role, 0);
            for (size_t k = 0; k < b->principals.n; k++) {
                int rc = auth_principal_normalize(b->principals.v[k], norm, sizeof(norm));
                if (rc < 0) {
                    set_err(err, errlen, "realms.cfg: realm \"%.100s\": bad principal \"%.100s\"",
                            r->name, b->principals.v[k]);
                    return -EINVAL;
                }
                if (set_string(&b->principals.v[k], norm) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

static int policy_from_realms(struct policy *p, const char *text, size_t len, char *err,
                              size_t errlen)
{
    struct realms_parse rp = {.p = p};
    struct tp_handler h = {.begin = realms_begin, .end = realms_end, .scalar = realms_scalar,
                           .ctx = &rp};
    struct cfg_pos pos = {0, 0};
    char msg[512] = "";
    int r;

    p->has_realms = true;
    r = tp_parse(text, len, &realms_cfg_msg, &h, &pos, msg, sizeof(msg));
    if (r < 0) {
        if (r == -E2BIG)
            set_err(err, errlen, "realms.cfg: more than %d realms, bindings or roles",
                    LIMIT_REALMS_PER_PROJECT);
        else if (msg[0])
            set_err(err, errlen, "realms.cfg:%u:%u: %s", pos.line, pos.col, msg);
        else
            set_err(err, errlen, "realms.cfg: cannot parse (%s)", strerror(-r));
        return r;
    }
    return realms_finish(p, err, errlen);
}

/* The acl_sets fallback: one pseudo-realm per job, named after the job. */
static unsigned acl_role_perms(int32_t role)
{
    switch (role) {
    case 0: return PERMS_READER;    /* READER */
    case 1: return PERMS_OWNER;     /* OWNER */
    case 2: return PERMS_TRIGGERER; /* TRIGGERER */
    default: return 0;
    }
}

static int add_acls(struct realm *r, const struct cfg_acl *acls, size_t n)
{
    char norm[LIMIT_IDENTITY_LEN + 8];

    for (size_t i = 0; i < n; i++) {
        struct binding *b;
        int rc;
        /* Entries that do not name a principal are skipped, as LUCI ignored them. */
        if (auth_principal_normalize(acls[i].granted_to, norm, sizeof(norm)) < 0)
            continue;
        b = array_push((void **)&r->bindings, &r->n_bindings, &r->alloc_bindings,
                       sizeof(*b), LIMIT_REALMS_PER_PROJECT);
        if (!b)
            return -ENOMEM;
        b->perms = acl_role_perms(acls[i].role);
        rc = strvec_add(&b->principals, norm, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int policy_from_acls(struct policy *p, const struct cfg_project *cfg)
{
    p->has_realms = false;
    if (!cfg)
        return 0;
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        const struct cfg_job *j = &cfg->jobs[i];
        struct realm *r;
        int rc;

        if (!j->n_acls && !j->acl_sets.n)
            continue;
        r = array_push((void **)&p->realms, &p->n_realms, &p->alloc_realms, sizeof(*r),
                       LIMIT_JOBS_PER_PROJECT);
        if (!r)
            return -ENOMEM;
        if (set_string(&r->name, j->id) < 0)
            return -ENOMEM;
        rc = add_acls(r, j->acls, j->n_acls);
        if (rc < 0)
            return rc;
        for (size_t k = 0; k < j->acl_sets.n; k++) {
            for (size_t s = 0; s < cfg->n_acl_sets; s++) {
                const struct cfg_acl_set *set = &cfg->acl_sets[s];
                if (strcmp(set->name, j->acl_sets.v[k]) != 0)
                    continue;
                rc = add_acls(r, set->acls, set->n_acls);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* The index of project's policy in a->policies (a->lock held), or -1. */
static ssize_t policy_index_locked(const struct auth *a, const char *project)
{
    for (size_t i = 0; i < a->n_policies; i++) {
        if (strcmp(a->policies[i]->project, project) == 0)
            return (ssize_t)i;
    }
    return -1;
}

/* The realm name of a realm id ("project:name" or "name"); "@legacy" when empty. */
static const char *realm_name_of(const char *realm_id)
{
    const char *colon;

    if (!realm_id || !*realm_id)
        return "@legacy";
    colon = strchr(realm_id, ':');
    return colon ? colon + 1 : realm_id;
}

int auth_set_project(struct auth *a, const char *project, const struct cfg_project *cfg,
                     const char *realms_cfg, size_t realms_len, char *reterr_msg, size_t errlen)
{
    struct policy *p, *old = NULL;
    int r;

    if (!project || !*project)
        return -EINVAL;
    if (realms_cfg && realms_len > LIMIT_AUTH_FILE_BYTES) {
        set_err(reterr_msg, errlen, "realms.cfg: larger than %u bytes", LIMIT_AUTH_FILE_BYTES);
        return -E2BIG;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->project = strdup(project);
    if (!p->project) {
        r = -ENOMEM;
        goto out;
    }
    if (realms_cfg)
        r = policy_from_realms(p, realms_cfg, realms_len, reterr_msg, errlen);
    else
        r = policy_from_acls(p, cfg);
    if (r < 0)
        goto out;

    pthread_rwlock_wrlock(&a->lock);
    ssize_t at = policy_index_locked(a, project);
    if (at >= 0) {
        old = a->policies[at];
        a->policies[at] = p;
        p = NULL;
    }
    if (p) {
        struct policy **slot = array_push((void **)&a->policies, &a->n_policies,
                                          &a->alloc_policies, sizeof(*slot), SIZE_MAX);
        if (slot) {
            *slot = p;
            p = NULL;
        } else {
            r = -ENOMEM;
        }
    }
    pthread_rwlock_unlock(&a->lock);
out:
    policy_free(p);
    policy_free(old);
    return r;
}

void auth_remove_project(struct auth *a, const char *project)
{
    struct policy *old = NULL;

    pthread_rwlock_wrlock(&a->lock);
    ssize_t at = policy_index_locked(a, project);
    if (at >= 0) {
        old = a->policies[at];
        a->policies[at] = a->policies[--a->n_policies];
    }
    pthread_rwlock_unlock(&a->lock);
    policy_free(old);
}

/* ---------------------------------------------------------------------------
 * The check
 */

static const struct realm *realm_find(const struct policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_realms; i++) {
        if (p->realms[i].name && strcmp(p->realms[i].name, name) == 0)
            return &p->realms[i];
    }
    return NULL;
}

static bool principal_matches(const struct auth *a, const char *principal,
                              const char *identity)
{
    if (strncmp(principal, "group:", 6) == 0)
        return is_member_locked(a, identity, principal + 6);
    return member_matches(principal, identity);
}

static bool conditions_hold(const struct binding *b, const char *job_name)
{
    for (size_t i = 0; i < b->n_conds; i++) {
        const struct condition *c = &b->conds[i];
        bool ok = false;
        /* scheduler.job.name is the only attribute tock supplies. */
        if (c->attribute && strcmp(c->attribute, "scheduler.job.name") == 0 && job_name) {
            for (size_t j = 0; j < c->values.n && !ok; j++)
                ok = strcmp(c->values.v[j], job_name) == 0;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool realm_grants(const struct auth *a, const struct policy *p, const struct realm *r,
                         const char *identity, const char *job_name, unsigned bit,
                         unsigned depth)
{
    if (!r || depth > LIMIT_REALM_EXTENDS_DEPTH)
        return false;
    for (size_t i = 0; i < r->n_bindings; i++) {
        const struct binding *b = &r->bindings[i];
        if (!(b->perms & bit) || !conditions_hold(b, job_name))
            continue;
        for (size_t j = 0; j < b->principals.n; j++) {
            if (principal_matches(a, b->principals.v[j], identity))
                return true;
        }
    }
    for (size_t i = 0; i < r->extends.n; i++) {
        if (realm_grants(a, p, realm_find(p, r->extends.v[i]), identity, job_name, bit,
                         depth + 1))
            return true;
    }
    return false;
}

bool auth_check(const struct auth *a, const char *identity, const char *project,
                const char *realm_id, const char *job_name, enum auth_perm perm)
{
    struct auth *mut = (struct auth *)a;
    const struct policy *p = NULL;
    const char *realm = realm_name_of(realm_id);
    unsigned bit;
    bool ok = false;

    if (!identity || !project || (int)perm < 0 || perm >= _AUTH_PERM_MAX)
        return false;
    bit = PERM_BIT(perm);
    pthread_rwlock_rdlock(&mut->lock);
    ssize_t at = policy_index_locked(a, project);
    if (at >= 0)
        p = a->policies[at];
    if (p && p->has_realms) {
        const struct realm *root = realm_find(p, "@root");
        const struct realm *r = realm_find(p, realm);
        ok = realm_grants(a, p, root, identity, job_name, bit, 0) ||
             (r && r != root && realm_grants(a, p, r, identity, job_name, bit, 0));
    } else if (p && job_name) {
        ok = realm_grants(a, p, realm_find(p, job_name), identity, job_name, bit, 0);
    }
    if (!ok)
        ok = is_member_locked(a, identity, AUTH_ADMIN_GROUP);
    pthread_rwlock_unlock(&mut->lock);
    return ok;
}

/* ---------------------------------------------------------------------------
 * The view of a whole realm
 */

/*
 * Whether b applies to every job (no conditions), to some (conditions on
 * the job name only, each with values), or to none (a condition on an
 * attribute tock does not supply never holds).
 */
static enum auth_view binding_scope(const struct binding *b)
{
    for (size_t i = 0; i < b->n_conds; i++) {
        const struct condition *c = &b->conds[i];
        if (!c->attribute || strcmp(c->attribute, "scheduler.job.name") != 0 || !c->values.n)
            return AUTH_VIEW_NONE;
    }
    return b->n_conds ? AUTH_VIEW_SOME : AUTH_VIEW_ALL;
}

/* realm_grants without a job: the best view any binding gives identity. */
static enum auth_view realm_view_of(const struct auth *a, const struct policy *p,
                                    const struct realm *r, const char *identity, unsigned bit,
                                    unsigned depth)
{
    enum auth_view best = AUTH_VIEW_NONE;

    if (!r || depth > LIMIT_REALM_EXTENDS_DEPTH)
        return AUTH_VIEW_NONE;
    for (size_t i = 0; i < r->n_bindings; i++) {
        const struct binding *b = &r->bindings[i];
        enum auth_view scope = (b->perms & bit) ? binding_scope(b) : AUTH_VIEW_NONE;
        if (scope <= best)
            continue;
        for (size_t j = 0; j < b->principals.n; j++) {
            if (principal_matches(a, b->principals.v[j], identity)) {
                best = scope;
                break;
            }
        }
        if (best == AUTH_VIEW_ALL)
            return best;
    }
    for (size_t i = 0; i < r->extends.n && best != AUTH_VIEW_ALL; i++) {
        enum auth_view v = realm_view_of(a, p, realm_find(p, r->extends.v[i]), identity, bit,
                                         depth + 1);
        if (v > best)
            best = v;
    }
    return best;
}

/* The acl_sets fallback: SOME if any job's ACL grants the bit to identity. */
static enum auth_view acl_view(const struct auth *a, const struct policy *p,
                               const char *identity, unsigned bit)
{
    for (size_t i = 0; i < p->n_realms; i++) {
        if (realm_view_of(a, p, &p->realms[i], identity, bit, 0) != AUTH_VIEW_NONE)
            return AUTH_VIEW_SOME;
    }
    return AUTH_VIEW_NONE;
}

enum auth_view auth_realm_view(const struct auth *a, const char *identity, const char *project,
                               const char *realm_id, enum auth_perm perm)
{
    struct auth *mut = (struct auth *)a;
    const struct policy *p = NULL;
    const char *realm = realm_name_of(realm_id);
    enum auth_view v = AUTH_VIEW_NONE;
    unsigned bit;

    if (!identity || !project || (int)perm < 0 || perm >= _AUTH_PERM_MAX)
        return AUTH_VIEW_NONE;
    bit = PERM_BIT(perm);
    pthread_rwlock_rdlock(&mut->lock);
    if (is_member_locked(a, identity, AUTH_ADMIN_GROUP)) {
        pthread_rwlock_unlock(&mut->lock);
        return AUTH_VIEW_ALL;
    }
    ssize_t at = policy_index_locked(a, project);
    if (at >= 0)
        p = a->policies[at];
    if (p && p->has_realms) {
        const struct realm *root = realm_find(p, "@root");
        const struct realm *r = realm_find(p, realm);
        v = realm_view_of(a, p, root, identity, bit, 0);
        if (v != AUTH_VIEW_ALL && r && r != root) {
            enum auth_view rv = realm_view_of(a, p, r, identity, bit, 0);
            v = rv > v ? rv : v;
        }
    } else if (p) {
        v = acl_view(a, p, identity, bit);
    }
    pthread_rwlock_unlock(&mut->lock);
    return v;
}
