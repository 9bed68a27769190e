#!/usr/bin/env python3
"""The deterministic figures of README.md and firmware/README.md, from one place.

Every figure the code determines (rates, bits per model part, sizes of table sets,
images and streams, the coder's overhead, instructions per token and RAM under QEMU,
code sizes, the challenge decoder's size, the table-budget sweep, and the bounds the
tests and the firmware enforce) stands in a README between markers:

    <!--f:NAME-->VALUE<!--/f-->

(VALUE may span lines, e.g. a whole indented code block). This script computes each
NAME's value and either rewrites the markers' contents (default; the files are
replaced atomically, only if something changed) or, with --check, rewrites nothing
and fails (exit 1) with one line per figure that differs, naming the file, the line,
the figure, the README's value and the code's:

    README.md:80: figure rate.loo.matt: the README says '2.224', the code gives '2.225'

A marker whose NAME this script does not know is an error too. The streaming
decode figures (instructions per token of the `uart-stream` cases, and what they
add over the decode from flash) subtract an estimate of the instructions spent
polling for bytes, which depends on when QEMU delivers them and so on the host's
load: --check accepts them within LINK_TOLERANCE (0.1 instructions per token;
measured spread 0.01-0.03 between an idle and a loaded host), every other figure
exactly. Timings (tokens per
second, seconds) are not figures here: the README gives them as ranges with the
machine stated, outside the check.

Where the figures come from (all on the two real segments in $VQTANS_DATA, default
../shared/data/commavq beside the checkout; leave-one-out = tables built from the
other segment):
  - host-tools (release build; `cargo build` first, a no-op when it is fresh):
    build-tables, stats --json, tables-info --json, and the table-budget sweep of
    scripts/table-budgets.sh (every budget of the README's table, both ways). The
    sweep is the most expensive part, yet cheap (about 10 s of CPU, two builds at a
    time: 5 s on 2 cores), so it is recomputed on every run rather than cached: a
    change of the trainer can never leave a stale row.
  - three codec tests, run again with --nocapture for their printed figures
    (already built by the test step): order0_real (the tANS coder's overhead over
    the empirical entropy), group_checks (format 1 against group sizes 5, 20, 60)
    and simd_equivalence (the frames the AVX2 kernel leaves to the scalar code;
    needs a CPU with AVX2).
  - target/release/compare: zstd -19 and xz -9e on the same tokens (its timings are
    ignored), and .venv's zstandard for the Python benchmark's zstd row.
  - the logs firmware/qemu-test.sh leaves in firmware/target/qemu-test/ (QEMU with
    -icount shift=0 counts instructions exactly, so these are deterministic for a
    given build). This script does not run QEMU: run firmware/qemu-test.sh first
    (scripts/test.sh does, in the step before this check); a missing log is an
    error naming it.
  - the challenge decoder built by scripts/test.sh (`cargo build --profile
    challenge --target x86_64-unknown-linux-musl -p vqtans-unpack`, a no-op when
    fresh), and its deflated size in a zip made by `host-tools pack --challenge`.
  - constants in the sources: the firmware's bounds (firmware/src/checks.rs) and
    the leave-one-out rate floors (codec/tests/context_real.rs).

Usage: python3 scripts/readme-figures.py [--check]
(about 15 s on 2 cores when the builds are fresh, as after the test steps).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READMES = [REPO / "README.md", REPO / "firmware" / "README.md"]
# A figure's marker; its value holds no other HTML comment, so an unclosed marker
# never swallows the text up to the next one (it is reported instead).
MARKER = re.compile(r"<!--f:([A-Za-z0-9_.\-]+)-->((?:(?!<!--).)*?)<!--/f-->", re.DOTALL)
OPENING = re.compile(r"<!--f:")
SEGMENTS = ["commaai-commavq_0", "mattseabrook-commavq_0"]
SHORT = {"commaai-commavq_0": "commaai", "mattseabrook-commavq_0": "matt"}
FRAMES = 1200
TOKENS = FRAMES * 128
# The README's table-budget rows (bytes of device footprint), and the microbit's.
BUDGETS = [65536, 131072, 262144, 524288, 807134]
M0_BUDGET = 131072
# Peer figures that are not re-measured here: zpaq -m5 (transposed int16), from
# ../shared/notes/model-findings.md, attributed as such in the README.
ZPAQ_RATE = {"commaai": 1.649, "matt": 1.792}


class SourceError(Exception):
    """A source of figures could not be read or run; the message names it."""


def data_dir() -> Path:
    return Path(os.environ.get("VQTANS_DATA", REPO.parent / "shared" / "data" / "commavq")).resolve()


def run(cmd: list[str], cwd: Path = REPO) -> str:
    """Runs CMD and returns its standard output; fails naming CMD and its last lines."""
    env = dict(os.environ, RUST_BACKTRACE="0")  # a failing test's message, not its backtrace
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-8:])
        raise SourceError(f"`{' '.join(cmd)}` failed (exit {p.returncode}):\n{tail}")
    return p.stdout


# ---- number formats ----------------------------------------------------------
# Rounding is half up on the decimal digits as printed (4.35 -> 4.4), whether the
# value comes from a log line or a computation.


def n(x: int) -> str:
    """An integer with thousands separators: 98,502."""
    return f"{x:,}"


def d(x: float | str, places: int) -> str:
    """X with PLACES decimals, rounded half up: d(4.35, 1) == "4.4"."""
    q = Decimal(1).scaleb(-places)
    return str(Decimal(str(x)).quantize(q, rounding=ROUND_HALF_UP))


def pct(x: float, places: int = 2) -> str:
    """The fraction X as a percentage: pct(0.0129) == "1.29%"."""
    return d(100 * x, places) + "%"


def signed_pct(x: float, places: int = 2) -> str:
    """Like pct, with its sign: "+0.13%", "-3.75%"."""
    s = pct(x, places)
    return s if s.startswith("-") else "+" + s


def kib(x: int, places: int = 1) -> str:
    """Bytes in KiB: kib(1728) == "1.7"."""
    return d(x / 1024, places)


def whole(x: float) -> str:
    """X rounded half up to an integer."""
    return d(x, 0)


# ---- the firmware under QEMU ------------------------------------------------------

QEMU_OUT = REPO / "firmware" / "target" / "qemu-test"


class CaseLog:
    """The decoded defmt log of one qemu-test.sh case."""

    def __init__(self, case: str):
        self.path = QEMU_OUT / case / "log.txt"
        if not self.path.is_file():
            raise SourceError(f"{self.path.relative_to(REPO)}: not found: run `bash firmware/qemu-test.sh` first "
                              "(scripts/test.sh does, in the step before this check)")
        self.text = self.path.read_text(errors="replace")

    def find(self, pattern: str) -> re.Match:
        """The first match of PATTERN; a leading `^` also admits defmt's level prefix (`INFO  `)."""
        if pattern.startswith("^"):
            pattern = r"^(?:[A-Z]+ +)?" + pattern[1:]
        m = re.search(pattern, self.text, re.M)
        if not m:
            raise SourceError(f"{self.path.relative_to(REPO)}: no line matching /{pattern}/")
        return m

    def num(self, pattern: str) -> Decimal:
        """The first group of PATTERN's first match, as printed (the firmware prints
        instructions per token truncated to hundredths)."""
        return Decimal(self.find(pattern)[1])


