#!/bin/sh
# Every page type of the web UI is valid HTML and shows no user data raw.
#
# A real `tock serve` runs a config whose allowed free-text fields (a
# url_fetch URL, Buildbucket properties and tags, trigger titles, ids, URLs,
# a pause reason) carry <script>, quotes and '&'; it also replays the 2025
# seed invocation (../shared/seeds/000_*) on the Buildbucket emulator.  Each
# page is fetched with curl, anonymous and signed in: /, the project page,
# the job page (first page with active invocations, a later page), the
# invocation pages (hostile, the replayed seed), the error pages 400, 403,
# 404, 409, 401, and /login.  Every page must pass Debian's HTML5-aware
# `tidy -q -errors --show-warnings yes` with no error and no warning
# (docs/web.md "HTML validity" lists what is accepted and why), and none of
# the hostile strings may appear raw.  Skips (77) without tidy.
set -eu
here=$(dirname "$0")
command -v tidy >/dev/null 2>&1 || { echo "SKIP: no tidy (scripts/install-deps installs it)"; exit 77; }
tidy -v 2>/dev/null | grep -q 'version 5' || { echo "SKIP: tidy is not HTML5-aware (want 5.x)"; exit 77; }
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
seeds="$here/../../../shared/seeds"
[ -d "$seeds" ] || { echo "SKIP: no seeds at $seeds"; exit 77; }
seed=$(ls "$seeds"/000_*.txt | head -1)

die() {
    fail "$1"
    tail -30 "$tmp/serve.log" >&2 || true
    stop_server
    stop_emulator
    finish
    exit 1
}

# --- the config ------------------------------------------------------------------
mkdir -p "$tmp/cfg/p" "$tmp/cfg/pigweed"
cat >"$tmp/cfg/p/luci-scheduler.cfg" <<'EOF'
job {
  id: "hostile"
  schedule: "triggered"
  url_fetch { url: "http://127.0.0.1:1/<script>alert(1)</script>?a=1&b='2'&c=\"3\"" }
}
job {
  id: "props"
  schedule: "triggered"
  buildbucket {
    server: "cr-buildbucket.appspot.com"
    bucket: "b&<script>"
    builder: "x\"'<img src=x onerror=alert(1)>"
    properties: "k:</pre><script>alert('prop')</script>&amp;"
    tags: "t:<script>alert('tag')</script>"
  }
}
job {
  id: "burst"
  schedule: "triggered"
  noop { sleep_ms: -1 }
  triggering_policy { kind: GREEDY_BATCHING max_batch_size: 1 max_concurrent_invocations: 5 }
}
job {
  id: "slow"
  schedule: "triggered"
  noop { sleep_ms: 3600000 }
  triggering_policy { max_concurrent_invocations: 2 }
}
trigger {
  id: "poller"
  schedule: "0 * * * *"
  triggers: "burst"
  noop { sleep_ms: -1 }
}
EOF
printf '%s\n' 'realms { name: "@root"' \
    '  bindings { role: "role/scheduler.reader" principals: "anonymous:anonymous" }' \
    '  bindings { role: "role/scheduler.owner" principals: "user:one@example.com" } }' \
    >"$tmp/cfg/p/realms.cfg"
cat >"$tmp/cfg/pigweed/luci-scheduler.cfg" <<'EOF'
job {
  id: "pigweed.dev.ci-pigweed-linux-zephyr"
  realm: "dev.ci"
  schedule: "triggered"
  buildbucket: {
    server: "cr-buildbucket.appspot.com"
    bucket: "pigweed.dev.ci"
    builder: "pigweed-linux-zephyr"
  }
}
EOF
printf '%s\n' 'realms { name: "@root"' \
    '  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous"' \
    '             principals: "user:one@example.com" } }' >"$tmp/cfg/pigweed/realms.cfg"
printf '%s\n' '{"builders": [{"project": "pigweed", "bucket": "pigweed.dev.ci",
    "builder": "pigweed-linux-zephyr", "queue": "300ms", "run": "500ms", "outcome": "SUCCESS"}]}' \
    >"$tmp/builders.json"
printf 'tok-one user:one@example.com\n' >"$tmp/tokens"

