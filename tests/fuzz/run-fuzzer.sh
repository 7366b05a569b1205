#!/bin/sh
# Runs one libFuzzer target for a bounded time, seeded from its corpus.
#   run-fuzzer.sh BINARY WORKDIR SEEDDIR SECONDS [COMPATDIR]
# The config fuzzer is also seeded with the real configs under COMPATDIR
# (files up to 64 KiB), read in place and never copied into the repository.
set -eu
bin=$1 work=$2 seeds=$3 seconds=$4 compat=${5:-}

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/" 2>/dev/null || true
case "$bin" in
*fuzz-config*)
    if [ -n "$compat" ] && [ -d "$compat" ]; then
        find "$compat" -name '*.cfg' -size -64k | while read -r f; do
            cp "$f" "$work/corpus/compat-$(echo "$f" | cksum | cut -d' ' -f1).cfg"
        done
    fi
    ;;
esac

# -timeout: one input taking over 10 s is a hang and fails the test.
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus"
