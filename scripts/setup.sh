#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, if missing: the Cortex-M
# targets (M4F: thumbv7em-none-eabihf, M0: thumbv6m-none-eabi), the
# x86_64-unknown-linux-musl target (the static decoder of challenge submissions),
# qemu-system-arm (and bc, addr2line and readelf from binutils, used by the firmware test),
# defmt-print and flip-link, and for fuzzing the nightly pinned in
# codec/fuzz/rust-toolchain.toml (with rustfmt) and cargo-fuzz $CARGO_FUZZ_VERSION;
# and for the Python package the virtual environment .venv/ (never the system
# Python) with the pinned packages of python/requirements-dev.txt, the wheels built
# from python/ by scripts/build-wheels.sh (rebuilt only when their sources or the
# codec's changed), the x86_64 one installed into .venv/, and for testing the
# aarch64 one qemu-user and an aarch64 CPython from Debian's arm64 packages.
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
# aarch64 Linux, for the codec's and host-tools' tests that scripts/test.sh runs as
# aarch64 binaries under QEMU user mode (.cargo/config.toml names the linker and the
# runner): the Rust target, Debian's cross gcc and arm64 libc, and qemu-user.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
fi
aarch64_missing=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || aarch64_missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || aarch64_missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || aarch64_missing+=(qemu-user)
if [ ${#aarch64_missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${aarch64_missing[@]}" >/dev/null
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

# Python: scripts/build-wheels.sh makes .venv/ (never the system Python) with the
# pinned packages of python/requirements-dev.txt and builds the wheel set in
# python/dist/ (x86_64 and aarch64 manylinux2014 wheels, an sdist; rebuilt only when
# something they are built from changed); the x86_64 wheel is installed into .venv/
# (again only when it changed). For scripts/test-wheel.sh: the wheelhouse of the test
# suite's packages (.venv/wheelhouse/, so its fresh venv installs without network),
# and for the aarch64 wheel's test under qemu-aarch64, Debian's aarch64 CPython (the
# version of .venv's) unpacked into .venv/aarch64/sysroot/ with the libraries it and
# numpy load, and numpy's aarch64 wheel (.venv/aarch64/wheelhouse/).
bash scripts/build-wheels.sh --if-changed
wheel=$(echo python/dist/vqtans-*_x86_64.whl)
if [ "$(cat .venv/vqtans-wheel.installed 2>/dev/null)" != "$(sha256sum "$wheel")" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
    sha256sum "$wheel" > .venv/vqtans-wheel.installed
fi
if ! cmp -s python/requirements-test.txt .venv/wheelhouse/requirements-test.txt; then
    rm -rf .venv/wheelhouse .venv/wheelhouse.tmp
    .venv/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: \
        -d .venv/wheelhouse.tmp -r python/requirements-test.txt
    cp python/requirements-test.txt .venv/wheelhouse.tmp/
    mv .venv/wheelhouse.tmp .venv/wheelhouse
fi
python_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
numpy_pin=$(grep -x 'numpy==[0-9.]*' python/requirements-test.txt)
aarch64_debs=("python$python_version-minimal" "libpython$python_version-minimal"
    "libpython$python_version-stdlib" libc6 libgcc-s1 libstdc++6 libexpat1 zlib1g libffi8
    libbz2-1.0 liblzma5 libssl3 libuuid1 libcrypt1)
aarch64_want="${aarch64_debs[*]} $numpy_pin"
if [ "$(cat .venv/aarch64/installed 2>/dev/null)" != "$aarch64_want" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    command -v qemu-aarch64 >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user >/dev/null; }
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $SUDO dpkg --add-architecture arm64
        $SUDO apt-get update -qq
    fi
    rm -rf .venv/aarch64 .venv/aarch64.tmp
    mkdir -p .venv/aarch64.tmp/debs
    # apt-get download: the archive's signed package lists vouch for each .deb (run
    # as the invoking user, not apt's sandbox user, who cannot write to .venv/).
    download=(apt-get download -qq -o APT::Sandbox::User="$(id -un)" "${aarch64_debs[@]/%/:arm64}")
    (cd .venv/aarch64.tmp/debs && { "${download[@]}" || { $SUDO apt-get update -qq && "${download[@]}"; }; })
    for deb in .venv/aarch64.tmp/debs/*.deb; do
        dpkg-deb -x "$deb" .venv/aarch64.tmp/sysroot
    done
    rm -rf .venv/aarch64.tmp/debs
    .venv/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64 --implementation cp \
        --python-version "$python_version" -d .venv/aarch64.tmp/wheelhouse "$numpy_pin"
    echo "$aarch64_want" > .venv/aarch64.tmp/installed
    mv .venv/aarch64.tmp .venv/aarch64
fi
