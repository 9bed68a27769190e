#!/usr/bin/env bash
# Runs every test of the project: formatting, the workspace's unit, property and
# integration tests (in the `test` profile: opt-level 2 with overflow checks and
# debug assertions on, so that arithmetic that wraps on some input fails the test
# that feeds it; every test binary runs even if one fails), the static decoder of challenge
# submissions, the Python package's pytest suite (against the x86_64 wheel that
# scripts/setup.sh builds, installed into a fresh virtual environment), the aarch64
# wheel's round trips of the real segments under qemu-aarch64, the no_std
# builds of the codec for thumbv7em-none-eabihf (Cortex-M4F) and
# thumbv6m-none-eabi (Cortex-M0), the firmware under QEMU on both boards, the
# README's figures against what the code gives (scripts/readme-figures.py --check),
# and a 20-second fuzz run per target (scripts/setup.sh installs the pinned nightly and
# cargo-fuzz it needs).
#
# Counts: each test a step's output reports (cargo's `test result:` lines, pytest's
# closing `N passed, M failed, ...` line (errors count as failures), the closing
# `N passed, M failed` of the QEMU tests, of the aarch64 wheel's checks and
# `fuzz: N passed, M failed`), and
# one failure for each test binary that ended without reporting (a crash) and for
# each step that failed without a counted test failure (a build error, formatting).
# A skipped pytest test (e.g. numcodecs or zarr missing) counts as a failure: here
# every test must run (pytest -rs names each skip and its reason).
# Ends with one line `total: N passed, M failed` (after `skipped: K` if any).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh || { echo "setup failed"; echo "total: 0 passed, 1 failed"; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
skipped=0
summary=()

# sum_of REGEX FIELD FILE: the sum of the number before FIELD in the lines of FILE
# matching REGEX.
sum_of() {
    { grep -Eo "$1" "$3" || true; } | grep -Eo "[0-9]+ $2" | awk '{s+=$1} END {print s+0}'
}

# step CMD...: runs CMD with its output shown and kept, and counts it.
step() {
    local out status p f failed_targets reported
    out="$logs/step${#summary[@]}.txt"
    echo "==> $*"
    "$@" 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    # cargo test: one line per test binary (and per doc-test run).
    p=$(sum_of 'test result: [a-zA-Z]+\. [0-9]+ passed' passed "$out")
    f=$(sum_of 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' failed "$out")
    # cargo test --no-fail-fast names the test binaries that failed at the end; one
    # that crashed reported no result line of its own.
    failed_targets=$(sed -n 's/^error: \([0-9][0-9]*\) targets\{0,1\} failed:$/\1/p' "$out" | tail -n 1)
    [ -z "$failed_targets" ] && grep -q '^error: test failed, to rerun pass' "$out" && failed_targets=1
    reported=$(grep -c '^test result: FAILED' "$out")
    if [ "${failed_targets:-0}" -gt "$reported" ]; then
        f=$((f + failed_targets - reported))
    fi
    # pytest's closing line, e.g. `== 1 failed, 88 passed, 2 skipped in 9.1s ==`
    # (no line at all when it collected no test: exit status 5, a failure).
    local pytest_line
    pytest_line=$(grep -E '^=* ?[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)\b.* in [0-9.]+s' "$out" | tail -n 1)
    if [ -n "$pytest_line" ]; then
        p=$((p + $(echo "$pytest_line" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')))
        f=$((f + $(echo "$pytest_line" | grep -Eo '[0-9]+ (failed|errors?)' | awk '{s+=$1} END {print s+0}')))
        local s
        s=$(echo "$pytest_line" | grep -Eo '[0-9]+ skipped' | awk '{s+=$1} END {print s+0}')
        if [ "$s" -gt 0 ]; then
            echo "FAILED: $s test(s) skipped; every test must run here (see the SKIPPED lines above)"
            f=$((f + s))
            skipped=$((skipped + s))
        fi
    fi
    # The QEMU tests' and the fuzz run's closing lines.
    p=$((p + $(sum_of '^(fuzz: )?[0-9]+ passed, [0-9]+ failed$' passed "$out")))
    f=$((f + $(sum_of '^(fuzz: )?[0-9]+ passed, [0-9]+ failed$' failed "$out")))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    [ "$status" -ne 0 ] && echo "FAILED: $*"
    passed=$((passed + p))
    failed=$((failed + f))
    summary+=("$(printf '%-6s %5d passed %3d failed  %s' "$([ "$f" -eq 0 ] && echo ok || echo FAIL)" "$p" "$f" "$*")")
}

step cargo fmt --all --check
step cargo fmt --manifest-path python/Cargo.toml --check
# The static decoder that host-tools/tests/archive.rs ships in a challenge submission.
step cargo build --locked --profile challenge --target x86_64-unknown-linux-musl -p vqtans-unpack
# The `test` profile (not --release): overflow checks on (Cargo.toml [profile.test]).
step cargo test --workspace --locked --no-fail-fast
# The codec's tests and host-tools' round trips built for aarch64 and run under QEMU
# user mode (qemu-aarch64, the runner of .cargo/config.toml): the NEON decode path
# against the scalar one (simd_equivalence, with the check that the NEON kernel
# decoded every frame; simd_differential, 100,000 random and damaged streams, the
# count printed), container format 3's sections, group checks, compact sets, v1
# streams, the real segments' round trips. The runner variable is also what host-tools' tests
# (assert_cmd) run the binary they spawn with.
step env CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    cargo test --locked --no-fail-fast --target aarch64-unknown-linux-gnu -p vqtans -p host-tools \
    --test simd_equivalence --test simd_differential --test sections --test group_checks --test compact_sets \
    --test v1_streams \
    --test order0_real --test context_real --test round_trip
# The API docs (the codec's front page and its examples, which the step above ran as
# doc tests): no broken links, no warnings.
step env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
# The pytest suite against the x86_64 wheel of python/dist/ in a fresh venv, and the
# aarch64 wheel's real-segment round trips under qemu-aarch64 (scripts/test-wheel.sh).
step bash scripts/test-wheel.sh x86_64
step bash scripts/test-wheel.sh aarch64
step cargo build --release -p vqtans --no-default-features --target thumbv7em-none-eabihf --locked
step cargo build --release -p vqtans --no-default-features --target thumbv6m-none-eabi --locked
step python3 firmware/harness.py
step bash firmware/build-boards.sh
# Every deterministic figure in README.md and firmware/README.md against what the
# code gives (host-tools, three codec tests, and the logs the QEMU step just left);
# fails naming each figure that differs. About 15 s.
step python3 scripts/readme-figures.py --check
step bash scripts/fuzz-smoke.sh 20

echo "==> summary"
printf '  %s\n' "${summary[@]}"
grep -h 'the SIMD path is NOT tested' "$logs"/*.txt | sort -u | sed 's/^/  NOTE: /'
[ "$skipped" -gt 0 ] && echo "skipped: $skipped (counted as failed)"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
