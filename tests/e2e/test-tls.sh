#!/bin/sh
# Outgoing TLS is verified (docs/outgoing.md): a Buildbucket whose certificate
# no trusted CA signed is refused, and the same server is accepted once its
# CA is given with --ca-file.  The server is a small HTTPS fake
# (tests/fakes/fake-tls-buildbucket.py) with a certificate made here by openssl.
set -eu
here=$(dirname "$0")
. "$here/../cli/lib.sh"
. "$here/lib-serve.sh"
. "$here/lib-bb.sh"
command -v openssl >/dev/null || { echo "no openssl"; exit 77; }

# A CA and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tock test CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tmp/srv.key" -out "$tmp/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/san.ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 2 -extfile "$tmp/san.ext" -out "$tmp/srv.pem" >/dev/null 2>&1

python3 "$here/../fakes/fake-tls-buildbucket.py" "$tmp/srv.pem" "$tmp/srv.key" "$tmp/port" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; rm -rf "$tmp"' EXIT
wait_until 10 test -s "$tmp/port"
bb="https://127.0.0.1:$(cat "$tmp/port")"

mkdir -p "$tmp/cfg/p"
cat >"$tmp/cfg/p/luci-scheduler.cfg" <<'CFG'
job { id: "b" realm: "ci" schedule: "triggered"
      buildbucket { server: "bb.example.com" builder: "b" } }
CFG
printf '%s\n' 'realms { name: "@root"' \
    '  bindings { role: "role/scheduler.owner" principals: "anonymous:anonymous" } }' \
    >"$tmp/cfg/p/realms.cfg"

# run_case NAME STATUS [serve options...]: one server, one trigger; the
# newest invocation must reach STATUS.
run_case() {
    name=$1 want=$2
    shift 2
    start_server "$tmp/cfg" "$tmp/$name.db" --triage-throttle 100ms --launch-delay 10ms \
        --host-map "bb.example.com=$bb" "$@"
    rpc scheduler.Scheduler/EmitTriggers '{"batches": [{"trigger": {"id": "t1", "noop": {}},
        "jobs": [{"project": "p", "job": "b"}]}]}'
    checks=$((checks + 1))
    ok=0
    for _ in $(seq 1 100); do
        [ "$(inv_status p/b)" = "$want" ] && { ok=1; break; }
        sleep 0.1
    done
    [ $ok = 1 ] || fail "$name: invocation status $(inv_status p/b), want $want"
    stop_server
}

# Without the CA: the server info call fails TLS verification; the launch retries.
run_case untrusted RETRYING
checks=$((checks + 1))
grep -q 'certificate' "$tmp/serve.log" ||
    fail "untrusted: the log does not say the certificate was refused"
# With the CA: the build is scheduled and the invocation runs.
run_case trusted RUNNING --ca-file "$tmp/ca.pem"

finish
