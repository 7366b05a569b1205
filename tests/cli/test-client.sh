#!/bin/sh
# The client commands (jobs, invocations, invocation, trigger, pause, resume,
# abort, why) against a fake pRPC server (fake-prpc.py) serving canned
# answers.  Expected tables were laid out by hand: each column is as wide as
# its widest cell plus two spaces, the last column unpadded; times are the
# canned microseconds in UTC, cut to the second (1442270520000000 µs is
# 2015-09-14T22:42:00Z, spec 3.4).
set -eu
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

command -v python3 >/dev/null 2>&1 || { echo "python3 not found, skipping"; exit 77; }

python3 "$here/fake-prpc.py" "$tmp/requests" >"$tmp/port" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -s "$tmp/port" ] || { echo "the fake server did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$tmp/port")"

# last FIELD: a field of the last request the fake server saw; "body" is
# re-printed with sorted keys so it can be compared as text.
last() {
    python3 - "$tmp/requests" "$1" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    r = json.loads(f.read().splitlines()[-1])
v = r[sys.argv[2]]
if sys.argv[2] == "body":
    v = json.dumps(json.loads(v), sort_keys=True, separators=(",", ":"))
print(v)
PY
}
expect_last() {
    checks=$((checks + 1))
    got=$(last "$1")
    [ "$got" = "$2" ] || fail "$3: request $1 is '$got', want '$2'"
}

# --- help -------------------------------------------------------------------
for cmd in jobs invocations invocation trigger pause resume abort why; do
    run "$TOCK" $cmd --help
    expect_rc 0 "tock $cmd --help"
    expect_out_has "example" "tock $cmd --help has an example"
    expect_out_has "--server URL" "tock $cmd --help lists the common options"
done

# --- jobs ---------------------------------------------------------------------
run "$TOCK" jobs --server "$url"
expect_rc 0 "jobs"
expect_out "$(printf '%-20s%-11s%-19s%s\n' \
    JOB STATE SCHEDULE PAUSED \
    other/beta RUNNING '0 */3 * * *' no \
    'proj/alpha (linux)' PAUSED triggered yes \
    proj/zeta SCHEDULED 'with 10s interval' no)" "jobs: sorted, aligned table"
expect_last path /prpc/scheduler.Scheduler/GetJobs "jobs: method"
expect_last body '{}' "jobs: all projects"
expect_last contentType application/json "jobs: Content-Type"
expect_last accept application/json "jobs: Accept"
expect_last authorization None "jobs: no token, no Authorization"

TOCK_SERVER="$url" run "$TOCK" jobs proj
expect_rc 0 "jobs PROJECT"
expect_out "$(printf '%-20s%-11s%-19s%s\n' \
    JOB STATE SCHEDULE PAUSED \
    'proj/alpha (linux)' PAUSED triggered yes \
    proj/zeta SCHEDULED 'with 10s interval' no)" "jobs PROJECT: one project"
expect_last body '{"project":"proj"}' "jobs PROJECT: request"

run "$TOCK" jobs nothing --server "$url"
expect_rc 0 "jobs of an unknown project"
expect_out "JOB  STATE  SCHEDULE  PAUSED" "no jobs: the header only"

run "$TOCK" jobs --server "$url" --json
expect_rc 0 "jobs --json"
checks=$((checks + 1))
printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [j["jobRef"]["job"] for j in r["jobs"]] == ["zeta", "alpha (linux)", "beta"]
assert r["jobs"][1]["paused"] is True' || fail "jobs --json: the raw reply, in server order"

run "$TOCK" jobs paged --server "$url"
expect_rc 0 "jobs over pages"
expect_out "$(printf '%s\n' 'JOB       STATE    SCHEDULE   PAUSED' \
    'paged/j0  WAITING  triggered  no' 'paged/j1  WAITING  triggered  no' \
    'paged/j2  WAITING  triggered  no' 'paged/j3  WAITING  triggered  no' \
    'paged/j4  WAITING  triggered  no')" "jobs: every page, nextCursor followed"
