# Helpers for tests that run tock serve against the Buildbucket emulator.
# Needs lib.sh, lib-serve.sh and $TOCK.

# free_port: a TCP port free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_emulator BUILDERS_FILE PUSH_URL [extra options...]: sets $emu_pid, $emu
# (http://127.0.0.1:PORT) and $emu_port.
start_emulator() {
    builders=$1 push=$2
    shift 2
    : >"$tmp/emu.out"
    "$TOCK" buildbucket-emulator --builders "$builders" --listen 127.0.0.1:0 --push "$push" "$@" \
        >"$tmp/emu.out" 2>>"$tmp/emu.log" &
    emu_pid=$!
    tries=0
    while ! grep -q 'listening on' "$tmp/emu.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 200 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
            echo "the emulator did not start:" >&2
            tail -20 "$tmp/emu.log" >&2
            return 1
        fi
        sleep 0.05
    done
    emu=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/emu.out")
    emu_port=${emu##*:}
}

stop_emulator() {
    kill -TERM "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
}

# inv_json JOB: $out = the newest invocation of JOB as GetInvocations JSON
# (empty when there is none).
newest_inv() {
    rpc scheduler.Scheduler/GetInvocations "{\"jobRef\": {\"project\": \"${1%%/*}\", \"job\": \"${1#*/}\"}, \"pageSize\": 1}" "${2:-}"
}

# inv_status JOB: prints the newest invocation's status.
inv_status() {
    newest_inv "$1" "${2:-}"
    printf '%s' "$out" | tr ',{' '\n\n' | sed -n 's/^ *"status": *"\([A-Z_]*\)".*/\1/p' | head -1
}

# inv_final JOB: succeeds when the newest invocation is final.
inv_final() {
    case "$(inv_status "$1" "${2:-}")" in
    SUCCEEDED | FAILED | ABORTED | OVERRUN) return 0 ;;
    *) return 1 ;;
    esac
}

# --- several emulators and servers in one test ---------------------------------

# (These helpers keep their own variables in _-prefixed names: sh has no
# locals, and callers use names such as $push and $port.)

# spawn_emulator NAME BUILDERS_FILE PUSH_URL [options...]: starts one more
# emulator; its URL goes to $tmp/emu-NAME.url (read it with emu_url NAME),
# its pid to $tmp/emu-NAME.pid, its event log to $tmp/emu-NAME.log.
spawn_emulator() {
    _en=$1 _eb=$2 _ep=$3
    shift 3
    : >"$tmp/emu-$_en.out"
    "$TOCK" buildbucket-emulator --builders "$_eb" --listen 127.0.0.1:0 --push "$_ep" "$@" \
        >"$tmp/emu-$_en.out" 2>>"$tmp/emu-$_en.log" &
    echo $! >"$tmp/emu-$_en.pid"
    tries=0
    while ! grep -q 'listening on' "$tmp/emu-$_en.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 200 ] || ! kill -0 "$(cat "$tmp/emu-$_en.pid")" 2>/dev/null; then
            echo "emulator $_en did not start:" >&2
            tail -20 "$tmp/emu-$_en.log" >&2
            return 1
        fi
        sleep 0.05
    done
    sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/emu-$_en.out" >"$tmp/emu-$_en.url"
}

emu_url() { cat "$tmp/emu-$1.url"; }