port=$(free_port)
start_emulator "$tmp/builders.json" "http://127.0.0.1:$port/pubsub?kind=buildbucket"
serve_at "$port" "$tmp/cfg" "$tmp/tock.db" --auth-tokens "$tmp/tokens" \
    --triage-throttle 100ms --launch-delay 50ms \
    --host-map "cr-buildbucket.appspot.com=$emu" \
    --pubsub-topic projects/luci-scheduler/topics/scheduler.buildbucket \
    --hostname luci-scheduler.appspot.com --app-id luci-scheduler \
    --buildbucket-poll 1s,2s --config-view-url 'https://git.example.com/cfg/+/{rev}/{path}' ||
    die "tock serve did not start"

# --- invocations -------------------------------------------------------------------
# emit JOB TRIGGER_JSON [TOKEN]: EmitTriggers (as the owner of p by default).
emit() {
    rpc scheduler.Scheduler/EmitTriggers "{\"batches\": [{\"trigger\": $2,
        \"jobs\": [{\"project\": \"${1%%/*}\", \"job\": \"${1#*/}\"}]}]}" "${3-tok-one}"
    [ "$code" = 0 ] || die "EmitTriggers $1: code $code: $out"
}
hostile_trigger() {
    printf '{"id": "t<%s>&\\"'"'"'", "title": "<script>alert(%s)</script> & \\"q\\"", ' "$1" "$1"
    printf '"url": "javascript:alert(1)&x=<b>", "noop": {}}'
}
emit pigweed/pigweed.dev.ci-pigweed-linux-zephyr '{
    "id": "https://pigweed.googlesource.com/pigweed/pigweed/+/refs/heads/main@59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "title": "59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "url": "https://pigweed.googlesource.com/pigweed/pigweed/+/59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "gitiles": {"repo": "https://pigweed.googlesource.com/pigweed/pigweed",
                "ref": "refs/heads/main",
                "revision": "59e0a8f4a6f6185007a20e61c81962b6198f62d4"}}' ""
emit p/hostile "$(hostile_trigger h)"
emit p/props "$(hostile_trigger p)"
emit p/slow "$(hostile_trigger s)"
# 60 invocations of burst: more than one page (50 a page).
i=0
while [ $i -lt 60 ]; do
    emit p/burst "$(hostile_trigger "b$i")"
    i=$((i + 1))
done
# Done: all 60 invocations exist and every one is final, so the pages
# below do not shift while the test walks them (the first page holds 50
# plus the active ones: with some still running it may hold them all).
# The API's pages hold 50 at most: two pages, all final, 60 in all.
burst_page() {
    rpc scheduler.Scheduler/GetInvocations \
        '{"jobRef": {"project": "p", "job": "burst"}, "pageSize": 50'"$1"'}'
    ! printf '%s' "$out" | grep -q '"final": *false' &&
        ! printf '%s' "$out" | grep -q '"status": *"\(STARTING\|RUNNING\)"'
}
burst_done() {
    burst_page "" || return 1
    seen=$(printf '%s' "$out" | grep -o '"invocationId"' | wc -l)
    cur=$(printf '%s' "$out" | sed -n 's/.*"nextCursor": *"\([^"]*\)".*/\1/p')
    [ -n "$cur" ] && burst_page ", \"cursor\": \"$cur\"" || return 1
    [ $((seen + $(printf '%s' "$out" | grep -o '"invocationId"' | wc -l))) -eq 60 ]
}
wait_until 90 burst_done || die "burst: the 60 invocations did not finish"
wait_until 60 inv_final pigweed/pigweed.dev.ci-pigweed-linux-zephyr || die "the seed replay did not finish"
wait_until 30 inv_final p/hostile || die "hostile did not finish"
wait_until 30 inv_final p/props || die "props did not finish"
seed_id=$(inv_field pigweed/pigweed.dev.ci-pigweed-linux-zephyr invocationId)
hostile_id=$(inv_field p/hostile invocationId)
props_id=$(inv_field p/props invocationId)
slow_id=$(inv_field p/slow invocationId)
burst_id=$(inv_field p/burst invocationId)

