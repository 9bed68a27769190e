"""`vqtans.Clips`: fixed-length clips of real archives as a map-style dataset,
read in this process and from 2 worker processes (spawn and fork), as a
DataLoader would."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest

import vqtans
from conftest import REAL_FILES

KEYS = [name.removesuffix(".npy") for name in REAL_FILES]


def expected_clips(real_by_key, frames, stride):
    return [real_by_key[k][s : s + frames] for k in KEYS for s in range(0, 1200 - frames + 1, stride)]


@pytest.mark.parametrize("frames, stride", [(20, None), (20, 7), (64, 64), (1200, 1), (1, 299)])
def test_every_clip_in_order(archive_path, real_by_key, frames, stride):
    clips = vqtans.Clips(archive_path, frames=frames, stride=stride)
    expected = expected_clips(real_by_key, frames, stride or frames)
    assert len(clips) == len(expected)
    picks = range(len(expected)) if len(expected) <= 130 else [0, 1, 59, 60, len(expected) // 2, len(expected) - 1]
    for i in picks:
        got = clips[i]
        assert got.dtype == np.int16 and got.shape == (frames, 8, 16)
        np.testing.assert_array_equal(got, expected[i])
    np.testing.assert_array_equal(clips[-1], expected[-1])


def test_several_archives_and_where_a_clip_comes_from(archive_path, real_by_key):
    archive = vqtans.Archive(archive_path)
    clips = vqtans.Clips([archive, str(archive_path)], frames=20, stride=10)
    per_archive = 2 * ((1200 - 20) // 10 + 1)
    assert len(clips) == 2 * per_archive
    a, key, start = clips.locate(per_archive + 120)
    assert a is clips.archives[1] and key == KEYS[1] and start == (120 - per_archive // 2) * 10
    np.testing.assert_array_equal(clips[per_archive + 120], real_by_key[key][start : start + 20])
    assert "clips of 20 frames" in repr(clips)


def test_longer_clips_than_segments_and_bad_arguments(archive_path):
    assert len(vqtans.Clips(archive_path, frames=1201)) == 0
    clips = vqtans.Clips(archive_path, frames=20)
    with pytest.raises(IndexError, match="clip index 120 out of range for 120 clips"):
        clips[120]
    with pytest.raises(IndexError, match="clip index -121 out of range"):
        clips[-121]
    with pytest.raises(TypeError, match="clip index must be an integer, got str"):
        clips["3"]
    with pytest.raises(ValueError, match="frames=0: a clip needs at least 1 frame"):
        vqtans.Clips(archive_path, frames=0)
    with pytest.raises(ValueError, match="stride=0: must be at least 1"):
        vqtans.Clips(archive_path, stride=0)
    with pytest.raises(FileNotFoundError):
        vqtans.Clips(archive_path.with_name("missing.vqa"))


def _read_clips(clips, indices):
    return [clips[i] for i in indices]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_two_worker_processes(archive_path, real_by_key, method):
    clips = vqtans.Clips(archive_path, frames=20, stride=1)
    expected = expected_clips(real_by_key, 20, 1)
    rng = np.random.default_rng(7)
    indices = rng.integers(0, len(clips), size=(2, 16)).tolist()  # random positions, as a shuffled loader
    clips[0]  # used in the parent first, as a training script would
    assert pickle.loads(pickle.dumps(clips))[5].tobytes() == expected[5].tobytes()
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.starmap(_read_clips, [(clips, part) for part in indices])
    for part, got in zip(indices, results):
        for i, clip in zip(part, got):
            np.testing.assert_array_equal(clip, expected[i])
