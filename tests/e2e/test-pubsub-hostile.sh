#!/bin/sh
# Bad input end to end (issue 7, section 6): forged Pub/Sub pushes and a
# hostile Buildbucket, against one real `tock serve`.
#
# Forged pushes (docs/pubsub.md "Answers", wire-formats §4): a bad token,
# another invocation's token altered, no token, garbage, deep JSON, bad
# base64, a 2 MiB body, an unknown kind: each is answered 202 and changes
# nothing (the invocations read the same before and after), while the
# genuine push they were made from is taken (200).
#
# A hostile Buildbucket (`buildbucket-emulator --hostile MODE`), aimed at
# ScheduleBuild (host l-MODE) or at GetBuild (host g-MODE): tock must not
# crash or stall, must keep answering its API, a cron job of another project
# must keep firing, and each invocation must end as its error class says
# (luci-scheduler-spec.md 4.1.3/4.1.5: Internal, Unknown, Unavailable and
# DeadlineExceeded are transient; others fatal) and never as a fake
# SUCCEEDED although every build does succeed on the emulator.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
top=$tmp
trap 'for f in "$top"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done; [ -n "${TOCK_E2E_KEEP:-}" ] && echo "kept $top" || rm -rf "$top"' EXIT
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $1"; }

# ok MESSAGE CMD...: one check: CMD (quiet) must succeed.
ok() {
    msg=$1
    shift
    checks=$((checks + 1))
    "$@" >/dev/null 2>&1 || { failures=$((failures + 1)); echo "FAIL: $msg" >&2; }
}
in_state() { [ "$(inv_status "proj/$1")" = "$2" ]; }
not_starting() { s=$(inv_status "proj/$1"); [ -n "$s" ] && [ "$s" != STARTING ]; }
emu_has() { grep -qF -- "$2" "$tmp/emu-$1.log"; }

modes="html truncated wrong-types huge drip hang"
printf '%s\n' '{"builders": [
  {"project": "proj", "bucket": "ci", "builder": "forever", "outcome": "STARTED"},
  {"project": "proj", "bucket": "ci", "builder": "quick", "run": "1s"}
]}' >"$tmp/builders.json"
mkdir -p "$tmp/cfg/proj" "$tmp/cfg/other"
open_realms "$tmp/cfg/proj"
open_realms "$tmp/cfg/other"
{
    bb_job victim rec.example.com ci forever
    bb_job other rec.example.com ci forever
    for m in $modes; do
        bb_job "l-$m" "l-$m.example.com" ci quick
        bb_job "g-$m" "g-$m.example.com" ci quick
    done
    # More launches than the client lets fly to one host at once (8).
    for i in 1 2 3 4 5 6 7 8 9 10; do bb_job "flood-$i" l-hang.example.com ci quick; done
} >"$tmp/cfg/proj/luci-scheduler.cfg"
echo 'job { id: "tick" schedule: "* * * * * * *" noop { sleep_ms: 100 } }' \
    >"$tmp/cfg/other/luci-scheduler.cfg"

# --- emulators ------------------------------------------------------------------
port=$(free_port)
push="http://127.0.0.1:$port/pubsub?kind=buildbucket"
python3 "$here/push-receiver.py" "$tmp/rec.port" "$tmp/pushes.jsonl" &
echo $! >"$tmp/receiver.pid"
wait_until 10 test -s "$tmp/rec.port"
spawn_emulator rec "$tmp/builders.json" "http://127.0.0.1:$(cat "$tmp/rec.port")/"
maps="--host-map rec.example.com=$(emu_url rec)"
for m in $modes; do
    spawn_emulator "l-$m" "$tmp/builders.json" "$push" --hostile "$m" --hostile-rpcs ScheduleBuild
    spawn_emulator "g-$m" "$tmp/builders.json" "$push" --hostile "$m" --hostile-rpcs GetBuild
    maps="$maps --host-map l-$m.example.com=$(emu_url "l-$m") --host-map g-$m.example.com=$(emu_url "g-$m")"
done
# shellcheck disable=SC2086
serve_at "$port" "$tmp/cfg" "$tmp/tock.db" --triage-throttle 200ms --launch-delay 100ms \
    --buildbucket-poll 10m,10m $maps
stamp "servers up"

trig() {
    for j in "$@"; do
        "$TOCK" trigger "proj/$j" --server "$server" --id "t-$j" >/dev/null ||
            { failures=$((failures + 1)); echo "FAIL: trigger proj/$j" >&2; }
    done
}
trig victim other
for m in $modes; do trig "l-$m" "g-$m"; done
trig flood-1 flood-2 flood-3 flood-4 flood-5 flood-6 flood-7 flood-8 flood-9 flood-10

# --- forged pushes ----------------------------------------------------------------------
ok "victim RUNNING" wait_until 20 in_state victim RUNNING
ok "other RUNNING" wait_until 20 in_state other RUNNING
victim=$(inv_field proj/victim invocationId)
other=$(inv_field proj/other invocationId)
two_pushes() { [ "$(wc -l <"$tmp/pushes.jsonl")" -ge 4 ]; } # SCHEDULED and STARTED of each
ok "the receiver has the builds' pushes" wait_until 20 two_pushes
mkdir -p "$tmp/forged"
ok "forge-push.py" python3 "$here/forge-push.py" "$tmp/pushes.jsonl" "$victim" "$other" "$tmp/forged"
snapshot() { inv_log proj/victim "$victim" >"$tmp/victim.$1"; inv_log proj/other "$other" >"$tmp/other.$1"; }
snapshot before
post() { # FILE [QUERY]: prints the HTTP status of POST /pubsub
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "@$1" "$server/pubsub${2:-?kind=buildbucket}"
}
for f in badtoken altered altered-v1 nobody deep badb64 big; do
    c=$(post "$tmp/forged/$f.json")
    ok "forged push $f: want HTTP 202, got $c" [ "$c" = 202 ]
