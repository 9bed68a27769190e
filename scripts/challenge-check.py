#!/usr/bin/env python3
"""Evaluates a commaVQ compression-challenge submission offline, the way the
challenge does (commaai/commavq: compression/evaluate.sh and evaluate.py).

usage: challenge-check.py SUBMISSION.zip SHARD...

1. unzips SUBMISSION.zip into a fresh temporary folder;
2. runs `python3 <folder>/decompress.py` with OUTPUT_DIR=<folder> from another
   working directory (evaluate.sh runs it from the repository root);
3. for every `<key>.token.npy` member of the SHARDs (webdataset .tar/.tar.gz), reads
   `<folder>/<file_name>` (file_name from the member `<key>.json`, as evaluate.py
   does) and compares the arrays: shape and values (evaluate.py's
   np.all(np.load(f) == tokens); here without numpy: the .npy headers are parsed and
   the values compared as integers);
4. prints `rate = original bytes / zip bytes`, computed as evaluate.py computes it:
   segments * 1200 * 128 * 10 / 8 / (size of the zip).

Exit status: 0 if every segment matches; 1 on any mismatch, missing or unreadable
output, or a failed decompress.py; 2 for usage errors. Standard library only.
"""
import ast
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from array import array
from pathlib import Path


def parse_npy(data, what):
    """(shape, values as a list of ints) of .npy bytes; integer dtypes, C or Fortran order."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{what}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen, start = int.from_bytes(data[8:10], "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(data[8:12], "little"), 12
    else:
        raise ValueError(f"{what}: unknown .npy version {major}")
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    kinds = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
    code = kinds.get(descr[1:])
    if code is None or descr[0] not in "<>|=":
        raise ValueError(f"{what}: unsupported dtype {descr}")
    values = array(code)
    values.frombytes(data[start + hlen:])
    if descr[0] == ">" and values.itemsize > 1:
        values.byteswap()
    count = 1
    for n in shape:
        count *= n
    if len(values) != count:
        raise ValueError(f"{what}: {len(values)} values for shape {shape}")
    values = values.tolist()
    if fortran and len(shape) > 1:
        # Transpose to C order.
        strides_f = [1]
        for n in shape[:-1]:
            strides_f.append(strides_f[-1] * n)
        out = []
        def walk(axis, offset):
            if axis == len(shape):
                out.append(values[offset])
                return
            for i in range(shape[axis]):
                walk(axis + 1, offset + i * strides_f[axis])
        walk(0, 0)
        values = out
    return shape, values


def shard_segments(path):
    """(key, file_name, token.npy bytes) of every segment of a webdataset shard."""
    members = {}
    with tarfile.open(path, "r:*") as tar:
        for m in tar:
            if not m.isfile():
                continue
            name = m.name
            for suffix in (".token.npy", ".json"):
                if name.endswith(suffix):
                    members.setdefault(name[: -len(suffix)], {})[suffix] = tar.extractfile(m).read()
    for key, parts in members.items():
        if ".token.npy" not in parts:
            continue
        if ".json" not in parts:
            raise ValueError(f"{path}: {key} has no .json member (evaluate.py needs its file_name)")
        yield key, json.loads(parts[".json"])["file_name"], parts[".token.npy"]


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    submission = Path(argv[1]).resolve()
    shards = [Path(p).resolve() for p in argv[2:]]
    zip_bytes = submission.stat().st_size
    problems = 0
    rows = 0
    with tempfile.TemporaryDirectory(prefix="challenge-check-") as tmp:
        unpacked = Path(tmp) / "compression_challenge_submission_decompressed"
        elsewhere = Path(tmp) / "cwd"
        elsewhere.mkdir()
        with zipfile.ZipFile(submission) as z:
            z.extractall(unpacked)
        env = dict(os.environ, OUTPUT_DIR=str(unpacked))
        done = subprocess.run([sys.executable, str(unpacked / "decompress.py")], cwd=elsewhere, env=env)
        if done.returncode != 0:
            print(f"FAIL: decompress.py exited with status {done.returncode}")
            problems += 1
        for shard in shards:
            for key, file_name, original in shard_segments(shard):
                rows += 1
                out = unpacked / file_name
                try:
                    got = parse_npy(out.read_bytes(), str(out))
                    want = parse_npy(original, f"{shard}:{key}.token.npy")
                except (OSError, ValueError, KeyError, SyntaxError) as e:
                    print(f"FAIL: {key}: {e}")
                    problems += 1
                    continue
                if got != want:
                    print(f"FAIL: {key}: {file_name} does not match the original tokens")
                    problems += 1
    original_bytes = rows * 1200 * 128 * 10 / 8
    print(f"segments checked: {rows}, mismatches or missing: {problems}")
    if rows:
        print(f"rate = original bytes / zip bytes = {original_bytes:.0f} / {zip_bytes} = {original_bytes / zip_bytes:.3f}"
              " (as evaluate.py: segments * 1200 * 128 * 10 / 8 over the zip's size)")
    if problems or rows == 0:
        print("challenge-check: FAILED")
        return 1
    print("challenge-check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
