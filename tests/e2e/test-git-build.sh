#!/bin/sh
# The git poller end to end (issue 8, sections 3 and 4): a real `tock serve`
# polls a local repository served over smart HTTP (Debian's git http-backend
# behind tests/fakes/git-http-server.py, which requires a bearer token)
# every second and triggers a buildbucket job on the Buildbucket emulator.
# Commits are made and pushed with the git command.  Expected values come
# from docs/tasks.md ("git"): one trigger for a new ref's tip, then the
# pushed commits; trigger IDs "<url>/+/<ref>@<sha>"; the request's
# properties repository (the URL), branch (the ref), revision (the SHA) and
# tag buildset:commit/git/<sha>; no gitiles tags for a non-Gitiles URL.
#
#   1. a new ref, then a pushed commit -> a build each with those
#      properties and tags -> invocation SUCCEEDED (GetInvocation, the
#      emulator's SearchBuilds); the poller's debug log says so.
#   2. --git-credentials: the right token reaches the server (it answers
#      401 otherwise); a second poller of a server that wants another token
#      fails with a clear message in its invocation's debug log; neither
#      token appears in tock's logs or in the API's answers.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
top=$tmp
trap 'for f in "$top"/*.pid; do [ -f "$f" ] && { kill -TERM "$(cat "$f")" 2>/dev/null || true; }; done; [ -n "${TOCK_E2E_KEEP:-}" ] && echo "kept $top" || rm -rf "$top"' EXIT

t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $1"; }
die() {
    fail "$1"
    tail -30 "$tmp/serve.log" >&2 || true
    exit 1
}
command -v git >/dev/null || { echo "SKIP: git is not installed"; exit 77; }

token=tok-e2e-Qm4v8Zr
other_token=tok-e2e-other-Xy3
when=1700000000

# --- the repository and its two servers -----------------------------------------
mkdir -p "$tmp/repos" "$tmp/data"
git init -q --bare -b main "$tmp/repos/app.git"
git init -q --bare -b main "$tmp/repos/locked.git"
git init -q -b main "$tmp/work"
git -C "$tmp/work" config user.name t
git -C "$tmp/work" config user.email t@example.com
# commit: a new commit in the work tree touching f; prints its SHA.
commit() {
    when=$((when + 60))
    echo "$when" >>"$tmp/work/f"
    git -C "$tmp/work" add f
    GIT_COMMITTER_DATE="$when +0000" GIT_AUTHOR_DATE="$when +0000" \
        git -C "$tmp/work" commit -q -m "c$when"
    git -C "$tmp/work" rev-parse HEAD
}
c0=$(commit)
git -C "$tmp/work" push -q "$tmp/repos/app.git" main
git -C "$tmp/work" push -q "$tmp/repos/locked.git" main

# start_git_http NAME TOKEN: the smart-HTTP server for $tmp/repos; URL to $tmp/NAME.url.
start_git_http() {
    python3 "$here/../fakes/git-http-server.py" --root "$tmp/repos" --bearer "$2" \
        --log "$tmp/$1.requests" >"$tmp/$1.out" 2>"$tmp/$1.log" &
    echo $! >"$tmp/$1.pid"
    wait_until 15 grep -q 'listening on' "$tmp/$1.out" || die "git-http-server $1 did not start"
    sed -n 's/^listening on //p' "$tmp/$1.out" >"$tmp/$1.url"
}
start_git_http gh "$token"
start_git_http locked "$other_token"
url="$(cat "$tmp/gh.url")/app.git"
locked_url="$(cat "$tmp/locked.url")/locked.git"
printf '# the git poller credentials\nbearer %s\n' "$token" >"$tmp/git-credentials"

# --- emulator, config, tock serve ---------------------------------------------------
port=$(free_port)
printf '%s\n' '{"builders": [{"project": "team", "bucket": "ci", "builder": "app", "run": "200ms"}]}' \
    >"$tmp/builders.json"
