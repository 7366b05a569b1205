#!/bin/sh
# End to end: `tock buildbucket-emulator` on 127.0.0.1:0, driven with curl as
# tock's buildbucket manager would drive it (wire-formats.md §1, §2, §4), with
# a python push receiver.  Expected values come from wire-formats.md.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"

pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
: >"$tmp/out"
: >"$tmp/err"

# json EXPR: evaluates the python expression EXPR over d = the JSON on stdin
# (a leading ")]}'" line is skipped).
json() {
    python3 -c '
import json, sys
t = sys.stdin.read()
if t.startswith(")]}'"'"'\n"): t = t[5:]
d = json.loads(t)
import base64, zlib
print('"$1"')'
}
check() { # check DESC CONDITION-COMMAND...
    desc=$1
    shift
    checks=$((checks + 1))
    "$@" || fail "$desc"
}
eq() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'" >&2; return 1; }; }

# start_emu NAME [options...]: starts an emulator; sets $emu (base URL) and $emu_pid.
start_emu() {
    name=$1
    shift
    "$TOCK" buildbucket-emulator --builders "$tmp/builders.json" --listen 127.0.0.1:0 "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.log" &
    emu_pid=$!
    pids="$pids $emu_pid"
    tries=0
    while ! grep -q 'listening on' "$tmp/$name.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 200 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
            echo "emulator $name did not start:" >&2
            cat "$tmp/$name.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    emu=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/$name.out")
}
# stop_emu PID: SIGTERM, and it must be gone within 10 s with status 0.
stop_emu() {
    kill -TERM "$1"
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    checks=$((checks + 1))
    kill -0 "$1" 2>/dev/null && { fail "emulator $1 still running 10s after SIGTERM"; kill -9 "$1"; }
    set +e
    wait "$1"
    src=$?
    set -e
    [ "$src" = 0 ] || fail "emulator $1 exited with $src after SIGTERM"
}

# rpc METHOD JSON: pRPC JSON call; $body (whole body), $code (X-Prpc-Grpc-Code), $http.
rpc() {
    http=$(curl -s --max-time 10 -o "$tmp/rpc.b" -D "$tmp/rpc.h" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data-binary "$2" "$emu/prpc/buildbucket.v2.Builds/$1" || true)
    code=$(tr -d '\r' <"$tmp/rpc.h" | sed -n 's/^[Xx]-[Pp]rpc-[Gg]rpc-[Cc]ode: *//p')
    body=$(cat "$tmp/rpc.b")
}
# rest METHOD PATH [JSON]: a v1 REST call; $body, $http.
rest() {
    http=$(curl -s --max-time 10 -o "$tmp/rest.b" -w '%{http_code}' -X "$1" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
        "$emu/_ah/api/buildbucket/v1/builds$2?alt=json&prettyPrint=false" || true)
    body=$(cat "$tmp/rest.b")
}
# wait_status ID STATUS: GetBuild until the status is STATUS (at most 15 s).
wait_status() {
    n=0
    while [ $n -lt 150 ]; do
        rpc GetBuild "{\"id\":\"$1\"}"
        [ "$(printf '%s' "$body" | json 'd.get("status")')" = "$2" ] && return 0
        n=$((n + 1))
        sleep 0.1
    done
    return 1
}

cat >"$tmp/builders.json" <<'JSON'
{"builders": [
  {"project": "demo", "bucket": "ci", "builder": "linux", "queue": "300ms", "run": "300ms"},
  {"project": "demo", "bucket": "ci", "builder": "long", "queue": "100ms", "run": "1h"},
  {"project": "demo", "bucket": "ci", "builder": "cmd-ok", "command": "test -n \"$BB_BUILD_ID\""},
  {"project": "demo", "bucket": "ci", "builder": "cmd-fail", "command": "exit 3"},
  {"project": "demo", "bucket": "ci", "builder": "flaky", "schedule_errors": ["UNAVAILABLE"]},
  {"project": "demo", "bucket": "ci", "builder": "denied", "schedule_fail": "PERMISSION_DENIED"},
  {"project": "tint", "bucket": "ci", "builder": "mac-rel", "queue": "200ms", "run": "300ms"},
  {"project": "tint", "bucket": "ci", "builder": "v1-long", "run": "1h"}
]}
JSON

