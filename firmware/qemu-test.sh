#!/usr/bin/env bash
# End-to-end firmware tests in QEMU, on two boards: mps2-an386 (Cortex-M4F)
# and microbit (nRF51822, Cortex-M0; the m0-* cases).
#
# Makes the blobs with host-tools (leave-one-out: each real segment is encoded
# with tables built from the other one), builds firmware variants with them in
# flash, boots each in QEMU under a time limit, captures UART0 to a file and
# the defmt log (semihosting) through defmt-print, then checks exit status,
# UART bytes (token for token against the original .npy) and log lines. One
# more case checks that the build refuses a table set over the microbit's
# flash budget. Ends with the line "N passed, M failed" and exits non-zero if
# M > 0.
#
# Add a case with run_case (see below). Artefacts of case NAME are kept in
# target/qemu-test/NAME/: uart0.bin, defmt.raw, log.txt (decoded), stderr.txt
# (and profile.txt for decode cases); blobs and expected outputs in
# target/qemu-test/blobs/.
#
# Needs: rustup targets thumbv7em-none-eabihf and thumbv6m-none-eabi,
# qemu-system-arm (Debian package qemu-system-arm), defmt-print and flip-link
# (`cargo install defmt-print flip-link`), python3 (standard library only), bc,
# binutils' readelf (qemu-run.sh reads the board from the ELF's symbols) and
# llvm-addr2line or binutils' addr2line (profile report). The real segments are read from $VQTANS_DATA (default
# <repo>/../shared/data/commavq).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
REPO=$(cd .. && pwd)
DATA=$(cd "${VQTANS_DATA:-$REPO/../shared/data/commavq}" 2>/dev/null && pwd) ||
  DATA=${VQTANS_DATA:-$REPO/../shared/data/commavq}
# The two distinct real segments (near_duplicates/ is not used).
SEGMENTS=(commaai-commavq_0 mattseabrook-commavq_0)
OUT=target/qemu-test
BLOBS=$PWD/$OUT/blobs
# Build targets: the mps2-an386's (the default in .cargo/config.toml) and the
# microbit's.
M4_TARGET=thumbv7em-none-eabihf
M0_TARGET=thumbv6m-none-eabi
# The microbit's build: its board feature and target (src/boards/spec.rs).
M0=(--features microbit-v1 --target "$M0_TARGET")
# Per case, in seconds: a hang guard only (a stalled case fails with 124).
# The link cases take ~25 s on an idle machine and more than 120 s with
# eight busy processes on two cores.
TIMEOUT=${QEMU_TIMEOUT:-600}
PLACEHOLDER=data/placeholder.bin
passed=0
failed=0
T_START=$(date +%s.%N)

# The builds below choose their segments explicitly.
unset VQTANS_FW_TABLES VQTANS_FW_STREAM

now() { date +%s.%N; }

# abort MESSAGE: setup failed (tools, data, blobs or a build): counts as one
# failed check, prints the closing line and exits non-zero.
abort() {
  echo "qemu-test.sh: $*" >&2
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
}
elapsed() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }

check_tools() {
  local missing=0 tool
  for tool in cargo qemu-system-arm defmt-print flip-link timeout cmp bc python3 addr2line readelf; do
    if ! command -v "$tool" >/dev/null; then
      echo "qemu-test.sh: '$tool' not found" >&2
      missing=1
    fi
  done
  if ((missing)); then
    echo "hint: apt-get install qemu-system-arm bc python3 binutils; cargo install defmt-print flip-link;" \
      "rustup target add $M4_TARGET $M0_TARGET" >&2
    abort "missing tools"
  fi
}

