#!/bin/sh
# Replicas (issue 11, section 5): three `tock serve` on one PostgreSQL
# database (the ctest fixture "pg", a fresh database per run), 300 jobs by default (TOCK_REPLICA_CRON, _BBC, _TRIG, _BBT set fewer):
#   cron0..99    noop, cron every 5 s
#   bbc0..9      buildbucket, cron every 5 s (bbc0..4 v2, bbc5..9 v1)
#   trig0..159   noop, fed by EmitTriggers through any replica
#   bbt0..27     buildbucket, fed by EmitTriggers (bbt0..13 v2, bbt14..27 v1)
#   gitpoll      a git poller (every 1 s) of a local repository (file://)
#                that triggers gitbb, a buildbucket job (v2)
# against one Buildbucket emulator (tock buildbucket-emulator; its pushes
# reach the replicas through push-forwarder.py, a load balancer), while a
# driver SIGKILLs a random replica every few seconds and restarts it, and
# pushes a commit to the repository every ~2 s, for TOCK_REPLICA_SECONDS
# (60 by default).  Then, the load stopped:
#  - every acknowledged trigger has exactly one fate, and a final one;
#  - every commit pushed has exactly one fate at gitbb, and the poller
#    emitted nothing else (its repository state moved forward once per
#    poll: a commit emitted twice would have a second, DEDUPLICATED fate);
#  - no cron tick ran twice (its trigger cron:v1:<generation> would be
#    emitted twice: a duplicate id or a DEDUPLICATED fate) and none was lost
#    (every cron job ticks again after the chaos: a late tick is one tick,
#    as LUCI's late-tick rule says, never a stop; the longest gap between
#    two ticks of a job is reported, and bounded loosely: an overloaded
#    machine makes ticks late, not lost);
#  - no invocation of any job stays non-final, and no trigger stays
#    pending, once the lease time (--lease-time 3s) has let the survivors
#    take over the dead replicas' work; a sample of invocations finished
#    exactly once;
#  - each buildbucket invocation SUCCEEDED with exactly one build (the
#    emulator's GET /stats lists every build with its scheduler_job_id and
#    scheduler_invocation_id tags: a relaunch after a SIGKILL must find the
#    same build through its requestId / client_operation_id), and no build
#    is orphaned (every build names an invocation of its job that exists);
#  - every replica's /readyz is green; no replica logged a store error or
#    a sanitizer report.
# The figures of the load (calls, kills, ticks, builds) depend on the
# machine's speed: only floors that prove the load happened are checked.
# The bulk checks read the database with psql (one query instead of 300
# API calls per check); the sample and /readyz go through the API.
# Skips (77) when no PostgreSQL server or git is installed.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
. "$here/lib-pg.sh"
seconds=${TOCK_REPLICA_SECONDS:-60}
n_cron=${TOCK_REPLICA_CRON:-100} n_bbc=${TOCK_REPLICA_BBC:-10} n_trig=${TOCK_REPLICA_TRIG:-160} n_bbt=${TOCK_REPLICA_BBT:-28}
n_emit=$((n_trig + n_bbt))

pg_require
command -v git >/dev/null || { echo "*** SKIPPED: git is not installed ***" >&2; exit 77; }

dbname="tock_replicas_$$"
pg_fresh_db "$dbname"
pgurl=$(printf '%s' "$TOCK_TEST_PG" | sed "s|:///postgres?|:///$dbname?|")
# sql QUERY: its rows, fields separated by spaces, no header.
sql() { psql -X -q -A -t -F ' ' "$pgurl" -c "$1"; }

