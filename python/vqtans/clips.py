"""``vqtans.Clips``: fixed-length clips of the segments of one or more
archives, as a map-style dataset (``len`` and indexing), for training loops.

No dependency on a deep-learning framework: items are numpy arrays, and the
object is picklable (its archives reopen their files), so a PyTorch
``DataLoader`` (or any multiprocessing pool) can hand it to forked or spawned
worker processes.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Union

import numpy as np

from vqtans._native import Archive

__all__ = ["Clips"]

_ArchiveLike = Union[Archive, str, "os.PathLike[str]"]


class Clips:
    """The clips of ``frames`` frames of every segment of ``archives``, one
    starting every ``stride`` frames (default: ``frames``, clips back to back),
    in archive order then key order then start.

    ``archives``: one ``vqtans.Archive`` or path of one, or an iterable of
    them. A segment of N frames gives ``(N - frames) // stride + 1`` clips
    (none when ``N < frames``); frames after the last whole clip are not used.

    ``clips[i]`` is a new int16 array ``(frames, 8, 16)``: only that
    segment's stream is read, decoded through the checksum group holding the
    clip's last frame and verified (``Archive.get(key, frames=...)``).
    ``clips.locate(i)`` says where clip ``i`` comes from.

    Errors: ``ValueError`` for ``frames`` or ``stride`` below 1; ``IndexError``
    for an index outside ``-len(clips)..len(clips)``; ``TypeError`` for an
    index that is not an integer; reading errors are ``Archive.get``'s.
    """

    def __init__(
        self,
        archives: Union[_ArchiveLike, Iterable[_ArchiveLike]],
        frames: int = 20,
        stride: Optional[int] = None,
    ) -> None:
        if isinstance(archives, (Archive, str, os.PathLike)):
            archives = [archives]
        self.archives = [a if isinstance(a, Archive) else Archive(a) for a in archives]
        self.frames = int(frames)
        self.stride = self.frames if stride is None else int(stride)
        if self.frames < 1:
            raise ValueError(f"frames={frames}: a clip needs at least 1 frame")
        if self.stride < 1:
            raise ValueError(f"stride={stride}: must be at least 1")
        # One row per segment with clips: archive number, key, clips before it.
        self._segments: list[tuple[int, str]] = []
        counts = []
        for a, archive in enumerate(self.archives):
            for key in archive.keys():
                n = archive.frames(key)
                if n >= self.frames:
                    self._segments.append((a, key))
                    counts.append((n - self.frames) // self.stride + 1)
        self._starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, index: int) -> tuple[Archive, str, int]:
        """Clip ``index`` as (archive, key, first frame)."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"clip index must be an integer, got {type(index).__name__}")
        n = len(self)
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"clip index {index} out of range for {n} clips")
        s = int(np.searchsorted(self._starts, i, side="right")) - 1
        a, key = self._segments[s]
        return self.archives[a], key, (i - int(self._starts[s])) * self.stride

    def __getitem__(self, index: int) -> np.ndarray:
        archive, key, start = self.locate(index)
        return archive.get(key, frames=slice(start, start + self.frames))

    def __repr__(self) -> str:
        return (
            f"<vqtans.Clips {len(self)} clips of {self.frames} frames, stride {self.stride}, "
            f"from {len(self._segments)} segments of {len(self.archives)} archives>"
        )