# elf_built CARGO_ARGS...: where cargo puts the ELF of a build with
# CARGO_ARGS (the target is $M4_TARGET unless they say --target T).
elf_built() {
  local target=$M4_TARGET
  while (($#)); do
    [[ $1 == --target ]] && target=$2
    shift
  done
  echo "${CARGO_TARGET_DIR:-target}/$target/release/vqtans-firmware"
}

# build_elf NAME [CARGO_ARGS...]
#   Builds the release firmware with CARGO_ARGS (e.g. --features fail-test, or
#   "${M0[@]}" for the microbit) and keeps the ELF as $OUT/NAME.elf.
#   The segments in flash are those the caller names in VQTANS_FW_TABLES /
#   VQTANS_FW_STREAM (see build.rs), e.g.
#   VQTANS_FW_TABLES=a.vqtt VQTANS_FW_STREAM=a.vqt build_elf seg; none (the
#   placeholder payload) if unset.
build_elf() {
  local name=$1
  shift
  local t0
  t0=$(now)
  # Compiler output goes to a file (warnings of code under development
  # elsewhere would drown the report); it is shown if the build fails.
  if ! cargo build --release "$@" >"$OUT/build-$name.log" 2>&1; then
    tail -n 40 "$OUT/build-$name.log" >&2
    abort "building $name failed (full output: $OUT/build-$name.log)"
  fi
  cp "$(elf_built "$@")" "$OUT/$name.elf"
  local what=${VQTANS_FW_STREAM:+segments: $VQTANS_FW_STREAM}
  what=${what//$BLOBS\//}
  echo "built $name.elf in $(elapsed "$t0")s (${*:-default features}${what:+; $what})"
}

# host_tools ARGS...: the vqtans command-line tool (release build). Its
# output (and cargo's) goes to $BLOBS/host-tools.log, shown if it fails.
host_tools() {
  if ! (cd "$REPO" && cargo run --release -p host-tools -- "$@") >>"$BLOBS/host-tools.log" 2>&1; then
    tail -n 40 "$BLOBS/host-tools.log" >&2
    abort "host-tools $1 failed (full output: $BLOBS/host-tools.log)"
  fi
}

# host_tools_out ARGS...: like host_tools, but prints the tool's standard
# output (cargo's goes to the log).
host_tools_out() {
  if ! (cd "$REPO" && cargo run --release -q -p host-tools -- "$@") 2>>"$BLOBS/host-tools.log"; then
    tail -n 40 "$BLOBS/host-tools.log" >&2
    abort "host-tools $1 failed (full output: $BLOBS/host-tools.log)"
  fi
}

# npy_to_le16 NPY OUT: writes the tokens of NPY (integer array of shape
# (frames, 8, 16) or (frames, 128), C order, values 0..1023) to OUT as u16
# little-endian, frame by frame: the bytes the firmware must send.
npy_to_le16() {
  python3 - "$1" "$2" <<'PY'
import ast, struct, sys
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
if data[:6] != b"\x93NUMPY":
    sys.exit(f"{src}: not a .npy file")
major = data[6]
hlen_size = 2 if major == 1 else 4
hlen = int.from_bytes(data[8:8 + hlen_size], "little")
start = 8 + hlen_size + hlen
header = ast.literal_eval(data[8 + hlen_size:start].decode("latin1"))
descr, shape = header["descr"], tuple(header["shape"])
if header["fortran_order"]:
    sys.exit(f"{src}: Fortran order is not supported")
if len(shape) not in (2, 3) or shape[-1] * (shape[1] if len(shape) == 3 else 1) != 128 or shape[0] < 1:
    sys.exit(f"{src}: shape {shape} is not (frames, 8, 16)")
codes = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
if descr[1:] not in codes or descr[0] not in "<>|=":
    sys.exit(f"{src}: dtype {descr} is not an integer type")
n = shape[0] * 128
order = ">" if descr[0] == ">" else "<"
values = struct.unpack_from(f"{order}{n}{codes[descr[1:]]}", data, start)
if any(not 0 <= v <= 1023 for v in values):
    sys.exit(f"{src}: token outside 0..1023")
open(dst, "wb").write(struct.pack(f"<{n}H", *values))
PY
}

# flip_payload_byte IN OUT: copies stream IN to OUT with the middle payload
# byte inverted (the 32-byte header, with its own CRC, stays intact).
flip_payload_byte() {
  python3 - "$1" "$2" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
payload = int.from_bytes(b[20:24], "little")
assert len(b) == 32 + payload, "not a vqtans stream"
b[32 + payload // 2] ^= 0xFF
open(sys.argv[2], "wb").write(b)
PY
}

# make_blobs: for each real segment S, tables from the *other* segment
# (host-tools build-tables) and S's stream with them (host-tools encode),
# plus the expected UART bytes (S's tokens as u16 LE). Also the damaged
# stream of the corrupt-stream case.
make_blobs() {
  local t0 i seg other
  t0=$(now)
  rm -rf "$BLOBS"
  mkdir -p "$BLOBS/corrupt" "$BLOBS/k64"
  for i in "${!SEGMENTS[@]}"; do
    seg=${SEGMENTS[$i]}
    other=${SEGMENTS[$(((i + 1) % ${#SEGMENTS[@]}))]}
    [[ -f $DATA/$seg.npy ]] || abort "$DATA/$seg.npy not found (set VQTANS_DATA)"
    host_tools build-tables -o "$BLOBS/$seg.vqtt" "$DATA/$other.npy"
    host_tools encode --tables "$BLOBS/$seg.vqtt" -o "$BLOBS/$seg.vqt" "$DATA/$seg.npy"
    npy_to_le16 "$DATA/$seg.npy" "$BLOBS/$seg.expected" || abort "reading $DATA/$seg.npy failed"
    echo "blobs for $seg: tables from $other ($(stat -c %s "$BLOBS/$seg.vqtt") B), stream $(stat -c %s "$BLOBS/$seg.vqt") B"
    # The same with successor lists of 64 instead of the default 192.
    host_tools build-tables --k 64 -o "$BLOBS/k64/$seg.vqtt" "$DATA/$other.npy"
    host_tools encode --tables "$BLOBS/k64/$seg.vqtt" -o "$BLOBS/k64/$seg.vqt" "$DATA/$seg.npy"
  done
  flip_payload_byte "$BLOBS/${SEGMENTS[0]}.vqt" "$BLOBS/corrupt/${SEGMENTS[0]}.vqt" ||
    abort "making the damaged stream failed"
  echo "made blobs in $(elapsed "$t0")s"
}

# Streams over UART0 (the link cases): frames per checksum group, and the
# group the uart-corrupt case damages (of the first segment's 60).
LINK_GROUP_FRAMES=20
CORRUPT_GROUP=7

# damage_group TABLES STREAM OUT: copies STREAM (made with TABLES) to OUT
# with one byte inverted in the middle of group $CORRUPT_GROUP's bits (where
# the group lies comes from `host-tools groups`).
damage_group() {
  local range
  range=$(host_tools_out groups --tables "$1" "$2" |
    awk -v g="$CORRUPT_GROUP" '$1 == "group" && $2 == g { print $8 }')
  [[ $range =~ ^([0-9]+)\.\.([0-9]+)$ ]] || abort "no byte range for group $CORRUPT_GROUP of $2"
  python3 - "$2" "$3" $(((BASH_REMATCH[1] + BASH_REMATCH[2]) / 2)) <<'PY' ||
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 0xFF
open(sys.argv[2], "wb").write(b)
PY
    abort "making the damaged link stream $3 failed"
  echo "link blobs: group $CORRUPT_GROUP of ${2#"$BLOBS"/} is stream bytes ${BASH_REMATCH[1]}..${BASH_REMATCH[2]}; byte $(((BASH_REMATCH[1] + BASH_REMATCH[2]) / 2)) inverted"
}

# make_link_blobs: the damaged streams of the link cases. uart-corrupt: the
# first segment's stream with group $CORRUPT_GROUP damaged; uart-truncated:
# the first half (LINK_CUT bytes) of the second segment's stream, and
# TRUNCATED_GROUPS, the number of its groups whose bytes (`host-tools groups`)
# all lie before the cut: exactly those come back.
make_link_blobs() {
  local seg=${SEGMENTS[0]} cut_seg=${SEGMENTS[1]}
  mkdir -p "$BLOBS/link"
  damage_group "$BLOBS/$seg.vqtt" "$BLOBS/$seg.vqt" "$BLOBS/link/corrupt.vqt"
  LINK_CUT=$(($(stat -c %s "$BLOBS/$cut_seg.vqt") / 2))
  head -c "$LINK_CUT" "$BLOBS/$cut_seg.vqt" >"$BLOBS/link/truncated.vqt"
  TRUNCATED_GROUPS=$(host_tools_out groups --tables "$BLOBS/$cut_seg.vqtt" "$BLOBS/$cut_seg.vqt" |
    awk -v cut="$LINK_CUT" '$1 == "group" && split($8, r, /\.\./) == 2 && r[2] <= cut { n++ } END { print n + 0 }')
  ((TRUNCATED_GROUPS > 0)) || abort "no whole group of $cut_seg lies in its first $LINK_CUT bytes"
  echo "link blobs: the first $TRUNCATED_GROUPS groups of $cut_seg.vqt lie wholly in its first $LINK_CUT bytes"
}

# The device footprint (table set + compiled image) the microbit's table sets
# are built for: 128 KiB of its 256 KiB of flash.
M0_TABLE_BUDGET=131072

# m0_tables OUT INPUT: a table set for the microbit, trained on INPUT, that
# fits its flash next to the firmware: `build-tables --max-bytes` chooses the
# model's size parameters for the budget on held-out parts of INPUT.
m0_tables() {
  host_tools build-tables --max-bytes "$M0_TABLE_BUDGET" -o "$1" "$2"
}

# npy_head NPY N OUT: the first N frames of NPY (a C-order .npy of shape
# (frames, 8, 16), format 1.x) as a .npy of shape (N, 8, 16).
npy_head() {
  python3 - "$1" "$2" "$3" <<'PY'
import ast, sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
if data[:6] != b"\x93NUMPY" or data[6] != 1:
    sys.exit(f"{src}: not a format 1.x .npy file")
hlen = int.from_bytes(data[8:10], "little")
header = ast.literal_eval(data[10:10 + hlen].decode("latin1"))
shape, item = tuple(header["shape"]), int(header["descr"][2:])
if header["fortran_order"] or len(shape) != 3 or shape[1:] != (8, 16) or not 0 < n <= shape[0]:
    sys.exit(f"{src}: shape {shape} has no {n} frames of 8 x 16 in C order")
text = repr(dict(header, shape=(n, 8, 16))).encode("latin1")
text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
body = data[10 + hlen:10 + hlen + n * 128 * item]
open(dst, "wb").write(data[:8] + len(text).to_bytes(2, "little") + text + body)
PY
}

# Frames of the m0-decode cases' streams in flash: a whole segment's stream
# and a table set for the microbit do not fit its flash together (research/
# budget.md, section 7), so these streams hold the first half of a segment.
M0_FLASH_FRAMES=600
# Frames of the m0-kernel-check cases' streams: their damaged copies must fit
# the check's 4 KiB RAM buffer on the microbit (src/kernel_check.rs).
M0_CHECK_FRAMES=56
M0_CHECK_BYTES=4096

# make_m0_blobs: for the microbit, for each real segment S, a table set that
# fits its flash built from the other segment and S's stream with it
# (leave-one-out, as for the M4), the stream of S's first $M0_FLASH_FRAMES
# frames with its expected tokens and that of its first $M0_CHECK_FRAMES
# frames; and the first segment's stream with group $CORRUPT_GROUP damaged.
make_m0_blobs() {
  local t0 i seg other
  t0=$(now)
  mkdir -p "$BLOBS/m0/head" "$BLOBS/m0/check"
  for i in "${!SEGMENTS[@]}"; do
    seg=${SEGMENTS[$i]}
    other=${SEGMENTS[$(((i + 1) % ${#SEGMENTS[@]}))]}
    m0_tables "$BLOBS/m0/$seg.vqtt" "$DATA/$other.npy"
    host_tools encode --tables "$BLOBS/m0/$seg.vqtt" -o "$BLOBS/m0/$seg.vqt" "$DATA/$seg.npy"
    npy_head "$DATA/$seg.npy" $M0_FLASH_FRAMES "$BLOBS/m0/head/$seg.npy" || abort "cutting $seg failed"
    host_tools encode --tables "$BLOBS/m0/$seg.vqtt" -o "$BLOBS/m0/head/$seg.vqt" "$BLOBS/m0/head/$seg.npy"
    head -c $((M0_FLASH_FRAMES * 256)) "$BLOBS/$seg.expected" >"$BLOBS/m0/head/$seg.expected"
    npy_head "$DATA/$seg.npy" $M0_CHECK_FRAMES "$BLOBS/m0/check/$seg.npy" || abort "cutting $seg failed"
    host_tools encode --tables "$BLOBS/m0/$seg.vqtt" -o "$BLOBS/m0/check/$seg.vqt" "$BLOBS/m0/check/$seg.npy"
    (($(stat -c %s "$BLOBS/m0/check/$seg.vqt") <= M0_CHECK_BYTES)) ||
      abort "the first $M0_CHECK_FRAMES frames of $seg take over $M0_CHECK_BYTES B: lower M0_CHECK_FRAMES"
    echo "microbit blobs for $seg: tables from $other ($(stat -c %s "$BLOBS/m0/$seg.vqtt") B), stream $(stat -c %s "$BLOBS/m0/$seg.vqt") B, first $M0_FLASH_FRAMES frames $(stat -c %s "$BLOBS/m0/head/$seg.vqt") B"
  done
  seg=${SEGMENTS[0]}
  damage_group "$BLOBS/m0/$seg.vqtt" "$BLOBS/m0/$seg.vqt" "$BLOBS/m0/corrupt.vqt"
  echo "made microbit blobs in $(elapsed "$t0")s"
}

# build_refused NAME REGEX [CARGO_ARGS...]: one check: the release build with
#   CARGO_ARGS (and the caller's VQTANS_FW_* variables) must fail, and its
#   output must have a line matching REGEX (extended regex).
build_refused() {
  local name=$1 re=$2 t0 log
  shift 2
  t0=$(now)
  log=$OUT/build-$name.log
  if cargo build --release "$@" >"$log" 2>&1; then
    failed=$((failed + 1))
    echo "FAIL $name (the build succeeded; it must be refused)"
  elif ! grep -Eq -- "$re" "$log"; then
    failed=$((failed + 1))
    echo "FAIL $name (the build failed, but its output has no line matching /$re/)"
    tail -n 20 "$log" | sed 's/^/    /'
  else
    passed=$((passed + 1))
    echo "PASS $name (build refused, $(elapsed "$t0")s): $(grep -Eo -- "$re" "$log" | head -n 1)"
  fi
}

# joined SEP ITEMS...: ITEMS joined by SEP.
joined() {
  local IFS=$1
  shift
  echo "$*"
}

# run_case NAME EXPECT ELF [--uart FILE] [--log REGEX]...
#          [--send FILE --tables T [--expect NPY] [--link-log REGEX]]...
#   EXPECT: ok   = QEMU must exit 0 (semihosting EXIT_SUCCESS);
#           fail = QEMU must exit 1 (semihosting EXIT_FAILURE) within the
#                  time limit; a timeout (124) or any other status fails.
#   --uart FILE   UART0 output must equal FILE byte for byte.
#   --log REGEX   the decoded defmt log must contain a line matching REGEX
#                 (extended regex; may be repeated).
#   --send FILE   connect UART0 to `host-tools link` instead of a file
#                 (through a Unix socket QEMU listens on, see qemu-run.sh),
#                 which sends FILE (repeatable: back to back), encoded with
#                 one of the --tables T (repeatable), and compares the frames
#                 that come back with --expect NPY (one per FILE: the
#                 original; link stops at the first frame that differs). Its
#                 status must be 0 for EXPECT ok (and then each stream's
#                 frames, written with -o, must equal its NPY byte for byte)
#                 and 1 for EXPECT fail; --link-log REGEX: its output (in
#                 link.txt) must have a line matching REGEX.
#   One case is one check: it passes only if every condition holds.
run_case() {
  local name=$1 expect=$2 elf=$3
  shift 3
  local uart_file="" status=0 link_status=0 t0 re i
  local -a log_res=() problems=() send=() tables=() originals=() link_res=() outputs=()
  while (($#)); do
    case $1 in
      --uart) uart_file=$2; shift 2 ;;
      --log) log_res+=("$2"); shift 2 ;;
      --send) send+=("$2"); shift 2 ;;
      --tables) tables+=(--tables "$2"); shift 2 ;;
      --expect) originals+=("$2"); shift 2 ;;
      --link-log) link_res+=("$2"); shift 2 ;;
      *) echo "run_case $name: unknown option $1" >&2; exit 2 ;;
    esac
  done

  local dir=$OUT/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  t0=$(now)
  if ((${#send[@]})); then
    # QEMU listens on the socket and starts the firmware once host-tools link
    # connected; the link's own timeout is only a hang guard (the firmware
    # times out first, and QEMU's exit closes the link).
    if [[ $expect == ok ]]; then
      for i in "${!send[@]}"; do outputs+=("$dir/back-$i.npy"); done
    fi
    local sock=$dir/uart0.sock waited=0 qemu
    UART_SOCKET=$sock DEFMT_RAW=$dir/defmt.raw QEMU_TIMEOUT=$TIMEOUT \
      ./qemu-run.sh "$elf" >"$dir/log.txt" 2>"$dir/stderr.txt" &
    qemu=$!
    while [[ ! -S $sock ]] && kill -0 "$qemu" 2>/dev/null && ((waited++ < TIMEOUT * 10)); do sleep 0.1; done
    "$HOST_TOOLS" link --port "$sock" --timeout "$TIMEOUT" "${tables[@]}" "${send[@]}" \
      ${originals[0]:+--expect "${originals[@]}"} ${outputs[0]:+-o "${outputs[@]}"} >"$dir/link.txt" 2>&1 || link_status=$?
    wait "$qemu" || status=$?
    case $expect in
      ok) ((link_status == 0)) || problems+=("host-tools link exit status $link_status, expected 0") ;;
      *) ((link_status == 1)) || problems+=("host-tools link exit status $link_status, expected 1") ;;
    esac
    for i in "${!outputs[@]}"; do
      cmp -s "${originals[$i]}" "${outputs[$i]}" ||
        problems+=("the frames of stream $i that came back (${outputs[$i]}) differ from ${originals[$i]}")
    done
    for re in "${link_res[@]}"; do
      grep -Eq -- "$re" "$dir/link.txt" || problems+=("host-tools link output has no line matching /$re/")
    done
  else
    UART_OUT=$dir/uart0.bin DEFMT_RAW=$dir/defmt.raw QEMU_TIMEOUT=$TIMEOUT \
      ./qemu-run.sh "$elf" >"$dir/log.txt" 2>"$dir/stderr.txt" || status=$?
  fi

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
    [[ ! -s $dir/link.txt ]] || sed 's/^/    link: /' "$dir/link.txt" | tail -n 5
  fi
}

check_tools
mkdir -p "$OUT"
make_blobs
# The host end of the link cases: the host-tools binary make_blobs built.
HOST_TOOLS=$(cd "$REPO" && realpath -m "${CARGO_TARGET_DIR:-target}/release/host-tools")
[[ -x $HOST_TOOLS ]] || abort "$HOST_TOOLS not found after building host-tools"
make_link_blobs
make_m0_blobs

# ---- firmware variants ------------------------------------------------------
build_elf placeholder
build_elf panic --features fail-test
build_elf hardfault --features fault-test
build_elf systick-wrap --features long-calibration
# Both real segments in one image, each with the tables of the other.
all_tables=() all_streams=() all_expected=()
for seg in "${SEGMENTS[@]}"; do
  all_tables+=("$BLOBS/$seg.vqtt")
  all_streams+=("$BLOBS/$seg.vqt")
  all_expected+=("$BLOBS/$seg.expected")
done
cat "${all_expected[@]}" >"$BLOBS/all.expected"
VQTANS_FW_TABLES=$(joined : "${all_tables[@]}") VQTANS_FW_STREAM=$(joined : "${all_streams[@]}") \
  build_elf decode --features profile
# Both segments again, for comparing the ARMv7E-M frame loop with the portable
# one on intact and damaged copies of the streams.
VQTANS_FW_TABLES=$(joined : "${all_tables[@]}") VQTANS_FW_STREAM=$(joined : "${all_streams[@]}") \
  build_elf kernel-check --features kernel-check
# Both segments with tables of K = 64 (the frame loop takes any list length).
k64_tables=() k64_streams=()
for seg in "${SEGMENTS[@]}"; do
  k64_tables+=("$BLOBS/k64/$seg.vqtt")
  k64_streams+=("$BLOBS/k64/$seg.vqt")
done
VQTANS_FW_TABLES=$(joined : "${k64_tables[@]}") VQTANS_FW_STREAM=$(joined : "${k64_streams[@]}") \
  build_elf decode-k64
VQTANS_FW_TABLES=$(joined : "${k64_tables[@]}") VQTANS_FW_STREAM=$(joined : "${k64_streams[@]}") \
  build_elf kernel-check-k64 --features kernel-check
# The first segment with one payload byte inverted.
VQTANS_FW_TABLES=${all_tables[0]} VQTANS_FW_STREAM=$BLOBS/corrupt/${SEGMENTS[0]}.vqt \
  build_elf corrupt-stream
# The first segment's stream with the second segment's tables.
VQTANS_FW_TABLES=${all_tables[1]} VQTANS_FW_STREAM=${all_streams[0]} \
  build_elf wrong-tables
# Only the two table sets in flash: streams arrive over UART0.
VQTANS_FW_LINK_TABLES=$(joined : "${all_tables[@]}") build_elf link
# The microbit (Cortex-M0): the placeholder, a HardFault, and per segment an
# image with the one table set that decodes it (two do not fit its flash);
# streams arrive over its UART.
build_elf m0-placeholder "${M0[@]}"
build_elf m0-hardfault "${M0[@]}" --features fault-test
for seg in "${SEGMENTS[@]}"; do
  VQTANS_FW_LINK_TABLES=$BLOBS/m0/$seg.vqtt build_elf "m0-link-$seg" "${M0[@]}"
  VQTANS_FW_TABLES=$BLOBS/m0/$seg.vqtt VQTANS_FW_STREAM=$BLOBS/m0/head/$seg.vqt \
    build_elf "m0-decode-$seg" "${M0[@]}"
  VQTANS_FW_TABLES=$BLOBS/m0/$seg.vqtt VQTANS_FW_STREAM=$BLOBS/m0/check/$seg.vqt \
    build_elf "m0-kernel-check-$seg" "${M0[@]}" --features kernel-check
done

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
  --log 'calibration: 720000000 instructions in 18000000 SysTick ticks' \
  --log 'clock: [0-9]+ back-to-back reads across a SysTick wrap, largest step [0-9]{1,3} ticks'
# Both real segments decode on the device (tables and compiled image checked
# at boot, no heap, frame by frame) and come out of UART0 token for token as
# in the original .npy files; the decoder stays within its RAM budget. The
# firmware itself fails the run (src/checks.rs) unless the hand-written
# ARMv7E-M frame loop decoded every frame >= 1, the decode stays within its
# instructions-per-token bound and beats the portable loop; the log must say so.
checks_logs=()
for seg in "${SEGMENTS[@]}"; do
  checks_logs+=(--log "segment $seg: checks: every frame >= 1 by the ARMv7E-M loop, .*: ok")
done
decode_logs=(--log 'calibration: .* = (40\.00|39\.99)[0-9] instructions per tick'
  --log "all ${#SEGMENTS[@]} segment\(s\) decoded and verified" "${checks_logs[@]}")
for seg in "${SEGMENTS[@]}"; do
  frames=$(($(stat -c %s "$BLOBS/$seg.expected") / 256))
  decode_logs+=(--log "segment $seg: tables in RAM: table set and image copied from flash"
    --log "segment $seg: with the tables read from flash instead: [0-9.]+ instructions/token"
    --log "segment $seg: table set [0-9a-f]{16} .* compiled image verified"
    --log "segment $seg: decoded and sent $frames frames \($((frames * 128)) tokens\); checksum and end of stream verified"
    --log "segment $seg: decoder RAM [0-9]+ B, budget 32768 B: ok"
    --log "segment $seg: decode $((frames * 128)) tokens .* instructions/token")
done
run_case decode ok "$OUT/decode.elf" --uart "$BLOBS/all.expected" "${decode_logs[@]}"
# The hand-written ARMv7E-M frame loop and the portable loop give the same
# tokens and the same results, frame by frame, on 157 streams per segment (and
# the kernel side did use the hand-written loop, the portable side did not).
# How the 157 streams end is pinned (the damage is deterministic): one
# decodes; the others end in ModelCorrupt, Truncated or GroupChecksum, none at
# `finish` or in another error (src/kernel_check.rs, `Outcomes`).
declare -A KERNEL_OUTCOMES=(
  [kernel-check/commaai-commavq_0]="model_corrupt: 2, truncated: 12, at_finish: 0, group_checksum: 142"
  [kernel-check/mattseabrook-commavq_0]="model_corrupt: 3, truncated: 14, at_finish: 0, group_checksum: 139"
  [kernel-check-k64/commaai-commavq_0]="model_corrupt: 2, truncated: 12, at_finish: 0, group_checksum: 142"
  [kernel-check-k64/mattseabrook-commavq_0]="model_corrupt: 4, truncated: 13, at_finish: 0, group_checksum: 139"
  [m0-kernel-check/commaai-commavq_0]="model_corrupt: 52, truncated: 27, at_finish: 0, group_checksum: 77"
  [m0-kernel-check/mattseabrook-commavq_0]="model_corrupt: 99, truncated: 23, at_finish: 0, group_checksum: 34"
)
# kernel_log CHECK SEG: the --log option of CHECK's line for segment SEG.
kernel_log() {
  echo "kernel-check: segment $2: 157 streams, kernel and portable loop agree \(Outcomes \{ streams: 157, ok: 1, ${KERNEL_OUTCOMES[$1/$2]:?no outcomes for $1/$2}, other: 0 \}\)"
}
kernel_logs=() k64_kernel_logs=()
for seg in "${SEGMENTS[@]}"; do
  kernel_logs+=(--log "$(kernel_log kernel-check "$seg")")
  k64_kernel_logs+=(--log "$(kernel_log kernel-check-k64 "$seg")")
done
run_case kernel-check ok "$OUT/kernel-check.elf" "${kernel_logs[@]}"
# The same with tables of successor lists of 64: decoded token for token, and
# the two loops agree.
run_case decode-k64 ok "$OUT/decode-k64.elf" --uart "$BLOBS/all.expected" \
  --log "all ${#SEGMENTS[@]} segment\(s\) decoded and verified" "${checks_logs[@]}"
run_case kernel-check-k64 ok "$OUT/kernel-check-k64.elf" "${k64_kernel_logs[@]}"
# A damaged payload must be reported as a decode error and fail the run
# (never a hang, never a pass).
run_case corrupt-stream fail "$OUT/corrupt-stream.elf" \
  --log "segment ${SEGMENTS[0]}: FAILED: Decode \{ frame: [0-9]+, error: \"?[a-z].*(corrupt|impossible|checksum|truncated)"
# So must a stream paired with the wrong table set (caught before decoding).
run_case wrong-tables fail "$OUT/wrong-tables.elf" \
  --log "segment ${SEGMENTS[0]}: FAILED: Decode \{ frame: 0, error: \"?stream was encoded with table set"

# Streams over UART0 (`host-tools link` at the host end), both segments back
# to back: each group of 20 frames goes back out once verified, token for
# token; the streaming decoder stays within 16 KiB of RAM; the session ends
# when the link is quiet after the last stream.
link_logs=()
for i in "${!SEGMENTS[@]}"; do
  link_logs+=(--log "link: table set ${SEGMENTS[$i]} [0-9a-f]{16} \([0-9]+ B with its image\) copied to RAM"
    --log "stream $i: table set ${SEGMENTS[$i]} [0-9a-f]{16}, container format 2, 1200 frames in 60 groups of 20"
    --log "stream $i: decoded and sent 1200 frames \(153600 tokens\) in 60 groups, each verified before it was sent"
    --log "stream $i: checks: decode at most [0-9.]+ instructions/token: ok"
    --log "stream $i: RAM: .* budget 16384 B: ok")
done
for i in "${!SEGMENTS[@]}"; do
  link_logs+=(--send "${all_streams[$i]}" --tables "${all_tables[$i]}" --expect "$DATA/${SEGMENTS[$i]}.npy"
    --link-log "^stream $i \\(.*\\): 1200 frames in 60 groups back, identical to .*${SEGMENTS[$i]}\\.npy; .* frames/s; .* B/s sent, .* B/s received$")
done
run_case uart-stream ok "$OUT/link.elf" "${link_logs[@]}" \
  --log "link: quiet for [0-9]+ ticks after stream 1: session over" \
  --log "link: all streams decoded and verified: 307200 tokens sent" \
  --link-log "^link: all 2 stream\\(s\\) came back whole and identical: 2400 frames in "
# link_stopped FRAMES HOW [STOP]: the line of `host-tools link` for a stream
# that came back whole and right up to frame FRAMES (a group boundary), then
# stopped, by default because the device reported a failure in the next
# group (STOP: another reason, as a regex); HOW says what the host's decoder
# makes of that group.
link_stopped() {
  local group=$(($1 / LINK_GROUP_FRAMES))
  local stop=${3:-"the device failed in group $group \\(its log says why\\)"}
  echo "^error: stream 0 \\(.*\\) frame $1, group $group: $stop; it sent $1 of 1200 frames \\($group groups\\), identical to .*\\.npy; $2"
}
# One byte inverted inside group $CORRUPT_GROUP: every group before it comes
# out, correct; nothing of it or after it (the device reports the failure,
# and QEMU's exit closes the link); the log names the group.
run_case uart-corrupt fail "$OUT/link.elf" \
  --send "$BLOBS/link/corrupt.vqt" --tables "${all_tables[0]}" --expect "$DATA/${SEGMENTS[0]}.npy" \
  --link-log "$(link_stopped $((CORRUPT_GROUP * LINK_GROUP_FRAMES)) "the host's decoder also stops there \\(group $CORRUPT_GROUP: ")" \
  --log "link: FAILED: Stream \{ stream: 0, group: $CORRUPT_GROUP, verified: $((CORRUPT_GROUP * LINK_GROUP_FRAMES)), error: \"?group $CORRUPT_GROUP: "
# The first half of the second segment's stream, then silence: exactly the
# groups that arrived whole come out (TRUNCATED_GROUPS, from `host-tools
# groups`), then a timeout error in the next group, and QEMU exits with a
# failure (no hang).
run_case uart-truncated fail "$OUT/link.elf" \
  --send "$BLOBS/link/truncated.vqt" --tables "${all_tables[1]}" --expect "$DATA/${SEGMENTS[1]}.npy" \
  --link-log "^stream 0 \\(.*\\) is cut short: $((LINK_CUT - 32)) of its [0-9]+ payload bytes" \
  --link-log "$(link_stopped $((TRUNCATED_GROUPS * LINK_GROUP_FRAMES)) "the host's decoder also stops there \\(group $TRUNCATED_GROUPS: ")" \
  --log "link: FAILED: Stream \{ stream: 0, group: $TRUNCATED_GROUPS, verified: $((TRUNCATED_GROUPS * LINK_GROUP_FRAMES)), error: \"?link failed in group $TRUNCATED_GROUPS: RxTimeout"
# A stream made with tables that are not in flash (K = 64): refused after its
# header, nothing sent.
run_case uart-wrong-tables fail "$OUT/link.elf" \
  --send "$BLOBS/k64/${SEGMENTS[0]}.vqt" --tables "$BLOBS/k64/${SEGMENTS[0]}.vqtt" --expect "$DATA/${SEGMENTS[0]}.npy" \
  --link-log "$(link_stopped 0 "the stream is intact on the host" "the device refused the stream before its first group \\(its log says why\\)")" \
  --log "stream 0: no table set [0-9a-f]{16} in flash" --log "link: FAILED: NoTables \{ stream: 0"

# ---- the microbit (Cortex-M0) ----------------------------------------------
# The UART path byte-exactly; SysTick at 62.5 instructions per tick (16 MHz).
run_case m0-placeholder ok "$OUT/m0-placeholder.elf" --uart "$PLACEHOLDER" \
  --log 'vqtans firmware up on microbit' \
  --log 'calibration: .* = 62\.(49[0-9]|50[0-9]) instructions per tick'
# A HardFault ends the run with a failure (ARMv6-M handler: no fault status
# registers).
run_case m0-hardfault fail "$OUT/m0-hardfault.elf" --log 'HardFault: pc='
# Each real segment streamed over the UART to an image with its (leave-one-out)
# table set in flash: every group verified before it goes back, token for
# token as in the .npy; the streaming path within 14 KiB of RAM (16 KiB in
# all) and the decode within its instructions-per-token bound (src/checks.rs).
for seg in "${SEGMENTS[@]}"; do
  run_case "m0-uart-stream-$seg" ok "$OUT/m0-link-$seg.elf" \
    --send "$BLOBS/m0/$seg.vqt" --tables "$BLOBS/m0/$seg.vqtt" --expect "$DATA/$seg.npy" \
    --link-log "^stream 0 \\(.*\\): 1200 frames in 60 groups back, identical to .*$seg\\.npy; " \
    --log "link: table set $seg [0-9a-f]{16} \([0-9]+ B with its image\) in flash" \
    --log "stream 0: table set $seg [0-9a-f]{16}, container format 2, 1200 frames in 60 groups of 20" \
    --log "stream 0: decoded and sent 1200 frames \(153600 tokens\) in 60 groups, each verified before it was sent" \
    --log "stream 0: checks: decode at most [0-9.]+ instructions/token: ok" \
    --log "stream 0: RAM: .* budget 14336 B: ok" \
    --log "link: all streams decoded and verified: 153600 tokens sent"
done
# The first half of each segment decoded from flash (table set and stream in
# flash, one segment per image), token for token; RAM within 8 KiB, at most
# the M0 bound of instructions per token (src/checks.rs); the firmware fails
# the run unless the hand-written ARMv6-M frame loop decoded every frame >= 1
# and beat the portable loop.
for seg in "${SEGMENTS[@]}"; do
  run_case "m0-decode-$seg" ok "$OUT/m0-decode-$seg.elf" --uart "$BLOBS/m0/head/$seg.expected" \
    --log "segment $seg: tables in flash" \
    --log "segment $seg: decoded and sent $M0_FLASH_FRAMES frames \($((M0_FLASH_FRAMES * 128)) tokens\); checksum and end of stream verified" \
    --log "segment $seg: decoder RAM [0-9]+ B, budget 8192 B: ok" \
    --log "segment $seg: decode $((M0_FLASH_FRAMES * 128)) tokens .* ARMv6-M frame loop: $((M0_FLASH_FRAMES - 1)) of $M0_FLASH_FRAMES frames" \
    --log "segment $seg: checks: every frame >= 1 by the ARMv6-M loop, at most [0-9.]+ instructions/token, faster than the portable loop: ok"
done
# The hand-written ARMv6-M frame loop and the portable loop give the same
# tokens and the same results, frame by frame, on the first $M0_CHECK_FRAMES
# frames of each segment, intact and damaged in 156 ways (157 streams; the
# kernel side did use the hand-written loop, the portable side did not).
for seg in "${SEGMENTS[@]}"; do
  run_case "m0-kernel-check-$seg" ok "$OUT/m0-kernel-check-$seg.elf" --log "$(kernel_log m0-kernel-check "$seg")"
done
# One byte inverted inside group $CORRUPT_GROUP: the groups before it come
# out, correct, nothing after; the log names the group.
run_case m0-uart-corrupt fail "$OUT/m0-link-${SEGMENTS[0]}.elf" \
  --send "$BLOBS/m0/corrupt.vqt" --tables "$BLOBS/m0/${SEGMENTS[0]}.vqtt" --expect "$DATA/${SEGMENTS[0]}.npy" \
  --link-log "$(link_stopped $((CORRUPT_GROUP * LINK_GROUP_FRAMES)) "the host's decoder also stops there \\(group $CORRUPT_GROUP: ")" \
  --log "link: FAILED: Stream \{ stream: 0, group: $CORRUPT_GROUP, verified: $((CORRUPT_GROUP * LINK_GROUP_FRAMES)), error: \"?group $CORRUPT_GROUP: "
# The default table set (397 KB, 807 KB with its image) does not fit the
# microbit's 256 KiB flash: the build refuses it, naming the sizes.
VQTANS_FW_LINK_TABLES=${all_tables[0]} build_refused m0-over-budget \
  "too large for the microbit-v1 board's flash: the device would store [0-9]+ B \(table set '[^']+' [0-9]+ B \+ its compiled image [0-9]+ B\), over the flash budget of [0-9]+ B" \
  "${M0[@]}"

# ---- measurements -----------------------------------------------------------
log=$OUT/decode/log.txt
if [[ -s $log ]]; then
  echo "measured on the device (decode case; 1 SysTick tick = 40 instructions):"
  grep -Eo 'segment .*: (decode [0-9]+ tokens .*|streaming: .*|RAM: .*|with the portable .*|phase .*)' "$log" | sed 's/^/  /' || true
fi
# The PC-sampling profile of the decode case, by phase: one check, which fails
# unless every segment has a profile and at most MAX_UNATTRIBUTED percent of its
# samples fall outside the named phases (the assembly frame loop is named by
# its ELF symbol).
MAX_UNATTRIBUTED=5
t0=$(now)
profile=$OUT/decode/profile.txt
problem=""
if [[ ! -s $log ]]; then
  problem="the decode case left no log"
elif ! python3 profile.py "$OUT/decode.elf" "$log" 12 >"$profile" 2>"$OUT/decode/profile-stderr.txt"; then
  problem="profile.py failed: $(tail -n 1 "$OUT/decode/profile-stderr.txt")"
else
  echo "  PC-sampling profile by phase ($profile has statements and lines):"
  awk '/^profile of/{print "    " $0; next} /^  by phase/{s=1; next} /^  by/{s=0} s {print "  " $0}' "$profile"
  profiled=$(grep -c '^profile of segment' "$profile" || true)
  other=$(awk -v max="$MAX_UNATTRIBUTED" '/^profile of/{n++} /other \(firmware, runtime\)/{if ($1 + 0 > max) bad = bad " " $1} END {print bad}' "$profile")
  if ((profiled != ${#SEGMENTS[@]})); then
    problem="$profiled profile(s) for ${#SEGMENTS[@]} segments"
  elif [[ -n $other ]]; then
    problem="unattributed samples:$other (at most $MAX_UNATTRIBUTED%)"
  fi
fi
if [[ -z $problem ]]; then
  passed=$((passed + 1))
  echo "PASS profile (at most $MAX_UNATTRIBUTED% of samples unattributed, $(elapsed "$t0")s)"
else
  failed=$((failed + 1))
  echo "FAIL profile: $problem"
fi

log=$OUT/uart-stream/log.txt
if [[ -s $log ]]; then
  echo "measured on the device (uart-stream case: streams over UART0):"
  grep -Eo '(link: timeout|stream [0-9]+: (decode|UART|RAM|longest)).*' "$log" | sed 's/^/  /' || true
fi

for seg in "${SEGMENTS[@]}"; do
  log=$OUT/m0-decode-$seg/log.txt
  if [[ -s $log ]]; then
    echo "measured on the microbit (m0-decode-$seg case: the first $M0_FLASH_FRAMES frames from flash):"
    grep -Eo 'segment .*: (decode [0-9]+ tokens .*|RAM: .*|phase .*)' "$log" | sed 's/^/  /' || true
  fi
  log=$OUT/m0-uart-stream-$seg/log.txt
  if [[ -s $log ]]; then
    echo "measured on the microbit (m0-uart-stream-$seg case: the stream over its UART):"
    grep -Eo '(link: (table set|timeout)|stream [0-9]+: (decode|UART|RAM|longest)|stack: peak|static RAM).*' "$log" | sed 's/^/  /' || true
  fi
done

echo "total time $(elapsed "$T_START")s"
echo "$passed passed, $failed failed"
((failed == 0))
