/*
 * pubsub.c - Pub/Sub pushes (luci-scheduler-spec.md 3.14): the key that
 * signs their auth tokens, and the delivery of a push to its invocation.
 *
 * A push is authenticated by nothing but the token its manager finds in
 * it.  A valid push for a running invocation becomes a durable
 * "notification" task row before the caller acknowledges it; the task's
 * handler (engine__handle_notification, invocations.c) then calls the
 * manager, which asks the remote service for the real status: the push
 * body itself is never trusted.
 */
#include "engine/engine-internal.h"

#include <openssl/rand.h>

#include "base/base64.h"
#include "base/log.h"
#include "engine/push-token.h"
#include "tasks/registry.h"

#define PUBSUB_SECRET_NAME "pubsub_auth_token"

static int key_new(struct push_token_key *k)
{
    return RAND_bytes(k->bytes, (int)sizeof(k->bytes)) == 1 ? 0 : -EIO;
}

static int key_from_text(const char *text, struct push_token_key *k)
{
    unsigned char raw[PUSH_TOKEN_KEY_BYTES + 4];
    ssize_t n = base64_decode(BASE64_STD, text, strlen(text), raw, sizeof(raw));

    if (n != PUSH_TOKEN_KEY_BYTES)
        return -EINVAL;
    memcpy(k->bytes, raw, PUSH_TOKEN_KEY_BYTES);
    return 0;
}

static int key_to_text(const struct push_token_key *k, char *out, size_t outlen)
{
    return base64_encode(BASE64_STD, k->bytes, PUSH_TOKEN_KEY_BYTES, out, outlen) < 0 ? -ENOBUFS
                                                                                     : 0;
}

/* Puts the secret's keys into e (the lock held). */
static int keys_adopt(struct engine *e, const struct store_secret *s)
{
    int r = key_from_text(s->current, &e->push_keys[0]);

    e->n_push_keys = 1;
    if (r == 0 && s->previous && s->previous[0] &&
        engine__now(e) - s->rotated < PUSH_TOKEN_LIFETIME_NS &&
        key_from_text(s->previous, &e->push_keys[1]) == 0)
        e->n_push_keys = 2;
    return r;
}

/*
 * Writes a new current key (the old one becomes previous) in tx, and
 * adopts it.  old may be NULL (first start).
 */
static int keys_rotate_in(struct engine *e, struct store_tx *tx, const struct store_secret *old)
{
    struct push_token_key k;
    char cur[BASE64_ENCODED_SIZE(PUSH_TOKEN_KEY_BYTES)];
    struct store_secret s = {
        .name = PUBSUB_SECRET_NAME,
        .current = cur,
        .previous = old ? old->current : "",
        .rotated = engine__now(e),
    };
    int r = key_new(&k);

    if (r == 0)
        r = key_to_text(&k, cur, sizeof(cur));
    if (r == 0)
        r = store_secret_put(tx, &s);
    if (r == 0)
        r = keys_adopt(e, &s);
    return r;
}

/* Loads the keys from the store, making the first one if there is none. */
static int keys_load(struct engine *e, bool rotate)
{
    struct store_tx *tx = NULL;
    struct store_secret s = {0};
    int r = store_begin(e->store, &tx);

    if (r < 0)
        return r;
    r = store_secret_get(tx, PUBSUB_SECRET_NAME, &s);
    if (r == -ENOENT) {
        r = keys_rotate_in(e, tx, NULL);
    } else if (r == 0 && rotate) {
        r = keys_rotate_in(e, tx, &s);
    } else if (r == 0) {
        r = keys_adopt(e, &s);
        store_secret_release(&s);
        store_rollback(tx);
        return r;
    }
    store_secret_release(&s);
    if (r == 0)
        return store_commit(tx);
    store_rollback(tx);
    return r;
}

