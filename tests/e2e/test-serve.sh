#!/bin/sh
# End to end: a real `tock serve` on a temp dir and port 0, driven through its
# pRPC API and the client commands.  Covers: cron jobs firing, a trigger job
# fanning out, pause dropping triggers (and `why` saying so), abort,
# permissions, bad configs, SIGHUP reload and a clean SIGTERM.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"

mkdir -p "$tmp/cfg/proj"
cat >"$tmp/cfg/proj/luci-scheduler.cfg" <<'CFG'
job { id: "every-2s" realm: "public" schedule: "*/2 * * * * * *" noop { sleep_ms: 100 } }
trigger {
  id: "poller" realm: "public" schedule: "with 1s interval"
  triggers: "built"
  noop { sleep_ms: 100 triggers_count: 2 }
}
job { id: "built" realm: "public" noop { sleep_ms: 100 } }
job { id: "pausable" realm: "public" noop { sleep_ms: 100 } }
job { id: "long" realm: "public" noop { sleep_ms: 600000 } }
job { id: "secret" realm: "secret" noop { sleep_ms: 100 } }
CFG
cat >"$tmp/cfg/proj/realms.cfg" <<'CFG'
realms {
  name: "@root"
  bindings { role: "role/scheduler.owner" principals: "group:owners" }
}
realms {
  name: "public"
  bindings { role: "role/scheduler.reader" principals: "anonymous:anonymous" }
  bindings { role: "role/scheduler.triggerer" principals: "user:trig@example.com" }
}
CFG
printf 'owner-token user:owner@example.com\ntrig-token user:trig@example.com\n' >"$tmp/tokens"
printf 'owners: user:owner@example.com\n' >"$tmp/groups"
printf 'owner-token\n' >"$tmp/owner.token"
printf 'trig-token\n' >"$tmp/trig.token"

start_server "$tmp/cfg" "$tmp/tock.db" --auth-tokens "$tmp/tokens" --groups "$tmp/groups" \
    --triage-throttle 200ms --launch-delay 100ms --workers 4
S="--server $server"

# --- health and visibility ---------------------------------------------------
run curl -s "$server/healthz"
expect_out "ok" "healthz"
run "$TOCK" jobs $S
expect_rc 0 "anonymous jobs"
expect_out_has "proj/every-2s" "anonymous sees public jobs"
checks=$((checks + 1))
printf '%s\n' "$out" | grep -q secret && fail "anonymous must not see proj/secret"
run "$TOCK" jobs $S --token-file "$tmp/owner.token"
expect_out_has "proj/secret" "the owner sees proj/secret"
run "$TOCK" invocations proj/secret $S
expect_rc 1 "invisible job"
expect_err_has "NOT_FOUND" "invisible job looks missing"
rpc scheduler.Scheduler/GetJobs '{}' wrong-token
checks=$((checks + 1))
[ "$code" = 16 ] || fail "unknown token: want UNAUTHENTICATED (16), got $code"

# --- a cron job fires ----------------------------------------------------------
count_succeeded() { "$TOCK" invocations "$1" $S --limit 100 | grep -c SUCCEEDED; }
at_least() { [ "$(count_succeeded "$1")" -ge "$2" ]; }
checks=$((checks + 1))
wait_until 20 at_least proj/every-2s 2 || fail "*/2 s cron job: want 2 successful runs"

# --- a trigger job fans out to its target ----------------------------------------
checks=$((checks + 1))
wait_until 20 at_least proj/built 1 || fail "poller's triggers: want a run of proj/built"
run "$TOCK" why proj/built $S
expect_out_has "noop:" "fates of the poller's noop triggers are listed"
checks=$((checks + 1))
printf '%s\n' "$out" | grep -Eq 'CONSUMED|MERGED' || fail "fan-out triggers consumed"

# --- permissions on actions --------------------------------------------------------
run "$TOCK" trigger proj/pausable $S
expect_rc 1 "anonymous may not trigger"
expect_err_has "PERMISSION_DENIED" "anonymous trigger denied"
run "$TOCK" pause proj/pausable $S --token-file "$tmp/trig.token"
expect_rc 1 "a triggerer may not pause"
expect_err_has "PERMISSION_DENIED" "triggerer pause denied"
run "$TOCK" trigger proj/pausable $S --token-file "$tmp/trig.token" --id allowed-1
expect_rc 0 "a triggerer may trigger"
checks=$((checks + 1))
wait_until 20 at_least proj/pausable 1 || fail "triggered job ran"