pids="0 0 0" emu_pid=0 fwd_pid=0
cleanup() {
    for p in $pids $emu_pid $fwd_pid; do
        [ "$p" = 0 ] || kill -KILL "$p" 2>/dev/null || true
    done
    for p in $pids $emu_pid $fwd_pid; do
        [ "$p" = 0 ] || wait "$p" 2>/dev/null || true
    done
    if [ -n "${TOCK_E2E_KEEP:-}" ]; then
        echo "kept $tmp and the database $dbname" >&2
    else
        pg_drop_db "$dbname"
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

t0=$(date +%s)
phase() { echo "replicas test: +$(($(date +%s) - t0))s $*" >&2; }

# --- the repository the poller watches (file://), its first commit ----------
git init -q --bare -b main "$tmp/repo.git"
git init -q -b main "$tmp/work"
git -C "$tmp/work" config user.name t
git -C "$tmp/work" config user.email t@example.com
repo="file://$tmp/repo.git"
: >"$tmp/commits"
# push_commit: a new commit on main, pushed; its SHA appended to $tmp/commits.
push_commit() {
    date +%s%N >>"$tmp/work/f"
    git -C "$tmp/work" add f
    git -C "$tmp/work" commit -q -m "c$(date +%s%N)"
    git -C "$tmp/work" push -q "$tmp/repo.git" main
    git -C "$tmp/work" rev-parse HEAD >>"$tmp/commits"
}
push_commit

# --- the emulator behind the push forwarder ---------------------------------
python3 "$here/push-forwarder.py" "$tmp" &
fwd_pid=$!
wait_until 10 test -s "$tmp/forwarder.port" || { echo "the push forwarder did not start" >&2; exit 1; }
printf '%s\n' '{"builders": [{"project": "proj", "bucket": "ci", "builder": "*", "run": "500ms"}]}' \
    >"$tmp/builders.json"
start_emulator "$tmp/builders.json" \
    "http://127.0.0.1:$(cat "$tmp/forwarder.port")/pubsub?kind=buildbucket"

# --- the config ---------------------------------------------------------------
mkdir -p "$tmp/cfg/proj"
open_realms "$tmp/cfg/proj"
bb_line() { # ID SCHEDULE v1|v2
    case $3 in
    v2) echo "job { id: \"$1\" schedule: \"$2\" buildbucket { server: \"bb.example.com\" bucket: \"ci\" builder: \"b-$1\" } }" ;;
    v1) echo "job { id: \"$1\" schedule: \"$2\" buildbucket { server: \"bb-v1.example.com\" bucket: \"luci.proj.ci\" builder: \"b-$1\" } }" ;;
    esac
}
write_config() { # $1 = the cron jobs' schedule, $2 = the poller's ("triggered" quiets them)
    {
        i=0
        while [ $i -lt $n_cron ]; do
            echo "job { id: \"cron$i\" schedule: \"$1\" noop { sleep_ms: 200 } }"
            i=$((i + 1))
        done
        i=0
        while [ $i -lt $n_bbc ]; do
            bb_line "bbc$i" "$1" "$([ $i -lt $((n_bbc / 2)) ] && echo v2 || echo v1)"
            i=$((i + 1))
        done
        i=0
        while [ $i -lt $n_trig ]; do
            echo "job { id: \"trig$i\" noop { sleep_ms: 100 } }"
            i=$((i + 1))
        done
        i=0
        while [ $i -lt $n_bbt ]; do
            bb_line "bbt$i" triggered "$([ $i -lt $((n_bbt / 2)) ] && echo v2 || echo v1)"
            i=$((i + 1))
        done
        echo "trigger { id: \"gitpoll\" schedule: \"$2\" triggers: \"gitbb\""
        echo "  git { url: \"$repo\" refs: \"refs/heads/main\" } }"
        bb_line gitbb triggered v2
    } >"$tmp/cfg/proj/luci-scheduler.cfg"
}
write_config "*/5 * * * * * *" "with 1s interval"
checks=$((checks + 1))
n_jobs=$((n_cron + n_bbc + n_trig + n_bbt + 2)) # + the poller and its target
[ "$(grep -c '^job\|^trigger' "$tmp/cfg/proj/luci-scheduler.cfg")" = "$n_jobs" ] || fail "the config has not $n_jobs jobs"
opts="--lease-time 3s --triage-throttle 500ms --launch-delay 100ms --workers 4 --reload-interval 1h
 --buildbucket-poll 1s,2s --host-map bb.example.com=$emu --host-map bb-v1.example.com=$emu
 --buildbucket-api bb-v1.example.com=v1"

