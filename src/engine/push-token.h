/*
 * push-token.h - the auth tokens of Pub/Sub pushes (luci-scheduler-spec.md
 * 3.14 step 5).
 *
 * A token names one invocation and travels to Buildbucket in the build's
 * notify.userData (v2) or pubsub_callback.auth_token (v1); Buildbucket
 * hands it back in every push, and the token is the push's only
 * authentication.  Format (tock's, modelled on LUCI's server/tokens):
 *
 *   base64url_nopad( 0x01 || public || HMAC-SHA256(key, "1\n" 0x01 || "<len>\n" public) )
 *   public = {"_i":"<issue time, ms>","inv":"<invocation id>","job":"<project/job>"}
 *
 * A token is valid for PUSH_TOKEN_LIFETIME_NS after it was issued (LUCI's
 * 48 h) and not if issued more than 30 s in the future.  Keys are
 * PUSH_TOKEN_KEY_BYTES random bytes; a check tries every key it is given
 * (the current one, then the previous one during its grace period).
 *
 * Pure: no clock, no I/O (OpenSSL's HMAC only).  Thread-safe.
 */
#ifndef TOCK_ENGINE_PUSH_TOKEN_H
#define TOCK_ENGINE_PUSH_TOKEN_H

#include "base/compat.h"

#define PUSH_TOKEN_KEY_BYTES 32
#define PUSH_TOKEN_LIFETIME_NS (48 * INT64_C(3600) * INT64_C(1000000000))
#define PUSH_TOKEN_FUTURE_NS (30 * INT64_C(1000000000))
/* The longest token, with its NUL (the job id is at most 512 bytes). */
#define PUSH_TOKEN_MAX 1024
#define PUSH_TOKEN_JOB_MAX 512

struct push_token_key {
    unsigned char bytes[PUSH_TOKEN_KEY_BYTES];
};

/*
 * Makes the token of (job_id, inv_id) issued at now_ns into out.  Returns
 * 0, -EINVAL (job_id empty or longer than PUSH_TOKEN_JOB_MAX - 1, or not
 * printable ASCII), -ENOBUFS (out too small).
 */
int push_token_make(const struct push_token_key *key, const char *job_id, int64_t inv_id,
                    int64_t now_ns, char *out, size_t outlen);

/*
 * Checks token against keys[0..nkeys) at now_ns.  On success copies the
 * job id to job_id (size PUSH_TOKEN_JOB_MAX) and the invocation id to
 * *ret_inv and returns 0.  Returns -EACCES for anything else: malformed,
 * wrong version, bad MAC under every key, expired, from the future.
 */
int push_token_check(const struct push_token_key *keys, size_t nkeys, const char *token,
                     int64_t now_ns, char job_id[PUSH_TOKEN_JOB_MAX], int64_t *ret_inv);

#endif
