#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, if missing: the Cortex-M
# targets (M4F: thumbv7em-none-eabihf, M0: thumbv6m-none-eabi), qemu-system-arm
# (and bc, addr2line and readelf from binutils, used by the firmware test),
# defmt-print and flip-link, and for fuzzing the nightly pinned in
# codec/fuzz/rust-toolchain.toml (with rustfmt) and cargo-fuzz $CARGO_FUZZ_VERSION.
# Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2

for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    if ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target"
    fi
done
missing=()
command -v qemu-system-arm >/dev/null 2>&1 || missing+=(qemu-system-arm)
command -v bc >/dev/null 2>&1 || missing+=(bc)
{ command -v addr2line && command -v readelf; } >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in defmt-print flip-link; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        cargo install --locked "$tool"
    fi
done

# Fuzzing: the nightly the fuzz crate pins, and cargo-fuzz at a fixed version.
fuzz_toolchain=$(sed -n 's/^channel *= *"\(.*\)"$/\1/p' codec/fuzz/rust-toolchain.toml)
[ -n "$fuzz_toolchain" ] || { echo "setup: no channel in codec/fuzz/rust-toolchain.toml" >&2; exit 1; }
if ! rustup run "$fuzz_toolchain" rustfmt --version >/dev/null 2>&1; then
    rustup toolchain install "$fuzz_toolchain" --profile minimal --component rustfmt
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi
