#!/usr/bin/env bash
# Footprint against leave-one-out rate for table-set budgets (README, "Table
# budgets"): for each budget and each real segment, `host-tools build-tables
# --max-bytes N` on the *other* segment, then `host-tools stats` on this one; the
# same for the default set (no --max-bytes). Prints one Markdown table row per
# budget: chosen parameters (per training segment), footprint, both rates and
# their change against the default's. About a minute on 2 cores.
#
# Usage: bash scripts/table-budgets.sh [BUDGET...]   (default 65536 131072 262144 524288)
# Data: $VQTANS_DATA (default ../shared/data/commavq beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${VQTANS_DATA:-../shared/data/commavq}
SEGMENTS=(commaai-commavq_0 mattseabrook-commavq_0)
BUDGETS=("$@")
[ ${#BUDGETS[@]} -gt 0 ] || BUDGETS=(65536 131072 262144 524288)
cargo build --release --locked -p host-tools >&2
H=target/release/host-tools
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# tables BUDGET TRAIN: builds tables from segment TRAIN (the default set for
# BUDGET "default") and prints their path.
tables() {
    local out=$work/$1-$2.vqtt
    if [ "$1" = default ]; then
        $H build-tables -o "$out" "$DATA/$2.npy" >"$out.log"
    else
        $H build-tables --max-bytes "$1" -o "$out" "$DATA/$2.npy" >"$out.log"
    fi
    echo "$out"
}

# rate TABLES SEGMENT: the rate of SEGMENT coded with TABLES.
rate() { $H stats --json --tables "$1" "$DATA/$2.npy" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["rate"])'; }
# footprint TABLES: the device footprint in bytes.
footprint() { $H tables-info --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["footprint"]["bytes"])'; }
# params TABLES: K, state log, slot floor, tables, entry width, list coding.
params() {
    $H tables-info --json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["model"]
print("K={}, M={}{}, {} tables, {}-bit entries, {} lists".format(m["k"], d["state_log"],
      " (2 slots)" if d["least_slots"] >= 2 else "", m["tables"], d["footprint"]["entry_bits"], m["list_coding"]))'
}

declare -A base
for i in 0 1; do
    seg=${SEGMENTS[$i]} other=${SEGMENTS[$((1 - i))]}
    base[$seg]=$(rate "$(tables default "$other")" "$seg")
done

echo "| budget | tables from matt (for commaai) | tables from commaai (for matt) | footprint B | commaai | matt |"
echo "|---|---|---|---:|---:|---:|"
for budget in default "${BUDGETS[@]}"; do
    row="| $budget |"
    cells=() rates=() prints=()
    for i in 0 1; do
        seg=${SEGMENTS[$i]} other=${SEGMENTS[$((1 - i))]}
        t=$(tables "$budget" "$other")
        cells+=("$(params "$t")")
        prints+=("$(footprint "$t")")
        r=$(rate "$t" "$seg")
        rates+=("$(python3 -c "print('%.4f (%+.2f%%)' % ($r, 100 * ($r / ${base[$seg]} - 1)))")")
    done
    echo "$row ${cells[0]} | ${cells[1]} | ${prints[0]} / ${prints[1]} | ${rates[0]} | ${rates[1]} |"
done
