"""A numcodecs codec coding chunks of commaVQ tokens with vqtans (zarr format 2).

``VqTans(tables)`` codes each chunk of an integer token array as one vqtans
stream. A chunk must hold whole frames: chunk a zarr array shaped
``(frames, 8, 16)`` as ``(n, 8, 16)`` (or one shaped ``(frames, 128)`` as
``(n, 128)``). Decoding gives the chunk's tokens back exactly, as int16; zarr
then restores the chunk's shape and dtype. The codec is registered under
``codec_id = "vqtans"`` through the ``numcodecs.codecs`` entry point.

A store is self-contained: the codec's configuration (in ``.zarray``) holds
the table set itself (base64, ``tables_base64``) beside its id
(``tables_id``), so the store opens in any process where vqtans is installed,
from any folder, after the table-set file it was made from is gone. With
``embed_tables=False`` only the id is stored and the set is looked up when a
chunk is read (``vqtans.register_tables`` in the reading process, or a file
``<id>.vqtt`` in ``$VQTANS_TABLES_PATH``); when it is not found, reading
raises ``vqtans.TablesNotFoundError`` naming the id.

For zarr format 3 (zarr's default) use ``vqtans.zarr3.VqTans`` as the array's
``serializer``.

Example (zarr format 2)::

    import zarr
    from vqtans.numcodecs import VqTans
    z = zarr.create_array("tokens.zarr", shape=(1200, 8, 16), chunks=(100, 8, 16),
                          dtype="int16", compressors=VqTans(tables), zarr_format=2)
    z[:] = tokens
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_ndarray_like, ndarray_copy

from vqtans._codec_tables import from_argument, resolve, tables_config
from vqtans._native import DEFAULT_GROUP_FRAMES, Tables, decode, encode

__all__ = ["VqTans"]

_TOKENS_PER_FRAME = 128


def as_frames(chunk: Any) -> np.ndarray:
    """A chunk handed to a codec as an integer array of whole frames: an array
    shaped ``(n, 8, 16)`` or ``(n, 128)`` as it is, anything else (flat, or
    the raw bytes of a native int16 chunk) as ``(n, 128)``.

    Errors: ``ValueError`` when it is not whole frames of 128 tokens."""
    if not isinstance(chunk, np.ndarray):
        chunk = ensure_ndarray_like(chunk)
        if chunk.dtype == np.uint8:  # raw bytes of an int16 chunk
            chunk = chunk.view(np.int16)
    if chunk.ndim in (2, 3):
        return chunk
    if chunk.size % _TOKENS_PER_FRAME != 0:
        raise ValueError(
            f"vqtans codec: a chunk of {chunk.size} tokens is not whole frames of "
            f"{_TOKENS_PER_FRAME}; chunk the array by frames, e.g. chunks=(n, 8, 16)"
        )
    return chunk.reshape(-1, _TOKENS_PER_FRAME)


class VqTans(Codec):
    """numcodecs codec: a chunk of tokens (whole frames) <-> a vqtans stream.

    ``tables``: a ``vqtans.Tables``, or the path of a table-set file (read and
    validated once, here; the path is not stored). ``group_frames``: frames
    per checksum group of the streams (default 20). ``embed_tables``: store
    the table set in the codec's configuration (default), else only its id.

    ``encode`` takes a chunk of integer tokens shaped ``(n, 8, 16)``,
    ``(n, 128)`` or flat (``n * 128`` values; a bytes-like object is read as
    native int16); it raises ``TypeError``/``ValueError`` as ``vqtans.encode``
    does (e.g. for a value outside 0..1023). ``decode`` returns the tokens as
    an int16 array ``(n, 8, 16)`` (or copies them into ``out``) and raises
    ``vqtans.DecodeError`` for a damaged chunk or one coded with other tables,
    ``vqtans.TablesNotFoundError`` when the table set cannot be found.
    """

    codec_id = "vqtans"

    def __init__(
        self,
        tables: Union[Tables, str, "os.PathLike[str]", None] = None,
        group_frames: int = DEFAULT_GROUP_FRAMES,
        embed_tables: bool = True,
        *,
        tables_id: Optional[str] = None,
        tables_base64: Optional[str] = None,
    ) -> None:
        self.group_frames = int(group_frames)
        if tables is not None:
            self._tables: Optional[Tables] = from_argument(tables)
            self._config = tables_config(self._tables, bool(embed_tables))
        elif tables_id is not None:  # from a stored configuration: looked up at first use
            self._tables = None
            self._config = {"tables_id": tables_id}
            if tables_base64 is not None:
                self._config["tables_base64"] = tables_base64
        else:
            raise TypeError("VqTans: give the table set (tables=...), a vqtans.Tables or a table-set path")

    @property
    def tables(self) -> Tables:
        """The table set (looked up by id at first use for a codec read from a
        store's metadata)."""
        if self._tables is None:
            self._tables = resolve(self._config["tables_id"], self._config.get("tables_base64"))
        return self._tables

    @property
    def tables_id(self) -> str:
        """The id of the codec's table set."""
        return self._config["tables_id"]

    def encode(self, buf: Any) -> bytes:
        return encode(as_frames(buf), self.tables, group_frames=self.group_frames)

    def decode(self, buf: Any, out: Optional[Any] = None) -> Any:
        tokens = decode(buf, self.tables)
        return ndarray_copy(tokens, out)

    def get_config(self) -> dict:
        return {"id": self.codec_id, **self._config, "group_frames": self.group_frames}

    @classmethod
    def from_config(cls, config: dict) -> "VqTans":
        config = dict(config)
        config.pop("id", None)
        return cls(**config)

    def __repr__(self) -> str:
        embedded = "embedded" if "tables_base64" in self._config else "by id"
        return f"VqTans(tables_id={self.tables_id!r} ({embedded}), group_frames={self.group_frames})"
