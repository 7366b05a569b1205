#!/bin/sh
# The buildbucket task manager end to end (issue 7, section 6): a real
# `tock serve` against Buildbucket emulators, v2 (pRPC) and the legacy v1
# REST API.  Expected values come from luci-scheduler-spec.md 4.1.5 (v2
# status mapping), 4.1.8 (v1: only COMPLETED/SUCCESS succeeds), 4.1.7 and
# 3.16 (abort: CancelBuild; while STARTING a transient failure and an
# asynchronous abort later), 4.1.3 (requestId = invocation ID, so a retried
# launch finds the same build) and docs/pubsub.md.
#
# One server ("main") runs every case but the crash at once, with three
# emulators behind three Buildbucket hosts each spoken to in v2 and v1:
#   bb.example.com     normal pushes: statuses, aborts, scripted errors
#   drop.example.com   --push-drop 1: every push lost, the timer must notice
#   dup.example.com    --push-duplicate 1 --push-delay 0,1s: duplicated and
#                      reordered pushes
# A second server ("crash") is SIGKILLed while the emulator holds its
# ScheduleBuild answer (builder schedule_delay), then restarted on its db.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
top=$tmp
# On any exit: stop what is still running (pid files of lib-bb.sh), clean up.
trap 'for f in "$top"/*/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done; [ -n "${TOCK_E2E_KEEP:-}" ] && echo "kept $top" || rm -rf "$top"' EXIT
serve_opts="--triage-throttle 200ms --launch-delay 100ms --buildbucket-poll 1s,2s"

# ok MESSAGE CMD...: one check: CMD (quiet) must succeed.
ok() {
    msg=$1
    shift
    checks=$((checks + 1))
    "$@" >/dev/null 2>&1 || { failures=$((failures + 1)); echo "FAIL: $msg" >&2; }
}

t0=$(date +%s)
# stamp WHAT: progress with the seconds since the start (for the ctest log).
stamp() { echo "[$(($(date +%s) - t0))s] $1"; }

# --- builders and configs -----------------------------------------------------
# "forever" ends CANCELED 2 s after CancelBuild (as a real build ends after its
# cancel grace period): with an instant cancel, the v1 status push could land
# between CancelBuild and the abort's save and finish the invocation FAILED (v1
# maps canceled to FAILED, as LUCI's did) -- a known race, docs/tasks.md.
builders='{"builders": [
  {"project": "proj", "bucket": "ci", "builder": "success", "run": "1s", "outcome": "SUCCESS"},
  {"project": "proj", "bucket": "ci", "builder": "failure", "run": "1s", "outcome": "FAILURE"},
  {"project": "proj", "bucket": "ci", "builder": "infra", "run": "1s", "outcome": "INFRA_FAILURE"},
  {"project": "proj", "bucket": "ci", "builder": "canceled", "run": "1s", "outcome": "CANCELED"},
  {"project": "proj", "bucket": "ci", "builder": "unspecified", "run": "1s",
   "outcome": "STATUS_UNSPECIFIED"},
  {"project": "proj", "bucket": "ci", "builder": "odd", "run": "1s", "outcome": "ENDED_MASK"},
  {"project": "proj", "bucket": "ci", "builder": "forever", "outcome": "STARTED",
   "cancel_delay": "2s"},
  {"project": "proj", "bucket": "ci", "builder": "held", "schedule_delay": "3s",
   "outcome": "STARTED"},
  {"project": "proj", "bucket": "ci", "builder": "held-ok", "schedule_delay": "3s",
   "run": "1s"},
  {"project": "proj", "bucket": "ci", "builder": "flaky2", "schedule_errors": ["UNAVAILABLE"],
   "run": "1s"},
  {"project": "proj", "bucket": "ci", "builder": "flaky1", "schedule_errors": ["UNAVAILABLE"],
   "run": "1s"},
  {"project": "proj", "bucket": "ci", "builder": "denied", "schedule_fail": "PERMISSION_DENIED"},
  {"project": "proj", "bucket": "ci", "builder": "quick", "queue": "500ms", "run": "1s"}
]}'
printf '%s\n' "$builders" >"$top/builders.json"

