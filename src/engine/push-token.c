/*
 * push-token.c - see push-token.h.
 */
#include "base/compat.h"

#include "engine/push-token.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base64.h"

#define MAC_BYTES 32
#define VERSION 1

/* HMAC-SHA256 over the chunks "1\n" <version> and "<len>\n" <public>. */
static int token_mac(const struct push_token_key *key, const char *pub, size_t publen,
                     unsigned char mac[MAC_BYTES])
{
    unsigned char msg[PUSH_TOKEN_MAX + 32];
    unsigned int maclen = 0;
    int n;

    n = snprintf((char *)msg, sizeof(msg), "1\n%c%zu\n", VERSION, publen);
    if (n < 0 || (size_t)n + publen > sizeof(msg))
        return -ENOBUFS;
    memcpy(msg + n, pub, publen);
    if (!HMAC(EVP_sha256(), key->bytes, PUSH_TOKEN_KEY_BYTES, msg, (size_t)n + publen, mac,
              &maclen) ||
        maclen != MAC_BYTES)
        return -EIO;
    return 0;
}

static bool job_id_ok(const char *job_id)
{
    size_t n = strlen(job_id);

    if (n == 0 || n >= PUSH_TOKEN_JOB_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (job_id[i] < 0x21 || job_id[i] > 0x7e || job_id[i] == '"' || job_id[i] == '\\')
            return false;
    return true;
}

int push_token_make(const struct push_token_key *key, const char *job_id, int64_t inv_id,
                    int64_t now_ns, char *out, size_t outlen)
{
    unsigned char raw[PUSH_TOKEN_MAX];
    char pub[PUSH_TOKEN_JOB_MAX + 96];
    int n, r;

    if (!job_id_ok(job_id))
        return -EINVAL;
    n = snprintf(pub, sizeof(pub), "{\"_i\":\"%" PRId64 "\",\"inv\":\"%" PRId64
                 "\",\"job\":\"%s\"}", now_ns / 1000000, inv_id, job_id);
    if (n < 0 || (size_t)n >= sizeof(pub))
        return -EINVAL;
    raw[0] = VERSION;
    memcpy(raw + 1, pub, (size_t)n);
    r = token_mac(key, pub, (size_t)n, raw + 1 + n);
    if (r < 0)
        return r;
    return base64_encode(BASE64_URL, raw, 1 + (size_t)n + MAC_BYTES, out, outlen) < 0 ? -ENOBUFS
                                                                                      : 0;
}

/* Reads the public part; 0 or -EACCES. */
static int token_public(const char *pub, size_t len, int64_t now_ns, char *job_id,
                        int64_t *ret_inv)
{
    json_t *o = json_loadb(pub, len, JSON_REJECT_DUPLICATES, NULL);
    const char *i = json_string_value(json_object_get(o, "_i"));
    const char *inv = json_string_value(json_object_get(o, "inv"));
    const char *job = json_string_value(json_object_get(o, "job"));
    char *end = NULL;
    long long issued_ms, id;
    int r = -EACCES;

    if (!i || !inv || !job || !job_id_ok(job))
        goto out;
    errno = 0;
    issued_ms = strtoll(i, &end, 10);
    if (errno || *end || end == i)
        goto out;
    id = strtoll(inv, &end, 10);
    if (errno || *end || end == inv || id <= 0)
        goto out;
    if (issued_ms > (now_ns + PUSH_TOKEN_FUTURE_NS) / 1000000 ||
        issued_ms < (now_ns - PUSH_TOKEN_LIFETIME_NS) / 1000000)
        goto out;
    snprintf(job_id, PUSH_TOKEN_JOB_MAX, "%s", job);
    *ret_inv = id;
    r = 0;
out:
    json_decref(o);
    return r;
}

int push_token_check(const struct push_token_key *keys, size_t nkeys, const char *token,
                     int64_t now_ns, char job_id[PUSH_TOKEN_JOB_MAX], int64_t *ret_inv)
{
    unsigned char raw[PUSH_TOKEN_MAX], mac[MAC_BYTES];
    size_t tlen = token ? strnlen(token, PUSH_TOKEN_MAX) : 0;
    ssize_t n;
    bool ok = false;

    if (tlen == 0 || tlen >= PUSH_TOKEN_MAX)
        return -EACCES;
    n = base64_decode(BASE64_URL, token, tlen, raw, sizeof(raw));
    if (n < 1 + 2 + MAC_BYTES || raw[0] != VERSION)
        return -EACCES;
    for (size_t k = 0; k < nkeys && !ok; k++) {
        if (token_mac(&keys[k], (const char *)raw + 1, (size_t)n - 1 - MAC_BYTES, mac) < 0)
            return -EACCES;
        ok = CRYPTO_memcmp(mac, raw + n - MAC_BYTES, MAC_BYTES) == 0;
    }
    if (!ok)
        return -EACCES;
    return token_public((const char *)raw + 1, (size_t)n - 1 - MAC_BYTES, now_ns, job_id,
                        ret_inv);
}
