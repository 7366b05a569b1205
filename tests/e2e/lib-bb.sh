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
    printf '%s' "$out" | python3 -c 'import json,sys; v=json.load(sys.stdin).get("invocations") or [{}]; print(v[0].get("status", ""))'
}

# inv_final JOB: succeeds when the newest invocation is final.
inv_final() {
    case "$(inv_status "$1" "${2:-}")" in
    SUCCEEDED | FAILED | ABORTED | OVERRUN) return 0 ;;
    *) return 1 ;;
    esac
}
