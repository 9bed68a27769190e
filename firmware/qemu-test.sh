#!/usr/bin/env bash
# End-to-end firmware tests in QEMU (mps2-an386, Cortex-M4F).
#
# Builds firmware variants, boots each in QEMU under a time limit, captures
# UART0 to a file and the defmt log (semihosting) through defmt-print, then
# checks exit status, UART bytes and log lines. Ends with the line
# "N passed, M failed" and exits non-zero if M > 0.
#
# Add a case with run_case (see below). Artefacts of case NAME are kept in
# target/qemu-test/NAME/: uart0.bin, defmt.raw, log.txt (decoded), stderr.txt.
#
# Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm (Debian package
# qemu-system-arm), defmt-print and flip-link (`cargo install defmt-print
# flip-link`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
OUT=target/qemu-test
ELF_BUILT=target/thumbv7em-none-eabihf/release/vqtans-firmware
TIMEOUT=${QEMU_TIMEOUT:-120}
PLACEHOLDER=data/placeholder.bin
passed=0
failed=0

# The builds below choose their payload explicitly.
unset VQTANS_FW_PAYLOAD

now() { date +%s.%N; }
elapsed() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }

check_tools() {
  local missing=0 tool
  for tool in cargo qemu-system-arm defmt-print flip-link timeout cmp bc; do
    if ! command -v "$tool" >/dev/null; then
      echo "qemu-test.sh: '$tool' not found" >&2
      missing=1
    fi
  done
  if ((missing)); then
    echo "hint: apt-get install qemu-system-arm bc; cargo install defmt-print flip-link;" \
      "rustup target add thumbv7em-none-eabihf" >&2
    exit 2
  fi
}

# build_elf NAME [CARGO_ARGS...]
#   Builds the release firmware with CARGO_ARGS (e.g. --features fail-test)
#   and keeps the ELF as $OUT/NAME.elf. The embedded payload is
#   data/placeholder.bin unless the caller sets VQTANS_FW_PAYLOAD, e.g.
#   VQTANS_FW_PAYLOAD=../path/seg.vqt build_elf seg1
build_elf() {
  local name=$1
  shift
  local t0
  t0=$(now)
  cargo build --release --quiet "$@"
  cp "$ELF_BUILT" "$OUT/$name.elf"
  echo "built $name.elf in $(elapsed "$t0")s ($*)"
}

# run_case NAME EXPECT ELF [--uart FILE] [--log REGEX]...
#   EXPECT: ok   = QEMU must exit 0 (semihosting EXIT_SUCCESS);
#           fail = QEMU must exit 1 (semihosting EXIT_FAILURE) within the
#                  time limit; a timeout (124) or any other status fails.
#   --uart FILE   UART0 output must equal FILE byte for byte.
#   --log REGEX   the decoded defmt log must contain a line matching REGEX
#                 (extended regex; may be repeated).
#   One case is one check: it passes only if every condition holds.
run_case() {
  local name=$1 expect=$2 elf=$3
  shift 3
  local uart_file="" status=0 t0 re
  local -a log_res=() problems=()
  while (($#)); do
    case $1 in
      --uart) uart_file=$2; shift 2 ;;
      --log) log_res+=("$2"); shift 2 ;;
      *) echo "run_case $name: unknown option $1" >&2; exit 2 ;;
    esac
  done

  local dir=$OUT/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  t0=$(now)
  UART_OUT=$dir/uart0.bin DEFMT_RAW=$dir/defmt.raw QEMU_TIMEOUT=$TIMEOUT \
    ./qemu-run.sh "$elf" >"$dir/log.txt" 2>"$dir/stderr.txt" || status=$?

  case $expect in
    ok) ((status == 0)) || problems+=("QEMU exit status $status, expected 0") ;;
    fail)
      if ((status == 124)); then
        problems+=("timed out after ${TIMEOUT}s instead of failing")
      elif ((status != 1)); then
        problems+=("QEMU exit status $status, expected 1 (failure)")
      fi
      ;;
    *) echo "run_case $name: EXPECT must be ok or fail" >&2; exit 2 ;;
  esac
  if [[ -n $uart_file ]] && ! cmp -s "$uart_file" "$dir/uart0.bin"; then
    problems+=("UART0 bytes differ from $uart_file ($(stat -c %s "$dir/uart0.bin") vs $(stat -c %s "$uart_file") bytes)")
  fi
  for re in "${log_res[@]}"; do
    grep -Eq -- "$re" "$dir/log.txt" || problems+=("log has no line matching /$re/")
  done

  if ((${#problems[@]} == 0)); then
    passed=$((passed + 1))
    echo "PASS $name (expect $expect, exit $status, $(elapsed "$t0")s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name (expect $expect, exit $status, $(elapsed "$t0")s)"
    printf '  - %s\n' "${problems[@]}"
    echo "  log ($dir/log.txt):"
    sed 's/^/    /' "$dir/log.txt" | tail -n 20
    sed 's/^/    stderr: /' "$dir/stderr.txt" | tail -n 5
  fi
}

check_tools
mkdir -p "$OUT"

# ---- firmware variants ------------------------------------------------------
build_elf placeholder
build_elf panic --features fail-test
build_elf hardfault --features fault-test
build_elf systick-wrap --features long-calibration

# ---- cases ------------------------------------------------------------------
# Payload from flash comes out of UART0 byte-exactly; SysTick runs at
# 40 instructions per tick under -icount shift=0 (each of the two timestamps
# may be off by one tick, hence 39.99x is accepted).
run_case placeholder ok "$OUT/placeholder.elf" --uart "$PLACEHOLDER" \
  --log 'calibration: .* = (40\.00|39\.99)[0-9] instructions per tick' \
  --log 'stack: peak [0-9]+ bytes'
# A panic must end QEMU with a failure status, not hang.
run_case panic fail "$OUT/panic.elf" --log 'panic: .*deliberate failure'
# So must a HardFault (undefined instruction).
run_case hardfault fail "$OUT/hardfault.elf" --log 'HardFault: pc='
# Measuring across SysTick wraps (18 M ticks > 2^24) stays exact.
run_case systick-wrap ok "$OUT/systick-wrap.elf" --uart "$PLACEHOLDER" \
  --log 'calibration: 720000000 instructions in 18000000 SysTick ticks'
# Later: one case per encoded segment (VQTANS_FW_PAYLOAD=... build_elf segN,
# then run_case segN ok ... --uart <decoded tokens>), and a corrupted-stream
# case expected to fail.

echo "$passed passed, $failed failed"
((failed == 0))
