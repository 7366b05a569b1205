#!/bin/sh
# The gitiles poller end to end (issue 8, sections 2 and 4): a real `tock
# serve` polls a standalone fake Gitiles (tests/fakes/fake-gitiles.py,
# wire-formats.md 3) every second through --host-map and triggers
# buildbucket jobs on the Buildbucket emulator.  Expected values come from
# luci-scheduler-spec.md 3.10 (the request's properties and tags), 4.2 (one
# trigger for a new ref's tip, the commits of an updated ref oldest first,
# trigger IDs "<repo>/+/<ref>@<sha>") and 4.1.3 (gitilesCommit {host,
# project, id, ref} from the newest trigger).
#
#   1. chromium.googlesource.com/chromium/src (mapped to the fake): a new
#      commit on refs/heads/main -> trigger -> build with the right
#      gitilesCommit, properties and tags -> invocation SUCCEEDED, read
#      back through GetInvocation (request, debug log) and the emulator.
#   2. git.example.com/team/app: a host that is not *.googlesource.com,
#      mapped with --host-map: tock's leniency, the same properties, tags
#      and gitilesCommit with that host.
#   3. SIGKILL between a poll and its save (the fake answers +log slowly
#      so the kill lands mid-poll, then kills at random moments), restart
#      on the same DB: every pushed commit reaches the job exactly once
#      (GetTriggerFates: one final fate per commit, none DEDUPLICATED).
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
top=$tmp
trap 'for f in "$top"/*.pid; do [ -f "$f" ] && { kill -KILL "$(cat "$f")" 2>/dev/null || true; }; done; [ -n "${TOCK_E2E_KEEP:-}" ] && echo "kept $top" || rm -rf "$top"' EXIT
rounds=${TOCK_GITILES_KILL_ROUNDS:-6}

t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $1"; }

# die MESSAGE: fails and ends the test.
die() {
    fail "$1"
    tail -30 "$tmp/serve.log" >&2 || true
    exit 1
}

# --- the fake Gitiles -----------------------------------------------------------
python3 "$here/../fakes/fake-gitiles.py" --listen 127.0.0.1:0 >"$tmp/fg.out" 2>"$tmp/fg.log" &
echo $! >"$tmp/fg.pid"
wait_until 10 grep -q 'listening on' "$tmp/fg.out" || die "the fake Gitiles did not start"
fg=$(sed -n 's/^listening on //p' "$tmp/fg.out")

# fg_post WHAT JSON: an admin call to the fake; $out = its answer.
fg_post() { out=$(curl -sf -X POST --data-binary "$2" "$fg/admin/$1"); }
# push PROJECT [PATHS_JSON]: a new commit on refs/heads/main; prints its SHA.
push() {
    fg_post commit "{\"project\": \"$1\", \"ref\": \"refs/heads/main\", \"paths\": ${2:-[\"f\"]}}"
    printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha"])'
}

src0=$(push chromium/src)
app0=$(push team/app)

# --- emulator and config ----------------------------------------------------------
port=$(free_port)
printf '%s\n' '{"builders": [
  {"project": "chromium", "bucket": "ci", "builder": "linux", "run": "200ms"},
  {"project": "infra", "bucket": "ci", "builder": "app", "run": "200ms"}]}' >"$tmp/builders.json"