# v2 jobs on HOST use bucket "ci", v1 jobs the legacy "luci.proj.ci".
mkdir -p "$top/main/cfg/proj"
open_realms "$top/main/cfg/proj"
{
    # (v1 has no STATUS_UNSPECIFIED: the emulator shows such a build as
    # SCHEDULED; its "anything else" is the odd builder's ENDED_MASK, which
    # v1 shows as COMPLETED/FAILURE/BUILDBUCKET_FAILURE.)
    for b in success failure infra canceled unspecified odd; do
        bb_job "v2-$b" bb.example.com ci "$b"
        [ $b = unspecified ] || bb_job "v1-$b" bb-v1.example.com luci.proj.ci "$b"
    done
    bb_job abort-v2 bb.example.com ci forever
    bb_job abort-v1 bb-v1.example.com luci.proj.ci forever
    bb_job abort-starting-v2 bb.example.com ci held
    bb_job abort-starting-v1 bb-v1.example.com luci.proj.ci held
    bb_job unavailable-v2 bb.example.com ci flaky2
    bb_job unavailable-v1 bb-v1.example.com luci.proj.ci flaky1
    bb_job denied-v2 bb.example.com ci denied
    bb_job denied-v1 bb-v1.example.com luci.proj.ci denied
    bb_job drop-v2 drop.example.com ci quick
    bb_job drop-v1 drop-v1.example.com luci.proj.ci quick
    bb_job dup-v2 dup.example.com ci quick
    bb_job dup-v1 dup-v1.example.com luci.proj.ci quick
} >"$top/main/cfg/proj/luci-scheduler.cfg"

# trigger_all SERVER JOB...: one trigger to each job.
trigger_all() {
    s=$1
    shift
    for j in "$@"; do
        "$TOCK" trigger "proj/$j" --server "$s" --id "t-$j" >/dev/null ||
            { failures=$((failures + 1)); echo "FAIL: trigger proj/$j" >&2; }
    done
}

# inv_of JOB: waits for JOB's first invocation and prints its ID.
has_inv() { [ -n "$(inv_field "proj/$1" invocationId)" ]; }
inv_of() {
    wait_until 20 has_inv "$1" || return 1
    inv_field "proj/$1" invocationId
}

# in_state JOB STATUS: the newest invocation of JOB has STATUS.
in_state() { [ "$(inv_status "proj/$1")" = "$2" ]; }

# emu_has NAME TEXT: the emulator's event log has TEXT.
emu_has() { grep -qF -- "$2" "$tmp/emu-$1.log"; }

# ============================================================================
# The crash case, in the background on its own server: SIGKILL between
# ScheduleBuild and the save of its answer.
# ============================================================================
crash_case() {
    tmp=$top/crash
    checks=0 failures=0
    mkdir -p "$tmp/cfg/proj"
    open_realms "$tmp/cfg/proj"
    {
        bb_job crash-v2 bb.example.com ci held-ok
        bb_job crash-v1 bb-v1.example.com luci.proj.ci held-ok
    } >"$tmp/cfg/proj/luci-scheduler.cfg"
    port=$(free_port)
    spawn_emulator crash "$top/builders.json" "http://127.0.0.1:$port/pubsub"
    e=$(emu_url crash)
    # shellcheck disable=SC2086
    serve_at "$port" "$tmp/cfg" "$tmp/tock.db" $serve_opts --host-map "bb.example.com=$e" \
        --host-map "bb-v1.example.com=$e" --buildbucket-api bb-v1.example.com=v1
    trigger_all "$server" crash-v2 crash-v1
    # Both builds exist, and their answers are held for 3 s: kill tock now.
    made_both() { [ "$(grep -c 'proj/ci/held-ok: SCHEDULED' "$tmp/emu-crash.log")" -ge 2 ]; }
    ok "crash: the emulator made both builds" wait_until 20 made_both
    ok "crash: v2 invocation is STARTING when tock is killed" in_state crash-v2 STARTING
    ok "crash: v1 invocation is STARTING when tock is killed" in_state crash-v1 STARTING
    kill -KILL "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    # shellcheck disable=SC2086
    serve_at "$port" "$tmp/cfg" "$tmp/tock.db" $serve_opts --host-map "bb.example.com=$e" \
        --host-map "bb-v1.example.com=$e" --buildbucket-api bb-v1.example.com=v1
    for v in v2 v1; do
        ok "crash: $v invocation SUCCEEDED after restart" wait_until 40 in_state "crash-$v" SUCCEEDED
        id=$(inv_field "proj/crash-$v" invocationId)
        ok "crash: $v: exactly one build" [ "$(inv_builds "$e" "$id" | wc -l)" = 1 ]
        inv_log "proj/crash-$v" "$id" >"$tmp/crash-$v.log"
        ok "crash: $v: finished once" [ "$(grep -c 'Invocation finished in' "$tmp/crash-$v.log")" = 1 ]
    done
    ok "crash: two builds in all" [ "$(emu_builds "$e" proj ci held-ok | wc -l)" = 2 ]
    ok "crash: the v2 relaunch was deduplicated" emu_has crash "ScheduleBuild requestId"
    ok "crash: the v1 relaunch was deduplicated" emu_has crash "PUT client_operation_id"
    stop_server
    stop_emulators
    echo "$checks $failures" >"$tmp/result"
}
( crash_case ) >"$top/crash.out" 2>&1 &
crash_pid=$!

