/*
 * re2.h - RE2-syntax regular expressions on top of PCRE2.
 *
 * LUCI compiles gitiles refs and path filters with Go's regexp package
 * (RE2 syntax).  tock checks a pattern against RE2's grammar itself,
 * rewriting the few escapes whose meaning differs in PCRE2 (octal \0nn,
 * \v), refusing what RE2 refuses (backreferences, lookaround, atomic and
 * possessive forms, recursion, conditionals, callouts, \C, ...) with Go's
 * error text, and then lets PCRE2 (UTF mode, $ only at the very end)
 * compile the rewritten pattern.
 *
 * Pure: no I/O, no globals.
 */
#ifndef TOCK_CONFIG_RE2_H
#define TOCK_CONFIG_RE2_H

#include "base/compat.h"

struct re2_regexp;

/*
 * Compiles pattern (NUL-terminated, UTF-8).  On success returns 0 and a new
 * regexp in *ret (free with re2_regexp_free).  On a syntax error returns
 * -EINVAL and writes Go's message to reterr_msg, e.g.
 *   error parsing regexp: missing closing ): `(abc`
 * -ENOMEM when out of memory.
 */
int re2_regexp_compile(const char *pattern, struct re2_regexp **ret, char *reterr_msg,
                       size_t errlen);

struct re2_regexp *re2_regexp_free(struct re2_regexp *re);

/*
 * Go's Regexp.LiteralPrefix(): the literal text every match must start
 * with, and whether that text is the whole regexp.  out gets a
 * NUL-terminated copy (truncated to outlen - 1).
 */
void re2_regexp_literal_prefix(const struct re2_regexp *re, char *out, size_t outlen,
                               bool *ret_complete);

/*
 * True if subject[0..len) matches the whole regexp (anchored at both ends).
 * Uses match data owned by re: not for concurrent use of one regexp.
 */
bool re2_regexp_full_match(const struct re2_regexp *re, const char *subject, size_t len);

#endif
