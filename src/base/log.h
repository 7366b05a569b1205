/*
 * log.h - the server's event log: one line per event on stderr.
 *
 * Only the running program's rooms log (engine/, api/, cli/serve); library
 * rooms (base/, config/, schedule/, store/) return errors instead.  Two
 * formats, chosen once at start-up with log_init():
 *   text: 2026-11-22T13:34:00.123Z INFO engine: Tick 123 has arrived
 *   json: {"ts":"2026-11-22T13:34:00.123Z","level":"info","room":"engine","msg":"..."}
 * Lines are written with one write(2) each, so threads never interleave
 * within a line.  Messages longer than LOG_LINE_MAX are cut.
 */
#ifndef TOCK_BASE_LOG_H
#define TOCK_BASE_LOG_H

#include "base/compat.h"

#define LOG_LINE_MAX 8192

enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
};

enum log_format {
    LOG_FORMAT_TEXT,
    LOG_FORMAT_JSON,
};

/* Sets the format and the lowest level written (default: text, info). */
void log_init(enum log_format format, enum log_level min_level);

void log_write(enum log_level level, const char *room, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(room, ...) log_write(LOG_DEBUG, room, __VA_ARGS__)
#define log_info(room, ...) log_write(LOG_INFO, room, __VA_ARGS__)
#define log_warn(room, ...) log_write(LOG_WARN, room, __VA_ARGS__)
#define log_error(room, ...) log_write(LOG_ERROR, room, __VA_ARGS__)

#endif