start_emulator "$tmp/builders.json" "http://127.0.0.1:$port/pubsub?kind=buildbucket"
echo "$emu_pid" >"$tmp/emu.pid"
mkdir -p "$tmp/cfg/chromium" "$tmp/cfg/infra"
open_realms "$tmp/cfg/chromium"
open_realms "$tmp/cfg/infra"
cat >"$tmp/cfg/chromium/luci-scheduler.cfg" <<'CFG'
trigger {
  id: "src-poller"
  schedule: "with 1s interval"
  triggers: "linux"
  gitiles { repo: "https://chromium.googlesource.com/chromium/src" refs: "refs/heads/main" }
}
job {
  id: "linux"
  schedule: "triggered"
  buildbucket { server: "cr-buildbucket.appspot.com" bucket: "ci" builder: "linux" }
}
CFG
cat >"$tmp/cfg/infra/luci-scheduler.cfg" <<'CFG'
trigger {
  id: "app-poller"
  schedule: "with 1s interval"
  triggers: "app"
  gitiles { repo: "https://git.example.com/team/app" refs: "refs/heads/main" }
}
job {
  id: "app"
  schedule: "triggered"
  buildbucket { server: "cr-buildbucket.appspot.com" bucket: "ci" builder: "app" }
}
CFG
serve_opts="--triage-throttle 100ms --launch-delay 50ms --buildbucket-poll 1s,2s
    --host-map cr-buildbucket.appspot.com=$emu --host-map chromium.googlesource.com=$fg
    --host-map git.example.com=$fg --hostname scheduler.example.com"
start_tock() {
    # shellcheck disable=SC2086
    serve_at "$port" "$tmp/cfg" "$tmp/tock.db" $serve_opts || die "tock serve did not start"
    echo "$server_pid" >"$tmp/serve.pid"
}
start_tock
stamp "fake Gitiles $fg, emulator $emu, tock $server"

# fates_json JOB: the job's trigger fates (GetTriggerFates) to $tmp/fates.json.
fates_json() { "$TOCK" why "$1" --server "$server" --limit 10000 --json >"$tmp/fates.json"; }
# check_case NAME PROJECT/JOB REPO HOST PROJECT SHA BUILDER: the newest
# invocation of the job came from SHA: SUCCEEDED, its request and build
# carry the commit.
check_case() {
    name=$1 job=$2 repo=$3 host=$4 project=$5 sha=$6 builder=$7
    checks=$((checks + 1))
    wait_until 30 newest_for "$job" "$sha" || die "$name: no final invocation for $sha"
    id=$_id
    rpc scheduler.Scheduler/GetInvocation "{\"jobRef\": {\"project\": \"${job%%/*}\", \"job\": \"${job#*/}\"}, \"invocationId\": \"$id\"}"
    printf '%s' "$out" >"$tmp/$name.inv.json"
    emu_rpc "$emu" SearchBuilds "{\"predicate\": {\"tags\": [{\"key\": \"scheduler_invocation_id\",
        \"value\": \"$id\"}]}, \"mask\": {\"fields\": \"builds.*.id,builds.*.status,builds.*.tags,builds.*.input\"}}"
    printf '%s' "$out" >"$tmp/$name.builds.json"
    checks=$((checks + 1))
    python3 - "$tmp/$name.inv.json" "$tmp/$name.builds.json" "$repo" "$host" "$project" "$sha" \
        "$job" "$builder" <<'PY' || fail "$name: $(cat "$tmp/$name.inv.json")"
import json, sys
inv = json.load(open(sys.argv[1]))
builds = json.load(open(sys.argv[2])).get("builds", [])
repo, host, project, sha, job, builder = sys.argv[3:9]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
want(inv.get("status") == "SUCCEEDED", "status %s" % inv.get("status"))
req = json.loads(inv["request"]) if isinstance(inv.get("request"), str) else inv.get("request", {})
# spec 3.10: properties repository (as written), branch (the ref), revision.
props = req.get("properties", {})
want(props.get("repository") == repo, "properties.repository %r" % props.get("repository"))
want(props.get("branch") == "refs/heads/main", "properties.branch %r" % props.get("branch"))
want(props.get("revision") == sha, "properties.revision %r" % props.get("revision"))
tags = req.get("tags", [])
want("buildset:commit/gitiles/%s/%s/+/%s" % (host, project, sha) in tags, "tags %r" % tags)
want("gitiles_ref:refs/heads/main" in tags, "tags %r" % tags)
# spec 4.2.2: the trigger's ID, URL and payload.
trig = req.get("incomingTriggers", [{}])[-1]
want(trig.get("id") == "%s/+/refs/heads/main@%s" % (repo, sha), "trigger id %r" % trig.get("id"))
want(trig.get("url") == "%s/+/%s" % (repo, sha), "trigger url %r" % trig.get("url"))
want(trig.get("title") == sha, "trigger title %r" % trig.get("title"))
log = inv.get("debugLog", "")
want("Triggered by %s/+/refs/heads/main@%s" % (repo, sha) in log or sha in log,
     "debug log lacks the commit")
# spec 4.1.3: one build, gitilesCommit of the newest trigger, the server's tags.
want(len(builds) == 1, "%d builds" % len(builds))
if builds:
    b = builds[0]
    want(b.get("status") == "SUCCESS", "build status %s" % b.get("status"))
    gc = b.get("input", {}).get("gitilesCommit", {})
    want(gc == {"host": host, "project": project, "id": sha, "ref": "refs/heads/main"},
         "gitilesCommit %r" % gc)
    bt = ["%s:%s" % (t["key"], t["value"]) for t in b.get("tags", [])]
    for t in ("buildset:commit/gitiles/%s/%s/+/%s" % (host, project, sha),
              "gitiles_ref:refs/heads/main", "scheduler_job_id:%s" % job, "builder:%s" % builder):
        want(t in bt, "build tag %s missing from %r" % (t, bt))
    # spec 4.1.3 step 4: $recipe_engine/scheduler, except for the chromium
    # and chrome projects (crbug.com/981945).
    props_in = b.get("input", {}).get("properties", {})
    sched = props_in.get("$recipe_engine/scheduler")
    if job.startswith("chromium/"):
        want(sched is None, "$recipe_engine/scheduler set for chromium: %r" % sched)
    else:
        sched = sched or {}
        want(sched.get("job") == job and sched.get("invocation") == inv["invocationRef"]["invocationId"],
             "$recipe_engine/scheduler %r" % sched)
        tr = (sched.get("triggers") or [{}])[-1]
        want(tr.get("id") == "%s/+/refs/heads/main@%s" % (repo, sha) and
             tr.get("gitiles") == {"repo": repo, "ref": "refs/heads/main", "revision": sha},
             "$recipe_engine/scheduler triggers %r" % sched.get("triggers"))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}


