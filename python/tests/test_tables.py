"""`vqtans.Tables`: load, from_bytes, save (atomic), to_bytes, id, pickling."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import vqtans


def test_save_load_and_bytes_round_trip(loo_tables, real_arrays, tmp_path):
    t = loo_tables[0]
    path = tmp_path / "t.vqtt"
    t.save(path)
    assert path.read_bytes() == t.to_bytes() == bytes(t)
    assert len(t) == len(t.to_bytes())
    loaded = vqtans.Tables.load(path)
    assert loaded == t and hash(loaded) == hash(t) and loaded.id == t.id
    assert loaded != loo_tables[1] and t != "not tables"
    for data in (t.to_bytes(), bytearray(t.to_bytes()), memoryview(t.to_bytes()), np.frombuffer(t.to_bytes(), np.uint8)):
        assert vqtans.Tables.from_bytes(data) == t
    assert t.model == "context model, K = 192"
    assert vqtans.build_tables([real_arrays[0]], k=16).model == "context model, K = 16"
    assert repr(t) == f"<vqtans.Tables id={t.id} (context model, K = 192, {len(t)} bytes)>"
    assert os.listdir(tmp_path) == ["t.vqtt"]  # no temporary left


def test_save_is_atomic_replaces_and_follows_symlinks(loo_tables, tmp_path):
    a, b = loo_tables
    path = tmp_path / "t.vqtt"
    path.write_bytes(b"old contents")
    a.save(path)
    assert path.read_bytes() == a.to_bytes()
    b.save(str(path))
    assert path.read_bytes() == b.to_bytes()
    link = tmp_path / "link.vqtt"
    link.symlink_to("t.vqtt")
    a.save(link)
    assert link.is_symlink() and path.read_bytes() == a.to_bytes()
    assert sorted(os.listdir(tmp_path)) == ["link.vqtt", "t.vqtt"]  # no temporary left


def test_save_failures_leave_nothing(loo_tables, tmp_path):
    t = loo_tables[0]
    with pytest.raises(OSError):
        t.save(tmp_path)  # a folder
    with pytest.raises(FileNotFoundError):
        t.save(tmp_path / "no" / "such" / "folder.vqtt")
    (tmp_path / "a file").write_bytes(b"x")
    with pytest.raises(OSError):
        t.save(tmp_path / "a file" / "t.vqtt")  # its "folder" is a file
    assert sorted(os.listdir(tmp_path)) == ["a file"]


def test_a_file_named_dash_is_saved_as_a_file(loo_tables, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loo_tables[0].save("-")
    assert (tmp_path / "-").read_bytes() == loo_tables[0].to_bytes()
    assert vqtans.Tables.load("-") == loo_tables[0]


def test_tables_pickle_as_their_bytes(loo_tables, streams, real_arrays):
    t = pickle.loads(pickle.dumps(loo_tables[1]))
    assert t == loo_tables[1]
    np.testing.assert_array_equal(vqtans.decode(streams[1], t), real_arrays[1])


def test_tables_are_immutable(loo_tables):
    with pytest.raises(AttributeError):
        loo_tables[0].id = "0" * 16