# --- sign-in, CSRF token, pause with a hostile reason --------------------------------
jar="$tmp/cookies"
curl -s -o /dev/null -c "$jar" --data-urlencode token=tok-one "$server/login"
xsrf() { curl -s -b "$jar" "$server/jobs/p/slow" | sed -n 's/.*name="xsrf_token" value="\([^"]*\)".*/\1/p' | head -1; }
token=$(xsrf)
[ -n "$token" ] || die "no xsrf_token on the job page after sign-in"
reason="<script>alert('reason')</script> & \"more\""
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data-urlencode "xsrf_token=$token" \
    --data-urlencode "reason=$reason" "$server/actions/pauseJob/p/slow")
checks=$((checks + 1))
[ "$code" = 302 ] || fail "pauseJob: HTTP $code, want 302"

# --- the pages -----------------------------------------------------------------------
# Raw forms of the hostile strings; none may be on any page.
raw_needles="<script>alert
<img src=x
</pre><script
<b>&
t<h>&
\"q\"
'reason'
href=\"javascript:"

# tidy 5.6's warnings accepted (docs/web.md "HTML validity"): SVG 2's href on
# the timeline's <a> (tidy knows only SVG 1.1's xlink:href) and an empty
# <tbody> (HTML5 allows zero rows; tidy only tells it would drop it).
accept_href='Warning: <a> proprietary attribute "href"$'
accept_tbody='Warning: trimming empty <tbody>$'

# page NAME WANT_CODE URL [curl options...]: fetches URL; checks the status,
# that tidy reports nothing, and that no hostile string is raw.
page() {
    name=$1 want=$2 url=$3
    shift 3
    checks=$((checks + 1))
    got=$(curl -s -o "$tmp/page.html" -w '%{http_code}' "$@" "$server$url")
    [ "$got" = "$want" ] || fail "$name ($url): HTTP $got, want $want"
    checks=$((checks + 1))
    tidy -q -errors --show-warnings yes "$tmp/page.html" 2>&1 |
        grep -v -e "$accept_href" -e "$accept_tbody" >"$tmp/tidy.out" || true
    if [ -s "$tmp/tidy.out" ]; then
        fail "$name ($url): tidy: $(head -20 "$tmp/tidy.out")"
    fi
    checks=$((checks + 1))
    printf '%s\n' "$raw_needles" | while IFS= read -r n; do
        if grep -qF -- "$n" "$tmp/page.html"; then echo "$n"; fi
    done >"$tmp/raw.out"
    [ ! -s "$tmp/raw.out" ] || fail "$name ($url): raw user data: $(cat "$tmp/raw.out")"
    cp "$tmp/page.html" "$tmp/last-$name.html"
    [ -z "${TOCK_KEEP_PAGES:-}" ] || cp "$tmp/page.html" "$TOCK_KEEP_PAGES/$name.html"
}

for who in anon owner; do
    b=""
    [ $who = owner ] && b="-b $jar"
    # shellcheck disable=SC2086
    {
        page "$who-index" 200 / $b
        page "$who-project" 200 /jobs/p $b
        page "$who-project-paused" 200 "/jobs/p?filter=paused" $b
        page "$who-project-none" 200 "/jobs/p?filter=running" $b
        page "$who-job-active" 200 /jobs/p/slow $b
        page "$who-job-burst" 200 /jobs/p/burst $b
        page "$who-job-hostile" 200 /jobs/p/hostile $b
        page "$who-job-props" 200 /jobs/p/props $b
        page "$who-trigger-job" 200 /jobs/p/poller $b
        page "$who-seed-job" 200 /jobs/pigweed/pigweed.dev.ci-pigweed-linux-zephyr $b
        page "$who-inv-seed" 200 "/jobs/pigweed/pigweed.dev.ci-pigweed-linux-zephyr/$seed_id" $b
        page "$who-inv-hostile" 200 "/jobs/p/hostile/$hostile_id" $b
        page "$who-inv-props" 200 "/jobs/p/props/$props_id" $b
        page "$who-inv-active" 200 "/jobs/p/slow/$slow_id" $b
        page "$who-inv-burst" 200 "/jobs/p/burst/$burst_id" $b
        page "$who-400" 400 /jobs/p/burst/x12 $b
        page "$who-400-cursor" 400 "/jobs/p/burst?c=%3Cscript%3E" $b
        page "$who-404-job" 404 /jobs/p/nope $b
        page "$who-404-inv" 404 /jobs/p/burst/12345 $b
        page "$who-404-path" 404 "/nope/%3Cscript%3Ealert(1)" $b
        page "$who-login" 200 /login $b
    }
