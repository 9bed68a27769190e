#!/usr/bin/env python3
"""End-to-end firmware tests: the cases are data (CASES below), this program
runs them, in QEMU today and on a probe-attached board with --probe.

    python3 firmware/harness.py                 # every case in QEMU, both QEMU boards
    python3 firmware/harness.py --case decode   # only these cases (repeatable)
    python3 firmware/harness.py --list          # the cases, their boards and where they run
    python3 firmware/harness.py --probe --board microbit-v1 --port /dev/ttyACM0
                                                # the cases that make sense on that board

QEMU (the default): two boards, mps2-an386 (Cortex-M4F) and microbit-v1
(nRF51822, Cortex-M0; the m0-* cases). Makes the blobs with host-tools
(leave-one-out: each real segment is encoded with tables built from the other
one), builds the firmware images the cases name with them in flash, boots
each case's image in QEMU (qemu-run.sh) under a time limit, captures the link
UART to a file (or connects it to `host-tools link`) and the defmt log
(semihosting) through defmt-print, then checks exit status, UART bytes (token
for token against the original .npy), the lines of the log and of link's
output. One more kind of case checks that the build refuses a table set over
the microbit's flash budget, and one (`profile`) checks the PC-sampling
profile of the `decode` case. Ends with the line "N passed, M failed" (what
scripts/test.sh counts) and exits non-zero if M > 0.

Artefacts of case NAME are kept in target/qemu-test/NAME/: uart0.bin,
defmt.raw, log.txt (decoded), stderr.txt, link.txt and back-*.npy (link
cases), profile.txt (the decode case); each image as
target/qemu-test/IMAGE.elf with its build log build-IMAGE.log; blobs and
expected outputs in target/qemu-test/blobs/ (scripts/readme-figures.py reads
these files).

--probe: the same cases on a board attached through a debug probe: each image
flashed and run with `probe-rs run --chip CHIP` (the log over RTT, decoded by
probe-rs), the board's serial port (--port) read for UART cases or handed to
`host-tools link --port` for link cases; same expectations, except the checks
marked QEMU-only (instruction counts, QEMU's semihosting exit), which are not
made, and the cases marked QEMU-only, which are listed as "not run on
hardware" and never counted as passed. Artefacts in target/probe-test/BOARD/.
UNTESTED on hardware: no board was attached when this was written.

Add a case: one record in CASES (and, if it needs a new image, one in
IMAGES; a new blob, a few lines in make_blobs). Strings may hold {{name}}
placeholders (filled in from `values`, after the blobs are made); a case with
each_segment=True is one case per real segment ({{seg}}, {{i}}, ...), and
Each(x) in a list is one x per segment.

Needs: rustup targets thumbv7em-none-eabihf and thumbv6m-none-eabi,
qemu-system-arm (Debian package qemu-system-arm), defmt-print and flip-link
(`cargo install defmt-print flip-link`), python3 (standard library only),
binutils' readelf (qemu-run.sh reads the board from the ELF's symbols),
coreutils' timeout (qemu-run.sh's hang guard) and llvm-addr2line or binutils'
addr2line (profile report); with --probe, probe-rs instead of QEMU and
defmt-print. The real segments are read from $VQTANS_DATA (default
<repo>/../shared/data/commavq).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

FW = Path(__file__).resolve().parent
REPO = FW.parent
PROG = "harness.py"

# ---- constants ----------------------------------------------------------------

# The two distinct real segments (near_duplicates/ is not used).
SEGMENTS = ["commaai-commavq_0", "mattseabrook-commavq_0"]
M4_TARGET = "thumbv7em-none-eabihf"
M0_TARGET = "thumbv6m-none-eabi"
PLACEHOLDER = "data/placeholder.bin"
# Per case, in seconds: a hang guard only (a stalled case fails with 124).
# The link cases take ~25 s on an idle machine and more than 120 s with
# eight busy processes on two cores.
TIMEOUT = int(os.environ.get("QEMU_TIMEOUT") or 600)
# Streams over the link UART: frames per checksum group, and the group the
# uart-corrupt cases damage (of the first segment's 60).
LINK_GROUP_FRAMES = 20
CORRUPT_GROUP = 7
# The device footprint (table set + compiled image) the microbit's table sets
# are built for: 128 KiB of its 256 KiB of flash.
M0_TABLE_BUDGET = 131072
# The footprint of the table sets of uart-stream-small, a streaming case that
# the M4 hardware boards take too: 64 KiB, the Nucleo-F446RE's budget in
# build-boards.sh (its set is copied to RAM there), well within the
# nRF52840-DK's flash.
SMALL_TABLE_BUDGET = 65536
# Frames of the m0-decode cases' streams in flash: a whole segment's stream
# and a table set for the microbit do not fit its flash together (research/
# budget.md, section 7), so these streams hold the first half of a segment.
M0_FLASH_FRAMES = 600
# Sections of those streams (container format 3, host-tools encode's default):
# the first frame of each is raw tokens, not the frame loop's.
M0_FLASH_SECTIONS = 2
# Frames of the m0-kernel-check cases' streams: their damaged copies must fit
# the check's 4 KiB RAM buffer on the microbit (src/kernel_check.rs).
M0_CHECK_FRAMES = 56
M0_CHECK_BYTES = 4096
# The profile check: at most this percentage of a segment's samples outside
# the named phases.
MAX_UNATTRIBUTED = 5


@dataclass(frozen=True)
class Board:
    """How images for a board are built and run (src/boards/spec.rs, run.sh)."""
    target: str
    cargo: tuple[str, ...]  # the board's cargo arguments
    qemu: bool  # QEMU runs it (qemu-run.sh picks the machine from the ELF)
    chip: str | None  # probe-rs's name for its chip
    family: str  # the QEMU board whose cases it can take over (same core)


BOARDS = {
    "mps2-an386": Board(M4_TARGET, (), True, None, "mps2-an386"),
    "microbit-v1": Board(M0_TARGET, ("--features", "microbit-v1", "--target", M0_TARGET), True, "nRF51822_xxAA",
                         "microbit-v1"),
    "nrf52840-dk": Board(M4_TARGET, ("--features", "nrf52840-dk"), False, "nRF52840_xxAA", "mps2-an386"),
    "nucleo-f446re": Board(M4_TARGET, ("--features", "nucleo-f446re"), False, "STM32F446RETx", "mps2-an386"),
}

# How the kernel-check cases' 157 streams per segment end (the damage is
# deterministic): one decodes; the others end in ModelCorrupt, Truncated,
# GroupChecksum or PayloadCorrupt (a section's end or the section table of a
# container-format-3 stream), none at `finish` or in another error
# (src/kernel_check.rs, `Outcomes`).
KERNEL_OUTCOMES = {
    "kernel-check": {
        "commaai-commavq_0": "model_corrupt: 1, truncated: 6, at_finish: 0, group_checksum: 142, payload_corrupt: 7",
        "mattseabrook-commavq_0": "model_corrupt: 6, truncated: 7, at_finish: 0, group_checksum: 136, payload_corrupt: 7",
    },
    "kernel-check-k64": {
        "commaai-commavq_0": "model_corrupt: 3, truncated: 9, at_finish: 0, group_checksum: 138, payload_corrupt: 6",
        "mattseabrook-commavq_0": "model_corrupt: 4, truncated: 8, at_finish: 0, group_checksum: 137, payload_corrupt: 7",
    },
    "m0-kernel-check": {
        "commaai-commavq_0": "model_corrupt: 73, truncated: 15, at_finish: 0, group_checksum: 58, payload_corrupt: 10",
        "mattseabrook-commavq_0": "model_corrupt: 99, truncated: 9, at_finish: 0, group_checksum: 39, payload_corrupt: 9",
    },
}

# ---- the data: images and cases -------------------------------------------------


@dataclass(frozen=True)
class Each:
    """In a list: one ITEM per real segment, with {{seg}}, {{i}}, ... filled in."""
    item: object


@dataclass(frozen=True)
class Q:
    """A log regex checked in QEMU only (instruction counts under -icount
    shift=0); on a board it is not checked."""
    regex: str


@dataclass(frozen=True)
class Send:
    """One stream `host-tools link` sends, the table set it was encoded with,
    and the original .npy the frames that come back must equal."""
    stream: str
    tables: str
    npy: str


@dataclass(frozen=True)
class Image:
    """A firmware build: `cargo build --release` with the board's arguments and
    FEATURES; TABLES/STREAMS pair up into VQTANS_FW_TABLES/VQTANS_FW_STREAM
    (segments in flash), LINK_TABLES into VQTANS_FW_LINK_TABLES (streaming
    mode). None of them: the placeholder payload. Kept as OUT/NAME.elf."""
    name: str
    board: str
    features: tuple[str, ...] = ()
    tables: tuple = ()
    streams: tuple = ()
    link_tables: tuple = ()
    each_segment: bool = False


@dataclass(frozen=True)
class Case:
    """One check: boot IMAGE, expect exit status 0 (ok) or 1 (fail; a timeout
    or any other status fails); UART: the link UART's bytes must equal this
    file; LOGS: regexes (extended, per line) the decoded defmt log must match;
    SENDS: connect the link UART to `host-tools link` instead, which sends
    these streams back to back and compares what comes back (exit status 0
    for ok, and the frames written with -o equal the originals; 1 for fail);
    LINK_LOGS: regexes its output must match. QEMU_ONLY: why the case does
    not run on a board (None: it runs on its image's board and on HARDWARE)."""
    name: str
    image: str
    expect: str
    uart: str | None = None
    logs: tuple = ()
    sends: tuple = ()
    link_logs: tuple = ()
    qemu_only: str | None = None
    hardware: tuple[str, ...] = ()
    each_segment: bool = False


@dataclass(frozen=True)
class BuildRefused:
    """One check: the release build for BOARD with LINK_TABLES must fail, and
    its output must have a line matching REGEX."""
    name: str
    board: str
    link_tables: tuple
    regex: str


@dataclass(frozen=True)
class ProfileCheck:
    """One check: the PC-sampling profile of CASE's log (profile.py), one per
    segment, at most MAX_UNATTRIBUTED percent of the samples outside the
    named phases."""
    name: str
    case: str
    image: str


S0, S1 = SEGMENTS
ALL_TABLES = tuple(f"{{{{blobs}}}}/{s}.vqtt" for s in SEGMENTS)
ALL_STREAMS = tuple(f"{{{{blobs}}}}/{s}.vqt" for s in SEGMENTS)
K64_TABLES = tuple(f"{{{{blobs}}}}/k64/{s}.vqtt" for s in SEGMENTS)
K64_STREAMS = tuple(f"{{{{blobs}}}}/k64/{s}.vqt" for s in SEGMENTS)
SMALL_TABLES = tuple(f"{{{{blobs}}}}/small/{s}.vqtt" for s in SEGMENTS)
M0 = "microbit-v1"
M4 = "mps2-an386"

# In build order.
IMAGES = [
    Image("placeholder", M4),
    Image("panic", M4, ("fail-test",)),
    Image("hardfault", M4, ("fault-test",)),
    Image("systick-wrap", M4, ("long-calibration",)),
    # Both real segments in one image, each with the tables of the other.
    Image("decode", M4, ("profile",), ALL_TABLES, ALL_STREAMS),
    # Both segments again, for comparing the ARMv7E-M frame loop with the
    # portable one on intact and damaged copies of the streams.
    Image("kernel-check", M4, ("kernel-check",), ALL_TABLES, ALL_STREAMS),
    # Both segments with tables of K = 64 (the frame loop takes any list length).
    Image("decode-k64", M4, (), K64_TABLES, K64_STREAMS),
    Image("kernel-check-k64", M4, ("kernel-check",), K64_TABLES, K64_STREAMS),
    # The first segment with one payload byte inverted.
    Image("corrupt-stream", M4, (), ALL_TABLES[:1], (f"{{{{blobs}}}}/corrupt/{S0}.vqt",)),
    # The first segment's stream with the second segment's tables.
    Image("wrong-tables", M4, (), ALL_TABLES[1:], ALL_STREAMS[:1]),
    # Only the two table sets in flash: streams arrive over UART0.
    Image("link", M4, link_tables=ALL_TABLES),
    # The same with table sets built for SMALL_TABLE_BUDGET (on a board with
    # --probe: the board's image).
    Image("link-small", M4, link_tables=SMALL_TABLES),
    # The microbit (Cortex-M0): the placeholder, a HardFault, and per segment an
    # image with the one table set that decodes it (two do not fit its flash);
    # streams arrive over its UART.
    Image("m0-placeholder", M0),
    Image("m0-hardfault", M0, ("fault-test",)),
    Image("m0-link-{{seg}}", M0, link_tables=("{{blobs}}/m0/{{seg}}.vqtt",), each_segment=True),
    Image("m0-decode-{{seg}}", M0, (), ("{{blobs}}/m0/{{seg}}.vqtt",), ("{{blobs}}/m0/head/{{seg}}.vqt",),
          each_segment=True),
    Image("m0-kernel-check-{{seg}}", M0, ("kernel-check",), ("{{blobs}}/m0/{{seg}}.vqtt",),
          ("{{blobs}}/m0/check/{{seg}}.vqt",), each_segment=True),
]


def link_stopped(frames: str, group: str, how: str, stop: str | None = None) -> str:
    """The line of `host-tools link` for a stream that came back whole and right
    up to frame FRAMES (a group boundary, the start of GROUP), then stopped, by
    default because the device reported a failure in GROUP (STOP: another
    reason, as a regex); HOW says what the host's decoder makes of that group."""
    stop = stop or rf"the device failed in group {group} \(its log says why\)"
    return (rf"^error: stream 0 \(.*\) frame {frames}, group {group}: {stop}; it sent {frames} of 1200 frames "
            rf"\({group} groups\), identical to .*\.npy; {how}")


def kernel_log(check: str) -> str:
    """The kernel-check log line of one segment ({{seg}}) for CHECK."""
    return (r"kernel-check: segment {{seg}}: 157 streams, kernel and portable loop agree \(Outcomes \{ streams: 157, "
            rf"ok: 1, {{{{outcomes.{check}}}}}, other: 0 \}}\)")


FAILED_IN_GROUP = r"the host's decoder also stops there \(group "
M4_ONLY = "an mps2-an386 image: its table sets and streams are sized for that board's 4 MiB of flash"
EXIT_VIA_SEMIHOSTING = "its check is how the run ends (QEMU's semihosting exit)"

# In run order.
CASES = [
    # ---- the mps2-an386 (Cortex-M4F) ----
    # Payload from flash comes out of UART0 byte-exactly; SysTick runs at 40
    # instructions per tick under -icount shift=0 (each of the two timestamps
    # may be off by one tick, hence 39.99x is accepted).
    Case("placeholder", "placeholder", "ok", uart=PLACEHOLDER,
         logs=(Q(r"calibration: .* = (40\.00|39\.99)[0-9] instructions per tick"), r"stack: peak [0-9]+ bytes"),
         hardware=("nrf52840-dk", "nucleo-f446re")),
    # A panic must end QEMU with a failure status, not hang.
    Case("panic", "panic", "fail", logs=(r"panic: .*deliberate failure",), qemu_only=EXIT_VIA_SEMIHOSTING),
    # So must a HardFault (undefined instruction).
    Case("hardfault", "hardfault", "fail", logs=(r"HardFault: pc=",), qemu_only=EXIT_VIA_SEMIHOSTING),
    # Measuring across SysTick wraps (18 M ticks > 2^24) stays exact.
    Case("systick-wrap", "systick-wrap", "ok", uart=PLACEHOLDER,
         logs=(r"calibration: 720000000 instructions in 18000000 SysTick ticks",
               r"clock: [0-9]+ back-to-back reads across a SysTick wrap, largest step [0-9]{1,3} ticks"),
         qemu_only="SysTick and instruction counts of the mps2-an386 under -icount"),
    # Both real segments decode on the device (tables and compiled image
    # checked at boot, no heap, frame by frame) and come out of UART0 token for
    # token as in the original .npy files; the decoder stays within its RAM
    # budget. The firmware itself fails the run (src/checks.rs) unless the
    # hand-written ARMv7E-M frame loop decoded every frame >= 1, the decode
    # stays within its instructions-per-token bound and beats the portable
    # loop; the log must say so.
    Case("decode", "decode", "ok", uart="{{blobs}}/all.expected", qemu_only=M4_ONLY, logs=(
        r"calibration: .* = (40\.00|39\.99)[0-9] instructions per tick",
        r"all {{nseg}} segment\(s\) decoded and verified",
        Each(r"segment {{seg}}: checks: every frame >= 1 by the ARMv7E-M loop, .*: ok"),
        Each(r"segment {{seg}}: tables in RAM: table set and image copied from flash"),
        Each(r"segment {{seg}}: with the tables read from flash instead: [0-9.]+ instructions/token"),
        Each(r"segment {{seg}}: table set [0-9a-f]{16} .* compiled image verified"),
        Each(r"segment {{seg}}: decoded and sent {{frames}} frames \({{tokens}} tokens\); checksum and end of stream "
             r"verified"),
        Each(r"segment {{seg}}: decoder RAM [0-9]+ B, budget 32768 B: ok"),
        Each(r"segment {{seg}}: decode {{tokens}} tokens .* instructions/token"),
    )),
    # The hand-written ARMv7E-M frame loop and the portable loop give the same
    # tokens and the same results, frame by frame, on 157 streams per segment
    # (and the kernel side did use the hand-written loop, the portable side did
    # not); how the 157 streams end is pinned (KERNEL_OUTCOMES).
    Case("kernel-check", "kernel-check", "ok", logs=(Each(kernel_log("kernel-check")),), qemu_only=M4_ONLY),
    # The same with tables of successor lists of 64: decoded token for token,
    # and the two loops agree.
    Case("decode-k64", "decode-k64", "ok", uart="{{blobs}}/all.expected", qemu_only=M4_ONLY, logs=(
        r"all {{nseg}} segment\(s\) decoded and verified",
        Each(r"segment {{seg}}: checks: every frame >= 1 by the ARMv7E-M loop, .*: ok"),
    )),
    Case("kernel-check-k64", "kernel-check-k64", "ok", logs=(Each(kernel_log("kernel-check-k64")),),
         qemu_only=M4_ONLY),
    # A damaged payload must be reported as a decode error and fail the run
    # (never a hang, never a pass).
    Case("corrupt-stream", "corrupt-stream", "fail", qemu_only=M4_ONLY, logs=(
        rf"segment {S0}: FAILED: Decode \{{ frame: [0-9]+, error: \"?[a-z].*(corrupt|impossible|checksum|truncated)",
    )),
    # So must a stream paired with the wrong table set (caught before decoding).
    Case("wrong-tables", "wrong-tables", "fail", qemu_only=M4_ONLY, logs=(
        rf"segment {S0}: FAILED: Decode \{{ frame: 0, error: \"?stream was encoded with table set",
    )),
    # Streams over UART0 (`host-tools link` at the host end), both segments
    # back to back: each group of 20 frames goes back out once verified, token
    # for token; the streaming decoder stays within 16 KiB of RAM; the session
    # ends when the link is quiet after the last stream.
    Case("uart-stream", "link", "ok", qemu_only=M4_ONLY, logs=(
        Each(r"link: table set {{seg}} [0-9a-f]{16} \([0-9]+ B with its image\) copied to RAM"),
        Each(r"stream {{i}}: table set {{seg}} [0-9a-f]{16}, container format 3, 1200 frames in 60 groups of 20 in 2 section\(s\)"),
        Each(r"stream {{i}}: decoded and sent 1200 frames \(153600 tokens\) in 60 groups, each verified before it "
             r"was sent"),
        Each(r"stream {{i}}: checks: decode at most [0-9.]+ instructions/token: ok"),
        Each(r"stream {{i}}: RAM: .* budget 16384 B: ok"),
        r"link: quiet for [0-9]+ ticks after stream 1: session over",
        r"link: all streams decoded and verified: 307200 tokens sent",
    ), sends=(Each(Send("{{blobs}}/{{seg}}.vqt", "{{blobs}}/{{seg}}.vqtt", "{{data}}/{{seg}}.npy")),), link_logs=(
        Each(r"^stream {{i}} \(.*\): 1200 frames in 60 groups back, identical to .*{{seg}}\.npy; .* frames/s; "
             r".* B/s sent, .* B/s received$"),
        r"^link: all 2 stream\(s\) came back whole and identical: 2400 frames in ",
    )),
    # Both segments streamed with table sets of SMALL_TABLE_BUDGET, sized for
    # the M4 boards: the streaming case that the nRF52840-DK and the
    # Nucleo-F446RE take with --probe (each set copied to RAM where it fits,
    # else read from flash). These sets (16-bit entries) are decoded by the
    # portable frame loop on the M4, held to its own bound (checked in QEMU
    # only).
    Case("uart-stream-small", "link-small", "ok", hardware=("nrf52840-dk", "nucleo-f446re"), logs=(
        Each(r"link: table set {{seg}} [0-9a-f]{16} \([0-9]+ B with its image\) (copied to RAM|in flash)"),
        Each(r"stream {{i}}: table set {{seg}} [0-9a-f]{16}, container format 3, 1200 frames in 60 groups of 20 in 2 section\(s\)"),
        Each(r"stream {{i}}: decoded and sent 1200 frames \(153600 tokens\) in 60 groups, each verified before it "
             r"was sent"),
        Each(Q(r"stream {{i}}: checks: decode at most [0-9.]+ instructions/token: ok \(frame loop: portable\)")),
        Each(r"stream {{i}}: RAM: .* budget [0-9]+ B: ok"),
        r"link: quiet for [0-9]+ ticks after stream 1: session over",
        r"link: all streams decoded and verified: 307200 tokens sent",
    ), sends=(Each(Send("{{blobs}}/small/{{seg}}.vqt", "{{blobs}}/small/{{seg}}.vqtt", "{{data}}/{{seg}}.npy")),),
        link_logs=(
        Each(r"^stream {{i}} \(.*\): 1200 frames in 60 groups back, identical to .*{{seg}}\.npy; .* frames/s; "
             r".* B/s sent, .* B/s received$"),
        r"^link: all 2 stream\(s\) came back whole and identical: 2400 frames in ",
    )),
    # One byte inverted inside group CORRUPT_GROUP: every group before it comes
    # out, correct; nothing of it or after it (the device reports the failure,
    # and QEMU's exit closes the link); the log names the group.
    Case("uart-corrupt", "link", "fail", qemu_only=M4_ONLY,
         sends=(Send("{{blobs}}/link/corrupt.vqt", ALL_TABLES[0], f"{{{{data}}}}/{S0}.npy"),),
         link_logs=(link_stopped("{{corrupt_frames}}", "{{corrupt_group}}", FAILED_IN_GROUP + "{{corrupt_group}}: "),),
         logs=(r'link: FAILED: Stream \{ stream: 0, group: {{corrupt_group}}, verified: {{corrupt_frames}}, '
               r'error: "?group {{corrupt_group}}: ',)),
    # The first half of the second segment's stream, then silence: exactly the
    # groups that arrived whole come out (from `host-tools groups`), then a
    # timeout error in the next group, and QEMU exits with a failure (no hang).
    Case("uart-truncated", "link", "fail", qemu_only=M4_ONLY,
         sends=(Send("{{blobs}}/link/truncated.vqt", ALL_TABLES[1], f"{{{{data}}}}/{S1}.npy"),),
         link_logs=(r"^stream 0 \(.*\) is cut short: {{cut_payload}} of its [0-9]+ payload bytes",
                    link_stopped("{{cut_frames}}", "{{cut_groups}}", FAILED_IN_GROUP + "{{cut_groups}}: ")),
         logs=(r'link: FAILED: Stream \{ stream: 0, group: {{cut_groups}}, verified: {{cut_frames}}, '
               r'error: "?link failed in group {{cut_groups}}: RxTimeout',)),
    # A stream made with tables that are not in flash (K = 64): refused after
    # its header, nothing sent.
    Case("uart-wrong-tables", "link", "fail", qemu_only=M4_ONLY,
         sends=(Send(K64_STREAMS[0], K64_TABLES[0], f"{{{{data}}}}/{S0}.npy"),),
         link_logs=(link_stopped("0", "0", "the stream is intact on the host",
                                 r"the device refused the stream before its first group \(its log says why\)"),),
         logs=(r"stream 0: no table set [0-9a-f]{16} in flash", r"link: FAILED: NoTables \{ stream: 0")),

    # ---- the microbit (Cortex-M0); on a board, the same images ----
    # The UART path byte-exactly; TIMER0 at 62.5 instructions per tick (16 MHz).
    Case("m0-placeholder", "m0-placeholder", "ok", uart=PLACEHOLDER, logs=(
        r"vqtans firmware up on microbit",
        Q(r"calibration: .* = 62\.(49[0-9]|50[0-9]) instructions per tick"),
    )),
    # A HardFault ends the run with a failure (ARMv6-M handler: no fault status
    # registers).
    Case("m0-hardfault", "m0-hardfault", "fail", logs=(r"HardFault: pc=",), qemu_only=EXIT_VIA_SEMIHOSTING),
    # Each real segment streamed over the UART to an image with its
    # (leave-one-out) table set in flash: every group verified before it goes
    # back, token for token as in the .npy; the streaming path within 14 KiB of
    # RAM (16 KiB in all) and the decode within its instructions-per-token
    # bound (src/checks.rs).
    Case("m0-uart-stream-{{seg}}", "m0-link-{{seg}}", "ok", each_segment=True,
         sends=(Send("{{blobs}}/m0/{{seg}}.vqt", "{{blobs}}/m0/{{seg}}.vqtt", "{{data}}/{{seg}}.npy"),),
         link_logs=(r"^stream 0 \(.*\): 1200 frames in 60 groups back, identical to .*{{seg}}\.npy; ",),
         logs=(r"link: table set {{seg}} [0-9a-f]{16} \([0-9]+ B with its image\) in flash",
               r"stream 0: table set {{seg}} [0-9a-f]{16}, container format 3, 1200 frames in 60 groups of 20 in 2 section\(s\)",
               r"stream 0: decoded and sent 1200 frames \(153600 tokens\) in 60 groups, each verified before it was "
               r"sent",
               Q(r"stream 0: checks: decode at most [0-9.]+ instructions/token: ok"),
               r"stream 0: RAM: .* budget 14336 B: ok",
               r"link: all streams decoded and verified: 153600 tokens sent")),
    # The first half of each segment decoded from flash (table set and stream
    # in flash, one segment per image), token for token; RAM within 8 KiB, at
    # most the M0 bound of instructions per token (src/checks.rs); the firmware
    # fails the run unless the hand-written ARMv6-M frame loop decoded every
    # frame >= 1 and beat the portable loop.
    Case("m0-decode-{{seg}}", "m0-decode-{{seg}}", "ok", each_segment=True, uart="{{blobs}}/m0/head/{{seg}}.expected",
         logs=(r"segment {{seg}}: tables in flash",
               r"segment {{seg}}: decoded and sent {{m0_frames}} frames \({{m0_tokens}} tokens\); checksum and end of "
               r"stream verified",
               r"segment {{seg}}: decoder RAM [0-9]+ B, budget 8192 B: ok",
               r"segment {{seg}}: decode {{m0_tokens}} tokens .* ARMv6-M frame loop: {{m0_frames_1}} of "
               r"{{m0_frames}} frames",
               Q(r"segment {{seg}}: checks: every frame >= 1 by the ARMv6-M loop, at most [0-9.]+ instructions/token, "
                 r"faster than the portable loop: ok"))),
    # The hand-written ARMv6-M frame loop and the portable loop give the same
    # tokens and the same results, frame by frame, on the first M0_CHECK_FRAMES
    # frames of each segment, intact and damaged in 156 ways (157 streams; the
    # kernel side did use the hand-written loop, the portable side did not).
    Case("m0-kernel-check-{{seg}}", "m0-kernel-check-{{seg}}", "ok", each_segment=True,
         logs=(kernel_log("m0-kernel-check"),)),
    # One byte inverted inside group CORRUPT_GROUP: the groups before it come
    # out, correct, nothing after; the log names the group.
    Case("m0-uart-corrupt", f"m0-link-{S0}", "fail",
         sends=(Send("{{blobs}}/m0/corrupt.vqt", f"{{{{blobs}}}}/m0/{S0}.vqtt", f"{{{{data}}}}/{S0}.npy"),),
         link_logs=(link_stopped("{{corrupt_frames}}", "{{corrupt_group}}", FAILED_IN_GROUP + "{{corrupt_group}}: "),),
         logs=(r'link: FAILED: Stream \{ stream: 0, group: {{corrupt_group}}, verified: {{corrupt_frames}}, '
               r'error: "?group {{corrupt_group}}: ',)),
    # The first half of the first segment's stream, then silence (uart-truncated
    # on the microbit): exactly the groups whose bytes all arrived come out
    # (from `host-tools groups`), then a timeout error in the next group, and
    # the run fails (no hang).
    Case("m0-uart-truncated", f"m0-link-{S0}", "fail",
         sends=(Send("{{blobs}}/m0/truncated.vqt", f"{{{{blobs}}}}/m0/{S0}.vqtt", f"{{{{data}}}}/{S0}.npy"),),
         link_logs=(r"^stream 0 \(.*\) is cut short: {{m0_cut_payload}} of its [0-9]+ payload bytes",
                    link_stopped("{{m0_cut_frames}}", "{{m0_cut_groups}}", FAILED_IN_GROUP + "{{m0_cut_groups}}: ")),
         logs=(r'link: FAILED: Stream \{ stream: 0, group: {{m0_cut_groups}}, verified: {{m0_cut_frames}}, '
               r'error: "?link failed in group {{m0_cut_groups}}: RxTimeout',)),
    # The default table set (397 KB, 807 KB with its image) does not fit the
    # microbit's 256 KiB flash: the build refuses it, naming the sizes.
    BuildRefused("m0-over-budget", M0, ALL_TABLES[:1],
                 r"too large for the microbit-v1 board's flash: the device would store [0-9]+ B \(table set '[^']+' "
                 r"[0-9]+ B \+ its compiled image [0-9]+ B\), over the flash budget of [0-9]+ B"),
    # The PC-sampling profile of the decode case, by phase (the assembly frame
    # loop is named by its ELF symbol).
    ProfileCheck("profile", "decode", "decode"),
]

# ---- templates ------------------------------------------------------------------

PLACEHOLDER_RE = re.compile(r"\{\{([\w.-]+)\}\}")


def fill(text: str, values: dict, seg: dict | None = None) -> str:
    """TEXT with each {{name}} replaced by its value (SEG's first: the values of
    one segment)."""
    def one(m: re.Match) -> str:
        name = m[1]
        if name.startswith("outcomes."):
            if seg is None:
                raise KeyError(f"{{{{{name}}}}} outside a per-segment item")
            return KERNEL_OUTCOMES[name.split(".", 1)[1]][seg["seg"]]
        if seg is not None and name in seg:
            return str(seg[name])
        if name in values:
            return str(values[name])
        raise KeyError(f"no value for {{{{{name}}}}} in {text!r}")
    return PLACEHOLDER_RE.sub(one, text)


def fill_item(item, values: dict, seg: dict | None):
    """One item of a list (str, Q or Send), filled in."""
    if isinstance(item, str):
        return fill(item, values, seg)
    if isinstance(item, Q):
        return Q(fill(item.regex, values, seg))
    if isinstance(item, Send):
        return Send(*(fill(x, values, seg) for x in (item.stream, item.tables, item.npy)))
    raise TypeError(f"unexpected item {item!r}")


def fill_list(items, values: dict, seg: dict | None = None) -> tuple:
    """ITEMS filled in, each Each(x) expanded into one x per segment."""
    out = []
    for item in items:
        if isinstance(item, Each):
            out += [fill_item(item.item, values, s) for s in values["segments"]]
        else:
            out.append(fill_item(item, values, seg))
    return tuple(out)


def expand(records: list, values: dict) -> list:
    """RECORDS with every placeholder filled in, each_segment records once per
    segment."""
    out = []
    for r in records:
        segs = values["segments"] if getattr(r, "each_segment", False) else [None]
        for s in segs:
            if isinstance(r, Image):
                out.append(replace(r, name=fill(r.name, values, s), tables=fill_list(r.tables, values, s),
                                   streams=fill_list(r.streams, values, s),
                                   link_tables=fill_list(r.link_tables, values, s), each_segment=False))
            elif isinstance(r, Case):
                out.append(replace(r, name=fill(r.name, values, s), image=fill(r.image, values, s),
                                   uart=fill(r.uart, values, s) if r.uart else None,
                                   logs=fill_list(r.logs, values, s), sends=fill_list(r.sends, values, s),
                                   link_logs=fill_list(r.link_logs, values, s), each_segment=False))
            elif isinstance(r, BuildRefused):
                out.append(replace(r, link_tables=fill_list(r.link_tables, values, s), regex=fill(r.regex, values, s)))
            else:
                out.append(r)
    return out


def case_names(c) -> list[str]:
    """The name(s) of case record C (one per segment if each_segment)."""
    if getattr(c, "each_segment", False):
        return [c.name.replace("{{seg}}", seg) for seg in SEGMENTS]
    return [c.name]


def case_board(c, images: dict) -> str:
    """The (QEMU) board a case record is for."""
    if isinstance(c, Case):
        return images[c.image].board
    if isinstance(c, BuildRefused):
        return c.board
    return images[c.image].board


# ---- the run ------------------------------------------------------------------


class Abort(Exception):
    """Setup failed (tools, data, blobs or a build)."""


class Run:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.not_run: list[str] = []
        self.t_start = time.monotonic()
        self.probe = args.probe
        self.board = args.board if args.probe else None
        self.out = Path("target/probe-test") / args.board if args.probe else Path("target/qemu-test")
        self.blobs = (FW / self.out / "blobs")
        data = os.environ.get("VQTANS_DATA") or str(REPO / ".." / "shared" / "data" / "commavq")
        self.data = Path(os.path.realpath(data)) if Path(data).is_dir() else Path(data)
        self.target_dir = os.environ.get("CARGO_TARGET_DIR") or "target"
        self.host_tools_bin = Path(os.path.realpath(REPO / self.target_dir / "release" / "host-tools"))
        # The builds below choose their segments explicitly.
        self.env = dict(os.environ)
        for var in ("VQTANS_FW_TABLES", "VQTANS_FW_STREAM", "VQTANS_FW_LINK_TABLES"):
            self.env.pop(var, None)
        self.values: dict = {}

    # -- output --
    def say(self, *text):
        print(*text, flush=True)

    def record(self, passed: bool, line: str):
        """Counts one check as passed or failed and says so: PASS LINE or FAIL LINE."""
        if passed:
            self.passed += 1
        else:
            self.failed += 1
        self.say(f"{'PASS' if passed else 'FAIL'} {line}")

    def abort(self, message: str):
        raise Abort(message)

    @staticmethod
    def elapsed(t0: float) -> str:
        return f"{time.monotonic() - t0:.2f}"

    # -- tools --
    def check_tools(self):
        if self.probe:
            tools = ["cargo", "flip-link", "readelf", "probe-rs"]
        else:
            tools = ["cargo", "qemu-system-arm", "defmt-print", "flip-link", "timeout", "addr2line", "readelf"]
        missing = [t for t in tools if shutil.which(t) is None]
        for t in missing:
            print(f"{PROG}: '{t}' not found", file=sys.stderr)
        if missing:
            if self.probe:
                print("hint: install probe-rs (https://probe.rs, e.g. `cargo install probe-rs-tools --locked`);"
                      f" cargo install flip-link; rustup target add {M4_TARGET} {M0_TARGET}", file=sys.stderr)
            else:
                print("hint: apt-get install qemu-system-arm python3 binutils; cargo install defmt-print flip-link;"
                      f" rustup target add {M4_TARGET} {M0_TARGET}", file=sys.stderr)
            self.abort("missing tools")

    def check_probe(self):
        """Exits non-zero, in one line, unless probe-rs sees a probe."""
        if shutil.which("probe-rs") is None:
            print(f"{PROG}: --probe: probe-rs not found (cargo install probe-rs-tools --locked); nothing was run")
            sys.exit(2)
        r = subprocess.run(["probe-rs", "list"], capture_output=True, text=True)
        probes = [line for line in r.stdout.splitlines() if re.match(r"^\s*\[\d+\]", line)]
        if r.returncode != 0 or not probes:
            print(f"{PROG}: --probe: `probe-rs list` shows no debug probe (connect the board over USB); "
                  "nothing was run")
            sys.exit(2)
        self.say(f"probe: {probes[0].strip()}")

    # -- host-tools --
    def host_tools(self, *args, out: bool = False) -> str:
        """The vqtans command-line tool (release build). Its output (and
        cargo's) goes to BLOBS/host-tools.log, shown if it fails; with OUT, its
        standard output is returned instead."""
        log = self.blobs / "host-tools.log"
        cmd = ["cargo", "run", "--release"] + (["-q"] if out else []) + ["-p", "host-tools", "--"] + [str(a) for a in args]
        with open(log, "a") as f:
            r = subprocess.run(cmd, cwd=REPO, env=self.env, stdout=subprocess.PIPE if out else f,
                               stderr=f, text=True)
        if r.returncode != 0:
            sys.stderr.write("".join(log.read_text(errors="replace").splitlines(True)[-40:]))
            self.abort(f"host-tools {args[0]} failed (full output: {self.rel(log)})")
        return r.stdout if out else ""

    def rel(self, p: Path) -> str:
        try:
            return str(Path(p).relative_to(FW))
        except ValueError:
            return str(p)

    # -- blobs --
    def groups(self, tables: Path, stream: Path) -> list[tuple[int, int, int]]:
        """(group, first byte, end byte) of each group of STREAM (`host-tools groups`)."""
        out = []
        for line in self.host_tools("groups", "--tables", tables, stream, out=True).splitlines():
            f = line.split()
            if len(f) >= 8 and f[0] == "group":
                m = re.fullmatch(r"([0-9]+)\.\.([0-9]+)", f[7])
                if m:
                    out.append((int(f[1]), int(m[1]), int(m[2])))
        return out

    def damage_group(self, tables: Path, stream: Path, dst: Path):
        """DST: STREAM (made with TABLES) with one byte inverted in the middle
        of group CORRUPT_GROUP's bits (where the group lies comes from
        `host-tools groups`)."""
        ranges = [(a, b) for g, a, b in self.groups(tables, stream) if g == CORRUPT_GROUP]
        if not ranges:
            self.abort(f"no byte range for group {CORRUPT_GROUP} of {stream}")
        a, b = ranges[0]
        data = bytearray(stream.read_bytes())
        data[(a + b) // 2] ^= 0xFF
        dst.write_bytes(data)
        self.say(f"link blobs: group {CORRUPT_GROUP} of {stream.relative_to(self.blobs)} is stream bytes {a}..{b}; "
                 f"byte {(a + b) // 2} inverted")

    def truncate(self, tables: Path, stream: Path, dst: Path) -> tuple[int, int]:
        """DST: the first half of STREAM; returns (cut, groups): the number of
        its groups whose bytes all lie before the cut (exactly those come back)."""
        cut = stream.stat().st_size // 2
        dst.write_bytes(stream.read_bytes()[:cut])
        whole = sum(1 for _, _, end in self.groups(tables, stream) if end <= cut)
        if whole <= 0:
            self.abort(f"no whole group of {stream.stem} lies in its first {cut} bytes")
        self.say(f"link blobs: the first {whole} groups of {stream.relative_to(self.blobs)} lie wholly in its first "
                 f"{cut} bytes")
        return cut, whole

    def make_blobs(self):
        """For each real segment S, tables from the *other* segment
        (host-tools build-tables) and S's stream with them (host-tools encode),
        plus the expected UART bytes (S's tokens as u16 LE); the same with
        K = 64; the damaged stream of the corrupt-stream case."""
        t0 = time.monotonic()
        b = self.blobs
        shutil.rmtree(b, ignore_errors=True)
        (b / "corrupt").mkdir(parents=True)
        (b / "k64").mkdir()
        for i, seg in enumerate(SEGMENTS):
            other = SEGMENTS[(i + 1) % len(SEGMENTS)]
            npy = self.data / f"{seg}.npy"
            if not npy.is_file():
                self.abort(f"{npy} not found (set VQTANS_DATA)")
            self.host_tools("build-tables", "-o", b / f"{seg}.vqtt", self.data / f"{other}.npy")
            self.host_tools("encode", "--tables", b / f"{seg}.vqtt", "-o", b / f"{seg}.vqt", npy)
            npy_to_le16(npy, b / f"{seg}.expected")
            self.say(f"blobs for {seg}: tables from {other} ({(b / f'{seg}.vqtt').stat().st_size} B), "
                     f"stream {(b / f'{seg}.vqt').stat().st_size} B")
            # The same with successor lists of 64 instead of the default 192.
            self.host_tools("build-tables", "--k", "64", "-o", b / "k64" / f"{seg}.vqtt", self.data / f"{other}.npy")
            self.host_tools("encode", "--tables", b / "k64" / f"{seg}.vqtt", "-o", b / "k64" / f"{seg}.vqt", npy)
        flip_payload_byte(b / f"{SEGMENTS[0]}.vqt", b / "corrupt" / f"{SEGMENTS[0]}.vqt")
        (b / "all.expected").write_bytes(b"".join((b / f"{s}.expected").read_bytes() for s in SEGMENTS))
        self.say(f"made blobs in {self.elapsed(t0)}s")

    def make_link_blobs(self):
        """The damaged streams of the link cases: uart-corrupt: the first
        segment's stream with group CORRUPT_GROUP damaged; uart-truncated: the
        first half of the second segment's stream."""
        b = self.blobs
        (b / "link").mkdir()
        s0, s1 = SEGMENTS
        self.damage_group(b / f"{s0}.vqtt", b / f"{s0}.vqt", b / "link" / "corrupt.vqt")
        cut, whole = self.truncate(b / f"{s1}.vqtt", b / f"{s1}.vqt", b / "link" / "truncated.vqt")
        self.values.update(cut_payload=cut - 32, cut_groups=whole, cut_frames=whole * LINK_GROUP_FRAMES)

    def make_small_blobs(self):
        """For each real segment S, a table set of SMALL_TABLE_BUDGET built from
        the other segment and S's stream with it (uart-stream-small)."""
        small = self.blobs / "small"
        small.mkdir()
        for i, seg in enumerate(SEGMENTS):
            other = SEGMENTS[(i + 1) % len(SEGMENTS)]
            self.host_tools("build-tables", "--max-bytes", SMALL_TABLE_BUDGET, "-o", small / f"{seg}.vqtt",
                            self.data / f"{other}.npy")
            self.host_tools("encode", "--tables", small / f"{seg}.vqtt", "-o", small / f"{seg}.vqt",
                            self.data / f"{seg}.npy")
            self.say(f"small blobs for {seg}: tables from {other} ({(small / f'{seg}.vqtt').stat().st_size} B), "
                     f"stream {(small / f'{seg}.vqt').stat().st_size} B")

    def m0_tables(self, out: Path, training: Path):
        """A table set for the microbit, trained on TRAINING, that fits its
        flash next to the firmware: `build-tables --max-bytes` chooses the
        model's size parameters for the budget on held-out parts of it."""
        self.host_tools("build-tables", "--max-bytes", M0_TABLE_BUDGET, "-o", out, training)

    def make_m0_blobs(self):
        """For the microbit, for each real segment S, a table set that fits its
        flash built from the other segment and S's stream with it, the stream
        of S's first M0_FLASH_FRAMES frames with its expected tokens and that of
        its first M0_CHECK_FRAMES frames; the first segment's stream with group
        CORRUPT_GROUP damaged, and its first half (m0-uart-truncated)."""
        t0 = time.monotonic()
        m0 = self.blobs / "m0"
        (m0 / "head").mkdir(parents=True)
        (m0 / "check").mkdir()
        for i, seg in enumerate(SEGMENTS):
            other = SEGMENTS[(i + 1) % len(SEGMENTS)]
            npy = self.data / f"{seg}.npy"
            self.m0_tables(m0 / f"{seg}.vqtt", self.data / f"{other}.npy")
            self.host_tools("encode", "--tables", m0 / f"{seg}.vqtt", "-o", m0 / f"{seg}.vqt", npy)
            npy_head(npy, M0_FLASH_FRAMES, m0 / "head" / f"{seg}.npy")
            self.host_tools("encode", "--tables", m0 / f"{seg}.vqtt", "-o", m0 / "head" / f"{seg}.vqt",
                            m0 / "head" / f"{seg}.npy")
            (m0 / "head" / f"{seg}.expected").write_bytes(
                (self.blobs / f"{seg}.expected").read_bytes()[:M0_FLASH_FRAMES * 256])
            npy_head(npy, M0_CHECK_FRAMES, m0 / "check" / f"{seg}.npy")
            self.host_tools("encode", "--tables", m0 / f"{seg}.vqtt", "-o", m0 / "check" / f"{seg}.vqt",
                            m0 / "check" / f"{seg}.npy")
            if (m0 / "check" / f"{seg}.vqt").stat().st_size > M0_CHECK_BYTES:
                self.abort(f"the first {M0_CHECK_FRAMES} frames of {seg} take over {M0_CHECK_BYTES} B: "
                           "lower M0_CHECK_FRAMES")
            self.say(f"microbit blobs for {seg}: tables from {other} ({(m0 / f'{seg}.vqtt').stat().st_size} B), "
                     f"stream {(m0 / f'{seg}.vqt').stat().st_size} B, first {M0_FLASH_FRAMES} frames "
                     f"{(m0 / 'head' / f'{seg}.vqt').stat().st_size} B")
        s0 = SEGMENTS[0]
        self.damage_group(m0 / f"{s0}.vqtt", m0 / f"{s0}.vqt", m0 / "corrupt.vqt")
        cut, whole = self.truncate(m0 / f"{s0}.vqtt", m0 / f"{s0}.vqt", m0 / "truncated.vqt")
        self.values.update(m0_cut_payload=cut - 32, m0_cut_groups=whole, m0_cut_frames=whole * LINK_GROUP_FRAMES)
        self.say(f"made microbit blobs in {self.elapsed(t0)}s")

    def make_values(self):
        segs = []
        for i, seg in enumerate(SEGMENTS):
            frames = (self.blobs / f"{seg}.expected").stat().st_size // 256
            segs.append(dict(seg=seg, i=i, other=SEGMENTS[(i + 1) % len(SEGMENTS)], frames=frames,
                             tokens=frames * 128))
        self.values.update(
            segments=segs, nseg=len(SEGMENTS), blobs=str(self.blobs), data=str(self.data),
            corrupt_group=CORRUPT_GROUP, corrupt_frames=CORRUPT_GROUP * LINK_GROUP_FRAMES,
            m0_frames=M0_FLASH_FRAMES, m0_tokens=M0_FLASH_FRAMES * 128, m0_frames_1=M0_FLASH_FRAMES - M0_FLASH_SECTIONS)

    # -- images --
    def image_args(self, image: Image) -> list[str]:
        board = BOARDS[self.board_for(image.board)]
        args = list(board.cargo)
        for feature in image.features:
            args += ["--features", feature]
        return args

    def board_for(self, qemu_board: str) -> str:
        """The board an image for QEMU_BOARD is built for in this run (with
        --probe, the board attached, if it takes that board's cases)."""
        if self.probe and BOARDS[self.board].family == qemu_board:
            return self.board
        return qemu_board

    def cargo_build(self, args: list[str], env: dict, log: Path) -> bool:
        # The checkout's and cargo's folders renamed in the binaries' panic locations,
        # so an image's size (a README figure) does not depend on where the checkout
        # or cargo's registry lies.
        cargo_home = os.environ.get("CARGO_HOME", str(Path.home() / ".cargo"))
        remap = f'["--remap-path-prefix={REPO}=/vqtans", "--remap-path-prefix={cargo_home}=/cargo"]'
        config = [a for t in (M4_TARGET, M0_TARGET) for a in ("--config", f"target.{t}.rustflags={remap}")]
        with open(log, "w") as f:
            return subprocess.run(["cargo", "build", "--release"] + config + args, env=env, stdout=f,
                                  stderr=subprocess.STDOUT).returncode == 0

    def build_env(self, tables=(), streams=(), link_tables=()) -> dict:
        env = dict(self.env)
        if tables:
            env["VQTANS_FW_TABLES"] = ":".join(tables)
        if streams:
            env["VQTANS_FW_STREAM"] = ":".join(streams)
        if link_tables:
            env["VQTANS_FW_LINK_TABLES"] = ":".join(link_tables)
        return env

    def build_image(self, image: Image):
        """The release firmware with the image's arguments, kept as
        OUT/NAME.elf. Compiler output goes to OUT/build-NAME.log (warnings of
        code under development elsewhere would drown the report); it is shown
        if the build fails."""
        t0 = time.monotonic()
        args = self.image_args(image)
        log = self.out / f"build-{image.name}.log"
        if not self.cargo_build(args, self.build_env(image.tables, image.streams, image.link_tables), log):
            sys.stderr.write("".join(log.read_text(errors="replace").splitlines(True)[-40:]))
            self.abort(f"building {image.name} failed (full output: {log})")
        target = BOARDS[self.board_for(image.board)].target
        shutil.copyfile(Path(self.target_dir) / target / "release" / "vqtans-firmware", self.out / f"{image.name}.elf")
        what = ("; segments: " + ":".join(image.streams).replace(f"{self.blobs}/", "")) if image.streams else ""
        self.say(f"built {image.name}.elf in {self.elapsed(t0)}s ({' '.join(args) or 'default features'}{what})")

    # -- checks --
    @staticmethod
    def has_line(path: Path, regex: str) -> re.Match | None:
        rx = re.compile(regex)
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            return None
        for line in text.splitlines():
            m = rx.search(line)
            if m:
                return m
        return None

    def build_refused(self, c: BuildRefused):
        t0 = time.monotonic()
        log = self.out / f"build-{c.name}.log"
        args = list(BOARDS[c.board].cargo)
        if self.cargo_build(args, self.build_env(link_tables=c.link_tables), log):
            self.record(False, f"{c.name} (the build succeeded; it must be refused)")
        elif not (m := self.has_line(log, c.regex)):
            self.record(False, f"{c.name} (the build failed, but its output has no line matching /{c.regex}/)")
            for line in log.read_text(errors="replace").splitlines()[-20:]:
                self.say(f"    {line}")
        else:
            self.record(True, f"{c.name} (build refused, {self.elapsed(t0)}s): {m[0]}")

    def run_case(self, c: Case):
        """One case is one check: it passes only if every condition holds."""
        d = self.out / c.name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        t0 = time.monotonic()
        elf = self.out / f"{c.image}.elf"
        problems: list[str] = []
        outputs = [d / f"back-{i}.npy" for i in range(len(c.sends))] if c.expect == "ok" else []
        if self.probe:
            status, link_status = self.run_on_board(c, elf, d, outputs)
        else:
            status, link_status = self.run_in_qemu(c, elf, d, outputs)
        if c.sends:
            want = 0 if c.expect == "ok" else 1
            if link_status != want:
                problems.append(f"host-tools link exit status {link_status}, expected {want}")
            for i, out in enumerate(outputs):
                if not same_file(Path(c.sends[i].npy), out):
                    problems.append(f"the frames of stream {i} that came back ({out}) differ from {c.sends[i].npy}")
            for regex in c.link_logs:
                if not self.has_line(d / "link.txt", regex):
                    problems.append(f"host-tools link output has no line matching /{regex}/")
        runner = "the run" if self.probe else "QEMU"
        if c.expect == "ok":
            if status != 0:
                problems.append(f"{runner} exit status {status}, expected 0")
        elif c.expect == "fail":
            if status == 124:
                problems.append(f"timed out after {TIMEOUT}s instead of failing")
            elif status != 1:
                problems.append(f"{runner} exit status {status}, expected 1 (failure)")
        else:
            raise ValueError(f"case {c.name}: expect must be ok or fail")
        uart = d / "uart0.bin"
        if c.uart and not same_file(Path(c.uart), uart):
            size = uart.stat().st_size if uart.exists() else 0
            problems.append(f"UART0 bytes differ from {c.uart} ({size} vs {Path(c.uart).stat().st_size} bytes)")
        for item in c.logs:
            if isinstance(item, Q):
                if self.probe:
                    continue
                item = item.regex
            if not self.has_line(d / "log.txt", item):
                problems.append(f"log has no line matching /{item}/")

        self.record(not problems, f"{c.name} (expect {c.expect}, exit {status}, {self.elapsed(t0)}s)")
        if problems:
            for p in problems:
                self.say(f"  - {p}")
            self.say(f"  log ({d}/log.txt):")
            for name, prefix, n in (("log.txt", "    ", 20), ("stderr.txt", "    stderr: ", 5),
                                    ("link.txt", "    link: ", 5)):
                path = d / name
                if path.exists():
                    for line in path.read_text(errors="replace").splitlines()[-n:]:
                        self.say(prefix + line)

    def link_command(self, c: Case, port: str, outputs: list[Path]) -> list[str]:
        cmd = [str(self.host_tools_bin), "link", "--port", port, "--timeout", str(TIMEOUT)]
        tables = []
        for s in c.sends:
            if s.tables not in tables:
                tables.append(s.tables)
        for t in tables:
            cmd += ["--tables", t]
        cmd += [s.stream for s in c.sends]
        cmd += ["--expect"] + [s.npy for s in c.sends]
        if outputs:
            cmd += ["-o"] + [str(o) for o in outputs]
        return cmd

    def run_in_qemu(self, c: Case, elf: Path, d: Path, outputs: list[Path]) -> tuple[int, int | None]:
        """QEMU's exit status (124: the time limit) and, for link cases, that of
        `host-tools link`."""
        env = dict(self.env, DEFMT_RAW=str(d / "defmt.raw"), QEMU_TIMEOUT=str(TIMEOUT))
        with open(d / "log.txt", "w") as log, open(d / "stderr.txt", "w") as err:
            if not c.sends:
                env["UART_OUT"] = str(d / "uart0.bin")
                return subprocess.run(["./qemu-run.sh", str(elf)], env=env, stdout=log, stderr=err).returncode, None
            # QEMU listens on the socket and starts the firmware once host-tools
            # link connected; the link's own timeout is only a hang guard (the
            # firmware times out first, and QEMU's exit closes the link).
            sock = d / "uart0.sock"
            env["UART_SOCKET"] = str(sock)
            qemu = subprocess.Popen(["./qemu-run.sh", str(elf)], env=env, stdout=log, stderr=err)
            try:
                waited = 0
                while not sock.is_socket() and qemu.poll() is None and waited < TIMEOUT * 10:
                    time.sleep(0.1)
                    waited += 1
                with open(d / "link.txt", "w") as link:
                    link_status = subprocess.run(self.link_command(c, str(sock), outputs), stdout=link,
                                                 stderr=subprocess.STDOUT).returncode
                return qemu.wait(), link_status
            finally:
                if qemu.poll() is None:
                    qemu.kill()
                    qemu.wait()

    def run_on_board(self, c: Case, elf: Path, d: Path, outputs: list[Path]) -> tuple[int, int | None]:
        """Flashes and runs ELF with `probe-rs run`, the log (RTT) into
        log.txt. How the run ended comes from the log, as on any board: the
        last line of a successful run is the stack report (src/main.rs), a
        failure logs an ERROR line first; the micro:bit then stays where it is
        (no debugger exit), so probe-rs is stopped once the log has said it.
        Status 0 or 1 from the log, 124 if it said neither within the time
        limit, 2 if probe-rs ended before it did."""
        chip = BOARDS[self.board].chip
        cmd = ["probe-rs", "run", "--chip", chip, "--log-format", "{L} {s}"]
        if self.args.probe_selector:
            cmd += ["--probe", self.args.probe_selector]
        cmd.append(str(elf))
        stop_uart = threading.Event()
        uart_thread = None
        if c.uart:
            try:
                port = open_serial(self.args.port)
            except OSError as e:
                (d / "stderr.txt").write_text(f"{PROG}: cannot read the serial port: {e}\n")
                return 2, None
            uart_thread = threading.Thread(target=read_serial, args=(port, d / "uart0.bin", stop_uart), daemon=True)
            uart_thread.start()
        ended = {"status": None}
        link_status = None
        with open(d / "log.txt", "w") as log, open(d / "stderr.txt", "a") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, errors="replace",
                                    start_new_session=True)

            def watch():
                for line in proc.stdout:
                    log.write(line)
                    log.flush()
                    if ended["status"] is None:
                        if re.match(r"^\s*(\S+\s+)?ERROR\b", line):
                            ended["status"] = 1
                        elif re.search(r"\bstack: peak [0-9]+ bytes", line):
                            ended["status"] = 0

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            link = None
            if c.sends:
                # The firmware repeats its first request until the host answers
                # (60 s on a board). The port is there before a board runs; a
                # stand-in that makes it (QEMU's socket) is given 10 s.
                waited = 0
                while not os.path.exists(self.args.port) and proc.poll() is None and waited < 100:
                    time.sleep(0.1)
                    waited += 1
                link_out = open(d / "link.txt", "w")
                link = subprocess.Popen(self.link_command(c, self.args.port, outputs), stdout=link_out,
                                        stderr=subprocess.STDOUT)
            deadline = time.monotonic() + TIMEOUT
            while ended["status"] is None and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            # Let the last lines (and UART bytes) arrive, then stop probe-rs if
            # the board stays where it is.
            grace = time.monotonic() + 2
            while proc.poll() is None and time.monotonic() < grace:
                time.sleep(0.1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            watcher.join(timeout=5)
            if link is not None:
                try:
                    link_status = link.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    link.kill()
                    link_status = link.wait()
                link_out.close()
            stop_uart.set()
            if uart_thread:
                uart_thread.join(timeout=5)
        status = ended["status"]
        if status is None:
            status = 124 if time.monotonic() >= deadline else 2
        return status, link_status

    def profile_check(self, c: ProfileCheck):
        """One check, which fails unless every segment has a profile and at
        most MAX_UNATTRIBUTED percent of its samples fall outside the named
        phases."""
        t0 = time.monotonic()
        log = self.out / c.case / "log.txt"
        profile = self.out / c.case / "profile.txt"
        problem = ""
        if not (log.exists() and log.stat().st_size > 0):
            problem = f"the {c.case} case left no log"
        else:
            with open(profile, "w") as out, open(self.out / c.case / "profile-stderr.txt", "w") as err:
                r = subprocess.run([sys.executable, "profile.py", str(self.out / f"{c.image}.elf"), str(log), "12"],
                                   stdout=out, stderr=err)
            if r.returncode != 0:
                last = (self.out / c.case / "profile-stderr.txt").read_text(errors="replace").splitlines()[-1:]
                problem = f"profile.py failed: {''.join(last)}"
            else:
                self.say(f"  PC-sampling profile by phase ({profile} has statements and lines):")
                shown, profiled, bad = False, 0, []
                for line in profile.read_text(errors="replace").splitlines():
                    if line.startswith("profile of"):
                        self.say("    " + line)
                        if line.startswith("profile of segment"):
                            profiled += 1
                        continue
                    if line.startswith("  by phase"):
                        shown = True
                        continue
                    if line.startswith("  by"):
                        shown = False
                    if shown:
                        self.say("  " + line)
                    if "other (firmware, runtime)" in line:
                        m = re.match(r"\s*([0-9.]+)", line)
                        share = float(m[1]) if m and m[1] != "." else 0.0
                        if share > MAX_UNATTRIBUTED:
                            bad.append(line.split()[0])
                if profiled != len(SEGMENTS):
                    problem = f"{profiled} profile(s) for {len(SEGMENTS)} segments"
                elif bad:
                    problem = f"unattributed samples: {' '.join(bad)} (at most {MAX_UNATTRIBUTED}%)"
        if not problem:
            self.record(True, f"{c.name} (at most {MAX_UNATTRIBUTED}% of samples unattributed, {self.elapsed(t0)}s)")
        else:
            self.record(False, f"{c.name}: {problem}")

    def show(self, title: str, log: Path, pattern: str):
        """TITLE and the matches of PATTERN in LOG (if it is there)."""
        if log.exists() and log.stat().st_size > 0:
            self.say(title)
            rx = re.compile(pattern)
            for line in log.read_text(errors="replace").splitlines():
                for m in rx.finditer(line):
                    self.say("  " + m[0])

    # -- main --
    def where(self, c, images: dict) -> str | None:
        """None if case C runs in this run, else why not."""
        board = case_board(c, images)
        if not self.probe:
            return None
        if isinstance(c, ProfileCheck):
            return "the profile is an mps2-an386 build under QEMU"
        if isinstance(c, BuildRefused):
            return None if board == self.board else f"a build check for {board}"
        if c.qemu_only:
            return c.qemu_only
        if board == self.board or self.board in c.hardware:
            return None
        return f"a case for {board}"

    def main(self):
        args = self.args
        os.chdir(FW)
        names = {n for c in CASES for n in case_names(c)}
        for name in args.case or []:
            if name not in names:
                self.abort(f"no case {name} (--list names them)")
        if self.probe:
            self.check_probe()
        self.check_tools()
        self.out.mkdir(parents=True, exist_ok=True)
        self.make_blobs()
        # The host end of the link cases: the host-tools binary make_blobs built.
        if not os.access(self.host_tools_bin, os.X_OK):
            self.abort(f"{self.host_tools_bin} not found after building host-tools")
        self.make_link_blobs()
        self.make_small_blobs()
        self.make_m0_blobs()
        self.make_values()
        images = {i.name: i for i in expand(IMAGES, self.values)}
        cases = expand(CASES, self.values)
        chosen = [c for c in cases if not args.case or c.name in args.case]
        run = []
        for c in chosen:
            why = self.where(c, images)
            if why is None:
                run.append(c)
            else:
                self.not_run.append(f"{c.name}: {why}")
        needed = {c.image for c in run if isinstance(c, (Case, ProfileCheck))}
        for image in images.values():
            if image.name in needed:
                self.build_image(image)
        for c in run:
            if isinstance(c, Case):
                self.run_case(c)
            elif isinstance(c, BuildRefused):
                self.build_refused(c)
            elif isinstance(c, ProfileCheck):
                if c.name == "profile":
                    self.show("measured on the device (decode case; 1 SysTick tick = 40 instructions):",
                              self.out / "decode" / "log.txt",
                              r"segment .*: (decode [0-9]+ tokens .*|streaming: .*|RAM: .*|with the portable .*|"
                              r"phase .*)")
                self.profile_check(c)
        if not self.probe:
            self.show("measured on the device (uart-stream case: streams over UART0):",
                      self.out / "uart-stream" / "log.txt",
                      r"(link: timeout|stream [0-9]+: (decode|UART|RAM|longest)).*")
            for seg in SEGMENTS:
                self.show(f"measured on the microbit (m0-decode-{seg} case: the first {M0_FLASH_FRAMES} frames from "
                          "flash):", self.out / f"m0-decode-{seg}" / "log.txt",
                          r"segment .*: (decode [0-9]+ tokens .*|RAM: .*|phase .*)")
                self.show(f"measured on the microbit (m0-uart-stream-{seg} case: the stream over its UART):",
                          self.out / f"m0-uart-stream-{seg}" / "log.txt",
                          r"(link: (table set|timeout)|stream [0-9]+: (decode|UART|RAM|longest)|stack: peak|"
                          r"static RAM).*")
        for line in self.not_run:
            self.say(f"not run on hardware: {line}")
        self.say(f"total time {self.elapsed(self.t_start)}s")
        if self.probe:
            self.say(f"{len(self.not_run)} not run on hardware ({self.board})")
        self.say(f"{self.passed} passed, {self.failed} failed")
        if self.probe and self.passed + self.failed == 0:
            self.say(f"{PROG}: --probe: no case ran on {self.board}")
            return 1
        return 0 if self.failed == 0 else 1


# ---- helpers --------------------------------------------------------------------


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def read_npy(src: Path) -> tuple[dict, int, bytes]:
    """(header, start of the data, bytes) of a .npy file."""
    data = src.read_bytes()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{src}: not a .npy file")
    hlen_size = 2 if data[6] == 1 else 4
    hlen = int.from_bytes(data[8:8 + hlen_size], "little")
    start = 8 + hlen_size + hlen
    header = ast.literal_eval(data[8 + hlen_size:start].decode("latin1"))
    return header, start, data


def npy_to_le16(src: Path, dst: Path):
    """The tokens of SRC (integer array of shape (frames, 8, 16) or (frames,
    128), C order, values 0..1023) to DST as u16 little-endian, frame by frame:
    the bytes the firmware must send."""
    header, start, data = read_npy(src)
    descr, shape = header["descr"], tuple(header["shape"])
    if header["fortran_order"]:
        raise ValueError(f"{src}: Fortran order is not supported")
    if len(shape) not in (2, 3) or shape[-1] * (shape[1] if len(shape) == 3 else 1) != 128 or shape[0] < 1:
        raise ValueError(f"{src}: shape {shape} is not (frames, 8, 16)")
    codes = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
    if descr[1:] not in codes or descr[0] not in "<>|=":
        raise ValueError(f"{src}: dtype {descr} is not an integer type")
    n = shape[0] * 128
    order = ">" if descr[0] == ">" else "<"
    values = struct.unpack_from(f"{order}{n}{codes[descr[1:]]}", data, start)
    if any(not 0 <= v <= 1023 for v in values):
        raise ValueError(f"{src}: token outside 0..1023")
    dst.write_bytes(struct.pack(f"<{n}H", *values))


def npy_head(src: Path, n: int, dst: Path):
    """The first N frames of SRC (a C-order .npy of shape (frames, 8, 16),
    format 1.x) as a .npy of shape (N, 8, 16)."""
    data = src.read_bytes()
    if data[:6] != b"\x93NUMPY" or data[6] != 1:
        raise ValueError(f"{src}: not a format 1.x .npy file")
    hlen = int.from_bytes(data[8:10], "little")
    header = ast.literal_eval(data[10:10 + hlen].decode("latin1"))
    shape, item = tuple(header["shape"]), int(header["descr"][2:])
    if header["fortran_order"] or len(shape) != 3 or shape[1:] != (8, 16) or not 0 < n <= shape[0]:
        raise ValueError(f"{src}: shape {shape} has no {n} frames of 8 x 16 in C order")
    text = repr(dict(header, shape=(n, 8, 16))).encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    body = data[10 + hlen:10 + hlen + n * 128 * item]
    dst.write_bytes(data[:8] + len(text).to_bytes(2, "little") + text + body)


def flip_payload_byte(src: Path, dst: Path):
    """DST: stream SRC with the middle payload byte inverted (the 32-byte
    header, with its own CRC, stays intact)."""
    b = bytearray(src.read_bytes())
    payload = int.from_bytes(b[20:24], "little")
    if len(b) != 32 + payload:
        raise ValueError(f"{src}: not a vqtans stream")
    b[32 + payload // 2] ^= 0xFF
    dst.write_bytes(b)


def open_serial(port: str, baud: int = 115200) -> int:
    """The board's serial port PORT, raw, 8N1 at BAUD, its input flushed."""
    import termios
    import tty
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = getattr(termios, f"B{baud}")
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        termios.tcflush(fd, termios.TCIFLUSH)
    except (OSError, termios.error) as e:
        os.close(fd)
        raise OSError(f"{port}: {e}") from e
    return fd


def read_serial(fd: int, dst: Path, stop: threading.Event):
    """Everything serial port FD receives until STOP (and then 0.5 s of
    silence), into DST; closes FD."""
    try:
        with open(dst, "wb") as out:
            idle = 0
            while not (stop.is_set() and idle >= 5):
                ready, _, _ = select.select([fd], [], [], 0.1)
                chunk = os.read(fd, 4096) if ready else b""
                out.write(chunk)
                idle = 0 if chunk else idle + 1
    finally:
        os.close(fd)


def list_cases():
    """The cases, their boards and where they run."""
    boards = {}
    for i in IMAGES:
        for seg in SEGMENTS if i.each_segment else [None]:
            boards[i.name.replace("{{seg}}", seg) if seg else i.name] = i.board
    for c in CASES:
        if isinstance(c, Case):
            board = boards[c.image.replace("{{seg}}", SEGMENTS[0])]
            on = ([board] if BOARDS[board].chip else []) + list(c.hardware)
            where = f"QEMU only: {c.qemu_only}" if c.qemu_only else f"QEMU; --probe: {', '.join(on) or '-'}"
            what = f"expect {c.expect}"
        elif isinstance(c, BuildRefused):
            board, where, what = c.board, f"build only (also with --probe --board {c.board})", "build refused"
        else:
            board, where, what = boards[c.image], "QEMU only", f"profile of the {c.case} case"
        for name in case_names(c):
            print(f"{name}: {board}, {what}; {where}")


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(description="The firmware's end-to-end cases, in QEMU or on a board (--probe).")
    p.add_argument("--case", action="append", help="run only this case (repeatable; see --list)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--probe", action="store_true",
                   help="run on a board attached through a debug probe (probe-rs) instead of QEMU")
    p.add_argument("--board", choices=[b for b in BOARDS if BOARDS[b].chip], help="with --probe: the board")
    p.add_argument("--port", help="with --probe: the board's serial port (e.g. /dev/ttyACM0)")
    p.add_argument("--probe-selector", help="with --probe: probe-rs's --probe VID:PID[:SERIAL]")
    args = p.parse_args()
    if args.list:
        list_cases()
        return 0
    if args.probe and not (args.board and args.port):
        p.error("--probe needs --board and --port")
    if not args.probe and (args.board or args.port or args.probe_selector):
        p.error("--board, --port and --probe-selector go with --probe")
    r = Run(args)
    try:
        return r.main()
    except (Abort, ValueError, OSError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        print(f"{r.passed} passed, {r.failed + 1} failed", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
