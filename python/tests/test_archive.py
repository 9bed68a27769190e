"""`vqtans.Archive`: a real archive (`host-tools pack` of the two real
segments) read by key, whole or by frames, from threads, and pickled into
other processes."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import vqtans
from conftest import REAL_FILES

KEYS = [name.removesuffix(".npy") for name in REAL_FILES]


def test_keys_len_and_whole_segments(archive_path, real_by_key, loo_tables):
    archive = vqtans.Archive(archive_path)
    assert archive.keys() == KEYS
    assert len(archive) == 2 and list(archive) == KEYS
    assert KEYS[0] in archive and "nope" not in archive and 3 not in archive
    assert archive.path == archive_path  # a pathlib.Path, absolute
    for key in KEYS:
        got = archive[key]
        assert got.dtype == np.int16 and got.shape == (1200, 8, 16)
        np.testing.assert_array_equal(got, real_by_key[key])
        assert archive.frames(key) == 1200
        assert archive.file_name(key) == f"{key}.npy"
    assert archive.tables == loo_tables[0]
    assert archive.tables.id == loo_tables[0].id
    assert repr(archive).startswith("<vqtans.Archive ")


def test_frames_of_a_segment(archive_path, real_by_key):
    archive = vqtans.Archive(archive_path)
    for key in KEYS:
        # A slice in the first quarter (decoded through its group) and later
        # ones (the whole segment, with AVX2 where the CPU has it).
        np.testing.assert_array_equal(archive.get(key, frames=slice(100, 160)), real_by_key[key][100:160])
        np.testing.assert_array_equal(archive.get(key, frames=slice(281, 301)), real_by_key[key][281:301])
        np.testing.assert_array_equal(archive.get(key, frames=slice(600, 660)), real_by_key[key][600:660])
        np.testing.assert_array_equal(archive.get(key, frames=slice(-20, None)), real_by_key[key][-20:])
        np.testing.assert_array_equal(archive.get(key), real_by_key[key])
    with pytest.raises(ValueError, match=r"frames: slice\(660, 600, None\) is empty or reversed"):
        archive.get(KEYS[0], frames=slice(660, 600))
    with pytest.raises(ValueError, match=r"reaches outside the 1200 frames"):
        archive.get(KEYS[0], frames=slice(1190, 1210))


def test_errors_name_the_archive_and_the_key(archive_path, tmp_path):
    archive = vqtans.Archive(archive_path)
    with pytest.raises(KeyError, match="segment nope: no segment has this key"):
        archive["nope"]
    with pytest.raises(KeyError, match="no segment has this key"):
        archive.file_name("nope")
    with pytest.raises(FileNotFoundError, match="missing.vqa"):
        vqtans.Archive(tmp_path / "missing.vqa")
    not_one = tmp_path / "not.vqa"
    not_one.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(vqtans.DecodeError, match="not a vqtans archive") as info:
        vqtans.Archive(not_one)
    assert info.value.kind == "NotAnArchive"
    cut = tmp_path / "cut.vqa"
    cut.write_bytes(archive_path.read_bytes()[:-10])
    with pytest.raises(vqtans.DecodeError) as info:
        vqtans.Archive(cut)
    assert info.value.kind == "FooterDamaged"
    # A damaged stream: the index's checks and the codec's catch it on reading.
    data = bytearray(archive_path.read_bytes())
    first = vqtans.Archive(archive_path)
    # Near the end of the second segment's stream (after it come only the
    # index, about 100 bytes, and the 32-byte footer).
    data[-2000] ^= 0x10
    damaged = tmp_path / "damaged.vqa"
    damaged.write_bytes(bytes(data))
    archive = vqtans.Archive(damaged)
    np.testing.assert_array_equal(archive.get(KEYS[0], frames=slice(0, 20)), first.get(KEYS[0], frames=slice(0, 20)))
    with pytest.raises(vqtans.DecodeError) as info:
        archive[KEYS[1]]
    assert info.value.kind == "GroupChecksum"
    assert str(info.value) == (
        f"{damaged}: segment {KEYS[1]}: the stream is damaged: decoded tokens of group 58 do not match the group's "
        "checksum"
    )


def test_threads_share_one_archive(archive_path, real_by_key):
    archive = vqtans.Archive(archive_path)
    jobs = [(KEYS[i % 2], (i * 37) % 1180) for i in range(64)]

    def read(job):
        key, start = job
        return archive.get(key, frames=slice(start, start + 20))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, jobs))
    for (key, start), got in zip(jobs, results):
        np.testing.assert_array_equal(got, real_by_key[key][start : start + 20])


def test_pickles_as_its_path(archive_path, real_by_key):
    archive = vqtans.Archive(archive_path)
    again = pickle.loads(pickle.dumps(archive))
    assert again is not archive and again.path == archive.path and again.keys() == KEYS
    np.testing.assert_array_equal(again[KEYS[1]], real_by_key[KEYS[1]])


def _worker_reads(archive, jobs):
    return [archive.get(key, frames=slice(s, s + 20)) for key, s in jobs]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_two_worker_processes_read_one_archive(archive_path, real_by_key, method):
    archive = vqtans.Archive(archive_path)
    archive[KEYS[0]]  # used in the parent before the workers start
    jobs = [[(KEYS[(w + i) % 2], (w * 300 + i * 53) % 1180) for i in range(10)] for w in range(2)]
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.starmap(_worker_reads, [(archive, j) for j in jobs])
    for job, clips in zip(jobs, results):
        assert len(clips) == len(job)
        for (key, s), clip in zip(job, clips):
            np.testing.assert_array_equal(clip, real_by_key[key][s : s + 20])