python3 "$here/push-receiver.py" "$tmp/recv.port" "$tmp/pushes" &
pids="$pids $!"
n=0
while [ ! -s "$tmp/recv.port" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
recv="http://127.0.0.1:$(cat "$tmp/recv.port")"
start_emu main --push "$recv/pubsub?kind=buildbucket" --seed 7
main_pid=$emu_pid
main=$emu

# --- server/info (§2.13) -------------------------------------------------------
body=$(curl -s --max-time 5 "$emu/auth/api/v1/server/info")
check "server/info service account" eq "$(printf '%s' "$body" | json 'd["service_account_name"]')" \
    "cr-buildbucket@appspot.gserviceaccount.com"

# --- ScheduleBuild, requestId dedup (§2.4) -------------------------------------
req='{"requestId":"inv-1","builder":{"project":"demo","bucket":"ci","builder":"linux"},
 "properties":{"a":"b"},
 "gitilesCommit":{"host":"h.googlesource.com","project":"p/q","id":"59e0a8f4a6f6185007a20e61c81962b6198f62d4","ref":"refs/heads/main"},
 "tags":[{"key":"scheduler_job_id","value":"demo/linux"}],
 "notify":{"pubsubTopic":"projects/tock/topics/scheduler.buildbucket","userData":"dG9rZW4tZm9yLWludi0x"}}'
rpc ScheduleBuild "$req"
check "ScheduleBuild: code 0" eq "$code" 0
check "ScheduleBuild: body starts with )]}'" eq "$(head -c 5 "$tmp/rpc.b" | od -An -c | tr -d ' ')" ")]}'\\n"
check "ScheduleBuild: JSON content type" grep -qi '^Content-Type: application/json' "$tmp/rpc.h"
check "ScheduleBuild: nosniff" grep -qi '^X-Content-Type-Options: nosniff' "$tmp/rpc.h"
id1=$(printf '%s' "$body" | json 'd["id"]')
check "ScheduleBuild: SCHEDULED" eq "$(printf '%s' "$body" | json 'd["status"]')" SCHEDULED
check "ScheduleBuild: id is an int64 string above 2^53" \
    eq "$(printf '%s' "$body" | json 'isinstance(d["id"], str) and int(d["id"]) > 2**53 and int(d["id"]) < 2**63')" True
check "ScheduleBuild: createdBy project:demo" eq "$(printf '%s' "$body" | json 'd["createdBy"]')" project:demo
check "ScheduleBuild: default mask has no tags or properties" \
    eq "$(printf '%s' "$body" | json '"tags" in d or "properties" in d.get("input", {})')" False
rpc ScheduleBuild "$req"
check "ScheduleBuild again: same build" eq "$(printf '%s' "$body" | json 'd["id"]')" "$id1"
rpc SearchBuilds '{"predicate":{"builder":{"project":"demo","bucket":"ci","builder":"linux"}}}'
check "SearchBuilds: one build for the deduplicated requestId" \
    eq "$(printf '%s' "$body" | json 'len(d["builds"])')" 1

# --- GetBuild: lifecycle, masks, NOT_FOUND (§2.5) ----------------------------------
check "build reaches SUCCESS" wait_status "$id1" SUCCESS
check "final build has createTime <= startTime <= endTime" eq "$(printf '%s' "$body" | \
    json 'd["createTime"] <= d["startTime"] <= d["endTime"] and d["updateTime"] == d["endTime"]')" True
rpc GetBuild "{\"id\":\"$id1\",\"mask\":{\"fields\":\"id,tags,input.properties\"}}"
check "GetBuild mask: properties" eq "$(printf '%s' "$body" | json 'd["input"]["properties"]')" "{'a': 'b'}"
check "GetBuild mask: server tags added and sorted (§2.4)" eq "$(printf '%s' "$body" | \
    json '[t["key"] + ":" + t["value"] for t in d["tags"]]')" \
    "['builder:linux', 'buildset:commit/gitiles/h.googlesource.com/p/q/+/59e0a8f4a6f6185007a20e61c81962b6198f62d4', 'gitiles_ref:refs/heads/main', 'scheduler_job_id:demo/linux']"
