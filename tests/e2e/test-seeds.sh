#!/bin/sh
# Replays both seed pages of ../shared/seeds/ end to end: a real `tock serve`
# schedules the seed's build on the Buildbucket emulator (v2 for the 2025
# page, the legacy v1 API for the 2021 page), the emulator plays the seed's
# timeline scaled down to seconds (queued, started, finished, a push on every
# change), and the invocation must match the page: status, incoming
# properties and tags, the request body, and the debug log's messages in the
# same formats and order (tests/e2e/seedlog.py, seedpage.py).
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
seeds="$here/../../../shared/seeds"
[ -d "$seeds" ] || { echo "no seeds at $seeds"; exit 77; }

# die MESSAGE: fails, stops the servers and ends the test.
die() {
    fail "$1"
    tail -30 "$tmp/serve.log" >&2 || true
    stop_server
    stop_emulator
    finish
    exit 1
}

# replay NAME SEED PROJECT JOB CFG BUILDERS TRIGGER_JSON [serve options...]
replay() {
    name=$1 seed=$2 project=$3 job=$4 cfg=$5 builders=$6 trig=$7
    shift 7
    mkdir -p "$tmp/$name/cfg/$project"
    printf '%s\n' "$cfg" >"$tmp/$name/cfg/$project/luci-scheduler.cfg"
    # Anyone may see and trigger the replayed job.
    printf '%s\n' 'realms { name: "@root"' \
        '  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous" } }' \
        >"$tmp/$name/cfg/$project/realms.cfg"
    printf '%s\n' "$builders" >"$tmp/$name/builders.json"
    port=$(free_port)
    start_emulator "$tmp/$name/builders.json" "http://127.0.0.1:$port/pubsub?kind=buildbucket"
    "$TOCK" serve --config "$tmp/$name/cfg" --db "sqlite:$tmp/$name/tock.db" \
        --listen "127.0.0.1:$port" --triage-throttle 200ms --launch-delay 100ms \
        --host-map "cr-buildbucket.appspot.com=$emu" \
        --pubsub-topic projects/luci-scheduler/topics/scheduler.buildbucket \
        --hostname luci-scheduler.appspot.com --app-id luci-scheduler "$@" \
        >"$tmp/serve.out" 2>>"$tmp/serve.log" &
    server_pid=$!
    server="http://127.0.0.1:$port"
    wait_until 10 curl -sf "$server/healthz"
    rpc scheduler.Scheduler/EmitTriggers "{\"batches\": [{\"trigger\": $trig,
        \"jobs\": [{\"project\": \"$project\", \"job\": \"$job\"}]}]}" ""
    checks=$((checks + 1))
    [ "$code" = 0 ] || die "$name: EmitTriggers: code $code: $out"
    checks=$((checks + 1))
    wait_until 60 inv_final "$project/$job" || die "$name: the invocation did not finish"
    newest_inv "$project/$job"
    id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["invocations"][0]["invocationRef"]["invocationId"])')
    rpc scheduler.Scheduler/GetInvocation "{\"jobRef\": {\"project\": \"$project\", \"job\": \"$job\"}, \"invocationId\": \"$id\"}"
    printf '%s' "$out" >"$tmp/$name/inv.json"
    printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["debugLog"], end="")' \
        >"$tmp/$name/debug.log"
    checks=$((checks + 1))
    # The seeds' triggers came from a poller; ours comes through EmitTriggers,
    # which records the caller ("Triggered by anonymous:anonymous").
    python3 "$here/seedlog.py" "$seed" "$tmp/$name/debug.log" --allow "Triggered by " \
        >"$tmp/$name/seedlog.out" ||
        { cat "$tmp/$name/seedlog.out"; cat "$tmp/$name/debug.log"; fail "$name: debug log"; }
    checks=$((checks + 1))
    python3 "$here/seedpage.py" "$seed" "$tmp/$name/inv.json" >"$tmp/$name/seedpage.out" ||
        { cat "$tmp/$name/seedpage.out"; fail "$name: invocation page"; }
    stop_server
    stop_emulator
    echo "$name: $(cat "$tmp/$name/seedlog.out"); $(cat "$tmp/$name/seedpage.out")"
}

# --- 2025: pigweed, Buildbucket v2 ------------------------------------------
replay v2 "$seeds/000_da1083d32b62d3ca.txt" pigweed pigweed.dev.ci-pigweed-linux-zephyr '
job {
  id: "pigweed.dev.ci-pigweed-linux-zephyr"
  realm: "dev.ci"
  schedule: "triggered"
  buildbucket: {
    server: "cr-buildbucket.appspot.com"
    bucket: "pigweed.dev.ci"
    builder: "pigweed-linux-zephyr"
  }
}' '{"builders": [{"project": "pigweed", "bucket": "pigweed.dev.ci",
    "builder": "pigweed-linux-zephyr", "queue": "7s", "run": "2s", "outcome": "SUCCESS"}]}' '{
    "id": "https://pigweed.googlesource.com/pigweed/pigweed/+/refs/heads/main@59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "title": "59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "url": "https://pigweed.googlesource.com/pigweed/pigweed/+/59e0a8f4a6f6185007a20e61c81962b6198f62d4",
    "gitiles": {"repo": "https://pigweed.googlesource.com/pigweed/pigweed",
                "ref": "refs/heads/main",
                "revision": "59e0a8f4a6f6185007a20e61c81962b6198f62d4"}}' \
    --buildbucket-poll 3s,4s

# --- 2021: tint, the legacy v1 API --------------------------------------------
replay v1 "$seeds/001_7475f7ff23998933.txt" tint mac-rel '
job {
  id: "mac-rel"
  schedule: "triggered"
  buildbucket: {
    server: "cr-buildbucket.appspot.com"
    bucket: "luci.tint.ci"
    builder: "mac-rel"
  }
}' '{"builders": [{"project": "tint", "bucket": "ci", "builder": "mac-rel",
    "queue": "300ms", "run": "5s", "outcome": "SUCCESS"}]}' '{
    "id": "https://dawn.googlesource.com/tint.git/+/refs/heads/main@1d982367704d1ab504aedae06e02d5edb40c83aa",
    "title": "1d982367704d1ab504aedae06e02d5edb40c83aa",
    "url": "https://dawn.googlesource.com/tint.git/+/1d982367704d1ab504aedae06e02d5edb40c83aa",
    "gitiles": {"repo": "https://dawn.googlesource.com/tint.git",
                "ref": "refs/heads/main",
                "revision": "1d982367704d1ab504aedae06e02d5edb40c83aa"}}' \
    --buildbucket-poll 2s,2s --buildbucket-api cr-buildbucket.appspot.com=v1

finish
