#!/usr/bin/env bash
# Runs each cargo-fuzz target of the codec for SECONDS seconds (default 60), starting
# from the committed seeds. Needs a nightly toolchain and cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/../codec/fuzz"
seconds=${1:-60}
for target in decode_stream decode_mutated load_table_set simd_matches_scalar stream_matches_frames; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    [ -d "seeds/$target" ] && cp -n seeds/"$target"/* "$corpus"/ 2>/dev/null || true
    echo "fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 2>&1 | grep -E "^(Done|==|SUMMARY)|panicked|ERROR" || true
    # libFuzzer leaves a crash-* file in artifacts/ when it finds a failure.
    if ls artifacts/"$target"/{crash,timeout,oom,leak}-* >/dev/null 2>&1; then
        echo "fuzz target $target found a failure (see codec/fuzz/artifacts)"; exit 1
    fi
done
echo "fuzz smoke: all targets ran clean"
