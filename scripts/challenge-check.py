#!/usr/bin/env python3
"""Evaluates a commaVQ compression-challenge submission offline, the way the
challenge does (commaai/commavq: compression/evaluate.sh and evaluate.py).

1. checks the SHARDs: webdataset shards (.tar/.tar.gz) whose segments each have a
   <key>.token.npy member (the original tokens) and a <key>.json member holding the
   file_name the submission must write (evaluate.py reads it there);
2. unzips SUBMISSION.zip into a fresh temporary folder;
3. runs `python3 <folder>/decompress.py` with OUTPUT_DIR=<folder> from another
   working directory (evaluate.sh runs it from the repository root);
4. for every segment of the SHARDs reads `<folder>/<file_name>` and compares the
   arrays: shape and values (evaluate.py's np.all(np.load(f) == tokens); here
   without numpy: the .npy headers are parsed and the values compared as integers);
5. prints `rate = original bytes / zip bytes`, computed as evaluate.py computes it
   (segments * 1200 * 128 * 10 / 8 over the size of the zip), and where the zip's
   bytes go: decoder, table set, streams, the rest; the streams-only rate; and the
   rate projected to the challenge's 5,000 segments at the bytes per segment measured
   here: zip(5000) = F + 5000 * P with P = (streams + index) / segments and
   F = zip - streams - index; rate = 5000 * 192,000 / zip(5000).

From .npy files (such as the two bundled segments), make a shard first:
`host-tools shard -o data-0000.tar.gz A.npy B.npy` (see the README's challenge
section).

Exit status: 0 if every segment matches; 1 if the submission fails (a mismatch, a
missing or unreadable output, a failed decompress.py, a zip that is not one);
2 if the check cannot be made (usage, a SHARD that is missing, not a shard, or
without .json members). Every error is one line. Standard library only.
"""
import argparse
import ast
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from array import array
from pathlib import Path

SEGMENTS = 5000
ORIGINAL_PER_SEGMENT = 1200 * 128 * 10 // 8
HOW_TO_SHARD = "make one with `host-tools shard -o data-0000.tar.gz FILE.npy...`"


class CannotCheck(Exception):
    """A SHARD argument that cannot be used (exit status 2)."""


class Failed(Exception):
    """The submission itself fails (exit status 1)."""


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
    try:
        header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError) as e:
        raise ValueError(f"{what}: unreadable .npy header ({e})") from None
    kinds = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
    code = kinds.get(descr[1:]) if isinstance(descr, str) else None
    if code is None or descr[0] not in "<>|=":
        raise ValueError(f"{what}: unsupported dtype {descr}")
    values = array(code)
    body = data[start + hlen:]
    if len(body) % values.itemsize:
        raise ValueError(f"{what}: {len(body)} data bytes are not whole values")
    values.frombytes(body)
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


def members(path):
    """(key, suffix, bytes) of every .token.npy and .json member of a shard, in order."""
    with tarfile.open(path, "r:*") as tar:
        for m in tar:
            if not m.isfile():
                continue
            for suffix in (".token.npy", ".json"):
                if m.name.endswith(suffix):
                    key = m.name[: -len(suffix)].rsplit("/", 1)[-1]
                    yield key, suffix, tar.extractfile(m).read()


def shard_error(path, e):
    return CannotCheck(f"{path}: not a readable webdataset shard (.tar or .tar.gz): {e}")


def index_shard(path):
    """{key: file_name} of a shard's segments; every token member must have a .json
    with a file_name. Raises CannotCheck in one line."""
    if not path.is_file():
        raise CannotCheck(f"{path}: {'is a folder' if path.is_dir() else 'no such file'}; "
                          "expected a webdataset shard (.tar or .tar.gz)")
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY" or path.name.lower().endswith(".npy"):
        raise CannotCheck(f"{path}: is a .npy file, not a shard (the checker needs each segment's .json "
                          f"file_name beside its tokens); {HOW_TO_SHARD}")
    names, tokens = {}, []
    try:
        for key, suffix, data in members(path):
            if suffix == ".token.npy":
                tokens.append(key)
                continue
            try:
                file_name = json.loads(data)["file_name"]
            except (ValueError, KeyError, TypeError):
                raise CannotCheck(f"{path}: {key}.json has no \"file_name\" string") from None
            if not isinstance(file_name, str) or not file_name:
                raise CannotCheck(f"{path}: {key}.json has no \"file_name\" string")
            names[key] = file_name
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise shard_error(path, e) from None
    for key in tokens:
        if key not in names:
            raise CannotCheck(f"{path}: segment {key} has no .json member (evaluate.py reads the file_name to "
                              f"check from it); `host-tools shard -o NEW.tar.gz {path}` writes the shard with one")
    if not tokens:
        raise CannotCheck(f"{path}: holds no segment (<key>.token.npy member)")
    return {key: names[key] for key in tokens}


def archive_parts(zf):
    """Sizes of the parts of the submission: zip members and the archive's own parts."""
    info = {i.filename: i for i in zf.infolist()}
    parts = {}
    for name in ("vqtans-unpack", "decompress.py", "split.vqa"):
        if name not in info:
            return None
    parts["decoder"] = info["vqtans-unpack"].compress_size
    parts["decoder_raw"] = info["vqtans-unpack"].file_size
    parts["script"] = info["decompress.py"].compress_size
    parts["archive"] = info["split.vqa"].compress_size
    with zf.open("split.vqa") as f:
        head = f.read(32)
        if len(head) < 32 or head[:4] != b"VQAR":
            return None
        size = info["split.vqa"].file_size
        f.seek(size - 32)
        foot = f.read(32)
    if len(foot) < 32 or foot[24:28] != b"VQAX":
        return None
    parts["table_set"] = int.from_bytes(head[16:20], "little")
    index_offset = int.from_bytes(foot[0:8], "little")
    parts["index"] = int.from_bytes(foot[8:16], "little")
    parts["streams"] = index_offset - 32 - parts["table_set"]
    return parts