# --- 1. a commit on a googlesource.com name, through --host-map ---------------
check_case first chromium/linux https://chromium.googlesource.com/chromium/src \
    chromium.googlesource.com chromium/src "$src0" linux
stamp "the first poll's trigger (a new ref: its tip) built $src0"
src1=$(push chromium/src '["src/a.c", "docs/b.md"]')
check_case update chromium/linux https://chromium.googlesource.com/chromium/src \
    chromium.googlesource.com chromium/src "$src1" linux
poller_logs chromium/src-poller 200 >"$tmp/src-poller.log"
checks=$((checks + 1))
grep -q "Ref refs/heads/main is new: $src0" "$tmp/src-poller.log" ||
    fail "no 'Ref ... is new' in the poller's logs: $(head -c 3000 "$tmp/src-poller.log")"
checks=$((checks + 1))
grep -q "Ref refs/heads/main updated: $src0 => $src1" "$tmp/src-poller.log" ||
    fail "no 'Ref ... updated' in the poller's logs: $(head -c 3000 "$tmp/src-poller.log")"
stamp "a pushed commit built $src1"

# --- 2. a host that is not googlesource.com ------------------------------------
check_case app infra/app https://git.example.com/team/app git.example.com team/app "$app0" app
app1=$(push team/app)
check_case app-update infra/app https://git.example.com/team/app git.example.com team/app "$app1" app
stamp "git.example.com built $app1"