# ============================================================================
# The main server.
# ============================================================================
tmp=$top/main
port=$(free_port)
push="http://127.0.0.1:$port/pubsub?kind=buildbucket"
spawn_emulator bb "$top/builders.json" "$push"
spawn_emulator drop "$top/builders.json" "$push" --push-drop 1
spawn_emulator dup "$top/builders.json" "$push" --push-duplicate 1 --push-delay 0,1s
bb=$(emu_url bb) drop=$(emu_url drop) dup=$(emu_url dup)
# shellcheck disable=SC2086
serve_at "$port" "$tmp/cfg" "$tmp/tock.db" $serve_opts \
    --host-map "bb.example.com=$bb" --host-map "bb-v1.example.com=$bb" \
    --host-map "drop.example.com=$drop" --host-map "drop-v1.example.com=$drop" \
    --host-map "dup.example.com=$dup" --host-map "dup-v1.example.com=$dup" \
    --buildbucket-api bb-v1.example.com=v1 --buildbucket-api drop-v1.example.com=v1 \
    --buildbucket-api dup-v1.example.com=v1

trigger_all "$server" v2-success v2-failure v2-infra v2-canceled v2-unspecified v2-odd \
    v1-success v1-failure v1-infra v1-canceled v1-odd abort-v2 abort-v1 \
    unavailable-v2 unavailable-v1 denied-v2 denied-v1 drop-v2 drop-v1 dup-v2 dup-v1

# --- abort while STARTING (spec 3.16, 4.1.7) ---------------------------------
stamp "abort while STARTING (spec 3.16, 4.1.7)"
# The emulator holds the ScheduleBuild / PUT answer for 3 s after making the
# build; abort then.  The synchronous abort fails transiently, an async one
# follows and cancels the build once the launch has saved it.
trigger_all "$server" abort-starting-v2 abort-starting-v1
held_both() { [ "$(grep -c 'proj/ci/held: SCHEDULED' "$tmp/emu-bb.log")" -ge 2 ]; }
ok "abort while STARTING: both builds made" wait_until 20 held_both
for v in v2 v1; do
    ok "abort while STARTING ($v): STARTING at the abort" in_state "abort-starting-$v" STARTING
    run "$TOCK" abort "proj/abort-starting-$v" --server "$server"
    expect_rc 0 "abort while STARTING ($v): tock abort"
done

# --- abort while RUNNING -------------------------------------------------------
stamp "abort while RUNNING"
for v in v2 v1; do
    ok "abort ($v): RUNNING" wait_until 20 in_state "abort-$v" RUNNING
    run "$TOCK" abort "proj/abort-$v" --server "$server"
    expect_rc 0 "abort ($v): tock abort"
done

# --- status mapping: spec 4.1.5 (v2) and 4.1.8 (v1) -------------------------------
stamp "status mapping: spec 4.1.5 (v2) and 4.1.8 (v1)"
want_status() { # JOB STATUS
    ok "$1: want $2" wait_until 30 in_state "$1" "$2"
    in_state "$1" "$2" || echo "  proj/$1 is $(inv_status "proj/$1")" >&2
}
want_status v2-success SUCCEEDED
want_status v2-failure FAILED
want_status v2-infra FAILED
want_status v2-canceled ABORTED
want_status v2-unspecified FAILED
want_status v2-odd FAILED
for b in success failure infra canceled odd; do
    [ $b = success ] && want=SUCCEEDED || want=FAILED
    want_status "v1-$b" $want
