#include "base/log.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/time.h"

/* Set once by log_init before threads start; read-only afterwards. */
static enum log_format log_format = LOG_FORMAT_TEXT;
static enum log_level log_min_level = LOG_INFO;

static const char *const level_names[] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

void log_init(enum log_format format, enum log_level min_level)
{
    log_format = format;
    log_min_level = min_level;
}

/* Appends s as the inside of a JSON string. */
static void json_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
        } else if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_putc(b, (char)c);
        }
    }
}

void log_write(enum log_level level, const char *room, const char *fmt, ...)
{
    if (level < log_min_level)
        return;

    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Always three fraction digits, so log lines line up. */
    char when[TIME_RFC3339_MAX + 8];
    time_format_rfc3339((int64_t)ts.tv_sec * NS_PER_SEC, when, sizeof(when));
    size_t wl = strlen(when);
    if (wl > 0 && when[wl - 1] == 'Z')
        snprintf(when + wl - 1, sizeof(when) - (wl - 1), ".%03ldZ", ts.tv_nsec / 1000000);

    struct buf line;
    buf_init(&line, 2 * LOG_LINE_MAX + 256);
    if (log_format == LOG_FORMAT_JSON) {
        buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"room\":\"", when,
                   level_names[level]);
        json_escape(&line, room);
        buf_puts(&line, "\",\"msg\":\"");
        json_escape(&line, msg);
        buf_puts(&line, "\"}\n");
    } else {
        buf_printf(&line, "%s %-5s %s: ", when, level_names[level], room);
        for (const char *p = msg; *p; p++)
            buf_putc(&line, *p == '\n' ? ' ' : *p); /* one event, one line */
        buf_putc(&line, '\n');
    }
    ssize_t unused = write(STDERR_FILENO, line.data, line.len);
    (void)unused;
    buf_release(&line);
}
