#!/usr/bin/env bash
# Tests the wheels of python/dist/ (scripts/build-wheels.sh) as installed, away from
# the checkout's sources:
#
#   bash scripts/test-wheel.sh x86_64   # a fresh venv, the wheel, the pytest suite
#   bash scripts/test-wheel.sh aarch64  # the aarch64 wheel under qemu-aarch64
#
# x86_64: makes a new virtual environment (from .venv's interpreter) in a
# temporary folder, installs the x86_64 wheel into it (numpy, its dependency, from
# the wheelhouse .venv/wheelhouse/ that scripts/setup.sh downloads: no network),
# prints how long that took, then the test suite's packages
# (python/requirements-test.txt), and runs python/tests with it; pytest's closing
# line is what scripts/test.sh counts.
#
# aarch64: installs the aarch64 wheel and the aarch64 numpy wheel
# (.venv/aarch64/wheelhouse/) into a temporary folder with pip's --target and
# --platform (so the wheel's declared dependency is resolved as pip would on an
# ARM machine), makes reference table sets and streams of the real segments with
# .venv's x86_64 build, then runs scripts/wheel_roundtrip.py with Debian's aarch64
# CPython (.venv/aarch64/sysroot/, from scripts/setup.sh) under
# `qemu-aarch64 -L .venv/aarch64/sysroot`; it trains, encodes and decodes both
# segments there and compares bytes and tokens, and ends `N passed, M failed`.
#
# The real segments: $VQTANS_DATA_DIR, by default ../shared/data/commavq/ (as for
# the other tests).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-}
case "$arch" in
    x86_64 | aarch64) ;;
    *) echo "usage: bash scripts/test-wheel.sh x86_64|aarch64" >&2; exit 2 ;;
esac
shopt -s nullglob
wheels=(python/dist/vqtans-*_"$arch".whl)
[ ${#wheels[@]} -eq 1 ] || { echo "test-wheel: no single $arch wheel in python/dist/ (bash scripts/build-wheels.sh)" >&2; exit 1; }
wheel=${wheels[0]}
data=${VQTANS_DATA_DIR:-../shared/data/commavq}
segments=("$data/commaai-commavq_0.npy" "$data/mattseabrook-commavq_0.npy")
for s in "${segments[@]}"; do
    [ -f "$s" ] || { echo "test-wheel: real segment $s is missing (set VQTANS_DATA_DIR)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip_offline=(--disable-pip-version-check --quiet --no-index --find-links)
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

if [ "$arch" = x86_64 ]; then
    t=$(now)
    .venv/bin/python -m venv "$tmp/venv"
    echo "test-wheel: fresh venv made in $(took "$t")"
    t=$(now)
    "$tmp/venv/bin/pip" install "${pip_offline[@]}" .venv/wheelhouse "$wheel"
    echo "test-wheel: ${wheel##*/} and numpy installed into it in $(took "$t")"
    "$tmp/venv/bin/pip" install "${pip_offline[@]}" .venv/wheelhouse -r python/requirements-test.txt
    # The suite imports the installed package, not python/vqtans/ of the checkout.
    "$tmp/venv/bin/python" -c 'import sys, vqtans; assert vqtans.__file__.startswith(sys.prefix), vqtans.__file__; print("test-wheel: vqtans from", vqtans.__file__)'
    # `cargo` for the suite's host-tools comparisons; the venv first.
    PATH="$tmp/venv/bin:$PATH" "$tmp/venv/bin/pytest" -p no:cacheprovider -rs python/tests
    exit
fi

# The wheel is for .venv's CPython version; the aarch64 interpreter is the same one.
aarch64_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
sysroot=.venv/aarch64/sysroot
python_aarch64=$sysroot/usr/bin/python$aarch64_version
[ -x "$python_aarch64" ] || { echo "test-wheel: no aarch64 Python $aarch64_version in $sysroot (bash scripts/setup.sh)" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || { echo "test-wheel: qemu-aarch64 missing (apt-get install qemu-user)" >&2; exit 1; }
t=$(now)
.venv/bin/pip install "${pip_offline[@]}" .venv/aarch64/wheelhouse --target "$tmp/site" --only-binary=:all: \
    --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64 --implementation cp \
    --python-version "$aarch64_version" "$wheel"
echo "test-wheel: ${wheel##*/} and aarch64 numpy installed for Python $aarch64_version in $(took "$t")"
t=$(now)
.venv/bin/python scripts/wheel_roundtrip.py make "$tmp/reference" "${segments[@]}"
echo "test-wheel: x86_64 references made in $(took "$t")"
t=$(now)
status=0
PYTHONPATH="$tmp/site" qemu-aarch64 -L "$sysroot" "$python_aarch64" -s \
    scripts/wheel_roundtrip.py check "$tmp/reference" "${segments[@]}" || status=$?
echo "test-wheel: aarch64 checks under qemu-aarch64 in $(took "$t")"
exit $status