# --- pause drops triggers, and why says so ------------------------------------------
run "$TOCK" pause proj/pausable $S --token-file "$tmp/owner.token"
expect_rc 0 "owner pauses"
run "$TOCK" jobs proj $S
checks=$((checks + 1))
# (Its state may read RUNNING while a run is still active, as LUCI says; the
# PAUSED column must say yes.)
[ "$(printf '%s\n' "$out" | awk '$1 == "proj/pausable" { print $NF }')" = yes ] ||
    fail "job shows paused"
run "$TOCK" trigger proj/pausable $S --token-file "$tmp/trig.token" --id while-paused
expect_rc 0 "triggering a paused job succeeds (LUCI drops the trigger)"
dropped() { "$TOCK" why proj/pausable $S --trigger while-paused | grep -q DROPPED_PAUSED; }
checks=$((checks + 1))
wait_until 10 dropped || fail "why: want DROPPED_PAUSED for while-paused"
run "$TOCK" resume proj/pausable $S --token-file "$tmp/owner.token"
expect_rc 0 "owner resumes"
run "$TOCK" trigger proj/pausable $S --token-file "$tmp/trig.token" --id after-resume
consumed() { "$TOCK" why proj/pausable $S --trigger after-resume | grep -q CONSUMED; }
checks=$((checks + 1))
wait_until 20 consumed || fail "why: want CONSUMED for after-resume"

# --- abort ------------------------------------------------------------------------
run "$TOCK" trigger proj/long $S --token-file "$tmp/owner.token" --id long-1
running() { "$TOCK" invocations proj/long $S | grep -q RUNNING; }
checks=$((checks + 1))
wait_until 20 running || fail "long job: want RUNNING"
run "$TOCK" abort proj/long $S --token-file "$tmp/owner.token"
expect_rc 0 "owner aborts"
aborted() { "$TOCK" invocations proj/long $S | grep -q ABORTED; }
checks=$((checks + 1))
wait_until 20 aborted || fail "long job: want ABORTED"
id=$("$TOCK" invocations proj/long $S | awk 'NR == 2 { print $1 }')
run "$TOCK" invocation proj/long "$id" $S
expect_out_has "Invocation was manually aborted by user:owner@example.com" "abort in the debug log"
expect_out_has "with status ABORTED" "final line of the debug log"

# --- operations endpoints (docs/operations.md) ----------------------------------
run curl -s "$server/readyz"
expect_out "ok" "readyz with configs and a store"
run curl -s -D "$tmp/metrics.head" "$server/metrics"
expect_rc 0 "metrics"
checks=$((checks + 1))
grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/metrics.head" ||
    fail "metrics: want the text format 0.0.4 content type"
expect_out_has '# TYPE tock_jobs gauge' "metrics: jobs by state"
expect_out_has 'tock_invocations_finished_total{status="ABORTED"} ' "metrics: the abort above"
expect_out_has 'tock_trigger_fates_total{fate="DROPPED_PAUSED"} ' "metrics: the paused trigger"
expect_out_has 'tock_http_requests_total{route="/prpc/",code="200"} ' "metrics: API calls"
expect_out_has 'tock_store_transaction_seconds_bucket{le="+Inf"} ' "metrics: store latency"

# --- bad configs: reported, and the running jobs go on ---------------------------------
before=$(count_succeeded proj/every-2s)
cp "$tmp/cfg/proj/luci-scheduler.cfg" "$tmp/good.cfg"
printf 'job { id: "broken" ' >>"$tmp/cfg/proj/luci-scheduler.cfg"
kill -HUP "$server_pid"
more_runs() { [ "$(count_succeeded proj/every-2s)" -gt "$((before + 1))" ]; }
checks=$((checks + 1))
wait_until 20 more_runs || fail "a file that does not parse must not stop the jobs"
checks=$((checks + 1))
grep -q "nothing changes" "$tmp/serve.log" || fail "the parse error is logged"
# An invalid job is skipped; the others are imported.
cp "$tmp/good.cfg" "$tmp/cfg/proj/luci-scheduler.cfg"
printf 'job { id: "bad-schedule" realm: "public" schedule: "with 1 min interval" noop {} }\n' \
    >>"$tmp/cfg/proj/luci-scheduler.cfg"