pid_of() { echo "$pids" | cut -d' ' -f$(($1 + 1)); }
set_pid() { # $1 = replica, $2 = pid
    pids=$(echo "$pids" | awk -v i="$1" -v p="$2" '{ $(i + 1) = p; print }')
}

# start_replica I: starts replica I (0..2) on a free port, without waiting:
# replica_up I tells when it listens (its URL then in $tmp/url.I).
start_replica() {
    rm -f "$tmp/url.$1"
    : >"$tmp/out.$1"
    # shellcheck disable=SC2086
    "$TOCK" serve --config "$tmp/cfg" --db "$url" --listen 127.0.0.1:0 $opts \
        --data-dir "$tmp/data.$1" >"$tmp/out.$1" 2>>"$tmp/log.$1" &
    set_pid "$1" $!
}
replica_alive() { [ "$(pid_of "$1")" != 0 ] && kill -0 "$(pid_of "$1")" 2>/dev/null; }
replica_up() {
    replica_alive "$1" || return 1
    [ -s "$tmp/url.$1" ] && return 0
    grep -q 'listening on' "$tmp/out.$1" 2>/dev/null || return 1
    sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/out.$1" >"$tmp/tmpurl.$1"
    mv "$tmp/tmpurl.$1" "$tmp/url.$1"
}
# wait_up I: waits (bounded) until replica I listens; 1 if it died or never did.
wait_up() {
    wait_until 60 replica_up "$1" && return 0
    echo "replica $1 did not start:" >&2
    tail -20 "$tmp/log.$1" >&2
    return 1
}
kill_replica() {
    rm -f "$tmp/url.$1" "$tmp/out.$1"
    kill -KILL "$(pid_of "$1")" 2>/dev/null || true
    wait "$(pid_of "$1")" 2>/dev/null || true
    set_pid "$1" 0
}
rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }

for i in 0 1 2; do
    start_replica $i
done
for i in 0 1 2; do
    wait_up $i
done
# The poller's first poll (a new ref: its tip only) before the chaos.
server=$(cat "$tmp/url.0")
first_poll() { [ -n "$(sql "SELECT 1 FROM trigger_fates WHERE job_id = 'proj/gitbb' LIMIT 1")" ]; }
checks=$((checks + 1))
wait_until 30 first_poll || fail "the poller emitted nothing for the repository's first commit"
phase "replicas up, the poller polled"

# The load: EmitTriggers through a random live replica, eight triggers per
# call to random triggered jobs; a commit pushed every ~2 s; a SIGKILL of a
# random replica every 2-4 s, restarted ~1 s later (the load goes on while
# it starts: the next kill waits until it listens).
: >"$tmp/emitted"
start=$(date +%s)
end=$((start + seconds))
down=-1 down_since=0 next_kill=$((start + 3)) kills=0 n=0 next_commit=$((start + 2))
while [ "$(date +%s)" -lt $end ]; do
    now=$(date +%s)
    if [ $down -lt 0 ] && [ "$now" -ge $next_kill ]; then
        down=$(rand 3)
        kill_replica $down
        kills=$((kills + 1))
        down_since=$now
    elif [ $down -ge 0 ] && [ "$now" -gt $down_since ] && ! replica_alive $down; then
        [ -n "${TOCK_REPLICA_DEBUG:-}" ] && echo "restart $down at +$(($(date +%s) - start))s" >&2
        start_replica $down
    elif [ $down -ge 0 ] && replica_up $down; then
        [ -n "${TOCK_REPLICA_DEBUG:-}" ] && echo "replica $down up at +$(($(date +%s) - start))s" >&2
        down=-1
        next_kill=$((now + 2 + $(rand 3)))
    fi
    if [ "$now" -ge $next_commit ]; then
        push_commit
        next_commit=$((now + 2))
    fi
    r=$(rand 3)
    [ -s "$tmp/url.$r" ] || r=$(((r + 1) % 3))
    [ -s "$tmp/url.$r" ] || r=$(((r + 1) % 3))
    server=$(cat "$tmp/url.$r")
    n=$((n + 1))
    batches="" sep=""
    : >"$tmp/call"
    for x in a b c d e f g h; do
        k=$(rand $n_emit)
        if [ "$k" -lt $n_trig ]; then job="trig$k"; else job="bbt$((k - n_trig))"; fi
        batches="$batches$sep{\"trigger\": {\"id\": \"e$n-$x\"}, \"jobs\": [{\"project\": \"proj\", \"job\": \"$job\"}]}"
        sep=", "
        printf 'proj/%s e%s-%s\n' "$job" "$n" "$x" >>"$tmp/call"
    done
    tr0=$(date +%s%N)
    rpc scheduler.Scheduler/EmitTriggers "{\"batches\": [$batches]}"
    [ "$code" = 0 ] && cat "$tmp/call" >>"$tmp/emitted"
    [ -n "${TOCK_REPLICA_DEBUG:-}" ] && echo "rpc $r code=$code $(( ($(date +%s%N) - tr0) / 1000000 ))ms" >&2
    true
    sleep 0.2
