/*
 * static.c - the web UI's assets, embedded in the binary (no CDN).  The
 * style sheet follows Bootstrap 3's class names (label-info, ...) so the
 * pages read like LUCI's, in a few hundred bytes of our own CSS.
 */
#include "base/compat.h"

#include "web/web-internal.h"

static const char style_css[] =
    "body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0;color:#222;background:#fff}\n"
    "body.anonymous{background:#f4f4f4}\n"
    ".navbar{display:flex;justify-content:space-between;align-items:center;"
    "background:#222;color:#ddd;padding:8px 16px}\n"
    ".navbar a.brand{color:#fff;font-size:18px;text-decoration:none}\n"
    "main{max-width:1240px;margin:0 auto;padding:8px 16px}\n"
    "a{color:#2a64a8}\n"
    ".crumbs{padding:8px 0;margin-bottom:8px;border-bottom:1px solid #ddd}\n"
    ".crumbs .sep{padding:0 6px;color:#999}\n"
    "table{border-collapse:collapse;width:100%;margin:8px 0}\n"
    "th,td{text-align:left;padding:5px 8px;border-top:1px solid #ddd;vertical-align:top}\n"
    "tr.success{background:#dff0d8}tr.danger{background:#f2dede}tr.info{background:#d9edf7}\n"
    "tr.warning{background:#fcf8e3}tr.active{background:#f5f5f5}tr.sep td{background:#eee;"
    "padding:2px}\n"
    ".label{display:inline-block;padding:2px 6px;border-radius:3px;font-size:12px;"
    "font-weight:bold;color:#fff;background:#777;text-decoration:none}\n"
    ".label-default{background:#777}.label-primary{background:#337ab7}"
    ".label-success{background:#5cb85c}.label-info{background:#31b0d5}"
    ".label-warning{background:#ec971f}.label-danger{background:#c9302c}\n"
    "pre{background:#f7f7f7;border:1px solid #ccc;border-radius:3px;padding:8px;"
    "overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12.5px}\n"
    ".mono,code{font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace}\n"
    ".summary{display:flex;flex-wrap:wrap;gap:8px 28px;margin:8px 0 16px}\n"
    ".summary dl{margin:0}.summary dt{font-weight:bold;display:inline}.summary dd{display:inline;margin:0 0 0 4px}\n"
    ".alert{padding:10px 14px;border-radius:4px;margin:8px 0}\n"
    ".alert-warning{background:#fcf8e3;border:1px solid #faebcc}\n"
    ".alert-danger{background:#f2dede;border:1px solid #ebccd1}\n"
    ".alert h1{font-size:20px;margin:0 0 6px}\n"
    ".columns{display:flex;flex-wrap:wrap;gap:16px}.columns>div{flex:1 1 380px;min-width:0}\n"
    ".pager{display:flex;justify-content:space-between;margin:6px 0}\n"
    ".pager .disabled{color:#aaa}\n"
    "button[disabled]{opacity:.5;cursor:not-allowed}\n"
    ".actions{display:inline}.actions form,form.logout{display:inline-flex;gap:4px;margin:0 4px 0 0;vertical-align:middle}\n"
    ".actions input[name=reason]{width:14em;max-width:50vw}\n"
    "button{padding:2px 10px;border:1px solid #aaa;border-radius:3px;background:#f7f7f7;cursor:pointer}\n"
    "button.danger{background:#d9534f;border-color:#d43f3a;color:#fff}\n"
    "button.success{background:#5cb85c;border-color:#4cae4c;color:#fff}\n"
    ".navbar form.logout button{padding:0 6px}\n"
    "form.login{display:flex;flex-wrap:wrap;gap:6px;align-items:center}\n"
    "footer{max-width:1240px;margin:24px auto;padding:8px 16px;color:#888;font-size:12px;"
    "border-top:1px solid #ddd}\n"
    ".fate{margin-left:6px}.fate-reason{color:#666;font-size:12px;margin-left:4px}\n"
    "tr.sep td{height:4px}\n"
    "main{overflow-wrap:anywhere}\n"
    "svg.timeline{display:block;width:100%;height:48px;background:#fafafa;"
    "border:1px solid #ddd;border-radius:3px}\n"
    "svg.timeline rect{fill:#777}svg.timeline rect.label-success{fill:#5cb85c}"
    "svg.timeline rect.label-info{fill:#31b0d5}svg.timeline rect.label-warning{fill:#ec971f}"
    "svg.timeline rect.label-danger{fill:#c9302c}svg.timeline a:hover rect{opacity:.7}\n"
    "svg.timeline line.axis{stroke:#bbb;stroke-width:1}\n"
    ".timeline-axis{display:flex;justify-content:space-between;color:#888;font-size:12px}\n"
    "#next-runs .rel{color:#888}\n"
    "svg.sparkline{width:96px;height:20px;vertical-align:middle}"
    "svg.sparkline rect{fill:#31b0d5}svg.sparkline line{stroke:#ccc;stroke-width:1}\n"
    "@media (max-width:600px){th,td{padding:4px}.hide-narrow{display:none}"
    "table{display:block;overflow-x:auto}main,footer{padding:6px 8px}"
    ".summary{gap:4px 14px}.navbar{padding:8px}}\n";