start_emulator "$tmp/builders.json" "http://127.0.0.1:$port/pubsub?kind=buildbucket"
echo "$emu_pid" >"$tmp/emu.pid"
mkdir -p "$tmp/cfg/team"
open_realms "$tmp/cfg/team"
cat >"$tmp/cfg/team/luci-scheduler.cfg" <<CFG
trigger {
  id: "app-poller"
  schedule: "with 1s interval"
  triggers: "app"
  git { url: "$url" refs: "refs/heads/main" }
}
trigger {
  id: "locked-poller"
  schedule: "with 1s interval"
  triggers: "app"
  git { url: "$locked_url" refs: "refs/heads/main" }
}
job {
  id: "app"
  schedule: "triggered"
  buildbucket { server: "cr-buildbucket.appspot.com" bucket: "ci" builder: "app" }
}
CFG
serve_at "$port" "$tmp/cfg" "$tmp/tock.db" --triage-throttle 100ms --launch-delay 50ms \
    --buildbucket-poll 1s,2s --host-map "cr-buildbucket.appspot.com=$emu" \
    --data-dir "$tmp/data" --git-credentials "$tmp/git-credentials" ||
    die "tock serve did not start"
echo "$server_pid" >"$tmp/serve.pid"
stamp "git server $url, emulator $emu, tock $server"

# check_build NAME SHA: team/app's newest invocation came from SHA and built it.
check_build() {
    name=$1 sha=$2
    checks=$((checks + 1))
    wait_until 30 newest_for team/app "$sha" || die "$name: no final invocation for $sha"
    id=$_id
    rpc scheduler.Scheduler/GetInvocation "{\"jobRef\": {\"project\": \"team\", \"job\": \"app\"}, \"invocationId\": \"$id\"}"
    printf '%s' "$out" >"$tmp/$name.inv.json"
    emu_rpc "$emu" SearchBuilds "{\"predicate\": {\"tags\": [{\"key\": \"scheduler_invocation_id\",
        \"value\": \"$id\"}]}, \"mask\": {\"fields\": \"builds.*.id,builds.*.status,builds.*.tags,builds.*.input\"}}"
    printf '%s' "$out" >"$tmp/$name.builds.json"
    checks=$((checks + 1))
    python3 - "$tmp/$name.inv.json" "$tmp/$name.builds.json" "$url" "$sha" <<'PY' || fail "$name: $(cat "$tmp/$name.inv.json")"
import json, sys
inv = json.load(open(sys.argv[1]))
builds = json.load(open(sys.argv[2])).get("builds", [])
url, sha = sys.argv[3:5]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
want(inv.get("status") == "SUCCEEDED", "status %s" % inv.get("status"))
req = json.loads(inv["request"]) if isinstance(inv.get("request"), str) else inv.get("request", {})
props = req.get("properties", {})
want(props.get("repository") == url, "properties.repository %r" % props.get("repository"))
want(props.get("branch") == "refs/heads/main", "properties.branch %r" % props.get("branch"))
want(props.get("revision") == sha, "properties.revision %r" % props.get("revision"))
tags = req.get("tags", [])
want("buildset:commit/git/%s" % sha in tags, "tags %r" % tags)
# docs/tasks.md: a git URL with a host is mapped as a Gitiles URL would be
# (host[:port] / path without ".git"), so the request has LUCI's gitiles tags.
ghost = url.split("/")[2]
gproject = url.split("/", 3)[3][:-len(".git")]
want("buildset:commit/gitiles/%s/%s/+/%s" % (ghost, gproject, sha) in tags, "gitiles buildset in %r" % tags)
want("gitiles_ref:refs/heads/main" in tags, "gitiles_ref in %r" % tags)
trig = req.get("incomingTriggers", [{}])[-1]
want(trig.get("id") == "%s/+/refs/heads/main@%s" % (url, sha), "trigger id %r" % trig.get("id"))
want(trig.get("title") == sha, "trigger title %r" % trig.get("title"))
want(len(builds) == 1, "%d builds" % len(builds))
if builds:
    b = builds[0]
    want(b.get("status") == "SUCCESS", "build status %s" % b.get("status"))
    # issue 8: "a buildbucket job triggered by a git trigger gets the commit
    # as gitilesCommit {host, project, id, ref} where the URL has a host"
    # (project: the path without ".git", as for gitiles URLs).
    host = url.split("/")[2]
    project = url.split("/", 3)[3][:-len(".git")]
    gc = b.get("input", {}).get("gitilesCommit", {})
    want(gc == {"host": host, "project": project, "id": sha, "ref": "refs/heads/main"},
         "gitilesCommit %r" % gc)
    bt = ["%s:%s" % (t["key"], t["value"]) for t in b.get("tags", [])]
    want("scheduler_job_id:team/app" in bt, "build tags %r" % bt)
    sched = b.get("input", {}).get("properties", {}).get("$recipe_engine/scheduler", {})
    tr = (sched.get("triggers") or [{}])[-1]
    want(tr.get("gitiles", {}).get("revision") == sha and tr.get("gitiles", {}).get("git") is True,
         "$recipe_engine/scheduler triggers %r" % sched.get("triggers"))
    # The build's own properties lack repository/branch/revision: the v2
    # request pops them into gitilesCommit as LUCI does (docs/tasks.md).
    bp = b.get("input", {}).get("properties", {})
    want(not any(k in bp for k in ("repository", "branch", "revision")),
         "reserved properties sent to Buildbucket: %r" % sorted(bp))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}