done
if [ $down -ge 0 ]; then
    replica_alive $down || start_replica $down
    wait_up $down
fi
chaos_end=$(date +%s)
phase "chaos over: $n EmitTriggers calls, $(wc -l <"$tmp/commits") commits"
emitted=$(wc -l <"$tmp/emitted")
commits=$(wc -l <"$tmp/commits")
checks=$((checks + 1))
[ "$emitted" -ge 20 ] || fail "only $emitted triggers were acknowledged"
checks=$((checks + 1))
[ "$kills" -ge 2 ] || fail "only $kills SIGKILLs in ${seconds}s"
checks=$((checks + 1))
[ "$commits" -ge 3 ] || fail "only $commits commits pushed in ${seconds}s"

# Every cron job (noop and buildbucket) ticks again after the chaos (no
# tick chain was lost), and the poller saw every commit.
server=$(cat "$tmp/url.0")
not_ticked_after() { # $1 = unix seconds: the cron jobs with no cron trigger since
    sql "SELECT j FROM (SELECT 'proj/cron' || g AS j FROM generate_series(0, $((n_cron - 1))) g
         UNION ALL SELECT 'proj/bbc' || g FROM generate_series(0, $((n_bbc - 1))) g) jobs
         WHERE NOT EXISTS (SELECT 1 FROM trigger_fates f WHERE f.job_id = j
             AND f.trigger_id LIKE 'cron:%' AND f.created > $1::bigint * 1000000000)"
}
all_ticked() { [ -z "$(not_ticked_after "$chaos_end")" ]; }
checks=$((checks + 1))
wait_until 60 all_ticked ||
    fail "cron jobs stopped ticking after the chaos: $(not_ticked_after "$chaos_end" | tr '\n' ' ')"
phase "every cron job ticked after the chaos"
sed "s|^|$repo/+/refs/heads/main@|" "$tmp/commits" | sort >"$tmp/want-git"
git_seen() {
    sql "SELECT DISTINCT trigger_id FROM trigger_fates WHERE job_id = 'proj/gitbb'" | sort >"$tmp/seen-git"
    [ -z "$(comm -23 "$tmp/want-git" "$tmp/seen-git")" ]
}
checks=$((checks + 1))
wait_until 60 git_seen || fail "commits never emitted by the poller: $(comm -23 "$tmp/want-git" "$tmp/seen-git")"

# Quiet the cron jobs and the poller on every replica, then let the work finish.
write_config triggered triggered
# applied I: how many configs replica I's log says it applied.
applied() { grep -c 'project proj: applied revision' "$tmp/log.$1" || true; }
for i in 0 1 2; do
    echo "$(applied $i)" >"$tmp/applied.$i"
    kill -HUP "$(pid_of $i)"
