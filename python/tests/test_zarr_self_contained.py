"""zarr stores written with the vqtans codecs carry their table set: a store
(zarr format 2 with `vqtans.numcodecs.VqTans`, format 3 with
`vqtans.zarr3.VqTans`) opens in a fresh Python process, from another folder,
after the table-set file it was made from is deleted, with the same data; a
store that names its set by id only finds it through the documented registry,
or says which id is missing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vqtans

zarr = pytest.importorskip("zarr")
from vqtans.numcodecs import VqTans as VqTans2  # noqa: E402
from vqtans.zarr3 import VqTans as VqTans3  # noqa: E402

# A fresh interpreter reads the store at argv[1] and prints dtype, shape and
# the SHA-256 of the data. It imports nothing of vqtans: zarr finds the codec
# through the package's entry points (`numcodecs.codecs` for format 2,
# `zarr.codecs` for format 3).
READ = (
    "import sys, hashlib, zarr\n"
    "a = zarr.open_array(sys.argv[1], mode='r')[:]\n"
    "print(a.dtype, *a.shape, hashlib.sha256(a.tobytes()).hexdigest())\n"
)


def fresh_read(store: Path, zarr_format: int, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs READ on `store`, given relative to `cwd`."""
    rel = os.path.relpath(store, cwd)
    return subprocess.run(
        [sys.executable, "-c", READ, rel, str(zarr_format)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def write_store(store: Path, zarr_format: int, tokens: np.ndarray, codec_args: dict):
    if zarr_format == 2:
        codec = {"compressors": VqTans2(**codec_args)}
    else:
        codec = {"serializer": VqTans3(**codec_args), "compressors": None}
    z = zarr.create_array(
        store, shape=tokens.shape, chunks=(100, 8, 16), dtype="int16", zarr_format=zarr_format, **codec
    )
    z[:] = tokens
    return z


def metadata(store: Path, zarr_format: int) -> dict:
    if zarr_format == 2:
        return json.loads((store / ".zarray").read_text())["compressor"]
    (codec,) = json.loads((store / "zarr.json").read_text())["codecs"]
    return codec


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_store_opens_elsewhere_without_the_table_file(zarr_format, loo_tables, real_arrays, tmp_path):
    tokens = np.concatenate(real_arrays)[:2395]  # a partial last chunk
    tables_file = tmp_path / "made" / "tables.vqtt"
    tables_file.parent.mkdir()
    loo_tables[0].save(tables_file)
    store = tmp_path / "made" / "tokens.zarr"
    write_store(store, zarr_format, tokens, {"tables": tables_file})
    tables_file.unlink()
    meta = metadata(store, zarr_format)
    config = meta if zarr_format == 2 else meta["configuration"]
    assert config["tables_id"] == loo_tables[0].id and "tables" not in config
    assert config["tables_base64"]  # the set itself, once per array
    if zarr_format == 3:
        assert meta["name"] == "vqtans"
    # The chunks are vqtans streams of their chunk's tokens.
    chunk = next(p for p in store.rglob("*") if p.is_file() and p.name == ("3.0.0" if zarr_format == 2 else "0"))
    if zarr_format == 2:
        assert chunk.read_bytes() == vqtans.encode(tokens[300:400], loo_tables[0])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = fresh_read(store, zarr_format, elsewhere)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["int16", "2395", "8", "16", hashlib.sha256(tokens.tobytes()).hexdigest()]
    # In this process too, partial reads included.
    again = zarr.open_array(store, mode="r")
    np.testing.assert_array_equal(again[150:1234:7, 2], tokens[150:1234:7, 2])


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_store_by_id_finds_its_set_in_the_registry_or_names_the_id(zarr_format, loo_tables, real_arrays, tmp_path):
    tokens = real_arrays[1][:300]
    tables = loo_tables[1]
    store = tmp_path / "by-id.zarr"
    write_store(store, zarr_format, tokens, {"tables": tables, "embed_tables": False})
    meta = metadata(store, zarr_format)
    config = meta if zarr_format == 2 else meta["configuration"]
    assert config["tables_id"] == tables.id and "tables_base64" not in config
    missing = fresh_read(store, zarr_format, tmp_path, {"VQTANS_TABLES_PATH": ""})
    assert missing.returncode != 0
    last = missing.stderr.strip().splitlines()[-1]
    assert last.startswith("vqtans._errors.TablesNotFoundError: vqtans codec: table set " + tables.id + " not found")
    assert "VQTANS_TABLES_PATH" in last
    folder = tmp_path / "sets"
    folder.mkdir()
    tables.save(folder / f"{tables.id}.vqtt")
    found = fresh_read(store, zarr_format, tmp_path, {"VQTANS_TABLES_PATH": os.pathsep.join(["/nonexistent", str(folder)])})
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[-1] == hashlib.sha256(tokens.tobytes()).hexdigest()


def test_format_3_codec_checks_the_array_and_round_trips_other_dtypes(loo_tables, real_arrays, tmp_path):
    with pytest.raises(ValueError, match=r"chunks \(100, 8, 8\) are not whole frames"):
        zarr.create_array(
            tmp_path / "a.zarr", shape=(200, 8, 16), chunks=(100, 8, 8), dtype="int16",
            serializer=VqTans3(loo_tables[0]), compressors=None,
        )
    with pytest.raises(ValueError, match="tokens must be an integer dtype, got float32"):
        zarr.create_array(
            tmp_path / "b.zarr", shape=(200, 8, 16), chunks=(100, 8, 16), dtype="float32",
            serializer=VqTans3(loo_tables[0]), compressors=None,
        )
    tokens = real_arrays[0][:250].reshape(250, 128).astype(np.uint16)
    z = zarr.create_array(
        tmp_path / "c.zarr", shape=tokens.shape, chunks=(100, 128), dtype="uint16",
        serializer=VqTans3(loo_tables[0], group_frames=5), compressors=None,
    )
    z[:] = tokens
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "c.zarr", mode="r")[:], tokens)
    bad = tokens.copy()
    bad[150, 3] = 1024
    with pytest.raises(ValueError, match="token value 1024 at frame 50 row 0 col 3"):
        z[:] = bad


def test_codec_configurations_round_trip(loo_tables):
    v2 = VqTans2(loo_tables[0], group_frames=5)
    assert VqTans2.from_config(v2.get_config()) == v2
    assert v2.get_config()["id"] == "vqtans"
    v3 = VqTans3(loo_tables[0], group_frames=5, embed_tables=False)
    assert VqTans3.from_dict(v3.to_dict()) == v3
    assert v3.to_dict() == {"name": "vqtans", "configuration": {"tables_id": loo_tables[0].id, "group_frames": 5}}
    with pytest.raises(TypeError, match="give the table set"):
        VqTans2()
    with pytest.raises(ValueError, match="is not a table-set id"):
        VqTans2(tables_id="../etc").tables
