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

enum base64_alphabet {
    BASE64_STD, /* "+/" with '=' padding (decoding accepts it absent too) */
    BASE64_URL, /* "-_" without padding (decoding accepts '=' padding too) */
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

#endif