done
# Every replica applied it before the load counts as stopped: a tick that
# ran before leaves a pending trigger, which the check below waits for.
reloaded() { for i in 0 1 2; do [ "$(applied $i)" -gt "$(cat "$tmp/applied.$i")" ] || return 1; done; }
# (Under the sanitizers and the load, a config apply loses conflicts with
# the cron ticks for a while before it lands: seen to take over 60 s.)
q0=$(date +%s)
checks=$((checks + 1))
wait_until 150 reloaded || fail "not every replica applied the quiet config"
phase "every replica applied the quiet config in $(($(date +%s) - q0))s"
non_final() {
    sql "SELECT job_id, id, status FROM invocations WHERE status IN ('STARTING', 'RETRYING', 'RUNNING')
         UNION ALL SELECT job_id, 0, 'pending:' || trigger_id FROM pending_triggers" >"$tmp/nonfinal"
    [ ! -s "$tmp/nonfinal" ]
}
checks=$((checks + 1))
wait_until 90 non_final ||
    fail "$(wc -l <"$tmp/nonfinal") invocations or triggers left non-final after the load: $(head -20 "$tmp/nonfinal")"
phase "all final"

# Every acknowledged trigger: exactly one final fate.  (Fates as
# "<job> <trigger> <fate>"; a trigger's PENDING row is not its fate.)
sql "SELECT job_id, trigger_id, fate FROM trigger_fates" >"$tmp/allfates"
checks=$((checks + 1))
[ -s "$tmp/allfates" ] || fail "no trigger fates at all"
# one_final WANT: the lines of WANT ("<job> <trigger>") with not exactly one final fate.
one_final() {
    awk 'FNR == NR { if ($3 != "PENDING") final[$1 " " $2]++; next }
         { k = final[$1 " " $2] + 0; if (k != 1) print $1 " " $2 ": " k " final fates" }' "$tmp/allfates" "$1"
}
one_final "$tmp/emitted" >"$tmp/bad"
checks=$((checks + 1))
[ ! -s "$tmp/bad" ] || fail "$(wc -l <"$tmp/bad") of $emitted acknowledged triggers have not exactly one final fate: $(head -10 "$tmp/bad")"
consumed=$(awk '$1 ~ /^proj\/(trig|bbt)/ && ($3 == "CONSUMED" || $3 == "MERGED")' "$tmp/allfates" | wc -l)
checks=$((checks + 1))
[ "$consumed" -gt 0 ] || fail "no trigger was ever consumed"

# The poller: every commit pushed, exactly one fate at gitbb; nothing else.
sed 's|^|proj/gitbb |' "$tmp/want-git" >"$tmp/want-git-fates"
one_final "$tmp/want-git-fates" >"$tmp/bad"
checks=$((checks + 1))
[ ! -s "$tmp/bad" ] || fail "commits without exactly one fate: $(head -10 "$tmp/bad")"
awk '$1 == "proj/gitbb" { print $2 }' "$tmp/allfates" | sort -u | comm -13 "$tmp/want-git" - >"$tmp/bad"
checks=$((checks + 1))
[ ! -s "$tmp/bad" ] || fail "the poller emitted triggers for no pushed commit: $(head -5 "$tmp/bad")"

# Cron: no tick twice (unique cron:v1:<gen>, nothing DEDUPLICATED), the longest gap.
sql "SELECT job_id, count(*) - count(DISTINCT trigger_id), count(*) FILTER (WHERE fate = 'DEDUPLICATED')
     FROM trigger_fates WHERE trigger_id LIKE 'cron:%' AND fate <> 'PENDING' GROUP BY job_id
     HAVING count(*) - count(DISTINCT trigger_id) > 0 OR count(*) FILTER (WHERE fate = 'DEDUPLICATED') > 0" >"$tmp/bad"
checks=$((checks + 1))
[ ! -s "$tmp/bad" ] || fail "cron ticks ran twice (job, duplicate ids, deduplicated): $(head -10 "$tmp/bad")"
set -- $(sql "WITH t AS (SELECT job_id, created, created - lag(created) OVER (PARTITION BY job_id ORDER BY created) AS gap
              FROM (SELECT DISTINCT job_id, trigger_id, min(created) AS created FROM trigger_fates
                    WHERE trigger_id LIKE 'cron:%' GROUP BY job_id, trigger_id) c)
              SELECT count(*), coalesce(max(gap), 0) / 1000000000 FROM t")