expect_last body '{"cursor":"p4","project":"paged"}' "jobs: the last page asked with its cursor"
run "$TOCK" jobs paged --server "$url" --json
expect_rc 0 "jobs --json over pages"
checks=$((checks + 1))
printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [j["jobRef"]["job"] for j in r["jobs"]] == ["j0", "j1", "j2", "j3", "j4"]
assert "nextCursor" not in r' || fail "jobs --json: every page in one reply"

# The JSON is written as the pages come: a failure on page two leaves page one out.
run "$TOCK" jobs broken --server "$url" --json
expect_rc 1 "jobs --json: a page that fails"
expect_out_has '"job":"j1"' "jobs --json: the first page printed before the second was asked for"
expect_err_has "the second page failed" "jobs --json: the failure said"
run "$TOCK" jobs broken --server "$url"
expect_rc 1 "jobs: a page that fails"
expect_out "" "jobs: no table when a page fails"

# --- authorization --------------------------------------------------------------
printf '  s3cret-token \n' >"$tmp/token"
run "$TOCK" jobs --server "$url" --token-file "$tmp/token"
expect_rc 0 "jobs with a token"
expect_last authorization "Bearer s3cret-token" "token file: trimmed bearer token"

TOCK_TOKEN_FILE="$tmp/token" run "$TOCK" jobs --server "$url"
expect_last authorization "Bearer s3cret-token" "token file from TOCK_TOKEN_FILE"

printf 'bad\n' >"$tmp/bad-token"
run "$TOCK" jobs --server "$url" --token-file "$tmp/bad-token"
expect_rc 1 "bad token: a server-side error"
expect_err_has "tock: UNAUTHENTICATED: bad or unknown bearer token" "bad token message"

printf 'two words\n' >"$tmp/two"
run "$TOCK" jobs --server "$url" --token-file "$tmp/two"
expect_rc 2 "token file with two words"
: >"$tmp/empty"
run "$TOCK" jobs --server "$url" --token-file "$tmp/empty"
expect_rc 2 "empty token file"
expect_err_has "is empty" "empty token file message"
run "$TOCK" jobs --server "$url" --token-file "$tmp/no-such-file"
expect_rc 2 "missing token file"

# --- invocations ---------------------------------------------------------------
run "$TOCK" invocations p/j --server "$url"
expect_rc 0 "invocations"
expect_out "$(printf '%-5s%-11s%-22s%-22s%s\n' \
    ID STATUS STARTED FINISHED 'TRIGGERED BY' \
    300 RUNNING 2015-09-14T22:42:13Z - user:a@example.com \
    200 SUCCEEDED 2015-09-14T22:42:00Z 2015-09-14T22:42:13Z - \
    100 FAILED 2015-09-14T22:40:00Z 2015-09-14T22:41:00Z -)" "invocations: two pages"
expect_last body '{"cursor":"c2","jobRef":{"job":"j","project":"p"},"pageSize":18}' \
    "invocations: the second page follows the cursor"

run "$TOCK" invocations p/j --limit 1 --server "$url"
expect_rc 0 "invocations --limit 1"
expect_out "$(printf '%-5s%-9s%-22s%-10s%s\n' \
    ID STATUS STARTED FINISHED 'TRIGGERED BY' \
    300 RUNNING 2015-09-14T22:42:13Z - user:a@example.com)" "invocations --limit 1"
expect_last body '{"jobRef":{"job":"j","project":"p"},"pageSize":1}' "--limit 1: one page of 1"
run "$TOCK" invocations p/j --limit 1 --server "$url" --json
expect_rc 0 "invocations --limit 1 --json"
checks=$((checks + 1))
printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [i["invocationRef"]["invocationId"] for i in r["invocations"]] == ["300"]
assert r["nextCursor"] == "c1"' || fail "invocations --limit 1 --json: the page and the next cursor"
run "$TOCK" invocations p/missing --server "$url" --json
expect_rc 1 "invocations --json of a missing job"
expect_out "" "invocations --json: nothing printed when the first page fails"

