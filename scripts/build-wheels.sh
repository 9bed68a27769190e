#!/usr/bin/env bash
# Builds the Python package's distributions into python/dist/: a manylinux2014
# (glibc >= 2.17) wheel for x86_64 and one for aarch64, both for the CPython
# version of the project's .venv (cp311 today), and an sdist; then checks each
# wheel with auditwheel (its own check, besides maturin's) and writes SHA256SUMS.
#
# Both wheels are linked by zig (maturin --zig, zig from the pinned `ziglang`
# package in python/requirements-dev.txt) against glibc 2.17's symbols. The
# system linkers (gcc, and the cross gcc-aarch64-linux-gnu) link against bookworm's
# glibc 2.36, and the extension then needs glibc 2.34 (pthread_join@GLIBC_2.34,
# dlsym: `objdump -T` of the x86_64 build linked by gcc), which leaves out e.g.
# Ubuntu 20.04 (glibc 2.31); zig needs no system package and builds both wheels
# the same way. The C code in the build (ring) is compiled by zig cc.
#
# Atomic: everything is built into a temporary folder beside python/dist/, which
# replaces python/dist/ only when all three files are built and checked; a failed
# run leaves the previous set (or none) and no partial one.
#
# Usage: bash scripts/build-wheels.sh [--if-changed]
#   --if-changed  do nothing when python/dist/ was built from the same sources
#                 (the package's, the codec's, host-tools', the archive crate's,
#                 this script, the pinned tools and rustc), as scripts/setup.sh does.
# Needs the Rust toolchain; makes .venv/ with the pinned packages of
# python/requirements-dev.txt (or brings it up to date: scripts/setup.sh relies on
# this), and adds the two Rust targets, if missing. Prints each part's time.
set -euo pipefail
cd "$(dirname "$0")/.."

if_changed=false
case "${1:-}" in
    "") ;;
    --if-changed) if_changed=true ;;
    *) echo "usage: bash scripts/build-wheels.sh [--if-changed]" >&2; exit 2 ;;
esac

TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
COMPATIBILITY=manylinux2014
AUDITWHEEL_TAG=manylinux_2_17   # manylinux2014's PEP 600 name

# The build's sources; python/dist/SOURCES holds the digest of the set it has.
sources_digest() {
    {
        rustc --version
        find Cargo.toml python/Cargo.toml python/Cargo.lock python/pyproject.toml python/README.md \
            python/requirements-dev.txt python/requirements-test.txt python/src python/vqtans \
            scripts/build-wheels.sh \
            codec/Cargo.toml codec/build.rs codec/README.md codec/FORMAT.md codec/src \
            host-tools/Cargo.toml host-tools/src archive/Cargo.toml archive/src \
            -type f -not -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
}

# .venv/ with the pinned tools (never the system Python), redone when the pins change.
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! cat python/requirements-dev.txt python/requirements-test.txt | cmp -s - .venv/requirements.installed; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
    cat python/requirements-dev.txt python/requirements-test.txt > .venv/requirements.installed
fi

digest=$(sources_digest)
if $if_changed && [ "$(cat python/dist/SOURCES 2>/dev/null)" = "$digest" ]; then
    echo "build-wheels: python/dist/ is up to date ($(ls python/dist | grep -c '\.whl$') wheels)"
    exit 0
fi

start=$(date +%s)
seconds() { echo "$(( $(date +%s) - $1 )) s"; }

for target in "${TARGETS[@]}"; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
# maturin, and zig through `python -m ziglang`, from .venv.
export PATH="$PWD/.venv/bin:$PATH"
python_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

work=$(mktemp -d python/.dist-build.XXXXXX)
chmod 755 "$work"   # mktemp's 0700 would become python/dist/'s mode
trap 'rm -rf "$work"' EXIT

t=$(date +%s)
(cd python && maturin sdist --out "../$work")
echo "build-wheels: sdist in $(seconds "$t")"

for target in "${TARGETS[@]}"; do
    t=$(date +%s)
    # --compatibility: maturin fails the build if the wheel needs more than the
    # policy allows (symbol versions, libraries outside the manylinux set).
    (cd python && maturin build --release --locked --zig --target "$target" \
        --compatibility "$COMPATIBILITY" --interpreter "python$python_version" --out "../$work")
    echo "build-wheels: $target wheel in $(seconds "$t")"
done

# The set: one sdist and one wheel per target, nothing else.
shopt -s nullglob
sdists=("$work"/vqtans-*.tar.gz)
[ ${#sdists[@]} -eq 1 ] || { echo "build-wheels: expected one sdist, got ${#sdists[@]}" >&2; exit 1; }
for target in "${TARGETS[@]}"; do
    arch=${target%%-*}
    wheels=("$work"/vqtans-*"$AUDITWHEEL_TAG"_"$arch"*.whl)
    [ ${#wheels[@]} -eq 1 ] || { echo "build-wheels: expected one $AUDITWHEEL_TAG $arch wheel in:" >&2; ls "$work" >&2; exit 1; }
    # auditwheel's own verdict: the wheel's highest policy must be manylinux2014.
    report=$(auditwheel show "${wheels[0]}")
    echo "$report"
    if ! tr -s '\n ' '  ' <<<"$report" | grep -q "consistent with the following platform tag: \"${AUDITWHEEL_TAG}_$arch\""; then
        echo "build-wheels: auditwheel does not find ${wheels[0]##*/} ${AUDITWHEEL_TAG}_$arch compliant" >&2
        exit 1
    fi
done
(cd "$work" && sha256sum -- *.whl *.tar.gz > SHA256SUMS)
echo "$digest" > "$work/SOURCES"

# Swap the checked set in: two renames, never a partial set under python/dist/
# (mv -T: a python/dist/ made meanwhile by another run is an error, not a nest).
old=$(mktemp -u python/.dist-old.XXXXXX)
[ -e python/dist ] && mv -T python/dist "$old"
mv -T "$work" python/dist
rm -rf "$old"
trap - EXIT
echo "build-wheels: python/dist/ in $(seconds "$start"):"
(cd python/dist && ls -l -- *.whl *.tar.gz | awk '{print "  " $5 " B  " $9}')
