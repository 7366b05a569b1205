#!/bin/sh
# pg-cluster.sh start|stop|restart DIR - a private PostgreSQL cluster for the tests.
#
# start: initdb in DIR/data and start postgres listening only on a Unix
#        socket in DIR (no TCP port), superuser "tock", trust auth, fsync
#        off (a test cluster: speed over crash safety).  The connection
#        string is then
#            postgresql:///postgres?host=DIR&user=tock
#        and DIR/url holds it.  Run as root (CI), the cluster belongs to
#        the unprivileged user tock-test (created by scripts/install-deps),
#        or nobody when that user is missing: postgres refuses to run as
#        root.  When no PostgreSQL server is installed at all, start writes
#        the reason to DIR/skip, says so loudly and exits 0: the PG tests
#        then skip (exit 77) with that message.
# stop:  stops the cluster (immediate shutdown) and removes DIR.
# restart DIR MODE [PAUSE]: stops the server (pg_ctl stop -m MODE: smart,
#        fast or immediate), waits PAUSE seconds (default 0: a plain
#        pg_ctl restart), starts it again on the same data and socket.
#        For tests that restart their own cluster under load.
#
# Bounded: pg_ctl waits at most 60 s for the server.
set -eu

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: pg-cluster.sh start|stop|restart DIR [MODE [PAUSE]]" >&2
    exit 2
fi

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin).
find_bindir() {
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -n -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# Runs "$@" as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid="$owner" --regid="$(id -g "$owner")" --clear-groups -- "$@"
    else
        "$@"
    fi
}

pick_owner() {
    if [ "$(id -u)" != 0 ]; then
        owner=$(id -un)
    elif id tock-test >/dev/null 2>&1; then
        owner=tock-test
    else
        owner=nobody
    fi
}

start() {
    stop_quiet
    mkdir -p "$dir"
    if ! bindir=$(find_bindir); then
        msg="PostgreSQL server not found (no /usr/lib/postgresql/*/bin/initdb): the PostgreSQL store tests are SKIPPED; run scripts/install-deps as root"
        echo "$msg" >"$dir/skip"
        echo "pg-cluster.sh: *** $msg ***" >&2
        exit 0
    fi
    pick_owner
    if [ "$(id -u)" = 0 ]; then
        chown "$owner" "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U tock --auth=trust -E UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    server_start
    echo "postgresql:///postgres?host=$dir&user=tock" >"$dir/url"
    echo "pg-cluster.sh: PostgreSQL ($bindir) on $dir as $owner"
}

# Starts the server of $dir/data ($bindir and $owner set).
server_start() {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses= -F -c max_connections=100 -c max_pred_locks_per_transaction=1024" start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
}

restart() {
    mode=${3:-fast}
    pause=${4:-0}
    bindir=$(find_bindir)
    pick_owner
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null || {
        tail -20 "$dir/server.log" >&2
        exit 1
    }
    sleep "$pause"
    server_start
}

stop_quiet() {
    if [ -f "$dir/data/postmaster.pid" ] && bindir=$(find_bindir); then
        pick_owner
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "$cmd" in
start) start ;;
stop) stop_quiet ;;
restart) restart "$@" ;;
*)
    echo "usage: pg-cluster.sh start|stop|restart DIR [MODE [PAUSE]]" >&2
    exit 2
    ;;
esac
