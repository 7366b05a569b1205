# Helpers for tests that run a real `tock serve` on 127.0.0.1, port 0.
# Needs lib.sh (for run/expect_*) and $TOCK.

# start_server CONFIGDIR DB [extra serve options...]: starts tock serve in the
# background; sets $server_pid and $server (http://127.0.0.1:PORT).
start_server() {
    cfgdir=$1 db=$2
    shift 2
    : >"$tmp/serve.out"
    "$TOCK" serve --config "$cfgdir" --db "sqlite:$db" --listen 127.0.0.1:0 "$@" \
        >"$tmp/serve.out" 2>>"$tmp/serve.log" &
    server_pid=$!
    tries=0
    while ! grep -q 'listening on' "$tmp/serve.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 200 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "tock serve did not start:" >&2
            tail -20 "$tmp/serve.log" >&2
            return 1
        fi
        sleep 0.05
    done
    server=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/serve.out")
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    set +e
    wait "$server_pid"
    server_rc=$?
    set -e
    rm -f "$tmp/server.pid"
}

# rpc SERVICE/METHOD JSON [TOKEN]: a raw pRPC call; $out = body without the
# )]}' line, $code = X-Prpc-Grpc-Code.
rpc() {
    auth=""
    [ -n "${3:-}" ] && auth="Authorization: Bearer $3"
    curl -s -D "$tmp/rpc.h" -o "$tmp/rpc.b" -X POST -H 'Content-Type: application/json' \
        ${auth:+-H "$auth"} --data-binary "$2" "$server/prpc/$1" || true
    code=$(tr -d '\r' <"$tmp/rpc.h" | sed -n 's/^[Xx]-[Pp]rpc-[Gg]rpc-[Cc]ode: *//p')
    out=$(sed '1{/^)]}'"'"'$/d}' "$tmp/rpc.b")
}

# wait_until SECONDS CMD...: retries CMD (quietly) until it succeeds.
wait_until() {
    limit=$1
    shift
    end=$(($(date +%s) + limit))
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# poller_logs PROJECT/JOB N: the debug logs of the job's newest N invocations
# (through the client, from $server).
poller_logs() {
    "$TOCK" invocations "$1" --server "$server" --limit "$2" >"$tmp/pinvs"
    for i in $(awk 'NR > 1 { print $1 }' "$tmp/pinvs"); do
        "$TOCK" invocation "$1" "$i" --server "$server"
    done
}
