#!/usr/bin/env bash
# The main job on the bundled real data: for each real segment, build tables from the
# OTHER segment (leave-one-out), encode, decode, check the decoded .npy is identical
# to the original, and report the rate; then the in-sample rate (tables from both) so
# the gap is visible, and the comparison with zstd -19 and xz -9e.
# Outputs go to out/real-data/. Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VQTANS_DATA_DIR:-../shared/data/commavq}
out=out/real-data
mkdir -p "$out"

cargo build --release --locked -p host-tools -p vqtans-benches
# Where cargo put the binaries: target/ by default, or CARGO_TARGET_DIR, or a
# target-dir from a .cargo/config.toml; `cargo metadata` reports whichever applies
# (as an absolute path; a path holding `"` or `\` would be escaped in its JSON and is
# refused here).
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"\\]*\)".*/\1/p')
if [ -z "$target_dir" ] || [ ! -x "$target_dir/release/host-tools" ]; then
    echo "run-real-data.sh: no host-tools in cargo's target directory '${target_dir:-?}/release' after the build" >&2
    exit 1
fi
ht=$target_dir/release/host-tools
segments=("$data/commaai-commavq_0.npy" "$data/mattseabrook-commavq_0.npy")

for i in 0 1; do
    seg=${segments[$i]}
    other=${segments[$((1 - i))]}
    name=$(basename "$seg" .npy)
    tables="$out/tables-without-$name.vqtt"
    echo "== $name: tables from $(basename "$other") only (leave-one-out)"
    "$ht" build-tables -o "$tables" "$other"
    "$ht" encode --tables "$tables" -o "$out/$name.vqt" "$seg"
    "$ht" decode --tables "$tables" -o "$out/$name.decoded.npy" "$out/$name.vqt"
    cmp "$seg" "$out/$name.decoded.npy" && echo "decoded .npy is byte-identical to the original"
    "$ht" verify --tables "$tables" "$out/$name.vqt" "$seg"
    "$ht" stats --tables "$tables" "$seg"
done

echo "== in-sample: tables from both segments (flatters the rate; shown for the gap)"
"$ht" build-tables -o "$out/tables-both.vqtt" "${segments[@]}"
"$ht" stats --tables "$out/tables-both.vqtt" "${segments[@]}"

echo "== peers on the same data (leave-one-out tables for vqtans)"
"$target_dir/release/compare" "${segments[@]}"
