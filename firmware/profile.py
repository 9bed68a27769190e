#!/usr/bin/env python3
"""Summarise the firmware's PC-sampling profile (see src/profile.rs).

    profile.py ELF LOG [TOP]

LOG is the decoded defmt log: `prof <address> <samples>` lines, each block
closed by `profile <segment>: <total> samples, ...`. Addresses are mapped to
source with `llvm-addr2line -f -i` (inlined frames included) and samples are
summed four ways, per segment:

  - by phase of the decoder (from the inlined function chain);
  - by codec statement: the outermost codec frame (the line of
    `SegmentDecoder::next_frame`, `ContextState::decode_frame`, ... that the
    time is spent under);
  - by codec function: the innermost codec frame (standard-library frames
    such as slice indexing are charged to the codec code that called them);
  - by innermost line, whatever crate it is in.

Code without line information, such as the ARMv7E-M frame loop written in
assembly (`vqtans_v7em_rows`), is attributed by the ELF symbol table
(read here with the standard library): its samples count under the
symbol's name instead of "other".

Each sample stands for the same number of instructions (the SysTick period
times 40 under -icount shift=0), so the shares are shares of instructions.
"""

import bisect
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter, defaultdict

CODEC = "/codec/src/"


def short(path: str) -> str:
    if CODEC in path:
        return path.split(CODEC, 1)[1]
    if "/library/" in path:
        return "std:" + path.split("/library/", 1)[1]
    return path.rsplit("/", 1)[-1]


def clean(fn: str) -> str:
    fn = re.sub(r"::h[0-9a-f]{16}$", "", fn)
    return fn.replace("vqtans::", "").replace("_$u7b$$u7b$closure$u7d$$u7d$", "{{closure}}")


_sources = {}


def source_line(path: str, lineno: str) -> str:
    """The text of a source line, shortened, or '' if unreadable."""
    if path not in _sources:
        try:
            with open(path, encoding="utf-8") as f:
                _sources[path] = f.read().splitlines()
        except OSError:
            _sources[path] = []
    lines, n = _sources[path], int(lineno) if lineno.isdigit() else 0
    text = lines[n - 1].strip() if 0 < n <= len(lines) else ""
    return text if len(text) <= 70 else text[:67] + "..."


