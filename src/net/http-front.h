/*
 * http-front.h - the front door of net/http.c (private to the net room).
 *
 * One thread of ours owns the listening socket.  It accepts every
 * connection itself, counts it against the caps, and keeps it in its own
 * epoll set (edge-triggered) while it MSG_PEEKs at the bytes, without
 * consuming them, until the first request line and headers are complete.
 * Then:
 *   - a connection past a cap (max_connections over all, max_per_client
 *     from one IPv4 address or IPv6 /64) is answered "503 Service
 *     Unavailable" with Retry-After (also when its headers do not come
 *     within LIMIT_HTTP_REFUSED_SEC);
 *   - a first request that http_front_check refuses is answered with ONE
 *     400 (431 for too many or too large headers);
 *   - any other is handed, untouched, to libmicrohttpd (MHD_add_connection),
 *     which reads and serves it and its keep-alive successors.
 * A connection whose first request line and headers are not complete
 * header_timeout_sec after it was accepted, or that is silent for
 * idle_timeout_sec before that, is closed without an answer.
 * Answers of the front door end with "Connection: close", shutdown(SHUT_WR)
 * and a drain of what the client still sends (at most LIMIT_HTTP_LINGER_MS)
 * before close(2), so the client reads the answer instead of a reset.
 * At most `overflow` refused connections are held at once; past that (or
 * past max_connections + overflow connections held by the front door) the
 * front door stops accepting and new connections wait in the listen
 * backlog (LIMIT_HTTP_BACKLOG).
 *
 * A cap slot taken at accept stays taken while libmicrohttpd serves the
 * connection: net/http.c gives it back with http_front_release when
 * libmicrohttpd reports the connection closed.  (A connection that
 * libmicrohttpd drops before reporting it, which 0.9.75 does only when it
 * cannot allocate the connection's memory pool, keeps its slot.)
 *
 * Peeking: with SO_PEEK_OFF (Linux >= 6.10 for TCP) each byte is copied
 * once; on older kernels the front door re-peeks from the start at every
 * arrival (at most LIMIT_HTTP_HEADER_BYTES each time).
 *
 * Threads: start/stop from one thread; http_front_release from any thread.
 * Does not log.
 */
#ifndef TOCK_NET_HTTP_FRONT_H
#define TOCK_NET_HTTP_FRONT_H

#include "base/compat.h"

#include <sys/socket.h>

struct MHD_Daemon;

struct http_front_options {
    int listen_fd;             /* listening, owned by the front door from start on */
    struct MHD_Daemon *daemon; /* started with MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC */
    unsigned max_connections, max_per_client, overflow;
    unsigned header_timeout_sec, idle_timeout_sec;
};

struct http_front;

/* The key a per-client cap counts: IPv4 as is, IPv6 cut to its /64. */
void http_front_addr_key(const struct sockaddr *sa, unsigned char key[16]);

/*
 * Starts the accept thread.  Returns 0 and *ret, -ENOMEM, or -errno (the
 * listening socket is closed on failure too).
 */
int http_front_start(const struct http_front_options *o, struct http_front **ret);

/* A connection handed to libmicrohttpd is closed: frees its cap slot. */
void http_front_release(struct http_front *f, const unsigned char key[16]);

/*
 * Stops accepting, closes the listening socket and every connection the
 * front door still holds, joins the thread.  Idempotent, NULL-safe.
 * http_front_release stays valid until http_front_free.
 */
void http_front_stop(struct http_front *f);

/* Stops if needed and frees f (after libmicrohttpd is stopped).  NULL-safe. */
void http_front_free(struct http_front *f);

/*
 * Checks a first request: head is the request line and headers up to and
 * including the empty line (len bytes, any bytes).  Returns 0 when it may
 * go to libmicrohttpd, or the status to answer (400, 431) with *why set to
 * a static reason: a control byte (NUL included) in the request line or a
 * header; a header line without ":" or with a bad name; obsolete line
 * folding; a Content-Length that is not 1-19 digits; several
 * Content-Length; Content-Length with Transfer-Encoding; a
 * Transfer-Encoding other than one "chunked"; several Authorization;
 * more than LIMIT_HTTP_HEADERS headers (431).
 */
int http_front_check(const char *head, size_t len, const char **why);

#endif