done
ok "garbage push: want HTTP 202" [ "$(post "$tmp/forged/garbage.bin")" = 202 ]
ok "a push for an unknown kind: want HTTP 202" [ "$(post "$tmp/forged/genuine.json" '?kind=nope')" = 202 ]
ok "a push for a kind that takes no pushes (noop): want HTTP 202" \
    [ "$(post "$tmp/forged/genuine.json" '?kind=noop')" = 202 ]
sleep 1 # anything a forged push had queued would have run by now
snapshot after
ok "forged pushes changed nothing (victim)" cmp "$tmp/victim.before" "$tmp/victim.after"
ok "forged pushes changed nothing (other)" cmp "$tmp/other.before" "$tmp/other.after"
ok "victim still RUNNING" in_state victim RUNNING
# The positive control: the genuine push they were made from is taken.
ok "genuine push: want HTTP 200" [ "$(post "$tmp/forged/genuine.json")" = 200 ]
noticed() { inv_log proj/victim "$victim" | grep -qF 'Received PubSub notification'; }
ok "genuine push: the victim asked Buildbucket" wait_until 10 noticed
stamp "forged pushes done"

# --- a hostile Buildbucket --------------------------------------------------------
# Every build succeeds on its emulator; wait until each has ended and its
# final push went out, then check what tock made of it.
ended() { grep -q 'proj/ci/quick: SUCCESS' "$tmp/emu-$1.log"; }
for m in html truncated wrong-types huge; do
    ok "l-$m: launch attempted" wait_until 20 not_starting "l-$m"
    ok "g-$m: build ended on the emulator" wait_until 20 ended "g-$m"
done
# Launch answers: html (502, no pRPC code) Internal, truncated and wrong
# types Internal: transient, retried; huge: ResourceExhausted, fatal.
for m in html truncated wrong-types; do
    ok "l-$m: want RETRYING, got $(inv_status "proj/l-$m")" in_state "l-$m" RETRYING
done
ok "l-huge: want FAILED, got $(inv_status proj/l-huge)" in_state l-huge FAILED
for m in html truncated wrong-types huge; do
    id=$(inv_field "proj/l-$m" invocationId)
    ok "l-$m: the launch error is logged" sh -c "'$TOCK' invocation proj/l-$m $id --server $server | grep -q 'Failed to schedule Buildbucket build'"
done
# GetBuild answers after a push: transient errors leave it RUNNING (the
# notification task retries), huge fails it.  Give each push's task a moment.
sleep 2
for m in html truncated wrong-types; do
    ok "g-$m: want RUNNING (never a fake SUCCEEDED), got $(inv_status "proj/g-$m")" \
        in_state "g-$m" RUNNING
done
ok "g-huge: want FAILED, got $(inv_status proj/g-huge)" in_state g-huge FAILED
stamp "fast hostile modes checked"

# --- while Buildbucket drips and hangs ---------------------------------------------
# The flood fills the client's per-host cap: launches past it fail at once.
flooded() { grep -q 'too many calls in flight' "$tmp/serve.log"; }
ok "flood: launches past the per-host cap fail fast (too many calls in flight)" wait_until 20 flooded
n1=$(inv_count other/tick)
ok "the API answers while Buildbucket hangs" "$TOCK" jobs --server "$server"
sleep 6
n2=$(inv_count other/tick)
echo "other/tick: $n1 -> $n2 invocations in 6 s while Buildbucket hangs"
ok "other/tick keeps firing while Buildbucket hangs ($n1 -> $n2 in 6 s)" [ "$n2" -ge $((n1 + 2)) ]
for m in drip hang; do
    ok "l-$m: still STARTING while the call is in flight" in_state "l-$m" STARTING
    ok "g-$m: RUNNING while GetBuild is in flight" in_state "g-$m" RUNNING
done
stamp "waiting for the 1-minute deadline of the hanging calls"
# LUCI's 1-minute deadline ends the hanging ScheduleBuild calls:
# DeadlineExceeded is transient, so the launch is retried.
for m in drip hang; do
    ok "l-$m: RETRYING after the deadline" wait_until 80 in_state "l-$m" RETRYING
    id=$(inv_field "proj/l-$m" invocationId)
    ok "l-$m: DeadlineExceeded logged" sh -c "'$TOCK' invocation proj/l-$m $id --server $server | grep -q 'code = DeadlineExceeded'"
    ok "g-$m: still RUNNING (never a fake SUCCEEDED)" in_state "g-$m" RUNNING
done
ok "the API still answers" "$TOCK" jobs --server "$server"
ok "tock serve is alive" kill -0 "$server_pid"
stamp "done"

stop_server
ok "clean exit on SIGTERM" [ "$server_rc" = 0 ]
stop_emulators
kill "$(cat "$tmp/receiver.pid")" 2>/dev/null || true
rm -f "$tmp"/*.pid
# Sanitizer builds: no report from tock or the emulators.
no_reports() { ! grep -l "Sanitizer\|runtime error:" "$@"; }
ok "no sanitizer report in the logs" no_reports "$tmp"/*.log
if [ "$failures" != 0 ]; then
    echo "--- server log (tail) ---" >&2
    grep -v 'pubsub push' "$tmp/serve.log" | tail -40 >&2 || true
fi
finish