# --- 1. a new ref, then a pushed commit ----------------------------------------------
check_build first "$c0"
stamp "the first poll's trigger (a new ref: its tip) built $c0"
c1=$(commit)
git -C "$tmp/work" push -q "$tmp/repos/app.git" main
check_build update "$c1"
poller_logs team/app-poller 50 >"$tmp/app-poller.log"
checks=$((checks + 1))
grep -q "Ref refs/heads/main is new: $c0" "$tmp/app-poller.log" ||
    fail "no 'Ref ... is new' in the poller's logs: $(head -c 3000 "$tmp/app-poller.log")"
checks=$((checks + 1))
grep -q "Ref refs/heads/main updated: $c0 => $c1" "$tmp/app-poller.log" ||
    fail "no 'Ref ... updated' in the poller's logs: $(head -c 3000 "$tmp/app-poller.log")"
checks=$((checks + 1))
grep -q ' 200 auth=ok' "$tmp/gh.requests" && ! grep -q ' auth=bad' "$tmp/gh.requests" ||
    fail "the token did not reach the server: $(head -20 "$tmp/gh.requests")"
stamp "a pushed commit built $c1"

# --- 2. a refused credential, and no secret anywhere ---------------------------------
locked_failed() {
    [ "$(inv_status team/locked-poller)" = FAILED ] || return 1
    poller_logs team/locked-poller 50 >"$tmp/locked-poller.log"
    grep -q "refused the bearer credential" "$tmp/locked-poller.log"
}
checks=$((checks + 1))
wait_until 20 locked_failed ||
    fail "no clear failure for the refused token: $(head -c 3000 "$tmp/locked-poller.log" 2>/dev/null)"
checks=$((checks + 1))
grep -q ' 401 auth=bad' "$tmp/locked.requests" ||
    fail "the locked server saw no wrong token: $(head -5 "$tmp/locked.requests")"
# Everything tock said: its logs, the invocations of both pollers and of the
# job through the API.
rpc scheduler.Scheduler/GetInvocations '{"jobRef": {"project": "team", "job": "locked-poller"}, "pageSize": 50}'
printf '%s' "$out" >"$tmp/api-locked.json"
rpc scheduler.Scheduler/GetInvocations '{"jobRef": {"project": "team", "job": "app-poller"}, "pageSize": 50}'
printf '%s' "$out" >"$tmp/api-app.json"
for f in serve.log serve.out app-poller.log locked-poller.log api-locked.json api-app.json \
    first.inv.json update.inv.json first.builds.json update.builds.json; do
    checks=$((checks + 1))
    if grep -q -e "$token" -e "$other_token" "$tmp/$f"; then
        fail "a token appears in $f"
    fi
done
stamp "the refused token failed clearly; no token in tock's output"

stop_server
stop_emulator
finish
