#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, if missing: the Cortex-M
# targets (M4F: thumbv7em-none-eabihf, M0: thumbv6m-none-eabi), the
# x86_64-unknown-linux-musl target (the static decoder of challenge submissions),
# qemu-system-arm (and bc, addr2line and readelf from binutils, used by the firmware test),
# defmt-print and flip-link, and for fuzzing the nightly pinned in
# codec/fuzz/rust-toolchain.toml (with rustfmt) and cargo-fuzz $CARGO_FUZZ_VERSION;
# and for the Python package the virtual environment .venv/ (never the system
# Python) with the pinned packages of python/requirements-dev.txt and the package
# built from python/ (rebuilt only when its sources or the codec's changed).
# Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2

# Cortex-M4F and M0 targets, and the static decoder shipped in commaVQ challenge
# submissions (vqtans-unpack).
for target in thumbv7em-none-eabihf thumbv6m-none-eabi x86_64-unknown-linux-musl; do
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

# Python: .venv/ with the pinned packages, then `pip install ./python` into it
# (one release cargo build, in python/target), skipped when nothing it is built
# from changed since the last install.
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! cmp -s python/requirements-dev.txt .venv/requirements-dev.installed; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
    cp python/requirements-dev.txt .venv/requirements-dev.installed
fi
python_sources=$( { rustc --version
    find python/Cargo.toml python/Cargo.lock python/pyproject.toml python/src python/vqtans \
        codec/Cargo.toml codec/src host-tools/Cargo.toml host-tools/src -type f -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/vqtans-python.installed 2>/dev/null)" != "$python_sources" ]; then
    # --no-build-isolation: build with the pinned maturin (the backend runs it from PATH).
    PATH="$PWD/.venv/bin:$PATH" .venv/bin/pip install --quiet --disable-pip-version-check \
        --no-build-isolation --no-deps --force-reinstall ./python
    echo "$python_sources" > .venv/vqtans-python.installed
fi