check "GetBuild mask: only the fields asked" eq "$(printf '%s' "$body" | json 'sorted(d)')" "['id', 'input', 'tags']"
rpc GetBuild '{"id":"8749142216233001793"}'
check "GetBuild unknown: NOT_FOUND" eq "$code/$http" 5/404
check "GetBuild unknown: message" eq "$body" \
    'requested resource not found or "anonymous:anonymous" does not have permission to view it'

# --- validation (§2.4) ---------------------------------------------------------------
rpc ScheduleBuild '{"requestId":"x","builder":{"project":"demo","bucket":"ci","builder":"nope"}}'
check "unknown builder: NOT_FOUND" eq "$code" 5
rpc ScheduleBuild '{"builder":{"project":"demo","bucket":"ci","builder":"linux"},"tags":[{"key":"buildset","value":"commit/gitiles/h/p/+/zzz"}]}'
check "bad buildset tag: INVALID_ARGUMENT" eq "$code/$http" 3/400
rpc ScheduleBuild '{"builder":{"project":"demo","bucket":"ci","builder":"linux"},"properties":{"branch":"refs/heads/main"}}'
check "reserved property branch: INVALID_ARGUMENT" eq "$code" 3
rpc ScheduleBuild '{"requestId":"a/b","builder":{"project":"demo","bucket":"ci","builder":"linux"}}'
check "requestId with /: INVALID_ARGUMENT" eq "$code" 3
rpc ScheduleBuild '{"requestId":"r","builder":{"project":"demo","bucket":"ci","builder":"denied"}}'
check "schedule_fail: PERMISSION_DENIED" eq "$code/$http" 7/403
rpc NoSuchMethod '{}'
check "unknown method: UNIMPLEMENTED" eq "$code/$http" 12/501

# --- schedule_errors: the build is made, the answer lost ------------------------------
freq='{"requestId":"inv-flaky","builder":{"project":"demo","bucket":"ci","builder":"flaky"}}'
rpc ScheduleBuild "$freq"
check "schedule_errors: first call UNAVAILABLE" eq "$code/$http" 14/503
rpc ScheduleBuild "$freq"
check "schedule_errors: retry succeeds" eq "$code" 0
rpc SearchBuilds '{"predicate":{"builder":{"project":"demo","bucket":"ci","builder":"flaky"}}}'
check "schedule_errors: still one build" eq "$(printf '%s' "$body" | json 'len(d["builds"])')" 1

# --- CancelBuild (§2.6) ------------------------------------------------------------------
rpc ScheduleBuild '{"requestId":"inv-long","builder":{"project":"demo","bucket":"ci","builder":"long"}}'
idl=$(printf '%s' "$body" | json 'd["id"]')
rpc CancelBuild "{\"id\":\"$idl\"}"
check "CancelBuild without summaryMarkdown: INVALID_ARGUMENT" eq "$code" 3
rpc CancelBuild "{\"id\":\"$idl\",\"summaryMarkdown\":\"Canceled via LUCI Scheduler\"}"
check "CancelBuild: code 0, build not yet final" eq "$code/$(printf '%s' "$body" | \
    json 'd["status"] in ("SCHEDULED", "STARTED")')" 0/True
check "build becomes CANCELED" wait_status "$idl" CANCELED
rpc GetBuild "{\"id\":\"$idl\",\"mask\":{\"allFields\":true}}"
check "CANCELED build keeps the markdown" eq "$(printf '%s' "$body" | \
    json '(d["cancellationMarkdown"], d["summaryMarkdown"], "cancelTime" in d, "endTime" in d)')" \
    "('Canceled via LUCI Scheduler', 'Canceled via LUCI Scheduler', True, True)"

