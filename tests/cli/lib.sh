# Shared helpers for the shell tests.  $TOCK is the binary under test.
: "${TOCK:?TOCK must name the tock binary}"
failures=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run CMD...: runs it, keeping stdout in $out, stderr in $err, status in $rc.
run() {
    set +e
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    set -e
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

fail() {
    failures=$((failures + 1))
    echo "FAIL: $*" >&2
    echo "  stdout: $(head -c 2000 "$tmp/out" 2>/dev/null)" >&2
    echo "  stderr: $(head -c 2000 "$tmp/err" 2>/dev/null)" >&2
}

expect_rc() { checks=$((checks + 1)); [ "$rc" = "$1" ] || fail "$2: exit $rc, want $1"; }
expect_out() { checks=$((checks + 1)); [ "$out" = "$1" ] || fail "$2: stdout differs from: $1"; }
expect_out_has() {
    checks=$((checks + 1))
    printf '%s\n' "$out" | grep -qF -- "$1" || fail "$2: stdout lacks: $1"
}
expect_err_has() {
    checks=$((checks + 1))
    printf '%s\n' "$err" | grep -qF -- "$1" || fail "$2: stderr lacks: $1"
}

finish() {
    echo "$((checks - failures)) passed, $failures failed"
    [ "$failures" = 0 ]
}
