#!/usr/bin/env bash
# Builds every board's firmware image with the table set made for its budget
# and checks that it fits: one line per board,
#
#   BOARD <name> <target> flash <used>/<budget> B ram <used>/<budget> B runner <command>
#
# then "N passed, M failed"; exits non-zero if any board failed to build or
# to fit. The images are the streaming-mode ones a board runs
# (VQTANS_FW_LINK_TABLES: table sets in flash, streams over the UART), kept
# as target/boards/<name>.elf; `run.sh ELF` (the cargo runner) runs one.
#
# Table sets: `host-tools build-tables` on both real segments, with
# `--max-bytes` as below (table set + compiled image), sized for each board's
# flash (and, where it fits, its RAM: build.rs copies it there). The memory
# figures come from src/boards/spec.rs; "flash used" is what the image
# stores (vectors, code, constants, tables, .data's initial values), "ram
# used" its static RAM (.data, .bss, .uninit, the RTT buffer, tables copied
# to RAM); the stack takes the rest.
#
# Needs what qemu-test.sh needs to build (rustup targets thumbv7em-none-eabihf
# and thumbv6m-none-eabi, flip-link, binutils' readelf, python3); not
# probe-rs (only printed). Data: $VQTANS_DATA (default <repo>/../shared/data/commavq).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
REPO=$(cd .. && pwd)
DATA=${VQTANS_DATA:-$REPO/../shared/data/commavq}
OUT=$PWD/target/boards
mkdir -p "$OUT"

# name  target  table-set budget (bytes; 0 = build-tables' default set)
BOARDS=(
  "mps2-an386 thumbv7em-none-eabihf 0"
  "microbit-v1 thumbv6m-none-eabi 131072"
  "nrf52840-dk thumbv7em-none-eabihf 131072"
  "nucleo-f446re thumbv7em-none-eabihf 65536"
)
TRAIN=("$DATA/commaai-commavq_0.npy" "$DATA/mattseabrook-commavq_0.npy")

passed=0
failed=0
fail() {
  echo "FAIL $1: $2"
  failed=$((failed + 1))
}

# spec NAME FIELD: a figure of board NAME in src/boards/spec.rs.
spec() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, field = sys.argv[1], sys.argv[2]
text = open("src/boards/spec.rs").read()
for block in re.findall(r"pub const \w+: Board = Board \{(.*?)\n\};", text, re.S):
    if re.search(rf'name: "{re.escape(name)}"', block):
        m = re.search(rf"^\s*{field}: ([^,]+),", block, re.M)
        print(eval(m[1].replace("_", "")) if m else sys.exit(f"no {field} for {name}"))
        break
else:
    sys.exit(f"no board {name} in src/boards/spec.rs")
PY
}

# footprint ELF FLASH_ORIGIN FLASH_BYTES RAM_ORIGIN RAM_BYTES: "FLASH RAM",
# the bytes the image stores in flash and its static RAM, from its sections.
footprint() {
  readelf -SW "$1" | python3 -c '
import re, sys
fo, fl, ro, rl = map(int, sys.argv[1:])
flash = ram = 0
for line in sys.stdin:
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]{8})\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
    if not m or "A" not in m[5]:
        continue
    addr, size = int(m[3], 16), int(m[4], 16)
    if fo <= addr < fo + fl:
        flash += size
    elif ro <= addr < ro + rl:
        ram += size
        if m[2] != "NOBITS":
            flash += size  # initial values of .data, loaded from flash
print(flash, ram)
' "$2" "$3" "$4" "$5"
}

host_tools() {
  (cd "$REPO" && cargo run --release -q -p host-tools -- "$@")
}

for entry in "${BOARDS[@]}"; do
  read -r name target budget <<<"$entry"
  tables=$OUT/$name.vqtt
  args=(build-tables -o "$tables")
  ((budget > 0)) && args+=(--max-bytes "$budget")
  if ! host_tools "${args[@]}" "${TRAIN[@]}" >"$OUT/$name.build-tables.log" 2>&1; then
    tail -n 20 "$OUT/$name.build-tables.log"
    fail "$name" "host-tools build-tables failed ($OUT/$name.build-tables.log)"
    continue
  fi
  features=(--features "$name")
  [[ $name == mps2-an386 ]] && features=()
  if ! VQTANS_FW_LINK_TABLES=$tables cargo build --release "${features[@]}" --target "$target" \
    >"$OUT/$name.build.log" 2>&1; then
    grep -E '^(error|warning: vqtans-firmware)' "$OUT/$name.build.log" | head -n 20
    fail "$name" "build failed ($OUT/$name.build.log)"
    continue
  fi
  elf=$OUT/$name.elf
  cp "target/$target/release/vqtans-firmware" "$elf"
  flash_origin=$(spec "$name" flash_origin)
  flash_bytes=$(spec "$name" flash_bytes)
  ram_origin=$(spec "$name" ram_origin)
  ram_bytes=$(spec "$name" ram_bytes)
  read -r flash ram < <(footprint "$elf" "$flash_origin" "$flash_bytes" "$ram_origin" "$ram_bytes")
  runner=$(./run.sh --print "$elf")
  runner=${runner//$OUT\//target\/boards\/}
  runner=${runner//$PWD\//.\/}
  echo "BOARD $name $target flash $flash/$flash_bytes B ram $ram/$ram_bytes B runner $runner"
  if ((flash > flash_bytes || ram > ram_bytes)); then
    fail "$name" "does not fit: flash $flash of $flash_bytes B, RAM $ram of $ram_bytes B"
  else
    passed=$((passed + 1))
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
