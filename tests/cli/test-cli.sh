#!/bin/sh
# The `tock` command line: exit codes, output formats, and end-to-end answers
# whose expected values were worked out by hand (see the comments).
set -eu
. "$(dirname "$0")/lib.sh"
examples=$(cd "$(dirname "$0")/../../examples" && pwd)

# --- help ---------------------------------------------------------------
run "$TOCK" --help
expect_rc 0 "tock --help"
expect_out_has "validate" "tock --help lists validate"
for cmd in validate schedule plan; do
    run "$TOCK" $cmd --help
    expect_rc 0 "tock $cmd --help"
    expect_out_has "example:" "tock $cmd --help has an example"
done
run "$TOCK" frobnicate
expect_rc 2 "unknown command"

# --- schedule next --------------------------------------------------------
# Spec 2.7 vector 3.
run "$TOCK" schedule next '0 */3 * * *' --from 2015-09-14T22:42:00Z --count 4
expect_rc 0 "cron next"
expect_out "2015-09-15T00:00:00Z
2015-09-15T03:00:00Z
2015-09-15T06:00:00Z
2015-09-15T09:00:00Z" "cron next, vector 3"

# Interval: --from is the previous tick.
run "$TOCK" schedule next 'with 15s interval' --from 2015-09-14T22:42:15Z --count 2
expect_out "2015-09-14T22:42:30Z
2015-09-14T22:42:45Z" "interval next"

# Fractional seconds only when non-zero.
run "$TOCK" schedule next 'with 1.5s interval' --from 2020-01-01T00:00:00Z --count 2
expect_out "2020-01-01T00:00:01.5Z
2020-01-01T00:00:03Z" "fractional seconds"

run "$TOCK" schedule next triggered --from 2020-01-01T00:00:00Z
expect_rc 0 "triggered"
expect_out "" "triggered prints nothing"

# Spec 2.7 vector 39: a year in the past never fires.
run "$TOCK" schedule next '* * * * * 1980' --from 2013-08-31T00:00:00Z
expect_rc 0 "never fires"
expect_out "" "never fires prints nothing"

# Default count is 5.
run "$TOCK" schedule next '@hourly' --from 2020-01-01T00:30:00Z
expect_out "2020-01-01T01:00:00Z
2020-01-01T02:00:00Z
2020-01-01T03:00:00Z
2020-01-01T04:00:00Z
2020-01-01T05:00:00Z" "default count"

# Spec 2.7 vector 40 and friends: bad expressions exit 2 with one line.
for bad in '*/60 * * * * *' 'with 1 min interval' '@reboot' 'not a schedule' ''; do
    run "$TOCK" schedule next "$bad"
    expect_rc 2 "bad expression '$bad'"
    checks=$((checks + 1))
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "bad expression '$bad': want one error line"
done
run "$TOCK" schedule next '* * * * *' --from yesterday
expect_rc 2 "bad --from"
run "$TOCK" schedule next '* * * * *' --count 0
expect_rc 2 "bad --count"

# New York: 2026-03-08 02:30 does not exist (clocks jump 02:00 -> 03:00), so
# that day is skipped; 02:30 EST = 07:30Z, 02:30 EDT = 06:30Z.
run "$TOCK" schedule next 'TZ=America/New_York 30 2 * * *' --from 2026-03-07T00:00:00Z --count 2
expect_out "2026-03-07T07:30:00Z
2026-03-09T06:30:00Z" "DST gap skipped"
# 2026-11-01 01:30 happens twice (EDT then EST); it fires once, the first time.
run "$TOCK" schedule next 'TZ=America/New_York 30 1 * * *' --from 2026-10-31T00:00:00Z --count 3
expect_out "2026-10-31T05:30:00Z
2026-11-01T05:30:00Z
2026-11-02T06:30:00Z" "DST fold fires once"
run "$TOCK" schedule next 'TZ=America/New_York 30 1 * * *' --strict-luci
expect_rc 2 "--strict-luci rejects TZ="
run "$TOCK" schedule next 'TZ=../../etc/passwd 30 1 * * *'
expect_rc 2 "hostile zone name"

# H: the same job id gives the same minute, and it is in range.
run "$TOCK" schedule next 'H * * * *' --job p/one --from 2020-01-01T00:00:00Z --count 3
first=$out
run "$TOCK" schedule next 'H * * * *' --job p/one --from 2020-01-01T00:00:00Z --count 3
expect_out "$first" "H is stable"
checks=$((checks + 1))
[ "$(printf '%s\n' "$first" | cut -c15-16 | sort -u | wc -l)" = 1 ] ||
    fail "H picks one minute for every hour"

# --- validate -------------------------------------------------------------
run "$TOCK" validate "$examples"
expect_rc 0 "validate examples"
expect_out "1 files, 7 jobs, 1 triggers, 0 errors" "validate examples summary"

