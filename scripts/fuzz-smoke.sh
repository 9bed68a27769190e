#!/usr/bin/env bash
# Runs each cargo-fuzz target of the codec for SECONDS seconds (default 60), starting
# from the committed seeds, with the pinned nightly of codec/fuzz/rust-toolchain.toml
# and cargo-fuzz (scripts/setup.sh installs both).
#
# A target passes only if it built, libFuzzer ended normally (exit 0: it stops with
# 0 when the time is up; a crash, leak, timeout, out-of-memory or a sanitizer that
# fails to start exits non-zero) and it executed at least MIN_RUNS_PER_SECOND of the
# target times (SECONDS - STARTUP_SECONDS) inputs (from libFuzzer's closing
# `Done N runs in S second(s)`).
# A missing toolchain or cargo-fuzz, or a fuzz crate that does not build, fails every
# target. Ends with `fuzz: N passed, M failed` and exits non-zero if M > 0. Full
# output of each target: codec/fuzz/target/smoke-<target>.log.
set -uo pipefail
cd "$(dirname "$0")/../codec/fuzz"
seconds=${1:-60}
TARGETS=(decode_stream decode_mutated load_table_set simd_matches_scalar stream_matches_frames)
# Fewest executions per second a target must reach: about a tenth of what each does
# on this project's 2-core VM, shared with other work (measured from the seeds, 20 s
# each: decode_stream ~6,500/s, decode_mutated ~1,200/s, load_table_set ~1,750/s,
# simd_matches_scalar ~650/s, stream_matches_frames ~1,500/s). Far below it, the target did not really fuzz.
declare -A MIN_RUNS_PER_SECOND=(
    [decode_stream]=600
    [decode_mutated]=120
    [load_table_set]=170
    [simd_matches_scalar]=65
    [stream_matches_frames]=150
)

# Allowance for a target's first seconds, spent building its fixtures (context-model
# tables trained under the sanitizer) before it fuzzes at full rate.
STARTUP_SECONDS=10

passed=0
failed=0
finish() {
    echo "fuzz: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
fail_all() {
    echo "FAILED: $*"
    failed=${#TARGETS[@]}
    finish
}

toolchain=$(sed -n 's/^channel *= *"\(.*\)"$/\1/p' rust-toolchain.toml)
[ -n "$toolchain" ] || fail_all "no toolchain channel in codec/fuzz/rust-toolchain.toml"
rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
    fail_all "toolchain $toolchain is not installed (run scripts/setup.sh)"
cargo "+$toolchain" fuzz --version >/dev/null 2>&1 || fail_all "cargo-fuzz is not installed (run scripts/setup.sh)"

mkdir -p target
echo "building the fuzz targets ($toolchain, $(cargo "+$toolchain" fuzz --version))"
if ! cargo "+$toolchain" fuzz build >target/smoke-build.log 2>&1; then
    tail -n 30 target/smoke-build.log
    fail_all "cargo fuzz build (full output: codec/fuzz/target/smoke-build.log)"
fi

for target in "${TARGETS[@]}"; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    [ -d "seeds/$target" ] && cp -n seeds/"$target"/* "$corpus"/ 2>/dev/null
    log="target/smoke-$target.log"
    min_runs=$((MIN_RUNS_PER_SECOND[$target] * (seconds > STARTUP_SECONDS ? seconds - STARTUP_SECONDS : 1)))
    status=0
    # -timeout: seconds one input may take before libFuzzer calls it a hang. A
    # target's first input also builds its fixtures (context-model tables trained
    # under the sanitizer: a few seconds, and over 10 on a loaded machine), so the
    # limit is generous; every decode is bounded by the frame count, so a real hang
    # still shows up.
    cargo "+$toolchain" fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=60 >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
    problem=""
    if [ "$status" -ne 0 ]; then
        problem="exit status $status (see codec/fuzz/artifacts/$target and $log)"
    elif [ -z "$runs" ]; then
        problem="no 'Done N runs' line from libFuzzer"
    elif [ "$runs" -lt "$min_runs" ]; then
        problem="only $runs runs in ${seconds}s, fewer than the minimum $min_runs"
    fi
    if [ -z "$problem" ]; then
        passed=$((passed + 1))
        echo "PASS fuzz $target: $runs runs in ${seconds}s (minimum $min_runs)"
    else
        failed=$((failed + 1))
        echo "FAIL fuzz $target: $problem"
        grep -E "^(==|SUMMARY)|panicked|ERROR|error" "$log" | head -n 20 | sed 's/^/  /'
    fi
done
finish
