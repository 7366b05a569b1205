/*
 * sqlite-checkpoint.c - WAL checkpoints on a thread of their own (see
 * sqlite-checkpoint.h).
 */
#include "base/compat.h"

#include "store/sqlite-checkpoint.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/time.h"
#include "base/limits.h"

struct sqlite_checkpointer {
    sqlite3 *writer; /* borrowed: the store's connection */
    sqlite3 *db;     /* the thread's own connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    int frames; /* WAL frames after the last commit the hook saw */
};

/* sqlite3_wal_hook: runs on the committing thread after each commit. */
static int on_commit(void *ctx, sqlite3 *db, const char *schema, int frames)
{
    struct sqlite_checkpointer *c = ctx;

    if (frames >= LIMIT_STORE_CHECKPOINT_BACKSTOP)
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    c->frames = frames;
    if (frames >= LIMIT_STORE_CHECKPOINT_FRAMES)
        pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
    struct sqlite_checkpointer *c = arg;
    struct timespec ts;

    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        ts = clock_mono_deadline(LIMIT_STORE_CHECKPOINT_IDLE_MS * NS_PER_MS);
        while (!c->stopping && c->frames < LIMIT_STORE_CHECKPOINT_FRAMES)
            if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0)
                break; /* idle long enough: checkpoint what is there */
        if (c->stopping || c->frames == 0)
            continue;
        c->frames = 0; /* the next commit tells what is left */
        pthread_mutex_unlock(&c->lock);
        /* Errors (SQLITE_BUSY while another checkpoint runs) only mean "later". */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void checkpointer_free(struct sqlite_checkpointer *c)
{
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int sqlite_checkpointer_start(sqlite3 *writer, const char *path,
                              struct sqlite_checkpointer **ret)
{
    struct sqlite_checkpointer *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;
    int r;

    if (!c)
        return -ENOMEM;
    c->writer = writer;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        checkpointer_free(c);
        return -EIO;
    }
    r = pthread_create(&c->thread, NULL, checkpoint_main, c);
    if (r != 0) {
        checkpointer_free(c);
        return -r;
    }
    sqlite3_wal_hook(writer, on_commit, c);
    *ret = c;
    return 0;
}

void sqlite_checkpointer_stop(struct sqlite_checkpointer *c)
{
    if (!c)
        return;
    sqlite3_wal_autocheckpoint(c->writer, 1000); /* SQLite's default */
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    checkpointer_free(c);
}