/* live.js: the live updates of live.c (no inline script; CSP script-src 'self'). */
static const char live_js[] =
    "/* tock live pages: polls while the page is not final (web/live.c). */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var MIN = 1000, MAX = 15000, LIMIT = 2000;\n"
    "  function poller(step) {\n"
    "    var delay = MIN, n = 0;\n"
    "    function next(ok) {\n"
    "      delay = ok ? MIN : Math.min(delay * 2, MAX);\n"
    "      if (++n < LIMIT) setTimeout(run, document.hidden ? Math.max(delay, 5000) : delay);\n"
    "    }\n"
    "    function run() {\n"
    "      step().then(function (more) { if (more) next(true); },\n"
    "                  function () { next(false); });\n"
    "    }\n"
    "    setTimeout(run, delay);\n"
    "  }\n"
    "  function get(url) {\n"
    "    return fetch(url, {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {\n"
    "      if (!r.ok) throw new Error('HTTP ' + r.status);\n"
    "      return r;\n"
    "    });\n"
    "  }\n"
    "  function statusNode(d) {\n"
    "    var span = document.createElement('span');\n"
    "    span.className = d.statusClass;\n"
    "    span.textContent = d.status;\n"
    "    if (!d.viewUrl || !/^https?:\\/\\//.test(d.viewUrl)) return span;\n"
    "    var a = document.createElement('a');\n"
    "    a.href = d.viewUrl;\n"
    "    a.rel = 'noopener noreferrer';\n"
    "    a.target = '_blank';\n"
    "    a.appendChild(span);\n"
    "    return a;\n"
    "  }\n"
    "  var log = document.getElementById('debug-log');\n"
    "  if (log && log.hasAttribute('data-offset')) {\n"
    "    var offset = log.getAttribute('data-offset');\n"
    "    poller(function () {\n"
    "      return get(location.pathname + '?view=json&after=' + encodeURIComponent(offset))\n"
    "        .then(function (r) { return r.json(); })\n"
    "        .then(function (d) {\n"
    "          if (d.reset) log.textContent = d.log;\n"
    "          else if (d.log) log.appendChild(document.createTextNode(d.log));\n"
    "          offset = String(d.offset);\n"
    "          var st = document.getElementById('status');\n"
    "          if (st) st.replaceChildren(statusNode(d));\n"
    "          var du = document.getElementById('duration');\n"
    "          if (du) du.textContent = d.duration;\n"
    "          if (d.final) {\n"
    "            log.removeAttribute('data-offset');\n"
    "            document.body.setAttribute('data-live', 'final');\n"
    "          }\n"
    "          return !d.final;\n"
    "        });\n"
    "    });\n"
    "  }\n"
    "  var table = document.getElementById('invocations');\n"
    "  if (table && table.getAttribute('data-active') === '1') {\n"
    "    poller(function () {\n"
    "      return get(location.pathname + '?fragment=invocations')\n"
    "        .then(function (r) { return r.text(); })\n"
    "        .then(function (html) {\n"
    "          var doc = new DOMParser().parseFromString(html, 'text/html');\n"
    "          var fresh = doc.getElementById('invocations');\n"
    "          if (!fresh) throw new Error('no table');\n"
    "          table.replaceWith(fresh);\n"
    "          table = fresh;\n"
    "          var state = doc.getElementById('state'), here = document.getElementById('state');\n"
    "          if (state && here) here.replaceChildren(...state.childNodes);\n"
    "          var more = fresh.getAttribute('data-active') === '1';\n"
    "          if (!more) document.body.setAttribute('data-live', 'final');\n"
    "          return more;\n"
    "        });\n"
    "    });\n"
    "  }\n"
    "})();\n";

static const struct {
    const char *name, *type, *data;
    size_t len;
} assets[] = {
    {"style.css", "text/css; charset=utf-8", style_css, sizeof(style_css) - 1},
    {"live.js", "text/javascript; charset=utf-8", live_js, sizeof(live_js) - 1},
};

const char *web_static_find(const char *name, size_t *ret_len, const char **ret_type)
{
    for (size_t i = 0; i < ARRAY_SIZE(assets); i++) {
        if (strcmp(name, assets[i].name) == 0) {
            *ret_len = assets[i].len;
            *ret_type = assets[i].type;
            return assets[i].data;
        }
    }
    return NULL;
}
