#!/bin/sh
# Replicas (issue 11): three `tock serve` on one PostgreSQL database (the
# ctest fixture "pg", a fresh database per run), 100 jobs -- 40 cron jobs
# every 2 s and 60 triggered jobs fed by EmitTriggers through any replica --
# while a driver SIGKILLs a random replica every few seconds and restarts it,
# for TOCK_REPLICA_SECONDS (60 by default).  Then, the load stopped:
#  - every acknowledged trigger has exactly one fate, and a final one;
#  - no cron tick ran twice (its trigger cron:v1:<generation> would be
#    emitted twice: a duplicate id or a DEDUPLICATED fate) and none was lost
#    (every cron job ticks again after the chaos: a late tick is one tick,
#    as LUCI's late-tick rule says, never a stop; the longest gap between
#    two ticks of a job is reported, and bounded loosely: an overloaded
#    machine makes ticks late, not lost);
# The figures of the load (calls, kills, ticks) depend on the machine's
# speed: only a floor that proves the load happened is checked.
#  - no invocation stays non-final once the lease time (--lease-time 3s)
#    has let the survivors take over the dead replicas' work, and a sample
#    of invocations finished exactly once;
#  - every replica's /readyz is green.
# Skips (77) when no PostgreSQL server is installed.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-pg.sh"
seconds=${TOCK_REPLICA_SECONDS:-60}
n_cron=40
n_trig=60

pg_require

dbname="tock_replicas_$$"
pg_fresh_db "$dbname"

pids="0 0 0"
cleanup() {
    for p in $pids; do
        [ "$p" = 0 ] || kill -KILL "$p" 2>/dev/null || true
    done
    for p in $pids; do
        [ "$p" = 0 ] || wait "$p" 2>/dev/null || true
    done
    pg_drop_db "$dbname"
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/cfg/proj"
cat >"$tmp/cfg/proj/realms.cfg" <<'CFG'
realms {
  name: "@root"
  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous" }
}
CFG
write_config() { # $1 = the cron jobs' schedule ("triggered" quiets them)
    {
        i=0
        while [ $i -lt $n_cron ]; do
            echo "job { id: \"cron$i\" schedule: \"$1\" noop { sleep_ms: 200 } }"
            i=$((i + 1))
        done
        i=0
        while [ $i -lt $n_trig ]; do
            echo "job { id: \"trig$i\" noop { sleep_ms: 100 } }"
            i=$((i + 1))
        done
    } >"$tmp/cfg/proj/luci-scheduler.cfg"
}
write_config "*/2 * * * * * *"
opts="--lease-time 3s --triage-throttle 500ms --launch-delay 100ms --workers 4 --reload-interval 1h"

pid_of() { echo "$pids" | cut -d' ' -f$(($1 + 1)); }
set_pid() { # $1 = replica, $2 = pid
    pids=$(echo "$pids" | awk -v i="$1" -v p="$2" '{ $(i + 1) = p; print }')
}

# start_replica I: starts replica I (0..2) on a free port; its URL in $tmp/url.I.
start_replica() {
    : >"$tmp/out.$1"
    # shellcheck disable=SC2086
    "$TOCK" serve --config "$tmp/cfg" --db "$url" --listen 127.0.0.1:0 $opts \
        >"$tmp/out.$1" 2>>"$tmp/log.$1" &
    set_pid "$1" $!
    tries=0
    while ! grep -q 'listening on' "$tmp/out.$1" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 400 ] || ! kill -0 "$(pid_of "$1")" 2>/dev/null; then
            echo "replica $1 did not start:" >&2
            tail -20 "$tmp/log.$1" >&2
            return 1
        fi
        sleep 0.05
    done
    sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/out.$1" >"$tmp/url.$1"
}
kill_replica() {
    kill -KILL "$(pid_of "$1")" 2>/dev/null || true
    wait "$(pid_of "$1")" 2>/dev/null || true
    set_pid "$1" 0
}
rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }
t0=$(date +%s)
phase() { echo "replicas test: +$(($(date +%s) - t0))s $*" >&2; }

for i in 0 1 2; do
    start_replica $i
done