printf 'job { id: "new-job" realm: "public" noop {} }\n' >>"$tmp/cfg/proj/luci-scheduler.cfg"
kill -HUP "$server_pid"
has_new() { "$TOCK" jobs proj $S | grep -q proj/new-job; }
checks=$((checks + 1))
wait_until 10 has_new || fail "a valid new job is imported next to an invalid one"
run "$TOCK" jobs proj $S
checks=$((checks + 1))
printf '%s\n' "$out" | grep -q bad-schedule && fail "the invalid job is skipped"

# A project folder that appears is imported; one that goes away is disabled.
mkdir -p "$tmp/cfg/other"
printf 'job { id: "x" noop {} acls { role: READER granted_to: "anonymous:anonymous" } }\n' \
    >"$tmp/cfg/other/luci-scheduler.cfg"
kill -HUP "$server_pid"
has_other() { "$TOCK" jobs $S | grep -q other/x; }
checks=$((checks + 1))
wait_until 10 has_other || fail "a new project folder is imported (acl_sets fallback: anonymous reader)"
rm -r "$tmp/cfg/other"
kill -HUP "$server_pid"
checks=$((checks + 1))
wait_until 10 eval '! has_other' || fail "a removed project folder is disabled"

# --- hostile requests ----------------------------------------------------------------
rpc scheduler.Scheduler/GetJobs '{"project": '
checks=$((checks + 1))
[ "$code" = 3 ] || fail "malformed JSON: want INVALID_ARGUMENT (3), got $code"
rpc scheduler.Scheduler/GetInvocations '{"jobRef": {"project": 5}}'
checks=$((checks + 1))
[ "$code" = 3 ] || fail "wrong type: want INVALID_ARGUMENT, got $code"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
code=$(curl -s -o /dev/null -D - -X POST -H 'Content-Type: application/json' \
    --data-binary @"$tmp/big.json" "$server/prpc/scheduler.Scheduler/GetJobs" |
    tr -d '\r' | sed -n 's/^[Xx]-[Pp]rpc-[Gg]rpc-[Cc]ode: *//p')
checks=$((checks + 1))
[ "$code" = 8 ] || fail "2 MB body: want RESOURCE_EXHAUSTED (8), got $code"
# Every method, fed hostile JSON: a client error code, never OK, never a crash.
deep=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "["; for (i = 0; i < 10000; i++) printf "]" }')
for method in scheduler.Scheduler/GetJobs scheduler.Scheduler/GetInvocations \
    scheduler.Scheduler/GetInvocation scheduler.Scheduler/PauseJob \
    scheduler.Scheduler/ResumeJob scheduler.Scheduler/AbortJob \
    scheduler.Scheduler/AbortInvocation scheduler.Scheduler/EmitTriggers \
    internal.admin.Admin/GetDebugJobState tock.Scheduler/GetTriggerFates; do
    for body in '{' '[]' '"x"' '{"bogusField": 1}' '{"jobRef": "x"}' \
        '{"jobRef": {"project": ["p"], "job": {}}}' \
        '{"invocationId": "99999999999999999999999999"}' '{"pageSize": 1e400}' \
        '{"batches": [{"trigger": 5}]}' '{"timestamp": "-1"}' "$deep" \
        "$(printf '{"jobRef": {"project": "\377\376"}}')"; do
        rpc "$method" "$body" owner-token
        checks=$((checks + 1))
        case "$code" in
        3 | 5 | 7 | 11 | 16) ;; # INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, OUT_OF_RANGE, UNAUTHENTICATED
        *) fail "$method with body ${body%"${body#??????????????????????????????}"}...: code '$code'" ;;
        esac
    done
done
run curl -s "$server/healthz"
expect_out "ok" "still healthy after hostile requests"

# --- clean stop ---------------------------------------------------------------------
stop_server
checks=$((checks + 1))
[ "$server_rc" = 0 ] || fail "SIGTERM: want exit 0, got $server_rc"
finish
