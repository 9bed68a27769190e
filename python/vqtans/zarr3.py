"""The vqtans codec for zarr format 3 (zarr 3's default format): an
array-to-bytes codec (zarr's ``serializer``), so each chunk of an integer token
array is stored as one vqtans stream.

A chunk must hold whole frames: chunk an array shaped ``(frames, 8, 16)`` as
``(n, 8, 16)`` (or ``(frames, 128)`` as ``(n, 128)``). Decoding gives the
chunk's tokens back exactly, in the array's dtype. As with the format-2 codec
(``vqtans.numcodecs``), the configuration in ``zarr.json`` holds the table set
(``tables_base64``) beside its id (``tables_id``), unless made with
``embed_tables=False`` (see ``vqtans.numcodecs`` for how the id is then
resolved, and ``vqtans.TablesNotFoundError``).

zarr finds the codec by its name ``"vqtans"``: the package declares it as the
``zarr.codecs`` entry point ``vqtans = "vqtans.zarr3:VqTans"``, so zarr loads it
by itself and a store opens with ``zarr.open_array`` alone (importing this
module also registers it, ``zarr.registry.register_codec``). Example::

    import zarr
    from vqtans.zarr3 import VqTans
    z = zarr.create_array("tokens.zarr", shape=(1200, 8, 16), chunks=(100, 8, 16),
                          dtype="int16", serializer=VqTans(tables), compressors=None)
    z[:] = tokens
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.common import parse_named_configuration
from zarr.registry import register_codec

from vqtans._codec_tables import from_argument, resolve, tables_config
from vqtans._native import DEFAULT_GROUP_FRAMES, Tables, decode, encode
from vqtans.numcodecs import as_frames

if TYPE_CHECKING:
    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

__all__ = ["VqTans", "CODEC_NAME"]

#: The codec's name in ``zarr.json``.
CODEC_NAME = "vqtans"


@dataclass(frozen=True)
class VqTans(ArrayBytesCodec):
    """zarr 3 array-to-bytes codec: a chunk of tokens (whole frames) <-> a
    vqtans stream.

    ``tables``: a ``vqtans.Tables`` or the path of a table-set file (read now;
    the path is not stored). ``group_frames``: frames per checksum group
    (default 20). ``embed_tables``: store the table set in ``zarr.json``
    (default), else only its id.

    Errors: when the array is created, ``ValueError`` for a chunk shape that
    is not whole frames or a dtype that is not an integer; when written, those
    of ``vqtans.encode`` (e.g. a value outside 0..1023); when read,
    ``vqtans.DecodeError`` for a damaged chunk and
    ``vqtans.TablesNotFoundError`` when the table set cannot be found.
    """

    is_fixed_size = False

    tables_id: str
    group_frames: int
    tables_base64: Optional[str]

    def __init__(
        self,
        tables: Union[Tables, str, "os.PathLike[str]", None] = None,
        *,
        group_frames: int = DEFAULT_GROUP_FRAMES,
        embed_tables: bool = True,
        tables_id: Optional[str] = None,
        tables_base64: Optional[str] = None,
    ) -> None:
        if tables is not None:
            config = tables_config(from_argument(tables), bool(embed_tables))
            tables_id, tables_base64 = config["tables_id"], config.get("tables_base64")
        elif tables_id is None:
            raise TypeError("VqTans: give the table set (tables=...), a vqtans.Tables or a table-set path")
        object.__setattr__(self, "tables_id", tables_id)
        object.__setattr__(self, "group_frames", int(group_frames))
        object.__setattr__(self, "tables_base64", tables_base64)

    @property
    def tables(self) -> Tables:
        """The table set (resolved by id at first use, then cached by id)."""
        return resolve(self.tables_id, self.tables_base64)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VqTans":
        _, configuration = parse_named_configuration(data, CODEC_NAME)
        return cls(**configuration)

    def to_dict(self) -> dict[str, Any]:
        configuration: dict[str, Any] = {"tables_id": self.tables_id, "group_frames": self.group_frames}
        if self.tables_base64 is not None:
            configuration["tables_base64"] = self.tables_base64
        return {"name": CODEC_NAME, "configuration": configuration}

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        native = np.dtype(dtype.to_native_dtype())
        if native.kind not in "iu":
            raise ValueError(f"vqtans codec: tokens must be an integer dtype, got {native}")
        chunk_shape = tuple(getattr(chunk_grid, "chunk_shape", ()))
        if chunk_shape and not (chunk_shape[1:] == (8, 16) or chunk_shape[1:] == (128,)):
            raise ValueError(
                f"vqtans codec: chunks {chunk_shape} are not whole frames; chunk an array (frames, 8, 16) as "
                "(n, 8, 16) or one (frames, 128) as (n, 128)"
            )

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        tables = self.tables
        tokens = await asyncio.to_thread(decode, chunk_bytes.to_bytes(), tables)
        native = chunk_spec.dtype.to_native_dtype()
        array = tokens.astype(native, copy=False).reshape(chunk_spec.shape)
        return chunk_spec.prototype.nd_buffer.from_numpy_array(array)

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Optional[Buffer]:
        tables = self.tables
        stream = await asyncio.to_thread(
            encode, as_frames(chunk_array.as_numpy_array()), tables, group_frames=self.group_frames
        )
        return chunk_spec.prototype.buffer.from_bytes(stream)

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: ArraySpec) -> int:
        raise NotImplementedError("vqtans streams have no fixed size")

    def __repr__(self) -> str:
        embedded = "embedded" if self.tables_base64 is not None else "by id"
        return f"VqTans(tables_id={self.tables_id!r} ({embedded}), group_frames={self.group_frames})"


register_codec(CODEC_NAME, VqTans, qualname="vqtans.zarr3.VqTans")
