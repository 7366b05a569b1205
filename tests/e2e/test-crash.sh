#!/bin/sh
# Crash safety: kill `tock serve` with SIGKILL at random moments (50 times)
# while triggers stream in and cron ticks fire, restarting it on the same
# SQLite file each time.  Then prove: no accepted trigger is lost (each has a
# final fate), no invocation finishes twice, none is left in a non-final
# state, and timers still fire after restarts (noop tasks end on a timer).
# Group commit (issue 10): an EmitTriggers answer means its triggers are
# durable, so after every restart each trigger of every acknowledged call
# so far already has a fate, before anything else runs.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
rounds=${TOCK_CRASH_ROUNDS:-50}

mkdir -p "$tmp/cfg/proj"
cat >"$tmp/cfg/proj/realms.cfg" <<'CFG'
realms {
  name: "@root"
  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous" }
}
CFG
write_config() { # $1 = the schedule of the periodic jobs ("triggered" quiets them)
    cron=$1 poll=$2
    {
        echo 'job { id: "sink" noop { sleep_ms: 300 }'
        echo '  triggering_policy { kind: GREEDY_BATCHING max_concurrent_invocations: 2 max_batch_size: 5 } }'
        echo "job { id: \"cron\" schedule: \"$cron\" noop { sleep_ms: 200 } }"
        echo "trigger { id: \"poller\" schedule: \"$poll\" triggers: \"sink\""
        echo '  noop { sleep_ms: 100 triggers_count: 3 } }'
    } >"$tmp/cfg/proj/luci-scheduler.cfg"
}
write_config "* * * * * * *" "with 1s interval"
opts="--triage-throttle 100ms --launch-delay 50ms --workers 4"

: >"$tmp/emitted"
: >"$tmp/emitted-round"
# The fates API pages at 500: look each trigger up by its id.
has_fate() {
    "$TOCK" why proj/sink --trigger "$1" --server "$server" --json >"$tmp/fate1.json" &&
        grep -q "\"triggerId\": *\"$1\"" "$tmp/fate1.json"
}
rand_ms() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }
round=0
while [ $round -lt "$rounds" ]; do
    round=$((round + 1))
    # shellcheck disable=SC2086
    start_server "$tmp/cfg" "$tmp/tock.db" $opts
    # Every trigger acknowledged in the round before the SIGKILL survived it.
    for id in $(cat "$tmp/emitted-round"); do
        checks=$((checks + 1))
        has_fate "$id" || fail "round $round: acknowledged trigger $id was lost by the SIGKILL"
    done
    : >"$tmp/emitted-round"
    k=0
    while [ $k -lt 4 ]; do
        k=$((k + 1))
        id="t-$round-$k"
        rpc scheduler.Scheduler/EmitTriggers \
            "{\"batches\": [{\"trigger\": {\"id\": \"$id\"}, \"jobs\": [{\"project\": \"proj\", \"job\": \"sink\"}]}]}"
        [ "$code" = 0 ] && echo "$id" >>"$tmp/emitted-round"
    done
    # One call with two triggers: acknowledged means both are durable.
    rpc scheduler.Scheduler/EmitTriggers \
        "{\"batches\": [{\"trigger\": {\"id\": \"c-$round-a\"}, \"jobs\": [{\"project\": \"proj\", \"job\": \"sink\"}]}, {\"trigger\": {\"id\": \"c-$round-b\"}, \"jobs\": [{\"project\": \"proj\", \"job\": \"sink\"}]}]}"
    [ "$code" = 0 ] && printf 'c-%s-a\nc-%s-b\n' "$round" "$round" >>"$tmp/emitted-round"
    cat "$tmp/emitted-round" >>"$tmp/emitted"
    sleep "$(rand_ms 1500 | awk '{ printf "%.3f", $1 / 1000 }')"
    kill -KILL "$server_pid"
    wait "$server_pid" 2>/dev/null || true
done
emitted=$(wc -l <"$tmp/emitted")
checks=$((checks + 1))
[ "$emitted" -ge $((rounds * 5)) ] || fail "only $emitted triggers were accepted"

# Quiet down: the periodic jobs stop ticking (but stay visible); let
# everything finish.
write_config triggered triggered
# shellcheck disable=SC2086
start_server "$tmp/cfg" "$tmp/tock.db" $opts

all_final() {
    for job in proj/sink proj/cron proj/poller; do
        "$TOCK" invocations "$job" --server "$server" --limit 10000 >"$tmp/all" || return 1
        awk 'NR > 1 { print $2 }' "$tmp/all" | grep -Eq 'STARTING|RETRYING|RUNNING' && return 1
    done
    return 0
}
no_pending() {
    "$TOCK" why proj/sink --server "$server" --limit 10000 --json >"$tmp/fates.json" || return 1
    ! grep -q '"fate": *"PENDING"' "$tmp/fates.json"
}
checks=$((checks + 1))
wait_until 120 no_pending || fail "triggers still pending after the restarts"
checks=$((checks + 1))
wait_until 120 all_final || fail "invocations left in a non-final state: $(cat "$tmp/all")"

# Every accepted trigger has a fate, and a final one.
missing=0
for id in $(cat "$tmp/emitted"); do
    has_fate "$id" || missing=$((missing + 1))
done
checks=$((checks + 1))
[ "$missing" = 0 ] || fail "$missing accepted triggers have no recorded fate"
consumed=$(grep -Ec '"fate": *"(CONSUMED|MERGED)"' "$tmp/fates.json" || true)
checks=$((checks + 1))
[ "$consumed" -gt 0 ] || fail "no trigger was ever consumed"

# No invocation finished twice; every one ended through its noop timer.
"$TOCK" invocations proj/sink --server "$server" --limit 10000 >"$tmp/invs"
n=0
for id in $(awk 'NR > 1 { print $1 }' "$tmp/invs"); do
    n=$((n + 1))
    "$TOCK" invocation proj/sink "$id" --server "$server" >"$tmp/inv"
    finished=$(grep -c 'Invocation finished in' "$tmp/inv" || true)
    checks=$((checks + 1))
    [ "$finished" = 1 ] || fail "invocation $id finished $finished times: $(cat "$tmp/inv")"
    if grep -q 'SUCCEEDED' "$tmp/inv"; then
        checks=$((checks + 1))
        grep -q 'Handling timer' "$tmp/inv" || fail "invocation $id succeeded without its timer"
    fi
done
checks=$((checks + 1))
[ "$n" -gt 0 ] || fail "no invocations of proj/sink"
echo "crash test: $rounds SIGKILLs, $emitted triggers accepted, $consumed consumed or merged," \
    "$n invocations of proj/sink checked"

stop_server
finish
