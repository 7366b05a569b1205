#include "engine/debuglog.h"

#include "base/time.h"

#include <stdarg.h>

/* Longest formatted message debuglog_appendf / triagelog_appendf accept. */
#define DEBUGLOG_FMT_MAX (64u * 1024)

int debuglog_append(struct buf *log, int64_t now_ns, const char *msg)
{
    /* Floor division so that instants before 1970 still give a wall time. */
    int64_t sec = time_floor_sec(now_ns);
    int64_t ms = (now_ns - sec * NS_PER_SEC) / NS_PER_MS;
    int64_t day_sec = sec % 86400;
    if (day_sec < 0)
        day_sec += 86400;

    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "[%02d:%02d:%02d.%03d] ", (int)(day_sec / 3600),
                     (int)(day_sec / 60 % 60), (int)(day_sec % 60), (int)ms);
    size_t mlen = strlen(msg);
    size_t old_len = log->len;
    int r = buf_append(log, prefix, (size_t)n);
    if (r < 0)
        return r;
    r = buf_append(log, msg, mlen);
    if (r == 0)
        r = buf_putc(log, '\n');
    if (r < 0) {
        /* The prefix went in, so data is allocated: take it back out. */
        log->len = old_len;
        log->data[old_len] = '\0';
    }
    return r;
}

static int vformat(char **ret, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static int vformat(char **ret, const char *fmt, va_list ap)
{
    struct buf b;
    buf_init(&b, DEBUGLOG_FMT_MAX);
    char tmp[512];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, aq);
    va_end(aq);
    if (n < 0)
        return -EINVAL;
    int r;
    if ((size_t)n < sizeof(tmp)) {
        r = buf_append(&b, tmp, (size_t)n);
    } else {
        if ((size_t)n > DEBUGLOG_FMT_MAX)
            return -E2BIG;
        char *big = malloc((size_t)n + 1);
        if (!big)
            return -ENOMEM;
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        r = buf_append(&b, big, (size_t)n);
        free(big);
    }
    if (r < 0)
        goto out;
    *ret = buf_detach(&b, NULL);
    if (!*ret)
        r = -ENOMEM;
out:
    buf_release(&b);
    return r;
}

int debuglog_appendf(struct buf *log, int64_t now_ns, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vformat(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r;
    r = debuglog_append(log, now_ns, msg);
    free(msg);
    return r;
}

/* Whether s[0..len-1] is exactly one marker line. */
static bool is_marker_line(const char *s, size_t len)
{
    static const char m[] = DEBUGLOG_MARKER "\n";
    return len == sizeof(m) - 1 && memcmp(s, m, len) == 0;
}

/*
 * Appends text to out line by line, dropping a marker line that directly
 * follows another marker line (prev_marker carries that across calls).
 */
static int append_collapsed(struct buf *out, const char *s, size_t len, bool *prev_marker)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - s) + 1 : len;
        bool marker = is_marker_line(s + pos, end - pos);
        if (!(marker && *prev_marker)) {
            int r = buf_append(out, s + pos, end - pos);
            if (r < 0)
                return r;
        }
        *prev_marker = marker;
        pos = end;
    }
    return 0;
}

/*
 * Replaces the content of log by the concatenation of parts (which may
 * point into log), collapsing consecutive marker lines if asked.  The log
 * keeps its max; the new text may exceed it only if the old one did.
 */
static int replace(struct buf *log, const char *parts[], const size_t lens[], size_t n_parts,
                   bool collapse)
{
    struct buf out;
    buf_init(&out, log->max > DEBUGLOG_LIMIT_BYTES ? log->max : DEBUGLOG_LIMIT_BYTES);
    bool prev_marker = false;
    int r = 0;
    for (size_t i = 0; i < n_parts && r == 0; i++) {
        if (collapse)
            r = append_collapsed(&out, parts[i], lens[i], &prev_marker);
        else
            r = buf_append(&out, parts[i], lens[i]);
    }
    if (r < 0)
        goto out;
    size_t max = log->max;
    buf_release(log);
    *log = out;
    log->max = max;
    buf_init(&out, 0); /* ownership moved to log */
out:
    buf_release(&out);
    return r;
}

