"""Round trips of the real segments through an installed vqtans wheel, compared
byte for byte with reference streams and table sets made by another build (the
x86_64 one), so that a wheel for another architecture (aarch64, run under
qemu-aarch64) is shown to train, encode and decode exactly as the tested one.

    python wheel_roundtrip.py make DIR SEGMENT.npy...   # references into DIR
    python wheel_roundtrip.py check DIR SEGMENT.npy...  # the wheel under test

`make` writes, for each segment, its leave-one-out table set (trained on the other
segments) and the segment's stream with it. `check`, for each segment: trains the
same table set again and compares its bytes, encodes and compares the stream's
bytes, decodes and compares the tokens (into a new array and into `out=`), and
checks the exact error of a truncated stream and of one with a trailing byte; and
once that the extension module it imported is a binary of the machine it runs on.
Prints one line per check, then `N passed, M failed`; exit status 1 if any failed.
Needs only numpy and vqtans (no pytest: the aarch64 interpreter has neither).
"""

from __future__ import annotations

import platform
import sys
import traceback
from pathlib import Path

import numpy as np

import vqtans
import vqtans._native

# ELF e_machine of each machine platform.machine() names.
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def reference_paths(out: Path, segment: Path) -> tuple[Path, Path]:
    """Where `make` puts a segment's table set and stream."""
    return out / f"{segment.stem}.vqt", out / f"{segment.stem}.vqs"


def loo_tables(segments: list[Path], i: int) -> vqtans.Tables:
    """The table set of segment i: trained on every other segment."""
    return vqtans.build_tables([s for j, s in enumerate(segments) if j != i])


def make(out: Path, segments: list[Path]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i, segment in enumerate(segments):
        tables = loo_tables(segments, i)
        tables_path, stream_path = reference_paths(out, segment)
        tables.save(str(tables_path))
        stream_path.write_bytes(vqtans.encode(np.load(segment), tables))
        print(f"{segment.name}: tables {tables.id}, stream {stream_path.stat().st_size} bytes")


def decode_error_kind(stream: bytes, tables: vqtans.Tables) -> str:
    try:
        vqtans.decode(stream, tables)
    except vqtans.DecodeError as e:
        return e.kind
    return "no error"


def check(out: Path, segments: list[Path]) -> int:
    results: list[bool] = []

    def expect(name: str, condition) -> None:
        try:
            ok = bool(condition())
        except Exception:
            traceback.print_exc()
            ok = False
        results.append(ok)
        print(f"{'ok' if ok else 'FAILED'}: {name}")

    machine = platform.machine()
    native = Path(vqtans._native.__file__)
    print(f"vqtans {vqtans.__version__} from {native} on {machine}, Python {platform.python_version()}")

    def extension_is_for_this_machine() -> bool:
        header = native.read_bytes()[:20]
        return header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE[machine]

    expect(f"the extension module is an {machine} ELF binary", extension_is_for_this_machine)
    for i, segment in enumerate(segments):
        tables_path, stream_path = reference_paths(out, segment)
        name = segment.stem
        tokens = np.load(segment)
        reference = vqtans.Tables.load(str(tables_path))
        expected = stream_path.read_bytes()
        expect(
            f"{name}: leave-one-out training gives the reference table set, byte for byte",
            lambda: loo_tables(segments, i).to_bytes() == reference.to_bytes(),
        )
        expect(
            f"{name}: encode gives the reference stream, byte for byte ({len(expected)} bytes)",
            lambda: vqtans.encode(tokens, reference) == expected,
        )

        def decodes_exactly() -> bool:
            decoded = vqtans.decode(expected, reference)
            return decoded.dtype == np.int16 and decoded.shape == tokens.shape and np.array_equal(decoded, tokens)

        expect(f"{name}: decode gives the tokens back exactly", decodes_exactly)

        def decodes_into_out() -> bool:
            out_array = np.full(tokens.shape, -1, dtype=np.int16)
            returned = vqtans.decode(expected, reference, out=out_array)
            return np.array_equal(out_array, tokens) and np.shares_memory(returned, out_array)

        expect(f"{name}: decode(out=) fills the preallocated array exactly", decodes_into_out)
        expect(
            f"{name}: a stream one byte short is DecodeError Truncated",
            lambda: decode_error_kind(expected[:-1], reference) == "Truncated",
        )
        expect(
            f"{name}: a stream with a trailing byte is DecodeError TrailingBytes",
            lambda: decode_error_kind(expected + b"\x00", reference) == "TrailingBytes",
        )
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[1] not in ("make", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    out, segments = Path(argv[2]), [Path(a) for a in argv[3:]]
    if argv[1] == "make":
        make(out, segments)
        return 0
    return check(out, segments)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
