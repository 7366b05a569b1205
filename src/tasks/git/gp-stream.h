/*
 * gp-stream.h - the git poller's TCP stream for libgit2: every connect,
 * read and write of http://, https:// (the TLS stream rides on it) and
 * git:// waits at most until the deadline of the poll running on the
 * calling thread; ssh:// (libssh2 reads the socket itself) is cut by a
 * watchdog thread that shuts the socket down at that deadline.
 *
 *   if (gp_stream_install() < 0) ...        (after each git_libgit2_init)
 *   gp_stream_set_deadline(now + timeout);  (the calling thread's polls)
 *   ... libgit2 fetches ...
 *   if (gp_stream_timed_out()) ...          (a deadline cut a stream)
 *   gp_stream_set_deadline(0);
 *
 * libgit2 1.5 has no socket timeout of its own; this is registered as its
 * GIT_STREAM_STANDARD stream (git_stream_register), so it serves every
 * libgit2 user of the process.  Its struct starts with the fields of
 * libgit2 1.5's internal git_socket_stream (parent, host, port, socket),
 * because libgit2's ssh transport reads the socket from there.
 *
 * Errors reach libgit2 as -1 with git_error_set ("... timed out after the
 * git poll's deadline").  Host names are resolved with getaddrinfo, which
 * has no deadline (a hung resolver is not bounded).
 * Threads: any; the deadline and the timed-out flag are per thread.
 */
#ifndef TOCK_TASKS_GIT_GP_STREAM_H
#define TOCK_TASKS_GIT_GP_STREAM_H

#include "base/compat.h"

#include <stdbool.h>
#include <stdint.h>

/* Registers the stream with libgit2 (after git_libgit2_init; again is harmless).  0 or -EIO. */
int gp_stream_install(void);

/* The calling thread's deadline (CLOCK_MONOTONIC ns; 0 = none); clears the flag. */
void gp_stream_set_deadline(int64_t deadline_ns);

/* Whether a deadline cut a stream of the calling thread since set_deadline. */
bool gp_stream_timed_out(void);

#endif
