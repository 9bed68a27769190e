#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, if missing: the Cortex-M
# target, qemu-system-arm (and bc, used by the firmware test), defmt-print and flip-link. Idempotent; safe to re-run.
set -euo pipefail

if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
    rustup target add thumbv7em-none-eabihf
fi
missing=()
command -v qemu-system-arm >/dev/null 2>&1 || missing+=(qemu-system-arm)
command -v bc >/dev/null 2>&1 || missing+=(bc)
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