# stop_emulators: stops every emulator spawn_emulator started.
stop_emulators() {
    for f in "$tmp"/emu-*.pid; do
        [ -f "$f" ] || continue
        kill -TERM "$(cat "$f")" 2>/dev/null || true
    done
    for f in "$tmp"/emu-*.pid; do
        [ -f "$f" ] || continue
        wait "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

# serve_at PORT CONFIGDIR DB [serve options...]: tock serve on a known port
# (the emulators' --push URL names it); waits for /healthz; sets $server_pid
# and $server.  Output goes to $tmp/serve.log.
serve_at() {
    _sp=$1 _sc=$2 _sd=$3
    shift 3
    "$TOCK" serve --config "$_sc" --db "sqlite:$_sd" --listen "127.0.0.1:$_sp" "$@" \
        >>"$tmp/serve.out" 2>>"$tmp/serve.log" &
    server_pid=$!
    echo "$server_pid" >"$tmp/server.pid"
    server="http://127.0.0.1:$_sp"
    wait_until 20 curl -sf "$server/healthz"
}

# emu_rpc EMU_URL METHOD JSON: a pRPC call to the emulator's Builds service;
# $out = the body without the )]}' line.
emu_rpc() {
    out=$(curl -s -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data-binary "$3" "$1/prpc/buildbucket.v2.Builds/$2" | sed '1{/^)]}'"'"'$/d}')
}

# emu_builds EMU_URL PROJECT BUCKET BUILDER: prints "<id> <status>" for every
# build of that builder the emulator has (SearchBuilds, newest first).
emu_builds() {
    emu_rpc "$1" SearchBuilds "{\"predicate\": {\"builder\": {\"project\": \"$2\",
        \"bucket\": \"$3\", \"builder\": \"$4\"}}, \"pageSize\": 1000,
        \"mask\": {\"fields\": \"builds.*.id,builds.*.status\"}}"
    id_status_lines
}

# id_status_lines: $out (compact builds JSON with id and status) as
# "<id> <status>" lines.
id_status_lines() {
    printf '%s\n' "$out" | tr '{' '\n' |
        sed -n 's/^"id": *"\([0-9]*\)", *"status": *"\([A-Z_]*\)".*/\1 \2/p'
}

# inv_field JOB FIELD: prints a field of the newest invocation of JOB
# (invocationId, status, ...) from GetInvocations.
inv_field() {
    newest_inv "$1"
    case $2 in
    invocationId) printf '%s' "$out" | tr ',{' '\n\n' |
        sed -n 's/^ *"invocationId": *"\([0-9]*\)".*/\1/p' | head -1 ;;
    *) printf '%s' "$out" | tr ',{' '\n\n' | sed -n "s/^ *\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" | head -1 ;;
    esac
}

# inv_log JOB ID: prints the invocation (tock invocation: status, debug log).
inv_log() {
    "$TOCK" invocation "$1" "$2" --server "$server"
}

# inv_count JOB: prints how many invocations JOB has (up to 500).
inv_count() {
    rpc scheduler.Scheduler/GetInvocations "{\"jobRef\": {\"project\": \"${1%%/*}\",
        \"job\": \"${1#*/}\"}, \"pageSize\": 500}"
    printf '%s' "$out" | tr ',{' '\n\n' | grep -c '"invocationId"' || true
}

# bb_job ID SERVER BUCKET BUILDER: a buildbucket job block for a config.
bb_job() {
    printf 'job { id: "%s" schedule: "triggered"\n  buildbucket { server: "%s" bucket: "%s" builder: "%s" } }\n' \
        "$1" "$2" "$3" "$4"
}

# open_realms DIR: anyone may see, trigger and abort the project's jobs.
open_realms() {
    printf '%s\n' 'realms { name: "@root"' \
        '  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous" } }' \
        >"$1/realms.cfg"
}

# inv_builds EMU_URL INV_ID: prints "<id> <status>" for every build the
# emulator made for that invocation (tag scheduler_invocation_id).
inv_builds() {
    emu_rpc "$1" SearchBuilds "{\"predicate\": {\"tags\": [{\"key\": \"scheduler_invocation_id\",
        \"value\": \"$2\"}]}, \"pageSize\": 1000,
        \"mask\": {\"fields\": \"builds.*.id,builds.*.status\"}}"
    id_status_lines
}

# newest_for JOB SHA: the job's newest invocation is final and its request
# (GetInvocation) names SHA -- both read from one answer, and the id kept in
# $_id: a newer invocation may start between two reads of "the newest".
newest_for() {
    _id=$(inv_field "$1" invocationId)
    [ -n "$_id" ] || return 1
    rpc scheduler.Scheduler/GetInvocation "{\"jobRef\": {\"project\": \"${1%%/*}\", \"job\": \"${1#*/}\"}, \"invocationId\": \"$_id\"}"
    printf '%s' "$out" | grep -q "\"revision\": *\"$2\"" &&
        printf '%s' "$out" | grep -Eq '"status": *"(SUCCEEDED|FAILED|ABORTED|OVERRUN)"'
}