# --- 3. SIGKILL between a poll and its save ------------------------------------
: >"$tmp/pushed"
echo "$src0" >>"$tmp/pushed"
echo "$src1" >>"$tmp/pushed"
fg_post faults '{"log_delay_ms": 1500}'
r=0
while [ $r -lt "$rounds" ]; do
    r=$((r + 1))
    push chromium/src >>"$tmp/pushed"
    tip=$(push chromium/src)
    echo "$tip" >>"$tmp/pushed"
    if [ $((r % 2)) = 1 ]; then
        # Mid-poll: a poll that saw the new tip has asked for the commits up
        # to it and waits (1.5 s); its state cannot have been saved yet.  (A
        # poll may have run between the two pushes and asked "..<first>": that
        # one is not the interrupted one, so wait for the range to the tip.)
        wait_until 20 sh -c "curl -sf '$fg/admin/requests' | grep -q '/+log/[0-9a-f]*\.\.$tip'" ||
            die "round $r: the poller never asked for the commits up to $tip"
        sleep 0.3
    else
        # At a random moment in the next 2 s.
        sleep "$(awk -v n="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.3f", (n % 2000) / 1000 }')"
    fi
    kill -KILL "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    start_tock
done
fg_post faults '{"log_delay_ms": 0}'
stamp "$rounds SIGKILLs done, $(wc -l <"$tmp/pushed") commits pushed"

# Every pushed commit has one final fate at chromium/linux; none twice.
last=$(tail -1 "$tmp/pushed")
all_done() {
    fates_json chromium/linux || return 1
    python3 - "$tmp/fates.json" "$tmp/pushed" <<'PY'
import json, sys
fates = json.load(open(sys.argv[1])).get("fates", [])
pushed = open(sys.argv[2]).read().split()
got = {}
for f in fates:
    got.setdefault(f.get("triggerId", ""), []).append(f.get("fate"))
for sha in pushed:
    fs = got.get("https://chromium.googlesource.com/chromium/src/+/refs/heads/main@" + sha, [])
    if not fs or any(x == "PENDING" for x in fs):
        sys.exit(1)
PY
}
checks=$((checks + 1))
wait_until 90 all_done || fail "not every pushed commit reached chromium/linux: $(cat "$tmp/fates.json")"
checks=$((checks + 1))
wait_until 30 inv_final chromium/linux || fail "chromium/linux did not settle"
checks=$((checks + 1))
python3 - "$tmp/fates.json" "$tmp/pushed" <<'PY' || fail "fates after the SIGKILLs"
import json, sys
fates = json.load(open(sys.argv[1])).get("fates", [])
pushed = open(sys.argv[2]).read().split()
prefix = "https://chromium.googlesource.com/chromium/src/+/refs/heads/main@"
got = {}
for f in fates:
    got.setdefault(f.get("triggerId", ""), []).append(f.get("fate"))
bad = []
for sha in pushed:
    fs = got.get(prefix + sha, [])
    if len(fs) != 1:
        bad.append("%s: fates %r" % (sha, fs))
    elif fs[0] not in ("CONSUMED", "MERGED"):
        bad.append("%s: fate %s" % (sha, fs[0]))
extra = [t for t in got if t.startswith(prefix) and t[len(prefix):] not in pushed]
if extra:
    bad.append("triggers for commits never pushed: %r" % extra)
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print("%d commits, each with one final fate" % len(pushed))
PY
# The kills did land between a poll and its save: some "+log/<old>..<new>"
# range was asked again after a restart (the state had not moved).
checks=$((checks + 1))
curl -sf "$fg/admin/requests" >"$tmp/requests.json"
python3 - "$tmp/requests.json" <<'PY' || fail "no poll was interrupted by a SIGKILL"
import json, sys
ranges = [r.split("?")[0] for r in json.load(open(sys.argv[1])) if "/+log/" in r and ".." in r]
again = sorted({r for r in ranges if ranges.count(r) > 1})
print("%d log ranges asked, %d of them again after a SIGKILL" % (len(ranges), len(again)))
sys.exit(0 if again else 1)
PY
# The newest commit built last: the job's newest invocation carries it.
checks=$((checks + 1))
wait_until 30 newest_for chromium/linux "$last" || fail "the newest invocation is not for $last"
stamp "after the SIGKILLs: no commit lost, none twice"

stop_server
stop_emulator
finish
