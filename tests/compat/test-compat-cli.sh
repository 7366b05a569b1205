#!/bin/sh
# `tock validate` over the real luci-scheduler.cfg corpus in
# ../shared/compat/configs (read in place, never copied), end to end through
# the command line.  The expected errors below were found by reading the
# files: three duplicate ids and one malformed interval.
set -eu
. "$(dirname "$0")/../cli/lib.sh"
compat=${TOCK_COMPAT_DIR:-}
if [ -z "$compat" ] || [ ! -f "$compat/expected_counts.tsv" ]; then
    echo "SKIP: the corpus ../shared/compat/configs is absent (TOCK_COMPAT_DIR='$compat')"
    exit 77
fi

# The 67 current-schema project files, with their expected block counts.
main=$(awk -F'\t' '$2 == "main" { print $1 }' "$compat/expected_counts.tsv")
jobs=$(awk -F'\t' '$2 == "main" { n += $3 } END { print n }' "$compat/expected_counts.tsv")
triggers=$(awk -F'\t' '$2 == "main" { n += $4 } END { print n }' "$compat/expected_counts.tsv")
files=$(printf '%s\n' "$main" | wc -l)

cd "$compat"
# shellcheck disable=SC2086
run "$TOCK" validate $main
expect_rc 1 "main files have four known mistakes"
expect_out_has "$files files, $jobs jobs, $triggers triggers, 4 errors" "main summary"

f1=NDevTK__infra/luci-scheduler.2017-10-17-2ce7d576.cfg
f2=NDevTK__infra/infra__config__luci-scheduler.2019-03-29-cf7e7a54.cfg
f3=khromiumos__chromiumos-chromite/config__luci-scheduler.2019-04-24-53160a83.cfg
f4=NDevTK__infra/infra__config__generated__luci-scheduler.2019-03-27-1b521606.cfg
expect_out_has "$f1:88:3: error: (job / infra-continuous-trusty-64): duplicate id \"infra-continuous-trusty-64\"" "dup 1"
expect_out_has "$f2:86:3: error: (job / infra-continuous-trusty-64): duplicate id \"infra-continuous-trusty-64\"" "dup 2"
expect_out_has "$f3:3210:3: error: (job / release-R73-11647.B-master-lakitu-release): duplicate id \"release-R73-11647.B-master-lakitu-release\"" "dup 3"
expect_out_has "$f4:23:" "bad interval line"
expect_out_has "with 1 min interval is not valid value for 'schedule' field - expecting format \"with <duration> interval\"" "bad interval message"
checks=$((checks + 1))
n=$(printf '%s\n' "$out" | grep -c ': error: ' || true)
[ "$n" = 4 ] || fail "main files: want exactly 4 error lines, got $n"

# Every _invalid and _legacy file gets at least one error with a line number.
for f in $(find _invalid _legacy -name '*.cfg' | sort); do
    run "$TOCK" validate "$f"
    expect_rc 1 "$f is rejected"
    checks=$((checks + 1))
    printf '%s\n' "$out" | grep -q "^$f:[0-9][0-9]*:[0-9][0-9]*: error: " ||
        fail "$f: no error with a line number"
done

# The whole corpus in one run: no crash, every file counted.
run "$TOCK" validate .
expect_rc 1 "whole corpus"
expect_out_has "$(find . -name '*.cfg' | wc -l) files," "every file read"

finish