# --- commands ---------------------------------------------------------------------------
rpc ScheduleBuild '{"requestId":"c1","builder":{"project":"demo","bucket":"ci","builder":"cmd-ok"}}'
idc1=$(printf '%s' "$body" | json 'd["id"]')
rpc ScheduleBuild '{"requestId":"c2","builder":{"project":"demo","bucket":"ci","builder":"cmd-fail"}}'
idc2=$(printf '%s' "$body" | json 'd["id"]')
check "command exit 0: SUCCESS" wait_status "$idc1" SUCCESS
check "command exit 3: FAILURE" wait_status "$idc2" FAILURE

# --- SearchBuilds predicate and paging (§2.7) -------------------------------------------
rpc SearchBuilds '{"predicate":{"builder":{"project":"demo","bucket":"ci"},"status":"ENDED_MASK"},"pageSize":2,"mask":{"fields":"builds.*.id,builds.*.status"}}'
check "SearchBuilds page 1: 2 builds and a token" eq "$(printf '%s' "$body" | \
    json '(len(d["builds"]), "nextPageToken" in d, sorted(d["builds"][0]))')" "(2, True, ['id', 'status'])"
ids1=$(printf '%s' "$body" | json '[b["id"] for b in d["builds"]]')
tok=$(printf '%s' "$body" | json 'd["nextPageToken"]')
check "SearchBuilds: ascending ids (newest first)" eq "$(printf '%s' "$body" | \
    json 'int(d["builds"][0]["id"]) < int(d["builds"][1]["id"])')" True
rpc SearchBuilds "{\"predicate\":{\"builder\":{\"project\":\"demo\",\"bucket\":\"ci\"},\"status\":\"ENDED_MASK\"},\"pageSize\":2,\"pageToken\":\"$tok\"}"
check "SearchBuilds page 2: other builds" eq "$(printf '%s' "$body" | \
    json 'len(d["builds"]) >= 1 and not set(b["id"] for b in d["builds"]) & set('"$ids1"')')" True
rpc SearchBuilds '{"predicate":{"tags":[{"key":"scheduler_job_id","value":"demo/linux"}]}}'
check "SearchBuilds by tag" eq "$(printf '%s' "$body" | json '[b["id"] for b in d["builds"]]')" "['$id1']"

# --- Batch (§2.8) ---------------------------------------------------------------------
rpc Batch "{\"requests\":[{\"getBuild\":{\"id\":\"$id1\"}},{\"getBuild\":{\"id\":\"8749142216233001793\"}},{\"getBuildStatus\":{\"id\":\"$idc2\"}}]}"
check "Batch: per-item answers" eq "$code/$(printf '%s' "$body" | json \
    '(d["responses"][0]["getBuild"]["status"], d["responses"][1]["error"]["code"], d["responses"][2]["getBuildStatus"]["status"])')" \
    "0/('SUCCESS', 5, 'FAILURE')"
rpc Batch '{"requests":[{"bogus":{}}]}'
check "Batch: unknown item type INVALID_ARGUMENT" eq "$code" 3

# --- legacy v1 REST (§2.14) ---------------------------------------------------------
put='{"bucket":"luci.tint.ci","client_operation_id":"9020353019805130176",
 "parameters_json":"{\"builder_name\":\"mac-rel\",\"properties\":{\"branch\":\"refs/heads/main\"}}",
 "tags":["builder:mac-rel","scheduler_job_id:tint/mac-rel","user_agent:luci-scheduler"],
 "pubsub_callback":{"topic":"projects/tock/topics/scheduler.buildbucket","auth_token":"v1-secret-token"}}'
rest PUT "" "$put"
check "v1 PUT: SCHEDULED" eq "$http/$(printf '%s' "$body" | json 'd["build"]["status"]')" 200/SCHEDULED
idv1=$(printf '%s' "$body" | json 'd["build"]["id"]')
check "v1 PUT: microsecond timestamps as strings" eq "$(printf '%s' "$body" | \
    json 'd["build"]["created_ts"].isdigit() and len(d["build"]["created_ts"]) == 16')" True
check "v1 PUT: bucket and project" eq "$(printf '%s' "$body" | json '(d["build"]["bucket"], d["build"]["project"])')" \
    "('luci.tint.ci', 'tint')"