static int give_up(struct buf *log)
{
    static const char marker[] = "\n" DEBUGLOG_MARKER "\n";
    const char *parts[] = {log->data, marker};
    const size_t lens[] = {DEBUGLOG_LIMIT_BYTES - (sizeof(marker) - 1), sizeof(marker) - 1};
    return replace(log, parts, lens, 2, false);
}

/* The index of the last '\n' in s[0..end-1], or -1. */
static ptrdiff_t last_newline(const char *s, size_t end)
{
    for (size_t i = end; i > 0; i--) {
        if (s[i - 1] == '\n')
            return (ptrdiff_t)i - 1;
    }
    return -1;
}

int debuglog_trim(struct buf *log)
{
    static const char marker_line[] = DEBUGLOG_MARKER "\n";
    const char *s = log->data;
    size_t len = log->len;

    if (len <= DEBUGLOG_LIMIT_BYTES)
        return 0;

    /*
     * The tail is the last DEBUGLOG_TAIL_LINES lines: it starts after the
     * 100th '\n' counted backwards, not counting a '\n' that ends the log.
     * The search is bounded by the log's length.
     */
    size_t search_end = len - 1;
    for (int i = 0; i < DEBUGLOG_TAIL_LINES; i++) {
        ptrdiff_t nl = last_newline(s, search_end);
        if (nl <= 0)
            return give_up(log);
        search_end = (size_t)nl;
    }
    size_t tail_start = search_end + 1;

    size_t tail_len = len - tail_start + sizeof(marker_line) - 1;
    if (tail_len >= DEBUGLOG_LIMIT_BYTES)
        return give_up(log);
    size_t head_size = DEBUGLOG_LIMIT_BYTES - tail_len;

    /* The head ends at the last '\n' within its budget, and keeps >= 50 lines. */
    ptrdiff_t head_end = last_newline(s, head_size);
    if (head_end <= 0)
        return give_up(log);
    size_t head_lines = 0;
    for (ptrdiff_t i = 0; i <= head_end; i++)
        head_lines += s[i] == '\n';
    if (head_lines < DEBUGLOG_MIN_HEAD_LINES)
        return give_up(log);

    const char *parts[] = {s, marker_line, s + tail_start};
    const size_t lens[] = {(size_t)head_end + 1, sizeof(marker_line) - 1, len - tail_start};
    return replace(log, parts, lens, 3, true);
}

void triagelog_init(struct triagelog *t, int64_t start_ns)
{
    buf_init(&t->text, TRIAGELOG_MAX_BYTES);
    t->start_ns = start_ns;
    t->n_messages = 0;
}

int triagelog_append(struct triagelog *t, int64_t now_ns, const char *msg)
{
    int r = 0;
    size_t old_len = t->text.len;

    if (t->n_messages < TRIAGELOG_MAX_MESSAGES) {
        int64_t ms = now_ns > t->start_ns ? (now_ns - t->start_ns) / NS_PER_MS : 0;
        char prefix[40];
        int n = snprintf(prefix, sizeof(prefix), "[%03" PRId64 " ms] ", ms);
        r = buf_append(&t->text, prefix, (size_t)n);
        if (r == 0)
            r = buf_puts(&t->text, msg);
        if (r == 0)
            r = buf_putc(&t->text, '\n');
    } else if (t->n_messages == TRIAGELOG_MAX_MESSAGES) {
        r = buf_puts(&t->text, TRIAGELOG_TRUNCATED);
    }
    if (r < 0) {
        if (t->text.len != old_len) {
            t->text.len = old_len;
            t->text.data[old_len] = '\0';
        }
        if (r == -E2BIG)
            r = 0; /* the message is dropped, as one past the cap would be */
        else
            return r;
    }
    t->n_messages++;
    return r;
}

int triagelog_appendf(struct triagelog *t, int64_t now_ns, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vformat(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r == -E2BIG ? 0 : r;
    r = triagelog_append(t, now_ns, msg);
    free(msg);
    return r;
}

void triagelog_release(struct triagelog *t)
{
    buf_release(&t->text);
    t->n_messages = 0;
}