done
# The later page: the job page's "Older →" link.
# inv_ids FILE: the invocation ids the job page FILE links to.
inv_ids() { grep -o 'href="/jobs/p/burst/[0-9]*"' "$1" | sort -u; }
# The first page's ids and its Older link come from one fetch: the burst
# job may still be adding invocations, which shifts the first page.
curl -s "$server/jobs/p/burst" >"$tmp/first.html"
inv_ids "$tmp/first.html" >"$tmp/first-ids"
older=$(sed -n 's/.*<a[^>]*href="\([^"]*\)"[^>]*>Older &rarr;.*/\1/p' "$tmp/first.html" | head -1)
checks=$((checks + 1))
[ -n "$older" ] || fail "burst: no Older link on the first page"
older=$(printf '%s' "$older" | sed 's/&amp;/\&/g')
page anon-job-older 200 "$older"
page owner-job-older 200 "$older" -b "$jar"
checks=$((checks + 1))
grep -q '<a class="newer" href="/jobs/p/burst">' "$tmp/page.html" ||
    fail "the later page has no Newer link back to the first page"
checks=$((checks + 1))
[ -n "$(inv_ids "$tmp/page.html")" ] &&
    [ -z "$(inv_ids "$tmp/page.html" | comm -12 - "$tmp/first-ids")" ] ||
    fail "the later page's invocations are none or repeat the first page's"
# 403: anonymous (a reader) may not pause; the owner without the CSRF token.
page anon-403 403 /actions/pauseJob/p/burst --data-urlencode "xsrf_token=$token"
page owner-403-xsrf 403 /actions/pauseJob/p/burst -b "$jar" --data "reason=x"
# 409: Trigger on the paused job.
page owner-409 409 /actions/triggerJob/p/slow -b "$jar" --data-urlencode "xsrf_token=$token"
# 401: /login with a bad token shows the form again.
page login-401 401 /login --data-urlencode "token=<script>alert(1)</script>"
checks=$((checks + 1))
grep -qF 'Paused by one@example.com' "$tmp/last-owner-job-active.html" ||
    fail "the paused job page does not say who paused it"
checks=$((checks + 1))
grep -qF '&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt; &amp; &quot;more&quot;' \
    "$tmp/last-owner-job-active.html" || fail "the pause reason is not shown escaped"
# The hostile strings did reach the pages, escaped (so the raw checks above
# are not vacuous): the Buildbucket property, the trigger title, the URL.
# has FILE TEXT: FILE (a page kept above) contains TEXT.
has() {
    checks=$((checks + 1))
    grep -qF -- "$2" "$tmp/last-$1.html" || fail "$1: lacks the escaped text $2"
}
has anon-job-props "k:&lt;/pre&gt;&lt;script&gt;alert(&#39;prop&#39;)&lt;/script&gt;&amp;amp;"
has anon-inv-props "t:&lt;script&gt;alert(&#39;tag&#39;)&lt;/script&gt;"
has anon-inv-hostile "&lt;script&gt;alert(h)&lt;/script&gt; &amp; &quot;q&quot;"
has anon-job-hostile "&lt;script&gt;alert(1)&lt;/script&gt;?a=1&amp;b=&#39;2&#39;"
has anon-inv-hostile "&lt;script&gt;alert(1)&lt;/script&gt;?a=1&amp;b=&#39;2&#39;"
# The seed replay's invocation page shows the seed's status line.
checks=$((checks + 1))
want_status=$(sed -n '1s/^Status: *//p' "$seed")
grep -q ">$want_status<" "$tmp/last-anon-inv-seed.html" ||
    fail "the seed invocation page lacks status $want_status"

stop_server
stop_emulator
finish