rest PUT "" "$put"
check "v1 PUT again: same build (client_operation_id)" eq "$(printf '%s' "$body" | json 'd["build"]["id"]')" "$idv1"
n=0
while [ $n -lt 100 ]; do
    rest GET "/$idv1"
    [ "$(printf '%s' "$body" | json 'd["build"]["status"]')" = COMPLETED ] && break
    n=$((n + 1))
    sleep 0.1
done
check "v1 GET: COMPLETED SUCCESS" eq "$(printf '%s' "$body" | json '(d["build"]["status"], d["build"].get("result"))')" \
    "('COMPLETED', 'SUCCESS')"
rest GET "/8749142216233001793"
check "v1 GET unknown: BUILD_NOT_FOUND" eq "$http/$(printf '%s' "$body" | json 'd["error"]["reason"]')" 200/BUILD_NOT_FOUND
rest PUT "" '{"bucket":"luci.tint.ci","parameters_json":"{\"builder_name\":\"v1-long\"}"}'
idv1l=$(printf '%s' "$body" | json 'd["build"]["id"]')
rest POST "/$idv1l/cancel" '{}'
check "v1 cancel: COMPLETED CANCELED CANCELED_EXPLICITLY" eq "$(printf '%s' "$body" | \
    json '(d["build"]["status"], d["build"]["result"], d["build"]["cancelation_reason"])')" \
    "('COMPLETED', 'CANCELED', 'CANCELED_EXPLICITLY')"

# --- pushes (§4.1, §2.12) ---------------------------------------------------------------
n=0
while [ $n -lt 100 ] && [ "$(grep -c "$idv1" "$tmp/pushes" 2>/dev/null || true)" -lt 3 ]; do
    sleep 0.1; n=$((n + 1))
done
v2pushes=$(python3 - "$tmp/pushes" "$id1" <<'PY'
import base64, json, sys, zlib
out = []
for line in open(sys.argv[1]):
    p = json.loads(line)
    m = p["body"]["message"]
    if m.get("attributes", {}).get("version") != "v2":
        continue
    d = json.loads(base64.b64decode(m["data"]))
    b = d["buildPubsub"]["build"]
    if b["id"] != sys.argv[2]:
        continue
    large = zlib.decompress(base64.b64decode(d["buildPubsub"]["buildLargeFields"]))
    out.append("%s %s %s %s %s %s" % (b["status"], m["attributes"]["is_completed"],
        base64.b64decode(d["userData"]).decode(), m["messageId"] == m["message_id"],
        b"\x0a\x01a\x12\x03\x1a\x01b" in large, p["body"]["subscription"]))
print("|".join(out))
PY
)
check "v2 pushes: SCHEDULED, STARTED, SUCCESS with userData and large fields" eq "$v2pushes" \
"SCHEDULED false token-for-inv-1 True True projects/tock/subscriptions/scheduler.buildbucket|\
STARTED false token-for-inv-1 True True projects/tock/subscriptions/scheduler.buildbucket|\
SUCCESS true token-for-inv-1 True True projects/tock/subscriptions/scheduler.buildbucket"
v1pushes=$(python3 - "$tmp/pushes" "$idv1" <<'PY'
import base64, json, sys
out = []
for line in open(sys.argv[1]):
    m = json.loads(line)["body"]["message"]
    a = m.get("attributes", {})
    if a.get("build_id") != sys.argv[2]:
        continue
    d = json.loads(base64.b64decode(m["data"]))
    out.append("%s %s %s %s" % (d["build"]["status"], d["build"].get("result", "-"), a["auth_token"], d["hostname"]))
print("|".join(out))
PY
)
check "v1 pushes: with auth_token attribute" eq "$v1pushes" \
"SCHEDULED - v1-secret-token cr-buildbucket.appspot.com|STARTED - v1-secret-token cr-buildbucket.appspot.com|\
COMPLETED SUCCESS v1-secret-token cr-buildbucket.appspot.com"
checks=$((checks + 1))
grep -q "$idc1" "$tmp/pushes" && fail "a build without notify was pushed"
check "event log shows the lifecycle" grep -q "build $id1 demo/ci/linux: STARTED" "$tmp/main.log"
stop_emu "$main_pid"