# The load: EmitTriggers through a random live replica, four triggers per
# call to random triggered jobs; a SIGKILL of a random replica every ~4 s,
# restarted ~1 s later.
: >"$tmp/emitted"
start=$(date +%s)
end=$((start + seconds))
down=-1 down_since=0 next_kill=$((start + 3)) kills=0 n=0
while [ "$(date +%s)" -lt $end ]; do
    now=$(date +%s)
    if [ $down -lt 0 ] && [ "$now" -ge $next_kill ]; then
        down=$(rand 3)
        kill_replica $down
        kills=$((kills + 1))
        down_since=$now
    elif [ $down -ge 0 ] && [ "$now" -gt $down_since ]; then
        start_replica $down
        down=-1
        next_kill=$((now + 2 + $(rand 3)))
    fi
    r=$(rand 3)
    [ "$r" = "$down" ] && r=$(((r + 1) % 3))
    server=$(cat "$tmp/url.$r")
    n=$((n + 1))
    batches="" sep=""
    : >"$tmp/call"
    for x in a b c d; do
        job="trig$(rand $n_trig)"
        batches="$batches$sep{\"trigger\": {\"id\": \"e$n-$x\"}, \"jobs\": [{\"project\": \"proj\", \"job\": \"$job\"}]}"
        sep=", "
        printf '%s e%s-%s\n' "$job" "$n" "$x" >>"$tmp/call"
    done
    tr0=$(date +%s%N)
    rpc scheduler.Scheduler/EmitTriggers "{\"batches\": [$batches]}"
    [ "$code" = 0 ] && cat "$tmp/call" >>"$tmp/emitted"
    [ -n "${TOCK_REPLICA_DEBUG:-}" ] && echo "rpc $r code=$code $(( ($(date +%s%N) - tr0) / 1000000 ))ms" >&2
    true
    sleep 0.2
done
[ $down -ge 0 ] && start_replica $down
chaos_end=$(date +%s)
phase "chaos over: $n EmitTriggers calls"
emitted=$(wc -l <"$tmp/emitted")
checks=$((checks + 1))
[ "$emitted" -ge 40 ] || fail "only $emitted triggers were acknowledged"
checks=$((checks + 1))
[ "$kills" -ge 3 ] || fail "only $kills SIGKILLs in ${seconds}s"

# Every cron job ticks again after the chaos (no tick chain was lost).
server=$(cat "$tmp/url.0")
fates() { # $1 = job: its fates as JSON in $tmp/fates.<job>
    "$TOCK" why "proj/$1" --server "$server" --limit 10000 --json >"$tmp/fates.$1"
}
seq 0 $((n_cron - 1)) | sed 's/^/cron/' >"$tmp/waiting"
ticked_after() { # every cron job has a cron trigger created after $1 (unix seconds)
    : >"$tmp/still"
    for job in $(cat "$tmp/waiting"); do
        fates "$job" &&
            jq -e --argjson t "$1" '[.fates[]? | select(.triggerId | startswith("cron:"))
                | select((.created | sub("\\.[0-9]+"; "") | fromdateiso8601) > $t)]
                | length > 0' "$tmp/fates.$job" >/dev/null ||
            echo "$job" >>"$tmp/still"
    done
    mv "$tmp/still" "$tmp/waiting"
    [ ! -s "$tmp/waiting" ]
}
checks=$((checks + 1))
wait_until 60 ticked_after "$chaos_end" ||
    fail "cron jobs stopped ticking after the chaos: $(cat "$tmp/waiting")"

phase "every cron job ticked after the chaos"
# Quiet the cron jobs on every replica, then let the work finish.
write_config triggered
for i in 0 1 2; do
    kill -HUP "$(pid_of $i)"
done
all_final() {
    i=0
    for job in $(awk '{ print $1 }' "$tmp/emitted" | sort -u) cron0 cron1 cron2; do
        "$TOCK" invocations "proj/$job" --server "$server" --limit 10000 >"$tmp/all" || return 1
        awk 'NR > 1 { print $2 }' "$tmp/all" | grep -Eq 'STARTING|RETRYING|RUNNING' && return 1
    done
    return 0
}
checks=$((checks + 1))
wait_until 60 all_final || fail "invocations left non-final after the load: $(cat "$tmp/all")"

phase "all final"
# Every acknowledged trigger: exactly one fate, final.
for job in $(awk '{ print $1 }' "$tmp/emitted" | sort -u); do
    fates "$job"