/* Copies the keys (loading them at first use) into keys[2]; returns how many, or -errno. */
static int keys_get(struct engine *e, struct push_token_key keys[2])
{
    int r = 0;

    pthread_mutex_lock(&e->push_lock);
    if (e->n_push_keys == 0)
        r = keys_load(e, false);
    if (r == 0) {
        memcpy(keys, e->push_keys, sizeof(e->push_keys));
        r = e->n_push_keys;
    }
    pthread_mutex_unlock(&e->push_lock);
    if (r < 0)
        log_error("engine", "cannot load the Pub/Sub token key: %s", strerror(-r));
    return r;
}

int engine_rotate_pubsub_key(struct engine *e)
{
    int r;

    pthread_mutex_lock(&e->push_lock);
    r = keys_load(e, true);
    pthread_mutex_unlock(&e->push_lock);
    return r;
}

int engine__pubsub_token(struct engine *e, const char *job_id, int64_t inv_id, char *out,
                         size_t outlen)
{
    struct push_token_key keys[2];
    int n = keys_get(e, keys);

    if (n < 0)
        return -EIO;
    return push_token_make(&keys[0], job_id, inv_id, engine__now(e), out, outlen);
}

/* Checks the token and the invocation's state; enqueues the notification. */
static int deliver(struct engine *e, const char *job_id, int64_t inv_id, const json_t *message,
                   char *err, size_t errlen)
{
    struct store_tx *tx = NULL;
    struct store_inv v = {0};
    const char *mid = json_string_value(json_object_get(message, "messageId"));
    char key[PUSH_TOKEN_JOB_MAX + 160];
    json_t *payload = NULL;
    int r, st;

    r = store_begin(e->store, &tx);
    if (r < 0)
        return r;
    r = store_inv_get(tx, inv_id, &v);
    if (r == 0 && strcmp(v.job_id, job_id) != 0)
        r = -ENOENT;
    if (r == -ENOENT) {
        snprintf(err, errlen, "the invocation doesn't exist");
        goto out;
    }
    if (r < 0)
        goto out;
    st = inv_status_from_name(v.status);
    if (st < 0 || inv_status_is_final((enum inv_status)st))
        goto out; /* acknowledged silently */
    if (inv_status_is_initial((enum inv_status)st)) {
        snprintf(err, errlen, "invocation is still starting, try again later");
        r = -EAGAIN;
        goto out;
    }
    payload = json_pack("{s:O}", "message", (json_t *)message);
    if (!payload) {
        r = -ENOMEM;
        goto out;
    }
    /* A duplicate delivery of a push still queued is a no-op. */
    snprintf(key, sizeof(key), "push:%" PRId64 ":%.128s", inv_id, mid ? mid : "");
    r = engine__enqueue(e, tx, TASK_NOTIFICATION, job_id, inv_id, payload, engine__now(e),
                        mid && mid[0] ? key : NULL);
out:
    json_decref(payload);
    store_inv_release(&v);
    if (r == 0)
        return engine__commit(e, tx);
    store_rollback(tx);
    return r;
}

int engine_deliver_push(struct engine *e, const char *kind, const json_t *message, char *err,
                        size_t errlen)
{
    const struct task_manager *m = task_registry_find(e->registry, kind);
    struct push_token_key keys[2];
    char token[PUSH_TOKEN_MAX], job_id[PUSH_TOKEN_JOB_MAX];
    int64_t inv_id = 0;
    int n;

    snprintf(err, errlen, "%s", "");
    if (!m || !m->examine_notification) {
        snprintf(err, errlen, "unknown task manager \"%.64s\"", kind);
        return -EINVAL;
    }
    if (!json_is_object(message) ||
        m->examine_notification(m, message, token, sizeof(token)) < 0 || !token[0]) {
        snprintf(err, errlen, "failed to extract the auth token from the pubsub message");
        return -EINVAL;
    }
    n = keys_get(e, keys);
    if (n < 0) {
        snprintf(err, errlen, "no key to check the auth token");
        return -EIO;
    }
    if (push_token_check(keys, (size_t)n, token, engine__now(e), job_id, &inv_id) < 0) {
        snprintf(err, errlen, "bad pubsub auth token");
        return -EACCES;
    }
    return deliver(e, job_id, inv_id, message, err, errlen);
}
