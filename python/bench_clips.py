"""Benchmark of `vqtans.Clips`: 20-frame clips at random positions per second,
read with 1 and 2 worker processes (multiprocessing, as DataLoader workers),
against decoding each clip's whole segment and slicing it.

    .venv/bin/python python/bench_clips.py [ARCHIVE.vqa] [--clips N] [--repeats R]

Without an archive, one is packed from the two bundled real segments
(../shared/data/commavq, or $VQTANS_DATA_DIR) with tables trained on them
(`host-tools pack --train`). Prints, per mode and worker count, the clips/s of
each repeat and their range. A benchmark, not a test: figures depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vqtans

REPO = Path(__file__).resolve().parents[1]
FRAMES = 20


def default_archive(folder: Path) -> Path:
    data = Path(os.environ.get("VQTANS_DATA_DIR", REPO.parent / "shared" / "data" / "commavq"))
    inputs = sorted(data.glob("*.npy"))
    if not inputs:
        sys.exit(f"bench_clips: no .npy segments in {data} (set VQTANS_DATA_DIR or give an archive)")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "host-tools"], cwd=REPO, check=True)
    archive = folder / "real.vqa"
    subprocess.run(
        [str(REPO / "target" / "release" / "host-tools"), "pack", "--train", "-o", str(archive), *map(str, inputs)],
        check=True,
        capture_output=True,
    )
    return archive


def read_clips(clips: vqtans.Clips, indices: list[int]) -> int:
    """Clip by clip, as a map-style dataset is read."""
    return sum(int(clips[i][-1, -1, -1]) for i in indices)


def read_whole(clips: vqtans.Clips, indices: list[int]) -> int:
    """The same clips, decoding each one's whole segment and slicing it."""
    total = 0
    for i in indices:
        archive, key, start = clips.locate(i)
        total += int(archive[key][start : start + clips.frames][-1, -1, -1])
    return total


def measure(pool, fn, clips: vqtans.Clips, indices: np.ndarray, workers: int) -> float:
    parts = [part.tolist() for part in np.array_split(indices, workers * 4)]
    start = time.perf_counter()
    pool.starmap(fn, [(clips, part) for part in parts])
    return len(indices) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", type=Path)
    parser.add_argument("--clips", type=int, default=2000, help="clips read per measurement (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per mode (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive or default_archive(Path(tmp))
        clips = vqtans.Clips(archive, frames=FRAMES, stride=1)
        print(f"{archive}: {len(clips.archives[0])} segments, {len(clips)} clips of {FRAMES} frames (stride 1)")
        rng = np.random.default_rng(0)
        context = multiprocessing.get_context("spawn")
        for workers in (1, 2):
            with context.Pool(workers) as pool:
                pool.starmap(read_clips, [(clips, [0])] * workers)  # start the workers
                for name, fn in (("clips (Clips[i])", read_clips), ("whole segment, sliced", read_whole)):
                    rates = [
                        measure(pool, fn, clips, rng.integers(0, len(clips), args.clips), workers)
                        for _ in range(args.repeats)
                    ]
                    shown = ", ".join(f"{r:,.0f}" for r in rates)
                    print(f"{workers} worker(s), {name:22}: {min(rates):,.0f}..{max(rates):,.0f} clips/s ({shown})")


if __name__ == "__main__":
    main()
