/*
 * sqlite-checkpoint.h - checkpoints of a SQLite store's WAL, off the
 * writers' path.
 *
 * SQLite's own auto-checkpoint runs inside the COMMIT that crosses 1,000
 * WAL frames: the writer copies every frame into the database file and
 * syncs it while holding the store's one connection.  With 100,000 jobs a
 * burst of cron ticks dirties pages all over the file, and those copies
 * were most of the burst's stalls (issue 10).  A checkpointer turns the
 * auto-checkpoint off on the writer's connection (sqlite3_wal_hook) and
 * runs PASSIVE checkpoints on a thread with a connection of its own: when
 * the WAL reaches LIMIT_STORE_CHECKPOINT_FRAMES, and every
 * LIMIT_STORE_CHECKPOINT_IDLE_MS while frames are left.  PASSIVE never
 * blocks the writer.  If the WAL still reaches
 * LIMIT_STORE_CHECKPOINT_BACKSTOP frames (the thread cannot keep up, or
 * could not start), the committing writer checkpoints itself, as SQLite
 * would.
 *
 * Durability is SQLite's: a checkpoint copies committed frames only, and
 * the writer's synchronous=FULL makes each COMMIT durable in the WAL.
 *
 * Threads: sqlite_checkpointer_start() and _stop() are called by the
 * thread that opens / closes the store, with no transaction running; the
 * WAL hook runs on the committing thread (under the store's lock).
 */
#ifndef TOCK_STORE_SQLITE_CHECKPOINT_H
#define TOCK_STORE_SQLITE_CHECKPOINT_H

#include <sqlite3.h>

struct sqlite_checkpointer;

/*
 * Installs the WAL hook on writer (a WAL-mode connection to path) and
 * starts the thread with its own connection to path.  Returns 0, -ENOMEM,
 * -EIO (the connection could not be opened) or -errno of pthread_create;
 * on failure writer keeps SQLite's auto-checkpoint.  *ret is owned by the
 * caller: pass it to sqlite_checkpointer_stop() before closing writer.
 */
int sqlite_checkpointer_start(sqlite3 *writer, const char *path,
                              struct sqlite_checkpointer **ret);

/*
 * Stops the thread, closes its connection and gives writer back SQLite's
 * auto-checkpoint.  NULL is a no-op.
 */
void sqlite_checkpointer_stop(struct sqlite_checkpointer *c);

#endif
