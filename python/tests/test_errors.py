"""Every bad input gets the documented exception and a message naming the
problem; nothing is returned."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import vqtans


@pytest.fixture(scope="module")
def tables(loo_tables):
    return loo_tables[0]


@pytest.fixture()
def tokens(real_arrays):
    return real_arrays[0].copy()


@pytest.mark.parametrize(
    "bad, dtype_text",
    [
        (lambda t: t.astype(np.float32), "<f4"),
        (lambda t: t.astype(np.float64), "<f8"),
        (lambda t: t.astype(bool), "|b1"),
        (lambda t: t.astype(np.complex64), "<c8"),
        (lambda t: t.astype(object), "|O"),
        (lambda t: t.astype("U4"), "<U4"),
        (lambda t: t.astype("m8[s]"), "<m8[s]"),
    ],
)
def test_a_dtype_that_is_not_an_integer_is_a_type_error(tables, tokens, bad, dtype_text):
    with pytest.raises(TypeError, match=re.escape(f"tokens: unsupported dtype {dtype_text}")):
        vqtans.encode(bad(tokens), tables)


@pytest.mark.parametrize("value", [list, tuple, lambda t: t.tobytes(), lambda t: "tokens", lambda t: None])
def test_tokens_that_are_not_an_array_are_a_type_error(tables, tokens, value):
    with pytest.raises(TypeError, match="tokens: expected a numpy array of integer tokens"):
        vqtans.encode(value(tokens.tolist() if value in (list, tuple) else tokens), tables)


@pytest.mark.parametrize(
    "shape", [(1200, 8, 15), (1200, 16, 8), (1200, 127), (153600,), (8, 16), (1, 1200, 8, 16), ()]
)
def test_a_wrong_shape_is_a_value_error(tables, shape):
    bad = np.zeros(shape, np.int16)
    with pytest.raises(ValueError, match=re.escape("wrong shape")) as info:
        vqtans.encode(bad, tables)
    assert str(list(shape)) in str(info.value)
    assert not isinstance(info.value, vqtans.DecodeError)


def test_no_frames_and_too_many_frames_are_value_errors(tables):
    with pytest.raises(ValueError, match="tokens: empty segment: the array has 0 frames"):
        vqtans.encode(np.zeros((0, 8, 16), np.int16), tables)
    # 65537 frames, without the memory: a broadcast view (shape is checked first).
    huge = np.broadcast_to(np.zeros((1, 8, 16), np.int16), (65537, 8, 16))
    with pytest.raises(ValueError, match=r"tokens: 65537 frames is more than a segment may hold \(1..=65536\)"):
        vqtans.encode(huge, tables)


@pytest.mark.parametrize("value", [1024, -1, 32767, -32768])
def test_an_out_of_range_value_names_the_value_and_its_position(tables, tokens, value):
    bad = tokens.copy()
    bad[5, 3, 7] = value
    bad[900, 0, 0] = value  # only the first is reported
    expected = f"tokens: token value {value} at frame 5 row 3 col 7 is outside 0..=1023"
    with pytest.raises(ValueError, match=re.escape(expected)):
        vqtans.encode(bad, tables)
    # The logical position, whatever the shape, layout or dtype.
    for variant in (bad.reshape(-1, 128), np.asfortranarray(bad), bad.astype(np.int64), bad.astype(">i4")):
        with pytest.raises(ValueError, match=re.escape(expected)):
            vqtans.encode(variant, tables)


def test_out_of_range_in_unsigned_and_wide_dtypes(tables, tokens):
    for dtype, value in ((np.uint16, 65535), (np.uint64, 2**64 - 1), (np.int64, -(2**63))):
        bad = tokens.astype(dtype)
        bad[0, 7, 15] = value
        with pytest.raises(ValueError, match=re.escape(f"token value {value} at frame 0 row 7 col 15")):
            vqtans.encode(bad, tables)


@pytest.mark.parametrize("group", [0, -1, 65536, 2**70])
def test_group_frames_out_of_range_is_a_value_error(tables, tokens, group):
    with pytest.raises((ValueError, OverflowError), match="group_frames"):
        vqtans.encode(tokens, tables, group_frames=group)


@pytest.mark.parametrize(
    "stream",
    ["a string", 12345, None, [1, 2, 3], np.zeros(10, np.int16), np.zeros(10, np.float32)],
    ids=["str", "int", "None", "list", "int16 array", "float32 array"],
)
def test_a_stream_that_is_not_bytes_like_is_a_type_error(tables, stream):
    with pytest.raises(TypeError, match="stream: expected a bytes-like object"):
        vqtans.decode(stream, tables)
    with pytest.raises(TypeError, match="stream: expected a bytes-like object"):
        vqtans.stream_frames(stream)


def test_tables_of_the_wrong_type_are_a_type_error(tokens, streams, real_paths):
    for not_tables in (None, "tables.vqtt", b"\x00" * 10, real_paths[0]):
        with pytest.raises(TypeError):
            vqtans.encode(tokens, not_tables)
        with pytest.raises(TypeError):
            vqtans.decode(streams[0], not_tables)


def test_build_tables_bad_arguments(real_arrays, real_paths, tmp_path):
    a, b = real_arrays
    # A single array or path, or something not iterable, in place of an iterable.
    for single in (a, str(real_paths[0]), real_paths[0], b"x.npy", 3):
        with pytest.raises(TypeError, match="segments: expected an iterable of numpy arrays and/or paths"):
            vqtans.build_tables(single)
    with pytest.raises(TypeError, match=re.escape("segments[1]: expected a numpy array or a path")):
        vqtans.build_tables([a, 42])
    with pytest.raises(TypeError, match=re.escape("segments[1]: expected a numpy array or a path")):
        vqtans.build_tables([a, a.tolist()])
    with pytest.raises(TypeError, match=re.escape("segments[1]: unsupported dtype <f8")):
        vqtans.build_tables([a, b.astype(float)])
    bad = b.copy()
    bad[2, 4, 6] = 1024
    with pytest.raises(ValueError, match=re.escape("segments[2]: token value 1024 at frame 2 row 4 col 6")):
        vqtans.build_tables([a, b, bad])
    with pytest.raises(ValueError, match=re.escape("segments[0]: wrong shape [1200, 16, 8]")):
        vqtans.build_tables([a.reshape(1200, 16, 8)])
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        vqtans.build_tables([a, tmp_path / "nope.npy"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="unsupported input"):
        vqtans.build_tables([tmp_path / "notes.txt"])
    with pytest.raises(ValueError, match="no segment in the inputs"):
        vqtans.build_tables([])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no segment in the inputs"):
        vqtans.build_tables([empty])
    for k in (0, 7, 1000, -4):
        with pytest.raises(ValueError, match=f"k={k}: the successor list length must be one of 4, 6"):
            vqtans.build_tables([a], k=k)
    for threads in (0, -1, 257):
        with pytest.raises(ValueError, match=f"threads={threads}: must be in 1..=256"):
            vqtans.build_tables([a], threads=threads)


def test_build_tables_reports_a_bad_npy_file_and_a_damaged_shard(real_paths, tmp_path):
    cut = tmp_path / "cut.npy"
    cut.write_bytes(real_paths[0].read_bytes()[:-10])
    with pytest.raises(ValueError, match=re.escape(f"{cut}: truncated .npy file")):
        vqtans.build_tables([real_paths[1], cut])
    shard = tmp_path / "data-0001.tar.gz"
    from test_cli_equivalence import write_shard

    write_shard(shard, real_paths, ["a_1", "b_2"])
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x10
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(shard))):
        vqtans.build_tables([shard])


def test_a_path_named_dash_is_a_file_not_standard_input(real_paths, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        vqtans.build_tables(["-"])
    with pytest.raises(FileNotFoundError):
        vqtans.Tables.load("-")


def test_tables_load_and_from_bytes_errors(loo_tables, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.vqtt"):
        vqtans.Tables.load(tmp_path / "missing.vqtt")
    with pytest.raises(ValueError, match="is a folder"):
        vqtans.Tables.load(tmp_path)
    blob = loo_tables[0].to_bytes()
    cases = {
        "TableSetDamaged": [blob[:-1], blob[:100], b"", b"not tables at all", blob[:5000] + b"\x00" + blob[5001:]],
    }
    for kind, bad_blobs in cases.items():
        for bad in bad_blobs:
            with pytest.raises(vqtans.DecodeError) as info:
                vqtans.Tables.from_bytes(bad)
            assert info.value.kind == kind
            assert "not a usable vqtans table set" in str(info.value)
    path = tmp_path / "damaged.vqtt"
    path.write_bytes(blob[:-1])
    with pytest.raises(vqtans.DecodeError, match=re.escape(str(path))) as info:
        vqtans.Tables.load(path)
    assert info.value.kind == "TableSetDamaged"
    with pytest.raises(TypeError, match="data: expected a bytes-like object"):
        vqtans.Tables.from_bytes("tables")
    big = tmp_path / "big.vqtt"
    with open(big, "wb") as f:
        f.truncate((64 << 20) + 1)
    with pytest.raises(OSError, match="too large"):
        vqtans.Tables.load(big)
    os.remove(big)


def test_ctrl_c_stops_a_training(tmp_path):
    """SIGINT during build_tables raises KeyboardInterrupt promptly (the GIL is
    released while training, and the main thread polls for signals): the
    training stops within a few of its segment reads, not after all of them.

    Measured in segment reads, not seconds: the segments are byte-swapped
    arrays of a subclass that counts its `astype` calls (the training makes
    a native copy of each such array, once per read; a short uninterrupted
    training shows the count is one per segment per pass). An interrupted
    training of 20,000 segments (40,000 reads, about 16 s) must stop within
    a quarter of them after the signal; ignoring Ctrl-C until the training
    ends reads them all."""
    import subprocess
    import sys

    script = (
        "import numpy as np, os, signal, threading, vqtans\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "reads = [0]\n"
        "class Counted(np.ndarray):\n"
        "    def astype(self, *args, **kwargs):\n"
        "        reads[0] += 1\n"
        "        return np.asarray(self).astype(*args, **kwargs)\n"
        "a = (np.zeros((1200, 8, 16), np.int16) + np.arange(128, dtype=np.int16).reshape(8, 16))\n"
        "a = a.astype('>i2').view(Counted)\n"
        "vqtans.build_tables([a] * 10)\n"
        "print(reads[0])\n"
        "reads[0] = 0\n"
        "at_signal = []\n"
        "def interrupt():\n"
        "    at_signal.append(reads[0])\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "threading.Timer(0.5, interrupt).start()\n"
        "try:\n"
        "    vqtans.build_tables([a] * 20000)\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "print(at_signal[0], reads[0])\n"
        "print(vqtans.build_tables([np.asarray(a)]).id)\n"
    )
    # The deadline only guards against a hang: the uninterrupted training
    # takes about 16 s, the interrupted one about 1 s.
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "20", "the count is not one per segment and pass: " + lines[0]
    assert lines[1] == "interrupted"
    at_signal, at_end = map(int, lines[2].split())
    total = 2 * 20000
    assert 0 < at_signal <= at_end, (at_signal, at_end)  # the signal came while it ran
    assert at_end - at_signal < total // 4, f"{at_end - at_signal} of {total} segment reads after Ctrl-C"
    assert re.fullmatch(r"[0-9a-f]{16}", lines[3])  # still usable afterwards