done
# The builds really ended as the builders file says (the emulator's view).
for b in success failure infra canceled; do
    id=$(inv_field "proj/v2-$b" invocationId)
    st=$(inv_builds "$bb" "$id" | awk '{ print $2 }')
    case $b in success) w=SUCCESS ;; failure) w=FAILURE ;; infra) w=INFRA_FAILURE ;; canceled) w=CANCELED ;; esac
    ok "v2-$b: the emulator's build is $w, got '$st'" [ "$st" = $w ]
done
id=$(inv_field proj/v2-unspecified invocationId)
inv_log proj/v2-unspecified "$id" >"$tmp/unspecified.log"
ok "v2-unspecified: the spec's debug-log line" grep -qF "Unexpected Build status STATUS_UNSPECIFIED, marking the invocation as failed" "$tmp/unspecified.log"
id=$(inv_field proj/v2-odd invocationId)
inv_log proj/v2-odd "$id" >"$tmp/odd.log"
ok "v2-odd: the spec's debug-log line" grep -qF "Unexpected Build status ENDED_MASK, marking the invocation as failed" "$tmp/odd.log"
# v1: the result line of spec 4.1.8, e.g. status "COMPLETED", result "FAILURE".
for b in success failure canceled; do
    id=$(inv_field "proj/v1-$b" invocationId)
    inv_log "proj/v1-$b" "$id" >"$tmp/v1-$b.log"
    r=$(echo $b | tr a-z A-Z)
    ok "v1-$b: the 'Build <id>: status \"COMPLETED\", result \"$r\"' line" grep -Eq "Build [0-9]+: status \"COMPLETED\", result \"$r\"" "$tmp/v1-$b.log"
done

# --- aborts: ABORTED, and the build CANCELED --------------------------------------------
stamp "aborts: ABORTED, and the build CANCELED"
for j in abort-v2 abort-v1 abort-starting-v2 abort-starting-v1; do
    want_status $j ABORTED
    id=$(inv_field "proj/$j" invocationId)
    builds=$(inv_builds "$bb" "$id")
    canceled() { [ "$(inv_builds "$bb" "$id" | awk '{ print $2 }')" = CANCELED ]; }
    ok "$j: one build, CANCELED (no orphan left running): $builds" wait_until 10 canceled
    inv_log "proj/$j" "$id" >"$tmp/$j.log"
    ok "$j: debug log names who aborted" grep -qF "Invocation was manually aborted by anonymous:anonymous" "$tmp/$j.log"
    ok "$j: finished once" [ "$(grep -c 'Invocation finished in' "$tmp/$j.log")" = 1 ]
done
ok "abort while STARTING: the asynchronous abort was enqueued" grep -qF "Enqueuing an asynchronous abort because the synchronous abort failed" "$tmp/serve.log"
ok "the v2 aborts called CancelBuild" emu_has bb "CancelBuild"

# --- a lost ScheduleBuild answer (UNAVAILABLE): retried, one build -----------------------
stamp "a lost ScheduleBuild answer (UNAVAILABLE): retried, one build"
for v in v2 v1; do
    want_status "unavailable-$v" SUCCEEDED
    id=$(inv_field "proj/unavailable-$v" invocationId)
    ok "unavailable-$v: exactly one build" [ "$(inv_builds "$bb" "$id" | wc -l)" = 1 ]
    inv_log "proj/unavailable-$v" "$id" >"$tmp/unavailable-$v.log"
    ok "unavailable-$v: the launch was retried" grep -qF "The invocation will be retried" "$tmp/unavailable-$v.log"
done
ok "unavailable-v2: LUCI's error line" grep -qF "Failed to schedule Buildbucket build - rpc error: code = Unavailable" "$tmp/unavailable-v2.log"

# --- PERMISSION_DENIED: FAILED, no build --------------------------------------------------
stamp "PERMISSION_DENIED: FAILED, no build"
for v in v2 v1; do
    want_status "denied-$v" FAILED
    id=$(inv_field "proj/denied-$v" invocationId)
    ok "denied-$v: no build" [ "$(inv_builds "$bb" "$id" | wc -l)" = 0 ]
    inv_log "proj/denied-$v" "$id" >"$tmp/denied-$v.log"
    # A transient failure before the refusal (a busy machine) may be
    # retried; the refusal itself must come once and end the invocation.
    case $v in v2) refused='code = PermissionDenied' ;; v1) refused='Error 403' ;; esac
    ok "denied-$v: refused once, not retried after (a fatal code)" awk -v pat="$refused" '
        index($0, pat) { n++; next }
        n && /The invocation will be retried/ { bad = 1 }
        END { exit !(n == 1 && !bad) }' "$tmp/denied-$v.log"
    if grep -q 'The invocation will be retried' "$tmp/denied-$v.log"; then
        echo "note: denied-$v was retried before its refusal:" >&2
        grep -B3 'The invocation will be retried' "$tmp/denied-$v.log" >&2
    fi