run "$TOCK" invocations p/j --server "$url" --json
expect_rc 0 "invocations --json"
checks=$((checks + 1))
printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [i["invocationRef"]["invocationId"] for i in r["invocations"]] == ["300", "200", "100"]
assert "nextCursor" not in r' || fail "invocations --json: every page in one reply"

run "$TOCK" invocations p/missing --server "$url"
expect_rc 1 "invocations of a missing job"
expect_err_has "tock: NOT_FOUND: no such job or no permission to see it" "NOT_FOUND message"

run "$TOCK" invocations nojob --server "$url"
expect_rc 2 "invocations: not PROJECT/JOB"
run "$TOCK" invocations p/j --limit 0 --server "$url"
expect_rc 2 "invocations --limit 0"

# --- invocation ------------------------------------------------------------------
run "$TOCK" invocation p/j 200 --server "$url"
expect_rc 0 "invocation"
expect_out "ID:            200
Job:           p/j
Status:        SUCCEEDED
Started:       2015-09-14T22:42:00Z
Finished:      2015-09-14T22:42:13Z
Triggered by:  user:a@example.com
Revision:      abc123
View URL:      -

Incoming triggers:
  - t1

Incoming properties:
{
  \"branch\": \"refs/heads/main\",
  \"revision\": \"abc\"
}

Incoming tags:
  - buildset:commit/git/abc
  - gitiles_ref:refs/heads/main

Debug log (UTC):
[22:42:00.000] New invocation is queued and will start shortly
[22:42:13.000] Invocation finished in 13s with status SUCCEEDED" "invocation: fields, incoming triggers, properties (sorted), tags and debug log"
expect_last body '{"invocationId":"200","jobRef":{"job":"j","project":"p"}}' "invocation request"

run "$TOCK" invocation p/j 999 --server "$url"
expect_rc 1 "missing invocation"
expect_err_has "tock: NOT_FOUND: no such invocation" "missing invocation message"
run "$TOCK" invocation p/j 12x --server "$url"
expect_rc 2 "invocation ID not a number"
run "$TOCK" invocation p/j 99999999999999999999 --server "$url"
expect_rc 2 "invocation ID past int64"

# --- trigger ------------------------------------------------------------------------
run "$TOCK" trigger p/j --id t-1 --property branch=main --property n=2 --tag source:manual \
    --title T --url https://x.example/ --server "$url"
expect_rc 0 "trigger with a payload"
expect_out "t-1" "trigger prints its ID"
expect_last path /prpc/scheduler.Scheduler/EmitTriggers "trigger: method"
jobs='"jobs":[{"job":"j","project":"p"}]'
bb='"buildbucket":{"properties":{"branch":"main","n":"2"},"tags":["source:manual"]}'
rest='"id":"t-1","title":"T","url":"https://x.example/"'
expect_last body "{\"batches\":[{$jobs,\"trigger\":{$bb,$rest}}]}" \
    "trigger: the EmitTriggers request"

run "$TOCK" trigger p/j --server "$url"
expect_rc 0 "trigger without options"
checks=$((checks + 1))
printf '%s' "$out" | grep -qE '^[0-9a-f]{16}$' || fail "trigger: a random 16-hex-digit ID"
expect_last body "{\"batches\":[{$jobs,\"trigger\":{\"id\":\"$out\"}}]}" \
    "trigger: no payload without properties or tags"

run "$TOCK" trigger p/j --id x --json --server "$url"
expect_out "{}" "trigger --json: the raw reply"
run "$TOCK" trigger p/j --property novalue --server "$url"
expect_rc 2 "trigger: --property without ="
run "$TOCK" trigger p/j --tag novalue --server "$url"
expect_rc 2 "trigger: --tag without :"
run "$TOCK" trigger p/denied --server "$url"
expect_rc 1 "trigger: permission denied"
expect_err_has "tock: PERMISSION_DENIED: no permission to execute the action" "denied message"