done
for job in $(awk '{ print $1 }' "$tmp/emitted" | sort -u); do
    jq -r --arg job "$job" '.fates[]? | "\($job) \(.triggerId) \(.fate)"' "$tmp/fates.$job"
done >"$tmp/allfates"
bad=$(awk 'FNR == NR { if ($3 != "PENDING") final[$1 " " $2]++; next }
           { k = final[$1 " " $2] + 0; if (k != 1) { print "trigger " $2 " of " $1 ": " k " final fates" > "/dev/stderr"; bad++ } }
           END { print bad + 0 }' "$tmp/allfates" "$tmp/emitted")
checks=$((checks + 1))
[ "$bad" = 0 ] || fail "$bad of $emitted acknowledged triggers have not exactly one final fate"
consumed=$(cat "$tmp"/fates.trig* | jq '[.fates[]? | select(.fate == "CONSUMED" or .fate == "MERGED")] | length' |
    awk '{ s += $1 } END { print s + 0 }')
checks=$((checks + 1))
[ "$consumed" -gt 0 ] || fail "no trigger was ever consumed"

# Cron: no tick twice (unique cron:v1:<gen>, nothing DEDUPLICATED), the longest gap.
maxgap=0 ticks=0
i=0
while [ $i -lt $n_cron ]; do
    fates "cron$i"
    f="$tmp/fates.cron$i"
    set -- $(jq -r '[.fates[]? | select(.triggerId | startswith("cron:"))] as $c
        | ($c | map(.created | sub("\\.[0-9]+"; "") | fromdateiso8601) | sort) as $t
        | [($c | length) - ($c | map(.triggerId) | unique | length),
           ([.fates[]? | select(.fate == "DEDUPLICATED")] | length),
           ([range(1; $t | length) as $k | $t[$k] - $t[$k - 1]] | max // 0),
           ($c | length)] | @sh' "$f")
    dup=$1 dedup=$2 gap=$3 k=$4
    checks=$((checks + 1))
    [ "$dup" = 0 ] && [ "$dedup" = 0 ] ||
        fail "cron$i: a tick ran twice ($dup duplicate trigger ids, $dedup deduplicated)"
    ticks=$((ticks + k))
    [ "$gap" -gt "$maxgap" ] && maxgap=$gap
    i=$((i + 1))
done
checks=$((checks + 1))
[ "$maxgap" -le 60 ] || fail "a cron job went ${maxgap}s without a tick (schedule: every 2s)"
checks=$((checks + 1))
[ "$ticks" -ge $((n_cron * 3)) ] || fail "only $ticks cron ticks in ${seconds}s"

phase "fates checked"
# A sample of invocations finished exactly once.
sampled=0
for job in cron0 $(awk '{ print $1 }' "$tmp/emitted" | sort -u | head -2); do
    "$TOCK" invocations "proj/$job" --server "$server" --limit 10000 >"$tmp/invs"
    for id in $(awk 'NR > 1 { print $1 }' "$tmp/invs" | head -${TOCK_REPLICA_SAMPLE:-30}); do
        sampled=$((sampled + 1))
        "$TOCK" invocation "proj/$job" "$id" --server "$server" >"$tmp/inv"
        finished=$(grep -c 'Invocation finished in' "$tmp/inv" || true)
        checks=$((checks + 1))
        [ "$finished" = 1 ] || fail "proj/$job invocation $id finished $finished times"
    done
done
checks=$((checks + 1))
[ "$sampled" -gt 0 ] || fail "no invocations to sample"

# Every replica is ready.
for i in 0 1 2; do
    checks=$((checks + 1))
    c=$(curl -s -o /dev/null -w '%{http_code}' "$(cat "$tmp/url.$i")/readyz" || true)
    [ "$c" = 200 ] || fail "replica $i: /readyz answered $c"
done
# No replica logged a store error (conflicts are redone quietly).
checks=$((checks + 1))
! grep -h 'store error' "$tmp"/log.* >&2 || fail "a replica logged store errors"
# Nor a sanitizer report (the TOCK_SANITIZE build).
checks=$((checks + 1))
! grep -h -A5 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$tmp"/log.* >&2 ||
    fail "a replica's sanitizer complained"

echo "replicas test: ${seconds}s, $kills SIGKILLs, $emitted triggers acknowledged ($consumed" \
    "consumed or merged), $ticks cron ticks (longest gap ${maxgap}s), $sampled invocations sampled"
finish
