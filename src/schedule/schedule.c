/*
 * schedule.c - the four kinds of schedule and their next tick (see
 * schedule.h; LUCI's rules are in luci-scheduler-spec.md 2.1-2.4).
 */
#include "schedule/schedule.h"

#include "base/limits.h"
#include "schedule/cron.h"
#include "schedule/tz.h"

struct schedule {
    enum schedule_kind kind;
    char *text;                 /* owned copy of the original text */
    int64_t interval;           /* relative: ns, >= 0 */
    struct cron_expr *cron;     /* absolute (not triggered): owned */
    const struct tz_zone *zone; /* absolute with "TZ=": borrowed from the loader */
};

static int set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* Quotes a token like Go's %q for the ASCII cases that matter here. */
static void quote(const char *s, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch == '\t' || ch == '\n' || ch == '\r') {
            out[o++] = '\\';
            out[o++] = ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r';
        } else if (ch < 0x20 || ch == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* "with <duration> interval", split on single spaces into at most 3 parts. */
static int parse_relative(const char *text, int64_t *ret, char *err, size_t errlen)
{
    const char *sp1 = strchr(text, ' ');
    const char *tok = sp1 ? sp1 + 1 : NULL;
    const char *sp2 = tok ? strchr(tok, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - text) != 4 || memcmp(text, "with", 4) != 0 ||
        strcmp(sp2 + 1, "interval") != 0)
        return set_err(err, errlen, "expecting format \"with <duration> interval\"");

    char dur[LIMIT_SCHEDULE_LEN + 1], q[2 * LIMIT_SCHEDULE_LEN + 8], goerr[3 * LIMIT_SCHEDULE_LEN];
    size_t n = (size_t)(sp2 - tok);
    memcpy(dur, tok, n);
    dur[n] = '\0';
    quote(dur, n, q, sizeof(q));

    int64_t ns;
    if (time_parse_duration(dur, &ns, goerr, sizeof(goerr)) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "bad duration %s - %s", q, goerr);
        return -EINVAL;
    }
    if (ns < 0) {
        if (err && errlen)
            snprintf(err, errlen, "bad interval %s - it must be positive", q);
        return -EINVAL;
    }
    *ret = ns;
    return 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/*
 * An optional "TZ=<name> " prefix before a cron expression.  On success
 * sets *ret_zone (NULL without a prefix) and *ret_rest to the expression.
 */
static int parse_tz_prefix(const char *text, const struct schedule_options *opts,
                           const struct tz_zone **ret_zone, const char **ret_rest, char *err,
                           size_t errlen)
{
    const char *p = text;
    while (is_blank(*p))
        p++;
    if (strncmp(p, "TZ=", 3) != 0) {
        *ret_zone = NULL;
        *ret_rest = text;
        return 0;
    }
    if (opts && opts->strict_luci)
        return set_err(err, errlen,
                       "time zones (TZ=...) are a tock extension that LUCI Scheduler does not "
                       "accept");
    p += 3;
    const char *q = p;
    while (*q && !is_blank(*q))
        q++;
    size_t n = (size_t)(q - p);
    if (n == 0)
        return set_err(err, errlen, "missing time-zone name after \"TZ=\"");
    char name[LIMIT_SCHEDULE_LEN + 1], qname[2 * LIMIT_SCHEDULE_LEN + 8];
    memcpy(name, p, n);
    name[n] = '\0';
    quote(name, n, qname, sizeof(qname));
    if (!opts || !opts->tz_load) {
        if (err && errlen)
            snprintf(err, errlen, "bad time zone %s - no time-zone database is available",
                     qname);
        return -EINVAL;
    }
    char lerr[256] = "unknown time zone";
    const struct tz_zone *z = opts->tz_load(opts->tz_ctx, name, lerr, sizeof(lerr));
    if (!z) {
        if (err && errlen)
            snprintf(err, errlen, "bad time zone %s - %s", qname, lerr);
        return -EINVAL;
    }
    *ret_zone = z;
    *ret_rest = q;
    return 0;
}

int schedule_parse(const char *text, const struct schedule_options *opts,
                   struct schedule **ret, char *reterr_msg, size_t errlen)
{
    struct schedule *s = NULL;
    int r;

    if (!text)
        return set_err(reterr_msg, errlen, "no schedule");
    if (strlen(text) > LIMIT_SCHEDULE_LEN) {
        if (reterr_msg && errlen)
            snprintf(reterr_msg, errlen, "schedule is longer than %u bytes",
                     (unsigned)LIMIT_SCHEDULE_LEN);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->text = strdup(text);
    if (!s->text) {
        r = -ENOMEM;
        goto out;
    }

    if (strcmp(text, "triggered") == 0) {
        s->kind = SCHEDULE_TRIGGERED;
    } else if (strcmp(text, "continuously") == 0) {
        s->kind = SCHEDULE_RELATIVE;
        s->interval = 0;
    } else if (strncmp(text, "with ", 5) == 0) {
        s->kind = SCHEDULE_RELATIVE;
        r = parse_relative(text, &s->interval, reterr_msg, errlen);
        if (r < 0)
            goto out;
    } else {
        const char *rest;
        s->kind = SCHEDULE_ABSOLUTE;
        r = parse_tz_prefix(text, opts, &s->zone, &rest, reterr_msg, errlen);
        if (r < 0)
            goto out;
        unsigned flags = opts && opts->strict_luci ? CRON_STRICT_LUCI : 0;
        r = cron_expr_parse(rest, opts ? opts->job_id : NULL, flags, &s->cron, reterr_msg,
                            errlen);
        if (r < 0)
            goto out;
    }
    *ret = s;
    s = NULL;
    r = 0;
out:
    schedule_free(s);
    return r;
}

struct schedule *schedule_free(struct schedule *s)
{
    if (!s)
        return NULL;
    cron_expr_free(s->cron);
    free(s->text);
    free(s);
    return NULL;
}

enum schedule_kind schedule_kind(const struct schedule *s)
{
    return s->kind;
}

const char *schedule_text(const struct schedule *s)
{
    return s->text;
}

bool schedule_is_absolute(const struct schedule *s)
{
    return s->kind != SCHEDULE_RELATIVE;
}

int64_t schedule_interval(const struct schedule *s)
{
    return s->interval;
}

const struct tz_zone *schedule_zone(const struct schedule *s)
{
    return s->zone;
}

/* a + b, clamped to the int64 range. */
static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

int64_t schedule_next(const struct schedule *s, int64_t now_ns, int64_t prev_ns)
{
    switch (s->kind) {
    case SCHEDULE_TRIGGERED:
        return TIME_DISTANT_FUTURE;
    case SCHEDULE_RELATIVE:
        if (prev_ns == TIME_ZERO)
            return add_sat(now_ns, s->interval);
        int64_t next = add_sat(prev_ns, s->interval);
        return next > now_ns ? next : now_ns;
    case SCHEDULE_ABSOLUTE:
        return cron_expr_next(s->cron, s->zone, now_ns);
    }
    return TIME_ZERO;
}