run "$TOCK" validate --strict-luci "$examples"
expect_rc 1 "--strict-luci rejects the examples' TZ= and H"
expect_out_has "berlin-morning" "--strict-luci names the job"

mkdir -p "$tmp/proj"
cfg="$tmp/proj/luci-scheduler.cfg"
cat >"$cfg" <<'CFG'
job {
  id: "a"
  buildbucket {
    bucket: "ci"
    builder: "b"
  }
}
job {
  id: "a"
  noop {}
}
trigger {
  id: "t"
  triggers: "nobody"
  noop {}
}
CFG
run "$TOCK" validate "$cfg"
expect_rc 1 "validate finds errors"
expect_out_has "error: (job / a / task): field 'server' is required" "missing server"
expect_out_has "$cfg:9:3: error: (job / a): duplicate id" "duplicate id reported at its line"
expect_out_has "duplicate id \"a\"" "duplicate id message"
expect_out_has "referencing unknown job \"nobody\" in 'triggers' field" "unknown job"
expect_out_has "1 files, 2 jobs, 1 triggers, 3 errors" "summary counts"

printf 'job {\n  id: "a"\n  bogus: 1\n  noop {}\n}\n' >"$cfg"
run "$TOCK" validate "$tmp/proj"
expect_rc 1 "unknown field"
expect_out_has "$cfg:3:3: error:" "unknown field at 3:3"
expect_out_has "bogus" "unknown field named"

printf 'job {\n  id: "a"\n  noop {\n' >"$cfg"
run "$TOCK" validate "$cfg"
expect_rc 1 "unterminated message"
expect_out_has "$cfg:" "unterminated message has a position"

# Hostile files: each a clear error, never a crash or a hang.
{ printf 'job { id: "'; head -c 70000000 /dev/zero | tr '\0' a; printf '" }'; } >"$tmp/huge.cfg"
run "$TOCK" validate "$tmp/huge.cfg"
expect_rc 2 "a 70 MB file is refused"
expect_err_has "larger than the 64 MiB limit" "huge file message"
rm -f "$tmp/huge.cfg"
{ printf 'job { id: "'; head -c 2000000 /dev/zero | tr '\0' a; printf '" noop {} }'; } >"$cfg"
run "$TOCK" validate "$cfg"
expect_rc 1 "a 2 MB string"
expect_out_has "$cfg:1:11: error: string longer than" "long string at its start"
printf 'job { id: "a\000b" noop {} }' >"$cfg"
run "$TOCK" validate "$cfg"
expect_rc 1 "NUL byte"
expect_out_has "$cfg:1:" "NUL byte position"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "job { triggering_policy < " }' >"$cfg"
run "$TOCK" validate "$cfg"
expect_rc 1 "deep nesting"
printf 'job { id: "\377\376" noop {} }' >"$cfg"
run "$TOCK" validate "$cfg"
expect_rc 1 "invalid UTF-8"
expect_out_has "UTF-8" "invalid UTF-8 named"

run "$TOCK" validate "$tmp/does-not-exist"
expect_rc 2 "missing path"
run "$TOCK" validate
expect_rc 2 "no path"

# --- plan -----------------------------------------------------------------
run "$TOCK" plan "$examples" --job every-quarter-hour \
    --from 2026-01-01T00:00:00Z --until 2026-01-01T01:00:00Z
expect_rc 0 "plan one job"
tab=$(printf '\t')
expect_out "demo/every-quarter-hour${tab}2026-01-01T00:00:00Z
demo/every-quarter-hour${tab}2026-01-01T00:15:00Z
demo/every-quarter-hour${tab}2026-01-01T00:30:00Z
demo/every-quarter-hour${tab}2026-01-01T00:45:00Z" "plan: window is [from, until)"

mkdir -p "$tmp/p2"
cat >"$tmp/p2/luci-scheduler.cfg" <<'CFG'
job { id: "b" schedule: "0 * * * *" noop {} }
job { id: "a" schedule: "30 * * * *" noop {} }
job { id: "off" schedule: "* * * * *" disabled: true noop {} }
job { id: "t" noop {} }
job { id: "iv" schedule: "with 45m interval" noop {} }
CFG
run "$TOCK" plan "$tmp/p2" --from 2026-01-01T00:00:00Z --until 2026-01-01T02:00:00Z
expect_rc 0 "plan sorts by time"
expect_out "p2/b${tab}2026-01-01T00:00:00Z
p2/a${tab}2026-01-01T00:30:00Z
p2/iv${tab}2026-01-01T00:45:00Z
p2/b${tab}2026-01-01T01:00:00Z
p2/a${tab}2026-01-01T01:30:00Z
p2/iv${tab}2026-01-01T01:30:00Z" "plan: sorted, disabled and triggered jobs left out"

run "$TOCK" plan "$tmp/p2" --from 2026-01-02T00:00:00Z --until 2026-01-01T00:00:00Z
expect_rc 2 "plan: until before from"

finish