done
ok "denied-v2: LUCI's error line" grep -qF "code = PermissionDenied" "$tmp/denied-v2.log"

# --- every push lost: the status timer notices completion ------------------------------
stamp "every push lost: the status timer notices completion"
for v in v2 v1; do
    want_status "drop-$v" SUCCEEDED
    id=$(inv_field "proj/drop-$v" invocationId)
    inv_log "proj/drop-$v" "$id" >"$tmp/drop-$v.log"
    ok "drop-$v: no push reached tock" [ "$(grep -c 'Received PubSub notification' "$tmp/drop-$v.log")" = 0 ]
    ok "drop-$v: the timer fired" grep -qF 'Handling timer "check-buildbucket-build-status"' "$tmp/drop-$v.log"
    # How long after the build ended tock noticed (the poll bound is 2 s; the
    # check is loose so that it catches a lost timer, not a slow machine).
    emu_rpc "$drop" SearchBuilds "{\"predicate\": {\"tags\": [{\"key\": \"scheduler_invocation_id\",
        \"value\": \"$id\"}]}, \"mask\": {\"fields\": \"builds.*.endTime\"}}"
    end=$out
    newest_inv "proj/drop-$v"
    lag=$(python3 -c '
import datetime, json, sys
e = json.loads(sys.argv[1])["builds"][0]["endTime"]
e = datetime.datetime.fromisoformat(e.replace("Z", "+00:00")[:26] + "+00:00" if "." in e else e.replace("Z", "+00:00"))
f = int(json.loads(sys.argv[2])["invocations"][0]["finishedTs"]) / 1e6
print("%.1f" % (f - e.timestamp()))' "$end" "$out" 2>/dev/null || echo "?")
    echo "drop-$v: completion noticed ${lag}s after the build ended (no pushes; poll 1s,2s)"
    ok "drop-$v: noticed within 10 s of the build's end (got ${lag}s)" \
        awk -v l="$lag" 'BEGIN { exit !(l != "?" && l + 0 < 10) }'
done
ok "the drop emulator dropped pushes" emu_has drop "dropped"

# --- pushes duplicated and reordered: no harm --------------------------------------------
stamp "pushes duplicated and reordered: no harm"
for v in v2 v1; do
    want_status "dup-$v" SUCCEEDED
    id=$(inv_field "proj/dup-$v" invocationId)
    inv_log "proj/dup-$v" "$id" >"$tmp/dup-$v.log"
    ok "dup-$v: pushes arrived" grep -qF 'Received PubSub notification' "$tmp/dup-$v.log"
    ok "dup-$v: finished once" [ "$(grep -c 'Invocation finished in' "$tmp/dup-$v.log")" = 1 ]
    ok "dup-$v: no fatal error" [ "$(grep -c 'Fatal error' "$tmp/dup-$v.log")" = 0 ]
    ok "dup-$v: one build" [ "$(inv_builds "$dup" "$id" | wc -l)" = 1 ]
done

ok "the dup emulator duplicated pushes" emu_has dup "[duplicate]"

stop_server
ok "main server: clean exit on SIGTERM" [ "$server_rc" = 0 ]
stop_emulators

# --- the crash case's result ----------------------------------------------------------------
stamp "the crash case's result"
set +e
wait "$crash_pid"
set -e
cat "$top/crash.out"
if [ -f "$top/crash/result" ]; then
    read -r c f <"$top/crash/result"
    checks=$((checks + c)) failures=$((failures + f))
else
    checks=$((checks + 1)) failures=$((failures + 1))
    echo "FAIL: the crash case did not finish" >&2
fi
# Sanitizer builds: no report from tock or the emulators.
no_reports() { ! grep -l "Sanitizer\|runtime error:" "$@"; }
ok "no sanitizer report in the logs" no_reports "$top"/*/*.log
if [ "$failures" != 0 ]; then
    echo "--- main server log (tail) ---" >&2
    tail -40 "$top/main/serve.log" >&2 || true
fi
finish
