"""The numcodecs codec `vqtans.numcodecs.VqTans`: round trips, configuration,
the entry point, and zarr stores that really hold vqtans streams."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vqtans

numcodecs = pytest.importorskip("numcodecs")
from vqtans.numcodecs import VqTans  # noqa: E402


@pytest.fixture(scope="module")
def tables_path(loo_tables, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("codec") / "loo0.vqtt"
    loo_tables[0].save(path)
    return path


def test_codec_round_trip_in_every_chunk_form(tables_path, real_arrays, streams):
    codec = VqTans(tables=tables_path)
    tokens = real_arrays[0]
    assert codec.encode(tokens) == streams[0]  # the same stream as vqtans.encode
    forms = {
        "(n,8,16)": tokens,
        "(n,128)": tokens.reshape(-1, 128),
        "flat": tokens.reshape(-1),
        "bytes": tokens.tobytes(),
        "memoryview": memoryview(tokens.tobytes()),
    }
    for name, chunk in forms.items():
        encoded = codec.encode(chunk)
        assert encoded == streams[0], name
        decoded = codec.decode(encoded)
        assert decoded.dtype == np.int16
        np.testing.assert_array_equal(decoded, tokens)
        out = np.empty(tokens.size, np.int16)
        codec.decode(encoded, out=out)
        np.testing.assert_array_equal(out.reshape(tokens.shape), tokens)
    with pytest.raises(ValueError, match="not whole frames"):
        codec.encode(tokens.reshape(-1)[:1000])
    bad = tokens.copy()
    bad[3, 2, 1] = 4000
    with pytest.raises(ValueError, match="token value 4000 at frame 3 row 2 col 1"):
        codec.encode(bad)
    with pytest.raises(vqtans.DecodeError) as info:
        codec.decode(streams[1])  # coded with other tables
    assert info.value.kind == "TableSetMismatch"


def test_config_registry_and_entry_point(tables_path):
    codec = VqTans(tables=tables_path, group_frames=5)
    config = codec.get_config()
    tables = vqtans.Tables.load(tables_path)
    assert config == {
        "id": "vqtans",
        "tables_id": tables.id,
        "tables_base64": base64.b64encode(tables.to_bytes()).decode(),
        "group_frames": 5,
    }
    assert VqTans.from_config(config) == codec
    assert numcodecs.get_codec(dict(config)) == codec
    assert VqTans.codec_id == "vqtans"
    # A fresh interpreter finds the codec through the entry point alone (here
    # from a configuration of an earlier vqtans, which named a table-set file).
    script = (
        "import numcodecs, sys\n"
        f"c = numcodecs.get_codec({{'id': 'vqtans', 'tables': {str(tables_path)!r}}})\n"
        "print(type(c).__module__, type(c).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "vqtans.numcodecs VqTans"
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="numcodecs.codecs") if e.name == "vqtans"]
    assert ep.value == "vqtans.numcodecs:VqTans"


def test_zarr_store_round_trip(tables_path, real_arrays, tmp_path):
    zarr = pytest.importorskip("zarr")
    tokens = np.concatenate(real_arrays)[:2395]  # a partial last chunk
    store = tmp_path / "tokens.zarr"
    z = zarr.create_array(
        store,
        shape=tokens.shape,
        chunks=(100, 8, 16),
        dtype="int16",
        compressors=VqTans(tables=tables_path),
        zarr_format=2,
    )
    z[:] = tokens
    # The chunk files are vqtans streams of their chunk's tokens.
    chunk = (store / "3.0.0").read_bytes()
    assert chunk[:4] == vqtans.encode(tokens[300:400], vqtans.Tables.load(tables_path))[:4]
    assert chunk == vqtans.encode(tokens[300:400], vqtans.Tables.load(tables_path))
    assert vqtans.stream_frames((store / "23.0.0").read_bytes()) == 100  # edge chunk, padded by zarr
    raw = sum(p.stat().st_size for p in store.glob("*.0.0"))
    assert raw * 3 < tokens.nbytes  # about 2 bits in 10: 3.2x smaller than int16
    # Read back, in this process and in a fresh one that has only the metadata.
    again = zarr.open_array(store, mode="r")
    assert again.dtype == np.int16 and again.shape == tokens.shape
    np.testing.assert_array_equal(again[:], tokens)
    np.testing.assert_array_equal(again[150:1234:7, 2], tokens[150:1234:7, 2])
    script = (
        "import zarr, numpy as np, hashlib\n"
        f"a = zarr.open_array({str(store)!r}, mode='r')[:]\n"
        "print(a.dtype, *a.shape, hashlib.sha256(a.tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    import hashlib

    assert out.stdout.split() == ["int16", "2395", "8", "16", hashlib.sha256(tokens.tobytes()).hexdigest()]


def test_zarr_refuses_bad_tokens_without_storing_them(tables_path, real_arrays, tmp_path):
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(
        tmp_path / "bad.zarr",
        shape=(200, 8, 16),
        chunks=(100, 8, 16),
        dtype="int16",
        compressors=VqTans(tables=tables_path),
        zarr_format=2,
    )
    bad = real_arrays[0][:200].copy()
    bad[150, 0, 0] = -3
    with pytest.raises(ValueError, match="token value -3 at frame 50 row 0 col 0"):
        z[:] = bad
    assert not (tmp_path / "bad.zarr" / "1.0.0").exists()
