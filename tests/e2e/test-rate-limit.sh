#!/bin/sh
# End to end: `tock serve --rate-limit` wires the per-caller limit of the
# expensive API calls: a burst of 3 anonymous GetJobs, then RESOURCE_EXHAUSTED
# (8) with HTTP 429; other callers and cheap endpoints are unaffected; a bad
# --rate-limit is a usage error.  One call per minute, so nothing refills
# while the test runs (refill is covered on a manual clock in
# tests/unit/test-api-scheduler.c).
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"

mkdir -p "$tmp/cfg/proj"
cat >"$tmp/cfg/proj/luci-scheduler.cfg" <<'CFG'
job { id: "a" realm: "public" noop { sleep_ms: 100 } }
CFG
cat >"$tmp/cfg/proj/realms.cfg" <<'CFG'
realms {
  name: "public"
  bindings { role: "role/scheduler.reader" principals: "anonymous:anonymous" }
  bindings { role: "role/scheduler.owner" principals: "user:owner@example.com" }
}
CFG
printf 'owner-token user:owner@example.com\n' >"$tmp/tokens"

run "$TOCK" serve --config "$tmp/cfg" --rate-limit 10/h,3
expect_rc 2 "a bad --rate-limit"
expect_err_has "N[/s|/m],BURST" "the bad --rate-limit says the form"

start_server "$tmp/cfg" "$tmp/tock.db" --auth-tokens "$tmp/tokens" --rate-limit 1/m,3
trap 'stop_server; rm -rf "$tmp"' EXIT

for i in 1 2 3; do
    rpc scheduler.Scheduler/GetJobs '{}'
    checks=$((checks + 1))
    [ "$code" = 0 ] || fail "anonymous call $i of the burst: code $code"
done
rpc scheduler.Scheduler/GetJobs '{}'
checks=$((checks + 1))
[ "$code" = 8 ] || fail "past the burst: want RESOURCE_EXHAUSTED (8), got $code"
checks=$((checks + 1))
grep -q '^HTTP/1.1 429' "$tmp/rpc.h" || fail "past the burst: want HTTP 429"
checks=$((checks + 1))
# 1 call per minute: the next token is 1..60 s away.
ra=$(tr -d '\r' <"$tmp/rpc.h" | sed -n 's/^Retry-After: *//Ip')
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] ||
    fail "past the burst: want Retry-After of 1..60 s, got '$ra'"
expect_out_has "rate limit exceeded for anonymous:anonymous@127.0.0.1" \
    "the message names the caller"
expect_out_has "at most 1 call per minute with bursts of 3 per caller" "the message says the limit"

run "$TOCK" jobs --server "$server"
expect_rc 1 "tock jobs past the limit"
expect_err_has "RESOURCE_EXHAUSTED: rate limit exceeded" "the client prints the reason"

rpc scheduler.Scheduler/GetJobs '{}' owner-token
checks=$((checks + 1))
[ "$code" = 0 ] || fail "another caller has its own bucket: code $code"
run curl -s "$server/healthz"
expect_out "ok" "healthz is not limited"

stop_server
checks=$((checks + 1))
[ "$server_rc" = 0 ] || fail "clean stop: rc $server_rc"
finish
