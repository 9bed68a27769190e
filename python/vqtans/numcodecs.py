"""A numcodecs codec coding chunks of commaVQ tokens with vqtans.

``VqTans(tables=PATH)`` codes each chunk of an integer token array as one
vqtans stream. A chunk must hold whole frames: chunk a zarr array shaped
``(frames, 8, 16)`` as ``(n, 8, 16)`` (or one shaped ``(frames, 128)`` as
``(n, 128)``). Decoding gives the chunk's tokens back exactly, as int16; zarr
then restores the chunk's shape and dtype. The codec is registered under
``codec_id = "vqtans"`` through the ``numcodecs.codecs`` entry point, so a store
written with it opens in any process where vqtans is installed, with the table
set found at the path in the codec's configuration (give a path that is valid
where the store will be read, e.g. an absolute one).

Example (zarr 3, zarr format 2 metadata, which carries numcodecs compressors)::

    import zarr
    from vqtans.numcodecs import VqTans
    z = zarr.create_array("tokens.zarr", shape=(1200, 8, 16), chunks=(100, 8, 16),
                          dtype="int16", compressors=VqTans(tables="/data/tables.vqts"),
                          zarr_format=2)
    z[:] = tokens
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_ndarray_like, ndarray_copy

from vqtans._native import DEFAULT_GROUP_FRAMES, Tables, decode, encode

__all__ = ["VqTans"]

_TOKENS_PER_FRAME = 128


class VqTans(Codec):
    """numcodecs codec: a chunk of tokens (whole frames) <-> a vqtans stream.

    ``tables``: path of the table set (from ``vqtans.build_tables(...).save``
    or ``host-tools build-tables``); loaded and validated once, here.
    ``group_frames``: frames per checksum group of the streams (default 20).

    ``encode`` takes a chunk of integer tokens shaped ``(n, 8, 16)``,
    ``(n, 128)`` or flat (``n * 128`` values; a bytes-like object is read as
    native int16); it raises ``TypeError``/``ValueError`` as ``vqtans.encode``
    does (e.g. for a value outside 0..1023). ``decode`` returns the tokens as
    an int16 array ``(n, 8, 16)`` (or copies them into ``out``) and raises
    ``vqtans.DecodeError`` for a damaged chunk or one coded with other tables.
    """

    codec_id = "vqtans"

    def __init__(self, tables: "str | os.PathLike[str]", group_frames: int = DEFAULT_GROUP_FRAMES) -> None:
        self.tables = os.fspath(tables)
        self.group_frames = int(group_frames)
        self._tables = Tables.load(self.tables)

    def encode(self, buf: Any) -> bytes:
        if isinstance(buf, np.ndarray):
            chunk = buf
        else:
            chunk = ensure_ndarray_like(buf)
            if chunk.dtype == np.uint8:  # raw bytes of an int16 chunk
                chunk = chunk.view(np.int16)
        if chunk.ndim not in (2, 3):
            if chunk.size % _TOKENS_PER_FRAME != 0:
                raise ValueError(
                    f"vqtans codec: a chunk of {chunk.size} tokens is not whole frames of "
                    f"{_TOKENS_PER_FRAME}; chunk the array by frames, e.g. chunks=(n, 8, 16)"
                )
            chunk = chunk.reshape(-1, _TOKENS_PER_FRAME)
        return encode(chunk, self._tables, group_frames=self.group_frames)

    def decode(self, buf: Any, out: Optional[Any] = None) -> Any:
        tokens = decode(buf, self._tables)
        return ndarray_copy(tokens, out)

    def get_config(self) -> dict:
        return {"id": self.codec_id, "tables": self.tables, "group_frames": self.group_frames}

    @classmethod
    def from_config(cls, config: dict) -> "VqTans":
        config = dict(config)
        config.pop("id", None)
        return cls(**config)

    def __repr__(self) -> str:
        return f"VqTans(tables={self.tables!r}, group_frames={self.group_frames})"