def firmware_figures() -> dict[str, str]:
    """Instructions per token, RAM and flash of the decode and link cases on both
    boards, from the logs firmware/qemu-test.sh leaves (-icount shift=0: exact
    instruction counts). Instructions per token are given as the device prints
    them (hundredths), never rounded again."""
    f: dict[str, str] = {}
    per = r"([0-9]+\.[0-9]+)"
    decode, k64, link = CaseLog("decode"), CaseLog("decode-k64"), CaseLog("uart-stream")
    m4_flash, m0_flash, m0_link = [], [], []
    decoder_sizes = set()
    check_stacks: list[tuple[int, int]] = []
    link_stacks: list[int] = []
    whole_ram: list[int] = []
    for i, seg in enumerate(SEGMENTS):
        s, q = SHORT[seg], re.escape(seg)
        x = decode.num(rf"^segment {q}: decode [0-9]+ tokens .* = {per} instructions/token")
        m4_flash.append(x)
        f[f"fw.m4.decode.{s}"] = d(x, 2)
        from_flash = decode.num(rf"^segment {q}: with the tables read from flash instead: {per} instructions/token")
        f[f"fw.m4.ramflash.{s}"] = d(x, 2) if from_flash == x else f"{d(x, 2)} (from RAM; {d(from_flash, 2)} from flash)"
        frames = decode.num(rf"^segment {q}: phase model other frames .* {per}/token")
        kinds = decode.num(rf"^segment {q}: phase +of which kind-plane update .* {per}/token")
        f[f"fw.m4.phase.loop.{s}"] = d(frames - kinds, 2)
        f[f"fw.m4.phase.kinds.{s}"] = d(kinds, 2)
        f[f"fw.m4.phase.crc.{s}"] = d(decode.num(rf"^segment {q}: phase token CRC-32 .* {per}/token"), 2)
        ram = decode.find(rf"^segment {q}: RAM: size_of SegmentDecoder ([0-9]+) B .*stack peak during decode ([0-9]+) B")
        decoder_sizes.add(int(ram[1]))
        f[f"fw.m4.decoder.{s}"] = n(int(ram[1]))
        f[f"fw.m4.stack.{s}"] = n(int(ram[2]))
        f[f"fw.m4.portable.{s}"] = d(decode.num(rf"^segment {q}: with the portable frame loop instead: {per}"), 2)
        f[f"fw.m4.k64.{s}"] = d(k64.num(rf"^segment {q}: decode [0-9]+ tokens .* = {per} instructions/token"), 2)
        f[f"fw.m4.k64.portable.{s}"] = d(k64.num(rf"^segment {q}: with the portable frame loop instead: {per}"), 2)
        f[f"fw.m4.link.{s}"] = d(link.num(rf"^stream {i}: decode {per} instructions/token"), 2)
        lram = link.find(rf"^stream {i}: RAM: StreamDecoder ([0-9]+) B .* stack peak ([0-9]+) B")
        f[f"fw.m4.link.state.{s}"] = n(int(lram[1]))
        f[f"fw.m4.link.stack.{s}"] = n(int(lram[2]))
        f[f"fw.m4.link.more.{s}"] = d(link.num(rf"^stream {i}: decode {per} instructions/token") - x, 2)

        m0d, m0l = CaseLog(f"m0-decode-{seg}"), CaseLog(f"m0-uart-stream-{seg}")
        y = m0d.num(rf"^segment {q}: decode [0-9]+ tokens .* = {per} instructions/token")
        m0_flash.append(y)
        f[f"fw.m0.decode.{s}"] = d(y, 2)
        f[f"fw.m0.portable.{s}"] = d(m0d.num(rf"^segment {q}: with the portable frame loop instead: {per}"), 2)
        frames = m0d.num(rf"^segment {q}: phase model other frames .* {per}/token")
        kinds = m0d.num(rf"^segment {q}: phase +of which kind-plane update .* {per}/token")
        f[f"fw.m0.phase.loop.{s}"] = d(frames - kinds, 2)
        f[f"fw.m0.phase.kinds.{s}"] = d(kinds, 2)
        f[f"fw.m0.phase.crc.{s}"] = d(m0d.num(rf"^segment {q}: phase token CRC-32 .* {per}/token"), 2)
        ram = m0d.find(rf"^segment {q}: RAM: size_of SegmentDecoder ([0-9]+) B .*stack peak during decode ([0-9]+) B")
        decoder_sizes.add(int(ram[1]))
        f[f"fw.m0.stack.{s}"] = n(int(ram[2]))
        z = m0l.num(rf"^stream 0: decode {per} instructions/token")
        m0_link.append(z)
        f[f"fw.m0.link.{s}"] = d(z, 2)
        lram = m0l.find(r"^stream 0: RAM: StreamDecoder ([0-9]+) B .* stack peak ([0-9]+) B")
        f[f"fw.m0.link.state.{s}"] = n(int(lram[1]))
        f[f"fw.m0.link.stack.{s}"] = n(int(lram[2]))
        peak = int(m0l.find(r"^stack: peak ([0-9]+) bytes")[1])
        statics = int(m0l.find(r"^static RAM: ([0-9]+) bytes")[1])
        f[f"fw.m0.whole.{s}"] = f"{n(peak)} + {n(statics)}"
        check = CaseLog(f"m0-kernel-check-{seg}").find(r"^stack: peak ([0-9]+) bytes of ([0-9]+)")
        check_stacks.append((int(check[1]), int(check[2])))
        link_stacks.append(int(lram[2]))
        whole_ram.append(peak + statics)
    f["fw.m0.link.stack.max"] = n(max(link_stacks))
    f["fw.m0.whole.kib.max"] = kib(max(whole_ram))
    peak, size = max(check_stacks)
    f["fw.m0.check.stack.max"] = f"{n(peak)} B of {n(size)}"
    f["fw.decoder.bytes"] = " and ".join(n(b) for b in sorted(decoder_sizes))
    f["fw.decoder.kib"] = " and ".join(kib(b) for b in sorted(decoder_sizes))
    f["fw.m4.about"] = f"{whole(min(m4_flash))}-{whole(max(m4_flash))}"
    f["fw.m0.about"] = f"{whole(min(m0_flash + m0_link))}-{whole(max(m0_flash + m0_link))}"

    # Flash taken by the firmware's own code and constants, over the cases' images.
    # The decoding images: from flash and streaming (the placeholder and
    # kernel-check builds are test builds with less or other code).
    for board, cases in [("m4", ["decode", "decode-k64", "uart-stream"]),
                         ("m0", [f"m0-{c}-{seg}" for c in ("decode", "uart-stream") for seg in SEGMENTS])]:
        sizes = [int(CaseLog(c).find(r"^flash: .* code and constants ([0-9]+) B")[1]) for c in cases]
        lo, hi = whole(min(sizes) / 1000), whole(max(sizes) / 1000)
        f[f"fw.{board}.code.kb"] = f"{lo}" if lo == hi else f"{lo}-{hi}"

    # The build refusing the default table set for the microbit, as an indented block.
    build_log = QEMU_OUT / "build-m0-over-budget.log"
    if not build_log.is_file():
        raise SourceError(f"{build_log.relative_to(REPO)}: not found: run `bash firmware/qemu-test.sh` first")
    m = re.search(r"error: too large for the microbit-v1 board's flash: .*", build_log.read_text())
    if not m:
        raise SourceError(f"{build_log.relative_to(REPO)}: no line `error: too large for the microbit-v1 board's flash`")
    f["fw.m0.over-budget"] = "\n\n" + "\n".join("    " + line for line in wrap_words(m[0], 96)) + "\n\n"

    # What the receivers' waiting costs (boot calibration of the link cases).
    for board, case in [("m4", "uart-stream"), ("m0", f"m0-uart-stream-{SEGMENTS[0]}")]:
        m = CaseLog(case).find(r"^link: timeout .* receiver waiting: ([0-9.]+) instructions per poll, ([0-9.]+) per wait")
        f[f"fw.{board}.poll"] = whole(m[1])
        f[f"fw.{board}.wait"] = whole(m[2])

    # The unrolled ARMv6-M frame loop's size, from the ELF's symbol table.
    elf = QEMU_OUT / f"m0-decode-{SEGMENTS[0]}.elf"
    if not elf.is_file():
        raise SourceError(f"{elf.relative_to(REPO)}: not found: run `bash firmware/qemu-test.sh` first")
    sym = re.search(r"^\s*[0-9]+: [0-9a-f]+ +([0-9]+) +\w+ +\w+ +\w+ +\S+ +vqtans_v6m_rows$",
                    run(["readelf", "-sW", str(elf)]), re.M)
    if not sym or int(sym[1]) == 0:
        raise SourceError(f"{elf.relative_to(REPO)}: no sized symbol vqtans_v6m_rows")
    f["fw.m0.v6m.kib"] = kib(int(sym[1]))
    # The share of the decode case's PC samples in the ARMv7E-M frame loop.
    profile = QEMU_OUT / "decode" / "profile.txt"
    shares = re.findall(r"^ +([0-9.]+)% +frame loop: ARMv7E-M kernel", profile.read_text() if profile.is_file() else "",
                        re.M)
    if len(shares) != len(SEGMENTS):
        raise SourceError(f"{profile.relative_to(REPO)}: no frame-loop share per segment (run firmware/qemu-test.sh)")
    shown = sorted({whole(x) for x in shares}, key=int)
    f["fw.m4.profile.kernel"] = "-".join([shown[0], shown[-1]] if len(shown) > 1 else shown)
    f["fw.placeholder.bytes"] = n((REPO / "firmware" / "data" / "placeholder.bin").stat().st_size)
    return f