def frames_of(elf, addresses):
    """address -> [(function, 'file:line'), ...] innermost first."""
    tool = shutil.which("llvm-addr2line") or shutil.which("addr2line")
    out = subprocess.run(
        [tool, "-f", "-i", "-a", "-C", "-e", elf] + [hex(a) for a in addresses],
        check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    result, current, i = {}, None, 0
    while i < len(out):
        line = out[i]
        if re.fullmatch(r"0x[0-9a-f]+", line):
            current = int(line, 16)
            result[current] = []
            i += 1
            continue
        fn, loc = clean(line), out[i + 1] if i + 1 < len(out) else "??:0"
        path, _, lineno = loc.rpartition(":")
        lineno = lineno.split(" ")[0]
        result[current].append((fn, f"{short(path)}:{lineno}", CODEC in path, source_line(path, lineno)))
        i += 2
    return result


def elf_functions(elf):
    """Sorted [(start, end, name)] of the function symbols of a 32-bit
    little-endian ELF file (the Thumb bit cleared from their addresses)."""
    data = open(elf, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        return []
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    functions = []
    for _, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != 2 or not entsize:  # SHT_SYMTAB
            continue
        strtab = sections[link]
        for at in range(offset, offset + size, entsize):
            name_off, value, sym_size, info = struct.unpack_from("<IIIB", data, at)
            if info & 0xF != 2 or sym_size == 0:  # STT_FUNC with a size
                continue
            start = strtab[4] + name_off
            name = data[start:data.index(b"\0", start)].decode("utf-8", "replace")
            functions.append((value & ~1, (value & ~1) + sym_size, name))
    functions.sort()
    return functions


# Unmangled symbols of the codec's assembly (`global_asm!`), e.g. the ARMv7E-M
# frame loop `vqtans_v7em_rows`.
ASM_PREFIX = "vqtans_"


def symbol_at(functions, starts, addr):
    """The name of the function symbol containing addr, or None."""
    i = bisect.bisect_right(starts, addr) - 1
    if i >= 0 and functions[i][0] <= addr < functions[i][1]:
        return functions[i][2]
    return None


# Phase of a sample: the first rule whose function name occurs in the
# sample's inlined-frame chain (checked in this order).
PHASES = [
    ("vqtans_v7em_rows", "frame loop: ARMv7E-M kernel (vqtans_v7em_rows, assembly)"),
    ("KindPlanes::next_frame", "kind planes: per-frame context bases"),
    ("TokenChecksum", "token CRC-32"),
    ("SegmentDecoder::new", "setup: SegmentDecoder::new (model check)"),
    ("from_table_set", "setup: SegmentDecoder::new (model check)"),
    ("TansDecoder::decode", "class symbols: tANS decode + bit reader"),
    ("table_unchecked_index", "class symbols: context + table lookup"),
    ("KindPlanes::context", "class symbols: context + table lookup"),
    ("KindPlanes::set_kind", "class symbols: kind of the class"),
    ("Classes::kind", "class symbols: kind of the class"),
    ("OwnLists", "tokens: own recency lists"),
    ("ContextModel::successor", "tokens: successor lists, raw bits"),
    ("read_raw", "tokens: successor lists, raw bits"),
    ("bucket_bits", "tokens: successor lists, raw bits"),
    ("memcpy", "memcpy"),
    ("ContextState::decode_frame", "decode_frame: loops, branches, stores"),
    ("SegmentDecoder", "SegmentDecoder: next_frame/finish"),
]


def phase_of(chain):
    names = [f[0] for f in chain]
    for pattern, phase in PHASES:
        if any(pattern in n for n in names):
            return phase
    return "other (firmware, runtime)"


def table(title, counter, total, top):
    print(f"  {title}")
    for key, n in counter.most_common(top):
        print(f"    {100.0 * n / total:5.1f}%  {key}")


def main():
    elf, log = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    blocks, samples = [], Counter()
    for line in open(log, encoding="utf-8", errors="replace"):
        m = re.search(r"\bprof (0x[0-9a-f]+) (\d+)", line)
        if m:
            samples[int(m.group(1), 16)] += int(m.group(2))
            continue
        m = re.search(r"\bprofile (\S+): (\d+) samples", line)
        if m:
            blocks.append((m.group(1), samples))
            samples = Counter()
    if not blocks:
        print("no profile in", log)
        return
    frames = frames_of(elf, sorted({a for _, s in blocks for a in s}))
    functions = elf_functions(elf)
    starts = [f[0] for f in functions]
    for name, s in blocks:
        total = sum(s.values())
        by_phase, by_stmt, by_fn, by_line = Counter(), Counter(), Counter(), Counter()
        for addr, n in s.items():
            chain = frames.get(addr) or [("??", "??:0", False, "")]
            symbol = symbol_at(functions, starts, addr)
            if symbol and symbol.startswith(ASM_PREFIX):
                # The codec's assembly has no line information of its own (what
                # llvm-addr2line finds there is stray): the symbol names it.
                chain = [(symbol, f"{symbol} (assembly)", True, "")]
            elif symbol and all(f[1] == "??:0" for f in chain):
                chain = [(symbol, f"{symbol} (no line info)", False, "")]
            codec = [f for f in chain if f[2]]
            by_phase[phase_of(chain)] += n
            outer = codec[-1] if codec else chain[-1]
            inner = codec[0] if codec else chain[0]
            by_stmt[f"{outer[1]:<30} {outer[3]}"] += n
            by_fn[inner[0]] += n
            by_line[f"{chain[0][1]:<30} {chain[0][3]}"] += n
        print(f"profile of segment {name}: {total} samples")
        table("by phase:", by_phase, total, len(by_phase))
        table("by codec statement (outermost codec frame):", by_stmt, total, top)
        table("by codec function (innermost codec frame):", by_fn, total, top)
        table("by innermost source line:", by_line, total, top)


if __name__ == "__main__":
    main()
