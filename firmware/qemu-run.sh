#!/usr/bin/env bash
# Boots one firmware ELF in QEMU and prints its defmt log. Used by run.sh
# (the cargo runner) and by qemu-test.sh. The QEMU machine is the board the
# ELF was built for, named by its VQTANS_BOARD_* symbol (readelf -s):
# mps2-an386 (Cortex-M4F) or microbit-v1 (nRF51822, Cortex-M0; QEMU's
# `microbit`); see src/boards/. Exit status:
# QEMU's (0 = semihosting success, 1 = failure), 124 if the time limit was hit.
#
#   qemu-run.sh ELF
#
# Environment:
#   UART_OUT      where UART0's byte stream goes   (default target/uart0.bin)
#   DEFMT_RAW     also keep the raw defmt stream here (default: not kept)
#   QEMU_TIMEOUT  seconds before QEMU is killed   (default 120)
#   UART_SOCKET   connect UART0 to a Unix socket QEMU makes at this path instead
#                 (both directions): QEMU waits for the host end (`host-tools
#                 link --port PATH`) to connect before it starts the firmware;
#                 UART_OUT is then not written
#
# Wiring: the link UART (mps2-an386: UART0 at 0x4000_4000; microbit: the
# nRF51 UART at 0x4000_2000) is QEMU's first serial port, serial_hd(0), so
# `-serial file:$UART_OUT` captures it byte-exactly (or `-chardev socket`
# connects it to the host program that sends streams to it). Semihosting console
# output (the defmt frames) goes to QEMU's stdout, which carries nothing
# else: -monitor none, no other serial on stdio. `-icount shift=0` makes each
# guest instruction take 1 ns of virtual time, so timings are deterministic.
set -euo pipefail

elf=${1:?usage: qemu-run.sh ELF}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
uart_out=${UART_OUT:-$here/target/uart0.bin}
raw_out=${DEFMT_RAW:-/dev/null}
mkdir -p "$(dirname "$uart_out")"
if [[ -n ${UART_SOCKET:-} ]]; then
  serial=(-chardev "socket,id=uart0,path=$UART_SOCKET,server=on,wait=on" -serial chardev:uart0)
else
  serial=(-serial "file:$uart_out")
fi

case $(readelf -sW "$elf" 2>/dev/null | grep -o 'VQTANS_BOARD_[A-Z0-9_]*' | head -n 1) in
  VQTANS_BOARD_MPS2_AN386) machine=(-machine mps2-an386 -cpu cortex-m4) ;;
  VQTANS_BOARD_MICROBIT_V1) machine=(-machine microbit) ;;
  *)
    echo "qemu-run.sh: $elf is not built for a QEMU board (mps2-an386, microbit-v1): no VQTANS_BOARD_* symbol for one" >&2
    exit 2
    ;;
esac

set +e
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
  "${machine[@]}" \
  -nographic -monitor none \
  -semihosting-config enable=on,target=native \
  -icount shift=0 \
  "${serial[@]}" \
  -kernel "$elf" \
  | tee "$raw_out" | defmt-print -e "$elf"
status=("${PIPESTATUS[@]}")
set -e
if [[ ${status[2]} -ne 0 ]]; then
  echo "qemu-run.sh: defmt-print exited with ${status[2]}" >&2
fi
exit "${status[0]}"
