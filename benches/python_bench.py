"""Decode speed through Python, against the Rust decoder and two common ways of
storing tokens, on the two real segments, in one run.

    .venv/bin/python benches/python_bench.py [--rounds N] [--reps R] [FILE.npy ...]

Rows (each the same tokens, decoded from memory to an int16 array (N, 8, 16)):
* ``vqtans.decode`` (Python): the stream of each segment coded with tables
  trained on the other one (leave-one-out), a new array per call;
* ``vqtans.decode(out=)``: into a preallocated array;
* Rust SIMD decode: the ``SIMD/s`` figure of the Rust ``compare`` program
  (``cargo run --release -p vqtans-benches --bin compare``; same tables, same
  streams, output allocation included), run once per round;
* ``np.load`` of the raw ``.npy`` from an ``io.BytesIO``;
* ``zstandard`` level 19: decompress the int16 C-order bytes +
  ``np.frombuffer(...).reshape``;
* ``vqtans.decode`` of a batch (the segment ``BATCH`` times) by a thread pool of 1
  and of 2 threads (``concurrent.futures``; ``vqtans.decode`` releases the GIL
  while it decodes, so threads decode in parallel): tokens per second of the
  whole batch, wall time.

Each round times every Python row ``--reps`` times (after a warm-up) and takes
the median; the table shows the median over the rounds and the lowest-highest
range, in millions of tokens per second, and the ratio Python / Rust per round
(the target is Python within 10% of Rust: ratio >= 0.90).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import zstandard

import vqtans

REPO = Path(__file__).resolve().parents[1]
REAL_FILES = ("commaai-commavq_0.npy", "mattseabrook-commavq_0.npy")
# Decodes per batch in the thread-pool rows.
BATCH = 16


def default_files() -> list[Path]:
    data = Path(os.environ.get("VQTANS_DATA_DIR", REPO.parent / "shared" / "data" / "commavq"))
    return [data / name for name in REAL_FILES]


def median_seconds(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def rust_simd(files: list[Path]) -> dict[str, float]:
    """Tokens/s of the Rust SIMD decode per file (and 'total'), from `compare`."""
    out = subprocess.run(
        ["cargo", "run", "--release", "--locked", "-q", "-p", "vqtans-benches", "--bin", "compare", "--", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("file "))
    # Columns are grouped by `|`; inside a group, header cells are separated by
    # two or more spaces ("vqtans B", "rate", ...), data cells by spaces.
    groups = [re.split(r"\s{2,}", g.strip()) for g in header.split("|")]
    group = next(i for i, g in enumerate(groups) if "SIMD/s" in g)
    column = groups[group].index("SIMD/s")
    speeds = {}
    for line in lines[lines.index(header) + 1 :]:
        cells = [g.split() for g in line.split("|")]
        if len(cells) == len(groups) and len(cells[group]) == len(groups[group]):
            speeds[cells[0][0]] = float(re.fullmatch(r"([\d.]+)M", cells[group][column]).group(1)) * 1e6
    return speeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="segments (.npy); default: the two real ones")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each runs `compare` once)")
    parser.add_argument("--reps", type=int, default=51, help="timed calls per row and round (median)")
    args = parser.parse_args()
    files = args.files or default_files()
    arrays = [np.load(f) for f in files]
    names = [f.name for f in files]
    tokens = sum(a.size for a in arrays)

    tables = [vqtans.build_tables([b for j, b in enumerate(arrays) if j != i] or [a]) for i, a in enumerate(arrays)]
    streams = [vqtans.encode(a, t) for a, t in zip(arrays, tables)]
    outs = [np.empty_like(a, dtype=np.int16) for a in arrays]
    npys = [f.read_bytes() for f in files]
    zstd_c = zstandard.ZstdCompressor(level=19)
    zstd_d = zstandard.ZstdDecompressor()
    zstds = [zstd_c.compress(np.ascontiguousarray(a, dtype="<i2").tobytes()) for a in arrays]
    for a, s, t, z in zip(arrays, streams, tables, zstds):
        assert (vqtans.decode(s, t) == a).all()
        assert (np.frombuffer(zstd_d.decompress(z), "<i2").reshape(a.shape) == a).all()

    pools = {n: ThreadPoolExecutor(max_workers=n) for n in (1, 2)}

    def batch(i: int, threads: int) -> None:
        for tokens_out in pools[threads].map(lambda _: vqtans.decode(streams[i], tables[i]), range(BATCH)):
            assert tokens_out.shape == arrays[i].shape

    # Each row: what one timed call does, and how many segments it decodes.
    rows = {
        "vqtans.decode (Python)": (lambda i: vqtans.decode(streams[i], tables[i]), 1),
        "vqtans.decode(out=) (Python)": (lambda i: vqtans.decode(streams[i], tables[i], out=outs[i]), 1),
        f"vqtans.decode x{BATCH}, thread pool of 1": (lambda i: batch(i, 1), BATCH),
        f"vqtans.decode x{BATCH}, thread pool of 2": (lambda i: batch(i, 2), BATCH),
        "np.load(BytesIO(.npy))": (lambda i: np.load(io.BytesIO(npys[i])), 1),
        "zstd -19 + np.frombuffer": (
            lambda i: np.frombuffer(zstd_d.decompress(zstds[i]), "<i2").reshape(-1, 8, 16),
            1,
        ),
    }
    rust_row = "Rust SIMD decode (compare)"
    results: dict[str, list[dict[str, float]]] = {name: [] for name in [*rows, rust_row]}
    ratios: list[float] = []
    print(f"{len(files)} segments, {tokens} tokens; {args.rounds} rounds; the CPU's SIMD path in Rust and Python; "
          f"{os.cpu_count()} CPUs")
    for r in range(args.rounds):
        rust = rust_simd(files)
        results[rust_row].append(rust)
        for name, (fn, count) in rows.items():
            per_file = {}
            for i, a in enumerate(arrays):
                per_file[names[i]] = count * a.size / median_seconds(lambda: fn(i), args.reps)
            per_file["total"] = tokens / sum(a.size / per_file[names[i]] for i, a in enumerate(arrays))
            results[name].append(per_file)
        ratios.append(results["vqtans.decode (Python)"][-1]["total"] / rust["total"])
        print(f"round {r + 1}: Python {results['vqtans.decode (Python)'][-1]['total'] / 1e6:.1f} M tokens/s, "
              f"Rust {rust['total'] / 1e6:.1f} M, ratio {ratios[-1]:.3f}", flush=True)

    def cell(values: list[float]) -> str:
        m = [v / 1e6 for v in values]
        return f"{statistics.median(m):.0f} ({min(m):.0f}-{max(m):.0f})"

    columns = [*names, "total"]
    print()
    print(f"decode speed, M tokens/s: median over {args.rounds} rounds (lowest-highest); each round the median of "
          f"{args.reps} calls (Rust: of 15)")
    print("| | " + " | ".join(c.replace(".npy", "") for c in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name in [rows_name for rows_name in results]:
        print(f"| {name} | " + " | ".join(cell([run[c] for run in results[name]]) for c in columns) + " |")
    sizes = [len(s) for s in streams], [len(z) for z in zstds], [len(n) for n in npys]
    print()
    for label, lengths in zip(("vqtans stream", "zstd -19", ".npy"), sizes):
        print(f"{label:>14}: {sum(lengths)} bytes, rate {tokens * 10 / (sum(lengths) * 8):.3f}")
    print(f"Python / Rust (totals): median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f}"
          f" (target >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
