/*
 * html.h - an HTML builder that escapes by construction, and go-humanize
 * relative times (luci-scheduler-spec.md 7.7).
 *
 * Every page of the web UI is built with these calls only.  Markup comes
 * from string literals (html_raw, html_attr: the macros refuse anything
 * that is not a literal, so user text can never be passed as markup); every
 * value goes through an escaping call:
 *
 *   struct html h;
 *   html_init(&h, LIMIT_WEB_PAGE_BYTES);
 *   html_raw(&h, "<a");
 *   html_attr_begin(&h, "href");
 *   html_attr_part(&h, "/jobs/");
 *   html_attr_segment(&h, project);       (percent-encoded path segment)
 *   html_attr_end(&h);
 *   html_raw(&h, ">");
 *   html_text(&h, project);               (& < > " ' escaped)
 *   html_raw(&h, "</a>");
 *   if (html_error(&h) < 0) ... else use h.b.data / h.b.len
 *   html_release(&h);
 *
 * Escaping: text and attribute values replace & < > " ' by entities
 * (attributes are always double-quoted), and replace control characters
 * other than tab, LF and CR, and every byte that is not part of valid
 * UTF-8, by U+FFFD.  html_attr_url accepts only http:, https: and
 * same-origin absolute paths ("/x", not "//x"); anything else (e.g.
 * "javascript:") becomes "#".
 *
 * Errors are sticky: the first failing append (-E2BIG past max, -ENOMEM,
 * -EINVAL for a bad format) is kept, later calls do nothing, and
 * html_error() returns it.  Not thread-safe per object; no I/O.
 */
#ifndef TOCK_WEB_HTML_H
#define TOCK_WEB_HTML_H

#include "base/compat.h"
#include "base/buf.h"

struct html {
    struct buf b; /* the page so far */
    int err;      /* first error, 0 = none */
};

/* An empty page of at most max bytes. */
void html_init(struct html *h, size_t max);

/* Frees the page; h may be reused after html_init. */
void html_release(struct html *h);

/* 0, or the first error of an append (-E2BIG, -ENOMEM, -EINVAL). */
int html_error(const struct html *h);

/*
 * The page's length so far, and cutting it back to such a mark (what was
 * appended after it is dropped; a mark past the end, or a page in error,
 * is left as it is).
 */
size_t html_len(const struct html *h);
void html_truncate(struct html *h, size_t mark);

/*
 * Constant markup, trusted: only a string literal compiles ("" lit "").
 * This is the only way to emit unescaped bytes.
 */
#define html_raw(h, lit) html__raw((h), "" lit "", sizeof("" lit "") - 1)
void html__raw(struct html *h, const char *s, size_t n);

/* Text content, escaped; NULL appends nothing. */
void html_text(struct html *h, const char *s);
void html_textn(struct html *h, const char *s, size_t n);

/* printf-style text; the whole result is escaped (at most 4 KiB). */
void html_textf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An attribute ` name="value"` with value escaped (NULL = ""); name must be a literal. */
#define html_attr(h, name, value) html__attr((h), "" name "", (value))
void html__attr(struct html *h, const char *name, const char *value);

/* ` name="url"` if url is http(s) or a same-origin path, else ` name="#"`. */
#define html_attr_url(h, name, url) html__attr_url((h), "" name "", (url))
void html__attr_url(struct html *h, const char *name, const char *url);

/* Whether html_attr_url would keep url (http:, https:, "/path"). */
bool html_url_is_safe(const char *url);

/* An attribute built in parts: ` name="`, escaped parts, `"`. */
#define html_attr_begin(h, name) html__attr_begin((h), "" name "")
void html__attr_begin(struct html *h, const char *name);
void html_attr_part(struct html *h, const char *s);
/* A URL path segment or query value: percent-encodes all but A-Z a-z 0-9 - . _ ~ */
void html_attr_segment(struct html *h, const char *s);
void html_attr_end(struct html *h);

/* ---------------------------------------------------------------------------
 * Relative times, go-humanize RelTime (spec 7.7)
 */

/* Room for any relative time with labels up to 16 bytes. */
#define HUMANIZE_MAX 64

/*
 * RelTime(a, b, albl, blbl): diff = |b - a| (ns), label albl when a <= b,
 * else blbl, then the spec's table: "now", "1 second <lbl>", "<n> seconds
 * <lbl>", ..., "a long while <lbl>" (no trimming: an empty label leaves a
 * trailing space).  Writes to out (outlen bytes).  Returns 0 or -E2BIG.
 */
int humanize_rel_time(int64_t a_ns, int64_t b_ns, const char *albl, const char *blbl, char *out,
                      size_t outlen);

/* humanize.Time: RelTime(then, now, "ago", "from now"): "5 minutes ago". */
int humanize_time(int64_t then_ns, int64_t now_ns, char *out, size_t outlen);

/*
 * A duration as the job and invocation pages show it: RelTime(start, end,
 * "", "") with "now" replaced by "1 second" ("5 minutes ", "1 second").
 */
int humanize_duration(int64_t start_ns, int64_t end_ns, char *out, size_t outlen);

#endif