# --- pause, resume, abort ---------------------------------------------------------------
run "$TOCK" pause p/j --server "$url"
expect_rc 0 "pause"
expect_out "paused p/j" "pause output"
expect_last path /prpc/scheduler.Scheduler/PauseJob "pause: method"
expect_last body '{"job":"j","project":"p"}' "pause: a JobRef"
run "$TOCK" resume p/j --server "$url"
expect_out "resumed p/j" "resume output"
expect_last path /prpc/scheduler.Scheduler/ResumeJob "resume: method"
run "$TOCK" abort p/j --server "$url"
expect_out "aborted p/j" "abort job output"
expect_last path /prpc/scheduler.Scheduler/AbortJob "abort: AbortJob"
run "$TOCK" abort p/j 200 --server "$url"
expect_out "aborted invocation 200 of p/j" "abort invocation output"
expect_last path /prpc/scheduler.Scheduler/AbortInvocation "abort ID: AbortInvocation"
expect_last body '{"invocationId":"200","jobRef":{"job":"j","project":"p"}}' "abort ID request"
run "$TOCK" pause p/j 200 --server "$url"
expect_rc 2 "pause takes no invocation ID"
run "$TOCK" abort p/j x --server "$url"
expect_rc 2 "abort: bad invocation ID"

# --- why -----------------------------------------------------------------------------
run "$TOCK" why p/j --server "$url"
expect_rc 0 "why"
expect_out "$(printf '%-22s%-9s%-16s%-12s%s\n' \
    CREATED TRIGGER FATE INVOCATION REASON \
    2015-09-14T22:42:05Z t2 DROPPED_PAUSED - 'the job was paused by user:a@example.com' \
    2015-09-14T22:42:00Z t1 CONSUMED 200 'started invocation 200')" "why: the fates table"
expect_last path /prpc/tock.Scheduler/GetTriggerFates "why: method"
expect_last body '{"jobRef":{"job":"j","project":"p"},"pageSize":50}' "why: request"
run "$TOCK" why p/j --trigger t1 --limit 5 --server "$url"
expect_out "$(printf '%-22s%-9s%-10s%-12s%s\n' \
    CREATED TRIGGER FATE INVOCATION REASON \
    2015-09-14T22:42:00Z t1 CONSUMED 200 'started invocation 200')" "why --trigger"
expect_last body '{"jobRef":{"job":"j","project":"p"},"pageSize":5,"triggerId":"t1"}' \
    "why --trigger: request"

# --- transport errors (exit 2) --------------------------------------------------------
run "$TOCK" pause p/noheader --server "$url"
expect_rc 2 "no X-Prpc-Grpc-Code header"
expect_err_has "tock: INTERNAL: prpc: no X-Prpc-Grpc-Code header, HTTP status 502, body: " \
    "no code header message"
expect_err_has "HTTP status 502, body: <html>Bad Gateway</html>" "no code header: the body"
run "$TOCK" pause p/garbage --server "$url"
expect_rc 2 "a reply that is not JSON"
expect_err_has "tock: INTERNAL: bad JSON reply" "bad JSON message"
run "$TOCK" jobs --server "http://127.0.0.1:1"
expect_rc 2 "nothing listens"
expect_err_has "tock: UNAVAILABLE: cannot reach http://127.0.0.1:1" "connection refused message"
run "$TOCK" jobs --server "ftp://127.0.0.1/"
expect_rc 2 "not an http URL"
run "$TOCK" pause p/slow --timeout 1 --server "$url"
expect_rc 2 "timeout"
expect_err_has "tock: DEADLINE_EXCEEDED: no answer from $url in 1s" "timeout message"
run "$TOCK" jobs --frobnicate
expect_rc 2 "unknown option"

finish