def grouped(n):
    return f"{n:,}"


def grouped_1(x):
    tenths = round(x * 10)
    return grouped(tenths // 10) + (f".{tenths % 10}" if tenths % 10 else "")


def breakdown(parts, zip_bytes, rows):
    """The lines host-tools ls/stats print for the same submission."""
    original = rows * ORIGINAL_PER_SEGMENT
    rate = lambda b: f"{original / b:.3f}"
    other = zip_bytes - parts["decoder"] - parts["table_set"] - parts["streams"]
    zip_headers = zip_bytes - parts["decoder"] - parts["script"] - parts["archive"]
    variable = parts["streams"] + parts["index"]
    fixed = zip_bytes - variable
    projected = (fixed * rows + SEGMENTS * variable + rows // 2) // rows
    o, z, s = grouped(original), grouped(zip_bytes), grouped(parts["streams"])
    return [
        "challenge submission by part (bytes):",
        f"  zip total    {z:>12}  rate {o} / {z} = {rate(zip_bytes)}",
        f"  decoder      {grouped(parts['decoder']):>12}  (vqtans-unpack, {grouped(parts['decoder_raw'])} before deflate)",
        f"  table set    {grouped(parts['table_set']):>12}",
        f"  streams      {s:>12}  streams-only rate {o} / {s} = {rate(parts['streams'])}",
        f"  other        {grouped(other):>12}  (decompress.py {grouped(parts['script'])}, archive index/header/footer "
        f"{grouped(parts['index'] + 64)}, zip headers {grouped(zip_headers)})",
        f"projected to {grouped(SEGMENTS)} segments: zip = F + {grouped(SEGMENTS)} x P = {grouped(fixed)} + "
        f"{grouped(SEGMENTS)} x {grouped_1(variable / rows)} = {grouped(projected)}",
        f"  rate = {grouped(SEGMENTS)} x {grouped_1(original / rows)} / {grouped(projected)} = "
        f"{SEGMENTS * (original / rows) / projected:.3f}",
        f"  (P = (streams + index) / {rows} segments, F = zip - streams - index: decoder, table set, the rest)",
    ]


def check(submission, shards):
    indexes = [(shard, index_shard(shard)) for shard in shards]
    if not submission.is_file():
        raise Failed(f"{submission}: {'is a folder' if submission.is_dir() else 'no such file'}")
    zip_bytes = submission.stat().st_size
    problems = 0
    rows = sum(len(index) for _, index in indexes)
    with tempfile.TemporaryDirectory(prefix="challenge-check-") as tmp:
        unpacked = Path(tmp) / "compression_challenge_submission_decompressed"
        elsewhere = Path(tmp) / "cwd"
        elsewhere.mkdir()
        try:
            with zipfile.ZipFile(submission) as z:
                z.extractall(unpacked)
                parts = archive_parts(z)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as e:
            raise Failed(f"{submission}: not a readable zip file: {e}") from None
        if not (unpacked / "decompress.py").is_file():
            raise Failed(f"{submission}: has no decompress.py, which the challenge runs")
        env = dict(os.environ, OUTPUT_DIR=str(unpacked))
        done = subprocess.run([sys.executable, str(unpacked / "decompress.py")], cwd=elsewhere, env=env)
        if done.returncode != 0:
            print(f"FAIL: decompress.py exited with status {done.returncode}")
            problems += 1
        for shard, index in indexes:
            try:
                for key, suffix, original in members(shard):
                    if suffix != ".token.npy":
                        continue
                    file_name = index[key]
                    out = unpacked / file_name
                    try:
                        want = parse_npy(original, f"{shard}:{key}.token.npy")
                        got = parse_npy(out.read_bytes(), str(out))
                    except (OSError, ValueError) as e:
                        print(f"FAIL: {key}: {e}")
                        problems += 1
                        continue
                    if got != want:
                        print(f"FAIL: {key}: {file_name} does not match the original tokens")
                        problems += 1
            except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
                raise shard_error(shard, e) from None
    original_bytes = rows * ORIGINAL_PER_SEGMENT
    print(f"segments checked: {rows}, mismatches or missing: {problems}")
    print(f"rate = original bytes / zip bytes = {original_bytes} / {zip_bytes} = {original_bytes / zip_bytes:.3f}"
          " (as evaluate.py: segments * 1200 * 128 * 10 / 8 over the zip's size)")
    if parts is not None:
        print("\n".join(breakdown(parts, zip_bytes, rows)))
    else:
        print("(no breakdown: the zip does not hold vqtans-unpack, decompress.py and a split.vqa archive)")
    return problems


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (usage: {self.format_usage().strip()[7:]}; --help)\n")


def main(argv):
    parser = Parser(
        prog="challenge-check.py",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submission", metavar="SUBMISSION.zip", type=Path,
                        help="the zip made by `host-tools pack --challenge`")
    parser.add_argument("shards", metavar="SHARD", type=Path, nargs="+",
                        help="webdataset shards holding the original segments (<key>.token.npy and <key>.json)")
    args = parser.parse_args(argv[1:])
    try:
        problems = check(args.submission.resolve(), [p.resolve() for p in args.shards])
    except CannotCheck as e:
        print(f"challenge-check: error: {e}", file=sys.stderr)
        return 2
    except Failed as e:
        print(f"FAIL: {e}")
        print("challenge-check: FAILED")
        return 1
    if problems:
        print("challenge-check: FAILED")
        return 1
    print("challenge-check: OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
