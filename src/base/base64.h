/*
 * base64.h - base64 (RFC 4648 section 4, "+/", padded) and base64url
 * (section 5, "-_", unpadded) encoding and decoding.
 *
 * Pub/Sub message data, Buildbucket's userData bytes and tock's own auth
 * tokens and cursors travel in these.  Pure, no allocation.
 */
#ifndef TOCK_BASE_BASE64_H
#define TOCK_BASE_BASE64_H

#include "base/compat.h"

struct buf;

enum base64_alphabet {
    /* "+/" with '=' padding; decoding is Go's StdEncoding: the padding is required. */
    BASE64_STD,
    /* "-_" without padding (Go's RawURLEncoding); decoding accepts '=' padding too. */
    BASE64_URL,
    /*
     * Decoding only: either alphabet, padding optional — what protojson
     * accepts for a "bytes" field.  Encodes as BASE64_STD.
     */
    BASE64_ANY,
};

/* Bytes needed to encode n bytes, with the NUL. */
#define BASE64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/*
 * Encodes in[0..n) into out (NUL-terminated).  Returns the length written
 * (without the NUL), or -ENOBUFS when out is smaller than
 * BASE64_ENCODED_SIZE(n).
 */
ssize_t base64_encode(enum base64_alphabet a, const void *in, size_t n, char *out,
                      size_t outlen);

/*
 * Decodes text[0..n) into out (at most outlen bytes; n * 3 / 4 always
 * fits).  Returns the number of bytes, -EINVAL on a character outside the
 * alphabet, misplaced padding or a dangling final character, or -ENOBUFS.
 */
ssize_t base64_decode(enum base64_alphabet a, const char *text, size_t n, void *out,
                      size_t outlen);

/* base64_encode appended to out.  Returns 0 or a buf error (-E2BIG, -ENOMEM). */
int base64_encode_buf(enum base64_alphabet a, const void *in, size_t n, struct buf *out);

/*
 * base64_decode appended to out (out->len grows by the bytes decoded; out
 * is unchanged on error).  Returns 0, -EINVAL, or a buf error.
 */
int base64_decode_buf(enum base64_alphabet a, const char *text, size_t n, struct buf *out);

#endif
