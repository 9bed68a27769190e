#!/usr/bin/env bash
# Instructions of each code shape in src/lib.rs on ARMv6-M (thumbv6m-none-eabi),
# prologue/epilogue included (push/pop, bx lr): compare shapes with each other.
# Needs: rustup target add thumbv6m-none-eabi
set -euo pipefail
cd "$(dirname "$0")"
cargo rustc --quiet --locked --release --target thumbv6m-none-eabi -- --emit asm
asm=$(ls target/thumbv6m-none-eabi/release/deps/vqtans_m0shapes-*.s | head -1)
for f in $(grep -oE '^[a-z_0-9]+:' "$asm" | tr -d ':'); do
    n=$(awk "/^$f:/,/\.fnend/" "$asm" | grep -E '^\s+[a-z]' | grep -vcE '^\s+\.' || true)
    echo "$f $n"
done