ticks=$1 maxgap=$2
checks=$((checks + 1))
[ "$maxgap" -le 60 ] || fail "a cron job went ${maxgap}s without a tick (schedule: every 5s)"
checks=$((checks + 1))
[ "$ticks" -ge $(((n_cron + n_bbc) * 3)) ] || fail "only $ticks cron ticks in ${seconds}s"
phase "fates checked"

# Builds: each buildbucket invocation SUCCEEDED with exactly one build; no
# build without its invocation.
curl -sf "$emu/stats" >"$tmp/stats.json"
jq -r '.builds[] | "\(.job) \(.invocation) \(.status)"' "$tmp/stats.json" | sort >"$tmp/builds"
checks=$((checks + 1))
[ "$(jq -r .truncated "$tmp/stats.json")" = false ] || fail "the emulator's build list is truncated"
sql "SELECT job_id, id, status FROM invocations WHERE job_id LIKE 'proj/bb%' OR job_id = 'proj/gitbb'" |
    sort >"$tmp/bbinvs"
n_builds=$(wc -l <"$tmp/builds")
n_bbinvs=$(wc -l <"$tmp/bbinvs")
checks=$((checks + 1))
[ "$n_bbinvs" -ge 10 ] || fail "only $n_bbinvs buildbucket invocations"
for v in v2 v1; do
    checks=$((checks + 1))
    [ "$(grep -c "proj/ci/b-bb[ct][0-9]*: SCHEDULED ($v" "$tmp/emu.log" || true)" -gt 0 ] ||
        fail "no $v build was made"
done
bad=$(awk 'FNR == NR { builds[$1 " " $2]++; if ($3 != "SUCCESS") unfinished++; next }
           { k = builds[$1 " " $2] + 0; delete builds[$1 " " $2]
             if ($3 != "SUCCEEDED") print "invocation " $1 " " $2 " is " $3
             if (k != 1) print "invocation " $1 " " $2 ": " k " builds" }
           END { for (b in builds) print "orphaned build(s) of " b ": " builds[b]
                 if (unfinished) print unfinished " builds not SUCCESS" }' "$tmp/builds" "$tmp/bbinvs")
checks=$((checks + 1))
[ -z "$bad" ] || {
    fail "buildbucket invocations and builds disagree: $(printf '%s\n' "$bad" | head -10)"
    for id in $(printf '%s\n' "$bad" | sed -n 's/^invocation [^ ]* \([0-9]*\): .*/\1/p' | head -3); do
        echo "--- invocation $id:" >&2
        sql "SELECT status, debug_log FROM invocations WHERE id = $id" | head -c 6000 >&2
        grep -h "$id" "$tmp/emu.log" "$tmp"/log.* | head -20 >&2
    done
}
dedups=$(grep -c 'ScheduleBuild requestId\|PUT client_operation_id' "$tmp/emu.log" || true)

# A sample of invocations finished exactly once (through the API).
sampled=0
for job in cron0 bbc0 "bbc$((n_bbc - 1))" gitbb $(awk '{ print substr($1, 6) }' "$tmp/emitted" | sort -u | head -2); do
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
# Nor a failed commit: a conflict at COMMIT (also a batch lease's) is debug only.
checks=$((checks + 1))
! grep -h 'commit failed' "$tmp"/log.* | head -5 | grep . >&2 || fail "a replica logged failed commits"
# Nor a sanitizer report (the TOCK_SANITIZE build).
checks=$((checks + 1))
! grep -h -A5 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$tmp"/log.* "$tmp/emu.log" >&2 ||
    fail "a sanitizer complained"

echo "replicas test: ${seconds}s, $kills SIGKILLs, $emitted triggers acknowledged ($consumed" \
    "consumed or merged), $commits commits polled, $ticks cron ticks (longest gap ${maxgap}s)," \
    "$n_builds builds for $n_bbinvs buildbucket invocations ($dedups relaunches deduplicated by the" \
    "emulator), pushes forwarded $(grep -c "^ok" "$tmp/forwarder.log" 2>/dev/null || true)" \
    "(refused by every replica $(grep -c "^none" "$tmp/forwarder.log" 2>/dev/null || true))," \
    "$sampled invocations sampled, $(($(date +%s) - t0))s in all"
finish