# --- push drop 1.0, and retries of a nacked push --------------------------------------
start_emu drop --push "$recv/drop" --push-drop 1.0
emu_drop=$emu_pid
rpc ScheduleBuild '{"requestId":"d1","builder":{"project":"demo","bucket":"ci","builder":"linux"},"notify":{"pubsubTopic":"projects/tock/topics/t"}}'
idd=$(printf '%s' "$body" | json 'd["id"]')
check "drop: build finishes" wait_status "$idd" SUCCESS
checks=$((checks + 1))
grep -q '"/drop"' "$tmp/pushes" && fail "--push-drop 1.0 still pushed"
stop_emu "$emu_drop"
start_emu nack --push "$recv/nack?status=500" --push-attempts 3 --push-backoff 100ms
emu_nack=$emu_pid
rpc ScheduleBuild '{"requestId":"n1","builder":{"project":"demo","bucket":"ci","builder":"long"},"notify":{"pubsubTopic":"projects/tock/topics/t"}}'
n=0
while [ $n -lt 100 ] && [ "$(grep -c '"/nack"' "$tmp/pushes" || true)" -lt 6 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.5
check "nacked pushes: 3 attempts each for SCHEDULED and STARTED" eq "$(grep -c '"/nack"' "$tmp/pushes")" 6
stop_emu "$emu_nack"

# --- hostile modes ---------------------------------------------------------------------
# hcurl: GetBuild with a bound; $hrc (curl status), $http, headers and body in files.
hcurl() {
    : >"$tmp/h.b"
    : >"$tmp/h.h"
    set +e
    http=$(curl -s --max-time "$1" -o "$tmp/h.b" -D "$tmp/h.h" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data-binary '{"id":"8749142216233001793"}' "$emu/prpc/buildbucket.v2.Builds/GetBuild")
    hrc=$?
    set -e
}
start_emu html --hostile html
hcurl 5
check "html: 502 without a pRPC code" eq "$http/$(grep -ci '^x-prpc-grpc-code' "$tmp/h.h" || true)" 502/0
check "html: an HTML page" grep -q '<html>' "$tmp/h.b"
body=$(curl -s --max-time 5 "$emu/auth/api/v1/server/info")
check "html: server/info still answers" eq "$(printf '%s' "$body" | json 'd["app_id"]')" cr-buildbucket
stop_emu "$emu_pid"
start_emu trunc --hostile truncated
hcurl 5
check "truncated: code 0" grep -qi '^x-prpc-grpc-code: 0' "$tmp/h.h"
checks=$((checks + 1))
json 'd' <"$tmp/h.b" >/dev/null 2>&1 && fail "truncated: the body parses as JSON"
stop_emu "$emu_pid"
start_emu wrong --hostile wrong-types --hostile-rpcs GetBuild
rpc ScheduleBuild '{"requestId":"w","builder":{"project":"demo","bucket":"ci","builder":"long"}}'
check "wrong-types: ScheduleBuild not listed, answered normally" eq "$code" 0
idw=$(printf '%s' "$body" | json 'd["id"]')
rpc GetBuild "{\"id\":\"$idw\"}"
check "wrong-types: id an object, status a number" eq "$code/$(printf '%s' "$body" | \
    json '(type(d["id"]).__name__, type(d["status"]).__name__)')" "0/('dict', 'int')"
stop_emu "$emu_pid"
start_emu huge --hostile huge
hcurl 30
check "huge: a 50 MiB body" eq "$hrc/$(wc -c <"$tmp/h.b" | tr -d ' ')" "0/52428800"
stop_emu "$emu_pid"
start_emu drip --hostile drip
hcurl 2
check "drip: curl times out with a few bytes" eq "$hrc/$(test "$(wc -c <"$tmp/h.b")" -lt 10 && echo few)" 28/few
stop_emu "$emu_pid"
start_emu hang --hostile hang
hcurl 1
check "hang: no answer at all" eq "$hrc/$http" 28/000
curl -s --max-time 30 -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' \
    "$emu/prpc/buildbucket.v2.Builds/GetBuild" &
hung=$!
sleep 0.3
stop_emu "$emu_pid" # prompt even with a connection hanging
kill "$hung" 2>/dev/null || true

finish
