/*
 * buf.h - a growable byte buffer with a mandatory maximum size.
 *
 * A struct buf always holds a NUL-terminated string of len bytes in data
 * (data is never NULL after buf_init), so it can be printed directly.  It
 * never grows past max bytes of content: an append that would go past it
 * fails with -E2BIG and leaves the buffer as it was.  Out of memory is
 * -ENOMEM, again with the buffer unchanged.
 *
 *   struct buf b;
 *   buf_init(&b, LIMIT_CONFIG_STRING_BYTES);
 *   if (buf_append(&b, "x", 1) < 0) goto out;
 *   ...
 *   buf_release(&b);
 */
#ifndef TOCK_BASE_BUF_H
#define TOCK_BASE_BUF_H

#include "base/compat.h"

struct buf {
    char *data;   /* owned; "" (static) until the first append */
    size_t len;   /* bytes of content, excluding the NUL */
    size_t alloc; /* bytes allocated at data, 0 while data is static */
    size_t max;   /* content never exceeds this many bytes */
};

/* Initialises an empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Frees the storage; the buffer is left empty and may be reused. */
void buf_release(struct buf *b);

/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* Appends n bytes.  Returns 0, -E2BIG or -ENOMEM (buffer unchanged). */
int buf_append(struct buf *b, const void *data, size_t n);

/* Appends a NUL-terminated string. */
int buf_puts(struct buf *b, const char *s);

/* Appends one byte. */
int buf_putc(struct buf *b, char c);

/* Appends printf-style output.  Returns 0, -E2BIG, -ENOMEM or -EINVAL. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Hands the content to the caller, who frees it with free(3); the buffer is
 * left empty.  Returns NULL only when out of memory.
 */
char *buf_detach(struct buf *b, size_t *ret_len);

#endif