def wrap_words(text: str, width: int) -> list[str]:
    """TEXT broken at spaces into lines of at most WIDTH characters."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


# ---- host-tools ----------------------------------------------------------------


class Host:
    """host-tools on the real segments, in a scratch folder."""

    def __init__(self, work: Path):
        # As firmware/qemu-test.sh builds them (`cargo run -p host-tools`), so that
        # nothing is rebuilt after that step.
        run(["cargo", "build", "--release", "--locked", "-q", "-p", "host-tools"])
        run(["cargo", "build", "--release", "--locked", "-q", "-p", "vqtans-benches", "--bin", "compare"])
        self.exe = REPO / "target" / "release" / "host-tools"
        self.work = work
        self.data = data_dir()
        for seg in SEGMENTS:
            if not (self.data / f"{seg}.npy").is_file():
                raise SourceError(f"{self.data / (seg + '.npy')}: not found (set VQTANS_DATA)")

    def npy(self, seg: str) -> str:
        return str(self.data / f"{seg}.npy")

    def tables(self, name: str, train: list[str], *extra: str) -> str:
        out = self.work / f"{name}.vqtt"
        if not out.exists():
            run([str(self.exe), "build-tables", "--threads", "1", *extra, "-o", str(out), *map(self.npy, train)])
        return str(out)

    def stats(self, tables: str, segs: list[str]) -> dict:
        return json.loads(run([str(self.exe), "stats", "--json", "--tables", tables, *map(self.npy, segs)]))

    def info(self, tables: str) -> dict:
        return json.loads(run([str(self.exe), "tables-info", "--json", tables]))

    def encode(self, tables: str, seg: str, *extra: str) -> int:
        out = self.work / f"{seg}-{'-'.join(extra) or 'default'}.vqt"
        run([str(self.exe), "encode", *extra, "--tables", tables, "-o", str(out), self.npy(seg)])
        return out.stat().st_size


def other(seg: str) -> str:
    return SEGMENTS[1 - SEGMENTS.index(seg)]


def host_figures(host: Host) -> dict[str, str]:
    """Rates, bits per part, table-set sizes and group-checksum costs."""
    f: dict[str, str] = {}
    loo = {seg: host.tables(f"loo-{seg}", [other(seg)]) for seg in SEGMENTS}
    both = host.tables("both", SEGMENTS)
    o0 = {seg: host.tables(f"o0-{seg}", [other(seg)], "--order0") for seg in SEGMENTS}
    o0_both = host.tables("o0-both", SEGMENTS, "--order0")
    rates = {}
    for seg in SEGMENTS:
        s = SHORT[seg]
        st = host.stats(loo[seg], [seg])["total"]
        rates[s] = st["rate"]
        f[f"rate.loo.{s}"] = d(st["rate"], 3)
        f[f"rate.loo4.{s}"] = d(st["rate"], 4)
        f[f"bytes.loo.{s}"] = n(st["bytes"])
        parts = st["parts"]
        per = {k: v["bits_per_token"] for k, v in parts.items()}
        for key, part in [("copy", "class:copy"), ("own", "class:own"), ("successor", "class:successor"),
                          ("escape", "class:escape"), ("offset", "successor-offset"), ("raw", "escape-token")]:
            f[f"bits.{key}.{s}"] = d(per.get(part, 0.0), 3)
        f[f"bits.frame0.{s}"] = d(per.get("first-frame", 0.0) + per.get("overhead", 0.0), 3)
        f[f"bits.checks.{s}"] = d(per.get("group-check", 0.0), 4)
        f[f"bits.total.{s}"] = d(st["bits_per_token"], 3)
        f[f"rate.insample.{s}"] = d(host.stats(both, [seg])["total"]["rate"], 3)
        f[f"rate.o0.loo.{s}"] = d(host.stats(o0[seg], [seg])["total"]["rate"], 3)
        f[f"rate.o0.insample.{s}"] = d(host.stats(o0_both, [seg])["total"]["rate"], 3)
    total = host.stats(loo[SEGMENTS[0]], [SEGMENTS[0]])["total"]["bytes"] + host.stats(
        loo[SEGMENTS[1]], [SEGMENTS[1]])["total"]["bytes"]
    f["rate.loo.total"] = d(2 * TOKENS * 10 / (8 * total), 3)
    f["bytes.loo.total"] = n(total)
    for s in ("commaai", "matt"):
        f[f"vs.zpaq.{s}"] = pct(rates[s] / ZPAQ_RATE[s] - 1, 0)

    # The default table set and its device footprint.
    info = host.info(loo[SEGMENTS[0]])
    fp = info["footprint"]
    f["set.bytes"] = n(fp["table_set_bytes"])
    f["set.image"] = n(fp["image_bytes"])
    f["set.footprint"] = n(fp["bytes"])
    f["set.footprint.both"] = n(sum(host.info(loo[seg])["footprint"]["bytes"] for seg in SEGMENTS))

    # The microbit's sets (built for M0_BUDGET, as firmware/qemu-test.sh does).
    m0 = {seg: host.tables(f"budget-{M0_BUDGET}-{seg}", [other(seg)], "--max-bytes", str(M0_BUDGET))
          for seg in SEGMENTS}
    m0_info = [host.info(m0[seg])["footprint"] for seg in SEGMENTS]
    if len({json.dumps(i, sort_keys=True) for i in m0_info}) != 1:
        raise SourceError(f"the microbit's two table sets differ in size ({m0_info}); the README gives one size")
    f["m0.set.bytes"] = n(m0_info[0]["table_set_bytes"])
    f["m0.set.image"] = n(m0_info[0]["image_bytes"])
    f["m0.set.footprint"] = n(m0_info[0]["bytes"])
    f["m0.set.footprint.kb"] = whole(m0_info[0]["bytes"] / 1000)
    m0_change = []
    for seg in SEGMENTS:
        r = host.stats(m0[seg], [seg])["total"]["rate"]
        f[f"m0.rate.{SHORT[seg]}"] = d(r, 4)
        m0_change.append(r / rates[SHORT[seg]] - 1)
    changes = sorted({pct(c, 1) for c in m0_change})
    f["m0.rate.change"] = " to ".join(changes)
    return f


BUDGET_LABEL = {65536: "64 KiB", 131072: "128 KiB", 262144: "256 KiB", 524288: "512 KiB", 807134: "the default's footprint"}
# The rows the README sets in bold.
BUDGET_BOLD = {131072, 524288}


def budget_figures(host: Host) -> dict[str, str]:
    """The table-budget sweep of README's "Table budgets" (what scripts/table-budgets.sh
    prints): for each budget and segment, the set built from the other segment with
    --max-bytes, its parameters, footprint and leave-one-out rate against the default
    set's. One figure per table cell (budget.BUDGET.SEGMENT, budget.default.SEGMENT);
    builds run two at a time."""
    jobs = [(b, seg) for b in BUDGETS for seg in SEGMENTS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda j: host.tables(f"budget-{j[0]}-{j[1]}", [other(j[1])], "--max-bytes",
                                                      str(j[0])), jobs))
    f: dict[str, str] = {}
    # Per segment, each budget's (parameters, footprint): a set equal to one of a
    # smaller budget is shown as "the same as" it.
    earlier: dict[str, dict[int, tuple[str, int]]] = {seg: {} for seg in SEGMENTS}
    default_params = {}
    base = {}
    for seg in SEGMENTS:
        path = host.tables(f"loo-{seg}", [other(seg)])
        info = host.info(path)
        m = info["model"]
        default_params[seg] = (f"K={m['k']}, M={info['state_log']}, {m['tables']} tables, `{m['list_coding']}` lists, "
                               f"{info['footprint']['entry_bits']}-bit entries")
        base[seg] = host.stats(path, [seg])["total"]["rate"]
        fp = n(info["footprint"]["bytes"])
        if seg != SEGMENTS[0] and default_params[seg] == default_params[SEGMENTS[0]]:
            f[f"budget.default.{SHORT[seg]}"] = f"the same: {fp} B, **{d(base[seg], 4)}**"
        else:
            f[f"budget.default.{SHORT[seg]}"] = f"{default_params[seg]}: {fp} B, **{d(base[seg], 4)}**"
    for (budget, seg), path in zip(jobs, paths):
        info = host.info(path)
        m = info["model"]
        slots = " (2 slots)" if info["least_slots"] >= 2 else ""
        params = f"K={m['k']}, M={info['state_log']}{slots}, {m['tables']} tables"
        fp = info["footprint"]["bytes"]
        if fp > budget:
            raise SourceError(f"the table set built for --max-bytes {budget} from {other(seg)} takes {fp} B")
        rate = host.stats(path, [seg])["total"]["rate"]
        figures = f"{d(rate, 4)} ({signed_pct(rate / base[seg] - 1)})"
        if budget in BUDGET_BOLD:
            figures = f"**{figures}**"
        same = [b for b, seen in earlier[seg].items() if seen == (params, fp)]
        lead = f"the same as {BUDGET_LABEL[same[0]]}" if same else params
        earlier[seg][budget] = (params, fp)
        f[f"budget.{budget}.{SHORT[seg]}"] = f"{lead}: {n(fp)} B, {figures}"
    return f


# ---- codec tests ---------------------------------------------------------------


def cargo_test_output(test: str, name: str) -> str:
    """The output of one codec test run with --nocapture, built as scripts/test.sh's
    workspace step builds it (`cargo test --workspace`, the `test` profile), so
    nothing is rebuilt after that step."""
    return run(["cargo", "test", "--locked", "--workspace", "-q", "--test", test, "--", "--exact", name,
                "--nocapture"])


def test_figures() -> dict[str, str]:
    """The tANS coder's overhead (order0_real), the kernel's tail (simd_equivalence),
    the cost of two sections (sections) and of group checksums (group_checks)."""
    f: dict[str, str] = {}
    out = cargo_test_output("order0_real", "order0_round_trip_is_exact_and_close_to_entropy")
    overheads = []
    for seg in SEGMENTS:
        m = re.search(rf"^{seg}: entropy ([0-9.]+) bits/token, coded ([0-9.]+), overhead ([0-9.]+)%$", out, re.M)
        if not m:
            raise SourceError(f"order0_real printed no figures for {seg}:\n{out}")
        f[f"order0.entropy.{SHORT[seg]}"] = m[1]
        f[f"order0.coded.{SHORT[seg]}"] = m[2]
        overheads.append(m[3])
    shown = [d(o, 2) + "%" for o in overheads]
    f["order0.overhead"] = shown[0] if len(set(shown)) == 1 else " and ".join(shown)

    out = cargo_test_output("simd_equivalence", "avx2_kernel_decodes_every_frame")
    tails = []
    for seg in SEGMENTS:
        m = re.search(rf"^{seg}: SimdReport {{ kernel: \w+, simd_frames: [0-9]+, scalar_frames: ([0-9]+),.*\(AVX2 available: (\w+)\)$",
                      out, re.M)
        if not m or m[2] != "true":
            raise SourceError(f"simd_equivalence gave no AVX2 report for {seg} (a CPU without AVX2?):\n{out}")
        tails.append(m[1])
    f["simd.tail"] = " and ".join(tails)

    out = cargo_test_output("sections", "two_sections_cost_at_most_0_3_percent_leave_one_out")
    for seg in SEGMENTS:
        m = re.search(rf"^{seg}: 1 section [0-9]+ B .*, 2 sections [0-9]+ B .*: (\+[0-9.]+%)$", out, re.M)
        if not m:
            raise SourceError(f"sections printed no figures for {seg}:\n{out}")
        f[f"sections.cost.{SHORT[seg]}"] = m[1]

    out = cargo_test_output("group_checks", "group_checksums_cost_at_most_0_3_percent_at_20_frames")
    for seg in SEGMENTS:
        m = re.search(rf"^{seg}: ([0-9]+) B((?:; G [0-9]+: [^;\n]+)+)$", out, re.M)
        if not m:
            raise SourceError(f"group_checks printed no figures for {seg}:\n{out}")
        v1 = int(m[1])
        s = SHORT[seg]
        f[f"groups.v1.{s}"] = f"{n(v1)} B, rate {d(TOKENS * 10 / (8 * v1), 3)}"
        for g, size in re.findall(r"; G ([0-9]+): ([0-9]+) B", m[2]):
            size = int(size)
            f[f"groups.{g}.{s}"] = f"{n(size)} B, +{n(size - v1)} B = {pct((size - v1) / v1)}, {d(TOKENS * 10 / (8 * size), 3)}"
    return f


# ---- peers -----------------------------------------------------------------------


def peer_figures(host: Host) -> dict[str, str]:
    """zstd -19 and xz -9e rates from the `compare` program (its timings are not
    used), and zstd -19 through Python's zstandard (the Python benchmark's row)."""
    out = run([str(REPO / "target" / "release" / "compare"), *map(host.npy, SEGMENTS)])
    f: dict[str, str] = {}
    rates: dict[str, dict[str, float]] = {}
    # One row per segment and a total row:
    # `file tokens | vqtans-bytes rate scalar/s SIMD/s | zstd-bytes rate decode/s | xz-bytes rate decode/s`.
    for line in out.splitlines():
        groups = [g.split() for g in line.split("|")]
        if len(groups) != 4 or len(groups[0]) != 2 or not groups[0][1].isdigit():
            continue
        key = groups[0][0].removesuffix(".npy")
        tokens = int(groups[0][1])
        rates[SHORT.get(key, key)] = {
            coder: tokens * 10 / (8 * int(g[0])) for coder, g in zip(("vqtans", "zstd", "xz"), groups[1:])
        }
    for s in ("commaai", "matt", "total"):
        if s not in rates:
            raise SourceError(f"compare printed no row for {s}:\n{out}")
        f[f"zstd.rate.{s}"] = d(rates[s]["zstd"], 3)
        f[f"xz.rate.{s}"] = d(rates[s]["xz"], 3)
    f["vs.xz.commaai"] = pct(rates["commaai"]["vqtans"] / rates["commaai"]["xz"] - 1, 0)
    f["vs.xz.matt"] = pct(rates["matt"]["vqtans"] / rates["matt"]["xz"] - 1, 0)

    venv_python = REPO / ".venv" / "bin" / "python"
    if not venv_python.exists():
        raise SourceError(f"{venv_python}: not found (bash scripts/setup.sh makes it)")
    code = ("import sys, numpy as np, zstandard\n"
            "c = zstandard.ZstdCompressor(level=19)\n"
            "print(sum(len(c.compress(np.ascontiguousarray(np.load(p), dtype='<i2').tobytes())) for p in sys.argv[1:]))")
    zbytes = int(run([str(venv_python), "-c", code, *map(host.npy, SEGMENTS)]))
    zrate = 2 * TOKENS * 10 / (8 * zbytes)
    f["py.zstd.rate"] = d(zrate, 3)
    f["py.vs.raw"] = d(rates["total"]["vqtans"] / 0.625, 1)
    f["py.vs.zstd"] = d(rates["total"]["vqtans"] / zrate, 1)
    return f


# ---- the challenge decoder ------------------------------------------------------


def decoder_figures(host: Host) -> dict[str, str]:
    """The static challenge decoder: its size, and its deflated size in a submission
    zip (`pack --challenge` on the two real segments)."""
    run(["cargo", "build", "--locked", "-q", "--profile", "challenge", "--target", "x86_64-unknown-linux-musl", "-p",
         "vqtans-unpack"])
    exe = REPO / "target" / "x86_64-unknown-linux-musl" / "challenge" / "vqtans-unpack"
    zip_path = host.work / "submission.zip"
    run([str(host.exe), "pack", "--challenge", "--decoder", str(exe), "-o", str(zip_path), "--tables",
         host.tables(f"loo-{SEGMENTS[0]}", [other(SEGMENTS[0])]), *map(host.npy, SEGMENTS)])
    with zipfile.ZipFile(zip_path) as z:
        deflated = z.getinfo("vqtans-unpack").compress_size
    return {"decoder.bytes": n(exe.stat().st_size), "decoder.deflated.kb": whole(deflated / 1000)}


# ---- constants in the sources ---------------------------------------------------


def constant_figures() -> dict[str, str]:
    """The bounds the firmware and the tests hold the code to, as the sources state them."""
    f: dict[str, str] = {}
    checks = (REPO / "firmware" / "src" / "checks.rs").read_text()
    for name, fig in [("MAX_INSTRUCTIONS_PER_TOKEN_X100", "bound.flash"),
                      ("MAX_LINK_INSTRUCTIONS_PER_TOKEN_X100", "bound.link")]:
        # The bounds are per core: the QEMU boards' (mps2-an386, microbit-v1).
        for core, short in [("armv7em", "m4"), ("armv6m", "m0")]:
            m = re.search(rf'#\[cfg\({core}\)\]\s*pub const {name}: u64 = ([0-9_]+);', checks)
            if not m:
                raise SourceError(f"firmware/src/checks.rs: no {name} for cfg({core})")
            x100 = int(m[1].replace("_", ""))
            f[f"{fig}.{short}"] = d(x100 / 100, 1 if x100 % 10 == 0 else 2)
    context_real = (REPO / "codec" / "tests" / "context_real.rs").read_text()
    for seg in SEGMENTS:
        m = re.search(rf'\("{seg}", ([0-9.]+)\)', context_real)
        if not m:
            raise SourceError(f"codec/tests/context_real.rs: no MIN_RATE for {seg}")
        f[f"bound.rate.{SHORT[seg]}"] = m[1]
    return f


# ---- the READMEs -----------------------------------------------------------------


# Figures that vary with the host's load (see the module comment), and how far.
LINK_FIGURE = re.compile(r"^fw\.m[04]\.link(\.more)?\.(commaai|matt)$")
LINK_TOLERANCE = 0.1


def within_tolerance(name: str, readme: str, code: str) -> bool:
    """Whether the README's `readme` may stand for the code's `code`: equal, or
    for a load-dependent streaming figure within LINK_TOLERANCE."""
    if readme == code:
        return True
    if not LINK_FIGURE.match(name):
        return False
    try:
        return abs(float(readme) - float(code)) <= LINK_TOLERANCE
    except ValueError:
        return False


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def apply(figures: dict[str, str], check: bool) -> int:
    """Checks or rewrites every README's markers; returns the number of problems
    (figures that differ under --check, and unknown names)."""
    problems = 0
    for path in READMES:
        text = path.read_text()
        rel = path.relative_to(REPO)
        changed = []

        def replace(m: re.Match) -> str:
            nonlocal problems
            name, value = m[1], m[2]
            if name not in figures:
                problems += 1
                print(f"{rel}:{line_of(text, m.start())}: unknown figure {name} (not made by {Path(__file__).name})")
                return m[0]
            if check and within_tolerance(name, value, figures[name]):
                return m[0]
            if value != figures[name]:
                changed.append(name)
                if check:
                    problems += 1
                    print(f"{rel}:{line_of(text, m.start())}: figure {name}: the README says {value!r}, "
                          f"the code gives {figures[name]!r}")
            return f"<!--f:{name}-->{figures[name]}<!--/f-->"

        closed = {m.start() for m in MARKER.finditer(text)}
        for m in OPENING.finditer(text):
            if m.start() not in closed:
                problems += 1
                print(f"{rel}:{line_of(text, m.start())}: a figure marker without its closing <!--/f-->")
        new = MARKER.sub(replace, text)
        if not check and new != text:
            with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
                tmp.write(new)
            os.chmod(tmp.name, path.stat().st_mode & 0o777)
            os.replace(tmp.name, path)
            print(f"{rel}: {len(changed)} figure(s) updated: {', '.join(changed)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 naming every figure that differs from what the code gives")
    args = parser.parse_args()
    figures: dict[str, str] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="readme-figures-") as work:
            host = Host(Path(work))
            figures.update(constant_figures())
            figures.update(firmware_figures())
            figures.update(host_figures(host))
            figures.update(budget_figures(host))
            figures.update(test_figures())
            figures.update(peer_figures(host))
            figures.update(decoder_figures(host))
    except SourceError as e:
        print(f"readme-figures: {e}", file=sys.stderr)
        return 1
    problems = apply(figures, args.check)
    if args.check:
        if problems:
            print(f"readme-figures: {problems} of {len(figures)} figures differ or are unknown; "
                  f"`python3 scripts/readme-figures.py` rewrites them (after firmware/qemu-test.sh)")
        else:
            print(f"readme-figures: all {len(figures)} figures in the READMEs are what the code gives")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
