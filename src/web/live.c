/*
 * live.c - what the pages' live updates poll (docs/web.md "Live pages"):
 *
 *   GET /jobs/<p>/<j>?fragment=invocations   the job's state label
 *                                            (<div id="state">) and the
 *                                            invocations table (HTML)
 *   GET /jobs/<p>/<j>/<inv>?view=json[&after=N]
 *       {"final", "status", "statusClass", "viewUrl" (only when safe),
 *        "duration", "offset", "log", "reset"}: the invocation's status and
 *        the debug log from byte offset N on (the whole log, "reset": true,
 *        when N is past its end or not a number)
 *
 * The script /static/live.js (static.c) polls them while the page is not
 * final.  The same visibility checks as the pages apply (the callers are
 * page_job and page_invocation, after page_load_job).
 */
#include "base/compat.h"

#include "web/web-internal.h"

int live_job_fragment(struct page *p, const struct engine_job *j,
                      const struct engine_invocation *active, size_t n_active,
                      const struct engine_invocation *invs, size_t n)
{
    html_release(&p->h);
    html_init(&p->h, WEB_MAX_PAGE_BYTES);
    html_raw(&p->h, "<div id=\"state\">");
    page_label(p, job_state_class(j->state), j->state_name);
    html_raw(&p->h, "</div>\n");
    page_invocations_table(p, j, active, n_active, invs, n);
    return page_send(p, 200);
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* s[0..n) as a JSON string, invalid UTF-8 replaced by U+FFFD. */
static json_t *json_text(const char *s, size_t n)
{
    struct buf b;
    json_t *v = NULL;
    int r = 0;

    buf_init(&b, 4 * n + 16);
    for (size_t i = 0; i < n && r == 0;) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (k == 0 || s[i] == '\0') {
            r = buf_append(&b, "\xef\xbf\xbd", 3);
            i++;
        } else {
            r = buf_append(&b, s + i, k);
            i += k;
        }
    }
    if (r == 0)
        v = json_stringn(b.len ? b.data : "", b.len);
    buf_release(&b);
    return v;
}

/* The debug log from byte after on; reset when after is not within it. */
static int add_log(json_t *o, const char *log, const char *after_text)
{
    size_t len = strlen(log), after = 0;
    bool reset = true;
    char *end = NULL;

    if (after_text && *after_text >= '0' && *after_text <= '9') {
        unsigned long long v = strtoull(after_text, &end, 10);
        if (end && !*end && v <= len) {
            after = (size_t)v;
            reset = false;
        }
    }
    if (json_object_set_new(o, "offset", json_integer((json_int_t)len)) < 0 ||
        json_object_set_new(o, "log", json_text(log + after, len - after)) < 0 ||
        json_object_set_new(o, "reset", json_boolean(reset)) < 0)
        return -ENOMEM;
    return 0;
}

int live_invocation_json(struct page *p, const struct engine_invocation *inv)
{
    const char *status = inv_display_status(inv);
    char dur[HUMANIZE_MAX] = "", cls[48];
    json_t *o;
    char *text = NULL;
    int r = -ENOMEM;

    humanize_duration(inv->started, inv->final ? inv->finished : p->now, dur, sizeof(dur));
    snprintf(cls, sizeof(cls), "label %s", inv_status_class(status));
    o = json_pack("{s:b, s:s, s:s, s:s}", "final", inv->final, "status", status, "statusClass",
                  cls, "duration", dur);
    if (!o)
        goto out;
    if (*inv->view_url && html_url_is_safe(inv->view_url) &&
        json_object_set_new(o, "viewUrl", json_text(inv->view_url, strlen(inv->view_url))) < 0)
        goto out;
    if ((r = add_log(o, inv->debug_log ? inv->debug_log : "",
                     http_request_query(p->req, "after"))) < 0)
        goto out;
    r = -ENOMEM;
    text = json_dumps(o, JSON_COMPACT);
    if (!text)
        goto out;
    r = page_send_json(p, 200, text);
out:
    free(text);
    json_decref(o);
    return r;
}
