#!/usr/bin/env bash
# Runs every test of the project: the workspace's unit, property and integration
# tests (release mode: they run the codec on the real segments), the no_std build of
# the codec for thumbv7em-none-eabihf, the firmware under QEMU, and a short fuzzing
# smoke run when a nightly toolchain is present. Ends with one line
# `total: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh || { echo "setup failed"; echo "total: 0 passed, 1 failed"; exit 1; }

log=$(mktemp)
failed_steps=0
step() {
    echo "==> $*"
    if ! "$@" 2>&1 | tee -a "$log"; then
        echo "FAILED: $*"
        failed_steps=$((failed_steps + 1))
    fi
}

step cargo fmt --all --check
step cargo test --release --workspace --locked
step cargo build --release -p vqtans --no-default-features --target thumbv7em-none-eabihf --locked
step bash firmware/qemu-test.sh
if cargo +nightly --version >/dev/null 2>&1; then
    command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
    step bash scripts/fuzz-smoke.sh 20
else
    echo "==> no nightly toolchain: fuzz smoke run skipped"
fi

passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
qemu=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
if [ -n "$qemu" ]; then
    passed=$((passed + $(echo "$qemu" | awk '{print $1}')))
    failed=$((failed + $(echo "$qemu" | awk '{print $3}')))
fi
rm -f "$log"
failed=$((failed + failed_steps))
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
