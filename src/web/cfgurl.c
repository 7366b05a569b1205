/*
 * cfgurl.c - the `--config-view-url` template: where the "Definition (rev
 * X)" revision links (docs/web.md).  "{rev}" becomes the revision,
 * "{project}" the project, "{path}" the config file's path relative to the
 * --config folder ("<project>/luci-scheduler.cfg"); each value is
 * percent-encoded (the slash of {path} kept).
 */
#include "base/compat.h"

#include "web/web-internal.h"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int put_encoded(struct buf *b, const char *s, bool keep_slash)
{
    int r = 0;

    for (const unsigned char *c = (const unsigned char *)s; *c && r == 0; c++)
        r = unreserved(*c) || (keep_slash && *c == '/') ? buf_putc(b, (char)*c)
                                                        : buf_printf(b, "%%%02X", *c);
    return r;
}

bool web_config_url_template_ok(const char *tmpl)
{
    return tmpl && strlen(tmpl) <= WEB_CONFIG_URL_MAX &&
           (strncmp(tmpl, "https://", 8) == 0 || strncmp(tmpl, "http://", 7) == 0);
}

int web_config_url(const char *tmpl, const char *project, const char *revision, char **ret)
{
    struct buf b;
    int r = 0;

    if (!web_config_url_template_ok(tmpl) || !project || !revision)
        return -EINVAL;
    buf_init(&b, 4 * (WEB_CONFIG_URL_MAX + ENGINE_ID_MAX + ENGINE_REVISION_MAX));
    for (const char *c = tmpl; *c && r == 0;) {
        if (strncmp(c, "{rev}", 5) == 0) {
            r = put_encoded(&b, revision, false);
            c += 5;
        } else if (strncmp(c, "{project}", 9) == 0) {
            r = put_encoded(&b, project, false);
            c += 9;
        } else if (strncmp(c, "{path}", 6) == 0) {
            if ((r = put_encoded(&b, project, false)) == 0)
                r = buf_puts(&b, "/luci-scheduler.cfg");
            c += 6;
        } else {
            r = buf_putc(&b, *c++);
        }
    }
    if (r == 0 && !(*ret = strdup(b.len ? b.data : "")))
        r = -ENOMEM;
    buf_release(&b);
    return r;
}
