"""The Python package and `host-tools` give the same bytes: streams, table sets,
ids; and each decodes what the other encoded."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

import vqtans
from conftest import run_host_tools


@pytest.fixture(scope="module")
def cli_tables(host_tools, real_paths, tmp_path_factory) -> list[Path]:
    """Leave-one-out tables written by `host-tools build-tables`."""
    out = tmp_path_factory.mktemp("cli_tables")
    paths = []
    for i in range(2):
        path = out / f"loo{i}.vqtt"
        run_host_tools(host_tools, "build-tables", "-o", path, real_paths[1 - i])
        paths.append(path)
    return paths


def cli_id(host_tools, *args) -> str:
    """The table-set id `host-tools build-tables` prints."""
    text = run_host_tools(host_tools, "build-tables", *args)
    return re.search(r"table-set id\s+([0-9a-f]{16})", text).group(1)


@pytest.mark.parametrize("i", [0, 1])
def test_tables_from_arrays_equal_the_cli_tables(cli_tables, loo_tables, i):
    assert loo_tables[i].to_bytes() == cli_tables[i].read_bytes()
    assert loo_tables[i] == vqtans.Tables.load(cli_tables[i])


def test_table_ids_are_the_cli_ids(host_tools, real_paths, tmp_path):
    both = vqtans.build_tables(real_paths)
    assert re.fullmatch(r"[0-9a-f]{16}", both.id)
    assert both.id == cli_id(host_tools, "-o", tmp_path / "t.vqtt", *real_paths)
    k64 = vqtans.build_tables(real_paths, k=64, threads=1)
    assert k64.id == cli_id(host_tools, "--k", "64", "--threads", "1", "-o", tmp_path / "t64.vqtt", *real_paths)
    assert (tmp_path / "t64.vqtt").read_bytes() == k64.to_bytes()


def write_shard(path: Path, real_paths, keys) -> None:
    """A webdataset shard as published: per key a `.token.npy`, a `.json` and
    another member, tar inside gzip, written by Python's own modules."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for key, src in zip(keys, real_paths):
            for suffix, data in (
                (".json", json.dumps({"key": key, "fps": 20}).encode()),
                (".token.npy", src.read_bytes()),
                (".pose.npy", b"not tokens"),
            ):
                info = tarfile.TarInfo(key + suffix)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()))


def test_tables_from_paths_folders_shards_and_mixes(host_tools, real_paths, real_arrays, tmp_path):
    expected = vqtans.build_tables(real_arrays)
    folder = tmp_path / "segments"
    folder.mkdir()
    for p in real_paths:
        shutil.copy(p, folder / p.name)
    (folder / "notes.txt").write_text("not a segment")
    shard = tmp_path / "data-0000.tar.gz"
    write_shard(shard, real_paths, ["aaaa_1", "bbbb_2"])
    for name, segments in {
        "npy paths (str)": [str(p) for p in real_paths],
        "npy paths (Path)": real_paths,
        "a folder": [folder],
        "a shard": [shard],
        "array + path": [real_arrays[0], real_paths[1]],
        "a generator": (a for a in real_arrays),
        "a tuple, C and Fortran": (real_arrays[0], np.asfortranarray(real_arrays[1])),
        "(N,128) int32 arrays": [a.reshape(-1, 128).astype(np.int32) for a in real_arrays],
    }.items():
        assert vqtans.build_tables(segments) == expected, name
    # The same files through the CLI.
    assert cli_id(host_tools, "-o", tmp_path / "s.vqtt", shard) == expected.id
    assert cli_id(host_tools, "-o", tmp_path / "f.vqtt", folder) == expected.id


def test_thread_count_does_not_change_the_tables(real_arrays):
    one = vqtans.build_tables(real_arrays, threads=1)
    assert vqtans.build_tables(real_arrays, threads=2) == one
    assert vqtans.build_tables(real_arrays, threads=7) == one
    assert vqtans.build_tables(list(reversed(real_arrays))) == one  # order does not matter either


@pytest.mark.parametrize("group", [None, 7])
def test_streams_equal_the_cli_streams(host_tools, real_paths, real_arrays, cli_tables, tmp_path, group):
    for i in range(2):
        stream_path = tmp_path / f"s{i}.vqt"
        extra = [] if group is None else ["--group-frames", group]
        run_host_tools(host_tools, "encode", "--tables", cli_tables[i], *extra, "-o", stream_path, real_paths[i])
        tables = vqtans.Tables.load(cli_tables[i])
        options = {} if group is None else {"group_frames": group}
        assert vqtans.encode(real_arrays[i], tables, **options) == stream_path.read_bytes()


def test_each_decodes_what_the_other_encoded(host_tools, real_paths, real_arrays, cli_tables, tmp_path):
    for i in range(2):
        tables = vqtans.Tables.load(cli_tables[i])
        # Python encodes, the CLI decodes to the original .npy, byte for byte.
        py_stream = tmp_path / f"py{i}.vqt"
        py_stream.write_bytes(vqtans.encode(real_arrays[i], tables))
        npy = tmp_path / f"cli{i}.npy"
        run_host_tools(host_tools, "decode", "--tables", cli_tables[i], "-o", npy, py_stream)
        assert npy.read_bytes() == real_paths[i].read_bytes()
        # The CLI encodes, Python decodes.
        cli_stream = tmp_path / f"cli{i}.vqt"
        run_host_tools(host_tools, "encode", "--tables", cli_tables[i], "-o", cli_stream, real_paths[i])
        np.testing.assert_array_equal(vqtans.decode(cli_stream.read_bytes(), tables), real_arrays[i])


def test_tables_from_a_url_equal_the_tables_from_the_file(real_paths, real_arrays, tmp_path):
    """A shard given as an `http://` URL (a server of this test, on 127.0.0.1
    only) gives the table set of the same shard on disk; a URL the server does
    not have is an `OSError` naming it."""
    import functools
    import http.server
    import threading

    shard = tmp_path / "data-0000.tar.gz"
    write_shard(shard, real_paths, ["aaaa_1", "bbbb_2"])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        from_url = vqtans.build_tables([f"{base}/data-0000.tar.gz"])
        assert from_url == vqtans.build_tables([shard])
        assert from_url == vqtans.build_tables(real_arrays)
        with pytest.raises(OSError, match="data-0001.tar.gz"):
            vqtans.build_tables([f"{base}/data-0001.tar.gz"])
    finally:
        server.shutdown()
        server.server_close()


def test_tables_for_a_budget_equal_the_cli_tables(host_tools, real_paths, tmp_path):
    """`max_bytes` trains as `host-tools build-tables --max-bytes` does: the
    same bytes, within the budget; budgets nothing fits, and `k` with
    `max_bytes`, are refused before any training."""
    budget = 131072
    tables = vqtans.build_tables([real_paths[1]], max_bytes=budget)
    assert tables.device_footprint <= budget
    cli = tmp_path / "budget.vqtt"
    run_host_tools(host_tools, "build-tables", "--max-bytes", budget, "-o", cli, real_paths[1])
    assert tables.to_bytes() == cli.read_bytes()
    assert vqtans.build_tables([real_paths[1]]).device_footprint > 512 * 1024  # the default set is larger
    with pytest.raises(ValueError, match="max_bytes=1000"):
        vqtans.build_tables([real_paths[1]], max_bytes=1000)
    with pytest.raises(ValueError, match="not both"):
        vqtans.build_tables([real_paths[1]], k=64, max_bytes=budget)
