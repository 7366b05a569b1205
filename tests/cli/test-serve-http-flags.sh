#!/bin/sh
# tock serve's --http-* and --git-* flags (docs/cli.md "serve: HTTP settings"): bad
# values exit 2 with the reason before anything starts; good ones serve.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$tmp/cfg"
for bad in "--http-threads 0" "--http-threads 257" "--http-max-connections x" \
           "--http-max-per-client -1" "--http-body-min-rate 0" \
           "--http-header-timeout 1.5s" "--http-idle-timeout 0s" "--http-header-timeout 2h" \
           "--git-timeout 0s" "--git-timeout soon" "--git-cache-max 12" \
           "--git-cache-max 4T" "--git-cache-idle -1h" \
           "--trusted-proxy 10.0.0.0/33 --trust-proxy-header X-Forwarded-Email" \
           "--trusted-proxy proxy.example --trust-proxy-header X-Forwarded-Email"; do
    # shellcheck disable=SC2086
    run "$TOCK" serve --config "$tmp/cfg" --db "sqlite:$tmp/db" $bad
    expect_rc 2 "serve $bad"
    expect_err_has "${bad%% *} wants" "serve $bad names the flag"
    expect_err_has "wants" "serve $bad says what it wants"
done

# The proxy flags go together.
for half in "--trusted-proxy 127.0.0.1/32" "--trust-proxy-header X-Forwarded-Email"; do
    # shellcheck disable=SC2086
    run "$TOCK" serve --config "$tmp/cfg" --db "sqlite:$tmp/db" $half
    expect_rc 2 "serve $half alone"
    expect_err_has "go together" "serve $half alone says why"
done

# Good values: the server starts and answers /healthz, then stops on SIGTERM.
"$TOCK" serve --config "$tmp/cfg" --db "sqlite:$tmp/db" --listen 127.0.0.1:0 \
    --http-threads 2 --http-max-connections 64 --http-max-per-client 8 \
    --http-header-timeout 2s --http-body-min-rate 100 --http-idle-timeout 5s \
    --git-timeout 30s --git-cache-max 512M --git-cache-idle 24h --http-keep-alive \
    --trust-proxy-header X-Forwarded-Email --trusted-proxy 127.0.0.1/32 \
    >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/serve.out")
    [ -n "$port" ] && break
    sleep 0.1
done
checks=$((checks + 1))
if [ -z "$port" ]; then
    fail "serve with good --http-* values did not start"
else
    run curl -s --max-time 10 "http://127.0.0.1:$port/healthz"
    expect_out "ok" "healthz with --http-* set"
fi
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
finish
