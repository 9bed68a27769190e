#!/usr/bin/env bash
# The cargo runner (`cargo run --release --features BOARD`): runs a firmware
# ELF the way its board is run. The board is the one the build was made for,
# named by the ELF's VQTANS_BOARD_* symbol (src/boards/), never guessed:
#
#   mps2-an386     QEMU (qemu-run.sh)
#   microbit-v1    probe-rs run --chip nRF51822_xxAA   (VQTANS_RUN=qemu: QEMU microbit)
#   nrf52840-dk    probe-rs run --chip nRF52840_xxAA
#   nucleo-f446re  probe-rs run --chip STM32F446RETx
#
#   run.sh ELF            run it
#   run.sh --print ELF    print the command only
set -euo pipefail

print=0
if [[ ${1:-} == --print ]]; then
  print=1
  shift
fi
elf=${1:?usage: run.sh [--print] ELF}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

board=$(readelf -sW "$elf" | grep -o 'VQTANS_BOARD_[A-Z0-9_]*' | head -n 1) || true
case $board in
  VQTANS_BOARD_MPS2_AN386) cmd=("$here/qemu-run.sh" "$elf") ;;
  VQTANS_BOARD_MICROBIT_V1)
    if [[ ${VQTANS_RUN:-} == qemu ]]; then
      cmd=("$here/qemu-run.sh" "$elf")
    else
      cmd=(probe-rs run --chip nRF51822_xxAA "$elf")
    fi
    ;;
  VQTANS_BOARD_NRF52840_DK) cmd=(probe-rs run --chip nRF52840_xxAA "$elf") ;;
  VQTANS_BOARD_NUCLEO_F446RE) cmd=(probe-rs run --chip STM32F446RETx "$elf") ;;
  *)
    echo "run.sh: $elf names no board (no VQTANS_BOARD_* symbol; readelf -s)" >&2
    exit 2
    ;;
esac
if ((print)); then
  echo "${cmd[*]}"
  exit 0
fi
if [[ ${cmd[0]} == probe-rs ]] && ! command -v probe-rs >/dev/null; then
  echo "run.sh: probe-rs not found; install it (https://probe.rs, e.g. \`cargo install probe-rs-tools --locked\`)," \
    "connect the board over USB and run again; or flash $elf with another tool" >&2
  exit 2
fi
exec "${cmd[@]}"
