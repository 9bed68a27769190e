"""Round trips of the real segments, and every accepted token layout giving the
same stream."""

from __future__ import annotations

import numpy as np
import pytest

import vqtans


@pytest.mark.parametrize("i", [0, 1])
def test_leave_one_out_round_trip_is_exact(real_arrays, loo_tables, streams, i):
    tokens, tables, stream = real_arrays[i], loo_tables[i], streams[i]
    decoded = vqtans.decode(stream, tables)
    assert decoded.dtype == np.int16
    assert decoded.shape == tokens.shape == (1200, 8, 16)
    assert decoded.flags.c_contiguous and decoded.flags.writeable
    np.testing.assert_array_equal(decoded, tokens)
    assert vqtans.stream_frames(stream) == 1200
    # Compression, leave-one-out (the rates the Rust tests hold, to 1%).
    rate = tokens.size * 10 / (len(stream) * 8)
    assert rate >= (1.934, 2.208)[i]


def test_every_integer_dtype_and_layout_gives_the_same_stream(real_arrays, loo_tables, streams):
    tokens, tables, stream = real_arrays[0], loo_tables[0], streams[0]
    variants = {
        "(N,128)": tokens.reshape(-1, 128),
        "Fortran order": np.asfortranarray(tokens),
        "Fortran (N,128)": np.asfortranarray(tokens.reshape(-1, 128)),
        "big-endian int16": tokens.astype(">i2"),
        "transposed view": np.ascontiguousarray(tokens.transpose(0, 2, 1)).transpose(0, 2, 1),
    }
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, ">u4", "<i8"):
        if np.iinfo(np.dtype(dtype)).max >= 1023:
            variants[str(np.dtype(dtype))] = tokens.astype(dtype)
    raw = np.zeros(tokens.nbytes + 1, np.uint8)
    unaligned = raw[1:].view(np.int16).reshape(tokens.shape)
    unaligned[...] = tokens
    assert not unaligned.flags.aligned
    variants["unaligned"] = unaligned
    for name, v in variants.items():
        np.testing.assert_array_equal(v.reshape(-1, 8, 16) if v.ndim == 2 else v, tokens)
        assert vqtans.encode(v, tables) == stream, name


def test_small_dtypes_and_strided_views(loo_tables):
    tables = loo_tables[0]
    rng = np.random.default_rng(7)
    small = rng.integers(0, 128, size=(30, 8, 16)).astype(np.int8)
    stream = vqtans.encode(small, tables)
    assert vqtans.encode(small.astype(np.uint8), tables) == stream
    np.testing.assert_array_equal(vqtans.decode(stream, tables), small)
    # Every other frame of a bigger array: a strided view, read in logical order.
    big = rng.integers(0, 1024, size=(60, 8, 16)).astype(np.int16)
    view = big[::2]
    assert not view.flags.c_contiguous
    assert vqtans.encode(view, tables) == vqtans.encode(np.ascontiguousarray(view), tables)
    np.testing.assert_array_equal(vqtans.decode(vqtans.encode(view, tables), tables), view)


def test_one_frame_and_the_extreme_values(loo_tables):
    tables = loo_tables[1]
    for tokens in (
        np.zeros((1, 8, 16), np.int16),
        np.full((1, 8, 16), 1023, np.int16),
        np.arange(128 * 8, dtype=np.int16).reshape(8, 8, 16) % 1024,
    ):
        np.testing.assert_array_equal(vqtans.decode(vqtans.encode(tokens, tables), tables), tokens)


def test_group_frames_changes_the_checks_not_the_tokens(real_arrays, loo_tables, streams):
    tokens, tables = real_arrays[1], loo_tables[1]
    assert vqtans.encode(tokens, tables, group_frames=vqtans.DEFAULT_GROUP_FRAMES) == streams[1]
    sizes = {}
    for g in (1, 7, 1200, 65535):
        stream = vqtans.encode(tokens, tables, group_frames=g)
        sizes[g] = len(stream)
        np.testing.assert_array_equal(vqtans.decode(stream, tables), tokens)
    # 4 bytes per group: 1200 groups of 1 frame cost more than one group.
    assert sizes[1] > sizes[7] > sizes[1200] == sizes[65535]


def test_decode_accepts_every_bytes_like(real_arrays, loo_tables, streams, tmp_path):
    import mmap

    tokens, tables, stream = real_arrays[0], loo_tables[0], streams[0]
    path = tmp_path / "s.vqt"
    path.write_bytes(stream)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        inputs = {
            "bytes": stream,
            "bytearray": bytearray(stream),
            "memoryview": memoryview(stream),
            "memoryview slice": memoryview(b"xx" + stream)[2:],
            "mmap": mapped,
            "numpy uint8": np.frombuffer(stream, np.uint8),
            "numpy uint8 strided": np.repeat(np.frombuffer(stream, np.uint8), 2)[::2],
        }
        for name, s in inputs.items():
            np.testing.assert_array_equal(vqtans.decode(s, tables), tokens, err_msg=name)
        assert vqtans.stream_frames(mapped) == 1200
