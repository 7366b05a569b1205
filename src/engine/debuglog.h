/*
 * debuglog.h - the invocation debug log (spec 3.18) and the triage log
 * (spec 3.19).
 *
 * Invocation debug log: text made of lines "[HH:MM:SS.mmm] message\n",
 * the time being the UTC wall clock when the line was written (no date).
 * A message may contain newlines (e.g. a JSON dump); only its first line
 * gets the prefix.  Whenever the log is stored it is trimmed to
 * DEBUGLOG_LIMIT_BYTES with debuglog_trim(), exactly as LUCI does:
 *
 *   head (>= 50 whole lines) + DEBUGLOG_MARKER "\n" + the last 100 lines
 *
 * with runs of consecutive marker lines collapsed to one, so appending and
 * trimming again keeps a single marker and slides the tail.  When that
 * shape is impossible (giant lines, fewer than 100 lines, a head of fewer
 * than 50 lines) it "gives up": the first DEBUGLOG_LIMIT_BYTES - len(marker)
 * - 2 bytes, then "\n" marker "\n" (exactly DEBUGLOG_LIMIT_BYTES bytes).
 *
 * Triage log: one per job, rewritten by each triage.  Lines are
 * "[%03d ms] message\n", the number being milliseconds since the triage
 * started.  After TRIAGELOG_MAX_MESSAGES messages the next one is replaced
 * by TRIAGELOG_TRUNCATED (without a newline) and later ones are dropped.
 *
 * Pure: the caller supplies the time.  Neither log ever reads a clock.
 */
#ifndef TOCK_ENGINE_DEBUGLOG_H
#define TOCK_ENGINE_DEBUGLOG_H

#include "base/compat.h"
#include "base/buf.h"

/* LUCI's limit on a stored invocation debug log, in bytes. */
#define DEBUGLOG_LIMIT_BYTES 200000
/* Lines kept at the end, and the fewest kept at the start, by a trim. */
#define DEBUGLOG_TAIL_LINES 100
#define DEBUGLOG_MIN_HEAD_LINES 50
#define DEBUGLOG_MARKER "--- the log has been cut here ---"

/* LUCI's cap on triage-log messages, and what replaces the next one. */
#define TRIAGELOG_MAX_MESSAGES 1000
#define TRIAGELOG_TRUNCATED "<the log is too long, truncated here>"
/* Bound on the triage log's text (1000 messages of up to ~8 KB). */
#define TRIAGELOG_MAX_BYTES (8u * 1024 * 1024)

/*
 * Appends "[HH:MM:SS.mmm] msg\n" (now_ns in UTC) to log.  Returns 0, or
 * -E2BIG / -ENOMEM with log unchanged (buf_append's contract).  A log
 * created for debuglog_* should have a max of at least
 * DEBUGLOG_LIMIT_BYTES plus the longest message the caller appends.
 */
int debuglog_append(struct buf *log, int64_t now_ns, const char *msg);

/* As debuglog_append, with a printf-style message. */
int debuglog_appendf(struct buf *log, int64_t now_ns, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Trims log in place to at most DEBUGLOG_LIMIT_BYTES as described above.
 * A log within the limit is left unchanged.  Returns 0, or -ENOMEM with log
 * unchanged.
 */
int debuglog_trim(struct buf *log);

struct triagelog {
    struct buf text;  /* the log so far; read text.data / text.len */
    int64_t start_ns; /* when the triage started */
    size_t n_messages; /* messages offered so far, kept or not */
};

/* Starts an empty triage log for a triage that started at start_ns. */
void triagelog_init(struct triagelog *t, int64_t start_ns);

/*
 * Appends "[%03d ms] msg\n" with the milliseconds from start_ns to now_ns
 * (negative spans count as 0), or the truncation marker, or nothing, as
 * described above.  Returns 0 or -ENOMEM (log unchanged); messages are
 * never rejected for their size beyond the buffer's own bound.
 */
int triagelog_append(struct triagelog *t, int64_t now_ns, const char *msg);

/* As triagelog_append, with a printf-style message. */
int triagelog_appendf(struct triagelog *t, int64_t now_ns, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees the text; the log may be initialised again. */
void triagelog_release(struct triagelog *t);

#endif
